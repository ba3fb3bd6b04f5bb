-- Linear, Identity, Flatten, Dropout and Embedding: the layers that need no convolution.
-- Spec: spec/layers_spec.lua.
local cnn = require "cnn"
local F = require "cnn.nn.functional"
local A = require "cnn.nn.argcheck"
local Module = require "cnn.nn.module"
local init = require "cnn.nn.weight_init"

local L = {}

-- {bias = true} options, or a plain boolean, at argument i
function L.bias_opt(fn, i, opts)
  if type(opts) == "boolean" then return opts end
  return A.bool(fn, i, "bias", A.opts(fn, i, opts, { bias = true }).bias, true)
end

local function param(...) return A.call(cnn.zeros, { ... }, { requires_grad = true }) end
L.param = param

-- Linear(in_features, out_features [, {bias = true}]): y = x W^T + b, W [out, in]
local Linear = Module:extend("nn.Linear")
function Linear:__init(in_features, out_features, opts)
  local fn = "cnn.nn.Linear"
  self.in_features = A.int(fn, 1, "in_features", in_features, 1)
  self.out_features = A.int(fn, 2, "out_features", out_features, 1)
  self.weight = param(self.out_features, self.in_features)
  if L.bias_opt(fn, 3, opts) then self.bias = param(self.out_features) else self:register_parameter("bias", nil) end
  init.default_(self.weight, self.bias)
end
function Linear:forward(x) return A.call(F.linear, x, self.weight, self.bias) end
function Linear:extra_repr() return ("%d -> %d%s"):format(self.in_features, self.out_features, self.bias and "" or ", no bias") end
L.Linear = Linear

local Identity = Module:extend("nn.Identity")
function Identity:forward(x) return x end
L.Identity = Identity

-- Flatten([start_dim = 2 [, end_dim = -1]]): keeps the batch dimension
local Flatten = Module:extend("nn.Flatten")
function Flatten:__init(start_dim, end_dim)
  self.start_dim = A.int("cnn.nn.Flatten", 1, "start_dim", start_dim, nil, 2)
  self.end_dim = A.int("cnn.nn.Flatten", 2, "end_dim", end_dim, nil, -1)
end
function Flatten:forward(x) return A.call(A.tensor("cnn.nn.Flatten.forward", 1, "input", x).flatten, x, self.start_dim, self.end_dim) end
function Flatten:extra_repr() return self.start_dim .. ", " .. self.end_dim end
L.Flatten = Flatten

-- Dropout([p = 0.5]): zeroes with probability p and scales by 1/(1-p) in training mode only
local Dropout = Module:extend("nn.Dropout")
function Dropout:__init(p) self.p = A.num("cnn.nn.Dropout", 1, "p", p, 0.5, 0, 1) end
function Dropout:forward(x) return A.call(F.dropout, x, self.p, self.training) end
function Dropout:extra_repr() return "p = " .. self.p end
L.Dropout = Dropout

-- Embedding(num_embeddings, embedding_dim): rows of weight [num, dim] picked by 1-based indices
local Embedding = Module:extend("nn.Embedding")
function Embedding:__init(num, dim)
  self.num_embeddings = A.int("cnn.nn.Embedding", 1, "num_embeddings", num, 1)
  self.embedding_dim = A.int("cnn.nn.Embedding", 2, "embedding_dim", dim, 1)
  self.weight = init.normal_(param(self.num_embeddings, self.embedding_dim))
end
function Embedding:forward(idx)
  A.tensor("cnn.nn.Embedding.forward", 1, "input", idx)
  local shape = idx:size()
  shape[#shape + 1] = self.embedding_dim
  return A.call_as("cnn.nn.Embedding.forward", function() return self.weight:index_select(1, idx:flatten()):view(shape) end)
end
function Embedding:extra_repr() return self.num_embeddings .. ", " .. self.embedding_dim end
L.Embedding = Embedding

return L
