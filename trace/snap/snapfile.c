/*
 * snapfile.c - snapshot files (snapfile.h) on the trace container.
 */
#include "snapfile.h"

#include <string.h>

#include "trcfile.h"

bool trc_snap_write(const char *path, struct machine *m, uint64_t icount, char **args,
                    GError **error)
{
	GByteArray *a = g_byte_array_new();
	for (char **p = args; p && *p; p++)
		g_byte_array_append(a, (const guint8 *)*p, (guint)strlen(*p) + 1);
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
	int64_t i = trc_file_find(r, type, UINT64_MAX);
	if (i < 0) {
		const char *w = trc_file_complete(r) ? NULL : trc_file_warning(r);
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_DAMAGED,
		            "%s: not a complete snapshot (it has no %s record%s%s)", path,
		            type == TRC_SNAP_ARGS ? "arguments" : "machine state", w ? "; " : "",
		            w ? w : "");
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
	uint64_t k;
	GByteArray *a = record(r, path, TRC_SNAP_ARGS, &k, error);
	GByteArray *s = a ? record(r, path, TRC_SNAP_STATE, icount, error) : NULL;
	trc_file_close(r);
	if (!s) {
		if (a)
			g_byte_array_unref(a);
		return false;
	}
	GPtrArray *v = g_ptr_array_new();
	for (guint i = 0; i < a->len;) {
		const char *p = (const char *)a->data + i;
		size_t n = strnlen(p, a->len - i);
		g_ptr_array_add(v, g_strndup(p, n));
		i += (guint)n + 1;
	}
	g_ptr_array_add(v, NULL);
	*args = (char **)g_ptr_array_free(v, FALSE);
	g_byte_array_unref(a);
	*state = g_byte_array_free_to_bytes(s);
	return true;
}
