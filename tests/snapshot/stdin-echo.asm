; stdin-echo.asm - a flat guest with no timer for record-stdin.sh: it waits
; in HLT for COM1's received-data interrupt (IRQ4) alone, copies what came
; to the debug console, and exits on 'q'. While it waits only host input
; can wake it, so a recorder reads stdin in that halt, not where a run
; begins. Entered at 0x100000 in 32-bit protected mode (--flat).
bits 32
org 0x100000
start:
	mov esp, 0x90000
	mov ax, cs
	mov [gate + 2], ax
	mov eax, irq4
	mov [gate], ax
	shr eax, 16
	mov [gate + 6], ax
	mov edi, idt + 0x24 * 8
	mov esi, gate
	movsd
	movsd
	lidt [idtr]
	; 8259A: vectors 0x20 and 0x28, only IRQ4 unmasked
	mov al, 0x11
	out 0x20, al
	out 0xa0, al
	mov al, 0x20
	out 0x21, al
	mov al, 0x28
	out 0xa1, al
	mov al, 4
	out 0x21, al
	mov al, 2
	out 0xa1, al
	mov al, 1
	out 0x21, al
	out 0xa1, al
	mov al, 0xef
	out 0x21, al
	mov al, 0xff
	out 0xa1, al
	; COM1: received-data interrupt, OUT2 on
	mov dx, 0x3f9
	mov al, 1
	out dx, al
	mov dx, 0x3fc
	mov al, 0x0b
	out dx, al
	mov al, '>'
	out 0xe9, al
	sti
idle:	hlt
	jmp idle
irq4:
	push eax
	push edx
.more:	mov dx, 0x3fd
	in al, dx
	test al, 1
	jz .done
	mov dx, 0x3f8
	in al, dx
	out 0xe9, al
	cmp al, 'q'
	jne .more
	mov al, 0
	out 0xf4, al
.done:	mov al, 0x20
	out 0x20, al
	pop edx
	pop eax
	iret
gate:	dw 0, 0, 0x8e00, 0
idtr:	dw 256 * 8 - 1
	dd idt
align 8
idt:	times 256 * 8 db 0
