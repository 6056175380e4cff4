#!/usr/bin/env python3
"""monitor_bench.py - what the monitor costs, printed side by side.

Part 1, CPU-bound: guests/vmtest/cpubound (the CPU benchmark's two kernels
on the multiboot runtime) bare, under --monitor=shadow and under
--monitor=nested, and on QEMU for reference. For each: median host seconds
of --runs runs, MIPS, and the ratio to bare (target: at least 0.95x). The
instruction count and checksum must agree in all three nestlab modes.

Part 2, process- and page-fault-heavy: miniOS runs forktest --forks times
(each forktest forks 10 processes, each with its own page tables) under
shadow and under nested paging. For each: exits per host second, the exit
table (hidden and true page faults, page-table writes, device accesses),
the monitor's modelled cycles against the guest's, and the page-walk
references (a nested walk of a 4 KiB page makes up to 8, a shadow walk 2).

Timing is printed, never asserted.

Usage: monitor_bench.py --nestlab NESTLAB_RUN --cpubound cpubound.elf
                        --minios minios.elf --disk fs.img [--qemu QEMU]
                        [--runs 5] [--forks 5] [--passes 2000] [--fib 40]
"""
import argparse
import re
import statistics
import subprocess
import sys
import time


def run_timed(cmd, runs):
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def cpu_bound(args):
    cmdline = f"passes={args.passes} fib={args.fib}"
    print(f"## CPU-bound: cpubound.elf --cmdline '{cmdline}' (median of {args.runs})\n")
    print("| machine | host s | instructions | MIPS | vs bare |")
    print("| --- | ---: | ---: | ---: | ---: |")
    bare = None
    counts, sums = set(), set()
    modes = ("none", "shadow", "nested")
    times = {m: [] for m in modes}
    # The modes take turns, run after run, so a change in the host's load
    # falls on all of them alike.
    for _ in range(args.runs):
        for mode in modes:
            t0 = time.perf_counter()
            p = subprocess.run([args.nestlab, args.cpubound, "--cmdline", cmdline,
                                "--monitor=" + mode, "--stats"],
                               capture_output=True, text=True, timeout=1200)
            times[mode].append(time.perf_counter() - t0)
            m = re.search(r"(\d+) instructions, ", p.stderr)
            c = re.search(r"csum=([0-9a-f]+)", p.stdout)
            if p.returncode != 1 or not m or not c:
                sys.exit(f"monitor_bench: cpubound failed under {mode}:\n{p.stdout}\n{p.stderr}")
            counts.add(int(m.group(1)))
            sums.add(c.group(1))
    insns = min(counts)
    for mode in modes:
        secs = statistics.median(times[mode])
        mips = insns / secs / 1e6
        bare = bare or mips
        label = "nestlab bare" if mode == "none" else f"nestlab --monitor={mode}"
        print(f"| {label} | {secs:.3f} | {insns:,} | {mips:.1f} | {mips / bare:.3f}x |")
    if args.qemu:
        cmd = [args.qemu, "-kernel", args.cpubound, "-append", cmdline, "-m", "32",
               "-display", "none", "-nodefaults", "-no-reboot", "-serial", "stdio",
               "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
        secs, p = run_timed(cmd, args.runs)
        print(f"| QEMU (TCG) | {secs:.3f} | (same guest) | {insns / secs / 1e6:.1f} (est.) | "
              f"{insns / secs / 1e6 / bare:.3f}x |")
    print()
    if len(counts) != 1 or len(sums) != 1:
        sys.exit(f"monitor_bench: the modes disagree: counts {counts}, checksums {sums}")
    print(f"All three nestlab modes retired the same {counts.pop():,} instructions "
          f"(checksum {sums.pop()}).\n")


def parse_stats(err):
    exits = {}
    for m in re.finditer(r"^  (\S.*?)\s{2,}(\d+)\s+(\d+)$", err, re.M):
        exits[m.group(1).strip()] = (int(m.group(2)), int(m.group(3)))
    g = re.search(r"guest cycles (\d+), monitor cycles (\d+)", err)
    w = re.search(r"page-walk references (\d+) \(nested map (\d+)\)", err)
    mc = re.search(r"memory-system cycles (\d+)", err)
    i = re.search(r"(\d+) instructions, ", err)
    return exits, g, w, mc, i


def fork_heavy(args):
    inputs = []
    for _ in range(args.forks):
        inputs += ["--input", "com1~$ :forktest\\n"]
    inputs += ["--input", "com1~$ :halt\\n"]
    print(f"## Process- and page-fault-heavy: miniOS, forktest x{args.forks} "
          f"(median of {args.runs})\n")
    rows = {}
    for mode in ("shadow", "nested"):
        cmd = [args.nestlab, args.minios, "--disk", args.disk + ",slave", "--serial", "none",
               "--monitor=" + mode, "--stats"] + inputs
        secs, p = run_timed(cmd, args.runs)
        if p.returncode != 1:
            sys.exit(f"monitor_bench: miniOS failed under {mode}:\n{p.stderr}")
        rows[mode] = (secs,) + parse_stats(p.stderr)
    print("| | shadow paging | nested paging |")
    print("| --- | ---: | ---: |")

    def row(name, f):
        print(f"| {name} | {f('shadow')} | {f('nested')} |")

    def ex(mode, name):
        return rows[mode][1].get(name, (0, 0))

    row("host seconds", lambda m: f"{rows[m][0]:.3f}")
    row("instructions", lambda m: f"{int(rows[m][5].group(1)):,}")
    row("exits", lambda m: f"{ex(m, 'total')[0]:,}")
    row("exits per host second", lambda m: f"{ex(m, 'total')[0] / rows[m][0]:,.0f}")
    for name in ("hidden page fault", "true page fault", "page-table write",
                 "nested page fault", "device memory (MMIO)", "port I/O",
                 "privileged instruction", "interrupt delivered", "HLT"):
        row(name, lambda m, n=name: f"{ex(m, n)[0]:,}")
    row("guest cycles", lambda m: f"{int(rows[m][2].group(1)):,}")
    row("monitor cycles (modelled exits)", lambda m: f"{int(rows[m][2].group(2)):,}")
    row("monitor / guest cycles",
        lambda m: f"{int(rows[m][2].group(2)) / int(rows[m][2].group(1)):.2%}")
    row("page-walk references", lambda m: f"{int(rows[m][3].group(1)):,}")
    row("... of them in the nested map", lambda m: f"{int(rows[m][3].group(2)):,}")
    row("memory-system cycles (walks, slow paths)",
        lambda m: f"{int(rows[m][4].group(1)):,}" if rows[m][4] else "-")
    total = {m: int(rows[m][2].group(2)) + (int(rows[m][4].group(1)) if rows[m][4] else 0)
             for m in rows}
    row("monitor + memory-system cycles", lambda m: f"{total[m]:,}")
    print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nestlab", required=True)
    ap.add_argument("--cpubound", required=True)
    ap.add_argument("--minios", required=True)
    ap.add_argument("--disk", required=True)
    ap.add_argument("--qemu")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--forks", type=int, default=5)
    ap.add_argument("--passes", type=int, default=2000)
    ap.add_argument("--fib", type=int, default=40)
    args = ap.parse_args()
    cpu_bound(args)
    fork_heavy(args)


if __name__ == "__main__":
    main()
