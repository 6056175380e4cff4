/*
 * dbgtarget.h - a machine, with its history, as the gdb stub's target
 * (trc_dbg_*).
 *
 * Forward: the machine runs; checkpoints are taken as it goes (trc_hist),
 * so history is there without asking (--no-history turns it off).
 * Backward: reverse-stepi goes to the previous instruction count;
 * reverse-continue searches the checkpoint windows before now, newest
 * first, replaying each with the debugger's points set, and goes to the
 * last hit before now (or to the start of history: replaylog begin).
 */
#ifndef NESTLAB_DBGTARGET_H
#define NESTLAB_DBGTARGET_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "gdbstub.h"
#include "hist.h"
#include "nestlab.h"

struct trc_dbg;

/* A target for `m`; with `history`, reverse execution is possible from
 * this point on, its checkpoints within `budget` bytes (0: the default,
 * TRC_HIST_DEFAULT_BUDGET). */
struct trc_dbg *trc_dbg_new(struct machine *m, bool history, size_t budget);
void trc_dbg_free(struct trc_dbg *d);
const struct trc_gdb_target_ops *trc_dbg_ops(void);
/* What the stub's resume does, without a connection (for tests). */
void trc_dbg_resume(struct trc_dbg *d, enum trc_gdb_resume how, struct trc_gdb_stop *stop);
/* Goes to instruction count `target`: forward (recording history), or
 * back through history. False if outside it or the guest ends first. */
bool trc_dbg_seek(struct trc_dbg *d, uint64_t target);
/* The guest's end, if a resume reached it (exit status for W packets). */
bool trc_dbg_ended(const struct trc_dbg *d, enum machine_stop *st);

#endif
