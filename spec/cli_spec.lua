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
