; entry.asm - the multiboot header and the first instructions of minios.
;
; A multiboot loader (QEMU's -kernel, GRUB, nestlab-run) loads the ELF file at
; its physical addresses (1 MiB up) and jumps to entry_phys in 32-bit protected
; mode with paging off, EAX = 0x2BADB002 and EBX = the physical address of the
; multiboot information. The kernel is linked at KERNBASE + 1 MiB, so before
; it can run C code it turns on paging with a page directory of two 4 MiB
; pages (CR4.PSE): virtual 0 -> physical 0, so that the next instruction
; fetch still works, and KERNBASE -> physical 0, where the kernel is linked.

MB_MAGIC	equ 0x1BADB002
MB_PAGE_ALIGN	equ 1 << 0		; load modules on page boundaries
MB_MEMINFO	equ 1 << 1		; give us mem_lower/mem_upper
MB_FLAGS	equ MB_PAGE_ALIGN | MB_MEMINFO

KERNBASE	equ 0x80000000
CR0_WP		equ 0x00010000
CR0_PG		equ 0x80000000
CR4_PSE		equ 0x00000010
PDE_4M		equ 0x83		; present | writeable | 4 MiB page
KSTACKSIZE	equ 4096

section .multiboot
align 4
	dd MB_MAGIC
	dd MB_FLAGS
	dd -(MB_MAGIC + MB_FLAGS)

section .text
bits 32
global entry
extern kmain
entry:
	; Take what kmain needs from the multiboot information now, while
	; physical addresses work: the loader may have put it anywhere.
	mov esi, [ebx]			; flags
	mov edi, [ebx + 8]		; mem_upper (KiB above 1 MiB)

	mov ecx, cr4
	or ecx, CR4_PSE
	mov cr4, ecx
	mov ecx, entrypgdir - KERNBASE	; CR3 takes a physical address
	mov cr3, ecx
	mov ecx, cr0
	or ecx, CR0_PG | CR0_WP
	mov cr0, ecx

	; Paging is on; we still run at low addresses through entry 0.
	mov esp, stack + KSTACKSIZE
	push edi			; kmain(magic, flags, mem_upper)
	push esi
	push eax
	mov ecx, kmain			; an absolute jump to the high address
	call ecx
.hang:
	cli
	hlt
	jmp .hang

section .data
; The boot page directory. It must be page-aligned: CR3 ignores the low bits.
align 4096
global entrypgdir
entrypgdir:
	dd PDE_4M					; [0, 4 MiB) -> 0
	times (KERNBASE >> 22) - 1 dd 0
	dd PDE_4M					; [KERNBASE, +4 MiB) -> 0
	times 1024 - (KERNBASE >> 22) - 1 dd 0

section .bss
align 16
stack:
	resb KSTACKSIZE
