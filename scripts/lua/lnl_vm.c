/*
 * lnl_vm.c - the VMs of a machine's monitor (docs/lua.md, "VMs") and the
 * register view m.regs.
 *
 * A VM userdata is an index into its machine's tree and keeps the machine
 * alive (its user value). The engine has L1 VMs today (the machine's
 * own); their fields are read when asked, so a VM object stays current.
 * m.regs reads the registers of the guest the CPU holds as the gdb stub
 * shows them, and a write is a logged input, as the stub's writes are.
 */
#include <lauxlib.h>
#include <lua.h>
#include <string.h>

#include "hist.h"
#include "lnl_int.h"
#include "nestlab.h"
#include "snapfile.h"

/* {====== registers ====== */

/* The registers by name: where they are in struct machine_regs, and the
 * machine_reg a write goes to (-1: read-only, the monitor's business). */
static const struct {
	const char *name;
	size_t off;
	unsigned size;
	int reg;
} regs[] = {
	{ "eax", offsetof(struct machine_regs, eax), 4, MACHINE_REG_EAX },
	{ "ecx", offsetof(struct machine_regs, ecx), 4, MACHINE_REG_ECX },
	{ "edx", offsetof(struct machine_regs, edx), 4, MACHINE_REG_EDX },
	{ "ebx", offsetof(struct machine_regs, ebx), 4, MACHINE_REG_EBX },
	{ "esp", offsetof(struct machine_regs, esp), 4, MACHINE_REG_ESP },
	{ "ebp", offsetof(struct machine_regs, ebp), 4, MACHINE_REG_EBP },
	{ "esi", offsetof(struct machine_regs, esi), 4, MACHINE_REG_ESI },
	{ "edi", offsetof(struct machine_regs, edi), 4, MACHINE_REG_EDI },
	{ "eip", offsetof(struct machine_regs, eip), 4, MACHINE_REG_EIP },
	{ "eflags", offsetof(struct machine_regs, eflags), 4, MACHINE_REG_EFLAGS },
	{ "cs", offsetof(struct machine_regs, cs), 2, -1 },
	{ "ss", offsetof(struct machine_regs, ss), 2, -1 },
	{ "ds", offsetof(struct machine_regs, ds), 2, -1 },
	{ "es", offsetof(struct machine_regs, es), 2, -1 },
	{ "fs", offsetof(struct machine_regs, fs), 2, -1 },
	{ "gs", offsetof(struct machine_regs, gs), 2, -1 },
	{ "cr0", offsetof(struct machine_regs, cr0), 4, -1 },
	{ "cr2", offsetof(struct machine_regs, cr2), 4, -1 },
	{ "cr3", offsetof(struct machine_regs, cr3), 4, -1 },
	{ "cr4", offsetof(struct machine_regs, cr4), 4, -1 },
	{ "cpl", offsetof(struct machine_regs, cpl), 1, -1 },
	{ "icount", offsetof(struct machine_regs, icount), 8, -1 },
	{ "cycles", offsetof(struct machine_regs, cycles), 8, -1 },
};

static lua_Integer reg_value(const struct machine_regs *r, size_t k)
{
	const uint8_t *p = (const uint8_t *)r + regs[k].off;
	switch (regs[k].size) {
	case 1: return *p;
	case 2: return *(const uint16_t *)(const void *)p;
	case 4: return *(const uint32_t *)(const void *)p;
	default: return (lua_Integer)*(const uint64_t *)(const void *)p;
	}
}

static int find_reg(const char *name)
{
	for (size_t k = 0; k < G_N_ELEMENTS(regs); k++)
		if (!strcmp(regs[k].name, name))
			return (int)k;
	return -1;
}

void lnl_push_regs_table(lua_State *L, const struct machine_regs *r)
{
	lua_createtable(L, 0, (int)G_N_ELEMENTS(regs));
	for (size_t k = 0; k < G_N_ELEMENTS(regs); k++) {
		lua_pushinteger(L, reg_value(r, k));
		lua_setfield(L, -2, regs[k].name);
	}
}

/* The machine of a register view (pushed). */
static struct lnl_machine *regs_machine(lua_State *L)
{
	luaL_checkudata(L, 1, LNL_REGS);
	lua_getiuservalue(L, 1, 1);
	struct lnl_machine *lm = lnl_check_machine(L, -1);
	lua_pop(L, 1);
	return lm;
}

static int r_index(lua_State *L)
{
	struct lnl_machine *lm = regs_machine(L);
	const char *name = luaL_checkstring(L, 2);
	int k = find_reg(name);
	if (k < 0)
		return luaL_error(L, "there is no register '%s'", name);
	struct machine_regs r;
	machine_get_guest_regs(lm->m, &r);
	lua_pushinteger(L, reg_value(&r, (size_t)k));
	return 1;
}

/* m.regs.NAME = v: EAX..EDI, EIP, and of EFLAGS the status flags and DF,
 * as the gdb stub allows; logged as an input at this instruction. */
static int r_newindex(lua_State *L)
{
	struct lnl_machine *lm = regs_machine(L);
	const char *name = luaL_checkstring(L, 2);
	int k = find_reg(name);
	if (k < 0)
		return luaL_error(L, "there is no register '%s'", name);
	if (regs[k].reg < 0)
		return luaL_error(L, "register %s is read-only (a monitor's business, as for gdb)",
		                  name);
	int isnum;
	lua_Integer n = lua_tointegerx(L, 3, &isnum);
	if (!isnum || n < 0 || n > 0xffffffffll)
		return luaL_error(L, "register %s takes a value from 0 to 0xffffffff, not %s", name,
		                  luaL_tolstring(L, 3, NULL));
	uint32_t v = (uint32_t)n;
	if (regs[k].reg == MACHINE_REG_EFLAGS) {
		struct machine_regs r;
		machine_get_guest_regs(lm->m, &r);
		if ((r.eflags ^ v) & ~MACHINE_EFLAGS_WRITABLE)
			return luaL_error(L, "of eflags only the status flags and DF may change (mask "
			                  "0xcd5)");
	}
	if (!trc_hist_set_reg(lm->h, (enum machine_reg)regs[k].reg, v))
		return luaL_error(L, "register %s cannot be set now", name);
	return 0;
}

/* pairs(m.regs): name, value, in --trace-cpu's order. */
static int r_next(lua_State *L)
{
	struct lnl_machine *lm = regs_machine(L);
	int k = lua_isnil(L, 2) ? 0 : find_reg(luaL_checkstring(L, 2)) + 1;
	if (k <= 0 && !lua_isnil(L, 2))
		return 0;
	if ((size_t)k >= G_N_ELEMENTS(regs))
		return 0;
	struct machine_regs r;
	machine_get_guest_regs(lm->m, &r);
	lua_pushstring(L, regs[k].name);
	lua_pushinteger(L, reg_value(&r, (size_t)k));
	return 2;
}

static int r_pairs(lua_State *L)
{
	regs_machine(L);
	lua_pushcfunction(L, r_next);
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	return 3;
}

void lnl_push_regs(lua_State *L, int midx)
{
	midx = lua_absindex(L, midx);
	lua_newuserdatauv(L, 1, 1);
	lua_pushvalue(L, midx);
	lua_setiuservalue(L, -2, 1);
	luaL_setmetatable(L, LNL_REGS);
}

/* }====================================================================== */

/* {====== VMs ====== */

struct lnl_vm {
	unsigned i;
};

/* The VM at argument 1, its machine and its info now. */
static struct lnl_machine *check_vm(lua_State *L, unsigned *i, struct machine_vm_info *info)
{
	struct lnl_vm *v = luaL_checkudata(L, 1, LNL_VM);
	lua_getiuservalue(L, 1, 1);
	struct lnl_machine *lm = lnl_check_machine(L, -1);
	lua_pop(L, 1);
	*i = v->i;
	if (!machine_vm_info(lm->m, v->i, info))
		luaL_error(L, "VM %d is no longer in the machine", (int)v->i);
	return lm;
}

/* A VM that is gone cannot act. */
static void check_alive(lua_State *L, const struct machine_vm_info *info, const char *verb)
{
	if (info->state == MACHINE_VM_DESTROYED)
		luaL_error(L, "vm:%s: VM %s was destroyed", verb, info->name);
}

static const char *state_name(enum machine_vm_state s)
{
	static const char *const names[] = { "running", "paused", "stopped", "destroyed" };
	return (unsigned)s < G_N_ELEMENTS(names) ? names[s] : "?";
}

/* vm:pause(), vm:resume(), vm:destroy(): between runs; the others go on. */
static int act(lua_State *L, const char *verb, bool (*fn)(struct machine *, unsigned))
{
	unsigned i;
	struct machine_vm_info info;
	struct lnl_machine *lm = check_vm(L, &i, &info);
	check_alive(L, &info, verb);
	if (!fn(lm->m, i))
		return luaL_error(L, "vm:%s: not possible for VM %s now (it is %s)", verb, info.name,
		                  state_name(info.state));
	return 0;
}

static int v_pause(lua_State *L) { return act(L, "pause", machine_vm_pause); }
static int v_resume(lua_State *L) { return act(L, "resume", machine_vm_resume); }
static int v_destroy(lua_State *L) { return act(L, "destroy", machine_vm_destroy); }

/* vm:save(file): the VM alone, for nestlab-run --vm-load. */
static int v_save(lua_State *L)
{
	unsigned i;
	struct machine_vm_info info;
	struct lnl_machine *lm = check_vm(L, &i, &info);
	const char *path = luaL_checkstring(L, 2);
	check_alive(L, &info, "save");
	GError *error = NULL;
	if (!trc_snap_write_vm(path, lm->m, i, &error)) {
		return lnl_gerror(L, "vm:save", error);
	}
	return 0;
}

/* vm:translate(va): {va=, gpa=, hpa=} (the chain to host memory), or nil. */
static int v_translate(lua_State *L)
{
	unsigned i;
	struct machine_vm_info info;
	struct lnl_machine *lm = check_vm(L, &i, &info);
	uint32_t va = lnl_check_u32(L, 2, "address"), gpa, hpa;
	check_alive(L, &info, "translate");
	if (!machine_vm_translate(lm->m, i, va, &gpa, &hpa))
		return 0;
	lua_createtable(L, 0, 3);
	lua_pushinteger(L, va);
	lua_setfield(L, -2, "va");
	lua_pushinteger(L, gpa);
	lua_setfield(L, -2, "gpa");
	lua_pushinteger(L, hpa);
	lua_setfield(L, -2, "hpa");
	return 1;
}

static int v_state_hash(lua_State *L)
{
	unsigned i;
	struct machine_vm_info info;
	struct lnl_machine *lm = check_vm(L, &i, &info);
	char h[65];
	check_alive(L, &info, "state_hash");
	if (!machine_vm_state_hash(lm->m, i, h))
		return luaL_error(L, "vm:state_hash: not for VM %s now", info.name);
	lua_pushstring(L, h);
	return 1;
}

static int v_console(lua_State *L)
{
	unsigned i;
	struct machine_vm_info info;
	struct lnl_machine *lm = check_vm(L, &i, &info);
	const GByteArray *c = machine_vm_console(lm->m, i);
	lua_pushlstring(L, c ? (const char *)c->data : "", c ? c->len : 0);
	return 1;
}

static const luaL_Reg vm_methods[] = {
	{ "pause", v_pause }, { "resume", v_resume }, { "destroy", v_destroy },
	{ "save", v_save }, { "translate", v_translate }, { "state_hash", v_state_hash },
	{ "console", v_console }, { NULL, NULL },
};

/* Fields: name, level, state, exit_status, exits, icount, mem, regs
 * (a copy, read-only), index; else the methods. */
static int v_index(lua_State *L)
{
	unsigned i;
	struct machine_vm_info info;
	check_vm(L, &i, &info);
	const char *key = luaL_checkstring(L, 2);
	if (!strcmp(key, "name"))
		lua_pushstring(L, info.name);
	else if (!strcmp(key, "index"))
		lua_pushinteger(L, i);
	else if (!strcmp(key, "level"))
		lua_pushinteger(L, info.level);
	else if (!strcmp(key, "state"))
		lua_pushstring(L, state_name(info.state));
	else if (!strcmp(key, "stop"))
		lua_pushstring(L, info.state == MACHINE_VM_STOPPED ? lnl_stop_name(info.stop) : NULL);
	else if (!strcmp(key, "exit_status"))
		info.exit_status >= 0 ? lua_pushinteger(L, info.exit_status) : lua_pushnil(L);
	else if (!strcmp(key, "exits"))
		lua_pushinteger(L, (lua_Integer)info.exits);
	else if (!strcmp(key, "icount"))
		lua_pushinteger(L, (lua_Integer)info.regs.icount);
	else if (!strcmp(key, "mem"))
		lua_pushinteger(L, info.mem_bytes);
	else if (!strcmp(key, "regs"))
		lnl_push_regs_table(L, &info.regs);
	else {
		luaL_getmetafield(L, 1, "methods");
		if (lua_getfield(L, -1, key) == LUA_TNIL)
			return luaL_error(L, "a VM has no field or method '%s'", key);
	}
	return 1;
}

static int v_newindex(lua_State *L)
{
	return luaL_error(L, "a VM's fields are read-only");
}

static int v_tostring(lua_State *L)
{
	unsigned i;
	struct machine_vm_info info;
	check_vm(L, &i, &info);
	lua_pushfstring(L, "nestlab.vm %s (level %d, %s)", info.name, info.level,
	                state_name(info.state));
	return 1;
}

void lnl_push_vm(lua_State *L, int midx, unsigned i)
{
	midx = lua_absindex(L, midx);
	struct lnl_vm *v = lua_newuserdatauv(L, sizeof *v, 1);
	v->i = i;
	lua_pushvalue(L, midx);
	lua_setiuservalue(L, -2, 1);
	luaL_setmetatable(L, LNL_VM);
}

void lnl_open_vm(lua_State *L)
{
	luaL_newmetatable(L, LNL_VM);
	luaL_newlib(L, vm_methods);
	lua_setfield(L, -2, "methods");
	static const luaL_Reg meta[] = {
		{ "__index", v_index }, { "__newindex", v_newindex }, { "__tostring", v_tostring },
		{ NULL, NULL },
	};
	luaL_setfuncs(L, meta, 0);
	lua_pop(L, 1);
	luaL_newmetatable(L, LNL_REGS);
	static const luaL_Reg rmeta[] = {
		{ "__index", r_index }, { "__newindex", r_newindex }, { "__pairs", r_pairs },
		{ NULL, NULL },
	};
	luaL_setfuncs(L, rmeta, 0);
	lua_pop(L, 1);
}

/* }====================================================================== */
