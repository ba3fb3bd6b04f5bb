/* image_jpeg.c: JPEG in and out through libjpeg-turbo's classic API (jpeglib.h, as Pillow uses
 * it: islow DCT, fancy upsampling); there is no hand-written codec. libjpeg's errors and its
 * warnings (corrupt data, premature end) come back here by longjmp and become the context's
 * message: nothing exits or prints. Binding: lua_data.c (cnn._data), wrapped by
 * lua/cnn/image.lua. Spec: jpeg_spec.lua. Fuzzed by fuzz/jpeg_fuzz.c. */
#include "data.h"
#include "tensor.h"
#include "atomic_file.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

/* ---- errors: longjmp back with libjpeg's own text ---- */

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX + 64];
} jerr;

static void jerr_exit(j_common_ptr ci) {
    jerr *e = (jerr *)ci->err;
    if (e->msg[0] == 0) {
        char m[JMSG_LENGTH_MAX];
        ci->err->format_message(ci, m);
        snprintf(e->msg, sizeof e->msg, "%s", m);
    }
    longjmp(e->jb, 1);
}

/* level -1 is a warning ("Corrupt JPEG data: ...", "Premature end of JPEG file"): the pixels
 * would be partly invented, so it is an error like any other; levels >= 0 are trace output */
static void jerr_emit(j_common_ptr ci, int level) {
    if (level < 0) jerr_exit(ci);
}

static void jerr_output(j_common_ptr ci) { (void)ci; }

static void jerr_init(jerr *e) {
    memset(e, 0, sizeof *e);
    jpeg_std_error(&e->pub);
    e->pub.error_exit = jerr_exit;
    e->pub.emit_message = jerr_emit;
    e->pub.output_message = jerr_output;
}

/* ---- decoding ---- */

/* the largest libjpeg scale denominator (8, 4, 2, else 1) whose output's longer side,
 * ceil(side / d), is still at least max_side */
static int scale_denom(int64_t W, int64_t H, int64_t max_side) {
    int64_t L = W > H ? W : H;
    if (max_side <= 0) return 1;
    for (int d = 8; d > 1; d /= 2)
        if ((L + d - 1) / d >= max_side) return d;
    return 1;
}

cnn_tensor *cnn_jpeg_decode(cnn_ctx *c, const unsigned char *buf, size_t n, int channels,
                            int64_t max_side, int64_t max_pixels) {
    struct jpeg_decompress_struct ci;
    jerr e;
    /* volatile: these change between setjmp and a possible longjmp back to it */
    unsigned char *volatile row = NULL;
    cnn_tensor *volatile y = NULL;
    volatile int created = 0;
    volatile int64_t limit = max_pixels > 0 ? max_pixels : CNN_IMAGE_MAX_PIXELS;
    jerr_init(&e);
    ci.err = &e.pub;
    if (setjmp(e.jb)) {
        if (n > 0 && strstr(e.msg, "Premature end") != NULL)
            snprintf(e.msg + strlen(e.msg), sizeof e.msg - strlen(e.msg), " (truncated: the file has %zu bytes)", n);
        cnn_seterr(c, "%s", e.msg[0] ? e.msg : "corrupt JPEG data");
        cnn_tensor_release(y);
        y = NULL;
        goto done;
    }
    jpeg_create_decompress(&ci);
    created = 1;
    /* libjpeg allocates whole-image coefficient buffers for progressive files before reading
     * their scans: a 100-byte file claiming 60000x60000 must not take gigabytes */
    ci.mem->max_memory_to_use = 2048L << 20;
    if (n == 0) { snprintf(e.msg, sizeof e.msg, "empty file (a JPEG starts with bytes FF D8)"); jerr_exit((j_common_ptr)&ci); }
    jpeg_mem_src(&ci, buf, (unsigned long)n);
    jpeg_read_header(&ci, TRUE);
    if (ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK) {
        snprintf(e.msg, sizeof e.msg, "%s JPEG files are not supported (convert it to RGB first, e.g. with "
                 "ImageMagick: convert in.jpg -colorspace sRGB out.jpg)", ci.jpeg_color_space == JCS_CMYK ? "CMYK" : "YCCK");
        jerr_exit((j_common_ptr)&ci);
    }
    if ((int64_t)ci.image_width * ci.image_height > limit) {
        snprintf(e.msg, sizeof e.msg, "%ux%u pixels is more than the limit of %lld pixels", ci.image_width,
                 ci.image_height, (long long)limit);
        jerr_exit((j_common_ptr)&ci);
    }
    int C = channels ? channels : (ci.num_components == 1 ? 1 : 3);
    ci.out_color_space = C == 1 ? JCS_GRAYSCALE : JCS_RGB;
    ci.scale_num = 1;
    ci.scale_denom = (unsigned)scale_denom(ci.image_width, ci.image_height, max_side);
    jpeg_start_decompress(&ci);
    int64_t OH = ci.output_height, OW = ci.output_width;
    if (ci.output_components != C) {
        snprintf(e.msg, sizeof e.msg, "unsupported JPEG colour space (%d components)", ci.num_components);
        jerr_exit((j_common_ptr)&ci);
    }
    cnn_shape s = { 3, { C, OH, OW } };
    row = malloc((size_t)(OW * C));
    if (row == NULL || (y = cnn_empty(c, &s, CNN_F32)) == NULL) {
        snprintf(e.msg, sizeof e.msg, "out of memory (%lldx%lld pixels)", (long long)OH, (long long)OW);
        jerr_exit((j_common_ptr)&ci);
    }
    float lut[256];
    for (int k = 0; k < 256; k++) lut[k] = (float)k / 255.0f;
    float *yv = cnn_data(y);
    int64_t plane = OH * OW;
    while (ci.output_scanline < ci.output_height) {
        int64_t i = ci.output_scanline;
        JSAMPROW r = row;
        jpeg_read_scanlines(&ci, &r, 1);
        float *yr = yv + i * OW;
        if (C == 1) for (int64_t j = 0; j < OW; j++) yr[j] = lut[row[j]];
        else
            for (int64_t j = 0; j < OW; j++) {         /* interleaved RGB -> planar */
                yr[j] = lut[row[3 * j]];
                yr[plane + j] = lut[row[3 * j + 1]];
                yr[2 * plane + j] = lut[row[3 * j + 2]];
            }
    }
    jpeg_finish_decompress(&ci);
done:
    if (created) jpeg_destroy_decompress(&ci);
    free(row);
    return y;
}

/* ---- encoding through atomic_file.c: a failed write (a full disk) leaves the old image ---- */

typedef struct jdst {
    struct jpeg_destination_mgr pub;
    cnn_ctx *c;
    cnn_afile a;
    jerr *e;
    unsigned char buf[65536];
} jdst;

static void dst_init(j_compress_ptr ci) {
    jdst *d = (jdst *)ci->dest;
    d->pub.next_output_byte = d->buf;
    d->pub.free_in_buffer = sizeof d->buf;
}

static void dst_put(j_compress_ptr ci, size_t n) {
    jdst *d = (jdst *)ci->dest;
    if (n > 0 && cnn_afile_write(d->c, &d->a, d->buf, n) < 0) {
        snprintf(d->e->msg, sizeof d->e->msg, "%s", cnn_errmsg(d->c));
        jerr_exit((j_common_ptr)ci);
    }
}

static boolean dst_empty(j_compress_ptr ci) {
    jdst *d = (jdst *)ci->dest;
    dst_put(ci, sizeof d->buf);
    dst_init(ci);
    return TRUE;
}

static void dst_term(j_compress_ptr ci) {
    jdst *d = (jdst *)ci->dest;
    dst_put(ci, sizeof d->buf - d->pub.free_in_buffer);
}

int cnn_jpeg_write(cnn_ctx *c, const cnn_tensor *t, const char *path, int quality, unsigned char **mem, size_t *mem_len) {
    char desc[200];
    int C = t->ndim == 2 ? 1 : (int)t->size[0];
    if (!(t->ndim == 2 || (t->ndim == 3 && (C == 1 || C == 3))) || cnn_numel(t) == 0)
        return cnn_seterr(c, "expected a non-empty (1,H,W), (3,H,W) or (H,W) tensor, got %s", cnn_tensor_desc(desc, sizeof desc, t));
    if (quality < 1 || quality > 100) return cnn_seterr(c, "expected a quality in 1..100, got %d", quality);
    int64_t H = t->size[t->ndim - 2], W = t->size[t->ndim - 1];
    if (H > JPEG_MAX_DIMENSION || W > JPEG_MAX_DIMENSION)
        return cnn_seterr(c, "%lldx%lld is too large for JPEG (at most %d pixels a side)", (long long)H, (long long)W, (int)JPEG_MAX_DIMENSION);
    unsigned char *pix = cnn_image_pack8(c, t, C, H, W);
    if (pix == NULL) return -1;
    jdst *dst = malloc(sizeof *dst);
    if (dst == NULL) { free(pix); return cnn_seterr(c, "out of memory"); }
    memset(dst, 0, sizeof *dst);
    if (cnn_afile_open(c, &dst->a, path) < 0) { free(pix); free(dst); return -1; }
    struct jpeg_compress_struct ci;
    jerr e;
    jerr_init(&e);
    ci.err = &e.pub;
    dst->c = c;
    dst->e = &e;
    if (setjmp(e.jb)) {
        jpeg_destroy_compress(&ci);
        cnn_afile_abort(&dst->a);
        free(pix);
        free(dst);
        return cnn_seterr(c, "%s", e.msg[0] ? e.msg : "JPEG encoder failed");
    }
    jpeg_create_compress(&ci);
    dst->pub.init_destination = dst_init;
    dst->pub.empty_output_buffer = dst_empty;
    dst->pub.term_destination = dst_term;
    ci.dest = &dst->pub;
    ci.image_width = (JDIMENSION)W;
    ci.image_height = (JDIMENSION)H;
    ci.input_components = C;
    ci.in_color_space = C == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&ci);                        /* YCbCr 4:2:0, islow DCT, as Pillow's default */
    jpeg_set_quality(&ci, quality, TRUE);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW r = pix + (size_t)ci.next_scanline * (size_t)(W * C);
        jpeg_write_scanlines(&ci, &r, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    free(pix);
    int rc = cnn_afile_commit(c, &dst->a);
    if (rc == 0 && path == NULL) { *mem = dst->a.mem; *mem_len = dst->a.mem_len; }
    free(dst);
    return rc;
}
