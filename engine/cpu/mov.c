/*
 * mov.c - data movement: MOV in all its forms (registers, memory, moffs,
 * immediates, segment registers), LEA, XCHG, MOVZX/MOVSX, CBW/CWDE,
 * CWD/CDQ, LAHF/SAHF, XLAT, the far-pointer loads LES/LDS/LSS/LFS/LGS, the
 * NOPs (90, F3 90 PAUSE, the hint NOPs 0F 18-1F), WAIT and the x87 escapes.
 *
 * Every handler reads all its operands (which may fault) before it writes
 * anything, so a fault leaves registers and memory as they were.
 *
 * There is no floating-point unit on this CPU (CPUID says so). The x87
 * escapes D8-DF raise #NM when CR0.EM or CR0.TS is set, which is how every
 * operating system of the era finds out it must emulate the FPU. With both
 * clear the instruction is a no-op: a 386 without a coprocessor would wait
 * for one that never answers; executing nothing (memory operand not
 * accessed) is the safe choice for an emulator, and software that probes
 * for an FPU with FNINIT/FNSTSW sees "no FPU" because the status word it
 * stored beforehand is left unchanged.
 *
 * Intel SDM Vol. 2: MOV, MOV (segment registers), LEA, XCHG, MOVZX, MOVSX,
 * CBW/CWDE, CWD/CDQ, LAHF, SAHF, XLAT, LDS/LES/LFS/LGS/LSS, NOP, WAIT.
 */
#include "cpu_int.h"

/* Bits of EFLAGS that LAHF copies to AH and SAHF loads from it. */
#define SAHF_FLAGS (EFLAGS_SF | EFLAGS_ZF | EFLAGS_AF | EFLAGS_PF | EFLAGS_CF)

/* {====== MOV ====== */

/* MOV Eb,Gb (88) */
static void op_mov_eb_gb(struct cpu *cpu, const struct insn *in)
{
	rm_write(cpu, in, reg8(cpu, in->reg), 1);
}

/* MOV Ev,Gv (89) */
static void op_mov_ev_gv(struct cpu *cpu, const struct insn *in)
{
	if (likely(in->opsize32)) { /* the common size, with constant folding */
		rm_write(cpu, in, cpu->r[in->reg], 4);
		return;
	}
	rm_write(cpu, in, reg16(cpu, in->reg), 2);
}

/* MOV Ed,Gd (89) with a register destination (cpu_set_fast) */
static void op_mov_rd_gd(struct cpu *cpu, const struct insn *in)
{
	cpu->r[in->rm] = cpu->r[in->reg];
}

/* MOV Gd,Ed (8B) with a register source (cpu_set_fast) */
static void op_mov_gd_rd(struct cpu *cpu, const struct insn *in)
{
	cpu->r[in->reg] = cpu->r[in->rm];
}

/* MOV Ed,Gd (89) with a memory destination, 32-bit addressing (cpu_set_fast_mem) */
static void op_mov_md_gd(struct cpu *cpu, const struct insn *in)
{
	mem_wr(cpu, in->seg, ea32(cpu, in), cpu->r[in->reg], 4);
}

/* MOV Gd,Ed (8B) with a memory source, 32-bit addressing (cpu_set_fast_mem) */
static void op_mov_gd_md(struct cpu *cpu, const struct insn *in)
{
	cpu->r[in->reg] = mem_rd(cpu, in->seg, ea32(cpu, in), 4);
}

/* LEA Gd,M (8D) with 32-bit addressing (cpu_set_fast_mem) */
static void op_lea_gd_m(struct cpu *cpu, const struct insn *in)
{
	cpu->r[in->reg] = ea32(cpu, in);
}

/* MOV Gb,Eb (8A) */
static void op_mov_gb_eb(struct cpu *cpu, const struct insn *in)
{
	set_reg8(cpu, in->reg, rm_read(cpu, in, 1));
}

/* MOV Gv,Ev (8B) */
static void op_mov_gv_ev(struct cpu *cpu, const struct insn *in)
{
	if (likely(in->opsize32)) { /* the common size, with constant folding */
		cpu->r[in->reg] = rm_read(cpu, in, 4);
		return;
	}
	set_reg16(cpu, in->reg, rm_read(cpu, in, 2));
}

/* MOV r8,Ib (B0-B7) */
static void op_mov_zb_ib(struct cpu *cpu, const struct insn *in)
{
	set_reg8(cpu, in->op & 7, in->imm);
}

/* MOV r,Iv (B8-BF) */
static void op_mov_zv_iv(struct cpu *cpu, const struct insn *in)
{
	set_reg_sz(cpu, in->op & 7, in->imm, osz(in));
}

/* MOV Eb,Ib (C6 /0) */
static void op_mov_eb_ib(struct cpu *cpu, const struct insn *in)
{
	rm_write(cpu, in, in->imm, 1);
}

/* MOV Ev,Iz (C7 /0) */
static void op_mov_ev_iz(struct cpu *cpu, const struct insn *in)
{
	rm_write(cpu, in, in->imm, osz(in));
}

/* A0-A3 carry a byte or a full-size operand by the low opcode bit. */
static int moffs_size(const struct insn *in)
{
	return (in->op & 1) ? osz(in) : 1;
}

/* MOV AL,Ob / MOV eAX,Ov (A0, A1): the offset is in in->disp. */
static void op_mov_al_ob(struct cpu *cpu, const struct insn *in)
{
	int sz = moffs_size(in);
	set_reg_sz(cpu, EAX, mem_rd(cpu, in->seg, in->disp, sz), sz);
}

/* MOV Ob,AL / MOV Ov,eAX (A2, A3) */
static void op_mov_ob_al(struct cpu *cpu, const struct insn *in)
{
	int sz = moffs_size(in);
	mem_wr(cpu, in->seg, in->disp, reg_sz(cpu, EAX, sz), sz);
}

/* }====================================================================== */

/* {====== segment registers ====== */

/* Strict mode: reading or loading CS or SS reveals or changes the
 * privilege level, so those forms trap at CPL > 0 (ARCHITECTURE.md 3). */
static void strict_cs_ss(struct cpu *cpu, int sreg)
{
	if ((sreg == SEG_CS || sreg == SEG_SS) && cpu_strict_trap(cpu))
		cpu_gp0(cpu);
}

/* MOV Ev,Sw (8C): a memory destination is always written as a word; a
 * register destination with a 32-bit operand size gets the selector
 * zero-extended (P6 behaviour). */
static void op_mov_ev_sw(struct cpu *cpu, const struct insn *in)
{
	strict_cs_ss(cpu, in->reg);
	uint32_t sel = cpu->seg[in->reg].sel;
	if (in->mod == 3)
		set_reg_sz(cpu, in->rm, sel, osz(in));
	else
		rm_write(cpu, in, sel, 2);
}

/* MOV Sw,Ew (8E): through seg_load(), which also holds interrupts for one
 * instruction after a load of SS. MOV CS is undefined (the decoder). */
static void op_mov_sw_ew(struct cpu *cpu, const struct insn *in)
{
	strict_cs_ss(cpu, in->reg);
	uint16_t sel = (uint16_t)rm_read(cpu, in, 2);
	seg_load(cpu, in->reg, sel);
}

/* LES/LDS/LSS/LFS/LGS Gv,Mp: the offset, then the selector after it. The
 * segment register is loaded (and checked) before the general register is
 * written, so a bad selector leaves both unchanged. */
static void load_far_pointer(struct cpu *cpu, const struct insn *in, int sreg)
{
	int sz = osz(in);
	uint32_t amask = in->addrsize32 ? 0xffffffffu : 0xffffu;
	uint32_t a = ea(cpu, in);
	uint32_t off = mem_rd(cpu, in->seg, a, sz);
	uint16_t sel = (uint16_t)mem_rd(cpu, in->seg, (a + (uint32_t)sz) & amask, 2);
	seg_load(cpu, sreg, sel);
	set_reg_sz(cpu, in->reg, off, sz);
}

/* LES Gv,Mp (C4) */
static void op_les(struct cpu *cpu, const struct insn *in)
{
	load_far_pointer(cpu, in, SEG_ES);
}

/* LDS Gv,Mp (C5) */
static void op_lds(struct cpu *cpu, const struct insn *in)
{
	load_far_pointer(cpu, in, SEG_DS);
}

/* LSS Gv,Mp (0F B2): seg_load holds interrupts for one instruction. */
static void op_lss(struct cpu *cpu, const struct insn *in)
{
	load_far_pointer(cpu, in, SEG_SS);
}

/* LFS Gv,Mp (0F B4) */
static void op_lfs(struct cpu *cpu, const struct insn *in)
{
	load_far_pointer(cpu, in, SEG_FS);
}

/* LGS Gv,Mp (0F B5) */
static void op_lgs(struct cpu *cpu, const struct insn *in)
{
	load_far_pointer(cpu, in, SEG_GS);
}

/* }====================================================================== */

/* {====== LEA, XCHG, NOP ====== */

/* LEA Gv,M (8D): the offset, truncated to the operand size. */
static void op_lea_gv_m(struct cpu *cpu, const struct insn *in)
{
	set_reg_sz(cpu, in->reg, ea(cpu, in), osz(in));
}

/* XCHG Eb,Gb / XCHG Ev,Gv (86, 87): the memory write comes first so a
 * fault leaves the register alone. Always locked on real hardware. */
static void op_xchg_e_g(struct cpu *cpu, const struct insn *in)
{
	int sz = (in->op & 1) ? osz(in) : 1;
	uint32_t a = rm_read(cpu, in, sz);
	uint32_t b = reg_sz(cpu, in->reg, sz);
	rm_write(cpu, in, b, sz);
	set_reg_sz(cpu, in->reg, a, sz);
}

/* XCHG r,eAX (91-97) */
static void op_xchg_zv_eax(struct cpu *cpu, const struct insn *in)
{
	int sz = osz(in), r = in->op & 7;
	uint32_t a = reg_sz(cpu, EAX, sz);
	set_reg_sz(cpu, EAX, reg_sz(cpu, r, sz), sz);
	set_reg_sz(cpu, r, a, sz);
}

/* NOP (90), PAUSE (F3 90), and the hint NOPs Ev (0F 18-1F): nothing,
 * not even the memory operand is accessed. */
static void op_nop(struct cpu *cpu, const struct insn *in)
{
}

/* NOP Ev (0F 1F /0): the introspection ABI's call when it is the one
 * encoding 0F 1F 84 00 disp32 with disp32 = ECX = NL_ABI_MAGIC (cpu.h);
 * any other form is a NOP. */
#define ABI_MAGIC 0x42414c4eu /* nlabi.h: NL_ABI_MAGIC */
static void op_nop_ev(struct cpu *cpu, const struct insn *in)
{
	if (unlikely(in->disp == ABI_MAGIC && in->modrm == 0x84 && in->sib == 0x00 &&
	             cpu->r[ECX] == ABI_MAGIC && cpu->abi_hook))
		cpu->abi_hook(cpu->abi_opaque, cpu);
}

void cpu_set_abi_hook(struct cpu *cpu, void (*fn)(void *opaque, struct cpu *cpu), void *opaque)
{
	cpu->abi_hook = fn;
	cpu->abi_opaque = opaque;
}

/* }====================================================================== */

/* {====== extensions and conversions ====== */

/* MOVZX Gv,Eb / MOVZX Gv,Ew (0F B6, 0F B7) */
static void op_movzx_gv_e(struct cpu *cpu, const struct insn *in)
{
	/* constant sizes in each arm, so the access folds */
	uint32_t v = (in->op & 1) ? rm_read(cpu, in, 2) : rm_read(cpu, in, 1);
	if (likely(in->opsize32))
		cpu->r[in->reg] = v;
	else
		set_reg16(cpu, in->reg, v);
}

/* MOVSX Gv,Eb / MOVSX Gv,Ew (0F BE, 0F BF) */
static void op_movsx_gv_e(struct cpu *cpu, const struct insn *in)
{
	int ssz = (in->op & 1) ? 2 : 1;
	set_reg_sz(cpu, in->reg, sext(rm_read(cpu, in, ssz), ssz), osz(in));
}

/* CBW / CWDE (98): sign-extends AL into AX, or AX into EAX. */
static void op_cbw(struct cpu *cpu, const struct insn *in)
{
	if (in->opsize32)
		cpu->r[EAX] = sext(cpu->r[EAX], 2);
	else
		set_reg16(cpu, EAX, sext(cpu->r[EAX], 1));
}

/* CWD / CDQ (99): DX:AX or EDX:EAX gets the sign of AX or EAX. */
static void op_cwd(struct cpu *cpu, const struct insn *in)
{
	int sz = osz(in);
	uint32_t fill = (reg_sz(cpu, EAX, sz) & sign_bit(sz)) ? 0xffffffffu : 0;
	set_reg_sz(cpu, EDX, fill, sz);
}

/* LAHF (9F): AH = SF:ZF:0:AF:0:PF:1:CF. */
static void op_lahf(struct cpu *cpu, const struct insn *in)
{
	uint32_t f = flags_get(cpu);
	set_reg8(cpu, 4, (f & SAHF_FLAGS) | EFLAGS_1);
}

/* SAHF (9E): SF ZF AF PF CF from AH; OF is kept. */
static void op_sahf(struct cpu *cpu, const struct insn *in)
{
	uint32_t of = flags_get(cpu) & EFLAGS_OF;
	flags_set_arith(cpu, of | (reg8(cpu, 4) & SAHF_FLAGS));
}

/* XLAT (D7): AL = [seg:eBX + AL], eBX by the address size. */
static void op_xlat(struct cpu *cpu, const struct insn *in)
{
	uint32_t a = cpu->r[EBX] + (cpu->r[EAX] & 0xff);
	if (!in->addrsize32)
		a &= 0xffff;
	set_reg8(cpu, 0, mem_rd(cpu, in->seg, a, 1));
}

/* }====================================================================== */

/* {====== WAIT and the x87 escapes ====== */

/* WAIT/FWAIT (9B): #NM when CR0.MP and CR0.TS are both set. */
static void op_wait(struct cpu *cpu, const struct insn *in)
{
	if ((cpu->cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS))
		cpu_raise(cpu, EXC_NM, ERR_NONE);
}

/* ESC (D8-DF): #NM when CR0.EM or CR0.TS is set; otherwise a no-op, as
 * there is no coprocessor (see the header comment). */
static void op_esc(struct cpu *cpu, const struct insn *in)
{
	if (cpu->cr0 & (CR0_EM | CR0_TS))
		cpu_raise(cpu, EXC_NM, ERR_NONE);
}

/* }====================================================================== */

/* Registers the data-movement family. Called once by the decoder. */
void mov_register(void)
{
	cpu_set_op(0x88, op_mov_eb_gb); /* MOV Eb,Gb */
	cpu_set_op(0x89, op_mov_ev_gv); /* MOV Ev,Gv */
	cpu_set_op(0x8a, op_mov_gb_eb); /* MOV Gb,Eb */
	cpu_set_op(0x8b, op_mov_gv_ev); /* MOV Gv,Ev */
	cpu_set_fast(0x89, op_mov_rd_gd);
	cpu_set_fast(0x8b, op_mov_gd_rd);
	cpu_set_fast_mem(0x89, op_mov_md_gd);
	cpu_set_fast_mem(0x8b, op_mov_gd_md);
	cpu_set_fast_mem(0x8d, op_lea_gd_m);
	for (int r = 0; r < 8; r++) {
		cpu_set_op(0xb0 + r, op_mov_zb_ib);   /* MOV r8,Ib */
		cpu_set_op(0xb8 + r, op_mov_zv_iv);   /* MOV r,Iv */
		cpu_set_op(0xd8 + r, op_esc);         /* ESC (x87) */
		cpu_set_op(0x118 + r, r == 7 ? op_nop_ev : op_nop); /* hint NOP Ev; 0F 1F: the ABI */
	}
	for (int r = 1; r < 8; r++)
		cpu_set_op(0x90 + r, op_xchg_zv_eax); /* XCHG r,eAX */
	cpu_set_op(0x90, op_nop);                 /* NOP, PAUSE */
	cpu_set_grp(0xc6, 0, op_mov_eb_ib);       /* MOV Eb,Ib */
	cpu_set_grp(0xc7, 0, op_mov_ev_iz);       /* MOV Ev,Iz */
	cpu_set_op(0xa0, op_mov_al_ob);           /* MOV AL,Ob */
	cpu_set_op(0xa1, op_mov_al_ob);           /* MOV eAX,Ov */
	cpu_set_op(0xa2, op_mov_ob_al);           /* MOV Ob,AL */
	cpu_set_op(0xa3, op_mov_ob_al);           /* MOV Ov,eAX */
	for (int s = 0; s < 6; s++) {
		cpu_set_grp(0x8c, s, op_mov_ev_sw);   /* MOV Ev,Sw */
		if (s != SEG_CS)
			cpu_set_grp(0x8e, s, op_mov_sw_ew); /* MOV Sw,Ew */
	}
	cpu_set_op(0x8d, op_lea_gv_m);            /* LEA Gv,M */
	cpu_set_op(0x86, op_xchg_e_g);            /* XCHG Eb,Gb */
	cpu_set_op(0x87, op_xchg_e_g);            /* XCHG Ev,Gv */
	cpu_set_op(0x1b6, op_movzx_gv_e);         /* MOVZX Gv,Eb */
	cpu_set_op(0x1b7, op_movzx_gv_e);         /* MOVZX Gv,Ew */
	cpu_set_op(0x1be, op_movsx_gv_e);         /* MOVSX Gv,Eb */
	cpu_set_op(0x1bf, op_movsx_gv_e);         /* MOVSX Gv,Ew */
	cpu_set_op(0x98, op_cbw);                 /* CBW/CWDE */
	cpu_set_op(0x99, op_cwd);                 /* CWD/CDQ */
	cpu_set_op(0x9f, op_lahf);                /* LAHF */
	cpu_set_op(0x9e, op_sahf);                /* SAHF */
	cpu_set_op(0xd7, op_xlat);                /* XLAT */
	cpu_set_op(0xc4, op_les);                 /* LES Gv,Mp */
	cpu_set_op(0xc5, op_lds);                 /* LDS Gv,Mp */
	cpu_set_op(0x1b2, op_lss);                /* LSS Gv,Mp */
	cpu_set_op(0x1b4, op_lfs);                /* LFS Gv,Mp */
	cpu_set_op(0x1b5, op_lgs);                /* LGS Gv,Mp */
	cpu_set_op(0x9b, op_wait);                /* WAIT */
}
