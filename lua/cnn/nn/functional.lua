-- cnn.nn.functional (also cnn.F): the differentiable operations, PyTorch's torch.nn.functional
-- under Lua conventions. Every op lives in the C core; this table only names them, so an op
-- registered by any binding file is F.<name> at once.
local core = require "cnn.core"

local F = setmetatable({}, { __index = core })

return F
