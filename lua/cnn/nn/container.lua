-- Containers: Sequential, ModuleList, ModuleDict, Concat, Parallel, Residual. Children of a list
-- are named "1", "2", ... (1-based), so parameter names read like features.3.weight.
-- Spec: spec/container_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local Module = require "cnn.nn.module"

local C = {}

local function check_module(fn, i, m, name)
  if not Module.is_module(m) then A.fail(fn, i, name or "module", "a module", m) end
  return m
end

-- the modules of a list table (argument 1 of fn), read raw
local function module_list(fn, mods)
  if mods ~= nil and (type(mods) ~= "table" or Module.is_module(mods)) then
    A.fail(fn, 1, "modules", "a table of modules", mods)
  end
  local list = {}
  for i = 1, rawlen(mods or {}) do list[i] = check_module(fn, 1, rawget(mods, i), ("modules[%d]"):format(i)) end
  return list
end

local function arrow(self)
  local s = "[input"
  for i = 1, #self do s = s .. " -> (" .. i .. ")" end
  return s .. " -> output]"
end

-- ModuleList{m1, m2, ...}: holds modules; #list, list[i], list:append(m), ipairs(list:children())
local ModuleList = Module:extend("nn.ModuleList")
function ModuleList:__init(mods)
  for i, m in ipairs(module_list("cnn.nn.ModuleList", mods)) do self:add_module(i, m) end
end
function ModuleList:__len() return #rawget(self, "_reg").order.modules end
function ModuleList:append(m)
  self:add_module(#self + 1, check_module("cnn.nn." .. getmetatable(self).__name:sub(4) .. ".append", 1, m))
  return self
end
ModuleList.add = ModuleList.append
C.ModuleList = ModuleList

-- Sequential{m1, m2, ...}: each module's output feeds the next; also seq:add(m)
local Sequential = ModuleList:extend("nn.Sequential")
function Sequential:__init(mods)
  for i, m in ipairs(module_list("cnn.nn.Sequential", mods)) do self:add_module(i, m) end
end
-- In eval mode without gradients, Conv2d -> BatchNorm2d -> ReLU runs as one fused convolution
-- (nn/conv.lua's _fuse_at says when; the result differs by float rounding only).
local Conv2d
function Sequential:forward(x, ...)
  local n, i = #self, 1
  Conv2d = Conv2d or require("cnn.nn.conv").Conv2d
  while i <= n do
    local m, k = self[i], 0
    if getmetatable(m) == Conv2d and select("#", ...) == 0 and i < n and not cnn.is_grad_enabled() then
      local y
      k, y = require("cnn.nn.conv")._fuse_at(self, i, x)
      if k > 0 then x = y end
    end
    if k == 0 then
      if i == 1 then x = m(x, ...) else x = m(x) end
      k = 1
    end
    i = i + k
  end
  return x
end
function Sequential:__tostring()
  return (Module.__tostring(self):gsub(" {\n", " {\n  " .. arrow(self) .. "\n", 1))
end
C.Sequential = Sequential

-- ModuleDict{name = m, ...}: children by name (sorted names, since Lua tables have no order)
local ModuleDict = Module:extend("nn.ModuleDict")
function ModuleDict:__init(mods)
  if mods ~= nil and (type(mods) ~= "table" or Module.is_module(mods)) then
    A.fail("cnn.nn.ModuleDict", 1, "modules", "a table of modules", mods)
  end
  local names, byname = {}, {}
  for k, m in pairs(mods or {}) do
    if type(k) ~= "string" or k == "" or k:find(".", 1, true) then
      A.fail("cnn.nn.ModuleDict", 1, "modules", "a table of modules under names without dots", mods)
    end
    names[#names + 1], byname[k] = k, check_module("cnn.nn.ModuleDict", 1, m, "modules." .. k)
  end
  table.sort(names)
  for _, k in ipairs(names) do self:add_module(k, byname[k]) end
end
function ModuleDict:__len() return #rawget(self, "_reg").order.modules end
function ModuleDict:keys()
  local out = {}
  for i, n in ipairs(rawget(self, "_reg").order.modules) do out[i] = n end
  return out
end
C.ModuleDict = ModuleDict

-- branches given as a list table or as further arguments
local function branches(self, fn, pos, first, ...)
  local list = table.pack(first, ...)
  if list.n == 1 and first == nil then list.n = 0 end
  if type(first) == "table" and not Module.is_module(first) and not cnn.is_tensor(first) then
    list = { n = rawlen(first) }
    for i = 1, list.n do list[i] = check_module(fn, pos, rawget(first, i), ("modules[%d]"):format(i)) end
  end
  for i = 1, list.n do self:add_module(i, check_module(fn, pos + i - 1, list[i])) end
end

-- Concat(dim, m1, m2, ...): every branch sees the same input; outputs are concatenated along dim
local Concat = Module:extend("nn.Concat")
function Concat:__init(dim, ...)
  self.dim = A.int("cnn.nn.Concat", 1, "dim", dim)
  branches(self, "cnn.nn.Concat", 2, ...)
end
function Concat:forward(x)
  local outs = {}
  for i = 1, #self do outs[i] = self[i](x) end
  return A.call(cnn.cat, outs, self.dim)
end
Concat.__len = ModuleList.__len
Concat.add = ModuleList.append
function Concat:extra_repr() return "dim " .. self.dim end
C.Concat = Concat

-- Parallel(dim, m1, m2, ...): branch i gets input i (par(x1, x2) or par{x1, x2}); outputs are
-- concatenated along dim, or returned as a list when the first argument is a module (no dim)
local Parallel = Module:extend("nn.Parallel")
function Parallel:__init(dim, ...)
  if Module.is_module(dim) or (type(dim) == "table" and not cnn.is_tensor(dim)) then
    branches(self, "cnn.nn.Parallel", 1, dim, ...)
  else
    self.dim = A.int("cnn.nn.Parallel", 1, "dim", dim)
    branches(self, "cnn.nn.Parallel", 2, ...)
  end
end
function Parallel:forward(x, ...)
  local xs = { x, ... }
  if type(x) == "table" and not cnn.is_tensor(x) then xs = x end
  if #xs ~= #self then
    A.error(("cnn.nn.Parallel: expected %d inputs (one per branch), got %d"):format(#self, #xs))
  end
  local outs = {}
  for i = 1, #self do outs[i] = self[i](xs[i]) end
  if self.dim == nil then return outs end
  return A.call(cnn.cat, outs, self.dim)
end
Parallel.__len = ModuleList.__len
Parallel.add = ModuleList.append
function Parallel:extra_repr() return self.dim and "dim " .. self.dim or nil end
C.Parallel = Parallel

-- Residual(block [, shortcut]): block(x) + shortcut(x), the shortcut being identity by default
local Residual = Module:extend("nn.Residual")
function Residual:__init(block, shortcut)
  self.block = check_module("cnn.nn.Residual", 1, block)
  if shortcut ~= nil then self.shortcut = check_module("cnn.nn.Residual", 2, shortcut) end
end
function Residual:forward(x)
  local s = self.shortcut and self.shortcut(x) or x
  return A.call(cnn.add, self.block(x), s)
end
C.Residual = Residual

return C
