/*
 * gdb_int.h - what the files of the gdb stub share (not for other modules).
 *
 *   gdb_net.c      sockets: listen, accept, the stub's lifetime
 *   gdb_packet.c   framing: $data#cs, acks, run-length, escapes, hex, Ctrl-C
 *   gdb_regs.c     the register layout, g/G/p/P, target.xml
 *   gdb_cmds.c     the packet dispatcher and the session loop
 *   gdb_monitor.c  qRcmd: the stub's own monitor commands (help, phys)
 */
#ifndef NESTLAB_GDB_INT_H
#define NESTLAB_GDB_INT_H

#include "gdbstub.h"

/* Bytes read from the socket but not yet looked at. */
#define GDB_INBUF_SIZE 4096u

/* Replies. The numbers are errno values, as gdbserver uses them; gdb shows
 * only that the request failed. */
#define GDB_E_INVAL "E16"  /* malformed packet: bad hex, missing field */
#define GDB_E_FAULT "E0e"  /* memory not mapped */
#define GDB_E_TOOBIG "E07" /* a packet or a length over the limits */
#define GDB_E_TARGET "E05" /* the target refused (register value, breakpoint) */
#define GDB_E_NOXFER "E00" /* qXfer: unknown object or annex */

/* A breakpoint or watchpoint inserted during the session. */
struct trc_gdb_point_rec {
	enum trc_gdb_point kind;
	uint32_t addr, len;
};

struct trc_gdb {
	int listen_fd; /* -1 without one */
	int fd;        /* the connection, -1 without one */
	uint16_t port;

	/* input: inbuf[in_pos, in_len) not yet consumed */
	uint8_t inbuf[GDB_INBUF_SIZE];
	size_t in_pos, in_len;
	bool eof;       /* the peer closed or the connection failed */
	bool interrupt; /* 0x03 seen while the target ran */

	/* the packet as received, then run-length expanded and NUL-terminated */
	uint8_t raw[TRC_GDB_PACKET_SIZE];
	uint8_t pkt[TRC_GDB_PACKET_SIZE + 1];
	size_t pkt_len;
	bool pkt_too_long;

	GString *reply;                /* the reply being built (payload only) */
	GString *last_tx;              /* the last framed packet, for a `-` */
	bool no_ack;                   /* after QStartNoAckMode */
	bool no_ack_next;              /* QStartNoAckMode answered: no acks after this reply */
	bool gdb_swbreak, gdb_hwbreak; /* gdb said it understands these stop reasons */

	const struct trc_gdb_target_ops *ops;
	void *opaque;
	GArray *points; /* struct trc_gdb_point_rec: inserted and not removed */
	struct trc_gdb_stop last_stop;
	bool exited; /* the target reported TRC_GDB_STOP_EXITED */
	unsigned thread; /* the selected thread (Hg), 1-based; 0 until the first stop */
};

/* {====== gdb_packet.c ====== */

/* Read the next good packet into stub->pkt (acking it unless no_ack),
 * answering `-` to bad checksums and `-` from gdb with a retransmission.
 * False when the connection ended. */
bool trc_gdb_recv_packet(struct trc_gdb *stub);

/* Frame and send stub->reply ($...#cs); false if the connection failed. */
bool trc_gdb_send_reply(struct trc_gdb *stub);

/* Write all of buf to the connection; false if it failed (stub->eof set). */
bool trc_gdb_write(struct trc_gdb *stub, const void *buf, size_t len);

/* Value of a hex digit, or -1. */
int trc_gdb_hexval(int c);

/* Parse the hex number at *p (at most max_digits digits, at least one) into
 * *out and advance *p; false on no digit, too many digits or a value over
 * max. */
bool trc_gdb_parse_hex(const char **p, unsigned max_digits, uint64_t max, uint64_t *out);

/* Decode 2*len hex digits at hex into buf; false on a bad digit. */
bool trc_gdb_hex_decode(const char *hex, uint8_t *buf, size_t len);

/* Append len bytes as lowercase hex. */
void trc_gdb_hex_append(GString *s, const void *buf, size_t len);

/* Append len bytes in the binary form of replies: `$ # } *` escaped. */
void trc_gdb_bin_append(GString *s, const void *buf, size_t len);

/* Undo binary escapes in place (`}` x -> x ^ 0x20); returns the new length,
 * or (size_t)-1 if the data ends with a lone `}`. */
size_t trc_gdb_bin_unescape(uint8_t *buf, size_t len);

/* {====== gdb_regs.c ====== */

/* g, G, p, P: answer into stub->reply. `args` follows the letter. */
void trc_gdb_cmd_read_regs(struct trc_gdb *stub);
void trc_gdb_cmd_write_regs(struct trc_gdb *stub, const char *args, size_t len);
void trc_gdb_cmd_read_reg(struct trc_gdb *stub, const char *args);
void trc_gdb_cmd_write_reg(struct trc_gdb *stub, const char *args);

/* The target description documents by annex name ("target.xml"), or NULL. */
const char *trc_gdb_xml(const char *annex);

/* {====== gdb_monitor.c ====== */

/* qRcmd,HEX: decode, run, answer with the output hex-encoded. */
void trc_gdb_cmd_monitor(struct trc_gdb *stub, const char *hex);

/* {====== gdb_cmds.c ====== */

/* Answer stub->pkt into stub->reply. Returns false when the session ends
 * (and sets *end); the reply, if any, is still to be sent. */
bool trc_gdb_dispatch(struct trc_gdb *stub, enum trc_gdb_end *end, bool *send);

#endif
