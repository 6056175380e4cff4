#!/usr/bin/env python3
"""Runs one guest under several monitor modes and checks how each run ends.

usage: run-modes.py NESTLAB_RUN KERNEL [--modes MODE,...] [--status N,...]
                    [--expect TEXT]... [--same] [--timeout SECONDS] [-- ARGS...]

MODE is none, shadow or nested, optionally with "+faithful" (adds
--faithful-i386). Every run must end within the timeout (default 30 s), by
itself (never a signal), with an exit status from --status (default 1: the
guest wrote 0 to the exit port). A run that ends with status 2 (the machine
or the monitor stopped the guest) must say why on stderr. Each --expect TEXT
must occur in the console output (stdout) of every run. With --same, the
consoles of all runs must be identical to the first mode's; the first
differing line is shown.
"""
import subprocess
import sys

STOPPED = 2


def parse(argv):
    extra = []
    if '--' in argv:
        i = argv.index('--')
        argv, extra = argv[:i], argv[i + 1:]
    opts = {'modes': ['none', 'shadow', 'nested'], 'status': [1], 'expect': [],
            'same': False, 'timeout': 30.0}
    pos = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == '--modes':
            opts['modes'] = argv[i + 1].split(',')
            i += 2
        elif a == '--status':
            opts['status'] = [int(s) for s in argv[i + 1].split(',')]
            i += 2
        elif a == '--expect':
            opts['expect'].append(argv[i + 1])
            i += 2
        elif a == '--timeout':
            opts['timeout'] = float(argv[i + 1])
            i += 2
        elif a == '--same':
            opts['same'] = True
            i += 1
        else:
            pos.append(a)
            i += 1
    if len(pos) != 2:
        sys.exit(__doc__)
    return pos[0], pos[1], opts, extra


def mode_args(mode):
    parts = mode.split('+')
    args = ['--monitor=' + parts[0]]
    if 'faithful' in parts[1:]:
        args.append('--faithful-i386')
    return args


def run(nestlab, kernel, mode, extra, timeout):
    cmd = [nestlab, kernel] + mode_args(mode) + extra
    print('$ ' + ' '.join(cmd))
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, '', ''
    return (p.returncode, p.stdout.decode('utf-8', 'replace'),
            p.stderr.decode('utf-8', 'replace'))


def check_run(mode, code, out, err, opts):
    """Returns the problems of one run as a list of lines."""
    if code is None:
        return [f'{mode}: no end within {opts["timeout"]:g} s (a hang)']
    bad = []
    if code < 0:
        bad.append(f'{mode}: nestlab-run was killed by signal {-code}')
    elif code not in opts['status']:
        bad.append(f'{mode}: exit status {code}, want {" or ".join(map(str, opts["status"]))}')
    if code == STOPPED and not err.strip():
        bad.append(f'{mode}: stopped (status 2) without a message on stderr')
    for text in opts['expect']:
        if text not in out:
            bad.append(f'{mode}: the console lacks {text!r}')
    return bad


def first_difference(a, b):
    la, lb = a.splitlines(), b.splitlines()
    for i in range(max(len(la), len(lb))):
        x = la[i] if i < len(la) else '<end>'
        y = lb[i] if i < len(lb) else '<end>'
        if x != y:
            return i + 1, x, y
    return None


def main():
    nestlab, kernel, opts, extra = parse(sys.argv[1:])
    results = {}
    problems = []
    for mode in opts['modes']:
        code, out, err = run(nestlab, kernel, mode, extra, opts['timeout'])
        results[mode] = (code, out, err)
        print(f'--- {mode}: exit {code}')
        print(out, end='' if out.endswith('\n') or not out else '\n')
        for line in err.splitlines():
            print('    stderr: ' + line)
        problems += check_run(mode, code, out, err, opts)
    if opts['same']:
        first = opts['modes'][0]
        for mode in opts['modes'][1:]:
            d = first_difference(results[first][1], results[mode][1])
            if d:
                problems.append(f'{mode}: the console differs from {first} at line {d[0]}:\n'
                                f'      {first}: {d[1]}\n      {mode}: {d[2]}')
    for p in problems:
        print('not ok - ' + p)
    if not problems:
        print('ok - ' + ', '.join(opts['modes']))
    sys.exit(1 if problems else 0)


if __name__ == '__main__':
    main()
