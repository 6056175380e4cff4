/*
 * lnl.c - the module `nestlab` (its functions: machine, restore, replay)
 * and the script modes of nestlab-run (lnl.h). See docs/lua.md.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lnl.h"
#include "lnl_int.h"
#include "nestlab-config.h"
#include "nestlab.h"
#include "run.h"
#include "snapfile.h"

/* {====== machines from options, snapshots and recordings ====== */

int lnl_gerror(lua_State *L, const char *who, GError *error)
{
	lua_pushstring(L, error->message);
	g_error_free(error);
	return luaL_error(L, "%s: %s", who, lua_tostring(L, -1));
}

/* Appends to the array at the top the arguments of option `key` = the
 * value at the top (popped): --key=VALUE for a string or a number, --key
 * for true, nothing for false, one each for a list; KERNEL as itself. */
static void push_option(lua_State *L, const char *key)
{
	int list = lua_gettop(L) - 1;
	int n = (int)luaL_len(L, list);
	gchar *name = g_strdelimit(g_strdup(key), "_", '-');
	lua_pushfstring(L, "--%s", name);
	g_free(name);
	int value = lua_gettop(L) - 1, flag = lua_gettop(L);
	int items = lua_type(L, value) == LUA_TTABLE ? (int)luaL_len(L, value) : 1;
	for (int k = 1; k <= items; k++) {
		if (lua_type(L, value) == LUA_TTABLE)
			lua_geti(L, value, k);
		else
			lua_pushvalue(L, value);
		int t = lua_type(L, -1);
		if (t == LUA_TBOOLEAN) {
			if (lua_toboolean(L, -1)) {
				lua_pushvalue(L, flag);
				lua_rawseti(L, list, ++n);
			}
		} else if (t == LUA_TSTRING || t == LUA_TNUMBER) {
			if (!strcmp(key, "kernel"))
				lua_pushfstring(L, "%s", lua_tostring(L, -1));
			else
				lua_pushfstring(L, "%s=%s", lua_tostring(L, flag), lua_tostring(L, -1));
			lua_rawseti(L, list, ++n);
		} else {
			luaL_error(L, "nestlab.machine: option %s must be a string, a number, a boolean or "
			           "a list of them, not a %s", key, luaL_typename(L, -1));
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 2);
}

static int compare_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The options of table `idx` as nestlab-run arguments, pushed as an array
 * (in the order of their names, so the same table gives the same run). */
static void options_to_args(lua_State *L, int idx)
{
	GPtrArray *keys = g_ptr_array_new();
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING) {
			g_ptr_array_free(keys, TRUE);
			luaL_error(L, "nestlab.machine: option names are strings, not %s",
			           luaL_typename(L, -1));
		}
		g_ptr_array_add(keys, (gpointer)lua_tostring(L, -1));
	}
	qsort(keys->pdata, keys->len, sizeof(gpointer), compare_keys);
	lua_newtable(L);
	for (guint i = 0; i < keys->len; i++) {
		lua_getfield(L, idx, keys->pdata[i]);
		push_option(L, keys->pdata[i]);
	}
	g_ptr_array_free(keys, TRUE);
}

/* Builds a machine from arguments (args[0] the caller's name) as
 * nestlab-run does, and pushes it; on an error raises it after `who`. The
 * arguments become the machine's (its snapshots'). */
static struct lnl_machine *build(lua_State *L, const char *who, char **args,
                                 enum run_scope scope)
{
	uint16_t post = 0;
	struct run_msg msg = { NULL };
	/* GOption takes out of argv what it parses; the strings stay with the
	 * options (KERNEL is one of them). */
	char **argv = g_strdupv(args);
	for (char **a = argv; *a; a++)
		keep(*a);
	int code = run_parse_options((int)g_strv_length(argv), argv, scope, &post, &msg);
	g_free(argv);
	if (code) {
		g_strfreev(args);
		lua_pushstring(L, msg.text ? msg.text : "bad options");
		g_free(msg.text);
		luaL_error(L, "%s: %s", who, lua_tostring(L, -1));
	}
	GError *error = NULL;
	struct machine *m = run_new_machine(post, &error);
	if (!m) {
		g_strfreev(args);
		lnl_gerror(L, who, error);
	}
	machine_tree_stats_enable(m); /* m:monitor_stats() has each level's exits, as --stats */
	char **own = g_strdupv(args + 1);
	g_strfreev(args);
	lnl_push_machine(L, m, own);
	return luaL_checkudata(L, -1, LNL_MACHINE);
}

/* nestlab.machine{kernel=..., disk=..., mem=..., ...}: the options of
 * nestlab-run that describe a machine (docs/lua.md). */
static int l_machine(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	options_to_args(L, 1);
	int n = (int)luaL_len(L, -1);
	char **args = g_new0(char *, (size_t)n + 2);
	args[0] = g_strdup("nestlab.machine");
	for (int i = 1; i <= n; i++) {
		lua_geti(L, -1, i);
		args[i] = g_strdup(lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	build(L, "nestlab.machine", args, RUN_SCOPE_MACHINE);
	return 1;
}

/* The saved arguments behind `who`, as build() takes them. */
static char **with_name(const char *who, char **saved)
{
	guint n = g_strv_length(saved);
	char **args = g_new0(char *, n + 2);
	args[0] = g_strdup(who);
	memcpy(args + 1, saved, n * sizeof *saved);
	g_free(saved); /* the strings moved */
	return args;
}

/* Loads `state` into the machine at the top, or raises an error. */
static void load_state(lua_State *L, struct lnl_machine *lm, GBytes *state, const char *who)
{
	gsize len;
	const uint8_t *b = g_bytes_get_data(state, &len);
	GError *error = NULL;
	bool ok = machine_restore(lm->m, b, len, &error);
	g_bytes_unref(state);
	if (!ok) {
		lnl_gerror(L, who, error);
	}
	lnl_reset_history(lm);
}

/* nestlab.restore(file): the machine a snapshot holds (m:snapshot's, or
 * nestlab-run --snapshot-at's), continuing from there. */
static int l_restore(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	char **saved;
	GBytes *state;
	uint64_t icount;
	GError *error = NULL;
	if (!trc_snap_read(path, &saved, &state, &icount, &error)) {
		return lnl_gerror(L, "nestlab.restore", error);
	}
	struct lnl_machine *lm = build(L, "nestlab.restore", with_name("nestlab.restore", saved),
	                               RUN_SCOPE_ALL);
	load_state(L, lm, state, "nestlab.restore");
	return 1;
}

/* nestlab.replay(file): the machine of a recording (nestlab-run
 * --record's) at its start, with the recording's input queued at its
 * moments; run it to replay. */
static int l_replay(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	char **saved;
	GBytes *state;
	uint64_t icount;
	GError *error = NULL;
	struct trc_rec_reader *r = trc_rec_open(path, &saved, &state, &icount, &error);
	if (!r) {
		return lnl_gerror(L, "nestlab.replay", error);
	}
	struct lnl_machine *lm = build(L, "nestlab.replay", with_name("nestlab.replay", saved),
	                               RUN_SCOPE_ALL);
	load_state(L, lm, state, "nestlab.replay");
	for (size_t i = 0; i < trc_rec_inputs(r); i++) {
		struct machine_input_event ev;
		GBytes *data = NULL;
		bool ok = trc_rec_input_at(r, i, &ev, &data, &error) &&
		          machine_replay_input(lm->m, &ev, &error);
		if (data)
			g_bytes_unref(data);
		if (!ok) {
			trc_rec_close(r);
			return lnl_gerror(L, "nestlab.replay", error);
		}
	}
	trc_rec_close(r);
	return 1;
}

int luaopen_nestlab(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "machine", l_machine }, { "restore", l_restore }, { "replay", l_replay },
		{ NULL, NULL },
	};
	lnl_open_machine(L);
	lnl_open_vm(L);
	luaL_newlib(L, fns);
	lua_pushliteral(L, NESTLAB_VERSION);
	lua_setfield(L, -2, "version");
	return 1;
}

/* }====================================================================== */

/* {====== the script modes ====== */

/* What a script may not do without --allow-host: the function raises
 * an error naming itself. */
static int refused(lua_State *L)
{
	return luaL_error(L, "%s is not allowed in a script: it reaches the host (give nestlab-run "
	                  "--allow-host before --script to allow it)",
	                  lua_tostring(L, lua_upvalueindex(1)));
}

/* Replaces lib.name (lib a global table) with `refused`. */
static void refuse(lua_State *L, const char *lib, const char *name)
{
	lua_getglobal(L, lib);
	lua_pushfstring(L, "%s.%s", lib, name);
	lua_pushcclosure(L, refused, 1);
	lua_setfield(L, -2, name);
	lua_pop(L, 1);
}

/* The limits of the state in use (one at a time), and what it has used. */
static struct lnl_limits limits;
static size_t heap_used;
static uint64_t insns_run;

#define HOOK_EVERY 1000 /* Lua instructions between two counts */

/* The allocator: Lua's own, with the heap bounded by limits.mem_bytes. */
static void *bounded_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	size_t old = ptr ? osize : 0;
	if (nsize == 0) {
		free(ptr);
		heap_used -= old;
		return NULL;
	}
	if (limits.mem_bytes && nsize > old && heap_used - old + nsize > limits.mem_bytes)
		return NULL; /* Lua raises "not enough memory" */
	void *p = realloc(ptr, nsize);
	if (p)
		heap_used = heap_used - old + nsize;
	return p;
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
	insns_run += HOOK_EVERY;
	if (limits.insns && insns_run > limits.insns) {
		luaL_where(L, 0); /* the function the hook interrupts */
		lua_pushfstring(L, "the script ran past its limit of %I Lua instructions (--script-limit)",
		                (lua_Integer)limits.insns);
		lua_concat(L, 2);
		lua_error(L);
	}
}

static int panic(lua_State *L)
{
	fprintf(stderr, "nestlab-run: Lua error outside a script: %s\n", lua_tostring(L, -1));
	return 0; /* Lua aborts */
}

lua_State *lnl_new_state(const struct lnl_limits *lim)
{
	limits = *lim;
	heap_used = 0;
	insns_run = 0;
	lua_State *L = lua_newstate(bounded_alloc, NULL);
	if (!L) {
		fprintf(stderr, "nestlab-run: out of memory for a Lua state\n");
		abort();
	}
	lua_atpanic(L, panic);
	luaL_openlibs(L);
	luaL_requiref(L, "nestlab", luaopen_nestlab, 1);
	lua_pop(L, 1);
	/* The same numbers in every run: math.random must not bring the
	 * host's randomness into what a script does to a guest. */
	lua_getglobal(L, "math");
	lua_getfield(L, -1, "randomseed");
	lua_pushinteger(L, 0);
	lua_call(L, 1, 0);
	lua_pop(L, 1);
	if (limits.insns)
		lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
	if (!limits.allow_host) {
		refuse(L, "os", "execute");
		refuse(L, "os", "exit");
		refuse(L, "io", "popen");
	}
	return L;
}

/* The message handler: the error with a traceback. */
static int traceback(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);
	if (!msg) {
		if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
			return 1;
		msg = lua_pushfstring(L, "(an error object that is a %s value)", luaL_typename(L, 1));
	}
	luaL_traceback(L, L, msg, 1);
	return 1;
}

int lnl_call(lua_State *L, int nargs, int nres)
{
	int base = lua_gettop(L) - nargs;
	lua_pushcfunction(L, traceback);
	lua_insert(L, base);
	int status = lua_pcall(L, nargs, nres, base);
	lua_remove(L, base);
	if (status == LUA_ERRMEM)
		fprintf(stderr, "nestlab-run: the script ran out of memory (--script-mem %zu MiB)\n",
		        limits.mem_bytes >> 20);
	else if (status != LUA_OK)
		fprintf(stderr, "nestlab-run: %s\n", lua_tostring(L, -1));
	if (status != LUA_OK)
		lua_pop(L, 1);
	return status;
}

/* Sets `arg` and runs the chunk at the top with args as its `...`. */
static int run_chunk(lua_State *L, const char *name, char **args, int nargs)
{
	lua_createtable(L, nargs, 1);
	lua_pushstring(L, name);
	lua_rawseti(L, -2, 0);
	for (int i = 0; i < nargs; i++) {
		lua_pushstring(L, args[i]);
		lua_rawseti(L, -2, i + 1);
	}
	lua_setglobal(L, "arg");
	for (int i = 0; i < nargs; i++)
		lua_pushstring(L, args[i]);
	if (lnl_call(L, nargs, 1) != LUA_OK)
		return LNL_EXIT_SCRIPT_ERROR;
	int ok;
	lua_Integer code = lua_tointegerx(L, -1, &ok);
	lua_pop(L, 1);
	return ok ? (int)(code & 0xff) : 0;
}

int lnl_run_file(lua_State *L, const char *file, char **args, int nargs)
{
	int st = luaL_loadfile(L, strcmp(file, "-") ? file : NULL);
	if (st != LUA_OK) {
		fprintf(stderr, "nestlab-run: %s\n", lua_tostring(L, -1));
		lua_pop(L, 1);
		return st == LUA_ERRFILE ? EXIT_NOINPUT : LNL_EXIT_SCRIPT_ERROR;
	}
	return run_chunk(L, file, args, nargs);
}

int lnl_run_string(lua_State *L, const char *code, char **args, int nargs)
{
	if (luaL_loadbuffer(L, code, strlen(code), "=(eval)") != LUA_OK) {
		fprintf(stderr, "nestlab-run: %s\n", lua_tostring(L, -1));
		lua_pop(L, 1);
		return LNL_EXIT_SCRIPT_ERROR;
	}
	return run_chunk(L, "(eval)", args, nargs);
}

/* }====================================================================== */
