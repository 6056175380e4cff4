/*
 * x86emu_decode.c - the monitor's instruction decoder: bytes to struct
 * vx_insn (prefixes, opcode, ModRM, SIB, displacement, immediates,
 * effective sizes and segment, length).
 *
 * It accepts exactly the instructions of the engine's CPU (engine/cpu,
 * an i686-class integer x86) and reports the same length, #UD and #GP
 * (too long) for every byte string: a trapped instruction must be skipped
 * by exactly the length the CPU would have used. The shape of each opcode
 * is one row of the maps below, with the manual's operand notation
 * (Intel SDM Vol. 2, Appendix A: E ModRM r/m, G ModRM reg, I immediate,
 * J relative offset, O moffs, A far pointer; b/w/v/z sizes).
 */
#include "x86emu_int.h"

/* {====== opcode shapes ====== */

/* Immediate operand kinds. */
enum imm_kind {
	IMM_NONE,
	IMM_B,   /* Ib */
	IMM_BS,  /* Ib sign-extended, Jb */
	IMM_W,   /* Iw */
	IMM_Z,   /* Iz, Jz: 16 or 32 bits by operand size, sign-extended from 16 */
	IMM_P,   /* Ap: offset16/32 then selector16 */
	IMM_O,   /* Ob/Ov moffs: 16 or 32 bits by address size (into disp) */
	IMM_WB,  /* ENTER Iw,Ib */
	IMM_G3B, /* group 3 byte: Ib only for /0 /1 (TEST) */
	IMM_G3Z, /* group 3: Iz only for /0 /1 (TEST) */
};

/* Shape flags. */
#define S_M 0x01    /* has ModRM */
#define S_DEF 0x02  /* two-byte map: defined (rows left out are #UD) */
#define S_PFX 0x04  /* a prefix byte */
#define S_MEM 0x08  /* ModRM must name memory */
#define S_GRP 0x10  /* ModRM.reg selects the operation (see grp_rules) */
#define S_LOCK 0x20 /* LOCK allowed (with a memory destination) */

struct shape {
	uint8_t flags;
	uint8_t imm; /* enum imm_kind */
};

#define ALU_SHAPES(b)                                                                              \
	[(b) + 0] = {S_M | S_LOCK, IMM_NONE}, /* op Eb,Gb */                                       \
	[(b) + 1] = {S_M | S_LOCK, IMM_NONE}, /* op Ev,Gv */                                       \
	[(b) + 2] = {S_M, IMM_NONE},          /* op Gb,Eb */                                       \
	[(b) + 3] = {S_M, IMM_NONE},          /* op Gv,Ev */                                       \
	[(b) + 4] = {0, IMM_B},               /* op AL,Ib */                                       \
	[(b) + 5] = {0, IMM_Z}                /* op eAX,Iz */

/* One-byte map. Rows left out are operand-less instructions. */
static const struct shape map1[256] = {
	ALU_SHAPES(0x00), ALU_SHAPES(0x08), ALU_SHAPES(0x10), ALU_SHAPES(0x18), /* ADD OR ADC SBB */
	ALU_SHAPES(0x20), ALU_SHAPES(0x28), ALU_SHAPES(0x30),                   /* AND SUB XOR */
	[0x38 ... 0x3b] = {S_M, IMM_NONE},          /* CMP E,G / G,E (no LOCK) */
	[0x3c] = {0, IMM_B},                        /* CMP AL,Ib */
	[0x3d] = {0, IMM_Z},                        /* CMP eAX,Iz */
	[0x26] = {S_PFX, IMM_NONE},                 /* ES: */
	[0x2e] = {S_PFX, IMM_NONE},                 /* CS: */
	[0x36] = {S_PFX, IMM_NONE},                 /* SS: */
	[0x3e] = {S_PFX, IMM_NONE},                 /* DS: */
	[0x62] = {S_M | S_MEM, IMM_NONE},           /* BOUND Gv,Ma */
	[0x63] = {S_M, IMM_NONE},                   /* ARPL Ew,Gw */
	[0x64 ... 0x67] = {S_PFX, IMM_NONE},        /* FS: GS: opsize addrsize */
	[0x68] = {0, IMM_Z},                        /* PUSH Iz */
	[0x69] = {S_M, IMM_Z},                      /* IMUL Gv,Ev,Iz */
	[0x6a] = {0, IMM_BS},                       /* PUSH Ib */
	[0x6b] = {S_M, IMM_BS},                     /* IMUL Gv,Ev,Ib */
	[0x70 ... 0x7f] = {0, IMM_BS},              /* Jcc Jb */
	[0x80] = {S_M | S_GRP, IMM_B},              /* group 1 Eb,Ib */
	[0x81] = {S_M | S_GRP, IMM_Z},              /* group 1 Ev,Iz */
	[0x82] = {S_M | S_GRP, IMM_B},              /* group 1 Eb,Ib (alias) */
	[0x83] = {S_M | S_GRP, IMM_BS},             /* group 1 Ev,Ib */
	[0x84 ... 0x85] = {S_M, IMM_NONE},          /* TEST E,G */
	[0x86 ... 0x87] = {S_M | S_LOCK, IMM_NONE}, /* XCHG E,G */
	[0x88 ... 0x8b] = {S_M, IMM_NONE},          /* MOV E,G / G,E */
	[0x8c] = {S_M | S_GRP, IMM_NONE},           /* MOV Ev,Sw */
	[0x8d] = {S_M | S_MEM, IMM_NONE},           /* LEA Gv,M */
	[0x8e] = {S_M | S_GRP, IMM_NONE},           /* MOV Sw,Ew */
	[0x8f] = {S_M | S_GRP, IMM_NONE},           /* group 1A: POP Ev */
	[0x9a] = {0, IMM_P},                        /* CALL Ap */
	[0xa0 ... 0xa3] = {0, IMM_O},               /* MOV AL/eAX,O / O,AL/eAX */
	[0xa8] = {0, IMM_B},                        /* TEST AL,Ib */
	[0xa9] = {0, IMM_Z},                        /* TEST eAX,Iz */
	[0xb0 ... 0xb7] = {0, IMM_B},               /* MOV r8,Ib */
	[0xb8 ... 0xbf] = {0, IMM_Z},               /* MOV r,Iv */
	[0xc0 ... 0xc1] = {S_M | S_GRP, IMM_B},     /* group 2 E,Ib */
	[0xc2] = {0, IMM_W},                        /* RET Iw */
	[0xc4 ... 0xc5] = {S_M | S_MEM, IMM_NONE},  /* LES LDS Gv,Mp */
	[0xc6] = {S_M | S_GRP, IMM_B},              /* group 11: MOV Eb,Ib */
	[0xc7] = {S_M | S_GRP, IMM_Z},              /* group 11: MOV Ev,Iz */
	[0xc8] = {0, IMM_WB},                       /* ENTER Iw,Ib */
	[0xca] = {0, IMM_W},                        /* RETF Iw */
	[0xcd] = {0, IMM_B},                        /* INT Ib */
	[0xd0 ... 0xd3] = {S_M | S_GRP, IMM_NONE},  /* group 2 E,1 / E,CL */
	[0xd4 ... 0xd5] = {0, IMM_B},               /* AAM AAD Ib */
	[0xd8 ... 0xdf] = {S_M, IMM_NONE},          /* x87 escapes */
	[0xe0 ... 0xe3] = {0, IMM_BS},              /* LOOPcc JCXZ Jb */
	[0xe4 ... 0xe7] = {0, IMM_B},               /* IN/OUT Ib */
	[0xe8 ... 0xe9] = {0, IMM_Z},               /* CALL JMP Jz */
	[0xea] = {0, IMM_P},                        /* JMP Ap */
	[0xeb] = {0, IMM_BS},                       /* JMP Jb */
	[0xf0] = {S_PFX, IMM_NONE},                 /* LOCK */
	[0xf2 ... 0xf3] = {S_PFX, IMM_NONE},        /* REPNE REP */
	[0xf6] = {S_M | S_GRP, IMM_G3B},            /* group 3 Eb */
	[0xf7] = {S_M | S_GRP, IMM_G3Z},            /* group 3 Ev */
	[0xfe ... 0xff] = {S_M | S_GRP, IMM_NONE},  /* group 4, group 5 */
};

/* Two-byte map (0F xx). Rows left out are undefined on this CPU. */
static const struct shape map2[256] = {
	[0x00 ... 0x01] = {S_DEF | S_M | S_GRP, IMM_NONE}, /* group 6, group 7 */
	[0x02 ... 0x03] = {S_DEF | S_M, IMM_NONE},  /* LAR LSL Gv,Ew */
	[0x06] = {S_DEF, IMM_NONE},                 /* CLTS */
	[0x08 ... 0x09] = {S_DEF, IMM_NONE},        /* INVD WBINVD */
	[0x0b] = {S_DEF, IMM_NONE},                 /* UD2 (the CPU raises #UD when run) */
	[0x18 ... 0x1f] = {S_DEF | S_M, IMM_NONE},  /* hint NOP Ev */
	[0x20 ... 0x23] = {S_DEF | S_M, IMM_NONE},  /* MOV R,C/D and C/D,R (registers) */
	[0x30 ... 0x33] = {S_DEF, IMM_NONE},        /* WRMSR RDTSC RDMSR RDPMC */
	[0x40 ... 0x4f] = {S_DEF | S_M, IMM_NONE},  /* CMOVcc Gv,Ev */
	[0x80 ... 0x8f] = {S_DEF, IMM_Z},           /* Jcc Jz */
	[0x90 ... 0x9f] = {S_DEF | S_M, IMM_NONE},  /* SETcc Eb */
	[0xa0 ... 0xa2] = {S_DEF, IMM_NONE},        /* PUSH FS, POP FS, CPUID */
	[0xa3] = {S_DEF | S_M, IMM_NONE},           /* BT Ev,Gv */
	[0xa4] = {S_DEF | S_M, IMM_B},              /* SHLD Ev,Gv,Ib */
	[0xa5] = {S_DEF | S_M, IMM_NONE},           /* SHLD Ev,Gv,CL */
	[0xa8 ... 0xaa] = {S_DEF, IMM_NONE},        /* PUSH GS, POP GS, RSM */
	[0xab] = {S_DEF | S_M | S_LOCK, IMM_NONE},  /* BTS Ev,Gv */
	[0xac] = {S_DEF | S_M, IMM_B},              /* SHRD Ev,Gv,Ib */
	[0xad] = {S_DEF | S_M, IMM_NONE},           /* SHRD Ev,Gv,CL */
	[0xaf] = {S_DEF | S_M, IMM_NONE},           /* IMUL Gv,Ev */
	[0xb0 ... 0xb1] = {S_DEF | S_M | S_LOCK, IMM_NONE}, /* CMPXCHG E,G */
	[0xb2] = {S_DEF | S_M | S_MEM, IMM_NONE},   /* LSS Gv,Mp */
	[0xb3] = {S_DEF | S_M | S_LOCK, IMM_NONE},  /* BTR Ev,Gv */
	[0xb4 ... 0xb5] = {S_DEF | S_M | S_MEM, IMM_NONE}, /* LFS LGS Gv,Mp */
	[0xb6 ... 0xb7] = {S_DEF | S_M, IMM_NONE},  /* MOVZX Gv,Eb/Ew */
	[0xb9] = {S_DEF | S_M, IMM_NONE},           /* UD1 Gv,Ev */
	[0xba] = {S_DEF | S_M | S_GRP, IMM_B},      /* group 8: BT BTS BTR BTC Ev,Ib */
	[0xbb] = {S_DEF | S_M | S_LOCK, IMM_NONE},  /* BTC Ev,Gv */
	[0xbc ... 0xbd] = {S_DEF | S_M, IMM_NONE},  /* BSF BSR Gv,Ev */
	[0xbe ... 0xbf] = {S_DEF | S_M, IMM_NONE},  /* MOVSX Gv,Eb/Ew */
	[0xc0 ... 0xc1] = {S_DEF | S_M | S_LOCK, IMM_NONE}, /* XADD E,G */
	[0xc7] = {S_DEF | S_M | S_GRP, IMM_NONE},   /* group 9: CMPXCHG8B Mq */
	[0xc8 ... 0xcf] = {S_DEF, IMM_NONE},        /* BSWAP r32 */
};

/* Per-member rules of a group opcode: bit r is about ModRM.reg == r. */
struct grp_rule {
	uint16_t op;
	uint8_t ud;   /* /r undefined */
	uint8_t mem;  /* /r needs a memory operand */
	uint8_t lock; /* /r may take LOCK */
};

static const struct grp_rule grp_rules[] = {
	{0x080, 0x00, 0x00, 0x7f}, /* group 1: all but CMP lockable */
	{0x081, 0x00, 0x00, 0x7f},
	{0x082, 0x00, 0x00, 0x7f},
	{0x083, 0x00, 0x00, 0x7f},
	{0x08c, 0xc0, 0x00, 0x00}, /* MOV Ev,Sw: no segment 6, 7 */
	{0x08e, 0xc2, 0x00, 0x00}, /* MOV Sw,Ew: no CS, 6, 7 */
	{0x08f, 0xfe, 0x00, 0x00}, /* group 1A: only POP */
	{0x0c6, 0xfe, 0x00, 0x00}, /* group 11: only MOV */
	{0x0c7, 0xfe, 0x00, 0x00},
	{0x0f6, 0x00, 0x00, 0x0c}, /* group 3: NOT NEG lockable */
	{0x0f7, 0x00, 0x00, 0x0c},
	{0x0fe, 0xfc, 0x00, 0x03}, /* group 4: INC DEC */
	{0x0ff, 0x80, 0x28, 0x03}, /* group 5: CALLF JMPF need memory */
	{0x100, 0xc0, 0x00, 0x00}, /* group 6 */
	{0x101, 0x20, 0x8f, 0x00}, /* group 7: SMSW /4 and LMSW /6 take registers */
	{0x1ba, 0x0f, 0x00, 0xe0}, /* group 8: /4-/7, BTS BTR BTC lockable */
	{0x1c7, 0xfd, 0x02, 0x02}, /* group 9: only CMPXCHG8B */
};

/* The rules of group opcode `op`; the shift groups (no rules) allow all. */
static struct grp_rule grp_rule_of(unsigned op)
{
	for (size_t i = 0; i < sizeof grp_rules / sizeof grp_rules[0]; i++)
		if (grp_rules[i].op == op)
			return grp_rules[i];
	return (struct grp_rule){(uint16_t)op, 0, 0, 0};
}

/* }====================================================================== */

/* {====== operand bytes ====== */

static const uint8_t base16[8] = {VX_EBX, VX_EBX, VX_EBP, VX_EBP, VX_ESI, VX_EDI, VX_EBP, VX_EBX};
static const uint8_t index16[8] = {VX_ESI, VX_EDI, VX_ESI, VX_EDI,
                                   VX_REG_NONE, VX_REG_NONE, VX_REG_NONE, VX_REG_NONE};

#define MODRM_MOD_REG 3 /* mod == 3: the r/m operand is a register */
#define RM_SIB 4        /* 32-bit: a SIB byte follows */
#define RM_DISP 5       /* 32-bit mod 0 (or SIB base 5 with mod 0): disp32, no base */
#define RM16_DISP 6     /* 16-bit mod 0: disp16, no base */

static uint32_t load_le(const uint8_t *p, int n)
{
	uint32_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t sext8(uint32_t v)
{
	return (v & 0x80) ? v | 0xffffff00u : v & 0xff;
}

static uint32_t sext16(uint32_t v)
{
	return (v & 0x8000) ? v | 0xffff0000u : v & 0xffff;
}

/* The displacement size of a 16-bit address form; fills base/index. */
static int modrm16(struct vx_insn *in)
{
	if (in->mod == 0 && in->rm == RM16_DISP)
		return 2;
	in->base = base16[in->rm];
	in->index = index16[in->rm];
	return in->mod == 1 ? 1 : in->mod == 2 ? 2 : 0;
}

/* The displacement size of a 32-bit address form; reads the SIB byte at
 * b[*p] if there is one. Returns -1 when the SIB byte is not available. */
static int modrm32(struct vx_insn *in, const uint8_t *b, unsigned n, unsigned *p)
{
	int dsz = in->mod == 1 ? 1 : in->mod == 2 ? 4 : 0;
	unsigned base = in->rm;
	if (in->rm == RM_SIB) {
		if (*p >= n)
			return -1;
		in->sib = b[(*p)++];
		in->scale = in->sib >> 6;
		unsigned idx = (in->sib >> 3) & 7;
		in->index = idx == VX_ESP ? VX_REG_NONE : (uint8_t)idx;
		base = in->sib & 7;
	}
	if (base == RM_DISP && in->mod == 0) {
		base = VX_REG_NONE;
		dsz = 4;
	}
	in->base = (uint8_t)base;
	return dsz;
}

/* ModRM, SIB and displacement at b[*p]. Returns false if the bytes run out. */
static bool decode_modrm(struct vx_insn *in, const uint8_t *b, unsigned n, unsigned *p)
{
	if (*p >= n)
		return false;
	in->modrm = b[(*p)++];
	in->mod = in->modrm >> 6;
	in->reg = (in->modrm >> 3) & 7;
	in->rm = in->modrm & 7;
	if (in->mod == MODRM_MOD_REG)
		return true;
	in->mem = true;
	int dsz = in->addrsize32 ? modrm32(in, b, n, p) : modrm16(in);
	if (dsz < 0 || *p + (unsigned)dsz > n)
		return false;
	uint32_t d = load_le(b + *p, dsz);
	in->disp = dsz == 1 ? sext8(d) : dsz == 2 ? sext16(d) : d;
	if (!in->addrsize32)
		in->disp &= 0xffff;
	*p += (unsigned)dsz;
	bool stack = in->base == VX_EBP || (in->addrsize32 && in->base == VX_ESP);
	if (in->seg_override == VX_SEG_NONE)
		in->seg = stack ? VX_SS : VX_DS;
	return true;
}

/* Bytes of immediate data of kind `k`. */
static unsigned imm_len(const struct vx_insn *in, int k)
{
	unsigned z = in->opsize32 ? 4 : 2;
	switch (k) {
	case IMM_B: case IMM_BS: return 1;
	case IMM_W: return 2;
	case IMM_Z: return z;
	case IMM_P: return z + 2;
	case IMM_O: return in->addrsize32 ? 4 : 2;
	case IMM_WB: return 3;
	case IMM_G3B: return in->reg <= 1 ? 1 : 0;
	case IMM_G3Z: return in->reg <= 1 ? z : 0;
	default: return 0;
	}
}

static void decode_imm(struct vx_insn *in, int k, const uint8_t *b)
{
	unsigned z = in->opsize32 ? 4 : 2;
	switch (k) {
	case IMM_B: case IMM_G3B: in->imm = b[0]; break;
	case IMM_BS: in->imm = sext8(b[0]); break;
	case IMM_W: in->imm = load_le(b, 2); break;
	case IMM_Z: case IMM_G3Z:
		in->imm = z == 4 ? load_le(b, 4) : sext16(load_le(b, 2));
		break;
	case IMM_P:
		in->imm = load_le(b, (int)z);
		in->imm2 = load_le(b + z, 2);
		break;
	case IMM_O: in->disp = load_le(b, in->addrsize32 ? 4 : 2); break;
	case IMM_WB:
		in->imm = load_le(b, 2);
		in->imm2 = b[2];
		break;
	default: break;
	}
}

/* }====================================================================== */

/* {====== vx_decode ====== */

/* Applies prefix byte c. */
static void apply_prefix(struct vx_insn *in, uint8_t c)
{
	switch (c) {
	case 0x26: in->seg_override = VX_ES; break;
	case 0x2e: in->seg_override = VX_CS; break;
	case 0x36: in->seg_override = VX_SS; break;
	case 0x3e: in->seg_override = VX_DS; break;
	case 0x64: in->seg_override = VX_FS; break;
	case 0x65: in->seg_override = VX_GS; break;
	case 0x66: in->opsize32 = !in->code32; break;
	case 0x67: in->addrsize32 = !in->code32; break;
	case 0xf0: in->lock = true; break;
	default: in->rep = c; break; /* F2, F3: the last one wins */
	}
}

static void insn_clear(struct vx_insn *in, bool code32)
{
	uint8_t *p = (uint8_t *)in;
	for (size_t i = 0; i < sizeof *in; i++)
		p[i] = 0;
	in->code32 = in->opsize32 = in->addrsize32 = code32;
	in->seg_override = VX_SEG_NONE;
	in->seg = VX_DS;
	in->base = in->index = VX_REG_NONE;
}

/* #UD checks on a complete instruction of shape `sh`. */
static bool valid(const struct vx_insn *in, const struct shape *sh)
{
	if ((in->op > 0xff && !(sh->flags & S_DEF)) || ((sh->flags & S_MEM) && !in->mem))
		return false;
	bool lockable = (sh->flags & S_LOCK) != 0;
	if (sh->flags & S_GRP) {
		struct grp_rule g = grp_rule_of(in->op);
		unsigned bit = 1u << in->reg;
		if ((g.ud & bit) || ((g.mem & bit) && !in->mem))
			return false;
		lockable = (g.lock & bit) != 0;
	}
	return !in->lock || (lockable && in->mem);
}

int vx_decode(const uint8_t *b, unsigned n, bool code32, struct vx_insn *in)
{
	insn_clear(in, code32);
	unsigned p = 0;
	for (;; p++) {
		if (p >= VX_MAX_INSN_LEN)
			return VX_DECODE_TOO_LONG;
		if (p >= n)
			return VX_DECODE_SHORT;
		if (!(map1[b[p]].flags & S_PFX))
			break;
		apply_prefix(in, b[p]);
	}
	unsigned op = b[p++];
	const struct shape *sh = &map1[op];
	if (op == 0x0f) {
		if (p >= VX_MAX_INSN_LEN)
			return VX_DECODE_TOO_LONG;
		if (p >= n)
			return VX_DECODE_SHORT;
		op = 0x100 | b[p++];
		sh = &map2[op & 0xff];
	}
	in->op = (uint16_t)op;
	if (in->seg_override != VX_SEG_NONE)
		in->seg = in->seg_override;
	in->has_modrm = (sh->flags & S_M) != 0;
	if (op >= 0x120 && op <= 0x123) {
		/* MOV to/from CR/DR: mod is ignored, the operands are registers. */
		if (p >= VX_MAX_INSN_LEN)
			return VX_DECODE_TOO_LONG;
		if (p >= n)
			return VX_DECODE_SHORT;
		in->modrm = b[p++];
		in->mod = MODRM_MOD_REG;
		in->reg = (in->modrm >> 3) & 7;
		in->rm = in->modrm & 7;
	} else if (in->has_modrm && !decode_modrm(in, b, n, &p)) {
		return n >= VX_MAX_INSN_LEN ? VX_DECODE_TOO_LONG : VX_DECODE_SHORT;
	}
	unsigned isz = imm_len(in, sh->imm);
	if (p + isz > VX_MAX_INSN_LEN)
		return VX_DECODE_TOO_LONG;
	if (p + isz > n)
		return VX_DECODE_SHORT;
	if (isz > 0)
		decode_imm(in, sh->imm, b + p);
	in->len = (uint8_t)(p + isz);
	return valid(in, sh) ? in->len : VX_DECODE_UD;
}

/* }====================================================================== */
