/*
 * run-vectors.c - nestlab-run --vectors DIR: the hardware-recorded
 * instruction tests (tests/vectors/vecrun.c), instead of a guest.
 */
#include <glib.h>
#include <stdio.h>

#include "run.h"
#include "vecrun.h"

int run_vectors(void)
{
	GError *error = NULL;
	struct vec_known *known = NULL;
	if (o.known && !(known = vec_known_load(o.known, &error))) {
		fprintf(stderr, "nestlab-run: %s\n", error->message);
		g_error_free(error);
		return EXIT_NOINPUT;
	}
	struct vec_options vo = {
		.out = stdout, .only_form = o.form, .details_per_form = (unsigned)o.details,
		.known = known,
	};
	struct vec_result res;
	gint64 t0 = g_get_monotonic_time();
	bool ok = vec_run_dir(o.vectors, &vo, &res, &error);
	vec_known_free(known);
	if (!ok) {
		fprintf(stderr, "nestlab-run: %s\n", error->message);
		g_error_free(error);
		return EXIT_NOINPUT;
	}
	if (o.stats)
		fprintf(stderr, "nestlab-run: %u tests in %.3f host seconds\n", res.passed + res.failed,
		        (double)(g_get_monotonic_time() - t0) / 1e6);
	if (res.passed + res.failed == 0) {
		fprintf(stderr, "nestlab-run: no test of form %s in %s\n", o.form ? o.form : "?",
		        o.vectors);
		return EXIT_NOINPUT;
	}
	return res.failed_unknown ? EXIT_VECTORS_FAILED : 0;
}

