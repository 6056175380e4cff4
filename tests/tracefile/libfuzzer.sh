#!/usr/bin/env bash
# Runs the snapshot/recording reader under clang's libFuzzer, ASan and UBSan
# (the suite's fuzz-tracefile-short runs the same target with deterministic
# inputs). Usage: tests/tracefile/libfuzzer.sh [SECONDS] [CORPUS_DIR] [BUILD_DIR]
# (default 600 s; corpus build/fuzz-corpus-tracefile; seeds from BUILD_DIR,
# default build, where tests/tracefile/make-seeds has been built).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
secs=${1:-600}
corpus=${2:-$top/build/fuzz-corpus-tracefile}
build=${3:-$top/build}
out=$build/fuzz-tracefile-libfuzzer
artifacts=$build/fuzz-artifacts
mkdir -p "$corpus" "$artifacts"
command -v clang >/dev/null || { echo "libfuzzer.sh: clang is needed (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
[ -f "$build/nestlab-config.h" ] || { echo "libfuzzer.sh: $build is not a configured build directory (meson setup $build)" >&2; exit 1; }
echo "building $out ..."
clang -std=gnu17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-I"$top/trace/file" -I"$build" $(pkg-config --cflags glib-2.0 libzstd) \
	"$top"/trace/file/*.c "$here/fuzz_tracefile.c" \
	$(pkg-config --libs glib-2.0 libzstd) -o "$out"
if [ -z "$(ls -A "$corpus")" ]; then
	seeder=$build/tests/tracefile/make-seeds
	[ -x "$seeder" ] && "$seeder" "$corpus"
fi
echo "running for $secs s (corpus: $corpus) ..."
"$out" -max_total_time="$secs" -max_len=16384 -print_final_stats=1 \
	-artifact_prefix="$artifacts/" "$corpus"
