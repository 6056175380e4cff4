/*
 * guests/lib/rt/format.c - the printf engine of the runtime and
 * rt_snprintf.
 *
 * 64-bit conversions divide with 32-bit operations only (16 bits at a
 * time), because a freestanding kernel links no libgcc for __udivdi3.
 */
#include "rt.h"
#include "rt_internal.h"

/* One conversion's settings. */
struct spec {
	int width;
	bool zero;  /* '0' flag: pad with zeros after the sign */
	bool left;  /* '-' flag: pad on the right */
	int prec;   /* '.' precision: most chars of %s, fewest digits; -1: none */
	int longs;  /* number of 'l' */
};

/* The output state shared by the helpers. */
struct out {
	rt_sink sink;
	void *ctx;
	int count;
};

static void emit(struct out *o, char c)
{
	o->sink(o->ctx, c);
	o->count++;
}

static void emit_repeat(struct out *o, char c, int n)
{
	while (n-- > 0)
		emit(o, c);
}

/* Emit sign (or 0) and the n digits at s, padded as sp asks. */
static void emit_field(struct out *o, const struct spec *sp, char sign, const char *s, int n)
{
	int len = n + (sign != 0);

	if (!sp->left && !sp->zero)
		emit_repeat(o, ' ', sp->width - len);
	if (sign)
		emit(o, sign);
	if (!sp->left && sp->zero)
		emit_repeat(o, '0', sp->width - len);
	for (int i = 0; i < n; i++)
		emit(o, s[i]);
	if (sp->left)
		emit_repeat(o, ' ', sp->width - len);
}

/* v / base (base <= 16) with 32-bit divisions; the remainder goes to *rem. */
static uint64_t divmod64(uint64_t v, uint32_t base, uint32_t *rem)
{
	uint64_t q = 0;
	uint32_t r = 0;

	for (int shift = 48; shift >= 0; shift -= 16) {
		uint32_t cur = (r << 16) | (uint32_t)((v >> shift) & 0xFFFF);

		q |= (uint64_t)(cur / base) << shift;
		r = cur % base;
	}
	*rem = r;
	return q;
}

/* Write v in base into the end of buf (>= 24 bytes); returns the start. */
static char *digits(char *end, uint64_t v, uint32_t base, bool upper)
{
	const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	uint32_t r;

	do {
		v = divmod64(v, base, &r);
		*--end = set[r];
	} while (v);
	return end;
}

static void emit_number(struct out *o, const struct spec *sp, uint64_t v, uint32_t base, bool upper,
			char sign)
{
	char buf[24];
	char *end = buf + sizeof buf;
	char *s = digits(end, v, base, upper);

	while (sp->prec > end - s && s > buf)
		*--s = '0';
	emit_field(o, sp, sign, s, (int)(end - s));
}

/* Fetch an integer argument of sp's length; signed if is_signed. */
static uint64_t fetch_int(const struct spec *sp, va_list *ap, bool is_signed, bool *neg)
{
	int64_t sv;

	*neg = false;
	if (sp->longs >= 2) {
		if (!is_signed)
			return va_arg(*ap, uint64_t);
		sv = va_arg(*ap, int64_t);
	} else {
		if (!is_signed)
			return va_arg(*ap, uint32_t);
		sv = va_arg(*ap, int32_t);
	}
	if (sv < 0) {
		*neg = true;
		return (uint64_t)0 - (uint64_t)sv;
	}
	return (uint64_t)sv;
}

/* Parse flags, width and length at *pf into sp. */
static void parse_spec(const char **pf, struct spec *sp, va_list *ap)
{
	const char *f = *pf;

	*sp = (struct spec){ .prec = -1 };
	for (;; f++) {
		if (*f == '0')
			sp->zero = true;
		else if (*f == '-')
			sp->left = true;
		else
			break;
	}
	if (*f == '*') {
		sp->width = va_arg(*ap, int);
		if (sp->width < 0) {
			sp->left = true;
			sp->width = -sp->width;
		}
		f++;
	}
	while (*f >= '0' && *f <= '9')
		sp->width = sp->width * 10 + (*f++ - '0');
	if (*f == '.') {
		sp->prec = 0;
		if (*++f == '*') {
			sp->prec = va_arg(*ap, int);
			f++;
		}
		while (*f >= '0' && *f <= '9')
			sp->prec = sp->prec * 10 + (*f++ - '0');
		sp->zero = false; /* as in C: a precision turns the '0' flag off */
	}
	for (;; f++) {
		if (*f == 'l')
			sp->longs++;
		else if (*f != 'h' && *f != 'z')
			break;
	}
	if (sp->left)
		sp->zero = false;
	*pf = f;
}

/* Do the conversion c; returns false for an unknown one. */
static bool convert(struct out *o, struct spec *sp, char c, va_list *ap)
{
	bool neg;
	uint64_t v;

	switch (c) {
	case 'd':
	case 'i':
		v = fetch_int(sp, ap, true, &neg);
		emit_number(o, sp, v, 10, false, neg ? '-' : 0);
		return true;
	case 'u':
		emit_number(o, sp, fetch_int(sp, ap, false, &neg), 10, false, 0);
		return true;
	case 'x':
	case 'X':
		emit_number(o, sp, fetch_int(sp, ap, false, &neg), 16, c == 'X', 0);
		return true;
	case 'p':
		emit(o, '0');
		emit(o, 'x');
		*sp = (struct spec){ .width = 8, .zero = true, .prec = -1 };
		emit_number(o, sp, (uintptr_t)va_arg(*ap, void *), 16, false, 0);
		return true;
	case 'c': {
		char ch = (char)va_arg(*ap, int);

		sp->zero = false;
		emit_field(o, sp, 0, &ch, 1);
		return true;
	}
	case 's': {
		const char *s = va_arg(*ap, const char *);
		int len = 0;

		if (!s)
			s = "(null)";
		while (s[len] && (sp->prec < 0 || len < sp->prec))
			len++;
		sp->zero = false;
		emit_field(o, sp, 0, s, len);
		return true;
	}
	case '%':
		emit(o, '%');
		return true;
	default:
		return false;
	}
}

int rt_format(rt_sink sink, void *ctx, const char *fmt, va_list ap)
{
	struct out o = { sink, ctx, 0 };
	va_list aq;

	va_copy(aq, ap);
	while (*fmt) {
		const char *start = fmt;
		struct spec sp;

		if (*fmt != '%') {
			emit(&o, *fmt++);
			continue;
		}
		fmt++;
		parse_spec(&fmt, &sp, &aq);
		if (*fmt && convert(&o, &sp, *fmt, &aq)) {
			fmt++;
			continue;
		}
		while (start < fmt) /* unknown: print it as written */
			emit(&o, *start++);
		if (*fmt)
			emit(&o, *fmt++);
	}
	va_end(aq);
	return o.count;
}

/* {====== rt_snprintf */

struct buf_sink {
	char *buf;
	size_t n;
	size_t pos;
};

static void buf_put(void *ctx, char c)
{
	struct buf_sink *b = ctx;

	if (b->pos + 1 < b->n)
		b->buf[b->pos] = c;
	b->pos++;
}

int rt_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
	struct buf_sink b = { buf, n, 0 };
	int count = rt_format(buf_put, &b, fmt, ap);

	if (n > 0)
		buf[b.pos < n ? b.pos : n - 1] = '\0';
	return count;
}

int rt_snprintf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	int count;

	va_start(ap, fmt);
	count = rt_vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return count;
}

/* }====== */
