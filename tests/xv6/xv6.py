#!/usr/bin/env python3
"""Boots xv6 (MIT's teaching kernel, built unmodified) on nestlab.

usage: xv6.py NESTLAB_RUN XV6_DIR ls|gated MODE
       xv6.py NESTLAB_RUN XV6_DIR usertests MODE[,MODE...] [--timeout S]

XV6_DIR holds `kernel` (a multiboot ELF), xv6.img.gz (the IDE master) and
fs.img.gz (the IDE slave), see ../shared/guests/xv6/README.md. The images
are unpacked into a temporary directory at each run (the guest's writes go
to a copy in memory anyway). MODE is a --monitor value: none, shadow or
nested; or smpN: bare on N CPUs (--monitor=none --smp N), where ls also
checks that every CPU started (`cpuK: starting K`, printed by each CPU
itself as it enters the scheduler).

`ls`: boots to the shell, types `ls` on COM1, then `echo` on the
keyboard, and stops after a fixed number of instructions (the run is
deterministic, so the output is too). Passes when the console shows `init:
starting sh`, the prompt, the root directory's entries (README,
usertests, ...) as xv6's ls prints them and the echoed line, with no
panic. A TAP test: `1..N`, then one `ok`/`not ok` line per check.

`gated`: the same with --uart-out2-gate: xv6 leaves MCR OUT2 clear, so
behind the PC/AT gate it gets no COM1 interrupt and `ls` never reaches
the shell (the board option works, and the default is what xv6 needs).

`usertests`: boots, runs xv6's whole kernel test suite and waits for `ALL
TESTS PASSED`; then stops the run (SIGINT, which nestlab-run takes as a
request to stop) and prints, per mode, the host seconds it took (wall
clock, and CPU time of nestlab-run, which a loaded machine inflates less),
the instructions and the virtual seconds (those two from --stats: the
moment the last --input, which waits for ALL TESTS PASSED, took effect),
and under a monitor its exit table. Exits 1 if any mode does not pass.
Used as the meson benchmark `xv6-usertests`.

When XV6_DIR is missing: a TAP skip (`1..0 # SKIP`) for ls and gated,
exit status 77 (meson's skip) for usertests.
"""
import gzip
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

# ls and echo are done after about 30 million instructions (bare and under either
# monitor: the guest runs the same instructions); a margin for changes in
# the cycle model, which moves interrupts.
LS_INSNS = 60_000_000
# Two monitors deep (mode depth2: tinyvmm under the engine's monitor), the
# instructions of tinyvmm count too: the echo is typed at about 3.9 billion.
LS_INSNS_DEPTH2 = 4_600_000_000
# On N CPUs the count is the machine's (every CPU's), and xv6's idle CPUs
# spin in the scheduler: the echo is done by about 45 million on two.
LS_INSNS_SMP = 120_000_000
TINYVMM = None  # --tinyvmm PATH: the guest hypervisor for mode depth2

LS_ENTRIES = [
    (r'^\.\s+1 1 \d+$', '. (a directory)'),
    (r'^README\s+2 2 \d+$', 'README (a file)'),
    (r'^sh\s+2 \d+ \d+$', 'sh'),
    (r'^usertests\s+2 \d+ \d+$', 'usertests'),
    (r'^console\s+3 \d+ 0$', 'console (a device)'),
]


def unpack(xv6_dir, tmp):
    paths = []
    for name in ('xv6.img', 'fs.img'):
        out = os.path.join(tmp, name)
        with gzip.open(os.path.join(xv6_dir, name + '.gz'), 'rb') as src, open(out, 'wb') as dst:
            shutil.copyfileobj(src, dst)
        paths.append(out)
    return paths


def base_cmd(nestlab, xv6_dir, mode, master, slave):
    kernel = os.path.join(xv6_dir, 'kernel')
    disks = ['--disk', master, '--disk', slave + ',slave']
    if mode == 'depth2':  # the engine's monitor, tinyvmm, xv6 (docs/monitor.md section 8)
        return [nestlab, '--monitor=nested', '--assist', '--mem', '600', '--cmdline',
                'trap=assist mem=512'] + \
            disks + [TINYVMM, '--module', kernel]
    if mode.startswith('smp'):
        return [nestlab, '--monitor=none', '--smp', mode[3:], '--mem', '512'] + disks + [kernel]
    return [nestlab, '--monitor=' + mode, '--mem', '512'] + disks + [kernel]


def run_ls(nestlab, xv6_dir, mode, tmp):
    master, slave = unpack(xv6_dir, tmp)
    cmd = base_cmd(nestlab, xv6_dir, mode, master, slave) + [
        '--input', 'com1~$ :ls\\n', '--input', 'kbd~$ :echo typed on the keyboard\\n',
        '--max-insns', str(LS_INSNS_DEPTH2 if mode == 'depth2' else
                           LS_INSNS_SMP if mode.startswith('smp') else LS_INSNS), '--stats']
    print('# ' + ' '.join(cmd))
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    out = p.stdout.decode('utf-8', 'replace')
    err = p.stderr.decode('utf-8', 'replace')
    lines = out.splitlines()
    checks = [
        (p.returncode == 6, f'the run ends at the instruction limit (exit status {p.returncode}, '
                            'want 6)'),
        ('init: starting sh' in out, 'init: starting sh'),
        (any(l.startswith('$ ls') for l in lines), 'the shell prompt, ls typed on COM1'),
        ('panic' not in out, 'no kernel panic'),
    ]
    for k in range(int(mode[3:]) if mode.startswith('smp') else 0):
        checks.append((f'cpu{k}: starting {k}' in lines, f'CPU {k} started (cpu{k}: starting {k})'))
    for rx, what in LS_ENTRIES:
        checks.append((any(re.match(rx, l) for l in lines), 'ls lists ' + what))
    checks.append(('typed on the keyboard' in lines, 'echo typed on the 8042 keyboard'))
    print(f'1..{len(checks)}')
    for i, (good, what) in enumerate(checks, 1):
        print(f'{"ok" if good else "not ok"} {i} - {mode}: {what}')
    if not all(c[0] for c in checks):
        for l in (out + err).splitlines():
            print('# ' + l)
        return 1
    for l in err.splitlines():
        if 'instructions' in l or 'input' in l:
            print('# ' + l)
    return 0


def run_gated(nestlab, xv6_dir, mode, tmp):
    master, slave = unpack(xv6_dir, tmp)
    cmd = base_cmd(nestlab, xv6_dir, mode, master, slave) + [
        '--uart-out2-gate', '--input', 'com1~$ :ls\\n', '--max-insns', str(LS_INSNS)]
    print('# ' + ' '.join(cmd))
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    out = p.stdout.decode('utf-8', 'replace')
    lines = out.splitlines()
    checks = [
        (p.returncode == 6, f'the run ends at the instruction limit (exit status {p.returncode}, '
                            'want 6)'),
        (any(l.startswith('$ ') for l in lines), 'the shell prompt'),
        (not any(l.startswith('$ ls') for l in lines) and
         not any(re.match(LS_ENTRIES[3][0], l) for l in lines),
         'with the OUT2 gate (xv6 leaves MCR 0) no COM1 interrupt: ls never arrives'),
    ]
    print(f'1..{len(checks)}')
    for i, (good, what) in enumerate(checks, 1):
        print(f'{"ok" if good else "not ok"} {i} - {mode} --uart-out2-gate: {what}')
    if not all(c[0] for c in checks):
        for l in (out + p.stderr.decode('utf-8', 'replace')).splitlines():
            print('# ' + l)
        return 1
    return 0


def run_usertests(nestlab, xv6_dir, mode, tmp, timeout):
    master, slave = unpack(xv6_dir, tmp)
    cmd = base_cmd(nestlab, xv6_dir, mode, master, slave) + [
        '--input', 'com1~$ :usertests\\n', '--input', 'com1~ALL TESTS PASSED:\\n', '--stats']
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = []
    reader = threading.Thread(target=lambda: err.append(p.stderr.read()))
    reader.start()
    passed, tail, last = False, [], ''
    killer = threading.Timer(timeout, p.send_signal, [signal.SIGINT])
    killer.start()
    for raw in p.stdout:
        line = raw.decode('utf-8', 'replace').rstrip('\n')
        tail = (tail + [line])[-20:]
        if line.endswith(' test') or line.endswith(' tests'):
            last = line
        if 'ALL TESTS PASSED' in line:
            passed = True
            break
    host = time.monotonic() - t0
    killer.cancel()
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
    p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    reader.join()
    stats = err[0].decode('utf-8', 'replace') if err else ''
    m = re.search(r'input 2 delivered at instruction (\d+), ([\d.]+) virtual seconds', stats)
    if passed and m:
        print(f'{mode:7} ALL TESTS PASSED  {host:7.1f} s wall  {cpu:7.1f} s CPU  '
              f'{int(m.group(1)):>14,} instructions  {float(m.group(2)):7.2f} virtual s')
        for l in stats.splitlines():  # the monitor's exit table, if any
            if l.startswith('  ') or l.startswith('monitor:'):
                print('    ' + l)
        return 0
    why = 'timed out' if not passed else 'no --stats line'
    print(f'{mode:7} FAILED ({why}, after {host:.1f} host s; last test started: {last!r})')
    for l in tail + stats.splitlines()[-30:]:
        print('    ' + l)
    return 1


def main():
    args = sys.argv[1:]
    timeout = 2400.0
    global TINYVMM
    if '--tinyvmm' in args:
        i = args.index('--tinyvmm')
        TINYVMM = args[i + 1]
        del args[i:i + 2]
    if '--timeout' in args:
        i = args.index('--timeout')
        timeout = float(args[i + 1])
        del args[i:i + 2]
    if len(args) != 4 or args[2] not in ('ls', 'gated', 'usertests'):
        sys.exit(__doc__)
    nestlab, xv6_dir, what, modes = args
    if not os.path.isfile(os.path.join(xv6_dir, 'kernel')):
        print(f'1..0 # SKIP no xv6 in {xv6_dir} (see ../shared/guests/xv6)')
        return 0 if what in ('ls', 'gated') else 77  # TAP says skip itself
    rc = 0
    for mode in modes.split(','):
        with tempfile.TemporaryDirectory(prefix='nestlab-xv6-') as tmp:
            if what == 'ls':
                rc |= run_ls(nestlab, xv6_dir, mode, tmp)
            elif what == 'gated':
                rc |= run_gated(nestlab, xv6_dir, mode, tmp)
            else:
                rc |= run_usertests(nestlab, xv6_dir, mode, tmp, timeout)
        sys.stdout.flush()
    return rc


if __name__ == '__main__':
    sys.exit(main())
