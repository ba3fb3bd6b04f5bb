# spec/parity/luafmt.py: Python values as Lua literals, for the fixture generators (gen_*.py).
# Floats are written with repr, so they read back into Lua bit for bit; inf and nan as Lua
# expressions; a torch tensor as {shape = {...}, data = {...}} (row-major, float64).
import math


def num(v):
    if math.isnan(v):
        return "0/0"
    if math.isinf(v):
        return "math.huge" if v > 0 else "-math.huge"
    return repr(float(v))


def lua(v):
    """a Python value as a Lua literal"""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return num(v)
    if isinstance(v, str):
        return '"%s"' % v
    if v is None:
        return "nil"
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(lua(x) for x in v) + "}"
    if isinstance(v, dict):
        return "{" + ", ".join("%s = %s" % (k, lua(x)) for k, x in v.items()) + "}"
    if hasattr(v, "detach"):          # a torch tensor
        return lua({"shape": list(v.shape), "data": [float(x) for x in v.detach().reshape(-1).tolist()]})
    raise TypeError(type(v))
