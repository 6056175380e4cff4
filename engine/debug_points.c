/*
 * debug_points.c - the machine's debugger points: nestlab.h's API over
 * the CPU's (engine/cpu/points.c). The CPU is the one of the root
 * machine, shared by its VMs, so a point applies to whichever runs.
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

int machine_add_point(struct machine *m, enum machine_point_kind kind, uint32_t addr, uint32_t len)
{
	return cpu_point_add(m->cpu, (enum cpu_point_kind)kind, addr, len);
}

bool machine_remove_point(struct machine *m, enum machine_point_kind kind, uint32_t addr,
                          uint32_t len)
{
	return cpu_point_remove(m->cpu,
	                        cpu_point_find(m->cpu, (enum cpu_point_kind)kind, addr, len));
}

void machine_clear_points(struct machine *m)
{
	cpu_points_clear(m->cpu);
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
