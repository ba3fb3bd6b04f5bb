/* data.h: the C side of getting data from files into tensors: the PNG and JPEG wrappers and image
 * transforms (image.c, image_jpeg.c), IDX (idx.c), PLINK .bed and genotype helpers (plink.c), the CSV
 * tokenizer (csv.c), batch gathering (batch.c). No Lua here: lua_data.c binds these; fuzz/ drives the parsers directly.
 * Parsers work on a buffer already in memory and report failures as "truncated at byte N",
 * "wrong magic ..." in the context; the binding prefixes the function and file name. */
#ifndef CNN_DATA_H
#define CNN_DATA_H

#include "cnn.h"

/* ---- PNG (libpng transforms do the pixel formats) ---- */
/* channels 0: as stored (gray, gray+alpha -> 1; RGB, RGBA, palette -> 3); 1 or 3 converts.
 * Alpha is dropped. Result: float32 (C,H,W) in [0,1]. */
cnn_tensor *cnn_png_decode(cnn_ctx *c, const unsigned char *buf, size_t n, int channels);
/* t (1|3,H,W) or (H,W), values clamped to [0,1], written as 8-bit gray or RGB */
unsigned char *cnn_image_pack8(cnn_ctx *c, const cnn_tensor *t, int C, int64_t H, int64_t W);
/* path NULL: the file's bytes are returned in *mem (malloc'd, *mem_len bytes) instead of written */
int cnn_png_write(cnn_ctx *c, const cnn_tensor *t, const char *path, unsigned char **mem, size_t *mem_len);

/* ---- JPEG (libjpeg-turbo, image_jpeg.c) ---- */
/* images with more pixels are refused before decoding (a decompression bomb), like Pillow's limit */
#define CNN_IMAGE_MAX_PIXELS ((int64_t)1 << 28)
/* channels 0: as stored (gray -> 1, colour -> 3); 1 or 3 converts. max_side > 0: libjpeg's
 * scaled IDCT at the smallest scale (1/2, 1/4, 1/8) whose longer side is still >= max_side.
 * max_pixels <= 0: CNN_IMAGE_MAX_PIXELS. CMYK/YCCK are refused. Every libjpeg warning is an
 * error. Result: float32 (C,H,W) in [0,1]. */
cnn_tensor *cnn_jpeg_decode(cnn_ctx *c, const unsigned char *buf, size_t n, int channels,
                            int64_t max_side, int64_t max_pixels);
/* t (1|3,H,W) or (H,W), values clamped to [0,1], baseline 4:2:0 at quality 1..100 */
int cnn_jpeg_write(cnn_ctx *c, const cnn_tensor *t, const char *path, int quality, unsigned char **mem, size_t *mem_len);

/* ---- image transforms on (C,H,W) tensors of either dtype; results are new tensors ---- */
/* bilinear, half-pixel centres; antialias widens the triangle by the scale when downscaling
 * (PyTorch's interpolate(..., antialias=True)) */
cnn_tensor *cnn_image_resize(cnn_ctx *c, const cnn_tensor *x, int64_t OH, int64_t OW, int antialias);
cnn_tensor *cnn_image_flip(cnn_ctx *c, const cnn_tensor *x, int horizontal);
cnn_tensor *cnn_image_rotate(cnn_ctx *c, const cnn_tensor *x, double degrees, double fill);
typedef enum { CNN_ADJ_BRIGHTNESS, CNN_ADJ_CONTRAST, CNN_ADJ_SATURATION } cnn_adjust;
cnn_tensor *cnn_image_adjust(cnn_ctx *c, const cnn_tensor *x, cnn_adjust kind, double f);
/* mean/std hold 1 value (all channels) or C values */
cnn_tensor *cnn_image_normalize(cnn_ctx *c, const cnn_tensor *x, const double *mean,
                                const double *std, int nvals);
cnn_tensor *cnn_image_to_gray(cnn_ctx *c, const cnn_tensor *x);
/* img (1|3,H,W), heat (H,W) or (1,H,W) in [0,1] -> (3,H,W) = (1-alpha) img + alpha jet(heat) */
cnn_tensor *cnn_image_overlay(cnn_ctx *c, const cnn_tensor *img, const cnn_tensor *heat, double alpha);

/* ---- IDX (MNIST format), raw or gzip; values as stored, converted to dt and scaled ---- */
cnn_tensor *cnn_idx_decode(cnn_ctx *c, const unsigned char *buf, size_t n, cnn_dtype dt, double scale);

/* ---- PLINK binary genotypes ---- */
/* .bed bytes (magic, SNP-major) for N samples x P variants -> (N,P) counts of the first (A1)
 * allele: 2, 1, 0, NaN for missing */
cnn_tensor *cnn_bed_decode(cnn_ctx *c, const unsigned char *buf, size_t n, int64_t N, int64_t P, cnn_dtype dt);
/* (N,P) float dosages (0, 1, 2, NaN for missing) -> out, P x ceil(N/4) bytes of .bed body (no magic) */
int cnn_bed_encode(cnn_ctx *c, const cnn_tensor *x, unsigned char *out);
/* a .bed body (n bytes, N samples x P variants): rows x cols (1-based, NULL = all) -> (nr, nc) dt;
 * raw counts (NaN missing) when center is NULL, else (x - center[k]) * scale[k] with missing -> 0 */
cnn_tensor *cnn_bed_batch(cnn_ctx *c, const unsigned char *bed, size_t n, int64_t N, int64_t P, const int64_t *rows, int64_t nr,
                          const int64_t *cols, int64_t nc, const double *center, const double *scale, cnn_dtype dt);
/* per variant over rows: y NULL -> (P,3) float64 count, mean, sd; y (nr values) -> (P,3) slope,
 * t statistic and count of the single-marker regression of y on the dosage */
cnn_tensor *cnn_bed_scan(cnn_ctx *c, const unsigned char *bed, size_t n, int64_t N, int64_t P, const int64_t *rows, int64_t nr,
                         const double *y);
/* column-wise over (N,P), ignoring NaN: missing -> column mean; or (x - mean) / sd (sd with
 * N-1, a constant column gives 0, missing stays NaN) */
cnn_tensor *cnn_impute_mean(cnn_ctx *c, const cnn_tensor *x);
cnn_tensor *cnn_standardize(cnn_ctx *c, const cnn_tensor *x);

/* ---- batches (batch.c): rows of t at 1-based float indices, one memcpy per row ---- */
cnn_tensor *cnn_gather_rows(cnn_ctx *c, const cnn_tensor *t, const cnn_tensor *index);

/* ---- CSV tokenizer (RFC 4180 quotes; sep ' ' means runs of blanks) ---- */
typedef struct cnn_csv {
    const char *p, *end;
    char sep;
    char *scratch;          /* at least as long as the text: unquoted fields go here */
    int64_t line;           /* line of the current position, 1-based */
    int64_t row_line;       /* line where the current row started */
    const char *err;        /* set when a field cannot be read */
    int trailing;           /* the text ended right after a separator */
} cnn_csv;
void cnn_csv_init(cnn_csv *r, const char *text, size_t n, char sep, char *scratch);
/* next field of the current row: 1 and a NUL-terminated field (*last set on the row's last
 * field), 0 at end of text, -1 on error (r->err) */
int cnn_csv_field(cnn_csv *r, const char **field, size_t *len, int *last);
/* a number, or NaN for missing (empty, NA, NaN, N/A); 0 if the field is not numeric */
int cnn_csv_number(const char *field, size_t len, double *v);

#endif
