/* context.c: the per-Lua-state context (last error, memory tally, block cache, generator,
 * workspace, grad mode, thread count). It is the only mutable state of the core; there are no C
 * globals. Storages hold a reference to it, so it outlives every tensor even at lua_close. */
#include "cnn.h"
#include "tensor.h"

#include <cblas.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Storage blocks of CACHE_MIN bytes or more are rounded up to a size class (a quarter-power of
 * two: 64, 80, 96, 112, 128 KiB, ...; at most 25% more) and, when freed, kept on the class's
 * free list for the next block of that class. Without it, every fresh tensor of a training step
 * is a new mmap and pays its page faults again (2.4 ms for 6.4 MB). The cache holds at most
 * 1.5x the peak of live bytes, so a process never holds much more than 2.5x its peak; at 1.25x
 * a LeNet step still gave one 6.4 MB block back to the system and mapped it again every step
 * (5% of the step in page faults). cnn.memory() reports the cache and cnn.empty_cache() frees
 * it. Under AddressSanitizer cached blocks are poisoned, so a use after release is still
 * caught. */
#define CACHE_MIN_LOG 16
#define CACHE_CLASSES 128                  /* exponents 16..47 */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define CACHE_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define CACHE_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define CACHE_POISON(p, n) ((void)(p), (void)(n))
#define CACHE_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

struct cnn_ctx {
    int refcount;
    char err[1024];
    int64_t mem_live, mem_peak;
    int64_t mem_new;               /* bytes allocated since cnn_mem_take_new last looked */
    int64_t mem_since_full;        /* bytes allocated since cnn_mem_collected was last called */
    int64_t mem_after_full;        /* live bytes then */
    cnn_rng rng;
    void *cache[CACHE_CLASSES];    /* free blocks of each size class, linked through their first word */
    int64_t cache_bytes;
    void *ws;
    size_t ws_size;
    int grad_enabled;
    int num_threads;
    int conv_algo;                 /* CNN_CONV_AUTO, or a path forced by cnn._conv_algo (tests, bench) */
    int defer_sync;                /* atomic writes skip fsync until turned off (then one sync()) */
    cnn_prof *prof;                /* cnn.profile's tally while it runs, else NULL */
};

cnn_ctx *cnn_ctx_new(void) {
    cnn_ctx *c = calloc(1, sizeof *c);
    if (c == NULL) return NULL;
    c->refcount = 1;
    c->grad_enabled = 1;
    cnn_rng_seed(&c->rng, 0);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    c->num_threads = n > 0 ? (int)n : 1;
    openblas_set_num_threads(1);
    const char *algo = getenv("CNN_CONV_ALGO");      /* the benchmarks' way to compare paths */
    if (algo && strcmp(algo, "im2col") == 0) c->conv_algo = CNN_CONV_IM2COL;
    else if (algo && strcmp(algo, "winograd") == 0) c->conv_algo = CNN_CONV_WINOGRAD;
    return c;
}

void cnn_ctx_retain(cnn_ctx *c) { if (c) c->refcount++; }

void cnn_ctx_release(cnn_ctx *c) {
    if (c == NULL || --c->refcount > 0) return;
    cnn_cache_free(c);
    free(c->prof);
    free(c->ws);
    free(c);
}

/* the size class of a block of n bytes, and its rounded size; -1 when it is not cached */
static int cache_class(size_t n, size_t *rounded) {
    *rounded = n;
    if (n < ((size_t)1 << CACHE_MIN_LOG)) return -1;
    int k = 63 - __builtin_clzll((unsigned long long)n);       /* 2^k <= n < 2^(k+1) */
    size_t q = (size_t)1 << (k - 2);
    size_t r = (n + q - 1) / q * q;                             /* 4q .. 8q */
    int cls = (k - CACHE_MIN_LOG) * 4 + (int)(r / q - 4);
    if (cls >= CACHE_CLASSES) return -1;
    *rounded = r;
    return cls;
}

void *cnn_block_alloc(cnn_ctx *c, size_t nbytes) {
    size_t r;
    int cls = cache_class(nbytes, &r);
    void *p = cls >= 0 ? c->cache[cls] : NULL;
    if (p) {
        CACHE_UNPOISON(p, r);
        c->cache[cls] = *(void **)p;
        c->cache_bytes -= (int64_t)r;
        return p;
    }
    /* cached (big) blocks start on a page: where a tensor lands relative to the pages must not
     * depend on what the process allocated before (N64 32->64 14x14 fwd+bwd at 2 threads ran
     * 4.9 ms in a fresh process, 5.8-6.3 after a 1->32 layer; page-aligned, 4.8-5.1 both ways) */
    if (posix_memalign(&p, cls >= 0 ? 4096 : 64, r ? r : 64) != 0) return NULL;
    return p;
}

void cnn_block_free(cnn_ctx *c, void *p, size_t nbytes) {
    size_t r;
    int cls = cache_class(nbytes, &r);
    if (p == NULL) return;
    /* the bound is on rounded sizes: a lone tensor of the peak's size is kept too */
    if (cls < 0 || c->cache_bytes + (int64_t)r > c->mem_peak + c->mem_peak / 2) { free(p); return; }
    *(void **)p = c->cache[cls];
    c->cache[cls] = p;
    c->cache_bytes += (int64_t)r;
    CACHE_POISON(p, r);
}

int64_t cnn_mem_cached(const cnn_ctx *c) { return c->cache_bytes; }

void cnn_cache_free(cnn_ctx *c) {
    for (int i = 0; i < CACHE_CLASSES; i++)
        while (c->cache[i]) {
            void *p = c->cache[i];
            CACHE_UNPOISON(p, sizeof(void *));
            c->cache[i] = *(void **)p;
            free(p);
        }
    c->cache_bytes = 0;
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

int64_t cnn_mem_since_collected(const cnn_ctx *c, int64_t *live_then) {
    *live_then = c->mem_after_full;
    return c->mem_since_full;
}
void cnn_mem_collected(cnn_ctx *c) { c->mem_since_full = 0; c->mem_after_full = c->mem_live; }

void cnn_mem_add(cnn_ctx *c, int64_t bytes) {
    c->mem_live += bytes;
    if (bytes > 0) { c->mem_new += bytes; c->mem_since_full += bytes; }
    if (c->mem_live > c->mem_peak) c->mem_peak = c->mem_live;
}

/* Grows geometrically and is kept: im2col and reduction scratch reuse it across calls. */
void *cnn_ws_get(cnn_ctx *c, size_t bytes) {
    if (bytes <= c->ws_size) return c->ws;
    size_t n = c->ws_size ? c->ws_size : 4096;
    while (n < bytes) n = n > SIZE_MAX / 2 ? bytes : n * 2;
    void *p = NULL;
    if (posix_memalign(&p, 4096, n) != 0) {            /* on a page, as cached blocks */
        cnn_seterr(c, "out of memory (workspace of %zu bytes)", bytes);
        return NULL;
    }
    free(c->ws);
    c->ws = p;
    c->ws_size = n;
    return p;
}

void cnn_ws_free(cnn_ctx *c) { free(c->ws); c->ws = NULL; c->ws_size = 0; }

int cnn_grad_enabled(const cnn_ctx *c) { return c->grad_enabled; }
int cnn_set_grad_enabled(cnn_ctx *c, int on) {
    int old = c->grad_enabled;
    c->grad_enabled = on != 0;
    return old;
}

/* The kernels split their work over num_threads OpenMP threads themselves (the batch of a
 * convolution, the rows of a GEMM) and call BLAS single-threaded inside them. OpenBLAS's own
 * threads stay at 1: after each threaded call they spin for ~0.1 s, and on a 2-core machine
 * that starved the next OpenMP region (a 1.2 ms convolution took 8 ms right after one). */
void cnn_set_num_threads(cnn_ctx *c, int n) {
    c->num_threads = n < 1 ? 1 : n;
    openblas_set_num_threads(1);
}
int cnn_get_num_threads(const cnn_ctx *c) { return c->num_threads; }

void cnn_set_conv_algo(cnn_ctx *c, int algo) { c->conv_algo = algo; }
int cnn_get_conv_algo(const cnn_ctx *c) { return c->conv_algo; }

void cnn_set_defer_sync(cnn_ctx *c, int on) {
    if (c->defer_sync && !on) sync();
    c->defer_sync = on != 0;
}
int cnn_get_defer_sync(const cnn_ctx *c) { return c->defer_sync; }

cnn_rng *cnn_ctx_rng(cnn_ctx *c) { return &c->rng; }

/* cnn.profile: wall time per op name (forward: the binding; backward: the graph node) */
double cnn_prof_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

cnn_prof *cnn_prof_of(const cnn_ctx *c) { return c->prof; }

int cnn_prof_start(cnn_ctx *c) {
    if (c->prof == NULL && (c->prof = calloc(1, sizeof *c->prof)) == NULL) return cnn_seterr(c, "out of memory");
    memset(c->prof, 0, sizeof *c->prof);
    return 0;
}

void cnn_prof_stop(cnn_ctx *c) { free(c->prof); c->prof = NULL; }

void cnn_prof_add(cnn_prof *p, const char *name, int backward, double sec) {
    int i;
    for (i = 0; i < p->n; i++)
        if (p->e[i].backward == backward && strcmp(p->e[i].name, name) == 0) break;
    if (i == p->n) {
        if (p->n == CNN_PROF_MAX) { p->dropped++; return; }
        snprintf(p->e[i].name, sizeof p->e[i].name, "%s", name);
        p->e[i].backward = backward;
        p->n++;
    }
    p->e[i].sec += sec > 0 ? sec : 0;
    p->e[i].count++;
}
