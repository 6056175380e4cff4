; guests/lib/rt/mbcrt0.asm - multiboot v1 header and entry of the test
; kernels (nasm -f elf32).
;
; kernel.ld puts .multiboot first in the image, so the header lies within
; the first 8 KiB of the file as the spec requires. The flags ask for
; page-aligned modules and the memory fields; the ELF program headers give
; the load addresses (no a.out kludge).
;
; At entry (spec 3.2): EAX = 0x2BADB002, EBX = the boot information,
; protected mode with flat segments, paging off, interrupts off, no stack.
; _start saves EAX/EBX, takes the 64 KiB stack, zeroes the BSS, calls
; rt_start() (COM1, GDT/TSS/IDT, PIC), then main(), then rt_exit(main()).

        extern main, rt_start, rt_exit
        extern _bss_start, _bss_end
        global _start, rt_mb_magic_value, rt_mb_info_addr, rt_stack_top

MB_HEADER_MAGIC equ 0x1BADB002
MB_PAGE_ALIGN   equ 1 << 0
MB_MEMORY_INFO  equ 1 << 1
MB_FLAGS        equ MB_PAGE_ALIGN | MB_MEMORY_INFO
STACK_SIZE      equ 64 * 1024

        section .note.GNU-stack noalloc noexec nowrite progbits

        section .multiboot progbits alloc noexec nowrite align=4
        dd MB_HEADER_MAGIC
        dd MB_FLAGS
        dd -(MB_HEADER_MAGIC + MB_FLAGS)

        section .text
        bits 32
_start:
        cli
        cld
        mov [rt_mb_magic_value], eax
        mov [rt_mb_info_addr], ebx
        mov esp, rt_stack_top
        mov edi, _bss_start         ; the stack is in the BSS: nothing is
        mov ecx, _bss_end           ; on it yet
        sub ecx, edi
        shr ecx, 2
        xor eax, eax
        rep stosd
        push dword 0                ; EFLAGS: IF, DF and the rest clear
        popfd
        xor ebp, ebp                ; the end of the frame chain
        call rt_start
        call main
        push eax
        call rt_exit
.halt:
        cli
        hlt
        jmp .halt

        section .data
        align 4
rt_mb_magic_value:  dd 0
rt_mb_info_addr:    dd 0

        section .bss
        alignb 16
rt_stack_bottom:
        resb STACK_SIZE
rt_stack_top:
