/*
 * bit.c - bit and byte instructions of the 386 and later: BT BTS BTR BTC
 * (0F A3 AB B3 BB, group 8 0F BA /4-/7), BSF BSR (0F BC BD), SETcc
 * (0F 90-9F), CMOVcc (0F 40-4F), BSWAP (0F C8-CF), XADD (0F C0 C1),
 * CMPXCHG (0F B0 B1) and CMPXCHG8B (0F C7 /1).
 */
#include "cpu_int.h"

/* Sets or clears one arithmetic flag, keeping the others. */
static void flag_put(struct cpu *cpu, uint32_t flag, bool on)
{
	uint32_t f = flags_get(cpu) & ~flag;
	flags_set_arith(cpu, on ? f | flag : f);
}

/* {====== BT BTS BTR BTC ====== */

/* ModRM.reg - 4 of group 8, and bits 4:3 of 0F A3/AB/B3/BB. */
enum bt_kind { BT_TEST, BT_SET, BT_RESET, BT_COMPLEMENT };

static uint32_t bt_apply(int kind, uint32_t v, uint32_t mask)
{
	switch (kind) {
	case BT_SET:
		return v | mask;
	case BT_RESET:
		return v & ~mask;
	case BT_COMPLEMENT:
		return v ^ mask;
	default:
		return v;
	}
}

/*
 * The bit-test family. `off` is the bit offset; `wide` says whether it
 * comes from a register (signed, and for memory operands it selects a
 * word/dword relative to the effective address) or from an immediate
 * (taken modulo the operand width). CF receives the old bit; the other
 * flags are kept.
 */
static void bt_do(struct cpu *cpu, const struct insn *in, int kind, uint32_t off, bool wide)
{
	int sz = osz(in), w = sz * 8;
	uint32_t bit = off & (uint32_t)(w - 1);
	uint32_t mask = 1u << bit;
	uint32_t v;
	if (in->mod == 3) {
		v = reg_sz(cpu, in->rm, sz);
		if (kind != BT_TEST)
			set_reg_sz(cpu, in->rm, bt_apply(kind, v, mask), sz);
	} else {
		uint32_t addr = ea(cpu, in);
		if (wide) {
			int32_t soff = (int32_t)sext(off, sz);
			addr += (uint32_t)((soff >> (sz == 4 ? 5 : 4)) * sz);
			if (!in->addrsize32)
				addr &= 0xffff;
		}
		v = mem_rd(cpu, in->seg, addr, sz);
		if (kind != BT_TEST)
			mem_wr(cpu, in->seg, addr, bt_apply(kind, v, mask), sz);
	}
	flag_put(cpu, EFLAGS_CF, v & mask);
}

/* BT Ev,Gv (0F A3), BTS Ev,Gv (0F AB), BTR Ev,Gv (0F B3), BTC Ev,Gv (0F BB) */
static void op_bt_ev_gv(struct cpu *cpu, const struct insn *in)
{
	bt_do(cpu, in, (in->op >> 3) & 3, reg_sz(cpu, in->reg, osz(in)), true);
}

/* BT/BTS/BTR/BTC Ev,Ib (group 8, 0F BA /4-/7) */
static void op_grp8_ev_ib(struct cpu *cpu, const struct insn *in)
{
	bt_do(cpu, in, in->reg - 4, in->imm & 0xff, false);
}

/* }====================================================================== */

/* {====== BSF BSR ====== */

/* BSF Gv,Ev (0F BC), BSR Gv,Ev (0F BD): index of the lowest/highest set
 * bit; a zero source sets ZF and leaves the destination unchanged. */
static void op_bsf_bsr_gv_ev(struct cpu *cpu, const struct insn *in)
{
	int sz = osz(in);
	uint32_t v = rm_read(cpu, in, sz) & size_mask(sz);
	if (v == 0) {
		flag_put(cpu, EFLAGS_ZF, true);
		return;
	}
	uint32_t idx =
	        in->op == 0x1bc ? (uint32_t)__builtin_ctz(v) : 31u - (uint32_t)__builtin_clz(v);
	set_reg_sz(cpu, in->reg, idx, sz);
	flag_put(cpu, EFLAGS_ZF, false);
}

/* }====================================================================== */

/* {====== SETcc, CMOVcc, BSWAP ====== */

/* SETcc Eb (0F 90-9F): 1 if the condition holds, else 0. */
static void op_setcc_eb(struct cpu *cpu, const struct insn *in)
{
	rm_write(cpu, in, flags_cond(cpu, in->op & 0xf) ? 1 : 0, 1);
}

/* CMOVcc Gv,Ev (0F 40-4F): the source is read (and may fault) whatever
 * the condition. #UD on a model without CMOV (model.h). */
static void op_cmovcc_gv_ev(struct cpu *cpu, const struct insn *in)
{
	if (!(cpu->cpuid_edx & CPUID_EDX_CMOV))
		cpu_ud(cpu);
	int sz = osz(in);
	uint32_t v = rm_read(cpu, in, sz);
	if (flags_cond(cpu, in->op & 0xf))
		set_reg_sz(cpu, in->reg, v, sz);
}

/* BSWAP r32 (0F C8+r). With a 16-bit operand size the result is
 * undefined; P6 processors clear the low word, and so does this. */
static void op_bswap_zd(struct cpu *cpu, const struct insn *in)
{
	int reg = in->op & 7;
	if (in->opsize32)
		cpu->r[reg] = __builtin_bswap32(cpu->r[reg]);
	else
		set_reg16(cpu, reg, 0);
}

/* }====================================================================== */

/* {====== XADD, CMPXCHG, CMPXCHG8B ====== */

static int byte_or_v(const struct insn *in)
{
	return (in->op & 1) ? osz(in) : 1;
}

/* XADD Eb,Gb (0F C0), XADD Ev,Gv (0F C1): TEMP = SRC + DEST;
 * SRC = DEST; DEST = TEMP; flags as for ADD. */
static void op_xadd_e_g(struct cpu *cpu, const struct insn *in)
{
	int sz = byte_or_v(in);
	uint32_t d = rm_read(cpu, in, sz), s = reg_sz(cpu, in->reg, sz);
	uint32_t sum = (d + s) & size_mask(sz);
	if (in->mod == 3) {
		set_reg_sz(cpu, in->reg, d, sz);
		set_reg_sz(cpu, in->rm, sum, sz);
	} else {
		rm_write(cpu, in, sum, sz);
		set_reg_sz(cpu, in->reg, d, sz);
	}
	lf_set(cpu, LF_ADD, sz, d, s, sum);
}

/* CMPXCHG Eb,Gb (0F B0), CMPXCHG Ev,Gv (0F B1): compare the accumulator
 * with DEST; equal: DEST = SRC; not equal: the accumulator gets DEST and
 * DEST is written back with its own value (a write cycle, as on hardware:
 * it faults on a read-only destination). Flags as for CMP acc, DEST. */
static void op_cmpxchg_e_g(struct cpu *cpu, const struct insn *in)
{
	int sz = byte_or_v(in);
	uint32_t m = size_mask(sz);
	uint32_t d = rm_read(cpu, in, sz) & m, acc = reg_sz(cpu, EAX, sz);
	if (acc == d) {
		rm_write(cpu, in, reg_sz(cpu, in->reg, sz), sz);
	} else {
		rm_write(cpu, in, d, sz);
		set_reg_sz(cpu, EAX, d, sz);
	}
	lf_set(cpu, LF_SUB, sz, acc, d, (acc - d) & m);
}

#define PAGE_OFFSET_MASK 0xfffu

/* CMPXCHG8B Mq (0F C7 /1): compare EDX:EAX with m64; equal: m64 =
 * ECX:EBX and ZF = 1; not equal: EDX:EAX = m64, m64 written back, ZF = 0.
 * Both halves are translated for writing before either is stored, so a
 * fault never leaves half a quadword written. #UD on a model without
 * CX8 (model.h). */
static void op_cmpxchg8b_mq(struct cpu *cpu, const struct insn *in)
{
	if (!(cpu->cpuid_edx & CPUID_EDX_CX8))
		cpu_ud(cpu);
	uint32_t lin = seg_lin(cpu, in->seg, ea(cpu, in), 8, ACC_WRITE);
	uint32_t lo = lin_rd(cpu, lin, 4), hi = lin_rd(cpu, lin + 4, 4);
	bool eq = lo == cpu->r[EAX] && hi == cpu->r[EDX];
	mmu_translate(cpu, lin, ACC_WRITE, cpu->user);
	if ((lin & PAGE_OFFSET_MASK) > PAGE_OFFSET_MASK - 7)
		mmu_translate(cpu, lin + 7, ACC_WRITE, cpu->user);
	lin_wr(cpu, lin, eq ? cpu->r[EBX] : lo, 4);
	lin_wr(cpu, lin + 4, eq ? cpu->r[ECX] : hi, 4);
	if (!eq) {
		cpu->r[EAX] = lo;
		cpu->r[EDX] = hi;
	}
	flag_put(cpu, EFLAGS_ZF, eq);
}

/* }====================================================================== */

/*
 * Installs the bit and byte instruction handlers in the opcode registry.
 * Called once by the decoder's registry initialization.
 */
void bit_register(void)
{
	cpu_set_op(0x1a3, op_bt_ev_gv); /* BT Ev,Gv */
	cpu_set_op(0x1ab, op_bt_ev_gv); /* BTS Ev,Gv */
	cpu_set_op(0x1b3, op_bt_ev_gv); /* BTR Ev,Gv */
	cpu_set_op(0x1bb, op_bt_ev_gv); /* BTC Ev,Gv */
	for (int r = 4; r < 8; r++)
		cpu_set_grp(0x1ba, r, op_grp8_ev_ib); /* BT/BTS/BTR/BTC Ev,Ib */
	cpu_set_op(0x1bc, op_bsf_bsr_gv_ev);          /* BSF Gv,Ev */
	cpu_set_op(0x1bd, op_bsf_bsr_gv_ev);          /* BSR Gv,Ev */
	for (int cc = 0; cc < 16; cc++) {
		cpu_set_op(0x190 + cc, op_setcc_eb);     /* SETcc Eb */
		cpu_set_op(0x140 + cc, op_cmovcc_gv_ev); /* CMOVcc Gv,Ev */
	}
	for (int r = 0; r < 8; r++)
		cpu_set_op(0x1c8 + r, op_bswap_zd); /* BSWAP r32 */
	cpu_set_op(0x1c0, op_xadd_e_g);             /* XADD Eb,Gb */
	cpu_set_op(0x1c1, op_xadd_e_g);             /* XADD Ev,Gv */
	cpu_set_op(0x1b0, op_cmpxchg_e_g);          /* CMPXCHG Eb,Gb */
	cpu_set_op(0x1b1, op_cmpxchg_e_g);          /* CMPXCHG Ev,Gv */
	cpu_set_grp(0x1c7, 1, op_cmpxchg8b_mq);     /* CMPXCHG8B Mq */
}
