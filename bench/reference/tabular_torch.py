"""PyTorch's side of bench/tabular.ts: the same d-dimensional set (a rotated product of
½N(−2, ½²) + ½N(2, ½²)), the same model (FFJORD's ConcatSquash network, two hidden layers of
max(64, 4d), tanh, T = 0.5), the same protocol (I-CFM σ 0.1 in FFJORD's time, batch 512, Adam 1e-3,
then the held-out NLL of 1000 points with the exact trace, dopri5 rtol = atol = 1e-5). Prints one
JSON line: seconds per iteration, NLL, evaluation seconds. With --eval-every K it also evaluates every
K iterations (one JSON line each, training seconds without the evaluations) and stops once the NLL is
at most --stop-at (bench/tabular.ts --race).

    OMP_NUM_THREADS=1 /usr/bin/python3 bench/reference/tabular_torch.py --dim 8 --iterations 1500
"""
import argparse
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpu_torch import Field, log_prob  # noqa: E402
from torch_threads import blas, use_threads  # noqa: E402

SIGMA = 0.5


def sample_set(d, n, rotation, generator):
    signs = torch.where(torch.rand(n, d, generator=generator) < 0.5, -2.0, 2.0)
    s = signs + SIGMA * torch.randn(n, d, generator=generator)
    a = -((s - 2) ** 2) / (2 * SIGMA ** 2)
    b = -((s + 2) ** 2) / (2 * SIGMA ** 2)
    logp1 = torch.logaddexp(a, b) + math.log(0.5) - math.log(SIGMA * math.sqrt(2 * math.pi))
    return s @ rotation.T, logp1.sum(1)


def problem(d):
    """The d-dimensional problem, seeded by d: its generator (for minibatches), 20000 training and
    1000 test points."""
    generator = torch.Generator().manual_seed(d)
    rotation, _ = torch.linalg.qr(torch.randn(d, d, generator=generator))
    train, _ = sample_set(d, 20000, rotation, generator)
    test, _ = sample_set(d, 1000, rotation, generator)
    return generator, train, test


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--dim', type=int, default=8)
    p.add_argument('--iterations', type=int, default=1500)
    p.add_argument('--eval-every', type=int, default=0)
    p.add_argument('--stop-at', type=float, default=-math.inf)
    p.add_argument('--threads', type=int, default=1)
    a = p.parse_args()
    use_threads(a.threads)
    d = a.dim
    generator, train, test = problem(d)
    hidden = max(64, 4 * d)
    net = Field((d, hidden, hidden, d))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    T = 0.5
    training = 0.0
    done = 0
    nll = math.inf
    for it in range(1, a.iterations + 1):
        started = time.perf_counter()
        x1 = train[torch.randint(0, train.shape[0], (512,), generator=generator)]
        x0 = torch.randn(512, d, generator=generator)
        s = torch.rand(512, 1, generator=generator)
        xs = s * x1 + (1 - s) * x0 + 0.1 * torch.randn(512, d, generator=generator)
        loss = ((net(T * (1 - s), xs) + (x1 - x0) / T) ** 2).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        training += time.perf_counter() - started
        done = it
        if a.eval_every and it % a.eval_every == 0:
            nll = -float(log_prob(net, test, T, 'exact', generator).mean())
            print(json.dumps({'iteration': it, 'seconds': training, 'nll': nll}), flush=True)
            if nll <= a.stop_at:
                break
    log_prob(net, test[:8], T, 'exact', generator)  # warm-up, as cnfkit's side has
    started = time.perf_counter()
    logp, nfe = log_prob(net, test, T, 'exact', generator, with_nfe=True)
    nll = -float(logp.mean())
    print(json.dumps({'dim': d, 'iterations': done, 'seconds_per_iteration': training / done, 'nll': nll, 'eval_seconds': time.perf_counter() - started, 'eval_nfe': nfe, 'blas': blas()}))


if __name__ == '__main__':
    main()
