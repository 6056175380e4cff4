/*
 * itrace-read.c - the reader of instruction traces: opening (with the
 * summary, or rebuilding it from the blocks of a trace cut short), the
 * block decoder, and the queries.
 *
 * Untrusted input: the container checks every record's checksum; here
 * every byte a block is parsed from is bounds-checked, every count is
 * held to a limit, and a block that does not parse is a GError naming the
 * file and the block, never a crash. One decoded block is cached: a
 * timeline view or a backwards query reads neighbouring steps.
 */
#include <sys/stat.h>

#include "itrace-format.h"
#include "trcfile.h"

struct trc_itrace_reader {
	struct trc_file_reader *file;
	char *name;
	struct trc_itrace_state start;
	unsigned block_len;
	GArray *sums;              /* struct itrace_sum, one per readable block */
	bool complete;
	char *warning;
	uint64_t file_bytes;
	int64_t cached;            /* the block in steps/writes, or -1 */
	GArray *steps, *writes;
	GByteArray *raw;
	uint64_t decoded;
};

/* {====== parsing ====== */

struct cursor {
	const uint8_t *p, *end;
	bool bad;
};

static uint8_t get_u8(struct cursor *c)
{
	if (c->p >= c->end) {
		c->bad = true;
		return 0;
	}
	return *c->p++;
}

static uint32_t get_varint(struct cursor *c)
{
	uint32_t v = 0;
	for (int shift = 0; shift < 35; shift += 7) {
		uint8_t b = get_u8(c);
		if (shift == 28 && b > 0x0f)
			c->bad = true;
		v |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80) || c->bad)
			return v;
	}
	c->bad = true;
	return v;
}

static bool damaged(struct trc_itrace_reader *r, size_t block, const char *what, GError **error)
{
	g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_DAMAGED,
	             "%s: instruction trace block %zu: %s; the file is damaged", r->name, block, what);
	return false;
}

/* Decodes one step after state *cur into *s (writes appended to `writes`,
 * their index in s->writes as an integer until the block is done). */
static void decode_step(struct cursor *c, struct trc_itrace_state *cur, uint32_t *next_write,
                        struct trc_itrace_step *s, GArray *writes)
{
	const struct trc_itrace_state before = *cur;
	uint8_t head = get_u8(c);
	uint8_t ext = head & IH_EXT ? get_u8(c) : 0;
	s->icount = cur->icount;
	s->eip = cur->reg[TRC_IR_EIP];
	s->level = cur->level;
	s->event = ext & IX_EVENT;
	uint32_t adv = head & IH_EIP ? head & IH_EIP : (uint32_t)unzigzag(get_varint(c));
	cur->reg[TRC_IR_EIP] += adv;
	if (head & IH_GP) {
		uint8_t m = get_u8(c);
		for (int i = 0; i < 8; i++)
			if (m >> i & 1)
				cur->reg[i] += (uint32_t)unzigzag(get_varint(c));
	}
	if (head & IH_FLAGS)
		cur->reg[TRC_IR_EFLAGS] ^= get_varint(c);
	if (ext & IX_SEG) {
		uint8_t m = get_u8(c);
		for (int i = 0; i < 6; i++)
			if (m >> i & 1)
				cur->reg[TRC_IR_CS + i] = get_varint(c);
	}
	if (ext & IX_CR) {
		uint8_t m = get_u8(c);
		for (int i = 0; i < 4; i++)
			if (m >> i & 1)
				cur->reg[TRC_IR_CR0 + i] ^= get_varint(c);
	}
	if (ext & IX_LEVEL) {
		cur->level = get_u8(c);
		cur->cpl = get_u8(c);
	}
	cur->icount += ext & IX_ICOUNT ? get_varint(c) : !s->event;
	s->n_writes = 0;
	s->writes = (const void *)(uintptr_t)writes->len;
	if (head & IH_WRITES) {
		uint32_t n = get_varint(c);
		if (n > (uint32_t)(c->end - c->p)) /* each write takes 2 bytes at least */
			c->bad = true;
		for (uint32_t i = 0; i < n && !c->bad; i++) {
			uint32_t v = get_varint(c), d, lg;
			struct trc_itrace_write w = { .phys = (v >> 2) & 1 };
			if ((v & 3) == 3) {
				d = get_varint(c);
				lg = get_u8(c);
			} else {
				d = v >> 3;
				lg = v & 3;
			}
			if (lg > 2)
				c->bad = true;
			w.size = (uint8_t)(1u << (lg & 3));
			w.addr = *next_write + (uint32_t)unzigzag(d);
			w.val = get_varint(c);
			*next_write = w.addr + w.size;
			g_array_append_val(writes, w);
		}
		s->n_writes = n;
	}
	s->changed = 0;
	for (int i = 0; i < TRC_IR_COUNT; i++)
		s->changed |= (uint32_t)(cur->reg[i] != before.reg[i]) << i;
	s->after = *cur;
}

/* Decodes block `k` into the cache. */
static bool decode_block(struct trc_itrace_reader *r, size_t k, uint32_t record, GError **error)
{
	if (r->cached == (int64_t)k)
		return true;
	r->cached = -1;
	g_array_set_size(r->steps, 0);
	g_array_set_size(r->writes, 0);
	if (!trc_file_read(r->file, record, r->raw, error))
		return false;
	struct cursor c = { r->raw->data, r->raw->data + r->raw->len, false };
	if (r->raw->len < ITRACE_BLOCK_HEAD || c.p[0] != 'I' || c.p[1] != ITRACE_BLOCK_VERSION)
		return damaged(r, k, "bad block header", error);
	uint32_t n = get_le32(c.p + 4);
	if (n == 0 || n > TRC_ITRACE_BLOCK_MAX || n > r->raw->len)
		return damaged(r, k, "bad step count", error);
	struct trc_itrace_state cur = { .icount = get_le64(c.p + 8) };
	get_state(c.p + 16, &cur);
	c.p += ITRACE_BLOCK_HEAD;
	uint32_t next_write = 0;
	g_array_set_size(r->steps, n);
	for (uint32_t i = 0; i < n && !c.bad; i++)
		decode_step(&c, &cur, &next_write, &g_array_index(r->steps, struct trc_itrace_step, i),
		            r->writes);
	if (c.bad || c.p != c.end)
		return damaged(r, k, c.bad ? "a step runs past the block's end" : "bytes after the last step",
		               error);
	for (uint32_t i = 0; i < n; i++) {
		struct trc_itrace_step *s = &g_array_index(r->steps, struct trc_itrace_step, i);
		s->writes = s->n_writes ? &g_array_index(r->writes, struct trc_itrace_write,
		                                         (uintptr_t)s->writes) : NULL;
	}
	r->cached = (int64_t)k;
	r->decoded++;
	return true;
}

/* }====================================================================== */

/* {====== opening ====== */

/* The summary of the block in the cache. */
static void summarize(struct trc_itrace_reader *r, uint32_t record, struct itrace_sum *s)
{
	memset(s, 0, sizeof *s);
	s->record = record;
	s->wmin = UINT32_MAX;
	s->steps = r->steps->len;
	const struct trc_itrace_step *st = (const void *)r->steps->data;
	s->first = st[0].icount;
	s->end = st[s->steps - 1].after.icount;
	for (uint32_t i = 0; i < s->steps; i++) {
		if (!st[i].event)
			bloom_add(s->ebloom, st[i].eip);
		for (unsigned w = 0; w < st[i].n_writes; w++)
			sum_add_write(s, &st[i].writes[w]);
	}
}

/* Takes the summary record if it matches the blocks; else false. */
static bool read_summary(struct trc_itrace_reader *r, GArray *records)
{
	int64_t i = trc_file_find(r->file, TRC_ITRACE_SUMMARY, UINT64_MAX);
	if (i < 0 || !trc_file_read(r->file, (size_t)i, r->raw, NULL))
		return false;
	const uint8_t *p = r->raw->data;
	if (r->raw->len < 4 || get_le32(p) != records->len ||
	    r->raw->len != 4 + (uint64_t)records->len * ITRACE_SUM_LEN)
		return false;
	for (guint k = 0; k < records->len; k++) {
		const uint8_t *b = p + 4 + (size_t)k * ITRACE_SUM_LEN;
		struct itrace_sum s = { get_le64(b), get_le64(b + 8), get_le32(b + 16), get_le32(b + 20),
		                        get_le32(b + 24), get_le32(b + 28), {0}, {0} };
		for (int w = 0; w < ITRACE_BLOOM_WORDS; w++) {
			s.wbloom[w] = get_le64(b + 32 + 8 * w);
			s.ebloom[w] = get_le64(b + 32 + 8 * ITRACE_BLOOM_WORDS + 8 * w);
		}
		if (s.record != g_array_index(records, uint32_t, k)) {
			g_array_set_size(r->sums, 0);
			return false;
		}
		g_array_append_val(r->sums, s);
	}
	return true;
}

static bool open_head(struct trc_itrace_reader *r, GError **error)
{
	uint32_t type = 0;
	if (trc_file_count(r->file) > 0)
		trc_file_record_info(r->file, 0, &type, NULL, NULL);
	if (type != TRC_ITRACE_HEAD || !trc_file_read(r->file, 0, r->raw, NULL) ||
	    r->raw->len != ITRACE_HEAD_LEN || memcmp(r->raw->data, ITRACE_MAGIC, 8) != 0) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_NOT_TRACE,
		            "%s: not an instruction trace (it has no trace head record); "
		            "write one with nestlab-run --itrace", r->name);
		return false;
	}
	const uint8_t *p = r->raw->data;
	if (get_le32(p + 8) != ITRACE_VERSION) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_VERSION,
		            "%s: instruction trace version %u; this nestlab reads version %u",
		            r->name, get_le32(p + 8), ITRACE_VERSION);
		return false;
	}
	r->block_len = get_le32(p + 12);
	get_state(p + 16, &r->start);
	r->start.icount = get_le64(p + 16 + 4 + 4 * TRC_IR_COUNT);
	return true;
}

/* Builds the block list: from the summary, or by decoding every block. */
static bool open_blocks(struct trc_itrace_reader *r, GError **error)
{
	GArray *records = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	for (size_t i = 0; i < trc_file_count(r->file); i++) {
		uint32_t type;
		trc_file_record_info(r->file, i, &type, NULL, NULL);
		if (type == TRC_ITRACE_BLOCK) {
			uint32_t u = (uint32_t)i;
			g_array_append_val(records, u);
		}
	}
	r->complete = trc_file_complete(r->file) && read_summary(r, records);
	for (guint k = 0; !r->complete && k < records->len; k++) {
		GError *e = NULL;
		uint32_t rec = g_array_index(records, uint32_t, k);
		if (!decode_block(r, k, rec, &e)) {
			if (k == 0) {
				g_propagate_error(error, e);
				g_array_unref(records);
				return false;
			}
			r->warning = g_strdup_printf("%s; the first %u blocks are readable", e->message, k);
			g_error_free(e);
			break;
		}
		struct itrace_sum s;
		summarize(r, rec, &s);
		g_array_append_val(r->sums, s);
	}
	if (!r->complete && !r->warning)
		r->warning = g_strdup_printf("%s: the trace was not finished (%s); its %u blocks are "
		                             "readable", r->name,
		                             trc_file_warning(r->file) ? trc_file_warning(r->file)
		                                                       : "no summary",
		                             r->sums->len);
	g_array_unref(records);
	return true;
}

static struct trc_itrace_reader *reader_open(struct trc_file_reader *f, const char *name,
                                             uint64_t size, GError **error)
{
	if (!f)
		return NULL;
	struct trc_itrace_reader *r = g_new0(struct trc_itrace_reader, 1);
	r->file = f;
	r->name = g_strdup(name);
	r->file_bytes = size;
	r->cached = -1;
	r->sums = g_array_new(FALSE, FALSE, sizeof(struct itrace_sum));
	r->steps = g_array_new(FALSE, FALSE, sizeof(struct trc_itrace_step));
	r->writes = g_array_new(FALSE, FALSE, sizeof(struct trc_itrace_write));
	r->raw = g_byte_array_new();
	trc_file_set_limit(f, 64u << 20);
	if (!open_head(r, error) || !open_blocks(r, error)) {
		trc_itrace_close(r);
		return NULL;
	}
	return r;
}

struct trc_itrace_reader *trc_itrace_open(const char *path, GError **error)
{
	struct stat st;
	uint64_t size = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
	return reader_open(trc_file_open(path, error), path, size, error);
}

struct trc_itrace_reader *trc_itrace_open_bytes(GBytes *bytes, const char *name, GError **error)
{
	return reader_open(trc_file_open_bytes(bytes, name, error), name, g_bytes_get_size(bytes),
	                   error);
}

void trc_itrace_close(struct trc_itrace_reader *r)
{
	if (!r)
		return;
	trc_file_close(r->file);
	g_free(r->name);
	g_free(r->warning);
	g_array_unref(r->sums);
	g_array_unref(r->steps);
	g_array_unref(r->writes);
	g_byte_array_unref(r->raw);
	g_free(r);
}

void trc_itrace_get_info(const struct trc_itrace_reader *r, struct trc_itrace_info *out)
{
	memset(out, 0, sizeof *out);
	out->blocks = r->sums->len;
	out->block_len = r->block_len;
	out->file_bytes = r->file_bytes;
	out->complete = r->complete;
	out->first_icount = out->end_icount = r->start.icount;
	for (guint k = 0; k < r->sums->len; k++)
		out->steps += g_array_index(r->sums, struct itrace_sum, k).steps;
	if (r->sums->len)
		out->end_icount = g_array_index(r->sums, struct itrace_sum, r->sums->len - 1).end;
}

const char *trc_itrace_warning(const struct trc_itrace_reader *r)
{
	return r->warning;
}

const struct trc_itrace_state *trc_itrace_start(const struct trc_itrace_reader *r)
{
	return &r->start;
}

uint64_t trc_itrace_blocks_decoded(const struct trc_itrace_reader *r)
{
	return r->decoded;
}

/* }====================================================================== */

/* {====== queries ====== */

static const struct itrace_sum *sum(const struct trc_itrace_reader *r, size_t k)
{
	return &g_array_index(r->sums, struct itrace_sum, k);
}

static bool load(struct trc_itrace_reader *r, size_t k, GError **error)
{
	return decode_block(r, k, sum(r, k)->record, error);
}

bool trc_itrace_foreach(struct trc_itrace_reader *r, uint64_t from, uint64_t max,
                        trc_itrace_step_fn fn, void *opaque, GError **error)
{
	/* the first block that ends after `from` (a binary search on end) */
	size_t lo = 0, hi = r->sums->len;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (sum(r, mid)->end <= from)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint64_t done = 0;
	for (size_t k = lo; k < r->sums->len; k++) {
		if (!load(r, k, error))
			return false;
		for (guint i = 0; i < r->steps->len; i++) {
			const struct trc_itrace_step *s = &g_array_index(r->steps, struct trc_itrace_step, i);
			if (s->icount < from)
				continue;
			if ((max && done == max) || !fn(opaque, s))
				return true;
			done++;
		}
	}
	return true;
}

static void hit_of(const struct trc_itrace_step *s, struct trc_itrace_hit *hit)
{
	memset(hit, 0, sizeof *hit);
	hit->icount = s->icount;
	hit->eip = s->eip;
	hit->level = s->level;
	hit->event = s->event;
}

static bool covers(const struct trc_itrace_write *w, uint32_t addr, bool phys)
{
	return w->phys == phys && addr - w->addr < w->size;
}

int trc_itrace_prev_write(struct trc_itrace_reader *r, uint32_t addr, bool phys, uint64_t before,
                          struct trc_itrace_hit *hit, GError **error)
{
	for (size_t k = r->sums->len; k-- > 0;) {
		const struct itrace_sum *m = sum(r, k);
		if (m->first >= before || m->wmin > addr || (uint64_t)m->wmax + 3 < addr ||
		    !bloom_has(m->wbloom, granule(addr, phys)))
			continue;
		if (!load(r, k, error))
			return -1;
		for (guint i = r->steps->len; i-- > 0;) {
			const struct trc_itrace_step *s = &g_array_index(r->steps, struct trc_itrace_step, i);
			if (s->icount >= before)
				continue;
			for (unsigned w = s->n_writes; w-- > 0;) {
				if (covers(&s->writes[w], addr, phys)) {
					hit_of(s, hit);
					hit->write = s->writes[w];
					hit->byte = (uint8_t)(s->writes[w].val >> (8 * (addr - s->writes[w].addr)));
					return 1;
				}
			}
		}
	}
	return 0;
}

int trc_itrace_prev_eip(struct trc_itrace_reader *r, uint32_t eip, uint64_t before,
                        struct trc_itrace_hit *hit, GError **error)
{
	for (size_t k = r->sums->len; k-- > 0;) {
		const struct itrace_sum *m = sum(r, k);
		if (m->first >= before || !bloom_has(m->ebloom, eip))
			continue;
		if (!load(r, k, error))
			return -1;
		for (guint i = r->steps->len; i-- > 0;) {
			const struct trc_itrace_step *s = &g_array_index(r->steps, struct trc_itrace_step, i);
			if (s->icount < before && !s->event && s->eip == eip) {
				hit_of(s, hit);
				return 1;
			}
		}
	}
	return 0;
}

/* }====================================================================== */
