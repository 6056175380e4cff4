/*
 * test_pmode.c - segmentation, far transfers, gates, task switches and
 * interrupt delivery of the CPU, on a bare CPU over a RAM array.
 *
 * Each test writes the descriptor tables it needs into RAM, puts the CPU in
 * the mode and privilege it starts from, calls the engine function under
 * test (cpu_far_call, cpu_deliver, ...) and checks the architectural state
 * and the memory it leaves, or the exception it raises (caught here from
 * the engine's single throw point, cpu_raise).
 *
 * Memory map of the tests (physical = linear, no paging):
 *   0x1000 GDT   0x2000 IDT   0x3000 TSS A (32)   0x3100 TSS B (32)
 *   0x3200 TSS C (16)   0x5000 ring-0 code   0x8000 ring-3 stack top
 *   0x9000 ring-0 stack top (TSS A SS0:ESP0)   0x20000 v86 area
 */
#include <glib.h>
#include <setjmp.h>

#include "cpu_int.h"
#include "desc.h"

#define RAM_SIZE (1u << 20)
#define GDT_BASE 0x1000u
#define IDT_BASE 0x2000u
#define TSS_A 0x3000u
#define TSS_B 0x3100u
#define TSS_C 0x3200u
#define STACK3_TOP 0x8000u
#define STACK0_TOP 0x9000u

/* GDT selectors. */
enum {
	SEL_CODE0 = 0x08, SEL_DATA0 = 0x10, SEL_CODE3 = 0x1b, SEL_DATA3 = 0x23,
	SEL_TSS_A = 0x28, SEL_TSS_B = 0x30, SEL_TSS_C = 0x38, SEL_CGATE = 0x43,
	SEL_EDOWN32 = 0x48, SEL_EDOWN16 = 0x50, SEL_NP_DATA = 0x58, SEL_CODE0_16 = 0x60,
	SEL_TGATE = 0x6b, SEL_RO_DATA = 0x70, SEL_XO_CODE = 0x78, SEL_CGATE16 = 0x83,
};

/* Descriptor access bytes (P DPL S type) and flag nibbles (G D/B 0 AVL). */
#define ACC_CODE 0x9a  /* present ring-0 readable code */
#define ACC_DATA 0x92  /* present ring-0 writable data */
#define ACC_DPL3 0x60
#define FL_32 0xc      /* 4 KiB granularity, 32-bit */

static uint8_t *ram;

/* {====== the bare board ====== */

static uint8_t *t_page_ptr(void *o, uint32_t pa, bool *w)
{
	*w = true;
	return pa < RAM_SIZE ? ram + pa : NULL;
}
static uint32_t t_mem_read(void *o, uint32_t pa, int sz)
{
	return 0xffffffffu;
}
static void t_mem_write(void *o, uint32_t pa, uint32_t v, int sz)
{
}
static uint32_t t_io_read(void *o, uint16_t port, int sz)
{
	return 0xffffffffu;
}
static void t_io_write(void *o, uint16_t port, uint32_t v, int sz)
{
}
static int t_intr_ack(void *o)
{
	return -1;
}
static void t_shutdown(void *o, const char *why)
{
}

static uint32_t rd32(uint32_t a)
{
	uint32_t v;
	memcpy(&v, ram + a, 4);
	return v;
}
static uint16_t rd16(uint32_t a)
{
	uint16_t v;
	memcpy(&v, ram + a, 2);
	return v;
}
static void wr32(uint32_t a, uint32_t v)
{
	memcpy(ram + a, &v, 4);
}
static void wr16(uint32_t a, uint16_t v)
{
	memcpy(ram + a, &v, 2);
}

static uint64_t mk_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	uint32_t lo = (limit & 0xffff) | (base << 16);
	uint32_t hi = ((base >> 16) & 0xff) | ((uint32_t)access << 8) | (limit & 0xf0000) |
	              ((uint32_t)flags << 20) | (base & 0xff000000u);
	return ((uint64_t)hi << 32) | lo;
}
static uint64_t mk_gate(uint16_t sel, uint32_t off, uint8_t access, int count)
{
	uint32_t lo = (off & 0xffff) | ((uint32_t)sel << 16);
	uint32_t hi = (off & 0xffff0000u) | ((uint32_t)access << 8) | (uint32_t)(count & 0x1f);
	return ((uint64_t)hi << 32) | lo;
}
static void set_gdt(uint16_t sel, uint64_t d)
{
	wr32(GDT_BASE + (sel & 0xfff8), (uint32_t)d);
	wr32(GDT_BASE + (sel & 0xfff8) + 4, (uint32_t)(d >> 32));
}
static uint64_t get_gdt(uint16_t sel)
{
	return ((uint64_t)rd32(GDT_BASE + (sel & 0xfff8) + 4) << 32) | rd32(GDT_BASE + (sel & 0xfff8));
}
static void set_idt(int vec, uint64_t g)
{
	wr32(IDT_BASE + 8u * (uint32_t)vec, (uint32_t)g);
	wr32(IDT_BASE + 8u * (uint32_t)vec + 4, (uint32_t)(g >> 32));
}

struct fixture {
	struct cpu *cpu;
};

/* Loads a segment register cache straight from the GDT (test setup only). */
static void put_seg(struct cpu *cpu, int s, uint16_t sel)
{
	seg_from_desc(&cpu->seg[s], sel, get_gdt(sel));
}

/* Protected mode, ring `cpl`, flat segments, TR = TSS A (busy). */
static void enter_pmode(struct cpu *cpu, int cpl)
{
	cpu->cr0 |= CR0_PE;
	cpu->gdtr = (struct dtr){GDT_BASE, 0x100 - 1};
	cpu->idtr = (struct dtr){IDT_BASE, 256 * 8 - 1};
	set_gdt(SEL_TSS_A, mk_desc(TSS_A, 0x67, 0x8b, 0)); /* busy */
	seg_from_desc(&cpu->tr, SEL_TSS_A, get_gdt(SEL_TSS_A));
	seg_set_null(&cpu->ldtr, 0);
	uint16_t cs = cpl ? SEL_CODE3 : SEL_CODE0, ds = cpl ? SEL_DATA3 : SEL_DATA0;
	put_seg(cpu, SEG_CS, cs);
	for (int s = 0; s < 6; s++)
		if (s != SEG_CS)
			put_seg(cpu, s, ds);
	cpu->cpl = (uint8_t)cpl;
	cpu->r[ESP] = cpl ? STACK3_TOP : STACK0_TOP;
	cpu->eflags = EFLAGS_1 | EFLAGS_IF;
	cpu_mode_changed(cpu);
}

static void fixture_setup(struct fixture *f, gconstpointer data)
{
	static const struct bus bus = {
		.page_ptr = t_page_ptr, .mem_read = t_mem_read, .mem_write = t_mem_write,
		.io_read = t_io_read, .io_write = t_io_write, .intr_ack = t_intr_ack,
		.shutdown = t_shutdown,
	};
	ram = g_malloc0(RAM_SIZE);
	f->cpu = cpu_new(&bus);
	set_gdt(SEL_CODE0, mk_desc(0, 0xfffff, ACC_CODE, FL_32));
	set_gdt(SEL_DATA0, mk_desc(0, 0xfffff, ACC_DATA, FL_32));
	set_gdt(SEL_CODE3, mk_desc(0, 0xfffff, ACC_CODE | ACC_DPL3, FL_32));
	set_gdt(SEL_DATA3, mk_desc(0, 0xfffff, ACC_DATA | ACC_DPL3, FL_32));
	set_gdt(SEL_TSS_B, mk_desc(TSS_B, 0x67, 0x89, 0));
	set_gdt(SEL_TSS_C, mk_desc(TSS_C, 0x2b, 0x81, 0));
	set_gdt(SEL_CGATE, mk_gate(SEL_CODE0, 0x5000, 0x8c | ACC_DPL3, 2));
	set_gdt(SEL_CGATE16, mk_gate(SEL_CODE0, 0x5100, 0x84 | ACC_DPL3, 1));
	set_gdt(SEL_EDOWN32, mk_desc(0x100000, 0x0fff, 0x96, 0x4));      /* expand-down, B=1 */
	set_gdt(SEL_EDOWN16, mk_desc(0x100000, 0x0fff, 0x96, 0x0));      /* expand-down, B=0 */
	set_gdt(SEL_NP_DATA, mk_desc(0, 0xffff, 0x12, 0));               /* not present */
	set_gdt(SEL_CODE0_16, mk_desc(0, 0xffff, ACC_CODE, 0));
	set_gdt(SEL_TGATE, mk_gate(SEL_TSS_B, 0, 0x85 | ACC_DPL3, 0));
	set_gdt(SEL_RO_DATA, mk_desc(0, 0xffff, 0x90, 0));
	set_gdt(SEL_XO_CODE, mk_desc(0, 0xffff, 0x98, 0));
	/* TSS A: the ring-0 stack. */
	wr32(TSS_A + TSS32_ESP0, STACK0_TOP);
	wr16(TSS_A + TSS32_SS0, SEL_DATA0);
}

static void fixture_teardown(struct fixture *f, gconstpointer data)
{
	cpu_free(f->cpu);
	g_free(ram);
}

/* }====================================================================== */

/* {====== catching guest faults ====== */

/* Error code of the last fault TRY caught. */
static int fault_err;

/* Runs `body` and returns the vector it raised, or -1 (fault_err gets the error code). */
#define TRY(cpu, body)                                                                             \
	({                                                                                         \
		volatile int vec_ = -1;                                                            \
		if (setjmp((cpu)->fault_jmp) == 0) {                                               \
			body;                                                                      \
		} else {                                                                           \
			vec_ = (cpu)->exc_vec;                                                     \
			fault_err = (cpu)->exc_err;                                                \
		}                                                                                  \
		vec_;                                                                              \
	})

static void expect_fault(int got, int vec, int want_err)
{
	g_assert_cmpint(got, ==, vec);
	g_assert_cmpint(fault_err, ==, want_err);
}

/* }====================================================================== */

/* {====== /cpu/seg ====== */

/* Expand-down segments: valid offsets are limit+1 up to 4 GiB or 64 KiB by B. */
static void test_seg_expand_down(struct fixture *f, gconstpointer data)
{
	struct cpu *cpu = f->cpu;
	enter_pmode(cpu, 0);
	seg_load(cpu, SEG_DS, SEL_EDOWN32);
	g_assert_cmpuint(cpu->seg_ok[SEG_DS], ==, 0); /* never the fast path */
	g_assert_cmpuint(seg_check(cpu, SEG_DS, 0x1000, 4, ACC_WRITE), ==, 0x101000);
	g_assert_cmpuint(seg_check(cpu, SEG_DS, 0xffffffffu, 1, ACC_READ), ==, 0x100000 + 0xffffffffu);
	expect_fault(TRY(cpu, seg_check(cpu, SEG_DS, 0xfff, 1, ACC_READ)), EXC_GP, 0);
	expect_fault(TRY(cpu, seg_check(cpu, SEG_DS, 0xffe, 4, ACC_READ)), EXC_GP, 0);
	expect_fault(TRY(cpu, seg_check(cpu, SEG_DS, 0xfffffffeu, 4, ACC_READ)), EXC_GP, 0);
	/* B = 0: the upper bound is 0xFFFF. */
	seg_load(cpu, SEG_ES, SEL_EDOWN16);
	g_assert_cmpuint(seg_check(cpu, SEG_ES, 0xfffe, 2, ACC_READ), ==, 0x10fffe);
	expect_fault(TRY(cpu, seg_check(cpu, SEG_ES, 0xffff, 2, ACC_READ)), EXC_GP, 0);
	expect_fault(TRY(cpu, seg_check(cpu, SEG_ES, 0x10000, 1, ACC_READ)), EXC_GP, 0);
	/* The same segment as SS faults with #SS(0). */
	seg_load(cpu, SEG_SS, SEL_EDOWN16);
	g_assert_false(cpu->stack32);
	g_assert_cmpuint(cpu->intr_shadow, ==, 1);
	expect_fault(TRY(cpu, seg_check(cpu, SEG_SS, 0x0, 2, ACC_WRITE)), EXC_SS, 0);
}

/* Loading segment registers: null SS, bad types, not present, accessed bit. */
static void test_seg_load_rules(struct fixture *f, gconstpointer data)
{
	struct cpu *cpu = f->cpu;
	enter_pmode(cpu, 0);
	expect_fault(TRY(cpu, seg_load(cpu, SEG_SS, 0)), EXC_GP, 0);
	expect_fault(TRY(cpu, seg_load(cpu, SEG_SS, SEL_RO_DATA)), EXC_GP, SEL_RO_DATA);
	expect_fault(TRY(cpu, seg_load(cpu, SEG_SS, SEL_DATA3)), EXC_GP, SEL_DATA3 & ~3);
	expect_fault(TRY(cpu, seg_load(cpu, SEG_SS, SEL_NP_DATA)), EXC_SS, SEL_NP_DATA);
	expect_fault(TRY(cpu, seg_load(cpu, SEG_DS, SEL_NP_DATA)), EXC_NP, SEL_NP_DATA);
	expect_fault(TRY(cpu, seg_load(cpu, SEG_DS, SEL_XO_CODE)), EXC_GP, SEL_XO_CODE);
	expect_fault(TRY(cpu, seg_load(cpu, SEG_DS, SEL_TSS_B)), EXC_GP, SEL_TSS_B);
	expect_fault(TRY(cpu, seg_load(cpu, SEG_DS, 0x1f8)), EXC_GP, 0x1f8);
	/* A null selector loads into DS; using it faults #GP(0). */
	g_assert_cmpint(TRY(cpu, seg_load(cpu, SEG_DS, 0)), ==, -1);
	expect_fault(TRY(cpu, seg_check(cpu, SEG_DS, 0, 1, ACC_READ)), EXC_GP, 0);
	/* Read-only data: reads pass, writes #GP(0); the accessed bit lands in memory. */
	g_assert_cmpint(TRY(cpu, seg_load(cpu, SEG_ES, SEL_RO_DATA)), ==, -1);
	g_assert_cmpuint(get_gdt(SEL_RO_DATA) >> 40 & 1, ==, 1);
	g_assert_cmpuint(cpu->seg_ok[SEG_ES], ==, 1);
	expect_fault(TRY(cpu, seg_check(cpu, SEG_ES, 0, 1, ACC_WRITE)), EXC_GP, 0);
	/* Ring 3 may not load ring-0 data. */
	enter_pmode(cpu, 3);
	expect_fault(TRY(cpu, seg_load(cpu, SEG_DS, SEL_DATA0)), EXC_GP, SEL_DATA0);
	expect_fault(TRY(cpu, seg_load(cpu, SEG_FS, SEL_DATA0 | 3)), EXC_GP, SEL_DATA0);
	/* RPL 0 on a ring-3 segment is fine: only RPL > DPL or CPL > DPL fault. */
	g_assert_cmpint(TRY(cpu, seg_load(cpu, SEG_FS, SEL_DATA3 & ~3)), ==, -1);
}

/* Real mode: base = sel << 4, the cached limit survives, crossing it faults. */
static void test_seg_real_mode(struct fixture *f, gconstpointer data)
{
	struct cpu *cpu = f->cpu;
	cpu->seg[SEG_FS].limit = 0xffffffffu; /* "unreal" */
	seg_load(cpu, SEG_FS, 0x1234);
	g_assert_cmpuint(cpu->seg[SEG_FS].base, ==, 0x12340);
	g_assert_cmpuint(cpu->seg[SEG_FS].limit, ==, 0xffffffffu);
	seg_load(cpu, SEG_DS, 0x2000);
	expect_fault(TRY(cpu, seg_check(cpu, SEG_DS, 0xffff, 2, ACC_READ)), EXC_GP, 0);
	expect_fault(TRY(cpu, seg_check(cpu, SEG_SS, 0xffff, 2, ACC_READ)), EXC_SS, 0);
	g_assert_cmpuint(seg_check(cpu, SEG_DS, 0xfffe, 2, ACC_WRITE), ==, 0x2fffe);
}

/* }====================================================================== */

/* {====== /cpu/gate ====== */

/* CALL through a call gate from ring 3 to ring 0 copies two dword parameters;
 * RET 8 returns to ring 3, releasing them on both stacks. */
static void test_gate_call_params(struct fixture *f, gconstpointer data)
{
	struct cpu *cpu = f->cpu;
	enter_pmode(cpu, 3);
	cpu->r[ESP] = STACK3_TOP - 8;
	wr32(STACK3_TOP - 8, 0x11111111); /* parameter 1 (pushed last) */
	wr32(STACK3_TOP - 4, 0x22222222); /* parameter 2 */
	cpu->eip = 0x4321;
	g_assert_cmpint(TRY(cpu, cpu_far_call(cpu, SEL_CGATE, 0xdeadbeef, 4)), ==, -1);
	g_assert_cmpuint(cpu->cpl, ==, 0);
	g_assert_cmpuint(cpu->seg[SEG_CS].sel, ==, SEL_CODE0);
	g_assert_cmpuint(cpu->eip, ==, 0x5000);
	g_assert_cmpuint(cpu->seg[SEG_SS].sel, ==, SEL_DATA0);
	uint32_t sp = STACK0_TOP - 24;
	g_assert_cmpuint(cpu->r[ESP], ==, sp);
	g_assert_cmpuint(rd32(sp + 20), ==, SEL_DATA3);
	g_assert_cmpuint(rd32(sp + 16), ==, STACK3_TOP - 8);
	g_assert_cmpuint(rd32(sp + 12), ==, 0x22222222);
	g_assert_cmpuint(rd32(sp + 8), ==, 0x11111111);
	g_assert_cmpuint(rd32(sp + 4), ==, SEL_CODE3);
	g_assert_cmpuint(rd32(sp + 0), ==, 0x4321);
	/* The handler leaves a ring-0 selector in DS: the return nulls it. */
	seg_load(cpu, SEG_DS, SEL_DATA0);
	g_assert_cmpint(TRY(cpu, cpu_far_ret(cpu, 4, 8)), ==, -1);
	g_assert_cmpuint(cpu->cpl, ==, 3);
	g_assert_cmpuint(cpu->seg[SEG_CS].sel, ==, SEL_CODE3);
	g_assert_cmpuint(cpu->seg[SEG_SS].sel, ==, SEL_DATA3);
	g_assert_cmpuint(cpu->eip, ==, 0x4321);
	g_assert_cmpuint(cpu->r[ESP], ==, STACK3_TOP);
	g_assert_cmpuint(cpu->seg[SEG_DS].sel, ==, 0);
	g_assert_cmpuint(cpu->seg[SEG_ES].sel, ==, SEL_DATA3);
	g_assert_true(cpu->user);
}

/* A 16-bit call gate pushes words and copies word parameters. */
static void test_gate_call16(struct fixture *f, gconstpointer data)
{
	struct cpu *cpu = f->cpu;
	enter_pmode(cpu, 3);
	cpu->r[ESP] = STACK3_TOP - 2;
	wr16(STACK3_TOP - 2, 0xabcd);
	cpu->eip = 0x1234;
	g_assert_cmpint(TRY(cpu, cpu_far_call(cpu, SEL_CGATE16, 0, 4)), ==, -1);
	uint32_t sp = STACK0_TOP - 10;
	g_assert_cmpuint(cpu->r[ESP], ==, sp);
	g_assert_cmpuint(cpu->eip, ==, 0x5100);
	g_assert_cmpuint(rd16(sp + 8), ==, SEL_DATA3);
	g_assert_cmpuint(rd16(sp + 6), ==, (STACK3_TOP - 2) & 0xffff);
	g_assert_cmpuint(rd16(sp + 4), ==, 0xabcd);
	g_assert_cmpuint(rd16(sp + 2), ==, SEL_CODE3);
	g_assert_cmpuint(rd16(sp + 0), ==, 0x1234);
}

/* Privilege violations of far transfers and the strict-mode trap. */
static void test_gate_violations(struct fixture *f, gconstpointer data)
{
	struct cpu *cpu = f->cpu;
	enter_pmode(cpu, 3);
	/* JMP/CALL straight to ring-0 code from ring 3. */
	expect_fault(TRY(cpu, cpu_far_jump(cpu, SEL_CODE0, 0, 4)), EXC_GP, SEL_CODE0);
	expect_fault(TRY(cpu, cpu_far_call(cpu, SEL_CODE0 | 3, 0, 4)), EXC_GP, SEL_CODE0);
	/* JMP through a call gate to more privileged code is not allowed. */
	expect_fault(TRY(cpu, cpu_far_jump(cpu, SEL_CGATE, 0, 4)), EXC_GP, SEL_CODE0);
	/* Null and data selectors. */
	expect_fault(TRY(cpu, cpu_far_jump(cpu, 0, 0, 4)), EXC_GP, 0);
	expect_fault(TRY(cpu, cpu_far_jump(cpu, SEL_DATA3, 0, 4)), EXC_GP, SEL_DATA3 & ~3);
	/* Strict mode: far transfers at CPL > 0 trap with #GP(0) first. */
	cpu->strict = true;
	expect_fault(TRY(cpu, cpu_far_call(cpu, SEL_CGATE, 0, 4)), EXC_GP, 0);
	expect_fault(TRY(cpu, cpu_iret(cpu, 4)), EXC_GP, 0);
	cpu->strict = false;
	/* Same-level far JMP within ring 3 works and checks the limit. */
	g_assert_cmpint(TRY(cpu, cpu_far_jump(cpu, SEL_CODE3, 0x7777, 4)), ==, -1);
	g_assert_cmpuint(cpu->eip, ==, 0x7777);
	enter_pmode(cpu, 0);
	expect_fault(TRY(cpu, cpu_far_jump(cpu, SEL_CODE0_16, 0x10000, 4)), EXC_GP, 0);
	g_assert_cmpint(TRY(cpu, cpu_far_jump(cpu, SEL_CODE0_16, 0x10000, 2)), ==, -1);
	g_assert_cmpuint(cpu->eip, ==, 0);
	g_assert_false(cpu->code32);
}

/* Real mode far CALL/RET: CS:IP pushed, base = sel << 4. */
static void test_gate_real_call_ret(struct fixture *f, gconstpointer data)
{
	struct cpu *cpu = f->cpu;
	cpu_set_seg_real(cpu, SEG_CS, 0x1000);
	cpu_set_seg_real(cpu, SEG_SS, 0x0000);
	cpu->r[ESP] = 0x7000;
	cpu->eip = 0x0123;
	g_assert_cmpint(TRY(cpu, cpu_far_call(cpu, 0x2000, 0x0456, 2)), ==, -1);
	g_assert_cmpuint(cpu->seg[SEG_CS].base, ==, 0x20000);
	g_assert_cmpuint(cpu->eip, ==, 0x456);
	g_assert_cmpuint(rd16(0x6ffe), ==, 0x1000);
	g_assert_cmpuint(rd16(0x6ffc), ==, 0x0123);
	g_assert_cmpint(TRY(cpu, cpu_far_ret(cpu, 2, 4)), ==, -1);
	g_assert_cmpuint(cpu->seg[SEG_CS].sel, ==, 0x1000);
	g_assert_cmpuint(cpu->eip, ==, 0x123);
	g_assert_cmpuint(cpu->r[ESP], ==, 0x7004);
}

/* }====================================================================== */

/* {====== /cpu/intr ====== */

/* A software interrupt from ring 3 through an interrupt gate: ring-0 stack
 * from the TSS, frame SS ESP EFLAGS CS EIP, IF cleared; IRET comes back. */
static void test_intr_ring3_int_gate(struct fixture *f, gconstpointer data)
{
	struct cpu *cpu = f->cpu;
	set_idt(0x80, mk_gate(SEL_CODE0, 0x6000, 0x8e | ACC_DPL3, 0));
	enter_pmode(cpu, 3);
	cpu->eflags |= EFLAGS_TF;
	cpu->eip = 0x4444;
	g_assert_cmpint(TRY(cpu, cpu_deliver(cpu, 0x80, ERR_NONE, true, false)), ==, -1);
	uint32_t sp = STACK0_TOP - 20;
	g_assert_cmpuint(cpu->r[ESP], ==, sp);
	g_assert_cmpuint(cpu->cpl, ==, 0);
	g_assert_cmpuint(cpu->eip, ==, 0x6000);
	g_assert_cmpuint(rd32(sp + 16), ==, SEL_DATA3);
	g_assert_cmpuint(rd32(sp + 12), ==, STACK3_TOP);
	g_assert_cmpuint(rd32(sp + 8) & (EFLAGS_IF | EFLAGS_TF), ==, EFLAGS_IF | EFLAGS_TF);
	g_assert_cmpuint(rd32(sp + 4), ==, SEL_CODE3);
	g_assert_cmpuint(rd32(sp + 0), ==, 0x4444);
	g_assert_cmpuint(cpu->eflags & (EFLAGS_IF | EFLAGS_TF), ==, 0);
	g_assert_cmpint(TRY(cpu, cpu_iret(cpu, 4)), ==, -1);
	g_assert_cmpuint(cpu->cpl, ==, 3);
	g_assert_cmpuint(cpu->r[ESP], ==, STACK3_TOP);
	g_assert_cmpuint(cpu->eip, ==, 0x4444);
	g_assert_cmpuint(cpu->eflags & EFLAGS_IF, ==, EFLAGS_IF);
	/* A gate with DPL 0: INT n from ring 3 is #GP(vec*8+2); an exception is delivered. */
	set_idt(0x0d, mk_gate(SEL_CODE0, 0x6100, 0x8f, 0));
	expect_fault(TRY(cpu, cpu_deliver(cpu, 0x0d, ERR_NONE, true, false)), EXC_GP, 0x0d * 8 + 2);
	g_assert_cmpint(TRY(cpu, cpu_deliver(cpu, EXC_GP, 0x1234, false, false)), ==, -1);
	sp = STACK0_TOP - 24;
	g_assert_cmpuint(cpu->r[ESP], ==, sp);
	g_assert_cmpuint(rd32(sp), ==, 0x1234);
	g_assert_cmpuint(cpu->eflags & EFLAGS_IF, ==, EFLAGS_IF); /* trap gate keeps IF */
}

/* A not-present gate during delivery of an external event: #NP(vec*8+2+EXT);
 * beyond the IDT limit: #GP(vec*8+2+EXT). */
static void test_intr_np_ext(struct fixture *f, gconstpointer data)
{
	struct cpu *cpu = f->cpu;
	enter_pmode(cpu, 0);
	set_idt(0x30, mk_gate(SEL_CODE0, 0x6000, 0x0e, 0));
	expect_fault(TRY(cpu, cpu_deliver(cpu, 0x30, ERR_NONE, false, true)), EXC_NP, 0x30 * 8 + 3);
	expect_fault(TRY(cpu, cpu_deliver(cpu, 0x30, ERR_NONE, true, false)), EXC_NP, 0x30 * 8 + 2);
	cpu->idtr.limit = 0x30 * 8 - 1;
	expect_fault(TRY(cpu, cpu_deliver(cpu, 0x30, ERR_NONE, false, true)), EXC_GP, 0x30 * 8 + 3);
	/* A gate naming a not-present code segment: #NP(sel + EXT). */
	cpu->idtr.limit = 256 * 8 - 1;
	set_gdt(0x88, mk_desc(0, 0xffff, 0x1a, 0));
	set_idt(0x31, mk_gate(0x88, 0x6000, 0x8e, 0));
	expect_fault(TRY(cpu, cpu_deliver(cpu, 0x31, ERR_NONE, false, true)), EXC_NP, 0x89);
}

/* IRETD at CPL 0 with VM in the image enters v86 mode; an interrupt from
 * v86 mode pushes GS FS DS ES SS ESP EFLAGS CS EIP and nulls the data segments. */
static void test_intr_v86_round_trip(struct fixture *f, gconstpointer data)
{
	struct cpu *cpu = f->cpu;
	enter_pmode(cpu, 0);
	set_idt(0x21, mk_gate(SEL_CODE0, 0x6200, 0x8e | ACC_DPL3, 0));
	uint32_t sp = STACK0_TOP - 36;
	uint32_t frame[9] = {0x0100, 0x2000, EFLAGS_VM | EFLAGS_IF | (3u << EFLAGS_IOPL_SHIFT) | EFLAGS_1,
	                     0xfffe, 0x3000, 0x4000, 0x5000, 0x6000, 0x7000};
	for (int i = 0; i < 9; i++)
		wr32(sp + 4u * (uint32_t)i, frame[i]);
	cpu->r[ESP] = sp;
	g_assert_cmpint(TRY(cpu, cpu_iret(cpu, 4)), ==, -1);
	g_assert_true(cpu_v86(cpu));
	g_assert_cmpuint(cpu->cpl, ==, 3);
	g_assert_cmpuint(cpu->eip, ==, 0x100);
	g_assert_cmpuint(cpu->seg[SEG_CS].base, ==, 0x20000);
	g_assert_cmpuint(cpu->seg[SEG_SS].base, ==, 0x30000);
	g_assert_cmpuint(cpu->seg[SEG_GS].base, ==, 0x70000);
	g_assert_cmpuint(cpu->seg[SEG_DS].limit, ==, 0xffff);
	g_assert_cmpuint(cpu->r[ESP], ==, 0xfffe);
	g_assert_false(cpu->code32);
	g_assert_false(cpu->stack32);
	/* INT 21h from v86 (IOPL 3). */
	cpu->eip = 0x0102;
	g_assert_cmpint(TRY(cpu, cpu_deliver(cpu, 0x21, ERR_NONE, true, false)), ==, -1);
	g_assert_false(cpu_v86(cpu));
	g_assert_cmpuint(cpu->cpl, ==, 0);
	g_assert_cmpuint(cpu->eip, ==, 0x6200);
	g_assert_cmpuint(cpu->r[ESP], ==, STACK0_TOP - 36);
	sp = cpu->r[ESP];
	uint32_t want[9] = {0x0102, 0x2000, 0, 0xfffe, 0x3000, 0x4000, 0x5000, 0x6000, 0x7000};
	for (int i = 0; i < 9; i++)
		if (i != 2)
			g_assert_cmpuint(rd32(sp + 4u * (uint32_t)i), ==, want[i]);
	g_assert_cmpuint(rd32(sp + 8) & EFLAGS_VM, ==, EFLAGS_VM);
	for (int s = 0; s < 6; s++)
		if (s == SEG_ES || s == SEG_DS || s == SEG_FS || s == SEG_GS)
			g_assert_cmpuint(cpu->seg[s].sel, ==, 0);
	g_assert_cmpuint(cpu->eflags & (EFLAGS_VM | EFLAGS_IF), ==, 0);
	/* And back. */
	g_assert_cmpint(TRY(cpu, cpu_iret(cpu, 4)), ==, -1);
	g_assert_true(cpu_v86(cpu));
	g_assert_cmpuint(cpu->eip, ==, 0x102);
	g_assert_cmpuint(cpu->seg[SEG_DS].base, ==, 0x50000);
	/* IOPL < 3: IRET in v86 mode is #GP(0). */
	cpu->eflags &= ~EFLAGS_IOPL;
	expect_fault(TRY(cpu, cpu_iret(cpu, 2)), EXC_GP, 0);
	/* A same-level (ring-3 code) handler cannot be entered from v86. */
	set_idt(0x22, mk_gate(SEL_CODE3 & ~3, 0x6200, 0x8e | ACC_DPL3, 0));
	expect_fault(TRY(cpu, cpu_deliver(cpu, 0x22, ERR_NONE, true, false)), EXC_GP, SEL_CODE3 & ~3);
}

/* Real mode: vector from the IVT, FLAGS CS IP pushed, IF and TF cleared. */
static void test_intr_real_mode(struct fixture *f, gconstpointer data)
{
	struct cpu *cpu = f->cpu;
	cpu_set_seg_real(cpu, SEG_CS, 0x1000);
	cpu_set_seg_real(cpu, SEG_SS, 0);
	cpu->r[ESP] = 0x7000;
	cpu->eip = 0x55;
	cpu->eflags = EFLAGS_1 | EFLAGS_IF | EFLAGS_TF | EFLAGS_CF;
	wr32(0x10 * 4, 0xc0000123);
	g_assert_cmpint(TRY(cpu, cpu_deliver(cpu, 0x10, ERR_NONE, true, false)), ==, -1);
	g_assert_cmpuint(cpu->seg[SEG_CS].base, ==, 0xc0000);
	g_assert_cmpuint(cpu->eip, ==, 0x123);
	g_assert_cmpuint(rd16(0x6ffe), ==, EFLAGS_1 | EFLAGS_IF | EFLAGS_TF | EFLAGS_CF);
	g_assert_cmpuint(rd16(0x6ffc), ==, 0x1000);
	g_assert_cmpuint(rd16(0x6ffa), ==, 0x55);
	g_assert_cmpuint(cpu->eflags & (EFLAGS_IF | EFLAGS_TF), ==, 0);
	g_assert_cmpint(TRY(cpu, cpu_iret(cpu, 2)), ==, -1);
	g_assert_cmpuint(cpu->eip, ==, 0x55);
	g_assert_cmpuint(cpu->eflags & (EFLAGS_IF | EFLAGS_TF | EFLAGS_CF), ==, EFLAGS_IF | EFLAGS_TF | EFLAGS_CF);
}

/* Running code: INT 80h from ring 3 and IRETD back, then HLT at ring 3
 * faults #GP(0), delivered by the run loop through a trap gate with its
 * error code and the faulting EIP on the ring-0 stack. */
static void test_intr_run_ring3(struct fixture *f, gconstpointer data)
{
	struct cpu *cpu = f->cpu;
	static const uint8_t user[] = {0xcd, 0x80, 0xf4}; /* int 0x80; hlt */
	memcpy(ram + 0x4000, user, sizeof user);
	ram[0x6000] = 0xcf; /* iretd */
	ram[0x6100] = 0xf4; /* hlt */
	set_idt(0x80, mk_gate(SEL_CODE0, 0x6000, 0x8e | ACC_DPL3, 0));
	set_idt(EXC_GP, mk_gate(SEL_CODE0, 0x6100, 0x8f, 0));
	enter_pmode(cpu, 3);
	cpu->eip = 0x4000;
	cpu_invalidate_phys(cpu, 0, RAM_SIZE);
	g_assert_cmpint(cpu_run(cpu, 10), ==, CPU_STOP_HLT);
	g_assert_cmpuint(cpu->cpl, ==, 0);
	g_assert_cmpuint(cpu->eip, ==, 0x6101);
	uint32_t sp = STACK0_TOP - 24;
	g_assert_cmpuint(cpu->r[ESP], ==, sp);
	g_assert_cmpuint(rd32(sp + 0), ==, 0);        /* error code */
	g_assert_cmpuint(rd32(sp + 4), ==, 0x4002);   /* the HLT */
	g_assert_cmpuint(rd32(sp + 8), ==, SEL_CODE3);
	g_assert_cmpuint(rd32(sp + 16), ==, STACK3_TOP);
	g_assert_cmpuint(rd32(sp + 20), ==, SEL_DATA3);
}

/* Running v86 code with IOPL 0: INT 21h is #GP(0), delivered to ring 0
 * with the v86 segment registers and the error code on the TSS stack. */
static void test_intr_run_v86_int_gp(struct fixture *f, gconstpointer data)
{
	struct cpu *cpu = f->cpu;
	ram[0x20100] = 0xcd; /* int 0x21 at 2000:0100 */
	ram[0x20101] = 0x21;
	ram[0x6100] = 0xf4;  /* hlt */
	set_idt(EXC_GP, mk_gate(SEL_CODE0, 0x6100, 0x8e, 0));
	enter_pmode(cpu, 0);
	uint32_t sp = STACK0_TOP - 36;
	uint32_t frame[9] = {0x0100, 0x2000, EFLAGS_VM | EFLAGS_1, 0x1000, 0x3000, 0x4000, 0x5000, 0x6000, 0x7000};
	for (int i = 0; i < 9; i++)
		wr32(sp + 4u * (uint32_t)i, frame[i]);
	cpu->r[ESP] = sp;
	ram[0x5000] = 0xcf; /* iretd at ring 0 enters the v86 code */
	cpu->eip = 0x5000;
	cpu_invalidate_phys(cpu, 0, RAM_SIZE);
	g_assert_cmpint(cpu_run(cpu, 10), ==, CPU_STOP_HLT);
	g_assert_false(cpu_v86(cpu));
	g_assert_cmpuint(cpu->eip, ==, 0x6101);
	sp = STACK0_TOP - 40;
	g_assert_cmpuint(cpu->r[ESP], ==, sp);
	uint32_t want[10] = {0, 0x0100, 0x2000, 0, 0x1000, 0x3000, 0x4000, 0x5000, 0x6000, 0x7000};
	for (int i = 0; i < 10; i++)
		if (i != 3)
			g_assert_cmpuint(rd32(sp + 4u * (uint32_t)i), ==, want[i]);
	g_assert_cmpuint(rd32(sp + 12) & EFLAGS_VM, ==, EFLAGS_VM);
	g_assert_cmpuint(cpu->seg[SEG_DS].sel, ==, 0);
}

/* }====================================================================== */

/* {====== /cpu/task ====== */

static void fill_tss_b(void)
{
	wr32(TSS_B + TSS32_EIP, 0x5500);
	wr32(TSS_B + TSS32_EFLAGS, EFLAGS_1 | EFLAGS_CF);
	for (int i = 0; i < 8; i++)
		wr32(TSS_B + TSS32_EAX + 4u * (uint32_t)i, 0xb0000000u + (uint32_t)i);
	wr32(TSS_B + TSS32_EAX + 4 * ESP, 0x8800);
	uint16_t sel[6] = {SEL_DATA0, SEL_CODE0, SEL_DATA0, SEL_DATA0, 0, SEL_DATA0};
	for (int i = 0; i < 6; i++)
		wr16(TSS_B + TSS32_ES + 4u * (uint32_t)i, sel[i]);
}

/* JMP to an available TSS: state saved, old busy cleared, new busy set. */
static void test_task_jmp_busy(struct fixture *f, gconstpointer data)
{
	struct cpu *cpu = f->cpu;
	enter_pmode(cpu, 0);
	fill_tss_b();
	cpu->r[EAX] = 0xaaaa;
	cpu->eip = 0x1111;
	g_assert_cmpint(TRY(cpu, cpu_far_jump(cpu, SEL_TSS_B, 0, 4)), ==, -1);
	g_assert_cmpuint(cpu->tr.sel, ==, SEL_TSS_B);
	g_assert_cmpuint(cpu->eip, ==, 0x5500);
	g_assert_cmpuint(cpu->r[EBX], ==, 0xb0000003u);
	g_assert_cmpuint(cpu->r[ESP], ==, 0x8800);
	g_assert_cmpuint(cpu->seg[SEG_FS].sel, ==, 0);
	g_assert_cmpuint(cpu->seg[SEG_CS].sel, ==, SEL_CODE0);
	g_assert_true(cpu->code32);
	g_assert_cmpuint(cpu->cr0 & CR0_TS, ==, CR0_TS);
	g_assert_cmpuint(desc_type(get_gdt(SEL_TSS_A)), ==, SYS_TSS32_AVAIL);
	g_assert_cmpuint(desc_type(get_gdt(SEL_TSS_B)), ==, SYS_TSS32_BUSY);
	g_assert_cmpuint(rd32(TSS_A + TSS32_EIP), ==, 0x1111);
	g_assert_cmpuint(rd32(TSS_A + TSS32_EAX), ==, 0xaaaa);
	g_assert_cmpuint(rd16(TSS_A + TSS32_ES + 4), ==, SEL_CODE0);
	g_assert_cmpuint(cpu->eflags & EFLAGS_NT, ==, 0);
	/* JMP to the busy TSS B again: #GP(sel). */
	expect_fault(TRY(cpu, cpu_far_jump(cpu, SEL_TSS_B, 0, 4)), EXC_GP, SEL_TSS_B);
	/* A TSS with a short limit: #TS(sel). */
	set_gdt(SEL_TSS_A, mk_desc(TSS_A, 0x60, 0x89, 0));
	expect_fault(TRY(cpu, cpu_far_jump(cpu, SEL_TSS_A, 0, 4)), EXC_TS, SEL_TSS_A);
}

/* CALL through a task gate nests (back link, NT); IRET returns through the link. */
static void test_task_call_iret(struct fixture *f, gconstpointer data)
{
	struct cpu *cpu = f->cpu;
	enter_pmode(cpu, 3);
	fill_tss_b();
	cpu->eip = 0x2222;
	cpu->r[ECX] = 0xcccc;
	g_assert_cmpint(TRY(cpu, cpu_far_call(cpu, SEL_TGATE, 0, 4)), ==, -1);
	g_assert_cmpuint(cpu->tr.sel, ==, SEL_TSS_B);
	g_assert_cmpuint(cpu->cpl, ==, 0);
	g_assert_cmpuint(rd16(TSS_B + TSS32_LINK), ==, SEL_TSS_A);
	g_assert_cmpuint(cpu->eflags & EFLAGS_NT, ==, EFLAGS_NT);
	g_assert_cmpuint(cpu->eflags & EFLAGS_CF, ==, EFLAGS_CF);
	g_assert_cmpuint(desc_type(get_gdt(SEL_TSS_A)), ==, SYS_TSS32_BUSY);
	g_assert_cmpuint(desc_type(get_gdt(SEL_TSS_B)), ==, SYS_TSS32_BUSY);
	cpu->r[ECX] = 0;
	g_assert_cmpint(TRY(cpu, cpu_iret(cpu, 4)), ==, -1);
	g_assert_cmpuint(cpu->tr.sel, ==, SEL_TSS_A);
	g_assert_cmpuint(cpu->eip, ==, 0x2222);
	g_assert_cmpuint(cpu->r[ECX], ==, 0xcccc);
	g_assert_cmpuint(cpu->cpl, ==, 3);
	g_assert_cmpuint(cpu->seg[SEG_SS].sel, ==, SEL_DATA3);
	g_assert_cmpuint(desc_type(get_gdt(SEL_TSS_B)), ==, SYS_TSS32_AVAIL);
	g_assert_cmpuint(rd32(TSS_B + TSS32_EFLAGS) & EFLAGS_NT, ==, 0);
	g_assert_cmpuint(cpu->eflags & EFLAGS_NT, ==, 0);
}

/* An exception through a task gate pushes its error code on the new task's
 * stack; a bad selector in the new TSS faults in the new task's context. */
static void test_task_int_gate_error(struct fixture *f, gconstpointer data)
{
	struct cpu *cpu = f->cpu;
	enter_pmode(cpu, 0);
	fill_tss_b();
	set_idt(EXC_NP, mk_gate(SEL_TSS_B, 0, 0x85, 0));
	g_assert_cmpint(TRY(cpu, cpu_deliver(cpu, EXC_NP, 0x58, false, true)), ==, -1);
	g_assert_cmpuint(cpu->tr.sel, ==, SEL_TSS_B);
	g_assert_cmpuint(cpu->r[ESP], ==, 0x8800 - 4);
	g_assert_cmpuint(rd32(0x8800 - 4), ==, 0x58);
	g_assert_cmpuint(rd16(TSS_B + TSS32_LINK), ==, SEL_TSS_A);
	/* 16-bit TSS C with a ring-3 SS under a ring-0 CS: #TS(SS) after the switch. */
	wr16(TSS_C + TSS16_IP, 0x77);
	wr16(TSS_C + TSS16_ES + 2, SEL_CODE0_16);
	wr16(TSS_C + TSS16_ES + 4, SEL_DATA3);
	wr16(TSS_C + TSS16_AX + 2 * ESP, 0x600);
	expect_fault(TRY(cpu, cpu_far_jump(cpu, SEL_TSS_C, 0, 4)), EXC_TS, SEL_DATA3 & ~3);
	g_assert_cmpuint(cpu->tr.sel, ==, SEL_TSS_C);
	g_assert_cmpuint(cpu->eip, ==, 0x77);
	g_assert_cmpuint(cpu->start_eip, ==, 0x77);
	g_assert_cmpuint(cpu->r[EAX], ==, 0xffff0000u);
	g_assert_cmpuint(cpu->seg[SEG_SS].sel, ==, SEL_DATA3);
}

/* }====================================================================== */

#define ADD(path, fn) g_test_add(path, struct fixture, NULL, fixture_setup, fn, fixture_teardown)

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	ADD("/cpu/seg/expand-down-limit", test_seg_expand_down);
	ADD("/cpu/seg/load-rules-null-ss-gp", test_seg_load_rules);
	ADD("/cpu/seg/real-mode-limit-kept", test_seg_real_mode);
	ADD("/cpu/gate/call-gate-param-copy-and-ret", test_gate_call_params);
	ADD("/cpu/gate/call-gate-16", test_gate_call16);
	ADD("/cpu/gate/privilege-violations", test_gate_violations);
	ADD("/cpu/gate/real-mode-far-call-ret", test_gate_real_call_ret);
	ADD("/cpu/intr/ring3-interrupt-gate-stack-switch", test_intr_ring3_int_gate);
	ADD("/cpu/intr/not-present-ext-bit", test_intr_np_ext);
	ADD("/cpu/intr/iret-to-v86-and-int-from-v86", test_intr_v86_round_trip);
	ADD("/cpu/intr/real-mode-ivt", test_intr_real_mode);
	ADD("/cpu/intr/run-ring3-int-iret-and-gp", test_intr_run_ring3);
	ADD("/cpu/intr/run-v86-int-iopl0-gp", test_intr_run_v86_int_gp);
	ADD("/cpu/task/jmp-tss-busy-bits", test_task_jmp_busy);
	ADD("/cpu/task/call-iret-back-link", test_task_call_iret);
	ADD("/cpu/task/task-gate-error-code-and-ts", test_task_int_gate_error);
	return g_test_run();
}
