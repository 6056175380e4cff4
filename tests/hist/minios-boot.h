/*
 * minios-boot.h - the miniOS machine the history tests debug: under the
 * shadow monitor, the file system as slave disk, `typed` lines sent to
 * COM1 at each shell prompt, the consoles kept in memory only.
 */
#ifndef NESTLAB_TEST_MINIOS_BOOT_H
#define NESTLAB_TEST_MINIOS_BOOT_H

#include <stdio.h>
#include <stdlib.h>

#include "nestlab.h"

static inline struct machine *minios_boot(const char *kernel, const char *disk,
                                          const char *const *typed, size_t n)
{
	const struct machine_disk d = { .path = disk, .slave = true };
	const struct machine_config cfg = {
		.kernel_path = kernel, .disks = &d, .n_disks = 1,
		.monitor = MACHINE_MONITOR_SHADOW, .console_quiet = true,
	};
	GError *error = NULL;
	struct machine *m = machine_new(&cfg, &error);
	if (!m) {
		fprintf(stderr, "%s\n", error->message);
		exit(1);
	}
	for (size_t i = 0; i < n; i++)
		machine_add_input(m, MACHINE_INPUT_COM1, 0, "$ ", typed[i]);
	return m;
}

static inline uint64_t minios_icount(struct machine *m)
{
	struct machine_regs r;
	machine_get_regs(m, &r);
	return r.icount;
}

/* Runs forward, without history, to instruction count `to` (or the end). */
static inline void minios_run_to(struct machine *m, uint64_t to)
{
	while (minios_icount(m) < to)
		if (machine_run(m, to - minios_icount(m)) != MACHINE_LIMIT)
			break;
}

/* A TAP line for `what`; tap_failures counts the "not ok" ones. */
static int tap_failures;

static inline void tap_check(bool ok, const char *what)
{
	printf("%s - %s\n", ok ? "ok" : "not ok", what);
	if (!ok)
		tap_failures++;
}

#endif
