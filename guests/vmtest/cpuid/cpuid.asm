; guests/vmtest/cpuid/cpuid.asm - a multiboot kernel that prints what CPUID
; says: every basic leaf up to the maximum, one leaf beyond it, and the
; first extended leaf, one line each on COM1 ("cpuid LEAF: EAX EBX ECX
; EDX"), then writes 0 to the exit port 0xF4.
;
; Plain i386 code (no CMOV, no BSWAP), so it runs on every CPU model that
; has CPUID: tests/cpu/cpu-models-vs-qemu.py boots it on nestlab with each
; --cpu model and on QEMU with the same part's -cpu and compares the lines
; (docs/cpu.md, "CPU models"). A flat binary with the a.out kludge, loaded
; at 1 MiB, so no ELF and no runtime are involved.
	bits 32
	org 0x100000

MB_MAGIC equ 0x1BADB002
MB_FLAGS equ 0x00010000		; bit 16: the address fields below are valid
COM1 equ 0x3F8
LSR_THRE equ 0x20
EXIT_PORT equ 0xF4

header:
	dd MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
	dd header, header, image_end, bss_end, start

start:
	mov esp, stack_top
	xor eax, eax
	cpuid
	mov [max_leaf], eax
	xor esi, esi
.basic:	cmp esi, [max_leaf]
	ja .beyond
	cmp esi, 32
	jae .beyond
	call show
	inc esi
	jmp .basic
.beyond:
	mov esi, [max_leaf]
	inc esi
	call show
	mov esi, 0x80000000
	call show
	xor eax, eax
	out EXIT_PORT, al
	cli
.halt:	hlt
	jmp .halt

; show: prints "cpuid ESI: EAX EBX ECX EDX\n" for leaf ESI
show:
	mov eax, esi
	xor ecx, ecx
	cpuid
	mov [regs], eax
	mov [regs + 4], ebx
	mov [regs + 8], ecx
	mov [regs + 12], edx
	mov ebx, prefix
	call puts
	mov eax, esi
	call puthex
	mov al, ':'
	call putc
	xor edi, edi
.reg:	mov al, ' '
	call putc
	mov eax, [regs + edi * 4]
	call puthex
	inc edi
	cmp edi, 4
	jb .reg
	mov al, 10
	call putc
	ret

; puts: the NUL-terminated string at EBX
puts:	mov al, [ebx]
	test al, al
	jz .done
	call putc
	inc ebx
	jmp puts
.done:	ret

; puthex: EAX as 8 hex digits
puthex:
	mov ecx, 8
.digit:	rol eax, 4
	push eax
	and eax, 0xF
	mov al, [hexdigits + eax]
	call putc
	pop eax
	loop .digit
	ret

; putc: AL to COM1, waiting for the transmitter
putc:	push edx
	push eax
	mov dx, COM1 + 5
.wait:	in al, dx
	test al, LSR_THRE
	jz .wait
	pop eax
	mov dx, COM1
	out dx, al
	pop edx
	ret

prefix: db "cpuid ", 0
hexdigits: db "0123456789abcdef"
image_end:

	absolute image_end
	alignb 4
max_leaf: resd 1
regs: resd 4
	resb 1024
stack_top:
bss_end:
