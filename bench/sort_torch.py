# bench/sort_torch.py: the cases of bench/sort.lua in PyTorch, same RESULT lines (bench/compare.sh
# joins them). Threads from env CNN_THREADS; run with /usr/bin/python3.
import os, statistics, time
import torch

threads = int(os.environ.get("CNN_THREADS", "0")) or torch.get_num_threads()
torch.set_num_threads(threads)
torch.manual_seed(0)


def bench(fn, reps=5, warm=2):
    for _ in range(warm): fn()
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return statistics.median(t)


def result(group, case, s):
    print("RESULT\t%s\t%s\t%d\t%.6g\t-\t" % (group, case, threads, s), flush=True)


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
