/*
 * guests/lib/rt/rt_internal.h - what the runtime's files share and kernels
 * do not need.
 */
#ifndef GUEST_RT_INTERNAL_H
#define GUEST_RT_INTERNAL_H

#include "rt.h"

/* A formatter's output: one byte at a time. */
typedef void (*rt_sink)(void *ctx, char c);

/* The printf engine behind rt_printf and rt_snprintf (format.c): formats
 * fmt into sink and returns the number of bytes produced. */
int rt_format(rt_sink sink, void *ctx, const char *fmt, va_list ap);

/* Program COM1 for 115200 8N1 with FIFOs, no interrupts (console.c). */
void rt_serial_init(void);

/* Count one failure without printing (console.c). */
void rt_count_failure(void);

/* Set up the runtime before main (init.c); called by mbcrt0. */
void rt_start(void);

/* The C side of every interrupt stub (cpu.c); called by isr.asm. */
void rt_dispatch(struct rt_frame *f);

/* rt_user_return() without an rt_enter_user() to return to: print a FAIL
 * line and end the run (cpu.c; called by isr.asm). */
_Noreturn void rt_user_return_misuse(void);

/* Saved by mbcrt0 at entry. */
extern uint32_t rt_mb_magic_value;
extern uint32_t rt_mb_info_addr;

/* Linker script symbols: the first byte of the image and the end of the BSS
 * rounded up to a page. */
extern char _kernel_start[];
extern char _kernel_end[];

#endif
