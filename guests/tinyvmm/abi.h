/*
 * abi.h - tinyvmm's side of the introspection ABI (guests/lib/rt/nlabi.h,
 * docs/abi.md): it tells the engine it is a monitor, declares its guest,
 * and marks the guest running around each world switch, so the engine
 * knows which level executes.
 */
#ifndef TINYVMM_ABI_H
#define TINYVMM_ABI_H

#include <stdint.h>

#include "assist.h"
#include "vmm.h"

/* HELLO, then VM_CREATE for the guest (id 1) whose RAM is tinyvmm's
 * [ram_base, ram_base + ram_size), with the core's blocks for it: `vm`
 * (its vCPU, nested-run record and exit counts) and `run` (its registers
 * between runs; NULL on the faithful trap path, which has neither a run
 * block nor the assist's world-switch record). `name`: the guest's, from
 * its module's path. On a CPU without the ABI the calls do nothing. */
void abi_start(const struct vmm *vm, const struct nl_run *run, uint32_t ram_base,
               uint32_t ram_size, const char *name);

/* Just before the world switch to guest `id`, and just after it comes
 * back: the running-child word the engine reads. */
void abi_child_running(uint32_t id);
void abi_child_stopped(void);

#endif
