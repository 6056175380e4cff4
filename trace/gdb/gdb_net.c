/*
 * gdb_net.c - the stub's sockets and lifetime: a TCP listener on one IPv4
 * address, one connection at a time.
 */
#define _GNU_SOURCE /* accept4 */
#include "gdb_int.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define GDB_DEFAULT_HOST "127.0.0.1"

G_DEFINE_QUARK(trc - gdb - error - quark, trc_gdb_error)

static struct trc_gdb *stub_new(void)
{
	struct trc_gdb *stub = g_new0(struct trc_gdb, 1);
	stub->listen_fd = -1;
	stub->fd = -1;
	stub->reply = g_string_sized_new(TRC_GDB_PACKET_SIZE);
	stub->last_tx = g_string_sized_new(TRC_GDB_PACKET_SIZE);
	stub->points = g_array_new(FALSE, FALSE, sizeof(struct trc_gdb_point_rec));
	return stub;
}

static void close_conn(struct trc_gdb *stub)
{
	if (stub->fd >= 0)
		close(stub->fd);
	stub->fd = -1;
}

/* Resolve host to an IPv4 socket address; false and *err if it does not. */
static bool resolve(const char *host, uint16_t port, struct sockaddr_in *sa, GError **err)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0 || res == NULL) {
		g_set_error(err, TRC_GDB_ERROR, TRC_GDB_ERROR_ADDRESS,
		            "gdb stub: cannot use host '%s': %s (give an IPv4 address such as "
		            "127.0.0.1)",
		            host, rc != 0 ? gai_strerror(rc) : "no IPv4 address");
		return false;
	}
	memcpy(sa, res->ai_addr, sizeof *sa);
	sa->sin_port = htons(port);
	freeaddrinfo(res);
	return true;
}

static bool socket_error(GError **err, const char *what, const char *host, uint16_t port)
{
	int e = errno;
	g_set_error(err, TRC_GDB_ERROR, TRC_GDB_ERROR_SOCKET, "gdb stub: %s %s:%u: %s%s", what,
	            host, port, g_strerror(e),
	            e == EADDRINUSE ? " (choose another port, or 0 for any free one)" : "");
	return false;
}

/* Bind and listen; false and *err (the socket is closed) on failure. */
static bool open_listener(struct trc_gdb *stub, const char *host, uint16_t port, GError **err)
{
	struct sockaddr_in sa;
	if (!resolve(host, port, &sa, err))
		return false;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return socket_error(err, "cannot create a socket for", host, port);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1) < 0) {
		socket_error(err, "cannot listen on", host, port);
		close(fd);
		return false;
	}
	socklen_t len = sizeof sa;
	getsockname(fd, (struct sockaddr *)&sa, &len);
	stub->listen_fd = fd;
	stub->port = ntohs(sa.sin_port);
	return true;
}

struct trc_gdb *trc_gdb_listen(const char *host, uint16_t port, GError **err)
{
	struct trc_gdb *stub = stub_new();
	if (!open_listener(stub, host ? host : GDB_DEFAULT_HOST, port, err)) {
		trc_gdb_free(stub);
		return NULL;
	}
	return stub;
}

uint16_t trc_gdb_port(const struct trc_gdb *stub)
{
	return stub->port;
}

bool trc_gdb_accept(struct trc_gdb *stub, GError **err)
{
	int fd;
	do
		fd = accept4(stub->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		g_set_error(err, TRC_GDB_ERROR, TRC_GDB_ERROR_SOCKET,
		            "gdb stub: cannot accept a connection on port %u: %s", stub->port,
		            g_strerror(errno));
		return false;
	}
	/* small packets both ways, one at a time: do not wait to batch them */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	close_conn(stub);
	stub->fd = fd;
	return true;
}

struct trc_gdb *trc_gdb_new_fd(int fd)
{
	struct trc_gdb *stub = stub_new();
	stub->fd = fd;
	return stub;
}

void trc_gdb_free(struct trc_gdb *stub)
{
	if (stub == NULL)
		return;
	close_conn(stub);
	if (stub->listen_fd >= 0)
		close(stub->listen_fd);
	g_string_free(stub->reply, TRUE);
	g_string_free(stub->last_tx, TRUE);
	g_array_free(stub->points, TRUE);
	g_free(stub);
}

enum trc_gdb_end trc_gdb_serve_fd(int fd, const struct trc_gdb_target_ops *ops, void *opaque)
{
	struct trc_gdb *stub = trc_gdb_new_fd(fd);
	enum trc_gdb_end end = trc_gdb_serve(stub, ops, opaque);
	trc_gdb_free(stub);
	return end;
}

const char *trc_gdb_end_name(enum trc_gdb_end end)
{
	switch (end) {
	case TRC_GDB_END_DETACH:
		return "detach";
	case TRC_GDB_END_KILL:
		return "kill";
	case TRC_GDB_END_DISCONNECT:
		break;
	}
	return "disconnect";
}
