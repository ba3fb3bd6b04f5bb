/* metrics.c: the numerics of cnn.metrics on plain double arrays: midranks, ROC points with
 * pROC's thresholds (midpoints between distinct scores), AUC by the Mann-Whitney statistic,
 * DeLong's variance from placements (fast midrank form of Sun & Xu 2014), bootstrap
 * replicates (stratified by class, or resampling whole groups), confusion matrices, calibration
 * bins and the normal quantile. Higher scores mean "positive". Binding: lua_metrics.c;
 * Lua side: lua/cnn/metrics.lua; spec: metrics_spec.lua. */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct { double v; int64_t i; } keyed;

static int cmp_keyed(const void *a, const void *b) {
    const keyed *x = a, *y = b;
    if (x->v < y->v) return -1;
    if (x->v > y->v) return 1;
    return (x->i > y->i) - (x->i < y->i);   /* stable, so results never depend on qsort */
}

int cnn_midranks(cnn_ctx *c, const double *x, int64_t n, double *rank) {
    keyed *k = malloc((size_t)(n ? n : 1) * sizeof *k);
    if (k == NULL) return cnn_seterr(c, "out of memory");
    for (int64_t i = 0; i < n; i++) { k[i].v = x[i]; k[i].i = i; }
    qsort(k, (size_t)n, sizeof *k, cmp_keyed);
    for (int64_t a = 0; a < n; ) {
        int64_t b = a;
        while (b + 1 < n && k[b + 1].v == k[a].v) b++;
        double r = 0.5 * (double)(a + b) + 1;      /* ranks a+1..b+1, averaged */
        for (int64_t j = a; j <= b; j++) rank[k[j].i] = r;
        a = b + 1;
    }
    free(k);
    return 0;
}

int cnn_roc(cnn_ctx *c, const double *s, const double *y, int64_t n, double *fpr, double *tpr,
            double *thr, int64_t *npts) {
    int64_t P = 0, N = 0;
    for (int64_t i = 0; i < n; i++) { if (y[i] != 0) P++; else N++; }
    if (P == 0 || N == 0) return cnn_seterr(c, "a ROC curve needs both classes (got %lld positive and %lld negative)", (long long)P, (long long)N);
    keyed *k = malloc((size_t)n * sizeof *k);
    if (k == NULL) return cnn_seterr(c, "out of memory");
    for (int64_t i = 0; i < n; i++) { k[i].v = -s[i]; k[i].i = i; }   /* descending scores */
    qsort(k, (size_t)n, sizeof *k, cmp_keyed);
    int64_t m = 0, tp = 0, fp = 0;
    fpr[m] = 0; tpr[m] = 0; thr[m] = INFINITY; m++;
    for (int64_t a = 0; a < n; ) {
        int64_t b = a;
        while (b + 1 < n && k[b + 1].v == k[a].v) b++;
        for (int64_t j = a; j <= b; j++) { if (y[k[j].i] != 0) tp++; else fp++; }
        fpr[m] = (double)fp / (double)N;
        tpr[m] = (double)tp / (double)P;
        thr[m] = b + 1 < n ? 0.5 * (-k[a].v + -k[b + 1].v) : -INFINITY;
        m++;
        a = b + 1;
    }
    free(k);
    *npts = m;
    return 0;
}

/* placements: V10 for each positive, V01 for each negative (arrays of P and N) */
static int placements(cnn_ctx *c, const double *s, const double *y, int64_t n, double *v10, double *v01,
                      int64_t *P, int64_t *N) {
    double *all = malloc(3 * (size_t)n * sizeof *all);
    if (all == NULL) return cnn_seterr(c, "out of memory");
    double *rz = all, *xs = all + n, *rw = all + 2 * n;
    int64_t p = 0, q = 0;
    if (cnn_midranks(c, s, n, rz) < 0) { free(all); return -1; }
    for (int64_t i = 0; i < n; i++) if (y[i] != 0) xs[p++] = s[i];
    for (int64_t i = 0; i < n; i++) if (y[i] == 0) xs[p + q++] = s[i];
    if (cnn_midranks(c, xs, p, rw) < 0 || cnn_midranks(c, xs + p, q, rw + p) < 0) { free(all); return -1; }
    int64_t a = 0, b = 0;
    for (int64_t i = 0; i < n; i++) {
        if (y[i] != 0) { v10[a] = (rz[i] - rw[a]) / (double)q; a++; }
        else { v01[b] = 1 - (rz[i] - rw[p + b]) / (double)p; b++; }
    }
    free(all);
    *P = p;
    *N = q;
    return 0;
}

int cnn_auc(cnn_ctx *c, const double *s, const double *y, int64_t n, double *auc, double *var) {
    int64_t P = 0, N = 0;
    for (int64_t i = 0; i < n; i++) { if (y[i] != 0) P++; else N++; }
    if (P == 0 || N == 0) return cnn_seterr(c, "AUC needs both classes (got %lld positive and %lld negative)", (long long)P, (long long)N);
    double *v = malloc((size_t)n * sizeof *v);
    if (v == NULL) return cnn_seterr(c, "out of memory");
    if (placements(c, s, y, n, v, v + P, &P, &N) < 0) { free(v); return -1; }
    double m10 = 0, m01 = 0;
    for (int64_t i = 0; i < P; i++) m10 += v[i];
    for (int64_t j = 0; j < N; j++) m01 += v[P + j];
    m10 /= (double)P;
    m01 /= (double)N;
    *auc = m10;
    if (var) {
        /* DeLong: Var = S10/m + S01/n with sample variances of the placements */
        double s10 = 0, s01 = 0;
        for (int64_t i = 0; i < P; i++) s10 += (v[i] - m10) * (v[i] - m10);
        for (int64_t j = 0; j < N; j++) s01 += (v[P + j] - m01) * (v[P + j] - m01);
        s10 = P > 1 ? s10 / (double)(P - 1) : NAN;
        s01 = N > 1 ? s01 / (double)(N - 1) : NAN;
        *var = s10 / (double)P + s01 / (double)N;
    }
    free(v);
    return 0;
}

int cnn_auc_bootstrap(cnn_ctx *c, const double *s, const double *y, const double *groups, int64_t n,
                      int64_t nboot, cnn_rng *r, double *out) {
    double *bs = malloc(2 * (size_t)n * sizeof *bs);
    int64_t *pos = malloc(2 * (size_t)n * sizeof *pos);
    if (bs == NULL || pos == NULL) { free(bs); free(pos); return cnn_seterr(c, "out of memory"); }
    double *by = bs + n;
    int64_t P = 0, N = 0;
    int rc = 0;
    if (groups == NULL) {       /* stratified: P positives and N negatives, with replacement */
        for (int64_t i = 0; i < n; i++) if (y[i] != 0) pos[P++] = i;
        for (int64_t i = 0; i < n; i++) if (y[i] == 0) pos[n + N++] = i;
        if (P == 0 || N == 0) { rc = cnn_seterr(c, "AUC needs both classes"); goto done; }
        for (int64_t b = 0; b < nboot; b++) {
            for (int64_t i = 0; i < P; i++) { int64_t k = pos[(int64_t)(cnn_rng_uniform(r) * (double)P)]; bs[i] = s[k]; by[i] = 1; }
            for (int64_t j = 0; j < N; j++) { int64_t k = pos[n + (int64_t)(cnn_rng_uniform(r) * (double)N)]; bs[P + j] = s[k]; by[P + j] = 0; }
            if (cnn_auc(c, bs, by, n, &out[b], NULL) < 0) { rc = -1; goto done; }
        }
    } else {                    /* whole groups (subjects), with replacement, as many groups as there are */
        int64_t *start = malloc(((size_t)n + 1) * sizeof *start), *ord = malloc((size_t)n * sizeof *ord);
        keyed *k = malloc((size_t)n * sizeof *k);
        double *gs = NULL;
        if (!start || !ord || !k) { free(start); free(ord); free(k); rc = cnn_seterr(c, "out of memory"); goto done; }
        for (int64_t i = 0; i < n; i++) { k[i].v = groups[i]; k[i].i = i; }
        qsort(k, (size_t)n, sizeof *k, cmp_keyed);
        int64_t G = 0, big = 0;
        for (int64_t i = 0; i < n; i++) {
            if (i == 0 || k[i].v != k[i - 1].v) start[G++] = i;
            ord[i] = k[i].i;
        }
        start[G] = n;
        for (int64_t g = 0; g < G; g++) if (start[g + 1] - start[g] > big) big = start[g + 1] - start[g];
        /* a replicate of G groups holds at most G * (largest group) samples */
        if ((gs = malloc(2 * (size_t)(G * big) * sizeof *gs)) == NULL) rc = cnn_seterr(c, "out of memory");
        double *gy = gs ? gs + G * big : NULL;
        for (int64_t b = 0; b < nboot && rc == 0; b++) {
            int tries = 0;
            for (;;) {
                int64_t m = 0, p = 0;
                for (int64_t g = 0; g < G; g++) {
                    int64_t h = (int64_t)(cnn_rng_uniform(r) * (double)G);
                    for (int64_t j = start[h]; j < start[h + 1]; j++) {
                        gs[m] = s[ord[j]]; gy[m] = y[ord[j]]; p += gy[m] != 0; m++;
                    }
                }
                if (p > 0 && p < m) { if (cnn_auc(c, gs, gy, m, &out[b], NULL) < 0) rc = -1; break; }
                if (++tries == 100) { rc = cnn_seterr(c, "resampled groups kept missing a class (100 tries)"); break; }
            }
        }
        free(gs); free(start); free(ord); free(k);
    }
done:
    free(bs);
    free(pos);
    return rc;
}

/* Phi^-1(p): a rational first guess (Abramowitz & Stegun 26.2.23), then Halley steps on the
 * upper tail q = min(p, 1-p) through erfc, which is well conditioned there; the result is
 * R's qnorm to the last digit (1.959963984540054 for p = 0.975). */
double cnn_normal_quantile(double p) {
    if (!(p > 0 && p < 1)) return p == 0 ? -INFINITY : p == 1 ? INFINITY : NAN;
    double q = p < 0.5 ? p : 1 - p, t = sqrt(-2 * log(q));
    double x = t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
    for (int it = 0; it < 6; it++) {          /* solve Q(x) = q for x > 0, Q the upper tail */
        double e = 0.5 * erfc(x / sqrt(2.0)) - q;
        double u = e * sqrt(2 * M_PI) * exp(x * x / 2);
        x = x + u / (1 - x * u / 2);
    }
    return p < 0.5 ? -x : x;
}

int cnn_confusion(cnn_ctx *c, const double *pred, const double *target, int64_t n, int64_t C, double *m) {
    memset(m, 0, (size_t)(C * C) * sizeof *m);
    for (int64_t i = 0; i < n; i++) {
        double a = target[i], b = pred[i];
        if (a != floor(a) || a < 1 || a > (double)C)
            return cnn_seterr(c, "target %lld is %g, expected a class 1..%lld", (long long)i + 1, a, (long long)C);
        if (b != floor(b) || b < 1 || b > (double)C)
            return cnn_seterr(c, "prediction %lld is %g, expected a class 1..%lld", (long long)i + 1, b, (long long)C);
        m[((int64_t)a - 1) * C + (int64_t)b - 1] += 1;
    }
    return 0;
}

void cnn_calibration(const double *s, const double *y, int64_t n, int64_t bins, double *mean_pred,
                     double *frac_pos, double *count) {
    for (int64_t b = 0; b < bins; b++) { mean_pred[b] = 0; frac_pos[b] = 0; count[b] = 0; }
    for (int64_t i = 0; i < n; i++) {
        int64_t b = (int64_t)(s[i] * (double)bins);
        if (b < 0) b = 0;
        if (b >= bins) b = bins - 1;
        mean_pred[b] += s[i];
        frac_pos[b] += y[i] != 0;
        count[b] += 1;
    }
    for (int64_t b = 0; b < bins; b++) {
        mean_pred[b] = count[b] > 0 ? mean_pred[b] / count[b] : NAN;
        frac_pos[b] = count[b] > 0 ? frac_pos[b] / count[b] : NAN;
    }
}
