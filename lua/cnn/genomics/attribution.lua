-- cnn.genomics (DNA part): which bases a sequence model looks at. saliency: gradient x input per
-- base; mutagenesis: the change of a class score for every single-base substitution, computed by
-- forward passes over many mutants at once (tensor ops build them; no Lua loop per mutant).
-- Spec: spec/genomics_dna_spec.lua; docs/genomics.md.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local motif = require "cnn.genomics.motif"
local M = {}

local function check_model(fn, model)
  local mt = type(model) == "table" and getmetatable(model)
  if type(model) ~= "table" or type(model.modules) ~= "function" or type(mt) ~= "table" or rawget(mt, "__call") == nil then
    A.fail(fn, 1, "model", "an nn.Module", model)
  end
end

-- runs f with the model in eval mode (dropout off, batch norm on its running statistics), then
-- puts the mode back as it was, even on error
local function in_eval(model, f)
  local was = model.training
  model:eval()
  local res = table.pack(pcall(f))
  model:train(was ~= false)
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

-- the column `class` of the model's (N, C) output
local function score(fn, model, x, class)
  local z = model(x)
  if not cnn.is_tensor(z) or z:dim() ~= 2 then A.error(("%s: the model returned %s, expected an (N, C) tensor of scores"):format(fn, A.describe(z))) end
  if class > z:size(2) then A.fail(fn, 3, "class", ("a class in 1..%d"):format(z:size(2)), class) end
  return z:select(2, class)
end

-- saliency(model, x [, class = 2]) -> (N, L): the gradient of the class score (logit) with respect
-- to the one-hot input, times the input, summed over the 4 channels and clipped at 0.
-- x: float (N, 4, L) or (4, L), or a list of sequences (strings).
function M.saliency(model, x, class)
  local fn = "cnn.genomics.saliency"
  check_model(fn, model)
  x = motif._onehot(fn, 2, "x", x)
  class = A.int(fn, 3, "class", class, 1, 2)
  return in_eval(model, function()
    local xg = x:detach():clone():requires_grad(true)
    local s = score(fn, model, xg, class):sum()
    local g = cnn.grad(s, { xg })[1]
    return (g * x):sum(2):squeeze(2):clamp(0, nil)
  end)
end

-- mutagenesis(model, x [, class = 2 [, {batch_size =}]]) -> (N, 4, L): at [n, b, l] the class score
-- (logit) of sequence n with base b at position l minus the score of sequence n itself; 0 at the
-- reference base. The mutants (all 4 bases at each position: the reference one is the sequence
-- itself and gives the exact 0) go through the model batch_size at a time (default: as many as
-- fit in 2^20 input values, at least 4), each forward pass holding the mutants of whole sequences
-- or, for long ones, of a block of positions.
function M.mutagenesis(model, x, class, opts)
  local fn = "cnn.genomics.mutagenesis"
  check_model(fn, model)
  x = motif._onehot(fn, 2, "x", x)
  class = A.int(fn, 3, "class", class, 1, 2)
  opts = A.opts(fn, 4, opts, { "batch_size" })
  local N, L = x:size(1), x:size(3)
  local bs = A.int(fn, 4, "batch_size", opts.batch_size, 4, math.max(4, 2 ^ 20 // (4 * L)))
  -- a pass holds `per` sequences x `P` positions x 4 bases
  local per, P = 1, bs // 4
  if 4 * L <= bs then per, P = bs // (4 * L), L end
  P = math.min(P, L)
  return in_eval(model, function()
    return cnn.no_grad(function()
      local dt = x:dtype()
      local E = cnn.eye(4, dt):view(1, 1, 4, 4, 1)                      -- base b -> its one-hot column
      local ref = score(fn, model, x, class):view(N, 1, 1)
      local out = cnn.zeros({ N, 4, L }, dt)
      local eye = cnn.eye(L, dt)
      for n0 = 1, N, per do
        local n = math.min(per, N - n0 + 1)
        local xs = x:narrow(1, n0, n):reshape(n, 1, 1, 4, L)
        for p0 = 1, L, P do
          local p = math.min(P, L - p0 + 1)
          local I = eye:narrow(1, p0, p):reshape(1, p, 1, 1, L):ne(0)     -- true at the mutated position
          local mut = cnn.where(I, E, xs):reshape(n * p * 4, 4, L)       -- (n, p, 4 bases) mutants
          local s = score(fn, model, mut, class):view(n, p, 4):permute(1, 3, 2)
          out:narrow(1, n0, n):narrow(3, p0, p):copy(s - ref:narrow(1, n0, n))
        end
      end
      return out:masked_fill(x:eq(1), 0)
    end)
  end)
end

-- top_window(scores, width) -> int64 (N): the 1-based start of the window of `width` bases with
-- the largest summed score in each row of scores (N, L) (the first such window on ties)
function M.top_window(scores, width)
  local fn = "cnn.genomics.top_window"
  A.tensor(fn, 1, "scores", scores)
  if scores:dim() == 1 then scores = scores:unsqueeze(1) end
  if scores:dim() ~= 2 or scores:numel() == 0 or scores:dtype() == "int64" then A.fail(fn, 1, "scores", "a float tensor (N, L)", scores) end
  width = A.int(fn, 2, "width", width, 1)
  local N, L = scores:size(1), scores:size(2)
  if width > L then A.fail(fn, 2, "width", ("at most the sequences' length %d"):format(L), width) end
  local s = scores:detach():double():view(N, 1, L)
  local sums = cnn.F.conv1d(s, cnn.ones({ 1, 1, width }, "float64")):view(N, L - width + 1)
  return sums:argmax(2):view(N)
end

return M
