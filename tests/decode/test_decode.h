/*
 * test_decode.h - the parts of the decoder test executable.
 *
 * test-decode checks engine/cpu/decode.c two ways: a hand-written table of
 * byte sequences whose lengths come from the Intel manual (test_decode_table.c)
 * and a differential run against Capstone 4.0.2 over generated sequences
 * (test_decode_capstone.c).
 */
#ifndef NESTLAB_TEST_DECODE_H
#define NESTLAB_TEST_DECODE_H

/* Registers /decode/table/... with GLib's test framework. */
void decode_table_add_tests(void);

/* Registers /decode/capstone/16bit and /decode/capstone/32bit (skipped with a
 * message when the build has no Capstone). */
void decode_capstone_add_tests(void);

/*
 * Runs the differential in both modes and prints the quirk table with its
 * counts as Markdown on stdout (the table in docs/decoder-vs-capstone.md).
 * Returns the process exit status: 0, or 1 if a disagreement has no rule or
 * Capstone is missing.
 */
int decode_capstone_print_quirks(void);

#endif
