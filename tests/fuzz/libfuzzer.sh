#!/usr/bin/env bash
# Builds the CPU fuzz target with clang's libFuzzer, ASan and UBSan, and runs
# it. Usage: tests/fuzz/libfuzzer.sh [SECONDS] [CORPUS_DIR]   (default 600 s)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
secs=${1:-600}
corpus=${2:-$top/build/fuzz-corpus}
out=$top/build/fuzz-cpu-libfuzzer
artifacts=$top/build/fuzz-artifacts
mkdir -p "$corpus" "$(dirname "$out")" "$artifacts"
command -v clang >/dev/null || { echo "libfuzzer.sh: clang is needed (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
echo "building $out ..."
clang -std=gnu17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$top/engine/cpu" $(pkg-config --cflags glib-2.0) \
  "$top"/engine/cpu/*.c "$here/fuzz_cpu.c" -o "$out"
# Seed an empty corpus with the suite driver's structured inputs (sane
# descriptor tables and page tables around random code).
seeder=$top/build/tests/fuzz/fuzz-cpu
if [ -z "$(ls -A "$corpus")" ] && [ -x "$seeder" ]; then
	"$seeder" -n 64 -o "$corpus" >/dev/null
fi
echo "running for $secs s (corpus: $corpus) ..."
# Crashes and slow inputs are written to build/fuzz-artifacts/, not the cwd.
"$out" -max_total_time="$secs" -max_len=8192 -len_control=0 -print_final_stats=1 \
  -artifact_prefix="$artifacts/" "$corpus"
