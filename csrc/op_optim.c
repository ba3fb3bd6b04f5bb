/* op_optim.c: cnn_optim_step, the checks and per-dtype dispatch of the optimizer updates.
 * Kernels: op_optim.inc. Binding: lua_optim.c (cnn.optim_step); Lua classes: lua/cnn/optim/.
 * No autograd here: updates write parameters in place and bump their versions. */
#include "op_optim.h"

#include <math.h>
#include <stddef.h>

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

static void step_f32(const cnn_optim_hyper *h, cnn_tensor *p, cnn_tensor *const *st, int64_t t) {
    float *x = cnn_data(p), *s[CNN_OPTIM_SLOTS];
    const float *g = cnn_data(p->grad);
    for (int j = 0; j < CNN_OPTIM_SLOTS; j++) s[j] = slot_used(h, j) ? cnn_data(st[j]) : NULL;
    int64_t n = cnn_numel(p);
    switch (h->kind) {
    case CNN_OPT_SGD: sgd_step_f32(x, g, s[0], n, h, t == 1); break;
    case CNN_OPT_ADAM: case CNN_OPT_ADAMW: adam_step_f32(x, g, s[0], s[1], s[2], n, h, t); break;
    case CNN_OPT_RMSPROP: rmsprop_step_f32(x, g, s[0], s[1], s[2], n, h); break;
    case CNN_OPT_ADAGRAD: adagrad_step_f32(x, g, s[0], n, h, t); break;
    }
}

static void step_f64(const cnn_optim_hyper *h, cnn_tensor *p, cnn_tensor *const *st, int64_t t) {
    double *x = cnn_data(p), *s[CNN_OPTIM_SLOTS];
    const double *g = cnn_data(p->grad);
    for (int j = 0; j < CNN_OPTIM_SLOTS; j++) s[j] = slot_used(h, j) ? cnn_data(st[j]) : NULL;
    int64_t n = cnn_numel(p);
    switch (h->kind) {
    case CNN_OPT_SGD: sgd_step_f64(x, g, s[0], n, h, t == 1); break;
    case CNN_OPT_ADAM: case CNN_OPT_ADAMW: adam_step_f64(x, g, s[0], s[1], s[2], n, h, t); break;
    case CNN_OPT_RMSPROP: rmsprop_step_f64(x, g, s[0], s[1], s[2], n, h); break;
    case CNN_OPT_ADAGRAD: adagrad_step_f64(x, g, s[0], n, h, t); break;
    }
}

int cnn_optim_step(cnn_ctx *c, const cnn_optim_hyper *h, int n, cnn_tensor *const *p,
                   cnn_tensor *const *state, const int64_t *step) {
    for (int i = 0; i < n; i++) {
        if (check_one(c, h, i, p[i], state + (size_t)i * CNN_OPTIM_SLOTS) < 0) return -1;
        if (step[i] < 1) return cnn_seterr(c, "%s: step count %lld of parameter %d must be >= 1",
                                           kind_names[h->kind], (long long)step[i], i + 1);
    }
    for (int i = 0; i < n; i++) {
        cnn_tensor *const *st = state + (size_t)i * CNN_OPTIM_SLOTS;
        if (p[i]->dtype == CNN_F32) step_f32(h, p[i], st, step[i]);
        else step_f64(h, p[i], st, step[i]);
        cnn_bump_version(p[i]);
        for (int j = 0; j < CNN_OPTIM_SLOTS; j++) if (slot_used(h, j)) cnn_bump_version(st[j]);
    }
    return 0;
}
