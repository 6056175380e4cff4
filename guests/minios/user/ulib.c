/*
 * ulib.c - the C library of minios user programs: start-up, strings, printf.
 * The string functions behave as the C standard says.
 */
#include "user.h"

/* exec() starts a program here, with argc and argv on the stack as for a call. */
void _start(int argc, char **argv)
{
	exit(main(argc, argv));
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

char *strcpy(char *dst, const char *src)
{
	char *d = dst;

	while ((*d++ = *src++) != 0)
		;
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;

	while (n-- > 0)
		*d++ = (unsigned char)c;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (s < d && s + n > d) {
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

/* The decimal number at the start of s (digits only, no sign); 0 if none. */
int atoi(const char *s)
{
	int n = 0;

	while (*s >= '0' && *s <= '9')
		n = n * 10 + (*s++ - '0');
	return n;
}

/* {====== printf ====== */

/* Output is collected in a buffer and written with one system call per
 * printf, so lines of different processes do not mix. */
struct out {
	int fd;
	int len;
	char buf[256];
};

static void flush(struct out *o)
{
	if (o->len > 0)
		write(o->fd, o->buf, o->len);
	o->len = 0;
}

static void put(struct out *o, char c)
{
	if (o->len == sizeof(o->buf))
		flush(o);
	o->buf[o->len++] = c;
}

static void put_padded(struct out *o, const char *s, int len, int width, int left, char pad)
{
	for (int i = len; !left && i < width; i++)
		put(o, pad);
	for (int i = 0; i < len; i++)
		put(o, s[i]);
	for (int i = len; left && i < width; i++)
		put(o, ' ');
}

static void put_number(struct out *o, uint32_t n, int base, int neg, int width, int left,
		       char pad)
{
	char buf[16];
	int len = 0;

	do {
		buf[sizeof(buf) - 1 - len++] = "0123456789abcdef"[n % base];
		n /= base;
	} while (n);
	if (neg)
		buf[sizeof(buf) - 1 - len++] = '-';
	put_padded(o, buf + sizeof(buf) - len, len, width, left, pad);
}

/* printf with %d %u %x %s %c %%, a width, '-' and '0'; longer output than
 * the buffer goes out in several writes. */
static void vprintf(int fd, const char *fmt, va_list ap)
{
	struct out o = {.fd = fd};

	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			put(&o, *f);
			continue;
		}
		int left = 0, width = 0;
		char pad = ' ';
		if (*++f == '-')
			left = 1, f++;
		if (*f == '0')
			pad = '0', f++;
		for (; *f >= '0' && *f <= '9'; f++)
			width = width * 10 + *f - '0';
		if (*f == 'd') {
			int v = va_arg(ap, int);
			put_number(&o, v < 0 ? -(uint32_t)v : (uint32_t)v, 10, v < 0, width, left, pad);
		} else if (*f == 'u') {
			put_number(&o, va_arg(ap, uint32_t), 10, 0, width, left, pad);
		} else if (*f == 'x') {
			put_number(&o, va_arg(ap, uint32_t), 16, 0, width, left, pad);
		} else if (*f == 's') {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			put_padded(&o, s, strlen(s), width, left, ' ');
		} else if (*f == 'c') {
			put(&o, (char)va_arg(ap, int));
		} else if (*f == 0) {
			break;
		} else {
			put(&o, '%');
			put(&o, *f);
		}
	}
	flush(&o);
}

/* Formatted output to the standard output, in one write(). */
void printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(STDOUT, fmt, ap);
	va_end(ap);
}

/* Formatted output to file descriptor fd, in one write() (per 256 bytes). */
void fprintf(int fd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fd, fmt, ap);
	va_end(ap);
}

/* }====== */
