/*
 * hist.c - checkpoints in memory and seeking by instruction count (hist.h).
 */
#include "hist.h"

#include "trcfile.h"

#define PACK_LEVEL 1 /* zstd's fastest: checkpoints are taken while the user waits */

struct checkpoint {
	uint64_t icount;
	GByteArray *packed; /* machine_save(), zstd */
};

struct trc_hist {
	struct machine *m;
	size_t budget, used;
	uint64_t interval;
	uint64_t end;        /* the furthest instruction count reached */
	GArray *cps;         /* struct checkpoint, by icount */
	GByteArray *scratch; /* a raw state, kept allocated between uses */
};

uint64_t trc_hist_icount(const struct trc_hist *h)
{
	struct machine_regs r;
	machine_get_regs(h->m, &r);
	return r.icount;
}

static struct checkpoint *cp_at(const struct trc_hist *h, guint i)
{
	return &g_array_index(h->cps, struct checkpoint, i);
}

/* Drops checkpoint i (never the first or the last). */
static void drop(struct trc_hist *h, guint i)
{
	h->used -= cp_at(h, i)->packed->len;
	g_byte_array_unref(cp_at(h, i)->packed);
	g_array_remove_index(h->cps, i);
}

/* Over the budget: drop the checkpoint whose loss costs least, measured
 * as the gap it leaves against its age, so that the old ones thin first. */
static void thin(struct trc_hist *h)
{
	while (h->used > h->budget && h->cps->len > 2) {
		guint best = 1;
		double best_cost = 0;
		for (guint i = 1; i + 1 < h->cps->len; i++) {
			double gap = (double)(cp_at(h, i + 1)->icount - cp_at(h, i - 1)->icount);
			double age = (double)(h->end - cp_at(h, i)->icount) + 1;
			double cost = gap / age;
			if (i == 1 || cost < best_cost)
				best = i, best_cost = cost;
		}
		drop(h, best);
	}
}

static void checkpoint(struct trc_hist *h, uint64_t ic)
{
	GByteArray *raw = h->scratch;
	g_byte_array_set_size(raw, 0);
	machine_save(h->m, raw);
	struct checkpoint c = { ic, g_byte_array_new() };
	if (!trc_file_pack(raw->data, raw->len, PACK_LEVEL, c.packed, NULL)) {
		g_byte_array_unref(c.packed);
		return;
	}
	/* Past the last checkpoint only: a re-run never duplicates one. */
	guint n = h->cps->len;
	if (n && cp_at(h, n - 1)->icount >= ic) {
		g_byte_array_unref(c.packed);
		return;
	}
	g_array_append_val(h->cps, c);
	h->used += c.packed->len;
	thin(h);
}

struct trc_hist *trc_hist_new(struct machine *m, size_t budget, uint64_t interval)
{
	struct trc_hist *h = g_new0(struct trc_hist, 1);
	h->m = m;
	h->budget = budget ? budget : TRC_HIST_DEFAULT_BUDGET;
	h->interval = interval ? interval : TRC_HIST_DEFAULT_INTERVAL;
	h->cps = g_array_new(FALSE, FALSE, sizeof(struct checkpoint));
	h->scratch = g_byte_array_new();
	h->end = trc_hist_icount(h);
	checkpoint(h, h->end);
	return h;
}

void trc_hist_free(struct trc_hist *h)
{
	if (!h)
		return;
	for (guint i = 0; i < h->cps->len; i++)
		g_byte_array_unref(cp_at(h, i)->packed);
	g_array_free(h->cps, TRUE);
	g_byte_array_unref(h->scratch);
	g_free(h);
}

uint64_t trc_hist_start(const struct trc_hist *h)
{
	return cp_at(h, 0)->icount;
}

uint64_t trc_hist_end(const struct trc_hist *h)
{
	return h->end;
}

void trc_hist_tick(struct trc_hist *h)
{
	uint64_t ic = trc_hist_icount(h);
	if (ic > h->end)
		h->end = ic;
	const struct checkpoint *last = cp_at(h, h->cps->len - 1);
	if (ic >= last->icount + h->interval)
		checkpoint(h, ic);
}

enum machine_stop trc_hist_run(struct trc_hist *h, uint64_t n)
{
	enum machine_stop st = MACHINE_LIMIT;
	while (n) {
		uint64_t ic = trc_hist_icount(h);
		const struct checkpoint *last = cp_at(h, h->cps->len - 1);
		uint64_t due = last->icount + h->interval;
		uint64_t chunk = due > ic ? due - ic : 1;
		if (chunk > n)
			chunk = n;
		st = machine_run(h->m, chunk);
		uint64_t done = trc_hist_icount(h) - ic;
		trc_hist_tick(h);
		if (st != MACHINE_LIMIT)
			break;
		n -= done < n ? done : n;
	}
	return st;
}

bool trc_hist_seek(struct trc_hist *h, uint64_t target, volatile int *interrupted,
                   GError **error)
{
	if (target < trc_hist_start(h) || target > h->end) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "instruction %" G_GUINT64_FORMAT " is outside the history (%" G_GUINT64_FORMAT
		            " .. %" G_GUINT64_FORMAT ")", target, trc_hist_start(h), h->end);
		return false;
	}
	uint64_t now = trc_hist_icount(h);
	if (target < now || now < cp_at(h, 0)->icount) {
		guint i = h->cps->len - 1;
		while (i > 0 && cp_at(h, i)->icount > target)
			i--;
		const struct checkpoint *c = cp_at(h, i);
		GByteArray *raw = h->scratch;
		g_byte_array_set_size(raw, 0);
		bool ok = trc_file_unpack(c->packed->data, c->packed->len, UINT64_MAX, raw, error) &&
		          machine_restore(h->m, raw->data, raw->len, error);
		if (!ok)
			return false;
	}
	/* Forward, in steps the interrupt flag can cut short. */
	for (;;) {
		uint64_t ic = trc_hist_icount(h);
		if (ic >= target)
			return true;
		if (interrupted && *interrupted) {
			g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
			            "interrupted at instruction %" G_GUINT64_FORMAT, ic);
			return false;
		}
		uint64_t n = target - ic;
		enum machine_stop st = machine_run(h->m, n > 1000000 ? 1000000 : n);
		if (st != MACHINE_LIMIT && st != MACHINE_BREAK && trc_hist_icount(h) < target) {
			g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
			            "the run ended (%s) at instruction %" G_GUINT64_FORMAT
			            " before reaching %" G_GUINT64_FORMAT, machine_stop_name(st),
			            trc_hist_icount(h), target);
			return false;
		}
	}
}

void trc_hist_usage(const struct trc_hist *h, unsigned *count, size_t *bytes)
{
	*count = h->cps->len;
	*bytes = h->used;
}
