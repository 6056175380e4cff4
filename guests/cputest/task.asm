; task.asm - hardware task switching and the I/O permission bitmap (task.rom).
;
;   * JMP to a TSS: the outgoing state is saved in the old TSS, the new
;     task's registers are loaded, busy bits move (old cleared, new set),
;     NT stays 0, CR0.TS is set, JMP back resumes the first task
;   * CALL to a TSS: NT=1 and the back link in the new TSS; the caller stays
;     busy; IRET returns along the back link and clears the callee's busy bit
;   * CALL through a task gate in the GDT, INT n through a task gate in the
;     IDT; CALL to a busy TSS raises #GP(selector)
;   * ring 3 with IOPL 0: OUT is allowed exactly for the ports whose bits are
;     clear in TSS0's I/O bitmap (byte and word accesses), and every port is
;     denied when the I/O map base lies beyond the TSS limit

%include "rom.inc"
        ROM_START
%include "cputest.inc"

SEL_TSSA        equ 0x40
SEL_TSSB        equ 0x48
SEL_TGATE       equ 0x50            ; GDT task gate -> TSS A
SEL_TSSC        equ 0x58            ; task C: has an LDT
SEL_LDTC        equ 0x60            ; task C's LDT
SEL_TSSSHORT    equ 0x68            ; TSS descriptor with limit 0x50
LDTC            equ DATA_BUF + 0x800
LDTC_DATA       equ 0x08 | 4        ; LDT entry 1: data based at DATA_BUF + 0x900
TSSC            equ TSS_EXTRA + 0x400
STACK_C         equ STACK_SPARE_TOP - 0x3000
VEC_TASK        equ 0x40            ; IDT task gate -> TSS B
TSSA            equ TSS_EXTRA
TSSB            equ TSS_EXTRA + 0x200
STACK_A         equ STACK_SPARE_TOP
STACK_B         equ STACK_SPARE_TOP - 0x2000

PHASE   equ DATA_BUF                ; which experiment task A is part of
OBS     equ DATA_BUF + 0x100        ; 0x40 bytes per phase (see task_a)
OBS_B   equ DATA_BUF + 0x400
R3OBS   equ DATA_BUF + 0x500

        bits 16
entry:
        RM_INIT
        ENTER_PM32 pm_main

        bits 32
; init_tss: EDI = TSS, EBX = EIP, EDX = ESP, EAX = initial EAX
init_tss:
        pushad
        push edi
        push eax
        mov ecx, TSS_SIZE / 4
        xor eax, eax
        cld
        rep stosd
        pop eax
        pop edi
        mov [edi + TSS_EIP], ebx
        mov [edi + TSS_ESP], edx
        mov [edi + TSS_EAX], eax
        mov dword [edi + TSS_EFLAGS], FL_FIXED1
        mov dword [edi + TSS_CS], SEL_CODE32
        mov dword [edi + TSS_SS], SEL_DATA32
        mov dword [edi + TSS_DS], SEL_DATA32
        mov dword [edi + TSS_ES], SEL_DATA32
        mov dword [edi + TSS_FS], SEL_DATA32
        mov dword [edi + TSS_GS], SEL_DATA32
        mov eax, cr3
        mov [edi + TSS_CR3], eax
        mov word [edi + TSS_IOMAP], TSS_SIZE
        popad
        ret

; task A: record what it sees into OBS + PHASE*0x40, then go back by JMP
; (phase 1) or IRET (other phases). Each return resumes at the loop.
task_a:
        mov ebx, [PHASE]
        shl ebx, 6
        add ebx, OBS
        mov [ebx + 0x00], eax           ; EAX as loaded from TSS A
        str eax
        mov [ebx + 0x04], eax           ; TR
        pushfd
        pop eax
        mov [ebx + 0x08], eax           ; EFLAGS (NT)
        mov eax, [TSSA + TSS_LINK]
        mov [ebx + 0x0C], eax           ; back link
        movzx eax, byte [GDT_BASE + SEL_TSS0 + 5]
        mov [ebx + 0x10], eax           ; TSS0 access byte (busy bit)
        movzx eax, byte [GDT_BASE + SEL_TSSA + 5]
        mov [ebx + 0x14], eax           ; TSS A access byte
        mov eax, cr0
        and eax, CR0_TS
        mov [ebx + 0x18], eax           ; CR0.TS
        mov [ebx + 0x1C], esp
        clts
        mov eax, 0xA1A1A1A1             ; saved into TSS A on the way out
        cmp dword [PHASE], 1
        jne task_a_by_iret
        jmp SEL_TSS0:0
task_a_resume_jmp:
        jmp task_a
task_a_by_iret:
        iretd
task_a_resume_iret:
        jmp task_a

; task C: runs with its own LDT
task_c:
        sldt eax
        mov [OBS_B + 0x40], eax
        mov ax, LDTC_DATA
        mov es, ax
        mov eax, [es:0]                 ; DATA_BUF + 0x900 through the LDT
        mov [OBS_B + 0x44], eax
        clts
        iretd
        jmp task_c

; task B, reached through the IDT task gate
task_b:
        str eax
        mov [OBS_B + 0x00], eax
        pushfd
        pop eax
        mov [OBS_B + 0x04], eax
        mov eax, [TSSB + TSS_LINK]
        mov [OBS_B + 0x08], eax
        movzx eax, byte [GDT_BASE + SEL_TSSB + 5]
        mov [OBS_B + 0x0C], eax
        clts
        iretd
        jmp task_b

pm_main:
        POST 0x20
        PUTSLN "task: hardware task switches"
        mov edi, TSSA
        mov ebx, task_a
        mov edx, STACK_A
        mov eax, 0xA0A0A0A0
        call init_tss
        mov edi, TSSB
        mov ebx, task_b
        mov edx, STACK_B
        mov eax, 0xB0B0B0B0
        call init_tss
        GDT_DESC SEL_TSSA, TSSA, TSS_SIZE - 1, ACC_P|SYS_TSS32_AVAIL, 0
        GDT_DESC SEL_TSSB, TSSB, TSS_SIZE - 1, ACC_P|SYS_TSS32_AVAIL, 0
        GDT_GATE SEL_TGATE, 0, SEL_TSSA, ACC_P|SYS_TASK, 0
        IDT_GATE VEC_TASK, 0, SEL_TSSB, ACC_P|SYS_TASK

        ; --- phase 1: JMP to TSS A and JMP back ---------------------------------
        mov dword [PHASE], 1
        mov eax, 0x1111AAAA
        mov ebx, 0x2222BBBB
        mov esi, 0x3333CCCC
        jmp SEL_TSSA:0
main_resume_jmp:
        clts
        CHECK_EQ "jmp task: EAX loaded from the new TSS", [OBS + 0x40], 0xA0A0A0A0
        CHECK_EQ "jmp task: TR is the new TSS", [OBS + 0x44], SEL_TSSA
        CHECK_EQ "jmp task: NT not set", [OBS + 0x48], FL_FIXED1
        CHECK_EQ "jmp task: no back link", [OBS + 0x4C], 0
        CHECK_EQ "jmp task: old TSS no longer busy", [OBS + 0x50], ACC_P|SYS_TSS32_AVAIL
        CHECK_EQ "jmp task: new TSS busy", [OBS + 0x54], ACC_P|SYS_TSS32_BUSY
        CHECK_EQ "jmp task: CR0.TS set", [OBS + 0x58], CR0_TS
        CHECK_EQ "jmp task: ESP from the new TSS", [OBS + 0x5C], STACK_A
        CHECK_EQ "jmp task: old EIP saved in TSS0", [TSS0_BASE + TSS_EIP], main_resume_jmp
        CHECK_EQ "jmp task: old EBX saved in TSS0", [TSS0_BASE + TSS_EBX], 0x2222BBBB
        CHECK_EQ "jmp back: EAX restored from TSS0", eax, 0x1111AAAA
        CHECK_EQ "jmp back: ESI restored from TSS0", esi, 0x3333CCCC
        CHECK_EQ "jmp back: task A state saved (EIP)", [TSSA + TSS_EIP], task_a_resume_jmp
        CHECK_EQ "jmp back: task A state saved (EAX)", [TSSA + TSS_EAX], 0xA1A1A1A1
        str eax
        CHECK_EQ "jmp back: TR is TSS0 again", eax, SEL_TSS0
        movzx eax, byte [GDT_BASE + SEL_TSSA + 5]
        CHECK_EQ "jmp back: TSS A not busy", eax, ACC_P|SYS_TSS32_AVAIL

        ; --- phase 2: CALL to TSS A, IRET back ----------------------------------
        mov dword [PHASE], 2
        call SEL_TSSA:0
main_resume_call:
        clts
        CHECK_EQ "call task: NT set in the new task", [OBS + 0x88], FL_FIXED1 | FL_NT
        CHECK_EQ "call task: back link to TSS0", [OBS + 0x8C], SEL_TSS0
        CHECK_EQ "call task: caller TSS stays busy", [OBS + 0x90], ACC_P|SYS_TSS32_BUSY
        CHECK_EQ "call task: new TSS busy", [OBS + 0x94], ACC_P|SYS_TSS32_BUSY
        CHECK_EQ "call task: EAX as saved by the JMP", [OBS + 0x80], 0xA1A1A1A1
        pushfd
        pop eax
        and eax, FL_NT
        CHECK_EQ "iret from task: caller NT clear", eax, 0
        movzx eax, byte [GDT_BASE + SEL_TSSA + 5]
        CHECK_EQ "iret from task: callee no longer busy", eax, ACC_P|SYS_TSS32_AVAIL
        CHECK_EQ "iret from task: callee EIP saved after IRET", [TSSA + TSS_EIP], task_a_resume_iret

        ; --- phase 3: CALL through a task gate in the GDT ------------------------
        mov dword [PHASE], 3
        call SEL_TGATE:0
        clts
        CHECK_EQ "call task gate: TR in the new task", [OBS + 0xC4], SEL_TSSA
        CHECK_EQ "call task gate: back link", [OBS + 0xCC], SEL_TSS0

        ; --- INT n through a task gate in the IDT --------------------------------
        int VEC_TASK
        clts
        CHECK_EQ "int task gate: TR in the new task", [OBS_B + 0x00], SEL_TSSB
        CHECK_EQ "int task gate: NT set", [OBS_B + 0x04], FL_FIXED1 | FL_NT
        CHECK_EQ "int task gate: back link", [OBS_B + 0x08], SEL_TSS0
        CHECK_EQ "int task gate: new TSS busy", [OBS_B + 0x0C], ACC_P|SYS_TSS32_BUSY
        movzx eax, byte [GDT_BASE + SEL_TSSB + 5]
        CHECK_EQ "int task gate: busy cleared after IRET", eax, ACC_P|SYS_TSS32_AVAIL

        ; --- a task with its own LDT ------------------------------------------------
        mov edi, TSSC
        mov ebx, task_c
        mov edx, STACK_C
        mov eax, 0
        call init_tss
        mov dword [TSSC + TSS_LDT], SEL_LDTC
        mov dword [LDTC], 0
        mov dword [LDTC + 4], 0
        pushad
        mov edi, LDTC
        mov eax, LDTC_DATA
        mov ebx, DATA_BUF + 0x900
        mov ecx, 0xFF
        mov dl, ACC_P|ACC_DATA|ACC_WRITABLE
        mov dh, DF_DB
        call set_desc
        popad
        mov dword [DATA_BUF + 0x900], 0x1D7C0DE
        GDT_DESC SEL_LDTC, LDTC, 0x0F, ACC_P|SYS_LDT, 0
        GDT_DESC SEL_TSSC, TSSC, TSS_SIZE - 1, ACC_P|SYS_TSS32_AVAIL, 0
        xor eax, eax
        lldt ax                         ; the caller has no LDT
        call SEL_TSSC:0
        clts
        CHECK_EQ "task with an LDT: LDTR loaded from its TSS", [OBS_B + 0x40], SEL_LDTC
        CHECK_EQ "task with an LDT: load through a TI=1 selector", [OBS_B + 0x44], 0x1D7C0DE
        sldt eax
        CHECK_EQ "back from the task: caller's LDTR (null) restored", eax, 0

        ; --- TSS descriptor limit too small ---------------------------------------
        GDT_DESC SEL_TSSSHORT, TSSC, 0x50, ACC_P|SYS_TSS32_AVAIL, 0
        TRY .short
        jmp SEL_TSSSHORT:0
        END_TRY
.short: CHECK_EXC "jmp to a TSS with limit < 0x67: #TS(selector)", VEC_TS, SEL_TSSSHORT

        ; --- CALL to a busy TSS --------------------------------------------------
        TRY .busy
        call SEL_TSS0:0
        END_TRY
.busy:  CHECK_EXC "call to a busy TSS: #GP(selector)", VEC_GP, SEL_TSS0

        ; --- I/O permission bitmap at ring 3 with IOPL 0 ----------------------
        PUTSLN "task: I/O permission bitmap"
        IOMAP equ TSS0_BASE + TSS_SIZE
        and byte [IOMAP + PORT_POST / 8], ~(1 << (PORT_POST % 8))
        and byte [IOMAP + PORT_DEBUGCON / 8], ~(1 << (PORT_DEBUGCON % 8))
        push dword FL_FIXED1            ; IOPL 0
        popfd
        RING3_BEGIN .back3
%macro R3_IO 2+                         ; %1 = slot, %2 = the I/O instruction
        TRY_RESUME %%done
        %2
        END_TRY
%%done: mov eax, [V_EXC_VEC]
        mov [R3OBS + %1 * 4], eax
%endmacro
        mov al, 0x55
        R3_IO 0, out PORT_POST, al      ; bit clear: allowed
        R3_IO 1, out 0x81, al           ; bit set: #GP
        mov dx, PORT_POST
        R3_IO 2, out dx, ax             ; needs the bits of 0x80 and 0x81: #GP
        mov esi, r3msg
        mov ecx, r3msg_end - r3msg
        mov dx, PORT_DEBUGCON
        R3_IO 3, rep outsb              ; bit clear: allowed
        RING3_END
.back3:
        ; I/O map base beyond the TSS limit: every port is denied
        mov word [TSS0_BASE + TSS_IOMAP], 0x3000
        RING3_BEGIN .back3b
        mov al, 0x56
        R3_IO 4, out PORT_POST, al
        RING3_END
.back3b:
        mov word [TSS0_BASE + TSS_IOMAP], TSS_SIZE
        CHECK_EQ "ring 3 out to a permitted port", [R3OBS + 0], -1
        CHECK_EQ "ring 3 out to a denied port: #GP", [R3OBS + 4], VEC_GP
        CHECK_EQ "ring 3 word out over a denied bit: #GP", [R3OBS + 8], VEC_GP
        CHECK_EQ "ring 3 rep outsb to a permitted port", [R3OBS + 12], -1
        CHECK_EQ "ring 3 out, I/O map beyond the TSS limit: #GP", [R3OBS + 16], VEC_GP
        TEST_DONE

r3msg:  db "(written at ring 3 through the I/O bitmap)", 10
r3msg_end:

        ROM_END entry
