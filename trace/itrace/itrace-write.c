/*
 * itrace-write.c - the encoder and writer of instruction traces, and the
 * glue that feeds it from a machine's instruction observer.
 *
 * The encoder keeps the state after the last step and writes each new
 * step as what differs (itrace-format.h): most instructions come out as a
 * head byte, one register delta and an EFLAGS XOR, and zstd then finds the
 * loops. Writes of a step are buffered until its end. A block is cut every
 * `block_len` steps and appended to the container at once (so a crash
 * keeps every finished block); its summary is kept for the end.
 */
#include "itrace-format.h"
#include "nestlab.h"
#include "trcfile.h"

struct trc_itrace_writer {
	struct trc_file_writer *file;
	GError *error;              /* the first failure, kept for finish */
	unsigned block_len;
	struct trc_itrace_state cur; /* after the last step */
	uint8_t *buf;               /* the block being built ... */
	size_t len, cap;            /* ... its bytes and room */
	uint32_t n;                 /* its steps */
	uint32_t next_write;        /* end of the previous write (address deltas) */
	struct trc_itrace_write *writes; /* the step's writes ... */
	size_t n_writes, cap_writes; /* ... how many, and room */
	struct itrace_sum sum;      /* the block's */
	GArray *sums;               /* every finished block's */
	uint64_t steps;
};

const char *const trc_itrace_reg_names[TRC_IR_COUNT] = {
	"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "eip", "eflags",
	"cs", "ss", "ds", "es", "fs", "gs", "cr0", "cr2", "cr3", "cr4",
};

/* {====== bytes ====== */

/* Makes room for `n` more bytes in the block; returns where they go. */
static inline uint8_t *room(struct trc_itrace_writer *w, size_t n)
{
	if (G_UNLIKELY(w->len + n > w->cap)) {
		w->cap = MAX(w->cap * 2, w->len + n);
		w->buf = g_realloc(w->buf, w->cap);
	}
	return w->buf + w->len;
}

static inline uint8_t *put_varint(uint8_t *p, uint32_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* Starts a block at the current state. */
static void block_begin(struct trc_itrace_writer *w)
{
	uint8_t h[ITRACE_BLOCK_HEAD] = { 'I', ITRACE_BLOCK_VERSION };
	put_le64(h + 8, w->cur.icount);
	put_state(h + 16, &w->cur);
	w->len = 0;
	memcpy(room(w, sizeof h), h, sizeof h);
	w->len = sizeof h;
	w->n = 0;
	w->next_write = 0;
	memset(&w->sum, 0, sizeof w->sum);
	w->sum.first = w->cur.icount;
	w->sum.wmin = UINT32_MAX;
}

/* Appends the block being built (if it has steps) to the file. */
static void block_end(struct trc_itrace_writer *w)
{
	if (w->n == 0 || w->error)
		return;
	put_le32(w->buf + 4, w->n);
	w->sum.steps = w->n;
	w->sum.end = w->cur.icount;
	w->sum.record = (uint32_t)trc_file_appended(w->file);
	if (trc_file_append(w->file, TRC_ITRACE_BLOCK, w->sum.first, w->buf, w->len, true,
	                    &w->error))
		g_array_append_val(w->sums, w->sum);
	block_begin(w);
}

/* }====================================================================== */

/* {====== the encoder ====== */

/* The largest encoding of a step without its writes, and of one write. */
#define STEP_MAX (2 + 5 + 1 + 8 * 5 + 5 + 1 + 6 * 5 + 1 + 4 * 5 + 2 + 5 + 5)
#define WRITE_MAX (5 + 5 + 1 + 5)

static uint8_t *put_writes(struct trc_itrace_writer *w, uint8_t *p)
{
	for (size_t i = 0; i < w->n_writes; i++) {
		const struct trc_itrace_write *x = &w->writes[i];
		uint32_t lg = x->size == 4 ? 2 : x->size == 2 ? 1 : 0;
		uint32_t d = zigzag((int32_t)(x->addr - w->next_write));
		/* the delta's top bits do not fit beside the flags: then 3 and a varint */
		if (d < (1u << 28)) {
			p = put_varint(p, d << 3 | (uint32_t)x->phys << 2 | lg);
		} else {
			p = put_varint(p, 3u | (uint32_t)x->phys << 2);
			p = put_varint(p, d);
			*p++ = (uint8_t)lg;
		}
		p = put_varint(p, x->val);
		w->next_write = x->addr + x->size;
		sum_add_write(&w->sum, x);
	}
	w->n_writes = 0;
	return p;
}

void trc_itrace_add_step(struct trc_itrace_writer *w, const struct trc_itrace_state *a,
                         bool event)
{
	const struct trc_itrace_state *c = &w->cur;
	uint32_t adv = a->reg[TRC_IR_EIP] - c->reg[TRC_IR_EIP];
	uint8_t head = adv >= 1 && adv <= 15 ? (uint8_t)adv : 0;
	uint8_t gp = 0, seg = 0, cr = 0, ext = event ? IX_EVENT : 0;
	for (int i = 0; i < 8; i++)
		gp |= (uint8_t)((a->reg[i] != c->reg[i]) << i);
	for (int i = 0; i < 6; i++)
		seg |= (uint8_t)((a->reg[TRC_IR_CS + i] != c->reg[TRC_IR_CS + i]) << i);
	for (int i = 0; i < 4; i++)
		cr |= (uint8_t)((a->reg[TRC_IR_CR0 + i] != c->reg[TRC_IR_CR0 + i]) << i);
	uint64_t icount_adv = a->icount - c->icount;
	ext |= (seg ? IX_SEG : 0) | (cr ? IX_CR : 0);
	ext |= (a->level != c->level || a->cpl != c->cpl) ? IX_LEVEL : 0;
	ext |= icount_adv != (event ? 0u : 1u) ? IX_ICOUNT : 0;
	head |= (gp ? IH_GP : 0) | (a->reg[TRC_IR_EFLAGS] != c->reg[TRC_IR_EFLAGS] ? IH_FLAGS : 0);
	head |= (w->n_writes ? IH_WRITES : 0) | (ext ? IH_EXT : 0);
	if (!event)
		bloom_add(w->sum.ebloom, c->reg[TRC_IR_EIP]);
	uint8_t *p = room(w, STEP_MAX + w->n_writes * WRITE_MAX), *p0 = p;
	*p++ = head;
	if (ext)
		*p++ = ext;
	if (!(head & IH_EIP))
		p = put_varint(p, zigzag((int32_t)adv));
	if (gp) {
		*p++ = gp;
		for (int i = 0; i < 8; i++)
			if (gp >> i & 1)
				p = put_varint(p, zigzag((int32_t)(a->reg[i] - c->reg[i])));
	}
	if (head & IH_FLAGS)
		p = put_varint(p, a->reg[TRC_IR_EFLAGS] ^ c->reg[TRC_IR_EFLAGS]);
	if (seg) {
		*p++ = seg;
		for (int i = 0; i < 6; i++)
			if (seg >> i & 1)
				p = put_varint(p, a->reg[TRC_IR_CS + i]);
	}
	if (cr) {
		*p++ = cr;
		for (int i = 0; i < 4; i++)
			if (cr >> i & 1)
				p = put_varint(p, a->reg[TRC_IR_CR0 + i] ^ c->reg[TRC_IR_CR0 + i]);
	}
	if (ext & IX_LEVEL) {
		*p++ = a->level;
		*p++ = a->cpl;
	}
	if (ext & IX_ICOUNT)
		p = put_varint(p, (uint32_t)MIN(icount_adv, UINT32_MAX));
	if (head & IH_WRITES) {
		p = put_varint(p, (uint32_t)w->n_writes);
		p = put_writes(w, p);
	}
	w->len += (size_t)(p - p0);
	uint64_t icount = c->icount + MIN(icount_adv, UINT32_MAX); /* c is w->cur */
	w->cur = *a;
	w->cur.icount = icount;
	w->n++;
	w->steps++;
	if (w->n >= w->block_len)
		block_end(w);
}

void trc_itrace_add_write(struct trc_itrace_writer *w, uint32_t addr, uint32_t val, unsigned size,
                          bool phys)
{
	if (G_UNLIKELY(w->n_writes == w->cap_writes)) {
		w->cap_writes = MAX(16, w->cap_writes * 2);
		w->writes = g_renew(struct trc_itrace_write, w->writes, w->cap_writes);
	}
	w->writes[w->n_writes++] = (struct trc_itrace_write){ addr, val, (uint8_t)size, phys };
}

/* }====================================================================== */

/* {====== the file ====== */

static struct trc_itrace_writer *writer_new(struct trc_file_writer *f, unsigned block_len,
                                            const struct trc_itrace_state *start)
{
	struct trc_itrace_writer *w = g_new0(struct trc_itrace_writer, 1);
	w->file = f;
	w->block_len = block_len ? block_len : TRC_ITRACE_BLOCK_DEFAULT;
	w->cur = *start;
	w->sums = g_array_new(FALSE, FALSE, sizeof(struct itrace_sum));
	uint8_t h[ITRACE_HEAD_LEN];
	memcpy(h, ITRACE_MAGIC, 8);
	put_le32(h + 8, ITRACE_VERSION);
	put_le32(h + 12, w->block_len);
	put_state(h + 16, start);
	put_le64(h + 16 + 4 + 4 * TRC_IR_COUNT, start->icount);
	trc_file_append(f, TRC_ITRACE_HEAD, start->icount, h, sizeof h, false, &w->error);
	block_begin(w);
	return w;
}

struct trc_itrace_writer *trc_itrace_create(const char *path, unsigned block_len,
                                            const struct trc_itrace_state *start, GError **error)
{
	if (block_len > TRC_ITRACE_BLOCK_MAX) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_INVALID,
		            "a block of %u steps is too long: at most %u", block_len,
		            TRC_ITRACE_BLOCK_MAX);
		return NULL;
	}
	struct trc_file_writer *f = trc_file_create(path, TRC_FILE_RECORDING, error);
	return f ? writer_new(f, block_len, start) : NULL;
}

struct trc_itrace_writer *trc_itrace_create_memory(unsigned block_len,
                                                   const struct trc_itrace_state *start)
{
	return writer_new(trc_file_create_memory(TRC_FILE_RECORDING),
	                  MIN(block_len, TRC_ITRACE_BLOCK_MAX), start);
}

uint64_t trc_itrace_steps(const struct trc_itrace_writer *w)
{
	return w->steps;
}

/* The last block (with any writes no step claimed, as an event) and the
 * summary. False if anything failed so far. */
static bool writer_close(struct trc_itrace_writer *w, GError **error)
{
	if (w->n_writes)
		trc_itrace_add_step(w, &w->cur, true);
	block_end(w);
	if (!w->error) {
		GByteArray *s = g_byte_array_sized_new(4 + w->sums->len * ITRACE_SUM_LEN);
		uint8_t n[4];
		put_le32(n, w->sums->len);
		g_byte_array_append(s, n, 4);
		for (guint i = 0; i < w->sums->len; i++) {
			const struct itrace_sum *x = &g_array_index(w->sums, struct itrace_sum, i);
			uint8_t b[ITRACE_SUM_LEN];
			put_le64(b, x->first);
			put_le64(b + 8, x->end);
			put_le32(b + 16, x->steps);
			put_le32(b + 20, x->record);
			put_le32(b + 24, x->wmin);
			put_le32(b + 28, x->wmax);
			for (int k = 0; k < ITRACE_BLOOM_WORDS; k++) {
				put_le64(b + 32 + 8 * k, x->wbloom[k]);
				put_le64(b + 32 + 8 * ITRACE_BLOOM_WORDS + 8 * k, x->ebloom[k]);
			}
			g_byte_array_append(s, b, sizeof b);
		}
		trc_file_append(w->file, TRC_ITRACE_SUMMARY, w->cur.icount, s->data, s->len, true,
		                &w->error);
		g_byte_array_unref(s);
	}
	g_free(w->buf);
	g_free(w->writes);
	g_array_unref(w->sums);
	if (w->error) {
		g_propagate_error(error, w->error);
		w->error = NULL;
		return false;
	}
	return true;
}

bool trc_itrace_finish(struct trc_itrace_writer *w, GError **error)
{
	bool ok = writer_close(w, error);
	if (!ok)
		trc_file_abandon(w->file);
	else
		ok = trc_file_finish(w->file, error);
	g_free(w);
	return ok;
}

GBytes *trc_itrace_finish_bytes(struct trc_itrace_writer *w, GError **error)
{
	GBytes *b = NULL;
	if (writer_close(w, error))
		b = trc_file_finish_bytes(w->file, error);
	else
		trc_file_abandon(w->file);
	g_free(w);
	return b;
}

/* }====================================================================== */

/* {====== the machine's observer ====== */

static void from_regs(const struct machine_regs *r, int level, struct trc_itrace_state *s)
{
	const uint32_t v[TRC_IR_COUNT] = { r->eax, r->ecx, r->edx, r->ebx, r->esp, r->ebp,
		r->esi, r->edi, r->eip, r->eflags, r->cs, r->ss, r->ds, r->es, r->fs, r->gs,
		r->cr0, r->cr2, r->cr3, r->cr4 };
	memcpy(s->reg, v, sizeof v);
	s->level = (uint8_t)level;
	s->cpl = r->cpl;
	s->icount = r->icount;
}

static void obs_write(void *opaque, uint32_t addr, uint32_t val, unsigned size, bool phys)
{
	trc_itrace_add_write(opaque, addr, val, size, phys);
}

static void obs_step(void *opaque, const struct machine_regs *r, int level, bool event)
{
	struct trc_itrace_state s;
	from_regs(r, level, &s);
	trc_itrace_add_step(opaque, &s, event);
}

void trc_itrace_state_of(struct machine *m, struct trc_itrace_state *out)
{
	struct machine_regs r;
	int level = machine_peek_regs(m, &r);
	from_regs(&r, level, out);
}

bool trc_itrace_attach(struct trc_itrace_writer *w, struct machine *m, GError **error)
{
	const struct machine_insn_observer o = { obs_write, obs_step, w };
	return machine_set_insn_observer(m, &o, error);
}

void trc_itrace_detach(struct machine *m)
{
	machine_set_insn_observer(m, NULL, NULL);
}

/* }====================================================================== */
