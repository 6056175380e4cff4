#!/usr/bin/env python3
"""Run one guest ROM under QEMU and nestlab and compare them instruction by instruction.

QEMU (TCG, one instruction per translation block, no block chaining) logs the
architectural state before every instruction; nestlab-run --trace-cpu writes
one line with the same state before every instruction.  This tool runs both,
streams the two traces, aligns them record by record and stops at the first
difference that neither the undefined-flag rules nor a named QEMU-deviation
rule (tests/lockstep/qemu-deviations.md) explains.

Exit status: 0 no divergence, 1 divergence (report on stdout), 2 usage or
setup error (a tool missing, a guest that never ends, ...).
See docs/lockstep.md for how to read a report.
"""

import argparse
import collections
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True     # keep the source tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import x86flags  # noqa: E402

# Compared fields, in report order.
FIELDS = ("eip", "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "efl",
          "cs", "ss", "ds", "es", "fs", "gs", "cr0", "cr2", "cr3", "cr4", "cpl")
FIELD_INDEX = {f: i for i, f in enumerate(FIELDS)}
I_EIP, I_ECX, I_EDX, I_ESP, I_EFL, I_CS, I_CR2 = (
    FIELD_INDEX[f] for f in ("eip", "ecx", "edx", "esp", "efl", "cs", "cr2"))
SZAPC = x86flags.SF | x86flags.ZF | x86flags.AF | x86flags.PF | x86flags.CF
WIDTH = {"cs": 4, "ss": 4, "ds": 4, "es": 4, "fs": 4, "gs": 4, "cpl": 1}

CS_DESC_B = 1 << 22          # D/B bit of the code-segment descriptor: 32-bit code
DESC_A_IN_LAR = 1 << 8       # LAR result: descriptor type bit 0, "accessed"
DESC_CODE_IN_LAR = 1 << 11   # LAR result: descriptor type bit 3, code segment
EFLAGS_VM = 1 << 17


class Record:
    """The state before one instruction.

    vals: tuple of ints in FIELDS order.  Only the QEMU side carries the
    code-segment base, the default operand size, the instruction bytes and
    text from -d in_asm, and the exception events logged just before it.
    """
    __slots__ = ("n", "vals", "cs_base", "code32", "code", "text", "events",
                 "event_states", "tag")

    def __init__(self, n, vals):
        self.n = n
        self.vals = vals
        self.cs_base = None
        self.code32 = True
        self.code = b""
        self.text = ""
        self.events = ()
        self.event_states = ()       # (cs, eip, vals) dumped at each 'v=' delivery
        self.tag = ""

    def linear_pc(self):
        base = self.cs_base if self.cs_base is not None else 0
        return (base + self.vals[I_EIP]) & 0xFFFFFFFF


# {====== QEMU log ======

def parse_qemu_log(lines):
    """Yield Records from a QEMU '-d cpu,exec,int,in_asm,nochain' log.

    A register dump that follows a 'Trace' line is the state before that
    block (one instruction with -singlestep).  A dump that follows a 'v='
    line belongs to exception delivery and is not a record; the 'v=' text
    and 'check_exception' lines become events of the next record.  The
    bytes of an 'IN:' block belong to the next 'Trace' line's block.
    """
    lines = iter(lines)
    n = 0
    pending_code = None          # (bytes, text) of the last IN: block
    in_block = False
    code_of_tb = {}
    events = []
    states = []
    for line in lines:
        if line.startswith("Trace "):
            in_block = False
            tb = line.split(None, 3)[2]
            if pending_code is not None:
                code_of_tb[tb] = pending_code
                pending_code = None
            dump = _read_dump(lines)
            if dump is None:
                return               # log cut short (the emulator was stopped)
            rec = Record(n, dump[0])
            rec.cs_base = dump[1]
            rec.code32 = bool(dump[2] & CS_DESC_B) and not (dump[0][I_EFL] & EFLAGS_VM)
            code = code_of_tb.get(tb)
            if code is not None:
                rec.code, rec.text = code
            if events:
                rec.events = tuple(events)
                rec.event_states = tuple(states)
                events = []
                states = []
            n += 1
            yield rec
            continue
        if in_block:
            if line.startswith("0x"):
                k = line.index(":")
                body = line[k + 3:]
                raw = bytes(int(t, 16) for t in body[:24].split())
                text = body[25:].strip()
                code, old = pending_code
                if text:
                    old = (old + "; " + text) if old else text
                pending_code = (code + raw, old)
                continue
            if not line.strip():
                continue
            in_block = False
        if line.startswith("IN:"):
            in_block = True
            pending_code = (b"", "")
        elif " v=" in line and " e=" in line and "IP=" in line:
            events.append(line.strip())
            dump = _read_dump(lines)             # state at delivery: not a record
            if dump is None:
                return
            states.append(dump[0])
        elif line.startswith(("check_exception", "Servicing hardware INT", "Triple fault")):
            events.append(line.strip())


_DUMP_LINES = 14    # EAX ESI EIP ES CS SS DS FS GS LDT TR GDT IDT CR0


def _read_dump(lines):
    """Parse one '-d cpu' register dump; (vals, cs_base, cs_flags) or None."""
    d = list(itertools.islice(lines, _DUMP_LINES))
    if len(d) < _DUMP_LINES:
        return None
    g, s, e, cr = d[0], d[1], d[2], d[13]
    if not (g.startswith("EAX=") and cr.startswith("CR0=")):
        raise SystemExit("lockstep: unexpected QEMU register dump:\n" + "".join(d))
    x = int
    seg = [x(d[i][4:8], 16) for i in (4, 5, 6, 3, 7, 8)]           # cs ss ds es fs gs
    vals = ((x(e[4:12], 16),                                        # eip
             x(g[4:12], 16), x(g[30:38], 16), x(g[43:51], 16),     # eax ecx edx
             x(g[17:25], 16), x(s[43:51], 16), x(s[30:38], 16),    # ebx esp ebp
             x(s[4:12], 16), x(s[17:25], 16),                      # esi edi
             x(e[17:25], 16))                                      # efl
            + tuple(seg)
            + (x(cr[4:12], 16), x(cr[17:25], 16), x(cr[30:38], 16), x(cr[43:51], 16),
               x(e[e.index("CPL=") + 4])))
    return vals, int(d[4][9:17], 16), int(d[4][27:35], 16)


# ======}  {====== nestlab trace ======

_KV = re.compile(r"([a-z0-9]+)=([0-9a-fA-F]+)")


def parse_nestlab_trace(lines):
    """Yield Records from nestlab-run --trace-cpu output.

    Each line: 'ICOUNT eip=XXXXXXXX eax=... cpl=N'.  Lines without 'eip='
    are ignored (so a banner or a blank line does no harm).  Lines whose
    keys come in FIELDS order take a fast path; others are parsed by name.
    """
    n = 0
    nf = len(FIELDS)
    for line in lines:
        if "eip=" not in line:
            continue
        parts = line.split()
        keys_ok = len(parts) == nf + 1 and all(
            p.startswith(f) and p[len(f)] == "=" for p, f in zip(parts[1:], FIELDS))
        if keys_ok:
            vals = tuple(int(p[p.index("=") + 1:], 16) for p in parts[1:])
        else:
            kv = dict(_KV.findall(line))
            try:
                vals = tuple(int(kv[f], 16) for f in FIELDS)
            except KeyError as e:
                raise SystemExit("lockstep: nestlab trace line %d lacks field %s: %s"
                                 % (n + 1, e, line.strip()))
        rec = Record(n, vals)
        head = parts[0]
        rec.tag = head if "=" not in head else ""
        n += 1
        yield rec


# ======}  {====== normalisation ======

def collapse_rep(records, code_source):
    """Drop repeated records of one REP string instruction.

    QEMU ends a translation block after every iteration of a REP string
    instruction, so it logs the instruction once per iteration with EIP
    unchanged; nestlab may log it once.  Both sides keep only the first
    record of a run of records at the same CS:EIP whose instruction is a REP
    string instruction.  CODE_SOURCE(record) gives (bytes, code32).
    """
    prev = None
    prev_rep = False
    for rec in records:
        key = (rec.vals[I_CS], rec.vals[I_EIP])
        if prev is not None and prev_rep and key == prev and not rec.events:
            continue
        code, code32 = code_source(rec)
        prev_rep = x86flags.decode(code, code32).is_rep_string() if code else False
        prev = key
        yield rec


# ======}  {====== deviation rules ======

class Rule:
    """A named, documented reason why QEMU and nestlab may differ.

    explain(ctx, diffs) returns the subset of DIFFS (field names) that the
    rule accounts for at this record.  Every rule must have a section with
    the same name in qemu-deviations.md (checked by --check-doc).
    """
    name = ""
    summary = ""

    def explain(self, ctx, diffs):
        return set()


class ResetSignatureRule(Rule):
    name = "reset-edx-signature"
    summary = ("EDX holds a model-specific processor signature after reset; "
               "ignored until either side writes EDX")

    def __init__(self):
        self.live = True
        self.first = None

    def explain(self, ctx, diffs):
        if "edx" not in diffs or not self.live:
            return set()
        q0, n0 = ctx.first_q.vals[I_EDX], ctx.first_n.vals[I_EDX]
        if ctx.q.vals[I_EDX] == q0 and ctx.n.vals[I_EDX] == n0:
            return {"edx"}
        self.live = False
        return set()


class CsAccessedBitRule(Rule):
    name = "qemu-cs-accessed-bit"
    summary = ("QEMU does not set the accessed bit of a code-segment descriptor when a far "
               "transfer loads CS; LAR shows the bit set on nestlab only")

    def explain(self, ctx, diffs):
        insn = ctx.prev_insn
        if insn is None or not insn.ok or not insn.two or insn.op != 0x02:
            return set()
        r = 1 + insn.reg                                 # LAR destination
        a, b = ctx.q.vals[r], ctx.n.vals[r]
        if FIELDS[r] not in diffs or a ^ b != DESC_A_IN_LAR or not b & DESC_A_IN_LAR:
            return set()
        if not b & DESC_CODE_IN_LAR:
            return set()
        # the register keeps the difference until it is written again
        ctx.comp.reg_taint[r] = (DESC_A_IN_LAR, a)
        return {FIELDS[r]}


RULES = [ResetSignatureRule, CsAccessedBitRule]


# ======}  {====== comparison ======

class Peek:
    """An iterator with one record of look-ahead; next() gives None at the end."""

    def __init__(self, it):
        self.it = it
        self.buf = None

    def peek(self):
        if self.buf is None:
            self.buf = next(self.it, None)
        return self.buf

    def next(self):
        r = self.peek()
        self.buf = None
        return r


def _same_place(rec, key):
    return rec is not None and (rec.vals[I_CS], rec.vals[I_EIP]) == key


class Context:
    """State shared by the comparator and the rules at one record."""

    def __init__(self):
        self.first_q = None
        self.first_n = None
        self.q = None
        self.n = None
        self.index = 0
        self.prev_insn = None        # the instruction that led to q/n (decoded)
        self.comp = None


def code_for(rec, rom, rom_size):
    """Instruction bytes at REC: the QEMU in_asm bytes, else the ROM image."""
    if rec.code:
        return rec.code
    pc = rec.linear_pc()
    for base in (0x100000000 - rom_size, 0x100000 - rom_size):
        if base <= pc < base + rom_size:
            return rom[pc - base:pc - base + 16]
    return b""


def faulted(prev, cur):
    """True when an exception was raised by PREV itself (so it did not complete)."""
    for ev in cur.events:
        if ev.startswith("check_exception"):
            return True
        m = re.search(r"i=(\d) .* pc=([0-9a-f]+)", ev)
        if m and m.group(1) == "0" and int(m.group(2), 16) == prev.linear_pc():
            return True
    return False


def fmt_val(field, v):
    return "%0*x" % (WIDTH.get(field, 8), v)


def describe(rec, q=None):
    src = q if q is not None else rec
    cs = rec.vals[I_CS]
    text = src.text if src.text else ""
    code = " ".join("%02x" % b for b in src.code[:15])
    return "%04x:%08x  %-24s %s" % (cs, rec.vals[I_EIP], code, text)


class Comparator:
    def __init__(self, rom, context):
        self.rom = rom
        self.context = context
        self.rules = [r() for r in RULES]
        self.rule_hits = collections.Counter()
        self.undef = 0               # flags currently undefined
        self.dcache = {}
        self.deliveries = 0          # records reached through an exception
        self.slot_taint = {}         # stack address -> undefined bits stored there
        self.reg_taint = {}          # field index -> (undefined bits, QEMU value)
        self.history = collections.deque(maxlen=context)
        self.ctx = Context()
        self.ctx.comp = self

    def decode(self, code, code32):
        """x86flags.decode with a cache: the same bytes run many times."""
        key = (code, code32)
        insn = self.dcache.get(key)
        if insn is None:
            insn = self.dcache[key] = x86flags.decode(code, code32)
        return insn

    def step_flags(self, prev, cur):
        """Update the undefined-flag mask and the taints with the effect of PREV.

        CUR is the QEMU record after PREV (its ESP and register values tell
        where a push went and what a pop loaded).
        """
        self.ctx.prev_insn = None
        if faulted(prev, cur):
            return
        code = code_for(prev, self.rom, len(self.rom))
        if not code:
            return
        insn = self.decode(code, prev.code32)
        self.ctx.prev_insn = insn
        before = self.undef
        defs, undefs = x86flags.flag_effect(insn, prev.vals[I_ECX])
        self.undef = (self.undef & ~defs) | undefs
        if insn.ok and not insn.two:
            self.step_taint(insn, before, prev, cur)

    def step_taint(self, insn, mask, prev, cur):
        """Follow undefined flag bits through PUSHF/POP/PUSH/POPF/LAHF/SAHF.

        A PUSHF while flags are undefined puts undefined bits on the stack;
        a POP into a register makes those bits of the register undefined
        until the register is written again; PUSH of such a register and
        POPF carry them back into EFLAGS.  Stack slots are keyed by ESP and
        forgotten when a later push writes over them.
        """
        op = insn.op
        esp_b, esp_a = prev.vals[I_ESP], cur.vals[I_ESP]
        if esp_a < esp_b and self.slot_taint:
            for a in [a for a in self.slot_taint if esp_a <= a < esp_b]:
                del self.slot_taint[a]
        word = 0xFFFF if insn.opsize == 16 else 0xFFFFFFFF
        if op == 0x9C and mask:                              # PUSHF
            self.slot_taint[esp_a] = mask
        elif 0x50 <= op <= 0x57:                             # PUSH r
            t = self.reg_taint.get(1 + op - 0x50)
            if t:
                self.slot_taint[esp_a] = t[0] & word
        elif 0x58 <= op <= 0x5F or (op == 0x8F and insn.mod == 3 and insn.reg == 0):
            r = 1 + ((op - 0x58) if op != 0x8F else (insn.modrm & 7))
            t = self.slot_taint.get(esp_b, 0) & word
            if t:
                self.reg_taint[r] = (t, cur.vals[r])
            else:
                self.reg_taint.pop(r, None)
        elif op == 0x9D:                                     # POPF
            self.undef = self.slot_taint.get(esp_b, 0) & x86flags.ARITH
        elif op == 0x9F and mask & SZAPC:                    # LAHF
            self.reg_taint[1] = ((mask & SZAPC) << 8, cur.vals[1])
        elif op == 0x9E:                                     # SAHF
            t = self.reg_taint.get(1)
            if t:
                self.undef |= (t[0] >> 8) & SZAPC

    def compare(self, q, n):
        """None if Q and N agree, else a list of differing field names."""
        qv, nv = q.vals, n.vals
        taint = self.reg_taint
        if taint:
            for r in [r for r, (_, v) in taint.items() if qv[r] != v]:
                del taint[r]         # written since: the taint is gone
        if qv == nv:
            return []
        diffs = []
        for i, f in enumerate(FIELDS):
            a, b = qv[i], nv[i]
            if a == b:
                continue
            if i == I_EFL and ((a ^ b) & ~self.undef) == 0:
                continue
            if i in taint and ((a ^ b) & ~taint[i][0]) == 0:
                continue
            diffs.append(f)
        return diffs

    def run(self, qrecs, nrecs):
        """Compare two record streams; return (status, report lines).

        REP string instructions: QEMU logs one record per iteration, nestlab
        may log one or many.  After a matching record of a REP string
        instruction, further records at the same CS:EIP are skipped on both
        sides (rule 'rep-iterations' in docs/lockstep.md), so the next
        comparison is the state after the whole instruction.
        """
        qit, nit = Peek(qrecs), Peek(nrecs)
        prev_q = None
        count = 0
        ctx = self.ctx
        while True:
            q = qit.next()
            n = nit.next()
            if q is None or n is None:
                if q is None and n is None:
                    return 0, ["lockstep: %d instructions compared, no divergence "
                               "(%d exceptions/interrupts delivered on the way)"
                               % (count, self.deliveries)]
                return 1, self.report_end(q, n, count)
            if q.event_states and prev_q is not None:
                n, bad = self.fetch_fault(q, n, nit, prev_q)
                if bad:
                    return 1, self.report(*bad)
                if n is None:
                    return 1, self.report_end(q, n, count)
            if prev_q is not None:
                self.step_flags(prev_q, q)
            else:
                ctx.first_q, ctx.first_n = q, n
            ctx.q, ctx.n, ctx.index = q, n, count
            if q.events:
                self.deliveries += 1
            diffs = self.compare(q, n)
            if diffs:
                left = set(diffs)
                for rule in self.rules:
                    got = rule.explain(ctx, left) & left
                    if got:
                        self.rule_hits[rule.name] += 1
                        left -= got
                    if not left:
                        break
                if left:
                    return 1, self.report(q, n, count, [d for d in diffs if d in left])
            self.history.append((q, n))
            prev_q = q
            count += 1
            code = code_for(q, self.rom, len(self.rom))
            if code and self.decode(code, q.code32).is_rep_string():
                key = (q.vals[I_CS], q.vals[I_EIP])
                while _same_place(qit.peek(), key) and not qit.peek().events:
                    qit.next()
                while _same_place(nit.peek(), key):
                    nit.next()

    def fetch_fault(self, q, n, nit, prev_q):
        """Align an exception raised while fetching an instruction.

        When fetching the instruction at X faults (page not present, for
        instance), QEMU never translates a block for X and so logs no
        record there: its next record is the handler.  nestlab logs the
        state before X and then the handler.  That extra nestlab record is
        compared with the state QEMU dumped at the exception ('v=' line)
        and consumed.  Returns (next nestlab record, divergence or None).
        """
        qv = q.vals
        for ev, st in zip([e for e in q.events if " v=" in e], q.event_states):
            at = (st[I_CS], st[I_EIP])
            if " v=0e " in ev:
                # QEMU has already written the fault address to CR2 when it
                # dumps the state; before the fetch CR2 was what it was
                st = st[:I_CR2] + (prev_q.vals[I_CR2],) + st[I_CR2 + 1:]
            if (at == (n.vals[I_CS], n.vals[I_EIP]) and at != (qv[I_CS], qv[I_EIP])
                    and at != (prev_q.vals[I_CS], prev_q.vals[I_EIP])):
                fake = Record(q.n, st)
                fake.text = "(instruction fetch raised the exception)"
                diffs = self.compare(fake, n)
                if diffs:
                    return n, (fake, n, self.ctx.index, diffs)
                self.rule_hits["fetch-fault-record"] += 1
                return nit.next(), None
        return n, None

    # ---- reports ------------------------------------------------------
    def context_lines(self, upto=None):
        """The last instructions before the divergence and what each changed.

        Both sides agreed on every state shown here (the comparison stops at
        the first disagreement), so one column of values is enough.
        """
        out = ["context: the last %d instructions (both sides agreed on each state);"
               % len(self.history),
               "         'then' lists what the instruction changed, as QEMU ran it:"]
        recs = [q for q, _ in self.history]
        nxt = recs[1:] + ([upto] if upto is not None else [None])
        for q, after in zip(recs, nxt):
            out.append("  #%-8d %s" % (q.n, describe(q)))
            for ev in q.events:
                out.append("             qemu event before it: " + ev)
            if after is not None:
                changed = ["%s=%s" % (f, fmt_val(f, after.vals[i]))
                           for i, f in enumerate(FIELDS)
                           if f != "eip" and after.vals[i] != q.vals[i]]
                if changed:
                    out.append("             then: " + " ".join(changed))
        return out

    def report(self, q, n, count, diffs):
        out = ["DIVERGENCE at compared instruction %d (QEMU record #%d, nestlab record #%d%s)"
               % (count, q.n, n.n, (", nestlab icount " + n.tag) if n.tag else "")]
        if self.history:
            pq, pn = self.history[-1]
            out.append("last instruction executed: " + describe(pq))
        out.append("state before the next instruction (%s):" % describe(q))
        out.append("  %-5s %-10s %-10s" % ("field", "qemu", "nestlab"))
        for i, f in enumerate(FIELDS):
            a, b = q.vals[i], n.vals[i]
            mark = "  <== differs" if f in diffs else ""
            if f == "efl" and a != b:
                x = a ^ b
                mark += "  (xor %08x%s)" % (x, self.efl_note(x))
            out.append("  %-5s %-10s %-10s%s" % (f, fmt_val(f, a), fmt_val(f, b), mark))
        for ev in q.events:
            out.append("qemu event before this record: " + ev)
        out += self.context_lines(q)
        if self.rule_hits:
            out.append("deviation rules applied so far: " + ", ".join(
                "%s x%d" % kv for kv in sorted(self.rule_hits.items())))
        return out

    def efl_note(self, x):
        names = [nm for bit, nm in x86flags.FLAG_NAMES if x & bit]
        other = x & ~x86flags.ARITH
        s = ""
        if names:
            s += "; arithmetic " + "|".join(names)
        if other:
            s += "; system bits %08x" % other
        if self.undef:
            s += "; undefined now: " + x86flags.flag_names(self.undef)
        return s

    def report_end(self, q, n, count):
        who = "QEMU" if q is None else "nestlab"
        other = n if q is None else q
        out = ["DIVERGENCE: %s trace ended after %d instructions while the other continues"
               % (who, count),
               "next record on the other side: " + describe(other)]
        out += self.context_lines()
        return out

    def summary(self):
        if not self.rule_hits:
            return []
        return ["deviation rules applied: " + ", ".join(
            "%s x%d" % kv for kv in sorted(self.rule_hits.items()))]


# ======}  {====== running the emulators ======

def qemu_cmd(args, rom, debugcon):
    cmd = [args.qemu, "-bios", rom, "-nodefaults", "-display", "none",
           "-m", str(args.mem), "-no-reboot",
           "-debugcon", "file:" + debugcon,
           "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
           "-accel", "tcg", "-singlestep",
           "-d", "cpu,nochain,int,exec,in_asm"]
    return cmd


def nestlab_cmd(args, rom, trace_path):
    return [args.nestlab, "--rom", rom, "--mem", str(args.mem), "--trace-cpu", trace_path]


def limited(records, limit, what):
    for i, r in enumerate(records):
        if i >= limit:
            raise LimitReached("%s exceeded --max-insns=%d records" % (what, limit))
        yield r


class LimitReached(Exception):
    pass


def kill(proc):
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    if proc is not None:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def start_qemu(args, rom, tmp):
    debugcon = os.path.join(tmp, "qemu-debugcon.txt")
    cmd = qemu_cmd(args, rom, debugcon)
    if args.verbose:
        print("lockstep: " + " ".join(cmd), file=sys.stderr)
    # the log goes to stderr when no -D is given: stream it through a pipe
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, bufsize=1 << 20)
    return proc, proc.stderr


def start_nestlab(args, rom, tmp):
    rfd, wfd = os.pipe()
    out = open(os.path.join(tmp, "nestlab-stdout.txt"), "w")
    cmd = nestlab_cmd(args, rom, "/dev/fd/%d" % wfd)
    if args.verbose:
        print("lockstep: " + " ".join(cmd), file=sys.stderr)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                            stderr=subprocess.STDOUT, pass_fds=(wfd,))
    os.close(wfd)
    out.close()
    return proc, os.fdopen(rfd, "r", buffering=1 << 20)


def qemu_exit_status(rc):
    """isa-debug-exit: a guest write of V exits QEMU with (V << 1) | 1."""
    if rc is not None and rc & 1 and rc > 0:
        return "guest wrote 0x%x to port 0xF4 (qemu status %d)" % (rc >> 1, rc)
    return "qemu status %s" % rc


# ======}  {====== command line ======

def check_doc(path):
    """Every rule must be documented under a '## <name>' heading."""
    text = open(path).read()
    heads = set(re.findall(r"^##+\s+`?([a-z0-9-]+)`?", text, re.M))
    missing = [r.name for r in RULES if r.name not in heads]
    if missing:
        print("lockstep: rules not documented in %s: %s" % (path, ", ".join(missing)))
        return 1
    print("lockstep: %d rules, all documented in %s" % (len(RULES), os.path.basename(path)))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog="Exit 0 on zero divergences, 1 on a divergence, 2 on a setup error. "
               "See docs/lockstep.md.")
    ap.add_argument("--rom", help="guest ROM image (64 or 128 KiB)")
    ap.add_argument("--nestlab", default="nestlab-run", help="path of nestlab-run")
    ap.add_argument("--qemu", default="qemu-system-i386", help="path of qemu-system-i386")
    ap.add_argument("--mem", type=int, default=32, help="guest RAM in MiB (default 32)")
    ap.add_argument("--max-insns", type=int, default=3000000,
                    help="give up after this many records on either side")
    ap.add_argument("--timeout", type=float, default=600, help="wall-clock limit in seconds")
    ap.add_argument("--context", type=int, default=8,
                    help="instructions of context in a divergence report")
    ap.add_argument("--qemu-log", help="compare this saved QEMU log instead of running QEMU")
    ap.add_argument("--nestlab-trace", help="compare this saved trace instead of running nestlab")
    ap.add_argument("--qemu-only", action="store_true",
                    help="run QEMU only and summarise its trace (checks the harness)")
    ap.add_argument("--emit-trace", metavar="FILE",
                    help="with --qemu-only: write QEMU's records in the --trace-cpu format")
    ap.add_argument("--list-rules", action="store_true", help="print the deviation rules")
    ap.add_argument("--check-doc", metavar="MD",
                    help="check that every deviation rule is documented in MD")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the commands run")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)    # quiet when piped into head

    if args.list_rules:
        for r in RULES:
            print("%-24s %s" % (r.name, r.summary))
        return 0
    if args.check_doc:
        return check_doc(args.check_doc)
    if not args.rom:
        ap.error("--rom is required")
    try:
        with open(args.rom, "rb") as f:
            rom = f.read()
    except OSError as e:
        print("lockstep: cannot read ROM: %s" % e, file=sys.stderr)
        return 2
    return run(args, rom)


def run(args, rom):
    """Run (or read) both sides and compare; returns the exit status."""
    tmp = tempfile.mkdtemp(prefix="lockstep-")
    procs = []
    expired = threading.Event()

    def expire():
        expired.set()
        for proc in procs:
            kill(proc)

    timer = threading.Timer(args.timeout, expire)
    timer.daemon = True
    timer.start()
    started = time.monotonic()
    try:
        status = _run(args, rom, tmp, procs, expired)
        if expired.is_set():
            print("lockstep: wall-clock limit of %.0f s reached; raise --timeout?" % args.timeout)
            return 2
        print("lockstep: %.1f s" % (time.monotonic() - started))
        return status
    except LimitReached as e:
        print("lockstep: %s; the guest does not end (raise --max-insns?)" % e)
        return 2
    finally:
        timer.cancel()
        for proc in procs:
            kill(proc)
        shutil.rmtree(tmp, ignore_errors=True)


def _run(args, rom, tmp, procs, expired):
    qproc = nproc = None
    if args.qemu_log:
        qstream = open(args.qemu_log, errors="replace")
    else:
        if shutil.which(args.qemu) is None:
            print("lockstep: %s not found" % args.qemu, file=sys.stderr)
            return 2
        qproc, qstream = start_qemu(args, args.rom, tmp)
        procs.append(qproc)
    qrecs = limited(parse_qemu_log(qstream), args.max_insns, "QEMU")
    if args.qemu_only:
        qsrc = lambda r: (code_for(r, rom, len(rom)), r.code32)  # noqa: E731
        emit = open(args.emit_trace, "w") if args.emit_trace else None
        try:
            return qemu_summary(collapse_rep(qrecs, qsrc), qproc, emit)
        finally:
            if emit is not None:
                emit.close()

    if args.nestlab_trace:
        nstream = open(args.nestlab_trace, errors="replace")
    else:
        if shutil.which(args.nestlab) is None and not os.path.exists(args.nestlab):
            print("lockstep: %s not found" % args.nestlab, file=sys.stderr)
            return 2
        nproc, nstream = start_nestlab(args, args.rom, tmp)
        procs.append(nproc)
    nrecs = limited(parse_nestlab_trace(nstream), args.max_insns, "nestlab")
    comp = Comparator(rom, args.context)
    status, lines = comp.run(qrecs, nrecs)
    if expired.is_set():
        return 2                 # the streams were cut: the report means nothing
    for line in lines + comp.summary():
        print(line)
    for proc in procs:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    if qproc is not None and qproc.returncode is not None:
        print("lockstep: qemu: " + qemu_exit_status(qproc.returncode))
    if nproc is not None and nproc.returncode is not None:
        print("lockstep: nestlab-run exit status %d" % nproc.returncode)
    if (status == 0 and qproc is not None and nproc is not None
            and qproc.returncode != nproc.returncode):
        # both follow the board's rule: a write of V to port 0xF4 exits with (V<<1)|1
        print("DIVERGENCE: the traces agree but the exit statuses differ "
              "(qemu %s, nestlab-run %s)" % (qproc.returncode, nproc.returncode))
        return 1
    return status


def format_trace_line(rec, icount):
    """REC in the nestlab --trace-cpu line format."""
    return "%d " % icount + " ".join("%s=%s" % (f, fmt_val(f, v)) for f, v in zip(FIELDS, rec.vals))


def qemu_summary(qrecs, qproc, emit=None):
    count = 0
    events = 0
    first = last = None
    eips = collections.Counter()
    for r in qrecs:
        if first is None:
            first = r
        last = r
        count += 1
        events += len(r.events)
        eips[r.vals[I_EIP]] += 1
        if emit is not None:
            emit.write(format_trace_line(r, count - 1) + "\n")
    if qproc is not None:
        qproc.wait()
    print("lockstep: QEMU trace: %d instructions (REP iterations collapsed), %d exception events"
          % (count, events))
    if first is not None:
        print("  first: " + describe(first))
        print("  last:  " + describe(last))
    if not count:
        return 2
    if qproc is not None:
        print("  " + qemu_exit_status(qproc.returncode))
        # the guest must end by writing 0 to port 0xF4
        return 0 if qproc.returncode == 1 else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
