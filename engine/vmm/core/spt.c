/*
 * spt.c - shadow page tables, and the nested map.
 *
 * A shadow root is a page directory the real CPU walks while the guest
 * runs. There is one per guest CR3 and view (kernel: guest CPL 0-2, user:
 * guest CPL 3), cached in vm->roots[] with LRU eviction. Shadows are
 * filled on demand: a real #PF while the guest runs lands in spt_fault(),
 * which walks the guest's tables (vmem_walk, setting A/D as the hardware
 * would) and then either fills one shadow PTE (a hidden fault) or reports
 * the guest's own #PF (a true fault).
 *
 *   shadow PDE  -> a shadow page table (vm->spt[]), P W U A D
 *   shadow PTE  -> host-physical page of the VM's share, P U A D, and W only
 *                  if the guest allows the write in this view AND the guest
 *                  entry is already dirty AND the frame is not a guest page
 *                  table (so the first write traps and sets D, and writes to
 *                  page tables trap and are emulated)
 *
 * Guest frames used as page tables are kept in vm->pt_map; writes to them
 * trap (VMM_EXIT_PT_WRITE), are emulated, and drop the shadow entries they
 * affect. A frame written many times without being used as a table in
 * between is unprotected (its shadows dropped) until a walk uses it again.
 */
#include "vmm_int.h"

#define PT_FLOOD 64      /* emulated writes before a frame is unprotected */
#define SPT_PDE (PTE_P | PTE_W | PTE_U | PTE_A | PTE_D)
#define NO_GPT 0xffffffffu

/* {====== page-table frame tracking ====== */

bool spt_is_pt_frame(const struct vmm *vm, uint32_t gpa)
{
	uint32_t f = gpa >> 12;
	return (vm->pt_map[f >> 3] >> (f & 7)) & 1;
}

static void set_pt_frame(struct vmm *vm, uint32_t gpa, bool on)
{
	uint32_t f = gpa >> 12;
	if (on)
		vm->pt_map[f >> 3] |= (uint8_t)(1u << (f & 7));
	else
		vm->pt_map[f >> 3] &= (uint8_t)~(1u << (f & 7));
	uint32_t slot = f & (VMM_PT_TRACK - 1);
	vm->pt_tag[slot] = (gpa & PAGE_MASK) | 1;
	vm->pt_writes[slot] = 0;
}

/* }====================================================================== */

/* {====== the pool ====== */

static int spt_slot_of(const struct vmm *vm, uint32_t hpa)
{
	for (int i = 0; i < vm->spt_top; i++)
		if (vm->spt[i].hpa == hpa)
			return i;
	return -1;
}

static void spt_free_slot(struct vmm *vm, int i)
{
	vmem_page_free(vm, vm->spt[i].hpa);
	vm->spt[i].hpa = 0;
}

static void root_free(struct vmm *vm, int r)
{
	struct vmm_spt_root *rt = &vm->roots[r];
	if (!rt->hpa)
		return;
	for (int i = 0; i < vm->spt_top; i++)
		if (vm->spt[i].hpa && vm->spt[i].root == r)
			spt_free_slot(vm, i);
	vmem_page_free(vm, rt->hpa);
	rt->hpa = 0;
	if (vm->cur_root == r)
		vm->cur_root = -1;
	vm->stats.spt_evictions++;
	vm->tlb_stale = true;
}

void spt_flush_all(struct vmm *vm)
{
	for (int r = 0; r < VMM_SPT_ROOTS; r++)
		root_free(vm, r);
}

/* Drops the shadow page table under PDE `idx` of root `r`. */
static void drop_pde(struct vmm *vm, int r, uint32_t idx)
{
	if (resv_pde_index(vm, idx))
		return; /* the monitor's own, not a shadow of anything */
	uint32_t a = vm->roots[r].hpa + idx * 4;
	uint32_t pde = vmem_rd_hpa(vm, a);
	if (!(pde & PTE_P))
		return;
	int s = spt_slot_of(vm, pde & PTE_FRAME);
	if (s >= 0)
		spt_free_slot(vm, s);
	vmem_wr_hpa(vm, a, 0);
	vm->tlb_stale = true;
}

/* A shadow page table for PDE `idx` of the current root, shadowing guest
 * table `gpt` (NO_GPT for a 4 MiB page or paging off). */
static uint32_t spt_get(struct vmm *vm, uint32_t idx, uint32_t gpt)
{
	int r = vm->cur_root;
	uint32_t a = vm->roots[r].hpa + idx * 4;
	uint32_t pde = vmem_rd_hpa(vm, a);
	if (pde & PTE_P)
		return pde & PTE_FRAME;
	int s = -1;
	for (int i = 0; i < VMM_SPT_PAGES && s < 0; i++)
		if (!vm->spt[i].hpa)
			s = i;
	uint32_t hpa = s >= 0 ? vmem_page_alloc(vm) : 0;
	if (!hpa)
		return 0;
	vm->spt[s] = (struct vmm_spt_page){ .hpa = hpa, .gpt = gpt, .root = (uint16_t)r,
	                                    .pde = (uint16_t)idx };
	if (s >= vm->spt_top)
		vm->spt_top = (uint16_t)(s + 1);
	vmem_wr_hpa(vm, a, hpa | SPT_PDE);
	return hpa;
}

/* }====================================================================== */

/* {====== roots ====== */

static int root_alloc(struct vmm *vm)
{
	int victim = 0;
	for (int r = 0; r < VMM_SPT_ROOTS; r++) {
		if (!vm->roots[r].hpa)
			return r;
		if (vm->roots[r].used < vm->roots[victim].used)
			victim = r;
	}
	root_free(vm, victim);
	return victim;
}

void spt_switch(struct vmm *vm, struct vmm_regs *regs)
{
	const struct vmm_vcpu *v = &vm->vcpu;
	regs->dirty |= VMM_DIRTY_CTL | VMM_DIRTY_TLB;
	if (vm->paging == VMM_NESTED) {
		regs->cr3 = v->cr3;
		return;
	}
	bool paging = (v->cr0 & CR0_PG) != 0, wp = (v->cr0 & CR0_WP) != 0;
	uint8_t view = v->cpl == 3;
	uint32_t key = paging ? v->cr3 & PTE_FRAME : 0;
	int found = -1;
	for (int r = 0; r < VMM_SPT_ROOTS && found < 0; r++) {
		const struct vmm_spt_root *rt = &vm->roots[r];
		if (rt->hpa && rt->gcr3 == key && rt->view == view && rt->paging == paging &&
		    rt->wp == wp)
			found = r;
	}
	if (found < 0) {
		found = root_alloc(vm);
		uint32_t hpa = vmem_page_alloc(vm);
		if (!hpa) {
			spt_flush_all(vm);
			hpa = vmem_page_alloc(vm);
		}
		vm->roots[found] = (struct vmm_spt_root){ .hpa = hpa, .gcr3 = key, .view = view,
		                                          .paging = paging, .wp = wp };
		if (!hpa)
			vm->stop_why = "the monitor ran out of pages for shadow page tables";
		else if (vm->resv.base)
			vmem_wr_hpa(vm, hpa + (vm->resv.base >> 22) * 4, vm->resv.pde);
	}
	vm->roots[found].used = ++vm->lru;
	vm->cur_root = found;
	regs->cr3 = vm->roots[found].hpa;
}

/* }====================================================================== */

/* {====== faults ====== */

/* Starts write-protecting guest frame `gpa` as a page table. Shadow PTEs
 * made before may map it writable: they are all dropped. */
static void protect(struct vmm *vm, uint32_t gpa)
{
	uint32_t slot = (gpa >> 12) & (VMM_PT_TRACK - 1);
	if (spt_is_pt_frame(vm, gpa)) {
		if (vm->pt_tag[slot] == ((gpa & PAGE_MASK) | 1))
			vm->pt_writes[slot] = 0;
		return;
	}
	set_pt_frame(vm, gpa, true);
	spt_write_protect(vm, gpa);
}

void npt_set_writable(struct vmm *vm, uint32_t gpa, bool w)
{
	uint32_t pde = vmem_rd_hpa(vm, vm->npt_root + (gpa >> 22) * 4);
	if (pde & PTE_P) {
		uint32_t a = (pde & PTE_FRAME) + ((gpa >> 12) & 1023) * 4, e = vmem_rd_hpa(vm, a);
		vmem_wr_hpa(vm, a, w ? e | PTE_W : e & ~PTE_W);
	}
	vm->tlb_stale = true;
}

void spt_write_protect(struct vmm *vm, uint32_t gpa)
{
	uint32_t target = vm->ram_base + (gpa & PAGE_MASK);
	if (vm->paging == VMM_NESTED) {
		npt_set_writable(vm, gpa, false);
		vnest_write_taken(vm);
		return;
	}
	/* Only a frame some shadow PTE made writable needs the search (fill()
	 * marks them); after it, none maps the frame writable. Where fill()
	 * knows the one PTE that does, that PTE is all there is to change. */
	uint32_t f = gpa >> 12, slot = f & (VMM_W_TRACK - 1);
	if (!(vm->w_map[f >> 3] & (1u << (f & 7))))
		return;
	vm->w_map[f >> 3] &= (uint8_t)~(1u << (f & 7));
	if (vm->w_tag[slot] == f + 1 && vm->w_pte[slot]) {
		uint32_t a = vm->w_pte[slot], e = vmem_rd_hpa(vm, a);
		if ((e & PTE_W) && (e & PTE_FRAME) == target)
			vmem_wr_hpa(vm, a, e & ~PTE_W);
		vm->w_tag[slot] = 0;
		vm->tlb_stale = true;
		return;
	}
	/* Each table read whole (one host read, which a monitor running as a
	 * guest does with a string move), entries changed one by one. */
	for (int i = 0; i < vm->spt_top; i++) {
		if (!vm->spt[i].hpa)
			continue;
		vm->ops->read(vm->ops->opaque, vm->spt[i].hpa, vm->scratch, PAGE);
		for (uint32_t k = 0; k < 1024; k++) {
			uint32_t e = vm->scratch[k];
			if ((e & PTE_W) && (e & PTE_FRAME) == target)
				vmem_wr_hpa(vm, vm->spt[i].hpa + k * 4, e & ~PTE_W);
		}
	}
	vm->tlb_stale = true;
}

/* A shadow PTE at host-physical `pte` maps guest frame `f` writable: noted
 * for spt_write_protect (the frame's one such PTE, or 0 when there may be
 * more, or another frame's slot: then it searches them all). */
static void note_writable(struct vmm *vm, uint32_t f, uint32_t pte)
{
	uint32_t slot = f & (VMM_W_TRACK - 1);
	uint8_t bit = (uint8_t)(1u << (f & 7));
	if (!(vm->w_map[f >> 3] & bit)) {
		vm->w_map[f >> 3] |= bit;
		vm->w_tag[slot] = f + 1;
		vm->w_pte[slot] = pte;
	} else if (vm->w_tag[slot] == f + 1 && vm->w_pte[slot] != pte) {
		vm->w_pte[slot] = 0;
	}
}

/* Fills the shadow PTE for `gva` after a successful guest walk to `gpa`. */
static bool fill(struct vmm *vm, uint32_t gva, uint32_t gpa, bool user)
{
	const struct vmm_vcpu *v = &vm->vcpu;
	bool paging = (v->cr0 & CR0_PG) != 0;
	uint32_t perm = PTE_W, dirty = PTE_D, gpt = NO_GPT;
	if (paging) {
		uint32_t pde = vmem_rd_gpa(vm, (v->cr3 & PTE_FRAME) | ((gva >> 20) & 0xffc), 4);
		protect(vm, v->cr3 & PTE_FRAME);
		perm = dirty = pde;
		if (!((pde & PTE_PS) && (v->cr4 & CR4_PSE))) {
			gpt = pde & PTE_FRAME;
			protect(vm, gpt);
			uint32_t pte = vmem_rd_gpa(vm, gpt | ((gva >> 10) & 0xffc), 4);
			perm &= pte;
			dirty = pte;
		}
	}
	bool wp = (v->cr0 & CR0_WP) != 0;
	bool w = (perm & PTE_W) || (!user && !wp);
	uint32_t hpa = vm->ram_base + (gpa & PAGE_MASK);
	if (vmem_gpa_rom(vm, gpa & PAGE_MASK, &hpa))
		w = false; /* ROM: writes go to the device path */
	uint32_t spt = spt_get(vm, gva >> 22, gpt);
	if (!spt) {
		spt_flush_all(vm);
		return false;
	}
	uint32_t e = hpa | PTE_P | PTE_U | PTE_A | PTE_D;
	uint32_t at = spt + ((gva >> 12) & 1023) * 4;
	if (w && (dirty & PTE_D) && !spt_is_pt_frame(vm, gpa) && !vdesc_is_dt_frame(vm, gpa)) {
		e |= PTE_W;
		note_writable(vm, gpa >> 12, at);
	}
	vmem_wr_hpa(vm, at, e);
	vm->stats.spt_fills++;
	return true;
}

vfault spt_fault(struct vmm *vm, uint32_t gva, uint32_t err, enum vmm_exit *kind, uint32_t *gpa)
{
	bool user = vm->vcpu.cpl == 3;
	enum vacc acc = (err & PFEC_W) ? VACC_WRITE : VACC_READ;
	vfault f = vmem_walk(vm, gva, acc, user, gpa);
	if (f) {
		*kind = VMM_EXIT_PF_TRUE;
		return f;
	}
	if (resv_contains(vm, gva)) {
		/* The monitor's range: never filled; the access is emulated with
		 * the guest's own mapping. */
		*kind = VMM_EXIT_RESV;
		return 0;
	}
	uint32_t hpa;
	if (acc != VACC_WRITE && vmem_gpa_rom(vm, *gpa, &hpa)) {
		*kind = VMM_EXIT_PF_HIDDEN;
		if (vm->cur_root >= 0)
			fill(vm, gva, *gpa, user);
		return 0;
	}
	if (!vmem_gpa_ram(vm, *gpa, &hpa)) {
		*kind = VMM_EXIT_MMIO;
		return 0;
	}
	if (acc == VACC_WRITE && spt_is_pt_frame(vm, *gpa)) {
		*kind = VMM_EXIT_PT_WRITE;
		return 0;
	}
	if (acc == VACC_WRITE && vdesc_is_dt_frame(vm, *gpa)) {
		/* The first write to a frame whose descriptors the shadow tables
		 * copy: drop those copies and let the write (and the ones after it)
		 * through. A later segment load refills from memory and protects the
		 * frame again. */
		vdesc_release_frame(vm, *gpa);
		*kind = VMM_EXIT_DT_WRITE;
		if (vm->cur_root >= 0)
			fill(vm, gva, *gpa, user);
		return 0;
	}
	*kind = VMM_EXIT_PF_HIDDEN;
	if (vm->cur_root < 0 || !fill(vm, gva, *gpa, user))
		*kind = VMM_EXIT_PF_HIDDEN; /* pool flushed: the retry refills */
	return 0;
}

/* }====================================================================== */

/* {====== guest writes to its tables ====== */

static void unprotect(struct vmm *vm, uint32_t frame)
{
	set_pt_frame(vm, frame, false);
	for (int i = 0; i < vm->spt_top; i++)
		if (vm->spt[i].hpa && vm->spt[i].gpt == frame)
			drop_pde(vm, vm->spt[i].root, vm->spt[i].pde);
	for (int r = 0; r < VMM_SPT_ROOTS; r++)
		if (vm->roots[r].hpa && vm->roots[r].paging && vm->roots[r].gcr3 == frame)
			for (uint32_t k = 0; k < 1024; k++)
				drop_pde(vm, r, k);
	vm->stats.pt_unprotects++;
}

void spt_guest_wrote(struct vmm *vm, uint32_t gpa)
{
	uint32_t frame = gpa & PAGE_MASK, idx = (gpa & 0xfff) >> 2;
	for (int i = 0; i < vm->spt_top; i++)
		if (vm->spt[i].hpa && vm->spt[i].gpt == frame) {
			vmem_wr_hpa(vm, vm->spt[i].hpa + idx * 4, 0);
			vm->tlb_stale = true;
		}
	for (int r = 0; r < VMM_SPT_ROOTS; r++)
		if (vm->roots[r].hpa && vm->roots[r].paging && vm->roots[r].gcr3 == frame)
			drop_pde(vm, r, idx);
	vm->stats.spt_zaps++;
	uint32_t slot = (frame >> 12) & (VMM_PT_TRACK - 1);
	if (vm->pt_tag[slot] != (frame | 1)) {
		vm->pt_tag[slot] = frame | 1;
		vm->pt_writes[slot] = 0;
	}
	if (++vm->pt_writes[slot] >= PT_FLOOD)
		unprotect(vm, frame);
}

void spt_install_resv(struct vmm *vm)
{
	for (int r = 0; r < VMM_SPT_ROOTS; r++)
		if (vm->roots[r].hpa)
			vmem_wr_hpa(vm, vm->roots[r].hpa + (vm->resv.base >> 22) * 4, vm->resv.pde);
	vm->tlb_stale = true;
}

void spt_invlpg(struct vmm *vm, uint32_t gva)
{
	if (resv_contains(vm, gva))
		return; /* never the guest's: nothing of it is shadowed there */
	for (int r = 0; r < VMM_SPT_ROOTS; r++) {
		if (!vm->roots[r].hpa)
			continue;
		uint32_t pde = vmem_rd_hpa(vm, vm->roots[r].hpa + (gva >> 22) * 4);
		if (pde & PTE_P)
			vmem_wr_hpa(vm, (pde & PTE_FRAME) + ((gva >> 12) & 1023) * 4, 0);
	}
}

/* }====================================================================== */

/* {====== the nested map ====== */

/* Maps guest-physical page `gpa` to entry `pte` in the nested map (a page
 * table made when needed). False if the monitor is out of pages. */
static bool npt_map(struct vmm *vm, uint32_t gpa, uint32_t pte)
{
	uint32_t pa = vm->npt_root + (gpa >> 22) * 4, pde = vmem_rd_hpa(vm, pa);
	if (!(pde & PTE_P)) {
		uint32_t pt = vmem_page_alloc(vm);
		if (!pt)
			return false;
		pde = pt | SPT_PDE;
		vmem_wr_hpa(vm, pa, pde);
	}
	vmem_wr_hpa(vm, (pde & PTE_FRAME) + ((gpa >> 12) & 1023) * 4, pte);
	return true;
}

bool npt_build(struct vmm *vm)
{
	vm->npt_root = vmem_page_alloc(vm);
	if (!vm->npt_root)
		return false;
	for (uint32_t gpa = 0; gpa < vm->ram_size; gpa += PAGE)
		if (!npt_map(vm, gpa, (vm->ram_base + gpa) | SPT_PDE))
			return false;
	return true;
}

bool npt_map_rom(struct vmm *vm, uint32_t gpa, uint32_t size)
{
	for (uint32_t off = 0; off < size; off += PAGE)
		if (!npt_map(vm, gpa + off, (gpa + off) | PTE_P | PTE_U | PTE_A))
			return false;
	return true;
}

/* }====================================================================== */
