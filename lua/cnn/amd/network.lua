-- cnn.amd.model{design=, backbone=, inputs=, cutoffs=}: the AMD progression networks (Yan et al.
-- 2020 and beyond): the paper's two-step network (trunk -> severity -> per-cutoff head), a
-- discrete-time survival network, and the genotype-only logistic regression. Images enter in
-- [0,1] and are normalised inside the model (buffers img_mean, img_std); genotypes enter as
-- minor-allele counts with NaN for missing (imputed inside with the training means); covariates
-- as (N,3): age at the visit, former smoker, current smoker. Training: lua/cnn/amd/train.lua.
-- Spec: spec/amd_model_spec.lua.
local cnn = require "cnn"
local nn = require "cnn.nn"
local F = require "cnn.nn.functional"
local A = require "cnn.nn.argcheck"

local M = {}

local N_SNPS = 52        -- Fritsche et al. 2016's variants (cnn.amd.snps)
local N_COV = 3          -- age, former smoker, current smoker

-- ---- trunks: an image (N,3,H,W) -> pooled features (N, num_features) ----
local Trunk = nn.Module:extend("amd.Trunk")

local function small_block(cin, cout)
  return nn.Sequential { nn.Conv2d(cin, cout, 3, { padding = 1, bias = false }), nn.BatchNorm2d(cout), nn.ReLU(),
                         nn.MaxPool2d(2) }
end

function Trunk:__init(backbone, width)
  self.backbone = backbone
  if backbone == "small" then
    -- four conv-bn-relu-pool blocks: a CPU-sized CNN for the demo (64x64 images -> 4x4 maps)
    local c = function(n) return math.max(1, math.floor(n * width + 0.5)) end
    self.net = nn.Sequential { small_block(3, c(16)), small_block(c(16), c(32)), small_block(c(32), c(64)),
                               small_block(c(64), c(64)) }
    self.num_features = c(64)
  elseif backbone == "resnet18" then
    self.net = cnn.models.resnet18 { width = width }
    self.num_features = self.net.num_features
  else
    self.net = cnn.models.inception_v3 { width = width }
    self.num_features = self.net.num_features
  end
end

-- the module whose output Grad-CAM uses: the trunk's last block
function Trunk:last_block()
  if self.backbone == "small" then return self.net[#self.net] end
  if self.backbone == "resnet18" then return self.net.layer4[#self.net.layer4] end
  return self.net.Mixed_7c
end

function Trunk:forward(x)
  if self.backbone == "small" then return self.net(x):mean({ 3, 4 }) end
  return self.net:forward_features(x)
end

-- ---- the whole model ----
local Model = nn.Module:extend("amd.Model")
M.Model = Model

local function mlp(sizes)
  local layers = {}
  for i = 1, #sizes - 1 do
    layers[#layers + 1] = nn.Linear(sizes[i], sizes[i + 1])
    if i < #sizes - 1 then layers[#layers + 1] = nn.ReLU() end
  end
  return nn.Sequential(layers)
end

function Model:__init(o)
  self.design, self.backbone, self.inputs, self.width = o.design, o.backbone, o.inputs, o.width
  self.cutoffs, self.image_size, self.covariates = o.cutoffs, o.image_size, o.covariates
  self.horizon = math.max(table.unpack(o.cutoffs))
  self.uses_image = o.design ~= "geno"
  self.uses_geno = o.design == "geno" or o.inputs == "image+geno"
  self:register_buffer("img_mean", cnn.full({ 3 }, 0.5))
  self:register_buffer("img_std", cnn.full({ 3 }, 0.25))
  self:register_buffer("geno_mean", cnn.ones(N_SNPS))         -- imputation (and, except paper, centring)
  self:register_buffer("geno_std", cnn.ones(N_SNPS))
  self:register_buffer("cov_mean", cnn.tensor({ 70, 0, 0 }))
  self:register_buffer("cov_std", cnn.ones(N_COV))
  local K = #o.cutoffs
  if o.design == "paper" then
    self.trunk = Trunk(o.backbone, o.width)
    -- global pooling -> Dense(128, relu) -> Dense(2): the current severity, ordinally coded
    self.severity = mlp { self.trunk.num_features, 128, 2 }
    -- per cutoff: the 2 severity probabilities (+ 52 allele counts) -> Dense(4, relu) -> Dense(1)
    local heads = {}
    for k = 1, K do
      heads[k] = mlp { 2 + (self.uses_geno and N_SNPS or 0), 4, 1 }
      -- a positive bias keeps the four ReLUs alive at the start (their inputs are all >= 0, and a
      -- head whose four units start dead never learns: its output is a constant)
      -- the genotype weights start at 0: the head starts as the image-only head and training
      -- adds the genetic effects it finds
      cnn.no_grad(function()
        heads[k][1].bias:fill_(0.5)
        if self.uses_geno then heads[k][1].weight:narrow(2, 3, N_SNPS):zero_() end
      end)
    end
    self.heads = nn.ModuleList(heads)
  elseif o.design == "survival" then
    self.trunk = Trunk(o.backbone, o.width)
    self.image_head = mlp { self.trunk.num_features, 32 }
    local n = 32
    if self.uses_geno then self.geno_head = mlp { N_SNPS, 16 }; n = n + 16 end
    if self.covariates then n = n + N_COV end
    -- one hazard logit per one-year interval [j-1, j), j = 1..horizon
    self.hazard = nn.Linear(n, self.horizon)
    cnn.no_grad(function() self.hazard.bias:fill_(-3) end)    -- a hazard of about 5% a year to start
    -- U[j,k] = 1 for j <= k: log S = -softplus(z) U sums the intervals up to k
    local U = {}
    for j = 1, self.horizon do
      U[j] = {}
      for k = 1, self.horizon do U[j][k] = j <= k and 1 or 0 end
    end
    self:register_buffer("upper", cnn.tensor(U))
    local idx = {}
    for k = 1, K do idx[k] = o.cutoffs[k] end
    self:register_buffer("cutoff_index", cnn.tensor(idx, "int64"))
  else
    self.linear = nn.Linear(N_SNPS + (self.covariates and N_COV or 0), K)
  end
end

-- genotypes with NaN replaced by the training means
function Model:impute(g)
  local mean = self.geno_mean:view(1, -1):expand(g:size(1), N_SNPS)
  return cnn.where(g:ne(g), mean, g)
end

-- image features (N, num_features) from images in [0,1]
function Model:features(x)
  local mean, std = self.img_mean:view(1, 3, 1, 1), self.img_std:view(1, 3, 1, 1)
  return self.trunk((x - mean) / std)
end

-- the severity logits (N,2) from image features
function Model:severity_logits(f) return self.severity(f) end

-- the model's logits from image features f (nil for "geno"), genotypes g (N,52) and covariates c
-- (N,3): per-cutoff logits (N,K) for "paper" and "geno", hazard logits (N,horizon) for "survival"
function Model:head_logits(f, g, c)
  if self.design == "paper" then
    local h = self.severity(f):sigmoid()
    if self.uses_geno then h = cnn.cat({ h, self:impute(g) }, 2) end
    local outs = {}
    for k = 1, #self.heads do outs[k] = self.heads[k](h) end
    return cnn.cat(outs, 2)
  end
  local parts = {}
  if self.design == "survival" then parts[1] = self.image_head(f):relu() end
  if self.uses_geno then
    local z = (self:impute(g) - self.geno_mean) / self.geno_std
    parts[#parts + 1] = self.design == "survival" and self.geno_head(z):relu() or z
  end
  if self.covariates then parts[#parts + 1] = (c - self.cov_mean) / self.cov_std end
  local h = #parts == 1 and parts[1] or cnn.cat(parts, 2)
  if self.design == "survival" then return self.hazard(h) end
  return self.linear(h)
end

-- probabilities P(time to late AMD >= k) for each cutoff, (N,K), from head logits
function Model:probabilities(z)
  if self.design ~= "survival" then return z:sigmoid() end
  return M.survival_curve(z, self.upper):index_select(2, self.cutoff_index)
end

function Model:logits(x, g, c)
  return self:head_logits(self.uses_image and self:features(x) or nil, g, c)
end

-- model(x, g, c) -> (N,K) probabilities, one column per cutoff
function Model:forward(x, g, c) return self:probabilities(self:logits(x, g, c)) end

-- S(k) = prod_{j<=k} (1 - sigmoid(z_j)) for k = 1..horizon, from hazard logits z (N,horizon);
-- computed as exp(-softplus(z) U), so it never increases with k
function M.survival_curve(z, upper)
  if upper == nil then
    local K = z:size(2)
    upper = cnn.ones(K, K, z:dtype())
    for j = 2, K do upper:select(1, j):narrow(1, 1, j - 1):zero_() end
  end
  return (-(F.softplus(z):matmul(upper))):exp()
end

local DESIGNS = { paper = true, survival = true, geno = true }
local BACKBONES = { small = true, resnet18 = true, inception_v3 = true }

-- cnn.amd.model{design=, backbone=, inputs=, cutoffs=, image_size=, width=, covariates=}
function M.model(opts)
  local fn = "cnn.amd.model"
  opts = A.opts(fn, 1, opts, { "design", "backbone", "inputs", "cutoffs", "image_size", "width", "covariates" })
  local o = {}
  o.design = A.str(fn, 1, "design", opts.design, "paper")
  if not DESIGNS[o.design] then A.fail(fn, 1, "design", '"paper", "survival" or "geno"', o.design) end
  o.backbone = A.str(fn, 1, "backbone", opts.backbone, "small")
  if not BACKBONES[o.backbone] then A.fail(fn, 1, "backbone", '"small", "resnet18" or "inception_v3"', o.backbone) end
  local default_inputs = o.design == "paper" and "image" or (o.design == "geno" and "geno" or "image+geno")
  o.inputs = A.str(fn, 1, "inputs", opts.inputs, default_inputs)
  local ok_inputs = o.design == "geno" and o.inputs == "geno" or (o.design ~= "geno" and (o.inputs == "image" or o.inputs == "image+geno"))
  if not ok_inputs then
    A.fail(fn, 1, "inputs", o.design == "geno" and '"geno"' or '"image" or "image+geno"', o.inputs)
  end
  local cut = opts.cutoffs or { 2, 3, 4, 5, 6, 7 }
  if type(cut) ~= "table" or rawlen(cut) == 0 then A.fail(fn, 1, "cutoffs", "a list of whole years", cut) end
  o.cutoffs = {}
  for i = 1, rawlen(cut) do
    o.cutoffs[i] = A.int(fn, 1, ("cutoffs[%d]"):format(i), rawget(cut, i), 1)
    if i > 1 and o.cutoffs[i] <= o.cutoffs[i - 1] then A.fail(fn, 1, "cutoffs", "increasing years", cut) end
  end
  o.image_size = A.int(fn, 1, "image_size", opts.image_size, 16,
    o.backbone == "small" and 64 or (o.backbone == "inception_v3" and 299 or 224))
  if o.backbone == "inception_v3" and o.image_size < 75 then A.fail(fn, 1, "image_size", "at least 75 for inception_v3", o.image_size) end
  o.width = A.num(fn, 1, "width", opts.width, 1, 1e-3)
  o.covariates = A.bool(fn, 1, "covariates", opts.covariates, o.design ~= "paper")
  if o.design == "paper" and o.covariates then A.fail(fn, 1, "covariates", "false for the paper design", true) end
  return Model(o)
end

-- the options that rebuild a model (kept in its file)
function Model:config()
  return { design = self.design, backbone = self.backbone, inputs = self.inputs, cutoffs = self.cutoffs,
           image_size = self.image_size, width = self.width, covariates = self.covariates }
end

M.N_SNPS, M.N_COV = N_SNPS, N_COV
return M
