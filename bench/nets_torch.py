# bench/nets_torch.py: PyTorch's twin of bench/nets.lua (issue 24): the same whole-network cases,
# each in a fresh process (peak RSS from ru_maxrss), median of 3 runs after one warm-up run.
# torchvision's resnet18 and inception_v3 (no aux logits, as cnn.models.inception_v3); the AMD
# demo's small trunk ported from lua/cnn/amd/network.lua (4 conv3x3-bn-relu-maxpool blocks at
# width 0.5: 8, 16, 32, 32 channels, global mean, severity head 32 -> 128 -> 2, image
# normalisation); the primer's DNA CNN as bench/motif_torch.py.
# NETS="resnet18_b4,motif" runs only those cases. Run with /usr/bin/python3 (Debian's torch).
import os, resource, subprocess, sys, time
os.environ.setdefault("OPENBLAS_NUM_THREADS", os.environ.get("CNN_THREADS") or str(os.cpu_count()))

ORDER = ["resnet18_b4", "inception_features_b8", "inception_train_b4", "resnet18_b16", "amd_small", "motif"]
LABELS = {
    "resnet18_b4": "resnet18 train step b4 224x224 (SGD)",
    "inception_features_b8": "inception_v3 features b8 224x224 (eval, no grad)",
    "inception_train_b4": "inception_v3 train step b4 299x299 (SGD)",
    "resnet18_b16": "resnet18 train step b16 112x112 (SGD)",
    "amd_small": "AMD small trunk w0.5 train step b32 64x64 (Adam)",
    "motif": "DNA motif CNN epoch 1500 x 50 b32 (Adam)",
}


def rss_mb():
    with open("/proc/self/status") as f:
        for l in f:
            if l.startswith("VmRSS:"):
                return int(l.split()[1]) / 1024


if len(sys.argv) < 2:
    want = [n for n in os.environ.get("NETS", "").replace(",", " ").split()]
    for n in want:
        assert n in LABELS, "bench/nets_torch.py: unknown case " + n
    for name in ORDER:
        if not want or name in want:
            sys.stdout.write(subprocess.run([sys.executable, __file__, name], capture_output=True, text=True).stdout)
    sys.exit(0)

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

name = sys.argv[1]
th = int(os.environ.get("CNN_THREADS", "1"))
torch.set_num_threads(th)
torch.manual_seed(1)


def classifier_step(model, batch, size):
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.randn(batch, 3, size, size), torch.randint(0, 1000, (batch,))

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def block(i, o):
    return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2))


class AMDSmall(nn.Module):
    """lua/cnn/amd/network.lua's paper design, small backbone: trunk + severity head"""

    def __init__(self, width=0.5):
        super().__init__()
        c = lambda n: max(1, int(n * width + 0.5))
        self.net = nn.Sequential(block(3, c(16)), block(c(16), c(32)), block(c(32), c(64)), block(c(64), c(64)))
        self.severity = nn.Sequential(nn.Linear(c(64), 128), nn.ReLU(), nn.Linear(128, 2))
        self.register_buffer("img_mean", torch.full((3,), 0.5))
        self.register_buffer("img_std", torch.full((3,), 0.25))

    def forward(self, x):
        x = (x - self.img_mean.view(1, 3, 1, 1)) / self.img_std.view(1, 3, 1, 1)
        return self.severity(self.net(x).mean((2, 3)))


if name == "resnet18_b4":
    step = classifier_step(torchvision.models.resnet18(), 4, 224)
elif name == "resnet18_b16":
    step = classifier_step(torchvision.models.resnet18(), 16, 112)
elif name == "inception_train_b4":
    step = classifier_step(torchvision.models.inception_v3(aux_logits=False, init_weights=False), 4, 299)
elif name == "inception_features_b8":
    model = torchvision.models.inception_v3(aux_logits=False, init_weights=False)
    model.fc = nn.Identity()
    model.eval()
    x = torch.randn(8, 3, 224, 224)

    def step():
        with torch.no_grad():
            model(x)
elif name == "amd_small":
    model = AMDSmall()
    model.train()
    x, y = torch.rand(32, 3, 64, 64), torch.rand(32, 2).round()
    opt = torch.optim.Adam(model.parameters())

    def step():
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
elif name == "motif":
    L = 50
    model = nn.Sequential(nn.Conv1d(4, 32, 12), nn.MaxPool1d(4), nn.Flatten(),
                          nn.Linear(32 * ((L - 11) // 4), 16), nn.ReLU(), nn.Linear(16, 2))
    for i in (0, 3, 5):
        nn.init.xavier_uniform_(model[i].weight)
        nn.init.zeros_(model[i].bias)
    x = F.one_hot(torch.randint(0, 4, (1500, L)), 4).permute(0, 2, 1).float().contiguous()
    y = torch.randint(0, 2, (1500,))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True)

    def step():
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()

rss0 = rss_mb()
step()
t = []
for _ in range(3):
    t0 = time.perf_counter()
    step()
    t.append(time.perf_counter() - t0)
s = sorted(t)[1]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("RESULT\tnets\t%s\t%d\t%.6g\t-\tpeak RSS %.0f MB (%.0f before the first step)" % (LABELS[name], th, s, peak, rss0), flush=True)
