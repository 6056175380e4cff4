/*
 * io.c - port I/O: IN and OUT (E4-E7, EC-EF) and the I/O permission check
 * that they and INS/OUTS share.
 *
 * Protection (SDM Vol. 1, chapter "Input/Output", I/O permission bit map):
 * in real mode every port is open. In protected mode a CPL <= IOPL may
 * access any port; otherwise, and always in virtual-8086 mode, the I/O
 * permission bit map of the current 32-bit TSS decides. Its offset is the
 * word at TSS+0x66; bit n covers port n, and every bit of an access of sz
 * bytes (ports port .. port+sz-1) must be clear. The processor reads the
 * map two bytes at a time, so both bytes must lie within the TSS limit
 * (bytes beyond the limit count as set: the manual asks for a trailing
 * 0xFF byte). A 16-bit TSS has no map. Failure is #GP(0).
 */
#include "cpu_int.h"

/* Offset of the I/O map base word in a 32-bit TSS, and the smallest
 * limit that contains it. */
#define TSS32_IOMAP_BASE 0x66
#define TSS32_IOMAP_END (TSS32_IOMAP_BASE + 1)

/* {====== permission ====== */

/* True when the TSS bit map allows the sz ports starting at `port`. */
static bool iomap_allows(struct cpu *cpu, uint16_t port, int sz)
{
	int type = cpu->tr.attr & DESC_TYPE;
	if (!(cpu->tr.attr & DESC_P) || (type != SYS_TSS32_AVAIL && type != SYS_TSS32_BUSY))
		return false;
	if (cpu->tr.limit < TSS32_IOMAP_END)
		return false;
	uint32_t base = dt_read(cpu, cpu->tr.base + TSS32_IOMAP_BASE, 2);
	uint32_t off = base + port / 8u;
	if (off + 1 > cpu->tr.limit)
		return false;
	uint32_t bits = dt_read(cpu, cpu->tr.base + off, 2);
	uint32_t want = ((1u << sz) - 1) << (port & 7);
	return (bits & want) == 0;
}

/* Raises #GP(0) unless the current privilege may access `sz` bytes of
 * ports at `port` (see the header comment). May #PF on the TSS read. */
void cpu_io_check(struct cpu *cpu, uint16_t port, int sz)
{
	if (!(cpu->cr0 & CR0_PE))
		return;
	if (!cpu_v86(cpu) && cpu->cpl <= cpu_iopl(cpu))
		return;
	if (!iomap_allows(cpu, port, sz))
		cpu_gp0(cpu);
}

/* }====================================================================== */

/* {====== IN and OUT ====== */

static int io_size(const struct insn *in)
{
	return (in->op & 1) ? osz(in) : 1;
}

static void port_in(struct cpu *cpu, const struct insn *in, uint16_t port)
{
	int sz = io_size(in);
	cpu_io_check(cpu, port, sz);
	set_reg_sz(cpu, EAX, cpu->bus.io_read(cpu->bus.opaque, port, sz), sz);
}

/* A port write may make a device raise an interrupt: end the block. */
static void port_out(struct cpu *cpu, const struct insn *in, uint16_t port)
{
	int sz = io_size(in);
	cpu_io_check(cpu, port, sz);
	cpu->bus.io_write(cpu->bus.opaque, port, reg_sz(cpu, EAX, sz), sz);
	cpu->block_end = true;
}

/* IN AL,Ib / IN eAX,Ib (E4, E5) */
static void op_in_ib(struct cpu *cpu, const struct insn *in)
{
	port_in(cpu, in, (uint16_t)(in->imm & 0xff));
}

/* IN AL,DX / IN eAX,DX (EC, ED) */
static void op_in_dx(struct cpu *cpu, const struct insn *in)
{
	port_in(cpu, in, (uint16_t)cpu->r[EDX]);
}

/* OUT Ib,AL / OUT Ib,eAX (E6, E7) */
static void op_out_ib(struct cpu *cpu, const struct insn *in)
{
	port_out(cpu, in, (uint16_t)(in->imm & 0xff));
}

/* OUT DX,AL / OUT DX,eAX (EE, EF) */
static void op_out_dx(struct cpu *cpu, const struct insn *in)
{
	port_out(cpu, in, (uint16_t)cpu->r[EDX]);
}

/* }====================================================================== */

/* Registers the port I/O family. Called once by the decoder. */
void io_register(void)
{
	cpu_set_op(0xe4, op_in_ib);  /* IN AL,Ib */
	cpu_set_op(0xe5, op_in_ib);  /* IN eAX,Ib */
	cpu_set_op(0xec, op_in_dx);  /* IN AL,DX */
	cpu_set_op(0xed, op_in_dx);  /* IN eAX,DX */
	cpu_set_op(0xe6, op_out_ib); /* OUT Ib,AL */
	cpu_set_op(0xe7, op_out_ib); /* OUT Ib,eAX */
	cpu_set_op(0xee, op_out_dx); /* OUT DX,AL */
	cpu_set_op(0xef, op_out_dx); /* OUT DX,eAX */
}
