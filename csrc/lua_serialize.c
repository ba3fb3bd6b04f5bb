/* lua_serialize.c: the raw-byte half of cnn.save / cnn.load (lua/cnn/serialize.lua builds and parses
 * the safetensors JSON header). cnn.safetensors_write writes header + tensor bytes through
 * atomic_file.c (temporary, fsync, rename), so a failed or interrupted save leaves the old file
 * intact; cnn._file.write does the same for any bytes (plots); cnn.safetensors_tensor makes a
 * tensor from a byte range of a string. Data are little-endian, as on every machine cnn builds for. Spec: spec/serialize_spec.lua. */
#include "lua_util.h"
#include "atomic_file.h"

#include <stdlib.h>
#include <string.h>

/* a save in progress: the temporary file and the tensors to write, retained, so that nothing
 * the list's metamethods or a finalizer do can free them; __gc undoes it all when anything raises */
typedef struct save_job { cnn_afile a; cnn_tensor **ts; lua_Integer n; } save_job;

static int job_gc(lua_State *L) {
    save_job *j = lua_touserdata(L, 1);
    cnn_afile_abort(&j->a);
    for (lua_Integer i = 0; j->ts && i < j->n; i++) cnn_tensor_release(j->ts[i]);
    free(j->ts);
    j->ts = NULL;
    j->n = 0;
    return 0;
}

static save_job *push_job(lua_State *L) {
    save_job *j = lua_newuserdatauv(L, sizeof *j, 0);
    memset(j, 0, sizeof *j);
    if (luaL_newmetatable(L, "cnn.save_job")) {
        lua_pushcfunction(L, job_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    return j;
}

/* cnn.safetensors_write(path, header, {tensors in data order}) */
static int l_safetensors_write(lua_State *L) {
    const char *fn = "save";
    const char *path = luaL_checkstring(L, 1);
    size_t hlen;
    const char *header = luaL_checklstring(L, 2, &hlen);
    luaL_checktype(L, 3, LUA_TTABLE);
    save_job *j = push_job(L);
    /* the list is read raw and once: no __index/__len runs, so it cannot change under us */
    lua_Integer n = (lua_Integer)lua_rawlen(L, 3);
    if ((j->ts = calloc((size_t)n + 1, sizeof *j->ts)) == NULL) return fn_error(L, fn, "out of memory");
    for (lua_Integer i = 1; i <= n; i++) {            /* check everything before touching the disk */
        lua_rawgeti(L, 3, i);
        cnn_tensor **b = luaL_testudata(L, -1, CNN_TENSOR_MT);
        if (b == NULL || *b == NULL) fn_error(L, fn, "tensor %lld to write is missing or closed", (long long)i);
        cnn_tensor_retain(*b);
        j->ts[j->n++] = *b;
        lua_pop(L, 1);
    }
    cnn_ctx *c = ctx_of(L);
    if (cnn_afile_open(c, &j->a, path) < 0) return fn_error(L, fn, "cannot write %s: %s", path, cnn_errmsg(c));
    unsigned char len8[8];
    for (int k = 0; k < 8; k++) len8[k] = (unsigned char)((uint64_t)hlen >> (8 * k));
    int ok = cnn_afile_write(c, &j->a, len8, 8) == 0 && cnn_afile_write(c, &j->a, header, hlen) == 0;
    for (lua_Integer i = 0; ok && i < j->n; i++) {
        cnn_tensor *ct = cnn_contiguous(c, j->ts[i]);
        if (ct == NULL) return fail(L, fn);            /* __gc removes the temporary */
        size_t nb = (size_t)cnn_numel(ct) * cnn_dtype_size(ct->dtype);
        ok = cnn_afile_write(c, &j->a, cnn_data(ct), nb) == 0;
        cnn_tensor_release(ct);
    }
    if (!ok || cnn_afile_commit(c, &j->a) < 0) return fn_error(L, fn, "cannot write %s: %s", path, cnn_errmsg(c));
    return 0;
}

/* cnn._file.write(path, bytes [, fn]): bytes into path through the temporary file and rename
 * (the plots' writer) */
static int l_file_write(lua_State *L) {
    const char *fn = lua_type(L, 3) == LUA_TSTRING ? lua_tostring(L, 3) : "_file.write";
    if (lua_type(L, 1) != LUA_TSTRING) arg_error(L, fn, 2, "path", "expected a string, got %s", luaL_typename(L, 1));
    const char *path = lua_tostring(L, 1);
    size_t n;
    const char *bytes = luaL_checklstring(L, 2, &n);
    save_job *j = push_job(L);
    cnn_ctx *c = ctx_of(L);
    if (cnn_afile_open(c, &j->a, path) < 0 || cnn_afile_write(c, &j->a, bytes, n) < 0 || cnn_afile_commit(c, &j->a) < 0)
        return fn_error(L, fn, "cannot write %s: %s", path, cnn_errmsg(c));
    lua_pushstring(L, path);
    return 1;
}

/* cnn.safetensors_tensor(bytes, offset, nbytes, {shape}, dtype): offset is 0-based */
static int l_safetensors_tensor(lua_State *L) {
    const char *fn = "load";
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    int64_t off = check_int(L, 2, fn, "offset"), nb = check_int(L, 3, fn, "nbytes");
    cnn_shape sh;
    check_shape(L, 4, fn, "shape", &sh, 0, NULL);
    cnn_dtype dt = check_dtype(L, 5, fn, "dtype");
    if (cnn_shape_check(ctx_of(L), &sh) < 0) return fail(L, fn);
    if (off < 0 || nb < 0 || (uint64_t)off > len || (uint64_t)nb > len - (uint64_t)off)
        return fn_error(L, fn, "%lld bytes at byte %lld lie outside the %zu bytes read", (long long)nb, (long long)off, len);
    if ((uint64_t)nb != (uint64_t)cnn_shape_numel(&sh) * cnn_dtype_size(dt))
        return fn_error(L, fn, "%lld bytes cannot hold %s %lld elements", (long long)nb, cnn_dtype_name(dt),
                        (long long)cnn_shape_numel(&sh));
    cnn_tensor **box = push_box(L);
    if ((*box = cnn_empty(ctx_of(L), &sh, dt)) == NULL) return fail(L, fn);
    if (nb) memcpy(cnn_data(*box), s + off, (size_t)nb);
    return 1;
}

static const luaL_Reg module_fns[] = {
    { "safetensors_write", l_safetensors_write }, { "safetensors_tensor", l_safetensors_tensor }, { NULL, NULL }
};

static const luaL_Reg file_fns[] = { { "write", l_file_write }, { NULL, NULL } };

void cnn_open_serialize(lua_State *L, int ctx, int module, int methods) {
    register_fns(L, module_fns, ctx, module, 0);
    lua_newtable(L);
    register_fns(L, file_fns, ctx, lua_gettop(L), 0);
    lua_setfield(L, module, "_file");
}
