/*
 * wire.h - the gdb side of a stub session, for tests: a socketpair with
 * the stub serving the fake target on a thread, and helpers that speak
 * the protocol byte by byte with timeouts (a stub that stops answering
 * fails the test instead of hanging it).
 */
#ifndef NESTLAB_GDB_WIRE_H
#define NESTLAB_GDB_WIRE_H

#include "fake-target.h"

#define WIRE_TIMEOUT_MS 20000 /* generous: only a failing test waits this long */

struct wire {
	int fd; /* our end */
	struct fake_target *target;
	GThread *thread;
	enum trc_gdb_end end;
	bool ack; /* the session still acks packets */
};

/* Start a session on a fresh fake target (w->target). */
void wire_open(struct wire *w);

/* Close our end (unless the stub already ended), wait for the stub, free
 * the target. Returns how the session ended. */
enum trc_gdb_end wire_close(struct wire *w);

/* The same, keeping the target (the caller frees it). */
enum trc_gdb_end wire_close_keep(struct wire *w);

/* Send bytes as they are. */
void wire_send_raw(struct wire *w, const void *buf, size_t len);

/* Send `$payload#cs` with the right checksum (len bytes of payload). */
void wire_send_packet(struct wire *w, const void *payload, size_t len);

/* One byte within timeout_ms, or -1 (timeout or end of connection). */
int wire_read_byte(struct wire *w, int timeout_ms);

/* Read len bytes and compare them with want; false on mismatch or timeout. */
bool wire_expect(struct wire *w, const char *want);

/* Read one packet (`$...#cs`, after skipping acks) and check its checksum;
 * the payload, or NULL on timeout, end or a bad checksum. Free with
 * g_string_free. Does not send an ack. */
GString *wire_read_packet(struct wire *w, int timeout_ms);

/* A command in the session's mode: send the packet, expect `+` when
 * acking, read the reply and ack it. Returns the payload (g_free) or NULL. */
char *wire_cmd(struct wire *w, const char *payload);

/* True if something (a byte, the end) can be read within timeout_ms. */
bool wire_readable(struct wire *w, int timeout_ms);

/* True if the stub closed its end within timeout_ms (pending bytes are
 * left unread: the caller has read everything it expects first). */
bool wire_closed(struct wire *w, int timeout_ms);

/* Turn acks off (QStartNoAckMode); asserts the OK. */
void wire_no_ack(struct wire *w);

/* The checksum of len bytes as gdb computes it. */
unsigned wire_checksum(const void *buf, size_t len);

#endif
