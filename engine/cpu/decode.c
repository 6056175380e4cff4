/*
 * decode.c - the instruction decoder and the opcode registry.
 *
 * cpu_decode() turns bytes into a struct insn: prefixes, opcode, ModRM, SIB,
 * displacement, immediates, effective sizes and segment, and the handler.
 * The shape of every opcode (has ModRM? which immediate? valid at all?) is in
 * the two tables below, one row per opcode with the manual's notation; the
 * handlers live in one file per instruction family and register themselves
 * through cpu_set_op()/cpu_set_grp().
 *
 * Operand notation (Intel SDM Vol. 2, Appendix A): E = ModRM r/m, G = ModRM
 * reg, I = immediate, J = relative offset, O = moffs, A = far pointer,
 * b/w/d/v/z = byte/word/dword/word-or-dword/word-or-dword immediate.
 */
#include "cpu_int.h"

/* {====== opcode shapes ====== */

enum imm_kind {
	I_NONE,
	I_B,   /* imm8 */
	I_BS,  /* imm8 sign-extended (also rel8) */
	I_W,   /* imm16 */
	I_Z,   /* imm16 or imm32 by operand size (also rel16/32) */
	I_P,   /* far pointer: offset16/32 then selector16 */
	I_O,   /* moffs: 16 or 32 bits by address size */
	I_WB,  /* ENTER: imm16 then imm8 */
	I_G3B, /* group 3 byte: imm8 only for /0 and /1 (TEST) */
	I_G3Z, /* group 3: immz only for /0 and /1 (TEST) */
};

#define M 0x01     /* has ModRM */
#define UD 0x02    /* undefined: #UD */
#define PFX 0x04   /* a prefix byte */
#define MEM 0x08   /* ModRM must name memory (mod != 3) */
#define GRP 0x10   /* handler chosen by ModRM.reg */
#define LOCKOK 0x20 /* LOCK allowed with a memory destination */

struct shape {
	uint8_t flags;
	uint8_t imm;
	uint8_t grp_ud;   /* for GRP: bit r set = /r undefined */
	uint8_t grp_mem;  /* for GRP: bit r set = /r needs memory */
	uint8_t grp_lock; /* for GRP: bit r set = /r may take LOCK */
};

#define ALU_ROWS(base)                                                                             \
	[base + 0] = {M | LOCKOK, I_NONE, 0, 0, 0}, /* op Eb,Gb */                                 \
	[base + 1] = {M | LOCKOK, I_NONE, 0, 0, 0}, /* op Ev,Gv */                                 \
	[base + 2] = {M, I_NONE, 0, 0, 0},          /* op Gb,Eb */                                 \
	[base + 3] = {M, I_NONE, 0, 0, 0},          /* op Gv,Ev */                                 \
	[base + 4] = {0, I_B, 0, 0, 0},             /* op AL,Ib */                                 \
	[base + 5] = {0, I_Z, 0, 0, 0}              /* op eAX,Iz */

static const struct shape shape1[256] = {
	ALU_ROWS(0x00),                     /* ADD */
	[0x06] = {0, I_NONE, 0, 0, 0},      /* PUSH ES */
	[0x07] = {0, I_NONE, 0, 0, 0},      /* POP ES */
	ALU_ROWS(0x08),                     /* OR */
	[0x0e] = {0, I_NONE, 0, 0, 0},      /* PUSH CS */
	[0x0f] = {0, I_NONE, 0, 0, 0},      /* two-byte escape */
	ALU_ROWS(0x10),                     /* ADC */
	[0x16] = {0, I_NONE, 0, 0, 0},      /* PUSH SS */
	[0x17] = {0, I_NONE, 0, 0, 0},      /* POP SS */
	ALU_ROWS(0x18),                     /* SBB */
	[0x1e] = {0, I_NONE, 0, 0, 0},      /* PUSH DS */
	[0x1f] = {0, I_NONE, 0, 0, 0},      /* POP DS */
	ALU_ROWS(0x20),                     /* AND */
	[0x26] = {PFX, I_NONE, 0, 0, 0},    /* ES: */
	[0x27] = {0, I_NONE, 0, 0, 0},      /* DAA */
	ALU_ROWS(0x28),                     /* SUB */
	[0x2e] = {PFX, I_NONE, 0, 0, 0},    /* CS: */
	[0x2f] = {0, I_NONE, 0, 0, 0},      /* DAS */
	ALU_ROWS(0x30),                     /* XOR */
	[0x36] = {PFX, I_NONE, 0, 0, 0},    /* SS: */
	[0x37] = {0, I_NONE, 0, 0, 0},      /* AAA */
	[0x38] = {M, I_NONE, 0, 0, 0},      /* CMP Eb,Gb */
	[0x39] = {M, I_NONE, 0, 0, 0},      /* CMP Ev,Gv */
	[0x3a] = {M, I_NONE, 0, 0, 0},      /* CMP Gb,Eb */
	[0x3b] = {M, I_NONE, 0, 0, 0},      /* CMP Gv,Ev */
	[0x3c] = {0, I_B, 0, 0, 0},         /* CMP AL,Ib */
	[0x3d] = {0, I_Z, 0, 0, 0},         /* CMP eAX,Iz */
	[0x3e] = {PFX, I_NONE, 0, 0, 0},    /* DS: */
	[0x3f] = {0, I_NONE, 0, 0, 0},      /* AAS */
	/* 0x40-0x5f: INC/DEC/PUSH/POP r, no operands bytes (filled by default) */
	[0x60] = {0, I_NONE, 0, 0, 0},      /* PUSHA/PUSHAD */
	[0x61] = {0, I_NONE, 0, 0, 0},      /* POPA/POPAD */
	[0x62] = {M | MEM, I_NONE, 0, 0, 0}, /* BOUND Gv,Ma */
	[0x63] = {M, I_NONE, 0, 0, 0},      /* ARPL Ew,Gw */
	[0x64] = {PFX, I_NONE, 0, 0, 0},    /* FS: */
	[0x65] = {PFX, I_NONE, 0, 0, 0},    /* GS: */
	[0x66] = {PFX, I_NONE, 0, 0, 0},    /* operand-size override */
	[0x67] = {PFX, I_NONE, 0, 0, 0},    /* address-size override */
	[0x68] = {0, I_Z, 0, 0, 0},         /* PUSH Iz */
	[0x69] = {M, I_Z, 0, 0, 0},         /* IMUL Gv,Ev,Iz */
	[0x6a] = {0, I_BS, 0, 0, 0},        /* PUSH Ib */
	[0x6b] = {M, I_BS, 0, 0, 0},        /* IMUL Gv,Ev,Ib */
	[0x6c] = {0, I_NONE, 0, 0, 0},      /* INSB */
	[0x6d] = {0, I_NONE, 0, 0, 0},      /* INSW/INSD */
	[0x6e] = {0, I_NONE, 0, 0, 0},      /* OUTSB */
	[0x6f] = {0, I_NONE, 0, 0, 0},      /* OUTSW/OUTSD */
	/* 0x70-0x7f: Jcc Jb (filled below) */
	[0x80] = {M | GRP, I_B, 0, 0, 0x7f},   /* group 1 Eb,Ib */
	[0x81] = {M | GRP, I_Z, 0, 0, 0x7f},   /* group 1 Ev,Iz */
	[0x82] = {M | GRP, I_B, 0, 0, 0x7f},   /* group 1 Eb,Ib (alias of 80) */
	[0x83] = {M | GRP, I_BS, 0, 0, 0x7f},  /* group 1 Ev,Ib */
	[0x84] = {M, I_NONE, 0, 0, 0},      /* TEST Eb,Gb */
	[0x85] = {M, I_NONE, 0, 0, 0},      /* TEST Ev,Gv */
	[0x86] = {M | LOCKOK, I_NONE, 0, 0, 0}, /* XCHG Eb,Gb */
	[0x87] = {M | LOCKOK, I_NONE, 0, 0, 0}, /* XCHG Ev,Gv */
	[0x88] = {M, I_NONE, 0, 0, 0},      /* MOV Eb,Gb */
	[0x89] = {M, I_NONE, 0, 0, 0},      /* MOV Ev,Gv */
	[0x8a] = {M, I_NONE, 0, 0, 0},      /* MOV Gb,Eb */
	[0x8b] = {M, I_NONE, 0, 0, 0},      /* MOV Gv,Ev */
	[0x8c] = {M | GRP, I_NONE, 0xc0, 0, 0}, /* MOV Ev,Sw (Sw = reg, 6-7 undefined) */
	[0x8d] = {M | MEM, I_NONE, 0, 0, 0}, /* LEA Gv,M */
	[0x8e] = {M | GRP, I_NONE, 0xc2, 0, 0}, /* MOV Sw,Ew (CS and 6-7 undefined) */
	[0x8f] = {M | GRP, I_NONE, 0xfe, 0, 0}, /* group 1A: POP Ev */
	/* 0x90-0x97: NOP, XCHG r,eAX */
	[0x98] = {0, I_NONE, 0, 0, 0},      /* CBW/CWDE */
	[0x99] = {0, I_NONE, 0, 0, 0},      /* CWD/CDQ */
	[0x9a] = {0, I_P, 0, 0, 0},         /* CALL Ap */
	[0x9b] = {0, I_NONE, 0, 0, 0},      /* WAIT */
	[0x9c] = {0, I_NONE, 0, 0, 0},      /* PUSHF */
	[0x9d] = {0, I_NONE, 0, 0, 0},      /* POPF */
	[0x9e] = {0, I_NONE, 0, 0, 0},      /* SAHF */
	[0x9f] = {0, I_NONE, 0, 0, 0},      /* LAHF */
	[0xa0] = {0, I_O, 0, 0, 0},         /* MOV AL,Ob */
	[0xa1] = {0, I_O, 0, 0, 0},         /* MOV eAX,Ov */
	[0xa2] = {0, I_O, 0, 0, 0},         /* MOV Ob,AL */
	[0xa3] = {0, I_O, 0, 0, 0},         /* MOV Ov,eAX */
	/* 0xa4-0xa7, 0xaa-0xaf: string instructions */
	[0xa8] = {0, I_B, 0, 0, 0},         /* TEST AL,Ib */
	[0xa9] = {0, I_Z, 0, 0, 0},         /* TEST eAX,Iz */
	/* 0xb0-0xbf: MOV r,I (filled below) */
	[0xc0] = {M | GRP, I_B, 0, 0, 0},   /* group 2 Eb,Ib */
	[0xc1] = {M | GRP, I_B, 0, 0, 0},   /* group 2 Ev,Ib */
	[0xc2] = {0, I_W, 0, 0, 0},         /* RET Iw */
	[0xc3] = {0, I_NONE, 0, 0, 0},      /* RET */
	[0xc4] = {M | MEM, I_NONE, 0, 0, 0}, /* LES Gv,Mp */
	[0xc5] = {M | MEM, I_NONE, 0, 0, 0}, /* LDS Gv,Mp */
	[0xc6] = {M | GRP, I_B, 0xfe, 0, 0}, /* group 11: MOV Eb,Ib */
	[0xc7] = {M | GRP, I_Z, 0xfe, 0, 0}, /* group 11: MOV Ev,Iz */
	[0xc8] = {0, I_WB, 0, 0, 0},        /* ENTER Iw,Ib */
	[0xc9] = {0, I_NONE, 0, 0, 0},      /* LEAVE */
	[0xca] = {0, I_W, 0, 0, 0},         /* RETF Iw */
	[0xcb] = {0, I_NONE, 0, 0, 0},      /* RETF */
	[0xcc] = {0, I_NONE, 0, 0, 0},      /* INT3 */
	[0xcd] = {0, I_B, 0, 0, 0},         /* INT Ib */
	[0xce] = {0, I_NONE, 0, 0, 0},      /* INTO */
	[0xcf] = {0, I_NONE, 0, 0, 0},      /* IRET/IRETD */
	[0xd0] = {M | GRP, I_NONE, 0, 0, 0}, /* group 2 Eb,1 */
	[0xd1] = {M | GRP, I_NONE, 0, 0, 0}, /* group 2 Ev,1 */
	[0xd2] = {M | GRP, I_NONE, 0, 0, 0}, /* group 2 Eb,CL */
	[0xd3] = {M | GRP, I_NONE, 0, 0, 0}, /* group 2 Ev,CL */
	[0xd4] = {0, I_B, 0, 0, 0},         /* AAM Ib */
	[0xd5] = {0, I_B, 0, 0, 0},         /* AAD Ib */
	[0xd6] = {0, I_NONE, 0, 0, 0},      /* SALC (undocumented, present on every Intel CPU) */
	[0xd7] = {0, I_NONE, 0, 0, 0},      /* XLAT */
	/* 0xd8-0xdf: x87 escapes, ModRM (filled below) */
	[0xe0] = {0, I_BS, 0, 0, 0},        /* LOOPNE Jb */
	[0xe1] = {0, I_BS, 0, 0, 0},        /* LOOPE Jb */
	[0xe2] = {0, I_BS, 0, 0, 0},        /* LOOP Jb */
	[0xe3] = {0, I_BS, 0, 0, 0},        /* JCXZ/JECXZ Jb */
	[0xe4] = {0, I_B, 0, 0, 0},         /* IN AL,Ib */
	[0xe5] = {0, I_B, 0, 0, 0},         /* IN eAX,Ib */
	[0xe6] = {0, I_B, 0, 0, 0},         /* OUT Ib,AL */
	[0xe7] = {0, I_B, 0, 0, 0},         /* OUT Ib,eAX */
	[0xe8] = {0, I_Z, 0, 0, 0},         /* CALL Jz */
	[0xe9] = {0, I_Z, 0, 0, 0},         /* JMP Jz */
	[0xea] = {0, I_P, 0, 0, 0},         /* JMP Ap */
	[0xeb] = {0, I_BS, 0, 0, 0},        /* JMP Jb */
	[0xec] = {0, I_NONE, 0, 0, 0},      /* IN AL,DX */
	[0xed] = {0, I_NONE, 0, 0, 0},      /* IN eAX,DX */
	[0xee] = {0, I_NONE, 0, 0, 0},      /* OUT DX,AL */
	[0xef] = {0, I_NONE, 0, 0, 0},      /* OUT DX,eAX */
	[0xf0] = {PFX, I_NONE, 0, 0, 0},    /* LOCK */
	[0xf1] = {0, I_NONE, 0, 0, 0},      /* INT1 (ICEBP) */
	[0xf2] = {PFX, I_NONE, 0, 0, 0},    /* REPNE */
	[0xf3] = {PFX, I_NONE, 0, 0, 0},    /* REP/REPE */
	[0xf4] = {0, I_NONE, 0, 0, 0},      /* HLT */
	[0xf5] = {0, I_NONE, 0, 0, 0},      /* CMC */
	[0xf6] = {M | GRP, I_G3B, 0, 0, 0x0c}, /* group 3 Eb */
	[0xf7] = {M | GRP, I_G3Z, 0, 0, 0x0c}, /* group 3 Ev */
	[0xf8] = {0, I_NONE, 0, 0, 0},      /* CLC */
	[0xf9] = {0, I_NONE, 0, 0, 0},      /* STC */
	[0xfa] = {0, I_NONE, 0, 0, 0},      /* CLI */
	[0xfb] = {0, I_NONE, 0, 0, 0},      /* STI */
	[0xfc] = {0, I_NONE, 0, 0, 0},      /* CLD */
	[0xfd] = {0, I_NONE, 0, 0, 0},      /* STD */
	[0xfe] = {M | GRP, I_NONE, 0xfc, 0, 0x03}, /* group 4: INC/DEC Eb */
	[0xff] = {M | GRP, I_NONE, 0x80, 0x28, 0x03}, /* group 5: INC DEC CALL CALLF JMP JMPF PUSH */
};

static const struct shape shape2[256] = {
	[0x00] = {M | GRP, I_NONE, 0xc0, 0, 0}, /* group 6: SLDT STR LLDT LTR VERR VERW */
	[0x01] = {M | GRP, I_NONE, 0x20, 0x8f, 0}, /* group 7: SGDT SIDT LGDT LIDT SMSW - LMSW INVLPG */
	[0x02] = {M, I_NONE, 0, 0, 0},      /* LAR Gv,Ew */
	[0x03] = {M, I_NONE, 0, 0, 0},      /* LSL Gv,Ew */
	[0x06] = {0, I_NONE, 0, 0, 0},      /* CLTS */
	[0x08] = {0, I_NONE, 0, 0, 0},      /* INVD */
	[0x09] = {0, I_NONE, 0, 0, 0},      /* WBINVD */
	[0x0b] = {0, I_NONE, 0, 0, 0},      /* UD2 */
	/* 0x18-0x1f: hint NOP Ev (filled below) */
	[0x20] = {M, I_NONE, 0, 0, 0},      /* MOV Rd,Cd */
	[0x21] = {M, I_NONE, 0, 0, 0},      /* MOV Rd,Dd */
	[0x22] = {M, I_NONE, 0, 0, 0},      /* MOV Cd,Rd */
	[0x23] = {M, I_NONE, 0, 0, 0},      /* MOV Dd,Rd */
	[0x30] = {0, I_NONE, 0, 0, 0},      /* WRMSR */
	[0x31] = {0, I_NONE, 0, 0, 0},      /* RDTSC */
	[0x32] = {0, I_NONE, 0, 0, 0},      /* RDMSR */
	[0x33] = {0, I_NONE, 0, 0, 0},      /* RDPMC */
	/* 0x40-0x4f CMOVcc Gv,Ev; 0x80-0x8f Jcc Jz; 0x90-0x9f SETcc Eb (filled below) */
	[0xa0] = {0, I_NONE, 0, 0, 0},      /* PUSH FS */
	[0xa1] = {0, I_NONE, 0, 0, 0},      /* POP FS */
	[0xa2] = {0, I_NONE, 0, 0, 0},      /* CPUID */
	[0xa3] = {M, I_NONE, 0, 0, 0},      /* BT Ev,Gv */
	[0xa4] = {M, I_B, 0, 0, 0},         /* SHLD Ev,Gv,Ib */
	[0xa5] = {M, I_NONE, 0, 0, 0},      /* SHLD Ev,Gv,CL */
	[0xa8] = {0, I_NONE, 0, 0, 0},      /* PUSH GS */
	[0xa9] = {0, I_NONE, 0, 0, 0},      /* POP GS */
	[0xaa] = {0, I_NONE, 0, 0, 0},      /* RSM (#UD outside SMM) */
	[0xab] = {M | LOCKOK, I_NONE, 0, 0, 0}, /* BTS Ev,Gv */
	[0xac] = {M, I_B, 0, 0, 0},         /* SHRD Ev,Gv,Ib */
	[0xad] = {M, I_NONE, 0, 0, 0},      /* SHRD Ev,Gv,CL */
	[0xaf] = {M, I_NONE, 0, 0, 0},      /* IMUL Gv,Ev */
	[0xb0] = {M | LOCKOK, I_NONE, 0, 0, 0}, /* CMPXCHG Eb,Gb */
	[0xb1] = {M | LOCKOK, I_NONE, 0, 0, 0}, /* CMPXCHG Ev,Gv */
	[0xb2] = {M | MEM, I_NONE, 0, 0, 0}, /* LSS Gv,Mp */
	[0xb3] = {M | LOCKOK, I_NONE, 0, 0, 0}, /* BTR Ev,Gv */
	[0xb4] = {M | MEM, I_NONE, 0, 0, 0}, /* LFS Gv,Mp */
	[0xb5] = {M | MEM, I_NONE, 0, 0, 0}, /* LGS Gv,Mp */
	[0xb6] = {M, I_NONE, 0, 0, 0},      /* MOVZX Gv,Eb */
	[0xb7] = {M, I_NONE, 0, 0, 0},      /* MOVZX Gv,Ew */
	[0xb9] = {M, I_NONE, 0, 0, 0},      /* UD1 Gv,Ev */
	[0xba] = {M | GRP, I_B, 0x0f, 0, 0xe0}, /* group 8: BT BTS BTR BTC Ev,Ib */
	[0xbb] = {M | LOCKOK, I_NONE, 0, 0, 0}, /* BTC Ev,Gv */
	[0xbc] = {M, I_NONE, 0, 0, 0},      /* BSF Gv,Ev */
	[0xbd] = {M, I_NONE, 0, 0, 0},      /* BSR Gv,Ev */
	[0xbe] = {M, I_NONE, 0, 0, 0},      /* MOVSX Gv,Eb */
	[0xbf] = {M, I_NONE, 0, 0, 0},      /* MOVSX Gv,Ew */
	[0xc0] = {M | LOCKOK, I_NONE, 0, 0, 0}, /* XADD Eb,Gb */
	[0xc1] = {M | LOCKOK, I_NONE, 0, 0, 0}, /* XADD Ev,Gv */
	[0xc7] = {M | GRP, I_NONE, 0xfd, 0x02, 0x02}, /* group 9: CMPXCHG8B Mq */
	/* 0xc8-0xcf: BSWAP r (filled below) */
};

/* Rows that are runs of identical shapes, and the undefined rows, are
 * filled once at start-up from these ranges. */
static struct shape shape1_full[256], shape2_full[256];

static void shapes_init(void)
{
	memcpy(shape1_full, shape1, sizeof shape1);
	memcpy(shape2_full, shape2, sizeof shape2);
	for (int op = 0x70; op <= 0x7f; op++)
		shape1_full[op] = (struct shape){0, I_BS, 0, 0, 0}; /* Jcc Jb */
	for (int op = 0xb0; op <= 0xb7; op++)
		shape1_full[op] = (struct shape){0, I_B, 0, 0, 0}; /* MOV r8,Ib */
	for (int op = 0xb8; op <= 0xbf; op++)
		shape1_full[op] = (struct shape){0, I_Z, 0, 0, 0}; /* MOV r,Iz */
	for (int op = 0xd8; op <= 0xdf; op++)
		shape1_full[op] = (struct shape){M, I_NONE, 0, 0, 0}; /* ESC (x87) */
	for (int op = 0x18; op <= 0x1f; op++)
		shape2_full[op] = (struct shape){M, I_NONE, 0, 0, 0}; /* hint NOP Ev */
	for (int op = 0x40; op <= 0x4f; op++)
		shape2_full[op] = (struct shape){M, I_NONE, 0, 0, 0}; /* CMOVcc Gv,Ev */
	for (int op = 0x80; op <= 0x8f; op++)
		shape2_full[op] = (struct shape){0, I_Z, 0, 0, 0}; /* Jcc Jz */
	for (int op = 0x90; op <= 0x9f; op++)
		shape2_full[op] = (struct shape){M, I_NONE, 0, 0, 0}; /* SETcc Eb */
	for (int op = 0xc8; op <= 0xcf; op++)
		shape2_full[op] = (struct shape){0, I_NONE, 0, 0, 0}; /* BSWAP r */
	/* Everything of the two-byte map not listed is undefined on this CPU. */
	static const uint8_t defined2[] = {0x00, 0x01, 0x02, 0x03, 0x06, 0x08, 0x09, 0x0b, 0x20, 0x21,
	                                   0x22, 0x23, 0x30, 0x31, 0x32, 0x33, 0xa0, 0xa1, 0xa2, 0xa3,
	                                   0xa4, 0xa5, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xaf, 0xb0,
	                                   0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb9, 0xba, 0xbb,
	                                   0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc7};
	bool def[256] = {false};
	for (size_t i = 0; i < sizeof defined2; i++)
		def[defined2[i]] = true;
	for (int op = 0; op < 256; op++) {
		bool ranged = (op >= 0x18 && op <= 0x1f) || (op >= 0x40 && op <= 0x4f) ||
		              (op >= 0x80 && op <= 0x9f) || (op >= 0xc8 && op <= 0xcf);
		if (!def[op] && !ranged)
			shape2_full[op] = (struct shape){UD, I_NONE, 0, 0, 0};
	}
	/* INC/DEC/PUSH/POP r and XCHG r,eAX carry no operand bytes: the zero
	 * rows already say so. */
}

/* }====================================================================== */

/* {====== the handler registry ====== */

static cpu_op_fn optab[512];
static cpu_op_fn grptab[512][8];

void cpu_set_op(int op, cpu_op_fn fn)
{
	CPU_ASSERT(op >= 0 && op < 512);
	optab[op] = fn;
}

void cpu_set_grp(int op, int reg, cpu_op_fn fn)
{
	CPU_ASSERT(op >= 0 && op < 512 && reg >= 0 && reg < 8);
	grptab[op][reg] = fn;
}

/* Specialized handlers for the 32-bit operand size register forms (see
 * cpu_set_fast); NULL where the generic handler is used. */
static cpu_op_fn fasttab[512];
static cpu_op_fn fastgrp[512][8];

void cpu_set_fast(int op, cpu_op_fn fn)
{
	CPU_ASSERT(op >= 0 && op < 512);
	fasttab[op] = fn;
}

void cpu_set_fast_grp(int op, int reg, cpu_op_fn fn)
{
	CPU_ASSERT(op >= 0 && op < 512 && reg >= 0 && reg < 8);
	fastgrp[op][reg] = fn;
}

/* ... and for their memory forms with 32-bit addressing (cpu_set_fast_mem). */
static cpu_op_fn fastmem[512];

void cpu_set_fast_mem(int op, cpu_op_fn fn)
{
	CPU_ASSERT(op >= 0 && op < 512);
	fastmem[op] = fn;
}

/* The handler for a validated decode: the specialized one when the form
 * qualifies (32-bit operand size, no LOCK, and no memory operand, or one
 * with 32-bit addressing for cpu_set_fast_mem), else the generic one. */
static cpu_op_fn pick_handler(const struct insn *in, int op, bool grp)
{
	if (in->opsize32 && !in->lock && (!in->has_modrm || in->mod == 3)) {
		cpu_op_fn fast = grp ? fastgrp[op][in->reg] : fasttab[op];
		if (fast)
			return fast;
	}
	if (in->opsize32 && in->addrsize32 && !in->lock && in->has_modrm && in->mod != 3 && !grp &&
	    fastmem[op])
		return fastmem[op];
	return grp ? grptab[op][in->reg] : optab[op];
}

/* Opcodes with no handler yet raise #UD like an undefined one would. */
static void op_undefined(struct cpu *cpu, const struct insn *in);

cpu_op_fn cpu_generic_handler(const struct insn *in)
{
	const struct shape *sh = in->op & 0x100 ? &shape2_full[in->op & 0xff] : &shape1_full[in->op];
	cpu_op_fn fn = (sh->flags & GRP) ? grptab[in->op][in->reg] : optab[in->op];
	return fn ? fn : op_undefined;
}

/* Opcodes with no handler yet raise #UD like an undefined one would. */
static void op_undefined(struct cpu *cpu, const struct insn *in)
{
	(void)in;
	cpu_ud(cpu);
}

static bool registry_ready;

static void registry_init(void)
{
	if (registry_ready)
		return;
	shapes_init();
	alu_register();
	shift_register();
	muldiv_register();
	bcd_register();
	bit_register();
	mov_register();
	stack_register();
	ctrl_register();
	string_register();
	io_register();
	sys_register();
	misc_register();
	registry_ready = true;
}

/* Called by cpu_new(); idempotent. */
void cpu_decode_init(void);
void cpu_decode_init(void)
{
	registry_init();
}

/* }====================================================================== */

/* {====== cpu_decode ====== */

static const uint8_t modrm16_base[8] = {EBX, EBX, EBP, EBP, ESI, EDI, EBP, EBX};
static const uint8_t modrm16_index[8] = {ESI, EDI, ESI, EDI, REG_NONE, REG_NONE, REG_NONE, REG_NONE};

static uint32_t fetch_le(const uint8_t *p, int n)
{
	uint32_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* Decodes ModRM (+SIB, displacement) at b[*pos]. Returns false if short. */
static bool decode_modrm(struct insn *in, const uint8_t *b, size_t n, size_t *pos)
{
	size_t p = *pos;
	if (p >= n)
		return false;
	in->modrm = b[p++];
	in->mod = in->modrm >> 6;
	in->reg = (in->modrm >> 3) & 7;
	in->rm = in->modrm & 7;
	in->base = in->index = REG_NONE;
	in->scale = 0;
	in->disp = 0;
	bool ss = false; /* default segment is SS */
	int dsz = 0;
	if (in->mod == 3) {
		*pos = p;
		return true;
	}
	if (!in->addrsize32) {
		if (in->mod == 0 && in->rm == 6) {
			dsz = 2;
		} else {
			in->base = modrm16_base[in->rm];
			in->index = modrm16_index[in->rm];
			ss = in->base == EBP;
			dsz = in->mod == 1 ? 1 : in->mod == 2 ? 2 : 0;
		}
	} else {
		int base = in->rm;
		if (in->rm == 4) {
			if (p >= n)
				return false;
			in->sib = b[p++];
			in->scale = in->sib >> 6;
			int idx = (in->sib >> 3) & 7;
			in->index = idx == 4 ? REG_NONE : (uint8_t)idx;
			base = in->sib & 7;
			if (base == 5 && in->mod == 0) {
				dsz = 4;
				base = REG_NONE;
			}
		} else if (in->rm == 5 && in->mod == 0) {
			dsz = 4;
			base = REG_NONE;
		}
		in->base = (uint8_t)base;
		ss = base == ESP || base == EBP;
		if (in->mod == 1)
			dsz = 1;
		else if (in->mod == 2)
			dsz = 4;
	}
	if (p + dsz > n)
		return false;
	if (dsz == 1)
		in->disp = (uint32_t)(int32_t)(int8_t)b[p];
	else if (dsz == 2)
		in->disp = (uint32_t)(int32_t)(int16_t)fetch_le(b + p, 2);
	else if (dsz == 4)
		in->disp = fetch_le(b + p, 4);
	p += dsz;
	if (!in->addrsize32)
		in->disp &= 0xffff;
	if (in->seg_override == SEG_NONE)
		in->seg = ss ? SEG_SS : SEG_DS;
	*pos = p;
	return true;
}

static int imm_size(const struct insn *in, int kind)
{
	int z = in->opsize32 ? 4 : 2;
	switch (kind) {
	case I_B:
	case I_BS:
		return 1;
	case I_W:
		return 2;
	case I_Z:
		return z;
	case I_P:
		return z + 2;
	case I_O:
		return in->addrsize32 ? 4 : 2;
	case I_WB:
		return 3;
	case I_G3B:
		return in->reg <= 1 ? 1 : 0;
	case I_G3Z:
		return in->reg <= 1 ? z : 0;
	default:
		return 0;
	}
}

static void decode_imm(struct insn *in, int kind, const uint8_t *b)
{
	int z = in->opsize32 ? 4 : 2;
	switch (kind) {
	case I_B:
	case I_G3B:
		in->imm = b[0];
		break;
	case I_BS:
		in->imm = (uint32_t)(int32_t)(int8_t)b[0];
		break;
	case I_W:
		in->imm = fetch_le(b, 2);
		break;
	case I_Z:
	case I_G3Z:
		in->imm = fetch_le(b, z);
		if (z == 2)
			in->imm = (uint32_t)(int32_t)(int16_t)in->imm;
		break;
	case I_P:
		in->imm = fetch_le(b, z);
		in->imm2 = fetch_le(b + z, 2);
		break;
	case I_O:
		in->disp = fetch_le(b, in->addrsize32 ? 4 : 2);
		break;
	case I_WB:
		in->imm = fetch_le(b, 2);
		in->imm2 = b[2];
		break;
	default:
		break;
	}
}

int cpu_decode(const uint8_t *b, size_t n, bool code32, struct insn *in)
{
	if (!registry_ready)
		registry_init();
	memset(in, 0, sizeof *in);
	in->seg_override = SEG_NONE;
	in->seg = SEG_DS;
	in->opsize32 = code32;
	in->addrsize32 = code32;
	size_t p = 0;
	const struct shape *sh;
	int op;
	/* Prefixes: any number, the last of each group wins. */
	for (;;) {
		if (p >= 15)
			return DECODE_TOO_LONG;
		if (p >= n)
			return DECODE_SHORT;
		uint8_t c = b[p];
		if (!(shape1_full[c].flags & PFX))
			break;
		p++;
		switch (c) {
		case 0x26: in->seg_override = SEG_ES; break;
		case 0x2e: in->seg_override = SEG_CS; break;
		case 0x36: in->seg_override = SEG_SS; break;
		case 0x3e: in->seg_override = SEG_DS; break;
		case 0x64: in->seg_override = SEG_FS; break;
		case 0x65: in->seg_override = SEG_GS; break;
		case 0x66: in->opsize32 = !code32; break;
		case 0x67: in->addrsize32 = !code32; break;
		case 0xf0: in->lock = true; break;
		case 0xf2: in->rep = PREFIX_REPNE; break;
		case 0xf3: in->rep = PREFIX_REP; break;
		}
	}
	op = b[p++];
	sh = &shape1_full[op];
	if (op == 0x0f) {
		if (p >= 15)
			return DECODE_TOO_LONG;
		if (p >= n)
			return DECODE_SHORT;
		op = 0x100 | b[p++];
		sh = &shape2_full[op & 0xff];
	}
	in->op = (uint16_t)op;
	if (in->seg_override != SEG_NONE)
		in->seg = in->seg_override;
	in->has_modrm = (sh->flags & M) != 0;
	if (op >= 0x120 && op <= 0x123) {
		/* MOV to/from CR/DR: the mod field is ignored, always registers. */
		if (p >= 15)
			return DECODE_TOO_LONG;
		if (p >= n)
			return DECODE_SHORT;
		in->modrm = b[p++];
		in->mod = 3;
		in->reg = (in->modrm >> 3) & 7;
		in->rm = in->modrm & 7;
		in->base = in->index = REG_NONE;
	} else if (in->has_modrm && !decode_modrm(in, b, n, &p)) {
		return n >= 15 ? DECODE_TOO_LONG : DECODE_SHORT;
	}
	int isz = imm_size(in, sh->imm);
	if (p + isz > 15)
		return DECODE_TOO_LONG;
	if (p + isz > n)
		return DECODE_SHORT;
	if (isz > 0)
		decode_imm(in, sh->imm, b + p);
	p += isz;
	if (p > 15)
		return DECODE_TOO_LONG;
	in->len = (uint8_t)p;
	/* Validity: undefined opcode, group member, register form, LOCK. */
	if (sh->flags & UD)
		return DECODE_UD;
	if ((sh->flags & MEM) && in->mod == 3)
		return DECODE_UD;
	if (sh->flags & GRP) {
		if (sh->grp_ud & (1u << in->reg))
			return DECODE_UD;
		if ((sh->grp_mem & (1u << in->reg)) && in->mod == 3)
			return DECODE_UD;
	}
	if (in->lock) {
		bool ok = in->has_modrm && in->mod != 3 &&
		          ((sh->flags & GRP) ? (sh->grp_lock >> in->reg) & 1 : (sh->flags & LOCKOK) != 0);
		if (!ok)
			return DECODE_UD;
	}
	cpu_op_fn fn = pick_handler(in, op, (sh->flags & GRP) != 0);
	in->fn = fn ? fn : op_undefined;
	in->cost = (uint8_t)(1 + cycles_base(op, in->reg, in->has_modrm && in->mod != 3));
	return (int)p;
}

/* }====================================================================== */
