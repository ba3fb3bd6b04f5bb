/* lua_nn.c: bindings of the functional ops that cnn.F adds to the core: activations (also as
 * tensor methods), losses, batch_norm, layer_norm, group_norm, dropout, linear and pad. Losses take an options table
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
    x = check_tensor(L, 1, fn, "input");
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

static int l_gelu(lua_State *L) {
    double approx = 0;
    if (!lua_isnoneornil(L, 2)) {
        const char *m = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
        if (m && strcmp(m, "none") == 0) approx = 0;
        else if (m && strcmp(m, "tanh") == 0) approx = 1;
        else arg_error(L, "gelu", 2, "approximate", "expected \"none\" or \"tanh\", got %s", m ? m : type_desc(L, 2));
    }
    return act(L, "gelu", CNN_ACT_GELU, approx, 0);
}
static int l_silu(lua_State *L) { return act(L, "silu", CNN_ACT_SILU, 0, 0); }
static int l_mish(lua_State *L) { return act(L, "mish", CNN_ACT_MISH, 0, 0); }

static int l_rrelu(lua_State *L) {
    cnn_tensor *x = check_tensor(L, 1, "rrelu", "input");
    double lo = opt_num(L, 2, "rrelu", "lower", 1.0 / 8), hi = opt_num(L, 3, "rrelu", "upper", 1.0 / 3);
    if (!(lo <= hi)) arg_error(L, "rrelu", 3, "upper", "expected lower <= upper, got %g and %g", lo, hi);
    int training = lua_toboolean(L, 4);
    cnn_tensor **box = push_box(L);
    x = check_tensor(L, 1, "rrelu", "input");
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
    x = check_tensor(L, 1, "prelu", "input"); w = check_tensor(L, 2, "prelu", "weight");
    *box = cnn_prelu(ctx_of(L), x, w);
    return push_result(L, box, "prelu");
}

static int softmax(lua_State *L, const char *fn, int lg) {
    cnn_tensor *x = check_tensor(L, 1, fn, "input");
    int d = check_dim(L, 2, fn, "dim", x->ndim ? x->ndim : 1, 0);
    cnn_tensor **box = push_box(L);
    x = check_tensor(L, 1, fn, "input");
    *box = cnn_softmax(ctx_of(L), x, d, lg);
    return push_result(L, box, fn);
}
static int l_softmax(lua_State *L) { return softmax(L, "softmax", 0); }
static int l_log_softmax(lua_State *L) { return softmax(L, "log_softmax", 1); }

/* ---- loss options ---- */

typedef struct {
    cnn_reduction red;
    cnn_tensor *weight, *pos_weight;
    int weight_at, pos_weight_at;   /* their stack slots (0: absent), to fetch them again late */
    int has_ignore;
    int64_t ignore_index;
    double param;         /* delta, beta or margin */
    int64_t p;
} loss_opts;

static void loss_tensors(lua_State *L, const char *fn, int idx, loss_opts *o);

/* the options table at idx (may be none or nil), checked against known; param names the number.
 * Read raw (no metamethod runs); a weight tensor's value stays on the stack, in o->*_at */
static void check_loss_opts(lua_State *L, int idx, const char *fn, const char *const *known, const char *param,
                            loss_opts *o) {
    if (!check_options(L, idx, fn, known)) return;
    if (opt_rawget(L, idx, "reduction") != LUA_TNIL) {
        if (lua_type(L, -1) != LUA_TSTRING)
            arg_error(L, fn, idx, "options", "reduction must be \"mean\", \"sum\" or \"none\", got %s", type_desc(L, -1));
        const char *r = lua_tostring(L, -1);
        if (strcmp(r, "mean") == 0) o->red = CNN_RED_MEAN;
        else if (strcmp(r, "sum") == 0) o->red = CNN_RED_SUM;
        else if (strcmp(r, "none") == 0) o->red = CNN_RED_NONE;
        else arg_error(L, fn, idx, "options", "reduction must be \"mean\", \"sum\" or \"none\", got \"%s\"", r);
    }
    lua_pop(L, 1);
    const char *tk[2] = { "weight", "pos_weight" };
    int *at[2] = { &o->weight_at, &o->pos_weight_at };
    for (int i = 0; i < 2; i++) {
        if (opt_rawget(L, idx, tk[i]) == LUA_TNIL) { lua_pop(L, 1); continue; }
        cnn_tensor **box = luaL_testudata(L, -1, CNN_TENSOR_MT);
        if (box == NULL || *box == NULL)
            arg_error(L, fn, idx, "options", "%s must be a tensor, got %s", tk[i], type_desc(L, -1));
        if (!cnn_dtype_is_float((*box)->dtype))
            arg_error(L, fn, idx, "options", "%s: expected a float32 or float64 tensor, got %s", tk[i], type_desc(L, -1));
        *at[i] = lua_gettop(L);          /* left on the stack */
    }
    if (opt_rawget(L, idx, "ignore_index") != LUA_TNIL) {
        int ok;
        lua_Integer v = lua_tointegerx(L, -1, &ok);
        if (!ok) arg_error(L, fn, idx, "options", "ignore_index must be an integer, got %s",
                           lua_type(L, -1) == LUA_TNUMBER ? lua_tostring(L, -1) : type_desc(L, -1));
        o->has_ignore = 1;
        o->ignore_index = v;
    }
    lua_pop(L, 1);
    if (param && opt_rawget(L, idx, param) != LUA_TNIL) {
        if (lua_type(L, -1) != LUA_TNUMBER)
            arg_error(L, fn, idx, "options", "%s must be a number, got %s", param, type_desc(L, -1));
        o->param = lua_tonumber(L, -1);
    }
    if (param) lua_pop(L, 1);
    if (opt_rawget(L, idx, "p") != LUA_TNIL) {
        int ok;
        o->p = lua_tointegerx(L, -1, &ok);
        if (!ok || (o->p != 1 && o->p != 2))
            arg_error(L, fn, idx, "options", "p must be 1 or 2, got %s",
                      lua_type(L, -1) == LUA_TNUMBER ? lua_tostring(L, -1) : type_desc(L, -1));
    }
    lua_pop(L, 1);
    loss_tensors(L, fn, idx, o);
}

/* o->weight and o->pos_weight from their stack slots: call again after the last allocation */
static void loss_tensors(lua_State *L, const char *fn, int idx, loss_opts *o) {
    const char *tk[2] = { "weight", "pos_weight" };
    int at[2] = { o->weight_at, o->pos_weight_at };
    cnn_tensor **tv[2] = { &o->weight, &o->pos_weight };
    for (int i = 0; i < 2; i++) {
        *tv[i] = NULL;
        if (!at[i]) continue;
        cnn_tensor **box = lua_touserdata(L, at[i]);
        if (*box == NULL) arg_error(L, fn, idx, "options", "%s: the tensor was closed", tk[i]);
        *tv[i] = *box;
    }
}

/* ---- pointwise losses: f(input, target [, param] [, options]) ---- */

static int pointwise_loss(lua_State *L, const char *fn, cnn_loss kind, const char *const *known,
                          const char *param, double def) {
    loss_opts o = { CNN_RED_MEAN, NULL, NULL, 0, 0, 0, 0, def, 1 };
    int oi = 3;
    check_tensor(L, 1, fn, "input");
    check_tensor(L, 2, fn, "target");
    if (param && lua_type(L, 3) == LUA_TNUMBER) { o.param = lua_tonumber(L, 3); oi = 4; }
    lua_settop(L, oi);                   /* the options' tensors go above */
    check_loss_opts(L, oi, fn, known, param, &o);
    cnn_tensor *x = check_tensor(L, 1, fn, "input");
    cnn_tensor *y = check_tensor(L, 2, fn, "target");
    char a[200], b[200];
    cnn_shape xs = cnn_shape_of(x), ys = cnn_shape_of(y);
    if (!cnn_shape_eq(&xs, &ys))
        arg_error(L, fn, 2, "target", "expected the input's shape %s, got %s",
                  cnn_shape_str(a, sizeof a, xs.ndim, xs.size), cnn_shape_str(b, sizeof b, ys.ndim, ys.size));
    if ((kind == CNN_LOSS_HUBER && !(o.param > 0)) || (kind == CNN_LOSS_SMOOTH_L1 && !(o.param >= 0)))
        arg_error(L, fn, oi == 4 ? 3 : oi, param, "expected %s %s 0, got %g", param,
                  kind == CNN_LOSS_HUBER ? ">" : ">=", o.param);
    cnn_tensor **box = push_box(L);
    x = check_tensor(L, 1, fn, "input"); y = check_tensor(L, 2, fn, "target");   /* again: push_box may run finalizers */
    loss_tensors(L, fn, oi, &o);
    *box = cnn_pointwise_loss(ctx_of(L), kind, x, y, o.weight, o.pos_weight, o.param, o.red);
    return push_result(L, box, fn);
}
static const char *const k_red[] = { "reduction", NULL };
static int l_mse_loss(lua_State *L) { return pointwise_loss(L, "mse_loss", CNN_LOSS_MSE, k_red, NULL, 0); }
static int l_l1_loss(lua_State *L) { return pointwise_loss(L, "l1_loss", CNN_LOSS_L1, k_red, NULL, 0); }
static int l_huber_loss(lua_State *L) {
    static const char *const k[] = { "reduction", "delta", NULL };
    return pointwise_loss(L, "huber_loss", CNN_LOSS_HUBER, k, "delta", 1.0);
}
static int l_smooth_l1_loss(lua_State *L) {
    static const char *const k[] = { "reduction", "beta", NULL };
    return pointwise_loss(L, "smooth_l1_loss", CNN_LOSS_SMOOTH_L1, k, "beta", 1.0);
}
static int l_bce(lua_State *L) {
    static const char *const k[] = { "reduction", "weight", NULL };
    return pointwise_loss(L, "binary_cross_entropy", CNN_LOSS_BCE, k, NULL, 0);
}
static int l_bce_logits(lua_State *L) {
    static const char *const k[] = { "reduction", "weight", "pos_weight", NULL };
    return pointwise_loss(L, "binary_cross_entropy_with_logits", CNN_LOSS_BCE_LOGITS, k, NULL, 0);
}
static int l_hinge_embedding_loss(lua_State *L) {
    static const char *const k[] = { "reduction", "margin", NULL };
    return pointwise_loss(L, "hinge_embedding_loss", CNN_LOSS_HINGE_EMBEDDING, k, "margin", 1.0);
}

/* ---- class-index losses ---- */

/* the n values of the target as 0-based classes in idx (-1 for ignore_index); raises. An int64
 * target comes in idx itself (dv NULL), a float one in dv. */
static void check_classes(lua_State *L, const char *fn, const double *dv, int64_t n, int64_t C, const loss_opts *o,
                          int64_t *idx) {
    for (int64_t k = 0; k < n && !dv; k++) {
        int64_t v = idx[k];
        if (o->has_ignore && v == o->ignore_index) { idx[k] = -1; continue; }
        if (v < 1 || v > C)
            arg_error(L, fn, 2, "target", "expected class indices 1..%lld, got %lld at position %lld",
                      (long long)C, (long long)v, (long long)k + 1);
        idx[k] = v - 1;
    }
    for (int64_t k = 0; k < n && dv; k++) {
        double v = dv[k];
        if (o->has_ignore && v == (double)o->ignore_index) { idx[k] = -1; continue; }
        if (!(v >= 1 && v <= (double)C && v == floor(v)))
            arg_error(L, fn, 2, "target", "expected class indices 1..%lld, got %.17g at position %lld",
                      (long long)C, v, (long long)k + 1);
        idx[k] = (int64_t)v - 1;
    }
}

static int class_loss(lua_State *L, const char *fn, int kind) {
    static const char *const k_mm[] = { "reduction", "weight", "p", "margin", NULL };
    static const char *const k_nll[] = { "reduction", "weight", "ignore_index", NULL };
    cnn_ctx *c = ctx_of(L);
    int mm = kind == 2;
    check_tensor(L, 1, fn, "input");
    check_tensor_any(L, 2, fn, "target");      /* class indices: int64, or floats holding integers */
    lua_settop(L, 3);                    /* the options' tensors go above */
    loss_opts o = { CNN_RED_MEAN, NULL, NULL, 0, 0, 0, 0, 1.0, 1 };
    check_loss_opts(L, 3, fn, mm ? k_mm : k_nll, mm ? "margin" : NULL, &o);
    cnn_tensor *x = check_tensor(L, 1, fn, "input");
    cnn_tensor *t = check_tensor_any(L, 2, fn, "target");
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
    int64_t C = x->size[single ? 0 : 1], n = cnn_numel(t);
    /* every allocation first (each may run finalizers), then the tensors again */
    double *dv = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *dv, 0);
    int64_t *idx = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *idx, 0);
    cnn_tensor **xb = push_box(L);                   /* the (1,C) view of a single sample */
    cnn_tensor **box = push_box(L);
    x = check_tensor(L, 1, fn, "input");
    t = check_tensor_any(L, 2, fn, "target");
    loss_tensors(L, fn, 3, &o);
    if (t->dtype == CNN_I64) cnn_to_int64s(c, t, idx);
    else cnn_to_doubles(c, t, dv);
    check_classes(L, fn, t->dtype == CNN_I64 ? NULL : dv, n, C, &o, idx);
    if (single) {
        *xb = cnn_unsqueeze(c, x, 0);
        push_result(L, xb, fn);
        ts.ndim = 1;
        ts.size[0] = 1;
    }
    cnn_tensor *xin = single ? *xb : x;
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
    static const char *const known[] = { "training", "momentum", "eps", NULL };
    const char *pn[4] = { "running_mean", "running_var", "weight", "bias" };
    check_tensor(L, 1, fn, "input");
    for (int i = 0; i < 4; i++) opt_tensor(L, 2 + i, fn, pn[i]);
    lua_settop(L, 6);                            /* the result box goes at 7 */
    int training = 0;
    double momentum = 0.1, eps = 1e-5;
    char a[200], d[200];
    if (check_options(L, 6, fn, known)) {         /* raw reads: no metamethod runs */
        opt_rawget(L, 6, "training");
        training = lua_toboolean(L, -1);
        lua_pop(L, 1);
        const char *nk[2] = { "momentum", "eps" };
        double *nv[2] = { &momentum, &eps };
        for (int i = 0; i < 2; i++) {
            int ty = opt_rawget(L, 6, nk[i]);
            if (ty != LUA_TNIL && ty != LUA_TNUMBER)
                arg_error(L, fn, 6, "options", "%s must be a number, got %s", nk[i], type_desc(L, -1));
            if (ty == LUA_TNUMBER) *nv[i] = lua_tonumber(L, -1);
            lua_pop(L, 1);
        }
    }
    cnn_tensor *x = check_tensor(L, 1, fn, "input");
    cnn_tensor *rm = opt_tensor(L, 2, fn, "running_mean");
    cnn_tensor *rv = opt_tensor(L, 3, fn, "running_var");
    cnn_tensor *w = opt_tensor(L, 4, fn, "weight");
    cnn_tensor *b = opt_tensor(L, 5, fn, "bias");
    if (x->ndim < 2)
        arg_error(L, fn, 1, "input", "expected (N,C), (N,C,L) or (N,C,H,W), got %s", cnn_tensor_desc(a, sizeof a, x));
    int64_t C = x->size[1];
    cnn_tensor *per[4] = { rm, rv, w, b };
    for (int i = 0; i < 4; i++)
        if (per[i] && (per[i]->ndim != 1 || per[i]->size[0] != C))
            arg_error(L, fn, 2 + i, pn[i], "expected shape [%lld] (the channels of input %s), got %s", (long long)C,
                      cnn_tensor_desc(a, sizeof a, x), cnn_tensor_desc(d, sizeof d, per[i]));
    if (!training && (rm == NULL || rv == NULL))
        arg_error(L, fn, rm ? 3 : 2, rm ? "running_var" : "running_mean", "expected a tensor when not training, got nil");
    cnn_tensor **box = push_box(L);
    x = check_tensor(L, 1, fn, "input"); rm = opt_tensor(L, 2, fn, "running_mean"); rv = opt_tensor(L, 3, fn, "running_var"); w = opt_tensor(L, 4, fn, "weight"); b = opt_tensor(L, 5, fn, "bias");
    *box = cnn_batch_norm(ctx_of(L), x, rm, rv, w, b, training, momentum, eps);
    return push_result(L, box, fn);
}

/* layer_norm(x, normalized_shape [, weight [, bias [, eps = 1e-5]]]); normalized_shape is a table
 * of sizes or one size: the trailing dimensions of x that each sample is normalised over */
static int l_layer_norm(lua_State *L) {
    const char *fn = "layer_norm";
    char a[200], d[200], e[200];
    check_tensor(L, 1, fn, "input");
    cnn_shape ns;
    if (lua_type(L, 2) == LUA_TNUMBER) {
        ns.ndim = 1;
        ns.size[0] = check_int(L, 2, fn, "normalized_shape");
        if (ns.size[0] < 1) arg_error(L, fn, 2, "normalized_shape", "expected a positive size, got %lld", (long long)ns.size[0]);
    } else if (lua_istable(L, 2) && !is_tensor(L, 2)) {
        check_shape(L, 2, fn, "normalized_shape", &ns, 0, NULL);
        if (ns.ndim == 0) arg_error(L, fn, 2, "normalized_shape", "expected at least one size, got an empty table");
    } else {
        arg_error(L, fn, 2, "normalized_shape", "expected a table of sizes or a size, got %s", type_desc(L, 2));
    }
    opt_tensor(L, 3, fn, "weight");
    opt_tensor(L, 4, fn, "bias");
    double eps = opt_num(L, 5, fn, "eps", 1e-5);
    if (!(eps >= 0)) arg_error(L, fn, 5, "eps", "expected a number >= 0, got %g", eps);
    lua_settop(L, 5);                            /* the result box goes at 6 */
    cnn_tensor *x = check_tensor(L, 1, fn, "input");
    cnn_shape_str(d, sizeof d, ns.ndim, ns.size);
    int ok = ns.ndim <= x->ndim;
    for (int i = 0; ok && i < ns.ndim; i++) ok = x->size[x->ndim - ns.ndim + i] == ns.size[i];
    if (!ok)
        arg_error(L, fn, 1, "input", "expected trailing dimensions %s (normalized_shape), got %s", d, cnn_tensor_desc(a, sizeof a, x));
    const char *pn[2] = { "weight", "bias" };
    for (int j = 0; j < 2; j++) {
        cnn_tensor *t = opt_tensor(L, 3 + j, fn, pn[j]);
        int same = t == NULL || t->ndim == ns.ndim;
        for (int i = 0; t && same && i < ns.ndim; i++) same = t->size[i] == ns.size[i];
        if (!same)
            arg_error(L, fn, 3 + j, pn[j], "expected shape %s (normalized_shape), got %s", d, cnn_tensor_desc(e, sizeof e, t));
    }
    cnn_tensor **box = push_box(L);
    x = check_tensor(L, 1, fn, "input");
    *box = cnn_layer_norm(ctx_of(L), x, &ns, opt_tensor(L, 3, fn, "weight"), opt_tensor(L, 4, fn, "bias"), eps);
    return push_result(L, box, fn);
}

/* group_norm(x, num_groups [, weight [, bias [, eps = 1e-5]]]): x (N,C,...), weight and bias (C) */
static int l_group_norm(lua_State *L) {
    const char *fn = "group_norm";
    char a[200], e[200];
    check_tensor(L, 1, fn, "input");
    int64_t G = check_int(L, 2, fn, "num_groups");
    opt_tensor(L, 3, fn, "weight");
    opt_tensor(L, 4, fn, "bias");
    double eps = opt_num(L, 5, fn, "eps", 1e-5);
    if (!(eps >= 0)) arg_error(L, fn, 5, "eps", "expected a number >= 0, got %g", eps);
    lua_settop(L, 5);                            /* the result box goes at 6 */
    cnn_tensor *x = check_tensor(L, 1, fn, "input");
    if (x->ndim < 2)
        arg_error(L, fn, 1, "input", "expected (N,C,...) with 2 or more dimensions, got %s", cnn_tensor_desc(a, sizeof a, x));
    int64_t C = x->size[1];
    if (G < 1 || C % G != 0)
        arg_error(L, fn, 2, "num_groups", "expected a divisor of the channels of input %s, got %lld",
                  cnn_tensor_desc(a, sizeof a, x), (long long)G);
    const char *pn[2] = { "weight", "bias" };
    for (int j = 0; j < 2; j++) {
        cnn_tensor *t = opt_tensor(L, 3 + j, fn, pn[j]);
        if (t && (t->ndim != 1 || t->size[0] != C))
            arg_error(L, fn, 3 + j, pn[j], "expected shape [%lld] (the channels of input %s), got %s", (long long)C,
                      cnn_tensor_desc(a, sizeof a, x), cnn_tensor_desc(e, sizeof e, t));
    }
    cnn_tensor **box = push_box(L);
    x = check_tensor(L, 1, fn, "input");
    *box = cnn_group_norm(ctx_of(L), x, G, opt_tensor(L, 3, fn, "weight"), opt_tensor(L, 4, fn, "bias"), eps);
    return push_result(L, box, fn);
}

/* dropout(x [, p = 0.5 [, training = true]]) */
static int l_dropout(lua_State *L) {
    cnn_tensor *x = check_tensor(L, 1, "dropout", "input");
    double p = opt_num(L, 2, "dropout", "p", 0.5);
    if (!(p >= 0 && p <= 1)) arg_error(L, "dropout", 2, "p", "expected a probability in [0, 1], got %g", p);
    int training = lua_isnoneornil(L, 3) ? 1 : lua_toboolean(L, 3);
    cnn_tensor **box = push_box(L);
    x = check_tensor(L, 1, "dropout", "input");
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
    lua_settop(L, 3);                            /* the result box goes at 4 */
    cnn_tensor **box = push_box(L);
    x = check_tensor(L, 1, "linear", "input"); w = check_tensor(L, 2, "linear", "weight"); b = opt_tensor(L, 3, "linear", "bias");
    *box = cnn_linear(ctx_of(L), x, w, b);
    return push_result(L, box, "linear");
}

/* lstm_cell(xg, h, c, w_hh [, b_hh]) -> (N,2H) = h', c'; gru_cell(xg, h, w_hh [, b_hh]) -> h' (N,H).
 * xg = x W_ih^T + b_ih (N,GH) for G = 4 or 3 gates; the core checks the shapes and dtypes */
static int l_lstm_cell(lua_State *L) {
    const char *fn = "lstm_cell";
    check_tensor(L, 1, fn, "input_gates"); check_tensor(L, 2, fn, "h"); check_tensor(L, 3, fn, "c");
    check_tensor(L, 4, fn, "weight_hh"); opt_tensor(L, 5, fn, "bias_hh");
    lua_settop(L, 5);                            /* the result box goes at 6 */
    cnn_tensor **box = push_box(L);
    *box = cnn_lstm_cell(ctx_of(L), check_tensor(L, 1, fn, "input_gates"), check_tensor(L, 2, fn, "h"),
                         check_tensor(L, 3, fn, "c"), check_tensor(L, 4, fn, "weight_hh"), opt_tensor(L, 5, fn, "bias_hh"));
    return push_result(L, box, fn);
}

static int l_gru_cell(lua_State *L) {
    const char *fn = "gru_cell";
    check_tensor(L, 1, fn, "input_gates"); check_tensor(L, 2, fn, "h");
    check_tensor(L, 3, fn, "weight_hh"); opt_tensor(L, 4, fn, "bias_hh");
    lua_settop(L, 4);                            /* the result box goes at 5 */
    cnn_tensor **box = push_box(L);
    *box = cnn_gru_cell(ctx_of(L), check_tensor(L, 1, fn, "input_gates"), check_tensor(L, 2, fn, "h"),
                        check_tensor(L, 3, fn, "weight_hh"), opt_tensor(L, 4, fn, "bias_hh"));
    return push_result(L, box, fn);
}

/* pad(x, pads [, mode = "constant" [, value = 0]]) */
static int l_pad(lua_State *L) {
    cnn_tensor *x = check_tensor(L, 1, "pad", "input");
    if (!lua_istable(L, 2) || is_tensor(L, 2))
        arg_error(L, "pad", 2, "pads", "expected a table of integers, got %s", type_desc(L, 2));
    lua_Integer n = (lua_Integer)lua_rawlen(L, 2);      /* raw: no metamethod runs */
    if (n % 2 != 0 || n / 2 > x->ndim)
        arg_error(L, "pad", 2, "pads", "expected an even number of pads, at most %d for a %d-D input, got %lld",
                  2 * x->ndim, x->ndim, (long long)n);
    int64_t pads[2 * CNN_MAX_DIM];
    for (lua_Integer i = 1; i <= n; i++) {
        int ok;
        lua_rawgeti(L, 2, i);
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
                       m ? m : type_desc(L, 3));
    }
    double value = opt_num(L, 4, "pad", "value", 0);
    if (mode != CNN_PAD_CONSTANT && value != 0)
        arg_error(L, "pad", 4, "value", "a fill value applies only to mode \"constant\"");
    cnn_tensor **box = push_box(L);
    x = check_tensor(L, 1, "pad", "input");
    *box = cnn_pad(ctx_of(L), x, pads, (int)n, mode, value);
    return push_result(L, box, "pad");
}

/* cnn.f(x, ...) and x:f(...) */
static const luaL_Reg shared_fns[] = {
    { "leaky_relu", l_leaky_relu }, { "elu", l_elu }, { "selu", l_selu }, { "hardtanh", l_hardtanh },
    { "softsign", l_softsign }, { "softplus", l_softplus }, { "rrelu", l_rrelu }, { "prelu", l_prelu },
    { "gelu", l_gelu }, { "silu", l_silu }, { "mish", l_mish },
    { "softmax", l_softmax }, { "log_softmax", l_log_softmax }, { NULL, NULL }
};

static const luaL_Reg module_fns[] = {
    { "mse_loss", l_mse_loss }, { "l1_loss", l_l1_loss }, { "huber_loss", l_huber_loss },
    { "smooth_l1_loss", l_smooth_l1_loss }, { "binary_cross_entropy", l_bce },
    { "binary_cross_entropy_with_logits", l_bce_logits }, { "hinge_embedding_loss", l_hinge_embedding_loss },
    { "cross_entropy", l_cross_entropy }, { "nll_loss", l_nll_loss }, { "multi_margin_loss", l_multi_margin_loss },
    { "batch_norm", l_batch_norm }, { "layer_norm", l_layer_norm }, { "group_norm", l_group_norm },
    { "dropout", l_dropout }, { "linear", l_linear }, { "pad", l_pad },
    { "lstm_cell", l_lstm_cell }, { "gru_cell", l_gru_cell },
    { NULL, NULL }
};

void cnn_open_nn(lua_State *L, int ctx, int module, int methods) {
    register_fns(L, shared_fns, ctx, module, methods);
    register_fns(L, module_fns, ctx, module, 0);
}
