#!/usr/bin/env python3
"""CPU benchmark: nestlab against Bochs and QEMU (TCG) on the same ROM.

Runs the long and the short variant of guests/bench/bench.asm on each
emulator given on the command line, N times each, and prints instructions per
second (MIPS) for each, with ratios.  The instruction count of every variant
is computed at assemble time and read from the ROM (tag "NLBENCH1"), so

    MIPS = (insns_long - insns_short) / (time_long - time_short) / 1e6

with the best (smallest) time of N runs for each variant.  Subtracting the
short run removes start-up and shut-down cost (process start, translation
warm-up, Bochs's configuration parsing).  Time is the CPU time (user + sys) of
the emulator process by default, which a busy machine disturbs far less than
wall-clock time; --clock wall uses wall-clock time instead.

Every run must end by itself with the guest's success status and print the
same checksum on the debug console as the other emulators; for small variants
the checksum is also compared with a model of the ROM computed here.

--check-count runs the tiny variant single-stepped under QEMU and checks that
the number of instructions it executes is exactly the one the ROM declares
(and the same with Bochs's debugger count and nestlab's --stats, when given).

Only the Python 3 standard library is used.  See docs/benchmarks.md.
"""

import argparse
import os
import re
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time

TARGET_RATIO_BOCHS = 2.0	# nestlab must run at least this many times Bochs
ROM_TAG = b"NLBENCH1"
CSUM_RE = re.compile(r"csum=([0-9a-f]{8})")
U32 = 0xFFFFFFFF

# Instructions Bochs retires after the OUT to port 0xF4 and before the last
# OUT of the "Shutdown" string, where its debugger reports the count.
BOCHS_SHUTDOWN_TAIL = 3 + 7 * 4 + 1

# =========================================================================
# The ROM: declared parameters and a model of its checksum
# =========================================================================


class RomInfo:
	"""Parameters and expected instruction count read from a bench ROM."""

	def __init__(self, path):
		with open(path, "rb") as f:
			data = f.read()
		at = data.find(ROM_TAG)
		if at < 0:
			raise SystemExit(f"bench: {path}: not a bench ROM (no {ROM_TAG.decode()} tag)")
		(self.insns, self.words, self.passes, self.reps,
		 self.fib_n) = struct.unpack_from("<QIIII", data, at + len(ROM_TAG))
		self.path = os.path.abspath(path)
		self.size = len(data)

	def model_is_cheap(self):
		"""True if model_checksum() runs in well under a second."""
		return self.words * self.passes <= 2_000_000


def rol32(v, n):
	return ((v << n) | (v >> (32 - n))) & U32


def fib(n):
	a, b = 0, 1
	for _ in range(n):
		a, b = b, a + b
	return a


def model_checksum(info):
	"""The checksum the ROM prints, computed the way the ROM computes it."""
	arr = [(0x12345678 + i * 0x9E3779B9) & U32 for i in range(info.words)]
	ebx, edx = 1, 0x2545F491
	for _ in range(info.passes):
		for i in range(info.words):
			eax = rol32((arr[i] + ebx) & U32, 5) ^ edx
			arr[i] = eax
			ebx = (ebx + ((eax >> 8) & 0xFF)) & U32
		edx = (edx + 0x6D2B79F5) & U32
	eax = ebx
	for v in arr:
		eax = rol32((eax + v) & U32, 1)
	edx = eax ^ edx
	f = fib(info.fib_n) & U32
	for _ in range(info.reps):
		edx = rol32((edx + f) & U32, 3)
	return f"{edx:08x}"

# =========================================================================
# Running a program and timing it
# =========================================================================


class Run:
	"""The outcome of one emulator run."""

	def __init__(self, proc, wall, cpu):
		self.rc = proc.returncode
		self.out = proc.stdout.decode("utf-8", "replace")
		self.err = proc.stderr.decode("utf-8", "replace")
		self.wall = wall
		self.cpu = cpu
		m = CSUM_RE.search(self.out) or CSUM_RE.search(self.err)
		self.csum = m.group(1) if m else None

	def time(self, clock):
		return self.cpu if clock == "cpu" else self.wall


def run_timed(argv, timeout, stdin_text=None, cwd=None):
	"""Runs argv to completion; returns a Run with wall and child CPU time."""
	before = resource.getrusage(resource.RUSAGE_CHILDREN)
	t0 = time.perf_counter()
	try:
		proc = subprocess.run(argv, input=(stdin_text or "").encode(),
				      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
				      timeout=timeout, cwd=cwd)
	except subprocess.TimeoutExpired:
		raise RunError(f"{argv[0]} did not finish in {timeout} s")
	except OSError as e:
		raise RunError(f"cannot run {argv[0]}: {e}")
	wall = time.perf_counter() - t0
	after = resource.getrusage(resource.RUSAGE_CHILDREN)
	cpu = ((after.ru_utime - before.ru_utime)
	       + (after.ru_stime - before.ru_stime))
	return Run(proc, wall, cpu)


class RunError(Exception):
	pass


def tail(text, lines=15):
	return "\n".join(text.strip().splitlines()[-lines:])

# =========================================================================
# The emulators
# =========================================================================


class Emulator:
	"""One program under test: how to run a ROM and judge the outcome."""

	name = "?"

	def __init__(self, path, workdir):
		self.path = path
		self.workdir = workdir
		self.version = "?"

	def argv(self, rom):
		raise NotImplementedError

	def stdin_text(self):
		return None

	def finished_ok(self, run):
		raise NotImplementedError

	def run(self, rom, timeout):
		"""Runs rom once; raises RunError unless the guest ran to its end."""
		r = run_timed(self.argv(rom), timeout, self.stdin_text(), self.workdir)
		if not self.finished_ok(r) or r.csum is None:
			raise RunError(f"{self.name}: {os.path.basename(rom.path)} did not "
				       f"run to completion (exit status {r.rc})\n"
				       f"--- stdout ---\n{tail(r.out)}\n"
				       f"--- stderr ---\n{tail(r.err)}")
		return r

	def icount(self, run):
		"""The instruction count the emulator reports for run, or None."""
		return None


class Nestlab(Emulator):
	name = "nestlab"
	# --stats: "nestlab-run: N instructions, C cycles, ..." on stderr
	ICOUNT_RE = re.compile(r"\b(\d+) instructions\b")

	def __init__(self, path, workdir):
		super().__init__(path, workdir)
		self.version = probe_version([path, "--version"], r"(\d+\.\d+[\w.+-]*)")

	def argv(self, rom):
		return [self.path, "--rom", rom.path, "--stats"]

	def finished_ok(self, run):
		return run.rc == 1		# guest status 0 -> (0 << 1) | 1

	def icount(self, run):
		m = self.ICOUNT_RE.search(run.out + "\n" + run.err)
		return int(m.group(1)) if m else None


class Qemu(Emulator):
	name = "qemu"

	def __init__(self, path, workdir):
		super().__init__(path, workdir)
		self.version = probe_version([path, "--version"], r"version (\S+)")

	def argv(self, rom, extra=()):
		return [self.path, "-accel", "tcg", "-bios", rom.path, "-nodefaults",
			"-display", "none", "-m", "32",
			"-device", "isa-debug-exit,iobase=0xf4,iosize=4",
			"-debugcon", "stdio", *extra]

	def finished_ok(self, run):
		return run.rc == 1		# isa-debug-exit: (0 << 1) | 1

	def count_insns(self, rom, timeout):
		"""Single-steps rom; returns the number of instructions run and the Run."""
		log = os.path.join(self.workdir, "qemu-exec.log")
		r = run_timed(self.argv(rom, ["-singlestep", "-d", "nochain,exec",
					      "-D", log]), timeout)
		if not self.finished_ok(r):
			raise RunError(f"qemu single-step run failed:\n{tail(r.err)}")
		with open(log, errors="replace") as f:
			n = sum(1 for line in f if line.startswith("Trace "))
		os.unlink(log)
		return n, r


class Bochs(Emulator):
	"""Bochs with a generated bochsrc; it quits at the shutdown port write.

	Distribution builds often include the internal debugger, which then
	waits for commands before the first instruction: "c" on standard input
	continues (and is ignored by builds without it).  Builds without the
	nogui display library fall back to rfb with no wait for a client.
	"""

	name = "bochs"
	DONE = "Shutdown port: shutdown requested"
	ICOUNT_RE = re.compile(r"^\(0\)\.\[(\d+)\]", re.MULTILINE)

	def __init__(self, path, workdir, cpu_model):
		super().__init__(path, workdir)
		self.cpu_model = cpu_model
		self.display = "nogui"
		self.banner = ""

	def bochsrc(self, rom):
		rc = os.path.join(self.workdir, "bochsrc")
		display = self.display
		if display == "rfb":
			display = 'rfb, options="timeout=0"'
		with open(rc, "w") as f:
			f.write(f"""\
romimage: file="{rom.path}", address={(1 << 32) - rom.size:#x}
megs: 32
cpu: model={self.cpu_model}
clock: sync=none, time0=1
display_library: {display}
port_e9_hack: enabled=1
plugin_ctrl: speaker=0, extfpuirq=0, parallel=0, serial=0, gameport=0, iodebug=0, biosdev=0
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
log: /dev/null
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
""")
		return rc

	def argv(self, rom):
		return [self.path, "-q", "-f", self.bochsrc(rom)]

	def stdin_text(self):
		return "c\nquit\n"

	def finished_ok(self, run):
		return self.DONE in run.out + run.err

	def probe(self, rom, timeout):
		"""Finds a usable display library and the version, with one run."""
		r = run_timed(self.argv(rom), timeout, self.stdin_text(), self.workdir)
		if "display library 'nogui' not available" in r.out + r.err:
			self.display = "rfb"
			r = run_timed(self.argv(rom), timeout, self.stdin_text(),
				      self.workdir)
		m = re.search(r"Bochs x86 Emulator (\S+)", r.out + r.err)
		self.version = m.group(1) if m else "?"
		if re.search(r"^<bochs:\d+>", r.out, re.MULTILINE):
			self.version += " (debugger build)"
		return r

	def icount(self, run):
		m = self.ICOUNT_RE.search(run.out)
		return int(m.group(1)) - BOCHS_SHUTDOWN_TAIL if m else None


def probe_version(argv, pattern):
	try:
		p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
				   timeout=30)
	except (OSError, subprocess.TimeoutExpired):
		return "?"
	m = re.search(pattern, p.stdout.decode("utf-8", "replace"))
	return m.group(1) if m else "?"

# =========================================================================
# Measuring
# =========================================================================


class Result:
	def __init__(self, emu):
		self.emu = emu
		self.long = []
		self.short = []
		self.mips = None
		self.csums = {}

	def best(self, runs, clock):
		return min(r.time(clock) for r in runs)


def measure(emu, roms, runs, clock, timeout, log):
	"""Runs both variants `runs` times on emu; returns a Result."""
	res = Result(emu)
	for i in range(runs):
		for which in ("short", "long"):
			rom = roms[which]
			r = emu.run(rom, timeout)
			getattr(res, which).append(r)
			res.csums.setdefault(which, set()).add(r.csum)
			log(f"  {emu.name:8} {which:5} run {i + 1}/{runs}: "
			    f"cpu {r.cpu:7.3f} s  wall {r.wall:7.3f} s  csum={r.csum}")
	dt = res.best(res.long, clock) - res.best(res.short, clock)
	dn = roms["long"].insns - roms["short"].insns
	res.mips = dn / dt / 1e6 if dt > 0 else float("inf")
	return res


def check_checksums(results, roms):
	"""Returns a list of problems: checksums that differ or are wrong."""
	problems = []
	for which, rom in roms.items():
		seen = {}
		for res in results:
			for c in res.csums.get(which, ()):
				seen.setdefault(c, []).append(res.emu.name)
		if rom.model_is_cheap():
			want = model_checksum(rom)
			for c, names in seen.items():
				if c != want:
					problems.append(f"{which}: {', '.join(names)} printed "
							f"csum={c}, the model says {want}")
		if len(seen) > 1:
			problems.append(f"{which}: checksums differ: " + "; ".join(
				f"{c} from {', '.join(n)}" for c, n in seen.items()))
	return problems


def ratio(a, b):
	if a is None or b is None or b == 0:
		return "-"
	return f"{a / b:.2f}x"


def print_table(results, roms, clock):
	by = {r.emu.name: r for r in results}
	bochs = by.get("bochs")
	qemu = by.get("qemu")
	print()
	print(f"long ROM {roms['long'].insns:,} instructions, short ROM "
	      f"{roms['short'].insns:,}; best of {len(results[0].long)} runs; "
	      f"{clock} time")
	head = (f"{'emulator':10} {'version':24} {'long s':>8} {'short s':>8} "
		f"{'MIPS':>9} {'vs Bochs':>9} {'vs QEMU':>9}")
	print(head)
	print("-" * len(head))
	for r in results:
		print(f"{r.emu.name:10} {r.emu.version[:24]:24} "
		      f"{r.best(r.long, clock):8.3f} {r.best(r.short, clock):8.3f} "
		      f"{r.mips:9.1f} "
		      f"{ratio(r.mips, bochs.mips if bochs else None):>9} "
		      f"{ratio(r.mips, qemu.mips if qemu else None):>9}")
	print()
	return by


def print_markdown(results, clock):
	"""The table again, as Markdown for docs/benchmarks.md."""
	by = {r.emu.name: r for r in results}
	bochs, qemu = by.get("bochs"), by.get("qemu")
	print(f"| emulator | version | long ({clock} s) | short ({clock} s) "
	      f"| MIPS | vs Bochs | vs QEMU |")
	print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
	for r in results:
		print(f"| {r.emu.name} | {r.emu.version} | {r.best(r.long, clock):.2f} "
		      f"| {r.best(r.short, clock):.3f} | {r.mips:.1f} "
		      f"| {ratio(r.mips, bochs.mips if bochs else None)} "
		      f"| {ratio(r.mips, qemu.mips if qemu else None)} |")
	print()


def verdict(by):
	"""Prints the target line; returns True, False, or None if unknown."""
	nl, bochs = by.get("nestlab"), by.get("bochs")
	if nl is None or bochs is None:
		missing = " and ".join(n for n in ("nestlab", "bochs") if n not in by)
		print(f"target (nestlab >= {TARGET_RATIO_BOCHS:g}x Bochs): NOT MEASURED "
		      f"({missing} not run)")
		return None
	r = nl.mips / bochs.mips
	met = r >= TARGET_RATIO_BOCHS
	print(f"target (nestlab >= {TARGET_RATIO_BOCHS:g}x Bochs): "
	      f"{'MET' if met else 'NOT MET'} (nestlab is {r:.2f}x Bochs)")
	return met

# =========================================================================
# Instruction count check and profiling
# =========================================================================


def check_count(emus, rom, timeout):
	"""Checks rom's declared instruction count against each emulator."""
	ok = True
	want_csum = model_checksum(rom)
	print(f"{os.path.basename(rom.path)} declares {rom.insns} instructions, "
	      f"csum={want_csum}")
	for emu in emus:
		if isinstance(emu, Qemu):
			got, r = emu.count_insns(rom, timeout)
			how = "single-stepped"
		else:
			r = emu.run(rom, timeout)
			got = emu.icount(r)
			how = "reported"
			if got is None:
				print(f"  {emu.name}: no instruction count in its output, skipped")
				continue
		good = got == rom.insns
		ok &= good
		print(f"  {emu.name}: {how} {got}: {'ok' if good else 'MISMATCH'}")
		csum = r.csum
		if csum != want_csum:
			ok = False
			print(f"  {emu.name}: csum={csum}, the model says {want_csum}: MISMATCH")
	return ok


def callgrind(nestlab, rom, outdir, timeout):
	"""Profiles nestlab on rom under callgrind; prints the hottest functions."""
	valgrind = shutil.which("valgrind")
	if not valgrind:
		raise RunError("--callgrind needs valgrind")
	out = os.path.join(outdir, "callgrind.out.bench")
	argv = [valgrind, "--tool=callgrind", f"--callgrind-out-file={out}",
		*nestlab.argv(rom)]
	r = run_timed(argv, timeout)
	if not os.path.exists(out):
		raise RunError(f"callgrind failed:\n{tail(r.err)}")
	print(f"callgrind profile: {out}")
	annotate = shutil.which("callgrind_annotate")
	if annotate:
		p = subprocess.run([annotate, out], stdout=subprocess.PIPE,
				   stderr=subprocess.STDOUT)
		print("\n".join(p.stdout.decode("utf-8", "replace").splitlines()[:40]))

# =========================================================================
# Main
# =========================================================================


def parse_args(argv):
	p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	p.add_argument("--rom-long", required=True, help="the long bench ROM")
	p.add_argument("--rom-short", required=True, help="the short bench ROM")
	p.add_argument("--rom-tiny", help="the tiny ROM, for --check-count")
	p.add_argument("--nestlab", help="path of nestlab-run")
	p.add_argument("--bochs", help="path of bochs")
	p.add_argument("--qemu", help="path of qemu-system-i386")
	p.add_argument("--bochs-cpu", default="p2_klamath",
		       help="Bochs CPU model (default: %(default)s)")
	p.add_argument("--runs", type=int, default=3,
		       help="runs of each variant; the best counts (default 3)")
	p.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
		       help="time to measure (default: cpu = user + sys)")
	p.add_argument("--timeout", type=float, default=600,
		       help="seconds allowed for one run (default 600)")
	p.add_argument("--check-count", action="store_true",
		       help="only check the tiny ROM's instruction count")
	p.add_argument("--callgrind", action="store_true",
		       help="also profile nestlab on the short ROM with callgrind")
	p.add_argument("--markdown", action="store_true",
		       help="also print the table in Markdown")
	p.add_argument("--require-target", action="store_true",
		       help="exit 1 if nestlab is measured and misses the target")
	return p.parse_args(argv)


def make_emulators(args, workdir):
	"""The emulators named on the command line, in table order."""
	emus = []
	for name, path in (("nestlab", args.nestlab), ("bochs", args.bochs),
			   ("qemu", args.qemu)):
		if not path:
			print(f"{name}: not given, skipped")
			continue
		if not (os.path.exists(path) or shutil.which(path)):
			print(f"{name}: {path} not found, skipped")
			continue
		if os.path.exists(path):
			path = os.path.abspath(path)
		sub = os.path.join(workdir, name)
		os.makedirs(sub)
		if name == "nestlab":
			emus.append(Nestlab(path, sub))
		elif name == "bochs":
			emus.append(Bochs(path, sub, args.bochs_cpu))
		else:
			emus.append(Qemu(path, sub))
	return emus


def main(argv):
	sys.stdout.reconfigure(line_buffering=True)
	args = parse_args(argv)
	roms = {"long": RomInfo(args.rom_long), "short": RomInfo(args.rom_short)}
	with tempfile.TemporaryDirectory(prefix="nestlab-bench-") as workdir:
		emus = make_emulators(args, workdir)
		try:
			for emu in emus:
				if isinstance(emu, Bochs):
					emu.probe(roms["short"], args.timeout)
			if args.check_count:
				if not args.rom_tiny:
					raise SystemExit("bench: --check-count needs --rom-tiny")
				return 0 if check_count(emus, RomInfo(args.rom_tiny),
							args.timeout) else 1
			if not emus:
				print("bench: no emulator to run")
				return 77
			log = lambda s: print(s, flush=True)
			results = [measure(e, roms, args.runs, args.clock, args.timeout, log)
				   for e in emus]
		except RunError as e:
			print(f"bench: {e}")
			return 1
	by = print_table(results, roms, args.clock)
	if args.markdown:
		print_markdown(results, args.clock)
	problems = check_checksums(results, roms)
	for p in problems:
		print(f"CHECKSUM PROBLEM: {p}")
	if not problems:
		csums = ", ".join(f"{w} {next(iter(results[0].csums[w]))}" for w in roms)
		print(f"checksums agree across emulators ({csums})")
	met = verdict(by)
	nestlab = by.get("nestlab")
	if args.callgrind and nestlab:
		try:
			callgrind(nestlab.emu, roms["short"], os.getcwd(), args.timeout * 10)
		except RunError as e:
			print(f"bench: {e}")
			return 1
	if problems:
		return 1
	if args.require_target and met is False:
		return 1
	return 0


if __name__ == "__main__":
	sys.exit(main(sys.argv[1:]))
