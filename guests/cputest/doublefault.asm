; doublefault.asm - double faults through a task gate (doublefault.rom).
;
; Vector 8 is a task gate to TSS_DF, so the #DF handler runs on its own
; stack even when the faulting task's stack is unusable. The handler task
; records the error code (always 0), its back link and the state saved in
; TSS0, moves TSS0's EIP/ESP to a continuation and IRETs back.
;
;   A: contributory during contributory: #GP whose gate points at a data
;      segment -> #GP during #GP delivery -> #DF
;   B: page fault during page-fault delivery: the ring-0 stack lies in a
;      not-present page, a PUSH faults and the #PF frame cannot be pushed
;   C: contributory during page-fault delivery: the #PF gate points at a
;      data segment -> #GP while delivering #PF -> #DF
;   D: benign then contributory is NOT a double fault: INT3 through a bad
;      gate raises a plain #GP(selector)

%include "rom.inc"
        ROM_START
%include "cputest.inc"

SEL_TSSDF  equ 0x40
TSS_DF     equ TSS_EXTRA
DF_STACK   equ STACK_SPARE_TOP
PD         equ PT_AREA
PT0        equ PT_AREA + 0x1000
NP_PAGE    equ 0x300000             ; not present in the identity map

DF_COUNT   equ DATA_BUF + 0x00      ; #DF handler runs
DF_ERR     equ DATA_BUF + 0x04      ; error code it found on its stack
DF_LINK    equ DATA_BUF + 0x08      ; its TSS back link
DF_EIP     equ DATA_BUF + 0x0C      ; TSS0.EIP saved by the switch
DF_ESP     equ DATA_BUF + 0x10      ; TSS0.ESP saved by the switch
DF_CR2     equ DATA_BUF + 0x14
DF_NT      equ DATA_BUF + 0x18      ; EFLAGS.NT in the handler task
DF_CONT    equ DATA_BUF + 0x20      ; where the faulting task continues
DF_CONTESP equ DATA_BUF + 0x24      ;   and with which ESP

        bits 16
entry:
        RM_INIT
        ENTER_PM32 pm_main

        bits 32
; the #DF handler task
df_task:
        pop eax                         ; the #DF error code
        mov [DF_ERR], eax
        inc dword [DF_COUNT]
        mov eax, [TSS_DF + TSS_LINK]
        mov [DF_LINK], eax
        mov eax, [TSS0_BASE + TSS_EIP]
        mov [DF_EIP], eax
        mov eax, [TSS0_BASE + TSS_ESP]
        mov [DF_ESP], eax
        mov eax, cr2
        mov [DF_CR2], eax
        pushfd
        pop eax
        and eax, FL_NT
        mov [DF_NT], eax
        ; resume the interrupted task somewhere sane
        mov eax, [DF_CONT]
        mov [TSS0_BASE + TSS_EIP], eax
        mov eax, [DF_CONTESP]
        mov [TSS0_BASE + TSS_ESP], eax
        clts
        iretd
        jmp df_task

; arm: the interrupted task continues at EAX with the current ESP
%macro DF_ARM 1
        mov dword [DF_COUNT], 0
        mov dword [DF_ERR], -1
        mov dword [DF_CONT], %1
        mov [DF_CONTESP], esp
%endmacro

pm_main:
        POST 0x20
        PUTSLN "doublefault: #DF through a task gate"
        ; the #DF task
        mov edi, TSS_DF
        mov ecx, TSS_SIZE / 4
        xor eax, eax
        cld
        rep stosd
        mov dword [TSS_DF + TSS_EIP], df_task
        mov dword [TSS_DF + TSS_ESP], DF_STACK
        mov dword [TSS_DF + TSS_EFLAGS], FL_FIXED1
        mov dword [TSS_DF + TSS_CS], SEL_CODE32
        mov dword [TSS_DF + TSS_SS], SEL_DATA32
        mov dword [TSS_DF + TSS_DS], SEL_DATA32
        mov dword [TSS_DF + TSS_ES], SEL_DATA32
        mov dword [TSS_DF + TSS_FS], SEL_DATA32
        mov dword [TSS_DF + TSS_GS], SEL_DATA32
        mov word [TSS_DF + TSS_IOMAP], TSS_SIZE
        GDT_DESC SEL_TSSDF, TSS_DF, TSS_SIZE - 1, ACC_P|SYS_TSS32_AVAIL, 0
        IDT_GATE VEC_DF, 0, SEL_TSSDF, ACC_P|SYS_TASK

        ; --- A: #GP during #GP delivery ------------------------------------------
        IDT_GATE VEC_GP, exc_stub_13, SEL_DATA32, ACC_P|SYS_INT32   ; broken gate
        DF_ARM .a_done
        mov ax, 0x800                   ; beyond the GDT limit: #GP(0x800)
.a_fault:
        mov ds, ax
        PUTSLN "FAIL: doublefault A did not fault"
.a_done:
        mov ax, SEL_DATA32
        mov ds, ax
        clts
        IDT_GATE VEC_GP, exc_stub_13, SEL_CODE32, ACC_P|SYS_INT32   ; repaired
        CHECK_EQ "A #GP during #GP delivery: one #DF", [DF_COUNT], 1
        CHECK_EQ "A #DF error code is 0", [DF_ERR], 0
        CHECK_EQ "A #DF task: back link to TSS0", [DF_LINK], SEL_TSS0
        CHECK_EQ "A #DF task: NT set", [DF_NT], FL_NT
        CHECK_EQ "A saved EIP: the instruction of the first fault", [DF_EIP], .a_fault
        CHECK_EQ "A saved ESP: unchanged", [DF_ESP], [DF_CONTESP]
        movzx eax, byte [GDT_BASE + SEL_TSSDF + 5]
        CHECK_EQ "A #DF task not busy after IRET", eax, ACC_P|SYS_TSS32_AVAIL

        ; --- paging for B and C: identity map with NP_PAGE missing --------------
        mov edi, PT0
        mov eax, PTE_P | PTE_W
        mov ecx, 1024
.id:    stosd
        add eax, 0x1000
        loop .id
        mov dword [PT0 + (NP_PAGE >> 12) * 4], 0
        mov edi, PD
        mov ecx, 1024
        xor eax, eax
        rep stosd
        mov dword [PD], PT0 | PTE_P | PTE_W
        mov eax, PD
        mov cr3, eax
        mov [TSS_DF + TSS_CR3], eax
        mov [TSS0_BASE + TSS_CR3], eax
        mov eax, cr0
        or eax, CR0_PG
        mov cr0, eax
        jmp .paged
.paged:

        ; --- B: #PF during #PF delivery (ring-0 stack not present) --------------
        DF_ARM .b_done
        mov ebx, esp
        mov esp, NP_PAGE + 0x1000
.b_fault:
        push eax                        ; #PF; pushing its frame: #PF again
        mov esp, ebx
        PUTSLN "FAIL: doublefault B did not fault"
.b_done:
        clts
        CHECK_EQ "B #PF during #PF delivery: one #DF", [DF_COUNT], 1
        CHECK_EQ "B #DF error code is 0", [DF_ERR], 0
        CHECK_EQ "B saved EIP: the faulting PUSH", [DF_EIP], .b_fault
        CHECK_EQ "B saved ESP: in the not-present page", [DF_ESP], NP_PAGE + 0x1000
        CHECK_EQ "B CR2: the stack address", [DF_CR2], NP_PAGE + 0xFFC

        ; --- C: #GP during #PF delivery ------------------------------------------
        IDT_GATE VEC_PF, exc_stub_14, SEL_DATA32, ACC_P|SYS_INT32   ; broken gate
        DF_ARM .c_done
.c_fault:
        mov eax, [NP_PAGE + 0x123]
        PUTSLN "FAIL: doublefault C did not fault"
.c_done:
        clts
        IDT_GATE VEC_PF, exc_stub_14, SEL_CODE32, ACC_P|SYS_INT32
        CHECK_EQ "C #GP during #PF delivery: one #DF", [DF_COUNT], 1
        CHECK_EQ "C #DF error code is 0", [DF_ERR], 0
        CHECK_EQ "C saved EIP: the faulting load", [DF_EIP], .c_fault
        CHECK_EQ "C CR2: the load address", [DF_CR2], NP_PAGE + 0x123

        ; --- D: benign (INT3) then contributory: a plain #GP ------------------
        IDT_GATE VEC_BP, exc_stub_3, SEL_DATA32, ACC_P|SYS_INT32    ; broken gate
        DF_ARM .d_df
        TRY .d_done
        int3
        END_TRY
.d_df:  PUTSLN "FAIL: doublefault D raised #DF"
.d_done:
        IDT_GATE VEC_BP, exc_stub_3, SEL_CODE32, ACC_P|SYS_INT32
        CHECK_EXC "D INT3 through a bad gate: #GP(selector), no #DF", VEC_GP, SEL_DATA32
        CHECK_EQ "D no #DF", [DF_COUNT], 0

        mov eax, cr0
        and eax, ~CR0_PG
        mov cr0, eax
        jmp .unpaged
.unpaged:
        TEST_DONE

        ROM_END entry
