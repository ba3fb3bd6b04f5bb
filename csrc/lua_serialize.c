/* lua_serialize.c: the C half of cnn.save / cnn.load (lua/cnn/serialize.lua builds the header
 * of a save). cnn.safetensors_write writes header + tensor bytes through
 * atomic_file.c (temporary, fsync, rename), so a failed or interrupted save leaves the old file
 * intact; cnn._file.write does the same for any bytes (plots); cnn.safetensors_load reads a file
 * through the Lua-free checks of csrc/safetensors.c (header, entries, checkpoint layout). Data
 * are little-endian, as on every machine cnn builds for. Spec: spec/serialize_spec.lua. */
#include "lua_util.h"
#include "atomic_file.h"
#include "safetensors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* a zeroed userdata of `size` bytes whose __gc (metatable `mt`) frees what a save or load holds,
 * so that an error raised half-way leaks nothing */
static void *push_guard(lua_State *L, size_t size, const char *mt, lua_CFunction gc) {
    void *j = lua_newuserdatauv(L, size, 0);
    memset(j, 0, size);
    if (luaL_newmetatable(L, mt)) {
        lua_pushcfunction(L, gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    return j;
}

static save_job *push_job(lua_State *L) { return push_guard(L, sizeof(save_job), "cnn.save_job", job_gc); }

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

/* cnn._file.defer_sync(on) -> the previous setting: while on, atomic writes skip their fsyncs
 * (bulk writers: cnn.amd.simulate's images); turning it off syncs the file system once */
static int l_file_defer_sync(lua_State *L) {
    cnn_ctx *c = ctx_of(L);
    int prev = cnn_get_defer_sync(c);
    cnn_set_defer_sync(c, lua_toboolean(L, 1));
    lua_pushboolean(L, prev);
    return 1;
}

/* a load in progress: the parsed header and layout, freed by __gc whatever raises */
typedef struct load_job { cnn_st_file f; cnn_json *layout; } load_job;

static int load_gc(lua_State *L) {
    load_job *j = lua_touserdata(L, 1);
    cnn_st_free(&j->f);
    cnn_json_free(j->layout);
    j->layout = NULL;
    return 0;
}

/* the Lua value of a checked layout node v (csrc/safetensors.c checked every form) */
static void push_layout(lua_State *L, const cnn_json *v, int tensors) {
    luaL_checkstack(L, 4, "cnn.load: the layout is nested too deeply");
    if (v->type == CNN_JSTR) { lua_pushlstring(L, v->str, v->len); return; }
    if (v->type == CNN_JBOOL) { lua_pushboolean(L, v->boolean); return; }
    const cnn_json *m = &v->kid[0];
    switch (m->key[0]) {
    case 't': lua_pushlstring(L, m->str, m->len); lua_rawget(L, tensors); return;
    case 'i': lua_pushinteger(L, (lua_Integer)strtoll(m->str, NULL, 10)); return;
    case 'f': lua_pushnumber(L, strtod(m->str, NULL)); return;
    default:
        lua_createtable(L, 0, (int)(m->n < 1000000 ? m->n : 0));
        for (size_t q = 0; q < m->n; q++) {
            push_layout(L, &m->kid[q].kid[0], tensors);
            push_layout(L, &m->kid[q].kid[1], tensors);
            lua_rawset(L, -3);
        }
    }
}

/* cnn.safetensors_load(path) -> the checkpoint as saved (its layout), or a table name -> tensor
 * for files written elsewhere */
static int l_safetensors_load(lua_State *L) {
    const char *fn = "load";
    const char *path = luaL_checkstring(L, 1);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) return fn_error(L, fn, "cannot open %s: %s", path, strerror(errno));
    /* the whole file in one userdata (a model can be 100 MB: no buffer doubling). A Lua memory
     * error before fclose would leak fp: the state is lost then anyway */
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(fp);
        return fn_error(L, fn, "cannot open %s: not a regular file", path);
    }
    unsigned char *buf = lua_newuserdatauv(L, (size_t)st.st_size + 1, 0);
    size_t n = fread(buf, 1, (size_t)st.st_size, fp);
    int bad = ferror(fp);
    fclose(fp);
    if (bad) return fn_error(L, fn, "%s: read error: %s", path, strerror(errno));
    load_job *j = push_guard(L, sizeof *j, "cnn.load_job", load_gc);
    cnn_ctx *c = ctx_of(L);
    if (cnn_st_parse(c, buf, n, &j->f) < 0) return fn_error(L, fn, "%s: %s", path, cnn_errmsg(c));
    lua_createtable(L, 0, (int)j->f.n);
    int tensors = lua_gettop(L);
    for (size_t k = 0; k < j->f.n; k++) {
        lua_pushlstring(L, j->f.e[k].name, j->f.e[k].namelen);
        cnn_tensor **box = push_box(L);
        if ((*box = cnn_st_tensor(c, &j->f, buf, k)) == NULL) return fn_error(L, fn, "%s: %s", path, cnn_errmsg(c));
        lua_rawset(L, tensors);
    }
    if (j->f.layout == NULL) return 1;
    if ((j->layout = cnn_st_layout(c, &j->f)) == NULL) return fn_error(L, fn, "%s: %s", path, cnn_errmsg(c));
    push_layout(L, j->layout, tensors);
    return 1;
}

static const luaL_Reg private_fns[] = {
    { "safetensors_write", l_safetensors_write }, { "safetensors_load", l_safetensors_load }, { NULL, NULL }
};

static const luaL_Reg file_fns[] = { { "write", l_file_write }, { "defer_sync", l_file_defer_sync }, { NULL, NULL } };

/* cnn._serialize: private, called by lua/cnn/serialize.lua (cnn.save, cnn.load) only;
 * cnn._file.write: the atomic writer for the Lua modules (plots, CSV, ...) */
void cnn_open_serialize(lua_State *L, int ctx, int module, int methods) {
    (void)methods;
    lua_newtable(L);
    register_fns(L, private_fns, ctx, lua_gettop(L), 0);
    lua_setfield(L, module, "_serialize");
    lua_newtable(L);
    register_fns(L, file_fns, ctx, lua_gettop(L), 0);
    lua_setfield(L, module, "_file");
}
