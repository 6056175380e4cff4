/*
 * test-writes.c - a debugger's writes are inputs of the history: replays
 * apply them again at the same instruction count, and a write in the
 * past replaces the future after it.
 *
 * Usage: test-writes KERNEL DISK
 *
 * A reference miniOS machine runs forward only and has the same writes
 * made to it directly (machine_phys_write, machine_set_reg,
 * machine_write_virt) at the same counts. The machine with history makes
 * them through trc_hist_*, runs on, then seeks back and forth: at every
 * sampled count its state hash must be the reference's (so every write
 * was applied again, exactly once, at its place), and must differ from a
 * run without writes after the first one (so the writes mattered).
 * Then a write in the past: the history's end moves back to it, the later
 * writes are forgotten, and the new future matches a second reference.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "minios-boot.h"

#define SCRATCH 0x01e00000u /* guest-physical RAM miniOS leaves alone */

static struct machine *boot(const char *kernel, const char *disk)
{
	static const char *const typed[] = { "ls\n", "forktest\n" };
	return minios_boot(kernel, disk, typed, G_N_ELEMENTS(typed));
}

static const uint8_t pattern[16] = "debugger wrote!";
static const uint8_t pattern2[8] = "rewrite";

enum { W1 = 4000000, W2 = 9000000, W3 = 12000000, END = 15000000, CUT = 7000000, END2 = 10000000 };

/* The virtual address of SCRATCH + 0x100 as the guest maps it now (miniOS
 * maps physical memory one to one in the kernel's half). */
static uint32_t scratch_virt(struct machine *m)
{
	for (uint32_t lin = SCRATCH + 0x100; lin; lin += 0x40000000u) {
		uint32_t pa;
		if (machine_translate(m, lin, &pa) && pa == SCRATCH + 0x100)
			return lin;
	}
	return 0;
}

/* The writes made at the reference, directly. */
static void write_direct(struct machine *m, int which, uint32_t virt)
{
	struct machine_regs r;
	switch (which) {
	case 1:
		machine_phys_write(m, SCRATCH, pattern, sizeof pattern);
		break;
	case 2:
		machine_get_regs(m, &r);
		machine_set_reg(m, MACHINE_REG_EFLAGS, r.eflags ^ 0x10u); /* AF */
		break;
	case 3:
		machine_write_virt(m, virt, pattern, sizeof pattern);
		break;
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: test-writes KERNEL DISK\n");
		return 2;
	}
	const uint64_t at[3] = { W1, W2, W3 };
	uint64_t sample[40];
	GRand *rng = g_rand_new_with_seed(1125);
	for (unsigned i = 0; i < G_N_ELEMENTS(sample); i++)
		sample[i] = 1 + (uint64_t)g_rand_double_range(rng, 0, END - 1);
	/* The counts of the writes themselves and their neighbours. */
	for (unsigned i = 0; i < 3; i++) {
		sample[i * 3] = at[i] - 1;
		sample[i * 3 + 1] = at[i];
		sample[i * 3 + 2] = at[i] + 1;
	}
	typedef char hash_t[65];
	hash_t ref[G_N_ELEMENTS(sample)], plain[G_N_ELEMENTS(sample)];

	/* References: with the writes, and without. */
	for (int with = 1; with >= 0; with--) {
		struct machine *m = boot(argv[1], argv[2]);
		uint32_t virt = 0;
		/* One forward pass through the sorted counts, writing on the way. */
		uint64_t order[G_N_ELEMENTS(sample)];
		memcpy(order, sample, sizeof order);
		for (unsigned i = 0; i < G_N_ELEMENTS(order); i++)
			for (unsigned j = i + 1; j < G_N_ELEMENTS(order); j++)
				if (order[j] < order[i]) {
					uint64_t t = order[i];
					order[i] = order[j];
					order[j] = t;
				}
		int next = 0;
		for (unsigned i = 0; i < G_N_ELEMENTS(order); i++) {
			while (next < 3 && at[next] <= order[i]) {
				minios_run_to(m, at[next]);
				if (next == 2 && !virt)
					virt = scratch_virt(m);
				if (with)
					write_direct(m, next + 1, virt);
				next++;
			}
			minios_run_to(m, order[i]);
			for (unsigned s = 0; s < G_N_ELEMENTS(sample); s++)
				if (sample[s] == order[i])
					machine_state_hash(m, with ? ref[s] : plain[s]);
		}
		if (with && !virt) {
			printf("not ok - no virtual mapping of the scratch page at %u\n", W3);
			return 1;
		}
		machine_free(m);
	}

	/* With history: the same writes through trc_hist, then seeks. */
	struct machine *m = boot(argv[1], argv[2]);
	struct trc_hist *h = trc_hist_new(m, 0, 100000);
	trc_hist_run(h, W1);
	tap_check(trc_hist_write_mem(h, SCRATCH, pattern, sizeof pattern, true), "physical write logged");
	trc_hist_run(h, W2 - W1);
	struct machine_regs r;
	machine_get_regs(m, &r);
	tap_check(trc_hist_set_reg(h, MACHINE_REG_EFLAGS, r.eflags ^ 0x10u), "EFLAGS write logged");
	trc_hist_run(h, W3 - W2);
	uint32_t virt = scratch_virt(m);
	tap_check(trc_hist_write_mem(h, virt, pattern, sizeof pattern, false), "virtual write logged");
	uint32_t hole = 0x400000u, pa;
	while (machine_translate(m, hole, &pa) && hole < 0xffc00000u)
		hole += 0x400000u;
	/* From the mapped page before the hole into it: all or nothing. */
	tap_check(!machine_translate(m, hole, &pa) &&
	      !trc_hist_write_mem(h, hole - 8, pattern, sizeof pattern, false) &&
	      trc_hist_writes(h) == 3,
	      "a write reaching an unmapped virtual page is refused, nothing logged");
	trc_hist_run(h, END - W3);
	tap_check(trc_hist_writes(h) == 3, "three writes in the log");

	unsigned same = 0, differ = 0, after_first = 0;
	GError *error = NULL;
	for (unsigned k = 0; k < G_N_ELEMENTS(sample); k++) {
		unsigned s = (k * 17) % G_N_ELEMENTS(sample); /* back and forth */
		if (!trc_hist_seek(h, sample[s], NULL, &error)) {
			printf("not ok - seek to %" G_GUINT64_FORMAT ": %s\n", sample[s], error->message);
			return 1;
		}
		char now[65];
		machine_state_hash(m, now);
		same += strcmp(now, ref[s]) == 0;
		if (sample[s] >= W1) {
			after_first++;
			differ += strcmp(now, plain[s]) != 0;
		}
	}
	char msg[200];
	g_snprintf(msg, sizeof msg, "%u of %u seeks (back and forth across the writes) have the "
	           "reference's state", same, (unsigned)G_N_ELEMENTS(sample));
	tap_check(same == G_N_ELEMENTS(sample), msg);
	g_snprintf(msg, sizeof msg, "%u of %u states after the first write differ from a run "
	           "without writes", differ, after_first);
	tap_check(differ == after_first && after_first > 0, msg);

	/* A write in the past: the future after it is replaced. */
	struct machine *ref2 = boot(argv[1], argv[2]);
	minios_run_to(ref2, W1);
	write_direct(ref2, 1, 0);
	minios_run_to(ref2, CUT);
	machine_phys_write(ref2, SCRATCH + 64, pattern2, sizeof pattern2);
	char ref2_cut[65], ref2_mid[65], ref2_end[65];
	machine_state_hash(ref2, ref2_cut);
	minios_run_to(ref2, (CUT + END2) / 2);
	machine_state_hash(ref2, ref2_mid);
	minios_run_to(ref2, END2);
	machine_state_hash(ref2, ref2_end);
	machine_free(ref2);

	trc_hist_seek(h, CUT, NULL, NULL);
	tap_check(trc_hist_write_mem(h, SCRATCH + 64, pattern2, sizeof pattern2, true), "write in the past");
	tap_check(trc_hist_end(h) == CUT && trc_hist_writes(h) == 2,
	      "the history now ends at the write, with the writes before it");
	trc_hist_run(h, END2 - CUT);
	char now[65];
	machine_state_hash(m, now);
	tap_check(strcmp(now, ref2_end) == 0, "the new future is the second reference's");
	trc_hist_seek(h, (CUT + END2) / 2, NULL, NULL);
	machine_state_hash(m, now);
	tap_check(strcmp(now, ref2_mid) == 0, "going back into the new future: the second reference's state");
	trc_hist_seek(h, CUT, NULL, NULL);
	machine_state_hash(m, now);
	tap_check(strcmp(now, ref2_cut) == 0, "at the write's count: the state after the write");
	trc_hist_free(h);
	machine_free(m);
	g_rand_free(rng);
	return tap_failures ? 1 : 0;
}
