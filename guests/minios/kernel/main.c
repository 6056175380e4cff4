/*
 * main.c - kmain(), where the boot code (entry.asm) enters C, on the boot
 * page directory of 4 MiB pages, with interrupts off.
 */
#include "defs.h"
#include "memlayout.h"
#include "proc.h"
#include "x86.h"

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002
#define MBI_FLAG_MEM	0x001	/* mem_lower and mem_upper are valid */
#define BOOT_MAPPED	0x400000	/* the boot page directory maps 4 MiB */
#define MIB		(1024 * 1024)

extern char end[];		/* first address after the kernel (kernel.ld) */

/*
 * The end of usable RAM (physical), from the multiboot information's flags
 * and mem_upper fields (Multiboot Specification 0.6.96, 3.3), which entry.asm
 * read for us.
 */
static uint32_t ram_end(uint32_t magic, uint32_t mbi_flags, uint32_t mem_upper)
{
	if (magic != MULTIBOOT_BOOTLOADER_MAGIC)
		panic("not started by a multiboot loader");
	uint32_t top = 16 * MIB;	/* a guess if the loader gave no sizes */

	if (mbi_flags & MBI_FLAG_MEM)
		top = EXTMEM + mem_upper * 1024;
	kprintf("memory: %d MiB\n", (top + MIB - 1) / MIB);
	if (top > PHYSTOP_MAX)
		top = PHYSTOP_MAX;
	if (top < BOOT_MAPPED)
		panic("less than 4 MiB of memory");
	return PGROUNDDOWN(top);
}

void kmain(uint32_t magic, uint32_t mbi_flags, uint32_t mem_upper);

/* Bring the machine up, start the first process and enter the scheduler. */
void kmain(uint32_t magic, uint32_t mbi_flags, uint32_t mem_upper)
{
	uart_init();
	vga_init();
	kprintf("\nminios: a small teaching kernel for the i386\n");
	uint32_t phystop = ram_end(magic, mbi_flags, mem_upper);

	kinit(end, P2V(BOOT_MAPPED));	/* pages the boot page directory maps */
	kvmalloc(phystop);		/* 4 KiB page tables from now on */
	kinit(P2V(BOOT_MAPPED), P2V(phystop));
	seginit();
	trap_init();

	int have_mp = mp_init() == 0;
	pic_disable();
	lapic_init();
	if (!have_mp)
		cpu.apicid = lapic_id();
	ioapic_init();
	uart_enable_irq();
	kbd_init();
	kprintf("interrupts: local apic timer, com1 and keyboard through the ioapic\n");

	if (ide_init() < 0 || fs_init() < 0)
		panic("no file system");

	userinit();
	scheduler();
}
