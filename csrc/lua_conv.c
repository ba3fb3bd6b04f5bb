/* lua_conv.c: bindings of convolution and pooling (F.conv2d, F.conv1d, F.max_pool2d,
 * F.avg_pool2d, F.adaptive_avg_pool2d, F.max_pool1d, F.avg_pool1d, F.adaptive_avg_pool1d,
 * F.adaptive_max_pool2d, F.adaptive_max_pool1d). Core: op_conv.c, op_pool.c. Specs: conv2d_spec.lua,
 * conv1d_spec.lua, pool_spec.lua, parity/conv_parity_spec.lua; reference: docs/api-conv.md. */
#include "lua_util.h"

#include <string.h>

/* the value on top of the stack: an integer, or for 2-D ops also a {h, w} pair -> out */
static void opt_pair(lua_State *L, const char *fn, int arg, const char *argname, const char *key,
                     int nd, int64_t out[2]) {
    int ok;
    lua_Integer v = lua_tointegerx(L, -1, &ok);
    if (ok) { out[0] = out[1] = v; return; }
    const char *want = nd == 2 ? "an integer or a {h,w} pair of integers" : "an integer";
    if (nd == 2 && lua_istable(L, -1) && lua_rawlen(L, -1) == 2) {      /* raw: no metamethod runs */
        int ok0, ok1;
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        lua_Integer a = lua_tointegerx(L, -2, &ok0), b = lua_tointegerx(L, -1, &ok1);
        lua_pop(L, 2);
        if (ok0 && ok1) { out[0] = a; out[1] = b; return; }
    }
    const char *got = lua_type(L, -1) == LUA_TNUMBER ? lua_tostring(L, -1) : luaL_typename(L, -1);
    if (key) arg_error(L, fn, arg, argname, "%s must be %s, got %s", key, want, got);
    else arg_error(L, fn, arg, argname, "expected %s, got %s", want, got);
}

/* options[key] as an integer or pair; absent: out keeps its default. 1 if present. */
static int opt_field(lua_State *L, int idx, const char *fn, const char *key, int nd, int64_t out[2]) {
    if (lua_isnoneornil(L, idx)) return 0;
    int present = opt_rawget(L, idx, key) != LUA_TNIL;
    if (present) opt_pair(L, fn, idx, "options", key, nd, out);
    lua_pop(L, 1);
    return present;
}

static int opt_bool(lua_State *L, int idx, const char *fn, const char *key, int dflt) {
    if (lua_isnoneornil(L, idx)) return dflt;
    int t = opt_rawget(L, idx, key);
    if (t != LUA_TNIL && t != LUA_TBOOLEAN)
        arg_error(L, fn, idx, "options", "%s must be a boolean, got %s", key, luaL_typename(L, -1));
    int v = t == LUA_TNIL ? dflt : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

static cnn_tensor *opt_bias(lua_State *L, int idx, const char *fn) {
    if (lua_isnoneornil(L, idx)) return NULL;
    if (!is_tensor(L, idx))
        arg_error(L, fn, idx, "bias", "expected a tensor or nil, got %s", luaL_typename(L, idx));
    return check_tensor(L, idx, fn, "bias");
}

/* conv2d(x, w [, b [, {stride=, padding=, dilation=, groups=}]]) and conv1d (integers only);
 * padding may also be "valid" (0) or "same" (stride 1; cnn_conv_same) */
static int conv(lua_State *L, int nd) {
    static const char *const keys[] = { "stride", "padding", "dilation", "groups", NULL };
    const char *fn = nd == 2 ? "conv2d" : "conv1d";
    check_tensor(L, 1, fn, "input");
    check_tensor(L, 2, fn, "weight");
    opt_bias(L, 3, fn);
    check_options(L, 4, fn, keys);
    lua_settop(L, 4);                            /* the result box goes at 5 */
    int64_t s[2] = { 1, 1 }, p[2] = { 0, 0 }, d[2] = { 1, 1 }, g[2] = { 1, 1 };
    int same = 0;
    opt_field(L, 4, fn, "stride", nd, s);
    if (!lua_isnoneornil(L, 4) && opt_rawget(L, 4, "padding") == LUA_TSTRING) {   /* "same" or "valid" */
        const char *m = lua_tostring(L, -1);
        if (strcmp(m, "same") == 0) same = 1;
        else if (strcmp(m, "valid") != 0)
            arg_error(L, fn, 4, "options", "padding must be %s, \"same\" or \"valid\", got \"%s\"",
                      nd == 2 ? "an integer, a {h,w} pair" : "an integer", m);
        lua_pop(L, 1);
    } else {
        if (!lua_isnoneornil(L, 4)) lua_pop(L, 1);
        opt_field(L, 4, fn, "padding", nd, p);
    }
    opt_field(L, 4, fn, "dilation", nd, d);
    opt_field(L, 4, fn, "groups", 1, g);
    if (same && (s[0] != 1 || s[1] != 1))
        arg_error(L, fn, 4, "options", "padding \"same\" needs stride 1 (as PyTorch), got stride %lld",
                  (long long)(s[0] != 1 ? s[0] : s[1]));
    cnn_tensor **box = push_box(L);
    /* the tensors last: reading options and making the box may run finalizers */
    cnn_tensor *x = check_tensor(L, 1, fn, "input"), *w = check_tensor(L, 2, fn, "weight"), *b = opt_bias(L, 3, fn);
    if (same) *box = cnn_conv_same(ctx_of(L), nd, x, w, b, d, g[0]);
    else *box = nd == 2 ? cnn_conv2d(ctx_of(L), x, w, b, s, p, d, g[0])
                        : cnn_conv1d(ctx_of(L), x, w, b, s[1], p[1], d[1], g[0]);
    return push_result(L, box, fn);
}
static int l_conv2d(lua_State *L) { return conv(L, 2); }

/* cnn._conv2d_affine(x, w, scale|nil, shift|nil, relu, {stride=, padding=, dilation=, groups=}):
 * inference's conv2d + batch norm + ReLU in one pass (cnn_conv2d_affine); integer padding only.
 * Private: nn.Conv2d's eval-mode fusion (lua/cnn/nn/conv.lua) calls it. */
static int l_conv2d_affine(lua_State *L) {
    static const char *const keys[] = { "stride", "padding", "dilation", "groups", NULL };
    const char *fn = "_conv2d_affine";
    check_tensor(L, 1, fn, "input");
    check_tensor(L, 2, fn, "weight");
    if (!lua_isnil(L, 3)) check_tensor(L, 3, fn, "scale");
    if (!lua_isnil(L, 4)) check_tensor(L, 4, fn, "shift");
    if (!lua_isboolean(L, 5)) arg_error(L, fn, 5, "relu", "expected a boolean, got %s", luaL_typename(L, 5));
    int relu = lua_toboolean(L, 5);
    check_options(L, 6, fn, keys);
    lua_settop(L, 6);
    int64_t s[2] = { 1, 1 }, p[2] = { 0, 0 }, d[2] = { 1, 1 }, g[2] = { 1, 1 };
    opt_field(L, 6, fn, "stride", 2, s);
    opt_field(L, 6, fn, "padding", 2, p);
    opt_field(L, 6, fn, "dilation", 2, d);
    opt_field(L, 6, fn, "groups", 1, g);
    cnn_tensor **box = push_box(L);
    cnn_tensor *x = check_tensor(L, 1, fn, "input"), *w = check_tensor(L, 2, fn, "weight");
    cnn_tensor *sc = lua_isnil(L, 3) ? NULL : check_tensor(L, 3, fn, "scale");
    cnn_tensor *sh = lua_isnil(L, 4) ? NULL : check_tensor(L, 4, fn, "shift");
    *box = cnn_conv2d_affine(ctx_of(L), x, w, sc, sh, relu, s, p, d, g[0]);
    return push_result(L, box, fn);
}
static int l_conv1d(lua_State *L) { return conv(L, 1); }

/* max_poolNd(x, k, {stride=k, padding=0, dilation=1, ceil_mode=false}) and
 * avg_poolNd(x, k, {stride=k, padding=0, ceil_mode=false, count_include_pad=true}) */
static int pool(lua_State *L, cnn_pool kind, int nd, const char *fn) {
    static const char *const max_keys[] = { "stride", "padding", "dilation", "ceil_mode", NULL };
    static const char *const avg_keys[] = { "stride", "padding", "ceil_mode", "count_include_pad", NULL };
    check_tensor(L, 1, fn, "input");
    int64_t k[2];
    if (lua_isnoneornil(L, 2)) arg_error(L, fn, 2, "kernel_size", "expected %s, got %s",
                                         nd == 2 ? "an integer or a {h,w} pair of integers" : "an integer",
                                         luaL_typename(L, 2));
    lua_pushvalue(L, 2);
    opt_pair(L, fn, 2, "kernel_size", NULL, nd, k);
    lua_pop(L, 1);
    check_options(L, 3, fn, kind == CNN_POOL_MAX ? max_keys : avg_keys);
    int64_t s[2] = { k[0], k[1] }, p[2] = { 0, 0 }, d[2] = { 1, 1 };
    opt_field(L, 3, fn, "stride", nd, s);
    opt_field(L, 3, fn, "padding", nd, p);
    if (kind == CNN_POOL_MAX) opt_field(L, 3, fn, "dilation", nd, d);
    int ceil_mode = opt_bool(L, 3, fn, "ceil_mode", 0);
    int cip = kind == CNN_POOL_AVG ? opt_bool(L, 3, fn, "count_include_pad", 1) : 1;
    cnn_tensor **box = push_box(L);
    cnn_tensor *x = check_tensor(L, 1, fn, "input");   /* last: the options and the box may run finalizers */
    if (kind == CNN_POOL_MAX)
        *box = nd == 2 ? cnn_max_pool2d(ctx_of(L), x, k, s, p, d, ceil_mode)
                       : cnn_max_pool1d(ctx_of(L), x, k[1], s[1], p[1], d[1], ceil_mode);
    else
        *box = nd == 2 ? cnn_avg_pool2d(ctx_of(L), x, k, s, p, ceil_mode, cip)
                       : cnn_avg_pool1d(ctx_of(L), x, k[1], s[1], p[1], ceil_mode, cip);
    return push_result(L, box, fn);
}
static int l_max_pool2d(lua_State *L) { return pool(L, CNN_POOL_MAX, 2, "max_pool2d"); }
static int l_avg_pool2d(lua_State *L) { return pool(L, CNN_POOL_AVG, 2, "avg_pool2d"); }
static int l_max_pool1d(lua_State *L) { return pool(L, CNN_POOL_MAX, 1, "max_pool1d"); }
static int l_avg_pool1d(lua_State *L) { return pool(L, CNN_POOL_AVG, 1, "avg_pool1d"); }

/* adaptive_{avg,max}_pool2d(x, output_size): an integer or a {h, w} pair; the 1d forms: an
 * integer. A 3-D input to a 2d form is one unbatched (C,H,W) image, a 2-D input to a 1d form one
 * (C,L) sequence, as PyTorch. */
static int adaptive(lua_State *L, cnn_pool kind, int nd, const char *fn) {
    check_tensor(L, 1, fn, "input");
    int64_t o[2];
    if (lua_isnoneornil(L, 2))
        arg_error(L, fn, 2, "output_size", "expected %s, got %s",
                  nd == 2 ? "an integer or a {h,w} pair of integers" : "an integer", luaL_typename(L, 2));
    lua_pushvalue(L, 2);
    opt_pair(L, fn, 2, "output_size", NULL, nd, o);
    lua_pop(L, 1);
    cnn_tensor **box = push_box(L);
    cnn_tensor *x = check_tensor(L, 1, fn, "input");   /* last: the box may run finalizers */
    if (kind == CNN_POOL_ADAPTIVE_AVG)
        *box = nd == 2 ? cnn_adaptive_avg_pool2d(ctx_of(L), x, o) : cnn_adaptive_avg_pool1d(ctx_of(L), x, o[1]);
    else
        *box = nd == 2 ? cnn_adaptive_max_pool2d(ctx_of(L), x, o) : cnn_adaptive_max_pool1d(ctx_of(L), x, o[1]);
    return push_result(L, box, fn);
}
static int l_adaptive_avg_pool2d(lua_State *L) { return adaptive(L, CNN_POOL_ADAPTIVE_AVG, 2, "adaptive_avg_pool2d"); }
static int l_adaptive_avg_pool1d(lua_State *L) { return adaptive(L, CNN_POOL_ADAPTIVE_AVG, 1, "adaptive_avg_pool1d"); }
static int l_adaptive_max_pool2d(lua_State *L) { return adaptive(L, CNN_POOL_ADAPTIVE_MAX, 2, "adaptive_max_pool2d"); }
static int l_adaptive_max_pool1d(lua_State *L) { return adaptive(L, CNN_POOL_ADAPTIVE_MAX, 1, "adaptive_max_pool1d"); }

/* cnn._conv_algo([name]): the convolution path, "auto" (per layer), "im2col" (everywhere) or
 * "winograd" (wherever it applies, any size); returns the previous one. Private: for the specs
 * that check each path against another, and for benchmarks. */
static int l_conv_algo(lua_State *L) {
    static const char *const names[] = { "auto", "im2col", "winograd", NULL };
    cnn_ctx *c = ctx_of(L);
    int was = cnn_get_conv_algo(c);
    if (!lua_isnoneornil(L, 1)) {
        if (lua_type(L, 1) != LUA_TSTRING)
            return arg_error(L, "_conv_algo", 1, "name", "expected \"auto\", \"im2col\" or \"winograd\", got %s", luaL_typename(L, 1));
        const char *s = lua_tostring(L, 1);
        int k = 0;
        while (names[k] && strcmp(names[k], s) != 0) k++;
        if (names[k] == NULL)
            return arg_error(L, "_conv_algo", 1, "name", "expected \"auto\", \"im2col\" or \"winograd\", got \"%s\"", s);
        cnn_set_conv_algo(c, k);
    }
    lua_pushstring(L, names[was]);
    return 1;
}

static const luaL_Reg conv_fns[] = {
    { "_conv_algo", l_conv_algo },
    { "conv2d", l_conv2d }, { "conv1d", l_conv1d }, { "_conv2d_affine", l_conv2d_affine },
    { "max_pool2d", l_max_pool2d }, { "avg_pool2d", l_avg_pool2d },
    { "max_pool1d", l_max_pool1d }, { "avg_pool1d", l_avg_pool1d },
    { "adaptive_avg_pool2d", l_adaptive_avg_pool2d }, { "adaptive_avg_pool1d", l_adaptive_avg_pool1d },
    { "adaptive_max_pool2d", l_adaptive_max_pool2d }, { "adaptive_max_pool1d", l_adaptive_max_pool1d },
    { NULL, NULL }
};

void cnn_open_conv(lua_State *L, int ctx, int module, int methods) {
    (void)methods;
    register_fns(L, conv_fns, ctx, module, 0);
}
