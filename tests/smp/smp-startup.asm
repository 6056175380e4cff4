; smp-startup.asm - the start-up of application processors as a PC does it,
; for smp-startup.sh (run with --smp 2 or more, bare). Entered at 0x100000
; in 32-bit protected mode (--flat), on the bootstrap processor.
;
; Each AP starts in real mode at the start-up vector's page (0x8000), reads
; its APIC ID from its local APIC (in big real mode), counts itself in
; STARTED (LOCK XADD), records the ID in IDS, and halts with interrupts
; off. The BSP finds the CPU count in the MP table and checks, in order:
;   1. INIT and a start-up IPI to all but itself start every AP once;
;   2. start-up IPIs to CPUs that run (halted ones) are ignored;
;   3. INIT and a start-up IPI to APIC ID 1 (physical destination) start
;      it again, and only it;
;   4. each AP saw its own APIC ID (each CPU reaches its own APIC at
;      0xFEE00000), IDs 1 .. N-1 once each;
; and prints "smp ok" and exits 0, or prints the failed check and exits 1.
; Assembled with -DSELFINIT it then sends INIT to itself: a kernel has no
; firmware to restart into, so the run must end as a shutdown that says so.
bits 32
org 0x100000

APIC      equ 0xfee00000
ICR_LO    equ APIC + 0x300
ICR_HI    equ APIC + 0x310
TRAMP     equ 0x8000           ; start-up vector 0x08
STARTED   equ 0x7000           ; dword: how many AP starts so far
IDS       equ 0x7010           ; byte per start: the APIC ID the AP read

start:
	mov esp, 0x90000
	; the CPU count: processor entries of the MP table at 0xF0010
	movzx ecx, word [0xf0010 + 34]   ; entry count
	mov esi, 0xf0010 + 44
	xor ebx, ebx
.entries:
	cmp byte [esi], 0
	jne .other
	inc ebx
	add esi, 20
	jmp .next
.other:
	add esi, 8
.next:
	loop .entries
	mov [ncpu], ebx
	cmp ebx, 2
	jb fail_count
	; the AP code where the start-up vector points
	mov esi, ap_code
	mov edi, TRAMP
	mov ecx, ap_end - ap_code
	rep movsb
	mov dword [STARTED], 0

	; 1. INIT, then start-up, to all but self
	mov dword [ICR_LO], 0x000c4500   ; all-but-self, INIT, level assert
	mov dword [ICR_LO], 0x000c4608   ; all-but-self, start-up, vector 0x08
	mov eax, [ncpu]
	dec eax
	call wait_started
	jne fail_1

	; 2. start-up IPIs to CPUs that already run are ignored
	mov dword [ICR_LO], 0x000c4608
	mov dword [ICR_LO], 0x000c4608
	mov ecx, 200000
.spin:
	pause
	loop .spin
	mov eax, [ncpu]
	dec eax
	cmp [STARTED], eax
	jne fail_2

	; 3. INIT and start-up to APIC ID 1 alone
	mov dword [ICR_HI], 1 << 24
	mov dword [ICR_LO], 0x00004500
	mov dword [ICR_HI], 1 << 24
	mov dword [ICR_LO], 0x00004608
	mov eax, [ncpu]
	call wait_started
	jne fail_3
	mov ecx, 200000
.spin3:
	pause
	loop .spin3
	mov eax, [ncpu]
	cmp [STARTED], eax
	jne fail_3

	; 4. the IDs: 1 .. n-1 once each in the first round, then 1
	mov ecx, [ncpu]
	dec ecx
	xor edx, edx                     ; bit per ID seen
.ids:
	movzx eax, byte [IDS + ecx - 1]
	bts edx, eax
	loop .ids
	mov eax, 1
	mov ecx, [ncpu]
	shl eax, cl
	sub eax, 2                       ; bits 1 .. n-1
	cmp edx, eax
	jne fail_4
	mov ecx, [ncpu]
	cmp byte [IDS + ecx - 1], 1
	jne fail_4

%ifdef SELFINIT
	mov esi, msg_selfinit
	call print
	mov dword [ICR_LO], 0x00044500   ; self, INIT: the BSP
	mov ecx, 100000
.wait:
	pause
	loop .wait
	mov esi, msg_alive
	call print
	mov al, 1
	out 0xf4, al
%endif
	mov esi, msg_ok
	call print
	xor eax, eax
	out 0xf4, al
	hlt

; Waits (with PAUSE) until [STARTED] == eax; ZF set if it came.
wait_started:
	mov ecx, 10000000
.w:
	cmp [STARTED], eax
	je .done
	pause
	loop .w
	cmp [STARTED], eax
.done:
	ret

fail_count: mov esi, msg_count
	jmp fail
fail_1: mov esi, msg_1
	jmp fail
fail_2: mov esi, msg_2
	jmp fail
fail_3: mov esi, msg_3
	jmp fail
fail_4: mov esi, msg_4
fail:
	call print
	mov al, 1
	out 0xf4, al
	hlt

print:
	lodsb
	test al, al
	jz .e
	out 0xe9, al
	jmp print
.e:
	ret

; Real-mode code of an AP, copied to TRAMP (position-independent but for
; its absolute stores, which go through DS = 0).
bits 16
ap_code:
	cli
	xor ax, ax
	mov ds, ax
	; its APIC ID: unreal-mode access is not needed, the ID is also in
	; the MP table order; read the LAPIC through a 32-bit address
	; override in real mode after loading a 4 GiB DS limit (big real mode)
	lgdt [TRAMP + (ap_gdtr - ap_code)]
	mov eax, cr0
	or al, 1
	mov cr0, eax
	mov bx, 8
	mov ds, bx
	and al, 0xfe
	mov cr0, eax
	xor bx, bx                ; DS = 0, its 4 GiB limit kept
	mov ds, bx
	mov edx, [dword APIC + 0x20]
	shr edx, 24
	mov ax, 1
	lock xadd [STARTED], ax
	mov bx, ax
	mov [IDS + bx], dl
.halt:
	hlt
	jmp .halt
ap_gdt:
	dq 0
	dq 0x008f92000000ffff     ; data, base 0, limit 4 GiB
ap_gdtr:
	dw 15
	dd TRAMP + (ap_gdt - ap_code)
ap_end:

bits 32
ncpu: dd 0
msg_count: db "smp: fewer than 2 CPUs in the MP table", 10, 0
msg_1: db "smp: INIT and start-up to all but self did not start every AP once", 10, 0
msg_2: db "smp: a start-up IPI started a CPU that was running", 10, 0
msg_3: db "smp: INIT and start-up to APIC ID 1 did not restart it alone", 10, 0
msg_4: db "smp: the APs did not see their own APIC IDs", 10, 0
msg_selfinit: db "smp: INIT to self", 10, 0
msg_alive: db "smp: still running after INIT to itself", 10, 0
msg_ok: db "smp ok", 10, 0
