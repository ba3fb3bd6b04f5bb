/* lua_tensor.c: the Tensor userdata: construction (cnn.tensor, zeros, ones, full, arange,
 * linspace, eye, rand, randn, randint), inspection, element access and indexing, views, copies
 * and the metamethods (__index, __newindex, __len, __tostring, __gc, __close). Core: tensor.c,
 * op_ewise.c, format.c. Spec: tensor_spec.lua, view_spec.lua. */
#include "lua_util.h"
#include "tensor.h"
#include "autograd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- cnn.tensor(nested table) ---- */

/* shape from the first element at each depth */
static void table_shape(lua_State *L, int idx, cnn_shape *s) {
    s->ndim = 0;
    lua_pushvalue(L, idx);
    while (lua_istable(L, -1) && !is_tensor(L, -1)) {
        if (s->ndim == CNN_MAX_DIM) fn_error(L, "tensor", "argument 1 (data): nested deeper than %d levels", CNN_MAX_DIM);
        lua_Integer n = (lua_Integer)lua_rawlen(L, -1);      /* raw: no metamethod runs */
        s->size[s->ndim++] = n;
        if (n == 0) break;
        lua_rawgeti(L, -1, 1);
        lua_remove(L, -2);
    }
    lua_pop(L, 1);
}

/* the number at idx as an int64 (an integer, or a float holding one in range), else raises */
static int64_t int_value(lua_State *L, int idx, const char *where) {
    int ok;
    lua_Integer v = lua_tointegerx(L, idx, &ok);
    if (ok) return (int64_t)v;
    double d = lua_tonumber(L, idx);
    if (d == floor(d))
        fn_error(L, "tensor", "argument 1 (data): %s at %s is out of the range of int64", lua_tostring(L, idx), where);
    return fn_error(L, "tensor", "argument 1 (data): expected an integer for an int64 tensor at %s, got %s",
                    where, lua_tostring(L, idx));
}

/* fill out[] (doubles) or iout[] (int64, when not NULL) in row-major order, checking every
 * sub-table against the shape */
static void table_fill(lua_State *L, const cnn_shape *s, int depth, double *out, int64_t *iout, int64_t *pos,
                       char *path, size_t pl) {
    int t = lua_gettop(L);
    if (depth == s->ndim) {
        if (lua_type(L, t) != LUA_TNUMBER)
            fn_error(L, "tensor", "argument 1 (data): expected a number at %s, got %s", pl ? path : "[]", type_desc(L, t));
        if (iout) iout[(*pos)++] = int_value(L, t, pl ? path : "[]");
        else out[(*pos)++] = lua_tonumber(L, t);
        return;
    }
    if (!lua_istable(L, t) || is_tensor(L, t))
        fn_error(L, "tensor", "argument 1 (data): expected a table of %lld elements at %s, got %s",
                 (long long)s->size[depth], pl ? path : "the top level", type_desc(L, t));
    lua_Integer n = (lua_Integer)lua_rawlen(L, t);
    if (n != s->size[depth])
        fn_error(L, "tensor", "argument 1 (data): ragged nested table: expected %lld elements at %s, got %lld",
                 (long long)s->size[depth], pl ? path : "the top level", (long long)n);
    for (lua_Integer i = 1; i <= n; i++) {
        size_t k = pl + (size_t)snprintf(path + pl, 256 - pl, "[%lld]", (long long)i);
        if (k > 255) k = 255;
        lua_rawgeti(L, t, i);
        table_fill(L, s, depth + 1, out, iout, pos, path, k);
        lua_pop(L, 1);
        path[pl] = 0;
    }
}

static void set_requires_grad(lua_State *L, cnn_tensor *t, int on, const char *fn) {
    if (on && !cnn_dtype_is_float(t->dtype))
        fn_error(L, fn, "only float32 and float64 tensors can require grad, not %s", cnn_dtype_name(t->dtype));
    if (on && t->node) fn_error(L, fn, "only leaf tensors can be set to require grad (this one comes from '%s')", t->node->op->name);
    t->requires_grad = on;
}

static int l_tensor(lua_State *L) {
    cnn_ctx *c = ctx_of(L);
    cnn_dtype dt;
    int rg;
    check_opts(L, 2, "tensor", &dt, &rg);
    if (lua_type(L, 1) == LUA_TNUMBER) {
        cnn_shape s0 = { 0, {0} };
        int64_t iv = dt == CNN_I64 ? int_value(L, 1, "[]") : 0;
        cnn_tensor **box = push_box(L);
        if (dt == CNN_I64) *box = cnn_from_int64s(c, &s0, dt, &iv);
        else *box = cnn_full(c, &s0, dt, lua_tonumber(L, 1));
        push_result(L, box, "tensor");
        (*box)->requires_grad = rg;
        return 1;
    }
    if (is_tensor(L, 1)) {
        lua_settop(L, 2);                              /* the box goes at 3 */
        check_tensor_any(L, 1, "tensor", "data");
        cnn_tensor **box = push_box(L);                /* may run finalizers: fetch src after it */
        cnn_tensor *src = check_tensor_any(L, 1, "tensor", "data");
        cnn_shape s = cnn_shape_of(src);
        if ((*box = cnn_empty(c, &s, lua_isnoneornil(L, 2) ? src->dtype : dt)) == NULL) return fail(L, "tensor");
        int mode = cnn_set_grad_enabled(c, 0);
        int rc = cnn_copy_(c, *box, src);
        cnn_set_grad_enabled(c, mode);
        if (rc < 0) return fail(L, "tensor");
        (*box)->requires_grad = rg;
        return 1;
    }
    if (!lua_istable(L, 1)) arg_error(L, "tensor", 1, "data", "expected a table of numbers, a number or a tensor, got %s", type_desc(L, 1));
    cnn_shape s;
    table_shape(L, 1, &s);
    if (cnn_shape_check(c, &s) < 0) return fail(L, "tensor");
    int64_t n = cnn_shape_numel(&s);
    /* freed by the GC even if we raise; int64 values are kept exact (beyond 2^53) */
    void *buf = lua_newuserdatauv(L, (size_t)(n ? n : 1) * 8, 0);
    int64_t pos = 0;
    char path[256] = "";
    lua_pushvalue(L, 1);
    table_fill(L, &s, 0, buf, dt == CNN_I64 ? buf : NULL, &pos, path, 0);
    lua_pop(L, 1);
    cnn_tensor **box = push_box(L);
    *box = dt == CNN_I64 ? cnn_from_int64s(c, &s, dt, buf) : cnn_from_doubles(c, &s, dt, buf);
    push_result(L, box, "tensor");
    (*box)->requires_grad = rg;
    return 1;
}

/* zeros/ones/rand/randn share: shape (table or sizes), then dtype or options */
static int make_filled(lua_State *L, const char *fn, int kind, double v) {
    cnn_ctx *c = ctx_of(L);
    cnn_shape s;
    int next;
    check_shape(L, 1, fn, "shape", &s, 0, &next);
    cnn_dtype dt;
    int rg;
    check_opts(L, next, fn, &dt, &rg);
    if (!lua_isnone(L, next + 1)) arg_error(L, fn, next + 1, "options", "unexpected extra argument (%s)", type_desc(L, next + 1));
    cnn_tensor **box = push_box(L);
    switch (kind) {
    case 0: *box = cnn_full(c, &s, dt, v); break;
    case 1: *box = cnn_rand(c, &s, dt); break;
    default: *box = cnn_randn(c, &s, dt); break;
    }
    push_result(L, box, fn);
    (*box)->requires_grad = rg;
    return 1;
}
static int l_zeros(lua_State *L) { return make_filled(L, "zeros", 0, 0.0); }
static int l_ones(lua_State *L) { return make_filled(L, "ones", 0, 1.0); }
static int l_rand(lua_State *L) { return make_filled(L, "rand", 1, 0.0); }
static int l_randn(lua_State *L) { return make_filled(L, "randn", 2, 0.0); }

static int l_full(lua_State *L) {
    cnn_shape s;
    if (!lua_istable(L, 1)) arg_error(L, "full", 1, "shape", "expected a table of sizes, got %s", type_desc(L, 1));
    check_shape(L, 1, "full", "shape", &s, 0, NULL);
    double v = check_num(L, 2, "full", "value");
    cnn_dtype dt;
    int rg;
    check_opts(L, 3, "full", &dt, &rg);
    cnn_tensor **box = push_box(L);
    *box = cnn_full(ctx_of(L), &s, dt, v);
    push_result(L, box, "full");
    (*box)->requires_grad = rg;
    return 1;
}

static int l_arange(lua_State *L) {
    double a = check_num(L, 1, "arange", "start");
    double b, step = 1;
    int o = 3;
    if (lua_type(L, 2) == LUA_TNUMBER) {
        b = lua_tonumber(L, 2);
        if (lua_type(L, 3) == LUA_TNUMBER) { step = lua_tonumber(L, 3); o = 4; }
    } else {
        b = a; a = 0; o = 2;       /* arange(n) = 0..n-1, as PyTorch */
    }
    cnn_dtype dt;
    check_opts(L, o, "arange", &dt, NULL);
    cnn_tensor **box = push_box(L);
    *box = cnn_arange(ctx_of(L), a, b, step, dt);
    return push_result(L, box, "arange");
}

static int l_linspace(lua_State *L) {
    double a = check_num(L, 1, "linspace", "start"), b = check_num(L, 2, "linspace", "end");
    int64_t n = check_int(L, 3, "linspace", "steps");
    if (n < 0) arg_error(L, "linspace", 3, "steps", "expected >= 0, got %lld", (long long)n);
    cnn_dtype dt;
    check_opts(L, 4, "linspace", &dt, NULL);
    cnn_tensor **box = push_box(L);
    *box = cnn_linspace(ctx_of(L), a, b, n, dt);
    return push_result(L, box, "linspace");
}

static int l_eye(lua_State *L) {
    int64_t n = check_int(L, 1, "eye", "n"), m = n;
    int o = 2;
    if (lua_type(L, 2) == LUA_TNUMBER) { m = check_int(L, 2, "eye", "m"); o = 3; }
    if (n < 0) arg_error(L, "eye", 1, "n", "expected >= 0, got %lld", (long long)n);
    if (m < 0) arg_error(L, "eye", 2, "m", "expected >= 0, got %lld", (long long)m);
    cnn_dtype dt;
    check_opts(L, o, "eye", &dt, NULL);
    cnn_tensor **box = push_box(L);
    *box = cnn_eye(ctx_of(L), n, m, dt);
    return push_result(L, box, "eye");
}

static int l_randint(lua_State *L) {
    int64_t lo = check_int(L, 1, "randint", "low"), hi = check_int(L, 2, "randint", "high");
    cnn_shape s;
    int next;
    check_shape(L, 3, "randint", "shape", &s, 0, lua_isnoneornil(L, 3) ? NULL : &next);  /* required */
    cnn_dtype dt;
    check_opts(L, next, "randint", &dt, NULL);
    /* int64 unless a dtype is given, as PyTorch */
    if (lua_isnoneornil(L, next)) dt = CNN_I64;
    else if (lua_istable(L, next)) { if (opt_rawget(L, next, "dtype") == LUA_TNIL) dt = CNN_I64; lua_pop(L, 1); }
    if (hi <= lo) arg_error(L, "randint", 2, "high", "expected high > low, got low %lld and high %lld", (long long)lo, (long long)hi);
    cnn_tensor **box = push_box(L);
    *box = cnn_randint(ctx_of(L), lo, hi, &s, dt);
    return push_result(L, box, "randint");
}

static int l_manual_seed(lua_State *L) {
    int64_t s = check_int(L, 1, "manual_seed", "seed");
    cnn_rng_seed(cnn_ctx_rng(ctx_of(L)), (uint64_t)s);
    return 0;
}

/* the generator state as a 66-char hex string, so checkpoints can carry it */
static int l_get_rng_state(lua_State *L) {
    cnn_rng *r = cnn_ctx_rng(ctx_of(L));
    char buf[128];
    uint64_t spare;
    memcpy(&spare, &r->spare, sizeof spare);
    snprintf(buf, sizeof buf, "%016llx%016llx%016llx%016llx%016llx%d", (unsigned long long)r->s[0],
             (unsigned long long)r->s[1], (unsigned long long)r->s[2], (unsigned long long)r->s[3],
             (unsigned long long)spare, r->has_spare);
    lua_pushstring(L, buf);
    return 1;
}

static int l_set_rng_state(lua_State *L) {
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    uint64_t v[5];
    if (n != 81 || s[80] < '0' || s[80] > '1') arg_error(L, "set_rng_state", 1, "state", "expected a string from cnn.get_rng_state()");
    for (int k = 0; k < 5; k++) {
        char part[17];
        memcpy(part, s + 16 * k, 16);
        part[16] = 0;
        char *end;
        v[k] = strtoull(part, &end, 16);
        if (*end) arg_error(L, "set_rng_state", 1, "state", "expected a string from cnn.get_rng_state()");
    }
    cnn_rng *r = cnn_ctx_rng(ctx_of(L));
    for (int k = 0; k < 4; k++) r->s[k] = v[k];
    memcpy(&r->spare, &v[4], sizeof r->spare);
    r->has_spare = s[80] - '0';
    return 0;
}

/* ---- inspection ---- */

static int l_size(lua_State *L) {
    cnn_tensor *t = check_tensor_any(L, 1, "size", "self");
    if (!lua_isnoneornil(L, 2)) {
        int d = check_dim(L, 2, "size", "dim", t->ndim, 0);
        lua_pushinteger(L, t->size[d]);
        return 1;
    }
    cnn_shape s = cnn_shape_of(t);               /* copied: the table may run a GC step */
    lua_createtable(L, s.ndim, 0);
    for (int i = 0; i < s.ndim; i++) { lua_pushinteger(L, s.size[i]); lua_rawseti(L, -2, i + 1); }
    luaL_setmetatable(L, "cnn.Size");          /* a plain list that prints as [2,3] */
    return 1;
}

/* tostring(t:size()) -> "[2,3]", as shapes appear in error messages */
static int l_size_tostring(lua_State *L) {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addchar(&b, '[');
    lua_Integer n = luaL_len(L, 1);
    for (lua_Integer i = 1; i <= n; i++) {
        if (i > 1) luaL_addchar(&b, ',');
        lua_geti(L, 1, i);
        luaL_tolstring(L, -1, NULL);
        lua_remove(L, -2);                     /* the buffer wants its string right on top */
        luaL_addvalue(&b);
    }
    luaL_addchar(&b, ']');
    luaL_pushresult(&b);
    return 1;
}

static int l_stride(lua_State *L) {
    cnn_tensor *t = check_tensor_any(L, 1, "stride", "self");
    if (!lua_isnoneornil(L, 2)) {
        int d = check_dim(L, 2, "stride", "dim", t->ndim, 0);
        lua_pushinteger(L, t->stride[d]);
        return 1;
    }
    int nd = t->ndim;
    int64_t st[CNN_MAX_DIM];
    memcpy(st, t->stride, sizeof st);            /* copied: the table may run a GC step */
    lua_createtable(L, nd, 0);
    for (int i = 0; i < nd; i++) { lua_pushinteger(L, st[i]); lua_rawseti(L, -2, i + 1); }
    return 1;
}

static int l_dim(lua_State *L) { lua_pushinteger(L, check_tensor_any(L, 1, "dim", "self")->ndim); return 1; }
static int l_numel(lua_State *L) { lua_pushinteger(L, cnn_numel(check_tensor_any(L, 1, "numel", "self"))); return 1; }
static int l_dtype(lua_State *L) { lua_pushstring(L, cnn_dtype_name(check_tensor_any(L, 1, "dtype", "self")->dtype)); return 1; }
static int l_is_contiguous(lua_State *L) { lua_pushboolean(L, cnn_is_contiguous(check_tensor_any(L, 1, "is_contiguous", "self"))); return 1; }
static int l_is_tensor(lua_State *L) { lua_pushboolean(L, is_tensor(L, 1)); return 1; }

/* an element as a Lua number: an integer for int64 (3, not 3.0) */
static void push_elem(lua_State *L, const cnn_tensor *t, const int64_t *idx) {
    if (t->dtype == CNN_I64) lua_pushinteger(L, (lua_Integer)cnn_get_i64(t, idx));
    else lua_pushnumber(L, cnn_get(t, idx));
}

static int l_item(lua_State *L) {
    cnn_tensor *t = check_tensor_any(L, 1, "item", "self");
    if (cnn_numel(t) != 1) {
        char d[256];
        fn_error(L, "item", "expected a tensor with one element, got %s", cnn_tensor_desc(d, sizeof d, t));
    }
    int64_t idx[CNN_MAX_DIM] = {0};
    push_elem(L, t, idx);
    return 1;
}

static void push_nested(lua_State *L, const cnn_tensor *t, int d, int64_t *idx) {
    if (d == t->ndim) { push_elem(L, t, idx); return; }
    lua_createtable(L, (int)t->size[d], 0);
    for (idx[d] = 0; idx[d] < t->size[d]; idx[d]++) {
        push_nested(L, t, d + 1, idx);
        lua_rawseti(L, -2, idx[d] + 1);
    }
}

#define TOTABLE_MAX (INT64_C(1) << 27)        /* 128 M numbers: about 2 GB of Lua tables */

static int l_totable(lua_State *L) {
    cnn_tensor *t = hold_tensor_any(L, 1, "totable", "self");   /* the tables below may run finalizers */
    /* refused up front: an expanded view can have 2^40 elements without owning any memory */
    if (cnn_numel(t) > TOTABLE_MAX) {
        char d[256];
        fn_error(L, "totable", "%s has %lld elements, more than a Lua table should hold (at most %lld)",
                 cnn_tensor_desc(d, sizeof d, t), (long long)cnn_numel(t), (long long)TOTABLE_MAX);
    }
    int64_t idx[CNN_MAX_DIM] = {0};
    luaL_checkstack(L, CNN_MAX_DIM + 4, "cnn.totable");
    push_nested(L, t, 0, idx);
    return 1;
}

static int l_tostring(lua_State *L) {
    cnn_tensor **box = luaL_checkudata(L, 1, CNN_TENSOR_MT);
    if (*box == NULL) { lua_pushstring(L, "[cnn.Tensor (closed)]"); return 1; }
    char *s = cnn_format(ctx_of(L), *box);
    if (s == NULL) return fail(L, "tostring");
    lua_pushstring(L, s);
    free(s);
    return 1;
}

static int l_release(lua_State *L) {        /* both __gc and __close */
    cnn_tensor **box = luaL_checkudata(L, 1, CNN_TENSOR_MT);
    cnn_tensor_release(*box);
    *box = NULL;
    return 0;
}

static int l_len(lua_State *L) {
    cnn_tensor *t = check_tensor_any(L, 1, "len", "self");
    if (t->ndim == 0) fn_error(L, "len", "a 0-d tensor has no length");
    lua_pushinteger(L, t->size[0]);
    return 1;
}

static int l_memory(lua_State *L) {
    cnn_ctx *c = ctx_of(L);
    lua_pushinteger(L, cnn_mem_live(c));
    lua_pushinteger(L, cnn_mem_peak(c));
    lua_pushinteger(L, cnn_mem_cached(c));
    return 3;
}

static int l_reset_peak_memory(lua_State *L) { cnn_mem_reset_peak(ctx_of(L)); return 0; }
static int l_empty_cache(lua_State *L) {
    cnn_ws_free(ctx_of(L));
    cnn_cache_free(ctx_of(L));
    return 0;
}

/* ---- element access ---- */

/* indices from arguments idx..idx+ndim-1, 1-based, negative from the end */
static void check_index(lua_State *L, int idx, const char *fn, const cnn_tensor *t, int64_t *out) {
    for (int d = 0; d < t->ndim; d++) {
        int64_t i = check_int(L, idx + d, fn, "index");
        int64_t n = t->size[d];
        if (i == 0 || i > n || i < -n)
            arg_error(L, fn, idx + d, "index", "index %lld is out of range for dimension %d of size %lld",
                      (long long)i, d + 1, (long long)n);
        out[d] = i > 0 ? i - 1 : n + i;
    }
}

static int l_get(lua_State *L) {
    cnn_tensor *t = check_tensor_any(L, 1, "get", "self");
    int nargs = lua_gettop(L) - 1;
    if (nargs != t->ndim) fn_error(L, "get", "expected %d indices for a %d-D tensor, got %d", t->ndim, t->ndim, nargs);
    int64_t idx[CNN_MAX_DIM];
    check_index(L, 2, "get", t, idx);
    push_elem(L, t, idx);
    return 1;
}

static int l_set(lua_State *L) {
    cnn_tensor *t = check_tensor_any(L, 1, "set", "self");
    int nargs = lua_gettop(L) - 2;
    if (nargs != t->ndim) fn_error(L, "set", "expected %d indices and a value for a %d-D tensor, got %d arguments", t->ndim, t->ndim, nargs + 1);
    int64_t idx[CNN_MAX_DIM];
    check_index(L, 2, "set", t, idx);
    double v = check_num(L, 2 + t->ndim, "set", "value");
    if (cnn_check_inplace(ctx_of(L), t) < 0) return fail(L, "set");
    if (t->dtype == CNN_I64 && lua_isinteger(L, 2 + t->ndim)) cnn_set_i64(t, idx, (int64_t)lua_tointeger(L, 2 + t->ndim));
    else cnn_set(t, idx, v);
    lua_settop(L, 1);
    return 1;
}

/* t[i]: a sub-tensor (a view), or a number for a 1-D tensor */
static int index_int(lua_State *L, cnn_tensor *t, int64_t i) {
    if (t->ndim == 0) fn_error(L, "index", "a 0-d tensor cannot be indexed (use item())");
    int64_t n = t->size[0];
    if (i == 0 || i > n || i < -n) fn_error(L, "index", "index %lld is out of range for dimension 1 of size %lld", (long long)i, (long long)n);
    i = i > 0 ? i - 1 : n + i;
    if (t->ndim == 1) {
        int64_t idx[1] = { i };
        push_elem(L, t, idx);
        return 1;
    }
    cnn_tensor **box = push_box(L);
    t = check_tensor_any(L, 1, "index", "self");           /* again: push_box may run finalizers */
    *box = cnn_select(ctx_of(L), t, 0, i);
    return push_result(L, box, "index");
}

static int l_index(lua_State *L) {
    cnn_tensor **box = luaL_checkudata(L, 1, CNN_TENSOR_MT);
    if (lua_type(L, 2) == LUA_TSTRING) {
        lua_pushvalue(L, 2);
        if (lua_rawget(L, lua_upvalueindex(2)) != LUA_TNIL) return 1;
        const char *k = lua_tostring(L, 2);
        if (*box && strcmp(k, "grad") == 0) {
            if ((*box)->grad == NULL) { lua_pushnil(L); return 1; }
            cnn_tensor **g = push_box(L);
            if (*box == NULL) fn_error(L, "index", "the tensor was closed");   /* by a finalizer in push_box */
            if ((*box)->grad == NULL) { lua_pushnil(L); return 1; }
            cnn_tensor_retain((*box)->grad);
            *g = (*box)->grad;
            return 1;
        }
        lua_pushnil(L);
        return 1;
    }
    if (*box == NULL) fn_error(L, "index", "the tensor was closed");
    int isint;
    lua_Integer i = lua_tointegerx(L, 2, &isint);   /* 3.0 (e.g. from argmax) counts as 3 */
    if (isint && lua_type(L, 2) == LUA_TNUMBER) return index_int(L, *box, i);
    return fn_error(L, "index", "expected an integer index or a method name, got %s", type_desc(L, 2));
}

/* in-place writes are not recorded by autograd: copying a tensor that requires grad would drop
 * its gradient without a word, so it is refused while grad mode is on (as for other in-place ops) */
static void check_untracked_src(lua_State *L, const cnn_tensor *src, const char *fn, int idx, const char *name) {
    if (cnn_grad_enabled(ctx_of(L)) && src->requires_grad)
        arg_error(L, fn, idx, name, "a tensor that requires grad cannot be copied in place (autograd does not "
                  "record it): use src:clone(), cnn.cat/cnn.stack, or cnn.no_grad to copy values only");
}

static int l_newindex(lua_State *L) {
    cnn_tensor *t = check_tensor_any(L, 1, "newindex", "self");
    cnn_ctx *c = ctx_of(L);
    if (lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "grad") == 0) {
        cnn_tensor *g = opt_tensor(L, 3, "newindex", "grad");
        if (g && !cnn_dtype_is_float(t->dtype))
            fn_error(L, "newindex", "an int64 tensor has no gradient (only float32 and float64 tensors do)");
        if (g) {
            cnn_shape a = cnn_shape_of(g), b = cnn_shape_of(t);
            if (!cnn_shape_eq(&a, &b)) {
                char x[256], y[256];
                fn_error(L, "newindex", "the grad has shape %s but the tensor has shape %s",
                         cnn_shape_str(x, sizeof x, a.ndim, a.size), cnn_shape_str(y, sizeof y, b.ndim, b.size));
            }
        }
        cnn_tensor_retain(g);
        cnn_tensor_release(t->grad);
        t->grad = g;
        return 0;
    }
    int isint;
    int64_t i = lua_tointegerx(L, 2, &isint);
    if (!isint || lua_type(L, 2) != LUA_TNUMBER) return fn_error(L, "newindex", "expected an integer index or 'grad', got %s", type_desc(L, 2));
    if (t->ndim == 0) fn_error(L, "newindex", "a 0-d tensor cannot be indexed (use fill_())");
    int64_t n = t->size[0];
    if (i == 0 || i > n || i < -n) fn_error(L, "newindex", "index %lld is out of range for dimension 1 of size %lld", (long long)i, (long long)n);
    i = i > 0 ? i - 1 : n + i;
    int64_t sz[CNN_MAX_DIM], st[CNN_MAX_DIM];
    for (int k = 1; k < t->ndim; k++) { sz[k - 1] = t->size[k]; st[k - 1] = t->stride[k]; }
    cnn_tensor **box = push_box(L);          /* the row view, so that it is freed even if we raise */
    t = check_tensor_any(L, 1, "newindex", "self");
    *box = cnn_make_view(c, t, t->ndim - 1, sz, st, t->offset + i * t->stride[0]);
    if (*box == NULL) return fail(L, "newindex");
    (*box)->requires_grad = t->requires_grad;
    int rc;
    if (lua_type(L, 3) == LUA_TNUMBER) rc = cnn_fill_(c, *box, lua_tonumber(L, 3));
    else if (is_tensor(L, 3)) {
        check_untracked_src(L, check_tensor_any(L, 3, "newindex", "value"), "newindex", 3, "value");
        rc = cnn_copy_(c, *box, check_tensor_any(L, 3, "newindex", "value"));
    }
    else return fn_error(L, "newindex", "expected a number or a tensor to assign, got %s", type_desc(L, 3));
    if (rc < 0) return fail(L, "newindex");
    return 0;
}

/* ---- copies ---- */

/* clone and detach take every dtype (push_map takes float tensors only) */
static int map_any(lua_State *L, const char *fn, cnn_tensor *(*f)(cnn_ctx *, const cnn_tensor *)) {
    check_tensor_any(L, 1, fn, "self");
    cnn_tensor **box = push_box(L);              /* may run finalizers: fetch the tensor after it */
    *box = f(ctx_of(L), check_tensor_any(L, 1, fn, "self"));
    return push_result(L, box, fn);
}

static int l_clone(lua_State *L) { return map_any(L, "clone", cnn_clone); }

static int l_contiguous(lua_State *L) {
    cnn_tensor *t = check_tensor_any(L, 1, "contiguous", "self");
    cnn_tensor **box = push_box(L);
    t = check_tensor_any(L, 1, "contiguous", "self");
    *box = cnn_contiguous(ctx_of(L), t);
    return push_result(L, box, "contiguous");
}

static int l_copy(lua_State *L) {
    cnn_tensor *t = check_tensor_any(L, 1, "copy", "self");
    cnn_tensor *src = check_tensor_any(L, 2, "copy", "src");
    check_untracked_src(L, src, "copy", 2, "src");
    if (cnn_copy_(ctx_of(L), t, src) < 0) return fail(L, "copy");
    lua_settop(L, 1);
    return 1;
}

static int l_to(lua_State *L) {
    cnn_tensor *t = check_tensor_any(L, 1, "to", "self");
    cnn_dtype dt = check_dtype(L, 2, "to", "dtype");
    cnn_tensor **box = push_box(L);
    t = check_tensor_any(L, 1, "to", "self");
    *box = cnn_to(ctx_of(L), t, dt);
    return push_result(L, box, "to");
}

static int to_dtype(lua_State *L, const char *fn, cnn_dtype dt) {
    cnn_tensor *t = check_tensor_any(L, 1, fn, "self");
    cnn_tensor **box = push_box(L);
    t = check_tensor_any(L, 1, fn, "self");
    *box = cnn_to(ctx_of(L), t, dt);
    return push_result(L, box, fn);
}
static int l_float(lua_State *L) { return to_dtype(L, "float", CNN_F32); }
static int l_double(lua_State *L) { return to_dtype(L, "double", CNN_F64); }
static int l_long(lua_State *L) { return to_dtype(L, "long", CNN_I64); }

static int l_fill_(lua_State *L) {
    cnn_tensor *t = check_tensor_any(L, 1, "fill_", "self");
    double v = check_num(L, 2, "fill_", "value");
    if (cnn_fill_(ctx_of(L), t, v) < 0) return fail(L, "fill_");
    lua_settop(L, 1);
    return 1;
}

static int l_zero_(lua_State *L) {
    cnn_tensor *t = check_tensor_any(L, 1, "zero_", "self");
    if (cnn_fill_(ctx_of(L), t, 0.0) < 0) return fail(L, "zero_");
    lua_settop(L, 1);
    return 1;
}

static int l_uniform_(lua_State *L) {
    cnn_tensor *t = check_tensor(L, 1, "uniform_", "self");
    double lo = lua_isnoneornil(L, 2) ? 0.0 : check_num(L, 2, "uniform_", "from");
    double hi = lua_isnoneornil(L, 3) ? 1.0 : check_num(L, 3, "uniform_", "to");
    if (!(lo <= hi)) arg_error(L, "uniform_", 3, "to", "expected from <= to, got %g and %g", lo, hi);
    if (cnn_uniform_(ctx_of(L), t, lo, hi) < 0) return fail(L, "uniform_");
    lua_settop(L, 1);
    return 1;
}

static int l_normal_(lua_State *L) {
    cnn_tensor *t = check_tensor(L, 1, "normal_", "self");
    double m = lua_isnoneornil(L, 2) ? 0.0 : check_num(L, 2, "normal_", "mean");
    double s = lua_isnoneornil(L, 3) ? 1.0 : check_num(L, 3, "normal_", "std");
    if (!(s >= 0)) arg_error(L, "normal_", 3, "std", "expected std >= 0, got %g", s);
    if (cnn_normal_(ctx_of(L), t, m, s) < 0) return fail(L, "normal_");
    lua_settop(L, 1);
    return 1;
}

/* ---- views ---- */

static int l_view(lua_State *L) {
    cnn_tensor *t = check_tensor_any(L, 1, "view", "self");
    cnn_shape s;
    check_shape(L, 2, "view", "shape", &s, 1, NULL);
    cnn_tensor **box = push_box(L);
    t = check_tensor_any(L, 1, "view", "self");
    *box = cnn_view(ctx_of(L), t, &s);
    return push_result(L, box, "view");
}

static int l_reshape(lua_State *L) {
    cnn_tensor *t = check_tensor_any(L, 1, "reshape", "self");
    cnn_shape s;
    check_shape(L, 2, "reshape", "shape", &s, 1, NULL);
    cnn_tensor **box = push_box(L);
    t = check_tensor_any(L, 1, "reshape", "self");
    *box = cnn_reshape(ctx_of(L), t, &s);
    return push_result(L, box, "reshape");
}

static int l_transpose(lua_State *L) {
    cnn_tensor *t = check_tensor_any(L, 1, "transpose", "self");
    int d0 = check_dim(L, 2, "transpose", "dim0", t->ndim, 0);
    int d1 = check_dim(L, 3, "transpose", "dim1", t->ndim, 0);
    cnn_tensor **box = push_box(L);
    t = check_tensor_any(L, 1, "transpose", "self");
    *box = cnn_transpose(ctx_of(L), t, d0, d1);
    return push_result(L, box, "transpose");
}

static int l_t(lua_State *L) {
    cnn_tensor *t = check_tensor_any(L, 1, "t", "self");
    if (t->ndim > 2) {
        char d[256];
        fn_error(L, "t", "expected a tensor of at most 2 dimensions, got %s (use transpose)", cnn_tensor_desc(d, sizeof d, t));
    }
    cnn_tensor **box = push_box(L);
    t = check_tensor_any(L, 1, "t", "self");
    if (t->ndim < 2) { cnn_tensor_retain(t); *box = t; return 1; }
    *box = cnn_transpose(ctx_of(L), t, 0, 1);
    return push_result(L, box, "t");
}

/* permute(d1, d2, ..) or permute({d1, d2, ..}): 1-based dims, negative ones count from the end */
static int l_permute(lua_State *L) {
    cnn_tensor *t = check_tensor_any(L, 1, "permute", "self");
    int tab = lua_istable(L, 2) && !is_tensor(L, 2);
    lua_Unsigned len = tab ? lua_rawlen(L, 2) : (lua_Unsigned)(lua_gettop(L) - 1);   /* raw: no metamethod */
    int n = len > CNN_MAX_DIM ? CNN_MAX_DIM + 1 : (int)len;
    if (n != t->ndim) arg_error(L, "permute", 2, "dims", "expected %d dimensions, got %d", t->ndim, n);
    int perm[CNN_MAX_DIM], seen[CNN_MAX_DIM] = {0};
    for (int i = 0; i < n; i++) {
        int ok;
        if (tab) lua_rawgeti(L, 2, i + 1); else lua_pushvalue(L, i + 2);
        lua_Integer d = lua_tointegerx(L, -1, &ok);
        lua_pop(L, 1);
        if (!ok || d == 0 || d > t->ndim || d < -t->ndim)
            arg_error(L, "permute", 2, "dims", "entry %d: expected a dimension in 1..%d or -%d..-1", i + 1, t->ndim, t->ndim);
        perm[i] = (int)(d > 0 ? d - 1 : t->ndim + d);
        if (seen[perm[i]]++) arg_error(L, "permute", 2, "dims", "the dimensions are not a permutation of 1..%d", t->ndim);
    }
    cnn_tensor **box = push_box(L);
    t = check_tensor_any(L, 1, "permute", "self");
    *box = cnn_permute(ctx_of(L), t, perm);
    return push_result(L, box, "permute");
}

static int l_narrow(lua_State *L) {
    cnn_tensor *t = check_tensor_any(L, 1, "narrow", "self");
    int d = check_dim(L, 2, "narrow", "dim", t->ndim, 0);
    int64_t start = check_int(L, 3, "narrow", "start"), len = check_int(L, 4, "narrow", "length");
    if (start < 1 || start > t->size[d] + 1) arg_error(L, "narrow", 3, "start", "expected 1..%lld, got %lld", (long long)t->size[d] + 1, (long long)start);
    if (len < 0 || len > t->size[d] - (start - 1))      /* not start - 1 + len: it may overflow */
        arg_error(L, "narrow", 4, "length", "start %lld + length %lld exceeds size %lld of dimension %d", (long long)start, (long long)len, (long long)t->size[d], d + 1);
    cnn_tensor **box = push_box(L);
    t = check_tensor_any(L, 1, "narrow", "self");
    *box = cnn_narrow(ctx_of(L), t, d, start - 1, len);
    return push_result(L, box, "narrow");
}

static int l_select(lua_State *L) {
    cnn_tensor *t = check_tensor_any(L, 1, "select", "self");
    int d = check_dim(L, 2, "select", "dim", t->ndim, 0);
    int64_t i = check_int(L, 3, "select", "index"), n = t->size[d];
    if (i == 0 || i > n || i < -n) arg_error(L, "select", 3, "index", "index %lld is out of range for dimension %d of size %lld", (long long)i, d + 1, (long long)n);
    cnn_tensor **box = push_box(L);
    t = check_tensor_any(L, 1, "select", "self");
    *box = cnn_select(ctx_of(L), t, d, i > 0 ? i - 1 : n + i);
    return push_result(L, box, "select");
}

static int l_squeeze(lua_State *L) {
    cnn_tensor *t = check_tensor_any(L, 1, "squeeze", "self");
    int d = lua_isnoneornil(L, 2) ? -1 : check_dim(L, 2, "squeeze", "dim", t->ndim, 0);
    cnn_tensor **box = push_box(L);
    t = check_tensor_any(L, 1, "squeeze", "self");
    *box = cnn_squeeze(ctx_of(L), t, d);
    return push_result(L, box, "squeeze");
}

static int l_unsqueeze(lua_State *L) {
    cnn_tensor *t = check_tensor_any(L, 1, "unsqueeze", "self");
    int d = check_dim(L, 2, "unsqueeze", "dim", t->ndim, 1);
    cnn_tensor **box = push_box(L);
    t = check_tensor_any(L, 1, "unsqueeze", "self");
    *box = cnn_unsqueeze(ctx_of(L), t, d);
    return push_result(L, box, "unsqueeze");
}

static int l_expand(lua_State *L) {
    cnn_tensor *t = check_tensor_any(L, 1, "expand", "self");
    cnn_shape s;
    if (is_tensor(L, 2)) s = cnn_shape_of(check_tensor_any(L, 2, "expand", "other"));
    else check_shape(L, 2, "expand", "shape", &s, 1, NULL);
    cnn_tensor **box = push_box(L);
    t = check_tensor_any(L, 1, "expand", "self");
    *box = cnn_expand(ctx_of(L), t, &s);
    return push_result(L, box, "expand");
}

static int l_flatten(lua_State *L) {
    cnn_tensor *t = check_tensor_any(L, 1, "flatten", "self");
    int nd = t->ndim ? t->ndim : 1;
    int d0 = lua_isnoneornil(L, 2) ? 0 : check_dim(L, 2, "flatten", "start_dim", nd, 0);
    int d1 = lua_isnoneornil(L, 3) ? nd - 1 : check_dim(L, 3, "flatten", "end_dim", nd, 0);
    if (d1 < d0) fn_error(L, "flatten", "start_dim %d comes after end_dim %d", d0 + 1, d1 + 1);
    cnn_tensor **box = push_box(L);
    t = check_tensor_any(L, 1, "flatten", "self");
    *box = cnn_flatten(ctx_of(L), t, d0, d1);
    return push_result(L, box, "flatten");
}

/* split(size or {sizes}, dim) and chunk(n, dim): lists of narrow views, at most PIECES_MAX */
#define PIECES_MAX (1 << 24)
static int push_pieces(lua_State *L, const char *fn, cnn_tensor *t, int d, const int64_t *len, int n) {
    lua_createtable(L, n, 0);
    int64_t start = 0;
    for (int i = 0; i < n; i++) {
        cnn_tensor **box = push_box(L);
        *box = cnn_narrow(ctx_of(L), t, d, start, len[i]);
        push_result(L, box, fn);
        lua_rawseti(L, -2, i + 1);
        start += len[i];
    }
    return 1;
}

static int l_split(lua_State *L) {
    lua_settop(L, 3);                                        /* the hold box goes at 4 */
    cnn_tensor *t = hold_tensor_any(L, 1, "split", "self");     /* the pieces' boxes may run finalizers */
    int d = lua_isnoneornil(L, 3) ? 0 : check_dim(L, 3, "split", "dim", t->ndim, 0);
    if (t->ndim == 0) fn_error(L, "split", "a 0-d tensor cannot be split");
    int64_t total = t->size[d];
    if (lua_istable(L, 2)) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, 2), sum = 0;     /* raw: no metamethod runs */
        int over = 0;
        if (n > PIECES_MAX) arg_error(L, "split", 2, "sizes", "expected at most %d sizes, got %lld", PIECES_MAX, (long long)n);
        int64_t *len = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *len, 0);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, 2, i);
            int ok;
            lua_Integer v = lua_tointegerx(L, -1, &ok);
            if (!ok || v < 0) arg_error(L, "split", 2, "sizes", "size %lld must be an integer >= 0", (long long)i);
            lua_pop(L, 1);
            len[i - 1] = v;
            if (v > INT64_MAX - sum) over = 1; else sum += v;      /* no signed overflow */
        }
        if (over || sum != total) arg_error(L, "split", 2, "sizes", "the sizes add up to %s%lld, but dimension %d has size %lld", over ? "more than " : "", (long long)(over ? total : sum), d + 1, (long long)total);
        return push_pieces(L, "split", t, d, len, (int)n);
    }
    int64_t sz = check_int(L, 2, "split", "size");
    if (sz <= 0) arg_error(L, "split", 2, "size", "expected a size > 0, got %lld", (long long)sz);
    int64_t n = total == 0 ? 1 : total / sz + (total % sz != 0);
    if (n > PIECES_MAX)
        arg_error(L, "split", 2, "size", "%lld pieces of dimension %d (size %lld) are more than %d", (long long)n, d + 1,
                  (long long)total, PIECES_MAX);
    int64_t *len = lua_newuserdatauv(L, (size_t)n * sizeof *len, 0);
    for (int64_t i = 0; i < n; i++) len[i] = (i + 1) * sz <= total ? sz : total - i * sz;
    return push_pieces(L, "split", t, d, len, (int)n);
}

static int l_chunk(lua_State *L) {
    lua_settop(L, 3);                                        /* the hold box goes at 4 */
    cnn_tensor *t = hold_tensor_any(L, 1, "chunk", "self");     /* the pieces' boxes may run finalizers */
    int64_t k = check_int(L, 2, "chunk", "chunks");
    if (k <= 0) arg_error(L, "chunk", 2, "chunks", "expected a number of chunks > 0, got %lld", (long long)k);
    int d = lua_isnoneornil(L, 3) ? 0 : check_dim(L, 3, "chunk", "dim", t->ndim, 0);
    if (t->ndim == 0) fn_error(L, "chunk", "a 0-d tensor cannot be split");
    int64_t total = t->size[d], sz = total / k + (total % k != 0);   /* ceil without overflow */
    if (sz == 0) sz = 1;
    int64_t n = total == 0 ? 1 : total / sz + (total % sz != 0);
    if (n > PIECES_MAX)
        arg_error(L, "chunk", 2, "chunks", "%lld chunks of dimension %d are more than %d", (long long)n, d + 1, PIECES_MAX);
    int64_t *len = lua_newuserdatauv(L, (size_t)n * sizeof *len, 0);
    for (int64_t i = 0; i < n; i++) len[i] = (i + 1) * sz <= total ? sz : total - i * sz;
    return push_pieces(L, "chunk", t, d, len, (int)n);
}

static int l_detach(lua_State *L) { return map_any(L, "detach", cnn_detach); }

static int l_requires_grad(lua_State *L) {
    cnn_tensor *t = check_tensor_any(L, 1, "requires_grad", "self");
    if (lua_isnone(L, 2)) { lua_pushboolean(L, t->requires_grad); return 1; }
    set_requires_grad(L, t, lua_toboolean(L, 2), "requires_grad");
    lua_settop(L, 1);
    return 1;
}

static const luaL_Reg module_fns[] = {
    { "tensor", l_tensor }, { "zeros", l_zeros }, { "ones", l_ones }, { "full", l_full },
    { "arange", l_arange }, { "linspace", l_linspace }, { "eye", l_eye }, { "rand", l_rand },
    { "randn", l_randn }, { "randint", l_randint }, { "manual_seed", l_manual_seed },
    { "get_rng_state", l_get_rng_state }, { "set_rng_state", l_set_rng_state },
    { "memory", l_memory }, { "reset_peak_memory", l_reset_peak_memory }, { "empty_cache", l_empty_cache },
    { "is_tensor", l_is_tensor }, { NULL, NULL }
};

/* both cnn.f(t, ...) and t:f(...) */
static const luaL_Reg shared_fns[] = {
    { "size", l_size }, { "stride", l_stride }, { "dim", l_dim }, { "numel", l_numel }, { "dtype", l_dtype },
    { "is_contiguous", l_is_contiguous }, { "item", l_item }, { "totable", l_totable },
    { "get", l_get }, { "set", l_set }, { "clone", l_clone }, { "contiguous", l_contiguous },
    { "copy", l_copy }, { "copy_", l_copy }, { "to", l_to }, { "float", l_float }, { "double", l_double }, { "long", l_long },
    { "fill_", l_fill_ }, { "zero_", l_zero_ }, { "uniform_", l_uniform_ }, { "normal_", l_normal_ },
    { "view", l_view }, { "reshape", l_reshape }, { "transpose", l_transpose }, { "t", l_t },
    { "permute", l_permute }, { "narrow", l_narrow }, { "select", l_select }, { "squeeze", l_squeeze },
    { "unsqueeze", l_unsqueeze }, { "expand", l_expand }, { "flatten", l_flatten }, { "split", l_split },
    { "chunk", l_chunk }, { "detach", l_detach }, { "requires_grad", l_requires_grad },
    { NULL, NULL }
};

static const luaL_Reg meta_fns[] = {
    { "__tostring", l_tostring }, { "__gc", l_release }, { "__close", l_release }, { "__len", l_len },
    { "__newindex", l_newindex }, { NULL, NULL }
};

void cnn_open_tensor(lua_State *L, int ctx, int module, int methods) {
    luaL_newmetatable(L, "cnn.Size");
    lua_pushcfunction(L, l_size_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushstring(L, "cnn.Size");
    lua_setfield(L, -2, "__name");
    lua_pop(L, 1);
    register_fns(L, module_fns, ctx, module, 0);
    register_fns(L, shared_fns, ctx, module, methods);
    luaL_getmetatable(L, CNN_TENSOR_MT);
    int mt = lua_gettop(L);
    register_fns(L, meta_fns, ctx, mt, 0);
    lua_pushvalue(L, ctx);
    lua_pushvalue(L, methods);
    lua_pushcclosure(L, l_index, 2);
    lua_setfield(L, mt, "__index");
    lua_pushstring(L, "cnn.Tensor");
    lua_setfield(L, mt, "__name");
    lua_pop(L, 1);
}
