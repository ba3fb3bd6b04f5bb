-- cnn.data.idx: IDX files (the MNIST format), raw or gzip-compressed; the parser is C
-- (csrc/idx.c). Spec: idx_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local D = cnn._data
local idx = {}

-- load(path [, {dtype="float32", scale=1}]) -> a tensor shaped as the header says, values as
-- stored times scale (scale = 1/255 turns image bytes into [0,1])
function idx.load(path, opts)
  opts = A.opts("cnn.data.idx.load", 2, opts, { "dtype", "scale" })
  return A.call(D.idx_load, path, opts.dtype, opts.scale)
end

return idx
