#!/bin/sh
# Runs the busted specs with Lua 5.4 and ends with one line "N passed, N failed" (skipped specs
# are counted on the line before).
# ASAN=1 preloads the ASan runtime (and the module, so leak reports keep its frames).
cd "$(dirname "$0")/.." || exit 1
out=$(mktemp)
export CNN_PROGRESS=0    # the library's progress bars stay out of the log (progress_spec gives its own out)
if [ -n "$ASAN" ]; then
    export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $PWD/lua/cnn/core.so"
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:allocator_may_return_null=1"  # OOM specs ask for petabytes
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
fi
lua5.4 /usr/bin/busted --output=plainTerminal "$@" 2>&1 | tee "$out"
rc=$(tail -n 1 "$out" | grep -q 'success' && echo 0 || echo 1)
line=$(grep -E '[0-9]+ success(es)? / [0-9]+ failures? / [0-9]+ errors? / [0-9]+ pending' "$out" | tail -n 1)
rm -f "$out"
if [ -z "$line" ]; then echo "0 passed, 1 failed"; exit 1; fi
set -- $(echo "$line" | sed -E 's/([0-9]+) success(es)? \/ ([0-9]+) failures? \/ ([0-9]+) errors? \/ ([0-9]+) pending.*/\1 \3 \4 \5/')
pass=$1; failed=$(($2 + $3)); skipped=$4
[ "$skipped" -gt 0 ] && echo "$skipped skipped (pending: see above)"
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
