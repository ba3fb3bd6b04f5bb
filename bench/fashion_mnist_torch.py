# bench/fashion_mnist_torch.py: PyTorch's twin of bench/fashion_mnist.lua: the same model, data
# (Debian's IDX files), batch, optimizer and shuffling of one epoch. Run with /usr/bin/python3.
import gzip, os, resource, time
import numpy as np
# Debian's torch does its matmuls in the system BLAS (OpenBLAS), which ignores
# torch.set_num_threads: without this, its "1-thread" rows used both cores.
import os as _os
_os.environ.setdefault("OPENBLAS_NUM_THREADS", _os.environ.get("CNN_THREADS") or str(_os.cpu_count()))
import torch
import torch.nn as nn
import torch.nn.functional as F

th = int(os.environ.get("CNN_THREADS", "1"))
torch.set_num_threads(th)
torch.manual_seed(1)
d = "/usr/share/datasets/fashion-mnist"
with gzip.open(d + "/train-images-idx3-ubyte.gz") as f:
    x = torch.from_numpy(np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28).astype(np.float32) / 255)
with gzip.open(d + "/train-labels-idx1-ubyte.gz") as f:
    y = torch.from_numpy(np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64))
n = min(int(os.environ.get("FM_SAMPLES", "60000")), x.shape[0])
x, y = x[:n], y[:n]
model = nn.Sequential(
    nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Dropout(0.25),
    nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.5),
    nn.Linear(128, 10))
opt = torch.optim.Adam(model.parameters(), lr=2e-3)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=64, shuffle=True)
t0 = time.perf_counter()
for xb, yb in loader:
    loss = F.cross_entropy(model(xb), yb)
    opt.zero_grad()
    loss.backward()
    opt.step()
s = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("RESULT\tfashion_mnist\tepoch %d samples b64 (Adam)\t%d\t%.6g\t-\t%.0f samples/s; peak RSS %.0f MB" % (n, th, s, n / s, rss), flush=True)
