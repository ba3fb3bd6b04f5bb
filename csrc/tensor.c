/* tensor.c: tensor headers, shapes, the strided iterator, the lifetime of tensors and of the
 * graph nodes they hold, plain copies and fills, the constructors (empty, full, rand, ...) and
 * plain sums (the gradient sums of autograd.c, cnn_reduce's sum, sum_to). Nothing here is
 * recorded for autograd or calls an op, so the ops and autograd.c stand on it: the view ops are
 * op_view.c, the recorded copies op_ewise.c. Kernels: tensor.inc. Bindings: lua_tensor.c;
 * spec: tensor_spec.lua. */
#include "cnn.h"
#include "tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CNN_GEN_FILE "tensor.inc"
#include "gen.h"

size_t cnn_dtype_size(cnn_dtype d) { return d == CNN_F32 ? 4 : 8; }
const char *cnn_dtype_name(cnn_dtype d) { return d == CNN_F32 ? "float32" : d == CNN_F64 ? "float64" : "int64"; }
int cnn_dtype_is_float(cnn_dtype d) { return d == CNN_F32 || d == CNN_F64; }

int64_t cnn_double_to_i64(double v) {
    if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) return INT64_MIN;
    return (int64_t)v;
}

/* int64 rows: copies and fills (the float kernels are tensor.inc's) */
static void i64_copy(int64_t n, int64_t *y, int64_t ys, const int64_t *x, int64_t xs) {
    if (ys == 1 && xs == 1) { memcpy(y, x, (size_t)n * sizeof *y); return; }
    for (int64_t i = 0; i < n; i++) y[i * ys] = x[i * xs];
}
static void i64_fill(int64_t n, int64_t *y, int64_t ys, int64_t v) {
    for (int64_t i = 0; i < n; i++) y[i * ys] = v;
}

int64_t cnn_shape_numel(const cnn_shape *s) {
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++) n *= s->size[i];
    return n;
}

/* sizes are non-negative and their product (in bytes) fits comfortably in int64 */
int cnn_shape_check(cnn_ctx *c, const cnn_shape *s) {
    char buf[200];
    if (s->ndim < 0 || s->ndim > CNN_MAX_DIM)
        return cnn_seterr(c, "expected at most %d dimensions, got %d", CNN_MAX_DIM, s->ndim);
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++) {
        if (s->size[i] < 0)
            return cnn_seterr(c, "invalid shape %s: sizes must be >= 0",
                              cnn_shape_str(buf, sizeof buf, s->ndim, s->size));
        if (s->size[i] > 0 && n > (INT64_C(1) << 59) / s->size[i])
            return cnn_seterr(c, "shape %s is too large (the element count overflows)",
                              cnn_shape_str(buf, sizeof buf, s->ndim, s->size));
        n *= s->size[i];
    }
    return 0;
}

int cnn_shape_eq(const cnn_shape *a, const cnn_shape *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++) if (a->size[i] != b->size[i]) return 0;
    return 1;
}

cnn_shape cnn_shape_of(const cnn_tensor *t) {
    cnn_shape s;
    s.ndim = t->ndim;
    for (int i = 0; i < CNN_MAX_DIM; i++) s.size[i] = i < t->ndim ? t->size[i] : 0;
    return s;
}

char *cnn_shape_str(char *buf, size_t n, int ndim, const int64_t *size) {
    size_t k = 0;
    k += (size_t)snprintf(buf + k, n - k, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, i ? ",%lld" : "%lld", (long long)size[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
    return buf;
}

char *cnn_pair_str(char *buf, size_t n, int nd, int64_t a, int64_t b) {
    if (nd == 2) snprintf(buf, n, "%lldx%lld", (long long)a, (long long)b);
    else snprintf(buf, n, "%lld", (long long)b);
    return buf;
}

char *cnn_tensor_desc(char *buf, size_t n, const cnn_tensor *t) {
    char s[200];
    snprintf(buf, n, "%s %s", cnn_dtype_name(t->dtype), cnn_shape_str(s, sizeof s, t->ndim, t->size));
    return buf;
}

int cnn_broadcast_shapes(cnn_ctx *c, const cnn_shape *a, const cnn_shape *b, cnn_shape *out) {
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    cnn_shape r;
    r.ndim = nd;
    for (int i = 0; i < nd; i++) {
        int ia = i - (nd - a->ndim), ib = i - (nd - b->ndim);
        int64_t sa = ia >= 0 ? a->size[ia] : 1, sb = ib >= 0 ? b->size[ib] : 1;
        if (sa != sb && sa != 1 && sb != 1) {
            char x[200], y[200];
            return cnn_seterr(c, "shapes %s and %s cannot be broadcast together (dimension %d: %lld vs %lld)",
                              cnn_shape_str(x, sizeof x, a->ndim, a->size),
                              cnn_shape_str(y, sizeof y, b->ndim, b->size), i + 1,
                              (long long)sa, (long long)sb);
        }
        r.size[i] = sa == 1 ? sb : sa;
    }
    *out = r;
    return 0;
}

void cnn_contiguous_strides(int ndim, const int64_t *size, int64_t *stride) {
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        stride[i] = s;
        s *= size[i] > 0 ? size[i] : 1;
    }
}

int cnn_is_contiguous(const cnn_tensor *t) {
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->size[i] != 1 && t->stride[i] != s) return 0;
        s *= t->size[i];
    }
    return 1;
}

void cnn_broadcast_strides(const cnn_tensor *t, const cnn_shape *s, int64_t *stride) {
    int off = s->ndim - t->ndim;
    for (int i = 0; i < s->ndim; i++) {
        int j = i - off;
        stride[i] = (j < 0 || t->size[j] == 1) ? 0 : t->stride[j];
    }
}

/* ---- iterator ---- */

void cnn_iter_init(cnn_iter *it, int ndim, const int64_t *size, int nops,
                   const int64_t *const *strides) {
    it->nops = nops;
    it->rows = 1;
    int nd = 0;
    for (int i = 0; i < ndim; i++) {
        if (size[i] == 0) it->rows = 0;
        if (size[i] == 1) continue;            /* size-1 dims never move a pointer */
        if (nd > 0) {                          /* merge with the previous dim if contiguous in all */
            int merge = 1;
            for (int k = 0; k < nops; k++)
                if (it->stride[k][nd - 1] != strides[k][i] * size[i]) merge = 0;
            if (merge) {
                it->size[nd - 1] *= size[i];
                for (int k = 0; k < nops; k++) it->stride[k][nd - 1] = strides[k][i];
                continue;
            }
        }
        it->size[nd] = size[i];
        for (int k = 0; k < nops; k++) it->stride[k][nd] = strides[k][i];
        nd++;
    }
    if (nd == 0) {                             /* a single element */
        it->size[0] = 1;
        for (int k = 0; k < nops; k++) it->stride[k][0] = 1;
        nd = 1;
    }
    it->ndim = nd;
    it->inner = it->size[nd - 1];
    for (int k = 0; k < nops; k++) { it->istride[k] = it->stride[k][nd - 1]; it->off[k] = 0; }
    for (int i = 0; i < nd; i++) it->idx[i] = 0;
    if (it->rows) for (int i = 0; i < nd - 1; i++) it->rows *= it->size[i];
}

int cnn_iter_next(cnn_iter *it) {
    for (int d = it->ndim - 2; d >= 0; d--) {
        if (++it->idx[d] < it->size[d]) {
            for (int k = 0; k < it->nops; k++) it->off[k] += it->stride[k][d];
            return 1;
        }
        for (int k = 0; k < it->nops; k++) it->off[k] -= it->stride[k][d] * (it->size[d] - 1);
        it->idx[d] = 0;
    }
    return 0;
}

/* ---- lifetime ---- */

void cnn_tensor_retain(cnn_tensor *t) { if (t) t->refcount++; }

/* A dead tensor can free its node, whose inputs and saved tensors can free further nodes and
 * tensors: dropping the graph of a 300,000-step loop frees a chain that long. So both kinds are
 * freed here, from two worklists linked through the dead objects themselves, never by
 * recursion (which overflowed the C stack). t and n (either may be NULL) already count 0. */
static void drop_tensor(cnn_tensor *t, cnn_tensor **dead) {
    if (t && --t->refcount == 0) { t->next_dead = *dead; *dead = t; }
}
static void drop_node(cnn_node *n, cnn_node **dead) {
    if (n && --n->refcount == 0) { n->next_free = *dead; *dead = n; }
}
void cnn_free_dead(cnn_tensor *t, cnn_node *n) {
    cnn_tensor *ts = NULL;
    cnn_node *ns = NULL;
    if (t) { t->next_dead = NULL; ts = t; }
    if (n) { n->next_free = NULL; ns = n; }
    while (ts || ns) {
        if (ts) {
            cnn_tensor *x = ts;
            ts = x->next_dead;
            cnn_storage_release(x->storage);
            if (x->node && x->node->retained == x) x->node->retained = NULL;
            drop_node(x->node, &ns);
            drop_tensor(x->grad, &ts);
            free(x);
            continue;
        }
        cnn_node *m = ns;
        ns = m->next_free;
        for (int i = 0; i < m->nin; i++) drop_node(m->in[i].node, &ns);
        for (int i = 0; i < m->nsaved; i++) drop_tensor(m->saved[i], &ts);
        drop_tensor(m->leaf, &ts);
        drop_tensor(m->gacc, &ts);
        if (m->op->release) m->op->release(m);     /* frees plain memory only (`extra`) */
        free(m->in);
        free(m);
    }
}

void cnn_tensor_release(cnn_tensor *t) {
    if (t == NULL || --t->refcount > 0) return;
    cnn_free_dead(t, NULL);
}

void cnn_bump_version(cnn_tensor *t) { t->storage->version++; }

static cnn_tensor *tensor_header(cnn_ctx *c) {
    cnn_tensor *t = calloc(1, sizeof *t);
    if (t == NULL) { cnn_seterr(c, "out of memory"); return NULL; }
    t->refcount = 1;
    return t;
}

cnn_tensor *cnn_empty(cnn_ctx *c, const cnn_shape *s, cnn_dtype dt) {
    if (cnn_shape_check(c, s) < 0) return NULL;
    cnn_tensor *t = tensor_header(c);
    if (t == NULL) return NULL;
    int64_t n = cnn_shape_numel(s);
    t->storage = cnn_storage_new(c, (size_t)n * cnn_dtype_size(dt));
    if (t->storage == NULL) { free(t); return NULL; }
    t->dtype = dt;
    t->ndim = s->ndim;
    for (int i = 0; i < s->ndim; i++) t->size[i] = s->size[i];
    cnn_contiguous_strides(t->ndim, t->size, t->stride);
    return t;
}

cnn_tensor *cnn_make_view(cnn_ctx *c, const cnn_tensor *t, int ndim, const int64_t *size,
                          const int64_t *stride, int64_t offset) {
    cnn_tensor *v = tensor_header(c);
    if (v == NULL) return NULL;
    v->dtype = t->dtype;
    v->ndim = ndim;
    for (int i = 0; i < ndim; i++) { v->size[i] = size[i]; v->stride[i] = stride[i]; }
    v->offset = offset;
    v->storage = t->storage;
    cnn_storage_retain(t->storage);
    return v;
}

cnn_tensor *cnn_detach(cnn_ctx *c, const cnn_tensor *t) {
    return cnn_make_view(c, t, t->ndim, t->size, t->stride, t->offset);
}

double cnn_get(const cnn_tensor *t, const int64_t *idx) {
    int64_t o = 0;
    for (int i = 0; i < t->ndim; i++) o += idx[i] * t->stride[i];
    switch (t->dtype) {
    case CNN_F32: return (double)((const float *)cnn_data(t))[o];
    case CNN_F64: return ((const double *)cnn_data(t))[o];
    default: return (double)((const int64_t *)cnn_data(t))[o];
    }
}

void cnn_set(cnn_tensor *t, const int64_t *idx, double v) {
    int64_t o = 0;
    for (int i = 0; i < t->ndim; i++) o += idx[i] * t->stride[i];
    switch (t->dtype) {
    case CNN_F32: ((float *)cnn_data(t))[o] = (float)v; break;
    case CNN_F64: ((double *)cnn_data(t))[o] = v; break;
    default: ((int64_t *)cnn_data(t))[o] = cnn_double_to_i64(v); break;
    }
    cnn_bump_version(t);
}

int64_t cnn_get_i64(const cnn_tensor *t, const int64_t *idx) {
    if (t->dtype != CNN_I64) return cnn_double_to_i64(cnn_get(t, idx));
    int64_t o = 0;
    for (int i = 0; i < t->ndim; i++) o += idx[i] * t->stride[i];
    return ((const int64_t *)cnn_data(t))[o];
}

void cnn_set_i64(cnn_tensor *t, const int64_t *idx, int64_t v) {
    if (t->dtype != CNN_I64) { cnn_set(t, idx, (double)v); return; }
    int64_t o = 0;
    for (int i = 0; i < t->ndim; i++) o += idx[i] * t->stride[i];
    ((int64_t *)cnn_data(t))[o] = v;
    cnn_bump_version(t);
}

int cnn_check_dtype_pair(cnn_ctx *c, const cnn_tensor *a, const cnn_tensor *b, cnn_dtype *out) {
    (void)c;
    /* PyTorch promotion: float64 over float32 over int64 */
    if (a->dtype == CNN_F64 || b->dtype == CNN_F64) *out = CNN_F64;
    else if (a->dtype == CNN_F32 || b->dtype == CNN_F32) *out = CNN_F32;
    else *out = CNN_I64;
    return 0;
}

/* ---- copies and fills ---- */

int cnn_check_inplace(cnn_ctx *c, const cnn_tensor *t) {
    if (cnn_grad_enabled(c) && t->requires_grad)
        return cnn_seterr(c, "a tensor that requires grad cannot be modified in place "
                             "(use cnn.no_grad or detach())");
    /* an expanded view maps many elements to one address: a += b would add b several times */
    for (int i = 0; i < t->ndim; i++)
        if (t->stride[i] == 0 && t->size[i] > 1) {
            char d[256];
            return cnn_seterr(c, "cannot write in place to %s: it is an expanded view whose elements "
                                 "share memory (use contiguous() or clone() first)", cnn_tensor_desc(d, sizeof d, t));
        }
    return 0;
}

/* dst = src (src broadcast to dst's shape, cast to dst's dtype); no autograd, no checks */
void cnn_copy_raw(cnn_tensor *dst, const cnn_tensor *src) {
    cnn_shape s = cnn_shape_of(dst);
    int64_t ss[CNN_MAX_DIM];
    cnn_broadcast_strides(src, &s, ss);
    const int64_t *st[2] = { dst->stride, ss };
    cnn_iter it;
    cnn_iter_init(&it, dst->ndim, dst->size, 2, st);
    if (it.rows == 0) return;
    char *yp = cnn_data(dst);
    const char *xp = cnn_data(src);
    do {
        int64_t n = it.inner, ys = it.istride[0], xs = it.istride[1];
        const void *x = xp + (size_t)it.off[1] * cnn_dtype_size(src->dtype);
        if (dst->dtype == CNN_F32) {
            float *y = (float *)yp + it.off[0];
            if (src->dtype == CNN_F32) copy_from_f32_f32(n, y, ys, x, xs);
            else if (src->dtype == CNN_F64) copy_from_f64_f32(n, y, ys, x, xs);
            else copy_from_i64_f32(n, y, ys, x, xs);
        } else if (dst->dtype == CNN_F64) {
            double *y = (double *)yp + it.off[0];
            if (src->dtype == CNN_F32) copy_from_f32_f64(n, y, ys, x, xs);
            else if (src->dtype == CNN_F64) copy_from_f64_f64(n, y, ys, x, xs);
            else copy_from_i64_f64(n, y, ys, x, xs);
        } else {
            int64_t *y = (int64_t *)yp + it.off[0];
            if (src->dtype == CNN_F32) i64_from_f32(n, y, ys, x, xs);
            else if (src->dtype == CNN_F64) i64_from_f64(n, y, ys, x, xs);
            else i64_copy(n, y, ys, x, xs);
        }
    } while (cnn_iter_next(&it));
}

int cnn_copy_(cnn_ctx *c, cnn_tensor *dst, const cnn_tensor *src) {
    cnn_shape sd = cnn_shape_of(dst), ss = cnn_shape_of(src), sb;
    if (cnn_check_inplace(c, dst) < 0) return -1;
    if (cnn_broadcast_shapes(c, &ss, &sd, &sb) < 0) return -1;
    if (!cnn_shape_eq(&sb, &sd)) {
        char a[200], b[200];
        return cnn_seterr(c, "cannot copy a tensor of shape %s into one of shape %s",
                          cnn_shape_str(a, sizeof a, ss.ndim, ss.size), cnn_shape_str(b, sizeof b, sd.ndim, sd.size));
    }
    /* overlapping storage (e.g. t[1] = t[2]): go through a temporary */
    if (src->storage == dst->storage) {
        cnn_tensor *tmp = cnn_contiguous_as(c, src, src->dtype);
        if (tmp == NULL) return -1;
        if (tmp->storage == dst->storage) {
            cnn_tensor *k = cnn_empty(c, &ss, src->dtype);
            if (k == NULL) { cnn_tensor_release(tmp); return -1; }
            cnn_copy_raw(k, tmp);
            cnn_tensor_release(tmp);
            tmp = k;
        }
        cnn_copy_raw(dst, tmp);
        cnn_tensor_release(tmp);
    } else {
        cnn_copy_raw(dst, src);
    }
    cnn_bump_version(dst);
    return 0;
}

int cnn_fill_(cnn_ctx *c, cnn_tensor *t, double v) {
    if (cnn_check_inplace(c, t) < 0) return -1;
    const int64_t *st[1] = { t->stride };
    cnn_iter it;
    cnn_iter_init(&it, t->ndim, t->size, 1, st);
    if (it.rows) do {
        if (t->dtype == CNN_F32) fill_f32(it.inner, (float *)cnn_data(t) + it.off[0], it.istride[0], (float)v);
        else if (t->dtype == CNN_F64) fill_f64(it.inner, (double *)cnn_data(t) + it.off[0], it.istride[0], v);
        else i64_fill(it.inner, (int64_t *)cnn_data(t) + it.off[0], it.istride[0], cnn_double_to_i64(v));
    } while (cnn_iter_next(&it));
    cnn_bump_version(t);
    return 0;
}

/* fills t in place from the state's generator: uniform on [p, q) or normal (mean p, std q) */
static int random_fill(cnn_ctx *c, cnn_tensor *t, int normal, double p, double q) {
    if (cnn_check_inplace(c, t) < 0) return -1;
    if (!cnn_dtype_is_float(t->dtype)) return cnn_seterr(c, "expected a float32 or float64 tensor, got %s", cnn_dtype_name(t->dtype));
    const int64_t *st[1] = { t->stride };
    cnn_iter it;
    cnn_iter_init(&it, t->ndim, t->size, 1, st);
    cnn_rng *r = cnn_ctx_rng(c);
    if (it.rows) do {
        void *y = (char *)cnn_data(t) + it.off[0] * cnn_dtype_size(t->dtype);
        if (t->dtype == CNN_F32) {
            if (normal) normal_row_f32(r, it.inner, y, it.istride[0], p, q);
            else uniform_row_f32(r, it.inner, y, it.istride[0], p, q);
        } else {
            if (normal) normal_row_f64(r, it.inner, y, it.istride[0], p, q);
            else uniform_row_f64(r, it.inner, y, it.istride[0], p, q);
        }
    } while (cnn_iter_next(&it));
    cnn_bump_version(t);
    return 0;
}

int cnn_uniform_(cnn_ctx *c, cnn_tensor *t, double lo, double hi) { return random_fill(c, t, 0, lo, hi); }
int cnn_normal_(cnn_ctx *c, cnn_tensor *t, double mean, double std) { return random_fill(c, t, 1, mean, std); }

cnn_tensor *cnn_contiguous_as(cnn_ctx *c, const cnn_tensor *t, cnn_dtype dt) {
    if (t->dtype == dt && cnn_is_contiguous(t)) { cnn_tensor_retain((cnn_tensor *)t); return (cnn_tensor *)t; }
    cnn_shape s = cnn_shape_of(t);
    cnn_tensor *y = cnn_empty(c, &s, dt);
    if (y == NULL) return NULL;
    /* a big copy that is one strided row (an expanded value, such as sum's gradient): in chunks */
    int64_t ss[CNN_MAX_DIM], n = cnn_numel(y);
    cnn_broadcast_strides(t, &s, ss);
    const int64_t *st[2] = { y->stride, ss };
    cnn_iter it;
    cnn_iter_init(&it, y->ndim, y->size, 2, st);
    int T = par_threads(c, n);
    if (T > 1 && it.rows == 1 && t->dtype == dt) {
        int64_t xs = it.istride[1];
        #pragma omp parallel for num_threads(T)
        for (int k = 0; k < T; k++) {
            int64_t a = n * k / T, b = n * (k + 1) / T;
            if (dt == CNN_F32)
                copy_from_f32_f32(b - a, (float *)cnn_data(y) + a, 1, (const float *)cnn_data(t) + it.off[1] + a * xs, xs);
            else if (dt == CNN_F64)
                copy_from_f64_f64(b - a, (double *)cnn_data(y) + a, 1, (const double *)cnn_data(t) + it.off[1] + a * xs, xs);
            else
                i64_copy(b - a, (int64_t *)cnn_data(y) + a, 1, (const int64_t *)cnn_data(t) + it.off[1] + a * xs, xs);
        }
        return y;
    }
    cnn_copy_raw(y, t);
    return y;
}

/* ---- construction ---- */

cnn_tensor *cnn_full(cnn_ctx *c, const cnn_shape *s, cnn_dtype dt, double v) {
    cnn_tensor *t = cnn_empty(c, s, dt);
    if (t == NULL) return NULL;
    int64_t n = cnn_numel(t);
    int T = par_threads(c, n);
    #pragma omp parallel for num_threads(T) if (T > 1)
    for (int k = 0; k < T; k++) {
        int64_t a = n * k / T, b = n * (k + 1) / T;
        if (dt == CNN_F32) fill_f32(b - a, (float *)cnn_data(t) + a, 1, (float)v);
        else if (dt == CNN_F64) fill_f64(b - a, (double *)cnn_data(t) + a, 1, v);
        else i64_fill(b - a, (int64_t *)cnn_data(t) + a, 1, cnn_double_to_i64(v));
    }
    return t;
}

cnn_tensor *cnn_from_doubles(cnn_ctx *c, const cnn_shape *s, cnn_dtype dt, const double *v) {
    cnn_tensor *t = cnn_empty(c, s, dt);
    if (t == NULL) return NULL;
    int64_t n = cnn_numel(t);
    if (dt == CNN_F32) copy_from_f64_f32(n, cnn_data(t), 1, v, 1);
    else if (dt == CNN_F64) memcpy(cnn_data(t), v, (size_t)n * sizeof(double));
    else i64_from_f64(n, cnn_data(t), 1, v, 1);
    return t;
}

cnn_tensor *cnn_from_int64s(cnn_ctx *c, const cnn_shape *s, cnn_dtype dt, const int64_t *v) {
    cnn_tensor *t = cnn_empty(c, s, dt);
    if (t == NULL) return NULL;
    int64_t n = cnn_numel(t);
    if (dt == CNN_F32) copy_from_i64_f32(n, cnn_data(t), 1, v, 1);
    else if (dt == CNN_F64) copy_from_i64_f64(n, cnn_data(t), 1, v, 1);
    else if (n) memcpy(cnn_data(t), v, (size_t)n * sizeof(int64_t));
    return t;
}

int cnn_to_doubles(cnn_ctx *c, const cnn_tensor *t, double *out) {
    (void)c;
    cnn_tensor view = *t;                    /* a stack header over the same storage, no refs taken */
    cnn_tensor dst;
    memset(&dst, 0, sizeof dst);
    cnn_storage st = { 1, out, (size_t)cnn_numel(t) * 8, 0, NULL };
    dst.dtype = CNN_F64;
    dst.ndim = t->ndim;
    memcpy(dst.size, t->size, sizeof dst.size);
    cnn_contiguous_strides(dst.ndim, dst.size, dst.stride);
    dst.storage = &st;
    cnn_copy_raw(&dst, &view);
    return 0;
}

int cnn_to_int64s(cnn_ctx *c, const cnn_tensor *t, int64_t *out) {
    (void)c;
    cnn_tensor view = *t;
    cnn_tensor dst;
    memset(&dst, 0, sizeof dst);
    cnn_storage st = { 1, out, (size_t)cnn_numel(t) * 8, 0, NULL };
    dst.dtype = CNN_I64;
    dst.ndim = t->ndim;
    memcpy(dst.size, t->size, sizeof dst.size);
    cnn_contiguous_strides(dst.ndim, dst.size, dst.stride);
    dst.storage = &st;
    cnn_copy_raw(&dst, &view);
    return 0;
}

cnn_tensor *cnn_arange(cnn_ctx *c, double a, double b, double step, cnn_dtype dt) {
    if (step == 0 || !isfinite(a) || !isfinite(b) || !isfinite(step)) {
        cnn_seterr(c, "expected finite bounds and a non-zero step, got %g, %g, %g", a, b, step);
        return NULL;
    }
    double cnt = ceil((b - a) / step);
    if (cnt < 0) cnt = 0;
    if (cnt > 1e15) { cnn_seterr(c, "the range %g..%g by %g has too many elements", a, b, step); return NULL; }
    cnn_shape s = { 1, { (int64_t)cnt } };
    cnn_tensor *t = cnn_empty(c, &s, dt);
    if (t == NULL) return NULL;
    for (int64_t i = 0; i < s.size[0]; i++) {
        int64_t idx[1] = { i };
        cnn_set(t, idx, a + (double)i * step);
    }
    return t;
}

cnn_tensor *cnn_linspace(cnn_ctx *c, double a, double b, int64_t n, cnn_dtype dt) {
    if (n < 0) { cnn_seterr(c, "expected steps >= 0, got %lld", (long long)n); return NULL; }
    cnn_shape s = { 1, { n } };
    cnn_tensor *t = cnn_empty(c, &s, dt);
    if (t == NULL) return NULL;
    double step = n > 1 ? (b - a) / (double)(n - 1) : 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t idx[1] = { i };
        /* symmetric, as PyTorch: the second half counts back from b so both ends are exact;
         * a single step is the start */
        cnn_set(t, idx, n == 1 ? a : i < n / 2 ? a + step * (double)i : b - step * (double)(n - 1 - i));
    }
    return t;
}

cnn_tensor *cnn_eye(cnn_ctx *c, int64_t n, int64_t m, cnn_dtype dt) {
    cnn_shape s = { 2, { n, m } };
    cnn_tensor *t = cnn_full(c, &s, dt, 0.0);
    if (t == NULL) return NULL;
    for (int64_t i = 0; i < n && i < m; i++) {
        int64_t idx[2] = { i, i };
        cnn_set(t, idx, 1.0);
    }
    return t;
}

cnn_tensor *cnn_rand(cnn_ctx *c, const cnn_shape *s, cnn_dtype dt) {
    cnn_tensor *t = cnn_empty(c, s, dt);
    if (t && cnn_uniform_(c, t, 0.0, 1.0) < 0) { cnn_tensor_release(t); return NULL; }
    return t;
}

cnn_tensor *cnn_randn(cnn_ctx *c, const cnn_shape *s, cnn_dtype dt) {
    cnn_tensor *t = cnn_empty(c, s, dt);
    if (t && cnn_normal_(c, t, 0.0, 1.0) < 0) { cnn_tensor_release(t); return NULL; }
    return t;
}

/* uniform integers in [lo, hi) without modulo bias (Lemire's multiply-shift with rejection) */
cnn_tensor *cnn_randint(cnn_ctx *c, int64_t lo, int64_t hi, const cnn_shape *s, cnn_dtype dt) {
    if (hi <= lo) { cnn_seterr(c, "expected low < high, got %lld and %lld", (long long)lo, (long long)hi); return NULL; }
    cnn_tensor *t = cnn_empty(c, s, dt);
    if (t == NULL) return NULL;
    uint64_t range = (uint64_t)hi - (uint64_t)lo;       /* hi - lo may overflow int64 */
    cnn_rng *r = cnn_ctx_rng(c);
    int64_t n = cnn_numel(t);
    for (int64_t i = 0; i < n; i++) {
        uint64_t x, limit = (-range) % range;
        __uint128_t m;
        do {
            x = cnn_rng_next(r);
            m = (__uint128_t)x * range;
        } while ((uint64_t)m < limit);
        int64_t k = (int64_t)((uint64_t)lo + (uint64_t)(m >> 64));
        if (dt == CNN_F32) ((float *)cnn_data(t))[i] = (float)k;
        else if (dt == CNN_F64) ((double *)cnn_data(t))[i] = (double)k;
        else ((int64_t *)cnn_data(t))[i] = k;
    }
    return t;
}

/* ---- gradient sums (autograd.c): plain adds, no autograd, no op ---- */

/* dst += src over equal shapes, src cast to dst's dtype first */
static void add_raw(cnn_tensor *dst, const cnn_tensor *src) {
    const int64_t *st[2] = { dst->stride, src->stride };
    cnn_iter it;
    cnn_iter_init(&it, dst->ndim, dst->size, 2, st);
    if (it.rows == 0) return;
    char *yp = cnn_data(dst);
    const char *xp = cnn_data(src);
    do {
        int64_t n = it.inner, ys = it.istride[0], xs = it.istride[1];
        if (dst->dtype == CNN_F32) {
            float *y = (float *)yp + it.off[0];
            if (src->dtype == CNN_F32) add_from_f32_f32(n, y, ys, (const float *)xp + it.off[1], xs);
            else add_from_f64_f32(n, y, ys, (const double *)xp + it.off[1], xs);
        } else {
            double *y = (double *)yp + it.off[0];
            if (src->dtype == CNN_F32) add_from_f32_f64(n, y, ys, (const float *)xp + it.off[1], xs);
            else add_from_f64_f64(n, y, ys, (const double *)xp + it.off[1], xs);
        }
    } while (cnn_iter_next(&it));
}

int cnn_accumulate_(cnn_ctx *c, cnn_tensor *dst, const cnn_tensor *src) {
    cnn_shape sd = cnn_shape_of(dst), ss = cnn_shape_of(src);
    if (cnn_check_inplace(c, dst) < 0) return -1;
    if (!cnn_shape_eq(&sd, &ss)) {
        char a[200], b[200];
        return cnn_seterr(c, "cannot add a gradient of shape %s into one of shape %s",
                          cnn_shape_str(a, sizeof a, ss.ndim, ss.size), cnn_shape_str(b, sizeof b, sd.ndim, sd.size));
    }
    cnn_tensor *tmp = NULL;                  /* src is read through a copy when it shares dst's storage */
    if (src->storage == dst->storage) {
        if ((tmp = cnn_empty(c, &ss, src->dtype)) == NULL) return -1;
        cnn_copy_raw(tmp, src);
        src = tmp;
    }
    add_raw(dst, src);
    cnn_tensor_release(tmp);
    cnn_bump_version(dst);
    return 0;
}

cnn_tensor *cnn_add_new(cnn_ctx *c, const cnn_tensor *a, const cnn_tensor *b) {
    cnn_dtype dt;
    cnn_check_dtype_pair(c, a, b, &dt);
    cnn_shape s = cnn_shape_of(a);
    cnn_tensor *y = cnn_empty(c, &s, dt);
    if (y == NULL) return NULL;
    cnn_copy_raw(y, a);
    add_raw(y, b);
    return y;
}

/* ---- plain sums (never recorded): cnn_reduce's sum and mean, and sum_to for gradients ---- */

/* reduced shape: dim removed (or kept as 1) */
cnn_shape cnn_reduced_shape(const cnn_tensor *a, int dim, int keepdim) {
    cnn_shape s;
    s.ndim = 0;
    if (dim < 0) {
        if (keepdim) { s.ndim = a->ndim; for (int i = 0; i < a->ndim; i++) s.size[i] = 1; }
        return s;
    }
    for (int i = 0; i < a->ndim; i++) {
        if (i == dim) { if (keepdim) s.size[s.ndim++] = 1; }
        else s.size[s.ndim++] = a->size[i];
    }
    return s;
}

void cnn_split3(const cnn_tensor *a, int dim, int64_t *outer, int64_t *n, int64_t *inner) {
    *outer = 1; *inner = 1;
    for (int i = 0; i < dim; i++) *outer *= a->size[i];
    *n = a->size[dim];
    for (int i = dim + 1; i < a->ndim; i++) *inner *= a->size[i];
}

cnn_tensor *cnn_sum_plain(cnn_ctx *c, const cnn_tensor *a, int dim, int keepdim, double scale) {
    cnn_shape s = cnn_reduced_shape(a, dim, keepdim);
    cnn_tensor *x = cnn_contiguous_as(c, a, a->dtype);
    if (x == NULL) return NULL;
    cnn_tensor *y = cnn_empty(c, &s, a->dtype);
    if (y == NULL) { cnn_tensor_release(x); return NULL; }
    int64_t outer, n, inner;
    if (dim < 0) { outer = 1; n = cnn_numel(a); inner = 1; }
    else cnn_split3(a, dim, &outer, &n, &inner);
    int f32 = a->dtype == CNN_F32;
    /* a big sum of everything: fixed chunks of 32K elements summed on the threads, then
     * their sums in order, so the result does not depend on the thread count */
    int64_t nch = (n + (1 << 15) - 1) >> 15;
    int chunked = outer == 1 && inner == 1 && n >= (INT64_C(1) << 17), T = par_threads(c, n);
    size_t wsn = chunked ? (size_t)nch : inner > 1 ? (size_t)inner : 0;
    double *acc = wsn ? cnn_ws_get(c, wsn * sizeof(double)) : NULL;
    if (wsn && acc == NULL) { cnn_tensor_release(x); cnn_tensor_release(y); return NULL; }
    if (chunked) {
        #pragma omp parallel for num_threads(T) schedule(static) if (T > 1)
        for (int64_t k = 0; k < nch; k++) {
            int64_t a0 = k << 15, m = n - a0 < (1 << 15) ? n - a0 : (1 << 15);
            acc[k] = f32 ? sum_all_f32(m, (const float *)cnn_data(x) + a0)
                         : sum_all_f64(m, (const double *)cnn_data(x) + a0);
        }
        double t = 0;
        for (int64_t k = 0; k < nch; k++) t += acc[k];
        if (f32) *(float *)cnn_data(y) = (float)(t * scale);
        else *(double *)cnn_data(y) = t * scale;
    } else if (f32) sum_dim_f32(outer, n, inner, cnn_data(x), cnn_data(y), acc, scale);
    else sum_dim_f64(outer, n, inner, cnn_data(x), cnn_data(y), acc, scale);
    cnn_tensor_release(x);
    return y;
}

cnn_tensor *cnn_sum_to(cnn_ctx *c, const cnn_tensor *g, const cnn_shape *s) {
    cnn_shape gs = cnn_shape_of(g);
    if (cnn_shape_eq(&gs, s)) { cnn_tensor_retain((cnn_tensor *)g); return (cnn_tensor *)g; }
    cnn_tensor *cur;
    int lead = g->ndim - s->ndim;
    if (lead > 0) {                         /* fold the extra leading dims into one and sum it */
        cnn_shape v;
        v.ndim = 1 + s->ndim;
        v.size[0] = 1;
        for (int i = 0; i < lead; i++) v.size[0] *= g->size[i];
        for (int i = 0; i < s->ndim; i++) v.size[1 + i] = g->size[lead + i];
        cnn_tensor *k = cnn_contiguous_as(c, g, g->dtype);
        if (k == NULL) return NULL;
        int64_t st[CNN_MAX_DIM];
        cnn_contiguous_strides(v.ndim, v.size, st);
        cnn_tensor *r = cnn_make_view(c, k, v.ndim, v.size, st, k->offset);
        cnn_tensor_release(k);
        if (r == NULL) return NULL;
        cur = cnn_sum_plain(c, r, 0, 0, 1.0);
        cnn_tensor_release(r);
        if (cur == NULL) return NULL;
    } else {
        cur = (cnn_tensor *)g;
        cnn_tensor_retain(cur);
    }
    for (int i = 0; i < s->ndim; i++) {
        if (s->size[i] == 1 && cur->size[i] != 1) {
            cnn_tensor *r = cnn_sum_plain(c, cur, i, 1, 1.0);
            cnn_tensor_release(cur);
            if ((cur = r) == NULL) return NULL;
        }
    }
    return cur;
}
