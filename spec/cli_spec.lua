local cnn = require "cnn"
local H = require "helpers"

describe("cnn.cli", function()
  local spec = {
    description = "test",
    { "epochs", 8, "passes" }, { "lr", 1e-3, "rate" }, { "out", "o", "folder" }, { "resume", false, "continue" },
    { "batch-size", 64, "batch" },
  }
  it("parses values, flags and defaults", function()
    local o = cnn.cli.parse({ [0] = "x", "--epochs", "3", "--lr=0.01", "--resume", "--batch-size", "32" }, spec)
    assert.are.same({ epochs = 3, lr = 0.01, out = "o", resume = true, batch_size = 32 }, o)
    assert.is_false(cnn.cli.parse({ "--no-resume" }, spec).resume)
  end)
  it("explains bad command lines", function()
    H.errors(function() cnn.cli.parse({ "--epochs", "many" }, spec) end, "cnn.cli: option --epochs expects a number, got 'many'")
    H.errors(function() cnn.cli.parse({ "--bogus" }, spec) end, "cnn.cli: unknown option --bogus (see --help)")
    H.errors(function() cnn.cli.parse({ "--lr" }, spec) end, "cnn.cli: option --lr needs a value")
    H.errors(function() cnn.cli.parse({ "stray" }, spec) end, "cnn.cli: unexpected argument 'stray'")
  end)
  it("prints usage with every option", function()
    local u = cnn.cli.usage(spec, "prog")
    assert.truthy(u:find("--batch-size N", 1, true))
    assert.truthy(u:find("--resume", 1, true))
  end)
end)

-- bin/cnn: -e code (and the REPL) sees `cnn` as the interactive prompt does; scripts require it
describe("bin/cnn", function()
  local function run(args)
    local p = assert(io.popen("bin/cnn " .. args .. " 2>&1"))
    local out = p:read("a")
    local ok = p:close()
    return out, ok
  end

  it("gives -e code the cnn module", function()
    local out, ok = run([[-e 'io.write(cnn.randn(2, 3):size(2), " ", tostring(cnn == require "cnn"))']])
    assert.is_true(ok, out)
    assert.are.equal("3 true", out)
    out = run([[-l string -e 'io.write(type(cnn))']])                 -- after other options too
    assert.are.equal("table", out)
  end)

  it("leaves scripts to require cnn themselves, and the library sets no global", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write('io.write(type(cnn), " ", type(require("cnn")), " ", type(cnn), " ", tostring(arg[1]))\n')
    f:close()
    local out, ok = run(("%q -e"):format(path))                      -- -e after the script is its argument
    os.remove(path)
    assert.is_true(ok, out)
    assert.are.equal("nil table nil -e", out)
  end)
end)
