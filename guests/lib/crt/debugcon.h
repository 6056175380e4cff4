/*
 * guests/lib/crt/debugcon.h - text output on the debug console (port 0xE9)
 * for freestanding C guests.
 */
#ifndef GUEST_DEBUGCON_H
#define GUEST_DEBUGCON_H

#include <stdarg.h>
#include <stddef.h>

/* Print one character. */
void dbg_putc(char c);

/* Print a NUL-terminated string (no newline added). */
void dbg_puts(const char *s);

/*
 * printf-like formatting to the debug console. Conversions: %c %s %d %i %u
 * %x %X %p %%, with an optional '0' flag, '-' flag and field width; 'l' and
 * 'h' length modifiers are accepted and ignored (int and long are both 32
 * bits here). Returns the number of characters printed.
 */
int dbg_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The same as dbg_printf with a va_list. */
int dbg_vprintf(const char *fmt, va_list ap);

/* Minimal string helpers the compiler may also emit calls to. */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#endif
