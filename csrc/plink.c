/* plink.c: PLINK 1 binary genotypes (.bed, SNP-major) decoded into an (N,P) dosage tensor and
 * encoded back (write_bed), the byte-level kernels of cnn.genomics (batches, per-variant
 * statistics and single-marker regressions decoded straight from the 2-bit codes, so a cohort
 * stays bytes until a batch is made), and the column-wise helpers genotype data needs (mean
 * imputation, standardisation). Per-dtype
 * kernels are in plink.inc. The .bim/.fam text files are read in Lua (lua/cnn/data/genotype.lua)
 * through the CSV tokenizer. Binding: lua_data.c.
 * Spec: genotype_spec.lua. Fuzzed by fuzz/bed_fuzz.c. */
#include "data.h"
#include "tensor.h"

#include <math.h>
#include <string.h>

/* the 2-bit codes, low bits first: 00 two copies of A1, 01 missing, 10 one copy, 11 none */
static const double bed_code[4] = { 2.0, NAN, 1.0, 0.0 };

#define CNN_GEN_FILE "plink.inc"
#include "gen.h"

cnn_tensor *cnn_bed_decode(cnn_ctx *c, const unsigned char *buf, size_t n, int64_t N, int64_t P, cnn_dtype dt) {
    if (N < 0 || P < 0) { cnn_seterr(c, "expected counts >= 0, got %lld samples and %lld variants", (long long)N, (long long)P); return NULL; }
    if (n < 3) { cnn_seterr(c, "truncated at byte %zu (a .bed file starts with 3 magic bytes)", n); return NULL; }
    if (buf[0] != 0x6c || buf[1] != 0x1b) {
        cnn_seterr(c, "wrong magic 0x%02X%02X at byte 0 (expected 0x6C1B: not a PLINK 1 .bed file)", buf[0], buf[1]);
        return NULL;
    }
    if (buf[2] != 0x01) {
        cnn_seterr(c, "byte 2 is 0x%02X: only SNP-major files (0x01) are read; convert with plink --make-bed", buf[2]);
        return NULL;
    }
    int64_t per = (N + 3) / 4;
    double want = 3.0 + (double)per * (double)P;
    if ((double)n != want) {
        cnn_seterr(c, "size %zu bytes disagrees with %lld samples (.fam) x %lld variants (.bim): expected 3 + %lld x %lld = %.0f bytes",
                   n, (long long)N, (long long)P, (long long)P, (long long)per, want);
        return NULL;
    }
    cnn_shape s = { 2, { N, P } };
    cnn_tensor *y = cnn_empty(c, &s, dt);
    if (y == NULL) return NULL;
    if (dt == CNN_F32) bed_decode_f32(cnn_data(y), buf + 3, N, P);
    else bed_decode_f64(cnn_data(y), buf + 3, N, P);
    return y;
}

static cnn_tensor *columnwise(cnn_ctx *c, const cnn_tensor *x, int standardize) {
    char d[200];
    if (x->ndim != 2) { cnn_seterr(c, "expected an (N,P) matrix, got %s", cnn_tensor_desc(d, sizeof d, x)); return NULL; }
    cnn_tensor *y = cnn_clone(c, x);
    if (y == NULL) return NULL;
    if (y->node) {       /* the clone of a tensor that needs grad; these helpers are for data */
        cnn_tensor *t = cnn_detach(c, y);
        cnn_tensor_release(y);
        if ((y = t) == NULL) return NULL;
    }
    if (!cnn_is_contiguous(y)) {
        cnn_tensor *t = cnn_contiguous_as(c, y, y->dtype);
        cnn_tensor_release(y);
        if ((y = t) == NULL) return NULL;
    }
    if (y->dtype == CNN_F32) colfix_f32(cnn_data(y), y->size[0], y->size[1], standardize);
    else colfix_f64(cnn_data(y), y->size[0], y->size[1], standardize);
    return y;
}

cnn_tensor *cnn_impute_mean(cnn_ctx *c, const cnn_tensor *x) { return columnwise(c, x, 0); }
cnn_tensor *cnn_standardize(cnn_ctx *c, const cnn_tensor *x) { return columnwise(c, x, 1); }

/* ---- encoding and byte-level kernels (cnn.data.genotype.write_bed, cnn.genomics) ---- */

/* the 2-bit code of a dosage, -1 for a value outside {0,1,2,NaN} */
static int bed_code_of(double v) {
    if (v != v) return 1;
    return v == 2.0 ? 0 : v == 1.0 ? 2 : v == 0.0 ? 3 : -1;
}

int cnn_bed_encode(cnn_ctx *c, const cnn_tensor *x, unsigned char *out) {
    char d[200];
    if (x->ndim != 2 || !cnn_dtype_is_float(x->dtype)) {
        cnn_seterr(c, "expected an (N,P) float matrix of dosages, got %s", cnn_tensor_desc(d, sizeof d, x));
        return -1;
    }
    int64_t N = x->size[0], P = x->size[1], per = (N + 3) / 4;
    const unsigned char *base = cnn_data(x);
    size_t es = x->dtype == CNN_F32 ? 4 : 8;
    for (int64_t j = 0; j < P; j++) {
        unsigned char *o = out + j * per;
        memset(o, 0, (size_t)per);
        for (int64_t i = 0; i < N; i++) {
            const unsigned char *p = base + (size_t)(i * x->stride[0] + j * x->stride[1]) * es;
            double v = es == 4 ? (double)*(const float *)p : *(const double *)p;
            int q = bed_code_of(v);
            if (q < 0) {
                cnn_seterr(c, "sample %lld, variant %lld: dosage %g is outside {0,1,2,NaN}", (long long)i + 1, (long long)j + 1, v);
                return -1;
            }
            o[i >> 2] |= (unsigned char)(q << ((i & 3) * 2));
        }
    }
    return 0;
}

/* 1-based indices within 1..n; -1 and a message naming the bad one */
static int check_index(cnn_ctx *c, const char *what, const int64_t *ix, int64_t m, int64_t n) {
    for (int64_t i = 0; ix && i < m; i++)
        if (ix[i] < 1 || ix[i] > n) {
            cnn_seterr(c, "%s index %lld at position %lld is outside 1..%lld", what, (long long)ix[i], (long long)i + 1, (long long)n);
            return -1;
        }
    return 0;
}

static int check_body(cnn_ctx *c, size_t n, int64_t N, int64_t P) {
    if (N < 1 || P < 0) { cnn_seterr(c, "expected >= 1 samples and >= 0 variants, got %lld and %lld", (long long)N, (long long)P); return -1; }
    if ((double)n < (double)((N + 3) / 4) * (double)P) {
        cnn_seterr(c, "%zu bytes hold fewer than %lld variants of %lld samples", n, (long long)P, (long long)N);
        return -1;
    }
    return 0;
}

cnn_tensor *cnn_bed_batch(cnn_ctx *c, const unsigned char *bed, size_t n, int64_t N, int64_t P, const int64_t *rows, int64_t nr,
                          const int64_t *cols, int64_t nc, const double *center, const double *scale, cnn_dtype dt) {
    if (check_body(c, n, N, P) || check_index(c, "sample", rows, nr, N) || check_index(c, "variant", cols, nc, P)) return NULL;
    if (rows == NULL) nr = N;
    if (cols == NULL) nc = P;
    cnn_shape s = { 2, { nr, nc } };
    cnn_tensor *y = cnn_empty(c, &s, dt);
    if (y == NULL) return NULL;
    int64_t per = (N + 3) / 4;
    if (dt == CNN_F32) bed_batch_f32(cnn_data(y), bed, per, rows, nr, cols, nc, center, scale);
    else bed_batch_f64(cnn_data(y), bed, per, rows, nr, cols, nc, center, scale);
    return y;
}

/* per variant over rows (NULL: all): stats (P,3) = count of calls, mean, sd (n-1); with y (nr)
 * the single-marker regression y = a + b x over the non-missing calls: (P,3) = b, t, count */
cnn_tensor *cnn_bed_scan(cnn_ctx *c, const unsigned char *bed, size_t n, int64_t N, int64_t P, const int64_t *rows, int64_t nr,
                         const double *y) {
    if (check_body(c, n, N, P) || check_index(c, "sample", rows, nr, N)) return NULL;
    if (rows == NULL) nr = N;
    cnn_shape s = { 2, { P, 3 } };
    cnn_tensor *out = cnn_empty(c, &s, CNN_F64);
    if (out == NULL) return NULL;
    double *o = cnn_data(out);
    int64_t per = (N + 3) / 4;
    for (int64_t j = 0; j < P; j++) {
        const unsigned char *v = bed + j * per;
        double sx = 0, sxx = 0, sy = 0, syy = 0, sxy = 0;
        int64_t m = 0;
        for (int64_t i = 0; i < nr; i++) {
            int64_t r = rows ? rows[i] - 1 : i;
            int q = (v[r >> 2] >> ((r & 3) * 2)) & 3;
            if (q == 1) continue;
            double x = bed_code[q];
            sx += x; sxx += x * x; m++;
            if (y) { sy += y[i]; syy += y[i] * y[i]; sxy += x * y[i]; }
        }
        double *row = o + 3 * j;
        if (y == NULL) {
            double mean = m ? sx / (double)m : NAN, var = m > 1 ? (sxx - sx * mean) / (double)(m - 1) : 0;
            row[0] = (double)m; row[1] = mean; row[2] = var > 0 ? sqrt(var) : 0;
            continue;
        }
        double cxx = sxx - sx * sx / (double)m, cxy = sxy - sx * sy / (double)m, cyy = syy - sy * sy / (double)m;
        if (m < 3 || !(cxx > 1e-12 * (double)m)) { row[0] = 0; row[1] = 0; row[2] = (double)m; continue; }
        double b = cxy / cxx, rss = cyy - b * cxy;
        double se = rss > 0 ? sqrt(rss / (double)(m - 2) / cxx) : 0;
        row[0] = b; row[1] = se > 0 ? b / se : (b != 0 ? copysign(INFINITY, b) : 0); row[2] = (double)m;
    }
    return out;
}
