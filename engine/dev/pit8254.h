/*
 * pit8254.h - the 8254 programmable interval timer and the PC/AT's port B
 * (0x61: the speaker gate and data bits, the refresh toggle, OUT2).
 *
 * Wiring, as on the PC/AT: the three counters count a 1.193182 MHz clock;
 * counter 0's OUT drives ISA IRQ 0; counter 1 (DRAM refresh) and counter
 * 2 (speaker) drive no interrupt; the gates of counters 0 and 1 are tied
 * high and counter 2's gate is port B bit 0; OUT2 is read at port B bit 5.
 *
 *   0x40-0x42  counters 0-2: count register writes, count and status reads
 *   0x43       control word: mode / access / BCD, counter latch, read-back
 *   0x61       port B: bit 0 gate 2, bit 1 speaker data, bits 2-3 kept,
 *              bit 4 refresh toggle (flips every 18 input clocks, 15.085 us),
 *              bit 5 OUT2, bits 6-7 (parity/IOCHK status) read 0
 *
 * Modelled (Intel 82C54 datasheet): modes 0-5 (6 and 7 are 2 and 3) with
 * the datasheet's OUT waveforms, the count loaded on the CLK pulse after it
 * is written (mode 0 therefore raises OUT N+1 clocks after the write), the
 * count of 0 meaning 65536 (10000 in BCD), binary and BCD counting, the
 * LSB / MSB / LSB-then-MSB access modes (two-byte writes in mode 0 stop the
 * count after the first byte), counter latch and read-back commands
 * (status and count, several counters at once; a latched value is kept
 * until read, a second latch is ignored), the null count flag, gate effects
 * (modes 0 and 4 pause while GATE is low; modes 1 and 5 trigger on its
 * rising edge; modes 2 and 3 force OUT high while it is low and restart on
 * its rising edge) and new counts written in mode 2/3 taking effect at the
 * end of the current period / half-period.
 *
 * Time: nothing ticks. Each counter keeps a segment (the input clock tick
 * at which its counting element was last loaded or resumed, and the value
 * then); its count and OUT at any time are computed from the machine clock.
 * Counter 0 arms one clock timer at its next OUT transition only, so a
 * 100 Hz rate generator costs two events per period (OUT falls and rises).
 *
 * Left out: the speaker's sound (the data bit is kept, nothing is played);
 * port B bits 6-7 (no parity or channel-check errors exist); the count
 * read at the CLK edge itself (reads see whole clocks). Power-on contents
 * of the 8254 are undefined; we start every counter in mode 0 with LSB/MSB
 * access, no count written and OUT low, so IRQ 0 stays quiet until the
 * guest programs counter 0.
 */
#ifndef NESTLAB_PIT8254_H
#define NESTLAB_PIT8254_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "device.h"

#define PIT_HZ 1193182u
#define PIT_BASE 0x40
#define PIT_PORTS 4
#define PIT_CHANNELS 3
#define PIT_PORTB 0x61
#define PIT_IRQ 0

/* One counter. The 64-bit fields come first and the struct is padded to
 * 8 bytes explicitly, so the saved bytes are all defined. */
struct pit_channel_state {
	uint64_t ref;       /* input tick at which the current segment starts */
	uint64_t pend_tick; /* mode 2/3: tick at which the pending count loads */
	uint64_t load_tick; /* the count register reaches the counting element */
	uint32_t v;         /* counting element at `ref` (modes 0/1/4/5) */
	uint32_t n;         /* the loaded count, 1..65536 (modes 2/3) */
	uint32_t hold;      /* what the counting element shows before `ref`
	                       or while stopped */
	uint32_t pend_n;    /* the pending count (modes 2/3) */
	uint16_t cr;        /* count register, as written */
	uint16_t latched;   /* latched count, as the register reads */
	uint8_t control;    /* the control word's low 6 bits (RW, mode, BCD) */
	uint8_t running;    /* the counting element counts after `ref` */
	uint8_t loaded;     /* a count was loaded since the control word */
	uint8_t tc_done;    /* modes 0/1/4/5: terminal count already passed */
	uint8_t start_low;  /* mode 3: the segment starts with its low half */
	uint8_t pending;    /* modes 2/3: a new count waits for `pend_tick` */
	uint8_t pend_low;   /* mode 3: ... and starts a low half */
	uint8_t out_idle;   /* OUT while not running or before `ref` */
	uint8_t gate;
	uint8_t null_count;  /* a count was written and not loaded yet */
	uint8_t write_msb;   /* LSB/MSB access: the next write is the MSB */
	uint8_t read_msb;    /* LSB/MSB access: the next (live) read is the MSB */
	uint8_t latch_state; /* latched count bytes still to read (PIT_LATCH_*) */
	uint8_t status;      /* latched status byte */
	uint8_t status_latched;
	uint8_t cr_valid; /* a whole count was written since the control word */
	uint8_t pad[4];
};

struct pit_state {
	struct pit_channel_state ch[PIT_CHANNELS];
	uint64_t irq_tick; /* counter 0's next OUT event (input tick), or CLOCK_NEVER */
	uint8_t irq_level; /* the level driven on IRQ 0 */
	uint8_t portb;     /* port B bits 0-3 as written */
	uint8_t pad[6];
};

struct dev_pit {
	struct device dev;
	const struct dev_board *board;
	struct clock_timer irq_timer;
	struct pit_state st;
};

/*
 * Creates the timer in its power-on state (see above) and claims ports
 * 0x40-0x43 and 0x61. Drives no IRQ from inside dev_pit_new. Returns NULL
 * with NESTLAB_ERROR_CONFIG if a port is taken. Free with the free op.
 */
struct dev_pit *dev_pit_new(const struct dev_board *b, GError **error);

/* The current count of counter `ch` as a live read would see it (in BCD
 * for a BCD counter), without touching latches or byte toggles. */
uint16_t dev_pit_count(struct dev_pit *p, int ch);

/* The current level of counter `ch`'s OUT pin. */
bool dev_pit_out(struct dev_pit *p, int ch);

/* The input clock ticks elapsed at cycle `cycles`, and the first cycle at
 * which tick `ticks` has happened (exact inverses of each other). */
uint64_t dev_pit_ticks_at(uint64_t cycles);
uint64_t dev_pit_cycle_of_tick(uint64_t ticks);

#endif
