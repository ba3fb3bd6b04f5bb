/* op_pad.c: pad in constant, reflect, replicate and circular modes over any trailing dims.
 * Each dimension gets an index map from output to input position (-1: the constant), so one
 * gather does the forward and one scatter-add the backward. Dtype-free: the element loops are
 * plain copies. Bindings: lua_nn.c; spec: pad_spec.lua. */
#include "cnn.h"
#include "tensor.h"
#include "autograd.h"

#include <stdlib.h>
#include <string.h>

static const char *const mode_names[] = { "constant", "reflect", "replicate", "circular" };

typedef struct { int ndim; int64_t *map[CNN_MAX_DIM]; int64_t *buf; } pad_maps;

static void maps_free(pad_maps *m) { if (m) { free(m->buf); free(m); } }
static void pad_release(cnn_node *n) { maps_free(n->extra); }

/* out-position -> in-position for every dim; NULL with a message if a pad is too large */
static pad_maps *maps_new(cnn_ctx *c, const cnn_tensor *x, const int64_t *before, const cnn_shape *out,
                          cnn_pad_mode mode) {
    int64_t total = 0;
    for (int d = 0; d < out->ndim; d++) total += out->size[d];
    pad_maps *m = calloc(1, sizeof *m);
    if (m) m->buf = malloc((size_t)(total ? total : 1) * sizeof *m->buf);
    if (m == NULL || m->buf == NULL) { maps_free(m); cnn_seterr(c, "out of memory"); return NULL; }
    m->ndim = out->ndim;
    int64_t *p = m->buf;
    for (int d = 0; d < out->ndim; d++) {
        int64_t n = x->size[d];
        m->map[d] = p;
        for (int64_t o = 0; o < out->size[d]; o++) {
            int64_t i;
            if (__builtin_sub_overflow(o, before[d], &i)) i = n;   /* a crop near INT64_MIN: outside */
            if (i < 0 || i >= n) {
                if (mode == CNN_PAD_CONSTANT) i = -1;
                else if (mode == CNN_PAD_REPLICATE) i = i < 0 ? 0 : n - 1;
                else if (mode == CNN_PAD_CIRCULAR) i = ((i % n) + n) % n;
                else i = i < 0 ? -i : 2 * (n - 1) - i;        /* reflect about the edge element */
            }
            p[o] = i;
        }
        p += out->size[d];
    }
    return m;
}

/* y[o] = x[map(o)] or value (forward), or dx[map(o)] += dy[o] (backward, dx zeroed first) */
static void pad_walk(int backward, const pad_maps *m, const cnn_shape *out, char *y, const int64_t *ys,
                     char *x, const int64_t *xs, size_t es, int f32, double value) {
    int nd = out->ndim;
    int64_t idx[CNN_MAX_DIM] = { 0 }, total = cnn_shape_numel(out);
    float vf = (float)value;
    for (int64_t k = 0; k < total; k++) {
        int64_t yo = 0, xo = 0;
        int inside = 1;
        for (int d = 0; d < nd; d++) {
            int64_t i = m->map[d][idx[d]];
            yo += idx[d] * ys[d];
            if (i < 0) inside = 0; else xo += i * xs[d];
        }
        char *yp = y + (size_t)yo * es, *xp = x + (size_t)xo * es;
        if (!backward) {
            if (inside) memcpy(yp, xp, es);
            else if (f32) memcpy(yp, &vf, es);
            else memcpy(yp, &value, es);
        } else if (inside) {
            if (f32) *(float *)xp += *(float *)yp;
            else *(double *)xp += *(double *)yp;
        }
        for (int d = nd - 1; d >= 0; d--) {
            if (++idx[d] < out->size[d]) break;
            idx[d] = 0;
        }
    }
}

static int pad_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    pad_maps *m = n->extra;
    cnn_tensor *g = cnn_contiguous_as(c, dy, n->in[0].dtype);
    cnn_tensor *r = g ? cnn_full(c, &n->in[0].shape, n->in[0].dtype, 0.0) : NULL;
    if (r) {
        cnn_shape os = cnn_shape_of(g);
        pad_walk(1, m, &os, cnn_data(g), g->stride, cnn_data(r), r->stride, cnn_dtype_size(r->dtype),
                 r->dtype == CNN_F32, 0);
    }
    cnn_tensor_release(g);
    dx[0] = r;
    return r ? 0 : -1;
}
static const cnn_op op_pad = { "pad", pad_backward, pad_release };

cnn_tensor *cnn_pad(cnn_ctx *c, const cnn_tensor *x, const int64_t *pads, int npads, cnn_pad_mode mode,
                    double value) {
    char a[200];
    if (npads % 2 != 0 || npads / 2 > x->ndim) {
        cnn_seterr(c, "expected an even number of pads, at most 2 per dimension (%d for %s), got %d",
                   2 * x->ndim, cnn_tensor_desc(a, sizeof a, x), npads);
        return NULL;
    }
    int64_t before[CNN_MAX_DIM] = { 0 };
    cnn_shape out = cnn_shape_of(x);
    for (int k = 0; k < npads / 2; k++) {
        int d = x->ndim - 1 - k;
        int64_t lo = pads[2 * k], hi = pads[2 * k + 1], n = x->size[d];
        before[d] = lo;
        if (__builtin_add_overflow(n, lo, &out.size[d]) || __builtin_add_overflow(out.size[d], hi, &out.size[d])) {
            cnn_seterr(c, "argument 2 (pads): pads %lld and %lld of dimension %d of %s are too large (the size overflows)",
                       (long long)lo, (long long)hi, d + 1, cnn_tensor_desc(a, sizeof a, x));
            return NULL;
        }
        if (out.size[d] < 0) {
            cnn_seterr(c, "argument 2 (pads): pads %lld and %lld would give dimension %d of %s a negative size", (long long)lo,
                       (long long)hi, d + 1, cnn_tensor_desc(a, sizeof a, x));
            return NULL;
        }
        int64_t lim = mode == CNN_PAD_REFLECT ? n - 1 : n;   /* reflect never repeats the edge */
        if (mode != CNN_PAD_CONSTANT && (lo > lim || hi > lim || (n == 0 && out.size[d] > 0))) {
            cnn_seterr(c, "argument 2 (pads): %s padding of dimension %d (size %lld) by %lld and %lld: each pad must be at most %lld",
                       mode_names[mode], d + 1, (long long)n, (long long)lo, (long long)hi, (long long)lim);
            return NULL;
        }
    }
    /* before the index maps, whose length is the sum of the output's sizes */
    if (cnn_shape_check(c, &out) < 0) {
        char o[200];
        cnn_seterr(c, "argument 2 (pads): the output %s of padding %s is too large (the element count overflows)",
                   cnn_shape_str(o, sizeof o, out.ndim, out.size), cnn_tensor_desc(a, sizeof a, x));
        return NULL;
    }
    pad_maps *m = maps_new(c, x, before, &out, mode);
    cnn_tensor *y = m ? cnn_empty(c, &out, x->dtype) : NULL;
    if (y == NULL) { maps_free(m); return NULL; }
    pad_walk(0, m, &out, cnn_data(y), y->stride, cnn_data(x), (int64_t *)x->stride, cnn_dtype_size(x->dtype),
             x->dtype == CNN_F32, value);
    const cnn_tensor *ins[1] = { x };
    cnn_node *n = cnn_record(c, &op_pad, &y, 1, ins);
    if (n) n->extra = m;
    else maps_free(m);
    return y;
}
