# bench/layers_torch.py: PyTorch's twin of bench/layers.lua (resnet18's convolutions at batch 4,
# 224x224, one by one; same cases, same protocol lines). Run with /usr/bin/python3.
import os, time, statistics
os.environ.setdefault("OPENBLAS_NUM_THREADS", os.environ.get("CNN_THREADS") or str(os.cpu_count()))
import torch
import torch.nn.functional as F

th = int(os.environ.get("CNN_THREADS", "1"))
torch.set_num_threads(th)
torch.manual_seed(1)
N = 4
cases = [("r18 stem 3->64 224 k7 s2", 3, 64, 224, 7, 2, 3, False),
         ("r18 l1 64->64 56 k3", 64, 64, 56, 3, 1, 1, True),
         ("r18 l2 64->128 56 k3 s2", 64, 128, 56, 3, 2, 1, True),
         ("r18 l2 down 64->128 56 k1 s2", 64, 128, 56, 1, 2, 0, True),
         ("r18 l2 128->128 28 k3", 128, 128, 28, 3, 1, 1, True),
         ("r18 l3 128->256 28 k3 s2", 128, 256, 28, 3, 2, 1, True),
         ("r18 l3 down 128->256 28 k1 s2", 128, 256, 28, 1, 2, 0, True),
         ("r18 l3 256->256 14 k3", 256, 256, 14, 3, 1, 1, True),
         ("r18 l4 256->512 14 k3 s2", 256, 512, 14, 3, 2, 1, True),
         ("r18 l4 down 256->512 14 k1 s2", 256, 512, 14, 1, 2, 0, True),
         ("r18 l4 512->512 7 k3", 512, 512, 7, 3, 1, 1, True)]

def timeit(fn, reps=7, warm=2):
    for _ in range(warm):
        fn()
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return statistics.median(t)

def result(case, s, flops):
    print("RESULT\tlayers\t%s\t%d\t%.6g\t%.2f\t" % (case, th, s, flops / s / 1e9), flush=True)

only = os.environ.get("LAYERS")
for name, C, OC, H, k, s, p, gx in cases:
    if only and only not in name:
        continue
    OH = (H + 2 * p - k) // s + 1
    flops = 2 * N * OC * OH * OH * C * k * k
    x = torch.randn(N, C, H, H, requires_grad=gx)
    w = (torch.randn(OC, C, k, k) * 0.1).requires_grad_()
    with torch.no_grad():
        tf = timeit(lambda: F.conv2d(x, w, None, s, p))
    result(name + " fwd", tf, flops)
    g = torch.randn(N, OC, OH, OH)
    def step():
        x.grad = None
        w.grad = None
        F.conv2d(x, w, None, s, p).backward(g)
    tb = timeit(step)
    result(name + " fwd+bwd", tb, (3 if gx else 2) * flops)
