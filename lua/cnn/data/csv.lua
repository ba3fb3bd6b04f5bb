-- cnn.data.csv: delimited text into columns. Tokenizing, number detection and filling run in C
-- (csrc/csv.c, lua_data.c); a column whose every field is a number or missing (empty, NA, NaN,
-- N/A) becomes a float64 tensor with NaN for missing, any other column a table of strings;
-- dtype = {name = "int64"} makes a column of class labels int64 (checked with tensor ops: no loop
-- over the rows in Lua). Spec: csv_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local D = cnn._data
local csv = {}

local DTYPES = { int64 = true, float32 = true, float64 = true }

-- column `name` (a float64 tensor) as dtype; int64 only when every row holds an integer
local function convert(path, name, col, dtype)
  local fn = "cnn.data.csv.read"
  if not cnn.is_tensor(col) then A.error(("%s: %s: column '%s' holds text, not numbers: it cannot be %s"):format(fn, path, name, dtype)) end
  if dtype ~= "int64" then return col:to(dtype) end
  local bad = col:ne(col):add(col:ne(col:round())):add(col:abs():gt(2 ^ 53))   -- NaN, fraction, inexact
  if bad:numel() > 0 and bad:max():item() > 0 then
    local row = bad:argmax():item()
    local v = col[row]
    local what = v ~= v and "is missing" or ("holds %s, not an integer of at most 2^53"):format(tostring(v))
    A.error(("%s: %s: column '%s', data row %d %s: an int64 column needs an integer in every row"):format(fn, path, name, row, what))
  end
  return col:long()
end

-- read(path [, {header=true, sep=",", numeric=true, dtype={name = "int64", ...}}]) ->
--   { names = {...}, columns = {name -> column}, list = {column, ...}, nrows = n }
-- without a header, columns are named "V1", "V2", ...; sep=" " splits on runs of blanks
function csv.read(path, opts)
  local fn = "cnn.data.csv.read"
  opts = A.opts(fn, 2, opts, { "header", "sep", "numeric", "dtype" })
  if opts.dtype ~= nil then
    A.table(fn, 2, "dtype", opts.dtype, "a table {column name = \"int64\" | \"float32\" | \"float64\"}")
    for k, v in next, opts.dtype do
      if type(k) ~= "string" or not DTYPES[v] then
        A.error(('%s: argument 2 (dtype): expected column name = "int64", "float32" or "float64", got %s = %s'):format(
          fn, A.describe(k), A.describe(v)))
      end
    end
  end
  local names, list, nrows = A.call(D.csv_read, path, { sep = opts.sep, header = opts.header ~= false,
                                                        numeric = opts.numeric ~= false, fn = "data.csv.read" })
  if not names then
    names = {}
    for j = 1, #list do names[j] = "V" .. j end
  end
  local columns = {}
  for j, name in ipairs(names) do
    if columns[name] ~= nil then A.error(("%s: %s: column name '%s' appears twice in the header"):format(fn, path, name)) end
    local dt = opts.dtype and rawget(opts.dtype, name)
    if dt then list[j] = convert(path, name, list[j], dt) end
    columns[name] = list[j]
  end
  for k in next, opts.dtype or {} do
    if columns[k] == nil then A.error(("%s: %s: dtype names column '%s', which is not in the file"):format(fn, path, k)) end
  end
  return { names = names, columns = columns, list = list, nrows = nrows }
end

return csv
