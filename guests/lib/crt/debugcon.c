/*
 * guests/lib/crt/debugcon.c - printf-like output on port 0xE9 and the few
 * libc functions a freestanding guest needs.
 */
#include <stdint.h>

#include "debugcon.h"
#include "io.h"

void dbg_putc(char c)
{
	outb(PORT_DEBUGCON, (uint8_t)c);
}

void dbg_puts(const char *s)
{
	while (*s)
		dbg_putc(*s++);
}

/* One conversion's settings. */
struct fmt_spec {
	int width;
	char pad;       /* ' ' or '0' */
	int left;       /* '-' flag: pad on the right */
};

/* Print `s` (length n) padded as `spec` asks; returns characters printed. */
static int emit_padded(const char *s, int n, const struct fmt_spec *spec)
{
	int count = 0;

	if (!spec->left && spec->pad == '0' && n > 0 && s[0] == '-') {
		dbg_putc('-');
		s++;
		n--;
		count++;
		for (int i = n + 1; i < spec->width; i++, count++)
			dbg_putc('0');
	} else if (!spec->left) {
		for (int i = n; i < spec->width; i++, count++)
			dbg_putc(spec->pad);
	}
	for (int i = 0; i < n; i++, count++)
		dbg_putc(s[i]);
	if (spec->left)
		for (int i = n; i < spec->width; i++, count++)
			dbg_putc(' ');
	return count;
}

/* Format `v` in `base` into the end of buf[12]; returns the start. */
static char *format_unsigned(char *end, uint32_t v, unsigned base, int upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	*--end = '\0';
	do {
		*--end = digits[v % base];
		v /= base;
	} while (v);
	return end;
}

int dbg_vprintf(const char *fmt, va_list ap)
{
	int count = 0;
	char buf[16];

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			dbg_putc(*fmt);
			count++;
			continue;
		}
		struct fmt_spec spec = { 0, ' ', 0 };
		fmt++;
		for (;; fmt++) {
			if (*fmt == '0')
				spec.pad = '0';
			else if (*fmt == '-')
				spec.left = 1;
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			spec.width = spec.width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'h')
			fmt++;

		const char *s;
		char *end = buf + sizeof(buf);
		switch (*fmt) {
		case 'c':
			buf[0] = (char)va_arg(ap, int);
			count += emit_padded(buf, 1, &spec);
			continue;
		case 's':
			s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			count += emit_padded(s, (int)strlen(s), &spec);
			continue;
		case 'd':
		case 'i': {
			int32_t v = va_arg(ap, int32_t);
			uint32_t mag = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
			s = format_unsigned(end, mag, 10, 0);
			if (v < 0)
				*(char *)--s = '-';
			break;
		}
		case 'u':
			s = format_unsigned(end, va_arg(ap, uint32_t), 10, 0);
			break;
		case 'x':
		case 'X':
			s = format_unsigned(end, va_arg(ap, uint32_t), 16, *fmt == 'X');
			break;
		case 'p':
			dbg_puts("0x");
			count += 2;
			spec.width = 8;
			spec.pad = '0';
			s = format_unsigned(end, (uint32_t)(uintptr_t)va_arg(ap, void *), 16, 0);
			break;
		case '%':
			dbg_putc('%');
			count++;
			continue;
		case '\0':
			return count;
		default:
			dbg_putc('%');
			dbg_putc(*fmt);
			count += 2;
			continue;
		}
		count += emit_padded(s, (int)strlen(s), &spec);
	}
	return count;
}

int dbg_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = dbg_vprintf(fmt, ap);
	va_end(ap);
	return n;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	uint8_t *d = dst;

	while (n--)
		*d++ = (uint8_t)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}
