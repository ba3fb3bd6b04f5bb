/* lua_util.h: helpers shared by the bindings: the per-state context (upvalue 1 of every
 * function), tensor boxes, argument checks and error raising. Only bindings raise; every message
 * names the function literally: "cnn.view: argument 1 (shape): ...". */
#ifndef CNN_LUA_UTIL_H
#define CNN_LUA_UTIL_H

#include <lua.h>
#include <lauxlib.h>

#include "cnn.h"

#define CNN_TENSOR_MT "cnn.Tensor"

cnn_ctx *ctx_of(lua_State *L);
/* a new empty box (holds NULL) on the stack, with the Tensor metatable; may raise */
cnn_tensor **push_box(lua_State *L);
/* the box's tensor, or raise "cnn.<fn>: <core message>" if it is NULL. It also paces the
 * collector by tensor bytes (gc_account), so it may run finalizers, i.e. Lua code: call it once the
 * result is boxed, and use no raw tensor pointer fetched before it afterwards. */
int push_result(lua_State *L, cnn_tensor **box, const char *fn);
/* the common one-tensor binding: f(argument 1, checked as fn's argument named arg), boxed */
int push_map(lua_State *L, const char *fn, const char *arg, cnn_tensor *(*f)(cnn_ctx *, const cnn_tensor *));
int fail(lua_State *L, const char *fn);
int l_profile_start(lua_State *L);                        /* cnn._profile_start (lua_util.c) */
int l_profile_stop(lua_State *L);                         /* cnn._profile_stop */
int l_profile_clock(lua_State *L);                        /* cnn._profile_clock: monotonic seconds */                   /* raises with the context's message */
/* "cnn.<fn>: argument N (name): <msg>"; N counts as the user sees it (self excluded) */
int arg_error(lua_State *L, const char *fn, int arg, const char *name, const char *fmt, ...);
int fn_error(lua_State *L, const char *fn, const char *fmt, ...);

int is_tensor(lua_State *L, int idx);
/* what the value at idx is, for "got ..." in messages: a tensor as "float32 [2,3]" (the one
 * description of tensors in messages), anything else as its Lua type name */
const char *type_desc(lua_State *L, int idx);
/* check_tensor takes a float32 or float64 tensor: an int64 one is refused with "expected a float32
 * or float64 tensor, got int64 [3]", so ops without int64 kernels never read one as floats.
 * check_tensor_any (and hold_tensor_any) take every dtype: for views, copies, element access and
 * the ops that have int64 kernels. */
cnn_tensor *check_tensor(lua_State *L, int idx, const char *fn, const char *name);
cnn_tensor *check_tensor_any(lua_State *L, int idx, const char *fn, const char *name);
cnn_tensor *opt_tensor(lua_State *L, int idx, const char *fn, const char *name);   /* nil -> NULL */
/* A tensor pointer is valid only until the next call that can run Lua code: a metamethod, or any
 * allocation (push_box, lua_newuserdatauv, lua_createtable, lua_pushstring), whose GC step may
 * call a finalizer that closes the tensor. Bindings therefore read tables raw and fetch (or
 * fetch again) their tensors after the last allocation before the core call. When allocations
 * must interleave with uses (building tables of results), hold_tensor checks the tensor at idx
 * and pushes a box with a reference of its own, valid for the rest of the call. */
cnn_tensor *hold_tensor(lua_State *L, int idx, const char *fn, const char *name);
cnn_tensor *hold_tensor_any(lua_State *L, int idx, const char *fn, const char *name);
int64_t check_int(lua_State *L, int idx, const char *fn, const char *name);
double check_num(lua_State *L, int idx, const char *fn, const char *name);
/* 1-based (negative from the end) dimension in [1, ndim + extra] -> 0-based */
int check_dim(lua_State *L, int idx, const char *fn, const char *name, int ndim, int extra);
/* a shape: a table of sizes at idx, or integers from idx on; *next = first index after it */
void check_shape(lua_State *L, int idx, const char *fn, const char *name, cnn_shape *s, int allow_neg1, int *next);
/* trailing options: a dtype string or a table {dtype=, requires_grad=} at idx (may be none) */
void check_opts(lua_State *L, int idx, const char *fn, cnn_dtype *dt, int *requires_grad);
/* The one options-table check (C bindings call it; Lua modules reach it as
 * cnn._util.check_options). The value at idx must be none, nil or a plain table whose keys are all
 * in `known` (NULL-terminated); otherwise raises "cnn.<fn>: argument N (options): unknown option
 * 'k' (expected a, b, c)". Traverses raw: no metamethod (no Lua code) runs. Returns 1 if a table
 * is there. Read the values with opt_rawget (raw as well). */
int check_options(lua_State *L, int idx, const char *fn, const char *const *known);
/* pushes options[key] read raw (nil if the options are none or nil); returns its type */
int opt_rawget(lua_State *L, int idx, const char *key);
cnn_dtype check_dtype(lua_State *L, int idx, const char *fn, const char *name);

/* registration of each binding file, called by luaopen_cnn_core with absolute stack indices of
 * the context userdata, the module table and the Tensor methods table */
void cnn_open_tensor(lua_State *L, int ctx, int module, int methods);
void cnn_open_ops(lua_State *L, int ctx, int module, int methods);
void cnn_open_autograd(lua_State *L, int ctx, int module, int methods);
void cnn_open_nn(lua_State *L, int ctx, int module, int methods);
void cnn_open_data(lua_State *L, int ctx, int module, int methods);
void cnn_open_metrics(lua_State *L, int ctx, int module, int methods);
void cnn_open_plot(lua_State *L, int ctx, int module, int methods);
void cnn_open_conv(lua_State *L, int ctx, int module, int methods);
void cnn_open_optim(lua_State *L, int ctx, int module, int methods);
void cnn_open_serialize(lua_State *L, int ctx, int module, int methods);
void cnn_open_util(lua_State *L, int ctx, int module, int methods);
void cnn_open_bench(lua_State *L, int ctx, int module, int methods);
void cnn_open_linalg(lua_State *L, int ctx, int module, int methods);
void cnn_open_sort(lua_State *L, int ctx, int module, int methods);
/* each fn becomes a closure over the context, stored in module and/or methods (0: neither) */
void register_fns(lua_State *L, const luaL_Reg *fns, int ctx, int module, int methods);

#endif
