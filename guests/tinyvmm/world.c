/*
 * guests/tinyvmm/world.c - tinyvmm's trap path without the assist: the
 * guest runs deprivileged on the CPU itself and its traps arrive through
 * tinyvmm's own IDT, as in a VMM for a CPU without virtualization support
 * (docs/monitor.md, section 8, "The faithful trap path").
 *
 * Two worlds share the CPU. tinyvmm's own: paging on with its page
 * directory `host_pd` (all of the 4 GiB identity-mapped with 4 MiB pages,
 * but for the reserved slot), ring 0, interrupts off. The guest's: the
 * shadow CR3, the shadow GDT/LDT of the current view, MSR_NESTLAB_CTL as
 * the core asks, the guest at real CPL 3. In both, the reserved 4 MiB slot
 * of linear space (slot=K: TV_RESV_TOP - K * 4 MiB) holds, supervisor-only:
 *
 *   resv + 0x00000   the core's shadow GDT, kernel view (16 pages)
 *   resv + 0x10000   ... user view
 *   resv + 0x20000   the shadow LDT, kernel view
 *   resv + 0x30000   ... user view
 *   resv + 0x40000   world.asm's block: entry stubs, IDT, TSS, trap stack
 *
 * and five GDT entries of both shadow GDTs (from TV_GDT_TOP - 8K) are
 * tinyvmm's ring-0 code and data, its TSS and the two LDTs. world_to_guest() loads what the core
 * chose and IRETs; world_from_guest() turns what the trap saved back into
 * the core's struct vmm_regs and event, exactly as the assist's run block
 * and l0.c feed vmm_trap().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "assist.h"
#include "rt.h"
#include "tinyvmm.h"
#include "vmm.h"

/* tinyvmm's selectors: its reserved GDT entries, in this order. */
enum { MON_CS, MON_DS, MON_TSS, MON_LDT_K, MON_LDT_U };

#define RESV_GDT_K 0x00000u
#define RESV_GDT_U 0x10000u
#define RESV_LDT_K 0x20000u
#define RESV_LDT_U 0x30000u
#define RESV_BLOCK 0x40000u
#define DT_PAGES 16

#define VEC_DB 1
#define VEC_NMI_ 2
#define VEC_BP 3
#define VEC_OF 4
#define VEC_PF 14
#define VEC_FIRST_IRQ 32
#define EV_SOFT 1u /* vmm_trap's flags: CPU_EV_SOFT, CPU_EV_EXT */
#define EV_EXT 2u

/* {====== world.asm ====== */

/* What the stubs save: the PUSHA block, the vector, the error code (or
 * -1), the CPU's frame from ring 3 (and the v86 data segments). */
struct wregs {
	uint32_t edi, esi, ebp, esp0, ebx, edx, ecx, eax;
	uint32_t vec, err;
	uint32_t eip, cs, eflags, esp, ss;
	uint32_t v86_es, v86_ds, v86_fs, v86_gs;
};

/* The guest's trap frame on the trap stack: its data segments, then the rest. */
struct wframe {
	uint32_t gs, fs, es, ds;
	struct wregs r;
};

#define FRAME_V86 sizeof(struct wframe)
#define FRAME_PM (sizeof(struct wframe) - 16)

extern char world_start[], world_end[], world_stubs[], world_stack_top[];
extern void world_enter(uint32_t frame, uint32_t cr3);
extern uint64_t world_idt[256];
extern uint32_t world_tss[26];
extern uint32_t world_host_cr3, world_frame, world_flat_ds, world_flat_es;
extern void (*world_host_event)(struct wregs *);

/* }====================================================================== */

static struct vmm *vm;
static uint32_t resv;        /* the reserved slot's linear base */
static uint16_t gdt_first;   /* ... and its first GDT entry */
static uint32_t delta;       /* world.asm's block: reserved-range address - own address */
static uint32_t host_pd[1024] __attribute__((aligned(4096)));
static uint32_t resv_pt[1024] __attribute__((aligned(4096)));

/* What the CPU holds now (to skip loads that change nothing). */
static struct {
	uint32_t cr0, cr4, ctl, gdt;
	uint16_t ldt;
} cur;
/* The segment caches the guest was entered with (not in v86 mode). */
static struct vmm_seg entered[VMM_NSEG];
static bool entered_v86;

static volatile int pending_irq = -1; /* an interrupt that came while tinyvmm waited */

static uint16_t sel(int which)
{
	return (uint16_t)((gdt_first + which) << 3);
}

static uint32_t lin(const void *p)
{
	return (uint32_t)(uintptr_t)p + delta;
}

/* {====== events of tinyvmm itself ====== */

/* An event at CPL 0: an NMI or an interrupt (the guest's: held for it), or
 * a fault of tinyvmm's own code, which ends the run with what it was. */
static void host_event(struct wregs *f)
{
	if (f->vec == VEC_NMI_) {
		tv_nmi_pending = true;
		return;
	}
	if (f->vec >= VEC_FIRST_IRQ) {
		pending_irq = (int)f->vec;
		f->eflags &= ~EFLAGS_IF; /* one at a time: back in tinyvmm with interrupts off */
		return;
	}
	tv_die("fault %u (error code 0x%x) in tinyvmm itself at 0x%x, CR2 0x%x", (unsigned)f->vec,
	       (unsigned)f->err, (unsigned)f->eip, (unsigned)read_cr2());
}

/* }====================================================================== */

/* {====== setting up the two worlds ====== */

static void map_pages(uint32_t slot_off, uint32_t phys, uint32_t pages)
{
	for (uint32_t i = 0; i < pages; i++)
		resv_pt[(slot_off >> 12) + i] = (phys + i * 4096u) | PTE_P | PTE_W | PTE_A | PTE_D;
}

static void build_tables(void)
{
	for (uint32_t i = 0; i < 1024; i++)
		host_pd[i] = (i << 22) | PTE_P | PTE_W | PTE_PS | PTE_A | PTE_D;
	host_pd[resv >> 22] = (uint32_t)(uintptr_t)resv_pt | PTE_P | PTE_W | PTE_A;
	map_pages(RESV_GDT_K, vm->gdt_k, DT_PAGES);
	map_pages(RESV_GDT_U, vm->gdt_u, DT_PAGES);
	map_pages(RESV_LDT_K, vm->ldt_k, DT_PAGES);
	map_pages(RESV_LDT_U, vm->ldt_u, DT_PAGES);
	uint32_t block = (uint32_t)(uintptr_t)world_start;
	map_pages(RESV_BLOCK, block, (uint32_t)(world_end - world_start) / 4096u);
	delta = resv + RESV_BLOCK - block;
	world_host_cr3 = (uint32_t)(uintptr_t)host_pd;
	world_host_event = host_event;
	for (int v = 0; v < 256; v++) {
		uint32_t off = lin(world_stubs) + (uint32_t)v * 16u;
		/* INT3 and INTO reach their gates from the guest (their events are
		 * the guest's INT3/INTO); every other vector's gate is DPL 0, and
		 * INT n traps anyway in strict mode. */
		uint8_t type = (v == VEC_BP || v == VEC_OF) ? 0xEE : 0x8E;
		world_idt[v] = (uint64_t)(off & 0xffff) | (uint64_t)sel(MON_CS) << 16 |
		               (uint64_t)type << 40 | (uint64_t)(off >> 16) << 48;
	}
	memset(world_tss, 0, sizeof world_tss[0] * 26);
	world_tss[1] = lin(world_stack_top); /* ESP0 */
	world_tss[2] = sel(MON_DS);          /* SS0 */
	world_tss[25] = 104u << 16;          /* no I/O bitmap: every port traps at CPL 3 */
}

static void reserve(struct vmm_regs *r)
{
	struct vmm_resv rv = { .base = resv, .pde = (uint32_t)(uintptr_t)resv_pt | PTE_P | PTE_W | PTE_A,
	                       .gdt_first = gdt_first };
	rv.desc[0] = rt_make_desc(0, 0xfffff, 0x9b, 0xc);            /* ring-0 code */
	rv.desc[1] = rt_make_desc(0, 0xfffff, 0x93, 0xc);            /* ring-0 data */
	rv.desc[2] = rt_make_desc(lin(world_tss), 103, 0x89, 0);     /* TSS */
	rv.desc[3] = rt_make_desc(resv + RESV_LDT_K, 0xffff, 0x82, 0); /* the LDTs */
	rv.desc[4] = rt_make_desc(resv + RESV_LDT_U, 0xffff, 0x82, 0);
	if (!vmm_reserve(vm, &rv, r))
		tv_die("cannot reserve the linear range at 0x%x for itself", (unsigned)resv);
}

static uint32_t resv_of_table(uint32_t hpa)
{
	return hpa == vm->gdt_u ? resv + RESV_GDT_U : resv + RESV_GDT_K;
}

static void load_gdt(uint32_t base)
{
	struct __attribute__((packed)) { uint16_t limit; uint32_t base; } d = { 0xffff, base };
	__asm__ volatile("lgdt %0" : : "m"(d) : "memory");
	cur.gdt = base;
}

/* tinyvmm's own world from now on: paging with host_pd, its segments in
 * the shadow GDT's reserved entries, its IDT and TSS. */
static void enter_own_world(const struct vmm_regs *r)
{
	write_cr4(read_cr4() | CR4_PSE);
	write_cr3((uint32_t)(uintptr_t)host_pd);
	write_cr0(read_cr0() | CR0_PG);
	load_gdt(resv_of_table(r->gdtr.base));
	__asm__ volatile("pushl %0\n\tpushl $1f\n\tlret\n1:\n\t"
	                 "mov %1, %%ds\n\tmov %1, %%es\n\tmov %1, %%ss\n\t"
	                 "mov %1, %%fs\n\tmov %1, %%gs"
	                 : : "r"((uint32_t)sel(MON_CS)), "r"((uint32_t)sel(MON_DS)) : "memory");
	struct __attribute__((packed)) { uint16_t limit; uint32_t base; } idt = {
		sizeof(uint64_t) * 256 - 1, lin(world_idt)
	};
	__asm__ volatile("lidt %0\n\tltr %w1" : : "m"(idt), "r"(sel(MON_TSS)) : "memory");
	cur.cr0 = read_cr0();
	cur.cr4 = read_cr4();
	cur.ctl = 0;
	cur.ldt = 0;
}

/* }====================================================================== */

/* {====== the world switch ====== */

static struct wframe *frame_at(uint32_t lin_addr)
{
	return (struct wframe *)(uintptr_t)(lin_addr - delta);
}

/* The guest's segment cache for selector `sel` after a trap: what it was
 * entered with if the selector is the same, else the shadow descriptor the
 * CPU loaded it from (the shadows change only while tinyvmm runs). */
static struct vmm_seg seg_after(const struct vmm_regs *r, int s, uint16_t sel, bool v86)
{
	if (v86)
		return (struct vmm_seg){ sel, DESC_P | DESC_S | DESC_DPL | DESC_TYPE_W | DESC_TYPE_A,
		                         (uint32_t)sel << 4, 0xffff };
	if (sel == entered[s].sel && !entered_v86)
		return entered[s];
	if (!(sel & 0xfffc))
		return (struct vmm_seg){ .sel = sel };
	uint32_t t = (sel & 4) ? r->ldtr.base : r->gdtr.base;
	const uint32_t *d = (const uint32_t *)(uintptr_t)(t + (sel & 0xfff8u));
	uint32_t lo = d[0], hi = d[1];
	uint16_t attr = (uint16_t)((hi >> 8) & 0xf0ff);
	uint32_t lim = (lo & 0xffff) | (hi & 0xf0000);
	return (struct vmm_seg){ sel, attr, (lo >> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000u),
	                         (attr & DESC_G) ? (lim << 12) | 0xfff : lim };
}

/* The selector of segment `s` if tinyvmm's own code can use it as it is
 * (present writable data, base 0, limit 4 GiB, expand-up), else ~0. */
static uint32_t flat_data(const struct vmm_seg *s, bool v86)
{
	uint16_t want = DESC_P | DESC_S | DESC_TYPE_W, mask = want | DESC_TYPE_CODE | DESC_TYPE_E;
	if (v86 || !(s->sel & 0xfffc) || (s->attr & mask) != want || s->base || s->limit != ~0u)
		return ~0u;
	return s->sel;
}

/*
 * The world switch to the guest: the guest's CR0, CR4, MSR_NESTLAB_CTL,
 * shadow GDT and LDT as the core chose, its segments' shadow entries,
 * then the shadow CR3 and an IRET to the guest at CPL 3 (or in v86 mode).
 * `step`: enter with interrupts held and TF set, for the interrupt shadow
 * of an emulated STI or MOV SS (the #DB after one instruction ends it).
 * Returns when the guest traps.
 */
static void world_to_guest(const struct vmm_regs *r, bool step)
{
	uint32_t cr4 = r->cr4 | CR4_PSE;
	if (r->cr0 != cur.cr0)
		write_cr0(cur.cr0 = r->cr0);
	if (cr4 != cur.cr4)
		write_cr4(cur.cr4 = cr4);
	if (r->mode.ctl != cur.ctl)
		wrmsr(MSR_NESTLAB_CTL, cur.ctl = r->mode.ctl);
	if (resv_of_table(r->gdtr.base) != cur.gdt)
		load_gdt(resv_of_table(r->gdtr.base));
	uint16_t ldt = !(r->ldtr.sel & 0xfffc) ? 0 : sel(r->ldtr.base == vm->ldt_u ? MON_LDT_U : MON_LDT_K);
	if (ldt != cur.ldt) {
		__asm__ volatile("lldt %w0" : : "r"(ldt) : "memory");
		cur.ldt = ldt;
	}
	vmm_install_segments(vm, r);
	bool v86 = (r->eflags & EFLAGS_VM) != 0;
	uint32_t at = lin(world_stack_top) - (uint32_t)(v86 ? FRAME_V86 : FRAME_PM);
	struct wframe *f = frame_at(at);
	f->r = (struct wregs){
		.edi = r->r[VMM_EDI], .esi = r->r[VMM_ESI], .ebp = r->r[VMM_EBP],
		.ebx = r->r[VMM_EBX], .edx = r->r[VMM_EDX], .ecx = r->r[VMM_ECX], .eax = r->r[VMM_EAX],
		.eip = r->eip, .cs = r->seg[VMM_CS].sel, .esp = r->r[VMM_ESP], .ss = r->seg[VMM_SS].sel,
		.eflags = step ? (r->eflags & ~EFLAGS_IF) | EFLAGS_TF : r->eflags,
	};
	if (v86) {
		f->gs = f->fs = f->es = f->ds = 0;
		f->r.v86_es = r->seg[VMM_ES].sel;
		f->r.v86_ds = r->seg[VMM_DS].sel;
		f->r.v86_fs = r->seg[VMM_FS].sel;
		f->r.v86_gs = r->seg[VMM_GS].sel;
	} else {
		f->gs = r->seg[VMM_GS].sel;
		f->fs = r->seg[VMM_FS].sel;
		f->es = r->seg[VMM_ES].sel;
		f->ds = r->seg[VMM_DS].sel;
	}
	for (int s = 0; s < VMM_NSEG; s++)
		entered[s] = r->seg[s];
	entered_v86 = v86;
	world_flat_ds = flat_data(&r->seg[VMM_DS], v86);
	world_flat_es = flat_data(&r->seg[VMM_ES], v86);
	abi_child_running(1); /* the introspection ABI: the guest runs from here */
	((void (*)(uint32_t, uint32_t))(uintptr_t)lin((const void *)world_enter))(at, r->cr3);
}

/*
 * The trap entry, after world_to_guest() returned: the guest's state from
 * the trap frame into `r` (what the core had in it stays: control
 * registers, descriptor-table registers), and the event as vmm_trap()
 * takes it. `step` as given to world_to_guest: the guest's IF is its own
 * again (and the #DB that ends the step is tinyvmm's: *vec = -1).
 */
static void world_from_guest(struct vmm_regs *r, bool step, uint32_t guest_if, int *vec,
                             int *err, unsigned *flags, uint32_t *cr2)
{
	abi_child_stopped(); /* ... and has stopped, first thing after the trap */
	const struct wframe *f = frame_at(world_frame);
	bool v86 = (f->r.eflags & EFLAGS_VM) != 0;
	r->r[VMM_EAX] = f->r.eax;
	r->r[VMM_ECX] = f->r.ecx;
	r->r[VMM_EDX] = f->r.edx;
	r->r[VMM_EBX] = f->r.ebx;
	r->r[VMM_ESP] = f->r.esp;
	r->r[VMM_EBP] = f->r.ebp;
	r->r[VMM_ESI] = f->r.esi;
	r->r[VMM_EDI] = f->r.edi;
	r->eip = f->r.eip;
	r->eflags = f->r.eflags;
	if (step)
		r->eflags = (r->eflags & ~(EFLAGS_IF | EFLAGS_TF)) | guest_if;
	uint16_t sel[VMM_NSEG] = {
		[VMM_ES] = (uint16_t)(v86 ? f->r.v86_es : f->es), [VMM_CS] = (uint16_t)f->r.cs,
		[VMM_SS] = (uint16_t)f->r.ss, [VMM_DS] = (uint16_t)(v86 ? f->r.v86_ds : f->ds),
		[VMM_FS] = (uint16_t)(v86 ? f->r.v86_fs : f->fs),
		[VMM_GS] = (uint16_t)(v86 ? f->r.v86_gs : f->gs),
	};
	for (int s = 0; s < VMM_NSEG; s++)
		r->seg[s] = seg_after(r, s, sel[s], v86);
	*vec = (int)f->r.vec;
	*err = (int)f->r.err;
	*flags = *vec == VEC_NMI_ || *vec >= VEC_FIRST_IRQ ? EV_EXT
	       : *vec == VEC_BP || *vec == VEC_OF ? EV_SOFT : 0;
	*cr2 = *vec == VEC_PF ? read_cr2() : 0;
	if (step && *vec == VEC_DB)
		*vec = -1;
}

/* }====================================================================== */

/* {====== the run loop ====== */

/* The guest halted: wait for an interrupt (only an NMI if its IF is off). */
static int wait_for_interrupt(const struct vmm_regs *r)
{
	pending_irq = -1;
	while (pending_irq < 0 && !tv_nmi_pending) {
		if (r->eflags & EFLAGS_IF)
			sti_hlt();
		else
			hlt();
		cli();
	}
	return pending_irq;
}

_Noreturn void tv_world_run(struct vmm *v, struct vmm_regs *r, unsigned slot)
{
	vm = v;
	resv = TV_RESV_TOP - slot * VMM_RESV_SIZE;
	gdt_first = (uint16_t)(TV_GDT_TOP - slot * 8);
	build_tables();
	reserve(r);
	enter_own_world(r);
	uint64_t exits = 0;
	bool shadow = false;
	for (;;) {
		int vec = -1, err = -1;
		unsigned flags = 0;
		uint32_t cr2 = 0;
		if (tv_nmi_pending) {
			tv_nmi_pending = false;
			vec = VEC_NMI_;
			flags = EV_EXT;
		} else if (r->halt) {
			vec = wait_for_interrupt(r);
			if (vec < 0)
				continue; /* the NMI: taken above */
			flags = EV_EXT;
		} else {
			bool step = shadow && (r->eflags & EFLAGS_IF);
			world_to_guest(r, step);
			world_from_guest(r, step, r->eflags & EFLAGS_IF, &vec, &err, &flags, &cr2);
			shadow = false;
			if (vec < 0)
				continue; /* the instruction after STI ran: interrupts are open again */
		}
		for (;;) {
			exits++;
			struct vmm_result res = vmm_trap(vm, r, vec, err, flags, cr2, 0);
			if (res.stop) {
				rt_printf("tinyvmm: the guest stopped after %u exits: %s\n", (unsigned)exits,
				          res.why);
				rt_exit(0x7f);
			}
			shadow = res.intr_shadow;
			if (!res.refault)
				break;
			/* the fault the emulated instruction raises: the next trap */
			vec = res.refault_vec;
			err = res.refault_err;
			flags = 0;
			cr2 = res.refault_cr2;
		}
	}
}

/* }====================================================================== */
