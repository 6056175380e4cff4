/*
 * test_vectors.c - the CPU against the hardware-recorded real-mode vectors.
 *
 * /vectors/parse/...   the line and known-differences parsers
 * /vectors/real16      every test of VECTORS_DIR; passes iff at least 99.5 %
 *                      pass and every failure is listed in
 *                      known-differences.txt (listed tests that now pass are
 *                      printed, so the list can be pruned)
 *
 * NESTLAB_VECTORS_DIR in the environment overrides the directory.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "vecrun.h"

#define REQUIRED_PASS_PERMILLE 995 /* 99.5 % */

static const char sample[] =
	"F6.6 0 0b796f0cf88c2917 | f6b43b3df4 | 3d0e ffff 0000 d934 0dc3 b65a ff57 0014 ed8a 0142 "
	"5e43 d470 9aa0 6417 | 176d0:f6 176d1:b4 1090ee:05 | 3d0e ffff 0000 d934 e7aa b65a ff57 0014 "
	"ed84 0142 5e43 d470 d133 0492 | c5328:92 c5329:04 | 072a | 0";

static void test_parse_line(void)
{
	struct vec_test *t = vec_test_new();
	GError *error = NULL;
	g_assert_true(vec_parse_line(sample, t, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(t->form, ==, "F6.6");
	g_assert_cmpuint(t->idx, ==, 0);
	g_assert_cmpint(t->insn_len, ==, 5);
	g_assert_cmphex(t->insn[0], ==, 0xf6);
	g_assert_cmphex(t->init[0], ==, 0x3d0e);  /* ax */
	g_assert_cmphex(t->init[13], ==, 0x6417); /* flags */
	g_assert_cmphex(t->final[4], ==, 0xe7aa); /* cs */
	g_assert_cmpuint(t->init_ram->len, ==, 3);
	g_assert_cmphex(g_array_index(t->init_ram, struct vec_byte, 2).addr, ==, 0x1090ee);
	g_assert_cmpuint(t->final_ram->len, ==, 2);
	g_assert_cmphex(t->flags_mask, ==, 0x072a);
	g_assert_cmpint(t->exception, ==, 0);
	vec_test_free(t);
}

static void test_parse_empty_ram_and_no_exception(void)
{
	const char *line = "F8 3 0 | f8f4 | 0 0 0 0 0 0 0 0 0 0 0 0 100 2 | 100:f8 101:f4 | "
	                   "0 0 0 0 0 0 0 0 0 0 0 0 102 3 |  | ffff | -";
	struct vec_test *t = vec_test_new();
	GError *error = NULL;
	g_assert_true(vec_parse_line(line, t, &error));
	g_assert_cmpuint(t->final_ram->len, ==, 0);
	g_assert_cmpint(t->exception, ==, -1);
	vec_test_free(t);
}

static void test_parse_malformed_is_an_error(void)
{
	struct vec_test *t = vec_test_new();
	GError *error = NULL;
	g_assert_false(vec_parse_line("00 0 | 00 | 1 2 3", t, &error));
	g_assert_nonnull(error);
	g_assert_nonnull(strstr(error->message, "malformed"));
	g_clear_error(&error);
	gchar *bad_reg = g_strdup(sample);
	*strstr(bad_reg, "3d0e") = 'x';
	g_assert_false(vec_parse_line(bad_reg, t, &error));
	g_assert_nonnull(strstr(error->message, "initial registers"));
	g_clear_error(&error);
	g_free(bad_reg);
	vec_test_free(t);
}

static void test_known_file(void)
{
	gchar *path = NULL;
	int fd = g_file_open_tmp("known-XXXXXX.txt", &path, NULL);
	g_assert_cmpint(fd, >=, 0);
	const char text[] = "# comment\n\nF6.6 17 the 286 pushes another IP  # trailing\nD4 * AAM base 0\n";
	g_assert_cmpint(write(fd, text, sizeof text - 1), ==, (int)(sizeof text - 1));
	close(fd);
	GError *error = NULL;
	struct vec_known *k = vec_known_load(path, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(vec_known_reason(k, "F6.6", 17), ==, "the 286 pushes another IP");
	g_assert_null(vec_known_reason(k, "F6.6", 18));
	g_assert_cmpstr(vec_known_reason(k, "D4", 299), ==, "AAM base 0");
	vec_known_free(k);
	g_file_set_contents(path, "F6.6 seventeen reason\n", -1, NULL);
	g_assert_null(vec_known_load(path, &error));
	g_assert_nonnull(error);
	g_clear_error(&error);
	g_unlink(path);
	g_free(path);
}

static const char *vectors_dir(void)
{
	const char *env = g_getenv("NESTLAB_VECTORS_DIR");
	return env && *env ? env : VECTORS_DIR;
}

static void test_real16(void)
{
	const char *dir = vectors_dir();
	if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
		gchar *msg = g_strdup_printf("the vector directory %s does not exist "
		                             "(it lives beside the repository, in shared/vectors/real16)",
		                             dir);
		g_test_skip(msg);
		g_free(msg);
		return;
	}
	GError *error = NULL;
	struct vec_known *known = vec_known_load(KNOWN_DIFFERENCES, &error);
	g_assert_no_error(error);
	struct vec_options opt = {.out = stderr, .known = known};
	struct vec_result res;
	gboolean ok = vec_run_dir(dir, &opt, &res, &error);
	g_assert_no_error(error);
	g_assert_true(ok);
	unsigned total = res.passed + res.failed;
	g_assert_cmpuint(total, >, 0);
	fprintf(stderr, "pass rate %.3f %% (at least %.1f %% required); %u failures not in %s\n",
	       100.0 * res.passed / total, REQUIRED_PASS_PERMILLE / 10.0, res.failed_unknown,
	       "known-differences.txt");

	g_assert_cmpuint((guint64)res.passed * 1000, >=, (guint64)total * REQUIRED_PASS_PERMILLE);
	g_assert_cmpuint(res.failed_unknown, ==, 0);
	vec_known_free(known);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/vectors/parse/line", test_parse_line);
	g_test_add_func("/vectors/parse/empty-ram-and-no-exception", test_parse_empty_ram_and_no_exception);
	g_test_add_func("/vectors/parse/malformed-line-is-an-error", test_parse_malformed_is_an_error);
	g_test_add_func("/vectors/parse/known-differences-file", test_known_file);
	g_test_add_func("/vectors/real16", test_real16);
	return g_test_run();
}
