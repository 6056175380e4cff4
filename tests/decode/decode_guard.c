/*
 * decode_guard.c - a readable page followed by a PROT_NONE page, and a
 * SIGSEGV handler that names the sequence being decoded.
 */
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <glib.h>

#include "decode_guard.h"

#define GUARD_MAX 64

static uint8_t *page_end;
static volatile size_t cur_n; /* bytes of the sequence being decoded */

/* Async-signal-safe: formats with a table and write(2) only. */
static void on_segv(int sig)
{
	static const char digits[] = "0123456789abcdef";
	static const char head[] = "\ndecoder read past the end of the bytes it was given:";
	char line[GUARD_MAX * 3 + 2];
	size_t k = 0, n = cur_n;
	for (size_t i = 0; i < n && i < GUARD_MAX; i++) {
		uint8_t c = page_end[i - n];
		line[k++] = ' ';
		line[k++] = digits[c >> 4];
		line[k++] = digits[c & 15];
	}
	line[k++] = '\n';
	(void)!write(STDERR_FILENO, head, sizeof head - 1);
	(void)!write(STDERR_FILENO, line, k);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void guard_init(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *m =
	        mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	g_assert_true(m != MAP_FAILED);
	g_assert_cmpint(mprotect(m + page, page, PROT_NONE), ==, 0);
	page_end = m + page;
	signal(SIGSEGV, on_segv);
}

const uint8_t *guard_copy(const uint8_t *b, size_t n)
{
	g_assert_cmpuint(n, <=, GUARD_MAX);
	if (!page_end)
		guard_init();
	cur_n = n;
	memcpy(page_end - n, b, n);
	return page_end - n;
}
