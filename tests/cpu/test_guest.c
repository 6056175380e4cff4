/*
 * test_guest.c - guest mode in the MMU: nested paging (a two-dimensional
 * walk through the guest's tables and the monitor's nested map) and
 * physically addressed descriptor tables (dt_phys).
 *
 * Each test runs a few instructions at real CPL 3 with guest.on set on a
 * bare 4 MiB RAM board (testbus.h). The guest.event callback stands in for
 * the monitor: it records the event and stops the CPU.
 *
 * Host-physical map:
 *   0x000500 the board's GDT (tb_pmode32)   0x100000 nested PD
 *   0x101000 nested PT: gpa 0..0x3ffff -> hpa 0x200000 + gpa, except
 *            gpa 0x12000 (absent), 0x13000 and 0x25000 (read-only)
 *   0x110000 bare page tables (guest.on off)
 *   0x200000 guest RAM (gpa 0)   0x3f0000 physical GDT   0x3f1000 TSS
 *
 * Guest-physical: 0x10000 guest PD, 0x11000 guest PT (PDE 2),
 *   0x12000 guest PT of PDE 3 (no nested entry), 0x13000 guest PT of
 *   PDE 4 (nested read-only). PDE 5 is a 4 MiB page at gpa 0.
 *
 * Guest-linear (PDE 2, via gpa 0x11000):
 *   0x800000 code  -> 0x20000     0x801000 data  -> 0x21000
 *   0x802000 stack -> 0x22000     0x803000 supervisor-only -> 0x23000
 *   0x804000 user read-only -> 0x24000
 *   0x805000 -> 0x80000 (no nested entry)   0x806000 -> 0x25000 (nested RO)
 */
#include <glib.h>

#include "cpu_int.h"
#include "testbus.h"

#define NPT_PD 0x100000u
#define NPT_PT 0x101000u
#define GUEST_HPA 0x200000u
#define GUEST_PAGES 0x40u
#define BARE_PD 0x110000u
#define PHYS_GDT 0x3f0000u
#define PHYS_TSS 0x3f1000u

#define G_PD 0x10000u
#define G_PT 0x11000u
#define G_PT_NONPT 0x12000u
#define G_PT_RO 0x13000u
#define G_CODE 0x20000u
#define G_DATA 0x21000u
#define G_STACK 0x22000u
#define G_SUPER 0x23000u
#define G_RO 0x24000u
#define G_NPT_RO 0x25000u
#define G_UNMAPPED 0x80000u

#define L_CODE 0x800000u
#define L_DATA 0x801000u
#define L_STACK_TOP 0x803000u
#define L_SUPER 0x803000u
#define L_RO 0x804000u
#define L_NONPT 0x805000u
#define L_NPT_RO 0x806000u
#define L_PDE3 0xc00000u
#define L_PDE4 0x1000000u
#define L_BIG 0x1400000u

#define DATA_WORD 0x600dcafeu
#define CR2_MARK 0x1234u
#define SEL_DATA3_PHYS 0x2b
#define UPTE (PTE_P | PTE_W | PTE_U)

struct fx {
	struct testbus *tb;
	struct cpu *cpu;
	int vec, err, events;
	uint32_t npf_gpa, eip;
};

/* {====== the stand-in monitor and the tables ====== */

static void on_event(void *opaque, struct cpu *cpu, int vec, int err, unsigned flags)
{
	struct fx *f = opaque;
	f->vec = vec;
	f->err = err;
	f->npf_gpa = cpu->guest.npf_gpa;
	f->eip = cpu->eip;
	f->events++;
	cpu_request_stop(cpu);
}

static uint32_t gpa_to_hpa(uint32_t gpa)
{
	return GUEST_HPA + gpa;
}

static void gput32(struct fx *f, uint32_t gpa, uint32_t v)
{
	tb_put32(f->tb, gpa_to_hpa(gpa), v);
}

static uint32_t gget32(struct fx *f, uint32_t gpa)
{
	return tb_get32(f->tb, gpa_to_hpa(gpa));
}

static void nested_map(struct fx *f)
{
	tb_put32(f->tb, NPT_PD, NPT_PT | PTE_P | PTE_W);
	for (uint32_t i = 0; i < GUEST_PAGES; i++) {
		uint32_t gpa = i << 12;
		if (gpa == G_PT_NONPT)
			continue;
		bool ro = gpa == G_NPT_RO || gpa == G_PT_RO;
		tb_put32(f->tb, NPT_PT + 4 * i, gpa_to_hpa(gpa) | PTE_P | (ro ? 0 : PTE_W));
	}
}

static void guest_pte(struct fx *f, uint32_t lin, uint32_t gpa, uint32_t bits)
{
	gput32(f, G_PT + ((lin >> 10) & 0xffc), gpa | bits);
}

static void guest_tables(struct fx *f)
{
	gput32(f, G_PD + 2 * 4, G_PT | UPTE);
	gput32(f, G_PD + 3 * 4, G_PT_NONPT | UPTE);
	gput32(f, G_PD + 4 * 4, G_PT_RO | UPTE | PTE_A);
	gput32(f, G_PD + 5 * 4, 0 | UPTE | PTE_PS);
	guest_pte(f, L_CODE, G_CODE, UPTE);
	guest_pte(f, L_DATA, G_DATA, UPTE);
	guest_pte(f, L_STACK_TOP - 0x1000, G_STACK, UPTE);
	guest_pte(f, L_SUPER, G_SUPER, PTE_P | PTE_W);
	guest_pte(f, L_RO, G_RO, PTE_P | PTE_U);
	guest_pte(f, L_NONPT, G_UNMAPPED, UPTE);
	guest_pte(f, L_NPT_RO, G_NPT_RO, UPTE);
	gput32(f, G_PT_RO, G_DATA | UPTE); /* A clear: its update needs a write */
	gput32(f, G_DATA, DATA_WORD);
	gput32(f, G_SUPER, DATA_WORD ^ 1);
	gput32(f, G_NPT_RO, DATA_WORD ^ 2);
}

/* A CPU at real CPL 3, flat 32-bit segments, in a nested-paging VM. */
static void fx_setup(struct fx *f, gconstpointer data)
{
	memset(f, 0, sizeof *f);
	f->tb = tb_new();
	f->cpu = f->tb->cpu;
	f->vec = -1;
	tb_pmode32(f->tb);
	nested_map(f);
	guest_tables(f);
	struct cpu *cpu = f->cpu;
	uint16_t code3 = cpu->seg[SEG_CS].attr | 3 << DESC_DPL_SHIFT;
	uint16_t data3 = cpu->seg[SEG_DS].attr | 3 << DESC_DPL_SHIFT;
	for (int s = 0; s < 6; s++)
		cpu->seg[s] = (struct seg){0x23, data3, 0, 0xffffffffu};
	cpu->seg[SEG_CS] = (struct seg){0x1b, code3, 0, 0xffffffffu};
	cpu->cpl = 3;
	cpu->cr3 = G_PD;
	cpu->cr0 |= CR0_PG;
	cpu->cr2 = CR2_MARK;
	cpu->eip = L_CODE;
	cpu->r[ESP] = L_STACK_TOP;
	cpu->guest = (struct cpu_guest){
	        .on = true,
	        .nested = true,
	        .vcpl = 3,
	        .npt_root = NPT_PD,
	        .event = on_event,
	        .opaque = f,
	};
	cpu_state_changed(cpu);
}

static void fx_teardown(struct fx *f, gconstpointer data)
{
	tb_free(f->tb);
}

static void code(struct fx *f, const void *bytes, size_t n)
{
	tb_put(f->tb, gpa_to_hpa(G_CODE), bytes, n);
}

/* Sets the guest's virtual CPL the way the monitor must: then
 * cpu_state_changed (which recomputes the TLB privilege index). */
static void set_vcpl(struct fx *f, int vcpl)
{
	f->cpu->guest.vcpl = (uint8_t)vcpl;
	cpu_state_changed(f->cpu);
}

/* Runs until the stand-in monitor stops the CPU; asserts one event. */
static void run_to_event(struct fx *f)
{
	f->events = 0;
	g_assert_cmpint(cpu_run(f->cpu, 100), ==, CPU_STOP_REQUEST);
	g_assert_cmpint(f->events, ==, 1);
}

static void assert_gp_at(struct fx *f, uint32_t eip)
{
	g_assert_cmpint(f->vec, ==, EXC_GP);
	g_assert_cmphex(f->eip, ==, eip);
}

/* }====================================================================== */

/* {====== nested paging ====== */

/* mov eax,[L_DATA]; mov [L_DATA+4],ebx; hlt */
static const uint8_t rw_code[] = {0xa1, 0x00, 0x10, 0x80, 0x00, 0x89,
                                  0x1d, 0x04, 0x10, 0x80, 0x00, 0xf4};

static void test_translate_2d(struct fx *f, gconstpointer data)
{
	code(f, rw_code, sizeof rw_code);
	f->cpu->r[EBX] = 0xb0b0b0b0u;
	run_to_event(f);
	assert_gp_at(f, L_CODE + 11);
	g_assert_cmphex(f->cpu->r[EAX], ==, DATA_WORD);
	g_assert_cmphex(gget32(f, G_DATA + 4), ==, 0xb0b0b0b0u);
	/* A/D bits land in the guest's tables at their host-physical home. */
	g_assert_cmphex(gget32(f, G_PD + 2 * 4) & (PTE_A | PTE_D), ==, PTE_A);
	g_assert_cmphex(gget32(f, G_PT + 1 * 4) & (PTE_A | PTE_D), ==, PTE_A | PTE_D);
	g_assert_cmphex(gget32(f, G_PT + 0 * 4) & (PTE_A | PTE_D), ==, PTE_A);
	/* The nested map is never written. */
	g_assert_cmphex(tb_get32(f->tb, NPT_PT + 0x21 * 4) & (PTE_A | PTE_D), ==, 0);
	g_assert_cmphex(f->cpu->cr2, ==, CR2_MARK);
}

static void test_walk_refs(struct fx *f, gconstpointer data)
{
	static const uint8_t c[] = {0x90, 0xa1, 0x00, 0x10,
	                            0x80, 0x00, 0xf4}; /* nop; mov eax,[L_DATA]; hlt */
	code(f, c, sizeof c);
	struct cpu_guest *g = &f->cpu->guest;
	cpu_tlb_flush(f->cpu);
	g->walk_refs = g->nested_refs = 0;
	cpu_step(f->cpu); /* the fetch misses the TLB: one 2D walk */
	g_assert_cmpuint(g->walk_refs, ==, 8);
	g_assert_cmpuint(g->nested_refs, ==, 6);
	uint64_t c0 = f->cpu->cycles, m0 = f->cpu->mem_cycles;
	cpu_step(f->cpu); /* the data read: another one */
	g_assert_cmpuint(g->walk_refs, ==, 16);
	g_assert_cmpuint(g->nested_refs, ==, 12);
	/* 2 cycles per reference, in the memory-system counter: the guest's
	 * clock advances by the instruction's own cost only. */
	g_assert_cmpuint(f->cpu->mem_cycles - m0, >=, 8 * 2);
	g_assert_cmpuint(f->cpu->cycles - c0, <, 8 * 2);
	cpu_step(f->cpu); /* hlt: every translation hits the TLB */
	g_assert_cmpuint(g->walk_refs, ==, 16);
	g_assert_cmphex(f->cpu->r[EAX], ==, DATA_WORD);
}

static void test_guest_paging_off(struct fx *f, gconstpointer data)
{
	static const uint8_t c[] = {0xa1, 0x00, 0x10, 0x02, 0x00, 0xf4}; /* mov eax,[G_DATA]; hlt */
	code(f, c, sizeof c);
	f->cpu->cr0 &= ~CR0_PG;
	f->cpu->eip = G_CODE;
	cpu_state_changed(f->cpu);
	f->cpu->guest.walk_refs = f->cpu->guest.nested_refs = 0;
	run_to_event(f);
	assert_gp_at(f, G_CODE + 5);
	g_assert_cmphex(f->cpu->r[EAX], ==, DATA_WORD);
	g_assert_cmpuint(f->cpu->guest.walk_refs, ==, 4);
	g_assert_cmpuint(f->cpu->guest.nested_refs, ==, 4);
}

static void test_guest_4m_page(struct fx *f, gconstpointer data)
{
	/* mov [L_BIG+G_DATA],ebx; hlt */
	static const uint8_t c[] = {0x89, 0x1d, 0x00, 0x10, 0x42, 0x01, 0xf4};
	code(f, c, sizeof c);
	f->cpu->cr4 |= CR4_PSE;
	f->cpu->r[EBX] = 0x4444u;
	cpu_state_changed(f->cpu);
	run_to_event(f);
	assert_gp_at(f, L_CODE + 6);
	g_assert_cmphex(gget32(f, G_DATA), ==, 0x4444u);
	g_assert_cmphex(gget32(f, G_PD + 5 * 4) & (PTE_A | PTE_D), ==, PTE_A | PTE_D);
}

static void test_pf_supervisor_page(struct fx *f, gconstpointer data)
{
	static const uint8_t c[] = {0xa1, 0x00, 0x30,
	                            0x80, 0x00, 0xf4}; /* mov eax,[L_SUPER]; hlt */
	code(f, c, sizeof c);
	set_vcpl(f, 0); /* the guest kernel may read its supervisor page */
	run_to_event(f);
	assert_gp_at(f, L_CODE + 5);
	g_assert_cmphex(f->cpu->r[EAX], ==, DATA_WORD ^ 1);
	f->cpu->eip = L_CODE;
	set_vcpl(f, 3); /* guest user: #PF, U bit from vcpl */
	run_to_event(f);
	g_assert_cmpint(f->vec, ==, EXC_PF);
	g_assert_cmphex(f->err, ==, PFEC_P | PFEC_U);
	g_assert_cmphex(f->cpu->cr2, ==, L_SUPER);
	g_assert_cmphex(f->eip, ==, L_CODE);
}

static void test_pf_wp(struct fx *f, gconstpointer data)
{
	static const uint8_t c[] = {0xc6, 0x05, 0x00, 0x40,
	                            0x80, 0x00, 0x5a, 0xf4}; /* mov byte [L_RO],5ah; hlt */
	code(f, c, sizeof c);
	set_vcpl(f, 0); /* CR0.WP clear: the guest kernel writes through */
	run_to_event(f);
	assert_gp_at(f, L_CODE + 7);
	g_assert_cmphex(gget32(f, G_RO) & 0xff, ==, 0x5a);
	f->cpu->eip = L_CODE;
	f->cpu->cr0 |= CR0_WP;
	cpu_state_changed(f->cpu);
	run_to_event(f);
	g_assert_cmpint(f->vec, ==, EXC_PF);
	g_assert_cmphex(f->err, ==, PFEC_P | PFEC_W);
	g_assert_cmphex(f->cpu->cr2, ==, L_RO);
	set_vcpl(f, 3);
	run_to_event(f);
	g_assert_cmphex(f->err, ==, PFEC_P | PFEC_W | PFEC_U);
}

static void test_npf_in_walk(struct fx *f, gconstpointer data)
{
	static const uint8_t c[] = {0xa1, 0x08, 0x00,
	                            0xc0, 0x00, 0xf4}; /* mov eax,[L_PDE3+8]; hlt */
	code(f, c, sizeof c);
	run_to_event(f);
	g_assert_cmpint(f->vec, ==, CPU_VEC_NPF);
	g_assert_cmphex(f->err, ==, NPF_WALK);
	g_assert_cmphex(f->npf_gpa, ==, G_PT_NONPT); /* the guest PTE's address */
	g_assert_cmphex(f->eip, ==, L_CODE);
	g_assert_cmphex(f->cpu->cr2, ==, CR2_MARK);
}

static void test_npf_on_ad_update(struct fx *f, gconstpointer data)
{
	static const uint8_t c[] = {0xa1, 0x00, 0x00, 0x00, 0x01, 0xf4}; /* mov eax,[L_PDE4]; hlt */
	code(f, c, sizeof c);
	run_to_event(f); /* the guest PTE's A flag is clear; its page is read-only */
	g_assert_cmpint(f->vec, ==, CPU_VEC_NPF);
	g_assert_cmphex(f->err, ==, NPF_WALK | NPF_WRITE | NPF_PRESENT);
	g_assert_cmphex(f->npf_gpa, ==, G_PT_RO);
	gput32(f, G_PT_RO, G_DATA | UPTE | PTE_A); /* nothing to update: no write */
	run_to_event(f);
	assert_gp_at(f, L_CODE + 5);
	g_assert_cmphex(f->cpu->r[EAX], ==, DATA_WORD);
}

static void test_npf_final(struct fx *f, gconstpointer data)
{
	static const uint8_t c[] = {
	        0xa1, 0x10, 0x50, 0x80, 0x00, /* mov eax,[L_NONPT+10h] */
	};
	code(f, c, sizeof c);
	run_to_event(f);
	g_assert_cmpint(f->vec, ==, CPU_VEC_NPF);
	g_assert_cmphex(f->err, ==, 0);
	g_assert_cmphex(f->npf_gpa, ==, G_UNMAPPED + 0x10);
	g_assert_cmphex(f->cpu->cr2, ==, CR2_MARK);
	/* The guest PTE of a page the nested map lacks keeps its A flag clear. */
	g_assert_cmphex(gget32(f, G_PT + 5 * 4) & PTE_A, ==, 0);
}

static void test_npf_write_ro(struct fx *f, gconstpointer data)
{
	static const uint8_t c[] = {
	        0xa1, 0x00, 0x60, 0x80, 0x00, /* mov eax,[L_NPT_RO] */
	        0xa3, 0x04, 0x60, 0x80, 0x00, /* mov [L_NPT_RO+4],eax */
	};
	code(f, c, sizeof c);
	run_to_event(f); /* the read goes through, the write misses */
	g_assert_cmphex(f->cpu->r[EAX], ==, DATA_WORD ^ 2);
	g_assert_cmpint(f->vec, ==, CPU_VEC_NPF);
	g_assert_cmphex(f->err, ==, NPF_PRESENT | NPF_WRITE);
	g_assert_cmphex(f->npf_gpa, ==, G_NPT_RO + 4);
	g_assert_cmphex(f->eip, ==, L_CODE + 5);
	g_assert_cmphex(gget32(f, G_NPT_RO + 4), ==, 0);
}

static void test_npf_fetch(struct fx *f, gconstpointer data)
{
	f->cpu->eip = L_NONPT;
	run_to_event(f);
	g_assert_cmpint(f->vec, ==, CPU_VEC_NPF);
	g_assert_cmphex(f->err, ==, NPF_FETCH);
	g_assert_cmphex(f->npf_gpa, ==, G_UNMAPPED);
}

static void test_flush_after_npt_change(struct fx *f, gconstpointer data)
{
	code(f, rw_code, sizeof rw_code);
	run_to_event(f);
	g_assert_cmphex(f->cpu->r[EAX], ==, DATA_WORD);
	/* The monitor moves the data page: guest-physical G_DATA now lives at
	 * the host-physical home of G_SUPER. */
	tb_put32(f->tb, NPT_PT + (G_DATA >> 12) * 4, gpa_to_hpa(G_SUPER) | PTE_P | PTE_W);
	cpu_tlb_flush(f->cpu);
	f->cpu->eip = L_CODE;
	run_to_event(f);
	g_assert_cmphex(f->cpu->r[EAX], ==, DATA_WORD ^ 1);
}

static void test_peek_two_dimensions(struct fx *f, gconstpointer data)
{
	uint32_t v = 0;
	uint64_t refs = f->cpu->guest.walk_refs;
	g_assert_true(cpu_peek_linear(f->cpu, L_DATA, &v, 4));
	g_assert_cmphex(v, ==, DATA_WORD);
	g_assert_false(cpu_peek_linear(f->cpu, L_NONPT, &v, 4));
	g_assert_false(cpu_peek_linear(f->cpu, L_PDE3, &v, 4));
	g_assert_cmpuint(f->cpu->guest.walk_refs, ==, refs);
}

/* With guest.on false the nested fields are ignored: CR3 is host-physical
 * and a walk makes 2 references, none nested. */
static void test_off_is_bare(struct fx *f, gconstpointer data)
{
	code(f, rw_code, sizeof rw_code);
	struct cpu *cpu = f->cpu;
	uint32_t pt = BARE_PD + 0x1000;
	tb_put32(f->tb, BARE_PD + 2 * 4, pt | UPTE);
	tb_put32(f->tb, pt + 0, gpa_to_hpa(G_CODE) | UPTE);
	tb_put32(f->tb, pt + 4, gpa_to_hpa(G_DATA) | UPTE);
	cpu->guest.on = false;
	cpu->guest.vcpl = 0; /* ignored: the real CPL (3) picks the TLB index */
	cpu->cr3 = BARE_PD;
	cpu_state_changed(cpu);
	cpu->guest.walk_refs = cpu->guest.nested_refs = 0;
	cpu_step(cpu);
	g_assert_cmphex(cpu->r[EAX], ==, DATA_WORD);
	g_assert_cmpuint(cpu->guest.walk_refs, ==, 4);
	g_assert_cmpuint(cpu->guest.nested_refs, ==, 0);
	g_assert_cmpuint(cpu->user, ==, 1);
}

/* }====================================================================== */

/* {====== physically addressed descriptor tables ====== */

/* mov ax,2bh; mov ds,ax; mov eax,[0]; hlt */
static const uint8_t ds_code[] = {0x66, 0xb8, 0x2b, 0x00, 0x8e, 0xd8,
                                  0xa1, 0x00, 0x00, 0x00, 0x00, 0xf4};

static void phys_gdt(struct fx *f)
{
	uint16_t data3 = DESC_P | DESC_S | DESC_TYPE_W | DESC_DB | 3 << DESC_DPL_SHIFT;
	tb_desc(f->tb, PHYS_GDT, 0, 0, 0);
	tb_desc(f->tb, PHYS_GDT + (SEL_DATA3_PHYS & ~3), L_DATA, 0xfff, data3);
	f->cpu->gdtr = (struct dtr){PHYS_GDT, 0x2f};
}

static void test_dt_phys_seg_load(struct fx *f, gconstpointer data)
{
	code(f, ds_code, sizeof ds_code);
	phys_gdt(f);
	f->cpu->guest.dt_phys = true;
	run_to_event(f);
	assert_gp_at(f, L_CODE + 11);
	g_assert_cmphex(f->cpu->seg[SEG_DS].base, ==, L_DATA);
	g_assert_cmphex(f->cpu->r[EAX], ==, DATA_WORD);
	uint8_t type = f->tb->ram[PHYS_GDT + (SEL_DATA3_PHYS & ~3) + 5];
	g_assert_cmphex(type & DESC_TYPE_A, ==, DESC_TYPE_A); /* accessed, physically */
}

static void test_dt_linear_without_dt_phys(struct fx *f, gconstpointer data)
{
	code(f, ds_code, sizeof ds_code);
	phys_gdt(f);
	run_to_event(f); /* the GDT base is read as a linear address: not mapped */
	g_assert_cmpint(f->vec, ==, EXC_PF);
	g_assert_cmphex(f->err, ==, 0); /* an implicit supervisor read */
	g_assert_cmphex(f->cpu->cr2, ==, PHYS_GDT + (SEL_DATA3_PHYS & ~3));
	g_assert_cmphex(f->eip, ==, L_CODE + 4);
}

static void test_dt_phys_iomap(struct fx *f, gconstpointer data)
{
	/* in al,80h; in al,81h */
	static const uint8_t c[] = {0xe4, 0x80, 0xe4, 0x81};
	code(f, c, sizeof c);
	enum { IOMAP = 0x68 };
	tb_put32(f->tb, PHYS_TSS + 0x64, (uint32_t)IOMAP << 16);
	f->tb->ram[PHYS_TSS + IOMAP + 0x81 / 8] = 1u << (0x81 & 7);
	f->tb->ram[PHYS_TSS + IOMAP + 0x400 / 8] = 0xff;
	f->cpu->tr = (struct seg){0x30, DESC_P | SYS_TSS32_BUSY, PHYS_TSS, IOMAP + 0x400 / 8};
	f->cpu->guest.dt_phys = true;
	run_to_event(f);
	assert_gp_at(f, L_CODE + 2);
}

/* }====================================================================== */

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, struct fx, NULL, fx_setup, fn, fx_teardown)
	ADD("/cpu/guest/nested/translate-2d-sets-guest-ad", test_translate_2d);
	ADD("/cpu/guest/nested/walk-refs-8-per-4k-miss", test_walk_refs);
	ADD("/cpu/guest/nested/guest-paging-off", test_guest_paging_off);
	ADD("/cpu/guest/nested/guest-4m-page", test_guest_4m_page);
	ADD("/cpu/guest/nested/pf-supervisor-page-by-vcpl", test_pf_supervisor_page);
	ADD("/cpu/guest/nested/pf-cr0-wp-by-vcpl", test_pf_wp);
	ADD("/cpu/guest/nested/npf-in-guest-walk", test_npf_in_walk);
	ADD("/cpu/guest/nested/npf-on-ad-update", test_npf_on_ad_update);
	ADD("/cpu/guest/nested/npf-final-access", test_npf_final);
	ADD("/cpu/guest/nested/npf-write-read-only", test_npf_write_ro);
	ADD("/cpu/guest/nested/npf-fetch", test_npf_fetch);
	ADD("/cpu/guest/nested/tlb-flush-after-map-change", test_flush_after_npt_change);
	ADD("/cpu/guest/nested/peek-two-dimensions", test_peek_two_dimensions);
	ADD("/cpu/guest/off-is-bare", test_off_is_bare);
	ADD("/cpu/guest/dt-phys/seg-load-physical-gdt", test_dt_phys_seg_load);
	ADD("/cpu/guest/dt-phys/off-reads-gdt-linearly", test_dt_linear_without_dt_phys);
	ADD("/cpu/guest/dt-phys/iomap-physical-tss", test_dt_phys_iomap);
#undef ADD
	return g_test_run();
}
