/*
 * vm.c - several VMs on one machine: switching the CPU between them,
 * scheduling them, and the tree front ends see (machine -> VMs).
 *
 * The machine (L0) has one CPU. Under a monitor the guest it was built
 * with is VM 0 (the root machine's own PC), and each --vm is one more VM:
 * a struct machine with its own devices, its own clock, its own monitor,
 * and a RAM share of the root's memory (engine/mem: a window). Only one
 * VM's state is in the CPU at a time; the others' is saved (cpu_save) in
 * their `ctx`.
 *
 * Time: each VM's clock is the CPU's cycle counter while it runs, and its
 * own saved counter while it waits, so a VM's virtual time passes only
 * when it runs (or idles, halted, waiting for its next timer). The VMs run
 * in turns of VM_SLICE_CYCLES of their own time, always in index order: a
 * VM's run is a function of its own configuration and inputs, the same
 * beside other VMs as alone.
 */
#include "machine_int.h"

#include <string.h>

/* {====== switching ====== */

void vm_switch_to(struct machine *root, struct machine *vm)
{
	struct machine *cur = root->current;
	struct cpu *c = root->cpu;
	if (cur == vm)
		return;
	if (cur) {
		if (!cur->ctx)
			cur->ctx = g_malloc0(cpu_save_size());
		cpu_save(c, cur->ctx);
		cur->ctx_guest = c->guest;
	}
	root->current = vm;
	if (!vm)
		return;
	c->bus = vm->bus;
	cpu_restore(c, vm->ctx, cpu_save_size());
	c->guest = vm->ctx_guest;
	c->cycle_limit = clock_next(vm->clock);
	cpu_state_changed(c);
}

static struct machine *vm_at(const struct machine *root, unsigned i)
{
	if (i == 0)
		return (struct machine *)root;
	return root->vms && i - 1 < root->vms->len ? g_ptr_array_index(root->vms, i - 1) : NULL;
}

/* Runs `fn` with VM `vm` in the CPU, then puts back whoever was there. */
#define WITH_VM(root, vm, stmt)                                 \
	do {                                                    \
		struct machine *prev_ = (root)->current;        \
		vm_switch_to((root), (vm));                     \
		stmt;                                           \
		vm_switch_to((root), prev_);                    \
	} while (0)

/* }====================================================================== */

/* {====== scheduling ====== */

void vm_slice_fired(void *opaque, uint64_t now)
{
	struct machine *vm = opaque;
	vm->slice_over = true;
	cpu_request_stop(vm->cpu);
}

/* One turn of `vm`: until its slice ends, it stops, or `budget` of its
 * instructions retire (0: no limit). A turn cut short by the budget or a
 * stop request goes on (`resume`) with the same slice. Returns how it
 * ended, and in *over whether the turn is over. */
static enum machine_stop turn(struct machine *root, struct machine *vm, uint64_t budget,
                              bool resume, bool *over)
{
	vm_switch_to(root, vm);
	if (!resume)
		vm->slice_end = clock_now(vm->clock) + VM_SLICE_CYCLES;
	vm->slice_over = false;
	clock_timer_arm(&vm->slice_timer, vm->slice_end);
	enum machine_stop st = machine_run_one(vm, budget);
	clock_timer_cancel(&vm->slice_timer);
	vm->slice_over = false;
	*over = (st != MACHINE_LIMIT && st != MACHINE_STOPPED && st != MACHINE_BREAK) ||
	        clock_now(vm->clock) >= vm->slice_end;
	return st;
}

static bool any_running(struct machine *root, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (vm_at(root, i)->vm_state == VM_RUNNING)
			return true;
	return false;
}

/*
 * The VMs take turns in index order, round after round. Where a call
 * ends (the budget spent, a stop request, a debugger's break), root->
 * turn_vm and turn_open keep the place, and the next call goes on from
 * it: running N and then M instructions is the same as running N + M.
 */
enum machine_stop vm_run_all(struct machine *root, uint64_t max_insns)
{
	uint64_t done = 0;
	unsigned n = machine_vm_count(root);
	for (;;) {
		bool whole_round = root->turn_vm == 0 && !root->turn_open, any = false;
		for (; root->turn_vm < n; root->turn_vm++, root->turn_open = false) {
			struct machine *vm = vm_at(root, root->turn_vm);
			if (vm->vm_state != VM_RUNNING)
				continue;
			any = true;
			vm_switch_to(root, vm); /* the CPU's count is now this VM's */
			uint64_t before = root->cpu->icount;
			bool over;
			enum machine_stop st = turn(root, vm, max_insns ? max_insns - done : 0,
			                            root->turn_open, &over);
			done += root->cpu->icount - before;
			root->turn_open = true;
			if (st == MACHINE_STOPPED || st == MACHINE_BREAK || root->stop_flag) {
				root->stop_flag = 0;
				if (over) {
					root->turn_vm++;
					root->turn_open = false;
				}
				vm_switch_to(root, root);
				return st == MACHINE_BREAK ? st : MACHINE_STOPPED;
			}
			if (st != MACHINE_LIMIT) {
				vm->vm_state = VM_STOPPED;
				vm->vm_stop = st;
			}
			if (max_insns && done >= max_insns && any_running(root, n)) {
				if (over) {
					root->turn_vm++;
					root->turn_open = false;
				}
				vm_switch_to(root, root);
				return MACHINE_LIMIT;
			}
			if (!over) /* cannot happen: neither budget nor slice nor end */
				break;
		}
		if (root->turn_vm >= n) {
			root->turn_vm = 0;
			root->turn_open = false;
		}
		if (whole_round && !any)
			break;
	}
	vm_switch_to(root, root);
	if (root->vm_state == VM_STOPPED)
		return root->vm_stop;
	return root->vm_state == VM_DESTROYED ? MACHINE_SHUTDOWN : MACHINE_LIMIT;
}

/* }====================================================================== */

/* {====== the tree ====== */

unsigned machine_vm_count(const struct machine *m)
{
	if (!m->l0 && !(m->vm_state == VM_DESTROYED))
		return 0;
	return 1 + (m->vms ? m->vms->len : 0);
}

int machine_vm_find(const struct machine *m, const char *name)
{
	for (unsigned i = 0; i < machine_vm_count(m); i++)
		if (strcmp(vm_at(m, i)->name, name) == 0)
			return (int)i;
	return -1;
}

static enum machine_vm_state public_state(enum vm_state s)
{
	switch (s) {
	case VM_PAUSED: return MACHINE_VM_PAUSED;
	case VM_STOPPED: return MACHINE_VM_STOPPED;
	case VM_DESTROYED: return MACHINE_VM_DESTROYED;
	default: return MACHINE_VM_RUNNING;
	}
}

bool machine_vm_info(struct machine *m, unsigned i, struct machine_vm_info *out)
{
	struct machine *vm = vm_at(m, i);
	if (!vm || i >= machine_vm_count(m))
		return false;
	memset(out, 0, sizeof *out);
	out->name = vm->name;
	out->level = 1;
	out->state = public_state(vm->vm_state);
	out->stop = vm->vm_stop;
	out->why = vm->shutdown_why;
	int status = -1;
	out->exit_status = vm->dbg && machine_exit_status(vm, &status) ? status : -1;
	out->mem_bytes = vm->share_size;
	out->share_base = vm->share_base;
	if (vm->vm_state == VM_DESTROYED) {
		out->regs.icount = vm->final_icount;
		return true;
	}
	WITH_VM(m, vm, machine_get_guest_regs(vm, &out->regs));
	if (vm->l0) {
		const struct vmm_stats *st = l0_stats(vm->l0);
		for (int e = 0; e < VMM_EXIT_COUNT; e++)
			out->exits += st->exits[e];
	}
	return true;
}

static struct machine *live_vm(struct machine *m, unsigned i)
{
	struct machine *vm = i < machine_vm_count(m) ? vm_at(m, i) : NULL;
	return vm && vm->vm_state != VM_DESTROYED ? vm : NULL;
}

bool machine_vm_pause(struct machine *m, unsigned i)
{
	struct machine *vm = live_vm(m, i);
	if (!vm || vm->vm_state != VM_RUNNING)
		return false;
	vm->vm_state = VM_PAUSED;
	return true;
}

bool machine_vm_resume(struct machine *m, unsigned i)
{
	struct machine *vm = live_vm(m, i);
	if (!vm || vm->vm_state != VM_PAUSED)
		return false;
	vm->vm_state = VM_RUNNING;
	return true;
}

/* Gives back what a destroyed VM held: its monitor (shadow tables and all
 * its pages), its RAM share and its disks. Its small device structs stay
 * until the machine ends, so its console can still be read. */
bool machine_vm_destroy(struct machine *m, unsigned i)
{
	struct machine *vm = live_vm(m, i);
	if (!vm)
		return false;
	WITH_VM(m, vm, {
		vm->final_icount = vm->cpu->icount;
		l0_free(vm->l0);
		vm->l0 = NULL;
		vm->cpu->guest = (struct cpu_guest){ 0 };
	});
	pmem_discard(m->cpu_pmem, vm->share_base, vm->share_size);
	pmem_discard(m->cpu_pmem, vm->mon_base, MONITOR_MIB * MIB);
	cpu_state_changed(m->cpu); /* the TLB may hold pages just given back */
	for (int d = 0; d < vm->n_disks; d++)
		disk_close(vm->disk[d]);
	vm->n_disks = 0;
	vm->vm_state = VM_DESTROYED;
	if (!vm->shutdown_why)
		vm->shutdown_why = "the VM was destroyed";
	return true;
}

const GByteArray *machine_vm_console(struct machine *m, unsigned i)
{
	struct machine *vm = i < machine_vm_count(m) ? vm_at(m, i) : NULL;
	return vm ? vm->console_log : NULL;
}

bool machine_vm_state_hash(struct machine *m, unsigned i, char out[65])
{
	struct machine *vm = live_vm(m, i);
	if (!vm)
		return false;
	WITH_VM(m, vm, machine_state_hash(vm, out));
	return true;
}

bool machine_vm_translate(struct machine *m, unsigned i, uint32_t gva, uint32_t *gpa,
                          uint32_t *hpa)
{
	struct machine *vm = live_vm(m, i);
	if (!vm || !vm->l0 || !vmm_translate((struct vmm *)l0_vmm(vm->l0), gva, gpa))
		return false;
	if (*gpa >= vm->share_size)
		return false;
	*hpa = vm->share_base + *gpa;
	return true;
}

/* }====================================================================== */
