; guests/tinyvmm/world.asm - the world switch of tinyvmm's trap path
; without the assist (docs/monitor.md, section 8, "The faithful trap path").
;
; Everything here lies in one page-aligned block that tinyvmm maps, besides
; its place in tinyvmm's own memory, into the linear range it reserves in
; every shadow address space of its guest (supervisor-only). The code runs
; at that second address while the guest's shadow CR3 is loaded, so it
; finds its data position-independently (EBX = the distance between the
; two addresses) until CR3 is tinyvmm's own again.
;
;   world_stubs   256 entry stubs, 16 bytes apart, one per IDT vector: the
;                 error code (or -1 where the CPU pushes none), the vector
;   world_trap    saves the guest's state on the trap stack (the frame of
;                 struct wframe in main.c) and returns from world_enter;
;                 an event of tinyvmm itself (CPL 0) goes to world_host_event
;   world_enter   (frame, cr3): loads the shadow CR3 and IRETs to the guest
;                 from the frame; returns when the guest traps
;   world_idt, world_tss, the trap stack (TSS ESP0 = world_stack_top)

bits 32

section .note.GNU-stack noalloc noexec nowrite progbits
section .data.world progbits alloc exec write align=4096

global world_start, world_end, world_stubs, world_enter, world_idt, world_tss
global world_stack_top, world_host_cr3, world_host_event, world_frame
global world_flat_ds, world_flat_es

world_start:

world_host_cr3:   dd 0   ; tinyvmm's own page directory
world_host_event: dd 0   ; void (*)(struct wregs *): an event at CPL 0, tinyvmm's own
world_host_esp:   dd 0   ; tinyvmm's stack inside world_enter
world_frame:      dd 0   ; where the last trap of the guest left its frame (reserved-range address)
world_flat_ds:    dd 0   ; the guest's DS selector if its segment is flat read/write data, else -1
world_flat_es:    dd 0   ; ... the same for ES

align 16
world_stubs:
%assign v 0
%rep 256
	align 16
%if v == 8 || (v >= 10 && v <= 14) || v == 17
	push dword v
%else
	push dword -1
	push dword v
%endif
	jmp world_trap
%assign v v + 1
%endrep

world_trap:
	pusha
	cld                             ; the C code expects DF clear
	test dword [esp + 48], 0x20000  ; the interrupted EFLAGS has VM: the guest's v86 code
	jnz .guest
	test byte [esp + 44], 3         ; interrupted CS with RPL 3: the guest
	jnz .guest
	; An event while tinyvmm itself ran (an NMI, an interrupt while it waits
	; in HLT, or a fault of its own): handled on the current stack with
	; tinyvmm's own CR3, then back where it came from. In tinyvmm's world
	; DS and ES are flat already; in world_enter, once the guest's CR3 is
	; loaded, they may be the guest's: tinyvmm's data segment meanwhile.
	call .pic1
.pic1:	pop ebx
	sub ebx, .pic1
	mov eax, cr3
	push eax
	cmp eax, [ss:ebx + world_host_cr3]
	je .own
	push ds
	push es
	mov ax, ss
	mov ds, ax
	mov es, ax
	mov eax, [ss:ebx + world_host_cr3]
	mov cr3, eax
	lea eax, [esp + 12]             ; the PUSHA block: struct wregs
	push eax
	call [ss:ebx + world_host_event]
	add esp, 4
	pop es
	pop ds
	pop eax
	mov cr3, eax
	jmp .back
.own:	lea eax, [esp + 4]
	push eax
	call [ss:ebx + world_host_event]
	add esp, 8
.back:	popa
	add esp, 8
	iret

.guest:
	push ds
	push es
	push fs
	push gs
	call .pic2
.pic2:	pop ebx
	sub ebx, .pic2
	mov [ss:ebx + world_frame], esp
	; DS and ES must be flat data for tinyvmm's C code: the guest's are
	; kept if they are (a segment load is an exit of its own when tinyvmm
	; runs under a monitor), else SS0 from the TSS, tinyvmm's data segment.
	mov ax, ss
	mov ecx, ds
	cmp ecx, [ss:ebx + world_flat_ds]
	je .ds_ok
	mov ds, ax
.ds_ok:	mov ecx, es
	cmp ecx, [ss:ebx + world_flat_es]
	je .es_ok
	mov es, ax
.es_ok:	mov eax, [ebx + world_host_cr3]
	mov cr3, eax
	mov esp, [world_host_esp]       ; tinyvmm's own memory is mapped again
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret                             ; from world_enter

; void world_enter(uint32_t frame, uint32_t cr3), called at its address in
; the reserved range.
world_enter:
	push ebp
	push ebx
	push esi
	push edi
	mov [world_host_esp], esp
	mov eax, [esp + 20]
	mov ecx, [esp + 24]
	mov esp, eax
	mov cr3, ecx                    ; from here on only the reserved range is tinyvmm's
	; The guest's data segments, each loaded only if it is not the one
	; there (the shadow entries hold them: vmm_install_segments).
%macro load_seg 1
	mov eax, %1
	cmp ax, [esp]
	je %%same
	mov %1, [esp]
%%same:	add esp, 4
%endmacro
	load_seg gs
	load_seg fs
	load_seg es
	load_seg ds
	popa
	add esp, 8
	iret

align 8
world_idt: times 256 * 8 db 0
world_tss: times 104 db 0
align 16
world_stack: times 4096 db 0
world_stack_top: times 64 db 0   ; the frame of a v86 trap reaches 16 bytes past the top of a 32-bit one

align 4096
world_end:
