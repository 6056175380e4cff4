#!/usr/bin/env python3
"""cpu-models-vs-qemu.py NESTLAB_RUN QEMU KERNEL - each CPU model's CPUID
against QEMU's model of the same part (docs/cpu.md, "CPU models").

KERNEL (guests/vmtest/cpuid) prints CPUID leaf by leaf. It boots on
nestlab with --cpu MODEL (bare, under shadow paging and under nested
paging: the monitor must answer CPUID as the model does) and on QEMU with
-cpu of the same part, and the two are printed side by side. The rules,
leaf by leaf:

  - vendor, maximum leaf, signature, and which leaf answers a leaf beyond
    the maximum (basic or extended): equal;
  - CPUID.1:EDX: nestlab's is QEMU's without the features nestlab does not
    implement (the model's `lacks`, as `--cpu help` lists them);
  - CPUID.1:EBX bits 15:8 (the CLFLUSH line size, meaningless without
    CLFLUSH, which neither model has) and CPUID.1:ECX bit 31 (QEMU's
    "running under a hypervisor") are QEMU's own; nestlab gives 0;
  - CPUID.2: QEMU gives its own cache descriptors to every Intel model,
    nestlab the Pentium II's (AP-485); not compared.

QEMU is a dependency of the project (tools/setup.sh installs it): without
it this test fails, it does not skip.
"""
import subprocess
import sys

# model, QEMU -cpu, CPUID.1:EDX bits the part has and nestlab does not
MODELS = [
    ("pentium2", "pentium2", 0x01832843),  # FPU VME PAE SEP PGE PAT PSE36 MMX FXSR
    ("pentium", "pentium", 0x00800003),    # FPU VME MMX
    ("486", "486", 0x00000003),            # FPU VME
]
QEMU_OWN_EBX = 0x0000FF00
QEMU_OWN_ECX = 0x80000000


def leaves(text):
    out = {}
    for line in text.splitlines():
        if line.startswith("cpuid "):
            leaf, regs = line[6:].split(":")
            out[int(leaf, 16)] = [int(r, 16) for r in regs.split()]
    return out


def run(cmd, what):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    if p.returncode != 1:
        sys.exit(f"FAIL: {what} exited with {p.returncode}, not 1 (guest status 0):\n{p.stdout}{p.stderr}")
    return leaves(p.stdout)


def main():
    nestlab_run, qemu, kernel = sys.argv[1:4]
    failures = 0
    for model, qcpu, lacks in MODELS:
        bare = run([nestlab_run, "--monitor=none", "--cpu", model, kernel], f"nestlab --cpu {model}")
        for mode in ("shadow", "nested"):
            got = run([nestlab_run, f"--monitor={mode}", "--cpu", model, kernel],
                      f"nestlab --cpu {model} --monitor={mode}")
            if got != bare:
                print(f"FAIL {model}: CPUID under --monitor={mode} differs from bare: {got} vs {bare}")
                failures += 1
        q = run([qemu, "-cpu", qcpu, "-kernel", kernel, "-serial", "stdio", "-display", "none",
                 "-nodefaults", "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-m", "32",
                 "-no-reboot"], f"qemu -cpu {qcpu}")
        print(f"== --cpu {model} vs qemu -cpu {qcpu}")
        for leaf in sorted(set(bare) | set(q)):
            n, e = bare.get(leaf), q.get(leaf)
            print(f"  {leaf:08x}  nestlab {' '.join('%08x' % r for r in n) if n else '-':36}"
                  f"  qemu {' '.join('%08x' % r for r in e) if e else '-'}")
            if n is None or e is None:
                print(f"FAIL {model}: leaf {leaf:08x} printed by one side only")
                failures += 1
                continue
            # a leaf beyond the maximum answers as the highest basic leaf
            top = q[0][0]
            eff = leaf if leaf <= top else top
            if n != bare.get(eff) or e != q.get(eff):
                print(f"FAIL {model}: leaf {leaf:08x} is not answered as leaf {eff:x}")
                failures += 1
                continue
            if eff == 0:
                want = e
            elif eff == 1:
                want = [e[0], e[1] & ~QEMU_OWN_EBX, e[2] & ~QEMU_OWN_ECX, e[3] & ~lacks]
            else:
                continue  # cache descriptors
            if n != want:
                print(f"FAIL {model}: leaf {leaf:08x}: nestlab {n}, want {want} (QEMU {e})")
                failures += 1
    if failures:
        sys.exit(f"{failures} differences")
    print("every model's CPUID agrees with QEMU's (within the rules above)")


main()
