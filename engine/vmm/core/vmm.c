/*
 * vmm.c - the monitor core's entry points: setting up a VM and the trap.
 *
 * vmm_trap() is the one place a guest's exit is handled. It sorts the
 * event the real CPU was about to deliver:
 *
 *   #PF       shadow paging: spt_fault() decides hidden (filled, resumed),
 *             true (reflected with the guest's CR2 and error code), or an
 *             access the monitor performs (device page, page-table write)
 *   NPF       nested paging: a guest-physical address outside the RAM
 *             share, i.e. a device: the access is emulated
 *   #GP(0)    a privileged or sensitive instruction: emulated
 *   #NP(sel)  a shadow descriptor not yet filled: filled and retried
 *   external  a virtual interrupt: delivered through the guest's IDT
 *   other     the guest's own exception: reflected
 */
#include "vmm_int.h"

#define CPU_EV_SOFT_ 1u /* engine/cpu/cpu.h CPU_EV_SOFT and CPU_EV_EXT */
#define CPU_EV_EXT_ 2u
#define NPF_VEC 31
#define ERR_SEL_MASK 0xfffcu

static const char *const exit_names[VMM_EXIT_COUNT] = {
	"privileged instruction", "port I/O", "device memory (MMIO)", "hidden page fault",
	"true page fault", "page-table write", "exception reflected", "interrupt delivered",
	"HLT", "nested page fault", "descriptor-table write", "nested guest exit",
	"reserved-range access",
};

const char *vmm_exit_name(enum vmm_exit e)
{
	return e < VMM_EXIT_COUNT ? exit_names[e] : "?";
}

bool vmm_init(struct vmm *vm, const struct vmm_host_ops *ops, enum vmm_paging paging,
              bool faithful, uint32_t ram_base, uint32_t ram_size, uint32_t mon_base,
              uint32_t mon_pages, const struct vmm_vcpu *entry, const uint16_t sel[VMM_NSEG],
              bool keep_caches, struct vmm_regs *regs)
{
	*vm = (struct vmm){ .ops = ops, .paging = paging, .faithful = faithful,
	                    .ram_base = ram_base, .ram_size = ram_size, .mon_base = mon_base,
	                    .mon_pages = mon_pages > VMM_MON_PAGES ? VMM_MON_PAGES : mon_pages,
	                    .vcpu = *entry, .cur_root = -1 };
	struct vmm_vcpu *v = &vm->vcpu;
	vdesc_shadow_gdt(vm);
	vdesc_shadow_ldt(vm);
	if (paging == VMM_NESTED && !npt_build(vm))
		vm->stop_why = "the monitor has too few pages for the nested map";
	if (vm->stop_why)
		return false;
	/* Fresh from real mode: the caches stay until the guest reloads them. */
	for (int s = 0; keep_caches && s < VMM_NSEG; s++) {
		regs->seg[s].attr |= DESC_DPL;
		if (s == VMM_CS || s == VMM_SS)
			regs->seg[s].sel |= 3;
	}
	/* The segments the loader left, as the guest's own GDT describes them. */
	for (int s = 0; !keep_caches && s < VMM_NSEG; s++) {
		uint64_t d;
		if (vdesc_read(vm, sel[s], &d)) {
			vm->stop_why = "the guest's entry segments are not in its GDT";
			return false;
		}
		if (s == VMM_CS)
			vdesc_load_cs(vm, regs, sel[s], d, v->cpl);
		else if (s == VMM_SS)
			vdesc_load_ss_raw(vm, regs, sel[s], d);
		else if (!vdesc_fault(vm, sel[s], X_NP))
			vdesc_seg_from(&regs->seg[s], sel[s], d | (3ull << 45) | (1ull << 40));
	}
	regs->cr4 = CR4_TSD;
	regs->cr0 = CR0_PE | CR0_ET | (paging == VMM_NESTED ? (v->cr0 & (CR0_PG | CR0_WP))
	                                                     : CR0_PG | CR0_WP);
	ev_cpl_changed(vm, regs);
	vnest_mode(vm, regs);
	return vm->stop_why == NULL;
}

void vmm_destroy(struct vmm *vm)
{
	spt_flush_all(vm);
	for (uint32_t i = 0; i < vm->mon_pages; i++)
		vmem_page_free(vm, vm->mon_base + i * PAGE);
}

bool vmm_reserve(struct vmm *vm, const struct vmm_resv *r, struct vmm_regs *regs)
{
	if (vm->paging != VMM_SHADOW || !r->base || (r->base & (VMM_RESV_SIZE - 1)) ||
	    r->gdt_first + VMM_RESV_GDT_SLOTS > 8192)
		return false;
	vm->resv = *r;
	vdesc_install_resv(vm);
	spt_install_resv(vm);
	vdesc_set_view(vm, regs);
	regs->dirty |= VMM_DIRTY_TLB;
	return true;
}

void vmm_install_segments(struct vmm *vm, const struct vmm_regs *regs)
{
	vdesc_install_segments(vm, regs);
}

bool vmm_map_rom(struct vmm *vm, uint32_t gpa, uint32_t size)
{
	vm->rom_base = gpa;
	vm->rom_size = size;
	return vm->paging != VMM_NESTED || npt_map_rom(vm, gpa, size);
}

int vmm_intr_shadow(const struct vmm_result *res, unsigned flags)
{
	bool again = !res->retired && (res->reason == VMM_EXIT_PF_HIDDEN ||
	                               res->reason == VMM_EXIT_MMIO ||
	                               res->reason == VMM_EXIT_PT_WRITE ||
	                               res->reason == VMM_EXIT_NPF ||
	                               res->reason == VMM_EXIT_DT_WRITE ||
	                               res->reason == VMM_EXIT_RESV ||
	                               (res->reason == VMM_EXIT_PRIV && !(flags & CPU_EV_SOFT_)));
	if (res->intr_shadow || again)
		return 1;
	return res->retired ? 0 : -1;
}

uint32_t vmm_guest_eflags(const struct vmm *vm, uint32_t real)
{
	return ev_guest_flags(vm, real);
}

bool vmm_translate(struct vmm *vm, uint32_t gva, uint32_t *gpa)
{
	const struct vmm_vcpu *v = &vm->vcpu;
	if (!(v->cr0 & CR0_PG)) {
		*gpa = gva;
		return true;
	}
	uint32_t pde = vmem_rd_gpa(vm, (v->cr3 & PTE_FRAME) | ((gva >> 20) & 0xffc), 4);
	if (!(pde & PTE_P))
		return false;
	if ((pde & PTE_PS) && (v->cr4 & CR4_PSE)) {
		*gpa = (pde & PDE_FRAME_4M) | (gva & 0x3fffff);
		return true;
	}
	uint32_t pte = vmem_rd_gpa(vm, (pde & PTE_FRAME) | ((gva >> 10) & 0xffc), 4);
	if (!(pte & PTE_P))
		return false;
	*gpa = (pte & PTE_FRAME) | (gva & 0xfff);
	return true;
}

/* {====== the trap ====== */

static void reflect(struct vmm *vm, struct vmm_regs *regs, vfault f, struct vmm_result *res)
{
	int vec = VF_VEC(f);
	res->reason = vec == X_PF ? VMM_EXIT_PF_TRUE : VMM_EXIT_EXCEPTION;
	ev_deliver(vm, regs, vec, VF_ERR(f), false, false);
}

static void emulate(struct vmm *vm, struct vmm_regs *regs, int vec, int err,
                    struct vmm_result *res, bool mem_access)
{
	struct vmm_regs before = *regs;
	vfault f = emu_insn(vm, regs, res, mem_access);
	if (f == VF_NOT_EMULATED) {
		*regs = before;
		res->retired = false;
		vm->fault_cr2 = vm->vcpu.cr2;
		reflect(vm, regs, err >= 0 ? VF(vec, err) : VF_N(vec), res);
		return;
	}
	if (f) {
		/* The instruction faults for the guest: state as before it. */
		uint32_t dirty = regs->dirty;
		if (!res->reps) {
			*regs = before;
			regs->dirty |= dirty;
		}
		res->retired = false;
		reflect(vm, regs, f, res);
	}
}

static void page_fault(struct vmm *vm, struct vmm_regs *regs, int err, uint32_t cr2,
                       struct vmm_result *res)
{
	uint32_t gpa;
	enum vmm_exit kind;
	vfault f = spt_fault(vm, cr2, (uint32_t)err, &kind, &gpa);
	res->reason = kind;
	if (f) {
		reflect(vm, regs, f, res);
		return;
	}
	if (kind == VMM_EXIT_RESV &&
	    ((err & PFEC_I) || resv_contains(vm, regs->seg[VMM_CS].base + regs->eip))) {
		vm->stop_why = "the guest ran code in the linear range its monitor reserves for itself "
		               "(a monitor under this one needs a range of its own: tinyvmm's slot=)";
		return;
	}
	if (kind == VMM_EXIT_MMIO || kind == VMM_EXIT_PT_WRITE || kind == VMM_EXIT_RESV)
		emulate(vm, regs, X_PF, err, res, true);
	if (!res->stop)
		res->reason = kind;
}

struct vmm_result vmm_trap(struct vmm *vm, struct vmm_regs *regs, int vec, int err,
                           unsigned flags, uint32_t cr2, uint32_t gpa)
{
	struct vmm_result res = { .reason = VMM_EXIT_EXCEPTION };
	if (vm->resv.base)
		vdesc_uninstall(vm);
	regs->dirty = 0;
	regs->halt = false;
	regs->vcpl = vm->vcpu.cpl;
	vm->tlb_stale = false;
	vm->ev_cycles = 0;
	bool refaulting = vm->refaulting;
	vm->refaulting = false;
	if (vm->nest.active) {
		/* The guest's guest: its nested-map miss on a frame this core
		 * protects is the core's own; every other event is the guest's. */
		uint32_t hpa;
		if (vec == NPF_VEC && vm->nest.inner_nested) {
			if (vnest_npf(vm, gpa, err)) {
				res.reason = VMM_EXIT_NPF;
			} else {
				vnest_exit(vm, regs, vec, err, flags, cr2, gpa);
				res.reason = VMM_EXIT_NEST;
			}
		} else if (vec == NPF_VEC && vmem_gpa_ram(vm, gpa, &hpa) && vdesc_is_dt_frame(vm, gpa)) {
			vnest_table_written(vm, gpa);
			vdesc_release_frame(vm, gpa);
			res.reason = VMM_EXIT_DT_WRITE;
		} else if (vec == NPF_VEC && vmem_gpa_ram(vm, gpa, &hpa) &&
		           vnest_table_written(vm, gpa)) {
			res.reason = VMM_EXIT_NPF; /* retried */
		} else if (vec == NPF_VEC) {
			vm->stop_why = "the guest monitor's own guest reached memory outside the guest "
			               "monitor's RAM (device memory is not virtualized for it yet)";
		} else {
			vnest_exit(vm, regs, vec, err, flags, cr2, gpa);
			res.reason = VMM_EXIT_NEST;
		}
	} else if (flags & CPU_EV_EXT_) {
		res.reason = VMM_EXIT_INTR;
		ev_deliver(vm, regs, vec, -1, false, true);
	} else if (refaulting && !(flags & CPU_EV_SOFT_)) {
		/* The fault of an INT n whose delivery faulted (below), raised by
		 * the host as the instruction's own: the guest's, reflected as is. */
		vm->fault_cr2 = cr2;
		reflect(vm, regs, err >= 0 ? VF(vec, err) : VF_N(vec), &res);
	} else if (flags & CPU_EV_SOFT_) {
		/* INT n, INT3 or INTO the CPU ran itself (INT3 and INTO always;
		 * INT n with strict mode off): the monitor delivers. If the
		 * delivery faults, the instruction faults: the host raises that
		 * fault as the CPU's own (EIP back at the instruction, not
		 * retired), and it comes back here to be reflected. */
		res.reason = VMM_EXIT_PRIV;
		vfault f = ev_int(vm, regs, vec);
		if (f) {
			res.refault = true;
			res.refault_vec = VF_VEC(f);
			res.refault_err = VF_ERR(f);
			res.refault_cr2 = vm->fault_cr2;
			vm->refaulting = true;
		}
	} else if (vec == X_PF && vm->paging == VMM_SHADOW) {
		page_fault(vm, regs, err, cr2, &res);
	} else if (vec == NPF_VEC) {
		res.reason = VMM_EXIT_NPF;
		uint32_t hpa;
		bool ram = vmem_gpa_ram(vm, gpa, &hpa);
		/* A table of the guest's own nested map (it runs a guest that
		 * uses it: the composed map is made afresh), and retried. */
		bool table = ram && vnest_table_written(vm, gpa);
		if (ram && vdesc_is_dt_frame(vm, gpa)) {
			vdesc_release_frame(vm, gpa); /* as under shadow paging: retried */
			res.reason = VMM_EXIT_DT_WRITE;
		} else if (table) {
			res.reason = VMM_EXIT_NPF;
		} else if (ram) {
			vm->stop_why = "nested page fault inside the VM's RAM (a monitor bug)";
		} else {
			emulate(vm, regs, vec, err, &res, true);
			if (!vm->stop_why)
				res.reason = VMM_EXIT_NPF;
		}
	} else if ((vec == X_GP || vec == X_NP) && err > 0 && !(err & 2) &&
	           (vec == X_NP || vdesc_unfilled(vm, (uint16_t)(err & ERR_SEL_MASK)))) {
		/* A shadow descriptor not filled yet (empty: #GP; or absent from
		 * this view: #NP): filled from the guest's table, or the fault the
		 * guest's own table gives. */
		vfault f = vdesc_fault(vm, (uint16_t)(err & ERR_SEL_MASK), X_NP);
		res.reason = VMM_EXIT_PRIV;
		if (f)
			reflect(vm, regs, f, &res);
	} else if (vec == X_GP && err > 0 && (err & 2)) {
		/* A gate's fault (IDT bit set): raised for a refaulted INT n. */
		reflect(vm, regs, VF(vec, err), &res);
	} else if (vec == X_GP) {
		/* A privileged or sensitive instruction (#GP(0) in strict mode), or
		 * one that faults only because the guest runs at real CPL 3 (MOV SS
		 * or IRET with the guest's RPL 0 selectors, with strict mode off):
		 * emulated; anything else is the guest's own #GP. */
		emulate(vm, regs, vec, err, &res, false);
	} else {
		if (vec == X_PF)
			vm->fault_cr2 = cr2;
		reflect(vm, regs, err >= 0 ? VF(vec, err) : VF_N(vec), &res);
	}
	if (vm->nest.pending && !vm->stop_why)
		vnest_enter(vm, regs, &regs->halt, &res.intr_shadow);
	if (vm->tlb_stale)
		regs->dirty |= VMM_DIRTY_TLB;
	vnest_mode(vm, regs);
	vm->stats.exits[res.reason]++;
	res.charged_cycles += (int32_t)vm->ev_cycles;
	if (vm->stop_why) {
		res.stop = true;
		res.why = vm->stop_why;
	}
	return res;
}

/* }====================================================================== */
