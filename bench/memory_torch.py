# bench/memory_torch.py: PyTorch's twin of bench/memory.lua: peak RSS (ru_maxrss) of 20 training
# steps (SGD with momentum, cross-entropy) of torchvision's resnet18 (batch 4, 112x112) and
# inception_v3 (batch 2, 299x299, no aux logits, as cnn.models.inception_v3), each in a fresh
# process. Run with /usr/bin/python3 (Debian's torch).
import os, resource, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torchlib import rss_mb     # (sets OPENBLAS_NUM_THREADS before torch loads)

CASES = {
    "resnet18": (4, 112, "resnet18 b4 112x112, 20 SGD steps"),
    "inception_v3": (2, 299, "inception_v3 b2 299x299, 20 SGD steps"),
}

if len(sys.argv) < 2:
    for name in ("resnet18", "inception_v3"):
        sys.stdout.write(subprocess.run([sys.executable, __file__, name], capture_output=True, text=True).stdout)
    sys.exit(0)

import torch
import torch.nn.functional as F
import torchvision

name = sys.argv[1]
batch, size, label = CASES[name]
th = int(os.environ.get("CNN_THREADS", "1"))
torch.set_num_threads(th)
torch.manual_seed(1)
if name == "inception_v3":
    model = torchvision.models.inception_v3(aux_logits=False, init_weights=False)
else:
    model = torchvision.models.resnet18()
model.train()
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x, y = torch.randn(batch, 3, size, size), torch.randint(0, 1000, (batch,))
rss0 = rss_mb()
times = []
for step in range(20):
    t0 = time.perf_counter()
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    times.append(time.perf_counter() - t0)
times.sort()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("RESULT\tmemory\t%s\t%d\t%.6g\t-\tpeak RSS %.0f MB (%.0f before the first step)" % (label, th, times[9], peak, rss0), flush=True)
