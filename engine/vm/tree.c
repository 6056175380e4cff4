/*
 * tree.c - every level of a nested stack as a node the engine knows
 * (docs/abi.md): the machine, its VMs (L1, the engine's own), and every
 * VM a guest monitor declared through the introspection ABI (abi.h).
 *
 *   node 0            the machine (level 0)
 *   node 1 .. V       its VMs under the engine's monitor (level 1), VM i-1
 *   node V+1 ..       VMs guest monitors declared, in the order declared
 *
 * What the engine keeps is only what RAM does not hold: which node said
 * HELLO (its name and the node-physical address of its running-child
 * word) and each declared VM's id, name, memory map and the node-physical
 * addresses of its monitor's blocks. Everything else - who is executing,
 * each node's registers, its exits, its address translations - is read
 * from the guests' memory when asked, so it is exact at any instruction
 * boundary and costs the run nothing:
 *
 *   executing node = the VM in the CPU (node 0 when bare), then while the
 *   node's monitor said HELLO and its running-child word names one of its
 *   VMs, that VM.
 *
 * A node's physical address p is its monitor's physical address through
 * the node's map (the engine's share for L1), and so on down to
 * host-physical; a node's virtual addresses go through its page tables
 * as its CR0/CR3/CR4 are held by its monitor (the vCPU block).
 */
#include "machine_int.h"

#include <string.h>

#include "abi.h"
#include "l0.h"
#include "vmm.h"

#define TREE_DECLARED_MAX 64 /* VMs guest monitors may declare */
#define TREE_EVENTS_MAX 10000 /* LOG and MARK entries kept; later ones are counted */
#define TREE_DEPTH_MAX 16     /* chains longer than this are a monitor's bad words */

/* {====== state ====== */

struct tree_monitor {
	bool present;
	char name[NL_NAME_MAX];
	uint32_t running; /* the running-child word, node-physical */
};

struct tree_decl {
	unsigned parent;   /* the node whose monitor declared it */
	uint32_t id;
	char name[NL_NAME_MAX];
	uint32_t vcpu, regs, nest, stats; /* parent-physical, 0: none */
	uint32_t n_ranges;
	struct nl_range ranges[NL_MAP_MAX];
	bool destroyed;
};

/* --stats per level: every trap the engine's monitor takes, by the level
 * whose code trapped, and what it set off (tree_exit_hook). */
struct tree_stats {
	bool on;
	uint64_t traps[TREE_DEPTH_MAX];
	uint64_t exits[TREE_DEPTH_MAX][TREE_DEPTH_MAX]; /* [trap level][monitor level] */
	uint64_t cycles[TREE_DEPTH_MAX];
	bool open[TREE_DEPTH_MAX];
	uint64_t start[TREE_DEPTH_MAX];
	uint64_t start_exits[TREE_DEPTH_MAX][TREE_DEPTH_MAX]; /* exit_totals at the episode's start */
};

struct vm_tree {
	struct tree_stats stats;
	struct tree_monitor mon[1 + MACHINE_MAX_VMS + 1 + TREE_DECLARED_MAX];
	struct tree_decl decl[TREE_DECLARED_MAX];
	unsigned n_decl;
	GArray *events;    /* struct machine_tree_event, names and texts g_strdup'd */
	uint64_t dropped;  /* events past TREE_EVENTS_MAX */
};

static struct vm_tree *tree_of(struct machine *m)
{
	struct machine *root = m->root ? m->root : m;
	if (!root->tree) {
		root->tree = g_new0(struct vm_tree, 1);
		root->tree->events = g_array_new(FALSE, TRUE, sizeof(struct machine_tree_event));
	}
	return root->tree;
}

static struct machine *root_of(struct machine *m)
{
	return m->root ? m->root : m;
}

static void clear_events(struct vm_tree *t)
{
	for (guint i = 0; i < t->events->len; i++) {
		struct machine_tree_event *e = &g_array_index(t->events, struct machine_tree_event, i);
		g_free((char *)e->name);
		g_free((char *)e->text);
	}
	g_array_set_size(t->events, 0);
}

void vm_tree_free(struct machine *m)
{
	if (!m->tree)
		return;
	clear_events(m->tree);
	g_array_free(m->tree->events, TRUE);
	g_free(m->tree);
	m->tree = NULL;
}

/* L1 VMs: nodes 1 .. V. */
static unsigned n_l1(struct machine *root)
{
	return machine_vm_count(root);
}

static unsigned first_decl(struct machine *root)
{
	return 1 + n_l1(root);
}

static struct machine *l1_vm(struct machine *root, unsigned node)
{
	if (node < 1 || node > n_l1(root))
		return NULL;
	return node == 1 ? root : g_ptr_array_index(root->vms, node - 2);
}

static struct tree_decl *decl_of(struct machine *root, unsigned node)
{
	struct vm_tree *t = tree_of(root);
	unsigned f = first_decl(root);
	return node >= f && node - f < t->n_decl ? &t->decl[node - f] : NULL;
}

static int level_of(struct machine *root, unsigned node)
{
	if (node == 0)
		return 0;
	if (node <= n_l1(root))
		return 1;
	struct tree_decl *d = decl_of(root, node);
	return d ? 1 + level_of(root, d->parent) : -1;
}

/* }====================================================================== */

/* {====== memory at a level ====== */

/* Node-physical `pa` to host-physical; *room: bytes from there that stay
 * in the same range. False where the node has no memory. */
static bool to_host(struct machine *root, unsigned node, uint32_t pa, uint32_t *hpa,
                    uint32_t *room)
{
	for (int depth = 0; depth < TREE_DEPTH_MAX; depth++) {
		if (node == 0) {
			uint32_t total = pmem_total_size(root->cpu_pmem);
			if (pa >= total)
				return false;
			*hpa = pa;
			*room = MIN(*room, total - pa);
			return true;
		}
		struct machine *vm = l1_vm(root, node);
		if (vm) {
			if (vm->vm_state == VM_DESTROYED || pa >= vm->share_size)
				return false;
			*room = MIN(*room, vm->share_size - pa);
			pa += vm->share_base;
			node = 0;
			continue;
		}
		struct tree_decl *d = decl_of(root, node);
		if (!d || d->destroyed)
			return false;
		uint32_t i = 0;
		while (i < d->n_ranges && (pa < d->ranges[i].gpa || pa - d->ranges[i].gpa >= d->ranges[i].size))
			i++;
		if (i == d->n_ranges)
			return false;
		*room = MIN(*room, d->ranges[i].size - (pa - d->ranges[i].gpa));
		pa = d->ranges[i].mpa + (pa - d->ranges[i].gpa);
		node = d->parent;
	}
	return false;
}

static bool phys_access(struct machine *root, unsigned node, uint32_t pa, void *buf, size_t len,
                        bool write)
{
	uint8_t *p = buf;
	while (len) {
		uint32_t hpa, room = (uint32_t)MIN(len, 0x1000u - (pa & 0xfffu));
		if (!to_host(root, node, pa, &hpa, &room))
			return false;
		if (write) {
			pmem_store(root->cpu_pmem, hpa, p, room);
			cpu_invalidate_phys(root->cpu, hpa, room);
		} else {
			/* A page never touched reads as zeros and stays untouched:
			 * looking changes nothing, not even which pages exist. Map
			 * ranges are page aligned, so the chunk is in one host page. */
			const uint8_t *pg = pmem_page_if_present(root->cpu_pmem, hpa & ~0xfffu);
			if (pg)
				memcpy(p, pg + (hpa & 0xfffu), room);
			else
				memset(p, 0, room);
		}
		p += room;
		pa += room;
		len -= room;
	}
	return true;
}

static uint32_t rd32(struct machine *root, unsigned node, uint32_t pa, bool *ok)
{
	uint32_t v = 0;
	if (!phys_access(root, node, pa, &v, 4, false))
		*ok = false;
	return GUINT32_FROM_LE(v);
}

/* The control registers that decide a node's translation. */
struct ctl {
	uint32_t cr0, cr3, cr4;
};

static bool node_ctl(struct machine *root, unsigned node, struct ctl *c)
{
	if (node == 0) {
		if (root->l0 || root->cpu->assist_run)
			return false; /* the engine's monitor, or a bare monitor in its WRMSR */
		*c = (struct ctl){ root->cpu->cr0, root->cpu->cr3, root->cpu->cr4 };
		return true;
	}
	struct machine *vm = l1_vm(root, node);
	if (vm) {
		if (!vm->l0)
			return false;
		const struct vmm *v = l0_vmm(vm->l0);
		*c = (struct ctl){ v->vcpu.cr0, v->vcpu.cr3, v->vcpu.cr4 };
		return true;
	}
	struct tree_decl *d = decl_of(root, node);
	if (!d || d->destroyed || !d->vcpu)
		return false;
	bool ok = true;
	c->cr0 = rd32(root, d->parent, d->vcpu + NL_VCPU_CR0, &ok);
	c->cr3 = rd32(root, d->parent, d->vcpu + NL_VCPU_CR3, &ok);
	c->cr4 = rd32(root, d->parent, d->vcpu + NL_VCPU_CR4, &ok);
	return ok;
}

/* The page walk of a node's own tables (4 KiB pages, CR4.PSE 4 MiB
 * pages), filling step->pde* and pte*. */
static bool walk(struct machine *root, unsigned node, const struct ctl *c, uint32_t lin,
                 struct machine_tree_step *s)
{
	s->paging = (c->cr0 & CR0_PG) != 0;
	if (!s->paging) {
		s->out = lin;
		return true;
	}
	bool ok = true;
	s->pde_addr = (c->cr3 & PTE_FRAME) + (lin >> 22) * 4;
	s->pde = rd32(root, node, s->pde_addr, &ok);
	if (!ok || !(s->pde & PTE_P))
		return false;
	if ((s->pde & PTE_PS) && (c->cr4 & CR4_PSE)) {
		s->large = true;
		s->out = (s->pde & 0xffc00000u) | (lin & 0x3fffffu);
		return true;
	}
	s->pte_addr = (s->pde & PTE_FRAME) + ((lin >> 12) & 1023) * 4;
	s->pte = rd32(root, node, s->pte_addr, &ok);
	if (!ok || !(s->pte & PTE_P))
		return false;
	s->out = (s->pte & PTE_FRAME) | (lin & 0xfffu);
	return true;
}

static bool virt_to_phys(struct machine *root, unsigned node, uint32_t lin, uint32_t *pa)
{
	struct ctl c;
	struct machine_tree_step s = { 0 };
	if (!node_ctl(root, node, &c) || !walk(root, node, &c, lin, &s))
		return false;
	*pa = s.out;
	return true;
}

static bool virt_access(struct machine *root, unsigned node, uint32_t lin, void *buf, size_t len,
                        bool write)
{
	uint8_t *p = buf;
	while (len) {
		uint32_t pa, n = (uint32_t)MIN(len, 0x1000u - (lin & 0xfffu));
		if (!virt_to_phys(root, node, lin, &pa) || !phys_access(root, node, pa, p, n, write))
			return false;
		p += n;
		lin += n;
		len -= n;
	}
	return true;
}

/* }====================================================================== */

/* {====== the executing node ====== */

static unsigned cpu_vm_node(struct machine *root)
{
	if (!root->l0 && !root->vms)
		return 0;
	if (!root->current || root->current == root)
		return 1;
	for (guint i = 0; root->vms && i < root->vms->len; i++)
		if (g_ptr_array_index(root->vms, i) == root->current)
			return i + 2;
	return 1;
}

static int child_with_id(struct machine *root, unsigned parent, uint32_t id)
{
	struct vm_tree *t = tree_of(root);
	for (unsigned i = 0; i < t->n_decl; i++)
		if (t->decl[i].parent == parent && t->decl[i].id == id && !t->decl[i].destroyed)
			return (int)(first_decl(root) + i);
	return -1;
}

/* The running-child word of node's monitor (0: none, or no monitor). */
static uint32_t running_child(struct machine *root, unsigned node)
{
	struct tree_monitor *mon = &tree_of(root)->mon[node];
	if (!mon->present)
		return 0;
	bool ok = true;
	uint32_t w = rd32(root, node, mon->running, &ok);
	return ok ? w : 0;
}

/* Whether `node` is in its world switch to a VM of its own. With the
 * assist, as its monitor's core records it (vmm_nest.active): the CPU at
 * node 0 in the assist's guest mode, the engine's monitor running an L1
 * VM's guest, a declared VM's `nest` block. Without it (tinyvmm's
 * faithful trap path, which declares no nest block), while `node` runs at
 * CPL 3 as its own monitor holds it: its guest runs deprivileged there,
 * and its own code at CPL 0. Both are exact to the instruction, where the
 * running-child word is set a few instructions before the switch. */
static bool in_world_switch(struct machine *root, unsigned node)
{
	if (node == 0)
		return root->cpu->assist ? root->cpu->assist_run != 0 : root->cpu->cpl == 3;
	struct machine *vm = l1_vm(root, node);
	if (vm) {
		if (!vm->l0)
			return false;
		const struct vmm *v = l0_vmm(vm->l0);
		return v->assist ? v->nest.active : v->vcpu.cpl == 3;
	}
	struct tree_decl *d = decl_of(root, node);
	if (!d)
		return true;
	uint8_t flag = 0;
	if (!d->nest)
		return d->vcpu && phys_access(root, d->parent, d->vcpu + NL_VCPU_CPL, &flag, 1, false) &&
		       flag == 3;
	return phys_access(root, d->parent, d->nest + NL_NEST_ACTIVE, &flag, 1, false) && flag;
}

static unsigned current_node(struct machine *root)
{
	unsigned node = cpu_vm_node(root);
	for (int depth = 0; depth < TREE_DEPTH_MAX; depth++) {
		uint32_t w = running_child(root, node);
		int child = w ? child_with_id(root, node, w) : -1;
		if (child < 0 || !in_world_switch(root, node))
			break;
		node = (unsigned)child;
	}
	return node;
}

static bool on_chain(struct machine *root, unsigned node)
{
	for (unsigned n = current_node(root);;) {
		if (n == node)
			return true;
		if (n == 0)
			return false;
		struct tree_decl *d = decl_of(root, n);
		n = d ? d->parent : 0;
	}
}

int machine_tree_current(struct machine *m)
{
	return (int)current_node(root_of(m));
}

int machine_tree_level(struct machine *m)
{
	struct machine *root = root_of(m);
	return level_of(root, current_node(root));
}

/* }====================================================================== */

/* {====== registers ====== */

static void regs_from_block(struct machine *root, unsigned node, uint32_t pa, uint32_t r_off,
                            uint32_t eip_off, uint32_t eflags_off, uint32_t seg_off,
                            struct machine_regs *r, bool *ok)
{
	uint32_t g[8];
	for (int i = 0; i < 8; i++)
		g[i] = rd32(root, node, pa + r_off + 4 * (uint32_t)i, ok);
	r->eax = g[0], r->ecx = g[1], r->edx = g[2], r->ebx = g[3];
	r->esp = g[4], r->ebp = g[5], r->esi = g[6], r->edi = g[7];
	r->eip = rd32(root, node, pa + eip_off, ok);
	r->eflags = rd32(root, node, pa + eflags_off, ok);
	uint16_t *sel[6] = { &r->es, &r->cs, &r->ss, &r->ds, &r->fs, &r->gs };
	for (int s = 0; s < 6; s++)
		*sel[s] = (uint16_t)rd32(root, node, pa + seg_off + 12 * (uint32_t)s, ok);
}

/* A declared node's registers: live when it executes, else where its
 * monitor holds them; the privileged ones from its vCPU block. */
static bool decl_regs(struct machine *root, unsigned node, struct tree_decl *d,
                      struct machine_regs *r)
{
	bool ok = true;
	if (current_node(root) == node) {
		machine_get_regs(root->current ? root->current : root, r);
	} else {
		uint8_t active = 0;
		if (d->nest && !phys_access(root, d->parent, d->nest + NL_NEST_ACTIVE, &active, 1, false))
			ok = false;
		if (active)
			regs_from_block(root, d->parent, d->nest + NL_NEST_OUTER, NL_REGS_R, NL_REGS_EIP,
			                NL_REGS_EFLAGS, NL_REGS_SEG, r, &ok);
		else if (d->regs)
			regs_from_block(root, d->parent, d->regs, NL_RUN_R, NL_RUN_EIP, NL_RUN_EFLAGS,
			                NL_RUN_SEG, r, &ok);
		else
			return false;
		r->icount = root->cpu->icount;
		r->cycles = root->cpu->cycles;
	}
	if (!d->vcpu)
		return ok;
	uint8_t v[NL_VCPU_SIZE];
	if (!phys_access(root, d->parent, d->vcpu, v, sizeof v, false))
		return false;
	uint32_t vflags;
	memcpy(&r->cr0, v + NL_VCPU_CR0, 4);
	memcpy(&r->cr2, v + NL_VCPU_CR2, 4);
	memcpy(&r->cr3, v + NL_VCPU_CR3, 4);
	memcpy(&r->cr4, v + NL_VCPU_CR4, 4);
	memcpy(&vflags, v + NL_VCPU_VFLAGS, 4);
	memcpy(&r->cs, v + NL_VCPU_CS, 2);
	memcpy(&r->ss, v + NL_VCPU_SS, 2);
	r->cpl = v[NL_VCPU_CPL];
	r->eflags = (r->eflags & ~(EFLAGS_IF | EFLAGS_IOPL)) | (vflags & (EFLAGS_IF | EFLAGS_IOPL));
	return ok;
}

/* An L1 VM's registers: while its own guest runs through the assist the
 * engine's monitor virtualizes, as that monitor keeps them (nest.outer). */
static void l1_regs(struct machine *root, struct machine *vm, struct machine_regs *r)
{
	struct machine *prev = root->current;
	vm_switch_to(root, vm);
	machine_get_guest_regs(vm, r);
	const struct vmm *v = vm->l0 ? l0_vmm(vm->l0) : NULL;
	if (v && v->nest.active) {
		const struct vmm_regs *o = &v->nest.outer;
		r->eax = o->r[0], r->ecx = o->r[1], r->edx = o->r[2], r->ebx = o->r[3];
		r->esp = o->r[4], r->ebp = o->r[5], r->esi = o->r[6], r->edi = o->r[7];
		r->eip = o->eip;
		r->eflags = vmm_guest_eflags(v, o->eflags);
		r->ds = o->seg[VMM_DS].sel, r->es = o->seg[VMM_ES].sel;
		r->fs = o->seg[VMM_FS].sel, r->gs = o->seg[VMM_GS].sel;
	}
	vm_switch_to(root, prev);
}

static uint64_t decl_exits(struct machine *root, struct tree_decl *d)
{
	uint64_t n = 0;
	for (int e = 0; d->stats && e < NL_EXIT_REASONS; e++) {
		uint64_t v = 0;
		if (!phys_access(root, d->parent, d->stats + 8 * (uint32_t)e, &v, 8, false))
			return 0;
		n += GUINT64_FROM_LE(v);
	}
	return n;
}

/* }====================================================================== */

/* {====== the nodes ====== */

/* A declared VM is gone with its monitor: destroyed itself, or under a VM
 * that was (an engine VM destroyed with machine_vm_destroy included). */
static bool gone(struct machine *root, unsigned node)
{
	for (int depth = 0; depth < TREE_DEPTH_MAX && node != 0; depth++) {
		struct machine *vm = l1_vm(root, node);
		if (vm)
			return vm->vm_state == VM_DESTROYED;
		struct tree_decl *d = decl_of(root, node);
		if (!d || d->destroyed)
			return true;
		node = d->parent;
	}
	return false;
}

unsigned machine_tree_count(struct machine *m)
{
	struct machine *root = root_of(m);
	return first_decl(root) + tree_of(root)->n_decl;
}

static enum machine_tree_state l1_state(struct machine *vm)
{
	switch (vm->vm_state) {
	case VM_PAUSED: return MACHINE_TREE_PAUSED;
	case VM_STOPPED: return MACHINE_TREE_STOPPED;
	case VM_DESTROYED: return MACHINE_TREE_DESTROYED;
	default: return MACHINE_TREE_READY;
	}
}

bool machine_tree_node(struct machine *m, unsigned i, struct machine_tree_node *out)
{
	struct machine *root = root_of(m);
	struct vm_tree *t = tree_of(root);
	if (i >= machine_tree_count(root))
		return false;
	memset(out, 0, sizeof *out);
	out->level = level_of(root, i);
	out->guest_monitor = t->mon[i].present ? t->mon[i].name : NULL;
	unsigned cur = current_node(root);
	for (unsigned k = 1; k < machine_tree_count(root); k++)
		if ((k <= n_l1(root) ? 0 : decl_of(root, k)->parent) == i)
			out->n_children++;
	bool chain = on_chain(root, i);
	if (i == 0) {
		out->name = "machine";
		out->parent = -1;
		out->state = cur == 0 ? MACHINE_TREE_EXECUTING : MACHINE_TREE_RUNNING;
		if (cur == 0 && !root->cpu->assist_run) {
			machine_get_regs(root, &out->regs);
			out->regs_known = true;
		}
		return true;
	}
	struct machine *vm = l1_vm(root, i);
	if (vm) {
		out->name = vm->name;
		out->parent = 0;
		out->monitor = "nestlab";
		out->id = i - 1;
		out->state = l1_state(vm);
		if (out->state == MACHINE_TREE_READY && chain)
			out->state = cur == i ? MACHINE_TREE_EXECUTING : MACHINE_TREE_RUNNING;
		if (vm->vm_state != VM_DESTROYED) {
			l1_regs(root, vm, &out->regs);
			out->regs_known = true;
		}
		if (vm->l0) {
			const struct vmm_stats *st = l0_stats(vm->l0);
			for (int e = 0; e < VMM_EXIT_COUNT; e++)
				out->exits += st->exits[e];
		}
		return true;
	}
	struct tree_decl *d = decl_of(root, i);
	out->name = d->name;
	out->parent = (int)d->parent;
	out->monitor = t->mon[d->parent].name;
	out->id = d->id;
	out->state = gone(root, i) ? MACHINE_TREE_DESTROYED
	             : !chain     ? MACHINE_TREE_READY
	             : cur == i   ? MACHINE_TREE_EXECUTING
	                          : MACHINE_TREE_RUNNING;
	if (out->state != MACHINE_TREE_DESTROYED) {
		out->regs_known = decl_regs(root, i, d, &out->regs);
		out->exits = decl_exits(root, d);
	}
	return true;
}

const char *machine_tree_state_name(enum machine_tree_state s)
{
	static const char *const names[] = { "executing", "running", "ready", "paused", "stopped",
		                             "destroyed" };
	return (unsigned)s < G_N_ELEMENTS(names) ? names[s] : "?";
}

/* }====================================================================== */

/* {====== memory and translation at a level ====== */

bool machine_tree_read_phys(struct machine *m, unsigned node, uint32_t pa, void *buf, size_t len)
{
	struct machine *root = root_of(m);
	return node < machine_tree_count(root) && phys_access(root, node, pa, buf, len, false);
}

bool machine_tree_write_phys(struct machine *m, unsigned node, uint32_t pa, const void *buf,
                             size_t len)
{
	struct machine *root = root_of(m);
	return node < machine_tree_count(root) &&
	       phys_access(root, node, pa, (void *)buf, len, true);
}

bool machine_tree_read_virt(struct machine *m, unsigned node, uint32_t lin, void *buf, size_t len)
{
	struct machine *root = root_of(m);
	return node < machine_tree_count(root) && virt_access(root, node, lin, buf, len, false);
}

bool machine_tree_write_virt(struct machine *m, unsigned node, uint32_t lin, const void *buf,
                             size_t len)
{
	struct machine *root = root_of(m);
	return node < machine_tree_count(root) &&
	       virt_access(root, node, lin, (void *)buf, len, true);
}

/* One physical step: node-physical `pa` to its monitor's physical. */
static bool phys_step(struct machine *root, unsigned node, uint32_t pa,
                      struct machine_tree_step *s)
{
	s->in = pa;
	struct machine *vm = l1_vm(root, node);
	if (vm) {
		if (vm->vm_state == VM_DESTROYED || pa >= vm->share_size)
			return false;
		s->map_gpa = 0, s->map_size = vm->share_size, s->map_mpa = vm->share_base;
		s->out = vm->share_base + pa;
		return true;
	}
	struct tree_decl *d = decl_of(root, node);
	for (uint32_t i = 0; d && !d->destroyed && i < d->n_ranges; i++) {
		const struct nl_range *r = &d->ranges[i];
		if (pa >= r->gpa && pa - r->gpa < r->size) {
			s->map_gpa = r->gpa, s->map_size = r->size, s->map_mpa = r->mpa;
			s->out = r->mpa + (pa - r->gpa);
			return true;
		}
	}
	return false;
}

int machine_tree_translate(struct machine *m, unsigned node, uint32_t addr, bool virt,
                           struct machine_tree_step *steps, int max, uint32_t *hpa,
                           const char **why)
{
	struct machine *root = root_of(m);
	int n = 0;
	*why = NULL;
	if (node >= machine_tree_count(root) || max < 1) {
		*why = "no such node";
		return -1;
	}
	if (virt) {
		struct ctl c;
		struct machine_tree_step *s = &steps[n++];
		*s = (struct machine_tree_step){ .node = (int)node, .level = level_of(root, node),
			                         .virt = true, .in = addr };
		if (!node_ctl(root, node, &c)) {
			*why = "the node's control registers are not known";
			return -1;
		}
		if (!walk(root, node, &c, addr, s)) {
			*why = "not mapped by the node's page tables";
			return -n;
		}
		addr = s->out;
	}
	while (node != 0) {
		if (n == max) {
			*why = "more steps than the caller's array";
			return -n;
		}
		struct machine_tree_step *s = &steps[n++];
		*s = (struct machine_tree_step){ .node = (int)node, .level = level_of(root, node) };
		if (!phys_step(root, node, addr, s)) {
			*why = "outside the node's memory map (a device, or nothing)";
			return -n;
		}
		addr = s->out;
		struct tree_decl *d = decl_of(root, node);
		node = d ? d->parent : 0;
	}
	*hpa = addr;
	return n;
}

/* }====================================================================== */

/* {====== the ABI's commands ====== */

struct call_ctx {
	struct machine *root;
	unsigned node;
};

static bool read_at_caller(void *opaque, uint32_t lin, void *buf, size_t len)
{
	struct call_ctx *c = opaque;
	return virt_access(c->root, c->node, lin, buf, len, false);
}

static void add_event(struct machine *root, unsigned node, bool mark, const char *name,
                      uint32_t value, const char *text)
{
	struct vm_tree *t = tree_of(root);
	if (t->events->len >= TREE_EVENTS_MAX) {
		t->dropped++;
		return;
	}
	struct machine_tree_event e = {
		.icount = root->cpu->icount + 1, .node = (int)node, .level = level_of(root, node),
		.mark = mark, .value = value, .name = g_strdup(name), .text = g_strdup(text),
	};
	struct machine_tree_node info;
	if (mark && machine_tree_node(root, node, &info) && info.regs_known) {
		e.regs = info.regs;
		e.regs_known = true;
	}
	g_array_append_val(t->events, e);
}

static uint32_t phys_extent(struct machine *root, unsigned node)
{
	if (node == 0)
		return pmem_total_size(root->cpu_pmem);
	struct machine *vm = l1_vm(root, node);
	if (vm)
		return vm->share_size;
	struct tree_decl *d = decl_of(root, node);
	uint64_t end = 0;
	for (uint32_t i = 0; d && i < d->n_ranges; i++)
		end = MAX(end, (uint64_t)d->ranges[i].gpa + d->ranges[i].size);
	return (uint32_t)MIN(end, 0xffffffffu);
}

/* A linear address of the caller as its physical one (0 stays 0). */
static bool caller_pa(struct call_ctx *c, uint32_t lin, uint32_t len, uint32_t *pa)
{
	uint8_t probe[256];
	if (!lin) {
		*pa = 0;
		return true;
	}
	return virt_to_phys(c->root, c->node, lin, pa) && len <= sizeof probe &&
	       phys_access(c->root, c->node, *pa, probe, len, false);
}

static uint32_t do_hello(struct call_ctx *c, const struct nl_hello *h, const char **why)
{
	struct tree_monitor *mon = &tree_of(c->root)->mon[c->node];
	if (mon->present) {
		*why = "this level's monitor already said HELLO";
		return NL_E_HELLO;
	}
	uint32_t pa;
	if (!h->running || !caller_pa(c, h->running, 4, &pa)) {
		*why = "the running-child word is not mapped";
		return NL_E_FAULT;
	}
	mon->present = true;
	mon->running = pa;
	memcpy(mon->name, h->name, NL_NAME_MAX);
	return NL_OK;
}

static uint32_t do_create(struct call_ctx *c, const struct nl_vm_create *v, const char **why)
{
	struct vm_tree *t = tree_of(c->root);
	if (!t->mon[c->node].present) {
		*why = "VM_CREATE before the monitor's HELLO";
		return NL_E_HELLO;
	}
	if (child_with_id(c->root, c->node, v->id) >= 0) {
		*why = "the VM id is in use";
		return NL_E_ID;
	}
	if (t->n_decl == TREE_DECLARED_MAX) {
		*why = "the tree has 64 declared VMs already";
		return NL_E_FULL;
	}
	if (level_of(c->root, c->node) + 1 >= TREE_DEPTH_MAX) {
		*why = "the tree is 16 levels deep already";
		return NL_E_FULL;
	}
	uint32_t ext = phys_extent(c->root, c->node);
	for (uint32_t i = 0; i < v->n_ranges; i++)
		if (v->ranges[i].mpa >= ext || v->ranges[i].size > ext - v->ranges[i].mpa) {
			*why = "a memory map range goes past the monitor's own memory";
			return NL_E_MAP_SIZE;
		}
	struct tree_decl d = { .parent = c->node, .id = v->id, .n_ranges = v->n_ranges };
	memcpy(d.name, v->name, NL_NAME_MAX);
	memcpy(d.ranges, v->ranges, sizeof d.ranges);
	if (!caller_pa(c, v->vcpu, NL_VCPU_SIZE, &d.vcpu) ||
	    !caller_pa(c, v->regs, NL_RUN_SIZE, &d.regs) ||
	    !caller_pa(c, v->nest, NL_NEST_OUTER + NL_REGS_SIZE, &d.nest) ||
	    !caller_pa(c, v->stats, 8 * NL_EXIT_REASONS, &d.stats)) {
		*why = "a vCPU, register, nest or stats block is not mapped";
		return NL_E_FAULT;
	}
	t->decl[t->n_decl++] = d;
	return NL_OK;
}

static void destroy_subtree(struct machine *root, unsigned node)
{
	struct vm_tree *t = tree_of(root);
	struct tree_decl *d = decl_of(root, node);
	if (!d || d->destroyed)
		return;
	d->destroyed = true;
	t->mon[node] = (struct tree_monitor){ 0 };
	for (unsigned i = 0; i < t->n_decl; i++)
		if (t->decl[i].parent == node)
			destroy_subtree(root, first_decl(root) + i);
}

static uint32_t do_destroy(struct call_ctx *c, const struct nl_vm_destroy *v, const char **why)
{
	if (!tree_of(c->root)->mon[c->node].present) {
		*why = "VM_DESTROY before the monitor's HELLO";
		return NL_E_HELLO;
	}
	int child = child_with_id(c->root, c->node, v->id);
	if (child < 0) {
		*why = "no VM of this monitor has that id";
		return NL_E_ID;
	}
	destroy_subtree(c->root, (unsigned)child);
	return NL_OK;
}

static uint32_t apply(struct call_ctx *c, const struct vm_abi_call *call, const char **why)
{
	switch (call->cmd) {
	case NL_CMD_QUERY: return NL_ABI_VERSION;
	case NL_CMD_HELLO: return do_hello(c, &call->u.hello, why);
	case NL_CMD_VM_CREATE: return do_create(c, &call->u.create, why);
	case NL_CMD_VM_DESTROY: return do_destroy(c, &call->u.destroy, why);
	case NL_CMD_LOG:
		add_event(c->root, c->node, false, NULL, 0, call->text);
		return NL_OK;
	case NL_CMD_MARK:
		add_event(c->root, c->node, true, call->u.mark.name, call->u.mark.value, NULL);
		return NL_OK;
	}
	return NL_E_COMMAND;
}

/* The CPU's hook (cpu_set_abi_hook): the caller is the executing node. */
static void abi_call(void *opaque, struct cpu *cpu)
{
	struct call_ctx c = { root_of(opaque), 0 };
	c.node = current_node(c.root);
	struct vm_abi_call *call = g_new(struct vm_abi_call, 1);
	const char *why = NULL;
	uint32_t res = vm_abi_decode(cpu->r[EAX], cpu->r[EBX], read_at_caller, &c, call, &why);
	if (res == NL_OK)
		res = apply(&c, call, &why);
	g_free(call);
	if (why) {
		const char *cmd = vm_abi_command_name(cpu->r[EAX]);
		char num[24];
		g_snprintf(num, sizeof num, "command 0x%08x", cpu->r[EAX]);
		char *text = g_strdup_printf("engine: %s from level %d refused: %s (%s)",
		                             cmd ? cmd : num, level_of(c.root, c.node), why,
		                             vm_abi_result_name(res));
		add_event(c.root, c.node, false, NULL, 0, text);
		g_free(text);
	}
	cpu->r[EAX] = res;
}

void vm_tree_attach(struct machine *root)
{
	cpu_set_abi_hook(root->cpu, abi_call, root);
}

/* }====================================================================== */

/* {====== events ====== */

unsigned machine_tree_event_count(struct machine *m)
{
	return tree_of(root_of(m))->events->len;
}

bool machine_tree_event(struct machine *m, unsigned i, struct machine_tree_event *out)
{
	struct vm_tree *t = tree_of(root_of(m));
	if (i >= t->events->len)
		return false;
	*out = g_array_index(t->events, struct machine_tree_event, i);
	return true;
}

/* }====================================================================== */

/* {====== snapshots ====== */

/* The tree's own state (tree_monitor and tree_decl are plain data, and
 * events their fields then two strings), little-endian as the host. */
void vm_tree_save(struct machine *root, GByteArray *out)
{
	struct vm_tree *t = tree_of(root);
	uint32_t n = t->n_decl, ne = t->events->len;
	g_byte_array_append(out, (const guint8 *)&n, 4);
	g_byte_array_append(out, (const guint8 *)t->mon, sizeof t->mon);
	g_byte_array_append(out, (const guint8 *)t->decl, (guint)(n * sizeof t->decl[0]));
	g_byte_array_append(out, (const guint8 *)&t->dropped, 8);
	g_byte_array_append(out, (const guint8 *)&ne, 4);
	for (guint i = 0; i < ne; i++) {
		struct machine_tree_event e = g_array_index(t->events, struct machine_tree_event, i);
		const char *str[2] = { e.name, e.text };
		e.name = e.text = NULL;
		g_byte_array_append(out, (const guint8 *)&e, sizeof e);
		for (int k = 0; k < 2; k++) {
			uint32_t len = str[k] ? (uint32_t)strlen(str[k]) + 1 : 0;
			g_byte_array_append(out, (const guint8 *)&len, 4);
			g_byte_array_append(out, (const guint8 *)str[k], len);
		}
	}
}

static bool take_bytes(const uint8_t **p, const uint8_t *end, void *dst, size_t n)
{
	if ((size_t)(end - *p) < n)
		return false;
	memcpy(dst, *p, n);
	*p += n;
	return true;
}

bool vm_tree_restore(struct machine *root, const uint8_t *buf, size_t len)
{
	struct vm_tree *t = tree_of(root);
	const uint8_t *p = buf, *end = buf + len;
	uint32_t n, ne;
	clear_events(t);
	if (!take_bytes(&p, end, &n, 4) || n > TREE_DECLARED_MAX ||
	    !take_bytes(&p, end, t->mon, sizeof t->mon) ||
	    !take_bytes(&p, end, t->decl, n * sizeof t->decl[0]) ||
	    !take_bytes(&p, end, &t->dropped, 8) || !take_bytes(&p, end, &ne, 4) ||
	    ne > TREE_EVENTS_MAX)
		return false;
	t->n_decl = n;
	for (unsigned i = 0; i < n; i++)
		if (t->decl[i].parent >= first_decl(root) + i || t->decl[i].n_ranges > NL_MAP_MAX)
			return false;
	for (uint32_t i = 0; i < ne; i++) {
		struct machine_tree_event e;
		if (!take_bytes(&p, end, &e, sizeof e))
			return false;
		char *str[2] = { NULL, NULL };
		for (int k = 0; k < 2; k++) {
			uint32_t sl;
			if (!take_bytes(&p, end, &sl, 4) || sl > (size_t)(end - p) ||
			    (sl && p[sl - 1] != 0)) {
				g_free(str[0]);
				return false;
			}
			str[k] = sl ? g_strndup((const char *)p, sl) : NULL;
			p += sl;
		}
		e.name = str[0];
		e.text = str[1];
		g_array_append_val(t->events, e);
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(t->mon); i++) {
		t->mon[i].name[NL_NAME_MAX - 1] = 0;
		if (i < n)
			t->decl[i].name[NL_NAME_MAX - 1] = 0;
	}
	return p == end;
}

/* }====================================================================== */

/* {====== exit multiplication (--stats) ======
 *
 * Every trap reaches the engine's monitor first. A trap of code at level k
 * opens an episode that lasts until level k (or a level under it) runs
 * again; its row counts what the monitors' own exit counters moved by
 * meanwhile: exits[k][m] are the exits monitor level m took (level 0: the
 * engine's monitor; level m >= 1: the VMs at level m+1, as their monitors
 * count them), the trap itself included, and cycles[k] the machine's clock
 * plus the engine's modelled monitor cycles from the trap to the resume.
 * Read at each trap (the hook is set only by machine_tree_stats_enable),
 * not saved in snapshots. */

static uint64_t clock_now_all(struct machine *root)
{
	struct machine *vm = root->current ? root->current : root;
	return root->cpu->cycles + (vm->l0 ? l0_overhead_cycles(vm->l0) : 0);
}

/* Each monitor level's exits so far: out[m] for m = 0 .. TREE_DEPTH_MAX-1. */
static void exit_totals(struct machine *root, uint64_t out[TREE_DEPTH_MAX])
{
	memset(out, 0, TREE_DEPTH_MAX * sizeof out[0]);
	struct machine *vm = root->current ? root->current : root;
	if (vm->l0) {
		const struct vmm_stats *st = l0_stats(vm->l0);
		for (int e = 0; e < VMM_EXIT_COUNT; e++)
			out[0] += st->exits[e];
	}
	struct vm_tree *t = tree_of(root);
	for (unsigned i = 0; i < t->n_decl; i++) {
		unsigned node = first_decl(root) + i;
		int lvl = level_of(root, node);
		if (t->decl[i].destroyed || lvl < 1 || lvl > TREE_DEPTH_MAX)
			continue;
		out[lvl - 1] += decl_exits(root, &t->decl[i]);
	}
}

static void tree_exit_hook(void *opaque, bool after)
{
	struct machine *root = opaque;
	struct tree_stats *st = &tree_of(root)->stats;
	int lvl = level_of(root, current_node(root));
	if (lvl < 1 || lvl >= TREE_DEPTH_MAX)
		return;
	uint64_t now = clock_now_all(root), tot[TREE_DEPTH_MAX];
	if (!after) {
		st->traps[lvl]++;
		if (!st->open[lvl]) {
			exit_totals(root, st->start_exits[lvl]);
			st->open[lvl] = true;
			st->start[lvl] = now;
		}
		return;
	}
	bool any = false;
	for (int k = 1; k <= lvl; k++)
		any |= st->open[k];
	if (!any)
		return;
	exit_totals(root, tot);
	for (int k = 1; k <= lvl; k++)
		if (st->open[k]) {
			st->open[k] = false;
			st->cycles[k] += now - st->start[k];
			for (int m = 0; m < k; m++)
				st->exits[k][m] += tot[m] - st->start_exits[k][m];
		}
}

void machine_tree_stats_enable(struct machine *m)
{
	struct machine *root = root_of(m);
	tree_of(root)->stats.on = true;
	for (unsigned i = 1; i <= n_l1(root); i++) {
		struct machine *vm = l1_vm(root, i);
		if (vm->l0)
			l0_set_exit_hook(vm->l0, tree_exit_hook, root);
	}
}

bool machine_tree_trap_stats(struct machine *m, int level, uint64_t *traps, uint64_t *exits,
                             uint64_t *cycles)
{
	struct tree_stats *st = &tree_of(root_of(m))->stats;
	if (!st->on || level < 1 || level >= TREE_DEPTH_MAX)
		return false;
	*traps = st->traps[level];
	*cycles = st->cycles[level];
	for (int k = 0; k < level; k++)
		exits[k] = st->exits[level][k];
	return true;
}

_Static_assert(MACHINE_EXIT_REASONS == VMM_EXIT_COUNT && NL_EXIT_REASONS == VMM_EXIT_COUNT,
               "exit reasons");

bool machine_tree_exit_counts(struct machine *m, unsigned node,
                              uint64_t exits[MACHINE_EXIT_REASONS],
                              uint64_t cycles[MACHINE_EXIT_REASONS])
{
	struct machine *root = root_of(m);
	if (node == 0 || node >= machine_tree_count(root))
		return false;
	struct machine *vm = l1_vm(root, node);
	if (vm) {
		if (!vm->l0)
			return false;
		const struct vmm_stats *s = l0_stats(vm->l0);
		memcpy(exits, s->exits, sizeof s->exits);
		memcpy(cycles, s->exit_cycles, sizeof s->exit_cycles);
		return true;
	}
	struct tree_decl *d = decl_of(root, node);
	if (!d || d->destroyed || !d->stats)
		return false;
	uint64_t buf[2 * NL_EXIT_REASONS];
	if (!phys_access(root, d->parent, d->stats, buf, sizeof buf, false))
		return false;
	memcpy(exits, buf, NL_EXIT_REASONS * 8);
	memcpy(cycles, buf + NL_EXIT_REASONS, NL_EXIT_REASONS * 8);
	return true;
}

/* }====================================================================== */
