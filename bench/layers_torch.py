# bench/layers_torch.py: PyTorch's twin of bench/layers.lua (resnet18's convolutions at batch 4,
# 224x224, one by one; same cases, same protocol lines). Run with /usr/bin/python3.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torchlib import timeit, result as emit     # sets the threads first
import torch
import torch.nn.functional as F

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

def result(case, s, flops):
    emit("layers", case, s, flops)

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
