/* op_linear.c: linear(x, w, b) = x @ w^T + b. The transpose is a stride swap that matmul hands
 * to BLAS as a flag, so no copy is made; matmul and the broadcast add record their own
 * backward. Bindings: lua_nn.c; spec: linear_spec.lua. */
#include "cnn.h"
#include "tensor.h"

cnn_tensor *cnn_linear(cnn_ctx *c, const cnn_tensor *x, const cnn_tensor *w, const cnn_tensor *b) {
    char a[200], d[200];
    if (w->ndim != 2) { cnn_seterr(c, "expected a 2-D weight (out,in), got %s", cnn_tensor_desc(a, sizeof a, w)); return NULL; }
    if (x->ndim < 1 || x->size[x->ndim - 1] != w->size[1]) {
        cnn_seterr(c, "the input %s does not end in the weight's %lld input features (weight %s)",
                   cnn_tensor_desc(a, sizeof a, x), (long long)w->size[1], cnn_tensor_desc(d, sizeof d, w));
        return NULL;
    }
    if (b && (b->ndim != 1 || b->size[0] != w->size[0])) {
        cnn_seterr(c, "expected a bias of shape [%lld], got %s", (long long)w->size[0], cnn_tensor_desc(a, sizeof a, b));
        return NULL;
    }
    if (x->dtype != w->dtype || (b && b->dtype != w->dtype)) {
        cnn_seterr(c, "expected the input, weight and bias in one dtype, got %s, %s%s%s", cnn_dtype_name(x->dtype),
                   cnn_dtype_name(w->dtype), b ? " and " : "", b ? cnn_dtype_name(b->dtype) : "");
        return NULL;
    }
    cnn_tensor *wt = cnn_transpose(c, (cnn_tensor *)w, 0, 1);
    cnn_tensor *y = wt ? cnn_matmul(c, x, wt) : NULL;
    cnn_tensor_release(wt);
    if (y == NULL || b == NULL) return y;
    cnn_tensor *r = cnn_binary(c, CNN_ADD, y, b);
    cnn_tensor_release(y);
    return r;
}
