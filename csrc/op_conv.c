/* op_conv.c: conv2d and conv1d (NCHW / NCL, stride, padding, dilation, groups) by im2col + GEMM
 * over batch slices or bands of output rows, or by Winograd F(2x2,3x3) for 3x3 stride-1 layers,
 * or (forward of first layers, AVX-512) by a direct kernel, with their autograd record. conv1d
 * and unbatched inputs run the same kernels as (N,C,1,L) and (1,C,H,W), whose memory they
 * share, under their own node ("conv1d", "conv2d"). Kernels: op_conv.inc, op_wino.inc.
 * Bindings: lua_conv.c; specs: conv2d_spec.lua, conv1d_spec.lua, parity/conv_parity_spec.lua. */
#include "cnn.h"
#include "tensor.h"
#include "autograd.h"
#include "op_window.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

/* Filled and validated once by conv_geom_init; forward, backward and messages all use it. */
typedef struct conv_geom {
    int nd;                 /* spatial dims as the user sees them: 1 (conv1d) or 2 (conv2d) */
    int batched;            /* 0: the user gave one image without the N dimension */
    int64_t N, C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW;
    int64_t NB;             /* images lowered into one GEMM (a batch slice) */
    int64_t RB;             /* NB = 1 and an image bigger than a slice: output rows per GEMM (a band) */
    int wino;               /* 1: Winograd F(2x2,3x3) (op_wino.inc) instead of im2col + GEMM */
    int T;                  /* threads taking runs of images (cnn.set_num_threads) */
    int64_t WI;             /* Winograd: images per run (enough for a block of tiles) */
    int64_t WR;             /* Winograd: rows of 2x2 tiles transformed and multiplied per block */
    int wdu;                /* Winograd on AVX-512: the weight gradient by wino_du, not OpenBLAS */
    int direct;             /* 1: forward by the direct kernel (op_conv.inc) instead of im2col + GEMM */
    int64_t HP, WQ;         /* direct: rows of the re-laid input, and length of each column phase */
    int64_t ND;             /* direct: re-laid image buffers (images per pass, or one per thread) */
    int TD;                 /* direct: threads */
    int DI;                 /* direct: 1: threads take whole images; 0: passes of ND images, rows shared */
} conv_geom;

/* A slice's im2col matrix is kept under this size, so it is still in cache when the GEMM reads
 * it (bench/conv.lua measures the choice), and a slice holds only as many images as make its
 * GEMM CNN_CONV_MIN_COLS columns wide: gathering several images costs a scatter of the output
 * (and a transposition of dy), which one image's GEMM straight into y avoids. N64 1->32 28x28
 * at 1 thread, fwd / fwd+bwd ms: slices of 4 images 2.6-2.7 / 3.6-4.2; one image 1.1 / 3.1. */
#ifndef CNN_CONV_SLICE_BYTES
#define CNN_CONV_SLICE_BYTES (512 << 10)
#endif
#ifndef CNN_CONV_MIN_COLS
#define CNN_CONV_MIN_COLS 256
#endif
/* An image whose im2col matrix is bigger than a slice is lowered in bands of output rows of
 * about this size, each GEMM writing straight into y (N4 3->64 224x224 k7 s2 forward, 1 thread:
 * whole image 18.0 ms, bands of 256 KiB 16.4, 512 KiB 15.1-15.7, 1 MiB 15.1) */
#ifndef CNN_CONV_BAND_BYTES
#define CNN_CONV_BAND_BYTES (512 << 10)
#endif

/* Winograd is used for 3x3, stride 1, undilated, ungrouped convolutions with at least
 * CNN_WINO_MIN_C input and output channels (with fewer, the GEMMs are too thin to gain), in
 * blocks of about CNN_WINO_TILES 2x2 tiles. Block size, fwd / fwd+bwd ms at 1 thread
 * (32->64 14x14 N64; 64->128 56x56 N8): 64 tiles 6.9 / 13.6, 23.9 / 81; 128: 2.8 / 12.9,
 * 21.7 / 70; 256: 3.5 / 13.5, 25.7 / 78; 512: 4.3 / 17.0, 25.7 / 80; 2048: 10.3 / 19.3, 26.5 / 81
 * (before the transforms were vectorized; again after: 256 tiles 9.7 / 60-64 fwd+bwd against
 * 128 tiles 8.5-9.2 / 53-57; the transformed blocks of 128 tiles stay in L2). */
#ifndef CNN_WINO_MIN_C
#define CNN_WINO_MIN_C 8
#endif
#ifndef CNN_WINO_TILES
#define CNN_WINO_TILES 128
#endif

/* im2col path: one thread's scratch, elements: col (C*KH*KW, NB*OH*OW; a band in band mode),
 * (OC, NB*OH*OW) for a slice of several images, then a private bias and weight gradient */
static int64_t conv_part(const conv_geom *g) {
    int64_t cols = g->RB < g->OH ? g->RB * g->OW : g->NB * g->OH * g->OW;
    int64_t n = g->C * g->KH * g->KW * cols + (g->NB > 1 ? g->OC * cols : 0);
    return (n + 15) / 16 * 16 + g->OC + g->OC * (g->C / g->G) * g->KH * g->KW;
}

/* The direct forward (op_conv.inc) is used with AVX-512 for ungrouped layers with
 * CNN_DIRECT_MIN_CK..CNN_DIRECT_MAX_CK weights per output channel and at least
 * CNN_DIRECT_MIN_OW output columns: the first layers of image models (RGB in) and of sequence
 * models (one-hot DNA in), whose im2col matrix is the input copied KH*KW times and whose GEMM is
 * too thin for BLAS's peak. Forward ms at 1 thread, im2col + sgemm -> direct:
 * N4 3->64 224x224 k7 s2 p3 6.8 -> 5.0-5.5; k3 p1 10.6-11.3 -> 5.0-5.1; N16 4->64 L1000 k19
 * 1.33 -> 0.86; N4 3->32 299x299 k3 s2 2.3 -> 1.6; N8 16->16 56x56 k3 s2 0.49-0.55 -> 0.36-0.40.
 * With fewer weights a tile's stores outweigh its arithmetic: N64 1->32 28x28 k3 0.92 -> 1.26,
 * k5 (25 weights) 1.56-1.73 -> 1.75. */
#ifndef CNN_DIRECT_MIN_CK
#define CNN_DIRECT_MIN_CK 27
#endif
#ifndef CNN_DIRECT_MAX_CK
#define CNN_DIRECT_MAX_CK 256
#endif
#ifndef CNN_DIRECT_MIN_OW
#define CNN_DIRECT_MIN_OW 16
#endif
/* output channels per register tile of the direct kernel (the weights are packed in blocks of it) */
#ifndef CNN_DIRECT_MR
#define CNN_DIRECT_MR 8
#endif
/* the re-laid images of one pass are kept under this size */
#define CNN_DIRECT_CHUNK_BYTES (8 << 20)

/* direct path: elements of one re-laid image (C, HP, SW, WQ) */
static inline int64_t direct_xp(const conv_geom *g) { return g->C * g->HP * g->SW * g->WQ; }
/* direct path workspace, elements: ND re-laid images, the packed weights (OC rounded up to MR
 * blocks, C*KH*KW, MR) and the bias padded the same way */
static inline int64_t direct_ws(const conv_geom *g) {
    int64_t ocp = (g->OC + CNN_DIRECT_MR - 1) / CNN_DIRECT_MR * CNN_DIRECT_MR;
    return g->ND * direct_xp(g) + ocp * (g->C * g->KH * g->KW + 1) + 64;
}

/* Winograd scratch layout (op_wino.inc). Tiles per row of tiles, with the dummy tile: */
static inline int64_t wino_twx(const conv_geom *g) { return (g->OW + 1) / 2 + 1; }
/* columns of a block (a multiple of 16) */
static inline int64_t wino_ld(const conv_geom *g) { return (g->WR * wino_twx(g) + 15) / 16 * 16; }
/* The 16 slabs of v and m start 16 elements past a multiple of 1024 apart: with sizes like
 * OC = 128 a plain OC*ld is a multiple of 4 KiB, and the 16 store streams of a transform would
 * all fall into one L1 set (measured: the dy transform ran 4x slower). */
static inline int64_t wino_slab(int64_t rows, int64_t ld) { return (rows * ld + 1023) / 1024 * 1024 + 16; }
/* length of each of the 8 row arrays of the transforms */
static inline int64_t wino_l(const conv_geom *g) {
    int64_t TH = (g->OH + 1) / 2;
    return (g->WR < TH ? g->WR : TH) * 2 * wino_twx(g) + 8;
}
/* wino_du's transposed input slab: C rounded up to whole 64-byte vectors */
static inline int64_t wino_cp(const conv_geom *g) { return (g->C + 15) / 16 * 16; }
/* one thread's scratch: v and m (16 slabs each), 8 rows of L, W zeros, one transposed slab
 * (ld, Cp) for wino_du, then db (OC) and du (16,OC,C) */
static inline int64_t wino_part(const conv_geom *g) {
    int64_t ld = wino_ld(g);
    return (16 * (wino_slab(g->C, ld) + wino_slab(g->OC, ld)) + 8 * wino_l(g) + (g->W + 15) / 16 * 16 +
            ld * wino_cp(g) + 15) / 16 * 16 + g->OC + 16 * g->OC * g->C;
}

/* Winograd: the tile rows [r, ...) of one image within a block ending at tile row end
 * (tile row r = n*TH + th): image n, rows [th0, th1) */
static inline void wino_run(const conv_geom *g, int64_t r, int64_t end, int64_t *n, int64_t *th0, int64_t *th1) {
    int64_t TH = (g->OH + 1) / 2;
    *n = r / TH;
    *th0 = r % TH;
    *th1 = TH - *th0 < end - r ? TH : *th0 + (end - r);
}

#define CNN_GEN_FILE "op_conv.inc"
#include "gen.h"

/* a * b for sizes >= 0, saturating at INT64_MAX: for comparisons with a budget or a limit */
static inline int64_t mul_sat(int64_t a, int64_t b) {
    int64_t r;
    return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}

/* the output's shape as the user sees it: (N,)OC,(OH,)OW */
static cnn_shape conv_out_shape(const conv_geom *g) {
    cnn_shape s = { 0, { 0 } };
    if (g->batched) s.size[s.ndim++] = g->N;
    s.size[s.ndim++] = g->OC;
    if (g->nd == 2) s.size[s.ndim++] = g->OH;
    s.size[s.ndim++] = g->OW;
    return s;
}

/* the element count of s, or -1 past cnn_shape_check's limit (2^59) */
static int64_t conv_numel(const cnn_shape *s) {
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++)
        if (__builtin_mul_overflow(n, s->size[i], &n) || n > (INT64_C(1) << 59)) return -1;
    return n;
}

/* Reads the user's tensors (conv1d: (N,C,L) and (OC,C/G,K); unbatched without N) and options
 * into g. Options arrays hold {h, w}; for conv1d only [1] is read. Messages name arguments as
 * F.conv2d / F.conv1d number them. */
static int conv_geom_init(cnn_ctx *c, conv_geom *g, int nd, const cnn_tensor *x, const cnn_tensor *w,
                          const cnn_tensor *b, const int64_t *stride, const int64_t *pad,
                          const int64_t *dil, int64_t groups) {
    char d1[200], d2[200], p1[64], p2[64], p3[64], p4[64];
    const char *sp = nd == 2 ? "H,W" : "L";
    g->nd = nd;
    if (x->ndim != nd + 1 && x->ndim != nd + 2)
        return cnn_seterr(c, "argument 1 (input): expected a %d-D (C,%s) or %d-D (N,C,%s) tensor, got %s",
                          nd + 1, sp, nd + 2, sp, cnn_tensor_desc(d1, sizeof d1, x));
    if (w->ndim != nd + 2)
        return cnn_seterr(c, "argument 2 (weight): expected a %d-D tensor, got %s", nd + 2,
                          cnn_tensor_desc(d1, sizeof d1, w));
    if (w->dtype != x->dtype)
        return cnn_seterr(c, "argument 2 (weight): expected %s like the input, got %s",
                          cnn_dtype_name(x->dtype), cnn_tensor_desc(d1, sizeof d1, w));
    g->batched = x->ndim == nd + 2;
    int o = g->batched;                          /* index of C in x */
    g->N = g->batched ? x->size[0] : 1;
    g->C = x->size[o];
    g->H = nd == 2 ? x->size[o + 1] : 1;
    g->W = x->size[x->ndim - 1];
    g->OC = w->size[0];
    g->KH = nd == 2 ? w->size[2] : 1;
    g->KW = w->size[w->ndim - 1];
    if (b && (b->ndim != 1 || b->size[0] != g->OC))
        return cnn_seterr(c, "argument 3 (bias): expected a 1-D tensor of %lld elements (weight %s), got %s",
                          (long long)g->OC, cnn_shape_str(d2, sizeof d2, w->ndim, w->size),
                          cnn_tensor_desc(d1, sizeof d1, b));
    if (b && b->dtype != x->dtype)
        return cnn_seterr(c, "argument 3 (bias): expected %s like the input, got %s",
                          cnn_dtype_name(x->dtype), cnn_tensor_desc(d1, sizeof d1, b));
    g->SH = nd == 2 ? stride[0] : 1; g->SW = stride[1];
    g->PH = nd == 2 ? pad[0] : 0;    g->PW = pad[1];
    g->DH = nd == 2 ? dil[0] : 1;    g->DW = dil[1];
    g->G = groups;
    if (g->SH < 1 || g->SW < 1)
        return cnn_seterr(c, "argument 4 (options): stride must be >= 1, got %s", cnn_pair_str(p1, sizeof p1, g->nd, g->SH, g->SW));
    if (g->PH < 0 || g->PW < 0)
        return cnn_seterr(c, "argument 4 (options): padding must be >= 0, got %s", cnn_pair_str(p1, sizeof p1, g->nd, g->PH, g->PW));
    if (g->DH < 1 || g->DW < 1)
        return cnn_seterr(c, "argument 4 (options): dilation must be >= 1, got %s", cnn_pair_str(p1, sizeof p1, g->nd, g->DH, g->DW));
    if (g->G < 1)
        return cnn_seterr(c, "argument 4 (options): groups must be >= 1, got %lld", (long long)g->G);
    if (g->KH < 1 || g->KW < 1)
        return cnn_seterr(c, "argument 2 (weight): kernel size must be >= 1, got %s",
                          cnn_tensor_desc(d1, sizeof d1, w));
    if (g->C % g->G != 0)
        return cnn_seterr(c, "groups=%lld does not divide the %lld input channels of input %s",
                          (long long)g->G, (long long)g->C, cnn_tensor_desc(d1, sizeof d1, x));
    if (g->OC % g->G != 0)
        return cnn_seterr(c, "groups=%lld does not divide the %lld output channels of weight %s",
                          (long long)g->G, (long long)g->OC, cnn_tensor_desc(d1, sizeof d1, w));
    if (w->size[1] != g->C / g->G) {
        int64_t e;
        if (__builtin_mul_overflow(w->size[1], g->G, &e)) e = -1;
        return cnn_seterr(c, "input %s has %lld channels, but weight %s with groups=%lld expects %s%lld",
                          cnn_tensor_desc(d1, sizeof d1, x), (long long)g->C,
                          cnn_shape_str(d2, sizeof d2, w->ndim, w->size), (long long)g->G,
                          e < 0 ? "more than " : "", (long long)(e < 0 ? INT64_MAX : e));
    }
    /* Sizes come from tensors (at most 2^59 elements: cnn_shape_check), but stride, padding and
     * dilation are any positive int64 the user gives: every sum and product of them is checked. */
    int64_t ekh, ekw, hp, wp;                 /* dilated kernel, padded input */
    if (__builtin_mul_overflow(g->DH, g->KH - 1, &ekh) || __builtin_add_overflow(ekh, 1, &ekh) ||
        __builtin_mul_overflow(g->DW, g->KW - 1, &ekw) || __builtin_add_overflow(ekw, 1, &ekw))
        return cnn_seterr(c, "argument 4 (options): dilation %s is too large for kernel %s (the dilated kernel's size overflows)",
                          cnn_pair_str(p1, sizeof p1, g->nd, g->DH, g->DW), cnn_pair_str(p2, sizeof p2, g->nd, g->KH, g->KW));
    if (__builtin_mul_overflow(g->PH, 2, &hp) || __builtin_add_overflow(hp, g->H, &hp) ||
        __builtin_mul_overflow(g->PW, 2, &wp) || __builtin_add_overflow(wp, g->W, &wp))
        return cnn_seterr(c, "argument 4 (options): padding %s is too large for input %s (the padded size overflows)",
                          cnn_pair_str(p1, sizeof p1, g->nd, g->PH, g->PW), cnn_shape_str(d1, sizeof d1, x->ndim, x->size));
    int64_t nh = hp - ekh, nw = wp - ekw;     /* both terms >= 0: no overflow */
    g->OH = nh < 0 ? 0 : nh / g->SH + 1;
    g->OW = nw < 0 ? 0 : nw / g->SW + 1;
    if (nh < 0 || nw < 0)
        return cnn_seterr(c, "output size is too small: input %s with kernel %s, padding %s and dilation %s "
                             "gives %s", cnn_shape_str(d1, sizeof d1, x->ndim, x->size),
                          cnn_pair_str(p1, sizeof p1, g->nd, g->KH, g->KW), cnn_pair_str(p2, sizeof p2, g->nd, g->PH, g->PW),
                          cnn_pair_str(p3, sizeof p3, g->nd, g->DH, g->DW),
                          cnn_pair_str(p4, sizeof p4, g->nd, nh < 0 ? 0 : g->OH, nw < 0 ? 0 : g->OW));
    cnn_shape ys = conv_out_shape(g);
    if (conv_numel(&ys) < 0)
        return cnn_seterr(c, "output %s is too large (the element count overflows): input %s with kernel %s, "
                             "stride %s, padding %s and dilation %s", cnn_shape_str(d1, sizeof d1, ys.ndim, ys.size),
                          cnn_shape_str(d2, sizeof d2, x->ndim, x->size), cnn_pair_str(p1, sizeof p1, g->nd, g->KH, g->KW),
                          cnn_pair_str(p2, sizeof p2, g->nd, g->SH, g->SW), cnn_pair_str(p3, sizeof p3, g->nd, g->PH, g->PW),
                          cnn_pair_str(p4, sizeof p4, g->nd, g->DH, g->DW));
    /* BLAS takes int dimensions; one image's im2col matrix must fit */
    int64_t OHW = g->OH * g->OW;              /* at most the output's element count */
    int64_t CK = mul_sat(mul_sat(g->C, g->KH), g->KW);
    if (OHW > INT_MAX || CK > INT_MAX || g->OC > INT_MAX || (OHW && CK > INT_MAX / OHW))
        return cnn_seterr(c, "convolution too large for BLAS (input %s, weight %s)",
                          cnn_shape_str(d1, sizeof d1, x->ndim, x->size), cnn_shape_str(d2, sizeof d2, w->ndim, w->size));
    /* from here on C*KH*KW, OH*OW and OC are below 2^31: their products fit in int64 */
    int64_t per = mul_sat((CK + g->OC) * OHW, (int64_t)cnn_dtype_size(x->dtype));
    g->NB = per > 0 ? CNN_CONV_SLICE_BYTES / per : 1;
    if (OHW > 0 && g->NB > (CNN_CONV_MIN_COLS + OHW - 1) / OHW) g->NB = (CNN_CONV_MIN_COLS + OHW - 1) / OHW;
    if (g->NB < 1) g->NB = 1;
    if (g->NB > g->N) g->NB = g->N > 0 ? g->N : 1;
    while (g->NB > 1 && g->NB * OHW * (CK > g->OC ? CK : g->OC) > INT_MAX) g->NB--;
    /* an image bigger than a slice is cut into bands of output rows (GEMM straight into y) */
    int64_t prow = mul_sat((CK + g->OC) * g->OW, (int64_t)cnn_dtype_size(x->dtype));
    g->RB = g->OH;
    if (g->NB == 1 && per > CNN_CONV_SLICE_BYTES && prow > 0) {
        g->RB = CNN_CONV_BAND_BYTES / prow;
        if (g->RB < 1) g->RB = 1;
        if (g->RB > g->OH) g->RB = g->OH;
    }
    g->wino = g->KH == 3 && g->KW == 3 && g->SH == 1 && g->SW == 1 && g->DH == 1 && g->DW == 1 &&
              g->G == 1 && g->C >= CNN_WINO_MIN_C && g->OC >= CNN_WINO_MIN_C && g->OH > 0 && g->OW > 0;
    if (g->wino) {
        int64_t TW = (g->OW + 1) / 2 + 1, NR = g->N * ((g->OH + 1) / 2);   /* + 1: the dummy tile */
        int64_t TH = (g->OH + 1) / 2;
        g->WR = CNN_WINO_TILES / TW;
        if (g->WR > TH) g->WR = g->WR / TH * TH;   /* whole images per block: no short tail block */
        if (g->WR < 1) g->WR = 1;
        if (g->WR < TH) g->WR = (TH + (TH + g->WR - 1) / g->WR - 1) / ((TH + g->WR - 1) / g->WR);  /* even blocks */
        if (g->WR > NR) g->WR = NR > 0 ? NR : 1;
        if ((g->WR * TW + 16) * (g->C > g->OC ? g->C : g->OC) > INT_MAX) g->wino = 0;
    }
    g->wdu = g->wino && cnn_cpu_avx512();
    g->T = cnn_get_num_threads(c);
    if (g->T > g->N) g->T = g->N > 0 ? (int)g->N : 1;
    if (!g->wino && g->T > (g->N + g->NB - 1) / g->NB) g->T = (int)((g->N + g->NB - 1) / g->NB);
    if (g->T < 1) g->T = 1;
    if (g->wino) {
        int64_t TH = (g->OH + 1) / 2;
        g->WI = (g->WR + TH - 1) / TH;
        if (g->WI > g->N) g->WI = g->N > 0 ? g->N : 1;
        if (g->T > (g->N + g->WI - 1) / g->WI) g->T = (int)((g->N + g->WI - 1) / g->WI);
    }
    /* the direct forward: rows of the re-laid input cover every output row's window; each
     * phase row is long enough for whole vectors of the last output columns (64-byte vectors
     * hold 16 floats, 8 doubles; 16 serves both) */
    int64_t CKg = g->C / g->G * g->KH * g->KW;
    g->direct = !g->wino && cnn_cpu_avx512() && g->G == 1 && g->OW >= CNN_DIRECT_MIN_OW && CKg >= CNN_DIRECT_MIN_CK &&
                CKg <= CNN_DIRECT_MAX_CK && g->N > 0 && g->OH > 0;
    if (g->direct) {
        g->HP = (g->OH - 1) * g->SH + (g->KH - 1) * g->DH + 1;     /* <= H + 2*PH */
        g->WQ = (g->OW + 15) / 16 * 16 + (g->KW - 1) * g->DW / g->SW + 1;
        /* a re-laid image over 16 M elements (3 x 2300 x 2300: each thread holds one, and the
         * workspace keeps its peak until cnn.empty_cache), or one whose size overflows with
         * absurd strides and padding: im2col bands instead */
        int64_t n;
        if (__builtin_mul_overflow(g->C, g->HP, &n) || __builtin_mul_overflow(n, g->SW, &n) ||
            __builtin_mul_overflow(n, g->WQ, &n) || n > ((int64_t)1 << 24))
            g->direct = 0;
    }
    if (g->direct) {
        /* whole images per thread, each re-laid just before its rows while it is in L2, when
         * the images share out evenly enough (the threads busy at least 3/4 of the rounds on
         * average); else passes of ND re-laid images whose rows the threads share (one image on
         * 2 threads) */
        g->TD = cnn_get_num_threads(c);
        int64_t rounds = (g->N + g->TD - 1) / g->TD;
        g->DI = 4 * g->N >= 3 * rounds * g->TD;
        if (g->DI) {
            if (g->TD > g->N) g->TD = (int)g->N;
            g->ND = g->TD;
        } else {
            int64_t xp = direct_xp(g) * (int64_t)cnn_dtype_size(x->dtype);
            g->ND = xp > 0 ? CNN_DIRECT_CHUNK_BYTES / xp : 1;
            if (g->ND < 1) g->ND = 1;
            if (g->ND > g->N) g->ND = g->N;
            if (g->TD > g->ND * g->OH) g->TD = (int)(g->ND * g->OH);
        }
    }
    return 0;
}

/* workspace: one scratch part per thread (conv_part; Winograd: the transformed weights, then
 * one wino_part per thread) */
static size_t conv_ws_bytes(const conv_geom *g, cnn_dtype dt) {
    if (g->wino)     /* u (16,OC,C), then one part per thread (op_wino.inc) */
        return (size_t)(16 * g->OC * g->C + g->T * wino_part(g)) * cnn_dtype_size(dt);
    size_t n = (size_t)(g->T * conv_part(g));
    if (g->direct && (size_t)direct_ws(g) > n) n = (size_t)direct_ws(g);   /* forward direct, backward im2col */
    return (n ? n : 1) * cnn_dtype_size(dt);
}

/* saves: x and w (contiguous, in the user's layout); extra: the conv_geom */
static int conv2d_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const conv_geom *g = n->extra;
    const cnn_tensor *x = cnn_node_saved(c, n, 0), *w = cnn_node_saved(c, n, 1);
    if (x == NULL || w == NULL) return -1;
    cnn_tensor *d = cnn_contiguous_as(c, dy, x->dtype);
    if (d == NULL) return -1;
    for (int i = 0; i < 3; i++)
        if (n->in[i].node && (dx[i] = cnn_full(c, &n->in[i].shape, x->dtype, 0.0)) == NULL) goto fail;
    void *ws = cnn_ws_get(c, conv_ws_bytes(g, x->dtype));
    if (ws == NULL) goto fail;
    if (g->N > 0 && g->OH * g->OW > 0 && g->OC > 0 && g->wino) {
        void *dxp = dx[0] ? cnn_data(dx[0]) : NULL, *dwp = dx[1] ? cnn_data(dx[1]) : NULL;
        if (x->dtype == CNN_F32) {
            wino_bwd_f32(dxp, dwp, dx[2] ? cnn_data(dx[2]) : NULL, cnn_data(d), cnn_data(x), cnn_data(w), g, ws);
        } else {
            wino_bwd_f64(dxp, dwp, dx[2] ? cnn_data(dx[2]) : NULL, cnn_data(d), cnn_data(x), cnn_data(w), g, ws);
        }
    } else if (g->N > 0 && g->OH * g->OW > 0 && g->OC > 0) {  /* else the sums are empty: 0 */
        if (x->dtype == CNN_F32)
            conv2d_bwd_f32(dx[0] ? cnn_data(dx[0]) : NULL, dx[1] ? cnn_data(dx[1]) : NULL,
                           dx[2] ? cnn_data(dx[2]) : NULL, cnn_data(d), cnn_data(x), cnn_data(w), g, ws);
        else
            conv2d_bwd_f64(dx[0] ? cnn_data(dx[0]) : NULL, dx[1] ? cnn_data(dx[1]) : NULL,
                           dx[2] ? cnn_data(dx[2]) : NULL, cnn_data(d), cnn_data(x), cnn_data(w), g, ws);
    }
    cnn_tensor_release(d);
    return 0;
fail:
    cnn_tensor_release(d);
    for (int i = 0; i < 3; i++) { cnn_tensor_release(dx[i]); dx[i] = NULL; }
    return -1;
}
static void conv2d_release(cnn_node *n) { free(n->extra); }
/* one backward for both: the kernels see contiguous data and g, and (N,C,L) or an unbatched
 * (C,H,W) is laid out as (N,C,1,L) or (1,C,H,W); the node's name is the function the user called */
static const cnn_op op_conv2d = { "conv2d", conv2d_backward, conv2d_release };
static const cnn_op op_conv1d = { "conv1d", conv2d_backward, conv2d_release };

/* the user's x, w, b|NULL (any layout conv_geom_init accepts), already validated into g: the
 * kernels run on contiguous copies, which have the memory of (N,C,H,W) and (OC,C/G,KH,KW) */
static cnn_tensor *conv_core(cnn_ctx *c, const cnn_tensor *x0, const cnn_tensor *w0, const cnn_tensor *b0,
                             const conv_geom *g) {
    cnn_tensor *x = cnn_contiguous_as(c, x0, x0->dtype);
    cnn_tensor *w = x ? cnn_contiguous_as(c, w0, x0->dtype) : NULL;
    cnn_tensor *b = (w && b0) ? cnn_contiguous_as(c, b0, x0->dtype) : NULL;
    cnn_shape ys = conv_out_shape(g);
    cnn_tensor *y = (w && (b || !b0)) ? cnn_empty(c, &ys, x0->dtype) : NULL;
    void *ws = y ? cnn_ws_get(c, conv_ws_bytes(g, x0->dtype)) : NULL;
    if (ws == NULL) { cnn_tensor_release(y); y = NULL; goto done; }
    if (cnn_numel(y) == 0) {
        /* nothing to compute */
    } else if (g->wino) {
        if (x0->dtype == CNN_F32) wino_fwd_f32(cnn_data(y), cnn_data(x), cnn_data(w), b ? cnn_data(b) : NULL, g, ws);
        else wino_fwd_f64(cnn_data(y), cnn_data(x), cnn_data(w), b ? cnn_data(b) : NULL, g, ws);
    } else if (g->direct) {
        if (x0->dtype == CNN_F32) direct_fwd_f32(cnn_data(y), cnn_data(x), cnn_data(w), b ? cnn_data(b) : NULL, g, ws);
        else direct_fwd_f64(cnn_data(y), cnn_data(x), cnn_data(w), b ? cnn_data(b) : NULL, g, ws);
    } else if (x0->dtype == CNN_F32) {
        conv2d_fwd_f32(cnn_data(y), cnn_data(x), cnn_data(w), b ? cnn_data(b) : NULL, g, ws);
    } else {
        conv2d_fwd_f64(cnn_data(y), cnn_data(x), cnn_data(w), b ? cnn_data(b) : NULL, g, ws);
    }
    if (cnn_needs_grad(c, x0, w0) || (b0 && cnn_needs_grad(c, b0, NULL))) {
        conv_geom *keep = malloc(sizeof *keep);
        if (keep == NULL) { cnn_seterr(c, "out of memory"); cnn_tensor_release(y); y = NULL; goto done; }
        *keep = *g;
        const cnn_tensor *ins[3] = { x0, w0, b0 };
        cnn_node *n = cnn_record(c, g->nd == 2 ? &op_conv2d : &op_conv1d, &y, 3, ins);
        if (n == NULL) { free(keep); goto done; }
        n->extra = keep;
        cnn_node_save(n, 0, x);
        cnn_node_save(n, 1, w);
    }
done:
    cnn_tensor_release(x);
    cnn_tensor_release(w);
    cnn_tensor_release(b);
    return y;
}

cnn_tensor *cnn_conv2d(cnn_ctx *c, const cnn_tensor *x, const cnn_tensor *w, const cnn_tensor *b,
                       const int64_t stride[2], const int64_t padding[2], const int64_t dilation[2],
                       int64_t groups) {
    conv_geom g;
    if (conv_geom_init(c, &g, 2, x, w, b, stride, padding, dilation, groups) < 0) return NULL;
    return conv_core(c, x, w, b, &g);
}

cnn_tensor *cnn_conv1d(cnn_ctx *c, const cnn_tensor *x, const cnn_tensor *w, const cnn_tensor *b,
                       int64_t stride, int64_t padding, int64_t dilation, int64_t groups) {
    int64_t s[2] = { 1, stride }, p[2] = { 0, padding }, d[2] = { 1, dilation };
    conv_geom g;
    if (conv_geom_init(c, &g, 1, x, w, b, s, p, d, groups) < 0) return NULL;
    return conv_core(c, x, w, b, &g);
}
