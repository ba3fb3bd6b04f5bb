-- cnn.save(obj, path) / cnn.load(path): model files in the safetensors format (8-byte little-endian
-- header length, JSON header {name = {dtype, shape, data_offsets}}, raw little-endian data).
-- obj is a tensor, a table of tensors (a state_dict) or a checkpoint table of tensors and plain Lua
-- values; its layout is kept, exactly typed, in __metadata__["cnn.lua"]. Files written elsewhere
-- (no such entry) load as a table name -> tensor. Saving encodes JSON with lua-cjson (Debian
-- package); loading parses and checks everything in C (csrc/safetensors.c, fuzzed), and the
-- atomic write is csrc/atomic_file.c. Spec: spec/serialize_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"

local S = {}

local CODES = { float32 = "F32", float64 = "F64", int64 = "I64" }
local SIZES = { F32 = 4, F64 = 8, I64 = 8 }

local function json(fn)
  local ok, cjson = pcall(require, "cjson")
  if not ok then
    A.error(fn .. ": the JSON library lua-cjson is missing (install the Debian package: apt-get install lua-cjson)")
  end
  return cjson.new()
end

-- the layout of a Lua value: tensors become {t = name}, tables {a = {{key, value}, ...}},
-- integers {i = "17"} and floats {f = "%.17g"}, so that everything comes back with its type
local function encode(fn, v, path, tensors, names, seen)
  local ty = type(v)
  if cnn.is_tensor(v) then
    local name = path == "" and "tensor" or path
    while names[name] or name == "__metadata__" do name = name .. "'" end
    names[name] = true
    tensors[#tensors + 1] = { name, v }
    return { t = name }
  elseif ty == "string" or ty == "boolean" then return v
  elseif math.type(v) == "integer" then return { i = tostring(v) }
  elseif ty == "number" then return { f = ("%.17g"):format(v) }
  elseif ty == "table" then
    if seen[v] then A.error(("%s: argument 1 (obj): the table at '%s' contains itself"):format(fn, path)) end
    seen[v] = true
    local keys = {}
    for k in pairs(v) do
      if type(k) ~= "string" and math.type(k) ~= "integer" then
        A.error(("%s: argument 1 (obj): key of type %s at '%s' (keys must be strings or integers)"):format(fn, type(k), path))
      end
      keys[#keys + 1] = k
    end
    table.sort(keys, function(a, b)
      if type(a) == type(b) then return a < b end
      return type(a) == "number"
    end)
    local pairs_ = {}
    for _, k in ipairs(keys) do
      local sub = path == "" and tostring(k) or path .. "." .. tostring(k)
      pairs_[#pairs_ + 1] = { encode(fn, k, "", {}, {}, seen), encode(fn, v[k], sub, tensors, names, seen) }
    end
    seen[v] = nil
    return { a = pairs_ }
  end
  A.error(("%s: argument 1 (obj): cannot save a %s (at '%s')"):format(fn, ty, path == "" and "top level" or path))
end

function S.save(obj, path)
  local fn = "cnn.save"
  if type(path) ~= "string" then A.fail(fn, 2, "path", "a file name", path) end
  local cj = json(fn)
  local tensors = {}
  local layout = cj.encode(encode(fn, obj, "", tensors, {}, {}))
  local parts, offset, list = {}, 0, {}
  for i, e in ipairs(tensors) do
    local t = e[2]
    local code = CODES[t:dtype()]
    local nb = t:numel() * SIZES[code]
    parts[#parts + 1] = ('%s:{"dtype":"%s","shape":[%s],"data_offsets":[%d,%d]}'):format(
      cj.encode(e[1]), code, table.concat(t:size(), ","), offset, offset + nb)
    offset = offset + nb
    list[i] = t
  end
  parts[#parts + 1] = '"__metadata__":{"cnn.lua":' .. cj.encode(layout) .. "}"
  local header = "{" .. table.concat(parts, ",") .. "}"
  header = header .. (" "):rep((8 - #header % 8) % 8)
  A.call(cnn._serialize.safetensors_write, path, header, list)
end

function S.load(path)
  local fn = "cnn.load"
  if type(path) ~= "string" then A.fail(fn, 1, "path", "a file name", path) end
  return A.call(cnn._serialize.safetensors_load, path)
end

return S
