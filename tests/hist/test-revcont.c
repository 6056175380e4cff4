/*
 * test-revcont.c - reverse-continue against a forward enumeration of all
 * hits (acceptance 3 of the time-travel issue).
 *
 * Usage: test-revcont KERNEL DISK END BREAK WRITE READ ACCESS
 *
 * Boots miniOS with an execution breakpoint at BREAK, a write watchpoint
 * on the 4 bytes at WRITE, a read watchpoint at READ and an access
 * watchpoint at ACCESS (hex addresses). The reference machine runs
 * forward to instruction END and lists every hit (instruction count,
 * kind, EIP, data address). The debugged machine runs to END with
 * history, then reverse-continues from END hit after hit: each must stop
 * at exactly the previous hit of the list. Then, from random points,
 * one reverse-continue must stop at the last hit before that point.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbgtarget.h"
#include "minios-boot.h"

struct hit {
	uint64_t icount;
	enum machine_point_kind kind;
	uint32_t eip, addr;
};

static struct machine *boot(const char *kernel, const char *disk)
{
	static const char *const typed[] = { "ls\n", "forktest\n" };
	return minios_boot(kernel, disk, typed, G_N_ELEMENTS(typed));
}

static uint32_t pts[4];
static const enum machine_point_kind kinds[4] = {
	MACHINE_POINT_EXEC, MACHINE_POINT_WRITE, MACHINE_POINT_READ, MACHINE_POINT_ACCESS,
};

static void add_points(struct machine *m)
{
	for (int i = 0; i < 4; i++)
		if (machine_add_point(m, kinds[i], pts[i], 4) < 0) {
			fprintf(stderr, "test-revcont: cannot add point %d\n", i);
			exit(1);
		}
}

static uint64_t icount(struct machine *m)
{
	return minios_icount(m);
}

static struct hit here(struct machine *m)
{
	struct hit h = { .icount = icount(m) };
	struct machine_regs r;
	machine_get_guest_regs(m, &r);
	h.eip = r.eip;
	if (machine_last_hit(m, &h.kind, &h.addr) < 0)
		h.kind = (enum machine_point_kind)-1;
	return h;
}

static const char *kind_name(enum machine_point_kind k)
{
	static const char *const n[] = { "break", "write", "read", "access" };
	return (unsigned)k < 4 ? n[k] : "none";
}

/* The stop trc_dbg reported, as a hit. */
static bool same(const struct hit *a, const struct hit *b)
{
	return a->icount == b->icount && a->eip == b->eip && a->kind == b->kind &&
	       (a->kind == MACHINE_POINT_EXEC || a->addr == b->addr);
}

int main(int argc, char **argv)
{
	if (argc < 8) {
		fprintf(stderr, "usage: test-revcont KERNEL DISK END BREAK WRITE READ ACCESS\n");
		return 2;
	}
	uint64_t end = g_ascii_strtoull(argv[3], NULL, 10);
	for (int i = 0; i < 4; i++)
		pts[i] = (uint32_t)strtoul(argv[4 + i], NULL, 16);

	/* Forward: every hit up to END. */
	struct machine *ref = boot(argv[1], argv[2]);
	add_points(ref);
	GArray *hits = g_array_new(FALSE, FALSE, sizeof(struct hit));
	while (icount(ref) < end) {
		enum machine_stop st = machine_run(ref, end - icount(ref));
		if (st == MACHINE_BREAK) {
			struct hit h = here(ref);
			g_array_append_val(hits, h);
		} else if (st != MACHINE_LIMIT) {
			fprintf(stderr, "not ok - the forward run ended early (%s)\n", machine_stop_name(st));
			return 1;
		}
	}
	machine_free(ref);
	unsigned per[4] = { 0 };
	for (guint i = 0; i < hits->len; i++)
		per[g_array_index(hits, struct hit, i).kind]++;
	printf("# forward: %u hits to %" G_GUINT64_FORMAT " (break %u, write %u, read %u, access %u)\n",
	       hits->len, end, per[0], per[1], per[2], per[3]);
	if (!per[0] || !per[1] || !per[2] || !per[3]) {
		printf("not ok - every kind of point must be hit at least once\n");
		return 1;
	}

	/* Debugged: to END with history, no points; then back hit by hit. */
	struct machine *m = boot(argv[1], argv[2]);
	struct trc_dbg *d = trc_dbg_new(m, true, 0);
	trc_dbg_seek(d, end);
	add_points(m);
	unsigned bad = 0, chain = hits->len < 40 ? hits->len : 40;
	for (unsigned k = 0; k < chain && bad < 5; k++) {
		struct trc_gdb_stop stop;
		trc_dbg_resume(d, TRC_GDB_REVERSE_CONTINUE, &stop);
		struct hit got = here(m), want = g_array_index(hits, struct hit, hits->len - 1 - k);
		if (!same(&got, &want)) {
			printf("not ok - reverse-continue %u: stopped at %" G_GUINT64_FORMAT " %s eip %08x "
			       "addr %08x, the previous hit is at %" G_GUINT64_FORMAT " %s eip %08x addr %08x\n",
			       k + 1, got.icount, kind_name(got.kind), got.eip, got.addr, want.icount,
			       kind_name(want.kind), want.eip, want.addr);
			bad++;
		}
	}
	if (!bad)
		printf("ok - %u reverse-continues from instruction %" G_GUINT64_FORMAT " stopped at the "
		       "%u hits before it, newest first, exactly as the forward run listed them\n",
		       chain, end, chain);
	GRand *rng = g_rand_new_with_seed(7);
	unsigned checked = 0;
	for (unsigned k = 0; k < 20 && bad < 5; k++) {
		/* A hit of each kind in turn, at random among its kind. */
		enum machine_point_kind want_kind = kinds[k % 4];
		guint j = 0, seen = 0, pick = (guint)g_rand_int_range(rng, 0, (gint32)per[want_kind]);
		for (guint i = 0; i < hits->len; i++)
			if (g_array_index(hits, struct hit, i).kind == want_kind && seen++ == pick)
				j = i;
		if (j == 0)
			continue;
		/* From just after hit j (up to the next hit): the last hit before is j. */
		const struct hit *prev = &g_array_index(hits, struct hit, j);
		uint64_t lim = j + 1 < hits->len ? g_array_index(hits, struct hit, j + 1).icount : end;
		if (lim <= prev->icount + 1)
			continue;
		uint64_t at = prev->icount + 1 + (uint64_t)g_rand_double_range(rng, 0,
		              (double)(lim - prev->icount - 1));
		trc_dbg_seek(d, at);
		struct trc_gdb_stop stop;
		trc_dbg_resume(d, TRC_GDB_REVERSE_CONTINUE, &stop);
		struct hit got = here(m);
		checked++;
		if (!same(&got, prev)) {
			printf("not ok - reverse-continue from %" G_GUINT64_FORMAT ": stopped at %"
			       G_GUINT64_FORMAT " %s, the last hit before is at %" G_GUINT64_FORMAT " %s\n",
			       at, got.icount, kind_name(got.kind), prev->icount, kind_name(prev->kind));
			bad++;
		}
	}
	if (!bad)
		printf("ok - from %u random points (after hits of each kind), reverse-continue stopped "
		       "at the last hit before each\n", checked);
	g_rand_free(rng);
	trc_dbg_free(d);
	machine_free(m);
	g_array_free(hits, TRUE);
	return bad ? 1 : 0;
}
