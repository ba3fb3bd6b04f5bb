# bench/motif_torch.py: PyTorch's twin of bench/motif.lua: the primer's DNA CNN (Glorot weights,
# zero biases), one epoch of 1,500 one-hot sequences of 50 bases (batch 32, Adam), and in-silico
# mutagenesis (all 4 bases at every position, mutants built by broadcasting and run in batches of
# the same sizes as cnn.genomics.mutagenesis) of 500 x 50 and 100 x 1000. Run with /usr/bin/python3.
import os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torchlib import timeit, threads as th, motif_cnn, one_hot     # sets the threads first
import torch
import torch.nn.functional as F

torch.manual_seed(1)

def result(case, s, extra):
    print("RESULT\tmotif\t%s\t%d\t%.6g\t-\t%s" % (case, th, s, extra), flush=True)

x, y = one_hot(1500, 50), torch.randint(0, 2, (1500,))
model = motif_cnn()
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True)

def epoch():
    for xb, yb in loader:
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()

s = timeit(epoch, 5, 1)
result("train epoch 1500 x 50 b32 (Adam)", s, "%.0f sequences/s" % (1500 / s))

@torch.no_grad()
def mutagenesis(model, x, cls=1):
    N, _, L = x.shape
    bs = max(4, 2 ** 20 // (4 * L))
    per, P = (bs // (4 * L), L) if 4 * L <= bs else (1, bs // 4)
    P = min(P, L)
    E = torch.eye(4).view(1, 1, 4, 4, 1)
    eye = torch.eye(L)
    ref = model(x)[:, cls].view(N, 1, 1)
    out = torch.zeros(N, 4, L)
    for n0 in range(0, N, per):
        n = min(per, N - n0)
        xs = x[n0:n0 + n].reshape(n, 1, 1, 4, L)
        for p0 in range(0, L, P):
            p = min(P, L - p0)
            I = eye[p0:p0 + p].reshape(1, p, 1, 1, L) != 0
            mut = torch.where(I, E, xs).reshape(n * p * 4, 4, L)
            s = model(mut)[:, cls].view(n, p, 4).permute(0, 2, 1)
            out[n0:n0 + n, :, p0:p0 + p] = s - ref[n0:n0 + n]
    return out.masked_fill(x == 1, 0)

model.eval()
x500 = x[:500]
s = timeit(lambda: mutagenesis(model, x500), 3, 1)
result("mutagenesis 500 x 50", s, "%.0f mutants/s" % (500 * 50 * 4 / s))
long = motif_cnn(1000).eval()
xl = one_hot(100, 1000)
s = timeit(lambda: mutagenesis(long, xl), 1, 0)  # 400,000 mutants: once
result("mutagenesis 100 x 1000", s, "%.0f mutants/s" % (100 * 1000 * 4 / s))
