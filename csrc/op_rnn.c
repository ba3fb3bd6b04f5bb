/* op_rnn.c: one time step of an LSTM or GRU layer, each an op with its own backward. The input
 * projection xg = x W_ih^T + b_ih of every time step is one linear before the loop (lua/cnn/nn/rnn.lua);
 * a cell adds the recurrent part h W_hh^T + b_hh of all the gates with one GEMM and applies the
 * gates. lstm_cell returns h' and c' side by side (N,2H), so that one node carries both.
 * Kernels: op_rnn.inc. Bindings: lua_nn.c; spec: rnn_spec.lua. */
#include "cnn.h"
#include "tensor.h"
#include "autograd.h"

#include <stdlib.h>
#include <string.h>

#define CNN_GEN_FILE "op_rnn.inc"
#include "gen.h"

/* shapes: xg (N,G*H), h (N,H), c (N,H) when given, w (G*H,H), b (G*H) when given; one dtype */
static int check_cell(cnn_ctx *c, int G, const cnn_tensor *xg, const cnn_tensor *h, const cnn_tensor *cs,
                      const cnn_tensor *w, const cnn_tensor *b) {
    char a[200], d[200];
    if (h->ndim != 2) return cnn_seterr(c, "expected a hidden state (N,H), got %s", cnn_tensor_desc(a, sizeof a, h));
    int64_t N = h->size[0], H = h->size[1];
    if (w->ndim != 2 || w->size[0] != G * H || w->size[1] != H)
        return cnn_seterr(c, "expected weight_hh of shape [%lld,%lld], got %s", (long long)(G * H), (long long)H,
                          cnn_tensor_desc(a, sizeof a, w));
    if (xg->ndim != 2 || xg->size[0] != N || xg->size[1] != G * H)
        return cnn_seterr(c, "expected input gates of shape [%lld,%lld] (hidden %s), got %s", (long long)N, (long long)(G * H),
                          cnn_tensor_desc(d, sizeof d, h), cnn_tensor_desc(a, sizeof a, xg));
    if (cs && (cs->ndim != 2 || cs->size[0] != N || cs->size[1] != H))
        return cnn_seterr(c, "expected a cell state of shape [%lld,%lld], got %s", (long long)N, (long long)H,
                          cnn_tensor_desc(a, sizeof a, cs));
    if (b && (b->ndim != 1 || b->size[0] != G * H))
        return cnn_seterr(c, "expected bias_hh of shape [%lld], got %s", (long long)(G * H), cnn_tensor_desc(a, sizeof a, b));
    if (h->dtype != xg->dtype || w->dtype != xg->dtype || (cs && cs->dtype != xg->dtype) || (b && b->dtype != xg->dtype))
        return cnn_seterr(c, "expected tensors of one dtype, got input gates %s, hidden %s, weight_hh %s",
                          cnn_dtype_name(xg->dtype), cnn_dtype_name(h->dtype), cnn_dtype_name(w->dtype));
    if (xg->dtype != CNN_F32 && xg->dtype != CNN_F64)
        return cnn_seterr(c, "expected float32 or float64 tensors, got %s", cnn_dtype_name(xg->dtype));
    if (H > INT32_MAX / 5 || N > INT32_MAX) return cnn_seterr(c, "hidden size %lld or batch %lld too large", (long long)H, (long long)N);
    return 0;
}

static void *data_or_null(cnn_tensor *t) { return t ? cnn_data(t) : NULL; }

/* ---- lstm_cell: inputs xg, h, c, w_hh, b_hh; saved act (N,5H), c, h, w_hh ---- */

static int lstm_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *act = cnn_node_saved(c, n, 0), *cs = cnn_node_saved(c, n, 1);
    const cnn_tensor *h = cnn_node_saved(c, n, 2), *w = cnn_node_saved(c, n, 3);
    if (!act || !cs || !h || !w) return -1;
    cnn_dtype dt = act->dtype;
    int64_t N = h->size[0], H = h->size[1];
    cnn_shape sg = { 2, { N, 4 * H } };
    cnn_tensor *g = cnn_contiguous_as(c, dy, dt);
    cnn_tensor *dg = g ? cnn_empty(c, &sg, dt) : NULL, *r[5] = { NULL };
    int ok = dg != NULL;
    for (int i = 1; ok && i < 5; i++)
        if (n->in[i].node) ok = (r[i] = cnn_empty(c, &n->in[i].shape, dt)) != NULL;
    if (ok) {
        if (dt == CNN_F32) {
            lstm_bwd_gates_f32(N, H, cnn_data(g), cnn_data(act), cnn_data(cs), cnn_data(dg), data_or_null(r[2]));
            cell_bwd_hh_f32(N, H, 4 * H, cnn_data(dg), cnn_data(h), cnn_data(w), data_or_null(r[1]), 0,
                            data_or_null(r[3]), data_or_null(r[4]));
        } else {
            lstm_bwd_gates_f64(N, H, cnn_data(g), cnn_data(act), cnn_data(cs), cnn_data(dg), data_or_null(r[2]));
            cell_bwd_hh_f64(N, H, 4 * H, cnn_data(dg), cnn_data(h), cnn_data(w), data_or_null(r[1]), 0,
                            data_or_null(r[3]), data_or_null(r[4]));
        }
    }
    cnn_tensor_release(g);
    if (ok && n->in[0].node) { dx[0] = dg; dg = NULL; }
    cnn_tensor_release(dg);
    for (int i = 1; i < 5; i++) {
        if (ok) dx[i] = r[i];
        else cnn_tensor_release(r[i]);
    }
    return ok ? 0 : -1;
}
static const cnn_op op_lstm_cell = { "lstm_cell", lstm_backward, NULL };

cnn_tensor *cnn_lstm_cell(cnn_ctx *c, const cnn_tensor *xg, const cnn_tensor *h, const cnn_tensor *cs,
                          const cnn_tensor *w, const cnn_tensor *b) {
    if (check_cell(c, 4, xg, h, cs, w, b) < 0) return NULL;
    cnn_dtype dt = xg->dtype;
    int64_t N = h->size[0], H = h->size[1];
    cnn_tensor *xc = cnn_contiguous_as(c, xg, dt), *hc = xc ? cnn_contiguous_as(c, h, dt) : NULL;
    cnn_tensor *cc = hc ? cnn_contiguous_as(c, cs, dt) : NULL, *wc = cc ? cnn_contiguous_as(c, w, dt) : NULL;
    cnn_tensor *bc = wc && b ? cnn_contiguous_as(c, b, dt) : NULL;
    cnn_shape sa = { 2, { N, 5 * H } }, so = { 2, { N, 2 * H } };
    cnn_tensor *act = wc && (!b || bc) ? cnn_empty(c, &sa, dt) : NULL;
    cnn_tensor *y = act ? cnn_empty(c, &so, dt) : NULL;
    if (y) {
        if (dt == CNN_F32)
            lstm_fwd_f32(N, H, cnn_data(xc), cnn_data(hc), cnn_data(cc), cnn_data(wc), data_or_null(bc), cnn_data(act), cnn_data(y));
        else
            lstm_fwd_f64(N, H, cnn_data(xc), cnn_data(hc), cnn_data(cc), cnn_data(wc), data_or_null(bc), cnn_data(act), cnn_data(y));
        const cnn_tensor *ins[5] = { xg, h, cs, w, b };
        cnn_node *n = cnn_record(c, &op_lstm_cell, &y, 5, ins);
        if (n) {
            cnn_node_save(n, 0, act);
            cnn_node_save(n, 1, cc);
            cnn_node_save(n, 2, hc);
            cnn_node_save(n, 3, wc);
        }
    }
    cnn_tensor_release(xc); cnn_tensor_release(hc); cnn_tensor_release(cc);
    cnn_tensor_release(wc); cnn_tensor_release(bc); cnn_tensor_release(act);
    return y;
}

/* ---- gru_cell: inputs xg, h, w_hh, b_hh; saved act (N,4H), h, w_hh ---- */

static int gru_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *act = cnn_node_saved(c, n, 0), *h = cnn_node_saved(c, n, 1), *w = cnn_node_saved(c, n, 2);
    if (!act || !h || !w) return -1;
    cnn_dtype dt = act->dtype;
    int64_t N = h->size[0], H = h->size[1];
    cnn_shape sg = { 2, { N, 3 * H } };
    cnn_tensor *g = cnn_contiguous_as(c, dy, dt);
    cnn_tensor *gx = g ? cnn_empty(c, &sg, dt) : NULL, *gh = gx ? cnn_empty(c, &sg, dt) : NULL, *r[4] = { NULL };
    int ok = gh != NULL;
    for (int i = 1; ok && i < 4; i++)
        if (n->in[i].node) ok = (r[i] = cnn_empty(c, &n->in[i].shape, dt)) != NULL;
    if (ok) {
        if (dt == CNN_F32) {
            gru_bwd_gates_f32(N, H, cnn_data(g), cnn_data(act), cnn_data(h), cnn_data(gx), cnn_data(gh), data_or_null(r[1]));
            cell_bwd_hh_f32(N, H, 3 * H, cnn_data(gh), cnn_data(h), cnn_data(w), data_or_null(r[1]), 1,
                            data_or_null(r[2]), data_or_null(r[3]));
        } else {
            gru_bwd_gates_f64(N, H, cnn_data(g), cnn_data(act), cnn_data(h), cnn_data(gx), cnn_data(gh), data_or_null(r[1]));
            cell_bwd_hh_f64(N, H, 3 * H, cnn_data(gh), cnn_data(h), cnn_data(w), data_or_null(r[1]), 1,
                            data_or_null(r[2]), data_or_null(r[3]));
        }
    }
    cnn_tensor_release(g);
    cnn_tensor_release(gh);
    if (ok && n->in[0].node) { dx[0] = gx; gx = NULL; }
    cnn_tensor_release(gx);
    for (int i = 1; i < 4; i++) {
        if (ok) dx[i] = r[i];
        else cnn_tensor_release(r[i]);
    }
    return ok ? 0 : -1;
}
static const cnn_op op_gru_cell = { "gru_cell", gru_backward, NULL };

cnn_tensor *cnn_gru_cell(cnn_ctx *c, const cnn_tensor *xg, const cnn_tensor *h, const cnn_tensor *w,
                         const cnn_tensor *b) {
    if (check_cell(c, 3, xg, h, NULL, w, b) < 0) return NULL;
    cnn_dtype dt = xg->dtype;
    int64_t N = h->size[0], H = h->size[1];
    cnn_tensor *xc = cnn_contiguous_as(c, xg, dt), *hc = xc ? cnn_contiguous_as(c, h, dt) : NULL;
    cnn_tensor *wc = hc ? cnn_contiguous_as(c, w, dt) : NULL;
    cnn_tensor *bc = wc && b ? cnn_contiguous_as(c, b, dt) : NULL;
    cnn_shape sa = { 2, { N, 4 * H } }, so = { 2, { N, H } };
    cnn_tensor *act = wc && (!b || bc) ? cnn_empty(c, &sa, dt) : NULL;
    cnn_tensor *y = act ? cnn_empty(c, &so, dt) : NULL;
    if (y) {
        if (dt == CNN_F32)
            gru_fwd_f32(N, H, cnn_data(xc), cnn_data(hc), cnn_data(wc), data_or_null(bc), cnn_data(act), cnn_data(y));
        else
            gru_fwd_f64(N, H, cnn_data(xc), cnn_data(hc), cnn_data(wc), data_or_null(bc), cnn_data(act), cnn_data(y));
        const cnn_tensor *ins[4] = { xg, h, w, b };
        cnn_node *n = cnn_record(c, &op_gru_cell, &y, 4, ins);
        if (n) {
            cnn_node_save(n, 0, act);
            cnn_node_save(n, 1, hc);
            cnn_node_save(n, 2, wc);
        }
    }
    cnn_tensor_release(xc); cnn_tensor_release(hc); cnn_tensor_release(wc);
    cnn_tensor_release(bc); cnn_tensor_release(act);
    return y;
}
