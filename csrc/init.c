/* init.c: luaopen_cnn_core, the entry point of lua/cnn/core.so. It makes the per-state context
 * (a userdata whose __gc drops the state's reference), the Tensor metatable and methods table,
 * and lets each binding file register its functions with the context as upvalue 1. */
#include "lua_util.h"

#include <cblas.h>

static int l_ctx_gc(lua_State *L) {
    cnn_ctx **box = luaL_checkudata(L, 1, "cnn.Context");
    cnn_ctx_release(*box);       /* storages still alive keep their own references */
    *box = NULL;
    return 0;
}

int luaopen_cnn_core(lua_State *L) {
    luaL_newmetatable(L, CNN_TENSOR_MT);
    lua_pop(L, 1);
    cnn_ctx **cb = lua_newuserdatauv(L, sizeof *cb, 0);
    *cb = NULL;
    if (luaL_newmetatable(L, "cnn.Context")) {
        lua_pushcfunction(L, l_ctx_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    if ((*cb = cnn_ctx_new()) == NULL) return luaL_error(L, "cnn: out of memory");
    cnn_set_num_threads(*cb, cnn_get_num_threads(*cb));
    int ctx = lua_gettop(L);
    lua_newtable(L);
    int module = lua_gettop(L);
    lua_newtable(L);
    int methods = lua_gettop(L);
    cnn_open_tensor(L, ctx, module, methods);
    cnn_open_ops(L, ctx, module, methods);
    cnn_open_autograd(L, ctx, module, methods);
    cnn_open_nn(L, ctx, module, methods);
    cnn_open_data(L, ctx, module, methods);
    cnn_open_metrics(L, ctx, module, methods);
    cnn_open_plot(L, ctx, module, methods);
    cnn_open_conv(L, ctx, module, methods);
    cnn_open_optim(L, ctx, module, methods);
    cnn_open_serialize(L, ctx, module, methods);
    cnn_open_util(L, ctx, module, methods);
    cnn_open_bench(L, ctx, module, methods);
    cnn_open_linalg(L, ctx, module, methods);
    cnn_open_sort(L, ctx, module, methods);
    lua_pushvalue(L, methods);
    lua_setfield(L, module, "Tensor");
    lua_pushstring(L, openblas_get_config());
    lua_setfield(L, module, "blas_config");
    lua_pushstring(L, openblas_get_corename());     /* the kernels OpenBLAS chose (OPENBLAS_CORETYPE) */
    lua_setfield(L, module, "blas_core");
    lua_pushvalue(L, module);
    return 1;
}
