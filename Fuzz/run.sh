#!/bin/sh
# Runs one libFuzzer harness (built by `make fuzz-build`) for RUNS executions, starting from its
# committed seeds in Fuzz/Corpus/HARNESS (read only) and a working corpus in .build/fuzz/corpus
# that keeps what the fuzzer finds. Crashes, leaks, timeouts and out-of-memory inputs go to
# .build/fuzz/artifacts/HARNESS/. Extra arguments are passed to libFuzzer (-max_total_time=…,
# -jobs=…). Replay one input: .build/fuzz/release/fuzz-HARNESS FILE.
#
# Usage: Fuzz/run.sh HARNESS RUNS [libFuzzer flags…]
set -eu
harness=$1
runs=$2
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
binary=$root/.build/fuzz/release/fuzz-$harness
work=$root/.build/fuzz/corpus/$harness
artifacts=$root/.build/fuzz/artifacts/$harness/
mkdir -p "$work" "$artifacts"
case $harness in
    tokenizer) max_len=16384 ;;
    safetensors | unit-locations) max_len=4096 ;;
    *) max_len=8192 ;;
esac
# One OpenBLAS thread: its worker threads spin-wait, and on a busy machine a starved worker
# made a 20 ms input exceed the 10 s timeout.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/Fuzz/lsan.supp:print_suppressions=0}
exec "$binary" -runs="$runs" -max_len=$max_len -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -dict="$root/Fuzz/Dictionaries/$harness.dict" -artifact_prefix="$artifacts" -print_final_stats=1 \
    "$@" "$work" "$root/Fuzz/Corpus/$harness"
