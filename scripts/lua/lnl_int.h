/*
 * lnl_int.h - what the files of the Lua binding share (lnl_ prefix):
 * lnl.c (the module, the script modes), lnl_machine.c (machines),
 * lnl_vm.c (VMs and register views), lnl_repl.c (the prompt).
 */
#ifndef NESTLAB_LNL_INT_H
#define NESTLAB_LNL_INT_H

#include <lauxlib.h>
#include <lua.h>
#include <stdbool.h>
#include <stdint.h>

#include "nestlab.h"

/* Metatable names. */
#define LNL_MACHINE "nestlab.machine"
#define LNL_VM "nestlab.vm"
#define LNL_REGS "nestlab.regs"
#define LNL_SERIAL "nestlab.serial"
#define LNL_VGA "nestlab.vga"

/* A machine's userdata. Its user value is a table: [points] the callbacks
 * of its breakpoints and watchpoints by point id. */
struct lnl_machine {
	struct machine *m;   /* NULL once closed */
	struct trc_hist *h;  /* its history: every run and write goes through it */
	char **args;         /* the nestlab-run arguments that build it (snapshots) */
	size_t expect_from[3]; /* where m:expect looks next in the console log,
	                          m.com1:expect in COM1's output, m.com2:expect in COM2's */
	enum machine_stop last; /* how the last run ended */
};

/* The machine at stack index `idx`; raises an error if it is not one or
 * it was closed. */
struct lnl_machine *lnl_check_machine(lua_State *L, int idx);

/* Pushes a new machine userdata owning m (and args, a NULL-terminated
 * vector it frees), with a history from its state now. */
void lnl_push_machine(lua_State *L, struct machine *m, char **args);

/* Starts the machine's history again from its state now (after a
 * restore). */
void lnl_reset_history(struct lnl_machine *lm);

/* Raises "WHO: the error's message" at the calling script's file and
 * line, and frees the error. */
int lnl_gerror(lua_State *L, const char *who, GError *error);

/* lua_pcall with a traceback: on an error prints it on stderr (after
 * "nestlab-run: ") and returns its status. */
int lnl_call(lua_State *L, int nargs, int nres);

/* Registers the metatables of machines, VMs and register views. */
void lnl_open_machine(lua_State *L);
void lnl_open_vm(lua_State *L);

/* Pushes a VM userdata for VM i of the machine at stack index `midx`. */
void lnl_push_vm(lua_State *L, int midx, unsigned i);

/* Pushes a register view of the machine at `midx` (reads now, writes are
 * logged inputs). */
void lnl_push_regs(lua_State *L, int midx);

/* Pushes the registers r as a plain table (names as in --trace-cpu). */
void lnl_push_regs_table(lua_State *L, const struct machine_regs *r);

/* A 32-bit address or value at argument `arg`, with a clear error. */
uint32_t lnl_check_u32(lua_State *L, int arg, const char *what);

/* The short name of a stop reason, as scripts see it: "exit",
 * "shutdown", "halt", "limit", "stopped", "break". */
const char *lnl_stop_name(enum machine_stop st);

#endif
