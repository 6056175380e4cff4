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
 * nested misses. It is never staler than the guest monitor's map at its
 * WRMSR (as a CPU's TLB after a VMRUN), yet it is kept from one entry to
 * the next: the frames of the guest monitor's tables that a fill reads are
 * write-protected in this core's map, so a write to one is this core's
 * trap and empties it; so do an entry with another map and this core
 * taking back a write permission it had given (a composed entry may have
 * copied it). A miss the guest monitor's map itself has is the guest
 * monitor's exit.
 *
 * The core's own paging must be nested (its nested map is the second
 * dimension). docs/monitor.md, "Nesting", has the design.
 */
#include "assist.h"
#include "vmm_int.h"

#define BLOCK_WORDS (0x0d0 / 4) /* version .. cycles: what the CPU reads and writes */

/* The block lies in one page of the guest's RAM (vnest_request checks
 * it): read and written whole, as the CPU's assist does. The write is the
 * guest's memory changing, so the core's watches see it as they see the
 * guest's own writes (vmem_wr_gpa). */
static void block_read(struct vmm *vm, uint32_t gpa, struct nl_run *b)
{
	vm->ops->read(vm->ops->opaque, vm->ram_base + gpa, b, BLOCK_WORDS * 4);
}

static void block_write(struct vmm *vm, uint32_t gpa, const struct nl_run *b, uint32_t from)
{
	uint32_t len = BLOCK_WORDS * 4 - from;
	vm->ops->write(vm->ops->opaque, vm->ram_base + gpa + from, (const uint8_t *)b + from, len);
	vmem_guest_wrote(vm, gpa + from, len);
}

/* A table the real CPU reads physically: wholly inside the guest's RAM. */
static bool in_ram(const struct vmm *vm, uint32_t base, uint32_t limit)
{
	return base < vm->ram_size && limit < vm->ram_size - base;
}

/* {====== the composed maps' lifetime ====== */

static bool watched(const struct vmm *vm, uint32_t f)
{
	for (uint32_t i = 0; i < vm->nest.n_tables; i++)
		if (vm->nest.tables[i] == f)
			return true;
	return false;
}

static bool in_use(const struct vmm *vm)
{
	return vm->nest.active && vm->nest.inner_nested;
}

/* Empties composed map `m` (and so the real CPU's TLB). */
static void cnpt_flush(struct vmm *vm, struct vmm_cnpt *m)
{
	for (int i = 0; i < 1024; i++)
		if (m->pt[i])
			vmem_zero_page(vm, m->pt[i]);
	m->valid = true;
	vm->nest.flushes++;
	vm->tlb_stale = true;
}

/* Every composed map may disagree with the maps now: the one in use is
 * emptied at once, the others at their next entry. */
static void invalidate(struct vmm *vm)
{
	for (int i = 0; i < VMM_NEST_MAPS; i++)
		vm->nest.maps[i].valid = false;
	if (in_use(vm))
		cnpt_flush(vm, &vm->nest.maps[vm->nest.cur]);
}

/* Frame `f` holds a table of a guest monitor's map that a fill reads:
 * from now on a write to it is this core's. Composed entries made before
 * may map it writable (if a fill ever made one that does): they go. With
 * more tables than the core can watch, every map is made afresh at every
 * entry, as if none were watched. */
static void watch(struct vmm *vm, uint32_t f)
{
	if (watched(vm, f))
		return;
	if (vm->nest.n_tables == VMM_NEST_TABLES) {
		for (int i = 0; i < VMM_NEST_MAPS; i++)
			vm->nest.maps[i].valid = false;
		return;
	}
	vm->nest.tables[vm->nest.n_tables++] = f;
	npt_set_writable(vm, f, false);
	uint32_t k = f >> 12;
	if (vm->nest.w_map[k >> 3] & (1u << (k & 7)))
		invalidate(vm);
}

bool vnest_table_written(struct vmm *vm, uint32_t gpa)
{
	if (!watched(vm, gpa & PAGE_MASK))
		return false;
	/* None is watched any more (their frames writable again, but for
	 * those this core protects as descriptor tables); fills watch them
	 * again. */
	for (uint32_t i = 0; i < vm->nest.n_tables; i++) {
		uint32_t f = vm->nest.tables[i];
		if (!vdesc_is_dt_frame(vm, f))
			npt_set_writable(vm, f, true);
	}
	vm->nest.n_tables = 0;
	invalidate(vm);
	return true;
}

void vnest_write_taken(struct vmm *vm)
{
	invalidate(vm);
}

/* The composed map for the guest monitor's map `inner`: the one made
 * before, or the least recently used one made afresh. NULL if the monitor
 * has no page for it. */
static struct vmm_cnpt *cnpt_for(struct vmm *vm, uint32_t inner)
{
	struct vmm_cnpt *m = NULL;
	for (int i = 0; i < VMM_NEST_MAPS && !m; i++)
		if (vm->nest.maps[i].used && vm->nest.maps[i].inner == inner)
			m = &vm->nest.maps[i];
	if (!m) {
		m = &vm->nest.maps[0]; /* a free one, else the least recently used */
		for (int i = 1; i < VMM_NEST_MAPS && m->used; i++)
			if (!vm->nest.maps[i].used || vm->nest.maps[i].lru < m->lru)
				m = &vm->nest.maps[i];
		m->used = true;
		m->inner = inner;
		m->valid = false;
	}
	if (!m->root && !(m->root = vmem_page_alloc(vm)))
		return NULL;
	if (!m->valid)
		cnpt_flush(vm, m);
	m->lru = ++vm->nest.lru;
	vm->nest.cur = (int)(m - vm->nest.maps);
	return m;
}

/* }====================================================================== */

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
		if (!cnpt_for(vm, b.npt_root))
			vm->stop_why = "the monitor has no page left for its guest monitor's nested map";
		vm->tlb_stale = true; /* the real TLB held the guest monitor's own translations */
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
	watch(vm, vm->nest.inner_npt & PTE_FRAME);
	watch(vm, pde & PTE_FRAME);
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
	if (write && !(npte & PTE_W) && vnest_table_written(vm, f) && !vdesc_is_dt_frame(vm, f))
		npte |= PTE_W; /* the guest's guest writes the guest monitor's map */
	if (write && !(npte & PTE_W) && vdesc_is_dt_frame(vm, f)) {
		vdesc_release_frame(vm, f);
		npte |= PTE_W;
	}
	if (!(npte & PTE_W))
		w = false;
	struct vmm_cnpt *m = &vm->nest.maps[vm->nest.cur];
	uint32_t i = gpa >> 22;
	if (!m->pt[i]) {
		uint32_t pt = vmem_page_alloc(vm);
		if (!pt) {
			vm->stop_why = "the monitor has no page left for its guest monitor's nested map";
			return true;
		}
		m->pt[i] = pt;
		vmem_wr_hpa(vm, m->root + i * 4, pt | PTE_P | PTE_W | PTE_U);
	}
	vmem_wr_hpa(vm, m->pt[i] + ((gpa >> 12) & 1023) * 4, hpa | PTE_P | PTE_U | (w ? PTE_W : 0));
	if (w)
		vm->nest.w_map[f >> 15] |= (uint8_t)(1u << ((f >> 12) & 7));
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
		             ? (struct vmm_mode){ true, vm->nest.vcpl, vm->nest.maps[vm->nest.cur].root,
		                                  vm->nest.ctl }
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
