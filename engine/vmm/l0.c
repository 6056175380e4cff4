/*
 * l0.c - the L0 monitor: the monitor core on the engine's CPU.
 *
 * The guest runs on the real (engine) CPU at CPL 3, with strict mode and
 * CPUID faulting on (unless --faithful-i386), IOPL 0, CR4.TSD, the shadow
 * root (or, with nested paging, its own CR3) and the shadow descriptor
 * tables, which the CPU reads physically (cpu->guest.dt_phys). Every event
 * the CPU would deliver comes to l0_event() instead (cpu->guest.event):
 * the real state is handed to vmm_trap() and the state it returns is
 * loaded back.
 *
 * Time: the guest's clock is the CPU's cycle counter, and it advances
 * exactly as on a bare machine: an instruction the monitor emulates costs
 * what the bare CPU would charge for it, a hidden fault costs nothing,
 * and the trap's own delivery is taken back. What the monitor's work
 * costs is modelled separately (the exit table of --stats), so a guest
 * sees the same time, and the same timer interrupts at the same
 * instructions, bare and under either monitor.
 */
#include "l0.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "x86.h"

#define DELIVERY_CYCLES 40  /* the CPU's cost of an exception delivery (docs/cpu.md) */
#define PF_CYCLES 20        /* ... and of raising a #PF */
#define STALL_LIMIT 100000  /* exits in a row at one EIP without progress */

/* Modelled cost of an exit, by reason: the IDT entry into the monitor and
 * the IRET back (as if the monitor were guest code), plus its work. */
#define EXIT_ROUND_TRIP 80
static const uint32_t exit_work[VMM_EXIT_COUNT] = {
	[VMM_EXIT_PRIV] = 60, [VMM_EXIT_IO] = 60, [VMM_EXIT_MMIO] = 120,
	[VMM_EXIT_PF_HIDDEN] = 150, [VMM_EXIT_PF_TRUE] = 120, [VMM_EXIT_PT_WRITE] = 200,
	[VMM_EXIT_EXCEPTION] = 100, [VMM_EXIT_INTR] = 80, [VMM_EXIT_HLT] = 40,
	[VMM_EXIT_NPF] = 120, [VMM_EXIT_DT_WRITE] = 200, [VMM_EXIT_NEST] = 120,
	[VMM_EXIT_RESV] = 120,
};

struct l0 {
	struct cpu *cpu;
	struct l0_config cfg;
	struct pmem *pmem;      /* where host-physical addresses live */
	struct vmm_host_ops ops;
	uint64_t overhead;      /* modelled monitor cycles */
	const char *stopped;
	FILE *trace;            /* one line per exit, or NULL */
	uint32_t stall_sig;     /* exits in a row that changed nothing of the guest's */
	uint32_t stalls;
	char stop_buf[256];     /* `stopped` after a restore */
	void (*exit_hook)(void *opaque, bool after); /* l0_set_exit_hook, or NULL */
	void *exit_opaque;
	struct vmm vm;          /* last: large */
};

/* {====== host operations ====== */

static uint8_t *host_page(struct l0 *l, uint32_t hpa)
{
	bool w;
	return pmem_page(l->pmem, hpa & ~(PMEM_PAGE_SIZE - 1), &w);
}

static void op_read(void *opaque, uint32_t hpa, void *buf, uint32_t len)
{
	struct l0 *l = opaque;
	uint8_t *dst = buf;
	while (len) {
		uint32_t off = hpa & (PMEM_PAGE_SIZE - 1), n = MIN(len, PMEM_PAGE_SIZE - off);
		uint8_t *p = host_page(l, hpa);
		if (p)
			memcpy(dst, p + off, n);
		else
			pmem_load(l->pmem, hpa, dst, n);
		dst += n;
		hpa += n;
		len -= n;
	}
}

static void op_write(void *opaque, uint32_t hpa, const void *buf, uint32_t len)
{
	struct l0 *l = opaque;
	const uint8_t *src = buf;
	if (hpa >= l->cfg.ram_base && hpa < l->cfg.ram_base + l->cfg.ram_size)
		cpu_invalidate_phys(l->cpu, hpa, len);
	while (len) {
		uint32_t off = hpa & (PMEM_PAGE_SIZE - 1), n = MIN(len, PMEM_PAGE_SIZE - off);
		uint8_t *p = host_page(l, hpa);
		if (p) {
			memcpy(p + off, src, n);
			pmem_mark_dirty(l->pmem, hpa, n);
		} else
			pmem_store(l->pmem, hpa, src, n);
		src += n;
		hpa += n;
		len -= n;
	}
}

static uint32_t op_io_in(void *opaque, uint16_t port, int size)
{
	struct l0 *l = opaque;
	return ioport_read(l->cfg.io, port, size);
}

static void op_io_out(void *opaque, uint16_t port, uint32_t val, int size)
{
	struct l0 *l = opaque;
	ioport_write(l->cfg.io, port, val, size);
}

static uint32_t op_mmio_read(void *opaque, uint32_t gpa, int size)
{
	struct l0 *l = opaque;
	return pmem_read(l->cfg.devmem, gpa, size);
}

static void op_mmio_write(void *opaque, uint32_t gpa, uint32_t val, int size)
{
	struct l0 *l = opaque;
	pmem_write(l->cfg.devmem, gpa, val, size);
}

static uint64_t op_cycles(void *opaque)
{
	struct l0 *l = opaque;
	return l->cpu->cycles;
}

static void op_cpuid(void *opaque, uint32_t leaf, uint32_t out[4])
{
	struct l0 *l = opaque;
	cpu_cpuid(l->cpu, leaf, out);
}

/* The VM's MSRs are the machine's CPU model's (every VM has the machine's
 * model); the kinds of model.h and of the core are the same list. */
static bool op_msr(void *opaque, uint32_t index, struct vmm_msr *out)
{
	struct l0 *l = opaque;
	int slot;
	const struct cpu_msr_def *d = cpu_model_msr(l->cpu->model, l->cpu->cpuid_edx, index, &slot);
	if (!d)
		return false;
	*out = (struct vmm_msr){ .slot = (uint16_t)slot, .kind = d->kind, .wmask = d->wmask, .rsvd = d->rsvd };
	return true;
}

_Static_assert(VMM_MSR_SLOTS == CPU_MSR_SLOTS, "the monitor keeps every MSR the CPU has");
_Static_assert((int)VMM_MSR_STORE == (int)MSR_KIND_STORE && (int)VMM_MSR_TSC == (int)MSR_KIND_TSC &&
               (int)VMM_MSR_APIC_BASE == (int)MSR_KIND_APIC_BASE &&
               (int)VMM_MSR_NESTLAB == (int)MSR_KIND_NESTLAB && (int)VMM_MSR_RO == (int)MSR_KIND_RO,
               "one list of MSR kinds");

static void op_apic_base(void *opaque, uint64_t value)
{
	struct l0 *l = opaque;
	if (l->cpu->bus.apic_base_written)
		l->cpu->bus.apic_base_written(l->cpu->bus.opaque, value);
}

/* }====================================================================== */

/* {====== real state in and out ====== */

static void seg_in(struct vmm_seg *d, const struct seg *s)
{
	*d = (struct vmm_seg){ s->sel, s->attr, s->base, s->limit };
}

static void seg_out(struct seg *d, const struct vmm_seg *s)
{
	*d = (struct seg){ s->sel, s->attr, s->base, s->limit };
}

static void regs_in(const struct cpu *c, struct vmm_regs *r)
{
	memset(r, 0, sizeof *r);
	memcpy(r->r, c->r, sizeof r->r);
	r->eip = c->eip;
	r->eflags = c->eflags;
	for (int s = 0; s < VMM_NSEG; s++)
		seg_in(&r->seg[s], &c->seg[s]);
	r->cr0 = c->cr0;
	r->cr3 = c->cr3;
	r->cr4 = c->cr4;
	r->gdtr = (struct vmm_dtr){ c->gdtr.base, c->gdtr.limit };
	seg_in(&r->ldtr, &c->ldtr);
}

/* Loads what the core changed into the CPU. */
static void regs_out(struct l0 *l, const struct vmm_regs *r)
{
	struct cpu *c = l->cpu;
	memcpy(c->r, r->r, sizeof c->r);
	c->eip = r->eip;
	cpu_set_eflags(c, (r->eflags & ~EFLAGS_IOPL) | EFLAGS_1); /* VM: the guest's v86 code */
	for (int s = 0; s < VMM_NSEG; s++)
		if (r->dirty & VMM_DIRTY_SEG(s))
			seg_out(&c->seg[s], &r->seg[s]);
	/* The guest mode the core chose: its guest's (ring compression: in the
	 * kernel view the guest's data-segment loads trap, to be checked
	 * against its own CPL and the descriptor's own DPL; in the user view
	 * the shadow is exact), or its guest's guest's (nest.c). */
	bool mode_changed = c->guest.nested != r->mode.nested ||
	                    c->guest.npt_root != r->mode.npt_root;
	c->guest.vcpl = r->mode.vcpl;
	c->guest.nested = r->mode.nested;
	c->guest.npt_root = r->mode.npt_root;
	c->msr_nestlab_ctl = r->mode.ctl;
	if (r->dirty & VMM_DIRTY_CTL) {
		c->cr0 = r->cr0;
		c->cr3 = r->cr3;
		c->cr4 = r->cr4;
		c->gdtr = (struct dtr){ r->gdtr.base, r->gdtr.limit };
		seg_out(&c->ldtr, &r->ldtr);
	}
	if (mode_changed || (r->dirty & (VMM_DIRTY_CTL | VMM_DIRTY_SEG(VMM_CS) | VMM_DIRTY_SEG(VMM_SS))))
		cpu_state_changed(c); /* also flushes the TLB */
	else if (r->dirty & (VMM_DIRTY_TLB | VMM_DIRTY_INVLPG))
		cpu_tlb_flush(c);
	else
		for (int s = 0; s < VMM_NSEG; s++)
			if (r->dirty & VMM_DIRTY_SEG(s))
				cpu_seg_loaded(c, s);
	if (r->halt)
		c->halted = true;
}

/* }====================================================================== */

/* {====== the trap ====== */

/* What a bare CPU charges for the emulated instruction. */
static uint64_t insn_cost(const struct l0 *l, const struct vmm_result *res)
{
	struct insn in;
	bool code32 = (l->cpu->seg[SEG_CS].attr & DESC_DB) != 0;
	if (!res->insn_len || cpu_decode(res->insn, res->insn_len, code32, &in) <= 0)
		return 1;
	return in.cost;
}

static void account(struct l0 *l, int vec, unsigned flags, const struct vmm_result *res)
{
	struct cpu *c = l->cpu;
	bool exc = !(flags & (CPU_EV_SOFT | CPU_EV_EXT));
	if (exc) {
		if (res->reason == VMM_EXIT_PF_TRUE)
			c->cycles += DELIVERY_CYCLES + PF_CYCLES;
		else if (res->reason == VMM_EXIT_EXCEPTION)
			c->cycles += DELIVERY_CYCLES;
	}
	c->cycles += (int64_t)res->charged_cycles;
	if (res->retired) {
		c->icount++;
		c->cycles += insn_cost(l, res) + res->extra_cycles;
	}
	uint32_t cost = EXIT_ROUND_TRIP + exit_work[res->reason];
	l->vm.stats.exit_cycles[res->reason] += cost;
	l->overhead += cost;
}

static void l0_event(void *opaque, struct cpu *c, int vec, int err, unsigned flags)
{
	struct l0 *l = opaque;
	struct vmm_regs r;
	regs_in(c, &r);
	uint32_t cr2 = c->cr2;
	uint32_t eip = c->eip;
	/* Take back what the CPU charged for the trap's delivery before the
	 * monitor's work reads the clock (an emulated IN from a timer): the
	 * guest never saw that delivery. account() charges what it did see. */
	if (!(flags & (CPU_EV_SOFT | CPU_EV_EXT)))
		c->cycles -= DELIVERY_CYCLES + (vec == 14 || vec == CPU_VEC_NPF ? PF_CYCLES : 0);
	if (l->exit_hook)
		l->exit_hook(l->exit_opaque, false);
	struct vmm_result res = vmm_trap(&l->vm, &r, vec, err, flags, cr2, c->guest.npf_gpa);
	if (l->trace)
		fprintf(l->trace, "exit %" G_GUINT64_FORMAT ": vec %d err %#x flags %u eip %08x cr2 %08x "
		        "-> %s%s eip %08x cpl %d%s%s\n", c->icount, vec, err, flags, eip, cr2,
		        vmm_exit_name(res.reason), res.retired ? " (retired)" : "", r.eip,
		        l->vm.vcpu.cpl, res.stop ? " STOP: " : "", res.stop ? res.why : "");
	regs_out(l, &r);
	/* The guest's IRET, emulated, ends the NMI blocking the CPU began when
	 * it delivered an NMI to the monitor for the guest (SDM Vol. 3A, 6.7.1). */
	if (res.retired && res.op == 0xcf)
		c->in_nmi = false;
	int shadow = vmm_intr_shadow(&res, flags);
	if (shadow >= 0)
		c->intr_shadow = (uint8_t)shadow;
	account(l, vec, flags, &res);
	if (l->exit_hook)
		l->exit_hook(l->exit_opaque, true);
	/* A guard against a monitor bug that would hang the host: the same
	 * instruction trapping again and again, each time resolved without
	 * the guest moving on (same EIP, same registers). (A guest cannot make this happen: a fault it
	 * sees is delivered, and delivery changes EIP.) */
	uint32_t sig = c->eip;
	for (int i = 0; i < 8; i++)
		sig = sig * 31u + c->r[i];
	if (!res.retired && !res.stop && c->eip == eip && !(flags & CPU_EV_EXT)) {
		l->stalls = l->stall_sig == sig ? l->stalls + 1 : 1;
		l->stall_sig = sig;
		if (l->stalls > STALL_LIMIT) {
			res.stop = true;
			res.why = "the monitor made no progress at one instruction (a monitor bug: "
			          "please report it with the guest)";
		}
	} else {
		l->stalls = 0;
	}
	if (res.stop) {
		l->stopped = res.why;
		c->guest.on = false;
		cpu_request_stop(c);
	}
	if (res.refault) {
		if (res.refault_vec == 14) { /* as the CPU's own page walk would */
			c->cr2 = res.refault_cr2;
			c->cycles += PF_CYCLES;
		}
		cpu_fault(c, res.refault_vec, res.refault_err);
	}
}

void l0_set_exit_hook(struct l0 *l, void (*fn)(void *opaque, bool after), void *opaque)
{
	l->exit_hook = fn;
	l->exit_opaque = opaque;
}

/* }====================================================================== */

/* {====== starting ====== */

static void vcpu_from(const struct cpu *c, struct vmm_vcpu *v)
{
	*v = (struct vmm_vcpu){
		.cr0 = c->cr0, .cr2 = c->cr2, .cr3 = c->cr3, .cr4 = c->cr4,
		.vflags = c->eflags & EFLAGS_IOPL, .cpl = c->cpl,
		.cs_sel = c->seg[SEG_CS].sel, .ss_sel = c->seg[SEG_SS].sel,
		.gdtr = { c->gdtr.base, c->gdtr.limit }, .idtr = { c->idtr.base, c->idtr.limit },
		.msr_apic_base = c->msr_apic_base, .tsc_offset = c->tsc,
	};
	seg_in(&v->ldtr, &c->ldtr);
	seg_in(&v->tr, &c->tr);
	memcpy(v->dr, c->dr, sizeof v->dr);
	memcpy(v->msr, c->msr, sizeof v->msr); /* the MSRs as the guest left them bare */
}

/* The monitor object without a guest yet: its host operations. */
static struct l0 *l0_new(struct cpu *cpu, const struct l0_config *cfg)
{
	struct l0 *l = g_new0(struct l0, 1);
	l->cpu = cpu;
	l->cfg = *cfg;
	l->pmem = cfg->hostmem;
	if (g_getenv("NESTLAB_TRACE_EXITS"))
		l->trace = stderr;
	l->ops = (struct vmm_host_ops){
		.opaque = l, .read = op_read, .write = op_write, .io_in = op_io_in,
		.io_out = op_io_out, .mmio_read = op_mmio_read, .mmio_write = op_mmio_write,
		.cycles = op_cycles, .cpuid = op_cpuid, .apic_base = op_apic_base, .msr = op_msr,
	};
	return l;
}

struct l0 *l0_attach(struct cpu *cpu, const struct l0_config *cfg)
{
	struct l0 *l = l0_new(cpu, cfg);
	l->vm.ops = &l->ops;
	return l;
}

struct l0 *l0_start(struct cpu *cpu, const struct l0_config *cfg, const char **why)
{
	struct l0 *l = l0_new(cpu, cfg);
	struct vmm_vcpu entry;
	vcpu_from(cpu, &entry);
	uint16_t sel[VMM_NSEG];
	for (int s = 0; s < VMM_NSEG; s++)
		sel[s] = cpu->seg[s].sel;
	struct vmm_regs r;
	regs_in(cpu, &r);
	r.dirty = 0;
	if (cpu->cpl != 0 || !(cpu->cr0 & CR0_PE) || (cpu->eflags & EFLAGS_VM)) {
		*why = "the monitor starts guests in protected mode at CPL 0 (a multiboot kernel or flat binary)";
		g_free(l);
		return NULL;
	}
	if (!vmm_init(&l->vm, &l->ops, cfg->paging, cfg->faithful, cfg->ram_base, cfg->ram_size,
	              cfg->mon_base, cfg->mon_pages, &entry, sel, cfg->from_real_mode, &r)) {
		*why = l->vm.stop_why;
		g_free(l);
		return NULL;
	}
	l->vm.assist = cfg->assist && cfg->paging == VMM_NESTED;
	if (cfg->rom_size && !vmm_map_rom(&l->vm, cfg->rom_base, cfg->rom_size)) {
		*why = "the monitor has too few pages to map the ROM";
		g_free(l);
		return NULL;
	}
	r.dirty |= VMM_DIRTY_CTL;
	for (int s = 0; s < VMM_NSEG; s++)
		r.dirty |= VMM_DIRTY_SEG(s);
	cpu->guest = (struct cpu_guest){
		.on = true, .dt_phys = true, .nested = cfg->paging == VMM_NESTED,
		.vcpl = 0, .npt_root = l->vm.npt_root, .event = l0_event, .opaque = l,
	};
	cpu->cpl = 3;
	cpu->tr = (struct seg){ 0 }; /* no real TSS: port access always traps */
	cpu->msr_nestlab_ctl = 0;
	r.vcpl = 0;
	regs_out(l, &r);
	cpu_state_changed(cpu);
	return l;
}

void l0_free(struct l0 *l)
{
	if (!l)
		return;
	l->cpu->guest.on = false;
	vmm_destroy(&l->vm);
	g_free(l);
}

/* }====================================================================== */

/* {====== what front ends read ====== */

const char *l0_stopped(const struct l0 *l)
{
	return l->stopped;
}

void l0_guest_regs(const struct l0 *l, struct l0_guest_regs *out)
{
	const struct cpu *c = l->cpu;
	const struct vmm_vcpu *v = &l->vm.vcpu;
	memcpy(out->r, c->r, sizeof out->r);
	out->eip = c->eip;
	out->eflags = vmm_guest_eflags(&l->vm, cpu_get_eflags((struct cpu *)c));
	for (int s = 0; s < 6; s++) {
		out->sel[s] = c->seg[s].sel;
		out->seg_base[s] = c->seg[s].base;
		out->seg_limit[s] = c->seg[s].limit;
	}
	if (!(c->eflags & EFLAGS_VM)) { /* in v86 mode the real selectors are the guest's */
		out->sel[SEG_CS] = v->cs_sel;
		out->sel[SEG_SS] = v->ss_sel;
	}
	out->cr0 = v->cr0;
	out->cr2 = v->cr2;
	out->cr3 = v->cr3;
	out->cr4 = v->cr4;
	out->gdt_base = v->gdtr.base;
	out->gdt_limit = v->gdtr.limit;
	out->idt_base = v->idtr.base;
	out->idt_limit = v->idtr.limit;
	out->ldtr = v->ldtr.sel;
	out->tr = v->tr.sel;
	out->cpl = v->cpl;
}

/* {====== snapshots ====== */

/* The saved form: the core's state (host pointers left out) and the glue's. */
struct l0_image {
	uint32_t magic, size;
	uint64_t overhead;
	uint32_t stall_sig, stalls;
	char stopped[256];
};

#define L0_IMAGE_MAGIC 0x4c30534eu /* "NS0L" */

void l0_save(const struct l0 *l, GByteArray *out)
{
	struct l0_image img = { .magic = L0_IMAGE_MAGIC, .size = (uint32_t)sizeof l->vm,
	                        .overhead = l->overhead, .stall_sig = l->stall_sig,
	                        .stalls = l->stalls };
	if (l->stopped)
		g_strlcpy(img.stopped, l->stopped, sizeof img.stopped);
	g_byte_array_append(out, (const guint8 *)&img, sizeof img);
	struct vmm v = l->vm;
	v.ops = NULL;
	v.stop_why = NULL;
	g_byte_array_append(out, (const guint8 *)&v, sizeof v);
}

bool l0_restore(struct l0 *l, const uint8_t *buf, size_t len)
{
	struct l0_image img;
	if (len != sizeof img + sizeof l->vm)
		return false;
	memcpy(&img, buf, sizeof img);
	if (img.magic != L0_IMAGE_MAGIC || img.size != sizeof l->vm)
		return false;
	memcpy(&l->vm, buf + sizeof img, sizeof l->vm);
	l->vm.ops = &l->ops;
	l->overhead = img.overhead;
	l->stall_sig = img.stall_sig;
	l->stalls = img.stalls;
	img.stopped[sizeof img.stopped - 1] = 0;
	g_strlcpy(l->stop_buf, img.stopped, sizeof l->stop_buf);
	l->stopped = l->stop_buf[0] ? l->stop_buf : NULL;
	return true;
}

void l0_bind_guest(struct l0 *l, struct cpu_guest *g)
{
	g->event = l0_event;
	g->opaque = l;
}

/* }====================================================================== */

const struct vmm_stats *l0_stats(const struct l0 *l)
{
	return &l->vm.stats;
}

uint64_t l0_overhead_cycles(const struct l0 *l)
{
	return l->overhead;
}

const struct vmm *l0_vmm(const struct l0 *l)
{
	return &l->vm;
}

/* }====================================================================== */
