/*
 * guests/lib/rt/cpu.c - the flat GDT, the TSS, the IDT and the dispatch of
 * interrupts to the handlers kernels register.
 *
 * GDT (selector: descriptor):
 *   0x00 null
 *   0x08 ring-0 code, base 0, limit 4 GiB, 32-bit
 *   0x10 ring-0 data, base 0, limit 4 GiB
 *   0x18 ring-3 code (selector 0x1B)
 *   0x20 ring-3 data (selector 0x23)
 *   0x28 the 32-bit TSS: only SS0:ESP0 matter (no hardware task switch);
 *        the I/O bitmap offset lies beyond the limit, so ring 3 has no ports
 * IDT: 256 32-bit interrupt gates to the stubs of isr.asm.
 */
#include "rt.h"
#include "rt_internal.h"

#define IDT_VECTORS 256
#define RING0_STACK_SIZE (16 * 1024)

/* Descriptor access bytes (Intel SDM vol. 3, 3.4.5). */
#define DESC_P        0x80
#define DESC_DPL(n)   ((n) << 5)
#define DESC_S        0x10 /* code or data (not system) */
#define DESC_CODE_RX  0x0A
#define DESC_DATA_RW  0x02
#define DESC_TSS32    0x09 /* available 32-bit TSS */
#define DESC_GATE_INT32 0x0E
/* Flags nibble: 4 KiB granularity, 32-bit default size. */
#define DESC_G_DB     0xC

struct gdt_desc {
	uint16_t limit_lo;
	uint16_t base_lo;
	uint8_t base_mid;
	uint8_t access;
	uint8_t limit_hi_flags;
	uint8_t base_hi;
} __attribute__((packed));

struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t zero;
	uint8_t type_attr;
	uint16_t offset_hi;
} __attribute__((packed));

/* The 32-bit TSS (Intel SDM vol. 3, figure 7-2). */
struct tss32 {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2;
	uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt;
	uint16_t trap, iomap_base;
} __attribute__((packed));

struct table_reg {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

_Static_assert(sizeof(struct gdt_desc) == 8, "GDT descriptor size");
_Static_assert(sizeof(struct idt_gate) == 8, "IDT gate size");
_Static_assert(sizeof(struct tss32) == 104, "TSS size");
_Static_assert(sizeof(struct rt_frame) == 15 * 4, "frame layout");

enum { GDT_NULL, GDT_CODE, GDT_DATA, GDT_UCODE, GDT_UDATA, GDT_TSS, GDT_ENTRIES };

extern const uint32_t rt_isr_table[IDT_VECTORS]; /* isr.asm */

static struct gdt_desc gdt[GDT_ENTRIES] __attribute__((aligned(8)));
static struct idt_gate idt[IDT_VECTORS] __attribute__((aligned(8)));
static struct tss32 tss __attribute__((aligned(16)));
static uint8_t ring0_stack[RING0_STACK_SIZE] __attribute__((aligned(16)));
static rt_handler handlers[IDT_VECTORS];

static struct gdt_desc make_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (struct gdt_desc){
		.limit_lo = limit & 0xFFFF,
		.base_lo = base & 0xFFFF,
		.base_mid = (base >> 16) & 0xFF,
		.access = access,
		.limit_hi_flags = (uint8_t)(((limit >> 16) & 0x0F) | (flags << 4)),
		.base_hi = base >> 24,
	};
}

static void load_gdt(void)
{
	struct table_reg r = { sizeof gdt - 1, (uint32_t)gdt };

	__asm__ volatile("lgdt %0\n\t"
			 "ljmp %1, $1f\n"
			 "1:\n\t"
			 "mov %2, %%ds\n\t"
			 "mov %2, %%es\n\t"
			 "mov %2, %%fs\n\t"
			 "mov %2, %%gs\n\t"
			 "mov %2, %%ss"
			 :
			 : "m"(r), "i"(RT_SEL_CODE), "r"(RT_SEL_DATA)
			 : "memory");
}

static void setup_gdt_tss(void)
{
	const uint32_t flat = 0xFFFFF; /* 4 GiB in pages */

	gdt[GDT_NULL] = (struct gdt_desc){ 0 };
	gdt[GDT_CODE] = make_desc(0, flat, DESC_P | DESC_S | DESC_CODE_RX, DESC_G_DB);
	gdt[GDT_DATA] = make_desc(0, flat, DESC_P | DESC_S | DESC_DATA_RW, DESC_G_DB);
	gdt[GDT_UCODE] = make_desc(0, flat, DESC_P | DESC_DPL(3) | DESC_S | DESC_CODE_RX, DESC_G_DB);
	gdt[GDT_UDATA] = make_desc(0, flat, DESC_P | DESC_DPL(3) | DESC_S | DESC_DATA_RW, DESC_G_DB);
	memset(&tss, 0, sizeof tss);
	tss.ss0 = RT_SEL_DATA;
	tss.esp0 = (uint32_t)(ring0_stack + sizeof ring0_stack);
	tss.iomap_base = sizeof tss;
	gdt[GDT_TSS] = make_desc((uint32_t)&tss, sizeof tss - 1, DESC_P | DESC_TSS32, 0);
	load_gdt();
	__asm__ volatile("ltr %w0" : : "r"(RT_SEL_TSS));
}

static void set_gate(int vector, uint32_t offset, int dpl)
{
	idt[vector] = (struct idt_gate){
		.offset_lo = offset & 0xFFFF,
		.selector = RT_SEL_CODE,
		.type_attr = (uint8_t)(DESC_P | DESC_DPL(dpl) | DESC_GATE_INT32),
		.offset_hi = offset >> 16,
	};
}

/* The handler of RT_VEC_USER_RETURN: the ring-3 function has returned. */
static void user_return_handler(struct rt_frame *f)
{
	(void)f;
	rt_user_return();
}

static void setup_idt(void)
{
	struct table_reg r = { sizeof idt - 1, (uint32_t)idt };

	for (int v = 0; v < IDT_VECTORS; v++) {
		set_gate(v, rt_isr_table[v], 0);
		handlers[v] = NULL;
	}
	handlers[RT_VEC_USER_RETURN] = user_return_handler;
	rt_set_gate_dpl(RT_VEC_USER_RETURN, 3);
	__asm__ volatile("lidt %0" : : "m"(r) : "memory");
}

void rt_init_cpu(void)
{
	setup_gdt_tss();
	setup_idt();
}

void rt_set_handler(int vector, rt_handler h)
{
	if (vector >= 0 && vector < IDT_VECTORS)
		handlers[vector] = h;
}

void rt_set_gate_dpl(int vector, int dpl)
{
	if (vector < 0 || vector >= IDT_VECTORS)
		return;
	idt[vector].type_attr = (uint8_t)((idt[vector].type_attr & ~DESC_DPL(3)) | DESC_DPL(dpl & 3));
}

_Noreturn void rt_user_return_misuse(void)
{
	rt_count_failure();
	rt_printf("FAIL: rt_user_return outside rt_enter_user\n");
	rt_done();
}

void rt_dispatch(struct rt_frame *f)
{
	rt_handler h = handlers[f->vector & 0xFF];

	if (h) {
		h(f);
		return;
	}
	rt_count_failure();
	rt_printf("FAIL: unexpected vector %u at %04x:%08x (error code 0x%x)\n", f->vector, f->cs, f->eip,
		  f->err);
	rt_done();
}
