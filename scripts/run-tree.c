/*
 * run-tree.c - nestlab-run's --tree, --tree-at and --translate: the tree of
 * every level (engine/vm/tree.c, docs/abi.md) printed at a moment or at
 * the end, with translation chains.
 */
#include "run.h"

#include <stdio.h>

bool run_parse_count(const char *s, uint64_t *out)
{
	char *end;
	if (!*s || *s == '-')
		return false;
	*out = g_ascii_strtoull(s, &end, 10);
	return *end == 0;
}

bool run_parse_translate(const char *s, int *n, bool *by_node, uint32_t *addr)
{
	char *end;
	*by_node = *s == 'n';
	if (*by_node)
		s++;
	if (!g_ascii_isdigit(*s))
		return false;
	guint64 v = g_ascii_strtoull(s, &end, 10);
	if (*end != ':' || v > 1000)
		return false;
	*n = (int)v;
	s = end + 1;
	if (!*s || *s == '-')
		return false;
	guint64 a = g_ascii_strtoull(s, &end, 0);
	if (*end || a > 0xffffffffu)
		return false;
	*addr = (uint32_t)a;
	return true;
}

/* The node at `level` on the executing chain, or -1. */
static int node_at_level(struct machine *m, int level)
{
	int n = machine_tree_current(m);
	while (n >= 0) {
		struct machine_tree_node info;
		if (!machine_tree_node(m, (unsigned)n, &info))
			return -1;
		if (info.level == level)
			return n;
		n = info.parent;
	}
	return -1;
}

static void print_translation(struct machine *m, const char *spec)
{
	int n;
	bool by_node;
	uint32_t addr, hpa = 0;
	if (!run_parse_translate(spec, &n, &by_node, &addr))
		return;
	int node = by_node ? n : node_at_level(m, n);
	fprintf(stderr, "translate %s:", spec);
	if (node < 0) {
		fprintf(stderr, " no node at level %d on the executing chain\n", n);
		return;
	}
	struct machine_tree_step steps[20];
	const char *why;
	int k = machine_tree_translate(m, (unsigned)node, addr, true, steps, 20, &hpa, &why);
	int shown = k < 0 ? -k : k;
	fprintf(stderr, " node %d\n", node);
	for (int i = 0; i < shown; i++) {
		const struct machine_tree_step *st = &steps[i];
		fprintf(stderr, "  step level %d node %d %s %08x -> %08x", st->level, st->node,
		        st->virt ? "virtual" : "physical", st->in, st->out);
		if (st->virt && !st->paging)
			fprintf(stderr, " paging off");
		else if (st->virt)
			fprintf(stderr, " pde[%08x]=%08x pte[%08x]=%08x%s", st->pde_addr, st->pde,
			        st->pte_addr, st->pte, st->large ? " 4M" : "");
		else
			fprintf(stderr, " range %08x+%08x at %08x", st->map_gpa, st->map_size, st->map_mpa);
		fprintf(stderr, "\n");
	}
	if (k < 0) {
		fprintf(stderr, "  stops: %s\n", why);
		return;
	}
	uint32_t word = 0;
	bool ok = machine_tree_read_phys(m, 0, hpa, &word, 4);
	fprintf(stderr, "  host-physical %08x", hpa);
	if (ok)
		fprintf(stderr, " holds %08x", word);
	fprintf(stderr, "\n");
}

void run_print_tree(struct machine *m)
{
	machine_print_tree(m, stderr);
	for (int i = 0; o.translate && o.translate[i]; i++)
		print_translation(m, o.translate[i]);
	fflush(stderr);
}
