/*
 * guests/vmtest/cpubound - CPU-bound work for the monitor's benchmark.
 *
 * The same two kernels as the CPU benchmark ROM (guests/bench/bench.asm),
 * in C on the multiboot runtime, so they can run bare and under the
 * monitor: (A) load/ALU/store passes over a 16 KiB array, (B) recursive
 * Fibonacci. Nothing here traps: under a monitor it measures what the
 * monitor costs code that never leaves the guest (its target is 0.95x of
 * the bare speed, tests/bench/monitor_bench.py).
 *
 * The kernel command line sets the amount of work: "passes=N fib=M"
 * (defaults 2 and 2, a quick check). It prints a checksum (the same bare,
 * under any monitor and on QEMU) and exits with status 0.
 */
#include "rt.h"

#define WORDS 4096

static uint32_t array[WORDS];

static uint32_t fib(uint32_t n)
{
	return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/* The number after "key=" in the command line, or `dflt`. */
static uint32_t arg(const char *key, uint32_t dflt)
{
	const struct mb_info *mb = rt_mb_info();
	if (!mb || !(mb->flags & 4) || !mb->cmdline)
		return dflt;
	const char *s = (const char *)mb->cmdline;
	size_t k = strlen(key);
	for (; *s; s++) {
		if (strncmp(s, key, k) == 0 && s[k] == '=') {
			uint32_t v = 0;
			for (s += k + 1; *s >= '0' && *s <= '9'; s++)
				v = v * 10 + (uint32_t)(*s - '0');
			return v;
		}
	}
	return dflt;
}

int main(void)
{
	uint32_t passes = arg("passes", 2), reps = arg("fib", 2), sum = 0;
	for (uint32_t i = 0; i < WORDS; i++)
		array[i] = i * 2654435761u;
	for (uint32_t p = 0; p < passes; p++)
		for (uint32_t i = 0; i < WORDS; i++) {
			uint32_t v = array[i];
			v = (v ^ (v >> 7)) + p;
			v = (v << 3) | (v >> 29);
			array[i] = v;
			sum += v;
		}
	for (uint32_t r = 0; r < reps; r++)
		sum += fib(22);
	rt_printf("cpubound: passes=%u fib=%u csum=%08x\n", passes, reps, sum);
	/* fib(22) = 17711; each pass adds a known amount only on this data, so
	 * the check is on what does not depend on the amount of work. */
	rt_check_eq(fib(22), 17711, "recursive fib(22)");
	rt_done();
	return 0;
}
