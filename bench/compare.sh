#!/bin/sh
# make bench-compare: runs every bench/X.lua and its PyTorch twin bench/X_torch.py at 1 and 2
# threads in the same session and prints one markdown table per group: our time, PyTorch's,
# the ratio ours/PyTorch (< 1 means we are faster) and GFLOP/s where the case has a FLOP count.
# BENCH=memory runs only bench/memory.lua (and its twin); THREADS="2" only that thread count.
cd "$(dirname "$0")/.." || exit 1
out=$(mktemp)
for th in ${THREADS:-1 2}; do
    [ -z "$BENCH" ] && [ -x build/sgemm ] && CNN_THREADS=$th build/sgemm | grep '^RESULT' | sed 's/^RESULT/cnn/' >> "$out"
    for f in bench/*.lua; do
        case "$f" in bench/lib.lua|bench/table.lua) continue;; esac
        [ -n "$BENCH" ] && [ "$f" != "bench/$BENCH.lua" ] && continue
        CNN_THREADS=$th LUA_PATH='lua/?.lua;lua/?/init.lua;bench/?.lua;;' LUA_CPATH='lua/?.so;;' lua5.4 "$f" | grep '^RESULT' | sed 's/^RESULT/cnn/' >> "$out"
        py="${f%.lua}_torch.py"
        [ -f "$py" ] && CNN_THREADS=$th /usr/bin/python3 "$py" | grep '^RESULT' | sed 's/^RESULT/torch/' >> "$out"
    done
done
lua5.4 bench/table.lua < "$out"
rm -f "$out"
