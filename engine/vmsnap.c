/*
 * vmsnap.c - one VM's whole state as bytes, and back into a VM slot of
 * another machine.
 *
 * A VM is a struct machine of its own (engine/vm/vm.c): its devices, its
 * clock (its own cycle counter, in its saved CPU state), its monitor, a
 * RAM share of the root's memory and its monitor's pages. Its run depends
 * on nothing but these (the VMs take turns of their own time, in index
 * order), so saved from one machine and loaded into a slot of another it
 * goes on exactly as it would have: the same instructions, consoles and
 * end, whatever runs beside it.
 *
 * The slot is an ordinary --vm of the target (or vm0), built from its
 * kernel; the load replaces everything the VM is. What the bytes cannot
 * change must match, and is checked before anything changes: the monitor
 * mode, the RAM size, the disks, the devices (by name, in order). Where
 * the share and the monitor's pages lie in host-physical memory may
 * differ (another --mem, other VMs before the slot): the VM is then moved
 * (see "moving" below).
 *
 *   "NLVM" version cpu-image-size
 *   name (informational), share base and size, monitor base and size,
 *   monitor mode (0 none, 1 shadow, 2 nested), faithful-i386,
 *   device count and names, disk count
 *   RAM share: (page number in the share, 4096 bytes)* until 0xffffffff
 *   monitor:   (page number in its pages, 4096 bytes)* until 0xffffffff
 *   the VM's part as in a machine snapshot (snapshot_int.h)
 */
#include <stdarg.h>

#include "snapshot_int.h"

#define VMSNAP_MAGIC 0x4d564c4eu /* "NLVM" */
#define VMSNAP_VERSION 1u
#define MACHINE_SNAP_MAGIC 0x534d4c4eu /* snapshot.c's "NLMS" */

enum { MODE_NONE, MODE_SHADOW, MODE_NESTED };

static const char *const mode_name[] = { "no monitor", "the shadow monitor",
	                                 "the nested monitor" };

/* A VM by index: 0 the root's own guest, then each --vm. */
static struct machine *slot(struct machine *m, unsigned i)
{
	struct machine *root = m->root ? m->root : m;
	if (i >= machine_vm_count(root))
		return NULL;
	return i == 0 ? root : g_ptr_array_index(root->vms, i - 1);
}

static uint32_t mon_size(const struct machine *vm)
{
	return vm->l0 ? MONITOR_MIB * MIB : 0;
}

static uint32_t mode_of(const struct machine *vm)
{
	if (!vm->l0)
		return MODE_NONE;
	return l0_vmm(vm->l0)->paging == VMM_NESTED ? MODE_NESTED : MODE_SHADOW;
}

/* {====== writing ====== */

/* The non-zero pages of host-physical [base, base + size). */
static void save_pages(struct machine *vm, uint32_t base, uint32_t size, GByteArray *o)
{
	for (uint32_t off = 0; off < size; off += PMEM_PAGE_SIZE) {
		const uint8_t *p = pmem_page_if_present(vm->cpu_pmem, base + off);
		if (!p || page_zero(p))
			continue;
		put32(o, off / PMEM_PAGE_SIZE);
		put(o, p, PMEM_PAGE_SIZE);
	}
	put32(o, SNAP_PAGE_END);
}

bool machine_vm_save(struct machine *m, unsigned i, GByteArray *out)
{
	struct machine *vm = slot(m, i);
	if (!vm || vm->vm_state == VM_DESTROYED)
		return false;
	struct machine *root = m->root ? m->root : m;
	struct machine *cur = root->current;
	vm_switch_to(root, NULL); /* the VM's CPU state in its ctx */
	put32(out, VMSNAP_MAGIC);
	put32(out, VMSNAP_VERSION);
	put32(out, (uint32_t)cpu_save_size());
	put_str(out, vm->name);
	put32(out, vm->share_base);
	put32(out, vm->share_size);
	put32(out, vm->mon_base);
	put32(out, mon_size(vm));
	put32(out, mode_of(vm));
	put32(out, vm->l0 && l0_vmm(vm->l0)->faithful);
	put32(out, (uint32_t)vm->n_dev);
	for (int d = 0; d < vm->n_dev; d++)
		put_str(out, vm->dev[d]->name);
	put32(out, (uint32_t)vm->n_disks);
	save_pages(vm, vm->share_base, vm->share_size, out);
	save_pages(vm, vm->mon_base, mon_size(vm), out);
	snap_save_one(vm, out);
	vm_switch_to(root, cur);
	return true;
}

/* }====================================================================== */

/* {====== checking ====== */

/* What the header says. */
struct vm_header {
	char name[64];
	uint32_t share_base, share_size, mon_base, mon_size, mode, faithful, n_dev, n_disks;
	int bad_dev;   /* the first device that is not the slot's, or -1 */
	char dev[32];  /* ... its name */
};

static bool bad(GError **error, const char *what)
{
	g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
	            "the VM state is cut short or damaged (in %s)", what);
	return false;
}

static bool mismatch(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static bool mismatch(GError **error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error_literal(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG, msg);
	g_free(msg);
	return false;
}

/* Reads the header, noting the first device name that is not slot `vm`'s. */
static bool read_header(struct snap_rd *r, struct machine *vm, struct vm_header *h,
                        GError **error)
{
	uint32_t magic = get32(r, "the header");
	if (!r->bad && magic == MACHINE_SNAP_MAGIC)
		return mismatch(error, "this is a whole machine's state, not one VM's: restore it as "
		                "a machine snapshot (nestlab-run --restore)");
	if (!r->bad && magic != VMSNAP_MAGIC)
		return mismatch(error, "not a nestlab VM state (bad magic)");
	if (get32(r, "the header") != VMSNAP_VERSION && !r->bad)
		return mismatch(error, "the VM state has another format version");
	if (get32(r, "the header") != cpu_save_size() && !r->bad)
		return mismatch(error, "the VM state's CPU state is from another nestlab build");
	uint32_t n;
	const uint8_t *name = get_blob(r, &n, "the VM's name");
	if (name)
		g_snprintf(h->name, sizeof h->name, "%.*s", (int)MIN(n, sizeof h->name - 1),
		           (const char *)name);
	uint32_t *f[] = { &h->share_base, &h->share_size, &h->mon_base, &h->mon_size, &h->mode,
		          &h->faithful, &h->n_dev };
	for (size_t k = 0; k < G_N_ELEMENTS(f); k++)
		*f[k] = get32(r, "the header");
	if (r->bad)
		return bad(error, r->bad);
	if (h->mode > MODE_NESTED || h->share_size % PMEM_PAGE_SIZE || h->mon_size % PMEM_PAGE_SIZE)
		return bad(error, "the header");
	h->bad_dev = -1;
	for (uint32_t d = 0; d < h->n_dev; d++) {
		const uint8_t *dn = get_blob(r, &n, "the device names");
		if (!dn)
			return bad(error, r->bad);
		if (h->bad_dev < 0 && ((int)d >= vm->n_dev || n != strlen(vm->dev[d]->name) ||
		                       memcmp(dn, vm->dev[d]->name, n) != 0)) {
			h->bad_dev = (int)d;
			g_snprintf(h->dev, sizeof h->dev, "%.*s", (int)MIN(n, sizeof h->dev - 1),
			           (const char *)dn);
		}
	}
	h->n_disks = get32(r, "the header");
	return r->bad ? bad(error, r->bad) : true;
}

/* What the slot must have for the VM to continue there. */
static bool fits(const struct vm_header *h, struct machine *vm, GError **error)
{
	if (h->mode != mode_of(vm))
		return mismatch(error, "VM '%s' ran under %s, slot '%s' runs under %s: give the same "
		                "--monitor option", h->name, mode_name[h->mode], vm->name,
		                mode_name[mode_of(vm)]);
	if (vm->l0 && (h->faithful != 0) != l0_vmm(vm->l0)->faithful)
		return mismatch(error, "VM '%s' ran %s --faithful-i386 and slot '%s' %s: give the same "
		                "--faithful-i386 option", h->name, h->faithful ? "with" : "without",
		                vm->name, h->faithful ? "without" : "with");
	if (h->share_size != vm->share_size)
		return mismatch(error, "VM '%s' has %u MiB of RAM, slot '%s' %u MiB: give the slot "
		                "mem=%u (--vm %s:KERNEL,mem=%u)", h->name, h->share_size / MIB, vm->name,
		                vm->share_size / MIB, h->share_size / MIB, vm->name, h->share_size / MIB);
	if (h->n_disks != (uint32_t)vm->n_disks)
		return mismatch(error, "VM '%s' has %u disk(s), slot '%s' %d: give the slot the same "
		                "disks (--vm %s:KERNEL,disk=FILE)", h->name, h->n_disks, vm->name,
		                vm->n_disks, vm->name);
	if (h->n_dev != (uint32_t)vm->n_dev)
		return mismatch(error, "VM '%s' has %u devices, slot '%s' %d: the slot must be a VM "
		                "of the same kind", h->name, h->n_dev, vm->name, vm->n_dev);
	if (h->bad_dev >= 0)
		return mismatch(error, "VM '%s' has device '%s' where slot '%s' has '%s': the slot "
		                "must be a VM of the same kind", h->name, h->dev, vm->name,
		                vm->dev[h->bad_dev]->name);
	if (h->mon_size != mon_size(vm))
		return mismatch(error, "VM '%s' had %u KiB of monitor pages, slot '%s' %u KiB: it is "
		                "from another nestlab build", h->name, h->mon_size / 1024, vm->name,
		                mon_size(vm) / 1024);
	return true;
}

/* }====================================================================== */

/* {====== moving ======
 *
 * A slot elsewhere in host-physical memory (another --mem, other VMs
 * before it) gets the VM moved: its pages are stored at the slot's own
 * addresses, then every host-physical address the VM's state holds is
 * moved with them. Those are the monitor's (engine/vmm/core, struct vmm):
 * its bases, the shadow descriptor tables, the shadow roots and page
 * tables (spt.c) or the nested map, and the entries of those tables; and
 * the real CPU's: CR3 (a shadow root; under nested paging the guest's
 * own), GDTR and LDTR (the shadow tables, read physically) and the nested
 * root. Nothing the guest sees changes, nor anything that decides what
 * the monitor does next (its page allocator counts pages from its base),
 * so the VM continues exactly as it would have where it was.
 */

struct move {
	uint32_t old_ram, new_ram, ram_size, old_mon, new_mon, mon_size;
};

/* Where host-physical `hpa` of the VM is now (0, "none", stays 0). */
static uint32_t moved(const struct move *mv, uint32_t hpa)
{
	if (hpa && hpa - mv->old_ram < mv->ram_size)
		return hpa - mv->old_ram + mv->new_ram;
	if (hpa && hpa - mv->old_mon < mv->mon_size)
		return hpa - mv->old_mon + mv->new_mon;
	return hpa; /* a ROM's page, mapped where it is for every VM */
}

/* Moves the frames of the present entries of the page table at (its new
 * address) `t`; no shadow or nested table has 4 MiB entries. A table
 * outside the monitor's pages (damaged bytes) is left alone: the VM never
 * writes to memory not its own. */
static void move_table(struct machine *vm, const struct move *mv, uint32_t t)
{
	uint32_t e[PMEM_PAGE_SIZE / 4];
	if (t % PMEM_PAGE_SIZE || t - mv->new_mon >= mv->mon_size)
		return;
	pmem_load(vm->cpu_pmem, t, e, sizeof e);
	for (size_t i = 0; i < G_N_ELEMENTS(e); i++)
		if (e[i] & PTE_P)
			e[i] = moved(mv, e[i] & PTE_FRAME) | (e[i] & ~PTE_FRAME);
	pmem_store(vm->cpu_pmem, t, e, sizeof e);
}

static void move_monitor(struct machine *vm, const struct move *mv)
{
	struct vmm *v = (struct vmm *)l0_vmm(vm->l0);
	v->ram_base = mv->new_ram;
	v->mon_base = mv->new_mon;
	v->gdt_k = moved(mv, v->gdt_k);
	v->gdt_u = moved(mv, v->gdt_u);
	v->ldt_k = moved(mv, v->ldt_k);
	v->ldt_u = moved(mv, v->ldt_u);
	for (int r = 0; r < VMM_SPT_ROOTS; r++) {
		v->roots[r].hpa = moved(mv, v->roots[r].hpa);
		move_table(vm, mv, v->roots[r].hpa);
	}
	for (int i = 0; i < VMM_SPT_PAGES; i++) {
		v->spt[i].hpa = moved(mv, v->spt[i].hpa);
		move_table(vm, mv, v->spt[i].hpa);
	}
	/* The composed maps of a guest monitor's guests: their pages move,
	 * their entries (host-physical RAM) are made afresh at the next entry. */
	for (int i = 0; i < VMM_NEST_MAPS; i++) {
		struct vmm_cnpt *c = &v->nest.maps[i];
		c->root = moved(mv, c->root);
		move_table(vm, mv, c->root);
		for (int k = 0; k < 1024; k++) {
			c->pt[k] = moved(mv, c->pt[k]);
			move_table(vm, mv, c->pt[k]);
		}
		c->valid = false;
	}
	v->npt_root = moved(mv, v->npt_root);
	if (v->paging == VMM_NESTED && v->npt_root) {
		move_table(vm, mv, v->npt_root);
		uint32_t pde[PMEM_PAGE_SIZE / 4];
		pmem_load(vm->cpu_pmem, v->npt_root, pde, sizeof pde);
		for (size_t i = 0; i < G_N_ELEMENTS(pde); i++)
			if (pde[i] & PTE_P)
				move_table(vm, mv, pde[i] & PTE_FRAME);
	}
}

/* The real CPU's host-physical addresses, in the VM's saved CPU state. */
static void move_cpu(struct machine *root, struct machine *vm, const struct move *mv)
{
	vm_switch_to(root, vm);
	struct cpu *c = root->cpu;
	if (c->guest.on && !c->guest.nested)
		c->cr3 = moved(mv, c->cr3);
	if (c->guest.on && c->guest.dt_phys) {
		c->gdtr.base = moved(mv, c->gdtr.base);
		c->ldtr.base = moved(mv, c->ldtr.base);
	}
	c->guest.npt_root = moved(mv, c->guest.npt_root);
	cpu_state_changed(c);
	vm_switch_to(root, NULL);
}

/* }====================================================================== */

/* {====== loading ====== */

/* Replaces host-physical [base, base + size) with the listed pages. */
static bool load_pages(struct snap_rd *r, struct machine *vm, uint32_t base, uint32_t size)
{
	pmem_discard(vm->cpu_pmem, base, size);
	for (;;) {
		uint32_t n = get32(r, "the memory pages");
		if (r->bad || n == SNAP_PAGE_END)
			break;
		const uint8_t *p = take(r, PMEM_PAGE_SIZE, "a memory page");
		if (!p)
			break;
		if (n >= size / PMEM_PAGE_SIZE) {
			r->bad = "a memory page number";
			break;
		}
		pmem_store(vm->cpu_pmem, base + n * PMEM_PAGE_SIZE, p, PMEM_PAGE_SIZE);
	}
	cpu_invalidate_phys(vm->cpu, base, size);
	return !r->bad;
}

bool machine_vm_load(struct machine *m, unsigned i, const uint8_t *buf, size_t len,
                     GError **error)
{
	struct machine *vm = slot(m, i);
	if (!vm || vm->vm_state == VM_DESTROYED)
		return mismatch(error, "there is no VM %u to load into (or it was destroyed)", i);
	struct snap_rd r = { buf, len, NULL };
	struct vm_header h = { .name = "?" };
	if (!read_header(&r, vm, &h, error) || !fits(&h, vm, error))
		return false;
	struct machine *root = m->root ? m->root : m;
	struct machine *cur = root->current;
	vm_switch_to(root, NULL); /* the slot's CPU state is replaced, the others' kept */
	bool ok = load_pages(&r, vm, vm->share_base, vm->share_size) &&
	          load_pages(&r, vm, vm->mon_base, mon_size(vm));
	if (ok && !snap_load_one(vm, &r, error)) {
		vm_switch_to(root, cur);
		return false;
	}
	struct move mv = { h.share_base, vm->share_base, vm->share_size,
		           h.mon_base, vm->mon_base, mon_size(vm) };
	if (ok && !r.bad && vm->l0 && (mv.old_ram != mv.new_ram || mv.old_mon != mv.new_mon)) {
		move_monitor(vm, &mv);
		move_cpu(root, vm, &mv);
	}
	cpu_state_changed(vm->cpu); /* the TLB may hold pages just replaced */
	vm_switch_to(root, cur);
	if (r.bad)
		return bad(error, r.bad);
	if (r.left)
		return bad(error, "bytes after its end");
	return true;
}

/* }====================================================================== */
