/* autograd.c: recording graph nodes and the backward walk. The walk collects the nodes reachable
 * from the root with an explicit stack (no recursion limit), counts each node's consumers, then
 * runs nodes in topological order, summing incoming gradients before calling the op's backward.
 * It never names a particular op and calls none: the sums are tensor.c's plain adds, and nodes
 * are freed with the tensors by tensor.c. Bindings: lua_autograd.c; spec: autograd_spec.lua. */
#include "cnn.h"
#include "autograd.h"

#include <stdlib.h>
#include <string.h>

/* t->grad += dy (a fresh copy when t has none: never alias a gradient still in use) */
static int add_to_grad(cnn_ctx *c, cnn_tensor *t, const cnn_tensor *dy) {
    if (t->grad == NULL) {
        cnn_shape s = cnn_shape_of(dy);
        if ((t->grad = cnn_empty(c, &s, t->dtype)) == NULL) return -1;
        cnn_copy_raw(t->grad, dy);
        return 0;
    }
    return cnn_accumulate_(c, t->grad, dy);
}

/* accumulate-grad: the sink of a leaf that requires grad */
static int accumulate_backward(cnn_ctx *c, cnn_node *n, const cnn_tensor *dy, cnn_tensor **dx) {
    (void)dx;
    cnn_tensor *leaf = n->leaf;
    if (leaf->grad == NULL && dy->refcount == 1 && dy->storage->refcount == 1 && dy->node == NULL &&
        dy->dtype == leaf->dtype && dy->offset == 0 && cnn_is_contiguous(dy)) {
        /* only the walk holds dy, so no one else can see it: the leaf takes it, as PyTorch does */
        cnn_tensor_retain((cnn_tensor *)dy);
        leaf->grad = (cnn_tensor *)dy;
        return 0;
    }
    return add_to_grad(c, leaf, dy);
}
static const cnn_op op_accumulate = { "accumulate_grad", accumulate_backward, NULL };

int cnn_needs_grad(const cnn_ctx *c, const cnn_tensor *a, const cnn_tensor *b) {
    return cnn_grad_enabled(c) && ((a && a->requires_grad) || (b && b->requires_grad));
}

cnn_node *cnn_node_new(cnn_ctx *c, const cnn_op *op, int nin) {
    cnn_node *n = calloc(1, sizeof *n);
    if (n == NULL) { cnn_seterr(c, "out of memory"); return NULL; }
    n->in = nin ? calloc((size_t)nin, sizeof *n->in) : NULL;
    if (nin && n->in == NULL) { free(n); cnn_seterr(c, "out of memory"); return NULL; }
    n->refcount = 1;
    n->op = op;
    n->nin = nin;
    return n;
}

void cnn_node_retain(cnn_node *n) { if (n) n->refcount++; }

/* the saved tensors (each released iteratively: a saved tensor can hold a long chain) */
static void node_drop_saved(cnn_node *n) {
    for (int i = 0; i < n->nsaved; i++) { cnn_tensor_release(n->saved[i]); n->saved[i] = NULL; }
    if (n->op->release) n->op->release(n);
    n->extra = NULL;
}

void cnn_node_release(cnn_node *n) {
    if (n == NULL || --n->refcount > 0) return;
    cnn_free_dead(NULL, n);
}

int cnn_node_input(cnn_ctx *c, cnn_node *n, int i, const cnn_tensor *t) {
    n->in[i].shape = cnn_shape_of(t);
    n->in[i].dtype = t->dtype;
    n->in[i].node = NULL;
    if (!t->requires_grad) return 0;
    if (t->node) {
        cnn_node_retain(t->node);
        n->in[i].node = t->node;
        return 0;
    }
    cnn_node *a = cnn_node_new(c, &op_accumulate, 0);
    if (a == NULL) return -1;
    a->leaf = (cnn_tensor *)t;
    cnn_tensor_retain(a->leaf);
    n->in[i].node = a;
    return 0;
}

void cnn_node_save(cnn_node *n, int slot, const cnn_tensor *t) {
    cnn_tensor_retain((cnn_tensor *)t);
    n->saved[slot] = (cnn_tensor *)t;
    n->saved_ver[slot] = t->storage->version;
    if (slot >= n->nsaved) n->nsaved = slot + 1;
}

const cnn_tensor *cnn_node_saved(cnn_ctx *c, cnn_node *n, int slot) {
    cnn_tensor *t = n->saved[slot];
    if (t == NULL) {
        cnn_seterr(c, "trying to backward through the graph a second time (the saved tensors of '%s' "
                      "were freed); use backward{retain_graph=true} the first time", n->op->name);
        return NULL;
    }
    if (t->storage->version != n->saved_ver[slot]) {
        cnn_seterr(c, "a tensor saved by '%s' for backward was modified in place (version %llu, expected %llu)",
                   n->op->name, (unsigned long long)t->storage->version,
                   (unsigned long long)n->saved_ver[slot]);
        return NULL;
    }
    return t;
}

void cnn_attach(cnn_tensor *y, cnn_node *n) {
    /* an in-place op on a tensor that retains its gradient: the new version's node keeps it */
    if (y->node && y->node->retained == y) { y->node->retained = NULL; n->retained = y; }
    cnn_node_release(y->node);
    y->node = n;
    y->requires_grad = 1;
}

cnn_node *cnn_record(cnn_ctx *c, const cnn_op *op, cnn_tensor **y, int nin, const cnn_tensor *const *ins) {
    int need = 0;
    if (*y == NULL || !cnn_grad_enabled(c)) return NULL;
    for (int i = 0; i < nin; i++) if (ins[i] && ins[i]->requires_grad) need = 1;
    if (!need) return NULL;
    cnn_node *n = cnn_node_new(c, op, nin);
    if (n == NULL) goto oom;
    for (int i = 0; i < nin; i++)
        if (ins[i] && cnn_node_input(c, n, i, ins[i]) < 0) { cnn_node_release(n); goto oom; }
    cnn_attach(*y, n);
    return n;
oom:
    cnn_tensor_release(*y);
    *y = NULL;
    return NULL;
}

const char *cnn_grad_fn_name(const cnn_tensor *t) { return t->node ? t->node->op->name : NULL; }

int cnn_retain_grad(cnn_ctx *c, cnn_tensor *t) {
    if (!t->requires_grad) return cnn_seterr(c, "cannot retain the gradient of a tensor that does not require grad");
    if (t->node) t->node->retained = t;         /* a leaf keeps its gradient anyway */
    return 0;
}

int cnn_retains_grad(const cnn_tensor *t) { return t->node != NULL && t->node->retained == t; }

/* ---- the backward walk ---- */

typedef struct { cnn_node **v; size_t n, cap; } nodevec;

static int nv_push(cnn_ctx *c, nodevec *a, cnn_node *x) {
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        cnn_node **v = realloc(a->v, cap * sizeof *v);
        if (v == NULL) return cnn_seterr(c, "out of memory");
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return 0;
}

static int add_into(cnn_ctx *c, cnn_tensor **acc, cnn_tensor *g) {
    if (*acc == NULL) { *acc = g; return 0; }
    cnn_tensor *s = cnn_add_new(c, *acc, g);
    cnn_tensor_release(g);
    if (s == NULL) return -1;
    cnn_tensor_release(*acc);
    *acc = s;
    return 0;
}

/* capture (may be NULL): inputs whose gradients are wanted instead of touching .grad */
static int run_backward(cnn_ctx *c, cnn_tensor *root, const cnn_tensor *grad, int retain,
                        cnn_tensor *const *inputs, int ninputs, cnn_tensor **out) {
    char a[200], b[200];
    if (!root->requires_grad)
        return cnn_seterr(c, "the tensor does not require grad and has no grad_fn");
    cnn_tensor *g0;
    if (grad == NULL) {
        if (cnn_numel(root) != 1)
            return cnn_seterr(c, "a gradient can be created implicitly only for a scalar output, got %s",
                              cnn_tensor_desc(a, sizeof a, root));
        cnn_shape s = cnn_shape_of(root);
        g0 = cnn_full(c, &s, root->dtype, 1.0);
    } else {
        cnn_shape sr = cnn_shape_of(root), sg = cnn_shape_of(grad);
        if (!cnn_shape_eq(&sr, &sg))
            return cnn_seterr(c, "the gradient has shape %s but the output has shape %s",
                              cnn_shape_str(a, sizeof a, grad->ndim, grad->size),
                              cnn_shape_str(b, sizeof b, root->ndim, root->size));
        g0 = cnn_contiguous_as(c, grad, root->dtype);
    }
    if (g0 == NULL) return -1;

    int old_mode = cnn_set_grad_enabled(c, 0);
    int rc = 0;
    nodevec all = {0}, stack = {0}, ready = {0};
    cnn_node *rootn = root->node;
    cnn_node tmp_leaf;                            /* a leaf root: a one-node graph */
    if (rootn == NULL) {
        memset(&tmp_leaf, 0, sizeof tmp_leaf);
        tmp_leaf.op = &op_accumulate;
        tmp_leaf.leaf = root;
        rootn = &tmp_leaf;
    }
    /* 1. collect reachable nodes, count consumers */
    /* the walk holds a reference to each node in `all`, so cutting edges (below) frees none
     * before the end */
    rootn->visited = 1;
    if (nv_push(c, &all, rootn) < 0) { rc = -1; goto done; }
    if (rootn != &tmp_leaf) cnn_node_retain(rootn);
    if (nv_push(c, &stack, rootn) < 0) { rc = -1; goto done; }
    while (stack.n) {
        cnn_node *m = stack.v[--stack.n];
        for (int i = 0; i < m->nin; i++) {
            cnn_node *p = m->in[i].node;
            if (p == NULL) continue;
            p->deps++;
            if (!p->visited) {
                p->visited = 1;
                if (nv_push(c, &all, p) < 0) { rc = -1; goto done; }
                cnn_node_retain(p);
                if (nv_push(c, &stack, p) < 0) { rc = -1; goto done; }
            }
        }
    }
    /* 2. run in topological order */
    rootn->gacc = g0;
    g0 = NULL;
    if (nv_push(c, &ready, rootn) < 0) { rc = -1; goto done; }
    while (ready.n) {
        cnn_node *m = ready.v[--ready.n];
        cnn_tensor *dy = m->gacc;
        m->gacc = NULL;
        if (dy == NULL) goto release_deps;       /* nothing flowed here */
        if (m->freed) {
            cnn_tensor_release(dy);
            rc = cnn_seterr(c, "trying to backward through the graph a second time (the saved tensors of '%s' "
                               "were freed); use backward{retain_graph=true} the first time", m->op->name);
            goto done;
        }
        /* a non-leaf that retains its gradient: dy is the whole gradient of that tensor */
        if (!inputs && m->retained && add_to_grad(c, m->retained, dy) < 0) { cnn_tensor_release(dy); rc = -1; goto done; }
        if (inputs) {
            for (int k = 0; k < ninputs; k++) {
                int hit = inputs[k]->node ? inputs[k]->node == m : (m->leaf == inputs[k]);
                if (hit) {
                    cnn_tensor_retain(dy);
                    if (add_into(c, &out[k], dy) < 0) { cnn_tensor_release(dy); rc = -1; goto done; }
                }
            }
            if (m->leaf) { cnn_tensor_release(dy); goto release_deps; }  /* capture mode leaves .grad alone */
        }
        cnn_tensor *dx[64], **dxp = dx;
        if (m->nin > 64 && (dxp = calloc((size_t)m->nin, sizeof *dxp)) == NULL) {
            cnn_tensor_release(dy);
            rc = cnn_seterr(c, "out of memory");
            goto done;
        }
        for (int i = 0; i < m->nin; i++) dxp[i] = NULL;
        cnn_prof *prof = cnn_prof_of(c);
        double t0 = prof ? cnn_prof_now() : 0;
        rc = m->op->backward(c, m, dy, dxp);
        if (prof) cnn_prof_add(prof, m->op->name, 1, cnn_prof_now() - t0);
        cnn_tensor_release(dy);
        for (int i = 0; i < m->nin && rc == 0; i++) {
            cnn_node *p = m->in[i].node;
            if (p == NULL || dxp[i] == NULL) continue;
            cnn_shape sg = cnn_shape_of(dxp[i]);
            if (!cnn_shape_eq(&sg, &m->in[i].shape)) {
                rc = cnn_seterr(c, "internal error: the backward of '%s' gave a gradient of shape %s for an input of shape %s",
                                m->op->name, cnn_shape_str(a, sizeof a, sg.ndim, sg.size),
                                cnn_shape_str(b, sizeof b, m->in[i].shape.ndim, m->in[i].shape.size));
                break;
            }
            if (add_into(c, &p->gacc, dxp[i]) < 0) { dxp[i] = NULL; rc = -1; break; }
            dxp[i] = NULL;
        }
        for (int i = 0; i < m->nin; i++) cnn_tensor_release(dxp[i]);
        if (dxp != dx) free(dxp);
        if (rc < 0) goto done;
        int drop = !retain && m->op != &op_accumulate;
        if (drop) { node_drop_saved(m); m->freed = 1; }
        for (int i = 0; i < m->nin; i++) {
            cnn_node *p = m->in[i].node;
            if (p && --p->deps == 0 && nv_push(c, &ready, p) < 0) { rc = -1; goto done; }
        }
        /* a freed node needs its inputs no more: cut its edges, so that the graph behind a loss
         * kept alive after backward (the user's `loss`) is freed at the end of the walk */
        if (drop) for (int i = 0; i < m->nin; i++) { cnn_node_release(m->in[i].node); m->in[i].node = NULL; }
        continue;
    release_deps:
        for (int i = 0; i < m->nin; i++) {
            cnn_node *p = m->in[i].node;
            if (p && --p->deps == 0 && nv_push(c, &ready, p) < 0) { rc = -1; goto done; }
        }
    }
done:
    for (size_t i = 0; i < all.n; i++) {
        cnn_node *m = all.v[i];
        m->visited = 0;
        m->deps = 0;
        cnn_tensor_release(m->gacc);
        m->gacc = NULL;
    }
    for (size_t i = 0; i < all.n; i++) if (all.v[i] != &tmp_leaf) cnn_node_release(all.v[i]);
    cnn_tensor_release(g0);
    free(all.v);
    free(stack.v);
    free(ready.v);
    cnn_set_grad_enabled(c, old_mode);
    return rc;
}

int cnn_backward(cnn_ctx *c, cnn_tensor *root, const cnn_tensor *grad, int retain_graph) {
    return run_backward(c, root, grad, retain_graph, NULL, 0, NULL);
}

int cnn_grad(cnn_ctx *c, cnn_tensor *root, const cnn_tensor *grad, cnn_tensor *const *inputs,
             int n, cnn_tensor **out, int retain_graph) {
    for (int k = 0; k < n; k++) out[k] = NULL;
    int rc = run_backward(c, root, grad, retain_graph, inputs, n, out);
    for (int k = 0; k < n && rc == 0; k++) {
        if (out[k] == NULL) {
            cnn_shape s = cnn_shape_of(inputs[k]);
            if ((out[k] = cnn_full(c, &s, inputs[k]->dtype, 0.0)) == NULL) rc = -1;
        } else if (out[k]->dtype != inputs[k]->dtype) {
            cnn_tensor *t = cnn_contiguous_as(c, out[k], inputs[k]->dtype);
            cnn_tensor_release(out[k]);
            if ((out[k] = t) == NULL) rc = -1;
        }
    }
    if (rc < 0) for (int k = 0; k < n; k++) { cnn_tensor_release(out[k]); out[k] = NULL; }
    return rc;
}
