/*
 * run-script.c - nestlab-run's script modes: --script FILE [ARGS],
 * --eval CODE [ARGS] and --lua, on the Lua module of scripts/lua
 * (docs/lua.md). They come first on the command line (after the options
 * of what a script may do: --allow-host, --script-limit, --script-mem), so
 * that everything after the script is the script's own; the machines a
 * script builds get their options from nestlab.machine{...}.
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

#define SCRIPT_MEM_DEFAULT_MIB 1024 /* --script-mem's default */

/* The options before the mode (--allow-host, --script-limit N,
 * --script-mem SIZE), taken off argv. Returns how many argv entries they
 * were, or -1 after a usage message. */
static int limit_options(int argc, char **argv, struct lnl_limits *lim)
{
	*lim = (struct lnl_limits){ .mem_bytes = (size_t)SCRIPT_MEM_DEFAULT_MIB << 20 };
	int i = 1;
	while (i < argc) {
		int rest;
		const char *v;
		if (!strcmp(argv[i], "--allow-host")) {
			lim->allow_host = true;
			i++;
		} else if ((v = value_of(argc - i + 1, argv + i - 1, "--script-limit", &rest))) {
			char *end;
			guint64 n = g_ascii_strtoull(v, &end, 10);
			if (!g_ascii_isdigit(*v) || *end || n == 0)
				return usage("--script-limit wants a number of Lua instructions (> 0)"), -1;
			lim->insns = n;
			i += rest - 1;
		} else if ((v = value_of(argc - i + 1, argv + i - 1, "--script-mem", &rest))) {
			uint32_t mib;
			if (!run_parse_size_mib(v, &mib) || mib == 0)
				return usage("--script-mem wants a size such as 64M or 1G"), -1;
			lim->mem_bytes = (size_t)mib << 20;
			i += rest - 1;
		} else {
			break;
		}
	}
	return i - 1;
}

bool run_script_mode(int argc, char **argv, int *code)
{
	struct lnl_limits lim;
	int taken = limit_options(argc, argv, &lim);
	if (taken < 0) {
		*code = EXIT_USAGE;
		return true;
	}
	bool limited = taken > 0;
	argv += taken;
	argc -= taken;
	if (argc < 2) {
		if (limited)
			*code = usage("--allow-host, --script-limit and --script-mem go before --script, "
			              "--eval or --lua");
		return limited;
	}
	int rest = argc;
	const char *file = value_of(argc, argv, "--script", &rest);
	const char *eval = file ? NULL : value_of(argc, argv, "--eval", &rest);
	bool lua = !strcmp(argv[1], "--lua");
	if (!file && !eval && !lua && limited) {
		*code = usage("--allow-host, --script-limit and --script-mem go before --script, "
		              "--eval or --lua");
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
	lua_State *L = lnl_new_state(&lim);
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
