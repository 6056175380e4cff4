#!/usr/bin/env python3
"""The workload set of the CPU benchmark: nestlab, Bochs and QEMU side by side.

Each workload of guests/bench/suite.asm (ALU, shifts, memory, branches,
strings, paging) is a long and a short ROM; each emulator runs both --runs
times, the emulators taking turns run after run (so a change in the
machine's load touches all of them alike), and the figure for a workload
is

    time = median(long CPU time) - median(short CPU time)

which cancels process start-up and exit.  Instructions are nestlab's count
(--stats) of the same ROMs, the same guest for all three; MIPS is that
count over each emulator's time, and the ratios are time ratios.

The OS workload is miniOS typing `forktest` LOOPS times (a kernel, its file
system, forks, page faults and the timer), on nestlab and QEMU; Bochs has
no multiboot loader, so it is not run there.  Its checksum is a CRC of the
serial transcript (forktest's lines, which must say ok each time).

Every run must end by itself and print the checksum recorded below for its
ROM (all emulators then agree with each other too), or the benchmark fails.
Bochs runs with its X display on a private Xvfb server when Xvfb is
installed (its fastest working display here), otherwise as bench.py runs it.

Timing is printed, never asserted.  See docs/benchmarks.md.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the emulator classes and the timed runner)

WORKLOADS = ("alu", "shift", "mem", "branch", "string", "paging")

# The checksums the ROMs print (QEMU, Bochs and nestlab agree on them).
EXPECTED = {
	"suite-alu.rom": "b35d336d", "suite-alu-short.rom": "79a4d9d6",
	"suite-shift.rom": "0dbeb7a1", "suite-shift-short.rom": "3f1c9ea2",
	"suite-mem.rom": "359bd08a", "suite-mem-short.rom": "b3b652c4",
	"suite-branch.rom": "07cea7a4", "suite-branch-short.rom": "2d94a9cf",
	"suite-string.rom": "4eccf603", "suite-string-short.rom": "ca9418da",
	"suite-paging.rom": "b71cc08f", "suite-paging-short.rom": "4dae3ebf",
}


class Rom:
	"""A suite ROM: its path, size and name (bench.Emulator needs these)."""

	def __init__(self, path):
		self.path = os.path.abspath(path)
		self.size = os.path.getsize(path)
		self.name = os.path.basename(path)


class Xvfb:
	"""A private X server for Bochs's X display, stopped on exit."""

	def __init__(self):
		self.proc = None
		path = shutil.which("Xvfb")
		if not path:
			return
		for n in range(90, 120):
			if os.path.exists(f"/tmp/.X11-unix/X{n}") or os.path.exists(f"/tmp/.X{n}-lock"):
				continue
			self.proc = subprocess.Popen([path, f":{n}", "-screen", "0", "800x600x24",
						      "-nolisten", "tcp"],
						     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
			for _ in range(50):
				if os.path.exists(f"/tmp/.X11-unix/X{n}"):
					break
				time.sleep(0.1)
			self.display = f":{n}"
			return

	def stop(self):
		if self.proc:
			self.proc.terminate()
			self.proc.wait()

# {====== the OS workload (miniOS) ======


def transcript_crc(text, loops):
	"""CRC of forktest's own lines (the boot banner names the IOAPIC, which
	differs between the machines); None unless every forktest said ok."""
	lines = [ln for ln in text.replace("\r", "").split("\n")
		 if ln.startswith("forktest:") or ln.startswith("  child")]
	if lines.count("forktest: ok") != loops:
		return None
	return f"{zlib.crc32(chr(10).join(lines).encode()):08x}"


class MiniosRun:
	def __init__(self, cpu, csum, icount=None):
		self.cpu, self.csum, self.icount = cpu, csum, icount


def minios_nestlab(args, loops):
	inputs = []
	for _ in range(loops):
		inputs += ["--input", "com1~$ :forktest\\n"]
	inputs += ["--input", "com1~$ :halt\\n"]
	cmd = [args.nestlab, args.minios_kernel, "--disk", args.minios_disk + ",slave",
	       "--serial", "stdio", "--stats"] + inputs
	r = bench.run_timed(cmd, args.timeout)
	if r.rc != 1:
		raise bench.RunError(f"nestlab: miniOS did not halt (status {r.rc})\n{bench.tail(r.err)}")
	m = bench.Nestlab.ICOUNT_RE.search(r.err)
	return MiniosRun(r.cpu, transcript_crc(r.out, loops), int(m.group(1)) if m else None)


def minios_qemu(args, loops):
	cmd = [args.qemu, "-kernel", args.minios_kernel, "-m", "32", "-display", "none",
	       "-nodefaults", "-no-reboot", "-serial", "stdio",
	       "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
	       "-drive", f"file={args.minios_disk},format=raw,if=ide,index=1,snapshot=on"]
	before = os.times()
	p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
	out = b""
	for line in ["forktest"] * loops + ["halt"]:
		while not out.endswith(b"$ "):
			c = p.stdout.read(1)
			if not c:
				raise bench.RunError("qemu: miniOS ended before its prompt")
			out += c
		p.stdin.write(line.encode() + b"\r")
		p.stdin.flush()
		out += p.stdout.read(1)
	out += p.stdout.read()
	p.wait(timeout=args.timeout)
	after = os.times()
	if p.returncode != 1:
		raise bench.RunError(f"qemu: miniOS did not halt (status {p.returncode})")
	cpu = (after.children_user - before.children_user) + (after.children_system -
							       before.children_system)
	return MiniosRun(cpu, transcript_crc(out.decode("utf-8", "replace"), loops))

# }======


def run_workloads(args, emus, log):
	"""Returns {workload: {emulator: (seconds, long csum)}} and icounts."""
	table, icounts = {}, {}
	for wl in args.workloads:
		roms = {w: Rom(os.path.join(args.roms, f"suite-{wl}{'' if w == 'long' else '-short'}.rom"))
			for w in ("long", "short")}
		times = {e.name: {"long": [], "short": []} for e in emus}
		csums = {}
		for i in range(args.runs):
			order = emus[i % len(emus):] + emus[:i % len(emus)]
			for e in order:
				for w in ("short", "long"):
					r = e.run(roms[w], args.timeout)
					times[e.name][w].append(r.cpu)
					csums.setdefault(roms[w].name, {}).setdefault(r.csum, []).append(e.name)
					if isinstance(e, bench.Nestlab):
						icounts.setdefault(wl, {})[w] = e.icount(r)
			log(f"  {wl:7} run {i + 1}/{args.runs}: " + "  ".join(
				f"{e.name} {times[e.name]['long'][-1]:.2f}/{times[e.name]['short'][-1]:.3f}"
				for e in emus))
		for name, seen in csums.items():
			want = EXPECTED.get(name)
			if len(seen) > 1 or (want and want not in seen):
				raise bench.RunError(f"{name}: checksums " + "; ".join(
					f"{c} from {', '.join(sorted(set(n)))}" for c, n in seen.items())
					+ (f" (expected {want})" if want else ""))
			if not want:
				log(f"  {name}: csum={next(iter(seen))} (no recorded value)")
		table[wl] = {n: statistics.median(t["long"]) - statistics.median(t["short"])
			     for n, t in times.items()}
		table[wl]["csum"] = next(iter(csums[roms["long"].name]))
	return table, icounts


def run_minios(args, log):
	by = {}
	runners = [("nestlab", minios_nestlab)] + ([("qemu", minios_qemu)] if args.qemu else [])
	t = {n: {"long": [], "short": []} for n, _ in runners}
	csum, icount = {}, {}
	for i in range(args.runs):
		for n, f in runners[i % len(runners):] + runners[:i % len(runners)]:
			for w, loops in (("short", 1), ("long", args.minios_loops)):
				r = f(args, loops)
				t[n][w].append(r.cpu)
				csum.setdefault(w, set()).add(r.csum)
				if r.icount:
					icount[w] = r.icount
		log(f"  minios  run {i + 1}/{args.runs}: " + "  ".join(
			f"{n} {t[n]['long'][-1]:.2f}/{t[n]['short'][-1]:.3f}" for n, _ in runners))
	for w, s in csum.items():
		if None in s:
			raise bench.RunError(f"miniOS {w}: a forktest did not say ok")
		if len(s) != 1:
			raise bench.RunError(f"miniOS {w}: transcripts differ ({', '.join(sorted(s))})")
	for n in t:
		by[n] = statistics.median(t[n]["long"]) - statistics.median(t[n]["short"])
	by["csum"] = next(iter(csum["long"]))
	return by, icount


def print_table(table, icounts, names):
	print()
	print(f"| workload | instructions | " + " | ".join(f"{n} s" for n in names)
	      + " | nestlab MIPS | vs Bochs | vs QEMU | csum |")
	print("| --- | ---: | " + " | ".join("---:" for _ in names) + " | ---: | ---: | ---: | --- |")
	for wl, row in table.items():
		ic = icounts.get(wl, {})
		dn = ic.get("long", 0) - ic.get("short", 0) if ic.get("long") else None
		nl = row.get("nestlab")

		def vs(other):
			o = row.get(other)
			return f"{o / nl:.2f}x" if nl and o else "-"

		print(f"| {wl} | {dn:,} | " if dn else f"| {wl} | - | ", end="")
		print(" | ".join(f"{row[n]:.3f}" if n in row else "-" for n in names), end="")
		mips = f"{dn / nl / 1e6:.1f}" if dn and nl else "-"
		print(f" | {mips} | {vs('bochs')} | {vs('qemu')} | {row['csum']} |")
	print()


def main(argv):
	sys.stdout.reconfigure(line_buffering=True)
	p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	p.add_argument("--roms", required=True, help="directory with the suite-*.rom files")
	p.add_argument("--nestlab")
	p.add_argument("--bochs")
	p.add_argument("--qemu")
	p.add_argument("--bochs-cpu", default="p2_klamath")
	p.add_argument("--bochs-display", default="auto", choices=("auto", "x", "nogui", "rfb"))
	p.add_argument("--workloads", default=",".join(WORKLOADS) + ",minios")
	p.add_argument("--minios-kernel")
	p.add_argument("--minios-disk")
	p.add_argument("--minios-loops", type=int, default=10)
	p.add_argument("--runs", type=int, default=5)
	p.add_argument("--timeout", type=float, default=600)
	args = p.parse_args(argv)
	wanted = args.workloads.split(",")
	args.workloads = [w for w in wanted if w in WORKLOADS]
	xvfb = None
	with tempfile.TemporaryDirectory(prefix="nestlab-suite-") as workdir:
		args_b = argparse.Namespace(nestlab=args.nestlab, bochs=args.bochs, qemu=args.qemu,
					    bochs_cpu=args.bochs_cpu)
		emus = bench.make_emulators(args_b, workdir)
		try:
			for e in emus:
				if isinstance(e, bench.Bochs):
					display = args.bochs_display
					if display in ("auto", "x"):
						xvfb = Xvfb()
						if xvfb.proc:
							os.environ["DISPLAY"] = xvfb.display
							display = "x"
						elif display == "x":
							raise bench.RunError("--bochs-display x needs Xvfb")
					if display != "auto":
						e.display = display
					e.probe(Rom(os.path.join(args.roms, "suite-alu-short.rom")),
						args.timeout)
					print(f"bochs: {e.version}, display {e.display}")
			log = lambda s: print(s, flush=True)
			table, icounts = run_workloads(args, emus, log)
			if "minios" in wanted and args.nestlab and args.minios_kernel:
				row, ic = run_minios(args, log)
				table["minios"] = row
				icounts["minios"] = ic
		except bench.RunError as e:
			print(f"suite: {e}")
			return 1
		finally:
			if xvfb:
				xvfb.stop()
	names = [e.name for e in emus]
	print(f"CPU seconds, median of {args.runs} alternated runs, long minus short ROM")
	print_table(table, icounts, names)
	return 0


if __name__ == "__main__":
	sys.exit(main(sys.argv[1:]))
