/*
 * test-chardev.c - the host end of a serial line: output kinds, the kept
 * output and its cap, the tee, the input queue and its notify, stdin
 * polling, and the saved input queue.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "chardev.h"
#include "nestlab.h"

static void tee_count(void *opaque, const uint8_t *buf, size_t len)
{
	g_string_append_len(opaque, (const char *)buf, (gssize)len);
}

static void notify_count(void *opaque)
{
	(*(int *)opaque)++;
}

static void test_buffer_keeps_output_and_tees(void)
{
	struct chardev *c = chardev_new_buffer();
	GString *tee = g_string_new(NULL);
	chardev_set_tee(c, tee_count, tee);
	chardev_write(c, (const uint8_t *)"hello ", 6);
	chardev_write(c, (const uint8_t *)"world\n", 6);
	const GByteArray *out = chardev_output(c);
	g_assert_cmpuint(out->len, ==, 12);
	g_assert_cmpmem(out->data, out->len, "hello world\n", 12);
	g_assert_cmpstr(tee->str, ==, "hello world\n");
	g_string_free(tee, TRUE);
	chardev_free(c);
}

static void test_null_discards_but_keeps_copy(void)
{
	struct chardev *c = chardev_new_null();
	chardev_write(c, (const uint8_t *)"abc", 3);
	g_assert_cmpmem(chardev_output(c)->data, chardev_output(c)->len, "abc", 3);
	chardev_free(c);
}

static void test_file_truncates_and_writes(void)
{
	g_autofree char *dir = g_dir_make_tmp("chardev-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "out.txt", NULL);
	g_assert_true(g_file_set_contents(path, "old contents that must go", -1, NULL));
	GError *err = NULL;
	struct chardev *c = chardev_new_file(path, &err);
	g_assert_no_error(err);
	chardev_write(c, (const uint8_t *)"line\n", 5);
	chardev_write(c, (const uint8_t *)"tail", 4);
	chardev_flush(c);
	g_autofree char *text = NULL;
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_assert_cmpstr(text, ==, "line\ntail");
	chardev_free(c);
	g_unlink(path);
	g_rmdir(dir);
}

static void test_file_open_failure_is_an_error(void)
{
	GError *err = NULL;
	struct chardev *c = chardev_new_file("/nonexistent-dir/sub/out.txt", &err);
	g_assert_null(c);
	g_assert_error(err, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG);
	g_assert_nonnull(strstr(err->message, "/nonexistent-dir/sub/out.txt"));
	g_error_free(err);
}

/* Past the cap, the oldest bytes go and the newest stay. */
static void test_output_cap_keeps_tail(void)
{
	struct chardev *c = chardev_new_null();
	enum { CHUNK = 64 * 1024 };
	uint8_t *buf = g_malloc(CHUNK);
	size_t total = CHARDEV_OUTPUT_CAP + 3 * CHUNK;
	for (size_t done = 0; done < total; done += CHUNK) {
		for (size_t i = 0; i < CHUNK; i++)
			buf[i] = (uint8_t)((done + i) / CHUNK); /* each chunk is numbered */
		chardev_write(c, buf, CHUNK);
	}
	const GByteArray *out = chardev_output(c);
	g_assert_cmpuint(out->len, <=, CHARDEV_OUTPUT_CAP);
	g_assert_cmpuint(out->len, >=, CHARDEV_OUTPUT_CAP - CHARDEV_OUTPUT_TRIM);
	/* the last byte is from the last chunk, and the kept bytes are contiguous */
	size_t last_chunk = total / CHUNK - 1;
	g_assert_cmpuint(out->data[out->len - 1], ==, (uint8_t)last_chunk);
	size_t first = total - out->len;
	g_assert_cmpuint(out->data[0], ==, (uint8_t)(first / CHUNK));
	g_free(buf);
	chardev_free(c);
}

static void test_input_queue_order_and_notify(void)
{
	struct chardev *c = chardev_new_buffer();
	int notified = 0;
	chardev_set_input_notify(c, notify_count, &notified);
	g_assert_cmpint(chardev_input_peek(c), ==, -1);
	g_assert_cmpint(chardev_input_take(c), ==, -1);
	chardev_push_input(c, (const uint8_t *)"ab", 2);
	chardev_push_input(c, (const uint8_t *)"", 0); /* nothing pushed, no notify */
	chardev_push_input(c, (const uint8_t *)"\xff", 1);
	g_assert_cmpint(notified, ==, 2);
	g_assert_cmpuint(chardev_input_pending(c), ==, 3);
	g_assert_cmpint(chardev_input_peek(c), ==, 'a');
	g_assert_cmpint(chardev_input_take(c), ==, 'a');
	g_assert_cmpint(chardev_input_take(c), ==, 'b');
	g_assert_cmpint(chardev_input_take(c), ==, 0xff); /* a byte, never -1 */
	g_assert_cmpint(chardev_input_take(c), ==, -1);
	g_assert_cmpuint(chardev_input_pending(c), ==, 0);
	chardev_free(c);
}

/* Many pushes and takes keep the order (the queue compacts itself). */
static void test_input_queue_long_run(void)
{
	struct chardev *c = chardev_new_null();
	uint8_t next_in = 0, next_out = 0;
	for (int round = 0; round < 1000; round++) {
		uint8_t buf[37];
		for (size_t i = 0; i < sizeof buf; i++)
			buf[i] = next_in++;
		chardev_push_input(c, buf, sizeof buf);
		for (int i = 0; i < 30; i++)
			g_assert_cmpint(chardev_input_take(c), ==, next_out++);
	}
	while (chardev_input_pending(c))
		g_assert_cmpint(chardev_input_take(c), ==, next_out++);
	g_assert_cmpuint(next_in, ==, next_out);
	chardev_free(c);
}

static void test_save_restore_input(void)
{
	struct chardev *c = chardev_new_buffer();
	chardev_push_input(c, (const uint8_t *)"xyz", 3);
	chardev_input_take(c);
	GByteArray *blob = g_byte_array_new();
	chardev_save(c, blob);
	g_assert_cmpint(chardev_input_take(c), ==, 'y');
	chardev_push_input(c, (const uint8_t *)"more", 4);

	GError *err = NULL;
	g_assert_true(chardev_restore(c, blob->data, blob->len, &err));
	g_assert_no_error(err);
	g_assert_cmpuint(chardev_input_pending(c), ==, 2);
	g_assert_cmpint(chardev_input_take(c), ==, 'y');
	g_assert_cmpint(chardev_input_take(c), ==, 'z');

	/* a truncated blob is refused and changes nothing */
	chardev_push_input(c, (const uint8_t *)"k", 1);
	g_assert_false(chardev_restore(c, blob->data, blob->len - 1, &err));
	g_assert_error(err, NESTLAB_ERROR, NESTLAB_ERROR_STATE);
	g_clear_error(&err);
	g_assert_false(chardev_restore(c, blob->data, 3, &err));
	g_assert_error(err, NESTLAB_ERROR, NESTLAB_ERROR_STATE);
	g_clear_error(&err);
	g_assert_cmpuint(chardev_input_pending(c), ==, 1);
	g_assert_cmpint(chardev_input_peek(c), ==, 'k');
	g_byte_array_unref(blob);
	chardev_free(c);
}

static void test_poll_stdin_only_for_stdio(void)
{
	struct chardev *c = chardev_new_buffer();
	g_assert_false(chardev_poll_stdin(c));
	g_assert_cmpuint(chardev_input_pending(c), ==, 0);
	chardev_free(c);
}

/* stdin replaced by a pipe: available bytes are queued, then EOF. */
static void test_poll_stdin_reads_then_eof(void)
{
	int fds[2];
	g_assert_cmpint(pipe(fds), ==, 0);
	int saved = dup(STDIN_FILENO);
	g_assert_cmpint(dup2(fds[0], STDIN_FILENO), ==, STDIN_FILENO);
	close(fds[0]);

	struct chardev *c = chardev_new_stdio();
	int notified = 0;
	chardev_set_input_notify(c, notify_count, &notified);
	g_assert_true(chardev_poll_stdin(c)); /* nothing yet: no block, still open */
	g_assert_cmpuint(chardev_input_pending(c), ==, 0);
	g_assert_cmpint(write(fds[1], "hi", 2), ==, 2);
	g_assert_true(chardev_poll_stdin(c));
	g_assert_cmpuint(chardev_input_pending(c), ==, 2);
	g_assert_cmpint(notified, ==, 1);
	close(fds[1]);
	g_assert_false(chardev_poll_stdin(c));
	g_assert_cmpint(chardev_input_take(c), ==, 'h');
	g_assert_cmpint(chardev_input_take(c), ==, 'i');
	chardev_free(c);

	dup2(saved, STDIN_FILENO);
	close(saved);
}

static void log_stdin(void *opaque, const uint8_t *buf, size_t len)
{
	g_byte_array_append(opaque, buf, (guint)len);
}

/* The stdin log sees exactly what was read, after it was queued; pushes
 * from elsewhere are not stdin's. */
static void test_poll_stdin_logs_what_it_read(void)
{
	int fds[2];
	g_assert_cmpint(pipe(fds), ==, 0);
	int saved = dup(STDIN_FILENO);
	g_assert_cmpint(dup2(fds[0], STDIN_FILENO), ==, STDIN_FILENO);
	close(fds[0]);

	struct chardev *c = chardev_new_stdio();
	GByteArray *seen = g_byte_array_new();
	chardev_set_stdin_log(c, log_stdin, seen);
	chardev_push_input(c, (const uint8_t *)"x", 1);
	g_assert_true(chardev_poll_stdin(c));
	g_assert_cmpuint(seen->len, ==, 0);
	g_assert_cmpint(write(fds[1], "ls\n", 3), ==, 3);
	g_assert_true(chardev_poll_stdin(c));
	g_assert_cmpmem(seen->data, seen->len, "ls\n", 3);
	g_assert_cmpuint(chardev_input_pending(c), ==, 4);
	close(fds[1]);
	g_assert_false(chardev_poll_stdin(c));
	g_assert_cmpuint(seen->len, ==, 3);
	g_byte_array_unref(seen);
	chardev_free(c);

	dup2(saved, STDIN_FILENO);
	close(saved);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/chardev/buffer/keeps-output-and-tees", test_buffer_keeps_output_and_tees);
	g_test_add_func("/chardev/null/discards-but-keeps-copy", test_null_discards_but_keeps_copy);
	g_test_add_func("/chardev/file/truncates-and-writes", test_file_truncates_and_writes);
	g_test_add_func("/chardev/file/open-failure-is-an-error", test_file_open_failure_is_an_error);
	g_test_add_func("/chardev/output/cap-keeps-tail", test_output_cap_keeps_tail);
	g_test_add_func("/chardev/input/order-and-notify", test_input_queue_order_and_notify);
	g_test_add_func("/chardev/input/long-run-keeps-order", test_input_queue_long_run);
	g_test_add_func("/chardev/input/save-restore", test_save_restore_input);
	g_test_add_func("/chardev/stdin/only-for-stdio", test_poll_stdin_only_for_stdio);
	g_test_add_func("/chardev/stdin/reads-then-eof", test_poll_stdin_reads_then_eof);
	g_test_add_func("/chardev/stdin/logs-what-it-read", test_poll_stdin_logs_what_it_read);
	return g_test_run();
}
