/* op_activation.c: activations beyond the core's unary relu/sigmoid/tanh: leaky_relu, elu, selu,
 * hardtanh, softsign, softplus, gelu, silu, mish (one pointwise op with parameters), rrelu, prelu, softmax and
 * log_softmax, each a fused kernel with its own backward. Kernels: op_activation.inc.
 * Bindings: lua_nn.c; spec: activation_spec.lua. */
#include "cnn.h"
#include "tensor.h"
#include "autograd.h"

#include <math.h>
#include <stdlib.h>

#define CNN_GEN_FILE "op_activation.inc"
#include "gen.h"

/* x (N,C,S) view of a tensor whose channel dimension is 1 (absent below 2-D) */
static void split_channels(const cnn_tensor *x, int64_t *N, int64_t *C, int64_t *S) {
    *N = x->ndim >= 1 ? x->size[0] : 1;
    *C = x->ndim >= 2 ? x->size[1] : 1;
    *S = 1;
    for (int i = 2; i < x->ndim; i++) *S *= x->size[i];
    if (x->ndim == 1) { *N = 1; *S = x->size[0]; }
}

/* ---- pointwise activations: saved x (contiguous); farg = (a, b); iarg[0] = kind ---- */

static int act_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *x = cnn_node_saved(c, n, 0);
    if (x == NULL) return -1;
    cnn_tensor *g = cnn_contiguous_as(c, dy, x->dtype);
    cnn_tensor *r = g ? cnn_empty(c, &n->in[0].shape, x->dtype) : NULL;
    if (r) {
        if (x->dtype == CNN_F32) act_bwd_f32((int)n->iarg[0], cnn_numel(r), cnn_data(r), cnn_data(g), cnn_data(x), n->farg[0], n->farg[1]);
        else act_bwd_f64((int)n->iarg[0], cnn_numel(r), cnn_data(r), cnn_data(g), cnn_data(x), n->farg[0], n->farg[1]);
    }
    cnn_tensor_release(g);
    dx[0] = r;
    return r ? 0 : -1;
}
static const cnn_op act_ops[CNN_ACT_COUNT] = {
    { "leaky_relu", act_backward, NULL }, { "elu", act_backward, NULL }, { "selu", act_backward, NULL },
    { "hardtanh", act_backward, NULL }, { "softsign", act_backward, NULL }, { "softplus", act_backward, NULL },
    { "gelu", act_backward, NULL }, { "silu", act_backward, NULL }, { "mish", act_backward, NULL },
};

cnn_tensor *cnn_activation(cnn_ctx *c, cnn_act kind, const cnn_tensor *x, double a, double b) {
    if ((int)kind < 0 || kind >= CNN_ACT_COUNT) { cnn_seterr(c, "unknown activation %d", (int)kind); return NULL; }
    cnn_tensor *xc = cnn_contiguous_as(c, x, x->dtype);
    if (xc == NULL) return NULL;
    cnn_shape s = cnn_shape_of(x);
    cnn_tensor *y = cnn_empty(c, &s, x->dtype);
    if (y) {
        if (x->dtype == CNN_F32) act_fwd_f32(kind, cnn_numel(y), cnn_data(y), cnn_data(xc), a, b);
        else act_fwd_f64(kind, cnn_numel(y), cnn_data(y), cnn_data(xc), a, b);
        const cnn_tensor *ins[1] = { x };
        cnn_node *n = cnn_record(c, &act_ops[kind], &y, 1, ins);
        if (n) { n->iarg[0] = kind; n->farg[0] = a; n->farg[1] = b; cnn_node_save(n, 0, xc); }
    }
    cnn_tensor_release(xc);
    return y;
}

/* ---- rrelu: in training dx = dy * noise (saved); in eval it is leaky_relu ---- */

static int rrelu_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *noise = cnn_node_saved(c, n, 0);
    if (noise == NULL) return -1;
    dx[0] = cnn_binary(c, CNN_MUL, dy, noise);
    return dx[0] ? 0 : -1;
}
static const cnn_op op_rrelu = { "rrelu", rrelu_backward, NULL };

cnn_tensor *cnn_rrelu(cnn_ctx *c, const cnn_tensor *x, double lower, double upper, int training) {
    if (!(lower <= upper)) { cnn_seterr(c, "expected lower <= upper, got %g and %g", lower, upper); return NULL; }
    if (!training) return cnn_activation(c, CNN_ACT_LEAKY_RELU, x, (lower + upper) / 2, 0);
    cnn_shape s = cnn_shape_of(x);
    cnn_tensor *xc = cnn_contiguous_as(c, x, x->dtype);
    cnn_tensor *noise = xc ? cnn_empty(c, &s, x->dtype) : NULL;
    cnn_tensor *y = noise ? cnn_empty(c, &s, x->dtype) : NULL;
    if (y) {
        cnn_rng *r = cnn_ctx_rng(c);
        if (x->dtype == CNN_F32) rrelu_fwd_f32(r, cnn_numel(y), cnn_data(y), cnn_data(noise), cnn_data(xc), lower, upper);
        else rrelu_fwd_f64(r, cnn_numel(y), cnn_data(y), cnn_data(noise), cnn_data(xc), lower, upper);
        const cnn_tensor *ins[1] = { x };
        cnn_node *n = cnn_record(c, &op_rrelu, &y, 1, ins);
        if (n) cnn_node_save(n, 0, noise);
    }
    cnn_tensor_release(xc);
    cnn_tensor_release(noise);
    return y;
}

/* ---- prelu: saved x and w (contiguous); dw sums over everything but the channel ---- */

static int prelu_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *x = cnn_node_saved(c, n, 0), *w = cnn_node_saved(c, n, 1);
    if (x == NULL || w == NULL) return -1;
    int64_t N, C, S, ws = cnn_numel(w) > 1;
    split_channels(x, &N, &C, &S);
    cnn_tensor *g = cnn_contiguous_as(c, dy, x->dtype), *rx = NULL, *rw = NULL;
    int ok = g != NULL;
    if (ok && n->in[0].node) ok = (rx = cnn_empty(c, &n->in[0].shape, x->dtype)) != NULL;
    if (ok && n->in[1].node) ok = (rw = cnn_full(c, &n->in[1].shape, x->dtype, 0.0)) != NULL;
    if (ok) {
        if (x->dtype == CNN_F32)
            prelu_bwd_f32(N, C, S, rx ? cnn_data(rx) : NULL, rw ? cnn_data(rw) : NULL, cnn_data(g), cnn_data(x), cnn_data(w), ws);
        else
            prelu_bwd_f64(N, C, S, rx ? cnn_data(rx) : NULL, rw ? cnn_data(rw) : NULL, cnn_data(g), cnn_data(x), cnn_data(w), ws);
    }
    cnn_tensor_release(g);
    if (!ok) { cnn_tensor_release(rx); cnn_tensor_release(rw); return -1; }
    dx[0] = rx;
    if (rw && rw->dtype != n->in[1].dtype) { dx[1] = cnn_to(c, rw, n->in[1].dtype); cnn_tensor_release(rw); return dx[1] ? 0 : -1; }
    dx[1] = rw;
    return 0;
}
static const cnn_op op_prelu = { "prelu", prelu_backward, NULL };

cnn_tensor *cnn_prelu(cnn_ctx *c, const cnn_tensor *x, const cnn_tensor *w) {
    char a[200], b[200];
    int64_t N, C, S, nw = cnn_numel(w);
    split_channels(x, &N, &C, &S);
    if (nw != 1 && (x->ndim < 2 || nw != C)) {
        cnn_seterr(c, "the weight has %lld values but the input %s has %lld channels (dimension 2)",
                   (long long)nw, cnn_tensor_desc(a, sizeof a, x), (long long)(x->ndim < 2 ? 1 : C));
        return NULL;
    }
    (void)b;
    cnn_tensor *xc = cnn_contiguous_as(c, x, x->dtype), *wc = xc ? cnn_contiguous_as(c, w, x->dtype) : NULL;
    cnn_shape s = cnn_shape_of(x);
    cnn_tensor *y = wc ? cnn_empty(c, &s, x->dtype) : NULL;
    if (y) {
        if (x->dtype == CNN_F32) prelu_fwd_f32(N, C, S, cnn_data(y), cnn_data(xc), cnn_data(wc), nw > 1);
        else prelu_fwd_f64(N, C, S, cnn_data(y), cnn_data(xc), cnn_data(wc), nw > 1);
        const cnn_tensor *ins[2] = { x, w };
        cnn_node *n = cnn_record(c, &op_prelu, &y, 2, ins);
        if (n) { cnn_node_save(n, 0, xc); cnn_node_save(n, 1, wc); }
    }
    cnn_tensor_release(xc);
    cnn_tensor_release(wc);
    return y;
}

/* ---- softmax, log_softmax: saved y (detached: saving y itself would make a cycle) ---- */

static void split3(const cnn_tensor *a, int dim, int64_t *outer, int64_t *n, int64_t *inner) {
    *outer = 1; *inner = 1; *n = 1;
    if (a->ndim == 0) return;
    for (int i = 0; i < dim; i++) *outer *= a->size[i];
    *n = a->size[dim];
    for (int i = dim + 1; i < a->ndim; i++) *inner *= a->size[i];
}

static int softmax_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *y = cnn_node_saved(c, n, 0);
    if (y == NULL) return -1;
    int64_t outer, len, inner;
    split3(y, (int)n->iarg[0], &outer, &len, &inner);
    cnn_tensor *g = cnn_contiguous_as(c, dy, y->dtype);
    cnn_tensor *r = g ? cnn_empty(c, &n->in[0].shape, y->dtype) : NULL;
    if (r) {
        if (y->dtype == CNN_F32) softmax_bwd_f32((int)n->iarg[1], outer, len, inner, cnn_data(r), cnn_data(g), cnn_data(y));
        else softmax_bwd_f64((int)n->iarg[1], outer, len, inner, cnn_data(r), cnn_data(g), cnn_data(y));
    }
    cnn_tensor_release(g);
    dx[0] = r;
    return r ? 0 : -1;
}
static const cnn_op op_softmax = { "softmax", softmax_backward, NULL };
static const cnn_op op_log_softmax = { "log_softmax", softmax_backward, NULL };

cnn_tensor *cnn_softmax(cnn_ctx *c, const cnn_tensor *x, int dim, int is_log) {
    if (x->ndim > 0 && (dim < 0 || dim >= x->ndim)) { cnn_seterr(c, "dimension %d is out of range", dim + 1); return NULL; }
    int64_t outer, len, inner;
    split3(x, dim, &outer, &len, &inner);
    cnn_tensor *xc = cnn_contiguous_as(c, x, x->dtype);
    cnn_shape s = cnn_shape_of(x);
    cnn_tensor *y = xc ? cnn_empty(c, &s, x->dtype) : NULL;
    if (y && len > 0) {
        if (x->dtype == CNN_F32) softmax_fwd_f32(is_log, outer, len, inner, cnn_data(y), cnn_data(xc));
        else softmax_fwd_f64(is_log, outer, len, inner, cnn_data(y), cnn_data(xc));
    }
    cnn_tensor_release(xc);
    if (y == NULL) return NULL;
    const cnn_tensor *ins[1] = { x };
    cnn_node *n = cnn_record(c, is_log ? &op_log_softmax : &op_softmax, &y, 1, ins);
    if (n) {
        n->iarg[0] = dim;
        n->iarg[1] = is_log;
        cnn_tensor *yd = cnn_detach(c, y);
        if (yd == NULL) { cnn_tensor_release(y); return NULL; }
        cnn_node_save(n, 0, yd);
        cnn_tensor_release(yd);
    }
    return y;
}
