#!/usr/bin/env python3
"""Runs one guest bare and under each monitor and requires the same guest.

usage: differential.py NESTLAB_RUN KERNEL|ROM [--modes none,shadow,nested] [-- ARGS...]

A file ending in .rom is booted with --rom (its real-mode start runs on the
machine; the monitor takes it over when it sets CR0.PE).

Each run gets --state-hash (machine state as the guest sees it: registers,
RAM, devices, disks; see machine_state_hash) and --stats. The test passes
when every mode gives the same exit status, the same stdout (consoles) and
the same state and console hashes, and prints the monitor's exit table of
each mode so a reader sees what the monitor did.
"""
import subprocess
import sys


def run(nestlab, kernel, mode, args):
    guest = ['--rom', kernel] if kernel.endswith('.rom') else [kernel]
    cmd = [nestlab] + guest + ['--monitor=' + mode, '--state-hash', '--stats'] + args
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    err = p.stderr.decode('utf-8', 'replace')
    hashes = [l for l in err.splitlines() if 'state hash' in l or 'console hash' in l]
    return p.returncode, p.stdout, hashes, err


def main():
    argv = sys.argv[1:]
    extra = []
    if '--' in argv:
        i = argv.index('--')
        argv, extra = argv[:i], argv[i + 1:]
    modes = ['none', 'shadow', 'nested']
    if '--modes' in argv:
        i = argv.index('--modes')
        modes = argv[i + 1].split(',')
        del argv[i:i + 2]
    nestlab, kernel = argv[0], argv[1]
    results = {m: run(nestlab, kernel, m, extra) for m in modes}
    base = results[modes[0]]
    ok = True
    for m in modes:
        code, out, hashes, err = results[m]
        print(f'--- {m}: exit {code}')
        for line in err.splitlines():
            if line.startswith('  ') or line.startswith('monitor:') or 'hash' in line or \
               'instructions' in line or 'stopped' in line or 'shut down' in line:
                print('   ', line)
        if m == modes[0]:
            continue
        if code != base[0]:
            print(f'not ok - {m}: exit status {code}, {modes[0]} gave {base[0]}')
            ok = False
        if out != base[1]:
            print(f'not ok - {m}: the consoles differ from {modes[0]}')
            a, b = base[1].decode('utf-8', 'replace').splitlines(), out.decode('utf-8', 'replace').splitlines()
            for i in range(max(len(a), len(b))):
                x = a[i] if i < len(a) else '<end>'
                y = b[i] if i < len(b) else '<end>'
                if x != y:
                    print(f'    first difference, line {i + 1}:\n      {modes[0]}: {x}\n      {m}: {y}')
                    break
            ok = False
        if hashes != base[2]:
            print(f'not ok - {m}: the guest state differs from {modes[0]}: {hashes} vs {base[2]}')
            ok = False
        if ok:
            print(f'ok - {m}: same exit status, consoles and guest state as {modes[0]}')
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
