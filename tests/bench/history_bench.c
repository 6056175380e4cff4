/*
 * history_bench.c - what history costs (the time-travel issue's benchmark):
 * a guest run without history and with it (incremental checkpoints every
 * million instructions), the checkpoints' memory, and the median latency
 * of reverse-stepi at the end of the run. Figures only; nothing is
 * asserted. The full instruction trace has its own (itrace_bench.c).
 *
 * Usage: history-bench cpubound KERNEL [FIB]  (fib=2200: about 10^9 instructions)
 *        history-bench minios KERNEL DISK     (the shell session: ls, forktest x3, halt)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "minios-boot.h"

static const char *g_kernel, *g_disk, *g_cmdline;

static struct machine *boot_cpubound(const char *kernel, const char *cmdline)
{
	const struct machine_config cfg = { .kernel_path = kernel, .cmdline = cmdline,
	                                    .monitor = MACHINE_MONITOR_SHADOW, .console_quiet = true };
	GError *error = NULL;
	struct machine *m = machine_new(&cfg, &error);
	if (!m) {
		fprintf(stderr, "history-bench: %s\n", error->message);
		exit(1);
	}
	return m;
}

static struct machine *boot(void)
{
	static const char *const typed[] = { "ls\n", "forktest\n", "forktest\n", "forktest\n",
	                                     "halt\n" };
	if (g_disk)
		return minios_boot(g_kernel, g_disk, typed, G_N_ELEMENTS(typed));
	return boot_cpubound(g_kernel, g_cmdline);
}

static uint64_t icount(struct machine *m)
{
	struct machine_regs r;
	machine_get_regs(m, &r);
	return r.icount;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	bool minios = argc > 3 && strcmp(argv[1], "minios") == 0;
	if (argc < 3 || (!minios && strcmp(argv[1], "cpubound") != 0)) {
		fprintf(stderr, "usage: history-bench cpubound KERNEL [FIB] | minios KERNEL DISK\n");
		return 2;
	}
	g_kernel = argv[2];
	char *cmdline = g_strdup_printf("passes=2 fib=%s", argc > 3 ? argv[3] : "2200");
	if (minios)
		g_disk = argv[3];
	else
		g_cmdline = cmdline;
	printf("guest: %s\n", minios ? "miniOS, its shell session (ls, forktest x3, halt)" : cmdline);
	struct machine *m = boot();
	gint64 t0 = g_get_monotonic_time();
	enum machine_stop st = machine_run(m, 0);
	double plain = (double)(g_get_monotonic_time() - t0) / 1e6;
	uint64_t n = icount(m);
	machine_free(m);
	printf("without history: %" G_GUINT64_FORMAT " instructions in %.2f s (%.1f MIPS), %s\n", n,
	       plain, (double)n / plain / 1e6, machine_stop_name(st));

	m = boot();
	t0 = g_get_monotonic_time();
	struct trc_hist *h = trc_hist_new(m, 0, 0);
	trc_hist_run(h, n);
	double with = (double)(g_get_monotonic_time() - t0) / 1e6;
	unsigned cps;
	size_t bytes;
	trc_hist_usage(h, &cps, &bytes);
	printf("with history:    %" G_GUINT64_FORMAT " instructions in %.2f s: %.3fx the time "
	       "(target <= 1.25x)\n", trc_hist_icount(h), with, with / plain);
	printf("checkpoints:     %u kept, %.1f MiB, %.1f MiB per 10^9 instructions\n", cps,
	       (double)bytes / 1048576, (double)bytes / 1048576 * 1e9 / (double)n);
	enum { SAMPLES = 21 };
	double lat[SAMPLES];
	uint64_t end = trc_hist_icount(h);
	for (int i = 0; i < SAMPLES; i++) {
		gint64 a = g_get_monotonic_time();
		GError *error = NULL;
		if (!trc_hist_seek(h, end - 1 - (uint64_t)i, NULL, &error)) {
			fprintf(stderr, "history-bench: reverse-stepi failed: %s\n", error->message);
			return 1;
		}
		lat[i] = (double)(g_get_monotonic_time() - a) / 1e3;
	}
	qsort(lat, SAMPLES, sizeof *lat, cmp_double);
	printf("reverse-stepi at the end: median %.1f ms over %d (min %.1f, max %.1f; target <= 50 ms)\n",
	       lat[SAMPLES / 2], SAMPLES, lat[0], lat[SAMPLES - 1]);
	trc_hist_free(h);
	machine_free(m);
	g_free(cmdline);
	return 0;
}
