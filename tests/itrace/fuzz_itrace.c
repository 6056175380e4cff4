/*
 * fuzz_itrace.c - fuzz target for the instruction trace reader (libFuzzer's
 * entry point; tests/fuzz/fuzz_bytes_driver.c runs it in the suite with
 * deterministic inputs).
 *
 * The container's checksums stop nearly every mutation of a whole file
 * before it reaches this reader, so each input is used three ways: as a
 * whole file; as the payload of a block record in a container written
 * here (valid checksums, a valid trace head); and the same with a valid
 * block header in front, so that the bytes reach the step decoder. Every
 * query then runs over what opened. Invariant: nothing crashes, and a
 * failure always comes with an error.
 */
#include <stdlib.h>
#include <string.h>

#include "itrace-format.h"
#include "trcfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool count(void *opaque, const struct trc_itrace_step *s)
{
	++*(uint64_t *)opaque;
	return s->n_writes < 1000000;
}

static void exercise(GBytes *b)
{
	GError *error = NULL;
	struct trc_itrace_reader *r = trc_itrace_open_bytes(b, "fuzz.itrace", &error);
	if (!r) {
		if (!error)
			abort();
		g_error_free(error);
		return;
	}
	uint64_t n = 0;
	if (!trc_itrace_foreach(r, 0, 0, count, &n, &error)) {
		if (!error)
			abort();
		g_clear_error(&error);
	}
	struct trc_itrace_hit h;
	if (trc_itrace_prev_write(r, 0x1000, false, UINT64_MAX, &h, &error) < 0)
		g_clear_error(&error);
	if (trc_itrace_prev_eip(r, 0, UINT64_MAX, &h, &error) < 0)
		g_clear_error(&error);
	struct trc_itrace_info info;
	trc_itrace_get_info(r, &info);
	trc_itrace_close(r);
}

/* A container with a valid head and `payload` as its one block. */
static GBytes *wrap(const uint8_t *payload, size_t len)
{
	struct trc_file_writer *w = trc_file_create_memory(TRC_FILE_RECORDING);
	uint8_t h[ITRACE_HEAD_LEN] = {0};
	memcpy(h, ITRACE_MAGIC, 8);
	put_le32(h + 8, ITRACE_VERSION);
	put_le32(h + 12, TRC_ITRACE_BLOCK_DEFAULT);
	trc_file_append(w, TRC_ITRACE_HEAD, 0, h, sizeof h, false, NULL);
	trc_file_append(w, TRC_ITRACE_BLOCK, 0, payload, len, true, NULL);
	return trc_file_finish_bytes(w, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GBytes *b = g_bytes_new(data, size);
	exercise(b);
	g_bytes_unref(b);
	b = wrap(data, size);
	exercise(b);
	g_bytes_unref(b);
	/* a valid block header (step count from the input) before the bytes */
	size_t len = ITRACE_BLOCK_HEAD + size;
	uint8_t *p = g_malloc0(len);
	p[0] = 'I';
	p[1] = ITRACE_BLOCK_VERSION;
	put_le32(p + 4, 1 + (size ? data[0] : 0) % 64);
	memcpy(p + ITRACE_BLOCK_HEAD, data, size);
	b = wrap(p, len);
	exercise(b);
	g_bytes_unref(b);
	g_free(p);
	return 0;
}
