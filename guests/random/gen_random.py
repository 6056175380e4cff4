#!/usr/bin/env python3
"""Seeded random instruction-stream guest generator.

Writes a nasm source for a 64 KiB reset-vector ROM that switches to
protected mode, turns paging on, optionally drops to ring 3 and then runs a
long random stream of non-control-flow integer instructions.  The stream is
one random block executed many times by an outer loop, so a 64 KiB ROM
reaches hundreds of thousands of executed instructions while the register
state keeps evolving.  The guest ends by writing 0 to port 0xF4.

The stream is meant for differential testing (tests/lockstep): it never
consumes a flag that the last writer left architecturally undefined, never
produces an undefined result (BSF/BSR of zero, 16-bit SHLD/SHRD with a count
above 16, DIV overflow), and confines every memory access to a data buffer.

Memory map (physical = linear for the low 4 MiB):

    0x00001000  page directory
    0x00002000  page table for 0..4 MiB (4 KiB pages, user, writable)
    0x00003000  GDT (copied from the ROM so LTR can set the busy bit)
    0x00003800  IDT, 32 interrupt gates -> "unexpected exception" stubs
    0x00004000  TSS (SS0:ESP0 for exceptions taken in ring 3)
    0x00007000  outer loop counter
    0x00008000  ring-0 stack (top 0x9000)
    0x00009000  ring-3 stack (top 0xA000)
    0x0000B000  scratch for 16-bit-address string instructions (ES:DI)
    0x00010000  data buffer, 192 KiB; EBP = 0x20000 points at its middle
    0x00400000  4 MiB PSE page aliasing physical 0 (user, writable)
    0xFFC00000  4 MiB PSE page mapping the ROM (user, read-only)
"""

import argparse
import random
import sys

ROM_BASE = 0xFFFF0000
PD = 0x1000
PT0 = 0x2000
GDT_RAM = 0x3000
IDT_RAM = 0x3800
TSS_RAM = 0x4000
LOOP_CNT = 0x7000
STACK0_TOP = 0x9000
STACK3_TOP = 0xA000
A16_SCRATCH = 0xB000
BUF_LO = 0x10000
BUF_MID = 0x20000        # EBP during the stream
FS_BASE = BUF_LO         # FS: base of the buffer, limit 0x1FFFF
FS_LIMIT = 0x1FFFF
PSE_ALIAS = 0x400000     # linear alias of physical 0 through a 4 MiB page
DATA_INIT = 0x1E000      # where the ROM's random table is copied
DATA_TABLE_BYTES = 4096

SEL_CODE0 = 0x08
SEL_DATA0 = 0x10
SEL_CODE3 = 0x1B
SEL_DATA3 = 0x23
SEL_FS = 0x2B
SEL_TSS = 0x30

FLAGS_ALL = frozenset("COSZAP")
FLAGS_LOGIC = frozenset("COSZP")     # AF undefined after logic ops

R32 = ["eax", "ebx", "ecx", "edx", "esi", "edi"]
R16 = ["ax", "bx", "cx", "dx", "si", "di"]
R8 = ["al", "bl", "cl", "dl", "ah", "bh", "ch", "dh"]
REGS = {8: R8, 16: R16, 32: R32}
SIZE_KW = {8: "byte", 16: "word", 32: "dword", 64: "qword"}
R32_OF = {"ax": "eax", "bx": "ebx", "cx": "ecx", "dx": "edx", "si": "esi",
          "di": "edi", "al": "eax", "bl": "ebx", "cl": "ecx", "dl": "edx",
          "ah": "eax", "bh": "ebx", "ch": "ecx", "dh": "edx",
          "eax": "eax", "ebx": "ebx", "ecx": "ecx", "edx": "edx", "esi": "esi",
          "edi": "edi"}

# condition code -> flags it reads
CONDS = {
    "o": "O", "no": "O", "b": "C", "ae": "C", "e": "Z", "ne": "Z",
    "be": "CZ", "a": "CZ", "s": "S", "ns": "S", "p": "P", "np": "P",
    "l": "SO", "ge": "SO", "le": "ZSO", "g": "ZSO",
}


class Stream:
    """Builds the random block while tracking which flags are defined."""

    def __init__(self, rng, ring):
        self.rng = rng
        self.ring = ring
        self.lines = []
        self.count = 0
        self.defined = set()
        self.stack = []          # what is on the stack: 'd', 'w', 'A', 'Aw', 'S:fs'...

    # ---- emission ------------------------------------------------------
    def emit(self, text, defs=(), undefs=()):
        self.lines.append("\t" + text)
        self.count += 1
        self.defined -= set(undefs)
        self.defined |= set(defs)

    def need(self, flags):
        """Make sure every flag in FLAGS is defined before a consumer."""
        if set(flags) <= self.defined:
            return
        r = self.rng
        w = r.choice([8, 16, 32])
        op = r.choice(["add", "sub", "cmp", "neg"])
        if op == "neg":
            self.emit("neg %s" % self.reg(w), defs=FLAGS_ALL)
        else:
            self.emit("%s %s, %s" % (op, self.reg(w), self.src_ri(w)), defs=FLAGS_ALL)

    # ---- operands ------------------------------------------------------
    def reg(self, w):
        return self.rng.choice(REGS[w])

    def imm(self, w):
        r = self.rng
        k = r.random()
        mask = (1 << w) - 1
        if k < 0.25:
            v = r.choice([0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF,
                          0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE])
        elif k < 0.55:
            v = r.randint(-128, 127)
        else:
            v = r.getrandbits(w)
        return "0x%x" % (v & mask)

    def src_ri(self, w):
        return self.reg(w) if self.rng.random() < 0.5 else self.imm(w)

    def clamp(self, reg32, mask=0xFFF):
        self.emit("and %s, 0x%x" % (reg32, mask), defs=FLAGS_LOGIC, undefs="A")

    def mem(self, w, write=True, sized=True):
        """Return a memory operand confined to the data buffer (may emit a clamp)."""
        r = self.rng
        kw = (SIZE_KW[w] + " ") if sized else ""
        k = r.random()
        nbytes = max(w // 8, 1)
        if k < 0.30:
            disp = r.choice([r.randint(-128, 127), r.randint(-0x7FF0, 0x7FF0)])
            seg = r.choice(["", "", "", "ds:", "es:", "ss:", "gs:"])
            return "%s[%sebp%+d]" % (kw, seg, disp)
        if k < 0.42:
            base = r.choice([0, PSE_ALIAS])
            addr = base + BUF_MID + r.randint(-0x8000, 0x7FF0)
            seg = r.choice(["", "", "es:", "gs:"])
            return "%s[%s0x%x]" % (kw, seg, addr)
        if k < 0.62:
            idx = r.choice(R32)
            self.clamp(idx)
            scale = r.choice([1, 2, 4, 8])
            disp = r.choice([r.randint(-128, 127), r.randint(-0x7000, 0x0)])
            if r.random() < 0.3 and scale == 1:
                return "%s[%s+ebp%+d]" % (kw, idx, disp)
            return "%s[ebp+%s*%d%+d]" % (kw, idx, scale, disp)
        if k < 0.72:
            idx = r.choice(R32)
            self.clamp(idx)
            scale = r.choice([1, 2, 4, 8])
            disp = r.randint(0, 0x17000)
            return "%s[fs:%s*%d+0x%x]" % (kw, idx, scale, disp)
        if k < 0.90:
            form = r.choice(["bx+si", "bx+di", "bp+si", "bp+di", "si", "di",
                             "bp", "bx", ""])
            disp = r.randint(0, 0xFFFF)
            if form == "":
                return "%s[fs:word 0x%x]" % (kw, disp)
            if r.random() < 0.3:
                return "%s[fs:%s]" % (kw, form) if form != "bp" else "%s[fs:bp+0]" % kw
            return "%s[fs:%s%+d]" % (kw, form, sx16(disp))
        if not write and not any(e.startswith("S:") for e in self.stack):
            # stack-relative read of whatever was pushed (never written, so
            # the saved registers popped later stay intact).  Not while a
            # segment register is on the stack: a 32-bit PUSH Sreg may write
            # only 16 bits (SDM Vol. 2B, PUSH), so its upper half is
            # implementation-specific.
            depth = max(len(self.stack), 1)
            disp = r.randint(0, 4 * depth)
            return "%s[esp+%d]" % (kw, disp)
        return "%s[ebp%+d]" % (kw, r.randint(-0x7FF0, 0x7FF0) & ~(nbytes - 1))

    def rm(self, w, write=True):
        if self.rng.random() < 0.55:
            return self.reg(w), True
        return self.mem(w, write), False

    # ---- instruction families -----------------------------------------
    def alu(self):
        r = self.rng
        op = r.choice(["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"])
        w = r.choice([8, 16, 32, 32])
        if op in ("adc", "sbb"):
            self.need("C")
        form = r.randint(0, 4)
        lock = ""
        if form == 0:
            text = "%s %s, %s" % (op, self.reg(w), self.reg(w))
        elif form == 1:
            text = "%s %s, %s" % (op, self.reg(w), self.imm(w))
        elif form == 2:
            text = "%s %s, %s" % (op, self.reg(w), self.mem(w, False))
        elif form == 3:
            if op != "cmp" and r.random() < 0.2:
                lock = "lock "
            text = "%s %s, %s" % (op, self.mem(w), self.reg(w))
        else:
            if op != "cmp" and r.random() < 0.2:
                lock = "lock "
            text = "%s %s, %s" % (op, self.mem(w), self.imm(w))
        if op in ("and", "or", "xor"):
            self.emit(lock + text, defs=FLAGS_LOGIC, undefs="A")
        else:
            self.emit(lock + text, defs=FLAGS_ALL)

    def test(self):
        w = self.rng.choice([8, 16, 32])
        dst, _ = self.rm(w, write=False)
        self.emit("test %s, %s" % (dst, self.src_ri(w)), defs=FLAGS_LOGIC, undefs="A")

    def unary(self):
        r = self.rng
        op = r.choice(["inc", "dec", "neg", "not"])
        w = r.choice([8, 16, 32])
        dst, isreg = self.rm(w)
        lock = "lock " if (not isreg and r.random() < 0.2) else ""
        if op in ("inc", "dec"):
            self.emit("%s%s %s" % (lock, op, dst), defs="OSZAP")
        elif op == "neg":
            self.emit("%s%s %s" % (lock, op, dst), defs=FLAGS_ALL)
        else:
            self.emit("%s%s %s" % (lock, op, dst))

    def shift(self):
        r = self.rng
        op = r.choice(["rol", "ror", "rcl", "rcr", "shl", "shr", "sar", "sal"])
        w = r.choice([8, 16, 32])
        dst, _ = self.rm(w)
        if op in ("rcl", "rcr"):
            self.need("C")
        kind = r.randint(0, 2)
        if kind == 0:
            count = 1
            text = "%s %s, 1" % (op, dst)
        elif kind == 1:
            count = r.choice([0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, r.randint(0, 255)])
            text = "%s %s, byte %d" % (op, dst, count)
        else:
            count = None
            if r.random() < 0.5:
                self.emit("mov cl, %d" % r.randint(0, 40))
            text = "%s %s, cl" % (op, dst)
        defs, undefs = shift_flags(op, w, count, self.defined)
        self.emit(text, defs, undefs)

    def shiftd(self):
        r = self.rng
        op = r.choice(["shld", "shrd"])
        w = r.choice([16, 32])
        dst, _ = self.rm(w)
        src = self.reg(w)
        if r.random() < 0.5:
            count = r.randint(0, 15 if w == 16 else 40)
            text = "%s %s, %s, %d" % (op, dst, src, count)
            count &= 31
        else:
            if w == 16:
                self.emit("and ecx, 0xf", defs=FLAGS_LOGIC, undefs="A")
            elif r.random() < 0.5:
                self.emit("mov cl, %d" % r.randint(0, 40))
            count = None
            text = "%s %s, %s, cl" % (op, dst, src)
        if count == 0:
            self.emit(text)
        elif count is None:
            keep = self.defined & set("CSZP")
            self.emit(text, undefs=FLAGS_ALL - keep)
        else:
            self.emit(text, defs="CSZP" + ("O" if count == 1 else ""),
                      undefs="A" + ("" if count == 1 else "O"))

    def mul(self):
        r = self.rng
        w = r.choice([8, 16, 32])
        k = r.randint(0, 3)
        if k == 0 or w == 8:
            src, _ = self.rm(w, write=False)
            self.emit("%s %s" % (r.choice(["mul", "imul"]), src), defs="CO", undefs="SZAP")
        elif k == 1:
            src, _ = self.rm(w, write=False)
            self.emit("imul %s, %s" % (self.reg(w), src), defs="CO", undefs="SZAP")
        else:
            src, _ = self.rm(w, write=False)
            self.emit("imul %s, %s, %s" % (self.reg(w), src, self.imm(w)),
                      defs="CO", undefs="SZAP")

    def div(self):
        r = self.rng
        w = r.choice([8, 16, 32])
        signed = r.random() < 0.5
        acc = {8: "al", 16: "ax", 32: "eax"}[w]
        hi = {8: "ah", 16: "dx", 32: "edx"}[w]
        cands = {8: ["bl", "cl", "bh", "ch", "dl", "dh"], 16: ["bx", "cx", "si", "di"],
                 32: ["ebx", "ecx", "esi", "edi"]}[w]
        # a memory divisor is addressed from EBP alone: the setup below
        # rewrites EAX/EDX, which must not move the operand
        if r.random() < 0.4:
            div_op = "%s [ebp%+d]" % (SIZE_KW[w], r.randint(-0x7FF0, 0x7FF0))
        else:
            div_op = r.choice(cands)
        if signed:
            # sign-extend the accumulator, divisor in [2, 2^(w-1)-1]
            self.emit("and %s, 0x%x" % (div_op, (1 << (w - 1)) - 1 & ~r.getrandbits(w - 3)),
                      defs=FLAGS_LOGIC, undefs="A")
            self.emit("or %s, 2" % div_op, defs=FLAGS_LOGIC, undefs="A")
            self.emit({8: "cbw", 16: "cwd", 32: "cdq"}[w])
            self.emit("idiv %s" % div_op, undefs=FLAGS_ALL)
        else:
            # high half < divisor guarantees the quotient fits
            bits = r.randint(0, w - 1)
            self.emit("and %s, 0x%x" % (hi, (1 << bits) - 1), defs=FLAGS_LOGIC, undefs="A")
            self.emit("or %s, 0x%x" % (div_op, 1 << bits), defs=FLAGS_LOGIC, undefs="A")
            self.emit("div %s" % div_op, undefs=FLAGS_ALL)

    def mov(self):
        r = self.rng
        k = r.randint(0, 9)
        w = r.choice([8, 16, 32])
        if k == 0:
            self.emit("mov %s, %s" % (self.reg(w), self.reg(w)))
        elif k == 1:
            self.emit("mov %s, %s" % (self.reg(w), self.imm(w)))
        elif k == 2:
            self.emit("mov %s, %s" % (self.reg(w), self.mem(w, False)))
        elif k == 3:
            self.emit("mov %s, %s" % (self.mem(w), r.choice([self.reg(w), self.imm(w)])))
        elif k == 4:
            dw = r.choice([16, 32])
            sw = 8 if dw == 16 else r.choice([8, 16])
            src, _ = self.rm(sw, write=False)
            self.emit("%s %s, %s" % (r.choice(["movzx", "movsx"]), self.reg(dw), src))
        elif k == 5:
            a, b = self.reg(w), self.rm(w)[0]
            self.emit("xchg %s, %s" % (b, a))
        elif k == 6:
            self.emit("lea %s, %s" % (self.reg(r.choice([16, 32])), self.lea_addr()))
        elif k == 7:
            seg = r.choice(["ds", "es", "fs", "gs", "ss", "cs"])
            if r.random() < 0.5:
                self.emit("mov %s, %s" % (self.reg(r.choice([16, 32])), seg))
            else:
                self.emit("mov %s, %s" % (self.mem(16, sized=False), seg))
        elif k == 8:
            self.emit(r.choice(["cbw", "cwde", "cwd", "cdq"]))
        else:
            self.emit("bswap %s" % self.reg(32))

    def lea_addr(self):
        r = self.rng
        if r.random() < 0.3:
            a = r.choice(["bx+si", "bx+di", "bp+si", "bp+di", "si", "di", "bx"])
            return "[%s%+d]" % (a, sx16(r.getrandbits(16)))
        base = r.choice(R32 + ["ebp", "esp"])
        idx = r.choice(R32 + ["ebp"])
        return "[%s+%s*%d%+d]" % (base, idx, r.choice([1, 2, 4, 8]),
                                  r.randint(-0x80000000, 0x7FFFFFFF))

    def push_pop(self):
        r = self.rng
        can_pop = len(self.stack) > 0
        if len(self.stack) < 12 and (not can_pop or r.random() < 0.55):
            k = r.randint(0, 6)
            if k == 0:
                self.emit("push %s" % self.reg(32))
                self.stack.append("d")
            elif k == 1:
                self.emit("push %s" % self.reg(16))
                self.stack.append("w")
            elif k == 2:
                self.emit("push dword %s" % self.imm(32))
                self.stack.append("d")
            elif k == 3:
                w = r.choice([16, 32])
                self.emit("push %s" % self.mem(w, False))
                self.stack.append("w" if w == 16 else "d")
            elif k == 4:
                seg = r.choice(["ds", "es", "fs", "gs"])
                self.emit("push %s" % seg)
                self.stack.append("S:" + seg)
            elif k == 5 and len(self.stack) < 6:
                w = r.choice(["pushad", "pushaw"])
                self.emit(w)
                self.stack.append("A" if w == "pushad" else "Aw")
            else:
                self.emit("push esp")
                self.stack.append("d")
            return
        if not can_pop:
            return
        top = self.stack.pop()
        if top == "d":
            if r.random() < 0.3:
                self.emit("pop %s" % self.mem(32))
            else:
                self.emit("pop %s" % self.reg(32))
        elif top == "w":
            if r.random() < 0.3:
                self.emit("pop %s" % self.mem(16))
            else:
                self.emit("pop %s" % self.reg(16))
        elif top == "A":
            self.emit("popad")
        elif top == "Aw":
            self.emit("popaw")
        else:
            self.emit("pop %s" % top[2:])

    def drain_stack(self):
        while self.stack:
            self.push_pop_force()

    def push_pop_force(self):
        top = self.stack.pop()
        self.emit({"d": "pop edx", "w": "pop dx", "A": "popad", "Aw": "popaw"}.get(top, "pop " + top[2:]))

    def cond(self):
        r = self.rng
        cc = r.choice(list(CONDS))
        self.need(CONDS[cc])
        if r.random() < 0.5:
            dst, _ = self.rm(8)
            self.emit("set%s %s" % (cc, dst))
        else:
            w = r.choice([16, 32])
            src, _ = self.rm(w, write=False)
            self.emit("cmov%s %s, %s" % (cc, self.reg(w), src))

    def bits(self):
        r = self.rng
        op = r.choice(["bt", "bts", "btr", "btc"])
        w = r.choice([16, 32])
        dst, isreg = self.rm(w, write=(op != "bt"))
        if r.random() < 0.5:
            src = "%d" % r.randint(0, 255)
            text = "%s %s, byte %s" % (op, dst, src)
        else:
            src = self.reg(w)
            if not isreg:
                self.clamp(R32_OF[src], 0x3FF)
            text = "%s %s, %s" % (op, dst, src)
        lock = "lock " if (not isreg and op != "bt" and r.random() < 0.2) else ""
        # ZF is documented as unchanged, but treat it as gone so the stream
        # never depends on that reading
        self.emit(lock + text, defs="C", undefs="OSAPZ")

    def bitscan(self):
        r = self.rng
        w = r.choice([16, 32])
        src, isreg = self.rm(w)
        self.emit("or %s, 0x%x" % (src, 1 << r.randint(0, w - 1)), defs=FLAGS_LOGIC, undefs="A")
        self.emit("%s %s, %s" % (r.choice(["bsf", "bsr"]), self.reg(w), src),
                  defs="Z", undefs="COSAP")

    def atomic(self):
        r = self.rng
        k = r.randint(0, 2)
        w = r.choice([8, 16, 32])
        if k == 0:
            dst, isreg = self.rm(w)
            lock = "lock " if (not isreg and r.random() < 0.3) else ""
            self.emit("%sxadd %s, %s" % (lock, dst, self.reg(w)), defs=FLAGS_ALL)
        elif k == 1:
            dst, isreg = self.rm(w)
            lock = "lock " if (not isreg and r.random() < 0.3) else ""
            self.emit("%scmpxchg %s, %s" % (lock, dst, self.reg(w)), defs=FLAGS_ALL)
        else:
            lock = "lock " if r.random() < 0.3 else ""
            self.emit("%scmpxchg8b %s" % (lock, self.mem(64)), defs="Z")

    def string(self):
        r = self.rng
        op = r.choice(["movs", "stos", "lods", "cmps", "scas"])
        sz = r.choice("bwd")
        a16 = r.random() < 0.2
        if a16:
            self.emit("mov esi, 0x%x" % (A16_SCRATCH + r.randint(0, 0x1000)))
            self.emit("mov edi, 0x%x" % (A16_SCRATCH + 0x1800 + r.randint(0, 0x1000)))
        else:
            self.emit("mov esi, 0x%x" % (DATA_INIT + r.randint(-0x800, 0x800)))
            self.emit("mov edi, 0x%x" % (BUF_MID + r.randint(-0x4000, 0x4000)))
        rep = r.choice(["", "", "rep ", "repe ", "repne "])
        if op in ("movs", "stos", "lods") and rep:
            rep = "rep "
        n = r.choice([0, 1, 2, r.randint(0, 40)])
        if rep:
            self.emit("mov ecx, %d" % n)
        if r.random() < 0.3:
            self.emit(r.choice(["cld", "std"]))
        seg = ""
        if op in ("movs", "lods", "cmps") and r.random() < 0.4 and not a16:
            seg = r.choice(["es", "ss", "gs", "cs", "fs"])
        text = "%s%s%s" % ("a16 " if a16 else "", rep, op + sz)
        if seg:
            # nasm spells a source override on a string instruction as a prefix
            text = seg + " " + text
        if op in ("cmps", "scas") and not (rep and n == 0):
            self.emit(text, defs=FLAGS_ALL)
        else:
            self.emit(text)
        self.emit("cld")

    def misc(self):
        r = self.rng
        k = r.randint(0, 11)
        if k == 0:
            self.emit(r.choice(["clc", "stc"]), defs="C")
        elif k == 1:
            self.need("C")
            self.emit("cmc", defs="C")
        elif k == 2:
            self.need("SZAPC")
            self.emit("lahf")
        elif k == 3:
            if r.random() < 0.5:
                self.emit("mov ah, %s" % self.imm(8))
            self.emit("sahf", defs="SZAPC")
        elif k == 4:
            self.need("AC")
            self.emit(r.choice(["daa", "das"]), defs="CASZP", undefs="O")
        elif k == 5:
            self.need("A")
            self.emit(r.choice(["aaa", "aas"]), defs="AC", undefs="OSZP")
        elif k == 6:
            self.emit("aam %d" % r.randint(1, 255), defs="SZP", undefs="OAC")
        elif k == 7:
            self.emit("aad %d" % r.randint(0, 255), defs="SZP", undefs="OAC")
        elif k == 8:
            self.need(FLAGS_ALL)
            self.emit("pushfd")
            self.stack.append("d")
        elif k == 9:
            self.emit("lea ebx, [ebp%+d]" % r.randint(-0x7000, 0x7000))
            self.emit("xlatb")
        elif k == 10:
            self.emit("nop")
        else:
            self.emit("mov %s, 0x%x" % (self.reg(32), r.getrandbits(32)))

    def system(self):
        """Unprivileged system instructions, descriptor probes, far loads."""
        r = self.rng
        k = r.randint(0, 8)
        sel = r.choice([0, 0x08, 0x10, 0x1B, 0x23, 0x2B, 0x30, 0x33, 0x38, 0x3B,
                        r.randint(0, 0x3F), r.getrandbits(16)])
        if k <= 1:
            # LAR/LSL/VERR/VERW never fault on a bad selector: they clear ZF
            reg16 = r.choice(R16)
            self.emit("mov %s, 0x%x" % (reg16, sel))
            op = r.choice(["lar", "lsl", "verr", "verw"])
            if op in ("lar", "lsl"):
                self.emit("%s %s, %s" % (op, self.reg(r.choice([16, 32])), reg16), defs="Z")
            else:
                self.emit("%s %s" % (op, reg16), defs="Z")
        elif k == 2:
            dst, _ = self.rm(16)
            self.emit("arpl %s, %s" % (dst, self.reg(16)), defs="Z")
        elif k == 3:
            # 16-bit destinations only: a 32-bit register destination of
            # SMSW/STR/SLDT has model-specific upper bits
            dst, _ = self.rm(16)
            self.emit("%s %s" % (r.choice(["smsw", "str", "sldt"]), dst))
        elif k == 4:
            self.emit("%s [ebp%+d]" % (r.choice(["sgdt", "sidt"]), r.randint(-0x7FF0, 0x7FF0)))
        elif k == 5:
            # far pointer load that reloads a segment register with its own selector
            seg = r.choice(["es", "gs"] + (["ds"] if r.random() < 0.3 else []))
            disp = r.randint(-0x7FF0, 0x7FF0)
            w = r.choice([16, 32])
            self.emit("mov %s [ebp%+d], %s" % (SIZE_KW[w], disp, self.reg(w)))
            self.emit("mov [ebp%+d], %s" % (disp + w // 8, seg))
            self.emit("l%s %s, [ebp%+d]" % (seg, self.reg(w), disp))
        elif k == 6:
            # ENTER/LEAVE pair: EBP points at the stack only in between
            n = r.choice([0, 4, 8, r.randint(0, 64)])
            level = r.choice([0, 0, 1, 2, 3])
            self.emit("enter %d, %d" % (n, level))
            if r.random() < 0.5:
                # only what ENTER wrote: the saved EBP and the frame pointers;
                # the rest of the frame is stale stack
                self.emit("mov %s, [ebp%+d]" % (self.reg(32), -4 * r.randint(0, level)))
            self.emit("leave")
        elif k == 7 and self.ring == 0:
            self.emit("mov %s, cr%d" % (self.reg(32), r.choice([0, 2, 3, 4])))
        else:
            seg = r.choice(["es", "gs"])
            self.emit("mov %s, %s" % (self.reg(16), seg))
            self.emit("push %s" % seg)
            self.emit("pop %s" % seg)

    FAMILIES = [
        ("alu", 22), ("test", 4), ("unary", 7), ("shift", 10), ("shiftd", 3),
        ("mul", 5), ("div", 3), ("mov", 14), ("push_pop", 7), ("cond", 6),
        ("bits", 4), ("bitscan", 2), ("atomic", 4), ("string", 3), ("misc", 6),
        ("system", 3),
    ]

    def block(self, n):
        names = [f for f, _ in self.FAMILIES]
        weights = [w for _, w in self.FAMILIES]
        while self.count < n:
            getattr(self, self.rng.choices(names, weights)[0])()
        self.drain_stack()


def sx16(v):
    """V as a signed 16-bit number (nasm then picks disp8 without a warning)."""
    return v - 0x10000 if v & 0x8000 else v


def shift_flags(op, w, count, defined):
    """(defs, undefs) for a shift/rotate by COUNT (None: CL, unknown)."""
    rot = op in ("rol", "ror")
    rc = op in ("rcl", "rcr")
    if count is None:
        # CL may be zero (flags kept) or anything else
        if rot or rc:
            keep = set()
        else:
            keep = set("SZP") | (set("C") if w == 32 else set())
        keep &= defined
        return (), FLAGS_ALL - keep
    c = count & 31
    if c == 0:
        return (), ()
    if rot:
        return ("C" + ("O" if c == 1 else "")), ("" if c == 1 else "O")
    if rc:
        t = c % (w + 1)
        if t == 0:
            return (), "O"
        return ("C" + ("O" if c == 1 else "")), ("" if c == 1 else "O")
    defs = "SZP"
    undefs = "A"
    if c < w:
        defs += "C"
    else:
        undefs += "C"
    if c == 1:
        defs += "O"
    else:
        undefs += "O"
    return defs, undefs


def gdt_entries():
    """(base, limit, access, flags) rows; access bytes carry the accessed bit."""
    return [
        (0, 0, 0, 0),
        (0, 0xFFFFF, 0x9B, 0xC),        # 0x08 ring-0 code, flat
        (0, 0xFFFFF, 0x93, 0xC),        # 0x10 ring-0 data, flat
        (0, 0xFFFFF, 0xFB, 0xC),        # 0x18 ring-3 code, flat
        (0, 0xFFFFF, 0xF3, 0xC),        # 0x20 ring-3 data, flat
        (FS_BASE, FS_LIMIT, 0xF3, 0x4), # 0x28 ring-3 data, the buffer (FS)
        (TSS_RAM, 0x67, 0x89, 0x0),     # 0x30 32-bit TSS
    ]


def descriptor(base, limit, access, flags):
    lo = (limit & 0xFFFF) | ((base & 0xFFFF) << 16)
    hi = ((base >> 16) & 0xFF) | (access << 8) | (limit & 0xF0000) | (flags << 20) | (base & 0xFF000000)
    return lo, hi


def setup_code(ring, loops, rng):
    d = SEL_DATA0
    out = []
    a = out.append
    a("bits 32")
    a("org 0x%08x" % ROM_BASE)
    a("pm_entry:")
    a("\tmov ax, 0x%x" % d)
    for s in ("ds", "es", "ss", "fs", "gs"):
        a("\tmov %s, ax" % s)
    a("\tmov esp, 0x%x" % STACK0_TOP)
    a("\tcld")
    a("\tmov esi, gdt_rom")
    a("\tmov edi, 0x%x" % GDT_RAM)
    a("\tmov ecx, (gdt_rom_end - gdt_rom) / 4")
    a("\trep movsd")
    a("\tlgdt [gdt_ram_ptr]")
    a("\tjmp 0x%x:.reload" % SEL_CODE0)
    a(".reload:")
    a("\t; IDT: 32 interrupt gates onto 8-byte stubs")
    a("\tmov edi, 0x%x" % IDT_RAM)
    a("\tmov eax, exc_stubs")
    a("\tmov ecx, 32")
    a(".idt:")
    a("\tmov edx, eax")
    a("\tand edx, 0xffff")
    a("\tor edx, 0x%x" % (SEL_CODE0 << 16))
    a("\tmov [edi], edx")
    a("\tmov edx, eax")
    a("\tand edx, 0xffff0000")
    a("\tor edx, 0x8e00")
    a("\tmov [edi+4], edx")
    a("\tadd edi, 8")
    a("\tadd eax, 8")
    a("\tdec ecx")
    a("\tjnz .idt")
    a("\tlidt [idt_ptr]")
    a("\t; TSS: only SS0:ESP0 matter")
    a("\tmov edi, 0x%x" % TSS_RAM)
    a("\txor eax, eax")
    a("\tmov ecx, 0x68 / 4")
    a("\trep stosd")
    a("\tmov dword [0x%x], 0x%x" % (TSS_RAM + 4, STACK0_TOP))
    a("\tmov dword [0x%x], 0x%x" % (TSS_RAM + 8, SEL_DATA0))
    a("\tmov word [0x%x], 0x68" % (TSS_RAM + 0x66))
    a("\tmov ax, 0x%x" % SEL_TSS)
    a("\tltr ax")
    a("\t; page table 0: identity map 0..4 MiB, user + writable")
    a("\tmov edi, 0x%x" % PT0)
    a("\tmov eax, 0x7")
    a("\tmov ecx, 1024")
    a(".pt:")
    a("\tstosd")
    a("\tadd eax, 0x1000")
    a("\tloop .pt")
    a("\tmov edi, 0x%x" % PD)
    a("\txor eax, eax")
    a("\tmov ecx, 1024")
    a("\trep stosd")
    a("\tmov dword [0x%x], 0x%x" % (PD, PT0 | 7))
    a("\tmov dword [0x%x], 0x%x  ; 4 MiB alias of physical 0" % (PD + 4, 0x87))
    a("\tmov dword [0x%x], 0x%x  ; 4 MiB page over the ROM, read-only" % (PD + 4 * 1023, 0xFFC00000 | 0x85))
    a("\tmov eax, 0x%x" % PD)
    a("\tmov cr3, eax")
    a("\tmov eax, cr4")
    a("\tor eax, 0x10          ; CR4.PSE")
    a("\tmov cr4, eax")
    a("\tmov eax, cr0")
    a("\tor eax, 0x80010000    ; CR0.PG | CR0.WP")
    a("\tmov cr0, eax")
    a("\tjmp .paged")
    a(".paged:")
    a("\t; seed the hot part of the data buffer from the ROM table")
    a("\tmov esi, data_table")
    a("\tmov edi, 0x%x" % DATA_INIT)
    a("\tmov ecx, %d" % (DATA_TABLE_BYTES // 4))
    a("\trep movsd")
    a("\tmov dword [0x%x], %d" % (LOOP_CNT, loops))
    a("\tmov ax, 0x%x" % SEL_FS)
    a("\tmov fs, ax")
    if ring == 3:
        a("\t; IRET to ring 3 with IOPL=3 (port 0xF4 stays reachable), IF=0")
        a("\tpush dword 0x%x" % SEL_DATA3)
        a("\tpush dword 0x%x" % STACK3_TOP)
        a("\tpush dword 0x3002")
        a("\tpush dword 0x%x" % SEL_CODE3)
        a("\tpush dword user_entry")
        a("\tiretd")
        a("user_entry:")
        a("\tmov ax, 0x%x" % SEL_DATA3)
        a("\tmov ds, ax")
        a("\tmov es, ax")
        a("\tmov gs, ax")
    else:
        a("\tmov ax, 0x%x" % SEL_DATA0)
        a("\tmov gs, ax")
    for reg in R32:
        a("\tmov %s, 0x%08x" % (reg, rng.getrandbits(32)))
    a("\tmov ebp, 0x%x" % BUF_MID)
    return out


def epilogue():
    out = []
    a = out.append
    a("\t; fold the touched buffer into the registers so memory divergences show")
    a("\tcld")
    a("\tmov esi, 0x%x" % (BUF_MID - 0x8100))
    a("\tmov edi, 0x%x" % (BUF_MID + 0x8100))
    a("\txor eax, eax")
    a("\txor ebx, ebx")
    a("\txor ecx, ecx")
    a("\txor edx, edx")
    a(".sum:")
    for i in range(0, 32, 16):
        a("\tadd eax, [esi+%d]" % i)
        a("\txor ebx, [esi+%d]" % (i + 4))
        a("\tadd ecx, [esi+%d]" % (i + 8))
        a("\txor edx, [esi+%d]" % (i + 12))
    a("\trol eax, 3")
    a("\tadd esi, 32")
    a("\tcmp esi, edi")
    a("\tjb .sum")
    a("\tmov al, 0")
    a("\tout 0xf4, al")
    a("\tjmp $")
    return out


def tables():
    out = []
    a = out.append
    a("\talign 8")
    a("exc_stubs:")
    for v in range(32):
        a("\tpush byte %d" % v)
        a("\tjmp near exc_common")
        a("\tnop")
    a("exc_common:")
    a("\tmov dx, 0xe9")
    a("\tmov al, '!'")
    a("\tout dx, al")
    a("\tpop eax")
    a("\tor al, 0x40")
    a("\tout 0xf4, al")
    a("\tjmp $")
    a("\talign 8")
    a("gdt_rom:")
    for row in gdt_entries():
        lo, hi = descriptor(*row)
        a("\tdd 0x%08x, 0x%08x" % (lo, hi))
    a("gdt_rom_end:")
    a("gdt_ram_ptr:")
    a("\tdw gdt_rom_end - gdt_rom - 1")
    a("\tdd 0x%x" % GDT_RAM)
    a("gdt_rom_ptr:")
    a("\tdw gdt_rom_end - gdt_rom - 1")
    a("\tdd gdt_rom")
    a("idt_ptr:")
    a("\tdw 32 * 8 - 1")
    a("\tdd 0x%x" % IDT_RAM)
    return out


def reset_code():
    out = []
    a = out.append
    a("\ttimes 0xff00 - ($ - $$) db 0xcc")
    a("bits 16")
    a("entry16:")
    a("\tcli")
    a("\to32 lgdt [cs:gdt_rom_ptr - $$]")
    a("\tmov eax, cr0")
    a("\tor al, 1")
    a("\tmov cr0, eax")
    a("\tjmp dword 0x%x:pm_entry" % SEL_CODE0)
    a("\ttimes 0xfff0 - ($ - $$) db 0xcc")
    a("\tjmp entry16")
    a("\ttimes 0x10000 - ($ - $$) db 0xcc")
    return out


def generate(seed, insns, ring, block):
    rng = random.Random(seed * 4 + ring)
    s = Stream(rng, ring)
    s.block(block)
    loops = max(1, -(-insns // s.count))
    out = ["; random instruction stream: seed=%d insns=%d ring=%d block=%d loops=%d"
           % (seed, insns, ring, s.count, loops),
           "; generated by gen_random.py; do not edit"]
    out += setup_code(ring, loops, rng)
    out.append("\tjmp stream")
    out += tables()
    out.append("\talign 4")
    out.append("data_table:")
    data = [rng.getrandbits(32) for _ in range(DATA_TABLE_BYTES // 4)]
    for i in range(0, len(data), 8):
        out.append("\tdd " + ", ".join("0x%08x" % v for v in data[i:i + 8]))
    out.append("stream:")
    out.append(".top:")
    out += s.lines
    out.append("\tdec dword [0x%x]" % LOOP_CNT)
    out.append("\tjnz .top")
    out += epilogue()
    out += reset_code()
    return "\n".join(out) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1, help="random seed")
    ap.add_argument("--insns", type=int, default=100000,
                    help="minimum number of stream instructions to execute")
    ap.add_argument("--ring", type=int, choices=(0, 3), default=0,
                    help="privilege level the stream runs at")
    ap.add_argument("--block", type=int, default=5000,
                    help="instructions in the looped random block")
    ap.add_argument("-o", "--output", help="output .asm (default stdout)")
    args = ap.parse_args(argv)
    text = generate(args.seed, args.insns, args.ring, args.block)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
