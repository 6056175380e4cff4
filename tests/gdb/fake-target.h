/*
 * fake-target.h - a pretend machine for testing the gdb stub.
 *
 * 64 KiB of physical memory; virtual addresses 0-0x7fff map to the same
 * physical addresses, the upper 32 KiB is reachable only physically
 * (`monitor phys`). A toy CPU runs one byte per instruction:
 *
 *   0xa3  store: dword [ebx] = eax         (write watchpoints see it)
 *   0xa1  load:  ecx = dword [ebx]         (read watchpoints see it)
 *   0xf4  exit with status eax & 0xff      (eip stays)
 *   0xeb  jump to itself                   (spins until interrupted)
 *   other no operation
 *
 * Every instruction but 0xf4 and 0xeb advances eip by 1; every one
 * retired adds 1 to eax. Each retired instruction is recorded (registers
 * before it, the bytes it overwrote), so reverse step and reverse continue
 * undo it exactly. Breakpoints (software and up to FAKE_HW_SLOTS hardware
 * breakpoints and watchpoints together, as with x86 debug registers) stop
 * execution both ways. Fetching or touching memory outside the virtual
 * half stops with SIGSEGV.
 *
 * The program at power-on (fake_target_new):
 *
 *   0x1000  nop x16
 *   0x1010  store       (ebx = 0x3000; [0x3000] holds 0x11223344)
 *   0x1011  nop x15
 *   0x1020  load
 *   0x1021  nop ... up to
 *   0x1100  exit
 *   0x2000  jump to itself
 *   physical 0x9000: de ad be ef 01 02 03 04
 */
#ifndef NESTLAB_FAKE_TARGET_H
#define NESTLAB_FAKE_TARGET_H

#include "gdbstub.h"

#define FAKE_MEM_SIZE 0x10000u
#define FAKE_VIRT_SIZE 0x8000u
#define FAKE_ENTRY 0x1000u
#define FAKE_STORE_AT 0x1010u
#define FAKE_LOAD_AT 0x1020u
#define FAKE_EXIT_AT 0x1100u
#define FAKE_SPIN_AT 0x2000u
#define FAKE_DATA 0x3000u
#define FAKE_DATA_VALUE 0x11223344u
#define FAKE_PHYS_ONLY 0x9000u
#define FAKE_STACK 0x7000u
#define FAKE_CR0 0x11u /* PE | ET */
#define FAKE_CR3 0x5000u
#define FAKE_HW_SLOTS 4

#define FAKE_OP_STORE 0xa3
#define FAKE_OP_LOAD 0xa1
#define FAKE_OP_EXIT 0xf4
#define FAKE_OP_SPIN 0xeb
#define FAKE_OP_NOP 0x90

struct fake_target;

/* A fresh machine at power-on with the program above. */
struct fake_target *fake_target_new(void);
void fake_target_free(struct fake_target *t);

/* The operations to give trc_gdb_serve() with the fake as opaque. */
extern const struct trc_gdb_target_ops fake_target_ops;

/* Replay mode: forward execution stops with TRC_GDB_STOP_HISTORY_END once
 * it reaches `insns` recorded instructions (0: live, no end). */
void fake_target_set_replay_end(struct fake_target *t, size_t insns);

/* Instructions recorded (how far reverse execution can go). */
size_t fake_target_history(const struct fake_target *t);

/* Breakpoints and watchpoints in place. */
unsigned fake_target_points(const struct fake_target *t);

/* Several CPUs as gdb's threads: `n` of them (0: one), the last stop on
 * CPU `stop_cpu` (0-based); and the CPU Hg selected last. The registers
 * and memory stay the one machine's. */
void fake_target_set_cpus(struct fake_target *t, unsigned n, unsigned stop_cpu);
unsigned fake_target_selected_cpu(const struct fake_target *t);

/* Direct access for tests. */
struct trc_gdb_regs *fake_target_regs(struct fake_target *t);
uint8_t *fake_target_mem(struct fake_target *t);

#endif
