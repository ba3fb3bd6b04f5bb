/* lua_util.c: the binding helpers declared in lua_util.h. */
#include "lua_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

cnn_ctx *ctx_of(lua_State *L) {
    return *(cnn_ctx **)lua_touserdata(L, lua_upvalueindex(1));
}

/* Lua's collector sees an 8-byte box, not the tensor data behind it, so a loop making big
 * temporaries would let garbage pile up for a long time. Two measures keep it in step:
 * - each new 256 KB of storage is reported as a GC step of that size;
 * - a full collection runs once the tensor bytes allocated since the last one exceed a quarter
 *   of what was live after it (so dead tensors add at most ~25% to the peak), or the Lua heap if
 *   that is larger (a collection walks the heap: its cost stays below the tensor work between
 *   two), or 1 MB. Tensor memory is what runs out, hence a tighter pause than Lua's 100%.
 *   The steps alone were not enough: Lua 5.4.4's incremental cycles, driven from here, left the
 *   result of `x + x` unfinalized when a method was then called on it ((x + x):relu(), as in a
 *   resnet block), and a resnet18 loop grew by 8 MB a step until a full collection.
 * Allocations made where no box is pushed (backward, optimizer steps) count at the next call.
 * Skipped while the user has stopped the collector. A collection runs finalizers, which run Lua
 * code: this runs only in push_result, once the result is boxed. */
static void gc_account(lua_State *L) {
    cnn_ctx *c = ctx_of(L);
    if (lua_gc(L, LUA_GCISRUNNING) != 1) return;   /* 0: stopped by the user; -1: inside a finalizer */
    int64_t live_then, since = cnn_mem_since_collected(c, &live_then);
    int64_t heap = (int64_t)lua_gc(L, LUA_GCCOUNT) << 10, pause = live_then / 4;
    if (heap > pause) pause = heap;
    if (pause < (INT64_C(1) << 20)) pause = INT64_C(1) << 20;
    if (since > pause) {
        lua_gc(L, LUA_GCCOLLECT);
        cnn_mem_collected(c);
        cnn_mem_take_new(c, 0);
        return;
    }
    int64_t n = cnn_mem_take_new(c, INT64_C(256) << 10);
    if (n > 0) lua_gc(L, LUA_GCSTEP, (int)(n > (INT64_C(1) << 40) ? INT32_MAX : n >> 10));
}

cnn_tensor **push_box(lua_State *L) {
    cnn_tensor **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    luaL_setmetatable(L, CNN_TENSOR_MT);
    return box;
}

int fail(lua_State *L, const char *fn) {
    return luaL_error(L, "cnn.%s: %s", fn, cnn_errmsg(ctx_of(L)));
}

int push_result(lua_State *L, cnn_tensor **box, const char *fn) {
    if (*box == NULL) return fail(L, fn);
    cnn_prof *prof = cnn_prof_of(ctx_of(L));
    if (prof && prof->thread == (void *)L) cnn_prof_add(prof, fn, 0, cnn_prof_now() - prof->t0);
    gc_account(L);
    return 1;
}

int push_map(lua_State *L, const char *fn, const char *arg, cnn_tensor *(*f)(cnn_ctx *, const cnn_tensor *)) {
    check_tensor(L, 1, fn, arg);
    cnn_tensor **box = push_box(L);              /* may run finalizers: fetch the tensor after it */
    *box = f(ctx_of(L), check_tensor(L, 1, fn, arg));
    return push_result(L, box, fn);
}

/* called as a method (t:f(x))? then the user counts arguments from x */
static int seen_as_method(lua_State *L) {
    lua_Debug ar;
    if (!lua_getstack(L, 0, &ar)) return 0;
    lua_getinfo(L, "n", &ar);
    return ar.namewhat && strcmp(ar.namewhat, "method") == 0;
}

int arg_error(lua_State *L, const char *fn, int arg, const char *name, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (seen_as_method(L)) arg--;
    if (arg <= 0) return luaL_error(L, "cnn.%s: self: %s", fn, msg);
    return luaL_error(L, "cnn.%s: argument %d (%s): %s", fn, arg, name, msg);
}

int fn_error(lua_State *L, const char *fn, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return luaL_error(L, "cnn.%s: %s", fn, msg);
}

int is_tensor(lua_State *L, int idx) { return luaL_testudata(L, idx, CNN_TENSOR_MT) != NULL; }

const char *type_desc(lua_State *L, int idx) {
    static _Thread_local char buf[4][200];      /* a few per message, no Lua allocation */
    static _Thread_local int next;
    cnn_tensor **box = luaL_testudata(L, idx, CNN_TENSOR_MT);
    if (box == NULL) return luaL_typename(L, idx);
    if (*box == NULL) return "a closed tensor";
    char *b = buf[next++ & 3];
    return cnn_tensor_desc(b, sizeof buf[0], *box);
}

cnn_tensor *check_tensor_any(lua_State *L, int idx, const char *fn, const char *name) {
    cnn_tensor **box = luaL_testudata(L, idx, CNN_TENSOR_MT);
    if (box == NULL) arg_error(L, fn, idx, name, "expected a tensor, got %s", type_desc(L, idx));
    if (*box == NULL) arg_error(L, fn, idx, name, "the tensor was closed");
    return *box;
}

/* the one dtype gate: ops without int64 kernels take their tensors through here */
cnn_tensor *check_tensor(lua_State *L, int idx, const char *fn, const char *name) {
    cnn_tensor *t = check_tensor_any(L, idx, fn, name);
    if (!cnn_dtype_is_float(t->dtype))
        arg_error(L, fn, idx, name, "expected a float32 or float64 tensor, got %s", type_desc(L, idx));
    return t;
}

static cnn_tensor *hold_with(lua_State *L, int idx, const char *fn, const char *name,
                             cnn_tensor *(*check)(lua_State *, int, const char *, const char *)) {
    check(L, idx, fn, name);                          /* the argument error first */
    cnn_tensor **hold = push_box(L);                  /* may run finalizers, which may close it */
    cnn_tensor *t = check(L, idx, fn, name);
    cnn_tensor_retain(t);
    *hold = t;
    return t;
}

cnn_tensor *hold_tensor(lua_State *L, int idx, const char *fn, const char *name) {
    return hold_with(L, idx, fn, name, check_tensor);
}

cnn_tensor *hold_tensor_any(lua_State *L, int idx, const char *fn, const char *name) {
    return hold_with(L, idx, fn, name, check_tensor_any);
}

cnn_tensor *opt_tensor(lua_State *L, int idx, const char *fn, const char *name) {
    return lua_isnoneornil(L, idx) ? NULL : check_tensor(L, idx, fn, name);
}

int64_t check_int(lua_State *L, int idx, const char *fn, const char *name) {
    int ok;
    lua_Integer v = lua_tointegerx(L, idx, &ok);
    if (!ok) {
        if (lua_type(L, idx) == LUA_TNUMBER)
            arg_error(L, fn, idx, name, "expected an integer, got %s", lua_tostring(L, idx));
        arg_error(L, fn, idx, name, "expected an integer, got %s", type_desc(L, idx));
    }
    return (int64_t)v;
}

double check_num(lua_State *L, int idx, const char *fn, const char *name) {
    if (lua_type(L, idx) != LUA_TNUMBER)
        arg_error(L, fn, idx, name, "expected a number, got %s", type_desc(L, idx));
    return lua_tonumber(L, idx);
}

int check_dim(lua_State *L, int idx, const char *fn, const char *name, int ndim, int extra) {
    int64_t d = check_int(L, idx, fn, name);
    int64_t n = ndim + extra;
    if (d == 0 || d > n || d < -n) {
        if (n == 0) arg_error(L, fn, idx, name, "a 0-d tensor has no dimension %lld", (long long)d);
        arg_error(L, fn, idx, name, "dimension %lld is out of range (expected 1..%lld or -%lld..-1)",
                  (long long)d, (long long)n, (long long)n);
    }
    return (int)(d > 0 ? d - 1 : n + d);
}

static int64_t shape_size(lua_State *L, int idx, const char *fn, const char *name, int allow_neg1, int pos) {
    int ok;
    lua_Integer v = lua_tointegerx(L, -1, &ok);
    if (!ok) {
        const char *got = lua_type(L, -1) == LUA_TNUMBER ? lua_tostring(L, -1) : type_desc(L, -1);
        arg_error(L, fn, idx, name, "size %d must be an integer, got %s", pos, got);
    }
    if (v < 0 && !(allow_neg1 && v == -1))
        arg_error(L, fn, idx, name, "size %d must be >= 0%s, got %lld", pos, allow_neg1 ? " (or -1)" : "", (long long)v);
    return (int64_t)v;
}

void check_shape(lua_State *L, int idx, const char *fn, const char *name, cnn_shape *s, int allow_neg1, int *next) {
    s->ndim = 0;
    if (lua_istable(L, idx) && !is_tensor(L, idx)) {
        /* raw: no __len/__index (no Lua code) runs while a caller may hold tensor pointers */
        lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
        if (n > CNN_MAX_DIM) arg_error(L, fn, idx, name, "expected at most %d sizes, got %lld", CNN_MAX_DIM, (long long)n);
        for (int i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, i);
            s->size[s->ndim++] = shape_size(L, idx, fn, name, allow_neg1, i);
            lua_pop(L, 1);
        }
        if (next) *next = idx + 1;
        return;
    }
    int i = idx;
    while (lua_type(L, i) == LUA_TNUMBER) {
        if (s->ndim == CNN_MAX_DIM) arg_error(L, fn, idx, name, "expected at most %d sizes", CNN_MAX_DIM);
        lua_pushvalue(L, i);
        s->size[s->ndim++] = shape_size(L, i, fn, name, allow_neg1, i - idx + 1);
        lua_pop(L, 1);
        i++;
    }
    if (i == idx && !next)
        arg_error(L, fn, idx, name, "expected a shape (a table of sizes, or sizes as arguments), got %s", type_desc(L, idx));
    if (i == idx && !lua_isnoneornil(L, idx) && lua_type(L, idx) != LUA_TSTRING && !lua_istable(L, idx))
        arg_error(L, fn, idx, name, "expected a shape (a table of sizes, or sizes as arguments), got %s", type_desc(L, idx));
    if (next) *next = i;
}

/* the dtype named by the string at vidx, reported as argument argn (name) if it is not one */
static cnn_dtype dtype_at(lua_State *L, int vidx, int argn, const char *fn, const char *name) {
    if (lua_type(L, vidx) != LUA_TSTRING)
        arg_error(L, fn, argn, name, "expected \"float32\", \"float64\" or \"int64\", got %s", type_desc(L, vidx));
    const char *s = lua_tostring(L, vidx);
    if (strcmp(s, "float32") == 0 || strcmp(s, "float") == 0) return CNN_F32;
    if (strcmp(s, "float64") == 0 || strcmp(s, "double") == 0) return CNN_F64;
    if (strcmp(s, "int64") == 0 || strcmp(s, "long") == 0) return CNN_I64;
    arg_error(L, fn, argn, name, "expected \"float32\", \"float64\" or \"int64\", got \"%s\"", s);
    return CNN_F32;
}

cnn_dtype check_dtype(lua_State *L, int idx, const char *fn, const char *name) {
    return dtype_at(L, idx, idx, fn, name);
}

void check_opts(lua_State *L, int idx, const char *fn, cnn_dtype *dt, int *requires_grad) {
    static const char *const with_rg[] = { "dtype", "requires_grad", NULL };
    static const char *const dtype_only[] = { "dtype", NULL };
    *dt = CNN_F32;
    if (requires_grad) *requires_grad = 0;
    if (lua_isnoneornil(L, idx)) return;
    if (lua_type(L, idx) == LUA_TSTRING) { *dt = check_dtype(L, idx, fn, "dtype"); return; }
    if (!lua_istable(L, idx))
        arg_error(L, fn, idx, "options", "expected a dtype string or an options table, got %s", type_desc(L, idx));
    check_options(L, idx, fn, requires_grad ? with_rg : dtype_only);
    if (opt_rawget(L, idx, "dtype") != LUA_TNIL) *dt = dtype_at(L, lua_gettop(L), idx, fn, "options");
    lua_pop(L, 1);
    if (requires_grad) {
        opt_rawget(L, idx, "requires_grad");
        *requires_grad = lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (*requires_grad && !cnn_dtype_is_float(*dt))
            arg_error(L, fn, idx, "options", "only float32 and float64 tensors can require grad, not %s",
                      cnn_dtype_name(*dt));
    }
}

/* the first key of the table at idx (absolute) that is not in known (NULL-terminated), as
 * "unknown option 'k' (expected a, b, c)" in msg; 0 if there is none. Raw traversal (lua_next),
 * and no allocation: no Lua code runs. */
static int unknown_option(lua_State *L, int idx, const char *const *known, char *msg, size_t n) {
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        int found = 0;
        for (const char *const *a = known; k && *a && !found; a++) found = strcmp(k, *a) == 0;
        if (!found) {
            size_t m = k ? (size_t)snprintf(msg, n, "unknown option '%.60s' (expected ", k)
                         : (size_t)snprintf(msg, n, "unknown option of type %s (expected ", type_desc(L, -2));
            for (const char *const *a = known; *a && m < n; a++)
                m += (size_t)snprintf(msg + m, n - m, "%s%s", a == known ? "" : ", ", *a);
            if (m < n) snprintf(msg + m, n - m, "%s)", *known ? "" : "no options");
            lua_pop(L, 2);
            return 1;
        }
        lua_pop(L, 1);
    }
    return 0;
}

int check_options(lua_State *L, int idx, const char *fn, const char *const *known) {
    if (lua_isnoneornil(L, idx)) return 0;
    if (lua_type(L, idx) != LUA_TTABLE)
        arg_error(L, fn, idx, "options", "expected an options table, got %s", type_desc(L, idx));
    char msg[400];
    if (unknown_option(L, lua_absindex(L, idx), known, msg, sizeof msg)) arg_error(L, fn, idx, "options", "%s", msg);
    return 1;
}

int opt_rawget(lua_State *L, int idx, const char *key) {
    if (lua_type(L, idx) != LUA_TTABLE) { lua_pushnil(L); return LUA_TNIL; }
    idx = lua_absindex(L, idx);
    lua_pushstring(L, key);
    return lua_rawget(L, idx);
}

/* cnn._util.check_options(fn, argn, options, known): the same check for the Lua modules; fn is
 * the full name ("cnn.metrics.auc_ci"), argn the options' position as the user counts it */
static int l_check_options(lua_State *L) {
    const char *fn = luaL_checkstring(L, 1);
    lua_Integer argn = luaL_checkinteger(L, 2);
    luaL_checktype(L, 4, LUA_TTABLE);
    if (lua_isnoneornil(L, 3)) { lua_pushboolean(L, 0); return 1; }
    if (lua_type(L, 3) != LUA_TTABLE)
        return luaL_error(L, "%s: argument %d (options): expected an options table, got %s", fn, (int)argn,
                          type_desc(L, 3));
    /* the known names as a C list; the strings stay alive in the table at 4 */
    const char *known[65];
    lua_Integer n = (lua_Integer)lua_rawlen(L, 4);
    if (n > 64) return luaL_error(L, "cnn._util.check_options: at most 64 known options, got %d", (int)n);
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, 4, i) != LUA_TSTRING)
            return luaL_error(L, "cnn._util.check_options: known option %d is not a string", (int)i);
        known[i - 1] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    known[n] = NULL;
    char msg[400];
    if (unknown_option(L, 3, known, msg, sizeof msg))
        return luaL_error(L, "%s: argument %d (options): %s", fn, (int)argn, msg);
    lua_pushboolean(L, 1);
    return 1;
}

/* the private helpers the Lua modules share, as cnn._util */
void cnn_open_util(lua_State *L, int ctx, int module, int methods) {
    static const luaL_Reg fns[] = { { "check_options", l_check_options }, { NULL, NULL } };
    lua_newtable(L);
    int t = lua_gettop(L);
    register_fns(L, fns, ctx, t, 0);
    lua_setfield(L, module, "_util");
}

/* each function becomes a closure over the context (at stack index ctx) and is stored in the
 * module table and/or the Tensor methods table (index 0: not stored there) */
void register_fns(lua_State *L, const luaL_Reg *fns, int ctx, int module, int methods) {
    for (; fns->name; fns++) {
        lua_pushvalue(L, ctx);
        lua_pushcclosure(L, fns->func, 1);
        if (module) { lua_pushvalue(L, -1); lua_setfield(L, module, fns->name); }
        if (methods) { lua_pushvalue(L, -1); lua_setfield(L, methods, fns->name); }
        lua_pop(L, 1);
    }
}

/* cnn.profile (lua/cnn/profile.lua) turns the tally on with _profile_start and reads it back with
 * _profile_stop. While it runs, a call hook stamps the start of every function call: the binding
 * that reaches push_result is the last function called, so push_result charges the time since
 * that stamp to its name. Lua threads made before the start have no hook; their ops go uncounted
 * (prof->thread tells them apart). The hook that was set before (a debugger, a coverage tool)
 * is put back at the stop. */
static const char prof_key = 0, prof_saved = 0;

static void prof_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &prof_key);
    cnn_ctx *c = lua_touserdata(L, -1);
    lua_pop(L, 1);
    cnn_prof *prof = c ? cnn_prof_of(c) : NULL;
    if (prof) { prof->t0 = cnn_prof_now(); prof->thread = L; }
}

int l_profile_start(lua_State *L) {
    cnn_ctx *c = ctx_of(L);
    if (cnn_prof_of(c)) return fn_error(L, "profile", "a profile is already running");
    if (cnn_prof_start(c) < 0) return fail(L, "profile");
    lua_pushlightuserdata(L, c);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &prof_key);
    /* the previous hook, kept in the registry for the stop */
    lua_createtable(L, 0, 3);
    lua_pushlightuserdata(L, (void *)lua_gethook(L));  /* function pointer as light userdata */
    lua_setfield(L, -2, "hook");
    lua_pushinteger(L, lua_gethookmask(L));
    lua_setfield(L, -2, "mask");
    lua_pushinteger(L, lua_gethookcount(L));
    lua_setfield(L, -2, "count");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &prof_saved);
    lua_sethook(L, prof_hook, LUA_MASKCALL, 0);
    return 0;
}

/* stops the tally and returns it: a list of {name=, backward=, seconds=, calls=} */
int l_profile_stop(lua_State *L) {
    cnn_ctx *c = ctx_of(L);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &prof_saved);
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "hook");
        lua_Hook h;
        void *hp = lua_touserdata(L, -1);
        memcpy(&h, &hp, sizeof h);
        lua_getfield(L, -2, "mask");
        lua_getfield(L, -3, "count");
        lua_sethook(L, h, (int)lua_tointeger(L, -2), (int)lua_tointeger(L, -1));
        lua_pop(L, 3);
    } else {
        lua_sethook(L, NULL, 0, 0);
    }
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &prof_saved);
    cnn_prof *prof = cnn_prof_of(c);
    if (prof == NULL) return 0;
    /* copy out before allocating (an allocation may run a finalizer: no op pushes a result then,
     * but stay safe and detach the tally first) */
    cnn_prof snap = *prof;
    cnn_prof_stop(c);
    lua_createtable(L, snap.n, 0);
    for (int i = 0; i < snap.n; i++) {
        lua_createtable(L, 0, 4);
        lua_pushstring(L, snap.e[i].name);
        lua_setfield(L, -2, "name");
        lua_pushboolean(L, snap.e[i].backward);
        lua_setfield(L, -2, "backward");
        lua_pushnumber(L, snap.e[i].sec);
        lua_setfield(L, -2, "seconds");
        lua_pushinteger(L, snap.e[i].count);
        lua_setfield(L, -2, "calls");
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

int l_profile_clock(lua_State *L) {
    lua_pushnumber(L, cnn_prof_now());
    return 1;
}
