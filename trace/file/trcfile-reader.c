/*
 * trcfile-reader.c - opens and checks snapshot and recording files; the
 * queries and record reads are in trcfile-read.c.
 *
 * Opening: the header is checked (magic, checksum, version, kind); then
 * the trailer at the end of the file and the index it points at. When
 * there is no trailer (the writer never finished) or it or the index is
 * damaged, the records are found by scanning from the first one, checking
 * each header and payload checksum, up to the first record that is cut
 * off or damaged; trc_file_warning() then tells what happened. Every
 * offset and length is checked against the size of the file before it is
 * used: nothing outside it is ever read.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trcfile-reader.h"

/* Payload bytes checked per read while scanning. */
#define SCAN_CHUNK (64 * 1024)

/* How a scan of the records ended. */
enum scan_end {
	SCAN_EOF,         /* the last record ends at the end of the file */
	SCAN_TRUNCATED,   /* a record is cut off by the end of the file */
	SCAN_BAD_HEADER,  /* a record header fails its checks */
	SCAN_BAD_PAYLOAD, /* a payload fails its checksum */
	SCAN_INDEX,       /* reached the index record, the trailer is cut off */
	SCAN_TRAILER,     /* reached the index record, the trailer is damaged */
};

/* {====== raw access ====== */

static const char *kind_word(const struct trc_file_reader *r)
{
	return r->header.kind == TRC_FILE_SNAPSHOT ? "snapshot" : "recording";
}

/* Reads `len` bytes at `off`; the caller has checked off + len <= size. */
bool trc_reader_read_at(struct trc_file_reader *r, uint64_t off, void *buf, size_t len,
                        GError **error)
{
	g_assert(off <= r->size && len <= r->size - off);
	if (len == 0)
		return true;
	if (r->mem) {
		memcpy(buf, (const uint8_t *)g_bytes_get_data(r->mem, NULL) + off, len);
		return true;
	}
	uint8_t *p = buf;
	while (len) {
		ssize_t n = pread(r->fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_IO, "%s: cannot read: %s",
			            r->name, n < 0 ? g_strerror(errno) : "the file shrank");
			return false;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return true;
}

/* Reads and byte-swaps the record header at `off` (off + 48 <= size);
 * *intact says whether its magic and checksum hold. */
bool trc_reader_record_header(struct trc_file_reader *r, uint64_t off, struct trc_disk_record *rec,
                              bool *intact, GError **error)
{
	if (!trc_reader_read_at(r, off, rec, sizeof *rec, error))
		return false;
	uint32_t crc = trc_disk_record_crc(rec);
	trc_disk_record_swap(rec);
	*intact = rec->magic == TRC_DISK_RECORD_MAGIC && rec->crc == crc;
	return true;
}

/* Whether the fields of an intact record header agree with each other. */
bool trc_reader_record_consistent(const struct trc_disk_record *rec)
{
	if ((rec->flags & ~TRC_REC_KNOWN_FLAGS) || rec->reserved)
		return false;
	if (rec->type == 0 || rec->type == TRC_DISK_TYPE_INDEX)
		return false;
	if (rec->raw_len > TRC_FILE_MAX_RECORD_LEN)
		return false;
	if (rec->flags & TRC_REC_ZSTD)
		return rec->stored_len < rec->raw_len;
	return rec->stored_len == rec->raw_len;
}

/* CRC-32C of `len` file bytes at `off`, in chunks. */
static bool crc_range(struct trc_file_reader *r, uint64_t off, uint64_t len, uint32_t *crc,
                      GError **error)
{
	uint8_t *buf = g_malloc(SCAN_CHUNK);
	bool ok = true;
	*crc = 0;
	while (ok && len) {
		size_t n = (size_t)MIN(len, (uint64_t)SCAN_CHUNK);
		ok = trc_reader_read_at(r, off, buf, n, error);
		*crc = trc_crc32c(*crc, buf, n);
		off += n;
		len -= n;
	}
	g_free(buf);
	return ok;
}

/* }====== */

/* {====== header ====== */

static bool check_header(struct trc_file_reader *r, GError **error)
{
	struct trc_disk_header *h = &r->header;
	uint8_t magic[TRC_DISK_MAGIC_LEN];
	size_t n = (size_t)MIN(r->size, (uint64_t)TRC_DISK_MAGIC_LEN);
	if (r->size == 0) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_NOT_TRACE,
		            "%s: the file is empty, not a nestlab snapshot or recording", r->name);
		return false;
	}
	if (!trc_reader_read_at(r, 0, magic, n, error))
		return false;
	if (memcmp(magic, TRC_DISK_MAGIC, n) != 0) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_NOT_TRACE,
		            "%s: not a nestlab snapshot or recording (bad magic)", r->name);
		return false;
	}
	if (r->size < TRC_DISK_HEADER_SIZE) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_DAMAGED,
		            "%s: the file is cut off inside its header (%" G_GUINT64_FORMAT
		            " of %" G_GUINT64_FORMAT " bytes)",
		            r->name, r->size, TRC_DISK_HEADER_SIZE);
		return false;
	}
	if (!trc_reader_read_at(r, 0, h, sizeof *h, error))
		return false;
	uint32_t crc = trc_disk_header_crc(h);
	trc_disk_header_swap(h);
	if (memcmp(h->magic, TRC_DISK_MAGIC, TRC_DISK_MAGIC_LEN) != 0) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_NOT_TRACE,
		            "%s: not a nestlab snapshot or recording (bad magic)", r->name);
		return false;
	}
	if (h->crc != crc) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_DAMAGED,
		            "%s: header checksum mismatch: the file is damaged", r->name);
		return false;
	}
	if (h->version > TRC_FILE_VERSION) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_VERSION,
		            "%s: made by a newer nestlab (format version %u, this reads up to %u)",
		            r->name, h->version, TRC_FILE_VERSION);
		return false;
	}
	if (h->version == 0 || h->header_size != TRC_DISK_HEADER_SIZE || h->flags || h->reserved ||
	    (h->kind != TRC_FILE_SNAPSHOT && h->kind != TRC_FILE_RECORDING)) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_DAMAGED,
		            "%s: the header is invalid (version %u, kind %u, size %u, flags 0x%x)",
		            r->name, h->version, h->kind, h->header_size, h->flags);
		return false;
	}
	char *creator = g_strndup(h->creator, sizeof h->creator);
	r->creator = g_utf8_make_valid(creator, -1);
	g_free(creator);
	return true;
}

/* }====== */

/* {====== index ====== */

enum index_state { INDEX_OK, INDEX_NONE, INDEX_DAMAGED, INDEX_IO_ERROR };

/* Checks the decoded entries against each other and against the index
 * offset; fills r->entries. */
static bool take_entries(struct trc_file_reader *r, const struct trc_disk_index_entry *disk,
                         uint32_t count, uint64_t index_offset)
{
	uint64_t expect = TRC_DISK_HEADER_SIZE;
	for (uint32_t i = 0; i < count; i++) {
		struct trc_disk_index_entry d = disk[i];
		trc_disk_entry_swap(&d);
		uint64_t next = i + 1 < count ? GUINT64_FROM_LE(disk[i + 1].offset) : index_offset;
		bool ok = d.offset == expect && d.type != 0 && d.type != TRC_DISK_TYPE_INDEX &&
		          !d.reserved && d.raw_len <= TRC_FILE_MAX_RECORD_LEN && next > d.offset &&
		          next - d.offset >= TRC_DISK_RECORD_SIZE && next <= index_offset;
		if (!ok) {
			g_array_set_size(r->entries, 0);
			return false;
		}
		struct entry e = {d.offset, next, d.key, d.raw_len, d.type};
		g_array_append_val(r->entries, e);
		expect = next;
	}
	return expect == index_offset;
}

/* Reads and checks the index payload (`len` bytes after its header). */
static enum index_state read_index_payload(struct trc_file_reader *r,
                                           const struct trc_disk_record *rec, uint64_t off,
                                           const char **why, GError **error)
{
	uint32_t count = (uint32_t)rec->key;
	uint8_t *buf = g_malloc(rec->stored_len ? rec->stored_len : 1);
	enum index_state st = INDEX_OK;
	if (!trc_reader_read_at(r, off + TRC_DISK_RECORD_SIZE, buf, rec->stored_len, error))
		st = INDEX_IO_ERROR;
	else if (trc_crc32c(0, buf, rec->stored_len) != rec->payload_crc)
		*why = "index checksum mismatch", st = INDEX_DAMAGED;
	else if (!take_entries(r, (const struct trc_disk_index_entry *)buf, count, off))
		*why = "the index entries are inconsistent", st = INDEX_DAMAGED;
	g_free(buf);
	return st;
}

static enum index_state load_index(struct trc_file_reader *r, const char **why, GError **error)
{
	struct trc_disk_trailer t;
	uint64_t smallest = TRC_DISK_HEADER_SIZE + TRC_DISK_RECORD_SIZE + TRC_DISK_TRAILER_SIZE;
	if (r->size < smallest)
		return INDEX_NONE;
	uint64_t trailer_at = r->size - TRC_DISK_TRAILER_SIZE;
	if (!trc_reader_read_at(r, trailer_at, &t, sizeof t, error))
		return INDEX_IO_ERROR;
	if (memcmp(t.magic, TRC_DISK_TRAILER_MAGIC, TRC_DISK_MAGIC_LEN) != 0)
		return INDEX_NONE;
	uint32_t crc = trc_disk_trailer_crc(&t);
	trc_disk_trailer_swap(&t);
	if (t.crc != crc)
		return *why = "trailer checksum mismatch", INDEX_DAMAGED;
	uint64_t off = t.index_offset;
	if (off < TRC_DISK_HEADER_SIZE || off > trailer_at - TRC_DISK_RECORD_SIZE)
		return *why = "the trailer points outside the file", INDEX_DAMAGED;
	struct trc_disk_record rec;
	bool intact;
	if (!trc_reader_record_header(r, off, &rec, &intact, error))
		return INDEX_IO_ERROR;
	if (!intact)
		return *why = "the index record's header is damaged", INDEX_DAMAGED;
	bool fits = rec.type == TRC_DISK_TYPE_INDEX && !rec.flags && !rec.reserved &&
	            rec.key == t.count && t.count <= TRC_DISK_MAX_RECORDS &&
	            rec.raw_len == rec.stored_len && rec.raw_len == t.count * TRC_DISK_ENTRY_SIZE &&
	            rec.stored_len == trailer_at - off - TRC_DISK_RECORD_SIZE;
	if (!fits)
		return *why = "the index record does not match the trailer", INDEX_DAMAGED;
	return read_index_payload(r, &rec, off, why, error);
}

/* }====== */

/* {====== scan ====== */

/* Checks the record at `off` (off < size); on success appends it. */
static bool scan_one(struct trc_file_reader *r, uint64_t off, enum scan_end *end, bool *stop,
                     GError **error)
{
	struct trc_disk_record rec;
	bool intact;
	*stop = true;
	if (r->size - off < TRC_DISK_RECORD_SIZE)
		return *end = SCAN_TRUNCATED, true;
	if (!trc_reader_record_header(r, off, &rec, &intact, error))
		return false;
	if (intact && rec.type == TRC_DISK_TYPE_INDEX) {
		bool whole = rec.stored_len <= r->size - off - TRC_DISK_RECORD_SIZE &&
		             r->size - off - TRC_DISK_RECORD_SIZE - rec.stored_len ==
		                     TRC_DISK_TRAILER_SIZE;
		return *end = whole ? SCAN_TRAILER : SCAN_INDEX, true;
	}
	if (!intact || !trc_reader_record_consistent(&rec))
		return *end = SCAN_BAD_HEADER, true;
	if (rec.stored_len > r->size - off - TRC_DISK_RECORD_SIZE)
		return *end = SCAN_TRUNCATED, true;
	uint32_t crc;
	if (!crc_range(r, off + TRC_DISK_RECORD_SIZE, rec.stored_len, &crc, error))
		return false;
	if (crc != rec.payload_crc)
		return *end = SCAN_BAD_PAYLOAD, true;
	if (r->entries->len >= TRC_DISK_MAX_RECORDS)
		return *end = SCAN_BAD_HEADER, true;
	struct entry e = {off, off + TRC_DISK_RECORD_SIZE + rec.stored_len, rec.key, rec.raw_len,
	                  rec.type};
	g_array_append_val(r->entries, e);
	*stop = false;
	return true;
}

/* Finds the records one after the other; *end says why it stopped and
 * *stop_at where. */
static bool scan(struct trc_file_reader *r, enum scan_end *end, uint64_t *stop_at, GError **error)
{
	uint64_t off = TRC_DISK_HEADER_SIZE;
	g_array_set_size(r->entries, 0);
	for (;;) {
		bool stop;
		*stop_at = off;
		if (off == r->size)
			return *end = SCAN_EOF, true;
		if (!scan_one(r, off, end, &stop, error))
			return false;
		if (stop)
			return true;
		off = g_array_index(r->entries, struct entry, r->entries->len - 1).end;
	}
}

/* The sentence for trc_file_warning(): what is missing or damaged, and
 * how many records can be read. */
static char *describe_scan(const struct trc_file_reader *r, enum scan_end end, uint64_t at,
                           const char *index_why)
{
	guint n = r->entries->len;
	const char *what = kind_word(r);
	char *head = index_why ? g_strdup_printf("the %s's index or trailer is damaged (%s)", what,
	                                         index_why)
	                       : NULL;
	char *tail = NULL;
	switch (end) {
	case SCAN_EOF:
		tail = n ? g_strdup_printf(
		                   "it stops after record %u without an index (a crash while "
		                   "writing?); %u records are readable",
		                   n - 1, n)
		         : g_strdup("it stops before its first record (a crash while writing?); "
		                    "no records are readable");
		break;
	case SCAN_TRUNCATED:
		tail = g_strdup_printf("record %u at offset %" G_GUINT64_FORMAT
		                       " is truncated (a crash "
		                       "while writing?); %u records are readable",
		                       n, at, n);
		break;
	case SCAN_BAD_HEADER:
		tail = g_strdup_printf("record %u at offset %" G_GUINT64_FORMAT
		                       " has a damaged header; "
		                       "the %u records before it are readable",
		                       n, at, n);
		break;
	case SCAN_BAD_PAYLOAD:
		tail = g_strdup_printf("record %u at offset %" G_GUINT64_FORMAT
		                       " fails its checksum; "
		                       "the %u records before it are readable",
		                       n, at, n);
		break;
	case SCAN_INDEX:
		tail = index_why ? g_strdup_printf("all %u records were found by scanning", n)
		                 : g_strdup_printf(
		                           "its trailer is cut off (a crash while finishing?); "
		                           "all %u records are readable",
		                           n);
		break;
	case SCAN_TRAILER:
		tail = g_strdup_printf("all %u records were found by scanning", n);
		if (!head)
			head = g_strdup_printf("the %s's trailer is damaged", what);
		break;
	}
	bool cut = end == SCAN_EOF || end == SCAN_TRUNCATED || end == SCAN_INDEX;
	char *s = head ? g_strdup_printf("%s; %s", head, tail)
	               : g_strdup_printf("the %s %s: %s", what, cut ? "ends early" : "is damaged",
	                                 tail);
	g_free(head);
	g_free(tail);
	return s;
}

/* }====== */

/* {====== opening ====== */

static gint by_key_then_index(gconstpointer a, gconstpointer b, gpointer data)
{
	const struct entry *e = (const struct entry *)((GArray *)data)->data;
	guint ia = *(const guint *)a, ib = *(const guint *)b;
	if (e[ia].key != e[ib].key)
		return e[ia].key < e[ib].key ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

static void build_by_type(struct trc_file_reader *r)
{
	for (guint i = 0; i < r->entries->len; i++) {
		uint32_t type = g_array_index(r->entries, struct entry, i).type;
		GArray *list = g_hash_table_lookup(r->by_type, GUINT_TO_POINTER(type));
		if (!list) {
			list = g_array_new(FALSE, FALSE, sizeof(guint));
			g_hash_table_insert(r->by_type, GUINT_TO_POINTER(type), list);
		}
		g_array_append_val(list, i);
	}
	GHashTableIter it;
	gpointer list;
	g_hash_table_iter_init(&it, r->by_type);
	while (g_hash_table_iter_next(&it, NULL, &list))
		g_array_sort_with_data(list, by_key_then_index, r->entries);
}

static void free_list(gpointer p)
{
	g_array_free(p, TRUE);
}

static struct trc_file_reader *reader_new(const char *name)
{
	struct trc_file_reader *r = g_new0(struct trc_file_reader, 1);
	r->name = g_strdup(name);
	r->fd = -1;
	r->entries = g_array_new(FALSE, FALSE, sizeof(struct entry));
	r->by_type = g_hash_table_new_full(NULL, NULL, NULL, free_list);
	r->limit = TRC_FILE_MAX_RECORD_LEN;
	return r;
}

static bool find_records(struct trc_file_reader *r, GError **error)
{
	const char *why = NULL;
	switch (load_index(r, &why, error)) {
	case INDEX_OK:
		r->complete = true;
		return true;
	case INDEX_IO_ERROR:
		return false;
	default:
		break;
	}
	enum scan_end end;
	uint64_t at;
	if (!scan(r, &end, &at, error))
		return false;
	r->warning = describe_scan(r, end, at, why);
	return true;
}

static struct trc_file_reader *open_common(struct trc_file_reader *r, GError **error)
{
	if (!check_header(r, error) || !find_records(r, error)) {
		trc_file_close(r);
		return NULL;
	}
	build_by_type(r);
	return r;
}

struct trc_file_reader *trc_file_open(const char *path, GError **error)
{
	struct trc_file_reader *r = reader_new(path);
	struct stat st;
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0 || fstat(r->fd, &st) != 0) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_IO, "%s: cannot open: %s", path,
		            g_strerror(errno));
		trc_file_close(r);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		g_set_error(error, TRC_FILE_ERROR, TRC_FILE_ERROR_NOT_TRACE,
		            "%s: not a regular file, so not a nestlab snapshot or recording", path);
		trc_file_close(r);
		return NULL;
	}
	r->size = (uint64_t)st.st_size;
	return open_common(r, error);
}

struct trc_file_reader *trc_file_open_bytes(GBytes *bytes, const char *name, GError **error)
{
	struct trc_file_reader *r = reader_new(name);
	r->mem = g_bytes_ref(bytes);
	r->size = g_bytes_get_size(bytes);
	return open_common(r, error);
}

void trc_file_close(struct trc_file_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	if (r->mem)
		g_bytes_unref(r->mem);
	g_hash_table_destroy(r->by_type);
	g_array_free(r->entries, TRUE);
	g_free(r->creator);
	g_free(r->warning);
	g_free(r->name);
	g_free(r);
}

/* }====== */
