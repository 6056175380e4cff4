/*
 * test_core.c - the CPU core: reset state, the decode cache and
 * self-modifying code, paging faults and A/D bits, the double/triple fault
 * rules, strict mode, and save/restore.
 */
#include "testbus.h"

/* After RESET: real mode at F000:FFF0 with base FFFF0000, EDX signature. */
static void test_reset_state(void)
{
	struct testbus *tb = tb_new();
	struct cpu *cpu = tb->cpu;
	cpu_reset(cpu);
	g_assert_cmphex(cpu->seg[SEG_CS].sel, ==, 0xf000);
	g_assert_cmphex(cpu->seg[SEG_CS].base, ==, 0xffff0000u);
	g_assert_cmphex(cpu->eip, ==, 0xfff0);
	g_assert_cmphex(cpu->r[EDX] >> 8, ==, 0x6);
	g_assert_cmphex(cpu_get_eflags(cpu), ==, 0x2);
	g_assert_cmphex(cpu->cr0 & CR0_PE, ==, 0);
	tb_free(tb);
}

/* A write over an instruction that has already been decoded and cached
 * must make the next execution run the new bytes. */
static void test_smc_invalidates_decode(void)
{
	struct testbus *tb = tb_new();
	static const uint8_t code[] = {
		0xb8, 0x00, 0x00,             /* 1000: mov ax,0 */
		0xb9, 0x02, 0x00,             /* 1003: mov cx,2 */
		0x90,                         /* 1006: nop (patched to inc ax) */
		0xc6, 0x06, 0x06, 0x10, 0x40, /* 1007: mov byte [0x1006],0x40 */
		0xe2, 0xf8,                   /* 100c: loop 1006 */
		0xf4,                         /* 100e: hlt */
	};
	tb_put(tb, 0x1000, code, sizeof code);
	g_assert_cmpint(cpu_run(tb->cpu, 100), ==, CPU_STOP_HLT);
	g_assert_cmphex(tb->cpu->r[EAX] & 0xffff, ==, 1);
	tb_free(tb);
}

/* Sets up 32-bit paging: PD at 0x10000, one PT at 0x11000 identity-mapping
 * the low 4 MiB, supervisor read/write, page 0x200 not present. */
static void setup_paging(struct testbus *tb)
{
	tb_pmode32(tb);
	tb_put32(tb, 0x10000, 0x11000 | PTE_P | PTE_W | PTE_U);
	for (uint32_t i = 0; i < 1024; i++)
		tb_put32(tb, 0x11000 + 4 * i, i == 0x200 ? 0 : (i << 12) | PTE_P | PTE_W);
	tb->cpu->cr3 = 0x10000;
	tb->cpu->cr0 |= CR0_PG;
	tb->cpu->r[ESP] = 0x8000;
	tb_gate(tb, 0x600 + 8 * EXC_PF, 0x08, 0x3000, SYS_INTGATE32, 0);
	tb_put(tb, 0x3000, "\xf4", 1);
	cpu_state_changed(tb->cpu);
}

/* A read of a not-present page: #PF with CR2 = the address, error code 0,
 * and the faulting EIP on the stack. */
static void test_pf_not_present(void)
{
	struct testbus *tb = tb_new();
	setup_paging(tb);
	tb_put(tb, 0x1000, "\xa1\x00\x00\x20\x00", 5); /* mov eax,[0x200000] */
	g_assert_cmpint(cpu_run(tb->cpu, 10), ==, CPU_STOP_HLT);
	g_assert_cmphex(tb->cpu->cr2, ==, 0x200000);
	g_assert_cmphex(tb->cpu->eip, ==, 0x3001);
	g_assert_cmphex(tb_get32(tb, 0x8000 - 16), ==, 0);      /* error code */
	g_assert_cmphex(tb_get32(tb, 0x8000 - 12), ==, 0x1000); /* EIP */
	tb_free(tb);
}

/* A write sets A and D in the PTE and A in the PDE; a user-mode write to a
 * supervisor page reports P|W|U. */
static void test_accessed_dirty(void)
{
	struct testbus *tb = tb_new();
	setup_paging(tb);
	/* mov dword [0x101000],0x12345678 ; hlt */
	tb_put(tb, 0x1000, "\xc7\x05\x00\x10\x10\x00\x78\x56\x34\x12\xf4", 11);
	g_assert_cmpint(cpu_run(tb->cpu, 10), ==, CPU_STOP_HLT);
	g_assert_cmphex(tb_get32(tb, 0x101000), ==, 0x12345678);
	g_assert_cmphex(tb_get32(tb, 0x11000 + 4 * 0x101) & (PTE_A | PTE_D), ==, PTE_A | PTE_D);
	g_assert_cmphex(tb_get32(tb, 0x10000) & PTE_A, ==, PTE_A);
	/* A page only read gets A but not D. */
	tb->cpu->eip = 0x1100;
	tb->cpu->halted = false;
	tb_put(tb, 0x1100, "\xa1\x00\x20\x10\x00\xf4", 6); /* mov eax,[0x102000] */
	g_assert_cmpint(cpu_run(tb->cpu, 10), ==, CPU_STOP_HLT);
	g_assert_cmphex(tb_get32(tb, 0x11000 + 4 * 0x102) & (PTE_A | PTE_D), ==, PTE_A);
	tb_free(tb);
}

/* #UD with an IDT too short for anything: #GP, then #DF, then shutdown. */
static void test_triple_fault(void)
{
	struct testbus *tb = tb_new();
	tb_pmode32(tb);
	tb->cpu->idtr.limit = 0;
	tb_put(tb, 0x1000, "\x0f\x0b", 2); /* ud2 */
	g_assert_cmpint(cpu_run(tb->cpu, 10), ==, CPU_STOP_SHUTDOWN);
	g_assert_true(tb->shutdown);
	tb_free(tb);
}

/* #GP whose delivery hits a not-present gate (#NP) becomes #DF. */
static void test_double_fault(void)
{
	struct testbus *tb = tb_new();
	tb_pmode32(tb);
	tb->cpu->r[ESP] = 0x8000;
	/* gate 13 not present; gate 8 to the handler */
	tb_put32(tb, 0x600 + 8 * EXC_GP, 0);
	tb_put32(tb, 0x600 + 8 * EXC_GP + 4, 0x0e00);
	tb_gate(tb, 0x600 + 8 * EXC_DF, 0x08, 0x3000, SYS_INTGATE32, 0);
	tb_put(tb, 0x3000, "\xf4", 1);
	/* The first fault is a #GP: DS loaded with a selector beyond the GDT. */
	tb_put(tb, 0x1000, "\x66\xb8\xf8\x00\x8e\xd8", 6); /* mov ax,0xf8 ; mov ds,ax */
	g_assert_cmpint(cpu_run(tb->cpu, 10), ==, CPU_STOP_HLT);
	g_assert_cmphex(tb->cpu->eip, ==, 0x3001);
	g_assert_cmphex(tb_get32(tb, 0x8000 - 16), ==, 0);      /* #DF error code */
	g_assert_cmphex(tb_get32(tb, 0x8000 - 12), ==, 0x1004); /* the MOV DS */
	tb_free(tb);
}

/* Strict mode: SGDT at CPL 3 raises #GP(0); without it, SGDT reveals the
 * real GDTR (the classic Popek-Goldberg hole). */
static void run_sgdt_ring3(struct testbus *tb, bool strict)
{
	struct cpu *cpu = tb->cpu;
	tb_pmode32(tb);
	tb_desc(tb, 0x528, 0x700, 0x67, DESC_P | SYS_TSS32_BUSY);
	cpu->gdtr.limit = 0x2f;
	tb_put32(tb, 0x700 + 4, 0x9000); /* ESP0 */
	tb_put32(tb, 0x700 + 8, 0x10);   /* SS0 */
	cpu->tr = (struct seg){0x28, DESC_P | SYS_TSS32_BUSY, 0x700, 0x67};
	tb_gate(tb, 0x600 + 8 * EXC_GP, 0x08, 0x3000, SYS_INTGATE32, 0);
	tb_put(tb, 0x3000, "\xf4", 1);
	uint16_t code3 = DESC_P | DESC_S | DESC_TYPE_CODE | DESC_TYPE_R | DESC_TYPE_A | DESC_DB | DESC_G |
	                 3 << DESC_DPL_SHIFT;
	uint16_t data3 = DESC_P | DESC_S | DESC_TYPE_W | DESC_TYPE_A | DESC_DB | DESC_G | 3 << DESC_DPL_SHIFT;
	for (int s = 0; s < 6; s++)
		cpu->seg[s] = (struct seg){0x23, data3, 0, 0xffffffffu};
	cpu->seg[SEG_CS] = (struct seg){0x1b, code3, 0, 0xffffffffu};
	cpu->cpl = 3;
	cpu->r[ESP] = 0x7000;
	cpu->msr_nestlab_ctl = strict ? NESTLAB_CTL_STRICT : 0;
	cpu_state_changed(cpu);
	tb_put(tb, 0x1000, "\x0f\x01\x05\x00\x20\x00\x00\xeb\xfe", 9); /* sgdt [0x2000] ; jmp $ */
	cpu_run(cpu, 20);
}

static void test_strict_sgdt(void)
{
	struct testbus *tb = tb_new();
	run_sgdt_ring3(tb, true);
	g_assert_cmphex(tb->cpu->seg[SEG_CS].sel, ==, 0x08);
	g_assert_cmphex(tb->cpu->eip, ==, 0x3001);
	g_assert_cmphex(tb_get32(tb, 0x9000 - 24), ==, 0);      /* error code */
	g_assert_cmphex(tb_get32(tb, 0x9000 - 20), ==, 0x1000); /* EIP of SGDT */
	g_assert_cmphex(tb_get32(tb, 0x2000), ==, 0);
	tb_free(tb);

	tb = tb_new();
	run_sgdt_ring3(tb, false);
	g_assert_cmphex(tb->cpu->seg[SEG_CS].sel, ==, 0x1b);
	g_assert_cmphex(tb_get32(tb, 0x2000) & 0xffff, ==, 0x2f);
	g_assert_cmphex(tb_get32(tb, 0x2002), ==, 0x500);
	tb_free(tb);
}

/* A saved CPU restored later continues exactly as the original did. */
static void test_save_restore(void)
{
	struct testbus *tb = tb_new();
	static const uint8_t code[] = {
		0x66, 0x05, 0x35, 0x12, 0x00, 0x00, /* add eax,0x1235 */
		0x66, 0xc1, 0xc0, 0x05,             /* rol eax,5 */
		0x66, 0x31, 0xc3,                   /* xor ebx,eax */
		0xeb, 0xf1,                         /* jmp 1000 */
	};
	tb_put(tb, 0x1000, code, sizeof code);
	cpu_run(tb->cpu, 37);
	void *img = g_malloc(cpu_save_size());
	cpu_save(tb->cpu, img);
	cpu_run(tb->cpu, 1000);
	uint32_t a = tb->cpu->r[EAX], b = tb->cpu->r[EBX], f = cpu_get_eflags(tb->cpu);
	g_assert_true(cpu_restore(tb->cpu, img, cpu_save_size()));
	cpu_run(tb->cpu, 1000);
	g_assert_cmphex(tb->cpu->r[EAX], ==, a);
	g_assert_cmphex(tb->cpu->r[EBX], ==, b);
	g_assert_cmphex(cpu_get_eflags(tb->cpu), ==, f);
	/* A damaged image is refused and changes nothing. */
	((uint8_t *)img)[0] ^= 1;
	g_assert_false(cpu_restore(tb->cpu, img, cpu_save_size()));
	g_assert_cmphex(tb->cpu->r[EAX], ==, a);
	g_free(img);
	tb_free(tb);
}

/* An instruction longer than 15 bytes raises #GP(0). */
static void test_too_long_gp(void)
{
	struct testbus *tb = tb_new();
	uint8_t code[20];
	memset(code, 0x66, 15);
	code[15] = 0x90;
	tb_put(tb, 0x1000, code, 16);
	/* real-mode IVT entry 13 -> 0:3000 (hlt) */
	tb_put32(tb, 13 * 4, 0x3000);
	tb_put(tb, 0x3000, "\xf4", 1);
	g_assert_cmpint(cpu_run(tb->cpu, 10), ==, CPU_STOP_HLT);
	g_assert_cmphex(tb->cpu->eip, ==, 0x3001);
	tb_free(tb);
}

/* An instruction whose last byte lies beyond the CS limit raises #GP(0),
 * in real mode at the 64 KiB wrap... */
static void test_fetch_beyond_limit_real(void)
{
	struct testbus *tb = tb_new();
	tb_put32(tb, 13 * 4, 0x3000); /* IVT 13 -> 0000:3000 */
	tb_put(tb, 0x3000, "\xf4", 1);
	tb_put(tb, 0xfffe, "\xb8\x34\x12", 3); /* mov ax,0x1234 across the limit */
	tb->cpu->eip = 0xfffe;
	g_assert_cmpint(cpu_run(tb->cpu, 10), ==, CPU_STOP_HLT);
	g_assert_cmphex(tb->cpu->eip, ==, 0x3001);
	g_assert_cmphex(tb->cpu->r[EAX] & 0xffff, ==, 0);
	g_assert_cmphex(tb_get32(tb, 0x8000 - 6) & 0xffff, ==, 0xfffe); /* pushed IP */
	tb_free(tb);
}

/* ...and in protected mode with a limit in the middle of a page, where the
 * decode cache must not let a cached instruction skip the check. */
static void test_fetch_beyond_limit_midpage(void)
{
	struct testbus *tb = tb_new();
	tb_pmode32(tb);
	tb->cpu->r[ESP] = 0x8000;
	tb_gate(tb, 0x600 + 8 * EXC_GP, 0x08, 0x3000, SYS_INTGATE32, 0);
	tb_put(tb, 0x3000, "\xf4", 1);
	/* 17fb: mov eax,1 (5 bytes, ends at 17ff) ; 1800: nop beyond the limit */
	tb_put(tb, 0x17fb, "\xb8\x01\x00\x00\x00\x90", 6);
	tb->cpu->eip = 0x17fb;
	cpu_run(tb->cpu, 1); /* cached while CS is flat */
	tb->cpu->eip = 0x17fb;
	tb->cpu->r[EAX] = 0;
	tb->cpu->seg[SEG_CS].limit = 0x17ff;
	cpu_state_changed(tb->cpu);
	g_assert_cmpint(cpu_run(tb->cpu, 10), ==, CPU_STOP_HLT);
	g_assert_cmphex(tb->cpu->r[EAX], ==, 1);                /* within the limit: ran */
	g_assert_cmphex(tb_get32(tb, 0x8000 - 12), ==, 0x1800); /* the NOP faulted */
	tb_free(tb);
}

/* Sets up 32-bit flat protected mode with a #DB gate to a HLT at 0x3000. */
static void setup_db(struct testbus *tb)
{
	tb_pmode32(tb);
	tb->cpu->r[ESP] = 0x8000;
	tb_gate(tb, 0x600 + 8 * EXC_DB, 0x08, 0x3000, SYS_INTGATE32, 0);
	tb_put(tb, 0x3000, "\xf4", 1);
}

/* DR0 as an instruction breakpoint: #DB before the instruction runs, with
 * DR6.B0 and RF set in the pushed EFLAGS (so IRET resumes past it). */
static void test_exec_breakpoint(void)
{
	struct testbus *tb = tb_new();
	setup_db(tb);
	/* 1000: inc eax ; 1001: inc eax (breakpoint) ; 1002: hlt */
	tb_put(tb, 0x1000, "\x40\x40\xf4", 3);
	tb->cpu->dr[0] = 0x1001;
	tb->cpu->dr[7] = 0x401; /* L0, R/W0 = 00 (execute), LEN0 = 00 */
	cpu_state_changed(tb->cpu);
	g_assert_cmpint(cpu_run(tb->cpu, 10), ==, CPU_STOP_HLT);
	g_assert_cmphex(tb->cpu->eip, ==, 0x3001);
	g_assert_cmphex(tb->cpu->r[EAX], ==, 1);                 /* the second INC did not run */
	g_assert_cmphex(tb->cpu->dr[6] & 0xf, ==, 1);            /* B0 */
	g_assert_cmphex(tb_get32(tb, 0x8000 - 12), ==, 0x1001);  /* EIP of the breakpoint */
	g_assert_cmphex(tb_get32(tb, 0x8000 - 4) & EFLAGS_RF, ==, EFLAGS_RF);
	tb_free(tb);
}

/* DR1 as a data write breakpoint: #DB after the writing instruction, with
 * DR6.B1; a read of the same address does not trigger it. */
static void test_data_breakpoint(void)
{
	struct testbus *tb = tb_new();
	setup_db(tb);
	/* 1000: mov eax,[0x2000] ; 1005: mov [0x2000],eax ; 100a: hlt */
	tb_put(tb, 0x1000, "\xa1\x00\x20\x00\x00\xa3\x00\x20\x00\x00\xf4", 11);
	tb->cpu->dr[1] = 0x2000;
	tb->cpu->dr[7] = 0x400 | 0x4 | (1u << 20) | (3u << 22); /* L1, R/W1 = 01, LEN1 = 11 */
	cpu_state_changed(tb->cpu);
	g_assert_cmpint(cpu_run(tb->cpu, 10), ==, CPU_STOP_HLT);
	g_assert_cmphex(tb->cpu->eip, ==, 0x3001);
	g_assert_cmphex(tb->cpu->dr[6] & 0xf, ==, 2);           /* B1 */
	g_assert_cmphex(tb_get32(tb, 0x8000 - 12), ==, 0x100a); /* trap: after the write */
	tb_free(tb);
}

/* TF: a #DB trap after each instruction, with DR6.BS. */
static void test_single_step(void)
{
	struct testbus *tb = tb_new();
	setup_db(tb);
	tb_put(tb, 0x1000, "\x40\x40", 2); /* inc eax ; inc eax */
	cpu_set_eflags(tb->cpu, EFLAGS_TF);
	g_assert_cmpint(cpu_run(tb->cpu, 10), ==, CPU_STOP_HLT);
	g_assert_cmphex(tb->cpu->r[EAX], ==, 1);
	g_assert_cmphex(tb->cpu->dr[6] & DR6_BS, ==, DR6_BS);
	g_assert_cmphex(tb_get32(tb, 0x8000 - 12), ==, 0x1001);
	tb_free(tb);
}

/* RDTSC reads the modelled cycle counter (never host time); WRMSR to the
 * TSC moves it. */
static void test_rdtsc_is_cycles(void)
{
	struct testbus *tb = tb_new();
	tb_pmode32(tb);
	/* rdtsc ; mov ebx,eax ; mov ecx,0x10 ; xor eax,eax ; xor edx,edx ; wrmsr ; rdtsc ; hlt */
	tb_put(tb, 0x1000, "\x0f\x31\x89\xc3\xb9\x10\x00\x00\x00\x31\xc0\x31\xd2\x0f\x30\x0f\x31\xf4",
	       18);
	g_assert_cmpint(cpu_run(tb->cpu, 20), ==, CPU_STOP_HLT);
	g_assert_cmpuint(tb->cpu->r[EBX], ==, 0); /* the first instruction: cycle 0 */
	g_assert_cmpuint(tb->cpu->r[EAX], >, 0);
	g_assert_cmpuint(tb->cpu->r[EAX], <, 100); /* a few cycles after the TSC was zeroed */
	tb_free(tb);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/cpu/core/reset-state", test_reset_state);
	g_test_add_func("/cpu/core/smc-invalidates-decode", test_smc_invalidates_decode);
	g_test_add_func("/cpu/mmu/pf-not-present-cr2-errcode", test_pf_not_present);
	g_test_add_func("/cpu/mmu/accessed-dirty-bits", test_accessed_dirty);
	g_test_add_func("/cpu/exc/triple-fault-shuts-down", test_triple_fault);
	g_test_add_func("/cpu/exc/gp-then-np-is-double-fault", test_double_fault);
	g_test_add_func("/cpu/strict/sgdt-traps-at-cpl3", test_strict_sgdt);
	g_test_add_func("/cpu/core/save-restore-continues-identically", test_save_restore);
	g_test_add_func("/cpu/decode/longer-than-15-bytes-gp", test_too_long_gp);
	g_test_add_func("/cpu/core/fetch-beyond-cs-limit-real-mode-gp", test_fetch_beyond_limit_real);
	g_test_add_func("/cpu/core/fetch-beyond-cs-limit-mid-page-gp", test_fetch_beyond_limit_midpage);
	g_test_add_func("/cpu/debug/exec-breakpoint-faults-with-rf", test_exec_breakpoint);
	g_test_add_func("/cpu/debug/data-write-breakpoint-traps-after", test_data_breakpoint);
	g_test_add_func("/cpu/debug/tf-single-step-trap", test_single_step);
	g_test_add_func("/cpu/msr/rdtsc-reads-model-cycles-wrmsr-sets", test_rdtsc_is_cycles);
	return g_test_run();
}
