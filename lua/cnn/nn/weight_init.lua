-- cnn.nn.init: in-place initialisers (torch.nn.init), drawn from the seeded generator
-- (cnn.manual_seed). Each returns its tensor and works on parameters (it runs without recording).
-- Spec: spec/weight_init_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"

local init = {}

local GAINS = { linear = 1, identity = 1, conv1d = 1, conv2d = 1, conv3d = 1, sigmoid = 1,
                tanh = 5 / 3, relu = math.sqrt(2), selu = 3 / 4 }

-- the recommended gain for a nonlinearity (param: leaky_relu's negative slope, default 0.01)
local function gain(fn, nonlinearity, param)
  if nonlinearity == "leaky_relu" then
    local a = A.num(fn, 2, "param", param, 0.01)
    return math.sqrt(2 / (1 + a * a))
  end
  local g = GAINS[nonlinearity]
  if not g then A.fail(fn, 1, "nonlinearity", "a known nonlinearity (relu, leaky_relu, tanh, ...)", nonlinearity) end
  return g
end
function init.calculate_gain(nonlinearity, param) return gain("cnn.nn.init.calculate_gain", nonlinearity, param) end

-- fan_in = size[2] * receptive field, fan_out = size[1] * receptive field (fn: the caller's name)
local function fans(t, fn)
  A.tensor(fn, 1, "tensor", t)
  if t:dim() < 2 then A.fail(fn, 1, "tensor", "a tensor of at least 2 dimensions (fans need them)", t) end
  if t:numel() == 0 then A.fail(fn, 1, "tensor", "a non-empty tensor (fans of an empty one are 0)", t) end
  local rf = t:numel() // (t:size(1) * t:size(2))
  return t:size(2) * rf, t:size(1) * rf
end
function init.calculate_fan_in_and_fan_out(t) return fans(t, "cnn.nn.init.calculate_fan_in_and_fan_out") end

-- t:method(...) without recording (parameters require grad)
local function fill(t, fn, method, ...)
  A.tensor(fn, 1, "tensor", t)
  local args = { ... }
  A.call_as(fn, cnn.no_grad, function() t[method](t, table.unpack(args)) end)
  return t
end

function init.uniform_(t, a, b)
  local fn = "cnn.nn.init.uniform_"
  a, b = A.num(fn, 2, "a", a, 0), A.num(fn, 3, "b", b, 1)
  return fill(t, fn, "uniform_", a, b)
end
function init.normal_(t, mean, std)
  local fn = "cnn.nn.init.normal_"
  mean, std = A.num(fn, 2, "mean", mean, 0), A.num(fn, 3, "std", std, 1, 0)
  return fill(t, fn, "normal_", mean, std)
end
function init.constant_(t, v)
  return fill(t, "cnn.nn.init.constant_", "fill_", A.num("cnn.nn.init.constant_", 2, "val", v))
end
function init.zeros_(t) return fill(t, "cnn.nn.init.zeros_", "fill_", 0) end
function init.ones_(t) return fill(t, "cnn.nn.init.ones_", "fill_", 1) end

local function xavier_std(fn, t, gain)
  local fi, fo = fans(t, fn)
  return A.num(fn, 2, "gain", gain, 1) * math.sqrt(2 / (fi + fo))
end
function init.xavier_uniform_(t, gain)
  local b = math.sqrt(3) * xavier_std("cnn.nn.init.xavier_uniform_", t, gain)
  return fill(t, "cnn.nn.init.xavier_uniform_", "uniform_", -b, b)
end
function init.xavier_normal_(t, gain)
  return fill(t, "cnn.nn.init.xavier_normal_", "normal_", 0, xavier_std("cnn.nn.init.xavier_normal_", t, gain))
end

-- opts {a = 0, mode = "fan_in" | "fan_out", nonlinearity = "leaky_relu"}
local function kaiming_std(fn, t, opts)
  opts = A.opts(fn, 2, opts, { a = true, mode = true, nonlinearity = true })
  local fi, fo = fans(t, fn)
  local mode = opts.mode or "fan_in"
  if mode ~= "fan_in" and mode ~= "fan_out" then A.fail(fn, 2, "mode", '"fan_in" or "fan_out"', mode) end
  local g = gain(fn, opts.nonlinearity or "leaky_relu", A.num(fn, 2, "a", opts.a, 0))
  return g / math.sqrt(mode == "fan_in" and fi or fo)
end
function init.kaiming_uniform_(t, opts)
  local b = math.sqrt(3) * kaiming_std("cnn.nn.init.kaiming_uniform_", t, opts)
  return fill(t, "cnn.nn.init.kaiming_uniform_", "uniform_", -b, b)
end
function init.kaiming_normal_(t, opts)
  return fill(t, "cnn.nn.init.kaiming_normal_", "normal_", 0, kaiming_std("cnn.nn.init.kaiming_normal_", t, opts))
end

-- PyTorch's default for Linear and Conv: weight ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform_
-- with a = sqrt(5)), bias likewise
function init.default_(w, b)
  init.kaiming_uniform_(w, { a = math.sqrt(5) })
  if b then
    local fi = init.calculate_fan_in_and_fan_out(w)
    local bound = fi > 0 and 1 / math.sqrt(fi) or 0
    init.uniform_(b, -bound, bound)
  end
end

return init
