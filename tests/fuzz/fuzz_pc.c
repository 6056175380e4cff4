/*
 * fuzz_pc.c - fuzz target for the PC's devices: everything a guest can do
 * to them from outside the CPU. The input is a program of port reads and
 * writes (any port, sizes 1/2/4), LAPIC and IOAPIC MMIO reads and writes,
 * stretches of virtual time (so timers fire and interrupts are raised and
 * acknowledged), interrupt acknowledges, and host input (serial bytes and
 * keystrokes). Nothing may crash, leak or hit undefined behaviour; the
 * sanitizers watch. Two IDE disks (images written to a temporary file)
 * are attached so the ATA command parser is in reach.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu.h"
#include "ioport.h"
#include "machine.h"
#include "physmem.h"

#define LAPIC 0xfee00000u
#define IOAPIC 0xfec00000u

static char *disk_path;

static void remove_disk(void)
{
	g_unlink(disk_path);
	g_free(disk_path);
}

static void make_disk(void)
{
	if (disk_path)
		return;
	int fd = g_file_open_tmp("nestlab-fuzz-XXXXXX.img", &disk_path, NULL);
	g_assert(fd >= 0);
	uint8_t sector[512];
	for (int s = 0; s < 256; s++) {
		memset(sector, s, sizeof sector);
		g_assert(write(fd, sector, sizeof sector) == sizeof sector);
	}
	close(fd);
	atexit(remove_disk);
}

static void quiet(void *opaque, const uint8_t *buf, size_t len)
{
}

static uint32_t get(const uint8_t **p, const uint8_t *end, int n)
{
	uint32_t v = 0;
	for (int i = 0; i < n && *p < end; i++)
		v |= (uint32_t)*(*p)++ << (8 * i);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	make_disk();
	const struct machine_disk disks[2] = {
		{ .path = disk_path }, { .path = disk_path, .slave = true },
	};
	struct machine_config cfg = {
		.mem_mib = 2, .disks = disks, .n_disks = 2, .console = quiet,
		.serial = { { MACHINE_SERIAL_BUFFER }, { MACHINE_SERIAL_BUFFER } },
	};
	struct machine *m = machine_new(&cfg, NULL);
	g_assert(m);
	struct ioport_map *io = machine_io(m);
	struct pmem *pm = machine_pmem(m);
	const uint8_t *p = data, *end = data + size;
	while (p < end) {
		uint8_t op = *p++;
		int sz = 1 << (op >> 6 & 3);
		if (sz == 8)
			sz = 4;
		switch (op & 15) {
		case 0: case 1: case 2: { /* port write; bias to the PC's device ports */
			uint16_t port = (uint16_t)get(&p, end, 2);
			if (op & 16)
				port = (uint16_t)(0x1f0 + (port & 7));
			else if (op & 32)
				port = (uint16_t)((port & 0xff) | (port & 0x100 ? 0x300 : 0));
			ioport_write(io, port, get(&p, end, sz), sz);
			break;
		}
		case 3: case 4:
			ioport_read(io, (uint16_t)get(&p, end, 2), sz);
			break;
		case 5:
			pmem_write(pm, LAPIC + (get(&p, end, 2) & 0xffc), get(&p, end, 4), 4);
			break;
		case 6:
			pmem_read(pm, LAPIC + (get(&p, end, 2) & 0xfff), sz);
			break;
		case 7:
			pmem_write(pm, IOAPIC + (get(&p, end, 1) & 0x1f), get(&p, end, 4), sz);
			break;
		case 8:
			pmem_read(pm, IOAPIC + (get(&p, end, 1) & 0x1f), 4);
			break;
		case 9:
			machine_advance(m, get(&p, end, 3) << (op >> 4 & 7));
			break;
		case 10: { /* the CPU acknowledges whatever is pending */
			struct cpu *c = machine_cpu(m);
			if (c->irq_line)
				c->bus.intr_ack(c->bus.opaque);
			break;
		}
		case 11: {
			char text[8] = { 0 };
			for (int i = 0; i < 7 && p < end; i++)
				text[i] = (char)(*p++ | 1);
			machine_add_input(m, (enum machine_input_dev)(op >> 4 & 1 ? MACHINE_INPUT_KBD
			                                                       : MACHINE_INPUT_COM1),
			                  0, NULL, text);
			break;
		}
		default:
			ioport_write(io, (uint16_t)(0x20 + (op & 1) + (op & 2 ? 0x80 : 0)), get(&p, end, 1), 1);
			break;
		}
	}
	char h[65];
	machine_state_hash(m, h);
	machine_free(m);
	return 0;
}
