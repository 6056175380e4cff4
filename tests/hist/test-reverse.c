/*
 * test-reverse.c - reverse execution against a forward run (acceptance 2
 * of the time-travel issue).
 *
 * Usage: test-reverse KERNEL DISK [POINTS] [END] [INTERVAL] [BUDGET-KIB] [shuffle]
 *        test-reverse --smp N XV6-KERNEL MASTER,SLAVE [POINTS] [END] ...
 *
 * Boots miniOS (KERNEL, with DISK as the slave disk and its shell session
 * typed in) twice. The reference machine runs forward only and records
 * the state hash at p-1 and at p for POINTS instruction counts p drawn at
 * random below END. The other runs to END with history (trc_hist), goes
 * back to the first point, and for each p in turn: goes to p, steps back
 * one instruction (reverse-stepi: the nearest checkpoint before p-1,
 * restored, and run forward to p-1) and must have the reference's state
 * at p-1; steps forward one and must have its state at p.
 *
 * With a small BUDGET-KIB the history must thin its checkpoints (each
 * dropped one's pages merge into the next); with `shuffle` the points are
 * visited in random order, so restores go back and forth across the
 * incremental checkpoints, not mostly forward.
 *
 * With --smp N the guest is xv6 on N CPUs, bare (its two disks, `ls`
 * typed at the prompt): the CPUs' turns must go the same way after every
 * restore, so each point's state (every CPU's) is the forward run's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "minios-boot.h"

static unsigned smp; /* --smp N: xv6 on N CPUs */

static struct machine *boot_xv6(const char *kernel, const char *disks)
{
	gchar **d = g_strsplit(disks, ",", 2);
	if (!d[0] || !d[1]) {
		fprintf(stderr, "test-reverse: --smp wants MASTER,SLAVE disk images\n");
		exit(2);
	}
	const struct machine_disk dk[2] = { { .path = d[0] }, { .path = d[1], .slave = true } };
	const struct machine_config cfg = {
		.kernel_path = kernel, .disks = dk, .n_disks = 2, .mem_mib = 512,
		.monitor = MACHINE_MONITOR_NONE, .console_quiet = true, .n_cpus = smp,
	};
	GError *error = NULL;
	struct machine *m = machine_new(&cfg, &error);
	g_strfreev(d);
	if (!m) {
		fprintf(stderr, "%s\n", error->message);
		exit(1);
	}
	machine_add_input(m, MACHINE_INPUT_COM1, 0, "$ ", "ls\n");
	return m;
}

static struct machine *boot(const char *kernel, const char *disk)
{
	static const char *const typed[] = { "ls\n", "cat hello.txt\n", "forktest\n" };
	if (smp)
		return boot_xv6(kernel, disk);
	return minios_boot(kernel, disk, typed, G_N_ELEMENTS(typed));
}

static uint64_t icount(struct machine *m)
{
	return minios_icount(m);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "--smp") == 0) {
		smp = (unsigned)atoi(argv[2]);
		argc -= 2;
		argv += 2;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: test-reverse KERNEL DISK [POINTS] [END] [INTERVAL]\n");
		return 2;
	}
	unsigned n = argc > 3 ? (unsigned)atoi(argv[3]) : 1000;
	uint64_t end = argc > 4 ? g_ascii_strtoull(argv[4], NULL, 10) : 40000000;
	GRand *rng = g_rand_new_with_seed(20261124);
	uint64_t *p = g_new(uint64_t, n);
	for (unsigned i = 0; i < n; i++)
		p[i] = 2 + (uint64_t)g_rand_double_range(rng, 0, (double)(end - 2));
	qsort(p, n, sizeof *p, cmp_u64);

	/* The reference: forward only. */
	struct machine *ref = boot(argv[1], argv[2]);
	typedef char hash_t[65];
	hash_t *before = g_new(hash_t, n), *at = g_new(hash_t, n);
	for (unsigned i = 0; i < n; i++) {
		uint64_t ic = icount(ref);
		if (p[i] - 1 > ic)
			machine_run(ref, p[i] - 1 - ic);
		if (icount(ref) != p[i] - 1) {
			fprintf(stderr, "not ok - the reference run ended at %" G_GUINT64_FORMAT "\n",
			        icount(ref));
			return 1;
		}
		machine_state_hash(ref, before[i]);
		machine_run(ref, 1);
		machine_state_hash(ref, at[i]);
	}
	machine_free(ref);

	/* With history: to the end, then back to each point. */
	struct machine *m = boot(argv[1], argv[2]);
	uint64_t interval = argc > 5 ? g_ascii_strtoull(argv[5], NULL, 10) : 0;
	size_t budget = argc > 6 ? (size_t)g_ascii_strtoull(argv[6], NULL, 10) << 10 : 0;
	bool shuffle = argc > 7 && strcmp(argv[7], "shuffle") == 0;
	struct trc_hist *h = trc_hist_new(m, budget, interval);
	trc_hist_run(h, end);
	unsigned cps;
	size_t bytes;
	trc_hist_usage(h, &cps, &bytes);
	printf("# ran to %" G_GUINT64_FORMAT " with history: %u checkpoints, %zu KiB\n",
	       trc_hist_end(h), cps, bytes / 1024);
	unsigned bad = 0;
	unsigned *order = g_new(unsigned, n);
	for (unsigned i = 0; i < n; i++)
		order[i] = i;
	for (unsigned i = n; shuffle && i > 1; i--) {
		unsigned j = (unsigned)g_rand_int_range(rng, 0, (gint32)i), t = order[i - 1];
		order[i - 1] = order[j];
		order[j] = t;
	}
	for (unsigned k = 0; k < n; k++) {
		unsigned i = order[k];
		GError *error = NULL;
		char hb[65], ha[65];
		/* At p (forward from the previous point, or back from the end for
		 * the first), one instruction back, then one forward. */
		bool ok = trc_hist_seek(h, p[i], NULL, &error) &&
		          trc_hist_seek(h, icount(m) - 1, NULL, &error); /* reverse-stepi */
		if (ok)
			machine_state_hash(m, hb);
		ok = ok && trc_hist_seek(h, icount(m) + 1, NULL, &error); /* stepi */
		if (ok)
			machine_state_hash(m, ha);
		if (!ok || strcmp(hb, before[i]) || strcmp(ha, at[i])) {
			printf("not ok - point %" G_GUINT64_FORMAT ": %s\n", p[i],
			       !ok ? error->message : strcmp(hb, before[i]) ? "reverse-stepi state differs"
			                                                     : "stepi after it differs");
			if (error)
				g_error_free(error);
			if (++bad > 10)
				break;
		}
	}
	trc_hist_usage(h, &cps, &bytes);
	if (!bad)
		printf("ok - reverse-stepi at %u random points%s gave the forward run's state at "
		       "icount-1, and stepi after it the state at icount (%u checkpoints, %zu KiB "
		       "kept%s)\n", n, shuffle ? " in random order" : "", cps, bytes / 1024,
		       budget ? " within the budget" : "");
	g_free(order);
	trc_hist_free(h);
	machine_free(m);
	g_free(p), g_free(before), g_free(at);
	g_rand_free(rng);
	return bad ? 1 : 0;
}
