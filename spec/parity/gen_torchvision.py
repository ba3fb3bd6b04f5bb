#!/usr/bin/python3
"""gen_torchvision.py OUTDIR: for each model of the zoo that torchvision has, writes
OUTDIR/<model>.safetensors (weights converted by scripts/torch2safetensors.py) and
OUTDIR/<model>_io.safetensors (an input and torchvision's eval-mode output). Run by
`make test-torch`; spec/parity/torchvision_parity_spec.lua compares cnn's outputs."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import torch2safetensors as t2s  # noqa: E402

torch.set_num_threads(2)
# (model, input size): small inputs keep the run short; every model accepts them
MODELS = [("alexnet", 63), ("vgg11", 32), ("vgg11_bn", 32), ("vgg16_bn", 32), ("resnet18", 64),
          ("resnet34", 32), ("resnet50", 64), ("googlenet", 64), ("inception_v3", 75)]

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for i, (name, size) in enumerate(MODELS):
    m = t2s.torchvision_model(name, seed=i, num_classes=10)
    # BatchNorm running statistics that are not 0 and 1, so that eval mode is really tested
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 1.5)
    t2s.write_safetensors(t2s.convert(m.state_dict()), os.path.join(out, name + ".safetensors"))
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        y = m(x)
    t2s.write_safetensors({"input": x, "output": y}, os.path.join(out, name + "_io.safetensors"))
    print("gen_torchvision: %s" % name)
