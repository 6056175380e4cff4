/*
 * test-x86emu.c - the monitor's decoder and instruction emulator
 * (engine/vmm/core/x86emu*.c) against the engine's CPU as the oracle.
 *
 *   /vmm/x86emu/decode/...    vx_decode gives the length, #UD, "too long" and
 *                             "short" answers and every field of cpu_decode,
 *                             for all opcodes x ModRM x prefix sets and for
 *                             random byte strings, whole and truncated
 *                             (and, with Capstone 4, the emulated forms'
 *                             lengths against Capstone's)
 *   /vmm/x86emu/emulate/...   random instances of every emulated instruction
 *                             (random registers, flags, memory, prefixes, 16-
 *                             and 32-bit code): one cpu_step on the engine and
 *                             vx_emulate on a copy of the same memory leave the
 *                             same 8 registers, EIP, EFLAGS (all bits) and memory
 *   /vmm/x86emu/unsupported   instructions outside the set: VX_UNSUPPORTED,
 *                             registers untouched
 *   /vmm/x86emu/fault/...     a fault from any callback access: that code back,
 *                             registers and memory untouched
 *   /vmm/x86emu/string/..., /vmm/x86emu/bt/...
 *                             directed cases: REP one element per call, REP
 *                             with a zero count, BT* offsets below the operand
 *
 * The engine's CPU runs at ring 0 in flat 32-bit protected mode on the test
 * bus (tests/cpu/testbus.h), with CS switched between 32- and 16-bit. The
 * data segments have different bases, 4 KiB apart, so a wrong segment
 * shows up as a wrong address. Operands are placed in a data window the
 * emulator's memory callbacks mirror; instances whose emulated accesses
 * would leave the window are drawn again (and counted).
 *
 * X86EMU_SEED=n picks another random sequence; X86EMU_SCALE=k multiplies the
 * number of instances.
 */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "testbus.h"
#include "x86emu.h"

#if HAVE_CAPSTONE
#include <capstone/capstone.h>
#endif

/* {====== the machine and the emulator's memory ====== */

#define CODE_AT 0x1000u
#define CODE_END16 0x10000u /* 16-bit code: EIP wraps here */
#define DATA_BASE 0x100000u /* ES base; SS, DS, FS, GS follow at SEG_STEP */
#define SEG_STEP 0x1000u
#define WIN_LO DATA_BASE
#define WIN_SIZE 0x7000u
#define OFF_LO 0x1000u  /* operands are placed at offsets [OFF_LO, OFF_HI) */
#define OFF_HI 0x2000u
#define BIT_SPAN 0x4000 /* bit offsets of BT* Ev,Gv on memory: [-BIT_SPAN, BIT_SPAN) */
#define FAULT_OUT 0x55  /* callback code: access outside the window */
#define FAULT_INJECTED 0x77

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static uint32_t rnd_below(uint32_t n)
{
	return rnd() % n;
}

static unsigned scale_factor(void)
{
	const char *s = getenv("X86EMU_SCALE");
	return s ? (unsigned)MAX(1, atoi(s)) : 1;
}

static uint32_t seg_base(int seg)
{
	static const uint32_t order[6] = {0, 0, 1, 2, 3, 4}; /* ES CS SS DS FS GS */
	return seg == SEG_CS ? 0 : DATA_BASE + order[seg] * SEG_STEP;
}

struct emu_mem {
	uint8_t win[WIN_SIZE];
	int accesses;       /* callback calls so far */
	int fault_at;       /* inject FAULT_INJECTED at this access (-1: never) */
	bool out;           /* an access left the window */
};

static int emu_access(struct emu_mem *em, int seg, uint32_t off, int size, uint32_t *lin_off)
{
	if (em->accesses++ == em->fault_at)
		return FAULT_INJECTED;
	uint32_t lin = seg >= 0 && seg <= SEG_GS ? seg_base(seg) + off : 0;
	if (lin < WIN_LO || lin + (uint32_t)size > WIN_LO + WIN_SIZE) {
		em->out = true;
		return FAULT_OUT;
	}
	*lin_off = lin - WIN_LO;
	return 0;
}

static int emu_read(void *o, int seg, uint32_t off, uint32_t *val, int size)
{
	struct emu_mem *em = o;
	uint32_t w;
	int rc = emu_access(em, seg, off, size, &w);
	if (rc)
		return rc;
	uint32_t v = 0;
	for (int i = size - 1; i >= 0; i--)
		v = v << 8 | em->win[w + (uint32_t)i];
	*val = v;
	return 0;
}

static int emu_write(void *o, int seg, uint32_t off, uint32_t val, int size)
{
	struct emu_mem *em = o;
	uint32_t w;
	int rc = emu_access(em, seg, off, size, &w);
	if (rc)
		return rc;
	for (int i = 0; i < size; i++)
		em->win[w + (uint32_t)i] = (uint8_t)(val >> (8 * i));
	return 0;
}

/* The test bus CPU in flat 32-bit protected mode, data segments moved to
 * their bases, and the data window filled with random bytes. */
static struct testbus *machine_new(void)
{
	struct testbus *tb = tb_new();
	tb_pmode32(tb);
	for (int s = 0; s < 6; s++)
		if (s != SEG_CS)
			tb->cpu->seg[s].base = seg_base(s);
	cpu_state_changed(tb->cpu);
	for (uint32_t i = 0; i < WIN_SIZE; i++)
		tb->ram[WIN_LO + i] = (uint8_t)rnd();
	return tb;
}

static void machine_code32(struct testbus *tb, bool code32)
{
	struct seg *cs = &tb->cpu->seg[SEG_CS];
	if (code32)
		cs->attr |= DESC_DB;
	else
		cs->attr &= (uint16_t)~DESC_DB;
	cpu_state_changed(tb->cpu);
}

/* }====================================================================== */

/* {====== decoding ====== */

static int decode_checks, decode_ok, decode_ud, decode_short, decode_long;

/* Both decoders on the same bytes: same answer, and on success the same
 * fields. */
static void decode_compare(const uint8_t *b, unsigned n, bool code32)
{
	struct insn ci;
	struct vx_insn vi;
	int want = cpu_decode(b, n, code32, &ci);
	int got = vx_decode(b, n, code32, &vi);
	decode_checks++;
	if (want != got) {
		GString *s = g_string_new(NULL);
		for (unsigned i = 0; i < n && i < 16; i++)
			g_string_append_printf(s, "%02x ", b[i]);
		g_error("decode %s(n=%u, code32=%d): engine %d, vx %d", s->str, n, code32, want,
		        got);
	}
	if (want == DECODE_UD)
		decode_ud++;
	else if (want == DECODE_SHORT)
		decode_short++;
	else if (want == DECODE_TOO_LONG)
		decode_long++;
	if (want < 0)
		return;
	decode_ok++;
	g_assert_cmpuint(vi.len, ==, ci.len);
	g_assert_cmphex(vi.op, ==, ci.op);
	g_assert_cmpint(vi.has_modrm, ==, ci.has_modrm);
	g_assert_cmphex(vi.modrm, ==, ci.modrm);
	g_assert_cmpuint(vi.mod, ==, ci.mod);
	g_assert_cmpuint(vi.reg, ==, ci.reg);
	g_assert_cmpuint(vi.rm, ==, ci.rm);
	g_assert_cmpint(vi.mem, ==, ci.has_modrm && ci.mod != 3);
	if (vi.mem) {
		g_assert_cmphex(vi.sib, ==, ci.sib);
		g_assert_cmpuint(vi.base, ==, ci.base);
		g_assert_cmpuint(vi.index, ==, ci.index);
		g_assert_cmpuint(vi.scale, ==, ci.scale);
	}
	g_assert_cmpuint(vi.seg, ==, ci.seg);
	g_assert_cmpuint(vi.seg_override, ==, ci.seg_override);
	g_assert_cmphex(vi.rep, ==, ci.rep);
	g_assert_cmpint(vi.lock, ==, ci.lock);
	g_assert_cmpint(vi.opsize32, ==, ci.opsize32);
	g_assert_cmpint(vi.addrsize32, ==, ci.addrsize32);
	g_assert_cmphex(vi.disp, ==, ci.disp);
	g_assert_cmphex(vi.imm, ==, ci.imm);
	g_assert_cmphex(vi.imm2, ==, ci.imm2);
}

static void decode_report(const char *what)
{
	g_test_message("%s: %d byte strings, %d decoded, %d #UD, %d short, %d too long", what,
	               decode_checks, decode_ok, decode_ud, decode_short, decode_long);
	decode_checks = decode_ok = decode_ud = decode_short = decode_long = 0;
}

/* Every opcode (one-byte and 0F xx) with every ModRM byte, under a set of
 * prefix combinations, in 16- and 32-bit code; each whole and truncated
 * at every length. */
static void test_decode_all_opcodes_all_modrm(void)
{
	static const uint8_t prefixes[][4] = {
	        {0}, {1, 0x66}, {1, 0x67}, {2, 0x66, 0x67}, {1, 0xf0}, {2, 0xf3, 0x2e},
	        {3, 0x64, 0xf2, 0x66}, {2, 0xf0, 0x67},
	};
	for (int code32 = 0; code32 < 2; code32++) {
		for (size_t pi = 0; pi < G_N_ELEMENTS(prefixes); pi++) {
			for (unsigned op = 0; op < 0x200; op++) {
				for (unsigned modrm = 0; modrm < 256; modrm++) {
					uint8_t b[24];
					unsigned p = 0;
					for (unsigned i = 0; i < prefixes[pi][0]; i++)
						b[p++] = prefixes[pi][1 + i];
					if (op >= 0x100)
						b[p++] = 0x0f;
					b[p++] = (uint8_t)op;
					b[p++] = (uint8_t)modrm;
					while (p < sizeof b)
						b[p++] = (uint8_t)rnd();
					decode_compare(b, 16, code32);
					decode_compare(b, rnd_below(16), code32);
				}
			}
		}
	}
	decode_report("all opcodes x ModRM");
}

/* Random strings, rich in prefixes, with SIB and displacement bytes. */
static void test_decode_random_strings(void)
{
	static const uint8_t pfx[] = {0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65,
	                              0x66, 0x67, 0xf0, 0xf2, 0xf3};
	unsigned count = 400000 * scale_factor();
	for (unsigned k = 0; k < count; k++) {
		uint8_t b[20];
		unsigned np = rnd_below(8) == 0 ? rnd_below(16) : rnd_below(4);
		for (unsigned i = 0; i < sizeof b; i++)
			b[i] = i < np ? pfx[rnd_below(sizeof pfx)] : (uint8_t)rnd();
		if (rnd_below(3) == 0 && np < sizeof b)
			b[np] = 0x0f;
		unsigned n = rnd_below(4) == 0 ? rnd_below(17) : 16;
		decode_compare(b, n, rnd() & 1);
	}
	decode_report("random strings");
}

/* }====================================================================== */

/* {====== instruction templates ====== */

/* One emulated instruction form: opcode, ModRM.reg if fixed (-1: any),
 * and how its operands are chosen. */
enum {
	T_MODRM = 1,    /* has ModRM */
	T_LOCK = 2,     /* LOCK allowed on the memory form */
	T_STRING = 4,   /* string instruction: REP prefixes, SI/DI/CX */
	T_STACK = 8,    /* uses SS:ESP */
	T_BITREG = 16,  /* ModRM.reg holds a bit offset into memory */
	T_ACCMEM = 32,  /* the accumulator is compared with the memory operand */
};

struct tmpl {
	uint16_t op;
	int8_t reg;
	uint8_t flags;
};

static GArray *templates(void)
{
	GArray *t = g_array_new(false, false, sizeof(struct tmpl));
#define ADD(o, r, f) g_array_append_val(t, ((struct tmpl){(o), (r), (f)}))
	for (int base = 0; base < 0x40; base += 8) {
		int lock = base == 0x38 ? 0 : T_LOCK;
		ADD(base + 0, -1, T_MODRM | lock);
		ADD(base + 1, -1, T_MODRM | lock);
		ADD(base + 2, -1, T_MODRM);
		ADD(base + 3, -1, T_MODRM);
		ADD(base + 4, -1, 0);
		ADD(base + 5, -1, 0);
	}
	for (int op = 0x80; op <= 0x83; op++)
		for (int r = 0; r < 8; r++)
			ADD(op, r, T_MODRM | (r == 7 ? 0 : T_LOCK));
	ADD(0x84, -1, T_MODRM);
	ADD(0x85, -1, T_MODRM);
	ADD(0xa8, -1, 0);
	ADD(0xa9, -1, 0);
	for (int op = 0xf6; op <= 0xf7; op++)
		for (int r = 0; r < 4; r++)
			ADD(op, r, T_MODRM | (r >= 2 ? T_LOCK : 0));
	for (int op = 0xfe; op <= 0xff; op++)
		for (int r = 0; r < 2; r++)
			ADD(op, r, T_MODRM | T_LOCK);
	ADD(0x86, -1, T_MODRM | T_LOCK);
	ADD(0x87, -1, T_MODRM | T_LOCK);
	for (int op = 0x88; op <= 0x8b; op++)
		ADD(op, -1, T_MODRM);
	ADD(0xc6, 0, T_MODRM);
	ADD(0xc7, 0, T_MODRM);
	for (int op = 0xa0; op <= 0xa3; op++)
		ADD(op, -1, 0);
	ADD(0x1b6, -1, T_MODRM);
	ADD(0x1b7, -1, T_MODRM);
	ADD(0x1be, -1, T_MODRM);
	ADD(0x1bf, -1, T_MODRM);
	ADD(0x1b0, -1, T_MODRM | T_LOCK | T_ACCMEM);
	ADD(0x1b1, -1, T_MODRM | T_LOCK | T_ACCMEM);
	ADD(0x1c0, -1, T_MODRM | T_LOCK);
	ADD(0x1c1, -1, T_MODRM | T_LOCK);
	ADD(0x1a3, -1, T_MODRM | T_BITREG);
	ADD(0x1ab, -1, T_MODRM | T_BITREG | T_LOCK);
	ADD(0x1b3, -1, T_MODRM | T_BITREG | T_LOCK);
	ADD(0x1bb, -1, T_MODRM | T_BITREG | T_LOCK);
	for (int r = 4; r < 8; r++)
		ADD(0x1ba, r, T_MODRM | (r > 4 ? T_LOCK : 0));
	for (int op = 0x190; op <= 0x19f; op++)
		ADD(op, -1, T_MODRM);
	ADD(0xff, 6, T_MODRM | T_STACK);
	ADD(0x8f, 0, T_MODRM | T_STACK);
	for (int op = 0x50; op <= 0x57; op++)
		ADD(op, -1, T_STACK);
	ADD(0xe8, -1, T_STACK);
	ADD(0xff, 2, T_MODRM | T_STACK);
	ADD(0x68, -1, T_STACK);
	ADD(0x6a, -1, T_STACK);
	ADD(0x1c7, 1, T_MODRM | T_LOCK | T_ACCMEM);
	for (int op = 0xa4; op <= 0xaf; op++) {
		bool compares = (op & ~1) == 0xa6 || (op & ~1) == 0xae; /* CMPS, SCAS */
		if (op != 0xa8 && op != 0xa9)
			ADD(op, -1, T_STRING | (compares ? T_ACCMEM : 0));
	}
#undef ADD
	return t;
}

/* }====================================================================== */

/* {====== building one random instance ====== */

struct instance {
	bool code32;
	uint8_t bytes[24];
	unsigned disp_at;   /* offset of the displacement of a base-less operand, or 0 */
	unsigned disp_size; /* its size: 2 or 4 */
	struct vx_insn in;
	struct vx_regs regs;
};

/* Register values with the edges that matter to flags. */
static uint32_t rnd_value(void)
{
	static const uint32_t edges[] = {
	        0,      1,       0x7f,       0x80,       0xff,       0x100,      0x7fff,     0x8000,
	        0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 0x0f0f0f0f,
	};
	switch (rnd_below(4)) {
	case 0: return edges[rnd_below(G_N_ELEMENTS(edges))];
	case 1: return rnd_below(0x200);
	default: return rnd();
	}
}

static uint32_t rnd_offset(void)
{
	return OFF_LO + rnd_below(OFF_HI - OFF_LO);
}

static uint8_t rnd_seg_prefix(void)
{
	static const uint8_t segs[] = {0x26, 0x36, 0x3e, 0x64, 0x65}; /* not CS: read-only code */
	return segs[rnd_below(G_N_ELEMENTS(segs))];
}

/* Writes prefixes, opcode, ModRM (+SIB, displacement) and random
 * immediate bytes for template t. */
static unsigned build_bytes(struct instance *x, const struct tmpl *t)
{
	uint8_t *b = x->bytes;
	unsigned p = 0;
	bool addr32 = x->code32;
	if (rnd_below(3) == 0)
		b[p++] = rnd_seg_prefix();
	if (rnd_below(3) == 0)
		b[p++] = 0x66;
	if (rnd_below(3) == 0) {
		b[p++] = 0x67;
		addr32 = !addr32;
	}
	if ((t->flags & T_STRING) && rnd_below(4) != 0)
		b[p++] = rnd_below(2) ? 0xf3 : 0xf2;
	bool mem = (t->flags & T_MODRM) && rnd_below(4) != 0;
	if (mem && (t->flags & T_LOCK) && rnd_below(4) == 0)
		b[p++] = 0xf0;
	if (t->op >= 0x100)
		b[p++] = 0x0f;
	b[p++] = (uint8_t)t->op;
	x->disp_at = 0;
	x->disp_size = addr32 ? 4 : 2;
	if (t->flags & T_MODRM) {
		unsigned reg = t->reg >= 0 ? (unsigned)t->reg : rnd_below(8);
		unsigned mod = mem ? rnd_below(3) : 3, rm = rnd_below(8);
		b[p++] = (uint8_t)(mod << 6 | reg << 3 | rm);
		if (mem && addr32 && rm == 4)
			b[p++] = (uint8_t)rnd();
		bool nobase32 = addr32 && mod == 0 && (rm == 5 || (rm == 4 && (b[p - 1] & 7) == 5));
		bool nobase16 = !addr32 && mod == 0 && rm == 6;
		if (nobase32 || nobase16)
			x->disp_at = p;
	}
	if (!(t->flags & T_MODRM) && t->op >= 0xa0 && t->op <= 0xa3)
		x->disp_at = p; /* moffs */
	while (p < sizeof x->bytes)
		b[p++] = (uint8_t)rnd();
	return p;
}

/* Inverse of an odd k modulo 2^32 (Newton's iteration). */
static uint32_t inverse_odd(uint32_t k)
{
	uint32_t x = k;
	for (int i = 0; i < 5; i++)
		x *= 2 - k * x;
	return x;
}

/* Chooses base/index register values (or patches a displacement) so the
 * memory operand's offset is `t`. Returns false if it cannot. */
static bool place_operand(struct instance *x, uint32_t t)
{
	struct vx_insn *in = &x->in;
	uint32_t *r = x->regs.r;
	uint32_t idx = in->index != VX_REG_NONE ? r[in->index] << in->scale : 0;
	if (in->base == VX_REG_NONE) {
		if (!x->disp_at)
			return false;
		uint32_t d = t - idx;
		memcpy(x->bytes + x->disp_at, &d, x->disp_size);
		return vx_decode(x->bytes, sizeof x->bytes, x->code32, in) > 0;
	}
	if (!in->addrsize32) {
		r[in->base] = (r[in->base] & 0xffff0000u) | ((t - in->disp - idx) & 0xffff);
		return true;
	}
	if (in->base != in->index) {
		r[in->base] = t - in->disp - idx;
		return true;
	}
	uint32_t k = 1 + (1u << in->scale);
	if (k & 1) {
		r[in->base] = (t - in->disp) * inverse_odd(k);
	} else {
		t = (t & ~1u) | (in->disp & 1);
		r[in->base] = (t - in->disp) >> 1;
	}
	return true;
}

/* Random registers and flags for instance x of template t. */
static void choose_registers(struct instance *x, const struct tmpl *t)
{
	struct vx_insn *in = &x->in;
	for (int i = 0; i < 8; i++)
		x->regs.r[i] = rnd_value();
	x->regs.eip = CODE_AT;
	x->regs.eflags = 2 | (rnd() & (VX_EFLAGS_ARITH | VX_EFLAGS_DF));
	if (t->flags & (T_STACK | T_STRING))
		x->regs.r[VX_ESP] = rnd_offset() & ~3u;
	if (t->flags & T_STRING) {
		uint32_t keep = in->addrsize32 ? 0 : rnd() & 0xffff0000u;
		x->regs.r[VX_ESI] = keep | rnd_offset();
		x->regs.r[VX_EDI] = (rnd() & 0xffff0000u) | rnd_offset();
		if (in->addrsize32)
			x->regs.r[VX_EDI] &= 0xffff;
		x->regs.r[VX_ECX] = (in->addrsize32 ? 0 : rnd() & 0xffff0000u) | rnd_below(12);
	}
	if ((t->flags & T_BITREG) && in->mem) {
		uint32_t off = (uint32_t)((int32_t)rnd_below(2 * BIT_SPAN) - BIT_SPAN);
		uint32_t *r = &x->regs.r[in->reg];
		*r = in->opsize32 ? off : (*r & 0xffff0000u) | (off & 0xffff);
	}
}

/* True if the registers that placing the operand changed still keep the
 * other operands in the window: ESP (PUSH/POP Ev) and the bit offset of
 * BT* Ev,Gv may also be the base or index register. Computed from the
 * manual, not by the emulator, so an emulator that reaches outside the
 * window fails the test instead of being drawn again. */
static bool operands_in_window(const struct instance *x, const struct tmpl *t)
{
	const struct vx_insn *in = &x->in;
	uint32_t sp = x->regs.r[VX_ESP];
	if ((t->flags & T_STACK) && (sp < OFF_LO || sp >= OFF_HI))
		return false;
	if ((t->flags & T_BITREG) && in->mem) {
		uint32_t v = x->regs.r[in->reg];
		int32_t off = in->opsize32 ? (int32_t)v : (int16_t)(v & 0xffff);
		if (off < -BIT_SPAN || off >= BIT_SPAN)
			return false;
	}
	return true;
}

/* Builds a random valid instance of t; false if the draw is unusable. */
static bool make_instance(struct instance *x, const struct tmpl *t)
{
	x->code32 = rnd() & 1;
	build_bytes(x, t);
	if (vx_decode(x->bytes, sizeof x->bytes, x->code32, &x->in) <= 0)
		return false;
	/* a 32-bit CALL in 16-bit code may leave the 64 KiB CS limit (#GP);
	 * the emulator leaves that to the monitor (x86emu.h) */
	if ((x->in.op == 0xe8 || (x->in.op == 0xff && x->in.reg == 2)) && !x->code32 &&
	    x->in.opsize32)
		return false;
	choose_registers(x, t);
	if (x->in.mem && !place_operand(x, rnd_offset()))
		return false;
	if (x->in.op >= 0xa0 && x->in.op <= 0xa3) {
		uint32_t d = rnd_offset();
		memcpy(x->bytes + x->disp_at, &d, x->disp_size);
		vx_decode(x->bytes, sizeof x->bytes, x->code32, &x->in);
	}
	return operands_in_window(x, t);
}

/* Stores n bytes at linear `lin` in the engine's RAM and the emulator's window. */
static void poke(struct testbus *tb, struct emu_mem *em, uint32_t lin, const void *src, uint32_t n)
{
	g_assert_true(lin >= WIN_LO && lin + n <= WIN_LO + WIN_SIZE);
	memmove(tb->ram + lin, src, n);
	memcpy(em->win + (lin - WIN_LO), tb->ram + lin, n);
}

/* Gives the memory the instance touches interesting contents: the
 * accumulator at the operand (CMPXCHG equality), equal strings (REPE). */
static void shape_memory(struct testbus *tb, struct emu_mem *em, const struct instance *x,
                         const struct tmpl *t)
{
	const struct vx_insn *in = &x->in;
	uint32_t sz = (in->op & 1) ? (in->opsize32 ? 4 : 2) : 1;
	if ((t->flags & T_ACCMEM) && rnd_below(2)) {
		uint32_t src = x->regs.r[VX_ESI] & (in->addrsize32 ? ~0u : 0xffffu);
		uint32_t dst = x->regs.r[VX_EDI] & (in->addrsize32 ? ~0u : 0xffffu);
		uint32_t at = in->mem ? seg_base(in->seg) + vx_ea(in, &x->regs) : 0;
		if (t->flags & T_STRING) {
			int ss = in->seg_override == VX_SEG_NONE ? SEG_DS : in->seg_override;
			uint32_t from = seg_base(ss) + src - 64, to = seg_base(SEG_ES) + dst - 64;
			poke(tb, em, to, tb->ram + from, 128);
			if ((in->op & ~1) == 0xae)
				for (uint32_t i = 0; i < 64; i += sz)
					poke(tb, em, seg_base(SEG_ES) + dst + i - 32,
					     &x->regs.r[VX_EAX], sz);
		} else if (at) {
			poke(tb, em, at, &x->regs.r[VX_EAX], sz);
		}
	}
}

/* }====================================================================== */

/* {====== running one instance both ways ====== */

struct stats {
	unsigned run, redrawn, rep_calls;
};

/* vx_emulate until the instruction is over (EIP moves on); false if the
 * emulator touched memory outside the window. */
static bool emulate(struct instance *x, struct emu_mem *em, struct vx_regs *out, struct stats *st)
{
	struct vx_mem m = {.opaque = em, .read = emu_read, .write = emu_write};
	*out = x->regs;
	em->fault_at = -1;
	em->out = false;
	for (int calls = 0; calls < 100000; calls++) {
		int rc = vx_emulate(&x->in, out, &m);
		if (em->out)
			return false;
		g_assert_cmpint(rc, ==, VX_OK);
		st->rep_calls++;
		if (out->eip != x->regs.eip)
			return true;
	}
	g_error("REP did not end");
}

static void engine_run(struct testbus *tb, const struct instance *x)
{
	struct cpu *cpu = tb->cpu;
	tb_put(tb, x->regs.eip, x->bytes, sizeof x->bytes);
	memcpy(cpu->r, x->regs.r, sizeof cpu->r);
	cpu->eip = x->regs.eip;
	cpu_set_eflags(cpu, x->regs.eflags);
	cpu->halted = false;
	cpu_step(cpu);
	g_assert_false(tb->shutdown);
}

static void dump_failure(const struct instance *x, const struct vx_regs *want,
                         const struct vx_regs *got)
{
	GString *s = g_string_new(NULL);
	for (unsigned i = 0; i < x->in.len; i++)
		g_string_append_printf(s, "%02x ", x->bytes[i]);
	g_printerr("instance: %s(code32=%d)\n", s->str, x->code32);
	for (int i = 0; i < 8; i++)
		g_printerr("  r%d in %08x engine %08x vx %08x\n", i, x->regs.r[i], want->r[i],
		           got->r[i]);
	g_printerr("  eip %08x engine %08x vx %08x\n", x->regs.eip, want->eip, got->eip);
	g_printerr("  eflags %08x engine %08x vx %08x\n", x->regs.eflags, want->eflags,
	           got->eflags);
	g_string_free(s, true);
}

/* One instance of t: both ways, then compare. */
static void run_instance(struct testbus *tb, struct emu_mem *em, const struct tmpl *t,
                         struct stats *st)
{
	struct instance x;
	for (;;) {
		if (!make_instance(&x, t)) {
			st->redrawn++;
			continue;
		}
		if (!x.code32 && rnd_below(8) == 0)
			x.regs.eip = CODE_END16 - x.in.len; /* the next EIP wraps to 0 */
		machine_code32(tb, x.code32);
		shape_memory(tb, em, &x, t);
		struct vx_regs got;
		if (!emulate(&x, em, &got, st)) {
			dump_failure(&x, &x.regs, &got);
			g_error("the emulator accessed memory outside the operands' window");
		}
		engine_run(tb, &x);
		struct vx_regs want;
		memcpy(want.r, tb->cpu->r, sizeof want.r);
		want.eip = tb->cpu->eip;
		want.eflags = cpu_get_eflags(tb->cpu);
		if (memcmp(&want, &got, sizeof want) != 0) {
			dump_failure(&x, &want, &got);
			g_assert_not_reached();
		}
		if (memcmp(em->win, tb->ram + WIN_LO, WIN_SIZE) != 0) {
			for (uint32_t i = 0; i < WIN_SIZE; i++)
				if (em->win[i] != tb->ram[WIN_LO + i])
					g_printerr("mem %06x engine %02x vx %02x\n", WIN_LO + i,
					           tb->ram[WIN_LO + i], em->win[i]);
			dump_failure(&x, &want, &got);
			g_assert_not_reached();
		}
		st->run++;
		return;
	}
}

#define INSTANCES_PER_FORM 1500

/* Every template, INSTANCES_PER_FORM times (times X86EMU_SCALE). */
static void test_emulate_matches_engine(gconstpointer data)
{
	const GArray *all = data;
	struct testbus *tb = machine_new();
	struct emu_mem *em = g_new0(struct emu_mem, 1);
	memcpy(em->win, tb->ram + WIN_LO, WIN_SIZE);
	struct stats st = {0};
	unsigned n = INSTANCES_PER_FORM * scale_factor();
	for (guint i = 0; i < all->len; i++) {
		const struct tmpl *t = &g_array_index(all, struct tmpl, i);
		for (unsigned k = 0; k < n; k++)
			run_instance(tb, em, t, &st);
	}
	g_test_message("%u forms, %u instances compared (%u vx_emulate calls), %u draws redrawn",
	               all->len, st.run, st.rep_calls, st.redrawn);
	g_free(em);
	tb_free(tb);
}

#if HAVE_CAPSTONE
/* Capstone 4 as a second, independent oracle for the lengths of the
 * emulated forms (the engine's decoder is held against Capstone for all
 * opcodes, with its quirk table, in tests/decode). */
static void test_emulated_forms_match_capstone(gconstpointer data)
{
	const GArray *all = data;
	csh cs[2];
	g_assert_cmpint(cs_open(CS_ARCH_X86, CS_MODE_16, &cs[0]), ==, CS_ERR_OK);
	g_assert_cmpint(cs_open(CS_ARCH_X86, CS_MODE_32, &cs[1]), ==, CS_ERR_OK);
	unsigned checked = 0;
	for (guint i = 0; i < all->len; i++) {
		const struct tmpl *t = &g_array_index(all, struct tmpl, i);
		for (unsigned k = 0; k < 200 * scale_factor(); k++) {
			struct instance x;
			if (!make_instance(&x, t))
				continue;
			cs_insn *ci;
			size_t n = cs_disasm(cs[x.code32], x.bytes, VX_MAX_INSN_LEN, CODE_AT, 1, &ci);
			g_assert_cmpuint(n, ==, 1);
			if (ci->size != x.in.len) {
				dump_failure(&x, &x.regs, &x.regs);
				g_error("capstone %s %s: length %u, vx %u", ci->mnemonic, ci->op_str,
				        ci->size, x.in.len);
			}
			cs_free(ci, n);
			checked++;
		}
	}
	g_test_message("%u instances of the emulated forms: same length as Capstone", checked);
	cs_close(&cs[0]);
	cs_close(&cs[1]);
}
#endif

/* }====================================================================== */

/* {====== unsupported instructions and faults ====== */

/* Instructions the monitor does not emulate: VX_UNSUPPORTED, nothing changed. */
static void test_unsupported_leaves_registers(void)
{
	static const uint8_t cases[][6] = {
	        {1, 0x90},                   /* nop */
	        {1, 0xc3},                   /* ret */
	        {2, 0x0f, 0xa2},             /* cpuid */
	        {2, 0xd1, 0x20},             /* shl dword [eax], 1 */
	        {3, 0x0f, 0xaf, 0x00},       /* imul eax, [eax] */
	        {2, 0xff, 0x18},             /* call far [eax] */
	        {1, 0x06},                   /* push es */
	        {1, 0x60},                   /* pusha */
	        {2, 0x8d, 0x00},             /* lea eax, [eax] */
	        {2, 0x6c},                   /* insb */
	        {1, 0x6f},                   /* outsd */
	        {2, 0x8e, 0x18},             /* mov ds, [eax] */
	        {3, 0x0f, 0x44, 0x00},       /* cmove eax, [eax] */
	        {3, 0x0f, 0xbc, 0x00},       /* bsf eax, [eax] */
	        {2, 0xf7, 0x20},             /* mul dword [eax] */
	        {1, 0x58},                   /* pop eax */
	};
	struct emu_mem *em = g_new0(struct emu_mem, 1);
	struct vx_mem m = {.opaque = em, .read = emu_read, .write = emu_write};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct vx_insn in;
		uint8_t b[16] = {0};
		memcpy(b, cases[i] + 1, cases[i][0]);
		g_assert_cmpint(vx_decode(b, sizeof b, true, &in), >, 0);
		g_assert_false(vx_supported(&in));
		struct vx_regs r, before;
		for (int k = 0; k < 8; k++)
			r.r[k] = rnd();
		r.eip = rnd();
		r.eflags = 2 | (rnd() & VX_EFLAGS_ARITH);
		before = r;
		em->accesses = 0;
		em->fault_at = -1;
		g_assert_cmpint(vx_emulate(&in, &r, &m), ==, VX_UNSUPPORTED);
		g_assert_cmpmem(&r, sizeof r, &before, sizeof before);
		g_assert_cmpint(em->accesses, ==, 0);
	}
	g_free(em);
}

/* A fault at each memory access of random instances of every form: the
 * code comes back, registers and memory stay as they were. */
static void test_fault_leaves_state(gconstpointer data)
{
	const GArray *all = data;
	struct emu_mem *em = g_new0(struct emu_mem, 1);
	struct emu_mem *clean = g_new0(struct emu_mem, 1);
	struct vx_mem m = {.opaque = em, .read = emu_read, .write = emu_write};
	struct testbus *tb = machine_new();
	unsigned faults = 0;
	for (guint i = 0; i < all->len; i++) {
		const struct tmpl *t = &g_array_index(all, struct tmpl, i);
		for (unsigned k = 0; k < 100; k++) {
			struct instance x;
			if (!make_instance(&x, t))
				continue;
			memcpy(clean->win, tb->ram + WIN_LO, WIN_SIZE);
			/* how many accesses one call makes */
			*em = *clean;
			em->fault_at = -1;
			struct vx_regs r = x.regs;
			if (vx_emulate(&x.in, &r, &m) != VX_OK || em->out)
				continue;
			int total = em->accesses;
			for (int at = 0; at < total; at++) {
				*em = *clean;
				em->fault_at = at;
				r = x.regs;
				g_assert_cmpint(vx_emulate(&x.in, &r, &m), ==, FAULT_INJECTED);
				g_assert_cmpmem(&r, sizeof r, &x.regs, sizeof x.regs);
				/* CMPXCHG8B's second write comes after its first (x86emu.h) */
				if (t->op == 0x1c7 && at == total - 1)
					continue;
				g_assert_true(memcmp(em->win, clean->win, WIN_SIZE) == 0);
				faults++;
			}
		}
	}
	g_test_message("%u injected faults", faults);
	tb_free(tb);
	g_free(clean);
	g_free(em);
}

/* }====================================================================== */

/* {====== directed cases ====== */

/* Decodes `b` as 32-bit code and emulates it once on *r over em's window
 * (which starts at ES offset 0; DS is SEG_STEP higher). */
static int emulate_once(const uint8_t *b, struct vx_regs *r, struct emu_mem *em)
{
	struct vx_insn in;
	struct vx_mem m = {.opaque = em, .read = emu_read, .write = emu_write};
	g_assert_cmpint(vx_decode(b, VX_MAX_INSN_LEN, true, &in), >, 0);
	em->fault_at = -1;
	return vx_emulate(&in, r, &m);
}

/* REP MOVSB: one element per call, EIP stays until ECX reaches 0. */
static void test_rep_runs_one_element_per_call(void)
{
	static const uint8_t rep_movsb[VX_MAX_INSN_LEN] = {0xf3, 0xa4};
	struct emu_mem *em = g_new0(struct emu_mem, 1);
	struct vx_regs r = {.eip = CODE_AT, .eflags = 2};
	r.r[VX_ECX] = 3;
	r.r[VX_ESI] = 0x100; /* DS:0x100 is window offset SEG_STEP*2 + 0x100 */
	r.r[VX_EDI] = 0x200;
	memcpy(em->win + 2 * SEG_STEP + 0x100, "abc", 3);
	for (uint32_t left = 2; left != UINT32_MAX; left--) {
		g_assert_cmpint(emulate_once(rep_movsb, &r, em), ==, VX_OK);
		g_assert_cmphex(r.r[VX_ECX], ==, left);
		g_assert_cmphex(r.eip, ==, left ? CODE_AT : CODE_AT + 2);
	}
	g_assert_cmpmem(em->win + 0x200, 3, "abc", 3);
	g_assert_cmphex(r.r[VX_ESI], ==, 0x103);
	g_free(em);
}

/* REP STOSD with ECX = 0: no access, the instruction just ends. */
static void test_rep_with_zero_count_just_ends(void)
{
	static const uint8_t rep_stosd[VX_MAX_INSN_LEN] = {0xf3, 0xab};
	struct emu_mem *em = g_new0(struct emu_mem, 1);
	struct vx_regs r = {.eip = CODE_AT, .eflags = 2};
	r.r[VX_EDI] = 0x200;
	g_assert_cmpint(emulate_once(rep_stosd, &r, em), ==, VX_OK);
	g_assert_cmpint(em->accesses, ==, 0);
	g_assert_cmphex(r.eip, ==, CODE_AT + 2);
	g_assert_cmphex(r.r[VX_EDI], ==, 0x200);
	g_free(em);
}

/* BTS [ebx], eax with EAX = -1: the bit string extends below the operand,
 * so bit 31 of the dword at EBX - 4 is set (SDM, BTS). */
static void test_bts_negative_register_offset_reaches_below(void)
{
	static const uint8_t bts[VX_MAX_INSN_LEN] = {0x0f, 0xab, 0x03}; /* bts [ebx], eax */
	struct emu_mem *em = g_new0(struct emu_mem, 1);
	struct vx_regs r = {.eip = CODE_AT, .eflags = 2};
	r.r[VX_EAX] = 0xffffffffu;
	r.r[VX_EBX] = 0x104; /* DS */
	g_assert_cmpint(emulate_once(bts, &r, em), ==, VX_OK);
	g_assert_cmphex(em->win[2 * SEG_STEP + 0x103], ==, 0x80);
	g_assert_cmphex(r.eflags & VX_EFLAGS_CF, ==, 0);
	g_free(em);
}

/* }====================================================================== */

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	const char *seed = getenv("X86EMU_SEED");
	if (seed)
		rng_state ^= g_ascii_strtoull(seed, NULL, 0) * 0x2545f4914f6cdd1dull;
	GArray *all = templates();
	g_test_add_func("/vmm/x86emu/decode/all-opcodes-all-modrm-match-engine",
	                test_decode_all_opcodes_all_modrm);
	g_test_add_func("/vmm/x86emu/decode/random-strings-match-engine",
	                test_decode_random_strings);
#if HAVE_CAPSTONE
	g_test_add_data_func("/vmm/x86emu/decode/emulated-forms-match-capstone", all,
	                     test_emulated_forms_match_capstone);
#endif
	g_test_add_data_func("/vmm/x86emu/emulate/random-instances-match-engine", all,
	                     test_emulate_matches_engine);
	g_test_add_func("/vmm/x86emu/unsupported/leaves-registers-untouched",
	                test_unsupported_leaves_registers);
	g_test_add_data_func("/vmm/x86emu/fault/any-access-leaves-registers-and-memory", all,
	                     test_fault_leaves_state);
	g_test_add_func("/vmm/x86emu/string/rep-runs-one-element-per-call",
	                test_rep_runs_one_element_per_call);
	g_test_add_func("/vmm/x86emu/string/rep-with-zero-count-just-ends",
	                test_rep_with_zero_count_just_ends);
	g_test_add_func("/vmm/x86emu/bt/negative-register-offset-reaches-below-operand",
	                test_bts_negative_register_offset_reaches_below);
	int rc = g_test_run();
	g_array_free(all, true);
	return rc;
}
