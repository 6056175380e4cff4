/*
 * test_mov.c - data movement, stack, string and port I/O instructions on a
 * bare CPU: the rules that are easy to get wrong and that guests depend on.
 *
 * Real-mode cases run a short sequence followed by HLT; exceptions go
 * through an IVT whose vector v points at a HLT at HANDLER + v, so the
 * landing EIP tells which exception was raised. Protected-mode cases use
 * the flat GDT of testbus.h, an IDT of ring-0 interrupt gates to the same
 * handlers, and a 32-bit TSS (ring-0 stack, I/O permission bit map).
 */
#include <glib.h>

#include "testbus.h"
#include "cpu_int.h"

#define CODE_AT 0x1000u
#define HANDLER 0x2000u
#define DATA 0x3000u
#define DATA2 0x5000u
#define TSS_AT 0x4000u
#define STACK0 0x9000u /* ring-0 stack top in the TSS */
#define HLT 0xf4
#define INT3 0xcc
#define NVEC 32
#define GATE_INT32 14
#define IOMAP_OFF 0x68u   /* bit map right after the 104-byte TSS */
#define IOMAP_PORTS 0x400u /* ports covered by the TSS limit */
#define SEL_CODE3 0x1b
#define SEL_DATA3 0x23

/* {====== harness ====== */

/* The byte that ends a test sequence: HLT, or INT3 (to a DPL-3 gate) for
 * code running at CPL 3, where HLT would fault. */
static uint8_t terminator = HLT;

/* A real-mode CPU whose IVT sends vector v to a HLT at 0000:HANDLER+v. */
static struct testbus *setup(void)
{
	struct testbus *tb = tb_new();
	for (uint32_t v = 0; v < NVEC; v++) {
		tb_put32(tb, v * 4, HANDLER + v);
		tb->ram[HANDLER + v] = HLT;
	}
	cpu_invalidate_phys(tb->cpu, HANDLER, NVEC);
	cpu_set_eflags(tb->cpu, EFLAGS_1);
	terminator = HLT;
	return tb;
}

/* Runs code at CODE_AT until a HLT (the one appended or a handler's). */
static void run(struct testbus *tb, const uint8_t *code, size_t n)
{
	tb_put(tb, CODE_AT, code, n);
	tb_put(tb, CODE_AT + (uint32_t)n, &terminator, 1);
	tb->cpu->eip = CODE_AT;
	tb->cpu->halted = false;
	g_assert_cmpint(cpu_run(tb->cpu, 100000), ==, CPU_STOP_HLT);
}

#define RUN(tb, ...)                                                                               \
	do {                                                                                       \
		static const uint8_t code_[] = {__VA_ARGS__};                                      \
		run(tb, code_, sizeof code_);                                                      \
	} while (0)

/* True if the run ended in the handler of exception `vec`. */
static bool raised(struct testbus *tb, int vec)
{
	return tb->cpu->eip == HANDLER + (uint32_t)vec + 1;
}

static uint16_t get16(struct testbus *tb, uint32_t pa)
{
	return (uint16_t)(tb->ram[pa] | tb->ram[pa + 1] << 8);
}

/* Puts the flat protected-mode CPU at privilege `cpl` (0 or 3) with
 * EFLAGS.IOPL = iopl and ESP = 0x8000 (again after a handler ran). */
static void enter_ring(struct testbus *tb, int cpl, int iopl)
{
	struct cpu *cpu = tb->cpu;
	uint16_t data = DESC_P | DESC_S | DESC_TYPE_W | DESC_TYPE_A | DESC_DB | DESC_G;
	uint16_t code = DESC_P | DESC_S | DESC_TYPE_CODE | DESC_TYPE_R | DESC_TYPE_A | DESC_DB | DESC_G;
	for (int s = 0; s < 6; s++)
		cpu->seg[s] = (struct seg){0x10, data, 0, 0xffffffffu};
	cpu->seg[SEG_CS] = (struct seg){0x08, code, 0, 0xffffffffu};
	if (cpl == 3) {
		uint16_t data3 = (uint16_t)(data | 3 << DESC_DPL_SHIFT);
		for (int s = 0; s < 6; s++)
			cpu->seg[s] = (struct seg){SEL_DATA3, data3, 0, 0xffffffffu};
		cpu->seg[SEG_CS].sel = SEL_CODE3;
		cpu->seg[SEG_CS].attr = (uint16_t)(DESC_P | DESC_S | DESC_TYPE_CODE | DESC_TYPE_R |
		                                   DESC_TYPE_A | DESC_DB | DESC_G | 3 << DESC_DPL_SHIFT);
	}
	cpu->cpl = (uint8_t)cpl;
	cpu_set_eflags(cpu, EFLAGS_1 | (uint32_t)iopl << EFLAGS_IOPL_SHIFT);
	cpu_state_changed(cpu);
	cpu->r[ESP] = 0x8000;
	terminator = cpl == 3 ? INT3 : HLT;
}

/*
 * Flat 32-bit protected mode at privilege `cpl` with EFLAGS.IOPL = iopl:
 * ring-0 interrupt gates to HANDLER + v (DPL 3 for INT3), a 32-bit TSS at
 * TSS_AT with the ring-0 stack and an all-clear I/O bit map for ports
 * below IOMAP_PORTS (plus the trailing 0xFF byte).
 */
static struct testbus *setup_pmode(int cpl, int iopl)
{
	struct testbus *tb = setup();
	struct cpu *cpu = tb->cpu;
	tb_pmode32(tb);
	for (int v = 0; v < NVEC; v++)
		tb_gate(tb, 0x600 + 8u * (uint32_t)v, 0x08, HANDLER + (uint32_t)v, GATE_INT32,
		        v == EXC_BP ? 3 : 0);
	tb_put32(tb, TSS_AT + 4, STACK0);   /* ESP0 */
	tb_put32(tb, TSS_AT + 8, 0x10);     /* SS0 */
	tb_put32(tb, TSS_AT + 0x64, IOMAP_OFF << 16);
	memset(tb->ram + TSS_AT + IOMAP_OFF, 0, IOMAP_PORTS / 8);
	tb->ram[TSS_AT + IOMAP_OFF + IOMAP_PORTS / 8] = 0xff;
	cpu->tr = (struct seg){0x28, DESC_P | SYS_TSS32_BUSY, TSS_AT, IOMAP_OFF + IOMAP_PORTS / 8};
	enter_ring(tb, cpl, iopl);
	return tb;
}

/* True if code run at CPL 3 reached its final INT3. */
static bool user_completed(struct testbus *tb)
{
	return raised(tb, EXC_BP);
}

/* The user-mode EFLAGS saved by that INT3 (the gate itself clears IF). */
static uint32_t user_eflags(struct testbus *tb)
{
	return tb_get32(tb, tb->cpu->r[ESP] + 8);
}

/* After a protected-mode exception with an error code taken from ring 3:
 * the error code and the faulting EIP on the ring-0 stack. */
static uint32_t pm_error_code(struct testbus *tb)
{
	return tb_get32(tb, tb->cpu->r[ESP]);
}
static uint32_t pm_fault_eip(struct testbus *tb)
{
	return tb_get32(tb, tb->cpu->r[ESP] + 4);
}

/* }====================================================================== */

/* {====== MOV and friends ====== */

static void test_mov_sreg_to_reg32_zero_extends(void)
{
	struct testbus *tb = setup();
	cpu_set_seg_real(tb->cpu, SEG_ES, 0x1234);
	tb->cpu->r[EAX] = 0xdeadbeef;
	tb->cpu->r[EBX] = 0xdeadbeef;
	tb->ram[DATA + 2] = 0x77;
	/* mov eax, es ; mov bx, es ; mov [0x3000], es (16-bit even with 66) */
	RUN(tb, 0x66, 0x8c, 0xc0, 0x8c, 0xc3, 0x66, 0x8c, 0x06, 0x00, 0x30);
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x1234);
	g_assert_cmphex(tb->cpu->r[EBX], ==, 0xdead1234);
	g_assert_cmphex(get16(tb, DATA), ==, 0x1234);
	g_assert_cmphex(tb->ram[DATA + 2], ==, 0x77);
	tb_free(tb);
}

static void test_mov_ss_holds_interrupts(void)
{
	struct testbus *tb = setup();
	static const uint8_t code[] = {0x8e, 0xd0}; /* mov ss, ax */
	tb_put(tb, CODE_AT, code, sizeof code);
	tb->cpu->eip = CODE_AT;
	g_assert_cmpint(cpu_run(tb->cpu, 1), ==, CPU_STOP_BUDGET);
	g_assert_cmpint(tb->cpu->intr_shadow, ==, 1);
	tb_free(tb);
}

static void test_lds_loads_segment_and_offset(void)
{
	struct testbus *tb = setup();
	tb_put32(tb, DATA, 0x4321abcd); /* offset abcd, selector 4321 */
	RUN(tb, 0xc5, 0x36, 0x00, 0x30); /* lds si, [0x3000] */
	g_assert_cmphex(tb->cpu->r[ESI] & 0xffff, ==, 0xabcd);
	g_assert_cmphex(tb->cpu->seg[SEG_DS].sel, ==, 0x4321);
	g_assert_cmphex(tb->cpu->seg[SEG_DS].base, ==, 0x43210);
	tb_free(tb);
}

static void test_xlat_uses_bx_plus_al(void)
{
	struct testbus *tb = setup();
	tb->ram[DATA + 0x10] = 0x5a;
	tb->cpu->r[EBX] = DATA;
	tb->cpu->r[EAX] = 0x1110;
	RUN(tb, 0xd7); /* xlat */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x115a);
	tb_free(tb);
}

static void test_sahf_lahf_round_trip_keeps_of(void)
{
	struct testbus *tb = setup();
	cpu_set_eflags(tb->cpu, EFLAGS_1 | EFLAGS_OF);
	tb->cpu->r[EAX] = 0xff00;
	RUN(tb, 0x9e, 0xb4, 0x00, 0x9f); /* sahf ; mov ah, 0 ; lahf */
	g_assert_cmphex(tb->cpu->r[EAX] >> 8, ==, 0xd7);
	g_assert_true(cpu_get_eflags(tb->cpu) & EFLAGS_OF);
	tb_free(tb);
}

static void test_esc_raises_nm_only_with_em_or_ts(void)
{
	struct testbus *tb = setup();
	RUN(tb, 0xd9, 0xe8); /* fld1: no FPU, no EM: nothing happens */
	g_assert_cmphex(tb->cpu->eip, ==, CODE_AT + 3);
	tb->cpu->cr0 |= CR0_EM;
	RUN(tb, 0xd9, 0xe8);
	g_assert_true(raised(tb, EXC_NM));
	tb_free(tb);
}

static void test_wait_raises_nm_with_mp_and_ts(void)
{
	struct testbus *tb = setup();
	tb->cpu->cr0 |= CR0_TS;
	RUN(tb, 0x9b); /* wait: TS alone is not enough */
	g_assert_cmphex(tb->cpu->eip, ==, CODE_AT + 2);
	tb->cpu->cr0 |= CR0_MP;
	RUN(tb, 0x9b);
	g_assert_true(raised(tb, EXC_NM));
	tb_free(tb);
}

/* }====================================================================== */

/* {====== stack ====== */

static void test_push_sp_pushes_value_before_decrement(void)
{
	struct testbus *tb = setup();
	RUN(tb, 0x54); /* push sp */
	g_assert_cmphex(tb->cpu->r[ESP], ==, 0x7ffe);
	g_assert_cmphex(get16(tb, 0x7ffe), ==, 0x8000);
	tb_free(tb);
}

static void test_pop_sp_loads_popped_value(void)
{
	struct testbus *tb = setup();
	RUN(tb, 0x68, 0x34, 0x12, 0x5c); /* push 0x1234 ; pop sp */
	g_assert_cmphex(tb->cpu->r[ESP], ==, 0x1234);
	tb_free(tb);
}

static void test_pop_mem_esp_base_uses_incremented_esp(void)
{
	struct testbus *tb = setup_pmode(0, 0);
	tb_put32(tb, 0x7ffc, 0xcafef00d);
	tb->cpu->r[ESP] = 0x7ffc;
	RUN(tb, 0x8f, 0x44, 0x24, 0x04); /* pop dword [esp+4] */
	g_assert_cmphex(tb->cpu->r[ESP], ==, 0x8000);
	g_assert_cmphex(tb_get32(tb, 0x8004), ==, 0xcafef00d);
	tb_free(tb);
}

static void test_push_sreg32_moves_4_writes_2(void)
{
	struct testbus *tb = setup();
	cpu_set_seg_real(tb->cpu, SEG_DS, 0x1234);
	tb_put32(tb, 0x7ffc, 0xaaaaaaaa);
	RUN(tb, 0x66, 0x1e); /* push ds (32-bit operand) */
	g_assert_cmphex(tb->cpu->r[ESP], ==, 0x7ffc);
	g_assert_cmphex(tb_get32(tb, 0x7ffc), ==, 0xaaaa1234);
	tb_free(tb);
}

static void test_push_wraps_in_16bit_stack(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[ESP] = 0x12340004;
	/* push dword 0x12345678 (to SP 0) ; push dword -1 (SP wraps to fffc) */
	RUN(tb, 0x66, 0x68, 0x78, 0x56, 0x34, 0x12, 0x66, 0x6a, 0xff);
	g_assert_cmphex(tb->cpu->r[ESP], ==, 0x1234fffc);
	g_assert_cmphex(tb_get32(tb, 0), ==, 0x12345678);
	g_assert_cmphex(tb_get32(tb, 0xfffc), ==, 0xffffffff);
	tb_free(tb);
}

static void test_push_across_16bit_stack_limit_faults(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[ESP] = 0x0002;
	RUN(tb, 0x66, 0x6a, 0xff); /* push dword -1: bytes fffe..10001 */
	g_assert_true(raised(tb, EXC_SS));
	tb_free(tb);
}

static void test_pusha_popa_skip_sp(void)
{
	struct testbus *tb = setup();
	for (int r = 0; r < 8; r++)
		if (r != ESP)
			tb->cpu->r[r] = 0x100u + (uint32_t)r;
	/* pusha ; mov word [esp-relative slot of SP], 0x5555 via bp ; popa */
	RUN(tb, 0x60, 0x89, 0xe5, 0xc7, 0x46, 0x06, 0x55, 0x55, 0xbd, 0x00, 0x00, 0x61);
	g_assert_cmphex(tb->cpu->r[ESP], ==, 0x8000);
	g_assert_cmphex(get16(tb, 0x8000 - 10), ==, 0x5555); /* the SP slot was changed... */
	g_assert_cmphex(tb->cpu->r[EBP], ==, 0x105);         /* ...and POPA ignored it */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x100);
	g_assert_cmphex(tb->cpu->r[EDI], ==, 0x107);
	tb_free(tb);
}

static void test_enter_nested_builds_display(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EBP] = 0x9000;
	uint16_t outer = 0x4444;
	tb_put(tb, 0x9000 - 2, &outer, 2);
	RUN(tb, 0xc8, 0x10, 0x00, 0x02); /* enter 16, 2 */
	/* push bp (0x7ffe) ; push [bp-2] (0x7ffc) ; push frame (0x7ffa) */
	g_assert_cmphex(get16(tb, 0x7ffe), ==, 0x9000);
	g_assert_cmphex(get16(tb, 0x7ffc), ==, 0x4444);
	g_assert_cmphex(get16(tb, 0x7ffa), ==, 0x7ffe);
	g_assert_cmphex(tb->cpu->r[EBP], ==, 0x7ffe);
	g_assert_cmphex(tb->cpu->r[ESP], ==, 0x7ffa - 0x10);
	RUN(tb, 0xc9); /* leave */
	g_assert_cmphex(tb->cpu->r[ESP], ==, 0x8000);
	g_assert_cmphex(tb->cpu->r[EBP], ==, 0x9000);
	tb_free(tb);
}

static void test_popf_real_mode_bits(void)
{
	struct testbus *tb = setup();
	/* push 0xfeff ; popf: bit 1 set, bits 3, 5, 15 clear, the rest taken
	 * (TF is left out so no single-step trap follows) */
	RUN(tb, 0x68, 0xff, 0xfe, 0x9d);
	g_assert_cmphex(cpu_get_eflags(tb->cpu), ==, 0x7ed7);
	tb_free(tb);
}

static void test_popf16_keeps_upper_half(void)
{
	struct testbus *tb = setup();
	cpu_set_eflags(tb->cpu, EFLAGS_1 | EFLAGS_AC);
	RUN(tb, 0x6a, 0x00, 0x9d); /* push 0 ; popf */
	g_assert_cmphex(cpu_get_eflags(tb->cpu), ==, EFLAGS_1 | EFLAGS_AC);
	/* push dword 0x200000 ; popfd: AC (cleared) and ID (set) are writable */
	RUN(tb, 0x66, 0x68, 0x00, 0x00, 0x20, 0x00, 0x66, 0x9d);
	g_assert_cmphex(cpu_get_eflags(tb->cpu), ==, EFLAGS_1 | EFLAGS_ID);
	tb_free(tb);
}

static void test_popf_cpl3_keeps_if_and_iopl(void)
{
	struct testbus *tb = setup_pmode(3, 0);
	cpu_set_eflags(tb->cpu, EFLAGS_1 | EFLAGS_IF);
	/* push 0x30c1 (IOPL 3, CF, ZF... no IF) ; popf */
	RUN(tb, 0x68, 0xc1, 0x30, 0x00, 0x00, 0x9d);
	g_assert_true(user_completed(tb));
	uint32_t f = user_eflags(tb);
	g_assert_true(f & EFLAGS_IF);               /* silently kept */
	g_assert_cmpint(f & EFLAGS_IOPL, ==, 0);    /* not writable at CPL 3 */
	g_assert_cmphex(f & EFLAGS_ARITH, ==, EFLAGS_CF | EFLAGS_ZF | EFLAGS_SF);
	tb_free(tb);
}

static void test_popf_cpl3_iopl3_changes_if_not_iopl(void)
{
	struct testbus *tb = setup_pmode(3, 3);
	cpu_set_eflags(tb->cpu, EFLAGS_1 | EFLAGS_IF | EFLAGS_IOPL);
	RUN(tb, 0x6a, 0x00, 0x9d); /* push 0 ; popf */
	g_assert_true(user_completed(tb));
	uint32_t f = user_eflags(tb);
	g_assert_false(f & EFLAGS_IF);
	g_assert_cmphex(f & EFLAGS_IOPL, ==, EFLAGS_IOPL);
	tb_free(tb);
}

static void test_popf_cpl0_changes_iopl(void)
{
	struct testbus *tb = setup_pmode(0, 0);
	RUN(tb, 0x68, 0x00, 0x32, 0x00, 0x00, 0x9d); /* push 0x3200 ; popf */
	g_assert_cmphex(cpu_get_eflags(tb->cpu) & (EFLAGS_IOPL | EFLAGS_IF), ==, EFLAGS_IOPL | EFLAGS_IF);
	tb_free(tb);
}

static void test_pushf_popf_trap_in_strict_mode(void)
{
	struct testbus *tb = setup_pmode(3, 0);
	tb->cpu->msr_nestlab_ctl = NESTLAB_CTL_STRICT;
	cpu_state_changed(tb->cpu);
	RUN(tb, 0x9c); /* pushf */
	g_assert_true(raised(tb, EXC_GP));
	g_assert_cmphex(pm_error_code(tb), ==, 0);
	g_assert_cmphex(pm_fault_eip(tb), ==, CODE_AT);
	tb_free(tb);
}

/* }====================================================================== */

/* {====== strings ====== */

static void test_rep_movs_continues_after_budget(void)
{
	struct testbus *tb = setup();
	struct cpu *cpu = tb->cpu;
	const uint32_t n = 5000;
	for (uint32_t i = 0; i < n; i++)
		tb->ram[DATA + i] = (uint8_t)(i * 7);
	static const uint8_t code[] = {0xf3, 0xa4, HLT}; /* rep movsb ; hlt */
	tb_put(tb, CODE_AT, code, sizeof code);
	cpu->eip = CODE_AT;
	cpu->r[ECX] = n;
	cpu->r[ESI] = DATA;
	cpu->r[EDI] = DATA + 0x2000;
	/* A step ends where ECX reaches a multiple of 4096: 904 elements, then
	 * 4096 in the second step, whatever interrupted them. */
	g_assert_cmpint(cpu_run(cpu, 1), ==, CPU_STOP_BUDGET);
	g_assert_cmphex(cpu->eip, ==, CODE_AT); /* not done: it restarts */
	g_assert_cmpuint(cpu->r[ECX], ==, 4096);
	g_assert_cmphex(cpu->r[ESI], ==, DATA + n - 4096);
	g_assert_cmpint(cpu_run(cpu, 1), ==, CPU_STOP_BUDGET);
	g_assert_cmpuint(cpu->r[ECX], ==, 0);
	g_assert_cmphex(cpu->eip, ==, CODE_AT + 2);
	g_assert_cmpint(cpu_run(cpu, 10), ==, CPU_STOP_HLT);
	g_assert_cmpuint(cpu->r[ECX], ==, 0);
	g_assert_cmphex(cpu->r[EDI], ==, DATA + 0x2000 + n);
	g_assert_cmpint(memcmp(tb->ram + DATA, tb->ram + DATA + 0x2000, n), ==, 0);
	tb_free(tb);
}

static void test_rep_movsd_32bit_addressing(void)
{
	struct testbus *tb = setup_pmode(0, 0);
	tb_put32(tb, 0x123450, 0x11111111);
	tb_put32(tb, 0x123454, 0x22222222);
	tb->cpu->r[ECX] = 2;
	tb->cpu->r[ESI] = 0x123450;
	tb->cpu->r[EDI] = 0x234560;
	RUN(tb, 0xf3, 0xa5); /* rep movsd (32-bit code: ESI, EDI, ECX) */
	g_assert_cmpuint(tb->cpu->r[ECX], ==, 0);
	g_assert_cmphex(tb->cpu->r[ESI], ==, 0x123458);
	g_assert_cmphex(tb->cpu->r[EDI], ==, 0x234568);
	g_assert_cmphex(tb_get32(tb, 0x234564), ==, 0x22222222);
	tb_free(tb);
}

static void test_repe_cmps_stops_at_first_difference(void)
{
	struct testbus *tb = setup();
	memcpy(tb->ram + DATA, "abcdefgh", 8);
	memcpy(tb->ram + DATA2, "abcXefgh", 8);
	tb->cpu->r[ECX] = 8;
	tb->cpu->r[ESI] = DATA;
	tb->cpu->r[EDI] = DATA2;
	RUN(tb, 0xf3, 0xa6); /* repe cmpsb */
	g_assert_cmpuint(tb->cpu->r[ECX], ==, 4);
	g_assert_cmphex(tb->cpu->r[ESI], ==, DATA + 4);
	g_assert_false(cpu_get_eflags(tb->cpu) & EFLAGS_ZF);
	g_assert_false(cpu_get_eflags(tb->cpu) & EFLAGS_CF); /* 'd' > 'X' */
	tb_free(tb);
}

static void test_repne_scas_finds_byte_backwards(void)
{
	struct testbus *tb = setup();
	memcpy(tb->ram + DATA, "x.yyyyyy", 8);
	cpu_set_eflags(tb->cpu, EFLAGS_1 | EFLAGS_DF);
	tb->cpu->r[EAX] = '.';
	tb->cpu->r[ECX] = 100;
	tb->cpu->r[EDI] = DATA + 7;
	RUN(tb, 0xf2, 0xae); /* repne scasb, DF=1 */
	g_assert_cmphex(tb->cpu->r[EDI], ==, DATA);
	g_assert_cmpuint(tb->cpu->r[ECX], ==, 93); /* 7 bytes scanned */
	g_assert_true(cpu_get_eflags(tb->cpu) & EFLAGS_ZF);
	tb_free(tb);
}

static void test_string_fault_midway_keeps_progress(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0xabcd;
	tb->cpu->r[ECX] = 100;
	tb->cpu->r[EDI] = 0xfff1; /* words at fff1..fffd fit, the one at ffff does not */
	RUN(tb, 0xf3, 0xab); /* rep stosw */
	g_assert_true(raised(tb, EXC_GP));
	g_assert_cmphex(tb->cpu->r[EDI], ==, 0xffff);
	g_assert_cmpuint(tb->cpu->r[ECX], ==, 93);
	g_assert_cmphex(get16(tb, 0xfffd), ==, 0xabcd);
	g_assert_cmphex(get16(tb, 0x8000 - 6), ==, CODE_AT); /* IP pushed: the instruction */
	tb_free(tb);
}

static void test_rep_with_zero_count_touches_nothing(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[ECX] = 0x10000; /* CX = 0 with 16-bit addressing */
	tb->cpu->r[EDI] = 0xffff;  /* would fault if an element ran */
	RUN(tb, 0xf3, 0xab);      /* rep stosw */
	g_assert_cmphex(tb->cpu->eip, ==, CODE_AT + 3);
	g_assert_cmphex(tb->cpu->r[EDI], ==, 0xffff);
	tb_free(tb);
}

static void test_outs_uses_source_override(void)
{
	struct testbus *tb = setup();
	cpu_set_seg_real(tb->cpu, SEG_ES, 0x100); /* ES base 0x1000 */
	tb->ram[0x1000 + 0x2400] = 0x99;
	tb->cpu->r[ESI] = 0x2400;
	tb->cpu->r[EDX] = 0xe9;
	RUN(tb, 0x26, 0x6e); /* es: outsb */
	g_assert_cmpint(tb->writes, ==, 1);
	g_assert_cmphex(tb->last_port, ==, 0xe9);
	g_assert_cmphex(tb->last_val, ==, 0x99);
	g_assert_cmphex(tb->cpu->r[ESI], ==, 0x2401);
	tb_free(tb);
}

/* }====================================================================== */

/* {====== port I/O permission ====== */

static void test_io_bitmap_allows_and_denies(void)
{
	struct testbus *tb = setup_pmode(3, 0);
	tb->ram[TSS_AT + IOMAP_OFF + 0x3f8 / 8] = 0x02; /* port 0x3f9 denied */
	tb->cpu->r[EDX] = 0x3f8;
	tb->cpu->r[EAX] = 0x41;
	RUN(tb, 0xee); /* out dx, al */
	g_assert_true(user_completed(tb));
	g_assert_cmpint(tb->writes, ==, 1);
	g_assert_cmphex(tb->last_port, ==, 0x3f8);

	enter_ring(tb, 3, 0);
	RUN(tb, 0x66, 0xef); /* out dx, ax: covers 0x3f9 too */
	g_assert_true(raised(tb, EXC_GP));
	g_assert_cmphex(pm_error_code(tb), ==, 0);
	g_assert_cmpint(tb->writes, ==, 1);
	tb_free(tb);
}

static void test_io_beyond_tss_limit_is_denied(void)
{
	struct testbus *tb = setup_pmode(3, 0);
	tb->cpu->r[EDX] = IOMAP_PORTS - 1; /* its map byte is the last before the 0xFF byte */
	RUN(tb, 0xec);                     /* in al, dx */
	g_assert_true(user_completed(tb));
	enter_ring(tb, 3, 0);
	tb->cpu->r[EDX] = IOMAP_PORTS; /* its map bytes run past the limit */
	RUN(tb, 0xec);
	g_assert_true(raised(tb, EXC_GP));
	tb_free(tb);
}

static void test_io_map_is_read_two_bytes_at_a_time(void)
{
	struct testbus *tb = setup_pmode(3, 0);
	tb->cpu->tr.limit = IOMAP_OFF + IOMAP_PORTS / 8 - 1; /* drop the trailing 0xFF byte */
	tb->cpu->r[EDX] = IOMAP_PORTS - 8; /* its bit is clear, in the last byte within the limit */
	RUN(tb, 0xec);                      /* in al, dx */
	g_assert_true(raised(tb, EXC_GP));
	tb_free(tb);
}

static void test_io_iopl_grants_all_ports(void)
{
	struct testbus *tb = setup_pmode(3, 3);
	memset(tb->ram + TSS_AT + IOMAP_OFF, 0xff, IOMAP_PORTS / 8);
	RUN(tb, 0xe6, 0x80); /* out 0x80, al */
	g_assert_true(user_completed(tb));
	g_assert_cmphex(tb->last_port, ==, 0x80);
	tb_free(tb);
}

/* }====================================================================== */

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/cpu/mov/sreg-to-reg32-zero-extends", test_mov_sreg_to_reg32_zero_extends);
	g_test_add_func("/cpu/mov/mov-ss-holds-interrupts", test_mov_ss_holds_interrupts);
	g_test_add_func("/cpu/mov/lds-loads-segment-and-offset", test_lds_loads_segment_and_offset);
	g_test_add_func("/cpu/mov/xlat-uses-bx-plus-al", test_xlat_uses_bx_plus_al);
	g_test_add_func("/cpu/mov/sahf-lahf-round-trip-keeps-of", test_sahf_lahf_round_trip_keeps_of);
	g_test_add_func("/cpu/mov/esc-raises-nm-only-with-em-or-ts", test_esc_raises_nm_only_with_em_or_ts);
	g_test_add_func("/cpu/mov/wait-raises-nm-with-mp-and-ts", test_wait_raises_nm_with_mp_and_ts);
	g_test_add_func("/cpu/stack/push-sp-pushes-value-before-decrement",
	                test_push_sp_pushes_value_before_decrement);
	g_test_add_func("/cpu/stack/pop-sp-loads-popped-value", test_pop_sp_loads_popped_value);
	g_test_add_func("/cpu/stack/pop-mem-esp-base-uses-incremented-esp",
	                test_pop_mem_esp_base_uses_incremented_esp);
	g_test_add_func("/cpu/stack/push-sreg32-moves-4-writes-2", test_push_sreg32_moves_4_writes_2);
	g_test_add_func("/cpu/stack/push-wraps-in-16bit-stack", test_push_wraps_in_16bit_stack);
	g_test_add_func("/cpu/stack/push-across-16bit-stack-limit-faults",
	                test_push_across_16bit_stack_limit_faults);
	g_test_add_func("/cpu/stack/pusha-popa-skip-sp", test_pusha_popa_skip_sp);
	g_test_add_func("/cpu/stack/enter-nested-builds-display", test_enter_nested_builds_display);
	g_test_add_func("/cpu/stack/popf-real-mode-bits", test_popf_real_mode_bits);
	g_test_add_func("/cpu/stack/popf16-keeps-upper-half", test_popf16_keeps_upper_half);
	g_test_add_func("/cpu/stack/popf-cpl3-keeps-if-and-iopl", test_popf_cpl3_keeps_if_and_iopl);
	g_test_add_func("/cpu/stack/popf-cpl3-iopl3-changes-if-not-iopl",
	                test_popf_cpl3_iopl3_changes_if_not_iopl);
	g_test_add_func("/cpu/stack/popf-cpl0-changes-iopl", test_popf_cpl0_changes_iopl);
	g_test_add_func("/cpu/stack/pushf-popf-trap-in-strict-mode", test_pushf_popf_trap_in_strict_mode);
	g_test_add_func("/cpu/string/rep-movs-steps-end-where-ecx-is-a-multiple-of-4096", test_rep_movs_continues_after_budget);
	g_test_add_func("/cpu/string/rep-movsd-32bit-addressing", test_rep_movsd_32bit_addressing);
	g_test_add_func("/cpu/string/repe-cmps-stops-at-first-difference",
	                test_repe_cmps_stops_at_first_difference);
	g_test_add_func("/cpu/string/repne-scas-finds-byte-backwards", test_repne_scas_finds_byte_backwards);
	g_test_add_func("/cpu/string/fault-midway-keeps-progress", test_string_fault_midway_keeps_progress);
	g_test_add_func("/cpu/string/rep-with-zero-count-touches-nothing",
	                test_rep_with_zero_count_touches_nothing);
	g_test_add_func("/cpu/string/outs-uses-source-override", test_outs_uses_source_override);
	g_test_add_func("/cpu/io/bitmap-allows-and-denies", test_io_bitmap_allows_and_denies);
	g_test_add_func("/cpu/io/beyond-tss-limit-is-denied", test_io_beyond_tss_limit_is_denied);
	g_test_add_func("/cpu/io/map-is-read-two-bytes-at-a-time", test_io_map_is_read_two_bytes_at_a_time);
	g_test_add_func("/cpu/io/iopl-grants-all-ports", test_io_iopl_grants_all_ports);
	return g_test_run();
}
