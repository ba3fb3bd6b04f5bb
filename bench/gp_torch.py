# bench/gp_torch.py: the Python twin of bench/gp.lua on the same PLINK files (written by
# bench/gp.lua; run it first, as bench/compare.sh does): the .bed decoded with numpy, scikit-learn's
# Ridge (alpha = 1000, fit_intercept, solver "auto": the Cholesky solve of the kernel since
# P > N) on the float64 matrix, and one epoch of the guide's MLP in PyTorch on the standardised
# float32 matrix. Each with the process's peak RSS (ru_maxrss) after it. Run with /usr/bin/python3.
import os, resource, sys, time
th = os.environ.get("CNN_THREADS") or str(os.cpu_count())
os.environ.setdefault("OPENBLAS_NUM_THREADS", th)
os.environ.setdefault("OMP_NUM_THREADS", th)
import numpy as np

N = int(os.environ.get("GP_N") or 2000)
P = int(os.environ.get("GP_P") or 50000)
prefix = "/tmp/cnn_bench_gp_%dx%d" % (N, P)
tag = "%dx%d" % (N, P)
if not os.path.exists(prefix + ".bed"):
    sys.stderr.write("bench/gp_torch.py: %s.bed is missing: run bench/gp.lua first\n" % prefix)
    sys.exit(0)


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def result(case, seconds, extra=""):
    sys.stdout.write("RESULT\tgp\t%s\t%s\t%.6g\t-\t%s\n" % (case, th, seconds, extra))
    sys.stdout.flush()


t0 = time.perf_counter()
per = (N + 3) // 4
raw = np.fromfile(prefix + ".bed", dtype=np.uint8, offset=3).reshape(P, per)
lut = np.array([2.0, np.nan, 1.0, 0.0], dtype=np.float32)
codes = np.stack([(raw >> (2 * k)) & 3 for k in range(4)], axis=2).reshape(P, per * 4)[:, :N]
X = np.ascontiguousarray(lut[codes].T)
result("read .bed as float32 " + tag, time.perf_counter() - t0, "numpy; peak RSS %.0f MB" % peak_mb())
y = np.loadtxt(prefix + ".pheno", skiprows=1, usecols=2)

try:
    from sklearn.linear_model import Ridge
    X64 = X.astype(np.float64)
    t0 = time.perf_counter()
    Ridge(alpha=1000.0).fit(X64, y)
    result("ridge lambda=1000 " + tag, time.perf_counter() - t0, "scikit-learn Ridge, float64; peak RSS %.0f MB" % peak_mb())
    del X64
except ImportError:
    sys.stderr.write("bench/gp_torch.py: scikit-learn is missing (apt-get install python3-sklearn)\n")

import torch
torch.set_num_threads(int(th))
torch.manual_seed(1)
Xs = (X - X.mean(0)) / np.where(X.std(0, ddof=1) > 0, X.std(0, ddof=1), 1)
Xt, yt = torch.from_numpy(Xs.astype(np.float32)), torch.from_numpy(((y - y.mean()) / y.std()).astype(np.float32))
model = torch.nn.Sequential(torch.nn.Linear(P, 64), torch.nn.ReLU(), torch.nn.Linear(64, 32), torch.nn.Softplus(), torch.nn.Linear(32, 1))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
t0 = time.perf_counter()
perm = torch.randperm(N)
for i in range(0, N, 32):
    b = perm[i:i + 32]
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(model(Xt[b]).view(-1), yt[b])
    loss.backward()
    opt.step()
result("MLP epoch (batch 32, Adam) " + tag, time.perf_counter() - t0, "PyTorch on a float32 matrix in memory; peak RSS %.0f MB" % peak_mb())
