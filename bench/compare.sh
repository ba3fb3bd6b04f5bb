#!/bin/sh
# make bench-compare: runs every bench/X.lua and its PyTorch twin bench/X_torch.py at 1 and 2
# threads in the same session and prints one markdown table per group: our time, PyTorch's,
# the ratio ours/PyTorch (< 1 means we are faster) and GFLOP/s where the case has a FLOP count.
# BENCH=memory runs only bench/memory.lua (and its twin); THREADS="2" only that thread count.
# The first lines say which OpenBLAS kernels each side runs (OPENBLAS_CORETYPE forces them;
# unset, OpenBLAS detects the CPU). BLAS_DETECT=1 runs both sides with OPENBLAS_CORETYPE unset,
# as on a fresh Debian 12 machine; by default the environment is used as it is.
cd "$(dirname "$0")/.." || exit 1
if [ "$BLAS_DETECT" = 1 ]; then run="env -u OPENBLAS_CORETYPE"; else run="env"; fi
export LUA_PATH='lua/?.lua;lua/?/init.lua;bench/?.lua;;' LUA_CPATH='lua/?.so;;'
cnn_core=$($run lua5.4 -e 'io.write(require("cnn").blas_core)' 2>&1)
torch_core=$($run /usr/bin/python3 -c '
import sys; sys.path.insert(0, "bench")
from torchlib import openblas_core
print(openblas_core())' 2>&1 | tail -n 1)
coretype=$($run sh -c 'echo "${OPENBLAS_CORETYPE-unset}"')
echo "OPENBLAS_CORETYPE: $coretype$([ "$BLAS_DETECT" = 1 ] && echo ' (BLAS_DETECT=1: unset for both sides)')"
echo "OpenBLAS core: cnn $cnn_core; PyTorch $torch_core (its convolutions use oneDNN whatever the core)"
echo
out=$(mktemp)
for th in ${THREADS:-1 2}; do
    [ -z "$BENCH" ] && [ -x build/sgemm ] && CNN_THREADS=$th $run build/sgemm | grep '^RESULT' | sed 's/^RESULT/cnn/' >> "$out"
    for f in bench/*.lua; do
        case "$f" in bench/lib.lua|bench/table.lua|bench/profile.lua) continue;; esac
        [ -n "$BENCH" ] && [ "$f" != "bench/$BENCH.lua" ] && continue
        CNN_THREADS=$th $run lua5.4 "$f" | grep '^RESULT' | sed 's/^RESULT/cnn/' >> "$out"
        py="${f%.lua}_torch.py"
        [ -f "$py" ] && CNN_THREADS=$th $run /usr/bin/python3 "$py" | grep '^RESULT' | sed 's/^RESULT/torch/' >> "$out"
    done
done
lua5.4 bench/table.lua < "$out"
rm -f "$out"
