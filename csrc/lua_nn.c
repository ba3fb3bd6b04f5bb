/* lua_nn.c: bindings of the functional ops that cnn.F adds to the core: activations (also as
 * tensor methods), losses, batch_norm, dropout, linear and pad. Losses take an options table
 * {reduction=, weight=, ...}; class labels arrive 1-based and leave here 0-based.
 * Core: op_activation.c, op_loss.c, op_norm.c, op_linear.c, op_pad.c.
 * Specs: activation_spec.lua, loss_spec.lua, norm_spec.lua, linear_spec.lua, pad_spec.lua. */
#include "lua_util.h"

#include <math.h>
#include <string.h>

static double opt_num(lua_State *L, int idx, const char *fn, const char *name, double def) {
    return lua_isnoneornil(L, idx) ? def : check_num(L, idx, fn, name);
}

/* ---- activations ---- */

static int act(lua_State *L, const char *fn, cnn_act kind, double a, double b) {
    cnn_tensor *x = check_tensor(L, 1, fn, "input");
    cnn_tensor **box = push_box(L);
    *box = cnn_activation(ctx_of(L), kind, x, a, b);
    return push_result(L, box, fn);
}

static int l_leaky_relu(lua_State *L) {
    return act(L, "leaky_relu", CNN_ACT_LEAKY_RELU, opt_num(L, 2, "leaky_relu", "negative_slope", 0.01), 0);
}
static int l_elu(lua_State *L) { return act(L, "elu", CNN_ACT_ELU, opt_num(L, 2, "elu", "alpha", 1.0), 0); }
static int l_selu(lua_State *L) { return act(L, "selu", CNN_ACT_SELU, 0, 0); }
static int l_softsign(lua_State *L) { return act(L, "softsign", CNN_ACT_SOFTSIGN, 0, 0); }

static int l_hardtanh(lua_State *L) {
    double lo = opt_num(L, 2, "hardtanh", "min_val", -1), hi = opt_num(L, 3, "hardtanh", "max_val", 1);
    if (!(lo <= hi)) arg_error(L, "hardtanh", 3, "max_val", "expected min_val <= max_val, got %g and %g", lo, hi);
    return act(L, "hardtanh", CNN_ACT_HARDTANH, lo, hi);
}

static int l_softplus(lua_State *L) {
    double beta = opt_num(L, 2, "softplus", "beta", 1), thr = opt_num(L, 3, "softplus", "threshold", 20);
    if (beta == 0) arg_error(L, "softplus", 2, "beta", "expected a non-zero beta");
    return act(L, "softplus", CNN_ACT_SOFTPLUS, beta, thr);
}

static int l_rrelu(lua_State *L) {
    cnn_tensor *x = check_tensor(L, 1, "rrelu", "input");
    double lo = opt_num(L, 2, "rrelu", "lower", 1.0 / 8), hi = opt_num(L, 3, "rrelu", "upper", 1.0 / 3);
    if (!(lo <= hi)) arg_error(L, "rrelu", 3, "upper", "expected lower <= upper, got %g and %g", lo, hi);
    int training = lua_toboolean(L, 4);
    cnn_tensor **box = push_box(L);
    *box = cnn_rrelu(ctx_of(L), x, lo, hi, training);
    return push_result(L, box, "rrelu");
}

static int l_prelu(lua_State *L) {
    cnn_tensor *x = check_tensor(L, 1, "prelu", "input");
    cnn_tensor *w = check_tensor(L, 2, "prelu", "weight");
    int64_t nw = cnn_numel(w), C = x->ndim >= 2 ? x->size[1] : 1;
    char a[200], b[200];
    if (w->ndim > 1 || (nw != 1 && nw != C))
        arg_error(L, "prelu", 2, "weight", "expected 1 value or one per channel ([%lld]) for input %s, got %s",
                  (long long)C, cnn_tensor_desc(a, sizeof a, x), cnn_tensor_desc(b, sizeof b, w));
    cnn_tensor **box = push_box(L);
    *box = cnn_prelu(ctx_of(L), x, w);
    return push_result(L, box, "prelu");
}

static int softmax(lua_State *L, const char *fn, int lg) {
    cnn_tensor *x = check_tensor(L, 1, fn, "input");
    int d = check_dim(L, 2, fn, "dim", x->ndim ? x->ndim : 1, 0);
    cnn_tensor **box = push_box(L);
    *box = cnn_softmax(ctx_of(L), x, d, lg);
    return push_result(L, box, fn);
}
static int l_softmax(lua_State *L) { return softmax(L, "softmax", 0); }
static int l_log_softmax(lua_State *L) { return softmax(L, "log_softmax", 1); }

/* ---- loss options ---- */

typedef struct {
    cnn_reduction red;
    cnn_tensor *weight, *pos_weight;
    int has_ignore;
    int64_t ignore_index;
    double param;         /* delta, beta or margin */
    int64_t p;
} loss_opts;

/* is key one of the comma-separated names in list? */
static int listed(const char *list, const char *key) {
    size_t k = strlen(key);
    for (const char *s = list; *s; ) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == k && strncmp(s, key, k) == 0) return 1;
        if (!e) break;
        s = e + 2;                       /* ", " */
    }
    return 0;
}

/* the options table at idx (may be none or nil); allowed lists its keys, param names the number */
static void check_loss_opts(lua_State *L, int idx, const char *fn, const char *allowed, const char *param,
                            loss_opts *o) {
    if (lua_isnoneornil(L, idx)) return;
    if (!lua_istable(L, idx) || is_tensor(L, idx))
        arg_error(L, fn, idx, "options", "expected an options table {%s}, got %s", allowed, luaL_typename(L, idx));
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        if (k == NULL || !listed(allowed, k))
            arg_error(L, fn, idx, "options", "unknown option '%s' (expected %s)", k ? k : luaL_typename(L, -2), allowed);
        lua_pop(L, 1);
    }
    int top = lua_gettop(L);
    if (lua_getfield(L, idx, "reduction") != LUA_TNIL) {
        const char *r = lua_tostring(L, -1);
        if (lua_type(L, -1) != LUA_TSTRING)
            arg_error(L, fn, idx, "options", "reduction must be \"mean\", \"sum\" or \"none\", got %s", luaL_typename(L, -1));
        if (strcmp(r, "mean") == 0) o->red = CNN_RED_MEAN;
        else if (strcmp(r, "sum") == 0) o->red = CNN_RED_SUM;
        else if (strcmp(r, "none") == 0) o->red = CNN_RED_NONE;
        else arg_error(L, fn, idx, "options", "reduction must be \"mean\", \"sum\" or \"none\", got \"%s\"", r);
    }
    lua_settop(L, top);
    const char *tk[2] = { "weight", "pos_weight" };
    cnn_tensor **tv[2] = { &o->weight, &o->pos_weight };
    for (int i = 0; i < 2; i++) {
        if (lua_getfield(L, idx, tk[i]) != LUA_TNIL) {
            cnn_tensor **box = luaL_testudata(L, -1, CNN_TENSOR_MT);
            if (box == NULL || *box == NULL)
                arg_error(L, fn, idx, "options", "%s must be a tensor, got %s", tk[i], luaL_typename(L, -1));
            *tv[i] = *box;                /* kept alive by the options table */
        }
        lua_settop(L, top);
    }
    if (lua_getfield(L, idx, "ignore_index") != LUA_TNIL) {
        int ok;
        lua_Integer v = lua_tointegerx(L, -1, &ok);
        if (!ok) arg_error(L, fn, idx, "options", "ignore_index must be an integer, got %s",
                           lua_type(L, -1) == LUA_TNUMBER ? lua_tostring(L, -1) : luaL_typename(L, -1));
        o->has_ignore = 1;
        o->ignore_index = v;
    }
    lua_settop(L, top);
    if (param && lua_getfield(L, idx, param) != LUA_TNIL) {
        if (lua_type(L, -1) != LUA_TNUMBER)
            arg_error(L, fn, idx, "options", "%s must be a number, got %s", param, luaL_typename(L, -1));
        o->param = lua_tonumber(L, -1);
    }
    lua_settop(L, top);
    if (lua_getfield(L, idx, "p") != LUA_TNIL) {
        int ok;
        o->p = lua_tointegerx(L, -1, &ok);
        if (!ok || (o->p != 1 && o->p != 2))
            arg_error(L, fn, idx, "options", "p must be 1 or 2, got %s",
                      lua_type(L, -1) == LUA_TNUMBER ? lua_tostring(L, -1) : luaL_typename(L, -1));
    }
    lua_settop(L, top);
}

/* ---- pointwise losses: f(input, target [, param] [, options]) ---- */

static int pointwise_loss(lua_State *L, const char *fn, cnn_loss kind, const char *allowed,
                          const char *param, double def) {
    cnn_tensor *x = check_tensor(L, 1, fn, "input");
    cnn_tensor *y = check_tensor(L, 2, fn, "target");
    loss_opts o = { CNN_RED_MEAN, NULL, NULL, 0, 0, def, 1 };
    int oi = 3;
    if (param && lua_type(L, 3) == LUA_TNUMBER) { o.param = lua_tonumber(L, 3); oi = 4; }
    check_loss_opts(L, oi, fn, allowed, param, &o);
    char a[200], b[200];
    cnn_shape xs = cnn_shape_of(x), ys = cnn_shape_of(y);
    if (!cnn_shape_eq(&xs, &ys))
        arg_error(L, fn, 2, "target", "expected the input's shape %s, got %s",
                  cnn_shape_str(a, sizeof a, xs.ndim, xs.size), cnn_shape_str(b, sizeof b, ys.ndim, ys.size));
    if ((kind == CNN_LOSS_HUBER && !(o.param > 0)) || (kind == CNN_LOSS_SMOOTH_L1 && !(o.param >= 0)))
        arg_error(L, fn, oi == 4 ? 3 : oi, param, "expected %s %s 0, got %g", param,
                  kind == CNN_LOSS_HUBER ? ">" : ">=", o.param);
    cnn_tensor **box = push_box(L);
    *box = cnn_pointwise_loss(ctx_of(L), kind, x, y, o.weight, o.pos_weight, o.param, o.red);
    return push_result(L, box, fn);
}
static int l_mse_loss(lua_State *L) { return pointwise_loss(L, "mse_loss", CNN_LOSS_MSE, "reduction", NULL, 0); }
static int l_l1_loss(lua_State *L) { return pointwise_loss(L, "l1_loss", CNN_LOSS_L1, "reduction", NULL, 0); }
static int l_huber_loss(lua_State *L) {
    return pointwise_loss(L, "huber_loss", CNN_LOSS_HUBER, "reduction, delta", "delta", 1.0);
}
static int l_smooth_l1_loss(lua_State *L) {
    return pointwise_loss(L, "smooth_l1_loss", CNN_LOSS_SMOOTH_L1, "reduction, beta", "beta", 1.0);
}
static int l_bce(lua_State *L) {
    return pointwise_loss(L, "binary_cross_entropy", CNN_LOSS_BCE, "reduction, weight", NULL, 0);
}
static int l_bce_logits(lua_State *L) {
    return pointwise_loss(L, "binary_cross_entropy_with_logits", CNN_LOSS_BCE_LOGITS,
                          "reduction, weight, pos_weight", NULL, 0);
}
static int l_hinge_embedding_loss(lua_State *L) {
    return pointwise_loss(L, "hinge_embedding_loss", CNN_LOSS_HINGE_EMBEDDING, "reduction, margin", "margin", 1.0);
}

/* ---- class-index losses ---- */

/* the target tensor's values as 0-based classes (-1 for ignore_index) in a userdata on the stack */
static int64_t *check_classes(lua_State *L, const char *fn, cnn_tensor *t, int64_t C, const loss_opts *o) {
    int64_t n = cnn_numel(t);
    double *dv = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *dv, 0);
    cnn_to_doubles(ctx_of(L), t, dv);
    int64_t *idx = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *idx, 0);
    for (int64_t k = 0; k < n; k++) {
        double v = dv[k];
        if (o->has_ignore && v == (double)o->ignore_index) { idx[k] = -1; continue; }
        if (!(v >= 1 && v <= (double)C && v == floor(v)))
            arg_error(L, fn, 2, "target", "expected class indices 1..%lld, got %.17g at position %lld",
                      (long long)C, v, (long long)k + 1);
        idx[k] = (int64_t)v - 1;
    }
    return idx;
}

static int class_loss(lua_State *L, const char *fn, int kind) {
    cnn_ctx *c = ctx_of(L);
    cnn_tensor *x = check_tensor(L, 1, fn, "input");
    cnn_tensor *t = check_tensor(L, 2, fn, "target");
    int mm = kind == 2;
    loss_opts o = { CNN_RED_MEAN, NULL, NULL, 0, 0, 1.0, 1 };
    check_loss_opts(L, 3, fn, mm ? "reduction, weight, p, margin" : "reduction, weight, ignore_index",
                    mm ? "margin" : NULL, &o);
    char a[200], b[200], e[200];
    if (x->ndim < 1 || (mm && x->ndim > 2))
        arg_error(L, fn, 1, "input", "expected %s, got %s", mm ? "(N,C) or (C) scores" : "(N,C), (N,C,d1,...) or (C) scores",
                  cnn_tensor_desc(a, sizeof a, x));
    /* a single sample (C) is a batch of one, with a 0-d target */
    int single = x->ndim == 1;
    cnn_shape want = { 0, { 0 } };
    if (!single) {
        want.ndim = x->ndim - 1;
        want.size[0] = x->size[0];
        for (int i = 2; i < x->ndim; i++) want.size[i - 1] = x->size[i];
    }
    cnn_shape ts = cnn_shape_of(t);
    if (!cnn_shape_eq(&ts, &want))
        arg_error(L, fn, 2, "target", "expected shape %s for an input of shape %s, got %s",
                  cnn_shape_str(a, sizeof a, want.ndim, want.size), cnn_shape_str(b, sizeof b, x->ndim, x->size),
                  cnn_shape_str(e, sizeof e, ts.ndim, ts.size));
    int64_t C = x->size[single ? 0 : 1];
    int64_t *idx = check_classes(L, fn, t, C, &o);
    cnn_tensor **xb = push_box(L);                   /* the (1,C) view of a single sample */
    if (single) {
        *xb = cnn_unsqueeze(c, x, 0);
        push_result(L, xb, fn);
        ts.ndim = 1;
        ts.size[0] = 1;
    }
    cnn_tensor *xin = single ? *xb : x;
    cnn_tensor **box = push_box(L);
    if (mm) *box = cnn_multi_margin_loss(c, xin, &ts, idx, o.weight, (int)o.p, o.param, o.red);
    else *box = cnn_nll_loss(c, xin, &ts, idx, o.weight, kind == 0, o.red);
    if (*box == NULL) return fail(L, fn);
    if (single && o.red == CNN_RED_NONE) {
        cnn_shape s0 = { 0, { 0 } };
        cnn_tensor **r = push_box(L);
        *r = cnn_view(c, *box, &s0);
        return push_result(L, r, fn);
    }
    return 1;
}
static int l_cross_entropy(lua_State *L) { return class_loss(L, "cross_entropy", 0); }
static int l_nll_loss(lua_State *L) { return class_loss(L, "nll_loss", 1); }
static int l_multi_margin_loss(lua_State *L) { return class_loss(L, "multi_margin_loss", 2); }

/* ---- normalisation, dropout, linear, pad ---- */

/* batch_norm(x, running_mean, running_var [, weight [, bias [, {training, momentum, eps}]]]) */
static int l_batch_norm(lua_State *L) {
    const char *fn = "batch_norm";
    cnn_tensor *x = check_tensor(L, 1, fn, "input");
    cnn_tensor *rm = opt_tensor(L, 2, fn, "running_mean");
    cnn_tensor *rv = opt_tensor(L, 3, fn, "running_var");
    cnn_tensor *w = opt_tensor(L, 4, fn, "weight");
    cnn_tensor *b = opt_tensor(L, 5, fn, "bias");
    int training = 0;
    double momentum = 0.1, eps = 1e-5;
    char a[200], d[200];
    if (!lua_isnoneornil(L, 6)) {
        if (!lua_istable(L, 6) || is_tensor(L, 6))
            arg_error(L, fn, 6, "options", "expected an options table {training, momentum, eps}, got %s", luaL_typename(L, 6));
        lua_pushnil(L);
        while (lua_next(L, 6)) {
            const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
            if (k == NULL || !listed("training, momentum, eps", k))
                arg_error(L, fn, 6, "options", "unknown option '%s' (expected training, momentum, eps)", k ? k : luaL_typename(L, -2));
            if (strcmp(k, "training") == 0) training = lua_toboolean(L, -1);
            else if (lua_type(L, -1) != LUA_TNUMBER)
                arg_error(L, fn, 6, "options", "%s must be a number, got %s", k, luaL_typename(L, -1));
            else if (strcmp(k, "momentum") == 0) momentum = lua_tonumber(L, -1);
            else eps = lua_tonumber(L, -1);
            lua_pop(L, 1);
        }
    }
    if (x->ndim < 2)
        arg_error(L, fn, 1, "input", "expected (N,C), (N,C,L) or (N,C,H,W), got %s", cnn_tensor_desc(a, sizeof a, x));
    int64_t C = x->size[1];
    cnn_tensor *per[4] = { rm, rv, w, b };
    const char *names[4] = { "running_mean", "running_var", "weight", "bias" };
    for (int i = 0; i < 4; i++)
        if (per[i] && (per[i]->ndim != 1 || per[i]->size[0] != C))
            arg_error(L, fn, 2 + i, names[i], "expected shape [%lld] (the channels of input %s), got %s", (long long)C,
                      cnn_tensor_desc(a, sizeof a, x), cnn_tensor_desc(d, sizeof d, per[i]));
    if (!training && (rm == NULL || rv == NULL))
        arg_error(L, fn, rm ? 3 : 2, rm ? "running_var" : "running_mean", "expected a tensor when not training, got nil");
    cnn_tensor **box = push_box(L);
    *box = cnn_batch_norm(ctx_of(L), x, rm, rv, w, b, training, momentum, eps);
    return push_result(L, box, fn);
}

/* dropout(x [, p = 0.5 [, training = true]]) */
static int l_dropout(lua_State *L) {
    cnn_tensor *x = check_tensor(L, 1, "dropout", "input");
    double p = opt_num(L, 2, "dropout", "p", 0.5);
    if (!(p >= 0 && p <= 1)) arg_error(L, "dropout", 2, "p", "expected a probability in [0, 1], got %g", p);
    int training = lua_isnoneornil(L, 3) ? 1 : lua_toboolean(L, 3);
    cnn_tensor **box = push_box(L);
    *box = cnn_dropout(ctx_of(L), x, p, training);
    return push_result(L, box, "dropout");
}

static int l_linear(lua_State *L) {
    cnn_tensor *x = check_tensor(L, 1, "linear", "input");
    cnn_tensor *w = check_tensor(L, 2, "linear", "weight");
    cnn_tensor *b = opt_tensor(L, 3, "linear", "bias");
    char a[200], d[200];
    if (w->ndim != 2) arg_error(L, "linear", 2, "weight", "expected a 2-D tensor (out,in), got %s", cnn_tensor_desc(a, sizeof a, w));
    if (x->ndim < 1 || x->size[x->ndim - 1] != w->size[1])
        arg_error(L, "linear", 1, "input", "expected a last dimension of %lld (the weight's in-features, weight %s), got %s",
                  (long long)w->size[1], cnn_shape_str(d, sizeof d, w->ndim, w->size), cnn_tensor_desc(a, sizeof a, x));
    if (b && (b->ndim != 1 || b->size[0] != w->size[0]))
        arg_error(L, "linear", 3, "bias", "expected shape [%lld], got %s", (long long)w->size[0], cnn_tensor_desc(a, sizeof a, b));
    cnn_tensor **box = push_box(L);
    *box = cnn_linear(ctx_of(L), x, w, b);
    return push_result(L, box, "linear");
}

/* pad(x, pads [, mode = "constant" [, value = 0]]) */
static int l_pad(lua_State *L) {
    cnn_tensor *x = check_tensor(L, 1, "pad", "input");
    if (!lua_istable(L, 2) || is_tensor(L, 2))
        arg_error(L, "pad", 2, "pads", "expected a table of integers, got %s", luaL_typename(L, 2));
    lua_Integer n = luaL_len(L, 2);
    if (n % 2 != 0 || n / 2 > x->ndim)
        arg_error(L, "pad", 2, "pads", "expected an even number of pads, at most %d for a %d-D input, got %lld",
                  2 * x->ndim, x->ndim, (long long)n);
    int64_t pads[2 * CNN_MAX_DIM];
    for (lua_Integer i = 1; i <= n; i++) {
        int ok;
        lua_geti(L, 2, i);
        pads[i - 1] = lua_tointegerx(L, -1, &ok);
        if (!ok) arg_error(L, "pad", 2, "pads", "element %lld is not an integer", (long long)i);
        lua_pop(L, 1);
    }
    cnn_pad_mode mode = CNN_PAD_CONSTANT;
    if (!lua_isnoneornil(L, 3)) {
        const char *m = lua_type(L, 3) == LUA_TSTRING ? lua_tostring(L, 3) : NULL;
        if (m && strcmp(m, "constant") == 0) mode = CNN_PAD_CONSTANT;
        else if (m && strcmp(m, "reflect") == 0) mode = CNN_PAD_REFLECT;
        else if (m && strcmp(m, "replicate") == 0) mode = CNN_PAD_REPLICATE;
        else if (m && strcmp(m, "circular") == 0) mode = CNN_PAD_CIRCULAR;
        else arg_error(L, "pad", 3, "mode", "expected \"constant\", \"reflect\", \"replicate\" or \"circular\", got %s",
                       m ? m : luaL_typename(L, 3));
    }
    double value = opt_num(L, 4, "pad", "value", 0);
    if (mode != CNN_PAD_CONSTANT && value != 0)
        arg_error(L, "pad", 4, "value", "a fill value applies only to mode \"constant\"");
    cnn_tensor **box = push_box(L);
    *box = cnn_pad(ctx_of(L), x, pads, (int)n, mode, value);
    return push_result(L, box, "pad");
}

/* cnn.f(x, ...) and x:f(...) */
static const luaL_Reg shared_fns[] = {
    { "leaky_relu", l_leaky_relu }, { "elu", l_elu }, { "selu", l_selu }, { "hardtanh", l_hardtanh },
    { "softsign", l_softsign }, { "softplus", l_softplus }, { "rrelu", l_rrelu }, { "prelu", l_prelu },
    { "softmax", l_softmax }, { "log_softmax", l_log_softmax }, { NULL, NULL }
};

static const luaL_Reg module_fns[] = {
    { "mse_loss", l_mse_loss }, { "l1_loss", l_l1_loss }, { "huber_loss", l_huber_loss },
    { "smooth_l1_loss", l_smooth_l1_loss }, { "binary_cross_entropy", l_bce },
    { "binary_cross_entropy_with_logits", l_bce_logits }, { "hinge_embedding_loss", l_hinge_embedding_loss },
    { "cross_entropy", l_cross_entropy }, { "nll_loss", l_nll_loss }, { "multi_margin_loss", l_multi_margin_loss },
    { "batch_norm", l_batch_norm }, { "dropout", l_dropout }, { "linear", l_linear }, { "pad", l_pad },
    { NULL, NULL }
};

void cnn_open_nn(lua_State *L, int ctx, int module, int methods) {
    register_fns(L, shared_fns, ctx, module, methods);
    register_fns(L, module_fns, ctx, module, 0);
}
