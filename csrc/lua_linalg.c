/* lua_linalg.c: bindings of cnn.linalg (op_linalg.c), the `linalg` subtable of the core.
 * Tensors are fetched after the last allocation (push_box) before each core call. */
#include "lua_util.h"

/* f(A): one tensor in, one out */
static int one(lua_State *L, const char *fn, cnn_tensor *(*f)(cnn_ctx *, const cnn_tensor *)) {
    check_tensor(L, 1, fn, "A");
    cnn_tensor **box = push_box(L);
    cnn_tensor *a = check_tensor(L, 1, fn, "A");
    *box = f(ctx_of(L), a);
    return push_result(L, box, fn);
}

/* f(x, y): two tensors in (named n1, n2), one out */
static int two(lua_State *L, const char *fn, const char *n1, const char *n2,
               cnn_tensor *(*f)(cnn_ctx *, const cnn_tensor *, const cnn_tensor *)) {
    check_tensor(L, 1, fn, n1);
    check_tensor(L, 2, fn, n2);
    cnn_tensor **box = push_box(L);
    cnn_tensor *a = check_tensor(L, 1, fn, n1), *b = check_tensor(L, 2, fn, n2);
    *box = f(ctx_of(L), a, b);
    return push_result(L, box, fn);
}

static int l_solve(lua_State *L) { return two(L, "linalg.solve", "A", "B", cnn_linalg_solve); }
static int l_cholesky(lua_State *L) { return one(L, "linalg.cholesky", cnn_linalg_cholesky); }
static int l_cholesky_solve(lua_State *L) { return two(L, "linalg.cholesky_solve", "B", "L", cnn_linalg_cholesky_solve); }
static int l_inv(lua_State *L) { return one(L, "linalg.inv", cnn_linalg_inv); }
static int l_lstsq(lua_State *L) { return two(L, "linalg.lstsq", "A", "B", cnn_linalg_lstsq); }

/* boxes r[0..n-1] filled by the core; raises if it failed, else leaves the n boxes as results */
static int push_results(lua_State *L, cnn_tensor **r[], int n, int st, const char *fn) {
    if (st < 0) return fail(L, fn);
    for (int i = 0; i < n; i++) push_result(L, r[i], fn);   /* pushes nothing: paces the collector */
    return n;
}

static int l_slogdet(lua_State *L) {
    const char *fn = "linalg.slogdet";
    check_tensor(L, 1, fn, "A");
    cnn_tensor **s = push_box(L), **la = push_box(L);
    cnn_tensor *a = check_tensor(L, 1, fn, "A");
    cnn_tensor **r[2] = { s, la };
    return push_results(L, r, 2, cnn_linalg_slogdet(ctx_of(L), a, s, la), fn);
}

static int l_eigh(lua_State *L) {
    const char *fn = "linalg.eigh";
    check_tensor(L, 1, fn, "A");
    cnn_tensor **w = push_box(L), **v = push_box(L);
    cnn_tensor *a = check_tensor(L, 1, fn, "A");
    cnn_tensor **r[2] = { w, v };
    return push_results(L, r, 2, cnn_linalg_eigh(ctx_of(L), a, w, v), fn);
}

static int l_qr(lua_State *L) {
    const char *fn = "linalg.qr";
    check_tensor(L, 1, fn, "A");
    cnn_tensor **q = push_box(L), **r0 = push_box(L);
    cnn_tensor *a = check_tensor(L, 1, fn, "A");
    cnn_tensor **r[2] = { q, r0 };
    return push_results(L, r, 2, cnn_linalg_qr(ctx_of(L), a, q, r0), fn);
}

/* svd(A [, {full_matrices = true}]) -> U, S, Vh */
static int l_svd(lua_State *L) {
    const char *fn = "linalg.svd";
    static const char *const known[] = { "full_matrices", NULL };
    check_tensor(L, 1, fn, "A");
    int full = 1;
    if (check_options(L, 2, fn, known)) {
        int t = opt_rawget(L, 2, "full_matrices");
        if (t != LUA_TNIL && t != LUA_TBOOLEAN)
            arg_error(L, fn, 2, "options", "full_matrices must be a boolean, got %s", type_desc(L, -1));
        if (t == LUA_TBOOLEAN) full = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    lua_settop(L, 1);
    cnn_tensor **u = push_box(L), **s = push_box(L), **vh = push_box(L);
    cnn_tensor *a = check_tensor(L, 1, fn, "A");
    cnn_tensor **r[3] = { u, s, vh };
    return push_results(L, r, 3, cnn_linalg_svd(ctx_of(L), a, full, u, s, vh), fn);
}

static const luaL_Reg fns[] = {
    { "solve", l_solve },     { "cholesky", l_cholesky }, { "cholesky_solve", l_cholesky_solve },
    { "inv", l_inv },         { "slogdet", l_slogdet },   { "eigh", l_eigh },
    { "svd", l_svd },         { "qr", l_qr },             { "lstsq", l_lstsq },
    { NULL, NULL }
};

void cnn_open_linalg(lua_State *L, int ctx, int module, int methods) {
    (void)methods;
    lua_newtable(L);
    register_fns(L, fns, ctx, lua_gettop(L), 0);
    lua_setfield(L, module, "linalg");
}
