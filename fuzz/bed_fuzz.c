/* bed_fuzz.c: libFuzzer harness for the PLINK .bed decoder (csrc/plink.c). The first 4 bytes
 * choose the sample and variant counts the .fam/.bim would give; the rest is the .bed file.
 * Decoded matrices also go through mean imputation and standardisation. Build and run:
 * make fuzz (see docs/data.md). */
#include "../csrc/data.h"

int LLVMFuzzerTestOneInput(const unsigned char *buf, size_t n) {
    static cnn_ctx *c;
    if (c == NULL) c = cnn_ctx_new();
    if (n < 4) return 0;
    int64_t N = buf[0] | (buf[1] << 8), P = buf[2] | (buf[3] << 8);
    cnn_tensor *t = cnn_bed_decode(c, buf + 4, n - 4, N, P, (N + P) & 1 ? CNN_F64 : CNN_F32);
    if (t == NULL) {
        if (cnn_errmsg(c)[0] == 0) __builtin_trap();
        return 0;
    }
    cnn_tensor *a = cnn_impute_mean(c, t), *b = cnn_standardize(c, t);
    cnn_tensor_release(a);
    cnn_tensor_release(b);
    cnn_tensor_release(t);
    return 0;
}
