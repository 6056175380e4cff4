/*
 * snapshot_int.h - what machine snapshots (snapshot.c) and VM snapshots
 * (vmsnap.c) share: the little-endian byte writer, the bounds-checked
 * reader (every length checked against what is left: bad bytes give a
 * message, never a read out of bounds) and one machine's part of a
 * snapshot (its CPU, devices, disks, console, inputs, tree state and
 * monitor; not its memory). Nothing else includes it.
 */
#ifndef NESTLAB_SNAPSHOT_INT_H
#define NESTLAB_SNAPSHOT_INT_H

#include <string.h>

#include "machine_int.h"

#define SNAP_PAGE_END 0xffffffffu /* ends a list of (page number, page) */

/* {====== writing ====== */

static inline void put(GByteArray *o, const void *p, size_t n)
{
	g_byte_array_append(o, p, (guint)n);
}

static inline void put32(GByteArray *o, uint32_t v)
{
	put(o, &v, 4);
}

static inline void put64(GByteArray *o, uint64_t v)
{
	put(o, &v, 8);
}

/* A blob with its length. */
static inline void put_blob(GByteArray *o, const void *p, size_t n)
{
	put32(o, (uint32_t)n);
	put(o, p, n);
}

static inline void put_str(GByteArray *o, const char *s)
{
	put_blob(o, s ? s : "", s ? strlen(s) : 0);
}

static inline bool page_zero(const uint8_t *p)
{
	for (size_t i = 0; i < PMEM_PAGE_SIZE; i += 8) {
		uint64_t v;
		memcpy(&v, p + i, 8);
		if (v)
			return false;
	}
	return true;
}

/* }====================================================================== */

/* {====== reading ====== */

struct snap_rd {
	const uint8_t *p;
	size_t left;
	const char *bad; /* the first problem, or NULL */
};

static inline const void *take(struct snap_rd *r, size_t n, const char *what)
{
	if (r->bad)
		return NULL;
	if (n > r->left) {
		r->bad = what;
		return NULL;
	}
	const void *p = r->p;
	r->p += n;
	r->left -= n;
	return p;
}

static inline uint32_t get32(struct snap_rd *r, const char *what)
{
	uint32_t v = 0;
	const void *p = take(r, 4, what);
	if (p)
		memcpy(&v, p, 4);
	return v;
}

static inline uint64_t get64(struct snap_rd *r, const char *what)
{
	uint64_t v = 0;
	const void *p = take(r, 8, what);
	if (p)
		memcpy(&v, p, 8);
	return v;
}

static inline const uint8_t *get_blob(struct snap_rd *r, uint32_t *len, const char *what)
{
	*len = get32(r, what);
	return take(r, *len, what);
}

static inline bool fail(GError **error, const char *fmt, const char *what)
{
	g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG, fmt, what);
	return false;
}

/* }====================================================================== */

/*
 * One machine's part of a snapshot (the root or a VM, whose CPU state must
 * be in its ctx: vm_switch_to(root, NULL) first). snap_load_one() loads it
 * into `m`, built from the same configuration; false with a message when
 * the bytes do not fit `m` (another device set, disks, inputs, monitor).
 * Bytes cut short only set r->bad (the caller says where). On failure `m`
 * is half loaded: the caller gives up on the machine.
 */
void snap_save_one(struct machine *m, GByteArray *o);
bool snap_load_one(struct machine *m, struct snap_rd *r, GError **error);

#endif
