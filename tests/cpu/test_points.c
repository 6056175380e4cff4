/*
 * test_points.c - the debugger's breakpoints and watchpoints (cpu.h,
 * "debugger points"; docs/cpu.md): exact stops, resuming over a
 * breakpoint, watchpoints of every kind on plain, unaligned, page-crossing,
 * stack and string accesses, and that a guest cannot tell points are set
 * (same state, icount and cycles). The last tests run a multiboot kernel
 * bare and under both monitors through the machine API.
 *
 * usage: test-cpu-points [KERNEL] (GTest; without KERNEL the machine
 * tests are skipped)
 */
#include "machine.h"
#include "testbus.h"

static const char *kernel;

/* {====== helpers ====== */

#define CODE 0x1000u

/* A CPU in 32-bit flat protected mode (no paging) running `code` at CODE. */
static struct testbus *prog(const uint8_t *code, size_t len)
{
	struct testbus *tb = tb_new();
	tb_pmode32(tb);
	tb_put(tb, CODE, code, len);
	tb->cpu->eip = CODE;
	tb->cpu->r[ESP] = 0x8000;
	return tb;
}

static struct cpu_hit hit_of(struct cpu *cpu)
{
	struct cpu_hit h;
	g_assert_true(cpu_point_hit(cpu, &h));
	return h;
}

/* Runs `tb` to the end (HLT), going on after every debugger stop; returns
 * the number of stops. */
static int run_through(struct testbus *tb)
{
	int stops = 0;
	for (;;) {
		enum cpu_stop s = cpu_run(tb->cpu, 100000);
		if (s != CPU_STOP_BREAK) {
			g_assert_cmpint(s, ==, CPU_STOP_HLT);
			return stops;
		}
		g_assert_cmpint(++stops, <, 10000);
	}
}

/* The two CPUs are in the same architectural state, clock included: what
 * cpu_save writes is the same byte for byte. */
static void assert_same_state(struct cpu *a, struct cpu *b)
{
	size_t n = cpu_save_size();
	uint8_t *x = g_malloc(n), *y = g_malloc(n);
	cpu_save(a, x);
	cpu_save(b, y);
	g_assert_cmpuint(a->icount, ==, b->icount);
	g_assert_cmpuint(a->cycles, ==, b->cycles);
	g_assert_cmpuint(a->mem_cycles, ==, b->mem_cycles);
	g_assert_true(memcmp(x, y, n) == 0);
	g_free(x);
	g_free(y);
}

/* }====================================================================== */

/* {====== execution points ====== */

static const uint8_t three_incs[] = {
	0x40, /* 1000: inc eax */
	0x40, /* 1001: inc eax */
	0x40, /* 1002: inc eax */
	0xf4, /* 1003: hlt */
};

/* The CPU stops with EIP at the point and nothing of it done, and going
 * on runs it. */
static void test_exec_stops_before(void)
{
	struct testbus *tb = prog(three_incs, sizeof three_incs);
	struct cpu *cpu = tb->cpu;
	int id = cpu_point_add(cpu, CPU_POINT_EXEC, 0x1002, 1);
	g_assert_cmpint(id, >=, 0);
	g_assert_cmpint(cpu_run(cpu, 100), ==, CPU_STOP_BREAK);
	g_assert_cmphex(cpu->eip, ==, 0x1002);
	g_assert_cmpuint(cpu->icount, ==, 2);
	g_assert_cmphex(cpu->r[EAX], ==, 2);
	struct cpu_hit h = hit_of(cpu);
	g_assert_cmpint(h.id, ==, id);
	g_assert_cmpint(h.kind, ==, CPU_POINT_EXEC);
	g_assert_cmphex(h.addr, ==, 0x1002);
	g_assert_cmpint(cpu_run(cpu, 100), ==, CPU_STOP_HLT);
	g_assert_cmphex(cpu->r[EAX], ==, 3);
	g_assert_false(cpu_point_hit(cpu, &h));
	tb_free(tb);
}

/* A point at the first instruction stops before anything runs; a step
 * over it (cpu_point_step_over) runs it, and a point inside a loop stops
 * on every pass. */
static void test_exec_first_and_loop(void)
{
	static const uint8_t code[] = {
		0xb9, 0x03, 0x00, 0x00, 0x00, /* 1000: mov ecx,3 */
		0x40,                         /* 1005: inc eax */
		0xe2, 0xfd,                   /* 1006: loop 1005 */
		0xf4,                         /* 1008: hlt */
	};
	struct testbus *tb = prog(code, sizeof code);
	struct cpu *cpu = tb->cpu;
	cpu_point_add(cpu, CPU_POINT_EXEC, 0x1000, 1);
	cpu_point_add(cpu, CPU_POINT_EXEC, 0x1005, 1);
	g_assert_cmpint(cpu_run(cpu, 100), ==, CPU_STOP_BREAK);
	g_assert_cmpuint(cpu->icount, ==, 0);
	g_assert_cmphex(cpu->eip, ==, 0x1000);
	static const uint64_t at[] = {1, 3, 5};
	for (int i = 0; i < 3; i++) {
		g_assert_cmpint(cpu_run(cpu, 100), ==, CPU_STOP_BREAK);
		g_assert_cmphex(cpu->eip, ==, 0x1005);
		g_assert_cmpuint(cpu->icount, ==, at[i]);
	}
	g_assert_cmpint(cpu_run(cpu, 100), ==, CPU_STOP_HLT);
	g_assert_cmphex(cpu->r[EAX], ==, 3);
	tb_free(tb);
}

/* A point added where the CPU stands (it did not stop there) stops the
 * next run at once; cpu_point_step_over lets the step run it; a point
 * removed no longer stops. */
static void test_exec_step_over_and_remove(void)
{
	struct testbus *tb = prog(three_incs, sizeof three_incs);
	struct cpu *cpu = tb->cpu;
	int a = cpu_point_add(cpu, CPU_POINT_EXEC, 0x1000, 1);
	int b = cpu_point_add(cpu, CPU_POINT_EXEC, 0x1001, 1);
	cpu_point_step_over(cpu);
	g_assert_cmpint(cpu_step(cpu), ==, CPU_STOP_BUDGET);
	g_assert_cmpuint(cpu->icount, ==, 1);
	g_assert_cmpint(cpu_step(cpu), ==, CPU_STOP_BREAK);
	g_assert_cmpuint(cpu->icount, ==, 1);
	g_assert_cmpint(hit_of(cpu).id, ==, b);
	g_assert_true(cpu_point_remove(cpu, b));
	g_assert_false(cpu_point_remove(cpu, b));
	g_assert_cmpint(cpu_point_find(cpu, CPU_POINT_EXEC, 0x1000, 0), ==, a);
	g_assert_cmpint(cpu_run(cpu, 100), ==, CPU_STOP_HLT);
	g_assert_cmpuint(cpu->icount, ==, 4); /* with the HLT */
	tb_free(tb);
}

/* The guest's own DR0 breakpoint and a debugger point at the same
 * address: the debugger stops first, then the guest gets its #DB. */
static void test_exec_apart_from_dr7(void)
{
	struct testbus *tb = prog(three_incs, sizeof three_incs);
	struct cpu *cpu = tb->cpu;
	tb_gate(tb, 0x600 + 8 * EXC_DB, 0x08, 0x3000, SYS_INTGATE32, 0);
	tb_put(tb, 0x3000, "\xf4", 1);
	cpu->dr[0] = 0x1001;
	cpu->dr[7] = 0x401; /* L0, execute, 1 byte */
	cpu_state_changed(cpu);
	cpu_point_add(cpu, CPU_POINT_EXEC, 0x1001, 1);
	g_assert_cmpint(cpu_run(cpu, 100), ==, CPU_STOP_BREAK);
	g_assert_cmphex(cpu->eip, ==, 0x1001);
	g_assert_cmpint(cpu_run(cpu, 100), ==, CPU_STOP_HLT);
	g_assert_cmphex(cpu->eip, ==, 0x3001); /* in the #DB handler */
	g_assert_cmphex(cpu->dr[6] & 0xf, ==, 1);
	tb_free(tb);
}

/* }====================================================================== */

/* {====== watchpoints ====== */

static const uint8_t store_load[] = {
	0xc7, 0x05, 0x00, 0x20, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12, /* 1000: mov dword [0x2000],0x12345678 */
	0x40,                                                       /* 100a: inc eax */
	0xa1, 0x00, 0x20, 0x00, 0x00,                               /* 100b: mov eax,[0x2000] */
	0xf4,                                                       /* 1010: hlt */
};

/* Write, read and access watchpoints stop after the instruction, with
 * the first watched byte the access touched. */
static void test_watch_kinds(void)
{
	static const struct {
		enum cpu_point_kind kind;
		int stops;
		uint32_t eip[2];
		uint64_t icount[2];
		bool write[2];
	} cases[] = {
		{CPU_POINT_WRITE, 1, {0x100a}, {1}, {true}},
		{CPU_POINT_READ, 1, {0x1010}, {3}, {false}},
		{CPU_POINT_ACCESS, 2, {0x100a, 0x1010}, {1, 3}, {true, false}},
	};
	for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
		struct testbus *tb = prog(store_load, sizeof store_load);
		struct cpu *cpu = tb->cpu;
		int id = cpu_point_add(cpu, cases[c].kind, 0x2002, 1);
		for (int i = 0; i < cases[c].stops; i++) {
			g_assert_cmpint(cpu_run(cpu, 100), ==, CPU_STOP_BREAK);
			g_assert_cmphex(cpu->eip, ==, cases[c].eip[i]);
			g_assert_cmpuint(cpu->icount, ==, cases[c].icount[i]);
			struct cpu_hit h = hit_of(cpu);
			g_assert_cmpint(h.id, ==, id);
			g_assert_cmpint(h.kind, ==, cases[c].kind);
			g_assert_cmphex(h.addr, ==, 0x2002);
			g_assert_cmphex(h.access, ==, 0x2000);
			g_assert_cmpuint(h.size, ==, 4);
			g_assert_cmpint(h.write, ==, cases[c].write[i]);
		}
		g_assert_cmpint(cpu_run(cpu, 100), ==, CPU_STOP_HLT);
		g_assert_cmphex(cpu->r[EAX], ==, 0x12345678);
		tb_free(tb);
	}
}

/* An instruction's accesses next to the range, and fetches of the code
 * itself, do not stop. */
static void test_watch_misses(void)
{
	struct testbus *tb = prog(store_load, sizeof store_load);
	struct cpu *cpu = tb->cpu;
	cpu_point_add(cpu, CPU_POINT_ACCESS, 0x2004, 16);
	cpu_point_add(cpu, CPU_POINT_ACCESS, 0x1ff0, 16);
	cpu_point_add(cpu, CPU_POINT_ACCESS, CODE, sizeof store_load);
	g_assert_cmpint(run_through(tb), ==, 0);
	tb_free(tb);
}

/* A dword store at 0x2ffe spans two pages: a point on either page sees
 * it, and reports the first watched byte. */
static void test_watch_unaligned_page_cross(void)
{
	static const uint8_t code[] = {
		0xa3, 0xfe, 0x2f, 0x00, 0x00, /* 1000: mov [0x2ffe],eax */
		0x66, 0xa1, 0x01, 0x30, 0x00, 0x00, /* 1005: mov ax,[0x3001] */
		0xf4,                         /* 100b: hlt */
	};
	static const struct {
		enum cpu_point_kind kind;
		uint32_t lo, len, addr;
		uint64_t icount;
	} cases[] = {
		{CPU_POINT_WRITE, 0x3000, 1, 0x3000, 1},
		{CPU_POINT_WRITE, 0x2fff, 1, 0x2fff, 1},
		{CPU_POINT_WRITE, 0x2000, 4096, 0x2ffe, 1},
		{CPU_POINT_READ, 0x3002, 8, 0x3002, 2},
	};
	for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
		struct testbus *tb = prog(code, sizeof code);
		struct cpu *cpu = tb->cpu;
		g_assert_cmpint(cpu_point_add(cpu, cases[c].kind, cases[c].lo, cases[c].len), >=, 0);
		g_assert_cmpint(cpu_run(cpu, 100), ==, CPU_STOP_BREAK);
		g_assert_cmpuint(cpu->icount, ==, cases[c].icount);
		g_assert_cmphex(hit_of(cpu).addr, ==, cases[c].addr);
		g_assert_cmpint(run_through(tb), ==, 0);
		tb_free(tb);
	}
}

/* PUSH, CALL (their inline stack fast paths), POP and RET. */
static void test_watch_stack(void)
{
	static const uint8_t code[] = {
		0x50,                         /* 1000: push eax */
		0xe8, 0x02, 0x00, 0x00, 0x00, /* 1001: call 1008 */
		0x5b,                         /* 1006: pop ebx */
		0xf4,                         /* 1007: hlt */
		0xc3,                         /* 1008: ret */
	};
	struct testbus *tb = prog(code, sizeof code);
	struct cpu *cpu = tb->cpu;
	cpu_point_add(cpu, CPU_POINT_WRITE, 0x7ffe, 2); /* the PUSH's slot */
	cpu_point_add(cpu, CPU_POINT_READ, 0x7ff8, 4);  /* the CALL's slot */
	cpu_point_add(cpu, CPU_POINT_READ, 0x7ffc, 1);  /* POP reads the PUSH's */
	static const struct {
		uint32_t eip, addr;
		uint64_t icount;
	} stops[] = {
		{0x1001, 0x7ffe, 1}, /* after push */
		{0x1006, 0x7ff8, 3}, /* after ret */
		{0x1007, 0x7ffc, 4}, /* after pop */
	};
	for (size_t i = 0; i < G_N_ELEMENTS(stops); i++) {
		g_assert_cmpint(cpu_run(cpu, 100), ==, CPU_STOP_BREAK);
		g_assert_cmphex(cpu->eip, ==, stops[i].eip);
		g_assert_cmpuint(cpu->icount, ==, stops[i].icount);
		g_assert_cmphex(hit_of(cpu).addr, ==, stops[i].addr);
	}
	g_assert_cmpint(run_through(tb), ==, 0);
	tb_free(tb);
}

static const uint8_t rep_movsb[] = {
	0xfc,                         /* 1000: cld */
	0xbe, 0x00, 0x40, 0x00, 0x00, /* 1001: mov esi,0x4000 */
	0xbf, 0x00, 0x50, 0x00, 0x00, /* 1006: mov edi,0x5000 */
	0xb9, 0x10, 0x00, 0x00, 0x00, /* 100b: mov ecx,16 */
	0xf3, 0xa4,                   /* 1010: rep movsb */
	0x40,                         /* 1012: inc eax */
	0xf4,                         /* 1013: hlt */
};

/* REP MOVSB stops after the element that wrote the watched byte, at the
 * REP with ECX/ESI/EDI past that element, without counting anything of it
 * yet; going on finishes it as one instruction. */
static void test_watch_rep_element(void)
{
	struct testbus *tb = prog(rep_movsb, sizeof rep_movsb);
	struct testbus *ref = prog(rep_movsb, sizeof rep_movsb);
	struct cpu *cpu = tb->cpu;
	cpu_point_add(cpu, CPU_POINT_WRITE, 0x5005, 1);
	cpu_point_add(cpu, CPU_POINT_READ, 0x400a, 1);
	g_assert_cmpint(cpu_run(ref->cpu, 4), ==, CPU_STOP_BUDGET); /* up to the REP */
	g_assert_cmpint(cpu_run(cpu, 100), ==, CPU_STOP_BREAK);
	g_assert_cmphex(cpu->eip, ==, 0x1010);
	g_assert_cmphex(cpu->r[ECX], ==, 10);
	g_assert_cmphex(cpu->r[EDI], ==, 0x5006);
	g_assert_cmphex(cpu->r[ESI], ==, 0x4006);
	g_assert_cmpuint(cpu->icount, ==, 4);
	g_assert_cmpuint(cpu->cycles, ==, ref->cpu->cycles);
	g_assert_cmphex(hit_of(cpu).addr, ==, 0x5005);
	g_assert_cmpint(cpu_run(cpu, 100), ==, CPU_STOP_BREAK);
	g_assert_cmphex(cpu->eip, ==, 0x1010);
	g_assert_cmphex(cpu->r[ECX], ==, 5);
	g_assert_cmphex(hit_of(cpu).addr, ==, 0x400a);
	g_assert_cmpint(cpu_step(cpu), ==, CPU_STOP_BUDGET); /* the rest of the REP */
	g_assert_cmphex(cpu->eip, ==, 0x1012);
	g_assert_cmphex(cpu->r[ECX], ==, 0);
	g_assert_cmpint(cpu_step(ref->cpu), ==, CPU_STOP_BUDGET);
	assert_same_state(cpu, ref->cpu);
	g_assert_cmpint(run_through(tb), ==, 0);
	g_assert_cmpint(run_through(ref), ==, 0);
	assert_same_state(cpu, ref->cpu);
	tb_free(ref);
	tb_free(tb);
}

/* REP STOSD over a watched 16-byte buffer stops after each of the four
 * elements that write it, and ends as it does without points. */
static void test_watch_rep_every_element(void)
{
	static const uint8_t code[] = {
		0xbf, 0x00, 0x50, 0x00, 0x00, /* 1000: mov edi,0x5000 */
		0xb9, 0x0c, 0x00, 0x00, 0x00, /* 1005: mov ecx,12 */
		0xf3, 0xab,                   /* 100a: rep stosd */
		0xf4,                         /* 100c: hlt */
	};
	struct testbus *tb = prog(code, sizeof code);
	struct testbus *ref = prog(code, sizeof code);
	cpu_point_add(tb->cpu, CPU_POINT_WRITE, 0x5010, 16);
	g_assert_cmpint(run_through(tb), ==, 4);
	g_assert_cmpint(run_through(ref), ==, 0);
	assert_same_state(tb->cpu, ref->cpu);
	tb_free(ref);
	tb_free(tb);
}

/* A watched access that faults does not stop: the instruction did not
 * retire (here the #PF handler halts). */
static void test_watch_fault_does_not_stop(void)
{
	static const uint8_t code[] = {
		0xa3, 0x00, 0x00, 0x20, 0x00, /* 1000: mov [0x200000],eax (not present) */
		0xf4,                         /* 1005: hlt */
	};
	struct testbus *tb = prog(code, sizeof code);
	struct cpu *cpu = tb->cpu;
	tb_put32(tb, 0x10000, 0x11000 | PTE_P | PTE_W);
	for (uint32_t i = 0; i < 1024; i++)
		tb_put32(tb, 0x11000 + 4 * i, i == 0x200 ? 0 : (i << 12) | PTE_P | PTE_W);
	cpu->cr3 = 0x10000;
	cpu->cr0 |= CR0_PG;
	tb_gate(tb, 0x600 + 8 * EXC_PF, 0x08, 0x3000, SYS_INTGATE32, 0);
	tb_put(tb, 0x3000, "\xf4", 1);
	cpu_state_changed(cpu);
	cpu_point_add(cpu, CPU_POINT_WRITE, 0x200000, 4);
	g_assert_cmpint(cpu_run(cpu, 100), ==, CPU_STOP_HLT);
	g_assert_cmphex(cpu->eip, ==, 0x3001);
	tb_free(tb);
}

/* cpu_step of an instruction that hits reports the hit at once. */
static void test_watch_step_reports(void)
{
	struct testbus *tb = prog(store_load, sizeof store_load);
	struct cpu *cpu = tb->cpu;
	cpu_point_add(cpu, CPU_POINT_WRITE, 0x2000, 4);
	g_assert_cmpint(cpu_step(cpu), ==, CPU_STOP_BREAK);
	g_assert_cmpuint(cpu->icount, ==, 1);
	g_assert_cmpint(cpu_step(cpu), ==, CPU_STOP_BUDGET);
	g_assert_cmpuint(cpu->icount, ==, 2);
	tb_free(tb);
}

/* Bad ranges and a full set are refused. */
static void test_limits(void)
{
	struct testbus *tb = prog(three_incs, sizeof three_incs);
	struct cpu *cpu = tb->cpu;
	g_assert_cmpint(cpu_point_add(cpu, CPU_POINT_WRITE, 0x1000, 0), ==, -1);
	g_assert_cmpint(cpu_point_add(cpu, CPU_POINT_WRITE, 0x1000, CPU_WATCH_MAX + 1), ==, -1);
	g_assert_cmpint(cpu_point_add(cpu, CPU_POINT_READ, 0xfffffffeu, 4), ==, -1);
	g_assert_cmpint(cpu_point_add(cpu, CPU_POINT_READ, 0xfffffffcu, 4), >=, 0);
	cpu_points_clear(cpu);
	for (int i = 0; i < CPU_POINTS_MAX; i++)
		g_assert_cmpint(cpu_point_add(cpu, CPU_POINT_EXEC, 0x9000 + (uint32_t)i, 1), ==, i);
	g_assert_cmpint(cpu_point_add(cpu, CPU_POINT_EXEC, 0x1000, 1), ==, -1);
	cpu_points_clear(cpu);
	g_assert_cmpint(cpu_run(cpu, 100), ==, CPU_STOP_HLT);
	tb_free(tb);
}

/* }====================================================================== */

/* {====== a guest cannot tell ====== */

/* A program with loads, stores, the stack, calls, a REP in a loop and
 * self-modifying code, with paging on: run with and without points, its
 * state and clock (cpu_save image, mem_cycles included) are the same at
 * every stop and at the end. */
static void test_invisible(void)
{
	static const uint8_t code[] = {
		0xbb, 0x05, 0x00, 0x00, 0x00, /* 1000: mov ebx,5 */
		0xfc,                         /* 1005: cld */
		0xbe, 0x00, 0x40, 0x00, 0x00, /* 1006: mov esi,0x4000 */   /* loop: */
		0xbf, 0xf8, 0x4f, 0x00, 0x00, /* 100b: mov edi,0x4ff8 */
		0xb9, 0x20, 0x00, 0x00, 0x00, /* 1010: mov ecx,32 */
		0xf3, 0xa4,                   /* 1015: rep movsb (crosses into page 5) */
		0x53,                         /* 1017: push ebx */
		0xe8, 0x0e, 0x00, 0x00, 0x00, /* 1018: call 102b */
		0x5a,                         /* 101d: pop edx */
		0x01, 0x05, 0x00, 0x60, 0x00, 0x00, /* 101e: add [0x6000],eax */
		0x4b,                         /* 1024: dec ebx */
		0x75, 0xdf,                   /* 1025: jnz 1006 */
		0xf4,                         /* 1027: hlt */
		0x90, 0x90, 0x90,             /* 1028: nop x3 */
		0x05, 0x01, 0x00, 0x00, 0x00, /* 102b: add eax,1 */
		0xfe, 0x05, 0x2c, 0x10, 0x00, 0x00, /* 1030: inc byte [0x102c] (the ADD's immediate) */
		0xc3,                         /* 1036: ret */
	};
	struct testbus *tb[2];
	for (int i = 0; i < 2; i++) {
		tb[i] = prog(code, sizeof code);
		struct cpu *cpu = tb[i]->cpu;
		tb_put32(tb[i], 0x10000, 0x11000 | PTE_P | PTE_W);
		for (uint32_t p = 0; p < 1024; p++)
			tb_put32(tb[i], 0x11000 + 4 * p, (p << 12) | PTE_P | PTE_W);
		cpu->cr3 = 0x10000;
		cpu->cr0 |= CR0_PG;
		cpu_state_changed(cpu);
	}
	struct cpu *cpu = tb[0]->cpu;
	cpu_point_add(cpu, CPU_POINT_EXEC, 0x102b, 1);
	cpu_point_add(cpu, CPU_POINT_EXEC, 0x1017, 1);
	cpu_point_add(cpu, CPU_POINT_WRITE, 0x5000, 8);
	cpu_point_add(cpu, CPU_POINT_READ, 0x4010, 1);
	cpu_point_add(cpu, CPU_POINT_ACCESS, 0x6000, 4);
	cpu_point_add(cpu, CPU_POINT_ACCESS, 0x7ffc, 4);
	cpu_point_add(cpu, CPU_POINT_WRITE, 0x102c, 1);
	int stops = 0;
	enum cpu_stop s;
	while ((s = cpu_run(cpu, 1000)) == CPU_STOP_BREAK) {
		stops++;
		/* Between instructions (not inside a split REP) the twin is
		 * in the same state at the same count. */
		struct cpu_hit h = hit_of(cpu);
		bool inside_rep = h.kind != CPU_POINT_EXEC && cpu->eip == 0x1015;
		if (!inside_rep) {
			uint64_t ahead = cpu->icount - tb[1]->cpu->icount;
			if (ahead)
				g_assert_cmpint(cpu_run(tb[1]->cpu, ahead), ==, CPU_STOP_BUDGET);
			assert_same_state(cpu, tb[1]->cpu);
		}
	}
	g_assert_cmpint(s, ==, CPU_STOP_HLT);
	g_test_message("%d stops", stops);
	g_assert_cmpint(stops, >, 30);
	g_assert_cmpint(run_through(tb[1]), ==, 0);
	assert_same_state(cpu, tb[1]->cpu);
	g_assert_true(memcmp(tb[0]->ram, tb[1]->ram, TB_RAM) == 0);
	tb_free(tb[0]);
	tb_free(tb[1]);
}

/* A save taken while a REP is split restores into a CPU that finishes it
 * with the same clock. */
static void test_save_inside_split_rep(void)
{
	struct testbus *tb = prog(rep_movsb, sizeof rep_movsb);
	struct testbus *ref = prog(rep_movsb, sizeof rep_movsb);
	struct testbus *back = prog(rep_movsb, sizeof rep_movsb);
	cpu_point_add(tb->cpu, CPU_POINT_WRITE, 0x5005, 1);
	g_assert_cmpint(cpu_run(tb->cpu, 100), ==, CPU_STOP_BREAK);
	uint8_t *img = g_malloc(cpu_save_size());
	cpu_save(tb->cpu, img);
	memcpy(back->ram, tb->ram, TB_RAM);
	g_assert_true(cpu_restore(back->cpu, img, cpu_save_size()));
	g_assert_cmpint(run_through(back), ==, 0);
	g_assert_cmpint(run_through(ref), ==, 0);
	/* A restored CPU starts with an empty TLB: its statistics differ. */
	back->cpu->mem_cycles = ref->cpu->mem_cycles;
	assert_same_state(back->cpu, ref->cpu);
	g_free(img);
	tb_free(back);
	tb_free(ref);
	tb_free(tb);
}

/* }====================================================================== */

/* {====== through the machine, bare and under the monitors ====== */

static struct machine *boot_kernel(enum machine_monitor mon)
{
	struct machine_config cfg = {
		.kernel_path = kernel, .cmdline = "passes=1 fib=12", .mem_mib = 16, .monitor = mon,
		.console_quiet = true,
	};
	cfg.serial[0].kind = MACHINE_SERIAL_BUFFER;
	GError *error = NULL;
	struct machine *m = machine_new(&cfg, &error);
	g_assert_no_error(error);
	return m;
}

static uint32_t lin_eip(struct machine *m)
{
	struct cpu *cpu = machine_cpu(m);
	return cpu->seg[SEG_CS].base + cpu->eip;
}

/* Runs a fresh machine to `icount` and checks that `m` is in the same
 * guest-visible state there. */
static void assert_like_fresh(struct machine *m, enum machine_monitor mon)
{
	struct machine *ref = boot_kernel(mon);
	uint64_t n = machine_cpu(m)->icount;
	g_assert_cmpint(machine_run(ref, n), ==, MACHINE_LIMIT);
	g_assert_cmpuint(machine_cpu(ref)->icount, ==, n);
	g_assert_cmpuint(machine_cpu(ref)->cycles, ==, machine_cpu(m)->cycles);
	char a[65], b[65];
	machine_state_hash(m, a);
	machine_state_hash(ref, b);
	g_assert_cmpstr(a, ==, b);
	machine_free(ref);
}

/* One monitor mode: an execution point found by stepping a twin stops
 * exactly where the twin first got there; a watchpoint on the stack stops
 * after a write to it; every stop is in the state a run without points
 * has at that count, and the run ends the same. */
static void machine_case(enum machine_monitor mon)
{
	if (!kernel) {
		g_test_skip("no kernel given");
		return;
	}
	const uint64_t start = 20000;
	struct machine *twin = boot_kernel(mon);
	g_assert_cmpint(machine_run(twin, start), ==, MACHINE_LIMIT);
	uint32_t esp = machine_cpu(twin)->r[ESP];
	uint32_t target = 0;
	uint64_t target_at = 0;
	/* An address first reached well after `start`. */
	GHashTable *seen = g_hash_table_new(NULL, NULL);
	for (int i = 0; i < 20000 && !target; i++) {
		g_hash_table_add(seen, GUINT_TO_POINTER(lin_eip(twin)));
		g_assert_cmpint(machine_step(twin), ==, MACHINE_LIMIT);
		if (i > 2000 && !g_hash_table_contains(seen, GUINT_TO_POINTER(lin_eip(twin))))
			target = lin_eip(twin);
	}
	g_assert_cmphex(target, !=, 0);
	g_hash_table_destroy(seen);
	machine_free(twin);
	/* The first time after `start` the twin stood at `target`. */
	twin = boot_kernel(mon);
	g_assert_cmpint(machine_run(twin, start), ==, MACHINE_LIMIT);
	while (lin_eip(twin) != target)
		g_assert_cmpint(machine_step(twin), ==, MACHINE_LIMIT);
	target_at = machine_cpu(twin)->icount;
	machine_free(twin);

	struct machine *m = boot_kernel(mon);
	g_assert_cmpint(machine_run(m, start), ==, MACHINE_LIMIT);
	int id = machine_add_point(m, MACHINE_POINT_EXEC, target, 1);
	g_assert_cmpint(machine_run(m, 0), ==, MACHINE_BREAK);
	enum machine_point_kind kind;
	uint32_t addr;
	g_assert_cmpint(machine_last_hit(m, &kind, &addr), ==, id);
	g_assert_cmpint(kind, ==, MACHINE_POINT_EXEC);
	g_assert_cmphex(addr, ==, target);
	g_assert_cmphex(lin_eip(m), ==, target);
	g_assert_cmpuint(machine_cpu(m)->icount, ==, target_at);
	assert_like_fresh(m, mon);
	/* machine_step at the point runs its instruction. */
	g_assert_cmpint(machine_step(m), ==, MACHINE_LIMIT);
	g_assert_cmpuint(machine_cpu(m)->icount, ==, target_at + 1);
	g_assert_true(machine_remove_point(m, MACHINE_POINT_EXEC, target, 1));

	/* A write watch on the stack slot below the ESP seen at `start`. */
	id = machine_add_point(m, MACHINE_POINT_WRITE, esp - 4, 4);
	g_assert_cmpint(machine_run(m, 0), ==, MACHINE_BREAK);
	g_assert_cmpint(machine_last_hit(m, &kind, &addr), ==, id);
	g_assert_cmpint(kind, ==, MACHINE_POINT_WRITE);
	g_assert_cmpuint(addr - (esp - 4), <, 4);
	struct cpu_hit h;
	g_assert_true(cpu_point_hit(machine_cpu(m), &h));
	g_assert_true(h.write);
	g_assert_cmpuint(h.access, <, esp);
	g_assert_cmpuint(h.access + h.size, >, esp - 4);
	assert_like_fresh(m, mon);

	/* Run to the end with points set, stopping often; the end is the end
	 * of a run without them. */
	machine_add_point(m, MACHINE_POINT_EXEC, target, 1);
	machine_add_point(m, MACHINE_POINT_ACCESS, esp - 64, 64);
	int stops = 0;
	enum machine_stop st;
	GChecksum *seq = g_checksum_new(G_CHECKSUM_SHA256);
	while ((st = machine_run(m, 0)) == MACHINE_BREAK) {
		stops++;
		struct {
			uint64_t icount;
			uint32_t kind, addr;
		} rec = {machine_cpu(m)->icount, 0, 0};
		machine_last_hit(m, &kind, &rec.addr);
		rec.kind = kind;
		g_checksum_update(seq, (const guchar *)&rec, sizeof rec);
	}
	g_assert_cmpint(st, ==, MACHINE_EXIT);
	/* Every mode stops at the same places (the first to run sets them). */
	static char first_seq[65];
	if (!first_seq[0])
		g_strlcpy(first_seq, g_checksum_get_string(seq), sizeof first_seq);
	g_assert_cmpstr(g_checksum_get_string(seq), ==, first_seq);
	g_checksum_free(seq);
	g_test_message("breakpoint %#x first at icount %" G_GUINT64_FORMAT ", stack watch %#x; "
	               "%d stops to the end at icount %" G_GUINT64_FORMAT,
	               target, target_at, esp - 4, stops, machine_cpu(m)->icount);
	g_assert_cmpint(stops, >, 10);
	machine_clear_points(m);
	g_assert_cmpint(machine_last_hit(m, NULL, NULL), ==, -1);
	struct machine *ref = boot_kernel(mon);
	g_assert_cmpint(machine_run(ref, 0), ==, MACHINE_EXIT);
	g_assert_cmpuint(machine_cpu(ref)->icount, ==, machine_cpu(m)->icount);
	g_assert_cmpuint(machine_cpu(ref)->cycles, ==, machine_cpu(m)->cycles);
	char a[65], b[65];
	machine_state_hash(m, a);
	machine_state_hash(ref, b);
	g_assert_cmpstr(a, ==, b);
	machine_console_hash(m, a);
	machine_console_hash(ref, b);
	g_assert_cmpstr(a, ==, b);
	machine_free(ref);
	machine_free(m);
}

static void test_machine_bare(void)
{
	machine_case(MACHINE_MONITOR_NONE);
}

static void test_machine_shadow(void)
{
	machine_case(MACHINE_MONITOR_SHADOW);
}

static void test_machine_nested(void)
{
	machine_case(MACHINE_MONITOR_NESTED);
}

/* }====================================================================== */

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	if (argc > 1)
		kernel = argv[1];
	g_test_add_func("/cpu/points/exec-stops-before", test_exec_stops_before);
	g_test_add_func("/cpu/points/exec-first-and-loop", test_exec_first_and_loop);
	g_test_add_func("/cpu/points/exec-step-over-and-remove", test_exec_step_over_and_remove);
	g_test_add_func("/cpu/points/exec-apart-from-dr7", test_exec_apart_from_dr7);
	g_test_add_func("/cpu/points/watch-kinds", test_watch_kinds);
	g_test_add_func("/cpu/points/watch-misses-and-fetch", test_watch_misses);
	g_test_add_func("/cpu/points/watch-unaligned-page-cross", test_watch_unaligned_page_cross);
	g_test_add_func("/cpu/points/watch-stack", test_watch_stack);
	g_test_add_func("/cpu/points/watch-rep-element", test_watch_rep_element);
	g_test_add_func("/cpu/points/watch-rep-every-element", test_watch_rep_every_element);
	g_test_add_func("/cpu/points/watch-fault-does-not-stop", test_watch_fault_does_not_stop);
	g_test_add_func("/cpu/points/watch-step-reports", test_watch_step_reports);
	g_test_add_func("/cpu/points/limits", test_limits);
	g_test_add_func("/cpu/points/invisible-to-guest", test_invisible);
	g_test_add_func("/cpu/points/save-inside-split-rep", test_save_inside_split_rep);
	g_test_add_func("/cpu/points/machine-bare", test_machine_bare);
	g_test_add_func("/cpu/points/machine-shadow", test_machine_shadow);
	g_test_add_func("/cpu/points/machine-nested", test_machine_nested);
	return g_test_run();
}
