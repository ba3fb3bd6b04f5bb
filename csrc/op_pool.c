/* op_pool.c: max_pool2d/1d, avg_pool2d/1d, adaptive_avg_pool2d/1d and adaptive_max_pool2d/1d
 * with PyTorch's output sizes
 * (ceil_mode, count_include_pad), and their autograd record. 1-D pools and unbatched inputs run
 * as 2-D on (P, H, W) planes (the kernels are named after the 2-D stems, the nodes after the
 * function the user called). Max-pool backward (fixed or adaptive windows) recomputes each window's argmax from the saved
 * input rather than keeping an index tensor. Kernels: op_pool.inc. Bindings: lua_conv.c;
 * specs: pool_spec.lua, parity/conv_parity_spec.lua. */
#include "cnn.h"
#include "tensor.h"
#include "autograd.h"
#include "op_window.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct pool_geom {
    cnn_pool kind;
    int nd;                  /* spatial dims the user gave (1 or 2), for messages */
    int count_include_pad;
    int64_t P, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW;   /* P = N*C planes */
} pool_geom;

/* Clips output (oh, ow)'s window to the input: rows [h0,h1), columns [w0,w1). Returns the
 * divisor of an average: PyTorch counts padding (but not the ceil_mode overhang) when
 * count_include_pad is set; an adaptive window is [floor(i*H/OH), ceil((i+1)*H/OH)). */
static inline int64_t pool_window(const pool_geom *g, int64_t oh, int64_t ow,
                                  int64_t *h0, int64_t *h1, int64_t *w0, int64_t *w1) {
    if (g->kind == CNN_POOL_ADAPTIVE_AVG || g->kind == CNN_POOL_ADAPTIVE_MAX) {
        *h0 = oh * g->H / g->OH; *h1 = ((oh + 1) * g->H + g->OH - 1) / g->OH;
        *w0 = ow * g->W / g->OW; *w1 = ((ow + 1) * g->W + g->OW - 1) / g->OW;
        return (*h1 - *h0) * (*w1 - *w0);
    }
    int64_t hs = oh * g->SH - g->PH, ws = ow * g->SW - g->PW;
    /* hs + KH < H + PH, written so that it cannot overflow (H + PH - hs <= H + 2*PH fits) */
    int64_t he = g->KH < g->H + g->PH - hs ? hs + g->KH : g->H + g->PH;
    int64_t we = g->KW < g->W + g->PW - ws ? ws + g->KW : g->W + g->PW;
    int64_t padded = (he - hs) * (we - ws);
    *h0 = hs < 0 ? 0 : hs; *h1 = he < g->H ? he : g->H;
    *w0 = ws < 0 ? 0 : ws; *w1 = we < g->W ? we : g->W;
    if (*h0 >= *h1 || *w0 >= *w1) return 0;
    return g->count_include_pad ? padded : (*h1 - *h0) * (*w1 - *w0);
}

/* The kernel taps k in [k0, k1), k < K, that can reach into the input [0, len) from some
 * window starting at start - span .. start (input position = k*d - start + shift, shift in
 * [0, span]): a max pool loops over these only, so a huge kernel over a small input costs
 * no more than a small one (kernel 2^62 with padding 2^61 over 8 elements: 8 taps). */
static inline void pool_taps(int64_t len, int64_t start, int64_t span, int64_t d, int64_t K,
                             int64_t *k0, int64_t *k1) {
    int64_t a = start - span, b = start + len;      /* k*d in [a, b) */
    if (d == 1) { *k0 = a <= 0 ? 0 : a; *k1 = b <= 0 ? 0 : b; }   /* no divisions (once a row) */
    else { *k0 = a <= 0 ? 0 : a / d + (a % d != 0); *k1 = b <= 0 ? 0 : (b - 1) / d + 1; }
    if (*k1 > K) *k1 = K;
    if (*k0 > *k1) *k0 = *k1;
}

/* a max pool's column taps, the same for every output row: kw in [kw0, kw1) (those that reach
 * the input) and, when they are at most 32, each one's outputs [lo, hi) (window_range divides:
 * computed once a call rather than once a row, which cost more than the row on small planes) */
typedef struct pool_cols {
    int64_t kw0, kw1, lo[32], hi[32];
    int cached;
} pool_cols;
static void pool_cols_init(const pool_geom *g, pool_cols *t) {
    pool_taps(g->W, g->PW, (g->OW - 1) * g->SW, g->DW, g->KW, &t->kw0, &t->kw1);
    t->cached = t->kw1 - t->kw0 <= 32;
    if (t->cached)
        for (int64_t kw = t->kw0; kw < t->kw1; kw++)
            window_range(g->W, g->OW, g->SW, kw * g->DW - g->PW, &t->lo[kw - t->kw0], &t->hi[kw - t->kw0]);
}

/* max-pool scratch: one output row of values (padded to 64 bytes) and of indices; for the 2x2
 * fast path, one output plane of values and of int offsets (forward: of int offsets only) */
static size_t pool_ws_bytes(const pool_geom *g) {
    size_t row = (size_t)((g->OW + 7) & ~(int64_t)7) * (8 + 8);
    size_t plane = (size_t)((g->OH * g->OW + 7) & ~(int64_t)7) * (8 + 4);
    return row > plane ? row : plane;
}

/* the common 2x2 window, stride 2, no padding or dilation, every window inside the plane:
 * op_pool.inc has a fast path for it */
static int is_2x2(const pool_geom *g) {
    return g->KH == 2 && g->KW == 2 && g->SH == 2 && g->SW == 2 && g->PH == 0 && g->PW == 0 &&
           g->DH == 1 && g->DW == 1 && 2 * g->OH <= g->H && 2 * g->OW <= g->W;
}

/* max pools whose windows never clip (no padding, no ceil_mode overhang; inception's 3x3 stride 2)
 * on planes of up to 8192 inputs (32 KB in float32: they stay in L1 while the taps pass over them)
 * run the outputs of Q planes as one flat loop, each tap gathered through an index array
 * (op_pool.inc's max_pool2d_flat): rows of a few outputs (5 at 12x12) would otherwise run in the
 * scalar tail of every vector loop. Larger planes take the row loop, twice as fast there in
 * backward (measured at 147x147). At most 256 taps. */
static int is_flat(const pool_geom *g) {
    int64_t eh = (g->KH - 1) * g->DH + 1, ew = (g->KW - 1) * g->DW + 1;  /* fit: pool_geom_init */
    return g->kind == CNN_POOL_MAX && !is_2x2(g) && g->PH == 0 && g->PW == 0 &&
           g->KH <= 256 && g->KW <= 256 && g->KH * g->KW <= 256 && g->H * g->W <= 8192 &&
           g->H >= eh && g->OH - 1 <= (g->H - eh) / g->SH && g->W >= ew && g->OW - 1 <= (g->W - ew) / g->SW;
}
/* planes a flat chunk holds: about 1024 outputs, at most 2^30 inputs (its offsets are ints) */
static int64_t flat_planes(const pool_geom *g) {
    int64_t q = 1024 / (g->OH * g->OW), cap = (INT64_C(1) << 30) / (g->H * g->W);
    if (q > cap) q = cap;
    return q < 1 ? 1 : q > g->P ? (g->P > 0 ? g->P : 1) : q;
}
/* the index array of a flat chunk of Q planes: each output's window's first element, as an
 * offset from the chunk's first input plane */
static void flat_index(int *idx, const pool_geom *g, int64_t Q) {
    for (int64_t q = 0; q < Q; q++)
        for (int64_t oh = 0; oh < g->OH; oh++)
            for (int64_t ow = 0; ow < g->OW; ow++)
                idx[(q * g->OH + oh) * g->OW + ow] = (int)(q * g->H * g->W + oh * g->SH * g->W + ow * g->SW);
}
/* the chunk's index array (int, 64-byte padded), then T threads' values and indices for backward */
static size_t flat_idx_bytes(const pool_geom *g) {
    return (size_t)((flat_planes(g) * g->OH * g->OW + 15) & ~(int64_t)15) * 4;
}
static size_t flat_ws_bytes(const pool_geom *g, int T) {
    return flat_idx_bytes(g) + (size_t)T * ((flat_planes(g) * g->OH * g->OW + 15) & ~(int64_t)15) * (8 + 4);
}

/* threads of the max pools and of the stride-1 average pool: over the planes, when they are big
 * enough together */
static int pool_threads(const cnn_ctx *c, const pool_geom *g) {
    int T = par_threads(c, g->P * g->H * g->W);
    return T > g->P ? (g->P > 0 ? (int)g->P : 1) : T;
}

/* the stride-1 average pool's separable path (op_pool.inc's avg_pool2d_s1_fwd/bwd), for any
 * plane size from 1x1 (so small specs reach it) up to 2^20 elements (the scratch stays a few MB a
 * thread); larger planes, and other strides, take the direct loop */
static int is_avg_s1(const pool_geom *g) {
    return g->kind == CNN_POOL_AVG && g->SH == 1 && g->SW == 1 &&
           g->H * g->W <= (INT64_C(1) << 20) && g->OH * g->OW <= (INT64_C(1) << 20);
}
static int64_t pad8(int64_t n) { return (n + 7) & ~(int64_t)7; }
/* a thread's scratch, in elements: backward's dy / D (OH,OW), column sums (H,OW), row sums (H,W);
 * forward uses the column sums' room only */
static int64_t avg_s1_scratch(const pool_geom *g) {
    return pad8(g->OH * g->OW) + pad8(g->H * g->OW) + pad8(g->H * g->W);
}
/* the divisors (OH,OW), then T threads' scratch, at 8 bytes an element (either dtype) */
static size_t avg_s1_ws_bytes(const pool_geom *g, int T) {
    return (size_t)(pad8(g->OH * g->OW) + T * avg_s1_scratch(g)) * 8;
}

#define CNN_GEN_FILE "op_pool.inc"
#include "gen.h"

/* PyTorch's pooling_output_shape for an input of in, a dilated kernel of ek and a padding of
 * p <= ek/2: floor or ceil division; a last window starting in the right padding is dropped.
 * Written so that nothing overflows for any stride (in <= 2^59, ek < 2^63). */
static int64_t pool_out(int64_t in, int64_t ek, int64_t s, int64_t p, int ceil_mode) {
    int64_t num = in - ek + 2 * p, q = num / s, r = num % s, last;   /* 2p <= ek: no overflow */
    int64_t o = (ceil_mode ? q + (r > 0) : q - (r < 0)) + 1;
    if (ceil_mode && (__builtin_mul_overflow(o - 1, s, &last) || last >= in + p)) o--;
    return o;
}

/* the output (P planes of OH x OW) within cnn_shape_check's limit of 2^59 elements, so that
 * the kernels' and the workspace's products fit in int64 */
static int pool_numel_check(cnn_ctx *c, const pool_geom *g, const cnn_tensor *x) {
    char d1[200], p1[64];
    int64_t n;
    if (__builtin_mul_overflow(g->P, g->OH, &n) || __builtin_mul_overflow(n, g->OW, &n) || n > (INT64_C(1) << 59))
        return cnn_seterr(c, "output size %s is too large for input %s (the element count overflows)",
                          cnn_pair_str(p1, sizeof p1, g->nd, g->OH, g->OW), cnn_shape_str(d1, sizeof d1, x->ndim, x->size));
    return 0;
}

/* input (N,C,H,W) / (C,H,W), or (N,C,L) / (C,L) for nd = 1; option arrays hold {h, w} */
static int pool_geom_init(cnn_ctx *c, pool_geom *g, cnn_pool kind, int nd, const cnn_tensor *x,
                          const int64_t *k, const int64_t *s, const int64_t *p, const int64_t *d,
                          int ceil_mode, int count_include_pad) {
    char d1[200], p1[64], p2[64], p3[64];
    const char *sp = nd == 2 ? "H,W" : "L";
    g->kind = kind;
    g->nd = nd;
    g->count_include_pad = count_include_pad;
    if (x->ndim != nd + 1 && x->ndim != nd + 2)
        return cnn_seterr(c, "argument 1 (input): expected a %d-D (C,%s) or %d-D (N,C,%s) tensor, got %s",
                          nd + 1, sp, nd + 2, sp, cnn_tensor_desc(d1, sizeof d1, x));
    g->P = 1;
    for (int i = 0; i < x->ndim - nd; i++) g->P *= x->size[i];
    g->H = nd == 2 ? x->size[x->ndim - 2] : 1;
    g->W = x->size[x->ndim - 1];
    if (kind == CNN_POOL_ADAPTIVE_AVG || kind == CNN_POOL_ADAPTIVE_MAX) {
        g->OH = nd == 2 ? k[0] : 1; g->OW = k[1];
        g->KH = g->KW = g->SH = g->SW = g->DH = g->DW = 1;
        g->PH = g->PW = 0;
        if (g->OH < 1 || g->OW < 1)
            return cnn_seterr(c, "argument 2 (output_size): expected sizes >= 1, got %s", cnn_pair_str(p1, sizeof p1, nd, g->OH, g->OW));
        if (g->H < 1 || g->W < 1)
            return cnn_seterr(c, "argument 1 (input): expected non-empty spatial dimensions, got %s",
                              cnn_tensor_desc(d1, sizeof d1, x));
        /* pool_window computes (oh + 1) * H + OH - 1 */
        int64_t t;
        if (__builtin_mul_overflow(g->OH, g->H, &t) || __builtin_add_overflow(t, g->H, &t) ||
            __builtin_add_overflow(t, g->OH, &t) || __builtin_mul_overflow(g->OW, g->W, &t) ||
            __builtin_add_overflow(t, g->W, &t) || __builtin_add_overflow(t, g->OW, &t))
            return cnn_seterr(c, "argument 2 (output_size): %s is too large for input %s (the window bounds overflow)",
                              cnn_pair_str(p1, sizeof p1, nd, g->OH, g->OW), cnn_shape_str(d1, sizeof d1, x->ndim, x->size));
        return pool_numel_check(c, g, x);
    }
    g->KH = nd == 2 ? k[0] : 1; g->KW = k[1];
    g->SH = nd == 2 ? s[0] : 1; g->SW = s[1];
    g->PH = nd == 2 ? p[0] : 0; g->PW = p[1];
    g->DH = nd == 2 ? d[0] : 1; g->DW = d[1];
    if (g->KH < 1 || g->KW < 1)
        return cnn_seterr(c, "argument 2 (kernel_size): expected sizes >= 1, got %s", cnn_pair_str(p1, sizeof p1, nd, g->KH, g->KW));
    if (g->SH < 1 || g->SW < 1)
        return cnn_seterr(c, "argument 3 (options): stride must be >= 1, got %s", cnn_pair_str(p1, sizeof p1, nd, g->SH, g->SW));
    if (g->DH < 1 || g->DW < 1)
        return cnn_seterr(c, "argument 3 (options): dilation must be >= 1, got %s", cnn_pair_str(p1, sizeof p1, nd, g->DH, g->DW));
    /* the dilated kernel; kernel, stride, padding and dilation are any int64 the user gives */
    int64_t eh, ew;
    if (__builtin_mul_overflow(g->DH, g->KH - 1, &eh) || __builtin_add_overflow(eh, 1, &eh) ||
        __builtin_mul_overflow(g->DW, g->KW - 1, &ew) || __builtin_add_overflow(ew, 1, &ew))
        return cnn_seterr(c, "argument 3 (options): dilation %s is too large for kernel %s (the dilated kernel's size overflows)",
                          cnn_pair_str(p1, sizeof p1, nd, g->DH, g->DW), cnn_pair_str(p2, sizeof p2, nd, g->KH, g->KW));
    /* a window must hold at least one real element, so padding is at most half a kernel */
    if (g->PH < 0 || g->PW < 0 || g->PH > eh / 2 || g->PW > ew / 2)
        return cnn_seterr(c, "argument 3 (options): padding must be >= 0 and at most half the kernel size, "
                             "got padding %s for kernel %s", cnn_pair_str(p1, sizeof p1, nd, g->PH, g->PW),
                          cnn_pair_str(p2, sizeof p2, nd, eh, ew));
    /* the padded input, and for an average counting padding its area (pool_window's divisor) */
    int64_t hp, wp, area;
    if (__builtin_mul_overflow(g->PH, 2, &hp) || __builtin_add_overflow(hp, g->H, &hp) ||
        __builtin_mul_overflow(g->PW, 2, &wp) || __builtin_add_overflow(wp, g->W, &wp) ||
        (kind == CNN_POOL_AVG && count_include_pad && __builtin_mul_overflow(hp, wp, &area)))
        return cnn_seterr(c, "argument 3 (options): padding %s is too large for input %s (the padded size overflows)",
                          cnn_pair_str(p1, sizeof p1, nd, g->PH, g->PW), cnn_shape_str(d1, sizeof d1, x->ndim, x->size));
    g->OH = pool_out(g->H, eh, g->SH, g->PH, ceil_mode);
    g->OW = pool_out(g->W, ew, g->SW, g->PW, ceil_mode);
    if (g->OH < 1 || g->OW < 1)
        return cnn_seterr(c, "output size is too small: input %s with kernel %s, stride %s gives %s",
                          cnn_shape_str(d1, sizeof d1, x->ndim, x->size), cnn_pair_str(p1, sizeof p1, nd, g->KH, g->KW),
                          cnn_pair_str(p2, sizeof p2, nd, g->SH, g->SW),
                          cnn_pair_str(p3, sizeof p3, nd, g->OH < 0 ? 0 : g->OH, g->OW < 0 ? 0 : g->OW));
    return pool_numel_check(c, g, x);
}

/* saves (max pool only): the 2x2 fast path's argmax offsets, one byte per output, in the
 * storage of a float32 tensor (so that cnn.memory() counts them); otherwise the contiguous input,
 * whose argmax backward recomputes. extra: the pool_geom; iarg[0]: 1 when offsets are saved */
static int pool_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const pool_geom *g = n->extra;
    const cnn_tensor *x = NULL;
    if ((g->kind == CNN_POOL_MAX || g->kind == CNN_POOL_ADAPTIVE_MAX) && (x = cnn_node_saved(c, n, 0)) == NULL) return -1;
    cnn_dtype dt = n->in[0].dtype;
    cnn_tensor *d = cnn_contiguous_as(c, dy, dt);
    if (d == NULL) return -1;
    if ((dx[0] = cnn_full(c, &n->in[0].shape, dt, 0.0)) == NULL) { cnn_tensor_release(d); return -1; }
    if (n->iarg[0] == 1) {
        if (dt == CNN_F32) max_pool2d_2x2_bwd_f32(cnn_data(dx[0]), cnn_data(d), cnn_data(x), g, pool_threads(c, g));
        else max_pool2d_2x2_bwd_f64(cnn_data(dx[0]), cnn_data(d), cnn_data(x), g, pool_threads(c, g));
    } else if (g->kind == CNN_POOL_ADAPTIVE_MAX) {
        if (dt == CNN_F32) adaptive_max_pool2d_bwd_f32(cnn_data(dx[0]), cnn_data(d), cnn_data(x), g);
        else adaptive_max_pool2d_bwd_f64(cnn_data(dx[0]), cnn_data(d), cnn_data(x), g);
    } else if (g->kind == CNN_POOL_MAX) {
        int T = pool_threads(c, g);
        void *ws = cnn_ws_get(c, is_flat(g) ? flat_ws_bytes(g, T) : (size_t)T * pool_ws_bytes(g));
        if (ws == NULL) { cnn_tensor_release(d); cnn_tensor_release(dx[0]); dx[0] = NULL; return -1; }
        if (dt == CNN_F32) max_pool2d_bwd_f32(cnn_data(dx[0]), cnn_data(d), cnn_data(x), g, ws, T);
        else max_pool2d_bwd_f64(cnn_data(dx[0]), cnn_data(d), cnn_data(x), g, ws, T);
    } else if (is_avg_s1(g)) {
        int T = pool_threads(c, g);
        void *ws = cnn_ws_get(c, avg_s1_ws_bytes(g, T));
        if (ws == NULL) { cnn_tensor_release(d); cnn_tensor_release(dx[0]); dx[0] = NULL; return -1; }
        if (dt == CNN_F32) avg_pool2d_s1_bwd_f32(cnn_data(dx[0]), cnn_data(d), g, ws, T);
        else avg_pool2d_s1_bwd_f64(cnn_data(dx[0]), cnn_data(d), g, ws, T);
    } else {
        if (dt == CNN_F32) avg_pool2d_bwd_f32(cnn_data(dx[0]), cnn_data(d), g);
        else avg_pool2d_bwd_f64(cnn_data(dx[0]), cnn_data(d), g);
    }
    cnn_tensor_release(d);
    return 0;
}
static void pool_release(cnn_node *n) { free(n->extra); }
/* one backward for all; each node is named after the function the user called */
static const cnn_op op_max_pool2d = { "max_pool2d", pool_backward, pool_release };
static const cnn_op op_max_pool1d = { "max_pool1d", pool_backward, pool_release };
static const cnn_op op_avg_pool2d = { "avg_pool2d", pool_backward, pool_release };
static const cnn_op op_avg_pool1d = { "avg_pool1d", pool_backward, pool_release };
static const cnn_op op_adaptive_avg_pool2d = { "adaptive_avg_pool2d", pool_backward, pool_release };
static const cnn_op op_adaptive_avg_pool1d = { "adaptive_avg_pool1d", pool_backward, pool_release };
static const cnn_op op_adaptive_max_pool2d = { "adaptive_max_pool2d", pool_backward, pool_release };
static const cnn_op op_adaptive_max_pool1d = { "adaptive_max_pool1d", pool_backward, pool_release };

/* the output keeps the input's leading dims and replaces the nd spatial ones */
static cnn_tensor *pool_run(cnn_ctx *c, const cnn_tensor *x0, const pool_geom *g) {
    cnn_shape ys = cnn_shape_of(x0);
    if (g->nd == 2) ys.size[ys.ndim - 2] = g->OH;
    ys.size[ys.ndim - 1] = g->OW;
    cnn_tensor *x = cnn_contiguous_as(c, x0, x0->dtype);
    cnn_tensor *y = x ? cnn_empty(c, &ys, x0->dtype) : NULL;
    int T = pool_threads(c, g);
    void *ws = y == NULL ? NULL
             : g->kind == CNN_POOL_MAX ? cnn_ws_get(c, is_flat(g) ? flat_ws_bytes(g, 0) : (size_t)T * pool_ws_bytes(g))
             : is_avg_s1(g) ? cnn_ws_get(c, avg_s1_ws_bytes(g, T)) : y;
    if (y == NULL || ws == NULL) { cnn_tensor_release(y); cnn_tensor_release(x); return NULL; }
    /* the 2x2 fast path keeps its argmax offsets for backward: one byte per output */
    cnn_tensor *arg = NULL;
    if (g->kind == CNN_POOL_MAX && is_2x2(g) && cnn_needs_grad(c, x0, NULL)) {
        cnn_shape as = { 1, { (g->P * g->OH * g->OW + 3) / 4 } };
        if ((arg = cnn_empty(c, &as, CNN_F32)) == NULL) { cnn_tensor_release(y); cnn_tensor_release(x); return NULL; }
    }
    if (g->P > 0) {
        if (g->kind == CNN_POOL_MAX) {
            unsigned char *ap = arg ? cnn_data(arg) : NULL;
            if (x->dtype == CNN_F32) max_pool2d_fwd_f32(cnn_data(y), ap, cnn_data(x), g, ws, T);
            else max_pool2d_fwd_f64(cnn_data(y), ap, cnn_data(x), g, ws, T);
        } else if (g->kind == CNN_POOL_ADAPTIVE_MAX) {
            if (x->dtype == CNN_F32) adaptive_max_pool2d_fwd_f32(cnn_data(y), cnn_data(x), g);
            else adaptive_max_pool2d_fwd_f64(cnn_data(y), cnn_data(x), g);
        } else if (is_avg_s1(g)) {
            if (x->dtype == CNN_F32) avg_pool2d_s1_fwd_f32(cnn_data(y), cnn_data(x), g, ws, T);
            else avg_pool2d_s1_fwd_f64(cnn_data(y), cnn_data(x), g, ws, T);
        } else {
            if (x->dtype == CNN_F32) avg_pool2d_fwd_f32(cnn_data(y), cnn_data(x), g);
            else avg_pool2d_fwd_f64(cnn_data(y), cnn_data(x), g);
        }
    }
    if (cnn_needs_grad(c, x0, NULL)) {
        pool_geom *keep = malloc(sizeof *keep);
        if (keep == NULL) {
            cnn_seterr(c, "out of memory");
            cnn_tensor_release(y); cnn_tensor_release(x); cnn_tensor_release(arg);
            return NULL;
        }
        *keep = *g;
        const cnn_op *op = g->kind == CNN_POOL_MAX ? (g->nd == 2 ? &op_max_pool2d : &op_max_pool1d)
                         : g->kind == CNN_POOL_AVG ? (g->nd == 2 ? &op_avg_pool2d : &op_avg_pool1d)
                         : g->kind == CNN_POOL_ADAPTIVE_AVG ? (g->nd == 2 ? &op_adaptive_avg_pool2d : &op_adaptive_avg_pool1d)
                         : (g->nd == 2 ? &op_adaptive_max_pool2d : &op_adaptive_max_pool1d);
        const cnn_tensor *ins[1] = { x0 };
        cnn_node *n = cnn_record(c, op, &y, 1, ins);
        if (n == NULL) free(keep);
        else {
            n->extra = keep;
            if (arg) { cnn_node_save(n, 0, arg); n->iarg[0] = 1; }
            else if (g->kind == CNN_POOL_MAX || g->kind == CNN_POOL_ADAPTIVE_MAX) cnn_node_save(n, 0, x);
        }
    }
    cnn_tensor_release(arg);
    cnn_tensor_release(x);
    return y;
}

cnn_tensor *cnn_max_pool2d(cnn_ctx *c, const cnn_tensor *x, const int64_t kernel[2], const int64_t stride[2],
                           const int64_t padding[2], const int64_t dilation[2], int ceil_mode) {
    pool_geom g;
    if (pool_geom_init(c, &g, CNN_POOL_MAX, 2, x, kernel, stride, padding, dilation, ceil_mode, 1) < 0) return NULL;
    return pool_run(c, x, &g);
}

cnn_tensor *cnn_max_pool1d(cnn_ctx *c, const cnn_tensor *x, int64_t kernel, int64_t stride, int64_t padding,
                           int64_t dilation, int ceil_mode) {
    int64_t k[2] = { 1, kernel }, s[2] = { 1, stride }, p[2] = { 0, padding }, d[2] = { 1, dilation };
    pool_geom g;
    if (pool_geom_init(c, &g, CNN_POOL_MAX, 1, x, k, s, p, d, ceil_mode, 1) < 0) return NULL;
    return pool_run(c, x, &g);
}

cnn_tensor *cnn_avg_pool2d(cnn_ctx *c, const cnn_tensor *x, const int64_t kernel[2], const int64_t stride[2],
                           const int64_t padding[2], int ceil_mode, int count_include_pad) {
    int64_t d[2] = { 1, 1 };
    pool_geom g;
    if (pool_geom_init(c, &g, CNN_POOL_AVG, 2, x, kernel, stride, padding, d, ceil_mode, count_include_pad) < 0)
        return NULL;
    return pool_run(c, x, &g);
}

cnn_tensor *cnn_avg_pool1d(cnn_ctx *c, const cnn_tensor *x, int64_t kernel, int64_t stride, int64_t padding,
                           int ceil_mode, int count_include_pad) {
    int64_t k[2] = { 1, kernel }, s[2] = { 1, stride }, p[2] = { 0, padding }, d[2] = { 1, 1 };
    pool_geom g;
    if (pool_geom_init(c, &g, CNN_POOL_AVG, 1, x, k, s, p, d, ceil_mode, count_include_pad) < 0) return NULL;
    return pool_run(c, x, &g);
}

/* the adaptive pools: the output size alone fixes the windows (o: {1, L} in 1-d) */
static cnn_tensor *adaptive(cnn_ctx *c, cnn_pool kind, int nd, const cnn_tensor *x, const int64_t o[2]) {
    pool_geom g;
    if (pool_geom_init(c, &g, kind, nd, x, o, NULL, NULL, NULL, 0, 1) < 0) return NULL;
    return pool_run(c, x, &g);
}

cnn_tensor *cnn_adaptive_avg_pool2d(cnn_ctx *c, const cnn_tensor *x, const int64_t output_size[2]) {
    return adaptive(c, CNN_POOL_ADAPTIVE_AVG, 2, x, output_size);
}
cnn_tensor *cnn_adaptive_avg_pool1d(cnn_ctx *c, const cnn_tensor *x, int64_t output_size) {
    const int64_t o[2] = { 1, output_size };
    return adaptive(c, CNN_POOL_ADAPTIVE_AVG, 1, x, o);
}
cnn_tensor *cnn_adaptive_max_pool2d(cnn_ctx *c, const cnn_tensor *x, const int64_t output_size[2]) {
    return adaptive(c, CNN_POOL_ADAPTIVE_MAX, 2, x, output_size);
}
cnn_tensor *cnn_adaptive_max_pool1d(cnn_ctx *c, const cnn_tensor *x, int64_t output_size) {
    const int64_t o[2] = { 1, output_size };
    return adaptive(c, CNN_POOL_ADAPTIVE_MAX, 1, x, o);
}
