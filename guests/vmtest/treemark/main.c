/*
 * guests/vmtest/treemark/main.c - a kernel that tells the engine, through
 * the introspection ABI's MARK (guests/lib/rt/nlabi.h), what it knows of
 * itself, for the tree's tests (tests/vm/test-tree-depth.py): its own page
 * tables, the entries it wrote in them, its CR0 and CR3 as it reads them,
 * and its registers at one MARK.
 *
 *   1. It maps the first 4 MiB one to one and VA_PROBE to the page `probe`,
 *      with page tables of its own, turns paging on, and writes SIGNATURE
 *      at VA_PROBE.
 *   2. MARKs va, pa (the page's physical address), pde, pte (the entries
 *      that map it), sig, cr0, cr3.
 *   3. MARK "regs" with ESP as its value, ESI = ESI_VALUE, EDI = EDI_VALUE,
 *      then MARK "eip" with the address right after that first call.
 *   4. Makes malformed calls, each printed as "bad NAME=RESULT": VM_CREATE
 *      before HELLO, HELLO with a wild running-child pointer, MARK with a
 *      wild descriptor and with a wrong version, an unknown command; then
 *      HELLO (it becomes a monitor with no running guest), VM_CREATE with a
 *      map past its own memory, with overlapping ranges, a good one (id 5)
 *      twice, and VM_DESTROY of it twice.
 * On any CPU without the ABI the calls do nothing; it prints what it
 * marked and exits with status 0.
 */
#include "nlabi.h"
#include "rt.h"

#define PTE_P (1u << 0)
#define PTE_W (1u << 1)
#define CR0_PG (1u << 31)
#define VA_PROBE 0x40000000u
#define SIGNATURE 0x5eed1234u
#define ESI_VALUE 0x51515151u
#define EDI_VALUE 0xd1d1d1d1u

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt_low[1024] __attribute__((aligned(4096)));
static uint32_t pt_probe[1024] __attribute__((aligned(4096)));
static volatile uint32_t probe[1024] __attribute__((aligned(4096)));

static void mark(const char *name, uint32_t value)
{
	static struct nl_mark m = { .version = NL_ABI_VERSION, .size = sizeof m };
	memset(m.name, 0, sizeof m.name);
	for (uint32_t i = 0; name[i] && i < NL_NAME_MAX - 1; i++)
		m.name[i] = name[i];
	m.value = value;
	uint32_t res = nl_call(NL_CMD_MARK, &m);
	rt_printf("treemark: %s=0x%08x%s\n", name, (unsigned)value,
	          res == NL_OK ? "" : " (no engine ABI)");
}

/* MARK "regs" with ESP as its value, from one asm block so that ESP is the
 * call's own; returns the address right after the call. */
static uint32_t mark_regs(void)
{
	static struct nl_mark m = { .version = NL_ABI_VERSION, .size = sizeof m, .name = "regs" };
	uint32_t eax = NL_CMD_MARK, after;
	__asm__ volatile("movl $1f, %%edx\n\t"
	                 "movl %%esp, 0x28(%%ebx)\n\t"
	                 ".byte 0x0f, 0x1f, 0x84, 0x00, 0x4e, 0x4c, 0x41, 0x42\n"
	                 "1:"
	                 : "+a"(eax), "=&d"(after)
	                 : "b"(&m), "c"(NL_ABI_MAGIC), "S"(ESI_VALUE), "D"(EDI_VALUE)
	                 : "memory");
	rt_printf("treemark: regs=0x%08x (ESP) ESI 0x%08x EDI 0x%08x\n", (unsigned)m.value,
	          (unsigned)ESI_VALUE, (unsigned)EDI_VALUE);
	return after;
}

static void bad(const char *what, uint32_t cmd, const void *desc)
{
	rt_printf("treemark: bad %s=%u\n", what, (unsigned)nl_call(cmd, desc));
}

static void bad_calls(void)
{
	static volatile uint32_t running;
	static struct nl_hello hello = { NL_ABI_VERSION, sizeof hello, "treemark", 0, 0 };
	static struct nl_vm_create vc = {
		.version = NL_ABI_VERSION, .size = sizeof vc, .id = 5, .name = "child",
		.n_ranges = 1, .ranges = { { 0, 0x100000, 0x200000 } },
	};
	static struct nl_mark m = { 2, sizeof m, "v2", 0 };
	bad("create-before-hello", NL_CMD_VM_CREATE, &vc);
	hello.running = 0xdead0000u; /* not mapped */
	bad("hello-wild", NL_CMD_HELLO, &hello);
	bad("mark-wild", NL_CMD_MARK, (const void *)0x80000000u);
	bad("mark-version", NL_CMD_MARK, &m);
	bad("command", 0x4e4c0077u, &m);
	hello.running = (uint32_t)(uintptr_t)&running;
	bad("hello", NL_CMD_HELLO, &hello);
	bad("hello-again", NL_CMD_HELLO, &hello);
	vc.ranges[0].mpa = 0x7ff00000u; /* past its own RAM */
	bad("create-past-memory", NL_CMD_VM_CREATE, &vc);
	vc.n_ranges = 2;
	vc.ranges[0].mpa = 0x200000;
	vc.ranges[1] = (struct nl_range){ 0x80000, 0x100000, 0x400000 }; /* overlaps range 0 */
	bad("create-overlap", NL_CMD_VM_CREATE, &vc);
	vc.n_ranges = 1;
	bad("create", NL_CMD_VM_CREATE, &vc);
	bad("create-again", NL_CMD_VM_CREATE, &vc);
	static struct nl_vm_destroy d = { NL_ABI_VERSION, sizeof d, 5 };
	bad("destroy", NL_CMD_VM_DESTROY, &d);
	bad("destroy-again", NL_CMD_VM_DESTROY, &d);
}

int main(void)
{
	for (uint32_t i = 0; i < 1024; i++)
		pt_low[i] = (i << 12) | PTE_P | PTE_W;
	pd[0] = (uint32_t)(uintptr_t)pt_low | PTE_P | PTE_W;
	pd[VA_PROBE >> 22] = (uint32_t)(uintptr_t)pt_probe | PTE_P | PTE_W;
	pt_probe[(VA_PROBE >> 12) & 1023] = (uint32_t)(uintptr_t)probe | PTE_P | PTE_W;
	write_cr3((uint32_t)(uintptr_t)pd);
	write_cr0(read_cr0() | CR0_PG);
	*(volatile uint32_t *)VA_PROBE = SIGNATURE;

	mark("va", VA_PROBE);
	mark("pa", (uint32_t)(uintptr_t)probe);
	mark("pde", pd[VA_PROBE >> 22]);
	mark("pte", pt_probe[(VA_PROBE >> 12) & 1023]);
	mark("sig", *(volatile uint32_t *)VA_PROBE);
	mark("cr0", read_cr0());
	mark("cr3", read_cr3());
	mark("eip", mark_regs());
	bad_calls();
	rt_printf("treemark: done\n");
	rt_exit(0);
}
