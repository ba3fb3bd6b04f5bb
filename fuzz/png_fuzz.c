/* png_fuzz.c: libFuzzer harness for the PNG wrapper (csrc/image.c): any bytes must give a
 * tensor or a message, never a crash, leak or overflow; a decoded image goes back out through
 * the writer. Build and run: make fuzz (see docs/data.md). */
#include "../csrc/data.h"

#include <stdio.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const unsigned char *buf, size_t n) {
    static cnn_ctx *c;
    if (c == NULL) c = cnn_ctx_new();
    int channels = n ? (buf[n - 1] % 3 == 0 ? 0 : (buf[n - 1] % 3 == 1 ? 1 : 3)) : 0;
    cnn_tensor *t = cnn_png_decode(c, buf, n, channels);
    if (t == NULL) return cnn_errmsg(c)[0] ? 0 : (__builtin_trap(), 0);   /* a failure always says why */
    if (cnn_numel(t) <= 4096) {
        char path[64];
        snprintf(path, sizeof path, "/tmp/png_fuzz_%d.png", (int)getpid());
        cnn_png_write(c, t, path);
        unlink(path);
    }
    cnn_tensor_release(t);
    return 0;
}
