/* op_optim.c: cnn_optim_step, the checks and per-dtype dispatch of the optimizer updates.
 * Kernels: op_optim.inc. Binding: lua_optim.c (cnn.optim_step); Lua classes: lua/cnn/optim/.
 * No autograd here: updates write parameters in place and bump their versions. */
#include "op_optim.h"

#include "tensor.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define OPTIM_CHUNK (INT64_C(1) << 15)      /* elements per chunk: 128 KiB of float32 per array */

#define CNN_GEN_FILE "op_optim.inc"
#include "gen.h"

static const char *const kind_names[] = { "sgd", "adam", "adamw", "rmsprop", "adagrad" };

/* which slots the kind needs with these hyperparameters */
static int slot_used(const cnn_optim_hyper *h, int j) {
    switch (h->kind) {
    case CNN_OPT_SGD: return j == 0 && h->momentum != 0;
    case CNN_OPT_ADAM: case CNN_OPT_ADAMW: return j < 2 || (j == 2 && h->amsgrad);
    case CNN_OPT_RMSPROP: return j == 0 || (j == 1 && h->momentum > 0) || (j == 2 && h->centered);
    case CNN_OPT_ADAGRAD: return j == 0;
    }
    return 0;
}

static int same_shape(const cnn_tensor *a, const cnn_tensor *b) {
    cnn_shape x = cnn_shape_of(a), y = cnn_shape_of(b);
    return cnn_shape_eq(&x, &y);
}

static int check_one(cnn_ctx *c, const cnn_optim_hyper *h, int i, const cnn_tensor *p, cnn_tensor *const *st) {
    char a[256], b[256];
    const char *k = kind_names[h->kind];
    if (p->grad == NULL) return cnn_seterr(c, "%s: parameter %d has no gradient", k, i + 1);
    if (!cnn_is_contiguous(p) || !cnn_is_contiguous(p->grad))
        return cnn_seterr(c, "%s: parameter %d and its gradient must be contiguous", k, i + 1);
    if (p->grad->dtype != p->dtype || !same_shape(p, p->grad))
        return cnn_seterr(c, "%s: parameter %d is %s but its gradient is %s", k, i + 1,
                          cnn_tensor_desc(a, sizeof a, p), cnn_tensor_desc(b, sizeof b, p->grad));
    for (int j = 0; j < CNN_OPTIM_SLOTS; j++) {
        const cnn_tensor *s = st[j];
        if (!slot_used(h, j)) continue;
        if (s == NULL) return cnn_seterr(c, "%s: parameter %d lacks state tensor %d", k, i + 1, j + 1);
        if (s->dtype != p->dtype || !same_shape(s, p) || !cnn_is_contiguous(s))
            return cnn_seterr(c, "%s: state tensor %d of parameter %d is %s, expected a contiguous %s", k, j + 1,
                              i + 1, cnn_tensor_desc(a, sizeof a, s), cnn_tensor_desc(b, sizeof b, p));
    }
    return 0;
}

/* the elements [off, off+n) of parameter p */
static void step_f32(const cnn_optim_hyper *h, cnn_tensor *p, cnn_tensor *const *st, int64_t t, int64_t off,
                     int64_t n) {
    float *x = (float *)cnn_data(p) + off, *s[CNN_OPTIM_SLOTS];
    const float *g = (float *)cnn_data(p->grad) + off;
    for (int j = 0; j < CNN_OPTIM_SLOTS; j++) s[j] = slot_used(h, j) ? (float *)cnn_data(st[j]) + off : NULL;
    switch (h->kind) {
    case CNN_OPT_SGD: sgd_step_f32(x, g, s[0], n, h, t == 1); break;
    case CNN_OPT_ADAM: case CNN_OPT_ADAMW: adam_step_f32(x, g, s[0], s[1], s[2], n, h, t); break;
    case CNN_OPT_RMSPROP: rmsprop_step_f32(x, g, s[0], s[1], s[2], n, h); break;
    case CNN_OPT_ADAGRAD: adagrad_step_f32(x, g, s[0], n, h, t); break;
    }
}

/* the elements [off, off+n) of parameter p */
static void step_f64(const cnn_optim_hyper *h, cnn_tensor *p, cnn_tensor *const *st, int64_t t, int64_t off,
                     int64_t n) {
    double *x = (double *)cnn_data(p) + off, *s[CNN_OPTIM_SLOTS];
    const double *g = (double *)cnn_data(p->grad) + off;
    for (int j = 0; j < CNN_OPTIM_SLOTS; j++) s[j] = slot_used(h, j) ? (double *)cnn_data(st[j]) + off : NULL;
    switch (h->kind) {
    case CNN_OPT_SGD: sgd_step_f64(x, g, s[0], n, h, t == 1); break;
    case CNN_OPT_ADAM: case CNN_OPT_ADAMW: adam_step_f64(x, g, s[0], s[1], s[2], n, h, t); break;
    case CNN_OPT_RMSPROP: rmsprop_step_f64(x, g, s[0], s[1], s[2], n, h); break;
    case CNN_OPT_ADAGRAD: adagrad_step_f64(x, g, s[0], n, h, t); break;
    }
}

static int cmp_ptr(const void *a, const void *b) {
    uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
    return (x > y) - (x < y);
}

/* 1 when two of the arrays an update touches (parameters, gradients, state) share a storage, or
 * on no memory to tell: then chunks on different threads could write what another reads */
static int shares_storage(const cnn_optim_hyper *h, int n, cnn_tensor *const *p, cnn_tensor *const *state) {
    size_t cap = (size_t)n * (2 + CNN_OPTIM_SLOTS), k = 0;
    void **v = malloc(cap * sizeof *v);
    if (v == NULL) return 1;
    for (int i = 0; i < n; i++) {
        v[k++] = p[i]->storage;
        v[k++] = p[i]->grad->storage;
        for (int j = 0; j < CNN_OPTIM_SLOTS; j++)
            if (slot_used(h, j)) v[k++] = state[(size_t)i * CNN_OPTIM_SLOTS + j]->storage;
    }
    qsort(v, k, sizeof *v, cmp_ptr);
    int dup = 0;
    for (size_t i = 1; i < k && !dup; i++) dup = v[i] == v[i - 1];
    free(v);
    return dup;
}

int cnn_optim_step(cnn_ctx *c, const cnn_optim_hyper *h, int n, cnn_tensor *const *p,
                   cnn_tensor *const *state, const int64_t *step) {
    for (int i = 0; i < n; i++) {
        if (check_one(c, h, i, p[i], state + (size_t)i * CNN_OPTIM_SLOTS) < 0) return -1;
        if (step[i] < 1) return cnn_seterr(c, "%s: step count %lld of parameter %d must be >= 1",
                                           kind_names[h->kind], (long long)step[i], i + 1);
    }
    /* The update of each element depends on that element only: the parameters are cut into
     * chunks the threads share, and the result is the same at any thread count. One thread
     * took 32 ms for resnet18's 11.7 M parameters (SGD with momentum), 6% of a step. */
    int64_t chunks = 0, total = 0;
    for (int i = 0; i < n; i++) {
        chunks += (cnn_numel(p[i]) + OPTIM_CHUNK - 1) / OPTIM_CHUNK;
        total += cnn_numel(p[i]);
    }
    int64_t *first = malloc(((size_t)n + 1) * sizeof *first);      /* first chunk of each parameter */
    if (first == NULL) return cnn_seterr(c, "%s: out of memory", kind_names[h->kind]);
    first[0] = 0;
    for (int i = 0; i < n; i++) first[i + 1] = first[i] + (cnn_numel(p[i]) + OPTIM_CHUNK - 1) / OPTIM_CHUNK;
    int T = total >= (INT64_C(1) << 17) ? cnn_get_num_threads(c) : 1;
    if (T > 1 && shares_storage(h, n, p, state)) T = 1;      /* chunks could race: one thread, in order */
    #pragma omp parallel for num_threads(T) schedule(dynamic, 4) if (T > 1)
    for (int64_t k = 0; k < chunks; k++) {
        int lo = 0, hi = n;                       /* the parameter whose chunks hold k */
        while (hi - lo > 1) { int mid = (lo + hi) / 2; if (first[mid] <= k) lo = mid; else hi = mid; }
        while (first[lo + 1] <= k) lo++;          /* skip empty parameters */
        cnn_tensor *const *st = state + (size_t)lo * CNN_OPTIM_SLOTS;
        int64_t off = (k - first[lo]) * OPTIM_CHUNK, len = cnn_numel(p[lo]) - off;
        if (len > OPTIM_CHUNK) len = OPTIM_CHUNK;
        if (p[lo]->dtype == CNN_F32) step_f32(h, p[lo], st, step[lo], off, len);
        else step_f64(h, p[lo], st, step[lo], off, len);
    }
    free(first);
    for (int i = 0; i < n; i++) {
        cnn_tensor *const *st = state + (size_t)i * CNN_OPTIM_SLOTS;
        cnn_bump_version(p[i]);
        for (int j = 0; j < CNN_OPTIM_SLOTS; j++) if (slot_used(h, j)) cnn_bump_version(st[j]);
    }
    return 0;
}
