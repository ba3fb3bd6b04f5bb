-- cnn.nn.Module: the base class of every layer and container, as torch.nn.Module. A module keeps
-- its parameters, buffers and children in registration order; assigning a module, or a tensor that
-- requires grad, to a field registers it (self.fc = nn.Linear(3, 4)). Calling a module runs forward.
-- Classes: local Net = nn.Module:extend("Net"); function Net:__init(...) end; function Net:forward(x) end.
-- Spec: spec/module_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local class = require "cnn._class"

local Module = class("nn.Module")

local KINDS = { "params", "buffers", "modules" }
local is_subclass

local function is_module(v) return type(v) == "table" and rawget(v, "_reg") ~= nil end
Module.is_module = is_module

-- field lookup: methods first, then parameters, buffers and children (t[1] is child "1")
local function index(self, k)
  local v = getmetatable(self)[k]
  if v ~= nil then return v end
  local r = rawget(self, "_reg")
  if math.type(k) == "integer" then k = tostring(k) end
  return r.params[k] or r.buffers[k] or r.modules[k]
end

local function register(self, kind, name, v)
  local r = rawget(self, "_reg")
  if r.order[kind][name] == nil then
    local list = r.order[kind]
    list[#list + 1] = name
    list[name] = #list
  end
  r[kind][name] = v
end

local function newindex(self, k, v)
  local r = rawget(self, "_reg")
  local name = math.type(k) == "integer" and tostring(k) or k
  for _, kind in ipairs(KINDS) do
    if r.order[kind][name] then
      if v ~= nil and kind == "modules" and not is_module(v) then
        A.error(("cnn.nn.Module: field '%s' holds a module; cannot assign a %s"):format(name, A.describe(v)))
      end
      r[kind][name] = v
      return
    end
  end
  if is_module(v) then register(self, "modules", name, v)
  elseif cnn.is_tensor(v) and v:requires_grad() then register(self, "params", name, v)
  else rawset(self, k, v) end
end

-- a class made by Module.extend (its chain of parents reaches Module)
function is_subclass(cls)
  local mt = getmetatable(cls)
  while type(mt) == "table" do
    local parent = rawget(mt, "__index")
    if parent == Module then return true end
    if type(parent) ~= "table" then return false end
    mt = getmetatable(parent)
  end
  return false
end

local function new(cls, ...)
  local self = setmetatable({ _reg = { params = {}, buffers = {}, modules = {},
                                       order = { params = {}, buffers = {}, modules = {} } } }, cls)
  rawset(self, "training", true)
  cls.__init(self, ...)
  return self
end

-- a subclass (cnn._class copies the metamethods, which Lua does not inherit through __index)
function Module.extend(parent, name)
  if not (type(parent) == "table" and (parent == Module or is_subclass(parent))) then
    A.error("cnn.nn.Module.extend: self: expected a module class (nn.Module:extend(name)), got " .. A.describe(parent))
  end
  if type(name) ~= "string" then A.fail("cnn.nn.Module.extend", 1, "name", "a class name", name) end
  return class(name, parent)
end

Module.__index, Module.__newindex, Module._new = index, newindex, new

function Module:__init() end

-- ---- forward hooks (PyTorch's register_forward_pre_hook / register_forward_hook) ----
-- Hooks live in the plain fields _forward_pre_hooks and _forward_hooks: lists of {fn = f}, run
-- in registration order on every call of the module (not on a direct m:forward(x)).

local Handle = { __name = "nn.RemovableHandle" }
Handle.__index = Handle
-- handle:remove(): the hook runs no more (removing twice does nothing)
function Handle:remove()
  local list = self._list
  for i = #list, 1, -1 do if list[i] == self._entry then table.remove(list, i) end end
end

local function add_hook(self, field, fn, name)
  A.func(name, 1, "hook", fn)
  local list = rawget(self, field)
  if list == nil then list = {}; rawset(self, field, list) end
  local entry = { fn = fn }
  list[#list + 1] = entry
  return setmetatable({ _list = list, _entry = entry }, Handle)
end

-- fn(module, inputs) runs before forward; inputs is {x1, ..., n = count}. Values it returns
-- replace the inputs (return x, or return a, b); returning nothing keeps them.
function Module:register_forward_pre_hook(fn)
  return add_hook(self, "_forward_pre_hooks", fn, "cnn.nn.Module.register_forward_pre_hook")
end
-- fn(module, inputs, output, ...) runs after forward (... are further outputs, if forward gives
-- several); values it returns replace the output(s), returning nothing keeps them.
function Module:register_forward_hook(fn)
  return add_hook(self, "_forward_hooks", fn, "cnn.nn.Module.register_forward_hook")
end

-- a snapshot: a hook that removes a hook does not change the current call's list
local function snapshot(list) return table.move(list, 1, #list, 1, {}) end

local function call(self, ...)
  local pre, post = rawget(self, "_forward_pre_hooks"), rawget(self, "_forward_hooks")
  if (pre == nil or #pre == 0) and (post == nil or #post == 0) then return self:forward(...) end
  local inputs = table.pack(...)
  if pre then
    for _, h in ipairs(snapshot(pre)) do
      local r = table.pack(h.fn(self, inputs))
      if r.n > 0 and r[1] ~= nil then inputs = r end
    end
  end
  local out = table.pack(self:forward(table.unpack(inputs, 1, inputs.n)))
  if post then
    for _, h in ipairs(snapshot(post)) do
      local r = table.pack(h.fn(self, inputs, table.unpack(out, 1, out.n)))
      if r.n > 0 and r[1] ~= nil then out = r end
    end
  end
  return table.unpack(out, 1, out.n)
end
local profile = require "cnn.profile"
function Module:__call(...)
  if profile.active then return profile.module_call(self, call, ...) end   -- cnn.profile's module times
  return call(self, ...)
end
function Module:forward()
  A.error(("cnn.nn.Module: %s does not define forward"):format(getmetatable(self).__name))
end

-- a child's or a tensor's name: a non-empty string without dots, or an integer (a list index)
local function check_name(fn, name)
  if math.type(name) == "integer" then return tostring(name) end
  if type(name) ~= "string" or name == "" or name:find(".", 1, true) then
    A.fail(fn, 1, "name", "a non-empty string without dots", name)
  end
  return name
end

function Module:register_parameter(name, t)
  local fn = "cnn.nn.Module.register_parameter"
  name = check_name(fn, name)
  if t ~= nil then A.tensor(fn, 2, "tensor", t); A.call(t.requires_grad, t, true) end
  register(self, "params", name, t)
end
function Module:register_buffer(name, t)
  local fn = "cnn.nn.Module.register_buffer"
  name = check_name(fn, name)
  if t ~= nil then A.tensor(fn, 2, "tensor", t) end
  register(self, "buffers", name, t)
end
function Module:add_module(name, m)
  local fn = "cnn.nn.Module.add_module"
  name = check_name(fn, name)
  if m ~= nil and not is_module(m) then A.fail(fn, 2, "module", "a module", m) end
  register(self, "modules", name, m)
  return self
end

-- {name, value} pairs of one kind over the tree, in registration order; shared tensors once
local function collect(m, kind, prefix, out, seen, recurse)
  local r = rawget(m, "_reg")
  for _, n in ipairs(r.order[kind]) do
    local v = r[kind][n]
    if v ~= nil and not seen[v] then seen[v] = true; out[#out + 1] = { prefix .. n, v } end
  end
  if recurse then
    for _, n in ipairs(r.order.modules) do
      local c = r.modules[n]
      if c then collect(c, kind, prefix .. n .. ".", out, seen, true) end
    end
  end
  return out
end

local function iter(list)
  local i = 0
  return function() i = i + 1; local e = list[i]; if e then return e[1], e[2] end end
end
local function values(list)
  local out = {}
  for i, e in ipairs(list) do out[i] = e[2] end
  return out
end

function Module:named_parameters() return iter(collect(self, "params", "", {}, {}, true)) end
function Module:parameters() return values(collect(self, "params", "", {}, {}, true)) end
function Module:named_buffers() return iter(collect(self, "buffers", "", {}, {}, true)) end
function Module:buffers() return values(collect(self, "buffers", "", {}, {}, true)) end
function Module:named_children() return iter(collect(self, "modules", "", {}, {}, false)) end
function Module:children() return values(collect(self, "modules", "", {}, {}, false)) end

local function walk_modules(m, prefix, out)
  out[#out + 1] = { prefix, m }
  for _, e in ipairs(collect(m, "modules", "", {}, {}, false)) do
    walk_modules(e[2], prefix == "" and e[1] or prefix .. "." .. e[1], out)
  end
  return out
end
function Module:named_modules() return iter(walk_modules(self, "", {})) end
function Module:modules() return values(walk_modules(self, "", {})) end

function Module:train(mode)
  mode = A.bool("cnn.nn.Module.train", 1, "mode", mode, true)
  for _, m in ipairs(self:modules()) do rawset(m, "training", mode) end
  return self
end
function Module:eval() return self:train(false) end

-- set_to_none (default true) drops the gradients; false zeroes them in place
function Module:zero_grad(set_to_none)
  set_to_none = A.bool("cnn.nn.Module.zero_grad", 1, "set_to_none", set_to_none, true)
  for _, p in ipairs(self:parameters()) do
    if set_to_none then p.grad = nil else p:zero_grad() end
  end
  return self
end

function Module:apply(fn)
  if type(fn) ~= "function" then A.fail("cnn.nn.Module.apply", 1, "fn", "a function", fn) end
  for _, c in ipairs(self:children()) do c:apply(fn) end
  fn(self)
  return self
end

function Module:num_parameters(only_trainable)
  local n = 0
  for _, p in ipairs(self:parameters()) do
    if not only_trainable or p:requires_grad() then n = n + p:numel() end
  end
  return n
end

function Module:requires_grad_(flag)
  flag = A.bool("cnn.nn.Module.requires_grad_", 1, "requires_grad", flag, true)
  for _, p in ipairs(self:parameters()) do p:requires_grad(flag) end
  return self
end

-- parameters and buffers converted to dtype ("float32" or "float64"), in place of the old ones
function Module:to(dtype)
  if dtype ~= "float32" and dtype ~= "float64" then
    A.fail("cnn.nn.Module.to", 1, "dtype", '"float32" or "float64"', dtype)
  end
  for _, m in ipairs(self:modules()) do
    local r = rawget(m, "_reg")
    for _, kind in ipairs({ "params", "buffers" }) do
      for n, t in pairs(r[kind]) do
        if t:dtype() ~= dtype then
          local c = t:detach():to(dtype)
          if kind == "params" then c:requires_grad(t:requires_grad()) end
          r[kind][n] = c
        end
      end
    end
  end
  return self
end
function Module:float() return self:to("float32") end
function Module:double() return self:to("float64") end

-- name -> tensor (detached views sharing the data) for every parameter and buffer
function Module:state_dict()
  local sd = {}
  for _, kind in ipairs({ "params", "buffers" }) do
    for _, e in ipairs(collect(self, kind, "", {}, {}, true)) do sd[e[1]] = e[2]:detach() end
  end
  return sd
end

local function shape_str(t) return "[" .. table.concat(t:size(), ",") .. "]" end

-- copies sd into the parameters and buffers; shape mismatches always raise, missing and
-- unexpected keys raise in strict mode (the default). Returns {missing_keys=, unexpected_keys=}.
function Module:load_state_dict(sd, opts)
  local fn = "cnn.nn.Module.load_state_dict"
  if type(sd) ~= "table" or cnn.is_tensor(sd) then A.fail(fn, 1, "state_dict", "a table of tensors", sd) end
  opts = A.opts(fn, 2, opts, { strict = true })
  local strict = A.bool(fn, 2, "strict", opts.strict, true)
  local own = {}
  for _, kind in ipairs({ "params", "buffers" }) do
    for _, e in ipairs(collect(self, kind, "", {}, {}, true)) do own[e[1]] = e[2] end
  end
  local missing, unexpected, bad = {}, {}, {}
  for n, t in pairs(own) do
    local v = sd[n]
    if v == nil then missing[#missing + 1] = n
    elseif not cnn.is_tensor(v) then bad[#bad + 1] = ("%s (checkpoint holds a %s)"):format(n, type(v))
    elseif not pcall(v.dtype, v) then bad[#bad + 1] = ("%s (checkpoint holds a closed tensor)"):format(n)
    elseif shape_str(v) ~= shape_str(t) then
      bad[#bad + 1] = ("%s (checkpoint %s, model %s)"):format(n, shape_str(v), shape_str(t))
    end
  end
  for n in pairs(sd) do if own[n] == nil then unexpected[#unexpected + 1] = tostring(n) end end
  table.sort(missing); table.sort(unexpected); table.sort(bad)
  local problems = {}
  if strict and #missing > 0 then problems[#problems + 1] = "missing keys: " .. table.concat(missing, ", ") end
  if strict and #unexpected > 0 then problems[#problems + 1] = "unexpected keys: " .. table.concat(unexpected, ", ") end
  if #bad > 0 then problems[#problems + 1] = "shape mismatches: " .. table.concat(bad, ", ") end
  if #problems > 0 then A.error(fn .. ": " .. table.concat(problems, "; ")) end
  cnn.no_grad(function()
    for n, t in pairs(own) do if sd[n] ~= nil then A.call_as(fn, t.copy_, t, sd[n]) end end
  end)
  return { missing_keys = missing, unexpected_keys = unexpected }
end

-- Torch7-style tree: "nn.Linear(3 -> 4)  weight [4,3]  bias [4]", children indented
function Module:extra_repr() return nil end

function Module:__tostring()
  local extra = self:extra_repr()
  local head = getmetatable(self).__name .. (extra and "(" .. extra .. ")" or "")
  local r = rawget(self, "_reg")
  for _, n in ipairs(r.order.params) do
    local p = r.params[n]
    if p then head = head .. ("  %s %s"):format(n, shape_str(p)) end
  end
  local kids = collect(self, "modules", "", {}, {}, false)
  if #kids == 0 then return head end
  local lines = { head .. " {" }
  for _, e in ipairs(kids) do
    lines[#lines + 1] = "  (" .. e[1] .. "): " .. tostring(e[2]):gsub("\n", "\n  ")
  end
  lines[#lines + 1] = "}"
  return table.concat(lines, "\n")
end

return Module
