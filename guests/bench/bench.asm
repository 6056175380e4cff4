; bench.asm - CPU-bound benchmark ROM for nestlab, QEMU and Bochs.
;
; A 64 KiB reset-vector ROM (nasm -f bin) that runs the same, exactly known
; number of instructions on every emulator, so that instructions per second
; can be compared side by side (tests/bench/bench.py, docs/benchmarks.md).
;
;   reset (F000:FFF0, real mode)
;     -> flat 32-bit protected mode (GDT in this ROM, no paging, no interrupts)
;     -> kernel A: load/ALU/store passes over a small RAM array (stays in cache)
;     -> kernel B: recursive Fibonacci (CALL/RET/PUSH/POP heavy)
;     -> "csum=XXXXXXXX\n" to port 0xE9 (debug console)
;     -> status 0 to port 0xF4 (nestlab board, QEMU isa-debug-exit)
;     -> "Shutdown" to port 0x8900 (Bochs; never reached on the others)
;
; Address map while it runs:
;
;   0x00000000  +------------------------+
;               |  (unused)              |
;   ARRAY_BASE  +------------------------+  0x00010000
;               |  kernel A array        |  A_WORDS dwords
;               +------------------------+
;               |  (unused)              |
;   STACK_TOP   +------------------------+  0x00090000, grows down
;               |  ...                   |
;   ROM_LOW     +------------------------+  0x000F0000, this ROM (alias)
;               |  code, GDT, strings    |  32-bit code runs from here
;   1 MiB       +------------------------+
;               |  ...                   |
;   4 GiB-64K   +------------------------+  this ROM (reset vector fetch)
;
; 32-bit code runs from the alias below 1 MiB so it works whatever the A20
; gate says.  Only the reset vector and the real-mode prologue run from the
; top of the address space.
;
; Instruction count
; -----------------
; The tunables below are assemble-time constants; override them with
; nasm -DNAME=VALUE to make the short (start-up cost) and long variants.
; Every instruction retired up to and including the OUT to port 0xF4 is
; counted (the Bochs shutdown sequence after it is not):
;
;   W = A_WORDS, P = A_PASSES, R = B_REPS, N = B_N
;   T(0) = T(1) = 3,  T(n) = 13 + T(n-1) + T(n-2)   (one fib(n) call, from
;                                                     its first instruction
;                                                     to its final RET)
;   TOTAL =  15                       reset jump + prologue
;         +  3 + 5*W                  array init
;         +  3 + P*(5 + 10*W)         kernel A
;         +  3 + 5*W + 2              array checksum
;         +  1 + R*(6 + T(N))         kernel B
;         +  2 + 4*5                  "csum=" prefix
;         +  1 + 7*8                  eight hex digits
;         +  2                        newline
;         +  2                        exit write to 0xF4
;
; The total is computed below at assemble time and stored in the ROM after
; the tag "NLBENCH1" (little-endian: dq TOTAL, dd W, P, R, N), where the
; benchmark driver reads it.  tests/bench/bench.py --check-count verifies it
; against QEMU single-stepping.

%ifndef A_WORDS
%define A_WORDS		1024		; dwords in the kernel A array (4 KiB)
%endif
%ifndef A_PASSES
%define A_PASSES	75000		; passes of kernel A over the array
%endif
%ifndef B_REPS
%define B_REPS		375		; calls of fib(B_N) in kernel B
%endif
%ifndef B_N
%define B_N		25		; argument of each top-level fib call
%endif

ROM_SIZE	equ	0x10000
ROM_LOW		equ	0x100000 - ROM_SIZE	; alias of the ROM below 1 MiB
ROM_SEG		equ	ROM_LOW >> 4		; real-mode segment of the alias
ARRAY_BASE	equ	0x00010000
STACK_TOP	equ	0x00090000

PORT_DEBUGCON	equ	0xE9		; debug console: one byte per write
PORT_EXIT	equ	0xF4		; board exit / QEMU isa-debug-exit
PORT_BOCHS_SHUTDOWN equ	0x8900		; Bochs: write "Shutdown" to quit

CR0_PE		equ	1 << 0

SEL_CODE32	equ	0x08
SEL_DATA32	equ	0x10

; --- the expected instruction count, computed by the formula above ---
%assign fib_t_prev 3			; T(n-1)
%assign fib_t_cur 3			; T(n)
%assign fib_n 1
%rep B_N - 1
%assign fib_t_next 13 + fib_t_cur + fib_t_prev
%assign fib_t_prev fib_t_cur
%assign fib_t_cur fib_t_next
%assign fib_n fib_n + 1
%endrep
%if B_N < 1
%error "B_N must be at least 1"
%endif

%assign INSN_TOTAL 15 + (3 + 5*A_WORDS) + (3 + A_PASSES*(5 + 10*A_WORDS)) \
	+ (3 + 5*A_WORDS + 2) + (1 + B_REPS*(6 + fib_t_cur)) \
	+ (2 + 4*5) + (1 + 7*8) + 2 + 2

	bits	16
	org	0

; ---------------------------------------------------------------------------
; Real-mode prologue (entered from the reset vector at the end of the ROM).
; The reset JMP + 9 real-mode instructions + 5 in pm_entry = 15.
; ---------------------------------------------------------------------------
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

; Array init with a Weyl sequence: 3 + 5*W instructions.
	mov	edi, ARRAY_BASE
	mov	ecx, A_WORDS
	mov	eax, 0x12345678
.fill:
	mov	[edi], eax
	add	eax, 0x9E3779B9
	add	edi, 4
	dec	ecx
	jnz	.fill

; ---------------------------------------------------------------------------
; Kernel A: P passes of load / ALU / store over W dwords.
; 3 + P*(5 + 10*W) instructions.
; ---------------------------------------------------------------------------
kernel_a:
	mov	ebx, 1
	mov	edx, 0x2545F491
	mov	ebp, A_PASSES
.pass:
	mov	esi, ARRAY_BASE
	mov	ecx, A_WORDS
.elem:
	mov	eax, [esi]		; load
	add	eax, ebx		; ALU
	rol	eax, 5
	xor	eax, edx
	mov	[esi], eax		; store
	movzx	edi, byte [esi + 1]	; narrow load
	add	ebx, edi
	add	esi, 4
	dec	ecx
	jnz	.elem
	add	edx, 0x6D2B79F5
	dec	ebp
	jnz	.pass

; Array checksum: 3 + 5*W + 2 instructions.  Leaves it in EDX.
	mov	esi, ARRAY_BASE
	mov	ecx, A_WORDS
	mov	eax, ebx
.sum:
	add	eax, [esi]
	rol	eax, 1
	add	esi, 4
	dec	ecx
	jnz	.sum
	xor	eax, edx
	mov	edx, eax

; ---------------------------------------------------------------------------
; Kernel B: R calls of the doubly recursive fib(N), folded into EDX.
; 1 + R*(6 + T(N)) instructions.
; ---------------------------------------------------------------------------
	mov	edi, B_REPS
.rep:
	mov	eax, B_N
	call	fib
	add	edx, eax
	rol	edx, 3
	dec	edi
	jnz	.rep

%include "report.inc"

; fib: EAX = n -> EAX = fib(n); preserves every other register.
; n < 2: 3 instructions (CMP, JB, RET); otherwise 13 plus the two callees.
fib:
	cmp	eax, 2
	jb	.done
	push	ebx
	push	eax
	dec	eax
	call	fib
	mov	ebx, eax
	pop	eax
	sub	eax, 2
	call	fib
	add	eax, ebx
	pop	ebx
.done:
	ret

; ---------------------------------------------------------------------------
; Data
; ---------------------------------------------------------------------------
	align	8
gdt:
	dq	0				; null descriptor
	dq	0x00CF9A000000FFFF		; 0x08: code, base 0, 4 GiB, 32-bit
	dq	0x00CF92000000FFFF		; 0x10: data, base 0, 4 GiB, 32-bit
gdt_end:

gdt_ptr:
	dw	gdt_end - gdt - 1
	dd	ROM_LOW + gdt

%include "report-data.inc"

; Parameters and expected count, for the benchmark driver.
	align	8
bench_info:
	db	"NLBENCH1"
	dq	INSN_TOTAL
	dd	A_WORDS, A_PASSES, B_REPS, B_N

%if csum_prefix_len != 5
%error "csum prefix length is part of the instruction count"
%endif

; ---------------------------------------------------------------------------
; Reset vector: F000:FFF0 (physical 0xFFFFFFF0).
; ---------------------------------------------------------------------------
	times	0xFFF0 - ($ - $$) db 0xFF
	bits	16
reset:
	jmp	start
	times	ROM_SIZE - ($ - $$) db 0xFF
