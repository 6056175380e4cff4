/*
 * test-malformed.c - thousands of broken packets and raw garbage at the gdb
 * stub, built with AddressSanitizer and UBSan (tests/gdb/meson.build).
 *
 *   test-gdb-malformed [-n ITEMS] [-s SEED]
 *
 * Items come from a seeded generator (the same seed, the same run):
 *
 *   packet    a real packet mutated (bytes changed, inserted, deleted, cut,
 *             numbers made huge, escapes and run-length marks sprinkled),
 *             framed with the right checksum: the stub must ack it and send
 *             exactly one well-formed reply (none for k; D and vKill end
 *             the session after theirs, and a new session starts)
 *   bad sum   the same with a wrong checksum: exactly `-` (in no-ack mode
 *             the stub takes the packet, so one reply as above)
 *   frame     `$`, random bytes, `#` and two random characters: a reply if
 *             the two happen to be the right checksum, else `-`
 *   garbage   random bytes outside any frame (never `#`): afterwards a
 *             probe packet must get its own reply
 *   noise     c2000 (the spinning instruction), random bytes while it runs,
 *             then 0x03: T02
 *   huge      a packet over TRC_GDB_PACKET_SIZE: an E07 reply
 *
 * A packet that resumes the spinning fake CPU gets a 0x03 after a while.
 * A missing, corrupt or unexpected reply fails the run (with the item's
 * number and payload); a sanitizer report aborts it. GDB_FUZZ_TRACE=1 in
 * the environment prints every item and its reply.
 */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLY_WAIT_MS 100 /* then the target is assumed to spin: send 0x03 */
#define MAX_MUTATIONS 5
#define MAX_GARBAGE 300
#define MAX_FRAME 200

static const char *const templates[] = {
	"?",
	"g",
	"p8",
	"p20",
	"P8=00100000",
	"P0=2a000000",
	"P10=00000000000000000000",
	("G0000000000000000000000000030000000700000000000000000000000000000001000000200000008000000"
	 "1000000010000000100000001000000010000000"),
	"m1000,10",
	"m3000,4",
	"m9000,4",
	"M3000,4:01020304",
	"X3000,4:abcd",
	"X3000,2:}\x03}\x5d",
	"c",
	"s",
	"C05",
	"S05;1000",
	"c1000",
	"c2000" /* spins */,
	"vCont;c",
	"vCont;s:1",
	"vCont;C02:-1",
	"vCont?",
	"bc",
	"bs",
	"Z0,1008,1",
	"z0,1008,1",
	"Z1,100c,1",
	"z1,100c,1",
	"Z2,3000,4",
	"Z3,3000,4",
	"Z4,3000,4",
	"z2,3000,4",
	"z3,3000,4",
	"z4,3000,4",
	"qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386",
	"qXfer:features:read:target.xml:0,ffb",
	"qXfer:features:read:target.xml:7ff,ffb",
	"qAttached",
	"qC",
	"qfThreadInfo",
	"qsThreadInfo",
	"Hg0",
	"Hc-1",
	"T1",
	"vMustReplyEmpty",
	"qRcmd,68656c70",                                     /* help */
	"qRcmd,706879732072656164203078393030302038",         /* phys read 0x9000 8 */
	"qRcmd,70687973207772697465203078393030302063616665", /* phys write 0x9000 cafe */
	"qRcmd,686973746f7279",                               /* history */
	"D",
	"k",
	"vKill;1",
};

struct fuzz {
	GRand *rng;
	struct wire w;
	unsigned n_packet, n_bad, n_frame, n_garbage, n_spin, n_huge, n_sessions, n_interrupts;
	unsigned item;
};

static unsigned pick(struct fuzz *f, unsigned n)
{
	return (unsigned)g_rand_int_range(f->rng, 0, (gint32)n);
}

static void fail(struct fuzz *f, const char *what, const GString *payload)
{
	GString *esc = g_string_new(NULL);
	for (size_t i = 0; payload && i < payload->len && i < 200; i++) {
		uint8_t c = (uint8_t)payload->str[i];
		if (c >= 0x20 && c < 0x7f)
			g_string_append_c(esc, (char)c);
		else
			g_string_append_printf(esc, "\\x%02x", c);
	}
	fprintf(stderr, "item %u: %s (payload \"%s\")\n", f->item, what, esc->str);
	exit(1);
}

/* {====== generating ====== */

static char random_char(struct fuzz *f)
{
	static const char interesting[] = "0123456789abcdefABCDEF,:;=}*-+xXmMgGpPzZqQvbcs";
	switch (pick(f, 3)) {
	case 0:
		return interesting[pick(f, sizeof interesting - 1)];
	case 1:
		return (char)(0x20 + pick(f, 0x5f));
	default:
		return (char)pick(f, 256);
	}
}

static void mutate(struct fuzz *f, GString *p)
{
	size_t at = p->len ? pick(f, (unsigned)p->len) : 0;
	switch (pick(f, 8)) {
	case 0:
		if (p->len)
			p->str[at] = random_char(f);
		break;
	case 1:
		g_string_insert_c(p, (gssize)at, random_char(f));
		break;
	case 2: {
		size_t n = 1 + pick(f, 8);
		g_string_erase(p, (gssize)at, (gssize)MIN(p->len - at, n));
		break;
	}
	case 3:
		g_string_truncate(p, at);
		break;
	case 4: {
		static const char *const nums[] = {"ffffffffffffffffffff", "0",         "ffffffff",
		                                   "123456789abcdef0",     "100000000", "7fffffff"};
		g_string_insert(p, (gssize)at, nums[pick(f, G_N_ELEMENTS(nums))]);
		break;
	}
	case 5:
		g_string_insert_c(p, (gssize)at, pick(f, 2) ? '}' : '*');
		break;
	case 6:
		if (p->len < 2000)
			g_string_append_len(p, p->str, (gssize)p->len);
		break;
	default: /* a run-length mark with a random count */
		g_string_insert_c(p, (gssize)at, (char)(' ' + pick(f, 0x5f)));
		g_string_insert_c(p, (gssize)at, '*');
		break;
	}
}

/* A mutated template with no `$` or `#` (so the frame is exactly one packet). */
static GString *make_payload(struct fuzz *f)
{
	GString *p = g_string_new(templates[pick(f, G_N_ELEMENTS(templates))]);
	unsigned n = pick(f, MAX_MUTATIONS + 1);
	if (pick(f, 10) == 0) { /* or nothing like a real packet */
		g_string_truncate(p, 0);
		for (unsigned i = pick(f, MAX_FRAME); i > 0; i--)
			g_string_append_c(p, random_char(f));
	}
	for (unsigned i = 0; i < n; i++)
		mutate(f, p);
	for (size_t i = 0; i < p->len; i++)
		if (p->str[i] == '$' || p->str[i] == '#')
			p->str[i] = 'x';
	return p;
}

/* {====== checking ====== */

static void new_session(struct fuzz *f)
{
	wire_close(&f->w);
	wire_open(&f->w);
	f->n_sessions++;
}

/* The first bytes of the payload after run-length expansion (`X*n`: n-29
 * more X; a `*` first or last stays as it is). */
static void expand_head(const GString *p, char *out, size_t size)
{
	size_t o = 0;
	for (size_t i = 0; i < p->len && o + 1 < size; i++) {
		if (p->str[i] == '*' && o > 0 && i + 1 < p->len) {
			int n = (uint8_t)p->str[++i] - 29;
			for (; n > 0 && o + 1 < size; n--, o++)
				out[o] = out[o - 1];
		} else {
			out[o++] = p->str[i];
		}
	}
	out[o] = 0;
}

static bool ends_session(const GString *p)
{
	char head[8];
	expand_head(p, head, sizeof head);
	return head[0] == 'k' || head[0] == 'D' || g_str_has_prefix(head, "vKill");
}

/* Read one reply, interrupting a target that seems to spin. */
static GString *read_reply(struct fuzz *f)
{
	if (!wire_readable(&f->w, REPLY_WAIT_MS)) {
		f->n_interrupts++;
		wire_send_raw(&f->w, "\x03", 1);
	}
	return wire_read_packet(&f->w, WIRE_TIMEOUT_MS);
}

/* A packet the stub took: `+` (acking), then one reply, as the payload says. */
static void expect_answer(struct fuzz *f, const GString *p)
{
	if (f->w.ack && !wire_expect(&f->w, "+")) {
		if (!ends_session(p) || !wire_closed(&f->w, WIRE_TIMEOUT_MS))
			fail(f, "no ack", p);
		new_session(f);
		return;
	}
	GString *r = read_reply(f);
	if (getenv("GDB_FUZZ_TRACE"))
		fprintf(stderr, "  sent %.60s -> %.60s\n", p->str, r ? r->str : "(none)");
	if (!r) {
		if (p->str[0] != 'k' || !wire_closed(&f->w, WIRE_TIMEOUT_MS))
			fail(f, "no reply", p);
		new_session(f);
		return;
	}
	if (f->w.ack)
		wire_send_raw(&f->w, "+", 1);
	if (strcmp(p->str, "QStartNoAckMode") == 0 && strcmp(r->str, "OK") == 0)
		f->w.ack = false;
	bool end = ends_session(p) && strcmp(r->str, "OK") == 0;
	g_string_free(r, TRUE);
	if (end) {
		if (!wire_closed(&f->w, WIRE_TIMEOUT_MS))
			fail(f, "session did not end", p);
		new_session(f);
	}
}

static void item_packet(struct fuzz *f, bool bad_sum)
{
	GString *p = make_payload(f);
	unsigned sum = wire_checksum(p->str, p->len);
	if (!bad_sum) {
		wire_send_packet(&f->w, p->str, p->len);
		expect_answer(f, p);
	} else {
		char frame_end[4];
		snprintf(frame_end, sizeof frame_end, "#%02x", (sum + 1 + pick(f, 255)) & 0xff);
		wire_send_raw(&f->w, "$", 1);
		wire_send_raw(&f->w, p->str, p->len);
		wire_send_raw(&f->w, frame_end, 3);
		if (f->w.ack && !wire_expect(&f->w, "-"))
			fail(f, "bad checksum not nacked", p);
		if (!f->w.ack)
			expect_answer(f, p);
	}
	g_string_free(p, TRUE);
}

static void item_frame(struct fuzz *f)
{
	GString *p = g_string_new(NULL);
	unsigned n = pick(f, MAX_FRAME);
	for (unsigned i = 0; i < n; i++) {
		char c = random_char(f);
		g_string_append_c(p, c == '$' || c == '#' ? 'y' : c);
	}
	char cs[3] = {0};
	cs[0] = random_char(f);
	cs[1] = random_char(f);
	if (pick(f, 4) == 0)
		snprintf(cs, sizeof cs, "%02x", wire_checksum(p->str, p->len));
	wire_send_raw(&f->w, "$", 1);
	wire_send_raw(&f->w, p->str, p->len);
	wire_send_raw(&f->w, "#", 1);
	wire_send_raw(&f->w, cs, 2);
	bool good = g_ascii_isxdigit(cs[0]) && g_ascii_isxdigit(cs[1]) &&
	            strtoul(cs, NULL, 16) == wire_checksum(p->str, p->len);
	if (good || !f->w.ack)
		expect_answer(f, p);
	else if (!wire_expect(&f->w, "-")) {
		fprintf(stderr, "checksum sent %02x %02x, data sum %02x\n", (uint8_t)cs[0],
		        (uint8_t)cs[1], wire_checksum(p->str, p->len));
		fail(f, "bad frame not nacked", p);
	}
	g_string_free(p, TRUE);
}

/* Raw bytes, then a probe until its reply comes back (skipping acks and
 * the resends that `-` in the garbage asks for). The probe is
 * `monitor sync N`, whose reply (the unknown-command message) names the
 * item, so an earlier probe's reply resent cannot pass for it. */
static void item_garbage(struct fuzz *f)
{
	GString *g = g_string_new(NULL);
	unsigned n = 1 + pick(f, MAX_GARBAGE);
	for (unsigned i = 0; i < n; i++) {
		char c = random_char(f);
		g_string_append_c(g, c == '#' ? '$' : c);
	}
	char *cmd = g_strdup_printf("sync %u", f->item);
	GString *probe = g_string_new("qRcmd,");
	GString *want = g_string_new(NULL);
	for (const char *c = cmd; *c; c++)
		g_string_append_printf(probe, "%02x", (uint8_t)*c);
	for (const char *c = strchr(cmd, ' '); *c; c++)
		g_string_append_printf(want, "%02x", (uint8_t)*c);
	g_string_append(want, "27"); /* the closing quote */
	wire_send_raw(&f->w, g->str, g->len);
	wire_send_packet(&f->w, probe->str, probe->len);
	for (;;) {
		GString *r = wire_read_packet(&f->w, WIRE_TIMEOUT_MS);
		if (!r)
			fail(f, "lost sync after garbage", g);
		bool done = strstr(r->str, want->str) != NULL;
		g_string_free(r, TRUE);
		if (done)
			break;
	}
	if (f->w.ack)
		wire_send_raw(&f->w, "+", 1);
	g_free(cmd);
	g_string_free(probe, TRUE);
	g_string_free(want, TRUE);
	g_string_free(g, TRUE);
}

/* Noise while the target runs: the stub must keep it out of the way and
 * still see the 0x03 (or, if the target has exited, answer at once). */
static void item_spin_noise(struct fuzz *f)
{
	GString *g = g_string_new(NULL);
	for (unsigned i = pick(f, MAX_GARBAGE); i > 0; i--) {
		char c = random_char(f);
		if (c != '$' && c != '#' && c != '-' && c != 0x03)
			g_string_append_c(g, c);
	}
	wire_send_packet(&f->w, "c2000", 5);
	wire_send_raw(&f->w, g->str, g->len);
	wire_send_raw(&f->w, "\x03", 1);
	if (f->w.ack && !wire_expect(&f->w, "+"))
		fail(f, "no ack for c2000", g);
	GString *r = wire_read_packet(&f->w, WIRE_TIMEOUT_MS);
	if (!r || (strcmp(r->str, "T02") != 0 && r->str[0] != 'W'))
		fail(f, "no T02 after noise and 0x03", r ? r : g);
	if (f->w.ack)
		wire_send_raw(&f->w, "+", 1);
	g_string_free(r, TRUE);
	g_string_free(g, TRUE);
}

static void item_huge(struct fuzz *f)
{
	GString *p = g_string_new(NULL);
	unsigned n = TRC_GDB_PACKET_SIZE + 1 + pick(f, 3 * TRC_GDB_PACKET_SIZE);
	for (unsigned i = 0; i < n; i++)
		g_string_append_c(p, (char)('a' + pick(f, 26)));
	wire_send_packet(&f->w, p->str, p->len);
	if (f->w.ack && !wire_expect(&f->w, "+"))
		fail(f, "huge packet not acked", NULL);
	GString *r = wire_read_packet(&f->w, WIRE_TIMEOUT_MS);
	if (!r || strcmp(r->str, "E07") != 0)
		fail(f, "huge packet not refused with E07", r);
	if (f->w.ack)
		wire_send_raw(&f->w, "+", 1);
	g_string_free(r, TRUE);
	g_string_free(p, TRUE);
}

static void one_item(struct fuzz *f)
{
	unsigned k = pick(f, 100);
	if (getenv("GDB_FUZZ_TRACE"))
		fprintf(stderr, "item %u: kind %u ack %d\n", f->item, k, f->w.ack);
	if (k < 1 && f->w.ack)
		wire_no_ack(&f->w);
	else if (k < 60)
		f->n_packet++, item_packet(f, false);
	else if (k < 70)
		f->n_bad++, item_packet(f, true);
	else if (k < 82)
		f->n_frame++, item_frame(f);
	else if (k < 92)
		f->n_garbage++, item_garbage(f);
	else if (k < 95)
		f->n_spin++, item_spin_noise(f);
	else
		f->n_huge++, item_huge(f);
}

int main(int argc, char **argv)
{
	unsigned n = 5000, seed = 1;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "-n") == 0)
			n = (unsigned)strtoul(argv[i + 1], NULL, 0);
		else if (strcmp(argv[i], "-s") == 0)
			seed = (unsigned)strtoul(argv[i + 1], NULL, 0);
	}
	struct fuzz f = {.rng = g_rand_new_with_seed(seed), .n_sessions = 1};
	wire_open(&f.w);
	for (f.item = 0; f.item < n; f.item++)
		one_item(&f);
	wire_close(&f.w);
	g_rand_free(f.rng);
	printf("%u items (seed %u): %u packets, %u bad checksums, %u frames, %u garbage runs, "
	       "%u noisy runs, %u huge packets; %u sessions, %u interrupts\n",
	       n, seed, f.n_packet, f.n_bad, f.n_frame, f.n_garbage, f.n_spin, f.n_huge,
	       f.n_sessions, f.n_interrupts);
	return 0;
}
