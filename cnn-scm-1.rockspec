package = "cnn"
version = "scm-1"
source = { url = "git+https://example.invalid/cnn.git" }
description = {
  summary = "Convolutional neural networks for Lua 5.4 with a C core (OpenBLAS)",
  detailed = "Tensors, autograd, layers, optimizers, data loading and evaluation for Lua 5.4.",
  license = "MIT",
}
dependencies = { "lua >= 5.4, < 5.5" }
-- OpenBLAS: only the library is checked; its cblas.h lives under a multiarch folder that
-- LuaRocks does not search, so the Makefile finds it with pkg-config.
external_dependencies = {
  OPENBLAS = { library = "openblas" },
  PNG = { header = "png.h", library = "png16" },
  JPEG = { header = "jpeglib.h", library = "jpeg" },   -- libjpeg62-turbo-dev
  ZLIB = { library = "z" },
}
build = {
  type = "make",
  build_variables = { LUA_INCDIR = "$(LUA_INCDIR)" },
  install_variables = { INST_LIBDIR = "$(LIBDIR)", INST_LUADIR = "$(LUADIR)" },
}
