/*
 * test-input.c - host input (what is typed on stdin) in the history: the
 * machine logs each input with its moment, and a replay through that
 * moment injects it again there; an input given in the past replaces the
 * future.
 *
 * Usage: test-input KERNEL DISK
 *
 * Typing is machine_inject_serial(), the path stdin's bytes take. A
 * reference miniOS machine gets the same bytes at the same instruction
 * counts, going forward only. The machine with history then seeks back
 * and forth: at every sampled count its state hash must be the
 * reference's (so each input was injected again, once, at its moment) and
 * after the first input must differ from a run without input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "minios-boot.h"

enum { T1 = 8000000, T2 = 14000000, END = 24000000, CUT = 11000000, END2 = 18000000 };

static const char *const typed[] = { "ls\n", "cat hello.txt\n" };
static const uint64_t at[] = { T1, T2 };

static struct machine *boot(const char *kernel, const char *disk)
{
	return minios_boot(kernel, disk, NULL, 0);
}

static void type(struct machine *m, const char *s)
{
	machine_inject_serial(m, 0, (const uint8_t *)s, strlen(s));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: test-input KERNEL DISK\n");
		return 2;
	}
	enum { N = 40 };
	uint64_t sample[N];
	GRand *rng = g_rand_new_with_seed(2511);
	for (unsigned i = 0; i < N; i++)
		sample[i] = 1 + (uint64_t)g_rand_double_range(rng, 0, END - 1);
	sample[0] = T1, sample[1] = T1 + 1, sample[2] = T2, sample[3] = T2 + 1;
	qsort(sample, N, sizeof *sample, cmp_u64);
	typedef char hash_t[65];
	hash_t ref[N], plain[N];

	/* References: typed at T1 and T2, and not typed at all. */
	for (int with = 1; with >= 0; with--) {
		struct machine *m = boot(argv[1], argv[2]);
		unsigned next = 0;
		for (unsigned i = 0; i < N; i++) {
			while (with && next < G_N_ELEMENTS(at) && at[next] <= sample[i]) {
				minios_run_to(m, at[next]);
				type(m, typed[next++]);
			}
			minios_run_to(m, sample[i]);
			machine_state_hash(m, with ? ref[i] : plain[i]);
		}
		machine_free(m);
	}

	/* With history: typed on the way, then seeks in random order. */
	struct machine *m = boot(argv[1], argv[2]);
	struct trc_hist *h = trc_hist_new(m, 0, 200000);
	trc_hist_run(h, T1);
	type(m, typed[0]);
	trc_hist_run(h, T2 - T1);
	type(m, typed[1]);
	trc_hist_run(h, END - T2);
	unsigned same = 0, differ = 0, after = 0;
	for (unsigned k = 0; k < N; k++) {
		unsigned i = (k * 23) % N; /* back and forth */
		GError *error = NULL;
		if (!trc_hist_seek(h, sample[i], NULL, &error)) {
			printf("not ok - seek to %" G_GUINT64_FORMAT ": %s\n", sample[i], error->message);
			return 1;
		}
		char now[65];
		machine_state_hash(m, now);
		same += strcmp(now, ref[i]) == 0;
		if (sample[i] > T1) {
			after++;
			differ += strcmp(now, plain[i]) != 0;
		}
	}
	char msg[200];
	g_snprintf(msg, sizeof msg, "%u of %u seeks across the typed input have the reference's state",
	           same, N);
	tap_check(same == N, msg);
	g_snprintf(msg, sizeof msg, "%u of %u states after the first input differ from a run without "
	           "it", differ, after);
	tap_check(after > 0 && differ == after, msg);

	/* Typed in the past: the future after it is another. */
	struct machine *ref2 = boot(argv[1], argv[2]);
	minios_run_to(ref2, T1);
	type(ref2, typed[0]);
	minios_run_to(ref2, CUT);
	type(ref2, "echo again\n");
	minios_run_to(ref2, END2);
	char want[65], now[65];
	machine_state_hash(ref2, want);
	machine_free(ref2);
	trc_hist_seek(h, CUT, NULL, NULL);
	type(m, "echo again\n");
	tap_check(trc_hist_end(h) == CUT, "typing in the past ends the history there");
	trc_hist_run(h, END2 - CUT);
	machine_state_hash(m, now);
	tap_check(strcmp(now, want) == 0, "the new future is the one typed into");
	trc_hist_seek(h, (CUT + END2) / 2, NULL, NULL);
	trc_hist_seek(h, END2, NULL, NULL);
	machine_state_hash(m, now);
	tap_check(strcmp(now, want) == 0, "back and forward in the new future: the same state");
	trc_hist_free(h);
	machine_free(m);
	g_rand_free(rng);
	return tap_failures ? 1 : 0;
}
