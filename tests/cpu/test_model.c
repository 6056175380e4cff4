/*
 * test_model.c - CPU models (engine/cpu/model.c, docs/cpu.md "CPU models"):
 * each model's CPUID leaves, the MSRs a model has and lacks, the writable,
 * read-only and reserved bits of its MSRs, the instructions a model lacks,
 * and the --cpu parser's messages.
 */
#include "testbus.h"

static int model_id(const char *name)
{
	for (int i = 0; i < cpu_model_count(); i++)
		if (!strcmp(cpu_model_get(i)->name, name))
			return i;
	g_assert_not_reached();
}

/* A CPU of model `name` (its own features) in flat 32-bit ring 0, with
 * #UD going to a HLT at 0x3100 and #GP to a HLT at 0x3000. */
static struct testbus *tb_model(const char *name)
{
	struct testbus *tb = tb_new();
	int id = model_id(name);
	g_assert_true(cpu_set_model(tb->cpu, id, cpu_model_get(id)->edx));
	tb->cpu->has_apic = true;
	tb_pmode32(tb);
	tb->cpu->r[ESP] = 0x8000;
	tb_gate(tb, 0x600 + 8 * EXC_GP, 0x08, 0x3000, SYS_INTGATE32, 0);
	tb_gate(tb, 0x600 + 8 * EXC_UD, 0x08, 0x3100, SYS_INTGATE32, 0);
	tb_put(tb, 0x3000, "\xf4", 1);
	tb_put(tb, 0x3100, "\xf4", 1);
	return tb;
}

enum { RAN = 0, GOT_GP = EXC_GP, GOT_UD = EXC_UD };

/* Runs the instruction `code` (n bytes) at 0x1000 followed by HLT: RAN,
 * GOT_GP or GOT_UD. */
static int run1(struct testbus *tb, const char *code, size_t n)
{
	struct cpu *cpu = tb->cpu;
	tb_put(tb, 0x1000, code, n);
	tb_put(tb, 0x1000 + (uint32_t)n, "\xf4", 1);
	cpu->eip = 0x1000;
	cpu->r[ESP] = 0x8000;
	cpu->halted = false;
	g_assert_cmpint(cpu_run(cpu, 10), ==, CPU_STOP_HLT);
	if (cpu->eip == 0x3001)
		return GOT_GP;
	if (cpu->eip == 0x3101)
		return GOT_UD;
	g_assert_cmphex(cpu->eip, ==, 0x1000 + n + 1);
	return RAN;
}

static int rdmsr(struct testbus *tb, uint32_t idx, uint64_t *v)
{
	tb->cpu->r[ECX] = idx;
	int r = run1(tb, "\x0f\x32", 2);
	*v = tb->cpu->r[EAX] | (uint64_t)tb->cpu->r[EDX] << 32;
	return r;
}

static int wrmsr(struct testbus *tb, uint32_t idx, uint64_t v)
{
	tb->cpu->r[ECX] = idx;
	tb->cpu->r[EAX] = (uint32_t)v;
	tb->cpu->r[EDX] = (uint32_t)(v >> 32);
	return run1(tb, "\x0f\x30", 2);
}

static void cpuid(struct testbus *tb, uint32_t leaf, uint32_t out[4])
{
	tb->cpu->r[EAX] = leaf;
	g_assert_cmpint(run1(tb, "\x0f\xa2", 2), ==, RAN); /* cpuid */
	out[0] = tb->cpu->r[EAX];
	out[1] = tb->cpu->r[EBX];
	out[2] = tb->cpu->r[ECX];
	out[3] = tb->cpu->r[EDX];
}

static void check_vendor(const uint32_t l0[4], const char *vendor)
{
	char v[13];
	memcpy(v, &l0[1], 4);
	memcpy(v + 4, &l0[3], 4);
	memcpy(v + 8, &l0[2], 4);
	v[12] = 0;
	g_assert_cmpstr(v, ==, vendor);
}

/* {====== CPUID per model ====== */

/* Pentium II (QEMU -cpu pentium2's identity): max leaf 2, 0x652; of its
 * features those nestlab implements (no FPU, VME, PAE, SEP, PGE, PAT,
 * PSE36, MMX, FXSR); leaf 2 the Pentium II's cache descriptors; a leaf
 * above the maximum, basic or extended, gives leaf 2. */
static void test_cpuid_pentium2(void)
{
	struct testbus *tb = tb_model("pentium2");
	uint32_t r[4], r2[4];
	cpuid(tb, 0, r);
	g_assert_cmphex(r[0], ==, 2);
	check_vendor(r, "GenuineIntel");
	cpuid(tb, 1, r);
	g_assert_cmphex(r[0], ==, 0x652);
	g_assert_cmphex(r[1], ==, 0);
	g_assert_cmphex(r[2], ==, 0);
	/* DE PSE TSC MSR MCE CX8 APIC MTRR MCA CMOV */
	g_assert_cmphex(r[3], ==, 0xd3bc);
	cpuid(tb, 2, r);
	g_assert_cmphex(r[0], ==, 0x03020101u);
	g_assert_cmphex(r[3], ==, 0x0c040843u);
	cpuid(tb, 0x80000000u, r2);
	g_assert_cmpmem(r, 16, r2, 16);
	cpuid(tb, 7, r2);
	g_assert_cmpmem(r, 16, r2, 16);
	g_assert_cmphex(tb->cpu->cr4, ==, 0);
	tb_free(tb);
}

/* Pentium (QEMU -cpu pentium): max leaf 1, 0x543, DE PSE TSC MSR MCE CX8
 * APIC (no FPU, VME, MMX). */
static void test_cpuid_pentium(void)
{
	struct testbus *tb = tb_model("pentium");
	uint32_t r[4], r2[4];
	cpuid(tb, 0, r);
	g_assert_cmphex(r[0], ==, 1);
	check_vendor(r, "GenuineIntel");
	cpuid(tb, 1, r);
	g_assert_cmphex(r[0], ==, 0x543);
	g_assert_cmphex(r[3], ==, 0x3bc);
	cpuid(tb, 0x80000000u, r2);
	g_assert_cmpmem(r, 16, r2, 16);
	tb_free(tb);
}

/* i486 (QEMU -cpu 486): max leaf 1, 0x480, PSE only (no FPU, VME). */
static void test_cpuid_486(void)
{
	struct testbus *tb = tb_model("486");
	uint32_t r[4];
	cpuid(tb, 0, r);
	g_assert_cmphex(r[0], ==, 1);
	check_vendor(r, "GenuineIntel");
	cpuid(tb, 1, r);
	g_assert_cmphex(r[0], ==, 0x480);
	g_assert_cmphex(r[3], ==, CPUID_EDX_PSE);
	tb_free(tb);
}

/* nestlab's own identity, as before models. */
static void test_cpuid_nestlab(void)
{
	struct testbus *tb = tb_model("nestlab");
	uint32_t r[4];
	cpuid(tb, 0, r);
	g_assert_cmphex(r[0], ==, 1);
	check_vendor(r, "NestLab-i686");
	cpuid(tb, 1, r);
	g_assert_cmphex(r[0], ==, 0x633);
	g_assert_cmphex(r[3], ==, 0x833c);
	tb_free(tb);
}

/* EDX after RESET is the model's signature. */
static void test_reset_signature(void)
{
	struct testbus *tb = tb_model("pentium");
	cpu_reset(tb->cpu);
	g_assert_cmphex(tb->cpu->r[EDX], ==, 0x543);
	tb_free(tb);
}

/* }====================================================================== */

/* {====== MSRs ====== */

/* An MSR the part lacks raises #GP(0): IA32_MISC_ENABLE and EFER came
 * with later parts; the Pentium had no APIC_BASE or MTRRs. */
static void test_msr_absent_gp(void)
{
	uint64_t v;
	struct testbus *tb = tb_model("pentium2");
	g_assert_cmpint(rdmsr(tb, 0x1a0, &v), ==, GOT_GP);       /* IA32_MISC_ENABLE */
	g_assert_cmphex(tb_get32(tb, 0x8000 - 16), ==, 0);        /* error code 0 */
	g_assert_cmpint(wrmsr(tb, 0x1a0, 0), ==, GOT_GP);
	g_assert_cmpint(rdmsr(tb, 0xc0000080u, &v), ==, GOT_GP); /* EFER */
	g_assert_cmpint(rdmsr(tb, 0xc0010000u, &v), ==, GOT_GP); /* K7 PERFEVTSEL0 */
	g_assert_cmpint(rdmsr(tb, 0x403, &v), ==, GOT_GP);        /* MC0_MISC: not on P6 */
	tb_free(tb);
	tb = tb_model("pentium");
	g_assert_cmpint(rdmsr(tb, 0x1b, &v), ==, GOT_GP);
	g_assert_cmpint(rdmsr(tb, 0x2ff, &v), ==, GOT_GP);
	g_assert_cmpint(rdmsr(tb, 0x11, &v), ==, RAN);            /* CESR */
	tb_free(tb);
}

/* The writable bits of a present MSR round-trip; read-only bits keep their
 * value; a reserved bit raises #GP and changes nothing. */
static void test_msr_round_trip(void)
{
	uint64_t v;
	struct testbus *tb = tb_model("pentium2");
	g_assert_cmpint(rdmsr(tb, 0xfe, &v), ==, RAN); /* MTRRcap: 8 variable, fixed, WC */
	g_assert_cmphex(v, ==, 0x508);
	g_assert_cmpint(wrmsr(tb, 0xfe, 0), ==, GOT_GP);
	g_assert_cmpint(wrmsr(tb, 0x2ff, 0xc06), ==, RAN); /* MTRRdefType: E, FE, WB */
	g_assert_cmpint(rdmsr(tb, 0x2ff, &v), ==, RAN);
	g_assert_cmphex(v, ==, 0xc06);
	g_assert_cmpint(wrmsr(tb, 0x2ff, 0x1000), ==, GOT_GP);
	g_assert_cmpint(rdmsr(tb, 0x2ff, &v), ==, RAN);
	g_assert_cmphex(v, ==, 0xc06);
	g_assert_cmpint(wrmsr(tb, 0x205, 0x123456789abcdefull), ==, GOT_GP); /* above bit 35 */
	g_assert_cmpint(wrmsr(tb, 0x205, 0xfffff0800ull), ==, RAN);        /* PhysMask2 */
	g_assert_cmpint(rdmsr(tb, 0x205, &v), ==, RAN);
	g_assert_cmphex(v, ==, 0xfffff0800ull);
	g_assert_cmpint(wrmsr(tb, MSR_IA32_SYSENTER_CS, 0x12345678), ==, RAN);
	g_assert_cmpint(rdmsr(tb, MSR_IA32_SYSENTER_CS, &v), ==, RAN);
	g_assert_cmphex(v, ==, 0x5678);
	/* APIC_BASE: BSP (bit 8) is read-only */
	g_assert_cmpint(rdmsr(tb, MSR_IA32_APIC_BASE, &v), ==, RAN);
	g_assert_cmphex(v, ==, 0xfee00900ull);
	g_assert_cmpint(wrmsr(tb, MSR_IA32_APIC_BASE, 0xfee00800ull), ==, RAN);
	g_assert_cmpint(rdmsr(tb, MSR_IA32_APIC_BASE, &v), ==, RAN);
	g_assert_cmphex(v, ==, 0xfee00900ull);
	g_assert_cmpint(wrmsr(tb, MSR_IA32_APIC_BASE, 0xfee00901ull), ==, GOT_GP);
	/* machine-check status takes only 0 */
	g_assert_cmpint(wrmsr(tb, 0x401, 0), ==, RAN);
	g_assert_cmpint(wrmsr(tb, 0x401, 1), ==, GOT_GP);
	/* P6 TSC: a write sets bits 31:0 and clears 63:32 */
	g_assert_cmpint(wrmsr(tb, MSR_IA32_TSC, 0x500000000ull), ==, RAN);
	g_assert_cmpint(rdmsr(tb, MSR_IA32_TSC, &v), ==, RAN);
	g_assert_cmphex(v >> 32, ==, 0);
	/* the reset values come back with RESET */
	cpu_reset(tb->cpu);
	uint64_t r;
	g_assert_cmpint(cpu_msr_read(tb->cpu, 0x2ff, &r), ==, 0);
	g_assert_cmphex(r, ==, 0);
	tb_free(tb);
}

/* Removing a feature removes its MSRs: -mtrr has no MTRRs, -mca no banks. */
static void test_msr_follow_features(void)
{
	struct testbus *tb = tb_model("pentium2");
	uint64_t v;
	g_assert_true(cpu_set_model(tb->cpu, model_id("pentium2"),
	                            cpu_model_get(model_id("pentium2"))->edx & ~CPUID_EDX_MTRR));
	g_assert_cmpint(cpu_msr_read(tb->cpu, 0xfe, &v), ==, EXC_GP);
	g_assert_cmpint(cpu_msr_read(tb->cpu, 0x400, &v), ==, 0);
	tb_free(tb);
}

/* The i486 has no RDMSR/WRMSR (#UD), but for MSR_NESTLAB_CTL; no RDTSC,
 * CMPXCHG8B or CMOV either. */
static void test_486_lacks(void)
{
	uint64_t v;
	struct testbus *tb = tb_model("486");
	g_assert_cmpint(rdmsr(tb, MSR_IA32_TSC, &v), ==, GOT_UD);
	g_assert_cmpint(wrmsr(tb, MSR_IA32_APIC_BASE, 0), ==, GOT_UD);
	g_assert_cmpint(wrmsr(tb, MSR_NESTLAB_CTL, 0), ==, RAN);
	g_assert_cmpint(run1(tb, "\x0f\x31", 2), ==, GOT_UD);             /* rdtsc */
	tb->cpu->r[ESI] = 0x2000;
	g_assert_cmpint(run1(tb, "\x0f\xc7\x0e", 3), ==, GOT_UD);         /* cmpxchg8b [esi] */
	g_assert_cmpint(run1(tb, "\x0f\x44\xc1", 3), ==, GOT_UD);         /* cmove eax,ecx */
	tb->cpu->r[EAX] = CR4_TSD;
	g_assert_cmpint(run1(tb, "\x0f\x22\xe0", 3), ==, GOT_GP);         /* mov cr4,eax */
	tb_free(tb);
	tb = tb_model("pentium2");
	g_assert_cmpint(run1(tb, "\x0f\x31", 2), ==, RAN);
	g_assert_cmpint(run1(tb, "\x0f\x44\xc1", 3), ==, RAN);
	tb_free(tb);
}

/* }====================================================================== */

/* {====== --cpu ====== */

static void test_parse(void)
{
	int m;
	uint32_t edx;
	char err[512];
	g_assert_true(cpu_model_parse("pentium2", &m, &edx, err, sizeof err));
	g_assert_cmpint(m, ==, CPU_MODEL_DEFAULT);
	g_assert_true(cpu_model_parse("486,+tsc,+cx8,-pse", &m, &edx, err, sizeof err));
	g_assert_cmphex(edx, ==, CPUID_EDX_TSC | CPUID_EDX_CX8);
	g_assert_false(cpu_model_parse("k6", &m, &edx, err, sizeof err));
	g_assert_nonnull(strstr(err, "pentium2, pentium, 486, nestlab"));
	g_assert_false(cpu_model_parse("pentium2,+sse", &m, &edx, err, sizeof err));
	g_assert_nonnull(strstr(err, "cannot add 'sse'"));
	g_assert_false(cpu_model_parse("pentium,+mtrr", &m, &edx, err, sizeof err));
	g_assert_false(cpu_model_parse("486,-tsc", &m, &edx, err, sizeof err));
	g_assert_nonnull(strstr(err, "it has: pse"));
	g_assert_false(cpu_model_parse("486,tsc", &m, &edx, err, sizeof err));
}

/* }====================================================================== */

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/cpu/model/pentium2/cpuid", test_cpuid_pentium2);
	g_test_add_func("/cpu/model/pentium/cpuid", test_cpuid_pentium);
	g_test_add_func("/cpu/model/486/cpuid", test_cpuid_486);
	g_test_add_func("/cpu/model/nestlab/cpuid", test_cpuid_nestlab);
	g_test_add_func("/cpu/model/reset-edx-is-signature", test_reset_signature);
	g_test_add_func("/cpu/model/msr/absent-gp", test_msr_absent_gp);
	g_test_add_func("/cpu/model/msr/writable-bits-round-trip", test_msr_round_trip);
	g_test_add_func("/cpu/model/msr/follow-features", test_msr_follow_features);
	g_test_add_func("/cpu/model/486/lacks-msr-tsc-cx8-cmov", test_486_lacks);
	g_test_add_func("/cpu/model/parse-messages", test_parse);
	return g_test_run();
}
