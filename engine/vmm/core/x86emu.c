/*
 * x86emu.c - emulating one decoded instruction for the monitor: the
 * entry point vx_emulate, operand access, and the handlers of the
 * non-string instructions (x86emu_string.c has the string family,
 * x86emu_alu.c the flags, x86emu_decode.c the decoder).
 *
 * Every handler works on a copy of the registers (struct vx_ctx) that
 * vx_emulate commits only when the instruction completed, so a fault
 * reported by a memory callback leaves the caller's registers as they
 * were. Memory is read before it is written and written at most once,
 * so a faulting write also leaves memory as it was. The order of the
 * accesses and of the register updates follows the engine's CPU
 * (engine/cpu: alu.c, mov.c, bit.c, stack.c), whose results the test
 * compares bit for bit (tests/vmm/test-x86emu.c).
 *
 * Handlers are named after the manual's operand notation (Intel SDM
 * Vol. 2): E ModRM r/m, G ModRM reg, I immediate, O moffs; b byte,
 * v word or dword.
 */
#include "x86emu_int.h"

/* {====== memory and operands ====== */

int vx_read(struct vx_ctx *c, int seg, uint32_t off, uint32_t *v, int sz)
{
	uint32_t x = 0;
	int rc = c->m->read(c->m->opaque, seg, off, &x, sz);
	*v = x & vx_mask(sz);
	return rc;
}

int vx_write(struct vx_ctx *c, int seg, uint32_t off, uint32_t v, int sz)
{
	return c->m->write(c->m->opaque, seg, off, v & vx_mask(sz), sz);
}

uint32_t vx_ea(const struct vx_insn *in, const struct vx_regs *r)
{
	uint32_t a = in->disp;
	if (in->base != VX_REG_NONE)
		a += r->r[in->base];
	if (in->index != VX_REG_NONE)
		a += r->r[in->index] << in->scale;
	return in->addrsize32 ? a : a & 0xffff;
}

/* The ModRM r/m operand (register or memory at the current registers). */
static int rm_get(struct vx_ctx *c, uint32_t *v, int sz)
{
	if (!c->in->mem) {
		*v = vx_reg(&c->r, c->in->rm, sz);
		return VX_OK;
	}
	return vx_read(c, c->in->seg, vx_ea(c->in, &c->r), v, sz);
}

static int rm_put(struct vx_ctx *c, uint32_t v, int sz)
{
	if (!c->in->mem) {
		vx_set_reg(&c->r, c->in->rm, v, sz);
		return VX_OK;
	}
	return vx_write(c, c->in->seg, vx_ea(c->in, &c->r), v, sz);
}

/* The ModRM reg operand. */
static uint32_t reg_get(const struct vx_ctx *c, int sz)
{
	return vx_reg(&c->r, c->in->reg, sz);
}

/* }====================================================================== */

/* {====== ALU: 00-3D, group 1, TEST, NOT, NEG, INC, DEC ====== */

/* op Eb,Gb / Ev,Gv (00-39, even low nibble 0, 1) and group 1 E,I:
 * r/m = r/m op b (CMP only compares). */
static int alu_rm(struct vx_ctx *c, int op, int sz, uint32_t b)
{
	uint32_t a, res;
	int rc = rm_get(c, &a, sz);
	if (rc)
		return rc;
	uint32_t f = vx_alu(op, sz, a, b, c->r.eflags, &res);
	if (op != VX_CMP && (rc = rm_put(c, res, sz)) != 0)
		return rc;
	vx_put_flags(c, f);
	return VX_OK;
}

/* op reg,b (CMP only compares). */
static void alu_reg(struct vx_ctx *c, int reg, int op, int sz, uint32_t b)
{
	uint32_t res;
	uint32_t f = vx_alu(op, sz, vx_reg(&c->r, reg, sz), b, c->r.eflags, &res);
	if (op != VX_CMP)
		vx_set_reg(&c->r, reg, res, sz);
	vx_put_flags(c, f);
}

/* ADD OR ADC SBB AND SUB XOR CMP in forms Eb,Gb Ev,Gv Gb,Eb Gv,Ev AL,Ib eAX,Iz */
static int op_alu(struct vx_ctx *c)
{
	const struct vx_insn *in = c->in;
	int op = (in->op >> 3) & 7, sz = vx_bv_size(in);
	uint32_t v;
	int rc;
	switch (in->op & 7) {
	case 0: case 1: /* E,G */
		return alu_rm(c, op, sz, reg_get(c, sz));
	case 2: case 3: /* G,E */
		if ((rc = rm_get(c, &v, sz)) != 0)
			return rc;
		alu_reg(c, in->reg, op, sz, v);
		return VX_OK;
	default: /* AL,Ib / eAX,Iz */
		alu_reg(c, VX_EAX, op, sz, in->imm);
		return VX_OK;
	}
}

/* group 1: op Eb,Ib (80, 82), op Ev,Iz (81), op Ev,Ib (83) */
static int op_grp1_e_i(struct vx_ctx *c)
{
	int sz = (c->in->op == 0x80 || c->in->op == 0x82) ? 1 : vx_osz(c->in);
	return alu_rm(c, c->in->reg, sz, c->in->imm);
}

/* TEST Eb,Gb / Ev,Gv (84, 85), TEST E,I (F6 F7 /0 /1), TEST AL/eAX,I (A8 A9) */
static int op_test(struct vx_ctx *c)
{
	const struct vx_insn *in = c->in;
	int sz = vx_bv_size(in);
	uint32_t a, b;
	if (in->op == 0xa8 || in->op == 0xa9) {
		a = vx_reg(&c->r, VX_EAX, sz);
		b = in->imm;
	} else {
		int rc = rm_get(c, &a, sz);
		if (rc)
			return rc;
		b = (in->op == 0x84 || in->op == 0x85) ? reg_get(c, sz) : in->imm;
	}
	vx_put_flags(c, vx_flags_logic(sz, a & b & vx_mask(sz)));
	return VX_OK;
}

/* NOT E (F6 F7 /2, no flags), NEG E (F6 F7 /3, flags of 0 - E) */
static int op_not_neg_e(struct vx_ctx *c)
{
	int sz = vx_bv_size(c->in);
	uint32_t a, res, f = 0;
	int rc = rm_get(c, &a, sz);
	if (rc)
		return rc;
	bool neg = c->in->reg == 3;
	if (neg)
		f = vx_flags_sub(sz, 0, a, 0, &res);
	else
		res = ~a;
	if ((rc = rm_put(c, res, sz)) != 0)
		return rc;
	if (neg)
		vx_put_flags(c, f);
	return VX_OK;
}

/* INC E, DEC E (FE FF /0 /1): CF is kept. */
static int op_incdec_e(struct vx_ctx *c)
{
	int sz = vx_bv_size(c->in);
	uint32_t a, res;
	int rc = rm_get(c, &a, sz);
	if (rc)
		return rc;
	uint32_t f = vx_flags_incdec(sz, a, c->in->reg == 1, c->r.eflags, &res);
	if ((rc = rm_put(c, res, sz)) != 0)
		return rc;
	vx_put_flags(c, f);
	return VX_OK;
}

/* }====================================================================== */

/* {====== MOV, MOVZX, MOVSX, XCHG ====== */

/* MOV Eb,Gb / Ev,Gv (88 89), MOV Gb,Eb / Gv,Ev (8A 8B), MOV E,I (C6 C7 /0) */
static int op_mov(struct vx_ctx *c)
{
	const struct vx_insn *in = c->in;
	int sz = vx_bv_size(in);
	uint32_t v;
	int rc;
	switch (in->op) {
	case 0x88: case 0x89:
		return rm_put(c, reg_get(c, sz), sz);
	case 0xc6: case 0xc7:
		return rm_put(c, in->imm, sz);
	default:
		if ((rc = rm_get(c, &v, sz)) != 0)
			return rc;
		vx_set_reg(&c->r, in->reg, v, sz);
		return VX_OK;
	}
}

/* MOV AL/eAX,Ob/Ov (A0 A1), MOV Ob/Ov,AL/eAX (A2 A3): the offset is in disp. */
static int op_mov_moffs(struct vx_ctx *c)
{
	const struct vx_insn *in = c->in;
	int sz = vx_bv_size(in);
	if (in->op >= 0xa2)
		return vx_write(c, in->seg, in->disp, vx_reg(&c->r, VX_EAX, sz), sz);
	uint32_t v;
	int rc = vx_read(c, in->seg, in->disp, &v, sz);
	if (rc)
		return rc;
	vx_set_reg(&c->r, VX_EAX, v, sz);
	return VX_OK;
}

/* MOVZX Gv,Eb/Ew (0F B6 B7), MOVSX Gv,Eb/Ew (0F BE BF) */
static int op_movx(struct vx_ctx *c)
{
	int ssz = (c->in->op & 1) ? 2 : 1;
	uint32_t v;
	int rc = rm_get(c, &v, ssz);
	if (rc)
		return rc;
	if (c->in->op >= 0x1be)
		v = vx_sext(v, ssz);
	vx_set_reg(&c->r, c->in->reg, v, vx_osz(c->in));
	return VX_OK;
}

/* XCHG Eb,Gb / Ev,Gv (86 87): r/m first, so a fault keeps the register. */
static int op_xchg_e_g(struct vx_ctx *c)
{
	int sz = vx_bv_size(c->in);
	uint32_t a;
	int rc = rm_get(c, &a, sz);
	if (rc || (rc = rm_put(c, reg_get(c, sz), sz)) != 0)
		return rc;
	vx_set_reg(&c->r, c->in->reg, a, sz);
	return VX_OK;
}

/* }====================================================================== */

/* {====== CMPXCHG, XADD, BT*, SETcc ====== */

/* CMPXCHG Eb,Gb / Ev,Gv (0F B0 B1): equal: E = G; not equal: the
 * accumulator gets E and E is written back unchanged (a write cycle, as on
 * hardware). Flags of CMP accumulator, E. */
static int op_cmpxchg_e_g(struct vx_ctx *c)
{
	int sz = vx_bv_size(c->in);
	uint32_t d, res;
	int rc = rm_get(c, &d, sz);
	if (rc)
		return rc;
	uint32_t acc = vx_reg(&c->r, VX_EAX, sz);
	uint32_t f = vx_flags_sub(sz, acc, d, 0, &res);
	if ((rc = rm_put(c, acc == d ? reg_get(c, sz) : d, sz)) != 0)
		return rc;
	if (acc != d)
		vx_set_reg(&c->r, VX_EAX, d, sz);
	vx_put_flags(c, f);
	return VX_OK;
}

/* CMPXCHG8B Mq (0F C7 /1): compare EDX:EAX with m64; equal: m64 =
 * ECX:EBX and ZF = 1; not equal: EDX:EAX = m64, m64 written back
 * unchanged, ZF = 0 (the other flags are kept). Both halves are read
 * before either is written, so a fault on a read changes nothing; the
 * halves are two writes, so a fault on the second leaves the first done
 * (x86emu.h). */
static int op_cmpxchg8b_mq(struct vx_ctx *c)
{
	uint32_t off = vx_ea(c->in, &c->r);
	uint32_t off_hi = c->in->addrsize32 ? off + 4 : (off + 4) & 0xffff;
	uint32_t lo, hi;
	int rc = vx_read(c, c->in->seg, off, &lo, 4);
	if (rc || (rc = vx_read(c, c->in->seg, off_hi, &hi, 4)) != 0)
		return rc;
	bool eq = lo == c->r.r[VX_EAX] && hi == c->r.r[VX_EDX];
	if ((rc = vx_write(c, c->in->seg, off, eq ? c->r.r[VX_EBX] : lo, 4)) != 0 ||
	    (rc = vx_write(c, c->in->seg, off_hi, eq ? c->r.r[VX_ECX] : hi, 4)) != 0)
		return rc;
	if (!eq) {
		c->r.r[VX_EAX] = lo;
		c->r.r[VX_EDX] = hi;
	}
	c->r.eflags = eq ? c->r.eflags | VX_EFLAGS_ZF : c->r.eflags & ~VX_EFLAGS_ZF;
	return VX_OK;
}

/* XADD Eb,Gb / Ev,Gv (0F C0 C1): G = E, E = E + G, flags of the ADD. */
static int op_xadd_e_g(struct vx_ctx *c)
{
	int sz = vx_bv_size(c->in);
	uint32_t d, sum;
	int rc = rm_get(c, &d, sz);
	if (rc)
		return rc;
	uint32_t f = vx_flags_add(sz, d, reg_get(c, sz), 0, &sum);
	if (!c->in->mem) { /* the CPU writes G first: XADD r,r with r == r */
		vx_set_reg(&c->r, c->in->reg, d, sz);
		vx_set_reg(&c->r, c->in->rm, sum, sz);
	} else {
		if ((rc = rm_put(c, sum, sz)) != 0)
			return rc;
		vx_set_reg(&c->r, c->in->reg, d, sz);
	}
	vx_put_flags(c, f);
	return VX_OK;
}

/* Bit-test operations, by ModRM.reg - 4 of group 8 and bits 4:3 of the
 * 0F A3/AB/B3/BB opcodes. */
enum { BT_TEST, BT_SET, BT_RESET, BT_COMPLEMENT };

static uint32_t bt_apply(int kind, uint32_t v, uint32_t mask)
{
	switch (kind) {
	case BT_SET: return v | mask;
	case BT_RESET: return v & ~mask;
	case BT_COMPLEMENT: return v ^ mask;
	default: return v;
	}
}

/* The offset of the word/dword holding bit `off` (a signed register bit
 * offset) relative to the operand: (off >> log2(bits)) * bytes. */
static uint32_t bt_byte_offset(uint32_t off, int sz)
{
	uint32_t soff = vx_sext(off, sz);
	int shift = sz == 4 ? 5 : 4;
	uint32_t units = soff >> shift;
	if (soff & 0x80000000u) /* arithmetic shift */
		units |= ~(0xffffffffu >> shift);
	return units * (uint32_t)sz;
}

/* BT BTS BTR BTC Ev,Gv (0F A3 AB B3 BB) and Ev,Ib (0F BA /4-/7): CF gets
 * the bit. A register offset on a memory operand addresses the bit string
 * beyond the operand (SDM, BT); an immediate is taken modulo the width. */
static int op_bt(struct vx_ctx *c)
{
	const struct vx_insn *in = c->in;
	int sz = vx_osz(in), kind;
	uint32_t off;
	if (in->op == 0x1ba) {
		kind = in->reg - 4;
		off = in->imm & 0xff;
	} else {
		kind = (in->op >> 3) & 3;
		off = reg_get(c, sz);
	}
	uint32_t mask = 1u << (off & (uint32_t)(sz * 8 - 1)), v;
	int rc;
	if (!in->mem) {
		v = vx_reg(&c->r, in->rm, sz);
		if (kind != BT_TEST)
			vx_set_reg(&c->r, in->rm, bt_apply(kind, v, mask), sz);
	} else {
		uint32_t a = vx_ea(in, &c->r);
		if (in->op != 0x1ba) {
			a += bt_byte_offset(off, sz);
			if (!in->addrsize32)
				a &= 0xffff;
		}
		if ((rc = vx_read(c, in->seg, a, &v, sz)) != 0)
			return rc;
		if (kind != BT_TEST) {
			rc = vx_write(c, in->seg, a, bt_apply(kind, v, mask), sz);
			if (rc)
				return rc;
		}
	}
	uint32_t f = c->r.eflags & ~VX_EFLAGS_CF;
	vx_put_flags(c, (v & mask) ? f | VX_EFLAGS_CF : f);
	return VX_OK;
}

/* SETcc Eb (0F 90-9F) */
static int op_setcc_eb(struct vx_ctx *c)
{
	return rm_put(c, vx_cond(c->r.eflags, c->in->op & 0xf) ? 1 : 0, 1);
}

/* }====================================================================== */

/* {====== PUSH Ev, POP Ev (32-bit stack) ====== */

/* PUSH Ev (FF /6): the operand's address uses ESP before the push. */
static int op_push_ev(struct vx_ctx *c)
{
	int sz = vx_osz(c->in);
	uint32_t v;
	int rc = rm_get(c, &v, sz);
	uint32_t sp = c->r.r[VX_ESP] - (uint32_t)sz;
	if (rc || (rc = vx_write(c, VX_SS, sp, v, sz)) != 0)
		return rc;
	c->r.r[VX_ESP] = sp;
	return VX_OK;
}

/* Pushes v (sz bytes) on the 32-bit stack of the working copy. */
static int push(struct vx_ctx *c, uint32_t v, int sz)
{
	uint32_t sp = c->r.r[VX_ESP] - (uint32_t)sz;
	int rc = vx_write(c, VX_SS, sp, v, sz);
	if (rc)
		return rc;
	c->r.r[VX_ESP] = sp;
	return VX_OK;
}

/* PUSH r (50+r): the value of ESP before the push for PUSH ESP. */
static int op_push_z(struct vx_ctx *c)
{
	int sz = vx_osz(c->in);
	return push(c, vx_reg(&c->r, c->in->op & 7, sz), sz);
}

/* PUSH Iz, PUSH Ib (68, 6A; the byte sign-extended). */
static int op_push_i(struct vx_ctx *c)
{
	return push(c, c->in->imm, vx_osz(c->in));
}

/* CALL Jz (E8) and CALL Ev (FF /2): the return address pushed, EIP at
 * the target (16-bit operand size: truncated to 16 bits). A target beyond
 * the CS limit, where the CPU raises #GP(0) before it pushes, is left to
 * the caller (VX_UNSUPPORTED) when it gave the limit. */
static int op_call(struct vx_ctx *c)
{
	int sz = vx_osz(c->in);
	uint32_t target;
	if (c->in->op == 0xe8) {
		target = c->r.eip + c->in->imm;
	} else {
		int rc = rm_get(c, &target, sz);
		if (rc)
			return rc;
	}
	if (sz == 2)
		target &= 0xffff;
	if (c->m->check_cs && target > c->m->cs_limit)
		return VX_UNSUPPORTED;
	int rc = push(c, c->r.eip, sz);
	if (rc)
		return rc;
	c->r.eip = target;
	return VX_OK;
}

/* POP Ev (8F /0): ESP is incremented before the operand's address is
 * computed (SDM, POP); a register destination is written after it. */
static int op_pop_ev(struct vx_ctx *c)
{
	int sz = vx_osz(c->in);
	uint32_t v;
	int rc = vx_read(c, VX_SS, c->r.r[VX_ESP], &v, sz);
	if (rc)
		return rc;
	c->r.r[VX_ESP] += (uint32_t)sz;
	return rm_put(c, v, sz);
}

/* }====================================================================== */

/* {====== dispatch ====== */

typedef int (*vx_handler)(struct vx_ctx *c);

/* The handler of `in`, or NULL outside the emulated set. */
static vx_handler handler_of(const struct vx_insn *in)
{
	unsigned op = in->op;
	if (op < 0x40 && (op & 7) < 6)
		return op_alu; /* 00-3D */
	if (vx_is_string(op))
		return vx_string;
	if (op >= 0x190 && op <= 0x19f)
		return op_setcc_eb;
	switch (op) {
	case 0x80: case 0x81: case 0x82: case 0x83: return op_grp1_e_i;
	case 0x84: case 0x85: case 0xa8: case 0xa9: return op_test;
	case 0x86: case 0x87: return op_xchg_e_g;
	case 0x88: case 0x89: case 0x8a: case 0x8b: return op_mov;
	case 0xc6: case 0xc7: return in->reg == 0 ? op_mov : NULL;
	case 0x8f: return in->reg == 0 ? op_pop_ev : NULL;
	case 0xa0: case 0xa1: case 0xa2: case 0xa3: return op_mov_moffs;
	case 0xf6: case 0xf7: return in->reg <= 1 ? op_test : in->reg <= 3 ? op_not_neg_e : NULL;
	case 0xfe: return in->reg <= 1 ? op_incdec_e : NULL;
	case 0xff: return in->reg <= 1 ? op_incdec_e : in->reg == 6 ? op_push_ev
	                : in->reg == 2 ? op_call : NULL;
	case 0xe8: return op_call;
	case 0x50: case 0x51: case 0x52: case 0x53:
	case 0x54: case 0x55: case 0x56: case 0x57: return op_push_z;
	case 0x68: case 0x6a: return op_push_i;
	case 0x1b6: case 0x1b7: case 0x1be: case 0x1bf: return op_movx;
	case 0x1b0: case 0x1b1: return op_cmpxchg_e_g;
	case 0x1c7: return in->reg == 1 && in->mem ? op_cmpxchg8b_mq : NULL;
	case 0x1c0: case 0x1c1: return op_xadd_e_g;
	case 0x1a3: case 0x1ab: case 0x1b3: case 0x1bb: return op_bt;
	case 0x1ba: return in->reg >= 4 ? op_bt : NULL;
	default: return NULL;
	}
}

bool vx_supported(const struct vx_insn *in)
{
	return handler_of(in) != NULL;
}

int vx_emulate(const struct vx_insn *in, struct vx_regs *r, const struct vx_mem *m)
{
	vx_handler h = handler_of(in);
	if (!h)
		return VX_UNSUPPORTED;
	struct vx_ctx c = {.in = in, .r = *r, .m = m};
	if (!vx_is_string(in->op)) {
		c.r.eip += in->len;
		if (!in->code32)
			c.r.eip &= 0xffff;
	}
	int rc = h(&c);
	if (rc)
		return rc;
	*r = c.r;
	return VX_OK;
}

/* }====================================================================== */
