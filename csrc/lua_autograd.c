/* lua_autograd.c: bindings that start and steer autograd (backward, cnn.grad, no_grad, grad
 * mode, leaf queries) and the thread count. The graph and the walk are in autograd.c.
 * Spec: autograd_spec.lua. */
#include "lua_util.h"

/* {retain_graph=bool} at idx (or nothing), read raw */
static int opt_retain(lua_State *L, int idx, const char *fn) {
    static const char *const known[] = { "retain_graph", NULL };
    if (!check_options(L, idx, fn, known)) return 0;
    opt_rawget(L, idx, "retain_graph");
    int r = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return r;
}

/* t:backward([grad] [, {retain_graph=}]) */
static int l_backward(lua_State *L) {
    check_tensor(L, 1, "backward", "self");
    int o = 2;
    if (is_tensor(L, 2)) { check_tensor(L, 2, "backward", "gradient"); o = 3; }
    else if (!lua_isnoneornil(L, 2) && !lua_istable(L, 2))
        arg_error(L, "backward", 2, "gradient", "expected a tensor or an options table, got %s", type_desc(L, 2));
    int retain = opt_retain(L, o, "backward");
    /* the tensors after the options: reading them may run a GC step, hence finalizers */
    cnn_tensor *t = check_tensor(L, 1, "backward", "self");
    cnn_tensor *g = o == 3 ? check_tensor(L, 2, "backward", "gradient") : NULL;
    if (cnn_backward(ctx_of(L), t, g, retain) < 0) return fail(L, "backward");
    return 0;
}

/* cnn.grad(output or {outputs}, {inputs} [, {grad_outputs}] [, {retain_graph=}]) -> {grads} */
static int l_grad(lua_State *L) {
    cnn_ctx *c = ctx_of(L);
    int nout = 1, nin;
    lua_settop(L, 4);
    if (!is_tensor(L, 1)) {
        if (!lua_istable(L, 1)) arg_error(L, "grad", 1, "outputs", "expected a tensor or a table of tensors, got %s", type_desc(L, 1));
        lua_Unsigned n = lua_rawlen(L, 1);             /* raw: no metamethod runs */
        if (n < 1 || n > 1 << 24) arg_error(L, "grad", 1, "outputs", "expected 1..16777216 outputs, got %llu", (unsigned long long)n);
        nout = (int)n;
    }
    if (!lua_istable(L, 2) || is_tensor(L, 2)) arg_error(L, "grad", 2, "inputs", "expected a table of tensors, got %s", type_desc(L, 2));
    lua_Unsigned n2 = lua_rawlen(L, 2);
    nin = n2 > 4096 ? 4097 : (int)n2;
    if (nin < 1 || nin > 4096) arg_error(L, "grad", 2, "inputs", "expected 1..4096 tensors, got %d", nin);
    int ogrid = 3, oopt = 4;
    if (lua_istable(L, 3) && !is_tensor(L, 3)) {
        lua_rawgeti(L, 3, 1);
        int is_list = is_tensor(L, -1);
        lua_pop(L, 1);
        if (!is_list) { oopt = 3; ogrid = 0; }
    } else if (!lua_isnil(L, 3)) {
        arg_error(L, "grad", 3, "grad_outputs", "expected a table of tensors, got %s", type_desc(L, 3));
    }
    int retain = opt_retain(L, oopt, "grad");
    /* every allocation first (result boxes, so nothing leaks if anything below raises; and any
     * allocation may run finalizers), then the tensors, read raw from the tables */
    cnn_tensor **ins = lua_newuserdatauv(L, (size_t)nin * sizeof *ins, 0);
    lua_createtable(L, nin, 0);
    int res = lua_gettop(L);
    cnn_tensor ***boxes = lua_newuserdatauv(L, (size_t)nin * sizeof *boxes, 0);
    for (int i = 0; i < nin; i++) { boxes[i] = push_box(L); lua_rawseti(L, res, i + 1); }
    cnn_tensor **tmp = lua_newuserdatauv(L, (size_t)nin * sizeof *tmp, 0);
    for (int i = 0; i < nin; i++) {
        lua_rawgeti(L, 2, i + 1);
        cnn_tensor **b = luaL_testudata(L, -1, CNN_TENSOR_MT);
        if (b == NULL || *b == NULL) arg_error(L, "grad", 2, "inputs", "element %d is not a tensor", i + 1);
        if (!(*b)->requires_grad) arg_error(L, "grad", 2, "inputs", "input %d does not require grad", i + 1);
        ins[i] = *b;
        lua_pop(L, 1);
    }
    for (int k = 0; k < nout; k++) {
        cnn_tensor *out;
        if (is_tensor(L, 1)) out = check_tensor(L, 1, "grad", "outputs");
        else {
            lua_rawgeti(L, 1, k + 1);
            cnn_tensor **b = luaL_testudata(L, -1, CNN_TENSOR_MT);
            if (b == NULL || *b == NULL) arg_error(L, "grad", 1, "outputs", "element %d is not a tensor", k + 1);
            out = *b;
            lua_pop(L, 1);
        }
        cnn_tensor *go = NULL;
        if (ogrid && !lua_isnil(L, ogrid)) {
            lua_rawgeti(L, ogrid, k + 1);
            cnn_tensor **b = luaL_testudata(L, -1, CNN_TENSOR_MT);
            if (b && *b && !cnn_dtype_is_float((*b)->dtype))
                arg_error(L, "grad", 3, "grad_outputs", "element %d: expected a float32 or float64 tensor, got %s", k + 1, type_desc(L, -1));
            if (b && *b) go = *b;
            else if (!lua_isnil(L, -1)) arg_error(L, "grad", 3, "grad_outputs", "element %d is not a tensor", k + 1);
            lua_pop(L, 1);
        }
        int keep = retain || k + 1 < nout;
        if (cnn_grad(c, out, go, ins, nin, tmp, keep) < 0) return fail(L, "grad");
        for (int i = 0; i < nin; i++) {
            if (*boxes[i] == NULL) { *boxes[i] = tmp[i]; continue; }
            cnn_tensor *s = cnn_binary(c, CNN_ADD, *boxes[i], tmp[i]);
            cnn_tensor_release(tmp[i]);
            if (s == NULL) {
                for (int j = i + 1; j < nin; j++) cnn_tensor_release(tmp[j]);
                return fail(L, "grad");
            }
            cnn_tensor_release(*boxes[i]);
            *boxes[i] = s;
        }
    }
    lua_pushvalue(L, res);
    return 1;
}

static int l_zero_grad(lua_State *L) {
    cnn_tensor *t = check_tensor(L, 1, "zero_grad", "self");
    if (t->grad) {
        cnn_ctx *c = ctx_of(L);
        int mode = cnn_set_grad_enabled(c, 0);
        int rc = cnn_fill_(c, t->grad, 0.0);
        cnn_set_grad_enabled(c, mode);
        if (rc < 0) return fail(L, "zero_grad");
    }
    lua_settop(L, 1);
    return 1;
}

static int l_is_leaf(lua_State *L) {
    lua_pushboolean(L, check_tensor_any(L, 1, "is_leaf", "self")->node == NULL);
    return 1;
}

/* t:retain_grad(): returns t */
static int l_retain_grad(lua_State *L) {
    if (cnn_retain_grad(ctx_of(L), check_tensor(L, 1, "retain_grad", "self")) < 0) return fail(L, "retain_grad");
    lua_settop(L, 1);
    return 1;
}

static int l_retains_grad(lua_State *L) {
    lua_pushboolean(L, cnn_retains_grad(check_tensor_any(L, 1, "retains_grad", "self")));
    return 1;
}

static int l_grad_fn(lua_State *L) {
    const char *n = cnn_grad_fn_name(check_tensor_any(L, 1, "grad_fn", "self"));
    if (n) lua_pushstring(L, n); else lua_pushnil(L);
    return 1;
}

/* no_grad(fn, ...): calls fn with recording off and restores the mode even if fn raises */
static int l_no_grad(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    cnn_ctx *c = ctx_of(L);
    int old = cnn_set_grad_enabled(c, 0);
    int nargs = lua_gettop(L) - 1;
    int rc = lua_pcall(L, nargs, LUA_MULTRET, 0);
    cnn_set_grad_enabled(c, old);
    if (rc != LUA_OK) return lua_error(L);
    return lua_gettop(L);
}

static int l_set_grad_enabled(lua_State *L) {
    lua_pushboolean(L, cnn_set_grad_enabled(ctx_of(L), lua_toboolean(L, 1)));
    return 1;
}

static int l_is_grad_enabled(lua_State *L) {
    lua_pushboolean(L, cnn_grad_enabled(ctx_of(L)));
    return 1;
}

static int l_set_num_threads(lua_State *L) {
    int64_t n = check_int(L, 1, "set_num_threads", "n");
    if (n < 1 || n > 1024) arg_error(L, "set_num_threads", 1, "n", "expected 1..1024, got %lld", (long long)n);
    cnn_set_num_threads(ctx_of(L), (int)n);
    return 0;
}

static int l_get_num_threads(lua_State *L) {
    lua_pushinteger(L, cnn_get_num_threads(ctx_of(L)));
    return 1;
}

static const luaL_Reg shared_fns[] = {
    { "backward", l_backward }, { "zero_grad", l_zero_grad }, { "is_leaf", l_is_leaf },
    { "grad_fn", l_grad_fn }, { "retain_grad", l_retain_grad }, { "retains_grad", l_retains_grad }, { NULL, NULL }
};

static const luaL_Reg module_fns[] = {
    { "grad", l_grad }, { "no_grad", l_no_grad }, { "set_grad_enabled", l_set_grad_enabled },
    { "is_grad_enabled", l_is_grad_enabled }, { "set_num_threads", l_set_num_threads },
    { "get_num_threads", l_get_num_threads },
    { "_profile_start", l_profile_start }, { "_profile_stop", l_profile_stop },
    { "_profile_clock", l_profile_clock }, { NULL, NULL }
};

void cnn_open_autograd(lua_State *L, int ctx, int module, int methods) {
    register_fns(L, shared_fns, ctx, module, methods);
    register_fns(L, module_fns, ctx, module, 0);
}
