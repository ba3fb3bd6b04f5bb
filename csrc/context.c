/* context.c: the per-Lua-state context (last error, memory tally, generator, workspace, grad
 * mode, thread count). It is the only mutable state of the core; there are no C globals.
 * Storages hold a reference to it, so it outlives every tensor even at lua_close. */
#include "cnn.h"
#include "tensor.h"

#include <cblas.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct cnn_ctx {
    int refcount;
    char err[1024];
    int64_t mem_live, mem_peak;
    int64_t mem_new;               /* bytes allocated since cnn_mem_take_new last looked */
    cnn_rng rng;
    void *ws;
    size_t ws_size;
    int grad_enabled;
    int num_threads;
};

cnn_ctx *cnn_ctx_new(void) {
    cnn_ctx *c = calloc(1, sizeof *c);
    if (c == NULL) return NULL;
    c->refcount = 1;
    c->grad_enabled = 1;
    cnn_rng_seed(&c->rng, 0);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    c->num_threads = n > 0 ? (int)n : 1;
    return c;
}

void cnn_ctx_retain(cnn_ctx *c) { if (c) c->refcount++; }

void cnn_ctx_release(cnn_ctx *c) {
    if (c == NULL || --c->refcount > 0) return;
    free(c->ws);
    free(c);
}

const char *cnn_errmsg(const cnn_ctx *c) { return c->err; }

int cnn_seterr(cnn_ctx *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    return -1;
}

int64_t cnn_mem_live(const cnn_ctx *c) { return c->mem_live; }
int64_t cnn_mem_peak(const cnn_ctx *c) { return c->mem_peak; }
void cnn_mem_reset_peak(cnn_ctx *c) { c->mem_peak = c->mem_live; }
int64_t cnn_mem_take_new(cnn_ctx *c, int64_t min) {
    int64_t n = c->mem_new;
    if (n < min) return 0;
    c->mem_new = 0;
    return n;
}

void cnn_mem_add(cnn_ctx *c, int64_t bytes) {
    c->mem_live += bytes;
    if (bytes > 0) c->mem_new += bytes;
    if (c->mem_live > c->mem_peak) c->mem_peak = c->mem_live;
}

/* Grows geometrically and is kept: im2col and reduction scratch reuse it across calls. */
void *cnn_ws_get(cnn_ctx *c, size_t bytes) {
    if (bytes <= c->ws_size) return c->ws;
    size_t n = c->ws_size ? c->ws_size : 4096;
    while (n < bytes) n = n > SIZE_MAX / 2 ? bytes : n * 2;
    void *p = NULL;
    if (posix_memalign(&p, 64, n) != 0) {
        cnn_seterr(c, "out of memory (workspace of %zu bytes)", bytes);
        return NULL;
    }
    free(c->ws);
    c->ws = p;
    c->ws_size = n;
    return p;
}

void cnn_ws_free(cnn_ctx *c) { free(c->ws); c->ws = NULL; c->ws_size = 0; }
size_t cnn_ws_size(const cnn_ctx *c) { return c->ws_size; }

int cnn_grad_enabled(const cnn_ctx *c) { return c->grad_enabled; }
int cnn_set_grad_enabled(cnn_ctx *c, int on) {
    int old = c->grad_enabled;
    c->grad_enabled = on != 0;
    return old;
}

void cnn_set_num_threads(cnn_ctx *c, int n) {
    c->num_threads = n < 1 ? 1 : n;
    openblas_set_num_threads(c->num_threads);
}
int cnn_get_num_threads(const cnn_ctx *c) { return c->num_threads; }

cnn_rng *cnn_ctx_rng(cnn_ctx *c) { return &c->rng; }
