/* lua_optim.c: cnn._optim.step, the one call per parameter group that the optimizer classes
 * (lua/cnn/optim/) make: cnn._optim.step(kind, params, states, steps, hyper). Core: op_optim.c.
 * Spec: spec/optim_spec.lua. */
#include "lua_util.h"
#include "op_optim.h"

#include <string.h>

/* FN in the argument checks (only the optimizer classes call optim_step); the core's errors
 * name the public method the class passes as argument 6 ("optim.Adam:step") */
#define FN "optim_step"

/* the tables are read raw (no metamethod runs), and every allocation (the scratch arrays)
 * comes before the tensors are fetched: an allocation may run a finalizer that closes one */
static double hyper_num(lua_State *L, int idx, const char *key, double def) {
    opt_rawget(L, idx, key);
    double v = def;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TNUMBER)
            arg_error(L, FN, idx, "hyper", "field %s must be a number, got %s", key, type_desc(L, -1));
        v = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

static int hyper_bool(lua_State *L, int idx, const char *key) {
    opt_rawget(L, idx, key);
    int v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* the tensor at t[i] (index tbl on the stack), NULL if nil or false */
static cnn_tensor *list_tensor(lua_State *L, int tbl, lua_Integer i, int arg, const char *name, int optional) {
    lua_rawgeti(L, tbl, i);
    cnn_tensor *t = NULL;
    if (optional && !lua_toboolean(L, -1)) { lua_pop(L, 1); return NULL; }
    cnn_tensor **box = luaL_testudata(L, -1, CNN_TENSOR_MT);
    if (box == NULL || *box == NULL)
        arg_error(L, FN, arg, name, "element %lld is not a tensor (got %s)", (long long)i, type_desc(L, -1));
    if (!cnn_dtype_is_float((*box)->dtype))
        arg_error(L, FN, arg, name, "element %lld: expected a float32 or float64 tensor, got %s", (long long)i, type_desc(L, -1));
    t = *box;
    lua_pop(L, 1);      /* still referenced by the table */
    return t;
}

static int l_optim_step(lua_State *L) {
    static const char *const kinds[] = { "sgd", "adam", "adamw", "rmsprop", "adagrad", NULL };
    const char *k = luaL_checkstring(L, 1);
    int kind = -1;
    for (int i = 0; kinds[i]; i++) if (strcmp(k, kinds[i]) == 0) kind = i;
    if (kind < 0) arg_error(L, FN, 1, "kind", "expected sgd, adam, adamw, rmsprop or adagrad, got \"%s\"", k);
    for (int a = 2; a <= 5; a++) luaL_checktype(L, a, LUA_TTABLE);
    cnn_optim_hyper h = { .kind = (cnn_optim_kind)kind };
    h.lr = hyper_num(L, 5, "lr", 0);
    h.momentum = hyper_num(L, 5, "momentum", 0);
    h.dampening = hyper_num(L, 5, "dampening", 0);
    h.weight_decay = hyper_num(L, 5, "weight_decay", 0);
    h.beta1 = hyper_num(L, 5, "beta1", 0.9);
    h.beta2 = hyper_num(L, 5, "beta2", 0.999);
    h.eps = hyper_num(L, 5, "eps", 1e-8);
    h.alpha = hyper_num(L, 5, "alpha", 0.99);
    h.lr_decay = hyper_num(L, 5, "lr_decay", 0);
    h.nesterov = hyper_bool(L, 5, "nesterov");
    h.amsgrad = hyper_bool(L, 5, "amsgrad");
    h.centered = hyper_bool(L, 5, "centered");
    h.maximize = hyper_bool(L, 5, "maximize");
    lua_Integer n = (lua_Integer)lua_rawlen(L, 2);
    if (n > 1 << 24) arg_error(L, FN, 2, "params", "too many parameters (%lld)", (long long)n);
    if ((lua_Integer)lua_rawlen(L, 3) != n || (lua_Integer)lua_rawlen(L, 4) != n)
        fn_error(L, FN, "params, states and steps must have the same length");
    /* scratch arrays as userdata: collected even if a check below raises */
    cnn_tensor **p = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *p, 0);
    cnn_tensor **st = lua_newuserdatauv(L, (size_t)(n ? n : 1) * CNN_OPTIM_SLOTS * sizeof *st, 0);
    int64_t *steps = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *steps, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        p[i - 1] = list_tensor(L, 2, i, 2, "params", 0);
        lua_rawgeti(L, 3, i);
        if (!lua_istable(L, -1)) arg_error(L, FN, 3, "states", "element %lld is not a table", (long long)i);
        int t = lua_gettop(L);
        for (int j = 0; j < CNN_OPTIM_SLOTS; j++) st[(i - 1) * CNN_OPTIM_SLOTS + j] = list_tensor(L, t, j + 1, 3, "states", 1);
        lua_pop(L, 1);
        lua_rawgeti(L, 4, i);
        int ok;
        steps[i - 1] = lua_tointegerx(L, -1, &ok);
        if (!ok) arg_error(L, FN, 4, "steps", "element %lld is not an integer", (long long)i);
        lua_pop(L, 1);
    }
    if (cnn_optim_step(ctx_of(L), &h, (int)n, p, st, steps) < 0)
        return fail(L, lua_type(L, 6) == LUA_TSTRING ? lua_tostring(L, 6) : FN);
    return 0;
}

static const luaL_Reg private_fns[] = { { "step", l_optim_step }, { NULL, NULL } };

/* cnn._optim.step: private, called by lua/cnn/optim/optimizer.lua only */
void cnn_open_optim(lua_State *L, int ctx, int module, int methods) {
    (void)methods;
    lua_newtable(L);
    register_fns(L, private_fns, ctx, lua_gettop(L), 0);
    lua_setfield(L, module, "_optim");
}
