/*
 * guests/devtest/rtsmoke/main.c - a smoke test of the guest runtime
 * (guests/lib/rt): printf, interrupt handlers with and without an error
 * code, a ring-3 round trip through a DPL-3 gate, the page allocator, the
 * multiboot information, the MP table, the PIC masks and VGA text output.
 *
 * Everything not marked "TIME:" must print the same on nestlab and QEMU.
 */
#include "rt.h"

#define VEC_SYSCALL 0x80
#define GDT_BEYOND_LIMIT_SEL 0x30 /* the first selector past the runtime's GDT */
#define USER_STACK_SIZE 4096
#define OCW3_READ_ISR 0x0B

extern char _kernel_end[]; /* kernel.ld */

int main(void);

/* {====== printf */

struct fmt_case {
	const char *want;
	int len;
	char got[64];
};

/* Compare one rt_snprintf result; returns true if it matches. */
static bool expect(const char *got, int len, const char *want)
{
	if (strcmp(got, want) == 0 && len == (int)strlen(want))
		return true;
	rt_fail("printf", "got \"%s\" (%d), want \"%s\"", got, len, want);
	return false;
}

#define CASE(want, ...) (n = rt_snprintf(buf, sizeof buf, __VA_ARGS__), ok &= expect(buf, n, want))

static void test_printf(void)
{
	char buf[64];
	const char *volatile null_str = NULL; /* hidden from -Wformat */
	bool ok = true;
	int n;

	CASE("-42 42 7", "%d %i %u", -42, 42, 7u);
	CASE("   42|42   |-0042", "%5d|%-5d|%05d", 42, 42, -42);
	CASE("deadbeef DEADBEEF 0000beef", "%x %X %08x", 0xdeadbeefu, 0xdeadbeefu, 0xbeefu);
	CASE("4294967295 -2147483648", "%u %d", 4294967295u, (int)0x80000000u);
	CASE("18446744073709551615", "%llu", 18446744073709551615ull);
	CASE("123456789abcdef0 -9000000000", "%llx %lld", 0x123456789abcdef0ull, -9000000000ll);
	CASE("12345 ffff", "%ld %lx", 12345l, 0xffffl);
	CASE("0x00001234", "%p", (void *)0x1234);
	CASE("[rt] [  ab] [ab  ] x % (null)", "[%s] [%4s] [%-4s] %c %% %s", "rt", "ab", "ab", 'x',
	     null_str);
	CASE("abc|  ab|007|-0042", "%.3s|%4.2s|%.3d|%.4i", "abcdef", "abc", 7, -42);
	CASE("   17", "%*d", 5, 17);
	n = rt_snprintf(buf, 4, "abcdef");
	ok &= expect(buf, n == 6 ? 3 : n, "abc");
	rt_check(ok, "printf formats");
	n = rt_printf("printf: %s %d %x %llu\n", "direct", -1, 0xabcu, 1ull << 40);
	rt_check_eq((uint32_t)n, 36, "printf return value");
}

/* }====== */

/* {====== Interrupts at ring 0 */

static volatile struct rt_frame last;
static volatile int hits;

static void record(struct rt_frame *f)
{
	last = *f;
	hits++;
}

static void bp_handler(struct rt_frame *f)
{
	record(f);
	f->eax = 0xC0FFEE; /* the stub must restore registers from the frame */
}

/* #GP from a segment load: skip the 2-byte MOV to DS. */
static void gp_skip_handler(struct rt_frame *f)
{
	record(f);
	f->eip += 2;
}

static void test_int3(void)
{
	uint32_t eax, after;

	hits = 0;
	rt_set_handler(VEC_BP, bp_handler);
	__asm__ volatile("movl $0x1111, %%eax\n\t"
			 "int3\n"
			 "1:\tmovl $1b, %1"
			 : "=a"(eax), "=r"(after)
			 :
			 : "memory");
	rt_set_handler(VEC_BP, NULL);
	rt_check_eq(hits, 1, "int3 handler ran once");
	rt_check_eq(last.vector, VEC_BP, "int3 vector");
	rt_check_eq(last.err, 0, "int3 error code 0");
	rt_check_eq(last.eip, after, "int3 eip after the instruction");
	rt_check_eq(last.cs, RT_SEL_CODE, "int3 cs");
	rt_check_eq(eax, 0xC0FFEE, "int3 handler changed eax");
}

static void test_gp_error_code(void)
{
	hits = 0;
	rt_set_handler(VEC_GP, gp_skip_handler);
	__asm__ volatile("movw %w0, %%ax\n\t"
			 "movw %%ax, %%ds\n\t" /* 8E D8 */
			 :
			 : "i"(GDT_BEYOND_LIMIT_SEL)
			 : "eax", "memory");
	rt_set_handler(VEC_GP, NULL);
	rt_check_eq(hits, 1, "#GP handler ran once");
	rt_check_eq(last.vector, VEC_GP, "#GP vector");
	rt_check_eq(last.err, GDT_BEYOND_LIMIT_SEL, "#GP error code is the selector");
}

/* }====== */

/* {====== Ring 3 */

static volatile uint32_t user_result;

/* Ring 3: INT 0x80 with EAX = 0x5A, keep the handler's EAX, return. */
static void user_syscall(void)
{
	uint32_t eax = 0x5A;

	__asm__ volatile("int $0x80" : "+a"(eax) : : "memory");
	user_result = eax;
}

/* Ring 3: a privileged instruction, which raises #GP(0). */
static void user_cli(void)
{
	__asm__ volatile("cli");
	user_result = 0xBAD;
}

static void syscall_handler(struct rt_frame *f)
{
	record(f);
	f->eax = f->eax ^ 0xFF;
}

static void gp_leave_handler(struct rt_frame *f)
{
	record(f);
	rt_user_return();
}

static void test_ring3(void)
{
	static uint8_t stack[USER_STACK_SIZE] __attribute__((aligned(16)));

	hits = 0;
	user_result = 0;
	rt_set_handler(VEC_SYSCALL, syscall_handler);
	rt_set_gate_dpl(VEC_SYSCALL, 3);
	rt_enter_user(user_syscall, stack + sizeof stack);
	rt_check_eq(hits, 1, "ring 3: int 0x80 reached the handler");
	rt_check_eq(last.cs, RT_SEL_UCODE, "ring 3: cs in the frame");
	rt_check_eq(last.ss, RT_SEL_UDATA, "ring 3: ss in the frame");
	rt_check(last.esp > (uint32_t)stack && last.esp <= (uint32_t)(stack + sizeof stack),
		 "ring 3: esp in the frame is on the user stack");
	rt_check_eq(user_result, 0xA5, "ring 3: handler's eax returned to ring 3");

	hits = 0;
	user_result = 0;
	rt_set_handler(VEC_GP, gp_leave_handler);
	rt_enter_user(user_cli, stack + sizeof stack);
	rt_set_handler(VEC_GP, NULL);
	rt_check_eq(hits, 1, "ring 3: cli raised #GP");
	rt_check_eq(last.err, 0, "ring 3: #GP error code 0");
	rt_check_eq(last.cs, RT_SEL_UCODE, "ring 3: #GP cs");
	rt_check_eq(user_result, 0, "ring 3: rt_user_return left the faulting code");
	rt_set_handler(VEC_SYSCALL, NULL);
	rt_set_gate_dpl(VEC_SYSCALL, 0);
}

/* }====== */

/* {====== Memory */

static bool page_is_zero(const uint8_t *p)
{
	for (uint32_t i = 0; i < RT_PAGE_SIZE; i++)
		if (p[i])
			return false;
	return true;
}

static void test_pages(void)
{
	uint8_t *a = rt_page_alloc();
	uint8_t *b = rt_page_alloc();
	uint8_t *c;

	rt_check(a && b, "pages allocated");
	if (!a || !b)
		return;
	rt_printf("FW: first pages at %p %p\n", a, b);
	rt_check((((uint32_t)a | (uint32_t)b) & (RT_PAGE_SIZE - 1)) == 0, "pages are 4 KiB aligned");
	rt_check(a >= (uint8_t *)_kernel_end && b > a, "pages above the kernel, ascending");
	rt_check(page_is_zero(a) && page_is_zero(b), "pages are zeroed");
	memset(a, 0xAA, RT_PAGE_SIZE);
	c = rt_page_alloc();
	rt_check(c && c > b && page_is_zero(c) && a[RT_PAGE_SIZE - 1] == 0xAA, "pages are distinct");
}

static void test_strings(void)
{
	char buf[16];

	memset(buf, 'x', sizeof buf);
	memcpy(buf, "hello", 6);
	rt_check(strcmp(buf, "hello") == 0 && buf[6] == 'x', "memcpy/memset");
	rt_check(strncmp("abcd", "abce", 3) == 0 && strcmp("abcd", "abce") < 0, "strcmp/strncmp");
	rt_check(strchr(buf, 'l') == buf + 2 && strchr(buf, 'q') == NULL && memcmp("ab", "ac", 2) < 0,
		 "strchr/memcmp");
}

/* }====== */

/* {====== Boot information and firmware tables */

static void test_multiboot(void)
{
	const struct mb_info *mb = rt_mb_info();

	rt_check_eq(rt_mb_magic(), MB_BOOTLOADER_MAGIC, "multiboot magic");
	if (!mb)
		return;
	rt_check(mb->flags & MB_INFO_MEMORY, "multiboot memory fields");
	rt_printf("FW: multiboot: mem_lower=%u mem_upper=%u\n", mb->mem_lower, mb->mem_upper);
	if (!(mb->flags & MB_INFO_MEM_MAP)) {
		rt_printf("TIME: no memory map\n");
		return;
	}
	for (uint32_t off = 0; off < mb->mmap_length;) {
		const struct mb_mmap_entry *e = (const struct mb_mmap_entry *)(mb->mmap_addr + off);

		rt_printf("FW: mmap %016llx %016llx type %u\n", e->addr, e->len, e->type);
		off += e->size + 4;
	}
}

static void test_mp(void)
{
	struct rt_mp_summary s;
	int n = rt_mp_scan(&s);

	if (n < 0) {
		rt_printf("TIME: no MP table\n");
		return;
	}
	rt_printf("mp: cpus=%d bsp=%u lapic=%08x ioapics=%d ioapic addr=%08x%s\n", s.ncpus, s.bsp_apic_id,
		  s.lapic_addr, s.nioapics, s.ioapic_addr, s.default_config ? " (default)" : "");
	/* The firmware's choices: QEMU routes ISA IRQs 5, 9, 10, 11 as PCI ones. */
	rt_printf("FW: mp ioapic id=%u isa irq->pin", s.ioapic_id);
	for (int i = 0; i < 16; i++)
		rt_printf(" %d", s.isa_irq_pin[i]);
	rt_printf("\n");
	rt_check(n >= 1 && s.apic_ids[0] == s.bsp_apic_id, "mp table lists the bsp");
}

/* }====== */

/* {====== PIC, CPU, VGA */

static void test_pic(void)
{
	rt_check_eq(inb(PIC1_DATA), 0xFF, "pic master all masked");
	rt_check_eq(inb(PIC2_DATA), 0xFF, "pic slave all masked");
	pic_unmask(3);
	rt_check_eq(inb(PIC1_DATA), 0xF7, "pic unmask irq 3");
	pic_unmask(9);
	rt_check_eq(inb(PIC2_DATA) << 8 | inb(PIC1_DATA), 0xFDF3, "pic unmask irq 9 (and the cascade)");
	pic_mask(3);
	pic_mask(9);
	pic_mask(2);
	rt_check_eq(inb(PIC2_DATA) << 8 | inb(PIC1_DATA), 0xFFFF, "pic masked again");
	outb(PIC1_CMD, OCW3_READ_ISR);
	rt_check_eq(inb(PIC1_CMD), 0, "pic master ISR empty");
	sti();
	__asm__ volatile("nop; nop; nop; nop");
	cli();
	rt_pass("sti with all IRQs masked");
}

static void test_cpu(void)
{
	uint32_t max, vendor[3];
	uint64_t t0 = rdtsc(), t1;

	cpuid(0, &max, &vendor[0], &vendor[2], &vendor[1]);
	rt_printf("FW: cpuid vendor %.12s max leaf %u\n", (const char *)vendor, max);
	rt_check_eq(read_cr0() & (CR0_PE | CR0_PG), CR0_PE, "cr0: protected mode, no paging");
	rt_check_eq(read_eflags() & EFLAGS_IF, 0, "interrupts disabled at main");
	t1 = rdtsc();
	rt_check(t1 > t0, "rdtsc advances");
}

static void test_vga(void)
{
	char line[32];

	vga_clear();
	for (int i = 0; i < VGA_ROWS + 5; i++) {
		rt_snprintf(line, sizeof line, "rtsmoke line %d\n", i);
		vga_puts(line);
	}
	vga_puts("rtsmoke: done");
	rt_printf("TIME: vga first cell %04x\n", *(volatile uint16_t *)VGA_TEXT_BASE);
	rt_pass("vga text output");
}

/* }====== */

int main(void)
{
	rt_printf("rtsmoke: start\n");
	test_printf();
	test_strings();
	test_cpu();
	test_int3();
	test_gp_error_code();
	test_ring3();
	test_multiboot();
	test_pages();
	test_mp();
	test_pic();
	test_vga();
	rt_done();
}
