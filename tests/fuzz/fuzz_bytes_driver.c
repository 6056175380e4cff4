/*
 * fuzz_bytes_driver.c - runs a byte-oriented fuzz target without
 * libFuzzer, for the test suite (under AddressSanitizer and UBSan):
 *
 *   DRIVER FILE...                 each file as one input
 *   DRIVER -n N [--seed FILE]...   N deterministic inputs: random bytes, or,
 *                                  with seeds, mutations of them (byte flips,
 *                                  32-bit fields set to edge values,
 *                                  truncation, growth)
 *
 * The same N and seeds always give the same inputs, so a failure repeats.
 */
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static const uint32_t edges[] = {
	0, 1, 0x7f, 0x80, 0xff, 0x100, 0x1000, 0x7fffffff, 0x80000000u, 0xffffffffu,
	0xfffff000u, 0x100000, 0x1badb002u, 0x0a0000, 0x9fc00, 0x10000000,
};

/* A mutation of `seed` into a new buffer of *len bytes. */
static uint8_t *mutate(const GBytes *seed, size_t *len)
{
	gsize n;
	const uint8_t *src = g_bytes_get_data((GBytes *)seed, &n);
	size_t cap = n + 4096;
	uint8_t *b = g_malloc(cap);
	memcpy(b, src, n);
	size_t size = n;
	int rounds = 1 + (int)(next() % 8);
	for (int r = 0; r < rounds && size; r++) {
		/* Most of the structure is in the first 8 KiB: aim there. */
		size_t hot = size < 8192 ? size : 8192;
		switch (next() % 5) {
		case 0:
			b[next() % hot] ^= (uint8_t)(1u << (next() % 8));
			break;
		case 1:
			b[next() % hot] = (uint8_t)next();
			break;
		case 2:
			if (hot >= 4) {
				uint32_t v = edges[next() % G_N_ELEMENTS(edges)];
				memcpy(b + (next() % (hot - 3) & ~3u), &v, 4);
			}
			break;
		case 3:
			size = next() % (size + 1);
			break;
		default: {
			size_t grow = next() % 512;
			if (size + grow <= cap) {
				for (size_t i = 0; i < grow; i++)
					b[size + i] = (uint8_t)next();
				size += grow;
			}
			break;
		}
		}
	}
	*len = size;
	return b;
}

static uint8_t *random_input(size_t *len)
{
	size_t size = next() % 2048;
	uint8_t *b = g_malloc(size + 1);
	for (size_t i = 0; i < size; i++)
		b[i] = (uint8_t)next();
	*len = size;
	return b;
}

int main(int argc, char **argv)
{
	long count = 0;
	GPtrArray *seeds = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	int files = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			count = strtol(argv[++i], NULL, 10);
			continue;
		}
		bool is_seed = strcmp(argv[i], "--seed") == 0 && i + 1 < argc;
		const char *path = is_seed ? argv[++i] : argv[i];
		gchar *data;
		gsize n;
		if (!g_file_get_contents(path, &data, &n, NULL)) {
			fprintf(stderr, "fuzz driver: cannot read %s\n", path);
			return 2;
		}
		if (is_seed) {
			g_ptr_array_add(seeds, g_bytes_new_take(data, n));
		} else {
			LLVMFuzzerTestOneInput((const uint8_t *)data, n);
			g_free(data);
			files++;
		}
	}
	for (long k = 0; k < count; k++) {
		size_t len;
		uint8_t *in = seeds->len ? mutate(g_ptr_array_index(seeds, next() % seeds->len), &len)
		                         : random_input(&len);
		LLVMFuzzerTestOneInput(in, len);
		g_free(in);
	}
	printf("fuzz driver: %d files and %ld generated inputs from %u seeds, no crash\n", files,
	       count, seeds->len);
	g_ptr_array_free(seeds, TRUE);
	return 0;
}
