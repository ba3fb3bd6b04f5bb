#!/usr/bin/python3
"""gen_image.py: writes the PyTorch parity fixtures of cnn.image.resize to fixtures/image.lua.
Run by hand with Debian's python (it has torch): /usr/bin/python3 spec/parity/gen_image.py.
`make test` only reads the committed fixture (image_parity_spec.lua).

Each case: an input image (C,H,W) made in float64 and rounded to float32, the output size, and
torch.nn.functional.interpolate(x[None], size, mode="bilinear", align_corners=False,
antialias=...) computed in float64 and in float32."""
import os
import torch
import torch.nn.functional as F
from luafmt import lua

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
gen = torch.Generator().manual_seed(20261130)

# (C, H, W) -> (OH, OW), antialias
CASES = [
    ((3, 20, 30), (7, 11), True),        # both axes shrink by non-integer factors
    ((1, 16, 16), (8, 8), True),         # factor 2
    ((1, 16, 16), (5, 5), True),         # factor 3.2
    ((1, 48, 40), (3, 4), True),         # large factors: wide filters
    ((2, 9, 13), (4, 20), True),         # one axis shrinks, the other grows
    ((1, 10, 12), (10, 5), True),        # only W changes
    ((1, 12, 7), (5, 7), True),          # only H changes
    ((3, 5, 6), (11, 13), True),         # upsampling: the plain bilinear
    ((3, 20, 30), (7, 11), False),       # the same shrink without antialias
    ((1, 7, 5), (3, 2), False),
]


def case(shape, size, aa):
    x = torch.rand(shape, generator=gen, dtype=torch.float64).float().double()
    out = {}
    for name, dt in (("f64", torch.float64), ("f32", torch.float32)):
        y = F.interpolate(x.to(dt)[None], size=size, mode="bilinear", align_corners=False, antialias=aa)[0]
        out[name] = y.double()
    return {"input": x, "size": list(size), "antialias": aa, "f64": out["f64"], "f32": out["f32"]}


with open(os.path.join(OUT, "image.lua"), "w") as f:
    f.write("-- written by gen_image.py (torch %s): cnn.image.resize against F.interpolate(bilinear)\n" % torch.__version__)
    f.write("return {\n")
    for shape, size, aa in CASES:
        f.write("  %s,\n" % lua(case(shape, size, aa)))
    f.write("}\n")
