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

#endif
