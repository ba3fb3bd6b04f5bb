-- Writes small valid inputs for each harness into fuzz/seeds/<harness>/ (run from the repo
-- root: lua5.4 fuzz/make_seeds.lua). The PNGs come from the specs' byte-level builder.
package.path = "spec/?.lua;" .. package.path
local P = require "fixtures.png"
local function put(dir, name, bytes)
  os.execute("mkdir -p fuzz/seeds/" .. dir)
  P.write("fuzz/seeds/" .. dir .. "/" .. name, bytes)
end
local plte = string.char(255, 0, 0, 0, 0, 255, 51, 51, 51)
put("png_fuzz", "g8", P.png(2, 2, 0, 8, { "\0\255", "\51\102" }))
put("png_fuzz", "g16", P.png(3, 1, 0, 16, { P.u16(0, 65535, 13107) }))
put("png_fuzz", "g1", P.png(4, 1, 0, 1, { "\160" }))
put("png_fuzz", "ga", P.png(2, 1, 4, 8, { "\51\0\255\255" }))
put("png_fuzz", "rgb", P.png(2, 1, 2, 8, { "\255\0\51\0\102\255" }))
put("png_fuzz", "rgba16", P.png(1, 1, 6, 16, { P.u16(65535, 13107, 0, 9) }))
put("png_fuzz", "pal", P.png(3, 1, 3, 8, { "\0\1\2" }, { plte = plte, trns = "\0\128" }))
put("png_fuzz", "pal2", P.png(3, 1, 3, 2, { "\36" }, { plte = plte }))
put("png_fuzz", "adam7", P.png(2, 2, 2, 8, { "\0\0\0", "\51\51\51", "\102\0\9\255\1\2" }, { interlace = true }))
-- JPEG seeds: the small Pillow-written fixtures of spec/jpeg_spec.lua (gray, 4:2:0, 4:2:2, 4:4:4,
-- progressive, CMYK)
for _, name in ipairs({ "gray", "rgb420", "rgb422", "rgb444", "progressive", "cmyk" }) do
  local fh = assert(io.open("spec/fixtures/jpeg/" .. name .. ".jpg", "rb"))
  put("jpeg_fuzz", name, fh:read("a"))
  fh:close()
end
local u8 = "\0\0\8\2" .. string.pack(">I4I4", 2, 3) .. "\0\1\2\253\254\255"
put("idx_fuzz", "u8", u8)
put("idx_fuzz", "f32", "\0\0\13\1" .. string.pack(">I4ff", 2, 1.5, -0.25))
put("idx_fuzz", "i16", "\0\0\11\1" .. string.pack(">I4i2i2", 2, -300, 7))
local f = io.popen("gzip -nc fuzz/seeds/idx_fuzz/u8", "r")
put("idx_fuzz", "u8gz", f:read("a"))
f:close()
-- 5 samples x 3 variants: counts then the .bed bytes
put("bed_fuzz", "5x3", string.char(5, 0, 3, 0) .. "\x6c\x1b\x01" .. string.char(0x2c, 0x03, 0x84, 0x00, 0x8e, 0x02))
put("bed_fuzz", "9x1", string.char(9, 0, 1, 0) .. "\x6c\x1b\x01" .. string.char(0x1b, 0xe4, 0x02))
put("csv_fuzz", "quoted", ',id,"a, ""b""",c\n1,"x\ny",NA\r\n2,,3,\n')
put("csv_fuzz", "raw", " FID IID PAT MAT SEX PHENOTYPE rs1_A\nf1 s1 0 0 1 -9 2\n")
-- safetensors files as cnn.save writes them (a tensor, a state_dict, a checkpoint with plain
-- values), one as other writers do (no layout), and for checkpoint_fuzz the layouts alone
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
package.cpath = "lua/?.so;" .. package.cpath
local cnn = require "cnn"
os.execute("mkdir -p fuzz/seeds/safetensors_fuzz fuzz/seeds/checkpoint_fuzz")
local function saved(name, obj)
  local p = "fuzz/seeds/safetensors_fuzz/" .. name
  cnn.save(obj, p)
  local fh = io.open(p, "rb"); local s = fh:read("a"); fh:close()
  return s
end
saved("tensor", cnn.tensor({ 1, 2, 3 }))
saved("state", { ["0.weight"] = cnn.ones(2, 3), ["0.bias"] = cnn.zeros(2, "float64") })
local ck = saved("checkpoint", { epoch = 3, lr = 0.1, name = "run", best = false, hist = { 0.5, 0.25 }, [7] = "x",
                                  w = { w = cnn.ones(2) }, empty = {} })
local h = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
put("safetensors_fuzz", "plain", string.pack("<i8", #h) .. h .. string.pack("<f", 1.5))
local n = string.unpack("<i8", ck)
local layout = require("cjson").decode(ck:sub(9, 8 + n)).__metadata__["cnn.lua"]
put("checkpoint_fuzz", "checkpoint", layout)
put("checkpoint_fuzz", "tensors", '{"a":[["w",{"t":"w"}],["b",{"t":"b"}],[{"i":"1"},{"t":"tensor"}],[true,{"f":"1e300"}]]}')
put("checkpoint_fuzz", "empty", '{"a":{}}')
