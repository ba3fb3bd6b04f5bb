local cnn = require "cnn"
local F = cnn.F
local H = require "helpers"

local f64 = { dtype = "float64", requires_grad = true }
local function t64(v) return cnn.tensor(v, "float64") end

describe("pad", function()
  local x = t64({{1, 2, 3}, {4, 5, 6}})

  it("pads the last dimension first, in PyTorch's order", function()
    H.close(F.pad(x, {1, 2}), {{0, 1, 2, 3, 0, 0}, {0, 4, 5, 6, 0, 0}}, 0)
    H.close(F.pad(x, {0, 0, 1, 0}, "constant", 7), {{7, 7, 7}, {1, 2, 3}, {4, 5, 6}}, 0)
    H.close(F.pad(x, {-1, 1}), {{2, 3, 0}, {5, 6, 0}}, 0)          -- negative pads crop
  end)

  it("reflects, replicates and wraps around", function()
    H.close(F.pad(x, {2, 1}, "reflect"), {{3, 2, 1, 2, 3, 2}, {6, 5, 4, 5, 6, 5}}, 0)
    H.close(F.pad(x, {1, 2}, "replicate"), {{1, 1, 2, 3, 3, 3}, {4, 4, 5, 6, 6, 6}}, 0)
    H.close(F.pad(x, {2, 1}, "circular"), {{2, 3, 1, 2, 3, 1}, {5, 6, 4, 5, 6, 4}}, 0)
    H.close(F.pad(x, {0, 0, 1, 1}, "reflect"), {{4, 5, 6}, {1, 2, 3}, {4, 5, 6}, {1, 2, 3}}, 0)
  end)

  it("gradchecks every mode, also on strided input", function()
    cnn.manual_seed(6)
    local a = cnn.randn({2, 3, 4}, f64)
    H.gradcheck(function(t) return F.pad(t, {1, 2, 0, 1}, "constant", 0.5) end, {a})
    H.gradcheck(function(t) return F.pad(t, {-1, 2}) end, {a})
    H.gradcheck(function(t) return F.pad(t, {3, 1, 2, 2}, "reflect") end, {a})
    H.gradcheck(function(t) return F.pad(t, {2, 3, 1, 0}, "replicate") end, {a})
    H.gradcheck(function(t) return F.pad(t, {4, 2}, "circular") end, {a})
    H.gradcheck(function(t) return F.pad(t:transpose(2, 3), {1, 1, 1, 1}, "reflect") end, {a})
  end)

  it("float32 agrees with float64", function()
    local a = cnn.randn({2, 3, 4}, "float64")
    for _, m in ipairs { "constant", "reflect", "replicate", "circular" } do
      local y32 = F.pad(a:float(), {1, 2, 2, 1}, m)
      assert.are.equal("float32", y32:dtype())
      H.close(y32, F.pad(a, {1, 2, 2, 1}, m), 1e-6)
    end
  end)

  it("raises on bad arguments", function()
    H.errors(function() F.pad(x) end, "cnn.pad: argument 2 (pads): expected a table of integers, got no value")
    H.errors(function() F.pad(x, {1}) end,
      "cnn.pad: argument 2 (pads): expected an even number of pads, at most 4 for a 2-D input, got 1")
    H.errors(function() F.pad(x, {1, 1, 1, 1, 1, 1}) end,
      "cnn.pad: argument 2 (pads): expected an even number of pads, at most 4 for a 2-D input, got 6")
    H.errors(function() F.pad(x, {1, 0.5}) end, "cnn.pad: argument 2 (pads): element 2 is not an integer")
    H.errors(function() F.pad(x, {1, 1}, "mirror") end,
      'cnn.pad: argument 3 (mode): expected "constant", "reflect", "replicate" or "circular", got mirror')
    H.errors(function() F.pad(x, {1, 1}, "reflect", 2) end,
      'cnn.pad: argument 4 (value): a fill value applies only to mode "constant"')
    H.errors(function() F.pad(x, {3, 0}, "reflect") end,
      "cnn.pad: argument 2 (pads): reflect padding of dimension 2 (size 3) by 3 and 0: each pad must be at most 2")
    H.errors(function() F.pad(x, {0, 4}, "circular") end,
      "cnn.pad: argument 2 (pads): circular padding of dimension 2 (size 3) by 0 and 4: each pad must be at most 3")
    H.errors(function() F.pad(x, {-2, -2}) end,
      "cnn.pad: argument 2 (pads): pads -2 and -2 would give dimension 2 of float64 [2,3] a negative size")
  end)

  it("leaks nothing", function()
    H.no_leak(function()
      local a = cnn.randn({2, 3}, {requires_grad = true})
      F.pad(a, {1, 1, 1, 1}, "reflect"):sum():backward()
      pcall(F.pad, a, {5, 5}, "reflect")
      a = nil
    end)
  end)

  it("refuses pads whose sizes overflow (issue 16)", function()
    H.errors(function() F.pad(x, {2 ^ 62, 2 ^ 62}) end,
      "cnn.pad: argument 2 (pads): pads 4611686018427387904 and 4611686018427387904 of dimension 2 of float64 [2,3] " ..
      "are too large (the size overflows)")
    -- this one allocated its index maps with an overflowed size and wrote past them
    H.errors(function() F.pad(x, {2 ^ 62, 0}) end,
      "cnn.pad: argument 2 (pads): the output [2,4611686018427387907] of padding float64 [2,3] is too large " ..
      "(the element count overflows)")
    -- crops and pads near the integer limits that leave a valid size
    H.close(F.pad(t64({1, 2, 3}), {math.mininteger, math.maxinteger}), {0, 0}, 0)
    H.close(F.pad(t64({1, 2, 3}), {-2, 1 - 2 ^ 40 + 2 ^ 40}), {3, 0}, 0)
  end)
end)
