/*
 * fuzz_cpu.c - feeds arbitrary bytes and CPU states to decode+execute.
 *
 * The input is a machine: a 64-byte header picks the mode (real, 16/32-bit
 * protected, ring 3, virtual-8086, paging) and the registers; the rest is
 * copied over the low memory that holds the code, the GDT, IDT, TSS and
 * page tables, so descriptor and page-table parsing is fuzzed too. The
 * property is simply that nothing a guest does can crash the host process
 * or trip a sanitizer; the CPU may fault, triple-fault or halt as it likes.
 *
 * Built two ways: with libFuzzer (clang, tests/fuzz/libfuzzer.sh) for long
 * runs, and with fuzz_driver.c (deterministic pseudo-random inputs) under
 * ASan+UBSan as part of the test suite.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

#define FUZZ_RAM (2u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Guest instructions retired over the whole run (reported by the driver). */
unsigned long long fuzz_insns_total;

static uint8_t *ram;
static uint8_t ones_page[4096];

static uint8_t *f_page_ptr(void *o, uint32_t pa, bool *w)
{
	if (pa < FUZZ_RAM) {
		*w = true;
		return ram + pa;
	}
	return NULL;
}
static uint32_t f_mem_read(void *o, uint32_t pa, int sz)
{
	return 0xffffffffu >> (32 - 8 * sz);
}
static void f_mem_write(void *o, uint32_t pa, uint32_t v, int sz)
{
}
static uint32_t f_io_read(void *o, uint16_t port, int sz)
{
	return port * 0x01010101u;
}
static void f_io_write(void *o, uint16_t port, uint32_t v, int sz)
{
}
static int f_intr_ack(void *o)
{
	return 0x20;
}

static uint32_t rd32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Segment attributes for the header's mode choice. */
static void set_seg(struct cpu *cpu, int s, uint16_t sel, uint16_t attr, uint32_t limit)
{
	cpu->seg[s].sel = sel;
	cpu->seg[s].base = 0;
	cpu->seg[s].limit = limit;
	cpu->seg[s].attr = attr;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ram) {
		ram = calloc(1, FUZZ_RAM);
		memset(ones_page, 0xff, sizeof ones_page);
	}
	if (size < 64)
		return 0;
	struct bus bus = {
		.page_ptr = f_page_ptr, .mem_read = f_mem_read, .mem_write = f_mem_write,
		.io_read = f_io_read, .io_write = f_io_write, .intr_ack = f_intr_ack,
	};
	memset(ram, 0, 0x20000);
	size_t n = size - 64 < 0x20000 ? size - 64 : 0x20000;
	memcpy(ram, data + 64, n);

	/* One CPU for the whole run: cpu_reset gives it a clean power-on state
	 * (and an empty decode cache) for every input. */
	static struct cpu *cpu;
	if (!cpu)
		cpu = cpu_new(&bus);
	cpu_reset(cpu);
	uint64_t icount0 = cpu->icount;
	const uint8_t *h = data;
	for (int i = 0; i < 8; i++)
		cpu->r[i] = rd32(h + 4 * i);
	cpu->r[ESP] &= 0x1fffc;
	int mode = h[32] & 7;
	uint32_t fl = rd32(h + 36);
	cpu->eip = rd32(h + 40) & 0xffff;
	cpu->gdtr = (struct dtr){0x100, h[44] | (h[45] & 1) << 8};
	cpu->idtr = (struct dtr){0x400, h[46] | (h[47] & 3) << 8};
	cpu->cr3 = 0x3000;
	cpu->cr4 = h[48] & (CR4_PSE | CR4_DE | CR4_TSD | CR4_PCE);
	cpu->tr = (struct seg){0x28, 0x0b | DESC_P, 0x800, 0x67 + h[49]};
	cpu->msr_nestlab_ctl = h[50] & 1;
	cpu->irq_line = h[51] & 1;
	uint16_t code = DESC_P | DESC_S | DESC_TYPE_CODE | DESC_TYPE_R | DESC_TYPE_A;
	uint16_t dat = DESC_P | DESC_S | DESC_TYPE_W | DESC_TYPE_A;
	switch (mode) {
	case 0: /* real mode */
		for (int s = 0; s < 6; s++)
			cpu_set_seg_real(cpu, s, 0);
		break;
	case 1: /* 16-bit protected, ring 0 */
	case 2: /* 32-bit protected, ring 0 */
	case 3: /* 32-bit protected, ring 3 */
	case 4: /* 32-bit protected with paging */
	case 5: /* ring 3 with paging */ {
		bool big = mode >= 2;
		int rpl = (mode == 3 || mode == 5) ? 3 : 0;
		cpu->cr0 |= CR0_PE | (mode >= 4 ? CR0_PG | (h[33] & 1 ? CR0_WP : 0) : 0);
		uint16_t db = big ? DESC_DB | DESC_G : 0;
		uint32_t lim = big ? 0xffffffffu : 0xffff;
		set_seg(cpu, SEG_CS, (uint16_t)(0x08 | rpl), code | db | (uint16_t)(rpl << DESC_DPL_SHIFT), lim);
		for (int s = 0; s < 6; s++)
			if (s != SEG_CS)
				set_seg(cpu, s, (uint16_t)(0x10 | rpl), dat | db | (uint16_t)(rpl << DESC_DPL_SHIFT), lim);
		cpu->cpl = (uint8_t)rpl;
		break;
	}
	default: /* virtual-8086 */
		cpu->cr0 |= CR0_PE;
		fl |= EFLAGS_VM;
		for (int s = 0; s < 6; s++)
			set_seg(cpu, s, 0, dat | (3 << DESC_DPL_SHIFT), 0xffff);
		cpu->cpl = 3;
		break;
	}
	cpu_set_eflags(cpu, fl & ~(uint32_t)EFLAGS_TF);
	cpu_state_changed(cpu);
	if (mode == 6 || mode == 7)
		for (int s = 0; s < 6; s++)
			cpu_set_seg_real(cpu, s, (uint16_t)(h[52 + s] << 4));

	for (int i = 0; i < 8 && cpu->stop != CPU_STOP_SHUTDOWN; i++) {
		enum cpu_stop st = cpu_run(cpu, 256);
		if (st == CPU_STOP_SHUTDOWN)
			break;
		if (st == CPU_STOP_HLT)
			cpu->halted = false, cpu->eflags |= EFLAGS_IF;
	}
	fuzz_insns_total += cpu->icount - icount0;
	/* Decoder alone on the raw bytes, both code sizes. */
	struct insn in;
	cpu_decode(data, size < 15 ? size : 15, true, &in);
	cpu_decode(data, size < 15 ? size : 15, false, &in);
	return 0;
}
