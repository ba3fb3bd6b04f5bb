-- cnn.data.csv: delimited text into columns. Tokenizing, number detection and filling run in C
-- (csrc/csv.c, lua_data.c); a column whose every field is a number or missing (empty, NA, NaN,
-- N/A) becomes a float64 tensor with NaN for missing, any other column a table of strings.
-- Spec: csv_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local D = cnn._data
local csv = {}

-- read(path [, {header=true, sep=",", numeric=true}]) ->
--   { names = {...}, columns = {name -> column}, list = {column, ...}, nrows = n }
-- without a header, columns are named "V1", "V2", ...; sep=" " splits on runs of blanks
function csv.read(path, opts)
  opts = A.opts("cnn.data.csv.read", 2, opts, { "header", "sep", "numeric" })
  local names, list, nrows = A.call(D.csv_read, path, { sep = opts.sep, header = opts.header ~= false,
                                                        numeric = opts.numeric ~= false, fn = "data.csv.read" })
  if not names then
    names = {}
    for j = 1, #list do names[j] = "V" .. j end
  end
  local columns = {}
  for j, name in ipairs(names) do
    if columns[name] ~= nil then A.error(("cnn.data.csv.read: %s: column name '%s' appears twice in the header"):format(path, name)) end
    columns[name] = list[j]
  end
  return { names = names, columns = columns, list = list, nrows = nrows }
end

return csv
