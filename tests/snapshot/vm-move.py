#!/usr/bin/env python3
"""One VM moved to another machine: the time-travel issue's "a VM is a
first-class object" (nestlab-run --vm-save-at, --vm-load).

Usage: vm-move.py NESTLAB-RUN MINIOS FS-IMG DEV-KERNEL OTHER-ROOT SLOT-KERNEL
                  THIRD-KERNEL [--monitor=MODE]

Machine A runs miniOS's session as its first guest beside VM "dev"
(DEV-KERNEL). It runs once without interruption; then once more, saving
dev alone at a few instruction counts (saving must not change A's run).
Each saved VM is loaded into two different machines: B, OTHER-ROOT as
its first guest, a slot "dev" built from SLOT-KERNEL (another kernel: the
load replaces it) and a third VM after it; and C, the same with more RAM
and one more VM before the slot, so that dev lies elsewhere in host
memory (the monitor's tables are moved with it). There dev must end as in
the uninterrupted run: the same exit status, instruction count, state
hash and console. Then the mismatches and bad files: each gets status 89
(64 for a slot name that does not exist, 66 for a missing file) and a
message saying what the slot or the option needs.
"""
import hashlib
import os
import subprocess
import sys
import tempfile

POINTS = [20000, 100000, 250000]
fails = 0


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    return p.returncode, p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')


def dev_end(out, err):
    """dev's end: its status line, its state hash and a hash of its console."""
    lines = [l for l in err.splitlines() if l.startswith('nestlab-run: vm dev:')]
    con = '\n'.join(l for l in out.splitlines() if l.startswith('[dev] '))
    return lines, hashlib.sha256(con.encode()).hexdigest()


def ok(cond, name, detail=''):
    global fails
    if cond:
        print(f'ok - {name}')
    else:
        fails += 1
        print(f'not ok - {name}\n# ' + detail.replace('\n', '\n# ')[-2000:])


def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--monitor=')]
    mon = [a for a in sys.argv[1:] if a.startswith('--monitor=')]
    nl, minios, fs, dev, root_b, slot_k, third = args
    session = ['--disk', fs + ',slave', '--input', 'com1~$ :ls\\n',
               '--input', 'com1~$ :cat hello.txt\\n', '--input', 'com1~$ :forktest\\n',
               '--input', 'com1~$ :halt\\n', '--max-insns', '2000000000']
    a = [nl, minios] + session + mon + ['--vm', 'dev:' + dev, '--state-hash']
    b = [nl, root_b] + mon + ['--vm', 'dev:' + slot_k, '--vm', 'third:' + third,
                              '--state-hash']
    c = [nl, root_b] + mon + ['--mem', '40', '--vm', 'before:' + third + ',mem=8',
                              '--vm', 'dev:' + slot_k, '--state-hash']
    code, out, err = run(a)
    want = dev_end(out, err)
    if not want[0] or 'exit' not in want[0][0]:
        print('not ok - the uninterrupted run: dev did not end\n# ' + err[-1500:])
        return 1
    print(f'# uninterrupted: {want[0][0]}')
    with tempfile.TemporaryDirectory() as tmp:
        files = [os.path.join(tmp, f'dev-{n}.vmsnap') for n in POINTS]
        saves = []
        for n, f in zip(POINTS, files):
            saves += ['--vm-save-at', f'dev@{n}:{f}']
        c2, out2, err2 = run(a + saves)
        ok(c2 == code and dev_end(out2, err2) == want and
           all(os.path.exists(f) for f in files),
           f'the saving run writes {len(files)} VM snapshots and ends as the uninterrupted one',
           err2)
        _, bout, berr = run(b)
        ok(dev_end(bout, berr) != want, 'machine B alone runs another dev', berr)
        for n, f in zip(POINTS, files):
            for what, m in (('another machine', b), ('another place in host memory', c)):
                _, o, e = run(m + ['--vm-load', 'dev=' + f])
                at = [l for l in e.splitlines() if 'loaded from' in l]
                ok(dev_end(o, e) == want,
                   f'dev saved at {n} ({at[0].split("(")[-1].rstrip(")") if at else "?"}) and '
                   f'loaded into {what} ends as the uninterrupted run', e)
        f = files[2]
        cases = [
            ('slot with other RAM', b[:2] + mon + ['--vm', 'dev:' + slot_k + ',mem=48',
                                                    '--vm-load', 'dev=' + f], 89, 'mem=32'),
            ('other monitor', b[:2] + ['--monitor=' + ('shadow' if mon == ['--monitor=nested']
                                                        else 'nested'),
                                       '--vm', 'dev:' + slot_k, '--vm-load', 'dev=' + f], 89,
             'give the same --monitor option'),
            ('no such slot', b[:2] + mon + ['--vm', 'x:' + slot_k, '--vm-load', 'dev=' + f], 64,
             "no VM called 'dev'"),
            ('missing file', b + ['--vm-load', 'dev=' + f + '.none'], 66, 'cannot open'),
        ]
        whole = os.path.join(tmp, 'whole.snap')
        run(b + ['--snapshot-at', '5000', whole])
        cases += [
            ('a whole-machine snapshot to --vm-load', b + ['--vm-load', 'dev=' + whole], 89,
             'continue it with --restore'),
            ('a VM snapshot to --restore', [nl, '--restore', f], 89, '--vm-load NAME='),
        ]
        data = open(f, 'rb').read()
        for what, bytes_ in (('truncated', data[:len(data) // 2]),
                             ('damaged', data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 0xff])
                              + data[len(data) // 2 + 1:]),
                             ('empty', b'')):
            p = os.path.join(tmp, what + '.vmsnap')
            open(p, 'wb').write(bytes_)
            cases.append((f'{"an" if what[0] in "aeiou" else "a"} {what} VM snapshot', b + ['--vm-load', 'dev=' + p], 89,
                          'cannot load VM dev'))
        for name, cmd, status, text in cases:
            st, o, e = run(cmd)
            ok(st == status and text in e, f'{name}: status {st} (want {status}), says "{text}"',
               e)
    print(f'# {fails} failed')
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
