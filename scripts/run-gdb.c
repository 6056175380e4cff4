/*
 * run-gdb.c - nestlab-run --gdb PORT: the remote stub (trace/debug) serves
 * gdb before the first instruction, with the history for reverse execution
 * unless --no-history (docs/gdb.md).
 */
#include <glib.h>
#include <stdio.h>

#include "dbgtarget.h"
#include "nestlab.h"
#include "run.h"

/* {====== gdb ====== */

enum machine_stop serve_gdb(struct machine *m, int *code)
{
	GError *error = NULL;
	struct trc_gdb *stub = trc_gdb_listen(NULL, (uint16_t)o.gdb, &error);
	if (!stub) {
		fprintf(stderr, "nestlab-run: --gdb %d: %s\n", o.gdb, error->message);
		g_error_free(error);
		*code = EXIT_CANTCREAT;
		return MACHINE_STOPPED;
	}
	struct trc_dbg *d = trc_dbg_new(m, !o.no_history, (size_t)o.history_mib << 20);
	enum machine_stop st = MACHINE_LIMIT;
	for (;;) {
		fprintf(stderr, "nestlab-run: waiting for gdb on 127.0.0.1:%u\n", trc_gdb_port(stub));
		fflush(stderr);
		if (!trc_gdb_accept(stub, &error)) {
			fprintf(stderr, "nestlab-run: gdb: %s\n", error->message);
			g_error_free(error);
			*code = EXIT_CANTCREAT;
			st = MACHINE_STOPPED;
			break;
		}
		enum trc_gdb_end e = trc_gdb_serve(stub, trc_dbg_ops(), d);
		if (e == TRC_GDB_END_DETACH) {
			fprintf(stderr, "nestlab-run: gdb detached; the run goes on\n");
			break;
		}
		if (e == TRC_GDB_END_KILL) {
			fprintf(stderr, "nestlab-run: gdb ended the run\n");
			st = MACHINE_STOPPED;
			break;
		}
		fprintf(stderr, "nestlab-run: gdb went away\n");
	}
	enum machine_stop end;
	if (st == MACHINE_LIMIT && trc_dbg_ended(d, &end))
		st = end;
	trc_dbg_free(d);
	trc_gdb_free(stub);
	return st;
}

/* }====================================================================== */
