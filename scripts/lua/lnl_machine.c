/*
 * lnl_machine.c - a machine as Lua sees it (docs/lua.md, "Machines").
 *
 * Every run goes through the machine's history (trace/hist), so register
 * and memory writes are logged inputs, as the gdb stub's are, and the
 * machine can go back (m:seek). Breakpoints and watchpoints are the
 * engine's debugger points (engine/debug_points.c): a run stops at a hit,
 * the point's callback runs between instructions, and the run goes on
 * unless the callback returns true.
 */
#include <lauxlib.h>
#include <lua.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "hist.h"
#include "lnl_int.h"
#include "nestlab.h"
#include "run.h"
#include "snapfile.h"

#define READ_MAX (16u << 20) /* bytes m:read and m:write take at most */
#define EXPECT_CHUNK 10000u  /* instructions between two looks of m:expect */
#define FOREVER (UINT64_MAX / 4) /* a run without a limit, in chunks this big */

/* {====== helpers ====== */

struct lnl_machine *lnl_check_machine(lua_State *L, int idx)
{
	struct lnl_machine *lm = luaL_checkudata(L, idx, LNL_MACHINE);
	if (!lm->m)
		luaL_error(L, "the machine was closed");
	return lm;
}

uint32_t lnl_check_u32(lua_State *L, int arg, const char *what)
{
	lua_Integer v = luaL_checkinteger(L, arg);
	if (v < 0 || v > 0xffffffffll)
		luaL_argerror(L, arg, lua_pushfstring(L, "%s out of range (0 to 0xffffffff)", what));
	return (uint32_t)v;
}

const char *lnl_stop_name(enum machine_stop st)
{
	static const char *const names[] = {
		[MACHINE_EXIT] = "exit", [MACHINE_SHUTDOWN] = "shutdown", [MACHINE_HALT] = "halt",
		[MACHINE_LIMIT] = "limit", [MACHINE_STOPPED] = "stopped", [MACHINE_BREAK] = "break",
	};
	return (unsigned)st < G_N_ELEMENTS(names) ? names[st] : "?";
}

/* An option of the table at `idx` (or none), as an instruction count. */
static uint64_t opt_count(lua_State *L, int idx, const char *key, uint64_t def)
{
	if (lua_isnoneornil(L, idx))
		return def;
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_getfield(L, idx, key);
	uint64_t v = def;
	if (!lua_isnil(L, -1)) {
		int ok;
		lua_Integer n = lua_tointegerx(L, -1, &ok);
		if (!ok || n < 0)
			luaL_error(L, "option %s must be a whole number of instructions, not %s", key,
			           luaL_tolstring(L, -1, NULL));
		v = (uint64_t)n;
	}
	lua_pop(L, 1);
	return v;
}

static bool opt_flag(lua_State *L, int idx, const char *key)
{
	if (lua_isnoneornil(L, idx))
		return false;
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_getfield(L, idx, key);
	bool v = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return v;
}

/* }====================================================================== */

/* {====== running ====== */

static struct machine *volatile running; /* for Ctrl-C */

static void on_sigint(int sig)
{
	if (running)
		machine_request_stop(running);
}

/* At most n instructions (0: none); Ctrl-C stops it. In the past (after
 * m:seek) through the history, which applies its logged writes on the way;
 * at the present as nestlab-run runs (machine_run counts the instructions
 * of all VMs, the history the CPU's), ticking the history each interval. */
static enum machine_stop hist_run(struct lnl_machine *lm, uint64_t n)
{
	running = lm->m;
	void (*old)(int) = signal(SIGINT, on_sigint);
	enum machine_stop st = MACHINE_LIMIT;
	if (trc_hist_icount(lm->h) < trc_hist_end(lm->h)) {
		st = trc_hist_run(lm->h, n);
	} else {
		uint64_t start = total_icount(lm->m), done = 0;
		while (st == MACHINE_LIMIT && done < n) {
			st = machine_run(lm->m, MIN(n - done, TRC_HIST_DEFAULT_INTERVAL));
			trc_hist_tick(lm->h);
			uint64_t now = total_icount(lm->m) - start;
			if (now == done)
				break; /* nothing runs (every VM paused or ended) */
			done = now;
		}
	}
	signal(SIGINT, old);
	running = NULL;
	return st;
}

/* After a hit: calls the point's callback with (m, hit). True to go on. */
static bool call_point(lua_State *L, int midx, struct lnl_machine *lm)
{
	enum machine_point_kind kind;
	uint32_t addr;
	int id = machine_last_hit(lm->m, &kind, &addr);
	if (id < 0)
		return true; /* a stop with no hit recorded (see run_points) */
	lua_getiuservalue(L, midx, 1);
	lua_rawgeti(L, -1, id);
	lua_remove(L, -2);
	if (lua_type(L, -1) != LUA_TTABLE) {
		lua_pop(L, 1);
		return false;
	}
	lua_getfield(L, -1, "fn");
	lua_remove(L, -2);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return false; /* a point without a callback stops the run */
	}
	static const char *const kinds[] = { "exec", "write", "read", "access" };
	lua_pushvalue(L, midx);
	lua_createtable(L, 0, 3);
	lua_pushinteger(L, id);
	lua_setfield(L, -2, "id");
	lua_pushstring(L, kinds[kind]);
	lua_setfield(L, -2, "kind");
	lua_pushinteger(L, addr);
	lua_setfield(L, -2, "addr");
	lua_call(L, 2, 1);
	bool stop = lua_toboolean(L, -1);
	lua_pop(L, 1);
	if (!lm->m)
		luaL_error(L, "the machine was closed by a point's callback, during its run");
	return !stop;
}

/* Runs n instructions (0: to the guest's end), calling the callbacks of
 * the points hit on the way. */
static enum machine_stop run_points(lua_State *L, int midx, struct lnl_machine *lm, uint64_t n)
{
	uint64_t start = total_icount(lm->m), last_break = UINT64_MAX;
	for (;;) {
		uint64_t now = total_icount(lm->m), done = now - start;
		if (n && done >= n)
			return lm->last = MACHINE_LIMIT;
		enum machine_stop st = hist_run(lm, n ? n - done : FOREVER);
		lm->last = st;
		if (st != MACHINE_BREAK)
			return st;
		/* machine_run can return MACHINE_BREAK with no hit recorded (seen
		 * with a write watchpoint over a long run of miniOS; the cause in
		 * the engine is not known yet): the run goes on, unless that
		 * comes twice at one instruction. */
		if (machine_last_hit(lm->m, NULL, NULL) < 0 && last_break == total_icount(lm->m))
			return st;
		last_break = total_icount(lm->m);
		if (!call_point(L, midx, lm))
			return st;
	}
}

/* Pushes how a run ended: its name, and the exit status for "exit". */
static int push_stop(lua_State *L, struct lnl_machine *lm, enum machine_stop st)
{
	lua_pushstring(L, lnl_stop_name(st));
	int status;
	if (st == MACHINE_EXIT && machine_exit_status(lm->m, &status)) {
		lua_pushinteger(L, status & 0xff);
		return 2;
	}
	return 1;
}

/* m:run{insns=N}: N more instructions, or to the guest's end. */
static int m_run(lua_State *L)
{
	struct lnl_machine *lm = lnl_check_machine(L, 1);
	uint64_t n = opt_count(L, 2, "insns", 0);
	return push_stop(L, lm, run_points(L, 1, lm, n));
}

/* One step as machine_step takes it (an instruction, or the delivery of
 * an event), at the present; in the past (after m:seek) one instruction
 * through the history, which applies the logged writes on the way. */
static enum machine_stop step_once(struct lnl_machine *lm)
{
	if (trc_hist_icount(lm->h) < trc_hist_end(lm->h))
		return hist_run(lm, 1);
	enum machine_stop st = machine_step(lm->m);
	trc_hist_tick(lm->h);
	return st;
}

/* m:step(): one step, as --trace-cpu counts them (an instruction, or the
 * delivery of an interrupt or exception); a point's callback runs if the
 * step hits one. */
static int m_step(lua_State *L)
{
	struct lnl_machine *lm = lnl_check_machine(L, 1);
	enum machine_stop st = lm->last = step_once(lm);
	if (st == MACHINE_BREAK && call_point(L, 1, lm))
		st = lm->last = MACHINE_LIMIT;
	return push_stop(L, lm, st);
}

/* m:run_until(fn, {insns=N}): steps until fn(m) returns true ("until"),
 * the guest ends, or N instructions ("limit"). */
static int m_run_until(lua_State *L)
{
	struct lnl_machine *lm = lnl_check_machine(L, 1);
	luaL_checktype(L, 2, LUA_TFUNCTION);
	uint64_t max = opt_count(L, 3, "insns", 0);
	for (uint64_t i = 0; !max || i < max; i++) {
		enum machine_stop st = run_points(L, 1, lm, 1);
		if (st != MACHINE_LIMIT)
			return push_stop(L, lm, st);
		lua_pushvalue(L, 2);
		lua_pushvalue(L, 1);
		lua_call(L, 1, 1);
		bool done = lua_toboolean(L, -1);
		lua_pop(L, 1);
		if (!lm->m)
			return luaL_error(L, "m:run_until: the machine was closed by its function");
		if (done) {
			lua_pushliteral(L, "until");
			return 1;
		}
	}
	return push_stop(L, lm, MACHINE_LIMIT);
}

/* m:seek(icount): the state the run had at that instruction count. */
static int m_seek(lua_State *L)
{
	struct lnl_machine *lm = lnl_check_machine(L, 1);
	lua_Integer target = luaL_checkinteger(L, 2);
	GError *error = NULL;
	luaL_argcheck(L, target >= 0, 2, "a negative instruction count");
	if (machine_vm_count(lm->m) > 1)
		return luaL_error(L, "m:seek: not yet for a machine with more VMs than one (its "
		                  "history counts the instructions of the VM the CPU holds)");
	if (!trc_hist_seek(lm->h, (uint64_t)target, NULL, &error))
		return lnl_gerror(L, "m:seek", error);
	return 0;
}

/* }====================================================================== */

/* {====== memory ====== */

/* v as 0x%08x (lua_pushfstring has no %x). */
static const char *hex(char buf[11], uint32_t v)
{
	g_snprintf(buf, 11, "0x%08x", v);
	return buf;
}

/* m:read(addr, len, {phys=true}): the bytes as a string. Virtual
 * addresses go through the guest's page tables as they are now. */
static int m_read(lua_State *L)
{
	struct lnl_machine *lm = lnl_check_machine(L, 1);
	uint32_t addr = lnl_check_u32(L, 2, "address");
	lua_Integer len = luaL_checkinteger(L, 3);
	luaL_argcheck(L, len >= 0 && len <= READ_MAX, 3, "length out of range (0 to 16 MiB)");
	luaL_argcheck(L, (uint64_t)addr + (uint64_t)len <= 0x100000000ull, 3,
	              "the range goes past 4 GiB");
	bool phys = opt_flag(L, 4, "phys");
	char hx[11];
	luaL_Buffer b;
	char *buf = luaL_buffinitsize(L, &b, (size_t)len);
	if (phys)
		machine_phys_read(lm->m, addr, buf, (size_t)len);
	else if (!machine_read_virt(lm->m, addr, buf, (size_t)len))
		return luaL_error(L, "m:read: virtual address %s (+%d) is not mapped", hex(hx, addr),
		                  (int)len);
	luaL_pushresultsize(&b, (size_t)len);
	return 1;
}

/* m:write(addr, bytes, {phys=true}): a logged input, as a debugger's. */
static int m_write(lua_State *L)
{
	struct lnl_machine *lm = lnl_check_machine(L, 1);
	uint32_t addr = lnl_check_u32(L, 2, "address");
	size_t len;
	const char *data = luaL_checklstring(L, 3, &len);
	luaL_argcheck(L, len <= READ_MAX, 3, "longer than 16 MiB");
	luaL_argcheck(L, (uint64_t)addr + len <= 0x100000000ull, 3, "the range goes past 4 GiB");
	bool phys = opt_flag(L, 4, "phys");
	char hx[11];
	if (!trc_hist_write_mem(lm->h, addr, data, len, phys))
		return luaL_error(L, "m:write: virtual address %s (+%d) is not mapped", hex(hx, addr),
		                  (int)len);
	return 0;
}

/* m:translate(va): the physical address (under a monitor: the guest's),
 * or nil if not mapped. */
static int m_translate(lua_State *L)
{
	struct lnl_machine *lm = lnl_check_machine(L, 1);
	uint32_t phys;
	if (!machine_translate(lm->m, lnl_check_u32(L, 2, "address"), &phys))
		return 0;
	lua_pushinteger(L, phys);
	return 1;
}

/* }====================================================================== */

/* {====== consoles ====== */

static void push_bytes(lua_State *L, const GByteArray *a)
{
	if (a)
		lua_pushlstring(L, (const char *)a->data, a->len);
	else
		lua_pushliteral(L, "");
}

/* m:console(): everything the guest wrote to its consoles, in order. */
static int m_console(lua_State *L)
{
	push_bytes(L, machine_console_log(lnl_check_machine(L, 1)->m));
	return 1;
}

/* m:serial(port): one serial port's output (1: COM1, 2: COM2). */
static int m_serial(lua_State *L)
{
	struct lnl_machine *lm = lnl_check_machine(L, 1);
	lua_Integer port = luaL_optinteger(L, 2, 1);
	luaL_argcheck(L, port == 1 || port == 2, 2, "the port is 1 (COM1) or 2 (COM2)");
	push_bytes(L, machine_serial_output(lm->m, (int)port - 1));
	return 1;
}

/* m:send(text, {port=N}): bytes down COM1's (or COM2's) line; logged. */
static int m_send(lua_State *L)
{
	struct lnl_machine *lm = lnl_check_machine(L, 1);
	size_t len;
	const char *text = luaL_checklstring(L, 2, &len);
	uint64_t port = opt_count(L, 3, "port", 1);
	if ((port != 1 && port != 2) ||
	    !machine_inject_serial(lm->m, (unsigned)port - 1, (const uint8_t *)text, len))
		return luaL_error(L, "m:send: there is no serial port %d to send to", (int)port);
	return 0;
}

/* Where text[0..len) first occurs in log at or after `from` (the log
 * may hold any bytes, NUL too), or SIZE_MAX. */
static size_t find(const GByteArray *log, size_t from, const char *text, size_t len)
{
	for (size_t i = from; i + len <= log->len; i++)
		if (log->data[i] == (uint8_t)text[0] && !memcmp(log->data + i, text, len))
			return i;
	return SIZE_MAX;
}

/* The bytes m:expect (src 0: the console log) or m.comN:expect (src N)
 * looks in. */
static const GByteArray *expect_source(struct lnl_machine *lm, int src)
{
	return src ? machine_serial_output(lm->m, src - 1) : machine_console_log(lm->m);
}

/* Runs the machine at index 1 until text (index 2) appears in source src
 * after what the last expect there found; {insns=N} (index 3) bounds it. */
static int expect_in(lua_State *L, int src)
{
	struct lnl_machine *lm = lnl_check_machine(L, 1);
	size_t tlen;
	const char *text = luaL_checklstring(L, 2, &tlen);
	luaL_argcheck(L, tlen > 0, 2, "empty text");
	uint64_t max = opt_count(L, 3, "insns", 0), start = total_icount(lm->m);
	for (;;) {
		const GByteArray *log = expect_source(lm, src);
		size_t at = log ? find(log, lm->expect_from[src], text, tlen) : SIZE_MAX;
		if (at != SIZE_MAX) {
			lm->expect_from[src] = at + tlen;
			lua_pushboolean(L, 1);
			return 1;
		}
		uint64_t done = total_icount(lm->m) - start;
		if (max && done >= max) {
			lua_pushboolean(L, 0);
			lua_pushliteral(L, "limit");
			return 2;
		}
		uint64_t n = max ? MIN(EXPECT_CHUNK, max - done) : EXPECT_CHUNK;
		enum machine_stop st = run_points(L, 1, lm, n);
		if (st != MACHINE_LIMIT) {
			lua_pushboolean(L, 0);
			return 1 + push_stop(L, lm, st);
		}
	}
}

/* m:expect(text, {insns=N}): runs until `text` appears in the console log
 * after what the last m:expect found; true, or false and how the run
 * ended (the guest's end, or N instructions). */
static int m_expect(lua_State *L)
{
	return expect_in(L, 0);
}

/* {====== m.com1, m.com2, m.vga ======
 *
 * A serial port or the VGA screen as an object of its own; its user value
 * is the machine. */

/* The port of the serial object at 1, which is replaced by its machine. */
static int serial_self(lua_State *L)
{
	int port = *(int *)luaL_checkudata(L, 1, LNL_SERIAL);
	lua_getiuservalue(L, 1, 1);
	lua_replace(L, 1);
	return port;
}

/* m.comN:expect(text, {insns=N}): as m:expect, in this port's output. */
static int s_expect(lua_State *L)
{
	return expect_in(L, serial_self(L) + 1);
}

/* m.comN:send(text): bytes down this port's line; logged. */
static int s_send(lua_State *L)
{
	int port = serial_self(L);
	struct lnl_machine *lm = lnl_check_machine(L, 1);
	size_t len;
	const char *text = luaL_checklstring(L, 2, &len);
	if (!machine_inject_serial(lm->m, (unsigned)port, (const uint8_t *)text, len))
		return luaL_error(L, "com%d:send: the port takes no input now", port + 1);
	return 0;
}

/* m.comN:output(): everything the guest sent out of this port. */
static int s_output(lua_State *L)
{
	int port = serial_self(L);
	push_bytes(L, machine_serial_output(lnl_check_machine(L, 1)->m, port));
	return 1;
}

/* m.vga:text(): the screen, as m:vga_text(). */
static int v_text(lua_State *L)
{
	luaL_checkudata(L, 1, LNL_VGA);
	lua_getiuservalue(L, 1, 1);
	lua_replace(L, 1);
	GString *t = g_string_new(NULL);
	machine_vga_text(lnl_check_machine(L, 1)->m, t);
	lua_pushlstring(L, t->str, t->len);
	g_string_free(t, TRUE);
	return 1;
}

/* Pushes m.com1 (port 0), m.com2 (1) or m.vga (-1) of the machine at 1. */
static void push_device(lua_State *L, int port)
{
	if (port >= 0)
		*(int *)lua_newuserdatauv(L, sizeof(int), 1) = port;
	else
		lua_newuserdatauv(L, 1, 1);
	lua_pushvalue(L, 1);
	lua_setiuservalue(L, -2, 1);
	luaL_setmetatable(L, port >= 0 ? LNL_SERIAL : LNL_VGA);
}

static void open_devices(lua_State *L)
{
	static const luaL_Reg serial[] = {
		{ "expect", s_expect }, { "send", s_send }, { "output", s_output }, { NULL, NULL },
	};
	static const luaL_Reg vga[] = { { "text", v_text }, { NULL, NULL } };
	luaL_newmetatable(L, LNL_SERIAL);
	luaL_newlib(L, serial);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
	luaL_newmetatable(L, LNL_VGA);
	luaL_newlib(L, vga);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
}

/* }====================================================================== */

/* m:vga_text(): the VGA text screen, as lines. */
static int m_vga_text(lua_State *L)
{
	GString *s = g_string_new(NULL);
	machine_vga_text(lnl_check_machine(L, 1)->m, s);
	lua_pushlstring(L, s->str, s->len);
	g_string_free(s, TRUE);
	return 1;
}

/* }====================================================================== */

/* {====== points ====== */

static const char *const point_kinds[] = { "exec", "write", "read", "access", NULL };

/* Adds a point and keeps {kind, addr, len, fn} under its id. */
static int add_point(lua_State *L, struct lnl_machine *lm, enum machine_point_kind kind,
                     uint32_t addr, uint32_t len, int fn)
{
	int id = machine_add_point(lm->m, kind, addr, len);
	if (id < 0)
		return luaL_error(L, "no room for another point (at most %d) or a bad range",
		                  MACHINE_POINTS_MAX);
	lua_getiuservalue(L, 1, 1);
	lua_createtable(L, 0, 4);
	lua_pushinteger(L, kind);
	lua_setfield(L, -2, "kind");
	lua_pushinteger(L, addr);
	lua_setfield(L, -2, "addr");
	lua_pushinteger(L, len);
	lua_setfield(L, -2, "len");
	if (fn) {
		lua_pushvalue(L, fn);
		lua_setfield(L, -2, "fn");
	}
	lua_rawseti(L, -2, id);
	lua_pop(L, 1);
	lua_pushinteger(L, id);
	return 1;
}

/* m:breakpoint(addr[, fn]): stops before the instruction at virtual addr
 * runs; fn(m, hit) is called there, and the run goes on unless it returns
 * true. Returns the point's id. */
static int m_breakpoint(lua_State *L)
{
	struct lnl_machine *lm = lnl_check_machine(L, 1);
	uint32_t addr = lnl_check_u32(L, 2, "address");
	if (!lua_isnoneornil(L, 3))
		luaL_checktype(L, 3, LUA_TFUNCTION);
	return add_point(L, lm, MACHINE_POINT_EXEC, addr, 1, lua_isnoneornil(L, 3) ? 0 : 3);
}

/* m:watchpoint(addr, len, kind[, fn]): after an instruction that writes,
 * reads or accesses [addr, addr+len). */
static int m_watchpoint(lua_State *L)
{
	struct lnl_machine *lm = lnl_check_machine(L, 1);
	uint32_t addr = lnl_check_u32(L, 2, "address");
	lua_Integer len = luaL_checkinteger(L, 3);
	luaL_argcheck(L, len >= 1 && len <= MACHINE_WATCH_MAX, 3, "length out of range (1 to 4096)");
	int kind = luaL_checkoption(L, 4, "write", point_kinds);
	luaL_argcheck(L, kind != MACHINE_POINT_EXEC, 4, "a watchpoint is write, read or access");
	if (!lua_isnoneornil(L, 5))
		luaL_checktype(L, 5, LUA_TFUNCTION);
	return add_point(L, lm, (enum machine_point_kind)kind, addr, (uint32_t)len,
	                 lua_isnoneornil(L, 5) ? 0 : 5);
}

/* m:on(event, filter, fn): "insn" with {addr=A} is a breakpoint whose
 * callback goes on unless it returns true. The engine has no hook for
 * exits or level switches yet: those events are refused by name. */
static int m_on(lua_State *L)
{
	lnl_check_machine(L, 1);
	static const char *const events[] = { "insn", "exit", "mark", "level", "interrupt", "io",
	                                      NULL };
	int ev = luaL_checkoption(L, 2, NULL, events);
	if (ev != 0)
		return luaL_error(L, "m:on: events '%s' are not offered yet (the engine has no hook for "
		                  "them); 'insn' with {addr=...} is", events[ev]);
	luaL_checktype(L, 3, LUA_TTABLE);
	luaL_checktype(L, 4, LUA_TFUNCTION);
	if (lua_getfield(L, 3, "addr") != LUA_TNUMBER)
		return luaL_error(L, "m:on: 'insn' needs a filter {addr=ADDRESS}");
	lua_replace(L, 2);
	lua_remove(L, 3); /* m, addr, fn */
	return m_breakpoint(L);
}

/* m:delete(id): removes a point. */
static int m_delete(lua_State *L)
{
	struct lnl_machine *lm = lnl_check_machine(L, 1);
	lua_Integer id = luaL_checkinteger(L, 2);
	lua_getiuservalue(L, 1, 1);
	if (lua_rawgeti(L, -1, id) != LUA_TTABLE)
		return luaL_error(L, "m:delete: there is no point %d", (int)id);
	lua_getfield(L, -1, "kind");
	lua_getfield(L, -2, "addr");
	lua_getfield(L, -3, "len");
	machine_remove_point(lm->m, (enum machine_point_kind)lua_tointeger(L, -3),
	                     (uint32_t)lua_tointeger(L, -2), (uint32_t)lua_tointeger(L, -1));
	lua_pop(L, 4);
	lua_pushnil(L);
	lua_rawseti(L, -2, id);
	return 0;
}

/* }====================================================================== */

/* {====== the machine as a whole ====== */

static int m_state_hash(lua_State *L)
{
	char h[65];
	machine_state_hash(lnl_check_machine(L, 1)->m, h);
	lua_pushstring(L, h);
	return 1;
}

static int m_console_hash(lua_State *L)
{
	char h[65];
	machine_console_hash(lnl_check_machine(L, 1)->m, h);
	lua_pushstring(L, h);
	return 1;
}

/* m:monitor_stats(): the exit tables nestlab-run --stats prints: the
 * engine's monitor's, then each level's and the exit multiplication
 * (empty when the machine runs bare). */
static int m_monitor_stats(lua_State *L)
{
	struct lnl_machine *lm = lnl_check_machine(L, 1);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return luaL_error(L, "m:monitor_stats: out of memory");
	machine_print_monitor_stats(lm->m, f);
	machine_print_tree_stats(lm->m, f);
	fclose(f);
	lua_pushlstring(L, buf, len);
	free(buf);
	return 1;
}

/* m:snapshot(file): the whole machine, for nestlab.restore or
 * nestlab-run --restore. */
static int m_snapshot(lua_State *L)
{
	struct lnl_machine *lm = lnl_check_machine(L, 1);
	const char *path = luaL_checkstring(L, 2);
	GError *error = NULL;
	if (!trc_snap_write(path, lm->m, total_icount(lm->m), lm->args, &error)) {
		return lnl_gerror(L, "m:snapshot", error);
	}
	return 0;
}

/* m:vms(): the VMs of the machine's monitor, VM 0 first ({} when bare). */
static int m_vms(lua_State *L)
{
	struct lnl_machine *lm = lnl_check_machine(L, 1);
	unsigned n = machine_vm_count(lm->m);
	lua_createtable(L, (int)n, 0);
	for (unsigned i = 0; i < n; i++) {
		lnl_push_vm(L, 1, i);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

/* m:vm(name): the VM of that name, or an error. */
static int m_vm(lua_State *L)
{
	struct lnl_machine *lm = lnl_check_machine(L, 1);
	const char *name = luaL_checkstring(L, 2);
	int i = machine_vm_find(lm->m, name);
	if (i < 0)
		return luaL_error(L, "m:vm: there is no VM called '%s'", name);
	lnl_push_vm(L, 1, (unsigned)i);
	return 1;
}

/* m:load_vm(name, file): replaces VM `name` (a vm option of this machine,
 * or vm0) with the VM saved in file (vm:save's, or --vm-save-at's), which
 * goes on there as it would have in its own machine; the slot needs the
 * VM's memory size, disks and monitor mode. */
static int m_load_vm(lua_State *L)
{
	struct lnl_machine *lm = lnl_check_machine(L, 1);
	const char *name = luaL_checkstring(L, 2);
	const char *path = luaL_checkstring(L, 3);
	int i = machine_vm_find(lm->m, name);
	if (i < 0)
		return luaL_error(L, "m:load_vm: there is no VM called '%s' to load into", name);
	GBytes *state = NULL;
	uint64_t icount;
	GError *error = NULL;
	if (!trc_snap_read_vm(path, &state, &icount, &error))
		return lnl_gerror(L, "m:load_vm", error);
	gsize len;
	const uint8_t *b = g_bytes_get_data(state, &len);
	bool ok = machine_vm_load(lm->m, (unsigned)i, b, len, &error);
	g_bytes_unref(state);
	if (!ok)
		return lnl_gerror(L, "m:load_vm", error);
	lnl_reset_history(lm);
	lua_pushinteger(L, (lua_Integer)icount);
	return 1;
}

static void release(struct lnl_machine *lm)
{
	if (!lm->m)
		return;
	if (running == lm->m)
		running = NULL;
	trc_hist_free(lm->h);
	machine_clear_points(lm->m);
	machine_free(lm->m);
	g_strfreev(lm->args);
	*lm = (struct lnl_machine){ 0 };
}

/* m:close() (and __gc, __close): frees the machine now. */
static int m_close(lua_State *L)
{
	release(luaL_checkudata(L, 1, LNL_MACHINE));
	return 0;
}

static int m_tostring(lua_State *L)
{
	struct lnl_machine *lm = luaL_checkudata(L, 1, LNL_MACHINE);
	if (!lm->m)
		lua_pushliteral(L, "nestlab.machine (closed)");
	else
		lua_pushfstring(L, "nestlab.machine (%I instructions)", (lua_Integer)total_icount(lm->m));
	return 1;
}

static const luaL_Reg methods[] = {
	{ "run", m_run },
	{ "step", m_step },
	{ "run_until", m_run_until },
	{ "seek", m_seek },
	{ "read", m_read },
	{ "write", m_write },
	{ "translate", m_translate },
	{ "console", m_console },
	{ "serial", m_serial },
	{ "send", m_send },
	{ "expect", m_expect },
	{ "vga_text", m_vga_text },
	{ "breakpoint", m_breakpoint },
	{ "watchpoint", m_watchpoint },
	{ "on", m_on },
	{ "delete", m_delete },
	{ "state_hash", m_state_hash },
	{ "console_hash", m_console_hash },
	{ "snapshot", m_snapshot },
	{ "monitor_stats", m_monitor_stats },
	{ "vms", m_vms },
	{ "vm", m_vm },
	{ "load_vm", m_load_vm },
	{ "close", m_close },
	{ NULL, NULL },
};

/* The fields: icount, cycles, regs, exit_status, stopped (the last run's
 * end); else the methods. */
static int m_index(lua_State *L)
{
	const char *key = luaL_checkstring(L, 2);
	luaL_checkudata(L, 1, LNL_MACHINE);
	luaL_getmetafield(L, 1, "methods");
	if (lua_getfield(L, -1, key) != LUA_TNIL)
		return 1; /* a method: each checks the machine is open */
	lua_pop(L, 2);
	struct lnl_machine *lm = lnl_check_machine(L, 1);
	struct machine_regs r;
	int status;
	if (!strcmp(key, "icount")) {
		lua_pushinteger(L, (lua_Integer)total_icount(lm->m));
	} else if (!strcmp(key, "cycles")) {
		machine_get_regs(lm->m, &r);
		lua_pushinteger(L, (lua_Integer)r.cycles);
	} else if (!strcmp(key, "regs")) {
		lnl_push_regs(L, 1);
	} else if (!strcmp(key, "exit_status")) {
		if (machine_exit_status(lm->m, &status))
			lua_pushinteger(L, status & 0xff);
		else
			lua_pushnil(L);
	} else if (!strcmp(key, "stopped")) {
		lua_pushstring(L, lnl_stop_name(lm->last));
	} else if (!strcmp(key, "time_ns")) {
		lua_pushinteger(L, (lua_Integer)machine_time_ns(lm->m));
	} else if (!strcmp(key, "com1") || !strcmp(key, "com2")) {
		push_device(L, key[3] - '1');
	} else if (!strcmp(key, "vga")) {
		push_device(L, -1);
	} else if (!strcmp(key, "post_code")) {
		int64_t post = machine_post_code(lm->m);
		if (post >= 0)
			lua_pushinteger(L, (lua_Integer)post);
		else
			lua_pushnil(L);
	} else {
		return luaL_error(L, "a machine has no field or method '%s'", key);
	}
	return 1;
}

static int m_newindex(lua_State *L)
{
	return luaL_error(L, "a machine's fields are read-only (set registers through m.regs)");
}

void lnl_push_machine(lua_State *L, struct machine *m, char **args)
{
	struct lnl_machine *lm = lua_newuserdatauv(L, sizeof *lm, 1);
	*lm = (struct lnl_machine){ .m = m, .args = args, .last = MACHINE_LIMIT };
	lm->h = trc_hist_new(m, TRC_HIST_DEFAULT_BUDGET, TRC_HIST_DEFAULT_INTERVAL);
	lua_newtable(L);
	lua_setiuservalue(L, -2, 1);
	luaL_setmetatable(L, LNL_MACHINE);
}

void lnl_reset_history(struct lnl_machine *lm)
{
	trc_hist_free(lm->h);
	lm->h = trc_hist_new(lm->m, TRC_HIST_DEFAULT_BUDGET, TRC_HIST_DEFAULT_INTERVAL);
}

void lnl_open_machine(lua_State *L)
{
	open_devices(L);
	luaL_newmetatable(L, LNL_MACHINE);
	luaL_newlib(L, methods);
	lua_setfield(L, -2, "methods");
	static const luaL_Reg meta[] = {
		{ "__index", m_index }, { "__newindex", m_newindex }, { "__gc", m_close },
		{ "__close", m_close }, { "__tostring", m_tostring }, { NULL, NULL },
	};
	luaL_setfuncs(L, meta, 0);
	lua_pop(L, 1);
}

/* }====================================================================== */
