# Independent re-implementation of splitmix64 + xoshiro256** (Blackman & Vigna) for the spec.
import math, struct
M = (1 << 64) - 1
def splitmix(x):
    x = (x + 0x9e3779b97f4a7c15) & M
    z = x
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M
    return x, z ^ (z >> 31)
def rotl(x, k): return ((x << k) | (x >> (64 - k))) & M
class X:
    def __init__(self, seed):
        x = seed & M; self.s = []
        for _ in range(4):
            x, z = splitmix(x); self.s.append(z)
    def next(self):
        s = self.s
        out = (rotl((s[1] * 5) & M, 7) * 9) & M
        t = (s[1] << 17) & M
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45)
        return out
    def uniform(self): return (self.next() >> 11) * 2.0 ** -53
    def normal_pair(self):
        while True:
            u = 2 * self.uniform() - 1; v = 2 * self.uniform() - 1; q = u * u + v * v
            if 0 < q < 1: break
        f = math.sqrt(-2 * math.log(q) / q)
        return u * f, v * f
    def randint(self, lo, hi):
        r = hi - lo; limit = ((1 << 64) - r) % r
        while True:
            m = self.next() * r
            if (m & M) >= limit: return lo + (m >> 64)
f32 = lambda v: struct.unpack('f', struct.pack('f', v))[0]
g = X(42); print("state", "".join("%016x" % v for v in g.s))
print("u64", [hex(X(42).next())])
g = X(42); print("rand f64", ["%.17g" % g.uniform() for _ in range(4)])
g = X(42); print("rand f32", ["%.9g" % f32(g.uniform()) for _ in range(4)])
g = X(7); print("uniform_(-2,3) f64", ["%.17g" % (-2 + 5 * g.uniform()) for _ in range(3)])
g = X(42); a = g.normal_pair(); b = g.normal_pair(); print("randn f64", ["%.17g" % v for v in a + b])
g = X(2024); print("randint(0,10)", [g.randint(0, 10) for _ in range(8)])
g = X(2024); print("randint(-5,5)", [g.randint(-5, 5) for _ in range(8)])
g = X(0); print("seed0 state", "".join("%016x" % v for v in g.s))
g = X(-1); print("seed -1 state", "".join("%016x" % v for v in g.s))
