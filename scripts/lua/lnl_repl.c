/*
 * lnl_repl.c - nestlab-run --lua: an interactive prompt on the module,
 * with line editing and history (GNU readline). A line that is an
 * expression prints its values; a statement left open (a function, a
 * loop) reads more lines; an error is printed with its traceback and the
 * prompt goes on, the machines as they were.
 */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "lnl.h"
#include "lnl_int.h"

#define PROMPT "nestlab> "
#define PROMPT_MORE "    ...> "

/* True if the chunk failed only because its end came too soon. */
static bool incomplete(lua_State *L, int status)
{
	if (status != LUA_ERRSYNTAX)
		return false;
	size_t len;
	const char *msg = lua_tolstring(L, -1, &len);
	return len >= 5 && strcmp(msg + len - 5, "<eof>") == 0;
}

/* Compiles `code` as "return CODE" (an expression) or as statements;
 * leaves the chunk or the error message on the stack. */
static int compile(lua_State *L, const char *code)
{
	gchar *ret = g_strconcat("return ", code, ";", NULL);
	int st = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");
	g_free(ret);
	if (st == LUA_OK)
		return st;
	lua_pop(L, 1);
	return luaL_loadbuffer(L, code, strlen(code), "=stdin");
}

/* Prints the values the chunk left above `base`. */
static void print_results(lua_State *L, int base)
{
	int n = lua_gettop(L) - base;
	for (int i = 1; i <= n; i++) {
		fputs(luaL_tolstring(L, base + i, NULL), stdout);
		fputs(i < n ? "\t" : "\n", stdout);
		lua_pop(L, 1);
	}
	fflush(stdout);
	lua_settop(L, base);
}

int lnl_repl(lua_State *L)
{
	using_history();
	char *line;
	while ((line = readline(PROMPT))) {
		GString *code = g_string_new(line);
		free(line);
		int st;
		while (incomplete(L, st = compile(L, code->str)) && (line = readline(PROMPT_MORE))) {
			lua_pop(L, 1);
			g_string_append_printf(code, "\n%s", line);
			free(line);
		}
		if (code->len)
			add_history(code->str);
		g_string_free(code, TRUE);
		if (st != LUA_OK) {
			fprintf(stderr, "nestlab-run: %s\n", lua_tostring(L, -1));
			lua_pop(L, 1);
			continue;
		}
		int base = lua_gettop(L) - 1;
		if (lnl_call(L, 0, LUA_MULTRET) == LUA_OK)
			print_results(L, base);
	}
	fputc('\n', stdout);
	return 0;
}
