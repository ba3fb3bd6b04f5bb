/* lua_sort.c: bindings of sorting and gathering (op_sort.c): sort, argsort, topk, gather,
 * scatter_add(_), cumsum, cumprod, flip, roll, unique, nonzero, searchsorted, each both cnn.f(t, ...)
 * and t:f(...) (searchsorted: cnn.searchsorted only). Lua's 1-based dims and indices in and out;
 * the core is 0-based. Spec: sort_spec.lua. */
#include "lua_util.h"

#include <string.h>

/* a dimension at idx for t of ndim dims; a 0-d tensor takes 1 or -1, as PyTorch takes 0 or -1 */
static int dim_arg(lua_State *L, int idx, const char *fn, int ndim) {
    return check_dim(L, idx, fn, "dim", ndim, ndim == 0);
}

/* options[key] as a boolean (def when absent); options are at idx (already checked) */
static int opt_bool(lua_State *L, int idx, const char *fn, const char *key, int def) {
    int t = opt_rawget(L, idx, key);
    if (t != LUA_TNIL && t != LUA_TBOOLEAN)
        arg_error(L, fn, idx, "options", "%s must be a boolean, got %s", key, type_desc(L, -1));
    int v = t == LUA_TNIL ? def : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* fresh 0-based int64 indices (contiguous, owned by the caller's box only) made 1-based */
static void one_based(cnn_tensor *t) {
    int64_t *p = cnn_data(t), n = cnn_numel(t);
    for (int64_t k = 0; k < n; k++) p[k]++;
}

/* the indices a sort or topk returns: 1-based; a copy when the values' node saved the 0-based ones */
static int indices_out(lua_State *L, cnn_tensor **ibox, const cnn_tensor *values, const char *fn) {
    if (values->node) {
        cnn_tensor *k = cnn_clone(ctx_of(L), *ibox);
        cnn_tensor_release(*ibox);
        if ((*ibox = k) == NULL) return fail(L, fn);
    }
    one_based(*ibox);
    return 0;
}

/* [dim] [options] from idx on: a number is the dim (default -1), a table the options */
static int dim_then_options(lua_State *L, int idx, const char *fn, int ndim, int *d) {
    *d = ndim ? ndim - 1 : 0;
    if (lua_type(L, idx) == LUA_TTABLE && !is_tensor(L, idx)) return idx;
    if (!lua_isnoneornil(L, idx)) *d = dim_arg(L, idx, fn, ndim);
    return idx + 1;
}

/* sort(t [, dim=-1] [, {descending=false, stable=}]) -> values, indices; argsort -> indices */
static int sort_or_argsort(lua_State *L, const char *fn, int arg) {
    static const char *const known[] = { "descending", "stable", NULL };
    int d, oi = dim_then_options(L, 2, fn, check_tensor_any(L, 1, fn, "input")->ndim, &d);
    int desc = 0;
    if (check_options(L, oi, fn, known)) {
        desc = opt_bool(L, oi, fn, "descending", 0);
        opt_bool(L, oi, fn, "stable", 1);       /* checked only: the sort is always stable */
    }
    lua_settop(L, 1);
    cnn_tensor **v = push_box(L), **i = push_box(L);
    cnn_tensor *x = check_tensor_any(L, 1, fn, "input");
    if (cnn_sort(ctx_of(L), x, d, desc, v, i) < 0) return fail(L, fn);
    indices_out(L, i, *v, fn);
    if (arg) { push_result(L, i, fn); return 1; }
    push_result(L, i, fn);
    return 2;
}
static int l_sort(lua_State *L) { return sort_or_argsort(L, "sort", 0); }
static int l_argsort(lua_State *L) { return sort_or_argsort(L, "argsort", 1); }

/* topk(t, k [, dim=-1] [, {largest=true, sorted=true}]) -> values, indices */
static int l_topk(lua_State *L) {
    static const char *const known[] = { "largest", "sorted", NULL };
    const char *fn = "topk";
    int ndim = check_tensor_any(L, 1, fn, "input")->ndim;
    int64_t k = check_int(L, 2, fn, "k");
    int d, oi = dim_then_options(L, 3, fn, ndim, &d), largest = 1;
    if (check_options(L, oi, fn, known)) {
        largest = opt_bool(L, oi, fn, "largest", 1);
        opt_bool(L, oi, fn, "sorted", 1);       /* checked only: the k are always in sorted order */
    }
    cnn_tensor *x = check_tensor_any(L, 1, fn, "input");
    int64_t n = ndim ? x->size[d] : 1;
    if (k < 0 || k > n)
        arg_error(L, fn, 2, "k", "expected 0..%lld (the size of dimension %d), got %lld", (long long)n, d + 1, (long long)k);
    lua_settop(L, 1);
    cnn_tensor **v = push_box(L), **i = push_box(L);
    x = check_tensor_any(L, 1, fn, "input");
    if (cnn_topk(ctx_of(L), x, k, d, largest, v, i) < 0) return fail(L, fn);
    indices_out(L, i, *v, fn);
    push_result(L, i, fn);
    return 2;
}

/* the core's message about argument index or src (gather, scatter_add) as that argument's error */
static int index_fail(lua_State *L, const char *fn, int src_arg) {
    const char *m = cnn_errmsg(ctx_of(L));
    if (strncmp(m, "index", 5) == 0) return arg_error(L, fn, 3, "index", "%s", m);
    if (src_arg && strncmp(m, "src", 3) == 0) return arg_error(L, fn, src_arg, "src", "%s", m);
    return fail(L, fn);
}

/* the index at 3 (int64, or floats holding integers; 1-based) into a new box as 0-based int64 */
static cnn_tensor **index_arg(lua_State *L, const char *fn) {
    check_tensor_any(L, 3, fn, "index");
    cnn_tensor **ib = push_box(L);
    *ib = cnn_index_tensor(ctx_of(L), check_tensor_any(L, 3, fn, "index"), 1);
    if (*ib == NULL) arg_error(L, fn, 3, "index", "%s", cnn_errmsg(ctx_of(L)));
    return ib;
}

/* gather(t, dim, index) */
static int l_gather(lua_State *L) {
    const char *fn = "gather";
    int d = dim_arg(L, 2, fn, check_tensor_any(L, 1, fn, "input")->ndim);
    lua_settop(L, 3);
    cnn_tensor **ib = index_arg(L, fn);
    cnn_tensor **box = push_box(L);
    *box = cnn_gather(ctx_of(L), check_tensor_any(L, 1, fn, "input"), d, *ib);
    if (*box == NULL) return index_fail(L, fn, 0);
    return push_result(L, box, fn);
}

/* scatter_add_(t, dim, index, src) -> t; scatter_add(...) -> a new tensor */
static int scatter(lua_State *L, const char *fn, int inplace) {
    int d = dim_arg(L, 2, fn, check_tensor_any(L, 1, fn, "input")->ndim);
    check_tensor_any(L, 4, fn, "src");
    lua_settop(L, 4);
    cnn_tensor **ib = index_arg(L, fn);
    cnn_ctx *c = ctx_of(L);
    if (inplace) {
        cnn_tensor *self = check_tensor_any(L, 1, fn, "input"), *src = check_tensor_any(L, 4, fn, "src");
        if (cnn_scatter_add_(c, self, d, *ib, src) < 0) return index_fail(L, fn, 4);
        lua_pushvalue(L, 1);
        return 1;
    }
    cnn_tensor **box = push_box(L);
    *box = cnn_scatter_add(c, check_tensor_any(L, 1, fn, "input"), d, *ib, check_tensor_any(L, 4, fn, "src"));
    if (*box == NULL) return index_fail(L, fn, 4);
    return push_result(L, box, fn);
}
static int l_scatter_add_(lua_State *L) { return scatter(L, "scatter_add_", 1); }
static int l_scatter_add(lua_State *L) { return scatter(L, "scatter_add", 0); }

/* cumsum(t, dim), cumprod(t, dim) */
static int cum(lua_State *L, const char *fn, int prod) {
    int d = dim_arg(L, 2, fn, check_tensor_any(L, 1, fn, "input")->ndim);
    cnn_tensor **box = push_box(L);
    *box = cnn_cum(ctx_of(L), check_tensor_any(L, 1, fn, "input"), d, prod);
    return push_result(L, box, fn);
}
static int l_cumsum(lua_State *L) { return cum(L, "cumsum", 0); }
static int l_cumprod(lua_State *L) { return cum(L, "cumprod", 1); }

/* a list of n values at idx: a table (read raw), or the arguments from idx on (table = 0); integers */
static int int_list(lua_State *L, int idx, const char *fn, const char *name, int64_t *out, int max, int from_args) {
    int tab = lua_type(L, idx) == LUA_TTABLE && !is_tensor(L, idx);
    lua_Unsigned len = tab ? lua_rawlen(L, idx) : from_args ? (lua_Unsigned)(lua_gettop(L) - idx + 1) : 1;
    if (len > (lua_Unsigned)max) arg_error(L, fn, idx, name, "expected at most %d entries, got %llu", max, (unsigned long long)len);
    for (int i = 0; i < (int)len; i++) {
        int ok;
        if (tab) lua_rawgeti(L, idx, i + 1); else lua_pushvalue(L, idx + i);
        lua_Integer v = lua_tointegerx(L, -1, &ok);
        if (!ok) {
            const char *got = lua_type(L, -1) == LUA_TNUMBER ? lua_tostring(L, -1) : type_desc(L, -1);
            if (tab) arg_error(L, fn, idx, name, "entry %d: expected an integer, got %s", i + 1, got);
            arg_error(L, fn, idx + i, name, "expected an integer or a table of them, got %s", got);
        }
        lua_pop(L, 1);
        out[i] = (int64_t)v;
    }
    return (int)len;
}

/* 1-based dims (negative from the end) of a tensor of ndim dims -> 0-based; raises naming entry i */
static void dims_0based(lua_State *L, int idx, const char *fn, const char *name, int ndim, const int64_t *in, int *out, int n) {
    int64_t m = ndim ? ndim : 1;
    for (int i = 0; i < n; i++) {
        if (in[i] == 0 || in[i] > m || in[i] < -m)
            arg_error(L, fn, idx, name, "dimension %lld is out of range (expected 1..%lld or -%lld..-1)",
                      (long long)in[i], (long long)m, (long long)m);
        out[i] = (int)(in[i] > 0 ? in[i] - 1 : m + in[i]);
    }
}

/* flip(t, dims): dims a number, a table, or several numbers */
static int l_flip(lua_State *L) {
    const char *fn = "flip";
    int ndim = check_tensor_any(L, 1, fn, "input")->ndim;
    if (lua_isnoneornil(L, 2)) arg_error(L, fn, 2, "dims", "expected a dimension or a table of them, got %s", type_desc(L, 2));
    int64_t raw[CNN_MAX_DIM + 1];
    int dims[CNN_MAX_DIM + 1];
    int n = int_list(L, 2, fn, "dims", raw, CNN_MAX_DIM, 1);
    dims_0based(L, 2, fn, "dims", ndim, raw, dims, n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (dims[i] == dims[j]) arg_error(L, fn, 2, "dims", "dimension %d appears more than once", dims[i] + 1);
    cnn_tensor **box = push_box(L);
    *box = cnn_flip(ctx_of(L), check_tensor_any(L, 1, fn, "input"), dims, n);
    return push_result(L, box, fn);
}

/* roll(t, shifts [, dims]): shifts and dims numbers or tables of one length; no dims: the
 * flattened tensor rolls and keeps its shape */
static int l_roll(lua_State *L) {
    const char *fn = "roll";
    int ndim = check_tensor_any(L, 1, fn, "input")->ndim;
    int64_t shifts[CNN_MAX_DIM + 1], raw[CNN_MAX_DIM + 1];
    int dims[CNN_MAX_DIM + 1];
    if (lua_isnoneornil(L, 2)) arg_error(L, fn, 2, "shifts", "expected an integer or a table of them, got %s", type_desc(L, 2));
    int n = int_list(L, 2, fn, "shifts", shifts, CNN_MAX_DIM, 0);
    cnn_ctx *c = ctx_of(L);
    if (lua_isnoneornil(L, 3)) {
        if (n != 1) arg_error(L, fn, 2, "shifts", "expected one shift when no dims are given (the flattened tensor rolls), got %d", n);
        lua_settop(L, 1);
        cnn_tensor **flat = push_box(L), **r = push_box(L), **box = push_box(L);
        cnn_tensor *x = check_tensor_any(L, 1, fn, "input");
        cnn_shape s1 = { 1, { cnn_numel(x) } }, sx = cnn_shape_of(x);
        int d0 = 0;
        if ((*flat = cnn_reshape(c, x, &s1)) == NULL || (*r = cnn_roll(c, *flat, shifts, &d0, 1)) == NULL ||
            (*box = cnn_view(c, *r, &sx)) == NULL)
            return fail(L, fn);
        return push_result(L, box, fn);
    }
    int m = int_list(L, 3, fn, "dims", raw, CNN_MAX_DIM, 0);
    if (m != n) arg_error(L, fn, 3, "dims", "expected as many dims as shifts (%d), got %d", n, m);
    dims_0based(L, 3, fn, "dims", ndim, raw, dims, m);
    lua_settop(L, 1);
    cnn_tensor **box = push_box(L);
    *box = cnn_roll(c, check_tensor_any(L, 1, fn, "input"), shifts, dims, n);
    return push_result(L, box, fn);
}

/* unique(t [, {sorted=true, return_inverse=false, return_counts=false}]) -> values [, inverse] [, counts] */
static int l_unique(lua_State *L) {
    static const char *const known[] = { "sorted", "return_inverse", "return_counts", "dim", NULL };
    const char *fn = "unique";
    check_tensor_any(L, 1, fn, "input");
    int inv = 0, cnt = 0;
    if (check_options(L, 2, fn, known)) {
        opt_bool(L, 2, fn, "sorted", 1);        /* checked only: the values are always sorted */
        inv = opt_bool(L, 2, fn, "return_inverse", 0);
        cnt = opt_bool(L, 2, fn, "return_counts", 0);
        if (opt_rawget(L, 2, "dim") != LUA_TNIL)
            arg_error(L, fn, 2, "options", "dim is not supported: unique works on the flattened tensor only");
        lua_pop(L, 1);
    }
    lua_settop(L, 1);
    cnn_tensor **v = push_box(L), **i = push_box(L), **k = push_box(L);
    if (cnn_unique(ctx_of(L), check_tensor_any(L, 1, fn, "input"), v, i, k) < 0) return fail(L, fn);
    one_based(*i);
    push_result(L, v, fn);
    if (!inv) lua_remove(L, -2);       /* the stack is v, i, k: keep what was asked for */
    if (!cnt) lua_pop(L, 1);
    return 1 + inv + cnt;
}

/* nonzero(t) -> int64 (n, ndim), 1-based */
static int l_nonzero(lua_State *L) {
    const char *fn = "nonzero";
    check_tensor_any(L, 1, fn, "input");
    cnn_tensor **box = push_box(L);
    *box = cnn_nonzero(ctx_of(L), check_tensor_any(L, 1, fn, "input"));
    if (*box == NULL) return fail(L, fn);
    one_based(*box);
    return push_result(L, box, fn);
}

/* searchsorted(sorted_sequence, values [, {right=false}]) -> int64 insertion positions, 1-based
 * (PyTorch's + 1); values a tensor or a number */
static int l_searchsorted(lua_State *L) {
    static const char *const known[] = { "right", NULL };
    const char *fn = "searchsorted";
    check_tensor_any(L, 1, fn, "sorted_sequence");
    int num = lua_type(L, 2) == LUA_TNUMBER;
    if (!num) check_tensor_any(L, 2, fn, "values");
    int right = 0;
    if (check_options(L, 3, fn, known)) right = opt_bool(L, 3, fn, "right", 0);
    lua_settop(L, 2);
    cnn_ctx *c = ctx_of(L);
    cnn_tensor **vb = NULL;
    if (num) {
        vb = push_box(L);
        cnn_shape s0 = { 0, { 0 } };
        int64_t iv;
        if (lua_isinteger(L, 2)) { iv = (int64_t)lua_tointeger(L, 2); *vb = cnn_from_int64s(c, &s0, CNN_I64, &iv); }
        else { double dv = lua_tonumber(L, 2); *vb = cnn_from_doubles(c, &s0, CNN_F64, &dv); }
        if (*vb == NULL) return fail(L, fn);
    }
    cnn_tensor **box = push_box(L);
    cnn_tensor *seq = check_tensor_any(L, 1, fn, "sorted_sequence");
    cnn_tensor *vals = num ? *vb : check_tensor_any(L, 2, fn, "values");
    if (num && seq->dtype != CNN_I64 && vals->dtype == CNN_I64) {   /* an integer against floats */
        double dv = (double)lua_tointeger(L, 2);
        cnn_shape s0 = { 0, { 0 } };
        cnn_tensor *f = cnn_from_doubles(c, &s0, seq->dtype, &dv);
        if (f == NULL) return fail(L, fn);
        cnn_tensor_release(*vb);
        *vb = vals = f;
    }
    *box = cnn_searchsorted(c, seq, vals, right);
    if (*box == NULL) return fail(L, fn);
    one_based(*box);
    return push_result(L, box, fn);
}

static const luaL_Reg both[] = {
    { "sort", l_sort },       { "argsort", l_argsort },           { "topk", l_topk },
    { "gather", l_gather },   { "scatter_add_", l_scatter_add_ }, { "scatter_add", l_scatter_add },
    { "cumsum", l_cumsum },   { "cumprod", l_cumprod },           { "flip", l_flip },
    { "roll", l_roll },       { "unique", l_unique },             { "nonzero", l_nonzero },
    { NULL, NULL }
};
static const luaL_Reg module_only[] = { { "searchsorted", l_searchsorted }, { NULL, NULL } };

void cnn_open_sort(lua_State *L, int ctx, int module, int methods) {
    register_fns(L, both, ctx, module, methods);
    register_fns(L, module_only, ctx, module, 0);
}
