/*
 * gdb_packet.c - the framing layer of the remote serial protocol.
 *
 * A packet is `$data#cs`: cs is the sum of the data bytes modulo 256 in two
 * hex digits. The receiver answers `+` (good) or `-` (resend) until
 * QStartNoAckMode turns acks off. Inside data, `}` escapes the next byte
 * (byte ^ 0x20) in binary packets, and `X*n` repeats X n-29 more times
 * (run-length encoding, which gdb does not send but may). Outside packets,
 * gdb sends `+`/`-` acks and the interrupt byte 0x03.
 *
 * Everything here is bounded: a packet longer than TRC_GDB_PACKET_SIZE is
 * read to its `#` and flagged, never stored past the buffer.
 */
#include "gdb_int.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define GDB_INTERRUPT_BYTE 0x03
#define GDB_ESCAPE '}'
#define GDB_ESCAPE_XOR 0x20
#define GDB_RLE '*'
#define GDB_RLE_BIAS 29 /* a repeat count n is sent as the character n + 29 */

enum rx { RX_OK, RX_BAD, RX_EOF };

/* {====== bytes in and out ====== */

static void compact(struct trc_gdb *stub)
{
	if (stub->in_pos == 0)
		return;
	memmove(stub->inbuf, stub->inbuf + stub->in_pos, stub->in_len - stub->in_pos);
	stub->in_len -= stub->in_pos;
	stub->in_pos = 0;
}

/* Read what is there (at least one byte when blocking). False at end of
 * connection or on error, which also sets stub->eof. */
static bool fill(struct trc_gdb *stub, bool block)
{
	compact(stub);
	if (stub->eof || stub->fd < 0 || stub->in_len == sizeof stub->inbuf)
		return !stub->eof && stub->fd >= 0;
	if (!block) {
		struct pollfd pfd = {.fd = stub->fd, .events = POLLIN};
		if (poll(&pfd, 1, 0) <= 0)
			return true;
	}
	for (;;) {
		ssize_t n = read(stub->fd, stub->inbuf + stub->in_len,
		                 sizeof stub->inbuf - stub->in_len);
		if (n > 0) {
			stub->in_len += (size_t)n;
			return true;
		}
		if (n < 0 && errno == EINTR)
			continue;
		stub->eof = true;
		return false;
	}
}

/* The next byte, waiting for it; -1 when the connection ended. */
static int get_byte(struct trc_gdb *stub)
{
	if (stub->in_pos == stub->in_len && !fill(stub, true))
		return -1;
	return stub->inbuf[stub->in_pos++];
}

bool trc_gdb_write(struct trc_gdb *stub, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len > 0 && !stub->eof && stub->fd >= 0) {
		ssize_t n = send(stub->fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == ENOTSOCK)
			n = write(stub->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			stub->eof = true;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	return len == 0;
}

/* {====== hex ====== */

int trc_gdb_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool trc_gdb_parse_hex(const char **p, unsigned max_digits, uint64_t max, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	unsigned n = 0;
	int d;
	while ((d = trc_gdb_hexval((unsigned char)*s)) >= 0) {
		if (++n > max_digits)
			return false;
		v = v << 4 | (uint64_t)d;
		s++;
	}
	if (n == 0 || v > max)
		return false;
	*p = s;
	*out = v;
	return true;
}

bool trc_gdb_hex_decode(const char *hex, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int hi = trc_gdb_hexval((unsigned char)hex[2 * i]);
		int lo = hi < 0 ? -1 : trc_gdb_hexval((unsigned char)hex[2 * i + 1]);
		if (lo < 0)
			return false;
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

void trc_gdb_hex_append(GString *s, const void *buf, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *p = buf;
	for (size_t i = 0; i < len; i++) {
		g_string_append_c(s, digits[p[i] >> 4]);
		g_string_append_c(s, digits[p[i] & 0xf]);
	}
}

/* {====== binary data ====== */

static bool needs_escape(uint8_t c)
{
	return c == '$' || c == '#' || c == GDB_ESCAPE || c == GDB_RLE;
}

void trc_gdb_bin_append(GString *s, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	for (size_t i = 0; i < len; i++) {
		if (needs_escape(p[i])) {
			g_string_append_c(s, GDB_ESCAPE);
			g_string_append_c(s, (char)(p[i] ^ GDB_ESCAPE_XOR));
		} else {
			g_string_append_c(s, (char)p[i]);
		}
	}
}

size_t trc_gdb_bin_unescape(uint8_t *buf, size_t len)
{
	size_t out = 0;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == GDB_ESCAPE) {
			if (++i == len)
				return (size_t)-1;
			buf[out++] = buf[i] ^ GDB_ESCAPE_XOR;
		} else {
			buf[out++] = buf[i];
		}
	}
	return out;
}

/* {====== receiving ====== */

/* Copy raw into stub->pkt expanding `X*n`; flags pkt_too_long if the result
 * does not fit. A `*` with nothing before it or no count stays literal. */
static void expand(struct trc_gdb *stub, const uint8_t *raw, size_t len)
{
	size_t out = 0;
	stub->pkt_too_long = false;
	for (size_t i = 0; i < len; i++) {
		size_t n = 1;
		uint8_t c = raw[i];
		if (c == GDB_RLE && out > 0 && i + 1 < len) {
			c = stub->pkt[out - 1];
			n = raw[++i] > GDB_RLE_BIAS ? (size_t)(raw[i] - GDB_RLE_BIAS) : 0;
		}
		if (out + n > TRC_GDB_PACKET_SIZE) {
			stub->pkt_too_long = true;
			break;
		}
		memset(stub->pkt + out, c, n);
		out += n;
	}
	stub->pkt_len = stub->pkt_too_long ? 0 : out;
	stub->pkt[stub->pkt_len] = 0;
}

static bool send_ack(struct trc_gdb *stub, char c)
{
	return stub->no_ack || trc_gdb_write(stub, &c, 1);
}

/* After a `$`: the data up to `#` and the checksum. A `$` inside data starts
 * the packet again (the earlier one was cut short). */
static enum rx read_body(struct trc_gdb *stub)
{
	uint8_t *raw = stub->raw;
	size_t len = 0;
	bool too_long = false;
	unsigned sum = 0;
	int c;
	while ((c = get_byte(stub)) != '#') {
		if (c < 0)
			return RX_EOF;
		if (c == '$') {
			len = sum = 0;
			too_long = false;
			continue;
		}
		sum += (unsigned)c;
		if (len < TRC_GDB_PACKET_SIZE)
			raw[len++] = (uint8_t)c;
		else
			too_long = true;
	}
	int hi = get_byte(stub), lo = get_byte(stub);
	if (hi < 0 || lo < 0)
		return RX_EOF;
	hi = trc_gdb_hexval(hi);
	lo = trc_gdb_hexval(lo);
	if (!stub->no_ack && (hi < 0 || lo < 0 || (unsigned)(hi << 4 | lo) != (sum & 0xff))) {
		send_ack(stub, '-');
		return RX_BAD;
	}
	if (!send_ack(stub, '+'))
		return RX_EOF;
	expand(stub, raw, len);
	stub->pkt_too_long |= too_long;
	return RX_OK;
}

bool trc_gdb_recv_packet(struct trc_gdb *stub)
{
	for (;;) {
		int c = get_byte(stub);
		if (c < 0)
			return false;
		if (c == '$') {
			enum rx r = read_body(stub);
			if (r == RX_OK)
				return true;
			if (r == RX_EOF)
				return false;
		} else if (c == '-' && !stub->no_ack && stub->last_tx->len > 0) {
			if (!trc_gdb_write(stub, stub->last_tx->str, stub->last_tx->len))
				return false;
		}
		/* `+`, a late 0x03 and line noise between packets are dropped */
	}
}

/* {====== sending ====== */

bool trc_gdb_send_reply(struct trc_gdb *stub)
{
	unsigned sum = 0;
	for (size_t i = 0; i < stub->reply->len; i++)
		sum += (uint8_t)stub->reply->str[i];
	g_string_assign(stub->last_tx, "$");
	g_string_append_len(stub->last_tx, stub->reply->str, (gssize)stub->reply->len);
	g_string_append_printf(stub->last_tx, "#%02x", sum & 0xff);
	return trc_gdb_write(stub, stub->last_tx->str, stub->last_tx->len);
}

/* {====== interrupts ====== */

bool trc_gdb_poll_interrupt(struct trc_gdb *stub)
{
	if (stub->interrupt || stub->eof)
		return true;
	fill(stub, false);
	/* bytes before the next packet are acks or the interrupt; a packet
	 * (gdb does not send one while the target runs) waits its turn */
	while (stub->in_pos < stub->in_len && stub->inbuf[stub->in_pos] != '$') {
		if (stub->inbuf[stub->in_pos] == GDB_INTERRUPT_BYTE)
			stub->interrupt = true;
		stub->in_pos++;
	}
	return stub->interrupt || stub->eof;
}
