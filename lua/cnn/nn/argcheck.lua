-- cnn.nn.argcheck: the argument checks shared by the Lua modules (nn, optim, data, image, metrics,
-- plot, models). Each raises "cnn.nn.Linear: argument 1 (in_features): expected a positive
-- integer, got -3" at the USER's call: the position is the first stack frame outside lua/cnn/
-- (docs/api.md, "Errors"), as the C bindings' positions are. Spec: spec/lua_api_fuzz_spec.lua.
local cnn = require "cnn"
local A = {}

-- "@/path/to/lua/cnn/": the library's directory, from this file's own source name
local LIB = debug.getinfo(1, "S").source:match("^(@.*[/\\])nn[/\\]argcheck%.lua$")

-- the level (as error() counts it in `raise`) of the first Lua frame whose source is not in
-- lua/cnn/; C frames (pcall, cnn.no_grad) are skipped; 0 if there is none
local function user_level()
  local level = 3                                    -- 1 user_level, 2 raise, 3 raise's caller
  while true do
    local info = debug.getinfo(level, "S")
    if info == nil then return 0 end
    if info.what ~= "C" and not (LIB and info.source:sub(1, #LIB) == LIB) then return level - 1 end
    level = level + 1
  end
end

-- raises msg at the user's call
local function raise(msg)
  error(msg, user_level())
end

-- A.error(msg): a non-argument error ("cnn.data.Subset: ..."), raised at the user's call
A.error = raise

-- A.call(f, ...): calls a function of the C core (or a closure of the library's own) from a Lua
-- module; a "cnn." error it raises is raised again at the user's call (the C position would be
-- the module's own line). A.call_as(fn, f, ...) also renames the C function in the message to fn,
-- the function the user called, and reports running out of memory (a huge expanded view copied)
-- as fn's error. Never wrap the user's own callbacks: their errors must pass through unchanged.
local function rethrow(fn, ok, ...)
  if ok then return ... end
  local e = ...
  if type(e) == "string" then
    local msg = e:match("^[^\n]-:%d+: (cnn%..*)$") or e
    if fn then
      if msg == "not enough memory" then raise(fn .. ": not enough memory") end
      local rest = msg:match("^cnn%.[%w_.:]+: (.*)$")
      if rest then raise(fn .. ": " .. rest) end
    end
    if msg:match("^cnn%.") then raise(msg) end
  end
  error(e, 0)
end
function A.call(f, ...) return rethrow(nil, pcall(f, ...)) end
function A.call_as(fn, f, ...) return rethrow(fn, pcall(f, ...)) end

-- float32 [2,3] for tensors (as the C bindings), the value for numbers and booleans, %q for strings
local function describe(v)
  if cnn.is_tensor(v) then
    local ok, dt = pcall(v.dtype, v)
    if not ok then return "a closed tensor" end
    return ("%s [%s]"):format(dt, table.concat(v:size(), ","))
  end
  if type(v) == "number" or type(v) == "boolean" then return tostring(v) end
  if type(v) == "string" then return ("%q"):format(#v > 40 and v:sub(1, 40) .. "..." or v) end
  return type(v)
end
A.describe = describe

function A.fail(fn, i, name, what, v)
  raise(("%s: argument %s (%s): expected %s, got %s"):format(fn, i, name, what, describe(v)))
end

-- an integer (a float with an integral value is accepted), >= min when min is given
function A.int(fn, i, name, v, min, default)
  if v == nil and default ~= nil then return default end
  local n = type(v) == "number" and math.tointeger(v) or nil
  if n == nil then A.fail(fn, i, name, min == 1 and "a positive integer" or "an integer", v) end
  if min and n < min then
    A.fail(fn, i, name, min == 1 and "a positive integer" or ("an integer >= %d"):format(min), v)
  end
  return n
end

-- an integer or nil
function A.optint(fn, i, name, v, min)
  if v == nil then return nil end
  return A.int(fn, i, name, v, min)
end

-- a number other than NaN, in [lo, hi] when they are given
function A.num(fn, i, name, v, default, lo, hi)
  if v == nil and default ~= nil then return default end
  if type(v) ~= "number" or v ~= v then A.fail(fn, i, name, "a number", v) end
  if (lo and v < lo) or (hi and v > hi) then
    A.fail(fn, i, name, ("a number in [%s, %s]"):format(lo or "-inf", hi or "inf"), v)
  end
  return v
end

-- a finite number, in [lo, hi] when they are given
function A.finite(fn, i, name, v, default, lo, hi)
  if v == nil and default ~= nil then return default end
  if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge then A.fail(fn, i, name, "a finite number", v) end
  return A.num(fn, i, name, v, nil, lo, hi)
end

function A.bool(fn, i, name, v, default)
  if v == nil then return default end
  if type(v) ~= "boolean" then A.fail(fn, i, name, "a boolean", v) end
  return v
end

function A.str(fn, i, name, v, default)
  if v == nil and default ~= nil then return default end
  if type(v) ~= "string" then A.fail(fn, i, name, "a string", v) end
  return v
end

-- a function or a callable table (a module)
function A.func(fn, i, name, v, optional)
  if v == nil and optional then return nil end
  local mt = type(v) == "table" and getmetatable(v)
  if type(v) ~= "function" and not (type(mt) == "table" and rawget(mt, "__call") ~= nil) then
    A.fail(fn, i, name, "a function", v)
  end
  return v
end

-- a table that is not a tensor
function A.table(fn, i, name, v, what)
  if type(v) ~= "table" then A.fail(fn, i, name, what or "a table", v) end
  return v
end

-- an open tensor
function A.tensor(fn, i, name, v)
  if not cnn.is_tensor(v) then A.fail(fn, i, name, "a tensor", v) end
  if not pcall(v.dtype, v) then raise(("%s: argument %s (%s): the tensor was closed"):format(fn, i, name)) end
  return v
end

-- a tensor or a (flat) table of numbers, as a float64 tensor; `max` bounds a table's length
function A.numbers(fn, i, name, v)
  if cnn.is_tensor(v) then A.tensor(fn, i, name, v); return v end
  if type(v) ~= "table" then A.fail(fn, i, name, "a tensor or a table of numbers", v) end
  local n = rawlen(v)
  for k = 1, n do
    local x = rawget(v, k)
    if type(x) ~= "number" then A.fail(fn, i, name .. "[" .. k .. "]", "a number", x) end
  end
  return A.call(cnn.tensor, table.move(v, 1, n, 1, {}), "float64")
end

-- the options table at argument i (nil gives {}): every key must be in `allowed` (a set, or a
-- list of names); the check is the C bindings' own (cnn._util.check_options)
function A.opts(fn, i, v, allowed)
  local known = {}
  if allowed[1] ~= nil then known = allowed else for n in pairs(allowed) do known[#known + 1] = n end end
  table.sort(known)
  if v ~= nil and (type(v) ~= "table" or cnn.is_tensor(v)) then A.fail(fn, i, "options", "an options table", v) end
  A.call(cnn._util.check_options, fn, i, v, known)
  return v or {}
end

-- an int or a pair {a, b} (kernel sizes, strides, paddings)
function A.pair(fn, i, name, v, default, min)
  if v == nil then v = default end
  if type(v) == "table" and not cnn.is_tensor(v) then
    if rawlen(v) ~= 2 then A.fail(fn, i, name, "an integer or a pair of integers", v) end
    return { A.int(fn, i, name, rawget(v, 1), min), A.int(fn, i, name, rawget(v, 2), min) }
  end
  v = A.int(fn, i, name, v, min)
  return { v, v }
end

return A
