; guests/lib/rt/isr.asm - the 256 interrupt stubs and the ring-3 switch
; (nasm -f elf32).
;
; Every stub makes the CPU's frame uniform (a 0 error code where the CPU
; pushes none), pushes its vector and jumps to isr_common, which saves the
; general registers (PUSHA) and the data segments, loads the kernel data
; segment and calls rt_dispatch(struct rt_frame *). On the way back it
; restores everything, drops vector and error code, and IRETs.
;
; Stack at the call (low to high):
;   frame pointer | gs fs es ds | edi esi ebp esp0 ebx edx ecx eax |
;   vector err | eip cs eflags [esp ss from ring 3]
;                 ^ struct rt_frame starts at edi

        extern rt_dispatch, rt_user_return_misuse
        global rt_isr_table, rt_enter_user, rt_user_return, rt_user_trampoline

SEL_DATA        equ 0x10
SEL_UCODE       equ 0x1B
SEL_UDATA       equ 0x23
VEC_USER_RETURN equ 0x7F

        section .note.GNU-stack noalloc noexec nowrite progbits

        section .text
        bits 32

; isr_stub vector: a stub; the CPU pushes an error code for vectors 8,
; 10-14 and 17 only.
%macro isr_stub 1
isr_%1:
%if %1 == 8 || (%1 >= 10 && %1 <= 14) || %1 == 17
%else
        push dword 0
%endif
        push dword %1
        jmp isr_common
%endmacro

%assign v 0
%rep 256
        isr_stub v
%assign v v + 1
%endrep

isr_common:
        pushad
        push ds
        push es
        push fs
        push gs
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        lea eax, [esp + 16]         ; the struct rt_frame
        push eax
        cld
        call rt_dispatch
        add esp, 4
        pop gs
        pop fs
        pop es
        pop ds
        popad
        add esp, 8                  ; vector and error code
        iretd

; void rt_enter_user(void (*fn)(void), void *user_stack)
; Saves the callee-saved registers and EFLAGS for rt_user_return, puts the
; trampoline's address on the user stack as fn's return address and IRETs
; to fn at ring 3.
rt_enter_user:
        push ebp
        push ebx
        push esi
        push edi
        pushfd
        mov [user_saved_esp], esp
        mov eax, [esp + 24]         ; fn
        mov ecx, [esp + 28]         ; user_stack
        sub ecx, 4
        mov dword [ecx], rt_user_trampoline
        pushfd
        pop edx
        and edx, ~(3 << 12 | 1 << 14 | 1 << 8) ; IOPL 0, no NT, no TF
        mov bx, SEL_UDATA
        mov ds, bx
        mov es, bx
        mov fs, bx
        mov gs, bx
        push dword SEL_UDATA        ; ss
        push ecx                    ; esp
        push edx                    ; eflags
        push dword SEL_UCODE        ; cs
        push eax                    ; eip
        iretd

; fn returns here, at ring 3.
rt_user_trampoline:
        int VEC_USER_RETURN
        jmp rt_user_trampoline

; _Noreturn void rt_user_return(void): back to rt_enter_user's caller.
; Outside rt_enter_user there is nowhere to go: a FAIL line and the end.
rt_user_return:
        mov eax, [user_saved_esp]
        test eax, eax
        jz rt_user_return_misuse
        mov dword [user_saved_esp], 0
        mov esp, eax
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        popfd
        pop edi
        pop esi
        pop ebx
        pop ebp
        ret

        section .rodata
        align 4
; The stubs' addresses, indexed by vector.
rt_isr_table:
%assign v 0
%rep 256
        dd isr_ %+ v
%assign v v + 1
%endrep

        section .bss
        alignb 4
user_saved_esp: resd 1
