/*
 * test_assist.c - the assist (engine/cpu/assist.h, docs/cpu.md): WRMSR
 * MSR_NESTLAB_RUN enters a guest described by a run block, and the guest's
 * next event comes back to the monitor as an exit, with the guest's state
 * and the event in the block and the monitor's own state as it was.
 *
 * Host-physical map (testbus.h, flat, paging off):
 *   0x0500 GDT (tb_pmode32)  0x0600 IDT    0x1000 the monitor's code
 *   0x1800 its #GP handler   0x2000 guest code   0x3000 the run block
 *   0x5000 an empty page directory   0x7000 guest stack top
 */
#include <glib.h>

#include "assist.h"
#include "cpu_int.h"
#include "testbus.h"

#define HOST_CODE 0x1000u
#define HOST_GP 0x1800u
#define GUEST_CODE 0x2000u
#define RUN 0x3000u
#define EMPTY_PD 0x5000u
#define GUEST_STACK 0x7000u
#define HOST_STACK 0x8000u
#define HOST_CR2 0xabc000u

/* mov ecx, MSR_NESTLAB_RUN; mov eax, RUN; xor edx, edx; wrmsr; hlt */
static const uint8_t host_code[] = {
	0xb9, 0x01, 0x00, 0x4c, 0x4e, 0xb8, 0x00, 0x30, 0x00, 0x00, 0x31, 0xd2, 0x0f, 0x30, 0xf4,
};
#define HOST_AFTER_WRMSR (HOST_CODE + 14)

struct fx {
	struct testbus *tb;
	struct cpu *cpu;
	struct nl_run run;
};

static void fx_setup(struct fx *f, gconstpointer data)
{
	memset(f, 0, sizeof *f);
	f->tb = tb_new();
	f->cpu = f->tb->cpu;
	tb_pmode32(f->tb);
	f->cpu->assist = true;
	tb_put(f->tb, HOST_CODE, host_code, sizeof host_code);
	tb_gate(f->tb, 0x600 + EXC_GP * 8, 0x08, HOST_GP, 0xe, 0);
	tb_put(f->tb, HOST_GP, (const uint8_t[]){ 0xf4 }, 1); /* hlt */
	f->cpu->eip = HOST_CODE;
	f->cpu->r[ESP] = HOST_STACK;
	f->cpu->cr2 = HOST_CR2;
	/* The guest: flat ring-3 segments of the same GDT, paging off, strict
	 * mode and CPUID faulting on. */
	struct nl_run *r = &f->run;
	r->version = NL_RUN_VERSION;
	uint16_t code3 = (uint16_t)(f->cpu->seg[SEG_CS].attr | 3 << DESC_DPL_SHIFT);
	uint16_t data3 = (uint16_t)(f->cpu->seg[SEG_DS].attr | 3 << DESC_DPL_SHIFT);
	for (int s = 0; s < 6; s++)
		r->seg[s] = (struct nl_seg){ 0x23, data3, 0, 0xffffffffu };
	r->seg[SEG_CS] = (struct nl_seg){ 0x1b, code3, 0, 0xffffffffu };
	r->ldtr = (struct nl_seg){ 0, 0x82, 0, 0xffff };
	r->gdt_base = 0x500;
	r->gdt_limit = 0x27;
	r->cr0 = CR0_PE | CR0_ET;
	r->eip = GUEST_CODE;
	r->r[ESP] = GUEST_STACK;
	r->eflags = EFLAGS_1;
	r->vcpl = 3;
	r->nestlab_ctl = NESTLAB_CTL_STRICT | NESTLAB_CTL_CPUID_FAULT;
}

static void fx_teardown(struct fx *f, gconstpointer data)
{
	tb_free(f->tb);
}

static void guest(struct fx *f, const void *bytes, size_t n)
{
	tb_put(f->tb, GUEST_CODE, bytes, n);
}

/* Writes the run block, runs the monitor's code to its HLT, reads the block back. */
static void run(struct fx *f)
{
	tb_put(f->tb, RUN, &f->run, sizeof f->run);
	f->cpu->eip = HOST_CODE;
	g_assert_cmpint(cpu_run(f->cpu, 1000), ==, CPU_STOP_HLT);
	memcpy(&f->run, f->tb->ram + RUN, sizeof f->run);
}

/* The monitor's state is back as it was, after the WRMSR. */
static void assert_host_back(struct fx *f)
{
	struct cpu *c = f->cpu;
	g_assert_cmphex(c->eip, ==, HOST_AFTER_WRMSR + 1);
	g_assert_cmpint(c->cpl, ==, 0);
	g_assert_cmphex(c->seg[SEG_CS].sel, ==, 0x08);
	g_assert_cmphex(c->seg[SEG_SS].sel, ==, 0x10);
	g_assert_cmphex(c->r[ESP], ==, HOST_STACK);
	g_assert_cmphex(c->r[EAX], ==, RUN);
	g_assert_cmphex(c->cr2, ==, HOST_CR2);
	g_assert_cmphex(c->idtr.base, ==, 0x600);
	g_assert_cmphex(c->msr_nestlab_ctl, ==, 0);
	g_assert_false(c->guest.on);
	g_assert_cmphex(c->assist_run, ==, 0);
}

/* RDMSR MSR_NESTLAB_CTL says whether the assist is offered. */
static void test_offered_bit(struct fx *f, gconstpointer data)
{
	/* mov ecx, MSR_NESTLAB_CTL; rdmsr; hlt */
	static const uint8_t c[] = { 0xb9, 0x00, 0x00, 0x4c, 0x4e, 0x0f, 0x32, 0xf4 };
	tb_put(f->tb, HOST_CODE, c, sizeof c);
	g_assert_cmpint(cpu_run(f->cpu, 100), ==, CPU_STOP_HLT);
	g_assert_cmphex(f->cpu->r[EAX], ==, NESTLAB_CTL_ASSIST);
	f->cpu->assist = false;
	f->cpu->eip = HOST_CODE;
	f->cpu->halted = false;
	g_assert_cmpint(cpu_run(f->cpu, 100), ==, CPU_STOP_HLT);
	g_assert_cmphex(f->cpu->r[EAX], ==, 0);
}

/* A CPUID in the guest (CPUID faulting on) exits as #GP(0) at the CPUID,
 * with the guest's registers in the block. */
static void test_exit_on_gp(struct fx *f, gconstpointer data)
{
	/* mov eax, 0x1234; mov ebx, 5; cpuid */
	static const uint8_t c[] = { 0xb8, 0x34, 0x12, 0, 0, 0xbb, 5, 0, 0, 0, 0x0f, 0xa2 };
	guest(f, c, sizeof c);
	run(f);
	assert_host_back(f);
	g_assert_cmpuint(f->run.exit_vec, ==, EXC_GP);
	g_assert_cmphex(f->run.exit_err, ==, 0);
	g_assert_cmpuint(f->run.exit_flags, ==, 0);
	g_assert_cmphex(f->run.eip, ==, GUEST_CODE + 10);
	g_assert_cmphex(f->run.r[EAX], ==, 0x1234);
	g_assert_cmphex(f->run.r[EBX], ==, 5);
	g_assert_cmphex(f->run.r[ESP], ==, GUEST_STACK);
	g_assert_cmphex(f->run.seg[SEG_CS].sel, ==, 0x1b);
	g_assert_cmpuint(f->run.icount, ==, 2);
}

/* With strict mode off, INT n exits after the instruction, as a software
 * event (strict mode makes it #GP(0)); the monitor resumes the guest where
 * it likes and the next event exits again. */
static void test_int_and_resume(struct fx *f, gconstpointer data)
{
	/* int 0x80; inc eax; int3 */
	static const uint8_t c[] = { 0xcd, 0x80, 0x40, 0xcc };
	guest(f, c, sizeof c);
	f->run.nestlab_ctl = 0;
	f->run.r[EAX] = 41;
	run(f);
	assert_host_back(f);
	g_assert_cmpuint(f->run.exit_vec, ==, 0x80);
	g_assert_cmpuint(f->run.exit_flags, ==, NL_EXIT_SOFT);
	g_assert_cmphex(f->run.eip, ==, GUEST_CODE + 2);
	g_assert_cmpuint(f->run.icount, ==, 1);
	f->cpu->halted = false;
	run(f);
	assert_host_back(f);
	g_assert_cmpuint(f->run.exit_vec, ==, EXC_BP);
	g_assert_cmpuint(f->run.exit_flags, ==, NL_EXIT_SOFT);
	g_assert_cmphex(f->run.eip, ==, GUEST_CODE + 4);
	g_assert_cmphex(f->run.r[EAX], ==, 42);
}

/* A page fault in the guest: CR2 in the block, the monitor's CR2 kept. */
static void test_exit_on_pf(struct fx *f, gconstpointer data)
{
	f->run.cr0 |= CR0_PG;
	f->run.cr3 = EMPTY_PD;
	run(f);
	assert_host_back(f);
	g_assert_cmpuint(f->run.exit_vec, ==, EXC_PF);
	g_assert_cmphex(f->run.exit_err, ==, 0x04); /* user, not present (no I/D bit without NX) */
	g_assert_cmphex(f->run.exit_cr2, ==, GUEST_CODE);
	g_assert_cmphex(f->run.cr3, ==, EMPTY_PD);
}

/* Port I/O in the guest traps (real IOPL 0, no TSS), whatever IOPL it asks for. */
static void test_port_io_traps(struct fx *f, gconstpointer data)
{
	static const uint8_t c[] = { 0xe6, 0x80 }; /* out 0x80, al */
	guest(f, c, sizeof c);
	f->run.eflags |= EFLAGS_IOPL;
	int writes = f->tb->writes;
	run(f);
	assert_host_back(f);
	g_assert_cmpuint(f->run.exit_vec, ==, EXC_GP);
	g_assert_cmphex(f->run.eip, ==, GUEST_CODE);
	g_assert_cmpint(f->tb->writes, ==, writes);
}

/* A run block the CPU cannot use is the monitor's #GP at its WRMSR, and
 * nothing of the guest runs. */
static void test_bad_block(struct fx *f, gconstpointer data)
{
	static const uint8_t c[] = { 0x40 }; /* inc eax */
	guest(f, c, sizeof c);
	struct nl_run good = f->run;
	for (int k = 0; k < 6; k++) {
		f->run = good;
		switch (k) {
		case 0: f->run.version = 0; break;
		case 1: f->run.ctl = 0x80; break;
		case 2: f->run.cr0 = 0; break;
		case 3: f->run.seg[SEG_CS].sel = 0x08; break;
		case 4: f->run.nestlab_ctl = 0x100; break;
		case 5: f->cpu->assist = false; break;
		}
		tb_put(f->tb, RUN, &f->run, sizeof f->run);
		f->cpu->eip = HOST_CODE;
		f->cpu->halted = false;
		f->cpu->r[ESP] = HOST_STACK;
		g_assert_cmpint(cpu_run(f->cpu, 100), ==, CPU_STOP_HLT);
		g_assert_cmphex(f->cpu->eip, ==, HOST_GP + 1);
		g_assert_cmpint(f->cpu->cpl, ==, 0);
		g_assert_false(f->cpu->guest.on);
		f->cpu->assist = true;
	}
}

/* A snapshot taken while the guest runs restores into a guest that exits
 * to the same monitor. */
static void test_save_restore_in_guest(struct fx *f, gconstpointer data)
{
	static const uint8_t c[] = { 0x40, 0x40, 0x40, 0x0f, 0xa2 }; /* inc eax x3; cpuid */
	guest(f, c, sizeof c);
	tb_put(f->tb, RUN, &f->run, sizeof f->run);
	f->cpu->eip = HOST_CODE;
	g_assert_cmpint(cpu_run(f->cpu, 5), ==, CPU_STOP_BUDGET); /* 4 host insns, 1 guest */
	g_assert_true(f->cpu->guest.on);
	g_assert_cmphex(f->cpu->assist_run, ==, RUN | 1);
	void *img = g_malloc(cpu_save_size());
	cpu_save(f->cpu, img);
	struct cpu_guest g = f->cpu->guest;
	cpu_reset(f->cpu);
	g_assert_true(cpu_restore(f->cpu, img, cpu_save_size()));
	g_free(img);
	g.event = NULL;
	cpu_assist_bind(&g);
	f->cpu->guest = g;
	cpu_state_changed(f->cpu);
	g_assert_cmpint(cpu_run(f->cpu, 100), ==, CPU_STOP_HLT);
	memcpy(&f->run, f->tb->ram + RUN, sizeof f->run);
	assert_host_back(f);
	g_assert_cmpuint(f->run.exit_vec, ==, EXC_GP);
	g_assert_cmphex(f->run.eip, ==, GUEST_CODE + 3);
	g_assert_cmphex(f->run.r[EAX], ==, 3);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, struct fx, NULL, fx_setup, fn, fx_teardown)
	ADD("/cpu/assist/offered-bit", test_offered_bit);
	ADD("/cpu/assist/exit-on-gp", test_exit_on_gp);
	ADD("/cpu/assist/int-exits-and-resume", test_int_and_resume);
	ADD("/cpu/assist/exit-on-pf-keeps-host-cr2", test_exit_on_pf);
	ADD("/cpu/assist/port-io-traps", test_port_io_traps);
	ADD("/cpu/assist/bad-block-is-gp", test_bad_block);
	ADD("/cpu/assist/save-restore-in-guest", test_save_restore_in_guest);
#undef ADD
	return g_test_run();
}
