/*
 * hist.h - history: going back to any instruction of a run (trc_hist_*).
 *
 * While the machine runs forward, trc_hist_tick() takes a checkpoint
 * (machine_save, zstd-compressed, in memory) every `interval`
 * instructions. Going back to instruction N restores the last checkpoint
 * at or before N and runs forward to N: the machine is deterministic, so
 * the state is exactly the one the run had there. Within the memory
 * budget, checkpoints stay dense near the present and thin out with age
 * (the one at the start is always kept), so a step back near the present
 * is fast and any older point is still reachable.
 *
 * Instruction counts are the CPU's (machine_get_regs().icount): one
 * machine, or the VM the CPU holds.
 *
 * Checkpoints are incremental (hist.c): each holds the machine's state
 * without memory and only the pages written since the one before.
 * Writes by a debugger are logged inputs (trc_hist_set_reg,
 * trc_hist_write_mem) that replays apply again at their instruction
 * count; runs in the past must therefore go through trc_hist_run() or
 * trc_hist_seek(), never machine_run() directly. Host input (stdin's
 * bytes, machine_inject_serial) is logged too, through the machine's
 * input log, which the history takes over: a replay injects each input
 * again at its moment, and stdin is read only at the present.
 */
#ifndef NESTLAB_HIST_H
#define NESTLAB_HIST_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nestlab.h"

#define TRC_HIST_DEFAULT_BUDGET (256u << 20) /* bytes of compressed checkpoints */
#define TRC_HIST_DEFAULT_INTERVAL 1000000u   /* instructions between checkpoints */

struct trc_hist;

/* History for `m`, starting with a checkpoint of its state now. */
struct trc_hist *trc_hist_new(struct machine *m, size_t budget, uint64_t interval);
void trc_hist_free(struct trc_hist *h);

/* The machine's instruction count now. */
uint64_t trc_hist_icount(const struct trc_hist *h);
/* The earliest instruction count reachable (the first checkpoint's). */
uint64_t trc_hist_start(const struct trc_hist *h);
/* The furthest the run has gone (the present: going back never loses it). */
uint64_t trc_hist_end(const struct trc_hist *h);

/* Between forward runs: notes how far the run has gone, and takes a
 * checkpoint if one is due. */
void trc_hist_tick(struct trc_hist *h);
/* Runs forward at most `n` instructions, ticking as it goes, and stops
 * early for a debugger stop (MACHINE_BREAK) or the guest's end. */
enum machine_stop trc_hist_run(struct trc_hist *h, uint64_t n);

/* Makes the machine's state the one the run had when instruction count
 * `target` was reached (trc_hist_start() <= target <= trc_hist_end()).
 * False with a message otherwise. May take long for an old target: the
 * run stops early (and returns false, "interrupted") when `interrupted`
 * is set. */
bool trc_hist_seek(struct trc_hist *h, uint64_t target, volatile int *interrupted,
                   GError **error);

/*
 * A debugger's writes, at the instruction count now: applied, and logged
 * as inputs stamped with that count, so every later replay through this
 * point (a seek, reverse-stepi, reverse-continue) applies them again at
 * the same place. If now is in the past, the history after it is dropped:
 * with the write, it no longer happened, and the run goes on from here.
 * False (nothing done) if the register is unknown or a virtual page is
 * not mapped.
 */
bool trc_hist_set_reg(struct trc_hist *h, enum machine_reg reg, uint32_t v);
bool trc_hist_write_mem(struct trc_hist *h, uint32_t addr, const void *buf, size_t len, bool phys);
/* Writes logged so far (in the history kept). */
unsigned trc_hist_writes(const struct trc_hist *h);

/* Figures for benchmarks: checkpoints kept and their bytes. */
void trc_hist_usage(const struct trc_hist *h, unsigned *count, size_t *bytes);

#endif
