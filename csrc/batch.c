/* batch.c: assembling a batch for the DataLoader: rows of a tensor picked by index and copied
 * with one memcpy each (index_select goes through views and the strided copier, which costs
 * more than the copy itself for image-sized rows). No autograd: this is for data. Dtype-free.
 * Binding: lua_data.c (TensorDataset:get_batch). Spec: data_spec.lua. */
#include "data.h"
#include "tensor.h"

#include <math.h>
#include <string.h>

cnn_tensor *cnn_gather_rows(cnn_ctx *c, const cnn_tensor *t, const cnn_tensor *index) {
    char d[200];
    if (t->ndim == 0) { cnn_seterr(c, "expected a tensor with a first dimension, got a 0-d tensor"); return NULL; }
    if (index->ndim != 1) { cnn_seterr(c, "expected a 1-D tensor of indices, got %s", cnn_tensor_desc(d, sizeof d, index)); return NULL; }
    cnn_tensor *x = cnn_contiguous_as(c, t, t->dtype);
    cnn_tensor *ix = x ? cnn_contiguous_as(c, index, CNN_F64) : NULL;
    if (ix == NULL) { cnn_tensor_release(x); return NULL; }
    int64_t n = index->size[0], rows = t->size[0];
    const double *iv = cnn_data(ix);
    for (int64_t k = 0; k < n; k++)
        if (!(iv[k] >= 1 && iv[k] <= (double)rows && iv[k] == floor(iv[k]))) {
            cnn_seterr(c, "index %g (position %lld) is not an integer in 1..%lld", iv[k], (long long)k + 1, (long long)rows);
            cnn_tensor_release(x);
            cnn_tensor_release(ix);
            return NULL;
        }
    cnn_shape s = cnn_shape_of(t);
    s.size[0] = n;
    cnn_tensor *y = cnn_empty(c, &s, t->dtype);
    if (y != NULL) {
        size_t row = (size_t)(rows ? cnn_numel(x) / rows : 0) * cnn_dtype_size(t->dtype);
        const char *src = cnn_data(x);
        char *dst = cnn_data(y);
        for (int64_t k = 0; k < n; k++) memcpy(dst + (size_t)k * row, src + (size_t)(iv[k] - 1) * row, row);
    }
    cnn_tensor_release(x);
    cnn_tensor_release(ix);
    return y;
}
