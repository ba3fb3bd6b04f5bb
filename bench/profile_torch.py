# bench/profile_torch.py: torch.profiler on one resnet18 training step (batch 4, 224x224,
# cross-entropy, SGD with momentum 0.9), the twin of bench/profile.lua: one warm-up step, the
# median of 3 unprofiled steps for scale, then one profiled step; prints the profiler's table
# sorted by self CPU time and a markdown table of the top ops (PROFILE_TOP, default 12).
# Threads: CNN_THREADS (default 1). Run with /usr/bin/python3 (Debian's torch 1.13).
import os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torchlib import openblas_core, timeit, threads as th     # sets the threads first
import torch
import torch.nn.functional as F
import torchvision

top = int(os.environ.get("PROFILE_TOP") or 12)
torch.manual_seed(1)
model = torchvision.models.resnet18()
model.train()
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x, y = torch.randn(4, 3, 224, 224), torch.randint(0, 1000, (4,))


def step():
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()




unprofiled = timeit(step, reps=3, warm=1)
with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
    t0 = time.perf_counter()
    step()
    wall = time.perf_counter() - t0
print("torch %s: resnet18 train step b4 224x224 (SGD), %s thread(s), OpenBLAS core %s (OPENBLAS_CORETYPE %s)"
      % (torch.__version__, th, openblas_core(), os.environ.get("OPENBLAS_CORETYPE", "unset")))
print("unprofiled step: %.1f ms (median of 3); profiled step: %.1f ms" % (unprofiled * 1e3, wall * 1e3))
print()
ka = prof.key_averages()
print(ka.table(sort_by="self_cpu_time_total", row_limit=top))
rows = sorted(ka, key=lambda e: e.self_cpu_time_total, reverse=True)
total = sum(e.self_cpu_time_total for e in ka)   # microseconds
print("| op | calls | self CPU ms | share |")
print("|---|---|---|---|")
for e in rows[:top]:
    print("| %s | %d | %.1f | %.1f%% |" % (e.key, e.count, e.self_cpu_time_total / 1e3, 100 * e.self_cpu_time_total / total))
rest = sum(e.self_cpu_time_total for e in rows[top:])
print("| everything else (%d ops) | | %.1f | %.1f%% |" % (len(rows) - top, rest / 1e3, 100 * rest / total))
print("| total (self CPU) | | %.1f | |" % (total / 1e3))
