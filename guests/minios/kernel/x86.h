/*
 * x86.h - the few x86 instructions C cannot say, as inline functions, and the
 * names of the architectural bits the kernel uses.
 */
#ifndef MINIOS_X86_H
#define MINIOS_X86_H

#include <stdint.h>

/* EFLAGS */
#define EFLAGS_IF	0x00000200	/* interrupt enable */

/* Control registers */
#define CR0_PE		0x00000001	/* protected mode */
#define CR0_WP		0x00010000	/* supervisor writes honour read-only pages */
#define CR0_PG		0x80000000	/* paging */
#define CR4_PSE		0x00000010	/* 4 MiB pages */

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	asm volatile("inb %1, %0" : "=a"(v) : "d"(port));
	return v;
}

static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "d"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	asm volatile("outw %0, %1" : : "a"(v), "d"(port));
}

/* Read cnt 16-bit words from a port into memory (the IDE data register). */
static inline void insw(uint16_t port, void *addr, int cnt)
{
	asm volatile("cld; rep insw"
		     : "+D"(addr), "+c"(cnt)
		     : "d"(port)
		     : "memory", "cc");
}

struct segdesc;

static inline void lgdt(void *p, int size)
{
	volatile uint16_t pd[3];

	pd[0] = size - 1;
	pd[1] = (uint32_t)p;
	pd[2] = (uint32_t)p >> 16;
	asm volatile("lgdt (%0)" : : "r"(pd));
}

static inline void lidt(void *p, int size)
{
	volatile uint16_t pd[3];

	pd[0] = size - 1;
	pd[1] = (uint32_t)p;
	pd[2] = (uint32_t)p >> 16;
	asm volatile("lidt (%0)" : : "r"(pd));
}

static inline void ltr(uint16_t sel)
{
	asm volatile("ltr %0" : : "r"(sel));
}

static inline uint32_t readeflags(void)
{
	uint32_t eflags;
	asm volatile("pushfl; popl %0" : "=r"(eflags));
	return eflags;
}

static inline void cli(void)
{
	asm volatile("cli");
}

static inline uint32_t rcr2(void)
{
	uint32_t v;
	asm volatile("movl %%cr2, %0" : "=r"(v));
	return v;
}

static inline void lcr3(uint32_t v)
{
	asm volatile("movl %0, %%cr3" : : "r"(v) : "memory");
}

/*
 * Wait for an interrupt with interrupts enabled, and disable them again.
 * STI delays interrupts by one instruction, so none can slip in before the
 * HLT and be missed.
 */
static inline void idle_wait(void)
{
	asm volatile("sti; hlt; cli" : : : "memory");
}

/* The register layout that trapasm.asm builds on the kernel stack. */
struct trapframe {
	/* pushed by pushad */
	uint32_t edi, esi, ebp, oesp, ebx, edx, ecx, eax;
	/* pushed by alltraps */
	uint16_t gs, pad1;
	uint16_t fs, pad2;
	uint16_t es, pad3;
	uint16_t ds, pad4;
	uint32_t trapno;
	/* pushed by the CPU (err by the CPU or by the vector stub) */
	uint32_t err;
	uint32_t eip;
	uint16_t cs, pad5;
	uint32_t eflags;
	/* pushed by the CPU only on a change of ring */
	uint32_t esp;
	uint16_t ss, pad6;
};

#endif
