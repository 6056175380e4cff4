/*
 * sys.c - system instructions: descriptor-table registers, control, debug
 * and model-specific registers, CPUID, RDTSC, the protection probes
 * (LAR, LSL, VERR, VERW, ARPL), LLDT/LTR, INVLPG and the cache controls.
 *
 * Strict mode (ARCHITECTURE.md section 3): the sensitive but unprivileged
 * ones (SGDT, SIDT, SLDT, STR, SMSW, LAR, LSL, VERR, VERW) raise #GP(0) at
 * CPL > 0 when MSR_NESTLAB_CTL.STRICT is set, so a monitor can emulate them.
 */
#include "assist.h"
#include "cpu_int.h"

static bool real_or_v86(const struct cpu *cpu)
{
	return !(cpu->cr0 & CR0_PE) || cpu_v86(cpu);
}

static void need_pmode(struct cpu *cpu)
{
	if (real_or_v86(cpu))
		cpu_ud(cpu);
}

static void strict_check(struct cpu *cpu)
{
	if (cpu_strict_trap_store(cpu))
		cpu_gp0(cpu);
}

/* {====== descriptor-table registers (0F 01, 0F 00) ====== */

/* SGDT/SIDT Ms (0F 01 /0, /1): 16-bit operand size stores 24 bits of base on
 * the 386, all 32 on later CPUs; we are a P6 and store 32. */
static void op_sgdt_sidt(struct cpu *cpu, const struct insn *in)
{
	strict_check(cpu);
	const struct dtr *t = in->reg == 0 ? &cpu->gdtr : &cpu->idtr;
	uint32_t a = ea(cpu, in);
	uint32_t a2 = in->addrsize32 ? a + 2 : (a + 2) & 0xffff;
	mem_wr(cpu, in->seg, a, t->limit, 2);
	mem_wr(cpu, in->seg, a2, t->base, 4);
}

/* LGDT/LIDT Ms (0F 01 /2, /3) */
static void op_lgdt_lidt(struct cpu *cpu, const struct insn *in)
{
	cpu_need_cpl0(cpu);
	uint32_t a = ea(cpu, in);
	uint32_t a2 = in->addrsize32 ? a + 2 : (a + 2) & 0xffff;
	uint32_t limit = mem_rd(cpu, in->seg, a, 2);
	uint32_t base = mem_rd(cpu, in->seg, a2, 4);
	if (!in->opsize32)
		base &= 0xffffff;
	struct dtr *t = in->reg == 2 ? &cpu->gdtr : &cpu->idtr;
	t->base = base;
	t->limit = limit;
}

/* SMSW Ew (0F 01 /4): to a register with 32-bit operand size, all of CR0. */
static void op_smsw(struct cpu *cpu, const struct insn *in)
{
	strict_check(cpu);
	if (in->mod == 3 && in->opsize32)
		cpu->r[in->rm] = cpu->cr0;
	else
		rm_write(cpu, in, cpu->cr0 & 0xffff, 2);
}

/* LMSW Ew (0F 01 /6): sets PE (never clears it), MP, EM, TS. */
static void op_lmsw(struct cpu *cpu, const struct insn *in)
{
	cpu_need_cpl0(cpu);
	uint32_t v = rm_read(cpu, in, 2) & 0xf;
	if ((v & ~cpu->cr0 & CR0_PE) && cpu->guest.stop_on_pe)
		cpu_request_stop(cpu);
	cpu->cr0 = (cpu->cr0 & ~0xeu) | v | (cpu->cr0 & CR0_PE);
	cpu_mode_changed(cpu);
}

/* INVLPG M (0F 01 /7) */
static void op_invlpg(struct cpu *cpu, const struct insn *in)
{
	cpu_need_cpl0(cpu);
	uint32_t lin = cpu->seg[in->seg].base + ea(cpu, in);
	mmu_invlpg(cpu, lin);
	cpu->cycles += 10;
}

/* SLDT Ew / STR Ew (0F 00 /0, /1) */
static void op_sldt_str(struct cpu *cpu, const struct insn *in)
{
	need_pmode(cpu);
	strict_check(cpu);
	uint16_t sel = in->reg == 0 ? cpu->ldtr.sel : cpu->tr.sel;
	if (in->mod == 3)
		set_reg_sz(cpu, in->rm, sel, osz(in));
	else
		rm_write(cpu, in, sel, 2);
}

/* LLDT Ew (0F 00 /2) */
static void op_lldt(struct cpu *cpu, const struct insn *in)
{
	need_pmode(cpu);
	cpu_need_cpl0(cpu);
	uint16_t sel = (uint16_t)rm_read(cpu, in, 2);
	if ((sel & SEL_INDEX) == 0) {
		cpu->ldtr.sel = sel;
		cpu->ldtr.attr = 0; /* unusable */
		cpu->ldtr.base = 0;
		cpu->ldtr.limit = 0;
		return;
	}
	if (sel & SEL_TI)
		cpu_raise(cpu, EXC_GP, sel & SEL_INDEX);
	uint64_t d = desc_read(cpu, sel, EXC_GP);
	struct seg s;
	seg_from_desc(&s, sel, d);
	if ((s.attr & DESC_S) || (s.attr & DESC_TYPE) != SYS_LDT)
		cpu_raise(cpu, EXC_GP, sel & SEL_INDEX);
	if (!(s.attr & DESC_P))
		cpu_raise(cpu, EXC_NP, sel & SEL_INDEX);
	cpu->ldtr = s;
}

/* LTR Ew (0F 00 /3): marks the TSS busy. */
static void op_ltr(struct cpu *cpu, const struct insn *in)
{
	need_pmode(cpu);
	cpu_need_cpl0(cpu);
	uint16_t sel = (uint16_t)rm_read(cpu, in, 2);
	if ((sel & SEL_INDEX) == 0 || (sel & SEL_TI))
		cpu_raise(cpu, EXC_GP, sel & SEL_INDEX);
	uint64_t d = desc_read(cpu, sel, EXC_GP);
	struct seg s;
	seg_from_desc(&s, sel, d);
	int type = s.attr & DESC_TYPE;
	if ((s.attr & DESC_S) || (type != SYS_TSS16_AVAIL && type != SYS_TSS32_AVAIL))
		cpu_raise(cpu, EXC_GP, sel & SEL_INDEX);
	if (!(s.attr & DESC_P))
		cpu_raise(cpu, EXC_NP, sel & SEL_INDEX);
	/* busy bit: type bit 1, in the descriptor's byte 5 */
	uint32_t a = cpu->gdtr.base + (sel & SEL_INDEX) + 5;
	dt_write(cpu, a, dt_read(cpu, a, 1) | 0x2, 1);
	s.attr |= 0x2;
	cpu->tr = s;
}

/* }====================================================================== */

/* {====== protection probes: LAR, LSL, VERR, VERW, ARPL ====== */

/* Reads the descriptor of `sel` if it lies within its table; no faults for
 * a selector beyond the limit (these instructions report it in ZF). */
static bool probe_desc(struct cpu *cpu, uint16_t sel, uint64_t *d)
{
	if ((sel & SEL_INDEX) == 0 && !(sel & SEL_TI))
		return false;
	uint32_t base, limit;
	if (sel & SEL_TI) {
		if ((cpu->ldtr.sel & SEL_INDEX) == 0 || !(cpu->ldtr.attr & DESC_P))
			return false;
		base = cpu->ldtr.base;
		limit = cpu->ldtr.limit;
	} else {
		base = cpu->gdtr.base;
		limit = cpu->gdtr.limit;
	}
	if ((uint32_t)(sel & SEL_INDEX) + 7 > limit)
		return false;
	uint32_t a = base + (sel & SEL_INDEX);
	*d = dt_read(cpu, a, 4) | ((uint64_t)dt_read(cpu, a + 4, 4) << 32);
	return true;
}

static void set_zf(struct cpu *cpu, bool z)
{
	uint32_t f = flags_get(cpu);
	flags_set_arith(cpu, z ? f | EFLAGS_ZF : f & ~EFLAGS_ZF);
}

/* Is the descriptor visible at CPL/RPL for LAR/LSL/VERR/VERW? */
static bool desc_visible(const struct cpu *cpu, uint16_t sel, uint64_t d)
{
	uint16_t attr = (uint16_t)(d >> 40);
	int dpl = (attr & DESC_DPL) >> DESC_DPL_SHIFT;
	bool conforming = (attr & DESC_S) && (attr & DESC_TYPE_CODE) && (attr & DESC_TYPE_C);
	return conforming || (dpl >= cpu->cpl && dpl >= (sel & SEL_RPL));
}

/* LAR Gv,Ew (0F 02) and LSL Gv,Ew (0F 03) */
static void op_lar_lsl(struct cpu *cpu, const struct insn *in)
{
	need_pmode(cpu);
	strict_check(cpu);
	uint16_t sel = (uint16_t)rm_read(cpu, in, 2);
	uint64_t d;
	bool ok = probe_desc(cpu, sel, &d) && desc_visible(cpu, sel, d);
	if (ok) {
		uint16_t attr = (uint16_t)(d >> 40);
		int type = attr & DESC_TYPE;
		if (!(attr & DESC_S)) {
			static const bool lar_ok[16] = {0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0};
			static const bool lsl_ok[16] = {0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0};
			ok = in->op == 0x102 ? lar_ok[type] : lsl_ok[type];
		}
	}
	set_zf(cpu, ok);
	if (!ok)
		return;
	uint32_t v;
	if (in->op == 0x102) {
		v = (uint32_t)(d >> 32) & 0x00f0ff00u;
	} else {
		struct seg s;
		seg_from_desc(&s, sel, d);
		v = s.limit;
	}
	set_reg_sz(cpu, in->reg, v, osz(in));
}

/* VERR Ew / VERW Ew (0F 00 /4, /5) */
static void op_verr_verw(struct cpu *cpu, const struct insn *in)
{
	need_pmode(cpu);
	strict_check(cpu);
	uint16_t sel = (uint16_t)rm_read(cpu, in, 2);
	uint64_t d;
	bool ok = probe_desc(cpu, sel, &d);
	if (ok) {
		uint16_t attr = (uint16_t)(d >> 40);
		ok = (attr & DESC_S) && desc_visible(cpu, sel, d);
		if (ok && in->reg == 4)
			ok = !(attr & DESC_TYPE_CODE) || (attr & DESC_TYPE_R);
		else if (ok)
			ok = !(attr & DESC_TYPE_CODE) && (attr & DESC_TYPE_W);
	}
	set_zf(cpu, ok);
}

/* ARPL Ew,Gw (63): #UD in real and v86 mode. */
static void op_arpl(struct cpu *cpu, const struct insn *in)
{
	need_pmode(cpu);
	uint32_t dst = rm_read(cpu, in, 2);
	uint32_t src = reg16(cpu, in->reg);
	if ((dst & SEL_RPL) < (src & SEL_RPL)) {
		rm_write(cpu, in, (dst & ~SEL_RPL) | (src & SEL_RPL), 2);
		set_zf(cpu, true);
	} else {
		set_zf(cpu, false);
	}
}

/* }====================================================================== */

/* {====== control and debug registers ====== */

/* The CR4 bits this CPU accepts: those of its model's features (TSD comes
 * with TSC, DE with DE, PSE with PSE, MCE with MCE). */
static uint32_t cr4_valid(const struct cpu *cpu)
{
	uint32_t f = cpu->cpuid_edx;
	return CR4_VME | CR4_PVI | CR4_PCE | (f & CPUID_EDX_TSC ? CR4_TSD : 0) |
	       (f & CPUID_EDX_DE ? CR4_DE : 0) | (f & CPUID_EDX_PSE ? CR4_PSE : 0) |
	       (f & CPUID_EDX_MCE ? CR4_MCE : 0);
}

/* MOV Rd,Cd (0F 20) */
static void op_mov_rd_cd(struct cpu *cpu, const struct insn *in)
{
	cpu_need_cpl0(cpu);
	uint32_t v;
	switch (in->reg) {
	case 0: v = cpu->cr0; break;
	case 2: v = cpu->cr2; break;
	case 3: v = cpu->cr3; break;
	case 4: v = cpu->cr4; break;
	default: cpu_ud(cpu);
	}
	cpu->r[in->rm] = v;
}

/* MOV Cd,Rd (0F 22) */
static void op_mov_cd_rd(struct cpu *cpu, const struct insn *in)
{
	cpu_need_cpl0(cpu);
	uint32_t v = cpu->r[in->rm];
	switch (in->reg) {
	case 0:
		if ((v & CR0_PG) && !(v & CR0_PE))
			cpu_gp0(cpu);
		if ((v & CR0_NW) && !(v & CR0_CD))
			cpu_gp0(cpu);
		v = (v & (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_NE | CR0_WP | CR0_AM | CR0_NW | CR0_CD |
		          CR0_PG)) | CR0_ET;
		if ((v ^ cpu->cr0) & (CR0_PG | CR0_WP | CR0_PE))
			cpu_tlb_flush(cpu);
		if ((v & ~cpu->cr0 & CR0_PE) && cpu->guest.stop_on_pe)
			cpu_request_stop(cpu);
		cpu->cr0 = v;
		cpu_mode_changed(cpu);
		break;
	case 2:
		cpu->cr2 = v;
		break;
	case 3:
		cpu->cr3 = v & 0xfffff018u;
		cpu_tlb_flush(cpu);
		break;
	case 4:
		if (v & ~cr4_valid(cpu))
			cpu_gp0(cpu);
		if ((v ^ cpu->cr4) & CR4_PSE)
			cpu_tlb_flush(cpu);
		cpu->cr4 = v;
		break;
	default:
		cpu_ud(cpu);
	}
	cpu->cycles += 10;
}

static int dr_index(struct cpu *cpu, int n)
{
	if (cpu->dr[7] & DR7_GD) {
		/* general detect: a debugger's registers are protected */
		cpu->dr[7] &= ~DR7_GD;
		cpu->dr[6] |= DR6_BD;
		cpu_raise(cpu, EXC_DB, ERR_NONE);
	}
	if (n == 4 || n == 5) {
		if (cpu->cr4 & CR4_DE)
			cpu_ud(cpu);
		n += 2;
	}
	return n;
}

/* MOV Rd,Dd (0F 21) */
static void op_mov_rd_dd(struct cpu *cpu, const struct insn *in)
{
	cpu_need_cpl0(cpu);
	int n = dr_index(cpu, in->reg);
	cpu->r[in->rm] = cpu->dr[n];
}

/* MOV Dd,Rd (0F 23) */
static void op_mov_dd_rd(struct cpu *cpu, const struct insn *in)
{
	cpu_need_cpl0(cpu);
	int n = dr_index(cpu, in->reg);
	uint32_t v = cpu->r[in->rm];
	if (n == 6)
		v = (v & 0xe00fu) | 0xffff0ff0u;
	else if (n == 7)
		v = (v & 0xffff2bffu) | 0x400u;
	cpu->dr[n] = v;
	dbg_update(cpu);
}

/* CLTS (0F 06) */
static void op_clts(struct cpu *cpu, const struct insn *in)
{
	cpu_need_cpl0(cpu);
	cpu->cr0 &= ~CR0_TS;
}

/* INVD, WBINVD (0F 08, 0F 09): no caches to model. */
static void op_invd(struct cpu *cpu, const struct insn *in)
{
	cpu_need_cpl0(cpu);
}

/* }====================================================================== */

/* {====== CPUID, TSC, MSRs ====== */

/* CPUID (0F A2) as the CPU's model answers it (model.c). */
void cpu_cpuid(const struct cpu *cpu, uint32_t leaf, uint32_t out[4])
{
	cpu_model_cpuid(cpu->model, cpu->cpuid_edx, cpu->has_apic, leaf, out);
}

bool cpu_set_model(struct cpu *cpu, int model_id, uint32_t edx)
{
	const struct cpu_model *m = cpu_model_get(model_id);
	if (!m)
		return false;
	cpu->model_id = (uint8_t)model_id;
	cpu->model = m;
	cpu->cpuid_edx = edx;
	cpu_reset(cpu);
	return true;
}

/* CPUID (0F A2) */
static void op_cpuid(struct cpu *cpu, const struct insn *in)
{
	if ((cpu->msr_nestlab_ctl & NESTLAB_CTL_CPUID_FAULT) && (cpu->cr0 & CR0_PE) && cpu->cpl > 0)
		cpu_gp0(cpu);
	uint32_t out[4];
	cpu_cpuid(cpu, cpu->r[EAX], out);
	cpu->r[EAX] = out[0];
	cpu->r[EBX] = out[1];
	cpu->r[ECX] = out[2];
	cpu->r[EDX] = out[3];
	cpu->cycles += 20;
}

static uint64_t tsc_now(const struct cpu *cpu)
{
	return cpu->cycles + cpu->tsc;
}

/* RDTSC (0F 31): the cycle counter of the model, never host time; #UD on
 * a model without a time-stamp counter. */
static void op_rdtsc(struct cpu *cpu, const struct insn *in)
{
	if (!(cpu->cpuid_edx & CPUID_EDX_TSC))
		cpu_ud(cpu);
	if ((cpu->cr4 & CR4_TSD) && (cpu_v86(cpu) || ((cpu->cr0 & CR0_PE) && cpu->cpl != 0)))
		cpu_gp0(cpu);
	uint64_t t = tsc_now(cpu);
	cpu->r[EAX] = (uint32_t)t;
	cpu->r[EDX] = (uint32_t)(t >> 32);
}

/* RDPMC (0F 33): no counters are modelled; reads give zero. */
static void op_rdpmc(struct cpu *cpu, const struct insn *in)
{
	if (!(cpu->cr4 & CR4_PCE) && (cpu_v86(cpu) || ((cpu->cr0 & CR0_PE) && cpu->cpl != 0)))
		cpu_gp0(cpu);
	if (cpu->r[ECX] > 1)
		cpu_gp0(cpu);
	cpu->r[EAX] = cpu->r[EDX] = 0;
}

int cpu_msr_read(struct cpu *cpu, uint32_t index, uint64_t *value)
{
	int slot;
	const struct cpu_msr_def *d = cpu_model_msr(cpu->model, cpu->cpuid_edx, index, &slot);
	if (!d)
		return (cpu->cpuid_edx & CPUID_EDX_MSR) ? EXC_GP : EXC_UD;
	switch (d->kind) {
	case MSR_KIND_TSC: *value = tsc_now(cpu); break;
	case MSR_KIND_APIC_BASE: *value = cpu->msr_apic_base; break;
	case MSR_KIND_NESTLAB: *value = cpu->msr_nestlab_ctl | (cpu->assist ? NESTLAB_CTL_ASSIST : 0); break;
	default: *value = cpu->msr[slot]; break;
	}
	return 0;
}

int cpu_msr_write(struct cpu *cpu, uint32_t index, uint64_t v)
{
	int slot;
	const struct cpu_msr_def *d = cpu_model_msr(cpu->model, cpu->cpuid_edx, index, &slot);
	if (!d)
		return (cpu->cpuid_edx & CPUID_EDX_MSR) ? EXC_GP : EXC_UD;
	if ((v & d->rsvd) || d->kind == MSR_KIND_RO)
		return EXC_GP;
	switch (d->kind) {
	case MSR_KIND_TSC:
		cpu->tsc = (v & d->wmask) - cpu->cycles;
		break;
	case MSR_KIND_APIC_BASE:
		cpu->msr_apic_base = (cpu->msr_apic_base & ~d->wmask) | (v & d->wmask);
		if (cpu->bus.apic_base_written)
			cpu->bus.apic_base_written(cpu->bus.opaque, cpu->msr_apic_base);
		break;
	case MSR_KIND_NESTLAB:
		cpu->msr_nestlab_ctl = (uint32_t)(v & d->wmask);
		cpu->strict = (v & NESTLAB_CTL_STRICT) != 0;
		break;
	default:
		cpu->msr[slot] = (cpu->msr[slot] & ~d->wmask) | (v & d->wmask);
		break;
	}
	return 0;
}

/* RDMSR (0F 32): the MSRs of the CPU's model (model.c); #UD on a model
 * without them (but for MSR_NESTLAB_CTL, nestlab's own). */
static void op_rdmsr(struct cpu *cpu, const struct insn *in)
{
	if (!(cpu->cpuid_edx & CPUID_EDX_MSR) && cpu->r[ECX] != MSR_NESTLAB_CTL)
		cpu_ud(cpu);
	cpu_need_cpl0(cpu);
	uint64_t v;
	int exc = cpu_msr_read(cpu, cpu->r[ECX], &v);
	if (exc)
		cpu_raise(cpu, exc, exc == EXC_GP ? 0 : ERR_NONE);
	cpu->r[EAX] = (uint32_t)v;
	cpu->r[EDX] = (uint32_t)(v >> 32);
	cpu->cycles += 20;
}

/* WRMSR (0F 30) */
static void op_wrmsr(struct cpu *cpu, const struct insn *in)
{
	if (!(cpu->cpuid_edx & CPUID_EDX_MSR) && cpu->r[ECX] != MSR_NESTLAB_CTL &&
	    cpu->r[ECX] != MSR_NESTLAB_RUN)
		cpu_ud(cpu);
	cpu_need_cpl0(cpu);
	uint64_t v = cpu->r[EAX] | (uint64_t)cpu->r[EDX] << 32;
	if (cpu->r[ECX] == MSR_NESTLAB_RUN && cpu->assist) {
		assist_run(cpu, v); /* the assist: the guest runs now, the WRMSR ends at its exit */
		cpu->cycles += 20;
		return;
	}
	int exc = cpu_msr_write(cpu, cpu->r[ECX], v);
	if (exc)
		cpu_raise(cpu, exc, exc == EXC_GP ? 0 : ERR_NONE);
	cpu->cycles += 20;
}

/* UD2 (0F 0B), UD1 (0F B9), RSM outside SMM (0F AA): always #UD. */
static void op_ud(struct cpu *cpu, const struct insn *in)
{
	cpu_ud(cpu);
}

/* }====================================================================== */

void sys_register(void)
{
	cpu_set_grp(0x101, 0, op_sgdt_sidt);
	cpu_set_grp(0x101, 1, op_sgdt_sidt);
	cpu_set_grp(0x101, 2, op_lgdt_lidt);
	cpu_set_grp(0x101, 3, op_lgdt_lidt);
	cpu_set_grp(0x101, 4, op_smsw);
	cpu_set_grp(0x101, 6, op_lmsw);
	cpu_set_grp(0x101, 7, op_invlpg);
	cpu_set_grp(0x100, 0, op_sldt_str);
	cpu_set_grp(0x100, 1, op_sldt_str);
	cpu_set_grp(0x100, 2, op_lldt);
	cpu_set_grp(0x100, 3, op_ltr);
	cpu_set_grp(0x100, 4, op_verr_verw);
	cpu_set_grp(0x100, 5, op_verr_verw);
	cpu_set_op(0x102, op_lar_lsl);
	cpu_set_op(0x103, op_lar_lsl);
	cpu_set_op(0x63, op_arpl);
	cpu_set_op(0x120, op_mov_rd_cd);
	cpu_set_op(0x122, op_mov_cd_rd);
	cpu_set_op(0x121, op_mov_rd_dd);
	cpu_set_op(0x123, op_mov_dd_rd);
	cpu_set_op(0x106, op_clts);
	cpu_set_op(0x108, op_invd);
	cpu_set_op(0x109, op_invd);
	cpu_set_op(0x1a2, op_cpuid);
	cpu_set_op(0x131, op_rdtsc);
	cpu_set_op(0x133, op_rdpmc);
	cpu_set_op(0x132, op_rdmsr);
	cpu_set_op(0x130, op_wrmsr);
	cpu_set_op(0x10b, op_ud);
	cpu_set_op(0x1b9, op_ud);
	cpu_set_op(0x1aa, op_ud);
}
