/*
 * desc.h - segment descriptors, gates and TSS layouts: field accessors and
 * the helpers shared by the protected-mode files (seg.c, pmode.c, task.c,
 * intr.c). Only those files include it.
 *
 * A descriptor is kept as the raw 64-bit value read from the table:
 *
 *   high dword | base 31..24 | G D/B 0 AVL | limit 19..16 | P DPL S type | base 23..16 |
 *   low dword  | base 15..0                              | limit 15..0                |
 *
 * A gate (call, interrupt, trap, task) reuses the layout:
 *
 *   high dword | offset 31..16 | P DPL 0 type | 000 param count (call gates) |
 *   low dword  | selector      | offset 15..0                               |
 */
#ifndef NESTLAB_DESC_H
#define NESTLAB_DESC_H

#include "cpu_int.h"

/* {====== raw descriptor fields ====== */

static inline uint32_t desc_hi(uint64_t d)
{
	return (uint32_t)(d >> 32);
}
static inline uint32_t desc_lo(uint64_t d)
{
	return (uint32_t)d;
}
/* Attribute bits in struct seg.attr form (DESC_* masks). */
static inline uint16_t desc_attr(uint64_t d)
{
	return (uint16_t)((desc_hi(d) >> 8) & 0xf0ff);
}
static inline int desc_type(uint64_t d)
{
	return desc_attr(d) & DESC_TYPE;
}
static inline int desc_dpl(uint64_t d)
{
	return (desc_attr(d) & DESC_DPL) >> DESC_DPL_SHIFT;
}
static inline bool desc_present(uint64_t d)
{
	return (desc_attr(d) & DESC_P) != 0;
}
/* Code or data (S = 1) rather than a system descriptor. */
static inline bool desc_is_seg(uint64_t d)
{
	return (desc_attr(d) & DESC_S) != 0;
}
static inline bool desc_is_code(uint64_t d)
{
	return desc_is_seg(d) && (desc_attr(d) & DESC_TYPE_CODE);
}
static inline bool desc_is_data(uint64_t d)
{
	return desc_is_seg(d) && !(desc_attr(d) & DESC_TYPE_CODE);
}
static inline bool desc_conforming(uint64_t d)
{
	return desc_is_code(d) && (desc_attr(d) & DESC_TYPE_C);
}
static inline bool desc_writable_data(uint64_t d)
{
	return desc_is_data(d) && (desc_attr(d) & DESC_TYPE_W);
}
static inline bool desc_readable(uint64_t d)
{
	return desc_is_data(d) || (desc_is_code(d) && (desc_attr(d) & DESC_TYPE_R));
}
/* Byte-granular limit after G scaling. */
static inline uint32_t desc_limit(uint64_t d)
{
	uint32_t l = (desc_lo(d) & 0xffff) | (desc_hi(d) & 0xf0000);
	return (desc_attr(d) & DESC_G) ? (l << 12) | 0xfff : l;
}
static inline uint32_t desc_base(uint64_t d)
{
	uint32_t hi = desc_hi(d);
	return (desc_lo(d) >> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000u);
}

/* Gate fields. */
static inline uint16_t gate_sel(uint64_t d)
{
	return (uint16_t)(desc_lo(d) >> 16);
}
static inline uint32_t gate_off(uint64_t d)
{
	return (desc_lo(d) & 0xffff) | (desc_hi(d) & 0xffff0000u);
}
static inline int gate_count(uint64_t d)
{
	return desc_hi(d) & 0x1f;
}
/* 32-bit gates and TSSs have bit 3 of the system type set. */
static inline bool sys_is32(int type)
{
	return (type & 8) != 0;
}
static inline bool sel_null(uint16_t sel)
{
	return (sel & ~SEL_RPL) == 0;
}
/* Error code naming a selector (RPL dropped, TI kept), with EXT. */
static inline int sel_err(uint16_t sel, bool ext)
{
	return (sel & 0xfffc) | (ext ? 1 : 0);
}

/* TSS descriptor "busy" is bit 1 of the type. */
#define SYS_TSS_BUSY_BIT 0x2

/* }====================================================================== */

/* {====== TSS layouts (byte offsets) ====== */

enum {
	TSS32_LINK = 0x00, TSS32_ESP0 = 0x04, TSS32_SS0 = 0x08, TSS32_CR3 = 0x1c,
	TSS32_EIP = 0x20, TSS32_EFLAGS = 0x24, TSS32_EAX = 0x28, TSS32_ES = 0x48,
	TSS32_LDT = 0x60, TSS32_T = 0x64, TSS32_IOMAP = 0x66,
	TSS32_MIN_LIMIT = 0x67,
};
enum {
	TSS16_LINK = 0x00, TSS16_SP0 = 0x02, TSS16_SS0 = 0x04, TSS16_IP = 0x0e,
	TSS16_FLAGS = 0x10, TSS16_AX = 0x12, TSS16_ES = 0x22, TSS16_LDT = 0x2a,
	TSS16_MIN_LIMIT = 0x2b,
};

/* }====================================================================== */

/* {====== shared helpers (seg.c) ====== */

/*
 * Reads the descriptor of `sel` (GDT or LDT by TI). Faults with exception
 * `vec` and error code sel_err(sel, ext) when the index is beyond the table
 * limit (or the LDT is unusable). Supervisor reads: may #PF.
 */
uint64_t desc_fetch(struct cpu *cpu, uint16_t sel, int vec, bool ext);
/* True when [off, off+sz) lies within the limits of `s` (expand-down aware). */
bool seg_in_limit(const struct seg *s, uint32_t off, int sz);
/* Fills `s` as an unusable (null) segment register with selector `sel`. */
void seg_set_null(struct seg *s, uint16_t sel);
/* Fills `s` as a v86-mode segment: base sel<<4, limit 0xFFFF, ring-3 data. */
void seg_set_v86(struct seg *s, uint16_t sel);
/* Loads CS from a checked descriptor with RPL = `cpl`, sets CPL, refreshes caches. */
void seg_commit_cs(struct cpu *cpu, uint16_t sel, uint64_t d, int cpl);
/* Loads SS:ESP from a checked descriptor; ESP is replaced wholly for a 32-bit
 * stack and only in its low 16 bits for a 16-bit one. */
void seg_commit_ss(struct cpu *cpu, uint16_t sel, uint64_t d, uint32_t esp);

/* }====================================================================== */

/* {====== stacks that are not yet SS (pmode.c) ====== */

/*
 * A stack being built or read during a far transfer before the new state
 * is committed: its segment cache, stack pointer and the privilege used
 * for paging. Pushes check the limit and fault with (vec, err).
 */
struct xstack {
	struct seg ss;
	uint32_t esp;
	bool user;
	int vec, err;
};

/* Starts an xstack on the current SS:ESP, faulting with #SS(err). */
void xstack_current(struct cpu *cpu, struct xstack *st, int err);
void xstack_push(struct cpu *cpu, struct xstack *st, uint32_t v, int sz);
/* Faults unless `n` bytes can be pushed (the manual's "room for" checks). */
void xstack_room(struct cpu *cpu, const struct xstack *st, uint32_t n);
/* Reads `sz` bytes at ESP + off (no pop). */
uint32_t xstack_read(struct cpu *cpu, const struct xstack *st, uint32_t off, int sz);

/*
 * Reads the ring-`dpl` stack pointer SS:ESP from the current TSS (16- or
 * 32-bit by TR's type); #TS(TR selector + ext) if the TSS is too short.
 */
void tss_inner_stack(struct cpu *cpu, int dpl, uint16_t *ss, uint32_t *esp, bool ext);
/*
 * Checks a new inner stack segment for a privilege change to `dpl`
 * (call gates, interrupts): #TS for a null, out-of-table, mismatched or
 * non-writable selector, #SS(sel) if not present. Returns the descriptor.
 */
uint64_t inner_stack_check(struct cpu *cpu, uint16_t ss, int dpl, bool ext);
/* Starts an xstack on a checked new stack (SS:ESP) for privilege `dpl`. */
void xstack_new(struct xstack *st, uint16_t sel, uint64_t d, uint32_t esp, int dpl, bool ext);

/* }====================================================================== */

#endif
