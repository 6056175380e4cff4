/*
 * vmm.h - the monitor core: trap-and-emulate with shadow or nested paging.
 *
 * Freestanding C (only <stdint.h>, <stddef.h>, <stdbool.h> and the
 * architectural constants of x86.h): the same code is the engine's L0
 * monitor and, built with -m32 -ffreestanding into guests/, a guest
 * monitor's core. docs/monitor.md is the design; the words used here:
 *
 *   guest-virtual  --guest's page tables-->  guest-physical
 *   guest-physical --the VM's RAM share-->   host-physical (base + gpa)
 *
 * The host (L0: engine/vmm/l0.c) gives the core one `struct vmm` (no host
 * pointers inside but `ops`), a table of callbacks, and on every trap the
 * real CPU state in a `struct vmm_regs`. The core emulates, reflects or
 * resolves the trap against the virtual CPU (`struct vmm_vcpu`) and hands
 * the real state back with `dirty` saying what the host must reload.
 *
 * The guest runs at real CPL 3 with strict mode on and IOPL 0, so every
 * sensitive instruction, every port access and every privileged
 * instruction traps; real EFLAGS.IF is the guest's virtual IF (so the CPU
 * itself holds interrupts while the guest has them off).
 */
#ifndef NESTLAB_VMM_H
#define NESTLAB_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "x86.h"

enum { VMM_ES, VMM_CS, VMM_SS, VMM_DS, VMM_FS, VMM_GS, VMM_NSEG };
enum { VMM_EAX, VMM_ECX, VMM_EDX, VMM_EBX, VMM_ESP, VMM_EBP, VMM_ESI, VMM_EDI };

enum vmm_paging { VMM_SHADOW, VMM_NESTED };

/* A segment register as the guest sees it (attr: descriptor high-dword bits
 * 8..23 shifted down by 8, as the engine keeps them). */
struct vmm_seg {
	uint16_t sel;
	uint16_t attr;
	uint32_t base;
	uint32_t limit;
};

struct vmm_dtr {
	uint32_t base;
	uint32_t limit;
};

/* The real CPU's state at a trap, and what the core wants it to be. */
struct vmm_regs {
	uint32_t r[8];
	uint32_t eip;
	uint32_t eflags;
	struct vmm_seg seg[VMM_NSEG]; /* real segment registers with their caches */
	uint32_t cr0, cr3, cr4;       /* real control registers */
	struct vmm_dtr gdtr;          /* real (host-physical: the shadow table) */
	struct vmm_seg ldtr;          /* real (host-physical base) */
	bool halt;                    /* out: the guest executed HLT */
	unsigned dirty;               /* out: VMM_DIRTY_* */
	uint32_t invlpg;              /* out: with VMM_DIRTY_INVLPG, the page */
	uint8_t vcpl;                 /* out: the guest's CPL now (nested paging) */
	/* out: the guest mode the real CPU runs the guest with (the core's
	 * choice: its guest, or, while that guest's own guest runs through the
	 * assist the core virtualizes, that one) */
	struct vmm_mode {
		bool nested;          /* nested paging, with npt_root as the map */
		uint8_t vcpl;         /* the privilege U/S checks use (nested paging) */
		uint32_t npt_root;    /* host-physical */
		uint32_t ctl;         /* MSR_NESTLAB_CTL: strict mode, CPUID faulting, ... */
	} mode;
};

#define VMM_DIRTY_SEG(n) (1u << (n)) /* reload seg[n] (selector and cache) */
#define VMM_DIRTY_CTL (1u << 8)      /* cr0, cr3, cr4, gdtr, ldtr changed */
#define VMM_DIRTY_TLB (1u << 9)      /* flush the whole TLB */
#define VMM_DIRTY_INVLPG (1u << 10)  /* flush one page */

/*
 * The VM's MSRs, as its CPU model has them (host op `msr`): where the core
 * keeps one (`slot` in vmm_vcpu.msr) and what a write does. A write of V
 * with a bit of `rsvd` set raises #GP(0); otherwise the MSR becomes
 * (old & ~wmask) | (V & wmask).
 */
#define VMM_MSR_SLOTS 96
enum vmm_msr_kind {
	VMM_MSR_STORE,       /* kept in vcpu.msr[slot] */
	VMM_MSR_TSC,         /* the guest's TSC: the VM's clock + tsc_offset */
	VMM_MSR_APIC_BASE,   /* vcpu.msr_apic_base, and the host is told (ops->apic_base) */
	VMM_MSR_NESTLAB,     /* MSR_NESTLAB_CTL: vcpu.msr_ctl, for the guest's own guests */
	VMM_MSR_RO,          /* read-only, in vcpu.msr[slot]: a write raises #GP(0) */
};
struct vmm_msr {
	uint16_t slot;
	uint8_t kind;        /* enum vmm_msr_kind */
	uint64_t wmask, rsvd;
};

/* The virtual CPU: the guest's privileged state. One layout at every level. */
struct vmm_vcpu {
	uint32_t cr0, cr2, cr3, cr4;
	uint32_t dr[8];
	uint32_t vflags;       /* the guest's IF and IOPL (other bits are real) */
	uint8_t cpl;           /* the guest's CPL */
	uint16_t cs_sel, ss_sel; /* CS and SS as the guest loaded them (real RPL is 3) */
	struct vmm_dtr gdtr, idtr;
	struct vmm_seg ldtr, tr;
	uint32_t msr_ctl;      /* MSR_NESTLAB_CTL as the guest wrote it */
	uint64_t msr_apic_base;
	uint64_t msr[VMM_MSR_SLOTS]; /* the VM's other MSRs, by the slot ops->msr gives */
	uint64_t tsc_offset;
};

/* Why the core was entered: the exit reasons students read in --stats. */
enum vmm_exit {
	VMM_EXIT_PRIV,       /* a privileged or sensitive instruction, emulated */
	VMM_EXIT_IO,         /* IN, OUT, INS, OUTS */
	VMM_EXIT_MMIO,       /* an access to a virtual device's page */
	VMM_EXIT_PF_HIDDEN,  /* shadow fault resolved by the monitor */
	VMM_EXIT_PF_TRUE,    /* page fault reflected into the guest */
	VMM_EXIT_PT_WRITE,   /* a write to a guest page table, emulated */
	VMM_EXIT_EXCEPTION,  /* another exception reflected into the guest */
	VMM_EXIT_INTR,       /* a virtual interrupt delivered */
	VMM_EXIT_HLT,        /* HLT */
	VMM_EXIT_NPF,        /* nested paging: a guest-physical miss */
	VMM_EXIT_DT_WRITE,   /* a write to a guest descriptor table in use, emulated */
	VMM_EXIT_NEST,       /* the guest's own guest (the assist, virtualized) left for it */
	VMM_EXIT_RESV,       /* an access to the monitor's reserved linear range, emulated */
	VMM_EXIT_COUNT
};

/* What the host must know after a trap. */
struct vmm_result {
	enum vmm_exit reason;
	bool retired;         /* an instruction was emulated and retired */
	uint16_t op;          /* ... its opcode (0F xx = 0x100|xx), ModRM reg */
	uint8_t reg;
	bool mem;             /* ... with a memory operand */
	uint32_t extra_cycles; /* cycles a bare CPU adds beyond the opcode's base cost */
	uint32_t reps;        /* string iterations done (REP INS/OUTS) */
	int32_t charged_cycles; /* what a bare CPU charges even if the instruction then faults
	                         * (REP elements done, INT n's own cost) */
	bool intr_shadow;     /* STI, MOV SS, POP SS: hold interrupts one instruction */
	uint8_t insn[15];     /* the bytes of the instruction emulated */
	uint8_t insn_len;
	bool refault;         /* an INT n the CPU ran faults in delivery: the host must */
	int refault_vec, refault_err; /* raise this fault of the instruction instead */
	uint32_t refault_cr2;
	bool stop;            /* the VM cannot go on: `why` says why */
	const char *why;
};

struct vmm_host_ops {
	void *opaque;
	/* Host-physical memory (the core's own tables, the VM's RAM). */
	void (*read)(void *opaque, uint32_t hpa, void *buf, uint32_t len);
	void (*write)(void *opaque, uint32_t hpa, const void *buf, uint32_t len);
	/* The VM's virtual devices: ports, and guest-physical pages beyond RAM. */
	uint32_t (*io_in)(void *opaque, uint16_t port, int size);
	void (*io_out)(void *opaque, uint16_t port, uint32_t val, int size);
	uint32_t (*mmio_read)(void *opaque, uint32_t gpa, int size);
	void (*mmio_write)(void *opaque, uint32_t gpa, uint32_t val, int size);
	/* The VM's clock in cycles (RDTSC), CPUID as the machine answers it, and
	 * the guest's writes to IA32_APIC_BASE (its local APIC's enable). */
	uint64_t (*cycles)(void *opaque);
	void (*cpuid)(void *opaque, uint32_t leaf, uint32_t out[4]);
	void (*apic_base)(void *opaque, uint64_t value);
	/* The VM's CPU model's MSR `index`: true and *out if it has one (false:
	 * RDMSR/WRMSR raise #GP(0), as on the part). */
	bool (*msr)(void *opaque, uint32_t index, struct vmm_msr *out);
};

#define VMM_MON_PAGES 4096  /* the monitor's own pages: at most 16 MiB */
#define VMM_SPT_ROOTS 8     /* shadow roots cached (per guest CR3 and view) */
#define VMM_SPT_PAGES 1024  /* shadow page tables in the pool */
#define VMM_PT_TRACK 1024   /* guest frames known to be page tables */
#define VMM_W_TRACK 1024    /* guest frames whose one writable shadow PTE is known */

/* One shadow page table: a host page, and the guest table it shadows. */
struct vmm_spt_page {
	uint32_t hpa;         /* 0: free slot */
	uint32_t gpt;         /* guest-physical frame of the guest table (or ~0: a direct map) */
	uint16_t root;        /* the root (slot) it belongs to */
	uint16_t pde;         /* its index in that root */
};

struct vmm_spt_root {
	uint32_t hpa;         /* the shadow page directory, 0 if free */
	uint32_t gcr3;        /* the guest CR3 it shadows (page frame) */
	uint8_t view;         /* 0 kernel, 1 user */
	bool paging;          /* false: the guest has paging off (direct map) */
	bool wp;              /* CR0.WP when built */
	uint64_t used;        /* LRU stamp */
};

struct vmm_stats {
	uint64_t exits[VMM_EXIT_COUNT];
	uint64_t exit_cycles[VMM_EXIT_COUNT];
	uint64_t priv[16];       /* VMM_EXIT_PRIV by kind (vmm_priv_names) */
	uint64_t spt_fills, spt_evictions, spt_zaps, pt_unprotects;
};

#define VMM_NEST_TABLES 128 /* table frames of a guest monitor's nested maps the core watches */
#define VMM_NEST_MAPS 4      /* composed maps kept, one per nested map of the guest monitor */

/* The composition of one of the guest monitor's nested maps with this
 * core's (see struct vmm_nest). */
struct vmm_cnpt {
	bool used;
	bool valid;             /* its entries agree with `inner` as it is now */
	uint32_t inner;         /* the guest monitor's map (guest-physical) */
	uint64_t lru;
	uint32_t root;          /* page directory (host-physical), 0: none yet */
	uint32_t pt[1024];      /* ... its page tables, by directory index (0: none) */
};

/* The assist as the core offers it to its guest (docs/monitor.md,
 * "Nesting"): the guest's WRMSR MSR_NESTLAB_RUN runs the guest's guest on
 * the real CPU, and that guest's every event comes back as the guest's exit. */
struct vmm_nest {
	bool active;            /* the guest's guest runs */
	bool pending;           /* a WRMSR MSR_NESTLAB_RUN retired: enter at the trap's end */
	uint32_t block;         /* its run block (guest-physical) */
	uint32_t ctl;           /* its nestlab_ctl */
	uint64_t cycles;        /* the clock at entry */
	struct vmm_regs outer;  /* the guest's real state, after its WRMSR */
	uint64_t entries;       /* statistics: runs of the guest's guest */
	/* A guest monitor that runs its guest with nested paging: its nested
	 * map (guest-physical) composed with this core's, filled lazily on the
	 * real CPU's nested misses. Kept from one entry to the next, one per
	 * map the guest monitor uses (its own guest's, and the composed map it
	 * makes for its guest's guest), while those maps cannot have changed:
	 * the frames of their tables that fills read are write-protected in
	 * this core's map, and a write to one, or this core taking a write
	 * permission back, empties them. */
	bool inner_nested;
	uint8_t vcpl;           /* the run block's vcpl (nested) */
	uint32_t inner_npt;     /* the guest monitor's nested map (guest-physical) */
	int cur;                /* the composed map in use */
	uint64_t lru;
	struct vmm_cnpt maps[VMM_NEST_MAPS];
	uint32_t n_tables;      /* frames of the guest monitor's tables, protected in this core's map */
	uint32_t tables[VMM_NEST_TABLES];
	uint8_t w_map[(1u << 20) / 8]; /* guest frames a composed entry ever mapped writable */
	uint64_t fills;         /* statistics: composed entries filled */
	uint64_t flushes;       /* ... and times a composed map was emptied */
};

/*
 * A monitor that takes its guest's traps through its own IDT (tinyvmm
 * without the assist, docs/monitor.md section 8) needs its IDT, GDT
 * entries, TSS, trap stack and entry code in the address space the CPU
 * uses while the guest runs. It reserves one 4 MiB slot of linear space
 * (`base`, 4 MiB aligned; 0: none) that every shadow root maps with `pde`
 * (supervisor-only), and VMM_RESV_GDT_SLOTS GDT entries from `gdt_first`
 * up, which both shadow GDTs hold as `desc` (the shadow GDT's limit is then
 * 0xFFFF). Monitors stacked on each other choose different ones.
 * The guest is kept out: its accesses to the range fault and are emulated
 * with its own mapping; code fetched there, or a load of a reserved
 * selector, stops the VM with a message.
 */
#define VMM_RESV_GDT_SLOTS 5
#define VMM_RESV_SIZE 0x400000u
struct vmm_resv {
	uint32_t base;
	uint32_t pde;
	uint16_t gdt_first;
	uint64_t desc[VMM_RESV_GDT_SLOTS];
};

struct vmm {
	const struct vmm_host_ops *ops;
	enum vmm_paging paging;
	bool faithful;          /* --faithful-i386: strict mode off */
	uint32_t ram_base;      /* the VM's share: host-physical base */
	uint32_t ram_size;      /* ... and size */
	uint32_t mon_base;      /* the monitor's own pages: host-physical base */
	uint32_t mon_pages;     /* ... and count (no VM share covers them) */
	uint32_t mon_used;      /* pages in use */
	uint32_t rom_base;      /* a ROM at this guest-physical address (0: none), read-only, */
	uint32_t rom_size;      /* ... at the same host-physical address (vmm_map_rom) */
	uint8_t mon_map[VMM_MON_PAGES / 8]; /* bit set: page in use */
	uint32_t gdt_k, gdt_u;  /* shadow GDTs (kernel, user view): host-physical pages */
	uint32_t ldt_k, ldt_u;  /* shadow LDTs */
	uint32_t npt_root;      /* nested map */
	struct vmm_vcpu vcpu;
	uint64_t lru;
	struct vmm_spt_root roots[VMM_SPT_ROOTS];
	int cur_root;
	struct vmm_spt_page spt[VMM_SPT_PAGES];
	uint16_t spt_top;       /* no slot at or above this one was ever used */
	uint8_t pt_map[(1u << 20) / 8];   /* guest frames write-protected as page tables */
	uint32_t pt_tag[VMM_PT_TRACK];    /* flood detection: frame | 1 ... */
	uint16_t pt_writes[VMM_PT_TRACK]; /* ... and its emulated writes since last used as a table */
	bool tlb_stale;                   /* shadow entries dropped: flush the real TLB */
	uint8_t dt_map[(1u << 20) / 8];   /* guest frames holding descriptors the shadows copy */
	uint8_t w_map[(1u << 20) / 8];    /* guest frames a shadow PTE may map writable */
	uint32_t w_tag[VMM_W_TRACK];      /* ... by frame: frame + 1, and the one shadow PTE */
	uint32_t w_pte[VMM_W_TRACK];      /* ... that does (host-physical; 0: maybe several) */
	uint32_t dt_gpa[2][8192];         /* shadow GDT/LDT entry -> guest-physical address | 1 */
	uint16_t dt_top[2];               /* ... entries below this index may be set (the scan's end) */
	struct vmm_stats stats;
	uint32_t fault_cr2;     /* the address of the last #PF the core raised */
	const char *stop_why;
	bool refaulting;        /* the next exception is one the core asked the host to raise */
	uint32_t ev_cycles;     /* cycles a bare CPU charges for delivery attempts beyond the first
	                         * (faults while delivering), for this trap */
	bool assist;            /* the core offers its guest the assist (set by the host; nested
	                         * paging only) */
	struct vmm_nest nest;
	struct vmm_resv resv;   /* the monitor's reserved linear range (vmm_reserve) */
	uint32_t installed[VMM_NSEG]; /* shadow entries vmm_install_segments wrote (hpa; 0: none) */
	uint32_t scratch[1024];  /* a page read whole (no state: used within one call) */
};

/*
 * Prepares `vm` to run a guest of `ram_size` bytes at host-physical
 * `ram_base`, entering in the state a multiboot loader leaves (protected
 * mode, paging off, flat segments, CPL 0) as described by `entry`.
 * The monitor's tables come from the `mon_pages` pages at host-physical
 * `mon_base`, which no VM may reach. Returns false (vm->stop_why set) if the host has no pages.
 * `regs` is filled with the real state to load. With `keep_caches` the
 * guest has just set CR0.PE in real mode and its segment registers still
 * hold real-mode caches: they are kept as they are in `regs` (at DPL 3)
 * until the guest reloads them.
 */
bool vmm_init(struct vmm *vm, const struct vmm_host_ops *ops, enum vmm_paging paging,
              bool faithful, uint32_t ram_base, uint32_t ram_size, uint32_t mon_base,
              uint32_t mon_pages, const struct vmm_vcpu *entry,
              const uint16_t sel[VMM_NSEG], bool keep_caches, struct vmm_regs *regs);

/*
 * Lets the guest read and run a ROM at guest-physical [gpa, gpa + size),
 * which the host has at the same host-physical addresses (a PC's BIOS ROM
 * at the top of the 4 GiB space): mapped read-only; writes are device
 * writes (ignored by a ROM). False if the nested map has no room.
 */
bool vmm_map_rom(struct vmm *vm, uint32_t gpa, uint32_t size);

/*
 * Reserves the linear range and GDT entries of `r` for the monitor in
 * every shadow from now on (shadow paging only: false otherwise, or if
 * r->base is not 4 MiB aligned). `regs` gets the current shadow root and
 * GDTR again.
 */
bool vmm_reserve(struct vmm *vm, const struct vmm_resv *r, struct vmm_regs *regs);

/*
 * For a host that enters the guest by loading its segment registers from
 * the shadow tables (IRET) rather than from `regs` directly: makes the
 * shadow entry of each selector in `regs->seg` (current view) hold the
 * descriptor of its cache, so the loads give the caches the core chose.
 */
void vmm_install_segments(struct vmm *vm, const struct vmm_regs *regs);

/* Releases every page the monitor holds for this VM. */
void vmm_destroy(struct vmm *vm);

/*
 * The trap: the real CPU was about to deliver event `vec` (error code
 * `err`, ERR_NONE-like -1 for none; `flags` CPU_EV_* as in the engine;
 * `cr2` the fault address of a #PF, `gpa` the guest-physical address of a
 * nested miss) while the guest ran with real state `regs`. The core
 * handles it and returns what happened; `regs` holds the state to resume.
 */
struct vmm_result vmm_trap(struct vmm *vm, struct vmm_regs *regs, int vec, int err,
                           unsigned flags, uint32_t cr2, uint32_t gpa);

/*
 * The interrupt shadow after a trap that `res` answered (event `flags`):
 * 1 to hold interrupts for one instruction, 0 to end a shadow, -1 to leave
 * it as it is. An instruction that trapped and runs again (a hidden fault,
 * one element of a REP string) has not ended for the guest, so no
 * interrupt may come between, as none would on a bare machine; one the
 * monitor retired ends a shadow, unless it starts one (STI, MOV SS).
 */
int vmm_intr_shadow(const struct vmm_result *res, unsigned flags);

/* The guest-visible EFLAGS for real EFLAGS `real`. */
uint32_t vmm_guest_eflags(const struct vmm *vm, uint32_t real);

/*
 * Translates guest-virtual `gva` as the guest's own tables say, without
 * side effects. Returns false if not mapped; *gpa the guest-physical
 * address.
 */
bool vmm_translate(struct vmm *vm, uint32_t gva, uint32_t *gpa);

/* Names for the exit reasons and the privileged-instruction kinds. */
const char *vmm_exit_name(enum vmm_exit e);
extern const char *const vmm_priv_names[16];

#endif
