-- cnn: deep learning for Lua 5.4 with a C core.
-- This module is the C core (tensors, ops, autograd) plus the Lua modules beside it
-- (cnn.nn, cnn.optim, cnn.data, ...), each loaded the first time it is used.
local core = require "cnn.core"

local cnn = core
cnn._VERSION = "0.1.0"

-- Submodules load lazily: cnn.nn is require "cnn.nn" on first use. Only the public ones are
-- fields: cnn.serialize, cnn.init, ... stay internal (require them by name). cnn.F is
-- cnn.nn.functional; cnn.save and cnn.load are cnn.serialize's.
local modules = { nn = "cnn.nn", optim = "cnn.optim", data = "cnn.data", image = "cnn.image",
                  metrics = "cnn.metrics", plot = "cnn.plot", models = "cnn.models",
                  progress = "cnn.progress", cli = "cnn.cli", gradcheck = "cnn.gradcheck",
                  F = "cnn.nn.functional", amd = "cnn.amd", genomics = "cnn.genomics",
                  http = "cnn.http", distributed = "cnn.distributed" }
local functions = { save = "cnn.serialize", load = "cnn.serialize", profile = "cnn.profile" }
setmetatable(cnn, {
  __index = function(t, k)
    local v
    if functions[k] then v = require(functions[k])[k]
    elseif modules[k] then v = require(modules[k])
    else return nil end
    rawset(t, k, v)
    return v
  end,
})

-- CNN_PROFILE=1: cnn.profile of the whole script, printed (to stderr) when the state closes
if os.getenv("CNN_PROFILE") == "1" then
  package.loaded.cnn = cnn                       -- cnn.profile requires cnn
  require("cnn.profile")._at_exit()
end

return cnn
