-- The simulator's colour fundus photographs, drawn with tensor ops (no per-pixel Lua): an eye's
-- anatomy (optic disc, vessel tree, the places where drusen and pigment will appear) is drawn once
-- per eye from its stream; each visit renders it at the latent severity, with camera jitter,
-- exposure, colour cast and noise. Right-eye layout (disc on the right), mirrored for left eyes.
-- Used by lua/cnn/amd/simulate.lua; pictures of it are in docs/amd.md.
local cnn = require "cnn"
local image = require "cnn.image"
local F = {}

-- Gaussian spots at (px, py) (lists, image units: the frame spans [-1, 1]) with widths sig and
-- amplitudes amp, summed onto an (H, W) map: separable, so one (H,M) x (M,W) product
local function spots(px, py, sig, amp, X, Y)
  if #px == 0 then return cnn.zeros(Y:size(1), X:size(2)) end
  local M = #px
  local cx, cy = cnn.tensor(px):view(M, 1), cnn.tensor(py):view(M, 1)
  local s2 = cnn.tensor(sig):view(M, 1):square():mul(-2)
  local gx = (X - cx):square():div(s2):exp():mul(cnn.tensor(amp):view(M, 1))   -- (M, W)
  local gy = (Y:view(1, -1) - cy):square():div(s2):exp()                         -- (M, H)
  return gy:t():matmul(gx)
end

-- a smooth random field in about [-1, 1]: n x n normal deviates, bilinear up to size
local function field(n, size)
  return image.resize(cnn.randn({ 1, n, n }), size)[1]
end

-- points along a vessel: a quadratic Bezier curve from p0 through c to p1, width w0 -> w1
local function vessel(list, p0, c, p1, w0, w1, step)
  local len = math.sqrt((p1[1] - p0[1]) ^ 2 + (p1[2] - p0[2]) ^ 2) + 1e-9
  local n = math.max(2, math.ceil(1.3 * len / math.max(step, 0.6 * math.min(w0, w1))))
  for i = 0, n do
    local t = i / n
    local a, b, d = (1 - t) ^ 2, 2 * (1 - t) * t, t * t
    local w = w0 + (w1 - w0) * t
    list.x[#list.x + 1] = a * p0[1] + b * c[1] + d * p1[1]
    list.y[#list.y + 1] = a * p0[2] + b * c[2] + d * p1[2]
    list.w[#list.w + 1] = w
    list.a[#list.a + 1] = 1.3 * len / n / (math.sqrt(2 * math.pi) * w)   -- a tube of height ~1
  end
end

-- a vessel tree from the stream r: optic disc, fovea and vessels in right-eye image units. The
-- simulator draws a pool of trees per cohort and gives each eye one of them (drawing a tree's
-- map costs as much as a hundred visits' images)
function F.tree(r)
  local A = {}
  A.disc = { 0.46 + 0.05 * r.n(), 0.02 + 0.04 * r.n() }
  A.disc_r = 0.12 + 0.012 * r.n()
  A.fovea = { -0.06 + 0.03 * r.n(), 0.03 + 0.03 * r.n() }
  -- vessels: the two temporal arcades around the macula, nasal branches, small twigs
  local V = { x = {}, y = {}, w = {}, a = {} }
  local d, f = A.disc, A.fovea
  for _, sgn in ipairs({ -1, 1 }) do
    local w = 0.011 + 0.0015 * r.n()
    -- the temporal arcade: up (or down) out of the disc, over the macula, out to the periphery
    local top = { f[1] + 0.08, f[2] + sgn * (0.34 + 0.04 * r.n()) }
    local far = { f[1] - 0.45 - 0.08 * r.u(), f[2] + sgn * (0.42 + 0.06 * r.u()) }
    local edge = { -0.9, f[2] + sgn * (0.5 + 0.15 * r.u()) }
    vessel(V, d, { d[1] - 0.02, top[2] + sgn * 0.04 }, top, w, 0.85 * w, 0.005)
    vessel(V, top, { f[1] - 0.2, top[2] + sgn * 0.06 }, far, 0.85 * w, 0.6 * w, 0.005)
    vessel(V, far, { (far[1] + edge[1]) / 2, far[2] + sgn * 0.03 }, edge, 0.6 * w, 0.45 * w, 0.005)
    for _ = 1, 2 do    -- nasal branches
      local e = { 0.98, d[2] + sgn * (0.25 + 0.5 * r.u()) }
      vessel(V, d, { (d[1] + e[1]) / 2, d[2] + sgn * 0.3 * r.u() }, e, 0.65 * w, 0.4 * w, 0.005)
    end
    -- twigs from the arcade: small ones toward the macula, longer ones toward the periphery
    for _ = 1, 5 do
      local t = r.u()
      local a, b = top, far
      if r.u() < 0.4 then a, b = far, edge end
      local s = { a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t }
      local inward = r.u() < 0.5
      local len = inward and 0.1 + 0.08 * r.u() or 0.2 + 0.2 * r.u()
      local e = { s[1] + 0.12 * r.n(), s[2] + (inward and -sgn or sgn) * len }
      vessel(V, s, { (s[1] + e[1]) / 2 + 0.05 * r.n(), (s[2] + e[2]) / 2 }, e, 0.4 * w, 0.3 * w, 0.005)
    end
  end
  A.vessels = V
  return A
end

-- an eye's anatomy from its stream r (model.stream) and its vessel tree: fundus pigmentation,
-- and the places where drusen, pigment and late lesions will appear
function F.anatomy(r, tree)
  local A = { tree = tree, disc = tree.disc, disc_r = tree.disc_r, fovea = tree.fovea, vessels = tree.vessels }
  local f = A.fovea
  A.tint = { 1 + 0.07 * r.n(), 1 + 0.1 * r.n(), 1 + 0.12 * r.n() }
  -- drusen: places around the fovea, each appearing once the latent severity passes its threshold
  A.drusen = {}
  for i = 1, 120 do
    local rad, ang = 0.16 * math.sqrt(-2 * math.log(1 - r.u())), 2 * math.pi * r.u()
    A.drusen[i] = { f[1] + rad * math.cos(ang), f[2] + 0.8 * rad * math.sin(ang),
                    1.6 + 7.6 * r.u() ^ 0.75, 0.014 + 0.01 * r.u() }
  end
  A.pigment = {}
  for i = 1, 16 do
    local rad, ang = 0.12 * math.sqrt(-2 * math.log(1 - r.u())), 2 * math.pi * r.u()
    A.pigment[i] = { f[1] + rad * math.cos(ang), f[2] + rad * math.sin(ang), 5.5 + 4 * r.u(), 0.012 + 0.008 * r.u() }
  end
  A.lesion = {}     -- lobes of geographic atrophy / the haemorrhage
  for i = 1, 5 do A.lesion[i] = { f[1] + 0.06 * r.n(), f[2] + 0.06 * r.n(), 0.7 + 0.6 * r.u() } end
  A.exudate = {}
  for i = 1, 30 do
    local rad, ang = 0.12 + 0.12 * r.u(), 2 * math.pi * r.u()
    A.exudate[i] = { f[1] + rad * math.cos(ang), f[2] + rad * math.sin(ang) }
  end
  return A
end

-- the eye's vessel map on a canvas `pad` pixels wider than the image on every side (drawn once
-- per eye and size, then cut at each visit's shift)
local function vessel_map(A, size, pad)
  local key = size .. ":" .. pad
  A = A.tree
  A.vmaps = A.vmaps or {}
  if not A.vmaps[key] then
    local u, n = 2 / size, size + 2 * pad
    local lo = -1 - pad * u + u / 2
    local X = cnn.linspace(lo, lo + (n - 1) * u, n)
    A.vmaps[key] = spots(A.vessels.x, A.vessels.y, A.vessels.w, A.vessels.a, X:view(1, n), X:view(n, 1)):clamp(0, 1)
  end
  return A.vmaps[key]
end

-- colours as (3,1,1) tensors; img (3,H,W) <- img (1 - a) + a col, and img (1 - a dark), for an
-- (H,W) map a, in place
local function rgb(r, g, b) return cnn.tensor({ r, g, b }):view(3, 1, 1) end
local DARK, DISC, CUP = rgb(0.22, 0.42, 0.5), rgb(1.0, 0.86, 0.6), rgb(1.0, 0.96, 0.85)       -- macular pigment
local VESSEL, DRUSEN, PIGMENT = rgb(0.38, 0.7, 0.62), rgb(1.0, 0.86, 0.45), rgb(0.45, 0.55, 0.5)
local GA, BLOOD, EXUDATE = rgb(0.98, 0.78, 0.58), rgb(0.42, 0.06, 0.04), rgb(1.0, 0.95, 0.65)
local function blend_(img, a, col)
  local a3 = a:view(1, a:size(1), a:size(2))
  img:add_((col - img):mul_(a3))
end
local function darken_(img, a, dark)
  img:mul_(1 - dark * a:view(1, a:size(1), a:size(2)))
end

-- the pixel grid of a size: coordinates, the camera's round field and its vignetting
local grids = {}
local function grid(size)
  local u = 2 / size
  local g = {}
  g.X = cnn.linspace(-1 + u / 2, 1 - u / 2, size):view(1, size)
  g.Y = cnn.linspace(-1 + u / 2, 1 - u / 2, size):view(size, 1)
  local R = (g.X * g.X + g.Y * g.Y):sqrt()
  g.fov = ((0.96 - R) * (size / 3)):sigmoid()
  g.vignette = (1 - 0.55 * R:pow(2.4)):clamp(0.05, 1)
  grids[size] = g
  return g
end

-- the (3, size, size) image of the eye `A` (anatomy) for `eye` ("L"|"R") at one visit:
-- v = { x = latent severity, x_image = what the photograph shows of it (x when nil), severity =
-- 1..12, late_years = years since late }; camera draws
-- come from the stream r, pixel noise from cnn's generator (seeded by the caller)
function F.render(A, eye, v, size, r)
  local u = 2 / size
  local g = grids[size] or grid(size)
  local X, Y, fov = g.X, g.Y, g.fov
  -- camera: the eye moves by whole pixels and turns a little inside the fixed field
  local pad = math.ceil(0.06 * size)
  local sx = math.max(-pad, math.min(pad, math.floor(0.025 * size * r.n() + 0.5)))
  local sy = math.max(-pad, math.min(pad, math.floor(0.025 * size * r.n() + 0.5)))
  local dx, dy, th = sx * u, sy * u, 3 * r.n()
  local function place(px, py) return px + dx, py + dy end
  local disc, fov_c = { A.disc[1] + dx, A.disc[2] + dy }, { A.fovea[1] + dx, A.fovea[2] + dy }
  -- the eye's own colours, before the camera's illumination: orange-red, a darker macula
  local dm = (X - fov_c[1]):square() + (Y - fov_c[2]):square()
  local mac = (dm / (-2 * 0.14 ^ 2)):exp():mul_(0.55):add_((dm / (-2 * 0.035 ^ 2)):exp():mul_(0.45))
  local base = rgb(0.80 * A.tint[1], 0.36 * A.tint[2], 0.14 * A.tint[3])
  local img = (1 - DARK * mac:view(1, size, size)) * base                -- (3, size, size)
  -- optic disc, with a paler cup
  local dd = ((X - disc[1]):square() + (Y - disc[2]):square()):sqrt_()
  blend_(img, ((A.disc_r - dd) * (size / 2.5)):sigmoid():mul_(0.9), DISC)
  blend_(img, ((0.45 * A.disc_r - dd) * (size / 3)):sigmoid():mul_(0.6), CUP)
  -- vessels
  darken_(img, vessel_map(A, size, pad):narrow(1, pad - sy + 1, size):narrow(2, pad - sx + 1, size), VESSEL)
  -- drusen: appear at their thresholds, grow with the latent severity; soft yellow spots
  local x = v.severity >= 10 and 9.5 + 0.5 * v.late_years or (v.x_image or v.x)
  local px, py, ps, pa = {}, {}, {}, {}
  for _, q in ipairs(A.drusen) do
    if x > q[3] then
      local k = math.min(1, (x - q[3]) / 1.5)
      px[#px + 1], py[#py + 1] = place(q[1], q[2])
      ps[#ps + 1] = q[4] * (0.5 + 0.5 * k) * (1 + 0.12 * math.max(0, x - 5))
      pa[#pa + 1] = 0.35 + 0.7 * k
    end
  end
  if #px > 0 then blend_(img, spots(px, py, ps, pa, X, Y):clamp_(0, 1):mul_(0.65), DRUSEN) end
  -- pigment clumps (hyperpigmentation) from step 5 on
  px, py, ps, pa = {}, {}, {}, {}
  for _, q in ipairs(A.pigment) do
    if x > q[3] then
      px[#px + 1], py[#py + 1] = place(q[1], q[2])
      ps[#ps + 1], pa[#pa + 1] = q[4], math.min(1, 0.3 + (x - q[3]) / 3)
    end
  end
  if #px > 0 then darken_(img, spots(px, py, ps, pa, X, Y):clamp_(0, 1), PIGMENT) end
  -- late AMD: geographic atrophy (pale, sharp-edged, choroidal vessels visible) and/or
  -- neovascular haemorrhage (dark red, with hard exudates around it)
  if v.severity >= 10 then
    local grow = math.min(0.26, 0.07 + 0.025 * v.late_years)
    px, py, ps, pa = {}, {}, {}, {}
    for _, q in ipairs(A.lesion) do
      px[#px + 1], py[#py + 1] = place(q[1], q[2]); ps[#ps + 1] = grow * q[3] * 0.6; pa[#pa + 1] = 1
    end
    local lobes = spots(px, py, ps, pa, X, Y)
    if v.severity ~= 11 then       -- GA
      local ga = ((lobes - 0.5) * 14):sigmoid():mul_(0.8)
      local streak = (field(20, size) * 0.5 + 0.5):clamp_(0, 1)
      blend_(img, ga, (1 - 0.25 * streak:view(1, size, size)) * GA)
    end
    if v.severity >= 11 then       -- neovascular: haemorrhage and exudates
      local hx, hy = place(A.lesion[1][1] + 0.05, A.lesion[1][2] - 0.03)
      local h = ((spots({ hx }, { hy }, { grow * 0.9 }, { 1 }, X, Y) + 0.3 * field(10, size) - 0.45) * 10):sigmoid()
      blend_(img, h:mul_(0.85), BLOOD)
      px, py, ps, pa = {}, {}, {}, {}
      for _, q in ipairs(A.exudate) do
        px[#px + 1], py[#py + 1] = place(q[1], q[2]); ps[#ps + 1] = 0.012; pa[#pa + 1] = 0.9
      end
      blend_(img, spots(px, py, ps, pa, X, Y):clamp_(0, 1):mul_(0.8), EXUDATE)
    end
  end
  -- the camera: turn, illumination with vignetting and texture, exposure, colour cast, noise,
  -- the black surround
  img = image.rotate(img, th)
  local illum = g.vignette * (1 + 0.06 * field(6, size) + 0.025 * field(24, size))
  local expo = math.exp(0.13 * r.n())
  img:mul_(illum:view(1, size, size))
  img:mul_(rgb(expo * math.exp(0.05 * r.n()), expo * math.exp(0.05 * r.n()), expo * math.exp(0.05 * r.n())))
  img:add_(cnn.rand({ 3, size, size }):sub_(0.5):mul_(math.sqrt(12) * (0.012 + 0.012 * r.u())))
  img = img:clamp(0, 1) * fov:view(1, size, size) + 0.01
  if eye == "L" then img = image.hflip(img) end
  return img:clamp(0, 1)
end

return F
