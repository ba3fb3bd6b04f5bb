#!/usr/bin/python3
"""gen_linalg.py: writes the PyTorch parity fixtures of cnn.linalg to fixtures/linalg.lua. Run by
hand with Debian's python (it has torch): /usr/bin/python3 spec/parity/gen_linalg.py. `make test`
only reads the committed fixture (linalg_parity_spec.lua).

Each case: inputs (made in float64 and rounded to float32, so both runs see the same values), the
op's outputs in a sign-free form (eigenvectors and singular vectors are defined up to sign) and,
for the differentiable ops, the gradients of sum(out_i * gout_i) over the outputs, computed by
PyTorch in float64 and in float32."""
import os
import torch
from luafmt import f32exact, lua, tens, write_fixture

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
gen = torch.Generator().manual_seed(20261130)


def randn(*shape):
    return f32exact(torch.randn(shape, generator=gen, dtype=torch.float64))


def wellcond(*shape):
    n = shape[-1]
    return f32exact(torch.randn(shape, generator=gen, dtype=torch.float64) + n * torch.eye(n, dtype=torch.float64))


def spd(*shape):
    n = shape[-1]
    x = torch.randn(shape, generator=gen, dtype=torch.float64)
    return f32exact(x @ x.mT + n * torch.eye(n, dtype=torch.float64))


def colsign(v):
    """v with each column's sign fixed so that its first row is >= 0"""
    return v * torch.sign(v[..., :1, :])


# op name -> (function of the inputs returning a list of outputs, differentiable)
OPS = {
    "solve": (lambda a, b: [torch.linalg.solve(a, b)], True),
    "cholesky": (lambda a: [torch.linalg.cholesky(a)], True),
    "cholesky_solve": (lambda b, l: [torch.cholesky_solve(b, l)], True),
    "inv": (lambda a: [torch.linalg.inv(a)], True),
    "slogdet": (lambda a: list(torch.linalg.slogdet(a)), True),
    "eigh": (lambda a: (lambda w, v: [w, colsign(v)])(*torch.linalg.eigh(a)), True),
    "svd": (lambda a: (lambda u, s, vh: [u.abs(), s, vh.abs()])(*torch.linalg.svd(a, full_matrices=False)), True),
    "svd_full": (lambda a: (lambda u, s, vh: [u.abs(), s, vh.abs()])(*torch.linalg.svd(a, full_matrices=True)), True),
    "qr": (lambda a: list(torch.linalg.qr(a)), True),
    "lstsq": (lambda a, b: [torch.linalg.lstsq(a, b, driver="gels").solution], True),
}


def case(name, op, values):
    fn, diff = OPS[op]
    gouts = None
    res = {}
    for key, dt in (("f64", torch.float64), ("f32", torch.float32)):
        xs = [v.to(dt).clone().requires_grad_(diff) for v in values]
        outs = fn(*xs)
        if gouts is None:
            gouts = [f32exact(torch.randn(o.shape, generator=gen, dtype=torch.float64)) for o in outs]
        grads = "false"
        if diff:
            loss = sum((o * g.to(dt)).sum() for o, g in zip(outs, gouts) if o.requires_grad)
            gs = torch.autograd.grad(loss, xs)
            if op == "cholesky_solve":      # cnn keeps L's gradient to the triangle that is read
                gs = (gs[0], gs[1].tril())
            grads = "{%s}" % ", ".join(tens(g) for g in gs)
        res[key] = "{outs = {%s}, grads = %s}" % (", ".join(tens(o) for o in outs), grads)
    return "  {name = %s, op = %s,\n   inputs = {%s},\n   gouts = {%s},\n   f64 = %s,\n   f32 = %s},\n" % (
        lua(name), lua(op), ", ".join(tens(v) for v in values), ", ".join(tens(g) for g in gouts), res["f64"], res["f32"])


def main():
    c = []
    c.append(case("solve matrix", "solve", [wellcond(4, 4), randn(4, 3)]))
    c.append(case("solve batched vector", "solve", [wellcond(2, 3, 3), randn(2, 3)]))
    c.append(case("solve broadcast", "solve", [wellcond(2, 1, 3, 3), randn(3, 3, 2)]))
    c.append(case("cholesky batched", "cholesky", [spd(2, 4, 4)]))
    l = torch.linalg.cholesky(spd(2, 3, 3))
    c.append(case("cholesky_solve batched", "cholesky_solve", [randn(2, 3, 2), f32exact(l)]))
    c.append(case("inv batched", "inv", [wellcond(3, 3, 3)]))
    neg = wellcond(2, 4, 4)
    neg[1] = neg[1][[1, 0, 2, 3]]                          # a row swap: negative determinant
    c.append(case("slogdet batched, both signs", "slogdet", [neg]))
    c.append(case("eigh batched", "eigh", [spd(2, 4, 4)]))
    c.append(case("svd reduced wide", "svd", [randn(2, 3, 5)]))
    c.append(case("svd full tall", "svd_full", [randn(4, 3)]))
    c.append(case("qr tall batched", "qr", [randn(2, 5, 3)]))
    c.append(case("qr square", "qr", [randn(3, 3)]))
    c.append(case("qr wide", "qr", [randn(3, 5)]))
    c.append(case("lstsq tall batched", "lstsq", [randn(2, 6, 3), randn(2, 6, 2)]))
    c.append(case("lstsq wide", "lstsq", [randn(3, 5), randn(3, 2)]))
    write_fixture(OUT, "linalg.lua", "gen_linalg.py", c)


main()
