-- cnn._class: the one class idiom of the Lua modules (nn.Module and its layers, the optimizers, the
-- schedulers, the datasets, progress bars). class(name [, parent]) returns a class: the metatable
-- of its instances, whose methods are looked up in the class, then in its parent. Lua does not
-- inherit metamethods through __index, so the parent's are copied (a parent's __index function,
-- such as nn.Module's, too). Calling a class calls its _new(cls, ...), inherited like any method,
-- so Net(...) constructs. Private (the underscore): the public idioms are nn.Module:extend and
-- cnn.optim.Optimizer.extend. Spec: spec/module_spec.lua.
local A = require "cnn.nn.argcheck"

local METAMETHODS = { "__index", "__newindex", "__call", "__tostring", "__len", "__close", "__eq" }

local function construct(cls, ...)
  local new = cls._new
  if type(new) ~= "function" then A.error(("cnn.%s: this class cannot be called"):format(tostring(rawget(cls, "__name")))) end
  return new(cls, ...)
end

return function(name, parent)
  local cls = { __name = name }
  if parent then
    for _, k in ipairs(METAMETHODS) do
      local v = rawget(parent, k)
      if v ~= nil and not (k == "__index" and v == parent) then cls[k] = v end
    end
  end
  if cls.__index == nil then cls.__index = cls end
  return setmetatable(cls, { __index = parent, __call = construct })
end
