-- cnn.amd's training: the trunk's checkpoints (an interrupted run resumed from its checkpoint ends
-- bit for bit where an uninterrupted one does), the heads' early stopping (the kept parameters are
-- those of the best validation check), the severity coding, and data sets built from a cohort
-- written by cnn.amd.simulate (labels, times, genotypes and covariates on the right rows).
local cnn = require "cnn"
local H = require "helpers"
local amd = cnn.amd
local T = require "cnn.amd.train"

-- a hand-made training set of n images with labels, times and genotypes
local function toy(n, seed)
  cnn.manual_seed(seed or 1)
  local t = cnn.rand(n) * 9
  local e = cnn.rand(n):gt(0.5):float()
  local labels = {}
  for i = 1, n do
    labels[i] = {}
    for k = 2, 7 do
      local ti, ei = t[i], e[i]
      labels[i][k - 1] = ti >= k and 1 or (ei == 1 and 0 or 0 / 0)
    end
  end
  local sev = cnn.rand(n, 2):round()
  return { n = n, cutoffs = { 2, 3, 4, 5, 6, 7 }, labels = cnn.tensor(labels), time = t, event = e,
           severity = sev, geno = cnn.randint(0, 3, { n, 52 }, "float32"), covariates = cnn.rand(n, 3),
           images = T.Images.from_tensor(cnn.rand(n, 3, 16, 16)) }
end

describe("cnn.amd.train_trunk", function()
  it("resumes from its checkpoint exactly: 2 epochs = 1 epoch + resume + 1 epoch", function()
    local set = toy(12)
    local path = os.tmpname()
    local function fresh()
      cnn.manual_seed(9)
      return amd.model { design = "paper", image_size = 16, width = 0.25 }
    end
    local a = fresh()
    local ha = amd.train_trunk(a, set, { epochs = 2, batch_size = 4, checkpoint = path })
    local b = fresh()
    amd.train_trunk(b, set, { epochs = 1, batch_size = 4, checkpoint = path })
    local c = fresh()                                        -- a new process: weights from the file
    local hc = amd.train_trunk(c, set, { epochs = 2, batch_size = 4, checkpoint = path, resume = true })
    for name, p in pairs(a:state_dict()) do H.close(c:state_dict()[name], p, 0) end
    assert.are.equal(ha.loss[2], hc.loss[2])
    assert.are.equal(ha.loss[1], hc.loss[1])                  -- the history came back from the file
    os.remove(path)
  end)

  it("trains the survival network end to end when it has no trunk of its own yet", function()
    local set = toy(10, 2)
    local m = amd.model { design = "survival", image_size = 16, width = 0.25 }
    local h = amd.train_trunk(m, set, { epochs = 2, batch_size = 5, augment = false })
    assert.are.equal(2, #h.loss)
    assert.is_true(h.loss[2] == h.loss[2])
  end)
end)

describe("cnn.amd.train_head", function()
  it("keeps the parameters of the best validation check", function()
    local set, val = toy(30, 3), toy(20, 4)
    local m = amd.model { design = "geno" }
    local h = amd.train_head(m, set, { steps = 40, every = 5, val = val })
    assert.are.equal(8, #h.val_loss)
    local best, at = math.huge, nil
    for i, v in ipairs(h.val_loss) do if v < best then best, at = v, i * 5 end end
    assert.are.equal(at, h.best_step)
    local now = T.masked_bce(m:head_logits(nil, val.geno, val.covariates), val.labels):item()
    assert.is_true(math.abs(now - best) < 1e-6)
  end)

  it("lowers the loss of each design's head on cached features", function()
    for _, d in ipairs({ { "paper", "image+geno" }, { "survival", "image+geno" }, { "geno" } }) do
      local set = toy(24, 5)
      local m = amd.model { design = d[1], inputs = d[2], image_size = 16, width = 0.25 }
      local h = amd.train_head(m, set, { steps = 30 })
      assert.is_true(h.loss[#h.loss] < h.loss[1], d[1])
      assert.are.equal(d[1] == "paper" and 60 or 30, #h.loss)          -- image+geno: two phases
    end
  end)
end)

describe("cnn.amd.dataset", function()
  it("builds tensors from a simulated cohort on the right rows", function()
    local dir = os.tmpname()
    os.remove(dir)
    amd.simulate { subjects = 3, seed = 2, out = dir, image_size = 32 }
    local cohort = amd.cohort.load { dir = dir }
    local idx = { 2, 5, #cohort.visits }
    local set = amd.dataset(cohort, idx, { image_size = 16 })
    assert.are.equal(3, set.n)
    local labels = amd.labels(cohort)
    local t, e = amd.times(cohort)
    for r, i in ipairs(idx) do
      local v = cohort.visits[i]
      local s = cohort.subjects[v.subject]
      for k = 1, 6 do
        local a, b = set.labels[r][k], labels[i][k]
        assert.is_true(a == b or (a ~= a and b ~= b))
      end
      assert.are.equal(t[i], set.time[r]); assert.are.equal(e[i], set.event[r])
      assert.is_true(math.abs(s.age + v.years - set.covariates[r][1]) < 1e-4)
      H.close(set.geno[r], cohort.genotypes[s.geno], 0)
      assert.are.equal(v.late and 1 or 0, set.severity[r][2])
      assert.are.equal(v.severity >= 2 and 1 or 0, set.severity[r][1])
      assert.are.equal(v.name, set.image_names[r])
    end
    assert.are.same({ 3, 3, 16, 16 }, set.images.data:size())
    local truth = amd.oracle_probs(cohort, set)
    H.close(truth[1], cohort.truth[cohort.visits[2].name], 1e-12)
    os.execute("rm -rf '" .. dir .. "'")
  end)
end)
