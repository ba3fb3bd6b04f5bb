/* op_index.c: cat, stack and index_select, built from views and copies, with their autograd
 * records (narrow of the gradient for cat; index_add for index_select). Dtype-free.
 * Bindings: lua_ops.c; spec: index_spec.lua. */
#include "cnn.h"
#include "tensor.h"
#include "autograd.h"

#include <stdlib.h>
#include <string.h>

/* a header for slice [start, start+len) of dimension d (no autograd) */
static cnn_tensor *slice(cnn_ctx *c, const cnn_tensor *t, int d, int64_t start, int64_t len) {
    int64_t sz[CNN_MAX_DIM];
    memcpy(sz, t->size, sizeof sz);
    sz[d] = len;
    return cnn_make_view(c, t, t->ndim, sz, t->stride, t->offset + start * t->stride[d]);
}

static int cat_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    int d = (int)n->iarg[0];
    int64_t start = 0;
    for (int i = 0; i < n->nin; i++) {
        int64_t len = n->in[i].shape.size[d];
        if (n->in[i].node) {
            cnn_tensor *s = slice(c, dy, d, start, len);
            if (s == NULL) return -1;
            dx[i] = cnn_to(c, s, n->in[i].dtype);
            cnn_tensor_release(s);
            if (dx[i] == NULL) return -1;
        }
        start += len;
    }
    return 0;
}
static const cnn_op op_cat = { "cat", cat_backward, NULL };

cnn_tensor *cnn_cat(cnn_ctx *c, cnn_tensor *const *ts, int n, int d) {
    char a[200], b[200];
    if (n <= 0) { cnn_seterr(c, "expected a non-empty list of tensors"); return NULL; }
    const cnn_tensor *t0 = ts[0];
    cnn_dtype dt = t0->dtype;              /* promoted: float64 over float32 over int64 */
    int64_t total = 0;
    if (d < 0 || d >= t0->ndim) {
        cnn_seterr(c, "dimension %d is out of range for tensors of %d dimensions", d + 1, t0->ndim);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        const cnn_tensor *t = ts[i];
        int ok = t->ndim == t0->ndim;
        for (int k = 0; ok && k < t->ndim; k++) if (k != d && t->size[k] != t0->size[k]) ok = 0;
        if (!ok) {
            cnn_seterr(c, "tensor %d has shape %s, which does not match %s except in dimension %d", i + 1,
                       cnn_shape_str(a, sizeof a, t->ndim, t->size), cnn_shape_str(b, sizeof b, t0->ndim, t0->size), d + 1);
            return NULL;
        }
        if (t->dtype == CNN_F64 || dt == CNN_F64) dt = CNN_F64;
        else if (t->dtype == CNN_F32 || dt == CNN_F32) dt = CNN_F32;
        total += t->size[d];
    }
    cnn_shape s = cnn_shape_of(t0);
    s.size[d] = total;
    cnn_tensor *y = cnn_empty(c, &s, dt);
    if (y == NULL) return NULL;
    int64_t start = 0;
    int mode = cnn_set_grad_enabled(c, 0);
    for (int i = 0; i < n; i++) {
        cnn_tensor *v = slice(c, y, d, start, ts[i]->size[d]);
        int rc = v ? cnn_copy_(c, v, ts[i]) : -1;
        cnn_tensor_release(v);
        if (rc < 0) { cnn_set_grad_enabled(c, mode); cnn_tensor_release(y); return NULL; }
        start += ts[i]->size[d];
    }
    cnn_set_grad_enabled(c, mode);
    cnn_node *nd = cnn_record(c, &op_cat, &y, n, (const cnn_tensor *const *)ts);
    if (nd) nd->iarg[0] = d;
    return y;
}

cnn_tensor *cnn_stack(cnn_ctx *c, cnn_tensor *const *ts, int n, int d) {
    char a[200], b[200];
    if (n <= 0) { cnn_seterr(c, "expected a non-empty list of tensors"); return NULL; }
    if (d < 0 || d > ts[0]->ndim) {
        cnn_seterr(c, "dimension %d is out of range for stacking tensors of %d dimensions", d + 1, ts[0]->ndim);
        return NULL;
    }
    cnn_shape s0 = cnn_shape_of(ts[0]);
    cnn_tensor **u = calloc((size_t)n, sizeof *u);
    if (u == NULL) { cnn_seterr(c, "out of memory"); return NULL; }
    cnn_tensor *y = NULL;
    int i;
    for (i = 0; i < n; i++) {
        cnn_shape si = cnn_shape_of(ts[i]);
        if (!cnn_shape_eq(&si, &s0)) {
            cnn_seterr(c, "tensor %d has shape %s but tensor 1 has %s: stacked tensors must have equal shapes", i + 1,
                       cnn_shape_str(a, sizeof a, si.ndim, si.size), cnn_shape_str(b, sizeof b, s0.ndim, s0.size));
            break;
        }
        if ((u[i] = cnn_unsqueeze(c, ts[i], d)) == NULL) break;
    }
    if (i == n) y = cnn_cat(c, u, n, d);
    for (i = 0; i < n; i++) cnn_tensor_release(u[i]);
    free(u);
    return y;
}

static int index_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    int d = (int)n->iarg[0];
    int64_t cnt = n->iarg[1];
    const int64_t *idx = n->extra;
    cnn_tensor *g = cnn_full(c, &n->in[0].shape, n->in[0].dtype, 0.0);
    if (g == NULL) return -1;
    for (int64_t k = 0; k < cnt; k++) {
        cnn_tensor *dst = slice(c, g, d, idx[k], 1), *src = slice(c, dy, d, k, 1);
        int rc = (dst && src) ? cnn_binary_(c, CNN_ADD, dst, src) : -1;
        cnn_tensor_release(dst);
        cnn_tensor_release(src);
        if (rc < 0) { cnn_tensor_release(g); return -1; }
    }
    dx[0] = g;
    return 0;
}
static void index_release(cnn_node *n) { free(n->extra); }
static const cnn_op op_index_select = { "index_select", index_backward, index_release };

cnn_tensor *cnn_index_select(cnn_ctx *c, cnn_tensor *t, int d, const int64_t *idx, int64_t n) {
    for (int64_t k = 0; k < n; k++)
        if (idx[k] < 0 || idx[k] >= t->size[d]) {
            cnn_seterr(c, "index %lld (position %lld) is out of range for dimension %d of size %lld",
                       (long long)idx[k] + 1, (long long)k + 1, d + 1, (long long)t->size[d]);
            return NULL;
        }
    cnn_shape s = cnn_shape_of(t);
    s.size[d] = n;
    cnn_tensor *y = cnn_empty(c, &s, t->dtype);
    if (y == NULL) return NULL;
    int mode = cnn_set_grad_enabled(c, 0);
    for (int64_t k = 0; k < n; k++) {
        cnn_tensor *dst = slice(c, y, d, k, 1), *src = slice(c, t, d, idx[k], 1);
        int rc = (dst && src) ? cnn_copy_(c, dst, src) : -1;
        cnn_tensor_release(dst);
        cnn_tensor_release(src);
        if (rc < 0) { cnn_set_grad_enabled(c, mode); cnn_tensor_release(y); return NULL; }
    }
    cnn_set_grad_enabled(c, mode);
    const cnn_tensor *ins[1] = { t };
    cnn_node *nd = cnn_record(c, &op_index_select, &y, 1, ins);
    if (nd) {
        int64_t *copy = malloc((size_t)(n ? n : 1) * sizeof *copy);
        if (copy == NULL) { cnn_tensor_release(y); cnn_seterr(c, "out of memory"); return NULL; }
        memcpy(copy, idx, (size_t)n * sizeof *copy);
        nd->extra = copy;
        nd->iarg[0] = d;
        nd->iarg[1] = n;
    }
    return y;
}
