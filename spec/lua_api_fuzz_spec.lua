-- The Lua modules' errors: they point at the user's call (docs/api.md, "Errors"), describe
-- tensors as `float32 [2,3]`, and every public Lua function answers hostile arguments with a
-- "cnn.*" message, never a raw Lua error or a crash (the fuzz driver below).
local cnn = require "cnn"
local nn = require "cnn.nn"
local H = require "spec.helpers"

-- the message of fn's error, and the line of this file where fn's body starts
local function err_of(fn)
  local ok, e = pcall(fn)
  assert(not ok, "expected an error")
  return tostring(e), debug.getinfo(fn, "S").linedefined
end

-- the error raised by a one-line function points at that line of this file
local function at_user_line(fn, text)
  local e, line = err_of(fn)
  local want = ("spec/lua_api_fuzz_spec.lua:%d: %s"):format(line, text)
  assert(e:sub(1, #want) == want, ("expected\n  %s\ngot\n  %s"):format(want, e))
end

describe("Lua module errors", function()
  it("point at the user's call, whatever the depth inside lua/cnn", function()
    at_user_line(function() nn.Linear(1 / 0, 2) end, "cnn.nn.Linear: argument 1 (in_features): expected a positive integer, got inf")
    at_user_line(function() nn.Conv2d(3, 4, 3, { groups = 2 }) end, "cnn.nn.Conv2d: argument 4 (groups)")
    at_user_line(function() nn.Linear(2, 3, { bais = true }) end, "cnn.nn.Linear: argument 3 (options): unknown option 'bais'")
    at_user_line(function() cnn.optim.SGD({}, { lr = 0.1 }) end, "cnn.optim.SGD: argument 1 (params): got an empty parameter list")
    at_user_line(function() cnn.optim.SGD(nn.Linear(2, 2), { nesterov = true }) end, "cnn.optim.SGD: argument 2 (options): nesterov")
    at_user_line(function() nn.Sequential { nn.ReLU() }:load_state_dict({ x = cnn.zeros(1) }) end, "cnn.nn.Module.load_state_dict: unexpected keys: x")
    at_user_line(function() cnn.image.load(3) end, "cnn.image.load: argument 1 (path)")
    at_user_line(function() cnn.image.load("/nonexistent.png") end, "cnn.image.load: ")
    at_user_line(function() cnn.image.crop(cnn.zeros(1, 4, 4), 3, 3, 3, 3) end, "cnn.image.crop: a 3x3 crop at (3,3)")
    at_user_line(function() cnn.metrics.auc_ci({ 0.1, 0.9 }, { 0, 1 }, { level = 2 }) end, "cnn.metrics.auc_ci: option level")
    at_user_line(function() cnn.data.Subset(cnn.data.TensorDataset(cnn.zeros(3)), { 4 }) end, "cnn.data.Subset: argument 2 (indices)")
    at_user_line(function() cnn.plot.lines({ y = { 1 }, x = { 1, 2 } }, "/tmp/x.svg") end, "cnn.plot.lines: series 1")
    at_user_line(function() cnn.cli.parse({ "--nope" }, { { "lr", 1 } }) end, "cnn.cli: unknown option --nope")
    at_user_line(function() cnn.progress.bar(-1) end, "cnn.progress.bar: argument 1 (total)")
    at_user_line(function() cnn.nn.init.xavier_uniform_(cnn.zeros(3)) end, "cnn.nn.init.xavier_uniform_: argument 1 (tensor)")
    at_user_line(function() cnn.models.resnet18 { num_classes = 0 } end, "cnn.models.resnet18: argument 1 (num_classes)")
    at_user_line(function() cnn.gradcheck(3, {}) end, "cnn.gradcheck: argument 1 (fn)")
  end)

  it("point at the user's line when a library function calls back into the user's code", function()
    local line
    local ds = cnn.data.MapDataset(cnn.data.TensorDataset(cnn.zeros(2, 1, 4, 4)), function(s)
      line = debug.getinfo(1, "l").currentline + 1
      local y = cnn.image.resize(s[1], -1)                      -- not a tail call: this frame stays
      return y
    end)
    local e = err_of(function() ds:get(1) end)
    local want = ("spec/lua_api_fuzz_spec.lua:%d: cnn.image.resize: "):format(line)
    assert.are.equal(want, e:sub(1, #want))
  end)

  it("name the function the user called, not the one it calls", function()
    local y = cnn.image.random_rotation(cnn.rand(3, 4, 4), 1e308)          -- the drawn angle stays finite
    assert.is_true(y:sum():item() == y:sum():item())
    H.errors(function() cnn.image.random_rotation(cnn.zeros(3, 4, 4), 0 / 0) end, "cnn.image.random_rotation: argument 2 (degrees): expected a finite number, got")
    H.errors(function() cnn.image.rotate(cnn.zeros(3, 4, 4), 1 / 0) end, "cnn.image.rotate: argument 2 (degrees): expected a finite number, got inf")
    H.errors(function() cnn.image.random_crop(cnn.zeros(3, 4, 4), 5) end, "cnn.image.random_crop: argument 2 (size): 5x5 is larger than the 4x4 image")
    H.errors(function() nn.init.kaiming_uniform_(cnn.zeros(2, 2), { nonlinearity = "nope" }) end,
      "cnn.nn.init.kaiming_uniform_: argument 1 (nonlinearity)")
    H.errors(function() nn.init.xavier_normal_(cnn.zeros(0, 3)) end, "cnn.nn.init.xavier_normal_: argument 1 (tensor): expected a non-empty tensor")
    H.errors(function() nn.init.uniform_(cnn.zeros(2), 0, 0 / 0) end, "cnn.nn.init.uniform_: argument 3 (b)")
    H.errors(function() cnn.image.grid({ cnn.zeros(3, 2, 2), cnn.zeros(3, 2, 2) }, 0) end, "cnn.image.grid: argument 2 (ncol): expected a positive integer, got 0")
    H.errors(function() cnn.image.load("x.png", 3) end, "cnn.image.load: argument 2 (options): expected an options table, got 3")
  end)

  it("describe tensors as dtype and sizes", function()
    H.errors(function() nn.Linear(cnn.zeros(2, 3), 2) end, "expected a positive integer, got float32 [2,3]")
    H.errors(function() nn.Module():to(cnn.zeros(1, 2, "float64")) end, 'expected "float32" or "float64", got float64 [1,2]')
    assert.are.equal("float32 [2,3]", require("cnn.nn.argcheck").describe(cnn.zeros(2, 3)))
  end)
end)

-- ---- the fuzz driver: every public Lua function against hostile arguments ----
-- Each function is called many times with arguments drawn from a pool of hostile values (nil,
-- 0, -1, inf, NaN, 2^63, strings, odd tables, closed, empty and float64 tensors, tables with
-- metamethods) mixed with plausible ones, so that calls get past their first check too. A call
-- may succeed or raise; a raised error must be a "cnn." message placed at the caller (not inside
-- lua/cnn/). A raw Lua error ("attempt to compare nil with number") or a crash fails.
-- CNN_FUZZ_N (default 60) sets the calls per function; CNN_FUZZ_SEED the seed.
local N = tonumber(os.getenv("CNN_FUZZ_N") or "") or 60
local SEED = tonumber(os.getenv("CNN_FUZZ_SEED") or "") or 1

local function closed()
  local t = cnn.rand(2, 3)
  getmetatable(t).__close(t)
  return t
end

local function hostile()
  return {
    "nil", 0, -1, 1 / 0, -1 / 0, 0 / 0, 2 ^ 63, 1e308, -1e308, math.maxinteger, math.mininteger, 1.5, "x", "", true,
    {}, { 1 }, { {} }, { "a", "b" }, { x = 1 }, closed(), cnn.zeros(0), cnn.zeros(0, 3), cnn.zeros(2, 3, "float64"),
    cnn.tensor(3), cnn.zeros(1):expand(2 ^ 40),
    setmetatable({}, { __index = function() return 1 end }),
    setmetatable({}, { __len = function() return 2 ^ 40 end }),
    setmetatable({ 1, 2 }, { __index = function() error("metamethod ran") end }),
    function() end,
  }
end

local function plausible()
  local ds = cnn.data.TensorDataset(cnn.rand(6, 3), cnn.tensor({ 1, 2, 1, 2, 1, 2 }))
  return {
    1, 2, 3, 0.5, 0.1, "float32", "relu", "mean", "train",
    cnn.rand(3, 8, 8), cnn.rand(2, 3), cnn.rand(4), cnn.rand(1, 3, 8, 8), cnn.rand(2, 4, 10),
    cnn.tensor({ 1, 2, 1, 2 }), cnn.tensor({ 0, 1, 0, 1 }), cnn.rand(4, 3, { requires_grad = true }),
    { 0.5, 0.5 }, { 1, 2 }, { 2, 3 }, { 0.1, 0.9, 0.4, 0.6 }, { 0, 1, 0, 1 }, { cnn.rand(3, 8, 8), cnn.rand(3, 8, 8) },
    { pad = 1 }, { stride = 2 }, { reduction = "sum" }, { method = "bootstrap", n_boot = 5 }, { batch_size = 2 },
    { lr = 0.1 }, { num_classes = 2, width = 0.05 }, { fpr = { 0, 1 }, tpr = { 0, 1 } }, { y = { 1, 2 } },
    ds, nn.Linear(3, 2), function(x) return x end,
  }
end

-- a value from the pools ("nil" stands for nil)
local function draw(h, p)
  local v
  if math.random() < 0.5 then v = h[math.random(#h)] else v = p[math.random(#p)] end
  if v == "nil" then return nil end
  return v
end

local problems = {}

-- calls f(args) and records an unacceptable outcome
local TRACE = os.getenv("CNN_FUZZ_TRACE")
local function check(name, f, ...)
  local args = table.pack(...)
  if TRACE then io.stderr:write(name, "\n") end
  local ok, e = pcall(f, ...)
  if ok then return end
  local msg = tostring(e)
  if msg:find("metamethod ran", 1, true) then return end     -- the caller's own metamethod raised: passes through
  local inside = msg:match("^[^\n]-lua/cnn/[^:]*:%d+: ") or msg:match("^%.%.%.[^:]*:%d+: ")
  local cnn_msg = msg:match("^cnn%.") or msg:match("^[^\n]-:%d+: cnn%.")
  if not cnn_msg or inside then
    local key = name .. msg:gsub("%d", ""):sub(1, 80)
    if problems[key] then return end
    problems[key] = true
    local shown = {}
    for i = 1, args.n do shown[i] = require("cnn.nn.argcheck").describe(args[i]) end
    problems[#problems + 1] = ("%s(%s): %s"):format(name, table.concat(shown, ", "), msg:sub(1, 160):gsub("\n", " "))
  end
end

-- every function of a table, called with random arguments (up to nargs of them)
local function fuzz_table(prefix, t, nargs, skip, map)
  local names = {}
  for k, v in pairs(t) do
    if type(v) == "function" and type(k) == "string" and k:sub(1, 1) ~= "_" and not (skip and skip[k]) then names[#names + 1] = k end
  end
  table.sort(names)
  for _, k in ipairs(names) do
    local h, p = hostile(), plausible()
    for _ = 1, N do
      local args = {}
      for i = 1, nargs do args[i] = draw(h, p) end
      if map then map(k, args) end
      check(prefix .. k, t[k], table.unpack(args, 1, nargs))
    end
  end
end

-- class functions that are no methods: constructors and the hooks subclasses define
local HOOKS = { extend = true, new = true, check = true, init_state = true, is_module = true }

-- the methods of an instance made by make(), each called with random arguments
local function fuzz_methods(prefix, make, nargs, skip)
  local obj = make()
  local names, seen = {}, {}
  local mt = getmetatable(obj)
  while type(mt) == "table" do
    for k, v in pairs(mt) do
      if type(v) == "function" and type(k) == "string" and k:sub(1, 1) ~= "_" and not seen[k] and not HOOKS[k] and not (skip and skip[k]) then
        seen[k] = true
        names[#names + 1] = k
      end
    end
    local up = getmetatable(mt)
    mt = up and rawget(up, "__index")
    if type(mt) ~= "table" then break end
  end
  table.sort(names)
  for _, k in ipairs(names) do
    local h, p = hostile(), plausible()
    for _ = 1, math.max(1, N // 4) do
      local o = make()
      local args = {}
      for i = 1, nargs do args[i] = draw(h, p) end
      check(prefix .. ":" .. k, function(...) return o[k](o, ...) end, table.unpack(args, 1, nargs))
    end
  end
end

-- file writers get a path that cannot be written, so the fuzz leaves no files behind
local WRITERS = { ["image.save"] = true, ["plot.roc"] = true, ["plot.lines"] = true, ["plot.heatmap"] = true }
local function no_files(_, args)
  for i, v in ipairs(args) do if type(v) == "string" then args[i] = "/nonexistent-dir/x" end end
end

local NN_CLASSES = {
  "Module", "Sequential", "ModuleList", "ModuleDict", "Concat", "Parallel", "Residual", "Linear", "Identity",
  "Flatten", "Dropout", "Embedding", "Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d",
  "AdaptiveAvgPool2d", "AdaptiveAvgPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool1d", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "ReLU", "LeakyReLU", "RReLU", "PReLU", "ELU", "SELU",
  "Sigmoid", "Tanh", "Hardtanh", "Softsign", "Softplus", "Softmax", "LogSoftmax", "CrossEntropyLoss", "NLLLoss",
  "BCELoss", "BCEWithLogitsLoss", "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "HingeEmbeddingLoss",
  "MultiMarginLoss", "LSTM", "GRU", "LSTMCell", "GRUCell",
}
-- valid constructor arguments, for the methods' instances
local VALID = { Linear = { 3, 2 }, Embedding = { 5, 2 }, Conv1d = { 2, 2, 3 }, Conv2d = { 3, 2, 3 },
  MaxPool1d = { 2 }, MaxPool2d = { 2 }, AvgPool1d = { 2 }, AvgPool2d = { 2 }, AdaptiveAvgPool2d = { 1 }, AdaptiveAvgPool1d = { 2 }, AdaptiveMaxPool2d = { { 2, 1 } }, AdaptiveMaxPool1d = { 2 },
  BatchNorm1d = { 3 }, BatchNorm2d = { 3 }, LayerNorm = { { 2, 3 } }, GroupNorm = { 2, 4 }, Softmax = { 2 }, LogSoftmax = { 2 }, Concat = { 1 }, Parallel = { 1 },
  Residual = {}, LSTM = { 3, 2 }, GRU = { 3, 2 }, LSTMCell = { 3, 2 }, GRUCell = { 3, 2 } }

describe("the Lua API under hostile arguments", function()
  setup(function() math.randomseed(SEED); cnn.manual_seed(SEED) end)

  it("cnn.nn module constructors and methods", function()
    for _, name in ipairs(NN_CLASSES) do
      local cls = nn[name]
      local h, p = hostile(), plausible()
      for _ = 1, N do
        local a = { draw(h, p), draw(h, p), draw(h, p), draw(h, p) }
        check("nn." .. name, cls, table.unpack(a, 1, 4))
      end
      local args = VALID[name] or {}
      local make = function()
        if name == "Residual" then return cls(nn.Identity()) end
        return cls(table.unpack(args))
      end
      fuzz_methods("nn." .. name, make, 3, { to = name ~= "Linear", float = true, double = true })
      local hh, pp = hostile(), plausible()
      for _ = 1, N // 2 do
        local m = make()
        check("nn." .. name .. "()", m, draw(hh, pp), draw(hh, pp))
      end
    end
  end)

  it("cnn.nn.init and cnn.nn.utils", function()
    fuzz_table("nn.init.", nn.init, 3)
    fuzz_table("nn.utils.", nn.utils, 3)
  end)

  it("cnn.optim optimizers and schedulers", function()
    for _, name in ipairs({ "SGD", "Adam", "AdamW", "RMSprop", "Adagrad" }) do
      local cls = cnn.optim[name]
      local h, p = hostile(), plausible()
      for _ = 1, N do check("optim." .. name, cls, draw(h, p), draw(h, p)) end
      fuzz_methods("optim." .. name, function()
        local w = cnn.rand(3, { requires_grad = true })
        w.grad = cnn.rand(3)
        return cls({ w }, { lr = 0.1 })
      end, 2)
    end
    local S = cnn.optim.lr_scheduler
    for _, name in ipairs({ "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau" }) do
      local h, p = hostile(), plausible()
      local opt = function() return cnn.optim.SGD({ cnn.rand(3, { requires_grad = true }) }, { lr = 0.1 }) end
      for _ = 1, N do check("lr_scheduler." .. name, S[name], opt(), draw(h, p), draw(h, p)) end
      for _ = 1, N // 4 do check("lr_scheduler." .. name, S[name], draw(h, p), draw(h, p)) end
      local valid = ({ StepLR = { 2 }, MultiStepLR = { { 2, 4 } }, ExponentialLR = { 0.9 }, CosineAnnealingLR = { 5 } })[name] or {}
      fuzz_methods("lr_scheduler." .. name, function() return S[name](opt(), table.unpack(valid)) end, 2)
    end
  end)

  it("cnn.data functions, datasets and the loader", function()
    fuzz_table("data.", cnn.data, 4, { fashion_mnist = false })
    fuzz_table("data.genotype.", cnn.data.genotype, 2, nil, function(k, args) if k == "write_bed" then no_files(k, args) end end)
    local base = function() return cnn.data.TensorDataset(cnn.rand(6, 3), cnn.tensor({ 1, 2, 1, 2, 1, 2 })) end
    fuzz_methods("data.TensorDataset", base, 2)
    fuzz_methods("data.Subset", function() return cnn.data.Subset(base(), { 1, 3 }) end, 2)
    fuzz_methods("data.ConcatDataset", function() return cnn.data.ConcatDataset({ base(), base() }) end, 2)
    fuzz_methods("data.MapDataset", function() return cnn.data.MapDataset(base(), function(s) return s end) end, 2)
    fuzz_methods("data.DataLoader", function() return cnn.data.DataLoader(base(), { batch_size = 4 }) end, 2)
  end)

  it("cnn.image, cnn.metrics, cnn.plot, cnn.progress, cnn.cli and cnn.gradcheck", function()
    fuzz_table("image.", cnn.image, 4, nil, function(k, args) if k == "save" then no_files(k, args) end end)
    fuzz_table("metrics.", cnn.metrics, 3)
    fuzz_table("plot.", cnn.plot, 3, nil, no_files)
    fuzz_table("progress.", cnn.progress, 2, nil, function(_, args)
      if type(args[2]) == "table" then args[2] = { out = { write = function() end, flush = function() end } } end
    end)
    fuzz_methods("progress.Bar", function()
      return cnn.progress.bar(10, { out = { write = function() end, flush = function() end } })
    end, 2)
    fuzz_table("cli.", cnn.cli, 3, { usage = false })
    local h, p = hostile(), plausible()
    for _ = 1, N do check("gradcheck", cnn.gradcheck, draw(h, p), draw(h, p), draw(h, p)) end
  end)

  it("valid calls with one argument made hostile, position by position", function()
    local img, heat = cnn.rand(3, 8, 8), cnn.rand(1, 8, 8)
    local ds = cnn.data.TensorDataset(cnn.rand(6, 3), cnn.tensor({ 1, 2, 1, 2, 1, 2 }))
    local s, y = { 0.1, 0.8, 0.3, 0.9 }, { 0, 1, 0, 1 }
    local w = function() return cnn.rand(4, 3, { requires_grad = true }) end
    local opt = function()
      local p = cnn.rand(3, { requires_grad = true }); p.grad = cnn.rand(3)
      return cnn.optim.SGD({ p }, { lr = 0.1, momentum = 0.9 })
    end
    local nowhere = "/nonexistent-dir/x"
    local T = {
      { "image.load", cnn.image.load, { nowhere, { channels = 3 } } },
      { "image.save", cnn.image.save, { img, nowhere } },
      { "image.resize", cnn.image.resize, { img, 4 } },
      { "image.crop", cnn.image.crop, { img, 1, 1, 2, 2 } },
      { "image.center_crop", cnn.image.center_crop, { img, { 4, 2 } } },
      { "image.square_crop", cnn.image.square_crop, { img } },
      { "image.hflip", cnn.image.hflip, { img } },
      { "image.rotate", cnn.image.rotate, { img, 10, 0 } },
      { "image.adjust_contrast", cnn.image.adjust_contrast, { img, 1.2 } },
      { "image.normalize", cnn.image.normalize, { img, { 0.5, 0.5, 0.5 }, { 0.2, 0.2, 0.2 } } },
      { "image.overlay", cnn.image.overlay, { img, heat, 0.5 } },
      { "image.random_crop", cnn.image.random_crop, { img, 4 } },
      { "image.random_hflip", cnn.image.random_hflip, { img, 0.5 } },
      { "image.random_rotation", cnn.image.random_rotation, { img, 10, 0 } },
      { "image.color_jitter", cnn.image.color_jitter, { img, { brightness = 0.2, contrast = 0.2, saturation = 0.2 } } },
      { "image.compose", cnn.image.compose, { { cnn.image.hflip } } },
      { "image.grid", cnn.image.grid, { { img, heat }, 2, { pad = 1, value = 0 } } },
      { "metrics.accuracy", cnn.metrics.accuracy, { { 1, 2, 1 }, { 1, 2, 2 } } },
      { "metrics.confusion_matrix", cnn.metrics.confusion_matrix, { { 1, 2, 1 }, { 1, 2, 2 }, 2 } },
      { "metrics.precision_recall_f1", cnn.metrics.precision_recall_f1, { cnn.rand(3, 2), { 1, 2, 2 }, 2 } },
      { "metrics.mse", cnn.metrics.mse, { s, y } },
      { "metrics.pearson", cnn.metrics.pearson, { s, y } },
      { "metrics.spearman", cnn.metrics.spearman, { s, y } },
      { "metrics.roc_curve", cnn.metrics.roc_curve, { s, y } },
      { "metrics.roc_auc", cnn.metrics.roc_auc, { s, y } },
      { "metrics.auc_ci", cnn.metrics.auc_ci, { s, y, { method = "bootstrap", n_boot = 5, seed = 2, groups = { 1, 1, 2, 2 }, level = 0.9 } } },
      { "metrics.youden", cnn.metrics.youden, { s, y } },
      { "metrics.brier", cnn.metrics.brier, { s, y } },
      { "metrics.calibration", cnn.metrics.calibration, { s, y, 5 } },
      { "plot.roc", cnn.plot.roc, { { fpr = { 0, 1 }, tpr = { 0, 1 }, auc = 0.5, ci = { 0.4, 0.6 }, youden = { fpr = 0.5, tpr = 0.5 } }, nowhere, { title = "t" } } },
      { "plot.lines", cnn.plot.lines, { { { y = { 1, 2 }, x = { 1, 2 }, label = "a" } }, nowhere, { title = "t", xlabel = "x", ylabel = "y" } } },
      { "plot.heatmap", cnn.plot.heatmap, { cnn.rand(2, 2), nowhere, { labels = { "a", "b" }, title = "t" } } },
      { "data.TensorDataset", cnn.data.TensorDataset, { cnn.rand(6, 3), cnn.rand(6) } },
      { "data.Subset", cnn.data.Subset, { ds, { 1, 2 } } },
      { "data.ConcatDataset", cnn.data.ConcatDataset, { { ds, ds } } },
      { "data.MapDataset", cnn.data.MapDataset, { ds, function(x) return x end } },
      { "data.collate", cnn.data.collate, { { { 1, cnn.rand(2) }, { 2, cnn.rand(2) } } } },
      { "data.DataLoader", cnn.data.DataLoader, { ds, { batch_size = 2, shuffle = true, seed = 1, drop_last = true } } },
      { "data.random_split", cnn.data.random_split, { ds, { 0.5, 0.5 }, 1 } },
      { "data.group_split", cnn.data.group_split, { ds, { 1, 1, 2, 2, 3, 3 }, { 0.5, 0.5 }, 1 } },
      { "data.kfold", cnn.data.kfold, { 6, 3, { seed = 1, groups = { 1, 1, 2, 2, 3, 3 } } } },
      { "data.ImageFolder", cnn.data.ImageFolder, { nowhere, { channels = 3 } } },
      { "data.CsvImageDataset", cnn.data.CsvImageDataset, { nowhere, { image_col = "a", label_cols = { "b" } } } },
      { "data.genotype.read_raw", cnn.data.genotype.read_raw, { nowhere, { dtype = "float32" } } },
      { "data.genotype.read_bed", cnn.data.genotype.read_bed, { nowhere, { dtype = "float32" } } },
      { "data.genotype.impute_mean", cnn.data.genotype.impute_mean, { cnn.rand(3, 2) } },
      { "nn.init.uniform_", nn.init.uniform_, { w(), -1, 1 } },
      { "nn.init.normal_", nn.init.normal_, { w(), 0, 1 } },
      { "nn.init.constant_", nn.init.constant_, { w(), 2 } },
      { "nn.init.xavier_uniform_", nn.init.xavier_uniform_, { w(), 1 } },
      { "nn.init.kaiming_normal_", nn.init.kaiming_normal_, { w(), { a = 0, mode = "fan_out", nonlinearity = "relu" } } },
      { "nn.init.calculate_gain", nn.init.calculate_gain, { "leaky_relu", 0.2 } },
      { "nn.init.default_", nn.init.default_, { w(), cnn.rand(4, { requires_grad = true }) } },
      { "nn.utils.clip_grad_norm_", nn.utils.clip_grad_norm_, { nn.Linear(2, 2), 1, 2 } },
      { "nn.utils.clip_grad_value_", nn.utils.clip_grad_value_, { nn.Linear(2, 2), 1 } },
      { "nn.GELU", nn.GELU, { "tanh" } },
      { "nn.Linear", nn.Linear, { 3, 2, { bias = false } } },
      { "nn.Conv2d", nn.Conv2d, { 4, 2, { 3, 1 }, { stride = 2, padding = 1, dilation = 1, groups = 2, bias = true } } },
      { "nn.Conv1d", nn.Conv1d, { 4, 2, 3, { stride = 2, padding = 1 } } },
      { "nn.MaxPool2d", nn.MaxPool2d, { { 2, 2 }, { stride = 1, padding = 1, ceil_mode = true } } },
      { "nn.AvgPool1d", nn.AvgPool1d, { 2, { count_include_pad = false } } },
      { "nn.BatchNorm2d", nn.BatchNorm2d, { 3, { eps = 1e-3, momentum = 0.2, affine = false } } },
      { "nn.LayerNorm", nn.LayerNorm, { { 2, 3 }, { eps = 1e-3, elementwise_affine = false } } },
      { "nn.GroupNorm", nn.GroupNorm, { 2, 4, { eps = 1e-3, affine = false } } },
      { "LayerNorm()", nn.LayerNorm(3), { cnn.rand(2, 3) } },
      { "GroupNorm()", nn.GroupNorm(2, 4), { cnn.rand(2, 4, 3) } },
      { "nn.LSTM", nn.LSTM, { 3, 2, { num_layers = 2, bias = true, batch_first = true, dropout = 0.5, bidirectional = true } } },
      { "nn.GRU", nn.GRU, { 3, 2, { num_layers = 2, bias = false, batch_first = false, dropout = 0, bidirectional = true } } },
      { "nn.LSTMCell", nn.LSTMCell, { 3, 2, { bias = false } } },
      { "LSTM()", nn.LSTM(3, 2, { num_layers = 2 }), { cnn.rand(4, 2, 3), { cnn.rand(2, 2, 2), cnn.rand(2, 2, 2) } } },
      { "GRU()", nn.GRU(3, 2, { batch_first = true }), { cnn.rand(2, 4, 3), cnn.rand(1, 2, 2) } },
      { "LSTMCell()", nn.LSTMCell(3, 2), { cnn.rand(2, 3), { cnn.rand(2, 2), cnn.rand(2, 2) } } },
      { "GRUCell()", nn.GRUCell(3, 2), { cnn.rand(3), cnn.rand(2) } },
      { "nn.Embedding", nn.Embedding, { 5, 2 } },
      { "nn.Hardtanh", nn.Hardtanh, { -2, 2 } },
      { "nn.Concat", nn.Concat, { 2, nn.ReLU(), nn.Tanh() } },
      { "nn.Parallel", nn.Parallel, { 1, nn.ReLU(), nn.Tanh() } },
      { "nn.Residual", nn.Residual, { nn.ReLU(), nn.Tanh() } },
      { "nn.CrossEntropyLoss", nn.CrossEntropyLoss, { { reduction = "sum", ignore_index = 1 } } },
      { "Linear()", nn.Linear(3, 2), { cnn.rand(2, 3) } },
      { "Conv2d()", nn.Conv2d(3, 2, 3), { cnn.rand(1, 3, 8, 8) } },
      { "MaxPool1d()", nn.MaxPool1d(2), { cnn.rand(1, 2, 8) } },
      { "Embedding()", nn.Embedding(5, 2), { cnn.tensor({ 1, 2 }) } },
      { "Sequential()", nn.Sequential { nn.Flatten(), nn.Linear(4, 2) }, { cnn.rand(2, 2, 2) } },
      { "CrossEntropyLoss()", nn.CrossEntropyLoss(), { cnn.rand(2, 3), cnn.tensor({ 1, 3 }) } },
      { "Module:load_state_dict", function(...) return nn.Linear(2, 2):load_state_dict(...) end, { nn.Linear(2, 2):state_dict(), { strict = false } } },
      { "Module:to", function(...) return nn.Linear(2, 2):to(...) end, { "float64" } },
      { "Module:register_forward_hook", function(...) return nn.Linear(2, 2):register_forward_hook(...) end, { function() end } },
      { "Module:register_forward_pre_hook", function(...) return nn.Linear(2, 2):register_forward_pre_hook(...) end, { function() end } },
      { "optim.SGD", cnn.optim.SGD, { { cnn.rand(3, { requires_grad = true }) }, { lr = 0.1, momentum = 0.9, nesterov = true } } },
      { "optim.Adam", cnn.optim.Adam, { nn.Linear(2, 2), { lr = 0.1, betas = { 0.8, 0.9 }, amsgrad = true } } },
      { "Optimizer:load_state_dict", function(...) return opt():load_state_dict(...) end, { (function() local o = opt(); o:step(); return o:state_dict() end)() } },
      { "Optimizer:add_param_group", function(...) return opt():add_param_group(...) end, { { params = { cnn.rand(2, { requires_grad = true }) }, lr = 0.5 } } },
      { "lr_scheduler.StepLR", cnn.optim.lr_scheduler.StepLR, { opt(), 2, 0.5 } },
      { "lr_scheduler.MultiStepLR", cnn.optim.lr_scheduler.MultiStepLR, { opt(), { 2, 4 }, 0.5 } },
      { "lr_scheduler.ReduceLROnPlateau", cnn.optim.lr_scheduler.ReduceLROnPlateau, { opt(), { mode = "max", patience = 1 } } },
      { "Scheduler:load_state_dict", function(...) return cnn.optim.lr_scheduler.StepLR(opt(), 2):load_state_dict(...) end, { { last_epoch = 3, base_lrs = { 0.1 } } } },
      { "progress.bar", cnn.progress.bar, { 10, { out = { write = function() end, flush = function() end }, desc = "d", width = 5 } } },
      { "cli.parse", cnn.cli.parse, { { "--lr", "0.5" }, { { "lr", 0.1, "rate" }, { "flag", false } }, { exit = false } } },
      { "gradcheck", cnn.gradcheck, { function(x) return x * 2 end, { cnn.rand(2, { dtype = "float64", requires_grad = true }) }, { eps = 1e-6 } } },
    }
    local h = hostile()
    for _, t in ipairs(T) do
      local name, f, args = t[1], t[2], t[3]
      local n = #args
      for i = 1, n + 1 do
        for _, v in ipairs(h) do
          local a = table.move(args, 1, n, 1, {})
          if v == "nil" then a[i] = nil else a[i] = v end
          if WRITERS[name] then no_files(name, a) end
          check(name, f, table.unpack(a, 1, math.max(n, i)))
        end
      end
      -- and the same inside every table argument (options, curves, state dicts): each field made hostile
      for j = 1, n do
        local tab = args[j]
        if type(tab) == "table" and not cnn.is_tensor(tab) and getmetatable(tab) == nil then
          for k in pairs(tab) do
            for _, v in ipairs(h) do
              local o = {}
              for kk, vv in pairs(tab) do o[kk] = vv end
              if v == "nil" then o[k] = nil else o[k] = v end
              local a = table.move(args, 1, n, 1, {})
              a[j] = o
              check(name .. " field " .. tostring(k), f, table.unpack(a, 1, n))
            end
          end
        end
      end
    end
  end)

  it("sorting and gathering: cnn.sort, argsort, topk, gather, scatter_add(_), cumsum, cumprod, flip, roll, unique, nonzero, searchsorted", function()
    local S = {}
    for _, k in ipairs({ "sort", "argsort", "topk", "gather", "scatter_add_", "scatter_add", "cumsum", "cumprod", "flip",
                         "roll", "unique", "nonzero", "searchsorted" }) do S[k] = cnn[k] end
    fuzz_table("", S, 4)
  end)

  it("cnn.models constructors (hostile options only: a valid table builds a whole model)", function()
    local bad = { 0, "x", { 1 }, closed(), { num_classes = 0 }, { width = 0 / 0 }, { width = 1 / 0 },
                  { in_channels = 2 ^ 63 }, { num_classes = -1 }, { widht = 1 }, { num_classes = "x" },
                  { aux_logits = 3 }, { transform_input = "x" }, { width = 0 } }
    for _, name in ipairs({ "lenet5", "alexnet", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn", "resnet18", "resnet34",
                            "resnet50", "googlenet", "inception_v3", "inception_resnet_v2" }) do
      for _, v in ipairs(bad) do check("models." .. name, cnn.models[name], v) end
    end
  end)

  teardown(function()
    if #problems > 0 then
      local shown = {}
      for i = 1, math.min(#problems, 150) do shown[i] = problems[i] end
      error(("%d calls raised a raw Lua error or an error placed inside lua/cnn:\n  %s"):format(#problems, table.concat(shown, "\n  ")))
    end
  end)
end)
