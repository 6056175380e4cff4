/*
 * hist.c - incremental checkpoints in memory and seeking by instruction
 * count (hist.h).
 *
 * A checkpoint is the machine's state without its memory
 * (machine_save_state, zstd) and the memory pages that changed since the
 * checkpoint before it (the first holds every page in use):
 *
 *   cp 0:  state | pages p0 p1 p2 ... (all)        frames of FRAME_PAGES
 *   cp 1:  state | pages written since cp 0           pages, zstd each
 *   cp 2:  state | pages written since cp 1
 *
 * Page p at checkpoint i is the copy in the latest checkpoint j <= i that
 * holds p (none: zeros). The machine's memory is always known relative to
 * one checkpoint, `base`: it equals base's memory except in the pages of
 * the `dirty` map (machine_take_dirty, collected as the run goes). So the
 * pages that may differ between now and checkpoint k are `dirty` and the
 * pages held by the checkpoints between base and k; a new checkpoint
 * stores those, and a restore puts back only those.
 *
 * Thinning drops a checkpoint and moves the pages only it held into the
 * next one, which then holds everything written since the one before.
 */
#include "hist.h"

#include <string.h>

#include "trcfile.h"

#define PACK_LEVEL 1   /* zstd's fastest: checkpoints are taken while the user waits */
#define FRAME_PAGES 16 /* pages per zstd frame: a restore unpacks only the frames it needs */
#define PAGE 4096u

struct checkpoint {
	uint64_t icount;
	guint writes;       /* logged writes applied when it was taken */
	guint inputs;       /* host inputs in its state */
	GByteArray *state;  /* machine_save_state(), zstd */
	GArray *pages;      /* uint32_t page numbers held here, ascending */
	GPtrArray *frames;  /* GByteArray: FRAME_PAGES of those pages each, zstd */
	size_t bytes;       /* what it costs */
};

struct trc_hist {
	struct machine *m;
	size_t budget, used;
	uint64_t interval;
	uint64_t end;        /* the furthest instruction count reached */
	GArray *cps;         /* struct checkpoint, by icount */
	guint base;          /* memory is cps[base]'s but for `dirty` */
	uint64_t *dirty;     /* PMEM_DIRTY_WORDS words, a bit per page */
	uint64_t *want;      /* scratch: pages a restore or checkpoint needs */
	GByteArray *scratch; /* unpacked state or frame, kept allocated between uses */
	GArray *writes;      /* struct write, by icount: a debugger's, logged */
	guint applied;       /* writes[0 .. applied) are in the machine's state */
	GArray *inputs;      /* struct hinput: host input (stdin), as it came */
	guint in_state;      /* inputs[0 .. in_state) are in the machine's state */
};

/* Host input (typed on stdin) as the machine logged it: a replay through
 * its moment injects it again there (machine_replay_input). */
struct hinput {
	struct machine_input_event ev; /* ev.data: bytes' */
	GBytes *bytes;
};

/* A debugger's write, to apply again at `icount` in every replay. */
struct write {
	uint64_t icount;
	enum { W_REG, W_VIRT, W_PHYS } kind;
	uint32_t where;      /* register or address */
	uint32_t value;      /* W_REG */
	GBytes *bytes;       /* W_VIRT, W_PHYS */
};

#define WORDS (1u << 14) /* PMEM_DIRTY_WORDS: the 4 GiB address space */

static inline bool bit(const uint64_t *map, uint32_t p)
{
	return (map[p >> 6] >> (p & 63)) & 1;
}

static inline void set_bit(uint64_t *map, uint32_t p)
{
	map[p >> 6] |= 1ull << (p & 63);
}

static inline void clear_bit(uint64_t *map, uint32_t p)
{
	map[p >> 6] &= ~(1ull << (p & 63));
}

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

static void cp_free(struct checkpoint *c)
{
	g_byte_array_unref(c->state);
	g_array_free(c->pages, TRUE);
	g_ptr_array_free(c->frames, TRUE);
}

static size_t cp_bytes(const struct checkpoint *c)
{
	size_t n = c->state->len + c->pages->len * sizeof(uint32_t);
	for (guint i = 0; i < c->frames->len; i++)
		n += ((GByteArray *)g_ptr_array_index(c->frames, i))->len;
	return n;
}

/* Packs `pages` (ascending) as `c`'s, reading each with `get`. */
typedef const uint8_t *(*page_fn)(void *opaque, uint32_t p);

static bool pack_pages(struct checkpoint *c, GArray *pages, page_fn get, void *opaque)
{
	static const uint8_t zero[PAGE];
	uint8_t *buf = g_malloc(FRAME_PAGES * PAGE);
	c->pages = pages;
	c->frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);
	bool ok = true;
	for (guint i = 0; ok && i < pages->len; i += FRAME_PAGES) {
		guint n = MIN(FRAME_PAGES, pages->len - i);
		for (guint k = 0; k < n; k++) {
			const uint8_t *src = get(opaque, g_array_index(pages, uint32_t, i + k));
			memcpy(buf + k * PAGE, src ? src : zero, PAGE);
		}
		GByteArray *f = g_byte_array_new();
		ok = trc_file_pack(buf, n * PAGE, PACK_LEVEL, f, NULL);
		g_ptr_array_add(c->frames, f);
	}
	g_free(buf);
	return ok;
}

/* The frame of `c` holding its k-th page, unpacked into h->scratch. */
static const uint8_t *frame_of(struct trc_hist *h, const struct checkpoint *c, guint k,
                               GError **error)
{
	GByteArray *f = g_ptr_array_index(c->frames, k / FRAME_PAGES);
	g_byte_array_set_size(h->scratch, 0);
	if (!trc_file_unpack(f->data, f->len, FRAME_PAGES * PAGE, h->scratch, error))
		return NULL;
	return h->scratch->data;
}

/* Collects the pages written since the last look into h->dirty. */
static void collect(struct trc_hist *h)
{
	machine_take_dirty(h->m, h->dirty);
}

/* Sets h->want to the pages that may differ between the memory now and
 * checkpoint k's: the dirty ones and those held between base and k. */
static void pages_differing(struct trc_hist *h, guint k)
{
	memcpy(h->want, h->dirty, WORDS * sizeof *h->want);
	guint lo = MIN(h->base, k), hi = MAX(h->base, k);
	for (guint j = lo + 1; j <= hi; j++) {
		const struct checkpoint *c = cp_at(h, j);
		for (guint i = 0; i < c->pages->len; i++)
			set_bit(h->want, g_array_index(c->pages, uint32_t, i));
	}
}

static const uint8_t *machine_page(void *opaque, uint32_t p)
{
	return machine_mem_page(opaque, p);
}

/* {====== taking and dropping checkpoints ====== */

static void drop(struct trc_hist *h, guint i);

/* Over the budget: drop the checkpoint whose loss costs least, measured
 * as the gap it leaves against its age, so that the old ones thin first. */
static void thin(struct trc_hist *h)
{
	while (h->used > h->budget && h->cps->len > 2) {
		guint best = 0;
		double best_cost = 0;
		for (guint i = 1; i + 1 < h->cps->len; i++) {
			double gap = (double)(cp_at(h, i + 1)->icount - cp_at(h, i - 1)->icount);
			double age = (double)(h->end - cp_at(h, i)->icount) + 1;
			double cost = gap / age;
			if (best == 0 || cost < best_cost)
				best = i, best_cost = cost;
		}
		if (best == 0)
			return;
		drop(h, best);
	}
}

static void checkpoint(struct trc_hist *h, uint64_t ic)
{
	/* Past the last checkpoint only: a re-run never duplicates one. */
	guint n = h->cps->len;
	if (n && cp_at(h, n - 1)->icount >= ic)
		return;
	struct checkpoint c = { .icount = ic, .writes = h->applied, .inputs = h->in_state,
	                        .state = g_byte_array_new() };
	g_byte_array_set_size(h->scratch, 0);
	machine_save_state(h->m, h->scratch);
	if (!trc_file_pack(h->scratch->data, h->scratch->len, PACK_LEVEL, c.state, NULL)) {
		g_byte_array_unref(c.state);
		return;
	}
	GArray *pages = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	uint32_t total = machine_mem_pages(h->m);
	collect(h);
	if (n) {
		pages_differing(h, n - 1);
		for (uint32_t w = 0; w < (total + 63) / 64; w++)
			for (uint64_t bits = h->want[w]; bits; bits &= bits - 1) {
				uint32_t p = w * 64 + (uint32_t)__builtin_ctzll(bits);
				if (p < total)
					g_array_append_val(pages, p);
			}
	} else {
		for (uint32_t p = 0; p < total; p++)
			if (machine_mem_page(h->m, p))
				g_array_append_val(pages, p);
	}
	if (!pack_pages(&c, pages, machine_page, h->m)) {
		cp_free(&c);
		return;
	}
	c.bytes = cp_bytes(&c);
	g_array_append_val(h->cps, c);
	h->used += c.bytes;
	h->base = h->cps->len - 1;
	memset(h->dirty, 0, WORDS * sizeof *h->dirty);
	thin(h);
}

static const uint8_t *table_page(void *opaque, uint32_t p)
{
	return g_hash_table_lookup(opaque, GUINT_TO_POINTER(p));
}

static gint cmp_u32(gconstpointer a, gconstpointer b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Drops checkpoint i (never the first or the last): checkpoint i + 1
 * takes the pages only i held, so it again holds all written since i - 1. */
static void drop(struct trc_hist *h, guint i)
{
	struct checkpoint *a = cp_at(h, i), *b = cp_at(h, i + 1);
	GHashTable *copy = g_hash_table_new_full(NULL, NULL, NULL, g_free);
	/* b's pages win; a's fill in. */
	const struct checkpoint *from[2] = { b, a };
	for (int s = 0; s < 2; s++) {
		const struct checkpoint *c = from[s];
		guint have = G_MAXUINT; /* the frame in h->scratch */
		for (guint k = 0; k < c->pages->len; k++) {
			uint32_t p = g_array_index(c->pages, uint32_t, k);
			if (g_hash_table_contains(copy, GUINT_TO_POINTER(p)))
				continue;
			if (have != k / FRAME_PAGES) {
				if (!frame_of(h, c, k, NULL)) {
					/* Our own bytes: cannot happen. Keep the checkpoint. */
					g_hash_table_unref(copy);
					return;
				}
				have = k / FRAME_PAGES;
			}
			g_hash_table_insert(copy, GUINT_TO_POINTER(p),
			                    g_memdup2(h->scratch->data + (k % FRAME_PAGES) * PAGE, PAGE));
		}
	}
	GArray *pages = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	GHashTableIter it;
	gpointer key;
	g_hash_table_iter_init(&it, copy);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		uint32_t p = GPOINTER_TO_UINT(key);
		g_array_append_val(pages, p);
	}
	g_array_sort(pages, cmp_u32);
	struct checkpoint nb = { .icount = b->icount, .writes = b->writes, .inputs = b->inputs,
	                         .state = g_byte_array_ref(b->state) };
	bool ok = pack_pages(&nb, pages, table_page, copy);
	g_hash_table_unref(copy);
	if (!ok) {
		cp_free(&nb);
		return;
	}
	nb.bytes = cp_bytes(&nb);
	h->used -= a->bytes + b->bytes;
	h->used += nb.bytes;
	/* Memory relative to a becomes relative to i - 1: add what a held. */
	if (h->base == i)
		for (guint k = 0; k < a->pages->len; k++)
			set_bit(h->dirty, g_array_index(a->pages, uint32_t, k));
	if (h->base >= i)
		h->base--;
	cp_free(b);
	*b = nb;
	cp_free(a);
	g_array_remove_index(h->cps, i);
}

/* }====================================================================== */

/* {====== host input ======
 *
 * Input typed on stdin reaches the machine at moments the host decides;
 * the machine logs each (machine_set_input_log) with its instruction
 * count and clock. History keeps them, and a restore queues again those
 * after the checkpoint (machine_replay_input), so a replay injects each
 * at its moment. Stdin itself is read only at the present: in the past it
 * is paused, and what is typed meanwhile waits until the run is back. */

/* At the furthest point, with every input in the state. */
static bool at_present(const struct trc_hist *h)
{
	return h->in_state == h->inputs->len && trc_hist_icount(h) >= h->end;
}

static void update_stdin(struct trc_hist *h)
{
	machine_pause_stdin(h->m, !at_present(h));
}

static void cut_future(struct trc_hist *h);

/* The machine took a host input: the next logged one, replayed; or a new
 * one, at the present (or, from a script in the past, replacing the future). */
static void input_logged(void *opaque, const struct machine_input_event *ev)
{
	struct trc_hist *h = opaque;
	if (h->in_state < h->inputs->len) {
		const struct machine_input_event *next =
			&g_array_index(h->inputs, struct hinput, h->in_state).ev;
		if (next->icount == ev->icount && next->cycles == ev->cycles && next->unit == ev->unit &&
		    next->len == ev->len) {
			h->in_state++;
			return;
		}
		cut_future(h);
	}
	struct hinput in = { *ev, g_bytes_new(ev->data, ev->len) };
	in.ev.data = g_bytes_get_data(in.bytes, NULL);
	g_array_append_val(h->inputs, in);
	h->in_state = h->inputs->len;
}

/* The state holds inputs[0 .. from): the later ones are queued again. */
static void requeue_inputs(struct trc_hist *h, guint from)
{
	machine_replay_clear(h->m);
	h->in_state = from;
	for (guint i = from; i < h->inputs->len; i++)
		machine_replay_input(h->m, &g_array_index(h->inputs, struct hinput, i).ev, NULL);
	update_stdin(h);
}

static void free_inputs_from(struct trc_hist *h, guint from)
{
	for (guint i = from; i < h->inputs->len; i++)
		g_bytes_unref(g_array_index(h->inputs, struct hinput, i).bytes);
	g_array_set_size(h->inputs, MIN(from, h->inputs->len));
}

/* }====================================================================== */

/* {====== restoring ====== */

/* Makes the machine's state checkpoint k's. */
static bool restore(struct trc_hist *h, guint k, GError **error)
{
	const struct checkpoint *c = cp_at(h, k);
	g_byte_array_set_size(h->scratch, 0);
	if (!trc_file_unpack(c->state->data, c->state->len, UINT64_MAX, h->scratch, error) ||
	    !machine_restore_state(h->m, h->scratch->data, h->scratch->len, error))
		return false;
	/* Which pages: those written since base, and those held between. */
	collect(h);
	pages_differing(h, k);
	uint32_t total = machine_mem_pages(h->m);
	uint32_t left = 0;
	for (uint32_t w = 0; w < WORDS; w++) {
		if (w * 64 >= total) {
			h->want[w] = 0;
			continue;
		}
		left += (uint32_t)__builtin_popcountll(h->want[w]);
	}
	/* Each page's copy: the latest checkpoint at or before k holding it. */
	for (guint j = k + 1; j-- > 0 && left;) {
		const struct checkpoint *cj = cp_at(h, j);
		guint have = G_MAXUINT;
		for (guint i = 0; i < cj->pages->len && left; i++) {
			uint32_t p = g_array_index(cj->pages, uint32_t, i);
			if (!bit(h->want, p))
				continue;
			if (have != i / FRAME_PAGES) {
				if (!frame_of(h, cj, i, error))
					return false;
				have = i / FRAME_PAGES;
			}
			if (!machine_put_page(h->m, p, h->scratch->data + (i % FRAME_PAGES) * PAGE)) {
				g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
				            "the history's memory does not fit the machine (page %u)", p);
				return false;
			}
			clear_bit(h->want, p);
			left--;
		}
	}
	/* Not held anywhere up to k: never touched then, so zeros. */
	for (uint32_t w = 0; w < WORDS && left; w++)
		for (uint64_t bits = h->want[w]; bits; bits &= bits - 1) {
			machine_put_page(h->m, w * 64 + (uint32_t)__builtin_ctzll(bits), NULL);
			left--;
		}
	h->base = k;
	h->applied = c->writes;
	requeue_inputs(h, c->inputs);
	memset(h->dirty, 0, WORDS * sizeof *h->dirty);
	uint64_t *junk = h->want;
	memset(junk, 0, WORDS * sizeof *junk);
	machine_take_dirty(h->m, junk); /* what the restore itself wrote is k's */
	return true;
}

/* }====================================================================== */

/* {====== a debugger's writes ====== */

static bool apply(struct trc_hist *h, const struct write *w)
{
	gsize n = 0;
	const void *p = w->bytes ? g_bytes_get_data(w->bytes, &n) : NULL;
	switch (w->kind) {
	case W_REG:
		return machine_set_reg(h->m, (enum machine_reg)w->where, w->value);
	case W_VIRT:
		return machine_write_virt(h->m, w->where, p, n);
	case W_PHYS:
		machine_phys_write(h->m, w->where, p, n);
		return true;
	}
	return false;
}

/* Applies the logged writes due at the instruction count now, and the
 * host inputs whose moment has come. */
static void apply_due(struct trc_hist *h)
{
	machine_replay_now(h->m);
	uint64_t ic = trc_hist_icount(h);
	while (h->applied < h->writes->len) {
		const struct write *w = &g_array_index(h->writes, struct write, h->applied);
		if (w->icount > ic)
			break;
		apply(h, w);
		h->applied++;
	}
}

/* Instructions from `ic` to the next logged write (G_MAXUINT64: none). */
static uint64_t to_next_write(const struct trc_hist *h, uint64_t ic)
{
	if (h->applied >= h->writes->len)
		return G_MAXUINT64;
	uint64_t at = g_array_index(h->writes, struct write, h->applied).icount;
	return at > ic ? at - ic : 0;
}

/* Forgets everything after now: checkpoints and writes of a future that
 * a new write replaces. */
static void cut_future(struct trc_hist *h)
{
	uint64_t ic = trc_hist_icount(h);
	while (h->cps->len > 1 && cp_at(h, h->cps->len - 1)->icount > ic) {
		struct checkpoint *c = cp_at(h, h->cps->len - 1);
		h->used -= c->bytes;
		cp_free(c);
		g_array_set_size(h->cps, h->cps->len - 1);
	}
	g_assert(h->base < h->cps->len); /* restored at or before now */
	while (h->writes->len > h->applied) {
		struct write *w = &g_array_index(h->writes, struct write, h->writes->len - 1);
		if (w->bytes)
			g_bytes_unref(w->bytes);
		g_array_set_size(h->writes, h->writes->len - 1);
	}
	free_inputs_from(h, h->in_state);
	machine_replay_clear(h->m);
	h->end = ic;
	update_stdin(h);
}

static bool log_write(struct trc_hist *h, struct write w)
{
	apply_due(h);
	cut_future(h);
	w.icount = trc_hist_icount(h);
	if (!apply(h, &w)) {
		if (w.bytes)
			g_bytes_unref(w.bytes);
		return false;
	}
	g_array_append_val(h->writes, w);
	h->applied = h->writes->len;
	return true;
}

bool trc_hist_set_reg(struct trc_hist *h, enum machine_reg reg, uint32_t v)
{
	if (reg > MACHINE_REG_EFLAGS)
		return false;
	return log_write(h, (struct write){ .kind = W_REG, .where = reg, .value = v });
}

bool trc_hist_write_mem(struct trc_hist *h, uint32_t addr, const void *buf, size_t len, bool phys)
{
	if (!phys) {
		/* All or nothing: every page must be mapped. */
		for (uint64_t a = addr & ~0xfffull; a < (uint64_t)addr + len; a += 0x1000) {
			uint32_t pa;
			if (!machine_translate(h->m, (uint32_t)a, &pa))
				return false;
		}
	}
	return log_write(h, (struct write){ .kind = phys ? W_PHYS : W_VIRT, .where = addr,
	                                    .bytes = g_bytes_new(buf, len) });
}

unsigned trc_hist_writes(const struct trc_hist *h)
{
	return h->writes->len;
}

/* }====================================================================== */

struct trc_hist *trc_hist_new(struct machine *m, size_t budget, uint64_t interval)
{
	struct trc_hist *h = g_new0(struct trc_hist, 1);
	h->m = m;
	h->budget = budget ? budget : TRC_HIST_DEFAULT_BUDGET;
	h->interval = interval ? interval : TRC_HIST_DEFAULT_INTERVAL;
	h->cps = g_array_new(FALSE, FALSE, sizeof(struct checkpoint));
	h->scratch = g_byte_array_new();
	h->dirty = g_new0(uint64_t, WORDS);
	h->want = g_new0(uint64_t, WORDS);
	h->writes = g_array_new(FALSE, FALSE, sizeof(struct write));
	h->inputs = g_array_new(FALSE, FALSE, sizeof(struct hinput));
	machine_set_input_log(m, input_logged, h);
	h->end = trc_hist_icount(h);
	checkpoint(h, h->end);
	if (!h->cps->len)
		g_error("history: cannot compress the first checkpoint");
	return h;
}

void trc_hist_free(struct trc_hist *h)
{
	if (!h)
		return;
	for (guint i = 0; i < h->cps->len; i++)
		cp_free(cp_at(h, i));
	g_array_free(h->cps, TRUE);
	g_byte_array_unref(h->scratch);
	g_free(h->dirty);
	g_free(h->want);
	for (guint i = 0; i < h->writes->len; i++)
		if (g_array_index(h->writes, struct write, i).bytes)
			g_bytes_unref(g_array_index(h->writes, struct write, i).bytes);
	g_array_free(h->writes, TRUE);
	free_inputs_from(h, 0);
	g_array_free(h->inputs, TRUE);
	machine_set_input_log(h->m, NULL, NULL);
	machine_replay_clear(h->m);
	machine_pause_stdin(h->m, false);
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
	apply_due(h);
	update_stdin(h);
	const struct checkpoint *last = cp_at(h, h->cps->len - 1);
	if (ic >= last->icount + h->interval)
		checkpoint(h, ic);
}

enum machine_stop trc_hist_run(struct trc_hist *h, uint64_t n)
{
	enum machine_stop st = MACHINE_LIMIT;
	apply_due(h);
	while (n) {
		uint64_t ic = trc_hist_icount(h);
		const struct checkpoint *last = cp_at(h, h->cps->len - 1);
		uint64_t due = last->icount + h->interval;
		uint64_t chunk = due > ic ? due - ic : 1;
		if (chunk > n)
			chunk = n;
		chunk = MIN(chunk, MAX(to_next_write(h, ic), 1));
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
	/* The last checkpoint at or before the target; restored if going
	 * back, or if it lies ahead of now (cheaper than running there). */
	guint i = h->cps->len - 1;
	while (i > 0 && cp_at(h, i)->icount > target)
		i--;
	if (target < now || now < cp_at(h, i)->icount) {
		if (!restore(h, i, error))
			return false;
	}
	/* Forward, in steps the interrupt flag can cut short. */
	for (;;) {
		apply_due(h);
		uint64_t ic = trc_hist_icount(h);
		if (ic >= target)
			return true;
		if (interrupted && *interrupted) {
			g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
			            "interrupted at instruction %" G_GUINT64_FORMAT, ic);
			return false;
		}
		uint64_t n = MIN(target - ic, MIN(to_next_write(h, ic), 1000000));
		enum machine_stop st = machine_run(h->m, n);
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
