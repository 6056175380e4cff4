/*
 * make_seeds.c - writes the fuzz target's seed files into a directory:
 * small finished and unfinished recordings and a snapshot, each under
 * 8 KiB so that the fuzz driver's mutations reach all of their structure,
 * and one packed checkpoint.
 *
 *   make-seeds DIR
 */
#include <stdio.h>

#include "sample.h"

static void put(const char *dir, const char *name, GBytes *b)
{
	char *path = g_build_filename(dir, name, NULL);
	gsize n;
	const void *p = g_bytes_get_data(b, &n);
	if (!g_file_set_contents(path, p, (gssize)n, NULL)) {
		fprintf(stderr, "make-seeds: cannot write %s\n", path);
		exit(1);
	}
	g_free(path);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: make-seeds DIR\n");
		return 64;
	}
	GPtrArray *recs = sample_records();
	GBytes *b = sample_file(TRC_FILE_RECORDING, recs, true);
	put(argv[1], "seed-recording.nlb", b);
	g_bytes_unref(b);
	b = sample_file(TRC_FILE_RECORDING, recs, false);
	put(argv[1], "seed-unfinished.nlb", b);
	g_bytes_unref(b);
	g_ptr_array_set_size(recs, 2);
	b = sample_file(TRC_FILE_SNAPSHOT, recs, true);
	put(argv[1], "seed-snapshot.nlb", b);
	g_bytes_unref(b);
	GBytes *text = sample_payload(3000, 1, true);
	GByteArray *packed = g_byte_array_new();
	trc_file_pack(g_bytes_get_data(text, NULL), 3000, 3, packed, NULL);
	b = g_bytes_new(packed->data, packed->len);
	put(argv[1], "seed-packed.zst", b);
	g_bytes_unref(b);
	g_byte_array_free(packed, TRUE);
	g_bytes_unref(text);
	g_ptr_array_free(recs, TRUE);
	return 0;
}
