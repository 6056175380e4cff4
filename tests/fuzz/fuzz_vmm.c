/*
 * fuzz_vmm.c - the monitor against random guests: random code, a random
 * IDT, a random GDT and random page tables, under shadow or nested paging.
 *
 * The input is one flags byte and up to 256 KiB of guest memory, copied to
 * guest-physical 0x200000. A small stub (a flat binary loaded at 1 MiB)
 * points the IDT at 0x210000 and the GDT at 0x230000 (both random), and,
 * if the flags say so, turns paging on with the page directory at 0x220000
 * (random, but for an identity 4 MiB page over the stub and the code),
 * then jumps to the random code at 0x200000. The run is cut off after
 * 20,000 instructions. Whatever the guest does, the host process must
 * survive (AddressSanitizer and UBSan watch), the monitor must either let
 * the guest run or stop it with a message, and never hang.
 *
 *   flags bit 0: paging on       bit 1: nested paging (else shadow)
 *   flags bit 2: strict mode off (--faithful-i386)
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "nestlab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CODE 0x200000u
#define WINDOW 0x40000u /* 256 KiB */
#define PD 0x220000u

/* The stub, at 0x100000: LIDT/LGDT from descriptors at 0x100040, CR4.PSE,
 * CR3 = PD, CR0.PG if EBX bit 0 (set by the harness through the stub's own
 * data: the word at 0x100050), then JMP CODE. */
static const uint8_t stub[] = {
	0x0f, 0x01, 0x1d, 0x40, 0x00, 0x10, 0x00,       /* lidt [0x100040] */
	0x0f, 0x01, 0x15, 0x48, 0x00, 0x10, 0x00,       /* lgdt [0x100048] */
	0x0f, 0x20, 0xe0,                               /* mov eax, cr4 */
	0x83, 0xc8, 0x10,                               /* or eax, 0x10 (PSE) */
	0x0f, 0x22, 0xe0,                               /* mov cr4, eax */
	0xb8, 0x00, 0x00, 0x22, 0x00,                   /* mov eax, PD */
	0x0f, 0x22, 0xd8,                               /* mov cr3, eax */
	0xa1, 0x50, 0x00, 0x10, 0x00,                   /* mov eax, [0x100050] */
	0x0f, 0x22, 0xc0,                               /* mov cr0, eax */
	0xe9, 0xcc, 0xff, 0x0f, 0x00,                   /* jmp CODE (rel32 from 0x10002f) */
};

static char *stub_path;

static void make_stub(void)
{
	uint8_t img[0x60];
	memset(img, 0x90, sizeof img);
	memcpy(img, stub, sizeof stub);
	/* rel32 of the JMP: target CODE, next instruction at 0x100000 + sizeof stub */
	uint32_t rel = CODE - (0x100000u + (uint32_t)sizeof stub);
	memcpy(img + sizeof stub - 4, &rel, 4);
	const uint16_t idt_limit = 0x7ff, gdt_limit = 0xffff;
	const uint32_t idt_base = 0x210000, gdt_base = 0x230000;
	memcpy(img + 0x40, &idt_limit, 2);
	memcpy(img + 0x42, &idt_base, 4);
	memcpy(img + 0x48, &gdt_limit, 2);
	memcpy(img + 0x4a, &gdt_base, 4);
	gint fd = g_file_open_tmp("nestlab-fuzz-vmm-XXXXXX", &stub_path, NULL);
	g_assert(fd >= 0);
	g_assert(write(fd, img, sizeof img) == (ssize_t)sizeof img);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!stub_path)
		make_stub();
	uint8_t flags = size ? data[0] : 0;
	struct machine_config cfg = {
		.flat_path = stub_path, .flat_addr = 0x100000, .mem_mib = 8,
		.monitor = (flags & 2) ? MACHINE_MONITOR_NESTED : MACHINE_MONITOR_SHADOW,
		.faithful_i386 = (flags & 4) != 0, .console_quiet = true,
	};
	cfg.serial[0].kind = MACHINE_SERIAL_BUFFER;
	GError *error = NULL;
	struct machine *m = machine_new(&cfg, &error);
	g_assert_no_error(error);
	size_t n = size > 1 ? MIN(size - 1, WINDOW) : 0;
	if (n)
		machine_phys_write(m, CODE, data + 1, n);
	/* CR0 for the stub: PE, and PG if asked; an identity 4 MiB page over
	 * the first 4 MiB so the stub and the code stay where they are. */
	uint32_t cr0 = 0x11u | ((flags & 1) ? 0x80000000u : 0);
	machine_phys_write(m, 0x100050, &cr0, 4);
	const uint32_t pde0 = 0x83; /* present, writable, 4 MiB */
	machine_phys_write(m, PD, &pde0, 4);
	enum machine_stop st = machine_run(m, 20000);
	g_assert(st == MACHINE_LIMIT || st == MACHINE_EXIT || st == MACHINE_SHUTDOWN ||
	         st == MACHINE_HALT);
	if (st == MACHINE_SHUTDOWN)
		g_assert(machine_shutdown_reason(m) && machine_shutdown_reason(m)[0]);
	char h[65];
	machine_state_hash(m, h);
	machine_free(m);
	return 0;
}
