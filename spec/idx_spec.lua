-- cnn.data.idx and cnn.data.fashion_mnist: IDX files written by the spec (raw and gzip), bad
-- magic, truncation in either form, and Debian's Fashion-MNIST read once.
local cnn = require "cnn"
local H = require "helpers"
local P = require "fixtures.png"
local idx = require "cnn.data.idx"
local data = require "cnn.data"

local function gzip(path)
  assert(os.execute("gzip -nkf '" .. path .. "'"))
  return path .. ".gz"
end

describe("cnn.data.idx", function()
  local dir
  setup(function() dir = P.tmpdir() end)
  teardown(function() P.rmdir(dir) end)
  local function file(name, bytes) return P.write(dir .. "/" .. name, bytes) end

  -- a 2x3 ubyte matrix
  local u8 = "\0\0\8\2" .. string.pack(">I4I4", 2, 3) .. string.char(0, 1, 2, 253, 254, 255)

  it("reads unsigned bytes, raw and gzip", function()
    local p = file("u8.idx", u8)
    H.close(idx.load(p), { { 0, 1, 2 }, { 253, 254, 255 } }, 0)
    H.close(idx.load(gzip(p)), { { 0, 1, 2 }, { 253, 254, 255 } }, 0)
    H.close(idx.load(p, { scale = 1 / 255, dtype = "float64" }), cnn.tensor({ { 0, 1, 2 }, { 253, 254, 255 } }, "float64") / 255, 1e-15)
  end)

  it("reads signed bytes, shorts, ints, floats and doubles big-endian", function()
    local cases = {
      { 9, string.pack(">i1i1", -2, 5), { -2, 5 } },
      { 11, string.pack(">i2i2", -300, 7), { -300, 7 } },
      { 12, string.pack(">i4i4", -70000, 9), { -70000, 9 } },
      { 13, string.pack(">ff", 1.5, -0.25), { 1.5, -0.25 } },
      { 14, string.pack(">dd", 1e300, -3), { 1e300, -3 } },
    }
    for _, c in ipairs(cases) do
      local p = file("t" .. c[1] .. ".idx", "\0\0" .. string.char(c[1], 1) .. string.pack(">I4", 2) .. c[2])
      H.close(idx.load(p, { dtype = "float64" }), c[3], 0)
    end
  end)

  it("checks the magic number", function()
    local p = file("bad.idx", "\1\0\8\2" .. u8:sub(5))
    H.errors(function() idx.load(p) end, "cnn.data.idx.load: " .. p ..
      ": wrong magic 0x01000802 at byte 0 (expected 00 00, a type code 08/09/0B/0C/0D/0E and 1..8 dimensions)")
    local q = file("badtype.idx", "\0\0\7\2" .. u8:sub(5))
    H.errors(function() idx.load(q) end, ": wrong magic 0x00000702 at byte 0")
    local g = gzip(p)
    H.errors(function() idx.load(g) end, g .. ": wrong magic 0x01000802 at byte 0 of the decompressed data")
  end)

  it("names the offset where a file is truncated", function()
    local p = file("short.idx", u8:sub(1, 13))
    H.errors(function() idx.load(p) end, "cnn.data.idx.load: " .. p ..
      ": truncated: sizes [2,3] of 1-byte values need 6 bytes after byte 12, the file has 1")
    local q = file("hdr.idx", u8:sub(1, 6))
    H.errors(function() idx.load(q) end, q .. ": truncated at byte 6 (in the 2 sizes)")
    local g = gzip(file("gz.idx", u8:sub(1, 14)))
    H.errors(function() idx.load(g) end, g .. ": truncated at byte 14 of the decompressed data (expected 6 bytes of data after the header)")
    local e = file("extra.idx", u8 .. "x")
    H.errors(function() idx.load(e) end, e .. ": unexpected data after byte 18")
  end)

  it("reports corrupt gzip data and truncated gzip files", function()
    local g = gzip(file("c.idx", "\0\0\8\2" .. string.pack(">I4I4", 2, 1000) .. ("\0"):rep(2000)))
    local f = io.open(g, "rb"); local s = f:read("a"); f:close()
    local cut = file("cut.idx.gz", s:sub(1, #s - 12))
    H.errors(function() idx.load(cut) end, cut .. ": truncated at byte")
    local bad = file("bad.idx.gz", s:sub(1, 10) .. ("\255"):rep(#s - 10))   -- deflate block type 3: invalid
    H.errors(function() idx.load(bad) end, bad .. ": corrupt gzip data at byte")
  end)

  it("checks the gzip trailer and refuses data after the stream", function()
    local g = gzip(file("tr.idx", u8))
    local f = io.open(g, "rb"); local s = f:read("a"); f:close()
    local n = #s
    local none = file("notrailer.idx.gz", s:sub(1, n - 8))        -- the data are all there, CRC and size are not
    H.errors(function() idx.load(none) end, "cnn.data.idx.load: " .. none ..
      (": truncated gzip file at byte %d: the compressed stream has no end or no CRC/size trailer"):format(n - 8))
    local half = file("halftrailer.idx.gz", s:sub(1, n - 3))
    H.errors(function() idx.load(half) end, half .. ": truncated gzip file at byte " .. (n - 3))
    local crc = file("crc.idx.gz", s:sub(1, n - 8) .. string.char((s:byte(n - 7) + 1) % 256) .. s:sub(n - 6))
    H.errors(function() idx.load(crc) end, crc .. ": corrupt gzip data at byte " .. (n - 4) .. " of the file: incorrect data check")
    local junk = file("junk.idx.gz", s .. "garbage")
    H.errors(function() idx.load(junk) end, junk ..
      (": unexpected data after the gzip stream at byte %d of the file (7 bytes of garbage or a second member)"):format(n))
    local two = file("two.idx.gz", s .. s)
    H.errors(function() idx.load(two) end, two ..
      (": unexpected data after the gzip stream at byte %d of the file (%d bytes"):format(n, n))
    H.close(idx.load(g), { { 0, 1, 2 }, { 253, 254, 255 } }, 0)
    local ok, e = pcall(function() local t = idx.load(junk); return t end)
    assert.is_false(ok)
    assert.matches("^spec/idx_spec.lua:%d+: cnn.data.idx.load: ", e)     -- the caller's line, not the module's
  end)

  it("leaks nothing", function()
    local p = file("leak.idx", u8)
    H.no_leak(function() idx.load(p); pcall(idx.load, dir .. "/none") end)
  end)
end)

describe("cnn.data.fashion_mnist", function()
  local have = io.open(data.fashion_mnist_dir .. "/t10k-labels-idx1-ubyte.gz")
  if have then have:close() end
  local test = have and it or pending
  test("reads Debian's test split as images (N,1,28,28) in [0,1] and labels 1..10", function()
    local ds = data.fashion_mnist("test")
    assert.are.equal(10000, #ds)
    local x, y = ds.tensors[1], ds.tensors[2]
    assert.are.same({ 10000, 1, 28, 28 }, x:size())
    assert.are.equal(0, x:min():item())
    assert.are.equal(1, x:max():item())
    assert.are.equal("int64", y:dtype())    -- class labels, as PyTorch
    assert.are.equal(1, y:double():min():item())
    assert.are.equal(10, y:double():max():item())
    assert.are.equal(10, ds:get(1)[2])      -- the first test image is an ankle boot (label 9 + 1)
    assert.are.equal("integer", math.type(ds:get(1)[2]))
    H.errors(function() data.fashion_mnist("val") end, "cnn.data.fashion_mnist: argument 1 (split): expected \"train\" or \"test\", got val")
  end)
end)
