-- cnn.optim: optimizers (SGD, Adam, AdamW, RMSprop, Adagrad) and cnn.optim.lr_scheduler, as
-- torch.optim. Classes load on first use. Reference: docs/api-nn.md.
local optim = {}

local FILES = { Optimizer = "optimizer", SGD = "sgd", Adam = "adam", AdamW = "adam",
                RMSprop = "rmsprop", Adagrad = "rmsprop" }

setmetatable(optim, {
  __index = function(t, k)
    local v
    if k == "lr_scheduler" then v = require "cnn.optim.lr_scheduler"
    elseif FILES[k] == "optimizer" or FILES[k] == "sgd" then v = require("cnn.optim." .. FILES[k])
    elseif FILES[k] then v = require("cnn.optim." .. FILES[k])[k]
    else return nil end
    rawset(t, k, v)
    return v
  end,
})

return optim
