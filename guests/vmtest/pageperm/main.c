/*
 * guests/vmtest/pageperm/main.c - the access rights and the accessed and
 * dirty flags of 32-bit paging, every combination: a page-directory entry
 * (P, U/S, R/W, A; PS for a 4 MiB page with its D), a page-table entry
 * (P, U/S, R/W, A, D), CR0.WP, CPL 0 and 3, and a read, a write and an
 * instruction fetch of one test address. Each access starts from freshly
 * written entries (INVLPG); the kernel records whether it faulted, the
 * #PF error code, CR2, and the entries read back afterwards, and checks
 * all of it against the rules of the Intel SDM (vol. 3, 4.6 "Access
 * rights", 4.7 "Page-fault exceptions", 4.8 "Accessed and dirty flags").
 *
 * Then every ordered pair of access types runs on freshly written entries
 * with no INVLPG in between, so the second access may be served from the
 * TLB and must still follow the entries (a write after a read sets D).
 *
 * The output is one line per setting of the entries, WP and CPL ("0123
 * 4K pde=... pte=... wp=1 cpl=3 | r PF05 a=1/0 d=0 | w ... | x ..."),
 * then one "pair" line per setting with the nine second accesses. An
 * outcome is "ok" or "PF" and the error code (with "cr2=" only if CR2 is
 * not the test address), then the A flags of PDE/PTE and the D flag of
 * the entry that maps the page, as read back afterwards. The output is
 * the same on every machine that follows the manual: it is meant to be
 * compared line by line (nestlab against QEMU, or a monitor's shadow
 * paging against the bare CPU).
 *
 * Address space (identity below 8 MiB, CR4.PSE = 1):
 *
 *   0x00000000-0x007FFFFF  4 KiB pages, P R/W U/S A D: the kernel, its
 *                          tables and stacks, the ring-3 code and stack
 *   0x01000000-0x013FFFFF  the test region, PDE 4: a page table whose
 *                          entry 5 maps the test page to 0x00405000, or
 *                          one 4 MiB page of physical 0x00400000
 *   TEST_LIN 0x010057A4    -> physical 0x004057A4 either way; it holds a
 *                          RET (the fetch probe calls it, the write probe
 *                          stores the same byte again)
 *
 * What the manual leaves open: it says that the processor sets the
 * accessed flag of an entry it "uses as part of linear-address
 * translation", but not whether a walk that ends in a page fault has
 * used the present entries it read. So the A flags of present entries on
 * a faulting access are not checked against the manual; nestlab and QEMU
 * are compared on them all the same (see hidden_pde_bits()).
 */
#include "rt.h"

/* {====== architectural constants (Intel SDM vol. 3, 4.3 and 4.7) */

#define PTE_P  (1u << 0)
#define PTE_W  (1u << 1) /* R/W */
#define PTE_U  (1u << 2) /* U/S */
#define PTE_A  (1u << 5)
#define PTE_D  (1u << 6)
#define PDE_PS (1u << 7)
#define PTE_FRAME 0xFFFFF000u

#define PFEC_P (1u << 0) /* protection violation (0: not present) */
#define PFEC_W (1u << 1) /* the access was a write */
#define PFEC_U (1u << 2) /* the access was made at CPL 3 */

#define CPUID_FEATURES 1
#define CPUID_EDX_PSE (1u << 3)

#define OP_RET 0xC3
#define STR(x) #x
#define XSTR(x) STR(x)
#define OP_RET_STR XSTR(OP_RET)

/* }====== */

/* {====== the address space */

#define ENTRIES 1024
#define PAGE_SHIFT 12
#define PDE_SHIFT 22
#define IDENT_TABLES 2 /* 8 MiB */
#define IDENT_FLAGS (PTE_P | PTE_W | PTE_U | PTE_A | PTE_D)
#define TEST_PDI 4
#define TEST_PTI 5
#define TEST_OFFSET 0x7A4u
#define TEST_LIN ((TEST_PDI << PDE_SHIFT) | (TEST_PTI << PAGE_SHIFT) | TEST_OFFSET)
#define TEST_FRAME_4M 0x00400000u
#define TEST_FRAME_4K (TEST_FRAME_4M | (TEST_PTI << PAGE_SHIFT))
#define TEST_PHYS (TEST_FRAME_4K | TEST_OFFSET)
#define USER_STACK_SIZE 4096

static uint32_t page_dir[ENTRIES] __attribute__((aligned(RT_PAGE_SIZE)));
static uint32_t ident_pt[IDENT_TABLES][ENTRIES] __attribute__((aligned(RT_PAGE_SIZE)));
static uint32_t test_pt[ENTRIES] __attribute__((aligned(RT_PAGE_SIZE)));
static uint8_t user_stack[USER_STACK_SIZE] __attribute__((aligned(16)));

static void map_identity(void)
{
	for (uint32_t t = 0; t < IDENT_TABLES; t++) {
		for (uint32_t i = 0; i < ENTRIES; i++)
			ident_pt[t][i] = ((t * ENTRIES + i) << PAGE_SHIFT) | IDENT_FLAGS;
		page_dir[t] = (uint32_t)ident_pt[t] | (IDENT_FLAGS & ~PTE_D);
	}
}

static void enable_paging(void)
{
	write_cr3((uint32_t)page_dir);
	write_cr4(read_cr4() | CR4_PSE);
	write_cr0(read_cr0() | CR0_PG);
}

static inline void invlpg(uint32_t lin)
{
	__asm__ volatile("invlpg (%0)" : : "r"(lin) : "memory");
}

/* }====== */

/* {====== probes: one access each, at CPL 0 or CPL 3 */

enum access { ACC_READ, ACC_WRITE, ACC_FETCH, ACC_COUNT };

#define PROBE_FAULTED 0xFFFFFFFFu

/*
 * The ring-0 probes return the byte read (0 for a write or a fetch), or
 * PROBE_FAULTED: the #PF handler resumes a faulting read or write at
 * probe_fault, and a faulting fetch (EIP = the test address, the CALL's
 * return address still on the stack) at probe_fault_fetch.
 */
uint32_t probe_read(uint32_t lin);
uint32_t probe_write(uint32_t lin);
uint32_t probe_fetch(uint32_t lin);
extern const char probe_read_insn[], probe_write_insn[], probe_fault[], probe_fault_fetch[];

__asm__(".text\n"
	"probe_read:\n"
	"	movl 4(%esp), %edx\n"
	"	xorl %eax, %eax\n"
	"probe_read_insn:\n"
	"	movb (%edx), %al\n"
	"	ret\n"
	"probe_write:\n"
	"	movl 4(%esp), %edx\n"
	"probe_write_insn:\n"
	"	movb $" OP_RET_STR ", (%edx)\n"
	"	xorl %eax, %eax\n"
	"	ret\n"
	"probe_fetch:\n"
	"	movl 4(%esp), %edx\n"
	"	call *%edx\n"
	"	xorl %eax, %eax\n"
	"	ret\n"
	"probe_fault_fetch:\n"
	"	addl $4, %esp\n"
	"probe_fault:\n"
	"	movl $-1, %eax\n"
	"	ret\n");

/* The ring-3 probes; the kernel's identity map is user-accessible, so
 * they run from the kernel image and keep their data in it. */
static volatile uint32_t user_lin;
static volatile uint32_t user_value;

static void user_read(void)
{
	user_value = *(volatile uint8_t *)user_lin;
}

static void user_write(void)
{
	*(volatile uint8_t *)user_lin = OP_RET;
}

static void user_fetch(void)
{
	((void (*)(void))user_lin)();
}

static volatile bool pf_seen;
static volatile uint32_t pf_err, pf_cr2, pf_eip;

static void pf_handler(struct rt_frame *f)
{
	pf_seen = true;
	pf_err = f->err;
	pf_cr2 = read_cr2();
	pf_eip = f->eip;
	if ((f->cs & 3) == 3)
		rt_user_return();
	if (f->eip == (uint32_t)probe_read_insn || f->eip == (uint32_t)probe_write_insn) {
		f->eip = (uint32_t)probe_fault;
	} else if (f->eip == TEST_LIN) {
		f->eip = (uint32_t)probe_fault_fetch;
	} else {
		rt_fail("pageperm", "#PF outside a probe at eip %08x cr2 %08x err %x", f->eip, pf_cr2,
			f->err);
		rt_done();
	}
}

/* }====== */

/* {====== cases */

/*
 * One setting: the test entries before the access, CR0.WP and the CPL.
 * Cases are numbered ((entries * 2 + wp) * 2 + cpl/3); entries 0-511 are
 * a page table's PDE (bits P U W A of entries >> 5) with its PTE (bits
 * P U W A D of entries & 31), 512-543 a 4 MiB PDE (P U W A D).
 */
struct pcase {
	unsigned id;
	uint32_t pde, pte; /* pte unused for a 4 MiB page */
	bool big, wp;
	int cpl;
};

#define CASES_4K 512
#define CASES_4M 32
#define ENTRY_SETTINGS (CASES_4K + CASES_4M)
#define CASES (ENTRY_SETTINGS * 4)

/* What one access did or, for struct expect, should do. */
struct outcome {
	bool fault;
	uint32_t err, cr2;
	uint32_t pde, pte; /* the entries afterwards */
	uint32_t value;    /* the byte read */
};

struct expect {
	struct outcome o;
	uint32_t open_pde, open_pte; /* flags the manual leaves open */
};

/* Bits 0-4 of `bits` as P, U/S, R/W, A, D. */
static uint32_t flags_of(unsigned bits)
{
	return (bits & 1 ? PTE_P : 0) | (bits & 2 ? PTE_U : 0) | (bits & 4 ? PTE_W : 0) |
	       (bits & 8 ? PTE_A : 0) | (bits & 16 ? PTE_D : 0);
}

static struct pcase make_case(unsigned id)
{
	unsigned entries = id >> 2;
	struct pcase pc = { .id = id, .wp = (id >> 1) & 1, .cpl = (id & 1) ? 3 : 0 };

	if (entries < CASES_4K) {
		pc.pde = (uint32_t)test_pt | flags_of((entries >> 5) & 0xF);
		pc.pte = TEST_FRAME_4K | flags_of(entries & 0x1F);
	} else {
		pc.big = true;
		pc.pde = TEST_FRAME_4M | PDE_PS | flags_of(entries - CASES_4K);
	}
	return pc;
}

/* }====== */

/* {====== the manual's rules */

static bool access_allowed(const struct pcase *pc, enum access acc)
{
	uint32_t rights = pc->big ? pc->pde : pc->pde & pc->pte;
	bool user = pc->cpl == 3;

	if (user && !(rights & PTE_U))
		return false; /* 4.6.1: user accesses need U/S = 1 at every level */
	if (acc != ACC_WRITE)
		return true; /* no NX on 32-bit paging: a fetch is checked like a read */
	if (rights & PTE_W)
		return true;
	return !user && !pc->wp; /* supervisor writes ignore R/W when CR0.WP = 0 */
}

/*
 * The outcome the SDM prescribes. On success the A flags of every entry
 * used are set and, for a write, the D flag of the entry that maps the
 * page (4.8). A fault sets no D flag (nothing was written) and leaves
 * entries that were not present, or not reached, untouched; the A flags
 * of the present entries it read are left open.
 */
static struct expect sdm_expect(const struct pcase *pc, enum access acc)
{
	bool write = acc == ACC_WRITE;
	bool present = (pc->pde & PTE_P) && (pc->big || (pc->pte & PTE_P));
	uint32_t leaf_set = PTE_A | (write ? PTE_D : 0);
	struct expect e = { .o = { .pde = pc->pde, .pte = pc->pte, .cr2 = TEST_LIN } };

	if (present && access_allowed(pc, acc)) {
		e.o.cr2 = 0;
		e.o.value = acc == ACC_READ ? OP_RET : 0;
		e.o.pde |= pc->big ? leaf_set : PTE_A;
		if (!pc->big)
			e.o.pte |= leaf_set;
		return e;
	}
	e.o.fault = true;
	e.o.err = (present ? PFEC_P : 0) | (write ? PFEC_W : 0) | (pc->cpl == 3 ? PFEC_U : 0);
	if (pc->pde & PTE_P)
		e.open_pde = PTE_A & ~pc->pde;
	if (!pc->big && (pc->pde & PTE_P) && (pc->pte & PTE_P))
		e.open_pte = PTE_A & ~pc->pte;
	return e;
}

/*
 * The open flags that would be shown on TIME: lines only, because the
 * reference machines set them differently. None today: both nestlab and
 * QEMU set the A flag of a present PDE that points to a page table as soon
 * as the walk has read it (as Intel processors do), even when the PTE or
 * the rights check then faults, and both leave the A flag of the PTE, or
 * of a 4 MiB PDE, clear on a rights fault. So every flag is on the
 * compared line. Should a reference machine ever differ on an open flag
 * again, return its bit here for the cases concerned.
 */
static uint32_t hidden_pde_bits(const struct pcase *pc, bool any_allowed)
{
	(void)pc;
	(void)any_allowed;
	return 0;
}

/* }====== */

/* {====== running one access */

static void set_entries(const struct pcase *pc)
{
	page_dir[TEST_PDI] = pc->pde;
	test_pt[TEST_PTI] = pc->big ? 0 : pc->pte;
	invlpg(TEST_LIN);
	uint32_t cr0 = read_cr0();
	write_cr0(pc->wp ? cr0 | CR0_WP : cr0 & ~CR0_WP);
}

static uint32_t run_user(enum access acc)
{
	static void (*const user_probe[ACC_COUNT])(void) = { user_read, user_write, user_fetch };

	user_lin = TEST_LIN;
	user_value = 0;
	rt_enter_user(user_probe[acc], user_stack + sizeof user_stack);
	return pf_seen ? PROBE_FAULTED : user_value;
}

static uint32_t run_kernel(enum access acc)
{
	static uint32_t (*const probe[ACC_COUNT])(uint32_t) = { probe_read, probe_write, probe_fetch };

	return probe[acc](TEST_LIN);
}

/* One access with the entries as they are now (the TLB may hold them). */
static struct outcome do_access(const struct pcase *pc, enum access acc)
{
	struct outcome o = { 0 };

	pf_seen = false;
	pf_cr2 = 0;
	uint32_t v = pc->cpl == 3 ? run_user(acc) : run_kernel(acc);
	o.fault = pf_seen;
	if (o.fault) {
		o.err = pf_err;
		o.cr2 = pf_cr2;
	} else {
		o.value = v;
	}
	o.pde = page_dir[TEST_PDI];
	o.pte = pc->big ? 0 : test_pt[TEST_PTI];
	return o;
}

/* pc with the entries an access left behind. */
static struct pcase after(const struct pcase *pc, const struct outcome *o)
{
	struct pcase next = *pc;

	next.pde = o->pde;
	next.pte = o->pte;
	return next;
}

/* }====== */

/* {====== checking and printing */

/* One output line and its TIME: companion. */
struct line {
	char text[320], time[200];
	int len, tlen;
	bool hidden;
};

static unsigned n_accesses, n_faults, n_hidden, n_mismatch;

/* "PUWAD" with '-' for each clear flag (the first `n` of them). */
static void flags_str(char *buf, uint32_t e, int n)
{
	static const uint32_t bit[5] = { PTE_P, PTE_U, PTE_W, PTE_A, PTE_D };
	static const char name[5] = { 'P', 'U', 'W', 'A', 'D' };

	for (int i = 0; i < n; i++)
		buf[i] = (e & bit[i]) ? name[i] : '-';
	buf[n] = '\0';
}

static char flag_char(uint32_t e, uint32_t bit, uint32_t hidden)
{
	if (hidden & bit)
		return '?';
	return (e & bit) ? '1' : '0';
}

static void check(const struct pcase *pc, const char *tag, const struct outcome *o, const struct expect *e)
{
	const struct outcome *w = &e->o;
	bool same = o->fault == w->fault && o->err == w->err && (!o->fault || o->cr2 == w->cr2) &&
		    o->value == w->value && (o->pde & ~e->open_pde) == (w->pde & ~e->open_pde) &&
		    (pc->big || (o->pte & ~e->open_pte) == (w->pte & ~e->open_pte));
	if (same)
		return;
	n_mismatch++;
	char name[32];
	rt_snprintf(name, sizeof name, "pageperm case %04x %s", pc->id, tag);
	rt_fail(name, "want %s err=%02x pde=%08x pte=%08x value=%02x, got %s err=%02x cr2=%08x "
		"pde=%08x pte=%08x value=%02x",
		w->fault ? "PF" : "ok", w->err, w->pde, w->pte, w->value, o->fault ? "PF" : "ok", o->err,
		o->cr2, o->pde, o->pte, o->value);
}

static void case_header(char *buf, size_t n, const struct pcase *pc)
{
	char pde[8], pte[8];

	flags_str(pde, pc->pde, pc->big ? 5 : 4);
	if (pc->big)
		rt_snprintf(pte, sizeof pte, "none");
	else
		flags_str(pte, pc->pte, 5);
	rt_snprintf(buf, n, "%04x %s pde=%-5s pte=%-5s wp=%d cpl=%d", pc->id, pc->big ? "4M" : "4K", pde,
		    pte, pc->wp, pc->cpl);
}

/* Appends to the case line (and, for hidden flags, the TIME: line) the
 * outcome of the last access of `tag`. */
static void report(struct line *l, const char *tag, const struct pcase *pc, const struct outcome *o,
		   uint32_t hidden)
{
	char a = flag_char(o->pde, PTE_A, hidden);
	char b = pc->big ? '-' : flag_char(o->pte, PTE_A, 0);
	char d = flag_char(pc->big ? o->pde : o->pte, PTE_D, 0);
	char pf[24] = "ok";

	if (o->fault && o->cr2 == TEST_LIN)
		rt_snprintf(pf, sizeof pf, "PF%02x", o->err);
	else if (o->fault)
		rt_snprintf(pf, sizeof pf, "PF%02x cr2=%08x", o->err, o->cr2);
	l->len += rt_snprintf(l->text + l->len, sizeof l->text - l->len, " | %s %-4s a=%c/%c d=%c", tag, pf,
			      a, b, d);
	n_accesses++;
	n_faults += o->fault;
	if (!hidden)
		return;
	l->hidden = true;
	n_hidden++;
	l->tlen += rt_snprintf(l->time + l->tlen, sizeof l->time - l->tlen, " %s pde.A=%d", tag,
			       (o->pde & PTE_A) != 0);
}

static void line_start(struct line *l, const char *what, const struct pcase *pc)
{
	char head[64];

	case_header(head, sizeof head, pc);
	l->len = rt_snprintf(l->text, sizeof l->text, "%s%s", what, head);
	l->tlen = rt_snprintf(l->time, sizeof l->time, "TIME: %s%04x open A flags", what, pc->id);
	l->hidden = false;
}

static void line_end(const struct line *l)
{
	rt_printf("%s\n", l->text);
	if (l->hidden)
		rt_printf("%s\n", l->time);
}

/* Each access type on freshly written entries. */
static void run_single(const struct pcase *pc)
{
	static const char *const tag[ACC_COUNT] = { "r", "w", "x" };
	struct line l;

	line_start(&l, "", pc);
	for (int acc = 0; acc < ACC_COUNT; acc++) {
		set_entries(pc);
		struct outcome o = do_access(pc, acc);
		struct expect e = sdm_expect(pc, acc);
		check(pc, tag[acc], &o, &e);
		report(&l, tag[acc], pc, &o, hidden_pde_bits(pc, !o.fault));
	}
	line_end(&l);
}

/*
 * Every ordered pair of access types on freshly written entries, with no
 * INVLPG in between: the second access may use what the first left in
 * the TLB, and must still follow the entries (a write after a read sets
 * D; a forbidden access still faults). The second is checked against the
 * entries as the first left them.
 */
static void run_pairs(const struct pcase *pc)
{
	static const char *const tag[ACC_COUNT][ACC_COUNT] = {
		{ "rr", "rw", "rx" }, { "wr", "ww", "wx" }, { "xr", "xw", "xx" }
	};
	struct line l;

	line_start(&l, "pair ", pc);
	for (int first = 0; first < ACC_COUNT; first++) {
		for (int second = 0; second < ACC_COUNT; second++) {
			set_entries(pc);
			struct outcome o1 = do_access(pc, first);
			struct pcase mid = after(pc, &o1);
			struct outcome o2 = do_access(&mid, second);
			struct expect e = sdm_expect(&mid, second);
			check(pc, tag[first][second], &o2, &e);
			report(&l, tag[first][second], pc, &o2,
			       hidden_pde_bits(pc, !o1.fault || !o2.fault));
		}
	}
	line_end(&l);
}

/* }====== */

static bool has_pse(void)
{
	uint32_t edx;

	cpuid(CPUID_FEATURES, NULL, NULL, NULL, &edx);
	return (edx & CPUID_EDX_PSE) != 0;
}

int main(void)
{
	if (!has_pse()) {
		rt_fail("pageperm", "CPUID reports no PSE (4 MiB pages)");
		rt_done();
	}
	map_identity();
	*(volatile uint8_t *)TEST_PHYS = OP_RET;
	rt_set_handler(VEC_PF, pf_handler);
	enable_paging();
	rt_printf("pageperm: 32-bit paging access rights, A and D flags; columns: case, page size, "
		  "PDE and PTE flags, CR0.WP, CPL, then read, write and fetch: ok or PF error code, "
		  "A flags of PDE/PTE and D of the mapping entry afterwards\n");
	for (unsigned id = 0; id < CASES; id++) {
		struct pcase pc = make_case(id);
		run_single(&pc);
	}
	for (unsigned id = 0; id < CASES; id++) {
		struct pcase pc = make_case(id);
		run_pairs(&pc);
	}
	write_cr0(read_cr0() & ~(CR0_PG | CR0_WP));
	rt_printf("summary: %u settings, %u single accesses and %u pairs: %u accesses checked, "
		  "%u faults, %u allowed, %u with open A flags on TIME: lines, %u disagree with the SDM\n",
		  CASES, CASES * ACC_COUNT, CASES * ACC_COUNT * ACC_COUNT, n_accesses, n_faults,
		  n_accesses - n_faults, n_hidden, n_mismatch);
	rt_check(n_mismatch == 0, "pageperm: every access follows the SDM's access rights and A/D rules");
	rt_done();
}
