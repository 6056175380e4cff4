/*
 * itrace_bench.c - what the full instruction trace costs (the time-travel
 * issue's benchmark): a guest run without the trace and with it (written
 * to a file, zstd blocks), the file's bytes per instruction (target at
 * most 2) and the slowdown. Figures only; nothing is asserted.
 *
 * Usage: itrace-bench cpubound CPUBOUND_ELF [FIB]        (fib=2200: about 10^9)
 *        itrace-bench minios MINIOS_ELF DISK [INSNS]     (the shell session: 3 x 10^7)
 */
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "itrace.h"
#include "nestlab.h"

static const char *kernel, *disk, *cmdline;

static struct machine *boot(void)
{
	const struct machine_disk d = { .path = disk, .slave = true };
	const struct machine_config cfg = { .kernel_path = kernel, .cmdline = cmdline,
	                                    .disks = &d, .n_disks = disk ? 1 : 0,
	                                    .monitor = MACHINE_MONITOR_SHADOW, .console_quiet = true };
	GError *error = NULL;
	struct machine *m = machine_new(&cfg, &error);
	if (!m) {
		fprintf(stderr, "itrace-bench: %s\n", error->message);
		exit(1);
	}
	static const char *const typed[] = { "ls\n", "cat hello.txt\n", "forktest\n" };
	for (size_t i = 0; disk && i < G_N_ELEMENTS(typed); i++)
		machine_add_input(m, MACHINE_INPUT_COM1, 0, "$ ", typed[i]);
	return m;
}

/* This process's CPU seconds: the machines this runs on are shared, and
 * wall time would measure the neighbours too. */
static double cpu_seconds(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t icount(struct machine *m)
{
	struct machine_regs r;
	machine_peek_regs(m, &r);
	return r.icount;
}

int main(int argc, char **argv)
{
	bool minios = argc >= 4 && !strcmp(argv[1], "minios");
	if (!minios && !(argc >= 3 && !strcmp(argv[1], "cpubound"))) {
		fprintf(stderr, "usage: itrace-bench cpubound KERNEL [FIB] | minios KERNEL DISK [INSNS]\n");
		return 2;
	}
	kernel = argv[2];
	uint64_t limit = 0;
	if (minios) {
		disk = argv[3];
		limit = argc > 4 ? g_ascii_strtoull(argv[4], NULL, 10) : 30000000;
	} else {
		cmdline = g_strdup_printf("passes=2 fib=%s", argc > 3 ? argv[3] : "2200");
	}
	struct machine *m = boot();
	double t0 = cpu_seconds();
	enum machine_stop st = machine_run(m, limit);
	double plain = cpu_seconds() - t0;
	uint64_t n = icount(m);
	machine_free(m);
	printf("%s without the trace: %" G_GUINT64_FORMAT " instructions in %.2f CPU s (%.1f MIPS), %s\n",
	       argv[1], n, plain, (double)n / plain / 1e6, machine_stop_name(st));

	char *path = g_strdup_printf("%s/itrace-bench-%d.itrace", g_get_tmp_dir(), (int)getpid());
	m = boot();
	GError *error = NULL;
	struct trc_itrace_state start;
	trc_itrace_state_of(m, &start);
	t0 = cpu_seconds();
	struct trc_itrace_writer *w = trc_itrace_create(path, 0, &start, &error);
	if (!w || !trc_itrace_attach(w, m, &error)) {
		fprintf(stderr, "itrace-bench: %s\n", error->message);
		return 1;
	}
	machine_run(m, n);
	trc_itrace_detach(m);
	uint64_t steps = trc_itrace_steps(w);
	if (!trc_itrace_finish(w, &error)) {
		fprintf(stderr, "itrace-bench: %s\n", error->message);
		return 1;
	}
	double with = cpu_seconds() - t0;
	uint64_t n2 = icount(m);
	machine_free(m);
	struct stat sb;
	uint64_t bytes = stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
	printf("%s with the trace:    %" G_GUINT64_FORMAT " instructions (%" G_GUINT64_FORMAT
	       " steps) in %.2f CPU s: %.2fx the time\n", argv[1], n2, steps, with, with / plain);
	printf("%s full-trace bytes per instruction: %.3f (target at most 2); %.1f MiB in all\n",
	       argv[1], (double)bytes / (double)n2, (double)bytes / 1048576);

	/* and a backwards query over the whole file, as nestlab-itrace does */
	struct trc_itrace_reader *r = trc_itrace_open(path, &error);
	if (r) {
		struct trc_itrace_hit h;
		gint64 q0 = g_get_monotonic_time();
		int found = trc_itrace_prev_eip(r, start.reg[TRC_IR_EIP], UINT64_MAX, &h, NULL);
		printf("%s last-eip of the first instruction: %s in %.1f ms, %" G_GUINT64_FORMAT
		       " blocks decoded\n", argv[1], found == 1 ? "found" : "not found",
		       (double)(g_get_monotonic_time() - q0) / 1e3, trc_itrace_blocks_decoded(r));
		trc_itrace_close(r);
	}
	g_unlink(path);
	g_free(path);
	return 0;
}
