-- Tensor memory the collector cannot see: Lua counts an 8-byte box per tensor, not its storage,
-- so a loop's dead intermediates must be found by collections that the bindings pace by tensor
-- bytes (lua_util.c's gc_account), and autograd must free what backward no longer needs.
-- No collectgarbage() in these loops: a user does not call it either.
local cnn = require "cnn"
local nn, F = cnn.nn, cnn.nn.functional

-- conv-relu, a residual conv (the `(y + x):relu()` of a resnet block: its results were the ones
-- the incremental collector left), pool, two linear layers; 0.53 M parameters
local Small = nn.Module:extend("spec.SmallResidualCNN")
function Small:__init()
  self.conv1 = nn.Conv2d(3, 16, 3, { padding = 1 })
  self.conv2 = nn.Conv2d(16, 16, 3, { padding = 1 })
  self.pool = nn.MaxPool2d(2)
  self.fc1 = nn.Linear(16 * 8 * 8, 512)
  self.fc2 = nn.Linear(512, 10)
end
function Small:forward(x)
  local y = self.conv1(x):relu()
  y = (self.conv2(y) + y):relu()
  return self.fc2(self.fc1(self.pool(y):flatten(2)):relu())
end

describe("tensor memory in a training loop", function()
  it("stays within 1.5x of its step-5 value over 200 steps of a small CNN (no explicit collection)", function()
    local threads = cnn.get_num_threads()
    cnn.set_num_threads(1)              -- a second thread only spins on this small model
    finally(function() cnn.set_num_threads(threads) end)
    cnn.manual_seed(1)
    local model = Small()
    local opt = cnn.optim.SGD(model, { lr = 0.01, momentum = 0.9 })
    local x, y = cnn.randn(16, 3, 16, 16), cnn.randint(1, 11, { 16 })
    collectgarbage()
    collectgarbage()
    local base, worst, at
    for step = 1, 200 do
      local loss = F.cross_entropy(model(x), y)
      opt:zero_grad()
      loss:backward()
      opt:step()
      local live = cnn.memory()
      if step == 5 then base = live end
      if base and live > (worst or 0) then worst, at = live, step end
    end
    assert.is_true(worst <= 1.5 * base,
      ("live tensor memory rose from %.2f MB at step 5 to %.2f MB at step %d"):format(base / 2^20, worst / 2^20, at))
  end)
end)

describe("the block cache", function()
  it("makes room for the sizes in use by evicting the sizes asked for least recently", function()
    -- 4 blocks of 1 MiB, then 4 of 1.25 MiB: the cache holds at most 1.5x the live peak, so the
    -- second set fits only if the first (not asked for since) gives way. Before eviction, 2 of
    -- the 4 newer blocks were dropped and re-mapped on every later use.
    cnn.empty_cache()
    collectgarbage(); collectgarbage()
    cnn.reset_peak_memory()
    local mib = 2 ^ 18                                  -- float32 elements in 1 MiB
    local close = getmetatable(cnn.zeros(1)).__close    -- as `local t <close>` at the end of a scope
    local a = {}
    for i = 1, 4 do a[i] = cnn.zeros(mib) end
    for i = 1, 4 do close(a[i]) end
    local b = {}
    for i = 1, 4 do b[i] = cnn.zeros(mib * 5 // 4) end
    for i = 1, 4 do close(b[i]) end
    local _, _, before = cnn.memory()
    for i = 1, 4 do b[i] = cnn.zeros(mib * 5 // 4) end  -- all four from the cache now
    local _, _, after = cnn.memory()
    assert.are.equal(4 * 5 * 2 ^ 20 // 4, before - after)
    for i = 1, 4 do close(b[i]) end
    local live, peak, cached = cnn.memory()
    assert.is_true(cached <= 1.5 * peak, ("cache %d over 1.5x the peak %d"):format(cached, peak))
    cnn.empty_cache()
    local _, _, none = cnn.memory()
    assert.are.equal(0, none)
    assert.is_true(live >= 0)
  end)
end)
