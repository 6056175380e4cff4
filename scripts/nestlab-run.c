/*
 * nestlab-run - the headless runner: boots a multiboot kernel, a flat
 * binary or a ROM on the PC (or runs the hardware vectors), streams the
 * guest's consoles to stdout, feeds it scripted input and exits with the
 * guest's exit status. See docs/nestlab-run.md; run.h lists the parts.
 */
#include <glib.h>
#include <stdio.h>

#include "nestlab-config.h"
#include "run.h"

/* A usage error: the message, and where to read more. */
static int usage(struct run_msg *msg, int code)
{
	fprintf(stderr, "nestlab-run: %s\nTry 'nestlab-run --help'.\n", msg->text);
	g_free(msg->text);
	return code;
}

int main(int argc, char **argv)
{
	int script_code;
	if (run_script_mode(argc, argv, &script_code))
		return script_code;
	join_snapshot_at(&argc, &argv);
	int rc = load_restore(&argc, &argv);
	if (rc)
		return rc;
	g_args = guest_args(argc, argv);
	for (int i = 1; i < argc; i++)
		gdb_given |= g_str_has_prefix(argv[i], "--gdb");
	uint16_t post = 0;
	struct run_msg msg = { NULL };
	int code = run_parse_options(argc, argv, RUN_SCOPE_ALL, &post, &msg);
	if (code)
		return usage(&msg, code);
	if (o.help) {
		run_print_help(stdout);
		return 0;
	}
	if (o.version) {
		printf("nestlab-run %s\n", NESTLAB_VERSION);
		return 0;
	}
	return o.vectors ? run_vectors() : run_guest(post);
}
