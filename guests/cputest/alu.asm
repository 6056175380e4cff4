; alu.asm - ALU and flags torture test (alu.rom).
;
; Part 1, table-driven: every row of alu_cases.inc (generated from an
; independent model of the Intel SDM pseudo-code) loads EAX, EBX=ECX, EDX
; and EFLAGS, calls a one-instruction stub and compares EAX, EDX and the
; flags the manual defines for that case. The same table runs twice: in real
; mode (16-bit code, so every 32-bit operation carries a 0x66 prefix and the
; table is read with 0x67 32-bit addressing) and in 32-bit protected mode.
;
; Part 2, hand-written (ALU_MISC, also run in both modes): SETcc and CMOVcc
; for all 16 conditions, BSWAP, CBW/CWDE/CWD/CDQ, MOVZX/MOVSX, LEA forms
; (16- and 32-bit addressing), XCHG, XADD/CMPXCHG/CMPXCHG8B on memory,
; BT/BTS/BTR/BTC on memory with bit offsets outside the addressed dword,
; immediate and memory forms of the arithmetic instructions.
;
; Part 3: #DE from DIV/IDIV/AAM, in protected mode through the IDT and in
; real mode through the IVT (with the real-mode interrupt frame checked).
;
; Output: one PASS/FAIL line per check; exit status 0 when all passed.

%include "rom.inc"
        ROM_START
%include "cputest.inc"
%include "alu_cases.inc"

; TBL(x): the address of ROM data x as the runner sees it: an offset from
; FS = F000 in real mode, a flat address (FS base 0) in protected mode.
%macro ALU_RUNNER 1     ; %1 = rm or pm
%1_alu_run:
%if __BITS__ == 16
  %define TBL(x) RM(x)
%else
  %define TBL(x) (x)
%endif
        mov esi, TBL(alu_cases)
.row:   cmp esi, TBL(alu_cases_end)
        jae .done
        movzx ebp, word [fs:esi]
        and ebp, 0x7FFF
        movzx ebp, word [fs:TBL(%1_stub_table) + ebp * 2]
%if __BITS__ == 32
        add ebp, ROM_LOW
%endif
        movzx edi, word [fs:esi + 2]
        mov eax, [fs:esi + 8]
        mov ebx, [fs:esi + 12]
        mov ecx, ebx
        mov edx, [fs:esi + 16]
        push edi
        popfd
%if __BITS__ == 16
        call bp
%else
        call ebp
%endif
        pushfd
        pop edi
        call %1_alu_verify
        add esi, ALU_ROW
        jmp .row
.done:  ret

; verify one row: ESI = row, EAX/EDX/EDI = results and flags
%1_alu_verify:
        xor ebp, ebp                    ; EBP = 0: all good
        test word [fs:esi], 0x8000
        jnz .skip_eax
        cmp eax, [fs:esi + 20]
        setne cl
        or ebp, ecx
.skip_eax:
        cmp edx, [fs:esi + 24]
        setne cl
        or ebp, ecx
        movzx ecx, word [fs:esi + 6]
        and ecx, edi
        cmp cx, [fs:esi + 4]
        setne cl
        and ecx, 1
        or ebp, ecx
        and ebp, 0xFF
        jnz .fail
        inc dword [V_PASS]
        PUTS "PASS: "
        call %1_alu_name
        PUTS 10
        ret
.fail:  inc dword [V_FAIL]
        PUTS "FAIL: "
        call %1_alu_name
        PUTS " (got eax="
        call %1_hex
        PUTS " edx="
        push eax
        mov eax, edx
        call %1_hex
        PUTS " fl="
        mov eax, edi
        call %1_hex
        PUTS ", expected eax="
        mov eax, [fs:esi + 20]
        call %1_hex
        PUTS " edx="
        mov eax, [fs:esi + 24]
        call %1_hex
        PUTS " fl="
        movzx eax, word [fs:esi + 4]
        call %1_hex
        PUTS " mask "
        movzx eax, word [fs:esi + 6]
        call %1_hex
        PUTS ")", 10
        pop eax
        ret

; print "<mode> <stub> a b d f=<flags in>" for the row at ESI
%1_alu_name:
        push eax
        push ebp
        PUTS %str(%1), " "
        movzx ebp, word [fs:esi]
        and ebp, 0x7FFF
%if __BITS__ == 16
        push esi
        movzx esi, word [cs:RM(alu_stub_names) + ebp * 2]
        call print_str16
        pop esi
%else
        push esi
        movzx esi, word [alu_stub_names + ebp * 2]
        add esi, ROM_LOW
        call print_str
        pop esi
%endif
        PUTS " "
        mov eax, [fs:esi + 8]
        call %1_hex
        PUTS " "
        mov eax, [fs:esi + 12]
        call %1_hex
        PUTS " "
        mov eax, [fs:esi + 16]
        call %1_hex
        PUTS " f="
        movzx eax, word [fs:esi + 2]
        call %1_hex
        pop ebp
        pop eax
        ret

%1_hex:
%if __BITS__ == 16
        jmp print_hex16
%else
        jmp print_hex
%endif
%undef TBL
%endmacro

; SETCC_ALL base: SETcc for the 16 conditions into bytes base+0..15
; (condition code order: O NO B AE E NE BE A S NS P NP L GE LE G).
%macro SETCC_ALL 1
        seto [%1 + 0]
        setno [%1 + 1]
        setb [%1 + 2]
        setae [%1 + 3]
        sete [%1 + 4]
        setne [%1 + 5]
        setbe [%1 + 6]
        seta [%1 + 7]
        sets [%1 + 8]
        setns [%1 + 9]
        setp [%1 + 10]
        setnp [%1 + 11]
        setl [%1 + 12]
        setge [%1 + 13]
        setle [%1 + 14]
        setg [%1 + 15]
%endmacro

; CMOVCC_ALL base: for each condition, CMOVcc ECX <- EDX (ECX = 0, EDX = 1)
; and store CL into base+cc. The flags are those of the caller.
%macro CMOVCC_ALL 1
%assign i 0
%rep 16
        mov ecx, 0
        mov edx, 1
  %if i == 0
        cmovo ecx, edx
  %elif i == 1
        cmovno ecx, edx
  %elif i == 2
        cmovb ecx, edx
  %elif i == 3
        cmovae ecx, edx
  %elif i == 4
        cmove ecx, edx
  %elif i == 5
        cmovne ecx, edx
  %elif i == 6
        cmovbe ecx, edx
  %elif i == 7
        cmova ecx, edx
  %elif i == 8
        cmovs ecx, edx
  %elif i == 9
        cmovns ecx, edx
  %elif i == 10
        cmovp ecx, edx
  %elif i == 11
        cmovnp ecx, edx
  %elif i == 12
        cmovl ecx, edx
  %elif i == 13
        cmovge ecx, edx
  %elif i == 14
        cmovle ecx, edx
  %else
        cmovg ecx, edx
  %endif
        mov [%1 + i], cl
%assign i i + 1
%endrep
%endmacro

; CHECK_CC name, d0, d1, d2, d3: the 16 condition bytes at V_SCRATCH
%macro CHECK_CC 5
        CHECK_EQ {%1, " O NO B AE"}, [V_SCRATCH + 0], %2
        CHECK_EQ {%1, " E NE BE A"}, [V_SCRATCH + 4], %3
        CHECK_EQ {%1, " S NS P NP"}, [V_SCRATCH + 8], %4
        CHECK_EQ {%1, " L GE LE G"}, [V_SCRATCH + 12], %5
%endmacro

BUF     equ LOW_BUF             ; memory operands (DS base 0; below 64 KiB for real mode)

; ALU_MISC "rm"/"pm": the hand-written checks, for both modes
%macro ALU_MISC 1
        ; --- SETcc / CMOVcc after three comparisons -----------------------
        mov eax, 5
        cmp eax, 7              ; 5 - 7: CF=1 SF=1 ZF=0 OF=0 PF=0
        SETCC_ALL V_SCRATCH
        CHECK_CC {%1, " setcc cmp 5,7:"}, 0x00010100, 0x00010100, 0x01000001, 0x00010001
        mov eax, 5
        cmp eax, 7
        CMOVCC_ALL V_SCRATCH
        CHECK_CC {%1, " cmovcc cmp 5,7:"}, 0x00010100, 0x00010100, 0x01000001, 0x00010001
        mov eax, 0x80000000
        cmp eax, 1              ; CF=0 ZF=0 SF=0 OF=1 PF=1
        SETCC_ALL V_SCRATCH
        CHECK_CC {%1, " setcc cmp 80000000,1:"}, 0x01000001, 0x01000100, 0x00010100, 0x00010001
        mov eax, 0x80000000
        cmp eax, 1
        CMOVCC_ALL V_SCRATCH
        CHECK_CC {%1, " cmovcc cmp 80000000,1:"}, 0x01000001, 0x01000100, 0x00010100, 0x00010001
        mov ax, 3
        cmp ax, 3               ; ZF=1 PF=1, others 0
        SETCC_ALL V_SCRATCH
        CHECK_CC {%1, " setcc cmp 3,3:"}, 0x01000100, 0x00010001, 0x00010100, 0x00010100
        ; CMOV with a 16-bit operand keeps the upper half; not taken moves nothing
        mov eax, 0x11112222
        mov ebx, 0x33334444
        stc
        cmovc ax, bx
        CHECK_EQ {%1, " cmovc ax,bx taken"}, eax, 0x11114444
        cmovnc eax, ebx
        CHECK_EQ {%1, " cmovnc eax,ebx not taken"}, eax, 0x11114444
        mov dword [BUF], 0xCAFEF00D
        clc
        cmovnc ecx, [BUF]
        CHECK_EQ {%1, " cmovnc ecx,[mem]"}, ecx, 0xCAFEF00D

        ; --- BSWAP, sign/zero extension -------------------------------------
        mov eax, 0x12345678
        bswap eax
        CHECK_EQ {%1, " bswap eax"}, eax, 0x78563412
        mov edx, 0x80FF0001
        bswap edx
        CHECK_EQ {%1, " bswap edx"}, edx, 0x0100FF80
        mov eax, 0x12345680
        cbw
        CHECK_EQ {%1, " cbw 80"}, eax, 0x1234FF80
        mov eax, 0x1234567F
        cbw
        CHECK_EQ {%1, " cbw 7F"}, eax, 0x1234007F
        mov eax, 0x12348000
        cwde
        CHECK_EQ {%1, " cwde 8000"}, eax, 0xFFFF8000
        mov eax, 0x00008000
        mov edx, 0x12345678
        cwd
        CHECK_EQ {%1, " cwd 8000 (dx)"}, edx, 0x1234FFFF
        mov eax, 0x00007FFF
        cwd
        CHECK_EQ {%1, " cwd 7FFF (dx)"}, edx, 0x12340000
        mov eax, 0x80000000
        cdq
        CHECK_EQ {%1, " cdq 80000000"}, edx, 0xFFFFFFFF
        mov eax, 0x7FFFFFFF
        cdq
        CHECK_EQ {%1, " cdq 7FFFFFFF"}, edx, 0
        mov ebx, 0x000080FE
        movzx eax, bl
        CHECK_EQ {%1, " movzx eax,bl"}, eax, 0xFE
        movsx eax, bl
        CHECK_EQ {%1, " movsx eax,bl"}, eax, 0xFFFFFFFE
        movsx eax, bx
        CHECK_EQ {%1, " movsx eax,bx"}, eax, 0xFFFF80FE
        movzx eax, bx
        CHECK_EQ {%1, " movzx eax,bx"}, eax, 0x000080FE
        mov eax, 0x55555555
        movsx ax, bl
        CHECK_EQ {%1, " movsx ax,bl keeps upper"}, eax, 0x5555FFFE
        mov dword [BUF], 0x00008081
        movsx ecx, byte [BUF]
        CHECK_EQ {%1, " movsx ecx,byte [mem]"}, ecx, 0xFFFFFF81
        movzx ecx, word [BUF]
        CHECK_EQ {%1, " movzx ecx,word [mem]"}, ecx, 0x00008081

        ; --- LEA: 32-bit and 16-bit address sizes ---------------------------
        mov ebx, 0x1000
        mov ecx, 0x20
        lea eax, [ebx + ecx * 4 + 0x10]
        CHECK_EQ {%1, " lea [ebx+ecx*4+10]"}, eax, 0x1090
        lea eax, [ecx * 8 + 0x12345678]
        CHECK_EQ {%1, " lea [ecx*8+disp32]"}, eax, 0x12345778
        lea eax, [ebx + ebx * 2]
        CHECK_EQ {%1, " lea [ebx+ebx*2]"}, eax, 0x3000
        mov ebx, 0xFFFFFFF0
        lea eax, [ebx + 0x20]
        CHECK_EQ {%1, " lea wraps at 4 GiB"}, eax, 0x10
        mov eax, 0xAAAAAAAA
        mov ebx, 0x0001FFFF
        mov esi, 0x00000002
        lea ax, [bx + si + 5]
        CHECK_EQ {%1, " lea ax,[bx+si+5] wraps at 64 KiB"}, eax, 0xAAAA0006
        a16 lea eax, [bx + si]
        CHECK_EQ {%1, " lea eax,[bx+si] (a16) zero-extends"}, eax, 0x00000001
        mov ebx, 0x00012345
        mov ecx, 0x00010000
        lea cx, [ebx + ecx]
        CHECK_EQ {%1, " lea cx,[ebx+ecx] truncates"}, ecx, 0x00012345
        mov ebp, 0x100
        mov edi, 0x3
        lea eax, [bp + di - 1]
        CHECK_EQ {%1, " lea eax,[bp+di-1]"}, eax, 0x102

        ; --- XCHG, XADD, CMPXCHG, CMPXCHG8B on memory ----------------------
        mov eax, 1
        mov ebx, 2
        xchg eax, ebx
        CHECK_EQ {%1, " xchg eax,ebx (eax)"}, eax, 2
        CHECK_EQ {%1, " xchg eax,ebx (ebx)"}, ebx, 1
        mov dword [BUF], 0x11223344
        mov ecx, 0xAABBCCDD
        xchg cx, [BUF]
        CHECK_EQ {%1, " xchg cx,[mem] (reg)"}, ecx, 0xAABB3344
        CHECK_EQ {%1, " xchg cx,[mem] (mem)"}, [BUF], 0x1122CCDD
        xchg [BUF + 3], cl
        CHECK_EQ {%1, " xchg [mem+3],cl"}, [BUF], 0x4422CCDD
        mov dword [BUF], 0xFFFFFFFF
        mov ebx, 1
        xadd [BUF], ebx
        CHECK_FLAGS {%1, " xadd [mem] flags"}, FL_CF|FL_ZF|FL_PF|FL_AF, FL_ARITH
        CHECK_EQ {%1, " xadd [mem] (mem)"}, [BUF], 0
        CHECK_EQ {%1, " xadd [mem] (reg)"}, ebx, 0xFFFFFFFF
        mov dword [BUF], 0x1234
        mov eax, 0x1234
        mov ecx, 0x5678
        cmpxchg [BUF], cx
        CHECK_FLAGS {%1, " cmpxchg16 [mem] equal: ZF"}, FL_ZF|FL_PF, FL_ARITH
        CHECK_EQ {%1, " cmpxchg16 [mem] equal: stored"}, [BUF], 0x5678
        mov eax, 0x12340000
        cmpxchg [BUF], ecx
        CHECK_FLAGS {%1, " cmpxchg32 [mem] differ: flags"}, FL_AF|FL_PF, FL_ARITH   ; 12340000-5678
        CHECK_EQ {%1, " cmpxchg32 [mem] differ: loaded"}, eax, 0x5678
        mov dword [BUF], 0x89ABCDEF
        mov dword [BUF + 4], 0x01234567
        mov eax, 0x89ABCDEF
        mov edx, 0x01234567
        mov ebx, 0x11111111
        mov ecx, 0x22222222
        cmpxchg8b [BUF]
        CHECK_FLAGS {%1, " cmpxchg8b equal: ZF"}, FL_ZF, FL_ZF
        CHECK_EQ {%1, " cmpxchg8b equal: low"}, [BUF], 0x11111111
        CHECK_EQ {%1, " cmpxchg8b equal: high"}, [BUF + 4], 0x22222222
        mov eax, 0
        mov edx, 0
        cmpxchg8b [BUF]
        CHECK_FLAGS {%1, " cmpxchg8b differ: ZF"}, 0, FL_ZF
        CHECK_EQ {%1, " cmpxchg8b differ: eax"}, eax, 0x11111111
        CHECK_EQ {%1, " cmpxchg8b differ: edx"}, edx, 0x22222222

        ; --- BT family on memory: the bit offset reaches other dwords ------
        mov dword [BUF], 0x00000001
        mov dword [BUF + 4], 0x00000008
        mov dword [BUF + 8], 0x80000000
        mov ecx, 35                     ; bit 3 of BUF+4
        bt dword [BUF], ecx
        CHECK_FLAGS {%1, " bt [mem],35"}, FL_CF, FL_CF
        mov ecx, 95                     ; bit 31 of BUF+8
        btr dword [BUF], ecx
        CHECK_FLAGS {%1, " btr [mem],95 (CF)"}, FL_CF, FL_CF
        CHECK_EQ {%1, " btr [mem],95 (mem)"}, [BUF + 8], 0
        mov ecx, -32                    ; bit 0 of BUF-4
        mov dword [BUF - 4], 0
        bts dword [BUF], ecx
        CHECK_FLAGS {%1, " bts [mem],-32 (CF)"}, 0, FL_CF
        CHECK_EQ {%1, " bts [mem],-32 (mem)"}, [BUF - 4], 1
        mov cx, 17                      ; 16-bit offset: word at BUF+2, bit 1
        btc word [BUF], cx
        CHECK_EQ {%1, " btc word [mem],17"}, [BUF], 0x00020001
        bt dword [BUF], 36              ; immediate offset: taken modulo 32
        CHECK_FLAGS {%1, " bt [mem],imm 36 (mod 32)"}, 0, FL_CF
        bts dword [BUF], 33
        CHECK_EQ {%1, " bts [mem],imm 33"}, [BUF], 0x00020003

        ; --- immediate and memory forms of arithmetic -----------------------
        mov dword [BUF], 0x7FFFFFFF
        add dword [BUF], 1
        CHECK_FLAGS {%1, " add [mem],imm8 overflow"}, FL_OF|FL_SF|FL_AF|FL_PF, FL_ARITH
        CHECK_EQ {%1, " add [mem],imm8"}, [BUF], 0x80000000
        sub dword [BUF], -1             ; imm8 sign-extended to 0xFFFFFFFF
        CHECK_FLAGS {%1, " sub [mem],-1 flags"}, FL_CF|FL_SF|FL_AF, FL_ARITH   ; 80000000-FFFFFFFF
        CHECK_EQ {%1, " sub [mem],-1"}, [BUF], 0x80000001
        mov eax, 0x00001234
        add ax, 0xF000
        CHECK_EQ {%1, " add ax,imm16"}, eax, 0x00000234
        adc al, 0xFF
        CHECK_EQ {%1, " adc al,imm8 with CF"}, eax, 0x00000234
        and eax, 0xFFFFFF0F
        CHECK_EQ {%1, " and eax,imm32"}, eax, 0x00000204
        or word [BUF], 0x8000
        CHECK_EQ {%1, " or word [mem],imm16"}, [BUF], 0x80008001
        xor byte [BUF + 3], 0x81
        CHECK_EQ {%1, " xor byte [mem],imm8"}, [BUF], 0x01008001
        neg dword [BUF]
        CHECK_EQ {%1, " neg [mem]"}, [BUF], 0xFEFF7FFF
        not word [BUF]
        CHECK_EQ {%1, " not word [mem]"}, [BUF], 0xFEFF8000
        inc byte [BUF + 1]
        CHECK_EQ {%1, " inc byte [mem+1]"}, [BUF], 0xFEFF8100
        dec dword [BUF]
        CHECK_EQ {%1, " dec [mem]"}, [BUF], 0xFEFF80FF
        shl dword [BUF], 4
        CHECK_EQ {%1, " shl [mem],4"}, [BUF], 0xEFF80FF0
        sar dword [BUF], 8
        CHECK_EQ {%1, " sar [mem],8"}, [BUF], 0xFFEFF80F
        rol word [BUF], 4
        CHECK_EQ {%1, " rol word [mem],4"}, [BUF], 0xFFEF80FF
        mov eax, 0x0000ABCD
        ror eax, 8
        CHECK_EQ {%1, " ror eax,imm 8"}, eax, 0xCD0000AB
        mov eax, 0x12345678
        mov edx, 0x9ABCDEF0
        shld eax, edx, 8
        CHECK_EQ {%1, " shld eax,edx,imm 8"}, eax, 0x3456789A
        shrd eax, edx, 12
        CHECK_EQ {%1, " shrd eax,edx,imm 12"}, eax, 0xEF034567
        mov dword [BUF], 300
        mov eax, 200
        mul dword [BUF]
        CHECK_EQ {%1, " mul [mem] (eax)"}, eax, 60000
        mov word [BUF], -7
        mov eax, 6
        imul ax, [BUF]
        CHECK_EQ {%1, " imul ax,[mem]"}, eax, 0xFFD6
        imul ecx, [BUF], 3
        CHECK_EQ {%1, " imul ecx,[mem],3"}, ecx, 0x2FFEB
        mov eax, 1000
        xor edx, edx
        mov dword [BUF], 7
        div dword [BUF]
        CHECK_EQ {%1, " div [mem] quotient"}, eax, 142
        CHECK_EQ {%1, " div [mem] remainder"}, edx, 6
%endmacro

        bits 16
        ALU_STUBS rm_stub
        ALU_RUNNER rm
        bits 32
        ALU_STUBS pm_stub
        ALU_RUNNER pm

; ---- real mode ---------------------------------------------------------------
        bits 16
entry:
        RM_INIT
        POST 0x10
        PUTSLN "alu: real mode, table of cases"
        mov ax, ROM_SEG
        mov fs, ax
        call rm_alu_run
        PUTSLN "alu: real mode, hand-written checks"
        POST 0x11
        ALU_MISC "rm"

        ; #DE in real mode goes through IVT entry 0: the frame is FLAGS, CS,
        ; IP of the DIV itself (a fault); IF and TF are cleared
        mov word [0 * 4], RM(rm_de_handler)
        mov word [0 * 4 + 2], ROM_SEG
        mov dword [V_SCRATCH + 12], 0   ; handler runs
        mov ax, 100
        mov bl, 0
        push dword FL_FIXED1 | FL_IF | FL_CF
        popfd
.rm_div:
        div bl
        cli
        CHECK_EQ "rm div by zero: handler ran", [V_SCRATCH + 12], 1
        CHECK_EQ "rm div by zero: saved IP is the DIV", [V_SCRATCH], RM(.rm_div)
        CHECK_EQ "rm div by zero: saved CS", [V_SCRATCH + 4], ROM_SEG
        CHECK_EQ "rm div by zero: saved FLAGS", [V_SCRATCH + 8], FL_FIXED1 | FL_IF | FL_CF
        CHECK_EQ "rm div by zero: IF cleared in the handler", [V_SCRATCH + 16], FL_FIXED1 | FL_CF
        CHECK_EQ "rm div by zero: AX unchanged", eax, 100
        ENTER_PM32 pm_main

; real-mode #DE handler: record the frame, skip the 2-byte DIV, IRET
        bits 16
rm_de_handler:
        push bp
        mov bp, sp
        push eax
        movzx eax, word [bp + 2]
        mov [V_SCRATCH], eax
        movzx eax, word [bp + 4]
        mov [V_SCRATCH + 4], eax
        movzx eax, word [bp + 6]
        mov [V_SCRATCH + 8], eax
        pushf
        pop ax
        mov [V_SCRATCH + 16], eax
        inc dword [V_SCRATCH + 12]
        add word [bp + 2], 2
        pop eax
        pop bp
        iret

; ---- protected mode ----------------------------------------------------------
        bits 32
pm_main:
        POST 0x20
        PUTSLN "alu: protected mode, table of cases"
        call pm_alu_run
        PUTSLN "alu: protected mode, hand-written checks"
        POST 0x21
        ALU_MISC "pm"

        ; #DE: division by zero and quotient overflow are faults: EIP points
        ; at the divide instruction and the registers are unchanged
        mov eax, 1234
        xor edx, edx
        xor ecx, ecx
        TRY .de1
.div0:  div ecx
        END_TRY
.de1:   CHECK_EXC "pm div by zero", VEC_DE, 0
        CHECK_EQ "pm div by zero: fault EIP", [V_EXC_EIP], .div0
        mov eax, 0
        mov edx, 2
        mov ecx, 2
        TRY .de2
        div ecx                 ; 0x2_00000000 / 2 does not fit in 32 bits
        END_TRY
.de2:   CHECK_EXC "pm div quotient overflow", VEC_DE, 0
        mov eax, 0x8000
        mov bl, -1
        TRY .de3
        idiv bl                 ; -32768 / -1 = 32768: too big for AL
        END_TRY
.de3:   CHECK_EXC "pm idiv8 quotient overflow", VEC_DE, 0
        mov eax, 0x80000000
        mov edx, 0xFFFFFFFF
        mov ecx, -1
        TRY .de4
        idiv ecx                ; INT_MIN / -1
        END_TRY
.de4:   CHECK_EXC "pm idiv32 INT_MIN/-1", VEC_DE, 0
        CHECK_EQ "pm idiv32 #DE keeps eax", eax, 0x80000000
        mov eax, 0x55
        TRY .de5
        aam 0
        END_TRY
.de5:   CHECK_EXC "pm aam 0", VEC_DE, 0
        TEST_DONE

        ROM_END entry
