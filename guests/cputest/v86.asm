; v86.asm - virtual-8086 mode (v86.rom).
;
; Ring 0 enters v86 mode with IRET (EFLAGS.VM=1 in the image) and runs
; 16-bit code of this ROM at F000:xxxx with real-mode segment arithmetic.
;
; Run 1, IOPL 0: INT n, CLI, STI, PUSHF and POPF raise #GP(0); a small
; monitor (the #GP handler, v86_monitor) decodes the opcode at CS:IP, logs
; it, emulates INT n by returning a value in AX and skips the instruction.
; HLT ends the run (#GP, the monitor returns to the ring-0 test).
;
; Run 2, IOPL 3: CLI/STI/PUSHF/POPF execute directly, INT n goes through
; the IDT to a ring-0 handler (32-bit interrupt gate with DPL 3) that sees
; the v86 frame (GS, FS, DS, ES, SS, ESP, EFLAGS with VM, CS, EIP) and data
; segment registers nulled, and IRETs back into v86 mode. INT n through a
; DPL-0 gate is #GP(vector*8+2). OUT is checked against the I/O bitmap even
; with IOPL 3: port 0xE9 is permitted, port 0x81 is not.

%include "rom.inc"
        ROM_START
%include "cputest.inc"

V86_DS  equ DATA_BUF >> 4           ; v86 data segment (linear DATA_BUF)
V86_SS  equ 0
V86_SP  equ 0xD000
VDATA   equ DATA_BUF                ; what v86 code writes at DS:0
LOG     equ DATA_BUF + 0x100        ; monitor log: count, then (opcode, arg, error) triples
REC     equ DATA_BUF + 0x200        ; frame seen by the IOPL-3 INT handler
V86_EXIT_ESP equ DATA_BUF + 0x300
V86_EXIT_EIP equ DATA_BUF + 0x304
VEC_V86INT   equ 0x30               ; DPL 3 interrupt gate
VEC_V86DPL0  equ 0x31               ; DPL 0 interrupt gate

        bits 16
entry:
        RM_INIT
        ENTER_PM32 pm_main

; ---- v86 code (runs at F000:RM(label)) -------------------------------------
        bits 16
v86_iopl0:
        mov ax, 0x1234
        mov [0x10], ax                  ; DS = V86_DS: linear DATA_BUF + 0x10
        mov eax, 0x12345678             ; 0x66 prefix in v86 mode
        mov [0x04], eax
        mov ax, 0
        int 0x21                        ; #GP -> the monitor answers in AX
        mov [0x14], ax
        cli                             ; each of these: #GP, logged, skipped
        sti
        pushf
        popf
        mov word [0x18], 0x600D         ; still running after the traps
        hlt                             ; #GP: end of the run

v86_iopl3:
        cli
        pushf
        pop ax
        mov [0x20], ax                  ; FLAGS as seen in v86 (IOPL 3)
        sti                             ; STI; CLI: no interrupt window
        cli
        mov bx, 0xB0B0
        int VEC_V86INT                  ; through the IDT to ring 0 and back
v86_after_int:
        mov [0x24], bx
        int VEC_V86DPL0                 ; gate DPL 0: #GP(vector*8+2)
        mov si, RM(v86_msg)
        mov dx, PORT_DEBUGCON
.print: cs lodsb
        test al, al
        jz .printed
        out dx, al                      ; permitted by the I/O bitmap
        jmp .print
.printed:
        mov al, 1
        out 0x81, al                    ; denied by the bitmap: #GP
        mov word [0x28], 0x600D
        hlt
v86_msg: db "(written from v86 mode through the I/O bitmap)", 10, 0

        bits 32
; ---- the monitor: #GP handler while the test runs --------------------------
v86_monitor:
        pushad
        mov ax, SEL_DATA32
        mov ds, ax
        mov es, ax
        lea ebp, [esp + 32]             ; [ebp] error, +4 EIP, +8 CS, +12 EFLAGS, +16 ESP, +20 SS
        test dword [ebp + 12], FL_VM
        jz .not_v86
        movzx esi, word [ebp + 8]
        shl esi, 4
        movzx eax, word [ebp + 4]
        add esi, eax                    ; ESI = linear address of the opcode
        movzx eax, byte [esi]
        movzx ebx, byte [esi + 1]
        ; log: opcode, following byte, error code
        mov ecx, [LOG]
        lea edi, [LOG + 4 + ecx * 8]
        lea edi, [edi + ecx * 4]
        mov [edi], eax
        mov [edi + 4], ebx
        mov edx, [ebp]
        mov [edi + 8], edx
        inc dword [LOG]
        cmp al, 0xF4                    ; HLT: leave v86 mode
        je .exit
        mov ecx, 1                      ; instruction length
        cmp al, 0xCD                    ; INT n: answer 0x5A00 | n in AX
        jne .not_int
        mov ecx, 2
        mov edx, ebx
        or edx, 0x5A00
        mov [esp + 28], dx              ; the saved AX (pushad layout)
.not_int:
        cmp al, 0xE6                    ; OUT imm8, AL
        jne .skip
        mov ecx, 2
.skip:  add word [ebp + 4], cx
        popad
        add esp, 4
        iretd
.exit:  mov esp, [V86_EXIT_ESP]
        mov ax, SEL_DATA32
        mov fs, ax
        mov gs, ax
        jmp [V86_EXIT_EIP]
.not_v86:                               ; an ordinary #GP: the library handler
        popad
        jmp exc_stub_13

; INT VEC_V86INT from v86 mode (IOPL 3): record the frame and the segment
; registers as the handler sees them, then IRET back to v86 mode
v86_int:
        push eax
        mov ax, ds
        movzx eax, ax
        mov [ss:REC + 0x40], eax        ; DS in the handler (nulled)
        mov ax, es
        movzx eax, ax
        mov [ss:REC + 0x44], eax
%assign i 0
%rep 9                                  ; EIP CS EFLAGS ESP SS ES DS FS GS
        mov eax, [ss:esp + 4 + i * 4]
        mov [ss:REC + i * 4], eax
%assign i i + 1
%endrep
        pop eax
        mov bx, 0xB1B1                  ; visible to v86 code after IRET
        iretd

; enter_v86: EAX = IP of the v86 code, EBX = EFLAGS (VM added here).
; Returns when the v86 code executes HLT.
enter_v86:
        mov [V86_EXIT_ESP], esp
        mov dword [V86_EXIT_EIP], .back
        push dword 0                    ; GS
        push dword 0                    ; FS
        push dword V86_DS               ; DS
        push dword V86_DS               ; ES
        push dword V86_SS
        push dword V86_SP
        or ebx, FL_VM | FL_FIXED1
        push ebx
        push dword ROM_SEG
        push eax
        iretd
.back:  ret

; ---- main ---------------------------------------------------------------------
pm_main:
        POST 0x20
        PUTSLN "v86: virtual-8086 mode, IOPL 0"
        IDT_GATE VEC_GP, v86_monitor, SEL_CODE32, ACC_P|SYS_INT32
        IDT_GATE VEC_V86INT, v86_int, SEL_CODE32, ACC_P|ACC_DPL3|SYS_INT32
        IDT_GATE VEC_V86DPL0, v86_int, SEL_CODE32, ACC_P|SYS_INT32
        and byte [TSS0_BASE + TSS_SIZE + PORT_DEBUGCON / 8], ~(1 << (PORT_DEBUGCON % 8))

        mov dword [LOG], 0
        mov eax, RM(v86_iopl0)
        mov ebx, 0                      ; IOPL 0
        call enter_v86
        CHECK_EQ "v86 IOPL 0: 16-bit store through DS*16", [VDATA + 0x10], 0x1234
        CHECK_EQ "v86 IOPL 0: 32-bit store with 0x66", [VDATA + 0x04], 0x12345678
        CHECK_EQ "v86 IOPL 0: number of #GP traps", [LOG], 6
        CHECK_EQ "v86 IOPL 0: INT n traps (opcode)", [LOG + 4 + 0 * 12], 0xCD
        CHECK_EQ "v86 IOPL 0: INT n traps (vector)", [LOG + 4 + 0 * 12 + 4], 0x21
        CHECK_EQ "v86 IOPL 0: INT n traps with #GP(0)", [LOG + 4 + 0 * 12 + 8], 0
        CHECK_EQ "v86 IOPL 0: monitor's INT answer in AX", [VDATA + 0x14], 0x5A21
        CHECK_EQ "v86 IOPL 0: CLI traps", [LOG + 4 + 1 * 12], 0xFA
        CHECK_EQ "v86 IOPL 0: STI traps", [LOG + 4 + 2 * 12], 0xFB
        CHECK_EQ "v86 IOPL 0: PUSHF traps", [LOG + 4 + 3 * 12], 0x9C
        CHECK_EQ "v86 IOPL 0: POPF traps", [LOG + 4 + 4 * 12], 0x9D
        CHECK_EQ "v86 IOPL 0: execution went on after the traps", [VDATA + 0x18], 0x600D
        CHECK_EQ "v86 IOPL 0: HLT traps", [LOG + 4 + 5 * 12], 0xF4

        PUTSLN "v86: IOPL 3"
        mov dword [LOG], 0
        mov eax, RM(v86_iopl3)
        mov ebx, FL_IOPL3
        call enter_v86
        CHECK_EQ "v86 IOPL 3: PUSHF sees IOPL 3, IF 0", [VDATA + 0x20], 0x3002
        CHECK_EQ "v86 IOPL 3: INT n frame: EIP", [REC + 0x00], RM(v86_after_int)
        CHECK_EQ "v86 IOPL 3: INT n frame: CS", [REC + 0x04], ROM_SEG
        CHECK_EQ "v86 IOPL 3: INT n frame: EFLAGS has VM", [REC + 0x08], FL_VM | FL_IOPL3 | FL_FIXED1
        CHECK_EQ "v86 IOPL 3: INT n frame: ESP", [REC + 0x0C], V86_SP
        CHECK_EQ "v86 IOPL 3: INT n frame: SS", [REC + 0x10], V86_SS
        CHECK_EQ "v86 IOPL 3: INT n frame: ES", [REC + 0x14], V86_DS
        CHECK_EQ "v86 IOPL 3: INT n frame: DS", [REC + 0x18], V86_DS
        CHECK_EQ "v86 IOPL 3: handler DS nulled", [REC + 0x40], 0
        CHECK_EQ "v86 IOPL 3: handler ES nulled", [REC + 0x44], 0
        CHECK_EQ "v86 IOPL 3: IRET back to v86 (BX from handler)", [VDATA + 0x24], 0xB1B1
        CHECK_EQ "v86 IOPL 3: INT via DPL-0 gate: #GP", [LOG + 4 + 0 * 12], 0xCD
        CHECK_EQ "v86 IOPL 3: INT via DPL-0 gate: error code", [LOG + 4 + 0 * 12 + 8], VEC_V86DPL0 * 8 + 2
        CHECK_EQ "v86 IOPL 3: OUT to a denied port: #GP", [LOG + 4 + 1 * 12], 0xE6
        CHECK_EQ "v86 IOPL 3: OUT to a denied port: error code", [LOG + 4 + 1 * 12 + 8], 0
        CHECK_EQ "v86 IOPL 3: HLT traps", [LOG + 4 + 2 * 12], 0xF4
        CHECK_EQ "v86 IOPL 3: number of traps", [LOG], 3
        CHECK_EQ "v86 IOPL 3: ran to the end", [VDATA + 0x28], 0x600D
        IDT_GATE VEC_GP, exc_stub_13, SEL_CODE32, ACC_P|SYS_INT32
        TEST_DONE

        ROM_END entry
