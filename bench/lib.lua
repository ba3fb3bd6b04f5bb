-- bench/lib.lua: timing helpers shared by bench/*.lua. Every result is one line
--   RESULT <tab> group <tab> case <tab> threads <tab> seconds <tab> gflops-or-"-" <tab> extra
-- so that bench/compare.sh can join our rows with PyTorch's (bench/*_torch.py prints the same).
-- Times are medians of repeated runs (the machine is shared and noisy).
local cnn = require "cnn"
local B = {}

B.threads = tonumber(os.getenv("CNN_THREADS") or "") or cnn.get_num_threads()
cnn.set_num_threads(B.threads)

local clock = os.clock
do -- wall time: os.clock is CPU time, which counts every BLAS thread; use a monotonic clock if we can
  local ok, system = pcall(require, "system")
  if ok and system.monotime then clock = system.monotime
  else clock = function() local f = io.popen("date +%s.%N"); local t = tonumber(f:read("l")); f:close(); return t end end
end
B.now = clock

-- waits s seconds (lua-system's sleep, else a busy wait on the clock)
function B.sleep(s)
  local ok, system = pcall(require, "system")
  if ok and system.sleep then system.sleep(s) return end
  local t0 = clock()
  while clock() - t0 < s do end
end

-- median seconds per call of fn over `reps` runs after `warm` warm-up calls;
-- `inner` calls per timed run for very short functions
function B.time(fn, opts)
  opts = opts or {}
  local reps, warm, inner = opts.reps or 7, opts.warm or 2, opts.inner or 1
  for _ = 1, warm do fn() end
  local t = {}
  for r = 1, reps do
    local t0 = clock()
    for _ = 1, inner do fn() end
    t[r] = (clock() - t0) / inner
  end
  table.sort(t)
  return t[(reps + 1) // 2]
end

-- a field of /proc/self/status (VmRSS, VmHWM) in MB
function B.status_mb(field)
  for l in io.lines("/proc/self/status") do
    local v = l:match("^" .. field .. ":%s+(%d+) kB")
    if v then return tonumber(v) / 1024 end
  end
end

-- runs `lua5.4 script name` for each name, one fresh process each (so that each peak RSS is its
-- own), and passes their output through; `env` (optional): "VAR=value ..." put before the command
function B.each_in_child(script, names, env)
  for _, n in ipairs(names) do
    local p = assert(io.popen(("%slua5.4 %q %s"):format(env and env .. " " or "", script, n)))
    io.write(p:read("a"))
    p:close()
  end
end

-- FLOPs of one forward call fn() (no grad) in the Conv1d / Conv2d / Linear modules of `model`:
-- 2 x multiply-adds, counted by forward hooks from each output's size (out:numel() x the weight's
-- fan-in: in_features, or in_channels / groups x the kernel's size). Other layers (batch norm,
-- pooling, activations) count nothing. A training step is taken as 3 forwards.
function B.forward_flops(model, fn)
  local nn = cnn.nn
  local macs, handles = 0, {}
  for _, m in ipairs(model:modules()) do
    local mt = getmetatable(m)
    if mt == nn.Conv1d or mt == nn.Conv2d or mt == nn.Linear then
      handles[#handles + 1] = m:register_forward_hook(function(mod, _, out)
        macs = macs + out:numel() * (mod.weight:numel() // mod.weight:size(1))
      end)
    end
  end
  cnn.no_grad(fn)
  for _, h in ipairs(handles) do h:remove() end
  return 2 * macs
end

function B.result(group, case, seconds, flops, extra)
  local gf = flops and string.format("%.2f", flops / seconds / 1e9) or "-"
  io.write(string.format("RESULT\t%s\t%s\t%d\t%.6g\t%s\t%s\n", group, case, B.threads, seconds, gf, extra or ""))
  io.stdout:flush()
end

return B
