/*
 * fake-target.c - the pretend machine of fake-target.h.
 */
#include "fake-target.h"

#include <string.h>

#define MAX_POINTS 64
#define HISTORY_MAX (1u << 18) /* then the oldest half is forgotten */
#define POLL_EVERY 256u        /* instructions between interrupt checks */
#define EXIT_STATUS_MASK 0xffu

struct point {
	bool used;
	enum trc_gdb_point kind;
	uint32_t addr, len;
};

/* One retired instruction: enough to undo it. */
struct record {
	struct trc_gdb_regs regs; /* before it */
	uint32_t waddr;
	uint8_t old[4];
	bool wrote;
};

/* What one instruction did, for watchpoints. */
struct access {
	bool read, wrote, fault, exited;
	uint32_t addr;
};

struct fake_target {
	uint8_t mem[FAKE_MEM_SIZE];
	struct trc_gdb_regs regs;
	struct point points[MAX_POINTS];
	GArray *history; /* struct record, oldest first */
	size_t replay_end;
	unsigned n_cpus, stop_cpu, selected_cpu; /* fake_target_set_cpus */
};

/* {====== memory ====== */

static bool mapped(uint32_t addr, size_t len, bool phys)
{
	uint32_t size = phys ? FAKE_MEM_SIZE : FAKE_VIRT_SIZE;
	return addr < size && len <= size - addr;
}

static bool read_mem(void *opaque, uint32_t addr, void *buf, size_t len, bool phys)
{
	struct fake_target *t = opaque;
	if (!mapped(addr, len, phys))
		return false;
	memcpy(buf, t->mem + addr, len);
	return true;
}

static bool write_mem(void *opaque, uint32_t addr, const void *buf, size_t len, bool phys)
{
	struct fake_target *t = opaque;
	if (!mapped(addr, len, phys))
		return false;
	memcpy(t->mem + addr, buf, len);
	return true;
}

/* {====== registers ====== */

static void get_regs(void *opaque, struct trc_gdb_regs *regs)
{
	struct fake_target *t = opaque;
	*regs = t->regs;
}

static bool set_reg(void *opaque, enum trc_gdb_reg reg, uint32_t value)
{
	struct fake_target *t = opaque;
	if ((unsigned)reg >= TRC_GDB_NREGS)
		return false;
	t->regs.r[reg] = value;
	return true;
}

/* {====== breakpoints and watchpoints ====== */

static bool is_hw(enum trc_gdb_point kind)
{
	return kind != TRC_GDB_SW_BREAK;
}

static struct point *find_point(struct fake_target *t, enum trc_gdb_point kind, uint32_t addr,
	                        uint32_t len)
{
	for (int i = 0; i < MAX_POINTS; i++) {
		struct point *p = &t->points[i];
		if (p->used && p->kind == kind && p->addr == addr && p->len == len)
			return p;
	}
	return NULL;
}

static int hw_in_use(const struct fake_target *t)
{
	int n = 0;
	for (int i = 0; i < MAX_POINTS; i++)
		n += t->points[i].used && is_hw(t->points[i].kind);
	return n;
}

static bool insert_point(void *opaque, enum trc_gdb_point kind, uint32_t addr, uint32_t len)
{
	struct fake_target *t = opaque;
	bool watch = kind >= TRC_GDB_WATCH_WRITE;
	if (watch && len != 1 && len != 2 && len != 4)
		return false;
	if (find_point(t, kind, addr, len))
		return true;
	if (is_hw(kind) && hw_in_use(t) >= FAKE_HW_SLOTS)
		return false;
	for (int i = 0; i < MAX_POINTS; i++) {
		if (!t->points[i].used) {
			t->points[i] = (struct point){true, kind, addr, len};
			return true;
		}
	}
	return false;
}

static bool remove_point(void *opaque, enum trc_gdb_point kind, uint32_t addr, uint32_t len)
{
	struct point *p = find_point(opaque, kind, addr, len);
	if (p)
		p->used = false;
	return true;
}

/* A breakpoint at eip: fills *st and returns true. */
static bool break_at(struct fake_target *t, struct trc_gdb_stop *st)
{
	uint32_t eip = t->regs.r[TRC_GDB_EIP];
	for (int i = 0; i < MAX_POINTS; i++) {
		struct point *p = &t->points[i];
		if (p->used && p->kind <= TRC_GDB_HW_BREAK && p->addr == eip) {
			st->kind = p->kind == TRC_GDB_SW_BREAK ? TRC_GDB_STOP_SW_BREAK
			                                       : TRC_GDB_STOP_HW_BREAK;
			return true;
		}
	}
	return false;
}

/* A watchpoint the access triggers: fills *st and returns true. */
static bool watch_hit(struct fake_target *t, const struct access *a, struct trc_gdb_stop *st)
{
	for (int i = 0; i < MAX_POINTS; i++) {
		struct point *p = &t->points[i];
		if (!p->used || p->kind < TRC_GDB_WATCH_WRITE)
			continue;
		bool kind_ok = p->kind == TRC_GDB_WATCH_ACCESS  ? (a->read || a->wrote)
		               : p->kind == TRC_GDB_WATCH_WRITE ? a->wrote
		                                                : a->read;
		bool overlap =
		        a->addr < (uint64_t)p->addr + p->len && p->addr < (uint64_t)a->addr + 4;
		if (kind_ok && overlap) {
			st->kind = TRC_GDB_STOP_WATCH;
			st->watch = p->kind;
			st->data_addr = a->addr < p->addr ? p->addr : a->addr;
			return true;
		}
	}
	return false;
}

/* {====== the toy CPU ====== */

static void remember(struct fake_target *t, const struct record *rec)
{
	if (t->history->len >= HISTORY_MAX)
		g_array_remove_range(t->history, 0, HISTORY_MAX / 2);
	g_array_append_val(t->history, *rec);
}

/* Execute one instruction forward; *a says what it touched. */
static void exec_one(struct fake_target *t, struct access *a)
{
	uint32_t *r = t->regs.r;
	struct record rec = {.regs = t->regs};
	uint8_t op;
	memset(a, 0, sizeof *a);
	a->addr = r[TRC_GDB_EBX];
	if (!read_mem(t, r[TRC_GDB_EIP], &op, 1, false) ||
	    ((op == FAKE_OP_STORE || op == FAKE_OP_LOAD) && !mapped(a->addr, 4, false))) {
		a->fault = true;
		return;
	}
	if (op == FAKE_OP_EXIT) {
		a->exited = true;
		return;
	}
	if (op == FAKE_OP_STORE) {
		rec.wrote = a->wrote = true;
		rec.waddr = a->addr;
		memcpy(rec.old, t->mem + a->addr, 4);
		for (int i = 0; i < 4; i++)
			t->mem[a->addr + i] = (uint8_t)(r[TRC_GDB_EAX] >> (8 * i));
	} else if (op == FAKE_OP_LOAD) {
		a->read = true;
		memcpy(&r[TRC_GDB_ECX], t->mem + a->addr, 4); /* the host is little-endian too */
	}
	if (op != FAKE_OP_SPIN)
		r[TRC_GDB_EIP]++;
	r[TRC_GDB_EAX]++;
	remember(t, &rec);
}

/* Undo the last recorded instruction; *a says what it had touched. */
static void undo_one(struct fake_target *t, struct access *a)
{
	struct record *rec = &g_array_index(t->history, struct record, t->history->len - 1);
	uint8_t op = t->mem[rec->regs.r[TRC_GDB_EIP]];
	memset(a, 0, sizeof *a);
	a->addr = rec->regs.r[TRC_GDB_EBX];
	a->read = op == FAKE_OP_LOAD;
	a->wrote = rec->wrote;
	if (rec->wrote)
		memcpy(t->mem + rec->waddr, rec->old, 4);
	t->regs = rec->regs;
	g_array_set_size(t->history, t->history->len - 1);
}

/* One step forward; true if it stopped (st filled), false to go on. */
static bool forward(struct fake_target *t, struct trc_gdb_stop *st)
{
	struct access a;
	if (t->replay_end && t->history->len >= t->replay_end) {
		st->kind = TRC_GDB_STOP_HISTORY_END;
		return true;
	}
	exec_one(t, &a);
	if (a.fault) {
		*st = (struct trc_gdb_stop){.kind = TRC_GDB_STOP_SIGNAL, .signal = TRC_GDB_SIGSEGV};
		return true;
	}
	if (a.exited) {
		st->kind = TRC_GDB_STOP_EXITED;
		st->status = t->regs.r[TRC_GDB_EAX] & EXIT_STATUS_MASK;
		return true;
	}
	return watch_hit(t, &a, st) || break_at(t, st);
}

static bool backward(struct fake_target *t, struct trc_gdb_stop *st)
{
	struct access a;
	if (t->history->len == 0) {
		st->kind = TRC_GDB_STOP_HISTORY_BEGIN;
		return true;
	}
	undo_one(t, &a);
	return watch_hit(t, &a, st) || break_at(t, st);
}

static void resume(void *opaque, struct trc_gdb *stub, enum trc_gdb_resume how,
	           struct trc_gdb_stop *st)
{
	struct fake_target *t = opaque;
	bool back = how == TRC_GDB_REVERSE_STEP || how == TRC_GDB_REVERSE_CONTINUE;
	bool once = how == TRC_GDB_STEP || how == TRC_GDB_REVERSE_STEP;
	*st = (struct trc_gdb_stop){.kind = TRC_GDB_STOP_SIGNAL, .signal = TRC_GDB_SIGTRAP};
	for (unsigned n = 1;; n++) {
		if (back ? backward(t, st) : forward(t, st))
			return;
		if (once)
			return;
		if (n % POLL_EVERY == 0 && stub && trc_gdb_poll_interrupt(stub)) {
			st->kind = TRC_GDB_STOP_INTERRUPT;
			return;
		}
	}
}

/* {====== monitor ====== */

static bool monitor(void *opaque, const char *cmd, GString *out)
{
	struct fake_target *t = opaque;
	if (strcmp(cmd, "help") == 0) {
		g_string_append(out, "history                      instructions recorded\n");
		return true;
	}
	if (strcmp(cmd, "history") == 0) {
		g_string_append_printf(out, "%u instructions recorded\n", t->history->len);
		return true;
	}
	return false;
}

/* {====== threads (fake_target_set_cpus) ====== */

static unsigned threads(void *opaque)
{
	struct fake_target *t = opaque;
	return t->n_cpus ? t->n_cpus : 1;
}

static unsigned stop_thread(void *opaque)
{
	struct fake_target *t = opaque;
	return t->selected_cpu = t->stop_cpu;
}

static bool select_thread(void *opaque, unsigned i)
{
	struct fake_target *t = opaque;
	if (i >= threads(t))
		return false;
	t->selected_cpu = i;
	return true;
}

void fake_target_set_cpus(struct fake_target *t, unsigned n, unsigned stop_cpu)
{
	t->n_cpus = n;
	t->stop_cpu = t->selected_cpu = stop_cpu;
}

unsigned fake_target_selected_cpu(const struct fake_target *t)
{
	return t->selected_cpu;
}

/* }====================================================================== */

const struct trc_gdb_target_ops fake_target_ops = {
	.get_regs = get_regs,
	.set_reg = set_reg,
	.read_mem = read_mem,
	.write_mem = write_mem,
	.insert_point = insert_point,
	.remove_point = remove_point,
	.resume = resume,
	.monitor = monitor,
	.threads = threads,
	.stop_thread = stop_thread,
	.select_thread = select_thread,
};

/* {====== life ====== */

static void load_program(struct fake_target *t)
{
	static const uint8_t phys[] = {0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04};
	uint32_t data = FAKE_DATA_VALUE;
	memset(t->mem + FAKE_ENTRY, FAKE_OP_NOP, FAKE_EXIT_AT - FAKE_ENTRY);
	t->mem[FAKE_STORE_AT] = FAKE_OP_STORE;
	t->mem[FAKE_LOAD_AT] = FAKE_OP_LOAD;
	t->mem[FAKE_EXIT_AT] = FAKE_OP_EXIT;
	t->mem[FAKE_SPIN_AT] = FAKE_OP_SPIN;
	memcpy(t->mem + FAKE_DATA, &data, sizeof data);
	memcpy(t->mem + FAKE_PHYS_ONLY, phys, sizeof phys);
}

struct fake_target *fake_target_new(void)
{
	struct fake_target *t = g_new0(struct fake_target, 1);
	uint32_t *r = t->regs.r;
	t->history = g_array_new(FALSE, FALSE, sizeof(struct record));
	load_program(t);
	r[TRC_GDB_EIP] = FAKE_ENTRY;
	r[TRC_GDB_EBX] = FAKE_DATA;
	r[TRC_GDB_ESP] = FAKE_STACK;
	r[TRC_GDB_EFLAGS] = 0x2; /* bit 1 always reads 1 */
	r[TRC_GDB_CS] = 0x08;
	r[TRC_GDB_SS] = r[TRC_GDB_DS] = r[TRC_GDB_ES] = r[TRC_GDB_FS] = r[TRC_GDB_GS] = 0x10;
	r[TRC_GDB_CR0] = FAKE_CR0;
	r[TRC_GDB_CR3] = FAKE_CR3;
	return t;
}

void fake_target_free(struct fake_target *t)
{
	if (!t)
		return;
	g_array_free(t->history, TRUE);
	g_free(t);
}

void fake_target_set_replay_end(struct fake_target *t, size_t insns)
{
	t->replay_end = insns;
}

size_t fake_target_history(const struct fake_target *t)
{
	return t->history->len;
}

unsigned fake_target_points(const struct fake_target *t)
{
	unsigned n = 0;
	for (int i = 0; i < MAX_POINTS; i++)
		n += t->points[i].used;
	return n;
}

struct trc_gdb_regs *fake_target_regs(struct fake_target *t)
{
	return &t->regs;
}

uint8_t *fake_target_mem(struct fake_target *t)
{
	return t->mem;
}
