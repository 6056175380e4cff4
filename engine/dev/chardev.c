/*
 * chardev.c - the host end of a serial line (see chardev.h).
 */
#include "chardev.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nestlab.h"

#define CHARDEV_STATE_VERSION 1
#define STDIN_CHUNK 4096

enum chardev_kind { CHARDEV_STDIO, CHARDEV_FILE, CHARDEV_BUFFER, CHARDEV_NULL };

struct chardev {
	enum chardev_kind kind;
	FILE *fp;          /* stdout or the file; NULL for buffer and null */
	GByteArray *out;   /* the kept copy of the output */
	GByteArray *in;    /* input queue: bytes [in_head, in->len) are pending */
	size_t in_head;
	chardev_tee_fn tee;
	void *tee_opaque;
	chardev_notify_fn notify;
	void *notify_opaque;
	chardev_tee_fn stdin_log; /* told of each chunk read from stdin */
	void *stdin_log_opaque;
};

static struct chardev *chardev_alloc(enum chardev_kind kind, FILE *fp)
{
	struct chardev *c = g_new0(struct chardev, 1);
	c->kind = kind;
	c->fp = fp;
	c->out = g_byte_array_new();
	c->in = g_byte_array_new();
	return c;
}

struct chardev *chardev_new_stdio(void)
{
	return chardev_alloc(CHARDEV_STDIO, stdout);
}

struct chardev *chardev_new_file(const char *path, GError **error)
{
	FILE *fp = fopen(path, "wb");
	if (!fp) {
		int e = errno;
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "cannot open the serial output file %s for writing: %s", path,
		            g_strerror(e));
		return NULL;
	}
	return chardev_alloc(CHARDEV_FILE, fp);
}

struct chardev *chardev_new_buffer(void)
{
	return chardev_alloc(CHARDEV_BUFFER, NULL);
}

struct chardev *chardev_new_null(void)
{
	return chardev_alloc(CHARDEV_NULL, NULL);
}

void chardev_free(struct chardev *c)
{
	if (!c)
		return;
	chardev_flush(c);
	if (c->kind == CHARDEV_FILE)
		fclose(c->fp);
	g_byte_array_unref(c->out);
	g_byte_array_unref(c->in);
	g_free(c);
}

/* {====== output ====== */

/* Keeps the newest bytes of the output copy under CHARDEV_OUTPUT_CAP. */
static void keep_output(struct chardev *c, const uint8_t *buf, size_t len)
{
	if (len >= CHARDEV_OUTPUT_CAP) {
		buf += len - (CHARDEV_OUTPUT_CAP - CHARDEV_OUTPUT_TRIM);
		len = CHARDEV_OUTPUT_CAP - CHARDEV_OUTPUT_TRIM;
		g_byte_array_set_size(c->out, 0);
	}
	if (c->out->len + len > CHARDEV_OUTPUT_CAP) {
		size_t drop = c->out->len + len - (CHARDEV_OUTPUT_CAP - CHARDEV_OUTPUT_TRIM);
		g_byte_array_remove_range(c->out, 0, (guint)MIN(drop, c->out->len));
	}
	g_byte_array_append(c->out, buf, (guint)len);
}

void chardev_write(struct chardev *c, const uint8_t *buf, size_t len)
{
	if (len == 0)
		return;
	if (c->fp) {
		fwrite(buf, 1, len, c->fp);
		if (memchr(buf, '\n', len))
			fflush(c->fp);
	}
	keep_output(c, buf, len);
	if (c->tee)
		c->tee(c->tee_opaque, buf, len);
}

const GByteArray *chardev_output(const struct chardev *c)
{
	return c->out;
}

void chardev_set_tee(struct chardev *c, chardev_tee_fn fn, void *opaque)
{
	c->tee = fn;
	c->tee_opaque = opaque;
}

void chardev_flush(struct chardev *c)
{
	if (c->fp)
		fflush(c->fp);
}

/* }====== */

/* {====== input ====== */

/* Drops the consumed head of the queue once it is half of the buffer. */
static void compact_input(struct chardev *c)
{
	if (c->in_head == c->in->len) {
		g_byte_array_set_size(c->in, 0);
		c->in_head = 0;
	} else if (c->in_head > 4096 && c->in_head * 2 > c->in->len) {
		g_byte_array_remove_range(c->in, 0, (guint)c->in_head);
		c->in_head = 0;
	}
}

void chardev_push_input(struct chardev *c, const uint8_t *buf, size_t len)
{
	if (len == 0)
		return;
	g_byte_array_append(c->in, buf, (guint)len);
	if (c->notify)
		c->notify(c->notify_opaque);
}

int chardev_input_peek(const struct chardev *c)
{
	return c->in_head < c->in->len ? c->in->data[c->in_head] : -1;
}

int chardev_input_take(struct chardev *c)
{
	int b = chardev_input_peek(c);
	if (b >= 0) {
		c->in_head++;
		compact_input(c);
	}
	return b;
}

size_t chardev_input_pending(const struct chardev *c)
{
	return c->in->len - c->in_head;
}

void chardev_set_input_notify(struct chardev *c, chardev_notify_fn fn, void *opaque)
{
	c->notify = fn;
	c->notify_opaque = opaque;
}

bool chardev_poll_stdin(struct chardev *c)
{
	if (c->kind != CHARDEV_STDIO)
		return false;
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	int r = poll(&p, 1, 0);
	if (r < 0)
		return errno == EINTR;
	if (r == 0)
		return true;
	if (!(p.revents & (POLLIN | POLLHUP)))
		return !(p.revents & (POLLERR | POLLNVAL));
	uint8_t buf[STDIN_CHUNK];
	ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return false;
	chardev_push_input(c, buf, (size_t)n);
	if (c->stdin_log)
		c->stdin_log(c->stdin_log_opaque, buf, (size_t)n);
	return true;
}

void chardev_set_stdin_log(struct chardev *c, chardev_tee_fn fn, void *opaque)
{
	c->stdin_log = fn;
	c->stdin_log_opaque = opaque;
}

/* }====== */

/* {====== snapshots ====== */

struct chardev_blob_header {
	uint32_t version;
	uint32_t pending;
};

void chardev_save(const struct chardev *c, GByteArray *out)
{
	const struct chardev_blob_header h = { CHARDEV_STATE_VERSION,
		                               (uint32_t)chardev_input_pending(c) };
	g_byte_array_append(out, (const guint8 *)&h, sizeof h);
	if (h.pending) /* an empty queue may have no buffer at all */
		g_byte_array_append(out, c->in->data + c->in_head, h.pending);
}

bool chardev_restore(struct chardev *c, const uint8_t *buf, size_t len, GError **error)
{
	struct chardev_blob_header h;
	if (len < sizeof h) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_STATE,
		            "the saved serial input queue is truncated");
		return false;
	}
	memcpy(&h, buf, sizeof h);
	if (h.version != CHARDEV_STATE_VERSION || len != sizeof h + h.pending) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_STATE,
		            "the saved serial input queue has version %u and %zu bytes; this build "
		            "reads version %u",
		            h.version, len, CHARDEV_STATE_VERSION);
		return false;
	}
	g_byte_array_set_size(c->in, 0);
	g_byte_array_append(c->in, buf + sizeof h, h.pending);
	c->in_head = 0;
	return true;
}

/* }====== */
