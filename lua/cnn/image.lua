-- cnn.image: PNG and JPEG files to (C,H,W) float tensors in [0,1] and back, transforms, overlays
-- and grids. Pixels are handled in C (csrc/image.c, image_jpeg.c, bound as cnn._data); this
-- module only checks arguments, draws random parameters from the seeded generator and composes.
-- Specs: image_spec.lua, jpeg_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local D = cnn._data
local image = {}

-- an open (C,H,W) tensor at argument 1; returns H, W
local function chw(t, fn)
  A.tensor(fn, 1, "image", t)
  if t:dim() ~= 3 then A.fail(fn, 1, "image", "a (C,H,W) tensor", t) end
  return t:size(2), t:size(3)
end

-- load(path [, {channels=1|3, max_side=n}]) -> float32 (C,H,W) in [0,1]; PNG or JPEG by the
-- file's first bytes. max_side: JPEG decoded by libjpeg's scaled IDCT at the smallest scale
-- (1/2, 1/4, 1/8) whose longer side is still >= n; PNG ignores it (full size)
-- the options of load and decode: channels, max_side
local function read_opts(fn, opts)
  opts = A.opts(fn, 2, opts, { "channels", "max_side" })
  return opts.channels, opts.max_side ~= nil and A.int(fn, 2, "max_side", opts.max_side, 1) or nil
end

function image.load(path, opts)
  local channels, max_side = read_opts("cnn.image.load", opts)
  A.str("cnn.image.load", 1, "path", path)
  return A.call(D.image_load, path, channels, max_side)
end

-- decode(bytes [, {channels=1|3, max_side=n}]) -> float32 (C,H,W): load on a PNG or JPEG file's
-- bytes held in a string (an upload, a blob), nothing written to disk
function image.decode(bytes, opts)
  local channels, max_side = read_opts("cnn.image.decode", opts)
  A.str("cnn.image.decode", 1, "bytes", bytes)
  return A.call(D.image_decode, bytes, channels, max_side)
end

-- encode(t [, format = "png" | "jpeg" [, {quality = 90}]]) -> the bytes of the file save would write
function image.encode(t, format, opts)
  local fn = "cnn.image.encode"
  opts = A.opts(fn, 3, opts, { "quality" })
  format = A.str(fn, 2, "format", format, "png")
  if format == "png" then
    if opts.quality ~= nil then A.error(fn .. ": argument 3 (quality): applies to JPEG only") end
    return A.call(D.image_encode, t)
  elseif format == "jpeg" or format == "jpg" then
    local q = A.int(fn, 3, "quality", opts.quality, 1, 90)
    if q > 100 then A.fail(fn, 3, "quality", "an integer in 1..100", q) end
    return A.call(D.image_encode, t, q)
  end
  A.fail(fn, 2, "format", '"png" or "jpeg"', format)
end

-- save(t, path [, {quality=90}]): 8-bit gray or RGB, values clamped to [0,1]; JPEG when the
-- name ends in .jpg or .jpeg (any case), PNG otherwise; written atomically
local function is_jpeg(path) local e = path:lower():match("%.(%w+)$"); return e == "jpg" or e == "jpeg" end
function image.save(t, path, opts)
  local fn = "cnn.image.save"
  opts = A.opts(fn, 3, opts, { "quality" })
  if type(path) ~= "string" then return A.call(D.image_save, t, path) end   -- the binding names the type
  if not is_jpeg(path) then
    if opts.quality ~= nil then A.error(fn .. ": argument 3 (quality): applies to JPEG files only (.jpg, .jpeg), got " .. path) end
    return A.call(D.image_save, t, path)
  end
  local q = A.int(fn, 3, "quality", opts.quality, 1, 90)
  if q > 100 then A.fail(fn, 3, "quality", "an integer in 1..100", q) end
  A.call(D.image_save, t, path, q)
end

-- size: a positive integer (square) or {h, w}
local function hw(size, fn, pos, min)
  if type(size) == "table" then
    local p = A.pair(fn, pos, "size", size, nil, min)
    return p[1], p[2]
  end
  if type(size) ~= "number" then A.fail(fn, pos, "size", "a positive integer or {h, w}", size) end
  size = A.int(fn, pos, "size", size, min)
  return size, size
end

-- resize(t, size [, {antialias=true}]): bilinear with half-pixel centres (PyTorch's
-- align_corners=False). antialias (default true, as torchvision >= 0.17 and every Pillow resize)
-- widens the triangle filter by the scale on shrinking axes, as PyTorch's antialias=True;
-- upsampling is the same either way. The output size is checked by the C binding.
function image.resize(t, size, opts)
  local fn = "cnn.image.resize"
  local h, w = hw(size, fn, 2)
  opts = A.opts(fn, 3, opts, { "antialias" })
  return A.call(D.resize, t, h, w, A.bool(fn, 3, "antialias", opts.antialias, true))
end

-- crop(t, top, left, h, w): 1-based top-left corner, inside the image
local function crop(fn, t, top, left, h, w)
  local H, W = chw(t, fn)
  top, left = A.int(fn, 2, "top", top, 1), A.int(fn, 3, "left", left, 1)
  h, w = A.int(fn, 4, "height", h, 1), A.int(fn, 5, "width", w, 1)
  if top + h - 1 > H or left + w - 1 > W then
    A.error(("%s: a %dx%d crop at (%d,%d) does not fit in a %dx%d image"):format(fn, h, w, top, left, H, W))
  end
  return A.call_as(fn, function() return t:narrow(2, top, h):narrow(3, left, w):contiguous() end)
end
function image.crop(t, top, left, h, w) return crop("cnn.image.crop", t, top, left, h, w) end

-- the image's H, W and a crop size (argument 2) that fits inside it
local function crop_size(t, size, fn)
  local H, W = chw(t, fn)
  local h, w = hw(size, fn, 2, 1)
  if h > H or w > W then
    A.error(("%s: argument 2 (size): %dx%d is larger than the %dx%d image"):format(fn, h, w, H, W))
  end
  return H, W, h, w
end

-- the centre h x w window; where the margin is odd the extra pixel is on the bottom/right
function image.center_crop(t, size)
  local H, W, h, w = crop_size(t, size, "cnn.image.center_crop")
  return crop("cnn.image.center_crop", t, (H - h) // 2 + 1, (W - w) // 2 + 1, h, w)
end

-- centre crop to the shorter side (fundus photographs are wider than tall)
function image.square_crop(t)
  local H, W = chw(t, "cnn.image.square_crop")
  local s = math.min(H, W)
  if s == 0 then A.fail("cnn.image.square_crop", 1, "image", "a non-empty image", t) end
  return crop("cnn.image.square_crop", t, (H - s) // 2 + 1, (W - s) // 2 + 1, s, s)
end

function image.hflip(t) return A.call(D.flip, t, true, "image.hflip") end
function image.vflip(t) return A.call(D.flip, t, false, "image.vflip") end
-- counter-clockwise by `degrees` (finite), same size, bilinear; uncovered pixels get `fill` (0)
function image.rotate(t, degrees, fill)
  A.finite("cnn.image.rotate", 2, "degrees", degrees)
  A.finite("cnn.image.rotate", 3, "fill", fill, 0)
  return A.call(D.rotate, t, degrees, fill)
end
function image.adjust_brightness(t, f) return A.call(D.adjust, t, f, "brightness") end
function image.adjust_contrast(t, f) return A.call(D.adjust, t, f, "contrast") end
function image.adjust_saturation(t, f) return A.call(D.adjust, t, f, "saturation") end
function image.normalize(t, mean, std) return A.call(D.normalize, t, mean, std) end
function image.to_gray(t) return A.call(D.to_gray, t) end
-- blends a [0,1] heat map as a jet colour map over the image: (1-alpha) img + alpha colour
function image.overlay(img, heat, alpha) return A.call(D.overlay, img, heat, alpha) end

-- ---- random versions: parameters from the seeded generator (cnn.manual_seed) ----
local function uniform(a, b) return a + (b - a) * D.uniform() end
local function randint(a, b) return a + math.floor(D.uniform() * (b - a + 1)) end   -- a..b

function image.random_crop(t, size)
  local H, W, h, w = crop_size(t, size, "cnn.image.random_crop")
  return crop("cnn.image.random_crop", t, randint(1, H - h + 1), randint(1, W - w + 1), h, w)
end

function image.random_hflip(t, p)
  chw(t, "cnn.image.random_hflip")
  p = A.num("cnn.image.random_hflip", 2, "p", p, 0.5, 0, 1)
  if D.uniform() < p then return image.hflip(t) end
  return t
end

function image.random_rotation(t, degrees, fill)
  local fn = "cnn.image.random_rotation"
  chw(t, fn)
  A.finite(fn, 2, "degrees", degrees, nil, 0)
  A.finite(fn, 3, "fill", fill, 0)
  return A.call_as(fn, D.rotate, t, (2 * D.uniform() - 1) * degrees, fill)   -- finite for any finite degrees
end

-- brightness, contrast, saturation: factors drawn from [max(0, 1-v), 1+v], applied in that order
function image.color_jitter(t, opts)
  local fn = "cnn.image.color_jitter"
  chw(t, fn)
  opts = A.opts(fn, 2, opts, { "brightness", "contrast", "saturation" })
  local b = A.finite(fn, 2, "brightness", opts.brightness, false, 0)
  local c = A.finite(fn, 2, "contrast", opts.contrast, false, 0)
  local s = A.finite(fn, 2, "saturation", opts.saturation, false, 0)
  local out = t
  if b then out = A.call_as(fn, D.adjust, out, uniform(math.max(0, 1 - b), 1 + b), "brightness") end
  if c then out = A.call_as(fn, D.adjust, out, uniform(math.max(0, 1 - c), 1 + c), "contrast") end
  if s and out:size(1) == 3 then out = A.call_as(fn, D.adjust, out, uniform(math.max(0, 1 - s), 1 + s), "saturation") end
  return out
end

-- compose{f1, f2, ...}: a function applying each in turn
function image.compose(fns)
  local fn = "cnn.image.compose"
  A.table(fn, 1, "transforms", fns, "a list of functions")
  local list = {}
  for i = 1, rawlen(fns) do list[i] = A.func(fn, 1, ("transforms[%d]"):format(i), rawget(fns, i)) end
  return function(t)
    for _, f in ipairs(list) do t = f(t) end
    return t
  end
end

-- grid(images [, ncol = 8 [, {pad=2, value=1}]]): tiles same-size images row by row on a
-- background of `value`; gray images are repeated to RGB when the list mixes them
function image.grid(list, ncol, opts)
  local fn = "cnn.image.grid"
  if type(list) ~= "table" or cnn.is_tensor(list) or rawlen(list) == 0 then
    A.fail(fn, 1, "images", "a non-empty list of tensors", list)
  end
  ncol = A.int(fn, 2, "ncol", ncol, 1, 8)
  opts = A.opts(fn, 3, opts, { "pad", "value" })
  local pad = A.int(fn, 3, "pad", opts.pad, 0, 2)
  local value = A.finite(fn, 3, "value", opts.value, 1)
  local n, C, H, W = rawlen(list), 1, nil, nil
  for i = 1, n do
    local t = rawget(list, i)
    local name = ("images[%d]"):format(i)
    A.tensor(fn, 1, name, t)
    if t:dim() ~= 3 then A.fail(fn, 1, name, "a (C,H,W) tensor", t) end
    H, W = H or t:size(2), W or t:size(3)
    if t:size(2) ~= H or t:size(3) ~= W then
      A.error(("%s: image %d is %dx%d, expected %dx%d like image 1"):format(fn, i, t:size(2), t:size(3), H, W))
    end
    C = math.max(C, t:size(1))
  end
  ncol = math.min(ncol, n)
  local nrow = (n + ncol - 1) // ncol
  local out = A.call_as(fn, cnn.full, { C, pad + nrow * (H + pad), pad + ncol * (W + pad) }, value)
  for i = 1, n do
    local t = rawget(list, i)
    local r, c = (i - 1) // ncol, (i - 1) % ncol
    local win = out:narrow(2, pad + r * (H + pad) + 1, H):narrow(3, pad + c * (W + pad) + 1, W)
    A.call_as(fn, win.copy_, win, t)        -- broadcasts a 1-channel image over C channels
  end
  return out
end

return image
