/*
 * cmos.h - the Motorola MC146818A real-time clock and its 128 bytes of
 * battery-backed CMOS RAM, as the PC/AT wires it:
 *
 *   port 0x70  index (write): bits 6-0 select a byte; bit 7 = 1 masks NMI
 *   port 0x71  data: reads or writes the selected byte
 *   ISA IRQ 8  the chip's IRQ output (active while register C's IRQF is 1)
 *
 * Bytes 0x00-0x09 are the clock (seconds, seconds alarm, minutes, minutes
 * alarm, hours, hours alarm, day of week, day of month, month, year),
 * 0x0A-0x0D the status registers A-D, 0x0E-0x7F RAM. The PC layout of the
 * RAM, as IBM defined it and QEMU/SeaBIOS fill it:
 *
 *   0x0F  shutdown status      0x14  equipment byte
 *   0x15  base memory KiB lo   0x16  hi (640)
 *   0x17  ext. memory KiB lo   0x18  hi (RAM above 1 MiB, capped at 0xFFFF)
 *   0x2E  checksum hi          0x2F  lo (sum of bytes 0x10-0x2D)
 *   0x30  ext. memory KiB lo   0x31  hi (same as 0x17/0x18)
 *   0x32  century (BCD or binary as register B says)
 *   0x34  RAM above 16 MiB lo  0x35  hi (64 KiB units, capped at 0xFFFF)
 *
 * Time. The clock shows `epoch` (Unix seconds, UTC) plus the virtual time
 * since cycle 0, so a machine starts at the same date every run and never
 * reads the host's clock. The 32.768 kHz time base and its divider chain
 * are modelled as free-running from cycle 0: second boundaries (update
 * cycles) fall at multiples of CLOCK_HZ cycles and periodic-interrupt
 * boundaries at multiples of their period, whatever the guest writes.
 * Writing a clock register sets the time (the device keeps the calendar
 * as "seconds at a divider second", not as ticking registers); the divider
 * phase is not touched, as on the chip.
 *
 * Registers, after the Motorola datasheet:
 *   A  bit 7 UIP (read-only): 1 from 244 us before each update until the
 *      update (the second boundary), never while B.SET is 1; bits 6-4 DV
 *      (stored), bits 3-0 RS: the periodic rate (1 and 2: 256 and 128 Hz,
 *      3-15: 32768 >> (RS - 1) Hz, 0: off).
 *   B  SET (freezes updates: reads show the registers as frozen/written,
 *      and clearing SET starts the clock from them; setting SET clears
 *      UIE), PIE, AIE, UIE, SQWE (stored; no SQW pin), DM (1 binary,
 *      0 BCD), 24/12 (1: 24-hour; 12-hour mode keeps PM in hours bit 7),
 *      DSE (stored, ignored: no daylight saving switches).
 *   C  IRQF, PF, AF, UF (read-only; a read returns and clears them and
 *      lowers IRQ 8). PF is set at each periodic boundary, UF at each
 *      update, AF at an update whose time matches the alarm registers
 *      (alarm bytes 0xC0-0xFF match anything), whether enabled or not;
 *      IRQF is set when an enabled flag is set and holds IRQ 8 high until
 *      C is read.
 *   D  VRT = 1 (the battery is good); read-only.
 *
 * Flags are computed when C is read from the boundaries that passed since
 * the last read, so the device only arms a timer while an interrupt is
 * enabled and not yet pending (nothing runs at 1024 Hz when the guest
 * only polls).
 *
 * Left out: the DV divider-reset modes (the divider always runs at
 * 32.768 kHz), the square-wave pin, daylight saving time (DSE), and the
 * one-second window after an update in which the chip lets software read
 * the clock (reads are always consistent here). The day of week (byte 6)
 * is derived from the date while the clock runs; written values show only
 * while SET is 1.
 */
#ifndef NESTLAB_CMOS_H
#define NESTLAB_CMOS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "device.h"

#define CMOS_INDEX_PORT 0x70
#define CMOS_DATA_PORT 0x71
#define CMOS_IRQ 8
#define CMOS_NMI_MASK 0x80 /* index port bit 7 */
#define CMOS_SIZE 128

/* Clock bytes. */
#define CMOS_SECONDS 0x00
#define CMOS_SECONDS_ALARM 0x01
#define CMOS_MINUTES 0x02
#define CMOS_MINUTES_ALARM 0x03
#define CMOS_HOURS 0x04
#define CMOS_HOURS_ALARM 0x05
#define CMOS_DAY_OF_WEEK 0x06
#define CMOS_DAY_OF_MONTH 0x07
#define CMOS_MONTH 0x08
#define CMOS_YEAR 0x09
#define CMOS_REG_A 0x0a
#define CMOS_REG_B 0x0b
#define CMOS_REG_C 0x0c
#define CMOS_REG_D 0x0d

/* PC RAM layout. */
#define CMOS_SHUTDOWN 0x0f
#define CMOS_EQUIPMENT 0x14
#define CMOS_BASE_MEM_LO 0x15
#define CMOS_BASE_MEM_HI 0x16
#define CMOS_EXT_MEM_LO 0x17
#define CMOS_EXT_MEM_HI 0x18
#define CMOS_CHECKSUM_FIRST 0x10
#define CMOS_CHECKSUM_LAST 0x2d
#define CMOS_CHECKSUM_HI 0x2e
#define CMOS_CHECKSUM_LO 0x2f
#define CMOS_EXT_MEM2_LO 0x30
#define CMOS_EXT_MEM2_HI 0x31
#define CMOS_CENTURY 0x32
#define CMOS_HIGH_MEM_LO 0x34
#define CMOS_HIGH_MEM_HI 0x35

/* Register A. */
#define CMOS_A_UIP 0x80
#define CMOS_A_DV_MASK 0x70
#define CMOS_A_RS_MASK 0x0f
/* Register B. */
#define CMOS_B_SET 0x80
#define CMOS_B_PIE 0x40
#define CMOS_B_AIE 0x20
#define CMOS_B_UIE 0x10
#define CMOS_B_SQWE 0x08
#define CMOS_B_DM_BINARY 0x04
#define CMOS_B_24H 0x02
#define CMOS_B_DSE 0x01
/* Register C. */
#define CMOS_C_IRQF 0x80
#define CMOS_C_PF 0x40
#define CMOS_C_AF 0x20
#define CMOS_C_UF 0x10
/* Register D. */
#define CMOS_D_VRT 0x80

#define CMOS_A_POWER_ON 0x26 /* 32.768 kHz divider, 1024 Hz periodic rate */
#define CMOS_B_POWER_ON 0x02 /* 24-hour BCD, no interrupts (as a BIOS leaves it) */
#define CMOS_BASE_MEM_KIB 640
#define CMOS_ALARM_DONT_CARE 0xc0 /* alarm bytes >= 0xC0 match any value */
#define CMOS_UIP_NS 244000u       /* UIP rises this long before an update */
#define CMOS_TIMEBASE_HZ 32768u

/* Everything the guest can see; no pointers. */
struct cmos_state {
	uint8_t ram[CMOS_SIZE]; /* clock bytes as last frozen/written; A-D; RAM */
	uint8_t index;          /* the byte selected by port 0x70 (bits 6-0) */
	uint8_t nmi_masked;     /* port 0x70 bit 7 as last written */
	uint8_t irq_level;      /* the IRQ 8 output */
	uint8_t pad[5];
	int64_t epoch;        /* Unix seconds at cycle 0 (power-on) */
	int64_t base_time;    /* Unix-style seconds shown at divider second base_second */
	uint64_t base_second; /* divider second index when the time was last set */
	uint64_t flags_at;    /* cycle up to which register C's flags are computed */
	uint64_t deadline;    /* the interrupt timer's deadline, or CLOCK_NEVER */
};

struct dev_cmos {
	struct device dev;
	const struct dev_board *board;
	struct clock_timer timer;
	uint32_t ram_bytes;
	struct cmos_state st;
};

/*
 * Creates the RTC showing `epoch` (Unix seconds, UTC) at cycle 0, with the
 * PC memory-size bytes for `ram_bytes` of RAM, and claims ports 0x70-0x71.
 * Returns NULL with NESTLAB_ERROR_CONFIG if a port is taken. Free with the
 * device's free op.
 */
struct dev_cmos *dev_cmos_new(const struct dev_board *b, int64_t epoch, uint32_t ram_bytes,
			      GError **error);

/* True while the guest has set bit 7 of port 0x70 (the board's NMI mask). */
bool dev_cmos_nmi_masked(const struct dev_cmos *c);

/*
 * Sets RAM byte `index` (0x0E-0x7F) as firmware would, and recomputes the
 * checksum at 0x2E/0x2F when the byte is in the range it covers. For the
 * board (disk types, CPU count); ignores clock and status bytes.
 */
void dev_cmos_set_ram(struct dev_cmos *c, unsigned index, uint8_t value);

/* Reads byte `index` (0-0x7F) as the guest would through port 0x71, with
 * no side effects (register C is not cleared): for tests and debuggers. */
uint8_t dev_cmos_peek(struct dev_cmos *c, unsigned index);

#endif
