/*
 * nlabi.h - the introspection ABI: how software at any level of a nested
 * stack tells the engine about itself (docs/abi.md).
 *
 * A call is one instruction, the hint NOP
 *
 *     0F 1F 84 00 4E 4C 41 42    nop dword [eax+eax*1+0x42414c4e]
 *
 * executed with ECX = NL_ABI_MAGIC, EAX = a command (NL_CMD_*) and EBX =
 * the linear address, at the caller's level, of the command's descriptor.
 * The engine's CPU answers it in EAX (NL_OK or NL_E_*). The hint NOP is a
 * NOP at every privilege level and in every mode of every P6-class CPU, it
 * reads no memory, and no monitor traps it (it is neither privileged nor
 * sensitive), so it reaches the engine's CPU from any level without a
 * monitor seeing it; on a CPU without the ABI (real hardware, QEMU) it does
 * nothing and EAX keeps the command, which is no result code.
 *
 * Freestanding (only <stdint.h>): guests include it, and the engine reads
 * the same layouts. Every descriptor starts with its version and size; a
 * layout changes only with NL_ABI_VERSION.
 */
#ifndef NESTLAB_NLABI_H
#define NESTLAB_NLABI_H

#include <stdint.h>

#define NL_ABI_VERSION 1u
#define NL_ABI_MAGIC 0x42414c4eu /* "NLAB": in ECX, and the NOP's displacement */

/* Commands (EAX). */
#define NL_CMD_QUERY 0x4e4c0000u      /* no descriptor: EAX = NL_ABI_VERSION */
#define NL_CMD_HELLO 0x4e4c0001u      /* struct nl_hello: the caller is a monitor */
#define NL_CMD_VM_CREATE 0x4e4c0002u  /* struct nl_vm_create: a VM of the caller's */
#define NL_CMD_VM_DESTROY 0x4e4c0003u /* struct nl_vm_destroy */
#define NL_CMD_LOG 0x4e4c0004u        /* struct nl_log: a line for the engine's log */
#define NL_CMD_MARK 0x4e4c0005u       /* struct nl_mark: a named event with a value */

/* Results (EAX). */
#define NL_OK 0u
#define NL_E_COMMAND 1u  /* no such command */
#define NL_E_FAULT 2u    /* the descriptor (or a string it points to) is not mapped */
#define NL_E_VERSION 3u  /* a descriptor version or size this engine does not know */
#define NL_E_NAME 4u     /* a name that is empty or not NUL-terminated in its field */
#define NL_E_MAP 5u      /* a memory map with overlapping, empty or unaligned ranges */
#define NL_E_MAP_SIZE 6u /* a map with too many ranges, or one past 4 GiB or the monitor's memory */
#define NL_E_ID 7u       /* a VM id that is 0, in use, or unknown */
#define NL_E_HELLO 8u    /* VM_CREATE or VM_DESTROY before HELLO; HELLO twice */
#define NL_E_FULL 9u     /* the engine's tree has no room for another node */
#define NL_E_LENGTH 10u  /* a LOG longer than NL_LOG_MAX */

#define NL_NAME_MAX 32u  /* names: NUL-terminated within 32 bytes */
#define NL_MAP_MAX 8u    /* ranges of a VM's memory map */
#define NL_LOG_MAX 256u  /* bytes of one LOG */

/* HELLO: a monitor's info block. `running` is the linear address of its
 * running-child word: the id of the VM whose code it has given the CPU,
 * 0 while its own code runs. The word and the block stay where they are. */
struct nl_hello {
	uint32_t version;        /* 0x00 NL_ABI_VERSION */
	uint32_t size;           /* 0x04 sizeof(struct nl_hello) */
	char name[NL_NAME_MAX];  /* 0x08 the monitor's name, "tinyvmm" */
	uint32_t running;        /* 0x28 linear address of the running-child word (4 bytes) */
	uint32_t reserved;       /* 0x2c 0 */
};

/* One range of a VM's guest-physical memory: [gpa, gpa + size) is the
 * monitor's physical [mpa, mpa + size). 4 KiB aligned. */
struct nl_range {
	uint32_t gpa;
	uint32_t size;
	uint32_t mpa;
};

/*
 * VM_CREATE: a VM the calling monitor runs. The addresses are linear at the
 * caller's level, 0 for "none"; the blocks they name are the monitor
 * core's own (engine/vmm/core/vmm.h), in their i386 layout:
 *   vcpu  struct vmm_vcpu: the VM's privileged state (NL_VCPU_* offsets)
 *   regs  struct nl_run (assist.h): its registers at its last exit
 *   nest  struct vmm_nest: while its `active` byte is set the VM runs a
 *         guest of its own, and its registers are in `outer` (struct
 *         vmm_regs, NL_REGS_* offsets)
 *   stats struct vmm_stats: its exit counts (uint64_t exits[NL_EXIT_REASONS])
 */
struct nl_vm_create {
	uint32_t version;        /* 0x00 NL_ABI_VERSION */
	uint32_t size;           /* 0x04 sizeof(struct nl_vm_create) */
	uint32_t id;             /* 0x08 the monitor's id for it, not 0 */
	char name[NL_NAME_MAX];  /* 0x0c */
	uint32_t vcpu;           /* 0x2c */
	uint32_t regs;           /* 0x30 */
	uint32_t nest;           /* 0x34 */
	uint32_t stats;          /* 0x38 */
	uint32_t n_ranges;       /* 0x3c 1 .. NL_MAP_MAX */
	struct nl_range ranges[NL_MAP_MAX]; /* 0x40 */
};

struct nl_vm_destroy {
	uint32_t version;        /* 0x00 */
	uint32_t size;           /* 0x04 */
	uint32_t id;             /* 0x08 */
};

struct nl_log {
	uint32_t version;        /* 0x00 */
	uint32_t size;           /* 0x04 */
	uint32_t text;           /* 0x08 linear address of the bytes */
	uint32_t len;            /* 0x0c at most NL_LOG_MAX */
};

struct nl_mark {
	uint32_t version;        /* 0x00 */
	uint32_t size;           /* 0x04 */
	char name[NL_NAME_MAX];  /* 0x08 */
	uint32_t value;          /* 0x28 */
};

_Static_assert(sizeof(struct nl_hello) == 0x30, "struct nl_hello");
_Static_assert(sizeof(struct nl_vm_create) == 0x40 + NL_MAP_MAX * 12, "struct nl_vm_create");
_Static_assert(sizeof(struct nl_mark) == 0x2c, "struct nl_mark");

/* The monitor core's blocks as the engine reads them (i386 layout). */
#define NL_VCPU_CR0 0x00
#define NL_VCPU_CR2 0x04
#define NL_VCPU_CR3 0x08
#define NL_VCPU_CR4 0x0c
#define NL_VCPU_VFLAGS 0x30   /* the guest's IF and IOPL */
#define NL_VCPU_CPL 0x34      /* one byte */
#define NL_VCPU_CS 0x36       /* two bytes each */
#define NL_VCPU_SS 0x38
#define NL_VCPU_SIZE 0x68     /* what the engine reads: cr0 .. msr_ctl */
#define NL_NEST_ACTIVE 0x00   /* one byte */
#define NL_NEST_OUTER 0x14    /* struct vmm_regs */
#define NL_REGS_R 0x00        /* EAX .. EDI */
#define NL_REGS_EIP 0x20
#define NL_REGS_EFLAGS 0x24
#define NL_REGS_SEG 0x28      /* 6 x {u16 sel, u16 attr, u32 base, u32 limit}: ES CS SS DS FS GS */
#define NL_REGS_SIZE 0x70
#define NL_RUN_R 0x10         /* struct nl_run, as assist.h */
#define NL_RUN_EIP 0x30
#define NL_RUN_EFLAGS 0x34
#define NL_RUN_SEG 0x38
#define NL_RUN_SIZE 0x80
#define NL_EXIT_REASONS 13    /* VMM_EXIT_COUNT */

#if defined(__i386__)
/* The call itself, for C guests: returns EAX. */
static inline uint32_t nl_call(uint32_t cmd, const void *desc)
{
	uint32_t eax = cmd;
	__asm__ volatile(".byte 0x0f, 0x1f, 0x84, 0x00, 0x4e, 0x4c, 0x41, 0x42"
	                 : "+a"(eax)
	                 : "b"(desc), "c"(NL_ABI_MAGIC)
	                 : "memory");
	return eax;
}
#endif

#endif
