#!/usr/bin/env bash
# Builds a fuzz target with clang's libFuzzer, ASan and UBSan, and runs it.
# Usage: tests/fuzz/libfuzzer.sh [--target cpu|pc|boot] [SECONDS] [CORPUS_DIR]
#   cpu   decode + execute of random code (default)
#   pc    port and MMIO programs against all the PC's devices
#   boot  kernel images for the multiboot loader
# (default 600 s; the corpus defaults to build/fuzz-corpus[-TARGET])
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
target=cpu
if [ "${1:-}" = --target ]; then
	target=$2
	shift 2
fi
case $target in cpu | pc | boot) ;; *) echo "libfuzzer.sh: unknown target $target (cpu, pc, boot)" >&2; exit 64 ;; esac
secs=${1:-600}
suffix=$([ "$target" = cpu ] && echo "" || echo "-$target")
corpus=${2:-$top/build/fuzz-corpus$suffix}
out=$top/build/fuzz-$target-libfuzzer
artifacts=$top/build/fuzz-artifacts
mkdir -p "$corpus" "$(dirname "$out")" "$artifacts"
command -v clang >/dev/null || { echo "libfuzzer.sh: clang is needed (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
echo "building $out ..."
flags=(-std=gnu17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
if [ "$target" = cpu ]; then
	clang "${flags[@]}" -I"$top/engine/cpu" $(pkg-config --cflags glib-2.0) \
		"$top"/engine/cpu/*.c "$here/fuzz_cpu.c" -o "$out"
else
	clang "${flags[@]}" -I"$top/engine" -I"$top/engine/cpu" -I"$top/engine/mem" \
		-I"$top/engine/dev" -I"$top/engine/boot" -I"$top/build" $(pkg-config --cflags glib-2.0) \
		"$top"/engine/*.c "$top"/engine/{cpu,mem,dev,boot}/*.c "$here/fuzz_$target.c" \
		$(pkg-config --libs glib-2.0) -o "$out"
fi
# Seed an empty corpus with the suite driver's structured inputs (sane
# descriptor tables and page tables around random code).
seeder=$top/build/tests/fuzz/fuzz-cpu
if [ "$target" = boot ] && [ -z "$(ls -A "$corpus")" ]; then
	cp "$top"/build/guests/*.elf "$top"/build/guests/minios/minios.elf "$corpus"/ 2>/dev/null || true
fi
if [ "$target" = cpu ] && [ -z "$(ls -A "$corpus")" ] && [ -x "$seeder" ]; then
	"$seeder" -n 64 -o "$corpus" >/dev/null
fi
echo "running for $secs s (corpus: $corpus) ..."
# Crashes and slow inputs are written to build/fuzz-artifacts/, not the cwd.
"$out" -max_total_time="$secs" -max_len=8192 -len_control=0 -print_final_stats=1 \
  -artifact_prefix="$artifacts/" "$corpus"
