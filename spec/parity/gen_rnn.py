#!/usr/bin/python3
"""gen_rnn.py: writes the PyTorch parity fixtures of nn.LSTM and nn.GRU to fixtures/rnn.lua. Run
by hand with Debian's python (it has torch): /usr/bin/python3 spec/parity/gen_rnn.py. `make test`
only reads the committed fixture (rnn_spec.lua).

Each case: the layer's options, its parameters (PyTorch's names and layout), the input, the
initial state when given, the output and final states, and the gradients of
sum(out * gout) + sum(h_n * gh) [+ sum(c_n * gc)] for the input, the initial state and every
parameter, all in float64 (values rounded to float32 first, so the float32 run sees the same)."""
import os
import torch
from luafmt import lua

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
gen = torch.Generator().manual_seed(20261130)


def rnd(*shape):
    return torch.randn(*shape, generator=gen, dtype=torch.float64).float().double()


CASES = [
    ("lstm_1layer", "LSTM", 5, 4, dict(), 6, 3, False),
    ("lstm_1layer_state", "LSTM", 5, 4, dict(), 6, 3, True),
    ("lstm_2layer_bi_bf", "LSTM", 5, 4, dict(num_layers=2, bidirectional=True, batch_first=True), 5, 2, False),
    ("lstm_2layer_bi_bf_state", "LSTM", 5, 4, dict(num_layers=2, bidirectional=True, batch_first=True), 5, 2, True),
    ("gru_2layer_bi", "GRU", 3, 4, dict(num_layers=2, bidirectional=True), 5, 2, False),
    ("gru_2layer_bi_state", "GRU", 3, 4, dict(num_layers=2, bidirectional=True), 5, 2, True),
    ("gru_1layer_nobias_unbatched", "GRU", 3, 4, dict(bias=False), 4, None, True),
]


def case(name, kind, hin, hid, opts, L, N, with_state):
    cls = torch.nn.LSTM if kind == "LSTM" else torch.nn.GRU
    m = cls(hin, hid, **opts).double()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.rand(p.shape, generator=gen, dtype=torch.float64).mul(2 / hid ** 0.5).sub(1 / hid ** 0.5).float().double())
    D = 2 if opts.get("bidirectional") else 1
    nl = opts.get("num_layers", 1)
    if N is None:
        x, sshape = rnd(L, hin), (nl * D, hid)
    elif opts.get("batch_first"):
        x, sshape = rnd(N, L, hin), (nl * D, N, hid)
    else:
        x, sshape = rnd(L, N, hin), (nl * D, N, hid)
    x.requires_grad_(True)
    state, h0, c0 = None, None, None
    if with_state:
        h0 = rnd(*sshape).requires_grad_(True)
        if kind == "LSTM":
            c0 = rnd(*sshape).requires_grad_(True)
            state = (h0, c0)
        else:
            state = h0
    out, st = m(x, state)
    h_n, c_n = (st if kind == "LSTM" else (st, None))
    gout, gh = rnd(*out.shape), rnd(*h_n.shape)
    loss = (out * gout).sum() + (h_n * gh).sum()
    gc = None
    if c_n is not None:
        gc = rnd(*c_n.shape)
        loss = loss + (c_n * gc).sum()
    loss.backward()
    params = [(n, p) for n, p in m.named_parameters()]
    grads = {"input": x.grad}
    if h0 is not None:
        grads["h0"] = h0.grad
    if c0 is not None:
        grads["c0"] = c0.grad
    for n, p in params:
        grads[n] = p.grad
    d = {
        "name": name, "kind": kind, "input_size": hin, "hidden_size": hid, "opts": opts,
        "param_names": [n for n, _ in params], "params": {n: p for n, p in params},
        "input": x, "h0": h0, "c0": c0, "gout": gout, "gh": gh, "gc": gc,
        "output": out, "h_n": h_n, "c_n": c_n, "grads": grads,
    }
    return "{" + ", ".join("%s = %s" % (k, lua(v)) for k, v in d.items() if v is not None) + "}"


with open(os.path.join(OUT, "rnn.lua"), "w") as f:
    f.write("-- written by spec/parity/gen_rnn.py (torch %s); do not edit\nreturn {\n" % torch.__version__)
    for c in CASES:
        f.write(case(*c) + ",\n")
    f.write("}\n")
