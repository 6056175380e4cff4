#!/usr/bin/env python3
"""run-kvm-unit-tests.py NESTLAB_RUN KUT_DIR [--modes none,shadow,nested]
[--only NAME,...] [--jobs N] [--max-insns N]

Runs kvm-unit-tests (the KVM project's own suite of small multiboot test
kernels, i386 build, unmodified: ../shared/guests/kvm-unit-tests/, see its
README) on nestlab: every test of the README's table, bare and under each
monitor mode, and prints a table: test, QEMU 7.2 TCG's result (from the
README), and nestlab's in each mode (docs/guests.md, "kvm-unit-tests").

Each test runs as the suite's own x86/run gives it to QEMU, with the CPU
count in an environ module (NR_CPUS=N, which the library reads without
fw_cfg) and QEMU's test device: nestlab-run --monitor=MODE --mem 256
--device pc-testdev --module ENV NAME.flat [--cmdline ARGS]. Exit status 1 is a pass (the test wrote 0 to port 0xF4;
nestlab-run exits (code << 1) | 1 as QEMU's isa-debug-exit), 3 a failure,
77 a skip, 127 an abort. A test is cut off at --max-insns instructions
(CAP: not finished; deterministic, unlike a wall-clock limit). Tests for
more than one CPU run bare with --smp N (and NR_CPUS=N in their environ
module); under a monitor they are not run, since a VM has one vCPU yet
(docs/board.md, "Several CPUs"). The vmexit tests measure each case until
2^30 TSC cycles have passed, which on two CPUs takes about 2.2 billion
instructions: those get their own cap (SMP_CAP).

The .flat.gz files are unpacked into a temporary directory at test time
(no network). Without KUT_DIR the test is skipped, like the hardware
vectors (exit 77).

The test fails if a (test, mode) of KNOWN_PASS does not pass: that list is
what was seen to pass on nestlab; extend it as tests are fixed.
"""
import argparse
import concurrent.futures
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

MODES = ("none", "shadow", "nested")
DEPTH2_INSNS = 10  # the cap's multiple two monitors deep

# (test, modes) seen to pass on nestlab (exit status 1), the acceptance list.
# depth2 (--modes depth2): under tinyvmm under the engine's monitor.
ALL = MODES
DEEP = MODES + ("depth2",)
KNOWN_PASS = {
    "dummy": DEEP,
    "cmpxchg8b": DEEP,
    "eventinj": ALL,  # depth2: 14/15, its NMI during the NMI handler's faulting IRET
    "setjmp": DEEP,
    "taskswitch": DEEP,
    "taskswitch2": DEEP,
    "umip": DEEP,
    "vmexit_mov_from_cr8": DEEP,
    "vmexit_mov_to_cr8": DEEP,
    "vmexit_tscdeadline": DEEP,
    "vmexit_tscdeadline_immed": DEEP,
    # several CPUs (--smp), bare only
    "smptest": ("none",),
    "smptest3": ("none",),
    "vmexit_ipi": ("none",),
    "vmexit_ipi_halt": ("none",),
    "vmexit_cr0_wp": ("none",),
}

# Caps of their own for the tests of several CPUs that measure until 2^30
# TSC cycles have passed (time is the sum of both CPUs' cycles).
SMP_CAP = {
    "vmexit_ipi": 3_000_000_000,
    "vmexit_ipi_halt": 3_000_000_000,
    "vmexit_cr0_wp": 3_000_000_000,
}

# Why a test cannot pass on nestlab's CPU models, where that is the honest
# answer (the feature is absent from the part, as CPUID says).
MODEL_LACKS = {
    "smap": "SMAP (no such feature on a P6)",
    "tsc": "RDTSCP (no such feature on a P6)",
    "umip": "UMIP (no such feature on a P6)",
    "la57": "EFER/long mode (a 32-bit part)",
    "tsx-ctrl": "TSX (no such feature on a P6)",
    "tsc_adjust": "IA32_TSC_ADJUST (no such feature on a P6)",
    "vmexit_cr4_pge": "PGE (no model has global pages: CR4.PGE is #GP)",
}


def readme_table(kut_dir):
    """The README's table: name, file, cpus, append, qemu_result."""
    rows = []
    with open(os.path.join(kut_dir, "README.md"), encoding="utf-8") as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) != 6 or not cells[1].endswith(".flat"):
                continue
            name, flat, cpus, append, _qemu_opts, qemu = cells
            rows.append({"name": name, "file": flat, "cpus": int(cpus), "append": append,
                         "qemu": qemu})
    return rows


def summarize(status, out):
    m = re.findall(r"SUMMARY: (\d+) tests(?:, (\d+) unexpected failures)?(?:, (\d+) skipped)?", out)
    detail = ""
    if m:
        total, failed, skipped = (int(x or 0) for x in m[-1])
        detail = f" {total - failed - skipped}/{total}"
    names = {1: "PASS", 3: "FAIL", 77: "SKIP", 127: "ABORT", 6: "CAP", 2: "STOP", 4: "HALT"}
    word = names.get(status, f"exit {status}")
    why = ""
    if status in (2, 4):
        last = [l for l in out.splitlines() if l.startswith("nestlab-run:")]
        if last:
            why = ": " + last[-1][len("nestlab-run: "):][:90]
    elif status == 3:
        fails = [l for l in out.splitlines() if l.startswith("FAIL")]
        if fails:
            why = f" (first: {fails[0][:60]})"
    return word + detail + why


def runs(row, mode):
    """Whether the test runs in this mode: several CPUs run bare only."""
    return row["cpus"] == 1 or mode == "none"


def run_one(nestlab_run, work, row, mode, max_insns):
    # depth2: under tinyvmm under the engine's monitor (--nest 2 --assist:
    # the assisted stack); tinyvmm's own instructions count against the cap too.
    how = ["--nest", "2", "--assist"] if mode == "depth2" else [f"--monitor={mode}"]
    insns = max_insns * DEPTH2_INSNS if mode == "depth2" else max_insns
    if row["cpus"] > 1:
        how += ["--smp", str(row["cpus"])]
        insns = max(insns, SMP_CAP.get(row["name"], 0))
    cmd = [nestlab_run] + how + ["--mem", "256", "--device", "pc-testdev",
           "--module", os.path.join(work, f"env{row['cpus']}"),
           os.path.join(work, row["file"]), "--max-insns", str(insns)]
    if row["append"]:
        cmd += ["--cmdline", row["append"]]
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=900)
        status, out = p.returncode, p.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        status, out = -1, "nestlab-run: host timeout (900 s)"
    return row["name"], mode, status, summarize(status, out), time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("nestlab_run")
    ap.add_argument("kut_dir")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--only", default="")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--max-insns", type=int, default=60_000_000)
    a = ap.parse_args()
    if not os.path.isfile(os.path.join(a.kut_dir, "README.md")):
        print(f"SKIP: {a.kut_dir} is not there (kvm-unit-tests live beside the repository, "
              "in shared/guests/kvm-unit-tests)")
        return 77
    modes = a.modes.split(",")
    rows = readme_table(a.kut_dir)
    if a.only:
        rows = [r for r in rows if r["name"] in a.only.split(",")]
    work = tempfile.mkdtemp(prefix="nestlab-kut-")
    try:
        for n in sorted({r["cpus"] for r in rows} | {1}):
            with open(os.path.join(work, f"env{n}"), "w") as f:
                f.write(f"NR_CPUS={n}\n")
        for flat in sorted({r["file"] for r in rows}):
            with gzip.open(os.path.join(a.kut_dir, flat + ".gz")) as src, \
                    open(os.path.join(work, flat), "wb") as dst:
                shutil.copyfileobj(src, dst)
        results, times = {}, {}
        jobs = [(r, m) for r in rows for m in modes if runs(r, m)]
        with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as ex:
            futs = [ex.submit(run_one, a.nestlab_run, work, r, m, a.max_insns) for r, m in jobs]
            for fu in concurrent.futures.as_completed(futs):
                name, mode, status, text, secs = fu.result()
                results[(name, mode)] = (status, text)
                times[mode] = times.get(mode, 0.0) + secs
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print("| test | QEMU 7.2 TCG | " + " | ".join(f"nestlab {m}" for m in modes) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in modes) + " |")
    for r in rows:
        cells = []
        for m in modes:
            if not runs(r, m):
                cells.append(f"not run: {r['cpus']} CPUs (a VM has one vCPU yet)")
                continue
            status, text = results[(r["name"], m)]
            if status != 1 and r["name"] in MODEL_LACKS:
                text += f"; the model lacks {MODEL_LACKS[r['name']]}"
            cells.append(text)
        qemu = r["qemu"].split(" [")[0][:60]
        print(f"| {r['name']} | {qemu} | " + " | ".join(cells) + " |")
    print()
    for m in modes:
        n = sum(1 for r in rows if runs(r, m) and results[(r["name"], m)][0] == 1)
        print(f"nestlab {m}: {n} of {len(rows)} pass ({times.get(m, 0):.0f} s of runs)")

    bad = []
    for name, known in KNOWN_PASS.items():
        for m in known:
            if m in modes and (name, m) in results and results[(name, m)][0] != 1:
                how = "--nest 2 --assist" if m == "depth2" else f"--monitor={m}"
                bad.append(f"{name} under {how}: {results[(name, m)][1]}")
    for b in bad:
        print(f"FAIL: known to pass, did not: {b}")
    return 1 if bad else 0


sys.exit(main())
