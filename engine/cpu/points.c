/*
 * points.c - a debugger's breakpoints and watchpoints (docs/cpu.md,
 * "Debugger points"), apart from the guest's DR0-DR7 (debug.c).
 *
 * Execution points: a bit of bp_exec (BP_EXEC_POINTS) sends every
 * instruction through the run loop's slow path, which asks
 * point_exec_stop() before the instruction runs. Stopping there changes
 * nothing, so the stop is exact: EIP at the point, nothing of it done.
 *
 * Watchpoints: a TLB entry of a watched page carries TLB_WATCHED in its
 * tags, so the inline fast paths miss and the access goes through
 * lin_read/lin_write (mmu.c), which call point_data_access() once the
 * access is translated. A hit raises cpu->points_due, an event the run
 * loop looks at on the next boundary: the stop is after the instruction
 * retired. A REP string step is split after the element that hit
 * (point_split_rep), with its count and time held back until it finishes,
 * so a guest's icount and cycles are the same with and without points.
 *
 * Nothing here runs while no point was ever set: cpu->points stays NULL,
 * bp_exec has no BP_EXEC_POINTS, points_data and points_due stay false.
 */
#include "cpu_int.h"

struct cpu_point {
	bool used;
	uint8_t kind;    /* enum cpu_point_kind */
	uint32_t lo, hi; /* linear range, inclusive; lo == hi for EXEC */
};

struct cpu_points {
	struct cpu_point pt[CPU_POINTS_MAX];
	int n_exec, n_data;
	uint64_t exec_filter; /* bit (addr & 63) of every execution point */
	bool skip;            /* the next check at skip_lin does not stop */
	uint32_t skip_lin;
	bool pending; /* `hit` happened in the current instruction */
	struct cpu_hit hit;
	bool have_last; /* `last` is the hit the last cpu_run stopped for */
	struct cpu_hit last;
	bool rep_split;      /* a REP step stopped after a hit: it finishes first */
	uint32_t rep_cycles; /* ... and these cycles of it are still to count */
};

/* {====== the set ====== */

static struct cpu_points *points_of(struct cpu *cpu)
{
	if (!cpu->points) {
		cpu->points = calloc(1, sizeof *cpu->points);
		if (!cpu->points)
			cpu_host_bug(__FILE__, __LINE__, "out of memory for debugger points");
	}
	return cpu->points;
}

static bool is_watch(int kind)
{
	return kind != CPU_POINT_EXEC;
}

/* Sets or clears TLB_WATCHED in every valid tag, as the pages now are
 * watched or not. Entries stay: no walk is added or saved by watching. */
static void mark_tlb(struct cpu *cpu)
{
	for (int i = 0; i < TLB_SIZE; i++) {
		struct tlb_entry *e = &cpu->tlb[i];
		uint32_t *tags[4] = {&e->tag_read[0], &e->tag_read[1], &e->tag_write[0],
		                     &e->tag_write[1]};
		for (int t = 0; t < 4; t++) {
			if (!*tags[t])
				continue;
			*tags[t] &= ~TLB_WATCHED;
			if (cpu->points_data && point_page_watched(cpu, *tags[t]))
				*tags[t] |= TLB_WATCHED;
			if (t >= 2 && cpu->observed) /* the observer's slow writes (cpu.h) */
				*tags[t] |= TLB_WATCHED;
		}
	}
}

/* Recomputes the summary the hot paths look at. */
static void points_changed(struct cpu *cpu)
{
	struct cpu_points *p = cpu->points;
	p->n_exec = p->n_data = 0;
	p->exec_filter = 0;
	for (int i = 0; i < CPU_POINTS_MAX; i++) {
		const struct cpu_point *pt = &p->pt[i];
		if (!pt->used)
			continue;
		if (is_watch(pt->kind)) {
			p->n_data++;
		} else {
			p->n_exec++;
			p->exec_filter |= 1ull << (pt->lo & 63);
		}
	}
	cpu->points_data = p->n_data > 0;
	dbg_update(cpu); /* bp_exec: BP_EXEC_POINTS */
	mark_tlb(cpu);
}

int cpu_point_add(struct cpu *cpu, enum cpu_point_kind kind, uint32_t addr, uint32_t len)
{
	if (kind > CPU_POINT_ACCESS)
		return -1;
	if (is_watch(kind) &&
	    (len == 0 || len > CPU_WATCH_MAX || addr + (uint64_t)len - 1 > UINT32_MAX))
		return -1;
	struct cpu_points *p = points_of(cpu);
	for (int i = 0; i < CPU_POINTS_MAX; i++) {
		struct cpu_point *pt = &p->pt[i];
		if (pt->used)
			continue;
		pt->used = true;
		pt->kind = (uint8_t)kind;
		pt->lo = addr;
		pt->hi = is_watch(kind) ? addr + len - 1 : addr;
		points_changed(cpu);
		return i;
	}
	return -1;
}

bool cpu_point_remove(struct cpu *cpu, int id)
{
	struct cpu_points *p = cpu->points;
	if (!p || id < 0 || id >= CPU_POINTS_MAX || !p->pt[id].used)
		return false;
	p->pt[id].used = false;
	points_changed(cpu);
	return true;
}

int cpu_point_find(const struct cpu *cpu, enum cpu_point_kind kind, uint32_t addr, uint32_t len)
{
	const struct cpu_points *p = cpu->points;
	for (int i = 0; p && i < CPU_POINTS_MAX; i++) {
		const struct cpu_point *pt = &p->pt[i];
		if (pt->used && pt->kind == kind && pt->lo == addr &&
		    (!is_watch(kind) || pt->hi - pt->lo == len - 1))
			return i;
	}
	return -1;
}

void cpu_points_clear(struct cpu *cpu)
{
	if (!cpu->points)
		return;
	for (int i = 0; i < CPU_POINTS_MAX; i++)
		cpu->points->pt[i].used = false;
	points_changed(cpu);
}

bool cpu_point_hit(const struct cpu *cpu, struct cpu_hit *hit)
{
	if (!cpu->points || !cpu->points->have_last)
		return false;
	*hit = cpu->points->last;
	return true;
}

void cpu_point_step_over(struct cpu *cpu)
{
	if (!cpu->points)
		return;
	cpu->points->skip = true;
	cpu->points->skip_lin = cpu->seg[SEG_CS].base + cpu->eip;
}

/* }====================================================================== */

/* {====== the run loop's side ====== */

bool point_exec_stop(struct cpu *cpu)
{
	struct cpu_points *p = cpu->points;
	uint32_t lin = cpu->seg[SEG_CS].base + cpu->eip;
	bool skip = p->skip && p->skip_lin == lin;
	p->skip = false;
	if (skip || !((p->exec_filter >> (lin & 63)) & 1))
		return false;
	for (int i = 0; i < CPU_POINTS_MAX; i++) {
		const struct cpu_point *pt = &p->pt[i];
		if (!pt->used || is_watch(pt->kind) || pt->lo != lin)
			continue;
		p->last = (struct cpu_hit){.id = i, .kind = CPU_POINT_EXEC, .addr = lin};
		p->have_last = true;
		/* Going on from here runs the instruction. */
		p->skip = true;
		p->skip_lin = lin;
		return true;
	}
	return false;
}

/* Does a point of `kind` see an access that writes (or not)? */
static bool kind_sees(int kind, bool write)
{
	return kind == CPU_POINT_ACCESS || (kind == CPU_POINT_WRITE) == write;
}

void point_data_access(struct cpu *cpu, uint32_t lin, int sz, bool write)
{
	struct cpu_points *p = cpu->points;
	if (p->pending)
		return; /* the first hit of an instruction is the one reported */
	uint64_t end = (uint64_t)lin + (uint32_t)sz - 1;
	for (int i = 0; i < CPU_POINTS_MAX; i++) {
		const struct cpu_point *pt = &p->pt[i];
		if (!pt->used || !is_watch(pt->kind) || !kind_sees(pt->kind, write))
			continue;
		if (end < pt->lo || lin > pt->hi)
			continue;
		p->hit = (struct cpu_hit){
		        .id = i,
		        .kind = (enum cpu_point_kind)pt->kind,
		        .addr = lin > pt->lo ? lin : pt->lo,
		        .access = lin,
		        .size = (uint8_t)sz,
		        .write = write,
		};
		p->pending = true;
		cpu->points_due = true;
		return;
	}
}

bool point_page_watched(const struct cpu *cpu, uint32_t lin)
{
	const struct cpu_points *p = cpu->points;
	uint32_t page = lin & ~0xfffu;
	for (int i = 0; p && i < CPU_POINTS_MAX; i++) {
		const struct cpu_point *pt = &p->pt[i];
		if (pt->used && is_watch(pt->kind) && (pt->lo & ~0xfffu) <= page &&
		    page <= (pt->hi & ~0xfffu))
			return true;
	}
	return false;
}

bool point_report(struct cpu *cpu)
{
	struct cpu_points *p = cpu->points;
	if (!p->pending)
		return false;
	p->pending = false;
	p->last = p->hit;
	p->have_last = true;
	cpu->points_due = p->rep_split;
	return true;
}

bool point_rep_split(const struct cpu *cpu)
{
	return cpu->points->rep_split;
}

enum point_due point_boundary(struct cpu *cpu)
{
	struct cpu_points *p = cpu->points;
	if (point_report(cpu))
		return POINT_DUE_STOP;
	cpu->points_due = false;
	if (p->rep_split) {
		p->rep_split = false;
		cpu->cycles += p->rep_cycles;
		p->rep_cycles = 0;
		return POINT_DUE_CONTINUE;
	}
	return POINT_DUE_NONE;
}

void point_fault(struct cpu *cpu)
{
	struct cpu_points *p = cpu->points;
	p->pending = false;
	cpu->points_due = p->rep_split;
}

void point_split_rep(struct cpu *cpu, const struct insn *in, uint32_t elem_cycles)
{
	struct cpu_points *p = cpu->points;
	cpu->eip = cpu->start_eip;
	/* The run loop counts the instruction and its base cost when the
	 * handler returns: cancel that, and hold back the elements' time.
	 * The step that finishes it counts both, as if never split. */
	cpu->icount--;
	cpu->cycles -= in->cost + elem_cycles;
	p->rep_cycles += elem_cycles;
	p->rep_split = true;
}

void point_save_fixup(const struct cpu *cpu, uint8_t *state)
{
	state[offsetof(struct cpu, points_due)] = 0;
	if (cpu->points && cpu->points->rep_split) {
		uint64_t c = cpu->cycles + cpu->points->rep_cycles;
		memcpy(state + offsetof(struct cpu, cycles), &c, sizeof c);
	}
}

void point_restored(struct cpu *cpu)
{
	cpu->points_due = false;
	if (!cpu->points)
		return;
	cpu->points->pending = cpu->points->skip = cpu->points->rep_split = false;
	cpu->points->have_last = false;
	cpu->points->rep_cycles = 0;
}

void point_run_begins(struct cpu *cpu)
{
	cpu->points->have_last = false;
}

bool point_have_exec(const struct cpu *cpu)
{
	return cpu->points && cpu->points->n_exec > 0;
}

/* }====================================================================== */
