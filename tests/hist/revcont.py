#!/usr/bin/env python3
"""Runs test-revcont with point addresses from miniOS's symbols (nm):
a breakpoint at fork, a write watchpoint on nextpid, a read watchpoint on
initproc and an access watchpoint on the console position pos."""
import subprocess
import sys


def main():
    test, kernel, disk, end = sys.argv[1:5]
    out = subprocess.run(['nm', kernel], stdout=subprocess.PIPE, check=True).stdout.decode()
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3:
            syms[parts[2]] = parts[0]
    want = ['fork', 'nextpid', 'initproc', 'pos']
    missing = [s for s in want if s not in syms]
    if missing:
        print(f'not ok - {kernel} has no symbol {missing}')
        return 1
    return subprocess.run([test, kernel, disk, end] + [syms[s] for s in want]).returncode


if __name__ == '__main__':
    sys.exit(main())
