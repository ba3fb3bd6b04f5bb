-- cnn.distributed: data-parallel training on MPI (Open MPI). The C binding (csrc/lua_mpi.c, the
-- module cnn._mpi, built only when Open MPI is installed) makes the collectives; this module checks
-- arguments, allocates results, and adds DataParallel. Ranks are 1-based, as everything in Lua
-- here. Reference: docs/distributed.md. Specs: spec/distributed_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local Module = require "cnn.nn.module"

local ok, core = pcall(require, "cnn._mpi")
if not ok then
  error("cnn.distributed: the MPI binding (cnn._mpi) is not built: install Open MPI "
        .. "(apt-get install libopenmpi-dev openmpi-bin, or sh scripts/install-deps.sh) and run make again; "
        .. "see docs/distributed.md", 2)
end

local dist = {}

local function need_init(fn)
  if not core.is_initialized() then A.error(fn .. ": MPI is not initialized (call cnn.distributed.init() first)") end
end

-- a float32/float64 contiguous tensor as argument i of fn (non-contiguous ones are refused: an
-- in-place collective on a copy would leave the caller's tensor unchanged)
local function float_tensor(fn, i, name, t)
  A.tensor(fn, i, name, t)
  local dt = t:dtype()
  if dt ~= "float32" and dt ~= "float64" then A.fail(fn, i, name, "a float32 or float64 tensor", t) end
  if not t:is_contiguous() then A.fail(fn, i, name, "a contiguous tensor (call :contiguous() first)", t) end
  return t
end

local OPS = { sum = true, mean = true, max = true, min = true }

-- init(): starts MPI (once; later calls do nothing); returns rank, size
function dist.init()
  A.call_as("cnn.distributed.init", core.init)
  return core.rank(), core.size()
end
function dist.is_initialized() return core.is_initialized() end
function dist.rank() need_init("cnn.distributed.rank"); return core.rank() end
function dist.size() need_init("cnn.distributed.size"); return core.size() end
-- is_main(): true on rank 1, or when MPI is not initialized (a single process): the rank that prints and saves
function dist.is_main() return not core.is_initialized() or core.rank() == 1 end
function dist.barrier() need_init("cnn.distributed.barrier"); core.barrier() end
-- finalize(): ends MPI (also done at a normal exit; an exit with an error aborts every rank)
function dist.finalize() A.call_as("cnn.distributed.finalize", core.finalize) end

local function check_root(fn, i, root)
  root = A.int(fn, i, "root", root, 1, 1)
  if root > core.size() then A.fail(fn, i, "root", ("a rank in 1..%d"):format(core.size()), root) end
  return root
end

-- broadcast(t [, root = 1]): t on every rank takes root's values, in place; returns t
function dist.broadcast(t, root)
  local fn = "cnn.distributed.broadcast"
  need_init(fn)
  float_tensor(fn, 1, "tensor", t)
  root = check_root(fn, 2, root)
  A.call_as(fn, core.broadcast, t, root - 1)
  return t
end

-- all_reduce(t [, op = "sum"]): t becomes the sum (mean, max, min) over ranks, in place; returns t
function dist.all_reduce(t, op)
  local fn = "cnn.distributed.all_reduce"
  need_init(fn)
  float_tensor(fn, 1, "tensor", t)
  op = A.str(fn, 2, "op", op, "sum")
  if not OPS[op] then A.fail(fn, 2, "op", '"sum", "mean", "max" or "min"', op) end
  A.call_as(fn, core.all_reduce, t, op)
  return t
end

-- all_gather(t): a new tensor [size, ...t's shape] whose row r is rank r's t (same shape on every rank)
function dist.all_gather(t)
  local fn = "cnn.distributed.all_gather"
  need_init(fn)
  float_tensor(fn, 1, "tensor", t)
  local shape = { core.size() }
  for i, s in ipairs(t:size()) do shape[i + 1] = s end
  local out = cnn.zeros(shape, t:dtype())
  A.call_as(fn, core.all_gather, t, out)
  return out
end

-- ---- DataParallel ----

-- every DataParallel whose model ran forward with gradients since its last synchronisation:
-- the wrapped Tensor:backward below averages their gradients when backward returns
local pending = setmetatable({}, { __mode = "k" })
local backward_wrapped = false

-- The autograd engine has no post-backward hook; the smallest one is here: Tensor:backward (a
-- field of the methods table cnn.Tensor, looked up on each call) is replaced once by a function
-- that runs the original, then synchronises the DataParallel wrappers that ran forward since.
-- Every rank calls backward the same number of times (the script is the same), so the
-- collectives match. Communication therefore does not overlap backward (see docs/distributed.md).
local function wrap_backward()
  if backward_wrapped then return end
  backward_wrapped = true
  local original = cnn.Tensor.backward
  cnn.Tensor.backward = function(...)
    A.call(original, ...)            -- its errors keep the user's line, not this one
    local list = {}
    for dp in pairs(pending) do list[#list + 1] = dp end
    table.sort(list, function(a, b) return a._id < b._id end)   -- the same order on every rank
    for _, dp in ipairs(list) do
      pending[dp] = nil
      dp:sync_gradients()
    end
  end
end

local DataParallel = {}
DataParallel.__name = "cnn.distributed.DataParallel"
local next_id = 0

DataParallel.__index = function(self, k)
  local v = rawget(DataParallel, k)
  if v ~= nil then return v end
  -- the model's methods and fields: dp:parameters(), dp:train(), dp:state_dict(), ...
  local m = rawget(self, "module")[k]
  if type(m) == "function" then
    return function(s, ...)
      if s == self then s = rawget(self, "module") end
      return m(s, ...)
    end
  end
  return m
end

-- copies a buffer or parameter of any dtype from rank 1 (int64 ones go through float64)
local function broadcast_any(t)
  local dt = t:dtype()
  if (dt == "float32" or dt == "float64") and t:is_contiguous() then
    core.broadcast(t, 0)
  else
    local c = t:double():contiguous()
    core.broadcast(c, 0)
    t:copy_(c)
  end
end

-- DataParallel(model [, {bucket_mb = 25, auto = true, broadcast_buffers = false}]): the model with
-- its parameters and buffers copied from rank 1; after each backward its gradients are averaged
-- over the ranks; broadcast_buffers: rank 1's buffers (batch-norm statistics) copied at every
-- training forward, as PyTorch's DDP does by default
function dist.DataParallel(model, opts)
  local fn = "cnn.distributed.DataParallel"
  need_init(fn)
  if not Module.is_module(model) then A.fail(fn, 1, "model", "a module", model) end
  opts = A.opts(fn, 2, opts, { "bucket_mb", "auto", "broadcast_buffers" })
  local mb = A.num(fn, 2, "bucket_mb", opts.bucket_mb, 25, 0)
  if not (mb > 0) then A.fail(fn, 2, "bucket_mb", "a positive number", mb) end
  local auto = A.bool(fn, 2, "auto", opts.auto, true)
  local bb = A.bool(fn, 2, "broadcast_buffers", opts.broadcast_buffers, false)
  next_id = next_id + 1
  local self = setmetatable({ module = model, bucket_bytes = math.max(1, math.floor(mb * 1048576)), auto = auto,
                              broadcast_buffers = bb, _id = next_id, comm_seconds = 0, syncs = 0, all_reduces = 0 }, DataParallel)
  self.params = {}
  for _, p in ipairs(model:parameters()) do
    if p.requires_grad then self.params[#self.params + 1] = p end
  end
  local prev = cnn.set_grad_enabled(false)
  for _, p in ipairs(model:parameters()) do broadcast_any(p) end
  for _, b in ipairs(model:buffers()) do broadcast_any(b) end
  cnn.set_grad_enabled(prev)
  if auto then wrap_backward() end
  return self
end

-- dp(...): runs the model (and, in auto mode with gradients on, arms the averaging after backward)
function DataParallel:__call(...)
  local grad = cnn.is_grad_enabled()
  if self.broadcast_buffers and grad and self.module.training then
    local t0 = core.wtime()
    local prev = cnn.set_grad_enabled(false)
    for _, b in ipairs(self.module:buffers()) do broadcast_any(b) end
    cnn.set_grad_enabled(prev)
    self.comm_seconds = self.comm_seconds + (core.wtime() - t0)
  end
  if self.auto and grad then pending[self] = true end
  return self.module(...)
end

-- sync_gradients(): averages the gradients over the ranks now (for {auto = false}, e.g. after
-- several backward passes of gradient accumulation). A parameter without a gradient gets zeros
-- (every rank must send the same buffers). Buckets: the gradients in reverse order (last layers
-- first, as DDP), packed into buffers of about bucket_mb, one all-reduce each.
function DataParallel:sync_gradients()
  local t0 = core.wtime()
  local groups, order = {}, {}
  for i = #self.params, 1, -1 do
    local p = self.params[i]
    local g = p.grad
    if g == nil then
      g = cnn.zeros(p:size(), p:dtype())
      p.grad = g
    elseif not g:is_contiguous() then
      g = g:contiguous()
      p.grad = g
    end
    local dt = g:dtype()
    if not groups[dt] then groups[dt] = {}; order[#order + 1] = dt end
    local list = groups[dt]
    list[#list + 1] = g
  end
  for _, dt in ipairs(order) do
    self.all_reduces = self.all_reduces + A.call_as("cnn.distributed.DataParallel.sync_gradients", core.reduce_many,
                                                    groups[dt], "mean", self.bucket_bytes)
  end
  pending[self] = nil
  self.syncs = self.syncs + 1
  self.comm_seconds = self.comm_seconds + (core.wtime() - t0)
end

function DataParallel:__tostring()
  return ("cnn.distributed.DataParallel(%s)"):format(tostring(self.module))
end

dist.wtime = core.wtime

return dist
