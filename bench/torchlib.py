# bench/torchlib.py: what the PyTorch twins share (bench/lib.lua's counterpart): the thread count
# from CNN_THREADS, OpenBLAS held to it (Debian's torch does its matmuls in the system OpenBLAS,
# which ignores torch.set_num_threads), the median timer, the RESULT line, the name of the
# OpenBLAS kernels in use, the resident set size, and the small models more than one twin builds
# (the AMD demo's conv block, the primer's DNA CNN and its one-hot input). Import it before
# torch is first used.
import os, time, statistics
os.environ.setdefault("OPENBLAS_NUM_THREADS", os.environ.get("CNN_THREADS") or str(os.cpu_count()))
import torch
import torch.nn as nn
import torch.nn.functional as F

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

def rss_mb():
    """this process's resident set size now, MB (VmRSS)"""
    with open("/proc/self/status") as f:
        for l in f:
            if l.startswith("VmRSS:"):
                return int(l.split()[1]) / 1024

def amd_block(i, o):
    """lua/cnn/amd/network.lua's small-backbone block: conv 3x3 (no bias), batch norm, ReLU, max pool 2"""
    return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2))

def motif_cnn(L=50):
    """cnn.genomics.motif_cnn: conv1d 4->32 k12, max pool 4, linear -> 16, ReLU, linear -> 2; Glorot, zero biases"""
    m = nn.Sequential(nn.Conv1d(4, 32, 12), nn.MaxPool1d(4), nn.Flatten(),
                      nn.Linear(32 * ((L - 11) // 4), 16), nn.ReLU(), nn.Linear(16, 2))
    for i in (0, 3, 5):
        nn.init.xavier_uniform_(m[i].weight)
        nn.init.zeros_(m[i].bias)
    return m

def one_hot(n, L):
    """n random DNA sequences of L bases, one-hot (n, 4, L) float32"""
    return F.one_hot(torch.randint(0, 4, (n, L)), 4).permute(0, 2, 1).float().contiguous()
