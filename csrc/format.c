/* format.c: tostring(t), Torch7-style: a matrix per 2-D slice headed "(i,j,.,.) = ", a common
 * number format chosen from the values shown, and a footer with dtype and shape. Tensors over
 * 1000 elements show the first and last 3 entries of each long dimension. Spec: tensor_spec.lua. */
#include "cnn.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { char *p; size_t n, cap; int oom; } sbuf;

static void sb_put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_put(sbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
        va_end(ap);
        if (k < 0) { b->oom = 1; return; }
        if ((size_t)k < b->cap - b->n) { b->n += (size_t)k; return; }
        size_t cap = (b->cap + (size_t)k + 1) * 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) { b->oom = 1; return; }
        b->p = p;
        b->cap = cap;
    }
}

enum { EDGE = 3 };

typedef struct {
    const cnn_tensor *t;
    int elide;
    char fmt[16];
    int width;
} fmtctx;

/* is index i of dimension d shown? (-1 marks the elision point) */
static int64_t next_shown(const fmtctx *f, int d, int64_t i) {
    int64_t n = f->t->size[d];
    if (!f->elide || n <= 2 * EDGE) return i + 1;
    if (i + 1 == EDGE) return n - EDGE;
    return i + 1;
}

/* the element at idx: int64 exactly, floats with the chosen format */
static void fmt_value(const fmtctx *f, char *buf, size_t n, const int64_t *idx) {
    if (f->t->dtype == CNN_I64) { snprintf(buf, n, "%lld", (long long)cnn_get_i64(f->t, idx)); return; }
    double v = cnn_get(f->t, idx);
    if (isnan(v)) snprintf(buf, n, "nan");
    else if (isinf(v)) snprintf(buf, n, v > 0 ? "inf" : "-inf");
    else snprintf(buf, n, f->fmt, v == 0 ? 0.0 : v);   /* no "-0" */
}

/* visit every shown element to choose a format and a width */
static void scan(fmtctx *f, int64_t *idx, int d, int *allint, double *maxabs, double *minnz) {
    const cnn_tensor *t = f->t;
    if (d == t->ndim) {
        double v = cnn_get(t, idx);
        if (!isfinite(v)) return;
        if (v != floor(v)) *allint = 0;
        double a = fabs(v);
        if (a > *maxabs) *maxabs = a;
        if (a > 0 && a < *minnz) *minnz = a;
        return;
    }
    for (idx[d] = 0; idx[d] < t->size[d]; idx[d] = next_shown(f, d, idx[d]))
        scan(f, idx, d + 1, allint, maxabs, minnz);
}

static void width_scan(fmtctx *f, int64_t *idx, int d) {
    const cnn_tensor *t = f->t;
    if (d == t->ndim) {
        char buf[64];
        fmt_value(f, buf, sizeof buf, idx);
        int w = (int)strlen(buf);
        if (w > f->width) f->width = w;
        return;
    }
    for (idx[d] = 0; idx[d] < t->size[d]; idx[d] = next_shown(f, d, idx[d])) width_scan(f, idx, d + 1);
}

/* one row along the last dimension */
static void put_row(sbuf *b, const fmtctx *f, int64_t *idx) {
    const cnn_tensor *t = f->t;
    int d = t->ndim - 1;
    for (idx[d] = 0; idx[d] < t->size[d]; ) {
        char buf[64];
        fmt_value(f, buf, sizeof buf, idx);
        sb_put(b, " %*s", f->width, buf);
        int64_t nx = next_shown(f, d, idx[d]);
        if (nx != idx[d] + 1) sb_put(b, " ...");
        idx[d] = nx;
    }
    sb_put(b, "\n");
}

static void put_matrix(sbuf *b, const fmtctx *f, int64_t *idx) {
    const cnn_tensor *t = f->t;
    int d = t->ndim - 2;
    for (idx[d] = 0; idx[d] < t->size[d]; ) {
        put_row(b, f, idx);
        int64_t nx = next_shown(f, d, idx[d]);
        if (nx != idx[d] + 1) sb_put(b, " ...\n");
        idx[d] = nx;
    }
}

static void put_slices(sbuf *b, const fmtctx *f, int64_t *idx, int d, int *first) {
    const cnn_tensor *t = f->t;
    if (d == t->ndim - 2) {
        if (!*first) sb_put(b, "\n");
        *first = 0;
        sb_put(b, "(");
        for (int i = 0; i < d; i++) sb_put(b, "%lld,", (long long)idx[i] + 1);
        sb_put(b, ".,.) = \n");
        put_matrix(b, f, idx);
        return;
    }
    for (idx[d] = 0; idx[d] < t->size[d]; ) {
        put_slices(b, f, idx, d + 1, first);
        int64_t nx = next_shown(f, d, idx[d]);
        if (nx != idx[d] + 1) sb_put(b, "\n ...\n");
        idx[d] = nx;
    }
}

char *cnn_format(cnn_ctx *c, const cnn_tensor *t) {
    sbuf b = { NULL, 0, 0, 0 };
    fmtctx f;
    f.t = t;
    f.elide = cnn_numel(t) > 1000;
    f.width = 1;
    int64_t idx[CNN_MAX_DIM] = {0};
    int64_t n = cnn_numel(t);
    if (n > 0) {
        int allint = 1;
        double maxabs = 0, minnz = INFINITY;
        scan(&f, idx, 0, &allint, &maxabs, &minnz);
        if (allint && maxabs < 1e9) strcpy(f.fmt, "%.0f");
        else if (maxabs >= 1e5 || minnz < 1e-4) strcpy(f.fmt, "%.4e");
        else strcpy(f.fmt, "%.4f");
        width_scan(&f, idx, 0);
        if (t->ndim == 0) {
            char buf[64];
            fmt_value(&f, buf, sizeof buf, idx);
            sb_put(&b, "%s\n", buf);
        } else if (t->ndim == 1) {
            put_row(&b, &f, idx);
        } else if (t->ndim == 2) {
            put_matrix(&b, &f, idx);
        } else {
            int first = 1;
            put_slices(&b, &f, idx, 0, &first);
        }
    }
    char shape[200], *sp = shape;
    size_t k = 0;
    k += (size_t)snprintf(sp + k, sizeof shape - k, "[");
    for (int i = 0; i < t->ndim && k < sizeof shape; i++)
        k += (size_t)snprintf(sp + k, sizeof shape - k, i ? ",%lld" : "%lld", (long long)t->size[i]);
    if (k < sizeof shape) snprintf(sp + k, sizeof shape - k, "]");
    const char *gf = cnn_grad_fn_name(t);
    if (gf) sb_put(&b, "[cnn.Tensor %s %s, grad_fn=%s]", cnn_dtype_name(t->dtype), shape, gf);
    else if (t->requires_grad) sb_put(&b, "[cnn.Tensor %s %s, requires_grad]", cnn_dtype_name(t->dtype), shape);
    else sb_put(&b, "[cnn.Tensor %s %s]", cnn_dtype_name(t->dtype), shape);
    if (b.oom) { free(b.p); cnn_seterr(c, "out of memory"); return NULL; }
    return b.p;
}
