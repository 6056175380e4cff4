#!/bin/sh
# usage: check-freestanding.sh LD NM libvmmcore.a
# Links every member of the archive into one i386 object and lists what is
# still undefined: only memset, memcpy, memmove and memcmp may be (the four
# functions GCC expects of any freestanding environment).
set -eu
ld=$1 nm=$2
lib=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
ar x "$lib"
"$ld" -m elf_i386 -r -o all.o ./*.o
file_type=$(od -An -tx1 -j18 -N2 all.o | tr -d ' ')
[ "$file_type" = "0300" ] || { echo "not ok - all.o is not an i386 object (e_machine $file_type)"; exit 1; }
echo "ok - $(ls ./*.o | grep -vc all.o) objects link into one i386 object"
undefined=$("$nm" -u all.o | awk '{print $2}' | grep -vxE 'memset|memcpy|memmove|memcmp' || true)
if [ -n "$undefined" ]; then
	echo "not ok - the core needs symbols a guest monitor would not have:"
	echo "$undefined"
	exit 1
fi
echo "ok - undefined symbols: $("$nm" -u all.o | awk '{print $2}' | tr '\n' ' ')(all provided by any freestanding C runtime)"
