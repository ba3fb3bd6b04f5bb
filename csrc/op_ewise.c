/* op_ewise.c: elementwise ops with NumPy broadcasting (binary, unary, clamp, where,
 * masked_fill) and the recorded copies (clone, contiguous, to), with their autograd records.
 * Plain copies, fills and constructors are tensor.c's. Kernels: op_ewise.inc. Bindings:
 * lua_tensor.c, lua_ops.c; spec: ewise_spec.lua. */
#include "cnn.h"
#include "tensor.h"
#include "autograd.h"

#include <math.h>

#define CNN_GEN_FILE "op_ewise.inc"
#include "gen.h"

static const char *const binop_names[] = { "add", "sub", "mul", "div", "pow", "maximum", "minimum",
                                           "eq", "ne", "lt", "le", "gt", "ge" };
static const char *const unop_names[] = { "neg", "exp", "log", "sqrt", "abs", "sign", "floor", "ceil",
                                          "round", "sigmoid", "tanh", "relu", "square", "reciprocal" };
const char *cnn_binop_name(cnn_binop op) { return binop_names[op]; }
const char *cnn_unop_name(cnn_unop op) { return unop_names[op]; }

/* ---- clone, contiguous, to: identity gradients (cast back for `to`) ---- */

static int cast_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    dx[0] = cnn_to(c, dy, n->in[0].dtype);
    return dx[0] ? 0 : -1;
}
static const cnn_op op_clone = { "clone", cast_backward, NULL };
static const cnn_op op_to = { "to", cast_backward, NULL };

static cnn_tensor *copy_record(cnn_ctx *c, const cnn_op *op, const cnn_tensor *t, cnn_dtype dt) {
    cnn_shape s = cnn_shape_of(t);
    cnn_tensor *y = cnn_empty(c, &s, dt);
    if (y == NULL) return NULL;
    cnn_copy_raw(y, t);
    if (dt == CNN_I64) return y;                /* no gradient flows through int64 */
    const cnn_tensor *ins[1] = { t };
    cnn_record(c, op, &y, 1, ins);
    return y;
}

cnn_tensor *cnn_clone(cnn_ctx *c, const cnn_tensor *t) { return copy_record(c, &op_clone, t, t->dtype); }

cnn_tensor *cnn_contiguous(cnn_ctx *c, cnn_tensor *t) {
    if (cnn_is_contiguous(t)) { cnn_tensor_retain(t); return t; }
    return copy_record(c, &op_clone, t, t->dtype);
}

/* like PyTorch, `to` the same dtype returns the tensor itself */
cnn_tensor *cnn_to(cnn_ctx *c, const cnn_tensor *t, cnn_dtype dt) {
    if (t->dtype == dt) { cnn_tensor_retain((cnn_tensor *)t); return (cnn_tensor *)t; }
    return copy_record(c, &op_to, t, dt);
}

/* ---- binary ops with broadcasting ---- */

/* y = a op b into y (shape = broadcast shape, same dtype as a and b) */
static void binary_into(cnn_ctx *c, cnn_binop op, cnn_tensor *y, const cnn_tensor *a, const cnn_tensor *b) {
    cnn_shape s = cnn_shape_of(y);
    int64_t sa[CNN_MAX_DIM], sb[CNN_MAX_DIM];
    cnn_broadcast_strides(a, &s, sa);
    cnn_broadcast_strides(b, &s, sb);
    const int64_t *st[3] = { y->stride, sa, sb };
    cnn_iter it;
    cnn_iter_init(&it, y->ndim, y->size, 3, st);
    if (it.rows == 0) return;
    int T = par_threads(c, it.inner);
    if (T > 1 && it.rows == 1) {             /* one long row (contiguous, or against a scalar): in chunks */
        int64_t n = it.inner, ys = it.istride[0], as = it.istride[1], bs = it.istride[2];
        #pragma omp parallel for num_threads(T)
        for (int k = 0; k < T; k++) {
            int64_t lo = n * k / T, m = n * (k + 1) / T - lo;
            if (y->dtype == CNN_F32)
                binary_row_f32(op, m, (float *)cnn_data(y) + it.off[0] + lo * ys, ys,
                               (const float *)cnn_data(a) + it.off[1] + lo * as, as,
                               (const float *)cnn_data(b) + it.off[2] + lo * bs, bs);
            else
                binary_row_f64(op, m, (double *)cnn_data(y) + it.off[0] + lo * ys, ys,
                               (const double *)cnn_data(a) + it.off[1] + lo * as, as,
                               (const double *)cnn_data(b) + it.off[2] + lo * bs, bs);
        }
        return;
    }
    do {
        if (y->dtype == CNN_F32)
            binary_row_f32(op, it.inner, (float *)cnn_data(y) + it.off[0], it.istride[0],
                           (const float *)cnn_data(a) + it.off[1], it.istride[1],
                           (const float *)cnn_data(b) + it.off[2], it.istride[2]);
        else
            binary_row_f64(op, it.inner, (double *)cnn_data(y) + it.off[0], it.istride[0],
                           (const double *)cnn_data(a) + it.off[1], it.istride[1],
                           (const double *)cnn_data(b) + it.off[2], it.istride[2]);
    } while (cnn_iter_next(&it));
}

/* ---- int64 (no autograd): wrapping arithmetic as PyTorch's, comparisons to float32 0/1 ---- */

static int64_t i64_pow(int64_t a, int64_t b) {      /* b >= 0; wraps on overflow */
    uint64_t r = 1, x = (uint64_t)a;
    for (; b > 0; b >>= 1) { if (b & 1) r *= x; x *= x; }
    return (int64_t)r;
}

static int64_t i64_op(cnn_binop op, int64_t a, int64_t b) {
    switch (op) {
    case CNN_ADD: return (int64_t)((uint64_t)a + (uint64_t)b);
    case CNN_SUB: return (int64_t)((uint64_t)a - (uint64_t)b);
    case CNN_MUL: return (int64_t)((uint64_t)a * (uint64_t)b);
    case CNN_POW: return i64_pow(a, b);
    case CNN_MAXIMUM: return a > b ? a : b;
    case CNN_MINIMUM: return a < b ? a : b;
    case CNN_EQ: return a == b;
    case CNN_NE: return a != b;
    case CNN_LT: return a < b;
    case CNN_LE: return a <= b;
    case CNN_GT: return a > b;
    case CNN_GE: return a >= b;
    default: return 0;
    }
}

/* y = a op b for int64 a and b: y int64, or float32 for comparisons */
static cnn_tensor *binary_i64(cnn_ctx *c, cnn_binop op, const cnn_tensor *a, const cnn_tensor *b, const cnn_shape *s) {
    if (op == CNN_POW) {
        int64_t nb = cnn_numel(b);
        int64_t idx[CNN_MAX_DIM];
        for (int64_t k = 0; k < nb; k++) {           /* as PyTorch: no negative integer powers */
            int64_t r = k;
            for (int d = b->ndim - 1; d >= 0; d--) { idx[d] = r % b->size[d]; r /= b->size[d]; }
            if (cnn_get_i64(b, idx) < 0) {
                cnn_seterr(c, "integers to negative integer powers are not allowed (use float())");
                return NULL;
            }
        }
    }
    cnn_tensor *y = cnn_empty(c, s, op >= CNN_EQ ? CNN_F32 : CNN_I64);
    if (y == NULL) return NULL;
    int64_t sa[CNN_MAX_DIM], sb[CNN_MAX_DIM];
    cnn_broadcast_strides(a, s, sa);
    cnn_broadcast_strides(b, s, sb);
    const int64_t *st[3] = { y->stride, sa, sb };
    cnn_iter it;
    cnn_iter_init(&it, y->ndim, y->size, 3, st);
    if (it.rows) do {
        const int64_t *pa = (const int64_t *)cnn_data(a) + it.off[1], *pb = (const int64_t *)cnn_data(b) + it.off[2];
        int64_t as = it.istride[1], bs = it.istride[2], ys = it.istride[0];
        if (y->dtype == CNN_F32) {
            float *py = (float *)cnn_data(y) + it.off[0];
            for (int64_t i = 0; i < it.inner; i++) py[i * ys] = (float)i64_op(op, pa[i * as], pb[i * bs]);
        } else {
            int64_t *py = (int64_t *)cnn_data(y) + it.off[0];
            for (int64_t i = 0; i < it.inner; i++) py[i * ys] = i64_op(op, pa[i * as], pb[i * bs]);
        }
    } while (cnn_iter_next(&it));
    return y;
}

/* gradient of a op b for one side; dy has the broadcast shape */
static cnn_tensor *binary_grad(cnn_ctx *c, cnn_binop op, int side, const cnn_tensor *dy,
                               const cnn_tensor *a, const cnn_tensor *b) {
    cnn_tensor *t = NULL, *u = NULL, *v = NULL;
    switch (op) {
    case CNN_ADD: cnn_tensor_retain((cnn_tensor *)dy); return (cnn_tensor *)dy;
    case CNN_SUB: if (side == 0) { cnn_tensor_retain((cnn_tensor *)dy); return (cnn_tensor *)dy; }
                  return cnn_unary(c, CNN_NEG, dy);
    case CNN_MUL: return cnn_binary(c, CNN_MUL, dy, side == 0 ? b : a);
    case CNN_DIV:
        if (side == 0) return cnn_binary(c, CNN_DIV, dy, b);
        /* -dy * a / b^2 */
        if ((t = cnn_binary(c, CNN_DIV, a, b)) && (u = cnn_binary(c, CNN_DIV, t, b)) &&
            (v = cnn_binary(c, CNN_MUL, dy, u))) {
            cnn_tensor *r = cnn_unary(c, CNN_NEG, v);
            cnn_tensor_release(t); cnn_tensor_release(u); cnn_tensor_release(v);
            return r;
        }
        break;
    case CNN_POW:
        if (side == 0) {          /* dy * b * a^(b-1) */
            if ((t = cnn_binary_scalar(c, CNN_SUB, b, 1.0, 0)) && (u = cnn_binary(c, CNN_POW, a, t)) &&
                (v = cnn_binary(c, CNN_MUL, u, b))) {
                cnn_tensor *r = cnn_binary(c, CNN_MUL, dy, v);
                cnn_tensor_release(t); cnn_tensor_release(u); cnn_tensor_release(v);
                return r;
            }
        } else {                  /* dy * a^b * log(a), taken as 0 where a == 0 and b >= 0 */
            if ((t = cnn_binary(c, CNN_POW, a, b)) && (u = cnn_unary(c, CNN_LOG, a)) &&
                (v = cnn_binary(c, CNN_MUL, t, u))) {
                cnn_tensor *z = cnn_binary_scalar(c, CNN_EQ, a, 0.0, 0), *w = NULL, *r = NULL;
                if (z && (w = cnn_masked_fill(c, v, z, 0.0))) r = cnn_binary(c, CNN_MUL, dy, w);
                cnn_tensor_release(z); cnn_tensor_release(w);
                cnn_tensor_release(t); cnn_tensor_release(u); cnn_tensor_release(v);
                return r;
            }
        }
        break;
    case CNN_MAXIMUM: case CNN_MINIMUM: {
        /* the winner gets dy; ties split it evenly, as PyTorch does */
        cnn_binop win = op == CNN_MAXIMUM ? (side == 0 ? CNN_GT : CNN_LT) : (side == 0 ? CNN_LT : CNN_GT);
        if ((t = cnn_binary(c, win, a, b)) && (u = cnn_binary(c, CNN_EQ, a, b)) &&
            (v = cnn_binary_scalar(c, CNN_MUL, u, 0.5, 0))) {
            cnn_tensor *w = cnn_binary(c, CNN_ADD, t, v), *r = w ? cnn_binary(c, CNN_MUL, dy, w) : NULL;
            cnn_tensor_release(w);
            cnn_tensor_release(t); cnn_tensor_release(u); cnn_tensor_release(v);
            return r;
        }
        break;
    }
    default: break;
    }
    cnn_tensor_release(t); cnn_tensor_release(u); cnn_tensor_release(v);
    return NULL;
}

static int binary_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    cnn_binop op = (cnn_binop)n->iarg[0];
    const cnn_tensor *a = NULL, *b = NULL;
    if (op != CNN_ADD && op != CNN_SUB) {
        if ((a = cnn_node_saved(c, n, 0)) == NULL || (b = cnn_node_saved(c, n, 1)) == NULL) return -1;
    }
    for (int side = 0; side < 2; side++) {
        if (n->in[side].node == NULL) continue;
        cnn_tensor *g = binary_grad(c, op, side, dy, a, b);
        if (g == NULL) return -1;
        dx[side] = cnn_sum_to(c, g, &n->in[side].shape);
        cnn_tensor_release(g);
        if (dx[side] == NULL) return -1;
        if (dx[side]->dtype != n->in[side].dtype) {
            cnn_tensor *k = cnn_to(c, dx[side], n->in[side].dtype);
            cnn_tensor_release(dx[side]);
            if ((dx[side] = k) == NULL) return -1;
        }
    }
    return 0;
}
/* one descriptor per op so that messages and grad_fn name it */
static const cnn_op binary_ops[CNN_BINARY_COUNT] = {
    { "add", binary_backward, NULL }, { "sub", binary_backward, NULL }, { "mul", binary_backward, NULL },
    { "div", binary_backward, NULL }, { "pow", binary_backward, NULL }, { "maximum", binary_backward, NULL },
    { "minimum", binary_backward, NULL }, { "eq", NULL, NULL }, { "ne", NULL, NULL }, { "lt", NULL, NULL },
    { "le", NULL, NULL }, { "gt", NULL, NULL }, { "ge", NULL, NULL },
};

static int is_comparison(cnn_binop op) { return op >= CNN_EQ; }

cnn_tensor *cnn_binary(cnn_ctx *c, cnn_binop op, const cnn_tensor *a, const cnn_tensor *b) {
    cnn_shape sa = cnn_shape_of(a), sb = cnn_shape_of(b), s;
    if (cnn_broadcast_shapes(c, &sa, &sb, &s) < 0) return NULL;
    cnn_dtype dt;
    cnn_check_dtype_pair(c, a, b, &dt);
    if (dt == CNN_I64 && op != CNN_DIV) return binary_i64(c, op, a, b, &s);
    if (dt == CNN_I64) dt = CNN_F32;          /* int64 / int64 is true division, in float32 as PyTorch */
    const cnn_tensor *a2 = a, *b2 = b;
    cnn_tensor *ca = NULL, *cb = NULL;
    if (a->dtype != dt && (a2 = ca = cnn_contiguous_as(c, a, dt)) == NULL) return NULL;
    if (b->dtype != dt && (b2 = cb = cnn_contiguous_as(c, b, dt)) == NULL) { cnn_tensor_release(ca); return NULL; }
    cnn_tensor *y = cnn_empty(c, &s, dt);
    if (y) binary_into(c, op, y, a2, b2);
    if (y && !is_comparison(op)) {
        const cnn_tensor *ins[2] = { a, b };
        cnn_node *n = cnn_record(c, &binary_ops[op], &y, 2, ins);
        if (n) {
            n->iarg[0] = op;
            if (op != CNN_ADD && op != CNN_SUB) { cnn_node_save(n, 0, a2); cnn_node_save(n, 1, b2); }
        }
    }
    cnn_tensor_release(ca);
    cnn_tensor_release(cb);
    return y;
}

/* a op s (or s op a): the scalar becomes a 0-d tensor of a's dtype */
cnn_tensor *cnn_binary_scalar(cnn_ctx *c, cnn_binop op, const cnn_tensor *a, double s, int s_first) {
    cnn_shape s0 = { 0, { 0 } };
    cnn_tensor *k = cnn_full(c, &s0, a->dtype, s);
    if (k == NULL) return NULL;
    cnn_tensor *y = s_first ? cnn_binary(c, op, k, a) : cnn_binary(c, op, a, k);
    cnn_tensor_release(k);
    return y;
}

int cnn_binary_(cnn_ctx *c, cnn_binop op, cnn_tensor *a, const cnn_tensor *b) {
    cnn_shape sa = cnn_shape_of(a), sb = cnn_shape_of(b), s;
    if (cnn_check_inplace(c, a) < 0) return -1;
    if (cnn_broadcast_shapes(c, &sa, &sb, &s) < 0) return -1;
    if (!cnn_shape_eq(&s, &sa)) {
        char x[200], y[200];
        return cnn_seterr(c, "the in-place result would have shape %s, not the shape %s of the tensor written",
                          cnn_shape_str(x, sizeof x, s.ndim, s.size), cnn_shape_str(y, sizeof y, sa.ndim, sa.size));
    }
    /* b is read through a copy when it shares a's storage or has another dtype */
    cnn_tensor *b2 = NULL;
    if (b->storage == a->storage || b->dtype != a->dtype) {
        cnn_shape bs = cnn_shape_of(b);
        if ((b2 = cnn_empty(c, &bs, a->dtype)) == NULL) return -1;
        cnn_copy_raw(b2, b);
    }
    binary_into(c, op, a, a, b2 ? b2 : b);
    cnn_tensor_release(b2);
    cnn_bump_version(a);
    return 0;
}

int cnn_binary_scalar_(cnn_ctx *c, cnn_binop op, cnn_tensor *a, double s) {
    cnn_shape s0 = { 0, { 0 } };
    cnn_tensor *k = cnn_full(c, &s0, a->dtype, s);
    if (k == NULL) return -1;
    int rc = cnn_binary_(c, op, a, k);
    cnn_tensor_release(k);
    return rc;
}

/* ---- unary ---- */

static void unary_into(cnn_ctx *c, cnn_unop op, cnn_tensor *y, const cnn_tensor *x) {
    int64_t n = cnn_numel(y);
    int T = par_threads(c, n);
    if (T > 1 && cnn_is_contiguous(y) && cnn_is_contiguous(x) && y->dtype == x->dtype) {
        #pragma omp parallel for num_threads(T)
        for (int k = 0; k < T; k++) {
            int64_t a = n * k / T, b = n * (k + 1) / T;
            if (y->dtype == CNN_F32)
                unary_row_f32(op, b - a, (float *)cnn_data(y) + a, 1, (const float *)cnn_data(x) + a, 1);
            else
                unary_row_f64(op, b - a, (double *)cnn_data(y) + a, 1, (const double *)cnn_data(x) + a, 1);
        }
        return;
    }
    const int64_t *st[2] = { y->stride, x->stride };
    cnn_iter it;
    cnn_iter_init(&it, y->ndim, y->size, 2, st);
    if (it.rows == 0) return;
    do {
        if (y->dtype == CNN_F32)
            unary_row_f32(op, it.inner, (float *)cnn_data(y) + it.off[0], it.istride[0],
                          (const float *)cnn_data(x) + it.off[1], it.istride[1]);
        else
            unary_row_f64(op, it.inner, (double *)cnn_data(y) + it.off[0], it.istride[0],
                          (const double *)cnn_data(x) + it.off[1], it.istride[1]);
    } while (cnn_iter_next(&it));
}

static int unary_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *x = cnn_node_saved(c, n, 0), *y = cnn_node_saved(c, n, 1);
    if (x == NULL || y == NULL) return -1;
    cnn_dtype dt = x->dtype;
    cnn_tensor *g = cnn_contiguous_as(c, dy, dt), *xc = cnn_contiguous_as(c, x, dt);
    cnn_tensor *r = cnn_empty(c, &n->in[0].shape, dt);
    if (g && xc && r) {
        int64_t m = cnn_numel(r);
        int T = par_threads(c, m);
        #pragma omp parallel for num_threads(T) if (T > 1)
        for (int k = 0; k < T; k++) {
            int64_t a = m * k / T, b = m * (k + 1) / T;
            if (dt == CNN_F32)
                unary_bwd_f32((int)n->iarg[0], b - a, (float *)cnn_data(r) + a, (const float *)cnn_data(g) + a,
                              (const float *)cnn_data(xc) + a, (const float *)cnn_data(y) + a);
            else
                unary_bwd_f64((int)n->iarg[0], b - a, (double *)cnn_data(r) + a, (const double *)cnn_data(g) + a,
                              (const double *)cnn_data(xc) + a, (const double *)cnn_data(y) + a);
        }
    }
    cnn_tensor_release(g);
    cnn_tensor_release(xc);
    if (g == NULL || xc == NULL) { cnn_tensor_release(r); return -1; }
    dx[0] = r;
    return r ? 0 : -1;
}
static const cnn_op unary_ops[CNN_UNARY_COUNT] = {
    { "neg", unary_backward, NULL }, { "exp", unary_backward, NULL }, { "log", unary_backward, NULL },
    { "sqrt", unary_backward, NULL }, { "abs", unary_backward, NULL }, { "sign", unary_backward, NULL },
    { "floor", unary_backward, NULL }, { "ceil", unary_backward, NULL }, { "round", unary_backward, NULL },
    { "sigmoid", unary_backward, NULL }, { "tanh", unary_backward, NULL }, { "relu", unary_backward, NULL },
    { "square", unary_backward, NULL }, { "reciprocal", unary_backward, NULL },
};

cnn_tensor *cnn_unary(cnn_ctx *c, cnn_unop op, const cnn_tensor *a) {
    cnn_shape s = cnn_shape_of(a);
    cnn_tensor *y = cnn_empty(c, &s, a->dtype);
    if (y == NULL) return NULL;
    unary_into(c, op, y, a);
    const cnn_tensor *ins[1] = { a };
    cnn_node *n = cnn_record(c, &unary_ops[op], &y, 1, ins);
    if (n) {
        n->iarg[0] = op;
        cnn_node_save(n, 0, a);
        /* y is saved as a detached header: saving y itself would make a cycle y -> node -> y */
        cnn_tensor *yd = cnn_detach(c, y);
        if (yd == NULL) { cnn_tensor_release(y); return NULL; }
        cnn_node_save(n, 1, yd);
        cnn_tensor_release(yd);
    }
    return y;
}

int cnn_unary_(cnn_ctx *c, cnn_unop op, cnn_tensor *a) {
    if (cnn_check_inplace(c, a) < 0) return -1;
    unary_into(c, op, a, a);
    cnn_bump_version(a);
    return 0;
}

/* ---- clamp, where, masked_fill ---- */

static int clamp_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *x = cnn_node_saved(c, n, 0);
    if (x == NULL) return -1;
    /* gradient passes where lo <= x <= hi, as PyTorch */
    cnn_tensor *m = NULL, *t = NULL, *k = NULL;
    double lo = n->farg[0], hi = n->farg[1];
    int ok = 1;
    if (lo == lo) ok = ok && (m = cnn_binary_scalar(c, CNN_GE, x, lo, 0)) != NULL;
    if (ok && hi == hi) {
        ok = (t = cnn_binary_scalar(c, CNN_LE, x, hi, 0)) != NULL;
        if (ok && m) { ok = (k = cnn_binary(c, CNN_MUL, m, t)) != NULL; cnn_tensor_release(m); cnn_tensor_release(t); m = k; }
        else if (ok) m = t;
    }
    if (!ok) { cnn_tensor_release(m); return -1; }
    if (m == NULL) { cnn_tensor_retain((cnn_tensor *)dy); dx[0] = (cnn_tensor *)dy; return 0; }
    dx[0] = cnn_binary(c, CNN_MUL, dy, m);
    cnn_tensor_release(m);
    return dx[0] ? 0 : -1;
}
static const cnn_op op_clamp = { "clamp", clamp_backward, NULL };

cnn_tensor *cnn_clamp(cnn_ctx *c, const cnn_tensor *a, double lo, double hi) {
    cnn_shape s = cnn_shape_of(a);
    cnn_tensor *y = cnn_empty(c, &s, a->dtype);
    if (y == NULL) return NULL;
    const int64_t *st[2] = { y->stride, a->stride };
    cnn_iter it;
    cnn_iter_init(&it, y->ndim, y->size, 2, st);
    if (it.rows) do {
        if (y->dtype == CNN_F32)
            clamp_row_f32(it.inner, (float *)cnn_data(y) + it.off[0], it.istride[0],
                          (const float *)cnn_data(a) + it.off[1], it.istride[1], lo, hi);
        else
            clamp_row_f64(it.inner, (double *)cnn_data(y) + it.off[0], it.istride[0],
                          (const double *)cnn_data(a) + it.off[1], it.istride[1], lo, hi);
    } while (cnn_iter_next(&it));
    const cnn_tensor *ins[1] = { a };
    cnn_node *n = cnn_record(c, &op_clamp, &y, 1, ins);
    if (n) { n->farg[0] = lo; n->farg[1] = hi; cnn_node_save(n, 0, a); }
    return y;
}

/* where(cond, a, b): dA = where(cond, dy, 0), dB = where(cond, 0, dy), summed to each shape */
static int where_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *cd = cnn_node_saved(c, n, 0);
    if (cd == NULL) return -1;
    cnn_shape s0 = { 0, { 0 } };
    cnn_tensor *z = cnn_full(c, &s0, dy->dtype, 0.0);
    if (z == NULL) return -1;
    for (int side = 1; side <= 2; side++) {
        if (n->in[side].node == NULL) continue;
        cnn_tensor *g = side == 1 ? cnn_where(c, cd, dy, z) : cnn_where(c, cd, z, dy);
        if (g) { dx[side] = cnn_sum_to(c, g, &n->in[side].shape); cnn_tensor_release(g); }
        if (g && dx[side] && dx[side]->dtype != n->in[side].dtype) {
            cnn_tensor *k = cnn_to(c, dx[side], n->in[side].dtype);
            cnn_tensor_release(dx[side]);
            dx[side] = k;
        }
        if (dx[side] == NULL) { cnn_tensor_release(z); return -1; }
    }
    cnn_tensor_release(z);
    return 0;
}
static const cnn_op op_where = { "where", where_backward, NULL };

cnn_tensor *cnn_where(cnn_ctx *c, const cnn_tensor *cond, const cnn_tensor *a, const cnn_tensor *b) {
    cnn_shape sc = cnn_shape_of(cond), sa = cnn_shape_of(a), sb = cnn_shape_of(b), s1, s;
    if (cnn_broadcast_shapes(c, &sa, &sb, &s1) < 0 || cnn_broadcast_shapes(c, &sc, &s1, &s) < 0) return NULL;
    cnn_dtype dt;
    cnn_check_dtype_pair(c, a, b, &dt);
    /* a float64 condition is made 0/1 before it is narrowed: 1e-50 is true, but 0 in float32 */
    cnn_tensor *cc = cond->dtype == dt ? cnn_contiguous_as(c, cond, dt) : cnn_binary_scalar(c, CNN_NE, cond, 0.0, 0);
    if (cc && cc->dtype != dt) { cnn_tensor *k = cnn_contiguous_as(c, cc, dt); cnn_tensor_release(cc); cc = k; }
    cnn_tensor *ac = cnn_contiguous_as(c, a, dt), *bc = cnn_contiguous_as(c, b, dt);
    cnn_tensor *y = (cc && ac && bc) ? cnn_empty(c, &s, dt) : NULL;
    if (y) {
        int64_t s0[CNN_MAX_DIM], s1x[CNN_MAX_DIM], s2[CNN_MAX_DIM];
        cnn_broadcast_strides(cc, &s, s0);
        cnn_broadcast_strides(ac, &s, s1x);
        cnn_broadcast_strides(bc, &s, s2);
        const int64_t *st[3] = { s0, s1x, s2 };
        cnn_iter it;
        cnn_iter_init(&it, s.ndim, s.size, 3, st);
        /* y is contiguous, so its offset is the row index times the row length */
        int64_t row = 0;
        if (it.rows) do {
            if (dt == CNN_F32)
                where_row_f32(it.inner, (float *)cnn_data(y) + row, 1, (const float *)cnn_data(cc) + it.off[0], it.istride[0],
                              (const float *)cnn_data(ac) + it.off[1], it.istride[1], (const float *)cnn_data(bc) + it.off[2], it.istride[2]);
            else
                where_row_f64(it.inner, (double *)cnn_data(y) + row, 1, (const double *)cnn_data(cc) + it.off[0], it.istride[0],
                              (const double *)cnn_data(ac) + it.off[1], it.istride[1], (const double *)cnn_data(bc) + it.off[2], it.istride[2]);
            row += it.inner;
        } while (cnn_iter_next(&it));
        const cnn_tensor *ins[3] = { NULL, a, b };
        cnn_node *n = cnn_record(c, &op_where, &y, 3, ins);
        if (n) {
            n->in[0].shape = sc;
            n->in[0].dtype = cond->dtype;
            cnn_node_save(n, 0, cc);
        }
    }
    cnn_tensor_release(cc);
    cnn_tensor_release(ac);
    cnn_tensor_release(bc);
    return y;
}

cnn_tensor *cnn_masked_fill(cnn_ctx *c, const cnn_tensor *a, const cnn_tensor *mask, double v) {
    cnn_shape s0 = { 0, { 0 } };
    cnn_tensor *k = cnn_full(c, &s0, a->dtype, v);
    if (k == NULL) return NULL;
    cnn_tensor *y = cnn_where(c, mask, k, a);
    cnn_tensor_release(k);
    if (y == NULL) return NULL;
    cnn_shape sa = cnn_shape_of(a), sy = cnn_shape_of(y);
    if (!cnn_shape_eq(&sa, &sy)) {
        char x[200], z[200];
        cnn_seterr(c, "the mask of shape %s does not broadcast to the tensor's shape %s",
                   cnn_shape_str(x, sizeof x, mask->ndim, mask->size), cnn_shape_str(z, sizeof z, sa.ndim, sa.size));
        cnn_tensor_release(y);
        return NULL;
    }
    return y;
}
