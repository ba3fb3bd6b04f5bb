#!/bin/sh
# bench/conv_compare.sh: the conv group of `make bench-compare` only, with every case run
# interleaved with its PyTorch twin (same case, same thread count, one after the other) REPS
# times (default 3); bench/table.lua prints the median of the runs. The machine is shared, so
# interleaving keeps both sides under the same load. Usage: sh bench/conv_compare.sh [REPS]
cd "$(dirname "$0")/.." || exit 1
reps=${1:-3}
out=$(mktemp)
for r in $(seq "$reps"); do
    for cs in 1 2 3 4 lenet; do
        for th in 1 2; do
            CONV_CASE=$cs CNN_THREADS=$th LUA_PATH='lua/?.lua;lua/?/init.lua;bench/?.lua;;' LUA_CPATH='lua/?.so;;' \
                lua5.4 bench/conv.lua | grep '^RESULT' | sed 's/^RESULT/cnn/' >> "$out"
            CONV_CASE=$cs CNN_THREADS=$th /usr/bin/python3 bench/conv_torch.py | grep '^RESULT' | sed 's/^RESULT/torch/' >> "$out"
        done
    done
done
lua5.4 bench/table.lua < "$out"
rm -f "$out"
