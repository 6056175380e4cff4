/*
 * capstone_quirks.c - why nestlab's decoder and Capstone 4.0.2 may disagree.
 *
 * One row per reason. A row's match function sees both verdicts and the
 * test's own parse of the bytes; it must name the opcode bytes (and ModRM
 * field or prefix where that is the point) and re-check what the manual lets
 * it check, so that a decoder bug never falls under a rule by accident.
 */
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "capstone_diff.h"
#include "cpu.h"

/* {====== helpers for the rules ====== */

static bool in_set(uint8_t op, const uint8_t *set, size_t n)
{
	return memchr(set, op, n) != NULL;
}

#define SET(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

/* Capstone decoded something that nestlab calls undefined. */
static bool cs_only(const struct verdict *v)
{
	return v->ours == DECODE_UD && v->cs_len > 0;
}

/* nestlab decoded something that Capstone rejects. */
static bool ours_only(const struct verdict *v)
{
	return v->ours > 0 && v->cs_len == 0;
}

static bool is0f(const struct verdict *v, uint8_t op)
{
	return v->p.complete && v->p.map == MAP_0F && v->p.op == op;
}

static bool is1(const struct verdict *v, uint8_t op)
{
	return v->p.complete && v->p.map == MAP_1 && v->p.op == op;
}

/* }====================================================================== */

/* {====== the manual's side, re-derived for the rules ====== */

/*
 * Whether the manual allows LOCK here (LOCK, Intel SDM Vol. 2A): ADD ADC AND
 * BTC BTR BTS CMPXCHG CMPXCHG8B DEC INC NEG NOT OR SBB SUB XOR XADD XCHG, and
 * only with a memory destination.
 */
static bool lock_allowed(const struct parsed *p)
{
	if (!p->complete || p->op_end >= MAX_INSN || p->mod == 3)
		return false;
	if (p->map == MAP_1) {
		if (p->op < 0x38 && (p->op & 7) <= 1)
			return true; /* ADD OR ADC SBB AND SUB XOR Eb/Ev,Gb/Gv */
		if (p->op >= 0x80 && p->op <= 0x83)
			return p->reg != 7; /* group 1 except CMP */
		if (p->op == 0x86 || p->op == 0x87)
			return true; /* XCHG */
		if (p->op == 0xf6 || p->op == 0xf7)
			return p->reg == 2 || p->reg == 3; /* NOT NEG */
		if (p->op == 0xfe || p->op == 0xff)
			return p->reg <= 1; /* INC DEC */
		return false;
	}
	if (p->map != MAP_0F)
		return false;
	if (in_set(p->op, SET(0xab, 0xb3, 0xbb, 0xb0, 0xb1, 0xc0, 0xc1)))
		return true; /* BTS BTR BTC CMPXCHG XADD */
	if (p->op == 0xba)
		return p->reg >= 5;          /* BTS BTR BTC Ev,Ib */
	return p->op == 0xc7 && p->reg == 1; /* CMPXCHG8B */
}

/*
 * The length the manual gives to an opcode followed by a ModRM form and
 * `imm` immediate bytes, or DECODE_TOO_LONG past 15 bytes.
 */
static int modrm_form_len(const struct verdict *v, int imm)
{
	bool addr32 = v->code32 != v->p.addrsize;
	int m = diff_modrm_bytes(v->b, v->p.op_end, addr32);
	if (m < 0 || v->p.op_end + m + imm > MAX_INSN)
		return DECODE_TOO_LONG;
	return v->p.op_end + m + imm;
}

/* The same sequence with every LOCK prefix turned into a DS override (which
 * changes no length) and our verdict on it. */
static void without_lock(const struct verdict *v, uint8_t *b, struct verdict *out)
{
	struct insn in;
	memcpy(b, v->b, MAX_INSN);
	for (int i = 0; i < v->p.npfx; i++)
		if (b[i] == 0xf0)
			b[i] = 0x3e;
	*out = *v;
	out->b = b;
	out->ours = cpu_decode(b, MAX_INSN, v->code32, &in);
	diff_parse(b, &out->p);
}

static bool cs_has_group(const struct verdict *v, uint8_t grp)
{
	if (!v->ci || !v->ci->detail)
		return false;
	for (int i = 0; i < v->ci->detail->groups_count; i++)
		if (v->ci->detail->groups[i] == grp)
			return true;
	return false;
}

/* Capstone files the instruction under an extension that postdates the P6. */
static bool cs_extension(const struct verdict *v)
{
	static const uint8_t groups[] = {
	        X86_GRP_MMX,    X86_GRP_SSE1,  X86_GRP_SSE2,  X86_GRP_SSE3,  X86_GRP_SSSE3,
	        X86_GRP_SSE41,  X86_GRP_SSE42, X86_GRP_SSE4A, X86_GRP_3DNOW, X86_GRP_AES,
	        X86_GRP_PCLMUL, X86_GRP_SHA,   X86_GRP_AVX,   X86_GRP_AVX2,  X86_GRP_AVX512,
	        X86_GRP_FMA,    X86_GRP_FMA4,  X86_GRP_F16C,  X86_GRP_XOP,   X86_GRP_VM,
	        X86_GRP_SGX,    X86_GRP_SMAP,  X86_GRP_RTM,   X86_GRP_ADX,   X86_GRP_BMI,
	        X86_GRP_BMI2};
	for (size_t i = 0; i < sizeof groups; i++)
		if (cs_has_group(v, groups[i]))
			return true;
	return false;
}

/* }====================================================================== */

/* {====== the rules ====== */

static bool explained_without_lock(const struct verdict *v);

/* LOCK where the manual forbids it: we say #UD; without the LOCK we agree
 * with Capstone or differ for another listed reason. */
static bool m_lock(const struct verdict *v)
{
	return cs_only(v) && v->p.lock && !lock_allowed(&v->p) && explained_without_lock(v);
}

/* MMX, SSE to SSE4.2 and 3DNow! opcodes of the 0F map. */
static bool m_mmx_sse(const struct verdict *v)
{
	uint8_t op = v->p.op;
	bool mmx_sse_row = (op >= 0x10 && op <= 0x17) || (op >= 0x28 && op <= 0x2f) ||
	                   (op >= 0x50 && op <= 0x7f && op != 0x78 && op != 0x79) ||
	                   (op >= 0xc2 && op <= 0xc6) || (op >= 0xd0 && op <= 0xfe);
	return cs_only(v) && v->p.complete && v->p.map == MAP_0F && mmx_sse_row && cs_extension(v);
}

/* The three-byte maps 0F 38 and 0F 3A. */
static bool m_three_byte(const struct verdict *v)
{
	return cs_only(v) && v->p.complete && (v->p.map == MAP_0F38 || v->p.map == MAP_0F3A);
}

/* 0F 0D PREFETCH/PREFETCHW, 0F 0E FEMMS, 0F 0F 3DNow!. */
static bool m_amd_3dnow(const struct verdict *v)
{
	return cs_only(v) && (is0f(v, 0x0d) || is0f(v, 0x0e) || is0f(v, 0x0f));
}

/* 0F 05 SYSCALL, 0F 07 SYSRET. */
static bool m_syscall(const struct verdict *v)
{
	return cs_only(v) && (is0f(v, 0x05) || is0f(v, 0x07));
}

/* 0F 34 SYSENTER, 0F 35 SYSEXIT. */
static bool m_sysenter(const struct verdict *v)
{
	return cs_only(v) && (is0f(v, 0x34) || is0f(v, 0x35));
}

/* 0F 37 GETSEC. */
static bool m_getsec(const struct verdict *v)
{
	return cs_only(v) && is0f(v, 0x37);
}

/* 0F 78 VMREAD, 0F 79 VMWRITE. */
static bool m_vmread(const struct verdict *v)
{
	return cs_only(v) && (is0f(v, 0x78) || is0f(v, 0x79));
}

/* Group 7 (0F 01) register forms other than SMSW and LMSW. */
static bool m_grp7_reg(const struct verdict *v)
{
	return cs_only(v) && is0f(v, 0x01) && v->p.mod == 3 && v->p.reg != 4 && v->p.reg != 6;
}

/* Group 9 (0F C7) members other than CMPXCHG8B m64. */
static bool m_grp9(const struct verdict *v)
{
	return cs_only(v) && is0f(v, 0xc7) && !(v->p.reg == 1 && v->p.mod != 3);
}

/* Group 15 (0F AE). */
static bool m_grp15(const struct verdict *v)
{
	return cs_only(v) && is0f(v, 0xae);
}

/* 0F A6, 0F A7 with the ModRM bytes of VIA PadLock. */
static bool m_padlock(const struct verdict *v)
{
	return cs_only(v) && (is0f(v, 0xa6) || is0f(v, 0xa7)) && v->p.mod == 3;
}

/* F3 0F B8 POPCNT. */
static bool m_popcnt(const struct verdict *v)
{
	return cs_only(v) && is0f(v, 0xb8) && v->p.last_rep == 0xf3;
}

/* C4/C5 (VEX), 62 (EVEX) with ModRM.mod = 11b, and 8F with ModRM.reg != 0 (XOP). */
static bool m_vex(const struct verdict *v)
{
	if (!cs_only(v) || !v->p.complete || v->p.map != MAP_1 || v->p.op_end >= MAX_INSN)
		return false;
	uint8_t op = v->p.op;
	if (op == 0xc4 || op == 0xc5 || op == 0x62)
		return v->p.mod == 3;
	return op == 0x8f && v->p.reg != 0;
}

/* C6 F8 XABORT, C7 F8 XBEGIN. */
static bool m_rtm(const struct verdict *v)
{
	return cs_only(v) && (is1(v, 0xc6) || is1(v, 0xc7)) && v->p.modrm == 0xf8;
}

/* 0F FF UD0. */
static bool m_ud0(const struct verdict *v)
{
	return cs_only(v) && is0f(v, 0xff) && v->cs_len == v->p.op_end;
}

/* 0F B9 UD1: the manual gives it a ModRM, Capstone does not. */
static bool m_ud1(const struct verdict *v)
{
	return is0f(v, 0xb9) && v->cs_len == v->p.op_end && v->ours == modrm_form_len(v, 0);
}

/* 8E /1: MOV CS, Ew. */
static bool m_mov_cs(const struct verdict *v)
{
	return cs_only(v) && is1(v, 0x8e) && v->p.reg == 1;
}

/* D8-DF: every ModRM is an x87 escape to nestlab. */
static bool m_x87(const struct verdict *v)
{
	return ours_only(v) && v->p.complete && v->p.map == MAP_1 && v->p.op >= 0xd8 &&
	       v->ours == modrm_form_len(v, 0);
}

/* 0F 18-1F register forms: hint NOPs. */
static bool m_hint_nop(const struct verdict *v)
{
	return ours_only(v) && v->p.complete && v->p.map == MAP_0F && v->p.op >= 0x18 &&
	       v->p.op <= 0x1f && v->p.mod == 3 && v->ours == modrm_form_len(v, 0);
}

/* 66 and then F2 or F3 before a near branch: Capstone keeps the default
 * offset size. */
static bool m_bnd_66(const struct verdict *v)
{
	bool branch = is1(v, 0xe8) || is1(v, 0xe9) ||
	              (v->p.complete && v->p.map == MAP_0F && (v->p.op & 0xf0) == 0x80);
	bool rel32 = v->code32 != v->p.opsize;
	int delta = rel32 ? -2 : 2; /* Capstone's offset is the other size */
	return branch && v->p.rep_after_66 && v->ours == v->p.op_end + (rel32 ? 4 : 2) &&
	       v->cs_len == v->ours + delta;
}

/* 66 and then F2 or F3 before MOV moffs: Capstone finds no instruction. */
static bool m_moffs_66_rep(const struct verdict *v)
{
	bool addr32 = v->code32 != v->p.addrsize;
	bool moffs = v->p.complete && v->p.map == MAP_1 && v->p.op >= 0xa0 && v->p.op <= 0xa3;
	return ours_only(v) && moffs && v->p.rep_after_66 &&
	       v->ours == v->p.op_end + (addr32 ? 4 : 2);
}

struct quirk {
	const char *name;
	const char *reason;
	bool (*match)(const struct verdict *v);
};

/* clang-format off */
static const struct quirk quirks[] = {
	{"lock-not-checked",
	 "LOCK on an instruction or operand form the manual does not allow (LOCK, SDM Vol. 2A: "
	 "#UD). Capstone 4.0.2 rejects LOCK only with a register ModRM, and not at all when an "
	 "F2/F3 prefix follows it.",
	 m_lock},
	{"mmx-sse", "MMX, SSE to SSE4.2 and their 0F-map opcodes (0F 10-17, 28-2F, 50-7F, C2-C6, "
	 "D0-FE): not on an i686 integer CPU without MMX/SSE (CPUID says so), so #UD.", m_mmx_sse},
	{"0f38-0f3a", "The three-byte maps 0F 38 and 0F 3A (SSSE3, SSE4, AES, SHA, MOVBE, CRC32, "
	 "ADX, INVEPT...) came after the P6; #UD here.", m_three_byte},
	{"amd-3dnow", "0F 0D PREFETCH(W), 0F 0E FEMMS, 0F 0F 3DNow!: AMD extensions, #UD on an "
	 "Intel i686.", m_amd_3dnow},
	{"syscall", "0F 05 SYSCALL, 0F 07 SYSRET: AMD K6 / x86-64, #UD on Intel in legacy mode.",
	 m_syscall},
	{"sysenter", "0F 34 SYSENTER, 0F 35 SYSEXIT: Pentium II (CPUID.SEP), not on this CPU.",
	 m_sysenter},
	{"getsec", "0F 37 GETSEC: Safer Mode Extensions.", m_getsec},
	{"vmx-vmread", "0F 78 VMREAD, 0F 79 VMWRITE: VMX.", m_vmread},
	{"grp7-reg-forms", "0F 01 with mod=11b and reg other than 4 (SMSW) and 6 (LMSW): MONITOR, "
	 "MWAIT, VMX, SVM, XGETBV, RDTSCP, SWAPGS, CLAC, STAC... all later than the P6, #UD "
	 "(SDM Table A-6, group 7).", m_grp7_reg},
	{"grp9-ext", "0F C7 other than CMPXCHG8B m64: RDRAND, RDSEED, VMPTRLD, VMPTRST, VMCLEAR, "
	 "VMXON, XSAVES, XRSTORS, XSAVEC (SDM Table A-6, group 9).", m_grp9},
	{"grp15", "0F AE: FXSAVE, FXRSTOR, LDMXCSR, STMXCSR, XSAVE*, LFENCE, MFENCE, SFENCE, "
	 "CLFLUSH; none on this CPU.", m_grp15},
	{"via-padlock", "0F A6, 0F A7 register forms: VIA PadLock (XSTORE, XCRYPT*, XSHA*, "
	 "MONTMUL), not Intel.", m_padlock},
	{"popcnt", "F3 0F B8 POPCNT (SSE4.2 era); 0F B8 is undefined on the P6.", m_popcnt},
	{"vex-evex-xop", "C4/C5 and 62 with ModRM.mod=11b are VEX/EVEX prefixes (AVX) and 8F with "
	 "ModRM.reg!=0 is AMD XOP; on an i686 they are LES/LDS/BOUND/POP with a register operand: "
	 "#UD.", m_vex},
	{"rtm", "C6 F8 XABORT, C7 F8 XBEGIN: TSX; group 11 /7 is #UD here.", m_rtm},
	{"ud0", "0F FF UD0: #UD either way; Capstone 4.0.2 decodes it as a 2-byte instruction.",
	 m_ud0},
	{"ud1-modrm", "0F B9 UD1 Gv,Ev: the manual gives it a ModRM (SDM Vol. 2B, UD); Capstone "
	 "4.0.2 decodes `ud2b` with none. #UD either way.", m_ud1},
	{"mov-cs", "8E /1 MOV CS,Ew: the manual says #UD (MOV, SDM Vol. 2B); Capstone 4.0.2 "
	 "decodes it.", m_mov_cs},
	{"x87-reserved", "D8-DF with a ModRM that is reserved on an x87: Capstone rejects it. "
	 "nestlab has no FPU: every escape opcode raises #NM when CR0.EM or CR0.TS is set (SDM "
	 "Vol. 3A, 2.5) and otherwise does nothing, whatever its ModRM, so the decoder sizes all "
	 "of them by their ModRM.", m_x87},
	{"hint-nop-reg", "0F 18-1F with mod=11b: hint NOPs (NOP Ev, SDM Table A-3), valid on "
	 "family 6; Capstone 4.0.2 rejects most register forms.", m_hint_nop},
	{"rep-drops-66-branch", "66 and after it F2 or F3 before CALL/JMP rel (E8, E9, 0F 8x): "
	 "Capstone 4.0.2 drops the 66 and keeps the default offset size; the manual applies the "
	 "66 (rel16 in 32-bit code) and ignores F3 here (F2 is MPX BND, also no length change).",
	 m_bnd_66},
	{"rep-drops-66-moffs", "66 and after it F2 or F3 before MOV A0-A3: Capstone 4.0.2 finds "
	 "no instruction; the manual ignores REP prefixes on non-string instructions.",
	 m_moffs_66_rep},
	{NULL, NULL, NULL},
};
/* clang-format on */

#define NQUIRKS (sizeof quirks / sizeof quirks[0] - 1)

/* Whether v, LOCK aside, agrees with Capstone or falls under a rule other
 * than the LOCK rule. */
static bool explained_without_lock(const struct verdict *v)
{
	uint8_t b[MAX_INSN];
	struct verdict u;
	without_lock(v, b, &u);
	if (u.ours == u.cs_len)
		return true;
	for (size_t i = 0; i < NQUIRKS; i++)
		if (quirks[i].match != m_lock && quirks[i].match(&u))
			return true;
	return false;
}

/* }====================================================================== */

/* {====== counting and printing ====== */

struct quirk_stat {
	uint64_t count[2]; /* [0] 16-bit, [1] 32-bit */
	bool have_example;
	bool ex32;
	uint8_t ex[MAX_INSN];
	int ex_len; /* bytes worth showing */
	int ex_ours, ex_cs;
	char ex_cs_text[200];
};

static struct quirk_stat stats[NQUIRKS + 1];

void quirks_reset(void)
{
	memset(stats, 0, sizeof stats);
}

static void keep_example(struct quirk_stat *st, const struct verdict *v)
{
	st->have_example = true;
	st->ex32 = v->code32;
	memcpy(st->ex, v->b, MAX_INSN);
	int n = v->ours > v->cs_len ? v->ours : v->cs_len;
	st->ex_len = n > 0 ? n : MAX_INSN;
	st->ex_ours = v->ours;
	st->ex_cs = v->cs_len;
	if (v->cs_len)
		snprintf(st->ex_cs_text, sizeof st->ex_cs_text, "%s %s", v->ci->mnemonic,
		         v->ci->op_str);
}

bool quirks_classify(const struct verdict *v)
{
	for (size_t i = 0; i < NQUIRKS; i++) {
		if (!quirks[i].match(v))
			continue;
		if (!stats[i].have_example)
			keep_example(&stats[i], v);
		stats[i].count[v->code32]++;
		return true;
	}
	return false;
}

uint64_t quirks_total(bool code32)
{
	uint64_t n = 0;
	for (size_t i = 0; i < NQUIRKS; i++)
		n += stats[i].count[code32];
	return n;
}

void quirks_print_counts(bool code32)
{
	for (size_t i = 0; i < NQUIRKS; i++)
		if (stats[i].count[code32])
			g_test_message("  %-28s %8" G_GUINT64_FORMAT, quirks[i].name,
			               stats[i].count[code32]);
}

static const char *ours_text(int r, char *buf, size_t n)
{
	if (r == DECODE_UD)
		return "#UD";
	if (r == DECODE_TOO_LONG)
		return "too long";
	snprintf(buf, n, "%d bytes", r);
	return buf;
}

static void print_example(const struct quirk_stat *st)
{
	char buf[32];
	printf("`");
	for (int i = 0; i < st->ex_len; i++)
		printf("%02x%s", st->ex[i], i + 1 < st->ex_len ? " " : "");
	printf("` (%s-bit): nestlab %s, Capstone ", st->ex32 ? "32" : "16",
	       ours_text(st->ex_ours, buf, sizeof buf));
	if (st->ex_cs)
		printf("%d bytes `%s`", st->ex_cs, st->ex_cs_text);
	else
		printf("no instruction");
}

void quirks_print_markdown(uint64_t total, uint64_t agree, uint64_t unexplained)
{
	printf("Sequences: %" G_GUINT64_FORMAT " (16- and 32-bit), agreeing: %" G_GUINT64_FORMAT
	       ", explained disagreements: %" G_GUINT64_FORMAT ", unexplained: %" G_GUINT64_FORMAT
	       ".\n\n",
	       total, agree, quirks_total(false) + quirks_total(true), unexplained);
	printf("| rule | why | 16-bit | 32-bit | example |\n");
	printf("| --- | --- | ---: | ---: | --- |\n");
	for (size_t i = 0; i < NQUIRKS; i++) {
		const struct quirk_stat *st = &stats[i];
		printf("| `%s` | %s | %" G_GUINT64_FORMAT " | %" G_GUINT64_FORMAT " | ",
		       quirks[i].name, quirks[i].reason, st->count[0], st->count[1]);
		if (st->have_example)
			print_example(st);
		else
			printf("(none seen)");
		printf(" |\n");
	}
}

/* }====================================================================== */

const char *quirks_missing_from(const char *doc)
{
	for (size_t i = 0; i < NQUIRKS; i++) {
		char *row = g_strdup_printf("| `%s` | %s |", quirks[i].name, quirks[i].reason);
		bool found = strstr(doc, row) != NULL;
		g_free(row);
		if (!found)
			return quirks[i].name;
	}
	return NULL;
}

bool quirks_extension_decoded(const struct verdict *v)
{
	if (!cs_extension(v))
		return false;
	if (is0f(v, 0x18) || is0f(v, 0x19) || is0f(v, 0x1a) || is0f(v, 0x1b) || is0f(v, 0x1c) ||
	    is0f(v, 0x1d) || is0f(v, 0x1e) || is0f(v, 0x1f))
		return false; /* hint NOPs: PREFETCHh and NOP Ev are NOPs without SSE */
	if (is0f(v, 0xbc) || is0f(v, 0xbd))
		return false; /* F3 0F BC/BD TZCNT/LZCNT run as BSF/BSR where unsupported (SDM) */
	return true;
}
