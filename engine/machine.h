/*
 * machine.h - the machine's parts, for the files of engine/ that need more
 * than nestlab.h gives front ends (devices, loaders, the monitor, tests of
 * the engine itself).
 */
#ifndef NESTLAB_MACHINE_H
#define NESTLAB_MACHINE_H

#include "cpu.h"
#include "debugport.h"
#include "ioport.h"
#include "nestlab.h"
#include "physmem.h"

/* The CPU, physical memory, port space and debug ports of `m` (owned by m). */
struct cpu *machine_cpu(struct machine *m);
/* Moves virtual time on by `cycles` without running the CPU (as if it were
 * halted) and fires the device timers that come due: for device tests and
 * the device fuzzer. */
void machine_advance(struct machine *m, uint64_t cycles);
struct pmem *machine_pmem(struct machine *m);
struct ioport_map *machine_io(struct machine *m);
struct dev_debugport *machine_debugport(struct machine *m);

#endif
