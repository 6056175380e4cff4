/*
 * machine.c - assembles the PC (docs/board.md) and runs it.
 *
 *   CPU --bus--> physmem  RAM (pages on demand), the ROM, MMIO: LAPIC, IOAPIC
 *    |   \-----> ioport   PIC, PIT, UARTs, CMOS, 8042, VGA, IDE, debug ports
 *    |
 *    +-- INTR <-- LAPIC <-- IOAPIC <-- ISA IRQ lines 0-15 --> 8259A pair
 *                   ^-- LINT0 (ExtINT) <-- 8259A INT ----------------'
 *
 * Time: every device runs on one clock (clock.h), the CPU's cycle counter.
 * The run loop fires the due timers between instructions, lets the CPU run
 * up to the next deadline, and when the CPU halts moves the clock straight
 * to the next deadline. Scripted input (machine_add_input) is delivered from
 * a timer or from the console output the guest produces, never from host
 * time, so a run is a function of its configuration and inputs.
 */
#define _GNU_SOURCE /* memmem */
#include "machine_int.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bda.h"
#include "chardev.h"
#include "clock.h"
#include "cmos.h"
#include "pctestdev.h"
#include "device.h"
#include "disk.h"
#include "flat.h"
#include "ide.h"
#include "ioapic.h"
#include "kbd8042.h"
#include "l0.h"
#include "lapic.h"
#include "mptable.h"
#include "multiboot.h"
#include "pic8259.h"
#include "pit8254.h"
#include "rom.h"
#include "sysctl.h"
#include "uart16550.h"
#include "vga.h"

#define RUN_CHUNK (1u << 22) /* instructions per cpu_run between stop checks */
#define LAPIC_BASE 0xfee00000u
#define IOAPIC_BASE 0xfec00000u
#define BSP_APIC_ID 0
/* The IOAPIC's ID: the first after the CPUs' APIC IDs (as SeaBIOS gives
 * it), so 1 on the one-CPU PC; the MP table's and the IOAPIC's own ID
 * register agree. */
#define IOAPIC_ID(m) ((m)->n_cpus)
#define BOOT_GDT_ADDR 0x500u /* a flat GDT for multiboot and flat entry */
#define BOOT_STACK 0x7000u   /* ESP at entry: a harmless low address */

static const uint16_t uart_base[MACHINE_SERIAL_PORTS] = { 0x3f8, 0x2f8 };
static const int uart_irq[MACHINE_SERIAL_PORTS] = { 4, 3 };
static const char *const uart_name[MACHINE_SERIAL_PORTS] = { "com1", "com2" };

G_DEFINE_QUARK(nestlab-error-quark, nestlab_error)

static void add_device(struct machine *m, struct device *d)
{
	g_assert(m->n_dev < MAX_DEVICES);
	m->dev[m->n_dev++] = d;
}

/* {====== interrupts: ISA lines, the 8259A, the APICs and the CPU's INTR ====== */

/* The CPU's INTR line: the LAPIC has something above its priority, or the
 * 8259A asserts INT and LINT0 passes it through (virtual wire mode). */
static bool pic_reaches_cpu(const struct machine *m)
{
	return dev_pic_output(m->pic) && dev_lapic_accepts_pic(m->lapic);
}

/* With several CPUs the 8259A is wired to CPU 0's LINT0 only (the MP
 * table says so: ExtINT to the bootstrap processor), and each CPU's INTR
 * follows its own APIC. */
static void update_intr(struct machine *m)
{
	if (m->n_cpus > 1) {
		for (unsigned i = 0; i < m->n_cpus; i++)
			cpu_set_irq(m->cpus[i].cpu, dev_lapic_pending(m->cpus[i].lapic) ||
			                                    (i == 0 && pic_reaches_cpu(m)));
		return;
	}
	cpu_set_irq(m->cpu, dev_lapic_pending(m->lapic) || pic_reaches_cpu(m));
}

/* The APIC of the CPU whose turn it is (the one running). */
static struct dev_lapic *running_lapic(const struct machine *m)
{
	return m->n_cpus > 1 ? m->cpus[m->turn_cpu].lapic : m->lapic;
}

static void board_irq(void *opaque, int irq, bool level)
{
	struct machine *m = opaque;
	if (irq < 0 || irq >= DEV_ISA_IRQS)
		return;
	dev_pic_set_irq(m->pic, irq, level);
	dev_ioapic_set_irq(m->ioapic, irq == 0 ? 2 : irq, level);
}

static void pic_output_changed(void *opaque, bool level)
{
	update_intr(opaque);
}

/* The APIC hooks' opaque is the CPU's struct smp_cpu. */
static void lapic_changed(void *opaque)
{
	struct smp_cpu *s = opaque;
	update_intr(s->m);
}

static void lapic_nmi(void *opaque)
{
	struct smp_cpu *s = opaque;
	cpu_raise_nmi(s->cpu);
}

static void lapic_eoi(void *opaque, int vector)
{
	struct smp_cpu *s = opaque;
	dev_ioapic_eoi(s->m->ioapic, vector);
}

static void lapic_init(void *opaque)
{
	struct smp_cpu *s = opaque;
	if (s->m->n_cpus > 1)
		smp_init_ipi(s);
	/* else INIT to itself on a one-CPU machine: documented as ignored. */
}

static void lapic_sipi(void *opaque, int vector)
{
	smp_startup_ipi(opaque, vector);
}

static struct dev_lapic *lapic_select(void *opaque)
{
	struct smp_cpu *s = opaque;
	return running_lapic(s->m);
}

/* An IOAPIC message: to each APIC it names (one for a physical ID, those
 * whose LDR matches for a logical one), or for lowest priority to the
 * first of them. */
static void ioapic_deliver(void *opaque, int vector, bool level_triggered, int dest, int mode)
{
	struct machine *m = opaque;
	for (unsigned i = 0; i < m->n_cpus; i++) {
		struct smp_cpu *s = &m->cpus[i];
		if (!dev_lapic_is_dest(s->lapic, dest))
			continue; /* addressed to a CPU this machine does not have */
		switch (mode) {
		case IOAPIC_DM_NMI:
			cpu_raise_nmi(s->cpu);
			break;
		case IOAPIC_DM_EXTINT:
			break; /* the 8259A reaches the CPU through LINT0 instead */
		default:
			dev_lapic_deliver(s->lapic, vector, level_triggered);
			break;
		}
		if (mode == IOAPIC_DM_LOWEST)
			return;
	}
}

/* }====================================================================== */

/* {====== A20 and reset: port 0x92 and the 8042 ====== */

static void set_a20(struct machine *m)
{
	if (m->n_cpus > 1) { /* the gate is the board's: every CPU sees it */
		for (unsigned i = 0; i < m->n_cpus; i++)
			cpu_set_a20(m->cpus[i].cpu, m->a20_kbd || m->a20_sysctl);
		return;
	}
	cpu_set_a20(m->cpu, m->a20_kbd || m->a20_sysctl);
}

static void sysctl_a20(void *opaque, bool enabled)
{
	struct machine *m = opaque;
	m->a20_sysctl = enabled;
	set_a20(m);
}

static void kbd_a20(void *opaque, bool enabled)
{
	struct machine *m = opaque;
	m->a20_kbd = enabled;
	set_a20(m);
}

/* A reset through port 0x92 or the 8042. With a ROM the CPU restarts at
 * its reset vector; a kernel has no firmware to restart into, so the run
 * ends as a shutdown that says so. */
static void board_reset(void *opaque)
{
	struct machine *m = opaque;
	if (m->has_rom && m->n_cpus > 1) {
		smp_reset_all(m);
		return;
	}
	if (m->has_rom) {
		cpu_reset(m->cpu);
		return;
	}
	m->shutdown_why = "the guest reset the machine (no firmware to restart)";
	cpu_request_stop(m->cpu);
}

/* }====================================================================== */

/* {====== the bus the CPU sees ====== */

static uint8_t *bus_page_ptr(void *opaque, uint32_t paddr, bool *writable)
{
	struct machine *m = opaque;
	return pmem_page(m->cpu_pmem, paddr, writable);
}

static uint32_t bus_mem_read(void *opaque, uint32_t paddr, int size)
{
	struct machine *m = opaque;
	return pmem_read(m->cpu_pmem, paddr, size);
}

static void bus_mem_write(void *opaque, uint32_t paddr, uint32_t val, int size)
{
	struct machine *m = opaque;
	pmem_write(m->cpu_pmem, paddr, val, size);
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
	struct machine *m = opaque;
	int v = -1;
	struct dev_lapic *l = running_lapic(m);
	if (dev_lapic_pending(l))
		v = dev_lapic_ack(l);
	else if (l == m->lapic && pic_reaches_cpu(m))
		v = dev_pic_ack(m->pic);
	update_intr(m);
	return v;
}

static void bus_apic_base(void *opaque, uint64_t value)
{
	struct machine *m = opaque;
	dev_lapic_set_base_msr(running_lapic(m), value);
	update_intr(m);
}

static void bus_shutdown(void *opaque, const char *why)
{
	struct machine *m = opaque;
	m->shutdown_why = why ? why : "shutdown";
}

/* }====================================================================== */

/* {====== consoles and scripted input ====== */

/* The guest wrote the exit port: the run ends at this instruction's end. */
static void guest_exited(void *opaque, int status)
{
	struct machine *m = opaque;
	cpu_request_stop(m->cpu);
}

static void check_wait(struct machine *m);

/* Every byte the guest shows the world passes here, in guest order. */
static void console_logged(struct machine *m, const uint8_t *buf, size_t len)
{
	g_byte_array_append(m->console_log, buf, (guint)len);
	check_wait(m);
}

static void debugcon_out(void *opaque, const uint8_t *buf, size_t len)
{
	struct machine *m = opaque;
	if (m->console)
		m->console(m->console_opaque, buf, len);
	else if (!m->console_quiet) {
		fwrite(buf, 1, len, stdout);
		fflush(stdout);
	}
	console_logged(m, buf, len);
}

static void serial_tee(void *opaque, const uint8_t *buf, size_t len)
{
	console_logged(opaque, buf, len);
}

static struct input *current_input(const struct machine *m)
{
	return m->next_input < m->inputs->len ? g_ptr_array_index(m->inputs, m->next_input) : NULL;
}

static void deliver_input(struct machine *m, struct input *in)
{
	size_t n = strlen(in->text);
	switch (in->dev) {
	case MACHINE_INPUT_COM1:
	case MACHINE_INPUT_COM2:
		chardev_push_input(m->serial[in->dev - MACHINE_INPUT_COM1], (const uint8_t *)in->text, n);
		break;
	case MACHINE_INPUT_KBD:
		dev_kbd_type(m->kbd, in->text);
		break;
	}
	in->delivered = true;
	in->delivered_icount = m->cpu->icount;
	in->delivered_cycles = m->cpu->cycles;
	m->next_input++;
	m->match_from = m->console_log->len;
}

/* Delivers inputs whose triggers hold, in order; arms the timer for the
 * first that waits for a time. */
static void advance_inputs(struct machine *m)
{
	struct input *in;
	while ((in = current_input(m))) {
		if (in->at_cycles > clock_now(m->clock)) {
			clock_timer_arm(&m->input_timer, in->at_cycles);
			return;
		}
		if (in->wait_for) {
			const guint8 *log = m->console_log->data;
			size_t len = m->console_log->len, wl = strlen(in->wait_for);
			if (len < m->match_from + wl ||
			    !memmem(log + m->match_from, len - m->match_from, in->wait_for, wl))
				return;
		}
		deliver_input(m, in);
	}
}

static void check_wait(struct machine *m)
{
	const struct input *in = current_input(m);
	if (in && in->wait_for && !clock_timer_armed(&m->input_timer))
		advance_inputs(m);
}

static void input_timer_fired(void *opaque, uint64_t now)
{
	advance_inputs(opaque);
}

void machine_add_input(struct machine *m, enum machine_input_dev dev, uint64_t at_ns,
                       const char *wait_for, const char *text)
{
	struct input *in = g_new0(struct input, 1);
	in->dev = dev;
	in->at_cycles = clock_ns_to_cycles(at_ns);
	in->wait_for = wait_for && *wait_for ? g_strdup(wait_for) : NULL;
	in->text = g_strdup(text);
	g_ptr_array_add(m->inputs, in);
	if (m->inputs->len == m->next_input + 1)
		advance_inputs(m);
}

bool machine_input_delivered(const struct machine *m, unsigned i, uint64_t *icount,
                             uint64_t *ns)
{
	if (i >= m->inputs->len)
		return false;
	const struct input *in = g_ptr_array_index(m->inputs, i);
	if (!in->delivered)
		return false;
	*icount = in->delivered_icount;
	*ns = clock_cycles_to_ns(in->delivered_cycles);
	return true;
}

unsigned machine_inputs_pending(const struct machine *m)
{
	return m->inputs->len - m->next_input;
}

static void free_input(gpointer p)
{
	struct input *in = p;
	g_free(in->wait_for);
	g_free(in->text);
	g_free(in);
}

/* Host keyboard input for a serial port on stdio: the one input not under
 * the machine's control (logged, when a recording asks, by stdin_read). */
static void poll_stdin(struct machine *m)
{
	if (m->stdin_open && !m->stdin_paused)
		m->stdin_open = chardev_poll_stdin(m->serial[m->stdin_port]);
}

/* }====================================================================== */

/* {====== logged host input (recordings) ======
 *
 * A recorder sets a log; stdin is then read only at moments a replay can
 * find again (see nestlab.h): the first pass of the run loop of a
 * machine_run() and the halt that only host input can end. Each input is
 * stamped with the instruction count and the clock. A replay queues the
 * logged inputs; a timer at the next one's clock makes the run stop at
 * that moment (as a device's timer would), and the run loop injects it
 * where the recorder read it: at the top of the loop, before the due
 * timers fire. The timer itself does nothing and saves nothing: it is not
 * guest state, and a recording's checkpoints never hold one. */

struct replay_input {
	struct machine_input_event ev; /* ev.data points into bytes */
	GBytes *bytes;
};

static void log_input(struct machine *m, unsigned port, const uint8_t *buf, size_t len)
{
	if (!m->input_log || len == 0)
		return;
	const struct machine_input_event ev = {
		.icount = m->cpu->icount, .cycles = m->cpu->cycles, .kind = MACHINE_EVENT_SERIAL,
		.unit = port, .data = buf, .len = len,
	};
	m->input_log(m->input_log_opaque, &ev);
}

static void stdin_read(void *opaque, const uint8_t *buf, size_t len)
{
	struct machine *m = opaque;
	log_input(m, (unsigned)m->stdin_port, buf, len);
}

void machine_set_input_log(struct machine *m, machine_input_log_fn fn, void *opaque)
{
	m->input_log = fn;
	m->input_log_opaque = opaque;
}

bool machine_inject_serial(struct machine *m, unsigned port, const uint8_t *buf, size_t len)
{
	if (port >= MACHINE_SERIAL_PORTS)
		return false;
	chardev_push_input(m->serial[port], buf, len);
	log_input(m, port, buf, len);
	return true;
}

static struct replay_input *replay_head(const struct machine *m)
{
	return m->replay && m->replay_next < m->replay->len
	       ? g_ptr_array_index(m->replay, m->replay_next) : NULL;
}

static void arm_replay(struct machine *m)
{
	const struct replay_input *r = replay_head(m);
	if (r)
		clock_timer_arm(&m->replay_timer, r->ev.cycles);
	else
		clock_timer_cancel(&m->replay_timer);
}

/* Only stops the run at the input's moment: the run loop injects it. */
static void replay_timer_fired(void *opaque, uint64_t now)
{
}

/* Injects the queued inputs whose moment has come. */
static void replay_due(struct machine *m)
{
	const struct replay_input *r;
	bool any = false;
	while ((r = replay_head(m)) && r->ev.cycles <= m->cpu->cycles) {
		m->replay_next++;
		machine_inject_serial(m, r->ev.unit, r->ev.data, r->ev.len);
		any = true;
	}
	if (any)
		arm_replay(m);
}

static void free_replay_input(gpointer p)
{
	struct replay_input *r = p;
	g_bytes_unref(r->bytes);
	g_free(r);
}

bool machine_replay_input(struct machine *m, const struct machine_input_event *ev,
                          GError **error)
{
	if (ev->kind != MACHINE_EVENT_SERIAL || ev->unit >= MACHINE_SERIAL_PORTS) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_STATE,
		            "an input of kind %u for unit %u: this build replays only serial input "
		            "(kind %u) to COM1 or COM2", (unsigned)ev->kind, ev->unit,
		            (unsigned)MACHINE_EVENT_SERIAL);
		return false;
	}
	const struct replay_input *last =
		m->replay && m->replay->len ? g_ptr_array_index(m->replay, m->replay->len - 1) : NULL;
	uint64_t icount = last ? last->ev.icount : m->cpu->icount;
	uint64_t cycles = last ? last->ev.cycles : m->cpu->cycles;
	if (ev->icount < icount || ev->cycles < cycles) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_STATE,
		            "an input at instruction %" G_GUINT64_FORMAT " (cycle %" G_GUINT64_FORMAT
		            ") comes before %s at instruction %" G_GUINT64_FORMAT " (cycle %"
		            G_GUINT64_FORMAT "): inputs must come in the order they took effect",
		            ev->icount, ev->cycles, last ? "the input before it" : "the machine's present",
		            icount, cycles);
		return false;
	}
	if (!m->replay)
		m->replay = g_ptr_array_new_with_free_func(free_replay_input);
	struct replay_input *r = g_new0(struct replay_input, 1);
	r->bytes = g_bytes_new(ev->data, ev->len);
	r->ev = *ev;
	r->ev.data = g_bytes_get_data(r->bytes, NULL);
	g_ptr_array_add(m->replay, r);
	if (replay_head(m) == r)
		arm_replay(m);
	return true;
}

void machine_replay_now(struct machine *m)
{
	if (m->replay)
		replay_due(m);
}

void machine_replay_clear(struct machine *m)
{
	if (m->replay)
		g_ptr_array_set_size(m->replay, 0);
	m->replay_next = 0;
	clock_timer_cancel(&m->replay_timer);
}

void machine_pause_stdin(struct machine *m, bool paused)
{
	m->stdin_paused = paused;
}

unsigned machine_replay_pending(const struct machine *m)
{
	return m->replay ? m->replay->len - m->replay_next : 0;
}

/* }====================================================================== */

/* {====== building ====== */

void machine_cpu_help(FILE *out)
{
	cpu_model_help(out);
}

bool machine_cpu_check(const char *spec, GError **error)
{
	int model;
	uint32_t edx;
	char why[512];
	if (!cpu_model_parse(spec, &model, &edx, why, sizeof why)) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG, "%s", why);
		return false;
	}
	return true;
}

static bool check_config(const struct machine_config *cfg, GError **error)
{
	if (cfg->cpu && !machine_cpu_check(cfg->cpu, error))
		return false;
	if (cfg->mem_mib > MACHINE_MEM_MAX_MIB) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "%u MiB of RAM is more than the board can map (at most %u MiB)",
		            cfg->mem_mib, MACHINE_MEM_MAX_MIB);
		return false;
	}
	int boots = !!(cfg->rom || cfg->rom_path) + !!cfg->kernel_path + !!cfg->flat_path;
	if (boots > 1) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "give one thing to boot: a ROM, a kernel or a flat binary");
		return false;
	}
	if (cfg->monitor != MACHINE_MONITOR_NONE && (cfg->rom || cfg->rom_path) && cfg->n_vms) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "a ROM guest runs alone under the monitor (its real-mode start runs on the "
		            "machine itself): no --vm beside it");
		return false;
	}
	if (cfg->n_cpus > MACHINE_MAX_CPUS) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "%u CPUs is more than the board has APIC IDs for: give 1 to %d",
		            cfg->n_cpus, MACHINE_MAX_CPUS);
		return false;
	}
	if (cfg->smp_quantum > MACHINE_SMP_QUANTUM_MAX) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "a CPU turn of %u instructions is too long: give 1 to %u",
		            cfg->smp_quantum, MACHINE_SMP_QUANTUM_MAX);
		return false;
	}
	if (cfg->n_cpus > 1 && (cfg->monitor != MACHINE_MONITOR_NONE || cfg->assist)) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "several CPUs run bare only, for now: a monitor's VMs and the assist have "
		            "one CPU (leave out --smp or --monitor/--assist)");
		return false;
	}
	if (cfg->n_vms && cfg->monitor == MACHINE_MONITOR_NONE) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "more VMs (--vm) need a monitor: use --monitor=shadow or nested");
		return false;
	}
	if (cfg->n_vms > MACHINE_MAX_VMS) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG, "at most %d more VMs",
		            MACHINE_MAX_VMS);
		return false;
	}
	uint64_t total = cfg->mem_mib ? cfg->mem_mib : MACHINE_MEM_DEFAULT_MIB;
	if (cfg->monitor != MACHINE_MONITOR_NONE)
		total += MONITOR_MIB;
	for (int i = 0; i < cfg->n_vms; i++) {
		const struct machine_vm_config *v = &cfg->vms[i];
		total += (v->mem_mib ? v->mem_mib : MACHINE_MEM_DEFAULT_MIB) + MONITOR_MIB;
		if (!v->name || !*v->name || !v->kernel_path) {
			g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
			            "VM %d needs a name and a kernel", i + 1);
			return false;
		}
		for (int j = 0; j < i; j++)
			if (strcmp(cfg->vms[j].name, v->name) == 0 || strcmp(v->name, "vm0") == 0) {
				g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
				            "two VMs are called '%s'; give each its own name", v->name);
				return false;
			}
	}
	if (total > MACHINE_MEM_MAX_MIB) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "under the monitor (the default for kernels) each VM's RAM comes with %u MiB "
		            "for its monitor: %" G_GUINT64_FORMAT " MiB in all, more than the machine's "
		            "%u MiB; give less --mem, or run bare with --monitor=none",
		            MONITOR_MIB, total, MACHINE_MEM_MAX_MIB);
		return false;
	}
	if (cfg->n_disks > MACHINE_MAX_DISKS || cfg->n_modules > MACHINE_MAX_MODULES) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "at most %d disks and %d modules", MACHINE_MAX_DISKS, MACHINE_MAX_MODULES);
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

static struct chardev *open_serial(const struct machine_serial *s, bool *uses_stdin,
                                   GError **error)
{
	switch (s->kind) {
	case MACHINE_SERIAL_STDIO:
		if (*uses_stdin) {
			g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
			            "only one serial port can read stdin ('stdio'); use 'stdout' for the other");
			return NULL;
		}
		*uses_stdin = true;
		return chardev_new_stdio();
	case MACHINE_SERIAL_STDOUT:
		return chardev_new_stdio();
	case MACHINE_SERIAL_FILE:
		return chardev_new_file(s->path, error);
	case MACHINE_SERIAL_NONE:
		return chardev_new_null();
	case MACHINE_SERIAL_BUFFER:
	default:
		return chardev_new_buffer();
	}
}

static bool build_serial(struct machine *m, const struct machine_config *cfg, GError **error)
{
	bool uses_stdin = false;
	for (int i = 0; i < MACHINE_SERIAL_PORTS; i++) {
		bool before = uses_stdin;
		m->serial[i] = open_serial(&cfg->serial[i], &uses_stdin, error);
		if (!m->serial[i])
			return false;
		if (uses_stdin && !before) {
			m->stdin_port = i;
			chardev_set_stdin_log(m->serial[i], stdin_read, m);
		}
		chardev_set_tee(m->serial[i], serial_tee, m);
		m->uart[i] = dev_uart_new(&m->board, uart_base[i], uart_irq[i], uart_name[i],
		                          m->serial[i], error);
		if (!m->uart[i])
			return false;
		dev_uart_set_out2_gate(m->uart[i], cfg->uart_out2_gate);
		add_device(m, &m->uart[i]->dev);
	}
	m->stdin_open = uses_stdin;
	return true;
}

static bool build_disks(struct machine *m, const struct machine_config *cfg, GError **error)
{
	struct disk *master = NULL, *slave = NULL;
	for (int i = 0; i < cfg->n_disks; i++) {
		const struct machine_disk *d = &cfg->disks[i];
		if (d->slave ? slave != NULL : master != NULL) {
			g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
			            "two disks are the IDE %s (%s); add ',slave' to one of them",
			            d->slave ? "slave" : "master", d->path);
			return false;
		}
		struct disk *k = disk_open(d->path, d->writeback, error);
		if (!k)
			return false;
		m->disk[m->n_disks++] = k;
		if (d->slave)
			slave = k;
		else
			master = k;
	}
	m->ide = dev_ide_new(&m->board, master, slave, error);
	if (!m->ide)
		return false;
	add_device(m, &m->ide->dev);
	return true;
}

static bool build_devices(struct machine *m, const struct machine_config *cfg, GError **error)
{
	m->pic = dev_pic_new(&m->board, pic_output_changed, m, error);
	if (!m->pic)
		return false;
	add_device(m, &m->pic->dev);
	m->pit = dev_pit_new(&m->board, error);
	if (!m->pit)
		return false;
	add_device(m, &m->pit->dev);
	struct dev_lapic_hooks hooks = {
		.opaque = &m->cpus[0], .changed = lapic_changed, .nmi = lapic_nmi, .eoi = lapic_eoi,
		.init = lapic_init,
	};
	if (m->n_cpus > 1) {
		hooks.sipi = lapic_sipi;
		hooks.select = lapic_select;
	}
	m->lapic = dev_lapic_new(&m->board, BSP_APIC_ID, &hooks, error);
	if (!m->lapic)
		return false;
	m->cpus[0].lapic = m->lapic;
	add_device(m, &m->lapic->dev);
	for (unsigned i = 1; i < m->n_cpus; i++) {
		hooks.opaque = &m->cpus[i];
		hooks.select = NULL;
		m->cpus[i].lapic = dev_lapic_new_ap(&m->board, (uint8_t)i, &hooks);
		add_device(m, &m->cpus[i].lapic->dev);
	}
	if (m->n_cpus > 1)
		for (unsigned i = 0; i < m->n_cpus; i++) {
			m->lapics[i] = m->cpus[i].lapic;
			dev_lapic_set_peers(m->cpus[i].lapic, m->lapics, (int)m->n_cpus);
		}
	m->ioapic = dev_ioapic_new(&m->board, IOAPIC_ID(m), ioapic_deliver, m, error);
	if (!m->ioapic)
		return false;
	add_device(m, &m->ioapic->dev);
	if (!build_serial(m, cfg, error))
		return false;
	int64_t epoch = cfg->rtc_epoch ? cfg->rtc_epoch : MACHINE_RTC_EPOCH_DEFAULT;
	m->cmos = dev_cmos_new(&m->board, epoch, pmem_ram_size(m->pmem), error);
	if (!m->cmos)
		return false;
	add_device(m, &m->cmos->dev);
	m->kbd = dev_kbd_new(&m->board, kbd_a20, board_reset, m, error);
	if (!m->kbd)
		return false;
	add_device(m, &m->kbd->dev);
	m->vga = dev_vga_new(&m->board, error);
	if (!m->vga)
		return false;
	add_device(m, &m->vga->dev);
	if (cfg->pc_testdev) {
		struct dev_pctestdev *t = dev_pctestdev_new(&m->board, error);
		if (!t)
			return false;
		add_device(m, (struct device *)t);
	}
	return build_disks(m, cfg, error);
}

/* {====== boot paths ====== */

static const uint64_t boot_gdt[3] = {
	0,
	0x00cf9b000000ffffull, /* 0x08: flat 32-bit code, DPL 0 */
	0x00cf93000000ffffull, /* 0x10: flat data, DPL 0 */
};

static void load_flat_seg(struct cpu *c, int sreg, uint16_t sel, uint16_t attr)
{
	c->seg[sreg] = (struct seg){ .sel = sel, .attr = attr, .base = 0, .limit = 0xffffffffu };
}

/* The CPU state the multiboot specification gives at a kernel's entry:
 * protected mode, paging off, flat 4 GiB segments, IF clear, A20 open. */
static void enter_protected(struct machine *m, const struct boot_entry *e)
{
	struct cpu *c = m->cpu;
	pmem_store(m->pmem, BOOT_GDT_ADDR, boot_gdt, sizeof boot_gdt);
	c->gdtr = (struct dtr){ BOOT_GDT_ADDR, sizeof boot_gdt - 1 };
	c->idtr = (struct dtr){ 0, 0x3ff };
	c->cr0 = CR0_PE | CR0_ET;
	load_flat_seg(c, SEG_CS, 0x08, 0xcf9b);
	for (int s = 0; s < 6; s++)
		if (s != SEG_CS)
			load_flat_seg(c, s, 0x10, 0xcf93);
	c->cpl = 0;
	c->eip = e->eip;
	memset(c->r, 0, sizeof c->r);
	c->r[EAX] = e->eax;
	c->r[EBX] = e->ebx;
	c->r[ESP] = BOOT_STACK;
	cpu_set_eflags(c, EFLAGS_1);
	cpu_state_changed(c);
}

static bool write_firmware_tables(struct machine *m, GError **error)
{
	const struct bda_config bc = { .com = { uart_base[0], uart_base[1] } };
	bda_write(m->pmem, pmem_ram_size(m->pmem), &bc);
	uint32_t id[4];
	cpu_cpuid(m->cpu, 1, id);
	const struct mptable_config mc = {
		.lapic_addr = LAPIC_BASE, .cpu_apic_id = BSP_APIC_ID, .cpu_apic_version = 0x14,
		.cpu_signature = id[0], .cpu_features = id[3], /* CPUID.1:EAX, EDX */
		.ioapic_id = (uint8_t)IOAPIC_ID(m), .ioapic_version = 0x11, .ioapic_addr = IOAPIC_BASE,
		.n_cpus = m->n_cpus,
	};
	return mptable_write(m->pmem, &mc, error);
}

static GBytes *read_file(const char *path, const char *what, GError **error)
{
	gchar *data;
	gsize len;
	GError *local = NULL;
	if (!g_file_get_contents(path, &data, &len, &local)) {
		g_propagate_prefixed_error(error, local, "cannot read the %s: ", what);
		return NULL;
	}
	return g_bytes_new_take(data, len);
}

static bool boot_kernel(struct machine *m, const struct machine_config *cfg, GError **error)
{
	GBytes *kernel = read_file(cfg->kernel_path, "kernel", error);
	if (!kernel)
		return false;
	struct boot_module mods[MACHINE_MAX_MODULES];
	int n = 0;
	bool ok = true;
	for (; n < cfg->n_modules; n++) {
		mods[n].path_for_messages = cfg->modules[n].path;
		mods[n].args = cfg->modules[n].args;
		mods[n].data = read_file(cfg->modules[n].path, "module", error);
		if (!mods[n].data) {
			ok = false;
			break;
		}
	}
	struct boot_entry e;
	if (ok)
		ok = boot_multiboot_load(m->pmem, kernel, cfg->kernel_path, mods, n, cfg->cmdline, &e,
		                         error);
	for (int i = 0; i < n; i++)
		g_bytes_unref(mods[i].data);
	g_bytes_unref(kernel);
	if (!ok || !write_firmware_tables(m, error))
		return false;
	enter_protected(m, &e);
	return true;
}

static bool boot_flat(struct machine *m, const struct machine_config *cfg, GError **error)
{
	GBytes *image = read_file(cfg->flat_path, "flat binary", error);
	if (!image)
		return false;
	struct boot_entry e = { 0 };
	bool ok = boot_flat_load(m->pmem, image, cfg->flat_addr, &e, error);
	g_bytes_unref(image);
	if (!ok || !write_firmware_tables(m, error))
		return false;
	enter_protected(m, &e);
	return true;
}

/* The L0 monitor's configuration for machine `m`, reserving its pages. */
static struct l0_config monitor_config(struct machine *m, const struct machine_config *cfg)
{
	m->mon_base = pmem_reserve(m->cpu_pmem, MONITOR_MIB * MIB);
	return (struct l0_config){
		.paging = cfg->monitor == MACHINE_MONITOR_NESTED ? VMM_NESTED : VMM_SHADOW,
		.faithful = cfg->faithful_i386,
		.ram_base = m->share_base, .ram_size = pmem_ram_size(m->pmem),
		.mon_base = m->mon_base, .mon_pages = MONITOR_MIB * MIB / PMEM_PAGE_SIZE,
		.io = m->io, .devmem = m->pmem, .hostmem = m->cpu_pmem,
		.from_real_mode = m->has_rom,
		.assist = cfg->assist,
		.rom_base = m->has_rom ? (uint32_t)(0x100000000ull - m->rom_size) : 0,
		.rom_size = m->has_rom ? m->rom_size : 0,
	};
}

/* Puts the guest the loader prepared under the L0 monitor. */
static bool start_monitor(struct machine *m, const struct machine_config *cfg, GError **error)
{
	const struct l0_config lc = monitor_config(m, cfg);
	const char *why = NULL;
	m->l0 = l0_start(m->cpu, &lc, &why);
	if (!m->l0) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG, "the monitor cannot start: %s",
		            why ? why : "unknown reason");
		return false;
	}
	return true;
}

/* }====================================================================== */

/* The CPU's bus for machine `m`: its devices, and the root's memory (a VM's
 * shadow tables point at host-physical pages). */
static struct bus machine_bus(struct machine *m)
{
	return (struct bus){
		.opaque = m,
		.page_ptr = bus_page_ptr,
		.mem_read = bus_mem_read,
		.mem_write = bus_mem_write,
		.io_read = bus_io_read,
		.io_write = bus_io_write,
		.intr_ack = bus_intr_ack,
		.shutdown = bus_shutdown,
		.apic_base_written = bus_apic_base,
		.dirty = pmem_dirty_map(m->cpu_pmem),
	};
}

/* Everything but the CPU and memory, which the caller has set: the board,
 * the devices, the loaded guest, its monitor. */
static bool build(struct machine *m, const struct machine_config *cfg, GError **error)
{
	m->console_log = g_byte_array_new();
	m->inputs = g_ptr_array_new_with_free_func(free_input);
	m->io = ioport_new();
	m->console = cfg->console;
	m->console_opaque = cfg->console_opaque;
	m->console_quiet = cfg->console_quiet;
	m->uart_out2_gate = cfg->uart_out2_gate;
	m->clock = clock_new(&m->cpu->cycles, &m->cpu->cycle_limit);
	clock_timer_init(&m->input_timer, m->clock, "input", input_timer_fired, m);
	clock_timer_init(&m->replay_timer, m->clock, "replay", replay_timer_fired, m);
	clock_timer_init(&m->slice_timer, m->clock, "slice", vm_slice_fired, m);
	m->board = (struct dev_board){
		.io = m->io, .pmem = m->pmem, .clock = m->clock, .irq = board_irq, .opaque = m,
	};
	uint16_t post = cfg->post_port ? cfg->post_port : MACHINE_POST_PORT_DEFAULT;
	m->dbg = dev_debugport_new(m->io, post, error);
	if (!m->dbg)
		return false;
	dev_debugport_set_sink(m->dbg, debugcon_out, m);
	dev_debugport_set_exit_handler(m->dbg, guest_exited, m);
	m->a20_sysctl = true;
	m->sysctl = dev_sysctl_new(m->io, sysctl_a20, board_reset, m);
	if (!m->sysctl) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "port 0x%x (A20 and fast reset) is already taken; choose another POST port",
		            SYSCTL_PORT);
		return false;
	}
	if (!build_devices(m, cfg, error))
		return false;
	if (cfg->kernel_path && !boot_kernel(m, cfg, error))
		return false;
	if (cfg->flat_path && !boot_flat(m, cfg, error))
		return false;
	if (cfg->monitor != MACHINE_MONITOR_NONE && m->has_rom) {
		/* A ROM starts in real mode, which runs on the machine itself (it
		 * reaches only the first MiB, inside its share); the monitor takes
		 * the guest over when it sets CR0.PE (machine_run_one). */
		m->deferred_monitor = *cfg;
		m->cpu->guest.stop_on_pe = true;
		return true;
	}
	if (cfg->monitor != MACHINE_MONITOR_NONE && !start_monitor(m, cfg, error))
		return false;
	return true;
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
	m->name = g_strdup(cfg->monitor != MACHINE_MONITOR_NONE ? "vm0" : "machine");
	uint32_t mib = cfg->mem_mib ? cfg->mem_mib : MACHINE_MEM_DEFAULT_MIB;
	m->pmem = m->cpu_pmem = pmem_new(mib * MIB);
	m->share_size = mib * MIB;
	/* Under a monitor the machine's memory is the host's, and the guest's
	 * guest-physical space a window on its share: what lies above its RAM
	 * (its monitor's pages, other VMs' shares) is not its to reach. */
	if (cfg->monitor != MACHINE_MONITOR_NONE)
		m->pmem = pmem_new_window(m->cpu_pmem, 0, m->share_size);
	if (rom) {
		pmem_map_rom(m->cpu_pmem, rom);
		m->rom_size = (uint32_t)g_bytes_get_size(rom);
		g_bytes_unref(rom);
		m->has_rom = true;
	}
	m->bus = machine_bus(m);
	m->cpu = cpu_new(&m->bus);
	m->cpu->has_apic = true;
	vm_tree_attach(m);
	if (cfg->cpu) { /* checked by check_config */
		int model;
		uint32_t edx;
		char why[512];
		if (cpu_model_parse(cfg->cpu, &model, &edx, why, sizeof why))
			cpu_set_model(m->cpu, model, edx);
	}
	m->cpu->assist = cfg->assist && cfg->monitor == MACHINE_MONITOR_NONE; /* else virtualized */
	m->current = m;
	smp_new_cpus(m, cfg);
	if (!build(m, cfg, error))
		goto fail;
	for (int i = 0; i < cfg->n_vms; i++) {
		struct machine *vm = machine_build_vm(m, &cfg->vms[i], error);
		if (!vm)
			goto fail;
		if (!m->vms)
			m->vms = g_ptr_array_new();
		g_ptr_array_add(m->vms, vm);
	}
	return m;
fail:
	machine_free(m);
	return NULL;
}

/* One more VM beside the root's own guest, with a share of the root's RAM
 * above everything there is and devices of its own. The CPU is the root's:
 * its state is saved around the building and the VM's own kept in vm->ctx. */
struct machine *machine_build_vm(struct machine *root, const struct machine_vm_config *vc,
                                 GError **error)
{
	struct machine *m = g_new0(struct machine, 1);
	uint32_t mib = vc->mem_mib ? vc->mem_mib : MACHINE_MEM_DEFAULT_MIB;
	m->name = g_strdup(vc->name);
	m->root = root;
	m->cpu = root->cpu;
	m->cpu_pmem = root->cpu_pmem;
	m->share_size = mib * MIB;
	m->share_base = pmem_reserve(root->cpu_pmem, m->share_size);
	m->pmem = pmem_new_window(root->cpu_pmem, m->share_base, m->share_size);
	m->bus = machine_bus(m);
	m->ctx = g_malloc0(cpu_save_size());
	vm_switch_to(root, NULL); /* park whoever ran; the CPU is free for the new VM */
	struct cpu *c = m->cpu;
	c->bus = m->bus;
	cpu_reset(c);
	c->icount = c->cycles = c->mem_cycles = 0;
	c->tsc = 0;
	c->guest = (struct cpu_guest){ 0 };
	const struct machine_config cfg = {
		.mem_mib = mib, .kernel_path = vc->kernel_path, .cmdline = vc->cmdline,
		.disks = vc->disks, .n_disks = vc->n_disks,
		.serial = { vc->com1, { .kind = MACHINE_SERIAL_NONE } },
		.console_quiet = true,
		.monitor = root->l0 && l0_vmm(root->l0)->paging == VMM_NESTED ? MACHINE_MONITOR_NESTED
		                                                              : MACHINE_MONITOR_SHADOW,
		.faithful_i386 = root->l0 && l0_vmm(root->l0)->faithful,
		.uart_out2_gate = root->uart_out2_gate,
	};
	smp_new_cpus(m, &cfg);
	bool ok = build(m, &cfg, error);
	cpu_save(c, m->ctx);
	m->ctx_guest = c->guest;
	root->current = m;
	vm_switch_to(root, root);
	if (!ok) {
		g_prefix_error(error, "VM '%s': ", vc->name);
		machine_free_parts(m);
		return NULL;
	}
	return m;
}

void machine_free(struct machine *m)
{
	if (!m)
		return;
	for (guint i = 0; m->vms && i < m->vms->len; i++)
		machine_free_parts(g_ptr_array_index(m->vms, i));
	if (m->vms)
		g_ptr_array_free(m->vms, TRUE);
	vm_tree_free(m);
	machine_free_parts(m);
}

void machine_free_parts(struct machine *m)
{
	if (!m)
		return;
	for (int i = m->n_dev - 1; i >= 0; i--)
		m->dev[i]->ops->free(m->dev[i]);
	for (int i = 0; i < m->n_disks; i++)
		disk_close(m->disk[i]);
	for (int i = 0; i < MACHINE_SERIAL_PORTS; i++)
		if (m->serial[i]) {
			chardev_flush(m->serial[i]);
			chardev_free(m->serial[i]);
		}
	if (m->dbg)
		dev_debugport_flush(m->dbg);
	if (m->clock) {
		clock_timer_cancel(&m->input_timer);
		clock_timer_cancel(&m->slice_timer);
		clock_timer_cancel(&m->replay_timer);
	}
	clock_free(m->clock);
	l0_free(m->l0);
	if (!m->root)
		smp_free_cpus(m);
	dev_sysctl_free(m->sysctl);
	dev_debugport_free(m->dbg);
	ioport_free(m->io);
	pmem_free(m->pmem);
	if (!m->root && m->cpu_pmem != m->pmem)
		pmem_free(m->cpu_pmem);
	if (m->inputs)
		g_ptr_array_free(m->inputs, TRUE);
	if (m->replay)
		g_ptr_array_free(m->replay, TRUE);
	if (m->console_log)
		g_byte_array_free(m->console_log, TRUE);
	g_free(m->ctx);
	g_free(m->name);
	g_free(m);
}

/* }====================================================================== */

/* {====== running ====== */

/* The monitor gave up on the guest: the run ends as a shutdown that says why. */
static void check_monitor(struct machine *m)
{
	if (m->l0 && !m->shutdown_why && l0_stopped(m->l0)) {
		g_snprintf(m->monitor_stop, sizeof m->monitor_stop, "the monitor stopped the guest: %s",
		           l0_stopped(m->l0));
		m->shutdown_why = m->monitor_stop;
	}
}

/* What a stop of the CPU means for the machine; MACHINE_LIMIT: go on. */
static enum machine_stop classify(struct machine *m, enum cpu_stop s)
{
	check_monitor(m);
	if (dev_debugport_exited(m->dbg, NULL))
		return MACHINE_EXIT;
	if (m->shutdown_why)
		return MACHINE_SHUTDOWN;
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
	check_monitor(m);
	if (dev_debugport_exited(m->dbg, NULL))
		return MACHINE_EXIT;
	if (m->shutdown_why)
		return MACHINE_SHUTDOWN;
	return MACHINE_LIMIT;
}

/*
 * The CPU halted. If something can still wake it - a timer, host input -
 * time moves to the next deadline and the run goes on (MACHINE_LIMIT);
 * otherwise the halt is final. With IF clear only an NMI could wake it, and
 * nothing on this board sends one by itself.
 */
static enum machine_stop idle(struct machine *m)
{
	/* The guest waits: whatever it printed last (a prompt without a
	 * newline) must reach the terminal now. */
	for (int i = 0; i < MACHINE_SERIAL_PORTS; i++)
		chardev_flush(m->serial[i]);
	bool can_wake = m->n_cpus > 1 ? smp_can_wake(m)
	                              : (cpu_get_eflags(m->cpu) & EFLAGS_IF) || m->cpu->nmi_pending;
	/* A VM's turn ending is no event its guest waits for. */
	bool turn = clock_timer_armed(&m->slice_timer);
	clock_timer_cancel(&m->slice_timer);
	uint64_t next = clock_next(m->clock);
	if (turn)
		clock_timer_arm(&m->slice_timer, m->slice_end);
	if (can_wake && next != CLOCK_NEVER) {
		clock_advance_to(m->clock, &m->cpu->cycles, turn ? MIN(next, m->slice_end) : next);
		return MACHINE_LIMIT;
	}
	if (can_wake && m->stdin_open && !m->stdin_paused) {
		/* Interactive: wait for the user (the one place host time enters,
		 * and only as the moment an input arrives). */
		struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
		while (!m->stop_flag && poll(&p, 1, 100) == 0)
			;
		poll_stdin(m);
		return MACHINE_LIMIT;
	}
	return MACHINE_HALT;
}

/* Runs the CPU for at most `budget` instructions or to the next timer. */
static enum machine_stop run_slice(struct machine *m, uint64_t budget)
{
	clock_run_due(m->clock);
	enum cpu_stop s = budget == 1 ? cpu_step(m->cpu) : cpu_run(m->cpu, budget);
	enum machine_stop st = classify(m, s);
	if (st == MACHINE_HALT)
		st = idle(m);
	return st;
}

/* Host input comes before the due timers fire: a replay's at its moment;
 * stdin's between slices, or with a log only on the first pass, where
 * machine_run() began. */
static void take_host_input(struct machine *m)
{
	if (m->replay)
		replay_due(m);
	if (m->stdin_open && (!m->input_log || m->run_entry))
		poll_stdin(m);
	m->run_entry = false;
}

/*
 * Several CPUs (smp.c has the model): the CPU whose turn it is runs until
 * its quantum's instructions retired, it halts or waits for a start-up
 * IPI, or the run stops; then the next CPU in index order has its turn.
 * When every CPU in a row of turns was halted (or waiting) and retired
 * nothing, the machine is idle: time moves to the next timer as for one
 * halted CPU (idle()), or the halt is final. `max_insns` counts the
 * machine's instructions (all CPUs'); a run cut anywhere goes on as one
 * run, since the turn and what is left of it are machine state.
 */
static enum machine_stop run_smp(struct machine *m, uint64_t max_insns)
{
	enum machine_stop st = final_state(m);
	if (st != MACHINE_LIMIT)
		return st;
	smp_resume(m);
	const uint64_t start = smp_icount(m);
	for (;;) {
		if (m->stop_flag) {
			m->stop_flag = 0;
			return MACHINE_STOPPED;
		}
		uint64_t done = smp_icount(m) - start;
		if (max_insns && done >= max_insns)
			return MACHINE_LIMIT;
		take_host_input(m);
		struct smp_cpu *s = smp_turn(m);
		if (s->wait_sipi) {
			st = smp_end_turn(m, true);
		} else {
			uint64_t budget = MIN(m->turn_left, (uint64_t)RUN_CHUNK);
			if (max_insns)
				budget = MIN(budget, max_insns - done);
			uint64_t before = s->cpu->icount;
			clock_run_due(m->clock);
			enum cpu_stop cs = budget == 1 ? cpu_step(s->cpu) : cpu_run(s->cpu, budget);
			st = classify(m, cs);
			uint64_t ran = s->cpu->icount - before;
			m->turn_left -= MIN(ran, m->turn_left);
			if (st == MACHINE_HALT)
				st = smp_end_turn(m, ran == 0);
			else if (st == MACHINE_LIMIT && (m->turn_left == 0 || s->init_pending))
				st = smp_end_turn(m, false);
			else if (ran)
				m->idle_turns = 0;
		}
		if (st == MACHINE_HALT) /* every CPU halted: as one halted CPU */
			st = idle(m);
		if (st != MACHINE_LIMIT)
			return st;
	}
}

enum machine_stop machine_run(struct machine *m, uint64_t max_insns)
{
	m->run_entry = true;
	if (m->vms)
		return vm_run_all(m, max_insns);
	if (m->n_cpus > 1)
		return run_smp(m, max_insns);
	return machine_run_one(m, max_insns);
}

void machine_attach_monitor(struct machine *m)
{
	const struct l0_config lc = monitor_config(m, &m->deferred_monitor);
	m->cpu->guest.stop_on_pe = false;
	m->l0 = l0_attach(m->cpu, &lc);
}

/* The ROM guest has entered protected mode: the monitor takes it over from
 * here, or the run ends with the reason it cannot. */
static void enter_monitor(struct machine *m)
{
	m->cpu->guest.stop_on_pe = false;
	GError *error = NULL;
	if (!start_monitor(m, &m->deferred_monitor, &error)) {
		g_snprintf(m->monitor_stop, sizeof m->monitor_stop, "%s", error->message);
		m->shutdown_why = m->monitor_stop;
		g_error_free(error);
		cpu_request_stop(m->cpu);
	}
}

/* Runs machine `m` (the root, or a VM whose state the CPU holds) until it
 * stops, `max_insns` of its instructions retire, or its turn (slice) ends. */
enum machine_stop machine_run_one(struct machine *m, uint64_t max_insns)
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
		if (m->slice_over) {
			m->slice_over = false;
			return MACHINE_LIMIT;
		}
		if (m->cpu->guest.stop_on_pe && (m->cpu->cr0 & CR0_PE))
			enter_monitor(m);
		uint64_t chunk = RUN_CHUNK;
		if (max_insns) {
			uint64_t done = m->cpu->icount - start;
			if (done >= max_insns)
				return MACHINE_LIMIT;
			chunk = MIN(chunk, max_insns - done);
		}
		take_host_input(m);
		st = run_slice(m, chunk);
		if (st != MACHINE_LIMIT)
			return st;
	}
}

enum machine_stop machine_step(struct machine *m)
{
	enum machine_stop st = final_state(m);
	if (st != MACHINE_LIMIT)
		return st;
	if (m->n_cpus > 1) { /* the next instruction of the machine, whichever CPU's */
		smp_resume(m);
		cpu_point_step_over(m->cpu);
		m->run_entry = true;
		return run_smp(m, 1);
	}
	/* A halted CPU waiting for a timer: move time on until it retires an
	 * instruction or takes an interrupt, so that one step is one event. */
	const uint64_t ic = m->cpu->icount;
	cpu_point_step_over(m->cpu); /* a debugger's step runs a breakpoint's instruction */
	if (m->stdin_open && m->input_log)
		poll_stdin(m);
	for (int i = 0; i < 1024; i++) {
		if (m->replay)
			replay_due(m);
		st = run_slice(m, 1);
		if (st != MACHINE_LIMIT || m->cpu->icount != ic || !m->cpu->halted)
			return st;
	}
	return st;
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
	if (m->n_cpus > 1) { /* the machine's count and clock, whichever CPU is shown */
		r->icount = smp_icount(m);
		r->cycles = m->cpus[m->turn_cpu].cpu->cycles;
	}
}

void machine_get_guest_regs(struct machine *m, struct machine_regs *r)
{
	machine_get_regs(m, r);
	if (!m->l0)
		return;
	struct l0_guest_regs g;
	l0_guest_regs(m->l0, &g);
	r->eflags = g.eflags;
	r->cs = g.sel[SEG_CS];
	r->ss = g.sel[SEG_SS];
	r->cr0 = g.cr0;
	r->cr2 = g.cr2;
	r->cr3 = g.cr3;
	r->cr4 = g.cr4;
	r->cpl = g.cpl;
}

void machine_print_monitor_stats(struct machine *m, FILE *out)
{
	if (!m->l0)
		return;
	const struct vmm *vm = l0_vmm(m->l0);
	const struct vmm_stats *st = &vm->stats;
	uint64_t total = 0, cycles = 0;
	fprintf(out, "monitor: %s paging%s\n", vm->paging == VMM_NESTED ? "nested" : "shadow",
	        vm->faithful ? ", faithful i386 (strict mode off)" : "");
	fprintf(out, "  %-26s %12s %14s\n", "exit reason", "count", "model cycles");
	for (int e = 0; e < VMM_EXIT_COUNT; e++) {
		if (!st->exits[e])
			continue;
		fprintf(out, "  %-26s %12" G_GUINT64_FORMAT " %14" G_GUINT64_FORMAT "\n",
		        vmm_exit_name(e), st->exits[e], st->exit_cycles[e]);
		total += st->exits[e];
		cycles += st->exit_cycles[e];
	}
	fprintf(out, "  %-26s %12" G_GUINT64_FORMAT " %14" G_GUINT64_FORMAT "\n", "total", total, cycles);
	fprintf(out, "  privileged instructions by kind:\n");
	for (int k = 0; k < 16; k++)
		if (st->priv[k])
			fprintf(out, "    %-24s %12" G_GUINT64_FORMAT "\n", vmm_priv_names[k], st->priv[k]);
	const struct cpu *c = m->cpu;
	fprintf(out, "  guest cycles %" G_GUINT64_FORMAT ", monitor cycles %" G_GUINT64_FORMAT
	        " (%.1f%%)\n", c->cycles, l0_overhead_cycles(m->l0),
	        c->cycles ? 100.0 * (double)l0_overhead_cycles(m->l0) / (double)c->cycles : 0.0);
	fprintf(out, "  page-walk references %" G_GUINT64_FORMAT " (nested map %" G_GUINT64_FORMAT ")\n",
	        c->guest.walk_refs, c->guest.nested_refs);
	fprintf(out, "  memory-system cycles %" G_GUINT64_FORMAT " (page walks, slow paths; not "
	        "guest time)\n", c->mem_cycles);
	if (vm->paging == VMM_SHADOW)
		fprintf(out, "  shadow: fills %" G_GUINT64_FORMAT ", entries dropped %" G_GUINT64_FORMAT
		        ", roots evicted %" G_GUINT64_FORMAT ", tables unprotected %" G_GUINT64_FORMAT
		        ", monitor pages in use %u\n", st->spt_fills, st->spt_zaps, st->spt_evictions,
		        st->pt_unprotects, vm->mon_used);
	if (vm->nest.entries)
		fprintf(out, "  assist: guest-monitor runs %" G_GUINT64_FORMAT ", composed nested map: "
		        "fills %" G_GUINT64_FORMAT ", emptied %" G_GUINT64_FORMAT "\n", vm->nest.entries,
		        vm->nest.fills, vm->nest.flushes);
}

const GByteArray *machine_serial_output(const struct machine *m, int port)
{
	g_return_val_if_fail(port >= 0 && port < MACHINE_SERIAL_PORTS, NULL);
	return chardev_output(m->serial[port]);
}

const GByteArray *machine_console_log(const struct machine *m)
{
	return m->console_log;
}

void machine_vga_text(struct machine *m, GString *out)
{
	dev_vga_dump_text(m->vga, out);
}

uint64_t machine_time_ns(const struct machine *m)
{
	return clock_cycles_to_ns(m->cpu->cycles);
}

/* The guest-visible processor state, in one fixed form whether the guest
 * runs bare or under a monitor (so the hashes of the two compare). */
struct guest_image {
	struct machine_regs r;
	uint32_t seg_base[6], seg_limit[6];
	uint32_t gdt_base, gdt_limit, idt_base, idt_limit;
	uint16_t ldtr, tr;
};

static void guest_image(struct machine *m, struct guest_image *g)
{
	memset(g, 0, sizeof *g);
	machine_get_guest_regs(m, &g->r);
	if (m->l0) {
		struct l0_guest_regs lr;
		l0_guest_regs(m->l0, &lr);
		memcpy(g->seg_base, lr.seg_base, sizeof g->seg_base);
		memcpy(g->seg_limit, lr.seg_limit, sizeof g->seg_limit);
		g->gdt_base = lr.gdt_base;
		g->gdt_limit = lr.gdt_limit;
		g->idt_base = lr.idt_base;
		g->idt_limit = lr.idt_limit;
		g->ldtr = lr.ldtr;
		g->tr = lr.tr;
		return;
	}
	const struct cpu *c = m->cpu;
	for (int s = 0; s < 6; s++) {
		g->seg_base[s] = c->seg[s].base;
		g->seg_limit[s] = c->seg[s].limit;
	}
	g->gdt_base = c->gdtr.base;
	g->gdt_limit = c->gdtr.limit;
	g->idt_base = c->idtr.base;
	g->idt_limit = c->idtr.limit;
	g->ldtr = c->ldtr.sel;
	g->tr = c->tr.sel;
}

static bool page_is_zero(const uint8_t *p)
{
	static const uint8_t zero[PMEM_PAGE_SIZE];
	return memcmp(p, zero, PMEM_PAGE_SIZE) == 0;
}

/* With NESTLAB_STATE_DUMP=PREFIX in the environment, the parts of the
 * hash are written to PREFIX.regs, PREFIX.ram and PREFIX.dev, so two runs
 * that should agree can be compared with cmp(1): a debugging aid. */
static void dump_state(struct machine *m, const struct guest_image *g, const GByteArray *dev)
{
	const char *prefix = g_getenv("NESTLAB_STATE_DUMP");
	if (!prefix)
		return;
	gchar *path = g_strdup_printf("%s.regs", prefix);
	g_file_set_contents(path, (const gchar *)g, sizeof *g, NULL);
	g_free(path);
	uint32_t ram = pmem_ram_size(m->pmem);
	guchar *img = g_malloc(ram);
	pmem_load(m->pmem, 0, img, ram);
	path = g_strdup_printf("%s.ram", prefix);
	g_file_set_contents(path, (const gchar *)img, ram, NULL);
	g_free(path);
	g_free(img);
	path = g_strdup_printf("%s.dev", prefix);
	g_file_set_contents(path, (const gchar *)dev->data, dev->len, NULL);
	g_free(path);
}

/* {====== the state hash: 256 bits, four 64-bit lanes ======
 * Not cryptographic (a guest is not an adversary of its own hash): a
 * multiply-rotate round per 8-byte word in four independent lanes, each
 * finished with an avalanche, about ten times as fast as SHA-256 on the
 * tens of MiB of RAM a comparison of two runs hashes over and over. */

#define WH_P1 0x9e3779b185ebca87ull
#define WH_P2 0xc2b2ae3d27d4eb4full
#define WH_P3 0x165667b19e3779f9ull

struct whash {
	uint64_t v[4];
	uint8_t buf[32];
	size_t n;
	uint64_t total;
};

static uint64_t wh_rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static void wh_block(struct whash *h, const uint8_t *b)
{
	for (int i = 0; i < 4; i++) {
		uint64_t w;
		memcpy(&w, b + 8 * i, 8);
		h->v[i] = wh_rotl(h->v[i] + w * WH_P2, 31) * WH_P1;
	}
}

static void wh_init(struct whash *h)
{
	*h = (struct whash){ .v = { WH_P1 + WH_P2, WH_P2, 0, -WH_P1 } };
}

static void wh_update(struct whash *h, const void *data, size_t len)
{
	const uint8_t *p = data;
	h->total += len;
	while (len && h->n) {
		h->buf[h->n++] = *p++, len--;
		if (h->n == 32) {
			wh_block(h, h->buf);
			h->n = 0;
		}
	}
	for (; len >= 32; p += 32, len -= 32)
		wh_block(h, p);
	memcpy(h->buf, p, len);
	h->n = len;
}

static void wh_hex(struct whash *h, char out[65])
{
	memset(h->buf + h->n, 0, 32 - h->n);
	h->buf[31] ^= (uint8_t)h->n;
	wh_block(h, h->buf);
	for (int i = 0; i < 4; i++) {
		uint64_t x = h->v[i] ^ h->total ^ ((uint64_t)i * WH_P3);
		x ^= x >> 33, x *= WH_P2, x ^= x >> 29, x *= WH_P3, x ^= x >> 32;
		g_snprintf(out + 16 * i, 17, "%016" G_GINT64_MODIFIER "x", x);
	}
}

/* }====================================================================== */

void machine_state_hash(struct machine *m, char out[65])
{
	struct whash h;
	wh_init(&h);
	struct guest_image g;
	struct cpu *shown = m->cpu;
	smp_resume(m); /* whichever CPU a debugger shows, the same hash */
	guest_image(m, &g);
	wh_update(&h, &g, sizeof g);
	if (m->n_cpus > 1) { /* every CPU, and the schedule */
		struct guest_image gi;
		for (unsigned i = 0; i < m->n_cpus; i++) {
			m->cpu = m->cpus[i].cpu;
			guest_image(m, &gi);
			gi.r.icount = m->cpu->icount;
			wh_update(&h, &gi, sizeof gi);
		}
		smp_resume(m);
		GByteArray *sched = g_byte_array_new();
		smp_save_schedule(m, sched);
		wh_update(&h, sched->data, sched->len);
		g_byte_array_free(sched, TRUE);
	}
	m->cpu = shown;
	uint32_t ram = pmem_ram_size(m->pmem);
	for (uint32_t a = 0; a < ram; a += PMEM_PAGE_SIZE) {
		const uint8_t *p = pmem_page_if_present(m->pmem, a);
		if (!p || page_is_zero(p))
			continue; /* untouched and zero pages look the same */
		wh_update(&h, &a, sizeof a);
		wh_update(&h, p, PMEM_PAGE_SIZE);
	}
	GByteArray *st = g_byte_array_new();
	for (int i = 0; i < m->n_dev; i++)
		m->dev[i]->ops->save(m->dev[i], st);
	for (int i = 0; i < m->n_disks; i++)
		disk_save_overlay(m->disk[i], st);
	wh_update(&h, st->data, st->len);
	dump_state(m, &g, st);
	g_byte_array_free(st, TRUE);
	wh_hex(&h, out);
}

void machine_console_hash(const struct machine *m, char out[65])
{
	gchar *s = g_compute_checksum_for_data(G_CHECKSUM_SHA256, m->console_log->data,
	                                       m->console_log->len);
	g_strlcpy(out, s, 65);
	g_free(s);
}

void machine_phys_write(struct machine *m, uint32_t paddr, const void *buf, size_t len)
{
	pmem_store(m->cpu_pmem, paddr, buf, len);
	cpu_invalidate_phys(m->cpu, paddr, (uint32_t)len);
}

void machine_phys_read(struct machine *m, uint32_t paddr, void *buf, size_t len)
{
	pmem_load(m->cpu_pmem, paddr, buf, len);
}

void machine_advance(struct machine *m, uint64_t cycles)
{
	uint64_t end = m->cpu->cycles + cycles;
	while (clock_next(m->clock) <= end) {
		clock_advance_to(m->clock, &m->cpu->cycles, clock_next(m->clock));
		clock_run_due(m->clock);
	}
	m->cpu->cycles = end;
	clock_run_due(m->clock);
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
