/*
 * guests/tinyvmm - a guest hypervisor: the monitor core (libvmmcore.a, the
 * same source as the engine's L0 monitor) as a multiboot kernel.
 *
 * It runs the multiboot kernel handed to it as its first module (the
 * module's string is that kernel's command line; further modules are the
 * kernel's own) under trap-and-emulate with shadow paging, or nested
 * paging with `paging=nested` on its own command line. By default
 * (`trap=faithful`) the guest runs deprivileged on the CPU itself and its
 * traps come through tinyvmm's own IDT (world.c); with `trap=assist` it
 * enters the guest with the CPU's run-guest operation (docs/cpu.md, "The
 * assist": nestlab-run --assist), which nested paging needs. It gives the
 * guest the PC's devices directly: its ports, its
 * interrupts, the pages above its RAM (local APIC, I/O APIC), and the
 * PC's BIOS data area and MP table copied into its low memory. Its RAM is
 * a share of tinyvmm's own (`mem=MIB`, default 32): guest-physical p is
 * tinyvmm-physical base + p. docs/monitor.md, "tinyvmm", says what is left.
 *
 * tinyvmm itself runs at ring 0, interrupts off (with the assist: paging
 * off; every interrupt reaches it as an exit of its guest).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "assist.h"
#include "rt.h"
#include "tinyvmm.h"
#include "vmm.h"

#define MIB (1024u * 1024u)
#define GUEST_GDT 0x500u       /* the loader's flat GDT, as nestlab-run's */
#define GUEST_INFO 0x1000u     /* multiboot information, command lines, module list */
#define GUEST_INFO_END 0x7000u
#define GUEST_STACK 0x7000u    /* ESP at entry, as nestlab-run's loader */
#define GUEST_LOW_END 0x100000u

static struct vmm vm;
static struct nl_run run __attribute__((aligned(0x200)));
volatile bool tv_nmi_pending; /* an NMI came while tinyvmm itself ran: the guest's */

/* tinyvmm runs with interrupts off, but an NMI comes anyway (a guest's
 * self-NMI through the pass-through local APIC can land after its exit):
 * it is the guest's, delivered at the next entry. */
static void on_nmi(struct rt_frame *f)
{
	(void)f;
	tv_nmi_pending = true;
}

/* {====== options ====== */

struct options {
	uint32_t mem_mib;
	enum vmm_paging paging;
	bool assist;   /* trap=assist: enter the guest with the CPU's run-guest operation */
	uint32_t slot; /* slot=: the faithful path's reserved linear range and GDT entries */
	bool quiet;
};

/* The word after "key=" in the command line, copied to buf; false if absent. */
static bool option(const char *cmdline, const char *key, char *buf, size_t n)
{
	size_t kl = strlen(key);
	for (const char *p = cmdline; p && *p; p++) {
		if ((p == cmdline || p[-1] == ' ') && !strncmp(p, key, kl) && p[kl] == '=') {
			p += kl + 1;
			size_t i = 0;
			while (p[i] && p[i] != ' ' && i + 1 < n) {
				buf[i] = p[i];
				i++;
			}
			buf[i] = 0;
			return true;
		}
	}
	return false;
}

static bool parse_u32(const char *s, uint32_t *out)
{
	uint32_t v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 100000000u)
			return false;
		v = v * 10 + (uint32_t)(*s - '0');
	}
	*out = v;
	return true;
}

_Noreturn void tv_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rt_printf("tinyvmm: ");
	rt_vprintf(fmt, ap);
	rt_printf("\n");
	va_end(ap);
	rt_exit(0x7e);
}

static void parse_options(const char *cmdline, struct options *o)
{
	char buf[32];
	*o = (struct options){ .mem_mib = 32, .paging = VMM_SHADOW };
	if (option(cmdline, "mem", buf, sizeof buf) &&
	    (!parse_u32(buf, &o->mem_mib) || o->mem_mib < 2 || o->mem_mib > 3072))
		tv_die("mem=%s is not a RAM size for the guest in MiB (2 to 3072)", buf);
	if (option(cmdline, "paging", buf, sizeof buf)) {
		if (!strcmp(buf, "nested"))
			o->paging = VMM_NESTED;
		else if (strcmp(buf, "shadow"))
			tv_die("paging=%s: give paging=shadow or paging=nested", buf);
	}
	if (option(cmdline, "trap", buf, sizeof buf)) {
		if (!strcmp(buf, "assist"))
			o->assist = true;
		else if (strcmp(buf, "faithful"))
			tv_die("trap=%s: give trap=faithful (its own IDT, the default) or trap=assist", buf);
	}
	if (option(cmdline, "slot", buf, sizeof buf) &&
	    (!parse_u32(buf, &o->slot) || o->slot >= TV_SLOTS))
		tv_die("slot=%s: give a slot from 0 to %d for the linear range and GDT entries "
		       "tinyvmm reserves (one of its own for each tinyvmm of a stack)", buf, TV_SLOTS - 1);
	if (o->paging == VMM_NESTED && !o->assist)
		tv_die("paging=nested needs the assist: give trap=assist too (nestlab-run --assist)");
	o->quiet = option(cmdline, "quiet", buf, sizeof buf) && !strcmp(buf, "1");
}

/* }====================================================================== */

/* {====== host operations: tinyvmm's physical memory and the PC ====== */

static void op_read(void *opaque, uint32_t hpa, void *buf, uint32_t len)
{
	(void)opaque;
	if (len == 4) { /* the core's page-table words: the common case */
		*(uint32_t *)buf = *(const uint32_t *)(uintptr_t)hpa;
		return;
	}
	memcpy(buf, (const void *)(uintptr_t)hpa, len);
}

static void op_write(void *opaque, uint32_t hpa, const void *buf, uint32_t len)
{
	(void)opaque;
	if (len == 4) {
		*(uint32_t *)(uintptr_t)hpa = *(const uint32_t *)buf;
		return;
	}
	memcpy((void *)(uintptr_t)hpa, buf, len);
}

static uint32_t op_io_in(void *opaque, uint16_t port, int size)
{
	(void)opaque;
	return size == 1 ? inb(port) : size == 2 ? inw(port) : inl(port);
}

static void op_io_out(void *opaque, uint16_t port, uint32_t val, int size)
{
	(void)opaque;
	if (size == 1)
		outb(port, (uint8_t)val);
	else if (size == 2)
		outw(port, (uint16_t)val);
	else
		outl(port, val);
}

/* Guest-physical pages above the guest's RAM: from the end of the PC's own
 * RAM up, the PC's devices (local APIC, I/O APIC, the BIOS ROM at the top)
 * at the same physical addresses; below that nothing (reads all ones), so
 * that no guest reaches tinyvmm's memory or its monitor pages. */
static uint32_t machine_ram_end;
static uint32_t resv_base; /* the faithful path's reserved slot: tinyvmm's own there, not the PC's */

static bool mmio_hole(uint32_t gpa)
{
	return gpa < machine_ram_end || (resv_base && gpa - resv_base < VMM_RESV_SIZE);
}

static uint32_t op_mmio_read(void *opaque, uint32_t gpa, int size)
{
	(void)opaque;
	if (mmio_hole(gpa))
		return size == 1 ? 0xffu : size == 2 ? 0xffffu : 0xffffffffu;
	volatile void *p = (volatile void *)(uintptr_t)gpa;
	return size == 1 ? *(volatile uint8_t *)p : size == 2 ? *(volatile uint16_t *)p
	                                                      : *(volatile uint32_t *)p;
}

static void op_mmio_write(void *opaque, uint32_t gpa, uint32_t val, int size)
{
	(void)opaque;
	if (mmio_hole(gpa))
		return;
	volatile void *p = (volatile void *)(uintptr_t)gpa;
	if (size == 1)
		*(volatile uint8_t *)p = (uint8_t)val;
	else if (size == 2)
		*(volatile uint16_t *)p = (uint16_t)val;
	else
		*(volatile uint32_t *)p = val;
}

static uint64_t op_cycles(void *opaque)
{
	(void)opaque;
	return rdtsc();
}

static void op_cpuid(void *opaque, uint32_t leaf, uint32_t out[4])
{
	(void)opaque;
	cpuid(leaf, &out[0], &out[1], &out[2], &out[3]);
}

static void op_apic_base(void *opaque, uint64_t value)
{
	(void)opaque;
	wrmsr(0x1b, value);
}

/* The guest's MSRs: those every part tinyvmm runs on has (the engine's
 * pentium2 and nestlab models), kept by the core; any other index is #GP
 * for the guest. */
static bool op_msr(void *opaque, uint32_t index, struct vmm_msr *out)
{
	(void)opaque;
	switch (index) {
	case 0x10: /* TSC */
		*out = (struct vmm_msr){ .kind = VMM_MSR_TSC, .wmask = ~0ull };
		return true;
	case 0x1b: /* APIC_BASE: base and global enable; the BSP bit read-only */
		*out = (struct vmm_msr){ .kind = VMM_MSR_APIC_BASE, .wmask = 0xfffff800ull,
		                         .rsvd = ~0xfffff900ull };
		return true;
	case 0x174: case 0x175: case 0x176: /* SYSENTER_CS, ESP, EIP */
		*out = (struct vmm_msr){ .slot = (uint16_t)(index - 0x174), .kind = VMM_MSR_STORE,
		                         .wmask = index == 0x174 ? 0xffffull : 0xffffffffull };
		return true;
	case MSR_NESTLAB_CTL:
		*out = (struct vmm_msr){ .kind = VMM_MSR_NESTLAB, .wmask = 7, .rsvd = ~7ull };
		return true;
	default:
		return false;
	}
}

static const struct vmm_host_ops host_ops = {
	.read = op_read, .write = op_write, .io_in = op_io_in, .io_out = op_io_out,
	.mmio_read = op_mmio_read, .mmio_write = op_mmio_write, .cycles = op_cycles,
	.cpuid = op_cpuid, .apic_base = op_apic_base, .msr = op_msr,
};

/* }====================================================================== */

/* {====== loading the guest: ELF, multiboot information ====== */

#define ELF_MAGIC 0x464c457fu
#define PT_LOAD 1

struct elf32_ehdr {
	uint32_t magic;
	uint8_t cls, data, version, osabi, pad[8];
	uint16_t type, machine;
	uint32_t version2, entry, phoff, shoff, flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
} __attribute__((packed));

struct elf32_phdr {
	uint32_t type, offset, vaddr, paddr, filesz, memsz, flags, align;
} __attribute__((packed));

struct guest {
	uint32_t base, size;  /* its RAM share: tinyvmm-physical */
	uint32_t entry;
	uint32_t end;         /* guest-physical end of the kernel's image */
	uint32_t info;        /* guest-physical address of its multiboot information */
};

static void *gphys(const struct guest *g, uint32_t gpa)
{
	return (void *)(uintptr_t)(g->base + gpa);
}

static void load_elf(struct guest *g, const struct mb_module *mod)
{
	const uint8_t *img = (const uint8_t *)(uintptr_t)mod->mod_start;
	uint32_t len = mod->mod_end - mod->mod_start;
	const struct elf32_ehdr *eh = (const void *)img;
	if (len < sizeof *eh || eh->magic != ELF_MAGIC || eh->cls != 1 || eh->machine != 3)
		tv_die("the guest kernel (module 1: %s) is not a 32-bit x86 ELF file",
		    (const char *)(uintptr_t)mod->string);
	if (eh->phentsize != sizeof(struct elf32_phdr) ||
	    eh->phoff + (uint32_t)eh->phnum * sizeof(struct elf32_phdr) > len)
		tv_die("the guest kernel's program headers lie outside the file (%s)",
		    (const char *)(uintptr_t)mod->string);
	g->entry = eh->entry;
	g->end = 0;
	for (int i = 0; i < eh->phnum; i++) {
		const struct elf32_phdr *ph = (const void *)(img + eh->phoff + i * sizeof *ph);
		if (ph->type != PT_LOAD || !ph->memsz)
			continue;
		if (ph->filesz > ph->memsz || ph->offset + ph->filesz > len ||
		    ph->offset + ph->filesz < ph->offset)
			tv_die("a segment of the guest kernel lies outside its file (%s)",
			    (const char *)(uintptr_t)mod->string);
		if (ph->paddr < GUEST_LOW_END || ph->paddr + ph->memsz > g->size ||
		    ph->paddr + ph->memsz < ph->paddr)
			tv_die("a segment of the guest kernel lies outside the guest's RAM above 1 MiB "
			    "(give tinyvmm a larger mem=): %s", (const char *)(uintptr_t)mod->string);
		memcpy(gphys(g, ph->paddr), img + ph->offset, ph->filesz);
		memset(gphys(g, ph->paddr + ph->filesz), 0, ph->memsz - ph->filesz);
		if (ph->paddr + ph->memsz > g->end)
			g->end = ph->paddr + ph->memsz;
	}
	if (!g->end)
		tv_die("the guest kernel has no segment to load (%s)", (const char *)(uintptr_t)mod->string);
}

/* Bytes into the guest's information area, which grows from GUEST_INFO. */
struct info_area {
	const struct guest *g;
	uint32_t next;
};

static uint32_t info_put(struct info_area *a, const void *data, uint32_t len)
{
	uint32_t at = (a->next + 3) & ~3u;
	if (at + len > GUEST_INFO_END)
		tv_die("the guest's command lines do not fit its boot information area");
	memcpy(gphys(a->g, at), data, len);
	a->next = at + len;
	return at;
}

static uint32_t info_str(struct info_area *a, const char *s)
{
	return info_put(a, s, (uint32_t)strlen(s) + 1);
}

static void build_info(struct guest *g, const struct mb_info *mi)
{
	const struct mb_module *mods = (const void *)(uintptr_t)mi->mods_addr;
	struct info_area a = { g, GUEST_INFO + sizeof(struct mb_info) };
	struct mb_info info = { 0 };
	info.flags = MB_INFO_MEMORY | MB_INFO_CMDLINE | MB_INFO_MODS | MB_INFO_MEM_MAP |
	             MB_INFO_LOADER_NAME;
	info.mem_lower = 639;
	info.mem_upper = (g->size - GUEST_LOW_END) / 1024;
	info.cmdline = info_str(&a, (const char *)(uintptr_t)mods[0].string);
	info.boot_loader_name = info_str(&a, "tinyvmm");
	struct mb_mmap_entry mm[3] = {
		{ 20, 0, 0x9fc00, MB_MEMORY_AVAILABLE },
		{ 20, 0xf0000, 0x10000, 2 },
		{ 20, GUEST_LOW_END, g->size - GUEST_LOW_END, MB_MEMORY_AVAILABLE },
	};
	info.mmap_addr = info_put(&a, mm, sizeof mm);
	info.mmap_length = sizeof mm;
	/* The kernel's own modules, page-aligned after its image. */
	uint32_t at = (g->end + 0xfff) & ~0xfffu;
	struct mb_module gm[16];
	uint32_t n = mi->mods_count - 1;
	if (n > 16)
		tv_die("the guest has more than 16 modules");
	for (uint32_t i = 0; i < n; i++) {
		const struct mb_module *m = &mods[i + 1];
		uint32_t len = m->mod_end - m->mod_start;
		if (at + len > g->size || at + len < at)
			tv_die("the guest's modules do not fit its RAM (give tinyvmm a larger mem=): %s",
			    (const char *)(uintptr_t)m->string);
		memcpy(gphys(g, at), (const void *)(uintptr_t)m->mod_start, len);
		gm[i] = (struct mb_module){ at, at + len, info_str(&a, (const char *)(uintptr_t)m->string), 0 };
		at = (at + len + 0xfff) & ~0xfffu;
	}
	info.mods_count = n;
	info.mods_addr = n ? info_put(&a, gm, n * sizeof gm[0]) : 0;
	memcpy(gphys(g, GUEST_INFO), &info, sizeof info);
	g->info = GUEST_INFO;
}

/* The firmware a kernel looks for in low memory: the BIOS data area (its
 * EBDA pointer, the COM ports) and the area from 0xE0000 with the MP
 * table, copied from the PC tinyvmm runs on, whose devices the guest gets. */
static const void *low_phys(uint32_t pa)
{
	const void *p = (const void *)(uintptr_t)pa;
	__asm__("" : "+r"(p)); /* a physical address, not an object the compiler knows */
	return p;
}

static void copy_firmware(const struct guest *g)
{
	memcpy(gphys(g, 0x400), low_phys(0x400), 0x100);
	uint16_t seg;
	memcpy(&seg, low_phys(0x40e), 2);
	uint32_t ebda = (uint32_t)seg << 4;
	if (ebda >= 0x80000 && ebda < 0xa0000)
		memcpy(gphys(g, ebda), low_phys(ebda), 0xa0000 - ebda);
	memcpy(gphys(g, 0xe0000), low_phys(0xe0000), 0x20000);
}

static const uint64_t guest_gdt[3] = {
	0,
	0x00cf9b000000ffffull, /* 0x08: flat 32-bit code, DPL 0 */
	0x00cf93000000ffffull, /* 0x10: flat data, DPL 0 */
};

/* }====================================================================== */

/* {====== the run loop ====== */

static void regs_to_run(const struct vmm_regs *r)
{
	memcpy(run.r, r->r, sizeof run.r);
	run.eip = r->eip;
	run.eflags = r->eflags;
	for (int s = 0; s < VMM_NSEG; s++)
		run.seg[s] = (struct nl_seg){ r->seg[s].sel, r->seg[s].attr, r->seg[s].base,
		                              r->seg[s].limit };
	run.ldtr = (struct nl_seg){ r->ldtr.sel, r->ldtr.attr, r->ldtr.base, r->ldtr.limit };
	run.gdt_base = r->gdtr.base;
	run.gdt_limit = r->gdtr.limit;
	run.cr0 = r->cr0;
	run.cr3 = r->cr3;
	run.cr4 = r->cr4;
	run.ctl = r->mode.nested ? NL_RUN_NESTED : 0;
	run.npt_root = r->mode.npt_root;
	run.vcpl = r->mode.vcpl;
	run.nestlab_ctl = r->mode.ctl;
}

static void regs_from_run(struct vmm_regs *r)
{
	memset(r, 0, sizeof *r);
	memcpy(r->r, run.r, sizeof r->r);
	r->eip = run.eip;
	r->eflags = run.eflags;
	for (int s = 0; s < VMM_NSEG; s++)
		r->seg[s] = (struct vmm_seg){ run.seg[s].sel, run.seg[s].attr, run.seg[s].base,
		                              run.seg[s].limit };
	r->ldtr = (struct vmm_seg){ run.ldtr.sel, run.ldtr.attr, run.ldtr.base, run.ldtr.limit };
	r->gdtr = (struct vmm_dtr){ run.gdt_base, run.gdt_limit };
	r->cr0 = run.cr0;
	r->cr3 = run.cr3;
	r->cr4 = run.cr4;
	r->vcpl = (uint8_t)run.vcpl;
}

static _Noreturn void run_guest(struct vmm_regs *r)
{
	uint64_t exits = 0;
	int vec = -1, err = -1;
	unsigned flags = 0;
	uint32_t cr2 = 0, gpa = 0;
	for (;;) {
		if (vec < 0 && tv_nmi_pending) {
			tv_nmi_pending = false;
			vec = 2;
			err = -1;
			flags = NL_EXIT_EXT;
			cr2 = gpa = 0;
		}
		if (vec < 0) {
			regs_to_run(r);
			abi_child_running(1);
			wrmsr(MSR_NESTLAB_RUN, (uint32_t)(uintptr_t)&run);
			abi_child_stopped();
			regs_from_run(r);
			vec = (int)run.exit_vec;
			err = (int)run.exit_err;
			flags = run.exit_flags;
			cr2 = run.exit_cr2;
			gpa = run.exit_gpa;
		}
		exits++;
		struct vmm_result res = vmm_trap(&vm, r, vec, err, flags, cr2, gpa);
		vec = -1;
		if (res.stop) {
			rt_printf("tinyvmm: the guest stopped after %u exits: %s\n", (unsigned)exits, res.why);
			rt_exit(0x7f);
		}
		int shadow = vmm_intr_shadow(&res, flags);
		uint32_t state = run.state & ~(NL_STATE_HALTED | NL_STATE_INTR_SHADOW);
		if (shadow == 1 || (shadow < 0 && (run.state & NL_STATE_INTR_SHADOW)))
			state |= NL_STATE_INTR_SHADOW;
		if (r->halt)
			state |= NL_STATE_HALTED;
		run.state = state;
		if (res.refault) { /* the fault the emulated instruction raises: the next trap */
			vec = res.refault_vec;
			err = res.refault_err;
			flags = 0;
			cr2 = res.refault_cr2;
			gpa = 0;
		}
	}
}

/* }====================================================================== */

int main(void)
{
	const struct mb_info *mi = rt_mb_info();
	if (!mi)
		tv_die("was not started by a multiboot loader");
	const char *cmdline = (mi->flags & MB_INFO_CMDLINE) ? (const char *)(uintptr_t)mi->cmdline : "";
	struct options o;
	parse_options(cmdline, &o);
	if (!(mi->flags & MB_INFO_MODS) || mi->mods_count < 1)
		tv_die("has no guest: give the guest kernel as the first module "
		    "(nestlab-run --monitor=none tinyvmm.elf --module KERNEL)");
	if (o.assist && !(rdmsr(MSR_NESTLAB_CTL) & NESTLAB_CTL_ASSIST))
		tv_die("trap=assist needs the assist, the CPU's run-guest operation: run it with "
		       "nestlab-run --assist (or give trap=faithful)");

	/* The guest's RAM: above tinyvmm and its modules, 4 MiB aligned; the
	 * monitor's pages after it. */
	const struct mb_module *mods = (const void *)(uintptr_t)mi->mods_addr;
	extern char _kernel_end[];
	uint32_t top = (uint32_t)(uintptr_t)_kernel_end;
	for (uint32_t i = 0; i < mi->mods_count; i++)
		if (mods[i].mod_end > top)
			top = mods[i].mod_end;
	struct guest g = { .base = (top + 4 * MIB - 1) & ~(4 * MIB - 1), .size = o.mem_mib * MIB };
	uint32_t ram_end = GUEST_LOW_END + mi->mem_upper * 1024u;
	machine_ram_end = ram_end;
	uint32_t mon_pages = VMM_MON_PAGES;
	if (g.base + g.size + 256 * 4096u > ram_end || g.base + g.size < g.base)
		tv_die("has too little RAM for a guest of %u MiB at %p and its monitor's pages: "
		    "the machine has %u MiB (give it more --mem, or tinyvmm a smaller mem=)",
		    (unsigned)o.mem_mib, (void *)(uintptr_t)g.base, (unsigned)(ram_end / MIB));
	if (g.base + g.size + mon_pages * 4096u > ram_end)
		mon_pages = (ram_end - g.base - g.size) / 4096u;

	memset(gphys(&g, 0), 0, g.size);
	load_elf(&g, &mods[0]);
	build_info(&g, mi);
	copy_firmware(&g);
	memcpy(gphys(&g, GUEST_GDT), guest_gdt, sizeof guest_gdt);
	if (!o.quiet)
		rt_printf("tinyvmm: guest %s: %u MiB at %p, %s paging, %s\n",
		          (const char *)(uintptr_t)mods[0].string, (unsigned)o.mem_mib,
		          (void *)(uintptr_t)g.base, o.paging == VMM_NESTED ? "nested" : "shadow",
		          o.assist ? "the assist" : "its own IDT");

	struct vmm_vcpu entry = {
		.cr0 = CR0_PE | 0x10u /* ET */, .cpl = 0, .cs_sel = 0x08, .ss_sel = 0x10,
		.gdtr = { GUEST_GDT, sizeof guest_gdt - 1 }, .idtr = { 0, 0x3ff },
		.ldtr = { 0, 0x82, 0, 0xffff }, .tr = { 0, 0x8b, 0, 0xffff },
		.msr_apic_base = 0xfee00900ull, .dr = { [6] = 0xffff0ff0u, [7] = 0x400 },
	};
	const uint16_t sel[VMM_NSEG] = { 0x10, 0x08, 0x10, 0x10, 0x10, 0x10 };
	struct vmm_regs r = { 0 };
	r.r[VMM_EAX] = MB_BOOTLOADER_MAGIC;
	r.r[VMM_EBX] = g.info;
	r.r[VMM_ESP] = GUEST_STACK;
	r.eip = g.entry;
	r.eflags = 2;
	for (int s = 0; s < VMM_NSEG; s++)
		r.seg[s] = (struct vmm_seg){ sel[s], s == VMM_CS ? 0xcf9b : 0xcf93, 0, 0xffffffffu };
	if (!vmm_init(&vm, &host_ops, o.paging, false, g.base, g.size, g.base + g.size, mon_pages,
	              &entry, sel, false, &r))
		tv_die("cannot start the guest: %s", vm.stop_why);
	if (!o.assist) {
		resv_base = TV_RESV_TOP - o.slot * VMM_RESV_SIZE;
		abi_start(&vm, NULL, g.base, g.size, (const char *)(uintptr_t)mods[0].string);
		tv_world_run(&vm, &r, o.slot);
	}
	run.version = NL_RUN_VERSION;
	rt_set_handler(VEC_NMI, on_nmi);
	/* tinyvmm offers its guest the assist in turn (the core virtualizes it
	 * with nested paging): a tinyvmm under it can run a guest of its own. */
	vm.assist = o.paging == VMM_NESTED;
	abi_start(&vm, &run, g.base, g.size, (const char *)(uintptr_t)mods[0].string);
	run_guest(&r);
}
