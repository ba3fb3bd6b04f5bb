-- cnn.data: datasets, collate, the DataLoader's batches and determinism, splits by sample and by
-- group (subject), k-fold, ImageFolder and CsvImageDataset on files written by the spec.
local cnn = require "cnn"
local H = require "helpers"
local P = require "fixtures.png"
local data = require "cnn.data"

local function totable(t) return cnn.is_tensor(t) and t:totable() or t end

describe("cnn.data", function()
  local x = cnn.arange(20):view(10, 2)
  local y = cnn.arange(1, 11)
  local ds = data.TensorDataset(x, y)

  it("TensorDataset, Subset, ConcatDataset and MapDataset index 1-based", function()
    assert.are.equal(10, #ds)
    local s = ds:get(3)
    assert.are.same({ 4, 5 }, s[1]:totable())
    assert.are.equal(3, s[2])
    local sub = data.Subset(ds, { 10, 2 })
    assert.are.equal(2, #sub)
    assert.are.equal(10, sub:get(1)[2])
    local cat = data.ConcatDataset({ ds, sub })
    assert.are.equal(12, #cat)
    assert.are.equal(10, cat:get(10)[2])
    assert.are.equal(2, cat:get(12)[2])
    local m = data.MapDataset(ds, function(v) return { v = v[2] * 2 } end)
    assert.are.equal(8, m:get(4).v)
    H.errors(function() data.TensorDataset(x, cnn.zeros(3)) end, "cnn.data.TensorDataset: argument 2 has 3 rows, expected 10 like argument 1")
    H.close(ds:get_batch(cnn.tensor({ 3, 1 }))[1], { { 4, 5 }, { 0, 1 } }, 0)
    H.errors(function() ds:get_batch(cnn.tensor({ 0 })) end,
      "cnn.data.TensorDataset:get_batch: index 0 (position 1) is not an integer in 1..10")
    H.errors(function() data.Subset(ds, { 11 }) end, "cnn.data.Subset: argument 2 (indices): expected indices in 1..10, got 11..11")
  end)

  it("collate stacks tensors and numbers and keeps NaN labels", function()
    local b = data.collate({ { cnn.zeros(2), 1, "a", { k = 0 / 0 } }, { cnn.ones(2), 0 / 0, "b", { k = 2 } } })
    assert.are.same({ 2, 2 }, b[1]:size())
    local l = b[2]:totable()
    assert.are.equal(1, l[1]); assert.is_true(l[2] ~= l[2])
    assert.are.same({ "a", "b" }, b[3])
    local k = b[4].k:totable()
    assert.is_true(k[1] ~= k[1]); assert.are.equal(2, k[2])
  end)

  it("DataLoader batches in order, with a short last batch or drop_last", function()
    local l = data.DataLoader(ds, { batch_size = 4 })
    assert.are.equal(3, #l)
    local got = {}
    for b in l:iter() do got[#got + 1] = totable(b[2]) end
    assert.are.same({ { 1, 2, 3, 4 }, { 5, 6, 7, 8 }, { 9, 10 } }, got)
    local d = data.DataLoader(ds, { batch_size = 4, drop_last = true })
    local n = 0
    for b in d:iter() do n = n + 1; assert.are.same({ 4, 2 }, b[1]:size()) end
    assert.are.equal(2, n)
    assert.are.equal(2, #d)
  end)

  it("DataLoader shuffles deterministically for a seed, differently each epoch", function()
    local function pass(l)
      local out = {}
      for b in l:iter() do for _, v in ipairs(totable(b[2])) do out[#out + 1] = v end end
      return out
    end
    local a, b = data.DataLoader(ds, { batch_size = 3, shuffle = true, seed = 7 }), data.DataLoader(ds, { batch_size = 3, shuffle = true, seed = 7 })
    local a1, b1 = pass(a), pass(b)
    assert.are.same(a1, b1)
    local sorted = { table.unpack(a1) }
    table.sort(sorted)
    assert.are.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, sorted)
    assert.are_not.same(a1, pass(a))                               -- epoch 2
    assert.are.same(pass(b), (function() local c = data.DataLoader(ds, { batch_size = 3, shuffle = true, seed = 8 }); return pass(c) end)())
    -- set_epoch: a fresh loader put at epoch 2 repeats the second pass of one that ran epoch 1
    local d = data.DataLoader(ds, { batch_size = 3, shuffle = true, seed = 7 })
    d:set_epoch(2)
    local a2 = data.DataLoader(ds, { batch_size = 3, shuffle = true, seed = 7 })
    pass(a2)
    assert.are.same(pass(a2), pass(d))
    H.errors(function() d:set_epoch(0) end, "cnn.data.DataLoader.set_epoch: argument 1 (epoch): expected a positive integer, got 0")
    -- without a seed: the context generator
    cnn.manual_seed(3)
    local c1 = pass(data.DataLoader(ds, { batch_size = 3, shuffle = true }))
    cnn.manual_seed(3)
    assert.are.same(c1, pass(data.DataLoader(ds, { batch_size = 3, shuffle = true })))
  end)

  it("DataLoader takes the per-sample path for datasets without get_batch and a custom collate", function()
    local m = data.MapDataset(ds, function(s) return { x = s[1], y = s[2] } end)
    local b = data.DataLoader(m, { batch_size = 4, shuffle = true, seed = 1 }):iter()()
    assert.are.same({ 4, 2 }, b.x:size())
    local l = data.DataLoader(ds, { batch_size = 5, collate = function(s) return #s end })
    local f = l:iter()
    assert.are.equal(5, f())
    H.errors(function() data.DataLoader(ds, { batch_size = 0 }) end, "cnn.data.DataLoader: argument 2 (batch_size): expected a positive integer, got 0")
  end)

  it("random_split makes disjoint parts of the requested sizes", function()
    local a, b = data.random_split(ds, { 0.7, 0.3 }, 1)
    assert.are.equal(7, #a); assert.are.equal(3, #b)
    local seen = {}
    for _, part in ipairs({ a, b }) do
      for i = 1, #part do local v = part:get(i)[2]; assert.is_nil(seen[v]); seen[v] = true end
    end
    local a2 = data.random_split(ds, { 0.7, 0.3 }, 1)
    assert.are.same(a.indices:totable(), a2.indices:totable())
    local c, d = data.random_split(ds, { 6, 4 }, 2)
    assert.are.equal(6, #c); assert.are.equal(4, #d)
    H.errors(function() data.random_split(ds, { 0.5, 0.2 }) end, "cnn.data.random_split: argument 2 (fractions): expected fractions summing to 1 or counts summing to 10, got a sum of 0.7")
  end)

  it("group_split keeps every sample of a subject in one part", function()
    local groups = {}
    for i = 1, 100 do groups[i] = "subject" .. ((i * 7) % 23) end       -- 23 subjects, interleaved
    local big = data.TensorDataset(cnn.arange(1, 101))
    local tr, te = data.group_split(big, groups, { 0.8, 0.2 }, 42)
    assert.are.equal(100, #tr + #te)
    local part_of = {}
    for p, part in ipairs({ tr, te }) do
      for i = 1, #part do
        local g = groups[math.tointeger(part:get(i)[1])]
        assert(part_of[g] == nil or part_of[g] == p, "group " .. g .. " is split")
        part_of[g] = p
      end
    end
    assert.is_true(#te >= 10 and #te <= 30)
    local tr2 = data.group_split(big, groups, { 0.8, 0.2 }, 42)
    assert.are.same(tr.indices:totable(), tr2.indices:totable())
    local i1, i2 = data.group_split(6, { 1, 1, 2, 2, 3, 3 }, { 2 / 3, 1 / 3 }, 5)       -- n instead of a dataset
    assert.are.equal(4, i1:numel()); assert.are.equal(2, i2:numel())
    H.errors(function() data.group_split(big, { 1, 2 }, { 0.5, 0.5 }) end, "cnn.data.group_split: argument 2 (groups): expected one group key per sample (100), got 2")
  end)

  it("kfold partitions the samples, by group when asked", function()
    local folds = data.kfold(10, 3, { seed = 1 })
    assert.are.equal(3, #folds)
    local count = {}
    for _, f in ipairs(folds) do
      assert.are.equal(10, f.train:numel() + f.test:numel())
      for _, v in ipairs(f.test:totable()) do count[v] = (count[v] or 0) + 1 end
    end
    for i = 1, 10 do assert.are.equal(1, count[i]) end
    local groups = { "a", "a", "b", "b", "b", "c", "d", "d", "e", "e" }
    for _, f in ipairs(data.kfold(10, 3, { groups = groups, seed = 2 })) do
      local inside = {}
      for _, v in ipairs(f.test:totable()) do inside[groups[math.tointeger(v)]] = true end
      for _, v in ipairs(f.train:totable()) do assert.is_nil(inside[groups[math.tointeger(v)]]) end
    end
    H.errors(function() data.kfold(10, 1) end, "cnn.data.kfold: argument 2 (k): expected an integer in 2..10, got 1")
  end)

  describe("image datasets", function()
    local dir
    setup(function()
      dir = P.tmpdir()
      os.execute("mkdir -p " .. dir .. "/cat " .. dir .. "/dog " .. dir .. "/empty")
      cnn.image.save(cnn.full({ 3, 4, 4 }, 0.2), dir .. "/cat/b.png")
      cnn.image.save(cnn.full({ 3, 4, 4 }, 0.4), dir .. "/cat/a.png")
      cnn.image.save(cnn.full({ 3, 4, 4 }, 0.6), dir .. "/dog/x.png")
      P.write(dir .. "/dog/notes.txt", "not an image")
      P.write(dir .. "/m.csv", "path,y2,y3\ncat/a.png,1,0\ndog/x.png,,1\n")
    end)
    teardown(function() P.rmdir(dir) end)

    it("ImageFolder: one class per sub-folder, sorted, labels 1-based, transform applied", function()
      local f = data.ImageFolder(dir, { transform = function(t) return cnn.image.resize(t, 2) end })
      assert.are.same({ "cat", "dog", "empty" }, f.classes)
      assert.are.equal(3, #f)
      local s = f:get(1)
      assert.are.same({ 3, 2, 2 }, s[1]:size())
      assert.is_true(math.abs(s[1]:get(1, 1, 1) - 0.4) < 1e-6)     -- cat/a.png before cat/b.png
      assert.are.equal(1, s[2])
      assert.are.equal(2, f:get(3)[2])
      local b = data.DataLoader(f, { batch_size = 3 }):iter()()
      assert.are.same({ 3, 3, 2, 2 }, b[1]:size())
      H.errors(function() data.ImageFolder(dir .. "/none") end, "cnn.data.ImageFolder: " .. dir .. "/none: cannot open directory")
    end)

    it("CsvImageDataset: paths from a manifest, missing labels as NaN through the loader", function()
      local m = data.CsvImageDataset(dir .. "/m.csv", { image_col = "path", label_cols = { "y2", "y3" }, root = dir })
      assert.are.equal(2, #m)
      local b = data.DataLoader(m, { batch_size = 2 }):iter()()
      assert.are.same({ 2, 3, 4, 4 }, b[1]:size())
      local l = b[2]:totable()
      assert.are.same({ 1, 0 }, l[1])
      assert.is_true(l[2][1] ~= l[2][1]); assert.are.equal(1, l[2][2])
      H.errors(function() data.CsvImageDataset(dir .. "/m.csv", { image_col = "nope" }) end, "m.csv: no column 'nope'")
    end)
  end)

  it("leaks nothing", function()
    H.no_leak(function()
      local l = data.DataLoader(ds, { batch_size = 3, shuffle = true, seed = 1 })
      for _ in l:iter() do end
    end)
  end)
end)

describe("cnn.data refuses absurd sizes up front", function()
  it("group_split with a huge sample count or a huge fractions tensor returns an error at once", function()
    local t0 = os.clock()
    H.errors(function() data.group_split(math.maxinteger, { 1 }, { 0.5, 0.5 }) end,
      "cnn.data.group_split: argument 1 (n): expected a sample count in 0..2147483647, got 9223372036854775807")
    H.errors(function() data.group_split(2 ^ 31 - 1, { 1 }, { 0.5, 0.5 }) end,
      "cnn.data.group_split: argument 2 (groups): expected one group key per sample (2147483647), got 1")
    local huge = cnn.zeros(1):expand(2 ^ 40)
    local ds = data.TensorDataset(cnn.zeros(10))
    H.errors(function() data.random_split(ds, huge) end, "cnn.data.random_split: argument 2 (fractions): expected a list of at most 1024 fractions, got float32 [1099511627776]")
    H.errors(function() data.group_split(10, huge, { 0.5, 0.5 }) end, "cnn.data.group_split: argument 2 (groups): expected one group key per sample (10), got float32 [1099511627776]")
    H.errors(function() data.group_split(4, { 1, 1, 2, 2 }, huge) end, "cnn.data.group_split: argument 3 (fractions)")
    H.errors(function() data.kfold(2 ^ 40, 3) end, "cnn.data.kfold: argument 1 (n)")
    H.errors(function() data.random_split(ds, { 1 / 0, 0 }) end, "cnn.data.random_split: argument 2 (fractions[1]): expected a finite number, got inf")
    H.errors(function() data.random_split(ds, { 0.5, 0 / 0 }) end, "cnn.data.random_split: argument 2 (fractions[2])")
    H.errors(function() data.random_split(ds, { 5.5, 4.5 }) end, "cnn.data.random_split: argument 2 (fractions[1]): expected a whole count")
    assert.is_true(os.clock() - t0 < 1)
  end)

  it("a tensor of fractions still works", function()
    local a, b = data.random_split(data.TensorDataset(cnn.zeros(10)), cnn.tensor({ 0.5, 0.5 }), 1)
    assert.are.same({ 5, 5 }, { #a, #b })
  end)
end)
