/*
 * guests/lib/rt/rt.h - the freestanding runtime of the multiboot test kernels.
 *
 * A kernel links mbcrt0.o (multiboot header and entry) and the runtime
 * objects with kernel.ld; it is loaded at 1 MiB by a multiboot v1 loader
 * (QEMU -kernel, nestlab-run KERNEL.elf). Before main() the runtime has:
 *   - a 64 KiB stack, a zeroed BSS, the multiboot magic and info saved;
 *   - COM1 at 115200 8N1 with FIFOs (polled output, no interrupts);
 *   - a flat GDT, a TSS (ring-0 stack for interrupts from ring 3) and an
 *     IDT whose 256 gates all lead to rt_set_handler() handlers;
 *   - the legacy PIC remapped to 0x20/0x28 with every IRQ masked, so that
 *     STI is safe; interrupts stay disabled (EFLAGS.IF = 0).
 * Paging is off and the CPU runs at ring 0. main()'s return value is the
 * exit status (rt_exit).
 *
 * The test output convention: "PASS: what" / "FAIL: what: why" lines on
 * COM1, ended by rt_done(). Lines that depend on timing start with "TIME:",
 * lines that show what the firmware provides (memory map, MP table IDs)
 * with "FW:"; both are left out when nestlab and QEMU are compared.
 */
#ifndef GUEST_RT_H
#define GUEST_RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* {====== Port I/O */

/* Ports of the test board (docs/board.md) and the PC. */
#define RT_PORT_DEBUGCON 0xE9
#define RT_PORT_EXIT     0xF4
#define RT_PORT_COM1     0x3F8

/* outb/outw/outl and inb/inw/inl */
#include "portio.h"

/* A short delay for old devices: a write to the unused POST port 0x80. */
static inline void io_wait(void)
{
	outb(0x80, 0);
}

/* }====== */

/* {====== CPU */

#define CR0_PE (1u << 0)
#define CR0_TS (1u << 3)
#define CR0_WP (1u << 16)
#define CR0_PG (1u << 31)
#define CR4_PSE (1u << 4)
#define CR4_PAE (1u << 5)
#define CR4_PGE (1u << 7)
#define EFLAGS_CF (1u << 0)
#define EFLAGS_ZF (1u << 6)
#define EFLAGS_TF (1u << 8)
#define EFLAGS_IF (1u << 9)
#define EFLAGS_DF (1u << 10)
#define EFLAGS_IOPL3 (3u << 12)
#define EFLAGS_NT (1u << 14)
#define EFLAGS_VM (1u << 17)

static inline void cli(void)
{
	__asm__ volatile("cli" ::: "memory");
}

static inline void sti(void)
{
	__asm__ volatile("sti" ::: "memory");
}

static inline void hlt(void)
{
	__asm__ volatile("hlt" ::: "memory");
}

/* Enable interrupts and halt with no window in between: STI delays
 * interrupts by one instruction, so a pending IRQ wakes the HLT. */
static inline void sti_hlt(void)
{
	__asm__ volatile("sti; hlt" ::: "memory");
}

static inline uint32_t read_eflags(void)
{
	uint32_t v;
	__asm__ volatile("pushfl; popl %0" : "=r"(v));
	return v;
}

#define RT_DEFINE_CR_READ(n)                                          \
	static inline uint32_t read_cr##n(void)                       \
	{                                                             \
		uint32_t v;                                           \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));     \
		return v;                                             \
	}
RT_DEFINE_CR_READ(0)
RT_DEFINE_CR_READ(2)
RT_DEFINE_CR_READ(3)
RT_DEFINE_CR_READ(4)
#undef RT_DEFINE_CR_READ

static inline void write_cr0(uint32_t v)
{
	__asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

static inline void write_cr3(uint32_t v)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline void write_cr4(uint32_t v)
{
	__asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint64_t v;
	__asm__ volatile("rdtsc" : "=A"(v));
	return v;
}

/* CPUID `leaf` (subleaf 0); each result pointer may be NULL. */
static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	uint32_t ra, rb, rc, rd;

	__asm__ volatile("cpuid" : "=a"(ra), "=b"(rb), "=c"(rc), "=d"(rd) : "a"(leaf), "c"(0));
	if (a)
		*a = ra;
	if (b)
		*b = rb;
	if (c)
		*c = rc;
	if (d)
		*d = rd;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint64_t v;
	__asm__ volatile("rdmsr" : "=A"(v) : "c"(msr));
	return v;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "A"(v) : "memory");
}

/* }====== */

/* {====== Output and test verdicts */

/* Print one byte on COM1 (polled) and on the debug console. */
void rt_putc(char c);

/* Print a NUL-terminated string (no newline added). */
void rt_puts(const char *s);

/*
 * printf to rt_putc. Conversions %d %i %u %x %X %p %s %c %%, flags '0' and
 * '-', a field width and a precision (digits or '*'; for %s the most bytes
 * printed, for integers the fewest digits), length modifiers 'l' (32 bits,
 * like int) and 'll' (64 bits); 'h' and 'z' are accepted and ignored. %p
 * prints "0x" and 8 hex digits. Returns the number of bytes printed.
 */
int rt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int rt_vprintf(const char *fmt, va_list ap);

/* Format like rt_printf into buf (at most n bytes, always NUL-terminated when
 * n > 0). Returns the length the whole output would have, like snprintf. */
int rt_snprintf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int rt_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);

/* Print "PASS: name". */
void rt_pass(const char *name);

/* Print "FAIL: name: why" (why formatted from fmt) and count a failure. */
void rt_fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* rt_pass(name) if ok, else rt_fail(name, "check failed"). */
void rt_check(bool ok, const char *name);

/* rt_pass(name) if got == want, else a FAIL showing both in hex. */
void rt_check_eq(uint32_t got, uint32_t want, const char *name);

/* The number of failures counted so far. */
int rt_failures(void);

/* End the run with `status` on the exit port (the host exits with
 * (status << 1) | 1), then halt forever with interrupts off. */
_Noreturn void rt_exit(int status);

/* Print "DONE: N failures" and exit with status 1 if N > 0, else 0. */
_Noreturn void rt_done(void);

/* }====== */

/* {====== Memory and strings (the compiler may also emit calls to these) */

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);

/* }====== */

/* {====== Descriptors and interrupts */

/* GDT selectors. */
#define RT_SEL_CODE  0x08
#define RT_SEL_DATA  0x10
#define RT_SEL_UCODE 0x1B /* 0x18 with RPL 3 */
#define RT_SEL_UDATA 0x23 /* 0x20 with RPL 3 */
#define RT_SEL_TSS   0x28

/* Exception vectors. */
#define VEC_DE 0
#define VEC_DB 1
#define VEC_NMI 2
#define VEC_BP 3
#define VEC_OF 4
#define VEC_BR 5
#define VEC_UD 6
#define VEC_NM 7
#define VEC_DF 8
#define VEC_TS 10
#define VEC_NP 11
#define VEC_SS 12
#define VEC_GP 13
#define VEC_PF 14
#define VEC_MF 16
#define VEC_AC 17
#define VEC_MC 18
#define VEC_XM 19

/* Vectors of the legacy PIC after pic_init(): IRQ n is RT_VEC_IRQ0 + n. */
#define RT_VEC_IRQ0 0x20

/* The vector rt_enter_user() uses to come back when the ring-3 function
 * returns (a DPL-3 gate; do not give it another handler). */
#define RT_VEC_USER_RETURN 0x7F

/*
 * What an interrupt stub saves: the PUSHA block, the vector, the error code
 * (0 for vectors without one) and the CPU's frame. esp and ss are only valid
 * when the interrupt came from ring 3 ((cs & 3) == 3). A handler may change
 * any field but esp0; the stub restores the registers and IRETs with them.
 * Note: INT n on an error-code vector (8, 10-14, 17) pushes no error code,
 * so its frame is misread; use those vectors only for real exceptions.
 */
struct rt_frame {
	uint32_t edi, esi, ebp, esp0, ebx, edx, ecx, eax;
	uint32_t vector, err;
	uint32_t eip, cs, eflags;
	uint32_t esp, ss; /* the last two only from ring 3 */
};

typedef void (*rt_handler)(struct rt_frame *f);

/* Load the GDT, TSS and IDT (all gates: 32-bit interrupt gates, DPL 0,
 * no handler). Called by mbcrt0 before main; calling it again resets all
 * handlers and gate DPLs. */
void rt_init_cpu(void);

/* Call h for `vector` (0-255); NULL restores the default, which prints
 * "FAIL: unexpected vector N at EIP" and ends the run with rt_done(). */
/*
 * A segment or system descriptor as the 8 bytes of a GDT/LDT entry: `access`
 * is byte 5 (P, DPL, S, type), `flags` the high nibble of byte 6 (G, D/B,
 * L, AVL). For kernels that build tables of their own (guests/vmtest).
 */
static inline uint64_t rt_make_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (uint64_t)(limit & 0xFFFF) | (uint64_t)(base & 0xFFFFFF) << 16 |
	       (uint64_t)access << 40 | (uint64_t)((limit >> 16) & 0xF) << 48 |
	       (uint64_t)(flags & 0xF) << 52 | (uint64_t)(base >> 24) << 56;
}

/* A present 32-bit interrupt gate, DPL 0, to `sel`:`offset`. */
static inline uint64_t rt_make_int_gate(uint16_t sel, uint32_t offset)
{
	return (uint64_t)(offset & 0xFFFF) | (uint64_t)sel << 16 | (uint64_t)0x8E << 40 |
	       (uint64_t)(offset >> 16) << 48;
}

void rt_set_handler(int vector, rt_handler h);

/* Set the DPL of `vector`'s gate; 3 allows INT n from ring 3. */
void rt_set_gate_dpl(int vector, int dpl);

/*
 * Run fn at ring 3 (CS 0x1B, SS/DS/ES/FS/GS 0x23, IOPL 0, EFLAGS.IF as now)
 * on the stack that ends at user_stack. Returns when fn returns or when a
 * handler calls rt_user_return(). Interrupts from ring 3 run on the TSS's
 * ring-0 stack. Paging is off, so fn may be any function of the kernel, but
 * it may not do port I/O (rt_printf) or other privileged instructions.
 */
void rt_enter_user(void (*fn)(void), void *user_stack);

/* From a handler of an interrupt taken at ring 3 under rt_enter_user():
 * abandon the ring-3 code and return from rt_enter_user(). */
_Noreturn void rt_user_return(void);

/* }====== */

/* {====== Legacy PIC (8259A pair) */

#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xA0
#define PIC2_DATA 0xA1

/* Initialise both PICs (ICW1-4: edge triggered, cascade on IRQ 2, 8086
 * mode), vectors 0x20-0x27 and 0x28-0x2F, every IRQ masked. */
void pic_init(void);

/* Unmask IRQ `irq` (0-15); unmasking a slave IRQ also unmasks IRQ 2. */
void pic_unmask(int irq);

/* Mask IRQ `irq` (0-15). */
void pic_mask(int irq);

/* Non-specific EOI for `irq`: to the slave and the master for 8-15. */
void pic_eoi(int irq);

/* }====== */

/* {====== Multiboot v1 */

#define MB_BOOTLOADER_MAGIC 0x2BADB002u

#define MB_INFO_MEMORY      (1u << 0)
#define MB_INFO_BOOTDEV     (1u << 1)
#define MB_INFO_CMDLINE     (1u << 2)
#define MB_INFO_MODS        (1u << 3)
#define MB_INFO_AOUT_SYMS   (1u << 4)
#define MB_INFO_ELF_SHDR    (1u << 5)
#define MB_INFO_MEM_MAP     (1u << 6)
#define MB_INFO_DRIVES      (1u << 7)
#define MB_INFO_CONFIG      (1u << 8)
#define MB_INFO_LOADER_NAME (1u << 9)
#define MB_INFO_APM         (1u << 10)
#define MB_INFO_VBE         (1u << 11)
#define MB_INFO_FRAMEBUFFER (1u << 12)

#define MB_MEMORY_AVAILABLE 1

/* The boot information (Multiboot Specification 0.6.96, section 3.3). */
struct mb_info {
	uint32_t flags;
	uint32_t mem_lower; /* KiB from 0 */
	uint32_t mem_upper; /* KiB from 1 MiB */
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count;
	uint32_t mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length;
	uint32_t mmap_addr;
	uint32_t drives_length;
	uint32_t drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
	uint32_t vbe_control_info;
	uint32_t vbe_mode_info;
	uint16_t vbe_mode;
	uint16_t vbe_interface_seg;
	uint16_t vbe_interface_off;
	uint16_t vbe_interface_len;
	uint64_t framebuffer_addr;
	uint32_t framebuffer_pitch;
	uint32_t framebuffer_width;
	uint32_t framebuffer_height;
	uint8_t framebuffer_bpp;
	uint8_t framebuffer_type;
	uint8_t color_info[6];
} __attribute__((packed));

/* One memory map entry; `size` (the bytes after it) comes first, so the
 * next entry is at (char *)e + e->size + 4. */
struct mb_mmap_entry {
	uint32_t size;
	uint64_t addr;
	uint64_t len;
	uint32_t type; /* MB_MEMORY_AVAILABLE or reserved */
} __attribute__((packed));

struct mb_module {
	uint32_t mod_start;
	uint32_t mod_end; /* first byte after the module */
	uint32_t string;  /* its command line */
	uint32_t reserved;
} __attribute__((packed));

/* EAX at entry (MB_BOOTLOADER_MAGIC when booted by a multiboot loader). */
uint32_t rt_mb_magic(void);

/* EBX at entry: the boot information, or NULL if the magic was wrong. */
const struct mb_info *rt_mb_info(void);

/* }====== */

/* {====== Page allocator */

#define RT_PAGE_SIZE 4096u

/* A zeroed 4 KiB page from the available memory (multiboot memory map, or
 * mem_upper without one) above the kernel's end, never overlapping the
 * boot information or modules; NULL when exhausted. Pages are handed out
 * in ascending address order and never freed. */
void *rt_page_alloc(void);

/* }====== */

/* {====== MP table (Intel MultiProcessor Specification 1.4) */

#define MP_FLOATING_SIG 0x5F504D5Fu /* "_MP_" */
#define MP_CONFIG_SIG   0x504D4350u /* "PCMP" */

#define MP_ENTRY_PROC   0
#define MP_ENTRY_BUS    1
#define MP_ENTRY_IOAPIC 2
#define MP_ENTRY_IOINT  3
#define MP_ENTRY_LINT   4

#define MP_PROC_EN 0x01 /* cpu_flags: usable */
#define MP_PROC_BP 0x02 /* cpu_flags: the bootstrap processor */
#define MP_IOAPIC_EN 0x01

struct mp_floating {
	uint32_t signature; /* "_MP_" */
	uint32_t physptr;   /* the configuration table, 0 for a default config */
	uint8_t length;     /* in 16-byte units: 1 */
	uint8_t spec_rev;
	uint8_t checksum;
	uint8_t feature[5]; /* feature[0]: default configuration type or 0 */
} __attribute__((packed));

struct mp_config {
	uint32_t signature; /* "PCMP" */
	uint16_t length;    /* of the base table, with this header */
	uint8_t spec_rev;
	uint8_t checksum;
	char oem_id[8];
	char product_id[12];
	uint32_t oem_table;
	uint16_t oem_table_size;
	uint16_t entry_count;
	uint32_t lapic_addr;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mp_proc {
	uint8_t type; /* MP_ENTRY_PROC */
	uint8_t lapic_id;
	uint8_t lapic_version;
	uint8_t cpu_flags;
	uint32_t signature;
	uint32_t feature_flags;
	uint32_t reserved[2];
} __attribute__((packed));

struct mp_bus {
	uint8_t type; /* MP_ENTRY_BUS */
	uint8_t bus_id;
	char bus_type[6]; /* "ISA   ", "PCI   " */
} __attribute__((packed));

struct mp_ioapic {
	uint8_t type; /* MP_ENTRY_IOAPIC */
	uint8_t id;
	uint8_t version;
	uint8_t flags;
	uint32_t addr;
} __attribute__((packed));

/* An I/O interrupt assignment (MP_ENTRY_IOINT) or local one (MP_ENTRY_LINT). */
struct mp_ioint {
	uint8_t type;
	uint8_t int_type; /* 0 INT, 1 NMI, 2 SMI, 3 ExtINT */
	uint16_t flags;   /* polarity (bits 0-1), trigger mode (bits 2-3) */
	uint8_t src_bus;
	uint8_t src_irq;
	uint8_t dst_apic; /* 0xFF: all */
	uint8_t dst_pin;
} __attribute__((packed));

#define RT_MP_MAX_CPUS 16

/* What rt_mp_scan() found. */
struct rt_mp_summary {
	int ncpus;                           /* usable processors listed */
	uint8_t apic_ids[RT_MP_MAX_CPUS];    /* their local APIC IDs */
	uint8_t bsp_apic_id;                 /* the bootstrap processor's */
	uint32_t lapic_addr;                 /* the local APIC's MMIO base */
	int nioapics;                        /* I/O APICs listed */
	uint8_t ioapic_id;                   /* the first one's ID ... */
	uint32_t ioapic_addr;                /* ... and MMIO base */
	int8_t isa_irq_pin[16];              /* IOAPIC input of ISA IRQ n, -1: not listed */
	bool default_config;                 /* no table: a default configuration */
};

/* The floating pointer structure, searched (signature and checksum) in the
 * first KiB of the EBDA, the last KiB of base memory, then 0xF0000-0xFFFFF;
 * NULL if there is none. */
const struct mp_floating *rt_mp_find(void);

/* Summarise the MP configuration into *out. Returns the number of usable
 * processors, or -1 (and *out zeroed) if there is no valid MP table. */
int rt_mp_scan(struct rt_mp_summary *out);

/* }====== */

/* {====== VGA text mode */

#define VGA_TEXT_BASE 0xB8000u
#define VGA_COLS 80
#define VGA_ROWS 25
#define VGA_ATTR 0x07

/* Blank the 80x25 screen and put the cursor at the top left. */
void vga_clear(void);

/* Write s at the cursor ('\n' starts a new line, '\r' returns to column 0),
 * scrolling at the bottom, and move the hardware cursor (0x3D4/0x3D5). */
void vga_puts(const char *s);

/* }====== */

#endif
