/* idx_fuzz.c: libFuzzer harness for the IDX reader (csrc/idx.c), raw and gzip. Build and run:
 * make fuzz (see docs/data.md). */
#include "../csrc/data.h"

int LLVMFuzzerTestOneInput(const unsigned char *buf, size_t n) {
    static cnn_ctx *c;
    if (c == NULL) c = cnn_ctx_new();
    cnn_tensor *t = cnn_idx_decode(c, buf, n, n && (buf[n - 1] & 1) ? CNN_F64 : CNN_F32, 1.0 / 255);
    if (t == NULL && cnn_errmsg(c)[0] == 0) __builtin_trap();          /* a failure always says why */
    cnn_tensor_release(t);
    return 0;
}
