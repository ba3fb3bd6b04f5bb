-- The simulator's cohort model (no files, no images): subjects, genotypes, eyes, visits, the
-- latent severity path and the exact truth P(time to late >= k). Used by cnn.amd.simulate
-- (lua/cnn/amd/simulate.lua), which writes it out; its statistics are checked by
-- spec/amd_simulate_spec.lua. The model is described in docs/amd.md ("The simulator's model").
local snps = require "cnn.amd.snps"
local M = {}

-- the model's parameters (years, AREDS 9-step units); tuned so that the cohort matches Table 1
M.P = {
  age_mean = 68.8, age_sd = 5.25, age_lo = 55, age_hi = 80,
  female = 0.555, smoking = { 0.463, 0.469 },           -- never, former; current is the rest
  base = { 0.33, 0.125, 0.083, 0.07, 0.075, 0.08, 0.11, 0.127 },   -- P(baseline step 1..8)
  one_eye = 0.009,                                      -- subjects with a single eligible eye
  eye_loading = 0.8,                                    -- fellow eyes: liability = 0.8 z + 0.6 e
  gen_liability = 0.35,                                 -- corr(genetic score, subject liability)
  late = 9.5,                                           -- latent severity at which late AMD starts
  sigma = 0.3,                                          -- Brownian diffusion per sqrt(year)
  rate0 = -1.17,                                        -- log drift = rate0 + rate_base[b] + ...
  rate_base = { -1.4, -1.1, -0.8, -0.2, 0.1, 0.35, 0.6, 0.8 },
  rate_age = 0.03, rate_former = 0.15, rate_current = 0.45,
  subject_sd = 0.3, eye_sd = 0.2,
  gap_two = 0.03, gap_jitter = 12,                       -- visits 1 (or 2) years apart, +-0.12
  dropout_none = 0.3, dropout_mean = 1.6, dropout_max = 1100,   -- follow-up end: 12 years, or 12 - Exp(mean)
  both_rate = 0.08,                                     -- GA or NV becoming both, per year
  image_eye_sd = 0.5, image_visit_sd = 0.3,             -- the photograph shows x + eye + visit noise
}

-- ---- random numbers: splitmix64 streams (independent of cnn's generator and math.random) ----
local function mix(z)
  z = (z ~ (z >> 30)) * -4658895280553007687          -- 0xBF58476D1CE4E5B9
  z = (z ~ (z >> 27)) * -7723592293110705685          -- 0x94D049BB133111EB
  return z ~ (z >> 31)
end
local GOLDEN = -7046029254386353131                   -- 0x9E3779B97F4A7C15

-- a stream seeded by integers (seed, a, b, ...): r.u() in [0,1), r.n() standard normal
function M.stream(...)
  local s = 0
  for _, v in ipairs({ ... }) do s = mix(s + GOLDEN + math.tointeger(v)) end
  local r = {}
  function r.next() s = s + GOLDEN; return mix(s) end
  function r.u() return (r.next() >> 11) * 2.0 ^ -53 end
  function r.n()
    local u1 = 1 - r.u()
    return math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * r.u())
  end
  function r.int(n) return (r.next() >> 11) % n + 1 end       -- 1..n (n small: bias negligible)
  return r
end

-- ---- the normal CDF on the log scale, for the first-passage probabilities ----
-- log erfc(x) for x >= 0 (Numerical Recipes' erfcc: relative error < 1.2e-7 everywhere)
local function log_erfc(x)
  local t = 1 / (1 + 0.5 * x)
  return math.log(t) - x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277))))))))
end
-- log Phi(z)
local function log_phi(z)
  if z < 0 then return math.log(0.5) + log_erfc(-z / math.sqrt(2)) end
  return math.log(1 - 0.5 * math.exp(log_erfc(z / math.sqrt(2))))
end
M.log_phi = log_phi

-- P(a Brownian motion with drift mu and diffusion sigma, started `a` below the level, has not
-- reached it within d years) = 1 - the inverse Gaussian CDF at d
function M.survival(a, mu, sigma, d)
  if a <= 0 then return 0 end
  if d <= 0 then return 1 end
  local sd = sigma * math.sqrt(d)
  local f = math.exp(log_phi((mu * d - a) / sd)) + math.exp(2 * mu * a / sigma ^ 2 + log_phi((-mu * d - a) / sd))
  return math.max(0, math.min(1, 1 - f))
end

-- the baseline step (1..8) whose cumulative share holds the liability's quantile
local function base_step(P, liability)
  local u = math.exp(log_phi(liability))
  local acc = 0
  for b, p in ipairs(P.base) do acc = acc + p; if u < acc then return b end end
  return #P.base
end

-- the centred genetic score of one subject's counts
local function genetic_score(g)
  local s = 0
  for j, v in ipairs(snps) do s = s + v.effect * (g[j] - 2 * v.freq) end
  return s
end
local GEN_SD = 0
for _, v in ipairs(snps) do GEN_SD = GEN_SD + (v.effect) ^ 2 * 2 * v.freq * (1 - v.freq) end
GEN_SD = math.sqrt(GEN_SD)

local CUTOFFS = { 2, 3, 4, 5, 6, 7 }

-- one subject: its draws come from the stream (seed, i), so subject i is the same in any cohort size
local function subject(P, seed, i)
  local r = M.stream(seed, 1, i)
  local s = { id = ("S%04d"):format(i) }
  repeat s.age = P.age_mean + P.age_sd * r.n() until s.age >= P.age_lo and s.age <= P.age_hi
  s.age = math.floor(s.age * 10 + 0.5) / 10
  s.sex = r.u() < P.female and "F" or "M"
  local u = r.u()
  s.smoking = u < P.smoking[1] and "never" or u < P.smoking[1] + P.smoking[2] and "former" or "current"
  s.geno = {}
  for j, v in ipairs(snps) do s.geno[j] = (r.u() < v.freq and 1 or 0) + (r.u() < v.freq and 1 or 0) end
  local g = genetic_score(s.geno)
  local z = P.gen_liability * g / GEN_SD + math.sqrt(1 - P.gen_liability ^ 2) * r.n()
  local eta = P.rate0 + g + P.rate_age * (s.age - P.age_mean) + P.subject_sd * r.n()
    + (s.smoking == "former" and P.rate_former or s.smoking == "current" and P.rate_current or 0)
  -- the planned visit schedule (centi-years, integers: differences are exact) and the drop-out
  local plan, t = { 0 }, 0
  while true do
    t = t + (r.u() < P.gap_two and 200 or 100) + math.floor((2 * r.u() - 1) * P.gap_jitter + 0.5)
    if t > 1200 then break end
    plan[#plan + 1] = t
  end
  local stop = 1200
  if r.u() >= P.dropout_none then
    stop = 1200 - math.min(P.dropout_max, math.floor(-100 * P.dropout_mean * math.log(1 - r.u()) + 0.5))
  end
  s.plan, s.times = plan, {}
  for _, tv in ipairs(plan) do if tv <= stop then s.times[#s.times + 1] = tv end end
  -- eyes: correlated baseline steps, a shared and an own rate component, a Brownian path
  local only = r.u() < P.one_eye and (r.u() < 0.5 and "L" or "R") or nil
  s.eyes = {}
  for _, e in ipairs({ "L", "R" }) do
    local liab = P.eye_loading * z + math.sqrt(1 - P.eye_loading ^ 2) * r.n()
    local b = base_step(P, liab)
    local x = b + 0.9 * (r.u() - 0.5)
    local mu = math.exp(eta + P.rate_base[b] + P.eye_sd * r.n())
    local eye = { eye = e, base = b, mu = mu, visits = {} }
    local shows = P.image_eye_sd * r.n()         -- how much this eye's fundus shows of its severity
    local late, late_type, late_t = false, nil, nil
    for k, tv in ipairs(s.times) do
      if k > 1 then
        local dt = (tv - s.times[k - 1]) / 100
        local x1 = x + mu * dt + P.sigma * math.sqrt(dt) * r.n()
        if not late then
          -- crossing at the end point, or in between (Brownian bridge): exact first passage
          local bridge = x1 < P.late and math.exp(-2 * (P.late - x) * (P.late - x1) / (P.sigma ^ 2 * dt)) or 1
          if x1 >= P.late or r.u() < bridge then
            late, late_t = true, tv
            local v = r.u()
            late_type = v < 0.45 and 10 or v < 0.9 and 11 or 12
          end
        elseif late_type < 12 and r.u() < 1 - math.exp(-P.both_rate * dt) then
          late_type = 12
        end
        x = x1
      end
      local v = { years = tv, x = x, late = late, x_image = x + shows + P.image_visit_sd * r.n() }
      if late then
        v.severity, v.late_years = late_type, (tv - late_t) / 100
      else
        v.severity = math.max(1, math.min(9, math.floor(x + 0.5)))
      end
      -- the truth: P(first late visit >= k years after this one | x, mu), on the planned schedule
      v.truth = {}
      for c, kk in ipairs(CUTOFFS) do
        if late then v.truth[c] = 0 else
          local last = tv
          for _, tp in ipairs(plan) do if tp < tv + 100 * kk then last = math.max(last, tp) end end
          v.truth[c] = M.survival(P.late - x, mu, P.sigma, (last - tv) / 100)
        end
      end
      eye.visits[k] = v
    end
    if e ~= only then s.eyes[#s.eyes + 1] = eye end
  end
  return s
end

-- the cohort: a list of subjects
function M.cohort(n, seed, P)
  P = P or M.P
  local out = {}
  for i = 1, n do out[i] = subject(P, seed, i) end
  return out
end

M.CUTOFFS = CUTOFFS
return M
