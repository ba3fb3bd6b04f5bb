-- cnn: deep learning for Lua 5.4 with a C core.
-- This module is the C core (tensors, ops, autograd) plus the Lua modules beside it
-- (cnn.nn, cnn.optim, cnn.data, ...), each loaded the first time it is used.
local core = require "cnn.core"

local cnn = core
cnn._VERSION = "0.1.0"

-- Submodules load lazily: cnn.nn is require "cnn.nn" on first use. cnn.F is cnn.nn.functional.
local aliases = { F = "nn.functional" }
-- functions that live in a submodule: cnn.save and cnn.load are cnn.serialize's
local functions = { save = "serialize", load = "serialize" }
setmetatable(cnn, {
  __index = function(t, k)
    if type(k) ~= "string" then return nil end
    if functions[k] then
      local f = require("cnn." .. functions[k])[k]
      rawset(t, k, f)
      return f
    end
    local name = "cnn." .. (aliases[k] or k)
    if not package.searchpath(name, package.path) then return nil end
    local m = require(name)
    rawset(t, k, m)
    return m
  end,
})

return cnn
