/*
 * x86emu.h - decoding and emulating one i386 instruction for the monitor.
 *
 * The monitor runs guests at real CPL 3. When a guest instruction touches a
 * virtual device's MMIO page or a write-protected guest page-table page, the
 * CPU traps and the monitor decodes and emulates that one instruction here,
 * against the guest's registers, with every memory access going through
 * callbacks (the monitor applies segmentation, paging and devices).
 *
 * Freestanding: only <stdint.h>, <stddef.h> and <stdbool.h>; no state
 * outside the caller's structs, so the same code runs in the engine (L0)
 * and inside a guest monitor.
 *
 * Decoding covers every one-byte and 0F opcode of the i686-class CPU of
 * engine/cpu (lengths and #UD exactly as its decoder gives them).
 * Emulation covers the memory instructions a trapped access can come from:
 *
 *   MOV 88 89 8A 8B C6 C7 A0-A3, MOVZX/MOVSX 0F B6 B7 BE BF,
 *   ADD OR ADC SBB AND SUB XOR CMP 00-3D 80-83, TEST 84 85 A8 A9 F6/F7 /0 /1,
 *   NOT NEG F6/F7 /2 /3, INC DEC FE/FF /0 /1, XCHG 86 87,
 *   CMPXCHG 0F B0 B1, CMPXCHG8B 0F C7 /1, XADD 0F C0 C1, BT BTS BTR BTC 0F A3 AB B3 BB BA /4-7,
 *   SETcc 0F 90-9F, PUSH Ev FF /6, PUSH r 50-57, PUSH Iz/Ib 68 6A, POP Ev 8F /0,
 *   CALL Jz E8, CALL Ev FF /2 (near),
 *   MOVS CMPS STOS LODS SCAS A4-A7 AA-AF (REP/REPE/REPNE: one element per call).
 *
 * Flags (including the ones the manual leaves undefined) are those of the
 * engine's CPU. PUSH, CALL and POP Ev assume a 32-bit stack (SS.B =
 * 1): ESP moves by the operand size and is never wrapped at 64 KiB.
 */
#ifndef NESTLAB_X86EMU_H
#define NESTLAB_X86EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { VX_ES, VX_CS, VX_SS, VX_DS, VX_FS, VX_GS, VX_SEG_NONE = 7 }; /* same order as the CPU's */
enum { VX_EAX, VX_ECX, VX_EDX, VX_EBX, VX_ESP, VX_EBP, VX_ESI, VX_EDI };

#define VX_REG_NONE 0xff
#define VX_PREFIX_REP 0xf3
#define VX_PREFIX_REPNE 0xf2
/* The architectural limit on an instruction's length. */
#define VX_MAX_INSN_LEN 15

/* EFLAGS bits the emulator reads or writes. */
#define VX_EFLAGS_CF (1u << 0)
#define VX_EFLAGS_PF (1u << 2)
#define VX_EFLAGS_AF (1u << 4)
#define VX_EFLAGS_ZF (1u << 6)
#define VX_EFLAGS_SF (1u << 7)
#define VX_EFLAGS_DF (1u << 10)
#define VX_EFLAGS_OF (1u << 11)
#define VX_EFLAGS_ARITH                                                                            \
	(VX_EFLAGS_CF | VX_EFLAGS_PF | VX_EFLAGS_AF | VX_EFLAGS_ZF | VX_EFLAGS_SF | VX_EFLAGS_OF)

struct vx_regs { /* the guest registers the emulator reads and writes */
	uint32_t r[8];
	uint32_t eip;
	uint32_t eflags; /* full EFLAGS (arith flags materialized) */
};

struct vx_insn {
	uint8_t len;                /* total length, prefixes included */
	uint16_t op;                /* opcode; 0F xx is 0x100 | xx */
	bool has_modrm;
	uint8_t modrm, mod, reg, rm;
	bool mem;                   /* the ModRM operand is memory (mod != 3) */
	uint8_t sib;
	uint8_t base, index, scale; /* 32-bit addressing; VX_REG_NONE (0xff) if absent */
	uint8_t seg;                /* segment of the memory operand: override, or DS/SS */
	uint8_t seg_override;       /* VX_SEG_NONE if no override prefix */
	uint8_t rep;                /* 0, 0xF3 or 0xF2 */
	bool lock, opsize32, addrsize32;
	bool code32;                /* decoded as 32-bit code (EIP is not wrapped at 64 KiB) */
	uint32_t disp, imm, imm2;   /* imm2: ENTER level / far pointer selector */
};

/* Results of vx_decode other than a length. */
enum {
	VX_DECODE_UD = -1,       /* no such instruction (#UD) */
	VX_DECODE_TOO_LONG = -2, /* more than 15 bytes (#GP(0)) */
	VX_DECODE_SHORT = -3,    /* needs more than `avail` bytes */
};

/*
 * Decodes the instruction at `bytes` (`avail` bytes readable) for 16-bit
 * (code32 false) or 32-bit code. Returns its length (1..15) and fills *in,
 * or VX_DECODE_UD, VX_DECODE_TOO_LONG or VX_DECODE_SHORT, which the engine's
 * decoder returns for the same bytes (checked in that order: length limit,
 * available bytes, then validity of a complete instruction). Pure.
 */
int vx_decode(const uint8_t *bytes, unsigned avail, bool code32, struct vx_insn *in);

/* The memory operand's offset (segment not added), 16-bit wrapped for
 * 16-bit addressing. Meaningful only when in->mem. */
uint32_t vx_ea(const struct vx_insn *in, const struct vx_regs *r);

/* Memory as the emulated instruction sees it: segment + offset (the monitor
 * applies segmentation, paging and devices). Each returns 0 on success or a
 * non-zero fault code that vx_emulate returns unchanged WITHOUT having
 * changed any register (so the monitor can deliver the fault). size is 1, 2
 * or 4. An instruction that both reads and writes memory reads first; one
 * that writes writes once (string instructions: once per element), but
 * CMPXCHG8B, which writes its two halves in two calls after reading both:
 * a fault on the second write leaves the first one done (the CPU checks
 * both for writing first). The monitor's own write faults only where a
 * guest page is not writable, so this matters only for a quadword that
 * straddles a writable and a read-only page. */
struct vx_mem {
	void *opaque;
	int (*read)(void *opaque, int seg, uint32_t off, uint32_t *val, int size);
	int (*write)(void *opaque, int seg, uint32_t off, uint32_t val, int size);
	/* CALL: with check_cs, a target beyond cs_limit (where the CPU raises
	 * #GP(0)) is VX_UNSUPPORTED; without, every target is in the limit. */
	bool check_cs;
	uint32_t cs_limit;
};

enum { VX_OK = 0, VX_UNSUPPORTED = -100 };

/*
 * Emulates `in` (decoded from the bytes at r->eip) on `r` with memory
 * through `m`. On VX_OK the registers, flags and EIP are as after the
 * instruction. String instructions do ONE element per call: with a REP
 * prefix and more elements to go EIP stays at the instruction (call again);
 * with eCX = 0 on entry under REP the instruction just ends. Returns
 * VX_UNSUPPORTED for an instruction outside the emulated set, or the fault
 * code a callback returned; in both cases *r is unchanged.
 */
int vx_emulate(const struct vx_insn *in, struct vx_regs *r, const struct vx_mem *m);

/* True if vx_emulate handles `in` (it may still fail through a callback). */
bool vx_supported(const struct vx_insn *in);

#endif
