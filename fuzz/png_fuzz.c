/* png_fuzz.c: libFuzzer harness for the PNG wrapper (csrc/image.c): any bytes must give a
 * tensor or a message, never a crash, leak or overflow; a decoded image goes back out through
 * the writer. libpng is not instrumented, so coverage cannot steer mutations past its chunk
 * CRCs: the harness rewrites every chunk's CRC first (half the time), letting mutated headers
 * and pixel data reach the decoder and our unpacking. Build and run: make fuzz (docs/data.md). */
#include "../csrc/data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <zlib.h>

static void fix_crcs(unsigned char *b, size_t n) {
    size_t p = 8;
    while (p + 12 <= n) {
        size_t len = ((size_t)b[p] << 24) | ((size_t)b[p + 1] << 16) | ((size_t)b[p + 2] << 8) | b[p + 3];
        if (len > n - p - 12) return;
        uLong crc = crc32(0L, b + p + 4, (uInt)(len + 4));
        unsigned char *q = b + p + 8 + len;
        q[0] = (unsigned char)(crc >> 24); q[1] = (unsigned char)(crc >> 16);
        q[2] = (unsigned char)(crc >> 8); q[3] = (unsigned char)crc;
        p += len + 12;
    }
}

static char dir[64];
static void remove_dir(void) { rmdir(dir); }

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n) {
    static cnn_ctx *c;
    if (c == NULL) c = cnn_ctx_new();
    if (n == 0) return 0;
    unsigned char *buf = malloc(n);
    memcpy(buf, data, n);
    int mode = buf[n - 1];
    if (mode & 4) fix_crcs(buf, n);
    int channels = mode % 3 == 0 ? 0 : (mode % 3 == 1 ? 1 : 3);
    cnn_tensor *t = cnn_png_decode(c, buf, n, channels);
    free(buf);
    if (t == NULL) {
        if (cnn_errmsg(c)[0] == 0) __builtin_trap();        /* a failure always says why */
        return 0;
    }
    if (cnn_numel(t) <= 4096) {
        /* the writer goes through atomic_file.c (temporary, fsync, rename): on tmpfs, in a
         * folder of its own, so fsync and the scan for stale temporaries cost nothing */
        static char path[96];
        if (path[0] == 0) {
            snprintf(dir, sizeof dir, "/dev/shm/png_fuzz_%d", (int)getpid());
            if (mkdir(dir, 0700) == 0) atexit(remove_dir); else snprintf(dir, sizeof dir, "/tmp");
            snprintf(path, sizeof path, "%s/out_%d.png", dir, (int)getpid());
        }
        cnn_png_write(c, t, path, NULL, NULL);
        unlink(path);
    }
    cnn_tensor_release(t);
    return 0;
}
