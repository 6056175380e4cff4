/*
 * seg.c - segmentation: the slow path of every memory access (limit and
 * type checks), segment register loads in real, v86 and protected mode,
 * descriptor table reads, and the caches derived from the segment state.
 *
 * The fast path (seg_lin in cpu_int.h) only compares the offset with the
 * limit when seg_ok[] says the segment is usable that way; everything else
 * (expand-down, read-only data, execute-only code, null selectors, accesses
 * that cross the limit) lands in seg_check() here and faults as the manual
 * says: #SS(0) for the stack segment, #GP(0) for the others.
 *
 * Every access to the GDT, LDT and TSS goes through dt_read/dt_write, so
 * guest mode can place them at physical addresses (docs/cpu.md, Guest mode).
 *
 * Intel SDM Vol. 3, chapter 3 (segments, descriptors) and 5 (protection);
 * Vol. 2, MOV/POP Sreg and LDS/LES/LFS/LGS/LSS.
 */
#include "desc.h"

/* Bits of seg_ok[]: one per enum acc. */
#define SEGOK_READ (1u << ACC_READ)
#define SEGOK_WRITE (1u << ACC_WRITE)
#define SEGOK_FETCH (1u << ACC_FETCH)

/* Attributes of every v86-mode segment: present ring-3 read/write accessed data. */
#define V86_SEG_ATTR (DESC_P | DESC_S | (3 << DESC_DPL_SHIFT) | DESC_TYPE_W | DESC_TYPE_A)

/* {====== limits and access checks ====== */

static bool expand_down(const struct seg *s)
{
	return (s->attr & (DESC_S | DESC_TYPE_CODE | DESC_TYPE_E)) == (DESC_S | DESC_TYPE_E);
}

/* Upper bound of an expand-down segment: the B bit picks 4 GiB or 64 KiB. */
static uint32_t upper_bound(const struct seg *s)
{
	return (s->attr & DESC_DB) ? 0xffffffffu : 0xffffu;
}

static bool limit_ok_up(uint32_t limit, uint32_t off, int sz)
{
	return off <= limit && (uint32_t)(sz - 1) <= limit - off;
}

bool seg_in_limit(const struct seg *s, uint32_t off, int sz)
{
	if (!expand_down(s))
		return limit_ok_up(s->limit, off, sz);
	/* Valid offsets are limit+1 .. upper bound, without wrapping. */
	uint32_t ub = upper_bound(s);
	return off > s->limit && off <= ub && (uint32_t)(sz - 1) <= ub - off;
}

static _Noreturn void seg_fault(struct cpu *cpu, int s)
{
	cpu_raise(cpu, s == SEG_SS ? EXC_SS : EXC_GP, 0);
}

uint32_t seg_check(struct cpu *cpu, int s, uint32_t off, int sz, enum acc acc)
{
	const struct seg *sg = &cpu->seg[s];
	if (!cpu_pmode(cpu)) {
		/* Real and v86 mode: only the (expand-up) limit applies. */
		if (!limit_ok_up(sg->limit, off, sz))
			seg_fault(cpu, s);
		return sg->base + off;
	}
	if (!(sg->attr & DESC_P))
		seg_fault(cpu, s); /* null selector (or unusable cache) */
	bool code = (sg->attr & DESC_TYPE_CODE) != 0;
	if (acc == ACC_WRITE && (code || !(sg->attr & DESC_TYPE_W)))
		seg_fault(cpu, s);
	if (acc == ACC_READ && code && !(sg->attr & DESC_TYPE_R))
		seg_fault(cpu, s);
	if (!seg_in_limit(sg, off, sz))
		seg_fault(cpu, s);
	return sg->base + off;
}

void seg_update_ok(struct cpu *cpu, int s)
{
	const struct seg *sg = &cpu->seg[s];
	uint8_t ok = 0;
	if (!cpu_pmode(cpu)) {
		ok = SEGOK_READ | SEGOK_WRITE | SEGOK_FETCH;
	} else if ((sg->attr & (DESC_P | DESC_S)) == (DESC_P | DESC_S)) {
		if (sg->attr & DESC_TYPE_CODE) {
			ok = SEGOK_FETCH | ((sg->attr & DESC_TYPE_R) ? SEGOK_READ : 0);
		} else if (!(sg->attr & DESC_TYPE_E)) {
			ok = SEGOK_READ | ((sg->attr & DESC_TYPE_W) ? SEGOK_WRITE : 0);
		}
	}
	cpu->seg_ok[s] = ok;
}

/* }====================================================================== */

/* {====== descriptor tables ====== */

/* GDT/LDT/TSS access: physical in guest mode with dt_phys (the monitor's
 * tables need no linear home), else a linear supervisor access. */
uint32_t dt_read(struct cpu *cpu, uint32_t addr, int sz)
{
	if (unlikely(cpu->guest.dt_phys) && cpu->guest.on)
		return phys_read(cpu, addr & cpu->a20_mask, sz);
	return lin_read(cpu, addr, sz, false);
}

/* The write side of dt_read: the same two paths. */
void dt_write(struct cpu *cpu, uint32_t addr, uint32_t v, int sz)
{
	if (unlikely(cpu->guest.dt_phys) && cpu->guest.on)
		phys_write(cpu, addr & cpu->a20_mask, v, sz);
	else
		lin_write(cpu, addr, v, sz, false);
}

uint64_t desc_fetch(struct cpu *cpu, uint16_t sel, int vec, bool ext)
{
	uint32_t base, limit;
	if (sel & SEL_TI) {
		if (!(cpu->ldtr.attr & DESC_P) || sel_null(cpu->ldtr.sel))
			cpu_raise(cpu, vec, sel_err(sel, ext));
		base = cpu->ldtr.base;
		limit = cpu->ldtr.limit;
	} else {
		base = cpu->gdtr.base;
		limit = cpu->gdtr.limit;
	}
	uint32_t idx = sel & SEL_INDEX;
	if (idx + 7 > limit)
		cpu_raise(cpu, vec, sel_err(sel, ext));
	uint32_t lo = dt_read(cpu, base + idx, 4);
	uint32_t hi = dt_read(cpu, base + idx + 4, 4);
	return ((uint64_t)hi << 32) | lo;
}

uint64_t desc_read(struct cpu *cpu, uint16_t sel, int vec)
{
	return desc_fetch(cpu, sel, vec, false);
}

void desc_set_accessed(struct cpu *cpu, uint16_t sel, uint64_t d)
{
	if (!desc_is_seg(d) || (desc_attr(d) & DESC_TYPE_A))
		return;
	uint32_t base = (sel & SEL_TI) ? cpu->ldtr.base : cpu->gdtr.base;
	uint32_t type_byte = (desc_hi(d) >> 8) & 0xff;
	dt_write(cpu, base + (sel & SEL_INDEX) + 5, type_byte | DESC_TYPE_A, 1);
}

void seg_from_desc(struct seg *s, uint16_t sel, uint64_t d)
{
	s->sel = sel;
	s->base = desc_base(d);
	s->limit = desc_limit(d);
	s->attr = desc_attr(d);
}

void seg_set_null(struct seg *s, uint16_t sel)
{
	s->sel = sel;
	s->base = 0;
	s->limit = 0;
	s->attr = 0;
}

void seg_set_v86(struct seg *s, uint16_t sel)
{
	s->sel = sel;
	s->base = (uint32_t)sel << 4;
	s->limit = 0xffff;
	s->attr = V86_SEG_ATTR;
}

/* }====================================================================== */

/* {====== segment register loads ====== */

/* LSS/MOV SS/POP SS in protected mode: the manual's checks in its order. */
static void load_ss_pmode(struct cpu *cpu, uint16_t sel)
{
	if (sel_null(sel))
		cpu_gp0(cpu);
	uint64_t d = desc_read(cpu, sel, EXC_GP);
	int err = sel_err(sel, false);
	if ((sel & SEL_RPL) != cpu->cpl || !desc_writable_data(d) || desc_dpl(d) != cpu->cpl)
		cpu_raise(cpu, EXC_GP, err);
	if (!desc_present(d))
		cpu_raise(cpu, EXC_SS, err);
	desc_set_accessed(cpu, sel, d);
	seg_from_desc(&cpu->seg[SEG_SS], sel, d | ((uint64_t)DESC_TYPE_A << 40));
}

/* MOV/POP DS, ES, FS, GS and LDS/LES/LFS/LGS in protected mode. */
static void load_data_pmode(struct cpu *cpu, int sreg, uint16_t sel)
{
	if (sel_null(sel)) {
		seg_set_null(&cpu->seg[sreg], sel);
		return;
	}
	if ((cpu->msr_nestlab_ctl & NESTLAB_CTL_SEGLOAD_TRAP) && cpu->cpl > 0)
		cpu_gp0(cpu);
	uint64_t d = desc_read(cpu, sel, EXC_GP);
	int err = sel_err(sel, false);
	if (!desc_readable(d))
		cpu_raise(cpu, EXC_GP, err);
	if (!desc_conforming(d)) {
		int dpl = desc_dpl(d);
		if ((sel & SEL_RPL) > dpl || cpu->cpl > dpl)
			cpu_raise(cpu, EXC_GP, err);
	}
	if (!desc_present(d))
		cpu_raise(cpu, EXC_NP, err);
	desc_set_accessed(cpu, sel, d);
	seg_from_desc(&cpu->seg[sreg], sel, d | ((uint64_t)DESC_TYPE_A << 40));
}

void cpu_seg_loaded(struct cpu *cpu, int sreg)
{
	seg_update_ok(cpu, sreg);
}

void seg_load(struct cpu *cpu, int sreg, uint16_t sel)
{
	struct seg *s = &cpu->seg[sreg];
	if (cpu_v86(cpu)) {
		seg_set_v86(s, sel);
	} else if (!(cpu->cr0 & CR0_PE)) {
		/* Real mode: limit and attributes stay (unreal mode survives). */
		s->sel = sel;
		s->base = (uint32_t)sel << 4;
	} else {
		CPU_ASSERT(sreg != SEG_CS);
		if (sreg == SEG_SS)
			load_ss_pmode(cpu, sel);
		else
			load_data_pmode(cpu, sreg, sel);
	}
	seg_update_ok(cpu, sreg);
	if (sreg == SEG_SS) {
		cpu->stack32 = (s->attr & DESC_DB) != 0;
		cpu->intr_shadow = 1;
	} else if (sreg == SEG_CS) {
		cpu->code32 = (s->attr & DESC_DB) != 0;
		cpu->dc_key = (uint64_t)(cpu->code32 ? 2 : 1) << 32;
		cpu->eip_mask = cpu->code32 ? 0xffffffffu : 0xffff;
		cpu->fetch_page = 0;
	}
}

void seg_commit_cs(struct cpu *cpu, uint16_t sel, uint64_t d, int cpl)
{
	seg_from_desc(&cpu->seg[SEG_CS], (uint16_t)((sel & ~SEL_RPL) | cpl), d | ((uint64_t)DESC_TYPE_A << 40));
	cpu->cpl = (uint8_t)cpl;
	cpu_mode_changed(cpu);
	cpu->block_end = true;
}

void seg_commit_ss(struct cpu *cpu, uint16_t sel, uint64_t d, uint32_t esp)
{
	seg_from_desc(&cpu->seg[SEG_SS], sel, d | ((uint64_t)DESC_TYPE_A << 40));
	cpu->stack32 = (cpu->seg[SEG_SS].attr & DESC_DB) != 0;
	set_sp(cpu, esp);
	seg_update_ok(cpu, SEG_SS);
}

void cpu_set_seg_real(struct cpu *cpu, int sreg, uint16_t sel)
{
	struct seg *s = &cpu->seg[sreg];
	s->sel = sel;
	s->base = (uint32_t)sel << 4;
	cpu_mode_changed(cpu);
}

void cpu_mode_changed(struct cpu *cpu)
{
	if (cpu_v86(cpu))
		cpu->cpl = 3;
	else if (!(cpu->cr0 & CR0_PE))
		cpu->cpl = 0;
	cpu->code32 = (cpu->seg[SEG_CS].attr & DESC_DB) != 0;
	cpu->dc_key = (uint64_t)(cpu->code32 ? 2 : 1) << 32;
	cpu->eip_mask = cpu->code32 ? 0xffffffffu : 0xffff;
	cpu->stack32 = (cpu->seg[SEG_SS].attr & DESC_DB) != 0;
	cpu->user = mmu_user_index(cpu, cpu->cpl);
	for (int s = 0; s < 6; s++)
		seg_update_ok(cpu, s);
	cpu->fetch_page = 0;
}

/* }====================================================================== */
