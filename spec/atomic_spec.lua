-- The one atomic writer (csrc/atomic_file.c) behind cnn.save, cnn.image.save and cnn.plot: a full
-- disk (simulated by CNN_TEST_FAIL_WRITE_AFTER, which only the atomic writer honours) leaves the
-- old file intact and no temporary behind; a writer killed by SIGKILL leaves nothing the next
-- save does not remove.
local cnn = require "cnn"
local H = require "helpers"
local P = require "fixtures.png"

local LUA = ("LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='lua/?.so;;' lua5.4")

local function slurp(p) local f = assert(io.open(p, "rb")); local s = f:read("a"); f:close(); return s end

-- the names in dir matching a temporary of any target
local function temporaries(dir)
  local out, p = {}, io.popen("ls -a " .. dir)
  for name in p:lines() do if name:find("%.tmp") then out[#out + 1] = name end end
  p:close()
  return out
end

-- runs code in a fresh Lua with the environment prefix env; returns ok, output
local function run(env, code)
  local script = os.tmpname()
  local f = assert(io.open(script, "w")); f:write(code); f:close()
  local p = io.popen(("%s %s %s 2>&1"):format(env, LUA, script))
  local out = p:read("a")
  local ok = p:close()
  os.remove(script)
  return ok, out
end

describe("atomic file writing", function()
  local dir
  setup(function() dir = P.tmpdir() end)
  teardown(function() P.rmdir(dir) end)

  for _, mode in ipairs({ "", "CNN_TEST_NO_TMPFILE=1" }) do
    local what = mode == "" and "unnamed temporary" or "named temporary"
    it("keeps the old file whole when the disk fills up (" .. what .. ")", function()
      local png, ck, svg = dir .. "/a.png", dir .. "/ck.safetensors", dir .. "/r.svg"
      cnn.image.save(cnn.full({ 3, 4, 4 }, 0.5), png)
      cnn.save({ w = cnn.ones(3), epoch = 1 }, ck)
      cnn.plot.roc({ fpr = { 0, 1 }, tpr = { 0, 1 } }, svg)
      local old = { slurp(png), slurp(ck), slurp(svg) }
      local ok, out = run(mode .. " CNN_TEST_FAIL_WRITE_AFTER=100", ([[
        local cnn = require "cnn"
        local n = 0
        local function try(f, ...) local ok, e = pcall(f, ...); if not ok then n = n + 1; print(e) end end
        try(cnn.image.save, cnn.rand(3, 64, 64), %q)
        try(cnn.save, { w = cnn.rand(1000), epoch = 2 }, %q)
        try(cnn.plot.roc, { fpr = cnn.rand(500), tpr = cnn.rand(500) }, %q)
        os.exit(n == 3 and 0 or 1)
      ]]):format(png, ck, svg))
      assert.is_true(ok, out)
      assert.matches("cnn.image.save: " .. png:gsub("%p", "%%%0") .. ": write failed: No space left on device", out)
      assert.matches("cnn.save: cannot write " .. ck:gsub("%p", "%%%0") .. ": write failed: No space left on device", out)
      assert.matches("cnn.plot.roc: cannot write " .. svg:gsub("%p", "%%%0") .. ": write failed: No space left on device", out)
      assert.equal(old[1], slurp(png))
      assert.equal(old[2], slurp(ck))
      assert.equal(old[3], slurp(svg))
      assert.same({}, temporaries(dir))
      H.close(cnn.load(ck).w, cnn.ones(3), 0)
    end)
  end

  it("removes the temporaries a killed writer left at the next save, and only those", function()
    local ck = dir .. "/k.safetensors"
    cnn.save({ w = cnn.zeros(2) }, ck)
    -- what a writer killed mid-save with a named temporary leaves (and a stranger's file)
    P.write(ck .. ".tmp-AbC123", "half a checkpoint")
    P.write(ck .. ".tmp-notours", "keep")
    P.write(dir .. "/other.safetensors.tmp-XyZ789", "another target's")
    cnn.save({ w = cnn.ones(2) }, ck)
    assert.same({ "k.safetensors.tmp-notours", "other.safetensors.tmp-XyZ789" }, (function()
      local t = temporaries(dir); table.sort(t); return t end)())
    os.remove(ck .. ".tmp-notours")
    os.remove(dir .. "/other.safetensors.tmp-XyZ789")
  end)

  it("leaves nothing after kill -9 during cnn.save once the next save has run", function()
    local ck = dir .. "/big.safetensors"
    cnn.save({ w = cnn.zeros(2) }, ck)
    for _, mode in ipairs({ "", "CNN_TEST_NO_TMPFILE=1" }) do
      for _ = 1, 2 do
        -- a writer saving 16 MB over and over, killed at a random moment
        local script = os.tmpname()
        local f = assert(io.open(script, "w"))
        f:write(([[local cnn = require "cnn"; local t = cnn.rand(4000000)
          while true do cnn.save({ w = t }, %q) end]]):format(ck))
        f:close()
        os.execute(("%s %s %s & pid=$!; sleep 0.3; kill -9 $pid; wait $pid 2>/dev/null"):format(mode, LUA, script))
        os.remove(script)
        local w = cnn.load(ck).w              -- the target is always a whole checkpoint
        assert.is_true(w:numel() == 2 or w:numel() == 4000000)
        cnn.save({ w = cnn.ones(2) }, ck)
        assert.same({}, temporaries(dir))
      end
    end
  end)

  it("checks the path of cnn._file.write", function()
    H.errors(function() cnn._file.write(dir .. "/no/such/dir/x", "x", "plot.roc") end,
      "cnn.plot.roc: cannot write " .. dir .. "/no/such/dir/x: cannot open for writing (the folder must exist and be writable)")
  end)
end)
