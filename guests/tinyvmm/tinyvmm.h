/*
 * guests/tinyvmm/tinyvmm.h - what tinyvmm's files share.
 */
#ifndef TINYVMM_H
#define TINYVMM_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm.h"

/*
 * The faithful trap path's reservation in every shadow of its guest
 * (docs/monitor.md, section 8): for `slot=K` (0 to TV_SLOTS - 1, default 0)
 * the 4 MiB of linear space at TV_RESV_TOP - K * 4 MiB and the GDT entries
 * from TV_GDT_TOP - K * 8 up. Below xv6's device window (0xFE000000 up);
 * each tinyvmm of a stack takes a slot of its own.
 */
#define TV_SLOTS 8
#define TV_RESV_TOP 0xFD800000u
#define TV_GDT_TOP 8184

/* Ends the run with "tinyvmm: MESSAGE" and exit status 0x7E. */
_Noreturn __attribute__((format(printf, 1, 2))) void tv_die(const char *fmt, ...);

/* An NMI reached tinyvmm between two runs of its guest: the guest's. */
extern volatile bool tv_nmi_pending;

/*
 * Runs the guest that vmm_init() prepared in `vm` and `r` without the
 * assist (world.c): tinyvmm's own IDT, TSS and page tables, and `slot`'s
 * reservation in every shadow. Does not return: the
 * guest's end is the machine's.
 */
_Noreturn void tv_world_run(struct vmm *vm, struct vmm_regs *r, unsigned slot);

#endif
