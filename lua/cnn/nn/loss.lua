-- Loss modules, one per loss of cnn.F: loss = nn.CrossEntropyLoss{reduction = "sum"}; loss(logits, y).
-- The options table goes to F unchanged (F checks it). Spec: spec/layers_spec.lua.
local F = require "cnn.nn.functional"
local A = require "cnn.nn.argcheck"
local Module = require "cnn.nn.module"

local M = {}

local LOSSES = {
  CrossEntropyLoss = "cross_entropy", NLLLoss = "nll_loss", BCELoss = "binary_cross_entropy",
  BCEWithLogitsLoss = "binary_cross_entropy_with_logits", MSELoss = "mse_loss", L1Loss = "l1_loss",
  HuberLoss = "huber_loss", SmoothL1Loss = "smooth_l1_loss", HingeEmbeddingLoss = "hinge_embedding_loss",
  MultiMarginLoss = "multi_margin_loss",
}

for name, op in pairs(LOSSES) do
  local cls = Module:extend("nn." .. name)
  function cls:__init(opts)
    if opts ~= nil and type(opts) ~= "table" then A.fail("cnn.nn." .. name, 1, "options", "an options table", opts) end
    self.options = opts
  end
  function cls:forward(input, target) return F[op](input, target, self.options) end
  function cls:extra_repr()
    local parts = {}
    for k, v in pairs(self.options or {}) do parts[#parts + 1] = k .. " = " .. A.describe(v) end
    table.sort(parts)
    return #parts > 0 and table.concat(parts, ", ") or nil
  end
  M[name] = cls
end

return M
