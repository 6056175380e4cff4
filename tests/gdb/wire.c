/*
 * wire.c - the gdb side of a stub session for tests (wire.h).
 */
#include "wire.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct serve_args {
	int fd;
	struct fake_target *target;
};

/* The stub's thread: one session; returns the end reason + 1 (never NULL). */
static gpointer run_stub(gpointer data)
{
	struct serve_args *a = data;
	enum trc_gdb_end end = trc_gdb_serve_fd(a->fd, &fake_target_ops, a->target);
	g_free(a);
	return GINT_TO_POINTER((int)end + 1);
}

void wire_open(struct wire *w)
{
	int sv[2];
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	struct serve_args *a = g_new(struct serve_args, 1);
	w->fd = sv[0];
	w->target = fake_target_new();
	w->ack = true;
	a->fd = sv[1];
	a->target = w->target;
	w->thread = g_thread_new("gdb-stub", run_stub, a);
}

enum trc_gdb_end wire_close_keep(struct wire *w)
{
	shutdown(w->fd, SHUT_RDWR);
	close(w->fd);
	w->fd = -1;
	w->end = (enum trc_gdb_end)(GPOINTER_TO_INT(g_thread_join(w->thread)) - 1);
	return w->end;
}

enum trc_gdb_end wire_close(struct wire *w)
{
	wire_close_keep(w);
	fake_target_free(w->target);
	w->target = NULL;
	return w->end;
}

void wire_send_raw(struct wire *w, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = send(w->fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* the stub hung up; the next read says so */
		p += n;
		len -= (size_t)n;
	}
}

unsigned wire_checksum(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	unsigned sum = 0;
	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return sum & 0xff;
}

void wire_send_packet(struct wire *w, const void *payload, size_t len)
{
	GString *s = g_string_new("$");
	g_string_append_len(s, payload, (gssize)len);
	g_string_append_printf(s, "#%02x", wire_checksum(payload, len));
	wire_send_raw(w, s->str, s->len);
	g_string_free(s, TRUE);
}

int wire_read_byte(struct wire *w, int timeout_ms)
{
	struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
	uint8_t c;
	if (poll(&pfd, 1, timeout_ms) <= 0)
		return -1;
	return read(w->fd, &c, 1) == 1 ? c : -1;
}

bool wire_readable(struct wire *w, int timeout_ms)
{
	struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
	return poll(&pfd, 1, timeout_ms) > 0;
}

bool wire_closed(struct wire *w, int timeout_ms)
{
	struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
	uint8_t c;
	if (poll(&pfd, 1, timeout_ms) <= 0)
		return false;
	return recv(w->fd, &c, 1, MSG_PEEK) <=
	       0; /* EOF, or a reset by a close with our bytes unread */
}

bool wire_expect(struct wire *w, const char *want)
{
	for (size_t i = 0; want[i]; i++) {
		int c = wire_read_byte(w, WIRE_TIMEOUT_MS);
		if (c != (uint8_t)want[i]) {
			g_test_message("wire_expect: byte %zu of \"%s\": got %d", i, want, c);
			return false;
		}
	}
	return true;
}

GString *wire_read_packet(struct wire *w, int timeout_ms)
{
	int c;
	while ((c = wire_read_byte(w, timeout_ms)) != '$')
		if (c < 0)
			return NULL;
	GString *s = g_string_new(NULL);
	while ((c = wire_read_byte(w, timeout_ms)) != '#') {
		if (c < 0) {
			g_string_free(s, TRUE);
			return NULL;
		}
		g_string_append_c(s, (char)c);
	}
	char cs[3] = {0};
	int hi = wire_read_byte(w, timeout_ms), lo = wire_read_byte(w, timeout_ms);
	cs[0] = (char)hi;
	cs[1] = (char)lo;
	if (hi < 0 || lo < 0 || strtoul(cs, NULL, 16) != wire_checksum(s->str, s->len)) {
		g_test_message("wire_read_packet: bad checksum %s on \"%s\"", cs, s->str);
		g_string_free(s, TRUE);
		return NULL;
	}
	return s;
}

char *wire_cmd(struct wire *w, const char *payload)
{
	wire_send_packet(w, payload, strlen(payload));
	if (w->ack && !wire_expect(w, "+"))
		return NULL;
	GString *r = wire_read_packet(w, WIRE_TIMEOUT_MS);
	if (!r)
		return NULL;
	if (w->ack)
		wire_send_raw(w, "+", 1);
	return g_string_free(r, FALSE);
}

void wire_no_ack(struct wire *w)
{
	char *r = wire_cmd(w, "QStartNoAckMode");
	g_assert_cmpstr(r, ==, "OK");
	g_free(r);
	w->ack = false;
}
