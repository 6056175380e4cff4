/*
 * run-record.c - snapshots of the whole machine (--snapshot-at, --restore)
 * and recordings (--record, --replay): a recording is the arguments, the
 * machine at the start, a checkpoint every 20 million instructions, the
 * input log and the end; a replay must meet each exactly (docs/nestlab-run.md).
 */
#include <errno.h>
#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "nestlab.h"
#include "run.h"
#include "snapfile.h"
#include "trcfile.h"

/* {====== snapshots ====== */

char **g_args;       /* the arguments that build the guest (saved in snapshots) */
bool gdb_given;      /* --gdb was on the command line */
bool g_replaying;    /* --replay FILE */
struct trc_rec_reader *g_replay;
GBytes *g_restore;   /* the state --restore loads */
static uint64_t g_snap_at;  /* --snapshot-at N ... */
const char *g_snap_file; /* ... FILE */

/* Accepts '--snapshot-at N FILE' as well as '--snapshot-at=N:FILE'. */
void join_snapshot_at(int *argc, char ***argv)
{
	for (int i = 1; i + 2 < *argc; i++) {
		if (strcmp((*argv)[i], "--snapshot-at") != 0 || strchr((*argv)[i + 1], ':'))
			continue;
		char *joined = g_strdup_printf("--snapshot-at=%s:%s", (*argv)[i + 1], (*argv)[i + 2]);
		(*argv)[i] = keep(joined);
		memmove(&(*argv)[i + 1], &(*argv)[i + 3], (size_t)(*argc - i - 3) * sizeof(char *));
		*argc -= 2;
		(*argv)[*argc] = NULL;
	}
}

/* The arguments to save in a snapshot: all but the snapshot options. */
char **guest_args(int argc, char **argv)
{
	/* The options that are about this run, not the machine (with their
	 * value when it is the next argument). */
	static const char *const own[] = { "--snapshot-at", "--restore", "--gdb", "--record",
	                                   "--replay", "--vm-save-at", "--vm-load", "--history-mib" };
	GPtrArray *a = g_ptr_array_new();
	for (int i = 1; i < argc; i++) {
		bool skip = strcmp(argv[i], "--no-history") == 0;
		for (size_t k = 0; !skip && k < G_N_ELEMENTS(own); k++) {
			if (strcmp(argv[i], own[k]) == 0) {
				skip = true;
				i++; /* its value */
			} else if (g_str_has_prefix(argv[i], own[k]) && argv[i][strlen(own[k])] == '=') {
				skip = true;
			}
		}
		if (!skip)
			g_ptr_array_add(a, g_strdup(argv[i]));
	}
	g_ptr_array_add(a, NULL);
	return (char **)g_ptr_array_free(a, FALSE);
}

/* --restore FILE: the saved arguments go first, then the ones given now.
 * Returns 0, or an exit status after a message. */
int load_restore(int *argc, char ***argv)
{
	const char *path = NULL;
	int at = -1, n = 0;
	for (int i = 1; i < *argc; i++) {
		if (strcmp((*argv)[i], "--restore") == 0 && i + 1 < *argc) {
			path = (*argv)[i + 1], at = i, n = 2;
		} else if (g_str_has_prefix((*argv)[i], "--restore=")) {
			path = (*argv)[i] + strlen("--restore="), at = i, n = 1;
		}
	}
	for (int i = 1; !path && i < *argc; i++) {
		if (strcmp((*argv)[i], "--replay") == 0 && i + 1 < *argc)
			path = (*argv)[i + 1], at = i, n = 2, g_replaying = true;
		else if (g_str_has_prefix((*argv)[i], "--replay="))
			path = (*argv)[i] + strlen("--replay="), at = i, n = 1, g_replaying = true;
	}
	if (!path)
		return 0;
	char **saved;
	uint64_t icount;
	GError *error = NULL;
	if (g_replaying) {
		g_replay = trc_rec_open(path, &saved, &g_restore, &icount, &error);
		if (g_replay && trc_rec_warning(g_replay))
			fprintf(stderr, "nestlab-run: %s\n", trc_rec_warning(g_replay));
	}
	if (g_replaying ? !g_replay : !trc_snap_read(path, &saved, &g_restore, &icount, &error)) {
		fprintf(stderr, "nestlab-run: cannot %s: %s\n", g_replaying ? "replay" : "restore",
		        error->message);
		int code = error->domain == TRC_FILE_ERROR && error->code == TRC_FILE_ERROR_IO
		           ? EXIT_NOINPUT : EXIT_BAD_SNAPSHOT;
		g_error_free(error);
		return code;
	}
	GPtrArray *v = g_ptr_array_new();
	g_ptr_array_add(v, (*argv)[0]);
	for (char **p = saved; *p; p++)
		g_ptr_array_add(v, keep(g_strdup(*p)));
	for (int i = 1; i < *argc; i++)
		if (i < at || i >= at + n)
			g_ptr_array_add(v, (*argv)[i]);
	g_strfreev(saved);
	*argc = (int)v->len;
	g_ptr_array_add(v, NULL);
	*argv = (char **)g_ptr_array_free(v, FALSE);
	fprintf(stderr, "nestlab-run: %s %s (from instruction %" PRIu64 ")\n",
	        g_replaying ? "replaying" : "restoring", path, icount);
	return 0;
}

bool parse_snapshot_at(const char *spec)
{
	const char *colon = strchr(spec, ':');
	if (!colon || colon == spec || !colon[1])
		return false;
	char *num = g_strndup(spec, (size_t)(colon - spec));
	char *end;
	errno = 0;
	g_snap_at = g_ascii_strtoull(num, &end, 10);
	bool ok = *end == 0 && errno == 0 && g_snap_at > 0;
	g_free(num);
	g_snap_file = colon + 1;
	return ok;
}

/* Runs to --snapshot-at's instruction and writes the snapshot there.
 * Returns MACHINE_LIMIT to go on, another stop if the guest ended first,
 * or sets *code on a write error. */
enum machine_stop run_to_snapshot(struct machine *m, int *code)
{
	uint64_t done = total_icount(m);
	if (g_snap_at > done) {
		enum machine_stop st = machine_run(m, g_snap_at - done);
		if (st != MACHINE_LIMIT) {
			fprintf(stderr, "nestlab-run: the guest stopped before instruction %" PRIu64
			        ": no snapshot written\n", g_snap_at);
			return st;
		}
	}
	GError *error = NULL;
	uint64_t at = total_icount(m);
	if (!trc_snap_write(g_snap_file, m, at, g_args, &error)) {
		fprintf(stderr, "nestlab-run: cannot write the snapshot: %s\n", error->message);
		g_error_free(error);
		*code = EXIT_CANTCREAT;
		return MACHINE_STOPPED;
	}
	fprintf(stderr, "nestlab-run: snapshot at instruction %" PRIu64 " written to %s\n", at,
	        g_snap_file);
	return MACHINE_LIMIT;
}

/* }====================================================================== */

/* {====== recording and replay ====== */

#define RECORD_EVERY 20000000u /* instructions between a recording's checkpoints */

static void end_of(struct machine *m, int code, struct trc_rec_end *e)
{
	*e = (struct trc_rec_end){ .icount = total_icount(m), .status = code };
	machine_state_hash(m, e->state_hash);
	machine_console_hash(m, e->console_hash);
}

#define RECORD_INPUT_EVERY 100000u /* instructions between two reads of stdin while recording */

static GError *g_rec_error; /* the first error writing an input record */

/* The recording's input log: each input goes to the file as it comes. */
static void record_input(void *opaque, const struct machine_input_event *ev)
{
	if (!g_rec_error && !trc_rec_input(opaque, ev, &g_rec_error))
		machine_request_stop(g_machine);
}

/* Runs `n` instructions as short runs when a serial port reads stdin: the
 * machine reads it where a run begins (a moment a replay finds again). */
static enum machine_stop run_reading_stdin(struct machine *m, uint64_t n)
{
	bool stdio = g.serial[0].kind == MACHINE_SERIAL_STDIO ||
	             g.serial[1].kind == MACHINE_SERIAL_STDIO;
	const uint64_t start = total_icount(m);
	for (;;) {
		uint64_t done = total_icount(m) - start;
		if (done >= n)
			return MACHINE_LIMIT;
		uint64_t step = stdio ? MIN(RECORD_INPUT_EVERY, n - done) : n - done;
		enum machine_stop st = machine_run(m, step);
		if (st != MACHINE_LIMIT || total_icount(m) - start == done)
			return st;
	}
}

/* Runs while recording to o.record; *code is set on a write error. */
enum machine_stop run_recorded(struct machine *m, struct trc_rec_writer **w, int *code)
{
	GError *error = NULL;
	*w = trc_rec_create(o.record, m, total_icount(m), g_args, &error);
	if (!*w) {
		fprintf(stderr, "nestlab-run: cannot record: %s\n", error->message);
		g_error_free(error);
		*code = EXIT_CANTCREAT;
		return MACHINE_STOPPED;
	}
	uint64_t max = (uint64_t)o.max_insns;
	for (;;) {
		uint64_t done = total_icount(m), n = RECORD_EVERY;
		if (max && done >= max)
			return MACHINE_LIMIT;
		if (max && max - done < n)
			n = max - done;
		machine_set_input_log(m, record_input, *w);
		enum machine_stop st = run_reading_stdin(m, n);
		machine_set_input_log(m, NULL, NULL);
		if (g_rec_error) {
			fprintf(stderr, "nestlab-run: recording failed: %s\n", g_rec_error->message);
			g_clear_error(&g_rec_error);
			*code = EXIT_IOERR;
			return MACHINE_STOPPED;
		}
		if (st != MACHINE_LIMIT || (max && total_icount(m) >= max))
			return st;
		struct trc_rec_end mark;
		end_of(m, 0, &mark);
		if (!trc_rec_checkpoint(*w, m, &mark, &error)) {
			fprintf(stderr, "nestlab-run: recording failed: %s\n", error->message);
			g_error_free(error);
			*code = EXIT_IOERR;
			return MACHINE_STOPPED;
		}
	}
}

/* The machine at `want`'s instruction count must look as it says. */
static bool meets(struct machine *m, const struct trc_rec_end *want, const char *what)
{
	struct trc_rec_end mine;
	end_of(m, 0, &mine);
	if (mine.icount == want->icount && !strcmp(mine.state_hash, want->state_hash) &&
	    !strcmp(mine.console_hash, want->console_hash))
		return true;
	fprintf(stderr, "nestlab-run: the replay differs from the recording at %s: instruction %"
	        PRIu64 ", state hash %s, console hash %s; the recording has %" PRIu64 ", %s, %s\n",
	        what, mine.icount, mine.state_hash, mine.console_hash, want->icount,
	        want->state_hash, want->console_hash);
	return false;
}

static GArray *g_replay_moments; /* struct machine_input_event (no bytes), as recorded */
static guint g_replayed;         /* inputs injected so far */
static char g_replay_wrong[256]; /* the first input injected at another moment */

/* The replay's input log: each input must take effect at its recorded moment. */
static void replayed_input(void *opaque, const struct machine_input_event *ev)
{
	const struct machine_input_event *want =
		g_replayed < g_replay_moments->len
		? &g_array_index(g_replay_moments, struct machine_input_event, g_replayed) : NULL;
	g_replayed++;
	if (g_replay_wrong[0] || (want && want->icount == ev->icount && want->cycles == ev->cycles))
		return;
	g_snprintf(g_replay_wrong, sizeof g_replay_wrong,
	           "its input %u took effect at instruction %" PRIu64 " (cycle %" PRIu64 "); the "
	           "recording has %" PRIu64 " (cycle %" PRIu64 ")", g_replayed, ev->icount,
	           ev->cycles, want ? want->icount : 0, want ? want->cycles : 0);
}

/* Hands the recording's input log to the machine; false (after a message)
 * if an input record is damaged. */
static bool queue_inputs(struct machine *m)
{
	g_replay_moments = g_array_new(FALSE, FALSE, sizeof(struct machine_input_event));
	for (size_t i = 0; i < trc_rec_inputs(g_replay); i++) {
		struct machine_input_event ev;
		GBytes *data = NULL;
		GError *error = NULL;
		bool ok = trc_rec_input_at(g_replay, i, &ev, &data, &error) &&
		          machine_replay_input(m, &ev, &error);
		if (data)
			g_bytes_unref(data);
		if (!ok) {
			fprintf(stderr, "nestlab-run: cannot replay: %s\n", error->message);
			g_error_free(error);
			return false;
		}
		ev.data = NULL;
		g_array_append_val(g_replay_moments, ev);
	}
	machine_set_input_log(m, replayed_input, NULL);
	return true;
}

/* False (after a message) once an input took effect at another moment. */
static bool inputs_met(void)
{
	if (!g_replay_wrong[0])
		return true;
	fprintf(stderr, "nestlab-run: the replay differs from the recording: %s\n", g_replay_wrong);
	return false;
}

/* Replays g_replay: each mark must be met exactly, then the end. */
enum machine_stop run_replayed(struct machine *m, int *code)
{
	enum machine_stop st = MACHINE_LIMIT;
	size_t n = trc_rec_marks(g_replay);
	if (!queue_inputs(m)) {
		*code = EXIT_BAD_SNAPSHOT;
		return MACHINE_STOPPED;
	}
	for (size_t i = 0; i < n; i++) {
		struct trc_rec_end mark;
		GError *error = NULL;
		if (!trc_rec_mark(g_replay, i, &mark, &error)) {
			fprintf(stderr, "nestlab-run: cannot replay: %s\n", error->message);
			g_error_free(error);
			*code = EXIT_BAD_SNAPSHOT;
			return MACHINE_STOPPED;
		}
		uint64_t now = total_icount(m);
		if (mark.icount > now)
			st = machine_run(m, mark.icount - now);
		char what[64];
		g_snprintf(what, sizeof what, "its checkpoint %zu", i + 1);
		if (st != MACHINE_LIMIT || !inputs_met() || !meets(m, &mark, what)) {
			*code = EXIT_REPLAY_DIFFERS;
			return MACHINE_STOPPED;
		}
	}
	struct trc_rec_end end;
	if (!trc_rec_end(g_replay, &end)) {
		fprintf(stderr, "nestlab-run: the recording has no end (it was cut short); the replay "
		        "met all its %zu checkpoints and stops at the last\n", n);
		*code = EXIT_REPLAY_SHORT;
		return MACHINE_STOPPED;
	}
	uint64_t now = total_icount(m);
	if (end.icount > now)
		st = machine_run(m, end.icount - now);
	if (!inputs_met() || !meets(m, &end, "its end")) {
		*code = EXIT_REPLAY_DIFFERS;
		return MACHINE_STOPPED;
	}
	fprintf(stderr, "nestlab-run: replay identical to the recording: %zu checkpoint%s, %u input%s "
	        "and the end (instruction %" PRIu64 ", state hash %s)\n", n, n == 1 ? "" : "s",
	        g_replay_moments->len, g_replay_moments->len == 1 ? "" : "s", end.icount,
	        end.state_hash);
	return st;
}

int finish_recording(struct machine *m, struct trc_rec_writer *rec, int code)
{
	struct trc_rec_end end;
	end_of(m, code, &end);
	GError *rec_error = NULL;
	if (!trc_rec_finish(rec, &end, &rec_error)) {
		fprintf(stderr, "nestlab-run: recording failed: %s\n", rec_error->message);
		g_error_free(rec_error);
		return EXIT_IOERR;
	}
	fprintf(stderr, "nestlab-run: recorded %" PRIu64 " instructions to %s\n", end.icount,
	        o.record);
	return code;
}

void close_replay(void)
{
	trc_rec_close(g_replay);
	g_replay = NULL;
	if (g_replay_moments)
		g_array_free(g_replay_moments, TRUE);
	g_replay_moments = NULL;
}

/* }====================================================================== */
