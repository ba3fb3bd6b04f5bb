/* lua_ops.c: bindings of the math: arithmetic (also as metamethods, with numbers on either
 * side), unary functions, comparisons, clamp, where, masked_fill, in-place forms, reductions,
 * matmul, cat, stack, index_select. Core: op_ewise.c, op_reduce.c, op_matmul.c, op_index.c.
 * Specs: ewise_spec.lua, reduce_spec.lua, matmul_spec.lua, index_spec.lua. */
#include "lua_util.h"
#include "tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* tensor op tensor, tensor op number, number op tensor */
static int binary(lua_State *L, cnn_binop op) {
    const char *fn = cnn_binop_name(op);
    cnn_ctx *c = ctx_of(L);
    int ta = is_tensor(L, 1), tb = is_tensor(L, 2);
    if (!ta && !tb) {
        if (lua_type(L, 1) != LUA_TNUMBER) check_tensor(L, 1, fn, "input");
        check_tensor(L, 2, fn, "other");
    }
    if (ta && !tb && lua_type(L, 2) != LUA_TNUMBER)
        arg_error(L, fn, 2, "other", "expected a tensor or a number, got %s", type_desc(L, 2));
    if (tb && !ta && lua_type(L, 1) != LUA_TNUMBER)
        arg_error(L, fn, 1, "input", "expected a tensor or a number, got %s", type_desc(L, 1));
    cnn_tensor **box = push_box(L);             /* may run finalizers: fetch the tensors after it */
    cnn_tensor *a = ta ? check_tensor_any(L, 1, fn, "input") : NULL;
    cnn_tensor *b = tb ? check_tensor_any(L, 2, fn, "other") : NULL;
    cnn_tensor *t = a ? a : b;
    if (!(a && b) && t->dtype == CNN_I64) {
        /* int64 with a number, as PyTorch: an integer keeps int64, a float gives float32 */
        int sn = a ? 2 : 1;
        cnn_shape s0 = { 0, { 0 } };
        int64_t iv = lua_isinteger(L, sn) ? (int64_t)lua_tointeger(L, sn) : 0;
        cnn_tensor **k = push_box(L);
        *k = lua_isinteger(L, sn) ? cnn_from_int64s(c, &s0, CNN_I64, &iv) : cnn_full(c, &s0, CNN_F32, lua_tonumber(L, sn));
        if (*k == NULL) return fail(L, fn);
        a = ta ? check_tensor_any(L, 1, fn, "input") : NULL;   /* again: push_box may run finalizers */
        b = tb ? check_tensor_any(L, 2, fn, "other") : NULL;
        *box = a ? cnn_binary(c, op, a, *k) : cnn_binary(c, op, *k, b);
        lua_pop(L, 1);
        return push_result(L, box, fn);
    }
    if (a && b) *box = cnn_binary(c, op, a, b);
    else if (a) *box = cnn_binary_scalar(c, op, a, lua_tonumber(L, 2), 0);
    else *box = cnn_binary_scalar(c, op, b, lua_tonumber(L, 1), 1);
    return push_result(L, box, fn);
}
static int l_add(lua_State *L) { return binary(L, CNN_ADD); }
static int l_sub(lua_State *L) { return binary(L, CNN_SUB); }
static int l_mul(lua_State *L) { return binary(L, CNN_MUL); }
static int l_div(lua_State *L) { return binary(L, CNN_DIV); }
static int l_pow(lua_State *L) { return binary(L, CNN_POW); }
static int l_maximum(lua_State *L) { return binary(L, CNN_MAXIMUM); }
static int l_minimum(lua_State *L) { return binary(L, CNN_MINIMUM); }
static int l_eq(lua_State *L) { return binary(L, CNN_EQ); }
static int l_ne(lua_State *L) { return binary(L, CNN_NE); }
static int l_lt(lua_State *L) { return binary(L, CNN_LT); }
static int l_le(lua_State *L) { return binary(L, CNN_LE); }
static int l_gt(lua_State *L) { return binary(L, CNN_GT); }
static int l_ge(lua_State *L) { return binary(L, CNN_GE); }

/* a:op_(b): in place, returns a */
static int binary_(lua_State *L, cnn_binop op, const char *fn) {
    cnn_ctx *c = ctx_of(L);
    cnn_tensor *a = check_tensor(L, 1, fn, "self");
    int rc;
    if (lua_type(L, 2) == LUA_TNUMBER) rc = cnn_binary_scalar_(c, op, a, lua_tonumber(L, 2));
    else if (is_tensor(L, 2)) rc = cnn_binary_(c, op, a, check_tensor(L, 2, fn, "other"));
    else return arg_error(L, fn, 2, "other", "expected a tensor or a number, got %s", type_desc(L, 2));
    if (rc < 0) return fail(L, fn);
    lua_settop(L, 1);
    return 1;
}
static int l_add_(lua_State *L) { return binary_(L, CNN_ADD, "add_"); }
static int l_sub_(lua_State *L) { return binary_(L, CNN_SUB, "sub_"); }
static int l_mul_(lua_State *L) { return binary_(L, CNN_MUL, "mul_"); }
static int l_div_(lua_State *L) { return binary_(L, CNN_DIV, "div_"); }
static int l_pow_(lua_State *L) { return binary_(L, CNN_POW, "pow_"); }

static int unary(lua_State *L, cnn_unop op) {
    const char *fn = cnn_unop_name(op);
    cnn_tensor *a = check_tensor(L, 1, fn, "input");
    cnn_tensor **box = push_box(L);
    a = check_tensor(L, 1, fn, "input");
    *box = cnn_unary(ctx_of(L), op, a);
    return push_result(L, box, fn);
}
static int l_neg(lua_State *L) {
    if (is_tensor(L, 1) && check_tensor_any(L, 1, "neg", "input")->dtype == CNN_I64) {
        /* int64: 0 - t, exact (wrapping at -2^63, as PyTorch) */
        cnn_ctx *c = ctx_of(L);
        cnn_shape s0 = { 0, { 0 } };
        int64_t zero = 0;
        cnn_tensor **k = push_box(L);
        if ((*k = cnn_from_int64s(c, &s0, CNN_I64, &zero)) == NULL) return fail(L, "neg");
        cnn_tensor **box = push_box(L);
        *box = cnn_binary(c, CNN_SUB, *k, check_tensor_any(L, 1, "neg", "input"));
        return push_result(L, box, "neg");
    }
    return unary(L, CNN_NEG);
}
static int l_exp(lua_State *L) { return unary(L, CNN_EXP); }
static int l_log(lua_State *L) { return unary(L, CNN_LOG); }
static int l_sqrt(lua_State *L) { return unary(L, CNN_SQRT); }
static int l_abs(lua_State *L) { return unary(L, CNN_ABS); }
static int l_sign(lua_State *L) { return unary(L, CNN_SIGN); }
static int l_floor_op(lua_State *L) { return unary(L, CNN_FLOOR); }
static int l_ceil(lua_State *L) { return unary(L, CNN_CEIL); }
static int l_round(lua_State *L) { return unary(L, CNN_ROUND); }
static int l_sigmoid(lua_State *L) { return unary(L, CNN_SIGMOID); }
static int l_tanh(lua_State *L) { return unary(L, CNN_TANH); }
static int l_relu(lua_State *L) { return unary(L, CNN_RELU); }
static int l_square(lua_State *L) { return unary(L, CNN_SQUARE); }
static int l_reciprocal(lua_State *L) { return unary(L, CNN_RECIPROCAL); }

static int unary_(lua_State *L, cnn_unop op, const char *fn) {
    cnn_tensor *a = check_tensor(L, 1, fn, "self");
    if (cnn_unary_(ctx_of(L), op, a) < 0) return fail(L, fn);
    lua_settop(L, 1);
    return 1;
}
static int l_neg_(lua_State *L) { return unary_(L, CNN_NEG, "neg_"); }
static int l_exp_(lua_State *L) { return unary_(L, CNN_EXP, "exp_"); }
static int l_log_(lua_State *L) { return unary_(L, CNN_LOG, "log_"); }
static int l_sqrt_(lua_State *L) { return unary_(L, CNN_SQRT, "sqrt_"); }
static int l_abs_(lua_State *L) { return unary_(L, CNN_ABS, "abs_"); }
static int l_sigmoid_(lua_State *L) { return unary_(L, CNN_SIGMOID, "sigmoid_"); }
static int l_tanh_(lua_State *L) { return unary_(L, CNN_TANH, "tanh_"); }
static int l_relu_(lua_State *L) { return unary_(L, CNN_RELU, "relu_"); }

/* clamp(t, min, max): either bound may be nil */
static int l_clamp(lua_State *L) {
    cnn_tensor *a = check_tensor(L, 1, "clamp", "input");
    double lo = lua_isnoneornil(L, 2) ? NAN : check_num(L, 2, "clamp", "min");
    double hi = lua_isnoneornil(L, 3) ? NAN : check_num(L, 3, "clamp", "max");
    if (isnan(lo) && isnan(hi)) fn_error(L, "clamp", "expected at least one of min and max");
    if (lo > hi) arg_error(L, "clamp", 3, "max", "expected min <= max, got %g and %g", lo, hi);
    cnn_tensor **box = push_box(L);
    a = check_tensor(L, 1, "clamp", "input");
    *box = cnn_clamp(ctx_of(L), a, lo, hi);
    return push_result(L, box, "clamp");
}

static int l_clamp_(lua_State *L) {
    cnn_tensor *a = check_tensor(L, 1, "clamp_", "self");
    double lo = lua_isnoneornil(L, 2) ? NAN : check_num(L, 2, "clamp_", "min");
    double hi = lua_isnoneornil(L, 3) ? NAN : check_num(L, 3, "clamp_", "max");
    if (lo > hi) arg_error(L, "clamp_", 3, "max", "expected min <= max, got %g and %g", lo, hi);
    cnn_ctx *c = ctx_of(L);
    if (cnn_check_inplace(c, a) < 0) return fail(L, "clamp_");
    cnn_tensor **box = push_box(L);
    a = check_tensor(L, 1, "clamp_", "self");
    *box = cnn_clamp(c, a, lo, hi);
    push_result(L, box, "clamp_");
    if (cnn_copy_(c, a, *box) < 0) return fail(L, "clamp_");
    lua_settop(L, 1);
    return 1;
}

/* where(cond, a, b): a and b may be numbers (made 0-d tensors of the condition's dtype) */
static int l_where(lua_State *L) {
    cnn_ctx *c = ctx_of(L);
    cnn_dtype dt = check_tensor(L, 1, "where", "condition")->dtype;
    cnn_tensor **num[2] = { NULL, NULL };
    lua_settop(L, 3);
    for (int k = 0; k < 2; k++) {
        if (is_tensor(L, 2 + k)) { check_tensor(L, 2 + k, "where", k ? "other" : "input"); continue; }
        if (lua_type(L, 2 + k) != LUA_TNUMBER)
            arg_error(L, "where", 2 + k, k ? "other" : "input", "expected a tensor or a number, got %s", type_desc(L, 2 + k));
        cnn_shape s0 = { 0, {0} };
        num[k] = push_box(L);                           /* kept on the stack until the end */
        *num[k] = cnn_full(c, &s0, dt, lua_tonumber(L, 2 + k));
        push_result(L, num[k], "where");
    }
    cnn_tensor **box = push_box(L);
    /* the arguments are fetched after the last allocation (which may run finalizers) */
    cnn_tensor *cd = check_tensor(L, 1, "where", "condition"), *ab[2];
    for (int k = 0; k < 2; k++) ab[k] = num[k] ? *num[k] : check_tensor(L, 2 + k, "where", k ? "other" : "input");
    *box = cnn_where(c, cd, ab[0], ab[1]);
    return push_result(L, box, "where");
}

static int l_masked_fill(lua_State *L) {
    cnn_tensor *a = check_tensor(L, 1, "masked_fill", "input");
    cnn_tensor *m = check_tensor(L, 2, "masked_fill", "mask");
    double v = check_num(L, 3, "masked_fill", "value");
    cnn_tensor **box = push_box(L);
    a = check_tensor(L, 1, "masked_fill", "input"); m = check_tensor(L, 2, "masked_fill", "mask");
    *box = cnn_masked_fill(ctx_of(L), a, m, v);
    return push_result(L, box, "masked_fill");
}

/* ---- reductions: f(t) over all, f(t, dim [, keepdim]) ---- */

/* sum/mean over a list of dims {d1, d2, ..}: one reduction per dim, last dim first, kept as size 1
 * so the others keep their places, then squeezed unless keepdim (PyTorch's dim=(..)) */
static int reduce_dims(lua_State *L, cnn_redop op, const char *fn, cnn_tensor *a) {
    lua_Unsigned len = lua_rawlen(L, 2);       /* raw: no metamethod runs */
    int keep = lua_toboolean(L, 3), n = len > CNN_MAX_DIM ? CNN_MAX_DIM + 1 : (int)len, seen[CNN_MAX_DIM] = { 0 };
    if (n < 1) arg_error(L, fn, 2, "dim", "expected a non-empty list of dimensions, got an empty table");
    for (int i = 1; i <= n; i++) {
        int ok;
        lua_rawgeti(L, 2, i);
        lua_Integer d1 = lua_tointegerx(L, -1, &ok);
        lua_pop(L, 1);
        if (!ok || d1 == 0 || d1 > a->ndim || d1 < -a->ndim)
            arg_error(L, fn, 2, "dim", "entry %d: expected a dimension in 1..%d or -%d..-1", i, a->ndim, a->ndim);
        int d = (int)(d1 > 0 ? d1 - 1 : a->ndim + d1);
        if (seen[d]) arg_error(L, fn, 2, "dim", "dimension %d appears twice", d + 1);
        seen[d] = 1;
    }
    cnn_ctx *c = ctx_of(L);
    cnn_tensor **box = push_box(L);
    a = check_tensor_any(L, 1, fn, "input");        /* again: push_box may run finalizers */
    cnn_tensor_retain(a); *box = a;
    for (int d = a->ndim - 1; d >= 0; d--) {
        if (!seen[d]) continue;
        cnn_tensor *r = cnn_reduce(c, op, *box, d, 1);
        if (r == NULL) return fail(L, fn);
        cnn_tensor_release(*box); *box = r;
    }
    for (int d = a->ndim - 1; d >= 0 && !keep; d--) {
        if (!seen[d]) continue;
        cnn_tensor *r = cnn_squeeze(c, *box, d);
        if (r == NULL) return fail(L, fn);
        cnn_tensor_release(*box); *box = r;
    }
    return 1;
}

/* 0-based int64 indices (a new contiguous tensor) made 1-based, as Lua counts */
static void one_based(cnn_tensor *t) {
    int64_t *p = cnn_data(t), n = cnn_numel(t);
    for (int64_t k = 0; k < n; k++) p[k]++;
}

static int reduce(lua_State *L, cnn_redop op, const char *fn) {
    /* sum, max, min, argmax, argmin take int64 too; mean does not (as PyTorch) */
    cnn_tensor *a = op == CNN_MEAN ? check_tensor(L, 1, fn, "input") : check_tensor_any(L, 1, fn, "input");
    if ((op == CNN_SUM || op == CNN_MEAN) && lua_type(L, 2) == LUA_TTABLE) return reduce_dims(L, op, fn, a);
    int dim = lua_isnoneornil(L, 2) ? -1 : check_dim(L, 2, fn, "dim", a->ndim, 0);
    int keep = lua_toboolean(L, 3);
    cnn_tensor **box = push_box(L);
    a = check_tensor_any(L, 1, fn, "input");
    *box = cnn_reduce(ctx_of(L), op, a, dim, keep);
    if (*box == NULL) return fail(L, fn);
    if (op == CNN_ARGMAX || op == CNN_ARGMIN) one_based(*box);
    return 1;
}
static int l_sum(lua_State *L) { return reduce(L, CNN_SUM, "sum"); }
static int l_mean(lua_State *L) { return reduce(L, CNN_MEAN, "mean"); }
static int l_argmax(lua_State *L) { return reduce(L, CNN_ARGMAX, "argmax"); }
static int l_argmin(lua_State *L) { return reduce(L, CNN_ARGMIN, "argmin"); }

/* max(t) -> 0-d; max(t, dim [, keepdim]) -> values, indices (1-based); max(a, b) -> maximum */
static int maxmin(lua_State *L, cnn_redop op, const char *fn) {
    if (is_tensor(L, 2)) return binary(L, op == CNN_MAX ? CNN_MAXIMUM : CNN_MINIMUM);
    cnn_tensor *a = check_tensor_any(L, 1, fn, "input");
    if (lua_isnoneornil(L, 2)) return reduce(L, op, fn);
    int dim = check_dim(L, 2, fn, "dim", a->ndim, 0);
    int keep = lua_toboolean(L, 3);
    cnn_tensor **v = push_box(L), **i = push_box(L), *i0;
    cnn_ctx *c = ctx_of(L);
    a = check_tensor_any(L, 1, fn, "input");        /* again: push_box may run finalizers */
    if (cnn_reduce_idx(c, op, a, dim, keep, v, &i0) < 0) return fail(L, fn);
    /* a new tensor: the 0-based indices are saved for backward and must stay as they are */
    *i = cnn_clone(c, i0);
    cnn_tensor_release(i0);
    if (*i) one_based(*i);
    return push_result(L, i, fn) + 1;
}
static int l_max(lua_State *L) { return maxmin(L, CNN_MAX, "max"); }
static int l_min(lua_State *L) { return maxmin(L, CNN_MIN, "min"); }

/* var/std(t [, dim [, keepdim [, unbiased=true]]]) */
static int var_std(lua_State *L, int sq, const char *fn) {
    cnn_tensor *a = check_tensor(L, 1, fn, "input");
    int dim = lua_isnoneornil(L, 2) ? -1 : check_dim(L, 2, fn, "dim", a->ndim, 0);
    int keep = lua_toboolean(L, 3);
    int corr = lua_isnoneornil(L, 4) ? 1 : lua_toboolean(L, 4);
    cnn_ctx *c = ctx_of(L);
    cnn_tensor **box = push_box(L);
    a = check_tensor(L, 1, fn, "input");
    *box = cnn_var(c, a, dim, keep, corr);
    if (*box == NULL) return fail(L, fn);
    if (sq) {
        cnn_tensor **r = push_box(L);
        *r = cnn_unary(c, CNN_SQRT, *box);
        return push_result(L, r, fn);
    }
    return 1;
}
static int l_var(lua_State *L) { return var_std(L, 0, "var"); }
static int l_std(lua_State *L) { return var_std(L, 1, "std"); }

static int l_matmul(lua_State *L) {
    cnn_tensor *a = check_tensor(L, 1, "matmul", "input");
    cnn_tensor *b = check_tensor(L, 2, "matmul", "other");
    cnn_tensor **box = push_box(L);
    a = check_tensor(L, 1, "matmul", "input"); b = check_tensor(L, 2, "matmul", "other");
    *box = cnn_matmul(ctx_of(L), a, b);
    return push_result(L, box, "matmul");
}

/* a list of tensors (a Lua sequence) in a temporary array owned by a userdata */
static cnn_tensor **check_list(lua_State *L, int idx, const char *fn, int *n) {
    if (!lua_istable(L, idx) || is_tensor(L, idx))
        arg_error(L, fn, idx, "tensors", "expected a table of tensors, got %s",
                  is_tensor(L, idx) ? "a tensor" : type_desc(L, idx));
    lua_Integer len = (lua_Integer)lua_rawlen(L, idx);     /* raw: no metamethod runs */
    if (len == 0) arg_error(L, fn, idx, "tensors", "expected a non-empty table of tensors");
    if (len > 1 << 24) arg_error(L, fn, idx, "tensors", "too many tensors (%lld)", (long long)len);
    cnn_tensor **v = lua_newuserdatauv(L, (size_t)len * sizeof *v, 0);
    for (lua_Integer i = 1; i <= len; i++) {
        lua_rawgeti(L, idx, i);
        cnn_tensor **box = luaL_testudata(L, -1, CNN_TENSOR_MT);
        if (box == NULL || *box == NULL)
            arg_error(L, fn, idx, "tensors", "element %lld is %s, not a tensor", (long long)i, type_desc(L, -1));
        v[i - 1] = *box;                    /* kept alive by the table */
        lua_pop(L, 1);
    }
    *n = (int)len;
    return v;
}

/* cat/stack(tensors [, dim]): the stack is fixed at 2 first, because check_list pushes; the
 * result box comes first, so that no allocation (no finalizer) follows the list's reading */
static int l_cat(lua_State *L) {
    int n;
    lua_settop(L, 2);
    cnn_tensor **box = push_box(L);
    cnn_tensor **v = check_list(L, 1, "cat", &n);
    int nd = v[0]->ndim;
    int d = lua_isnoneornil(L, 2) ? 0 : check_dim(L, 2, "cat", "dim", nd, 0);
    *box = cnn_cat(ctx_of(L), v, n, d);
    lua_settop(L, 3);                            /* the box */
    return push_result(L, box, "cat");
}

static int l_stack(lua_State *L) {
    int n;
    lua_settop(L, 2);
    cnn_tensor **box = push_box(L);
    cnn_tensor **v = check_list(L, 1, "stack", &n);
    int d = lua_isnoneornil(L, 2) ? 0 : check_dim(L, 2, "stack", "dim", v[0]->ndim, 1);
    *box = cnn_stack(ctx_of(L), v, n, d);
    lua_settop(L, 3);                            /* the box */
    return push_result(L, box, "stack");
}

/* index_select(t, dim, indices): indices as a tensor or a table, 1-based */
static int l_index_select(lua_State *L) {
    cnn_tensor *t = check_tensor_any(L, 1, "index_select", "input");   /* a copy: every dtype */
    int d = check_dim(L, 2, "index_select", "dim", t->ndim, 0);
    int64_t n;
    int64_t *idx;
    if (is_tensor(L, 3)) {
        cnn_tensor *it = check_tensor_any(L, 3, "index_select", "index");   /* int64, or floats holding integers */
        if (it->ndim > 1) arg_error(L, "index_select", 3, "index", "expected a 1-D tensor of indices, got %s", type_desc(L, 3));
        n = cnn_numel(it);
        double *dv = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *dv, 0);
        idx = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *idx, 0);
        it = check_tensor_any(L, 3, "index_select", "index");               /* after the allocations */
        int64_t size = check_tensor_any(L, 1, "index_select", "input")->size[d];
        if (it->dtype == CNN_I64) {
            cnn_to_int64s(ctx_of(L), it, idx);
            for (int64_t k = 0; k < n; k++) {
                if (idx[k] < 1 || idx[k] > size)
                    arg_error(L, "index_select", 3, "index", "index %lld (position %lld) is out of range for dimension %d of size %lld",
                              (long long)idx[k], (long long)k + 1, d + 1, (long long)size);
                idx[k]--;
            }
        } else cnn_to_doubles(ctx_of(L), it, dv);
        for (int64_t k = 0; k < n && it->dtype != CNN_I64; k++) {
            if (dv[k] != floor(dv[k])) arg_error(L, "index_select", 3, "index", "index %g (position %lld) is not an integer", dv[k], (long long)k + 1);
            /* outside int64 the cast below is undefined; the core reports the range */
            if (!(fabs(dv[k]) < 9e18)) arg_error(L, "index_select", 3, "index", "index %g (position %lld) is out of range for dimension %d of size %lld", dv[k], (long long)k + 1, d + 1, (long long)size);
            idx[k] = (int64_t)dv[k] - 1;
        }
    } else if (lua_istable(L, 3)) {
        n = (int64_t)lua_rawlen(L, 3);          /* raw: no metamethod runs */
        idx = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *idx, 0);
        for (int64_t k = 0; k < n; k++) {
            lua_rawgeti(L, 3, k + 1);
            int ok;
            lua_Integer v = lua_tointegerx(L, -1, &ok);
            if (!ok) arg_error(L, "index_select", 3, "index", "element %lld is not an integer", (long long)k + 1);
            idx[k] = v - 1;
            lua_pop(L, 1);
        }
    } else {
        return arg_error(L, "index_select", 3, "index", "expected a tensor or a table of indices, got %s", type_desc(L, 3));
    }
    cnn_tensor **box = push_box(L);
    t = check_tensor_any(L, 1, "index_select", "input");
    *box = cnn_index_select(ctx_of(L), t, d, idx, n);
    return push_result(L, box, "index_select");
}

static const luaL_Reg shared_fns[] = {
    { "add", l_add }, { "sub", l_sub }, { "mul", l_mul }, { "div", l_div }, { "pow", l_pow },
    { "maximum", l_maximum }, { "minimum", l_minimum },
    { "eq", l_eq }, { "ne", l_ne }, { "lt", l_lt }, { "le", l_le }, { "gt", l_gt }, { "ge", l_ge },
    { "add_", l_add_ }, { "sub_", l_sub_ }, { "mul_", l_mul_ }, { "div_", l_div_ }, { "pow_", l_pow_ },
    { "neg", l_neg }, { "exp", l_exp }, { "log", l_log }, { "sqrt", l_sqrt }, { "abs", l_abs },
    { "sign", l_sign }, { "floor", l_floor_op }, { "ceil", l_ceil }, { "round", l_round },
    { "sigmoid", l_sigmoid }, { "tanh", l_tanh }, { "relu", l_relu }, { "square", l_square },
    { "reciprocal", l_reciprocal },
    { "neg_", l_neg_ }, { "exp_", l_exp_ }, { "log_", l_log_ }, { "sqrt_", l_sqrt_ }, { "abs_", l_abs_ },
    { "sigmoid_", l_sigmoid_ }, { "tanh_", l_tanh_ }, { "relu_", l_relu_ },
    { "clamp", l_clamp }, { "clamp_", l_clamp_ }, { "masked_fill", l_masked_fill },
    { "sum", l_sum }, { "mean", l_mean }, { "max", l_max }, { "min", l_min }, { "argmax", l_argmax },
    { "argmin", l_argmin }, { "var", l_var }, { "std", l_std }, { "matmul", l_matmul },
    { "index_select", l_index_select },
    { NULL, NULL }
};

static const luaL_Reg module_fns[] = {
    { "where", l_where }, { "cat", l_cat }, { "stack", l_stack }, { NULL, NULL }
};

static const luaL_Reg meta_fns[] = {
    { "__add", l_add }, { "__sub", l_sub }, { "__mul", l_mul }, { "__div", l_div }, { "__unm", l_neg },
    { "__pow", l_pow }, { NULL, NULL }
};

void cnn_open_ops(lua_State *L, int ctx, int module, int methods) {
    register_fns(L, shared_fns, ctx, module, methods);
    register_fns(L, module_fns, ctx, module, 0);
    luaL_getmetatable(L, CNN_TENSOR_MT);
    register_fns(L, meta_fns, ctx, lua_gettop(L), 0);
    lua_pop(L, 1);
}
