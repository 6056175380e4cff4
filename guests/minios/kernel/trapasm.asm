; trapasm.asm - the 256 interrupt vectors and the common trap entry.
;
; The CPU pushes SS:ESP (only when coming from ring 3), EFLAGS, CS:EIP and,
; for some exceptions, an error code. Each vector stub pushes a zero error
; code when the CPU did not, then its vector number, so every trap leaves the
; same struct trapframe (x86.h) on the kernel stack.

SEG_KDATA_SEL	equ 2 << 3

section .text
bits 32

%macro VECTOR 1
vector%1:
%if %1 == 8 || (%1 >= 10 && %1 <= 14) || %1 == 17
%else
	push dword 0			; no error code from the CPU
%endif
	push dword %1
	jmp alltraps
%endmacro

%assign i 0
%rep 256
VECTOR i
%assign i i+1
%endrep

extern trap
global alltraps
alltraps:
	push ds
	push es
	push fs
	push gs
	pushad
	mov ax, SEG_KDATA_SEL		; the kernel's data segment
	mov ds, ax
	mov es, ax
	push esp			; trap(struct trapframe *tf)
	call trap
	add esp, 4
	; fall through: return to whatever the trap frame describes

; trapret: restore the registers of a trap frame and return with IRET. A new
; process starts here too (see allocproc in proc.c).
global trapret
trapret:
	popad
	pop gs
	pop fs
	pop es
	pop ds
	add esp, 8			; the vector number and the error code
	iret

; The table of vector entry points that trap.c puts in the IDT.
section .rodata
global vectors
vectors:
%assign i 0
%rep 256
	dd vector %+ i
%assign i i+1
%endrep
