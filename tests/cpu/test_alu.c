/*
 * test_alu.c - the integer arithmetic families on a bare CPU: ALU, shifts
 * and rotates, multiply/divide, decimal adjust, bit instructions.
 *
 * Each case loads registers and memory, runs a short real-mode sequence
 * followed by HLT, and checks the results and the flags the manual defines
 * (undefined flags are masked out). Exceptions go through an IVT whose
 * vector v points at a HLT at HANDLER + v, so the landing EIP tells which
 * exception was raised.
 */
#include <glib.h>

#include "cpu_int.h"
#include "testbus.h"

#define CODE_AT 0x1000u
#define HANDLER 0x2000u
#define DATA 0x3000u
#define HLT 0xf4
#define NVEC 32
#define FLAGS6 (EFLAGS_CF | EFLAGS_PF | EFLAGS_AF | EFLAGS_ZF | EFLAGS_SF | EFLAGS_OF)
#define CF EFLAGS_CF
#define PF EFLAGS_PF
#define AF EFLAGS_AF
#define ZF EFLAGS_ZF
#define SF EFLAGS_SF
#define OF EFLAGS_OF

/* {====== harness ====== */

/* A real-mode CPU whose IVT sends vector v to a HLT at 0000:HANDLER+v. */
static struct testbus *setup(void)
{
	struct testbus *tb = tb_new();
	for (uint32_t v = 0; v < NVEC; v++) {
		tb_put32(tb, v * 4, HANDLER + v); /* offset HANDLER+v, segment 0 */
		tb->ram[HANDLER + v] = HLT;
	}
	cpu_invalidate_phys(tb->cpu, HANDLER, NVEC);
	cpu_set_eflags(tb->cpu, EFLAGS_1);
	for (int r = 0; r < 8; r++)
		tb->cpu->r[r] = r == ESP ? 0x8000 : 0;
	return tb;
}

/* Runs code at CODE_AT up to the HLT appended to it. */
static void run(struct testbus *tb, const uint8_t *code, size_t n)
{
	static const uint8_t hlt = HLT;
	tb_put(tb, CODE_AT, code, n);
	tb_put(tb, CODE_AT + (uint32_t)n, &hlt, 1);
	tb->cpu->eip = CODE_AT;
	tb->cpu->halted = false;
	g_assert_cmpint(cpu_run(tb->cpu, 1000), ==, CPU_STOP_HLT);
}

#define RUN(tb, ...)                                                                               \
	do {                                                                                       \
		static const uint8_t code_[] = {__VA_ARGS__};                                      \
		run(tb, code_, sizeof code_);                                                      \
	} while (0)

static void set_flags(struct testbus *tb, uint32_t f)
{
	cpu_set_eflags(tb->cpu, EFLAGS_1 | f);
}

static void check_flags(struct testbus *tb, uint32_t mask, uint32_t want)
{
	g_assert_cmphex(cpu_get_eflags(tb->cpu) & mask, ==, want);
}

/* True if the run ended in the handler of exception `vec`. */
static bool raised(struct testbus *tb, int vec)
{
	return tb->cpu->eip == HANDLER + (uint32_t)vec + 1;
}

static bool completed(struct testbus *tb, size_t code_len)
{
	return tb->cpu->eip == CODE_AT + code_len + 1;
}

static uint16_t get16(struct testbus *tb, uint32_t pa)
{
	return (uint16_t)(tb->ram[pa] | tb->ram[pa + 1] << 8);
}

static void put16(struct testbus *tb, uint32_t pa, uint16_t v)
{
	tb_put(tb, pa, &v, 2);
}

/* }====================================================================== */

/* {====== ALU ====== */

static void test_add_carry_out_8bit(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0xff;
	RUN(tb, 0x04, 0x01); /* add al, 1 */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0);
	check_flags(tb, FLAGS6, CF | ZF | AF | PF);
	tb_free(tb);
}

static void test_add_signed_overflow_16bit(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0x7fff;
	RUN(tb, 0x83, 0xc0, 0x01); /* add ax, 1 */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x8000);
	check_flags(tb, FLAGS6, OF | SF | AF | PF);
	tb_free(tb);
}

static void test_adc_carry_in_16bit(void)
{
	struct testbus *tb = setup();
	set_flags(tb, CF);
	tb->cpu->r[EAX] = 0xffff;
	tb->cpu->r[EBX] = 0xffff;
	RUN(tb, 0x11, 0xd8); /* adc ax, bx */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0xffff);
	check_flags(tb, FLAGS6, CF | AF | SF | PF);
	tb_free(tb);
}

static void test_adc_carry_in_wraps_to_zero(void)
{
	struct testbus *tb = setup();
	set_flags(tb, CF);
	tb->cpu->r[EAX] = 0x12ff;
	RUN(tb, 0x14, 0x00); /* adc al, 0 */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x1200);
	check_flags(tb, FLAGS6, CF | ZF | AF | PF);
	tb_free(tb);
}

static void test_sbb_borrow_in_32bit(void)
{
	struct testbus *tb = setup();
	set_flags(tb, CF);
	tb->cpu->r[EAX] = 0;
	RUN(tb, 0x66, 0x83, 0xd8, 0x00); /* sbb eax, 0 */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0xffffffff);
	check_flags(tb, FLAGS6, CF | SF | AF | PF);
	tb_free(tb);
}

static void test_sbb_equal_operands_with_borrow_in(void)
{
	struct testbus *tb = setup();
	set_flags(tb, CF);
	tb->cpu->r[EAX] = 5;
	tb->cpu->r[EBX] = 5;
	RUN(tb, 0x18, 0xd8); /* sbb al, bl */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0xff);
	check_flags(tb, FLAGS6, CF | SF | AF | PF);
	tb_free(tb);
}

static void test_sbb_without_borrow_overflows(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0x8000;
	RUN(tb, 0x83, 0xd8, 0x01); /* sbb ax, 1 */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x7fff);
	check_flags(tb, FLAGS6, OF | AF | PF);
	tb_free(tb);
}

static void test_cmp_memory_is_not_written(void)
{
	struct testbus *tb = setup();
	tb->ram[DATA] = 0x10;
	tb->cpu->r[EAX] = 0x20;
	RUN(tb, 0x38, 0x06, 0x00, 0x30); /* cmp [0x3000], al */
	g_assert_cmphex(tb->ram[DATA], ==, 0x10);
	check_flags(tb, FLAGS6, CF | SF | PF);
	tb_free(tb);
}

static void test_sub_memory_destination_16bit(void)
{
	struct testbus *tb = setup();
	put16(tb, DATA, 0x1234);
	RUN(tb, 0x83, 0x2e, 0x00, 0x30, 0x34); /* sub word [0x3000], byte 0x34 */
	g_assert_cmphex(get16(tb, DATA), ==, 0x1200);
	check_flags(tb, FLAGS6, PF);
	tb_free(tb);
}

static void test_grp1_83_sign_extends_imm8(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0x10;
	RUN(tb, 0x83, 0xc0, 0xff); /* add ax, byte -1 */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x0f);
	check_flags(tb, CF | ZF | SF | OF, CF);
	tb_free(tb);
}

static void test_grp1_82_is_an_alias_of_80(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 1;
	RUN(tb, 0x82, 0xc0, 0x05); /* add al, 5 (82 /0 ib) */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 6);
	tb_free(tb);
}

static void test_logic_clears_cf_and_of(void)
{
	struct testbus *tb = setup();
	set_flags(tb, CF | OF);
	tb->cpu->r[EAX] = 0x8000;
	RUN(tb, 0x83, 0xc8, 0x01); /* or ax, 1 */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x8001);
	check_flags(tb, CF | OF | SF | ZF | PF, SF);
	tb_free(tb);
}

static void test_test_sets_zf_without_writing(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0xf0;
	RUN(tb, 0xa8, 0x0f); /* test al, 0x0f */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0xf0);
	check_flags(tb, CF | OF | SF | ZF | PF, ZF | PF);
	tb_free(tb);
}

static void test_neg_zero_clears_cf(void)
{
	struct testbus *tb = setup();
	set_flags(tb, CF);
	RUN(tb, 0xf7, 0xd8); /* neg ax */
	check_flags(tb, FLAGS6, ZF | PF);
	tb_free(tb);
}

static void test_neg_most_negative_overflows(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0x80;
	RUN(tb, 0xf6, 0xd8); /* neg al */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x80);
	check_flags(tb, CF | OF | SF | ZF, CF | OF | SF);
	tb_free(tb);
}

static void test_inc_keeps_carry(void)
{
	struct testbus *tb = setup();
	set_flags(tb, CF);
	tb->cpu->r[EAX] = 0xffff;
	RUN(tb, 0x40); /* inc ax */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0);
	check_flags(tb, FLAGS6, CF | ZF | AF | PF);
	tb_free(tb);
}

static void test_inc_after_logic_keeps_cleared_carry(void)
{
	struct testbus *tb = setup();
	set_flags(tb, CF);
	RUN(tb, 0x0c, 0x00, 0xfe, 0xc0); /* or al, 0; inc al */
	check_flags(tb, CF, 0);
	tb_free(tb);
}

static void test_dec_overflows_at_most_negative_32bit(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0x80000000u;
	RUN(tb, 0x66, 0x48); /* dec eax */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x7fffffffu);
	check_flags(tb, FLAGS6, OF | AF | PF);
	tb_free(tb);
}

static void test_not_leaves_flags(void)
{
	struct testbus *tb = setup();
	set_flags(tb, FLAGS6);
	tb->ram[DATA] = 0x0f;
	RUN(tb, 0xf6, 0x16, 0x00, 0x30); /* not byte [0x3000] */
	g_assert_cmphex(tb->ram[DATA], ==, 0xf0);
	check_flags(tb, FLAGS6, FLAGS6);
	tb_free(tb);
}

static void test_cmc_clc_stc(void)
{
	struct testbus *tb = setup();
	RUN(tb, 0xf9, 0xf5); /* stc; cmc */
	check_flags(tb, CF, 0);
	RUN(tb, 0xf8, 0xf5); /* clc; cmc */
	check_flags(tb, CF, CF);
	tb_free(tb);
}

static void test_salc_copies_carry(void)
{
	struct testbus *tb = setup();
	set_flags(tb, CF);
	tb->cpu->r[EAX] = 0x1234;
	RUN(tb, 0xd6); /* salc */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x12ff);
	set_flags(tb, 0);
	RUN(tb, 0xd6); /* salc */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x1200);
	tb_free(tb);
}

/* }====================================================================== */

/* {====== shifts and rotates ====== */

static void test_rcl_count_mod_9(void)
{
	struct testbus *tb = setup();
	set_flags(tb, CF);
	tb->cpu->r[EAX] = 0x81;
	tb->cpu->r[ECX] = 9;
	RUN(tb, 0xd2, 0xd0); /* rcl al, cl */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x81);
	check_flags(tb, CF, CF);
	tb->cpu->r[ECX] = 10; /* same as a count of 1 */
	RUN(tb, 0xd2, 0xd0);  /* rcl al, cl */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x03);
	check_flags(tb, CF, CF);
	tb_free(tb);
}

static void test_rcr_count_mod_17_16bit(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 1;
	tb->cpu->r[ECX] = 17;
	RUN(tb, 0xd3, 0xd8); /* rcr ax, cl */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 1);
	check_flags(tb, CF, 0);
	tb->cpu->r[ECX] = 18;
	RUN(tb, 0xd3, 0xd8); /* rcr ax, cl */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0);
	check_flags(tb, CF, CF);
	tb_free(tb);
}

static void test_shift_count_masked_to_5_bits(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 1;
	RUN(tb, 0xc1, 0xe0, 0x21); /* shl ax, 33 */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 2);
	tb_free(tb);
}

static void test_shift_count_zero_keeps_flags(void)
{
	struct testbus *tb = setup();
	set_flags(tb, CF | ZF | OF | AF);
	tb->cpu->r[EAX] = 0x8001;
	tb->cpu->r[ECX] = 0x20;
	RUN(tb, 0xd3, 0xe0); /* shl ax, cl */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x8001);
	check_flags(tb, FLAGS6, CF | ZF | OF | AF);
	tb_free(tb);
}

static void test_shl_8bit_count_beyond_width(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0xff;
	tb->cpu->r[ECX] = 8;
	RUN(tb, 0xd2, 0xe0); /* shl al, cl */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0);
	check_flags(tb, CF | ZF, CF | ZF);
	tb->cpu->r[EAX] = 0xff;
	tb->cpu->r[ECX] = 9;
	RUN(tb, 0xd2, 0xe0); /* shl al, cl */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0);
	check_flags(tb, CF | ZF, ZF);
	tb_free(tb);
}

static void test_sar_fills_with_sign(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0x8000;
	RUN(tb, 0xc1, 0xf8, 0x0f); /* sar ax, 15 */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0xffff);
	check_flags(tb, CF | SF | ZF, SF);
	tb->cpu->r[EAX] = 0x81;
	RUN(tb, 0xd0, 0xf8); /* sar al, 1 */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0xc0);
	check_flags(tb, CF | OF | SF, CF | SF);
	tb_free(tb);
}

static void test_shr_1_sets_of_to_old_msb(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0x80;
	RUN(tb, 0xd0, 0xe8); /* shr al, 1 */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x40);
	check_flags(tb, CF | OF | SF | ZF, OF);
	tb_free(tb);
}

static void test_rol_by_width_sets_cf_from_bit0(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0x01;
	tb->cpu->r[ECX] = 8;
	RUN(tb, 0xd2, 0xc0); /* rol al, cl */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x01);
	check_flags(tb, CF, CF);
	tb_free(tb);
}

static void test_ror_1_of_is_top_bits_xor(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0x01;
	RUN(tb, 0xd0, 0xc8); /* ror al, 1 */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x80);
	check_flags(tb, CF | OF, CF | OF);
	tb_free(tb);
}

static void test_shld_32bit(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0x12345678;
	tb->cpu->r[EBX] = 0x9abcdef0;
	RUN(tb, 0x66, 0x0f, 0xa4, 0xd8, 0x08); /* shld eax, ebx, 8 */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x3456789a);
	g_assert_cmphex(tb->cpu->r[EBX], ==, 0x9abcdef0);
	check_flags(tb, CF | ZF | SF, 0);
	tb_free(tb);
}

static void test_shrd_16bit_fills_from_source(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0x123c;
	tb->cpu->r[EBX] = 0xabcd;
	tb->cpu->r[ECX] = 4;
	RUN(tb, 0x0f, 0xad, 0xd8); /* shrd ax, bx, cl */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0xd123);
	check_flags(tb, CF | ZF | SF, CF | SF);
	tb_free(tb);
}

/* }====================================================================== */

/* {====== multiply and divide ====== */

static void test_mul_8bit_sets_cf_when_ah_nonzero(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0x10;
	tb->cpu->r[EBX] = 0x10;
	RUN(tb, 0xf6, 0xe3); /* mul bl */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x100);
	check_flags(tb, CF | OF, CF | OF);
	tb->cpu->r[EAX] = 2;
	tb->cpu->r[EBX] = 3;
	RUN(tb, 0xf6, 0xe3); /* mul bl */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 6);
	check_flags(tb, CF | OF, 0);
	tb_free(tb);
}

static void test_mul_32bit_fills_edx(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0xffffffffu;
	tb->cpu->r[EBX] = 2;
	RUN(tb, 0x66, 0xf7, 0xe3); /* mul ebx */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0xfffffffeu);
	g_assert_cmphex(tb->cpu->r[EDX], ==, 1);
	check_flags(tb, CF | OF, CF | OF);
	tb_free(tb);
}

static void test_imul_16bit_sign_extended_clears_cf(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0xfffe;
	tb->cpu->r[EBX] = 3;
	RUN(tb, 0xf7, 0xeb); /* imul bx */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0xfffa);
	g_assert_cmphex(tb->cpu->r[EDX], ==, 0xffff);
	check_flags(tb, CF | OF, 0);
	tb_free(tb);
}

static void test_imul_3op_truncates_and_sets_of(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0x5555;
	tb->cpu->r[EBX] = 0x4000;
	RUN(tb, 0x6b, 0xc3, 0x04); /* imul ax, bx, 4 */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0);
	check_flags(tb, CF | OF, CF | OF);
	tb_free(tb);
}

static void test_imul_2op_32bit_negative(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = (uint32_t)-3;
	tb->cpu->r[EBX] = 5;
	RUN(tb, 0x66, 0x0f, 0xaf, 0xc3); /* imul eax, ebx */
	g_assert_cmphex(tb->cpu->r[EAX], ==, (uint32_t)-15);
	check_flags(tb, CF | OF, 0);
	tb_free(tb);
}

static void test_div_by_zero_raises_de(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 100;
	RUN(tb, 0xf6, 0xf3); /* div bl */
	g_assert_true(raised(tb, EXC_DE));
	g_assert_cmphex(tb->cpu->r[EAX], ==, 100);
	/* #DE is a fault: the pushed IP is the DIV's own. */
	g_assert_cmphex(get16(tb, tb->cpu->r[ESP] & 0xffff), ==, CODE_AT);
	tb_free(tb);
}

static void test_div_quotient_overflow_raises_de(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0x1000;
	tb->cpu->r[EBX] = 0x10;
	RUN(tb, 0xf6, 0xf3); /* div bl */
	g_assert_true(raised(tb, EXC_DE));
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x1000);
	tb_free(tb);
}

static void test_idiv_overflow_raises_de(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EDX] = 0xffffffffu; /* EDX:EAX = -2^31 */
	tb->cpu->r[EAX] = 0x80000000u;
	tb->cpu->r[EBX] = 0xffffffffu;
	RUN(tb, 0x66, 0xf7, 0xfb); /* idiv ebx */
	g_assert_true(raised(tb, EXC_DE));
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x80000000u);
	tb->cpu->r[EDX] = 0x80000000u; /* the most negative 64-bit dividend */
	tb->cpu->r[EAX] = 0;
	tb->cpu->r[ESP] = 0x8000;
	RUN(tb, 0x66, 0xf7, 0xfb); /* idiv ebx */
	g_assert_true(raised(tb, EXC_DE));
	tb_free(tb);
}

static void test_idiv_rounds_toward_zero(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0xfff9; /* -7 */
	tb->cpu->r[EBX] = 2;
	RUN(tb, 0xf6, 0xfb);                          /* idiv bl */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0xfffd); /* AH = -1, AL = -3 */
	tb_free(tb);
}

static void test_idiv_most_negative_quotient_fits(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EDX] = 0xffff;
	tb->cpu->r[EAX] = 0x8000;
	tb->cpu->r[EBX] = 1;
	static const uint8_t code[] = {0xf7, 0xfb}; /* idiv bx */
	run(tb, code, sizeof code);
	g_assert_true(completed(tb, sizeof code));
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x8000);
	g_assert_cmphex(tb->cpu->r[EDX], ==, 0);
	tb_free(tb);
}

static void test_div_32bit(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EDX] = 1;
	tb->cpu->r[EAX] = 1;
	tb->cpu->r[EBX] = 2;
	RUN(tb, 0x66, 0xf7, 0xf3); /* div ebx */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x80000000u);
	g_assert_cmphex(tb->cpu->r[EDX], ==, 1);
	tb_free(tb);
}

/* }====================================================================== */

/* {====== decimal adjust ====== */

static void test_daa_adjusts_both_digits(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0x79;
	RUN(tb, 0x04, 0x35, 0x27); /* add al, 0x35; daa */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x14);
	check_flags(tb, CF | AF, CF | AF);
	tb_free(tb);
}

static void test_das_borrows(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0x35;
	RUN(tb, 0x2c, 0x47, 0x2f); /* sub al, 0x47; das */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x88);
	check_flags(tb, CF | AF, CF | AF);
	tb_free(tb);
}

static void test_aaa_carries_into_ah(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0x000f;
	RUN(tb, 0x37); /* aaa */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x0105);
	check_flags(tb, CF | AF, CF | AF);
	tb_free(tb);
}

static void test_aas_borrows_from_ah(void)
{
	struct testbus *tb = setup();
	set_flags(tb, AF);
	tb->cpu->r[EAX] = 0x0200;
	RUN(tb, 0x3f); /* aas */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x000a);
	check_flags(tb, CF | AF, CF | AF);
	tb_free(tb);
}

static void test_aam_zero_raises_de(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0x1234;
	RUN(tb, 0xd4, 0x00); /* aam 0 */
	g_assert_true(raised(tb, EXC_DE));
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x1234);
	tb_free(tb);
}

static void test_aam_splits_and_aad_joins(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 79;
	RUN(tb, 0xd4, 0x0a); /* aam */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x0709);
	check_flags(tb, ZF | SF, 0);
	RUN(tb, 0xd5, 0x0a); /* aad */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 79);
	tb_free(tb);
}

/* }====================================================================== */

/* {====== bit instructions ====== */

static void test_bt_register_offset_beyond_operand(void)
{
	struct testbus *tb = setup();
	put16(tb, DATA + 4, 0x0008);
	tb->cpu->r[EAX] = 35;                  /* word 2, bit 3 */
	RUN(tb, 0x0f, 0xa3, 0x06, 0x00, 0x30); /* bt [0x3000], ax */
	check_flags(tb, CF, CF);
	tb_free(tb);
}

static void test_bt_negative_offset_selects_lower_dword(void)
{
	struct testbus *tb = setup();
	tb_put32(tb, DATA - 4, 0x80000000u);
	tb->cpu->r[EAX] = 0xffffffffu;               /* bit -1: dword at -4, bit 31 */
	RUN(tb, 0x66, 0x0f, 0xa3, 0x06, 0x00, 0x30); /* bt dword [0x3000], eax */
	check_flags(tb, CF, CF);
	tb_free(tb);
}

static void test_bts_immediate_offset_masked_to_width(void)
{
	struct testbus *tb = setup();
	RUN(tb, 0x0f, 0xba, 0x2e, 0x00, 0x30, 0x11); /* bts word [0x3000], 17 */
	g_assert_cmphex(get16(tb, DATA), ==, 0x0002);
	g_assert_cmphex(get16(tb, DATA + 2), ==, 0);
	check_flags(tb, CF, 0);
	tb_free(tb);
}

static void test_btr_btc_register_offset_modulo_width(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0x00ff;
	tb->cpu->r[EBX] = 19;      /* bit 3 of a 16-bit register */
	RUN(tb, 0x0f, 0xb3, 0xd8); /* btr ax, bx */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x00f7);
	check_flags(tb, CF, CF);
	RUN(tb, 0x0f, 0xbb, 0xd8); /* btc ax, bx */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x00ff);
	check_flags(tb, CF, 0);
	tb_free(tb);
}

static void test_bsf_zero_source_keeps_destination(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0x1234;
	RUN(tb, 0x0f, 0xbc, 0xc3); /* bsf ax, bx */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x1234);
	check_flags(tb, ZF, ZF);
	tb_free(tb);
}

static void test_bsf_bsr_find_lowest_and_highest(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EBX] = 0x00f00100;
	RUN(tb, 0x66, 0x0f, 0xbc, 0xc3, 0x66, 0x0f, 0xbd, 0xcb); /* bsf eax, ebx; bsr ecx, ebx */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 8);
	g_assert_cmphex(tb->cpu->r[ECX], ==, 23);
	check_flags(tb, ZF, 0);
	tb_free(tb);
}

static void test_setcc_writes_one_or_zero(void)
{
	struct testbus *tb = setup();
	set_flags(tb, CF);
	tb->cpu->r[EAX] = 0xff00;
	tb->cpu->r[EBX] = 0xffff;
	tb->ram[DATA] = 0x55;
	RUN(tb, 0x0f, 0x92, 0xc0, 0x0f, 0x93, 0xc3, 0x0f, 0x92, 0x06, 0x00,
	    0x30); /* setc al; setnc bl; setb byte [0x3000] */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0xff01);
	g_assert_cmphex(tb->cpu->r[EBX], ==, 0xff00);
	g_assert_cmphex(tb->ram[DATA], ==, 1);
	tb_free(tb);
}

static void test_cmovcc_false_still_reads_source(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0x1111;
	RUN(tb, 0x67, 0x0f, 0x44, 0x05, 0x00, 0x00, 0x01, 0x00);
	        /* cmovz ax, [dword 0x10000] */ /* beyond the 64 KiB real-mode limit */
	g_assert_true(raised(tb, EXC_GP));
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x1111);
	tb_free(tb);
}

static void test_cmovcc_16bit_keeps_upper_half(void)
{
	struct testbus *tb = setup();
	set_flags(tb, ZF);
	tb->cpu->r[EAX] = 0xaaaa5555u;
	tb->cpu->r[EBX] = 0x1234;
	tb->cpu->r[ECX] = 0x77777777u;
	RUN(tb, 0x0f, 0x44, 0xc3, 0x66, 0x0f, 0x45, 0xcb); /* cmovz ax, bx; cmovnz ecx, ebx */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0xaaaa1234u);
	g_assert_cmphex(tb->cpu->r[ECX], ==, 0x77777777u);
	tb_free(tb);
}

static void test_bswap_32bit_and_16bit(void)
{
	struct testbus *tb = setup();
	tb->cpu->r[EAX] = 0x11223344;
	tb->cpu->r[EDX] = 0x11223344;
	RUN(tb, 0x66, 0x0f, 0xc8); /* bswap eax */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x44332211);
	RUN(tb, 0x0f, 0xca); /* bswap dx (16-bit operand size: undefined, P6 clears) */
	g_assert_cmphex(tb->cpu->r[EDX], ==, 0x11220000);
	tb_free(tb);
}

static void test_xadd_exchanges_and_adds(void)
{
	struct testbus *tb = setup();
	put16(tb, DATA, 5);
	tb->cpu->r[EAX] = 3;
	RUN(tb, 0x0f, 0xc1, 0x06, 0x00, 0x30); /* xadd [0x3000], ax */
	g_assert_cmphex(get16(tb, DATA), ==, 8);
	g_assert_cmphex(tb->cpu->r[EAX], ==, 5);
	tb->cpu->r[EAX] = 3;
	RUN(tb, 0x0f, 0xc1, 0xc0); /* xadd ax, ax */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 6);
	tb_free(tb);
}

static void test_cmpxchg_equal_stores_source(void)
{
	struct testbus *tb = setup();
	tb->ram[DATA] = 5;
	tb->cpu->r[EAX] = 5;
	tb->cpu->r[EBX] = 9;
	RUN(tb, 0x0f, 0xb0, 0x1e, 0x00, 0x30); /* cmpxchg [0x3000], bl */
	g_assert_cmphex(tb->ram[DATA], ==, 9);
	g_assert_cmphex(tb->cpu->r[EAX], ==, 5);
	check_flags(tb, ZF, ZF);
	tb_free(tb);
}

static void test_cmpxchg_not_equal_loads_accumulator(void)
{
	struct testbus *tb = setup();
	put16(tb, DATA, 7);
	tb->cpu->r[EAX] = 1;
	tb->cpu->r[EBX] = 9;
	RUN(tb, 0x0f, 0xb1, 0x1e, 0x00, 0x30); /* cmpxchg [0x3000], bx */
	g_assert_cmphex(get16(tb, DATA), ==, 7);
	g_assert_cmphex(tb->cpu->r[EAX], ==, 7);
	check_flags(tb, ZF | CF, CF);
	tb_free(tb);
}

static void test_cmpxchg8b_equal_and_not_equal(void)
{
	struct testbus *tb = setup();
	tb_put32(tb, DATA, 0x11111111);
	tb_put32(tb, DATA + 4, 0x22222222);
	tb->cpu->r[EAX] = 0x11111111;
	tb->cpu->r[EDX] = 0x22222222;
	tb->cpu->r[EBX] = 0x33333333;
	tb->cpu->r[ECX] = 0x44444444;
	RUN(tb, 0x0f, 0xc7, 0x0e, 0x00, 0x30); /* cmpxchg8b [0x3000] */
	g_assert_cmphex(tb_get32(tb, DATA), ==, 0x33333333);
	g_assert_cmphex(tb_get32(tb, DATA + 4), ==, 0x44444444);
	check_flags(tb, ZF, ZF);
	RUN(tb, 0x0f, 0xc7, 0x0e, 0x00, 0x30); /* cmpxchg8b [0x3000] */
	g_assert_cmphex(tb->cpu->r[EAX], ==, 0x33333333);
	g_assert_cmphex(tb->cpu->r[EDX], ==, 0x44444444);
	check_flags(tb, ZF, 0);
	tb_free(tb);
}

/* }====================================================================== */

/* {====== faults on the destination write (protected mode) ====== */

/* Flat 32-bit ring 0 with DS read-only and #GP sent to a HLT. */
static struct testbus *setup_readonly_ds(void)
{
	struct testbus *tb = setup();
	tb_pmode32(tb);
	tb_gate(tb, 0x600 + EXC_GP * 8, 0x08, HANDLER + EXC_GP, SYS_INTGATE32, 0);
	tb->cpu->seg[SEG_DS].attr &= (uint16_t)~DESC_TYPE_W;
	cpu_state_changed(tb->cpu);
	tb->cpu->r[ESP] = 0x8000;
	return tb;
}

static void test_rmw_write_fault_keeps_flags(void)
{
	struct testbus *tb = setup_readonly_ds();
	set_flags(tb, ZF | PF);
	tb->ram[DATA] = 0xff;
	tb->cpu->r[EAX] = 1;
	RUN(tb, 0x00, 0x05, 0x00, 0x30, 0x00, 0x00); /* add [0x3000], al (32-bit code) */
	g_assert_true(raised(tb, EXC_GP));
	g_assert_cmphex(tb->ram[DATA], ==, 0xff);
	check_flags(tb, FLAGS6, ZF | PF);
	tb_free(tb);
}

static void test_cmpxchg_not_equal_writes_destination(void)
{
	struct testbus *tb = setup_readonly_ds();
	tb->ram[DATA] = 7;
	tb->cpu->r[EAX] = 1;
	RUN(tb, 0x0f, 0xb0, 0x1d, 0x00, 0x30, 0x00, 0x00); /* cmpxchg [0x3000], bl (32-bit code) */
	g_assert_true(raised(tb, EXC_GP));
	g_assert_cmphex(tb->cpu->r[EAX], ==, 1);
	tb_free(tb);
}

/* }====================================================================== */

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/cpu/alu/add-carry-out-8bit", test_add_carry_out_8bit);
	g_test_add_func("/cpu/alu/add-signed-overflow-16bit", test_add_signed_overflow_16bit);
	g_test_add_func("/cpu/alu/adc-carry-in-16bit", test_adc_carry_in_16bit);
	g_test_add_func("/cpu/alu/adc-carry-in-wraps-to-zero", test_adc_carry_in_wraps_to_zero);
	g_test_add_func("/cpu/alu/sbb-borrow-in-32bit", test_sbb_borrow_in_32bit);
	g_test_add_func("/cpu/alu/sbb-equal-operands-with-borrow-in",
	                test_sbb_equal_operands_with_borrow_in);
	g_test_add_func("/cpu/alu/sbb-without-borrow-overflows", test_sbb_without_borrow_overflows);
	g_test_add_func("/cpu/alu/cmp-memory-is-not-written", test_cmp_memory_is_not_written);
	g_test_add_func("/cpu/alu/sub-memory-destination-16bit", test_sub_memory_destination_16bit);
	g_test_add_func("/cpu/alu/grp1-83-sign-extends-imm8", test_grp1_83_sign_extends_imm8);
	g_test_add_func("/cpu/alu/grp1-82-is-an-alias-of-80", test_grp1_82_is_an_alias_of_80);
	g_test_add_func("/cpu/alu/logic-clears-cf-and-of", test_logic_clears_cf_and_of);
	g_test_add_func("/cpu/alu/test-sets-zf-without-writing", test_test_sets_zf_without_writing);
	g_test_add_func("/cpu/alu/neg-zero-clears-cf", test_neg_zero_clears_cf);
	g_test_add_func("/cpu/alu/neg-most-negative-overflows", test_neg_most_negative_overflows);
	g_test_add_func("/cpu/alu/inc-keeps-carry", test_inc_keeps_carry);
	g_test_add_func("/cpu/alu/inc-after-logic-keeps-cleared-carry",
	                test_inc_after_logic_keeps_cleared_carry);
	g_test_add_func("/cpu/alu/dec-overflows-at-most-negative-32bit",
	                test_dec_overflows_at_most_negative_32bit);
	g_test_add_func("/cpu/alu/not-leaves-flags", test_not_leaves_flags);
	g_test_add_func("/cpu/alu/cmc-clc-stc", test_cmc_clc_stc);
	g_test_add_func("/cpu/alu/salc-copies-carry", test_salc_copies_carry);
	g_test_add_func("/cpu/alu/rmw-write-fault-keeps-flags", test_rmw_write_fault_keeps_flags);
	g_test_add_func("/cpu/shift/rcl-count-mod-9", test_rcl_count_mod_9);
	g_test_add_func("/cpu/shift/rcr-count-mod-17-16bit", test_rcr_count_mod_17_16bit);
	g_test_add_func("/cpu/shift/count-masked-to-5-bits", test_shift_count_masked_to_5_bits);
	g_test_add_func("/cpu/shift/count-zero-keeps-flags", test_shift_count_zero_keeps_flags);
	g_test_add_func("/cpu/shift/shl-8bit-count-beyond-width", test_shl_8bit_count_beyond_width);
	g_test_add_func("/cpu/shift/sar-fills-with-sign", test_sar_fills_with_sign);
	g_test_add_func("/cpu/shift/shr-1-sets-of-to-old-msb", test_shr_1_sets_of_to_old_msb);
	g_test_add_func("/cpu/shift/rol-by-width-sets-cf-from-bit0",
	                test_rol_by_width_sets_cf_from_bit0);
	g_test_add_func("/cpu/shift/ror-1-of-is-top-bits-xor", test_ror_1_of_is_top_bits_xor);
	g_test_add_func("/cpu/shift/shld-32bit", test_shld_32bit);
	g_test_add_func("/cpu/shift/shrd-16bit-fills-from-source",
	                test_shrd_16bit_fills_from_source);
	g_test_add_func("/cpu/muldiv/mul-8bit-sets-cf-when-ah-nonzero",
	                test_mul_8bit_sets_cf_when_ah_nonzero);
	g_test_add_func("/cpu/muldiv/mul-32bit-fills-edx", test_mul_32bit_fills_edx);
	g_test_add_func("/cpu/muldiv/imul-16bit-sign-extended-clears-cf",
	                test_imul_16bit_sign_extended_clears_cf);
	g_test_add_func("/cpu/muldiv/imul-3op-truncates-and-sets-of",
	                test_imul_3op_truncates_and_sets_of);
	g_test_add_func("/cpu/muldiv/imul-2op-32bit-negative", test_imul_2op_32bit_negative);
	g_test_add_func("/cpu/muldiv/div-by-zero-raises-de", test_div_by_zero_raises_de);
	g_test_add_func("/cpu/muldiv/div-quotient-overflow-raises-de",
	                test_div_quotient_overflow_raises_de);
	g_test_add_func("/cpu/muldiv/idiv-overflow-raises-de", test_idiv_overflow_raises_de);
	g_test_add_func("/cpu/muldiv/idiv-rounds-toward-zero", test_idiv_rounds_toward_zero);
	g_test_add_func("/cpu/muldiv/idiv-most-negative-quotient-fits",
	                test_idiv_most_negative_quotient_fits);
	g_test_add_func("/cpu/muldiv/div-32bit", test_div_32bit);
	g_test_add_func("/cpu/bcd/daa-adjusts-both-digits", test_daa_adjusts_both_digits);
	g_test_add_func("/cpu/bcd/das-borrows", test_das_borrows);
	g_test_add_func("/cpu/bcd/aaa-carries-into-ah", test_aaa_carries_into_ah);
	g_test_add_func("/cpu/bcd/aas-borrows-from-ah", test_aas_borrows_from_ah);
	g_test_add_func("/cpu/bcd/aam-zero-raises-de", test_aam_zero_raises_de);
	g_test_add_func("/cpu/bcd/aam-splits-and-aad-joins", test_aam_splits_and_aad_joins);
	g_test_add_func("/cpu/bit/bt-register-offset-beyond-operand",
	                test_bt_register_offset_beyond_operand);
	g_test_add_func("/cpu/bit/bt-negative-offset-selects-lower-dword",
	                test_bt_negative_offset_selects_lower_dword);
	g_test_add_func("/cpu/bit/bts-immediate-offset-masked-to-width",
	                test_bts_immediate_offset_masked_to_width);
	g_test_add_func("/cpu/bit/btr-btc-register-offset-modulo-width",
	                test_btr_btc_register_offset_modulo_width);
	g_test_add_func("/cpu/bit/bsf-zero-source-keeps-destination",
	                test_bsf_zero_source_keeps_destination);
	g_test_add_func("/cpu/bit/bsf-bsr-find-lowest-and-highest",
	                test_bsf_bsr_find_lowest_and_highest);
	g_test_add_func("/cpu/bit/setcc-writes-one-or-zero", test_setcc_writes_one_or_zero);
	g_test_add_func("/cpu/bit/cmovcc-false-still-reads-source",
	                test_cmovcc_false_still_reads_source);
	g_test_add_func("/cpu/bit/cmovcc-16bit-keeps-upper-half",
	                test_cmovcc_16bit_keeps_upper_half);
	g_test_add_func("/cpu/bit/bswap-32bit-and-16bit", test_bswap_32bit_and_16bit);
	g_test_add_func("/cpu/bit/xadd-exchanges-and-adds", test_xadd_exchanges_and_adds);
	g_test_add_func("/cpu/bit/cmpxchg-equal-stores-source", test_cmpxchg_equal_stores_source);
	g_test_add_func("/cpu/bit/cmpxchg-not-equal-loads-accumulator",
	                test_cmpxchg_not_equal_loads_accumulator);
	g_test_add_func("/cpu/bit/cmpxchg-not-equal-writes-destination",
	                test_cmpxchg_not_equal_writes_destination);
	g_test_add_func("/cpu/bit/cmpxchg8b-equal-and-not-equal",
	                test_cmpxchg8b_equal_and_not_equal);
	return g_test_run();
}
