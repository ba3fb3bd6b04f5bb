/* lua_plot.c: cnn._plot.points(x, y, x0, sx, y0, sy): the SVG "points" text of a polyline
 * (x0 + sx*x, y0 + sy*y for each pair), so lua/cnn/plot.lua never walks curve elements.
 * NaN pairs are skipped. Spec: plot_spec.lua. */
#include "lua_util.h"

#include <math.h>
#include <stdio.h>

static int l_points(lua_State *L) {
    cnn_tensor *x = check_tensor(L, 1, "plot.points", "x"), *y = check_tensor(L, 2, "plot.points", "y");
    double x0 = check_num(L, 3, "plot.points", "x0"), sx = check_num(L, 4, "plot.points", "sx");
    double y0 = check_num(L, 5, "plot.points", "y0"), sy = check_num(L, 6, "plot.points", "sy");
    int64_t n = cnn_numel(x);
    if (cnn_numel(y) != n) fn_error(L, "plot.points", "x and y differ in length (%lld and %lld)", (long long)n, (long long)cnn_numel(y));
    double *v = lua_newuserdatauv(L, 2 * (size_t)(n ? n : 1) * sizeof *v, 0);
    /* fetched again: the allocation may have run a finalizer that closed them */
    x = check_tensor(L, 1, "plot.points", "x");
    y = check_tensor(L, 2, "plot.points", "y");
    cnn_to_doubles(ctx_of(L), x, v);
    cnn_to_doubles(ctx_of(L), y, v + n);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    char buf[64];
    for (int64_t i = 0; i < n; i++) {
        double px = x0 + sx * v[i], py = y0 + sy * v[n + i];
        if (!isfinite(px) || !isfinite(py)) continue;
        int k = snprintf(buf, sizeof buf, "%s%.2f,%.2f", luaL_bufflen(&b) ? " " : "", px, py);
        luaL_addlstring(&b, buf, (size_t)k);
    }
    luaL_pushresult(&b);
    return 1;
}

static const luaL_Reg fns[] = { { "points", l_points }, { NULL, NULL } };

void cnn_open_plot(lua_State *L, int ctx, int module, int methods) {
    (void)methods;
    lua_newtable(L);
    register_fns(L, fns, ctx, lua_gettop(L), 0);
    lua_setfield(L, module, "_plot");
}
