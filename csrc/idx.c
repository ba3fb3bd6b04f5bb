/* idx.c: the IDX format of MNIST and Fashion-MNIST (magic 00 00 TT DD, then DD big-endian
 * 32-bit sizes, then the values big-endian), raw or gzip-compressed. The gzip stream is
 * inflated in chunks straight into the tensor, so a 47 MB file never sits in memory twice.
 * Binding: lua_data.c (cnn.data.idx.load). Spec: idx_spec.lua. Fuzzed by fuzz/idx_fuzz.c. */
#include "data.h"
#include "tensor.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* a byte stream over the buffer, inflating when it is gzip */
typedef struct idx_src {
    const unsigned char *buf;
    size_t n, pos;          /* raw: position in buf */
    int gz;
    z_stream z;
    int64_t out;            /* bytes delivered so far (of the decompressed data when gz) */
    int eof;
    int stream_end;         /* gz: inflate reached the end of the member, its CRC and size checked */
} idx_src;

/* gz: hand zlib the next slice of the buffer (avail_in is 32-bit) */
static void src_feed(idx_src *s) {
    if (s->z.avail_in == 0 && s->pos < s->n) {
        size_t k = s->n - s->pos > 0x40000000u ? 0x40000000u : s->n - s->pos;
        s->z.next_in = (unsigned char *)s->buf + s->pos;    /* zlib's API is not const-correct; it only reads */
        s->z.avail_in = (uInt)k;
        s->pos += k;
    }
}

/* reads up to len bytes; returns the count (less at the end), -1 on corrupt gzip data */
static int64_t src_read(cnn_ctx *c, idx_src *s, unsigned char *dst, size_t len) {
    if (!s->gz) {
        size_t k = len < s->n - s->pos ? len : s->n - s->pos;
        memcpy(dst, s->buf + s->pos, k);
        s->pos += k;
        s->out += (int64_t)k;
        return (int64_t)k;
    }
    size_t got = 0;
    while (got < len && !s->eof) {
        src_feed(s);
        s->z.next_out = dst + got;
        s->z.avail_out = (uInt)(len - got > (1u << 30) ? (1u << 30) : len - got);
        uInt before = s->z.avail_out;
        int rc = inflate(&s->z, Z_NO_FLUSH);
        got += before - s->z.avail_out;
        if (rc == Z_STREAM_END) s->eof = s->stream_end = 1;
        else if (rc == Z_BUF_ERROR && s->z.avail_in == 0 && s->pos == s->n) s->eof = 1;    /* input ran out: truncated */
        else if (rc != Z_OK) {
            cnn_seterr(c, "corrupt gzip data at byte %zu of the file: %s", (size_t)(s->z.next_in - s->buf),
                       s->z.msg ? s->z.msg : "inflate failed");
            return -1;
        }
    }
    s->out += (int64_t)got;
    return (int64_t)got;
}

static const char *where(const idx_src *s) { return s->gz ? " of the decompressed data" : ""; }

/* element size of an IDX type code, 0 if unknown */
static int type_size(int t) {
    switch (t) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    default: return 0;
    }
}

/* big-endian values of IDX type t -> doubles */
static double be_value(const unsigned char *p, int t) {
    uint64_t u = 0;
    int sz = type_size(t);
    for (int k = 0; k < sz; k++) u = (u << 8) | p[k];
    switch (t) {
    case 0x08: return (double)u;
    case 0x09: return (double)(int8_t)u;
    case 0x0B: return (double)(int16_t)u;
    case 0x0C: return (double)(int32_t)u;
    case 0x0D: { uint32_t v = (uint32_t)u; float f; memcpy(&f, &v, 4); return f; }
    default: { double d; memcpy(&d, &u, 8); return d; }
    }
}

static cnn_tensor *decode(cnn_ctx *c, idx_src *s, cnn_dtype dt, double scale) {
    unsigned char hdr[4 + 4 * CNN_MAX_DIM];
    int64_t k = src_read(c, s, hdr, 4);
    if (k < 0) return NULL;
    if (k < 4) { cnn_seterr(c, "truncated at byte %lld%s (the 4-byte magic number)", (long long)k, where(s)); return NULL; }
    int t = hdr[2], nd = hdr[3];
    if (hdr[0] != 0 || hdr[1] != 0 || type_size(t) == 0 || nd < 1 || nd > CNN_MAX_DIM) {
        cnn_seterr(c, "wrong magic 0x%02X%02X%02X%02X at byte 0%s (expected 00 00, a type code 08/09/0B/0C/0D/0E and 1..%d dimensions)",
                   hdr[0], hdr[1], hdr[2], hdr[3], where(s), CNN_MAX_DIM);
        return NULL;
    }
    k = src_read(c, s, hdr + 4, (size_t)(4 * nd));
    if (k < 0) return NULL;
    if (k < 4 * nd) { cnn_seterr(c, "truncated at byte %lld%s (in the %d sizes)", (long long)(4 + k), where(s), nd); return NULL; }
    cnn_shape sh = { nd, {0} };
    for (int d = 0; d < nd; d++) {
        const unsigned char *p = hdr + 4 + 4 * d;
        sh.size[d] = ((int64_t)p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
    }
    /* the strides multiply sizes with 0 counted as 1, so bound that product too */
    double span = 1;
    for (int d = 0; d < nd; d++) span *= sh.size[d] > 0 ? (double)sh.size[d] : 1.0;
    if (span > 0x1p48) {
        char b[200];
        cnn_seterr(c, "sizes %s in the header are too large", cnn_shape_str(b, sizeof b, nd, sh.size));
        return NULL;
    }
    if (cnn_shape_check(c, &sh) < 0) return NULL;
    int es = type_size(t);
    int64_t numel = cnn_shape_numel(&sh);
    double need = (double)numel * es;
    /* refuse sizes the file cannot hold before allocating (zlib expands at most ~1032:1) */
    double avail = s->gz ? 1100.0 * (double)s->n + 65536.0 : (double)(s->n - s->pos);
    if (need > avail) {
        char b[200];
        cnn_seterr(c, "truncated: sizes %s of %d-byte values need %.0f bytes after byte %lld%s, the file has %s%.0f",
                   cnn_shape_str(b, sizeof b, nd, sh.size), es, need, (long long)s->out, where(s),
                   s->gz ? "at most " : "", avail);
        return NULL;
    }
    cnn_tensor *y = cnn_empty(c, &sh, dt);
    if (y == NULL) return NULL;
    unsigned char chunk[1 << 16];
    int64_t done = 0, per = (int64_t)(sizeof chunk / es);
    float *y32 = dt == CNN_F32 ? cnn_data(y) : NULL;
    double *y64 = dt == CNN_F64 ? cnn_data(y) : NULL;
    int64_t *yi = dt == CNN_I64 ? cnn_data(y) : NULL;      /* labels: values as stored (times scale, truncated) */
    while (done < numel) {
        int64_t want = numel - done < per ? numel - done : per;
        k = src_read(c, s, chunk, (size_t)(want * es));
        if (k < 0) { cnn_tensor_release(y); return NULL; }
        if (k < want * es) {
            cnn_seterr(c, "truncated at byte %lld%s (expected %.0f bytes of data after the header)",
                       (long long)s->out, where(s), need);
            cnn_tensor_release(y);
            return NULL;
        }
        if (t == 0x08) {      /* the common case (images, labels) gets its own loop */
            if (y32) for (int64_t i = 0; i < want; i++) y32[done + i] = (float)(chunk[i] * scale);
            else if (yi) for (int64_t i = 0; i < want; i++) yi[done + i] = cnn_double_to_i64(chunk[i] * scale);
            else for (int64_t i = 0; i < want; i++) y64[done + i] = chunk[i] * scale;
        } else {
            for (int64_t i = 0; i < want; i++) {
                double v = be_value(chunk + i * es, t) * scale;
                if (y32) y32[done + i] = (float)v;
                else if (yi) yi[done + i] = cnn_double_to_i64(v);
                else y64[done + i] = v;
            }
        }
        done += want;
    }
    unsigned char extra;
    k = src_read(c, s, &extra, 1);
    if (k != 0) {
        if (k > 0) cnn_seterr(c, "unexpected data after byte %lld%s (the sizes in the header account for %.0f bytes of data)",
                              (long long)(s->out - 1), where(s), need);
        cnn_tensor_release(y);
        return NULL;
    }
    if (s->gz && !s->stream_end) {
        /* the data are complete but the member is not: its end or CRC/size trailer is missing */
        cnn_seterr(c, "truncated gzip file at byte %zu: the compressed stream has no end or no CRC/size trailer", s->n);
        cnn_tensor_release(y);
        return NULL;
    }
    if (s->gz && s->z.avail_in + (s->n - s->pos) > 0) {
        cnn_seterr(c, "unexpected data after the gzip stream at byte %zu of the file (%zu bytes of garbage or a second member)",
                   s->pos - s->z.avail_in, (size_t)s->z.avail_in + (s->n - s->pos));
        cnn_tensor_release(y);
        return NULL;
    }
    return y;
}

cnn_tensor *cnn_idx_decode(cnn_ctx *c, const unsigned char *buf, size_t n, cnn_dtype dt, double scale) {
    idx_src s;
    memset(&s, 0, sizeof s);
    s.buf = buf;
    s.n = n;
    s.gz = n >= 2 && buf[0] == 0x1f && buf[1] == 0x8b;
    if (!s.gz) return decode(c, &s, dt, scale);
    if (inflateInit2(&s.z, 16 + MAX_WBITS) != Z_OK) { cnn_seterr(c, "out of memory"); return NULL; }
    cnn_tensor *y = decode(c, &s, dt, scale);
    inflateEnd(&s.z);
    return y;
}
