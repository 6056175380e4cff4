/*
 * gdb_cmds.c - the session loop and the packet dispatcher.
 *
 * One packet in, at most one reply out, in order: gdb's all-stop mode. The
 * target owns the machine state and the breakpoints; the stub remembers
 * only the last stop (for `?`) and which points this session inserted (to
 * remove them when it ends).
 */
#include "gdb_int.h"

#include <string.h>
#include <unistd.h>

#define ADDR_MAX 0xffffffffull
#define ADDR_SPACE_END 0x100000000ull
#define HEX_DIGITS_MAX 16u /* gdb may zero-pad; the value still has to fit */
#define LAST_POINT_TYPE 4u /* Z4 */

static const char supported[] = "PacketSize=%x;qXfer:features:read+;QStartNoAckMode+;"
	                        "swbreak+;hwbreak+;ReverseStep+;ReverseContinue+;vContSupported+";

static void reply(struct trc_gdb *stub, const char *s)
{
	g_string_assign(stub->reply, s);
}

/* The rest of p if it starts with name, else NULL. */
static const char *after(const char *p, const char *name)
{
	size_t n = strlen(name);
	return strncmp(p, name, n) == 0 ? p + n : NULL;
}

/* {====== stop replies ====== */

static const char *watch_name(enum trc_gdb_point kind)
{
	return kind == TRC_GDB_WATCH_READ     ? "rwatch"
	       : kind == TRC_GDB_WATCH_ACCESS ? "awatch"
	                                      : "watch";
}

/* {====== threads: the CPUs ====== */

static unsigned n_threads(const struct trc_gdb *stub)
{
	return stub->ops->threads ? stub->ops->threads(stub->opaque) : 1;
}

/* The thread a stop happened on (1-based), which becomes the selected one. */
static unsigned stop_thread(struct trc_gdb *stub)
{
	unsigned t = stub->ops->stop_thread ? stub->ops->stop_thread(stub->opaque) + 1 : 1;
	return t >= 1 && t <= n_threads(stub) ? t : 1;
}

static unsigned selected(struct trc_gdb *stub)
{
	if (!stub->thread)
		stub->thread = stop_thread(stub);
	return stub->thread;
}

/* Hg ID, Hc ID: ID in hex, 0 (any) or -1 (all). Hg selects the CPU whose
 * registers and memory gdb reads next; Hc is accepted for any CPU (a
 * resume runs the whole machine). */
static void cmd_set_thread(struct trc_gdb *stub, const char *p)
{
	char op = *p++;
	uint64_t id;
	if ((op != 'g' && op != 'c') || !*p) {
		reply(stub, GDB_E_INVAL);
		return;
	}
	if (strcmp(p, "-1") == 0 || strcmp(p, "0") == 0) {
		reply(stub, "OK");
		return;
	}
	if (!trc_gdb_parse_hex(&p, HEX_DIGITS_MAX, UINT32_MAX, &id) || *p || id < 1 ||
	    id > n_threads(stub)) {
		reply(stub, GDB_E_INVAL);
		return;
	}
	if (op == 'g') {
		if (stub->ops->select_thread && !stub->ops->select_thread(stub->opaque, (unsigned)id - 1)) {
			reply(stub, GDB_E_TARGET);
			return;
		}
		stub->thread = (unsigned)id;
	}
	reply(stub, "OK");
}

/* T ID: whether the thread is alive (every CPU is, waiting or not). */
static void cmd_thread_alive(struct trc_gdb *stub, const char *p)
{
	uint64_t id;
	bool ok = trc_gdb_parse_hex(&p, HEX_DIGITS_MAX, UINT32_MAX, &id) && !*p && id >= 1 &&
	          id <= n_threads(stub);
	reply(stub, ok ? "OK" : GDB_E_INVAL);
}

/* qfThreadInfo: every CPU, 1 .. n. */
static void cmd_thread_info(struct trc_gdb *stub)
{
	g_string_assign(stub->reply, "m");
	for (unsigned i = 1; i <= n_threads(stub); i++)
		g_string_append_printf(stub->reply, i > 1 ? ",%x" : "%x", i);
}

/* }====================================================================== */

static void stop_reply(struct trc_gdb *stub, const struct trc_gdb_stop *st)
{
	GString *r = stub->reply;
	switch (st->kind) {
	case TRC_GDB_STOP_SIGNAL:
		g_string_printf(r, "T%02x", st->signal & 0xffu);
		break;
	case TRC_GDB_STOP_SW_BREAK:
		g_string_printf(r, "T%02x%s", TRC_GDB_SIGTRAP,
		                stub->gdb_swbreak ? "swbreak:;" : "");
		break;
	case TRC_GDB_STOP_HW_BREAK:
		g_string_printf(r, "T%02x%s", TRC_GDB_SIGTRAP,
		                stub->gdb_hwbreak ? "hwbreak:;" : "");
		break;
	case TRC_GDB_STOP_WATCH:
		g_string_printf(r, "T%02x%s:%x;", TRC_GDB_SIGTRAP, watch_name(st->watch),
		                st->data_addr);
		break;
	case TRC_GDB_STOP_HISTORY_BEGIN:
		g_string_printf(r, "T%02xreplaylog:begin;", TRC_GDB_SIGTRAP);
		break;
	case TRC_GDB_STOP_HISTORY_END:
		g_string_printf(r, "T%02xreplaylog:end;", TRC_GDB_SIGTRAP);
		break;
	case TRC_GDB_STOP_EXITED:
		g_string_printf(r, "W%02x", st->status & 0xffu);
		break;
	case TRC_GDB_STOP_INTERRUPT:
		g_string_printf(r, "T%02x", TRC_GDB_SIGINT);
		break;
	}
	if (r->str[0] == 'T' && n_threads(stub) > 1) { /* which CPU stopped, as QEMU says it */
		char t[24];
		g_snprintf(t, sizeof t, "thread:%x;", selected(stub));
		g_string_insert(r, 3, t);
	}
}

/* {====== memory ====== */

/* "ADDR,LEN" at *p: both in range (LEN at most max_len, the range inside
 * 4 GiB). Returns NULL or the error reply. */
static const char *parse_range(const char **p, uint64_t max_len, uint64_t *addr, uint64_t *len)
{
	if (!trc_gdb_parse_hex(p, HEX_DIGITS_MAX, ADDR_MAX, addr) || *(*p)++ != ',' ||
	    !trc_gdb_parse_hex(p, HEX_DIGITS_MAX, UINT64_MAX, len))
		return GDB_E_INVAL;
	if (*len > max_len || *addr + *len > ADDR_SPACE_END)
		return GDB_E_TOOBIG;
	return NULL;
}

/* m addr,len */
static void cmd_read_mem(struct trc_gdb *stub, const char *p)
{
	uint64_t addr, len;
	uint8_t buf[TRC_GDB_MEM_MAX];
	const char *err = parse_range(&p, TRC_GDB_MEM_MAX, &addr, &len);
	if (err || *p || len == 0) {
		reply(stub, err ? err : GDB_E_INVAL);
		return;
	}
	if (!stub->ops->read_mem ||
	    !stub->ops->read_mem(stub->opaque, (uint32_t)addr, buf, (size_t)len, false)) {
		reply(stub, GDB_E_FAULT);
		return;
	}
	trc_gdb_hex_append(stub->reply, buf, (size_t)len);
}

static void write_mem(struct trc_gdb *stub, uint64_t addr, const uint8_t *buf, size_t len)
{
	if (len == 0) {
		reply(stub, "OK");
		return;
	}
	bool ok = stub->ops->write_mem &&
	          stub->ops->write_mem(stub->opaque, (uint32_t)addr, buf, len, false);
	reply(stub, ok ? "OK" : GDB_E_FAULT);
}

/* M addr,len:hex */
static void cmd_write_mem(struct trc_gdb *stub, const char *p)
{
	uint64_t addr, len;
	uint8_t buf[TRC_GDB_MEM_MAX];
	const char *err = parse_range(&p, TRC_GDB_MEM_MAX, &addr, &len);
	if (err || *p++ != ':') {
		reply(stub, err ? err : GDB_E_INVAL);
		return;
	}
	if (strlen(p) != 2 * len || !trc_gdb_hex_decode(p, buf, (size_t)len)) {
		reply(stub, GDB_E_INVAL);
		return;
	}
	write_mem(stub, addr, buf, (size_t)len);
}

/* X addr,len:binary (escaped; may hold NUL bytes) */
static void cmd_write_bin(struct trc_gdb *stub)
{
	const char *p = (const char *)stub->pkt + 1;
	uint64_t addr, len;
	const char *err = parse_range(&p, TRC_GDB_MEM_MAX, &addr, &len);
	if (err || *p++ != ':') {
		reply(stub, err ? err : GDB_E_INVAL);
		return;
	}
	uint8_t *data = (uint8_t *)p;
	size_t n = trc_gdb_bin_unescape(data, stub->pkt_len - (size_t)(data - stub->pkt));
	if (n != len) {
		reply(stub, GDB_E_INVAL);
		return;
	}
	write_mem(stub, addr, data, n);
}

/* {====== breakpoints and watchpoints ====== */

/* The points this session has inserted, so that none outlives it. */
static void track_point(struct trc_gdb *stub, const struct trc_gdb_point_rec *rec, bool insert)
{
	GArray *pts = stub->points;
	for (guint i = 0; i < pts->len; i++) {
		const struct trc_gdb_point_rec *r =
		        &g_array_index(pts, struct trc_gdb_point_rec, i);
		if (r->kind == rec->kind && r->addr == rec->addr && r->len == rec->len) {
			if (!insert)
				g_array_remove_index_fast(pts, i);
			return;
		}
	}
	if (insert)
		g_array_append_val(pts, *rec);
}

/* Ztype,addr,kind[;cond...] and z... */
static void cmd_point(struct trc_gdb *stub, const char *p, bool insert)
{
	uint64_t type, addr, len;
	if (!trc_gdb_parse_hex(&p, 1, 9, &type) || type > LAST_POINT_TYPE) {
		reply(stub, ""); /* a kind of point we do not offer */
		return;
	}
	if (*p++ != ',' || !trc_gdb_parse_hex(&p, HEX_DIGITS_MAX, ADDR_MAX, &addr) || *p++ != ',' ||
	    !trc_gdb_parse_hex(&p, HEX_DIGITS_MAX, ADDR_MAX, &len) || (*p && *p != ';')) {
		reply(stub, GDB_E_INVAL);
		return;
	}
	bool (*op)(void *, enum trc_gdb_point, uint32_t, uint32_t) =
	        insert ? stub->ops->insert_point : stub->ops->remove_point;
	if (!op) {
		reply(stub, "");
		return;
	}
	struct trc_gdb_point_rec rec = {(enum trc_gdb_point)type, (uint32_t)addr, (uint32_t)len};
	bool ok = op(stub->opaque, rec.kind, rec.addr, rec.len);
	if (ok || !insert)
		track_point(stub, &rec, insert);
	reply(stub, ok ? "OK" : GDB_E_TARGET);
}

/* At the end of a session: remove what gdb left (it removes its points
 * before it detaches, but not when the connection just drops). */
static void remove_points(struct trc_gdb *stub)
{
	GArray *pts = stub->points;
	for (guint i = 0; i < pts->len && stub->ops->remove_point; i++) {
		struct trc_gdb_point_rec *r = &g_array_index(pts, struct trc_gdb_point_rec, i);
		stub->ops->remove_point(stub->opaque, r->kind, r->addr, r->len);
	}
	g_array_set_size(pts, 0);
}

/* {====== execution ====== */

static void resume(struct trc_gdb *stub, enum trc_gdb_resume how)
{
	struct trc_gdb_stop st = {.kind = TRC_GDB_STOP_SIGNAL, .signal = TRC_GDB_SIGTRAP};
	if (stub->exited) {
		stop_reply(stub, &stub->last_stop);
		return;
	}
	stub->interrupt = false;
	if (stub->ops->resume)
		stub->ops->resume(stub->opaque, stub, how, &st);
	stub->interrupt = false;
	stub->thread = stop_thread(stub); /* gdb follows the CPU that stopped */
	stub->last_stop = st;
	stub->exited = st.kind == TRC_GDB_STOP_EXITED;
	stop_reply(stub, &st);
}

/* c [addr], s [addr], C sig[;addr], S sig[;addr]: the signal is ignored
 * (the machine has no signals to deliver); addr sets EIP first. */
static void cmd_resume(struct trc_gdb *stub, const char *p)
{
	char op = *p++;
	uint64_t v;
	if ((op == 'C' || op == 'S') &&
	    (!trc_gdb_parse_hex(&p, 2, 0xff, &v) || (*p && *p++ != ';'))) {
		reply(stub, GDB_E_INVAL);
		return;
	}
	if (*p) {
		if (!trc_gdb_parse_hex(&p, HEX_DIGITS_MAX, ADDR_MAX, &v) || *p) {
			reply(stub, GDB_E_INVAL);
			return;
		}
		if (!stub->ops->set_reg ||
		    !stub->ops->set_reg(stub->opaque, TRC_GDB_EIP, (uint32_t)v)) {
			reply(stub, GDB_E_TARGET);
			return;
		}
	}
	resume(stub, op == 'c' || op == 'C' ? TRC_GDB_CONTINUE : TRC_GDB_STEP);
}

/* vCont;action[:thread][;action[:thread]]...: the first action applies
 * (to the whole machine: with several CPUs every one runs in its turns). */
static void cmd_vcont(struct trc_gdb *stub, const char *p)
{
	uint64_t sig;
	if (*p == '?') {
		reply(stub, p[1] ? GDB_E_INVAL : "vCont;c;C;s;S");
		return;
	}
	if (*p++ != ';') {
		reply(stub, GDB_E_INVAL);
		return;
	}
	char op = *p++;
	if (op != 'c' && op != 's' && op != 'C' && op != 'S') {
		reply(stub, GDB_E_INVAL);
		return;
	}
	if ((op == 'C' || op == 'S') && !trc_gdb_parse_hex(&p, 2, 0xff, &sig)) {
		reply(stub, GDB_E_INVAL);
		return;
	}
	if (*p && *p != ':' && *p != ';') {
		reply(stub, GDB_E_INVAL);
		return;
	}
	resume(stub, op == 'c' || op == 'C' ? TRC_GDB_CONTINUE : TRC_GDB_STEP);
}

/* bc, bs */
static void cmd_backward(struct trc_gdb *stub, const char *p)
{
	if ((p[0] != 'c' && p[0] != 's') || p[1]) {
		reply(stub, "");
		return;
	}
	resume(stub, p[0] == 'c' ? TRC_GDB_REVERSE_CONTINUE : TRC_GDB_REVERSE_STEP);
}

/* {====== queries ====== */

/* qSupported[:feature;feature...]: note which stop reasons gdb knows. */
static void cmd_supported(struct trc_gdb *stub, const char *features)
{
	char **f = g_strsplit(*features == ':' ? features + 1 : features, ";", -1);
	stub->gdb_swbreak = g_strv_contains((const char *const *)f, "swbreak+");
	stub->gdb_hwbreak = g_strv_contains((const char *const *)f, "hwbreak+");
	g_strfreev(f);
	g_string_printf(stub->reply, supported, TRC_GDB_PACKET_SIZE);
}

/* qXfer:features:read:annex:off,len. A chunk escaped in full still fits a
 * packet. */
static void cmd_xfer_features(struct trc_gdb *stub, const char *p)
{
	const char *colon = strchr(p, ':');
	uint64_t off, len;
	if (!colon) {
		reply(stub, GDB_E_INVAL);
		return;
	}
	char *annex = g_strndup(p, (gsize)(colon - p));
	const char *xml = trc_gdb_xml(annex);
	g_free(annex);
	p = colon + 1;
	if (!trc_gdb_parse_hex(&p, HEX_DIGITS_MAX, ADDR_MAX, &off) || *p++ != ',' ||
	    !trc_gdb_parse_hex(&p, HEX_DIGITS_MAX, ADDR_MAX, &len) || *p || len == 0) {
		reply(stub, GDB_E_INVAL);
		return;
	}
	if (!xml) {
		reply(stub, GDB_E_NOXFER);
		return;
	}
	size_t total = strlen(xml);
	size_t start = off < total ? (size_t)off : total;
	size_t n = MIN((size_t)len, MIN(total - start, (TRC_GDB_PACKET_SIZE - 1) / 2));
	g_string_assign(stub->reply, start + n < total ? "m" : "l");
	trc_gdb_bin_append(stub->reply, xml + start, n);
}

static void cmd_query(struct trc_gdb *stub, const char *p)
{
	const char *rest;
	if ((rest = after(p, "qSupported")) && (*rest == 0 || *rest == ':'))
		cmd_supported(stub, rest);
	else if ((rest = after(p, "qXfer:features:read:")))
		cmd_xfer_features(stub, rest);
	else if ((rest = after(p, "qRcmd,")))
		trc_gdb_cmd_monitor(stub, rest);
	else if (strcmp(p, "qAttached") == 0 || after(p, "qAttached:"))
		reply(stub, "1");
	else if (strcmp(p, "qC") == 0)
		g_string_printf(stub->reply, "QC%x", selected(stub));
	else if (strcmp(p, "qfThreadInfo") == 0)
		cmd_thread_info(stub);
	else if (strcmp(p, "qsThreadInfo") == 0)
		reply(stub, "l");
	else
		reply(stub, "");
}

/* {====== the dispatcher ====== */

static bool cmd_v(struct trc_gdb *stub, const char *p, enum trc_gdb_end *end)
{
	const char *rest;
	if ((rest = after(p, "vCont")) && (*rest == '?' || *rest == ';'))
		cmd_vcont(stub, rest);
	else if (after(p, "vKill")) {
		reply(stub, "OK");
		*end = TRC_GDB_END_KILL;
		return false;
	} else
		reply(stub, ""); /* vMustReplyEmpty and all we do not know */
	return true;
}

bool trc_gdb_dispatch(struct trc_gdb *stub, enum trc_gdb_end *end, bool *send)
{
	const char *p = (const char *)stub->pkt;
	*send = true;
	if (stub->pkt_too_long) {
		reply(stub, GDB_E_TOOBIG);
		return true;
	}
	switch (p[0]) {
	case '?':
		stop_reply(stub, &stub->last_stop);
		break;
	case 'g':
		if (p[1])
			reply(stub, GDB_E_INVAL);
		else
			trc_gdb_cmd_read_regs(stub);
		break;
	case 'G':
		trc_gdb_cmd_write_regs(stub, p + 1, strlen(p + 1));
		break;
	case 'p':
		trc_gdb_cmd_read_reg(stub, p + 1);
		break;
	case 'P':
		trc_gdb_cmd_write_reg(stub, p + 1);
		break;
	case 'm':
		cmd_read_mem(stub, p + 1);
		break;
	case 'M':
		cmd_write_mem(stub, p + 1);
		break;
	case 'X':
		cmd_write_bin(stub);
		break;
	case 'c':
	case 'C':
	case 's':
	case 'S':
		cmd_resume(stub, p);
		break;
	case 'b':
		cmd_backward(stub, p + 1);
		break;
	case 'Z':
	case 'z':
		cmd_point(stub, p + 1, p[0] == 'Z');
		break;
	case 'q':
		cmd_query(stub, p);
		break;
	case 'Q':
		if (strcmp(p, "QStartNoAckMode") == 0) {
			reply(stub, "OK");
			stub->no_ack_next = true;
		} else {
			reply(stub, "");
		}
		break;
	case 'v':
		return cmd_v(stub, p, end);
	case 'H':
		cmd_set_thread(stub, p + 1);
		break;
	case 'T':
		cmd_thread_alive(stub, p + 1);
		break;
	case 'k':
		*end = TRC_GDB_END_KILL;
		*send = false;
		return false;
	case 'D':
		reply(stub, "OK");
		*end = TRC_GDB_END_DETACH;
		return false;
	default:
		reply(stub, "");
		break;
	}
	return true;
}

/* {====== the session ====== */

static void start_session(struct trc_gdb *stub, const struct trc_gdb_target_ops *ops, void *opaque)
{
	stub->ops = ops;
	stub->opaque = opaque;
	stub->in_pos = stub->in_len = 0;
	stub->eof = stub->fd < 0;
	stub->interrupt = false;
	stub->no_ack = stub->no_ack_next = false;
	stub->gdb_swbreak = stub->gdb_hwbreak = false;
	g_string_truncate(stub->last_tx, 0);
	stub->last_stop =
	        (struct trc_gdb_stop){.kind = TRC_GDB_STOP_SIGNAL, .signal = TRC_GDB_SIGTRAP};
	stub->exited = false;
}

enum trc_gdb_end trc_gdb_serve(struct trc_gdb *stub, const struct trc_gdb_target_ops *ops,
	                       void *opaque)
{
	enum trc_gdb_end end = TRC_GDB_END_DISCONNECT;
	start_session(stub, ops, opaque);
	while (trc_gdb_recv_packet(stub)) {
		bool send;
		g_string_truncate(stub->reply, 0);
		bool more = trc_gdb_dispatch(stub, &end, &send);
		if (send && !trc_gdb_send_reply(stub)) {
			end = TRC_GDB_END_DISCONNECT;
			break;
		}
		stub->no_ack |= stub->no_ack_next;
		if (!more)
			break;
	}
	remove_points(stub);
	if (stub->fd >= 0)
		close(stub->fd);
	stub->fd = -1;
	return end;
}
