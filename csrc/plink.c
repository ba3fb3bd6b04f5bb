/* plink.c: PLINK 1 binary genotypes (.bed, SNP-major) decoded into an (N,P) dosage tensor, and
 * the column-wise helpers genotype data needs (mean imputation, standardisation). Per-dtype
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
