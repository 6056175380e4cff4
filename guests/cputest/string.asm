; string.asm - string instructions (string.rom).
;
; MOVS, CMPS, SCAS, LODS, STOS and OUTS (to the debug console, port 0xE9),
; byte/word/dword, with REP/REPE/REPNE, DF=0 and DF=1, ECX=0, overlapping
; copies, segment overrides, 16-bit address size
; in protected mode (0x67: SI/DI/CX only, wrapping at 64 KiB) and 32-bit
; address size in real mode. INS is not tested: it would depend on what a
; read of port 0xE9 returns, which differs between machines.
;
; Buffers: SRC holds bytes 00 01 02 ... FF, so a dword read at SRC+k is
; (k+3)<<24 | (k+2)<<16 | (k+1)<<8 | k. DST starts filled with EE.

%include "rom.inc"
        ROM_START
%include "cputest.inc"

SRC     equ DATA_BUF                ; 0x10000
DST     equ DATA_BUF + 0x1000       ; 0x11000
SRC_SEG equ SRC >> 4                ; real-mode segments of the buffers
DST_SEG equ DST >> 4
SEL_FS  equ SEL_FREE                ; data segment based at SRC, 64 KiB

; ---- real mode ---------------------------------------------------------------
        bits 16
entry:
        RM_INIT
        POST 0x10
        PUTSLN "string: real mode"
        ; SRC = 00 01 02 ..., DST = EE EE ... (plain moves, no string insns)
        mov ax, SRC_SEG
        mov ds, ax
        mov ax, DST_SEG
        mov es, ax
        xor bx, bx
.fill:  mov [bx], bl
        mov byte [es:bx], 0xEE
        inc bx
        cmp bx, 0x100
        jb .fill

        ; DS:SI -> ES:DI with segment bases 0x10000 and 0x11000
        cld
        mov si, 0x10
        xor di, di
        mov cx, 4
        rep movsb
        xor ax, ax
        mov ds, ax                      ; checks read V_* through DS = 0
        CHECK_EQ "rm rep movsb DS:SI->ES:DI data", [es:0], 0x13121110
        CHECK_EQ "rm rep movsb SI", esi, 0x14
        CHECK_EQ "rm rep movsb DI", edi, 4
        CHECK_EQ "rm rep movsb CX", ecx, 0

        ; 0x67 in real mode: ESI/EDI/ECX are used (offsets stay < 64 KiB)
        mov ax, SRC_SEG
        mov ds, ax
        mov esi, 0x20
        mov edi, 0x8
        mov ecx, 2
        a32 rep movsw
        xor ax, ax
        mov ds, ax
        CHECK_EQ "rm a32 rep movsw data", [es:8], 0x23222120
        CHECK_EQ "rm a32 rep movsw ESI", esi, 0x24
        CHECK_EQ "rm a32 rep movsw EDI", edi, 0xC
        CHECK_EQ "rm a32 rep movsw ECX", ecx, 0

        ; segment override of the source: FS:SI
        mov ax, SRC_SEG
        mov fs, ax
        mov si, 0x30
        mov di, 0x10
        fs movsd
        CHECK_EQ "rm fs: movsd data", [es:0x10], 0x33323130

        ; DF=1 STOSW wraps DI from 0000 to FFFE
        mov edi, 0x12340000
        mov ax, 0xBEEF
        std
        stosw
        cld
        CHECK_EQ "rm std stosw wraps DI", edi, 0x1234FFFE
        CHECK_EQ "rm std stosw data", [es:0], 0x1312BEEF

        ENTER_PM32 pm_main

; ---- protected mode ----------------------------------------------------------
        bits 32

; reset_bufs: SRC = 00..FF, DST = 256 x EE (no string instructions)
reset_bufs:
        pushad
        xor ebx, ebx
.l:     mov [SRC + ebx], bl
        mov byte [DST + ebx], 0xEE
        inc ebx
        cmp ebx, 0x100
        jb .l
        popad
        ret

pm_main:
        POST 0x20
        PUTSLN "string: protected mode"
        cld

        ; --- MOVS -----------------------------------------------------------
        call reset_bufs
        mov esi, SRC
        mov edi, DST
        mov ecx, 7
        rep movsb
        CHECK_EQ "rep movsb x7: dword 0", [DST], 0x03020100
        CHECK_EQ "rep movsb x7: dword 1", [DST + 4], 0xEE060504
        CHECK_EQ "rep movsb x7: ESI", esi, SRC + 7
        CHECK_EQ "rep movsb x7: EDI", edi, DST + 7
        CHECK_EQ "rep movsb x7: ECX", ecx, 0

        call reset_bufs
        mov esi, SRC
        mov edi, DST
        mov ecx, 3
        rep movsw
        CHECK_EQ "rep movsw x3: dword 1", [DST + 4], 0xEEEE0504
        CHECK_EQ "rep movsw x3: ESI", esi, SRC + 6

        call reset_bufs
        mov esi, SRC
        mov edi, DST
        mov ecx, 2
        rep movsd
        CHECK_EQ "rep movsd x2: dword 1", [DST + 4], 0x07060504
        CHECK_EQ "rep movsd x2: dword 2 untouched", [DST + 8], 0xEEEEEEEE
        CHECK_EQ "rep movsd x2: EDI", edi, DST + 8

        call reset_bufs
        std
        mov esi, SRC + 12
        mov edi, DST + 12
        mov ecx, 2
        rep movsd
        cld
        CHECK_EQ "std rep movsd x2: dword 3", [DST + 12], 0x0F0E0D0C
        CHECK_EQ "std rep movsd x2: dword 2", [DST + 8], 0x0B0A0908
        CHECK_EQ "std rep movsd x2: dword 1 untouched", [DST + 4], 0xEEEEEEEE
        CHECK_EQ "std rep movsd x2: ESI", esi, SRC + 4
        CHECK_EQ "std rep movsd x2: EDI", edi, DST + 4

        call reset_bufs
        std
        mov esi, SRC + 2
        mov edi, DST + 2
        mov ecx, 3
        rep movsb
        cld
        CHECK_EQ "std rep movsb x3: data", [DST], 0xEE020100
        CHECK_EQ "std rep movsb x3: ESI", esi, SRC - 1
        CHECK_EQ "std rep movsb x3: EDI", edi, DST - 1

        call reset_bufs
        mov esi, SRC
        mov edi, DST
        xor ecx, ecx
        rep movsb
        CHECK_EQ "rep movsb ECX=0: no copy", [DST], 0xEEEEEEEE
        CHECK_EQ "rep movsb ECX=0: ESI", esi, SRC
        CHECK_EQ "rep movsb ECX=0: EDI", edi, DST

        ; overlapping forward copy replicates the first byte
        call reset_bufs
        mov byte [DST], 0x5A
        mov esi, DST
        mov edi, DST + 1
        mov ecx, 7
        rep movsb
        CHECK_EQ "overlapping rep movsb: dword 0", [DST], 0x5A5A5A5A
        CHECK_EQ "overlapping rep movsb: dword 1", [DST + 4], 0x5A5A5A5A
        CHECK_EQ "overlapping rep movsb: byte 8", [DST + 8], 0xEEEEEEEE

        ; --- STOS / LODS ------------------------------------------------------
        call reset_bufs
        mov eax, 0x55551234
        mov edi, DST
        mov ecx, 3
        rep stosw
        CHECK_EQ "rep stosw x3: dword 0", [DST], 0x12341234
        CHECK_EQ "rep stosw x3: dword 1", [DST + 4], 0xEEEE1234
        CHECK_EQ "rep stosw x3: EDI", edi, DST + 6
        mov eax, 0xCAFEBABE
        mov edi, DST + 8
        std
        stosd
        cld
        CHECK_EQ "std stosd: data", [DST + 8], 0xCAFEBABE
        CHECK_EQ "std stosd: EDI", edi, DST + 4
        mov al, 0x77
        mov edi, DST + 16
        mov ecx, 5
        rep stosb
        CHECK_EQ "rep stosb x5: dword", [DST + 16], 0x77777777
        CHECK_EQ "rep stosb x5: next", [DST + 20], 0xEEEEEE77

        mov eax, 0xAAAAAAAA
        mov esi, SRC + 5
        lodsb
        CHECK_EQ "lodsb: EAX", eax, 0xAAAAAA05
        lodsw
        CHECK_EQ "lodsw: EAX", eax, 0xAAAA0706
        lodsd
        CHECK_EQ "lodsd: EAX", eax, 0x0B0A0908
        CHECK_EQ "lodsd: ESI", esi, SRC + 12
        mov ecx, 3
        rep lodsb
        CHECK_EQ "rep lodsb x3: EAX", eax, 0x0B0A090E
        CHECK_EQ "rep lodsb x3: ESI", esi, SRC + 15
        std
        lodsw
        cld
        CHECK_EQ "std lodsw: EAX", eax, 0x0B0A100F
        CHECK_EQ "std lodsw: ESI", esi, SRC + 13

        ; --- SCAS -------------------------------------------------------------
        mov al, 0x10
        mov edi, SRC
        mov ecx, 100
        repne scasb
        CHECK_FLAGS "repne scasb found: ZF", FL_ZF, FL_ZF
        CHECK_EQ "repne scasb found: EDI", edi, SRC + 0x11
        CHECK_EQ "repne scasb found: ECX", ecx, 100 - 0x11
        mov al, 0x20
        mov edi, SRC
        mov ecx, 16
        repne scasb
        CHECK_FLAGS "repne scasb not found: flags of 20-0F", 0, FL_ARITH & ~FL_AF & ~FL_PF
        CHECK_EQ "repne scasb not found: EDI", edi, SRC + 16
        CHECK_EQ "repne scasb not found: ECX", ecx, 0
        call reset_bufs
        mov eax, 0xEEEEEEEE
        mov edi, DST
        mov ecx, 10
        repe scasd
        CHECK_FLAGS "repe scasd all equal: ZF", FL_ZF, FL_ZF
        CHECK_EQ "repe scasd all equal: EDI", edi, DST + 40
        mov eax, 0x0706
        mov edi, SRC
        mov ecx, 8
        repne scasw
        CHECK_EQ "repne scasw: EDI after the match", edi, SRC + 8
        CHECK_EQ "repne scasw: ECX", ecx, 4
        ; ECX = 0: nothing is compared and the flags are unchanged
        cmp eax, eax
        xor ecx, ecx
        mov al, 0x99
        mov edi, SRC
        repne scasb
        CHECK_FLAGS "repne scasb ECX=0 keeps ZF", FL_ZF, FL_ZF
        CHECK_EQ "repne scasb ECX=0 keeps EDI", edi, SRC

        ; --- CMPS -------------------------------------------------------------
        call reset_bufs
        xor ebx, ebx
.copy:  mov al, [SRC + ebx]
        mov [DST + ebx], al
        inc ebx
        cmp ebx, 16
        jb .copy
        mov byte [DST + 5], 0x80
        mov esi, SRC
        mov edi, DST
        mov ecx, 16
        repe cmpsb
        ; stops after comparing SRC[5]=05 with DST[5]=80: 05-80
        CHECK_FLAGS "repe cmpsb mismatch: flags of 05-80", FL_CF|FL_SF|FL_OF, FL_ARITH & ~FL_AF & ~FL_PF
        CHECK_EQ "repe cmpsb mismatch: ECX", ecx, 10
        CHECK_EQ "repe cmpsb mismatch: ESI", esi, SRC + 6
        CHECK_EQ "repe cmpsb mismatch: EDI", edi, DST + 6
        mov esi, SRC + 6
        mov edi, DST + 6
        mov ecx, 5
        repe cmpsw
        CHECK_FLAGS "repe cmpsw all equal: ZF", FL_ZF, FL_ZF
        CHECK_EQ "repe cmpsw all equal: ECX", ecx, 0
        mov dword [DST], 0x04020101
        mov esi, SRC
        mov edi, DST
        cmpsd                           ; 03020100 - 04020101
        CHECK_FLAGS "cmpsd: flags of 03020100-04020101", FL_CF|FL_SF, FL_ARITH & ~FL_AF & ~FL_PF
        mov esi, SRC + 3
        mov edi, DST + 3
        mov ecx, 4
        std
        repne cmpsb                     ; first equal byte going down: index 2
        cld
        CHECK_EQ "std repne cmpsb: ECX", ecx, 2
        CHECK_EQ "std repne cmpsb: ESI", esi, SRC + 1

        ; --- segment overrides --------------------------------------------------
        GDT_DESC SEL_FS, SRC, 0xFFFF, ACC_P|ACC_DATA|ACC_WRITABLE, DF_DB
        mov ax, SEL_FS
        mov fs, ax
        mov gs, ax
        call reset_bufs
        mov esi, 0x20                   ; FS:0x20 = SRC + 0x20
        mov edi, DST
        mov ecx, 4
        fs rep movsb
        CHECK_EQ "fs: rep movsb data", [DST], 0x23222120
        mov esi, 4
        gs lodsd
        CHECK_EQ "gs: lodsd", eax, 0x07060504
        mov esi, 0x20
        mov edi, DST
        fs cmpsd
        CHECK_FLAGS "fs: cmpsd equal", FL_ZF, FL_ZF
        ; (No segment-limit check here: QEMU's TCG does not enforce data
        ; segment limits, and every ROM must pass on QEMU.)
        mov ax, SEL_DATA32
        mov fs, ax
        mov gs, ax

        ; --- 16-bit address size in protected mode ---------------------------
        mov dword [LOW_BUF], 0x44332211
        mov dword [LOW_BUF + 0x100], 0
        mov esi, 0x55550000 + LOW_BUF
        mov edi, 0x66660000 + LOW_BUF + 0x100
        mov ecx, 0x77770004
        a16 rep movsb
        CHECK_EQ "a16 rep movsb: data", [LOW_BUF + 0x100], 0x44332211
        CHECK_EQ "a16 rep movsb: ESI upper half kept", esi, 0x55550000 + LOW_BUF + 4
        CHECK_EQ "a16 rep movsb: EDI upper half kept", edi, 0x66660000 + LOW_BUF + 0x104
        CHECK_EQ "a16 rep movsb: only CX counted", ecx, 0x77770000
        mov byte [0xFFFF], 0xA7
        mov esi, 0x1234FFFF
        mov eax, 0x07060500
        a16 lodsb
        CHECK_EQ "a16 lodsb: SI wraps to 0", esi, 0x12340000
        CHECK_EQ "a16 lodsb: data", eax, 0x070605A7

        ; --- OUTS to the debug console ---------------------------------------
        mov esi, outs_msg
        mov ecx, outs_msg_end - outs_msg
        mov dx, PORT_DEBUGCON
        rep outsb
        CHECK_EQ "rep outsb: ESI", esi, outs_msg_end
        CHECK_EQ "rep outsb: ECX", ecx, 0
        TEST_DONE

outs_msg:
        db "(this line was written by rep outsb)", 10
outs_msg_end:

        ROM_END entry
