/* op_norm.c: batch_norm (training with batch statistics and a running-average update, or eval
 * with the running statistics), layer_norm and group_norm (statistics per sample, over the
 * trailing dimensions or over groups of channels) and inverted dropout, each fused with its own
 * backward.
 * Kernels: op_norm.inc. Bindings: lua_nn.c; spec: norm_spec.lua. */
#include "cnn.h"
#include "tensor.h"
#include "autograd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CNN_GEN_FILE "op_norm.inc"
#include "gen.h"

/* ---- batch_norm: saved x (contiguous) and weight; extra = mean and invstd (2C doubles);
 * iarg = training, N, C, S ---- */

static void bn_release(cnn_node *n) { free(n->extra); }

/* the gradients of (x, weight, bias), computed in the kernel's dtype, handed back in each input's
 * own dtype (takes r*; all released when ok is 0) */
static int give_grads(cnn_ctx *c, const cnn_node *n, int ok, cnn_tensor *rx, cnn_tensor *rw, cnn_tensor *rb,
                      cnn_tensor **dx) {
    cnn_tensor *r[3] = { rx, rw, rb };
    for (int i = 0; i < 3; i++) {
        if (!ok) { cnn_tensor_release(r[i]); continue; }
        if (r[i] && r[i]->dtype != n->in[i].dtype) {
            dx[i] = cnn_to(c, r[i], n->in[i].dtype);
            cnn_tensor_release(r[i]);
            if (dx[i] == NULL) ok = 0;
        } else {
            dx[i] = r[i];
        }
    }
    return ok ? 0 : -1;
}

static int bn_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *x = cnn_node_saved(c, n, 0), *w = NULL;
    if (x == NULL) return -1;
    if (n->nsaved > 1 && (w = cnn_node_saved(c, n, 1)) == NULL) return -1;
    int64_t N = n->iarg[1], C = n->iarg[2], S = n->iarg[3];
    const double *mean = n->extra, *invstd = mean + C;
    cnn_dtype dt = x->dtype;
    cnn_shape sc = { 1, { C } };
    cnn_tensor *g = cnn_contiguous_as(c, dy, dt), *rx = NULL, *rw = NULL, *rb = NULL;
    int ok = g != NULL;
    if (ok && n->in[0].node) ok = (rx = cnn_empty(c, &n->in[0].shape, dt)) != NULL;
    if (ok && n->in[1].node) ok = (rw = cnn_empty(c, &sc, dt)) != NULL;
    if (ok && n->in[2].node) ok = (rb = cnn_empty(c, &sc, dt)) != NULL;
    if (ok) {
        int tr = (int)n->iarg[0];
        if (dt == CNN_F32)
            bn_bwd_f32(tr, N, C, S, rx ? cnn_data(rx) : NULL, rw ? cnn_data(rw) : NULL, rb ? cnn_data(rb) : NULL,
                       cnn_data(g), cnn_data(x), mean, invstd, w ? cnn_data(w) : NULL,
                       par_threads(c, N * C * S));
        else
            bn_bwd_f64(tr, N, C, S, rx ? cnn_data(rx) : NULL, rw ? cnn_data(rw) : NULL, rb ? cnn_data(rb) : NULL,
                       cnn_data(g), cnn_data(x), mean, invstd, w ? cnn_data(w) : NULL,
                       par_threads(c, N * C * S));
    }
    cnn_tensor_release(g);
    return give_grads(c, n, ok, rx, rw, rb, dx);
}
static const cnn_op op_batch_norm = { "batch_norm", bn_backward, bn_release };

/* a per-channel tensor must hold exactly C values in one dimension */
static int check_channel(cnn_ctx *c, const cnn_tensor *t, int64_t C, const char *what) {
    char a[200];
    if (t && (t->ndim != 1 || t->size[0] != C))
        return cnn_seterr(c, "expected %s of shape [%lld], got %s", what, (long long)C, cnn_tensor_desc(a, sizeof a, t));
    return 0;
}

cnn_tensor *cnn_batch_norm(cnn_ctx *c, const cnn_tensor *x, cnn_tensor *running_mean, cnn_tensor *running_var,
                           const cnn_tensor *weight, const cnn_tensor *bias, int training,
                           double momentum, double eps) {
    char a[200];
    if (x->ndim < 2) { cnn_seterr(c, "expected an input of 2 or more dimensions (N,C,...), got %s", cnn_tensor_desc(a, sizeof a, x)); return NULL; }
    int64_t N = x->size[0], C = x->size[1], S = 1;
    for (int i = 2; i < x->ndim; i++) S *= x->size[i];
    if (check_channel(c, running_mean, C, "running_mean") < 0 || check_channel(c, running_var, C, "running_var") < 0 ||
        check_channel(c, weight, C, "weight") < 0 || check_channel(c, bias, C, "bias") < 0) return NULL;
    if (!training && (running_mean == NULL || running_var == NULL)) {
        cnn_seterr(c, "running_mean and running_var are needed when not training");
        return NULL;
    }
    if (training && N * S <= 1) {
        cnn_seterr(c, "expected more than 1 value per channel when training, got input %s", cnn_tensor_desc(a, sizeof a, x));
        return NULL;
    }
    if (training && ((running_mean && cnn_check_inplace(c, running_mean) < 0) ||
                     (running_var && cnn_check_inplace(c, running_var) < 0))) return NULL;
    double *stats = malloc((size_t)(2 * (C ? C : 1)) * sizeof *stats);
    if (stats == NULL) { cnn_seterr(c, "out of memory"); return NULL; }
    double *mean = stats, *invstd = stats + C;
    cnn_dtype dt = x->dtype;
    cnn_tensor *xc = cnn_contiguous_as(c, x, dt);
    cnn_tensor *wc = xc && weight ? cnn_contiguous_as(c, weight, dt) : NULL;
    cnn_tensor *bc = xc && bias ? cnn_contiguous_as(c, bias, dt) : NULL;
    cnn_shape s = cnn_shape_of(x);
    cnn_tensor *y = NULL;
    if (xc && (!weight || wc) && (!bias || bc)) y = cnn_empty(c, &s, dt);
    if (y) {
        if (training) {
            /* invstd holds the variance until the update below is done with it */
            if (dt == CNN_F32) bn_stats_f32(N, C, S, cnn_data(xc), mean, invstd, par_threads(c, N * C * S));
            else bn_stats_f64(N, C, S, cnn_data(xc), mean, invstd, par_threads(c, N * C * S));
            double unbias = (double)(N * S) / (double)(N * S - 1);
            for (int64_t ch = 0; ch < C; ch++) {
                int64_t i[1] = { ch };
                if (running_mean) cnn_set(running_mean, i, (1 - momentum) * cnn_get(running_mean, i) + momentum * mean[ch]);
                if (running_var) cnn_set(running_var, i, (1 - momentum) * cnn_get(running_var, i) + momentum * invstd[ch] * unbias);
                invstd[ch] = 1 / sqrt(invstd[ch] + eps);
            }
            if (running_mean) cnn_bump_version(running_mean);
            if (running_var) cnn_bump_version(running_var);
        } else {
            for (int64_t ch = 0; ch < C; ch++) {
                int64_t i[1] = { ch };
                mean[ch] = cnn_get(running_mean, i);
                invstd[ch] = 1 / sqrt(cnn_get(running_var, i) + eps);
            }
        }
        if (dt == CNN_F32) bn_fwd_f32(N, C, S, cnn_data(y), cnn_data(xc), mean, invstd, wc ? cnn_data(wc) : NULL, bc ? cnn_data(bc) : NULL,
                                           par_threads(c, N * C * S));
        else bn_fwd_f64(N, C, S, cnn_data(y), cnn_data(xc), mean, invstd, wc ? cnn_data(wc) : NULL, bc ? cnn_data(bc) : NULL,
                                           par_threads(c, N * C * S));
        const cnn_tensor *ins[3] = { x, weight, bias };
        cnn_node *n = cnn_record(c, &op_batch_norm, &y, 3, ins);
        if (n) {
            n->iarg[0] = training; n->iarg[1] = N; n->iarg[2] = C; n->iarg[3] = S;
            n->extra = stats;
            stats = NULL;
            cnn_node_save(n, 0, xc);
            if (wc) cnn_node_save(n, 1, wc);
        }
    }
    free(stats);
    cnn_tensor_release(xc); cnn_tensor_release(wc); cnn_tensor_release(bc);
    return y;
}

/* ---- layer_norm and group_norm: both normalise rows of a contiguous x viewed as (R, S) and
 * apply an affine map per entry a (see rownorm in op_norm.inc). Saved x (contiguous), weight;
 * extra = mean and invstd (2R doubles); iarg = R, G, Cg, inner ---- */

static int rownorm_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *x = cnn_node_saved(c, n, 0), *w = NULL;
    if (x == NULL) return -1;
    if (n->nsaved > 1 && (w = cnn_node_saved(c, n, 1)) == NULL) return -1;
    int64_t R = n->iarg[0], G = n->iarg[1], Cg = n->iarg[2], inner = n->iarg[3], A = G * Cg;
    const double *mean = n->extra, *invstd = mean + R;
    cnn_dtype dt = x->dtype;
    cnn_tensor *g = cnn_contiguous_as(c, dy, dt), *rx = NULL, *rw = NULL, *rb = NULL;
    int ok = g != NULL, need_acc = n->in[1].node || n->in[2].node;
    double *acc = need_acc ? calloc((size_t)(2 * (A ? A : 1)), sizeof *acc) : NULL;
    if (need_acc && acc == NULL) { cnn_seterr(c, "out of memory"); ok = 0; }
    if (ok && n->in[0].node) ok = (rx = cnn_empty(c, &n->in[0].shape, dt)) != NULL;
    if (ok && n->in[1].node) ok = (rw = cnn_empty(c, &n->in[1].shape, dt)) != NULL;
    if (ok && n->in[2].node) ok = (rb = cnn_empty(c, &n->in[2].shape, dt)) != NULL;
    if (ok) {
        if (dt == CNN_F32) {
            rownorm_bwd_f32(R, G, Cg, inner, rx ? cnn_data(rx) : NULL, acc, cnn_data(g), cnn_data(x), mean, invstd,
                            w ? cnn_data(w) : NULL);
            float *pw = rw ? cnn_data(rw) : NULL, *pb = rb ? cnn_data(rb) : NULL;
            for (int64_t a = 0; a < A; a++) {
                if (pw) pw[a] = (float)acc[a];
                if (pb) pb[a] = (float)acc[A + a];
            }
        } else {
            rownorm_bwd_f64(R, G, Cg, inner, rx ? cnn_data(rx) : NULL, acc, cnn_data(g), cnn_data(x), mean, invstd,
                            w ? cnn_data(w) : NULL);
            double *pw = rw ? cnn_data(rw) : NULL, *pb = rb ? cnn_data(rb) : NULL;
            for (int64_t a = 0; a < A; a++) {
                if (pw) pw[a] = acc[a];
                if (pb) pb[a] = acc[A + a];
            }
        }
    }
    free(acc);
    cnn_tensor_release(g);
    return give_grads(c, n, ok, rx, rw, rb, dx);
}
static void rownorm_release(cnn_node *n) { free(n->extra); }
static const cnn_op op_layer_norm = { "layer_norm", rownorm_backward, rownorm_release };
static const cnn_op op_group_norm = { "group_norm", rownorm_backward, rownorm_release };

static cnn_tensor *rownorm(cnn_ctx *c, const cnn_op *op, const cnn_tensor *x, int64_t R, int64_t G, int64_t Cg,
                           int64_t inner, const cnn_tensor *weight, const cnn_tensor *bias, double eps) {
    if (!(eps >= 0)) { cnn_seterr(c, "expected eps >= 0, got %g", eps); return NULL; }
    double *stats = malloc((size_t)(2 * (R ? R : 1)) * sizeof *stats);
    if (stats == NULL) { cnn_seterr(c, "out of memory"); return NULL; }
    cnn_dtype dt = x->dtype;
    cnn_tensor *xc = cnn_contiguous_as(c, x, dt);
    cnn_tensor *wc = xc && weight ? cnn_contiguous_as(c, weight, dt) : NULL;
    cnn_tensor *bc = xc && bias ? cnn_contiguous_as(c, bias, dt) : NULL;
    cnn_shape s = cnn_shape_of(x);
    cnn_tensor *y = NULL;
    if (xc && (!weight || wc) && (!bias || bc)) y = cnn_empty(c, &s, dt);
    if (y) {
        if (dt == CNN_F32)
            rownorm_fwd_f32(R, G, Cg, inner, cnn_data(y), cnn_data(xc), wc ? cnn_data(wc) : NULL, bc ? cnn_data(bc) : NULL,
                            eps, stats, stats + R);
        else
            rownorm_fwd_f64(R, G, Cg, inner, cnn_data(y), cnn_data(xc), wc ? cnn_data(wc) : NULL, bc ? cnn_data(bc) : NULL,
                            eps, stats, stats + R);
        const cnn_tensor *ins[3] = { x, weight, bias };
        cnn_node *n = cnn_record(c, op, &y, 3, ins);
        if (n) {
            n->iarg[0] = R; n->iarg[1] = G; n->iarg[2] = Cg; n->iarg[3] = inner;
            n->extra = stats;
            stats = NULL;
            cnn_node_save(n, 0, xc);
            if (wc) cnn_node_save(n, 1, wc);
        }
    }
    free(stats);
    cnn_tensor_release(xc); cnn_tensor_release(wc); cnn_tensor_release(bc);
    return y;
}

cnn_tensor *cnn_layer_norm(cnn_ctx *c, const cnn_tensor *x, const cnn_shape *norm, const cnn_tensor *weight,
                           const cnn_tensor *bias, double eps) {
    char a[200], d[200];
    int k = norm->ndim, ok = k >= 1 && k <= x->ndim;
    for (int i = 0; ok && i < k; i++) ok = x->size[x->ndim - k + i] == norm->size[i];
    if (!ok) {
        cnn_seterr(c, "expected an input whose trailing dimensions are %s, got %s",
                   cnn_shape_str(d, sizeof d, k, norm->size), cnn_tensor_desc(a, sizeof a, x));
        return NULL;
    }
    const cnn_tensor *per[2] = { weight, bias };
    for (int j = 0; j < 2; j++) {
        const cnn_tensor *t = per[j];
        int same = t == NULL || t->ndim == k;
        for (int i = 0; t && same && i < k; i++) same = t->size[i] == norm->size[i];
        if (!same) {
            cnn_seterr(c, "expected %s of shape %s, got %s", j ? "bias" : "weight", cnn_shape_str(d, sizeof d, k, norm->size),
                       cnn_tensor_desc(a, sizeof a, t));
            return NULL;
        }
    }
    int64_t S = 1, R = 1;
    for (int i = 0; i < x->ndim; i++) *(i < x->ndim - k ? &R : &S) *= x->size[i];
    return rownorm(c, &op_layer_norm, x, R, 1, S, 1, weight, bias, eps);
}

cnn_tensor *cnn_group_norm(cnn_ctx *c, const cnn_tensor *x, int64_t groups, const cnn_tensor *weight,
                           const cnn_tensor *bias, double eps) {
    char a[200];
    if (x->ndim < 2) { cnn_seterr(c, "expected an input of 2 or more dimensions (N,C,...), got %s", cnn_tensor_desc(a, sizeof a, x)); return NULL; }
    int64_t N = x->size[0], C = x->size[1], inner = 1;
    if (groups < 1 || C % groups != 0) {
        cnn_seterr(c, "expected num_groups (%lld) to divide the channels of input %s", (long long)groups,
                   cnn_tensor_desc(a, sizeof a, x));
        return NULL;
    }
    if (check_channel(c, weight, C, "weight") < 0 || check_channel(c, bias, C, "bias") < 0) return NULL;
    for (int i = 2; i < x->ndim; i++) inner *= x->size[i];
    return rownorm(c, &op_group_norm, x, N * groups, groups, C / groups, inner, weight, bias, eps);
}

/* ---- dropout: saved mask (0 or 1/(1-p)); dx = dy * mask ---- */

static int dropout_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *mask = cnn_node_saved(c, n, 0);
    if (mask == NULL) return -1;
    dx[0] = cnn_binary(c, CNN_MUL, dy, mask);
    return dx[0] ? 0 : -1;
}
static const cnn_op op_dropout = { "dropout", dropout_backward, NULL };

cnn_tensor *cnn_dropout(cnn_ctx *c, const cnn_tensor *x, double p, int training) {
    if (!(p >= 0 && p <= 1)) { cnn_seterr(c, "expected a probability p in [0, 1], got %g", p); return NULL; }
    if (!training || p == 0) { cnn_tensor_retain((cnn_tensor *)x); return (cnn_tensor *)x; }
    cnn_shape s = cnn_shape_of(x);
    cnn_tensor *xc = cnn_contiguous_as(c, x, x->dtype);
    cnn_tensor *mask = xc ? cnn_empty(c, &s, x->dtype) : NULL;
    cnn_tensor *y = mask ? cnn_empty(c, &s, x->dtype) : NULL;
    if (y) {
        int64_t m = cnn_numel(y);
        if (p == 1) {                   /* everything dropped; 1/(1-p) would be infinite */
            memset(cnn_data(y), 0, (size_t)m * cnn_dtype_size(x->dtype));
            memset(cnn_data(mask), 0, (size_t)m * cnn_dtype_size(x->dtype));
        } else if (x->dtype == CNN_F32) {
            dropout_fwd_f32(cnn_ctx_rng(c), m, cnn_data(y), cnn_data(mask), cnn_data(xc), p);
        } else {
            dropout_fwd_f64(cnn_ctx_rng(c), m, cnn_data(y), cnn_data(mask), cnn_data(xc), p);
        }
        const cnn_tensor *ins[1] = { x };
        cnn_node *n = cnn_record(c, &op_dropout, &y, 1, ins);
        if (n) cnn_node_save(n, 0, mask);
    }
    cnn_tensor_release(xc);
    cnn_tensor_release(mask);
    return y;
}
