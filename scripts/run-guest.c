/*
 * run-guest.c - nestlab-run's main mode: build the machine, run it (to the
 * --vm-at and --vm-save-at points, under --trace-cpu, --gdb, --record or
 * --replay), then report how it ended.
 */
#include <errno.h>
#include <glib.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "itrace.h"
#include "nestlab.h"
#include "run.h"
#include "snapfile.h"
#include "trcfile.h"

struct machine *g_machine;

/* {====== the terminal for --serial stdio ====== */

static struct termios saved_termios;
static bool termios_saved;

static void restore_terminal(void)
{
	if (termios_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
	termios_saved = false;
}

/* Keys go to the guest one by one and unechoed (the guest echoes), as
 * on a serial terminal; Ctrl-C still stops the run. */
static void raw_terminal(void)
{
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_termios) != 0)
		return;
	struct termios t = saved_termios;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0) {
		termios_saved = true;
		atexit(restore_terminal);
	}
}

/* }====================================================================== */

static void on_sigint(int sig)
{
	if (g_machine)
		machine_request_stop(g_machine);
}

static void trace_line(FILE *f, const struct machine_regs *r)
{
	fprintf(f,
	        "%" PRIu64 " eip=%08x eax=%08x ecx=%08x edx=%08x ebx=%08x esp=%08x ebp=%08x "
	        "esi=%08x edi=%08x efl=%08x cs=%04x ss=%04x ds=%04x es=%04x fs=%04x gs=%04x "
	        "cr0=%08x cr2=%08x cr3=%08x cr4=%08x cpl=%u\n",
	        r->icount, r->eip, r->eax, r->ecx, r->edx, r->ebx, r->esp, r->ebp, r->esi, r->edi,
	        r->eflags, r->cs, r->ss, r->ds, r->es, r->fs, r->gs, r->cr0, r->cr2, r->cr3, r->cr4,
	        r->cpl);
}

static enum machine_stop run_traced(struct machine *m, FILE *trace, uint64_t max)
{
	struct machine_regs r;
	for (;;) {
		machine_get_guest_regs(m, &r);
		if (max && r.icount >= max)
			return MACHINE_LIMIT;
		trace_line(trace, &r);
		enum machine_stop st = machine_step(m);
		if (st != MACHINE_LIMIT)
			return st;
	}
}

int report_end(struct machine *m, enum machine_stop st)
{
	struct machine_regs r;
	machine_get_guest_regs(m, &r);
	int status = 0;
	int64_t post = machine_post_code(m);
	if (post >= 0 && o.rom) /* kernels use port 0x80 as an I/O delay */
		fprintf(stderr, "nestlab-run: POST code 0x%02" PRIx64 "\n", post);
	switch (st) {
	case MACHINE_EXIT:
		machine_exit_status(m, &status);
		return status & 0xff;
	case MACHINE_SHUTDOWN:
		fprintf(stderr, "nestlab-run: the machine shut down (%s) at %04x:%08x after %" PRIu64
		        " instructions\n", machine_shutdown_reason(m), r.cs, r.eip, r.icount);
		return EXIT_SHUTDOWN;
	case MACHINE_HALT:
		fprintf(stderr, "nestlab-run: the guest halted at %04x:%08x with nothing to wake it, "
		        "without writing the exit port 0xf4\n", r.cs, r.eip);
		return EXIT_HALT;
	case MACHINE_LIMIT:
		fprintf(stderr, "nestlab-run: stopped at the instruction limit (%" PRIu64
		        " instructions) at %04x:%08x\n", r.icount, r.cs, r.eip);
		return EXIT_LIMIT;
	case MACHINE_STOPPED:
	case MACHINE_BREAK:
		fprintf(stderr, "nestlab-run: interrupted at %04x:%08x after %" PRIu64 " instructions\n",
		        r.cs, r.eip, r.icount);
		return EXIT_INTERRUPTED;
	}
	return EXIT_SHUTDOWN;
}

uint64_t total_icount(struct machine *m)
{
	unsigned n = machine_vm_count(m);
	struct machine_regs r;
	if (n == 0) {
		machine_get_regs(m, &r);
		return r.icount;
	}
	uint64_t sum = 0;
	for (unsigned i = 0; i < n; i++) {
		struct machine_vm_info info;
		if (machine_vm_info(m, i, &info))
			sum += info.regs.icount;
	}
	return sum;
}

static int cmp_events(const void *a, const void *b)
{
	const struct vm_event *x = a, *y = b;
	return x->at < y->at ? -1 : x->at > y->at;
}

/* {====== VM snapshots (--vm-save-at, --vm-load) ====== */

static int g_vm_file_code; /* the exit status after a VM snapshot failed, or 0 */

/* --vm-save-at's event: VM ev->name to ev->file (its name checked by
 * load_vms). False, with g_vm_file_code set, if the file cannot be written. */
static bool save_vm(struct machine *m, const struct vm_event *ev)
{
	int i = machine_vm_find(m, ev->name);
	struct machine_vm_info info;
	GError *error = NULL;
	if (i < 0 || !machine_vm_info(m, (unsigned)i, &info) ||
	    info.state == MACHINE_VM_DESTROYED) {
		fprintf(stderr, "nestlab-run: at %" PRIu64 " instructions: VM %s was destroyed: no VM "
		        "snapshot written to %s\n", ev->at, ev->name, ev->file);
		return true;
	}
	if (!trc_snap_write_vm(ev->file, m, (unsigned)i, &error)) {
		fprintf(stderr, "nestlab-run: cannot write the VM snapshot: %s\n", error->message);
		g_error_free(error);
		g_vm_file_code = EXIT_CANTCREAT;
		return false;
	}
	fprintf(stderr, "nestlab-run: at %" PRIu64 " instructions: VM %s (at its instruction %"
	        PRIu64 ") written to %s\n", ev->at, ev->name, info.regs.icount, ev->file);
	return true;
}

/* Checks the VM names of --vm-save-at and loads each --vm-load. Returns 0,
 * or an exit status after a message. */
static int load_vms(struct machine *m)
{
	for (guint e = 0; e < g_vm_events->len; e++) {
		const struct vm_event *ev = &g_array_index(g_vm_events, struct vm_event, e);
		if (ev->what == EV_SAVE && machine_vm_find(m, ev->name) < 0) {
			fprintf(stderr, "nestlab-run: --vm-save-at: there is no VM called '%s' (VMs are "
			        "vm0 and the names --vm gives)\n", ev->name);
			return EXIT_USAGE;
		}
	}
	for (int k = 0; o.vm_load && o.vm_load[k]; k++) {
		char *name = g_strndup(o.vm_load[k], (gsize)(strchr(o.vm_load[k], '=') - o.vm_load[k]));
		const char *path = strchr(o.vm_load[k], '=') + 1;
		int i = machine_vm_find(m, name), code = 0;
		GBytes *state = NULL;
		uint64_t icount = 0;
		GError *error = NULL;
		if (i < 0) {
			fprintf(stderr, "nestlab-run: --vm-load: there is no VM called '%s' to load into "
			        "(give it with --vm %s:KERNEL)\n", name, name);
			code = EXIT_USAGE;
		} else if (!trc_snap_read_vm(path, &state, &icount, &error)) {
			code = error->domain == TRC_FILE_ERROR && error->code == TRC_FILE_ERROR_IO
			       ? EXIT_NOINPUT : EXIT_BAD_SNAPSHOT;
		} else {
			gsize len;
			const uint8_t *b = g_bytes_get_data(state, &len);
			if (!machine_vm_load(m, (unsigned)i, b, len, &error))
				code = EXIT_BAD_SNAPSHOT;
			else
				fprintf(stderr, "nestlab-run: VM %s loaded from %s (at its instruction %"
				        PRIu64 ")\n", name, path, icount);
		}
		if (error) {
			fprintf(stderr, "nestlab-run: cannot load VM %s from %s: %s\n", name, path,
			        error->message);
			g_error_free(error);
		}
		if (state)
			g_bytes_unref(state);
		g_free(name);
		if (code)
			return code;
	}
	return 0;
}

/* }====================================================================== */

/* machine_run, stopping at each --vm-at point to pause, resume or destroy
 * and each --vm-save-at point to save a VM. */
static enum machine_stop run_with_vm_events(struct machine *m, uint64_t max)
{
	g_array_sort(g_vm_events, cmp_events);
	for (guint e = 0; e < g_vm_events->len; e++) {
		const struct vm_event *ev = &g_array_index(g_vm_events, struct vm_event, e);
		uint64_t done = total_icount(m);
		if (max && ev->at >= max)
			break;
		if (ev->at > done) {
			enum machine_stop st = machine_run(m, ev->at - done);
			if (st != MACHINE_LIMIT) {
				for (guint k = e; k < g_vm_events->len; k++) {
					const struct vm_event *later = &g_array_index(g_vm_events, struct vm_event, k);
					if (later->what == EV_SAVE)
						fprintf(stderr, "nestlab-run: the machine stopped before instruction %"
						        PRIu64 ": no VM snapshot written to %s\n", later->at,
						        later->file);
				}
				return st;
			}
		}
		if (ev->what == EV_SAVE) {
			if (!save_vm(m, ev))
				return MACHINE_STOPPED;
			continue;
		}
		if (ev->what == EV_TREE) {
			fprintf(stderr, "nestlab-run: tree at %" PRIu64 " instructions:\n", ev->at);
			run_print_tree(m);
			continue;
		}
		int i = machine_vm_find(m, ev->name);
		static const char *const verb[] = { "pause", "resume", "destroy" };
		bool ok = i >= 0 && (ev->what == EV_PAUSE ? machine_vm_pause(m, (unsigned)i)
		                     : ev->what == EV_RESUME ? machine_vm_resume(m, (unsigned)i)
		                                             : machine_vm_destroy(m, (unsigned)i));
		fprintf(stderr, "nestlab-run: at %" PRIu64 " instructions: %s %s%s\n", ev->at,
		        verb[ev->what], ev->name, ok ? "" : i < 0 ? ": no such VM" : ": not possible now");
	}
	uint64_t done = total_icount(m);
	if (max && done >= max)
		return MACHINE_LIMIT;
	return machine_run(m, max ? max - done : 0);
}

/* The other VMs' ends and consoles, after the run. */
static void report_vms(struct machine *m)
{
	for (unsigned i = 1; i < machine_vm_count(m); i++) {
		struct machine_vm_info info;
		if (!machine_vm_info(m, i, &info))
			continue;
		const GByteArray *con = machine_vm_console(m, i);
		if (con && con->len) {
			gchar *text = g_strndup((const gchar *)con->data, con->len);
			gchar **lines = g_strsplit(text, "\n", -1);
			for (int k = 0; lines[k]; k++)
				if (lines[k][0] || lines[k + 1])
					printf("[%s] %s\n", info.name, lines[k]);
			g_strfreev(lines);
			g_free(text);
		}
		const char *state = info.state == MACHINE_VM_DESTROYED ? "destroyed"
		                    : info.state == MACHINE_VM_PAUSED ? "paused"
		                    : info.state == MACHINE_VM_RUNNING ? "still running"
		                                                       : machine_stop_name(info.stop);
		fprintf(stderr, "nestlab-run: vm %s: %s", info.name, state);
		if (info.exit_status >= 0)
			fprintf(stderr, ", exit status %d", info.exit_status);
		if (info.why && info.state == MACHINE_VM_STOPPED)
			fprintf(stderr, " (%s)", info.why);
		fprintf(stderr, ", %" PRIu64 " instructions\n", info.regs.icount);
		if (o.state_hash) {
			char h[65];
			if (machine_vm_state_hash(m, i, h))
				fprintf(stderr, "nestlab-run: vm %s: state hash %s\n", info.name, h);
		}
	}
	fflush(stdout);
}

static void print_stats(struct machine *m, gint64 t0)
{
	struct machine_regs r;
	machine_get_regs(m, &r);
	double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
	fprintf(stderr, "nestlab-run: %" PRIu64 " instructions, %" PRIu64 " cycles, %.3f host seconds, "
	        "%.2f MIPS, %.6f virtual seconds\n", r.icount, r.cycles, secs,
	        secs > 0 ? (double)r.icount / secs / 1e6 : 0.0, (double)machine_time_ns(m) / 1e9);
}

static FILE *open_trace(const char *path)
{
	if (strcmp(path, "-") == 0)
		return stdout;
	FILE *f = fopen(path, "w");
	if (f)
		setvbuf(f, NULL, _IOFBF, 1 << 20);
	return f;
}


/* --itrace: the full instruction trace of the run (trace/itrace). */
static struct trc_itrace_writer *start_itrace(struct machine *m)
{
	struct trc_itrace_state start;
	trc_itrace_state_of(m, &start);
	GError *error = NULL;
	struct trc_itrace_writer *w = trc_itrace_create(o.itrace, 0, &start, &error);
	if (w && !trc_itrace_attach(w, m, &error)) {
		trc_itrace_finish(w, NULL);
		w = NULL;
	}
	if (!w) {
		fprintf(stderr, "nestlab-run: cannot write the instruction trace: %s\n", error->message);
		g_error_free(error);
	}
	return w;
}

static bool finish_itrace(struct machine *m, struct trc_itrace_writer *w)
{
	trc_itrace_detach(m);
	uint64_t steps = trc_itrace_steps(w);
	GError *error = NULL;
	if (!trc_itrace_finish(w, &error)) {
		fprintf(stderr, "nestlab-run: writing the instruction trace %s failed: %s\n", o.itrace,
		        error->message);
		g_error_free(error);
		return false;
	}
	fprintf(stderr, "nestlab-run: wrote %" PRIu64 " steps to the instruction trace %s\n", steps,
	        o.itrace);
	return true;
}

int run_guest(uint16_t post)
{
	GError *error = NULL;
	struct machine *m = run_new_machine(post, &error);
	if (!m) {
		fprintf(stderr, "nestlab-run: %s\n", error->message);
		int code = build_error_status(error);
		g_error_free(error);
		return code;
	}
	if (o.stats)
		machine_tree_stats_enable(m);
	if (g_restore) {
		gsize len;
		const uint8_t *b = g_bytes_get_data(g_restore, &len);
		if (!machine_restore(m, b, len, &error)) {
			fprintf(stderr, "nestlab-run: cannot restore the snapshot: %s\n", error->message);
			g_error_free(error);
			machine_free(m);
			return EXIT_BAD_SNAPSHOT;
		}
	}
	int vm_code = load_vms(m);
	if (vm_code) {
		machine_free(m);
		return vm_code;
	}
	FILE *trace = NULL;
	if (o.trace && !(trace = open_trace(o.trace))) {
		fprintf(stderr, "nestlab-run: cannot create the trace file %s: %s\n", o.trace,
		        g_strerror(errno));
		machine_free(m);
		return EXIT_CANTCREAT;
	}
	struct trc_itrace_writer *itrace = NULL;
	if (o.itrace && !(itrace = start_itrace(m))) {
		if (trace && trace != stdout)
			fclose(trace);
		machine_free(m);
		return EXIT_CANTCREAT;
	}
	g_machine = m;
	signal(SIGINT, on_sigint);
	if (g.serial[0].kind == MACHINE_SERIAL_STDIO || g.serial[1].kind == MACHINE_SERIAL_STDIO)
		raw_terminal();
	gint64 t0 = g_get_monotonic_time();
	int snap_code = 0;
	enum machine_stop st = g_snap_file ? run_to_snapshot(m, &snap_code) : MACHINE_LIMIT;
	if (st == MACHINE_LIMIT && o.gdb >= 0 && gdb_given)
		st = serve_gdb(m, &snap_code);
	struct trc_rec_writer *rec = NULL;
	bool ran = false;
	if (st == MACHINE_LIMIT && g_replay) {
		st = run_replayed(m, &snap_code);
		ran = true;
	} else if (st == MACHINE_LIMIT && o.record) {
		st = run_recorded(m, &rec, &snap_code);
		ran = true;
	}
	if (st == MACHINE_LIMIT && !ran)
		st = trace ? run_traced(m, trace, (uint64_t)o.max_insns)
		           : run_with_vm_events(m, (uint64_t)o.max_insns);
	signal(SIGINT, SIG_DFL);
	restore_terminal();
	g_machine = NULL;
	fflush(stdout);
	report_vms(m);
	if (o.tree) {
		fprintf(stderr, "nestlab-run: tree at the end:\n");
		run_print_tree(m);
	}
	int code = snap_code ? snap_code : g_vm_file_code ? g_vm_file_code : report_end(m, st);
	if (itrace && !finish_itrace(m, itrace))
		code = EXIT_IOERR;
	if (rec)
		code = finish_recording(m, rec, code);
	if (g_replay)
		close_replay();
	if (machine_inputs_pending(m))
		fprintf(stderr, "nestlab-run: %u --input item(s) were never delivered (the first waits "
		        "for output that did not come, or for a time not reached)\n",
		        machine_inputs_pending(m));
	if (o.vga_dump) {
		GString *screen = g_string_new(NULL);
		machine_vga_text(m, screen);
		fputs(screen->str, stdout);
		fflush(stdout);
		g_string_free(screen, TRUE);
	}
	if (o.stats) {
		print_stats(m, t0);
		machine_print_monitor_stats(m, stderr);
		machine_print_tree_stats(m, stderr);
		for (guint i = 0; i < g_inputs->len; i++) {
			uint64_t ic, ns;
			if (machine_input_delivered(m, i, &ic, &ns))
				fprintf(stderr, "nestlab-run: input %u delivered at instruction %" PRIu64
				        ", %.6f virtual seconds\n", i + 1, ic, (double)ns / 1e9);
		}
	}
	if (o.state_hash) {
		char h[65], c[65];
		machine_state_hash(m, h);
		machine_console_hash(m, c);
		fprintf(stderr, "nestlab-run: state hash %s\nnestlab-run: console hash %s\n", h, c);
	}
	if (trace && trace != stdout && fclose(trace) != 0) {
		fprintf(stderr, "nestlab-run: writing the trace file %s failed: %s\n", o.trace,
		        g_strerror(errno));
		code = EXIT_IOERR;
	}
	machine_free(m);
	return code;
}
