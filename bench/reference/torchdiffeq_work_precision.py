"""Work-precision figures of torchdiffeq's adaptive solvers on cnfkit's non-stiff test set.

Our own driver: it imports torchdiffeq from the checkout named by TORCHDIFFEQ_SRC (v0.2.5, commit
657943a, the version FFJORD's reference runs use) and solves the problems of
test/nonstiff_problems.ts in float32 on the CPU, with rtol = atol = tol, counting evaluations of f.
Errors are measured against the float64 references in test/fixtures/work_precision.json, exactly as
bench/ode.ts measures cnfkit's.

    apt-get install python3-torch python3-numpy
    TORCHDIFFEQ_SRC=<checkout> /usr/bin/python3 bench/reference/torchdiffeq_work_precision.py
writes bench/reference/torchdiffeq_work_precision.json
"""
import json
import math
import os
import platform
import sys

import torch

sys.path.insert(0, os.environ["TORCHDIFFEQ_SRC"])
import torchdiffeq  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "..", "test", "fixtures", "work_precision.json")

DYNAMICS = {
    "lotka_volterra": lambda t, y: torch.stack([1.5 * y[0] - y[0] * y[1], -3 * y[1] + y[0] * y[1]]),
    "van_der_pol": lambda t, y: torch.stack([y[1], (1 - y[0] ** 2) * y[1] - y[0]]),
    "rigid_body": lambda t, y: torch.stack([-2 * y[1] * y[2], 1.25 * y[0] * y[2], -0.5 * y[0] * y[1]]),
    "brusselator": lambda t, y: torch.stack([1 + y[0] ** 2 * y[1] - 4 * y[0], 3 * y[0] - y[0] ** 2 * y[1]]),
    "pendulum": lambda t, y: torch.stack([y[1], -torch.sin(y[0])]),
}
TOLERANCES = [1e-3, 1e-4, 1e-5, 1e-6]


def main():
    torch.set_num_threads(1)
    fixture = json.load(open(FIXTURE))
    runs = []
    for problem in fixture["problems"]:
        f = DYNAMICS[problem["name"]]
        for method in ["bosh3", "dopri5", "tsit5", "dopri8"]:
            for tol in TOLERANCES:
                nfe = [0]

                def counted(t, y):
                    nfe[0] += 1
                    return f(t, y)

                y0 = torch.tensor(problem["y0"], dtype=torch.float32)
                ts = torch.tensor([0.0, problem["t1"]], dtype=torch.float32)
                run = {"problem": problem["name"], "method": method, "tol": tol}
                try:
                    with torch.no_grad():
                        ys = torchdiffeq.odeint(counted, y0, ts, method=method, rtol=tol, atol=tol)
                    end = ys[-1].double().tolist()
                    run["error"] = max(abs(g - r) / max(1.0, abs(r)) for g, r in zip(end, problem["reference"]))
                except AssertionError as failure:  # torchdiffeq keeps t in float32: dt can underflow
                    run["error"] = None
                    run["failure"] = str(failure)
                run["nfe"] = nfe[0]
                runs.append(run)
                print(problem["name"], method, tol, run)
    out = {
        "madeBy": "bench/reference/torchdiffeq_work_precision.py",
        "torch": torch.__version__,
        "torchdiffeq": getattr(torchdiffeq, "__version__", "unknown"),
        "machine": platform.processor() or platform.machine(),
        "dtype": "float32",
        "runs": runs,
    }
    with open(os.path.join(HERE, "torchdiffeq_work_precision.json"), "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
