#!/usr/bin/env python3
"""depth_bench.py - what depth costs: miniOS's shell session at each level.

For each stack, faithful (`--nest D`: every tinyvmm takes its guest's traps
through its own IDT, shadow paging at every level) and assisted
(`--nest D --assist`: the run-guest operation, nested paging in every
tinyvmm but the innermost), miniOS runs its session (ls, cat hello.txt,
forktest, halt) with --stats. Printed for each: host seconds to the first
prompt and to the end (wall and CPU), the instructions of all levels, the
exits each level's monitor took, and the exit-multiplication row of the
top level (per trap of miniOS's code, the exits it set off at each monitor
level below, and its modelled cycles). docs/benchmarks.md, "Depth", has
the figures and what they mean.

Timing is printed, never asserted. A run that takes longer than --timeout
is stopped and reported as such (and deeper ones of its mode are skipped).

Usage: depth_bench.py --nestlab NESTLAB_RUN --minios minios.elf --disk fs.img
                      [--faithful 1-4] [--assisted 1-8] [--timeout 900]
"""
import argparse
import os
import re
import resource
import subprocess
import sys
import threading
import time

SESSION = ['--input', 'com1~$ :ls\\n', '--input', 'com1~$ :cat hello.txt\\n',
           '--input', 'com1~$ :forktest\\n', '--input', 'com1~$ :halt\\n']


def depths(spec):
    lo, _, hi = spec.partition('-')
    return list(range(int(lo), int(hi or lo) + 1))


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(args, depth, assisted):
    cmd = [args.nestlab, '--nest', str(depth)] + (['--assist'] if assisted else []) + \
        ['--stats', args.minios, '--disk', args.disk + ',slave'] + SESSION
    cpu0, t0 = children_cpu(), time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    prompt = [None]
    out = bytearray()

    def read_out():
        while True:
            b = p.stdout.read1(4096) if hasattr(p.stdout, 'read1') else p.stdout.read(1)
            if not b:
                return
            out.extend(b)
            if prompt[0] is None and b'$ ' in out:
                prompt[0] = time.perf_counter() - t0

    err = []
    reader = threading.Thread(target=read_out)
    ereader = threading.Thread(target=lambda: err.append(p.stderr.read()))
    reader.start()
    ereader.start()
    try:
        p.wait(timeout=args.timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        timed_out = True
    reader.join()
    ereader.join()
    wall = time.perf_counter() - t0
    cpu = children_cpu() - cpu0
    text = out.decode(errors='replace')
    stats = (err[0] if err else b'').decode(errors='replace')
    ok = 'forktest: ok' in text and 'minios: halted' in text
    insns = re.search(r'nestlab-run: (\d+) instructions', stats)
    levels = re.findall(r'^  level (\d+): \S+ \(monitor (\w+)\), (\d+) exits', stats, re.M)
    mult = re.findall(r'^  level (\d+): (\d+) traps: (.*)$', stats, re.M)
    top = mult[-1] if mult else None
    return {
        'depth': depth, 'mode': 'assisted' if assisted else 'faithful', 'ok': ok,
        'timed_out': timed_out, 'prompt': prompt[0], 'wall': wall, 'cpu': cpu,
        'insns': int(insns.group(1)) if insns else None,
        'exits': [(int(k), mon, int(n)) for k, mon, n in levels],
        'top': top,
    }


def show(r):
    head = '%-8s %d' % (r['mode'], r['depth'])
    if r['timed_out']:
        print('%s  stopped after %.0f s (wall), %.0f CPU s: not at the session\'s end' %
              (head, r['wall'], r['cpu']))
        return
    prompt = '%.1f' % r['prompt'] if r['prompt'] is not None else '-'
    insns = '%.0fM' % (r['insns'] / 1e6) if r['insns'] else '-'
    print('%s  prompt %6s s  end %7.1f s wall %7.1f CPU s  %8s insns  %s' %
          (head, prompt, r['wall'], r['cpu'], insns, 'ok' if r['ok'] else 'SESSION FAILED'))
    if r['exits']:
        print('           exits taken by each level\'s monitor: ' +
              ', '.join('L%d %d' % (k - 1, n) for k, _, n in r['exits']))
    if r['top']:
        k, traps, rest = r['top']
        print('           one trap of level %s (%s traps) sets off: %s' % (k, traps, rest))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--nestlab', required=True)
    ap.add_argument('--minios', required=True)
    ap.add_argument('--disk', required=True)
    ap.add_argument('--faithful', default='1-4')
    ap.add_argument('--assisted', default='1-8')
    ap.add_argument('--timeout', type=float, default=900)
    args = ap.parse_args()
    print('miniOS\'s session (ls, cat, forktest, halt) at each depth; host %s, %d CPUs' %
          (os.uname().machine, os.cpu_count()))
    failed = False
    for assisted, spec in ((False, args.faithful), (True, args.assisted)):
        for d in depths(spec):
            r = run(args, d, assisted)
            show(r)
            sys.stdout.flush()
            failed |= not r['ok'] and not r['timed_out']
            if r['timed_out']:
                break
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
