/*
 * test_decode_main.c - entry point of test-decode.
 *
 *   test-decode                  run every /decode test (GLib options apply)
 *   test-decode --print-quirks   print the decoder-vs-Capstone quirk table
 *                                with measured counts, as Markdown
 */
#include <string.h>

#include <glib.h>

#include "test_decode.h"

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--print-quirks") == 0)
		return decode_capstone_print_quirks();
	g_test_init(&argc, &argv, NULL);
	decode_table_add_tests();
	decode_capstone_add_tests();
	return g_test_run();
}
