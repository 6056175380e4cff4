"""Just enough i386 decoding to know what an instruction does to the flags.

The lockstep comparator needs two facts about each executed instruction:
which arithmetic flags it leaves architecturally undefined (so that the two
sides may legitimately disagree about them until something writes them
again), and whether it is a REP-prefixed string instruction (QEMU logs one
record per iteration).  Everything here follows the Intel SDM, Vol. 2
instruction pages and Vol. 1 Appendix A ("EFLAGS Cross-Reference").

decode(code, default32) parses prefixes, opcode, ModRM/SIB/displacement and
immediates; flag_effect(insn, before) returns (defined, undefined) masks.
"""

CF = 0x0001
PF = 0x0004
AF = 0x0010
ZF = 0x0040
SF = 0x0080
OF = 0x0800
ARITH = CF | PF | AF | ZF | SF | OF
LOGIC_DEF = CF | PF | ZF | SF | OF          # AND/OR/XOR/TEST: AF undefined
FLAG_NAMES = [(CF, "CF"), (PF, "PF"), (AF, "AF"), (ZF, "ZF"), (SF, "SF"), (OF, "OF")]

PREFIXES = {0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67, 0xF0, 0xF2, 0xF3}


def flag_names(mask):
    """'CF|AF' style text for a flag mask."""
    names = [n for bit, n in FLAG_NAMES if mask & bit]
    return "|".join(names) if names else "-"


def _set(*ranges):
    out = set()
    for r in ranges:
        if isinstance(r, tuple):
            out.update(range(r[0], r[1] + 1))
        else:
            out.add(r)
    return out


# one-byte opcodes followed by ModRM
MODRM1 = _set((0x00, 0x03), (0x08, 0x0B), (0x10, 0x13), (0x18, 0x1B), (0x20, 0x23),
              (0x28, 0x2B), (0x30, 0x33), (0x38, 0x3B), 0x62, 0x63, 0x69, 0x6B,
              (0x80, 0x8F), 0xC0, 0xC1, (0xC4, 0xC7), (0xD0, 0xD3), (0xD8, 0xDF),
              0xF6, 0xF7, 0xFE, 0xFF)
IMM8_1 = _set(0x04, 0x0C, 0x14, 0x1C, 0x24, 0x2C, 0x34, 0x3C, 0x6A, 0x6B, (0x70, 0x7F),
              0x80, 0x82, 0x83, 0xA8, (0xB0, 0xB7), 0xC0, 0xC1, 0xC6, 0xCD, 0xD4, 0xD5,
              (0xE0, 0xE7), 0xEB)
IMMZ_1 = _set(0x05, 0x0D, 0x15, 0x1D, 0x25, 0x2D, 0x35, 0x3D, 0x68, 0x69, 0x81, 0xA9,
              (0xB8, 0xBF), 0xC7, 0xE8, 0xE9)
# two-byte opcodes without ModRM
NOMODRM2 = _set(0x05, 0x06, 0x07, 0x08, 0x09, 0x0B, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
                (0x80, 0x8F), 0xA0, 0xA1, 0xA2, 0xA8, 0xA9, 0xAA, (0xC8, 0xCF), 0x77)
IMM8_2 = _set(0xA4, 0xAC, 0xBA, (0x70, 0x73), 0xC2, 0xC4, 0xC5, 0xC6)

STRING_OPS = _set((0x6C, 0x6F), (0xA4, 0xA7), (0xAA, 0xAF))


class Insn:
    """A decoded instruction: the fields the flag rules look at."""
    __slots__ = ("op", "two", "modrm", "reg", "mod", "opsize", "adsize", "imm8",
                 "rep", "length", "ok")

    def __init__(self):
        self.op = None
        self.two = False
        self.modrm = None
        self.reg = 0
        self.mod = 0
        self.opsize = 32
        self.adsize = 32
        self.imm8 = None
        self.rep = None
        self.length = 0
        self.ok = False

    def is_rep_string(self):
        return self.ok and not self.two and self.rep is not None and self.op in STRING_OPS


def _modrm_len(code, i, adsize):
    """Bytes used by ModRM + SIB + displacement starting at code[i]."""
    modrm = code[i]
    mod, rm = modrm >> 6, modrm & 7
    n = 1
    if mod == 3:
        return n
    if adsize == 32:
        if rm == 4:
            sib = code[i + 1]
            n += 1
            if mod == 0 and (sib & 7) == 5:
                n += 4
        elif mod == 0 and rm == 5:
            n += 4
        n += {0: 0, 1: 1, 2: 4}[mod]
    else:
        if mod == 0 and rm == 6:
            n += 2
        n += {0: 0, 1: 1, 2: 2}[mod]
    return n


def decode(code, default32=True):
    """Decode the instruction at the start of CODE (bytes).

    Returns an Insn; insn.ok is False when CODE is too short or empty, in
    which case the caller must assume nothing about the instruction.
    """
    d = Insn()
    opsize = 32 if default32 else 16
    adsize = opsize
    try:
        i = 0
        while code[i] in PREFIXES:
            p = code[i]
            if p == 0x66:
                opsize = 48 - opsize
            elif p == 0x67:
                adsize = 48 - adsize
            elif p in (0xF2, 0xF3):
                d.rep = p
            i += 1
            if i > 14:
                return d
        op = code[i]
        i += 1
        if op == 0x0F:
            d.two = True
            op = code[i]
            i += 1
            has_modrm = op not in NOMODRM2
        else:
            has_modrm = op in MODRM1
        d.op = op
        d.opsize = opsize
        d.adsize = adsize
        if has_modrm:
            d.modrm = code[i]
            d.reg = (d.modrm >> 3) & 7
            d.mod = d.modrm >> 6
            i += _modrm_len(code, i, adsize)
        zsize = 4 if opsize == 32 else 2
        if d.two:
            if op in IMM8_2:
                d.imm8 = code[i]
                i += 1
            elif 0x80 <= op <= 0x8F:
                i += zsize
        else:
            if op in IMM8_1:
                d.imm8 = code[i]
                i += 1
            elif op in IMMZ_1:
                i += zsize
            elif op in (0xC2, 0xCA):
                i += 2
            elif op == 0xC8:
                i += 3
            elif op in (0x9A, 0xEA):
                i += zsize + 2
            elif 0xA0 <= op <= 0xA3:
                i += 4 if adsize == 32 else 2
            elif op == 0xF6 and d.reg in (0, 1):
                d.imm8 = code[i]
                i += 1
            elif op == 0xF7 and d.reg in (0, 1):
                i += zsize
        if i > len(code):
            return d
        d.length = i
        d.ok = True
    except IndexError:
        d.ok = False
    return d


def _width(insn, byte_form):
    return 8 if byte_form else insn.opsize


def _shift_effect(kind, width, count):
    """Flags after a group-2 shift/rotate of WIDTH bits by COUNT (pre-mask).

    kind: 0 ROL, 1 ROR, 2 RCL, 3 RCR, 4 SHL, 5 SHR, 6 SAL, 7 SAR.
    """
    c = count & 0x1F
    if c == 0:
        return 0, 0                      # masked count 0: flags unaffected
    of_def = OF if c == 1 else 0
    of_und = 0 if c == 1 else OF
    if kind in (0, 1):                   # ROL/ROR: CF, OF(count 1)
        return CF | of_def, of_und
    if kind in (2, 3):                   # RCL/RCR rotate through CF
        t = c % (width + 1) if width < 32 else c
        return (CF if t else 0) | of_def, of_und
    # SHL/SHR/SAL/SAR: CF undefined when the count reaches the width
    defs = SF | ZF | PF | of_def
    undefs = AF | of_und
    if c < width:
        defs |= CF
    else:
        undefs |= CF
    return defs, undefs


def flag_effect(insn, ecx):
    """(defined, undefined) arithmetic-flag masks written by INSN.

    ECX is the register value before the instruction (shift counts in CL,
    REP counts).  Flags in neither mask keep their previous state.  An
    instruction that could not be decoded writes nothing.
    """
    if not insn.ok:
        return 0, 0
    op, reg = insn.op, insn.reg
    if insn.two:
        return _flag_effect_0f(insn, op, reg, ecx)
    if op < 0x40 and (op & 7) < 6:
        alu = op >> 3                    # ADD OR ADC SBB AND SUB XOR CMP
        return (LOGIC_DEF, AF) if alu in (1, 4, 6) else (ARITH, 0)
    if op in (0x27, 0x2F):               # DAA DAS
        return CF | AF | SF | ZF | PF, OF
    if op in (0x37, 0x3F):               # AAA AAS
        return AF | CF, OF | SF | ZF | PF
    if 0x40 <= op <= 0x4F:               # INC DEC r
        return ARITH & ~CF, 0
    if op in (0x69, 0x6B):               # IMUL r, r/m, imm
        return CF | OF, SF | ZF | AF | PF
    if 0x80 <= op <= 0x83:
        return (LOGIC_DEF, AF) if reg in (1, 4, 6) else (ARITH, 0)
    if op in (0x84, 0x85, 0xA8, 0xA9):   # TEST
        return LOGIC_DEF, AF
    if op == 0x63:                       # ARPL
        return ZF, 0
    if op == 0x9E:                       # SAHF
        return SF | ZF | AF | PF | CF, 0
    if op in (0xA6, 0xA7, 0xAE, 0xAF):   # CMPS SCAS
        count = ecx if insn.adsize == 32 else ecx & 0xFFFF
        if insn.rep is not None and count == 0:
            return 0, 0
        return ARITH, 0
    if op in (0xC0, 0xC1, 0xD0, 0xD1, 0xD2, 0xD3):
        width = _width(insn, op in (0xC0, 0xD0, 0xD2))
        if op in (0xC0, 0xC1):
            count = insn.imm8
        elif op in (0xD0, 0xD1):
            count = 1
        else:
            count = ecx & 0xFF
        return _shift_effect(reg, width, count)
    if op in (0xD4, 0xD5):               # AAM AAD
        return SF | ZF | PF, OF | AF | CF
    if op in (0xF5, 0xF8, 0xF9):         # CMC CLC STC
        return CF, 0
    if op in (0xF6, 0xF7):
        if reg in (0, 1):                # TEST
            return LOGIC_DEF, AF
        if reg == 3:                     # NEG
            return ARITH, 0
        if reg in (4, 5):                # MUL IMUL
            return CF | OF, SF | ZF | AF | PF
        if reg in (6, 7):                # DIV IDIV
            return 0, ARITH
        return 0, 0                      # NOT
    if op in (0xFE, 0xFF) and reg in (0, 1):
        return ARITH & ~CF, 0            # INC DEC r/m
    return 0, 0


def _flag_effect_0f(insn, op, reg, ecx):
    if op in (0x02, 0x03):               # LAR LSL
        return ZF, 0
    if op == 0x00 and reg in (4, 5):     # VERR VERW
        return ZF, 0
    if op in (0xA3, 0xAB, 0xB3, 0xBB) or (op == 0xBA and reg >= 4):
        return CF, OF | SF | AF | PF     # BT*: ZF unaffected (SDM Vol. 2A)
    if op in (0xA4, 0xA5, 0xAC, 0xAD):   # SHLD SHRD
        count = (insn.imm8 if op in (0xA4, 0xAC) else ecx) & 0x1F
        if count == 0:
            return 0, 0
        if count > insn.opsize:
            return 0, ARITH              # result and flags undefined
        return (CF | SF | ZF | PF | (OF if count == 1 else 0),
                AF | (0 if count == 1 else OF))
    if op == 0xAF:                       # IMUL r, r/m
        return CF | OF, SF | ZF | AF | PF
    if op in (0xB0, 0xB1, 0xC0, 0xC1):   # CMPXCHG XADD
        return ARITH, 0
    if op == 0xC7 and reg == 1:          # CMPXCHG8B
        return ZF, 0
    if op in (0xBC, 0xBD):               # BSF BSR
        return ZF, CF | OF | SF | AF | PF
    return 0, 0
