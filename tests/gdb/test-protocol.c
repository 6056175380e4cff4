/*
 * test-protocol.c - the gdb stub against hand-written packets: framing,
 * acks, every packet it answers, every kind of stop reply, exact bytes.
 * The stub serves the fake target (fake-target.h) over a socketpair.
 */
#include "wire.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The g reply at power-on: 16 core registers, 16 x87 registers reported
 * unavailable (8 of 10 bytes, 8 of 4), cr0 cr2 cr3 cr4. */
#define G_CORE                                                                                     \
	"00000000"                                                                                 \
	"00000000"                                                                                 \
	"00000000"                                                                                 \
	"00300000"                                                                                 \
	"00700000"                                                                                 \
	"00000000"                                                                                 \
	"00000000"                                                                                 \
	"00000000"                                                                                 \
	"00100000"                                                                                 \
	"02000000"                                                                                 \
	"08000000"                                                                                 \
	"10000000"                                                                                 \
	"10000000"                                                                                 \
	"10000000"                                                                                 \
	"10000000"                                                                                 \
	"10000000"
#define G_SYS                                                                                      \
	"11000000"                                                                                 \
	"00000000"                                                                                 \
	"00500000"                                                                                 \
	"00000000"
#define X87_HEX_CHARS (2 * (8 * 10 + 8 * 4))

static void check_cmd(struct wire *w, const char *pkt, const char *want)
{
	char *r = wire_cmd(w, pkt);
	g_assert_nonnull(r);
	if (strcmp(r, want) != 0)
		g_test_message("packet \"%s\"", pkt);
	g_assert_cmpstr(r, ==, want);
	g_free(r);
}

static uint32_t reg(struct wire *w, enum trc_gdb_reg r)
{
	return fake_target_regs(w->target)->r[r];
}

static char *hex(const char *s)
{
	GString *h = g_string_new(NULL);
	for (; *s; s++)
		g_string_append_printf(h, "%02x", (uint8_t)*s);
	return g_string_free(h, FALSE);
}

/* The output of `monitor cmd`: the qRcmd reply decoded from hex. */
static char *monitor(struct wire *w, const char *cmd)
{
	char *h = hex(cmd);
	char *pkt = g_strconcat("qRcmd,", h, NULL);
	char *r = wire_cmd(w, pkt);
	g_assert_nonnull(r);
	g_assert_true(strlen(r) % 2 == 0 && strcmp(r, "OK") != 0);
	size_t n = strlen(r) / 2;
	char *out = g_malloc0(n + 1);
	for (size_t i = 0; i < n; i++)
		out[i] = (char)(g_ascii_xdigit_value(r[2 * i]) << 4 |
		                g_ascii_xdigit_value(r[2 * i + 1]));
	g_free(h);
	g_free(pkt);
	g_free(r);
	return out;
}

/* {====== framing ====== */

static void test_ack_and_checksum(void)
{
	struct wire w;
	wire_open(&w);
	wire_send_raw(&w, "$?#3f", 5);
	g_assert_true(wire_expect(&w, "+$T05#b9"));
	wire_send_raw(&w, "+$qC#b4", 7);
	g_assert_true(wire_expect(&w, "+$QC1#c5"));
	wire_send_raw(&w, "+", 1);
	g_assert_cmpint(wire_close(&w), ==, TRC_GDB_END_DISCONNECT);
}

static void test_bad_checksum_is_nacked(void)
{
	struct wire w;
	wire_open(&w);
	wire_send_raw(&w, "$?#00", 5);
	g_assert_true(wire_expect(&w, "-"));
	wire_send_raw(&w, "$?#zz", 5);
	g_assert_true(wire_expect(&w, "-"));
	wire_send_raw(&w, "$?#3f", 5);
	g_assert_true(wire_expect(&w, "+$T05#b9"));
	wire_close(&w);
}

static void test_nack_retransmits(void)
{
	struct wire w;
	wire_open(&w);
	wire_send_raw(&w, "$?#3f", 5);
	g_assert_true(wire_expect(&w, "+$T05#b9"));
	wire_send_raw(&w, "-", 1);
	g_assert_true(wire_expect(&w, "$T05#b9"));
	wire_send_raw(&w, "-", 1);
	g_assert_true(wire_expect(&w, "$T05#b9"));
	wire_send_raw(&w, "+", 1);
	check_cmd(&w, "qC", "QC1");
	wire_close(&w);
}

static void test_no_ack_mode(void)
{
	struct wire w;
	wire_open(&w);
	wire_send_raw(&w, "$QStartNoAckMode#b0", 19);
	g_assert_true(wire_expect(&w, "+$OK#9a"));
	wire_send_raw(&w, "+", 1);
	wire_send_raw(&w, "$?#3f", 5);
	g_assert_true(wire_expect(&w, "$T05#b9"));
	/* no acks: a bad checksum is not nacked, the packet is taken */
	wire_send_raw(&w, "$?#00", 5);
	g_assert_true(wire_expect(&w, "$T05#b9"));
	/* and a `-` from the peer is not a request to resend */
	wire_send_raw(&w, "-$qC#b4", 7);
	g_assert_true(wire_expect(&w, "$QC1#c5"));
	wire_close(&w);
}

static void test_dollar_restarts_packet(void)
{
	struct wire w;
	wire_open(&w);
	wire_send_raw(&w, "garbage$m10", 11);
	wire_send_raw(&w, "$?#3f", 5);
	g_assert_true(wire_expect(&w, "+$T05#b9"));
	wire_close(&w);
}

static void test_too_long_packet(void)
{
	struct wire w;
	wire_open(&w);
	char *big = g_strnfill(TRC_GDB_PACKET_SIZE + 1000, 'm');
	check_cmd(&w, big, "E07");
	g_free(big);
	/* run-length expansion past the limit: 100 x "a*~" is 9800 bytes */
	GString *rle = g_string_new(NULL);
	for (int i = 0; i < 100; i++)
		g_string_append(rle, "a*~");
	check_cmd(&w, rle->str, "E07");
	g_string_free(rle, TRUE);
	check_cmd(&w, "qC", "QC1");
	wire_close(&w);
}

static void test_run_length_received(void)
{
	struct wire w;
	wire_open(&w);
	check_cmd(&w, "M3000,3:a*\"", "OK"); /* '"' is 34: 5 more 'a' */
	check_cmd(&w, "m3000,3", "aaaaaa");
	check_cmd(&w, "*", "");
	wire_close(&w);
}

/* {====== queries ====== */

static void test_qsupported(void)
{
	struct wire w;
	wire_open(&w);
	check_cmd(&w, "qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386",
	          "PacketSize=1000;qXfer:features:read+;QStartNoAckMode+;swbreak+;hwbreak+;"
	          "ReverseStep+;ReverseContinue+;vContSupported+");
	wire_close(&w);
}

static void test_threads_and_misc(void)
{
	struct wire w;
	wire_open(&w);
	check_cmd(&w, "qC", "QC1");
	check_cmd(&w, "qfThreadInfo", "m1");
	check_cmd(&w, "qsThreadInfo", "l");
	check_cmd(&w, "qAttached", "1");
	check_cmd(&w, "qAttached:1", "1");
	check_cmd(&w, "Hg0", "OK");
	check_cmd(&w, "Hc-1", "OK");
	check_cmd(&w, "Hx", "E16");
	check_cmd(&w, "T1", "OK");
	check_cmd(&w, "T2", "E16"); /* one CPU: one thread */
	check_cmd(&w, "Hg2", "E16");
	check_cmd(&w, "vMustReplyEmpty", "");
	check_cmd(&w, "qTStatus", "");
	check_cmd(&w, "QNonStop:1", "");
	check_cmd(&w, "!", "");
	check_cmd(&w, "vCont?", "vCont;c;C;s;S");
	wire_close(&w);
}

/* Several CPUs, as QEMU's stub shows them: qfThreadInfo lists threads
 * 1 .. n, a stop reply names the thread it stopped on (which qC then
 * gives), Hg selects a CPU of the target, T answers for existing threads
 * only; any id, 0 and -1 still work for Hc. */
static void test_threads_several_cpus(void)
{
	struct wire w;
	wire_open(&w);
	fake_target_set_cpus(w.target, 3, 1);
	check_cmd(&w, "qfThreadInfo", "m1,2,3");
	check_cmd(&w, "qsThreadInfo", "l");
	check_cmd(&w, "qC", "QC2");
	check_cmd(&w, "?", "T05thread:2;");
	check_cmd(&w, "Hg3", "OK");
	g_assert_cmpuint(fake_target_selected_cpu(w.target), ==, 2);
	check_cmd(&w, "qC", "QC3");
	check_cmd(&w, "Hg4", "E16");
	check_cmd(&w, "Hg0", "OK");
	check_cmd(&w, "Hc2", "OK");
	check_cmd(&w, "Hc-1", "OK");
	check_cmd(&w, "Hgzz", "E16");
	check_cmd(&w, "T3", "OK");
	check_cmd(&w, "T4", "E16");
	check_cmd(&w, "T0", "E16");
	check_cmd(&w, "s", "T05thread:2;");         /* the stop's CPU is selected again */
	g_assert_cmpuint(fake_target_selected_cpu(w.target), ==, 1);
	check_cmd(&w, "qC", "QC2");
	wire_close(&w);
}

static GString *read_xml(struct wire *w, unsigned chunk)
{
	GString *xml = g_string_new(NULL);
	for (;;) {
		char *pkt =
		        g_strdup_printf("qXfer:features:read:target.xml:%zx,%x", xml->len, chunk);
		char *r = wire_cmd(w, pkt);
		g_assert_nonnull(r);
		g_assert_true(r[0] == 'm' || r[0] == 'l');
		g_assert_cmpuint(strlen(r + 1), <=, chunk);
		g_string_append(xml, r + 1);
		bool last = r[0] == 'l';
		g_free(pkt);
		g_free(r);
		if (last)
			return xml;
	}
}

static void test_qxfer_target_xml(void)
{
	struct wire w;
	wire_open(&w);
	GString *small = read_xml(&w, 0x100);
	GString *big = read_xml(&w, 0xffff);
	g_assert_cmpstr(small->str, ==, big->str);
	g_assert_true(g_str_has_prefix(small->str, "<?xml"));
	g_assert_true(g_str_has_suffix(small->str, "</target>\n"));
	g_assert_nonnull(strstr(small->str, "<architecture>i386</architecture>"));
	g_assert_nonnull(strstr(small->str, "<feature name=\"org.gnu.gdb.i386.core\">"));
	g_assert_nonnull(strstr(small->str, "<feature name=\"org.nestlab.i386.sys\">"));
	g_assert_nonnull(strstr(
	        small->str, "<reg name=\"eip\" bitsize=\"32\" type=\"code_ptr\" regnum=\"8\"/>"));
	g_assert_nonnull(
	        strstr(small->str,
	               "<reg name=\"cr0\" bitsize=\"32\" type=\"nestlab_cr0\" regnum=\"32\"/>"));
	unsigned regs = 0;
	for (const char *p = small->str; (p = strstr(p, "<reg ")); p++)
		regs++;
	g_assert_cmpuint(regs, ==, 36);
	char *past = g_strdup_printf("qXfer:features:read:target.xml:%zx,100", small->len);
	check_cmd(&w, past, "l");
	check_cmd(&w, "qXfer:features:read:other.xml:0,100", "E00");
	check_cmd(&w, "qXfer:features:read:target.xml:0", "E16");
	check_cmd(&w, "qXfer:features:read:target.xml:0,0", "E16");
	check_cmd(&w, "qXfer:features:read:target.xml", "E16");
	check_cmd(&w, "qXfer:auxv:read::0,100", "");
	g_free(past);
	g_string_free(small, TRUE);
	g_string_free(big, TRUE);
	wire_close(&w);
}

/* {====== registers ====== */

static void test_registers_read(void)
{
	struct wire w;
	wire_open(&w);
	char *x87 = g_strnfill(X87_HEX_CHARS, 'x');
	char *want = g_strconcat(G_CORE, x87, G_SYS, NULL);
	check_cmd(&w, "g", want);
	check_cmd(&w, "p8", "00100000");
	check_cmd(&w, "p20", "11000000");
	check_cmd(&w, "p22", "00500000");
	check_cmd(&w, "p10", "xxxxxxxxxxxxxxxxxxxx");
	check_cmd(&w, "p18", "xxxxxxxx");
	check_cmd(&w, "p24", "E16");
	check_cmd(&w, "pzz", "E16");
	check_cmd(&w, "p", "E16");
	check_cmd(&w, "p8x", "E16");
	check_cmd(&w, "p123456789", "E16");
	check_cmd(&w, "gx", "E16");
	g_free(x87);
	g_free(want);
	wire_close(&w);
}

static void test_registers_write(void)
{
	struct wire w;
	wire_open(&w);
	check_cmd(&w, "P0=78563412", "OK");
	g_assert_cmphex(reg(&w, TRC_GDB_EAX), ==, 0x12345678);
	check_cmd(&w, "p0", "78563412");
	check_cmd(&w, "P23=00100000", "OK"); /* cr4 */
	g_assert_cmphex(reg(&w, TRC_GDB_CR4), ==, 0x1000);
	check_cmd(&w, "P10=00000000000000000000", "E05"); /* st0: no FPU */
	check_cmd(&w, "P0=123", "E16");
	check_cmd(&w, "P0=1234567g", "E16");
	check_cmd(&w, "P99=00000000", "E16");
	check_cmd(&w, "P0", "E16");
	/* G: the whole file, ecx changed; the x87 part is ignored */
	char *g = wire_cmd(&w, "g");
	memcpy(g + 8, "efbeadde", 8);
	char *pkt = g_strconcat("G", g, NULL);
	check_cmd(&w, pkt, "OK");
	g_assert_cmphex(reg(&w, TRC_GDB_ECX), ==, 0xdeadbeef);
	g_assert_cmphex(reg(&w, TRC_GDB_EAX), ==, 0x12345678);
	/* the core registers alone are a whole G too */
	pkt[1 + 128] = 0;
	memcpy(pkt + 1 + 16, "01000000", 8);
	check_cmd(&w, pkt, "OK");
	g_assert_cmphex(reg(&w, TRC_GDB_EDX), ==, 1);
	pkt[1 + 130] = 0; /* not a whole register */
	pkt[1 + 128] = '0';
	pkt[1 + 129] = '0';
	check_cmd(&w, pkt, "E16");
	check_cmd(&w, "G", "E16");
	check_cmd(&w, "G0000000z", "E16");
	g_free(g);
	g_free(pkt);
	wire_close(&w);
}

/* {====== memory ====== */

static void test_memory_read(void)
{
	struct wire w;
	wire_open(&w);
	check_cmd(&w, "m1000,4", "90909090");
	check_cmd(&w, "m3000,4", "44332211");
	check_cmd(&w, "m7ffe,2", "0000");
	check_cmd(&w, "m7ffe,4", "E0e"); /* runs off the mapped half */
	check_cmd(&w, "m9000,4", "E0e"); /* physical only */
	check_cmd(&w, "m0,801", "E07");  /* over TRC_GDB_MEM_MAX */
	check_cmd(&w, "m0,ffffffffffffffff", "E07");
	check_cmd(&w, "mffffffff,2", "E07"); /* past 4 GiB */
	check_cmd(&w, "m123456789,1", "E16");
	check_cmd(&w, "m0,0", "E16");
	check_cmd(&w, "m1x,1", "E16");
	check_cmd(&w, "m1000", "E16");
	check_cmd(&w, "m,4", "E16");
	check_cmd(&w, "m1000,4,", "E16");
	GString *all = g_string_new("m0,800");
	char *r = wire_cmd(&w, all->str);
	g_assert_cmpuint(strlen(r), ==, 2 * TRC_GDB_MEM_MAX);
	g_free(r);
	g_string_free(all, TRUE);
	wire_close(&w);
}

static void test_memory_write(void)
{
	struct wire w;
	wire_open(&w);
	check_cmd(&w, "M3000,2:abcd", "OK");
	check_cmd(&w, "m3000,2", "abcd");
	check_cmd(&w, "M3000,2:abc", "E16");
	check_cmd(&w, "M3000,2:abcdef", "E16");
	check_cmd(&w, "M3000,2:zzzz", "E16");
	check_cmd(&w, "M3000,2", "E16");
	check_cmd(&w, "M9000,1:00", "E0e");
	check_cmd(&w, "M3000,0:", "OK");
	wire_close(&w);
}

static void test_memory_write_binary(void)
{
	struct wire w;
	wire_open(&w);
	/* # $ } * must be escaped; NUL and 0xff need not be */
	static const char pkt[] = "X3000,6:}\x03}\x04}\x5d}\x0a\x00\xff";
	wire_send_packet(&w, pkt, sizeof pkt - 1);
	g_assert_true(wire_expect(&w, "+$OK#9a"));
	wire_send_raw(&w, "+", 1);
	check_cmd(&w, "m3000,6", "23247d2a00ff");
	check_cmd(&w, "X3000,0:", "OK"); /* gdb's probe for X */
	static const char lone[] = "X3000,1:}";
	wire_send_packet(&w, lone, sizeof lone - 1);
	g_assert_true(wire_expect(&w, "+$E16#ac"));
	check_cmd(&w, "X3000,2:a", "E16");
	check_cmd(&w, "X3000,1", "E16");
	check_cmd(&w, "X9000,1:a", "E0e");
	wire_close(&w);
}

/* {====== execution and stop replies ====== */

static void test_stop_replies(void)
{
	struct wire w;
	wire_open(&w);
	check_cmd(&w, "qSupported:swbreak+;hwbreak+",
	          "PacketSize=1000;qXfer:features:read+;QStartNoAckMode+;swbreak+;hwbreak+;"
	          "ReverseStep+;ReverseContinue+;vContSupported+");
	check_cmd(&w, "s", "T05");
	g_assert_cmphex(reg(&w, TRC_GDB_EIP), ==, FAKE_ENTRY + 1);
	check_cmd(&w, "Z0,1008,1", "OK");
	check_cmd(&w, "c", "T05swbreak:;");
	g_assert_cmphex(reg(&w, TRC_GDB_EIP), ==, 0x1008);
	check_cmd(&w, "z0,1008,1", "OK");
	check_cmd(&w, "Z1,100c,1", "OK");
	check_cmd(&w, "c", "T05hwbreak:;");
	g_assert_cmphex(reg(&w, TRC_GDB_EIP), ==, 0x100c);
	check_cmd(&w, "z1,100c,1", "OK");
	check_cmd(&w, "Z2,3000,4", "OK");
	check_cmd(&w, "c", "T05watch:3000;");
	g_assert_cmphex(reg(&w, TRC_GDB_EIP), ==, FAKE_STORE_AT + 1);
	check_cmd(&w, "z2,3000,4", "OK");
	check_cmd(&w, "Z3,3002,2", "OK");
	check_cmd(&w, "c", "T05rwatch:3002;");
	g_assert_cmphex(reg(&w, TRC_GDB_EIP), ==, FAKE_LOAD_AT + 1);
	check_cmd(&w, "z3,3002,2", "OK");
	check_cmd(&w, "bs", "T05");
	g_assert_cmphex(reg(&w, TRC_GDB_EIP), ==, FAKE_LOAD_AT);
	check_cmd(&w, "Z4,3000,4", "OK");
	check_cmd(&w, "bc", "T05awatch:3000;");
	g_assert_cmphex(reg(&w, TRC_GDB_EIP), ==, FAKE_STORE_AT);
	check_cmd(&w, "m3000,4", "44332211"); /* the store is undone */
	check_cmd(&w, "z4,3000,4", "OK");
	check_cmd(&w, "?", "T05awatch:3000;");
	check_cmd(&w, "bc", "T05replaylog:begin;");
	g_assert_cmphex(reg(&w, TRC_GDB_EIP), ==, FAKE_ENTRY);
	check_cmd(&w, "bs", "T05replaylog:begin;");
	check_cmd(&w, "P0=2a000000", "OK");
	check_cmd(&w, "c", "W2a"); /* 256 instructions to the exit: eax & 0xff is 0x2a again */
	check_cmd(&w, "?", "W2a");
	check_cmd(&w, "s", "W2a");
	wire_close(&w);
}

static void test_stop_without_swbreak_feature(void)
{
	struct wire w;
	wire_open(&w);
	check_cmd(&w, "Z0,1004,1", "OK");
	check_cmd(&w, "c", "T05");
	g_assert_cmphex(reg(&w, TRC_GDB_EIP), ==, 0x1004);
	wire_close(&w);
}

static void test_stop_on_fault(void)
{
	struct wire w;
	wire_open(&w);
	check_cmd(&w, "P8=ff7f0000", "OK");
	check_cmd(&w, "s", "T05");
	check_cmd(&w, "s", "T0b");
	g_assert_cmphex(reg(&w, TRC_GDB_EIP), ==, FAKE_VIRT_SIZE);
	check_cmd(&w, "bs", "T05");
	g_assert_cmphex(reg(&w, TRC_GDB_EIP), ==, FAKE_VIRT_SIZE - 1);
	wire_close(&w);
}

static void test_interrupt(void)
{
	struct wire w;
	wire_open(&w);
	check_cmd(&w, "P8=00200000", "OK"); /* the spin loop */
	wire_send_packet(&w, "c", 1);
	g_assert_true(wire_expect(&w, "+"));
	g_usleep(20000);
	wire_send_raw(&w, "\x03", 1);
	g_assert_true(wire_expect(&w, "$T02#b6"));
	wire_send_raw(&w, "+", 1);
	g_assert_cmphex(reg(&w, TRC_GDB_EIP), ==, FAKE_SPIN_AT);
	g_assert_cmpuint(fake_target_history(w.target), >, 0);
	/* a 0x03 between packets while stopped is ignored */
	wire_send_raw(&w, "\x03", 1);
	check_cmd(&w, "qC", "QC1");
	wire_close(&w);
}

static void test_replay_end(void)
{
	struct wire w;
	wire_open(&w);
	fake_target_set_replay_end(w.target, 5);
	check_cmd(&w, "c", "T05replaylog:end;");
	g_assert_cmphex(reg(&w, TRC_GDB_EIP), ==, FAKE_ENTRY + 5);
	check_cmd(&w, "s", "T05replaylog:end;");
	check_cmd(&w, "bs", "T05");
	check_cmd(&w, "bc", "T05replaylog:begin;");
	wire_close(&w);
}

static void test_resume_forms(void)
{
	struct wire w;
	wire_open(&w);
	check_cmd(&w, "vCont;s:1", "T05");
	check_cmd(&w, "vCont;S05", "T05");
	g_assert_cmphex(reg(&w, TRC_GDB_EIP), ==, FAKE_ENTRY + 2);
	check_cmd(&w, "Z0,1058,1", "OK");
	check_cmd(&w, "c1050", "T05");
	g_assert_cmphex(reg(&w, TRC_GDB_EIP), ==, 0x1058);
	check_cmd(&w, "s1040", "T05");
	g_assert_cmphex(reg(&w, TRC_GDB_EIP), ==, 0x1041);
	check_cmd(&w, "C05;1050", "T05");
	g_assert_cmphex(reg(&w, TRC_GDB_EIP), ==, 0x1058);
	check_cmd(&w, "S05", "T05");
	check_cmd(&w, "P8=00500000", "OK");
	check_cmd(&w, "vCont;c:-1", "T0b"); /* on to the end of mapped memory */
	check_cmd(&w, "vCont;x", "E16");
	check_cmd(&w, "vCont;Czz", "E16");
	check_cmd(&w, "vCont;sx", "E16");
	check_cmd(&w, "vCont", "");
	check_cmd(&w, "vContx", "");
	check_cmd(&w, "Cxyz", "E16");
	check_cmd(&w, "C05;zz", "E16");
	check_cmd(&w, "cq", "E16");
	check_cmd(&w, "b", "");
	check_cmd(&w, "bx", "");
	check_cmd(&w, "bcc", "");
	wire_close(&w);
}

static void test_points(void)
{
	struct wire w;
	wire_open(&w);
	check_cmd(&w, "Z5,1000,1", "");
	check_cmd(&w, "Z0,1000", "E16");
	check_cmd(&w, "Z0,1000,1;X2,0a", "OK"); /* conditions are ignored */
	check_cmd(&w, "Z0,1000,1x", "E16");
	check_cmd(&w, "Z2,3000,3", "E05"); /* the target says no */
	for (int i = 0; i < FAKE_HW_SLOTS; i++) {
		char *pkt = g_strdup_printf("Z1,%x,1", 0x1100 + i);
		check_cmd(&w, pkt, "OK");
		g_free(pkt);
	}
	check_cmd(&w, "Z1,1200,1", "E05"); /* out of debug registers */
	check_cmd(&w, "z1,1100,1", "OK");
	check_cmd(&w, "Z1,1200,1", "OK");
	check_cmd(&w, "Z", "");
	check_cmd(&w, "z0,123456789,1", "E16");
	wire_close(&w);
}

static void test_points_removed_at_end(void)
{
	struct wire w;
	wire_open(&w);
	check_cmd(&w, "Z0,1008,1", "OK");
	check_cmd(&w, "Z2,3000,4", "OK");
	check_cmd(&w, "Z1,1010,1", "OK");
	check_cmd(&w, "z1,1010,1", "OK");
	check_cmd(&w, "Z3,3000,3", "E05"); /* refused: nothing to remove later */
	g_assert_cmpuint(fake_target_points(w.target), ==, 2);
	g_assert_cmpint(wire_close_keep(&w), ==, TRC_GDB_END_DISCONNECT);
	g_assert_cmpuint(fake_target_points(w.target), ==, 0);
	fake_target_free(w.target);
}

/* {====== monitor ====== */

static void test_monitor(void)
{
	struct wire w;
	wire_open(&w);
	char *out = monitor(&w, "help");
	g_assert_nonnull(strstr(out, "phys read ADDR LEN"));
	g_assert_nonnull(strstr(out, "history")); /* the target's own */
	g_free(out);
	out = monitor(&w, "phys read 0x9000 8");
	g_assert_cmpstr(out, ==, "0x00009000: de ad be ef 01 02 03 04\n");
	g_free(out);
	out = monitor(&w, "  phys   write 0x9000 cafe ");
	g_assert_cmpstr(out, ==, "wrote 2 bytes at physical 0x00009000\n");
	g_free(out);
	g_assert_cmphex(fake_target_mem(w.target)[0x9001], ==, 0xfe);
	out = monitor(&w, "phys read 36864 18");
	g_assert_cmpstr(out, ==,
	                "0x00009000: ca fe be ef 01 02 03 04 00 00 00 00 00 00 00 00\n"
	                "0x00009010: 00 00\n");
	g_free(out);
	out = monitor(&w, "phys read 0x10000 1");
	g_assert_cmpstr(out, ==, "phys read: 0x00010000: no memory there\n");
	g_free(out);
	out = monitor(&w, "phys read 0x9000 257");
	g_assert_true(g_str_has_prefix(out, "usage: phys read"));
	g_free(out);
	out = monitor(&w, "phys write 0x9000 abc");
	g_assert_true(g_str_has_prefix(out, "usage: phys write"));
	g_free(out);
	out = monitor(&w, "phys read 0xffffffff 2");
	g_assert_true(g_str_has_prefix(out, "usage: phys read"));
	g_free(out);
	out = monitor(&w, "history");
	g_assert_cmpstr(out, ==, "0 instructions recorded\n");
	g_free(out);
	out = monitor(&w, "frobnicate now");
	g_assert_cmpstr(out, ==,
	                "unknown monitor command 'frobnicate now'; 'monitor help' lists them\n");
	g_free(out);
	check_cmd(&w, "qRcmd,6", "E16");
	check_cmd(&w, "qRcmd,zz", "E16");
	check_cmd(&w, "qRcmd,0068", "E16"); /* a NUL inside */
	wire_close(&w);
}

/* {====== ends of a session ====== */

static void test_end_detach(void)
{
	struct wire w;
	wire_open(&w);
	wire_send_raw(&w, "$D#44", 5);
	g_assert_true(wire_expect(&w, "+$OK#9a"));
	g_assert_cmpint(wire_read_byte(&w, WIRE_TIMEOUT_MS), ==, -1); /* closed */
	g_assert_cmpint(wire_close(&w), ==, TRC_GDB_END_DETACH);
}

static void test_end_kill(void)
{
	struct wire w;
	wire_open(&w);
	wire_send_raw(&w, "$k#6b", 5);
	g_assert_true(wire_expect(&w, "+"));
	g_assert_cmpint(wire_read_byte(&w, WIRE_TIMEOUT_MS), ==, -1);
	g_assert_cmpint(wire_close(&w), ==, TRC_GDB_END_KILL);
	wire_open(&w);
	check_cmd(&w, "vKill;1", "OK");
	g_assert_cmpint(wire_close(&w), ==, TRC_GDB_END_KILL);
}

static void test_end_disconnect(void)
{
	struct wire w;
	wire_open(&w);
	check_cmd(&w, "?", "T05");
	g_assert_cmpint(wire_close(&w), ==, TRC_GDB_END_DISCONNECT);
}

/* {====== TCP ====== */

static gpointer tcp_serve(gpointer data)
{
	struct trc_gdb *stub = data;
	struct fake_target *t = fake_target_new();
	GError *err = NULL;
	enum trc_gdb_end end = TRC_GDB_END_DISCONNECT;
	if (trc_gdb_accept(stub, &err))
		end = trc_gdb_serve(stub, &fake_target_ops, t);
	g_assert_no_error(err);
	fake_target_free(t);
	return GINT_TO_POINTER((int)end + 1);
}

static void test_tcp_listen_and_serve(void)
{
	GError *err = NULL;
	struct trc_gdb *stub = trc_gdb_listen(NULL, 0, &err);
	g_assert_no_error(err);
	g_assert_cmpuint(trc_gdb_port(stub), !=, 0);
	GThread *th = g_thread_new("gdb-tcp", tcp_serve, stub);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(trc_gdb_port(stub))};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct wire w = {.fd = socket(AF_INET, SOCK_STREAM, 0), .ack = true};
	g_assert_cmpint(connect(w.fd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
	check_cmd(&w, "m3000,4", "44332211");
	check_cmd(&w, "D", "OK");
	enum trc_gdb_end end = (enum trc_gdb_end)(GPOINTER_TO_INT(g_thread_join(th)) - 1);
	g_assert_cmpint(end, ==, TRC_GDB_END_DETACH);
	close(w.fd);
	trc_gdb_free(stub);
	g_assert_cmpstr(trc_gdb_end_name(end), ==, "detach");
}

static void test_tcp_bad_address(void)
{
	GError *err = NULL;
	struct trc_gdb *stub = trc_gdb_listen("no-such-host.invalid", 0, &err);
	g_assert_null(stub);
	g_assert_error(err, TRC_GDB_ERROR, TRC_GDB_ERROR_ADDRESS);
	g_error_free(err);
	err = NULL;
	stub = trc_gdb_listen("192.0.2.1", 0, &err); /* not one of ours: bind fails */
	g_assert_null(stub);
	g_assert_error(err, TRC_GDB_ERROR, TRC_GDB_ERROR_SOCKET);
	g_error_free(err);
	err = NULL;
	struct trc_gdb *first = trc_gdb_listen(NULL, 0, &err);
	g_assert_no_error(err);
	stub = trc_gdb_listen("127.0.0.1", trc_gdb_port(first), &err);
	g_assert_null(stub);
	g_assert_error(err, TRC_GDB_ERROR, TRC_GDB_ERROR_SOCKET);
	g_assert_nonnull(strstr(err->message, "choose another port"));
	g_error_free(err);
	trc_gdb_free(first);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/gdb/protocol/ack-and-checksum", test_ack_and_checksum);
	g_test_add_func("/gdb/protocol/bad-checksum-is-nacked", test_bad_checksum_is_nacked);
	g_test_add_func("/gdb/protocol/nack-retransmits", test_nack_retransmits);
	g_test_add_func("/gdb/protocol/no-ack-mode", test_no_ack_mode);
	g_test_add_func("/gdb/protocol/dollar-restarts-packet", test_dollar_restarts_packet);
	g_test_add_func("/gdb/protocol/too-long-packet", test_too_long_packet);
	g_test_add_func("/gdb/protocol/run-length-received", test_run_length_received);
	g_test_add_func("/gdb/protocol/qsupported", test_qsupported);
	g_test_add_func("/gdb/protocol/threads-and-misc", test_threads_and_misc);
	g_test_add_func("/gdb/protocol/threads-several-cpus", test_threads_several_cpus);
	g_test_add_func("/gdb/protocol/qxfer-target-xml-chunks", test_qxfer_target_xml);
	g_test_add_func("/gdb/protocol/registers-read", test_registers_read);
	g_test_add_func("/gdb/protocol/registers-write", test_registers_write);
	g_test_add_func("/gdb/protocol/memory-read", test_memory_read);
	g_test_add_func("/gdb/protocol/memory-write", test_memory_write);
	g_test_add_func("/gdb/protocol/memory-write-binary-escapes", test_memory_write_binary);
	g_test_add_func("/gdb/protocol/stop-replies", test_stop_replies);
	g_test_add_func("/gdb/protocol/stop-without-swbreak-feature",
	                test_stop_without_swbreak_feature);
	g_test_add_func("/gdb/protocol/stop-on-fault", test_stop_on_fault);
	g_test_add_func("/gdb/protocol/interrupt", test_interrupt);
	g_test_add_func("/gdb/protocol/replay-end", test_replay_end);
	g_test_add_func("/gdb/protocol/resume-forms", test_resume_forms);
	g_test_add_func("/gdb/protocol/points", test_points);
	g_test_add_func("/gdb/protocol/points-removed-at-end", test_points_removed_at_end);
	g_test_add_func("/gdb/protocol/monitor", test_monitor);
	g_test_add_func("/gdb/protocol/end-detach", test_end_detach);
	g_test_add_func("/gdb/protocol/end-kill", test_end_kill);
	g_test_add_func("/gdb/protocol/end-disconnect", test_end_disconnect);
	g_test_add_func("/gdb/protocol/tcp-listen-and-serve", test_tcp_listen_and_serve);
	g_test_add_func("/gdb/protocol/tcp-bad-address", test_tcp_bad_address);
	return g_test_run();
}
