-- cnn.data: datasets, the DataLoader, splits, and (loaded on first use) the readers cnn.data.idx,
-- csv, genotype and sequence. A dataset is anything with #ds (or ds:len()) and ds:get(i) -> a
-- sample table; datasets that can also gather a whole batch in C (ds:get_batch(indices), with
-- indices a 1-based float64 tensor) let the loader skip per-sample Lua work. Spec: data_spec.lua.
local cnn = require "cnn"
local D = cnn._data
local data = {}

local function len(ds)
  if type(ds) == "table" and ds.len then return ds:len() end
  return #ds
end
data.len = len

local function class(name)
  local c = { __name = name }
  c.__index = c
  c.__len = function(self) return self:len() end
  return c
end

-- 1-based index tensor (float64) from a table or a tensor
local function as_index(idx, fn)
  if cnn.is_tensor(idx) then return idx:double() end
  if type(idx) ~= "table" then error(("cnn.data.%s: expected indices as a table or a tensor, got %s"):format(fn, type(idx)), 3) end
  if #idx == 0 then return cnn.zeros({0}, "float64") end
  return cnn.tensor(idx, "float64")
end

-- ---- TensorDataset(t1, t2, ...): sample i is {t1[i], t2[i], ...}; 1-D tensors give numbers ----
local TensorDataset = class("cnn.data.TensorDataset")
function data.TensorDataset(...)
  local ts = { ... }
  if #ts == 0 then error("cnn.data.TensorDataset: expected at least one tensor", 2) end
  for i, t in ipairs(ts) do
    if not cnn.is_tensor(t) or t:dim() == 0 then error(("cnn.data.TensorDataset: argument %d: expected a tensor with a first dimension"):format(i), 2) end
    if t:size(1) ~= ts[1]:size(1) then
      error(("cnn.data.TensorDataset: argument %d has %d rows, expected %d like argument 1"):format(i, t:size(1), ts[1]:size(1)), 2)
    end
  end
  return setmetatable({ tensors = ts }, TensorDataset)
end
function TensorDataset:len() return self.tensors[1]:size(1) end
function TensorDataset:get(i)
  local s = {}
  for k, t in ipairs(self.tensors) do s[k] = t[i] end      -- a view, or a number for 1-D
  return s
end
function TensorDataset:get_batch(idx)
  local b = {}
  for k, t in ipairs(self.tensors) do b[k] = D.gather(t, idx) end     -- one memcpy per row, in C
  return b
end

-- ---- Subset(ds, indices) ----
local Subset = class("cnn.data.Subset")
function data.Subset(ds, indices)
  local idx = as_index(indices, "Subset")
  local n = len(ds)
  if idx:numel() > 0 and (idx:min():item() < 1 or idx:max():item() > n) then
    error(("cnn.data.Subset: argument 2 (indices): expected indices in 1..%d, got %g..%g"):format(n, idx:min():item(), idx:max():item()), 2)
  end
  return setmetatable({ dataset = ds, indices = idx }, Subset)
end
function Subset:len() return self.indices:numel() end
function Subset:get(i) return self.dataset:get(math.tointeger(self.indices[i])) end
function Subset:get_batch(idx)
  if not self.dataset.get_batch then return nil end
  return self.dataset:get_batch(self.indices:index_select(1, idx))
end

-- ---- ConcatDataset{ds1, ds2, ...} ----
local ConcatDataset = class("cnn.data.ConcatDataset")
function data.ConcatDataset(list)
  local ends, total = {}, 0
  for i, ds in ipairs(list) do total = total + len(ds); ends[i] = total end
  return setmetatable({ datasets = list, ends = ends }, ConcatDataset)
end
function ConcatDataset:len() return self.ends[#self.ends] or 0 end
function ConcatDataset:get(i)
  local lo, hi = 1, #self.ends
  while lo < hi do                     -- first dataset whose end reaches i
    local mid = (lo + hi) // 2
    if self.ends[mid] >= i then hi = mid else lo = mid + 1 end
  end
  return self.datasets[lo]:get(i - (self.ends[lo - 1] or 0))
end

-- ---- MapDataset(ds, fn): sample i is fn(ds:get(i)) ----
local MapDataset = class("cnn.data.MapDataset")
function data.MapDataset(ds, fn) return setmetatable({ dataset = ds, fn = fn }, MapDataset) end
function MapDataset:len() return len(self.dataset) end
function MapDataset:get(i) return self.fn(self.dataset:get(i)) end

-- ---- ImageFolder(root, {transform=, channels=}): root/<class>/<image>.png, classes sorted ----
local ImageFolder = class("cnn.data.ImageFolder")
function data.ImageFolder(root, opts)
  opts = opts or {}
  local names, kinds = D.listdir(root, "data.ImageFolder")
  table.sort(names)
  local classes, paths, targets = {}, {}, {}
  for _, cname in ipairs(names) do
    if kinds[cname] == "dir" then
      classes[#classes + 1] = cname
      local files, fk = D.listdir(root .. "/" .. cname, "data.ImageFolder")
      table.sort(files)
      for _, f in ipairs(files) do
        if fk[f] == "file" and f:lower():match("%.png$") then
          paths[#paths + 1] = root .. "/" .. cname .. "/" .. f
          targets[#targets + 1] = #classes
        end
      end
    end
  end
  if #paths == 0 then error(("cnn.data.ImageFolder: %s: no .png files in class sub-folders"):format(root), 2) end
  return setmetatable({ root = root, classes = classes, paths = paths, targets = targets,
                        transform = opts.transform, channels = opts.channels }, ImageFolder)
end
function ImageFolder:len() return #self.paths end
function ImageFolder:get(i)
  local img = D.png_load(self.paths[i], self.channels)
  if self.transform then img = self.transform(img) end
  return { img, self.targets[i] }
end

-- ---- CsvImageDataset(csv, {image_col=, label_cols=, root=, transform=, channels=}) ----
-- sample i: {image, labels} with labels a tensor of the label columns (NaN where missing)
local CsvImageDataset = class("cnn.data.CsvImageDataset")
function data.CsvImageDataset(csv, opts)
  opts = opts or {}
  local t = data.csv.read(csv, { sep = opts.sep })
  local col = opts.image_col or t.names[1]
  local paths = t.columns[col]
  if paths == nil then error(("cnn.data.CsvImageDataset: %s: no column '%s'"):format(csv, tostring(col)), 2) end
  if cnn.is_tensor(paths) then error(("cnn.data.CsvImageDataset: %s: column '%s' holds numbers, expected image paths"):format(csv, col), 2) end
  local labels
  if opts.label_cols and #opts.label_cols > 0 then
    local cols = {}
    for i, name in ipairs(opts.label_cols) do
      local c = t.columns[name]
      if c == nil then error(("cnn.data.CsvImageDataset: %s: no label column '%s'"):format(csv, name), 2) end
      if not cnn.is_tensor(c) then error(("cnn.data.CsvImageDataset: %s: label column '%s' is not numeric"):format(csv, name), 2) end
      cols[i] = c:float()
    end
    labels = cnn.stack(cols, 2)
  end
  local root = opts.root and (opts.root .. "/") or ""
  return setmetatable({ paths = paths, labels = labels, root = root, transform = opts.transform,
                        channels = opts.channels, table = t }, CsvImageDataset)
end
function CsvImageDataset:len() return #self.paths end
function CsvImageDataset:get(i)
  local img = D.png_load(self.root .. self.paths[i], self.channels)
  if self.transform then img = self.transform(img) end
  return { img, self.labels and self.labels[i] }
end

-- ---- collate: a list of samples -> a batch with the same keys ----
-- tensors are stacked (cnn.stack), numbers become a float32 tensor (NaN stays NaN), anything
-- else is kept as a list
function data.collate(samples)
  local first = samples[1]
  if cnn.is_tensor(first) then return cnn.stack(samples, 1) end
  if type(first) == "number" then return cnn.tensor(samples) end
  if type(first) ~= "table" then return samples end
  local batch, col = {}, {}
  for k in pairs(first) do
    for i, s in ipairs(samples) do
      local v = s[k]
      if v == nil then error(("cnn.data.collate: sample %d has no field '%s' (sample 1 has)"):format(i, tostring(k)), 2) end
      col[i] = v
    end
    batch[k] = data.collate(col)
    col = {}
  end
  return batch
end

-- ---- DataLoader(ds, {batch_size=1, shuffle=false, drop_last=false, seed=, collate=}) ----
local DataLoader = class("cnn.data.DataLoader")
function data.DataLoader(ds, opts)
  opts = opts or {}
  local bs = opts.batch_size or 1
  if math.type(bs) ~= "integer" or bs < 1 then error(("cnn.data.DataLoader: batch_size: expected an integer >= 1, got %s"):format(tostring(bs)), 2) end
  if type(ds) ~= "table" or type(ds.get) ~= "function" then error("cnn.data.DataLoader: argument 1 (dataset): expected a table with get(i) and a length", 2) end
  return setmetatable({ dataset = ds, batch_size = bs, shuffle = opts.shuffle or false,
                        drop_last = opts.drop_last or false, seed = opts.seed, collate = opts.collate,
                        epoch = 0 }, DataLoader)
end

function DataLoader:len()
  local n = len(self.dataset)
  return self.drop_last and n // self.batch_size or (n + self.batch_size - 1) // self.batch_size
end

-- the order of one pass: with a seed, epoch e uses seed + e - 1 (the same for every run); without
-- one, the context generator (cnn.manual_seed)
function DataLoader:order()
  local n = len(self.dataset)
  self.epoch = self.epoch + 1
  if not self.shuffle then return cnn.arange(1, n + 1, "float64") end
  if self.seed then return cnn.randperm(n, self.seed + self.epoch - 1) end
  return cnn.randperm(n)
end

-- set_epoch(e): the next pass is epoch e (its shuffled order is the one of seed + e - 1), so a
-- resumed run sees the batches an uninterrupted one would have seen
function DataLoader:set_epoch(e)
  if math.type(e) ~= "integer" or e < 1 then
    error(("cnn.data.DataLoader.set_epoch: argument 1 (epoch): expected an integer >= 1, got %s"):format(tostring(e)), 2)
  end
  self.epoch = e - 1
end

-- for batch in loader:iter() do ... end
function DataLoader:iter()
  local ds, bs, n = self.dataset, self.batch_size, len(self.dataset)
  local order = self:order()
  local nb, b = self:len(), 0
  local fast = ds.get_batch and not self.collate
  local collate = self.collate or data.collate
  return function()
    b = b + 1
    if b > nb then return nil end
    local s = (b - 1) * bs + 1
    local m = math.min(bs, n - s + 1)
    local idx = order:narrow(1, s, m)
    if fast then
      local batch = ds:get_batch(idx)
      if batch then return batch end
      fast = false
    end
    local samples = {}
    for k = 1, m do samples[k] = ds:get(math.tointeger(idx[k])) end
    return collate(samples)
  end
end

-- ---- splits ----

-- part sizes from fractions (summing to 1) or counts (summing to n); the remainder of the
-- rounding goes to the first parts, one each
local function part_sizes(n, fractions, fn)
  local sizes, total, sum = {}, 0, 0
  for _, f in ipairs(fractions) do sum = sum + f end
  if math.abs(sum - 1) < 1e-9 then
    for i, f in ipairs(fractions) do sizes[i] = math.floor(f * n); total = total + sizes[i] end
    local i = 1
    while total < n do sizes[i] = sizes[i] + 1; total = total + 1; i = i % #sizes + 1 end
  elseif sum == n then
    for i, f in ipairs(fractions) do sizes[i] = math.tointeger(f) end
  else
    error(("cnn.data.%s: argument 2 (fractions): expected fractions summing to 1 or counts summing to %d, got a sum of %g"):format(fn, n, sum), 3)
  end
  return sizes
end

-- random_split(ds, {0.8, 0.2}, seed) -> Subsets
function data.random_split(ds, fractions, seed)
  local n = len(ds)
  local sizes = part_sizes(n, fractions, "random_split")
  local perm = seed and cnn.randperm(n, seed) or cnn.randperm(n)
  local parts, start = {}, 1
  for i, s in ipairs(sizes) do
    parts[i] = data.Subset(ds, perm:narrow(1, start, s))
    start = start + s
  end
  return table.unpack(parts)
end

-- distinct group keys in order of first appearance, and each group's sample indices
local function groups_of(groups, n, fn)
  if cnn.is_tensor(groups) then groups = groups:totable() end
  if type(groups) ~= "table" or #groups ~= n then
    error(("cnn.data.%s: groups: expected one group key per sample (%d), got %s"):format(fn, n,
      type(groups) == "table" and #groups or type(groups)), 3)
  end
  local keys, members = {}, {}
  for i = 1, n do
    local g = groups[i]
    if members[g] == nil then keys[#keys + 1] = g; members[g] = {} end
    local m = members[g]
    m[#m + 1] = i
  end
  return keys, members
end

-- group_split(ds, groups, fractions, seed): every sample of one group lands in one part. Groups
-- are shuffled, then each goes to the part whose cumulative target its midpoint falls under.
function data.group_split(ds, groups, fractions, seed)
  local n = type(ds) == "number" and ds or len(ds)
  local sizes = part_sizes(n, fractions, "group_split")
  local keys, members = groups_of(groups, n, "group_split")
  local perm = seed and cnn.randperm(#keys, seed) or cnn.randperm(#keys)
  local bounds, acc = {}, 0
  for i, s in ipairs(sizes) do acc = acc + s; bounds[i] = acc end
  local parts = {}
  for i = 1, #sizes do parts[i] = {} end
  local done, p = 0, 1
  for k = 1, #keys do
    local m = members[keys[math.tointeger(perm[k])]]
    while p < #sizes and done + #m / 2 > bounds[p] do p = p + 1 end
    local part = parts[p]
    for _, i in ipairs(m) do part[#part + 1] = i end
    done = done + #m
  end
  local out = {}
  for i, part in ipairs(parts) do
    table.sort(part)
    out[i] = type(ds) == "number" and as_index(part, "group_split") or data.Subset(ds, part)
  end
  return table.unpack(out)
end

-- kfold(n, k, {groups=, seed=}) -> list of {train = indices, test = indices} (float64 tensors);
-- with groups, whole groups go to the fold with the fewest samples so far
function data.kfold(n, k, opts)
  opts = opts or {}
  if math.type(k) ~= "integer" or k < 2 or k > n then error(("cnn.data.kfold: argument 2 (k): expected an integer in 2..%d, got %s"):format(n, tostring(k)), 2) end
  local fold_of = {}
  if opts.groups then
    local keys, members = groups_of(opts.groups, n, "kfold")
    local perm = opts.seed and cnn.randperm(#keys, opts.seed) or cnn.randperm(#keys)
    local count = {}
    for f = 1, k do count[f] = 0 end
    for j = 1, #keys do
      local m = members[keys[math.tointeger(perm[j])]]
      local best = 1
      for f = 2, k do if count[f] < count[best] then best = f end end
      for _, i in ipairs(m) do fold_of[i] = best end
      count[best] = count[best] + #m
    end
  else
    local perm = opts.seed and cnn.randperm(n, opts.seed) or cnn.randperm(n)
    for j = 1, n do fold_of[math.tointeger(perm[j])] = (j - 1) % k + 1 end
  end
  local folds = {}
  for f = 1, k do
    local tr, te = {}, {}
    for i = 1, n do
      if fold_of[i] == f then te[#te + 1] = i else tr[#tr + 1] = i end
    end
    folds[f] = { train = as_index(tr, "kfold"), test = as_index(te, "kfold") }
  end
  return folds
end

-- ---- Fashion-MNIST from Debian's dataset-fashion-mnist ----
data.fashion_mnist_dir = "/usr/share/datasets/fashion-mnist"

-- fashion_mnist("train"|"test") -> TensorDataset of images (N,1,28,28) in [0,1] and labels 1..10
function data.fashion_mnist(split, opts)
  opts = opts or {}
  local prefix = ({ train = "train", test = "t10k" })[split or "train"]
  if not prefix then error(("cnn.data.fashion_mnist: argument 1 (split): expected \"train\" or \"test\", got %s"):format(tostring(split)), 2) end
  local dir = opts.dir or data.fashion_mnist_dir
  local x = D.idx_load(dir .. "/" .. prefix .. "-images-idx3-ubyte.gz", "float32", 1 / 255)
  local y = D.idx_load(dir .. "/" .. prefix .. "-labels-idx1-ubyte.gz", "float32") + 1
  return data.TensorDataset(x:view(x:size(1), 1, x:size(2), x:size(3)), y)
end
data.fashion_mnist_classes = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                               "Sneaker", "Bag", "Ankle boot" }

-- readers load on first use: cnn.data.idx, .csv, .genotype, .sequence
setmetatable(data, {
  __index = function(t, k)
    if type(k) ~= "string" then return nil end
    local name = "cnn.data." .. k
    if not package.searchpath(name, package.path) then return nil end
    local m = require(name)
    rawset(t, k, m)
    return m
  end,
})

return data
