/*
 * model.c - the CPU models: one table per real part (docs/cpu.md, "CPU
 * models").
 *
 * Facts come from the Intel SDM (Vol. 2A CPUID; Vol. 4, "MSRs in the
 * Pentium Processor" and "MSRs in the P6 Family Processors"), Intel's
 * "Processor Identification and the CPUID Instruction" (AP-485) and the
 * identities QEMU gives its `-cpu 486`, `pentium` and `pentium2`. A part's
 * feature a nestlab CPU does not implement (x87, VME, MMX, PAE, PGE,
 * SYSENTER) is left out of CPUID and listed in `lacks`, so a guest never
 * uses what is not there.
 */
#include "model.h"

#include <stdio.h>
#include <string.h>

#include "cpu.h"
#include "x86.h"

#define ALL64 0xffffffffffffffffull

/* {====== MSR tables ====== */

#define NESTLAB_CTL_BITS (NESTLAB_CTL_STRICT | NESTLAB_CTL_CPUID_FAULT | NESTLAB_CTL_SEGLOAD_TRAP)
#define MSR_NESTLAB_ROW \
	{MSR_NESTLAB_CTL, 0, MSR_KIND_NESTLAB, 0, "NESTLAB_CTL", 0, NESTLAB_CTL_BITS, ~(uint64_t)NESTLAB_CTL_BITS}

/* nestlab's own identity (the CPU before models): what it always had. */
static const struct cpu_msr_def nestlab_msrs[] = {
	{MSR_IA32_TSC, 0, MSR_KIND_TSC, 0, "TSC", 0, ALL64, 0},
	{MSR_IA32_APIC_BASE, 0, MSR_KIND_APIC_BASE, 0, "APIC_BASE", 0xfee00900ull, 0xfffff900ull, 0},
	{MSR_IA32_SYSENTER_CS, 0, MSR_KIND_STORE, 0, "SYSENTER_CS", 0, 0xffff, 0},
	{MSR_IA32_SYSENTER_ESP, 0, MSR_KIND_STORE, 0, "SYSENTER_ESP", 0, 0xffffffffu, 0},
	{MSR_IA32_SYSENTER_EIP, 0, MSR_KIND_STORE, 0, "SYSENTER_EIP", 0, 0xffffffffu, 0},
	MSR_NESTLAB_ROW,
};

/* i486: no model-specific registers at all (RDMSR/WRMSR are #UD). */
static const struct cpu_msr_def i486_msrs[] = {
	MSR_NESTLAB_ROW,
};

/* Pentium (SDM Vol. 4, "MSRs in the Pentium Processor"). The event
 * counters CTR0/1 keep what is written (40 bits) but count nothing. */
static const struct cpu_msr_def pentium_msrs[] = {
	{0x0, 0, MSR_KIND_STORE, CPUID_EDX_MCE, "P5_MC_ADDR", 0, 0, 0},
	{0x1, 0, MSR_KIND_STORE, CPUID_EDX_MCE, "P5_MC_TYPE", 0, 0, 0},
	{MSR_IA32_TSC, 0, MSR_KIND_TSC, CPUID_EDX_TSC, "TSC", 0, ALL64, 0},
	{0x11, 0, MSR_KIND_STORE, 0, "CESR", 0, 0x03ff03ffull, ~0x03ff03ffull},
	{0x12, 0, MSR_KIND_STORE, 0, "CTR0", 0, 0xffffffffffull, 0},
	{0x13, 0, MSR_KIND_STORE, 0, "CTR1", 0, 0xffffffffffull, 0},
	MSR_NESTLAB_ROW,
};

/* Variable-range MTRR pair n: PhysBase (type 7:0, base 35:12), PhysMask
 * (valid 11, mask 35:12); the other bits are reserved. */
#define MTRR_VAR(n) \
	{0x200 + 2 * (n), 0, MSR_KIND_STORE, CPUID_EDX_MTRR, "MTRRphysBase" #n, 0, 0xffffff0ffull, \
	 ~0xffffff0ffull}, \
	{0x201 + 2 * (n), 0, MSR_KIND_STORE, CPUID_EDX_MTRR, "MTRRphysMask" #n, 0, 0xffffff800ull, \
	 ~0xffffff800ull}

/* P6 family, as the Pentium II has them (SDM Vol. 4, "MSRs in the P6
 * Family Processors"). Machine checks never happen (the status registers
 * stay 0 and take only 0); the MTRRs are kept but nothing is cached, so
 * they change nothing; performance counters keep their values but count
 * nothing; BIOS_UPDT_TRIG accepts a write and loads no microcode. */
static const struct cpu_msr_def p6_msrs[] = {
	{0x0, 0, MSR_KIND_STORE, CPUID_EDX_MCE, "P5_MC_ADDR", 0, 0, 0},
	{0x1, 0, MSR_KIND_STORE, CPUID_EDX_MCE, "P5_MC_TYPE", 0, 0, 0},
	/* P6: a write sets bits 31:0 and clears 63:32 */
	{MSR_IA32_TSC, 0, MSR_KIND_TSC, CPUID_EDX_TSC, "TSC", 0, 0xffffffffull, 0},
	{0x17, 0, MSR_KIND_RO, 0, "IA32_PLATFORM_ID", 0, 0, ALL64},
	/* bit 8 BSP read-only; 11 global enable; 35:12 base */
	{MSR_IA32_APIC_BASE, 0, MSR_KIND_APIC_BASE, CPUID_EDX_APIC, "APIC_BASE", 0xfee00900ull,
	 0xfffff800ull, 0xfffffff0000006ffull},
	{0x2a, 0, MSR_KIND_STORE, 0, "EBL_CR_POWERON", 0, 0x5eull, 0},
	{0x79, 0, MSR_KIND_STORE, 0, "BIOS_UPDT_TRIG", 0, 0, 0},
	{0x8b, 0, MSR_KIND_STORE, 0, "BIOS_SIGN_ID", 0, ALL64, 0},
	{0xc1, 2, MSR_KIND_STORE, 0, "PERFCTR0-1", 0, 0xffffffffffull, 0},
	{0xfe, 0, MSR_KIND_RO, CPUID_EDX_MTRR, "IA32_MTRRCAP", 0x508, 0, ALL64},
	{MSR_IA32_SYSENTER_CS, 0, MSR_KIND_STORE, 0, "SYSENTER_CS", 0, 0xffff, 0},
	{MSR_IA32_SYSENTER_ESP, 0, MSR_KIND_STORE, 0, "SYSENTER_ESP", 0, 0xffffffffu, 0},
	{MSR_IA32_SYSENTER_EIP, 0, MSR_KIND_STORE, 0, "SYSENTER_EIP", 0, 0xffffffffu, 0},
	{0x179, 0, MSR_KIND_RO, CPUID_EDX_MCA, "IA32_MCG_CAP", 0x105, 0, ALL64},
	{0x17a, 0, MSR_KIND_STORE, CPUID_EDX_MCA, "IA32_MCG_STATUS", 0, 0x7, ~0x7ull},
	{0x17b, 0, MSR_KIND_STORE, CPUID_EDX_MCA, "IA32_MCG_CTL", 0, ALL64, 0},
	{0x186, 2, MSR_KIND_STORE, 0, "EVNTSEL0-1", 0, 0xffffffffull, 0xffffffff00000000ull},
	{0x1d9, 0, MSR_KIND_STORE, 0, "DEBUGCTLMSR", 0, 0x1, ~0x7full},
	{0x1db, 4, MSR_KIND_RO, 0, "LASTBRANCH/EXCEPTION FROM/TO", 0, 0, ALL64},
	MTRR_VAR(0),
	MTRR_VAR(1),
	MTRR_VAR(2),
	MTRR_VAR(3),
	MTRR_VAR(4),
	MTRR_VAR(5),
	MTRR_VAR(6),
	MTRR_VAR(7),
	{0x250, 0, MSR_KIND_STORE, CPUID_EDX_MTRR, "MTRRfix64K_00000", 0, ALL64, 0},
	{0x258, 2, MSR_KIND_STORE, CPUID_EDX_MTRR, "MTRRfix16K_80000/A0000", 0, ALL64, 0},
	{0x268, 8, MSR_KIND_STORE, CPUID_EDX_MTRR, "MTRRfix4K_C0000-F8000", 0, ALL64, 0},
	{0x2ff, 0, MSR_KIND_STORE, CPUID_EDX_MTRR, "MTRRdefType", 0, 0xcffull, ~0xcffull},
	/* MC0-MC4: CTL, STATUS, ADDR (MISC is not implemented on the P6) */
	{0x400, 0, MSR_KIND_STORE, CPUID_EDX_MCA, "MC0_CTL", 0, ALL64, 0},
	{0x401, 2, MSR_KIND_STORE, CPUID_EDX_MCA, "MC0_STATUS/ADDR", 0, 0, ALL64},
	{0x404, 0, MSR_KIND_STORE, CPUID_EDX_MCA, "MC1_CTL", 0, ALL64, 0},
	{0x405, 2, MSR_KIND_STORE, CPUID_EDX_MCA, "MC1_STATUS/ADDR", 0, 0, ALL64},
	{0x408, 0, MSR_KIND_STORE, CPUID_EDX_MCA, "MC2_CTL", 0, ALL64, 0},
	{0x409, 2, MSR_KIND_STORE, CPUID_EDX_MCA, "MC2_STATUS/ADDR", 0, 0, ALL64},
	{0x40c, 0, MSR_KIND_STORE, CPUID_EDX_MCA, "MC3_CTL", 0, ALL64, 0},
	{0x40d, 2, MSR_KIND_STORE, CPUID_EDX_MCA, "MC3_STATUS/ADDR", 0, 0, ALL64},
	{0x410, 0, MSR_KIND_STORE, CPUID_EDX_MCA, "MC4_CTL", 0, ALL64, 0},
	{0x411, 2, MSR_KIND_STORE, CPUID_EDX_MCA, "MC4_STATUS/ADDR", 0, 0, ALL64},
	MSR_NESTLAB_ROW,
};

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* }====================================================================== */

/* {====== the models ====== */

static const struct cpu_model models[] = {
	{
		.name = "pentium2", .part = "Intel Pentium II (Deschutes), family 6 model 5 stepping 2",
		.qemu = "pentium2", .vendor = "GenuineIntel", .max_leaf = 2, .signature = 0x652,
		.edx = CPUID_EDX_DE | CPUID_EDX_PSE | CPUID_EDX_TSC | CPUID_EDX_MSR | CPUID_EDX_MCE |
		       CPUID_EDX_CX8 | CPUID_EDX_APIC | CPUID_EDX_MTRR | CPUID_EDX_MCA | CPUID_EDX_CMOV,
		.lacks = CPUID_EDX_FPU | CPUID_EDX_VME | CPUID_EDX_PAE | CPUID_EDX_SEP | CPUID_EDX_PGE |
		         (1u << 16) /* PAT */ | (1u << 17) /* PSE36 */ | (1u << 23) /* MMX */ |
		         (1u << 24) /* FXSR */,
		/* 16 KiB L1 I and D, 512 KiB L2 (AP-485's Pentium II descriptors) */
		.leaf2 = {0x03020101u, 0, 0, 0x0c040843u},
		.msrs = p6_msrs, .n_msrs = N(p6_msrs),
	},
	{
		.name = "pentium", .part = "Intel Pentium (P54C with MMX signature, as QEMU's), family 5 model 4 stepping 3",
		.qemu = "pentium", .vendor = "GenuineIntel", .max_leaf = 1, .signature = 0x543,
		.edx = CPUID_EDX_DE | CPUID_EDX_PSE | CPUID_EDX_TSC | CPUID_EDX_MSR | CPUID_EDX_MCE |
		       CPUID_EDX_CX8 | CPUID_EDX_APIC,
		.lacks = CPUID_EDX_FPU | CPUID_EDX_VME | (1u << 23) /* MMX */,
		.msrs = pentium_msrs, .n_msrs = N(pentium_msrs),
	},
	{
		.name = "486", .part = "Intel i486 with CPUID (IntelDX4 signature, as QEMU's), family 4 model 8 stepping 0",
		.qemu = "486", .vendor = "GenuineIntel", .max_leaf = 1, .signature = 0x480,
		.edx = CPUID_EDX_PSE, /* as QEMU's 486 */
		.lacks = CPUID_EDX_FPU | CPUID_EDX_VME,
		.msrs = i486_msrs, .n_msrs = N(i486_msrs),
	},
	{
		.name = "nestlab", .part = "nestlab's own identity, \"NestLab-i686\", family 6 model 3 stepping 3",
		.qemu = NULL, .vendor = "NestLab-i686", .max_leaf = 1, .signature = 0x633,
		.edx = CPUID_EDX_DE | CPUID_EDX_PSE | CPUID_EDX_TSC | CPUID_EDX_MSR | CPUID_EDX_CX8 |
		       CPUID_EDX_APIC | CPUID_EDX_CMOV,
		.msrs = nestlab_msrs, .n_msrs = N(nestlab_msrs),
	},
};

_Static_assert(CPU_MODEL_DEFAULT == 0, "the default model is the first of the table");

int cpu_model_count(void)
{
	return N(models);
}

const struct cpu_model *cpu_model_get(int id)
{
	return id >= 0 && id < N(models) ? &models[id] : NULL;
}

/* }====================================================================== */

/* {====== features ====== */

/* QEMU's names of the CPUID.1:EDX bits. */
static const char *const edx_names[32] = {
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce",
	"cx8", "apic", NULL, "sep", "mtrr", "pge", "mca", "cmov",
	"pat", "pse36", "pn", "clflush", NULL, "ds", "acpi", "mmx",
	"fxsr", "sse", "sse2", "ss", "ht", "tm", "ia64", "pbe",
};

const char *cpu_feature_name(int bit)
{
	return bit >= 0 && bit < 32 ? edx_names[bit] : NULL;
}

uint32_t cpu_model_addable(void)
{
	/* what the engine does whatever the model: no MSRs come with these */
	return CPUID_EDX_DE | CPUID_EDX_PSE | CPUID_EDX_TSC | CPUID_EDX_CX8 | CPUID_EDX_CMOV |
	       CPUID_EDX_APIC;
}

static int feature_bit(const char *name, size_t len)
{
	for (int b = 0; b < 32; b++)
		if (edx_names[b] && strlen(edx_names[b]) == len && !strncmp(edx_names[b], name, len))
			return b;
	return -1;
}

static void list_flags(char *buf, size_t len, uint32_t mask)
{
	buf[0] = 0;
	for (int b = 0; b < 32; b++)
		if ((mask >> b) & 1) {
			size_t at = strlen(buf);
			snprintf(buf + at, len - at, "%s%s", at ? " " : "", edx_names[b]);
		}
}

static void list_models(char *buf, size_t len)
{
	buf[0] = 0;
	for (int i = 0; i < N(models); i++) {
		size_t at = strlen(buf);
		snprintf(buf + at, len - at, "%s%s", i ? ", " : "", models[i].name);
	}
}

static bool apply_flag(const struct cpu_model *m, const char *f, size_t n, uint32_t *edx, char *err,
                       size_t errlen)
{
	char names[256];
	if (n < 2 || (f[0] != '+' && f[0] != '-')) {
		snprintf(err, errlen, "--cpu: '%.*s' is not +FLAG or -FLAG", (int)n, f);
		return false;
	}
	int b = feature_bit(f + 1, n - 1);
	uint32_t bit = b < 0 ? 0 : 1u << b;
	uint32_t can_add = cpu_model_addable() | m->edx;
	if (f[0] == '-' && !(bit & m->edx)) {
		list_flags(names, sizeof names, m->edx);
		snprintf(err, errlen, "--cpu: the %s model has no feature '%.*s' to remove; it has: %s",
		         m->name, (int)n - 1, f + 1, names);
		return false;
	}
	if (f[0] == '+' && !(bit & can_add)) {
		list_flags(names, sizeof names, can_add);
		snprintf(err, errlen, "--cpu: nestlab cannot add '%.*s' to the %s model; it can have: %s",
		         (int)n - 1, f + 1, m->name, names);
		return false;
	}
	*edx = f[0] == '+' ? *edx | bit : *edx & ~bit;
	return true;
}

bool cpu_model_parse(const char *spec, int *model, uint32_t *edx, char *err, size_t errlen)
{
	const char *comma = strchr(spec, ',');
	size_t n = comma ? (size_t)(comma - spec) : strlen(spec);
	const struct cpu_model *m = NULL;
	for (int i = 0; i < N(models); i++)
		if (strlen(models[i].name) == n && !strncmp(models[i].name, spec, n)) {
			m = &models[i];
			*model = i;
		}
	if (!m) {
		char names[256];
		list_models(names, sizeof names);
		snprintf(err, errlen, "--cpu: no CPU model '%.*s'; the models are: %s (--cpu help describes them)",
		         (int)n, spec, names);
		return false;
	}
	*edx = m->edx;
	while (comma) {
		const char *f = comma + 1;
		comma = strchr(f, ',');
		size_t fn = comma ? (size_t)(comma - f) : strlen(f);
		if (!apply_flag(m, f, fn, edx, err, errlen))
			return false;
	}
	return true;
}

void cpu_model_help(void *fp)
{
	FILE *f = fp;
	char names[256];
	fprintf(f, "CPU models (--cpu MODEL[,+FLAG][,-FLAG]...; the first is the default):\n");
	for (int i = 0; i < N(models); i++) {
		const struct cpu_model *m = &models[i];
		list_flags(names, sizeof names, m->edx);
		fprintf(f, "  %-9s %s\n", m->name, m->part);
		fprintf(f, "            vendor %s, CPUID max leaf %u, signature 0x%x%s%s\n", m->vendor,
		        m->max_leaf, m->signature, m->qemu ? ", QEMU -cpu " : "", m->qemu ? m->qemu : "");
		fprintf(f, "            features: %s\n", names);
		if (m->lacks) {
			list_flags(names, sizeof names, m->lacks);
			fprintf(f, "            the part also has, nestlab does not: %s\n", names);
		}
		fprintf(f, "            MSRs:");
		for (int j = 0; j < m->n_msrs; j++)
			fprintf(f, " %s", m->msrs[j].name);
		fprintf(f, "\n");
	}
	list_flags(names, sizeof names, cpu_model_addable());
	fprintf(f, "Flags +FLAG may add to any model: %s; -FLAG removes any feature a model has.\n", names);
}

/* }====================================================================== */

/* {====== CPUID and MSRs ====== */

const struct cpu_msr_def *cpu_model_msr(const struct cpu_model *m, uint32_t edx, uint32_t index,
                                        int *slot)
{
	int s = 0;
	for (int i = 0; i < m->n_msrs; i++) {
		const struct cpu_msr_def *d = &m->msrs[i];
		uint32_t count = d->count ? d->count : 1;
		if (index >= d->index && index - d->index < count) {
			if (d->needs && !(edx & d->needs))
				return NULL;
			*slot = s + (int)(index - d->index);
			return d;
		}
		s += (int)count;
	}
	return NULL;
}

void cpu_model_msr_reset(const struct cpu_model *m, uint64_t msr[CPU_MSR_SLOTS])
{
	int s = 0;
	memset(msr, 0, CPU_MSR_SLOTS * sizeof msr[0]);
	for (int i = 0; i < m->n_msrs; i++) {
		const struct cpu_msr_def *d = &m->msrs[i];
		for (uint32_t k = 0; k < (d->count ? d->count : 1u); k++, s++)
			if (s < CPU_MSR_SLOTS)
				msr[s] = d->reset;
	}
}

static uint32_t vendor_word(const struct cpu_model *m, int i)
{
	const unsigned char *v = (const unsigned char *)m->vendor;
	return (uint32_t)v[i] | (uint32_t)v[i + 1] << 8 | (uint32_t)v[i + 2] << 16 | (uint32_t)v[i + 3] << 24;
}

void cpu_model_cpuid(const struct cpu_model *m, uint32_t edx, bool apic, uint32_t leaf,
                     uint32_t out[4])
{
	/* A leaf above the maximum, basic or extended, reports the highest
	 * basic leaf (SDM Vol. 2A, CPUID: what Intel parts of this age do,
	 * which have no extended leaves). */
	if (leaf > m->max_leaf)
		leaf = m->max_leaf;
	out[0] = out[1] = out[2] = out[3] = 0;
	switch (leaf) {
	case 0:
		out[0] = m->max_leaf;
		out[1] = vendor_word(m, 0);
		out[3] = vendor_word(m, 4);
		out[2] = vendor_word(m, 8);
		break;
	case 1:
		out[0] = m->signature;
		out[3] = apic ? edx : edx & ~CPUID_EDX_APIC;
		break;
	case 2:
		memcpy(out, m->leaf2, sizeof m->leaf2);
		break;
	}
}

/* }====================================================================== */
