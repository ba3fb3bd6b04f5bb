-- The AMD risk calculator: `bin/cnn serve --models out/demo/models` after `make demo`, then open
-- the address it prints. Loopback only unless --host says otherwise (docs/calculator.md).
local cnn = require "cnn"

local opts = cnn.cli.parse(arg, {
  description = "The web risk calculator for late AMD (cnn.amd.serve): a page and a JSON API",
  { "models", "out/demo/models", "folder of model files (examples/amd/train.lua's --out)" },
  { "model", "", "which model to serve (default: image+geno, else survival, else image)" },
  { "host", "127.0.0.1", "address to listen on (0.0.0.0: every interface)" },
  { "port", 8080, "port (0: a free one)" },
  { "max_body", 20, "upload limit in MB" },
  { "max_connections", 64, "simultaneous connections" },
  { "threads", cnn.get_num_threads(), "threads" },
})
cnn.set_num_threads(opts.threads)
cnn.amd.serve {
  models = opts.models, model = opts.model ~= "" and opts.model or nil, host = opts.host, port = opts.port,
  max_body = math.floor(opts.max_body * 1024 * 1024), max_connections = opts.max_connections,
  ready = function(url, app)
    print(("AMD risk calculator: %s  (model %s; Ctrl-C stops it)"):format(url, app.model_name))
    io.stdout:flush()
  end,
}
