# bench/sort_torch.py: the cases of bench/sort.lua in PyTorch, same RESULT lines (bench/compare.sh
# joins them). Threads from env CNN_THREADS; run with /usr/bin/python3.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torchlib import timeit, result as emit     # sets the threads first (CNN_THREADS, default 1)
import torch

torch.manual_seed(0)


def bench(fn, reps=5, warm=2):
    return timeit(fn, reps, warm)


def result(group, case, s):
    emit(group, case, s)


with torch.no_grad():
    v = torch.rand(1000000)
    result("sort", "sort 1e6 float32", bench(lambda: torch.sort(v, stable=True)))
    result("sort", "sort 1e6 float32 descending", bench(lambda: torch.sort(v, descending=True, stable=True)))
    m = torch.randn(1000, 1000)
    result("sort", "topk(10) of (1000,1000) rows", bench(lambda: torch.topk(m, 10)))
    result("sort", "sort (1000,1000) rows", bench(lambda: torch.sort(m, stable=True)))
    result("sort", "argsort (1000,1000) columns", bench(lambda: torch.argsort(m, dim=0)))
    result("sort", "cumsum (1000,1000) rows", bench(lambda: torch.cumsum(m, 1)))
    idx = torch.randint(0, 1000, (1000, 100))
    result("sort", "gather (1000,100) of (1000,1000)", bench(lambda: torch.gather(m, 1, idx)))
