/*
 * fuzz_driver.c - runs the fuzz target without libFuzzer: on the files
 * given on the command line, or on N deterministic pseudo-random inputs
 * (structured: a header plus x86-looking code) when given `-n N`; with
 * `-o DIR` it also writes them there, as seeds for a libFuzzer corpus.
 * Used by the test suite under AddressSanitizer and UBSan.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern unsigned long long fuzz_insns_total;

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void put32(uint8_t *mem, size_t size, uint32_t at, uint32_t v)
{
	if (64 + at + 4 <= size)
		for (int i = 0; i < 4; i++)
			mem[64 + at + i] = (uint8_t)(v >> (8 * i));
}

static void put_desc(uint8_t *m, size_t size, uint32_t at, uint32_t base, uint32_t limit, uint32_t attr)
{
	put32(m, size, at, (limit & 0xffff) | (base & 0xffff) << 16);
	put32(m, size, at + 4, ((base >> 16) & 0xff) | (attr & 0xf0ff) << 8 | (limit & 0xf0000) | (base & 0xff000000u));
}

/* GDT at 0x100 (code 0x08, data 0x10, code3 0x18, data3 0x20, TSS 0x28),
 * IDT at 0x400 with 128 valid gates into the random code, TSS at 0x800,
 * and a page directory at 0x3000 of 4 MiB identity pages. */
static void make_sane(uint8_t *b, size_t size, int mode)
{
	b[32] = (uint8_t)mode;
	b[44] = 0x2f;
	b[45] = 0;
	b[46] = 0xff;
	b[47] = 0x03;
	b[48] = 0x10; /* CR4.PSE */
	put_desc(b, size, 0x100, 0, 0, 0);
	put_desc(b, size, 0x108, 0, 0xfffff, 0xc09b);
	put_desc(b, size, 0x110, 0, 0xfffff, 0xc093);
	put_desc(b, size, 0x118, 0, 0xfffff, 0xc0fb);
	put_desc(b, size, 0x120, 0, 0xfffff, 0xc0f3);
	put_desc(b, size, 0x128, 0x800, 0x67, 0x008b);
	for (uint32_t v = 0; v < 128; v++) {
		uint32_t off = 0x1000 + (next() & 0x7fff);
		uint32_t type = (next() & 1) ? 0xe : 0xf;
		put32(b, size, 0x400 + 8 * v, (off & 0xffff) | 0x08u << 16);
		put32(b, size, 0x400 + 8 * v + 4, (off & 0xffff0000u) | 0x8000u | 3u << 13 | type << 8);
	}
	put32(b, size, 0x800 + 4, 0x9000);
	put32(b, size, 0x800 + 8, 0x10);
	for (uint32_t i = 0; i < 8; i++)
		put32(b, size, 0x3000 + 4 * i, (i << 22) | 0x87);
	b[40] = 0x00;
	b[41] = (uint8_t)(0x10 + (next() & 0x3f));
}

/* Saves a generated input as a seed for libFuzzer (-o DIR). */
static void write_seed(const char *dir, long k, const uint8_t *buf, size_t size)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/seed-%05ld", dir, k);
	FILE *f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "fuzz-cpu: cannot write %s\n", path);
		return;
	}
	fwrite(buf, 1, size, f);
	fclose(f);
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
	int rc = 0, files = 0;
	const char *seed_dir = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			count = strtol(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
			seed_dir = argv[++i];
		} else {
			rc |= run_file(argv[i]);
			files++;
		}
	}
	static uint8_t buf[64 + 0x8000];
	for (long k = 0; k < count; k++) {
		size_t size = 64 + 0x1000 + next() % 0x7000;
		for (size_t i = 0; i < size; i++)
			buf[i] = (uint8_t)next();
		/* Three inputs in four get sane tables, so execution goes on past
		 * the first fault: the random code is reached again through valid
		 * gates, stacks and page tables, and delivery paths get exercised. */
		if (k % 4)
			make_sane(buf, size, (int)(k % 8));
		if (seed_dir)
			write_seed(seed_dir, k, buf, size);
		LLVMFuzzerTestOneInput(buf, size);
	}
	printf("fuzz-cpu: %ld generated inputs and %d files ran without a crash (%llu guest instructions)\n",
	       count, files, (unsigned long long)fuzz_insns_total);
	return rc;
}
