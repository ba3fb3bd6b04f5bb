/* op_window.h: the window arithmetic that convolution (op_conv.c, op_conv.inc) and pooling
 * (op_pool.c, op_pool.inc) share. Dtype-free, no Lua, no errors. */
#ifndef CNN_OP_WINDOW_H
#define CNN_OP_WINDOW_H

#include <stdint.h>

/* The outputs o in [lo, hi), o < n, whose input position o*s + off lies inside [0, len); the
 * others read padding. s >= 1. No overflow for any s as long as len - off does not overflow
 * (off is a kernel tap minus the padding: the callers' geometry checks len + 2 * padding). */
static inline void window_range(int64_t len, int64_t n, int64_t s, int64_t off, int64_t *lo, int64_t *hi) {
    int64_t l = off < 0 ? -off / s + (-off % s != 0) : 0;
    int64_t h = len - off <= 0 ? 0 : (len - off - 1) / s + 1;
    if (h > n) h = n;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

#endif
