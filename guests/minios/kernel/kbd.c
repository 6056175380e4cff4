/*
 * kbd.c - the PS/2 keyboard behind the 8042 controller, IRQ 1.
 *
 * The 8042 translates the keyboard's scan codes to set 1: one byte per key
 * press (the "make" code), the same byte with bit 7 set on release, and an
 * 0xE0 prefix for the keys the original PC keyboard did not have. This
 * driver knows the US layout, Shift, Ctrl and Caps Lock.
 */
#include "defs.h"
#include "proc.h"
#include "traps.h"
#include "x86.h"

#define KBD_DATA	0x60
#define KBD_STATUS	0x64	/* read */
#define KBD_COMMAND	0x64	/* write */
#define STATUS_OBF	0x01	/* a byte waits in the data port */
#define STATUS_IBF	0x02	/* the controller has not taken our last byte */
#define STATUS_AUX	0x20	/* the byte came from the mouse */
#define CMD_WRITE_CCB	0x60	/* next data byte is the controller command byte */
#define CCB_KBD_INT	0x01	/* IRQ 1 on keyboard data */
#define CCB_SYSTEM	0x04	/* POST passed */
#define CCB_AUX_OFF	0x20	/* mouse clock off */
#define CCB_XLATE	0x40	/* translate to scan code set 1 */
#define SPINS		100000

#define SC_RELEASE	0x80
#define SC_EXTENDED	0xE0
#define SC_LSHIFT	0x2A
#define SC_RSHIFT	0x36
#define SC_CTRL		0x1D
#define SC_CAPSLOCK	0x3A

/* Set 1 make codes 0x00-0x39 to ASCII, without and with Shift. */
static const char normal[] = {
	0, 0x1B, '1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '-', '=', '\b', '\t',
	'q', 'w', 'e', 'r', 't', 'y', 'u', 'i', 'o', 'p', '[', ']', '\n', 0, 'a', 's',
	'd', 'f', 'g', 'h', 'j', 'k', 'l', ';', '\'', '`', 0, '\\', 'z', 'x', 'c', 'v',
	'b', 'n', 'm', ',', '.', '/', 0, '*', 0, ' ',
};
static const char shifted[] = {
	0, 0x1B, '!', '@', '#', '$', '%', '^', '&', '*', '(', ')', '_', '+', '\b', '\t',
	'Q', 'W', 'E', 'R', 'T', 'Y', 'U', 'I', 'O', 'P', '{', '}', '\n', 0, 'A', 'S',
	'D', 'F', 'G', 'H', 'J', 'K', 'L', ':', '"', '~', 0, '|', 'Z', 'X', 'C', 'V',
	'B', 'N', 'M', '<', '>', '?', 0, '*', 0, ' ',
};
_Static_assert(sizeof(normal) == sizeof(shifted), "one entry per key in both maps");

static int shift, ctrl, capslock, extended;

static void wait_input_empty(void)
{
	for (int i = 0; i < SPINS && (inb(KBD_STATUS) & STATUS_IBF); i++)
		;
}

/* Turn on translation and the keyboard interrupt, route IRQ 1 to us. */
void kbd_init(void)
{
	wait_input_empty();
	outb(KBD_COMMAND, CMD_WRITE_CCB);
	wait_input_empty();
	outb(KBD_DATA, CCB_KBD_INT | CCB_SYSTEM | CCB_AUX_OFF | CCB_XLATE);
	while (inb(KBD_STATUS) & STATUS_OBF)	/* drop stale bytes */
		inb(KBD_DATA);
	ioapic_enable(IRQ_KBD, cpu.apicid);
}

/* Turn one scan code into a character for the console, or -1 for none. */
static int decode(uint8_t sc)
{
	if (sc == SC_EXTENDED) {
		extended = 1;
		return -1;
	}
	int was_extended = extended;
	extended = 0;
	int released = sc & SC_RELEASE;
	sc &= ~SC_RELEASE;
	if (sc == SC_LSHIFT || sc == SC_RSHIFT) {
		shift = !released;
		return -1;
	}
	if (sc == SC_CTRL) {		/* left Ctrl, or right Ctrl after 0xE0 */
		ctrl = !released;
		return -1;
	}
	if (released || was_extended)	/* arrows and friends: ignored */
		return -1;
	if (sc == SC_CAPSLOCK) {
		capslock = !capslock;
		return -1;
	}
	if (sc >= sizeof(normal))
		return -1;
	int c = shift ? shifted[sc] : normal[sc];
	if (capslock && c >= 'a' && c <= 'z')
		c -= 'a' - 'A';
	else if (capslock && c >= 'A' && c <= 'Z')
		c += 'a' - 'A';
	if (ctrl && c >= '@')
		c &= 0x1F;
	return c ? c : -1;
}

/* IRQ 1: decode every waiting scan code. */
void kbd_intr(void)
{
	uint8_t st;

	while ((st = inb(KBD_STATUS)) & STATUS_OBF) {
		uint8_t sc = inb(KBD_DATA);
		if (st & STATUS_AUX)
			continue;
		int c = decode(sc);
		if (c >= 0)
			cons_intr(c);
	}
}
