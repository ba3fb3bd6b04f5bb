# bench/amd_torch.py: PyTorch's twin of bench/amd.lua: the same trunks (the small CNN; torchvision's
# Inception-v3 layout written out is not needed: torchvision builds it) with global pooling ->
# Linear(128) + ReLU -> Linear(2), BCE with logits, Adam; images per second of a training step.
import os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torchlib import amd_block as block     # (sets OPENBLAS_NUM_THREADS before torch loads)
import torch
import torch.nn as nn
import torch.nn.functional as F

th = int(os.environ.get("CNN_THREADS", "1"))
torch.set_num_threads(th)
torch.manual_seed(1)


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(block(3, 16), block(16, 32), block(32, 64), block(64, 64))
        self.head = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 2))

    def forward(self, x):
        return self.head(self.net(x).mean((2, 3)))


class Incep(nn.Module):
    def __init__(self):
        super().__init__()
        import torchvision
        m = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=True)
        m.fc = nn.Identity()
        m.dropout = nn.Identity()
        self.trunk = m
        self.head = nn.Sequential(nn.Linear(2048, 128), nn.ReLU(), nn.Linear(128, 2))

    def forward(self, x):
        return self.head(self.trunk(x))


def case(name, model, size, batch, reps):
    x = torch.rand(batch, 3, size, size)
    y = torch.rand(batch, 2).round()
    opt = torch.optim.Adam(model.parameters())

    def step():
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    step()
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        t.append(time.perf_counter() - t0)
    s = sorted(t)[(reps + 1) // 2 - 1]
    print("RESULT\tamd\t%s\t%d\t%.6g\t-\t%.1f images/s" % (name, th, s, batch / s), flush=True)


case("small trunk 64x64 b32 train step", Small(), 64, 32, 7)
try:
    case("inception_v3 224x224 b8 train step", Incep(), 224, 8, 3)
except ImportError:
    pass
