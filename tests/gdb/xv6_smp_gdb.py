#!/usr/bin/env python3
"""Debian's gdb drives nestlab-run --gdb on xv6 on two CPUs (--smp 2, bare)
in batch mode: the CPUs are gdb's threads, as QEMU's stub shows them
(qfThreadInfo, Hg, stop replies with thread:). A breakpoint in mpenter,
which only the second CPU runs, stops in thread 2; info threads lists
both; thread 1 shows the first CPU's registers, thread 2 the second's;
stepi and reverse-stepi step it and come back. Checked line by line.

Usage: xv6_smp_gdb.py NESTLAB-RUN XV6-KERNEL MASTER-IMAGE SLAVE-IMAGE
"""
import re
import subprocess
import sys
import time


def symbols(elf):
    out = subprocess.run(['nm', elf], stdout=subprocess.PIPE, check=True).stdout.decode()
    return {p[2]: int(p[0], 16) for p in (l.split() for l in out.splitlines()) if len(p) == 3}


def main():
    nestlab, elf, master, slave = sys.argv[1:5]
    syms = symbols(elf)
    run = subprocess.Popen([nestlab, '--monitor=none', '--smp', '2', '--mem', '512',
                            '--disk', master, '--disk', slave + ',slave', elf, '--gdb', '0'],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    port = None
    deadline = time.time() + 30
    while port is None and time.time() < deadline:
        line = run.stderr.readline().decode()
        m = re.search(r'waiting for gdb on 127\.0\.0\.1:(\d+)', line)
        if m:
            port = m.group(1)
    if port is None:
        run.kill()
        print('not ok - nestlab-run did not say where it waits for gdb')
        return 1
    cmds = ['set pagination off', f'file {elf}', f'target remote 127.0.0.1:{port}',
            'info threads', 'break mpenter', 'continue', 'info threads',
            'thread 1', 'info registers eip cr0', 'thread 2', 'info registers eip cr0',
            'stepi', 'stepi', 'info registers eip', 'reverse-stepi', 'reverse-stepi',
            'info registers eip', 'kill']
    args = ['gdb', '-nx', '-batch']
    for c in cmds:
        args += ['-ex', c]
    try:
        g = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
        out = g.stdout.decode('utf-8', 'replace')
    finally:
        try:
            run.wait(timeout=30)
        except subprocess.TimeoutExpired:
            run.kill()
    print('\n'.join('# ' + l for l in out.splitlines()))
    mpenter = syms['mpenter']
    checks = [
        ('before the start: two threads, the first selected',
         r'\* 1\s+Thread 1 [^\n]*\n\s+2\s+Thread 2'),
        ('the breakpoint in mpenter stops in thread 2 (the second CPU)',
         rf'Thread 2 hit Breakpoint 1, (?:{mpenter:#010x} in )?mpenter \(\)'),
        ('info threads then selects thread 2', r'\* 2\s+Thread 2 [^\n]*mpenter'),
        ('thread 1 is the first CPU, elsewhere, paging on',
         r'Switching to thread 1[^\n]*\n(?:[^\n]*\n)*?eip\s+0x[0-9a-f]+\s+0x[0-9a-f]+ <(?!mpenter)'),
        ('thread 2 is at mpenter', rf'Switching to thread 2[^\n]*\n(?:[^\n]*\n)*?eip\s+{mpenter:#x}'),
        ('two stepi move thread 2 on in mpenter', r'eip\s+0x[0-9a-f]+\s+0x[0-9a-f]+ <mpenter\+\d+>'),
        ('two reverse-stepi bring it back to mpenter',
         rf'<mpenter\+\d+>\n(?:[^\n]*\n)*?eip\s+{mpenter:#x}\s+{mpenter:#x} <mpenter>'),
    ]
    bad = 0
    for name, rx in checks:
        if re.search(rx, out):
            print(f'ok - {name}')
        else:
            print(f'not ok - {name}: no match for {rx}')
            bad += 1
    print(f'# {len(checks) - bad} passed, {bad} failed')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
