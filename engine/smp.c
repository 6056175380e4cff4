/*
 * smp.c - several CPUs (--smp N): the application processors, their
 * start-up by INIT and start-up IPIs, and the turns the CPUs take.
 *
 * The model (docs/board.md, "Several CPUs"):
 *
 *   - CPU i has APIC ID i; CPU 0 is the bootstrap processor (BSP) and
 *     starts as the one-CPU PC does. Each CPU is a struct cpu of its own
 *     (the single-CPU fast path is unchanged); they share the decode cache
 *     (cpu_share_caches), as they share memory.
 *   - The application processors (APs) wait for a start-up IPI from power
 *     on, as on a PC whose firmware has parked them. An INIT puts an AP
 *     back in that state: its registers as after RESET, its APIC in its
 *     power-up state (ID kept). A start-up IPI with vector V starts a
 *     waiting AP in real mode at V << 12 (CS = V << 8, IP = 0); one that
 *     reaches a running CPU is ignored, as on hardware. INIT and start-up
 *     are taken between instructions, before the CPU's next one (an INIT
 *     a CPU sends itself ends its turn).
 *   - An INIT to the BSP restarts it at its reset vector when the machine
 *     has a ROM; a kernel has no firmware to restart into, so the run ends
 *     as a shutdown that says so.
 *   - One host thread: the CPUs take turns in index order, each for the
 *     quantum (--smp-quantum, MACHINE_SMP_QUANTUM_DEFAULT instructions of
 *     its own) or until it halts or waits. The machine's clock (cycles) is
 *     the running CPU's cycle counter, handed on at each turn, so time is
 *     the sum of all the CPUs' work and every device timer fires at the
 *     same instruction in every run. Nothing of the host decides a turn.
 *   - Everything that decides the schedule is state: whose turn it is, what
 *     is left of it, the idle count, each CPU's INIT/start-up status
 *     (saved by the snapshot, hashed by the state hash).
 */
#include "machine_int.h"

#include <string.h>

/* {====== building ====== */

void smp_new_cpus(struct machine *m, const struct machine_config *cfg)
{
	m->n_cpus = cfg->n_cpus ? cfg->n_cpus : 1;
	m->quantum = cfg->smp_quantum ? cfg->smp_quantum : MACHINE_SMP_QUANTUM_DEFAULT;
	m->turn_cpu = 0;
	m->turn_left = m->quantum;
	m->idle_turns = 0;
	for (unsigned i = 0; i < m->n_cpus; i++) {
		struct smp_cpu *s = &m->cpus[i];
		*s = (struct smp_cpu){ .m = m, .index = i, .sipi_vector = SIPI_NONE };
		if (i == 0) {
			s->cpu = m->cpu;
			continue;
		}
		s->cpu = cpu_new(&m->bus);
		s->cpu->has_apic = true;
		if (!cpu_set_model(s->cpu, m->cpu->model_id, m->cpu->cpuid_edx))
			g_assert_not_reached();
		cpu_share_caches(s->cpu, m->cpu);
		s->wait_sipi = true;
	}
}

void smp_free_cpus(struct machine *m)
{
	struct cpu *bsp = m->n_cpus > 1 ? m->cpus[0].cpu : m->cpu;
	for (unsigned i = 1; i < m->n_cpus; i++)
		cpu_free(m->cpus[i].cpu);
	cpu_free(bsp);
}

/* }====================================================================== */

/* {====== INIT and start-up ====== */

void smp_init_ipi(struct smp_cpu *s)
{
	s->init_pending = true;
	s->sipi_vector = SIPI_NONE;
	if (s->m->n_cpus > 1 && &s->m->cpus[s->m->turn_cpu] == s)
		cpu_request_stop(s->cpu); /* it sent INIT to itself: its turn ends here */
}

void smp_startup_ipi(struct smp_cpu *s, int vector)
{
	if (s->wait_sipi || s->init_pending)
		s->sipi_vector = vector & 0xff;
}

/* Takes a pending INIT, then a pending start-up IPI, before `s` runs. */
static void take_startup(struct smp_cpu *s)
{
	struct machine *m = s->m;
	if (s->init_pending) {
		s->init_pending = false;
		if (s->index == 0 && !m->has_rom) {
			m->shutdown_why = "the guest sent INIT to the bootstrap processor (no firmware "
			                  "to restart)";
			return;
		}
		cpu_reset(s->cpu);
		cpu_set_a20(s->cpu, m->a20_kbd || m->a20_sysctl); /* the board's gate, not the CPU's */
		dev_lapic_init_state(s->lapic);
		s->wait_sipi = s->index != 0; /* the BSP restarts at its reset vector */
	}
	if (s->sipi_vector != SIPI_NONE) {
		int v = s->sipi_vector;
		s->sipi_vector = SIPI_NONE;
		if (s->wait_sipi) {
			s->wait_sipi = false;
			cpu_set_seg_real(s->cpu, SEG_CS, (uint16_t)(v << 8));
			s->cpu->eip = 0;
			s->cpu->halted = false;
			s->cpu->nmi_pending = false; /* held off while it waited, and dropped */
			cpu_state_changed(s->cpu);
		}
	}
}

void smp_reset_all(struct machine *m)
{
	for (unsigned i = 0; i < m->n_cpus; i++) {
		struct smp_cpu *s = &m->cpus[i];
		cpu_reset(s->cpu);
		s->init_pending = false;
		s->sipi_vector = SIPI_NONE;
		s->wait_sipi = i != 0;
	}
}

/* }====================================================================== */

/* {====== turns ====== */

uint64_t smp_icount(const struct machine *m)
{
	if (m->n_cpus <= 1)
		return m->cpu->icount;
	uint64_t n = 0;
	for (unsigned i = 0; i < m->n_cpus; i++)
		n += m->cpus[i].cpu->icount;
	return n;
}

/* Makes CPU `i` hold the machine's clock (its cycle counter goes on from
 * the time the last CPU reached). */
static void hand_clock(struct machine *m, unsigned i)
{
	struct cpu *from = m->cpus[m->turn_cpu].cpu, *to = m->cpus[i].cpu;
	if (from != to) {
		to->cycles = from->cycles;
		clock_set_source(m->clock, &to->cycles, &to->cycle_limit);
	}
	m->turn_cpu = i;
}

void smp_resume(struct machine *m)
{
	m->cpu = m->cpus[m->turn_cpu].cpu;
}

struct smp_cpu *smp_turn(struct machine *m)
{
	struct smp_cpu *s = &m->cpus[m->turn_cpu];
	take_startup(s);
	return s;
}

enum machine_stop smp_end_turn(struct machine *m, bool idle)
{
	m->idle_turns = idle ? m->idle_turns + 1 : 0;
	hand_clock(m, (m->turn_cpu + 1) % m->n_cpus);
	m->turn_left = m->quantum;
	smp_resume(m);
	if (m->shutdown_why)
		return MACHINE_SHUTDOWN;
	if (m->idle_turns >= m->n_cpus) {
		m->idle_turns = 0;
		return MACHINE_HALT;
	}
	return MACHINE_LIMIT;
}

bool smp_can_wake(struct machine *m)
{
	for (unsigned i = 0; i < m->n_cpus; i++) {
		struct smp_cpu *s = &m->cpus[i];
		if (s->init_pending || s->sipi_vector != SIPI_NONE)
			return true;
		if (!s->wait_sipi && ((cpu_get_eflags(s->cpu) & EFLAGS_IF) || s->cpu->nmi_pending))
			return true;
	}
	return false;
}

/* }====================================================================== */

/* {====== state: snapshots and the hash ====== */

/* The schedule and each CPU's start-up status, as 32-bit words. */
static void put_word(GByteArray *o, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	g_byte_array_append(o, b, 4);
}

void smp_save_schedule(struct machine *m, GByteArray *o)
{
	put_word(o, m->n_cpus);
	put_word(o, m->turn_cpu);
	put_word(o, (uint32_t)m->turn_left);
	put_word(o, (uint32_t)(m->turn_left >> 32));
	put_word(o, m->idle_turns);
	for (unsigned i = 0; i < m->n_cpus; i++) {
		const struct smp_cpu *s = &m->cpus[i];
		put_word(o, (uint32_t)s->wait_sipi | (uint32_t)s->init_pending << 1);
		put_word(o, (uint32_t)s->sipi_vector);
	}
}

bool smp_load_schedule(struct machine *m, const uint8_t *p, size_t len, const char **bad)
{
	size_t want = 4 * (5 + 2 * (size_t)m->n_cpus);
	uint32_t w[5 + 2 * MACHINE_MAX_CPUS];
	if (len < 4) {
		*bad = "the CPUs' schedule";
		return false;
	}
	memcpy(w, p, 4);
	if (GUINT32_FROM_LE(w[0]) != m->n_cpus) {
		*bad = NULL; /* another CPU count: the caller says so */
		return false;
	}
	if (len != want) {
		*bad = "the CPUs' schedule";
		return false;
	}
	memcpy(w, p, want);
	for (size_t i = 0; i < want / 4; i++)
		w[i] = GUINT32_FROM_LE(w[i]);
	if (w[1] >= m->n_cpus || w[4] > m->n_cpus) {
		*bad = "the CPUs' schedule";
		return false;
	}
	m->turn_cpu = w[1];
	m->turn_left = (uint64_t)w[3] << 32 | w[2];
	m->idle_turns = w[4];
	for (unsigned i = 0; i < m->n_cpus; i++) {
		struct smp_cpu *s = &m->cpus[i];
		s->wait_sipi = w[5 + 2 * i] & 1;
		s->init_pending = (w[5 + 2 * i] >> 1) & 1;
		int v = (int)w[6 + 2 * i];
		s->sipi_vector = v >= 0 && v <= 0xff ? v : SIPI_NONE;
	}
	return true;
}

void smp_save_cpus(struct machine *m, GByteArray *o)
{
	size_t n = cpu_save_size();
	for (unsigned i = 0; i < m->n_cpus && m->n_cpus > 1; i++) {
		guint at = o->len;
		g_byte_array_set_size(o, at + (guint)n);
		cpu_save(m->cpus[i].cpu, o->data + at);
	}
}

bool smp_load_cpus(struct machine *m, const uint8_t *p, size_t len)
{
	size_t n = cpu_save_size();
	if (m->n_cpus <= 1)
		return len == 0;
	if (len != n * m->n_cpus)
		return false;
	uint8_t *img = g_malloc(n); /* cpu_restore wants it aligned */
	bool ok = true;
	for (unsigned i = 0; i < m->n_cpus && ok; i++) {
		memcpy(img, p + i * n, n);
		ok = cpu_restore(m->cpus[i].cpu, img, n);
	}
	g_free(img);
	if (!ok)
		return false;
	struct cpu *c = m->cpus[m->turn_cpu].cpu;
	clock_set_source(m->clock, &c->cycles, &c->cycle_limit);
	smp_resume(m);
	return true;
}

/* }====================================================================== */

/* {====== the front ends' view ====== */

unsigned machine_cpu_count(const struct machine *m)
{
	return m->n_cpus;
}

unsigned machine_current_cpu(const struct machine *m)
{
	return m->turn_cpu;
}

bool machine_select_cpu(struct machine *m, unsigned i)
{
	if (i >= m->n_cpus)
		return false;
	if (m->n_cpus > 1)
		m->cpu = m->cpus[i].cpu;
	return true;
}

bool machine_get_cpu_regs(struct machine *m, unsigned i, struct machine_regs *r)
{
	if (i >= m->n_cpus)
		return false;
	struct cpu *was = m->cpu;
	machine_select_cpu(m, i);
	machine_get_regs(m, r);
	r->icount = m->cpu->icount;
	m->cpu = was;
	return true;
}

bool machine_cpu_waiting(const struct machine *m, unsigned i)
{
	return i < m->n_cpus && m->n_cpus > 1 && m->cpus[i].wait_sipi;
}

/* }====================================================================== */
