/*
 * nestlab-itrace - questions to a full instruction trace (nestlab-run
 * --itrace FILE; docs/itrace.md):
 *
 *   nestlab-itrace FILE info
 *   nestlab-itrace FILE show FROM [COUNT]
 *   nestlab-itrace FILE last-write ADDR [--before N] [--phys]
 *   nestlab-itrace FILE last-eip EIP [--before N]
 *
 * Exit status: 0 answered, 1 nothing matched, 2 bad usage, 3 the file
 * cannot be read (missing, not a trace, damaged where it was needed). A
 * trace cut short is read up to the damage, with a warning on stderr.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itrace.h"

enum { EXIT_FOUND = 0, EXIT_NONE = 1, EXIT_USAGE = 2, EXIT_FILE = 3 };

static const char usage_text[] =
	"usage: nestlab-itrace FILE COMMAND [ARGS]\n"
	"\n"
	"Answers questions from a full instruction trace written by nestlab-run --itrace FILE.\n"
	"\n"
	"Commands:\n"
	"  info                        what the trace holds: steps, instruction counts, size\n"
	"  show FROM [COUNT]           the steps from instruction FROM on (COUNT, default 20):\n"
	"                              EIP, level, the registers changed and the memory written\n"
	"  last-write ADDR [--before N] [--phys]\n"
	"                              the last write covering ADDR (linear; --phys: a physical\n"
	"                              address, as page-table updates are) before instruction N\n"
	"                              (default: the end)\n"
	"  last-eip EIP [--before N]   the last time an instruction at EIP ran before N\n"
	"\n"
	"Numbers are decimal or 0x hex. Steps are instructions, or events (an exception or\n"
	"interrupt delivered) that take no instruction count of their own.\n"
	"\n"
	"Exit status: 0 answered, 1 nothing matched, 2 bad usage, 3 the file cannot be read.\n";

static int usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "nestlab-itrace: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(nestlab-itrace --help shows the commands)\n");
	return EXIT_USAGE;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	guint64 v;
	bool hex = g_str_has_prefix(s, "0x") || g_str_has_prefix(s, "0X");
	if (!g_ascii_string_to_unsigned(hex ? s + 2 : s, hex ? 16 : 10, 0, G_MAXUINT64, &v, NULL))
		return false;
	*out = v;
	return true;
}

static int file_error(GError *error)
{
	fprintf(stderr, "nestlab-itrace: %s\n", error->message);
	g_error_free(error);
	return EXIT_FILE;
}

/* {====== commands ====== */

static int cmd_info(struct trc_itrace_reader *r, const char *path)
{
	struct trc_itrace_info i;
	trc_itrace_get_info(r, &i);
	const struct trc_itrace_state *s = trc_itrace_start(r);
	printf("file:         %s\n", path);
	printf("steps:        %" PRIu64 " (instructions %" PRIu64 " to %" PRIu64 ")\n", i.steps,
	       i.first_icount, i.end_icount);
	printf("blocks:       %u of up to %u steps\n", i.blocks, i.block_len);
	printf("size:         %" PRIu64 " bytes, %.3f bytes per step\n", i.file_bytes,
	       i.steps ? (double)i.file_bytes / (double)i.steps : 0.0);
	printf("finished:     %s\n", i.complete ? "yes" : "no (read up to the damage)");
	printf("start:        level %u cpl %u eip %08x esp %08x cr0 %08x cr3 %08x\n", s->level, s->cpl,
	       s->reg[TRC_IR_EIP], s->reg[TRC_IR_ESP], s->reg[TRC_IR_CR0], s->reg[TRC_IR_CR3]);
	return EXIT_FOUND;
}

static bool show_step(void *opaque, const struct trc_itrace_step *s)
{
	++*(uint64_t *)opaque;
	printf("%12" PRIu64 " L%u %08x%s", s->icount, s->level, s->eip, s->event ? " event" : "");
	for (int k = 0; k < TRC_IR_COUNT; k++)
		if (k != TRC_IR_EIP && (s->changed >> k & 1))
			printf(" %s=%x", trc_itrace_reg_names[k], s->after.reg[k]);
	for (unsigned w = 0; w < s->n_writes; w++)
		printf(" %s[%08x]=%0*x", s->writes[w].phys ? "phys" : "", s->writes[w].addr,
		       2 * s->writes[w].size, s->writes[w].val);
	printf("\n");
	return true;
}

static int cmd_show(struct trc_itrace_reader *r, int argc, char **argv)
{
	uint64_t from, count = 20;
	if (argc < 1 || argc > 2 || !parse_u64(argv[0], &from) ||
	    (argc == 2 && !parse_u64(argv[1], &count)))
		return usage("show wants FROM [COUNT], numbers%s", "");
	uint64_t n = 0;
	GError *error = NULL;
	if (!trc_itrace_foreach(r, from, count, show_step, &n, &error))
		return file_error(error);
	return n ? EXIT_FOUND : EXIT_NONE;
}

/* The options after a query's address: --before N, and --phys if `phys`. */
static bool query_opts(int argc, char **argv, uint64_t *before, bool *phys)
{
	*before = UINT64_MAX;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--before") && i + 1 < argc && parse_u64(argv[i + 1], before))
			i++;
		else if (phys && !strcmp(argv[i], "--phys"))
			*phys = true;
		else
			return false;
	}
	return true;
}

static int cmd_query(struct trc_itrace_reader *r, bool write, int argc, char **argv)
{
	uint64_t addr, before;
	bool phys = false;
	if (argc < 1 || !parse_u64(argv[0], &addr) || addr > UINT32_MAX ||
	    !query_opts(argc - 1, argv + 1, &before, write ? &phys : NULL))
		return usage(write ? "last-write wants ADDR [--before N] [--phys]%s"
		                   : "last-eip wants EIP [--before N]%s", "");
	struct trc_itrace_hit h;
	GError *error = NULL;
	int n = write ? trc_itrace_prev_write(r, (uint32_t)addr, phys, before, &h, &error)
	              : trc_itrace_prev_eip(r, (uint32_t)addr, before, &h, &error);
	if (n < 0)
		return file_error(error);
	if (n == 0) {
		if (before == UINT64_MAX)
			printf("no %s at %08" PRIx64 " in the trace\n", write ? "write" : "instruction", addr);
		else
			printf("no %s at %08" PRIx64 " before instruction %" PRIu64 "\n",
			       write ? "write" : "instruction", addr, before);
		return EXIT_NONE;
	}
	printf("instruction %" PRIu64 " at L%u %08x%s", h.icount, h.level, h.eip,
	       h.event ? " (an event delivery)" : "");
	if (write)
		printf(" wrote %0*x to %s%08x (%u bytes); the byte at %08" PRIx64 " became %02x",
		       2 * h.write.size, h.write.val, phys ? "phys " : "", h.write.addr, h.write.size,
		       addr, h.byte);
	printf("\n");
	return EXIT_FOUND;
}

/* }====================================================================== */

int main(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc < 3)
		return usage("give a trace FILE and a COMMAND%s", "");
	const char *cmd = argv[2];
	if (strcmp(cmd, "info") && strcmp(cmd, "show") && strcmp(cmd, "last-write") &&
	    strcmp(cmd, "last-eip"))
		return usage("unknown command '%s'", cmd);
	GError *error = NULL;
	struct trc_itrace_reader *r = trc_itrace_open(argv[1], &error);
	if (!r)
		return file_error(error);
	if (trc_itrace_warning(r))
		fprintf(stderr, "nestlab-itrace: warning: %s\n", trc_itrace_warning(r));
	int code;
	if (!strcmp(cmd, "info"))
		code = argc == 3 ? cmd_info(r, argv[1]) : usage("info takes no arguments%s", "");
	else if (!strcmp(cmd, "show"))
		code = cmd_show(r, argc - 3, argv + 3);
	else
		code = cmd_query(r, !strcmp(cmd, "last-write"), argc - 3, argv + 3);
	trc_itrace_close(r);
	return code;
}
