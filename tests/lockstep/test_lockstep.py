#!/usr/bin/env python3
"""Unit tests of the lockstep harness itself (no QEMU, no nestlab needed).

Synthetic traces check the decoder, the undefined-flag mask, the taint that
follows undefined flags through PUSHF/POP, REP collapsing, the fetch-fault
alignment and the deviation rules.
"""

import os
import sys
import unittest

sys.dont_write_bytecode = True     # keep the source tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lockstep  # noqa: E402
import x86flags  # noqa: E402
from x86flags import AF, CF, OF, PF, SF, ZF  # noqa: E402

FLAT = dict(eip=0x1000, eax=0, ecx=0, edx=0, ebx=0, esp=0x9000, ebp=0, esi=0, edi=0,
            efl=0x2, cs=0x08, ss=0x10, ds=0x10, es=0x10, fs=0x10, gs=0x10,
            cr0=0x11, cr2=0, cr3=0, cr4=0, cpl=0)


def rec(n, code=b"", **kw):
    """A record: FLAT state changed by KW, carrying CODE as QEMU would."""
    d = dict(FLAT, **kw)
    r = lockstep.Record(n, tuple(d[f] for f in lockstep.FIELDS))
    r.cs_base = 0
    r.code = code
    return r


def run(qrecs, nrecs):
    comp = lockstep.Comparator(b"", 4)
    return comp.run(iter(qrecs), iter(nrecs)), comp


class Decode(unittest.TestCase):
    def test_lengths(self):
        cases = [
            (b"\x8b\x4c\x24\x05", 4),                   # mov ecx, [esp+5]
            (b"\x66\x0f\xac\x44\x8d\x3c\x0a", 7),       # shrd [ebp+ecx*4+0x3c], ax, 10
            (b"\xf0\x65\x0f\xc7\x0d\x64\x01\x02\x00", 9),  # lock cmpxchg8b [gs:0x20164]
            (b"\x64\x67\x23\x86\x87\x8a", 6),           # and eax, [fs:bp-0x7579]
            (b"\x81\x9d\x27\x66\x00\x00\x11\x68\x3e\xe4", 10),
            (b"\xc1\xa4\xfd\xbc\xce\xff\xff\x20", 8),   # shl dword [...], 0x20
        ]
        for code, n in cases:
            d = x86flags.decode(code + b"\x90" * 4)
            self.assertTrue(d.ok, code.hex())
            self.assertEqual(d.length, n, code.hex())

    def test_rep_string(self):
        self.assertTrue(x86flags.decode(b"\xf3\xa5").is_rep_string())
        self.assertTrue(x86flags.decode(b"\xf3\x67\xa4").is_rep_string())
        self.assertFalse(x86flags.decode(b"\xa5").is_rep_string())
        self.assertFalse(x86flags.decode(b"\xf3\x90").is_rep_string())

    def test_flag_effects(self):
        def eff(code, ecx=0, default32=True):
            return x86flags.flag_effect(x86flags.decode(code + b"\x90" * 4, default32), ecx)
        self.assertEqual(eff(b"\x21\xd8"), (CF | PF | ZF | SF | OF, AF))       # and eax, ebx
        self.assertEqual(eff(b"\xf7\xe3"), (CF | OF, SF | ZF | AF | PF))       # mul ebx
        self.assertEqual(eff(b"\xd3\xe0", ecx=0x20), (0, 0))                   # shl eax, cl=32
        self.assertEqual(eff(b"\xd3\xe0", ecx=1), (SF | ZF | PF | OF | CF, AF))
        self.assertEqual(eff(b"\xc0\xe0\x08"), (SF | ZF | PF, AF | CF | OF))   # shl al, 8
        self.assertEqual(eff(b"\xd0\xd0"), (CF | OF, 0))                       # rcl al, 1
        self.assertEqual(eff(b"\xc0\xd0\x09"), (0, OF))                        # rcl al, 9
        self.assertEqual(eff(b"\x0f\xbc\xc1"), (ZF, CF | OF | SF | AF | PF))   # bsf eax, ecx
        self.assertEqual(eff(b"\x0f\xa3\xc8"), (CF, OF | SF | AF | PF))        # bt eax, ecx
        self.assertEqual(eff(b"\xf3\xa6", ecx=0), (0, 0))                      # repe cmpsb, ecx=0
        self.assertEqual(eff(b"\xf7\xf3"), (0, CF | OF | SF | ZF | AF | PF))   # div ebx


class Compare(unittest.TestCase):
    def test_identical(self):
        q = [rec(0), rec(1, eip=0x1001)]
        (status, lines), _ = run(q, [rec(0), rec(1, eip=0x1001)])
        self.assertEqual(status, 0, lines)

    def test_register_difference(self):
        q = [rec(0, b"\x40"), rec(1, eip=0x1001, eax=1)]
        n = [rec(0), rec(1, eip=0x1001, eax=2)]
        (status, lines), _ = run(q, n)
        self.assertEqual(status, 1)
        self.assertTrue(any("eax" in line and "differs" in line for line in lines), lines)

    def test_undefined_af_after_and_is_masked(self):
        q = [rec(0, b"\x21\xd8"), rec(1, b"\x90", eip=0x1002, efl=0x2), rec(2, eip=0x1003)]
        n = [rec(0), rec(1, eip=0x1002, efl=0x12), rec(2, eip=0x1003, efl=0x12)]
        (status, lines), _ = run(q, n)
        self.assertEqual(status, 0, lines)      # AF stays undefined across the NOP

    def test_defined_cf_after_and_is_compared(self):
        q = [rec(0, b"\x21\xd8"), rec(1, eip=0x1002, efl=0x2)]
        n = [rec(0), rec(1, eip=0x1002, efl=0x3)]
        (status, _), _ = run(q, n)
        self.assertEqual(status, 1)

    def test_mask_cleared_when_flag_defined_again(self):
        q = [rec(0, b"\x21\xd8"), rec(1, b"\x01\xd8", eip=0x1002), rec(2, eip=0x1004)]
        n = [rec(0), rec(1, eip=0x1002, efl=0x12), rec(2, eip=0x1004, efl=0x12)]
        (status, _), _ = run(q, n)
        self.assertEqual(status, 1)             # ADD defines AF again

    def test_pushf_pop_taint(self):
        # mul ebx (SF undefined); pushfd; pop edi; nop: EDI bit 7 may differ
        q = [rec(0, b"\xf7\xe3"), rec(1, b"\x9c", eip=0x1002),
             rec(2, b"\x5f", eip=0x1003, esp=0x8ffc),
             rec(3, b"\x90", eip=0x1004, edi=0x02), rec(4, eip=0x1005, edi=0x02)]
        n = [rec(0), rec(1, eip=0x1002, efl=0x82), rec(2, eip=0x1003, esp=0x8ffc, efl=0x82),
             rec(3, eip=0x1004, edi=0x82, efl=0x82), rec(4, eip=0x1005, edi=0x82, efl=0x82)]
        (status, lines), _ = run(q, n)
        self.assertEqual(status, 0, lines)

    def test_rep_iterations_collapse(self):
        rep = b"\xf3\xa5"
        q = [rec(0, rep, ecx=3), rec(1, rep, ecx=2), rec(2, rep, ecx=1),
             rec(3, eip=0x1002, ecx=0)]
        n = [rec(0, ecx=3), rec(1, eip=0x1002, ecx=0)]
        (status, lines), _ = run(q, n)
        self.assertEqual(status, 0, lines)

    def test_fetch_fault_record(self):
        jmp = b"\xff\xe0"
        q = [rec(0, jmp, eax=0x800000), rec(1, eip=0x2000, eax=0x800000, esp=0x8ff0)]
        q[1].events = ("0: v=0e e=0000 i=0 cpl=0 IP=0008:00800000 pc=00800000",)
        dump = dict(FLAT, eip=0x800000, eax=0x800000, cr2=0x800000)
        q[1].event_states = (tuple(dump[f] for f in lockstep.FIELDS),)
        n = [rec(0, eax=0x800000), rec(1, eip=0x800000, eax=0x800000),
             rec(2, eip=0x2000, eax=0x800000, esp=0x8ff0)]
        (status, lines), comp = run(q, n)
        self.assertEqual(status, 0, lines)
        self.assertEqual(comp.rule_hits["fetch-fault-record"], 1)

    def test_reset_edx_rule(self):
        q = [rec(0, edx=0x663), rec(1, eip=0x1001, edx=0x663), rec(2, eip=0x1002, edx=5)]
        n = [rec(0, edx=0x633), rec(1, eip=0x1001, edx=0x633), rec(2, eip=0x1002, edx=5)]
        (status, lines), comp = run(q, n)
        self.assertEqual(status, 0, lines)
        self.assertEqual(comp.rule_hits["reset-edx-signature"], 2)

    def test_lar_accessed_bit_rule(self):
        lar = b"\x0f\x02\xc3"                   # lar eax, ebx
        q = [rec(0, lar), rec(1, eip=0x1003, eax=0x9a00)]
        n = [rec(0), rec(1, eip=0x1003, eax=0x9b00)]
        (status, lines), comp = run(q, n)
        self.assertEqual(status, 0, lines)
        q = [rec(0, lar), rec(1, eip=0x1003, eax=0x9b00)]
        n = [rec(0), rec(1, eip=0x1003, eax=0x9a00)]   # the other way round is a bug
        (status, _), _ = run(q, n)
        self.assertEqual(status, 1)

    def test_trace_length_mismatch(self):
        (status, lines), _ = run([rec(0), rec(1, eip=0x1001)], [rec(0)])
        self.assertEqual(status, 1)
        self.assertIn("ended", lines[0])


class Parse(unittest.TestCase):
    def test_nestlab_line(self):
        line = ("7 eip=0000fff0 eax=00000001 ecx=00000002 edx=00000633 ebx=00000003 "
                "esp=00000004 ebp=00000005 esi=00000006 edi=00000007 efl=00000002 cs=f000 "
                "ss=0000 ds=0000 es=0000 fs=0000 gs=0000 cr0=60000010 cr2=00000000 "
                "cr3=00000000 cr4=00000000 cpl=0\n")
        r = next(lockstep.parse_nestlab_trace([line]))
        self.assertEqual(r.tag, "7")
        self.assertEqual(r.vals[:5], (0xfff0, 1, 2, 0x633, 3))
        self.assertEqual(r.vals[lockstep.FIELD_INDEX["cs"]], 0xf000)

    def test_qemu_log(self):
        log = """----------------
IN: 
0xfffffff0:  ea 00 ff 00 f0           ljmpw    $0xf000:$0xff00

Trace 0: 0x7f5db0000100 [ffff0000/fffffff0/00000040/ff000201] 
EAX=00000000 EBX=00000000 ECX=00000000 EDX=00000663
ESI=00000000 EDI=00000000 EBP=00000000 ESP=00000000
EIP=0000fff0 EFL=00000002 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=0
ES =0000 00000000 0000ffff 00009300
CS =f000 ffff0000 0000ffff 00009b00
SS =0000 00000000 0000ffff 00009300
DS =0000 00000000 0000ffff 00009300
FS =0000 00000000 0000ffff 00009300
GS =0000 00000000 0000ffff 00009300
LDT=0000 00000000 0000ffff 00008200
TR =0000 00000000 0000ffff 00008b00
GDT=     00000000 0000ffff
IDT=     00000000 0000ffff
CR0=60000010 CR2=00000000 CR3=00000000 CR4=00000000
DR0=00000000 DR1=00000000 DR2=00000000 DR3=00000000 
DR6=ffff0ff0 DR7=00000400
CCS=00000000 CCD=00000000 CCO=EFLAGS
EFER=0000000000000000
"""
        recs = list(lockstep.parse_qemu_log(log.splitlines(True)))
        self.assertEqual(len(recs), 1)
        r = recs[0]
        self.assertEqual(r.code, bytes.fromhex("ea00ff00f0"))
        self.assertEqual(r.cs_base, 0xffff0000)
        self.assertFalse(r.code32)
        self.assertEqual(r.vals[lockstep.FIELD_INDEX["edx"]], 0x663)
        self.assertEqual(r.vals[lockstep.FIELD_INDEX["cr0"]], 0x60000010)


if __name__ == "__main__":
    unittest.main()
