#!/usr/bin/env python3
"""Snapshot round trip: acceptance 1 of the time-travel issue.

Usage: roundtrip.py NESTLAB-RUN GUEST [--points N] [--seed S] [-- ARGS...]

GUEST is a kernel (ELF) or a ROM (.rom). The guest runs once without
interruption; then, at N instruction counts drawn at random (seeded by the
guest's name, so every run of the test picks the same ones), a run writes a
snapshot with --snapshot-at and goes on to the end, and a NEW process
restores that snapshot with --restore and runs to the end. Both must end
with the uninterrupted run's exit status, state hash (registers, RAM,
devices, disks as the guest sees them) and console hash (everything the
guest printed since power-on).
"""
import os
import random
import subprocess
import sys
import tempfile


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=900)
    err = p.stderr.decode('utf-8', 'replace')
    hashes = [l for l in err.splitlines() if 'state hash' in l or 'console hash' in l]
    icount = None
    for l in err.splitlines():
        if ' instructions, ' in l and l.startswith('nestlab-run: '):
            icount = int(l.split()[1])
    return p.returncode, hashes, icount, err


def main():
    argv = sys.argv[1:]
    extra = []
    if '--' in argv:
        i = argv.index('--')
        argv, extra = argv[:i], argv[i + 1:]
    nestlab, guest = argv[0], argv[1]
    points, seed = 3, 0
    rest = argv[2:]
    while rest:
        if rest[0] == '--points':
            points = int(rest[1])
        elif rest[0] == '--seed':
            seed = int(rest[1])
        rest = rest[2:]
    g = ['--rom', guest] if guest.endswith('.rom') else [guest]
    base = [nestlab] + g + extra + ['--state-hash']
    code, hashes, total, err = run(base + ['--stats'])
    if len(hashes) < 2 or not total:
        print('not ok - the uninterrupted run printed no hashes or count:\n' + err[-2000:])
        return 1
    print(f'# uninterrupted: exit {code}, {total} instructions')
    rng = random.Random(f'{os.path.basename(guest)} {" ".join(extra)} {seed}')
    picks = sorted(rng.randrange(1, total) for _ in range(points))
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for n in picks:
            snap = os.path.join(tmp, f'at-{n}.snap')
            c1, h1, _, e1 = run(base + ['--snapshot-at', str(n), snap])
            if not os.path.exists(snap):
                print(f'not ok - {n}: no snapshot written:\n{e1[-1500:]}')
                failed += 1
                continue
            c2, h2, _, e2 = run([nestlab, '--restore', snap, '--state-hash'])
            for what, c, h, e in (('saving run', c1, h1, e1), ('restored run', c2, h2, e2)):
                if c != code or h != hashes:
                    print(f'not ok - snapshot at {n}, {what}: exit {c} (want {code}), '
                          f'hashes {h} (want {hashes})\n{e[-1500:]}')
                    failed += 1
                    break
            else:
                print(f'ok - snapshot at instruction {n}: restored in a new process, same exit '
                      f'status, state and consoles as the uninterrupted run')
    print(f'# {len(picks) - failed} of {len(picks)} snapshot points identical')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
