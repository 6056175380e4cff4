/*
 * cmos.c - MC146818A real-time clock and CMOS RAM (see cmos.h).
 */
#include "cmos.h"

#include <string.h>

#include "nestlab.h"

#define CMOS_STATE_VERSION 1
#define SECONDS_PER_DAY 86400
#define KIB 1024u
#define MIB (1024u * 1024u)
#define HIGH_MEM_START (16u * MIB)
#define HIGH_MEM_UNIT (64u * KIB)
#define HOURS_PM 0x80 /* 12-hour mode: hours bit 7 */

struct rtc_time {
	int year, mon, mday, hour, min, sec, wday; /* mon 1-12, wday 1 = Sunday */
};

/* {====== calendar (proleptic Gregorian, days since 1970-01-01) */

static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, struct rtc_time *tm)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	tm->mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	tm->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	tm->year = (int)(yoe + era * 400 + (tm->mon <= 2));
}

static void time_to_tm(int64_t t, struct rtc_time *tm)
{
	int64_t days =
		t >= 0 ? t / SECONDS_PER_DAY : -((-t + SECONDS_PER_DAY - 1) / SECONDS_PER_DAY);
	int64_t rem = t - days * SECONDS_PER_DAY;
	civil_from_days(days, tm);
	tm->hour = (int)(rem / 3600);
	tm->min = (int)(rem / 60 % 60);
	tm->sec = (int)(rem % 60);
	tm->wday = (int)(((days % 7) + 7 + 4) % 7) + 1; /* 1970-01-01 was a Thursday */
}

static int64_t tm_to_time(const struct rtc_time *tm)
{
	int mon = CLAMP(tm->mon, 1, 12);
	int mday = CLAMP(tm->mday, 1, 31);
	return days_from_civil(tm->year, mon, mday) * SECONDS_PER_DAY + tm->hour * 3600 +
	       tm->min * 60 + tm->sec;
}

/* }====== */

/* {====== register formats (register B: DM and 24/12) */

static uint8_t to_reg(const struct cmos_state *st, int v)
{
	if (st->ram[CMOS_REG_B] & CMOS_B_DM_BINARY)
		return (uint8_t)v;
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static int from_reg(const struct cmos_state *st, uint8_t v)
{
	if (st->ram[CMOS_REG_B] & CMOS_B_DM_BINARY)
		return v;
	return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t hours_to_reg(const struct cmos_state *st, int h)
{
	if (st->ram[CMOS_REG_B] & CMOS_B_24H)
		return to_reg(st, h);
	int h12 = h % 12 == 0 ? 12 : h % 12;
	return (uint8_t)(to_reg(st, h12) | (h >= 12 ? HOURS_PM : 0));
}

static int hours_from_reg(const struct cmos_state *st, uint8_t v)
{
	if (st->ram[CMOS_REG_B] & CMOS_B_24H)
		return from_reg(st, v);
	int h = from_reg(st, v & ~HOURS_PM) % 12;
	return (v & HOURS_PM) ? h + 12 : h;
}

/* Writes time `t` into the clock bytes of `ram` in the format of register B. */
static void format_clock(const struct cmos_state *st, int64_t t, uint8_t *ram)
{
	struct rtc_time tm;
	time_to_tm(t, &tm);
	ram[CMOS_SECONDS] = to_reg(st, tm.sec);
	ram[CMOS_MINUTES] = to_reg(st, tm.min);
	ram[CMOS_HOURS] = hours_to_reg(st, tm.hour);
	ram[CMOS_DAY_OF_WEEK] = to_reg(st, tm.wday);
	ram[CMOS_DAY_OF_MONTH] = to_reg(st, tm.mday);
	ram[CMOS_MONTH] = to_reg(st, tm.mon);
	ram[CMOS_YEAR] = to_reg(st, tm.year % 100);
	ram[CMOS_CENTURY] = to_reg(st, tm.year / 100);
}

/* The time the clock bytes of st->ram show (a permissive reading of
 * values out of range: they simply carry into the next field). */
static int64_t parse_clock(const struct cmos_state *st)
{
	const uint8_t *r = st->ram;
	struct rtc_time tm = {
		.year = from_reg(st, r[CMOS_CENTURY]) * 100 + from_reg(st, r[CMOS_YEAR]),
		.mon = from_reg(st, r[CMOS_MONTH]),
		.mday = from_reg(st, r[CMOS_DAY_OF_MONTH]),
		.hour = hours_from_reg(st, r[CMOS_HOURS]),
		.min = from_reg(st, r[CMOS_MINUTES]),
		.sec = from_reg(st, r[CMOS_SECONDS]),
	};
	return tm_to_time(&tm);
}

static bool is_clock_byte(unsigned index)
{
	/* clang-format off */
	switch (index) {
	case CMOS_SECONDS: case CMOS_MINUTES: case CMOS_HOURS: case CMOS_DAY_OF_WEEK:
	case CMOS_DAY_OF_MONTH: case CMOS_MONTH: case CMOS_YEAR: case CMOS_CENTURY:
		return true;
	default:
		return false;
	}
	/* clang-format on */
}

/* }====== */

/* {====== time base: the divider runs from cycle 0 */

static uint64_t second_index(uint64_t cycle)
{
	return cycle / CLOCK_HZ;
}

static int64_t time_at_second(const struct cmos_state *st, uint64_t second)
{
	return st->base_time + (int64_t)(second - st->base_second);
}

static bool set_mode(const struct cmos_state *st)
{
	return (st->ram[CMOS_REG_B] & CMOS_B_SET) != 0;
}

static bool uip(const struct cmos_state *st, uint64_t now)
{
	uint64_t phase = now % CLOCK_HZ;
	return !set_mode(st) && phase >= CLOCK_HZ - clock_ns_to_cycles(CMOS_UIP_NS);
}

/* Periodic period in 32.768 kHz ticks for rate select `rs` (0: off). */
static uint64_t periodic_ticks(unsigned rs)
{
	if (rs == 0)
		return 0;
	if (rs <= 2)
		return 1ull << (rs + 6); /* 256 and 128 Hz, as rates 8 and 9 */
	return 1ull << (rs - 1);
}

static uint64_t periodic_index(uint64_t cycle, uint64_t period)
{
	return clock_cycles_to_ticks(cycle, CMOS_TIMEBASE_HZ) / period;
}

/* The first cycle at which periodic boundary number `n` has passed. */
static uint64_t periodic_cycle(uint64_t n, uint64_t period)
{
	unsigned __int128 ticks = (unsigned __int128)n * period;
	return (uint64_t)((ticks * CLOCK_HZ + CMOS_TIMEBASE_HZ - 1) / CMOS_TIMEBASE_HZ);
}

/* }====== */

/* {====== register C flags and the IRQ line */

static bool alarm_matches(const struct cmos_state *st, int64_t t)
{
	static const uint8_t pairs[3][2] = {
		{CMOS_SECONDS_ALARM, CMOS_SECONDS},
		{CMOS_MINUTES_ALARM, CMOS_MINUTES},
		{CMOS_HOURS_ALARM, CMOS_HOURS},
	};
	uint8_t now[CMOS_SIZE];
	format_clock(st, t, now);
	for (int i = 0; i < 3; i++) {
		uint8_t a = st->ram[pairs[i][0]];
		if ((a & CMOS_ALARM_DONT_CARE) != CMOS_ALARM_DONT_CARE && a != now[pairs[i][1]])
			return false;
	}
	return true;
}

/* True if an update in seconds (s0, s1] matched the alarm. The alarm
 * pattern repeats daily, so a day's worth of updates decides it. */
static bool alarm_in(const struct cmos_state *st, uint64_t s0, uint64_t s1)
{
	uint64_t first = s1 - s0 > SECONDS_PER_DAY ? s1 - SECONDS_PER_DAY : s0 + 1;
	for (uint64_t s = first; s <= s1; s++)
		if (alarm_matches(st, time_at_second(st, s)))
			return true;
	return false;
}

/* Sets PF, UF, AF for the boundaries in (flags_at, now], then IRQF. */
static void update_flags(struct cmos_state *st, uint64_t now)
{
	uint64_t from = st->flags_at;
	uint8_t *c = &st->ram[CMOS_REG_C];
	if (now > from) {
		uint64_t period = periodic_ticks(st->ram[CMOS_REG_A] & CMOS_A_RS_MASK);
		if (period && periodic_index(now, period) > periodic_index(from, period))
			*c |= CMOS_C_PF;
		uint64_t s0 = second_index(from), s1 = second_index(now);
		if (!set_mode(st) && s1 > s0) {
			*c |= CMOS_C_UF;
			if (!(*c & CMOS_C_AF) && alarm_in(st, s0, s1))
				*c |= CMOS_C_AF;
		}
		st->flags_at = now;
	}
	/* PIE, AIE, UIE sit at the bit positions of PF, AF, UF */
	if (*c & st->ram[CMOS_REG_B] & (CMOS_C_PF | CMOS_C_AF | CMOS_C_UF))
		*c |= CMOS_C_IRQF;
}

/* The next cycle at which an enabled interrupt source may fire. */
static uint64_t next_event(const struct cmos_state *st, uint64_t now)
{
	uint8_t b = st->ram[CMOS_REG_B];
	uint64_t next = CLOCK_NEVER;
	uint64_t period = periodic_ticks(st->ram[CMOS_REG_A] & CMOS_A_RS_MASK);
	if ((b & CMOS_B_PIE) && period)
		next = periodic_cycle(periodic_index(now, period) + 1, period);
	if ((b & (CMOS_B_UIE | CMOS_B_AIE)) && !set_mode(st))
		next = MIN(next, (second_index(now) + 1) * CLOCK_HZ);
	return next;
}

/* Brings flags, the IRQ 8 line and the timer up to date at `now`. */
static void cmos_sync(struct dev_cmos *c, uint64_t now)
{
	struct cmos_state *st = &c->st;
	update_flags(st, now);
	bool level = (st->ram[CMOS_REG_C] & CMOS_C_IRQF) != 0;
	if (level != st->irq_level) {
		st->irq_level = level;
		dev_irq(c->board, CMOS_IRQ, level);
	}
	/* while IRQF holds the line, nothing more can happen until C is read */
	st->deadline = level ? CLOCK_NEVER : next_event(st, now);
	clock_timer_arm(&c->timer, st->deadline);
}

static void cmos_timer_fn(void *opaque, uint64_t now)
{
	cmos_sync(opaque, now);
}

/* }====== */

/* {====== ports */

static uint64_t now_of(const struct dev_cmos *c)
{
	return clock_now(c->board->clock);
}

static uint8_t read_byte(struct dev_cmos *c, unsigned index, bool side_effects)
{
	struct cmos_state *st = &c->st;
	uint64_t now = now_of(c);
	uint8_t v;
	if (is_clock_byte(index) && !set_mode(st)) {
		uint8_t ram[CMOS_SIZE];
		format_clock(st, time_at_second(st, second_index(now)), ram);
		return ram[index];
	}
	switch (index) {
	case CMOS_REG_A:
		return (uint8_t)((st->ram[index] & ~CMOS_A_UIP) | (uip(st, now) ? CMOS_A_UIP : 0));
	case CMOS_REG_C:
		if (!side_effects) {
			struct cmos_state copy = *st;
			update_flags(&copy, now);
			return copy.ram[CMOS_REG_C];
		}
		update_flags(st, now);
		v = st->ram[CMOS_REG_C];
		st->ram[CMOS_REG_C] = 0;
		cmos_sync(c, now);
		return v;
	case CMOS_REG_D:
		return CMOS_D_VRT;
	default:
		return st->ram[index];
	}
}

/* The clock shows `t` from the current divider second on. */
static void set_time(struct cmos_state *st, uint64_t now, int64_t t)
{
	st->base_time = t;
	st->base_second = second_index(now);
}

static void write_clock_byte(struct dev_cmos *c, unsigned index, uint8_t v)
{
	struct cmos_state *st = &c->st;
	uint64_t now = now_of(c);
	if (set_mode(st)) {
		st->ram[index] = v;
		return;
	}
	update_flags(st, now); /* updates so far count with the old time */
	format_clock(st, time_at_second(st, second_index(now)), st->ram);
	st->ram[index] = v;
	set_time(st, now, parse_clock(st));
}

static void write_reg_b(struct dev_cmos *c, uint8_t v)
{
	struct cmos_state *st = &c->st;
	uint64_t now = now_of(c);
	bool was_set = set_mode(st);
	update_flags(st, now);
	if (v & CMOS_B_SET)
		v &= (uint8_t)~CMOS_B_UIE; /* the datasheet: SET clears UIE */
	if (!was_set && (v & CMOS_B_SET))
		format_clock(st, time_at_second(st, second_index(now)), st->ram); /* freeze */
	st->ram[CMOS_REG_B] = v;
	if (was_set && !(v & CMOS_B_SET))
		set_time(st, now, parse_clock(st)); /* run from the written registers */
	cmos_sync(c, now);
}

static void write_byte(struct dev_cmos *c, unsigned index, uint8_t v)
{
	struct cmos_state *st = &c->st;
	if (is_clock_byte(index)) {
		write_clock_byte(c, index, v);
		return;
	}
	switch (index) {
	case CMOS_REG_A:
		update_flags(st, now_of(c)); /* boundaries so far count at the old rate */
		st->ram[index] = v & (uint8_t)~CMOS_A_UIP;
		cmos_sync(c, now_of(c));
		break;
	case CMOS_REG_B:
		write_reg_b(c, v);
		break;
	case CMOS_REG_C:
	case CMOS_REG_D:
		break; /* read-only */
	default:
		st->ram[index] = v;
	}
}

static uint32_t cmos_read(void *opaque, uint16_t port, int size)
{
	struct dev_cmos *c = opaque;
	if (port == CMOS_INDEX_PORT)
		return 0xff; /* the index register is write-only */
	return read_byte(c, c->st.index, true);
}

static void cmos_write(void *opaque, uint16_t port, uint32_t val, int size)
{
	struct dev_cmos *c = opaque;
	if (port == CMOS_INDEX_PORT) {
		c->st.index = val & (CMOS_SIZE - 1);
		c->st.nmi_masked = (val & CMOS_NMI_MASK) != 0;
		return;
	}
	write_byte(c, c->st.index, (uint8_t)val);
}

/* }====== */

/* {====== power-on contents */

static void update_checksum(struct cmos_state *st)
{
	unsigned sum = 0;
	for (unsigned i = CMOS_CHECKSUM_FIRST; i <= CMOS_CHECKSUM_LAST; i++)
		sum += st->ram[i];
	st->ram[CMOS_CHECKSUM_HI] = (uint8_t)(sum >> 8);
	st->ram[CMOS_CHECKSUM_LO] = (uint8_t)sum;
}

static void put16(struct cmos_state *st, unsigned lo, unsigned hi, uint32_t v)
{
	v = MIN(v, 0xffffu);
	st->ram[lo] = (uint8_t)v;
	st->ram[hi] = (uint8_t)(v >> 8);
}

/* The memory bytes as QEMU's PC board and SeaBIOS fill them. */
static void fill_memory_bytes(struct cmos_state *st, uint32_t ram_bytes)
{
	uint32_t base = MIN(ram_bytes / KIB, CMOS_BASE_MEM_KIB);
	uint32_t ext = ram_bytes > MIB ? (ram_bytes - MIB) / KIB : 0;
	uint32_t high =
		ram_bytes > HIGH_MEM_START ? (ram_bytes - HIGH_MEM_START) / HIGH_MEM_UNIT : 0;
	put16(st, CMOS_BASE_MEM_LO, CMOS_BASE_MEM_HI, base);
	put16(st, CMOS_EXT_MEM_LO, CMOS_EXT_MEM_HI, ext);
	put16(st, CMOS_EXT_MEM2_LO, CMOS_EXT_MEM2_HI, ext);
	put16(st, CMOS_HIGH_MEM_LO, CMOS_HIGH_MEM_HI, high);
	/* equipment: no floppy, no FPU (CPUID says none), no mouse, EGA/VGA */
	st->ram[CMOS_EQUIPMENT] = 0x00;
	update_checksum(st);
}

static void cmos_power_on(struct dev_cmos *c)
{
	struct cmos_state *st = &c->st;
	int64_t epoch = st->epoch;
	memset(st, 0, sizeof *st);
	st->epoch = epoch;
	st->ram[CMOS_REG_A] = CMOS_A_POWER_ON;
	st->ram[CMOS_REG_B] = CMOS_B_POWER_ON;
	st->base_time = epoch; /* at divider second 0, i.e. cycle 0 */
	st->base_second = 0;
	st->flags_at = now_of(c);
	st->deadline = CLOCK_NEVER;
	format_clock(st, epoch, st->ram);
	fill_memory_bytes(st, c->ram_bytes);
}

/* }====== */

/* {====== device ops */

static void cmos_reset(struct device *d)
{
	struct dev_cmos *c = (struct dev_cmos *)d;
	clock_timer_cancel(&c->timer);
	if (c->st.irq_level)
		dev_irq(c->board, CMOS_IRQ, false);
	cmos_power_on(c);
}

static void cmos_save(struct device *d, GByteArray *out)
{
	struct dev_cmos *c = (struct dev_cmos *)d;
	c->st.deadline = clock_timer_deadline(&c->timer);
	dev_save_pod(out, CMOS_STATE_VERSION, &c->st, sizeof c->st);
}

static bool cmos_restore(struct device *d, const uint8_t *buf, size_t len, GError **error)
{
	struct dev_cmos *c = (struct dev_cmos *)d;
	if (!dev_restore_pod(d->name, CMOS_STATE_VERSION, buf, len, &c->st, sizeof c->st, error))
		return false;
	clock_timer_arm(&c->timer, c->st.deadline);
	dev_irq(c->board, CMOS_IRQ, c->st.irq_level != 0);
	return true;
}

static void cmos_free(struct device *d)
{
	struct dev_cmos *c = (struct dev_cmos *)d;
	clock_timer_cancel(&c->timer);
	g_free(c);
}

static const struct device_ops cmos_ops = {
	.reset = cmos_reset,
	.save = cmos_save,
	.restore = cmos_restore,
	.free = cmos_free,
};

struct dev_cmos *dev_cmos_new(const struct dev_board *b, int64_t epoch, uint32_t ram_bytes,
			      GError **error)
{
	if (ioport_claimed(b->io, CMOS_INDEX_PORT) || ioport_claimed(b->io, CMOS_DATA_PORT)) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
			    "the RTC ports 0x%x-0x%x are already taken by another device",
			    CMOS_INDEX_PORT, CMOS_DATA_PORT);
		return NULL;
	}
	struct dev_cmos *c = g_new0(struct dev_cmos, 1);
	c->dev.ops = &cmos_ops;
	c->dev.name = "cmos";
	c->board = b;
	c->ram_bytes = ram_bytes;
	c->st.epoch = epoch;
	clock_timer_init(&c->timer, b->clock, "rtc", cmos_timer_fn, c);
	cmos_power_on(c);
	ioport_claim(b->io, CMOS_INDEX_PORT, 2, cmos_read, cmos_write, c);
	return c;
}

bool dev_cmos_nmi_masked(const struct dev_cmos *c)
{
	return c->st.nmi_masked != 0;
}

void dev_cmos_set_ram(struct dev_cmos *c, unsigned index, uint8_t value)
{
	if (index <= CMOS_REG_D || index >= CMOS_SIZE || index == CMOS_CENTURY)
		return;
	c->st.ram[index] = value;
	if (index >= CMOS_CHECKSUM_FIRST && index <= CMOS_CHECKSUM_LAST)
		update_checksum(&c->st);
}

uint8_t dev_cmos_peek(struct dev_cmos *c, unsigned index)
{
	return read_byte(c, index & (CMOS_SIZE - 1), false);
}

/* }====== */
