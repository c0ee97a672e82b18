"""PyTorch's threads for the reference drivers here: its own (torch.set_num_threads) and its BLAS's.

Debian's torch does its products through libblas.so.3: OpenBLAS where it is installed (python3-scipy
brings it in), netlib's reference BLAS otherwise. OpenBLAS keeps its own pool of every core, which
torch.set_num_threads leaves alone (OMP_NUM_THREADS, when set, limits it too); threadpoolctl
(Debian's python3-threadpoolctl) sets it here. `blas()` names what runs, for the benchmarks' output.
"""
import torch

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:  # no threadpoolctl: the BLAS keeps its own thread count (OMP_NUM_THREADS, if set)
    threadpool_info = threadpool_limits = None


def use_threads(threads, blas_threads=None):
    """torch's intra-op threads, and its BLAS's (as many unless given)."""
    torch.set_num_threads(threads)
    if threadpool_limits is not None:
        threadpool_limits(limits=blas_threads or threads, user_api='blas')


def blas():
    """The BLAS torch runs its products on, and its thread count now."""
    if threadpool_info is None:
        return 'unknown (no threadpoolctl: its threads not set)'
    found = [f"{i['internal_api']} {i.get('version')} ({i.get('threading_layer')}, {i.get('architecture')} kernels), {i['num_threads']} thread(s)"
             for i in threadpool_info() if i['user_api'] == 'blas']
    return '; '.join(found) or 'none loaded'
