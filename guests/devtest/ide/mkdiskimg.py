#!/usr/bin/env python3
"""mkdiskimg.py OUT SECTORS UNIT - write the raw test disk image of the IDE
device test (guests/devtest/ide).

Sector s of disk UNIT holds, at byte i:
  i 0-3   s, little-endian
  i 4-7   'N', 'L', '0' + UNIT, 0
  i >= 8  (s * 31 + i * 7 + (s >> 8) + UNIT * 101) mod 256
main.c computes the same bytes to check what it reads. Sector 0 does not end
in 0x55 0xAA, so no one mistakes the image for a partitioned disk (QEMU would
then guess its geometry from the partition table).
"""
import struct
import sys

SECTOR = 512


def sector(s, unit):
    body = bytes((s * 31 + i * 7 + (s >> 8) + unit * 101) & 0xFF for i in range(8, SECTOR))
    return struct.pack("<I", s) + bytes([ord("N"), ord("L"), ord("0") + unit, 0]) + body


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    out, sectors, unit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with open(out, "wb") as f:
        for s in range(sectors):
            f.write(sector(s, unit))


if __name__ == "__main__":
    main()
