#!/usr/bin/python3
"""torch2safetensors.py: converts a PyTorch state_dict (.pt/.pth) to a safetensors file that
cnn.load reads and the zoo's models accept (model:load_state_dict(cnn.load(path))).

Names are mapped to the zoo's: list indices become 1-based (features.0.weight -> features.1.weight,
layer1.0.conv1.weight -> layer1.1.conv1.weight), num_batches_tracked buffers are dropped, and
--rename OLD=NEW replaces a name prefix (e.g. --rename classif=last_linear). Floating tensors are
written as F32 (or F64 with --double); other tensors are skipped with a note.

  /usr/bin/python3 scripts/torch2safetensors.py inception_v3_google.pth inception_v3.safetensors
  /usr/bin/python3 scripts/torch2safetensors.py --torchvision resnet18 --seed 0 resnet18.safetensors

--torchvision NAME exports a freshly built torchvision model (random weights, no download): the
parity spec uses it. Needs only torch (and torchvision for --torchvision), not the safetensors package."""
import argparse
import json
import os
import struct
import sys
import tempfile

import torch


def zoo_name(name, renames):
    for old, new in renames:
        if name == old or name.startswith(old + "."):
            name = new + name[len(old):]
    return ".".join(str(int(p) + 1) if p.isdigit() else p for p in name.split("."))


def unwrap(obj):
    """a state_dict from a checkpoint: a Module, a dict holding 'state_dict'/'model', or the dict itself"""
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if key in obj and isinstance(obj[key], (dict, torch.nn.Module)):
                return unwrap(obj[key])
        return obj
    raise SystemExit("torch2safetensors: no state_dict found in the file (got %s)" % type(obj).__name__)


def convert(state_dict, renames=(), double=False, log=sys.stderr):
    """name -> contiguous float tensor, with the zoo's names"""
    out = {}
    for name, t in state_dict.items():
        if name.endswith("num_batches_tracked"):
            continue
        if not torch.is_tensor(t) or not t.is_floating_point():
            print("torch2safetensors: skipping %s (%s)" % (name, getattr(t, "dtype", type(t).__name__)), file=log)
            continue
        new = zoo_name(name, renames)
        if new in out:
            raise SystemExit("torch2safetensors: two tensors map to %s" % new)
        out[new] = t.detach().to(torch.float64 if double else torch.float32).contiguous().cpu()
    return out


def write_safetensors(tensors, path, metadata=None):
    """the safetensors layout, written to a temporary file and renamed over path"""
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        t = tensors[name]
        data = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": {torch.float32: "F32", torch.float64: "F64"}[t.dtype],
                        "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".torch2safetensors-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(h)))
            f.write(h)
            for b in blobs:
                f.write(b)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def torchvision_model(name, seed, **kwargs):
    import torchvision
    torch.manual_seed(seed)
    if name in ("googlenet", "inception_v3"):
        kwargs.setdefault("aux_logits", False)
        kwargs.setdefault("init_weights", True)
    return getattr(torchvision.models, name)(**kwargs).eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", nargs="?", help=".pt/.pth file holding a state_dict (or a module / checkpoint)")
    ap.add_argument("output", help="the .safetensors file to write")
    ap.add_argument("--rename", action="append", default=[], metavar="OLD=NEW", help="replace a name prefix")
    ap.add_argument("--double", action="store_true", help="write F64 instead of F32")
    ap.add_argument("--torchvision", metavar="NAME", help="export a new torchvision model instead of reading a file")
    ap.add_argument("--seed", type=int, default=0, help="seed for --torchvision")
    ap.add_argument("--num-classes", type=int, default=1000, help="classes for --torchvision")
    a = ap.parse_args()
    renames = [tuple(r.split("=", 1)) for r in a.rename]
    if a.torchvision:
        sd = torchvision_model(a.torchvision, a.seed, num_classes=a.num_classes).state_dict()
        source = "torchvision.models.%s (seed %d)" % (a.torchvision, a.seed)
    elif a.input:
        sd = unwrap(torch.load(a.input, map_location="cpu"))
        source = os.path.basename(a.input)
    else:
        ap.error("give an input file or --torchvision NAME")
    tensors = convert(sd, renames, a.double)
    write_safetensors(tensors, a.output, {"source": source, "converter": "cnn scripts/torch2safetensors.py"})
    n = sum(t.numel() for t in tensors.values())
    print("torch2safetensors: wrote %d tensors (%d values) to %s" % (len(tensors), n, a.output))


if __name__ == "__main__":
    main()
