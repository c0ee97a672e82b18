"""PyTorch's side of bench/threads.ts: the flow-matching step of FFJORD's toy network (concatsquash
2-64-64-64-2, tanh, I-CFM sigma 0.1, Adam lr 3e-3, weight decay 1e-5) on 8gaussians, seconds per
step at each batch size on n threads for each n given: torch.set_num_threads(n) and its BLAS's
threads too (torch_threads.py: without that, "one thread" ran its products on two cores here).
Prints one JSON line per (threads, batch), with the BLAS.

    /usr/bin/python3 bench/reference/threads_torch.py --threads 1,2 --batches 256,1024 --steps 300

With --serve it reads requests from stdin instead, one JSON line each ({"threads", "batch", "steps"},
and "blas" for a BLAS thread count other than "threads"), and answers each with one JSON line:
bench/threads.ts --pairs alternates these runs with its own. Each (threads, blas, batch) keeps its
network and optimizer between requests, warmed up once (30 steps) when first asked for.
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpu_torch import Field, fm_step  # noqa: E402
from torch_threads import blas, use_threads  # noqa: E402


def warm_model(batch):
    """A fresh network and Adam, seeded, after 30 steps of warm-up at `batch`, and its generator."""
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    net = Field()
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3, weight_decay=1e-5)
    for _ in range(30):
        fm_step(net, optimizer, batch, 0.5, 'cpu', generator)
    return net, optimizer, generator


def seconds_per_step(model, batch, steps):
    net, optimizer, generator = model
    started = time.perf_counter()
    for _ in range(steps):
        fm_step(net, optimizer, batch, 0.5, 'cpu', generator)
    return (time.perf_counter() - started) / steps


def report(threads, batch, seconds):
    print(json.dumps({'threads': threads, 'batch': batch, 'seconds_per_step': seconds, 'torch': torch.__version__, 'blas': blas()}), flush=True)


def serve():
    models = {}
    for line in sys.stdin:
        request = json.loads(line)
        threads, batch = request['threads'], request['batch']
        key = (threads, request.get('blas', threads), batch)
        use_threads(threads, key[1])
        if key not in models:
            models[key] = warm_model(batch)
        report(threads, batch, seconds_per_step(models[key], batch, request['steps']))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--threads', default='1,2')
    p.add_argument('--batches', default='256,1024')
    p.add_argument('--steps', type=int, default=300)
    p.add_argument('--serve', action='store_true', help='answer requests from stdin (see above)')
    a = p.parse_args()
    if a.serve:
        serve()
        return
    for threads in [int(n) for n in a.threads.split(',')]:
        use_threads(threads)
        for batch in [int(b) for b in a.batches.split(',')]:
            report(threads, batch, seconds_per_step(warm_model(batch), batch, a.steps))


if __name__ == '__main__':
    main()
