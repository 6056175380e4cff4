/*
 * debug_points.c - the machine's debugger points: nestlab.h's API over
 * the CPU's (engine/cpu/points.c). The CPU is the one of the root
 * machine, shared by its VMs, so a point applies to whichever runs. With
 * several CPUs every CPU has the same points (added in the same order, so
 * with the same ids), as a debugger's breakpoint stops any thread.
 */
#include "machine_int.h"

/* The two enums name the same kinds in the same order. */
_Static_assert((int)MACHINE_POINT_EXEC == (int)CPU_POINT_EXEC &&
                       (int)MACHINE_POINT_WRITE == (int)CPU_POINT_WRITE &&
                       (int)MACHINE_POINT_READ == (int)CPU_POINT_READ &&
                       (int)MACHINE_POINT_ACCESS == (int)CPU_POINT_ACCESS,
               "machine and CPU point kinds differ");
_Static_assert(MACHINE_POINTS_MAX == CPU_POINTS_MAX && MACHINE_WATCH_MAX == CPU_WATCH_MAX,
               "machine and CPU point limits differ");

/* The CPUs the points are set on: m->cpu alone, or every one of several. */
static struct cpu *cpu_n(struct machine *m, unsigned i)
{
	return m->n_cpus > 1 ? m->cpus[i].cpu : m->cpu;
}

int machine_add_point(struct machine *m, enum machine_point_kind kind, uint32_t addr, uint32_t len)
{
	int id = cpu_point_add(cpu_n(m, 0), (enum cpu_point_kind)kind, addr, len);
	for (unsigned i = 1; i < m->n_cpus && id >= 0; i++)
		cpu_point_add(cpu_n(m, i), (enum cpu_point_kind)kind, addr, len);
	return id;
}

bool machine_remove_point(struct machine *m, enum machine_point_kind kind, uint32_t addr,
                          uint32_t len)
{
	bool ok = false;
	for (unsigned i = 0; i < m->n_cpus; i++) {
		struct cpu *c = cpu_n(m, i);
		ok |= cpu_point_remove(c, cpu_point_find(c, (enum cpu_point_kind)kind, addr, len));
	}
	return ok;
}

void machine_clear_points(struct machine *m)
{
	for (unsigned i = 0; i < m->n_cpus; i++)
		cpu_points_clear(cpu_n(m, i));
}

int machine_last_hit(struct machine *m, enum machine_point_kind *kind, uint32_t *addr)
{
	struct cpu_hit hit;
	if (!cpu_point_hit(m->cpu, &hit))
		return -1;
	if (kind)
		*kind = (enum machine_point_kind)hit.kind;
	if (addr)
		*addr = hit.addr;
	return hit.id;
}
