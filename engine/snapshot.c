/*
 * snapshot.c - the whole machine's state as bytes, and back.
 *
 * machine_save() writes everything that decides what the machine does
 * next, for the root and every VM: the CPU (each VM's, whoever the CPU
 * holds), all host-physical RAM (the VMs' shares and the monitors' pages),
 * every device with its timers, the disks' copy-on-write overlays, the
 * consoles, the --input schedule and what of it was delivered, each
 * monitor (engine/vmm/l0.c: the core's state, position-independent), and
 * the VM tree's own state (running, paused, stopped, destroyed; slices).
 * machine_restore() loads it into a machine built from the same
 * configuration, which then continues bit for bit as the saved one would.
 *
 * The bytes are a sequence of sections, each a tag, a length and data;
 * every length is checked against what is left, so bad bytes give a
 * message, never a read out of bounds. What is saved is this build's view
 * of the machine (raw CPU and device structs): a snapshot is read by the
 * same nestlab version that wrote it (checked by size and version).
 * The byte helpers and one machine's part (snap_save_one, snap_load_one)
 * are shared with VM snapshots (vmsnap.c) through snapshot_int.h.
 *
 *   "NLMS" version  cpu-image-size  vm-count  current  root-has-monitor
 *   has-memory (0 for machine_save_state)  CPU count (version 5)
 *   host memory size (RAM and monitor pages), then its non-zero pages:
 *   (page number, 4096 bytes)* until 0xffffffff   (if has-memory)
 *   per machine (root, then each VM in order):
 *     cpu image, cpu_guest, devices, disks, console, inputs, tree state
 *     (with the root's place in the VMs' round of turns),
 *     A20, the debug port (exit status, POST code), shutdown reason,
 *     monitor (flag, bytes)
 *   the tree guest monitors declared (engine/vm/tree.c: a blob), the
 *   CPUs' schedule (smp.c: count, whose turn, what is left of it, each
 *   CPU's start-up status), then with several CPUs every CPU's image
 *   (version 5; a version 3 state has none of these three and loads into a
 *   machine with one CPU)
 */
#include <string.h>

#include "snapshot_int.h"

#define SNAP_MAGIC 0x534d4c4eu /* "NLMS" */
#define SNAP_VERSION 5u
#define SNAP_VERSION_ONE_CPU 3u /* before the tree and --smp: still loadable with one CPU */
#define CURRENT_NONE 0xffffffffu

/* {====== writing ====== */

static void save_ram(struct machine *root, GByteArray *o)
{
	uint32_t ram = pmem_total_size(root->cpu_pmem);
	put32(o, ram);
	for (uint32_t a = 0; a < ram; a += PMEM_PAGE_SIZE) {
		const uint8_t *p = pmem_page_if_present(root->cpu_pmem, a);
		if (!p || page_zero(p))
			continue;
		put32(o, a / PMEM_PAGE_SIZE);
		put(o, p, PMEM_PAGE_SIZE);
	}
	put32(o, SNAP_PAGE_END);
}

/* The parts of cpu_guest that are state (the hooks are the host's). */
struct guest_image {
	uint8_t on, dt_phys, nested, vcpl, stop_on_pe, pad[3];
	uint32_t npt_root, npf_gpa;
	uint64_t walk_refs, nested_refs;
};

/* A timer's deadline (CLOCK_NEVER for one never set up). */
static uint64_t deadline_of(const struct clock_timer *t)
{
	return t->clock ? clock_timer_deadline(t) : CLOCK_NEVER;
}

void snap_save_one(struct machine *m, GByteArray *o)
{
	put_blob(o, m->ctx, cpu_save_size());
	const struct cpu_guest *g = &m->ctx_guest;
	struct guest_image gi = { g->on, g->dt_phys, g->nested, g->vcpl, g->stop_on_pe, {0},
	                          g->npt_root, g->npf_gpa, g->walk_refs, g->nested_refs };
	put(o, &gi, sizeof gi);
	put32(o, (uint32_t)m->n_dev);
	GByteArray *b = g_byte_array_new();
	for (int i = 0; i < m->n_dev; i++) {
		g_byte_array_set_size(b, 0);
		m->dev[i]->ops->save(m->dev[i], b);
		put_blob(o, b->data, b->len);
	}
	put32(o, (uint32_t)m->n_disks);
	for (int i = 0; i < m->n_disks; i++) {
		g_byte_array_set_size(b, 0);
		disk_save_overlay(m->disk[i], b);
		put_blob(o, b->data, b->len);
	}
	g_byte_array_unref(b);
	put_blob(o, m->console_log ? m->console_log->data : NULL, m->console_log ? m->console_log->len : 0);
	put32(o, m->inputs ? m->inputs->len : 0);
	for (guint i = 0; m->inputs && i < m->inputs->len; i++) {
		const struct input *in = g_ptr_array_index(m->inputs, i);
		put32(o, in->delivered);
		put64(o, in->delivered_icount);
		put64(o, in->delivered_cycles);
	}
	put32(o, m->next_input);
	put64(o, m->match_from);
	put64(o, deadline_of(&m->input_timer));
	put32(o, m->vm_state);
	put32(o, m->vm_stop);
	put64(o, m->final_icount);
	put32(o, m->slice_over);
	put64(o, m->slice_end);
	put64(o, deadline_of(&m->slice_timer));
	put32(o, m->turn_vm);
	put32(o, m->turn_open);
	put32(o, (uint32_t)m->a20_kbd | (uint32_t)m->a20_sysctl << 1);
	bool exited = false;
	int status = 0;
	int64_t post = -1;
	if (m->dbg)
		dev_debugport_get_state(m->dbg, &exited, &status, &post);
	put32(o, exited);
	put32(o, (uint32_t)status);
	put64(o, (uint64_t)post);
	put_str(o, m->shutdown_why);
	if (m->l0) {
		GByteArray *l = g_byte_array_new();
		l0_save(m->l0, l);
		put_blob(o, l->data, l->len);
		g_byte_array_unref(l);
	} else {
		put32(o, 0);
	}
}

static struct machine *vm_nth(struct machine *root, guint i)
{
	return i == 0 ? root : g_ptr_array_index(root->vms, i - 1);
}

static guint vm_total(const struct machine *root)
{
	return 1 + (root->vms ? root->vms->len : 0);
}

static void save(struct machine *m, GByteArray *out, bool with_ram)
{
	struct machine *root = m->root ? m->root : m;
	smp_resume(root); /* the CPU whose turn it is, not the one a debugger shows */
	struct machine *cur = root->current;
	vm_switch_to(root, NULL); /* every VM's CPU state in its ctx */
	uint32_t cur_i = CURRENT_NONE;
	for (guint i = 0; i < vm_total(root); i++)
		if (vm_nth(root, i) == cur)
			cur_i = i;
	put32(out, SNAP_MAGIC);
	put32(out, SNAP_VERSION);
	put32(out, (uint32_t)cpu_save_size());
	put32(out, vm_total(root));
	put32(out, cur_i);
	put32(out, root->l0 != NULL);
	put32(out, with_ram);
	put32(out, root->n_cpus);
	if (with_ram)
		save_ram(root, out);
	for (guint i = 0; i < vm_total(root); i++)
		snap_save_one(vm_nth(root, i), out);
	GByteArray *b = g_byte_array_new();
	vm_tree_save(root, b);
	put_blob(out, b->data, b->len);
	g_byte_array_set_size(b, 0);
	smp_save_schedule(root, b);
	put_blob(out, b->data, b->len);
	g_byte_array_set_size(b, 0);
	smp_save_cpus(root, b);
	put_blob(out, b->data, b->len);
	g_byte_array_unref(b);
	vm_switch_to(root, cur);
}

void machine_save(struct machine *m, GByteArray *out)
{
	save(m, out, true);
}

void machine_save_state(struct machine *m, GByteArray *out)
{
	save(m, out, false);
}

/* }====================================================================== */

/* {====== reading ====== */

static void rearm(struct clock_timer *t, uint64_t deadline)
{
	if (!t->clock)
		return;
	if (deadline == CLOCK_NEVER)
		clock_timer_cancel(t);
	else
		clock_timer_arm(t, deadline);
}

static bool load_ram(struct machine *root, struct snap_rd *r, GError **error)
{
	uint32_t ram = get32(r, "the RAM size");
	if (!r->bad && ram != pmem_total_size(root->cpu_pmem)) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "the snapshot has %u KiB of host memory, this machine %u KiB: it was made "
		            "with other --mem, --vm or --monitor options", ram / 1024,
		            pmem_total_size(root->cpu_pmem) / 1024);
		return false;
	}
	uint32_t pages = ram / PMEM_PAGE_SIZE;
	uint8_t *seen = g_malloc0(pages / 8 + 1);
	for (;;) {
		uint32_t n = get32(r, "the RAM pages");
		if (r->bad || n == SNAP_PAGE_END)
			break;
		const uint8_t *p = take(r, PMEM_PAGE_SIZE, "a RAM page");
		if (!p)
			break;
		if (n >= pages) {
			r->bad = "a RAM page number";
			break;
		}
		seen[n / 8] |= (uint8_t)(1u << (n % 8));
		pmem_store(root->cpu_pmem, n * PMEM_PAGE_SIZE, p, PMEM_PAGE_SIZE);
	}
	static const uint8_t zero[PMEM_PAGE_SIZE];
	for (uint32_t n = 0; !r->bad && n < pages; n++) {
		const uint8_t *p = pmem_page_if_present(root->cpu_pmem, n * PMEM_PAGE_SIZE);
		if (p && !(seen[n / 8] & (1u << (n % 8))) && !page_zero(p))
			pmem_store(root->cpu_pmem, n * PMEM_PAGE_SIZE, zero, PMEM_PAGE_SIZE);
	}
	g_free(seen);
	return !r->bad;
}

static bool load_devices(struct machine *m, struct snap_rd *r, GError **error)
{
	if (get32(r, "the device count") != (uint32_t)m->n_dev && !r->bad)
		return fail(error, "the snapshot's %s differs from this machine's: it was made with "
		            "other options", "device set");
	for (int i = 0; i < m->n_dev && !r->bad; i++) {
		uint32_t n;
		const uint8_t *b = get_blob(r, &n, "a device's state");
		if (b && !m->dev[i]->ops->restore(m->dev[i], b, n, error))
			return false;
	}
	if (get32(r, "the disk count") != (uint32_t)m->n_disks && !r->bad)
		return fail(error, "the snapshot's %s differs from this machine's: give the same "
		            "--disk options", "disk set");
	for (int i = 0; i < m->n_disks && !r->bad; i++) {
		uint32_t n;
		const uint8_t *b = get_blob(r, &n, "a disk overlay");
		if (b && !disk_restore_overlay(m->disk[i], b, n, error))
			return false;
	}
	return true;
}

static bool load_inputs(struct machine *m, struct snap_rd *r, GError **error)
{
	uint32_t n = get32(r, "the input count");
	if (!r->bad && n != (m->inputs ? m->inputs->len : 0))
		return fail(error, "the snapshot's %s differs from this machine's: give the same "
		            "--input options", "input schedule");
	for (uint32_t i = 0; i < n && !r->bad; i++) {
		struct input *in = g_ptr_array_index(m->inputs, i);
		in->delivered = get32(r, "an input") != 0;
		in->delivered_icount = get64(r, "an input");
		in->delivered_cycles = get64(r, "an input");
	}
	m->next_input = get32(r, "the input schedule");
	m->match_from = (size_t)get64(r, "the input schedule");
	uint64_t t = get64(r, "the input timer");
	if (!r->bad && m->inputs && m->next_input > m->inputs->len)
		r->bad = "the input schedule";
	if (!r->bad)
		rearm(&m->input_timer, t);
	return true;
}

bool snap_load_one(struct machine *m, struct snap_rd *r, GError **error)
{
	uint32_t n;
	const uint8_t *cpu = get_blob(r, &n, "a CPU state");
	if (r->bad)
		return true;
	if (n != cpu_save_size())
		return fail(error, "the snapshot's %s is from another nestlab build", "CPU state");
	if (!m->ctx)
		m->ctx = g_malloc0(cpu_save_size());
	memcpy(m->ctx, cpu, n);
	struct guest_image gi; /* copied: the bytes need not be aligned */
	const void *gp = take(r, sizeof gi, "a CPU's guest mode");
	if (!gp)
		return true;
	memcpy(&gi, gp, sizeof gi);
	m->ctx_guest = (struct cpu_guest){
		.on = gi.on, .dt_phys = gi.dt_phys, .nested = gi.nested, .vcpl = gi.vcpl,
		.stop_on_pe = gi.stop_on_pe, .npt_root = gi.npt_root, .npf_gpa = gi.npf_gpa,
		.walk_refs = gi.walk_refs, .nested_refs = gi.nested_refs,
	};
	if (!load_devices(m, r, error))
		return false;
	const uint8_t *con = get_blob(r, &n, "the console log");
	if (con) {
		if (!m->console_log)
			m->console_log = g_byte_array_new();
		g_byte_array_set_size(m->console_log, 0);
		g_byte_array_append(m->console_log, con, n);
	}
	if (!load_inputs(m, r, error))
		return false;
	m->vm_state = (enum vm_state)get32(r, "the VM state");
	m->vm_stop = (enum machine_stop)get32(r, "the VM state");
	m->final_icount = get64(r, "the VM state");
	m->slice_over = get32(r, "the VM state") != 0;
	m->slice_end = get64(r, "the VM state");
	uint64_t slice = get64(r, "the VM state");
	m->turn_vm = get32(r, "the VM turn");
	m->turn_open = get32(r, "the VM turn") != 0;
	if (m->turn_vm > MACHINE_MAX_VMS + 1 && !r->bad)
		r->bad = "the VM turn";
	uint32_t a20 = get32(r, "the A20 state");
	m->a20_kbd = a20 & 1;
	m->a20_sysctl = (a20 >> 1) & 1;
	bool exited = get32(r, "the exit port") != 0;
	int status = (int)get32(r, "the exit port");
	int64_t post = (int64_t)get64(r, "the POST code");
	if (m->dbg && !r->bad)
		dev_debugport_set_state(m->dbg, exited, status, post);
	const uint8_t *why = get_blob(r, &n, "the shutdown reason");
	if (r->bad)
		return true;
	if (m->vm_state > VM_DESTROYED)
		return fail(error, "the snapshot's %s is damaged", "VM state");
	rearm(&m->slice_timer, slice);
	m->shutdown_why = NULL;
	if (n) {
		g_snprintf(m->monitor_stop, sizeof m->monitor_stop, "%.*s", (int)n, (const char *)why);
		m->shutdown_why = m->monitor_stop;
	}
	const uint8_t *l0 = get_blob(r, &n, "the monitor's state");
	if (r->bad)
		return true;
	if ((n != 0) != (m->l0 != NULL))
		return fail(error, "the snapshot %s: give the same --monitor option",
		            n ? "has a monitor and this machine none" : "has no monitor and this machine has one");
	if (n && !l0_restore(m->l0, l0, n))
		return fail(error, "the snapshot's %s is from another nestlab build", "monitor state");
	if (m->l0)
		l0_bind_guest(m->l0, &m->ctx_guest);
	else if (m->ctx_guest.on) /* bare: a guest of the assist (its run block says whose) */
		cpu_assist_bind(&m->ctx_guest);
	return true;
}

static bool restore(struct machine *m, const uint8_t *buf, size_t len, bool with_ram,
                    GError **error)
{
	struct machine *root = m->root ? m->root : m;
	struct snap_rd r = { buf, len, NULL };
	if (get32(&r, "the header") != SNAP_MAGIC)
		return fail(error, "not a nestlab machine state (%s)", "bad magic");
	uint32_t version = get32(&r, "the header");
	if (version != SNAP_VERSION && version != SNAP_VERSION_ONE_CPU)
		return fail(error, "the machine state has another %s", "format version");
	if (version == SNAP_VERSION_ONE_CPU && root->n_cpus > 1)
		return fail(error, "the machine state was made %s: give no --smp option",
		            "before several CPUs, with one");
	if (get32(&r, "the header") != cpu_save_size())
		return fail(error, "the snapshot's %s is from another nestlab build", "CPU state");
	uint32_t n = get32(&r, "the header"), cur = get32(&r, "the header");
	if (!r.bad && n != vm_total(root))
		return fail(error, "the snapshot's %s differs from this machine's: give the same "
		            "--vm options", "VM count");
	if (!r.bad && cur != CURRENT_NONE && cur >= n)
		return fail(error, "the machine state is damaged (%s)", "current VM");
	uint32_t root_l0 = get32(&r, "the header");
	uint32_t has_ram = get32(&r, "the header");
	if (!r.bad && has_ram != with_ram)
		return fail(error, "%s", has_ram ? "the machine state holds memory: it is a full snapshot"
		                                 : "the machine state holds no memory: it is a checkpoint's part");
	uint32_t n_cpus = version == SNAP_VERSION ? get32(&r, "the header") : 1;
	if (!r.bad && n_cpus != root->n_cpus) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_STATE,
		            "the snapshot has %u CPU%s, this machine %u: give the same --smp option", n_cpus,
		            n_cpus == 1 ? "" : "s", root->n_cpus);
		return false;
	}
	/* A ROM guest the monitor had taken over: its monitor's pages first. */
	if (!r.bad && root_l0 && !root->l0 && root->deferred_monitor.monitor != MACHINE_MONITOR_NONE)
		machine_attach_monitor(root);
	root->current = NULL; /* its CPU state is replaced, not saved */
	if (with_ram && !load_ram(root, &r, error))
		return r.bad ? fail(error, "the machine state is cut short or damaged (in %s)", r.bad)
		             : false;
	for (guint i = 0; i < n && !r.bad; i++)
		if (!snap_load_one(vm_nth(root, i), &r, error))
			return false;
	uint32_t sched_len = 0, cpus_len = 0;
	const uint8_t *sched = NULL, *cpus = NULL;
	if (version == SNAP_VERSION && !r.bad) {
		uint32_t tn = 0;
		const uint8_t *tb = get_blob(&r, &tn, "the tree");
		if (tb && !vm_tree_restore(root, tb, tn))
			return fail(error, "the machine state is damaged (%s)", "in the tree");
		sched = get_blob(&r, &sched_len, "the CPUs' schedule");
		cpus = get_blob(&r, &cpus_len, "the CPUs' states");
	}
	if (sched && !r.bad) {
		const char *bad = NULL;
		if (!smp_load_schedule(root, sched, sched_len, &bad)) {
			return fail(error, "the machine state is damaged (%s)",
			            bad ? bad : "the CPUs' schedule");
		}
	}
	if (r.bad)
		return fail(error, "the machine state is cut short or damaged (in %s)", r.bad);
	if (r.left)
		return fail(error, "the machine state is damaged (%s)", "bytes after its end");
	if (with_ram)
		cpu_invalidate_phys(root->cpu, 0, pmem_total_size(root->cpu_pmem));
	vm_switch_to(root, cur == CURRENT_NONE ? NULL : vm_nth(root, cur));
	if (version == SNAP_VERSION && !smp_load_cpus(root, cpus, cpus_len))
		return fail(error, "the snapshot's %s is from another nestlab build", "CPU states");
	return true;
}

bool machine_restore(struct machine *m, const uint8_t *buf, size_t len, GError **error)
{
	return restore(m, buf, len, true, error);
}

bool machine_restore_state(struct machine *m, const uint8_t *buf, size_t len, GError **error)
{
	return restore(m, buf, len, false, error);
}

/* {====== memory page by page ====== */

static struct machine *root_of(struct machine *m)
{
	return m->root ? m->root : m;
}

uint32_t machine_mem_pages(struct machine *m)
{
	return pmem_total_size(root_of(m)->cpu_pmem) / PMEM_PAGE_SIZE;
}

const uint8_t *machine_mem_page(struct machine *m, uint32_t n)
{
	if (n >= machine_mem_pages(m))
		return NULL;
	return pmem_page_if_present(root_of(m)->cpu_pmem, n * PMEM_PAGE_SIZE);
}

bool machine_put_page(struct machine *m, uint32_t n, const uint8_t *data)
{
	struct machine *root = root_of(m);
	if (!pmem_put_page(root->cpu_pmem, n, data))
		return false;
	cpu_invalidate_phys(root->cpu, n * PMEM_PAGE_SIZE, PMEM_PAGE_SIZE);
	return true;
}

void machine_take_dirty(struct machine *m, uint64_t *map)
{
	struct machine *root = root_of(m);
	uint64_t *d = pmem_dirty_map(root->cpu_pmem);
	uint32_t words = (machine_mem_pages(m) + 63) / 64;
	for (uint32_t i = 0; i < words; i++) {
		map[i] |= d[i];
		d[i] = 0;
	}
	/* Pages past the memory (ROM, MMIO) are never kept. */
	memset(d + words, 0, (PMEM_DIRTY_WORDS - words) * sizeof *d);
	cpu_tlb_drop_writes(root->cpu);
}

/* }====================================================================== */

/* }====================================================================== */
