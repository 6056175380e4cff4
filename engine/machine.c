/*
 * machine.c - assembles the minimal test board (docs/board.md) and runs it.
 *
 *   CPU --bus--> physmem  (RAM pages on demand at 0, ROM at 4 GiB - size
 *    |                    and 1 MiB - size)
 *    +---------> ioport   (0xE9 console, 0xF4 exit, POST port)
 *
 * The board has no interrupt controller yet, so a HLT is the end of a run.
 */
#include "machine.h"

#include <signal.h>

#include "rom.h"
#include "sysctl.h"

#define MIB (1024u * 1024u)
#define RUN_CHUNK (1u << 22) /* instructions per cpu_run between stop checks */

struct machine {
	struct cpu *cpu;
	struct pmem *pmem;
	struct ioport_map *io;
	struct dev_debugport *dbg;
	struct dev_sysctl *sysctl;
	const char *shutdown_why;
	volatile sig_atomic_t stop_flag;
	machine_console_fn console;
	void *console_opaque;
};

G_DEFINE_QUARK(nestlab-error-quark, nestlab_error)

/* {====== port 0x92: A20 gate and fast reset ====== */

static void sysctl_a20(void *opaque, bool enabled)
{
	struct machine *m = opaque;
	cpu_set_a20(m->cpu, enabled);
}

static void sysctl_reset(void *opaque)
{
	struct machine *m = opaque;
	cpu_reset(m->cpu);
}

/* }====================================================================== */

/* {====== the bus the CPU sees ====== */

static uint8_t *bus_page_ptr(void *opaque, uint32_t paddr, bool *writable)
{
	struct machine *m = opaque;
	return pmem_page(m->pmem, paddr, writable);
}

static uint32_t bus_mem_read(void *opaque, uint32_t paddr, int size)
{
	struct machine *m = opaque;
	return pmem_read(m->pmem, paddr, size);
}

static void bus_mem_write(void *opaque, uint32_t paddr, uint32_t val, int size)
{
	struct machine *m = opaque;
	pmem_write(m->pmem, paddr, val, size);
}

static uint32_t bus_io_read(void *opaque, uint16_t port, int size)
{
	struct machine *m = opaque;
	return ioport_read(m->io, port, size);
}

static void bus_io_write(void *opaque, uint16_t port, uint32_t val, int size)
{
	struct machine *m = opaque;
	ioport_write(m->io, port, val, size);
}

static int bus_intr_ack(void *opaque)
{
	return -1; /* no interrupt controller on this board */
}

static void bus_shutdown(void *opaque, const char *why)
{
	struct machine *m = opaque;
	m->shutdown_why = why ? why : "shutdown";
}

/* }====================================================================== */

static void guest_exited(void *opaque, int status)
{
	struct machine *m = opaque;
	cpu_request_stop(m->cpu);
}

static void console_forward(void *opaque, const uint8_t *buf, size_t len)
{
	struct machine *m = opaque;
	m->console(m->console_opaque, buf, len);
}

static bool check_config(const struct machine_config *cfg, GError **error)
{
	if (cfg->mem_mib > MACHINE_MEM_MAX_MIB) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "%u MiB of RAM is more than the board can map (at most %u MiB)",
		            cfg->mem_mib, MACHINE_MEM_MAX_MIB);
		return false;
	}
	return true;
}

/* The ROM the configuration asks for: NULL with no error if none. */
static GBytes *config_rom(const struct machine_config *cfg, GError **error)
{
	if (cfg->rom)
		return rom_check(cfg->rom, "given", error) ? g_bytes_ref(cfg->rom) : NULL;
	if (cfg->rom_path)
		return rom_load(cfg->rom_path, error);
	return NULL;
}

struct machine *machine_new(const struct machine_config *cfg, GError **error)
{
	if (!check_config(cfg, error))
		return NULL;
	GError *local = NULL;
	GBytes *rom = config_rom(cfg, &local);
	if (local) {
		g_propagate_error(error, local);
		return NULL;
	}
	struct machine *m = g_new0(struct machine, 1);
	uint32_t mib = cfg->mem_mib ? cfg->mem_mib : MACHINE_MEM_DEFAULT_MIB;
	m->pmem = pmem_new(mib * MIB);
	if (rom) {
		pmem_map_rom(m->pmem, rom);
		g_bytes_unref(rom);
	}
	m->io = ioport_new();
	uint16_t post = cfg->post_port ? cfg->post_port : MACHINE_POST_PORT_DEFAULT;
	m->dbg = dev_debugport_new(m->io, post, error);
	if (!m->dbg) {
		machine_free(m);
		return NULL;
	}
	dev_debugport_set_exit_handler(m->dbg, guest_exited, m);
	if (cfg->console) {
		m->console = cfg->console;
		m->console_opaque = cfg->console_opaque;
		dev_debugport_set_sink(m->dbg, console_forward, m);
	}
	const struct bus bus = {
		.opaque = m,
		.page_ptr = bus_page_ptr,
		.mem_read = bus_mem_read,
		.mem_write = bus_mem_write,
		.io_read = bus_io_read,
		.io_write = bus_io_write,
		.intr_ack = bus_intr_ack,
		.shutdown = bus_shutdown,
	};
	m->cpu = cpu_new(&bus);
	cpu_reset(m->cpu);
	m->sysctl = dev_sysctl_new(m->io, sysctl_a20, sysctl_reset, m);
	if (!m->sysctl) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "port 0x%x (A20 and fast reset) is already taken; choose another POST port",
		            SYSCTL_PORT);
		machine_free(m);
		return NULL;
	}
	return m;
}

void machine_free(struct machine *m)
{
	if (!m)
		return;
	cpu_free(m->cpu);
	dev_sysctl_free(m->sysctl);
	dev_debugport_free(m->dbg);
	ioport_free(m->io);
	pmem_free(m->pmem);
	g_free(m);
}

/* {====== running ====== */

/* What a stop of the CPU means for the machine; MACHINE_LIMIT: go on. */
static enum machine_stop classify(struct machine *m, enum cpu_stop s)
{
	if (dev_debugport_exited(m->dbg, NULL))
		return MACHINE_EXIT;
	switch (s) {
	case CPU_STOP_HLT:
		return MACHINE_HALT;
	case CPU_STOP_SHUTDOWN:
		if (!m->shutdown_why)
			m->shutdown_why = m->cpu->shutdown_why ? m->cpu->shutdown_why : "shutdown";
		return MACHINE_SHUTDOWN;
	case CPU_STOP_BREAK:
		return MACHINE_BREAK;
	case CPU_STOP_REQUEST:
		if (m->stop_flag) {
			m->stop_flag = 0;
			return MACHINE_STOPPED;
		}
		return MACHINE_LIMIT;
	default:
		return MACHINE_LIMIT;
	}
}

/* A stop that running again cannot undo, or MACHINE_LIMIT. */
static enum machine_stop final_state(struct machine *m)
{
	if (dev_debugport_exited(m->dbg, NULL))
		return MACHINE_EXIT;
	if (m->shutdown_why)
		return MACHINE_SHUTDOWN;
	return MACHINE_LIMIT;
}

enum machine_stop machine_run(struct machine *m, uint64_t max_insns)
{
	enum machine_stop st = final_state(m);
	if (st != MACHINE_LIMIT)
		return st;
	const uint64_t start = m->cpu->icount;
	for (;;) {
		if (m->stop_flag) {
			m->stop_flag = 0;
			return MACHINE_STOPPED;
		}
		uint64_t chunk = RUN_CHUNK;
		if (max_insns) {
			uint64_t done = m->cpu->icount - start;
			if (done >= max_insns)
				return MACHINE_LIMIT;
			chunk = MIN(chunk, max_insns - done);
		}
		st = classify(m, cpu_run(m->cpu, chunk));
		if (st != MACHINE_LIMIT)
			return st;
	}
}

enum machine_stop machine_step(struct machine *m)
{
	enum machine_stop st = final_state(m);
	if (st != MACHINE_LIMIT)
		return st;
	return classify(m, cpu_step(m->cpu));
}

void machine_request_stop(struct machine *m)
{
	m->stop_flag = 1;
	cpu_request_stop(m->cpu);
}

const char *machine_stop_name(enum machine_stop s)
{
	switch (s) {
	case MACHINE_EXIT:
		return "exit";
	case MACHINE_SHUTDOWN:
		return "shutdown";
	case MACHINE_HALT:
		return "halt";
	case MACHINE_LIMIT:
		return "instruction limit";
	case MACHINE_STOPPED:
		return "stopped";
	case MACHINE_BREAK:
		return "break";
	}
	return "?";
}

/* }====================================================================== */

/* {====== accessors ====== */

bool machine_exit_status(const struct machine *m, int *status)
{
	return dev_debugport_exited(m->dbg, status);
}

int64_t machine_post_code(const struct machine *m)
{
	return dev_debugport_post(m->dbg);
}

const char *machine_shutdown_reason(const struct machine *m)
{
	return m->shutdown_why;
}

void machine_get_regs(struct machine *m, struct machine_regs *r)
{
	struct cpu *c = m->cpu;
	r->eax = c->r[EAX];
	r->ecx = c->r[ECX];
	r->edx = c->r[EDX];
	r->ebx = c->r[EBX];
	r->esp = c->r[ESP];
	r->ebp = c->r[EBP];
	r->esi = c->r[ESI];
	r->edi = c->r[EDI];
	r->eip = c->eip;
	r->eflags = cpu_get_eflags(c);
	r->cs = c->seg[SEG_CS].sel;
	r->ss = c->seg[SEG_SS].sel;
	r->ds = c->seg[SEG_DS].sel;
	r->es = c->seg[SEG_ES].sel;
	r->fs = c->seg[SEG_FS].sel;
	r->gs = c->seg[SEG_GS].sel;
	r->cr0 = c->cr0;
	r->cr2 = c->cr2;
	r->cr3 = c->cr3;
	r->cr4 = c->cr4;
	r->cpl = c->cpl;
	r->icount = c->icount;
	r->cycles = c->cycles;
}

void machine_phys_write(struct machine *m, uint32_t paddr, const void *buf, size_t len)
{
	pmem_store(m->pmem, paddr, buf, len);
	cpu_invalidate_phys(m->cpu, paddr, (uint32_t)len);
}

void machine_phys_read(struct machine *m, uint32_t paddr, void *buf, size_t len)
{
	pmem_load(m->pmem, paddr, buf, len);
}

struct cpu *machine_cpu(struct machine *m)
{
	return m->cpu;
}

struct pmem *machine_pmem(struct machine *m)
{
	return m->pmem;
}

struct ioport_map *machine_io(struct machine *m)
{
	return m->io;
}

struct dev_debugport *machine_debugport(struct machine *m)
{
	return m->dbg;
}

/* }====================================================================== */
