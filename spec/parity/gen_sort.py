#!/usr/bin/python3
"""gen_sort.py: writes the PyTorch parity fixtures of sorting and gathering (sort, topk, gather,
scatter_add, cumsum, cumprod, flip, roll, unique, nonzero, searchsorted) to fixtures/sort.lua. Run
by hand with Debian's python (it has torch): /usr/bin/python3 spec/parity/gen_sort.py. `make test`
only reads the committed fixture (sort_parity_spec.lua).

Each case: the op, its arguments as cnn takes them (1-based dims and indices), inputs (made in
float64 and rounded to float32, so both runs see the same values), PyTorch's outputs (indices made
1-based) and, for the differentiable ops, the gradients of sum(out_i * gout_i) over the float
outputs, computed by PyTorch in float64 and in float32."""
import os
import torch
from luafmt import f32exact, lua, tens, write_fixture

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
gen = torch.Generator().manual_seed(20261130)


def randn(*shape):
    return f32exact(torch.randn(shape, generator=gen, dtype=torch.float64))


def pd(d):
    """a cnn (1-based) dim as PyTorch's"""
    return d - 1 if d > 0 else d


def ix(a):
    """1-based index lists as a 0-based int64 tensor"""
    return torch.tensor(a, dtype=torch.int64) - 1


# op name -> (function of (inputs, args) returning a list of outputs, differentiable)
OPS = {
    "sort": (lambda xs, a: (lambda v, i: [v, i + 1])(*torch.sort(xs[0], dim=pd(a["dim"]), descending=a["descending"], stable=True)), True),
    "topk": (lambda xs, a: (lambda v, i: [v, i + 1])(*torch.topk(xs[0], a["k"], dim=pd(a["dim"]), largest=a["largest"])), True),
    "gather": (lambda xs, a: [torch.gather(xs[0], pd(a["dim"]), ix(a["index"]))], True),
    "scatter_add": (lambda xs, a: [torch.scatter_add(xs[0], pd(a["dim"]), ix(a["index"]), xs[1])], True),
    "cumsum": (lambda xs, a: [torch.cumsum(xs[0], pd(a["dim"]))], True),
    "cumprod": (lambda xs, a: [torch.cumprod(xs[0], pd(a["dim"]))], True),
    "flip": (lambda xs, a: [torch.flip(xs[0], [pd(d) for d in a["dims"]])], True),
    "roll": (lambda xs, a: [torch.roll(xs[0], a["shifts"], [pd(d) for d in a["dims"]] if "dims" in a else None)], True),
    "unique": (lambda xs, a: (lambda v, i, c: [v, i + 1, c])(*torch.unique(xs[0], sorted=True, return_inverse=True, return_counts=True)), False),
    "nonzero": (lambda xs, a: [torch.nonzero(xs[0]) + 1], False),
    "searchsorted": (lambda xs, a: [torch.searchsorted(xs[0], xs[1], right=a["right"]) + 1], False),
}


def case(name, op, values, args):
    fn, diff = OPS[op]
    gouts = None
    res = {}
    for key, dt in (("f64", torch.float64), ("f32", torch.float32)):
        xs = [v.to(dt).clone().requires_grad_(diff) for v in values]
        outs = fn(xs, args)
        if gouts is None:
            gouts = [f32exact(torch.randn(o.shape, generator=gen, dtype=torch.float64)) for o in outs]
        grads = "false"
        if diff:
            loss = sum((o * g.to(dt)).sum() for o, g in zip(outs, gouts) if o.requires_grad)
            gs = torch.autograd.grad(loss, xs)
            grads = "{%s}" % ", ".join(tens(g) for g in gs)
        res[key] = "{outs = {%s}, grads = %s}" % (", ".join(tens(o) for o in outs), grads)
    return "  {name = %s, op = %s, args = %s,\n   inputs = {%s},\n   gouts = {%s},\n   f64 = %s,\n   f32 = %s},\n" % (
        lua(name), lua(op), lua(args), ", ".join(tens(v) for v in values), ", ".join(tens(g) for g in gouts),
        res["f64"], res["f32"])


def main():
    c = []
    x35 = randn(3, 5)
    c.append(case("sort rows", "sort", [x35], {"dim": 2, "descending": False}))
    c.append(case("sort columns descending", "sort", [x35], {"dim": 1, "descending": True}))
    ties = f32exact(torch.tensor([[2., 1., 2., 0., 1., 2.], [5., 5., 5., 1., 1., 0.]], dtype=torch.float64))
    c.append(case("sort with ties (stable)", "sort", [ties], {"dim": -1, "descending": False}))
    c.append(case("sort with ties descending (stable)", "sort", [ties], {"dim": 2, "descending": True}))
    nan = torch.tensor([3., float("nan"), -1., 2., float("nan"), 0.], dtype=torch.float64)
    c.append(case("sort with NaN", "sort", [nan], {"dim": 1, "descending": False}))
    c.append(case("sort with NaN descending", "sort", [nan], {"dim": 1, "descending": True}))
    c.append(case("sort 3-D middle dim", "sort", [randn(2, 4, 3)], {"dim": 2, "descending": False}))
    x46 = randn(4, 6)
    c.append(case("topk largest rows", "topk", [x46], {"k": 3, "dim": -1, "largest": True}))
    c.append(case("topk smallest columns", "topk", [x46], {"k": 2, "dim": 1, "largest": False}))
    c.append(case("topk k = n", "topk", [randn(2, 70)], {"k": 70, "dim": 2, "largest": True}))
    c.append(case("topk of 100 per row", "topk", [randn(3, 100)], {"k": 10, "dim": 2, "largest": True}))
    c.append(case("gather dim 1", "gather", [randn(3, 4)], {"dim": 1, "index": [[3, 1, 2, 3], [1, 1, 3, 2]]}))
    c.append(case("gather dim 2, smaller index", "gather", [randn(3, 4)], {"dim": 2, "index": [[4, 4], [1, 2]]}))
    c.append(case("gather 3-D", "gather", [randn(2, 3, 2)], {"dim": 3, "index": [[[2], [1], [2]], [[1], [1], [2]]]}))
    c.append(case("scatter_add dim 1, repeated indices", "scatter_add", [randn(3, 4), randn(2, 4)],
                  {"dim": 1, "index": [[1, 3, 3, 2], [1, 1, 3, 2]]}))
    c.append(case("scatter_add dim 2", "scatter_add", [randn(2, 3), randn(2, 2)], {"dim": 2, "index": [[3, 3], [1, 2]]}))
    c.append(case("cumsum rows", "cumsum", [randn(3, 5)], {"dim": 2}))
    c.append(case("cumsum columns", "cumsum", [randn(4, 3)], {"dim": 1}))
    c.append(case("cumprod rows", "cumprod", [randn(3, 5)], {"dim": -1}))
    z = randn(3, 5)
    z[0, 1] = 0
    z[1, 0] = 0
    z[1, 3] = 0
    z[2, 4] = 0
    c.append(case("cumprod with zeros", "cumprod", [z], {"dim": 2}))
    c.append(case("cumprod columns with zeros", "cumprod", [z], {"dim": 1}))
    c.append(case("flip both dims", "flip", [randn(3, 4)], {"dims": [1, 2]}))
    c.append(case("flip last dim of 3-D", "flip", [randn(2, 3, 4)], {"dims": [-1]}))
    c.append(case("roll two dims", "roll", [randn(3, 4)], {"shifts": [1, -2], "dims": [1, 2]}))
    c.append(case("roll flattened", "roll", [randn(3, 4)], {"shifts": [5]}))
    c.append(case("roll by more than the size", "roll", [randn(2, 5)], {"shifts": [7], "dims": [2]}))
    u = f32exact(torch.tensor([[3., 1., 3.], [2., 1., -4.], [3., 0.5, 2.]], dtype=torch.float64))
    c.append(case("unique with inverse and counts", "unique", [u], {}))
    nz = randn(3, 4) * (torch.rand(3, 4, generator=gen) > 0.5)
    c.append(case("nonzero", "nonzero", [nz], {}))
    seq = f32exact(torch.sort(torch.randn(10, generator=gen, dtype=torch.float64)).values)
    vals = randn(2, 4)
    vals[0, 0] = seq[3]
    c.append(case("searchsorted left", "searchsorted", [seq, vals], {"right": False}))
    c.append(case("searchsorted right", "searchsorted", [seq, vals], {"right": True}))
    bseq = f32exact(torch.sort(torch.randn(3, 6, generator=gen, dtype=torch.float64), dim=1).values)
    c.append(case("searchsorted batched", "searchsorted", [bseq, randn(3, 2)], {"right": False}))
    # long lines (cnn's radix sort): ties, NaN, -0.0 and infinities
    long = torch.randint(-5, 5, (2, 700), generator=gen).double()
    long[:, ::9] = float("nan")
    long[:, 3::11] = -0.0
    long[0, 5::13] = float("inf")
    long[1, 6::17] = -float("inf")
    c.append(case("sort long rows with ties and NaN", "sort", [long], {"dim": 2, "descending": False}))
    c.append(case("sort long rows with ties and NaN descending", "sort", [long], {"dim": 2, "descending": True}))
    c.append(case("sort long columns", "sort", [randn(600, 2)], {"dim": 1, "descending": False}))
    write_fixture(OUT, "sort.lua", "gen_sort.py", c)


main()
