/*
 * x86emu_string.c - MOVS CMPS STOS LODS SCAS (A4-A7, AA-AF) for the
 * monitor's emulator, one element per call.
 *
 * The source is seg:eSI with seg = the override prefix or DS, the
 * destination is always ES:eDI; the address size picks SI/DI/CX or
 * ESI/EDI/ECX and EFLAGS.DF the direction. With a REP prefix (F3 or F2;
 * for CMPS and SCAS F3 is REPE and F2 REPNE) an element runs only while
 * eCX != 0, and EIP moves past the instruction when the repetition is
 * over (eCX reached 0 or the REPE/REPNE condition failed); otherwise EIP
 * stays and the caller runs the next element, as the CPU re-executes an
 * interrupted REP. That is also how the engine's CPU behaves between its
 * batches of elements (engine/cpu/string.c), so results agree with it.
 */
#include "x86emu_int.h"

/* {====== index and count registers ====== */

static uint32_t amask(const struct vx_insn *in)
{
	return in->addrsize32 ? 0xffffffffu : 0xffffu;
}

/* eSI, eDI or eCX by the address size. */
static uint32_t areg(const struct vx_ctx *c, int r)
{
	return c->r.r[r] & amask(c->in);
}

static void set_areg(struct vx_ctx *c, int r, uint32_t v)
{
	vx_set_reg(&c->r, r, v, c->in->addrsize32 ? 4 : 2);
}

/* Steps eSI or eDI by one element in the direction of DF. */
static void advance(struct vx_ctx *c, int r, int sz)
{
	uint32_t d = (c->r.eflags & VX_EFLAGS_DF) ? 0u - (uint32_t)sz : (uint32_t)sz;
	set_areg(c, r, areg(c, r) + d);
}

static int src_seg(const struct vx_insn *in)
{
	return in->seg_override == VX_SEG_NONE ? VX_DS : in->seg_override;
}

/* }====================================================================== */

/* {====== the elements ====== */

/* MOVS: ES:eDI = seg:eSI */
static int elem_movs(struct vx_ctx *c, int sz)
{
	uint32_t v;
	int rc = vx_read(c, src_seg(c->in), areg(c, VX_ESI), &v, sz);
	if (rc || (rc = vx_write(c, VX_ES, areg(c, VX_EDI), v, sz)) != 0)
		return rc;
	advance(c, VX_ESI, sz);
	advance(c, VX_EDI, sz);
	return VX_OK;
}

/* CMPS: flags of seg:eSI - ES:eDI */
static int elem_cmps(struct vx_ctx *c, int sz)
{
	uint32_t a, b, res;
	int rc = vx_read(c, src_seg(c->in), areg(c, VX_ESI), &a, sz);
	if (rc || (rc = vx_read(c, VX_ES, areg(c, VX_EDI), &b, sz)) != 0)
		return rc;
	vx_put_flags(c, vx_flags_sub(sz, a, b, 0, &res));
	advance(c, VX_ESI, sz);
	advance(c, VX_EDI, sz);
	return VX_OK;
}

/* SCAS: flags of the accumulator - ES:eDI */
static int elem_scas(struct vx_ctx *c, int sz)
{
	uint32_t b, res;
	int rc = vx_read(c, VX_ES, areg(c, VX_EDI), &b, sz);
	if (rc)
		return rc;
	vx_put_flags(c, vx_flags_sub(sz, vx_reg(&c->r, VX_EAX, sz), b, 0, &res));
	advance(c, VX_EDI, sz);
	return VX_OK;
}

/* LODS: accumulator = seg:eSI */
static int elem_lods(struct vx_ctx *c, int sz)
{
	uint32_t v;
	int rc = vx_read(c, src_seg(c->in), areg(c, VX_ESI), &v, sz);
	if (rc)
		return rc;
	vx_set_reg(&c->r, VX_EAX, v, sz);
	advance(c, VX_ESI, sz);
	return VX_OK;
}

/* STOS: ES:eDI = accumulator */
static int elem_stos(struct vx_ctx *c, int sz)
{
	int rc = vx_write(c, VX_ES, areg(c, VX_EDI), vx_reg(&c->r, VX_EAX, sz), sz);
	if (rc)
		return rc;
	advance(c, VX_EDI, sz);
	return VX_OK;
}

/* }====================================================================== */

/* {====== one element, and the repetition ====== */

typedef int (*elem_fn)(struct vx_ctx *c, int sz);

/* The element of string opcode op (A4-A7, AA-AF), or NULL. */
static elem_fn elem_of(unsigned op)
{
	switch (op & ~1u) {
	case 0xa4: return elem_movs;
	case 0xa6: return elem_cmps;
	case 0xaa: return elem_stos;
	case 0xac: return elem_lods;
	case 0xae: return elem_scas;
	default: return NULL;
	}
}

bool vx_is_string(unsigned op)
{
	return elem_of(op) != NULL;
}

/* Moves EIP past the instruction. */
static void finish(struct vx_ctx *c)
{
	c->r.eip += c->in->len;
	if (!c->in->code32)
		c->r.eip &= 0xffff;
}

/* True when REPE/REPNE ends the repetition after a CMPS or SCAS element. */
static bool cond_ends(const struct vx_ctx *c)
{
	unsigned op = c->in->op & ~1u;
	if (op != 0xa6 && op != 0xae)
		return false;
	bool zf = (c->r.eflags & VX_EFLAGS_ZF) != 0;
	return c->in->rep == VX_PREFIX_REP ? !zf : zf;
}

int vx_string(struct vx_ctx *c)
{
	int sz = vx_bv_size(c->in);
	elem_fn elem = elem_of(c->in->op);
	if (!c->in->rep) {
		finish(c);
		return elem(c, sz);
	}
	uint32_t cx = areg(c, VX_ECX);
	if (cx == 0) {
		finish(c);
		return VX_OK;
	}
	int rc = elem(c, sz);
	if (rc)
		return rc;
	set_areg(c, VX_ECX, --cx);
	if (cx == 0 || cond_ends(c))
		finish(c);
	return VX_OK;
}

/* }====================================================================== */
