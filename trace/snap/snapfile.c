/*
 * snapfile.c - snapshot files (snapfile.h) on the trace container.
 */
#include "snapfile.h"

#include <string.h>

#include "trcfile.h"

/* The arguments record: each argument followed by a NUL. */
static GByteArray *join_args(char **args)
{
	GByteArray *a = g_byte_array_new();
	for (char **p = args; p && *p; p++)
		g_byte_array_append(a, (const guint8 *)*p, (guint)strlen(*p) + 1);
	return a;
}

bool trc_snap_write(const char *path, struct machine *m, uint64_t icount, char **args,
                    GError **error)
{
	GByteArray *a = join_args(args);
	GByteArray *st = g_byte_array_new();
	machine_save(m, st);
	struct trc_file_writer *w = trc_file_create(path, TRC_FILE_SNAPSHOT, error);
	bool ok = w && trc_file_append(w, TRC_SNAP_ARGS, 0, a->data, a->len, false, error) &&
	          trc_file_append(w, TRC_SNAP_STATE, icount, st->data, st->len, true, error) &&
	          trc_file_finish(w, error);
	if (w && !ok)
		trc_file_abandon(w);
	g_byte_array_unref(a);
	g_byte_array_unref(st);
	return ok;
}

/* Record `type`'s bytes, or a message saying the file lacks it. */
static GByteArray *record(struct trc_file_reader *r, const char *path, uint32_t type,
                          uint64_t *key, GError **error)
{
	const char *what = type == TRC_SNAP_ARGS ? "arguments"
	                   : type == TRC_SNAP_VM ? "VM state" : "machine state";
	int64_t i = trc_file_find(r, type, UINT64_MAX);
	if (i < 0) {
		const char *w = trc_file_complete(r) ? NULL : trc_file_warning(r);
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_DAMAGED,
		            "%s: not a complete snapshot or recording (it has no %s record%s%s)", path,
		            what, w ? "; " : "", w ? w : "");
		return NULL;
	}
	uint32_t t;
	uint64_t len;
	trc_file_record_info(r, (size_t)i, &t, key, &len);
	GByteArray *out = g_byte_array_new();
	if (!trc_file_read(r, (size_t)i, out, error)) {
		g_byte_array_unref(out);
		return NULL;
	}
	return out;
}

/* The NUL-separated arguments of an arguments record, as a vector (the
 * record is freed). */
static char **split_args(GByteArray *a)
{
	GPtrArray *v = g_ptr_array_new();
	for (guint i = 0; i < a->len;) {
		const char *p = (const char *)a->data + i;
		size_t n = strnlen(p, a->len - i);
		g_ptr_array_add(v, g_strndup(p, n));
		i += (guint)n + 1;
	}
	g_ptr_array_add(v, NULL);
	g_byte_array_unref(a);
	return (char **)g_ptr_array_free(v, FALSE);
}

bool trc_snap_read(const char *path, char ***args, GBytes **state, uint64_t *icount,
                   GError **error)
{
	struct trc_file_reader *r = trc_file_open(path, error);
	if (!r)
		return false;
	if (trc_file_kind(r) != TRC_FILE_SNAPSHOT) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_NOT_TRACE,
		            "%s is a nestlab recording, not a snapshot (use --replay)", path);
		trc_file_close(r);
		return false;
	}
	if (trc_file_find(r, TRC_SNAP_VM, UINT64_MAX) >= 0) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_NOT_TRACE,
		            "%s is one VM's snapshot, not a whole machine's: load it into a VM of a "
		            "machine with --vm-load NAME=%s", path, path);
		trc_file_close(r);
		return false;
	}
	uint64_t k;
	GByteArray *a = record(r, path, TRC_SNAP_ARGS, &k, error);
	GByteArray *s = a ? record(r, path, TRC_SNAP_STATE, icount, error) : NULL;
	trc_file_close(r);
	if (!s) {
		if (a)
			g_byte_array_unref(a);
		return false;
	}
	*args = split_args(a);
	*state = g_byte_array_free_to_bytes(s);
	return true;
}

/* {====== VM snapshots ====== */

bool trc_snap_write_vm(const char *path, struct machine *m, unsigned i, GError **error)
{
	GByteArray *st = g_byte_array_new();
	struct machine_vm_info info;
	if (!machine_vm_info(m, i, &info) || !machine_vm_save(m, i, st)) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_INVALID,
		            "%s: not written: there is no VM %u to save (or it was destroyed)", path, i);
		g_byte_array_unref(st);
		return false;
	}
	struct trc_file_writer *w = trc_file_create(path, TRC_FILE_SNAPSHOT, error);
	bool ok = w && trc_file_append(w, TRC_SNAP_VM, info.regs.icount, st->data, st->len, true,
	                               error) &&
	          trc_file_finish(w, error);
	if (w && !ok)
		trc_file_abandon(w);
	g_byte_array_unref(st);
	return ok;
}

bool trc_snap_read_vm(const char *path, GBytes **state, uint64_t *icount, GError **error)
{
	struct trc_file_reader *r = trc_file_open(path, error);
	if (!r)
		return false;
	const char *other = NULL;
	if (trc_file_kind(r) != TRC_FILE_SNAPSHOT)
		other = "a nestlab recording, not a VM snapshot (use --replay)";
	else if (trc_file_find(r, TRC_SNAP_VM, UINT64_MAX) < 0 &&
	         trc_file_find(r, TRC_SNAP_STATE, UINT64_MAX) >= 0)
		other = "a whole machine's snapshot, not one VM's (continue it with --restore)";
	if (other) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_NOT_TRACE, "%s is %s", path, other);
		trc_file_close(r);
		return false;
	}
	GByteArray *s = record(r, path, TRC_SNAP_VM, icount, error);
	trc_file_close(r);
	if (!s)
		return false;
	*state = g_byte_array_free_to_bytes(s);
	return true;
}

/* }====================================================================== */

/* {====== recordings ====== */

struct trc_rec_writer {
	struct trc_file_writer *w;
	GByteArray *st;
};

static bool append_state(struct trc_rec_writer *w, uint32_t type, struct machine *m,
                         uint64_t icount, GError **error)
{
	g_byte_array_set_size(w->st, 0);
	machine_save(m, w->st);
	return trc_file_append(w->w, type, icount, w->st->data, w->st->len, true, error) &&
	       trc_file_flush(w->w, false, error);
}

struct trc_rec_writer *trc_rec_create(const char *path, struct machine *m, uint64_t icount,
                                      char **args, GError **error)
{
	struct trc_rec_writer *w = g_new0(struct trc_rec_writer, 1);
	w->w = trc_file_create(path, TRC_FILE_RECORDING, error);
	w->st = g_byte_array_new();
	GByteArray *a = join_args(args);
	bool ok = w->w && trc_file_append(w->w, TRC_REC_ARGS, 0, a->data, a->len, false, error) &&
	          append_state(w, TRC_REC_START, m, icount, error);
	g_byte_array_unref(a);
	if (!ok) {
		if (w->w)
			trc_file_abandon(w->w);
		g_byte_array_unref(w->st);
		g_free(w);
		return NULL;
	}
	return w;
}

bool trc_rec_checkpoint(struct trc_rec_writer *w, struct machine *m, const struct trc_rec_end *mark,
                        GError **error)
{
	return append_state(w, TRC_REC_CHECKPOINT, m, mark->icount, error) &&
	       trc_file_append(w->w, TRC_REC_MARK, mark->icount, mark, sizeof *mark, false, error) &&
	       trc_file_flush(w->w, false, error);
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

bool trc_rec_input(struct trc_rec_writer *w, const struct machine_input_event *ev, GError **error)
{
	g_byte_array_set_size(w->st, TRC_REC_INPUT_HEADER);
	put_le(w->st->data, ev->icount, 8);
	put_le(w->st->data + 8, ev->cycles, 8);
	put_le(w->st->data + 16, (uint32_t)ev->kind, 4);
	put_le(w->st->data + 20, ev->unit, 4);
	g_byte_array_append(w->st, ev->data, (guint)ev->len);
	return trc_file_append(w->w, TRC_REC_INPUT, ev->icount, w->st->data, w->st->len, false,
	                       error) &&
	       trc_file_flush(w->w, false, error);
}

bool trc_rec_finish(struct trc_rec_writer *w, const struct trc_rec_end *end, GError **error)
{
	bool ok = trc_file_append(w->w, TRC_REC_END, end->icount, end, sizeof *end, false, error) &&
	          trc_file_finish(w->w, error);
	if (!ok)
		trc_file_abandon(w->w);
	g_byte_array_unref(w->st);
	g_free(w);
	return ok;
}

struct trc_rec_reader {
	struct trc_file_reader *r;
	GArray *cps; /* record index of each checkpoint */
	GArray *inputs; /* record index of each input */
	int64_t end;
	uint64_t last_icount, last_cycles; /* of the last input read, to check the order */
	size_t last_input; /* its number + 1, or 0 */
	char *path;
};

struct trc_rec_reader *trc_rec_open(const char *path, char ***args, GBytes **state,
                                    uint64_t *start, GError **error)
{
	struct trc_file_reader *fr = trc_file_open(path, error);
	if (!fr)
		return NULL;
	if (trc_file_kind(fr) != TRC_FILE_RECORDING) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_NOT_TRACE,
		            "%s is a nestlab snapshot, not a recording (use --restore)", path);
		trc_file_close(fr);
		return NULL;
	}
	uint64_t k;
	GByteArray *a = record(fr, path, TRC_SNAP_ARGS, &k, error);
	GByteArray *s = a ? record(fr, path, TRC_REC_START, start, error) : NULL;
	if (!s) {
		if (a)
			g_byte_array_unref(a);
		trc_file_close(fr);
		return NULL;
	}
	*args = split_args(a);
	*state = g_byte_array_free_to_bytes(s);
	struct trc_rec_reader *r = g_new0(struct trc_rec_reader, 1);
	r->r = fr;
	r->cps = g_array_new(FALSE, FALSE, sizeof(size_t));
	r->inputs = g_array_new(FALSE, FALSE, sizeof(size_t));
	r->path = g_strdup(path);
	r->end = -1;
	for (size_t i = 0; i < trc_file_count(fr); i++) {
		uint32_t t;
		uint64_t key, len;
		trc_file_record_info(fr, i, &t, &key, &len);
		if (t == TRC_REC_MARK)
			g_array_append_val(r->cps, i);
		else if (t == TRC_REC_INPUT)
			g_array_append_val(r->inputs, i);
		else if (t == TRC_REC_END)
			r->end = (int64_t)i;
	}
	return r;
}

const char *trc_rec_warning(const struct trc_rec_reader *r)
{
	return trc_file_complete(r->r) ? NULL : trc_file_warning(r->r);
}

size_t trc_rec_marks(const struct trc_rec_reader *r)
{
	return r->cps->len;
}

/* Record i as a trc_rec_end (a mark or the end). */
static bool read_end(struct trc_file_reader *r, size_t i, struct trc_rec_end *out, GError **error)
{
	GByteArray *b = g_byte_array_new();
	bool ok = trc_file_read(r, i, b, error);
	if (ok && b->len != sizeof *out) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_DAMAGED,
		            "record %zu of the recording has the wrong size", i);
		ok = false;
	}
	if (ok) {
		memcpy(out, b->data, sizeof *out);
		out->state_hash[64] = out->console_hash[64] = 0;
	}
	g_byte_array_unref(b);
	return ok;
}

bool trc_rec_mark(struct trc_rec_reader *r, size_t i, struct trc_rec_end *mark, GError **error)
{
	size_t at = g_array_index(r->cps, size_t, i);
	uint32_t t;
	uint64_t key, len;
	/* Its checkpoint is read too: a damaged one is found on the way. */
	if (at > 0) {
		trc_file_record_info(r->r, at - 1, &t, &key, &len);
		GByteArray *b = g_byte_array_new();
		bool ok = t != TRC_REC_CHECKPOINT || trc_file_read(r->r, at - 1, b, error);
		g_byte_array_unref(b);
		if (!ok)
			return false;
	}
	return read_end(r->r, at, mark, error);
}

size_t trc_rec_inputs(const struct trc_rec_reader *r)
{
	return r->inputs->len;
}

bool trc_rec_input_at(struct trc_rec_reader *r, size_t i, struct machine_input_event *ev,
                      GBytes **data, GError **error)
{
	size_t at = g_array_index(r->inputs, size_t, i);
	uint64_t key;
	trc_file_record_info(r->r, at, NULL, &key, NULL);
	GByteArray *b = g_byte_array_new();
	if (!trc_file_read(r->r, at, b, error)) {
		g_byte_array_unref(b);
		return false;
	}
	const char *bad = NULL;
	if (b->len < TRC_REC_INPUT_HEADER) {
		bad = "is shorter than its header";
	} else {
		*ev = (struct machine_input_event){
			.icount = get_le(b->data, 8), .cycles = get_le(b->data + 8, 8),
			.kind = (enum machine_event_kind)get_le(b->data + 16, 4),
			.unit = (uint32_t)get_le(b->data + 20, 4), .len = b->len - TRC_REC_INPUT_HEADER,
		};
		if (ev->icount != key)
			bad = "says another instruction than its key";
		else if (i > 0 && r->last_input == i &&
		         (ev->icount < r->last_icount || ev->cycles < r->last_cycles))
			bad = "comes before the input before it";
	}
	if (bad) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_DAMAGED,
		            "%s: input record %zu (record %zu) %s: the recording is damaged", r->path,
		            i + 1, at, bad);
		g_byte_array_unref(b);
		return false;
	}
	r->last_icount = ev->icount;
	r->last_cycles = ev->cycles;
	r->last_input = i + 1;
	g_byte_array_remove_range(b, 0, TRC_REC_INPUT_HEADER);
	*data = g_byte_array_free_to_bytes(b);
	ev->data = g_bytes_get_data(*data, NULL);
	return true;
}

bool trc_rec_end(struct trc_rec_reader *r, struct trc_rec_end *end)
{
	return r->end >= 0 && read_end(r->r, (size_t)r->end, end, NULL);
}

void trc_rec_close(struct trc_rec_reader *r)
{
	if (!r)
		return;
	trc_file_close(r->r);
	g_array_free(r->cps, TRUE);
	g_array_free(r->inputs, TRUE);
	g_free(r->path);
	g_free(r);
}

/* }====================================================================== */
