-- cnn.nn: modules (torch.nn). Classes load on first use from the file that defines them:
-- nn.Linear from linear.lua, nn.Conv2d from conv.lua, ... nn.functional is cnn.F, nn.init the
-- initialisers, nn.utils clip_grad_norm_. Reference: docs/api-nn.md.
local nn = {}

local FILES = {
  Module = "module",
  Sequential = "container", ModuleList = "container", ModuleDict = "container",
  Concat = "container", Parallel = "container", Residual = "container",
  LSTM = "rnn", GRU = "rnn", LSTMCell = "rnn", GRUCell = "rnn",
  Linear = "linear", Identity = "linear", Flatten = "linear", Dropout = "linear", Embedding = "linear",
  Conv1d = "conv", Conv2d = "conv",
  MaxPool1d = "pool", MaxPool2d = "pool", AvgPool1d = "pool", AvgPool2d = "pool",
  AdaptiveAvgPool2d = "pool", AdaptiveAvgPool1d = "pool", AdaptiveMaxPool2d = "pool", AdaptiveMaxPool1d = "pool",
  BatchNorm1d = "norm", BatchNorm2d = "norm", LayerNorm = "norm", GroupNorm = "norm",
  ReLU = "activation", LeakyReLU = "activation", RReLU = "activation", PReLU = "activation",
  ELU = "activation", SELU = "activation", GELU = "activation", SiLU = "activation",
  Mish = "activation", Sigmoid = "activation", Tanh = "activation",
  Hardtanh = "activation", Softsign = "activation", Softplus = "activation",
  Softmax = "activation", LogSoftmax = "activation",
  CrossEntropyLoss = "loss", NLLLoss = "loss", BCELoss = "loss", BCEWithLogitsLoss = "loss",
  MSELoss = "loss", L1Loss = "loss", HuberLoss = "loss", SmoothL1Loss = "loss",
  HingeEmbeddingLoss = "loss", MultiMarginLoss = "loss",
}
local SUBMODULES = { functional = "cnn.nn.functional", init = "cnn.nn.weight_init", utils = "cnn.nn.utils" }

setmetatable(nn, {
  __index = function(t, k)
    local v
    if SUBMODULES[k] then v = require(SUBMODULES[k])
    elseif FILES[k] == "module" then v = require "cnn.nn.module"
    elseif FILES[k] then v = require("cnn.nn." .. FILES[k])[k]
    else return nil end
    rawset(t, k, v)
    return v
  end,
})

return nn
