/*
 * nestlab-run - the headless runner: boots a ROM on the test board (or runs
 * the hardware vectors), streams the guest's debug console to stdout and
 * exits with the guest's exit status. See docs/nestlab-run.md.
 */
#include <errno.h>
#include <glib.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nestlab-config.h"
#include "nestlab.h"
#include "vecrun.h"

/* {====== exit statuses (keep in step with --help and docs/nestlab-run.md) ====== */

enum {
	EXIT_SHUTDOWN = 2,      /* triple fault or shutdown */
	EXIT_LIMIT = 6,         /* --max-insns reached (even: no guest exit is even) */
	EXIT_HALT = 4,          /* HLT with nothing to wake the CPU */
	EXIT_VECTORS_FAILED = 5, /* --vectors: at least one test failed */
	EXIT_USAGE = 64,        /* bad command line */
	EXIT_NOINPUT = 66,      /* an input file is missing, unreadable or malformed */
	EXIT_CANTCREAT = 73,    /* an output file cannot be created */
	EXIT_IOERR = 74,        /* writing an output file failed */
	EXIT_INTERRUPTED = 130, /* stopped by Ctrl-C */
};

/* }====================================================================== */

struct opts {
	gchar *rom;
	gint mem;
	gint64 max_insns;
	gchar *post_port;
	gchar *trace;
	gboolean stats;
	gchar *vectors;
	gchar *form;
	gint details;
	gchar *known;
	gboolean version;
};

static struct opts o;

static const GOptionEntry entries[] = {
	{"rom", 0, 0, G_OPTION_ARG_FILENAME, &o.rom,
	 "Boot FILE, a 64 or 128 KiB ROM image (the CPU starts at its last 16 bytes)", "FILE"},
	{"mem", 0, 0, G_OPTION_ARG_INT, &o.mem,
	 "RAM size in MiB, from 1 to 3072 (default 32); pages cost nothing until used", "MIB"},
	{"max-insns", 0, 0, G_OPTION_ARG_INT64, &o.max_insns,
	 "Stop after N instructions with exit status 6 (default: no limit)", "N"},
	{"post-port", 0, 0, G_OPTION_ARG_STRING, &o.post_port,
	 "Port of the POST code display, hex like 0x190 or decimal (default 0x80)", "PORT"},
	{"trace-cpu", 0, 0, G_OPTION_ARG_FILENAME, &o.trace,
	 "Before each instruction, write a line with icount and all registers to FILE "
	 "(- for stdout); slow", "FILE"},
	{"stats", 0, 0, G_OPTION_ARG_NONE, &o.stats,
	 "At the end, print instructions, cycles, host seconds and MIPS to stderr", NULL},
	{"vectors", 0, 0, G_OPTION_ARG_FILENAME, &o.vectors,
	 "Run the hardware-recorded instruction tests in DIR (e.g. shared/vectors/real16) "
	 "instead of a guest", "DIR"},
	{"form", 0, 0, G_OPTION_ARG_STRING, &o.form,
	 "With --vectors: run only the tests of one instruction form, e.g. F6.6", "FORM"},
	{"details", 0, 0, G_OPTION_ARG_INT, &o.details,
	 "With --vectors: show up to N failures per form in full (default 3)", "N"},
	{"known", 0, 0, G_OPTION_ARG_FILENAME, &o.known,
	 "With --vectors: failures listed in FILE (tests/vectors/known-differences.txt) are "
	 "counted apart and do not fail the run", "FILE"},
	{"version", 0, 0, G_OPTION_ARG_NONE, &o.version, "Print the version and exit", NULL},
	{NULL},
};

static const char description[] =
	"The test board: RAM at 0, the ROM at the top of memory (and below 1 MiB),\n"
	"the debug console on port 0xE9 (bytes go to stdout), the exit port 0xF4\n"
	"(a guest writing V ends the run with status (V<<1)|1, so 0 gives 1) and a\n"
	"POST port whose last value is printed on exit.\n"
	"\n"
	"Exit status:\n"
	"  odd      the guest wrote V to port 0xF4: (V<<1)|1, e.g. 1 for success\n"
	"  2        the machine shut down (triple fault)\n"
	"  3        the --max-insns limit was reached\n"
	"  4        the guest halted (HLT) with nothing that could wake it\n"
	"  5        --vectors: a test failed that --known does not list (else 0)\n"
	"  64       bad command line\n"
	"  66       an input file is missing, unreadable or of the wrong size\n"
	"  73, 74   the trace file cannot be created or written\n"
	"  130      interrupted with Ctrl-C\n"
	"Note that a guest exit with V=1 also gives 3; the message on stderr tells\n"
	"the two apart.\n"
	"\n"
	"Examples:\n"
	"  nestlab-run --rom build/guests/hello/hello.rom\n"
	"  nestlab-run --rom guest.rom --max-insns 100000 --trace-cpu trace.txt\n"
	"  nestlab-run --vectors ../shared/vectors/real16 --form F6.6\n"
	"  nestlab-run --vectors ../shared/vectors/real16 --known tests/vectors/known-differences.txt\n"
	"\n"
	"More: docs/nestlab-run.md, man nestlab-run.";

static struct machine *g_machine;

static void on_sigint(int sig)
{
	if (g_machine)
		machine_request_stop(g_machine);
}

/* {====== option checks ====== */

static bool parse_port(const char *s, uint16_t *port)
{
	char *end;
	errno = 0;
	guint64 v;
	if (g_ascii_strncasecmp(s, "0x", 2) == 0)
		v = g_ascii_strtoull(s + 2, &end, 16);
	else
		v = g_ascii_strtoull(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > 0xffff)
		return false;
	*port = (uint16_t)v;
	return true;
}

static int usage_error(GOptionContext *ctx, const char *fmt, const char *arg)
{
	fprintf(stderr, "nestlab-run: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'nestlab-run --help'.\n");
	g_option_context_free(ctx);
	return EXIT_USAGE;
}

/* Returns 0 if the options make sense, else the exit status. */
static int check_options(GOptionContext *ctx, int argc, char **argv, uint16_t *post)
{
	if (argc > 1)
		return usage_error(ctx, "unexpected argument '%s'", argv[1]);
	if (o.mem && (o.mem < 1 || o.mem > (gint)MACHINE_MEM_MAX_MIB))
		return usage_error(ctx, "--mem must be between 1 and 3072 MiB%s", "");
	if (o.max_insns < 0)
		return usage_error(ctx, "--max-insns must be a positive number%s", "");
	if (o.post_port && !parse_port(o.post_port, post))
		return usage_error(ctx, "--post-port '%s' is not a port number from 1 to 0xffff",
		                   o.post_port);
	if ((o.form || o.details || o.known) && !o.vectors)
		return usage_error(ctx, "--form, --details and --known only make sense with --vectors%s",
		                   "");
	if (o.details < 0)
		return usage_error(ctx, "--details must be a positive number%s", "");
	if (o.vectors && o.rom)
		return usage_error(ctx, "give either --rom or --vectors, not both%s", "");
	if (!o.vectors && !o.rom)
		return usage_error(ctx, "nothing to run: give --rom FILE (a guest) or --vectors DIR%s",
		                   "");
	g_option_context_free(ctx);
	return 0;
}

/* }====================================================================== */

/* {====== running a guest ====== */

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
		machine_get_regs(m, &r);
		if (max && r.icount >= max)
			return MACHINE_LIMIT;
		trace_line(trace, &r);
		enum machine_stop st = machine_step(m);
		if (st != MACHINE_LIMIT)
			return st;
	}
}

/* Says on stderr how the run ended; returns the exit status. */
static int report_end(struct machine *m, enum machine_stop st)
{
	struct machine_regs r;
	machine_get_regs(m, &r);
	int status = 0;
	int64_t post = machine_post_code(m);
	if (post >= 0)
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

static void print_stats(struct machine *m, gint64 t0)
{
	struct machine_regs r;
	machine_get_regs(m, &r);
	double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
	fprintf(stderr, "nestlab-run: %" PRIu64 " instructions, %" PRIu64 " cycles, %.3f host seconds, "
	        "%.2f MIPS\n", r.icount, r.cycles, secs, secs > 0 ? (double)r.icount / secs / 1e6 : 0.0);
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

static int run_guest(uint16_t post)
{
	struct machine_config cfg = {
		.mem_mib = (uint32_t)o.mem,
		.rom_path = o.rom,
		.post_port = post,
	};
	GError *error = NULL;
	struct machine *m = machine_new(&cfg, &error);
	if (!m) {
		fprintf(stderr, "nestlab-run: %s\n", error->message);
		int code = error->domain == NESTLAB_ERROR && error->code == NESTLAB_ERROR_CONFIG
		                   ? EXIT_USAGE : EXIT_NOINPUT;
		g_error_free(error);
		return code;
	}
	FILE *trace = NULL;
	if (o.trace && !(trace = open_trace(o.trace))) {
		fprintf(stderr, "nestlab-run: cannot create the trace file %s: %s\n", o.trace,
		        g_strerror(errno));
		machine_free(m);
		return EXIT_CANTCREAT;
	}
	g_machine = m;
	signal(SIGINT, on_sigint);
	gint64 t0 = g_get_monotonic_time();
	enum machine_stop st = trace ? run_traced(m, trace, (uint64_t)o.max_insns)
	                             : machine_run(m, (uint64_t)o.max_insns);
	signal(SIGINT, SIG_DFL);
	g_machine = NULL;
	fflush(stdout);
	int code = report_end(m, st);
	if (o.stats)
		print_stats(m, t0);
	if (trace && trace != stdout && fclose(trace) != 0) {
		fprintf(stderr, "nestlab-run: writing the trace file %s failed: %s\n", o.trace,
		        g_strerror(errno));
		code = EXIT_IOERR;
	}
	machine_free(m);
	return code;
}

/* }====================================================================== */

static int run_vectors(void)
{
	GError *error = NULL;
	struct vec_known *known = NULL;
	if (o.known && !(known = vec_known_load(o.known, &error))) {
		fprintf(stderr, "nestlab-run: %s\n", error->message);
		g_error_free(error);
		return EXIT_NOINPUT;
	}
	struct vec_options vo = {
		.out = stdout, .only_form = o.form, .details_per_form = (unsigned)o.details,
		.known = known,
	};
	struct vec_result res;
	gint64 t0 = g_get_monotonic_time();
	bool ok = vec_run_dir(o.vectors, &vo, &res, &error);
	vec_known_free(known);
	if (!ok) {
		fprintf(stderr, "nestlab-run: %s\n", error->message);
		g_error_free(error);
		return EXIT_NOINPUT;
	}
	if (o.stats)
		fprintf(stderr, "nestlab-run: %u tests in %.3f host seconds\n", res.passed + res.failed,
		        (double)(g_get_monotonic_time() - t0) / 1e6);
	if (res.passed + res.failed == 0) {
		fprintf(stderr, "nestlab-run: no test of form %s in %s\n", o.form ? o.form : "?",
		        o.vectors);
		return EXIT_NOINPUT;
	}
	return res.failed_unknown ? EXIT_VECTORS_FAILED : 0;
}

int main(int argc, char **argv)
{
	GOptionContext *ctx = g_option_context_new("- run a guest on the nestlab test board");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(ctx, description);
	GError *error = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		int code = usage_error(ctx, "%s", error->message);
		g_error_free(error);
		return code;
	}
	if (o.version) {
		printf("nestlab-run %s\n", NESTLAB_VERSION);
		g_option_context_free(ctx);
		return 0;
	}
	uint16_t post = 0;
	int code = check_options(ctx, argc, argv, &post);
	if (code)
		return code;
	return o.vectors ? run_vectors() : run_guest(post);
}
