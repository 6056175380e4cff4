/*
 * run-script.c - nestlab-run's script modes: --script FILE [ARGS],
 * --eval CODE [ARGS] and --lua, on the Lua module of scripts/lua
 * (docs/lua.md). They come first on the command line (after
 * --allow-host, which gives the script os.execute, os.exit and io.popen),
 * so that everything after the script is the script's own; the machines
 * a script builds get their options from nestlab.machine{...}.
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "lnl.h"
#include "run.h"

G_STATIC_ASSERT(EXIT_SCRIPT_ERROR == LNL_EXIT_SCRIPT_ERROR);

/* "--NAME VALUE" or "--NAME=VALUE" at argv[1]: the value, and where the
 * rest begins; NULL if argv[1] is not --NAME. */
static const char *value_of(int argc, char **argv, const char *name, int *rest)
{
	size_t n = strlen(name);
	if (strncmp(argv[1], name, n) != 0)
		return NULL;
	if (argv[1][n] == '=') {
		*rest = 2;
		return argv[1] + n + 1;
	}
	if (argv[1][n] || argc < 3)
		return NULL;
	*rest = 3;
	return argv[2];
}

static int usage(const char *msg)
{
	fprintf(stderr, "nestlab-run: %s\nTry 'nestlab-run --help'.\n", msg);
	return EXIT_USAGE;
}

bool run_script_mode(int argc, char **argv, int *code)
{
	bool allow_host = argc >= 2 && !strcmp(argv[1], "--allow-host");
	if (allow_host) {
		argv++;
		argc--;
	}
	if (argc < 2) {
		if (allow_host)
			*code = usage("--allow-host goes before --script, --eval or --lua");
		return allow_host;
	}
	int rest = argc;
	const char *file = value_of(argc, argv, "--script", &rest);
	const char *eval = file ? NULL : value_of(argc, argv, "--eval", &rest);
	bool lua = !strcmp(argv[1], "--lua");
	if (!file && !eval && !lua && allow_host) {
		*code = usage("--allow-host goes before --script, --eval or --lua");
		return true;
	}
	if (!file && !eval && !lua) {
		if (!strcmp(argv[1], "--script") || !strcmp(argv[1], "--eval")) {
			*code = usage(!strcmp(argv[1], "--script") ? "--script needs a FILE (- for stdin)"
			                                           : "--eval needs CODE");
			return true;
		}
		return false;
	}
	if (lua && argc > 2) {
		*code = usage("--lua takes no arguments (a script's go after --script FILE)");
		return true;
	}
	if ((file && !*file) || (eval && !*eval)) {
		*code = usage(file ? "--script needs a FILE (- for stdin)" : "--eval needs CODE");
		return true;
	}
	lua_State *L = lnl_new_state(allow_host);
	if (file)
		*code = lnl_run_file(L, file, argv + rest, argc - rest);
	else if (eval)
		*code = lnl_run_string(L, eval, argv + rest, argc - rest);
	else
		*code = lnl_repl(L);
	lua_close(L);
	fflush(stdout);
	return true;
}
