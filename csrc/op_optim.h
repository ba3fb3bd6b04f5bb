/* op_optim.h: optimizer updates in C (SGD, Adam, AdamW, RMSprop, Adagrad), one call per
 * parameter group. The Lua classes (lua/cnn/optim/) hold the hyperparameters and the state
 * tensors and call cnn.optim_step through lua_optim.c. Spec: spec/optim_spec.lua. */
#ifndef CNN_OP_OPTIM_H
#define CNN_OP_OPTIM_H

#include "cnn.h"

typedef enum { CNN_OPT_SGD, CNN_OPT_ADAM, CNN_OPT_ADAMW, CNN_OPT_RMSPROP, CNN_OPT_ADAGRAD } cnn_optim_kind;

#define CNN_OPTIM_SLOTS 3   /* state tensors per parameter, at most */

/* hyperparameters of one group, with PyTorch's meanings */
typedef struct cnn_optim_hyper {
    cnn_optim_kind kind;
    double lr, momentum, dampening, weight_decay;
    double beta1, beta2, eps;       /* Adam, AdamW */
    double alpha;                   /* RMSprop smoothing */
    double lr_decay;                /* Adagrad */
    int nesterov, amsgrad, centered, maximize;
} cnn_optim_hyper;

/* The slots each kind uses (NULL where a slot is unused):
 *   SGD      [0] momentum_buffer (momentum != 0)
 *   Adam(W)  [0] exp_avg, [1] exp_avg_sq, [2] max_exp_avg_sq (amsgrad)
 *   RMSprop  [0] square_avg, [1] momentum_buffer (momentum > 0), [2] grad_avg (centered)
 *   Adagrad  [0] sum (holding initial_accumulator_value before the first step)
 * One step for n parameters: p[i] (contiguous, with a gradient of its shape) is updated in
 * place, state[i * CNN_OPTIM_SLOTS + j] likewise; step[i] is the count including this step.
 * Every argument is checked before anything is written. Returns 0, or -1 with a message. */
int cnn_optim_step(cnn_ctx *c, const cnn_optim_hyper *h, int n, cnn_tensor *const *p,
                   cnn_tensor *const *state, const int64_t *step);

#endif
