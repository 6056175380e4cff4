; gates.asm - call gates, interrupt/trap gates, conforming code and
; privilege changes (gates.rom).
;
;   * far CALL through a 32-bit call gate at the same privilege, and far JMP
;     through a call gate
;   * ring 3 -> ring 0 through a 32-bit call gate with 2 parameters copied
;     to the ring-0 stack (taken from TSS0), RETF 8 back to ring 3
;   * ring 3 -> ring 0 through a 16-bit call gate (16-bit pushes, 1 word
;     parameter) into 16-bit code, RETF 2 back
;   * a conforming ring-0 segment called from ring 3 runs at CPL 3
;   * ring 0 -> ring 3 by RETF (data segment registers more privileged than
;     the new CPL are nulled)
;   * INT n: interrupt gate clears IF, trap gate keeps it; from ring 3 the
;     stack switches to TSS0.SS0:ESP0
;   * an LDT: LLDT, SLDT, a data segment reached through a TI=1 selector
;   * LAR, LSL, VERR, VERW on segments, system descriptors and gates, at
;     ring 0 and ring 3 (privilege and conforming rules), with ZF
;   * faults: gate DPL < CPL (#GP(sel)), gate not present (#NP(sel)), call
;     gate to a less privileged segment, JMP through a gate to a more
;     privileged segment, INT n with gate DPL < CPL (#GP(vector*8+2)), INT n
;     through a not-present gate (#NP(vector*8+2))

%include "rom.inc"
        ROM_START
%include "cputest.inc"

SEL_CG_SAME     equ 0x40        ; 32-bit call gate, DPL 0 -> cg_same
SEL_CG_PARAMS   equ 0x48 | 3    ; 32-bit call gate, DPL 3, 2 params -> cg_params
SEL_CODE32_ROM  equ 0x50        ; 32-bit code, base ROM_LOW, 64 KiB, DPL 0
SEL_UCODE32_ROM equ 0x58 | 3    ; the same, DPL 3
SEL_CG16        equ 0x60 | 3    ; 16-bit call gate, DPL 3, 1 word -> cg16 (16-bit code)
SEL_CONF        equ 0x68        ; conforming 32-bit code, DPL 0
SEL_CG_DPL0     equ 0x70        ; call gate DPL 0 -> cg_same (ring 3 may not use it)
SEL_CG_NP       equ 0x78        ; call gate, not present
SEL_CG_TO_R3    equ 0x80        ; call gate DPL 0 -> ring-3 code (less privileged)
SEL_CG_JMP      equ 0x88        ; call gate DPL 0 -> jmp_target

SEL_LDT         equ 0x90        ; LDT descriptor
LDT_DATA        equ 0x08 | 4 | 3  ; LDT entry 1: data, DPL 3, base LDT_DATA_BASE
LDT_BASE        equ DATA_BUF + 0x2000
LDT_DATA_BASE   equ DATA_BUF + 0x3000

VEC_INTG        equ 0x40        ; interrupt gate, DPL 3 -> int_rec
VEC_TRAPG       equ 0x41        ; trap gate, DPL 3 -> int_rec
VEC_DPL0        equ 0x42        ; interrupt gate, DPL 0
VEC_NOTP        equ 0x43        ; interrupt gate, DPL 3, not present

OBS     equ DATA_BUF            ; observations, see the checks
HPTR    equ DATA_BUF + 0xFFC    ; where int_rec writes its record
LOW_STACK3 equ 0xD000           ; ring-3 stack below 64 KiB for the 16-bit gate

        bits 16
entry:
        RM_INIT
        ENTER_PM32 pm_main

; ---- gate targets ----------------------------------------------------------
        bits 32
; same-privilege call gate target: record caller CS and return
cg_same:
        mov eax, [esp + 4]
        mov [OBS + 0x00], eax
        mov ax, cs
        movzx eax, ax
        mov [OBS + 0x04], eax
        retf

; ring 3 -> 0 with two dword parameters: record the new stack, RETF 8
cg_params:
%assign i 0
%rep 6                          ; EIP, CS, param 2, param 1, ESP, SS
        mov eax, [esp + i * 4]
        mov [OBS + 0x20 + i * 4], eax
%assign i i + 1
%endrep
        mov ax, cs
        movzx eax, ax
        mov [OBS + 0x38], eax
        mov ax, ss
        movzx eax, ax
        mov [OBS + 0x3C], eax
        mov [OBS + 0x40], esp
        retf 8

conf_target:
        mov ax, cs
        movzx eax, ax
        mov [OBS + 0x48], eax
        retf

jmp_target:
        mov ax, cs
        movzx eax, ax
        mov [OBS + 0x4C], eax
        jmp SEL_CODE32:pm_after_jmp

; INT 0x40 / 0x41: record the handler's view in the block at [HPTR]
int_rec:
        push eax
        push ebx
        mov ebx, [HPTR]
        pushfd
        pop eax
        mov [ebx], eax                  ; EFLAGS in the handler
        mov ax, cs
        movzx eax, ax
        mov [ebx + 4], eax              ; CS in the handler
        mov eax, [esp + 12]
        mov [ebx + 8], eax              ; saved CS
        mov eax, [esp + 16]
        mov [ebx + 12], eax             ; saved EFLAGS
        mov [ebx + 16], esp             ; ESP in the handler (after 2 pushes)
        mov ax, ss
        movzx eax, ax
        mov [ebx + 20], eax             ; SS in the handler
        pop ebx
        pop eax
        iretd

; 16-bit ring-0 code reached through the 16-bit call gate (CS = SEL_CODE16)
        bits 16
cg16:
        mov eax, [esp]                  ; IP, CS
        mov [dword OBS + 0x60], eax
        mov eax, [esp + 4]              ; parameter word, SP
        mov [dword OBS + 0x64], eax
        mov ax, [esp + 8]               ; SS
        mov [dword OBS + 0x68], ax
        mov ax, cs
        mov [dword OBS + 0x6A], ax
        retf 2
        bits 32

; ---- main --------------------------------------------------------------------
pm_main:
        POST 0x20
        PUTSLN "gates: call gates, interrupt and trap gates, conforming code"
        GDT_GATE SEL_CG_SAME, cg_same, SEL_CODE32, ACC_P|SYS_CALL32, 0
        GDT_GATE SEL_CG_PARAMS, cg_params, SEL_CODE32, ACC_P|ACC_DPL3|SYS_CALL32, 2
        GDT_DESC SEL_CODE32_ROM, ROM_LOW, 0xFFFF, ACC_P|ACC_CODE|ACC_READABLE, DF_DB
        GDT_DESC SEL_UCODE32_ROM, ROM_LOW, 0xFFFF, ACC_P|ACC_DPL3|ACC_CODE|ACC_READABLE, DF_DB
        GDT_GATE SEL_CG16, RM(cg16), SEL_CODE16, ACC_P|ACC_DPL3|SYS_CALL16, 1
        GDT_DESC SEL_CONF, 0, 0xFFFFF, ACC_P|ACC_CODE|ACC_CONFORMING|ACC_READABLE, DF_G|DF_DB
        GDT_GATE SEL_CG_DPL0, cg_same, SEL_CODE32, ACC_P|SYS_CALL32, 0
        GDT_GATE SEL_CG_NP, cg_same, SEL_CODE32, SYS_CALL32, 0
        GDT_GATE SEL_CG_TO_R3, cg_same, SEL_UCODE32, ACC_P|SYS_CALL32, 0
        GDT_GATE SEL_CG_JMP, jmp_target, SEL_CODE32, ACC_P|SYS_CALL32, 0
        IDT_GATE VEC_INTG, int_rec, SEL_CODE32, ACC_P|ACC_DPL3|SYS_INT32
        IDT_GATE VEC_TRAPG, int_rec, SEL_CODE32, ACC_P|ACC_DPL3|SYS_TRAP32
        IDT_GATE VEC_DPL0, int_rec, SEL_CODE32, ACC_P|SYS_INT32
        IDT_GATE VEC_NOTP, int_rec, SEL_CODE32, ACC_DPL3|SYS_INT32

        ; --- ring 0 ------------------------------------------------------------
        call SEL_CG_SAME:0
.ret0:  CHECK_EQ "call gate, same privilege: caller CS pushed", [OBS + 0x00], SEL_CODE32
        CHECK_EQ "call gate, same privilege: target CS", [OBS + 0x04], SEL_CODE32
        jmp SEL_CG_JMP:0
pm_after_jmp:
        CHECK_EQ "jmp through call gate: target CS", [OBS + 0x4C], SEL_CODE32

        TRY .np
        call SEL_CG_NP:0
        END_TRY
.np:    CHECK_EXC "call gate not present: #NP(selector)", VEC_NP, SEL_CG_NP
        TRY .tor3
        call SEL_CG_TO_R3:0
        END_TRY
.tor3:  CHECK_EXC "call gate to a less privileged segment: #GP(target)", VEC_GP, SEL_UCODE32 & ~3

        ; INT n from ring 0: interrupt gate clears IF, trap gate keeps it
        mov dword [HPTR], OBS + 0x80
        push dword FL_FIXED1            ; all arithmetic flags clear
        popfd
        sti
        int VEC_INTG
        cli
        mov dword [HPTR], OBS + 0xA0
        push dword FL_FIXED1
        popfd
        sti
        int VEC_TRAPG
        cli
        CHECK_EQ "int via interrupt gate: IF cleared in the handler", [OBS + 0x80], FL_FIXED1
        CHECK_EQ "int via interrupt gate: saved EFLAGS has IF", [OBS + 0x8C], FL_FIXED1 | FL_IF
        CHECK_EQ "int via interrupt gate: saved CS", [OBS + 0x88], SEL_CODE32
        CHECK_EQ "int via trap gate: IF kept in the handler", [OBS + 0xA0], FL_FIXED1 | FL_IF
        CHECK_EQ "int via trap gate: saved EFLAGS has IF", [OBS + 0xAC], FL_FIXED1 | FL_IF

        ; --- ring 0 -> ring 3 by RETF ---------------------------------------------
        mov ax, SEL_DATA32
        mov es, ax                      ; DPL 0: must be nulled at CPL 3
        mov ax, SEL_UDATA32
        mov ds, ax                      ; DPL 3: must survive
        mov dword [V_R0_CONT], .back_retf
        mov [V_R0_ESP], esp
        push dword SEL_UDATA32
        push dword STACK3_TOP
        push dword SEL_UCODE32
        push dword .r3_retf
        retf
.r3_retf:
        mov ax, cs
        movzx eax, ax
        mov [OBS + 0x100], eax
        mov ax, es
        movzx eax, ax
        mov [OBS + 0x104], eax
        mov ax, ds
        movzx eax, ax
        mov [OBS + 0x108], eax
        mov ax, ss
        movzx eax, ax
        mov [OBS + 0x10C], eax
        RING3_END
.back_retf:
        CHECK_EQ "retf to ring 3: CS", [OBS + 0x100], SEL_UCODE32
        CHECK_EQ "retf to ring 3: ES (DPL 0) nulled", [OBS + 0x104], 0
        CHECK_EQ "retf to ring 3: DS (DPL 3) kept", [OBS + 0x108], SEL_UDATA32
        CHECK_EQ "retf to ring 3: SS", [OBS + 0x10C], SEL_UDATA32

        ; --- ring 3 ------------------------------------------------------------
        PUTSLN "gates: from ring 3"
        RING3_BEGIN .back3
        ; 32-bit call gate with two parameters
        push dword 0x11111111
        push dword 0x22222222
        call SEL_CG_PARAMS:0
.r3ret: mov [OBS + 0x44], esp
        ; a conforming segment runs at the caller's CPL
        call SEL_CONF:conf_target
        ; gate DPL 0 < CPL 3
        TRY_RESUME .f1
        call SEL_CG_DPL0:0
        END_TRY
.f1:    mov eax, [V_EXC_VEC]
        mov [OBS + 0x120], eax
        mov eax, [V_EXC_ERR]
        mov [OBS + 0x124], eax
        ; JMP through a call gate to a more privileged nonconforming segment
        TRY_RESUME .f2
        jmp SEL_CG_PARAMS:0
        END_TRY
.f2:    mov eax, [V_EXC_VEC]
        mov [OBS + 0x128], eax
        mov eax, [V_EXC_ERR]
        mov [OBS + 0x12C], eax
        ; INT n from ring 3: stack switch to TSS0.SS0:ESP0
        mov dword [HPTR], OBS + 0xC0
        int VEC_INTG
        mov [OBS + 0xDC], esp
        TRY_RESUME .f3
        int VEC_DPL0
        END_TRY
.f3:    mov eax, [V_EXC_VEC]
        mov [OBS + 0x130], eax
        mov eax, [V_EXC_ERR]
        mov [OBS + 0x134], eax
        TRY_RESUME .f4
        int VEC_NOTP
        END_TRY
.f4:    mov eax, [V_EXC_VEC]
        mov [OBS + 0x138], eax
        mov eax, [V_EXC_ERR]
        mov [OBS + 0x13C], eax
        ; 16-bit call gate: run from a ring-3 segment based at the ROM so
        ; that the return address fits in 16 bits; use a stack below 64 KiB
        jmp SEL_UCODE32_ROM:RM(.r3rom)
.r3rom: mov esp, LOW_STACK3
        push word 0x1234
        call SEL_CG16:0
.r3ret16:
        mov [OBS + 0x6C], esp
        mov ax, cs
        mov [OBS + 0x70], ax
        jmp SEL_UCODE32:.r3flat
.r3flat:
        mov esp, STACK3_TOP
        RING3_END
.back3:
        CHECK_EQ "call gate 3->0: return EIP pushed", [OBS + 0x20], .r3ret
        CHECK_EQ "call gate 3->0: caller CS pushed", [OBS + 0x24], SEL_UCODE32
        CHECK_EQ "call gate 3->0: parameter 2 copied", [OBS + 0x28], 0x22222222
        CHECK_EQ "call gate 3->0: parameter 1 copied", [OBS + 0x2C], 0x11111111
        CHECK_EQ "call gate 3->0: caller ESP pushed", [OBS + 0x30], STACK3_TOP - 8
        CHECK_EQ "call gate 3->0: caller SS pushed", [OBS + 0x34], SEL_UDATA32
        CHECK_EQ "call gate 3->0: CS is ring 0", [OBS + 0x38], SEL_CODE32
        CHECK_EQ "call gate 3->0: SS from TSS0.SS0", [OBS + 0x3C], SEL_DATA32
        CHECK_EQ "call gate 3->0: ESP from TSS0.ESP0", [OBS + 0x40], STACK0_TOP - 24
        CHECK_EQ "retf 8 to ring 3: parameters popped", [OBS + 0x44], STACK3_TOP
        CHECK_EQ "conforming code from ring 3: CPL stays 3", [OBS + 0x48], SEL_CONF | 3
        CHECK_EQ "call gate DPL 0 from ring 3: #GP (vector)", [OBS + 0x120], VEC_GP
        CHECK_EQ "call gate DPL 0 from ring 3: #GP (error code)", [OBS + 0x124], SEL_CG_DPL0
        CHECK_EQ "jmp through gate to ring 0 from ring 3: #GP (vector)", [OBS + 0x128], VEC_GP
        CHECK_EQ "jmp through gate to ring 0 from ring 3: #GP (error code)", [OBS + 0x12C], SEL_CODE32
        CHECK_EQ "int from ring 3: handler CS", [OBS + 0xC4], SEL_CODE32
        CHECK_EQ "int from ring 3: saved CS", [OBS + 0xC8], SEL_UCODE32
        CHECK_EQ "int from ring 3: handler SS from TSS0", [OBS + 0xD4], SEL_DATA32
        CHECK_EQ "int from ring 3: handler ESP from TSS0", [OBS + 0xD0], STACK0_TOP - 20 - 8
        CHECK_EQ "iret to ring 3: ESP restored", [OBS + 0xDC], STACK3_TOP
        CHECK_EQ "int n, gate DPL 0 from ring 3: #GP (vector)", [OBS + 0x130], VEC_GP
        CHECK_EQ "int n, gate DPL 0 from ring 3: #GP (error code)", [OBS + 0x134], VEC_DPL0 * 8 + 2
        CHECK_EQ "int n, gate not present: #NP (vector)", [OBS + 0x138], VEC_NP
        CHECK_EQ "int n, gate not present: #NP (error code)", [OBS + 0x13C], VEC_NOTP * 8 + 2
        CHECK_EQ "16-bit call gate: IP and CS pushed (16-bit)", [OBS + 0x60], (SEL_UCODE32_ROM << 16) | RM(.r3ret16)
        CHECK_EQ "16-bit call gate: word parameter, SP pushed", [OBS + 0x64], ((LOW_STACK3 - 2) << 16) | 0x1234
        CHECK_EQ "16-bit call gate: SS pushed, target CS", [OBS + 0x68], (SEL_CODE16 << 16) | SEL_UDATA32
        CHECK_EQ "16-bit retf 2 to ring 3: SP", [OBS + 0x6C], LOW_STACK3
        CHECK_EQ "16-bit retf 2 to ring 3: CS", [OBS + 0x70], SEL_UCODE32_ROM

        ; --- LDT ------------------------------------------------------------------
        PUTSLN "gates: LDT, LAR, LSL, VERR, VERW"
        mov edi, LDT_BASE
        xor eax, eax
        mov ecx, 4
        rep stosd
        pushad
        mov edi, LDT_BASE
        mov eax, LDT_DATA
        mov ebx, LDT_DATA_BASE
        mov ecx, 0xFFF
        mov dl, ACC_P|ACC_DPL3|ACC_DATA|ACC_WRITABLE
        mov dh, DF_DB
        call set_desc
        popad
        GDT_DESC SEL_LDT, LDT_BASE, 0x0F, ACC_P|SYS_LDT, 0
        mov ax, SEL_LDT
        lldt ax
        sldt eax
        CHECK_EQ "sldt after lldt", eax, SEL_LDT
        mov ax, LDT_DATA
        mov es, ax
        mov dword [es:0x10], 0x1D71D7
        mov ax, SEL_DATA32
        mov es, ax
        CHECK_EQ "store through an LDT data segment (TI=1)", [LDT_DATA_BASE + 0x10], 0x1D71D7

        ; --- LAR / LSL / VERR / VERW at ring 0 -----------------------------------
%macro ZF_TO 1                          ; store ZF (0/1) into dword %1
        setz byte [%1]
        mov byte [%1 + 1], 0
        mov word [%1 + 2], 0
%endmacro
        mov bx, SEL_DATA32
        lar eax, bx
        ZF_TO OBS + 0x200
        ; bits 19:16 (limit) are undefined; the accessed bit is masked too:
        ; QEMU does not set it when a far transfer loads CS (Bochs does)
        and eax, 0x00F0FE00
        CHECK_EQ "lar data32: rights", eax, 0x00C09200
        CHECK_EQ "lar data32: ZF", [OBS + 0x200], 1
        mov bx, SEL_CODE16
        lar eax, bx
        and eax, 0x00F0FE00
        CHECK_EQ "lar code16: rights", eax, 0x00009A00
        mov bx, SEL_CG_SAME
        lar eax, bx
        ZF_TO OBS + 0x204
        and eax, 0x0000FF00
        CHECK_EQ "lar call gate: type", eax, (ACC_P|SYS_CALL32) << 8
        CHECK_EQ "lar call gate: ZF", [OBS + 0x204], 1
        mov bx, 0
        lar eax, bx
        ZF_TO OBS + 0x208
        CHECK_EQ "lar null selector: ZF clear", [OBS + 0x208], 0
        mov bx, 0x800
        lar eax, bx
        ZF_TO OBS + 0x20C
        CHECK_EQ "lar beyond the GDT limit: ZF clear", [OBS + 0x20C], 0
        mov bx, SEL_DATA32
        lsl eax, bx
        CHECK_EQ "lsl data32 (G=1): 4 GiB - 1", eax, 0xFFFFFFFF
        mov bx, SEL_CODE16
        lsl eax, bx
        CHECK_EQ "lsl code16: 0xFFFF", eax, 0xFFFF
        mov bx, SEL_TSS0
        lsl eax, bx
        CHECK_EQ "lsl TSS0", eax, TSS_SIZE + 0x2000
        mov bx, SEL_LDT
        lsl eax, bx
        CHECK_EQ "lsl LDT", eax, 0x0F
        mov eax, 0x5555
        mov bx, SEL_CG_SAME
        lsl eax, bx
        ZF_TO OBS + 0x210
        CHECK_EQ "lsl call gate: ZF clear", [OBS + 0x210], 0
        CHECK_EQ "lsl call gate: destination unchanged", eax, 0x5555
        mov bx, SEL_CODE32
        verr bx
        ZF_TO OBS + 0x214
        verw bx
        ZF_TO OBS + 0x218
        mov bx, SEL_DATA32
        verw bx
        ZF_TO OBS + 0x21C
        mov bx, SEL_TSS0
        verr bx
        ZF_TO OBS + 0x220
        CHECK_EQ "verr readable code: ZF", [OBS + 0x214], 1
        CHECK_EQ "verw code: ZF clear", [OBS + 0x218], 0
        CHECK_EQ "verw writable data: ZF", [OBS + 0x21C], 1
        CHECK_EQ "verr TSS: ZF clear", [OBS + 0x220], 0

        ; --- the same at ring 3 -----------------------------------------------
        RING3_BEGIN .back_desc
        mov bx, SEL_DATA32              ; DPL 0 < CPL 3: invisible
        lar eax, bx
        ZF_TO OBS + 0x240
        verw bx
        ZF_TO OBS + 0x244
        mov bx, SEL_UDATA32
        verw bx
        ZF_TO OBS + 0x248
        mov bx, SEL_CONF                ; conforming: no privilege check
        verr bx
        ZF_TO OBS + 0x24C
        mov bx, SEL_CODE32 | 3          ; nonconforming DPL 0
        verr bx
        ZF_TO OBS + 0x250
        mov bx, SEL_CG_PARAMS           ; DPL 3 gate
        lar eax, bx
        ZF_TO OBS + 0x254
        mov bx, SEL_UDATA32
        lsl eax, bx
        mov [OBS + 0x258], eax
        mov bx, LDT_DATA
        lsl eax, bx
        mov [OBS + 0x25C], eax
        RING3_END
.back_desc:
        CHECK_EQ "ring 3 lar of a DPL-0 segment: ZF clear", [OBS + 0x240], 0
        CHECK_EQ "ring 3 verw of a DPL-0 segment: ZF clear", [OBS + 0x244], 0
        CHECK_EQ "ring 3 verw of a DPL-3 data segment: ZF", [OBS + 0x248], 1
        CHECK_EQ "ring 3 verr of a conforming DPL-0 segment: ZF", [OBS + 0x24C], 1
        CHECK_EQ "ring 3 verr of a nonconforming DPL-0 segment: ZF clear", [OBS + 0x250], 0
        CHECK_EQ "ring 3 lar of a DPL-3 call gate: ZF", [OBS + 0x254], 1
        CHECK_EQ "ring 3 lsl of a DPL-3 segment", [OBS + 0x258], 0xFFFFFFFF
        CHECK_EQ "ring 3 lsl of an LDT segment", [OBS + 0x25C], 0xFFF
        TEST_DONE

        ROM_END entry
