/* op_sort.c: sorting and gathering: sort, topk, gather, scatter_add, cumsum, cumprod, flip, roll,
 * unique, nonzero and searchsorted, with their autograd records (sort and topk values go back
 * through their indices as gather does; gather's backward is a scatter-add). float32, float64 and
 * int64 (no gradients); indices are int64 and 0-based here (the bindings add and remove the 1).
 * Kernels: op_sort.inc. Bindings: lua_sort.c; spec: sort_spec.lua, parity/sort_parity_spec.lua. */
#include "cnn.h"
#include "tensor.h"
#include "autograd.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IS_NAN(v) isnan(v)
#define SORT_FLOAT 1
#define CNN_GEN_FILE "op_sort.inc"
#include "gen.h"
#undef IS_NAN
#undef SORT_FLOAT

/* int64: the same kernels on integers; sums and products in uint64_t wrap as PyTorch's do */
#define IS_NAN(v) 0
#define SORT_FLOAT 0
#define real_t int64_t
#define acc_t uint64_t
#define K(name) name##_i64
#include "op_sort.inc"
#undef real_t
#undef acc_t
#undef K
#undef IS_NAN
#undef SORT_FLOAT

/* ---- helpers ---- */

/* element `flat` of a row-major shape as Lua's 1-based coordinates: "[2,1]" */
static char *pos_str(char *buf, size_t n, int ndim, const int64_t *size, int64_t flat) {
    int64_t p[CNN_MAX_DIM];
    for (int k = ndim - 1; k >= 0; k--) {
        p[k] = size[k] ? flat % size[k] + 1 : 1;
        flat = size[k] ? flat / size[k] : 0;
    }
    return cnn_shape_str(buf, n, ndim, p);
}

/* a 0-d tensor sorts, cumsums, ... as a line of one element */
static void lines_of(const cnn_tensor *x, int d, int64_t *outer, int64_t *n, int64_t *inner) {
    if (x->ndim == 0) { *outer = *n = *inner = 1; return; }
    cnn_split3(x, d, outer, n, inner);
}

static size_t pair_size(cnn_dtype dt) {
    return dt == CNN_F32 ? sizeof(pair_f32) : dt == CNN_F64 ? sizeof(pair_f64) : sizeof(pair_i64);
}

/* scratch of `per` pairs for each of the state's threads */
static void *pair_scratch(cnn_ctx *c, cnn_dtype dt, int64_t per) {
    int64_t T = cnn_get_num_threads(c);
    size_t es = pair_size(dt);
    if (per > 0 && (uint64_t)per > (uint64_t)(SIZE_MAX / 2) / es / (uint64_t)T) { cnn_seterr(c, "out of memory"); return NULL; }
    void *p = cnn_ws_get(c, (size_t)T * (size_t)(per ? per : 1) * es);
    if (p == NULL) cnn_seterr(c, "out of memory");
    return p;
}

cnn_tensor *cnn_index_tensor(cnn_ctx *c, const cnn_tensor *t, int64_t base) {
    char pos[200];
    cnn_shape s = cnn_shape_of(t);
    cnn_tensor *r = cnn_empty(c, &s, CNN_I64);
    if (r == NULL) return NULL;
    int64_t n = cnn_numel(t), *p = cnn_data(r);
    if (t->dtype == CNN_I64) {
        cnn_copy_raw(r, t);
        for (int64_t k = 0; k < n; k++) {
            if (p[k] < INT64_MIN + base) {          /* would overflow: out of range of any dimension */
                cnn_seterr(c, "index %lld at %s is out of range", (long long)p[k], pos_str(pos, sizeof pos, t->ndim, t->size, k));
                cnn_tensor_release(r);
                return NULL;
            }
            p[k] -= base;
        }
        return r;
    }
    cnn_tensor *f = cnn_contiguous_as(c, t, CNN_F64);
    if (f == NULL) { cnn_tensor_release(r); return NULL; }
    const double *v = cnn_data(f);
    for (int64_t k = 0; k < n; k++) {
        if (!(fabs(v[k]) < 9e18) || v[k] != floor(v[k])) {
            cnn_seterr(c, "index %g at %s is not an integer", v[k], pos_str(pos, sizeof pos, t->ndim, t->size, k));
            cnn_tensor_release(f); cnn_tensor_release(r);
            return NULL;
        }
        p[k] = (int64_t)v[k] - base;
    }
    cnn_tensor_release(f);
    return r;
}

/* every idx (contiguous int64, 0-based) in [0, size): else a message naming the first bad one */
static int check_range(cnn_ctx *c, const cnn_tensor *idx, int d, int64_t size) {
    char pos[200];
    const int64_t *p = cnn_data(idx);
    int64_t n = cnn_numel(idx);
    for (int64_t k = 0; k < n; k++)
        if (p[k] < 0 || p[k] >= size) {
            const char *hint = p[k] < 0 ? " (indices count from 1)" : "";
            return cnn_seterr(c, "index %lld at %s is out of range for dimension %d of size %lld%s",
                              (long long)p[k] + 1, pos_str(pos, sizeof pos, idx->ndim, idx->size, k), d + 1,
                              (long long)size, p[k] == -1 ? hint : "");
        }
    return 0;
}

/* the kernel of gather (add = 0) or scatter-add (add = 1) for y's dtype */
static void gather_scatter(int add, const cnn_tensor *idx, int d, cnn_tensor *y, const cnn_tensor *x) {
    const int64_t *ip = cnn_data(idx);
    switch (y->dtype) {
    case CNN_F32: gather_scatter_f32(add, idx->ndim, idx->size, d, ip, cnn_data(y), y->stride, cnn_data(x), x->stride); break;
    case CNN_F64: gather_scatter_f64(add, idx->ndim, idx->size, d, ip, cnn_data(y), y->stride, cnn_data(x), x->stride); break;
    case CNN_I64: gather_scatter_i64(add, idx->ndim, idx->size, d, ip, cnn_data(y), y->stride, cnn_data(x), x->stride); break;
    }
}

/* zeros of shape s (dtype dt) with dy scattered in: the gradient of a gather from a tensor of shape s */
static cnn_tensor *scatter_into_zeros(cnn_ctx *c, const cnn_shape *s, cnn_dtype dt, const cnn_tensor *idx, int d,
                                      const cnn_tensor *dy) {
    cnn_tensor *g = cnn_full(c, s, dt, 0.0);
    cnn_tensor *src = g ? cnn_contiguous_as(c, dy, dt) : NULL;
    if (src == NULL) { cnn_tensor_release(g); return NULL; }
    gather_scatter(1, idx, d, g, src);
    cnn_tensor_release(src);
    return g;
}

/* ---- gather (and the values of sort and topk) ---- */

/* dx = zeros like x, with dy added at the saved indices */
static int gather_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *idx = cnn_node_saved(c, n, 0);
    if (idx == NULL) return -1;
    dx[0] = scatter_into_zeros(c, &n->in[0].shape, n->in[0].dtype, idx, (int)n->iarg[0], dy);
    return dx[0] ? 0 : -1;
}
static const cnn_op op_gather = { "gather", gather_backward, NULL };
static const cnn_op op_sort = { "sort", gather_backward, NULL };
static const cnn_op op_topk = { "topk", gather_backward, NULL };

/* y made from x through idx (0-based, saved) along d: record op's node */
static void record_gather(cnn_ctx *c, const cnn_op *op, cnn_tensor **y, const cnn_tensor *x, int d, const cnn_tensor *idx) {
    const cnn_tensor *ins[1] = { x };
    cnn_node *nd = cnn_record(c, op, y, 1, ins);
    if (nd) { nd->iarg[0] = d; cnn_node_save(nd, 0, idx); }
}

/* index (any dtype already converted: contiguous int64, 0-based) against x for gather; for
 * scatter_add (src != NULL) also against src */
static int check_index_shape(cnn_ctx *c, const cnn_tensor *x, int d, const cnn_tensor *idx, const cnn_tensor *src) {
    char a[200], b[200];
    if (idx->ndim != x->ndim)
        return cnn_seterr(c, "index has %d dimensions but the input has %d: they must have the same number",
                          idx->ndim, x->ndim);
    for (int k = 0; k < x->ndim; k++)
        if (k != d && idx->size[k] > x->size[k])
            return cnn_seterr(c, "index of shape %s is larger than the input of shape %s in dimension %d (only dimension %d may differ)",
                              cnn_shape_str(a, sizeof a, idx->ndim, idx->size), cnn_shape_str(b, sizeof b, x->ndim, x->size), k + 1, d + 1);
    if (src) {
        if (src->ndim != idx->ndim)
            return cnn_seterr(c, "src has %d dimensions but index has %d: they must have the same number", src->ndim, idx->ndim);
        for (int k = 0; k < src->ndim; k++)
            if (idx->size[k] > src->size[k])
                return cnn_seterr(c, "index of shape %s is larger than src of shape %s in dimension %d",
                                  cnn_shape_str(a, sizeof a, idx->ndim, idx->size), cnn_shape_str(b, sizeof b, src->ndim, src->size), k + 1);
    }
    return check_range(c, idx, d, x->ndim ? x->size[d] : 1);
}

cnn_tensor *cnn_gather(cnn_ctx *c, const cnn_tensor *x, int d, const cnn_tensor *index) {
    cnn_tensor *idx = cnn_contiguous_as(c, index, CNN_I64);
    if (idx == NULL) return NULL;
    if (check_index_shape(c, x, d, idx, NULL) < 0) { cnn_tensor_release(idx); return NULL; }
    cnn_shape s = cnn_shape_of(idx);
    cnn_tensor *y = cnn_empty(c, &s, x->dtype);
    if (y) {
        gather_scatter(0, idx, d, y, x);
        record_gather(c, &op_gather, &y, x, d, idx);
    }
    cnn_tensor_release(idx);
    return y;
}

/* ---- scatter_add ---- */

/* out = self + scatter(src): dself = dy, dsrc = dy gathered at the index (0 where src is unread) */
static int scatter_add_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *idx = cnn_node_saved(c, n, 0);
    if (idx == NULL) return -1;
    int d = (int)n->iarg[0];
    if (n->in[0].node && (dx[0] = cnn_to(c, dy, n->in[0].dtype)) == NULL) return -1;
    if (n->in[1].node) {
        cnn_tensor *g = cnn_full(c, &n->in[1].shape, n->in[1].dtype, 0.0);
        cnn_tensor *src = g ? cnn_contiguous_as(c, dy, n->in[1].dtype) : NULL;
        if (src == NULL) { cnn_tensor_release(g); return -1; }
        gather_scatter(0, idx, d, g, src);
        cnn_tensor_release(src);
        dx[1] = g;
    }
    return 0;
}
static const cnn_op op_scatter_add = { "scatter_add", scatter_add_backward, NULL };

/* checks shared by both forms; *idx: the index as contiguous int64 */
static int scatter_prepare(cnn_ctx *c, const cnn_tensor *self, int d, const cnn_tensor *index, const cnn_tensor *src,
                           cnn_tensor **idx) {
    char a[200], b[200];
    *idx = NULL;
    if (src->dtype != self->dtype)
        return cnn_seterr(c, "src is %s but self is %s: they must have the same dtype",
                          cnn_tensor_desc(a, sizeof a, src), cnn_tensor_desc(b, sizeof b, self));
    if ((*idx = cnn_contiguous_as(c, index, CNN_I64)) == NULL) return -1;
    if (check_index_shape(c, self, d, *idx, src) < 0) { cnn_tensor_release(*idx); *idx = NULL; return -1; }
    return 0;
}

int cnn_scatter_add_(cnn_ctx *c, cnn_tensor *self, int d, const cnn_tensor *index, const cnn_tensor *src) {
    char a[200];
    int record = cnn_grad_enabled(c) && (self->requires_grad || src->requires_grad);
    if (record) {
        /* in place with gradients: only on a tensor no other tensor shares memory with (no view
         * of it, and not itself a view), and not on a leaf that requires grad, as PyTorch */
        if (self->requires_grad && self->node == NULL)
            return cnn_seterr(c, "a leaf tensor that requires grad cannot be modified in place (use clone() first, or t:scatter_add)");
        if (self->storage->refcount > 1)
            return cnn_seterr(c, "cannot record an in-place scatter_add_ on %s: it shares its memory with another tensor "
                                 "(a view); use t:scatter_add (not in place) for gradients", cnn_tensor_desc(a, sizeof a, self));
    } else if (cnn_check_inplace(c, self) < 0) return -1;
    for (int i = 0; i < self->ndim; i++)
        if (self->stride[i] == 0 && self->size[i] > 1)
            return cnn_seterr(c, "cannot write in place to %s: it is an expanded view whose elements share memory "
                                 "(use contiguous() or clone() first)", cnn_tensor_desc(a, sizeof a, self));
    cnn_tensor *idx;
    if (scatter_prepare(c, self, d, index, src, &idx) < 0) return -1;
    cnn_tensor *s2 = NULL;                 /* src read through a copy when it shares self's memory */
    if (src->storage == self->storage) {
        cnn_shape ss = cnn_shape_of(src);
        if ((s2 = cnn_empty(c, &ss, src->dtype)) == NULL) { cnn_tensor_release(idx); return -1; }
        cnn_copy_raw(s2, src);
    }
    cnn_node *nd = NULL;
    if (record) {
        if ((nd = cnn_node_new(c, &op_scatter_add, 2)) == NULL ||
            (self->requires_grad && cnn_node_input(c, nd, 0, self) < 0) ||
            (src->requires_grad && cnn_node_input(c, nd, 1, src) < 0)) {
            cnn_node_release(nd); cnn_tensor_release(s2); cnn_tensor_release(idx);
            return nd ? cnn_seterr(c, "out of memory") : -1;
        }
        nd->iarg[0] = d;
        cnn_node_save(nd, 0, idx);
    }
    gather_scatter(1, idx, d, self, s2 ? s2 : src);
    cnn_tensor_release(s2);
    cnn_tensor_release(idx);
    cnn_bump_version(self);
    if (nd) cnn_attach(self, nd);
    return 0;
}

cnn_tensor *cnn_scatter_add(cnn_ctx *c, const cnn_tensor *self, int d, const cnn_tensor *index, const cnn_tensor *src) {
    cnn_tensor *idx;
    if (scatter_prepare(c, self, d, index, src, &idx) < 0) return NULL;
    cnn_shape s = cnn_shape_of(self);
    cnn_tensor *y = cnn_empty(c, &s, self->dtype);
    if (y) cnn_copy_raw(y, self);
    if (y) {
        gather_scatter(1, idx, d, y, src);
        const cnn_tensor *ins[2] = { self, src };
        cnn_node *nd = cnn_record(c, &op_scatter_add, &y, 2, ins);
        if (nd) { nd->iarg[0] = d; cnn_node_save(nd, 0, idx); }
    }
    cnn_tensor_release(idx);
    return y;
}

/* ---- sort and topk ---- */

/* the first k of each line of x along d, sorted; values and 0-based int64 indices */
static int sort_k(cnn_ctx *c, const cnn_op *op, const cnn_tensor *x, int d, int64_t k, int desc,
                  cnn_tensor **values, cnn_tensor **indices) {
    *values = *indices = NULL;
    int64_t outer, n, inner;
    lines_of(x, d, &outer, &n, &inner);
    cnn_shape s = cnn_shape_of(x);
    if (x->ndim) s.size[d] = k;
    cnn_tensor *xc = cnn_contiguous_as(c, x, x->dtype);
    cnn_tensor *v = xc ? cnn_empty(c, &s, x->dtype) : NULL;
    cnn_tensor *i = v ? cnn_empty(c, &s, CNN_I64) : NULL;
    void *p = i ? pair_scratch(c, x->dtype, 2 * n) : NULL;
    if (p == NULL) { cnn_tensor_release(xc); cnn_tensor_release(v); cnn_tensor_release(i); return -1; }
    if (outer * inner * k > 0)
        switch (x->dtype) {
        case CNN_F32: sort_lines_f32(c, outer, n, inner, k, desc, cnn_data(xc), cnn_data(v), cnn_data(i), p); break;
        case CNN_F64: sort_lines_f64(c, outer, n, inner, k, desc, cnn_data(xc), cnn_data(v), cnn_data(i), p); break;
        case CNN_I64: sort_lines_i64(c, outer, n, inner, k, desc, cnn_data(xc), cnn_data(v), cnn_data(i), p); break;
        }
    cnn_tensor_release(xc);
    record_gather(c, op, &v, x, d, i);
    if (v == NULL) { cnn_tensor_release(i); return -1; }
    *values = v;
    *indices = i;
    return 0;
}

int cnn_sort(cnn_ctx *c, const cnn_tensor *x, int d, int descending, cnn_tensor **values, cnn_tensor **indices) {
    return sort_k(c, &op_sort, x, d, x->ndim ? x->size[d] : 1, descending, values, indices);
}

int cnn_topk(cnn_ctx *c, const cnn_tensor *x, int64_t k, int d, int largest, cnn_tensor **values, cnn_tensor **indices) {
    int64_t n = x->ndim ? x->size[d] : 1;
    *values = *indices = NULL;
    if (x->ndim == 0 && k != 1) return cnn_seterr(c, "k = %lld is out of range for a 0-d tensor (one element: k must be 1)", (long long)k);
    if (k < 0 || k > n)
        return cnn_seterr(c, "k = %lld is out of range for dimension %d of size %lld (expected 0..%lld)",
                          (long long)k, d + 1, (long long)n, (long long)n);
    return sort_k(c, &op_topk, x, d, k, largest, values, indices);
}

/* ---- cumsum and cumprod ---- */

static int cumsum_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    int64_t outer, len, inner;
    cnn_tensor *g = cnn_contiguous_as(c, dy, n->in[0].dtype);
    cnn_tensor *r = g ? cnn_empty(c, &n->in[0].shape, n->in[0].dtype) : NULL;
    if (r == NULL) { cnn_tensor_release(g); return -1; }
    lines_of(r, (int)n->iarg[0], &outer, &len, &inner);
    if (r->dtype == CNN_F32) cumsum_bwd_f32(outer, len, inner, cnn_data(g), cnn_data(r));
    else cumsum_bwd_f64(outer, len, inner, cnn_data(g), cnn_data(r));
    cnn_tensor_release(g);
    dx[0] = r;
    return 0;
}

/* saved: x (contiguous) and y (detached) */
static int cumprod_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *x = cnn_node_saved(c, n, 0), *y = cnn_node_saved(c, n, 1);
    if (x == NULL || y == NULL) return -1;
    int64_t outer, len, inner;
    cnn_tensor *g = cnn_contiguous_as(c, dy, x->dtype);
    cnn_tensor *r = g ? cnn_empty(c, &n->in[0].shape, x->dtype) : NULL;
    if (r == NULL) { cnn_tensor_release(g); return -1; }
    lines_of(r, (int)n->iarg[0], &outer, &len, &inner);
    if (r->dtype == CNN_F32) cumprod_bwd_f32(outer, len, inner, cnn_data(g), cnn_data(x), cnn_data(y), cnn_data(r));
    else cumprod_bwd_f64(outer, len, inner, cnn_data(g), cnn_data(x), cnn_data(y), cnn_data(r));
    cnn_tensor_release(g);
    dx[0] = r;
    return 0;
}
static const cnn_op op_cumsum = { "cumsum", cumsum_backward, NULL };
static const cnn_op op_cumprod = { "cumprod", cumprod_backward, NULL };

cnn_tensor *cnn_cum(cnn_ctx *c, const cnn_tensor *x, int d, int prod) {
    int64_t outer, n, inner;
    lines_of(x, d, &outer, &n, &inner);
    cnn_shape s = cnn_shape_of(x);
    cnn_tensor *xc = cnn_contiguous_as(c, x, x->dtype);
    cnn_tensor *y = xc ? cnn_empty(c, &s, x->dtype) : NULL;
    if (y == NULL) { cnn_tensor_release(xc); return NULL; }
    switch (x->dtype) {
    case CNN_F32: cum_f32(outer, n, inner, prod, cnn_data(xc), cnn_data(y)); break;
    case CNN_F64: cum_f64(outer, n, inner, prod, cnn_data(xc), cnn_data(y)); break;
    case CNN_I64: cum_i64(outer, n, inner, prod, cnn_data(xc), cnn_data(y)); break;
    }
    const cnn_tensor *ins[1] = { x };
    cnn_node *nd = cnn_record(c, prod ? &op_cumprod : &op_cumsum, &y, 1, ins);
    if (nd) {
        nd->iarg[0] = d;
        if (prod) {
            cnn_tensor *yd = cnn_detach(c, y);
            if (yd == NULL) { cnn_tensor_release(y); y = NULL; }
            else { cnn_node_save(nd, 0, xc); cnn_node_save(nd, 1, yd); cnn_tensor_release(yd); }
        }
    }
    cnn_tensor_release(xc);
    return y;
}

/* ---- flip and roll: one copy through per-dimension offset tables ---- */

/* a new contiguous copy of x with dimension k flipped where flip[k], rolled by shift[k] (in
 * [0, size)); no autograd */
static cnn_tensor *remap(cnn_ctx *c, const cnn_tensor *x, const int64_t *flip, const int64_t *shift) {
    cnn_shape s = cnn_shape_of(x);
    int64_t total = 0;
    for (int k = 0; k < x->ndim; k++) total += x->size[k];
    cnn_tensor *y = cnn_empty(c, &s, x->dtype);
    int64_t *tab = y ? malloc((size_t)(total ? total : 1) * sizeof *tab) : NULL;
    if (tab == NULL) { if (y) cnn_seterr(c, "out of memory"); cnn_tensor_release(y); return NULL; }
    int64_t *off[CNN_MAX_DIM], *t = tab;
    for (int k = 0; k < x->ndim; k++) {
        int64_t n = x->size[k];
        off[k] = t;
        for (int64_t i = 0; i < n; i++) {
            int64_t j = flip[k] ? n - 1 - i : i;
            j -= shift[k];                          /* output i holds input i - shift */
            if (j < 0) j += n;
            t[i] = j * x->stride[k];
        }
        t += n;
    }
    switch (x->dtype) {
    case CNN_F32: remap_f32(x->ndim, x->size, cnn_data(y), cnn_data(x), off); break;
    case CNN_F64: remap_f64(x->ndim, x->size, cnn_data(y), cnn_data(x), off); break;
    case CNN_I64: remap_i64(x->ndim, x->size, cnn_data(y), cnn_data(x), off); break;
    }
    free(tab);
    return y;
}

/* iarg[k] (k < CNN_MAX_DIM): flip flags or shifts of each dimension */
static int flip_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    int64_t zero[CNN_MAX_DIM] = { 0 };
    cnn_tensor *g = cnn_contiguous_as(c, dy, n->in[0].dtype);
    if (g == NULL) return -1;
    dx[0] = remap(c, g, n->iarg, zero);
    cnn_tensor_release(g);
    return dx[0] ? 0 : -1;
}
static int roll_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    int64_t zero[CNN_MAX_DIM] = { 0 }, back[CNN_MAX_DIM] = { 0 };
    const cnn_shape *s = &n->in[0].shape;
    for (int k = 0; k < s->ndim; k++) back[k] = n->iarg[k] ? s->size[k] - n->iarg[k] : 0;
    cnn_tensor *g = cnn_contiguous_as(c, dy, n->in[0].dtype);
    if (g == NULL) return -1;
    dx[0] = remap(c, g, zero, back);
    cnn_tensor_release(g);
    return dx[0] ? 0 : -1;
}
static const cnn_op op_flip = { "flip", flip_backward, NULL };
static const cnn_op op_roll = { "roll", roll_backward, NULL };

static cnn_tensor *remap_recorded(cnn_ctx *c, const cnn_op *op, const cnn_tensor *x, const int64_t *flip,
                                  const int64_t *shift) {
    cnn_tensor *y = remap(c, x, flip, shift);
    const cnn_tensor *ins[1] = { x };
    cnn_node *nd = cnn_record(c, op, &y, 1, ins);
    if (nd) memcpy(nd->iarg, op == &op_flip ? flip : shift, CNN_MAX_DIM * sizeof *flip);
    return y;
}

cnn_tensor *cnn_flip(cnn_ctx *c, const cnn_tensor *x, const int *dims, int n) {
    int64_t flip[CNN_MAX_DIM] = { 0 }, zero[CNN_MAX_DIM] = { 0 };
    for (int i = 0; i < n; i++) {
        if (dims[i] < 0 || dims[i] >= (x->ndim ? x->ndim : 1)) {
            cnn_seterr(c, "dimension %d is out of range for a tensor of %d dimensions", dims[i] + 1, x->ndim);
            return NULL;
        }
        if (flip[dims[i]]) { cnn_seterr(c, "dimension %d appears more than once in dims", dims[i] + 1); return NULL; }
        flip[dims[i]] = 1;
    }
    return remap_recorded(c, &op_flip, x, flip, zero);
}

cnn_tensor *cnn_roll(cnn_ctx *c, const cnn_tensor *x, const int64_t *shifts, const int *dims, int n) {
    int64_t shift[CNN_MAX_DIM] = { 0 }, zero[CNN_MAX_DIM] = { 0 };
    for (int i = 0; i < n; i++) {
        int d = dims[i];
        if (d < 0 || d >= (x->ndim ? x->ndim : 1)) {
            cnn_seterr(c, "dimension %d is out of range for a tensor of %d dimensions", d + 1, x->ndim);
            return NULL;
        }
        int64_t size = x->ndim ? x->size[d] : 1;
        if (size == 0) continue;
        int64_t m = shifts[i] % size;                  /* in (-size, size): no overflow below */
        if (m < 0) m += size;
        shift[d] = (shift[d] + m) % size;
    }
    return remap_recorded(c, &op_roll, x, zero, shift);
}

/* ---- unique, nonzero, searchsorted (no gradients) ---- */

int cnn_unique(cnn_ctx *c, const cnn_tensor *x, cnn_tensor **values, cnn_tensor **inverse, cnn_tensor **counts) {
    *values = *inverse = *counts = NULL;
    int64_t n = cnn_numel(x);
    cnn_shape s1 = { 1, { n } }, sx = cnn_shape_of(x);
    cnn_tensor *xc = cnn_contiguous_as(c, x, x->dtype);
    cnn_tensor *u = xc ? cnn_empty(c, &s1, x->dtype) : NULL;
    cnn_tensor *inv = u ? cnn_empty(c, &sx, CNN_I64) : NULL;
    cnn_tensor *cnt = inv ? cnn_empty(c, &s1, CNN_I64) : NULL;
    void *p = cnt ? pair_scratch(c, x->dtype, 2 * n) : NULL;
    int64_t m = 0;
    if (p) {
        switch (x->dtype) {
        case CNN_F32: m = unique_f32(cnn_data(xc), n, cnn_data(u), cnn_data(inv), cnn_data(cnt), p); break;
        case CNN_F64: m = unique_f64(cnn_data(xc), n, cnn_data(u), cnn_data(inv), cnn_data(cnt), p); break;
        case CNN_I64: m = unique_i64(cnn_data(xc), n, cnn_data(u), cnn_data(inv), cnn_data(cnt), p); break;
        }
    }
    cnn_tensor_release(xc);
    if (p == NULL) { cnn_tensor_release(u); cnn_tensor_release(inv); cnn_tensor_release(cnt); return -1; }
    /* the first m of the n-element buffers, as views */
    int64_t st[1] = { 1 }, sz[1] = { m };
    *values = cnn_make_view(c, u, 1, sz, st, u->offset);
    *counts = cnn_make_view(c, cnt, 1, sz, st, cnt->offset);
    cnn_tensor_release(u);
    cnn_tensor_release(cnt);
    *inverse = inv;
    if (*values == NULL || *counts == NULL) {
        cnn_tensor_release(*values); cnn_tensor_release(*counts); cnn_tensor_release(*inverse);
        *values = *inverse = *counts = NULL;
        return -1;
    }
    return 0;
}

cnn_tensor *cnn_nonzero(cnn_ctx *c, const cnn_tensor *x) {
    cnn_tensor *xc = cnn_contiguous_as(c, x, x->dtype);
    if (xc == NULL) return NULL;
    int64_t total = cnn_numel(x), cnt = 0;
    switch (x->dtype) {
    case CNN_F32: cnt = count_nonzero_f32(cnn_data(xc), total); break;
    case CNN_F64: cnt = count_nonzero_f64(cnn_data(xc), total); break;
    case CNN_I64: cnt = count_nonzero_i64(cnn_data(xc), total); break;
    }
    cnn_shape s = { 2, { cnt, x->ndim } };
    cnn_tensor *y = cnn_empty(c, &s, CNN_I64);
    if (y) {
        switch (x->dtype) {
        case CNN_F32: nonzero_f32(cnn_data(xc), x->ndim, x->size, total, cnn_data(y)); break;
        case CNN_F64: nonzero_f64(cnn_data(xc), x->ndim, x->size, total, cnn_data(y)); break;
        case CNN_I64: nonzero_i64(cnn_data(xc), x->ndim, x->size, total, cnn_data(y)); break;
        }
    }
    cnn_tensor_release(xc);
    return y;
}

cnn_tensor *cnn_searchsorted(cnn_ctx *c, const cnn_tensor *seq, const cnn_tensor *values, int right) {
    char a[200], b[200];
    if (seq->ndim == 0) {
        cnn_seterr(c, "sorted_sequence must have at least one dimension, got a 0-d tensor");
        return NULL;
    }
    int batched = seq->ndim > 1;
    if (batched) {
        int ok = values->ndim == seq->ndim;
        for (int k = 0; ok && k < seq->ndim - 1; k++) ok = values->size[k] == seq->size[k];
        if (!ok) {
            cnn_seterr(c, "sorted_sequence of shape %s and values of shape %s: their leading dimensions must match "
                          "(all but the last), or sorted_sequence must be 1-D",
                       cnn_shape_str(a, sizeof a, seq->ndim, seq->size), cnn_shape_str(b, sizeof b, values->ndim, values->size));
            return NULL;
        }
    }
    cnn_dtype dt = seq->dtype == values->dtype ? seq->dtype : CNN_F64;
    /* rows of (n sequence elements, m values): one row for a 1-D sequence, else one per leading index */
    int64_t n = seq->size[seq->ndim - 1], rows = 1, m = cnn_numel(values);
    if (batched) {
        for (int k = 0; k < seq->ndim - 1; k++) rows *= seq->size[k];
        m = values->size[values->ndim - 1];
    }
    cnn_shape s = cnn_shape_of(values);
    cnn_tensor *sc = cnn_contiguous_as(c, seq, dt);
    cnn_tensor *vc = sc ? cnn_contiguous_as(c, values, dt) : NULL;
    cnn_tensor *y = vc ? cnn_empty(c, &s, CNN_I64) : NULL;
    if (y)
        for (int64_t r = 0; r < rows && m > 0; r++) {
            int64_t *out = (int64_t *)cnn_data(y) + r * m;
            switch (dt) {
            case CNN_F32: search_f32((const float *)cnn_data(sc) + r * n, n, (const float *)cnn_data(vc) + r * m, m, right, out); break;
            case CNN_F64: search_f64((const double *)cnn_data(sc) + r * n, n, (const double *)cnn_data(vc) + r * m, m, right, out); break;
            case CNN_I64: search_i64((const int64_t *)cnn_data(sc) + r * n, n, (const int64_t *)cnn_data(vc) + r * m, m, right, out); break;
            }
        }
    cnn_tensor_release(sc);
    cnn_tensor_release(vc);
    return y;
}
