-- Loss modules, one per loss of cnn.F: loss = nn.CrossEntropyLoss{reduction = "sum"}; loss(logits, y).
-- The options table goes to F unchanged (F checks it). Spec: spec/layers_spec.lua.
local F = require "cnn.nn.functional"
local A = require "cnn.nn.argcheck"
local Module = require "cnn.nn.module"

local M = {}

-- name = {F op, the options it takes (checked here too, so a misspelt key fails at construction)}
local LOSSES = {
  CrossEntropyLoss = { "cross_entropy", { "reduction", "weight", "ignore_index" } },
  NLLLoss = { "nll_loss", { "reduction", "weight", "ignore_index" } },
  BCELoss = { "binary_cross_entropy", { "reduction", "weight" } },
  BCEWithLogitsLoss = { "binary_cross_entropy_with_logits", { "reduction", "weight", "pos_weight" } },
  MSELoss = { "mse_loss", { "reduction" } },
  L1Loss = { "l1_loss", { "reduction" } },
  HuberLoss = { "huber_loss", { "reduction", "delta" } },
  SmoothL1Loss = { "smooth_l1_loss", { "reduction", "beta" } },
  HingeEmbeddingLoss = { "hinge_embedding_loss", { "reduction", "margin" } },
  MultiMarginLoss = { "multi_margin_loss", { "reduction", "weight", "p", "margin" } },
}

for name, spec in pairs(LOSSES) do
  local op, keys = spec[1], spec[2]
  local cls = Module:extend("nn." .. name)
  function cls:__init(opts)
    if opts ~= nil then A.opts("cnn.nn." .. name, 1, opts, keys) end
    self.options = opts
  end
  function cls:forward(input, target) return A.call(F[op], input, target, self.options) end
  function cls:extra_repr()
    local parts = {}
    for k, v in pairs(self.options or {}) do parts[#parts + 1] = k .. " = " .. A.describe(v) end
    table.sort(parts)
    return #parts > 0 and table.concat(parts, ", ") or nil
  end
  M[name] = cls
end

return M
