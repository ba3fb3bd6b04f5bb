/* tensor.h: internals shared by the core's C files (not part of the public API): the strided
 * iterator, view construction, the memory tally hook, the graph's node and op types, plain
 * copies and the gradient sums of autograd.c. */
#ifndef CNN_TENSOR_H
#define CNN_TENSOR_H

#include "cnn.h"
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdlib.h>
#include <string.h>

/* Walks up to 3 operands of one shape row by row. Dimensions of size 1 are dropped and
 * neighbours that are contiguous in every operand are merged, so a contiguous tensor is a
 * single row. After init, each row is: `inner` elements at offsets off[k] with istride[k]. */
typedef struct cnn_iter {
    int ndim, nops;
    int64_t size[CNN_MAX_DIM];
    int64_t stride[3][CNN_MAX_DIM];
    int64_t idx[CNN_MAX_DIM];
    int64_t off[3];
    int64_t inner, istride[3];
    int64_t rows;                     /* number of rows; 0 when the shape is empty */
} cnn_iter;
void cnn_iter_init(cnn_iter *it, int ndim, const int64_t *size, int nops,
                   const int64_t *const *strides);
int cnn_iter_next(cnn_iter *it);     /* 1 while there is another row */

void cnn_mem_add(cnn_ctx *c, int64_t bytes);

/* ---- the autograd graph's objects (recorded by autograd.c, freed with the tensors here) ---- */
#define CNN_MAX_SAVED 4

typedef struct cnn_op {
    const char *name;                               /* "mul": used in messages */
    /* dx[i] for each input whose edge is not NULL (the engine sets the rest to NULL);
     * new references, shaped like the input. Returns 0, or -1 with a message. */
    int (*backward)(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx);
    void (*release)(cnn_node *n);                   /* frees `extra` (may be NULL) */
} cnn_op;

typedef struct cnn_edge {
    cnn_node *node;          /* NULL: this input needs no gradient, or backward freed the node */
    cnn_shape shape;
    cnn_dtype dtype;
} cnn_edge;

struct cnn_node {
    int refcount;
    const cnn_op *op;
    int nin;
    cnn_edge *in;
    int nsaved;
    cnn_tensor *saved[CNN_MAX_SAVED];
    uint64_t saved_ver[CNN_MAX_SAVED];
    int64_t iarg[CNN_MAX_DIM + 4];  /* op parameters */
    double farg[4];
    void *extra;                    /* op-owned, released by op->release */
    cnn_tensor *leaf;               /* accumulate-grad nodes: the leaf they feed */
    cnn_tensor *retained;           /* weak: the output whose .grad keeps dy (t:retain_grad()),
                                     * cleared when that tensor is freed */
    /* backward walk scratch */
    cnn_tensor *gacc;
    int deps, visited, freed;
    cnn_node *next_free;            /* link of the release worklist (cnn_free_dead) */
};

/* frees t and n, whose counts reached 0, and all they alone held, iteratively (either may be NULL) */
void cnn_free_dead(cnn_tensor *t, cnn_node *n);

/* the calling thread's number inside an OpenMP parallel region (0 outside one) */
static inline int cnn_thread_num(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* 1 when the CPU runs AVX-512F: the direct convolution and Winograd weight-gradient kernels
 * (op_conv.inc, op_wino.inc) are built for it. CNN_CPU_CAPABILITY=avx2 (or default) in the
 * environment turns them off, as PyTorch's ATEN_CPU_CAPABILITY, to test or compare the portable
 * paths on an AVX-512 machine. */
static inline int cnn_cpu_avx512(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    const char *cap = getenv("CNN_CPU_CAPABILITY");
    if (cap && (strcmp(cap, "avx2") == 0 || strcmp(cap, "default") == 0)) return 0;
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

/* threads for an element-wise loop over n elements: the state's count from 128K elements up
 * (below that, starting threads costs more than it saves) */
static inline int par_threads(const cnn_ctx *c, int64_t n) {
    return n >= (INT64_C(1) << 17) ? cnn_get_num_threads(c) : 1;
}
void cnn_contiguous_strides(int ndim, const int64_t *size, int64_t *stride);
/* a new tensor header on t's storage (no autograd) */
cnn_tensor *cnn_make_view(cnn_ctx *c, const cnn_tensor *t, int ndim, const int64_t *size,
                          const int64_t *stride, int64_t offset);
/* strides of t broadcast to shape s (0 on broadcast dims); s must be a broadcast of t */
void cnn_broadcast_strides(const cnn_tensor *t, const cnn_shape *s, int64_t *stride);
/* contiguous copy of t in dtype dt, or t itself retained when it already is one */
cnn_tensor *cnn_contiguous_as(cnn_ctx *c, const cnn_tensor *t, cnn_dtype dt);
int cnn_check_dtype_pair(cnn_ctx *c, const cnn_tensor *a, const cnn_tensor *b, cnn_dtype *out);
/* dst = src (src broadcast to dst's shape, cast to dst's dtype); no autograd, no checks */
void cnn_copy_raw(cnn_tensor *dst, const cnn_tensor *src);
/* gradient sums for autograd.c, never recorded. dst += src (equal shapes; src cast to dst's
 * dtype), -1 with a message if dst cannot be written in place */
int cnn_accumulate_(cnn_ctx *c, cnn_tensor *dst, const cnn_tensor *src);
/* a + b as a new tensor (equal shapes; the promoted dtype, as cnn_binary) */
cnn_tensor *cnn_add_new(cnn_ctx *c, const cnn_tensor *a, const cnn_tensor *b);
/* scale * the sum of a over dim (dim < 0: over all, a 0-d result), never recorded: cnn_reduce
 * records it, and cnn_sum_to (cnn.h) is built on it. Same order of terms at every thread count. */
cnn_tensor *cnn_sum_plain(cnn_ctx *c, const cnn_tensor *a, int dim, int keepdim, double scale);
/* a's shape with dim removed (or kept as 1; dim < 0: all of them), and a seen as (outer, n, inner) */
cnn_shape cnn_reduced_shape(const cnn_tensor *a, int dim, int keepdim);
void cnn_split3(const cnn_tensor *a, int dim, int64_t *outer, int64_t *n, int64_t *inner);

#endif
