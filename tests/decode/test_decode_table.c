/*
 * test_decode_table.c - byte sequences whose lengths come from the manual.
 *
 * Each row is one instruction as the Intel SDM Vol. 2 encodes it (Chapter 2
 * and Appendix A), with its disassembly in the comment and the length (or
 * DECODE_* verdict) cpu_decode() must return when given exactly those bytes.
 * The rows cover the 16- and 32-bit ModRM forms, SIB with and without base,
 * every displacement size, moffs, ENTER, far pointers, group 3 TEST, the
 * i686 additions, the 15-byte limit and truncated buffers.
 */
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "cpu.h"
#include "decode_guard.h"
#include "test_decode.h"

struct row {
	const char *bytes; /* hex, space-separated */
	int expect;        /* length, or DECODE_UD / DECODE_TOO_LONG / DECODE_SHORT */
};

/* {====== 32-bit code (CS.D = 1) ====== */

/* clang-format off */
static const struct row rows32[] = {
	{"90", 1},                            /* nop */
	{"8b c1", 2},                         /* mov eax, ecx */
	{"8b 00", 2},                         /* mov eax, [eax] */
	{"8b 04 24", 3},                      /* mov eax, [esp]            SIB, base=esp */
	{"8b 05 44 33 22 11", 6},             /* mov eax, [0x11223344]     mod=0 rm=5: disp32 */
	{"8b 04 25 44 33 22 11", 7},          /* mov eax, [0x11223344]     SIB no base, no index */
	{"8b 04 8d 44 33 22 11", 7},          /* mov eax, [ecx*4+0x11223344]  SIB mod=0 base=5 */
	{"8b 44 88 7f", 4},                   /* mov eax, [eax+ecx*4+0x7f] SIB + disp8 */
	{"8b 84 88 44 33 22 11", 7},          /* mov eax, [eax+ecx*4+0x11223344] SIB + disp32 */
	{"8b 45 f8", 3},                      /* mov eax, [ebp-8]          disp8 */
	{"8b 85 44 33 22 11", 6},             /* mov eax, [ebp+0x11223344] disp32 */
	{"8b 44 25 08", 4},                   /* mov eax, [ebp+8]          SIB base=5 mod=1 */
	{"67 8b 07", 3},                      /* mov eax, [bx]             16-bit addressing */
	{"67 8b 06 34 12", 5},                /* mov eax, [0x1234]         mod=0 rm=6: disp16 */
	{"67 8b 84 88 44", 5},                /* mov eax, [si+0x4488]      no SIB in 16-bit forms */
	{"66 67 8b 84 88 44", 6},             /* mov ax, [si+0x4488] */
	{"b8 44 33 22 11", 5},                /* mov eax, 0x11223344 */
	{"66 b8 34 12", 4},                   /* mov ax, 0x1234 */
	{"b0 7f", 2},                         /* mov al, 0x7f */
	{"81 c1 44 33 22 11", 6},             /* add ecx, 0x11223344 */
	{"66 81 c1 34 12", 5},                /* add cx, 0x1234 */
	{"83 c1 7f", 3},                      /* add ecx, 0x7f             Ib sign-extended */
	{"81 84 88 44 33 22 11 78 56 34 12", 11}, /* add dword [eax+ecx*4+0x11223344], 0x12345678 */
	{"69 c1 44 33 22 11", 6},             /* imul eax, ecx, 0x11223344 */
	{"6b c1 05", 3},                      /* imul eax, ecx, 5 */
	{"a0 44 33 22 11", 5},                /* mov al, [0x11223344]      moffs32 */
	{"67 a0 34 12", 4},                   /* mov al, [0x1234]          moffs16 */
	{"66 a1 44 33 22 11", 6},             /* mov ax, [0x11223344]      66 sizes data, not moffs */
	{"a3 44 33 22 11", 5},                /* mov [0x11223344], eax */
	{"67 a3 34 12", 4},                   /* mov [0x1234], eax */
	{"c8 10 00 01", 4},                   /* enter 0x10, 1             Iw then Ib */
	{"9a 44 33 22 11 08 00", 7},          /* call 0x0008:0x11223344    ptr16:32 */
	{"66 9a 34 12 08 00", 6},             /* call 0x0008:0x1234        ptr16:16 */
	{"ea 44 33 22 11 08 00", 7},          /* jmp 0x0008:0x11223344 */
	{"66 ea 34 12 08 00", 6},             /* jmp 0x0008:0x1234 */
	{"f6 c1 7f", 3},                      /* test cl, 0x7f             group 3 /0 has Ib */
	{"f6 c9 7f", 3},                      /* test cl, 0x7f             /1 is an alias of /0 */
	{"f6 d1", 2},                         /* not cl                    /2-/7 have none */
	{"f6 f1", 2},                         /* div cl */
	{"f7 c1 44 33 22 11", 6},             /* test ecx, 0x11223344 */
	{"66 f7 c1 34 12", 5},                /* test cx, 0x1234 */
	{"f7 05 44 33 22 11 78 56 34 12", 10}, /* test dword [0x11223344], 0x12345678 */
	{"f7 d9", 2},                         /* neg ecx */
	{"f7 25 44 33 22 11", 6},             /* mul dword [0x11223344] */
	{"c2 08 00", 3},                      /* ret 8 */
	{"ca 08 00", 3},                      /* retf 8 */
	{"e8 00 00 00 00", 5},                /* call rel32 */
	{"66 e8 34 12", 4},                   /* call rel16 */
	{"eb fe", 2},                         /* jmp $ */
	{"0f 84 00 01 00 00", 6},             /* je rel32 */
	{"66 0f 84 34 12", 5},                /* je rel16 */
	{"e3 10", 2},                         /* jecxz rel8 */
	{"cd 80", 2},                         /* int 0x80 */
	{"d4 0a", 2},                         /* aam */
	{"26 8b 00", 3},                      /* mov eax, es:[eax] */
	{"f3 a5", 2},                         /* rep movsd */
	{"f0 01 03", 3},                      /* lock add [ebx], eax */
	{"f0 01 c3", DECODE_UD},              /* lock add ebx, eax         register destination */
	{"f0 03 03", DECODE_UD},              /* lock add eax, [ebx]       register destination */
	{"f0 39 03", DECODE_UD},              /* lock cmp [ebx], eax       CMP is not lockable */
	{"f0 90", DECODE_UD},                 /* lock nop */
	{"f0 87 03", 3},                      /* lock xchg [ebx], eax */
	{"f0 f7 1b", 3},                      /* lock neg dword [ebx] */
	{"f0 f7 03 01 00 00 00", DECODE_UD},  /* lock test dword [ebx], 1 */
	{"f0 0f ba 2b 05", 5},                /* lock bts dword [ebx], 5 */
	{"f0 0f c7 0e", 4},                   /* lock cmpxchg8b [esi] */
	{"8d 04 24", 3},                      /* lea eax, [esp] */
	{"8d c0", DECODE_UD},                 /* lea eax, eax              LEA needs memory */
	{"c4 00", 2},                         /* les eax, [eax] */
	{"c4 c0", DECODE_UD},                 /* les eax, eax */
	{"62 00", 2},                         /* bound eax, [eax] */
	{"8c d8", 2},                         /* mov eax, ds */
	{"8c f0", DECODE_UD},                 /* mov eax, sreg6 */
	{"8e d8", 2},                         /* mov ds, eax */
	{"8e c8", DECODE_UD},                 /* mov cs, eax               #UD by the manual */
	{"8f c0", 2},                         /* pop eax                   group 1A /0 */
	{"8f c8", DECODE_UD},                 /* group 1A /1 */
	{"c6 00 7f", 3},                      /* mov byte [eax], 0x7f */
	{"c6 08 7f", DECODE_UD},              /* group 11 /1 */
	{"c7 00 44 33 22 11", 6},             /* mov dword [eax], 0x11223344 */
	{"fe c0", 2},                         /* inc al */
	{"fe d0", DECODE_UD},                 /* group 4 /2 */
	{"ff 18", 2},                         /* call far [eax] */
	{"ff d8", DECODE_UD},                 /* call far eax              needs memory */
	{"ff f8", DECODE_UD},                 /* group 5 /7 */
	{"d6", 1},                            /* salc */
	{"f1", 1},                            /* int1 */
	{"d9 ee", 2},                         /* fldz                      x87 escape (#NM here) */
	{"dd 05 44 33 22 11", 6},             /* fld qword [0x11223344] */
	{"0f 00 c0", 3},                      /* sldt eax */
	{"0f 00 f0", DECODE_UD},              /* group 6 /6 */
	{"0f 01 10", 3},                      /* lgdt [eax] */
	{"0f 01 d0", DECODE_UD},              /* lgdt with a register (xgetbv on later CPUs) */
	{"0f 01 e0", 3},                      /* smsw eax */
	{"0f 01 38", 3},                      /* invlpg [eax] */
	{"0f 01 f8", DECODE_UD},              /* invlpg with a register (swapgs in 64-bit mode) */
	{"0f 06", 2},                         /* clts */
	{"0f 08", 2},                         /* invd */
	{"0f 09", 2},                         /* wbinvd */
	{"0f 0b", 2},                         /* ud2 (decodes; executes as #UD) */
	{"0f 0f c1 b4", DECODE_UD},           /* pfmul mm0, mm1            3DNow!: not here */
	{"0f 10 c1", DECODE_UD},              /* movups xmm0, xmm1         SSE: not here */
	{"0f 6f c1", DECODE_UD},              /* movq mm0, mm1             MMX: not here */
	{"0f ef c1", DECODE_UD},              /* pxor mm0, mm1             MMX: not here */
	{"0f ff", DECODE_UD},                 /* ud0 */
	{"0f 1f 00", 3},                      /* nop dword [eax]           hint NOP Ev */
	{"0f 1f 44 00 00", 5},                /* nop dword [eax+eax+0] */
	{"66 0f 1f 84 00 00 00 00 00", 9},    /* nop word [eax+eax+0] */
	{"0f 20 c0", 3},                      /* mov eax, cr0 */
	{"0f 22 d8", 3},                      /* mov cr3, eax */
	{"0f 23 f8", 3},                      /* mov dr7, eax */
	{"0f 30", 2},                         /* wrmsr */
	{"0f 31", 2},                         /* rdtsc */
	{"0f 32", 2},                         /* rdmsr */
	{"0f 44 c1", 3},                      /* cmove eax, ecx */
	{"0f 94 c0", 3},                      /* sete al */
	{"0f a2", 2},                         /* cpuid */
	{"0f a4 c1 05", 4},                   /* shld ecx, eax, 5 */
	{"0f ac c1 05", 4},                   /* shrd ecx, eax, 5 */
	{"0f af c1", 3},                      /* imul eax, ecx */
	{"0f b1 0b", 3},                      /* cmpxchg [ebx], ecx */
	{"0f b2 00", 3},                      /* lss eax, [eax] */
	{"0f b2 c0", DECODE_UD},              /* lss eax, eax */
	{"0f b6 c1", 3},                      /* movzx eax, cl */
	{"0f ba e0 05", 4},                   /* bt eax, 5 */
	{"0f ba c0 05", DECODE_UD},           /* group 8 /0 */
	{"0f c1 03", 3},                      /* xadd [ebx], eax */
	{"0f c7 0e", 3},                      /* cmpxchg8b [esi] */
	{"0f c7 ce", DECODE_UD},              /* cmpxchg8b esi             needs memory */
	{"0f c8", 2},                         /* bswap eax */
	{"0f cf", 2},                         /* bswap edi */
	{"0f 05", DECODE_UD},                 /* syscall                   not on this CPU */
	{"0f 38 00 c1", DECODE_UD},           /* pshufb mm0, mm1           SSSE3 */
};
/* clang-format on */

/* }====================================================================== */

/* {====== 16-bit code (CS.D = 0) ====== */

/* clang-format off */
static const struct row rows16[] = {
	{"8b 00", 2},                         /* mov ax, [bx+si] */
	{"8b 04", 2},                         /* mov ax, [si]              rm=4 is not SIB here */
	{"8b 06 34 12", 4},                   /* mov ax, [0x1234]          mod=0 rm=6: disp16 */
	{"8b 46 fe", 3},                      /* mov ax, [bp-2]            disp8 */
	{"8b 86 34 12", 4},                   /* mov ax, [bp+0x1234]       disp16 */
	{"8b c1", 2},                         /* mov ax, cx */
	{"66 8b 00", 3},                      /* mov eax, [bx+si] */
	{"67 8b 04 24", 4},                   /* mov ax, [esp]             32-bit addressing: SIB */
	{"67 8b 04 25 44 33 22 11", 8},       /* mov ax, [0x11223344]      SIB no base, no index */
	{"66 67 8b 84 88 44 33 22 11", 9},    /* mov eax, [eax+ecx*4+0x11223344] */
	{"67 8b 05 44 33 22 11", 7},          /* mov ax, [0x11223344]      mod=0 rm=5 */
	{"b8 34 12", 3},                      /* mov ax, 0x1234 */
	{"66 b8 44 33 22 11", 6},             /* mov eax, 0x11223344 */
	{"a0 34 12", 3},                      /* mov al, [0x1234]          moffs16 */
	{"67 a0 44 33 22 11", 6},             /* mov al, [0x11223344]      moffs32 */
	{"66 a1 34 12", 4},                   /* mov eax, [0x1234] */
	{"9a 34 12 00 f0", 5},                /* call 0xf000:0x1234        ptr16:16 */
	{"66 9a 44 33 22 11 08 00", 8},       /* call 0x0008:0x11223344    ptr16:32 */
	{"ea 5b e0 00 f0", 5},                /* jmp 0xf000:0xe05b         the reset-vector jump */
	{"66 ea 44 33 22 11 08 00", 8},       /* jmp 0x0008:0x11223344 */
	{"e8 34 12", 3},                      /* call rel16 */
	{"66 e8 44 33 22 11", 6},             /* call rel32 */
	{"0f 84 34 12", 4},                   /* je rel16 */
	{"66 0f 84 44 33 22 11", 7},          /* je rel32 */
	{"c8 10 00 01", 4},                   /* enter 0x10, 1 */
	{"f6 c1 7f", 3},                      /* test cl, 0x7f */
	{"f7 c1 34 12", 4},                   /* test cx, 0x1234 */
	{"66 f7 c1 44 33 22 11", 7},          /* test ecx, 0x11223344 */
	{"f7 06 34 12 78 56", 6},             /* test word [0x1234], 0x5678 */
	{"f7 e1", 2},                         /* mul cx */
	{"68 34 12", 3},                      /* push 0x1234 */
	{"6a 7f", 2},                         /* push 0x7f */
	{"81 c1 34 12", 4},                   /* add cx, 0x1234 */
	{"81 86 34 12 78 56", 6},             /* add word [bp+0x1234], 0x5678 */
	{"cd 10", 2},                         /* int 0x10 */
	{"0f 20 c0", 3},                      /* mov eax, cr0 */
	{"0f 01 16 34 12", 5},                /* lgdt [0x1234] */
	{"66 0f 01 16 34 12", 6},             /* lgdt [0x1234] (32-bit base) */
};
/* clang-format on */

/* }====================================================================== */

/* {====== the 15-byte limit and truncated buffers (32-bit code) ====== */

/* clang-format off */
static const struct row limits[] = {
	{"3e 3e 3e 3e 3e 3e 3e 3e 3e 3e 3e 3e 3e 3e 90", 15},          /* 14 prefixes + nop */
	{"3e 3e 3e 3e 3e 3e 3e 3e 3e 3e 3e 3e 3e 3e 3e 90", DECODE_TOO_LONG}, /* 15 + nop */
	{"66 66 66 66 66 66 66 66 66 66 66 66 66 66 66 66 66", DECODE_TOO_LONG}, /* prefixes only */
	{"3e 3e 3e 3e 3e 3e 3e 3e 3e 3e b8 44 33 22 11", 15},          /* 10 prefixes + mov eax, imm32 */
	{"3e 3e 3e 3e 3e 3e 3e 3e 3e 3e 3e b8 44 33 22 11", DECODE_TOO_LONG}, /* 16 bytes */
	{"26 26 26 26 26 26 26 81 84 88 44 33 22 11 78 56 34 12", DECODE_TOO_LONG}, /* 18 bytes */
	{"f0 f0 f0 f0 f0 f0 f0 f0 f0 f0 f0 f0 f0 f0 0f c7 0e", DECODE_TOO_LONG}, /* 17 bytes */
	{"8b", DECODE_SHORT},                    /* mov r, r/m: no ModRM */
	{"8b 04", DECODE_SHORT},                 /* ModRM says SIB, no SIB */
	{"8b 84 88 44 33", DECODE_SHORT},        /* disp32 cut short */
	{"8b 05 44 33 22", DECODE_SHORT},        /* disp32 cut short */
	{"e8 00 00", DECODE_SHORT},              /* rel32 cut short */
	{"c8 10 00", DECODE_SHORT},              /* enter without its Ib */
	{"9a 44 33 22 11 08", DECODE_SHORT},     /* far pointer without its selector high byte */
	{"66", DECODE_SHORT},                    /* a prefix alone */
	{"0f", DECODE_SHORT},                    /* an escape alone */
	{"f6 05 44 33 22 11", DECODE_SHORT},     /* test byte [0x11223344], ib: Ib missing */
};
/* clang-format on */

/* }====================================================================== */

/* {====== running the rows ====== */

static size_t parse_hex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;
	unsigned v;
	int used;
	while (n < max && sscanf(s, " %2x%n", &v, &used) == 1) {
		out[n++] = (uint8_t)v;
		s += used;
	}
	return n;
}

static void check_rows(const struct row *rows, size_t count, bool code32)
{
	for (size_t i = 0; i < count; i++) {
		uint8_t b[32];
		struct insn in;
		size_t n = parse_hex(rows[i].bytes, b, sizeof b);
		int got = cpu_decode(guard_copy(b, n), n, code32, &in);
		if (got != rows[i].expect) {
			g_test_message("%s-bit `%s`: expected %d, decoder says %d",
			               code32 ? "32" : "16", rows[i].bytes, rows[i].expect, got);
			g_test_fail();
		} else if (got > 0) {
			g_assert_cmpuint(in.len, ==, (unsigned)got);
		}
	}
}

static void test_table_32(void)
{
	check_rows(rows32, G_N_ELEMENTS(rows32), true);
}

static void test_table_16(void)
{
	check_rows(rows16, G_N_ELEMENTS(rows16), false);
}

static void test_table_limits(void)
{
	check_rows(limits, G_N_ELEMENTS(limits), true);
}

/* Fields that the lengths above rely on: SIB without base, ENTER's two
 * immediates, a far pointer, moffs. */
static void test_table_fields(void)
{
	struct insn in;
	/* mov eax, [ecx*4+0x11223344] */
	static const uint8_t sib[] = {0x8b, 0x04, 0x8d, 0x44, 0x33, 0x22, 0x11};
	g_assert_cmpint(cpu_decode(sib, sizeof sib, true, &in), ==, 7);
	g_assert_cmpuint(in.base, ==, REG_NONE);
	g_assert_cmpuint(in.index, ==, 1); /* ECX */
	g_assert_cmpuint(in.scale, ==, 2); /* *4 */
	g_assert_cmphex(in.disp, ==, 0x11223344);
	/* enter 0x1234, 3 */
	static const uint8_t enter[] = {0xc8, 0x34, 0x12, 0x03};
	g_assert_cmpint(cpu_decode(enter, sizeof enter, true, &in), ==, 4);
	g_assert_cmphex(in.imm, ==, 0x1234);
	g_assert_cmphex(in.imm2, ==, 3);
	/* call 0xf000:0x1234 in 16-bit code */
	static const uint8_t far[] = {0x9a, 0x34, 0x12, 0x00, 0xf0};
	g_assert_cmpint(cpu_decode(far, sizeof far, false, &in), ==, 5);
	g_assert_cmphex(in.imm, ==, 0x1234);
	g_assert_cmphex(in.imm2, ==, 0xf000);
	/* mov al, [0x1234] with 67 in 32-bit code */
	static const uint8_t moffs[] = {0x67, 0xa0, 0x34, 0x12};
	g_assert_cmpint(cpu_decode(moffs, sizeof moffs, true, &in), ==, 4);
	g_assert_cmphex(in.disp, ==, 0x1234);
	g_assert_false(in.addrsize32);
}

void decode_table_add_tests(void)
{
	g_test_add_func("/decode/table/32bit", test_table_32);
	g_test_add_func("/decode/table/16bit", test_table_16);
	g_test_add_func("/decode/table/limits", test_table_limits);
	g_test_add_func("/decode/table/fields", test_table_fields);
}

/* }====================================================================== */
