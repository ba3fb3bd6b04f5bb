-- cnn.nn.argcheck: the argument checks shared by modules, optimizers and the zoo. Each raises
-- "cnn.nn.Linear: argument 1 (in_features): expected a positive integer, got -3".
local cnn = require "cnn"
local A = {}

local function describe(v)
  if cnn.is_tensor(v) then return ("%s tensor [%s]"):format(v:dtype(), table.concat(v:size(), ",")) end
  if type(v) == "number" or type(v) == "boolean" then return tostring(v) end
  if type(v) == "string" then return ("%q"):format(v) end
  return type(v)
end
A.describe = describe

function A.fail(fn, i, name, what, v)
  error(("%s: argument %s (%s): expected %s, got %s"):format(fn, i, name, what, describe(v)), 0)
end

function A.int(fn, i, name, v, min, default)
  if v == nil and default ~= nil then return default end
  if math.type(v) ~= "integer" and not (type(v) == "number" and v == math.floor(v) and v == v) then
    A.fail(fn, i, name, min == 1 and "a positive integer" or "an integer", v)
  end
  v = math.tointeger(v)
  if min and v < min then
    A.fail(fn, i, name, min == 1 and "a positive integer" or ("an integer >= %d"):format(min), v)
  end
  return v
end

function A.num(fn, i, name, v, default, lo, hi)
  if v == nil and default ~= nil then return default end
  if type(v) ~= "number" or v ~= v then A.fail(fn, i, name, "a number", v) end
  if (lo and v < lo) or (hi and v > hi) then
    A.fail(fn, i, name, ("a number in [%s, %s]"):format(lo or "-inf", hi or "inf"), v)
  end
  return v
end

function A.bool(fn, i, name, v, default)
  if v == nil then return default end
  if type(v) ~= "boolean" then A.fail(fn, i, name, "a boolean", v) end
  return v
end

function A.tensor(fn, i, name, v)
  if not cnn.is_tensor(v) then A.fail(fn, i, name, "a tensor", v) end
  return v
end

-- the options table at argument i (nil gives {}): every key must be in `allowed` (a set, or a
-- list of names); the check is the C bindings' own (cnn._util.check_options)
function A.opts(fn, i, v, allowed)
  local known = {}
  if allowed[1] ~= nil then known = allowed else for n in pairs(allowed) do known[#known + 1] = n end end
  table.sort(known)
  if cnn.is_tensor(v) then A.fail(fn, i, "options", "an options table", v) end
  cnn._util.check_options(fn, i, v, known)
  return v or {}
end

-- an int or a pair {a, b} (kernel sizes, strides, paddings)
function A.pair(fn, i, name, v, default, min)
  if v == nil then v = default end
  if type(v) == "table" and not cnn.is_tensor(v) then
    if #v ~= 2 then A.fail(fn, i, name, "an integer or a pair of integers", v) end
    return { A.int(fn, i, name, v[1], min), A.int(fn, i, name, v[2], min) }
  end
  v = A.int(fn, i, name, v, min)
  return { v, v }
end

return A
