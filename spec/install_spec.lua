-- The rockspec installs a working module: `luarocks make` into a temporary tree, then plain
-- lua5.4 outside the repository finds cnn with that tree's paths and nothing else.
describe("luarocks install", function()
  it("installs into a temporary tree from which require 'cnn' works", function()
    if os.getenv("ASAN") then
      pending("not under the sanitizer preload: it spawns luarocks and a nested make")
      return
    end
    if os.execute("command -v luarocks >/dev/null 2>&1") ~= true then
      pending("luarocks is not installed")
      return
    end
    local tree = os.tmpname()
    os.remove(tree)
    local ok = os.execute(("luarocks --lua-version=5.4 --tree %q make cnn-scm-1.rockspec >/dev/null 2>&1"):format(tree))
    assert.is_true(ok, "luarocks make failed")
    local cmd = ([[cd / && LUA_PATH=%q LUA_CPATH=%q lua5.4 -e 'local cnn = require "cnn"; io.write((cnn.ones(2, 2) * 3):sum():item())']])
      :format(tree .. "/share/lua/5.4/?.lua;" .. tree .. "/share/lua/5.4/?/init.lua",
              tree .. "/lib/lua/5.4/?.so")
    local p = io.popen(cmd)
    local out = p:read("a")
    p:close()
    os.execute(("rm -rf %q"):format(tree))
    assert.are.equal("12", out)
  end)
end)
