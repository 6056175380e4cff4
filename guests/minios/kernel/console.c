/*
 * console.c - the console: output to COM1 and the VGA screen, input from
 * COM1 and the keyboard, edited a line at a time, and kprintf().
 */
#include "defs.h"
#include "x86.h"

#define INPUT_BUF	128
#define CTRL(c)		((c) - '@')
#define BACKSPACE	0x100	/* erase one character on the screen */
#define DEL		0x7F

static void cons_putc(int c)
{
	if (c == BACKSPACE) {
		uart_putc('\b');
		uart_putc(' ');
		uart_putc('\b');
		vga_putc('\b');
		vga_putc(' ');
		vga_putc('\b');
		return;
	}
	uart_putc(c);
	vga_putc(c);
}

/* {====== kprintf ====== */

static void put_number(void (*put)(int, void *), void *arg, uint32_t n, int base,
		       int neg, int width, int left, char pad)
{
	static const char digits[] = "0123456789abcdef";
	char buf[16];
	int len = 0;

	do {
		buf[len++] = digits[n % base];
		n /= base;
	} while (n != 0);
	if (neg)
		buf[len++] = '-';
	for (int i = len; !left && i < width; i++)
		put(pad, arg);
	int shown = len;
	while (len > 0)
		put(buf[--len], arg);
	for (int i = shown; left && i < width; i++)
		put(' ', arg);
}

static void put_string(void (*put)(int, void *), void *arg, const char *s, int width, int left)
{
	int len = strlen(s);

	for (int i = len; !left && i < width; i++)
		put(' ', arg);
	for (const char *p = s; *p; p++)
		put(*p, arg);
	for (int i = len; left && i < width; i++)
		put(' ', arg);
}

/*
 * Format like printf, handing each character to put(c, arg). Knows %d %u %x
 * %p %s %c %%, a field width, '-' (left-justify) and '0' (zero padding).
 */
void kvprintf(void (*put)(int, void *), void *arg, const char *fmt, va_list ap)
{
	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			put(*f, arg);
			continue;
		}
		int left = 0, width = 0;
		char pad = ' ';
		f++;
		if (*f == '-') {
			left = 1;
			f++;
		}
		if (*f == '0') {
			pad = '0';
			f++;
		}
		for (; *f >= '0' && *f <= '9'; f++)
			width = width * 10 + (*f - '0');
		switch (*f) {
		case 'd': {
			int v = va_arg(ap, int);
			put_number(put, arg, v < 0 ? -(uint32_t)v : (uint32_t)v, 10, v < 0, width, left, pad);
			break;
		}
		case 'u':
			put_number(put, arg, va_arg(ap, uint32_t), 10, 0, width, left, pad);
			break;
		case 'x':
			put_number(put, arg, va_arg(ap, uint32_t), 16, 0, width, left, pad);
			break;
		case 'p':
			put('0', arg);
			put('x', arg);
			put_number(put, arg, va_arg(ap, uint32_t), 16, 0, 8, 0, '0');
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			put_string(put, arg, s ? s : "(null)", width, left);
			break;
		}
		case 'c':
			put(va_arg(ap, int), arg);
			break;
		case '%':
			put('%', arg);
			break;
		case 0:
			return;
		default:	/* unknown: show it as written */
			put('%', arg);
			put(*f, arg);
			break;
		}
	}
}

static void put_console(int c, void *arg)
{
	(void)arg;
	cons_putc(c);
}

/* Print to the console. Safe anywhere: output is polled. */
void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kvprintf(put_console, 0, fmt, ap);
	va_end(ap);
}

/*
 * Stop the machine: write status to the exit port (QEMU's isa-debug-exit and
 * nestlab end the run there), then halt with interrupts off for good, in
 * case there is no exit port.
 */
void machine_stop(int status)
{
	outb(DEBUG_EXIT_PORT, status);
	for (;;)
		asm volatile("cli; hlt");
}

/* Print the message and stop the machine with exit status 1 (failure). */
void panic(const char *msg)
{
	cli();
	kprintf("panic: %s\n", msg);
	machine_stop(1);
}

/* }====== */

/* {====== input ====== */

/*
 * The input buffer is a ring with three indices: r (next byte read() takes),
 * w (end of the complete lines) and e (end of the line being edited).
 */
static struct {
	char buf[INPUT_BUF];
	uint32_t r, w, e;
} input;

/*
 * Take one typed character (from the UART or keyboard interrupt): echo it,
 * edit the current line, and wake readers when a line is complete.
 */
void cons_intr(int c)
{
	switch (c) {
	case '\b':
	case DEL:
		if (input.e != input.w) {
			input.e--;
			cons_putc(BACKSPACE);
		}
		return;
	case CTRL('U'):		/* kill the line */
		while (input.e != input.w && input.buf[(input.e - 1) % INPUT_BUF] != '\n') {
			input.e--;
			cons_putc(BACKSPACE);
		}
		return;
	case CTRL('P'):		/* show the processes */
		procdump();
		return;
	}
	if (c == 0 || input.e - input.r >= INPUT_BUF)
		return;
	if (c == '\r')
		c = '\n';
	input.buf[input.e++ % INPUT_BUF] = c;
	cons_putc(c);
	if (c == '\n' || c == CTRL('D') || input.e == input.r + INPUT_BUF) {
		input.w = input.e;
		wakeup(&input.r);
	}
}

/*
 * read() on the console: wait for a complete line, return up to n bytes of
 * it (the newline included). Ctrl-D at the start of a line reads as 0 bytes.
 */
int cons_read(char *dst, int n)
{
	int target = n;

	while (n > 0) {
		while (input.r == input.w)
			sleep(&input.r);
		int c = input.buf[input.r++ % INPUT_BUF];
		if (c == CTRL('D')) {
			if (n < target)		/* keep it for the next read */
				input.r--;
			break;
		}
		*dst++ = c;
		n--;
		if (c == '\n')
			break;
	}
	return target - n;
}

/* write() on the console. */
int cons_write(const char *src, int n)
{
	for (int i = 0; i < n; i++)
		cons_putc(src[i] & 0xFF);
	return n;
}

/* }====== */
