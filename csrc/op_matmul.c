/* op_matmul.c: matmul for 1-D, 2-D and batched (broadcast) operands through cblas_?gemm. Strides
 * are passed to BLAS as a transpose flag and leading dimension, so t() and transpose() cost no
 * copy. Kernels: op_matmul.inc. Bindings: lua_ops.c; spec: matmul_spec.lua. */
#include "cnn.h"
#include "tensor.h"
#include "autograd.h"

#include <limits.h>
#include <stdlib.h>

#define CNN_GEN_FILE "op_matmul.inc"
#include "gen.h"

/* BLAS layout of the matrix in the last two dims of t, or 0 if it needs a copy */
static int mat_layout(const cnn_tensor *t, int *trans, int64_t *ld) {
    int64_t r = t->size[t->ndim - 2], k = t->size[t->ndim - 1];
    int64_t s0 = t->stride[t->ndim - 2], s1 = t->stride[t->ndim - 1];
    if ((s1 == 1 || k == 1) && (r == 1 || s0 >= (k > 1 ? k : 1))) {
        *trans = 0;
        *ld = r == 1 ? (k > 1 ? k : 1) : s0;
        return *ld <= INT_MAX;
    }
    if ((s0 == 1 || r == 1) && (k == 1 || s1 >= (r > 1 ? r : 1))) {
        *trans = 1;
        *ld = k == 1 ? (r > 1 ? r : 1) : s1;
        return *ld <= INT_MAX;
    }
    return 0;
}

static int mm_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    const cnn_tensor *a = cnn_node_saved(c, n, 0), *b = cnn_node_saved(c, n, 1);
    if (a == NULL || b == NULL) return -1;
    int last = dy->ndim - 1;
    if (n->in[0].node) {                       /* dA = dy @ b^T, summed over broadcast batch dims */
        cnn_tensor *bt = cnn_transpose(c, (cnn_tensor *)b, b->ndim - 2, b->ndim - 1);
        cnn_tensor *g = bt ? cnn_matmul(c, dy, bt) : NULL;
        cnn_tensor_release(bt);
        if (g == NULL) return -1;
        dx[0] = cnn_sum_to(c, g, &n->in[0].shape);
        cnn_tensor_release(g);
        if (dx[0] == NULL) return -1;
    }
    if (n->in[1].node) {                       /* dB = a^T @ dy; a 2-D b folds the batch into one GEMM */
        cnn_tensor *g = NULL;
        if (b->ndim == 2 && a->ndim > 2) {
            cnn_shape sa = { 2, { -1, a->size[a->ndim - 1] } }, sd = { 2, { -1, dy->size[last] } };
            cnn_tensor *a2 = cnn_reshape(c, (cnn_tensor *)a, &sa), *d2 = cnn_reshape(c, (cnn_tensor *)dy, &sd);
            cnn_tensor *at = a2 ? cnn_transpose(c, a2, 0, 1) : NULL;
            if (at && d2) g = cnn_matmul(c, at, d2);
            cnn_tensor_release(a2); cnn_tensor_release(d2); cnn_tensor_release(at);
        } else {
            cnn_tensor *at = cnn_transpose(c, (cnn_tensor *)a, a->ndim - 2, a->ndim - 1);
            if (at) g = cnn_matmul(c, at, dy);
            cnn_tensor_release(at);
        }
        if (g == NULL) return -1;
        dx[1] = cnn_sum_to(c, g, &n->in[1].shape);
        cnn_tensor_release(g);
        if (dx[1] == NULL) return -1;
    }
    return 0;
}
static const cnn_op op_mm = { "matmul", mm_backward, NULL };

/* a (..., M, K) @ b (..., K, N), both at least 2-D, same dtype */
static cnn_tensor *mm(cnn_ctx *c, const cnn_tensor *a0, const cnn_tensor *b0) {
    char x[200], y[200];
    int64_t M = a0->size[a0->ndim - 2], Kd = a0->size[a0->ndim - 1];
    int64_t K2 = b0->size[b0->ndim - 2], N = b0->size[b0->ndim - 1];
    if (Kd != K2) {
        cnn_seterr(c, "shapes %s and %s cannot be multiplied",
                   cnn_shape_str(x, sizeof x, a0->ndim, a0->size), cnn_shape_str(y, sizeof y, b0->ndim, b0->size));
        return NULL;
    }
    if (M > INT_MAX || N > INT_MAX || Kd > INT_MAX) { cnn_seterr(c, "matrix dimensions exceed the BLAS limit"); return NULL; }
    cnn_shape ba = { a0->ndim - 2, {0} }, bb = { b0->ndim - 2, {0} }, bs;
    for (int i = 0; i < ba.ndim; i++) ba.size[i] = a0->size[i];
    for (int i = 0; i < bb.ndim; i++) bb.size[i] = b0->size[i];
    if (cnn_broadcast_shapes(c, &ba, &bb, &bs) < 0) return NULL;
    cnn_shape ys = bs;
    ys.size[ys.ndim++] = M;
    ys.size[ys.ndim++] = N;
    if (cnn_shape_check(c, &ys) < 0) return NULL;
    cnn_dtype dt;
    cnn_check_dtype_pair(c, a0, b0, &dt);
    int ta, tb;
    int64_t lda, ldb;
    /* copy an operand that BLAS cannot address or whose dtype differs */
    cnn_tensor *a = (a0->dtype == dt && mat_layout(a0, &ta, &lda)) ? (cnn_tensor_retain((cnn_tensor *)a0), (cnn_tensor *)a0)
                                                                   : cnn_contiguous_as(c, a0, dt);
    cnn_tensor *b = (b0->dtype == dt && mat_layout(b0, &tb, &ldb)) ? (cnn_tensor_retain((cnn_tensor *)b0), (cnn_tensor *)b0)
                                                                   : cnn_contiguous_as(c, b0, dt);
    cnn_tensor *out = (a && b) ? cnn_empty(c, &ys, dt) : NULL;
    int64_t batch = cnn_shape_numel(&bs);
    int64_t *off = out ? malloc(2 * (size_t)(batch ? batch : 1) * sizeof *off) : NULL;
    if (out && off == NULL) cnn_seterr(c, "out of memory");
    if (off) {
        mat_layout(a, &ta, &lda);
        mat_layout(b, &tb, &ldb);
        int64_t ast[CNN_MAX_DIM], bst[CNN_MAX_DIM];
        cnn_tensor ah = *a, bh = *b;              /* batch part of the headers */
        ah.ndim = a->ndim - 2;
        bh.ndim = b->ndim - 2;
        cnn_broadcast_strides(&ah, &bs, ast);
        cnn_broadcast_strides(&bh, &bs, bst);
        const int64_t *st[2] = { ast, bst };
        int64_t i = 0;
        if (batch > 0) {
            cnn_iter it;
            cnn_iter_init(&it, bs.ndim, bs.size, 2, st);
            do {
                for (int64_t j = 0; j < it.inner; j++, i++) {
                    off[i] = it.off[0] + j * it.istride[0];
                    off[batch + i] = it.off[1] + j * it.istride[1];
                }
            } while (cnn_iter_next(&it));
        }
        int64_t Mf = M, bf = batch;
        /* a batched, untransposed a times one b: one GEMM over batch*M rows */
        if (batch > 1 && !ta && b->ndim == 2 && cnn_is_contiguous(a) && M * batch <= INT_MAX) { Mf = M * batch; bf = 1; }
        if (M == 0 || N == 0 || batch == 0) {
            /* nothing to compute */
        } else if (Kd == 0) {
            cnn_fill_(c, out, 0.0);
        } else if (dt == CNN_F32) {
            gemm_batch_f32(cnn_get_num_threads(c), bf, off, off + batch, cnn_data(out), cnn_data(a), ta, lda, cnn_data(b), tb, ldb, Mf, N, Kd);
        } else {
            gemm_batch_f64(cnn_get_num_threads(c), bf, off, off + batch, cnn_data(out), cnn_data(a), ta, lda, cnn_data(b), tb, ldb, Mf, N, Kd);
        }
        free(off);
        const cnn_tensor *ins[2] = { a0, b0 };
        cnn_node *n = cnn_record(c, &op_mm, &out, 2, ins);
        if (n) { cnn_node_save(n, 0, a); cnn_node_save(n, 1, b); }
    } else {
        cnn_tensor_release(out);
        out = NULL;
    }
    cnn_tensor_release(a);
    cnn_tensor_release(b);
    return out;
}

cnn_tensor *cnn_matmul(cnn_ctx *c, const cnn_tensor *a, const cnn_tensor *b) {
    char x[200], y[200];
    if (a->ndim == 0 || b->ndim == 0) {
        cnn_seterr(c, "both arguments must be at least 1-D, got %s and %s",
                   cnn_tensor_desc(x, sizeof x, a), cnn_tensor_desc(y, sizeof y, b));
        return NULL;
    }
    if (a->ndim == 1 && b->ndim == 1 && a->size[0] != b->size[0]) {
        cnn_seterr(c, "shapes %s and %s cannot be multiplied",
                   cnn_shape_str(x, sizeof x, a->ndim, a->size), cnn_shape_str(y, sizeof y, b->ndim, b->size));
        return NULL;
    }
    /* vectors become 1-row / 1-column matrices through recorded views, so gradients follow */
    cnn_tensor *a2 = a->ndim == 1 ? cnn_unsqueeze(c, (cnn_tensor *)a, 0) : (cnn_tensor_retain((cnn_tensor *)a), (cnn_tensor *)a);
    cnn_tensor *b2 = b->ndim == 1 ? cnn_unsqueeze(c, (cnn_tensor *)b, 1) : (cnn_tensor_retain((cnn_tensor *)b), (cnn_tensor *)b);
    cnn_tensor *r = (a2 && b2) ? mm(c, a2, b2) : NULL;
    cnn_tensor_release(a2);
    cnn_tensor_release(b2);
    if (r == NULL) {
        /* restate the shapes the user gave, not the internal matrices */
        if (a->ndim == 1 || b->ndim == 1)
            if (a->size[a->ndim - 1] != b->size[b->ndim == 1 ? 0 : b->ndim - 2])
                cnn_seterr(c, "shapes %s and %s cannot be multiplied",
                           cnn_shape_str(x, sizeof x, a->ndim, a->size), cnn_shape_str(y, sizeof y, b->ndim, b->size));
        return NULL;
    }
    if (b->ndim == 1) {
        cnn_tensor *s = cnn_squeeze(c, r, r->ndim - 1);
        cnn_tensor_release(r);
        if ((r = s) == NULL) return NULL;
    }
    if (a->ndim == 1) {
        cnn_tensor *s = cnn_squeeze(c, r, r->ndim - (b->ndim == 1 ? 1 : 2));
        cnn_tensor_release(r);
        r = s;
    }
    return r;
}
