"""FFJORD's side of `bench/tabular.ts --ml`: maximum likelihood in FFJORD's tabular configuration
(train_tabular.py: concatsquash layers, `--nhidden` hidden layers of `--hdim-factor`·d units,
softplus, `--blocks` stacked CNFs, T = 1 trained per block, Hutchinson's trace with Rademacher
noise, batch 1000, Adam 1e-3 with weight decay 1e-6), on the d-dimensional set of tabular_torch.py
(a rotated product of ½N(−2, ½²) + ½N(2, ½²)). One deviation, on both sides: dopri5 at
rtol = atol = 1e-5 (train_tabular.py's 1e-6 / 1e-8 are below float32's resolution). Every
`--eval-every` iterations: the held-out NLL of 1000 points with the exact trace (not timed).
Prints one JSON line per evaluation, then a summary line.

FFJORD's code is imported, not copied (as shared/reference/ffjord_toy does): point FFJORD_SRC and
TORCHDIFFEQ_SRC at checkouts of rtqichen/ffjord 994864a and rtqichen/torchdiffeq v0.2.5.

    FFJORD_SRC=... TORCHDIFFEQ_SRC=... OMP_NUM_THREADS=1 /usr/bin/python3 bench/reference/ffjord_tabular.py --dim 8
"""
import argparse
import json
import os
import sys
import time

for key in ("FFJORD_SRC", "TORCHDIFFEQ_SRC"):
    if not os.environ.get(key):
        sys.exit("set FFJORD_SRC and TORCHDIFFEQ_SRC to checkouts of rtqichen/ffjord and rtqichen/torchdiffeq")
sys.path.insert(0, os.environ["FFJORD_SRC"])
sys.path.insert(0, os.environ["TORCHDIFFEQ_SRC"])
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
from train_misc import build_model_tabular, count_nfe, override_divergence_fn, standard_normal_logprob  # noqa: E402  (ffjord)
from tabular_torch import problem  # noqa: E402
from torch_threads import blas, use_threads  # noqa: E402


def negative_log_likelihood(model, x):
    z, delta_logp = model(x, torch.zeros(x.shape[0], 1))
    return -(standard_normal_logprob(z).sum(1, keepdim=True) - delta_logp).mean()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--dim', type=int, default=8)
    p.add_argument('--iterations', type=int, default=1000)
    p.add_argument('--eval-every', type=int, default=250)
    p.add_argument('--blocks', type=int, default=2)
    p.add_argument('--nhidden', type=int, default=2)
    p.add_argument('--hdim-factor', type=int, default=10)
    p.add_argument('--batch', type=int, default=1000)
    p.add_argument('--threads', type=int, default=1)
    a = p.parse_args()
    use_threads(a.threads)
    d = a.dim
    generator, train, test = problem(d)
    torch.manual_seed(0)

    options = argparse.Namespace(
        layer_type='concatsquash', dims='-'.join([str(a.hdim_factor * d)] * a.nhidden), num_blocks=a.blocks,
        nonlinearity='softplus', time_length=1.0, train_T=True, divergence_fn='approximate', rademacher=True,
        solver='dopri5', atol=1e-5, rtol=1e-5, step_size=None, test_solver=None, test_atol=None, test_rtol=None,
        residual=False, batch_norm=False, bn_lag=0.0, spectral_norm=False)
    model = build_model_tabular(options, d)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-6)

    def evaluate():
        model.eval()
        override_divergence_fn(model, 'brute_force')
        with torch.no_grad():
            nll = float(negative_log_likelihood(model, test))
        override_divergence_fn(model, 'approximate')
        model.train()
        return nll

    training = 0.0
    nfe_forward, nfe_backward = [], []
    for it in range(1, a.iterations + 1):
        started = time.perf_counter()
        optimizer.zero_grad()
        x = train[torch.randint(0, train.shape[0], (a.batch,), generator=generator)]
        loss = negative_log_likelihood(model, x)
        forward = count_nfe(model)
        loss.backward()
        optimizer.step()
        training += time.perf_counter() - started
        nfe_forward.append(forward)
        nfe_backward.append(count_nfe(model) - forward)
        if it % a.eval_every == 0 or it == a.iterations:
            print(json.dumps({'iteration': it, 'seconds': training, 'nll': evaluate(), 'loss': float(loss),
                              'nfe': [sum(nfe_forward) / len(nfe_forward), sum(nfe_backward) / len(nfe_backward)]}), flush=True)
            nfe_forward, nfe_backward = [], []
    print(json.dumps({'dim': d, 'iterations': a.iterations, 'seconds_per_iteration': training / a.iterations,
                      'parameters': sum(q.numel() for q in model.parameters()), 'blas': blas()}))


if __name__ == '__main__':
    main()
