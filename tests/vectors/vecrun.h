/*
 * vecrun.h - runs the hardware-recorded real-mode instruction vectors
 * (one gzip text file per instruction form, see the vector directory's
 * README.md) on the engine's CPU and compares every register and every
 * final RAM byte with what the real CPU did.
 *
 * Shared by tests/vectors (the meson test) and `nestlab-run --vectors DIR`.
 */
#ifndef NESTLAB_VECRUN_H
#define NESTLAB_VECRUN_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define VEC_NREGS 14 /* ax bx cx dx cs ss ds es sp bp si di ip flags */

/* One RAM byte of a test. */
struct vec_byte {
	uint32_t addr;
	uint8_t val;
};

/* One test: a line of a vector file. */
struct vec_test {
	char form[8];      /* "00", "F6.6", ... */
	unsigned idx;
	uint8_t insn[16];  /* instruction bytes (for messages) */
	int insn_len;
	uint16_t init[VEC_NREGS];
	uint16_t final[VEC_NREGS];
	GArray *init_ram;  /* struct vec_byte */
	GArray *final_ram; /* struct vec_byte */
	uint16_t flags_mask;
	int exception;     /* vector raised, or -1 */
};

/* Allocates an empty test for vec_parse_line (free with vec_test_free). */
struct vec_test *vec_test_new(void);
void vec_test_free(struct vec_test *t);

/* Parses one line of a vector file into *t. Returns false with `error` set
 * (naming what is wrong) on a malformed line. */
bool vec_parse_line(const char *line, struct vec_test *t, GError **error);

/* A list of tests expected to fail, each with a reason (known-differences.txt). */
struct vec_known;

/*
 * Reads a known-differences file: lines `FORM IDX reason...` (IDX may be `*`
 * for every test of the form); `#` starts a comment. Returns NULL with
 * `error` set if the file cannot be read or a line is malformed.
 */
struct vec_known *vec_known_load(const char *path, GError **error);
void vec_known_free(struct vec_known *k);
/* The reason `form idx` is listed with, or NULL if it is not. */
const char *vec_known_reason(const struct vec_known *k, const char *form, unsigned idx);

/* The outcome of a run over a directory. */
struct vec_result {
	unsigned passed, failed;
	unsigned failed_known;   /* failures listed in the known-differences list */
	unsigned failed_unknown; /* failures not listed */
	unsigned known_passed;   /* listed tests that now pass */
	unsigned lock_ud;        /* tests checked for #UD on LOCK instead (vecrun.c) */
	unsigned files;
};

struct vec_options {
	FILE *out;                 /* report stream (NULL: stdout) */
	unsigned details_per_form; /* failures shown in full per form (0: default 3) */
	const struct vec_known *known; /* may be NULL */
	const char *only_form;     /* run only this form (NULL: all) */
};

/*
 * Runs every `*.txt.gz` (or `*.txt`) file of `dir` in name order and writes
 * a report: each failure with its test id and an expected/actual diff, a
 * table of forms with failures, and a last line `N passed, N failed`.
 * Returns false with `error` set only for host problems (a missing
 * directory, an unreadable or malformed file), not for failing tests.
 */
bool vec_run_dir(const char *dir, const struct vec_options *opt, struct vec_result *res,
                 GError **error);

#endif
