#!/bin/sh
# bench/conv_compare.sh: the conv group of `make bench-compare` only, with every case run
# interleaved with its PyTorch twin (same case, same thread count, one after the other) REPS
# times (default 3); bench/table.lua prints the median of the runs. The machine is shared, so
# interleaving keeps both sides under the same load. Each case runs in a fresh process; with
# ONE_PROCESS=1 all cases run in one process per side, as in `make bench-compare` (PyTorch's
# later cases then find glibc's malloc warmed up by the earlier ones: see docs/perf-conv.md).
# Usage: [ONE_PROCESS=1] sh bench/conv_compare.sh [REPS]
cd "$(dirname "$0")/.." || exit 1
reps=${1:-3}
cases="1 2 3 4 lenet"
[ "${ONE_PROCESS:-0}" = 1 ] && cases=all
out=$(mktemp)
for r in $(seq "$reps"); do
    for cs in $cases; do
        for th in 1 2; do
            [ "$cs" = all ] && unset CONV_CASE || export CONV_CASE=$cs
            CNN_THREADS=$th LUA_PATH='lua/?.lua;lua/?/init.lua;bench/?.lua;;' LUA_CPATH='lua/?.so;;' \
                lua5.4 bench/conv.lua | grep '^RESULT' | sed 's/^RESULT/cnn/' >> "$out"
            CNN_THREADS=$th /usr/bin/python3 bench/conv_torch.py | grep '^RESULT' | sed 's/^RESULT/torch/' >> "$out"
        done
    done
done
lua5.4 bench/table.lua < "$out"
rm -f "$out"
