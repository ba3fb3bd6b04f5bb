-- The public namespace and its reference: every public name (a key not starting with "_") of the
-- namespaces below is documented in the API reference (docs/api.md and the pages its table
-- links), and every name the reference documents exists. The rule for "documented" is the one
-- docs/api.md states: a qualified name (`cnn.x`, `F.x`, `nn.x`, `t:x`, ...) inside a code span or
-- in a heading. Submodules load lazily, so the names are collected after loading: the real
-- fields, plus every name the lazy loaders (the table upvalues of their __index) know, plus
-- the keys of the tables the files of a lazily loaded directory return.
local cnn = require "cnn"

local DOCS = "docs/"

-- namespace label -> the table, and the qualifiers that name it in the docs (longest first wins)
local NS = {
  { "cnn", function() return cnn end, { "cnn." } },
  { "cnn.F", function() return cnn.F end, { "cnn.F.", "cnn.nn.functional.", "F." } },
  { "cnn.nn", function() return cnn.nn end, { "cnn.nn.", "nn." } },
  { "cnn.nn.init", function() return cnn.nn.init end, { "cnn.nn.init.", "nn.init." } },
  { "cnn.nn.utils", function() return cnn.nn.utils end, { "cnn.nn.utils.", "nn.utils." } },
  { "cnn.optim", function() return cnn.optim end, { "cnn.optim.", "optim." } },
  { "cnn.optim.lr_scheduler", function() return cnn.optim.lr_scheduler end,
    { "cnn.optim.lr_scheduler.", "optim.lr_scheduler.", "lr_scheduler." } },
  { "cnn.data", function() return cnn.data end, { "cnn.data.", "data." } },
  { "cnn.amd.cohort", function() return cnn.amd.cohort end, { "cnn.amd.cohort.", "amd.cohort." } },
  { "cnn.image", function() return cnn.image end, { "cnn.image.", "image." } },
  { "cnn.metrics", function() return cnn.metrics end, { "cnn.metrics.", "metrics." } },
  { "cnn.plot", function() return cnn.plot end, { "cnn.plot.", "plot." } },
  { "cnn.linalg", function() return cnn.linalg end, { "cnn.linalg.", "linalg." } },
  { "cnn.genomics", function() return cnn.genomics end, { "cnn.genomics.", "genomics." } },
  { "cnn.Tensor", function() return cnn.Tensor end, { "cnn.Tensor.", "t:" } },
  { "cnn.http", function() return cnn.http end, { "cnn.http.", "http." } },
  { "cnn.amd", function() return cnn.amd end, { "cnn.amd.", "amd." } },
}
-- cnn.distributed exists only when Open MPI was found at build time (require raises otherwise):
-- checked then; without it, a stand-in whose every name exists keeps cnn.distributed's docs valid
if pcall(require, "cnn.distributed") then
  NS[#NS + 1] = { "cnn.distributed", function() return cnn.distributed end, { "cnn.distributed.", "dist." } }
else
  package.loaded["cnn.distributed"] = setmetatable({}, { __index = function() return true end })
end
-- the directories whose files a lazy namespace loads on demand
local DIRS = { cnn = "lua/cnn", ["cnn.nn"] = "lua/cnn/nn", ["cnn.optim"] = "lua/cnn/optim",
               ["cnn.data"] = "lua/cnn/data" }

-- chains of two parts ending so are file names, not API: `cnn.h`, `metrics.lua`
local FILE_EXT = { h = true, c = true, inc = true, lua = true, md = true, py = true, sh = true,
                   png = true, gz = true, so = true, txt = true, json = true, safetensors = true }

-- where these hold a name, it is one function (cnn.relu, t:relu, F.relu)
local SAME = { cnn = true, ["cnn.Tensor"] = true, ["cnn.F"] = true }

local function public(k) return type(k) == "string" and k:sub(1, 1) ~= "_" end

local function files(dir)
  local out = {}
  local p = assert(io.popen("ls " .. dir))
  for f in p:lines() do
    local stem = f:match("^([%w_]+)%.lua$")
    if stem and stem ~= "init" then out[#out + 1] = stem end
  end
  p:close()
  return out
end

-- every name that may be a field of t: its raw keys, the keys of the tables its lazy __index
-- closes over, the stems of its directory's files and the keys of the tables those return
local function candidates(label, t)
  local set = {}
  local function add_keys(u)
    if type(u) == "table" then for k in pairs(u) do set[k] = true end end
  end
  add_keys(t)
  local mt = getmetatable(t)
  local idx = mt and rawget(mt, "__index")
  add_keys(idx)                                            -- a proxy: __index = another table
  if type(idx) == "function" then
    for i = 1, math.huge do
      local name, v = debug.getupvalue(idx, i)
      if not name then break end
      add_keys(v)
    end
  end
  if DIRS[label] then
    for _, stem in ipairs(files(DIRS[label])) do
      set[stem] = true
      local ok, m = pcall(require, label .. "." .. stem)
      if ok then add_keys(m) end
    end
  end
  return set
end

-- the public names of every namespace: { [label] = { [name] = true } }
local function public_names()
  local names = {}
  for _, ns in ipairs(NS) do
    local label, t = ns[1], ns[2]()
    local set = {}
    for k in pairs(candidates(label, t)) do
      if public(k) and t[k] ~= nil then set[k] = true end
    end
    for k in pairs(t) do if public(k) then set[k] = true end end   -- loaded since
    names[label] = set
  end
  return names
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- the reference pages: docs/api.md and every .md page its table links
local function pages()
  local list, seen = { "api.md" }, { ["api.md"] = true }
  for line in read(DOCS .. "api.md"):gmatch("[^\n]+") do
    if line:match("^|") then
      for page in line:gmatch("%(([%w%-_]+%.md)%)") do
        if not seen[page] then seen[page] = true; list[#list + 1] = page end
      end
    end
  end
  return list
end

-- the documented names: { {label, name, where} }, from code spans and headings outside fences
local function documented()
  local quals = {}
  for _, ns in ipairs(NS) do
    for _, q in ipairs(ns[3]) do quals[#quals + 1] = { q, ns[1] } end
  end
  table.sort(quals, function(a, b) return #a[1] > #b[1] end)
  local out = {}
  local function scan(text, where)
    for chain in (" " .. text):gmatch("[^%w_%./:\\-]([%a_][%w_]*[%.:][%w_%.:]*)") do
      chain = chain:gsub("[%.:]+$", "")
      local ext = chain:match("^[%w_]+%.(%a+)$")        -- a file name: cnn.h, plot.lua, ...
      if FILE_EXT[ext] then chain = "" end
      for _, q in ipairs(quals) do
        if chain:sub(1, #q[1]) == q[1] then
          local name = chain:sub(#q[1] + 1):match("^[%a_][%w_]*")
          if name and public(name) then out[#out + 1] = { q[2], name, where } end
          break
        end
      end
    end
  end
  for _, page in ipairs(pages()) do
    -- the page without its fenced blocks (blank lines instead, so line numbers stay); code spans
    -- may run over a line break, as in Markdown
    local lines, fenced = {}, false
    for line in (read(DOCS .. page) .. "\n"):gmatch("([^\n]*)\n") do
      if line:match("^%s*```") then fenced = not fenced; line = ""
      elseif fenced then line = "" end
      lines[#lines + 1] = line
      if line:match("^#") then scan(line, page .. ":" .. #lines) end
    end
    local text = table.concat(lines, "\n")
    for pos, span in text:gmatch("()`([^`]+)`") do
      local _, n = text:sub(1, pos):gsub("\n", "")
      scan(span, page .. ":" .. (n + 1))
    end
  end
  return out
end

describe("the public namespace", function()
  local names = public_names()
  local docs = documented()
  local doc = {}
  for _, d in ipairs(docs) do
    doc[d[1]] = doc[d[1]] or {}
    doc[d[1]][d[2]] = true
  end
  local function is_doc(label, name) return doc[label] and doc[label][name] end

  it("cnn.F holds the functional ops only, and the internals live in private subtables", function()
    for _, k in ipairs({ "optim_step", "_sgemm_time", "_data", "_util", "_metrics", "Tensor", "zeros", "matmul" }) do
      assert.is_nil(cnn.F[k], "cnn.F." .. k)
    end
    assert.is_function(cnn.F.conv2d)
    assert.are.equal(cnn.F, cnn.nn.functional)
    for _, k in ipairs({ "optim_step", "_sgemm_time", "safetensors_write", "safetensors_tensor",
                         "serialize", "init", "core" }) do
      assert.is_nil(cnn[k], "cnn." .. k)
    end
    assert.is_function(cnn._optim.step)
    assert.is_function(cnn._bench.sgemm_time)
    assert.is_function(cnn._serialize.safetensors_write)
  end)

  it("finds the names (the enumeration is not empty)", function()
    for _, ns in ipairs(NS) do
      assert.is_true(next(names[ns[1]]) ~= nil, ns[1] .. " has no public names")
    end
    -- lazily loaded names are found without having been touched first
    assert.is_true(names["cnn.nn"].BatchNorm2d and names["cnn.optim"].lr_scheduler and names.cnn.metrics and true)
    assert.is_true(#docs > 100)
  end)

  it("documents every public name in the API reference", function()
    local missing = {}
    for _, ns in ipairs(NS) do
      local label = ns[1]
      for name in pairs(names[label]) do
        local ok = is_doc(label, name)
        -- one function, three names (docs/api.md): cnn.x, t:x and F.x document each other; but
        -- an F.x must be documented as such (F holds the functional ops only)
        if not ok and SAME[label] and label ~= "cnn.F" then
          for other in pairs(SAME) do ok = ok or (names[other][name] and is_doc(other, name)) end
        end
        if not ok then missing[#missing + 1] = label .. (label == "cnn.Tensor" and ":" or ".") .. name end
      end
    end
    table.sort(missing)
    assert(#missing == 0, #missing .. " public names are not documented in docs/api*.md:\n  "
      .. table.concat(missing, "\n  "))
  end)

  it("documents only names that exist", function()
    local bad, seen = {}, {}
    for _, d in ipairs(docs) do
      local label, name, where = d[1], d[2], d[3]
      if not names[label][name] and not seen[label .. name] then
        seen[label .. name] = true
        bad[#bad + 1] = ("%s%s%s (%s)"):format(label, label == "cnn.Tensor" and ":" or ".", name, where)
      end
    end
    assert(#bad == 0, #bad .. " documented names do not exist:\n  " .. table.concat(bad, "\n  "))
  end)
end)
