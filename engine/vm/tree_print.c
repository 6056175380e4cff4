/*
 * tree_print.c - the tree as text (nestlab-run --tree, docs/abi.md):
 * one line per node, its registers, then the ABI's events. The lines are
 * meant for people and for tests alike: fixed words, `key=value` pairs.
 */
#include <inttypes.h>

#include "nestlab.h"

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
