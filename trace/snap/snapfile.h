/*
 * snapfile.h - snapshot files: a machine's state and how to build it again.
 *
 * A snapshot file is a trc_file of kind TRC_FILE_SNAPSHOT
 * (docs/trace-format.md) with two records:
 *
 *   TRC_SNAP_ARGS   the nestlab-run arguments that build the machine (the
 *                   guest, its disks, inputs, monitor, VMs), NUL-separated
 *   TRC_SNAP_STATE  machine_save()'s bytes, zstd-compressed; key: the
 *                   instruction count at which it was taken
 *
 * Restoring builds the machine from the arguments and loads the state into
 * it (machine_restore), so it continues bit for bit, in any process.
 */
#ifndef NESTLAB_SNAPFILE_H
#define NESTLAB_SNAPFILE_H

#include <glib.h>
#include <stdint.h>

#include "nestlab.h"

enum { TRC_SNAP_ARGS = 1, TRC_SNAP_STATE = 2 };

/* Writes machine `m` (taken at instruction `icount`) and the arguments
 * `args` (NULL-terminated) to `path`. False with a message on failure (the
 * file is then left as it was). */
bool trc_snap_write(const char *path, struct machine *m, uint64_t icount, char **args,
                    GError **error);
/* Reads a snapshot file: the arguments (*args, free with g_strfreev), the
 * state bytes (*state) and its instruction count. False with a message
 * naming the file and what is wrong. */
bool trc_snap_read(const char *path, char ***args, GBytes **state, uint64_t *icount,
                   GError **error);

/* {====== VM snapshots ======
 *
 * One VM's state (machine_vm_save) is a snapshot-kind file with one
 * record, TRC_SNAP_VM: the bytes, zstd-compressed; key: the VM's own
 * instruction count. It has no arguments record: the machine it goes
 * into is built from its own (machine_vm_load, a VM slot of it). Each
 * reader names the other file and option when given the other kind.
 */
enum { TRC_SNAP_VM = 7 };

/* Writes VM `i` of `m` to `path`; false with a message (no such VM, or
 * the file cannot be written: it is then left as it was). */
bool trc_snap_write_vm(const char *path, struct machine *m, unsigned i, GError **error);
/* Reads a VM snapshot file: the state bytes (*state) and the VM's
 * instruction count when it was saved. */
bool trc_snap_read_vm(const char *path, GBytes **state, uint64_t *icount, GError **error);

/* }====================================================================== */

/* {====== recordings ======
 *
 * A recording (TRC_FILE_RECORDING) is the arguments, the machine's state
 * when recording began, a checkpoint every so many instructions (flushed
 * as it is written, so a crash leaves a replayable prefix) and, when the
 * run ended normally, an end record: the instruction count, exit status,
 * state hash and console hash it ended with; each checkpoint comes with a
 * mark (the same three figures, the guest's view of the machine there:
 * a checkpoint's own bytes also hold statistics, such as page walks, that
 * a restore changes). Scripted input comes from the arguments (--input);
 * input from outside (stdin on a serial port) is logged as it arrives, an
 * input record each (flushed at once), stamped with the moment it took
 * effect (machine_set_input_log). The machine is deterministic, so
 * replaying is restoring the start, queueing the inputs
 * (machine_replay_input) and running: each checkpoint and the end are
 * then compared with what the recording says.
 */
enum { TRC_REC_ARGS = 1, TRC_REC_START = 3, TRC_REC_CHECKPOINT = 4, TRC_REC_END = 5, TRC_REC_MARK = 6,
       TRC_REC_INPUT = 8 };

/* An input record's payload: icount (8), cycles (8), kind (4), unit (4),
 * then the bytes (little-endian; the key is the icount). */
#define TRC_REC_INPUT_HEADER 24

/* The end record's contents. */
struct trc_rec_end {
	uint64_t icount;
	int32_t status;
	char state_hash[65], console_hash[65];
};

struct trc_rec_writer;
struct trc_rec_writer *trc_rec_create(const char *path, struct machine *m, uint64_t icount,
                                      char **args, GError **error);
bool trc_rec_checkpoint(struct trc_rec_writer *w, struct machine *m, const struct trc_rec_end *mark,
                        GError **error);
bool trc_rec_finish(struct trc_rec_writer *w, const struct trc_rec_end *end, GError **error);
/* Appends one input (machine_set_input_log's event) and flushes it to the
 * OS, so a crash leaves it in the readable prefix. */
bool trc_rec_input(struct trc_rec_writer *w, const struct machine_input_event *ev, GError **error);

struct trc_rec_reader;
/* Opens a recording: the arguments, and the start state in *state. A cut
 * recording opens (its warning in trc_rec_warning); a damaged one not. */
struct trc_rec_reader *trc_rec_open(const char *path, char ***args, GBytes **state,
                                    uint64_t *start, GError **error);
const char *trc_rec_warning(const struct trc_rec_reader *r);
/* The marks after the start, in order (each with its checkpoint): count,
 * and mark i (false with a message if it or its checkpoint is damaged). */
size_t trc_rec_marks(const struct trc_rec_reader *r);
bool trc_rec_mark(struct trc_rec_reader *r, size_t i, struct trc_rec_end *mark, GError **error);
/* The input records, in order: count, and input i (its bytes in *data,
 * ev->data pointing into them; free with g_bytes_unref). False with a
 * TRC_FILE_ERROR_DAMAGED message if the record is damaged, malformed, or
 * comes before the input before it. */
size_t trc_rec_inputs(const struct trc_rec_reader *r);
bool trc_rec_input_at(struct trc_rec_reader *r, size_t i, struct machine_input_event *ev,
                      GBytes **data, GError **error);
/* The end record, if the recording has one. */
bool trc_rec_end(struct trc_rec_reader *r, struct trc_rec_end *end);
void trc_rec_close(struct trc_rec_reader *r);

/* }====================================================================== */

#endif
