/*
 * guests/hello/main.c - the demo guest: a C program that boots from the
 * reset vector (through guests/lib/crt/crt0.asm), greets on the debug
 * console, computes something visible and exits with status 0.
 *
 * It also checks that its own C runtime works: initialized data was copied
 * from ROM to RAM and .bss was zeroed. Every result is deterministic, so
 * the output is identical on nestlab, QEMU and Bochs.
 */
#include <stdint.h>

#include "debugcon.h"
#include "io.h"

#define PRIME_LIMIT 1000u       /* sieve bound */
#define PRIMES_SHOWN 20u        /* how many primes to print */
#define PRIME_COUNT_1000 168u   /* pi(1000) */
#define PRIME_SUM_1000 76127u   /* sum of the primes below 1000 */

/* In .data: crt0 must copy this from ROM. */
static uint32_t data_marker = 0x6E657374u;      /* "nest" */
/* In .bss: crt0 must zero it. */
static uint8_t composite[PRIME_LIMIT];
static int failures;

/* Print PASS or FAIL for one named check. */
static void check(const char *name, uint32_t got, uint32_t want)
{
	if (got == want) {
		dbg_printf("PASS: %s\n", name);
	} else {
		dbg_printf("FAIL: %s (got %u, expected %u)\n", name, got, want);
		failures++;
	}
}

/* Return 1 if every byte of buf is zero. */
static int all_zero(const uint8_t *buf, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (buf[i])
			return 0;
	return 1;
}

/* Sieve of Eratosthenes over [2, PRIME_LIMIT); prints the first primes and
 * returns their count, storing their sum in *sum. */
static uint32_t sieve(uint32_t *sum)
{
	uint32_t count = 0;

	*sum = 0;
	dbg_printf("first %u primes:", PRIMES_SHOWN);
	for (uint32_t i = 2; i < PRIME_LIMIT; i++) {
		if (composite[i])
			continue;
		if (count < PRIMES_SHOWN)
			dbg_printf(" %u", i);
		count++;
		*sum += i;
		for (uint32_t j = i * i; j < PRIME_LIMIT; j += i)
			composite[j] = 1;
	}
	dbg_printf("\n");
	return count;
}

/* Print the CPUID vendor string (leaf 0: EBX, EDX, ECX). */
static void print_vendor(void)
{
	uint32_t r[4];
	char vendor[13];

	cpuid(0, r);
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	vendor[12] = '\0';
	dbg_printf("CPU vendor: %s, max CPUID leaf %u\n", vendor, r[0]);
}

int main(void)
{
	uint32_t sum, count;

	post(0x01);
	dbg_printf("nestlab demo guest: hello from protected mode\n");
	check("data copied from ROM", data_marker, 0x6E657374u);
	check("bss zeroed", (uint32_t)all_zero(composite, sizeof(composite)), 1);
	print_vendor();
	count = sieve(&sum);
	dbg_printf("primes below %u: %u, their sum: %u\n", PRIME_LIMIT, count, sum);
	check("prime count below 1000", count, PRIME_COUNT_1000);
	check("prime sum below 1000", sum, PRIME_SUM_1000);
	post(0x02);
	dbg_printf(failures ? "hello: FAILED\n" : "hello: done\n");
	return failures ? 1 : 0;
}
