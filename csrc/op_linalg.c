/* op_linalg.c: cnn.linalg on the LAPACK inside OpenBLAS (no hand-written factorisation): solve,
 * cholesky, cholesky_solve, inv, slogdet, eigh, svd, qr and lstsq, all differentiable.
 * Matrices are the last two dims; the leading ones are a batch (broadcast between two operands).
 * A singular or non-positive-definite matrix is an error naming LAPACK's routine and info.
 * Kernels: op_linalg.inc. Bindings: lua_linalg.c; spec: linalg_spec.lua. */
#include "cnn.h"
#include "tensor.h"
#include "autograd.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The Fortran LAPACK symbols libopenblas exports: column-major, every argument by pointer, and
 * gfortran's hidden length of each character argument at the end. */
#define LP_ROUTINES(T, p)                                                                              \
    void p##gesv_(const int *n, const int *nrhs, T *a, const int *lda, int *ipiv, T *b, const int *ldb, \
                  int *info);                                                                          \
    void p##potrf_(const char *uplo, const int *n, T *a, const int *lda, int *info, size_t);           \
    void p##potrs_(const char *uplo, const int *n, const int *nrhs, const T *a, const int *lda, T *b,  \
                   const int *ldb, int *info, size_t);                                                 \
    void p##getrf_(const int *m, const int *n, T *a, const int *lda, int *ipiv, int *info);            \
    void p##getri_(const int *n, T *a, const int *lda, const int *ipiv, T *work, const int *lwork,     \
                   int *info);                                                                         \
    void p##syevd_(const char *jobz, const char *uplo, const int *n, T *a, const int *lda, T *w,       \
                   T *work, const int *lwork, int *iwork, const int *liwork, int *info, size_t, size_t); \
    void p##gesdd_(const char *jobz, const int *m, const int *n, T *a, const int *lda, T *s, T *u,     \
                   const int *ldu, T *vt, const int *ldvt, T *work, const int *lwork, int *iwork,      \
                   int *info, size_t);                                                                 \
    void p##gels_(const char *trans, const int *m, const int *n, const int *nrhs, T *a, const int *lda, \
                  T *b, const int *ldb, T *work, const int *lwork, int *info, size_t);                 \
    void p##geqrf_(const int *m, const int *n, T *a, const int *lda, T *tau, T *work,                  \
                   const int *lwork, int *info);                                                       \
    void p##orgqr_(const int *m, const int *n, const int *k, T *a, const int *lda, const T *tau,       \
                   T *work, const int *lwork, int *info);
LP_ROUTINES(float, s)
LP_ROUTINES(double, d)

/* K(gesv) in op_linalg.inc is gesv_f32 or gesv_f64: these name the LAPACK routine of each dtype */
#define gesv_f32 sgesv_
#define gesv_f64 dgesv_
#define potrf_f32 spotrf_
#define potrf_f64 dpotrf_
#define potrs_f32 spotrs_
#define potrs_f64 dpotrs_
#define getrf_f32 sgetrf_
#define getrf_f64 dgetrf_
#define getri_f32 sgetri_
#define getri_f64 dgetri_
#define syevd_f32 ssyevd_
#define syevd_f64 dsyevd_
#define gesdd_f32 sgesdd_
#define gesdd_f64 dgesdd_
#define gels_f32 sgels_
#define gels_f64 dgels_
#define geqrf_f32 sgeqrf_
#define geqrf_f64 dgeqrf_
#define orgqr_f32 sorgqr_
#define orgqr_f64 dorgqr_
#define trsm_f32 cblas_strsm
#define trsm_f64 cblas_dtrsm

/* a workspace size (LAPACK's query answer, or a formula) as LAPACK's int: rounded up with a margin
 * (a float32 query can round down), at most INT_MAX (LAPACK then reports a too small lwork) */
static int lwork_int(double w) {
    w = w * (1 + 1e-6) + 2;
    return w >= INT_MAX ? INT_MAX : (int)w;
}

#define CNN_GEN_FILE "op_linalg.inc"
#include "gen.h"

/* ---- shapes and messages ---- */

typedef struct { int64_t batch; int m, n; } lmat;   /* batch of m x n matrices */

/* t as a batch of matrices; square: m == n. Each matrix must fit LAPACK's 32-bit indices. */
static int mat_dims(cnn_ctx *c, const cnn_tensor *t, int argn, const char *name, int square, lmat *g) {
    char d[200];
    if (t->ndim < 2 || (square && t->size[t->ndim - 1] != t->size[t->ndim - 2]))
        return cnn_seterr(c, "argument %d (%s): expected %s, got %s", argn, name,
                          square ? "a square matrix or a batch of them (..., n, n)" : "a matrix or a batch of them (..., m, n)",
                          cnn_tensor_desc(d, sizeof d, t));
    int64_t m = t->size[t->ndim - 2], n = t->size[t->ndim - 1];
    if (m > 0 && n > INT_MAX / m)
        return cnn_seterr(c, "argument %d (%s): each matrix must have fewer than 2^31 elements for LAPACK, got %s",
                          argn, name, cnn_tensor_desc(d, sizeof d, t));
    g->m = (int)m;
    g->n = (int)n;
    g->batch = 1;
    for (int i = 0; i < t->ndim - 2; i++)
        if (__builtin_mul_overflow(g->batch, t->size[i], &g->batch))
            return cnn_seterr(c, "argument %d (%s): too many matrices in %s", argn, name, cnn_tensor_desc(d, sizeof d, t));
    return 0;
}

static int same_dtype(cnn_ctx *c, const cnn_tensor *a, const cnn_tensor *b, int argn, const char *name, const char *aname) {
    char d[200];
    if (a->dtype == b->dtype) return 0;
    return cnn_seterr(c, "argument %d (%s): expected %s like %s, got %s", argn, name,
                      a->dtype == CNN_F32 ? "float32" : "float64", aname, cnn_tensor_desc(d, sizeof d, b));
}

/* the message for LAPACK's info on matrix `bad` of `batch`: what info > 0 means is the caller's
 * `why` (a format) */
__attribute__((format(printf, 7, 8)))
static int lapack_err(cnn_ctx *c, cnn_dtype dt, const char *routine, int info, int64_t bad, int64_t batch,
                      const char *why, ...) {
    char w[160];
    va_list ap;
    va_start(ap, why);
    vsnprintf(w, sizeof w, why, ap);
    va_end(ap);
    char where[64] = "";
    if (batch > 1) snprintf(where, sizeof where, " (matrix %lld of the batch)", (long long)bad + 1);
    char pre = dt == CNN_F32 ? 's' : 'd';
    if (info < 0)
        return cnn_seterr(c, "LAPACK %c%s rejected its argument %d%s (info = %d)", pre, routine, -info, where, info);
    return cnn_seterr(c, "%s%s (LAPACK %c%s info = %d)", w, where, pre, routine, info);
}

static void *ws_alloc(cnn_ctx *c, size_t n) {
    void *p = malloc(n ? n : 1);
    if (p == NULL) cnn_seterr(c, "out of memory");
    return p;
}

/* batch dims broadcast: a (..., *, *) and b (..., *, *) expanded (recorded views) to one batch */
static int bcast_pair(cnn_ctx *c, const cnn_tensor *a, const cnn_tensor *b, cnn_tensor **ae, cnn_tensor **be) {
    cnn_shape ba = { a->ndim - 2, {0} }, bb = { b->ndim - 2, {0} }, bs;
    for (int i = 0; i < ba.ndim; i++) ba.size[i] = a->size[i];
    for (int i = 0; i < bb.ndim; i++) bb.size[i] = b->size[i];
    *ae = *be = NULL;
    if (cnn_broadcast_shapes(c, &ba, &bb, &bs) < 0) return -1;
    cnn_shape sa = bs, sb = bs;
    sa.size[sa.ndim++] = a->size[a->ndim - 2];
    sa.size[sa.ndim++] = a->size[a->ndim - 1];
    sb.size[sb.ndim++] = b->size[b->ndim - 2];
    sb.size[sb.ndim++] = b->size[b->ndim - 1];
    *ae = cnn_expand(c, (cnn_tensor *)a, &sa);
    *be = *ae ? cnn_expand(c, (cnn_tensor *)b, &sb) : NULL;
    if (*be == NULL) { cnn_tensor_release(*ae); *ae = NULL; return -1; }
    return 0;
}

/* the shape of t with its last two dims replaced by (r, k); k < 0: only r (one dim) */
static cnn_shape batch_shape(const cnn_tensor *t, int64_t r, int64_t k) {
    cnn_shape s = { t->ndim - 2, {0} };
    for (int i = 0; i < s.ndim; i++) s.size[i] = t->size[i];
    if (r >= 0) s.size[s.ndim++] = r;
    if (k >= 0) s.size[s.ndim++] = k;
    return s;
}

/* -(x) */
static cnn_tensor *neg(cnn_ctx *c, cnn_tensor *x) {
    cnn_tensor *r = x ? cnn_binary_scalar(c, CNN_MUL, x, -1.0, 0) : NULL;
    cnn_tensor_release(x);
    return r;
}
static cnn_tensor *mT(cnn_ctx *c, const cnn_tensor *t) { return cnn_transpose(c, (cnn_tensor *)t, t->ndim - 2, t->ndim - 1); }
static cnn_tensor *mm2(cnn_ctx *c, const cnn_tensor *a, const cnn_tensor *b) {   /* a @ b, NULL-safe */
    return a && b ? cnn_matmul(c, a, b) : NULL;
}

/* zeroes the strict upper triangle of each matrix of t (contiguous, fresh) */
static void zero_upper(cnn_tensor *t) {
    int64_t m = t->size[t->ndim - 2], n = t->size[t->ndim - 1], batch = 1;
    for (int i = 0; i < t->ndim - 2; i++) batch *= t->size[i];
    for (int64_t b = 0; b < batch; b++)
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = i + 1; j < n; j++) {
                if (t->dtype == CNN_F32) ((float *)cnn_data(t))[(b * m + i) * n + j] = 0;
                else ((double *)cnn_data(t))[(b * m + i) * n + j] = 0;
            }
}

/* saves a detached view of an output (the output holds the node: no cycle) */
static int save_out(cnn_ctx *c, cnn_node *n, int slot, cnn_tensor *y) {
    cnn_tensor *yd = cnn_detach(c, y);
    if (yd == NULL) return -1;
    cnn_node_save(n, slot, yd);
    cnn_tensor_release(yd);
    return 0;
}

/* ---- solve: A X = B ---- */

static cnn_tensor *solve_mat(cnn_ctx *c, const cnn_tensor *A, const cnn_tensor *B);

/* saves A, X. dB = A^-T dX, dA = -dB X^T */
static int solve_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *A = cnn_node_saved(c, n, 0), *X = cnn_node_saved(c, n, 1);
    if (A == NULL || X == NULL) return -1;
    cnn_tensor *At = mT(c, A);
    cnn_tensor *gB = At ? solve_mat(c, At, dy) : NULL;
    cnn_tensor_release(At);
    if (gB == NULL) return -1;
    if (n->in[0].node) {
        cnn_tensor *Xt = mT(c, X);
        dx[0] = neg(c, mm2(c, gB, Xt));
        cnn_tensor_release(Xt);
        if (dx[0] == NULL) { cnn_tensor_release(gB); return -1; }
    }
    if (n->in[1].node) dx[1] = gB;
    else cnn_tensor_release(gB);
    return 0;
}
static const cnn_op op_solve = { "linalg_solve", solve_backward, NULL };

/* A (..., n, n), B (..., n, k) with the same batch */
static cnn_tensor *solve_mat(cnn_ctx *c, const cnn_tensor *A, const cnn_tensor *B) {
    lmat g;
    mat_dims(c, A, 1, "A", 1, &g);
    int n = g.n, k = (int)B->size[B->ndim - 1];
    if (k > 0 && n > INT_MAX / k) { cnn_seterr(c, "argument 2 (B): too large for LAPACK"); return NULL; }
    cnn_shape xs = cnn_shape_of(B);
    cnn_tensor *ac = cnn_contiguous_as(c, A, A->dtype), *bc = ac ? cnn_contiguous_as(c, B, A->dtype) : NULL;
    cnn_tensor *x = bc ? cnn_empty(c, &xs, A->dtype) : NULL;
    size_t rs = A->dtype == CNN_F32 ? sizeof(float) : sizeof(double);
    char *ws = x ? ws_alloc(c, ((size_t)n * n + (size_t)n * k) * rs + (size_t)n * sizeof(int)) : NULL;
    int info = 0;
    int64_t bad = 0;
    if (ws && n > 0 && k > 0) {
        void *wa = ws, *wb = ws + (size_t)n * n * rs;
        int *ipiv = (int *)(ws + ((size_t)n * n + (size_t)n * k) * rs);
        info = A->dtype == CNN_F32
                   ? solve_f32(cnn_data(x), cnn_data(ac), cnn_data(bc), g.batch, n, k, wa, wb, ipiv, &bad)
                   : solve_f64(cnn_data(x), cnn_data(ac), cnn_data(bc), g.batch, n, k, wa, wb, ipiv, &bad);
    }
    free(ws);
    cnn_tensor_release(bc);
    if (info != 0) lapack_err(c, A->dtype, "gesv", info, bad, g.batch, "the matrix is singular: U[%d,%d] of its LU factorization is exactly zero", info, info);
    if (ws == NULL || info != 0) { cnn_tensor_release(ac); cnn_tensor_release(x); return NULL; }
    const cnn_tensor *ins[2] = { A, B };
    cnn_node *nd = cnn_record(c, &op_solve, &x, 2, ins);
    if (nd) {
        cnn_node_save(nd, 0, ac);
        if (save_out(c, nd, 1, x) < 0) { cnn_tensor_release(x); x = NULL; }
    }
    cnn_tensor_release(ac);
    return x;
}

/* B is a vector when it is 1-D or A's shape without its last dim (PyTorch's rule) */
static int is_vector_rhs(const cnn_tensor *A, const cnn_tensor *B) {
    if (B->ndim == 1) return 1;
    if (B->ndim != A->ndim - 1) return 0;
    for (int i = 0; i < B->ndim; i++) if (B->size[i] != A->size[i]) return 0;
    return 1;
}

/* the right-hand side as a matrix (..., rows, k): vectors get a trailing dim of 1 (a recorded view) */
static cnn_tensor *rhs_matrix(cnn_ctx *c, const cnn_tensor *A, const cnn_tensor *B, int argn, const char *name,
                              int64_t rows, int allow_vec, int *vec) {
    char d[200], e[200];
    *vec = allow_vec && is_vector_rhs(A, B);
    if (!*vec && (B->ndim < 2 || B->size[B->ndim - 2] != rows)) {
        cnn_seterr(c, "argument %d (%s): expected (..., %lld, k)%s to match %s, got %s", argn, name, (long long)rows,
                   allow_vec ? " or a vector" : "", cnn_tensor_desc(d, sizeof d, A), cnn_tensor_desc(e, sizeof e, B));
        return NULL;
    }
    if (*vec && B->size[B->ndim - 1] != rows) {
        cnn_seterr(c, "argument %d (%s): expected %lld rows to match %s, got %s", argn, name, (long long)rows,
                   cnn_tensor_desc(d, sizeof d, A), cnn_tensor_desc(e, sizeof e, B));
        return NULL;
    }
    if (*vec) return cnn_unsqueeze(c, (cnn_tensor *)B, B->ndim);
    cnn_tensor_retain((cnn_tensor *)B);
    return (cnn_tensor *)B;
}

cnn_tensor *cnn_linalg_solve(cnn_ctx *c, const cnn_tensor *A, const cnn_tensor *B) {
    lmat g;
    int vec;
    if (mat_dims(c, A, 1, "A", 1, &g) < 0 || same_dtype(c, A, B, 2, "B", "A") < 0) return NULL;
    cnn_tensor *b2 = rhs_matrix(c, A, B, 2, "B", g.n, 1, &vec), *ae, *be;
    if (b2 == NULL) return NULL;
    cnn_tensor *x = bcast_pair(c, A, b2, &ae, &be) == 0 ? solve_mat(c, ae, be) : NULL;
    cnn_tensor_release(b2); cnn_tensor_release(ae); cnn_tensor_release(be);
    if (x && vec) {
        cnn_tensor *s = cnn_squeeze(c, x, x->ndim - 1);
        cnn_tensor_release(x);
        x = s;
    }
    return x;
}

/* ---- cholesky: A = L L^T ---- */

/* saves L. dA = L^-T Phi(L^T dL) L^-1 (cholesky_bwd) */
static int cholesky_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *Lt = cnn_node_saved(c, n, 0);
    if (Lt == NULL) return -1;
    lmat g;
    mat_dims(c, Lt, 1, "L", 1, &g);
    int N = g.n;
    cnn_tensor *gl = cnn_contiguous_as(c, dy, Lt->dtype);
    cnn_shape s = cnn_shape_of(Lt);
    cnn_tensor *da = gl ? cnn_empty(c, &s, Lt->dtype) : NULL;
    void *t = da ? ws_alloc(c, (size_t)N * N * (Lt->dtype == CNN_F32 ? sizeof(float) : sizeof(double))) : NULL;
    if (t) {
        int64_t mn = (int64_t)N * N;
        for (int64_t i = 0; i < g.batch && N > 0; i++) {
            if (Lt->dtype == CNN_F32)
                cholesky_bwd_f32((float *)cnn_data(da) + i * mn, (const float *)cnn_data(Lt) + i * mn,
                                 (const float *)cnn_data(gl) + i * mn, N, t);
            else
                cholesky_bwd_f64((double *)cnn_data(da) + i * mn, (const double *)cnn_data(Lt) + i * mn,
                                 (const double *)cnn_data(gl) + i * mn, N, t);
        }
    }
    free(t);
    cnn_tensor_release(gl);
    if (t == NULL) { cnn_tensor_release(da); return -1; }
    dx[0] = da;
    return 0;
}
static const cnn_op op_cholesky = { "linalg_cholesky", cholesky_backward, NULL };

cnn_tensor *cnn_linalg_cholesky(cnn_ctx *c, const cnn_tensor *A) {
    lmat g;
    if (mat_dims(c, A, 1, "A", 1, &g) < 0) return NULL;
    cnn_tensor *ac = cnn_contiguous_as(c, A, A->dtype);
    cnn_shape s = cnn_shape_of(A);
    cnn_tensor *l = ac ? cnn_empty(c, &s, A->dtype) : NULL;
    int info = 0;
    int64_t bad = 0;
    if (l && g.n > 0)
        info = A->dtype == CNN_F32 ? cholesky_f32(cnn_data(l), cnn_data(ac), g.batch, g.n, &bad)
                                   : cholesky_f64(cnn_data(l), cnn_data(ac), g.batch, g.n, &bad);
    cnn_tensor_release(ac);
    if (info != 0) {
        lapack_err(c, A->dtype, "potrf", info, bad, g.batch,
                   "the matrix is not positive-definite: its leading minor of order %d is not", info);
        cnn_tensor_release(l);
        return NULL;
    }
    if (l == NULL) return NULL;
    const cnn_tensor *ins[1] = { A };
    cnn_node *nd = cnn_record(c, &op_cholesky, &l, 1, ins);
    if (nd && save_out(c, nd, 0, l) < 0) { cnn_tensor_release(l); return NULL; }
    return l;
}

/* ---- cholesky_solve: (L L^T) X = B ---- */

static cnn_tensor *cs_mat(cnn_ctx *c, const cnn_tensor *B, const cnn_tensor *L);

/* saves L, X. dB = cholesky_solve(dX, L), dL = tril(-(dB X^T + X dB^T) L): PyTorch's formula,
 * kept to the lower triangle, the only part of L that is read */
static int cs_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *L = cnn_node_saved(c, n, 0), *X = cnn_node_saved(c, n, 1);
    if (L == NULL || X == NULL) return -1;
    cnn_tensor *gB = cs_mat(c, dy, L);
    if (gB == NULL) return -1;
    if (n->in[1].node) {
        cnn_tensor *Xt = mT(c, X), *gBt = mT(c, gB);
        cnn_tensor *p = mm2(c, gB, Xt), *q = mm2(c, X, gBt);
        cnn_tensor *s = p && q ? cnn_binary(c, CNN_ADD, p, q) : NULL;
        cnn_tensor *d = neg(c, mm2(c, s, L));
        dx[1] = d ? cnn_contiguous_as(c, d, d->dtype) : NULL;     /* d is new: ours to mask */
        cnn_tensor_release(d);
        if (dx[1]) zero_upper(dx[1]);
        cnn_tensor_release(Xt); cnn_tensor_release(gBt); cnn_tensor_release(p); cnn_tensor_release(q);
        cnn_tensor_release(s);
        if (dx[1] == NULL) { cnn_tensor_release(gB); return -1; }
    }
    if (n->in[0].node) dx[0] = gB;
    else cnn_tensor_release(gB);
    return 0;
}
static const cnn_op op_cholesky_solve = { "cholesky_solve", cs_backward, NULL };

/* B (..., n, k), L (..., n, n) with the same batch */
static cnn_tensor *cs_mat(cnn_ctx *c, const cnn_tensor *B, const cnn_tensor *L) {
    lmat g;
    mat_dims(c, L, 2, "L", 1, &g);
    int n = g.n, k = (int)B->size[B->ndim - 1];
    if (k > 0 && n > INT_MAX / k) { cnn_seterr(c, "argument 1 (B): too large for LAPACK"); return NULL; }
    cnn_shape xs = cnn_shape_of(B);
    cnn_tensor *lc = cnn_contiguous_as(c, L, L->dtype), *bc = lc ? cnn_contiguous_as(c, B, L->dtype) : NULL;
    cnn_tensor *x = bc ? cnn_empty(c, &xs, L->dtype) : NULL;
    size_t rs = L->dtype == CNN_F32 ? sizeof(float) : sizeof(double);
    void *wb = x ? ws_alloc(c, (size_t)n * k * rs) : NULL;
    int info = 0;
    int64_t bad = 0;
    if (wb && n > 0 && k > 0)
        info = L->dtype == CNN_F32 ? cholesky_solve_f32(cnn_data(x), cnn_data(bc), cnn_data(lc), g.batch, n, k, wb, &bad)
                                   : cholesky_solve_f64(cnn_data(x), cnn_data(bc), cnn_data(lc), g.batch, n, k, wb, &bad);
    free(wb);
    cnn_tensor_release(bc);
    if (info != 0) lapack_err(c, L->dtype, "potrs", info, bad, g.batch, "failed");
    if (wb == NULL || info != 0) { cnn_tensor_release(lc); cnn_tensor_release(x); return NULL; }
    const cnn_tensor *ins[2] = { B, L };
    cnn_node *nd = cnn_record(c, &op_cholesky_solve, &x, 2, ins);
    if (nd) {
        cnn_node_save(nd, 0, lc);
        if (save_out(c, nd, 1, x) < 0) { cnn_tensor_release(x); x = NULL; }
    }
    cnn_tensor_release(lc);
    return x;
}

cnn_tensor *cnn_linalg_cholesky_solve(cnn_ctx *c, const cnn_tensor *B, const cnn_tensor *L) {
    lmat g;
    int vec;
    if (mat_dims(c, L, 2, "L", 1, &g) < 0 || same_dtype(c, L, B, 1, "B", "L") < 0) return NULL;
    cnn_tensor *b2 = rhs_matrix(c, L, B, 1, "B", g.n, 0, &vec), *le, *be;
    if (b2 == NULL) return NULL;
    cnn_tensor *x = bcast_pair(c, L, b2, &le, &be) == 0 ? cs_mat(c, be, le) : NULL;
    cnn_tensor_release(b2); cnn_tensor_release(le); cnn_tensor_release(be);
    return x;
}

/* ---- inv ---- */

/* saves Y = A^-1. dA = -Y^T dY Y^T */
static int inv_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *Y = cnn_node_saved(c, n, 0);
    if (Y == NULL) return -1;
    cnn_tensor *Yt = mT(c, Y);
    cnn_tensor *p = mm2(c, Yt, dy);
    dx[0] = neg(c, mm2(c, p, Yt));
    cnn_tensor_release(Yt); cnn_tensor_release(p);
    return dx[0] ? 0 : -1;
}
static const cnn_op op_inv = { "linalg_inv", inv_backward, NULL };

cnn_tensor *cnn_linalg_inv(cnn_ctx *c, const cnn_tensor *A) {
    lmat g;
    if (mat_dims(c, A, 1, "A", 1, &g) < 0) return NULL;
    int n = g.n;
    cnn_tensor *ac = cnn_contiguous_as(c, A, A->dtype);
    cnn_shape s = cnn_shape_of(A);
    cnn_tensor *y = ac ? cnn_empty(c, &s, A->dtype) : NULL;
    int lwork = n == 0 ? 1 : A->dtype == CNN_F32 ? inv_lwork_f32(n) : inv_lwork_f64(n);
    size_t rs = A->dtype == CNN_F32 ? sizeof(float) : sizeof(double);
    char *ws = y ? ws_alloc(c, (size_t)lwork * rs + (size_t)n * sizeof(int)) : NULL;
    int info = 0;
    int64_t bad = 0;
    if (ws && n > 0) {
        int *ipiv = (int *)(ws + (size_t)lwork * rs);
        info = A->dtype == CNN_F32 ? inv_f32(cnn_data(y), cnn_data(ac), g.batch, n, ipiv, (float *)ws, lwork, &bad)
                                   : inv_f64(cnn_data(y), cnn_data(ac), g.batch, n, ipiv, (double *)ws, lwork, &bad);
    }
    free(ws);
    cnn_tensor_release(ac);
    if (info != 0) lapack_err(c, A->dtype, "getrf", info, bad, g.batch, "the matrix is singular: U[%d,%d] of its LU factorization is exactly zero", info, info);
    if (ws == NULL || info != 0) { cnn_tensor_release(y); return NULL; }
    const cnn_tensor *ins[1] = { A };
    cnn_node *nd = cnn_record(c, &op_inv, &y, 1, ins);
    if (nd && save_out(c, nd, 0, y) < 0) { cnn_tensor_release(y); return NULL; }
    return y;
}

/* ---- slogdet ---- */

/* saves A. d logabsdet / dA = A^-T (sign has no gradient) */
static int slogdet_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *A = cnn_node_saved(c, n, 0);
    if (A == NULL) return -1;
    cnn_tensor *Y = cnn_linalg_inv(c, A);
    cnn_tensor *Yt = Y ? mT(c, Y) : NULL;
    cnn_tensor *g1 = cnn_unsqueeze(c, (cnn_tensor *)dy, dy->ndim);
    cnn_tensor *g2 = g1 ? cnn_unsqueeze(c, g1, dy->ndim + 1) : NULL;
    dx[0] = Yt && g2 ? cnn_binary(c, CNN_MUL, g2, Yt) : NULL;
    cnn_tensor_release(Y); cnn_tensor_release(Yt); cnn_tensor_release(g1); cnn_tensor_release(g2);
    return dx[0] ? 0 : -1;
}
static const cnn_op op_slogdet = { "linalg_slogdet", slogdet_backward, NULL };

int cnn_linalg_slogdet(cnn_ctx *c, const cnn_tensor *A, cnn_tensor **sign, cnn_tensor **logabs) {
    lmat g;
    *sign = *logabs = NULL;
    if (mat_dims(c, A, 1, "A", 1, &g) < 0) return -1;
    int n = g.n;
    cnn_tensor *ac = cnn_contiguous_as(c, A, A->dtype);
    cnn_shape s = batch_shape(A, -1, -1);
    cnn_tensor *sg = ac ? cnn_empty(c, &s, A->dtype) : NULL, *la = sg ? cnn_empty(c, &s, A->dtype) : NULL;
    size_t rs = A->dtype == CNN_F32 ? sizeof(float) : sizeof(double);
    char *ws = la ? ws_alloc(c, (size_t)n * n * rs + (size_t)n * sizeof(int)) : NULL;
    if (ws) {
        int *ipiv = (int *)(ws + (size_t)n * n * rs);
        if (n == 0) {
            cnn_fill_(c, sg, 1.0);
            cnn_fill_(c, la, 0.0);
        } else if (A->dtype == CNN_F32) {
            slogdet_f32(cnn_data(sg), cnn_data(la), cnn_data(ac), g.batch, n, (float *)ws, ipiv);
        } else {
            slogdet_f64(cnn_data(sg), cnn_data(la), cnn_data(ac), g.batch, n, (double *)ws, ipiv);
        }
    }
    free(ws);
    if (ws == NULL) { cnn_tensor_release(ac); cnn_tensor_release(sg); cnn_tensor_release(la); return -1; }
    const cnn_tensor *ins[1] = { A };
    cnn_node *nd = cnn_record(c, &op_slogdet, &la, 1, ins);
    if (nd) cnn_node_save(nd, 0, ac);
    cnn_tensor_release(ac);
    if (la == NULL) { cnn_tensor_release(sg); return -1; }
    *sign = sg;
    *logabs = la;
    return 0;
}

/* ---- eigh: A = V diag(w) V^T, w ascending ---- */

/* the output is one packed tensor P (..., n+1, n) = [w; V]; w and V are views of it, so one node
 * takes both gradients. Saves P. */
static int eigh_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *P = cnn_node_saved(c, n, 0);
    if (P == NULL) return -1;
    int N = (int)P->size[P->ndim - 1];
    int64_t batch = 1;
    for (int i = 0; i < P->ndim - 2; i++) batch *= P->size[i];
    cnn_tensor *gp = cnn_contiguous_as(c, dy, P->dtype);
    cnn_shape s = batch_shape(P, N, N);
    cnn_tensor *da = gp ? cnn_empty(c, &s, P->dtype) : NULL;
    size_t rs = P->dtype == CNN_F32 ? sizeof(float) : sizeof(double);
    char *t = da ? ws_alloc(c, 2 * (size_t)N * N * rs) : NULL;
    if (t) {
        int64_t pm = (int64_t)(N + 1) * N, am = (int64_t)N * N;
        for (int64_t i = 0; i < batch && N > 0; i++) {
            if (P->dtype == CNN_F32)
                eigh_bwd_f32((float *)cnn_data(da) + i * am, (const float *)cnn_data(P) + i * pm,
                             (const float *)cnn_data(gp) + i * pm, N, (float *)t, (float *)(t + (size_t)N * N * rs));
            else
                eigh_bwd_f64((double *)cnn_data(da) + i * am, (const double *)cnn_data(P) + i * pm,
                             (const double *)cnn_data(gp) + i * pm, N, (double *)t, (double *)(t + (size_t)N * N * rs));
        }
    }
    free(t);
    cnn_tensor_release(gp);
    if (t == NULL) { cnn_tensor_release(da); return -1; }
    dx[0] = da;
    return 0;
}
static const cnn_op op_eigh = { "linalg_eigh", eigh_backward, NULL };

int cnn_linalg_eigh(cnn_ctx *c, const cnn_tensor *A, cnn_tensor **w, cnn_tensor **V) {
    lmat g;
    *w = *V = NULL;
    if (mat_dims(c, A, 1, "A", 1, &g) < 0) return -1;
    int n = g.n, lwork = 1, liwork = 1;
    if ((int64_t)n * n > INT_MAX / 2 - 8 * (int64_t)n) { cnn_seterr(c, "argument 1 (A): too large for LAPACK"); return -1; }
    if (n > 0) {
        if (A->dtype == CNN_F32) eigh_lwork_f32(n, &lwork, &liwork);
        else eigh_lwork_f64(n, &lwork, &liwork);
    }
    cnn_tensor *ac = cnn_contiguous_as(c, A, A->dtype);
    cnn_shape s = batch_shape(A, (int64_t)n + 1, n);
    cnn_tensor *p = ac ? cnn_empty(c, &s, A->dtype) : NULL;
    size_t rs = A->dtype == CNN_F32 ? sizeof(float) : sizeof(double);
    char *ws = p ? ws_alloc(c, ((size_t)n * n + (size_t)lwork) * rs + (size_t)liwork * sizeof(int)) : NULL;
    int info = 0;
    int64_t bad = 0;
    if (ws && n > 0) {
        char *work = ws + (size_t)n * n * rs;
        int *iwork = (int *)(work + (size_t)lwork * rs);
        info = A->dtype == CNN_F32
                   ? eigh_f32(cnn_data(p), cnn_data(ac), g.batch, n, (float *)ws, (float *)work, lwork, iwork, liwork, &bad)
                   : eigh_f64(cnn_data(p), cnn_data(ac), g.batch, n, (double *)ws, (double *)work, lwork, iwork, liwork, &bad);
    }
    free(ws);
    cnn_tensor_release(ac);
    if (info != 0) lapack_err(c, A->dtype, "syevd", info, bad, g.batch, "the eigenvalue algorithm failed to converge");
    if (ws == NULL || info != 0) { cnn_tensor_release(p); return -1; }
    const cnn_tensor *ins[1] = { A };
    cnn_node *nd = cnn_record(c, &op_eigh, &p, 1, ins);
    if (nd && save_out(c, nd, 0, p) < 0) { cnn_tensor_release(p); return -1; }
    if (p == NULL) return -1;
    cnn_tensor *w0 = cnn_narrow(c, p, p->ndim - 2, 0, 1);
    *w = w0 ? cnn_squeeze(c, w0, p->ndim - 2) : NULL;
    *V = cnn_narrow(c, p, p->ndim - 2, 1, n);
    cnn_tensor_release(w0);
    cnn_tensor_release(p);
    if (*w == NULL || *V == NULL) {
        cnn_tensor_release(*w); cnn_tensor_release(*V);
        *w = *V = NULL;
        return -1;
    }
    return 0;
}

/* ---- svd, qr and lstsq ---- */

/* with a gradient, the output is one packed tensor P (..., m*k + k + k*n) = [U | S | Vh] (each
 * matrix flattened), of which U, S and Vh are reshaped views, as eigh's. Saves P. */
static int svd_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *P = cnn_node_saved(c, n, 0);
    if (P == NULL) return -1;
    int M = (int)n->iarg[0], N = (int)n->iarg[1], k = M < N ? M : N, ldu = (int)n->iarg[2];
    int64_t batch = 1, pm = P->size[P->ndim - 1], am = (int64_t)M * N;
    for (int i = 0; i < P->ndim - 1; i++) batch *= P->size[i];
    cnn_tensor *gp = cnn_contiguous_as(c, dy, P->dtype);
    cnn_shape s = n->in[0].shape;
    cnn_tensor *da = gp ? cnn_empty(c, &s, P->dtype) : NULL;
    size_t rs = P->dtype == CNN_F32 ? sizeof(float) : sizeof(double);
    void *t = da ? ws_alloc(c, (3 * (size_t)k * k + 2 * (size_t)M * N) * rs) : NULL;
    if (t && k == 0) cnn_fill_(c, da, 0.0);
    else if (t) {
        for (int64_t i = 0; i < batch; i++) {
            if (P->dtype == CNN_F32)
                svd_bwd_f32((float *)cnn_data(da) + i * am, (const float *)cnn_data(P) + i * pm,
                            (const float *)cnn_data(gp) + i * pm, M, N, ldu, t);
            else
                svd_bwd_f64((double *)cnn_data(da) + i * am, (const double *)cnn_data(P) + i * pm,
                            (const double *)cnn_data(gp) + i * pm, M, N, ldu, t);
        }
    }
    free(t);
    cnn_tensor_release(gp);
    if (t == NULL) { cnn_tensor_release(da); return -1; }
    dx[0] = da;
    return 0;
}
static const cnn_op op_svd = { "linalg_svd", svd_backward, NULL };

/* packs u, s, vh (taken) into P, records op_svd on it and returns its views */
static int svd_record(cnn_ctx *c, const cnn_tensor *A, cnn_tensor *u, cnn_tensor *s, cnn_tensor *vh,
                      cnn_tensor **U, cnn_tensor **S, cnn_tensor **Vh) {
    int m = (int)A->size[A->ndim - 2], n = (int)A->size[A->ndim - 1], k = m < n ? m : n;
    int ku = (int)u->size[u->ndim - 1], kv = (int)vh->size[vh->ndim - 2];    /* k, or m and n if full */
    cnn_shape fu = batch_shape(A, (int64_t)m * ku, -1), fv = batch_shape(A, (int64_t)kv * n, -1);
    cnn_tensor *parts[3] = { cnn_reshape(c, u, &fu), s, cnn_reshape(c, vh, &fv) };
    cnn_tensor *p = parts[0] && parts[2] ? cnn_cat(c, parts, 3, A->ndim - 2) : NULL;
    cnn_tensor_release(parts[0]); cnn_tensor_release(parts[2]);
    cnn_tensor_release(u); cnn_tensor_release(s); cnn_tensor_release(vh);
    if (p == NULL) return -1;
    const cnn_tensor *ins[1] = { A };
    cnn_node *nd = cnn_record(c, &op_svd, &p, 1, ins);
    if (nd) {
        nd->iarg[0] = m;
        nd->iarg[1] = n;
        nd->iarg[2] = ku;
        if (save_out(c, nd, 0, p) < 0) { cnn_tensor_release(p); return -1; }
    }
    if (p == NULL) return -1;
    int d = p->ndim - 1;
    cnn_shape su = batch_shape(A, m, ku), sv = batch_shape(A, kv, n);
    int64_t nu = (int64_t)m * ku;
    cnn_tensor *pu = cnn_narrow(c, p, d, 0, nu), *pv = cnn_narrow(c, p, d, nu + k, (int64_t)kv * n);
    *U = pu ? cnn_reshape(c, pu, &su) : NULL;
    *S = cnn_narrow(c, p, d, nu, k);
    *Vh = pv ? cnn_reshape(c, pv, &sv) : NULL;
    cnn_tensor_release(pu); cnn_tensor_release(pv); cnn_tensor_release(p);
    if (*U == NULL || *S == NULL || *Vh == NULL) {
        cnn_tensor_release(*U); cnn_tensor_release(*S); cnn_tensor_release(*Vh);
        *U = *S = *Vh = NULL;
        return -1;
    }
    return 0;
}

int cnn_linalg_svd(cnn_ctx *c, const cnn_tensor *A, int full, cnn_tensor **U, cnn_tensor **S, cnn_tensor **Vh) {
    lmat g;
    *U = *S = *Vh = NULL;
    if (mat_dims(c, A, 1, "A", 0, &g) < 0) return -1;
    int m = g.m, n = g.n, kk = m < n ? m : n, grad = cnn_needs_grad(c, A, NULL);
    if (full && ((int64_t)m * m > INT_MAX || (int64_t)n * n > INT_MAX)) {
        char d[200];
        return cnn_seterr(c, "argument 1 (A): full_matrices = true would make a matrix of 2^31 elements or more "
                             "(too large for LAPACK) from %s", cnn_tensor_desc(d, sizeof d, A));
    }
    int lwork = kk == 0 ? 1 : A->dtype == CNN_F32 ? svd_lwork_f32(m, n, full) : svd_lwork_f64(m, n, full);
    cnn_tensor *ac = cnn_contiguous_as(c, A, A->dtype);
    cnn_shape su = batch_shape(A, m, full ? m : kk), ss = batch_shape(A, kk, -1), sv = batch_shape(A, full ? n : kk, n);
    cnn_tensor *u = ac ? cnn_empty(c, &su, A->dtype) : NULL, *s = u ? cnn_empty(c, &ss, A->dtype) : NULL;
    cnn_tensor *vh = s ? cnn_empty(c, &sv, A->dtype) : NULL;
    size_t rs = A->dtype == CNN_F32 ? sizeof(float) : sizeof(double);
    char *ws = vh ? ws_alloc(c, ((size_t)m * n + (size_t)lwork) * rs + 8 * (size_t)kk * sizeof(int)) : NULL;
    int info = 0;
    int64_t bad = 0;
    if (ws && kk == 0 && full) {   /* an empty side: U or Vh is an identity */
        cnn_tensor *e = m == 0 ? vh : u;
        int64_t d = e->size[e->ndim - 1];
        cnn_fill_(c, e, 0.0);
        for (int64_t i = 0; i < g.batch; i++)
            for (int64_t j = 0; j < d; j++) {
                if (A->dtype == CNN_F32) ((float *)cnn_data(e))[i * d * d + j * d + j] = 1;
                else ((double *)cnn_data(e))[i * d * d + j * d + j] = 1;
            }
    }
    if (ws && kk > 0) {
        char *work = ws + (size_t)m * n * rs;
        int *iwork = (int *)(work + (size_t)lwork * rs);
        info = A->dtype == CNN_F32
                   ? svd_f32(cnn_data(u), cnn_data(s), cnn_data(vh), cnn_data(ac), g.batch, m, n, full, (float *)ws,
                             (float *)work, lwork, iwork, &bad)
                   : svd_f64(cnn_data(u), cnn_data(s), cnn_data(vh), cnn_data(ac), g.batch, m, n, full, (double *)ws,
                             (double *)work, lwork, iwork, &bad);
    }
    free(ws);
    cnn_tensor_release(ac);
    if (info != 0) lapack_err(c, A->dtype, "gesdd", info, bad, g.batch, "the SVD algorithm failed to converge");
    if (ws == NULL || info != 0) { cnn_tensor_release(u); cnn_tensor_release(s); cnn_tensor_release(vh); return -1; }
    if (!grad) { *U = u; *S = s; *Vh = vh; return 0; }
    return svd_record(c, A, u, s, vh, U, S, Vh);
}

/* with a gradient, the output is one packed tensor P = [Q; R] (..., m+n, n) when m >= n, or
 * [Q | R] (..., m, m+n) when m < n, of which Q and R are views, as eigh's. Saves P. */
static int qr_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *P = cnn_node_saved(c, n, 0);
    if (P == NULL) return -1;
    int M = (int)n->iarg[0], N = (int)n->iarg[1];
    int64_t batch = 1, pm = (int64_t)(M + N) * (M < N ? M : N), am = (int64_t)M * N;
    for (int i = 0; i < P->ndim - 2; i++) batch *= P->size[i];
    cnn_tensor *gp = cnn_contiguous_as(c, dy, P->dtype);
    cnn_shape s = n->in[0].shape;
    cnn_tensor *da = gp ? cnn_empty(c, &s, P->dtype) : NULL;
    size_t rs = P->dtype == CNN_F32 ? sizeof(float) : sizeof(double);
    void *t = da ? ws_alloc(c, (2 * (size_t)M * M + (size_t)N * N + (size_t)M * N) * rs) : NULL;
    if (t && (M == 0 || N == 0)) cnn_fill_(c, da, 0.0);
    else if (t) {
        for (int64_t i = 0; i < batch; i++) {
            if (P->dtype == CNN_F32) {
                float *d = (float *)cnn_data(da) + i * am;
                const float *pp = (const float *)cnn_data(P) + i * pm, *g = (const float *)cnn_data(gp) + i * pm;
                if (M >= N) qr_bwd_tall_f32(d, N, pp, N, pp + (int64_t)M * N, N, g, N, g + (int64_t)M * N, N, M, N, t);
                else qr_bwd_wide_f32(d, pp, g, M, N, t);
            } else {
                double *d = (double *)cnn_data(da) + i * am;
                const double *pp = (const double *)cnn_data(P) + i * pm, *g = (const double *)cnn_data(gp) + i * pm;
                if (M >= N) qr_bwd_tall_f64(d, N, pp, N, pp + (int64_t)M * N, N, g, N, g + (int64_t)M * N, N, M, N, t);
                else qr_bwd_wide_f64(d, pp, g, M, N, t);
            }
        }
    }
    free(t);
    cnn_tensor_release(gp);
    if (t == NULL) { cnn_tensor_release(da); return -1; }
    dx[0] = da;
    return 0;
}
static const cnn_op op_qr = { "linalg_qr", qr_backward, NULL };

int cnn_linalg_qr(cnn_ctx *c, const cnn_tensor *A, cnn_tensor **Q, cnn_tensor **R) {
    lmat g;
    *Q = *R = NULL;
    if (mat_dims(c, A, 1, "A", 0, &g) < 0) return -1;
    int m = g.m, n = g.n, kk = m < n ? m : n;
    int lwork = kk == 0 ? 1 : A->dtype == CNN_F32 ? qr_lwork_f32(m, n) : qr_lwork_f64(m, n);
    cnn_tensor *ac = cnn_contiguous_as(c, A, A->dtype);
    cnn_shape sq = batch_shape(A, m, kk), sr = batch_shape(A, kk, n);
    cnn_tensor *q = ac ? cnn_empty(c, &sq, A->dtype) : NULL, *r = q ? cnn_empty(c, &sr, A->dtype) : NULL;
    size_t rs = A->dtype == CNN_F32 ? sizeof(float) : sizeof(double);
    char *ws = r ? ws_alloc(c, ((size_t)m * n + (size_t)kk + (size_t)lwork) * rs) : NULL;
    int info = 0;
    int64_t bad = 0;
    if (ws && kk > 0) {
        char *tau = ws + (size_t)m * n * rs, *work = tau + (size_t)kk * rs;
        info = A->dtype == CNN_F32
                   ? qr_f32(cnn_data(q), cnn_data(r), cnn_data(ac), g.batch, m, n, (float *)ws, (float *)tau, (float *)work, lwork, &bad)
                   : qr_f64(cnn_data(q), cnn_data(r), cnn_data(ac), g.batch, m, n, (double *)ws, (double *)tau, (double *)work, lwork, &bad);
    }
    free(ws);
    cnn_tensor_release(ac);
    if (info != 0) lapack_err(c, A->dtype, "geqrf", info, bad, g.batch, "failed");
    if (ws == NULL || info != 0) { cnn_tensor_release(q); cnn_tensor_release(r); return -1; }
    if (!cnn_needs_grad(c, A, NULL)) { *Q = q; *R = r; return 0; }
    cnn_tensor *qr2[2] = { q, r };
    int d = m >= n ? A->ndim - 2 : A->ndim - 1;                  /* stack rows when tall, columns when wide */
    cnn_tensor *p = cnn_cat(c, qr2, 2, d);                        /* q, r need no grad: a plain copy */
    cnn_tensor_release(q); cnn_tensor_release(r);
    if (p == NULL) return -1;
    const cnn_tensor *ins[1] = { A };
    cnn_node *nd = cnn_record(c, &op_qr, &p, 1, ins);
    if (nd) {
        nd->iarg[0] = m;
        nd->iarg[1] = n;
        if (save_out(c, nd, 0, p) < 0) { cnn_tensor_release(p); return -1; }
    }
    if (p == NULL) return -1;
    *Q = cnn_narrow(c, p, d, 0, m);
    *R = cnn_narrow(c, p, d, m, n);
    cnn_tensor_release(p);
    if (*Q == NULL || *R == NULL) {
        cnn_tensor_release(*Q); cnn_tensor_release(*R);
        *Q = *R = NULL;
        return -1;
    }
    return 0;
}

/* a - b, NULL-safe */
static cnn_tensor *sub2(cnn_ctx *c, const cnn_tensor *a, const cnn_tensor *b) {
    return a && b ? cnn_binary(c, CNN_SUB, a, b) : NULL;
}
static cnn_tensor *solve2(cnn_ctx *c, const cnn_tensor *a, const cnn_tensor *b) {
    return a && b ? solve_mat(c, a, b) : NULL;
}

/* saves A, B, X. Tall or square A (m >= n), X = (A^T A)^-1 A^T B: with Z = (A^T A)^-1 dX,
 * dA = (B - A X) Z^T - A Z X^T and dB = A Z. Wide A, X = A^T (A A^T)^-1 B: with Y = (A A^T)^-1 B
 * and U = (A A^T)^-1 A dX, dA = Y dX^T - U X^T - Y U^T A and dB = U. */
static int lstsq_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *A = cnn_node_saved(c, n, 0), *B = cnn_node_saved(c, n, 1), *X = cnn_node_saved(c, n, 2);
    if (A == NULL || B == NULL || X == NULL) return -1;
    enum { NT = 12 };
    cnn_tensor *t[NT] = { 0 };
    cnn_tensor *At = t[0] = mT(c, A), *Xt = t[1] = mT(c, X), *gA = NULL, *gB = NULL;
    if (A->size[A->ndim - 2] >= A->size[A->ndim - 1]) {
        cnn_tensor *G = t[2] = mm2(c, At, A), *Z = t[3] = solve2(c, G, dy), *Zt = t[4] = Z ? mT(c, Z) : NULL;
        cnn_tensor *AX = t[5] = mm2(c, A, X), *R = t[6] = sub2(c, B, AX);
        cnn_tensor *AZ = t[7] = mm2(c, A, Z), *p = t[8] = mm2(c, R, Zt), *q = t[9] = mm2(c, AZ, Xt);
        gA = sub2(c, p, q);
        if (AZ) { cnn_tensor_retain(AZ); gB = AZ; }
    } else {
        cnn_tensor *H = t[2] = mm2(c, A, At), *Y = t[3] = solve2(c, H, B);
        cnn_tensor *AgX = t[4] = mm2(c, A, dy), *U = t[5] = solve2(c, H, AgX);
        cnn_tensor *gXt = t[6] = mT(c, dy), *Ut = t[7] = U ? mT(c, U) : NULL;
        cnn_tensor *p = t[8] = mm2(c, Y, gXt), *q = t[9] = mm2(c, U, Xt), *YUt = t[10] = mm2(c, Y, Ut);
        cnn_tensor *r = t[11] = mm2(c, YUt, A), *pq = sub2(c, p, q);
        gA = sub2(c, pq, r);
        cnn_tensor_release(pq);
        if (U) { cnn_tensor_retain(U); gB = U; }
    }
    for (int i = 0; i < NT; i++) cnn_tensor_release(t[i]);
    if (gA == NULL || gB == NULL) { cnn_tensor_release(gA); cnn_tensor_release(gB); return -1; }
    if (n->in[0].node) dx[0] = gA; else cnn_tensor_release(gA);
    if (n->in[1].node) dx[1] = gB; else cnn_tensor_release(gB);
    return 0;
}
static const cnn_op op_lstsq = { "linalg_lstsq", lstsq_backward, NULL };

/* A (..., m, n), B (..., m, k) with the same batch */
static cnn_tensor *lstsq_mat(cnn_ctx *c, const cnn_tensor *A, const cnn_tensor *B) {
    lmat g;
    mat_dims(c, A, 1, "A", 0, &g);
    int m = g.m, n = g.n, k = (int)B->size[B->ndim - 1], mx = m > n ? m : n, kk = m < n ? m : n;
    if (k > 0 && mx > INT_MAX / k) { cnn_seterr(c, "argument 2 (B): too large for LAPACK"); return NULL; }
    int lwork = kk == 0 || k == 0 ? 1 : A->dtype == CNN_F32 ? lstsq_lwork_f32(m, n, k) : lstsq_lwork_f64(m, n, k);
    cnn_tensor *ac = cnn_contiguous_as(c, A, A->dtype), *bc = ac ? cnn_contiguous_as(c, B, A->dtype) : NULL;
    cnn_shape xs = batch_shape(B, n, k);
    cnn_tensor *x = bc ? cnn_empty(c, &xs, A->dtype) : NULL;
    size_t rs = A->dtype == CNN_F32 ? sizeof(float) : sizeof(double);
    char *ws = x ? ws_alloc(c, ((size_t)m * n + (size_t)mx * k + (size_t)lwork) * rs) : NULL;
    int info = 0;
    int64_t bad = 0;
    if (ws && (kk == 0 || k == 0)) cnn_fill_(c, x, 0.0);
    else if (ws) {
        char *wb = ws + (size_t)m * n * rs, *work = wb + (size_t)mx * k * rs;
        info = A->dtype == CNN_F32
                   ? lstsq_f32(cnn_data(x), cnn_data(ac), cnn_data(bc), g.batch, m, n, k, (float *)ws, (float *)wb, (float *)work, lwork, &bad)
                   : lstsq_f64(cnn_data(x), cnn_data(ac), cnn_data(bc), g.batch, m, n, k, (double *)ws, (double *)wb, (double *)work, lwork, &bad);
    }
    free(ws);
    if (info != 0)
        lapack_err(c, A->dtype, "gels", info, bad, g.batch,
                   "the matrix does not have full rank: R[%d,%d] of its QR factorization is exactly zero", info, info);
    if (ws == NULL || info != 0) { cnn_tensor_release(ac); cnn_tensor_release(bc); cnn_tensor_release(x); return NULL; }
    const cnn_tensor *ins[2] = { A, B };
    cnn_node *nd = cnn_record(c, &op_lstsq, &x, 2, ins);
    if (nd) {
        cnn_node_save(nd, 0, ac);
        cnn_node_save(nd, 1, bc);
        if (save_out(c, nd, 2, x) < 0) { cnn_tensor_release(x); x = NULL; }
    }
    cnn_tensor_release(ac); cnn_tensor_release(bc);
    return x;
}

cnn_tensor *cnn_linalg_lstsq(cnn_ctx *c, const cnn_tensor *A, const cnn_tensor *B) {
    lmat g;
    int vec;
    if (mat_dims(c, A, 1, "A", 0, &g) < 0 || same_dtype(c, A, B, 2, "B", "A") < 0) return NULL;
    cnn_tensor *b2 = rhs_matrix(c, A, B, 2, "B", g.m, 0, &vec), *ae, *be;
    if (b2 == NULL) return NULL;
    cnn_tensor *x = bcast_pair(c, A, b2, &ae, &be) == 0 ? lstsq_mat(c, ae, be) : NULL;
    cnn_tensor_release(b2); cnn_tensor_release(ae); cnn_tensor_release(be);
    return x;
}
