#!/usr/bin/env python3
"""boot_bench.py - miniOS boot-to-prompt on nestlab and on QEMU, side by side.

Prints, for each machine, the host seconds from start to the shell prompt
"$ " on COM1, and for nestlab the instructions and virtual time it took and
the MIPS during boot. QEMU has no instruction counter in Debian's build (no
TCG plugins are shipped), so its MIPS figure is nestlab's instruction count
for the same boot divided by QEMU's seconds: an estimate, labelled as such.
Each figure is the median of --runs runs. Timing is printed, never asserted.

Usage: boot_bench.py --nestlab NESTLAB_RUN --kernel minios.elf --disk fs.img
                     [--qemu qemu-system-i386] [--runs 5]
"""
import argparse
import re
import statistics
import subprocess
import sys
import time


def nestlab_to_prompt(args):
    # One run tells at which instruction the prompt appeared (the moment the
    # first --input, which waits for it, was delivered); the timed runs then
    # stop exactly there.
    cmd = [args.nestlab, args.kernel, "--disk", args.disk + ",slave", "--serial", "none",
           "--input", "com1~$ :halt\\n", "--stats"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    m = re.search(r"input 1 delivered at instruction (\d+), ([0-9.]+) virtual seconds", p.stderr)
    if not m:
        sys.exit("boot_bench: nestlab never reached the prompt:\n" + p.stderr)
    insns, vsecs = int(m.group(1)), float(m.group(2))
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        subprocess.run([args.nestlab, args.kernel, "--disk", args.disk + ",slave",
                        "--serial", "none", "--max-insns", str(insns)],
                       capture_output=True, timeout=600)
        times.append(time.perf_counter() - t0)
    return insns, vsecs, statistics.median(times)


def qemu_to_prompt(args):
    times = []
    for _ in range(args.runs):
        cmd = [args.qemu, "-kernel", args.kernel, "-m", "32", "-display", "none",
               "-nodefaults", "-no-reboot", "-serial", "stdio",
               "-drive", f"file={args.disk},format=raw,if=ide,index=1,snapshot=on"]
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        seen = b""
        while b"$ " not in seen:
            c = p.stdout.read(1)
            if not c:
                break
            seen += c
        elapsed = time.perf_counter() - t0
        p.kill()
        p.wait()
        if b"$ " not in seen:
            sys.exit("boot_bench: QEMU never reached the prompt")
        times.append(elapsed)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nestlab", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--disk", required=True)
    ap.add_argument("--qemu")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    insns, vsecs, nsecs = nestlab_to_prompt(args)
    print("miniOS boot to the shell prompt (median of %d runs)" % args.runs)
    print(f"  nestlab: {insns} instructions, {vsecs:.3f} virtual s, {nsecs:.3f} host s, "
          f"{insns / nsecs / 1e6:.1f} MIPS during boot")
    if args.qemu:
        qsecs = qemu_to_prompt(args)
        print(f"  QEMU:    {qsecs:.3f} host s (process start to prompt), "
              f"~{insns / qsecs / 1e6:.1f} MIPS (estimate: nestlab's instruction count)")
        print(f"  ratio:   nestlab takes {nsecs / qsecs:.2f}x QEMU's time to the prompt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
