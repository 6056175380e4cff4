; swtch.asm - switch from one kernel thread to another.
;
; void swtch(struct context **old, struct context *new);
;
; Saves the callee-saved registers on the current stack, stores the stack
; pointer (which is then a struct context *) in *old, loads new as the stack
; pointer and pops the registers that were saved there. The RET returns into
; whoever called swtch() on that stack - or, for a new process, into forkret.

section .text
bits 32
global swtch
swtch:
	mov eax, [esp + 4]		; old
	mov edx, [esp + 8]		; new
	push ebp
	push ebx
	push esi
	push edi
	mov [eax], esp
	mov esp, edx
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret
