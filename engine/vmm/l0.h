/*
 * l0.h - the L0 monitor: the monitor core (engine/vmm/core) driving the
 * engine's own CPU. The machine (machine.c) creates one per VM when a
 * monitor runs (--monitor=shadow|nested); docs/monitor.md is the design.
 */
#ifndef NESTLAB_L0_H
#define NESTLAB_L0_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"
#include "ioport.h"
#include "physmem.h"
#include "vmm.h"

struct l0;

/* Where a VM lives and how it is run. */
struct l0_config {
	enum vmm_paging paging;
	bool faithful;           /* strict mode off: a real i386 under the monitor */
	uint32_t ram_base, ram_size; /* the VM's RAM share (host-physical) */
	uint32_t mon_base, mon_pages; /* the monitor's own pages */
	struct ioport_map *io;   /* the VM's ports */
	struct pmem *devmem;     /* the VM's device pages (MMIO at guest-physical addresses) */
	struct pmem *hostmem;    /* host-physical memory (shares, monitor pages) */
	bool from_real_mode;     /* the guest has just set CR0.PE (a ROM's start) */
	uint32_t rom_base, rom_size; /* a ROM the guest may run, host-physical = guest-physical */
	bool assist;             /* offer the guest the assist (nested paging only; core/nest.c) */
};

/*
 * Takes over `cpu`, which holds the state a loader left for the guest
 * (protected mode, paging off, CPL 0; or, from_real_mode, the state right
 * after the guest set CR0.PE), and from now on runs that guest
 * deprivileged under the monitor. Returns NULL with a message in *why if
 * the monitor cannot start.
 */
struct l0 *l0_start(struct cpu *cpu, const struct l0_config *cfg, const char **why);
void l0_free(struct l0 *l);

/* Snapshots. l0_attach() makes a monitor for `cpu` with no guest state,
 * to be filled by l0_restore() from what l0_save() appended; false if the
 * bytes are not such a state (another build or size). l0_bind_guest()
 * points a saved cpu_guest's host hooks at `l`. */
struct l0 *l0_attach(struct cpu *cpu, const struct l0_config *cfg);
void l0_save(const struct l0 *l, GByteArray *out);
bool l0_restore(struct l0 *l, const uint8_t *buf, size_t len);
void l0_bind_guest(struct l0 *l, struct cpu_guest *g);

/* Why the VM stopped (NULL while it can run). */
const char *l0_stopped(const struct l0 *l);

/* The guest's registers as the guest sees them (its CS and SS selectors,
 * EFLAGS with its IOPL, its CR0-CR4, descriptor table registers, CPL). */
struct l0_guest_regs {
	uint32_t r[8], eip, eflags;
	uint16_t sel[6];
	uint32_t seg_base[6], seg_limit[6];
	uint32_t cr0, cr2, cr3, cr4;
	uint32_t gdt_base, gdt_limit, idt_base, idt_limit;
	uint16_t ldtr, tr;
	uint8_t cpl;
};
void l0_guest_regs(const struct l0 *l, struct l0_guest_regs *out);

/* Exit statistics: counts and modelled cycles by reason, the cycles the
 * guest saw, and the monitor's page-walk references. */
const struct vmm_stats *l0_stats(const struct l0 *l);
uint64_t l0_overhead_cycles(const struct l0 *l);
const struct vmm *l0_vmm(const struct l0 *l);

/* Calls `fn` (NULL: none) at every trap, before the core sees it
 * (`after` false) and once its result is in the CPU (`after` true): the
 * tree's per-level statistics (engine/vm/tree.c). Host-side: not saved. */
void l0_set_exit_hook(struct l0 *l, void (*fn)(void *opaque, bool after), void *opaque);

#endif
