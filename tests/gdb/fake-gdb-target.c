/*
 * fake-gdb-target.c - the gdb stub serving the fake target of
 * fake-target.h on a TCP port, for driving it with a real gdb.
 *
 *   fake-gdb-target [--port N] [--host ADDR] [--replay-end N]
 *
 * Prints "port N" (the port it listens on; N = 0 asks for a free one) on
 * stdout once it listens, serves one gdb session, prints "end: REASON"
 * and exits 0.
 */
#include "fake-target.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	gint port = 0, replay_end = 0;
	gchar *host = NULL;
	GError *err = NULL;
	GOptionEntry entries[] = {
	        {"port", 0, 0, G_OPTION_ARG_INT, &port, "TCP port (0: any free one)", "N"},
	        {"host", 0, 0, G_OPTION_ARG_STRING, &host, "address to listen on (127.0.0.1)",
	         "ADDR"},
	        {"replay-end", 0, 0, G_OPTION_ARG_INT, &replay_end,
	         "stop forward execution after N instructions (replaylog:end)", "N"},
	        {NULL, 0, 0, 0, NULL, NULL, NULL},
	};
	GOptionContext *ctx = g_option_context_new("- serve a fake target to gdb");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err) || port < 0 || port > 65535 ||
	    replay_end < 0) {
		fprintf(stderr, "fake-gdb-target: %s\n", err ? err->message : "bad option value");
		return 2;
	}
	g_option_context_free(ctx);
	struct trc_gdb *stub = trc_gdb_listen(host, (uint16_t)port, &err);
	if (!stub) {
		fprintf(stderr, "fake-gdb-target: %s\n", err->message);
		return 2;
	}
	printf("port %u\n", trc_gdb_port(stub));
	fflush(stdout);
	if (!trc_gdb_accept(stub, &err)) {
		fprintf(stderr, "fake-gdb-target: %s\n", err->message);
		return 2;
	}
	struct fake_target *t = fake_target_new();
	fake_target_set_replay_end(t, (size_t)replay_end);
	enum trc_gdb_end end = trc_gdb_serve(stub, &fake_target_ops, t);
	printf("end: %s\n", trc_gdb_end_name(end));
	fake_target_free(t);
	trc_gdb_free(stub);
	g_free(host);
	return 0;
}
