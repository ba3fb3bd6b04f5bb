/* autograd.h: how an op records itself for backward. Each op file defines a cnn_op next to its
 * forward; autograd.c never names a particular op. A tensor holds its node strongly, a node holds
 * its input nodes and saved tensors; edges point only toward inputs, so there are no cycles.
 * The node and descriptor types are in tensor.h: tensor.c frees tensors and nodes together. */
#ifndef CNN_AUTOGRAD_H
#define CNN_AUTOGRAD_H

#include "cnn.h"
#include "tensor.h"

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
