/*
 * nested.c - nested paging: the two-dimensional page walk of guest mode.
 *
 * While the L0 monitor runs a VM with cpu->guest.nested (docs/cpu.md,
 * "Guest mode"), CR3, CR0.PG, CR0.WP and CR4.PSE are the guest's own, and
 * every guest-physical address - each guest PDE and PTE the walk reads or
 * updates, and the final page - is translated to host-physical through
 * the monitor's nested map:
 *
 *   linear --guest tables (CR3)--> guest-physical --nested map--> host-physical
 *
 *   guest CR3 -> [nested walk] -> guest PDE -> [nested walk] -> guest PTE
 *             -> [nested walk] -> the page
 *
 * The nested map is a plain i386 two-level table at host-physical
 * guest.npt_root, 4 KiB pages only. Of its entries' bits only P and R/W
 * count (both levels): U/S is ignored (the guest's own privilege is
 * checked in the guest dimension), PS is ignored (a nested PDE always
 * points to a page table), and the CPU never writes the nested map (no
 * A/D bits there: it is the monitor's alone). A miss raises CPU_VEC_NPF
 * with guest.npf_gpa and an error code of NPF_* bits (cpu_int.h).
 *
 * Guest privilege is guest.vcpl: the caller's `user` (cpu->user, which
 * cpu_mode_changed derives from vcpl in this mode) is what U/S and CR0.WP
 * check against. Guest page faults are ordinary #PF with CR2 = linear.
 *
 * A 4 KiB page through two-level guest tables costs 2 guest references
 * plus 3 nested walks of 2: 8 references (guest.walk_refs), 6 of them in
 * the nested map (guest.nested_refs), 2 cycles each. The TLB caches the
 * result (linear to host-physical) like any other translation.
 */
#include "cpu_int.h"

/* Cycles charged for detecting a nested-map miss (as for a #PF). */
#define NPF_CYCLES 20

/* Page-table index fields as byte offsets of 4-byte entries. */
#define PD_OFF(a) (((a) >> 20) & 0xffcu)
#define PT_OFF(a) (((a) >> 10) & 0xffcu)
#define PAGE_OFF 0xfffu
#define BIG_PAGE_OFF 0x3fffffu

/* {====== the nested dimension ====== */

/* Reads the 4-byte entry at byte offset `off` of the table at `table`
 * (host-physical). */
static uint32_t npt_entry(struct cpu *cpu, uint32_t table, uint32_t off)
{
	return phys_read(cpu, ((table & PTE_FRAME) | off) & cpu->a20_mask, 4);
}

static _Noreturn void npf(struct cpu *cpu, uint32_t gpa, uint32_t err)
{
	cpu->guest.npf_gpa = gpa;
	cpu->cycles += NPF_CYCLES;
	cpu_raise(cpu, CPU_VEC_NPF, (int)err);
}

/*
 * Translates guest-physical `gpa` for `acc` through the nested map.
 * `walk_bit` is NPF_WALK for references to guest tables. Returns the
 * host-physical address and in *writable whether the map allows writes.
 */
static uint32_t npt_map(struct cpu *cpu, uint32_t gpa, enum acc acc, uint32_t walk_bit,
                        bool *writable)
{
	uint32_t err = walk_bit | (acc == ACC_WRITE ? NPF_WRITE : 0);
	if (acc == ACC_FETCH)
		err |= NPF_FETCH;
	uint32_t pde = npt_entry(cpu, cpu->guest.npt_root, PD_OFF(gpa));
	mmu_walk_ref(cpu, true);
	if (!(pde & PTE_P))
		npf(cpu, gpa, err);
	uint32_t pte = npt_entry(cpu, pde, PT_OFF(gpa));
	mmu_walk_ref(cpu, true);
	if (!(pte & PTE_P))
		npf(cpu, gpa, err);
	*writable = (pde & pte & PTE_W) != 0;
	if (acc == ACC_WRITE && !*writable)
		npf(cpu, gpa, err | NPF_PRESENT);
	return ((pte & PTE_FRAME) | (gpa & PAGE_OFF)) & cpu->a20_mask;
}

/* npt_map without side effects; false if the map has no entry. */
static bool npt_probe(struct cpu *cpu, uint32_t gpa, uint32_t *hpa)
{
	uint32_t pde = npt_entry(cpu, cpu->guest.npt_root, PD_OFF(gpa));
	if (!(pde & PTE_P))
		return false;
	uint32_t pte = npt_entry(cpu, pde, PT_OFF(gpa));
	if (!(pte & PTE_P))
		return false;
	*hpa = ((pte & PTE_FRAME) | (gpa & PAGE_OFF)) & cpu->a20_mask;
	return true;
}

/* }====================================================================== */

/* {====== the guest dimension ====== */

/* A guest page-table entry: where it lives in both dimensions. */
struct gref {
	uint32_t gpa, hpa;
	bool writable; /* the nested map lets the CPU update it */
};

/* Reads the guest entry at guest-physical `gpa` (a nested walk, then the
 * reference itself). */
static uint32_t gref_read(struct cpu *cpu, struct gref *r, uint32_t gpa)
{
	r->gpa = gpa;
	r->hpa = npt_map(cpu, gpa, ACC_READ, NPF_WALK, &r->writable);
	uint32_t v = phys_read(cpu, r->hpa, 4);
	mmu_walk_ref(cpu, false);
	return v;
}

/* Writes back a guest entry (an A/D update): a write in the nested
 * dimension, so a read-only nested mapping of the table page misses. */
static void gref_write(struct cpu *cpu, const struct gref *r, uint32_t v)
{
	if (!r->writable)
		npf(cpu, r->gpa, NPF_WALK | NPF_WRITE | NPF_PRESENT);
	phys_write(cpu, r->hpa, v, 4);
}

/* Guest paging off: linear is guest-physical. */
static uint32_t flat_walk(struct cpu *cpu, uint32_t lin, enum acc acc, bool *wr)
{
	bool w;
	uint32_t hpa = npt_map(cpu, lin, acc, 0, &w);
	*wr = w;
	return hpa;
}

/*
 * The same rules as walk() in mmu.c (docs/cpu.md, "Accessed and dirty
 * flags"), with one addition: the leaf's A/D bits are set only once the
 * final page is known to be mapped in the nested map, so a nested miss on
 * the page leaves the guest's leaf entry untouched.
 */
uint32_t nested_walk(struct cpu *cpu, uint32_t lin, enum acc acc, bool user, bool *wr)
{
	if (!(cpu->cr0 & CR0_PG))
		return flat_walk(cpu, lin, acc, wr);
	bool write = acc == ACC_WRITE;
	uint32_t err = (write ? PFEC_W : 0) | (user ? PFEC_U : 0);
	struct gref pd, pt = {0};
	uint32_t pde = gref_read(cpu, &pd, (cpu->cr3 & PTE_FRAME) | PD_OFF(lin));
	if (!(pde & PTE_P))
		mmu_page_fault(cpu, lin, err);
	bool big = (pde & PTE_PS) && (cpu->cr4 & CR4_PSE);
	uint32_t pte = pde, perm = pde, gpa;
	if (big) {
		gpa = (pde & PDE_FRAME_4M) | (lin & BIG_PAGE_OFF);
	} else {
		if (!(pde & PTE_A)) {
			pde |= PTE_A;
			gref_write(cpu, &pd, pde);
		}
		pte = gref_read(cpu, &pt, (pde & PTE_FRAME) | PT_OFF(lin));
		if (!(pte & PTE_P))
			mmu_page_fault(cpu, lin, err);
		perm = pde & pte;
		gpa = (pte & PTE_FRAME) | (lin & PAGE_OFF);
	}
	bool wp = (cpu->cr0 & CR0_WP) != 0;
	if (user && !(perm & PTE_U))
		mmu_page_fault(cpu, lin, err | PFEC_P);
	if (write && !(perm & PTE_W) && (user || wp))
		mmu_page_fault(cpu, lin, err | PFEC_P);
	bool npt_w;
	uint32_t hpa = npt_map(cpu, gpa, acc, 0, &npt_w);
	uint32_t leaf_set = PTE_A | (write ? PTE_D : 0);
	if ((pte & leaf_set) != leaf_set)
		gref_write(cpu, big ? &pd : &pt, pte | leaf_set);
	bool dirty = write || (pte & PTE_D);
	*wr = npt_w && dirty && ((perm & PTE_W) || (!user && !wp));
	return hpa;
}

bool nested_probe(struct cpu *cpu, uint32_t lin, uint32_t *phys)
{
	uint32_t gpa = lin, hpa;
	if (cpu->cr0 & CR0_PG) {
		if (!npt_probe(cpu, (cpu->cr3 & PTE_FRAME) | PD_OFF(lin), &hpa))
			return false;
		uint32_t pde = phys_read(cpu, hpa, 4);
		if (!(pde & PTE_P))
			return false;
		if ((pde & PTE_PS) && (cpu->cr4 & CR4_PSE)) {
			gpa = (pde & PDE_FRAME_4M) | (lin & BIG_PAGE_OFF);
		} else {
			if (!npt_probe(cpu, (pde & PTE_FRAME) | PT_OFF(lin), &hpa))
				return false;
			uint32_t pte = phys_read(cpu, hpa, 4);
			if (!(pte & PTE_P))
				return false;
			gpa = (pte & PTE_FRAME) | (lin & PAGE_OFF);
		}
	}
	return npt_probe(cpu, gpa, phys);
}

/* }====================================================================== */
