# cnn: build the C core into lua/cnn/core.so, run the specs, the benchmarks and the demo.
# `make` builds; `make test` and `make demo` also install missing Debian packages first.
LUA      ?= lua5.4
CC       ?= gcc
VARIANT  ?= release
OPT      ?= -O2 -fvect-cost-model=cheap
# baseline x86-64 so the module runs on any x86-64; hot kernels pick wider vectors at run time.
# -fvect-cost-model=cheap: GCC 12 at -O2 leaves loops with a remainder scalar (relu was 10x slower)
CFLAGS   ?= $(OPT) -g
LUA_INCDIR ?= $(shell pkg-config --variable=includedir lua5.4 2>/dev/null || echo /usr/include)/lua5.4
BLAS_INC := $(shell pkg-config --cflags openblas 2>/dev/null || echo -I/usr/include/x86_64-linux-gnu/openblas-pthread)
BLAS_LIB := $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
PNG_INC  := $(shell pkg-config --cflags libpng 2>/dev/null)
PNG_LIB  := $(shell pkg-config --libs libpng zlib 2>/dev/null || echo -lpng16 -lz)
JPEG_INC := $(shell pkg-config --cflags libjpeg 2>/dev/null)
JPEG_LIB := $(shell pkg-config --libs libjpeg 2>/dev/null || echo -ljpeg)
MHD_INC  := $(shell pkg-config --cflags libmicrohttpd 2>/dev/null)
MHD_LIB  := $(shell pkg-config --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)
# Open MPI (cnn.distributed): optional; without it the core builds and cnn.distributed says how to install it
HAVE_MPI := $(shell pkg-config --exists ompi-c 2>/dev/null && echo 1)
MPI_INC  := $(shell pkg-config --cflags ompi-c 2>/dev/null)
MPI_LIB  := $(shell pkg-config --libs ompi-c 2>/dev/null)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -fPIC -fopenmp -Wall -Wextra -Wno-unused-parameter $(CFLAGS) \
             -I$(LUA_INCDIR) $(BLAS_INC) $(PNG_INC) $(JPEG_INC)
LIBS     = $(BLAS_LIB) $(PNG_LIB) $(JPEG_LIB) -lm

# csrc/lua_http.c is a module of its own (cnn._http): libmicrohttpd pulls in GnuTLS and p11-kit,
# which must not be loaded (or preloaded, under ASan) into every process that uses the core
# csrc/lua_mpi.c likewise (cnn._mpi): built only when Open MPI is installed
SRC  := $(filter-out csrc/lua_http.c csrc/lua_mpi.c,$(wildcard csrc/*.c))
HDR  := $(wildcard csrc/*.h csrc/*.inc)
OBJ  := $(SRC:csrc/%.c=build/$(VARIANT)/%.o)
SO   := build/$(VARIANT)/core.so
HTTP_SO := build/$(VARIANT)/_http.so
MPI_SO  := $(if $(HAVE_MPI),build/$(VARIANT)/_mpi.so)
SPECS ?= spec

ASAN_FLAGS = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

.PHONY: all deps test test-asan valgrind bench bench-compare demo demo-fashion clean install rock-check

# copied by rename, never in place: a running process (a REPL, a training run) maps the old file
all: $(SO) $(HTTP_SO) $(MPI_SO)
	@cmp -s $(SO) lua/cnn/core.so || { cp $(SO) lua/cnn/core.so.tmp && mv -f lua/cnn/core.so.tmp lua/cnn/core.so; }
	@cmp -s $(HTTP_SO) lua/cnn/_http.so || { cp $(HTTP_SO) lua/cnn/_http.so.tmp && mv -f lua/cnn/_http.so.tmp lua/cnn/_http.so; }
	@$(if $(MPI_SO),cmp -s $(MPI_SO) lua/cnn/_mpi.so || { cp $(MPI_SO) lua/cnn/_mpi.so.tmp && mv -f lua/cnn/_mpi.so.tmp lua/cnn/_mpi.so; },true)

# -z nodelete: Lua unloads C modules at lua_close, but OpenMP's worker threads live on inside
# libgomp, which must stay mapped (unloading it under them crashes the process at exit)
$(SO): $(OBJ)
	$(CC) -shared -Wl,-z,nodelete $(ALL_CFLAGS) -o $@ $(OBJ) $(LIBS)

$(HTTP_SO): csrc/lua_http.c | build/$(VARIANT)
	$(CC) -shared $(ALL_CFLAGS) $(MHD_INC) -o $@ $< $(MHD_LIB)

# -z nodelete: the on_exit handler that finalizes (or aborts) MPI runs after lua_close
build/$(VARIANT)/_mpi.so: csrc/lua_mpi.c csrc/cnn.h | build/$(VARIANT)
	$(CC) -shared -Wl,-z,nodelete $(ALL_CFLAGS) $(MPI_INC) -o $@ $< $(MPI_LIB)

build/$(VARIANT)/%.o: csrc/%.c $(HDR) | build/$(VARIANT)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

build/$(VARIANT):
	mkdir -p $@

deps:
	@sh scripts/install-deps.sh

test: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/run-specs.sh $(SPECS)

test-asan: deps
	@$(MAKE) --no-print-directory VARIANT=asan CFLAGS="$(ASAN_FLAGS)" all
	@ASAN=1 sh scripts/run-specs.sh $(SPECS); rc=$$?; $(MAKE) --no-print-directory all >/dev/null; exit $$rc

valgrind: all
	valgrind --leak-check=full --error-exitcode=99 --keep-debuginfo=yes --suppressions=scripts/valgrind.supp \
	  $(LUA) scripts/valgrind-smoke.lua

# bench/sgemm.c is the raw BLAS ceiling; its rows join the "matmul" table beside cnn.matmul
bench: all build/sgemm
	@{ build/sgemm | grep '^RESULT' | sed 's/^RESULT/cnn/'; \
	  for f in bench/*.lua; do [ $$f = bench/lib.lua ] || [ $$f = bench/table.lua ] || [ $$f = bench/profile.lua ] || \
	  LUA_PATH='lua/?.lua;lua/?/init.lua;bench/?.lua;;' LUA_CPATH='lua/?.so;;' $(LUA) $$f | grep '^RESULT' | sed 's/^RESULT/cnn/'; done; } | $(LUA) bench/table.lua

build/sgemm: bench/sgemm.c | build/$(VARIANT)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 $(BLAS_INC) -o $@ $< $(BLAS_LIB)

bench-compare: all build/sgemm
	@sh scripts/install-deps.sh --torch
	@sh bench/compare.sh

# the AMD pipeline on a simulated cohort (examples/amd/demo.lua, docs/amd.md): simulate, train
# image, image+geno, survival and geno, evaluate with the oracle, saliency grids, check the ordering
demo: deps
	@$(MAKE) --no-print-directory all
	@bin/cnn examples/amd/demo.lua --out out/demo

# one epoch of the Fashion-MNIST CNN (about a minute, 87-88%; 8 epochs give 92%)
demo-fashion: deps
	@$(MAKE) --no-print-directory all
	@bin/cnn examples/fashion_mnist.lua --epochs 1 --out out/demo-fashion

# used by `luarocks make` (build.type = "make"); INST_* come from the rockspec
INST_LIBDIR ?= /usr/local/lib/lua/5.4
INST_LUADIR ?= /usr/local/share/lua/5.4
install: all
	mkdir -p $(INST_LIBDIR)/cnn $(INST_LUADIR)/cnn
	cp lua/cnn/core.so $(INST_LIBDIR)/cnn/core.so
	cp lua/cnn/_http.so $(INST_LIBDIR)/cnn/_http.so
	if [ -f lua/cnn/_mpi.so ]; then cp lua/cnn/_mpi.so $(INST_LIBDIR)/cnn/_mpi.so; fi
	cd lua && find cnn -name '*.lua' -exec sh -c 'mkdir -p "$(INST_LUADIR)/$$(dirname "$$1")" && cp "$$1" "$(INST_LUADIR)/$$1"' _ {} \;

clean:
	rm -rf build lua/cnn/core.so lua/cnn/_http.so lua/cnn/_mpi.so

# the zoo against torchvision (spec/parity/torchvision_parity_spec.lua); needs python3-torchvision
.PHONY: test-torch
test-torch: all
	@/usr/bin/python3 -c "import torchvision" 2>/dev/null || { echo "make test-torch needs python3-torchvision (apt-get install python3-torchvision)"; exit 1; }
	@/usr/bin/python3 spec/parity/gen_torchvision.py build/torchvision
	@CNN_TORCHVISION_DIR=build/torchvision sh scripts/run-specs.sh spec/parity/torchvision_parity_spec.lua

# ---- fuzzing the C parsers (clang-14 libFuzzer; not part of make test). FUZZ_TIME seconds each.
FUZZ_CC   ?= clang-14
FUZZ_TIME ?= 60
FUZZ_CORE := $(filter-out csrc/lua_% csrc/init.c,$(SRC))
FUZZ_BINS := build/fuzz/png_fuzz build/fuzz/jpeg_fuzz build/fuzz/idx_fuzz build/fuzz/bed_fuzz build/fuzz/csv_fuzz \
             build/fuzz/safetensors_fuzz build/fuzz/checkpoint_fuzz
.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)
build/fuzz/%: fuzz/%.c $(FUZZ_CORE) $(HDR)
	@mkdir -p build/fuzz fuzz/corpus/$*
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  $(BLAS_INC) $(PNG_INC) $(JPEG_INC) -o $@ $< $(FUZZ_CORE) $(BLAS_LIB) $(PNG_LIB) $(JPEG_LIB) -lm
fuzz: fuzz-build
	@for f in $(FUZZ_BINS); do n=$$(basename $$f); mkdir -p fuzz/corpus/$$n; \
	  dict=""; [ -f fuzz/$${n%_fuzz}.dict ] && dict="-dict=fuzz/$${n%_fuzz}.dict"; \
	  echo "== $$n: $(FUZZ_TIME) s"; $$f -max_total_time=$(FUZZ_TIME) -rss_limit_mb=2048 -max_len=65536 $$dict \
	  -print_final_stats=1 fuzz/corpus/$$n fuzz/seeds/$$n 2>&1 | tail -n 12 || exit 1; done
