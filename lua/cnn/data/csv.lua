-- cnn.data.csv: delimited text into columns. Tokenizing, number detection and filling run in C
-- (csrc/csv.c, lua_data.c); a column whose every field is a number or missing (empty, NA, NaN,
-- N/A) becomes a float64 tensor with NaN for missing, any other column a table of strings.
-- Spec: csv_spec.lua.
local cnn = require "cnn"
local D = cnn._data
local csv = {}

-- read(path [, {header=true, sep=",", numeric=true}]) ->
--   { names = {...}, columns = {name -> column}, list = {column, ...}, nrows = n }
-- without a header, columns are named "V1", "V2", ...; sep=" " splits on runs of blanks
function csv.read(path, opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("cnn.data.csv.read: argument 2 (options): expected a table, got " .. type(opts), 2)
  end
  opts = opts or {}
  local ok, names, list, nrows = pcall(D.csv_read, path, { sep = opts.sep, header = opts.header ~= false,
                                                           numeric = opts.numeric ~= false, fn = "data.csv.read" })
  if not ok then error((tostring(names):gsub("^[^:]*:%d+: ", "")), 2) end   -- at the caller's line
  if not names then
    names = {}
    for j = 1, #list do names[j] = "V" .. j end
  end
  local columns = {}
  for j, name in ipairs(names) do
    if columns[name] ~= nil then error(("cnn.data.csv.read: %s: column name '%s' appears twice in the header"):format(path, name), 2) end
    columns[name] = list[j]
  end
  return { names = names, columns = columns, list = list, nrows = nrows }
end

return csv
