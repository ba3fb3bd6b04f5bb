/* jpeg_fuzz.c: libFuzzer harness for the JPEG wrapper (csrc/image_jpeg.c): any bytes must give
 * a tensor or a message, never a crash, an exit(), a leak or an overflow. The last byte picks
 * the channels (as stored, 1, 3) and max_side (none, or 1..127: every scaled IDCT); a small
 * decoded image goes back out through the writer at a quality from the same byte and is read
 * again. libjpeg-turbo is not instrumented, so coverage steers only through our wrapper; the
 * seeds (fuzz/seeds/jpeg_fuzz: gray, 4:2:0, 4:2:2, 4:4:4, progressive, CMYK) give libjpeg's
 * paths. Build and run: make fuzz (docs/data.md). */
#include "../csrc/data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

static char dir[64];
static void remove_dir(void) { rmdir(dir); }

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n) {
    static cnn_ctx *c;
    if (c == NULL) c = cnn_ctx_new();
    if (n == 0) return 0;
    int mode = data[n - 1];
    int channels = mode % 3 == 0 ? 0 : (mode % 3 == 1 ? 1 : 3);
    int64_t max_side = (mode & 0x80) ? (mode & 0x7f) + 1 : 0;
    /* a copy of exactly n bytes, so ASan sees any read past the end */
    unsigned char *buf = malloc(n);
    memcpy(buf, data, n);
    /* 4 M pixels: big enough for every path, small enough for libFuzzer's memory limit */
    cnn_tensor *t = cnn_jpeg_decode(c, buf, n, channels, max_side, (int64_t)1 << 22);
    free(buf);
    if (t == NULL) {
        if (cnn_errmsg(c)[0] == 0) __builtin_trap();        /* a failure always says why */
        return 0;
    }
    if (cnn_numel(t) <= 4096) {
        /* the writer goes through atomic_file.c: on tmpfs, in a folder of its own */
        static char path[96];
        if (path[0] == 0) {
            snprintf(dir, sizeof dir, "/dev/shm/jpeg_fuzz_%d", (int)getpid());
            if (mkdir(dir, 0700) == 0) atexit(remove_dir); else snprintf(dir, sizeof dir, "/tmp");
            snprintf(path, sizeof path, "%s/out_%d.jpg", dir, (int)getpid());
        }
        if (cnn_jpeg_write(c, t, path, 1 + mode % 100) == 0) {
            FILE *f = fopen(path, "rb");
            unsigned char back[65536];
            size_t m = f ? fread(back, 1, sizeof back, f) : 0;
            if (f) fclose(f);
            cnn_tensor *u = cnn_jpeg_decode(c, back, m, 0, 0, 0);
            if (u == NULL) __builtin_trap();                 /* our own file must read back */
            cnn_tensor_release(u);
        }
        unlink(path);
    }
    cnn_tensor_release(t);
    return 0;
}
