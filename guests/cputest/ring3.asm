; ring3.asm - ring 3 code and privilege checks (ring3.rom).
;
; Ring 0 drops to ring 3 with IRET (RING3_BEGIN). At CPL 3 with IOPL 0 every
; privileged instruction must raise #GP(0), I/O instructions must raise #GP
; (TSS0's I/O bitmap denies every port), segment loads of more privileged
; selectors #GP(selector), INT n through a DPL-0 gate #GP(vector*8+2), and
; POPF must silently keep IF and IOPL. With IOPL 3, CLI/STI/OUT work at ring
; 3, POPF changes IF but still not IOPL, and HLT still faults. At ring 1
; the rule is CPL <= IOPL: with IOPL 1, CLI and OUT work, with IOPL 0 they
; fault; HLT faults at any CPL above 0. Ring 3 (and ring 1) code stores
; what it sees in RESULTS; ring 0 checks it after RING3_END.

%include "rom.inc"
        ROM_START
%include "cputest.inc"

RESULTS equ DATA_BUF            ; 8 bytes per case: vector, error code
SEL_R1CODE equ 0x40 | 1         ; ring 1, flat, 32-bit
SEL_R1DATA equ 0x48 | 1
SAVED   equ DATA_BUF + 0x800    ; CR0 / GDTR / IDTR images for ring 3 to reuse
OBS     equ DATA_BUF + 0x900    ; other ring 3 observations

; The privileged-instruction cases, used twice: once to run them at ring 3
; (R3_RUN) and once to check the results at ring 0 (R3_CHECK).
;   ITEM "name", expected vector, expected error code, {instructions}
%macro PRIV_LIST 0
        ITEM "hlt", VEC_GP, 0, {hlt}
        ITEM "cli (IOPL 0)", VEC_GP, 0, {cli}
        ITEM "sti (IOPL 0)", VEC_GP, 0, {sti}
        ITEM "mov eax,cr0", VEC_GP, 0, {mov eax, cr0}
        ITEM "mov cr0,eax", VEC_GP, 0, {mov eax, [SAVED]}, {mov cr0, eax}
        ITEM "mov eax,cr3", VEC_GP, 0, {mov eax, cr3}
        ITEM "mov cr3,eax", VEC_GP, 0, {xor eax, eax}, {mov cr3, eax}
        ITEM "mov eax,cr4", VEC_GP, 0, {mov eax, cr4}
        ITEM "mov eax,dr7", VEC_GP, 0, {mov eax, dr7}
        ITEM "mov dr7,eax", VEC_GP, 0, {xor eax, eax}, {mov dr7, eax}
        ITEM "lgdt", VEC_GP, 0, {lgdt [SAVED + 8]}
        ITEM "lidt", VEC_GP, 0, {lidt [SAVED + 16]}
        ITEM "lldt", VEC_GP, 0, {xor eax, eax}, {lldt ax}
        ITEM "ltr", VEC_GP, 0, {mov ax, SEL_TSS0}, {ltr ax}
        ITEM "lmsw", VEC_GP, 0, {mov eax, [SAVED]}, {lmsw ax}
        ITEM "clts", VEC_GP, 0, {clts}
        ITEM "invlpg", VEC_GP, 0, {invlpg [DATA_BUF]}
        ITEM "invd", VEC_GP, 0, {invd}
        ITEM "wbinvd", VEC_GP, 0, {wbinvd}
        ITEM "rdmsr", VEC_GP, 0, {mov ecx, 0x174}, {rdmsr}
        ITEM "wrmsr", VEC_GP, 0, {mov ecx, 0x174}, {xor eax, eax}, {xor edx, edx}, {wrmsr}
        ITEM "in al,imm (IOPL 0, bitmap denies)", VEC_GP, 0, {in al, PORT_POST}
        ITEM "out dx,al (IOPL 0, bitmap denies)", VEC_GP, 0, {mov dx, PORT_DEBUGCON}, {out dx, al}
        ITEM "outsb (IOPL 0)", VEC_GP, 0, {mov dx, PORT_DEBUGCON}, {mov esi, SAVED}, {outsb}
        ITEM "insb (IOPL 0)", VEC_GP, 0, {mov dx, PORT_POST}, {mov edi, OBS + 0x80}, {insb}
        ITEM "rdtsc with CR4.TSD", VEC_GP, 0, {rdtsc}
        ITEM "mov ds,ring-0 data", VEC_GP, SEL_DATA32, {mov ax, SEL_DATA32}, {mov ds, ax}
        ITEM "mov ss,ring-0 data", VEC_GP, SEL_DATA32, {mov ax, SEL_DATA32}, {mov ss, ax}
        ITEM "mov ss,code segment", VEC_GP, SEL_UCODE32 & ~3, {mov ax, SEL_UCODE32}, {mov ss, ax}
        ITEM "mov es,beyond GDT limit", VEC_GP, 0x800, {mov ax, 0x803}, {mov es, ax}
        ITEM "jmp far to ring-0 code", VEC_GP, SEL_CODE32, {jmp SEL_CODE32:0}
        ITEM "int3 via DPL-0 gate", VEC_GP, VEC_BP * 8 + 2, {int3}
        ITEM "int 0x20 (empty gate)", VEC_GP, 0x20 * 8 + 2, {int 0x20}
%endmacro

; ring 3: run the instructions, store vector and error code
%macro R3_RUN 0
  %assign n 0
  %define ITEM R3_ITEM
        PRIV_LIST
  %undef ITEM
%endmacro
%macro R3_ITEM 4-*
        TRY_RESUME %%after
  %rotate 3
  %rep %0 - 3
        %1
    %rotate 1
  %endrep
        END_TRY
%%after:
        push dword SEL_UDATA32          ; a failed segment load may leave
        pop ds                          ; DS/ES unusable: reload them
        push dword SEL_UDATA32
        pop es
        mov eax, [V_EXC_VEC]
        mov [RESULTS + n * 8], eax
        mov eax, [V_EXC_ERR]
        mov [RESULTS + n * 8 + 4], eax
  %assign n n + 1
%endmacro

; ring 0: check what ring 3 stored
%macro R3_CHECK 0
  %assign n 0
  %define ITEM R0_ITEM
        PRIV_LIST
  %undef ITEM
%endmacro
%macro R0_ITEM 4-*
        CHECK_EQ {"ring 3 ", %1, " (vector)"}, [RESULTS + n * 8], %2
        CHECK_EQ {"ring 3 ", %1, " (error code)"}, [RESULTS + n * 8 + 4], %3
  %assign n n + 1
%endmacro

        bits 16
entry:
        RM_INIT
        ENTER_PM32 pm_main

        bits 32
pm_main:
        POST 0x20
        PUTSLN "ring3: privileged instructions at CPL 3, IOPL 0"
        ; images ring 3 hands to the privileged instructions (harmless values)
        mov eax, cr0
        mov [SAVED], eax
        sgdt [SAVED + 8]
        sidt [SAVED + 16]
        mov eax, cr4
        or eax, CR4_TSD
        mov cr4, eax
        mov dword [OBS + 0x80], 0

        ; IOPL 0, IF 0
        push dword FL_FIXED1
        popfd
        RING3_BEGIN .back0
        R3_RUN
        ; where was the last fault taken from?
        mov eax, [V_EXC_CS]
        mov [OBS], eax
        mov eax, [V_EXC_SS]
        mov [OBS + 4], eax
        mov eax, [V_EXC_ESP]
        mov [OBS + 8], eax
        ; non-privileged system instructions work at ring 3
        sgdt [OBS + 0x10]
        str eax
        mov [OBS + 0x18], eax
        mov ax, cs
        mov [OBS + 0x1C], eax
        ; POPF at CPL 3 with IOPL 0: IF and IOPL silently stay 0
        push dword FL_FIXED1 | FL_IF | FL_IOPL3 | FL_CF
        popfd
        pushfd
        pop dword [OBS + 0x20]
        RING3_END
.back0:
        mov eax, cr4
        and eax, ~CR4_TSD
        mov cr4, eax
        R3_CHECK
        CHECK_EQ "fault from ring 3: saved CS", [OBS], SEL_UCODE32
        CHECK_EQ "fault from ring 3: saved SS", [OBS + 4], SEL_UDATA32
        CHECK_EQ "fault from ring 3: saved ESP", [OBS + 8], STACK3_TOP
        CHECK_EQ "insb at ring 3 wrote nothing", [OBS + 0x80], 0
        CHECK_EQ "sgdt at ring 3: limit", [OBS + 0x10], ((GDT_BASE & 0xFFFF) << 16) | (GDT_ENTRIES * 8 - 1)
        CHECK_EQ "str at ring 3", [OBS + 0x18], SEL_TSS0
        CHECK_EQ "CS at ring 3", [OBS + 0x1C], SEL_UCODE32
        CHECK_EQ "popf at ring 3, IOPL 0: IF and IOPL kept, CF set", [OBS + 0x20], FL_FIXED1 | FL_CF

        ; --- IOPL 3 ------------------------------------------------------------
        PUTSLN "ring3: CPL 3 with IOPL 3"
        push dword FL_FIXED1 | FL_IOPL3
        popfd
        RING3_BEGIN .back3
        TRY_RESUME .f1
        sti
        pushfd
        pop dword [OBS + 0x40]
        cli
        pushfd
        pop dword [OBS + 0x44]
        mov esi, iopl3_msg
        mov ecx, iopl3_msg_end - iopl3_msg
        mov dx, PORT_DEBUGCON
        rep outsb
        mov al, 0x33
        out PORT_POST, al
        mov dword [OBS + 0x48], 1       ; reached: no fault so far
        END_TRY
.f1:    TRY_RESUME .f2
        hlt
        END_TRY
.f2:    mov eax, [V_EXC_VEC]
        mov [OBS + 0x4C], eax
        ; POPF with IOPL 3 at CPL 3: IF follows, IOPL does not
        push dword FL_FIXED1 | FL_IF
        popfd
        pushfd
        pop dword [OBS + 0x50]
        cli
        RING3_END
.back3:
        push dword FL_FIXED1
        popfd
        CHECK_EQ "IOPL 3: sti at ring 3 sets IF", [OBS + 0x40], FL_FIXED1 | FL_IOPL3 | FL_IF
        CHECK_EQ "IOPL 3: cli at ring 3 clears IF", [OBS + 0x44], FL_FIXED1 | FL_IOPL3
        CHECK_EQ "IOPL 3: rep outsb / out at ring 3 do not fault", [OBS + 0x48], 1
        CHECK_EQ "IOPL 3: hlt at ring 3 still #GP", [OBS + 0x4C], VEC_GP
        CHECK_EQ "IOPL 3: popf at ring 3 sets IF, keeps IOPL", [OBS + 0x50], FL_FIXED1 | FL_IOPL3 | FL_IF

        ; --- ring 1: CPL <= IOPL decides ------------------------------------
        PUTSLN "ring3: CPL 1 with IOPL 1 and IOPL 0"
        GDT_DESC SEL_R1CODE, 0, 0xFFFFF, ACC_P|ACC_DPL1|ACC_CODE|ACC_READABLE, DF_G|DF_DB
        GDT_DESC SEL_R1DATA, 0, 0xFFFFF, ACC_P|ACC_DPL1|ACC_DATA|ACC_WRITABLE, DF_G|DF_DB
        mov ebx, 1 << FL_IOPL_SHIFT     ; IOPL 1
        mov edi, OBS + 0x60
        call run_ring1
        mov ebx, 0                      ; IOPL 0
        mov edi, OBS + 0x80
        call run_ring1
        CHECK_EQ "ring 1, IOPL 1: cli allowed", [OBS + 0x60], -1
        CHECK_EQ "ring 1, IOPL 1: out allowed", [OBS + 0x64], -1
        CHECK_EQ "ring 1, IOPL 1: hlt #GP", [OBS + 0x68], VEC_GP
        CHECK_EQ "ring 1, IOPL 1: popf sets IF, keeps IOPL", [OBS + 0x6C], FL_FIXED1 | (1 << FL_IOPL_SHIFT) | FL_IF
        CHECK_EQ "ring 1, IOPL 1: CS", [OBS + 0x70], SEL_R1CODE
        CHECK_EQ "ring 1, IOPL 0: cli #GP", [OBS + 0x80], VEC_GP
        CHECK_EQ "ring 1, IOPL 0: out #GP", [OBS + 0x84], VEC_GP
        CHECK_EQ "ring 1, IOPL 0: hlt #GP", [OBS + 0x88], VEC_GP
        CHECK_EQ "ring 1, IOPL 0: popf keeps IF and IOPL", [OBS + 0x8C], FL_FIXED1
        TEST_DONE

; run_ring1: RETF to ring 1 with IOPL from EBX; the ring-1 code stores
; the outcome of CLI, OUT, HLT, a POPF and its CS at EDI; back by RING3_END
run_ring1:
        pushad
        mov dword [V_R0_CONT], .back
        mov [V_R0_ESP], esp
        or ebx, FL_FIXED1
        push ebx
        popfd
        push dword SEL_R1DATA
        push dword STACK1_TOP
        push dword SEL_R1CODE
        push dword .r1
        retf
.r1:    mov ax, SEL_R1DATA
        mov ds, ax
        mov es, ax
        TRY_RESUME .c1
        cli
        END_TRY
.c1:    mov eax, [V_EXC_VEC]
        mov [edi], eax
        TRY_RESUME .c2
        mov al, 0x11
        out PORT_POST, al
        END_TRY
.c2:    mov eax, [V_EXC_VEC]
        mov [edi + 4], eax
        TRY_RESUME .c3
        hlt
        END_TRY
.c3:    mov eax, [V_EXC_VEC]
        mov [edi + 8], eax
        push dword FL_FIXED1 | FL_IF    ; try to set IF and clear IOPL
        popfd
        pushfd
        pop dword [edi + 12]
        push dword FL_FIXED1            ; IF off again (if it was allowed on)
        popfd
        mov ax, cs
        movzx eax, ax
        mov [edi + 16], eax
        RING3_END
.back:  push dword FL_FIXED1
        popfd
        popad
        ret

iopl3_msg:
        db "(written at ring 3 with IOPL 3)", 10
iopl3_msg_end:

        ROM_END entry
