#!/usr/bin/env python3
"""gen_alu_cases.py - write alu_cases.inc, the case table of alu.asm.

An independent model of the i386 integer ALU (written from the pseudo-code
of the Intel SDM, vol. 2) computes, for every case, the expected EAX, EDX
and EFLAGS, and a mask of the flags the manual defines for that case, so
alu.rom never depends on an undefined flag or result. The output is
committed; rerun after changing the model or the case list:

    python3 gen_alu_cases.py > alu_cases.inc
"""

CF, PF, AF, ZF, SF, OF = 1, 4, 0x10, 0x40, 0x80, 0x800
ARITH = CF | PF | AF | ZF | SF | OF
FIXED = 2  # EFLAGS bit 1 always reads as 1


def parity(x):
    return PF if bin(x & 0xFF).count("1") % 2 == 0 else 0


def szp(r, w):
    f = parity(r)
    if r == 0:
        f |= ZF
    if r >> (w - 1) & 1:
        f |= SF
    return f


def msk(w):
    return (1 << w) - 1


def sx(v, w):
    v &= msk(w)
    return v - (1 << w) if v >> (w - 1) else v


class Case:
    """One row: stub, inputs, expected outputs, defined-flag mask."""

    def __init__(self, stub, a, b, d, fin, ea, ed, ef, fmask, amask=0xFFFFFFFF, note=""):
        self.stub, self.a, self.b, self.d, self.fin = stub, a, b, d, fin | FIXED
        self.ea, self.ed, self.ef, self.fmask, self.amask = ea, ed, ef, fmask, amask
        self.note = note


def setlow(full, v, w):
    """Write the low w bits of register `full` (8/16/32-bit sub-register)."""
    return (full & ~msk(w) & 0xFFFFFFFF) | (v & msk(w))


# ---- the model -------------------------------------------------------------

def add(a, b, c, w):
    r = (a & msk(w)) + (b & msk(w)) + c
    res = r & msk(w)
    f = szp(res, w)
    if r >> w:
        f |= CF
    if ((a ^ res) & (b ^ res)) >> (w - 1) & 1:
        f |= OF
    if (a ^ b ^ res) & 0x10:
        f |= AF
    return res, f


def sub(a, b, c, w):
    a &= msk(w)
    b &= msk(w)
    r = a - b - c
    res = r & msk(w)
    f = szp(res, w)
    if r < 0:
        f |= CF
    if ((a ^ b) & (a ^ res)) >> (w - 1) & 1:
        f |= OF
    if (a ^ b ^ res) & 0x10:
        f |= AF
    return res, f


def logic(op, a, b, w):
    res = {"and": a & b, "or": a | b, "xor": a ^ b}[op] & msk(w)
    return res, szp(res, w)


# ---- case builders ----------------------------------------------------------

REG = {8: "al", 16: "ax", 32: "eax"}
REGB = {8: "bl", 16: "bx", 32: "ebx"}
REGD = {8: "dl", 16: "dx", 32: "edx"}
stubs = []    # (id, asm lines)
cases = []


def stub(name, *lines):
    if name not in [s[0] for s in stubs]:
        stubs.append((name, lines))
    return name


def binop_cases():
    vals = {
        8: [(0, 0), (0x7F, 1), (0xFF, 1), (0x80, 0x80), (0x0F, 1), (0x80, 1), (0x55, 0xAA), (0x12, 0x34)],
        16: [(0, 0), (0x7FFF, 1), (0xFFFF, 1), (0x8000, 0x8000), (0x00FF, 1), (0x8000, 1), (0x1234, 0xEDCC)],
        32: [(0, 0), (0x7FFFFFFF, 1), (0xFFFFFFFF, 1), (0x80000000, 0x80000000), (0x0000FFFF, 1),
             (0x80000000, 1), (0x12345678, 0x9ABCDEF0), (0xFFFFFFFF, 0xFFFFFFFF)],
    }
    hi = 0xA5A5A500  # junk in the upper bits of EAX: a narrow op must keep it
    for w in (8, 16, 32):
        A, B = REG[w], REGB[w]
        for op in ("add", "adc", "sub", "sbb", "cmp", "and", "or", "xor", "test"):
            s = stub(f"{op}{w}", f"{op} {A}, {B}")
            for (a, b) in vals[w]:
                for cin in ((0, 1) if op in ("adc", "sbb") else (0,)):
                    ain = setlow(hi, a, w) if w < 32 else a
                    fin = CF if cin else 0
                    if op in ("add", "adc"):
                        r, f = add(a, b, cin, w)
                        mask = ARITH
                    elif op in ("sub", "sbb", "cmp"):
                        r, f = sub(a, b, cin, w)
                        mask = ARITH
                    else:
                        r, f = logic("and" if op == "test" else op, a, b, w)
                        mask = ARITH & ~AF
                    if op in ("cmp", "test"):
                        r = a
                    cases.append(Case(s, ain, b, 0, fin, setlow(ain, r, w), 0, f, mask))
        # INC/DEC keep CF: run with CF=1 and CF=0
        for op in ("inc", "dec", "neg", "not"):
            s = stub(f"{op}{w}", f"{op} {A}")
            for a in (0, 1, 0x7F, 0x80, 0x0F, 0x10, msk(w), 1 << (w - 1), (1 << (w - 1)) - 1):
                for fin in ((CF, 0) if op in ("inc", "dec") else (0,)):
                    ain = setlow(hi, a, w) if w < 32 else a
                    if op == "inc":
                        r, f = add(a, 1, 0, w)
                        f = (f & ~CF) | (fin & CF)
                    elif op == "dec":
                        r, f = sub(a, 1, 0, w)
                        f = (f & ~CF) | (fin & CF)
                    elif op == "neg":
                        r, f = sub(0, a, 0, w)
                    else:
                        fin = ARITH          # NOT changes no flag at all
                        r, f = (~a) & msk(w), ARITH
                    cases.append(Case(s, ain, 0, 0, fin, setlow(ain, r, w), 0, f, ARITH))


def shift(op, a, cnt, w, cin):
    """Return (result, flags, mask) for SHL/SHR/SAR/ROL/ROR/RCL/RCR by cnt."""
    a &= msk(w)
    c = cnt & 0x1F
    fin = cin
    if c == 0:
        return a, fin, ARITH
    if op in ("shl", "shr", "sar"):
        if op == "shl":
            r = (a << c) & msk(w)
            cf = (a >> (w - c)) & 1 if c <= w else 0
            of = ((r >> (w - 1)) & 1) ^ cf
        elif op == "shr":
            r = a >> c if c < w else 0
            cf = (a >> (c - 1)) & 1 if c <= w else 0
            of = a >> (w - 1) & 1
        else:
            s = sx(a, w)
            r = (s >> min(c, w)) & msk(w)
            cf = (s >> (c - 1)) & 1 if c <= w else (a >> (w - 1)) & 1
            of = 0
        f = szp(r, w) | (CF if cf else 0) | (OF if of else 0)
        mask = SF | ZF | PF | CF
        if c == 1:
            mask |= OF
        if c >= w:
            mask &= ~CF      # the last bit shifted out is undefined
        return r, f, mask
    if op in ("rol", "ror"):
        t = c % w
        r = ((a << t) | (a >> (w - t))) & msk(w) if op == "rol" else ((a >> t) | (a << (w - t))) & msk(w)
        if op == "rol":
            cf = r & 1
            of = (r >> (w - 1) & 1) ^ cf
        else:
            cf = r >> (w - 1) & 1
            of = (r >> (w - 1) & 1) ^ (r >> (w - 2) & 1)
        f = (fin & (SF | ZF | AF | PF)) | (CF if cf else 0) | (OF if of else 0)
        mask = SF | ZF | AF | PF | CF | (OF if c == 1 else 0)
        return r, f, mask
    # RCL/RCR rotate the (w+1)-bit value CF:dest
    t = c % (w + 1) if w < 32 else c
    cf = 1 if fin & CF else 0
    v = a
    orig_msb = a >> (w - 1) & 1
    for _ in range(t):
        if op == "rcl":
            nc = v >> (w - 1) & 1
            v = ((v << 1) | cf) & msk(w)
        else:
            nc = v & 1
            v = (v >> 1) | (cf << (w - 1))
        cf = nc
    if op == "rcl":
        of = (v >> (w - 1) & 1) ^ cf
    else:
        of = orig_msb ^ (1 if fin & CF else 0)
    f = (fin & (SF | ZF | AF | PF)) | (CF if cf else 0) | (OF if of else 0)
    mask = SF | ZF | AF | PF | CF | (OF if c == 1 else 0)
    return v, f, mask


def shift_cases():
    pats = {8: (0x81, 0x40), 16: (0x8001, 0x4000), 32: (0x80000001, 0x40000000)}
    for w in (8, 16, 32):
        A = REG[w]
        full = sorted({0, 1, 4, w - 1, w, w + 1, 31, 32, 33})
        for op in ("shl", "shr", "sar", "rol", "ror", "rcl", "rcr"):
            s = stub(f"{op}{w}", f"{op} {A}, cl")
            s1 = stub(f"{op}{w}_1", f"{op} {A}, 1")
            runs = [(pats[w][0], c) for c in full] + [(pats[w][1], c) for c in (1, 2, w - 1)]
            for i, (a, cnt) in enumerate(runs):
                # RCL/RCR alternate the incoming carry; the others must keep
                # SZAP when they are unaffected (count 0, rotates)
                cin = (CF if i % 2 else 0) if op in ("rcl", "rcr") else (ZF | PF)
                r, f, m = shift(op, a, cnt, w, cin)
                cases.append(Case(s, a, cnt, 0, cin, r, 0, f, m))
            r, f, m = shift(op, pats[w][0], 1, w, CF)
            cases.append(Case(s1, pats[w][0], 1, 0, CF, r, 0, f, m))


def dshift_cases():
    for w in (16, 32):
        A, D = REG[w], REGD[w]
        for op in ("shld", "shrd"):
            s = stub(f"{op}{w}", f"{op} {A}, {D}, cl")
            for (a, d) in ((0x8001 if w == 16 else 0x80000001, 0xC003 if w == 16 else 0xC0000003),
                           (0x1234 if w == 16 else 0x12345678, 0xABCD if w == 16 else 0x9ABCDEF0)):
                for cnt in sorted({0, 1, 4, w // 2, w - 1, 32, 33} - ({17, 31, 32, 33} if w == 16 else set()) | ({16} if w == 16 else set())):
                    c = cnt & 0x1F
                    if c == 0:
                        cases.append(Case(s, a, cnt, d, ZF, a, d, ZF, ARITH))
                        continue
                    if op == "shld":
                        r = ((a << c) | (d >> (w - c))) & msk(w)
                        cf = (a >> (w - c)) & 1
                    else:
                        r = ((a >> c) | (d << (w - c))) & msk(w)
                        cf = (a >> (c - 1)) & 1
                    of = (r ^ a) >> (w - 1) & 1
                    f = szp(r, w) | (CF if cf else 0) | (OF if of else 0)
                    m = SF | ZF | PF | CF | (OF if c == 1 else 0)
                    cases.append(Case(s, a, cnt, d, 0, r, d, f, m))


def muldiv_cases():
    for w in (8, 16, 32):
        A, B = REG[w], REGB[w]
        smul = stub(f"mul{w}", f"mul {B}")
        simul = stub(f"imul{w}", f"imul {B}")
        sdiv = stub(f"div{w}", f"div {B}")
        sidiv = stub(f"idiv{w}", f"idiv {B}")
        for (a, b) in ((0, 5), (3, 4), (msk(w), msk(w)), (1 << (w - 1), 2), (msk(w) >> 1, 3), (msk(w), 1)):
            # unsigned
            p = a * b
            if w == 8:
                ea, ed = setlow(0, p, 16), 0
                of = p >> 8 != 0
            else:
                ea, ed = p & msk(w), (p >> w) & msk(w)
                of = ed != 0
            f = (CF | OF) if of else 0
            cases.append(Case(smul, a, b, 0, 0, ea, ed, f, CF | OF))
            # signed
            p = sx(a, w) * sx(b, w)
            if w == 8:
                ea, ed = p & 0xFFFF, 0
            else:
                ea, ed = p & msk(w), (p >> w) & msk(w)
            of = sx(p, w) != p
            f = (CF | OF) if of else 0
            cases.append(Case(simul, a, b, 0, 0, ea, ed, f, CF | OF))
        # division: dividend is AX / DX:AX / EDX:EAX
        for (hi_, lo, b) in ((0, 100, 7), (0, msk(w), 1), (0, 0, 3), (1, 0, 2), (0, 12345 & msk(w), 10),
                             (msk(w - 1), msk(w), msk(w))):
            if w == 8:
                n = ((hi_ & 0xFF) << 8) | (lo & 0xFF)
            else:
                n = (hi_ << w) | lo
            q, r = divmod(n, b)
            if q <= msk(w):
                if w == 8:
                    cases.append(Case(sdiv, n, b, 0, 0, (r << 8) | q, 0, 0, 0))
                else:
                    cases.append(Case(sdiv, lo, b, hi_, 0, q, r, 0, 0))
        for (n, b) in ((100, 7), (-100, 7), (100, -7), (-100, -7), (-1, 2), (7, -1)):
            q = abs(n) // abs(b) * (1 if (n < 0) == (b < 0) else -1)
            r = n - q * b
            if w == 8:
                cases.append(Case(sidiv, n & 0xFFFF, b & 0xFF, 0, 0, ((r & 0xFF) << 8) | (q & 0xFF), 0, 0, 0))
            else:
                dd = n & msk(2 * w)
                cases.append(Case(sidiv, dd & msk(w), b & msk(w), dd >> w, 0, q & msk(w), r & msk(w), 0, 0))
    for w in (16, 32):
        A, B = REG[w], REGB[w]
        s2 = stub(f"imul{w}_rr", f"imul {A}, {B}")
        s3 = stub(f"imul{w}_rri8", f"imul {A}, {B}, -3")
        s4 = stub(f"imul{w}_rri", f"imul {A}, {B}, 1000")
        for (a, b) in ((3, 4), (msk(w), msk(w)), (1 << (w - 2), 4), (msk(w) >> 1, 2), (0x1234, 0x100)):
            for s, k in ((s2, None), (s3, -3), (s4, 1000)):
                x, y = (sx(a, w), sx(b, w)) if k is None else (sx(b, w), k)
                p = x * y
                of = sx(p, w) != p
                f = (CF | OF) if of else 0
                # the two- and three-operand forms write only the destination
                cases.append(Case(s, a, b, 0, 0, p & msk(w), 0, f, CF | OF))


def bcd_cases():
    sdaa = stub("daa", "daa")
    sdas = stub("das", "das")
    saaa = stub("aaa", "aaa")
    saas = stub("aas", "aas")
    saam = stub("aam", "aam")
    saam7 = stub("aam7", "aam 7")
    saad = stub("aad", "aad")
    saad7 = stub("aad7", "aad 7")
    for al, fin in ((0x09, 0), (0x0A, 0), (0x19, AF), (0x99, 0), (0x9A, 0), (0xA0, 0), (0x00, CF), (0xFF, 0),
                    (0x03, AF), (0x66, CF | AF), (0x80, 0)):
        # DAA
        a, cf, af = al, 0, 0
        old_al, old_cf = al, fin & CF
        if (a & 0x0F) > 9 or fin & AF:
            cf = 1 if (old_cf or a + 6 > 0xFF) else 0
            a = (a + 6) & 0xFF
            af = 1
        if old_al > 0x99 or old_cf:
            a = (a + 0x60) & 0xFF
            cf = 1
        else:
            cf = 0
        f = szp(a, 8) | (CF if cf else 0) | (AF if af else 0)
        cases.append(Case(sdaa, 0x1200 | al, 0, 0, fin, 0x1200 | a, 0, f, ARITH & ~OF))
        # DAS
        a, cf, af = al, 0, 0
        if (a & 0x0F) > 9 or fin & AF:
            cf = 1 if (old_cf or a < 6) else 0
            a = (a - 6) & 0xFF
            af = 1
        if old_al > 0x99 or old_cf:
            a = (a - 0x60) & 0xFF
            cf = 1
        f = szp(a, 8) | (CF if cf else 0) | (AF if af else 0)
        cases.append(Case(sdas, 0x1200 | al, 0, 0, fin, 0x1200 | a, 0, f, ARITH & ~OF))
        # AAA / AAS (AX +/- 0x106 form of current processors)
        ax = 0x1200 | al
        if (al & 0x0F) > 9 or fin & AF:
            r = (ax + 0x106) & 0xFFFF
            f = AF | CF
        else:
            r, f = ax, 0
        r = r & 0xFF0F
        cases.append(Case(saaa, ax, 0, 0, fin, r, 0, f, AF | CF))
        if (al & 0x0F) > 9 or fin & AF:
            r = (ax - 6) & 0xFFFF
            r = (r - 0x100) & 0xFFFF
            f = AF | CF
        else:
            r, f = ax, 0
        r = r & 0xFF0F
        cases.append(Case(saas, ax, 0, 0, fin, r, 0, f, AF | CF))
    for ax in (0x0000, 0x0063, 0x00FF, 0x1263, 0x0909, 0x0A0B, 0xFFFF):
        al, ah = ax & 0xFF, ax >> 8
        for s, base in ((saam, 10), (saam7, 7)):
            r = ((al // base) << 8) | (al % base)
            cases.append(Case(s, ax, 0, 0, 0, r, 0, szp(r & 0xFF, 8), SF | ZF | PF))
        for s, base in ((saad, 10), (saad7, 7)):
            r = (al + ah * base) & 0xFF
            cases.append(Case(s, ax, 0, 0, 0, r, 0, szp(r, 8), SF | ZF | PF))


def bit_cases():
    for w in (16, 32):
        A, B = REG[w], REGB[w]
        for op in ("bt", "bts", "btr", "btc"):
            s = stub(f"{op}{w}", f"{op} {A}, {B}")
            for a in (0x00000000 & msk(w), 0x80000001 & msk(w), 0x5A5A5A5A & msk(w)):
                for bit in (0, 1, w - 1, w, w + 3, 0xFFFF):
                    n = bit % w
                    old = a >> n & 1
                    r = {"bt": a, "bts": a | 1 << n, "btr": a & ~(1 << n), "btc": a ^ 1 << n}[op] & msk(w)
                    cases.append(Case(s, a, bit, 0, 0, r, 0, CF if old else 0, CF))
        for op in ("bsf", "bsr"):
            s = stub(f"{op}{w}", f"{op} {A}, {B}")
            for b in (0, 1, 0x80000000 & msk(w), 0x00F0, 0x8001, msk(w)):
                if b == 0:
                    # destination undefined (AMD: unchanged): only ZF is checked
                    cases.append(Case(s, 0x1111, b, 0, 0, 0, 0, ZF, ZF, amask=0))
                    continue
                idx = (b & -b).bit_length() - 1 if op == "bsf" else b.bit_length() - 1
                cases.append(Case(s, 0x1111, b, 0, ZF, idx, 0, 0, ZF, amask=msk(w)))


def xchg_cases():
    for w in (8, 16, 32):
        A, B, D = REG[w], REGB[w], REGD[w]
        # EDX comes back as the new EBX
        s = stub(f"xadd{w}", f"xadd {A}, {B}", "mov edx, ebx")
        for (a, b) in ((1, 2), (msk(w), 1), (1 << (w - 1), 1 << (w - 1))):
            r, f = add(a, b, 0, w)
            cases.append(Case(s, a, b, 0, 0, r, a, f, ARITH))
        # CMPXCHG B, D: if acc == B then B = D (ZF=1) else acc = B (ZF=0)
        s = stub(f"cmpxchg{w}", f"cmpxchg {B}, {D}", "mov edx, ebx")
        for (a, b, d) in ((5, 5, 9), (5, 6, 9), (0, msk(w), 1)):
            _, f = sub(a, b, 0, w)
            if a == b:
                cases.append(Case(s, a, b, d, 0, a, d, f, ARITH))
            else:
                cases.append(Case(s, a, b, d, 0, b, b, f, ARITH))


binop_cases()
shift_cases()
dshift_cases()
muldiv_cases()
bcd_cases()
bit_cases()
xchg_cases()

ids = {name: i for i, (name, _) in enumerate(stubs)}
print("; alu_cases.inc - GENERATED by gen_alu_cases.py; do not edit by hand.")
print(";")
print("; ALU_STUBS: one tiny routine per instruction form (assembled once for")
print(";   real mode and once for protected mode).")
print("; alu_stub_names: their printable names.")
print("; alu_cases: one row per case (ALU_ROW bytes):")
print(";   dw stub (bit 15: EAX is undefined, do not check it), EFLAGS in,")
print(";      expected EFLAGS (defined bits only), mask of the defined flags")
print(";   dd EAX in, EBX = ECX in, EDX in, expected EAX, expected EDX")
print("ALU_ROW equ 28")
print(f"ALU_STUB_COUNT equ {len(stubs)}")
print(f"ALU_CASE_COUNT equ {len(cases)}")
print()
print("%macro ALU_STUBS 1   ; %1 = prefix of the table label")
print("%1_table:")
for name, _ in stubs:
    print(f"        dw %1_{name} - $$")
for name, lines in stubs:
    print(f"%1_{name}:")
    for ln in lines:
        print(f"        {ln}")
    print("        ret")
print("%endmacro")
print()
print("alu_stub_names:")
for name, _ in stubs:
    print(f"        dw .{name} - $$")
for name, _ in stubs:
    print(f".{name}: db \"{name}\", 0")
print()
print("        align 4")
print("alu_cases:")
for c in cases:
    sid = ids[c.stub] | (0x8000 if c.amask == 0 else 0)
    assert c.amask in (0, 0xFFFFFFFF) or c.amask == msk(16) or c.amask == msk(32)
    words = f"        dw {sid:3d}, 0x{c.fin:04X}, 0x{(c.ef & c.fmask):04X}, 0x{c.fmask:04X}"
    dwords = "        dd " + ", ".join(f"0x{x & 0xFFFFFFFF:08X}" for x in (c.a, c.b, c.d, c.ea, c.ed))
    print(words + f"  ; {c.stub}")
    print(dwords)
print("alu_cases_end:")
