/*
 * tree_print.c - the tree as text (nestlab-run --tree, docs/abi.md):
 * one line per node, its registers, then the ABI's events. The lines are
 * meant for people and for tests alike: fixed words, `key=value` pairs.
 */
#include <inttypes.h>

#include "nestlab.h"
#include "vmm.h"

static void print_regs(const struct machine_regs *r, FILE *out)
{
	fprintf(out,
	        "  regs eax=%08x ecx=%08x edx=%08x ebx=%08x esp=%08x ebp=%08x esi=%08x edi=%08x\n"
	        "       eip=%08x eflags=%08x cs=%04x ss=%04x ds=%04x cr0=%08x cr2=%08x cr3=%08x "
	        "cr4=%08x cpl=%u\n",
	        r->eax, r->ecx, r->edx, r->ebx, r->esp, r->ebp, r->esi, r->edi, r->eip, r->eflags,
	        r->cs, r->ss, r->ds, r->cr0, r->cr2, r->cr3, r->cr4, r->cpl);
}

static void print_node(struct machine *m, unsigned i, FILE *out)
{
	struct machine_tree_node n;
	if (!machine_tree_node(m, i, &n))
		return;
	fprintf(out, "node %u \"%s\": level %d, parent ", i, n.name, n.level);
	if (n.parent < 0)
		fprintf(out, "-");
	else
		fprintf(out, "%d", n.parent);
	fprintf(out, ", %s, children %u", machine_tree_state_name(n.state), n.n_children);
	if (n.monitor)
		fprintf(out, ", monitor %s, id %u, exits %" PRIu64, n.monitor, n.id, n.exits);
	if (n.guest_monitor)
		fprintf(out, ", runs monitor %s", n.guest_monitor);
	fprintf(out, "\n");
	if (n.regs_known)
		print_regs(&n.regs, out);
}

void machine_print_tree(struct machine *m, FILE *out)
{
	int cur = machine_tree_current(m);
	fprintf(out, "tree: level %d executing (node %d)\n", machine_tree_level(m), cur);
	for (unsigned i = 0; i < machine_tree_count(m); i++)
		print_node(m, i, out);
	for (unsigned i = 0; i < machine_tree_event_count(m); i++) {
		struct machine_tree_event e;
		if (!machine_tree_event(m, i, &e))
			continue;
		fprintf(out, "event %" PRIu64 " level %d node %d ", e.icount, e.level, e.node);
		if (e.mark) {
			fprintf(out, "mark %s=0x%08x\n", e.name, e.value);
			if (e.regs_known)
				print_regs(&e.regs, out);
		} else
			fprintf(out, "log %s\n", e.text);
	}
}

/* The exit table of each level: every node's exits as its monitor counts
 * them, by reason, summed over the nodes of the level. */
static void print_level_exits(struct machine *m, int level, FILE *out)
{
	uint64_t sum[MACHINE_EXIT_REASONS] = { 0 }, cyc[MACHINE_EXIT_REASONS] = { 0 }, total = 0;
	GString *names = g_string_new(NULL);
	for (unsigned i = 1; i < machine_tree_count(m); i++) {
		struct machine_tree_node n;
		uint64_t e[MACHINE_EXIT_REASONS], c[MACHINE_EXIT_REASONS];
		if (!machine_tree_node(m, i, &n) || n.level != level ||
		    !machine_tree_exit_counts(m, i, e, c))
			continue;
		g_string_append_printf(names, "%s%s (monitor %s)", names->len ? ", " : "", n.name,
		                       n.monitor);
		for (int r = 0; r < MACHINE_EXIT_REASONS; r++) {
			sum[r] += e[r];
			cyc[r] += c[r];
			total += e[r];
		}
	}
	if (names->len) {
		fprintf(out, "  level %d: %s, %" PRIu64 " exits\n", level, names->str, total);
		for (int r = 0; r < MACHINE_EXIT_REASONS; r++)
			if (sum[r])
				fprintf(out, "    %-26s %12" PRIu64 " %14" PRIu64 "\n",
				        vmm_exit_name((enum vmm_exit)r), sum[r], cyc[r]);
	}
	g_string_free(names, TRUE);
}

void machine_print_tree_stats(struct machine *m, FILE *out)
{
	int deepest = 0;
	for (unsigned i = 0; i < machine_tree_count(m); i++) {
		struct machine_tree_node n;
		if (machine_tree_node(m, i, &n) && n.state != MACHINE_TREE_DESTROYED &&
		    n.level > deepest)
			deepest = n.level;
	}
	if (deepest < 1)
		return;
	fprintf(out, "exits by level (each VM's exits to its own monitor: count, model cycles "
	        "where the monitor counts them):\n");
	for (int l = 1; l <= deepest; l++)
		print_level_exits(m, l, out);
	uint64_t traps, cycles, exits[16];
	if (!machine_tree_trap_stats(m, 1, &traps, exits, &cycles))
		return;
	fprintf(out, "exit multiplication (the traps of code at each level; the exits they set off "
	        "at each monitor level, until that level ran again, in all and per trap; model "
	        "cycles likewise):\n");
	for (int l = 1; l <= deepest; l++) {
		if (!machine_tree_trap_stats(m, l, &traps, exits, &cycles) || !traps)
			continue;
		fprintf(out, "  level %d: %" PRIu64 " traps:", l, traps);
		for (int k = 0; k < l; k++)
			fprintf(out, " L%d %" PRIu64 " (%.2f)", k, exits[k], (double)exits[k] / (double)traps);
		fprintf(out, " cycles %" PRIu64 " (%.0f)\n", cycles, (double)cycles / (double)traps);
	}
}
