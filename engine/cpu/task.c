/*
 * task.c - hardware task switching (Intel SDM Vol. 3, chapter 7).
 *
 * A switch, whatever caused it (JMP or CALL to a TSS or task gate, an
 * interrupt or exception through a task gate, IRET with NT = 1):
 *
 *   1. reads the whole new TSS (faults here leave everything untouched),
 *   2. saves the current registers into the old TSS,
 *   3. updates busy bits (old cleared by JMP/IRET, new set by JMP/CALL/INT)
 *      and, for CALL/INT, the back link and NT of the new task,
 *   4. loads TR, CR0.TS, CR3 (32-bit TSS with paging), the registers and
 *      the selectors of the new task,
 *   5. then loads and checks LDTR and the segment descriptors: a fault from
 *      here on is reported in the context of the new task, as on hardware.
 *
 * 32-bit TSS (limit >= 67h)            16-bit TSS (limit >= 2Bh)
 *   00 link      1C CR3     48 ES        00 link   0E IP      22 ES
 *   04 ESP0      20 EIP     4C CS        02 SP0    10 FLAGS   24 CS
 *   08 SS0       24 EFLAGS  50 SS        04 SS0    12 AX..    26 SS
 *   0C ESP1      28 EAX..   54 DS        06 SP1    ..20 DI    28 DS
 *   10 SS1       ..44 EDI   58 FS        08 SS1               2A LDT
 *   14 ESP2                 5C GS        0A SP2
 *   18 SS2                  60 LDT       0C SS2
 *                           64 T bit, 66 I/O map base
 */
#include "desc.h"

/* DR7 local enables (L0-L3, LE): cleared by every task switch. */
#define DR7_LOCAL_ENABLES 0x155u
/* A 16-bit TSS gives no upper halves: they read as ones on the i386 family. */
#define TSS16_REG_HIGH 0xffff0000u

/* The state a TSS holds for its task. */
struct tss_state {
	uint32_t eip, eflags, cr3;
	uint32_t r[8];
	uint16_t sreg[6]; /* ES CS SS DS FS GS, in enum order */
	uint16_t ldt;
	bool trap;
};

static uint32_t tss_rd(struct cpu *cpu, uint32_t base, uint32_t off, int sz)
{
	return dt_read(cpu, base + off, sz);
}

static void tss_wr(struct cpu *cpu, uint32_t base, uint32_t off, uint32_t v, int sz)
{
	dt_write(cpu, base + off, v, sz);
}

/* Reads the new task's state: every fault of the TSS read happens here. */
static void tss_load_image(struct cpu *cpu, uint32_t base, bool is32, struct tss_state *t)
{
	if (is32) {
		t->cr3 = tss_rd(cpu, base, TSS32_CR3, 4);
		t->eip = tss_rd(cpu, base, TSS32_EIP, 4);
		t->eflags = tss_rd(cpu, base, TSS32_EFLAGS, 4);
		for (int i = 0; i < 8; i++)
			t->r[i] = tss_rd(cpu, base, TSS32_EAX + 4u * (uint32_t)i, 4);
		for (int i = 0; i < 6; i++)
			t->sreg[i] = (uint16_t)tss_rd(cpu, base, TSS32_ES + 4u * (uint32_t)i, 2);
		t->ldt = (uint16_t)tss_rd(cpu, base, TSS32_LDT, 2);
		t->trap = tss_rd(cpu, base, TSS32_T, 2) & 1;
	} else {
		t->cr3 = cpu->cr3;
		t->eip = tss_rd(cpu, base, TSS16_IP, 2);
		t->eflags = tss_rd(cpu, base, TSS16_FLAGS, 2);
		for (int i = 0; i < 8; i++)
			t->r[i] = TSS16_REG_HIGH | tss_rd(cpu, base, TSS16_AX + 2u * (uint32_t)i, 2);
		for (int i = 0; i < 4; i++)
			t->sreg[i] = (uint16_t)tss_rd(cpu, base, TSS16_ES + 2u * (uint32_t)i, 2);
		t->sreg[SEG_FS] = t->sreg[SEG_GS] = 0;
		t->ldt = (uint16_t)tss_rd(cpu, base, TSS16_LDT, 2);
		t->trap = false;
	}
}

/* Saves the current task's dynamic state into its TSS. */
static void tss_save(struct cpu *cpu, uint32_t base, bool is32, uint32_t eflags)
{
	if (is32) {
		tss_wr(cpu, base, TSS32_EIP, cpu->eip, 4);
		tss_wr(cpu, base, TSS32_EFLAGS, eflags, 4);
		for (int i = 0; i < 8; i++)
			tss_wr(cpu, base, TSS32_EAX + 4u * (uint32_t)i, cpu->r[i], 4);
		for (int i = 0; i < 6; i++)
			tss_wr(cpu, base, TSS32_ES + 4u * (uint32_t)i, cpu->seg[i].sel, 2);
	} else {
		tss_wr(cpu, base, TSS16_IP, cpu->eip, 2);
		tss_wr(cpu, base, TSS16_FLAGS, eflags, 2);
		for (int i = 0; i < 8; i++)
			tss_wr(cpu, base, TSS16_AX + 2u * (uint32_t)i, cpu->r[i], 2);
		for (int i = 0; i < 4; i++)
			tss_wr(cpu, base, TSS16_ES + 2u * (uint32_t)i, cpu->seg[i].sel, 2);
	}
}

/* Sets or clears the busy bit of the TSS descriptor `sel` in the GDT. */
static void tss_set_busy(struct cpu *cpu, uint16_t sel, bool busy)
{
	uint32_t a = cpu->gdtr.base + (sel & SEL_INDEX) + 5;
	uint32_t b = dt_read(cpu, a, 1);
	b = busy ? b | SYS_TSS_BUSY_BIT : b & ~(uint32_t)SYS_TSS_BUSY_BIT;
	dt_write(cpu, a, b, 1);
}

/* {====== loading the new task's segments (after the switch) ====== */

static _Noreturn void ts_fault(struct cpu *cpu, uint16_t sel)
{
	cpu_raise(cpu, EXC_TS, sel_err(sel, false));
}

static void task_load_ldt(struct cpu *cpu, uint16_t sel)
{
	if (sel_null(sel)) {
		seg_set_null(&cpu->ldtr, sel);
		return;
	}
	if (sel & SEL_TI)
		ts_fault(cpu, sel);
	uint64_t d = desc_fetch(cpu, sel, EXC_TS, false);
	if (desc_is_seg(d) || desc_type(d) != SYS_LDT || !desc_present(d))
		ts_fault(cpu, sel);
	seg_from_desc(&cpu->ldtr, sel, d);
}

/* Loads segment register `s` of the new task with the checks of Table 7-1. */
static void task_load_seg(struct cpu *cpu, int s, uint16_t sel)
{
	if (sel_null(sel)) {
		if (s == SEG_CS || s == SEG_SS)
			ts_fault(cpu, sel);
		seg_set_null(&cpu->seg[s], sel);
		return;
	}
	uint64_t d = desc_fetch(cpu, sel, EXC_TS, false);
	int rpl = sel & SEL_RPL, dpl = desc_dpl(d);
	int np = EXC_NP;
	if (s == SEG_CS) {
		if (!desc_is_code(d) || (desc_conforming(d) ? dpl > rpl : dpl != rpl))
			ts_fault(cpu, sel);
	} else if (s == SEG_SS) {
		if (!desc_writable_data(d) || dpl != cpu->cpl || rpl != cpu->cpl)
			ts_fault(cpu, sel);
		np = EXC_SS;
	} else {
		if (!desc_readable(d))
			ts_fault(cpu, sel);
		if (!desc_conforming(d) && (dpl < cpu->cpl || dpl < rpl))
			ts_fault(cpu, sel);
	}
	if (!desc_present(d))
		cpu_raise(cpu, np, sel_err(sel, false));
	desc_set_accessed(cpu, sel, d);
	seg_from_desc(&cpu->seg[s], sel, d | ((uint64_t)DESC_TYPE_A << 40));
	seg_update_ok(cpu, s);
}

/* Loads LDTR and the six segment registers from the selectors in place. */
static void task_load_segments(struct cpu *cpu, uint16_t ldt)
{
	static const int order[] = {SEG_CS, SEG_SS, SEG_ES, SEG_DS, SEG_FS, SEG_GS};
	task_load_ldt(cpu, ldt);
	if (cpu_v86(cpu)) {
		for (int s = 0; s < 6; s++)
			seg_set_v86(&cpu->seg[s], cpu->seg[s].sel);
		return;
	}
	for (int i = 0; i < 6; i++)
		task_load_seg(cpu, order[i], cpu->seg[order[i]].sel);
}

/* }====================================================================== */

/* Makes the new task's state the CPU's; segments are loaded afterwards. */
static void task_commit(struct cpu *cpu, uint16_t sel, uint64_t d, const struct tss_state *t)
{
	seg_from_desc(&cpu->tr, sel, d | ((uint64_t)SYS_TSS_BUSY_BIT << 40));
	cpu->cr0 |= CR0_TS;
	if (sys_is32(desc_type(d)) && (cpu->cr0 & CR0_PG) && cpu->cr3 != t->cr3) {
		cpu->cr3 = t->cr3;
		cpu_tlb_flush(cpu);
	}
	cpu->dr[7] &= ~DR7_LOCAL_ENABLES;
	memcpy(cpu->r, t->r, sizeof cpu->r);
	cpu->eip = t->eip;
	/* Selectors are in place, descriptors not yet loaded: unusable until checked. */
	for (int s = 0; s < 6; s++)
		seg_set_null(&cpu->seg[s], t->sreg[s]);
	cpu->ldtr.sel = t->ldt;
	cpu->cpl = t->sreg[SEG_CS] & SEL_RPL;
	cpu_set_eflags(cpu, t->eflags);
	/* From here on faults belong to the new task: they are new exceptions
	 * reported at its first instruction, not faults of the delivery that
	 * may have caused this switch. */
	cpu->start_eip = cpu->eip;
	cpu->start_esp = cpu->r[ESP];
	cpu->delivering = false;
}

void cpu_task_switch(struct cpu *cpu, uint16_t sel, uint64_t d, enum ts_reason reason, int err)
{
	bool n32 = sys_is32(desc_type(d));
	uint32_t nbase = desc_base(d);
	if (!desc_present(d))
		cpu_raise(cpu, EXC_NP, sel_err(sel, false));
	if (desc_limit(d) < (n32 ? (uint32_t)TSS32_MIN_LIMIT : (uint32_t)TSS16_MIN_LIMIT))
		ts_fault(cpu, sel);
	struct tss_state t;
	tss_load_image(cpu, nbase, n32, &t);

	uint32_t ofl = flags_get(cpu);
	if (reason == TS_IRET)
		ofl &= ~EFLAGS_NT;
	tss_save(cpu, cpu->tr.base, sys_is32(cpu->tr.attr & DESC_TYPE), ofl);
	if (reason == TS_JMP || reason == TS_IRET)
		tss_set_busy(cpu, cpu->tr.sel, false);
	if (reason == TS_CALL || reason == TS_INT) {
		tss_wr(cpu, nbase, TSS32_LINK, cpu->tr.sel, 2);
		t.eflags |= EFLAGS_NT;
	}
	if (reason != TS_IRET)
		tss_set_busy(cpu, sel, true);

	task_commit(cpu, sel, d, &t);
	task_load_segments(cpu, t.ldt);
	cpu_mode_changed(cpu);
	cpu->block_end = true;
	if (err >= 0)
		cpu_push(cpu, (uint32_t)err, n32 ? 4 : 2);
	if (cpu->eip > cpu->seg[SEG_CS].limit)
		cpu_gp0(cpu);
	if (t.trap) {
		cpu->dr6_pending |= DR6_BT;
		cpu->trap_after = true;
	}
}
