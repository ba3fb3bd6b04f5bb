/* op_conv.c: conv2d and conv1d (NCHW / NCL, stride, padding, dilation, groups): the checks of
 * the user's geometry, the choice of path and the autograd record. The paths, each with its
 * plan (blocking, threads, workspace) and kernels in one file: im2col + GEMM over batch slices
 * or bands of output rows (op_conv_im2col.inc), Winograd F(2x2,3x3) for 3x3 stride-1 layers
 * (op_wino.inc), and on AVX-512 a direct forward for first layers (op_conv_direct.inc); shared
 * kernel helpers in op_conv.inc. conv1d and unbatched inputs run the same kernels as (N,C,1,L)
 * and (1,C,H,W), whose memory they share, under their own node ("conv1d", "conv2d").
 * Bindings: lua_conv.c; specs: conv2d_spec.lua, conv1d_spec.lua, parity/conv_parity_spec.lua. */
#include "cnn.h"
#include "tensor.h"
#include "autograd.h"
#include "op_window.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

/* The geometry as the user gave it, filled and checked once by conv_geom_init; every size in
 * it and every product the kernels form from it fits (see there). Forward, backward, messages
 * and the algorithms' plans all start from it. */
typedef struct conv_geom {
    int nd;                 /* spatial dims as the user sees them: 1 (conv1d) or 2 (conv2d) */
    int batched;            /* 0: the user gave one image without the N dimension */
    int64_t N, C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW;
} conv_geom;

/* a * b for sizes >= 0, saturating at INT64_MAX: for comparisons with a budget or a limit */
static inline int64_t mul_sat(int64_t a, int64_t b) {
    int64_t r;
    return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}

/* An epilogue applied to the output as each part of it is finished (inference only, see
 * cnn_conv2d_affine): y = y * scale[oc] + shift[oc], then max(y, 0) when relu; scale and shift
 * (OC, the output's dtype) may each be NULL. */
typedef struct conv_epi {
    const void *scale, *shift;
    int relu;
} conv_epi;

/* each algorithm's plan: its blocking, threads and workspace (dtype-free parts of the .inc files) */
#include "op_conv_im2col.inc"
#include "op_conv_direct.inc"
#include "op_wino.inc"

/* What runs: the geometry and the plan of each path that applies. */
typedef struct conv_plan {
    conv_geom g;
    int wino;               /* 1: forward and backward by Winograd (op_wino.inc) */
    int direct;             /* 1: forward by the direct kernel (op_conv_direct.inc), backward by im2col */
    im2col_plan im;         /* every other case, and the direct path's backward */
    direct_plan dp;
    wino_plan wp;
    int threads;            /* the state's thread count */
} conv_plan;

#define CNN_GEN_FILE "op_conv.inc"
#include "gen.h"

/* the output's shape as the user sees it: (N,)OC,(OH,)OW */
static cnn_shape conv_out_shape(const conv_geom *g) {
    cnn_shape s = { 0, { 0 } };
    if (g->batched) s.size[s.ndim++] = g->N;
    s.size[s.ndim++] = g->OC;
    if (g->nd == 2) s.size[s.ndim++] = g->OH;
    s.size[s.ndim++] = g->OW;
    return s;
}

/* the element count of s, or -1 past cnn_shape_check's limit (2^59) */
static int64_t conv_numel(const cnn_shape *s) {
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++)
        if (__builtin_mul_overflow(n, s->size[i], &n) || n > (INT64_C(1) << 59)) return -1;
    return n;
}

/* Reads the user's tensors (conv1d: (N,C,L) and (OC,C/G,K); unbatched without N) and options
 * into g. Options arrays hold {h, w}; for conv1d only [1] is read. Messages name arguments as
 * F.conv2d / F.conv1d number them. */
static int conv_geom_init(cnn_ctx *c, conv_geom *g, int nd, const cnn_tensor *x, const cnn_tensor *w,
                          const cnn_tensor *b, const int64_t *stride, const int64_t *pad,
                          const int64_t *dil, int64_t groups) {
    char d1[200], d2[200], p1[64], p2[64], p3[64], p4[64];
    const char *sp = nd == 2 ? "H,W" : "L";
    g->nd = nd;
    if (x->ndim != nd + 1 && x->ndim != nd + 2)
        return cnn_seterr(c, "argument 1 (input): expected a %d-D (C,%s) or %d-D (N,C,%s) tensor, got %s",
                          nd + 1, sp, nd + 2, sp, cnn_tensor_desc(d1, sizeof d1, x));
    if (w->ndim != nd + 2)
        return cnn_seterr(c, "argument 2 (weight): expected a %d-D tensor, got %s", nd + 2,
                          cnn_tensor_desc(d1, sizeof d1, w));
    if (w->dtype != x->dtype)
        return cnn_seterr(c, "argument 2 (weight): expected %s like the input, got %s",
                          cnn_dtype_name(x->dtype), cnn_tensor_desc(d1, sizeof d1, w));
    g->batched = x->ndim == nd + 2;
    int o = g->batched;                          /* index of C in x */
    g->N = g->batched ? x->size[0] : 1;
    g->C = x->size[o];
    g->H = nd == 2 ? x->size[o + 1] : 1;
    g->W = x->size[x->ndim - 1];
    g->OC = w->size[0];
    g->KH = nd == 2 ? w->size[2] : 1;
    g->KW = w->size[w->ndim - 1];
    if (b && (b->ndim != 1 || b->size[0] != g->OC))
        return cnn_seterr(c, "argument 3 (bias): expected a 1-D tensor of %lld elements (weight %s), got %s",
                          (long long)g->OC, cnn_shape_str(d2, sizeof d2, w->ndim, w->size),
                          cnn_tensor_desc(d1, sizeof d1, b));
    if (b && b->dtype != x->dtype)
        return cnn_seterr(c, "argument 3 (bias): expected %s like the input, got %s",
                          cnn_dtype_name(x->dtype), cnn_tensor_desc(d1, sizeof d1, b));
    g->SH = nd == 2 ? stride[0] : 1; g->SW = stride[1];
    g->PH = nd == 2 ? pad[0] : 0;    g->PW = pad[1];
    g->DH = nd == 2 ? dil[0] : 1;    g->DW = dil[1];
    g->G = groups;
    if (g->SH < 1 || g->SW < 1)
        return cnn_seterr(c, "argument 4 (options): stride must be >= 1, got %s", cnn_pair_str(p1, sizeof p1, g->nd, g->SH, g->SW));
    if (g->PH < 0 || g->PW < 0)
        return cnn_seterr(c, "argument 4 (options): padding must be >= 0, got %s", cnn_pair_str(p1, sizeof p1, g->nd, g->PH, g->PW));
    if (g->DH < 1 || g->DW < 1)
        return cnn_seterr(c, "argument 4 (options): dilation must be >= 1, got %s", cnn_pair_str(p1, sizeof p1, g->nd, g->DH, g->DW));
    if (g->G < 1)
        return cnn_seterr(c, "argument 4 (options): groups must be >= 1, got %lld", (long long)g->G);
    if (g->KH < 1 || g->KW < 1)
        return cnn_seterr(c, "argument 2 (weight): kernel size must be >= 1, got %s",
                          cnn_tensor_desc(d1, sizeof d1, w));
    if (g->C % g->G != 0)
        return cnn_seterr(c, "groups=%lld does not divide the %lld input channels of input %s",
                          (long long)g->G, (long long)g->C, cnn_tensor_desc(d1, sizeof d1, x));
    if (g->OC % g->G != 0)
        return cnn_seterr(c, "groups=%lld does not divide the %lld output channels of weight %s",
                          (long long)g->G, (long long)g->OC, cnn_tensor_desc(d1, sizeof d1, w));
    if (w->size[1] != g->C / g->G) {
        int64_t e;
        if (__builtin_mul_overflow(w->size[1], g->G, &e)) e = -1;
        return cnn_seterr(c, "input %s has %lld channels, but weight %s with groups=%lld expects %s%lld",
                          cnn_tensor_desc(d1, sizeof d1, x), (long long)g->C,
                          cnn_shape_str(d2, sizeof d2, w->ndim, w->size), (long long)g->G,
                          e < 0 ? "more than " : "", (long long)(e < 0 ? INT64_MAX : e));
    }
    /* Sizes come from tensors (at most 2^59 elements: cnn_shape_check), but stride, padding and
     * dilation are any positive int64 the user gives: every sum and product of them is checked. */
    int64_t ekh, ekw, hp, wp;                 /* dilated kernel, padded input */
    if (__builtin_mul_overflow(g->DH, g->KH - 1, &ekh) || __builtin_add_overflow(ekh, 1, &ekh) ||
        __builtin_mul_overflow(g->DW, g->KW - 1, &ekw) || __builtin_add_overflow(ekw, 1, &ekw))
        return cnn_seterr(c, "argument 4 (options): dilation %s is too large for kernel %s (the dilated kernel's size overflows)",
                          cnn_pair_str(p1, sizeof p1, g->nd, g->DH, g->DW), cnn_pair_str(p2, sizeof p2, g->nd, g->KH, g->KW));
    if (__builtin_mul_overflow(g->PH, 2, &hp) || __builtin_add_overflow(hp, g->H, &hp) ||
        __builtin_mul_overflow(g->PW, 2, &wp) || __builtin_add_overflow(wp, g->W, &wp))
        return cnn_seterr(c, "argument 4 (options): padding %s is too large for input %s (the padded size overflows)",
                          cnn_pair_str(p1, sizeof p1, g->nd, g->PH, g->PW), cnn_shape_str(d1, sizeof d1, x->ndim, x->size));
    int64_t nh = hp - ekh, nw = wp - ekw;     /* both terms >= 0: no overflow */
    g->OH = nh < 0 ? 0 : nh / g->SH + 1;
    g->OW = nw < 0 ? 0 : nw / g->SW + 1;
    if (nh < 0 || nw < 0)
        return cnn_seterr(c, "output size is too small: input %s with kernel %s, padding %s and dilation %s "
                             "gives %s", cnn_shape_str(d1, sizeof d1, x->ndim, x->size),
                          cnn_pair_str(p1, sizeof p1, g->nd, g->KH, g->KW), cnn_pair_str(p2, sizeof p2, g->nd, g->PH, g->PW),
                          cnn_pair_str(p3, sizeof p3, g->nd, g->DH, g->DW),
                          cnn_pair_str(p4, sizeof p4, g->nd, nh < 0 ? 0 : g->OH, nw < 0 ? 0 : g->OW));
    cnn_shape ys = conv_out_shape(g);
    if (conv_numel(&ys) < 0)
        return cnn_seterr(c, "output %s is too large (the element count overflows): input %s with kernel %s, "
                             "stride %s, padding %s and dilation %s", cnn_shape_str(d1, sizeof d1, ys.ndim, ys.size),
                          cnn_shape_str(d2, sizeof d2, x->ndim, x->size), cnn_pair_str(p1, sizeof p1, g->nd, g->KH, g->KW),
                          cnn_pair_str(p2, sizeof p2, g->nd, g->SH, g->SW), cnn_pair_str(p3, sizeof p3, g->nd, g->PH, g->PW),
                          cnn_pair_str(p4, sizeof p4, g->nd, g->DH, g->DW));
    /* BLAS takes int dimensions; one image's im2col matrix must fit. The plans rely on this:
     * C*KH*KW, OH*OW and OC below 2^31, so that their products fit in int64. */
    int64_t OHW = g->OH * g->OW;              /* at most the output's element count */
    int64_t CK = mul_sat(mul_sat(g->C, g->KH), g->KW);
    if (OHW > INT_MAX || CK > INT_MAX || g->OC > INT_MAX || (OHW && CK > INT_MAX / OHW))
        return cnn_seterr(c, "convolution too large for BLAS (input %s, weight %s)",
                          cnn_shape_str(d1, sizeof d1, x->ndim, x->size), cnn_shape_str(d2, sizeof d2, w->ndim, w->size));
    return 0;
}

/* chooses the path for g (checked by conv_geom_init): Winograd where it applies and pays, else
 * the direct forward where it applies, else im2col (always planned: the direct path's
 * backward); algo (cnn_get_conv_algo) forces im2col everywhere, or Winograd wherever it applies */
static void conv_plan_init(conv_plan *P, const conv_geom *g, cnn_dtype dt, int threads, int algo) {
    size_t dts = cnn_dtype_size(dt);
    P->g = *g;
    P->threads = threads;
    im2col_plan_init(&P->im, g, dts, threads);
    P->wino = algo != CNN_CONV_IM2COL && wino_plan_init(&P->wp, g, threads, algo == CNN_CONV_WINOGRAD);
    P->direct = algo == CNN_CONV_AUTO && !P->wino && direct_plan_init(&P->dp, g, dts, threads);
}

/* the workspace of the planned path (the direct path's forward and its im2col backward share one) */
static size_t conv_ws_bytes(const conv_plan *P, cnn_dtype dt) {
    if (P->wino) return (size_t)wino_ws(&P->g, &P->wp) * cnn_dtype_size(dt);
    size_t n = (size_t)im2col_ws(&P->g, &P->im);
    if (P->direct && (size_t)direct_ws(&P->g, &P->dp) > n) n = (size_t)direct_ws(&P->g, &P->dp);
    return (n ? n : 1) * cnn_dtype_size(dt);
}

/* saves: x and w (contiguous, in the user's layout); extra: the conv_plan */
static int conv2d_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const conv_plan *P = n->extra;
    const conv_geom *g = &P->g;
    const cnn_tensor *x = cnn_node_saved(c, n, 0), *w = cnn_node_saved(c, n, 1);
    if (x == NULL || w == NULL) return -1;
    cnn_tensor *d = cnn_contiguous_as(c, dy, x->dtype);
    if (d == NULL) return -1;
    for (int i = 0; i < 3; i++)
        if (n->in[i].node && (dx[i] = cnn_full(c, &n->in[i].shape, x->dtype, 0.0)) == NULL) goto fail;
    void *ws = cnn_ws_get(c, conv_ws_bytes(P, x->dtype));
    if (ws == NULL) goto fail;
    void *dxp = dx[0] ? cnn_data(dx[0]) : NULL, *dwp = dx[1] ? cnn_data(dx[1]) : NULL;
    void *dbp = dx[2] ? cnn_data(dx[2]) : NULL;
    if (g->N == 0 || g->OH * g->OW == 0 || g->OC == 0) {
        /* the sums are empty: 0 */
    } else if (P->wino) {
        if (x->dtype == CNN_F32) wino_bwd_f32(dxp, dwp, dbp, cnn_data(d), cnn_data(x), cnn_data(w), g, &P->wp, ws);
        else wino_bwd_f64(dxp, dwp, dbp, cnn_data(d), cnn_data(x), cnn_data(w), g, &P->wp, ws);
    } else {
        if (x->dtype == CNN_F32) conv2d_bwd_f32(dxp, dwp, dbp, cnn_data(d), cnn_data(x), cnn_data(w), g, &P->im, ws);
        else conv2d_bwd_f64(dxp, dwp, dbp, cnn_data(d), cnn_data(x), cnn_data(w), g, &P->im, ws);
    }
    cnn_tensor_release(d);
    return 0;
fail:
    cnn_tensor_release(d);
    for (int i = 0; i < 3; i++) { cnn_tensor_release(dx[i]); dx[i] = NULL; }
    return -1;
}
static void conv2d_release(cnn_node *n) { free(n->extra); }
/* one backward for both: the kernels see contiguous data and g, and (N,C,L) or an unbatched
 * (C,H,W) is laid out as (N,C,1,L) or (1,C,H,W); the node's name is the function the user called */
static const cnn_op op_conv2d = { "conv2d", conv2d_backward, conv2d_release };
static const cnn_op op_conv1d = { "conv1d", conv2d_backward, conv2d_release };

/* the user's x, w, b|NULL (any layout conv_geom_init accepts) by the path P chose: the kernels
 * run on contiguous copies, which have the memory of (N,C,H,W) and (OC,C/G,KH,KW) */
static cnn_tensor *conv_run(cnn_ctx *c, const cnn_tensor *x0, const cnn_tensor *w0, const cnn_tensor *b0,
                            const conv_plan *P, const conv_epi *e) {
    const conv_geom *g = &P->g;
    cnn_tensor *x = cnn_contiguous_as(c, x0, x0->dtype);
    cnn_tensor *w = x ? cnn_contiguous_as(c, w0, x0->dtype) : NULL;
    cnn_tensor *b = (w && b0) ? cnn_contiguous_as(c, b0, x0->dtype) : NULL;
    cnn_shape ys = conv_out_shape(g);
    cnn_tensor *y = (w && (b || !b0)) ? cnn_empty(c, &ys, x0->dtype) : NULL;
    void *ws = y ? cnn_ws_get(c, conv_ws_bytes(P, x0->dtype)) : NULL;
    if (ws == NULL) { cnn_tensor_release(y); y = NULL; goto done; }
    void *yp = cnn_data(y), *xp = cnn_data(x), *wp = cnn_data(w), *bp = b ? cnn_data(b) : NULL;
    if (cnn_numel(y) == 0) {
        /* nothing to compute */
    } else if (P->wino || P->direct) {
        if (P->wino && x0->dtype == CNN_F32) wino_fwd_f32(yp, xp, wp, bp, g, &P->wp, ws);
        else if (P->wino) wino_fwd_f64(yp, xp, wp, bp, g, &P->wp, ws);
        else if (x0->dtype == CNN_F32) direct_fwd_f32(yp, xp, wp, bp, g, &P->dp, ws);
        else direct_fwd_f64(yp, xp, wp, bp, g, &P->dp, ws);
        if (e && x0->dtype == CNN_F32) conv_epi_all_f32(yp, e, g, P->threads);   /* one pass afterwards */
        else if (e) conv_epi_all_f64(yp, e, g, P->threads);
    } else {
        if (x0->dtype == CNN_F32) conv2d_fwd_f32(yp, xp, wp, bp, g, &P->im, ws, e);
        else conv2d_fwd_f64(yp, xp, wp, bp, g, &P->im, ws, e);
    }
    if (cnn_needs_grad(c, x0, w0) || (b0 && cnn_needs_grad(c, b0, NULL))) {
        conv_plan *keep = malloc(sizeof *keep);
        if (keep == NULL) { cnn_seterr(c, "out of memory"); cnn_tensor_release(y); y = NULL; goto done; }
        *keep = *P;
        const cnn_tensor *ins[3] = { x0, w0, b0 };
        cnn_node *n = cnn_record(c, g->nd == 2 ? &op_conv2d : &op_conv1d, &y, 3, ins);
        if (n == NULL) { free(keep); goto done; }
        n->extra = keep;
        cnn_node_save(n, 0, x);
        cnn_node_save(n, 1, w);
    }
done:
    cnn_tensor_release(x);
    cnn_tensor_release(w);
    cnn_tensor_release(b);
    return y;
}

/* checks, plans and runs; stride, padding and dilation as {h, w} (conv1d: {1, s}, {0, p}, {1, d}) */
static cnn_tensor *conv_nd(cnn_ctx *c, int nd, const cnn_tensor *x, const cnn_tensor *w, const cnn_tensor *b,
                           const int64_t *stride, const int64_t *pad, const int64_t *dil, int64_t groups) {
    conv_geom g;
    if (conv_geom_init(c, &g, nd, x, w, b, stride, pad, dil, groups) < 0) return NULL;
    conv_plan P;
    conv_plan_init(&P, &g, x->dtype, cnn_get_num_threads(c), cnn_get_conv_algo(c));
    return conv_run(c, x, w, b, &P, NULL);
}

cnn_tensor *cnn_conv2d(cnn_ctx *c, const cnn_tensor *x, const cnn_tensor *w, const cnn_tensor *b,
                       const int64_t stride[2], const int64_t padding[2], const int64_t dilation[2],
                       int64_t groups) {
    return conv_nd(c, 2, x, w, b, stride, padding, dilation, groups);
}

cnn_tensor *cnn_conv1d(cnn_ctx *c, const cnn_tensor *x, const cnn_tensor *w, const cnn_tensor *b,
                       int64_t stride, int64_t padding, int64_t dilation, int64_t groups) {
    int64_t s[2] = { 1, stride }, p[2] = { 0, padding }, d[2] = { 1, dilation };
    return conv_nd(c, 1, x, w, b, s, p, d, groups);
}

/* padding = "same" (stride 1), as PyTorch: each spatial dimension needs dilation * (k - 1) zeros
 * in all, half of them (rounded down) before and the rest after, so an odd total puts the extra
 * zero on the right / bottom. The symmetric part is the convolution's own padding; the extra one
 * pads a copy of the input (cnn_pad, which carries the gradient back), as PyTorch does. */
cnn_tensor *cnn_conv_same(cnn_ctx *c, int nd, const cnn_tensor *x, const cnn_tensor *w, const cnn_tensor *b,
                          const int64_t dilation[2], int64_t groups) {
    int64_t s[2] = { 1, 1 }, p[2] = { 0, 0 }, d[2] = { nd == 2 ? dilation[0] : 1, dilation[1] }, extra[2] = { 0, 0 };
    if (w->ndim == nd + 2) {
        for (int i = 2 - nd; i < 2; i++) {
            int64_t k = w->size[w->ndim - 2 + i], total;
            if (k >= 1 && d[i] >= 1) {
                if (__builtin_mul_overflow(d[i], k - 1, &total))
                    return cnn_seterr(c, "argument 4 (options): dilation %lld with a kernel of %lld makes padding \"same\" overflow",
                                      (long long)d[i], (long long)k), NULL;
                p[i] = total / 2;
                extra[i] = total - 2 * p[i];
            }
        }
    }
    conv_geom g;                                 /* the checks first, with the symmetric padding */
    if (conv_geom_init(c, &g, nd, x, w, b, s, p, d, groups) < 0) return NULL;
    if (extra[0] == 0 && extra[1] == 0) return conv_nd(c, nd, x, w, b, s, p, d, groups);
    int64_t pads[4] = { 0, extra[1], 0, extra[0] };      /* (left, right) of W, then of H */
    cnn_tensor *xp = cnn_pad(c, x, pads, 2 * nd, CNN_PAD_CONSTANT, 0);
    if (xp == NULL) return NULL;
    cnn_tensor *y = conv_nd(c, nd, xp, w, b, s, p, d, groups);
    cnn_tensor_release(xp);
    return y;
}

/* conv2d for inference with its batch norm and ReLU folded in: y = conv(x, w) * scale[oc] +
 * shift[oc] (each may be NULL), then max(y, 0) when relu, applied to each part of y as the
 * convolution finishes it (still in cache) instead of two more passes over memory and two more
 * tensors. Records no gradient: refused when one would be recorded. */
cnn_tensor *cnn_conv2d_affine(cnn_ctx *c, const cnn_tensor *x, const cnn_tensor *w, const cnn_tensor *scale,
                              const cnn_tensor *shift, int relu, const int64_t stride[2],
                              const int64_t padding[2], const int64_t dilation[2], int64_t groups) {
    char d1[200];
    if (cnn_needs_grad(c, x, w))
        return cnn_seterr(c, "records no gradient: call it with gradients off (no_grad) or on tensors that need none"), NULL;
    conv_geom g;
    if (conv_geom_init(c, &g, 2, x, w, NULL, stride, padding, dilation, groups) < 0) return NULL;
    const cnn_tensor *v[2] = { scale, shift };
    cnn_tensor *cv[2] = { NULL, NULL };
    for (int i = 0; i < 2; i++) {
        if (v[i] == NULL) continue;
        if (v[i]->ndim != 1 || v[i]->size[0] != g.OC || v[i]->dtype != x->dtype) {
            cnn_seterr(c, "argument %d (%s): expected a 1-D %s tensor of %lld elements, got %s", 3 + i,
                       i ? "shift" : "scale", cnn_dtype_name(x->dtype), (long long)g.OC,
                       cnn_tensor_desc(d1, sizeof d1, v[i]));
            cnn_tensor_release(cv[0]);
            return NULL;
        }
        if ((cv[i] = cnn_contiguous_as(c, v[i], x->dtype)) == NULL) { cnn_tensor_release(cv[0]); return NULL; }
    }
    conv_epi e = { cv[0] ? cnn_data(cv[0]) : NULL, cv[1] ? cnn_data(cv[1]) : NULL, relu != 0 };
    conv_plan P;
    conv_plan_init(&P, &g, x->dtype, cnn_get_num_threads(c), cnn_get_conv_algo(c));
    cnn_tensor *y = conv_run(c, x, w, NULL, &P, &e);
    cnn_tensor_release(cv[0]);
    cnn_tensor_release(cv[1]);
    return y;
}
