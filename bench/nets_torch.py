# bench/nets_torch.py: PyTorch's twin of bench/nets.lua (issue 24): the same whole-network cases,
# each in a fresh process (peak RSS from ru_maxrss), median of 3 runs after one warm-up run.
# torchvision's resnet18 and inception_v3 (no aux logits, as cnn.models.inception_v3); the AMD
# demo's small trunk ported from lua/cnn/amd/network.lua (4 conv3x3-bn-relu-maxpool blocks at
# width 0.5: 8, 16, 32, 32 channels, global mean, severity head 32 -> 128 -> 2, image
# normalisation); the primer's DNA CNN as bench/motif_torch.py; the genomic-prediction MLP
# (50,000 -> 64 -> ReLU -> 32 -> Softplus -> 1, MSE, Adam lr 1e-3, batch 32, one epoch over the
# 2,000 individuals in a random order) on the float32 matrix decoded from bench/nets.lua's PLINK
# files and standardised in memory, as bench/gp_torch.py (run bench/nets.lua first).
# GFLOP/s: FLOPS below, the counts bench/nets.lua computes (2 x multiply-adds of the conv and
# linear layers; a training step = 3 forwards); each child checks them against its own count by
# forward hooks and says so on stderr if they differ. The first row is the yardstick: torch.mm of
# the same 128 x 3136 x 1152 GEMM as bench/nets.lua's sgemm row (OpenBLAS's sgemm underneath),
# timed by the parent; each case's note gives its GFLOP/s as a share of it.
# NETS="resnet18_b4,motif" runs only those cases. Run with /usr/bin/python3 (Debian's torch).
import os, resource, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torchlib import openblas_core, rss_mb, amd_block as block, motif_cnn, one_hot     # (sets OPENBLAS_NUM_THREADS first)
os.environ.setdefault("OPENBLAS_NUM_THREADS", os.environ.get("CNN_THREADS") or str(os.cpu_count()))

ORDER = ["resnet18_b4", "inception_features_b8", "inception_train_b4", "resnet18_b16", "amd_small", "motif",
         "gp_mlp", "inception_b1"]
# FLOPs of one timed run (a step or an epoch), from bench/nets.lua's B.forward_flops
FLOPS = {
    "resnet18_b4": 3 * 4 * 3628146688,
    "inception_features_b8": 8 * 5671746240,
    "inception_train_b4": 3 * 4 * 11426432192,
    "resnet18_b16": 3 * 16 * 970719232,
    "amd_small": 3 * 32 * 7676416,
    "motif": 3 * 1500 * 129088,
    "gp_mlp": 3 * 2000 * 6404160,
    "inception_b1": 11426432192,
}
SGEMM = (128, 3136, 1152)
LABELS = {
    "resnet18_b4": "resnet18 train step b4 224x224 (SGD)",
    "inception_features_b8": "inception_v3 features b8 224x224 (eval, no grad)",
    "inception_train_b4": "inception_v3 train step b4 299x299 (SGD)",
    "resnet18_b16": "resnet18 train step b16 112x112 (SGD)",
    "amd_small": "AMD small trunk w0.5 train step b32 64x64 (Adam)",
    "motif": "DNA motif CNN epoch 1500 x 50 b32 (Adam)",
    "gp_mlp": "genomic-prediction MLP epoch 2000 x 50000 b32 (Adam)",
    "inception_b1": "inception_v3 inference b1 299x299 (eval, no grad)",
}
GP_N, GP_P = 2000, 50000
GP_PREFIX = "/tmp/cnn_bench_gp_%dx%d" % (GP_N, GP_P)




if len(sys.argv) < 2:
    want = [n for n in os.environ.get("NETS", "").replace(",", " ").split()]
    for n in want:
        assert n in LABELS, "bench/nets_torch.py: unknown case " + n
    import torch
    th = int(os.environ.get("CNN_THREADS", "1"))
    torch.set_num_threads(th)
    M, N, K = SGEMM
    a, b = torch.rand(M, K) - 0.5, torch.rand(K, N) - 0.5
    torch.mm(a, b)
    t = []
    for _ in range(9):
        t0 = time.perf_counter()
        torch.mm(a, b)
        t.append(time.perf_counter() - t0)
    s = sorted(t)[4]
    gf = 2.0 * M * N * K / s / 1e9
    print("RESULT\tnets\tsgemm %dx%dx%d (yardstick)\t%d\t%.6g\t%.2f\ttorch.mm; OpenBLAS core %s (OPENBLAS_CORETYPE %s)"
          % (M, N, K, th, s, gf, openblas_core(), os.environ.get("OPENBLAS_CORETYPE", "unset")), flush=True)
    env = dict(os.environ, NETS_SGEMM_GFLOPS="%.2f" % gf)
    for name in ORDER:
        if not want or name in want:
            sys.stdout.write(subprocess.run([sys.executable, __file__, name], capture_output=True, text=True,
                                            env=env).stdout)
    sys.exit(0)

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

name = sys.argv[1]
th = int(os.environ.get("CNN_THREADS", "1"))
torch.set_num_threads(th)
torch.manual_seed(1)


def forward_flops(model, x):
    """2 x multiply-adds of the Conv1d / Conv2d / Linear layers in model(x), by forward hooks"""
    macs = [0]

    def hook(m, inp, out):
        macs[0] += out.numel() * (m.weight.numel() // m.weight.shape[0])
    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(x)
    for h in hs:
        h.remove()
    return 2 * macs[0]


def check_flops(count):
    if count != FLOPS[name]:
        sys.stderr.write("bench/nets_torch.py: %s: %d FLOPs counted here, %d in bench/nets.lua (used)\n"
                         % (name, count, FLOPS[name]))


def classifier_step(model, batch, size):
    check_flops(3 * batch * forward_flops(model, torch.randn(1, 3, size, size)))
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.randn(batch, 3, size, size), torch.randint(0, 1000, (batch,))

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


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
    check_flops(8 * forward_flops(model, torch.randn(1, 3, 224, 224)))
    x = torch.randn(8, 3, 224, 224)

    def step():
        with torch.no_grad():
            model(x)
elif name == "inception_b1":
    model = torchvision.models.inception_v3(aux_logits=False, init_weights=False)
    model.eval()
    x = torch.randn(1, 3, 299, 299)
    check_flops(forward_flops(model, x))

    def step():
        with torch.no_grad():
            model(x)
elif name == "amd_small":
    model = AMDSmall()
    check_flops(3 * 32 * forward_flops(model, torch.rand(1, 3, 64, 64)))
    model.train()
    x, y = torch.rand(32, 3, 64, 64), torch.rand(32, 2).round()
    opt = torch.optim.Adam(model.parameters())

    def step():
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
elif name == "motif":
    model = motif_cnn(50)
    x = one_hot(1500, 50)
    y = torch.randint(0, 2, (1500,))
    check_flops(3 * 1500 * forward_flops(model, x[:1]))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True)

    def step():
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
elif name == "gp_mlp":
    import numpy as np
    if not os.path.exists(GP_PREFIX + ".bed"):
        sys.stderr.write("bench/nets_torch.py: %s.bed is missing: run bench/nets.lua first\n" % GP_PREFIX)
        sys.exit(0)
    N, P = GP_N, GP_P
    per = (N + 3) // 4
    raw = np.fromfile(GP_PREFIX + ".bed", dtype=np.uint8, offset=3).reshape(P, per)
    lut = np.array([2.0, np.nan, 1.0, 0.0], dtype=np.float32)
    X = np.empty((N, P), dtype=np.float32)
    for j in range(0, P, 5000):                   # decode and standardise 5,000 markers at a time
        r = raw[j:j + 5000]
        codes = np.stack([(r >> (2 * k)) & 3 for k in range(4)], axis=2).reshape(len(r), per * 4)[:, :N]
        blk = lut[codes].T
        sd = blk.std(0, ddof=1)
        X[:, j:j + len(r)] = (blk - blk.mean(0)) / np.where(sd > 0, sd, 1)
    del raw, codes, blk
    y = np.loadtxt(GP_PREFIX + ".pheno", skiprows=1, usecols=2)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(((y - y.mean()) / y.std()).astype(np.float32))
    model = nn.Sequential(nn.Linear(P, 64), nn.ReLU(), nn.Linear(64, 32), nn.Softplus(), nn.Linear(32, 1))
    check_flops(3 * N * forward_flops(model, Xt[:1]))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        perm = torch.randperm(N)
        for i in range(0, N, 32):
            b = perm[i:i + 32]
            opt.zero_grad()
            loss = F.mse_loss(model(Xt[b]).view(-1), yt[b])
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
gf = FLOPS[name] / s / 1e9
yard = float(os.environ.get("NETS_SGEMM_GFLOPS") or 0)
print("RESULT\tnets\t%s\t%d\t%.6g\t%.2f\t%s%.2f GFLOP a run; peak RSS %.0f MB (%.0f before the first step)"
      % (LABELS[name], th, s, gf, "%.0f%% of sgemm; " % (100 * gf / yard) if yard else "", FLOPS[name] / 1e9, peak, rss0),
      flush=True)
