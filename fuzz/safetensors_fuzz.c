/* safetensors_fuzz.c: libFuzzer harness for cnn.load's reader (csrc/safetensors.c): any bytes
 * must give tensors (and a checked checkpoint layout) or a message, never a crash, leak or
 * overflow. Model files come from strangers. Build and run: make fuzz (docs/data.md). */
#include "../csrc/safetensors.h"

int LLVMFuzzerTestOneInput(const unsigned char *buf, size_t n) {
    static cnn_ctx *c;
    if (c == NULL) c = cnn_ctx_new();
    cnn_st_file f;
    if (cnn_st_parse(c, buf, n, &f) < 0) {
        if (cnn_errmsg(c)[0] == 0) __builtin_trap();          /* a failure always says why */
        return 0;
    }
    for (size_t k = 0; k < f.n; k++) {
        cnn_tensor *t = cnn_st_tensor(c, &f, buf, k);
        if (t == NULL && cnn_errmsg(c)[0] == 0) __builtin_trap();
        cnn_tensor_release(t);
    }
    if (f.layout) {
        cnn_json *j = cnn_st_layout(c, &f);
        if (j == NULL && cnn_errmsg(c)[0] == 0) __builtin_trap();
        cnn_json_free(j);
    }
    cnn_st_free(&f);
    return 0;
}
