-- cnn.data: datasets, the DataLoader, splits, and (loaded on first use) the readers cnn.data.idx,
-- csv, genotype and sequence. A dataset is anything with #ds (or ds:len()) and ds:get(i) -> a
-- sample table; datasets that can also gather a whole batch in C (ds:get_batch(indices), with
-- indices a 1-based float64 tensor) let the loader skip per-sample Lua work. Spec: data_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local class = require "cnn._class"
local D = cnn._data
local data = {}

-- sample counts beyond this are refused up front (splits and folds build Lua lists of them)
local MAX_N = 2 ^ 31 - 1

-- a dataset: a table with get(i) and a length (#ds or ds:len())
local function check_dataset(fn, i, ds)
  if type(ds) ~= "table" or type(ds.get) ~= "function" then
    A.fail(fn, i, "dataset", "a dataset (a table with get(i) and a length)", ds)
  end
  return ds
end

-- the length of a dataset, checked: an integer in 0..MAX_N
local function dataset_len(fn, i, ds)
  local n
  if type(ds) == "table" and type(ds.len) == "function" then n = ds:len() else n = #ds end
  if math.type(n) ~= "integer" or n < 0 or n > MAX_N then
    A.error(("%s: argument %d (dataset): its length is %s, expected an integer in 0..%d"):format(fn, i, A.describe(n), MAX_N))
  end
  return n
end

function data.len(ds)
  if type(ds) ~= "table" then A.fail("cnn.data.len", 1, "dataset", "a dataset", ds) end
  return dataset_len("cnn.data.len", 1, ds)
end
local len = data.len

-- the base of the dataset classes here: #ds is ds:len(); the constructors are the functions
-- data.TensorDataset, data.Subset, ...
local Dataset = class("cnn.data.Dataset")
function Dataset:__len() return self:len() end
local function dataset_class(name) return class(name, Dataset) end

-- 1-based index tensor (float64) from a list of integers or a tensor of them, each in 1..n
local function as_index(idx, fn, i, name, n)
  local t
  if cnn.is_tensor(idx) then
    A.tensor(fn, i, name, idx)
    if idx:dim() > 1 or idx:numel() > MAX_N then A.fail(fn, i, name, "a 1-D tensor of indices", idx) end
    t = idx:double()
  elseif type(idx) == "table" then
    local m = rawlen(idx)
    if m > MAX_N then A.fail(fn, i, name, "a list of indices", idx) end
    local list = {}
    for k = 1, m do
      local v = rawget(idx, k)
      if math.type(v) ~= "integer" and not (type(v) == "number" and math.tointeger(v)) then
        A.fail(fn, i, ("%s[%d]"):format(name, k), "an integer", v)
      end
      list[k] = v
    end
    if m == 0 then return cnn.zeros({ 0 }, "float64") end
    t = cnn.tensor(list, "float64")
  else
    A.fail(fn, i, name, "a list or a tensor of indices", idx)
  end
  if t:numel() > 0 then
    local lo, hi = t:min():item(), t:max():item()
    if not (lo >= 1 and hi <= n) or (t - t:floor()):abs():max():item() ~= 0 then
      A.error(("%s: argument %d (%s): expected indices in 1..%d, got %g..%g"):format(fn, i, name, n, lo, hi))
    end
  end
  return t
end

-- ---- TensorDataset(t1, t2, ...): sample i is {t1[i], t2[i], ...}; 1-D tensors give numbers ----
local TensorDataset = dataset_class("cnn.data.TensorDataset")
function data.TensorDataset(...)
  local fn = "cnn.data.TensorDataset"
  local ts = table.pack(...)
  if ts.n == 0 then A.error(fn .. ": expected at least one tensor") end
  for i = 1, ts.n do
    local t = A.tensor(fn, i, "tensor", ts[i])
    if t:dim() == 0 then A.fail(fn, i, "tensor", "a tensor with a first dimension", t) end
    if t:size(1) ~= ts[1]:size(1) then
      A.error(("%s: argument %d has %d rows, expected %d like argument 1"):format(fn, i, t:size(1), ts[1]:size(1)))
    end
  end
  ts.n = nil
  return setmetatable({ tensors = ts }, TensorDataset)
end
function TensorDataset:len() return self.tensors[1]:size(1) end
function TensorDataset:get(i)
  A.int("cnn.data.TensorDataset.get", 1, "index", i)
  local s = {}
  for k, t in ipairs(self.tensors) do s[k] = A.call(t.select, t, 1, i) end   -- a view, or a 0-d tensor
  for k, v in ipairs(s) do if v:dim() == 0 then s[k] = v:item() end end   -- 1-D tensors give numbers
  return s
end
function TensorDataset:get_batch(idx)
  local b = {}
  for k, t in ipairs(self.tensors) do b[k] = A.call_as("cnn.data.TensorDataset:get_batch", D.gather, t, idx) end     -- one memcpy per row, in C
  return b
end

-- ---- Subset(ds, indices) ----
local Subset = dataset_class("cnn.data.Subset")
function data.Subset(ds, indices)
  local fn = "cnn.data.Subset"
  check_dataset(fn, 1, ds)
  local idx = as_index(indices, fn, 2, "indices", dataset_len(fn, 1, ds))
  return setmetatable({ dataset = ds, indices = idx }, Subset)
end
function Subset:len() return self.indices:numel() end
function Subset:get(i)
  i = A.int("cnn.data.Subset.get", 1, "index", i)
  if i < 1 or i > self.indices:numel() then A.fail("cnn.data.Subset.get", 1, "index", ("an index in 1..%d"):format(self.indices:numel()), i) end
  return self.dataset:get(math.tointeger(self.indices[i]))
end
function Subset:get_batch(idx)
  if not self.dataset.get_batch then return nil end
  return self.dataset:get_batch(A.call_as("cnn.data.Subset.get_batch", self.indices.index_select, self.indices, 1, idx))
end

-- ---- ConcatDataset{ds1, ds2, ...} ----
local ConcatDataset = dataset_class("cnn.data.ConcatDataset")
function data.ConcatDataset(list)
  local fn = "cnn.data.ConcatDataset"
  if type(list) ~= "table" or type(list.get) == "function" then A.fail(fn, 1, "datasets", "a list of datasets", list) end
  local ends, total, datasets = {}, 0, {}
  for i = 1, rawlen(list) do
    local ds = rawget(list, i)
    if type(ds) ~= "table" or type(ds.get) ~= "function" then
      A.fail(fn, 1, ("datasets[%d]"):format(i), "a dataset (a table with get(i) and a length)", ds)
    end
    total = total + dataset_len(fn, 1, ds)
    if total > MAX_N then A.error(("%s: more than %d samples"):format(fn, MAX_N)) end
    datasets[i], ends[i] = ds, total
  end
  return setmetatable({ datasets = datasets, ends = ends }, ConcatDataset)
end
function ConcatDataset:len() return self.ends[#self.ends] or 0 end
function ConcatDataset:get(i)
  i = A.int("cnn.data.ConcatDataset.get", 1, "index", i)
  if i < 1 or i > self:len() then A.fail("cnn.data.ConcatDataset.get", 1, "index", ("an index in 1..%d"):format(self:len()), i) end
  local lo, hi = 1, #self.ends
  while lo < hi do                     -- first dataset whose end reaches i
    local mid = (lo + hi) // 2
    if self.ends[mid] >= i then hi = mid else lo = mid + 1 end
  end
  return self.datasets[lo]:get(i - (self.ends[lo - 1] or 0))
end

-- ---- MapDataset(ds, fn): sample i is fn(ds:get(i)) ----
local MapDataset = dataset_class("cnn.data.MapDataset")
function data.MapDataset(ds, f)
  check_dataset("cnn.data.MapDataset", 1, ds)
  return setmetatable({ dataset = ds, fn = A.func("cnn.data.MapDataset", 2, "fn", f) }, MapDataset)
end
function MapDataset:len() return len(self.dataset) end
function MapDataset:get(i) return self.fn(self.dataset:get(i)) end

-- ---- ImageFolder(root, {transform=, channels=}): root/<class>/<image>.png|.jpg|.jpeg, classes sorted ----
local ImageFolder = dataset_class("cnn.data.ImageFolder")
function data.ImageFolder(root, opts)
  local fn = "cnn.data.ImageFolder"
  A.str(fn, 1, "root", root)
  opts = A.opts(fn, 2, opts, { "transform", "channels" })
  A.func(fn, 2, "transform", opts.transform, true)
  if opts.channels ~= nil and opts.channels ~= 1 and opts.channels ~= 3 then A.fail(fn, 2, "channels", "1 or 3", opts.channels) end
  local names, kinds = A.call(D.listdir, root, "data.ImageFolder")
  table.sort(names)
  local classes, paths, targets = {}, {}, {}
  for _, cname in ipairs(names) do
    if kinds[cname] == "dir" then
      classes[#classes + 1] = cname
      local files, fk = A.call(D.listdir, root .. "/" .. cname, "data.ImageFolder")
      table.sort(files)
      for _, f in ipairs(files) do
        local ext = f:lower():match("%.(%w+)$")
        if fk[f] == "file" and (ext == "png" or ext == "jpg" or ext == "jpeg") then
          paths[#paths + 1] = root .. "/" .. cname .. "/" .. f
          targets[#targets + 1] = #classes
        end
      end
    end
  end
  if #paths == 0 then A.error(("%s: %s: no .png, .jpg or .jpeg files in class sub-folders"):format(fn, root)) end
  return setmetatable({ root = root, classes = classes, paths = paths, targets = targets,
                        transform = opts.transform, channels = opts.channels }, ImageFolder)
end
function ImageFolder:len() return #self.paths end
function ImageFolder:get(i)
  local path = self.paths[i]
  if path == nil then A.fail("cnn.data.ImageFolder.get", 1, "index", ("an index in 1..%d"):format(#self.paths), i) end
  local img = A.call(D.image_load, path, self.channels)
  if self.transform then img = self.transform(img) end
  return { img, self.targets[i] }
end

-- ---- CsvImageDataset(csv, {image_col=, label_cols=, root=, transform=, channels=, sep=}) ----
-- sample i: {image, labels} with labels a tensor of the label columns (NaN where missing)
local CsvImageDataset = dataset_class("cnn.data.CsvImageDataset")
function data.CsvImageDataset(csv, opts)
  local fn = "cnn.data.CsvImageDataset"
  A.str(fn, 1, "csv", csv)
  opts = A.opts(fn, 2, opts, { "image_col", "label_cols", "root", "transform", "channels", "sep" })
  A.func(fn, 2, "transform", opts.transform, true)
  if opts.root ~= nil then A.str(fn, 2, "root", opts.root) end
  if opts.label_cols ~= nil then A.table(fn, 2, "label_cols", opts.label_cols, "a list of column names") end
  if opts.channels ~= nil and opts.channels ~= 1 and opts.channels ~= 3 then A.fail(fn, 2, "channels", "1 or 3", opts.channels) end
  local t = A.call_as(fn, data.csv.read, csv, { sep = opts.sep })
  local col = opts.image_col or t.names[1]
  local paths = t.columns[col]
  if paths == nil then A.error(("%s: %s: no column '%s'"):format(fn, csv, tostring(col))) end
  if cnn.is_tensor(paths) then A.error(("%s: %s: column '%s' holds numbers, expected image paths"):format(fn, csv, col)) end
  local labels
  if opts.label_cols and rawlen(opts.label_cols) > 0 then
    local cols = {}
    for i = 1, rawlen(opts.label_cols) do
      local name = rawget(opts.label_cols, i)
      local c = t.columns[name]
      if c == nil then A.error(("%s: %s: no label column '%s'"):format(fn, csv, tostring(name))) end
      if not cnn.is_tensor(c) then A.error(("%s: %s: label column '%s' is not numeric"):format(fn, csv, name)) end
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
  local path = self.paths[i]
  if path == nil then A.fail("cnn.data.CsvImageDataset.get", 1, "index", ("an index in 1..%d"):format(#self.paths), i) end
  local img = A.call(D.image_load, self.root .. path, self.channels)
  if self.transform then img = self.transform(img) end
  return { img, self.labels and self.labels[i] }
end

-- ---- collate: a list of samples -> a batch with the same keys ----
-- tensors are stacked (cnn.stack), numbers become a float32 tensor (NaN stays NaN), anything
-- else is kept as a list
local function collate(samples)
  local first = samples[1]
  if cnn.is_tensor(first) then return A.call(cnn.stack, samples, 1) end
  if type(first) == "number" then
    for i, v in ipairs(samples) do
      if type(v) ~= "number" then A.error(("cnn.data.collate: sample %d is %s, sample 1 a number"):format(i, A.describe(v))) end
    end
    return cnn.tensor(samples)
  end
  if type(first) ~= "table" then return samples end
  local batch, col = {}, {}
  for k in pairs(first) do
    for i, s in ipairs(samples) do
      local v = type(s) == "table" and s[k] or nil
      if v == nil then A.error(("cnn.data.collate: sample %d has no field '%s' (sample 1 has)"):format(i, tostring(k))) end
      col[i] = v
    end
    batch[k] = collate(col)
    col = {}
  end
  return batch
end
function data.collate(samples)
  if type(samples) ~= "table" or cnn.is_tensor(samples) or rawlen(samples) == 0 then
    A.fail("cnn.data.collate", 1, "samples", "a non-empty list of samples", samples)
  end
  return collate(table.move(samples, 1, rawlen(samples), 1, {}))
end

-- ---- DistributedSampler(n, {num_replicas=, rank=, shuffle=true, seed=0, drop_last=false}) ----
-- PyTorch's: epoch e's order (randperm(n) of seed + e - 1, or 1..n) is padded to a multiple of
-- num_replicas by repeating its first indices (or cut to one, drop_last), and rank r takes every
-- num_replicas-th index from the r-th: disjoint shards of equal size that together cover the data.
-- num_replicas and rank default to cnn.distributed's size and rank (1 and 1 without MPI).
local DistributedSampler = {}
DistributedSampler.__index = DistributedSampler
DistributedSampler.__name = "cnn.data.DistributedSampler"
function data.DistributedSampler(n, opts)
  local fn = "cnn.data.DistributedSampler"
  if type(n) == "table" and not cnn.is_tensor(n) then n = dataset_len(fn, 1, check_dataset(fn, 1, n))
  elseif type(n) ~= "number" then A.fail(fn, 1, "n", "a dataset or a number of samples", n) end
  n = A.int(fn, 1, "n", n, 0)
  if n > MAX_N then A.fail(fn, 1, "n", ("an integer in 0..%d"):format(MAX_N), n) end
  opts = A.opts(fn, 2, opts, { "num_replicas", "rank", "shuffle", "seed", "drop_last" })
  local size, rank = opts.num_replicas, opts.rank
  if size == nil or rank == nil then
    local ok, dist = pcall(require, "cnn.distributed")
    local on = ok and dist.is_initialized()
    size = size or (on and dist.size() or 1)
    rank = rank or (on and dist.rank() or 1)
  end
  size = A.int(fn, 2, "num_replicas", size, 1)
  rank = A.int(fn, 2, "rank", rank, 1)
  if rank > size then A.fail(fn, 2, "rank", ("a rank in 1..%d"):format(size), rank) end
  local drop = A.bool(fn, 2, "drop_last", opts.drop_last, false)
  local per = drop and n // size or (n + size - 1) // size
  return setmetatable({ n = n, num_replicas = size, rank = rank, shuffle = A.bool(fn, 2, "shuffle", opts.shuffle, true),
                        seed = A.int(fn, 2, "seed", opts.seed, nil, 0), drop_last = drop, num_samples = per,
                        epoch = 1 }, DistributedSampler)
end
function DistributedSampler:len() return self.num_samples end
DistributedSampler.__len = DistributedSampler.len
-- set_epoch(e): indices() gives epoch e's shard (call it at the start of every epoch, on every rank)
function DistributedSampler:set_epoch(e)
  self.epoch = A.int("cnn.data.DistributedSampler.set_epoch", 1, "epoch", e, 1)
end
-- indices(): this rank's indices (1-based, float64 [num_samples]) for the current epoch
function DistributedSampler:indices()
  local n, size, per = self.n, self.num_replicas, self.num_samples
  local total = per * size
  if total == 0 then return cnn.zeros({ 0 }, "float64") end
  local order = self.shuffle and cnn.randperm(n, self.seed + self.epoch - 1):double() or cnn.arange(1, n + 1, "float64")
  if total > n then
    local parts, have = { order }, n
    while have < total do
      local k = math.min(n, total - have)
      parts[#parts + 1] = order:narrow(1, 1, k)
      have = have + k
    end
    order = cnn.cat(parts)
  elseif total < n then
    order = order:narrow(1, 1, total)
  end
  return order:reshape(per, size):select(2, self.rank):contiguous()
end

-- ---- DataLoader(ds, {batch_size=1, shuffle=false, drop_last=false, seed=, collate=, sampler=}) ----
local DataLoader = dataset_class("cnn.data.DataLoader")
function data.DataLoader(ds, opts)
  local fn = "cnn.data.DataLoader"
  check_dataset(fn, 1, ds)
  opts = A.opts(fn, 2, opts, { "batch_size", "shuffle", "drop_last", "seed", "collate", "sampler" })
  if opts.sampler ~= nil and getmetatable(opts.sampler) ~= DistributedSampler then
    A.fail(fn, 2, "sampler", "a cnn.data.DistributedSampler", opts.sampler)
  end
  local bs = A.int(fn, 2, "batch_size", opts.batch_size, 1, 1)
  if bs > MAX_N then A.fail(fn, 2, "batch_size", ("an integer in 1..%d"):format(MAX_N), bs) end
  return setmetatable({ dataset = ds, batch_size = bs, shuffle = A.bool(fn, 2, "shuffle", opts.shuffle, false),
                        drop_last = A.bool(fn, 2, "drop_last", opts.drop_last, false),
                        seed = A.optint(fn, 2, "seed", opts.seed), collate = A.func(fn, 2, "collate", opts.collate, true),
                        sampler = opts.sampler, epoch = 0 }, DataLoader)
end

function DataLoader:len()
  local n = self.sampler and self.sampler.num_samples or dataset_len("cnn.data.DataLoader", 1, self.dataset)
  return self.drop_last and n // self.batch_size or (n + self.batch_size - 1) // self.batch_size
end

-- the order of one pass: with a seed, epoch e uses seed + e - 1 (the same for every run); without
-- one, the context generator (cnn.manual_seed)
-- with a sampler: its shard of epoch e (the loader's epoch is the sampler's)
function DataLoader:order()
  local n = dataset_len("cnn.data.DataLoader", 1, self.dataset)
  self.epoch = self.epoch + 1
  if self.sampler then
    self.sampler.epoch = self.epoch
    return self.sampler:indices()
  end
  if not self.shuffle then return cnn.arange(1, n + 1, "float64") end
  if self.seed then return A.call(cnn.randperm, n, self.seed + self.epoch - 1) end
  return cnn.randperm(n)
end

-- set_epoch(e): the next pass is epoch e (its shuffled order is the one of seed + e - 1), so a
-- resumed run sees the batches an uninterrupted one would have seen
function DataLoader:set_epoch(e)
  self.epoch = A.int("cnn.data.DataLoader.set_epoch", 1, "epoch", e, 1) - 1
end

-- for batch in loader:iter() do ... end
function DataLoader:iter()
  local ds, bs = self.dataset, self.batch_size
  local n = self.sampler and self.sampler.num_samples or dataset_len("cnn.data.DataLoader", 1, self.dataset)
  local order = self:order()
  local nb, b = self:len(), 0
  local fast = ds.get_batch and not self.collate
  local gather = self.collate or collate
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
    return gather(samples)
  end
end

-- ---- splits ----

-- part sizes from fractions (summing to 1) or counts (summing to n); the remainder of the
-- rounding goes to the first parts, one each
local function part_sizes(n, fractions, fn, pos)
  if cnn.is_tensor(fractions) then
    A.tensor(fn, pos, "fractions", fractions)
    if fractions:dim() ~= 1 or fractions:numel() > 1024 then A.fail(fn, pos, "fractions", "a list of at most 1024 fractions", fractions) end
    fractions = fractions:totable()
  end
  if type(fractions) ~= "table" or rawlen(fractions) == 0 or rawlen(fractions) > 1024 then
    A.fail(fn, pos, "fractions", "a list of 1 to 1024 fractions or counts", fractions)
  end
  local list, sum = {}, 0
  for i = 1, rawlen(fractions) do
    list[i] = A.finite(fn, pos, ("fractions[%d]"):format(i), rawget(fractions, i), nil, 0)
    sum = sum + list[i]
  end
  local sizes, total = {}, 0
  if math.abs(sum - 1) < 1e-9 then
    for i, f in ipairs(list) do sizes[i] = math.min(n, math.floor(f * n)); total = total + sizes[i] end
    local i = 1
    while total < n do sizes[i] = sizes[i] + 1; total = total + 1; i = i % #sizes + 1 end
  elseif sum == n then
    for i, f in ipairs(list) do
      sizes[i] = math.tointeger(f)
      if sizes[i] == nil then A.fail(fn, pos, ("fractions[%d]"):format(i), "a whole count (the values sum to n)", f) end
    end
  else
    A.error(("%s: argument %d (fractions): expected fractions summing to 1 or counts summing to %d, got a sum of %g"):format(fn, pos, n, sum))
  end
  return sizes
end

-- random_split(ds, {0.8, 0.2} [, seed]) -> Subsets
function data.random_split(ds, fractions, seed)
  local fn = "cnn.data.random_split"
  check_dataset(fn, 1, ds)
  local n = dataset_len(fn, 1, ds)
  local sizes = part_sizes(n, fractions, fn, 2)
  seed = A.optint(fn, 3, "seed", seed)
  local perm = seed and A.call(cnn.randperm, n, seed) or cnn.randperm(n)
  local parts, start = {}, 1
  for i, s in ipairs(sizes) do
    parts[i] = setmetatable({ dataset = ds, indices = perm:narrow(1, start, s) }, Subset)
    start = start + s
  end
  return table.unpack(parts)
end

-- distinct group keys in order of first appearance, and each group's sample indices
local function groups_of(groups, n, fn, i, name)
  if cnn.is_tensor(groups) then
    A.tensor(fn, i, name, groups)
    if groups:numel() ~= n or groups:dim() ~= 1 then
      A.error(("%s: argument %d (%s): expected one group key per sample (%d), got %s"):format(fn, i, name, n, A.describe(groups)))
    end
    groups = groups:totable()
  end
  if type(groups) ~= "table" or rawlen(groups) ~= n then
    A.error(("%s: argument %d (%s): expected one group key per sample (%d), got %s"):format(fn, i, name, n,
      type(groups) == "table" and rawlen(groups) or A.describe(groups)))
  end
  local keys, members = {}, {}
  for k = 1, n do
    local g = rawget(groups, k)
    if g == nil or g ~= g then A.fail(fn, i, ("%s[%d]"):format(name, k), "a group key", g) end
    if members[g] == nil then keys[#keys + 1] = g; members[g] = {} end
    local m = members[g]
    m[#m + 1] = k
  end
  return keys, members
end

-- group_split(ds or n, groups, fractions [, seed]): every sample of one group lands in one part.
-- Groups are shuffled, then each goes to the part whose cumulative target its midpoint falls under.
function data.group_split(ds, groups, fractions, seed)
  local fn = "cnn.data.group_split"
  local n
  if type(ds) == "number" then
    n = A.int(fn, 1, "n", ds, 0)
    if n > MAX_N then A.fail(fn, 1, "n", ("a sample count in 0..%d"):format(MAX_N), ds) end
  else
    n = dataset_len(fn, 1, check_dataset(fn, 1, ds))
  end
  local keys, members = groups_of(groups, n, fn, 2, "groups")
  local sizes = part_sizes(n, fractions, fn, 3)
  seed = A.optint(fn, 4, "seed", seed)
  local perm = seed and A.call(cnn.randperm, #keys, seed) or cnn.randperm(#keys)
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
    local idx = #part == 0 and cnn.zeros({ 0 }, "float64") or cnn.tensor(part, "float64")
    out[i] = type(ds) == "number" and idx or setmetatable({ dataset = ds, indices = idx }, Subset)
  end
  return table.unpack(out)
end

-- kfold(n, k, {groups=, seed=}) -> list of {train = indices, test = indices} (float64 tensors);
-- with groups, whole groups go to the fold with the fewest samples so far
function data.kfold(n, k, opts)
  local fn = "cnn.data.kfold"
  n = A.int(fn, 1, "n", n, 2)
  if n > MAX_N then A.fail(fn, 1, "n", ("a sample count in 2..%d"):format(MAX_N), n) end
  if math.type(k) ~= "integer" or k < 2 or k > n then A.fail(fn, 2, "k", ("an integer in 2..%d"):format(n), k) end
  opts = A.opts(fn, 3, opts, { "groups", "seed" })
  local seed = A.optint(fn, 3, "seed", opts.seed)
  local fold_of = {}
  if opts.groups ~= nil then
    local keys, members = groups_of(opts.groups, n, fn, 3, "groups")
    local perm = seed and A.call(cnn.randperm, #keys, seed) or cnn.randperm(#keys)
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
    local perm = seed and A.call(cnn.randperm, n, seed) or cnn.randperm(n)
    for j = 1, n do fold_of[math.tointeger(perm[j])] = (j - 1) % k + 1 end
  end
  local function index(list) return #list == 0 and cnn.zeros({ 0 }, "float64") or cnn.tensor(list, "float64") end
  local folds = {}
  for f = 1, k do
    local tr, te = {}, {}
    for i = 1, n do
      if fold_of[i] == f then te[#te + 1] = i else tr[#tr + 1] = i end
    end
    folds[f] = { train = index(tr), test = index(te) }
  end
  return folds
end

-- ---- Fashion-MNIST from Debian's dataset-fashion-mnist ----
data.fashion_mnist_dir = "/usr/share/datasets/fashion-mnist"

-- fashion_mnist("train"|"test") -> TensorDataset of images (N,1,28,28) in [0,1] and int64 labels 1..10
function data.fashion_mnist(split, opts)
  local fn = "cnn.data.fashion_mnist"
  local prefix = ({ train = "train", test = "t10k" })[split or "train"]
  if not prefix then A.error(('%s: argument 1 (split): expected "train" or "test", got %s'):format(fn, tostring(split))) end
  opts = A.opts(fn, 2, opts, { "dir" })
  local dir = A.str(fn, 2, "dir", opts.dir, data.fashion_mnist_dir)
  local x = A.call(D.idx_load, dir .. "/" .. prefix .. "-images-idx3-ubyte.gz", "float32", 1 / 255)
  local y = (A.call(D.idx_load, dir .. "/" .. prefix .. "-labels-idx1-ubyte.gz", "float32") + 1):long()
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
