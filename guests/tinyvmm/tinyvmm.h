/*
 * guests/tinyvmm/tinyvmm.h - what tinyvmm's files share.
 */
#ifndef TINYVMM_H
#define TINYVMM_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm.h"

/* The default reserved linear range of the faithful trap path (resv=). */
#define TV_RESV_DEFAULT 0xFD800000u

/* Ends the run with "tinyvmm: MESSAGE" and exit status 0x7E. */
_Noreturn __attribute__((format(printf, 1, 2))) void tv_die(const char *fmt, ...);

/* An NMI reached tinyvmm between two runs of its guest: the guest's. */
extern volatile bool tv_nmi_pending;

/*
 * Runs the guest that vmm_init() prepared in `vm` and `r` without the
 * assist (world.c): tinyvmm's own IDT, TSS and page tables, the 4 MiB of
 * linear space at `resv` reserved in every shadow. Does not return: the
 * guest's end is the machine's.
 */
_Noreturn void tv_world_run(struct vmm *vm, struct vmm_regs *r, uint32_t resv);

#endif
