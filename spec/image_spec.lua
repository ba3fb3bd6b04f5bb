-- cnn.image: PNG reading of every colour type and depth (files built byte by byte in
-- spec/fixtures/png.lua), saving, bad files, and each transform against hand-computed values.
local cnn = require "cnn"
local H = require "helpers"
local P = require "fixtures.png"
local image = cnn.image

describe("cnn.image", function()
  local dir
  setup(function() dir = P.tmpdir() end)
  teardown(function() P.rmdir(dir) end)
  local function file(name, bytes) return P.write(dir .. "/" .. name, bytes) end

  describe("load", function()
    it("reads 8-bit gray into (1,H,W) in [0,1]", function()
      local p = file("g8.png", P.png(2, 2, 0, 8, { P.bytes(0, 255), P.bytes(51, 102) }))
      local t = image.load(p)
      assert.are.same({ 1, 2, 2 }, t:size())
      assert.are.equal("float32", t:dtype())
      H.close(t, { { { 0, 1 }, { 0.2, 0.4 } } }, 1e-7)
    end)

    it("reads 16-bit gray at full precision", function()
      local p = file("g16.png", P.png(3, 1, 0, 16, { P.u16(0, 65535, 13107) }))
      H.close(image.load(p), { { { 0, 1, 0.2 } } }, 1e-7)
    end)

    it("reads 1-bit gray (expanded by libpng)", function()
      local p = file("g1.png", P.png(4, 1, 0, 1, { P.bytes(0xA0) }))   -- 1010 0000
      H.close(image.load(p), { { { 1, 0, 1, 0 } } }, 1e-7)
    end)

    it("drops the alpha of gray+alpha and RGBA", function()
      local ga = file("ga.png", P.png(2, 1, 4, 8, { P.bytes(51, 0, 255, 255) }))
      H.close(image.load(ga), { { { 0.2, 1 } } }, 1e-7)
      local rgba = file("rgba.png", P.png(1, 1, 6, 8, { P.bytes(255, 51, 0, 7) }))
      H.close(image.load(rgba), { { { 1 } }, { { 0.2 } }, { { 0 } } }, 1e-7)
    end)

    it("reads 8- and 16-bit RGB as (3,H,W)", function()
      local p = file("rgb.png", P.png(2, 1, 2, 8, { P.bytes(255, 0, 51, 0, 102, 255) }))
      H.close(image.load(p), { { { 1, 0 } }, { { 0, 0.4 } }, { { 0.2, 1 } } }, 1e-7)
      local q = file("rgb16.png", P.png(1, 1, 2, 16, { P.u16(65535, 13107, 0) }))
      H.close(image.load(q), { { { 1 } }, { { 0.2 } }, { { 0 } } }, 1e-7)
    end)

    it("reads 8-bit and 2-bit palette images", function()
      local plte = P.bytes(255, 0, 0, 0, 0, 255, 51, 51, 51)
      local p = file("pal8.png", P.png(3, 1, 3, 8, { P.bytes(0, 1, 2) }, { plte = plte }))
      H.close(image.load(p), { { { 1, 0, 0.2 } }, { { 0, 0, 0.2 } }, { { 0, 1, 0.2 } } }, 1e-7)
      local q = file("pal2.png", P.png(3, 1, 3, 2, { P.bytes(0x24) }, { plte = plte }))  -- 00 10 01 00
      H.close(image.load(q), { { { 1, 0.2, 0 } }, { { 0, 0.2, 0 } }, { { 0, 0.2, 1 } } }, 1e-7)
    end)

    it("reads Adam7-interlaced files", function()
      -- 2x2: pass 1 holds (1,1), pass 6 (1,2), pass 7 the second row
      local p = file("adam7.png", P.png(2, 2, 0, 8, { P.bytes(0), P.bytes(51), P.bytes(102, 255) }, { interlace = true }))
      H.close(image.load(p), { { { 0, 0.2 }, { 0.4, 1 } } }, 1e-7)
    end)

    it("converts with {channels=}", function()
      local g = file("g.png", P.png(1, 1, 0, 8, { P.bytes(51) }))
      H.close(image.load(g, { channels = 3 }), { { { 0.2 } }, { { 0.2 } }, { { 0.2 } } }, 1e-7)
      local red = file("red.png", P.png(1, 1, 2, 8, { P.bytes(255, 0, 0) }))
      local y = image.load(red, { channels = 1 })
      assert.are.same({ 1, 1, 1 }, y:size())
      assert.is_true(math.abs(y:item() - 0.2126) < 2 / 255)      -- libpng's Rec. 709 weights
    end)

    it("names the file and the place in errors", function()
      local good = P.png(4, 4, 0, 8, { ("\1"):rep(4), ("\2"):rep(4), ("\3"):rep(4), ("\4"):rep(4) })
      local p = file("trunc.png", good:sub(1, 40))
      H.errors(function() image.load(p) end, "cnn.image.load: " .. p .. ": truncated at byte 40")
      local s = file("sig.png", "GIF89a" .. good:sub(7))
      H.errors(function() image.load(s) end, "cnn.image.load: " .. s .. ": not a PNG or JPEG file (it starts with bytes 47 49 46 38)")
      local function flip(i) return good:sub(1, i - 1) .. string.char(good:byte(i) ~ 0xFF) .. good:sub(i + 1) end
      local c = file("crc.png", flip(30))                               -- IHDR's CRC
      H.errors(function() image.load(c) end, "cnn.image.load: " .. c .. ": IHDR: CRC error (near byte 33)")
      local z = file("zlib.png", flip(51))                              -- inside the IDAT data
      H.errors(function() image.load(z) end, "cnn.image.load: " .. z .. ": IDAT: incorrect data check")
      H.errors(function() image.load(dir .. "/none.png") end, "cnn.image.load: " .. dir .. "/none.png: cannot open: No such file")
      H.errors(function() image.load(p, { channels = 2 }) end, "cnn.image.load: argument 2 (channels): expected 1 or 3, got 2")
      H.errors(function() image.load(dir .. "/short.png") end, "cannot open")
      local e = file("empty.png", "")
      H.errors(function() image.load(e) end, e .. ": truncated at byte 0")
    end)
  end)

  describe("save", function()
    it("round-trips gray and RGB values on the 1/255 grid, clamping outside [0,1]", function()
      local t = cnn.tensor({ { { 0, 51 / 255, 1 } }, { { 2, -1, 0.4 } }, { { 0.2, 0.6, 0.8 } } })
      local p = dir .. "/rt.png"
      image.save(t, p)
      H.close(image.load(p), { { { 0, 0.2, 1 } }, { { 1, 0, 0.4 } }, { { 0.2, 0.6, 0.8 } } }, 1e-7)
      image.save(cnn.tensor({ { 0.2, 0.4 } }), p)           -- (H,W) is gray
      assert.are.same({ 1, 1, 2 }, image.load(p):size())
    end)
    it("refuses other shapes and unwritable paths", function()
      H.errors(function() image.save(cnn.zeros(2, 3, 3), dir .. "/x.png") end,
        "cnn.image.save: " .. dir .. "/x.png: expected a non-empty (1,H,W), (3,H,W) or (H,W) tensor, got float32 [2,3,3]")
      H.errors(function() image.save(cnn.zeros(1, 2, 2), dir .. "/no/such/dir.png") end, "cannot open for writing")
    end)
  end)

  describe("transforms", function()
    local x = cnn.tensor({ { { 0, 1 }, { 2, 3 } } })

    it("resize upsamples with half-pixel centres", function()
      local w = { 0, 0.25, 0.75, 1 }
      local want = {}
      for i = 1, 4 do want[i] = {} for j = 1, 4 do want[i][j] = 2 * w[i] + w[j] end end
      H.close(image.resize(x, 4), { want }, 1e-6)
      H.close(image.resize(x:double(), { 4, 4 }), { want }, 1e-12)
    end)
    it("resize without antialias downsamples by averaging the 2x2 neighbourhoods at factor 2", function()
      local a = cnn.arange(16):view(1, 4, 4)
      H.close(image.resize(a, 2, { antialias = false }), { { { 2.5, 4.5 }, { 10.5, 12.5 } } }, 1e-6)
      assert.are.same({ 1, 3, 5 }, image.resize(a, { 3, 5 }):size())
    end)
    it("resize antialiases by default: a triangle twice as wide at factor 2, renormalised at the edges", function()
      -- along one axis 0,1,2,3 -> output 1 centred at 1: weights 3/7, 3/7, 1/7 on 0,1,2 -> 5/7;
      -- output 2 centred at 3: 1/7, 3/7, 3/7 on 1,2,3 -> 16/7; arange is 4 row + column
      local a = cnn.arange(16):view(1, 4, 4)
      local r = { 5 / 7, 16 / 7 }
      local want = { { 4 * r[1] + r[1], 4 * r[1] + r[2] }, { 4 * r[2] + r[1], 4 * r[2] + r[2] } }
      H.close(image.resize(a, 2), { want }, 1e-5)
      H.close(image.resize(a:double(), 2, { antialias = true }), { want }, 1e-12)
      local rows = {}                                     -- { 2, 4 }: only the rows are mixed
      for i = 1, 2 do rows[i] = {} for j = 1, 4 do rows[i][j] = 4 * r[i] + j - 1 end end
      H.close(image.resize(a:double(), { 2, 4 }), { rows }, 1e-12)
    end)
    it("resize with antialias does not alias a fine checkerboard", function()
      local rows = {}
      for r = 1, 60 do rows[r] = {} for c = 1, 60 do rows[r][c] = (r + c) % 2 end end
      local board = cnn.tensor({ rows })                             -- 1-pixel checkerboard, mean 0.5
      local aa = image.resize(board, 12)                             -- factor 5: an 11-tap triangle
      assert.is_true((aa - 0.5):abs():max():item() < 0.01)
      -- without: each output lands exactly on one pixel (5i + 2), and the board comes out whole
      local plain = image.resize(board, 12, { antialias = false })
      assert.are.equal(0.5, (plain - 0.5):abs():min():item())
      image.resize(board:double(), { 3, 60 })                        -- one axis only
    end)
    it("resize upsamples the same with and without antialias", function()
      local a = cnn.rand(2, 3, 5)
      H.close(image.resize(a, { 7, 11 }), image.resize(a, { 7, 11 }, { antialias = false }), 1e-6)
    end)
    it("crops", function()
      local a = cnn.arange(20):view(1, 4, 5)
      H.close(image.crop(a, 2, 3, 2, 2), { { { 7, 8 }, { 12, 13 } } })
      H.close(image.center_crop(a, 2), { { { 6, 7 }, { 11, 12 } } })
      H.close(image.square_crop(a), { { { 0, 1, 2, 3 }, { 5, 6, 7, 8 }, { 10, 11, 12, 13 }, { 15, 16, 17, 18 } } })
      H.close(image.square_crop(cnn.arange(6):view(1, 3, 2)), { { { 0, 1 }, { 2, 3 } } })
      H.errors(function() image.crop(a, 4, 1, 2, 2) end, "cnn.image.crop: a 2x2 crop at (4,1) does not fit in a 4x5 image")
      H.errors(function() image.center_crop(a, 6) end, "cnn.image.center_crop: argument 2 (size): 6x6 is larger than the 4x5 image")
    end)
    it("flips", function()
      local a = cnn.arange(6):view(1, 2, 3)
      H.close(image.hflip(a), { { { 2, 1, 0 }, { 5, 4, 3 } } })
      H.close(image.vflip(a), { { { 3, 4, 5 }, { 0, 1, 2 } } })
    end)
    it("rotates counter-clockwise about the centre", function()
      local a = cnn.arange(9):view(1, 3, 3)
      H.close(image.rotate(a, 90), { { { 2, 5, 8 }, { 1, 4, 7 }, { 0, 3, 6 } } })
      H.close(image.rotate(a, 180), { { { 8, 7, 6 }, { 5, 4, 3 }, { 2, 1, 0 } } })
      H.close(image.rotate(a, -90), image.rotate(a, 270))
      local r = image.rotate(cnn.ones(1, 5, 5), 45)
      assert.are.equal(1, r:get(1, 3, 3))
      assert.is_true(r:get(1, 1, 1) < 0.5)                        -- corners leave the image: fill
      assert.is_true(image.rotate(cnn.ones(1, 5, 5), 45, 7):get(1, 1, 1) > 1)
    end)
    it("adjusts brightness, contrast and saturation, clamped to [0,1]", function()
      H.close(image.adjust_brightness(cnn.tensor({ { { 0.2, 0.6 } } }), 2), { { { 0.4, 1 } } }, 1e-6)
      H.close(image.adjust_contrast(cnn.tensor({ { { 0, 0.5, 1, 0.5 } } }), 0.5), { { { 0.25, 0.5, 0.75, 0.5 } } }, 1e-6)
      -- RGB: contrast blends with the mean of the gray image (0.299 R + 0.587 G + 0.114 B)
      local rgb = cnn.tensor({ { { 1, 0 } }, { { 0, 0 } }, { { 0, 1 } } })       -- red, blue
      local m = (0.299 + 0.114) / 2
      H.close(image.adjust_contrast(rgb, 0), cnn.full({ 3, 1, 2 }, m), 1e-6)
      H.close(image.adjust_saturation(rgb, 0), { { { 0.299, 0.114 } }, { { 0.299, 0.114 } }, { { 0.299, 0.114 } } }, 1e-6)
      H.close(image.adjust_saturation(rgb, 1), rgb)
      H.errors(function() image.adjust_saturation(cnn.zeros(1, 2, 2), 1) end,
        "cnn.image.adjust_saturation: expected a 3-channel (RGB) image, got float32 [1,2,2]")
      H.errors(function() image.adjust_brightness(rgb, -1) end, "cnn.image.adjust_brightness: expected a finite factor >= 0, got -1")
    end)
    it("normalizes per channel", function()
      local t = cnn.tensor({ { { 1, 0 } }, { { 0.5, 1 } } })
      H.close(image.normalize(t, { 0.5, 0.5 }, { 0.25, 0.5 }), { { { 2, -2 } }, { { 0, 1 } } }, 1e-6)
      H.close(image.normalize(t, 0.5, 0.25), { { { 2, -2 } }, { { 0, 2 } } }, 1e-6)
      H.errors(function() image.normalize(t, { 1, 2, 3 }, { 1, 1, 1 }) end,
        "cnn.image.normalize: expected 1 or 2 mean/std values (one per channel), got 3")
      H.errors(function() image.normalize(t, 0, 0) end, "cnn.image.normalize: std 1 is 0: expected non-zero")
    end)
    it("converts to gray with BT.601 weights", function()
      local rgb = cnn.tensor({ { { 1, 0, 0 } }, { { 0, 1, 0 } }, { { 0, 0, 1 } } }, "float64")
      H.close(image.to_gray(rgb), { { { 0.299, 0.587, 0.114 } } }, 1e-12)
    end)
    it("overlays a heat map as a jet colour map", function()
      local img = cnn.zeros(3, 1, 1)
      H.close(image.overlay(img, cnn.full({ 1, 1 }, 0.5), 1), { { { 0.5 } }, { { 1 } }, { { 0.5 } } }, 1e-6)
      H.close(image.overlay(cnn.ones(1, 1, 1), cnn.zeros(1, 1, 1)), { { { 0.5 } }, { { 0.5 } }, { { 0.75 } } }, 1e-6)
      H.errors(function() image.overlay(img, cnn.zeros(2, 2)) end,
        "cnn.image.overlay: expected a heat map of (H,W) or (1,H,W) matching the image float32 [3,1,1], got float32 [2,2]")
    end)
    it("tiles a grid", function()
      local g = image.grid({ cnn.zeros(1, 2, 2), cnn.zeros(1, 2, 2), cnn.zeros(1, 2, 2) }, 2, { pad = 1 })
      assert.are.same({ 1, 7, 7 }, g:size())
      assert.are.equal(0, g:get(1, 2, 2))
      assert.are.equal(1, g:get(1, 1, 1))
      assert.are.equal(1, g:get(1, 5, 5))                          -- the empty fourth cell
      assert.are.same({ 3, 4, 7 }, image.grid({ cnn.zeros(1, 2, 2), cnn.zeros(3, 2, 2) }, 2, { pad = 1 }):size())
    end)
    it("checks the image argument", function()
      H.errors(function() image.resize(cnn.zeros(2, 2), 4) end, "cnn.image.resize: expected a (C,H,W) image tensor, got float32 [2,2]")
      H.errors(function() image.hflip(cnn.zeros(2)) end, "cnn.image.hflip: expected a (C,H,W) image tensor, got float32 [2]")
      H.errors(function() image.resize(x, 0) end, "cnn.image.resize: expected an output size of at least 1x1, got 0x0")
      H.errors(function() image.resize(x, 2, { antialias = "yes" }) end, "cnn.image.resize: argument 3 (antialias): expected a boolean, got \"yes\"")
      H.errors(function() image.resize(x, 2, { antialiasing = true }) end, "cnn.image.resize: argument 3")
      H.errors(function() image.resize(x, 2, 1) end, "cnn.image.resize: argument 3 (options): expected an options table, got 1")
      H.errors(function() image.rotate("x", 1) end, "cnn.image.rotate: argument 1 (image): expected a tensor, got string")
    end)
    it("refuses non-finite angles, factors, fills and normalisation values (rotate(1/0) crashed)", function()
      local img = cnn.rand(3, 8, 8)
      H.errors(function() image.rotate(img, 1 / 0) end, "cnn.image.rotate: argument 2 (degrees): expected a finite number, got inf")
      H.errors(function() image.rotate(img, -1 / 0) end, "cnn.image.rotate: argument 2 (degrees): expected a finite number, got -inf")
      H.errors(function() image.rotate(img, 0 / 0) end, "cnn.image.rotate: argument 2 (degrees): expected a finite number")
      H.errors(function() image.rotate(img, 30, 0 / 0) end, "cnn.image.rotate: argument 3 (fill): expected a finite number")
      -- random_rotation draws from a huge range without overflowing to infinity (it crashed)
      local r = image.random_rotation(img, 1e308)
      assert.are.same({3, 8, 8}, r:size())
      assert.is_true(r:sum():item() == r:sum():item())   -- no NaN
      H.errors(function() image.color_jitter(img, { brightness = 1 / 0 }) end, "expected a finite number, got inf")
      H.errors(function() image.adjust_contrast(img, 1 / 0) end,
        "cnn.image.adjust_contrast: argument 2 (factor): expected a finite number, got inf")
      H.errors(function() image.normalize(img, 0 / 0, 1) end, "cnn.image.normalize: argument 2 (mean): expected a finite number")
      H.errors(function() image.normalize(img, { 0, 0, 0 }, { 1, 1 / 0, 1 }) end,
        "cnn.image.normalize: argument 3 (std): value 2 is inf, expected a finite number")
      -- huge finite angles are exact quarter turns or plain rotations, always finite
      for _, deg in ipairs { 1e308, -1e308, 2 ^ 62 * 90, 1e300 + 0.5, 1e-300 } do
        local r = image.rotate(img, deg)
        assert.is_true(r:eq(r):sum():item() == r:numel(), "NaN after rotate(" .. deg .. ")")
      end
      H.close(image.rotate(img, 2 ^ 40 * 360 + 90), image.rotate(img, 90))
    end)
  end)

  describe("random transforms", function()
    local a = cnn.arange(48):view(3, 4, 4) / 48
    it("draw from the seeded generator", function()
      local f = image.compose {
        image.random_hflip,
        function(t) return image.random_rotation(t, 20) end,
        function(t) return image.random_crop(t, 3) end,
        function(t) return image.color_jitter(t, { brightness = 0.3, contrast = 0.3, saturation = 0.3 }) end,
      }
      cnn.manual_seed(5)
      local y1 = f(a)
      cnn.manual_seed(5)
      local y2 = f(a)
      assert.are.same({ 3, 3, 3 }, y1:size())
      H.close(y1, y2, 0)
      local differ = false
      for s = 1, 5 do cnn.manual_seed(s); if H.maxdiff(f(a), y1) > 0 then differ = true end end
      assert.is_true(differ)
    end)
    it("random_hflip with p = 1 and p = 0", function()
      H.close(image.random_hflip(a, 1), image.hflip(a))
      H.close(image.random_hflip(a, 0), a)
    end)
    it("random_crop stays inside", function()
      for _ = 1, 20 do assert.are.same({ 3, 2, 3 }, image.random_crop(a, { 2, 3 }):size()) end
    end)
    it("compose checks its elements", function()
      H.errors(function() image.compose { image.hflip, 3 } end, "cnn.image.compose: argument 1 (transforms[2]): expected a function, got 3")
    end)
  end)

  it("leaks nothing", function()
    local p = dir .. "/leak.png"
    H.no_leak(function()
      image.save(cnn.rand(3, 8, 8), p)
      local t = image.load(p)
      image.overlay(image.rotate(image.resize(t, 5), 30), cnn.rand(5, 5))
      pcall(image.load, dir .. "/none.png")
    end)
  end)
end)
