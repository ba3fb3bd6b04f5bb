/* lua_metrics.c: bindings of metrics.c, in the table cnn._metrics that lua/cnn/metrics.lua
 * wraps. Inputs are tensors (any shape, read in row-major order) or Lua arrays of numbers.
 * Pairs with a NaN label are dropped and counted; a NaN score is an error. Spec: metrics_spec.lua. */
#include "lua_util.h"
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* the public name in messages: a trailing string argument at idx, passed by the Lua wrapper
 * when a binding serves several public functions (precision_recall_f1 counts with
 * confusion_matrix), else dflt */
static const char *fn_at(lua_State *L, int idx, const char *dflt) {
    return lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : dflt;
}

/* a tensor or an array of numbers as doubles (owned by a userdata left on the stack) */
static double *check_vec(lua_State *L, int idx, const char *fn, const char *name, int64_t *n) {
    if (is_tensor(L, idx)) {
        *n = cnn_numel(check_tensor_any(L, idx, fn, name));
        double *v = lua_newuserdatauv(L, (size_t)(*n ? *n : 1) * sizeof *v, 0);
        /* fetched again: the allocation may have run a finalizer that closed it */
        cnn_to_doubles(ctx_of(L), check_tensor_any(L, idx, fn, name), v);
        return v;
    }
    if (!lua_istable(L, idx)) arg_error(L, fn, idx, name, "expected a tensor or a table of numbers, got %s", type_desc(L, idx));
    *n = (int64_t)lua_rawlen(L, idx);            /* raw: no metamethod runs */
    double *v = lua_newuserdatauv(L, (size_t)(*n ? *n : 1) * sizeof *v, 0);
    for (int64_t i = 0; i < *n; i++) {
        lua_rawgeti(L, idx, i + 1);
        if (lua_type(L, -1) != LUA_TNUMBER) arg_error(L, fn, idx, name, "element %lld is %s, not a number", (long long)i + 1, type_desc(L, -1));
        v[i] = lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    return v;
}

/* scores at 1, labels at 2, optional groups at gidx: drops NaN labels in place, checks the rest */
static int64_t check_pairs(lua_State *L, const char *fn, double **s, double **y, double **g, int gidx, int64_t *dropped) {
    int64_t ns, ny, ng = 0;
    *s = check_vec(L, 1, fn, "scores", &ns);
    *y = check_vec(L, 2, fn, "labels", &ny);
    if (ns != ny) fn_error(L, fn, "scores and labels differ in length (%lld and %lld)", (long long)ns, (long long)ny);
    if (g) {
        *g = NULL;
        if (gidx && !lua_isnoneornil(L, gidx)) {
            *g = check_vec(L, gidx, fn, "groups", &ng);
            if (ng != ns) fn_error(L, fn, "groups and scores differ in length (%lld and %lld)", (long long)ng, (long long)ns);
        }
    }
    int64_t m = 0;
    for (int64_t i = 0; i < ns; i++) {
        double yi = (*y)[i];
        if (isnan(yi)) continue;
        if (yi != 0 && yi != 1) fn_error(L, fn, "label %lld is %g, expected 0, 1 or NaN (missing)", (long long)i + 1, yi);
        if (isnan((*s)[i])) fn_error(L, fn, "score %lld is NaN", (long long)i + 1);
        (*s)[m] = (*s)[i];
        (*y)[m] = yi;
        if (g && *g) (*g)[m] = (*g)[i];
        m++;
    }
    *dropped = ns - m;
    return m;
}

static void push_vec(lua_State *L, const double *v, int64_t n, const char *fn) {
    cnn_shape s = { 1, { n } };
    cnn_tensor **box = push_box(L);
    *box = cnn_from_doubles(ctx_of(L), &s, CNN_F64, v);
    push_result(L, box, fn);
}

/* roc_curve(scores, labels [, fn]) */
static int l_roc_curve(lua_State *L) {
    const char *fn = fn_at(L, 3, "metrics.roc_curve");
    double *s, *y;
    int64_t dropped, n = check_pairs(L, fn, &s, &y, NULL, 0, &dropped);
    double *buf = lua_newuserdatauv(L, 3 * (size_t)(n + 1) * sizeof *buf, 0);
    int64_t m;
    if (cnn_roc(ctx_of(L), s, y, n, buf, buf + n + 1, buf + 2 * (n + 1), &m) < 0) return fail(L, fn);
    push_vec(L, buf, m, fn);
    push_vec(L, buf + n + 1, m, fn);
    push_vec(L, buf + 2 * (n + 1), m, fn);
    lua_pushinteger(L, dropped);
    return 4;
}

/* auc(scores, labels [, fn]) -> auc, delong variance, dropped */
static int l_auc(lua_State *L) {
    const char *fn = fn_at(L, 3, "metrics.roc_auc");
    double *s, *y, auc, var;
    int64_t dropped, n = check_pairs(L, fn, &s, &y, NULL, 0, &dropped);
    if (cnn_auc(ctx_of(L), s, y, n, &auc, &var) < 0) return fail(L, fn);
    lua_pushnumber(L, auc);
    lua_pushnumber(L, var);
    lua_pushinteger(L, dropped);
    return 3;
}

/* auc_bootstrap(scores, labels, groups|nil, n_boot) -> tensor of replicates, dropped */
static int l_auc_bootstrap(lua_State *L) {
    const char *fn = "metrics.auc_ci";              /* its only caller */
    double *s, *y, *g;
    int64_t dropped, n = check_pairs(L, fn, &s, &y, &g, 3, &dropped);
    int64_t nb = check_int(L, 4, fn, "n_boot");
    if (nb < 1 || nb > 10000000) arg_error(L, fn, 4, "n_boot", "expected 1..1e7, got %lld", (long long)nb);
    double *out = lua_newuserdatauv(L, (size_t)nb * sizeof *out, 0);
    if (cnn_auc_bootstrap(ctx_of(L), s, y, g, n, nb, cnn_ctx_rng(ctx_of(L)), out) < 0) return fail(L, fn);
    push_vec(L, out, nb, fn);
    lua_pushinteger(L, dropped);
    return 2;
}

static int l_normal_quantile(lua_State *L) {
    double p = check_num(L, 1, "metrics.normal_quantile", "p");
    if (!(p > 0 && p < 1)) arg_error(L, "metrics.normal_quantile", 1, "p", "expected 0 < p < 1, got %g", p);
    lua_pushnumber(L, cnn_normal_quantile(p));
    return 1;
}

/* ranks(x [, fn]) */
static int l_ranks(lua_State *L) {
    const char *fn = fn_at(L, 2, "metrics.ranks");
    int64_t n;
    double *x = check_vec(L, 1, fn, "x", &n);
    double *r = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *r, 0);
    if (cnn_midranks(ctx_of(L), x, n, r) < 0) return fail(L, fn);
    push_vec(L, r, n, fn);
    return 1;
}

/* confusion_matrix(pred, target, num_classes [, fn]) */
static int l_confusion(lua_State *L) {
    const char *fn = fn_at(L, 4, "metrics.confusion_matrix");
    int64_t np, nt;
    double *p = check_vec(L, 1, fn, "pred", &np);
    double *t = check_vec(L, 2, fn, "target", &nt);
    int64_t C = check_int(L, 3, fn, "num_classes");
    if (np != nt) fn_error(L, fn, "pred and target differ in length (%lld and %lld)", (long long)np, (long long)nt);
    if (C < 1 || C > 100000) arg_error(L, fn, 3, "num_classes", "expected 1..100000, got %lld", (long long)C);
    cnn_shape s = { 2, { C, C } };
    cnn_tensor **box = push_box(L);
    if ((*box = cnn_empty(ctx_of(L), &s, CNN_F64)) == NULL) return fail(L, fn);
    if (cnn_confusion(ctx_of(L), p, t, np, C, cnn_data(*box)) < 0) return fail(L, fn);
    return 1;
}

/* calibration(scores, labels, bins [, fn]) */
static int l_calibration(lua_State *L) {
    const char *fn = fn_at(L, 4, "metrics.calibration");
    double *s, *y;
    int64_t dropped, n = check_pairs(L, fn, &s, &y, NULL, 0, &dropped);
    int64_t bins = check_int(L, 3, fn, "bins");
    if (bins < 1 || bins > 100000) arg_error(L, fn, 3, "bins", "expected 1..100000, got %lld", (long long)bins);
    double *b = lua_newuserdatauv(L, 3 * (size_t)bins * sizeof *b, 0);
    cnn_calibration(s, y, n, bins, b, b + bins, b + 2 * bins);
    push_vec(L, b, bins, fn);
    push_vec(L, b + bins, bins, fn);
    push_vec(L, b + 2 * bins, bins, fn);
    lua_pushinteger(L, dropped);
    return 4;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* quantiles(x, {p1, p2, ...}) -> numbers, linear interpolation between order statistics
 * (R's type 7, which pROC's bootstrap CI uses) */
static int l_quantiles(lua_State *L) {
    int64_t n;
    double *x = check_vec(L, 1, "metrics.quantiles", "x", &n);
    if (n == 0) arg_error(L, "metrics.quantiles", 1, "x", "expected at least one value");
    qsort(x, (size_t)n, sizeof *x, cmp_double);
    int64_t k;
    double *p = check_vec(L, 2, "metrics.quantiles", "probs", &k);
    /* one result per probability, each on the stack: make room first (Lua guarantees only 20) */
    if (k > 100000 || !lua_checkstack(L, (int)k))
        arg_error(L, "metrics.quantiles", 2, "probs", "expected at most 100000 probabilities, got %lld", (long long)k);
    for (int64_t j = 0; j < k; j++) {
        if (!(p[j] >= 0 && p[j] <= 1)) arg_error(L, "metrics.quantiles", 2, "probs", "probability %g is outside [0,1]", p[j]);
        double h = (double)(n - 1) * p[j];
        int64_t lo = (int64_t)floor(h);
        double q = lo + 1 < n ? x[lo] + (h - (double)lo) * (x[lo + 1] - x[lo]) : x[lo];
        lua_pushnumber(L, q);
    }
    return (int)k;
}

static const luaL_Reg fns[] = {
    { "quantiles", l_quantiles },
    { "roc_curve", l_roc_curve }, { "auc", l_auc }, { "auc_bootstrap", l_auc_bootstrap },
    { "normal_quantile", l_normal_quantile }, { "ranks", l_ranks }, { "confusion_matrix", l_confusion },
    { "calibration", l_calibration }, { NULL, NULL }
};

void cnn_open_metrics(lua_State *L, int ctx, int module, int methods) {
    (void)methods;
    lua_newtable(L);
    register_fns(L, fns, ctx, lua_gettop(L), 0);
    lua_setfield(L, module, "_metrics");
}
