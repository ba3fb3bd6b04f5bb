-- PyTorch parity of cnn.image.resize: each case in fixtures/image.lua (written by gen_image.py)
-- gives an image, an output size and F.interpolate(mode="bilinear", align_corners=False,
-- antialias=...)'s result in float64 and float32; checked to 1e-12 and 1e-5.
local cnn = require "cnn"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec/parity"
local TOL = { float64 = 1e-12, float32 = 1e-5 }

local function fixture(t, dtype) return cnn.tensor(t.data, dtype):view(t.shape) end

describe("cnn.image.resize against PyTorch", function()
  for i, c in ipairs(dofile(here .. "/fixtures/image.lua")) do
    for _, dtype in ipairs({ "float64", "float32" }) do
      local what = ("case %d: %s -> %dx%d, antialias=%s, %s"):format(i, table.concat(c.input.shape, "x"),
        c.size[1], c.size[2], tostring(c.antialias), dtype)
      it(what, function()
        local y = cnn.image.resize(fixture(c.input, dtype), c.size, { antialias = c.antialias })
        local want = dtype == "float64" and c.f64 or c.f32
        assert.are.same(want.shape, y:size())
        local d = (y:double() - fixture(want, "float64")):abs():max():item()
        assert(d <= TOL[dtype], ("%s: differs from PyTorch by %g"):format(what, d))
      end)
    end
  end
end)
