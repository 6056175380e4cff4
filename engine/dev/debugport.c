/*
 * debugport.c - console, exit and POST ports (see debugport.h).
 */
#include "debugport.h"
#include "nestlab.h"

#include <stdio.h>

struct dev_debugport {
	dev_console_sink_fn sink;
	void *sink_opaque;
	dev_exit_fn on_exit;
	void *exit_opaque;
	bool exited;
	int status;
	int64_t post;
	uint16_t post_port;
};

static uint32_t console_read(void *opaque, uint16_t port, int size)
{
	return DEBUGPORT_CONSOLE_ID;
}

static void console_write(void *opaque, uint16_t port, uint32_t val, int size)
{
	struct dev_debugport *d = opaque;
	uint8_t c = (uint8_t)val; /* Bochs and QEMU take the low byte only */
	if (d->sink) {
		d->sink(d->sink_opaque, &c, 1);
		return;
	}
	putchar(c);
	if (c == '\n')
		fflush(stdout);
}

static void exit_write(void *opaque, uint16_t port, uint32_t val, int size)
{
	struct dev_debugport *d = opaque;
	if (d->exited)
		return;
	d->exited = true;
	d->status = (int)((val << 1) | 1);
	dev_debugport_flush(d);
	if (d->on_exit)
		d->on_exit(d->exit_opaque, d->status);
}

static void post_write(void *opaque, uint16_t port, uint32_t val, int size)
{
	struct dev_debugport *d = opaque;
	d->post = val;
}

/* True if `port` is free and is neither the console nor an exit port. */
static bool post_port_ok(const struct ioport_map *io, uint16_t port)
{
	bool in_exit = port >= DEBUGPORT_EXIT && port < DEBUGPORT_EXIT + DEBUGPORT_EXIT_SIZE;
	return port != DEBUGPORT_CONSOLE && !in_exit && !ioport_claimed(io, port);
}

struct dev_debugport *dev_debugport_new(struct ioport_map *io, uint16_t post_port, GError **error)
{
	if (!post_port_ok(io, post_port)) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "the POST port 0x%x collides with another port of the board "
		            "(the console is 0x%x, the exit port 0x%x-0x%x); pick another one",
		            post_port, DEBUGPORT_CONSOLE, DEBUGPORT_EXIT,
		            DEBUGPORT_EXIT + DEBUGPORT_EXIT_SIZE - 1);
		return NULL;
	}
	struct dev_debugport *d = g_new0(struct dev_debugport, 1);
	d->post = -1;
	d->post_port = post_port;
	bool ok = ioport_claim(io, DEBUGPORT_CONSOLE, 1, console_read, console_write, d) &&
	          ioport_claim(io, DEBUGPORT_EXIT, DEBUGPORT_EXIT_SIZE, NULL, exit_write, d) &&
	          ioport_claim(io, post_port, 1, NULL, post_write, d);
	if (!ok) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "the debug ports 0x%x and 0x%x-0x%x are already taken on this board",
		            DEBUGPORT_CONSOLE, DEBUGPORT_EXIT, DEBUGPORT_EXIT + DEBUGPORT_EXIT_SIZE - 1);
		g_free(d); /* only reached on a board that is being torn down */
		return NULL;
	}
	return d;
}

void dev_debugport_free(struct dev_debugport *d)
{
	if (d)
		dev_debugport_flush(d);
	g_free(d);
}

void dev_debugport_set_sink(struct dev_debugport *d, dev_console_sink_fn sink, void *opaque)
{
	d->sink = sink;
	d->sink_opaque = opaque;
}

void dev_debugport_set_exit_handler(struct dev_debugport *d, dev_exit_fn fn, void *opaque)
{
	d->on_exit = fn;
	d->exit_opaque = opaque;
}

void dev_debugport_flush(struct dev_debugport *d)
{
	if (!d->sink)
		fflush(stdout);
}

void dev_debugport_get_state(const struct dev_debugport *d, bool *exited, int *status, int64_t *post)
{
	*exited = d->exited;
	*status = d->status;
	*post = d->post;
}

void dev_debugport_set_state(struct dev_debugport *d, bool exited, int status, int64_t post)
{
	d->exited = exited;
	d->status = status;
	d->post = post;
}

bool dev_debugport_exited(const struct dev_debugport *d, int *status)
{
	if (d->exited && status)
		*status = d->status;
	return d->exited;
}

int64_t dev_debugport_post(const struct dev_debugport *d)
{
	return d->post;
}
