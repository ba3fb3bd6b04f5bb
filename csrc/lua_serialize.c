/* lua_serialize.c: the raw-byte half of cnn.save / cnn.load (lua/cnn/serialize.lua builds and parses
 * the safetensors JSON header). cnn.safetensors_write writes header + tensor bytes to a temporary
 * file beside the target, fsyncs it and renames it over the target, so a failed or interrupted
 * save leaves the old file intact; cnn.safetensors_tensor makes a tensor from a byte range of a
 * string. Data are little-endian, as on every machine cnn builds for. Spec: spec/serialize_spec.lua. */
#include "lua_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

/* the temporary file is closed and removed by this when anything fails */
typedef struct { FILE *f; char *tmp; } pending_file;

static void pending_drop(pending_file *p) {
    if (p->f) fclose(p->f);
    if (p->tmp) { unlink(p->tmp); free(p->tmp); }
    p->f = NULL;
    p->tmp = NULL;
}

static int pending_gc(lua_State *L) {
    pending_drop(lua_touserdata(L, 1));
    return 0;
}

/* cnn.safetensors_write(path, header, {tensors in data order}) */
static int l_safetensors_write(lua_State *L) {
    const char *fn = "save";
    const char *path = luaL_checkstring(L, 1);
    size_t hlen;
    const char *header = luaL_checklstring(L, 2, &hlen);
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_Integer n = luaL_len(L, 3);
    for (lua_Integer i = 1; i <= n; i++) {            /* check everything before touching the disk */
        lua_geti(L, 3, i);
        cnn_tensor **b = luaL_testudata(L, -1, CNN_TENSOR_MT);
        if (b == NULL || *b == NULL) fn_error(L, fn, "tensor %lld to write is missing or closed", (long long)i);
        lua_pop(L, 1);
    }
    pending_file *p = lua_newuserdatauv(L, sizeof *p, 0);
    p->f = NULL;
    p->tmp = NULL;
    lua_newtable(L);
    lua_pushcfunction(L, pending_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    size_t pl = strlen(path);
    if ((p->tmp = malloc(pl + 16)) == NULL) return fn_error(L, fn, "out of memory");
    snprintf(p->tmp, pl + 16, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(p->tmp);
    if (fd < 0) {
        int err = errno;
        free(p->tmp); p->tmp = NULL;
        return fn_error(L, fn, "cannot create %s (its folder must exist and be writable): %s", path, strerror(err));
    }
    /* mkstemp makes the file 0600; a saved model gets the mode any new file would (0666 & ~umask).
     * umask can only be read by setting it: set and restore at once. */
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    if ((p->f = fdopen(fd, "wb")) == NULL) { close(fd); pending_drop(p); return fn_error(L, fn, "cannot write %s: %s", path, strerror(errno)); }
    unsigned char len8[8];
    for (int k = 0; k < 8; k++) len8[k] = (unsigned char)((uint64_t)hlen >> (8 * k));
    int ok = fwrite(len8, 1, 8, p->f) == 8 && fwrite(header, 1, hlen, p->f) == hlen;
    cnn_ctx *c = ctx_of(L);
    for (lua_Integer i = 1; ok && i <= n; i++) {
        lua_geti(L, 3, i);
        cnn_tensor *t = *(cnn_tensor **)lua_touserdata(L, -1);
        lua_pop(L, 1);
        cnn_tensor *ct = cnn_contiguous(c, t);
        if (ct == NULL) { pending_drop(p); return fail(L, fn); }
        size_t nb = (size_t)cnn_numel(ct) * cnn_dtype_size(ct->dtype);
        ok = nb == 0 || fwrite(cnn_data(ct), 1, nb, p->f) == nb;
        cnn_tensor_release(ct);
    }
    ok = ok && fflush(p->f) == 0 && fsync(fileno(p->f)) == 0;
    int err = errno;
    ok = (fclose(p->f) == 0) && ok;
    p->f = NULL;
    if (!ok || rename(p->tmp, path) != 0) {
        if (ok) err = errno;
        pending_drop(p);
        return fn_error(L, fn, "cannot write %s: %s", path, strerror(err));
    }
    free(p->tmp);
    p->tmp = NULL;
    return 0;
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
        return fn_error(L, fn, "bytes %lld..%lld lie outside the %zu bytes read", (long long)off, (long long)(off + nb), len);
    if ((uint64_t)nb != (uint64_t)cnn_shape_numel(&sh) * cnn_dtype_size(dt))
        return fn_error(L, fn, "%lld bytes cannot hold %s %lld elements", (long long)nb, cnn_dtype_name(dt),
                        (long long)cnn_shape_numel(&sh));
    cnn_tensor **box = push_box(L);
    if ((*box = cnn_empty(ctx_of(L), &sh, dt)) == NULL) return fail(L, fn);
    if (nb) memcpy(cnn_data(*box), s + off, (size_t)nb);
    return 1;
}

static const luaL_Reg private_fns[] = {
    { "safetensors_write", l_safetensors_write }, { "safetensors_tensor", l_safetensors_tensor }, { NULL, NULL }
};

/* cnn._serialize: private, called by lua/cnn/serialize.lua (cnn.save, cnn.load) only */
void cnn_open_serialize(lua_State *L, int ctx, int module, int methods) {
    (void)methods;
    lua_newtable(L);
    register_fns(L, private_fns, ctx, lua_gettop(L), 0);
    lua_setfield(L, module, "_serialize");
}
