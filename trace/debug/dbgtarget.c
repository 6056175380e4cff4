/*
 * dbgtarget.c - the machine as a gdb target (dbgtarget.h).
 */
#include "dbgtarget.h"

#include <string.h>

#define RUN_CHUNK 200000u /* instructions between looks at the connection */

struct trc_dbg {
	struct machine *m;
	struct trc_hist *hist; /* NULL: no history */
	struct trc_gdb *stub;  /* during a resume */
	bool ended;
	enum machine_stop end;
	volatile int interrupted;
	unsigned selected;     /* the CPU gdb selected (Hg); a stop selects the one it was on */
};

static uint64_t icount(const struct trc_dbg *d)
{
	struct machine_regs r;
	machine_get_regs(d->m, &r);
	return r.icount;
}

/* {====== registers and memory ====== */

static void get_regs(void *opaque, struct trc_gdb_regs *out)
{
	struct trc_dbg *d = opaque;
	struct machine_regs r;
	machine_get_guest_regs(d->m, &r);
	const uint32_t v[TRC_GDB_NREGS] = {
		r.eax, r.ecx, r.edx, r.ebx, r.esp, r.ebp, r.esi, r.edi, r.eip, r.eflags,
		r.cs, r.ss, r.ds, r.es, r.fs, r.gs, r.cr0, r.cr2, r.cr3, r.cr4,
	};
	memcpy(out->r, v, sizeof v);
}

static bool read_mem(void *opaque, uint32_t addr, void *buf, size_t len, bool phys)
{
	struct trc_dbg *d = opaque;
	if (phys) {
		machine_phys_read(d->m, addr, buf, len);
		return true;
	}
	return machine_read_virt(d->m, addr, buf, len);
}

/* The CPU gdb selected is the one whose turn it is: the one a logged
 * write applies to when the history replays it (several CPUs: writes to
 * another CPU's registers, or through its page tables, are not yet). */
static bool on_running_cpu(struct trc_dbg *d)
{
	return d->selected == machine_current_cpu(d->m);
}

/* A debugger's write goes through the history, which logs it as an
 * input (trc_hist_set_reg): replays apply it again at the same count. */
static bool set_reg(void *opaque, enum trc_gdb_reg reg, uint32_t v)
{
	struct trc_dbg *d = opaque;
	if (reg > TRC_GDB_EFLAGS)
		return false; /* segments and control registers: the monitor's business */
	if (reg == TRC_GDB_EFLAGS) {
		struct machine_regs r;
		machine_get_guest_regs(d->m, &r);
		if ((r.eflags ^ v) & ~MACHINE_EFLAGS_WRITABLE)
			return false; /* only the status flags and DF */
	}
	if (!on_running_cpu(d))
		return false; /* a write is logged for the CPU whose turn it is */
	enum machine_reg mr = (enum machine_reg)reg; /* same order */
	return d->hist ? trc_hist_set_reg(d->hist, mr, v) : machine_set_reg(d->m, mr, v);
}

static bool write_mem(void *opaque, uint32_t addr, const void *buf, size_t len, bool phys)
{
	struct trc_dbg *d = opaque;
	if (!phys && !on_running_cpu(d))
		return false;
	if (d->hist)
		return trc_hist_write_mem(d->hist, addr, buf, len, phys);
	if (phys) {
		machine_phys_write(d->m, addr, buf, len);
		return true;
	}
	return machine_write_virt(d->m, addr, buf, len);
}

/* }====================================================================== */

/* {====== points ====== */

static bool point_kind(enum trc_gdb_point p, enum machine_point_kind *k, uint32_t *len)
{
	switch (p) {
	case TRC_GDB_SW_BREAK:
	case TRC_GDB_HW_BREAK:
		*k = MACHINE_POINT_EXEC;
		*len = 1;
		return true;
	case TRC_GDB_WATCH_WRITE:
		*k = MACHINE_POINT_WRITE;
		return true;
	case TRC_GDB_WATCH_READ:
		*k = MACHINE_POINT_READ;
		return true;
	case TRC_GDB_WATCH_ACCESS:
		*k = MACHINE_POINT_ACCESS;
		return true;
	}
	return false;
}

static bool insert_point(void *opaque, enum trc_gdb_point p, uint32_t addr, uint32_t len)
{
	struct trc_dbg *d = opaque;
	enum machine_point_kind k;
	return point_kind(p, &k, &len) && machine_add_point(d->m, k, addr, len) >= 0;
}

static bool remove_point(void *opaque, enum trc_gdb_point p, uint32_t addr, uint32_t len)
{
	struct trc_dbg *d = opaque;
	enum machine_point_kind k;
	return point_kind(p, &k, &len) && machine_remove_point(d->m, k, addr, len);
}

/* The stop gdb is told about for a MACHINE_BREAK. */
static void hit_stop(struct trc_dbg *d, struct trc_gdb_stop *stop)
{
	enum machine_point_kind k;
	uint32_t addr;
	if (machine_last_hit(d->m, &k, &addr) < 0) {
		*stop = (struct trc_gdb_stop){ .kind = TRC_GDB_STOP_SIGNAL, .signal = TRC_GDB_SIGTRAP };
		return;
	}
	static const enum trc_gdb_point watch[] = {
		[MACHINE_POINT_WRITE] = TRC_GDB_WATCH_WRITE, [MACHINE_POINT_READ] = TRC_GDB_WATCH_READ,
		[MACHINE_POINT_ACCESS] = TRC_GDB_WATCH_ACCESS,
	};
	if (k == MACHINE_POINT_EXEC)
		*stop = (struct trc_gdb_stop){ .kind = TRC_GDB_STOP_SW_BREAK };
	else
		*stop = (struct trc_gdb_stop){ .kind = TRC_GDB_STOP_WATCH, .watch = watch[k],
		                               .data_addr = addr };
}

/* }====================================================================== */

/* {====== running ====== */

static bool ended(struct trc_dbg *d, enum machine_stop st, struct trc_gdb_stop *stop)
{
	if (st == MACHINE_LIMIT || st == MACHINE_BREAK || st == MACHINE_STOPPED)
		return false;
	d->ended = true;
	d->end = st;
	int status = 0;
	if (st == MACHINE_EXIT)
		machine_exit_status(d->m, &status);
	*stop = (struct trc_gdb_stop){ .kind = TRC_GDB_STOP_EXITED, .status = (unsigned)status & 0xff };
	return true;
}

/* Runs at most n instructions forward, with history when there is some. */
static enum machine_stop forward(struct trc_dbg *d, uint64_t n)
{
	return d->hist ? trc_hist_run(d->hist, n) : machine_run(d->m, n);
}

static void step(struct trc_dbg *d, struct trc_gdb_stop *stop)
{
	enum machine_stop st = machine_step(d->m);
	if (d->hist)
		trc_hist_tick(d->hist);
	if (ended(d, st, stop))
		return;
	if (st == MACHINE_BREAK) {
		enum machine_point_kind k;
		uint32_t a;
		if (machine_last_hit(d->m, &k, &a) >= 0 && k != MACHINE_POINT_EXEC) {
			hit_stop(d, stop);
			return;
		}
	}
	*stop = (struct trc_gdb_stop){ .kind = TRC_GDB_STOP_SIGNAL, .signal = TRC_GDB_SIGTRAP };
}

static void cont(struct trc_dbg *d, struct trc_gdb_stop *stop)
{
	/* The first instruction runs even under a breakpoint (gdb's rule). */
	step(d, stop);
	if (stop->kind != TRC_GDB_STOP_SIGNAL)
		return;
	for (;;) {
		if (d->stub && trc_gdb_poll_interrupt(d->stub)) {
			*stop = (struct trc_gdb_stop){ .kind = TRC_GDB_STOP_INTERRUPT,
			                               .signal = TRC_GDB_SIGINT };
			return;
		}
		enum machine_stop st = forward(d, RUN_CHUNK);
		if (ended(d, st, stop))
			return;
		if (st == MACHINE_BREAK) {
			hit_stop(d, stop);
			return;
		}
	}
}

static void reverse_step(struct trc_dbg *d, struct trc_gdb_stop *stop)
{
	uint64_t now = icount(d);
	if (!d->hist || now <= trc_hist_start(d->hist)) {
		*stop = (struct trc_gdb_stop){ .kind = TRC_GDB_STOP_HISTORY_BEGIN };
		return;
	}
	GError *error = NULL;
	bool ok = trc_hist_seek(d->hist, now - 1, &d->interrupted, &error);
	if (!ok) {
		g_error_free(error);
		*stop = (struct trc_gdb_stop){ .kind = TRC_GDB_STOP_INTERRUPT, .signal = TRC_GDB_SIGINT };
		return;
	}
	d->ended = false;
	*stop = (struct trc_gdb_stop){ .kind = TRC_GDB_STOP_SIGNAL, .signal = TRC_GDB_SIGTRAP };
}

/*
 * Replays [from, to) with the points set and counts the hits before `to`:
 * returns how many, and the stop of the last.
 */
static unsigned count_hits(struct trc_dbg *d, uint64_t from, uint64_t to, struct trc_gdb_stop *last,
                           bool *interrupted)
{
	unsigned hits = 0;
	bool ok = trc_hist_seek(d->hist, from, NULL, NULL);
	if (!ok)
		return 0;
	for (;;) {
		uint64_t ic = icount(d);
		if (ic >= to)
			break;
		/* A long window: the user may stop the search (Ctrl-C in gdb). */
		if (d->stub && trc_gdb_poll_interrupt(d->stub)) {
			*interrupted = true;
			return hits;
		}
		enum machine_stop st = trc_hist_run(d->hist, MIN(to - ic, RUN_CHUNK));
		if (st == MACHINE_BREAK && icount(d) < to) {
			hits++;
			hit_stop(d, last);
			continue;
		}
		if (st != MACHINE_LIMIT && st != MACHINE_BREAK)
			break;
	}
	return hits;
}

static void reverse_continue(struct trc_dbg *d, struct trc_gdb_stop *stop)
{
	uint64_t now = icount(d);
	if (!d->hist) {
		*stop = (struct trc_gdb_stop){ .kind = TRC_GDB_STOP_HISTORY_BEGIN };
		return;
	}
	uint64_t start = trc_hist_start(d->hist), to = now;
	/* Windows of growing size back from now: the newest hit is found
	 * without replaying all of history. */
	uint64_t span = 1000000;
	while (to > start) {
		if (d->stub && trc_gdb_poll_interrupt(d->stub)) {
			*stop = (struct trc_gdb_stop){ .kind = TRC_GDB_STOP_INTERRUPT,
			                               .signal = TRC_GDB_SIGINT };
			return;
		}
		uint64_t from = to - start > span ? to - span : start;
		struct trc_gdb_stop last;
		bool cut = false;
		unsigned n = count_hits(d, from, to, &last, &cut);
		if (cut) {
			/* Stopped where the search was, in the past. */
			d->ended = false;
			*stop = (struct trc_gdb_stop){ .kind = TRC_GDB_STOP_INTERRUPT,
			                               .signal = TRC_GDB_SIGINT };
			return;
		}
		if (n) {
			/* Replay to the n-th hit: the very state it stopped in. */
			trc_hist_seek(d->hist, from, NULL, NULL);
			for (unsigned i = 0; i < n;) {
				enum machine_stop st = trc_hist_run(d->hist, to - icount(d));
				if (st == MACHINE_BREAK)
					i++;
				else if (st != MACHINE_LIMIT)
					break;
			}
			*stop = last;
			d->ended = false;
			return;
		}
		to = from;
		span *= 4;
	}
	trc_hist_seek(d->hist, start, NULL, NULL);
	d->ended = false;
	*stop = (struct trc_gdb_stop){ .kind = TRC_GDB_STOP_HISTORY_BEGIN };
}

static void resume_with(struct trc_dbg *d, struct trc_gdb *stub, enum trc_gdb_resume how,
                        struct trc_gdb_stop *stop);

void trc_dbg_resume(struct trc_dbg *d, enum trc_gdb_resume how, struct trc_gdb_stop *stop)
{
	resume_with(d, NULL, how, stop);
}

static void resume(void *opaque, struct trc_gdb *stub, enum trc_gdb_resume how,
                   struct trc_gdb_stop *stop)
{
	resume_with(opaque, stub, how, stop);
}

static void resume_with(struct trc_dbg *d, struct trc_gdb *stub, enum trc_gdb_resume how,
                        struct trc_gdb_stop *stop)
{
	d->stub = stub;
	d->interrupted = 0;
	machine_select_cpu(d->m, machine_current_cpu(d->m));
	switch (how) {
	case TRC_GDB_STEP:
		step(d, stop);
		break;
	case TRC_GDB_CONTINUE:
		cont(d, stop);
		break;
	case TRC_GDB_REVERSE_STEP:
		reverse_step(d, stop);
		break;
	case TRC_GDB_REVERSE_CONTINUE:
		reverse_continue(d, stop);
		break;
	}
	d->stub = NULL;
	d->selected = machine_current_cpu(d->m);
	machine_select_cpu(d->m, d->selected);
}

/* }====================================================================== */

static bool monitor(void *opaque, const char *cmd, GString *out)
{
	struct trc_dbg *d = opaque;
	if (strcmp(cmd, "help") == 0) {
		g_string_append(out, "icount -- the instruction count now, and the history's span\n"
		                     "seek N -- go to instruction count N, back through history or "
		                     "forward (then: maintenance flush register-cache)\n");
		return true;
	}
	if (g_str_has_prefix(cmd, "seek ")) {
		char *end;
		guint64 n = g_ascii_strtoull(cmd + 5, &end, 0);
		if (end == cmd + 5 || *end) {
			g_string_append(out, "seek wants an instruction count: monitor seek N\n");
			return true;
		}
		if (!trc_dbg_seek(d, n)) {
			g_string_append_printf(out, "cannot go to instruction %" G_GUINT64_FORMAT ": ", n);
			if (d->hist && n < trc_hist_start(d->hist))
				g_string_append_printf(out, "the history starts at %" G_GUINT64_FORMAT "\n",
				                       trc_hist_start(d->hist));
			else if (!d->hist && n < icount(d))
				g_string_append(out, "there is no history (--no-history)\n");
			else
				g_string_append_printf(out, "the guest ended at %" G_GUINT64_FORMAT "\n", icount(d));
			return true;
		}
		d->ended = false;
		g_string_append_printf(out, "at instruction %" G_GUINT64_FORMAT "; gdb still shows the "
		                       "old registers until: maintenance flush register-cache\n", icount(d));
		return true;
	}
	if (strcmp(cmd, "icount") == 0) {
		g_string_append_printf(out, "icount %" G_GUINT64_FORMAT, icount(d));
		if (d->hist)
			g_string_append_printf(out, ", history %" G_GUINT64_FORMAT " .. %" G_GUINT64_FORMAT,
			                       trc_hist_start(d->hist), trc_hist_end(d->hist));
		g_string_append_c(out, '\n');
		return true;
	}
	return false;
}

static unsigned threads(void *opaque)
{
	struct trc_dbg *d = opaque;
	return machine_cpu_count(d->m);
}

static unsigned stop_thread(void *opaque)
{
	struct trc_dbg *d = opaque;
	return d->selected = machine_current_cpu(d->m);
}

static bool select_thread(void *opaque, unsigned i)
{
	struct trc_dbg *d = opaque;
	if (!machine_select_cpu(d->m, i))
		return false;
	d->selected = i;
	return true;
}

static const struct trc_gdb_target_ops ops = {
	.get_regs = get_regs, .set_reg = set_reg, .read_mem = read_mem, .write_mem = write_mem,
	.insert_point = insert_point, .remove_point = remove_point,
	.resume = resume, .monitor = monitor,
	.threads = threads, .stop_thread = stop_thread, .select_thread = select_thread,
};

const struct trc_gdb_target_ops *trc_dbg_ops(void)
{
	return &ops;
}

struct trc_dbg *trc_dbg_new(struct machine *m, bool history, size_t budget)
{
	struct trc_dbg *d = g_new0(struct trc_dbg, 1);
	d->m = m;
	if (history)
		d->hist = trc_hist_new(m, budget, 0);
	return d;
}

void trc_dbg_free(struct trc_dbg *d)
{
	if (!d)
		return;
	trc_hist_free(d->hist);
	g_free(d);
}

bool trc_dbg_seek(struct trc_dbg *d, uint64_t target)
{
	while (icount(d) < target) {
		enum machine_stop st = forward(d, target - icount(d));
		if (st != MACHINE_LIMIT && st != MACHINE_BREAK)
			return icount(d) >= target;
	}
	if (icount(d) == target)
		return true;
	return d->hist && trc_hist_seek(d->hist, target, NULL, NULL);
}

bool trc_dbg_ended(const struct trc_dbg *d, enum machine_stop *st)
{
	*st = d->end;
	return d->ended;
}
