# bench/conv_torch.py: PyTorch's twin of bench/conv.lua (same cases, same protocol lines).
# Run with /usr/bin/python3 (Debian's python3-torch); CNN_THREADS sets the thread count.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torchlib import timeit, result as emit     # sets the threads first
import torch
import torch.nn.functional as F

torch.manual_seed(1)

def result(case, s, flops=None, extra=""):
    emit("conv", case, s, flops, extra)

cases = [("N64 1->32 28x28 k3 p1", 64, 1, 32, 28, 3, 1, 1),
         ("N64 32->64 14x14 k3 p1", 64, 32, 64, 14, 3, 1, 1),
         ("N8 64->128 56x56 k3 p1", 8, 64, 128, 56, 3, 1, 1),
         ("N4 3->64 224x224 k7 s2 p3", 4, 3, 64, 224, 7, 2, 3)]
only = os.environ.get("CONV_CASE")
for i, (name, N, C, OC, H, k, s, p) in enumerate(cases, 1):
    if only and only != str(i):
        continue
    OH = (H + 2 * p - k) // s + 1
    flops = 2 * OC * N * OH * OH * C * k * k
    reps = 5 if flops > 2e9 else 9
    x = torch.randn(N, C, H, H, requires_grad=True)
    w = (torch.randn(OC, C, k, k) * 0.1).requires_grad_()
    b = torch.randn(OC, requires_grad=True)
    with torch.no_grad():
        tf = timeit(lambda: F.conv2d(x, w, b, stride=s, padding=p), reps)
    result(name + " fwd", tf, flops)
    def fb():
        x.grad = w.grad = b.grad = None
        F.conv2d(x, w, b, stride=s, padding=p).sum().backward()
    result(name + " fwd+bwd", timeit(fb, reps), 3 * flops)

if not only or only == "lenet":
    Bn = 64
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(3136, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(Bn, 1, 28, 28)
    y = torch.randint(0, 10, (Bn,))
    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    result("LeNet train step b64 (SGD)", timeit(step, 9))
