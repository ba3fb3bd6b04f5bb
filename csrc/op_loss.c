/* op_loss.c: the losses, each one fused op with its own backward: the pointwise family (mse, l1,
 * huber, smooth_l1, binary cross-entropy on probabilities or logits, hinge embedding), nll and
 * cross-entropy (log_softmax fused in) over class indices, and the multi-class hinge.
 * Kernels: op_loss.inc. Bindings: lua_nn.c; spec: loss_spec.lua. */
#include "cnn.h"
#include "tensor.h"
#include "autograd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CNN_GEN_FILE "op_loss.inc"
#include "gen.h"

static const char *const loss_names[CNN_LOSS_COUNT] = {
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "hinge_embedding_loss"
};

/* t broadcast to shape s and copied contiguous in dtype dt; NULL stays NULL (*ok untouched) */
static cnn_tensor *expand_as(cnn_ctx *c, const cnn_tensor *t, const cnn_shape *s, cnn_dtype dt,
                             const char *what, int *ok) {
    if (t == NULL || !*ok) return NULL;
    char a[200], b[200];
    cnn_shape ts = cnn_shape_of(t), bs;
    if (cnn_broadcast_shapes(c, &ts, s, &bs) < 0 || !cnn_shape_eq(&bs, s)) {
        cnn_seterr(c, "the %s of shape %s does not broadcast to the input's shape %s", what,
                   cnn_shape_str(a, sizeof a, ts.ndim, ts.size), cnn_shape_str(b, sizeof b, s->ndim, s->size));
        *ok = 0;
        return NULL;
    }
    cnn_tensor *r = cnn_empty(c, s, dt);
    if (r && cnn_copy_(c, r, t) < 0) { cnn_tensor_release(r); r = NULL; }
    if (r == NULL) *ok = 0;
    return r;
}

/* the loss value: the terms themselves (none), or their sum scaled into a 0-d tensor */
static cnn_tensor *reduced(cnn_ctx *c, cnn_tensor *terms, cnn_dtype dt, double value) {
    if (terms) return terms;
    cnn_shape s0 = { 0, { 0 } };
    return cnn_full(c, &s0, dt, value);
}

/* dy as a contiguous dtype-dt tensor plus its stride per term (0 when reduced to one value) */
static cnn_tensor *grad_in(cnn_ctx *c, const cnn_tensor *dy, cnn_dtype dt, int64_t *gs) {
    *gs = dy->ndim == 0 ? 0 : 1;
    return cnn_contiguous_as(c, dy, dt);
}

/* a gradient computed in dt, handed back in the input's dtype */
static int give(cnn_ctx *c, cnn_tensor *r, cnn_dtype want, cnn_tensor **out) {
    if (r && r->dtype != want) { *out = cnn_to(c, r, want); cnn_tensor_release(r); }
    else *out = r;
    return *out ? 0 : -1;
}

/* ---- pointwise losses: saved x, y, weight, pos_weight (all contiguous, x's shape and dtype);
 * iarg = kind, reduction, slot of weight (-1: none), slot of pos_weight; farg[0] = parameter ---- */

static int ploss_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *x = cnn_node_saved(c, n, 0), *y = cnn_node_saved(c, n, 1), *w = NULL, *pw = NULL;
    if (x == NULL || y == NULL) return -1;
    if (n->iarg[2] >= 0 && (w = cnn_node_saved(c, n, (int)n->iarg[2])) == NULL) return -1;
    if (n->iarg[3] >= 0 && (pw = cnn_node_saved(c, n, (int)n->iarg[3])) == NULL) return -1;
    cnn_dtype dt = x->dtype;
    int64_t gs, m = cnn_numel(x);
    double scale = n->iarg[1] == CNN_RED_MEAN ? 1.0 / (double)m : 1.0;
    cnn_tensor *g = grad_in(c, dy, dt, &gs), *rx = NULL, *ry = NULL;
    int ok = g != NULL;
    if (ok && n->in[0].node) ok = (rx = cnn_empty(c, &n->in[0].shape, dt)) != NULL;
    if (ok && n->in[1].node) ok = (ry = cnn_empty(c, &n->in[1].shape, dt)) != NULL;
    if (ok) {
        int kind = (int)n->iarg[0];
        if (dt == CNN_F32)
            ploss_bwd_f32(kind, m, rx ? cnn_data(rx) : NULL, ry ? cnn_data(ry) : NULL, cnn_data(g), gs, scale,
                          cnn_data(x), cnn_data(y), w ? cnn_data(w) : NULL, pw ? cnn_data(pw) : NULL, n->farg[0]);
        else
            ploss_bwd_f64(kind, m, rx ? cnn_data(rx) : NULL, ry ? cnn_data(ry) : NULL, cnn_data(g), gs, scale,
                          cnn_data(x), cnn_data(y), w ? cnn_data(w) : NULL, pw ? cnn_data(pw) : NULL, n->farg[0]);
    }
    cnn_tensor_release(g);
    if (!ok) { cnn_tensor_release(rx); cnn_tensor_release(ry); return -1; }
    if (rx && give(c, rx, n->in[0].dtype, &dx[0]) < 0) { cnn_tensor_release(ry); return -1; }
    if (ry && give(c, ry, n->in[1].dtype, &dx[1]) < 0) return -1;
    return 0;
}
static const cnn_op ploss_ops[CNN_LOSS_COUNT] = {
    { "mse_loss", ploss_backward, NULL }, { "l1_loss", ploss_backward, NULL },
    { "huber_loss", ploss_backward, NULL }, { "smooth_l1_loss", ploss_backward, NULL },
    { "binary_cross_entropy", ploss_backward, NULL },
    { "binary_cross_entropy_with_logits", ploss_backward, NULL },
    { "hinge_embedding_loss", ploss_backward, NULL },
};

cnn_tensor *cnn_pointwise_loss(cnn_ctx *c, cnn_loss kind, const cnn_tensor *x, const cnn_tensor *y,
                               const cnn_tensor *weight, const cnn_tensor *pos_weight, double p,
                               cnn_reduction red) {
    char a[200], b[200];
    if ((int)kind < 0 || kind >= CNN_LOSS_COUNT) { cnn_seterr(c, "unknown loss %d", (int)kind); return NULL; }
    cnn_shape s = cnn_shape_of(x), ys = cnn_shape_of(y);
    if (!cnn_shape_eq(&s, &ys)) {
        cnn_seterr(c, "the target's shape %s differs from the input's shape %s",
                   cnn_shape_str(a, sizeof a, ys.ndim, ys.size), cnn_shape_str(b, sizeof b, s.ndim, s.size));
        return NULL;
    }
    if (pos_weight && kind != CNN_LOSS_BCE_LOGITS) {
        cnn_seterr(c, "pos_weight applies only to %s", loss_names[CNN_LOSS_BCE_LOGITS]);
        return NULL;
    }
    /* smooth_l1 with beta = 0 is l1, as in PyTorch (its formula would divide by 0) */
    if (kind == CNN_LOSS_SMOOTH_L1 && p == 0) kind = CNN_LOSS_L1;
    cnn_dtype dt = x->dtype;
    int ok = 1;
    cnn_tensor *xc = cnn_contiguous_as(c, x, dt), *yc = xc ? cnn_contiguous_as(c, y, dt) : NULL;
    if (yc == NULL) ok = 0;
    cnn_tensor *wc = expand_as(c, weight, &s, dt, "weight", &ok);
    cnn_tensor *pwc = expand_as(c, pos_weight, &s, dt, "pos_weight", &ok);
    cnn_tensor *terms = NULL, *out = NULL;
    if (ok && red == CNN_RED_NONE) ok = (terms = cnn_empty(c, &s, dt)) != NULL;
    if (ok) {
        int64_t m = cnn_numel(x);
        void *tp = terms ? cnn_data(terms) : NULL;
        const void *wp = wc ? cnn_data(wc) : NULL, *pp = pwc ? cnn_data(pwc) : NULL;
        double sum = dt == CNN_F32 ? ploss_fwd_f32(kind, m, tp, cnn_data(xc), cnn_data(yc), wp, pp, p)
                                   : ploss_fwd_f64(kind, m, tp, cnn_data(xc), cnn_data(yc), wp, pp, p);
        out = reduced(c, terms, dt, red == CNN_RED_MEAN ? sum / (double)m : sum);
    }
    if (out) {
        /* no gradient flows to hinge_embedding's labels (they are +-1 selectors) */
        const cnn_tensor *ins[2] = { x, kind == CNN_LOSS_HINGE_EMBEDDING ? NULL : y };
        cnn_node *n = cnn_record(c, &ploss_ops[kind], &out, 2, ins);
        if (n) {
            int slot = 2;
            n->iarg[0] = kind; n->iarg[1] = red; n->iarg[2] = n->iarg[3] = -1; n->farg[0] = p;
            cnn_node_save(n, 0, xc);
            cnn_node_save(n, 1, yc);
            if (wc) { n->iarg[2] = slot; cnn_node_save(n, slot++, wc); }
            if (pwc) { n->iarg[3] = slot; cnn_node_save(n, slot, pwc); }
        }
    } else {
        cnn_tensor_release(terms);
    }
    cnn_tensor_release(xc); cnn_tensor_release(yc); cnn_tensor_release(wc); cnn_tensor_release(pwc);
    return out;
}

/* ---- class-index losses: the targets (and log-sum-exps) live in the node's extra ---- */

typedef struct { int64_t *t; double *lse; } class_ctx;

static void class_release(cnn_node *n) {
    class_ctx *k = n->extra;
    if (k) { free(k->t); free(k->lse); free(k); }
}

static class_ctx *class_new(cnn_ctx *c, const int64_t *t, int64_t nt, int want_lse) {
    class_ctx *k = calloc(1, sizeof *k);
    if (k) k->t = malloc((size_t)(nt ? nt : 1) * sizeof *k->t);
    if (k && k->t && want_lse) k->lse = malloc((size_t)(nt ? nt : 1) * sizeof *k->lse);
    if (k == NULL || k->t == NULL || (want_lse && k->lse == NULL)) {
        if (k) { free(k->t); free(k); }
        cnn_seterr(c, "out of memory");
        return NULL;
    }
    memcpy(k->t, t, (size_t)nt * sizeof *t);
    return k;
}

/* class weights: (C) values, contiguous in dtype dt */
static cnn_tensor *class_weight(cnn_ctx *c, const cnn_tensor *w, int64_t C, cnn_dtype dt, int *ok) {
    if (w == NULL) return NULL;
    char a[200];
    if (w->ndim != 1 || w->size[0] != C) {
        cnn_seterr(c, "expected a weight of shape [%lld] (one per class), got %s", (long long)C,
                   cnn_tensor_desc(a, sizeof a, w));
        *ok = 0;
        return NULL;
    }
    cnn_tensor *r = cnn_contiguous_as(c, w, dt);
    if (r == NULL) *ok = 0;
    return r;
}

static int check_targets(cnn_ctx *c, const int64_t *t, int64_t nt, int64_t C, int allow_ignored) {
    for (int64_t i = 0; i < nt; i++)
        if (t[i] >= C || t[i] < (allow_ignored ? -1 : 0))
            return cnn_seterr(c, "target %lld (position %lld) is out of range 1..%lld",
                              (long long)t[i] + 1, (long long)i + 1, (long long)C);
    return 0;
}

/* saved: x (contiguous), weight (optional); iarg = reduction, from_logits, N, C, S; farg[0] = weight sum */
static int nll_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *x = cnn_node_saved(c, n, 0), *w = NULL;
    if (x == NULL) return -1;
    if (n->nsaved > 1 && (w = cnn_node_saved(c, n, 1)) == NULL) return -1;
    class_ctx *k = n->extra;
    int64_t gs, N = n->iarg[2], C = n->iarg[3], S = n->iarg[4];
    double scale = n->iarg[0] == CNN_RED_MEAN ? 1.0 / n->farg[0] : 1.0;
    cnn_tensor *g = grad_in(c, dy, x->dtype, &gs);
    cnn_tensor *r = g ? cnn_empty(c, &n->in[0].shape, x->dtype) : NULL;
    if (r) {
        int lg = (int)n->iarg[1];
        if (x->dtype == CNN_F32) nll_bwd_f32(lg, N, C, S, cnn_data(r), cnn_data(g), gs, scale, k->lse, cnn_data(x), k->t, w ? cnn_data(w) : NULL);
        else nll_bwd_f64(lg, N, C, S, cnn_data(r), cnn_data(g), gs, scale, k->lse, cnn_data(x), k->t, w ? cnn_data(w) : NULL);
    }
    cnn_tensor_release(g);
    dx[0] = r;
    return r ? 0 : -1;
}
/* The end of a class-index loss: records out's node (saving xc, and wc when weighted; the node
 * takes k over) and returns it with its options set by the caller, or NULL when out is NULL or
 * not recorded; frees whatever the node did not take. */
static cnn_node *class_finish(cnn_ctx *c, const cnn_op *op, cnn_tensor **out, const cnn_tensor *x,
                              cnn_tensor *xc, cnn_tensor *wc, class_ctx *k) {
    const cnn_tensor *ins[1] = { x };
    cnn_node *n = *out ? cnn_record(c, op, out, 1, ins) : NULL;
    if (n) {
        n->extra = k;
        k = NULL;
        cnn_node_save(n, 0, xc);
        if (wc) cnn_node_save(n, 1, wc);
    }
    if (k) { cnn_node tmp; tmp.extra = k; class_release(&tmp); }
    cnn_tensor_release(xc);
    cnn_tensor_release(wc);
    return n;
}

static const cnn_op op_nll = { "nll_loss", nll_backward, class_release };
static const cnn_op op_ce = { "cross_entropy", nll_backward, class_release };

cnn_tensor *cnn_nll_loss(cnn_ctx *c, const cnn_tensor *x, const cnn_shape *ts, const int64_t *target,
                         const cnn_tensor *weight, int log_softmax, cnn_reduction red) {
    char a[200], b[200];
    if (x->ndim < 2) { cnn_seterr(c, "expected an input of 2 or more dimensions (N,C,...), got %s", cnn_tensor_desc(a, sizeof a, x)); return NULL; }
    int64_t N = x->size[0], C = x->size[1], S = 1;
    for (int i = 2; i < x->ndim; i++) S *= x->size[i];
    int fits = ts->ndim == x->ndim - 1 && ts->size[0] == N;
    for (int i = 1; fits && i < ts->ndim; i++) fits = ts->size[i] == x->size[i + 1];
    if (!fits) {
        cnn_seterr(c, "the target's shape %s does not match the input's shape %s (expected the input's without dimension 2)",
                   cnn_shape_str(a, sizeof a, ts->ndim, ts->size), cnn_shape_str(b, sizeof b, x->ndim, x->size));
        return NULL;
    }
    int64_t nt = N * S;
    if (check_targets(c, target, nt, C, 1) < 0) return NULL;
    int ok = 1;
    cnn_dtype dt = x->dtype;
    cnn_tensor *wc = class_weight(c, weight, C, dt, &ok);
    cnn_tensor *xc = ok ? cnn_contiguous_as(c, x, dt) : NULL;
    class_ctx *k = xc ? class_new(c, target, nt, log_softmax) : NULL;
    cnn_tensor *terms = NULL, *out = NULL;
    if (k && red == CNN_RED_NONE) terms = cnn_empty(c, ts, dt);
    if (k && (red != CNN_RED_NONE || terms)) {
        double wsum, sum;
        void *tp = terms ? cnn_data(terms) : NULL;
        const void *wp = wc ? cnn_data(wc) : NULL;
        sum = dt == CNN_F32 ? nll_fwd_f32(log_softmax, N, C, S, tp, k->lse, cnn_data(xc), k->t, wp, &wsum)
                            : nll_fwd_f64(log_softmax, N, C, S, tp, k->lse, cnn_data(xc), k->t, wp, &wsum);
        /* PyTorch's weighted mean: 0/0 (every target ignored) is NaN there too */
        out = reduced(c, terms, dt, red == CNN_RED_MEAN ? sum / wsum : sum);
        cnn_node *n = class_finish(c, log_softmax ? &op_ce : &op_nll, &out, x, xc, wc, k);
        if (n) {
            n->iarg[0] = red; n->iarg[1] = log_softmax; n->iarg[2] = N; n->iarg[3] = C; n->iarg[4] = S;
            n->farg[0] = wsum;
        }
        return out;
    }
    class_finish(c, NULL, &out, x, xc, wc, k);
    return out;
}

/* saved: x (contiguous), weight (optional); iarg = reduction, p, N, C; farg[0] = margin */
static int mm_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *x = cnn_node_saved(c, n, 0), *w = NULL;
    if (x == NULL) return -1;
    if (n->nsaved > 1 && (w = cnn_node_saved(c, n, 1)) == NULL) return -1;
    class_ctx *k = n->extra;
    int64_t gs, N = n->iarg[2], C = n->iarg[3];
    double scale = n->iarg[0] == CNN_RED_MEAN ? 1.0 / (double)N : 1.0;
    cnn_tensor *g = grad_in(c, dy, x->dtype, &gs);
    cnn_tensor *r = g ? cnn_empty(c, &n->in[0].shape, x->dtype) : NULL;
    if (r) {
        int p = (int)n->iarg[1];
        if (x->dtype == CNN_F32) mm_bwd_f32(N, C, cnn_data(r), cnn_data(g), gs, scale, cnn_data(x), k->t, w ? cnn_data(w) : NULL, p, n->farg[0]);
        else mm_bwd_f64(N, C, cnn_data(r), cnn_data(g), gs, scale, cnn_data(x), k->t, w ? cnn_data(w) : NULL, p, n->farg[0]);
    }
    cnn_tensor_release(g);
    dx[0] = r;
    return r ? 0 : -1;
}
static const cnn_op op_multi_margin = { "multi_margin_loss", mm_backward, class_release };

cnn_tensor *cnn_multi_margin_loss(cnn_ctx *c, const cnn_tensor *x, const cnn_shape *ts, const int64_t *target,
                                  const cnn_tensor *weight, int p, double margin, cnn_reduction red) {
    char a[200], b[200];
    if (x->ndim < 1 || x->ndim > 2) { cnn_seterr(c, "expected an input of shape (N,C) or (C), got %s", cnn_tensor_desc(a, sizeof a, x)); return NULL; }
    if (p != 1 && p != 2) { cnn_seterr(c, "expected p = 1 or 2, got %d", p); return NULL; }
    int64_t N = x->ndim == 2 ? x->size[0] : 1, C = x->size[x->ndim - 1];
    int fits = x->ndim == 2 ? (ts->ndim == 1 && ts->size[0] == N) : cnn_shape_numel(ts) == 1;
    if (!fits) {
        cnn_seterr(c, "the target's shape %s does not match the input's shape %s (expected one class per row)",
                   cnn_shape_str(a, sizeof a, ts->ndim, ts->size), cnn_shape_str(b, sizeof b, x->ndim, x->size));
        return NULL;
    }
    if (check_targets(c, target, N, C, 0) < 0) return NULL;
    int ok = 1;
    cnn_dtype dt = x->dtype;
    cnn_tensor *wc = class_weight(c, weight, C, dt, &ok);
    cnn_tensor *xc = ok ? cnn_contiguous_as(c, x, dt) : NULL;
    class_ctx *k = xc ? class_new(c, target, N, 0) : NULL;
    cnn_tensor *terms = NULL, *out = NULL;
    cnn_shape os = { x->ndim == 2 ? 1 : 0, { N } };
    if (k && red == CNN_RED_NONE) terms = cnn_empty(c, &os, dt);
    if (k && (red != CNN_RED_NONE || terms)) {
        void *tp = terms ? cnn_data(terms) : NULL;
        const void *wp = wc ? cnn_data(wc) : NULL;
        double sum = dt == CNN_F32 ? mm_fwd_f32(N, C, tp, cnn_data(xc), k->t, wp, p, margin)
                                   : mm_fwd_f64(N, C, tp, cnn_data(xc), k->t, wp, p, margin);
        out = reduced(c, terms, dt, red == CNN_RED_MEAN ? sum / (double)N : sum);
        cnn_node *n = class_finish(c, &op_multi_margin, &out, x, xc, wc, k);
        if (n) { n->iarg[0] = red; n->iarg[1] = p; n->iarg[2] = N; n->iarg[3] = C; n->farg[0] = margin; }
        return out;
    }
    class_finish(c, NULL, &out, x, xc, wc, k);
    return out;
}
