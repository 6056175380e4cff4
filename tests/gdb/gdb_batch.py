#!/usr/bin/env python3
"""gdb-batch: Debian's gdb drives the stub in batch mode.

Starts fake-gdb-target on a free port, runs gdb with a script of commands
(break, continue, stepi, reverse-stepi, reverse-continue, watch, hbreak,
rwatch, info registers, x/, set, monitor), and checks gdb's output lines
in order; then a second session interrupts a spinning machine with Ctrl-C
(SIGINT to gdb). Exit 0 when every expected line appears, 1 when one is
missing (gdb's whole output is printed), 2 on a setup problem.

    gdb_batch.py --server build/tests/gdb/fake-gdb-target [--gdb /usr/bin/gdb]
"""

import argparse
import os
import re
import select
import signal
import subprocess
import sys
import time

SERVER_START_TIMEOUT = 10  # seconds until the server must print its port
GDB_TIMEOUT = 60           # seconds for the whole gdb session
INTERRUPT_DELAY = 0.5      # seconds between "spinning" and Ctrl-C (SIGINT to gdb)
INTERRUPT_RETRY = 3        # seconds before Ctrl-C is sent again

# (gdb command, [regular expressions its output must contain, in order]).
# The fake target (fake-target.h): nops from 0x1000, a store of eax to
# [0x3000] at 0x1010, a load from it at 0x1020, eax counts instructions.
SCRIPT = [
    ("set architecture i386", [r'The target architecture is set to "i386"\.']),
    ("target remote 127.0.0.1:{port}", [r"^0x00001000 in \?\? \(\)$"]),
    ("info registers", [r"^eax\s+0x0\s+0$", r"^ebx\s+0x3000\s+12288$", r"^esp\s+0x7000\s+0x7000$",
                        r"^eip\s+0x1000\s+0x1000$", r"^eflags\s+0x2\s+\[ \]$", r"^cs\s+0x8\s+8$",
                        r"^cr0\s+0x11\s+\[ PE ET \]$", r"^cr3\s+0x5000\s+20480$"]),
    ("break *0x1008", [r"^Breakpoint 1 at 0x1008$"]),
    ("continue", [r"^Breakpoint 1, 0x00001008 in \?\? \(\)$"]),
    ("stepi", [r"^0x00001009 in \?\? \(\)$"]),
    ("reverse-stepi", [r"0x00001008 in \?\? \(\)$"]),
    ("watch *(int*)0x3000", [r"^Hardware watchpoint 2: \*\(int\*\)0x3000$"]),
    ("continue", [r"^Hardware watchpoint 2: \*\(int\*\)0x3000$", r"^Old value = 287454020$",
                  r"^New value = 16$", r"^0x00001011 in \?\? \(\)$"]),
    ("x/4xw 0x3000", [r"^0x3000:\s+0x00000010\s+0x00000000\s+0x00000000\s+0x00000000$"]),
    ("reverse-continue", [r"^Old value = 16$", r"^New value = 287454020$",
                          r"^0x00001010 in \?\? \(\)$"]),
    ("reverse-continue", [r"^Breakpoint 1, 0x00001008 in \?\? \(\)$"]),
    ("reverse-continue", [r"^No more reverse-execution history\.$", r"^0x00001000 in \?\? \(\)$"]),
    ("x/4xw 0x3000", [r"^0x3000:\s+0x11223344\s+0x00000000\s+0x00000000\s+0x00000000$"]),
    ("monitor phys read 0x9000 8", [r"^0x00009000: de ad be ef 01 02 03 04$"]),
    ("x/2xb 0x9000", [r"Cannot access memory at address 0x9000$"]),
    ("monitor history", [r"^0 instructions recorded$"]),
    ("delete", []),
    ("hbreak *0x1020", [r"^Hardware assisted breakpoint 3 at 0x1020$"]),
    ("continue", [r"^Breakpoint 3, 0x00001020 in \?\? \(\)$"]),
    ("info registers eip eax cr0", [r"^eip\s+0x1020\s+0x1020$", r"^eax\s+0x20\s+32$",
                                    r"^cr0\s+0x11\s+\[ PE ET \]$"]),
    ("rwatch *(int*)0x3000", [r"^Hardware read watchpoint 4: \*\(int\*\)0x3000$"]),
    ("continue", [r"^Hardware read watchpoint 4: \*\(int\*\)0x3000$", r"^Value = 16$",
                  r"^0x00001021 in \?\? \(\)$"]),
    ("set $eax = 0x2a", []),
    ("print/x $eax", [r"^\$1 = 0x2a$"]),
    ("print $cr3", [r"^\$2 = 20480$"]),
    # bytes gdb must escape in an X packet: # $ } *
    ("set {int}0x3000 = 0x2a7d2423", []),
    ("monitor phys read 0x3000 4", [r"^0x00003000: 23 24 7d 2a$"]),
    ("monitor phys write 0x3000 01020304", [r"^wrote 4 bytes at physical 0x00003000$"]),
    ("x/xw 0x3000", [r"^0x3000:\s+0x04030201$"]),
    ("kill", [r"^\[Inferior 1 \(Remote target\) killed\]$"]),
]


# Ctrl-C: the machine spins at 0x2000 until gdb, sent SIGINT, sends 0x03.
SCRIPT_INTERRUPT = [
    ("set architecture i386", []),
    ("target remote 127.0.0.1:{port}", [r"^0x00001000 in \?\? \(\)$"]),
    ("set $pc = 0x2000", []),
    ("echo spinning\\n", [r"^spinning$"]),
    ("continue", [r"^Program received signal SIGINT, Interrupt\.$", r"^0x00002000 in \?\? \(\)$"]),
    ("info registers eip", [r"^eip\s+0x2000\s+0x2000$"]),
    ("kill", [r"^\[Inferior 1 \(Remote target\) killed\]$"]),
]


def start_server(path):
    """Start the server on a free port; returns (process, port)."""
    proc = subprocess.Popen([path, "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], SERVER_START_TIMEOUT)
    line = proc.stdout.readline() if ready else ""
    m = re.match(r"port (\d+)$", line.strip())
    if not m:
        proc.kill()
        raise RuntimeError(f"fake-gdb-target did not report its port (got {line!r})")
    return proc, int(m.group(1))


def stop_server(proc):
    """The server's remaining output; kills it if it did not end."""
    try:
        out, err = proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return out + err


def gdb_args(gdb, script, port):
    args = [gdb, "-nx", "-batch", "-ex", "set remotetimeout 10"]
    for cmd, _ in script:
        args += ["-ex", cmd.replace("{port}", str(port))]
    return args


def gdb_env():
    return dict(os.environ, DEBUGINFOD_URLS="", LC_ALL="C", TERM="dumb")


def run_gdb(gdb, script, port):
    """gdb's output (stdout and stderr merged) for the script."""
    res = subprocess.run(gdb_args(gdb, script, port), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, timeout=GDB_TIMEOUT,
                         env=gdb_env(), stdin=subprocess.DEVNULL)
    return res.stdout


def run_gdb_interrupted(gdb, script, port):
    """Like run_gdb, sending SIGINT once gdb has printed "spinning" (and
    again if the machine has not stopped a while later)."""
    proc = subprocess.Popen(gdb_args(gdb, script, port), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=gdb_env(), stdin=subprocess.DEVNULL)
    out = b""
    deadline = time.monotonic() + GDB_TIMEOUT
    next_sigint = None
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 0.1)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                out += chunk
            if next_sigint is None and b"spinning\n" in out:
                next_sigint = time.monotonic() + INTERRUPT_DELAY
            if (next_sigint is not None and time.monotonic() >= next_sigint
                    and b"Program received signal" not in out):
                proc.send_signal(signal.SIGINT)
                next_sigint = time.monotonic() + INTERRUPT_RETRY
        proc.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return out.decode(errors="replace")


def check(script, output):
    """The first expectation not met, in order, or None."""
    lines = output.splitlines()
    pos = 0
    for cmd, expects in script:
        for pattern in expects:
            rx = re.compile(pattern)
            while pos < len(lines) and not rx.search(lines[pos]):
                pos += 1
            if pos == len(lines):
                return f"after '{cmd}': no line matching {pattern!r}"
            pos += 1
    return None


def session(opts, name, script, runner):
    """Run one gdb session against a fresh server; True if it passed."""
    try:
        proc, port = start_server(opts.server)
    except (OSError, RuntimeError) as e:
        print(f"gdb-batch: {name}: {e}", file=sys.stderr)
        return None
    try:
        output = runner(opts.gdb, script, port)
    except (OSError, subprocess.TimeoutExpired) as e:
        print(f"gdb-batch: {name}: gdb failed: {e}", file=sys.stderr)
        return None
    finally:
        server_out = stop_server(proc)
    print(f"--- {name} ---")
    print(output)
    problem = check(script, output)
    if problem is None and "end: kill" not in server_out:
        problem = f"the server did not end with a kill: {server_out!r}"
    if problem:
        print(f"gdb-batch: {name}: FAIL: {problem}")
        return False
    print(f"gdb-batch: {name}: ok ({sum(len(e) for _, e in script)} expected lines found)")
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", required=True, help="the fake-gdb-target program")
    ap.add_argument("--gdb", default="gdb", help="the gdb to drive (default: gdb on PATH)")
    opts = ap.parse_args()
    results = [session(opts, "commands", SCRIPT, run_gdb),
               session(opts, "ctrl-c", SCRIPT_INTERRUPT, run_gdb_interrupted)]
    if None in results:
        return 2
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
