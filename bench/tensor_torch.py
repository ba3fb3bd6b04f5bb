# bench/tensor_torch.py: the cases of bench/tensor.lua in PyTorch, same RESULT lines
# (bench/compare.sh joins them). Threads from env CNN_THREADS; run with /usr/bin/python3.
import os, statistics, time
# Debian's torch does its matmuls in the system BLAS (OpenBLAS), which ignores
# torch.set_num_threads: without this, its "1-thread" rows used both cores.
import os as _os
_os.environ.setdefault("OPENBLAS_NUM_THREADS", _os.environ.get("CNN_THREADS") or str(_os.cpu_count()))
import torch

threads = int(os.environ.get("CNN_THREADS", "0")) or torch.get_num_threads()
torch.set_num_threads(threads)
torch.manual_seed(0)

def bench(fn, reps=7, warm=2, inner=1):
    for _ in range(warm): fn()
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner): fn()
        t.append((time.perf_counter() - t0) / inner)
    return statistics.median(t)

def result(group, case, s, flops=None, extra=""):
    gf = "%.2f" % (flops / s / 1e9) if flops else "-"
    print("RESULT\t%s\t%s\t%d\t%.6g\t%s\t%s" % (group, case, threads, s, gf, extra), flush=True)

with torch.no_grad():
    for n in (512, 1024, 2048):
        a, b = torch.randn(n, n), torch.randn(n, n)
        reps, inner = (3 if n >= 2048 else 5), {512: 20, 1024: 3}.get(n, 1)
        result("matmul", "matmul %d" % n, bench(lambda: a @ b, reps, 2, inner), 2 * n ** 3)
        at = torch.randn(n, n).t()
        result("matmul", "matmul %d a^T" % n, bench(lambda: at @ b, reps, 2, inner), 2 * n ** 3)
        if n == 512:   # PyTorch frees by reference count: the same case as the row above
            result("matmul", "matmul 512 (freed by GC)", bench(lambda: a @ b, reps, 2, inner), 2 * n ** 3)
    n = 10_000_000
    x, y = torch.rand(n), torch.rand(n)
    nbytes = 3 * 4 * n
    for name, fn in (("add 1e7", lambda: x + y), ("mul 1e7", lambda: x * y), ("add_ 1e7 (in place)", lambda: x.add_(y)),
                     ("add 1e7 (freed by GC)", lambda: x + y)):
        s = bench(fn)
        result("elementwise", name, s, None, "%.2f GB/s" % (nbytes / s / 1e9))
    a, b = torch.rand(16), torch.rand(16)
    s = bench(lambda: a + b, 7, 1, 200000)
    result("overhead", "a + b, 16 elements", s, None, "%.3f us/op" % (s * 1e6))
    s = bench(lambda: a.add_(b), 7, 1, 200000)
    result("overhead", "a:add_(b), 16 elements", s, None, "%.3f us/op" % (s * 1e6))
