/* op_reduce.c: sum, mean, max, min, argmax, argmin, var over all elements or one dimension,
 * and their autograd records. The sums themselves (and sum_to, the gradient of broadcasting)
 * are tensor.c's plain sums. Kernels: op_reduce.inc. Bindings: lua_ops.c; spec: reduce_spec.lua. */
#include "cnn.h"
#include "tensor.h"
#include "autograd.h"

#include <math.h>

#define CNN_GEN_FILE "op_reduce.inc"
#include "gen.h"

static const char *const red_names[] = { "sum", "mean", "max", "min", "argmax", "argmin" };

/* dy of the reduced shape -> broadcastable to the input (re-insert the reduced dim) */
static cnn_tensor *unreduce(cnn_ctx *c, const cnn_tensor *dy, const cnn_shape *in, int dim, int keepdim) {
    cnn_shape s = *in;
    if (dim < 0) for (int i = 0; i < s.ndim; i++) s.size[i] = 1;
    else s.size[dim] = 1;
    (void)keepdim;
    return cnn_reshape(c, (cnn_tensor *)dy, &s);
}

static int reduce_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    cnn_redop op = (cnn_redop)n->iarg[0];
    int dim = (int)n->iarg[1];
    const cnn_shape *in = &n->in[0].shape;
    cnn_tensor *g = unreduce(c, dy, in, dim, (int)n->iarg[2]);
    if (g == NULL) return -1;
    cnn_tensor *r = NULL;
    if (op == CNN_SUM || op == CNN_MEAN) {
        cnn_tensor *e = cnn_expand(c, g, in);
        if (e && op == CNN_MEAN) {
            int64_t cnt = dim < 0 ? cnn_shape_numel(in) : in->size[dim];
            r = cnn_binary_scalar(c, CNN_DIV, e, (double)cnt, 0);
            cnn_tensor_release(e);
        } else {
            r = e;
        }
    } else if (dim < 0) {                 /* max/min of all: split evenly among the ties */
        const cnn_tensor *x = cnn_node_saved(c, n, 0), *y = cnn_node_saved(c, n, 1);
        cnn_tensor *m = NULL, *k = NULL, *q = NULL;
        if (x && y && (m = cnn_binary(c, CNN_EQ, x, y)) && (k = cnn_reduce(c, CNN_SUM, m, -1, 0)) &&
            (q = cnn_binary(c, CNN_DIV, m, k)))
            r = cnn_binary(c, CNN_MUL, q, g);
        cnn_tensor_release(m); cnn_tensor_release(k); cnn_tensor_release(q);
    } else {                              /* max/min over a dim: to the chosen index */
        const cnn_tensor *idx = cnn_node_saved(c, n, 0);
        int64_t outer, len, inner;
        cnn_tensor *gc = NULL;
        if (idx && (gc = cnn_contiguous_as(c, g, n->in[0].dtype)) && (r = cnn_full(c, in, n->in[0].dtype, 0.0))) {
            cnn_split3(r, dim, &outer, &len, &inner);
            if (r->dtype == CNN_F32) scatter_dim_f32(outer, len, inner, cnn_data(r), cnn_data(gc), cnn_data(idx));
            else scatter_dim_f64(outer, len, inner, cnn_data(r), cnn_data(gc), cnn_data(idx));
        }
        cnn_tensor_release(gc);
    }
    cnn_tensor_release(g);
    dx[0] = r;
    return r ? 0 : -1;
}
static const cnn_op reduce_ops[] = {
    { "sum", reduce_backward, NULL }, { "mean", reduce_backward, NULL },
    { "max", reduce_backward, NULL }, { "min", reduce_backward, NULL },
};

static int check_nonempty(cnn_ctx *c, cnn_redop op, const cnn_tensor *a, int dim) {
    int64_t n = dim < 0 ? cnn_numel(a) : a->size[dim];
    if (n == 0 && op != CNN_SUM && op != CNN_MEAN)
        return cnn_seterr(c, "%s of an empty tensor (or dimension) is undefined", red_names[op]);
    return 0;
}

/* int64 (no autograd): sums (wrapping, as PyTorch), max/min into *val and/or their 0-based
 * indices into *idx (either may be NULL); mean is refused, as PyTorch does */
static int reduce_i64(cnn_ctx *c, cnn_redop op, const cnn_tensor *a, int dim, int keepdim,
                      cnn_tensor **val, cnn_tensor **idx) {
    if (op == CNN_MEAN) return cnn_seterr(c, "mean of an int64 tensor is not defined (use float() or double() first)");
    if (check_nonempty(c, op, a, dim) < 0) return -1;
    cnn_shape s = cnn_reduced_shape(a, dim, keepdim);
    cnn_tensor *x = cnn_contiguous_as(c, a, CNN_I64);
    cnn_tensor *v = x && val ? cnn_empty(c, &s, CNN_I64) : NULL;
    cnn_tensor *i = x && idx ? cnn_empty(c, &s, CNN_I64) : NULL;
    if (x == NULL || (val && v == NULL) || (idx && i == NULL)) {
        cnn_tensor_release(x); cnn_tensor_release(v); cnn_tensor_release(i);
        return -1;
    }
    int64_t outer, n, inner;
    if (dim < 0) { outer = 1; n = cnn_numel(a); inner = 1; }
    else cnn_split3(a, dim, &outer, &n, &inner);
    const int64_t *p = cnn_data(x);
    int64_t *pv = v ? cnn_data(v) : NULL, *pi = i ? cnn_data(i) : NULL;
    int want_max = op == CNN_MAX || op == CNN_ARGMAX;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            const int64_t *q = p + o * n * inner + j;
            if (op == CNN_SUM) {
                uint64_t sum = 0;
                for (int64_t k = 0; k < n; k++) sum += (uint64_t)q[k * inner];
                pv[o * inner + j] = (int64_t)sum;
                continue;
            }
            int64_t best = q[0], bi = 0;
            for (int64_t k = 1; k < n; k++)
                if (want_max ? q[k * inner] > best : q[k * inner] < best) { best = q[k * inner]; bi = k; }
            if (pv) pv[o * inner + j] = best;
            if (pi) pi[o * inner + j] = bi;
        }
    cnn_tensor_release(x);
    if (val) *val = v;
    if (idx) *idx = i;
    return 0;
}

cnn_tensor *cnn_reduce(cnn_ctx *c, cnn_redop op, const cnn_tensor *a, int dim, int keepdim) {
    if (a->dtype == CNN_I64) {
        cnn_tensor *r = NULL;
        int arg = op == CNN_ARGMAX || op == CNN_ARGMIN;
        if (reduce_i64(c, op, a, dim, keepdim, arg ? NULL : &r, arg ? &r : NULL) < 0) return NULL;
        return r;
    }
    if (dim >= 0 && (op == CNN_MAX || op == CNN_MIN)) {
        cnn_tensor *v, *i;
        if (cnn_reduce_idx(c, op, a, dim, keepdim, &v, &i) < 0) return NULL;
        cnn_tensor_release(i);
        return v;
    }
    if (check_nonempty(c, op, a, dim) < 0) return NULL;
    cnn_tensor *x = NULL, *y;
    if (op == CNN_SUM || op == CNN_MEAN) {
        int64_t n = dim < 0 ? cnn_numel(a) : a->size[dim];
        double scale = op == CNN_MEAN ? 1.0 / (double)n : 1.0;   /* mean of nothing is NaN, as PyTorch */
        if (op == CNN_MEAN && n == 0) scale = NAN;
        if ((y = cnn_sum_plain(c, a, dim, keepdim, scale)) == NULL) return NULL;
    } else {
        cnn_shape s = cnn_reduced_shape(a, dim, keepdim);
        if ((x = cnn_contiguous_as(c, a, a->dtype)) == NULL) return NULL;
        int arg = op == CNN_ARGMAX || op == CNN_ARGMIN;       /* indices are int64, as PyTorch */
        if ((y = cnn_empty(c, &s, arg ? CNN_I64 : a->dtype)) == NULL) { cnn_tensor_release(x); return NULL; }
        int64_t outer, n, inner;
        if (dim < 0) { outer = 1; n = cnn_numel(a); inner = 1; }
        else cnn_split3(a, dim, &outer, &n, &inner);
        int want_max = op == CNN_MAX || op == CNN_ARGMAX;
        if (a->dtype == CNN_F32) maxmin_dim_f32(want_max, outer, n, inner, cnn_data(x), arg ? NULL : cnn_data(y), arg ? cnn_data(y) : NULL);
        else maxmin_dim_f64(want_max, outer, n, inner, cnn_data(x), arg ? NULL : cnn_data(y), arg ? cnn_data(y) : NULL);
    }
    if (op <= CNN_MIN) {
        const cnn_tensor *ins[1] = { a };
        cnn_node *nd = cnn_record(c, &reduce_ops[op], &y, 1, ins);
        if (nd) {
            nd->iarg[0] = op; nd->iarg[1] = dim; nd->iarg[2] = keepdim;
            if (op == CNN_MAX || op == CNN_MIN) {
                cnn_tensor *yd = cnn_detach(c, y);
                if (yd == NULL) { cnn_tensor_release(y); y = NULL; }
                else { cnn_node_save(nd, 0, x); cnn_node_save(nd, 1, yd); cnn_tensor_release(yd); }
            }
        }
    }
    cnn_tensor_release(x);
    return y;
}

int cnn_reduce_idx(cnn_ctx *c, cnn_redop op, const cnn_tensor *a, int dim, int keepdim,
                   cnn_tensor **values, cnn_tensor **indices) {
    *values = *indices = NULL;
    if (a->dtype == CNN_I64) return reduce_i64(c, op, a, dim, keepdim, values, indices);
    if (check_nonempty(c, op, a, dim) < 0) return -1;
    cnn_shape s = cnn_reduced_shape(a, dim, keepdim);
    cnn_tensor *x = cnn_contiguous_as(c, a, a->dtype);
    cnn_tensor *v = x ? cnn_empty(c, &s, a->dtype) : NULL;
    cnn_tensor *i = v ? cnn_empty(c, &s, CNN_I64) : NULL;
    if (i == NULL) { cnn_tensor_release(x); cnn_tensor_release(v); return -1; }
    int64_t outer, n, inner;
    cnn_split3(a, dim, &outer, &n, &inner);
    int want_max = op == CNN_MAX || op == CNN_ARGMAX;
    if (a->dtype == CNN_F32) maxmin_dim_f32(want_max, outer, n, inner, cnn_data(x), cnn_data(v), cnn_data(i));
    else maxmin_dim_f64(want_max, outer, n, inner, cnn_data(x), cnn_data(v), cnn_data(i));
    cnn_tensor_release(x);
    const cnn_tensor *ins[1] = { a };
    cnn_node *nd = cnn_record(c, &reduce_ops[want_max ? CNN_MAX : CNN_MIN], &v, 1, ins);
    if (v == NULL) { cnn_tensor_release(i); return -1; }
    if (nd) { nd->iarg[0] = want_max ? CNN_MAX : CNN_MIN; nd->iarg[1] = dim; nd->iarg[2] = keepdim; cnn_node_save(nd, 0, i); }
    *values = v;
    *indices = i;
    return 0;
}

/* var: dx = dy * 2 (x - mean) / (n - correction) */
static int var_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *x = cnn_node_saved(c, n, 0);
    if (x == NULL) return -1;
    int dim = (int)n->iarg[0];
    int64_t cnt = dim < 0 ? cnn_numel(x) : x->size[dim];
    double k = 2.0 / (double)(cnt - n->iarg[2]);
    cnn_tensor *m = NULL, *d = NULL, *g = NULL, *t = NULL;
    if ((m = cnn_reduce(c, CNN_MEAN, x, dim, 1)) && (d = cnn_binary(c, CNN_SUB, x, m)) &&
        (g = unreduce(c, dy, &n->in[0].shape, dim, 0)) && (t = cnn_binary(c, CNN_MUL, d, g)))
        dx[0] = cnn_binary_scalar(c, CNN_MUL, t, k, 0);
    cnn_tensor_release(m); cnn_tensor_release(d); cnn_tensor_release(g); cnn_tensor_release(t);
    return dx[0] ? 0 : -1;
}
static const cnn_op op_var = { "var", var_backward, NULL };

cnn_tensor *cnn_var(cnn_ctx *c, const cnn_tensor *a, int dim, int keepdim, int correction) {
    cnn_shape s = cnn_reduced_shape(a, dim, keepdim);
    cnn_tensor *x = cnn_contiguous_as(c, a, a->dtype);
    cnn_tensor *y = x ? cnn_empty(c, &s, a->dtype) : NULL;
    if (y == NULL) { cnn_tensor_release(x); return NULL; }
    int64_t outer, n, inner;
    if (dim < 0) { outer = 1; n = cnn_numel(a); inner = 1; }
    else cnn_split3(a, dim, &outer, &n, &inner);
    double scale = n - correction > 0 ? 1.0 / (double)(n - correction) : NAN;
    if (a->dtype == CNN_F32) var_dim_f32(outer, n, inner, cnn_data(x), cnn_data(y), scale);
    else var_dim_f64(outer, n, inner, cnn_data(x), cnn_data(y), scale);
    const cnn_tensor *ins[1] = { a };
    cnn_node *nd = cnn_record(c, &op_var, &y, 1, ins);
    if (nd) { nd->iarg[0] = dim; nd->iarg[1] = keepdim; nd->iarg[2] = correction; cnn_node_save(nd, 0, x); }
    cnn_tensor_release(x);
    return y;
}

/* sum g over the dimensions that broadcasting added or stretched, giving shape s */
