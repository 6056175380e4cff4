#!/usr/bin/env python3
"""recfile.py - looks at and damages the input records of a recording
(docs/trace-format.md), for record-stdin.sh.

  recfile.py inputs FILE       the instruction count of each input, one a line
  recfile.py flip FILE N       flips a payload byte of input N (1-based)
  recfile.py cut FILE N        cuts the file in the middle of input N
  recfile.py reorder FILE N    moves input N before input N-1 (key, instruction
                               and cycle), checksums made good, the file cut
                               after it: only the order is wrong

The records are found by scanning: a 64-byte file header, then records of
a 48-byte header (type at 4, payload CRC at 12, key at 16, stored length
at 32, header CRC at 44) and their stored bytes.
"""
import struct
import sys

FILE_HEADER = 64
RECORD_HEADER = 48
TYPE_INPUT = 8
TYPE_INDEX = 0xFFFFFFFF


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def records(buf):
    """(offset, type, key, stored_len) of every record before the index."""
    off = FILE_HEADER
    while off + RECORD_HEADER <= len(buf):
        magic, rtype, _flags, _pcrc, key, _raw, stored = struct.unpack_from(
            "<4sIIIQQQ", buf, off)
        if magic != b"NLRC" or rtype == TYPE_INDEX:
            break
        yield off, rtype, key, stored
        off += RECORD_HEADER + stored


def inputs(buf):
    return [r for r in records(buf) if r[1] == TYPE_INPUT]


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    with open(path, "rb") as f:
        buf = bytearray(f.read())
    ins = inputs(buf)
    if cmd == "inputs":
        for _, _, key, _ in ins:
            print(key)
        return
    n = int(sys.argv[3])
    off, _, key, stored = ins[n - 1]
    payload = off + RECORD_HEADER
    if cmd == "flip":
        buf[payload + stored - 1] ^= 0xFF
    elif cmd == "cut":
        del buf[payload + stored // 2:]
    elif cmd == "reorder":
        poff, _, pkey, _ = ins[n - 2]
        earlier = pkey - 1
        pcycles = struct.unpack_from("<Q", buf, poff + RECORD_HEADER + 8)[0]
        struct.pack_into("<QQ", buf, payload, earlier, pcycles - 1)
        struct.pack_into("<Q", buf, off + 16, earlier)
        struct.pack_into("<I", buf, off + 12, crc32c(buf[payload:payload + stored]))
        struct.pack_into("<I", buf, off + 44, crc32c(buf[off:off + 44]))
        del buf[payload + stored:]
    else:
        sys.exit("recfile.py: unknown command " + cmd)
    with open(path, "wb") as f:
        f.write(buf)


if __name__ == "__main__":
    main()
