-- cnn.image and JPEG: decoded pixels against Pillow's (spec/fixtures/jpeg, written by
-- gen_jpeg.py with the same libjpeg-turbo) for gray, 4:2:0, 4:2:2, 4:4:4 and progressive files,
-- max_side's scaled IDCT against Pillow's draft, every error path with its message, the writer
-- (round trip, quality, atomic), format detection by content, and ImageFolder/CsvImageDataset
-- with mixed PNG and JPEG files.
local cnn = require "cnn"
local H = require "helpers"
local P = require "fixtures.png"
local image = cnn.image

local FIX = "spec/fixtures/jpeg/"
local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- Pillow's decoded bytes as a float32 tensor in [0,1]
local function pillow(values, shape)
  local s = read(FIX .. values)
  assert(#s == shape[1] * shape[2] * shape[3], values .. ": size")
  local t = {}
  for i = 1, #s do t[i] = s:byte(i) / 255 end
  return cnn.tensor(t):view(shape)
end

describe("cnn.image JPEG", function()
  local dir
  setup(function() dir = P.tmpdir() end)
  teardown(function() P.rmdir(dir) end)
  local function file(name, bytes) return P.write(dir .. "/" .. name, bytes) end
  local rgb420 = read(FIX .. "rgb420.jpg")
  local sos = rgb420:find("\xFF\xDA", 1, true)   -- the start of scan marker: entropy-coded data follow

  describe("load matches Pillow within 1/255", function()
    for _, c in ipairs(dofile(FIX .. "manifest.lua")) do
      it(c.name .. " " .. table.concat(c.shape, "x"), function()
        local t = image.load(FIX .. c.file, next(c.opts) and c.opts or nil)
        assert.are.equal("float32", t:dtype())
        assert.are.same(c.shape, t:size())
        H.close(t, pillow(c.values, c.shape), 1 / 255 + 1e-6)
      end)
    end
  end)

  describe("load", function()
    it("detects the format from the first bytes, not the name", function()
      local j = file("photo.png", rgb420)                        -- a JPEG named .png
      H.close(image.load(j), image.load(FIX .. "rgb420.jpg"), 0)
      local png = P.png(2, 1, 0, 8, { P.bytes(0, 255) })
      H.close(image.load(file("really_png.jpg", png)), { { { 0, 1 } } }, 1e-7)
      H.close(image.load(file("noext", rgb420)), image.load(FIX .. "rgb420.jpg"), 0)
    end)

    it("max_side picks the smallest scale whose longer side is still >= max_side", function()
      local f = FIX .. "big.jpg"                                 -- 203x121
      local sizes = { [1] = { 16, 26 }, [102] = { 61, 102 }, [103] = { 121, 203 }, [52] = { 61, 102 },
                      [51] = { 31, 51 }, [27] = { 31, 51 }, [26] = { 16, 26 }, [2] = { 16, 26 }, [1000] = { 121, 203 } }
      for m, hw in pairs(sizes) do
        local t = image.load(f, { max_side = m })
        assert.are.same({ 3, hw[1], hw[2] }, t:size(), "max_side " .. m)
      end
      assert.are.same({ 3, 121, 203 }, image.load(f):size())
    end)

    it("max_side leaves PNG files at full size", function()
      local p = file("wide.png", P.png(4, 1, 0, 8, { P.bytes(0, 51, 102, 255) }))
      assert.are.same({ 1, 1, 4 }, image.load(p, { max_side = 1 }):size())
    end)

    it("leaks nothing, on success or error", function()
      local bad = file("leak.jpg", rgb420:sub(1, sos + 20))
      H.no_leak(function()
        for _ = 1, 3 do
          image.load(FIX .. "progressive.jpg", { max_side = 4 })
          pcall(image.load, bad)
        end
      end)
    end)
  end)

  describe("load errors name the function, the file and libjpeg's message", function()
    local function fails(name, bytes, msg)
      local p = file(name, bytes)
      H.errors(function() image.load(p) end, "cnn.image.load: " .. p .. ": " .. msg)
    end
    it("truncated in the entropy-coded data", function()
      fails("trunc.jpg", rgb420:sub(1, sos + 40), ("Premature end of JPEG file (truncated: the file has %d bytes)"):format(sos + 40))
    end)
    it("truncated in the header", function()
      fails("trunc_hdr.jpg", rgb420:sub(1, 100), "Premature end of JPEG file (truncated: the file has 100 bytes)")
    end)
    it("bad marker (a corrupt-data warning is an error)", function()
      fails("marker.jpg", rgb420:sub(1, 2) .. "\xFF\x01" .. rgb420:sub(5), "Corrupt JPEG data: 16 extraneous bytes before marker 0xdb")
    end)
    it("bad Huffman code", function()
      fails("huff.jpg", rgb420:sub(1, sos + 34) .. "\xFE" .. rgb420:sub(sos + 36), "Corrupt JPEG data: bad Huffman code")
    end)
    it("premature end of data segment", function()
      fails("seg.jpg", rgb420:sub(1, sos + 13) .. "\xFF" .. rgb420:sub(sos + 15), "Corrupt JPEG data: premature end of data segment")
    end)
    it("unsupported SOF type", function()
      fails("sof.jpg", (rgb420:gsub("\xFF\xC0", "\xFF\xCF", 1)), "Unsupported JPEG process: SOF type 0xcf")
    end)
    it("no image", function() fails("eoi.jpg", "\xFF\xD8\xFF\xD9", "JPEG datastream contains no image") end)
    it("not a PNG or JPEG", function()
      fails("gif.jpg", "GIF89a\1\0\1\0", "not a PNG or JPEG file (it starts with bytes 47 49 46 38)")
      fails("one.jpg", "\xFF", "not a PNG or JPEG file (it starts with bytes FF)")
    end)
    it("CMYK refused", function()
      H.errors(function() image.load(FIX .. "cmyk.jpg") end, "cnn.image.load: " .. FIX .. "cmyk.jpg: CMYK JPEG files are not supported (convert it to RGB first")
    end)
    it("too many pixels (a decompression bomb), before any decoding", function()
      local big = rgb420:gsub("\xFF\xC0(..).....", function(l) return "\xFF\xC0" .. l .. "\8" .. string.pack(">I2I2", 60000, 60000) end, 1)
      fails("bomb.jpg", big, "60000x60000 pixels is more than the limit of 268435456 pixels")
    end)
    it("bad arguments", function()
      H.errors(function() image.load(FIX .. "big.jpg", { max_side = 0 }) end, "cnn.image.load: argument 2 (max_side): expected a positive integer, got 0")
      H.errors(function() image.load(FIX .. "big.jpg", { max_side = 2.5 }) end, "cnn.image.load: argument 2 (max_side)")
      H.errors(function() image.load(FIX .. "big.jpg", { max_side = "8" }) end, "cnn.image.load: argument 2 (max_side)")
      H.errors(function() image.load(FIX .. "big.jpg", { size = 8 }) end, "cnn.image.load: argument 2")
      H.errors(function() image.load(FIX .. "big.jpg", { channels = 4 }) end, "cnn.image.load: argument 2 (channels): expected 1 or 3, got 4")
      H.errors(function() image.load(7) end, "cnn.image.load: argument 1 (path): expected a string, got 7")
      H.errors(function() image.load(FIX .. "big.jpg", 3) end, "cnn.image.load: argument 2")
    end)
  end)

  describe("save", function()
    local pic                       -- the fixture picture (3,11,17), exactly on the 1/255 grid
    setup(function() pic = pillow("pic.u8", { 3, 11, 17 }) end)

    it("writes JPEG for .jpg and .jpeg (any case), PNG otherwise", function()
      for _, name in ipairs({ "a.jpg", "b.JPEG", "c.Jpg" }) do
        image.save(pic, dir .. "/" .. name)
        assert.are.equal("\xFF\xD8\xFF", read(dir .. "/" .. name):sub(1, 3), name)
      end
      image.save(pic, dir .. "/d.png")
      assert.are.equal("\x89PNG", read(dir .. "/d.png"):sub(1, 4))
    end)

    it("round-trips within JPEG's loss; quality trades size for error", function()
      local err, size = {}, {}
      -- smooth ramps (red along x, green along y, blue constant): little for 4:2:0 to lose
      local smooth = cnn.stack({ cnn.linspace(0, 1, 17):view(1, 17):expand(11, 17),
                                 cnn.linspace(0, 1, 11):view(11, 1):expand(11, 17), cnn.full({ 11, 17 }, 0.5) })
      for _, q in ipairs({ 30, 90, 100 }) do
        local p = dir .. "/q" .. q .. ".jpg"
        image.save(smooth, p, { quality = q })
        local back = image.load(p)
        assert.are.same({ 3, 11, 17 }, back:size())
        err[q] = (back - smooth):abs():mean():item()
        size[q] = #read(p)
      end
      assert.is_true(err[100] < 0.01, "q100 error " .. err[100])
      assert.is_true(err[100] < err[90] and err[90] < err[30], "errors " .. err[30] .. " " .. err[90] .. " " .. err[100])
      assert.is_true(size[30] < size[90] and size[90] < size[100])
      image.save(smooth, dir .. "/dflt.jpg")                                -- default quality 90
      assert.are.equal(read(dir .. "/q90.jpg"), read(dir .. "/dflt.jpg"))
    end)

    it("uses libjpeg's quality scaling: the same quantisation tables as Pillow", function()
      local function dqt(s)                                  -- every DQT segment's bytes
        local out, i = {}, 1
        while true do
          local a = s:find("\xFF\xDB", i, true)
          if not a then break end
          local len = s:byte(a + 2) * 256 + s:byte(a + 3)
          out[#out + 1] = s:sub(a, a + 1 + len)
          i = a + 2 + len
        end
        return table.concat(out)
      end
      for _, q in ipairs({ 75, 30 }) do
        image.save(pic, dir .. "/t.jpg", { quality = q })
        local want = dqt(read(FIX .. "pillow_q" .. q .. ".jpg"))
        assert.is_true(#want > 0)
        assert.are.equal(want, dqt(read(dir .. "/t.jpg")), "quality " .. q)
      end
    end)

    it("writes gray for (H,W) and (1,H,W), clamps values and writes NaN as 0", function()
      local g = cnn.tensor({ { 0, 0.5, 2, -1 }, { 0 / 0, 1, 0.25, 0.75 } })
      image.save(g, dir .. "/g.jpg", { quality = 100 })
      local back = image.load(dir .. "/g.jpg")
      assert.are.same({ 1, 2, 4 }, back:size())
      H.close(back, { { { 0, 0.5, 1, 0 }, { 0, 1, 0.25, 0.75 } } }, 0.05)
      image.save(g:view(1, 2, 4), dir .. "/g1.jpg")
      assert.are.same({ 1, 2, 4 }, image.load(dir .. "/g1.jpg"):size())
    end)

    it("is atomic: a failed write leaves the old file", function()
      local p = dir .. "/keep.jpg"
      image.save(pic, p)
      local old = read(p)
      H.errors(function() image.save(cnn.zeros(2, 3, 3), p) end, "expected a non-empty (1,H,W), (3,H,W) or (H,W) tensor")
      assert.are.equal(old, read(p))
    end)

    it("errors", function()
      local p = dir .. "/e.jpg"
      H.errors(function() image.save(cnn.zeros(2, 3, 3), p) end,
        "cnn.image.save: " .. p .. ": expected a non-empty (1,H,W), (3,H,W) or (H,W) tensor, got float32 [2,3,3]")
      H.errors(function() image.save(cnn.zeros(1, 1, 65536), p) end, "cnn.image.save: " .. p .. ": 1x65536 is too large for JPEG (at most 65500 pixels a side)")
      H.errors(function() image.save(pic, p, { quality = 0 }) end, "cnn.image.save: argument 3 (quality): expected a positive integer, got 0")
      H.errors(function() image.save(pic, p, { quality = 101 }) end, "cnn.image.save: argument 3 (quality): expected an integer in 1..100, got 101")
      H.errors(function() image.save(pic, p, { quality = 0.5 }) end, "cnn.image.save: argument 3 (quality)")
      H.errors(function() image.save(pic, p, { qualty = 9 }) end, "cnn.image.save: argument 3")
      H.errors(function() image.save(pic, dir .. "/x.png", { quality = 9 }) end,
        "cnn.image.save: argument 3 (quality): applies to JPEG files only (.jpg, .jpeg), got " .. dir .. "/x.png")
      H.errors(function() image.save(pic, dir .. "/no/such/dir/x.jpg") end, "cnn.image.save: " .. dir .. "/no/such/dir/x.jpg: ")
      H.errors(function() image.save("pic", p) end, "cnn.image.save: argument 1 (image): expected a tensor")
    end)
  end)

  describe("data sets read JPEG like PNG", function()
    it("ImageFolder takes .png, .jpg and .jpeg files of a mixed folder", function()
      local root = dir .. "/folder"
      os.execute(("mkdir -p %s/a %s/b"):format(root, root))
      image.save(cnn.full({ 3, 8, 8 }, 0.2), root .. "/a/1.png")
      image.save(cnn.full({ 3, 8, 8 }, 0.6), root .. "/a/2.jpg", { quality = 100 })
      image.save(cnn.full({ 3, 8, 8 }, 0.8), root .. "/b/3.JPEG", { quality = 100 })
      P.write(root .. "/b/notes.txt", "not an image")
      local ds = cnn.data.ImageFolder(root)
      assert.are.equal(3, ds:len())
      assert.are.same({ "a", "b" }, ds.classes)
      local want = { { 0.2, 1 }, { 0.6, 1 }, { 0.8, 2 } }
      for i = 1, 3 do
        local s = ds:get(i)
        assert.is_true(math.abs(s[1]:mean():item() - want[i][1]) < 2 / 255, "sample " .. i)
        assert.are.equal(want[i][2], s[2])
      end
    end)
    it("ImageFolder with only JPEG files in a class keeps the class", function()
      local root = dir .. "/onlyjpeg"
      os.execute(("mkdir -p %s/x"):format(root))
      image.save(cnn.full({ 1, 4, 4 }, 0.5), root .. "/x/a.jpeg")
      local ds = cnn.data.ImageFolder(root, { channels = 3 })
      assert.are.same({ 3, 4, 4 }, ds:get(1)[1]:size())
    end)
    it("CsvImageDataset reads the JPEG rows", function()
      local root = dir .. "/csv"
      os.execute("mkdir -p " .. root)
      image.save(cnn.full({ 3, 4, 4 }, 0.4), root .. "/p.png")
      image.save(cnn.full({ 3, 4, 4 }, 0.6), root .. "/j.jpg", { quality = 100 })
      P.write(root .. "/m.csv", "path,y\np.png,0\nj.jpg,1\n")
      local ds = cnn.data.CsvImageDataset(root .. "/m.csv", { root = root, label_cols = { "y" } })
      assert.is_true(math.abs(ds:get(2)[1]:mean():item() - 0.6) < 2 / 255)
      assert.are.equal(1, ds:get(2)[2]:item())
    end)
    it("a corrupt JPEG in a data set names the file", function()
      local root = dir .. "/bad"
      os.execute(("mkdir -p %s/c"):format(root))
      P.write(root .. "/c/x.jpg", rgb420:sub(1, sos + 40))
      local ds = cnn.data.ImageFolder(root)
      H.errors(function() ds:get(1) end, root .. "/c/x.jpg: Premature end of JPEG file")
    end)
  end)
end)
