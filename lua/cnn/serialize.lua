-- cnn.save(obj, path) / cnn.load(path): model files in the safetensors format (8-byte little-endian
-- header length, JSON header {name = {dtype, shape, data_offsets}}, raw little-endian data).
-- obj is a tensor, a table of tensors (a state_dict) or a checkpoint table of tensors and plain Lua
-- values; its layout is kept, exactly typed, in __metadata__["cnn.lua"]. Files written elsewhere
-- (no such entry) load as a table name -> tensor. The JSON parser is lua-cjson (Debian package).
-- Raw bytes and the atomic write: csrc/lua_serialize.c. Spec: spec/serialize_spec.lua.
local cnn = require "cnn"

local S = {}

local DTYPES = { F32 = "float32", F64 = "float64" }
local CODES = { float32 = "F32", float64 = "F64" }
local SIZES = { F32 = 4, F64 = 8 }

local function json(fn)
  local ok, cjson = pcall(require, "cjson")
  if not ok then
    error(fn .. ": the JSON library lua-cjson is missing (install the Debian package: apt-get install lua-cjson)", 3)
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
    if seen[v] then error(("%s: argument 1 (obj): the table at '%s' contains itself"):format(fn, path), 3) end
    seen[v] = true
    local keys = {}
    for k in pairs(v) do
      if type(k) ~= "string" and math.type(k) ~= "integer" then
        error(("%s: argument 1 (obj): key of type %s at '%s' (keys must be strings or integers)"):format(fn, type(k), path), 3)
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
  error(("%s: argument 1 (obj): cannot save a %s (at '%s')"):format(fn, ty, path == "" and "top level" or path), 3)
end

function S.save(obj, path)
  local fn = "cnn.save"
  if type(path) ~= "string" then error(fn .. ": argument 2 (path): expected a file name, got " .. type(path), 2) end
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
  local ok, e = pcall(cnn.safetensors_write, path, header, list)
  if not ok then error((tostring(e):gsub("^[^:]*:%d+: ", "")), 2) end   -- at the caller's line
end

-- the layout back into Lua values; bad(msg, ...) raises naming the file, `at` is the path in
-- the layout ("" for the top level, "weights.w")
local function decode(bad, v, tensors, at)
  local where = at == "" and "the top level" or "'" .. at .. "'"
  if type(v) ~= "table" then
    if type(v) == "string" or type(v) == "boolean" then return v end
    bad("the layout in __metadata__ is malformed at %s (a %s)", where, type(v))
  end
  if v.t ~= nil then
    local t = tensors[v.t]
    if not t then bad("the layout names tensor '%s' (at %s), which the file lacks", tostring(v.t), where) end
    return t
  elseif v.i ~= nil then
    local i = type(v.i) == "string" and math.tointeger(tonumber(v.i))
    if not i then bad("the layout in __metadata__ has a bad integer at %s", where) end
    return i
  elseif v.f ~= nil then
    local f = type(v.f) == "string" and tonumber(v.f)
    if not f then bad("the layout in __metadata__ has a bad number at %s", where) end
    return f
  elseif type(v.a) == "table" then
    local out = {}
    for n, kv in ipairs(v.a) do
      if type(kv) ~= "table" then bad("the layout in __metadata__ is malformed at %s (entry %d)", where, n) end
      local k = decode(bad, kv[1], tensors, at)
      if k == nil or k ~= k then bad("the layout in __metadata__ has a nil or NaN key at %s (entry %d)", where, n) end
      out[k] = decode(bad, kv[2], tensors, at == "" and tostring(k) or at .. "." .. tostring(k))
    end
    return out
  end
  bad("the layout in __metadata__ is malformed at %s", where)
end

-- every error below names the file and carries no position: S.load adds the caller's
local function read(fn, path)
  local cj = json(fn)
  local f, err = io.open(path, "rb")
  if not f then error(fn .. ": cannot open " .. err, 0) end
  local bytes = f:read("a")
  f:close()
  local function bad(msg, ...) error(("%s: %s: " .. msg):format(fn, path, ...), 0) end
  if #bytes < 8 then bad("not a safetensors file (%d bytes, shorter than the 8-byte header length)", #bytes) end
  local n = string.unpack("<i8", bytes)
  if bytes:sub(9, 9) ~= "{" then
    bad("not a safetensors file (byte 9 is %q, not the '{' that opens the JSON header)", bytes:sub(9, 9))
  end
  if n <= 0 or n > #bytes - 8 then bad("truncated or corrupt: the header length %d exceeds the %d bytes that follow", n, #bytes - 8) end
  local ok, header = pcall(cj.decode, bytes:sub(9, 8 + n))
  if not ok or type(header) ~= "table" then bad("the header is not a JSON object (%s)", ok and type(header) or header) end
  local data_start, data_len = 8 + n, #bytes - 8 - n
  local tensors, ranges = {}, {}
  for name, e in pairs(header) do
    if name ~= "__metadata__" then
      if type(e) ~= "table" or type(e.shape) ~= "table" or type(e.data_offsets) ~= "table" then
        bad("entry '%s' lacks dtype, shape or data_offsets", name)
      end
      local dt = DTYPES[e.dtype]
      if not dt then bad("tensor '%s' has dtype %s; cnn reads F32 and F64", name, tostring(e.dtype)) end
      local shape, numel = {}, 1
      for i, s in ipairs(e.shape) do
        shape[i] = math.tointeger(s)
        if not shape[i] or shape[i] < 0 then bad("tensor '%s' has a bad shape", name) end
        numel = numel * shape[i]
      end
      local b, x = math.tointeger(e.data_offsets[1]), math.tointeger(e.data_offsets[2])
      if not b or not x or b < 0 or x < b or x > data_len then
        bad("tensor '%s' has data_offsets outside the %d data bytes", name, data_len)
      end
      if x - b ~= numel * SIZES[e.dtype] then
        bad("tensor '%s': data_offsets hold %d bytes but %s [%s] needs %d", name, x - b, dt,
            table.concat(shape, ","), numel * SIZES[e.dtype])
      end
      ranges[#ranges + 1] = { b, x, name }
      local okt, t = pcall(cnn.safetensors_tensor, bytes, data_start + b, x - b, shape, dt)
      if not okt then bad("tensor '%s': %s", name, (tostring(t):gsub("^[^:]*:%d+: ", ""):gsub("^cnn%.load: ", ""))) end
      tensors[name] = t
    end
  end
  table.sort(ranges, function(a, b) return a[1] < b[1] end)
  local pos = 0
  for _, r in ipairs(ranges) do
    if r[1] ~= pos then bad("tensor '%s' starts at byte %d where %d was expected (overlap or gap)", r[3], r[1], pos) end
    pos = r[2]
  end
  if pos ~= data_len then bad("the tensors cover %d of the %d data bytes", pos, data_len) end
  local meta = header.__metadata__
  local layout = type(meta) == "table" and meta["cnn.lua"]
  if not layout then return tensors end
  if type(layout) ~= "string" then bad("__metadata__[\"cnn.lua\"] is a %s, expected a JSON string", type(layout)) end
  local ok2, tree = pcall(cj.decode, layout)
  if not ok2 then bad("the layout in __metadata__ is not valid JSON") end
  return decode(bad, tree, tensors, "")
end

function S.load(path)
  local fn = "cnn.load"
  if type(path) ~= "string" then error(fn .. ": argument 1 (path): expected a file name, got " .. type(path), 2) end
  local ok, r = pcall(read, fn, path)
  if not ok then error((tostring(r):gsub("^[^:]*:%d+: ", "")), 2) end          -- at the caller's line
  return r
end

return S
