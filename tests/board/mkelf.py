#!/usr/bin/env python3
"""mkelf.py KIND OUT - writes a small kernel image of a given kind, for the
bad-input tests of nestlab-run (tests/board/test-boot-errors.sh).

Kinds:
  ok          i386 ELF with a multiboot header; writes 0 to port 0xF4
  x86_64      an ELF64 file for x86-64 (another architecture)
  arm         an ELF32 file for ARM
  nomb        i386 ELF without a multiboot header
  badsum      i386 ELF whose multiboot header checksum is wrong
  badflags    i386 ELF whose header asks for an unknown required feature (bit 15)
  big         i386 ELF whose segment needs 64 MiB of RAM at 1 MiB
  low         i386 ELF linked at 0x8000, over where the boot information goes first
  truncated   an i386 ELF header cut short
  overlap     i386 ELF with two segments that overlap each other
"""
import struct
import sys

MB_MAGIC = 0x1BADB002
LOAD = 0x100000


def mb_header(flags=0x3, bad=False):
    cks = (-(MB_MAGIC + flags)) & 0xFFFFFFFF
    if bad:
        cks ^= 1
    return struct.pack("<III", MB_MAGIC, flags, cks)


def elf32(code, machine=3, vaddr=LOAD, memsz=None):
    ehsize, phsize = 52, 32
    off = 0x1000
    filesz = len(code)
    memsz = memsz or filesz
    eh = b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8)
    eh += struct.pack("<HHIIIIIHHHHHH", 2, machine, 1, vaddr, ehsize, 0, 0, ehsize, phsize, 1,
                      40, 0, 0)
    ph = struct.pack("<IIIIIIII", 1, off, vaddr, vaddr, filesz, memsz, 7, 0x1000)
    img = eh + ph
    return img + bytes(off - len(img)) + code


def elf32_two(code):
    # two PT_LOAD segments, the second starting inside the first
    off = 0x1000
    eh = b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8)
    eh += struct.pack("<HHIIIIIHHHHHH", 2, 3, 1, LOAD + 12, 52, 0, 0, 52, 32, 2, 40, 0, 0)
    ph = struct.pack("<IIIIIIII", 1, off, LOAD, LOAD, len(code), 0x2000, 7, 0x1000)
    ph += struct.pack("<IIIIIIII", 1, off, LOAD + 0x1000, LOAD + 0x1000, len(code), len(code),
                      7, 0x1000)
    img = eh + ph
    return img + bytes(off - len(img)) + code


def elf64(code):
    eh = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    eh += struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, LOAD, 64, 0, 0, 64, 56, 0, 64, 0, 0)
    return eh + bytes(0x1000 - len(eh)) + code


# xor eax,eax; out 0xf4,al; hlt
EXIT0 = bytes([0x31, 0xC0, 0xE6, 0xF4, 0xF4])


def main():
    kind, out = sys.argv[1], sys.argv[2]
    body = mb_header() + EXIT0
    if kind == "ok":
        img = elf32(mb_header() + bytes([0x31, 0xC0, 0xE6, 0xF4, 0xF4]), vaddr=LOAD)
        # entry is the first byte after the 12-byte header
        img = bytearray(img)
        struct.pack_into("<I", img, 24, LOAD + 12)
        img = bytes(img)
    elif kind == "x86_64":
        img = elf64(body)
    elif kind == "arm":
        img = elf32(body, machine=40)
    elif kind == "nomb":
        img = elf32(EXIT0 + bytes(64))
    elif kind == "badsum":
        img = elf32(mb_header(bad=True) + EXIT0)
    elif kind == "badflags":
        img = elf32(mb_header(flags=0x8003) + EXIT0)
    elif kind == "big":
        img = elf32(body, memsz=64 << 20)
    elif kind == "low":
        # linked at 0x8000, over 0x9000, entered after the header: it exits 0
        img = bytearray(elf32(body, vaddr=0x8000, memsz=0x10000))
        struct.pack_into("<I", img, 24, 0x8000 + 12)
        img = bytes(img)
    elif kind == "overlap":
        img = elf32_two(body)
    elif kind == "truncated":
        img = elf32(body)[:40]
    else:
        sys.exit(f"mkelf.py: unknown kind {kind}")
    with open(out, "wb") as f:
        f.write(img)


if __name__ == "__main__":
    main()
