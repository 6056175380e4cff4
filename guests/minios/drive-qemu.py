#!/usr/bin/env python3
"""drive-qemu.py - boot minios, type a shell session, compare the transcript.

    drive-qemu.py --qemu QEMU    --kernel minios.elf --disk fs.img --expected FILE [--keyboard]
    drive-qemu.py --nestlab RUN  --kernel minios.elf --disk fs.img --expected FILE [--keyboard]

With --qemu the script starts QEMU with COM1 on its stdin/stdout, waits for
each "$ " prompt and sends the next command line. With --keyboard the
commands are typed on the PS/2 keyboard instead, through the QEMU monitor's
sendkey command (one key at a time, each after the previous one's echo).

With --nestlab it runs nestlab-run once, with one --input per command
('com1~$ :ls\\n', or 'kbd~...' with --keyboard): nestlab sends each line when
the console shows the prompt.

Either way the transcript is everything COM1 printed, without carriage
returns and without lines starting with "TIME:" (timing-dependent values).
It must equal the expected file, where {N} stands for any decimal number,
with any spaces before it: the sizes of the compiled programs in `ls` differ
between compilers, and the IOAPIC ID is the machine's choice (QEMU's is 0).
The run must end with the guest writing 0 to port 0xF4 (the `halt` command),
which both machines report as exit status 1.
"""

import argparse
import difflib
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import time

PROMPT = '$ '
SERIAL_SESSION = ['ls', 'cat hello.txt', 'echo hi there', 'forktest', 'halt']
KEYBOARD_SESSION = ['echo Typed on the KEYBOARD, with Shift!', 'halt']
EXIT_HALT = 1           # isa-debug-exit: (0 << 1) | 1

# QEMU key names (for sendkey) of the characters the keyboard session types.
KEY_NAMES = {' ': 'spc', '\n': 'ret', '!': 'shift-1', ',': 'comma', '.': 'dot',
             '-': 'minus', '/': 'slash'}


def key_name(c):
    if c.isdigit() or c.islower():
        return c
    if c.isupper():
        return 'shift-' + c.lower()
    return KEY_NAMES[c]


class Failure(Exception):
    pass


# {====== QEMU ======

class Qemu:
    """QEMU with COM1 on pipes and, optionally, the monitor on a socket."""

    def __init__(self, args, keyboard):
        self.tmpdir = tempfile.TemporaryDirectory(prefix='minios-')
        cmd = [args.qemu, '-kernel', args.kernel,
               '-drive', f'file={args.disk},format=raw,if=ide,index=1,snapshot=on',
               '-serial', 'stdio',
               '-device', 'isa-debug-exit,iobase=0xf4,iosize=4',
               '-display', 'none', '-nodefaults', '-m', '32', '-no-reboot']
        self.monitor = None
        if keyboard:
            path = os.path.join(self.tmpdir.name, 'monitor')
            cmd += ['-monitor', f'unix:{path},server=on,wait=on']
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.output = b''
        self.deadline = time.monotonic() + args.timeout
        if keyboard:
            self.monitor = self.connect_monitor(path)

    def connect_monitor(self, path):
        while time.monotonic() < self.deadline:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                s.setblocking(False)
                return s
            except OSError:
                s.close()
                if self.proc.poll() is not None:
                    raise Failure('QEMU exited before its monitor was up')
                time.sleep(0.05)
        raise Failure('cannot connect to the QEMU monitor')

    def pump(self, timeout):
        """Read what COM1 printed within timeout seconds. False once QEMU is gone."""
        fds = [self.proc.stdout]
        if self.monitor:
            fds.append(self.monitor)
        ready, _, _ = select.select(fds, [], [], timeout)
        if self.monitor in ready:
            try:
                self.monitor.recv(4096)     # monitor chatter: ignored
            except BlockingIOError:
                pass
        if self.proc.stdout in ready:
            data = os.read(self.proc.stdout.fileno(), 4096)
            if not data:
                return False
            self.output += data
        return True

    def wait_for(self, text, start):
        """Wait until text appears in the output after offset start; return its end."""
        want = text.encode()
        while True:
            i = self.output.find(want, start)
            if i >= 0:
                return i + len(want)
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise Failure(f'timed out waiting for {text!r}')
            if not self.pump(min(left, 0.5)):
                raise Failure(f'QEMU exited while waiting for {text!r}')

    def send_serial(self, line):
        self.proc.stdin.write(line.encode() + b'\n')
        self.proc.stdin.flush()

    def type_keys(self, line, start):
        """Type line and Enter on the keyboard, waiting for each echo."""
        for c in line + '\n':
            self.monitor.sendall(f'sendkey {key_name(c)}\n'.encode())
            start = self.wait_for('\r\n' if c == '\n' else c, start)
        return start

    def finish(self):
        """Read to the end; return QEMU's exit status."""
        while time.monotonic() < self.deadline:
            if not self.pump(0.5):
                break
        try:
            return self.proc.wait(max(self.deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            raise Failure('QEMU did not exit after halt')

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.monitor:
            self.monitor.close()
        self.tmpdir.cleanup()


def run_qemu(args, session):
    q = Qemu(args, args.keyboard)
    try:
        pos = 0
        for line in session:
            pos = q.wait_for(PROMPT, pos)
            if args.keyboard:
                pos = q.type_keys(line, pos)
            else:
                q.send_serial(line)
        status = q.finish()
        return status, q.output, q.proc.stderr.read()
    except Failure as e:
        sys.stdout.write(q.output.decode(errors='replace'))
        raise Failure(f'{e}\n(transcript so far above)')
    finally:
        q.close()

# }======


def escape_input(text):
    """Escape text for nestlab-run --input (backslash and colon are special)."""
    return text.replace('\\', '\\\\').replace(':', '\\:') + '\\n'


def run_nestlab(args, session):
    dev = 'kbd' if args.keyboard else 'com1'
    cmd = [args.nestlab, args.kernel, '--disk', args.disk + ',slave'] + (args.nestlab_arg or [])
    for line in session:
        cmd += ['--input', f'{dev}~{PROMPT}:{escape_input(line)}']
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=args.timeout)
    except subprocess.TimeoutExpired as e:
        sys.stdout.write((e.stdout or b'').decode(errors='replace'))
        raise Failure('nestlab-run timed out (transcript so far above)')
    return p.returncode, p.stdout, p.stderr


def clean(output):
    text = output.decode(errors='replace').replace('\r', '')
    return [ln for ln in text.split('\n') if not ln.startswith('TIME:')]


def matches(expected, actual):
    pattern = r' *\d+'.join(re.escape(part) for part in expected.split('{N}'))
    return re.fullmatch(pattern, actual) is not None


def compare(expected_lines, actual_lines):
    if len(expected_lines) == len(actual_lines) and \
            all(matches(e, a) for e, a in zip(expected_lines, actual_lines)):
        return True
    # Show {N} lines that match as the actual text, so the diff shows only real differences.
    shown = [a if i < len(actual_lines) and matches(e, a) else e
             for i, (e, a) in enumerate(zip(expected_lines, actual_lines + [''] * len(expected_lines)))]
    sys.stdout.writelines(difflib.unified_diff(
        [ln + '\n' for ln in shown], [ln + '\n' for ln in actual_lines],
        'expected', 'actual'))
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    machine = ap.add_mutually_exclusive_group(required=True)
    machine.add_argument('--qemu', help='qemu-system-i386')
    machine.add_argument('--nestlab', help='nestlab-run')
    ap.add_argument('--nestlab-arg', action='append',
                    help='one more nestlab-run argument, e.g. --monitor=shadow (repeatable)')
    ap.add_argument('--kernel', required=True)
    ap.add_argument('--disk', required=True)
    ap.add_argument('--expected', required=True)
    ap.add_argument('--keyboard', action='store_true', help='type on the PS/2 keyboard')
    ap.add_argument('--timeout', type=float, default=60)
    ap.add_argument('--save', help='write the transcript to this file')
    args = ap.parse_args()

    session = KEYBOARD_SESSION if args.keyboard else SERIAL_SESSION
    try:
        if args.qemu:
            status, output, err = run_qemu(args, session)
        else:
            status, output, err = run_nestlab(args, session)
    except Failure as e:
        print(f'FAIL: {e}')
        return 1
    actual = clean(output)
    if args.save:
        with open(args.save, 'w') as f:
            f.write('\n'.join(actual))
    with open(args.expected) as f:
        expected = f.read().split('\n')
    ok = compare(expected, actual)
    if status != EXIT_HALT:
        print(f'FAIL: exit status {status}, expected {EXIT_HALT} (halt)')
        sys.stdout.write(err.decode(errors='replace'))
        ok = False
    if ok:
        print(''.join(ln + '\n' for ln in actual), end='')
        print('PASS: the transcript matches', args.expected)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
