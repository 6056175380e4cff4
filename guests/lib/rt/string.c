/*
 * guests/lib/rt/string.c - the few libc memory and string functions a
 * freestanding kernel needs (GCC may also emit calls to memset/memcpy/
 * memmove/memcmp on its own).
 */
#include "rt.h"

/* The string instructions, a dword at a time, then the tail: a byte loop
 * costs a guest monitor (guests/tinyvmm) a quarter million instructions for
 * every 64 KiB table it clears. */
void *memset(void *dst, int c, size_t n)
{
	void *d = dst;
	size_t words = n / 4, tail = n & 3;
	uint32_t v = (uint8_t)c * 0x01010101u;

	__asm__ volatile("rep stosl\n\t"
			 "mov %[tail], %%ecx\n\t"
			 "rep stosb"
			 : "+D"(d), "+c"(words)
			 : "a"(v), [tail] "r"(tail)
			 : "memory");
	return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;
	const void *s = src;
	size_t words = n / 4, tail = n & 3;

	__asm__ volatile("rep movsl\n\t"
			 "mov %[tail], %%ecx\n\t"
			 "rep movsb"
			 : "+D"(d), "+S"(s), "+c"(words)
			 : [tail] "r"(tail)
			 : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;

	for (; n; n--, p++, q++)
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

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (!*s)
			return NULL;
	}
}
