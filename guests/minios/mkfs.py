#!/usr/bin/env python3
"""mkfs.py - build a MINIFS disk image for minios (format: kernel/fsformat.h).

    mkfs.py OUTPUT FILE[=NAME]...

Each FILE is stored under NAME (default: its base name), in the order given.
Layout: sector 0 the superblock, then the directory (32-byte entries, 16 per
sector), then the files, each contiguous from a sector boundary. The image is
padded to at least MIN_SECTORS sectors so that it looks like a small disk.
"""

import os
import struct
import sys

SECTOR = 512
MAGIC = 0x53464E4D          # "MNFS"
VERSION = 1
NAMELEN = 24                # with the terminating NUL
DIRENT = struct.Struct('<24sII')
SUPERBLOCK = struct.Struct('<IIIII')
MIN_SECTORS = 2048          # 1 MiB


def sectors(nbytes):
    return (nbytes + SECTOR - 1) // SECTOR


def parse(args):
    files = []
    for arg in args:
        path, _, name = arg.partition('=')
        name = name or os.path.basename(path)
        if not 0 < len(name.encode()) < NAMELEN or '/' in name:
            sys.exit(f'mkfs.py: bad file name {name!r} (1 to {NAMELEN - 1} bytes, no /)')
        if name in (n for n, _ in files):
            sys.exit(f'mkfs.py: {name} given twice')
        with open(path, 'rb') as f:
            files.append((name, f.read()))
    return files


def build(files):
    dir_start = 1
    data_start = dir_start + sectors(len(files) * DIRENT.size)
    directory = b''
    data = b''
    for name, content in files:
        directory += DIRENT.pack(name.encode(), data_start + sectors(len(data)), len(content))
        data += content.ljust(sectors(len(content)) * SECTOR, b'\0')
    nsectors = max(data_start + sectors(len(data)), MIN_SECTORS)
    image = SUPERBLOCK.pack(MAGIC, VERSION, len(files), dir_start, nsectors).ljust(SECTOR, b'\0')
    image += directory.ljust((data_start - dir_start) * SECTOR, b'\0')
    image += data
    return image.ljust(nsectors * SECTOR, b'\0')


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    image = build(parse(sys.argv[2:]))
    with open(sys.argv[1], 'wb') as f:
        f.write(image)


if __name__ == '__main__':
    main()
