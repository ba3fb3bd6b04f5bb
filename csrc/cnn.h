/* cnn.h: the public C API of the cnn core (tensors, ops, autograd). No Lua here.
 * Conventions: every function returning a tensor returns a new reference (NULL on failure,
 * with a message in the context); tensor parameters are borrowed; retain/release accept NULL.
 * The core never raises, aborts or prints: the Lua bindings (lua_*.c) turn failures into errors.
 * Reference counts are plain ints: kernel threads never touch them. Dimensions are 0-based here;
 * the bindings translate Lua's 1-based dimensions and indices. */
#ifndef CNN_H
#define CNN_H

#include <stddef.h>
#include <stdint.h>

#define CNN_MAX_DIM 8

/* int64 holds integers (indices, class labels, counts): no gradients flow through it, and the
 * ops that have no int64 kernel refuse it (their bindings check the dtype) */
typedef enum { CNN_F32 = 0, CNN_F64 = 1, CNN_I64 = 2 } cnn_dtype;

typedef struct cnn_ctx cnn_ctx;
typedef struct cnn_node cnn_node;

typedef struct cnn_shape {
    int ndim;
    int64_t size[CNN_MAX_DIM];
} cnn_shape;

/* Reference-counted, 64-byte aligned; `version` counts in-place writes (autograd checks it). */
typedef struct cnn_storage {
    int refcount;
    void *data;
    size_t nbytes;
    uint64_t version;
    cnn_ctx *ctx;          /* for the memory tally; the storage holds a reference */
} cnn_storage;

typedef struct cnn_tensor {
    int refcount;
    cnn_dtype dtype;
    int ndim;
    int64_t size[CNN_MAX_DIM];
    int64_t stride[CNN_MAX_DIM];   /* in elements */
    int64_t offset;                /* in elements, into storage */
    cnn_storage *storage;
    /* autograd */
    int requires_grad;             /* leaf flag set by the user, or result of a recorded op */
    cnn_node *node;                /* the op that made this tensor (strong), NULL for leaves */
    struct cnn_tensor *grad;       /* accumulated gradient of a leaf (strong), or NULL */
    struct cnn_tensor *next_dead;  /* link of the release worklist (tensor.c), once dead */
} cnn_tensor;

/* ---- context: per Lua state (errors, memory tally, generator, workspace, grad mode) ---- */
cnn_ctx *cnn_ctx_new(void);
void cnn_ctx_retain(cnn_ctx *c);
void cnn_ctx_release(cnn_ctx *c);
const char *cnn_errmsg(const cnn_ctx *c);
int cnn_seterr(cnn_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int64_t cnn_mem_live(const cnn_ctx *c);      /* bytes held by live storages */
int64_t cnn_mem_peak(const cnn_ctx *c);
void cnn_mem_reset_peak(cnn_ctx *c);
/* bytes allocated since the count was last taken, if at least min (and the count restarts), else 0 */
int64_t cnn_mem_take_new(cnn_ctx *c, int64_t min);
/* bytes allocated since the last cnn_mem_collected, and in *live_then the live bytes at that call;
 * the bindings pace full collections of the Lua state with them (lua_util.c's gc_account) */
int64_t cnn_mem_since_collected(const cnn_ctx *c, int64_t *live_then);
void cnn_mem_collected(cnn_ctx *c);
/* storage data: 64-byte aligned blocks, large ones reused from the context's cache (context.c);
 * alloc returns NULL on OOM without a message; free takes the size given to alloc */
void *cnn_block_alloc(cnn_ctx *c, size_t nbytes);
void cnn_block_free(cnn_ctx *c, void *p, size_t nbytes);
int64_t cnn_mem_cached(const cnn_ctx *c);    /* bytes of freed blocks kept for reuse */
void cnn_cache_free(cnn_ctx *c);             /* returns them to the system */
void *cnn_ws_get(cnn_ctx *c, size_t bytes);  /* scratch valid until the next call; NULL on OOM */
void cnn_ws_free(cnn_ctx *c);
int cnn_grad_enabled(const cnn_ctx *c);
int cnn_set_grad_enabled(cnn_ctx *c, int on);  /* returns the previous mode */
/* cnn.profile's tally: wall seconds and calls per op name, forward (bindings) and backward (graph
 * nodes) apart. cnn_prof_of is NULL unless a profile runs: the one branch the op paths pay. */
#define CNN_PROF_MAX 256
typedef struct cnn_prof {
    int n, dropped;
    struct { char name[48]; int backward; double sec; int64_t count; } e[CNN_PROF_MAX];
    double t0;             /* when the last function call began (the binding layer's call hook) */
    void *thread;          /* the Lua thread of that call */
} cnn_prof;
cnn_prof *cnn_prof_of(const cnn_ctx *c);
int cnn_prof_start(cnn_ctx *c);                /* a fresh tally; -1 when out of memory */
void cnn_prof_stop(cnn_ctx *c);
void cnn_prof_add(cnn_prof *p, const char *name, int backward, double sec);
double cnn_prof_now(void);                      /* monotonic seconds */
void cnn_set_num_threads(cnn_ctx *c, int n);
int cnn_get_num_threads(const cnn_ctx *c);
/* the convolution path: chosen per layer (auto), or forced where it applies (specs, benchmarks;
 * the environment's CNN_CONV_ALGO=im2col|winograd sets it at start) */
enum { CNN_CONV_AUTO = 0, CNN_CONV_IM2COL = 1, CNN_CONV_WINOGRAD = 2 };
void cnn_set_conv_algo(cnn_ctx *c, int algo);
int cnn_get_conv_algo(const cnn_ctx *c);
/* bulk writes (a simulated cohort's thousands of images): while on, atomic_file.c renames each
 * file into place without its fsyncs; turning it off syncs the file system once (sync()) */
void cnn_set_defer_sync(cnn_ctx *c, int on);
int cnn_get_defer_sync(const cnn_ctx *c);

/* ---- random: xoshiro256** seeded by splitmix64; same numbers on every machine ---- */
typedef struct cnn_rng { uint64_t s[4]; double spare; int has_spare; } cnn_rng;
void cnn_rng_seed(cnn_rng *r, uint64_t seed);
uint64_t cnn_rng_next(cnn_rng *r);
double cnn_rng_uniform(cnn_rng *r);          /* [0,1), 53 bits */
double cnn_rng_normal(cnn_rng *r);           /* standard normal, polar method */
double cnn_rng_log(double x);                /* deterministic log used by the generator */
cnn_rng *cnn_ctx_rng(cnn_ctx *c);

/* ---- shapes ---- */
size_t cnn_dtype_size(cnn_dtype d);
int cnn_dtype_is_float(cnn_dtype d);           /* float32 or float64 */
/* a double as int64, truncated toward 0; NaN and out of range give INT64_MIN (as x86 does) */
int64_t cnn_double_to_i64(double v);
const char *cnn_dtype_name(cnn_dtype d);
int64_t cnn_shape_numel(const cnn_shape *s);
int cnn_shape_check(cnn_ctx *c, const cnn_shape *s);   /* negative sizes, overflow */
int cnn_shape_eq(const cnn_shape *a, const cnn_shape *b);
cnn_shape cnn_shape_of(const cnn_tensor *t);
/* "[2,3]" into buf (always terminated); returns buf */
char *cnn_shape_str(char *buf, size_t n, int ndim, const int64_t *size);
/* a window option as conv/pool messages show it: "3x2" (nd 2: a, b) or "2" (nd 1: b) */
char *cnn_pair_str(char *buf, size_t n, int nd, int64_t a, int64_t b);
/* "float32 [2,3]" */
char *cnn_tensor_desc(char *buf, size_t n, const cnn_tensor *t);
/* broadcast two shapes (NumPy rules) into out; -1 with message on mismatch */
int cnn_broadcast_shapes(cnn_ctx *c, const cnn_shape *a, const cnn_shape *b, cnn_shape *out);

/* ---- storage and tensor lifetime ---- */
cnn_storage *cnn_storage_new(cnn_ctx *c, size_t nbytes);
void cnn_storage_retain(cnn_storage *s);
void cnn_storage_release(cnn_storage *s);
void cnn_tensor_retain(cnn_tensor *t);
void cnn_tensor_release(cnn_tensor *t);
static inline void *cnn_data(const cnn_tensor *t) {
    return (char *)t->storage->data + (size_t)t->offset * (t->dtype == CNN_F32 ? 4 : 8);
}
static inline int64_t cnn_numel(const cnn_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->size[i];
    return n;
}
int cnn_is_contiguous(const cnn_tensor *t);
void cnn_bump_version(cnn_tensor *t);

/* ---- construction ---- */
cnn_tensor *cnn_empty(cnn_ctx *c, const cnn_shape *s, cnn_dtype dt);
cnn_tensor *cnn_full(cnn_ctx *c, const cnn_shape *s, cnn_dtype dt, double v);
cnn_tensor *cnn_from_doubles(cnn_ctx *c, const cnn_shape *s, cnn_dtype dt, const double *v);
cnn_tensor *cnn_from_int64s(cnn_ctx *c, const cnn_shape *s, cnn_dtype dt, const int64_t *v);
cnn_tensor *cnn_arange(cnn_ctx *c, double a, double b, double step, cnn_dtype dt);
cnn_tensor *cnn_linspace(cnn_ctx *c, double a, double b, int64_t n, cnn_dtype dt);
cnn_tensor *cnn_eye(cnn_ctx *c, int64_t n, int64_t m, cnn_dtype dt);
cnn_tensor *cnn_rand(cnn_ctx *c, const cnn_shape *s, cnn_dtype dt);
cnn_tensor *cnn_randn(cnn_ctx *c, const cnn_shape *s, cnn_dtype dt);
cnn_tensor *cnn_randint(cnn_ctx *c, int64_t lo, int64_t hi, const cnn_shape *s, cnn_dtype dt);
cnn_tensor *cnn_clone(cnn_ctx *c, const cnn_tensor *t);            /* differentiable */
cnn_tensor *cnn_contiguous(cnn_ctx *c, cnn_tensor *t);             /* t itself (retained) if already */
cnn_tensor *cnn_to(cnn_ctx *c, const cnn_tensor *t, cnn_dtype dt); /* differentiable */
cnn_tensor *cnn_detach(cnn_ctx *c, const cnn_tensor *t);           /* shares storage, no graph */

/* ---- element access (0-based, already range-checked by the caller) ---- */
double cnn_get(const cnn_tensor *t, const int64_t *idx);
void cnn_set(cnn_tensor *t, const int64_t *idx, double v);     /* int64: truncated toward 0 */
int64_t cnn_get_i64(const cnn_tensor *t, const int64_t *idx);  /* any dtype; floats truncated */
void cnn_set_i64(cnn_tensor *t, const int64_t *idx, int64_t v);
int cnn_to_doubles(cnn_ctx *c, const cnn_tensor *t, double *out);  /* row-major order */
int cnn_to_int64s(cnn_ctx *c, const cnn_tensor *t, int64_t *out);  /* row-major; floats truncated */

/* ---- in-place (bump the version; refuse on tensors that need grad while recording) ---- */
int cnn_copy_(cnn_ctx *c, cnn_tensor *dst, const cnn_tensor *src);  /* broadcasts src, casts */
int cnn_fill_(cnn_ctx *c, cnn_tensor *t, double v);
int cnn_uniform_(cnn_ctx *c, cnn_tensor *t, double lo, double hi);
int cnn_normal_(cnn_ctx *c, cnn_tensor *t, double mean, double std);
int cnn_check_inplace(cnn_ctx *c, const cnn_tensor *t);

/* ---- views (share storage; differentiable) ---- */
cnn_tensor *cnn_view(cnn_ctx *c, cnn_tensor *t, const cnn_shape *s);     /* one -1 allowed */
cnn_tensor *cnn_reshape(cnn_ctx *c, cnn_tensor *t, const cnn_shape *s);  /* copies if needed */
cnn_tensor *cnn_transpose(cnn_ctx *c, cnn_tensor *t, int d0, int d1);
cnn_tensor *cnn_permute(cnn_ctx *c, cnn_tensor *t, const int *perm);
cnn_tensor *cnn_narrow(cnn_ctx *c, cnn_tensor *t, int d, int64_t start, int64_t len);
cnn_tensor *cnn_select(cnn_ctx *c, cnn_tensor *t, int d, int64_t i);
cnn_tensor *cnn_squeeze(cnn_ctx *c, cnn_tensor *t, int d);              /* d < 0: all size-1 dims */
cnn_tensor *cnn_unsqueeze(cnn_ctx *c, cnn_tensor *t, int d);
cnn_tensor *cnn_expand(cnn_ctx *c, cnn_tensor *t, const cnn_shape *s);  /* -1 keeps a size */
cnn_tensor *cnn_flatten(cnn_ctx *c, cnn_tensor *t, int d0, int d1);
cnn_tensor *cnn_cat(cnn_ctx *c, cnn_tensor *const *ts, int n, int d);
cnn_tensor *cnn_stack(cnn_ctx *c, cnn_tensor *const *ts, int n, int d);
cnn_tensor *cnn_index_select(cnn_ctx *c, cnn_tensor *t, int d, const int64_t *idx, int64_t n);

/* ---- elementwise ---- */
typedef enum {
    CNN_ADD, CNN_SUB, CNN_MUL, CNN_DIV, CNN_POW, CNN_MAXIMUM, CNN_MINIMUM,
    CNN_EQ, CNN_NE, CNN_LT, CNN_LE, CNN_GT, CNN_GE, CNN_BINARY_COUNT
} cnn_binop;
typedef enum {
    CNN_NEG, CNN_EXP, CNN_LOG, CNN_SQRT, CNN_ABS, CNN_SIGN, CNN_FLOOR, CNN_CEIL, CNN_ROUND,
    CNN_SIGMOID, CNN_TANH, CNN_RELU, CNN_SQUARE, CNN_RECIPROCAL, CNN_UNARY_COUNT
} cnn_unop;
const char *cnn_binop_name(cnn_binop op);
const char *cnn_unop_name(cnn_unop op);
cnn_tensor *cnn_binary(cnn_ctx *c, cnn_binop op, const cnn_tensor *a, const cnn_tensor *b);
cnn_tensor *cnn_binary_scalar(cnn_ctx *c, cnn_binop op, const cnn_tensor *a, double s, int s_first);
int cnn_binary_(cnn_ctx *c, cnn_binop op, cnn_tensor *a, const cnn_tensor *b);  /* a = a op b */
int cnn_binary_scalar_(cnn_ctx *c, cnn_binop op, cnn_tensor *a, double s);
cnn_tensor *cnn_unary(cnn_ctx *c, cnn_unop op, const cnn_tensor *a);
int cnn_unary_(cnn_ctx *c, cnn_unop op, cnn_tensor *a);
cnn_tensor *cnn_clamp(cnn_ctx *c, const cnn_tensor *a, double lo, double hi);  /* NaN bound: none */
cnn_tensor *cnn_where(cnn_ctx *c, const cnn_tensor *cond, const cnn_tensor *a, const cnn_tensor *b);
cnn_tensor *cnn_masked_fill(cnn_ctx *c, const cnn_tensor *a, const cnn_tensor *mask, double v);

/* ---- reductions (dim < 0: over all elements, giving a 0-d tensor) ---- */
typedef enum { CNN_SUM, CNN_MEAN, CNN_MAX, CNN_MIN, CNN_ARGMAX, CNN_ARGMIN } cnn_redop;
cnn_tensor *cnn_reduce(cnn_ctx *c, cnn_redop op, const cnn_tensor *a, int dim, int keepdim);
/* max/min over a dim with 0-based indices (int64; argmax/argmin give int64 as well) */
int cnn_reduce_idx(cnn_ctx *c, cnn_redop op, const cnn_tensor *a, int dim, int keepdim,
                   cnn_tensor **values, cnn_tensor **indices);
cnn_tensor *cnn_var(cnn_ctx *c, const cnn_tensor *a, int dim, int keepdim, int correction);
/* sum a gradient down to a broadcast source shape */
cnn_tensor *cnn_sum_to(cnn_ctx *c, const cnn_tensor *g, const cnn_shape *s);

/* ---- linear algebra ---- */
cnn_tensor *cnn_matmul(cnn_ctx *c, const cnn_tensor *a, const cnn_tensor *b);
/* cnn.linalg (op_linalg.c, on OpenBLAS's LAPACK): matrices are the last two dims, the leading
 * ones a batch (broadcast between A and B). All are differentiable (slogdet through logabsdet). */
cnn_tensor *cnn_linalg_solve(cnn_ctx *c, const cnn_tensor *A, const cnn_tensor *B);
cnn_tensor *cnn_linalg_cholesky(cnn_ctx *c, const cnn_tensor *A);                  /* lower L */
cnn_tensor *cnn_linalg_cholesky_solve(cnn_ctx *c, const cnn_tensor *B, const cnn_tensor *L);
cnn_tensor *cnn_linalg_inv(cnn_ctx *c, const cnn_tensor *A);
int cnn_linalg_slogdet(cnn_ctx *c, const cnn_tensor *A, cnn_tensor **sign, cnn_tensor **logabsdet);
int cnn_linalg_eigh(cnn_ctx *c, const cnn_tensor *A, cnn_tensor **w, cnn_tensor **V);  /* w ascending */
int cnn_linalg_svd(cnn_ctx *c, const cnn_tensor *A, int full, cnn_tensor **U, cnn_tensor **S, cnn_tensor **Vh);
int cnn_linalg_qr(cnn_ctx *c, const cnn_tensor *A, cnn_tensor **Q, cnn_tensor **R);  /* reduced */
cnn_tensor *cnn_linalg_lstsq(cnn_ctx *c, const cnn_tensor *A, const cnn_tensor *B);

/* ---- sorting and gathering (op_sort.c): dims and indices 0-based, indices int64; float32,
 * float64 and int64 (no gradients through int64). A 0-d tensor is a line of one element. ---- */
/* stable sort along d (NaN largest); values differentiable (through the indices, as gather) */
int cnn_sort(cnn_ctx *c, const cnn_tensor *x, int d, int descending, cnn_tensor **values, cnn_tensor **indices);
/* the k largest (or smallest) along d, in sorted order; ties: the first in x first */
int cnn_topk(cnn_ctx *c, const cnn_tensor *x, int64_t k, int d, int largest, cnn_tensor **values, cnn_tensor **indices);
/* index: any dtype, integers, minus base (1: Lua's 1-based indices) as a contiguous int64 tensor;
 * a non-integer element is an error naming its position */
cnn_tensor *cnn_index_tensor(cnn_ctx *c, const cnn_tensor *index, int64_t base);
/* y[p] = x[p with p_d = index[p]]: index (int64, 0-based) as many dims as x, no larger than x
 * except along d; y has index's shape */
cnn_tensor *cnn_gather(cnn_ctx *c, const cnn_tensor *x, int d, const cnn_tensor *index);
/* self[p with p_d = index[p]] += src[p] over index's positions (in place; differentiable on a
 * tensor that shares no memory) and its out-of-place form */
int cnn_scatter_add_(cnn_ctx *c, cnn_tensor *self, int d, const cnn_tensor *index, const cnn_tensor *src);
cnn_tensor *cnn_scatter_add(cnn_ctx *c, const cnn_tensor *self, int d, const cnn_tensor *index, const cnn_tensor *src);
cnn_tensor *cnn_cum(cnn_ctx *c, const cnn_tensor *x, int d, int prod);        /* cumsum (0) / cumprod (1) */
cnn_tensor *cnn_flip(cnn_ctx *c, const cnn_tensor *x, const int *dims, int n);
cnn_tensor *cnn_roll(cnn_ctx *c, const cnn_tensor *x, const int64_t *shifts, const int *dims, int n);
/* sorted distinct values of all of x, the group of each element (x's shape), counts per value */
int cnn_unique(cnn_ctx *c, const cnn_tensor *x, cnn_tensor **values, cnn_tensor **inverse, cnn_tensor **counts);
cnn_tensor *cnn_nonzero(cnn_ctx *c, const cnn_tensor *x);                     /* (n, ndim) */
/* insertion positions of values in the ascending last dim of seq (1-D, or leading dims as values) */
cnn_tensor *cnn_searchsorted(cnn_ctx *c, const cnn_tensor *seq, const cnn_tensor *values, int right);

/* ---- neural-network functional ops (op_activation.c, op_loss.c, op_norm.c, op_linear.c, op_pad.c) ---- */
/* pointwise activations: y = f(x; a, b) with the parameters noted */
typedef enum {
    CNN_ACT_LEAKY_RELU,   /* a = negative slope */
    CNN_ACT_ELU,          /* a = alpha */
    CNN_ACT_SELU,         /* fixed alpha and scale */
    CNN_ACT_HARDTANH,     /* a = min, b = max */
    CNN_ACT_SOFTSIGN,
    CNN_ACT_SOFTPLUS,     /* a = beta, b = threshold */
    CNN_ACT_GELU,         /* a = 0: exact (erf), 1: tanh approximation */
    CNN_ACT_SILU,
    CNN_ACT_MISH,
    CNN_ACT_COUNT
} cnn_act;
cnn_tensor *cnn_activation(cnn_ctx *c, cnn_act kind, const cnn_tensor *x, double a, double b);
/* training: a random slope in [lower, upper] per negative element; else (lower+upper)/2 */
cnn_tensor *cnn_rrelu(cnn_ctx *c, const cnn_tensor *x, double lower, double upper, int training);
/* w: 1 value, or one per channel (dimension 1, 0-based) */
cnn_tensor *cnn_prelu(cnn_ctx *c, const cnn_tensor *x, const cnn_tensor *w);
cnn_tensor *cnn_softmax(cnn_ctx *c, const cnn_tensor *x, int dim, int log);

typedef enum { CNN_RED_NONE, CNN_RED_MEAN, CNN_RED_SUM } cnn_reduction;
/* losses comparing x with a target of its shape, element by element */
typedef enum {
    CNN_LOSS_MSE, CNN_LOSS_L1, CNN_LOSS_HUBER /* p = delta */, CNN_LOSS_SMOOTH_L1 /* p = beta */,
    CNN_LOSS_BCE, CNN_LOSS_BCE_LOGITS, CNN_LOSS_HINGE_EMBEDDING /* p = margin */, CNN_LOSS_COUNT
} cnn_loss;
/* weight (broadcast to x) scales each term; where it is 0 the term and its gradients are 0 even
 * when x or y is NaN. pos_weight (BCE_LOGITS only, broadcast to x) weighs the positive term. */
cnn_tensor *cnn_pointwise_loss(cnn_ctx *c, cnn_loss kind, const cnn_tensor *x, const cnn_tensor *y,
                               const cnn_tensor *weight, const cnn_tensor *pos_weight, double p,
                               cnn_reduction red);
/* x (N,C,d...) logits (log_softmax = 1: cross-entropy) or log-probabilities (0: nll);
 * target: ts->ndim = x->ndim - 1 sizes (N,d...), 0-based classes, -1 = ignored;
 * weight (C) or NULL. Mean divides by the summed weights of the counted targets. */
cnn_tensor *cnn_nll_loss(cnn_ctx *c, const cnn_tensor *x, const cnn_shape *ts, const int64_t *target,
                         const cnn_tensor *weight, int log_softmax, cnn_reduction red);
/* x (N,C) or (C), target (N) or one class, 0-based; p 1 or 2 */
cnn_tensor *cnn_multi_margin_loss(cnn_ctx *c, const cnn_tensor *x, const cnn_shape *ts, const int64_t *target,
                                  const cnn_tensor *weight, int p, double margin, cnn_reduction red);

/* x (N,C,...); running stats (C) updated in place when training (any may be NULL) */
cnn_tensor *cnn_batch_norm(cnn_ctx *c, const cnn_tensor *x, cnn_tensor *running_mean, cnn_tensor *running_var,
                           const cnn_tensor *weight, const cnn_tensor *bias, int training,
                           double momentum, double eps);
/* x (..., *norm): each sample normalised over the trailing dimensions norm; weight, bias of shape
 * norm (or NULL) */
cnn_tensor *cnn_layer_norm(cnn_ctx *c, const cnn_tensor *x, const cnn_shape *norm, const cnn_tensor *weight,
                           const cnn_tensor *bias, double eps);
/* x (N,C,...): each sample normalised over groups of C/groups channels; weight, bias (C) or NULL */
cnn_tensor *cnn_group_norm(cnn_ctx *c, const cnn_tensor *x, int64_t groups, const cnn_tensor *weight,
                           const cnn_tensor *bias, double eps);
/* inverted dropout from the context's generator; x itself (retained) when not training or p = 0 */
cnn_tensor *cnn_dropout(cnn_ctx *c, const cnn_tensor *x, double p, int training);
/* one LSTM time step: xg (N,4H) = x W_ih^T + b_ih, h and c (N,H), w_hh (4H,H), b_hh (4H) or NULL;
 * gates i, f, g, o as PyTorch. Returns h' and c' side by side, (N,2H) */
cnn_tensor *cnn_lstm_cell(cnn_ctx *c, const cnn_tensor *xg, const cnn_tensor *h, const cnn_tensor *cs,
                          const cnn_tensor *w_hh, const cnn_tensor *b_hh);
/* one GRU time step: xg (N,3H) = x W_ih^T + b_ih, h (N,H), w_hh (3H,H), b_hh (3H) or NULL; gates
 * r, z, n with n = tanh(xg_n + r (W_hn h + b_hn)) as PyTorch. Returns h' (N,H) */
cnn_tensor *cnn_gru_cell(cnn_ctx *c, const cnn_tensor *xg, const cnn_tensor *h, const cnn_tensor *w_hh,
                         const cnn_tensor *b_hh);
/* x (..., in), w (out, in), b (out) or NULL -> (..., out) */
cnn_tensor *cnn_linear(cnn_ctx *c, const cnn_tensor *x, const cnn_tensor *w, const cnn_tensor *b);
typedef enum { CNN_PAD_CONSTANT, CNN_PAD_REFLECT, CNN_PAD_REPLICATE, CNN_PAD_CIRCULAR } cnn_pad_mode;
/* pads: (before, after) pairs from the last dimension backwards, as PyTorch; negative crops */
cnn_tensor *cnn_pad(cnn_ctx *c, const cnn_tensor *x, const int64_t *pads, int npads, cnn_pad_mode mode,
                    double value);

/* ---- convolution and pooling (op_conv.c, op_pool.c): PyTorch's semantics, NCHW / NCL, also
 * unbatched (C,H,W) / (C,L). b may be NULL. Option arrays are {h, w}. Options may be any int64:
 * geometry whose sizes would overflow is refused with a message. ---- */
cnn_tensor *cnn_conv2d(cnn_ctx *c, const cnn_tensor *x, const cnn_tensor *w, const cnn_tensor *b,
                       const int64_t stride[2], const int64_t padding[2], const int64_t dilation[2],
                       int64_t groups);
cnn_tensor *cnn_conv1d(cnn_ctx *c, const cnn_tensor *x, const cnn_tensor *w, const cnn_tensor *b,
                       int64_t stride, int64_t padding, int64_t dilation, int64_t groups);
/* inference: conv2d without bias, then y * scale[oc] + shift[oc] (each may be NULL) and ReLU when
 * relu, in the convolution's own pass; no gradient (an error when one would be recorded) */
cnn_tensor *cnn_conv2d_affine(cnn_ctx *c, const cnn_tensor *x, const cnn_tensor *w, const cnn_tensor *scale,
                              const cnn_tensor *shift, int relu, const int64_t stride[2],
                              const int64_t padding[2], const int64_t dilation[2], int64_t groups);
/* padding = "same", stride 1 (nd = 1: conv1d, dilation[1] only; nd = 2: conv2d): PyTorch's padding,
 * the odd zero of an odd total on the right / bottom */
cnn_tensor *cnn_conv_same(cnn_ctx *c, int nd, const cnn_tensor *x, const cnn_tensor *w, const cnn_tensor *b,
                          const int64_t dilation[2], int64_t groups);
typedef enum { CNN_POOL_MAX, CNN_POOL_AVG, CNN_POOL_ADAPTIVE_AVG, CNN_POOL_ADAPTIVE_MAX } cnn_pool;   /* lua_conv.c dispatches on it */
cnn_tensor *cnn_max_pool2d(cnn_ctx *c, const cnn_tensor *x, const int64_t kernel[2], const int64_t stride[2],
                           const int64_t padding[2], const int64_t dilation[2], int ceil_mode);
cnn_tensor *cnn_max_pool1d(cnn_ctx *c, const cnn_tensor *x, int64_t kernel, int64_t stride, int64_t padding,
                           int64_t dilation, int ceil_mode);
cnn_tensor *cnn_avg_pool2d(cnn_ctx *c, const cnn_tensor *x, const int64_t kernel[2], const int64_t stride[2],
                           const int64_t padding[2], int ceil_mode, int count_include_pad);
cnn_tensor *cnn_avg_pool1d(cnn_ctx *c, const cnn_tensor *x, int64_t kernel, int64_t stride, int64_t padding,
                           int ceil_mode, int count_include_pad);
cnn_tensor *cnn_adaptive_avg_pool2d(cnn_ctx *c, const cnn_tensor *x, const int64_t output_size[2]);
cnn_tensor *cnn_adaptive_avg_pool1d(cnn_ctx *c, const cnn_tensor *x, int64_t output_size);
/* the maximum of each adaptive window (first in scan order, a NaN propagates) */
cnn_tensor *cnn_adaptive_max_pool2d(cnn_ctx *c, const cnn_tensor *x, const int64_t output_size[2]);
cnn_tensor *cnn_adaptive_max_pool1d(cnn_ctx *c, const cnn_tensor *x, int64_t output_size);

/* ---- printing: malloc'd string (caller frees), NULL on OOM ---- */
char *cnn_format(cnn_ctx *c, const cnn_tensor *t);

/* ---- autograd (autograd.c): see autograd.h for writing ops ---- */
int cnn_backward(cnn_ctx *c, cnn_tensor *root, const cnn_tensor *grad, int retain_graph);
/* gradients of root w.r.t. inputs[i] into out[i] (new refs; zeros where unreachable) */
int cnn_grad(cnn_ctx *c, cnn_tensor *root, const cnn_tensor *grad, cnn_tensor *const *inputs,
             int n, cnn_tensor **out, int retain_graph);
const char *cnn_grad_fn_name(const cnn_tensor *t);
/* a non-leaf t keeps the gradient reaching it in t->grad at each backward (a leaf always does);
 * -1 with a message if t does not require grad */
int cnn_retain_grad(cnn_ctx *c, cnn_tensor *t);
int cnn_retains_grad(const cnn_tensor *t);   /* 1 after cnn_retain_grad on a non-leaf */

#endif
