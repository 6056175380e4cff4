/*
 * lnl.h - the Lua 5.4 module `nestlab` (docs/lua.md) and the script modes
 * of nestlab-run that use it (--script, --eval, --lua).
 *
 * A Lua state gets the standard libraries and the module, as the global
 * `nestlab` and as require("nestlab"); nothing else is global. Machines,
 * their VMs and register views are full userdata with metatables. Errors
 * are Lua errors whose message starts with the script's file and line;
 * the script modes print them with a traceback.
 *
 * nestlab.machine{} reads its options with nestlab-run's own option
 * checks (run_parse_options in scripts/run-options.c), which the program
 * linking this library provides: the same options, the same messages.
 *
 * Determinism: everything a script does to a machine goes through the
 * machine's history (trace/hist): register and memory writes are logged
 * inputs stamped with the instruction count, serial input goes through
 * the machine's input log, and math.random starts from a fixed seed, so a
 * script drives the same run every time.
 */
#ifndef NESTLAB_LNL_H
#define NESTLAB_LNL_H

#include <lua.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The exit status of a script that raised an error (docs/nestlab-run.md). */
#define LNL_EXIT_SCRIPT_ERROR 92

/* Opens the module: pushes its table (for luaL_requiref). */
int luaopen_nestlab(lua_State *L);

/* What a script may do and use. */
struct lnl_limits {
	bool allow_host;   /* os.execute, os.exit and io.popen (else they raise an error) */
	uint64_t insns;    /* Lua instructions in all (0: no limit), counted in thousands */
	size_t mem_bytes;  /* the Lua heap's size at most (0: no limit) */
};

/* A new Lua state with the standard libraries and the module, within
 * `limits`: past them the script gets an error ("not enough memory", or
 * one naming --script-limit). Aborts only when the host is out of memory
 * for the state itself. Close with lua_close. */
lua_State *lnl_new_state(const struct lnl_limits *limits);

/*
 * Runs the script FILE ("-": standard input) with `arg` set to
 * { [0] = FILE, args[0], ... } and the same strings as the chunk's `...`.
 * Returns the exit status: the integer the script returns, 0 if it returns
 * anything else, or LNL_EXIT_SCRIPT_ERROR after printing the error with
 * its traceback on stderr.
 */
int lnl_run_file(lua_State *L, const char *file, char **args, int nargs);

/* As lnl_run_file, for the code of --eval (its chunk name is "=(eval)"). */
int lnl_run_string(lua_State *L, const char *code, char **args, int nargs);

/* The interactive prompt of --lua: reads lines with line editing and
 * history (readline), runs each as a statement or prints the values of an
 * expression, and keeps going after an error. Returns 0 at end of input. */
int lnl_repl(lua_State *L);

#endif
