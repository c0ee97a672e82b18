"""PyTorch on the GPU, the same cases as bench/gpu.ts: the flow-matching step, exact- and
Hutchinson-trace log-density and sampling of FFJORD's toy CNF network (concatsquash 2-64-64-64-2,
tanh, T = 0.5), by batch size 10^2 ... 10^6, so that cnfkit's GPU figures come side by side with
PyTorch's on the same machine (bench/gpu.sh runs both).

Self-contained (PyTorch only; no FFJORD or torchdiffeq on the lent machine): the network is FFJORD's
ConcatSquashLinear layer, the solver a plain dopri5 with Hairer's starting step and the standard
controller (rtol = atol = 1e-5), the trace exact (one autograd pass per dimension) or Hutchinson's
(Rademacher noise). Flow matching is I-CFM (sigma 0.1) with Adam (lr 3e-3).

    python3 bench/reference/gpu_torch.py [--device cuda] [--max-batch 1e6] [--case-seconds 20]
"""
import argparse
import math
import time

import torch

C8 = torch.tensor([(1, 0), (-1, 0), (0, 1), (0, -1), (2 ** -0.5, 2 ** -0.5), (2 ** -0.5, -2 ** -0.5),
                   (-2 ** -0.5, 2 ** -0.5), (-2 ** -0.5, -2 ** -0.5)]) * 4.0


def eight_gaussians(n, device, generator):
    centres = C8.to(device)[torch.randint(8, (n,), device=device, generator=generator)]
    return (torch.randn(n, 2, device=device, generator=generator) * 0.5 + centres) / 1.414


class ConcatSquash(torch.nn.Module):
    """FFJORD's ConcatSquashLinear: W x * sigmoid(gate(t)) + hyper_bias(t)."""

    def __init__(self, dim_in, dim_out):
        super().__init__()
        self.layer = torch.nn.Linear(dim_in, dim_out)
        self.gate = torch.nn.Linear(1, dim_out)
        self.hyper_bias = torch.nn.Linear(1, dim_out, bias=False)

    def forward(self, t, x):
        return self.layer(x) * torch.sigmoid(self.gate(t)) + self.hyper_bias(t)


class Field(torch.nn.Module):
    def __init__(self, dims=(2, 64, 64, 64, 2)):
        super().__init__()
        self.layers = torch.nn.ModuleList(ConcatSquash(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, t, x):
        """t: a scalar or a column (N, 1)."""
        t = t.expand(x.shape[0], 1) if t.dim() < 2 else t
        h = x
        for i, layer in enumerate(self.layers):
            h = layer(t, h)
            if i < len(self.layers) - 1:
                h = torch.tanh(h)
        return h


# dopri5 (Dormand & Prince 1980)
A = [[], [1 / 5], [3 / 40, 9 / 40], [44 / 45, -56 / 15, 32 / 9], [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
     [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656], [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84]]
C = [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1]
B = [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0]
E = [71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40]


def rms(err, y0, y1, rtol, atol):
    scale = atol + rtol * torch.maximum(y0.abs(), y1.abs())
    return torch.sqrt(torch.mean((err / scale) ** 2)).item()


def dopri5(f, y0, t0, t1, rtol=1e-5, atol=1e-5):
    """y(t1) of dy/dt = f(t, y) (y a flat tensor per state); returns (y, evaluations)."""
    direction = 1.0 if t1 > t0 else -1.0
    f0 = f(t0, y0)
    nfe = 1
    d0, d1 = rms(y0, y0, y0, rtol, atol), rms(f0, y0, y0, rtol, atol)
    h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    f1 = f(t0 + direction * h0, y0 + direction * h0 * f0)
    nfe += 1
    d2 = rms(f1 - f0, y0, y0, rtol, atol) / h0
    h = min(100 * h0, (0.01 / max(d1, d2)) ** 0.2 if max(d1, d2) > 1e-15 else max(1e-6, h0 * 1e-3)) * direction
    t, y = t0, y0
    while (t1 - t) * direction > 0:
        if (t + h - t1) * direction > 0:
            h = t1 - t
        ks = [f0]
        for i in range(1, 7):
            yi = y + h * sum(a * k for a, k in zip(A[i], ks) if a != 0)
            ks.append(f(t + C[i] * h, yi))
            nfe += 1
        y_new = yi  # FSAL: the last stage is at the new point
        err = rms(h * sum(e * k for e, k in zip(E, ks) if e != 0), y, y_new, rtol, atol)
        factor = 0.9 * err ** -0.2 if err > 0 else 10.0
        if err <= 1:
            t, y, f0 = t + h, y_new, ks[6]
            h *= min(10.0, max(0.2, factor))
        else:
            h *= max(0.2, factor)
    return y, nfe


def joint(net, dim, trace, noise=None):
    """The CNF's joint dynamics over [x, l] flattened: dx/dt = F, dl/dt = -tr dF/dx."""
    def f(t, state):
        n = state.shape[0] // (dim + 1)
        x = state[: n * dim].view(n, dim).detach().requires_grad_(True)
        with torch.enable_grad():
            fx = net(torch.tensor([[t]], device=x.device, dtype=x.dtype), x)
            if trace == 'exact':
                tr = sum(torch.autograd.grad(fx[:, i].sum(), x, retain_graph=i < dim - 1)[0][:, i] for i in range(dim))
            else:
                tr = (torch.autograd.grad(fx, x, noise)[0] * noise).sum(1)
        return torch.cat([fx.detach().reshape(-1), -tr.detach()])
    return f


def log_prob(net, x, T, trace, generator, with_nfe=False):
    """log p(x) [n] (and the solve's evaluations of the dynamics with `with_nfe`)."""
    n, dim = x.shape
    noise = None if trace == 'exact' else (torch.randint(0, 2, x.shape, device=x.device, generator=generator).float() * 2 - 1)
    state, nfe = dopri5(joint(net, dim, trace, noise), torch.cat([x.reshape(-1), torch.zeros(n, device=x.device)]), 0.0, T)
    z, l = state[: n * dim].view(n, dim), state[n * dim:]
    logp = -0.5 * (z ** 2).sum(1) - 0.5 * dim * math.log(2 * math.pi) - l
    return (logp, nfe) if with_nfe else logp


def sample(net, n, T, device, generator):
    z = torch.randn(n, 2, device=device, generator=generator)
    with torch.no_grad():
        y, _ = dopri5(lambda t, y: net(torch.tensor([[t]], device=device), y.view(n, 2)).reshape(-1), z.reshape(-1), T, 0.0)
    return y.view(n, 2)


def fm_step(net, optimizer, batch, T, device, generator, sigma=0.1):
    x1 = eight_gaussians(batch, device, generator)
    x0 = torch.randn(batch, 2, device=device, generator=generator)
    s = torch.rand(batch, 1, device=device, generator=generator)
    xs = s * x1 + (1 - s) * x0 + sigma * torch.randn(batch, 2, device=device, generator=generator)
    # FFJORD time tau = T (1 - s): the field there is -(x1 - x0) / T.
    loss = ((net(T * (1 - s), xs) + (x1 - x0) / T) ** 2).sum(1).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def synced(device, work):
    if device.startswith('cuda'):
        torch.cuda.synchronize()
    started = time.perf_counter()
    work()
    if device.startswith('cuda'):
        torch.cuda.synchronize()
    return time.perf_counter() - started


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--max-batch', type=float, default=1e6)
    p.add_argument('--case-seconds', type=float, default=20)
    args = p.parse_args()
    device = args.device
    torch.manual_seed(0)
    generator = torch.Generator(device=device).manual_seed(0)
    net = Field().to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    T = 0.5
    name = torch.cuda.get_device_name(0) if device.startswith('cuda') else 'CPU'
    print(f'bench/reference/gpu_torch.py: torch {torch.__version__} on {device} ({name})')
    cases = {
        'logProb, exact trace (points/s)': lambda b: b / synced(device, lambda: log_prob(net, eight_gaussians(b, device, generator), T, 'exact', generator)),
        'logProb, Hutchinson (points/s)': lambda b: b / synced(device, lambda: log_prob(net, eight_gaussians(b, device, generator), T, 'hutchinson', generator)),
        'sample (points/s)': lambda b: b / synced(device, lambda: sample(net, b, T, device, generator)),
        'flow-matching step (steps/s)': lambda b: 5 / synced(device, lambda: [fm_step(net, optimizer, b, T, device, generator) for _ in range(5)]),
    }
    batches = []
    b = 100
    while b <= args.max_batch:
        batches.append(b)
        b *= 10
    for case, run in cases.items():
        run(batches[0])  # warm-up
        print(case)
        over = False
        for batch in batches:
            if over:
                print(f'{batch:>9} {"—":>12}')
                continue
            started = time.perf_counter()
            try:
                value = run(batch)
                print(f'{batch:>9} {value:>12.0f}', flush=True)
            except RuntimeError as e:  # out of memory, typically
                print(f'{batch:>9} {"failed":>12}  ({str(e).splitlines()[0][:80]})', flush=True)
                over = True
                if device.startswith('cuda'):
                    torch.cuda.empty_cache()
            over = over or time.perf_counter() - started > args.case_seconds


if __name__ == '__main__':
    main()
