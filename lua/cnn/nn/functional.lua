-- cnn.nn.functional (also cnn.F): the differentiable operations, PyTorch's torch.nn.functional
-- under Lua conventions. Every op lives in the C core (also cnn.<name>); this table names the
-- functional ones only, so F shows the API and nothing else: a new functional op is added to
-- NAMES below and documented in docs/api-functional.md or docs/api-conv.md
-- (spec/namespace_spec.lua checks both).
local core = require "cnn.core"

local NAMES = {
  -- activations
  "relu", "leaky_relu", "rrelu", "prelu", "elu", "selu", "gelu", "silu", "mish", "sigmoid", "tanh", "hardtanh",
  "softsign", "softplus", "softmax", "log_softmax",
  -- losses
  "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
  "binary_cross_entropy_with_logits", "hinge_embedding_loss", "cross_entropy", "nll_loss",
  "multi_margin_loss",
  -- normalisation, regularisation, shapes
  "batch_norm", "layer_norm", "group_norm", "dropout", "linear", "flatten", "pad",
  -- recurrent cells (one time step; the layers are nn.LSTM and nn.GRU)
  "lstm_cell", "gru_cell",
  -- convolution and pooling
  "conv1d", "conv2d", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool2d",
  "adaptive_avg_pool1d", "adaptive_max_pool2d", "adaptive_max_pool1d",
}

local F = {}
for _, name in ipairs(NAMES) do
  F[name] = assert(core[name], name)
end

return F
