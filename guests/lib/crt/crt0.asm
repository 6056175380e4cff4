; guests/lib/crt/crt0.asm - reset stub of the C guests (nasm -f elf32).
;
; Linked by rom.ld into a 64 KiB ROM at 0xFFFF0000:
;   0xFFFFFFF0  .resetvec  jmp far F000:F000  (the first instruction)
;   0xFFFFF000  .init16    real mode: load a ROM GDT, set CR0.PE, jump to
;                          the 32-bit code at its 0xFFFFxxxx address
;   .text.entry            32-bit: flat segments, stack in RAM, copy .data
;                          from ROM to RAM, zero .bss, call main(), exit
;                          with main's return value on port 0xF4 (and
;                          "Shutdown" on port 0x8900 for Bochs).
; The GDT lives in ROM, so its descriptors are created with the accessed bit
; already set: the CPU never needs to write them.

        extern main
        extern _data_start, _data_end, _data_load
        extern _bss_start, _bss_end, _stack_top
        global reset_vector, init16, pm_entry

SEL_CODE        equ 0x08
SEL_DATA        equ 0x10
PORT_EXIT       equ 0xF4
PORT_BOCHS_SHUTDOWN equ 0x8900
INIT16_OFFSET   equ 0xF000          ; .init16 is placed at 0xFFFFF000 (rom.ld)

        section .note.GNU-stack noalloc noexec nowrite progbits

        section .resetvec progbits alloc exec
        bits 16
reset_vector:
        jmp 0xF000:INIT16_OFFSET
        times 16 - ($ - reset_vector) db 0xF4   ; the ROM ends at 4 GiB

        section .init16 progbits alloc exec
        bits 16
init16:
        cli
        cld
        o32 lgdt [cs:INIT16_OFFSET + (gdtr - init16)]
        mov eax, cr0
        or al, 1                    ; CR0.PE
        mov cr0, eax
        jmp dword SEL_CODE:pm_entry

        align 8
gdt:    dq 0
        ; 0x08: code, base 0, limit 4 GiB, 32-bit, present, readable, accessed
        dw 0xFFFF, 0x0000
        db 0x00, 0x9B, 0xCF, 0x00
        ; 0x10: data, base 0, limit 4 GiB, writable, accessed
        dw 0xFFFF, 0x0000
        db 0x00, 0x93, 0xCF, 0x00
gdt_end:
gdtr:   dw gdt_end - gdt - 1
        dd gdt

        section .text.entry progbits alloc exec
        bits 32
pm_entry:
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        mov esp, _stack_top
        cld
        ; .data: copy its initial image from ROM to RAM
        mov esi, _data_load
        mov edi, _data_start
        mov ecx, _data_end
        sub ecx, edi
        rep movsb
        ; .bss: zero
        mov edi, _bss_start
        mov ecx, _bss_end
        sub ecx, edi
        xor eax, eax
        rep stosb
        call main
        out PORT_EXIT, al
        ; Bochs has no exit device: ask it to shut down instead
        mov dx, PORT_BOCHS_SHUTDOWN
        mov esi, bochs_shutdown
.bochs: lodsb
        test al, al
        jz .halt
        out dx, al
        jmp .bochs
.halt:  cli
        hlt
        jmp .halt

bochs_shutdown: db "Shutdown", 0
