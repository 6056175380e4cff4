/*
 * test-interrupt.c - a long reverse-continue search stops when gdb sends
 * its interrupt byte (Ctrl-C), where the search is, and the history is
 * still whole after it.
 *
 * Usage: test-interrupt KERNEL DISK
 *
 * miniOS runs 3*10^7 instructions with history; a breakpoint is set at
 * an address the guest never executes, so reverse-continue would replay
 * all of history back to its start (replaylog:begin). The stub serves the
 * machine over a socketpair; the test sends `bc` and, right behind it,
 * the interrupt byte 0x03. The stop reply must be SIGINT (T02), in the
 * past, and going forward to the end again must give the state the run
 * had there.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dbgtarget.h"
#include "minios-boot.h"

#define END 30000000u

struct serve {
	int fd;
	struct trc_dbg *d;
};

static gpointer serve(gpointer data)
{
	struct serve *s = data;
	trc_gdb_serve_fd(s->fd, trc_dbg_ops(), s->d);
	return NULL;
}

static void send_packet(int fd, const char *payload)
{
	unsigned sum = 0;
	for (const char *p = payload; *p; p++)
		sum += (uint8_t)*p;
	char *pkt = g_strdup_printf("$%s#%02x", payload, sum & 0xff);
	g_assert_cmpint(write(fd, pkt, strlen(pkt)), ==, (ssize_t)strlen(pkt));
	g_free(pkt);
}

/* The payload of the next packet from the stub (acks skipped). */
static char *read_packet(int fd)
{
	GString *s = g_string_new(NULL);
	char c;
	bool in = false;
	while (read(fd, &c, 1) == 1) {
		if (!in) {
			in = c == '$';
			continue;
		}
		if (c == '#') {
			char sum[2];
			if (read(fd, sum, 2) != 2)
				break;
			g_assert_cmpint(write(fd, "+", 1), ==, 1);
			return g_string_free(s, FALSE);
		}
		g_string_append_c(s, c);
	}
	g_string_free(s, TRUE);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: test-interrupt KERNEL DISK\n");
		return 2;
	}
	static const char *const typed[] = { "ls\n", "forktest\n" };
	struct machine *m = minios_boot(argv[1], argv[2], typed, G_N_ELEMENTS(typed));
	struct trc_dbg *d = trc_dbg_new(m, true, 0);
	trc_dbg_seek(d, END);
	char at_end[65];
	machine_state_hash(m, at_end);

	int sv[2];
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
	struct serve s = { sv[1], d };
	GThread *t = g_thread_new("stub", serve, &s);
	/* A breakpoint never hit: the search would go back to the start. */
	send_packet(sv[0], "Z0,fffffff0,1");
	char *reply = read_packet(sv[0]);
	tap_check(reply && strcmp(reply, "OK") == 0, "breakpoint set where the guest never goes");
	g_free(reply);
	/* The search replays windows back from now (1, 4, 16 ... million
	 * instructions) and looks for the byte between chunks of each. Sent a
	 * little after `bc`, the byte must stop it inside a window, not at a
	 * window's edge; the delays differ in case one lands at an edge. */
	static const uint64_t edges[] = { END, END - 1000000u, END - 5000000u, END - 21000000u, 0 };
	static const unsigned delays_ms[] = { 60, 150, 350 };
	bool inside = false;
	char msg[200];
	for (unsigned a = 0; a < G_N_ELEMENTS(delays_ms) && !inside; a++) {
		send_packet(sv[0], "bc");
		g_usleep(delays_ms[a] * 1000);
		g_assert_cmpint(write(sv[0], "\x03", 1), ==, 1);
		reply = read_packet(sv[0]);
		struct machine_regs r;
		machine_get_regs(m, &r);
		bool edge = false;
		for (unsigned e = 0; e < G_N_ELEMENTS(edges); e++)
			edge |= r.icount == edges[e];
		g_snprintf(msg, sizeof msg, "Ctrl-C %u ms into reverse-continue: stop reply '%s' "
		           "(SIGINT, not replaylog:begin) at instruction %" G_GUINT64_FORMAT "%s",
		           delays_ms[a], reply ? reply : "(none)", r.icount,
		           edge ? ", a window's edge" : ", inside a window");
		bool sigint = reply && g_str_has_prefix(reply, "T02") && !strstr(reply, "replaylog");
		inside = sigint && !edge && r.icount < END;
		if (inside || a + 1 == G_N_ELEMENTS(delays_ms))
			tap_check(inside, msg);
		else
			printf("# %s: again with a longer delay\n", msg);
		g_free(reply);
		trc_dbg_seek(d, END);
	}
	send_packet(sv[0], "k");
	g_thread_join(t);
	close(sv[0]);

	char again[65];
	tap_check(trc_dbg_seek(d, END), "forward to the end again after the interrupted searches");
	machine_state_hash(m, again);
	tap_check(strcmp(again, at_end) == 0, "the same state at the end as before the search");
	trc_dbg_free(d);
	machine_free(m);
	return tap_failures ? 1 : 0;
}
