/*
 * kbd8042.h - the 8042 keyboard controller of the PC/AT (PS/2-style
 * command set) with an MF II keyboard on its keyboard port.
 *
 *   port 0x60  data: read the output buffer; write a keyboard command or
 *              the data byte a controller command expects
 *   port 0x64  read: status; write: controller command
 *   ISA IRQ 1  output buffer full with IRQ1 enabled (command byte bit 0);
 *              the line follows OBF (the PIC sees the rising edge)
 *
 * Status register: bit 0 OBF, 1 IBF (always 0: every write is taken at
 * once), 2 SYS (command byte bit 2), 3 command/data (1: the last write was
 * to 0x64), 4 keyboard not inhibited (1), 5 AUXB, 6 timeout, 7 parity
 * error (5-7 always 0).
 *
 * Controller commands: 0x20-0x3F read internal RAM (0x20: the command
 * byte), 0x60-0x7F write it (0x60: command byte: bit 0 IRQ1 enable, bit 1
 * IRQ12 enable, bit 2 SYS, bit 4 keyboard disabled, bit 5 aux disabled,
 * bit 6 translate set 2 -> set 1), 0xA7/0xA8/0xA9 aux port, 0xAA self test
 * (0x55, sets SYS), 0xAB keyboard interface test (0x00), 0xAD/0xAE disable
 * / enable the keyboard (command byte bit 4), 0xC0 read the input port
 * (0x80: keyboard not inhibited, colour display), 0xD0 / 0xD1 read / write
 * the output port (bit 0 = 0 resets the CPU, bit 1 gates A20), 0xD2 write
 * the keyboard output buffer (the byte is read back as if the keyboard
 * sent it, untranslated), 0xDD / 0xDF A20 off / on, 0xF0-0xFF pulse output
 * port bits 0-3 low for a moment (bit 0: CPU reset; the others nothing).
 * Other commands are ignored.
 *
 * No mouse. The aux (PS/2 mouse) port has nothing attached, and the
 * controller says so the way Linux and BIOSes probe for it: 0xA8 (enable
 * aux) does not clear command byte bit 5 ("aux disabled"; 0xA7 sets it,
 * writes with 0x60 store it as given), 0xA9 (aux interface
 * test) answers 0x02 (clock line stuck high: no device), and bytes sent
 * with 0xD3/0xD4 vanish. AUXB and IRQ 12 are never set.
 *
 * The keyboard (IBM PS/2 keyboard reference): 0xFF reset (FA, AA), 0xFE
 * resend, 0xF2 identify (FA AB 83), 0xF0 get/set scan code set (FA, FA /
 * FA set), 0xED LEDs (FA, FA), 0xEE echo (EE), 0xF3 typematic (FA, FA),
 * 0xF4 enable scanning, 0xF5 disable (and defaults), 0xF6 defaults (all
 * FA; F4/F5 clear the keyboard's buffer), 0xF7-0xFD set-3 key types (FA,
 * ignored); anything else answers FE. The keyboard always produces set 2
 * codes, or set 1 if the guest selects set 1; selecting set 3 is accepted
 * and reported, but codes stay set 2 (left out: nobody uses set 3).
 * Typematic repeat and the LEDs have no visible effect (host input is
 * presses and releases, nothing is held).
 *
 * Translation: with command byte bit 6 (on at power-on, as a BIOS leaves
 * it) the controller translates each byte from the keyboard through the
 * 8042's fixed set 2 -> set 1 table; a 0xF0 (release prefix) produces no
 * byte and sets bit 7 of the next one. So identify reads FA AB 41.
 *
 * Host input and pacing: dev_kbd_key()/dev_kbd_type() queue set 2 bytes in
 * the keyboard (state, saved with the device; at most KBD_KEY_QUEUE bytes,
 * the rest is dropped). A key byte enters the output buffer only when it
 * is empty and at least KBD_KEY_GAP_NS of virtual time has passed since
 * the previous key byte entered it, so guests see a deterministic, human
 * pace. Keyboard command responses have priority over key bytes and are
 * not paced; controller command results come before both.
 *
 * Left out: IBF timing (writes complete instantly), parity and timeout
 * errors, the 0xC1/0xC2 input port polling modes, the 0xE0 test inputs,
 * keyboard clock inhibit by the BIOS switch (bit 4 of status is always 1),
 * the scan code set 3 codes and typematic repeat.
 */
#ifndef NESTLAB_KBD8042_H
#define NESTLAB_KBD8042_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "device.h"

#define KBD_DATA_PORT 0x60
#define KBD_STATUS_PORT 0x64
#define KBD_IRQ 1

/* Status register. */
#define KBD_STAT_OBF 0x01
#define KBD_STAT_IBF 0x02
#define KBD_STAT_SYS 0x04
#define KBD_STAT_CMD 0x08
#define KBD_STAT_UNLOCKED 0x10
#define KBD_STAT_AUXB 0x20
#define KBD_STAT_TIMEOUT 0x40
#define KBD_STAT_PARITY 0x80

/* Command byte (internal RAM byte 0). */
#define KBD_CB_KBD_INT 0x01
#define KBD_CB_AUX_INT 0x02
#define KBD_CB_SYS 0x04
#define KBD_CB_KBD_DISABLE 0x10
#define KBD_CB_AUX_DISABLE 0x20
#define KBD_CB_TRANSLATE 0x40
#define KBD_CB_POWER_ON (KBD_CB_KBD_INT | KBD_CB_SYS | KBD_CB_AUX_DISABLE | KBD_CB_TRANSLATE)

/* Output port. */
#define KBD_OUT_RESET 0x01 /* 0 holds the CPU in reset */
#define KBD_OUT_A20 0x02
#define KBD_OUT_POWER_ON 0xcf /* reset high, A20 open, clock and data lines high */

/* Controller commands. */
#define KBD_CCMD_READ_RAM 0x20
#define KBD_CCMD_WRITE_RAM 0x60
#define KBD_CCMD_AUX_DISABLE 0xa7
#define KBD_CCMD_AUX_ENABLE 0xa8
#define KBD_CCMD_AUX_TEST 0xa9
#define KBD_CCMD_SELF_TEST 0xaa
#define KBD_CCMD_KBD_TEST 0xab
#define KBD_CCMD_KBD_DISABLE 0xad
#define KBD_CCMD_KBD_ENABLE 0xae
#define KBD_CCMD_READ_INPORT 0xc0
#define KBD_CCMD_READ_OUTPORT 0xd0
#define KBD_CCMD_WRITE_OUTPORT 0xd1
#define KBD_CCMD_WRITE_OBUF 0xd2
#define KBD_CCMD_WRITE_AUX_OBUF 0xd3
#define KBD_CCMD_WRITE_AUX 0xd4
#define KBD_CCMD_A20_OFF 0xdd
#define KBD_CCMD_A20_ON 0xdf
#define KBD_CCMD_PULSE 0xf0 /* 0xF0-0xFF: low nibble 0 bits pulse */

#define KBD_SELF_TEST_OK 0x55
#define KBD_IFACE_TEST_OK 0x00
#define KBD_AUX_TEST_NO_DEVICE 0x02
#define KBD_INPORT_VALUE 0x80

/* Keyboard commands and replies. */
#define KBD_CMD_LEDS 0xed
#define KBD_CMD_ECHO 0xee
#define KBD_CMD_SCANSET 0xf0
#define KBD_CMD_IDENTIFY 0xf2
#define KBD_CMD_TYPEMATIC 0xf3
#define KBD_CMD_ENABLE 0xf4
#define KBD_CMD_DISABLE 0xf5
#define KBD_CMD_DEFAULTS 0xf6
#define KBD_CMD_RESEND 0xfe
#define KBD_CMD_RESET 0xff
#define KBD_REPLY_ACK 0xfa
#define KBD_REPLY_RESEND 0xfe
#define KBD_REPLY_BAT_OK 0xaa
#define KBD_REPLY_ECHO 0xee
#define KBD_ID_1 0xab
#define KBD_ID_2 0x83
#define KBD_SET2_RELEASE 0xf0
#define KBD_SET2_EXTENDED 0xe0

#define KBD_KEY_GAP_NS 1000000u /* 1 ms between key bytes */
#define KBD_KEY_QUEUE 8192      /* host key bytes the keyboard holds */
#define KBD_REPLY_QUEUE 16
#define KBD_CTRL_QUEUE 4
#define KBD_RAM_SIZE 32

typedef void (*dev_kbd_a20_fn)(void *opaque, bool enabled);
typedef void (*dev_kbd_reset_fn)(void *opaque);

/* A byte FIFO of fixed size N inside the state struct. */
#define KBD_FIFO(n)                                                                                \
	struct {                                                                                   \
		uint16_t head, count;                                                              \
		uint8_t data[n];                                                                   \
	}

/* Everything the guest can see; no pointers. */
struct kbd_state {
	uint64_t key_gap_until;    /* cycle before which no key byte enters the buffer */
	uint64_t deadline;         /* the pacing timer, or CLOCK_NEVER */
	uint8_t ram[KBD_RAM_SIZE]; /* internal RAM; byte 0 is the command byte */
	uint8_t out_buf;           /* the output buffer (kept after it is read) */
	uint8_t obf;
	uint8_t last_was_cmd; /* status bit 3 */
	uint8_t out_port;
	uint8_t pending_ccmd; /* controller command waiting for its data byte, or 0 */
	uint8_t irq_level;
	uint8_t xlat_release; /* translation saw 0xF0 */
	/* the keyboard */
	uint8_t kbd_pending_cmd; /* keyboard command waiting for its argument, or 0 */
	uint8_t scanning;        /* enabled (F4) / disabled (F5) */
	uint8_t scan_set;        /* 1, 2 or 3 */
	uint8_t leds;
	uint8_t typematic;
	uint8_t last_sent; /* for the resend command */
	uint8_t pad[3];
	KBD_FIFO(KBD_CTRL_QUEUE) ctrl_q;   /* controller command results */
	KBD_FIFO(KBD_REPLY_QUEUE) reply_q; /* keyboard replies */
	KBD_FIFO(KBD_KEY_QUEUE) key_q;     /* host key bytes (set 2) */
};

struct dev_kbd {
	struct device dev;
	const struct dev_board *board;
	struct clock_timer timer;
	dev_kbd_a20_fn a20;
	dev_kbd_reset_fn reset;
	void *opaque;
	struct kbd_state st;
};

/*
 * Creates the controller and keyboard in their power-on state (as a BIOS
 * leaves them: command byte 0x65, translation on, A20 open, keyboard
 * enabled) and claims ports 0x60 and 0x64. `a20` is called when the
 * output port's A20 bit changes, `reset` when the guest pulls the CPU
 * reset line (output port bit 0 written 0, or a pulse command); both are
 * called from inside a port write. Returns NULL with NESTLAB_ERROR_CONFIG
 * if a port is taken. Free with the device's free op.
 */
struct dev_kbd *dev_kbd_new(const struct dev_board *b, dev_kbd_a20_fn a20, dev_kbd_reset_fn reset,
			    void *opaque, GError **error);

/*
 * Queues presses and releases for ASCII `text` on a US layout: letters,
 * digits, punctuation (with Shift where the layout needs it), '\n' Enter,
 * '\b' Backspace, '\t' Tab, 0x1B Escape, ' ' Space. Other bytes are
 * skipped. Keys typed while the keyboard has scanning disabled are lost,
 * as on a real keyboard.
 */
void dev_kbd_type(struct dev_kbd *k, const char *text);

/* Queues one key event: `set2_code` is a set 2 make code, 0xE0xx for the
 * extended keys; a release sends the 0xF0 prefix. */
void dev_kbd_key(struct dev_kbd *k, uint16_t set2_code, bool pressed);

/* The output port's A20 bit (the board combines it with port 0x92). */
bool dev_kbd_a20(const struct dev_kbd *k);

/* Host key bytes still waiting in the keyboard. */
unsigned dev_kbd_pending(const struct dev_kbd *k);

#endif
