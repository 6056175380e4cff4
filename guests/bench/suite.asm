; suite.asm - the workload set of the CPU benchmark: one ROM per instruction mix.
;
; The same reset-vector ROM frame as bench.asm (real-mode prologue, flat
; 32-bit protected mode, "csum=XXXXXXXX\n" on port 0xE9, exit through port
; 0xF4 on nestlab and QEMU and the shutdown port 0x8900 on Bochs), with one
; of six kernels chosen at assemble time:
;
;   nasm -f bin -DWORKLOAD=WL_ALU -DITERS=n suite.asm
;
;   WL_ALU     integer ALU on registers: ADD/SUB/ADC/SBB/AND/OR/XOR/NEG/NOT,
;              INC/DEC, LEA, IMUL, CMP/TEST with SETcc and CMOVcc
;   WL_SHIFT   shifts and rotates by 1, by an immediate and by CL (SHL, SHR,
;              SAR, ROL, ROR, RCL, RCR), SHLD/SHRD, BSWAP, BT/BTS
;   WL_MEM     loads and stores of 8, 16 and 32 bits with varied addressing
;              ([abs], [base], [base+disp8], [base+index*scale+disp32],
;              [esp+disp]), MOVZX/MOVSX, ALU with a memory operand, XCHG
;   WL_BRANCH  calls and returns (a recursive walk of an implicit tree), a
;              jump table (JMP [table+reg*4]), indirect CALL, data-dependent
;              Jcc, LOOP
;   WL_STRING  REP MOVSD/MOVSB, REP STOSD, LODSB/STOSB loops, REPE CMPSB,
;              REPNE SCASB over short and medium lengths
;   WL_PAGING  paging on, 4 KiB pages over 16 MiB: loads and stores that
;              touch 4096 pages in a scattered order (every access misses a
;              1024-entry TLB), a CR3 reload per pass, INVLPG
;   WL_SMC     (a test, not a benchmark) self-modifying code: patches of
;              the next instruction and writes through a second mapping
;
; ITERS is the number of passes of the kernel's outer loop; meson builds a
; long and a short ROM per workload (tests/bench/suite.py subtracts the
; short run to cancel start-up costs).  Each kernel folds what it computes
; into EDX, which the report prints; the driver checks that every emulator
; prints the same checksum and that it is the one recorded for the ROM.
;
; Address map while it runs (WL_PAGING maps all of it 1:1):
;
;   0x00000000  +------------------------+
;   DATA_BASE   +------------------------+  0x00010000
;               |  kernel data (64 KiB)  |
;   STACK_TOP   +------------------------+  0x00090000, grows down
;   ROM_LOW     +------------------------+  0x000F0000, this ROM (alias)
;   PT_BASE     +------------------------+  0x00200000, WL_PAGING's tables
;               |  page directory, 4 PTs |
;   TOUCH_BASE  +------------------------+  0x00400000 .. 0x01400000
;               |  pages WL_PAGING visits|
;               +------------------------+  32 MiB

WL_ALU		equ	1
WL_SHIFT	equ	2
WL_MEM		equ	3
WL_BRANCH	equ	4
WL_STRING	equ	5
WL_PAGING	equ	6
WL_SMC		equ	7			; a test, not a benchmark: see below

%ifndef WORKLOAD
%error "define WORKLOAD (WL_ALU ... WL_PAGING)"
%endif
%ifndef ITERS
%define ITERS 1
%endif

ROM_SIZE	equ	0x10000
ROM_LOW		equ	0x100000 - ROM_SIZE
ROM_SEG		equ	ROM_LOW >> 4
DATA_BASE	equ	0x00010000
DATA_SIZE	equ	0x10000
STACK_TOP	equ	0x00090000
PT_BASE		equ	0x00200000
TOUCH_BASE	equ	0x00400000
TOUCH_PAGES	equ	4096

PORT_DEBUGCON	equ	0xE9
PORT_EXIT	equ	0xF4
PORT_BOCHS_SHUTDOWN equ	0x8900

CR0_PE		equ	1 << 0
CR0_PG		equ	1 << 31
PTE_P		equ	1 << 0
PTE_RW		equ	1 << 1

SEL_CODE32	equ	0x08
SEL_DATA32	equ	0x10

; Page tables at PT_BASE mapping the first 32 MiB 1:1 with 4 KiB pages.
%macro map_32mib 0
	mov	edi, PT_BASE + 0x1000		; 8 page tables
	mov	ecx, 8 * 1024
	mov	eax, PTE_P | PTE_RW
%%pte:
	stosd
	add	eax, 0x1000
	dec	ecx
	jnz	%%pte
	mov	edi, PT_BASE			; page directory
	mov	eax, PT_BASE + 0x1000 + PTE_P + PTE_RW
	mov	ecx, 8
%%pde:
	stosd
	add	eax, 0x1000
	dec	ecx
	jnz	%%pde
	mov	ecx, 1024 - 8
	xor	eax, eax
	rep stosd
%endmacro

%macro paging_on 0
	mov	eax, PT_BASE
	mov	cr3, eax
	mov	eax, cr0
	or	eax, CR0_PG
	mov	cr0, eax
	jmp	%%on
%%on:
%endmacro

	bits	16
	org	0

start:
	cli
	cld
	mov	ax, ROM_SEG
	mov	ds, ax
	o32 lgdt [gdt_ptr]
	mov	eax, cr0
	or	al, CR0_PE
	mov	cr0, eax
	jmp	dword SEL_CODE32:(ROM_LOW + pm_entry)

	bits	32
pm_entry:
	mov	ax, SEL_DATA32
	mov	ds, ax
	mov	es, ax
	mov	ss, ax
	mov	esp, STACK_TOP

; Fill the data area with a Weyl sequence (every kernel starts from it).
	mov	edi, DATA_BASE
	mov	ecx, DATA_SIZE / 4
	mov	eax, 0x12345678
.fill:
	mov	[edi], eax
	add	eax, 0x9E3779B9
	add	edi, 4
	dec	ecx
	jnz	.fill
	xor	edx, edx
	mov	ebp, ITERS

%if WORKLOAD == WL_ALU
; ---------------------------------------------------------------------------
; Integer ALU on registers.
; ---------------------------------------------------------------------------
	mov	eax, 0x01234567
	mov	ebx, 0x89ABCDEF
	mov	esi, 0x0F1E2D3C
	mov	edi, 0x4B5A6978
.pass:
	mov	ecx, 256
.alu:
	add	eax, ebx
	adc	esi, 0x3779B9
	sub	ebx, edi
	sbb	edi, eax
	xor	eax, esi
	and	ebx, 0xFFF7FFFF
	or	esi, ecx
	inc	edi
	lea	eax, [eax + ebx*2 + 0x1234]
	imul	ebx, ebx, 0x2545F491
	not	esi
	neg	edi
	cmp	eax, ebx
	setb	dl
	add	eax, edx
	test	esi, 0x100
	cmovnz	ebx, esi
	dec	eax
	xor	edi, ebx
	sub	esi, eax
	dec	ecx
	jnz	.alu
	dec	ebp
	jnz	.pass
	xor	eax, ebx
	xor	eax, esi
	xor	eax, edi
	mov	edx, eax

%elif WORKLOAD == WL_SHIFT
; ---------------------------------------------------------------------------
; Shifts and rotates.
; ---------------------------------------------------------------------------
	mov	eax, 0x01234567
	mov	ebx, 0x89ABCDEF
	mov	esi, 0x0F1E2D3C
	mov	edi, 0x4B5A6978
.pass:
	mov	ecx, 256
.shift:
	rol	eax, 5
	xor	eax, ebx
	ror	ebx, 3
	add	ebx, esi
	shl	esi, 1
	adc	esi, edi
	shr	edi, 7
	xor	edi, eax
	push	ecx
	mov	ecx, eax
	and	cl, 15
	rol	ebx, cl
	sar	esi, cl
	shld	eax, ebx, 9
	shrd	edi, esi, cl
	pop	ecx
	rcl	eax, 1
	rcr	ebx, 2
	bswap	esi
	xor	esi, ebx
	bt	eax, ecx
	adc	edi, 0
	ror	edi, 1
	bts	ebx, edi
	dec	ecx
	jnz	.shift
	dec	ebp
	jnz	.pass
	xor	eax, ebx
	xor	eax, esi
	xor	eax, edi
	mov	edx, eax

%elif WORKLOAD == WL_MEM
; ---------------------------------------------------------------------------
; Loads and stores with varied addressing over the 64 KiB data area.
; ---------------------------------------------------------------------------
	sub	esp, 16
	mov	dword [esp + 4], 0x55AA55AA
.pass:
	mov	esi, DATA_BASE
	mov	ecx, 1024
	xor	ebx, ebx
.mem:
	mov	eax, [esi]			; [base]
	add	eax, [esi + 8]			; [base+disp8], ALU m32
	mov	edi, ebx
	and	edi, 0x3FF
	xor	eax, [DATA_BASE + 0x8000 + edi*4]	; [index*4+disp32]
	mov	[esi + 4], eax			; store [base+disp8]
	movzx	edi, byte [esi + edi + 3]	; [base+index+disp8]
	movsx	edx, word [esi + 2]		; sign-extended 16-bit load
	add	[DATA_BASE + 0x8000 + edi*4], edx	; read-modify-write m32
	mov	[esi + 12], dx			; 16-bit store
	mov	[esi + 1], al			; 8-bit store, unaligned
	add	ebx, [esp + 4]			; [esp+disp8]
	mov	[esp + 8], ebx
	xchg	eax, [esi + 16]			; locked exchange with memory
	add	[DATA_ACC], eax			; [abs]
	add	esi, 24
	dec	ecx
	jnz	.mem
	dec	ebp
	jnz	.pass
; Checksum the data area.
	mov	esi, DATA_BASE
	mov	ecx, DATA_SIZE / 4
	mov	eax, [DATA_ACC]
.sum:
	add	eax, [esi]
	rol	eax, 1
	add	esi, 4
	dec	ecx
	jnz	.sum
	add	esp, 16
	mov	edx, eax

%elif WORKLOAD == WL_BRANCH
; ---------------------------------------------------------------------------
; Calls, returns and branchy code.
; ---------------------------------------------------------------------------
	mov	ebx, 0x2545F491
.pass:
	mov	eax, 1
	call	walk				; recursive walk of a 255-node tree
	add	edx, eax
	mov	ecx, 64
.sw:
	imul	ebx, ebx, 1103515245		; pick a case from an LCG
	add	ebx, 12345
	mov	eax, ebx
	shr	eax, 29
	call	[ROM_LOW + call_table + eax*4]	; indirect CALL
	mov	eax, ebx
	shr	eax, 27
	and	eax, 3
	jmp	[ROM_LOW + jump_table + eax*4]	; jump table
.case0:
	add	edx, 3
	jmp	.next
.case1:
	xor	edx, ebx
	jmp	.next
.case2:
	rol	edx, 1
	jmp	.next
.case3:
	sub	edx, ebx
.next:
	test	ebx, 0x10000
	jz	.even
	inc	edx
.even:
	loop	.sw
	dec	ebp
	jnz	.pass
	jmp	branch_done

; walk: EAX = node (1..255); returns EAX = a hash of the subtree.
walk:
	cmp	eax, 128
	jae	.leaf
	push	eax
	add	eax, eax
	call	walk
	xchg	eax, [esp]
	add	eax, eax
	inc	eax
	call	walk
	pop	ecx
	lea	eax, [eax + ecx*2 + 1]
	ret
.leaf:
	test	al, 1
	jnz	.odd
	add	eax, 7
	ret
.odd:
	xor	eax, 0x55
	ret

f0:	add	edx, eax
	ret
f1:	xor	edx, 0x1234
	ret
f2:	sub	edx, eax
	ret
f3:	rol	edx, 3
	ret
f4:	inc	edx
	ret
f5:	lea	edx, [edx + eax*4]
	ret
f6:	not	edx
	ret
f7:	add	edx, ebx
	ret

	align	4
call_table:
	dd	ROM_LOW + f0, ROM_LOW + f1, ROM_LOW + f2, ROM_LOW + f3
	dd	ROM_LOW + f4, ROM_LOW + f5, ROM_LOW + f6, ROM_LOW + f7
jump_table:
	dd	ROM_LOW + pm_entry.case0, ROM_LOW + pm_entry.case1
	dd	ROM_LOW + pm_entry.case2, ROM_LOW + pm_entry.case3

branch_done:

%elif WORKLOAD == WL_STRING
; ---------------------------------------------------------------------------
; String instructions, short and medium lengths.
; ---------------------------------------------------------------------------
	mov	ebx, 1
.pass:
	mov	esi, DATA_BASE			; copy 1 KiB by dwords
	mov	edi, DATA_BASE + 0x8000
	mov	ecx, 256
	rep movsd
	mov	eax, ebx			; fill 256 bytes by dwords
	mov	edi, DATA_BASE + 0x4000
	mov	ecx, 64
	rep stosd
	mov	edx, 32				; 32 short byte copies
.short:
	mov	esi, DATA_BASE + 0x8000
	add	esi, edx
	mov	edi, DATA_BASE + 0xC000
	lea	ecx, [edx + 5]
	rep movsb
	dec	edx
	jnz	.short
	mov	esi, DATA_BASE + 0x8000		; transform 64 bytes one at a time
	mov	edi, DATA_BASE + 0x100
	mov	ecx, 64
.xf:
	lodsb
	add	al, bl
	stosb
	dec	ecx
	jnz	.xf
	mov	esi, DATA_BASE + 0x8000		; compare until the first difference
	mov	edi, DATA_BASE + 0x8000
	add	edi, ebx
	and	edi, ~3
	mov	ecx, 200
	repe cmpsb
	add	ebx, ecx
	mov	edi, DATA_BASE + 0x8000		; search a byte
	mov	al, bl
	mov	ecx, 300
	repne scasb
	add	ebx, ecx
	inc	ebx
	and	ebx, 0xFFF
	dec	ebp
	jnz	.pass
; Checksum the data area.
	mov	esi, DATA_BASE
	mov	ecx, DATA_SIZE / 4
	mov	eax, ebx
.sum:
	add	eax, [esi]
	rol	eax, 1
	add	esi, 4
	dec	ecx
	jnz	.sum
	mov	edx, eax

%elif WORKLOAD == WL_PAGING
; ---------------------------------------------------------------------------
; Paging with TLB misses: 4 KiB pages over the first 32 MiB, mapped 1:1.
; ---------------------------------------------------------------------------
	map_32mib
	paging_on
.paged:
	xor	ecx, ecx			; give every dword visited a value
.init:
	mov	esi, ecx
	imul	esi, esi, 1031
	and	esi, TOUCH_PAGES - 1
	shl	esi, 12
	mov	edi, ecx
	and	edi, 0x3FC
	mov	[TOUCH_BASE + esi + edi], ecx
	inc	ecx
	cmp	ecx, TOUCH_PAGES
	jb	.init
	mov	ebx, 0x9E3779B9
.pass:
	mov	eax, PT_BASE			; a CR3 load empties the TLB
	mov	cr3, eax
	xor	ecx, ecx
.touch:
	mov	esi, ecx			; page (ecx * 1031) mod 4096
	imul	esi, esi, 1031
	and	esi, TOUCH_PAGES - 1
	shl	esi, 12
	mov	edi, ecx
	and	edi, 0x3FC
	add	esi, edi			; an offset in the page
	mov	eax, [TOUCH_BASE + esi]
	add	eax, ebx
	mov	[TOUCH_BASE + esi], eax
	xor	edx, eax
	rol	edx, 1
	test	ecx, 255
	jnz	.same
	invlpg	[TOUCH_BASE + esi]
.same:
	inc	ecx
	cmp	ecx, TOUCH_PAGES
	jb	.touch
	add	ebx, 0x6D2B79F5
	dec	ebp
	jnz	.pass
	mov	eax, cr0			; paging off again for the report
	and	eax, ~CR0_PG
	mov	cr0, eax
	jmp	.unpaged
.unpaged:

%elif WORKLOAD == WL_SMC
; ---------------------------------------------------------------------------
; Self-modifying code (a test guest, not a benchmark): a routine copied to
; RAM patches the immediate of the instruction right after the store, then
; the opcode of the next one (INC/DEC), then an immediate through a second
; linear mapping of its page.
; ---------------------------------------------------------------------------
	map_32mib
	mov	dword [PT_BASE + 0x1000 + (SMC_ALIAS >> 12) * 4], SMC_CODE + PTE_P + PTE_RW
	paging_on
	mov	esi, ROM_LOW + smc_tmpl
	mov	edi, SMC_CODE
	mov	ecx, smc_tmpl_end - smc_tmpl
	rep movsb
.pass:
	mov	ecx, 256
.smc:
	mov	eax, SMC_CODE
	call	eax
	dec	ecx
	jnz	.smc
	dec	ebp
	jnz	.pass
	mov	eax, cr0
	and	eax, ~CR0_PG
	mov	cr0, eax
	jmp	.unpaged
.unpaged:
	jmp	report

SMC_CODE	equ	0x00020000		; where the routine runs
SMC_ALIAS	equ	0x00800000		; a second linear address of its page
%define SMC_AT(x) (SMC_CODE + (x) - smc_tmpl)

smc_tmpl:
	mov	[SMC_AT(smc_imm) + 2], ecx	; the imm32 of the next instruction
smc_imm:
	add	edx, strict dword 0x11111111
	mov	al, cl
	and	al, 8
	or	al, 0x42			; INC EDX (42) or DEC EDX (4A)
	mov	[SMC_AT(smc_op)], al
smc_op:
	inc	edx
	rol	edx, 5
	mov	eax, ecx
	and	eax, 0x7f
	mov	[SMC_ALIAS + (smc_alias - smc_tmpl) + 2], eax	; through the alias
	xor	edx, ecx
smc_alias:
	xor	edx, strict dword 0
	ret
smc_tmpl_end:

%else
%error "unknown WORKLOAD"
%endif

%include "report.inc"

; ---------------------------------------------------------------------------
; Data
; ---------------------------------------------------------------------------
	align	8
gdt:
	dq	0
	dq	0x00CF9A000000FFFF		; 0x08: code, base 0, 4 GiB, 32-bit
	dq	0x00CF92000000FFFF		; 0x10: data, base 0, 4 GiB, 32-bit
gdt_end:
gdt_ptr:
	dw	gdt_end - gdt - 1
	dd	ROM_LOW + gdt

%include "report-data.inc"

DATA_ACC	equ	DATA_BASE + DATA_SIZE - 4	; WL_MEM's [abs] operand

	align	8
	db	"NLSUITE1"
	dd	WORKLOAD, ITERS

	times	0xFFF0 - ($ - $$) db 0xFF
	bits	16
reset:
	jmp	start
	times	ROM_SIZE - ($ - $$) db 0xFF
