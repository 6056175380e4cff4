#!/usr/bin/env python3
"""tinyvmm, the guest hypervisor, against the engine's own monitor.

usage: test-tinyvmm.py NESTLAB_RUN TINYVMM_ELF [--minios MINIOS_ELF FS_IMG] KERNEL...

Each KERNEL runs once under the engine's monitor (--monitor=shadow), and
then in stacks with tinyvmm. Faithful (tinyvmm's default trap path: the
guest deprivileged on the CPU, its traps through tinyvmm's own IDT): on
the bare PC, under the engine's monitor (level 2), and at level 3 (--nest
3: the engine's monitor, tinyvmm, tinyvmm, KERNEL). With the CPU's assist
(trap=assist): on the bare PC with shadow and with nested paging
(tinyvmm's paging=); under the engine's monitor (nested paging, which
virtualizes the assist), so two monitors deep; and under a tinyvmm that
runs under a tinyvmm on the bare PC and at level 3 (the outer ones with
nested paging, so that they offer the assist in turn). The test requires,
for each, the same
exit status and the same console output, leaving out tinyvmm's own lines
and the guest's TIME: and FW: lines (which say what the timing and the
firmware are: tinyvmm's guest sees the machine's firmware tables and its
clock runs while tinyvmm works). With --minios, miniOS's shell session
(ls, cat, forktest, halt) is compared the same way. Then tinyvmm's errors:
each bad start must end with a message naming what is wrong.

TAP output, one check per line.
"""
import os
import subprocess
import sys
import tempfile

TIMEOUT = 240
checks = 0
failed = 0


def check(ok, what, detail=''):
    global checks, failed
    checks += 1
    if not ok:
        failed += 1
    print(f"{'ok' if ok else 'not ok'} {checks} - {what}")
    if not ok and detail:
        for line in detail.splitlines()[:30]:
            print('#   ' + line)


def run(cmd):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=TIMEOUT)
        return p.returncode, p.stdout.decode('utf-8', 'replace')
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b'').decode('utf-8', 'replace')
        return 'timeout', out


def guest_lines(out):
    keep = []
    for line in out.splitlines():
        if line.startswith(('TIME:', 'FW:', 'tinyvmm:')):
            continue
        keep.append(line)
    return keep


def diff(a, b):
    lines = []
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else '<end>'
        y = b[i] if i < len(b) else '<end>'
        if x != y:
            lines.append(f'line {i + 1}: monitor {x!r}')
            lines.append(f'line {i + 1}: tinyvmm {y!r}')
        if len(lines) > 10:
            break
    return '\n'.join(lines)


# Kernels that need timer ticks within a bounded number of polls: two
# tinyvmm deep (on the PC, or at level 3 under the engine's monitor), whose clock runs on while both monitors work
# (tinyvmm gives its guest the PC's devices, docs/monitor.md section 8),
# the ticks come faster than the guest moves, so they are left out of that
# stack (not of the others).
TIMER_BOUND = {'popf', 'pic-pit', 'apic'}


def stacks(nestlab, tinyvmm, name, kernel):
    """(what, command, banners): the stacks a kernel runs in, and the
    tinyvmm banners each must print, outermost first (each names its
    paging and its trap path)."""
    bare = [nestlab, '--monitor=none']
    assisted = bare + ['--assist']
    own, assist = 'shadow paging, its own IDT', 'the assist'
    deep = [] if name in TIMER_BOUND else [
        ('faithful, level 3: tinyvmm under tinyvmm under the engine\'s monitor (--nest 3)',
         [nestlab, '--nest', '3', '--tinyvmm', tinyvmm, kernel], [own, own]),
        ('assisted, tinyvmm under tinyvmm on the PC',
         assisted + ['--mem', '192', '--cmdline', 'trap=assist paging=nested mem=96', tinyvmm,
                     '--module', tinyvmm + ',trap=assist mem=32', '--module', kernel],
         ['nested paging, ' + assist, 'shadow paging, ' + assist]),
        ('assisted, level 3: tinyvmm under tinyvmm under the engine\'s monitor (--nest 3 '
         '--assist, the third paging dimension composed)',
         [nestlab, '--nest', '3', '--assist', '--tinyvmm', tinyvmm, kernel],
         ['nested paging, ' + assist, 'shadow paging, ' + assist])]
    return deep + [
        ('faithful, tinyvmm on the PC',
         bare + ['--mem', '128', tinyvmm, '--module', kernel], [own]),
        ('faithful, tinyvmm under the engine\'s monitor (level 2)',
         [nestlab, '--monitor=shadow', '--mem', '128', tinyvmm, '--module', kernel], [own]),
        ('assisted, tinyvmm on the PC, shadow paging',
         assisted + ['--mem', '128', '--cmdline', 'trap=assist paging=shadow', tinyvmm,
                     '--module', kernel], ['shadow paging, ' + assist]),
        ('assisted, tinyvmm on the PC, nested paging',
         assisted + ['--mem', '128', '--cmdline', 'trap=assist paging=nested', tinyvmm,
                     '--module', kernel], ['nested paging, ' + assist]),
        ('assisted, tinyvmm under the engine\'s monitor (depth 2)',
         [nestlab, '--monitor=nested', '--assist', '--mem', '128', '--cmdline', 'trap=assist',
          tinyvmm, '--module', kernel], ['shadow paging, ' + assist]),
    ]


def compare(nestlab, tinyvmm, name, kernel, args):
    code0, out0 = run([nestlab, '--monitor=shadow', kernel] + args)
    for what, cmd, banners in stacks(nestlab, tinyvmm, name, kernel):
        code1, out1 = run(cmd + args)
        a, b = guest_lines(out0), guest_lines(out1)
        ok = code0 == code1 and a == b and len(a) > 0
        detail = f'exit status: monitor {code0}, tinyvmm {code1}\n' + diff(a, b)
        if code1 == 'timeout':
            detail += '\nlast lines under tinyvmm:\n' + '\n'.join(out1.splitlines()[-5:])
        check(ok, f'{name}: {what}, as under the engine\'s monitor', detail)
        got = [l for l in out1.splitlines() if l.startswith('tinyvmm: guest')]
        check(len(got) == len(banners) and all(p in l for p, l in zip(banners, got)),
              f'{name}: {what}: each tinyvmm names its guest, paging and trap path',
              '\n'.join(got))


def errors(nestlab, tinyvmm, kernel, tmp):
    notelf = os.path.join(tmp, 'notelf')
    with open(notelf, 'wb') as f:
        f.write(b'this is not a kernel\n' * 8)
    bare = [nestlab, '--monitor=none', '--mem', '128']
    cases = [
        ('trap=assist without the assist', bare + ['--cmdline', 'trap=assist', tinyvmm,
                                                   '--module', kernel],
         'trap=assist needs the assist'),
        ('paging=nested without the assist', bare + ['--cmdline', 'paging=nested', tinyvmm,
                                                     '--module', kernel],
         'paging=nested needs the assist: give trap=assist too'),
        ('a bad trap=', bare + ['--cmdline', 'trap=magic', tinyvmm, '--module', kernel],
         'trap=magic: give trap=faithful'),
        ('a bad slot=', bare + ['--cmdline', 'slot=8', tinyvmm, '--module', kernel],
         'slot=8: give a slot from 0 to 7'),
        ('without a guest', bare + [tinyvmm], 'has no guest'),
        ('a guest that is not ELF', bare + [tinyvmm, '--module', notelf],
         'is not a 32-bit x86 ELF file'),
        ('a bad paging=', bare + ['--assist', '--cmdline', 'trap=assist paging=sideways',
                                  tinyvmm, '--module', kernel],
         'paging=sideways: give paging=shadow or paging=nested'),
        ('a bad mem=', bare + ['--cmdline', 'mem=lots', tinyvmm, '--module', kernel],
         'mem=lots is not a RAM size'),
        ('too little RAM', [nestlab, '--monitor=none', '--mem', '32', '--cmdline',
                            'mem=64', tinyvmm, '--module', kernel], 'has too little RAM'),
        ('--assist under shadow paging', [nestlab, '--monitor=shadow', '--assist', kernel],
         '--assist under the engine\'s monitor needs --monitor=nested'),
        ('--nest 9', [nestlab, '--nest', '9', kernel], '--nest must be a level from 1 to 8'),
        ('--nest 0', [nestlab, '--nest', '0', kernel], '--nest must be a level from 1 to 8'),
        ('--nest 2 --assist with shadow paging', [nestlab, '--nest', '2', '--assist',
                                                  '--monitor=shadow', kernel],
         'leave out --monitor or give --monitor=nested'),
        ('--nest 2 on the bare PC', [nestlab, '--nest', '2', '--monitor=none', kernel],
         'leave out --monitor=none'),
        ('--nest 1 --assist with shadow paging',
         [nestlab, '--nest', '1', '--assist', '--monitor=shadow', kernel],
         'leave out --monitor or give --monitor=nested'),
        ('--nest 2 without tinyvmm', [nestlab, '--nest', '2', '--tinyvmm',
                                      os.path.join(tmp, 'none.elf'), kernel], 'no tinyvmm at'),
        ('a tinyvmm under it without the assist offered',
         [nestlab, '--monitor=none', '--assist', '--mem', '192', '--cmdline',
          'trap=assist paging=shadow mem=96', tinyvmm, '--module',
          tinyvmm + ',trap=assist mem=32', '--module', kernel],
         'needs the assist'),
        ('two faithful tinyvmms in the same slot',
         [nestlab, '--monitor=none', '--mem', '192', '--cmdline', 'mem=96', tinyvmm,
          '--module', tinyvmm + ',mem=32', '--module', kernel],
         'a monitor under this one needs entries of its own: tinyvmm\'s slot='),
    ]
    for what, cmd, want in cases:
        code, out = run(cmd)
        check(want in out and code not in (0, 1, 'timeout'),
              f'tinyvmm error: {what}: "{want}"', f'exit {code}\n{out[-600:]}')


def main():
    argv = sys.argv[1:]
    nestlab, tinyvmm = argv[0], argv[1]
    rest = argv[2:]
    minios = None
    if rest[:1] == ['--minios']:
        minios = (rest[1], rest[2])
        rest = rest[3:]
    for kernel in rest:
        name = kernel.rsplit('/', 1)[-1].removesuffix('.elf')
        compare(nestlab, tinyvmm, name, kernel, [])
    if minios:
        elf, fs = minios
        session = ['--disk', fs + ',slave', '--input', 'com1~$ :ls\n',
                   '--input', 'com1~$ :cat hello.txt\n', '--input', 'com1~$ :forktest\n',
                   '--input', 'com1~$ :halt\n', '--max-insns', '4000000000']
        compare(nestlab, tinyvmm, 'minios', elf, session)
    # --nest 2 builds the depth-2 stack itself (tinyvmm of this build):
    # faithful by default, assisted with --assist.
    code0, out0 = run([nestlab, rest[0]])
    for extra, banner in (([], 'its own IDT'), (['--assist'], 'the assist')):
        code1, out1 = run([nestlab, '--nest', '2'] + extra + [rest[0]])
        check(code0 == code1 and guest_lines(out0) == guest_lines(out1) and
              banner in out1,
              f'--nest 2 {" ".join(extra)}: the stack nestlab-run builds ({banner}), as the one '
              'given by hand', f'exit {code0} / {code1}\n' + diff(guest_lines(out0), guest_lines(out1)))
    with tempfile.TemporaryDirectory() as tmp:
        errors(nestlab, tinyvmm, rest[0], tmp)
    print(f'1..{checks}')
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
