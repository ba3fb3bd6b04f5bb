/* op_view.c: the view ops (view, reshape, transpose, permute, narrow, select, squeeze,
 * unsqueeze, expand, flatten): new headers on their input's storage, each recorded for
 * autograd. Headers and strides are tensor.c's. Bindings: lua_tensor.c; spec: view_spec.lua. */
#include "cnn.h"
#include "tensor.h"
#include "autograd.h"

#include <string.h>

/* view, reshape, squeeze, unsqueeze, flatten: dx = dy reshaped to the input's shape */
static int reshape_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    dx[0] = cnn_reshape(c, (cnn_tensor *)dy, &n->in[0].shape);
    return dx[0] ? 0 : -1;
}
static const cnn_op op_view = { "view", reshape_backward, NULL };
static const cnn_op op_squeeze = { "squeeze", reshape_backward, NULL };
static const cnn_op op_unsqueeze = { "unsqueeze", reshape_backward, NULL };

static cnn_tensor *record1(cnn_ctx *c, const cnn_op *op, cnn_tensor *y, const cnn_tensor *x, cnn_node **out) {
    const cnn_tensor *ins[1] = { x };
    cnn_node *n = cnn_record(c, op, &y, 1, ins);
    if (out) *out = n;
    return y;
}

/* resolve one -1 against numel; checks the element count */
static int infer_shape(cnn_ctx *c, const cnn_tensor *t, const cnn_shape *s, cnn_shape *out) {
    char a[200], b[200];
    int neg = -1;
    int64_t known = 1;
    *out = *s;
    for (int i = 0; i < s->ndim; i++) {
        if (s->size[i] == -1) {
            if (neg >= 0) return cnn_seterr(c, "only one dimension can be -1, got %s",
                                            cnn_shape_str(a, sizeof a, s->ndim, s->size));
            neg = i;
        } else if (s->size[i] < 0) {
            return cnn_seterr(c, "invalid shape %s", cnn_shape_str(a, sizeof a, s->ndim, s->size));
        } else {
            /* checked before multiplying: the product itself could overflow */
            if (s->size[i] > 0 && known > (INT64_C(1) << 59) / s->size[i])
                return cnn_seterr(c, "shape %s is too large", cnn_shape_str(a, sizeof a, s->ndim, s->size));
            known *= s->size[i];
        }
    }
    int64_t n = cnn_numel(t);
    if (neg >= 0) {
        if (known == 0 || n % known != 0)
            return cnn_seterr(c, "shape %s is invalid for a tensor of shape %s (%lld elements): the -1 cannot be inferred",
                              cnn_shape_str(a, sizeof a, s->ndim, s->size),
                              cnn_shape_str(b, sizeof b, t->ndim, t->size), (long long)n);
        out->size[neg] = n / known;
    } else if (known != n) {
        return cnn_seterr(c, "shape %s is invalid for a tensor of shape %s (%lld elements)",
                          cnn_shape_str(a, sizeof a, s->ndim, s->size),
                          cnn_shape_str(b, sizeof b, t->ndim, t->size), (long long)n);
    }
    return 0;
}

/* strides for viewing t as shape s without a copy, if possible (PyTorch's computeStride) */
static int view_strides(const cnn_tensor *t, const cnn_shape *s, int64_t *stride) {
    if (cnn_numel(t) == 0 || t->ndim == 0) { cnn_contiguous_strides(s->ndim, s->size, stride); return 1; }
    int view_d = s->ndim - 1;
    int64_t chunk_base_stride = t->stride[t->ndim - 1];
    int64_t tensor_numel = 1, view_numel = 1;
    for (int td = t->ndim - 1; td >= 0; td--) {
        tensor_numel *= t->size[td];
        if (td == 0 || (t->size[td - 1] != 1 && t->stride[td - 1] != tensor_numel * chunk_base_stride)) {
            while (view_d >= 0 && (view_numel < tensor_numel || s->size[view_d] == 1)) {
                stride[view_d] = view_numel * chunk_base_stride;
                view_numel *= s->size[view_d];
                view_d--;
            }
            if (view_numel != tensor_numel) return 0;
            if (td > 0) {
                chunk_base_stride = t->stride[td - 1];
                tensor_numel = 1;
                view_numel = 1;
            }
        }
    }
    return view_d == -1;
}

cnn_tensor *cnn_view(cnn_ctx *c, cnn_tensor *t, const cnn_shape *s) {
    cnn_shape r;
    int64_t st[CNN_MAX_DIM];
    if (s->ndim > CNN_MAX_DIM) { cnn_seterr(c, "expected at most %d dimensions", CNN_MAX_DIM); return NULL; }
    if (infer_shape(c, t, s, &r) < 0) return NULL;
    if (!view_strides(t, &r, st)) {
        char a[200], b[200];
        cnn_seterr(c, "cannot view a non-contiguous tensor of shape %s as %s (use reshape or contiguous)",
                   cnn_shape_str(a, sizeof a, t->ndim, t->size), cnn_shape_str(b, sizeof b, r.ndim, r.size));
        return NULL;
    }
    cnn_tensor *y = cnn_make_view(c, t, r.ndim, r.size, st, t->offset);
    return y ? record1(c, &op_view, y, t, NULL) : NULL;
}

cnn_tensor *cnn_reshape(cnn_ctx *c, cnn_tensor *t, const cnn_shape *s) {
    cnn_shape r;
    int64_t st[CNN_MAX_DIM];
    if (s->ndim > CNN_MAX_DIM) { cnn_seterr(c, "expected at most %d dimensions", CNN_MAX_DIM); return NULL; }
    if (infer_shape(c, t, s, &r) < 0) return NULL;
    if (view_strides(t, &r, st)) return cnn_view(c, t, &r);
    cnn_tensor *k = cnn_contiguous_as(c, t, t->dtype);   /* a plain copy, then one node on t */
    if (k == NULL) return NULL;
    cnn_contiguous_strides(r.ndim, r.size, st);
    cnn_tensor *y = cnn_make_view(c, k, r.ndim, r.size, st, k->offset);
    cnn_tensor_release(k);
    return y ? record1(c, &op_view, y, t, NULL) : NULL;
}

static int permute_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    int inv[CNN_MAX_DIM];
    for (int i = 0; i < n->in[0].shape.ndim; i++) inv[n->iarg[i]] = i;
    dx[0] = cnn_permute(c, (cnn_tensor *)dy, inv);
    return dx[0] ? 0 : -1;
}
static const cnn_op op_permute = { "permute", permute_backward, NULL };

/* perm must be a permutation of 0..ndim-1 (checked here) */
cnn_tensor *cnn_permute(cnn_ctx *c, cnn_tensor *t, const int *perm) {
    int seen[CNN_MAX_DIM] = {0};
    int64_t sz[CNN_MAX_DIM], st[CNN_MAX_DIM];
    for (int i = 0; i < t->ndim; i++) {
        if (perm[i] < 0 || perm[i] >= t->ndim || seen[perm[i]]) {
            cnn_seterr(c, "the dimensions are not a permutation of 1..%d", t->ndim);
            return NULL;
        }
        seen[perm[i]] = 1;
        sz[i] = t->size[perm[i]];
        st[i] = t->stride[perm[i]];
    }
    cnn_tensor *y = cnn_make_view(c, t, t->ndim, sz, st, t->offset);
    if (y == NULL) return NULL;
    cnn_node *n;
    y = record1(c, &op_permute, y, t, &n);
    if (n) for (int i = 0; i < t->ndim; i++) n->iarg[i] = perm[i];
    return y;
}

cnn_tensor *cnn_transpose(cnn_ctx *c, cnn_tensor *t, int d0, int d1) {
    int perm[CNN_MAX_DIM];
    for (int i = 0; i < t->ndim; i++) perm[i] = i;
    perm[d0] = d1;
    perm[d1] = d0;
    return cnn_permute(c, t, perm);
}

/* narrow and select: dx = zeros shaped like x with dy copied into the slice */
static int narrow_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    cnn_tensor *g = cnn_full(c, &n->in[0].shape, n->in[0].dtype, 0.0);
    if (g == NULL) return -1;
    int d = (int)n->iarg[0];
    int64_t sz[CNN_MAX_DIM], st[CNN_MAX_DIM];
    int nd = 0;
    for (int i = 0; i < g->ndim; i++) {
        if (i == d && n->iarg[2] < 0) continue;        /* select drops the dimension */
        sz[nd] = i == d ? n->iarg[2] : g->size[i];
        st[nd] = g->stride[i];
        nd++;
    }
    cnn_tensor *slice = cnn_make_view(c, g, nd, sz, st, n->iarg[1] * g->stride[d]);
    if (slice == NULL || cnn_copy_(c, slice, dy) < 0) {
        cnn_tensor_release(slice);
        cnn_tensor_release(g);
        return -1;
    }
    cnn_tensor_release(slice);
    dx[0] = g;
    return 0;
}
static const cnn_op op_narrow = { "narrow", narrow_backward, NULL };
static const cnn_op op_select = { "select", narrow_backward, NULL };

cnn_tensor *cnn_narrow(cnn_ctx *c, cnn_tensor *t, int d, int64_t start, int64_t len) {
    if (start < 0 || len < 0 || start + len > t->size[d]) {
        cnn_seterr(c, "range %lld..%lld is out of bounds for dimension %d of size %lld",
                   (long long)start + 1, (long long)(start + len), d + 1, (long long)t->size[d]);
        return NULL;
    }
    int64_t sz[CNN_MAX_DIM];
    memcpy(sz, t->size, sizeof sz);
    sz[d] = len;
    cnn_tensor *y = cnn_make_view(c, t, t->ndim, sz, t->stride, t->offset + start * t->stride[d]);
    if (y == NULL) return NULL;
    cnn_node *n;
    y = record1(c, &op_narrow, y, t, &n);
    if (n) { n->iarg[0] = d; n->iarg[1] = start; n->iarg[2] = len; }
    return y;
}

cnn_tensor *cnn_select(cnn_ctx *c, cnn_tensor *t, int d, int64_t i) {
    if (i < 0 || i >= t->size[d]) {
        cnn_seterr(c, "index %lld is out of range for dimension %d of size %lld",
                   (long long)i + 1, d + 1, (long long)t->size[d]);
        return NULL;
    }
    int64_t sz[CNN_MAX_DIM], st[CNN_MAX_DIM];
    int nd = 0;
    for (int k = 0; k < t->ndim; k++) {
        if (k == d) continue;
        sz[nd] = t->size[k];
        st[nd] = t->stride[k];
        nd++;
    }
    cnn_tensor *y = cnn_make_view(c, t, nd, sz, st, t->offset + i * t->stride[d]);
    if (y == NULL) return NULL;
    cnn_node *n;
    y = record1(c, &op_select, y, t, &n);
    if (n) { n->iarg[0] = d; n->iarg[1] = i; n->iarg[2] = -1; }
    return y;
}

cnn_tensor *cnn_squeeze(cnn_ctx *c, cnn_tensor *t, int d) {
    int64_t sz[CNN_MAX_DIM], st[CNN_MAX_DIM];
    int nd = 0;
    for (int k = 0; k < t->ndim; k++) {
        if (t->size[k] == 1 && (d < 0 || d == k)) continue;
        sz[nd] = t->size[k];
        st[nd] = t->stride[k];
        nd++;
    }
    cnn_tensor *y = cnn_make_view(c, t, nd, sz, st, t->offset);
    return y ? record1(c, &op_squeeze, y, t, NULL) : NULL;
}

cnn_tensor *cnn_unsqueeze(cnn_ctx *c, cnn_tensor *t, int d) {
    if (t->ndim >= CNN_MAX_DIM) { cnn_seterr(c, "a tensor has at most %d dimensions", CNN_MAX_DIM); return NULL; }
    int64_t sz[CNN_MAX_DIM], st[CNN_MAX_DIM];
    int nd = 0;
    for (int k = 0; k <= t->ndim; k++) {
        if (k == d) {
            sz[nd] = 1;
            st[nd] = k < t->ndim ? t->stride[k] * t->size[k] : 1;
            nd++;
        }
        if (k < t->ndim) { sz[nd] = t->size[k]; st[nd] = t->stride[k]; nd++; }
    }
    cnn_tensor *y = cnn_make_view(c, t, nd, sz, st, t->offset);
    return y ? record1(c, &op_unsqueeze, y, t, NULL) : NULL;
}

static int expand_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    dx[0] = cnn_sum_to(c, dy, &n->in[0].shape);
    return dx[0] ? 0 : -1;
}
static const cnn_op op_expand = { "expand", expand_backward, NULL };

cnn_tensor *cnn_expand(cnn_ctx *c, cnn_tensor *t, const cnn_shape *s) {
    char a[200], b[200];
    if (s->ndim < t->ndim) {
        cnn_seterr(c, "cannot expand shape %s to %s (fewer dimensions)",
                   cnn_shape_str(a, sizeof a, t->ndim, t->size), cnn_shape_str(b, sizeof b, s->ndim, s->size));
        return NULL;
    }
    int64_t sz[CNN_MAX_DIM], st[CNN_MAX_DIM];
    int off = s->ndim - t->ndim;
    for (int i = 0; i < s->ndim; i++) {
        int j = i - off;
        int64_t want = s->size[i];
        if (j < 0) {
            if (want < 0) goto bad;
            sz[i] = want; st[i] = 0;
        } else if (want == -1 || want == t->size[j]) {
            sz[i] = t->size[j]; st[i] = t->stride[j];
        } else if (t->size[j] == 1 && want >= 0) {
            sz[i] = want; st[i] = 0;
        } else {
            goto bad;
        }
    }
    cnn_shape r = { s->ndim, {0} };
    memcpy(r.size, sz, sizeof r.size);
    if (cnn_shape_check(c, &r) < 0) return NULL;     /* no storage, but numel must not overflow */
    cnn_tensor *y = cnn_make_view(c, t, s->ndim, sz, st, t->offset);
    return y ? record1(c, &op_expand, y, t, NULL) : NULL;
bad:
    cnn_seterr(c, "cannot expand shape %s to %s",
               cnn_shape_str(a, sizeof a, t->ndim, t->size), cnn_shape_str(b, sizeof b, s->ndim, s->size));
    return NULL;
}

cnn_tensor *cnn_flatten(cnn_ctx *c, cnn_tensor *t, int d0, int d1) {
    if (t->ndim == 0) {
        cnn_shape s = { 1, { 1 } };
        return cnn_reshape(c, t, &s);
    }
    cnn_shape s;
    s.ndim = 0;
    for (int i = 0; i < t->ndim; i++) {
        if (i > d0 && i <= d1) s.size[s.ndim - 1] *= t->size[i];
        else s.size[s.ndim++] = t->size[i];
    }
    return cnn_reshape(c, t, &s);
}
