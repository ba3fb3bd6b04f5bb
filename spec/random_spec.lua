-- The generator: xoshiro256** seeded by splitmix64 (csrc/random.c). The expected numbers below
-- were computed by scripts/xoshiro_ref.py, an independent Python re-implementation of both
-- algorithms written from the published descriptions (Blackman & Vigna), run by hand with
-- /usr/bin/python3. They are exact: uniform doubles are (next >> 11) * 2^-53, so the decimal
-- strings below (%.17g) round-trip to the very same bits on any machine.
local cnn = require "cnn"
local H = require "helpers"

local function exact(t, want)
  local got = t:totable()
  assert.are.equal(#want, #got)
  for i = 1, #want do
    assert(got[i] == want[i], ("element %d: got %.17g, want %.17g"):format(i, got[i], want[i]))
  end
end

describe("random", function()
  it("manual_seed fills the state with splitmix64 outputs", function()
    cnn.manual_seed(42)
    assert.are.equal("bdd732262feb6e9528efe333b266f10347526757130f9f52581ce1ff0e4ae394",
                     cnn.get_rng_state():sub(1, 64))
    cnn.manual_seed(0)   -- splitmix64(0) starts 0xe220a8397b1dcdaf, the well-known value
    assert.are.equal("e220a8397b1dcdaf6e789e6aa1b965f406c45d188009454ff88bb8a8724c81ec",
                     cnn.get_rng_state():sub(1, 64))
    cnn.manual_seed(-1)  -- negative seeds are taken as their two's complement
    assert.are.equal("e4d971771b652c20e99ff867dbf682c9382ff84cb27281e96d1db36ccba982d2",
                     cnn.get_rng_state():sub(1, 64))
  end)

  it("rand gives the reference doubles for seed 42", function()
    cnn.manual_seed(42)
    exact(cnn.rand({4}, "float64"), {0.083862971059882163, 0.37898025066266861,
                                      0.68004341102813937, 0.92469294532538759})
  end)

  it("rand in float32 rounds the same doubles", function()
    cnn.manual_seed(42)
    local t = cnn.rand(2, 2)
    assert.are.same({2, 2}, t:size())
    assert.are.equal("float32", t:dtype())
    H.close(t:view(-1), {0.0838629678, 0.378980249, 0.680043399, 0.924692929}, 1e-9)
  end)

  it("randn uses the polar method on the same stream", function()
    cnn.manual_seed(42)
    H.close(cnn.randn({4}, "float64"), {-0.72621913824478568, -0.21119691823195985,
                                         0.22162270150359331, 0.52277168775601457}, 1e-15)
  end)

  it("randint draws without modulo bias (Lemire) in [low, high)", function()
    cnn.manual_seed(2024)
    exact(cnn.randint(0, 10, {8}), {0, 7, 0, 1, 7, 2, 3, 2})
    cnn.manual_seed(2024)
    exact(cnn.randint(-5, 5, 2, 4):view(-1), {-5, 2, -5, -4, 2, -3, -2, -3})
    local r = cnn.randint(math.mininteger, math.maxinteger, {64}, "float64")   -- no overflow
    assert.is_true(r:ge(-2^63):sum():item() == 64)
  end)

  it("uniform_ and normal_ fill in place from the generator", function()
    cnn.manual_seed(7)
    local t = cnn.zeros({3}, "float64")
    assert.are.equal(t, t:uniform_(-2, 3))
    exact(t, {1.5028824108984482, -0.60624385263107872, 2.1981373093820986})
    cnn.manual_seed(42)
    local n = cnn.zeros({2}, "float64"):normal_(10, 2)
    H.close(n, {10 - 2 * 0.72621913824478568, 10 - 2 * 0.21119691823195985}, 1e-14)
    -- strided targets draw in row-major order
    cnn.manual_seed(42)
    local m = cnn.zeros({2, 2}, "float64")
    m:t():uniform_()
    exact(m:t():contiguous():view(-1), {0.083862971059882163, 0.37898025066266861,
                                         0.68004341102813937, 0.92469294532538759})
  end)

  it("get_rng_state/set_rng_state replay a sequence, including a spare normal", function()
    cnn.manual_seed(5)
    local _ = cnn.randn(1)
    local s = cnn.get_rng_state()
    local a = cnn.randn({5}, "float64")
    cnn.set_rng_state(s)
    H.close(cnn.randn({5}, "float64"), a, 0)
  end)

  it("has sane moments", function()
    cnn.manual_seed(1)
    local u = cnn.rand({4000}, "float64")
    assert(math.abs(u:mean():item() - 0.5) < 0.02)
    assert(u:min():item() >= 0 and u:max():item() < 1)
    local n = cnn.randn({4000}, "float64")
    assert(math.abs(n:mean():item()) < 0.05 and math.abs(n:std():item() - 1) < 0.05)
  end)

  it("checks its arguments", function()
    H.errors(function() cnn.manual_seed("x") end, "cnn.manual_seed: argument 1 (seed): expected an integer, got string")
    H.errors(function() cnn.manual_seed(1.5) end, "cnn.manual_seed: argument 1 (seed): expected an integer, got 1.5")
    H.errors(function() cnn.randint(3, 3, {2}) end, "cnn.randint: argument 2 (high): expected high > low, got low 3 and high 3")
    H.errors(function() cnn.randint(0, 2) end, "cnn.randint: argument 3 (shape): expected a shape")
    H.errors(function() cnn.rand(-1) end, "cnn.rand: argument 1 (shape): size 1 must be >= 0, got -1")
    H.errors(function() cnn.randn({2}, "int8") end, "cnn.randn: argument 2 (dtype): expected \"float32\", \"float64\" or \"int64\", got \"int8\"")
    H.errors(function() cnn.zeros(2):uniform_(3, 1) end, "cnn.uniform_: argument 2 (to): expected from <= to, got 3 and 1")
    H.errors(function() cnn.zeros(2):normal_(0, -1) end, "cnn.normal_: argument 2 (std): expected std >= 0, got -1")
    H.errors(function() cnn.set_rng_state("abc") end, "cnn.set_rng_state: argument 1 (state): expected a string from cnn.get_rng_state()")
  end)

  it("does not leak", function()
    H.no_leak(function()
      for _ = 1, 3 do local _ = cnn.rand(8) + cnn.randn(8) + cnn.randint(0, 3, {8}, "float32") + cnn.randint(0, 3, {8}):float() end
    end)
  end)
end)
