#!/usr/bin/python3
"""gen_ops.py: writes the PyTorch parity fixtures of the core's tensor ops and the functional
ops (activations, losses, batch_norm, linear, pad) to fixtures/ops_*.lua. Run by hand with
Debian's python (it has torch): /usr/bin/python3 spec/parity/gen_ops.py. `make test` only reads
the committed fixtures (ops_parity_spec.lua). Conv/pool fixtures come from gen_conv.py.

Each case: inputs (values as float64, made once and rounded to float32 for the float32 run),
the output and the gradient of sum(out * gout) for every input that needs one, computed by
PyTorch in float64 and in float32. Class labels are written 1-based."""
import os
import torch
import torch.nn.functional as F
from luafmt import lua, num, tens, write_fixture

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
gen = torch.Generator().manual_seed(20240611)


def make_input(spec):
    shape, kind = spec["shape"], spec.get("kind", "randn")
    if kind == "randn":
        v = torch.randn(shape, generator=gen, dtype=torch.float64)
    elif kind == "pos":           # away from 0: log, sqrt, div, pow bases
        v = torch.rand(shape, generator=gen, dtype=torch.float64) * 2 + 0.5
    elif kind == "prob":          # inside (0,1) for binary_cross_entropy
        v = torch.rand(shape, generator=gen, dtype=torch.float64) * 0.9 + 0.05
    elif kind == "label01":
        v = (torch.rand(shape, generator=gen) < 0.5).double()
    elif kind == "sign":
        v = (torch.rand(shape, generator=gen) < 0.5).double() * 2 - 1
    elif kind == "index":         # 0-based classes here, 1-based in the fixture
        v = torch.randint(0, spec["classes"], shape, generator=gen).double()
        if "ignore" in spec:
            v[tuple(0 for _ in shape)] = spec["ignore"]
    elif kind == "mask":
        v = (torch.rand(shape, generator=gen) < 0.5).double()
    elif kind == "values":
        v = torch.tensor(spec["values"], dtype=torch.float64).reshape(shape)
    else:
        raise ValueError(kind)
    # keep randn values away from the kinks of relu-like functions and from ties
    if kind == "randn" and spec.get("away", True):
        v = torch.where(v.abs() < 1e-3, v + 0.01, v)
    return v.to(torch.float32).double() if spec.get("f32exact", True) else v


def run(fn, specs, values, dtype):
    leaves, xs = [], []
    for s, v in zip(specs, values):
        kind = s.get("kind", "randn")
        if kind == "index":
            t = v.long()
        elif kind == "mask":
            t = v.bool()
        else:
            t = v.to(dtype).clone().requires_grad_(s.get("grad", True))
        leaves.append(t)
        if "transpose" in s:
            d0, d1 = s["transpose"]
            t = t.transpose(d0 - 1, d1 - 1)
        xs.append(t)
    out = fn(*xs)
    return leaves, out


def case(name, op, specs, fn, args=None):
    values = [make_input(s) for s in specs]
    gout = None
    res = {}
    for key, dt in (("f64", torch.float64), ("f32", torch.float32)):
        leaves, out = run(fn, specs, values, dt)
        if gout is None:
            gout = torch.randn(out.shape, generator=gen, dtype=torch.float64).to(torch.float32).double()
        grads = []
        if out.requires_grad:
            out.backward(gout.to(dt))
        for s, t in zip(specs, leaves):
            grads.append(tens(t.grad) if t.is_floating_point() and s.get("grad", True) and t.grad is not None else "false")
        res[key] = "{out = %s, grads = {%s}}" % (tens(out), ", ".join(grads))
    ins = []
    for s, v in zip(specs, values):
        kind = s.get("kind", "randn")
        data = v + 1 if kind == "index" else v
        if kind == "index" and "ignore" in s:
            data = torch.where(v == s["ignore"], v, v + 1)
        fields = ["shape = %s" % lua(list(v.shape)), "data = {%s}" % ", ".join(num(x) for x in data.reshape(-1).tolist())]
        fields.append("grad = %s" % lua(kind not in ("index", "mask", "label01", "sign") and s.get("grad", True)))
        if "transpose" in s:
            fields.append("transpose = %s" % lua(list(s["transpose"])))
        ins.append("{" + ", ".join(fields) + "}")
    return "  {name = %s, op = %s, args = %s,\n   inputs = {%s},\n   gout = %s,\n   f64 = %s,\n   f32 = %s},\n" % (
        lua(name), lua(op), lua(args or {}), ", ".join(ins), tens(gout), res["f64"], res["f32"])


def write(fname, cases):
    write_fixture(OUT, fname, "gen_ops.py", cases)


R = lambda *shape, **kw: dict(shape=list(shape), **kw)


def core_cases():
    c = []
    c.append(case("add broadcast", "add", [R(3, 1, 4), R(2, 4)], lambda a, b: a + b))
    c.append(case("sub broadcast transposed", "sub", [R(4, 3, transpose=(1, 2)), R(4)], lambda a, b: a - b))
    c.append(case("mul broadcast", "mul", [R(2, 3, 1), R(1, 5)], lambda a, b: a * b))
    c.append(case("div", "div", [R(3, 4), R(4, kind="pos")], lambda a, b: a / b))
    c.append(case("pow tensor", "pow", [R(2, 3, kind="pos"), R(3)], lambda a, b: a ** b))
    c.append(case("pow scalar", "pow_scalar", [R(5, kind="pos")], lambda a: a ** 2.5, {"p": 2.5}))
    c.append(case("add scalar", "add_scalar", [R(2, 3)], lambda a: a + 1.5, {"s": 1.5}))
    c.append(case("matmul 2-D", "matmul", [R(3, 5), R(5, 4)], lambda a, b: a @ b))
    c.append(case("matmul transposed", "matmul", [R(5, 3, transpose=(1, 2)), R(4, 5, transpose=(1, 2))], lambda a, b: a @ b))
    c.append(case("matmul batched broadcast", "matmul", [R(2, 1, 3, 4), R(3, 4, 2)], lambda a, b: a @ b))
    c.append(case("matmul vector", "matmul", [R(4), R(2, 4, 3)], lambda a, b: a @ b))
    c.append(case("sum all", "sum", [R(3, 4)], lambda a: a.sum()))
    c.append(case("sum dim keepdim", "sum", [R(3, 4, 2)], lambda a: a.sum(1, keepdim=True), {"dim": 2, "keepdim": True}))
    c.append(case("mean dim", "mean", [R(3, 4, 2, transpose=(1, 3))], lambda a: a.mean(-1), {"dim": -1}))
    c.append(case("max dim", "max", [R(4, 5)], lambda a: a.max(1)[0], {"dim": 2}))
    c.append(case("min dim", "min", [R(4, 5)], lambda a: a.min(0)[0], {"dim": 1}))
    c.append(case("var dim", "var", [R(3, 6)], lambda a: a.var(1), {"dim": 2}))
    c.append(case("var all biased", "var", [R(3, 6)], lambda a: a.var(unbiased=False), {"unbiased": False}))
    c.append(case("view chain", "views", [R(2, 3, 4)], lambda a: a.permute(2, 0, 1).reshape(4, 6).narrow(1, 1, 4).t()))
    c.append(case("select squeeze unsqueeze", "select", [R(3, 1, 4)], lambda a: a.select(2, 1).squeeze(1).unsqueeze(0)))
    c.append(case("expand", "expand", [R(3, 1)], lambda a: a.expand(2, 3, 4) * 1.0))
    c.append(case("cat", "cat", [R(2, 3), R(2, 1), R(2, 2, transpose=(1, 2))], lambda a, b, d: torch.cat([a, b, d], 1), {"dim": 2}))
    c.append(case("stack", "stack", [R(2, 3), R(2, 3)], lambda a, b: torch.stack([a, b], 2), {"dim": 3}))
    c.append(case("index_select", "index_select", [R(5, 3)], lambda a: a.index_select(0, torch.tensor([4, 0, 4, 2])),
                  {"dim": 1, "index": [5, 1, 5, 3]}))
    c.append(case("where", "where", [R(3, 4, kind="mask"), R(3, 4), R(4)], lambda m, a, b: torch.where(m, a, b)))
    for f in ("exp", "tanh", "sigmoid", "relu", "abs", "neg"):
        c.append(case(f, f, [R(3, 5)], getattr(torch, f)))
    for f in ("log", "sqrt"):
        c.append(case(f, f, [R(3, 5, kind="pos")], getattr(torch, f)))
    c.append(case("clamp", "clamp", [R(4, 5)], lambda a: a.clamp(-0.5, 0.7), {"min": -0.5, "max": 0.7}))
    return c


def act_cases():
    c = []
    c.append(case("leaky_relu", "leaky_relu", [R(4, 5)], lambda x: F.leaky_relu(x, 0.2), {"a": 0.2}))
    c.append(case("leaky_relu default", "leaky_relu", [R(3, 4, transpose=(1, 2))], lambda x: F.leaky_relu(x)))
    c.append(case("rrelu eval", "rrelu", [R(4, 5)], lambda x: F.rrelu(x, 0.1, 0.3, False), {"a": 0.1, "b": 0.3}))
    c.append(case("prelu shared", "prelu", [R(2, 3, 4), R(1, kind="pos")], lambda x, w: F.prelu(x, w)))
    c.append(case("prelu channels", "prelu", [R(2, 3, 2, 2), R(3, kind="pos")], lambda x, w: F.prelu(x, w)))
    c.append(case("elu", "elu", [R(4, 5)], lambda x: F.elu(x, 0.7), {"a": 0.7}))
    c.append(case("selu", "selu", [R(4, 5)], F.selu))
    c.append(case("hardtanh", "hardtanh", [R(4, 5)], lambda x: F.hardtanh(x, -0.8, 0.6), {"a": -0.8, "b": 0.6}))
    c.append(case("softsign", "softsign", [R(4, 5)], F.softsign))
    c.append(case("softplus", "softplus", [R(4, 5)], F.softplus))
    c.append(case("softplus beta threshold", "softplus", [R(4, 5)], lambda x: F.softplus(x, 2, 1.5), {"a": 2, "b": 1.5}))
    c.append(case("softmax dim 2", "softmax", [R(3, 5)], lambda x: F.softmax(x, 1), {"dim": 2}))
    c.append(case("softmax dim 1 of 3-D", "softmax", [R(4, 3, 2, transpose=(1, 3))], lambda x: F.softmax(x, 0), {"dim": 1}))
    c.append(case("log_softmax", "log_softmax", [R(3, 7)], lambda x: F.log_softmax(x, 1), {"dim": 2}))
    c.append(case("log_softmax large", "log_softmax", [R(2, 4, kind="values", values=[1000, 1001, 999, -5, 0, -800, 3, 2])],
                  lambda x: F.log_softmax(x, -1), {"dim": -1}))
    c.append(case("sigmoid", "sigmoid", [R(6)], torch.sigmoid))
    return c


def act_cases_more():
    """Activations added later (issue 17). Generated after every other file so that the shared
    generator gives the earlier cases the same inputs as before; written at the end of ops_act.lua."""
    c = []
    c.append(case("gelu", "gelu", [R(4, 5)], F.gelu))
    c.append(case("gelu tanh", "gelu", [R(3, 4, transpose=(1, 2))], lambda x: F.gelu(x, approximate="tanh"),
                  {"approximate": "tanh"}))
    c.append(case("gelu wide", "gelu", [R(8, kind="values", values=[-30, -6, -2.5, -1e-4, 1e-4, 2.5, 6, 30])], F.gelu))
    c.append(case("gelu tanh wide", "gelu", [R(8, kind="values", values=[-30, -6, -2.5, -1e-4, 1e-4, 2.5, 6, 30])],
                  lambda x: F.gelu(x, approximate="tanh"), {"approximate": "tanh"}))
    c.append(case("silu", "silu", [R(4, 5)], F.silu))
    c.append(case("silu wide", "silu", [R(6, kind="values", values=[-100, -20, -1e-4, 1e-4, 20, 100])], F.silu))
    c.append(case("mish", "mish", [R(2, 3, 4, transpose=(1, 3))], F.mish))
    c.append(case("mish wide", "mish", [R(6, kind="values", values=[-100, -20, -1e-4, 1e-4, 20, 100])], F.mish))
    return c


def loss_cases():
    c = []
    for red in ("mean", "sum", "none"):
        o = {"reduction": red}
        c.append(case("mse " + red, "mse_loss", [R(3, 4), R(3, 4)], lambda x, y, r=red: F.mse_loss(x, y, reduction=r), o))
        c.append(case("l1 " + red, "l1_loss", [R(3, 4), R(3, 4)], lambda x, y, r=red: F.l1_loss(x, y, reduction=r), o))
        c.append(case("cross_entropy " + red, "cross_entropy", [R(4, 5), R(4, kind="index", classes=5)],
                      lambda x, t, r=red: F.cross_entropy(x, t, reduction=r), o))
        c.append(case("bce " + red, "binary_cross_entropy", [R(2, 5, kind="prob"), R(2, 5, kind="label01")],
                      lambda p, y, r=red: F.binary_cross_entropy(p, y, reduction=r), o))
        c.append(case("bce_logits " + red, "binary_cross_entropy_with_logits", [R(2, 5), R(2, 5, kind="label01")],
                      lambda z, y, r=red: F.binary_cross_entropy_with_logits(z, y, reduction=r), o))
        c.append(case("multi_margin " + red, "multi_margin_loss", [R(4, 5), R(4, kind="index", classes=5)],
                      lambda x, t, r=red: F.multi_margin_loss(x, t, reduction=r), o))
        c.append(case("hinge_embedding " + red, "hinge_embedding_loss", [R(3, 4), R(3, 4, kind="sign")],
                      lambda x, y, r=red: F.hinge_embedding_loss(x, y, reduction=r), o))
    c.append(case("huber", "huber_loss", [R(4, 5), R(4, 5)], lambda x, y: F.huber_loss(x, y)))
    c.append(case("huber delta", "huber_loss", [R(4, 5), R(4, 5)], lambda x, y: F.huber_loss(x, y, delta=0.5), {"delta": 0.5}))
    c.append(case("smooth_l1", "smooth_l1_loss", [R(4, 5), R(4, 5)], lambda x, y: F.smooth_l1_loss(x, y)))
    c.append(case("smooth_l1 beta sum", "smooth_l1_loss", [R(4, 5), R(4, 5)],
                  lambda x, y: F.smooth_l1_loss(x, y, beta=0.3, reduction="sum"), {"beta": 0.3, "reduction": "sum"}))
    c.append(case("mse transposed", "mse_loss", [R(4, 3, transpose=(1, 2)), R(3, 4)], lambda x, y: F.mse_loss(x, y)))
    c.append(case("cross_entropy weight", "cross_entropy", [R(6, 4), R(6, kind="index", classes=4), R(4, kind="pos", grad=False)],
                  lambda x, t, w: F.cross_entropy(x, t, weight=w), {"weight": 3}))
    c.append(case("cross_entropy ignore_index", "cross_entropy", [R(5, 3), R(5, kind="index", classes=3, ignore=-100)],
                  lambda x, t: F.cross_entropy(x, t, ignore_index=-100), {"ignore_index": -100}))
    c.append(case("cross_entropy weight ignore sum", "cross_entropy",
                  [R(5, 3), R(5, kind="index", classes=3, ignore=7), R(3, kind="pos", grad=False)],
                  lambda x, t, w: F.cross_entropy(x, t, weight=w, ignore_index=7, reduction="sum"),
                  {"weight": 3, "ignore_index": 7, "reduction": "sum"}))
    c.append(case("cross_entropy spatial", "cross_entropy", [R(2, 3, 2, 2), R(2, 2, 2, kind="index", classes=3)],
                  lambda x, t: F.cross_entropy(x, t)))
    c.append(case("cross_entropy single sample", "cross_entropy", [R(4), R(kind="index", classes=4)],
                  lambda x, t: F.cross_entropy(x, t)))
    c.append(case("nll_loss weight", "nll_loss", [R(6, 4), R(6, kind="index", classes=4), R(4, kind="pos", grad=False)],
                  lambda x, t, w: F.nll_loss(x, t, weight=w), {"weight": 3}))
    c.append(case("bce weight", "binary_cross_entropy", [R(3, 4, kind="prob"), R(3, 4, kind="label01"), R(4, kind="pos", grad=False)],
                  lambda p, y, w: F.binary_cross_entropy(p, y, weight=w), {"weight": 3}))
    c.append(case("bce_logits pos_weight weight", "binary_cross_entropy_with_logits",
                  [R(3, 4), R(3, 4, kind="label01"), R(3, 4, kind="mask", grad=False), R(4, kind="pos", grad=False)],
                  lambda z, y, m, pw: F.binary_cross_entropy_with_logits(z, y, weight=m.double().to(z.dtype), pos_weight=pw),
                  {"weight": 3, "pos_weight": 4}))
    c.append(case("bce_logits large logits", "binary_cross_entropy_with_logits",
                  [R(6, kind="values", values=[-60, -20, -0.5, 0.5, 20, 60]), R(6, kind="values", values=[1, 0, 1, 0, 1, 0], grad=False)],
                  lambda z, y: F.binary_cross_entropy_with_logits(z, y, reduction="none"), {"reduction": "none"}))
    c.append(case("multi_margin p=2 margin weight", "multi_margin_loss",
                  [R(4, 5), R(4, kind="index", classes=5), R(5, kind="pos", grad=False)],
                  lambda x, t, w: F.multi_margin_loss(x, t, p=2, margin=0.7, weight=w), {"p": 2, "margin": 0.7, "weight": 3}))
    c.append(case("hinge_embedding margin", "hinge_embedding_loss", [R(3, 4), R(3, 4, kind="sign")],
                  lambda x, y: F.hinge_embedding_loss(x, y, margin=0.5), {"margin": 0.5}))
    return c


def nn_cases():
    c = []
    c.append(case("linear", "linear", [R(3, 4), R(5, 4), R(5)], F.linear))
    c.append(case("linear no bias 3-D", "linear", [R(2, 3, 4), R(5, 4)], F.linear))
    c.append(case("linear transposed weight", "linear", [R(3, 4), R(4, 2, transpose=(1, 2)), R(2)], F.linear))
    for shape in ((5, 3), (4, 3, 5), (3, 2, 3, 2)):
        C = shape[1]
        for tr in (True, False):
            name = "batch_norm %dd %s" % (len(shape), "train" if tr else "eval")
            specs = [R(*shape), R(C, grad=False), R(C, kind="pos", grad=False), R(C, kind="pos"), R(C)]

            def fn(x, rm, rv, w, b, tr=tr):
                return F.batch_norm(x, rm.detach().clone(), rv.detach().clone(), w, b, training=tr, momentum=0.2, eps=1e-3)
            c.append(case(name, "batch_norm", specs, fn, {"training": tr, "momentum": 0.2, "eps": 1e-3}))
    c.append(case("batch_norm no affine", "batch_norm", [R(6, 2)],
                  lambda x: F.batch_norm(x, None, None, training=True), {"training": True, "no_stats": True}))
    c.append(case("pad constant", "pad", [R(2, 3)], lambda x: F.pad(x, (1, 2, 0, 1), value=0.5),
                  {"pads": [1, 2, 0, 1], "value": 0.5}))
    c.append(case("pad constant negative", "pad", [R(2, 5)], lambda x: F.pad(x, (-1, 2)), {"pads": [-1, 2]}))
    c.append(case("pad reflect 2-D", "pad", [R(1, 2, 3, 4)], lambda x: F.pad(x, (2, 1, 1, 2), mode="reflect"),
                  {"pads": [2, 1, 1, 2], "mode": "reflect"}))
    c.append(case("pad replicate", "pad", [R(1, 2, 3, 3)], lambda x: F.pad(x, (2, 0, 1, 3), mode="replicate"),
                  {"pads": [2, 0, 1, 3], "mode": "replicate"}))
    c.append(case("pad circular 1-D", "pad", [R(2, 2, 4)], lambda x: F.pad(x, (3, 1), mode="circular"),
                  {"pads": [3, 1], "mode": "circular"}))
    c.append(case("pad reflect transposed", "pad", [R(1, 4, 3, transpose=(2, 3))], lambda x: F.pad(x, (1, 1), mode="reflect"),
                  {"pads": [1, 1], "mode": "reflect"}))
    c.append(case("flatten", "flatten", [R(2, 3, 4)], lambda x: torch.flatten(x, 1) * 1.0, {"start": 2}))
    return c


def nn_cases_more():
    """Norms added later (issue 17), generated after act_cases_more and written at the end of
    ops_nn.lua, so that every earlier case keeps its inputs."""
    c = []
    c.append(case("layer_norm last dim", "layer_norm", [R(4, 5), R(5), R(5)],
                  lambda x, w, b: F.layer_norm(x, (5,), w, b), {"shape": [5]}))
    c.append(case("layer_norm 2 dims eps", "layer_norm", [R(3, 2, 4), R(2, 4), R(2, 4)],
                  lambda x, w, b: F.layer_norm(x, (2, 4), w, b, eps=1e-3), {"shape": [2, 4], "eps": 1e-3}))
    c.append(case("layer_norm no affine transposed", "layer_norm", [R(4, 3, 2, transpose=(1, 3))],
                  lambda x: F.layer_norm(x, (3, 4)), {"shape": [3, 4]}))
    c.append(case("group_norm 4-D", "group_norm", [R(2, 6, 3, 2), R(6), R(6)],
                  lambda x, w, b: F.group_norm(x, 3, w, b), {"groups": 3}))
    c.append(case("group_norm 3-D eps", "group_norm", [R(3, 4, 5), R(4), R(4)],
                  lambda x, w, b: F.group_norm(x, 2, w, b, eps=1e-3), {"groups": 2, "eps": 1e-3}))
    c.append(case("group_norm 2-D one group no affine", "group_norm", [R(3, 4)],
                  lambda x: F.group_norm(x, 1), {"groups": 1}))
    c.append(case("group_norm instance", "group_norm", [R(2, 3, 2, 2, transpose=(3, 4)), R(3)],
                  lambda x, w: F.group_norm(x, 3, w), {"groups": 3}))
    return c


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    core, act, loss, nn = core_cases(), act_cases(), loss_cases(), nn_cases()
    act += act_cases_more()   # after the others: their inputs stay as they were
    nn += nn_cases_more()     # after those
    write("ops_core.lua", core)
    write("ops_act.lua", act)
    write("ops_loss.lua", loss)
    write("ops_nn.lua", nn)
