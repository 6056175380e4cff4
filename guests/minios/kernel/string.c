/*
 * string.c - the memory and string functions the kernel (and GCC, which may
 * call memset/memcpy/memmove itself) need. Each behaves as the C standard
 * says; memcpy is memmove, so overlap is harmless.
 */
#include "defs.h"

/* With REP STOSB, as xv6 does: freeing all of RAM at boot fills every
 * page, and a byte loop would make that most of the boot's work. */
void *memset(void *dst, int c, size_t n)
{
	void *d = dst;
	__asm__ volatile("cld; rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (s < d && s + n > d) {	/* overlap: copy backwards */
		while (n-- > 0)
			d[n] = s[n];
	} else {
		while (n-- > 0)
			*d++ = *s++;
	}
	return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	return memmove(dst, src, n);
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;

	for (; n > 0; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n > 0 && *a && *a == *b; n--, a++, b++)
		;
	if (n == 0)
		return 0;
	return (unsigned char)*a - (unsigned char)*b;
}

/* Copy at most n-1 characters and always terminate dst (unlike strncpy). */
char *safestrcpy(char *dst, const char *src, size_t n)
{
	char *d = dst;

	if (n == 0)
		return dst;
	while (--n > 0 && (*d++ = *src++) != 0)
		;
	*d = 0;
	return dst;
}
