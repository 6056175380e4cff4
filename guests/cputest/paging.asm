; paging.asm - 4 KiB and 4 MiB pages, protection, A/D bits, #PF (paging.rom).
;
; Address space (PD at PT_AREA):
;   0x00000000-0x003FFFFF  identity, 4 KiB pages, P|W|U (code, stacks, tables)
;   0x00400000  V_RO_U   -> PHYS_A   P|U      read-only user page
;   0x00401000  V_RW_S   -> PHYS_B   P|W      supervisor page
;   0x00402000  V_NP                          not present
;   0x00403000  V_RW_U   -> PHYS_C   P|W|U    A/D bit test page
;   0x00404000  V_ALIAS  -> PHYS_D / PHYS_E   remapped: INVLPG, CR3 reload
;   0x00800000  4 MiB page (CR4.PSE) -> physical 0, P|W|U
;   0x00C00000  V_PDE_S  PDE without U, PTE with U -> PHYS_A
;   0x01000000  V_PDE_RO PDE without W, PTE with W -> PHYS_C
;
; Checks: translation, A and D bits in PTEs and PDEs (also of the 4 MiB
; page), #PF error codes (P, W, U bits) and CR2 for reads/writes at ring 0
; and ring 3, CR0.WP, combined PDE/PTE U/S and R/W, a fault in the middle of REP
; MOVSD (restartable: ECX/EDI show the progress), INVLPG, CR3 reload,
; a not-present entry made present needing no flush.

%include "rom.inc"
        ROM_START
%include "cputest.inc"

PD      equ PT_AREA
PT0     equ PT_AREA + 0x1000        ; identity 0-4 MiB
PT1     equ PT_AREA + 0x2000        ; the 0x00400000 test pages
PT3     equ PT_AREA + 0x3000        ; 0x00C00000
PT4     equ PT_AREA + 0x4000        ; 0x01000000
PHYS_A  equ 0x30000
PHYS_B  equ 0x31000
PHYS_C  equ 0x32000
PHYS_D  equ 0x33000
PHYS_E  equ 0x34000
V_RO_U  equ 0x400000
V_RW_S  equ 0x401000
V_NP    equ 0x402000
V_RW_U  equ 0x403000
V_ALIAS equ 0x404000
V_4M    equ 0x800000
V_PDE_S equ 0xC00000
V_PDE_RO equ 0x1000000
%define PTE_OF(v) (PT1 + (((v) >> 12) & 0x3FF) * 4)

R3OBS   equ DATA_BUF

        bits 16
entry:
        RM_INIT
        ENTER_PM32 pm_main

        bits 32
pm_main:
        POST 0x20
        PUTSLN "paging: 4 KiB / 4 MiB pages, protection, A/D, #PF"
        ; clear the tables
        cld
        mov edi, PT_AREA
        mov ecx, 0x5000 / 4
        xor eax, eax
        rep stosd
        ; identity map of the first 4 MiB
        mov edi, PT0
        mov eax, PTE_P | PTE_W | PTE_U
        mov ecx, 1024
.id:    stosd
        add eax, 0x1000
        loop .id
        mov dword [PD + 0 * 4], PT0 | PTE_P | PTE_W | PTE_U
        mov dword [PD + 1 * 4], PT1 | PTE_P | PTE_W | PTE_U
        mov dword [PD + 2 * 4], 0 | PTE_PS | PTE_P | PTE_W | PTE_U
        mov dword [PD + 3 * 4], PT3 | PTE_P | PTE_W          ; supervisor PDE
        mov dword [PTE_OF(V_RO_U)], PHYS_A | PTE_P | PTE_U
        mov dword [PTE_OF(V_RW_S)], PHYS_B | PTE_P | PTE_W
        mov dword [PTE_OF(V_RW_U)], PHYS_C | PTE_P | PTE_W | PTE_U
        mov dword [PTE_OF(V_ALIAS)], PHYS_D | PTE_P | PTE_W | PTE_U
        mov dword [PT3], PHYS_A | PTE_P | PTE_W | PTE_U
        mov dword [PD + 4 * 4], PT4 | PTE_P | PTE_U           ; read-only PDE
        mov dword [PT4], PHYS_C | PTE_P | PTE_W | PTE_U
        ; physical page contents
        mov dword [PHYS_A], 0xAAAA0001
        mov dword [PHYS_B], 0xBBBB0002
        mov dword [PHYS_C], 0xCCCC0003
        mov dword [PHYS_D], 0xDDDD0004
        mov dword [PHYS_E], 0xEEEE0005

        mov eax, cr4
        or eax, CR4_PSE
        mov cr4, eax
        mov eax, PD
        mov cr3, eax
        mov eax, cr0
        or eax, CR0_PG
        and eax, ~CR0_WP
        mov cr0, eax
        jmp .paged                      ; (identity-mapped: execution continues)
.paged:
        PUTSLN "paging: enabled"

        ; --- translation, accessed and dirty bits -------------------------------
        CHECK_EQ "read through a 4 KiB mapping", [V_RO_U], 0xAAAA0001
        CHECK_EQ "read through a supervisor mapping at ring 0", [V_RW_S], 0xBBBB0002
        mov eax, [PTE_OF(V_RW_U)]
        and eax, PTE_A | PTE_D
        CHECK_EQ "PTE: A and D clear before any access", eax, 0
        mov eax, [V_RW_U]
        mov eax, [PTE_OF(V_RW_U)]
        and eax, PTE_A | PTE_D
        CHECK_EQ "PTE: read sets A only", eax, PTE_A
        mov dword [V_RW_U + 8], 0x12345678
        mov eax, [PTE_OF(V_RW_U)]
        and eax, PTE_A | PTE_D
        CHECK_EQ "PTE: write sets D", eax, PTE_A | PTE_D
        CHECK_EQ "write reached the physical page", [PHYS_C + 8], 0x12345678
        mov eax, [PD + 1 * 4]
        and eax, PTE_A
        CHECK_EQ "PDE: A set by the walk", eax, PTE_A
        ; 4 MiB page
        CHECK_EQ "read through a 4 MiB page", [V_4M + PHYS_D], 0xDDDD0004
        mov eax, [PD + 2 * 4]
        and eax, PTE_A | PTE_D
        CHECK_EQ "4 MiB PDE: read sets A only", eax, PTE_A
        mov dword [V_4M + PHYS_E + 4], 0x44444444
        CHECK_EQ "write through a 4 MiB page", [PHYS_E + 4], 0x44444444
        mov eax, [PD + 2 * 4]
        and eax, PTE_A | PTE_D
        CHECK_EQ "4 MiB PDE: write sets D", eax, PTE_A | PTE_D

        ; --- #PF at ring 0 ---------------------------------------------------------
        TRY .f1
.i1:    mov eax, [V_NP + 0x10]
        END_TRY
.f1:    CHECK_EXC "ring 0 read, not present", VEC_PF, 0
        CHECK_EQ "ring 0 read, not present: CR2", [V_EXC_CR2], V_NP + 0x10
        CHECK_EQ "ring 0 read, not present: EIP of the faulting instruction", [V_EXC_EIP], .i1
        TRY .f2
        mov dword [V_NP + 0x20], 1
        END_TRY
.f2:    CHECK_EXC "ring 0 write, not present", VEC_PF, PF_W
        CHECK_EQ "ring 0 write, not present: CR2", [V_EXC_CR2], V_NP + 0x20
        ; CR0.WP = 0: ring 0 may write a read-only page
        mov dword [V_RO_U + 4], 0x0BAD0BAD
        CHECK_EQ "ring 0 write to a read-only page with WP=0 succeeds", [PHYS_A + 4], 0x0BAD0BAD
        mov eax, cr0
        or eax, CR0_WP
        mov cr0, eax
        TRY .f3
        mov dword [V_RO_U + 4], 0
        END_TRY
.f3:    CHECK_EXC "ring 0 write to a read-only page with WP=1", VEC_PF, PF_P | PF_W
        CHECK_EQ "WP=1 write: CR2", [V_EXC_CR2], V_RO_U + 4
        CHECK_EQ "WP=1 write: memory unchanged", [PHYS_A + 4], 0x0BAD0BAD
        mov eax, cr0
        and eax, ~CR0_WP
        mov cr0, eax

        ; a fault in the middle of REP MOVSD is restartable
        mov esi, V_RW_U
        mov edi, V_NP - 8
        mov ecx, 4
        TRY .f4
        rep movsd
        END_TRY
.f4:    CHECK_EXC "rep movsd into a not-present page", VEC_PF, PF_W
        CHECK_EQ "rep movsd #PF: CR2", [V_EXC_CR2], V_NP
        CHECK_EQ "rep movsd #PF: ECX counts the copied dwords", ecx, 2
        CHECK_EQ "rep movsd #PF: EDI at the faulting dword", edi, V_NP
        CHECK_EQ "rep movsd #PF: first dwords copied (1)", [PHYS_B + 0xFF8], 0xCCCC0003
        CHECK_EQ "rep movsd #PF: first dwords copied (2)", [PHYS_B + 0xFFC], 0

        ; --- #PF at ring 3 ----------------------------------------------------------
%macro R3_PF 2+                 ; %1 slot, %2 the access
        TRY_RESUME %%done
        %2
        END_TRY
%%done: mov eax, [V_EXC_VEC]
        mov [R3OBS + %1 * 16], eax
        mov eax, [V_EXC_ERR]
        mov [R3OBS + %1 * 16 + 4], eax
        mov eax, [V_EXC_CR2]
        mov [R3OBS + %1 * 16 + 8], eax
%endmacro
        PUTSLN "paging: ring 3 accesses"
        RING3_BEGIN .back3
        mov dword [V_EXC_CR2], 0
        R3_PF 0, mov eax, [V_RO_U]              ; allowed
        R3_PF 1, mov eax, [V_RW_S + 0x30]       ; supervisor page
        R3_PF 2, mov dword [V_RO_U + 0x40], 1   ; read-only, even with WP=0
        R3_PF 3, mov eax, [V_NP + 0x50]         ; not present
        R3_PF 4, mov dword [V_NP + 0x60], 1
        R3_PF 5, mov eax, [V_PDE_S + 0x70]      ; PDE without U
        R3_PF 6, mov dword [V_RW_U + 0x80], 7   ; allowed
        R3_PF 7, mov dword [V_PDE_RO + 0x90], 1 ; PDE without W
        R3_PF 8, mov eax, [V_PDE_RO + 0x90]     ; reading is fine
        RING3_END
.back3:
        CHECK_EQ "ring 3 read of a user page: no fault", [R3OBS + 0 * 16], -1
        CHECK_EQ "ring 3 read of a supervisor page: #PF", [R3OBS + 1 * 16], VEC_PF
        CHECK_EQ "ring 3 read of a supervisor page: error P|U", [R3OBS + 1 * 16 + 4], PF_P | PF_U
        CHECK_EQ "ring 3 read of a supervisor page: CR2", [R3OBS + 1 * 16 + 8], V_RW_S + 0x30
        CHECK_EQ "ring 3 write to a read-only page: #PF", [R3OBS + 2 * 16], VEC_PF
        CHECK_EQ "ring 3 write to a read-only page: error P|W|U", [R3OBS + 2 * 16 + 4], PF_P | PF_W | PF_U
        CHECK_EQ "ring 3 write to a read-only page: CR2", [R3OBS + 2 * 16 + 8], V_RO_U + 0x40
        CHECK_EQ "ring 3 read, not present: error U", [R3OBS + 3 * 16 + 4], PF_U
        CHECK_EQ "ring 3 read, not present: CR2", [R3OBS + 3 * 16 + 8], V_NP + 0x50
        CHECK_EQ "ring 3 write, not present: error W|U", [R3OBS + 4 * 16 + 4], PF_W | PF_U
        CHECK_EQ "ring 3 read, supervisor PDE: #PF", [R3OBS + 5 * 16], VEC_PF
        CHECK_EQ "ring 3 read, supervisor PDE: error P|U", [R3OBS + 5 * 16 + 4], PF_P | PF_U
        CHECK_EQ "ring 3 write of a user page: no fault", [R3OBS + 6 * 16], -1
        CHECK_EQ "ring 3 write of a user page: data", [PHYS_C + 0x80], 7
        CHECK_EQ "ring 0 read through the supervisor PDE", [V_PDE_S], 0xAAAA0001
        CHECK_EQ "ring 3 write, read-only PDE: #PF", [R3OBS + 7 * 16], VEC_PF
        CHECK_EQ "ring 3 write, read-only PDE: error P|W|U", [R3OBS + 7 * 16 + 4], PF_P | PF_W | PF_U
        CHECK_EQ "ring 3 read, read-only PDE: no fault", [R3OBS + 8 * 16], -1
        mov dword [V_PDE_RO + 0x94], 0x600D     ; WP=0: ring 0 may write
        CHECK_EQ "ring 0 write, read-only PDE, WP=0", [PHYS_C + 0x94], 0x600D

        ; --- TLB maintenance -----------------------------------------------------
        CHECK_EQ "alias maps PHYS_D", [V_ALIAS], 0xDDDD0004
        mov dword [PTE_OF(V_ALIAS)], PHYS_E | PTE_P | PTE_W | PTE_U
        invlpg [V_ALIAS]
        CHECK_EQ "after PTE change + INVLPG: new frame", [V_ALIAS], 0xEEEE0005
        mov dword [PTE_OF(V_ALIAS)], PHYS_D | PTE_P | PTE_W | PTE_U
        mov eax, cr3
        mov cr3, eax
        CHECK_EQ "after PTE change + CR3 reload: new frame", [V_ALIAS], 0xDDDD0004
        ; a not-present entry is never cached: making it present needs no flush
        mov dword [PTE_OF(V_NP)], PHYS_E | PTE_P | PTE_W | PTE_U
        CHECK_EQ "not-present PTE made present: visible without a flush", [V_NP], 0xEEEE0005

        ; paging off again: identity addresses unchanged
        mov eax, cr0
        and eax, ~CR0_PG
        mov cr0, eax
        jmp .unpaged
.unpaged:
        CHECK_EQ "paging off: physical read", [PHYS_A], 0xAAAA0001
        TEST_DONE

        ROM_END entry
