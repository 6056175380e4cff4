#!/usr/bin/env python3
"""Debian's gdb drives nestlab-run --gdb on miniOS in batch mode (acceptance
4 of the time-travel issue): break, continue, stepi, reverse-stepi,
x/ memory, watch, reverse-continue, rwatch, set (memory and a register,
which the history logs and replays apply again), info registers (with
the control registers) and monitor commands (icount, seek), checked line
by line.

Usage: minios_gdb.py NESTLAB-RUN MINIOS-ELF FS-IMAGE
"""
import re
import subprocess
import sys
import time


def symbols(elf):
    out = subprocess.run(['nm', elf], stdout=subprocess.PIPE, check=True).stdout.decode()
    return {p[2]: int(p[0], 16) for p in (l.split() for l in out.splitlines()) if len(p) == 3}


def main():
    nestlab, elf, disk = sys.argv[1:4]
    syms = symbols(elf)
    run = subprocess.Popen([nestlab, elf, '--disk', disk + ',slave', '--input', 'com1~$ :forktest\n',
                            '--gdb', '0'], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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
    nextpid, initproc = syms['nextpid'], syms['initproc']
    cmds = ['set pagination off', f'file {elf}', f'target remote 127.0.0.1:{port}',
            'break fork', 'continue', 'info registers eip',
            'stepi', 'stepi', 'info registers eip',
            'reverse-stepi', 'reverse-stepi', 'info registers eip',
            'x/4xw $esp', 'delete 1',
            f'watch *(int *){nextpid:#x}', 'continue', 'continue', 'reverse-continue',
            f'print *(int *){nextpid:#x}',
            f'rwatch *(int *){initproc:#x}', 'continue', 'delete',
            f'set var *(int *){nextpid:#x} = 100', 'set var $eax = 0x1234',
            'stepi', 'reverse-stepi',
            f'print *(int *){nextpid:#x}', 'print/x $eax',
            'info registers cr0 cr3', 'monitor icount',
            'monitor seek 1000000', 'maintenance flush register-cache', 'monitor icount',
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
    fork = syms['fork']
    checks = [
        ('break and continue stop at fork', rf'Breakpoint 1, {fork:#010x} in fork \(\)'),
        ('info registers eip at the breakpoint', rf'eip\s+{fork:#x}\s+{fork:#x} <fork>'),
        ('two stepi move on in fork', r'eip\s+0x[0-9a-f]+\s+0x[0-9a-f]+ <fork\+\d+>'),
        ('two reverse-stepi come back to fork', rf'{fork:#010x} in fork \(\)\neip\s+{fork:#x}'),
        ('x/4xw shows the stack', r'0x[0-9a-f]+:\s+0x[0-9a-f]{8}\s+0x[0-9a-f]{8}\s+0x[0-9a-f]{8}\s+0x[0-9a-f]{8}'),
        ('watch is set', rf'Hardware watchpoint 2: \*\(int \*\){nextpid:#x}'),
        ('continue stops at the write', r'Old value = (\d+)\nNew value = (\d+)'),
        ('print after reverse-continue', r'\$1 = \d+'),
        ('rwatch is set', rf'Hardware read watchpoint 3: \*\(int \*\){initproc:#x}'),
        ('writes by gdb stay through stepi and reverse-stepi (logged in the history)',
         r'\$2 = 100\n\$3 = 0x1234'),
        ('info registers shows cr0 with its flags', r'cr0\s+0x[0-9a-f]+\s+\[ PE .*PG \]'),
        ('info registers shows cr3', r'cr3\s+0x[0-9a-f]+'),
        ('monitor icount answers', r'icount \d+, history \d+ \.\. \d+'),
        ('monitor seek goes back to instruction 1000000',
         r'at instruction 1000000;[^\n]*\n(.*\n)*icount 1000000, history'),
    ]
    bad = 0
    for name, rx in checks:
        if re.search(rx, out):
            print(f'ok - {name}')
        else:
            print(f'not ok - {name}: no match for {rx}')
            bad += 1
    # The write watchpoint: forward twice (n -> n+1 -> n+2), back once (to n+1).
    vals = [(int(a), int(b)) for a, b in re.findall(r'Old value = (\d+)\nNew value = (\d+)', out)]
    printed = re.search(r'\$1 = (\d+)', out)
    if len(vals) >= 2 and vals[1][1] == vals[0][1] + 1 and printed and \
            int(printed.group(1)) == vals[0][1]:
        print(f'ok - reverse-continue went back to the previous write (nextpid {vals[0][1]})')
    else:
        print(f'not ok - watch values {vals}, printed {printed and printed.group(1)}')
        bad += 1
    print(f'# {len(checks) + 1 - bad} passed, {bad} failed')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
