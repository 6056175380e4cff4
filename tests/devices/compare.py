#!/usr/bin/env python3
"""compare.py - run one device test kernel on nestlab and on QEMU and compare.

Usage: compare.py NESTLAB_RUN QEMU KERNEL [--nestlab-args ARGS...] [--qemu-args ARGS...]

Both machines get the same kernel (multiboot, -kernel on QEMU) and matching
devices; COM1 of each goes to a file. The test passes when both guests exit
through port 0xF4 with status 0, print no FAIL: line, and their COM1 outputs
are identical apart from lines starting with "TIME:" (values that depend on
timing, which QEMU takes from the host clock) and "FW:" (what the firmware
provides and may differ between SeaBIOS under QEMU and nestlab's loader:
the exact memory map, MP table IDs, the CPUID vendor).
"""
import difflib
import os
import subprocess
import sys
import tempfile

TIMEOUT = 120


def split_args(argv):
    nl, qa, cur = [], [], None
    for a in argv:
        if a == "--nestlab-args":
            cur = nl
        elif a == "--qemu-args":
            cur = qa
        elif cur is None:
            sys.exit(f"compare.py: unexpected argument {a!r}")
        else:
            cur.append(a)
    return nl, qa


def run(cmd, out_path, label):
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        print(f"{label}: timed out after {TIMEOUT} s: {' '.join(cmd)}")
        return None, ""
    with open(out_path, "rb") as f:
        serial = f.read().decode("latin-1")
    if p.returncode != 1:
        print(f"{label}: exit status {p.returncode}, want 1 (guest status 0)")
        print(f"{label} stderr:\n{p.stderr.decode('latin-1')}")
    return p.returncode, serial


def significant(text):
    return [l for l in text.splitlines() if not l.startswith(("TIME:", "FW:"))]


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    nestlab, qemu, kernel = sys.argv[1:4]
    nl_args, q_args = split_args(sys.argv[4:])
    with tempfile.TemporaryDirectory() as tmp:
        nl_out = os.path.join(tmp, "nestlab.txt")
        q_out = os.path.join(tmp, "qemu.txt")
        nl_rc, nl_serial = run([nestlab, kernel, "--serial", f"com1=file:{nl_out}",
                                "--max-insns", "2000000000"] + nl_args, nl_out, "nestlab")
        q_rc, q_serial = run([qemu, "-kernel", kernel, "-serial", f"file:{q_out}",
                              "-display", "none", "-nodefaults", "-no-reboot", "-m", "32",
                              "-device", "isa-debug-exit,iobase=0xf4,iosize=4"] + q_args,
                             q_out, "qemu")
    print("--- nestlab COM1 ---\n" + nl_serial)
    print("--- QEMU COM1 ---\n" + q_serial)
    ok = nl_rc == 1 and q_rc == 1
    for label, text in (("nestlab", nl_serial), ("qemu", q_serial)):
        fails = [l for l in text.splitlines() if l.startswith("FAIL")]
        if fails:
            print(f"{label}: {len(fails)} FAIL line(s)")
            ok = False
        if "PASS:" not in text:
            print(f"{label}: no PASS: line at all")
            ok = False
    a, b = significant(nl_serial), significant(q_serial)
    if a != b:
        ok = False
        print("COM1 outputs differ (TIME: and FW: lines excluded):")
        sys.stdout.writelines(l + "\n" for l in difflib.unified_diff(b, a, "qemu", "nestlab",
                                                                    lineterm=""))
    print("compare: " + ("same output, both passed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
