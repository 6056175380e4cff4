/*
 * test-itrace.c - the full instruction trace against the machine itself.
 *
 * A real guest (cpubound) runs twice from power-on: once step by step with
 * machine_step(), keeping the registers after every step (the reference),
 * and once with machine_run() and the trace writer attached. The decoded
 * trace must give, step for step, the reference's registers, level, CPL
 * and icount; its memory writes replayed onto the memory at the start
 * must give the memory at the end, byte for byte; the backwards queries
 * must answer as a brute-force scan of the decoded steps does; and a trace
 * cut or damaged anywhere must give an error or a warning, never a crash.
 *
 * Usage: test-itrace CPUBOUND_ELF   (GTest options before it)
 */
#include <string.h>

#include "itrace.h"
#include "nestlab.h"
#include "trcfile.h"

#define MEM_MIB 4u
#define MEM_BYTES (MEM_MIB << 20)

static const char *kernel;

static struct machine *boot(enum machine_monitor mon)
{
	const struct machine_config cfg = { .kernel_path = kernel, .cmdline = "passes=1 fib=12",
	                                    .mem_mib = MEM_MIB, .monitor = mon,
	                                    .console_quiet = true };
	GError *error = NULL;
	struct machine *m = machine_new(&cfg, &error);
	g_assert_no_error(error);
	return m;
}

/* {====== the reference and the trace of the same run ====== */

struct run {
	GArray *ref;            /* struct machine_regs after each step */
	GBytes *trace;
	uint8_t *mem0, *mem1;   /* RAM at the start and the end of the traced run */
	uint64_t insns;
};

static void run_both(struct run *run, enum machine_monitor mon, uint64_t max_insns, unsigned block)
{
	struct machine *m = boot(mon);
	run->ref = g_array_new(FALSE, FALSE, sizeof(struct machine_regs));
	for (;;) {
		struct machine_regs r;
		machine_get_regs(m, &r);
		if (r.icount >= max_insns)
			break;
		enum machine_stop st = machine_step(m);
		machine_get_regs(m, &r);
		g_array_append_val(run->ref, r);
		if (st != MACHINE_LIMIT)
			break;
	}
	run->insns = g_array_index(run->ref, struct machine_regs, run->ref->len - 1).icount;
	machine_free(m);

	m = boot(mon);
	run->mem0 = g_malloc(MEM_BYTES);
	run->mem1 = g_malloc(MEM_BYTES);
	machine_phys_read(m, 0, run->mem0, MEM_BYTES);
	struct trc_itrace_state start;
	trc_itrace_state_of(m, &start);
	struct trc_itrace_writer *w = trc_itrace_create_memory(block, &start);
	GError *error = NULL;
	g_assert_true(trc_itrace_attach(w, m, &error));
	machine_run(m, run->insns);
	trc_itrace_detach(m);
	run->trace = trc_itrace_finish_bytes(w, &error);
	g_assert_no_error(error);
	machine_phys_read(m, 0, run->mem1, MEM_BYTES);
	machine_free(m);
}

static void run_free(struct run *run)
{
	g_array_unref(run->ref);
	g_bytes_unref(run->trace);
	g_free(run->mem0);
	g_free(run->mem1);
}

/* }====================================================================== */

/* {====== decoding it all ====== */

struct all {
	GArray *steps;   /* struct trc_itrace_step, writes copied: */
	GArray *writes;  /* every write, in order */
	GArray *first;   /* index of each step's first write (guint) */
};

static bool collect(void *opaque, const struct trc_itrace_step *s)
{
	struct all *a = opaque;
	guint f = a->writes->len;
	g_array_append_val(a->first, f);
	g_array_append_vals(a->writes, s->writes, s->n_writes);
	struct trc_itrace_step c = *s;
	c.writes = NULL;
	g_array_append_val(a->steps, c);
	return true;
}

static struct trc_itrace_reader *open_all(GBytes *trace, struct all *a)
{
	GError *error = NULL;
	struct trc_itrace_reader *r = trc_itrace_open_bytes(trace, "test.itrace", &error);
	g_assert_no_error(error);
	g_assert_null(trc_itrace_warning(r));
	a->steps = g_array_new(FALSE, FALSE, sizeof(struct trc_itrace_step));
	a->writes = g_array_new(FALSE, FALSE, sizeof(struct trc_itrace_write));
	a->first = g_array_new(FALSE, FALSE, sizeof(guint));
	g_assert_true(trc_itrace_foreach(r, 0, 0, collect, a, &error));
	g_assert_no_error(error);
	return r;
}

static void all_free(struct all *a)
{
	g_array_unref(a->steps);
	g_array_unref(a->writes);
	g_array_unref(a->first);
}

static bool same_regs(const struct trc_itrace_step *s, const struct machine_regs *r)
{
	const uint32_t v[TRC_IR_COUNT] = { r->eax, r->ecx, r->edx, r->ebx, r->esp, r->ebp,
		r->esi, r->edi, r->eip, r->eflags, r->cs, r->ss, r->ds, r->es, r->fs, r->gs,
		r->cr0, r->cr2, r->cr3, r->cr4 };
	return memcmp(s->after.reg, v, sizeof v) == 0 && s->after.cpl == r->cpl &&
	       s->after.icount == r->icount;
}

static void check_regs(const struct trc_itrace_step *s, const struct machine_regs *r)
{
	const uint32_t v[TRC_IR_COUNT] = { r->eax, r->ecx, r->edx, r->ebx, r->esp, r->ebp,
		r->esi, r->edi, r->eip, r->eflags, r->cs, r->ss, r->ds, r->es, r->fs, r->gs,
		r->cr0, r->cr2, r->cr3, r->cr4 };
	for (int i = 0; i < TRC_IR_COUNT; i++)
		if (s->after.reg[i] != v[i])
			g_error("step %" G_GUINT64_FORMAT ": %s is %08x in the trace, %08x in the run",
			        s->icount, trc_itrace_reg_names[i], s->after.reg[i], v[i]);
	g_assert_cmpuint(s->after.cpl, ==, r->cpl);
	g_assert_cmpuint(s->after.icount, ==, r->icount);
}

/* }====================================================================== */

static struct run bare;
static struct all bare_all;
static struct trc_itrace_reader *bare_r;

/* Every step's registers are the step-by-step run's. */
static void test_regs_match_steps(void)
{
	g_assert_cmpuint(bare_all.steps->len, ==, bare.ref->len);
	g_assert_cmpuint(bare.ref->len, >, 100000);
	for (guint i = 0; i < bare.ref->len; i++)
		check_regs(&g_array_index(bare_all.steps, struct trc_itrace_step, i),
		           &g_array_index(bare.ref, struct machine_regs, i));
	struct trc_itrace_info info;
	trc_itrace_get_info(bare_r, &info);
	g_assert_true(info.complete);
	g_assert_cmpuint(info.steps, ==, bare.ref->len);
	g_assert_cmpuint(info.end_icount, ==, bare.insns);
	g_assert_cmpuint(info.blocks, >, 5);
	g_test_message("%u steps, %" G_GUINT64_FORMAT " bytes: %.3f bytes per step", bare.ref->len,
	               info.file_bytes, (double)info.file_bytes / bare.ref->len);
}

/* The writes replayed on the first memory give the last (bare: no paging,
 * linear is physical). */
static void test_writes_replay_memory(void)
{
	g_assert_cmpint(memcmp(bare.mem0, bare.mem1, MEM_BYTES), !=, 0);
	for (guint i = 0; i < bare_all.writes->len; i++) {
		const struct trc_itrace_write *w = &g_array_index(bare_all.writes,
		                                                  struct trc_itrace_write, i);
		for (unsigned b = 0; b < w->size; b++)
			if (w->addr + b < MEM_BYTES)
				bare.mem0[w->addr + b] = (uint8_t)(w->val >> (8 * b));
	}
	g_assert_cmpint(memcmp(bare.mem0, bare.mem1, MEM_BYTES), ==, 0);
}

/* A brute-force scan for the last write covering addr before `before`. */
static bool brute_write(uint32_t addr, uint64_t before, struct trc_itrace_hit *hit)
{
	for (guint i = bare_all.steps->len; i-- > 0;) {
		const struct trc_itrace_step *s = &g_array_index(bare_all.steps, struct trc_itrace_step, i);
		if (s->icount >= before)
			continue;
		guint f = g_array_index(bare_all.first, guint, i);
		guint e = i + 1 < bare_all.first->len ? g_array_index(bare_all.first, guint, i + 1)
		                                      : bare_all.writes->len;
		for (guint k = e; k-- > f;) {
			const struct trc_itrace_write *w = &g_array_index(bare_all.writes,
			                                                  struct trc_itrace_write, k);
			if (!w->phys && addr - w->addr < w->size) {
				hit->icount = s->icount;
				hit->eip = s->eip;
				hit->byte = (uint8_t)(w->val >> (8 * (addr - w->addr)));
				return true;
			}
		}
	}
	return false;
}

static bool brute_eip(uint32_t eip, uint64_t before, uint64_t *icount)
{
	for (guint i = bare_all.steps->len; i-- > 0;) {
		const struct trc_itrace_step *s = &g_array_index(bare_all.steps, struct trc_itrace_step, i);
		if (s->icount < before && !s->event && s->eip == eip) {
			*icount = s->icount;
			return true;
		}
	}
	return false;
}

/* prev_write and prev_eip answer as the brute-force scans, and skip blocks. */
static void test_queries_match_brute_force(void)
{
	GRand *rnd = g_rand_new_with_seed(5);
	int found = 0;
	for (int q = 0; q < 300; q++) {
		const struct trc_itrace_step *s = &g_array_index(
			bare_all.steps, struct trc_itrace_step,
			g_rand_int_range(rnd, 0, (gint32)bare_all.steps->len));
		uint64_t before = g_rand_int_range(rnd, 0, (gint32)bare.insns + 2);
		uint32_t addr = bare_all.writes->len && q % 3
			? g_array_index(bare_all.writes, struct trc_itrace_write,
			                g_rand_int_range(rnd, 0, (gint32)bare_all.writes->len)).addr +
			  (uint32_t)g_rand_int_range(rnd, 0, 4)
			: (uint32_t)g_rand_int(rnd) % MEM_BYTES;
		struct trc_itrace_hit want = {0}, got;
		GError *error = NULL;
		bool b = brute_write(addr, before, &want);
		int n = trc_itrace_prev_write(bare_r, addr, false, before, &got, &error);
		g_assert_no_error(error);
		g_assert_cmpint(n, ==, b);
		if (b) {
			g_assert_cmpuint(got.icount, ==, want.icount);
			g_assert_cmpuint(got.eip, ==, want.eip);
			g_assert_cmpuint(got.byte, ==, want.byte);
			found++;
		}
		uint64_t ic = 0;
		b = brute_eip(s->eip + (q % 5 == 0), before, &ic);
		n = trc_itrace_prev_eip(bare_r, s->eip + (q % 5 == 0), before, &got, &error);
		g_assert_no_error(error);
		g_assert_cmpint(n, ==, b);
		if (b)
			g_assert_cmpuint(got.icount, ==, ic);
	}
	g_assert_cmpint(found, >, 50);
	g_rand_free(rnd);
	/* a query about memory never written decodes no block */
	uint64_t d = trc_itrace_blocks_decoded(bare_r);
	struct trc_itrace_hit hit;
	g_assert_cmpint(trc_itrace_prev_write(bare_r, 0x3ff000, false, UINT64_MAX, &hit, NULL), ==, 0);
	g_assert_cmpuint(trc_itrace_blocks_decoded(bare_r), ==, d);
}

/* A range from the middle starts at the step asked for. */
static bool first_of(void *opaque, const struct trc_itrace_step *s)
{
	*(uint64_t *)opaque = s->icount;
	return false;
}

static void test_range_from_middle(void)
{
	uint64_t at = UINT64_MAX;
	g_assert_true(trc_itrace_foreach(bare_r, bare.insns / 2, 1, first_of, &at, NULL));
	g_assert_cmpuint(at, ==, bare.insns / 2);
}

/* Cut or damaged anywhere: an error or a warning, never a crash; a cut
 * after some blocks keeps them. */
static bool count_step(void *opaque, const struct trc_itrace_step *s)
{
	(void)s;
	++*(uint64_t *)opaque;
	return true;
}

static void test_damaged_files(void)
{
	gsize len;
	const uint8_t *data = g_bytes_get_data(bare.trace, &len);
	int opened = 0, refused = 0;
	for (int i = 0; i < 120; i++) {
		uint8_t *copy = g_memdup2(data, len);
		size_t cut = len;
		if (i < 60)
			cut = (size_t)((double)len * i / 60.0);
		else
			copy[(size_t)((double)len * (i - 60) / 60.0) + 7 * (i % 5)] ^= (uint8_t)(1u << (i % 8));
		GBytes *b = g_bytes_new_take(copy, MIN(cut, len));
		GError *error = NULL;
		struct trc_itrace_reader *r = trc_itrace_open_bytes(b, "cut.itrace", &error);
		if (!r) {
			g_assert_nonnull(error);
			g_assert_nonnull(strstr(error->message, "cut.itrace"));
			g_error_free(error);
			refused++;
		} else {
			opened++;
			uint64_t n = 0;
			if (!trc_itrace_foreach(r, 0, 0, count_step, &n, &error))
				g_clear_error(&error);
			struct trc_itrace_hit hit;
			trc_itrace_prev_write(r, 0x1000, false, UINT64_MAX, &hit, NULL);
			trc_itrace_prev_eip(r, 0x100000, UINT64_MAX, &hit, NULL);
			if (i > 30 && i < 60) {
				g_assert_nonnull(trc_itrace_warning(r));
				g_assert_cmpuint(n, >, 0);
			}
			trc_itrace_close(r);
		}
		g_bytes_unref(b);
	}
	g_assert_cmpint(opened, >, 0);
	g_assert_cmpint(refused, >, 0);
}

/* Under the monitor the guest's steps are level 1, and the run's: one
 * machine_step() may be more than one step of the CPU there (an exit the
 * monitor handles, then the instruction), so every state the step-by-step
 * run went through must come in the trace, in order. */
static void test_monitor_level(void)
{
	struct run run = {0};
	run_both(&run, MACHINE_MONITOR_SHADOW, 60000, 4096);
	struct all a;
	struct trc_itrace_reader *r = open_all(run.trace, &a);
	g_assert_cmpuint(a.steps->len, >=, run.ref->len);
	guint j = 0;
	for (guint i = 0; i < run.ref->len; i++) {
		const struct machine_regs *want = &g_array_index(run.ref, struct machine_regs, i);
		while (j < a.steps->len &&
		       !same_regs(&g_array_index(a.steps, struct trc_itrace_step, j), want))
			j++;
		if (j == a.steps->len)
			g_error("the state after machine_step %u (icount %" G_GUINT64_FORMAT
			        ") is not in the trace", i, want->icount);
	}
	unsigned l1 = 0;
	for (guint i = 0; i < a.steps->len; i++)
		l1 += g_array_index(a.steps, struct trc_itrace_step, i).level == 1;
	g_assert_cmpuint(l1, >, a.steps->len / 2);
	trc_itrace_close(r);
	all_free(&a);
	run_free(&run);
}

/* Attached half way and detached again, the observer changes nothing:
 * the machine's state hash is a plain run's (lazy flags, TLB, clocks). */
static void test_observer_changes_no_state(void)
{
	char want[65], got[65];
	struct machine *m = boot(MACHINE_MONITOR_SHADOW);
	machine_run(m, 300000);
	machine_state_hash(m, want);
	machine_free(m);
	m = boot(MACHINE_MONITOR_SHADOW);
	machine_run(m, 100000);
	struct trc_itrace_state start;
	trc_itrace_state_of(m, &start);
	struct trc_itrace_writer *w = trc_itrace_create_memory(0, &start);
	g_assert_true(trc_itrace_attach(w, m, NULL));
	machine_run(m, 100000);
	trc_itrace_detach(m);
	machine_run(m, 100000);
	machine_state_hash(m, got);
	g_assert_cmpstr(got, ==, want);
	g_bytes_unref(trc_itrace_finish_bytes(w, NULL));
	machine_free(m);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	if (argc < 2) {
		g_printerr("usage: test-itrace CPUBOUND_ELF\n");
		return 2;
	}
	kernel = argv[1];
	run_both(&bare, MACHINE_MONITOR_NONE, 400000, 4096);
	bare_r = open_all(bare.trace, &bare_all);
	g_test_add_func("/itrace/cpubound/regs-match-steps", test_regs_match_steps);
	g_test_add_func("/itrace/cpubound/writes-replay-memory", test_writes_replay_memory);
	g_test_add_func("/itrace/cpubound/queries-match-brute-force", test_queries_match_brute_force);
	g_test_add_func("/itrace/cpubound/range-from-middle", test_range_from_middle);
	g_test_add_func("/itrace/file/damaged-gives-error", test_damaged_files);
	g_test_add_func("/itrace/monitor/level-1-and-regs", test_monitor_level);
	g_test_add_func("/itrace/monitor/observer-changes-no-state", test_observer_changes_no_state);
	int rc = g_test_run();
	trc_itrace_close(bare_r);
	all_free(&bare_all);
	run_free(&bare);
	return rc;
}
