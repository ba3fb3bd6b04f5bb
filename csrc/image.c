/* image.c: PNG in and out through libpng (JPEG: image_jpeg.c) (its transforms do palette, 16-bit, gray and alpha;
 * there is no hand-written decoder) and the image transforms on (C,H,W) tensors, whose
 * per-dtype kernels are in image.inc. Binding: lua_data.c (cnn._data), wrapped by
 * lua/cnn/image.lua. Spec: image_spec.lua. Fuzzed by fuzz/png_fuzz.c. */
#include "data.h"
#include "tensor.h"
#include "atomic_file.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CNN_GEN_FILE "image.inc"
#include "gen.h"

/* ---- decoding ---- */

typedef struct png_src {
    const unsigned char *buf;
    size_t n, pos;
    char msg[256];
} png_src;

static void src_read(png_structp png, png_bytep out, size_t len) {
    png_src *s = png_get_io_ptr(png);
    if (len > s->n - s->pos) {
        snprintf(s->msg, sizeof s->msg, "truncated at byte %zu (the file has %zu bytes)", s->n, s->n);
        png_error(png, "truncated");
    }
    memcpy(out, s->buf + s->pos, len);
    s->pos += len;
}

/* libpng's own errors ("IDAT: CRC error") get the offset the reader had reached */
static void src_error(png_structp png, png_const_charp msg) {
    png_src *s = png_get_io_ptr(png);
    if (s->msg[0] == 0) snprintf(s->msg, sizeof s->msg, "%s (near byte %zu)", msg, s->pos);
    png_longjmp(png, 1);
}

static void src_warning(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

/* rows of 8- or 16-bit samples, interleaved -> planar floats in [0,1] */
static void unpack_rows(float *y, png_bytep *rows, int64_t H, int64_t W, int C, int depth16) {
    int64_t plane = H * W;
    float k = depth16 ? 1.0f / 65535.0f : 1.0f / 255.0f;
    for (int64_t i = 0; i < H; i++) {
        const unsigned char *r = rows[i];
        float *yr = y + i * W;
        if (!depth16) {
            for (int64_t j = 0; j < W; j++)
                for (int ch = 0; ch < C; ch++) yr[ch * plane + j] = (float)r[j * C + ch] * k;
        } else {
            for (int64_t j = 0; j < W; j++)
                for (int ch = 0; ch < C; ch++) {
                    const unsigned char *q = r + 2 * (j * C + ch);
                    yr[ch * plane + j] = (float)((q[0] << 8) | q[1]) * k;   /* PNG is big-endian */
                }
        }
    }
}

cnn_tensor *cnn_png_decode(cnn_ctx *c, const unsigned char *buf, size_t n, int channels) {
    if (n < 8 || png_sig_cmp(buf, 0, 8) != 0) {
        if (n < 8) cnn_seterr(c, "truncated at byte %zu (a PNG starts with an 8-byte signature)", n);
        else cnn_seterr(c, "not a PNG file (wrong signature at byte 0)");
        return NULL;
    }
    png_src src = { buf, n, 0, "" };
    /* volatile: these change between setjmp and a possible longjmp back to it */
    png_structp volatile png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, src_error, src_warning);
    png_infop volatile info = png ? png_create_info_struct(png) : NULL;
    unsigned char *volatile pix = NULL;
    png_bytep *volatile rows = NULL;
    cnn_tensor *volatile y = NULL;
    if (info == NULL) {
        png_structp p = png;
        png_destroy_read_struct(p ? &p : NULL, NULL, NULL);
        cnn_seterr(c, "out of memory");
        return NULL;
    }
    if (setjmp(png_jmpbuf(png))) {
        cnn_seterr(c, "%s", src.msg[0] ? src.msg : "corrupt PNG data");
        goto fail;
    }
    png_set_read_fn(png, &src, src_read);
    /* a fuzzer (or a hostile file) should not make us allocate gigabytes */
    png_set_user_limits(png, 1 << 16, 1 << 16);
    png_set_chunk_malloc_max(png, 64u << 20);
    png_read_info(png, info);
    png_uint_32 W, H;
    int depth, ctype;
    png_get_IHDR(png, info, &W, &H, &depth, &ctype, NULL, NULL, NULL);
    int gray = !(ctype & PNG_COLOR_MASK_COLOR);
    int C = channels ? channels : (gray ? 1 : 3);
    png_set_expand(png);                       /* palette -> RGB, gray < 8 bits -> 8, tRNS -> alpha */
    png_set_strip_alpha(png);
    if (C == 3 && gray) png_set_gray_to_rgb(png);
    if (C == 1 && !gray) png_set_rgb_to_gray_fixed(png, 1, -1, -1);   /* libpng's default weights */
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    int outC = png_get_channels(png, info);
    int depth16 = png_get_bit_depth(png, info) == 16;
    if (outC != C) { snprintf(src.msg, sizeof src.msg, "unsupported PNG colour type %d", ctype); png_error(png, "x"); }
    /* zlib cannot expand more than ~1032:1; bigger claims mean a truncated or lying file */
    if ((double)rowbytes * H > 1100.0 * (double)n + 65536.0) {
        snprintf(src.msg, sizeof src.msg, "truncated: %ux%u pixels cannot come from %zu bytes", W, H, n);
        png_error(png, "x");
    }
    pix = malloc(rowbytes * H > 0 ? rowbytes * H : 1);
    rows = malloc(sizeof(png_bytep) * (H ? H : 1));
    if (pix == NULL || rows == NULL) { snprintf(src.msg, sizeof src.msg, "out of memory"); png_error(png, "x"); }
    for (png_uint_32 i = 0; i < H; i++) rows[i] = pix + i * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    cnn_shape s = { 3, { C, H, W } };
    y = cnn_empty(c, &s, CNN_F32);
    if (y == NULL) goto fail_msg;
    unpack_rows(cnn_data(y), rows, H, W, C, depth16);
    goto done;
fail:
    cnn_tensor_release(y);
fail_msg:
    y = NULL;
done:;
    png_structp p = png;
    png_infop i = info;
    png_destroy_read_struct(&p, &i, NULL);
    free(pix);
    free(rows);
    return y;
}

/* ---- encoding ---- */

/* the encoder writes through atomic_file.c: a failed write (a full disk) leaves the old image */
typedef struct png_dst { char msg[256]; cnn_ctx *c; cnn_afile a; } png_dst;

static void dst_error(png_structp png, png_const_charp msg) {
    png_dst *d = png_get_error_ptr(png);
    if (d->msg[0] == 0) snprintf(d->msg, sizeof d->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void dst_write(png_structp png, png_bytep p, size_t n) {
    png_dst *d = png_get_io_ptr(png);
    if (cnn_afile_write(d->c, &d->a, p, n) < 0) {
        snprintf(d->msg, sizeof d->msg, "%s", cnn_errmsg(d->c));
        png_error(png, "write failed");
    }
}

static void dst_flush(png_structp png) { (void)png; }

/* planar (C,H,W) or (H,W) values in [0,1] -> interleaved 8-bit pixels (clamped, NaN -> 0), the
 * input of both encoders; malloc'd */
unsigned char *cnn_image_pack8(cnn_ctx *c, const cnn_tensor *t, int C, int64_t H, int64_t W) {
    cnn_tensor *x = cnn_contiguous_as(c, t, CNN_F32);
    if (x == NULL) return NULL;
    unsigned char *pix = malloc((size_t)(C * H * W));
    if (pix == NULL) { cnn_tensor_release(x); cnn_seterr(c, "out of memory"); return NULL; }
    const float *xv = cnn_data(x);
    for (int ch = 0; ch < C; ch++)
        for (int64_t k = 0; k < H * W; k++) {
            float v = xv[ch * H * W + k];
            v = v > 1 ? 1 : (v >= 0 ? v : 0);
            pix[k * C + ch] = (unsigned char)lrintf(v * 255.0f);
        }
    cnn_tensor_release(x);
    return pix;
}

int cnn_png_write(cnn_ctx *c, const cnn_tensor *t, const char *path, unsigned char **mem, size_t *mem_len) {
    char desc[200];
    int C = t->ndim == 2 ? 1 : (int)t->size[0];
    if (!(t->ndim == 2 || (t->ndim == 3 && (C == 1 || C == 3))) || cnn_numel(t) == 0)
        return cnn_seterr(c, "expected a non-empty (1,H,W), (3,H,W) or (H,W) tensor, got %s", cnn_tensor_desc(desc, sizeof desc, t));
    int64_t H = t->size[t->ndim - 2], W = t->size[t->ndim - 1];
    if (H > 0x7fffffff || W > 0x7fffffff) return cnn_seterr(c, "image too large for PNG");
    unsigned char *pix = cnn_image_pack8(c, t, C, H, W);
    if (pix == NULL) return -1;
    png_dst d;
    memset(&d, 0, sizeof d);
    d.c = c;
    if (cnn_afile_open(c, &d.a, path) < 0) { free(pix); return -1; }
    png_structp volatile png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &d, dst_error, src_warning);
    png_infop volatile info = png ? png_create_info_struct(png) : NULL;
    if (info == NULL || setjmp(png_jmpbuf(png))) {
        png_structp p = png;
        png_infop i = info;
        png_destroy_write_struct(p ? &p : NULL, i ? &i : NULL);
        cnn_afile_abort(&d.a);
        free(pix);
        return cnn_seterr(c, "%s", d.msg[0] ? d.msg : "out of memory");
    }
    png_set_write_fn(png, &d, dst_write, dst_flush);
    png_set_IHDR(png, info, (png_uint_32)W, (png_uint_32)H, 8, C == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int64_t i = 0; i < H; i++) png_write_row(png, pix + i * W * C);
    png_write_end(png, NULL);
    png_structp p = png;
    png_infop i = info;
    png_destroy_write_struct(&p, &i);
    free(pix);
    if (cnn_afile_commit(c, &d.a) < 0) return -1;
    if (path == NULL) { *mem = d.a.mem; *mem_len = d.a.mem_len; }
    return 0;
}

/* ---- transforms: checks and dispatch; kernels in image.inc ---- */

static int check_chw(cnn_ctx *c, const cnn_tensor *x, int need_rgb) {
    char d[200];
    if (x->ndim != 3) return cnn_seterr(c, "expected a (C,H,W) image tensor, got %s", cnn_tensor_desc(d, sizeof d, x));
    if (need_rgb && x->size[0] != 3) return cnn_seterr(c, "expected a 3-channel (RGB) image, got %s", cnn_tensor_desc(d, sizeof d, x));
    return 0;
}

/* y: a new contiguous tensor of x's dtype shaped (C,H,W); xc: x made contiguous */
static int prepare(cnn_ctx *c, const cnn_tensor *x, int64_t C, int64_t H, int64_t W, cnn_tensor **xc, cnn_tensor **y) {
    cnn_shape s = { 3, { C, H, W } };
    *xc = cnn_contiguous_as(c, x, x->dtype);
    *y = *xc ? cnn_empty(c, &s, x->dtype) : NULL;
    if (*y == NULL) { cnn_tensor_release(*xc); *xc = NULL; return -1; }
    return 0;
}

/* x (C,H,W) -> y (C,OH,OW) antialiased, one axis at a time with PyTorch's weights. PyTorch
 * resamples W first; this goes along H first into a workspace (C,OH,W), whose inner loop runs
 * along rows and vectorises, then along W on the already shrunk rows: the same linear map
 * (the two passes commute), 3-4x faster for a photograph reduced to 224, with rounding that
 * differs from PyTorch's by a few float32 ulps. An axis whose size does not change is not
 * touched (NaN stays where it was). */
static int resize_aa(cnn_ctx *c, cnn_tensor *y, const cnn_tensor *x, int64_t C, int64_t H, int64_t W, int64_t OH, int64_t OW) {
    size_t es = x->dtype == CNN_F32 ? sizeof(float) : sizeof(double);
    /* taps: 2 ceil(support) + 1 as PyTorch's interp_size */
    int64_t kx = 2 * (int64_t)ceil(W > OW ? (double)W / (double)OW : 1.0) + 1;
    int64_t ky = 2 * (int64_t)ceil(H > OH ? (double)H / (double)OH : 1.0) + 1;
    int64_t tmpn = OW != W && OH != H ? C * OH * W : 0;
    size_t bytes = sizeof(int64_t) * 2 * (size_t)(OW + OH) + es * (size_t)(tmpn + OW * kx + OH * ky);
    int64_t *lox = cnn_ws_get(c, bytes);
    if (lox == NULL) return -1;
    int64_t *lenx = lox + OW, *loy = lenx + OW, *leny = loy + OH;
    char *rp = (char *)(leny + OH);
    void *wx = rp, *wy = rp + es * (size_t)(OW * kx), *tmp = rp + es * (size_t)(OW * kx + OH * ky);
    const void *src = cnn_data(x);
    void *dst = OW != W ? tmp : cnn_data(y);       /* the H pass writes y when it is the only one */
    if (x->dtype == CNN_F32) {
        if (OH != H) {
            aa_weights_f32(wy, loy, leny, H, OH, ky);
            resample_h_f32(dst, src, C, H, W, OH, wy, loy, leny, ky);
            src = dst;
        }
        if (OW != W) {
            aa_weights_f32(wx, lox, lenx, W, OW, kx);
            resample_w_f32(cnn_data(y), src, C, OH, W, OW, wx, lox, lenx, kx);
        }
    } else {
        if (OH != H) {
            aa_weights_f64(wy, loy, leny, H, OH, ky);
            resample_h_f64(dst, src, C, H, W, OH, wy, loy, leny, ky);
            src = dst;
        }
        if (OW != W) {
            aa_weights_f64(wx, lox, lenx, W, OW, kx);
            resample_w_f64(cnn_data(y), src, C, OH, W, OW, wx, lox, lenx, kx);
        }
    }
    if (OW == W && OH == H) memcpy(cnn_data(y), cnn_data(x), es * (size_t)(C * H * W));
    return 0;
}

cnn_tensor *cnn_image_resize(cnn_ctx *c, const cnn_tensor *x, int64_t OH, int64_t OW, int antialias) {
    cnn_tensor *xc, *y;
    if (check_chw(c, x, 0) < 0) return NULL;
    if (OH <= 0 || OW <= 0) { cnn_seterr(c, "expected an output size of at least 1x1, got %lldx%lld", (long long)OH, (long long)OW); return NULL; }
    if (x->size[1] == 0 || x->size[2] == 0) { cnn_seterr(c, "cannot resize an empty image"); return NULL; }
    if (prepare(c, x, x->size[0], OH, OW, &xc, &y) < 0) return NULL;
    int64_t C = x->size[0], H = x->size[1], W = x->size[2];
    /* upsampling with antialias is the plain bilinear; only shrinking axes differ */
    if (antialias && (OH < H || OW < W)) {
        if (resize_aa(c, y, xc, C, H, W, OH, OW) < 0) { cnn_tensor_release(xc); cnn_tensor_release(y); return NULL; }
    } else if (x->dtype == CNN_F32) resize_bilinear_f32(cnn_data(y), cnn_data(xc), C, H, W, OH, OW);
    else resize_bilinear_f64(cnn_data(y), cnn_data(xc), C, H, W, OH, OW);
    cnn_tensor_release(xc);
    return y;
}

cnn_tensor *cnn_image_flip(cnn_ctx *c, const cnn_tensor *x, int horizontal) {
    cnn_tensor *xc, *y;
    if (check_chw(c, x, 0) < 0 || prepare(c, x, x->size[0], x->size[1], x->size[2], &xc, &y) < 0) return NULL;
    if (x->dtype == CNN_F32) flip_f32(cnn_data(y), cnn_data(xc), x->size[0], x->size[1], x->size[2], horizontal);
    else flip_f64(cnn_data(y), cnn_data(xc), x->size[0], x->size[1], x->size[2], horizontal);
    cnn_tensor_release(xc);
    return y;
}

cnn_tensor *cnn_image_rotate(cnn_ctx *c, const cnn_tensor *x, double degrees, double fill) {
    cnn_tensor *xc, *y;
    if (check_chw(c, x, 0) < 0) return NULL;
    if (!isfinite(degrees)) { cnn_seterr(c, "expected a finite angle, got %g", degrees); return NULL; }
    if (prepare(c, x, x->size[0], x->size[1], x->size[2], &xc, &y) < 0) return NULL;
    /* exact quarter turns, so that rotate(90) moves pixels without interpolation noise */
    double q = degrees / 90.0, co, si;
    if (q == floor(q)) {
        static const double cq[4] = { 1, 0, -1, 0 }, sq[4] = { 0, 1, 0, -1 };
        int k = (int)fmod(fmod(q, 4.0) + 4.0, 4.0);
        co = cq[k]; si = sq[k];
    } else {
        co = cos(degrees * M_PI / 180.0); si = sin(degrees * M_PI / 180.0);
    }
    if (x->dtype == CNN_F32) rotate_f32(cnn_data(y), cnn_data(xc), x->size[0], x->size[1], x->size[2], co, si, fill);
    else rotate_f64(cnn_data(y), cnn_data(xc), x->size[0], x->size[1], x->size[2], co, si, fill);
    cnn_tensor_release(xc);
    return y;
}

cnn_tensor *cnn_image_adjust(cnn_ctx *c, const cnn_tensor *x, cnn_adjust kind, double f) {
    cnn_tensor *xc, *y;
    if (check_chw(c, x, kind == CNN_ADJ_SATURATION) < 0) return NULL;
    if (!(f >= 0 && isfinite(f))) { cnn_seterr(c, "expected a finite factor >= 0, got %g", f); return NULL; }
    if (prepare(c, x, x->size[0], x->size[1], x->size[2], &xc, &y) < 0) return NULL;
    int64_t C = x->size[0], H = x->size[1], W = x->size[2];
    if (x->dtype == CNN_F32) adjust_f32(cnn_data(y), cnn_data(xc), C, H, W, (int)kind, f);
    else adjust_f64(cnn_data(y), cnn_data(xc), C, H, W, (int)kind, f);
    cnn_tensor_release(xc);
    return y;
}

cnn_tensor *cnn_image_normalize(cnn_ctx *c, const cnn_tensor *x, const double *mean, const double *std, int nvals) {
    cnn_tensor *xc, *y;
    if (check_chw(c, x, 0) < 0) return NULL;
    if (nvals != 1 && nvals != x->size[0]) {
        cnn_seterr(c, "expected 1 or %lld mean/std values (one per channel), got %d", (long long)x->size[0], nvals);
        return NULL;
    }
    for (int k = 0; k < nvals; k++)
        if (!(std[k] != 0)) { cnn_seterr(c, "std %d is %g: expected non-zero", k + 1, std[k]); return NULL; }
    if (prepare(c, x, x->size[0], x->size[1], x->size[2], &xc, &y) < 0) return NULL;
    if (x->dtype == CNN_F32) normalize_f32(cnn_data(y), cnn_data(xc), x->size[0], x->size[1] * x->size[2], mean, std, nvals);
    else normalize_f64(cnn_data(y), cnn_data(xc), x->size[0], x->size[1] * x->size[2], mean, std, nvals);
    cnn_tensor_release(xc);
    return y;
}

cnn_tensor *cnn_image_to_gray(cnn_ctx *c, const cnn_tensor *x) {
    cnn_tensor *xc, *y;
    char d[200];
    if (check_chw(c, x, 0) < 0) return NULL;
    if (x->size[0] != 1 && x->size[0] != 3) { cnn_seterr(c, "expected 1 or 3 channels, got %s", cnn_tensor_desc(d, sizeof d, x)); return NULL; }
    if (prepare(c, x, 1, x->size[1], x->size[2], &xc, &y) < 0) return NULL;
    if (x->dtype == CNN_F32) to_gray_f32(cnn_data(y), cnn_data(xc), x->size[0], x->size[1] * x->size[2]);
    else to_gray_f64(cnn_data(y), cnn_data(xc), x->size[0], x->size[1] * x->size[2]);
    cnn_tensor_release(xc);
    return y;
}

cnn_tensor *cnn_image_overlay(cnn_ctx *c, const cnn_tensor *img, const cnn_tensor *heat, double alpha) {
    char a[200], b[200];
    if (check_chw(c, img, 0) < 0) return NULL;
    int64_t C = img->size[0], H = img->size[1], W = img->size[2];
    if (C != 1 && C != 3) { cnn_seterr(c, "expected a 1- or 3-channel image, got %s", cnn_tensor_desc(a, sizeof a, img)); return NULL; }
    int hok = (heat->ndim == 2 && heat->size[0] == H && heat->size[1] == W) ||
              (heat->ndim == 3 && heat->size[0] == 1 && heat->size[1] == H && heat->size[2] == W);
    if (!hok) {
        cnn_seterr(c, "expected a heat map of (H,W) or (1,H,W) matching the image %s, got %s",
                   cnn_tensor_desc(a, sizeof a, img), cnn_tensor_desc(b, sizeof b, heat));
        return NULL;
    }
    if (!(alpha >= 0 && alpha <= 1)) { cnn_seterr(c, "expected alpha in [0,1], got %g", alpha); return NULL; }
    cnn_tensor *xc, *y, *hc = cnn_contiguous_as(c, heat, img->dtype);
    if (hc == NULL) return NULL;
    if (prepare(c, img, 3, H, W, &xc, &y) < 0) { cnn_tensor_release(hc); return NULL; }
    if (img->dtype == CNN_F32) overlay_f32(cnn_data(y), cnn_data(xc), cnn_data(hc), C, H * W, alpha);
    else overlay_f64(cnn_data(y), cnn_data(xc), cnn_data(hc), C, H * W, alpha);
    cnn_tensor_release(xc);
    cnn_tensor_release(hc);
    return y;
}
