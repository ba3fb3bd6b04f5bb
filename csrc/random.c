/* random.c: the generator behind cnn.rand, randn, randint, dropout and shuffling: xoshiro256**
 * seeded through splitmix64. Normal deviates use Marsaglia's polar method with a log written
 * here in plain double arithmetic, so a seed gives the same numbers on every x86-64 machine
 * whatever libm's vector paths do. Spec: random_spec.lua. */
#include "cnn.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void cnn_rng_seed(cnn_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    r->has_spare = 0;
    r->spare = 0;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t cnn_rng_next(cnn_rng *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double cnn_rng_uniform(cnn_rng *r) { return (double)(cnn_rng_next(r) >> 11) * 0x1.0p-53; }

/* log(x) for finite x > 0: x = m 2^e with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(s),
 * s = (m-1)/(m+1), |s| < 0.172, summed to s^23 (error < 1e-17 relative). */
double cnn_rng_log(double x) {
    int e;
    double m = frexp(x, &e);          /* m in [0.5, 1) */
    if (m < 0.70710678118654752440) { m *= 2; e--; }
    double s = (m - 1) / (m + 1), s2 = s * s, term = s, sum = 0;
    for (int k = 1; k <= 23; k += 2) { sum += term / k; term *= s2; }
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    return (double)e * ln2_hi + ((double)e * ln2_lo + 2 * sum);
}

double cnn_rng_normal(cnn_rng *r) {
    if (r->has_spare) { r->has_spare = 0; return r->spare; }
    double u, v, q;
    do {
        u = 2 * cnn_rng_uniform(r) - 1;
        v = 2 * cnn_rng_uniform(r) - 1;
        q = u * u + v * v;
    } while (q >= 1 || q == 0);
    double f = sqrt(-2 * cnn_rng_log(q) / q);
    r->spare = v * f;
    r->has_spare = 1;
    return u * f;
}
