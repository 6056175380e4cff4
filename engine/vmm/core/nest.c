/*
 * nest.c - the assist virtualized: the core's guest may be a monitor that
 * runs a guest of its own through the run-guest operation (assist.h).
 *
 * The guest's WRMSR MSR_NESTLAB_RUN is emulated like any privileged
 * instruction; once it retires, the real CPU is given the guest's guest:
 * its registers and segment caches from the run block, the block's
 * descriptor tables (guest-physical, in the guest's RAM share, so at
 * ram_base plus their address), and, for memory, nested paging in the
 * real CPU: the block's CR3 (the guest monitor's shadow tables, which map
 * its guest's linear addresses to its own physical ones) walked through
 * this core's nested map (its own physical to host-physical). The real CPU
 * does that two-dimensional walk itself, so the guest's guest runs without
 * a trap of its own until its next event, and every event is the guest
 * monitor's exit: it goes into the run block, and the guest monitor goes
 * on after its WRMSR, as on a CPU that has the assist. The core never does
 * the guest monitor's work: it only moves state, as the CPU's assist does.
 *
 * A guest monitor that runs its guest with nested paging in turn (a run
 * block with NL_RUN_NESTED) makes three dimensions: its guest's tables,
 * its nested map, this core's. The real CPU walks two, so the core gives
 * it the composition of the last two (the guest monitor's map, each frame
 * taken through this core's map), filled entry by entry on the real CPU's
 * nested misses and emptied at every entry, so it is never staler than the
 * guest monitor's map at its WRMSR (as a CPU's TLB after a VMRUN). A miss
 * the guest monitor's map itself has is the guest monitor's exit.
 *
 * The core's own paging must be nested (its nested map is the second
 * dimension). docs/monitor.md, "Nesting", has the design.
 */
#include "assist.h"
#include "vmm_int.h"

#define BLOCK_WORDS (0x0d0 / 4) /* version .. cycles: what the CPU reads and writes */

/* Word by word through the guest-physical path (so the core's own
 * write-protection sees the writes), copied bytewise: no aliasing of the
 * struct through another type. */
static void block_read(struct vmm *vm, uint32_t gpa, struct nl_run *b)
{
	uint8_t *p = (uint8_t *)b;
	for (uint32_t i = 0; i < BLOCK_WORDS; i++) {
		uint32_t w = vmem_rd_gpa(vm, gpa + i * 4, 4);
		__builtin_memcpy(p + i * 4, &w, 4);
	}
}

static void block_write(struct vmm *vm, uint32_t gpa, const struct nl_run *b, uint32_t from)
{
	const uint8_t *p = (const uint8_t *)b;
	for (uint32_t i = from / 4; i < BLOCK_WORDS; i++) {
		uint32_t w;
		__builtin_memcpy(&w, p + i * 4, 4);
		vmem_wr_gpa(vm, gpa + i * 4, w, 4);
	}
}

/* A table the real CPU reads physically: wholly inside the guest's RAM. */
static bool in_ram(const struct vmm *vm, uint32_t base, uint32_t limit)
{
	return base < vm->ram_size && limit < vm->ram_size - base;
}

vfault vnest_request(struct vmm *vm, uint64_t pa)
{
	struct nl_run b = { 0 };
	if (!vm->assist || pa >> 32 || (pa & 0x1ff) || pa + sizeof b > vm->ram_size)
		return VF(X_GP, 0);
	block_read(vm, (uint32_t)pa, &b);
	bool v86 = (b.eflags & EFLAGS_VM) != 0;
	bool nested = (b.ctl & NL_RUN_NESTED) != 0;
	if (b.version != NL_RUN_VERSION || (b.ctl & ~NL_RUN_NESTED) || !(b.cr0 & CR0_PE) ||
	    (nested && ((b.npt_root & ~PTE_FRAME) || b.npt_root >= vm->ram_size)) ||
	    (!v86 && (b.seg[VMM_CS].sel & 3) != 3) || b.vcpl > 3 ||
	    (b.nestlab_ctl & ~7u) || (b.state & ~(NL_STATE_HALTED | NL_STATE_INTR_SHADOW)) ||
	    !in_ram(vm, b.gdt_base, b.gdt_limit) ||
	    ((b.ldtr.attr & DESC_P) && !in_ram(vm, b.ldtr.base, b.ldtr.limit)) ||
	    (!nested && (b.cr0 & CR0_PG) && (b.cr3 & PTE_FRAME) >= vm->ram_size))
		return VF(X_GP, 0);
	vm->nest.pending = true;
	vm->nest.block = (uint32_t)pa;
	return 0;
}

void vnest_enter(struct vmm *vm, struct vmm_regs *regs, bool *halt, bool *shadow)
{
	struct nl_run b = { 0 };
	vm->nest.pending = false;
	block_read(vm, vm->nest.block, &b);
	vm->nest.outer = *regs;
	vm->nest.active = true;
	vm->nest.inner_nested = (b.ctl & NL_RUN_NESTED) != 0;
	vm->nest.inner_npt = b.npt_root;
	vm->nest.vcpl = (uint8_t)b.vcpl;
	if (vm->nest.inner_nested) {
		if (!vm->nest.cnpt_root)
			vm->nest.cnpt_root = vmem_page_alloc(vm);
		if (!vm->nest.cnpt_root)
			vm->stop_why = "the monitor has no page left for its guest monitor's nested map";
		for (int i = 0; i < 1024; i++)
			if (vm->nest.cnpt_pt[i])
				vmem_zero_page(vm, vm->nest.cnpt_pt[i]);
		vm->tlb_stale = true;
	}
	vm->nest.ctl = b.nestlab_ctl;
	vm->nest.cycles = vm->ops->cycles(vm->ops->opaque);
	vm->nest.entries++;
	for (int i = 0; i < 8; i++)
		regs->r[i] = b.r[i];
	regs->eip = b.eip;
	regs->eflags = b.eflags;
	for (int s = 0; s < VMM_NSEG; s++)
		regs->seg[s] = (struct vmm_seg){ b.seg[s].sel, b.seg[s].attr, b.seg[s].base,
		                                 b.seg[s].limit };
	regs->ldtr = (struct vmm_seg){ b.ldtr.sel, b.ldtr.attr, vm->ram_base + b.ldtr.base,
	                               b.ldtr.limit };
	regs->gdtr = (struct vmm_dtr){ vm->ram_base + b.gdt_base, b.gdt_limit };
	regs->cr0 = b.cr0;
	regs->cr3 = b.cr3;
	regs->cr4 = b.cr4;
	regs->dirty |= VMM_DIRTY_CTL | 0x3fu;
	*halt = (b.state & NL_STATE_HALTED) != 0;
	*shadow = (b.state & NL_STATE_INTR_SHADOW) != 0;
}

bool vnest_npf(struct vmm *vm, uint32_t gpa, int err)
{
	/* The guest monitor's own map first: a miss there is its exit. */
	bool write = (err & 2) != 0; /* NPF_WRITE */
	uint32_t pde = vmem_rd_gpa(vm, vm->nest.inner_npt + (gpa >> 22) * 4, 4);
	if (!(pde & PTE_P))
		return false;
	uint32_t pte_gpa = (pde & PTE_FRAME) + ((gpa >> 12) & 1023) * 4;
	if ((pde & PTE_FRAME) >= vm->ram_size)
		return false;
	uint32_t pte = vmem_rd_gpa(vm, pte_gpa, 4);
	uint32_t f = pte & PTE_FRAME, hpa;
	if (!(pte & PTE_P) || !vmem_gpa_ram(vm, f, &hpa))
		return false;
	bool w = (pde & PTE_W) && (pte & PTE_W);
	if (write && !w)
		return false;
	/* Then this core's: a frame it protects (a descriptor table of its
	 * guest's) gives the write up as under its own guest. */
	uint32_t npde = vmem_rd_hpa(vm, vm->npt_root + (f >> 22) * 4), npte = 0;
	if (npde & PTE_P)
		npte = vmem_rd_hpa(vm, (npde & PTE_FRAME) + ((f >> 12) & 1023) * 4);
	if (write && !(npte & PTE_W) && vdesc_is_dt_frame(vm, f)) {
		vdesc_release_frame(vm, f);
		npte |= PTE_W;
	}
	if (!(npte & PTE_W))
		w = false;
	uint32_t i = gpa >> 22;
	if (!vm->nest.cnpt_pt[i]) {
		uint32_t pt = vmem_page_alloc(vm);
		if (!pt) {
			vm->stop_why = "the monitor has no page left for its guest monitor's nested map";
			return true;
		}
		vm->nest.cnpt_pt[i] = pt;
		vmem_wr_hpa(vm, vm->nest.cnpt_root + i * 4, pt | PTE_P | PTE_W | PTE_U);
	}
	vmem_wr_hpa(vm, vm->nest.cnpt_pt[i] + ((gpa >> 12) & 1023) * 4,
	            hpa | PTE_P | PTE_U | (w ? PTE_W : 0));
	vm->nest.fills++;
	vm->tlb_stale = true;
	return true;
}

void vnest_exit(struct vmm *vm, struct vmm_regs *regs, int vec, int err, unsigned flags,
                uint32_t cr2, uint32_t gpa)
{
	struct nl_run b = { 0 };
	block_read(vm, vm->nest.block, &b);
	for (int i = 0; i < 8; i++)
		b.r[i] = regs->r[i];
	b.eip = regs->eip;
	b.eflags = regs->eflags;
	for (int s = 0; s < VMM_NSEG; s++)
		b.seg[s] = (struct nl_seg){ regs->seg[s].sel, regs->seg[s].attr, regs->seg[s].base,
		                            regs->seg[s].limit };
	b.cr0 = regs->cr0;
	b.cr3 = regs->cr3;
	b.cr4 = regs->cr4;
	b.nestlab_ctl = vm->nest.ctl;
	b.state = 0;
	b.exit_vec = (uint32_t)vec;
	b.exit_err = (uint32_t)err;
	b.exit_flags = flags & (NL_EXIT_SOFT | NL_EXIT_EXT);
	b.exit_cr2 = vec == X_PF ? cr2 : 0;
	b.exit_gpa = vec == NL_EXIT_NPF ? gpa : 0;
	b.reserved0 = 0;
	b.icount = 0; /* not counted under a monitor (docs/monitor.md, "Nesting") */
	b.cycles = vm->ops->cycles(vm->ops->opaque) - vm->nest.cycles;
	block_write(vm, vm->nest.block, &b, 0x0c);
	*regs = vm->nest.outer;
	regs->dirty = VMM_DIRTY_CTL | 0x3fu | VMM_DIRTY_TLB;
	vm->nest.active = false;
}

void vnest_mode(const struct vmm *vm, struct vmm_regs *regs)
{
	if (vm->nest.active) {
		regs->mode = vm->nest.inner_nested
		             ? (struct vmm_mode){ true, vm->nest.vcpl, vm->nest.cnpt_root, vm->nest.ctl }
		             : (struct vmm_mode){ true, 3, vm->npt_root, vm->nest.ctl };
		return;
	}
	/* SEGLOAD_TRAP in the kernel view (ring compression), and in the user
	 * view if the guest set it for its own user code (emulate.c). */
	bool segload = regs->vcpl < 3 || (vm->vcpu.msr_ctl & NESTLAB_CTL_SEGLOAD_TRAP_);
	uint32_t ctl = vm->faithful ? 0 : NESTLAB_CTL_STRICT_ | NESTLAB_CTL_CPUID_FAULT_ |
	                                  (segload ? NESTLAB_CTL_SEGLOAD_TRAP_ : 0);
	regs->mode = (struct vmm_mode){ vm->paging == VMM_NESTED, regs->vcpl, vm->npt_root, ctl };
}
