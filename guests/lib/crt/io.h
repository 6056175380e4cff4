/*
 * guests/lib/crt/io.h - port I/O, CPUID and the test-board ports for
 * freestanding i386 C guests.
 *
 * Everything here is static inline: a guest includes the header and links
 * nothing for it.
 */
#ifndef GUEST_IO_H
#define GUEST_IO_H

#include <stdint.h>

/* Ports of the test board (docs/board.md). */
#define PORT_DEBUGCON 0xE9
#define PORT_EXIT     0xF4
#define PORT_POST     0x80

#include "portio.h"

/* CPUID leaf `leaf`; the four result registers go to regs[0..3] as EAX, EBX,
 * ECX, EDX. */
static inline void cpuid(uint32_t leaf, uint32_t regs[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(regs[0]), "=b"(regs[1]), "=c"(regs[2]), "=d"(regs[3])
			 : "a"(leaf), "c"(0));
}

/* Report a progress code on the POST port (ignored by QEMU and Bochs). */
static inline void post(uint8_t code)
{
	outb(PORT_POST, code);
}

/* End the run: the host exits with status (status << 1) | 1. Never returns;
 * on Bochs, which has no exit device, it asks for a shutdown instead. */
static inline __attribute__((noreturn)) void guest_exit(uint8_t status)
{
	static const char bochs[] = "Shutdown";

	outb(PORT_EXIT, status);
	for (const char *p = bochs; *p; p++)
		outb(0x8900, (uint8_t)*p);
	for (;;)
		__asm__ volatile("cli; hlt");
}

#endif
