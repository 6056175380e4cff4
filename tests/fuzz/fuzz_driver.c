/*
 * fuzz_driver.c - runs the fuzz target without libFuzzer: on the files
 * given on the command line, or on N deterministic pseudo-random inputs
 * (structured: a header plus x86-looking code) when given `-n N`.
 * Used by the test suite under AddressSanitizer and UBSan.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "fuzz-cpu: cannot open %s\n", path);
		return 1;
	}
	static uint8_t buf[1 << 20];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	return 0;
}

int main(int argc, char **argv)
{
	long count = 0;
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			count = strtol(argv[++i], NULL, 10);
		else
			rc |= run_file(argv[i]);
	}
	static uint8_t buf[64 + 8192];
	for (long k = 0; k < count; k++) {
		size_t size = 64 + 64 + next() % 8000;
		for (size_t i = 0; i < size; i++)
			buf[i] = (uint8_t)next();
		/* Bias some inputs toward sane descriptor tables and small ESP. */
		if (k & 1) {
			buf[32] = (uint8_t)(k % 8);
			buf[44] = 0x2f;
			buf[46] = 0xff;
		}
		LLVMFuzzerTestOneInput(buf, size);
	}
	printf("fuzz-cpu: %ld generated inputs and %d files ran without a crash\n", count, argc - 1);
	return rc;
}
