-- cnn.image: PNG files to (C,H,W) float tensors in [0,1] and back, transforms, overlays and
-- grids. Pixels are handled in C (csrc/image.c, bound as cnn._data); this module only checks
-- arguments, draws random parameters from the seeded generator and composes. Spec: image_spec.lua.
local cnn = require "cnn"
local D = cnn._data
local image = {}

-- lvl: error level of the user's call (3 when called by a public function, the default)
local function chw(t, fn, lvl)
  lvl = lvl or 3
  if not cnn.is_tensor(t) then error(("cnn.image.%s: argument 1 (image): expected a tensor, got %s"):format(fn, type(t)), lvl) end
  if t:dim() ~= 3 then
    error(("cnn.image.%s: argument 1 (image): expected a (C,H,W) tensor, got %d dimensions"):format(fn, t:dim()), lvl)
  end
  return t:size(2), t:size(3)
end

local function int_arg(v, fn, pos, name, lvl)
  if math.type(v) ~= "integer" then
    error(("cnn.image.%s: argument %d (%s): expected an integer, got %s"):format(fn, pos, name, tostring(v)), lvl or 3)
  end
  return v
end

-- load(path [, {channels=1|3}]) -> float32 (C,H,W) in [0,1]
function image.load(path, opts)
  local ch = opts and opts.channels
  return D.png_load(path, ch)
end

-- save(t, path): 8-bit gray or RGB, values clamped to [0,1]
function image.save(t, path) D.png_save(t, path) end

-- size: a number (square) or {h, w}
local function hw(size, fn, pos, lvl)
  lvl = lvl or 3
  if type(size) == "number" then return int_arg(size, fn, pos, "size", lvl + 1), size end
  if type(size) == "table" then return int_arg(size[1], fn, pos, "size[1]", lvl + 1), int_arg(size[2], fn, pos, "size[2]", lvl + 1) end
  error(("cnn.image.%s: argument %d (size): expected a number or {h, w}, got %s"):format(fn, pos, type(size)), lvl)
end

function image.resize(t, size)
  local h, w = hw(size, "resize", 2)
  return D.resize(t, h, w)
end

-- crop(t, top, left, h, w): 1-based top-left corner, inside the image
function image.crop(t, top, left, h, w)
  local H, W = chw(t, "crop")
  int_arg(top, "crop", 2, "top"); int_arg(left, "crop", 3, "left"); int_arg(h, "crop", 4, "height"); int_arg(w, "crop", 5, "width")
  if top < 1 or left < 1 or h < 1 or w < 1 or top + h - 1 > H or left + w - 1 > W then
    error(("cnn.image.crop: a %dx%d crop at (%d,%d) does not fit in a %dx%d image"):format(h, w, top, left, H, W), 2)
  end
  return t:narrow(2, top, h):narrow(3, left, w):contiguous()
end

-- the centre h x w window; where the margin is odd the extra pixel is on the bottom/right
-- the image's H, W and a crop size (argument 2) that fits inside it
local function crop_size(t, size, fn)
  local H, W = chw(t, fn, 4)
  local h, w = hw(size, fn, 2, 4)
  if h > H or w > W then
    error(("cnn.image.%s: argument 2 (size): %dx%d is larger than the %dx%d image"):format(fn, h, w, H, W), 3)
  end
  return H, W, h, w
end

function image.center_crop(t, size)
  local H, W, h, w = crop_size(t, size, "center_crop")
  return image.crop(t, (H - h) // 2 + 1, (W - w) // 2 + 1, h, w)
end

-- centre crop to the shorter side (fundus photographs are wider than tall)
function image.square_crop(t)
  local H, W = chw(t, "square_crop")
  local s = math.min(H, W)
  return image.crop(t, (H - s) // 2 + 1, (W - s) // 2 + 1, s, s)
end

function image.hflip(t) return D.flip(t, true, "image.hflip") end
function image.vflip(t) return D.flip(t, false, "image.vflip") end
-- counter-clockwise by `degrees`, same size, bilinear; uncovered pixels get `fill` (0)
function image.rotate(t, degrees, fill) return D.rotate(t, degrees, fill) end
function image.adjust_brightness(t, f) return D.adjust(t, f, "brightness") end
function image.adjust_contrast(t, f) return D.adjust(t, f, "contrast") end
function image.adjust_saturation(t, f) return D.adjust(t, f, "saturation") end
function image.normalize(t, mean, std) return D.normalize(t, mean, std) end
function image.to_gray(t) return D.to_gray(t) end
-- blends a [0,1] heat map as a jet colour map over the image: (1-alpha) img + alpha colour
function image.overlay(img, heat, alpha) return D.overlay(img, heat, alpha) end

-- ---- random versions: parameters from the seeded generator (cnn.manual_seed) ----
local function uniform(a, b) return a + (b - a) * D.uniform() end
local function randint(a, b) return a + math.floor(D.uniform() * (b - a + 1)) end   -- a..b

function image.random_crop(t, size)
  local H, W, h, w = crop_size(t, size, "random_crop")
  return image.crop(t, randint(1, H - h + 1), randint(1, W - w + 1), h, w)
end

function image.random_hflip(t, p)
  if D.uniform() < (p or 0.5) then return image.hflip(t) end
  return t
end

function image.random_rotation(t, degrees, fill)
  return D.rotate(t, uniform(-degrees, degrees), fill)
end

-- brightness, contrast, saturation: factors drawn from [max(0, 1-v), 1+v], applied in that order
function image.color_jitter(t, opts)
  opts = opts or {}
  local out = t
  if opts.brightness then out = D.adjust(out, uniform(math.max(0, 1 - opts.brightness), 1 + opts.brightness), "brightness") end
  if opts.contrast then out = D.adjust(out, uniform(math.max(0, 1 - opts.contrast), 1 + opts.contrast), "contrast") end
  if opts.saturation and out:size(1) == 3 then
    out = D.adjust(out, uniform(math.max(0, 1 - opts.saturation), 1 + opts.saturation), "saturation")
  end
  return out
end

-- compose{f1, f2, ...}: a function applying each in turn
function image.compose(fns)
  for i, f in ipairs(fns) do
    if type(f) ~= "function" and not (getmetatable(f) or {}).__call then
      error(("cnn.image.compose: element %d is a %s, expected a function"):format(i, type(f)), 2)
    end
  end
  return function(t)
    for _, f in ipairs(fns) do t = f(t) end
    return t
  end
end

-- grid(images, ncol [, {pad=2, value=1}]): tiles same-size images row by row on a background
-- of `value`; gray images are repeated to RGB when the list mixes them
function image.grid(list, ncol, opts)
  opts = opts or {}
  local pad, value = opts.pad or 2, opts.value or 1
  if type(list) ~= "table" or #list == 0 then error("cnn.image.grid: argument 1 (images): expected a non-empty list of tensors", 2) end
  local C, H, W = 1, nil, nil
  for i, t in ipairs(list) do
    if not cnn.is_tensor(t) or t:dim() ~= 3 then error(("cnn.image.grid: image %d: expected a (C,H,W) tensor"):format(i), 2) end
    H, W = H or t:size(2), W or t:size(3)
    if t:size(2) ~= H or t:size(3) ~= W then
      error(("cnn.image.grid: image %d is %dx%d, expected %dx%d like image 1"):format(i, t:size(2), t:size(3), H, W), 2)
    end
    C = math.max(C, t:size(1))
  end
  ncol = math.min(ncol or 8, #list)
  local nrow = (#list + ncol - 1) // ncol
  local out = cnn.full({C, pad + nrow * (H + pad), pad + ncol * (W + pad)}, value)
  for i, t in ipairs(list) do
    local r, c = (i - 1) // ncol, (i - 1) % ncol
    local win = out:narrow(2, pad + r * (H + pad) + 1, H):narrow(3, pad + c * (W + pad) + 1, W)
    win:copy_(t)        -- broadcasts a 1-channel image over C channels
  end
  return out
end

return image
