/*
 * testbus.h - a bare machine for CPU unit tests: RAM at 0 and nothing else
 * but a port log. Header-only; each test executable includes it once.
 */
#ifndef NESTLAB_TESTBUS_H
#define NESTLAB_TESTBUS_H

#include <glib.h>
#include <string.h>

#include "cpu.h"

#define TB_RAM (4u << 20)

struct testbus {
	uint8_t *ram;
	uint32_t last_port, last_val;
	int writes;
	bool shutdown;
	struct cpu *cpu;
};

static uint8_t *tb_page_ptr(void *o, uint32_t pa, bool *w)
{
	struct testbus *tb = o;
	*w = true;
	return pa < TB_RAM ? tb->ram + pa : NULL;
}
static uint32_t tb_mem_read(void *o, uint32_t pa, int sz)
{
	return 0xffffffffu >> (32 - 8 * sz);
}
static void tb_mem_write(void *o, uint32_t pa, uint32_t v, int sz)
{
}
static uint32_t tb_io_read(void *o, uint16_t port, int sz)
{
	return 0;
}
static void tb_io_write(void *o, uint16_t port, uint32_t v, int sz)
{
	struct testbus *tb = o;
	tb->last_port = port;
	tb->last_val = v;
	tb->writes++;
}
static void tb_shutdown(void *o, const char *why)
{
	((struct testbus *)o)->shutdown = true;
}

/* A CPU in real mode on 4 MiB of zeroed RAM; free with tb_free(). */
static inline struct testbus *tb_new(void)
{
	struct testbus *tb = g_new0(struct testbus, 1);
	tb->ram = g_malloc0(TB_RAM);
	struct bus bus = {
		.opaque = tb, .page_ptr = tb_page_ptr, .mem_read = tb_mem_read, .mem_write = tb_mem_write,
		.io_read = tb_io_read, .io_write = tb_io_write, .shutdown = tb_shutdown,
	};
	tb->cpu = cpu_new(&bus);
	for (int s = 0; s < 6; s++)
		cpu_set_seg_real(tb->cpu, s, 0);
	tb->cpu->eip = 0x1000;
	tb->cpu->r[ESP] = 0x8000;
	return tb;
}

static inline void tb_free(struct testbus *tb)
{
	cpu_free(tb->cpu);
	g_free(tb->ram);
	g_free(tb);
}

static inline void tb_put(struct testbus *tb, uint32_t pa, const void *bytes, size_t n)
{
	memcpy(tb->ram + pa, bytes, n);
	cpu_invalidate_phys(tb->cpu, pa, (uint32_t)n);
}

static inline void tb_put32(struct testbus *tb, uint32_t pa, uint32_t v)
{
	tb_put(tb, pa, &v, 4);
}

static inline uint32_t tb_get32(struct testbus *tb, uint32_t pa)
{
	uint32_t v;
	memcpy(&v, tb->ram + pa, 4);
	return v;
}

/* Writes an 8-byte segment descriptor. */
static inline void tb_desc(struct testbus *tb, uint32_t pa, uint32_t base, uint32_t limit, uint16_t attr)
{
	uint32_t lo = (limit & 0xffff) | (base & 0xffff) << 16;
	uint32_t hi = ((base >> 16) & 0xff) | (uint32_t)(attr & 0xf0ff) << 8 | (limit & 0xf0000) |
	              (base & 0xff000000u);
	tb_put32(tb, pa, lo);
	tb_put32(tb, pa + 4, hi);
}

/* Writes a 32-bit interrupt/trap gate. */
static inline void tb_gate(struct testbus *tb, uint32_t pa, uint16_t sel, uint32_t off, int type, int dpl)
{
	tb_put32(tb, pa, (off & 0xffff) | (uint32_t)sel << 16);
	tb_put32(tb, pa + 4, (off & 0xffff0000u) | 0x8000u | (uint32_t)dpl << 13 | (uint32_t)type << 8);
}

/*
 * Switches the CPU to 32-bit flat protected mode at ring 0:
 * GDT at 0x500 (null, code 0x08, data 0x10, code3 0x1b, data3 0x23),
 * IDT at 0x600 (empty, limit 0x7ff).
 */
static inline void tb_pmode32(struct testbus *tb)
{
	struct cpu *cpu = tb->cpu;
	uint16_t code = DESC_P | DESC_S | DESC_TYPE_CODE | DESC_TYPE_R | DESC_DB | DESC_G;
	uint16_t data = DESC_P | DESC_S | DESC_TYPE_W | DESC_DB | DESC_G;
	tb_desc(tb, 0x500, 0, 0, 0);
	tb_desc(tb, 0x508, 0, 0xfffff, code);
	tb_desc(tb, 0x510, 0, 0xfffff, data);
	tb_desc(tb, 0x518, 0, 0xfffff, code | 3 << DESC_DPL_SHIFT);
	tb_desc(tb, 0x520, 0, 0xfffff, data | 3 << DESC_DPL_SHIFT);
	cpu->gdtr = (struct dtr){0x500, 0x27};
	cpu->idtr = (struct dtr){0x600, 0x7ff};
	cpu->cr0 |= CR0_PE;
	for (int s = 0; s < 6; s++) {
		cpu->seg[s] = (struct seg){0x10, (uint16_t)(data | DESC_TYPE_A), 0, 0xffffffffu};
	}
	cpu->seg[SEG_CS] = (struct seg){0x08, (uint16_t)(code | DESC_TYPE_A), 0, 0xffffffffu};
	cpu->cpl = 0;
	cpu_state_changed(cpu);
}

#endif
