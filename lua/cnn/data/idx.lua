-- cnn.data.idx: IDX files (the MNIST format), raw or gzip-compressed; the parser is C
-- (csrc/idx.c). Spec: idx_spec.lua.
local cnn = require "cnn"
local D = cnn._data
local idx = {}

-- load(path [, {dtype="float32", scale=1}]) -> a tensor shaped as the header says, values as
-- stored times scale (scale = 1/255 turns image bytes into [0,1])
function idx.load(path, opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("cnn.data.idx.load: argument 2 (options): expected a table, got " .. type(opts), 2)
  end
  opts = opts or {}
  local ok, t = pcall(D.idx_load, path, opts.dtype, opts.scale)
  if not ok then error((tostring(t):gsub("^[^:]*:%d+: ", "")), 2) end   -- at the caller's line
  return t
end

return idx
