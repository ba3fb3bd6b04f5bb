/* storage.c: reference-counted, 64-byte aligned data blocks (from the context's block cache),
 * tallied in the context so that cnn.memory() shows live bytes and specs can catch leaks. */
#include "cnn.h"
#include "tensor.h"

#include <stdlib.h>

cnn_storage *cnn_storage_new(cnn_ctx *c, size_t nbytes) {
    cnn_storage *s = malloc(sizeof *s);
    if (s == NULL) { cnn_seterr(c, "out of memory"); return NULL; }
    /* round up so that vector loads past the last element stay inside the block */
    size_t alloc = (nbytes + 63) & ~(size_t)63;
    if (alloc < nbytes || (s->data = cnn_block_alloc(c, alloc)) == NULL) {
        free(s);
        cnn_seterr(c, "out of memory (could not allocate %zu bytes)", nbytes);
        return NULL;
    }
    s->refcount = 1;
    s->nbytes = nbytes;
    s->version = 0;
    s->ctx = c;
    cnn_ctx_retain(c);
    cnn_mem_add(c, (int64_t)nbytes);
    return s;
}

void cnn_storage_retain(cnn_storage *s) { if (s) s->refcount++; }

void cnn_storage_release(cnn_storage *s) {
    if (s == NULL || --s->refcount > 0) return;
    cnn_mem_add(s->ctx, -(int64_t)s->nbytes);
    cnn_block_free(s->ctx, s->data, (s->nbytes + 63) & ~(size_t)63);
    cnn_ctx_release(s->ctx);
    free(s);
}
