/*
 * x86emu_int.h - what the files of the instruction emulator share:
 * register access by operand size, operand access through the memory
 * callbacks, and the flag computations (x86emu_alu.c).
 *
 * Only x86emu*.c include this header.
 */
#ifndef NESTLAB_X86EMU_INT_H
#define NESTLAB_X86EMU_INT_H

#include "x86emu.h"

/* One emulation in progress: the instruction, a working copy of the
 * registers (committed to the caller's only on success) and memory. */
struct vx_ctx {
	const struct vx_insn *in;
	struct vx_regs r;
	const struct vx_mem *m;
};

/* {====== registers by operand size (1, 2 or 4 bytes) ====== */

/* Byte registers 4-7 are AH CH DH BH: bits 15:8 of registers 0-3. */
#define VX_HIGH_BYTE_REGS 4

static inline uint32_t vx_mask(int sz)
{
	return sz == 4 ? 0xffffffffu : (1u << (sz * 8)) - 1;
}

static inline uint32_t vx_sign(int sz)
{
	return 1u << (sz * 8 - 1);
}

static inline uint32_t vx_sext(uint32_t v, int sz)
{
	v &= vx_mask(sz);
	return (sz < 4 && (v & vx_sign(sz))) ? v | ~vx_mask(sz) : v;
}

static inline uint32_t vx_reg(const struct vx_regs *r, int n, int sz)
{
	if (sz == 1)
		return n < VX_HIGH_BYTE_REGS ? r->r[n] & 0xff
		                             : (r->r[n - VX_HIGH_BYTE_REGS] >> 8) & 0xff;
	return r->r[n] & vx_mask(sz);
}

static inline void vx_set_reg(struct vx_regs *r, int n, uint32_t v, int sz)
{
	if (sz == 1 && n >= VX_HIGH_BYTE_REGS)
		r->r[n - VX_HIGH_BYTE_REGS] =
		        (r->r[n - VX_HIGH_BYTE_REGS] & ~0xff00u) | (v & 0xff) << 8;
	else
		r->r[n] = (r->r[n] & ~vx_mask(sz)) | (v & vx_mask(sz));
}

/* The operand size of a v-sized operand. */
static inline int vx_osz(const struct vx_insn *in)
{
	return in->opsize32 ? 4 : 2;
}

/* Byte forms have an even opcode, the others the operand size. */
static inline int vx_bv_size(const struct vx_insn *in)
{
	return (in->op & 1) ? vx_osz(in) : 1;
}

/* }====================================================================== */

/* {====== flags (x86emu_alu.c) ====== */

/* The eight operations of opcodes 00-3F and group 1, in encoding order. */
enum vx_alu_op { VX_ADD, VX_OR, VX_ADC, VX_SBB, VX_AND, VX_SUB, VX_XOR, VX_CMP };

/* Result of a + b + carry (sz bytes) and its six arithmetic flags. */
uint32_t vx_flags_add(int sz, uint32_t a, uint32_t b, uint32_t carry, uint32_t *res);
/* Result of a - b - borrow and its flags. */
uint32_t vx_flags_sub(int sz, uint32_t a, uint32_t b, uint32_t borrow, uint32_t *res);
/* SF ZF PF of a result; CF OF AF clear (the logic instructions). */
uint32_t vx_flags_logic(int sz, uint32_t res);
/* INC (dec false) or DEC of a: the result; flags keep `old` CF. */
uint32_t vx_flags_incdec(int sz, uint32_t a, bool dec, uint32_t old, uint32_t *res);
/* One of the eight ALU operations on a and b with EFLAGS `old` (ADC, SBB
 * use its CF). Returns the new arithmetic flags; *res is the result. */
uint32_t vx_alu(int op, int sz, uint32_t a, uint32_t b, uint32_t old, uint32_t *res);
/* Condition code cc (low nibble of Jcc/SETcc) on EFLAGS f. */
bool vx_cond(uint32_t f, int cc);

/* Replaces the arithmetic flags of the working copy. */
static inline void vx_put_flags(struct vx_ctx *c, uint32_t arith)
{
	c->r.eflags = (c->r.eflags & ~VX_EFLAGS_ARITH) | (arith & VX_EFLAGS_ARITH);
}

/* }====================================================================== */

/* {====== memory and operands (x86emu.c) ====== */

/* Read/write sz bytes at seg:off; 0 or the callback's fault code. */
int vx_read(struct vx_ctx *c, int seg, uint32_t off, uint32_t *v, int sz);
int vx_write(struct vx_ctx *c, int seg, uint32_t off, uint32_t v, int sz);

/* The string instructions (x86emu_string.c): one element. */
int vx_string(struct vx_ctx *c);
bool vx_is_string(unsigned op);

/* }====================================================================== */

#endif
