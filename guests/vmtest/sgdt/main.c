/*
 * guests/vmtest/sgdt/main.c - the sensitive but unprivileged instructions
 * of the i386: what the guest reads back must be what it loaded.
 *
 * A kernel at CPL 0 loads its own GDT (with a TSS and an LDT descriptor),
 * IDT, task register and LDT register, sets CR0.TS, and then reads them
 * back with SGDT, SIDT, SMSW, STR, SLDT, MOV and PUSH of CS and SS, LAR,
 * LSL, VERR and VERW. On a real CPU, and under a monitor that traps and
 * emulates these instructions (nestlab's strict mode), every value matches.
 * On a real i386 they do not trap at CPL 3, so a guest kernel deprivileged
 * by a monitor sees the monitor's state instead of its own: the base of the
 * shadow GDT (host-physical pages of the monitor), RPL 3 in CS, the DPL 3
 * of the shadow descriptors (nestlab-run --faithful-i386).
 *
 * Each check prints PASS, or FAIL with both numbers. Exit status 0 iff all
 * passed. Every value it prints is the same on any machine that passes.
 */
#include "rt.h"

/* {====== descriptors (Intel SDM vol. 3, 3.4.5 and 3.5) */

#define DESC_P        0x80
#define DESC_DPL(n)   ((n) << 5)
#define DESC_DPL_MASK DESC_DPL(3)
#define DESC_S        0x10 /* code or data (not system) */
#define DESC_CODE_RX  0x0A
#define DESC_DATA_RW  0x02
#define DESC_LDT      0x02
#define DESC_TSS32    0x09 /* available 32-bit TSS */
#define DESC_TSS_BUSY 0x02 /* in the type: a loaded TSS is busy */
#define DESC_G_DB     0xC /* flags nibble: 4 KiB granularity, 32-bit */

/* LAR returns bytes 5 and 6 of the descriptor in bits 8-23; the accessed
 * bit (bit 8) is left out of the comparison. */
#define LAR_ACCESSED  0x00000100u
#define LAR_MASK      0x00F0FF00u
#define SEL_RPL_MASK  3u
#define MSW_MASK      0xFFFFu

/* }====== */

enum { G_NULL, G_CODE, G_DATA, G_UCODE, G_UDATA, G_TSS, G_LDT, G_ENTRIES };

#define SEL(i) ((uint16_t)((i) << 3))
#define SEL_CODE SEL(G_CODE)
#define SEL_DATA SEL(G_DATA)
#define SEL_TSS  SEL(G_TSS)
#define SEL_LDT  SEL(G_LDT)
#define IDT_VECTORS 256
#define LDT_ENTRIES 4

struct table_reg {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

extern const uint32_t rt_isr_table[IDT_VECTORS]; /* guests/lib/rt/isr.asm */

static uint64_t gdt[G_ENTRIES] __attribute__((aligned(8)));
static uint64_t ldt[LDT_ENTRIES] __attribute__((aligned(8)));
static uint64_t idt[IDT_VECTORS] __attribute__((aligned(8)));
static uint32_t tss[26] __attribute__((aligned(16))); /* a 104-byte TSS, unused but loaded */

/* The expected LAR result of a descriptor: its bytes 5 and 6. */
static uint32_t lar_of(uint64_t d)
{
	return (uint32_t)(d >> 32) & LAR_MASK;
}

/* {====== loading */

static void build_tables(void)
{
	const uint32_t flat = 0xFFFFF;

	gdt[G_NULL] = 0;
	gdt[G_CODE] = rt_make_desc(0, flat, DESC_P | DESC_S | DESC_CODE_RX, DESC_G_DB);
	gdt[G_DATA] = rt_make_desc(0, flat, DESC_P | DESC_S | DESC_DATA_RW, DESC_G_DB);
	gdt[G_UCODE] = rt_make_desc(0, flat, DESC_P | DESC_DPL(3) | DESC_S | DESC_CODE_RX, DESC_G_DB);
	gdt[G_UDATA] = rt_make_desc(0, flat, DESC_P | DESC_DPL(3) | DESC_S | DESC_DATA_RW, DESC_G_DB);
	gdt[G_TSS] = rt_make_desc((uint32_t)tss, sizeof tss - 1, DESC_P | DESC_TSS32, 0);
	gdt[G_LDT] = rt_make_desc((uint32_t)ldt, sizeof ldt - 1, DESC_P | DESC_LDT, 0);
	for (int v = 0; v < IDT_VECTORS; v++)
		idt[v] = rt_make_int_gate(SEL_CODE, rt_isr_table[v]);
}

static void load_tables(void)
{
	struct table_reg g = { sizeof gdt - 1, (uint32_t)gdt };
	struct table_reg i = { sizeof idt - 1, (uint32_t)idt };

	__asm__ volatile("lgdt %0\n\t"
			 "ljmp %1, $1f\n"
			 "1:\n\t"
			 "mov %2, %%ds\n\t"
			 "mov %2, %%es\n\t"
			 "mov %2, %%ss\n\t"
			 "lidt %3\n\t"
			 "ltr %w4\n\t"
			 "lldt %w5"
			 :
			 : "m"(g), "i"(SEL_CODE), "r"((uint32_t)SEL_DATA), "m"(i), "r"(SEL_TSS),
			   "r"(SEL_LDT)
			 : "memory");
}

/* }====== */

/* {====== the checks */

static void check_table(const char *insn, const struct table_reg *got, uint32_t base, uint16_t limit)
{
	if (got->base == base && got->limit == limit) {
		rt_printf("PASS: %s returns the table the guest loaded\n", insn);
		return;
	}
	rt_fail(insn, "%s returned base 0x%08x limit 0x%04x, the guest loaded base 0x%08x limit "
	        "0x%04x: the monitor's shadow table shows through", insn, got->base, got->limit,
	        base, limit);
}

static void check_sgdt_sidt(void)
{
	struct table_reg g = { 0, 0 }, i = { 0, 0 };

	__asm__ volatile("sgdt %0" : "=m"(g));
	__asm__ volatile("sidt %0" : "=m"(i));
	check_table("SGDT", &g, (uint32_t)gdt, sizeof gdt - 1);
	check_table("SIDT", &i, (uint32_t)idt, sizeof idt - 1);
}

static void check_sel(const char *what, uint32_t got, uint32_t want)
{
	if ((got & 0xFFFF) == want) {
		rt_printf("PASS: %s gives 0x%04x\n", what, want);
		return;
	}
	rt_fail(what, "got 0x%04x, the guest loaded 0x%04x%s", got & 0xFFFF, want,
	        (got & SEL_RPL_MASK) != (want & SEL_RPL_MASK) ? ": the real privilege level shows" : "");
}

static void check_selectors(void)
{
	uint32_t tr = 0, ldtr = 0, cs = 0, ss = 0, pcs = 0, pss = 0;

	__asm__ volatile("str %0" : "=r"(tr));
	__asm__ volatile("sldt %0" : "=r"(ldtr));
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	__asm__ volatile("mov %%ss, %0" : "=r"(ss));
	__asm__ volatile("push %%cs; pop %0" : "=r"(pcs));
	__asm__ volatile("push %%ss; pop %0" : "=r"(pss));
	check_sel("STR", tr, SEL_TSS);
	check_sel("SLDT", ldtr, SEL_LDT);
	check_sel("MOV from CS (RPL 0)", cs, SEL_CODE);
	check_sel("MOV from SS (RPL 0)", ss, SEL_DATA);
	check_sel("PUSH CS (RPL 0)", pcs, SEL_CODE);
	check_sel("PUSH SS (RPL 0)", pss, SEL_DATA);
}

/* SMSW with CR0.TS set by the guest and cleared again. */
static void check_smsw(void)
{
	uint32_t cr0 = read_cr0(), with_ts = 0, without_ts = 0;

	write_cr0(cr0 | CR0_TS);
	__asm__ volatile("smsw %0" : "=r"(with_ts));
	write_cr0(cr0 & ~CR0_TS);
	__asm__ volatile("smsw %0" : "=r"(without_ts));
	write_cr0(cr0);
	with_ts &= MSW_MASK;
	without_ts &= MSW_MASK;
	if (with_ts == ((cr0 | CR0_TS) & MSW_MASK) && without_ts == ((cr0 & ~CR0_TS) & MSW_MASK))
		rt_pass("SMSW returns the guest's CR0");
	else
		rt_fail("SMSW", "SMSW returned 0x%04x with TS set and 0x%04x with TS clear, the guest's "
		        "CR0 was 0x%04x and 0x%04x: the real CR0 shows through", with_ts, without_ts,
		        (cr0 | CR0_TS) & MSW_MASK, (cr0 & ~CR0_TS) & MSW_MASK);
}

static void check_lar_lsl(void)
{
	uint32_t ar = 0, lim = 0, lar_zf = 0, lsl_zf = 0;
	uint32_t want = lar_of(gdt[G_CODE]) & ~LAR_ACCESSED;

	__asm__ volatile("lar %2, %0\n\tsetz %b1" : "=r"(ar), "=q"(lar_zf) : "r"((uint32_t)SEL_CODE) : "cc");
	__asm__ volatile("lsl %2, %0\n\tsetz %b1" : "=r"(lim), "=q"(lsl_zf) : "r"((uint32_t)SEL_DATA) : "cc");
	ar &= LAR_MASK & ~LAR_ACCESSED;
	if ((lar_zf & 1) && ar == want)
		rt_pass("LAR of the code selector: DPL 0, code, present");
	else
		rt_fail("LAR of the code selector", "ZF=%u rights 0x%08x (DPL %u), the guest's "
		        "descriptor has 0x%08x (DPL 0)", lar_zf & 1, ar, (ar >> 13) & 3, want);
	if ((lsl_zf & 1) && lim == 0xFFFFFFFFu)
		rt_pass("LSL of the data selector: 4 GiB");
	else
		rt_fail("LSL of the data selector", "ZF=%u limit 0x%08x, the guest's descriptor "
		        "has 0xffffffff", lsl_zf & 1, lim);
}

static void check_verr_verw(void)
{
	uint32_t r_data = 0, w_data = 0, w_code = 0, r_tss = 0;

	__asm__ volatile("verr %w1\n\tsetz %b0" : "=q"(r_data) : "r"(SEL_DATA) : "cc");
	__asm__ volatile("verw %w1\n\tsetz %b0" : "=q"(w_data) : "r"(SEL_DATA) : "cc");
	__asm__ volatile("verw %w1\n\tsetz %b0" : "=q"(w_code) : "r"(SEL_CODE) : "cc");
	__asm__ volatile("verr %w1\n\tsetz %b0" : "=q"(r_tss) : "r"(SEL_TSS) : "cc");
	rt_check((r_data & 1) == 1, "VERR of the data selector: readable");
	rt_check((w_data & 1) == 1, "VERW of the data selector: writable");
	rt_check((w_code & 1) == 0, "VERW of the code selector: not writable");
	rt_check((r_tss & 1) == 0, "VERR of the TSS selector: not a segment");
}

/* LTR marks the guest's TSS descriptor busy in the guest's own GDT. */
static void check_tss_busy(void)
{
	uint32_t type = (uint32_t)(gdt[G_TSS] >> 40) & 0xF;

	if (type == (DESC_TSS32 | DESC_TSS_BUSY))
		rt_pass("LTR marked the guest's TSS descriptor busy");
	else
		rt_fail("LTR marked the guest's TSS descriptor busy", "type 0x%x, want 0x%x", type,
		        DESC_TSS32 | DESC_TSS_BUSY);
}

/* }====== */

int main(void)
{
	rt_puts("sgdt: SGDT, SIDT, SMSW, STR, SLDT, CS/SS, LAR, LSL, VERR, VERW read back the guest's state\n");
	build_tables();
	load_tables();
	check_sgdt_sidt();
	check_selectors();
	check_smsw();
	check_tss_busy();
	check_lar_lsl();
	check_verr_verw();
	rt_done();
}
