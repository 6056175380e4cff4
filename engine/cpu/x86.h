/*
 * x86.h - architectural constants, named after the Intel SDM and the
 * i386/i486 programmer's reference manuals.
 */
#ifndef NESTLAB_X86_H
#define NESTLAB_X86_H

/* General registers, in ModRM encoding order. */
enum { EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI };

/* EFLAGS */
#define EFLAGS_CF (1u << 0)
#define EFLAGS_1 (1u << 1) /* always 1 */
#define EFLAGS_PF (1u << 2)
#define EFLAGS_AF (1u << 4)
#define EFLAGS_ZF (1u << 6)
#define EFLAGS_SF (1u << 7)
#define EFLAGS_TF (1u << 8)
#define EFLAGS_IF (1u << 9)
#define EFLAGS_DF (1u << 10)
#define EFLAGS_OF (1u << 11)
#define EFLAGS_IOPL (3u << 12)
#define EFLAGS_IOPL_SHIFT 12
#define EFLAGS_NT (1u << 14)
#define EFLAGS_RF (1u << 16)
#define EFLAGS_VM (1u << 17)
#define EFLAGS_AC (1u << 18)
#define EFLAGS_VIF (1u << 19)
#define EFLAGS_VIP (1u << 20)
#define EFLAGS_ID (1u << 21)
#define EFLAGS_ARITH (EFLAGS_CF | EFLAGS_PF | EFLAGS_AF | EFLAGS_ZF | EFLAGS_SF | EFLAGS_OF)

/* CR0 */
#define CR0_PE (1u << 0)
#define CR0_MP (1u << 1)
#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR0_ET (1u << 4)
#define CR0_NE (1u << 5)
#define CR0_WP (1u << 16)
#define CR0_AM (1u << 18)
#define CR0_NW (1u << 29)
#define CR0_CD (1u << 30)
#define CR0_PG (1u << 31)

/* CR4 */
#define CR4_VME (1u << 0)
#define CR4_PVI (1u << 1)
#define CR4_TSD (1u << 2)
#define CR4_DE (1u << 3)
#define CR4_PSE (1u << 4)
#define CR4_PAE (1u << 5)
#define CR4_MCE (1u << 6)
#define CR4_PGE (1u << 7)
#define CR4_PCE (1u << 8)

/* Page directory and table entries */
#define PTE_P (1u << 0)
#define PTE_W (1u << 1)
#define PTE_U (1u << 2)
#define PTE_PWT (1u << 3)
#define PTE_PCD (1u << 4)
#define PTE_A (1u << 5)
#define PTE_D (1u << 6)
#define PTE_PS (1u << 7) /* in a PDE: 4 MiB page */
#define PTE_G (1u << 8)
#define PTE_FRAME 0xfffff000u
#define PDE_FRAME_4M 0xffc00000u

/* #PF error code */
#define PFEC_P (1u << 0)
#define PFEC_W (1u << 1)
#define PFEC_U (1u << 2)
#define PFEC_RSVD (1u << 3)
#define PFEC_I (1u << 4)

/* Exception vectors */
enum {
	EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5,
	EXC_UD = 6, EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12,
	EXC_GP = 13, EXC_PF = 14, EXC_MF = 16, EXC_AC = 17, EXC_MC = 18,
};

/*
 * Descriptor attribute bits as kept in struct seg.attr: bits 8..23 of the
 * descriptor's high dword, shifted down by 8.
 */
#define DESC_TYPE 0x000f
#define DESC_TYPE_A 0x0001      /* accessed (code/data) */
#define DESC_TYPE_W 0x0002      /* data: writable */
#define DESC_TYPE_R 0x0002      /* code: readable */
#define DESC_TYPE_E 0x0004      /* data: expand-down */
#define DESC_TYPE_C 0x0004      /* code: conforming */
#define DESC_TYPE_CODE 0x0008
#define DESC_S 0x0010           /* code or data (not system) */
#define DESC_DPL_SHIFT 5
#define DESC_DPL 0x0060
#define DESC_P 0x0080
#define DESC_AVL 0x1000
#define DESC_DB 0x4000          /* default operand size / big */
#define DESC_G 0x8000

/* System descriptor types (S = 0) */
enum {
	SYS_TSS16_AVAIL = 1, SYS_LDT = 2, SYS_TSS16_BUSY = 3, SYS_CALLGATE16 = 4,
	SYS_TASKGATE = 5, SYS_INTGATE16 = 6, SYS_TRAPGATE16 = 7,
	SYS_TSS32_AVAIL = 9, SYS_TSS32_BUSY = 11, SYS_CALLGATE32 = 12,
	SYS_INTGATE32 = 14, SYS_TRAPGATE32 = 15,
};

/* Selector fields */
#define SEL_RPL 0x0003
#define SEL_TI 0x0004
#define SEL_INDEX 0xfff8

/* DR6 / DR7 */
#define DR6_B0 (1u << 0)
#define DR6_BD (1u << 13)
#define DR6_BS (1u << 14)
#define DR6_BT (1u << 15)
#define DR7_GD (1u << 13)

/* MSRs */
#define MSR_IA32_TSC 0x10
#define MSR_IA32_APIC_BASE 0x1b
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176

#endif
