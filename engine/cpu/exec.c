/*
 * exec.c - the run loop: fetch, execute, retire; the one place that catches
 * guest faults; interrupts, single-step and the double-fault rules.
 *
 * cpu_raise() (below) is the only throw point for guest exceptions. It
 * longjmps to the setjmp in cpu_run(), which puts EIP and ESP back to where
 * the faulting instruction started and delivers the exception. If delivery
 * itself faults, the rules of the SDM (Vol. 3, "Interrupt 8 - Double Fault
 * Exception", table of benign/contributory/page-fault classes) turn the pair
 * into #DF, and a fault while delivering #DF shuts the machine down
 * (triple fault), which the host sees as CPU_STOP_SHUTDOWN.
 */
#include "cpu_int.h"

void cpu_decode_init(void);

_Noreturn void cpu_host_bug(const char *file, int line, const char *what)
{
	fprintf(stderr, "nestlab: internal error at %s:%d: %s\n", file, line, what);
	abort();
}

/* {====== lifecycle ====== */

struct cpu *cpu_new(const struct bus *bus)
{
	cpu_decode_init();
	struct cpu *cpu = calloc(1, sizeof *cpu);
	if (!cpu)
		cpu_host_bug(__FILE__, __LINE__, "out of memory");
	cpu->bus = *bus;
	cpu->dcache = dcache_new();
	cpu->cycle_limit = UINT64_MAX;
	cpu_reset(cpu);
	return cpu;
}

void cpu_share_caches(struct cpu *cpu, struct cpu *with)
{
	if (!cpu->dcache_borrowed)
		dcache_free(cpu->dcache);
	cpu->dcache = with->dcache;
	cpu->dcache_borrowed = true;
	cpu->sibling = with->sibling ? with->sibling : with;
	with->sibling = cpu;
}

/* Takes `cpu` out of its ring of siblings. */
static void leave_ring(struct cpu *cpu)
{
	struct cpu *p = cpu->sibling;
	if (!p)
		return;
	while (p->sibling != cpu)
		p = p->sibling;
	p->sibling = cpu->sibling == p ? NULL : cpu->sibling;
	cpu->sibling = NULL;
}

void cpu_free(struct cpu *cpu)
{
	if (!cpu)
		return;
	leave_ring(cpu);
	if (!cpu->dcache_borrowed)
		dcache_free(cpu->dcache);
	free(cpu->points);
	free(cpu);
}

static void seg_reset(struct seg *s, uint16_t sel, uint32_t base, uint16_t attr)
{
	s->sel = sel;
	s->base = base;
	s->limit = 0xffff;
	s->attr = attr;
}

void cpu_reset(struct cpu *cpu)
{
	memset(cpu->r, 0, sizeof cpu->r);
	if (!cpu->model) { /* cpu_new: the default model until cpu_set_model */
		cpu->model_id = CPU_MODEL_DEFAULT;
		cpu->model = cpu_model_get(CPU_MODEL_DEFAULT);
		cpu->cpuid_edx = cpu->model->edx;
	}
	cpu->r[EDX] = cpu->model->signature; /* family, model, stepping */
	cpu->eip = 0xfff0;
	cpu->eflags = EFLAGS_1;
	cpu->lf_op = LF_NONE;
	/* CS: present, readable accessed code; the others read/write data. */
	seg_reset(&cpu->seg[SEG_CS], 0xf000, 0xffff0000u, DESC_P | DESC_S | DESC_TYPE_CODE | DESC_TYPE_R | DESC_TYPE_A);
	for (int s = 0; s < 6; s++)
		if (s != SEG_CS)
			seg_reset(&cpu->seg[s], 0, 0, DESC_P | DESC_S | DESC_TYPE_W | DESC_TYPE_A);
	seg_reset(&cpu->ldtr, 0, 0, DESC_P | SYS_LDT);
	seg_reset(&cpu->tr, 0, 0, DESC_P | SYS_TSS32_BUSY);
	cpu->gdtr = (struct dtr){0, 0xffff};
	cpu->idtr = (struct dtr){0, 0x3ff};
	cpu->cr0 = CR0_ET | CR0_CD | CR0_NW;
	cpu->cr2 = cpu->cr3 = cpu->cr4 = 0;
	memset(cpu->dr, 0, sizeof cpu->dr);
	cpu->dr[6] = 0xffff0ff0u;
	cpu->dr[7] = 0x400;
	cpu->tsc = 0;
	cpu->msr_apic_base = 0xfee00900ull; /* enabled, bootstrap processor */
	cpu->msr_nestlab_ctl = 0;
	if (cpu->assist_run) /* a guest of the assist ends with the machine's reset */
		cpu->guest.on = false;
	cpu->assist_run = 0;
	cpu_model_msr_reset(cpu->model, cpu->msr);
	cpu->cpl = 0;
	cpu->halted = false;
	cpu->a20 = true;
	cpu->intr_shadow = 0;
	cpu->nmi_pending = cpu->in_nmi = false;
	cpu->delivering = false;
	cpu->stop_request = false;
	cpu->trap_after = false;
	cpu->stop = CPU_STOP_NONE;
	point_restored(cpu); /* no REP left half done by a debugger stop */
	/* icount and cycles go on: they are the machine's clock, not the CPU's. */
	cpu_state_changed(cpu);
	if (cpu->dcache)
		dcache_flush(cpu->dcache);
}

void cpu_state_changed(struct cpu *cpu)
{
	cpu->a20_mask = cpu->a20 ? 0xffffffffu : ~(1u << 20);
	cpu->strict = (cpu->msr_nestlab_ctl & NESTLAB_CTL_STRICT) != 0;
	cpu_mode_changed(cpu);
	cpu_tlb_flush(cpu);
	dbg_update(cpu);
}

void cpu_raise_nmi(struct cpu *cpu)
{
	cpu->nmi_pending = true;
}

void cpu_request_stop(struct cpu *cpu)
{
	cpu->stop_request = true;
}

void cpu_set_a20(struct cpu *cpu, bool enabled)
{
	if (cpu->a20 == enabled)
		return;
	cpu->a20 = enabled;
	cpu->a20_mask = enabled ? 0xffffffffu : ~(1u << 20);
	cpu_tlb_flush(cpu);
}

void cpu_set_irq(struct cpu *cpu, bool level)
{
	cpu->irq_line = level;
}

/* }====================================================================== */

/* {====== exceptions ====== */

_Noreturn void cpu_fault(struct cpu *cpu, int vec, int err)
{
	cpu_raise(cpu, vec, err);
}

_Noreturn void cpu_raise(struct cpu *cpu, int vec, int err)
{
	cpu->exc_vec = vec;
	cpu->exc_err = err;
	longjmp(cpu->fault_jmp, 1);
}

enum exc_class { BENIGN, CONTRIBUTORY, PAGE_FAULT, DOUBLE_FAULT };

static enum exc_class exc_class(int vec)
{
	switch (vec) {
	case EXC_DE:
	case EXC_TS:
	case EXC_NP:
	case EXC_SS:
	case EXC_GP:
		return CONTRIBUTORY;
	case EXC_PF:
		return PAGE_FAULT;
	case EXC_DF:
		return DOUBLE_FAULT;
	default:
		return BENIGN;
	}
}

/* State a delivery may change before it faults: put back if it does. */
static void save_pre(struct cpu *cpu)
{
	cpu->pre.eip = cpu->eip;
	cpu->pre.esp = cpu->r[ESP];
	cpu->pre.eflags = cpu->eflags;
	cpu->pre.cs = cpu->seg[SEG_CS];
	cpu->pre.ss = cpu->seg[SEG_SS];
	cpu->pre.cpl = cpu->cpl;
}

static void restore_pre(struct cpu *cpu)
{
	cpu->eip = cpu->pre.eip;
	cpu->r[ESP] = cpu->pre.esp;
	cpu->eflags = cpu->pre.eflags;
	cpu->seg[SEG_CS] = cpu->pre.cs;
	cpu->seg[SEG_SS] = cpu->pre.ss;
	cpu->cpl = cpu->pre.cpl;
	cpu_mode_changed(cpu);
}

static void shutdown(struct cpu *cpu, const char *why)
{
	cpu->stop = CPU_STOP_SHUTDOWN;
	cpu->shutdown_why = why;
	cpu->delivering = false;
	if (cpu->bus.shutdown)
		cpu->bus.shutdown(cpu->bus.opaque, why);
}

/*
 * Delivers an exception, or an external interrupt when ext is set. Called
 * with the machine state of the instruction boundary to report. Faults in
 * delivery come back through the catch in cpu_run().
 */
static void deliver_event(struct cpu *cpu, int vec, int err, bool ext)
{
	flags_get(cpu);
	save_pre(cpu);
	cpu->delivering = true;
	cpu->last_exc = (int8_t)vec;
	cpu->cycles += 40;
	cpu->halted = false; /* before: a monitor taking the event may halt the guest */
	cpu_deliver(cpu, vec, err, false, ext);
	cpu->delivering = false;
}

/* The catch side of cpu_raise: decides what to deliver. */
static void fault_caught(struct cpu *cpu)
{
	int vec = cpu->exc_vec, err = cpu->exc_err;
	if (unlikely(cpu->points_due))
		point_fault(cpu);
	flags_get(cpu);
	if (cpu->delivering) {
		int first = cpu->last_exc;
		restore_pre(cpu);
		enum exc_class a = exc_class(first), b = exc_class(vec);
		if (a == DOUBLE_FAULT) {
			shutdown(cpu, "triple fault");
			return;
		}
		if ((a == CONTRIBUTORY && b == CONTRIBUTORY) ||
		    (a == PAGE_FAULT && (b == CONTRIBUTORY || b == PAGE_FAULT))) {
			vec = EXC_DF;
			err = 0;
		}
		cpu->delivering = false;
	} else {
		cpu->eip = cpu->start_eip;
		cpu->r[ESP] = cpu->start_esp;
	}
	deliver_event(cpu, vec, err, true);
}

/* }====================================================================== */

/* {====== the instruction observer ====== */

void cpu_set_insn_obs(struct cpu *cpu, struct cpu_insn_obs *obs)
{
	cpu->obs = obs;
	cpu->observed = obs != NULL;
	/* Attached: no fast write path may stay in the TLB (mmu_translate
	 * adds none while observed), but the entries stay, so no walk (and
	 * no mem_cycles) differs. Detached: the fast paths come back, but
	 * where a watchpoint may want them kept (points.c knows which). */
	for (int i = 0; i < TLB_SIZE; i++)
		for (int u = 0; u < 2; u++) {
			uint32_t *t = &cpu->tlb[i].tag_write[u];
			if (*t && obs)
				*t |= TLB_WATCHED;
			else if (*t && !cpu->points_data)
				*t &= ~TLB_WATCHED;
		}
}

/* Tells the observer a step ended. Off the fast path: only when observed. */
static void obs_step(struct cpu *cpu, bool event)
{
	if (unlikely(cpu->observed))
		cpu->obs->step(cpu->obs->opaque, cpu, event);
}

/* }====================================================================== */

/* {====== the run loop ====== */

static bool can_take_irq(const struct cpu *cpu)
{
	return cpu->irq_line && (cpu->eflags & EFLAGS_IF) && !cpu->intr_shadow;
}

enum boundary { B_EXECUTE, B_DELIVERED, B_STOP, B_CONTINUE };

/* Handles what may happen at an instruction boundary besides executing:
 * debugger hits, pending traps, stop requests, NMI, interrupts, HLT. Says
 * whether the loop goes on to execute, has delivered an event (which counts
 * against the budget, so an interrupt storm cannot hang the host), must
 * return (cpu->stop says why), or must finish a REP step a debugger hit
 * split, with nothing in between (B_CONTINUE). */
static enum boundary boundary_events(struct cpu *cpu)
{
	cpu->start_eip = cpu->eip;
	cpu->start_esp = cpu->r[ESP];
	if (unlikely(cpu->points_due)) {
		enum point_due d = point_boundary(cpu);
		if (d == POINT_DUE_STOP) {
			cpu->stop = CPU_STOP_BREAK;
			return B_STOP;
		}
		if (d == POINT_DUE_CONTINUE)
			return B_CONTINUE;
	}
	if (cpu->trap_after) {
		/* a data breakpoint or task-switch T bit trap, after the instruction */
		cpu->dr[6] = (cpu->dr[6] & ~0xfu) | cpu->dr6_pending;
		cpu->dr6_pending = 0;
		cpu->trap_after = false;
		deliver_event(cpu, EXC_DB, ERR_NONE, true);
		return B_DELIVERED;
	}
	if (cpu->stop_request) {
		cpu->stop_request = false;
		cpu->stop = CPU_STOP_REQUEST;
		return B_STOP;
	}
	if (cpu->nmi_pending && !cpu->in_nmi && !cpu->intr_shadow) {
		cpu->nmi_pending = false;
		cpu->in_nmi = true;
		cpu->delivering_ext = true;
		deliver_event(cpu, EXC_NMI, ERR_NONE, true);
		cpu->delivering_ext = false;
		return B_DELIVERED;
	}
	if (can_take_irq(cpu) && cpu->bus.intr_ack) {
		int v = cpu->bus.intr_ack(cpu->bus.opaque);
		if (v >= 0) {
			cpu->delivering_ext = true;
			deliver_event(cpu, v, ERR_NONE, true);
			cpu->delivering_ext = false;
			return B_DELIVERED;
		}
	}
	if (cpu->halted) {
		cpu->stop = CPU_STOP_HLT;
		return B_STOP;
	}
	return B_EXECUTE;
}

/* Executes one instruction: the fast path. Faults longjmp out of it. */
static inline void execute(struct cpu *cpu)
{
	cpu->start_eip = cpu->eip;
	cpu->start_esp = cpu->r[ESP];
	/* The CS limit is checked by the lookup (see dcache_fetch). */
	const struct insn *in = dcache_lookup(cpu);
	cpu->eip = (cpu->eip + in->len) & cpu->eip_mask;
	in->fn(cpu, in);
	cpu->icount++;
	cpu->cycles += in->cost;
}

/* One instruction with everything the fast path leaves out: the interrupt
 * shadow, instruction breakpoints (the debugger's first, then DR0-DR3
 * unless `resume`), RF, and the single-step trap. Returns false, having
 * done nothing, when a debugger point stops the CPU before it. */
static inline bool execute_slow(struct cpu *cpu, bool resume)
{
	uint8_t shadow = cpu->intr_shadow;
	cpu->start_eip = cpu->eip;
	cpu->start_esp = cpu->r[ESP];
	if (cpu->bp_exec && !resume) {
		if ((cpu->bp_exec & BP_EXEC_POINTS) && point_exec_stop(cpu)) {
			cpu->stop = CPU_STOP_BREAK;
			return false;
		}
		if (cpu->bp_exec & BP_EXEC_GUEST)
			dbg_check_exec(cpu);
	}
	bool tf = (cpu->eflags & EFLAGS_TF) != 0;
	execute(cpu);
	if (unlikely(cpu->points_due) && point_rep_split(cpu))
		return true; /* the step finishes later, and all of this then */
	obs_step(cpu, false);
	cpu->eflags &= ~EFLAGS_RF;
	if (shadow)
		cpu->intr_shadow = 0;
	if (tf) {
		cpu->dr[6] = (cpu->dr[6] & ~0xfu) | cpu->dr6_pending | DR6_BS;
		cpu->dr6_pending = 0;
		cpu->trap_after = false;
		cpu->start_eip = cpu->eip;
		cpu->start_esp = cpu->r[ESP];
		deliver_event(cpu, EXC_DB, ERR_NONE, true);
		obs_step(cpu, true);
	}
	return true;
}

/* The loop proper. Kept out of cpu_run() so that the setjmp there does not
 * pessimize its register allocation. Returns when the budget is spent or a
 * stop condition arises; faults longjmp out of it. */
#if defined(__GNUC__) && !defined(__clang__)
/* No SLP vectorizing here: gcc merges the start_eip/start_esp stores into
 * one vector store, which a later 32-bit load of either must wait for. */
#define RUN_LOOP_ATTR __attribute__((noinline, optimize("no-tree-slp-vectorize")))
#else
#define RUN_LOOP_ATTR __attribute__((noinline))
#endif
static RUN_LOOP_ATTR enum cpu_stop run_loop(struct cpu *cpu)
{
	/* Only this loop changes run_end while it runs: keep it in a local. */
	uint64_t end = cpu->run_end;
	while (cpu->icount < end && cpu->cycles < cpu->cycle_limit) {
		/* One test for everything that leaves the fast path. */
		uint64_t slow = (cpu->eflags & (EFLAGS_TF | EFLAGS_RF)) | cpu->bp_exec | cpu->intr_shadow;
		if (likely(!(cpu->events | slow))) {
			execute(cpu);
			continue;
		}
		if (cpu->events) {
			enum boundary b = boundary_events(cpu);
			if (b == B_STOP || cpu->stop != CPU_STOP_NONE)
				return cpu->stop;
			if (b == B_DELIVERED) {
				obs_step(cpu, true);
				end = --cpu->run_end;
				continue;
			}
			if (b == B_CONTINUE) {
				execute_slow(cpu, true);
				continue;
			}
		}
		if (unlikely((cpu->eflags & (EFLAGS_TF | EFLAGS_RF)) | cpu->bp_exec | cpu->intr_shadow)) {
			if (!execute_slow(cpu, false))
				return cpu->stop;
		} else {
			execute(cpu);
			obs_step(cpu, false);
		}
	}
	/* The last instruction hit a watchpoint: say so now, not next run. */
	if (unlikely(cpu->points_due) && point_report(cpu))
		return cpu->stop = CPU_STOP_BREAK;
	return cpu->stop = CPU_STOP_BUDGET;
}

enum cpu_stop cpu_run(struct cpu *cpu, uint64_t max_insns)
{
	/* Every instruction and every exception delivered counts against the
	 * budget, so a guest stuck in a fault loop still returns control. */
	cpu->run_end = cpu->icount + max_insns;
	cpu->stop = CPU_STOP_NONE;
	if (unlikely(cpu->points != NULL))
		point_run_begins(cpu);
	if (setjmp(cpu->fault_jmp)) {
		fault_caught(cpu);
		obs_step(cpu, true);
		if (cpu->stop != CPU_STOP_NONE)
			return cpu->stop;
		if (cpu->run_end > cpu->icount)
			cpu->run_end--;
	}
	return run_loop(cpu);
}

enum cpu_stop cpu_step(struct cpu *cpu)
{
	return cpu_run(cpu, 1);
}

/* }====================================================================== */

/* {====== save and restore ====== */

#define CPU_SAVE_MAGIC 0x4e4c4350u /* "NLCP" */
#define CPU_SAVE_VERSION 4u /* 3: CPU models (model_id, cpuid_edx, msr[]); 4: assist_run */

struct cpu_image {
	uint32_t magic, version;
	uint8_t state[offsetof(struct cpu, bus)];
};

size_t cpu_save_size(void)
{
	return sizeof(struct cpu_image);
}

void cpu_save(const struct cpu *cpu, void *buf)
{
	struct cpu_image *img = buf;
	img->magic = CPU_SAVE_MAGIC;
	img->version = CPU_SAVE_VERSION;
	memcpy(img->state, cpu, sizeof img->state);
	point_save_fixup(cpu, img->state);
	img->state[offsetof(struct cpu, observed)] = 0; /* host-side, as obs */
}

bool cpu_restore(struct cpu *cpu, const void *buf, size_t len)
{
	const struct cpu_image *img = buf;
	if (len != sizeof *img || img->magic != CPU_SAVE_MAGIC || img->version != CPU_SAVE_VERSION)
		return false;
	if (!cpu_model_get(img->state[offsetof(struct cpu, model_id)]))
		return false;
	memcpy(cpu, img->state, sizeof img->state);
	cpu->model = cpu_model_get(cpu->model_id);
	cpu->stop_request = false;
	cpu->observed = cpu->obs != NULL;
	point_restored(cpu);
	cpu_state_changed(cpu);
	dcache_flush(cpu->dcache);
	return true;
}

/* }====================================================================== */
