# bench/torchlib.py: what the PyTorch twins share (bench/lib.lua's counterpart): the thread count
# from CNN_THREADS, OpenBLAS held to it (Debian's torch does its matmuls in the system OpenBLAS,
# which ignores torch.set_num_threads), the median timer, the RESULT line and the name of the
# OpenBLAS kernels in use. Import it before
# torch is first used.
import os, time, statistics
os.environ.setdefault("OPENBLAS_NUM_THREADS", os.environ.get("CNN_THREADS") or str(os.cpu_count()))
import torch

threads = int(os.environ.get("CNN_THREADS", "1"))
torch.set_num_threads(threads)

def timeit(fn, reps=7, warm=2):
    """median seconds of fn() over reps runs after warm warm-up runs"""
    for _ in range(warm):
        fn()
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return statistics.median(t)

def openblas_core():
    """the kernels the OpenBLAS that torch loaded chose (OPENBLAS_CORETYPE or its own detection)"""
    import ctypes
    torch.mm(torch.ones(2, 2), torch.ones(2, 2))          # makes sure OpenBLAS is loaded
    for l in open("/proc/self/maps"):
        if "libopenblas" in l:
            f = ctypes.CDLL(l.split()[-1], mode=os.RTLD_NOLOAD).openblas_get_corename
            f.restype = ctypes.c_char_p
            return f().decode()
    return "no OpenBLAS loaded"

def result(group, case, s, flops=None, extra=""):
    gf = "%.2f" % (flops / s / 1e9) if flops else "-"
    print("RESULT\t%s\t%s\t%d\t%.6g\t%s\t%s" % (group, case, threads, s, gf, extra), flush=True)
