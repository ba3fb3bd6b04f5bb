/* autograd.h: how an op records itself for backward. Each op file defines a cnn_op next to its
 * forward; autograd.c never names a particular op. A tensor holds its node strongly, a node holds
 * its input nodes and saved tensors; edges point only toward inputs, so there are no cycles. */
#ifndef CNN_AUTOGRAD_H
#define CNN_AUTOGRAD_H

#include "cnn.h"

#define CNN_MAX_SAVED 4

typedef struct cnn_op {
    const char *name;                               /* "mul": used in messages */
    /* dx[i] for each input whose edge is not NULL (the engine sets the rest to NULL);
     * new references, shaped like the input. Returns 0, or -1 with a message. */
    int (*backward)(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx);
    void (*release)(cnn_node *n);                   /* frees `extra` (may be NULL) */
} cnn_op;

typedef struct cnn_edge {
    cnn_node *node;          /* NULL: this input needs no gradient */
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
    /* backward walk scratch */
    cnn_tensor *gacc;
    int deps, visited, freed;
    cnn_node *next_free;
};

/* 1 when an op on these inputs must be recorded (grad mode on, some input requires grad) */
int cnn_needs_grad(const cnn_ctx *c, const cnn_tensor *a, const cnn_tensor *b);
cnn_node *cnn_node_new(cnn_ctx *c, const cnn_op *op, int nin);
void cnn_node_retain(cnn_node *n);
void cnn_node_release(cnn_node *n);
/* edge i from input t; -1 on OOM */
int cnn_node_input(cnn_ctx *c, cnn_node *n, int i, const cnn_tensor *t);
void cnn_node_save(cnn_node *n, int slot, const cnn_tensor *t);
/* the saved tensor, or NULL with a message if it was modified in place since */
const cnn_tensor *cnn_node_saved(cnn_ctx *c, cnn_node *n, int slot);
/* makes y the output of n (takes the caller's reference to n) */
void cnn_attach(cnn_tensor *y, cnn_node *n);
/* the common case: record op over inputs (up to 3) and attach; releases y and returns NULL on OOM.
 * Returns the node (borrowed) so the caller can set iarg/farg/saved, or NULL if nothing recorded. */
cnn_node *cnn_record(cnn_ctx *c, const cnn_op *op, cnn_tensor **y, int nin, const cnn_tensor *const *ins);

#endif
