/* lua_mpi.c: cnn._mpi, the MPI binding behind cnn.distributed (lua/cnn/distributed.lua), a module
 * of its own (built only when Open MPI is installed; see the Makefile's MPI_SO).
 *
 * Tensor data: this module is linked outside core.so, and Lua loads C modules with RTLD_LOCAL, so
 * no function of the core can be called from here. It needs none: a tensor is a userdata box
 * (metatable "cnn.Tensor", registered by the core in the registry shared by every module of the
 * state) holding a cnn_tensor *, whose layout and the inline accessors cnn_data/cnn_numel come from
 * csrc/cnn.h, compiled by the same Makefile into both modules. This file only reads the header
 * fields and writes elements in place (bumping the storage's version, as cnn_bump_version does, so
 * autograd sees the write). Results of new shapes (all_gather) are allocated by the Lua side and
 * filled here. No Lua code runs between fetching a tensor and using it (raw reads only; MPI calls
 * and malloc run no Lua), following the bindings' rule.
 *
 * Exit: MPI_Init registers an on_exit handler: a normal exit (status 0) calls MPI_Finalize, any
 * other (an uncaught Lua error: lua5.4 prints the message, then exits with 1) calls MPI_Abort, so
 * mpirun ends every rank instead of leaving them blocked in a collective. The module is linked
 * with -z nodelete so the handler stays mapped after lua_close unloads C modules. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <mpi.h>

#include "cnn.h"

#define TENSOR_MT "cnn.Tensor"

static int exit_registered;

static int mpi_active(void) {
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    return init && !fin;
}

static void at_exit(int status, void *arg) {
    (void)arg;
    if (!mpi_active()) return;
    if (status != 0) MPI_Abort(MPI_COMM_WORLD, status);
    else MPI_Finalize();
}

static int l_init(lua_State *L) {
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (fin) return luaL_error(L, "cnn.distributed.init: MPI was finalized; it cannot be started again in this process");
    if (!init) {
        int provided;
        /* funneled: only the Lua thread calls MPI; OpenMP/OpenBLAS threads never do */
        if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
            return luaL_error(L, "cnn.distributed.init: MPI_Init_thread failed");
        /* errors return codes (raised as Lua errors) instead of aborting inside MPI */
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
        if (!exit_registered) { on_exit(at_exit, NULL); exit_registered = 1; }
    }
    return 0;
}

static int need_active(lua_State *L, const char *fn) {
    if (!mpi_active()) return luaL_error(L, "cnn.distributed.%s: MPI is not initialized (call cnn.distributed.init() first)", fn);
    return 0;
}

static int mpi_check(lua_State *L, int rc, const char *fn) {
    if (rc == MPI_SUCCESS) return 0;
    char msg[MPI_MAX_ERROR_STRING];
    int n = 0;
    MPI_Error_string(rc, msg, &n);
    msg[n < MPI_MAX_ERROR_STRING ? n : MPI_MAX_ERROR_STRING - 1] = 0;
    return luaL_error(L, "cnn.distributed.%s: MPI error: %s", fn, msg);
}

static int l_is_initialized(lua_State *L) { lua_pushboolean(L, mpi_active()); return 1; }

static int l_rank(lua_State *L) {
    need_active(L, "rank");
    int r;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    lua_pushinteger(L, r + 1);
    return 1;
}

static int l_size(lua_State *L) {
    need_active(L, "size");
    int s;
    MPI_Comm_size(MPI_COMM_WORLD, &s);
    lua_pushinteger(L, s);
    return 1;
}

static int l_barrier(lua_State *L) {
    need_active(L, "barrier");
    mpi_check(L, MPI_Barrier(MPI_COMM_WORLD), "barrier");
    return 0;
}

static int l_finalize(lua_State *L) {
    if (mpi_active()) mpi_check(L, MPI_Finalize(), "finalize");
    return 0;
}

/* cnn._mpi.abort(code): ends every rank */
static int l_abort(lua_State *L) {
    int code = (int)luaL_optinteger(L, 1, 1);
    if (mpi_active()) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

static int is_contig(const cnn_tensor *t) {
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->size[i] != 1 && t->stride[i] != s) return 0;
        s *= t->size[i];
    }
    return 1;
}

/* the tensor at idx: float32/float64 and contiguous (the Lua side checks and words the user's
 * errors; these are the last line) */
static cnn_tensor *get_tensor(lua_State *L, int idx, const char *fn) {
    cnn_tensor **box = luaL_testudata(L, idx, TENSOR_MT);
    if (box == NULL || *box == NULL) { luaL_error(L, "cnn.distributed.%s: expected a tensor", fn); return NULL; }
    cnn_tensor *t = *box;
    if (t->dtype != CNN_F32 && t->dtype != CNN_F64)
        luaL_error(L, "cnn.distributed.%s: expected a float32 or float64 tensor", fn);
    if (!is_contig(t)) luaL_error(L, "cnn.distributed.%s: expected a contiguous tensor", fn);
    return t;
}

static MPI_Datatype mpi_type(const cnn_tensor *t) { return t->dtype == CNN_F32 ? MPI_FLOAT : MPI_DOUBLE; }

static MPI_Op check_op(lua_State *L, int idx, const char *fn, int *mean) {
    const char *s = luaL_checkstring(L, idx);
    *mean = 0;
    if (strcmp(s, "sum") == 0) return MPI_SUM;
    if (strcmp(s, "mean") == 0) { *mean = 1; return MPI_SUM; }
    if (strcmp(s, "max") == 0) return MPI_MAX;
    if (strcmp(s, "min") == 0) return MPI_MIN;
    luaL_error(L, "cnn.distributed.%s: unknown op '%s'", fn, s);
    return MPI_SUM;
}

static void scale(void *p, int64_t n, int dtype, double k) {
    if (dtype == CNN_F32) { float *x = p; float kf = (float)k; for (int64_t i = 0; i < n; i++) x[i] *= kf; }
    else { double *x = p; for (int64_t i = 0; i < n; i++) x[i] *= k; }
}

/* counts above INT_MAX elements go in pieces */
#define CHUNK ((int64_t)1 << 30)

/* broadcast(t, root0) */
static int l_broadcast(lua_State *L) {
    need_active(L, "broadcast");
    int root = (int)luaL_checkinteger(L, 2);
    cnn_tensor *t = get_tensor(L, 1, "broadcast");
    int64_t n = cnn_numel(t);
    size_t es = t->dtype == CNN_F32 ? 4 : 8;
    char *p = n ? cnn_data(t) : NULL;
    for (int64_t o = 0; o < n; o += CHUNK) {
        int c = (int)(n - o < CHUNK ? n - o : CHUNK);
        mpi_check(L, MPI_Bcast(p + o * es, c, mpi_type(t), root, MPI_COMM_WORLD), "broadcast");
    }
    t->storage->version++;
    return 0;
}

/* all_reduce(t, op) in place */
static int l_all_reduce(lua_State *L) {
    need_active(L, "all_reduce");
    int mean;
    MPI_Op op = check_op(L, 2, "all_reduce", &mean);
    cnn_tensor *t = get_tensor(L, 1, "all_reduce");
    int64_t n = cnn_numel(t);
    size_t es = t->dtype == CNN_F32 ? 4 : 8;
    char *p = n ? cnn_data(t) : NULL;
    for (int64_t o = 0; o < n; o += CHUNK) {
        int c = (int)(n - o < CHUNK ? n - o : CHUNK);
        mpi_check(L, MPI_Allreduce(MPI_IN_PLACE, p + o * es, c, mpi_type(t), op, MPI_COMM_WORLD), "all_reduce");
    }
    if (mean && n) {
        int size;
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        scale(p, n, t->dtype, 1.0 / size);
    }
    t->storage->version++;
    return 0;
}

/* all_gather(src, dst): dst (contiguous, size * numel(src) elements, same dtype) receives every
 * rank's src in rank order */
static int l_all_gather(lua_State *L) {
    need_active(L, "all_gather");
    cnn_tensor *src = get_tensor(L, 1, "all_gather");
    cnn_tensor *dst = get_tensor(L, 2, "all_gather");
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int64_t n = cnn_numel(src);
    if (dst->dtype != src->dtype || cnn_numel(dst) != n * size)
        return luaL_error(L, "cnn.distributed.all_gather: internal: result of the wrong size");
    if (n > INT32_MAX) return luaL_error(L, "cnn.distributed.all_gather: more than 2^31-1 elements per rank");
    if (n) mpi_check(L, MPI_Allgather(cnn_data(src), (int)n, mpi_type(src), cnn_data(dst), (int)n, mpi_type(dst),
                                      MPI_COMM_WORLD), "all_gather");
    dst->storage->version++;
    return 0;
}

/* reduce_many(list, op, bucket_bytes): all-reduces the tensors of list (one dtype, contiguous) in
 * place, packed into buckets of about bucket_bytes: one MPI_Allreduce per bucket (a tensor larger
 * than a bucket goes alone, unpacked). Returns the number of all-reduces made. */
static int l_reduce_many(lua_State *L) {
    need_active(L, "reduce_many");
    luaL_checktype(L, 1, LUA_TTABLE);
    int mean;
    MPI_Op op = check_op(L, 2, "sync_gradients", &mean);
    int64_t bucket = luaL_checkinteger(L, 3);
    if (bucket < 1) bucket = 1;
    lua_Integer m = (lua_Integer)lua_rawlen(L, 1);
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    double k = mean ? 1.0 / size : 1.0;
    /* check every tensor first (raises before any MPI call, on every rank alike) */
    int dtype = -1;
    for (lua_Integer i = 1; i <= m; i++) {
        lua_rawgeti(L, 1, i);
        cnn_tensor *t = get_tensor(L, -1, "sync_gradients");
        if (dtype < 0) dtype = t->dtype;
        else if ((int)t->dtype != dtype) return luaL_error(L, "cnn.distributed.sync_gradients: internal: mixed dtypes in one call");
        lua_pop(L, 1);
    }
    if (m == 0) { lua_pushinteger(L, 0); return 1; }
    size_t es = dtype == CNN_F32 ? 4 : 8;
    MPI_Datatype mt = dtype == CNN_F32 ? MPI_FLOAT : MPI_DOUBLE;
    int64_t cap = bucket / (int64_t)es;
    if (cap < 1) cap = 1;
    if (cap > CHUNK) cap = CHUNK;
    char *buf = NULL;
    int calls = 0;
    lua_Integer i = 1;
    while (i <= m) {
        /* a bucket: tensors i..j-1 whose total fits cap (at least one) */
        lua_rawgeti(L, 1, i);
        cnn_tensor *t = *(cnn_tensor **)lua_touserdata(L, -1);
        lua_pop(L, 1);
        int64_t n = cnn_numel(t);
        if (n >= cap) {   /* alone, in place, in pieces */
            char *p = n ? cnn_data(t) : NULL;
            for (int64_t o = 0; o < n; o += CHUNK) {
                int c = (int)(n - o < CHUNK ? n - o : CHUNK);
                int rc = MPI_Allreduce(MPI_IN_PLACE, p + o * es, c, mt, op, MPI_COMM_WORLD);
                if (rc != MPI_SUCCESS) { free(buf); mpi_check(L, rc, "sync_gradients"); }
                calls++;
            }
            if (k != 1.0 && n) scale(p, n, dtype, k);
            t->storage->version++;
            i++;
            continue;
        }
        if (buf == NULL && (buf = malloc((size_t)cap * es)) == NULL)
            return luaL_error(L, "cnn.distributed.sync_gradients: out of memory (bucket of %lld bytes)", (long long)(cap * es));
        int64_t used = 0;
        lua_Integer j = i;
        while (j <= m) {
            lua_rawgeti(L, 1, j);
            cnn_tensor *u = *(cnn_tensor **)lua_touserdata(L, -1);
            lua_pop(L, 1);
            int64_t nu = cnn_numel(u);
            if (used + nu > cap) break;
            if (nu) memcpy(buf + used * es, cnn_data(u), (size_t)nu * es);
            used += nu;
            j++;
        }
        if (used) {
            int rc = MPI_Allreduce(MPI_IN_PLACE, buf, (int)used, mt, op, MPI_COMM_WORLD);
            if (rc != MPI_SUCCESS) { free(buf); mpi_check(L, rc, "sync_gradients"); }
            calls++;
            if (k != 1.0) scale(buf, used, dtype, k);
        }
        used = 0;
        for (; i < j; i++) {
            lua_rawgeti(L, 1, i);
            cnn_tensor *u = *(cnn_tensor **)lua_touserdata(L, -1);
            lua_pop(L, 1);
            int64_t nu = cnn_numel(u);
            if (nu) memcpy(cnn_data(u), buf + used * es, (size_t)nu * es);
            used += nu;
            u->storage->version++;
        }
    }
    free(buf);
    lua_pushinteger(L, calls);
    return 1;
}

static int l_wtime(lua_State *L) { lua_pushnumber(L, MPI_Wtime()); return 1; }

static const luaL_Reg fns[] = {
    { "init", l_init }, { "is_initialized", l_is_initialized }, { "rank", l_rank }, { "size", l_size },
    { "barrier", l_barrier }, { "finalize", l_finalize }, { "abort", l_abort }, { "broadcast", l_broadcast },
    { "all_reduce", l_all_reduce }, { "all_gather", l_all_gather }, { "reduce_many", l_reduce_many },
    { "wtime", l_wtime }, { NULL, NULL } };

int luaopen_cnn__mpi(lua_State *L) {
    luaL_newlib(L, fns);
    return 1;
}
