/*
 * pit8254.c - the 8254 interval timer and port B (see pit8254.h).
 *
 * Time is counted in input clock ticks: tick k happens at the first cycle
 * c with floor(c * PIT_HZ / CLOCK_HZ) >= k. A counter's segment says "the
 * counting element held `v` (or was loaded with `n`) at tick `ref` and
 * counts on every later tick"; eval() turns a tick into (count, OUT) with
 * the mode's arithmetic. Whatever stops or restarts counting (a control
 * word, a count, a gate edge, the end of a period with a new count
 * pending) first takes the value at the current tick into `hold` and then
 * starts a new segment. The mode-by-mode waveforms, in input clocks after
 * the load at tick `ref` (count N):
 *
 *   0  OUT low; count N, N-1, ... ; OUT high from count 0 on (N clocks)
 *   1  as mode 0, started by a GATE rising edge (OUT high before)
 *   2  OUT high; count N .. 2, then 1 with OUT low for one clock; repeat
 *   3  OUT high (N+1)/2 clocks, low N/2 clocks; the count steps by 2 from N
 *      (or N-1 when N is odd) and reloads at each half
 *   4  OUT high; count N, N-1, ... ; OUT low for the one clock at count 0
 *   5  as mode 4, started by a GATE rising edge
 */
#include "pit8254.h"

#include <string.h>

#include "nestlab.h"

#define PIT_STATE_VERSION 1

/* The control word (port 0x43). */
#define PIT_CW_SC_SHIFT 6
#define PIT_CW_RW_SHIFT 4
#define PIT_CW_MODE_SHIFT 1
#define PIT_CW_FIELD2 0x3
#define PIT_CW_MODE_MASK 0x7
#define PIT_CW_BCD 0x01
#define PIT_CW_PROGRAM_MASK 0x3f /* RW, M2-M0, BCD: what the status reports */
#define PIT_SC_READBACK 3
enum { PIT_RW_LATCH = 0, PIT_RW_LSB = 1, PIT_RW_MSB = 2, PIT_RW_WORD = 3 };
/* The read-back command: D5 = 0 latches counts, D4 = 0 latches statuses,
 * D3-D1 select counters 2-0. */
#define PIT_RB_NOT_COUNT 0x20
#define PIT_RB_NOT_STATUS 0x10
#define PIT_RB_SELECT(ch) (2u << (ch))
/* The status byte. */
#define PIT_STATUS_OUT 0x80
#define PIT_STATUS_NULL 0x40
/* Which bytes of a latched count remain to be read. */
enum { PIT_LATCH_NONE, PIT_LATCH_LSB, PIT_LATCH_MSB, PIT_LATCH_WORD_LSB, PIT_LATCH_WORD_MSB };

#define PIT_BINARY_MODULUS 65536u
#define PIT_BCD_MODULUS 10000u
#define PIT_POWER_ON_CONTROL (PIT_RW_WORD << PIT_CW_RW_SHIFT) /* mode 0, binary */

/* Port B. */
#define PORTB_GATE2 0x01
#define PORTB_WRITABLE 0x0f /* gate 2, speaker data, parity and IOCHK enables */
#define PORTB_REFRESH 0x10
#define PORTB_OUT2 0x20
#define PIT_REFRESH_TICKS 18 /* the refresh request period: 18 clocks = 15.085 us */
#define PIT_SPEAKER_CHANNEL 2

_Static_assert(sizeof(struct pit_channel_state) == 64, "pit_channel_state has no padding");
_Static_assert(sizeof(struct pit_state) == 3 * 64 + 16, "pit_state has no padding");

/* {====== time ====== */

uint64_t dev_pit_ticks_at(uint64_t cycles)
{
	return clock_cycles_to_ticks(cycles, PIT_HZ);
}

uint64_t dev_pit_cycle_of_tick(uint64_t ticks)
{
	if (ticks == CLOCK_NEVER)
		return CLOCK_NEVER;
	unsigned __int128 c = ((unsigned __int128)ticks * CLOCK_HZ + PIT_HZ - 1) / PIT_HZ;
	return c >= CLOCK_NEVER ? CLOCK_NEVER : (uint64_t)c;
}

static uint64_t now_tick(const struct dev_pit *p)
{
	return dev_pit_ticks_at(clock_now(p->board->clock));
}

/* }====================================================================== */

/* {====== one counter: programming fields and number formats ====== */

static int ch_mode(const struct pit_channel_state *c)
{
	int m = (c->control >> PIT_CW_MODE_SHIFT) & PIT_CW_MODE_MASK;
	return m >= 6 ? m - 4 : m; /* modes 6 and 7 are 2 and 3 (M2 is "don't care") */
}

static int ch_access(const struct pit_channel_state *c)
{
	return (c->control >> PIT_CW_RW_SHIFT) & PIT_CW_FIELD2;
}

static bool ch_bcd(const struct pit_channel_state *c)
{
	return c->control & PIT_CW_BCD;
}

static uint32_t modulus(const struct pit_channel_state *c)
{
	return ch_bcd(c) ? PIT_BCD_MODULUS : PIT_BINARY_MODULUS;
}

/* Four BCD digits as a number; digits above 9 are taken at face value. */
static uint32_t from_bcd(uint16_t v)
{
	return (v >> 12 & 0xf) * 1000u + (v >> 8 & 0xf) * 100u + (v >> 4 & 0xf) * 10u + (v & 0xf);
}

static uint16_t to_bcd(uint32_t v)
{
	return (uint16_t)((v / 1000 % 10) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 |
	                  v % 10);
}

/* The count register as a count: 1..65536 (1..10000 in BCD; 0 is the top). */
static uint32_t count_of_cr(const struct pit_channel_state *c)
{
	uint32_t n = ch_bcd(c) ? from_bcd(c->cr) % PIT_BCD_MODULUS : c->cr;
	return n ? n : modulus(c);
}

/* A counting element value as the counter's read port shows it. */
static uint16_t to_reg(const struct pit_channel_state *c, uint32_t value)
{
	value %= modulus(c);
	return ch_bcd(c) ? to_bcd(value) : (uint16_t)value;
}

/* }====================================================================== */

/* {====== one counter: the waveforms ====== */

/* v - e, wrapping from 0 to the top of the range. */
static uint32_t count_down(const struct pit_channel_state *c, uint32_t v, uint64_t e)
{
	uint32_t m = modulus(c);
	return (uint32_t)((v + m - e % m) % m);
}

/* Mode 3's half lengths: high (N+1)/2 clocks, then low N/2. */
static uint64_t mode3_high(uint32_t n)
{
	return (n + 1) / 2;
}

static uint64_t mode3_phase(const struct pit_channel_state *c, uint64_t e)
{
	return (e + (c->start_low ? mode3_high(c->n) : 0)) % c->n;
}

static void eval_mode3(const struct pit_channel_state *c, uint64_t e, uint32_t *count, bool *out)
{
	uint32_t top = (c->n & 1) ? c->n - 1 : c->n;
	uint64_t h = mode3_high(c->n), ph = mode3_phase(c, e);
	*out = ph < h;
	*count = (uint32_t)(top - 2 * (ph < h ? ph : ph - h));
}

/* The counting element and OUT at tick `t`. */
static void eval(const struct pit_channel_state *c, uint64_t t, uint32_t *count, bool *out)
{
	if (!c->running || t < c->ref) {
		*count = c->hold;
		*out = c->out_idle;
		return;
	}
	uint64_t e = t - c->ref;
	switch (ch_mode(c)) {
	case 0:
	case 1:
		*count = count_down(c, c->v, e);
		*out = c->tc_done || e >= c->v;
		break;
	case 4:
	case 5:
		*count = count_down(c, c->v, e);
		*out = c->tc_done || e != c->v;
		break;
	case 2:
		*count = c->n < 2 ? c->n : (uint32_t)(c->n - e % c->n);
		*out = c->n < 2 || e % c->n != c->n - 1;
		break;
	default:
		eval_mode3(c, e, count, out);
		break;
	}
}

static uint32_t count_at(const struct pit_channel_state *c, uint64_t t)
{
	uint32_t count;
	bool out;
	eval(c, t, &count, &out);
	return count;
}

static bool out_at(const struct pit_channel_state *c, uint64_t t)
{
	uint32_t count;
	bool out;
	eval(c, t, &count, &out);
	return out;
}

/* Modes 2 and 3: a count written while counting loads at the end of the
 * period (mode 2) or half-period (mode 3); apply it once that tick came. */
static void sync(struct pit_channel_state *c, uint64_t t)
{
	if (!c->pending || t < c->pend_tick)
		return;
	c->ref = c->pend_tick;
	c->n = c->pend_n;
	c->start_low = c->pend_low;
	c->pending = 0;
	c->pend_tick = CLOCK_NEVER;
}

/* The first tick after `t` at which OUT may change (CLOCK_NEVER if it
 * cannot without a new write or gate edge). */
static uint64_t next_event(const struct pit_channel_state *c, uint64_t t)
{
	if (!c->running)
		return CLOCK_NEVER;
	if (t < c->ref)
		return c->ref;
	uint64_t e = t - c->ref, next = CLOCK_NEVER;
	switch (ch_mode(c)) {
	case 0:
	case 1:
		if (!c->tc_done && e < c->v)
			next = c->ref + c->v;
		break;
	case 4:
	case 5:
		if (!c->tc_done && e <= c->v)
			next = c->ref + c->v + (e == c->v);
		break;
	case 2:
		if (c->n >= 2)
			next = e % c->n < c->n - 1 ? t + (c->n - 1 - e % c->n) : t + 1;
		break;
	default:
		if (c->n >= 2) {
			uint64_t h = mode3_high(c->n), ph = mode3_phase(c, e);
			next = ph < h ? t + (h - ph) : t + (c->n - ph);
		}
		break;
	}
	if (c->pending && c->pend_tick < next)
		next = c->pend_tick;
	return next;
}

/* }====================================================================== */

/* {====== one counter: what writes and the gate do ====== */

/* Starts counting: the counting element is loaded at the next clock. */
static void start_segment(struct pit_channel_state *c, uint64_t t, uint32_t n)
{
	c->hold = count_at(c, t);
	c->ref = t + 1;
	c->v = n;
	c->n = n;
	c->start_low = 0;
	c->tc_done = 0;
	c->pending = 0;
	c->pend_tick = CLOCK_NEVER;
	c->running = 1;
	c->loaded = 1;
	if (c->null_count)
		c->load_tick = t + 1;
}

/* Stops counting at tick `t`, keeping the value and OUT there. */
static void stop_segment(struct pit_channel_state *c, uint64_t t)
{
	uint32_t count;
	bool out;
	eval(c, t, &count, &out);
	if (c->running && t >= c->ref && t - c->ref >= c->v)
		c->tc_done = 1; /* modes 0/1/4/5: the terminal count was reached */
	c->hold = count;
	c->out_idle = out;
	c->running = 0;
}

/* Modes 2/3: the tick that ends the current period or half-period. */
static void set_pending(struct pit_channel_state *c, uint64_t t, uint32_t n)
{
	uint64_t e = t - c->ref;
	if (ch_mode(c) == 2) {
		c->pend_tick = t + (c->n - e % c->n);
		c->pend_low = 0;
	} else {
		uint64_t h = mode3_high(c->n), ph = mode3_phase(c, e);
		c->pend_low = ph < h;
		c->pend_tick = t + (ph < h ? h - ph : c->n - ph);
	}
	c->pend_n = n;
	c->pending = 1;
	c->load_tick = c->pend_tick;
}

/* A whole new count is in the count register. */
static void count_written(struct pit_channel_state *c, uint64_t t)
{
	uint32_t n = count_of_cr(c);
	c->cr_valid = 1;
	c->null_count = 1;
	c->load_tick = CLOCK_NEVER;
	switch (ch_mode(c)) {
	case 0:
	case 4:
		c->out_idle = ch_mode(c) == 4; /* mode 0: OUT goes low at once */
		c->tc_done = 0;
		start_segment(c, t, n);
		if (!c->gate) {
			c->running = 0; /* loaded, but counts only while GATE is high */
			c->hold = n;
		}
		break;
	case 2:
	case 3:
		if (c->running && t < c->ref) {
			c->v = c->n = n; /* not loaded yet: the newer count wins */
			c->load_tick = c->ref;
		} else if (c->running) {
			set_pending(c, t, n);
		} else if (c->gate) {
			c->out_idle = 1;
			start_segment(c, t, n);
		}
		break;
	default:
		break; /* modes 1 and 5 wait for a GATE rising edge */
	}
}

static void control_written(struct pit_channel_state *c, uint64_t t, uint8_t val)
{
	stop_segment(c, t);
	c->control = val & PIT_CW_PROGRAM_MASK;
	c->out_idle = ch_mode(c) != 0; /* mode 0: OUT low; the others: high */
	c->loaded = 0;
	c->tc_done = 0;
	c->pending = 0;
	c->pend_tick = CLOCK_NEVER;
	c->cr_valid = 0;
	c->null_count = 1;
	c->load_tick = CLOCK_NEVER;
	c->write_msb = 0;
	c->read_msb = 0;
}

static void data_written(struct pit_channel_state *c, uint64_t t, uint8_t val)
{
	switch (ch_access(c)) {
	case PIT_RW_LSB:
		c->cr = val;
		count_written(c, t);
		break;
	case PIT_RW_MSB:
		c->cr = (uint16_t)(val << 8);
		count_written(c, t);
		break;
	default:
		if (!c->write_msb) {
			c->cr = (uint16_t)((c->cr & 0xff00) | val);
			c->write_msb = 1;
			if (ch_mode(c) == 0) {
				stop_segment(c, t); /* the first byte stops the count ... */
				c->out_idle = 0;    /* ... and OUT goes low at once */
			}
		} else {
			c->cr = (uint16_t)((c->cr & 0x00ff) | val << 8);
			c->write_msb = 0;
			count_written(c, t);
		}
		break;
	}
}

static void gate_rising(struct pit_channel_state *c, uint64_t t)
{
	switch (ch_mode(c)) {
	case 0:
	case 4:
		if (c->loaded && !c->running) { /* resume from the held value */
			c->ref = t;
			c->v = c->hold;
			c->running = 1;
		}
		break;
	default: /* 1 and 5 trigger, 2 and 3 restart: the count loads at the next clock */
		if (c->cr_valid) {
			c->out_idle = out_at(c, t);
			start_segment(c, t, count_of_cr(c));
		}
		break;
	}
}

static void gate_falling(struct pit_channel_state *c, uint64_t t)
{
	switch (ch_mode(c)) {
	case 0:
	case 4:
		if (c->running)
			stop_segment(c, t);
		break;
	case 2:
	case 3:
		if (c->running) {
			stop_segment(c, t);
			c->out_idle = 1; /* OUT is forced high at once */
			c->pending = 0;
			c->pend_tick = CLOCK_NEVER;
			if (c->null_count)
				c->load_tick = CLOCK_NEVER;
		}
		break;
	default:
		break; /* modes 1 and 5 only look at rising edges */
	}
}

static void set_gate(struct pit_channel_state *c, uint64_t t, bool gate)
{
	if (gate == c->gate)
		return;
	c->gate = gate;
	if (gate)
		gate_rising(c, t);
	else
		gate_falling(c, t);
}

/* }====================================================================== */

/* {====== one counter: reading ====== */

static void latch_count(struct pit_channel_state *c, uint64_t t)
{
	if (c->latch_state != PIT_LATCH_NONE)
		return; /* the first latched value stays until it is read */
	c->latched = to_reg(c, count_at(c, t));
	static const uint8_t first[] = {
	        [PIT_RW_LSB] = PIT_LATCH_LSB,
	        [PIT_RW_MSB] = PIT_LATCH_MSB,
	        [PIT_RW_WORD] = PIT_LATCH_WORD_LSB,
	};
	c->latch_state = first[ch_access(c)];
}

static void latch_status(struct pit_channel_state *c, uint64_t t)
{
	if (c->status_latched)
		return;
	bool null = c->null_count && t < c->load_tick;
	c->status = (uint8_t)((out_at(c, t) ? PIT_STATUS_OUT : 0) | (null ? PIT_STATUS_NULL : 0) |
	                      c->control);
	c->status_latched = 1;
}

static uint8_t read_latched(struct pit_channel_state *c)
{
	uint8_t lo = (uint8_t)c->latched, hi = (uint8_t)(c->latched >> 8);
	switch (c->latch_state) {
	case PIT_LATCH_LSB:
		c->latch_state = PIT_LATCH_NONE;
		return lo;
	case PIT_LATCH_MSB:
		c->latch_state = PIT_LATCH_NONE;
		return hi;
	case PIT_LATCH_WORD_LSB:
		c->latch_state = PIT_LATCH_WORD_MSB;
		return lo;
	default:
		c->latch_state = PIT_LATCH_NONE;
		return hi;
	}
}

static uint8_t data_read(struct pit_channel_state *c, uint64_t t)
{
	if (c->status_latched) {
		c->status_latched = 0;
		return c->status;
	}
	if (c->latch_state != PIT_LATCH_NONE)
		return read_latched(c);
	uint16_t count = to_reg(c, count_at(c, t));
	bool msb;
	switch (ch_access(c)) {
	case PIT_RW_LSB:
		msb = false;
		break;
	case PIT_RW_MSB:
		msb = true;
		break;
	default:
		msb = c->read_msb;
		c->read_msb ^= 1;
		break;
	}
	return (uint8_t)(msb ? count >> 8 : count);
}

/* }====================================================================== */

/* {====== IRQ 0: counter 0's OUT pin ====== */

static void drive_irq(struct dev_pit *p, bool level)
{
	if (level == p->st.irq_level)
		return;
	p->st.irq_level = level;
	dev_irq(p->board, PIT_IRQ, level);
}

static void schedule_irq(struct dev_pit *p, uint64_t tick)
{
	p->st.irq_tick = tick;
	clock_timer_arm(&p->irq_timer, dev_pit_cycle_of_tick(tick));
}

/* Counter 0 changed at tick `t`: drive OUT and arm its next transition. */
static void irq_update(struct dev_pit *p, uint64_t t)
{
	struct pit_channel_state *c = &p->st.ch[0];
	drive_irq(p, out_at(c, t));
	schedule_irq(p, next_event(c, t));
}

/* Works at the tick the event was due, not at `now`: a late timer (an
 * instruction overran the deadline) still plays each transition in turn. */
static void irq_timer_fired(void *opaque, uint64_t now)
{
	struct dev_pit *p = opaque;
	uint64_t t = p->st.irq_tick;
	if (t == CLOCK_NEVER)
		return;
	sync(&p->st.ch[0], t);
	irq_update(p, t);
}

/* }====================================================================== */

/* {====== ports ====== */

static uint32_t pit_read(void *opaque, uint16_t port, int size)
{
	struct dev_pit *p = opaque;
	int ch = port - PIT_BASE;
	if (ch >= PIT_CHANNELS)
		return 0xff; /* the control word register cannot be read */
	uint64_t t = now_tick(p);
	sync(&p->st.ch[ch], t);
	return data_read(&p->st.ch[ch], t);
}

static void command_written(struct dev_pit *p, uint64_t t, uint8_t val)
{
	int sc = val >> PIT_CW_SC_SHIFT;
	if (sc == PIT_SC_READBACK) {
		for (int ch = 0; ch < PIT_CHANNELS; ch++) {
			if (!(val & PIT_RB_SELECT(ch)))
				continue;
			if (!(val & PIT_RB_NOT_STATUS))
				latch_status(&p->st.ch[ch], t);
			if (!(val & PIT_RB_NOT_COUNT))
				latch_count(&p->st.ch[ch], t);
		}
	} else if (((val >> PIT_CW_RW_SHIFT) & PIT_CW_FIELD2) == PIT_RW_LATCH) {
		latch_count(&p->st.ch[sc], t);
	} else {
		control_written(&p->st.ch[sc], t, val);
	}
}

/* Only byte accesses reach the timer (a wider one writes its low byte). */
static void pit_write(void *opaque, uint16_t port, uint32_t val, int size)
{
	struct dev_pit *p = opaque;
	uint64_t t = now_tick(p);
	for (int ch = 0; ch < PIT_CHANNELS; ch++)
		sync(&p->st.ch[ch], t);
	if (port == PIT_BASE + PIT_CHANNELS)
		command_written(p, t, (uint8_t)val);
	else
		data_written(&p->st.ch[port - PIT_BASE], t, (uint8_t)val);
	irq_update(p, t);
}

static uint32_t portb_read(void *opaque, uint16_t port, int size)
{
	struct dev_pit *p = opaque;
	uint64_t t = now_tick(p);
	struct pit_channel_state *c = &p->st.ch[PIT_SPEAKER_CHANNEL];
	sync(c, t);
	uint8_t v = p->st.portb;
	if ((t / PIT_REFRESH_TICKS) & 1)
		v |= PORTB_REFRESH;
	if (out_at(c, t))
		v |= PORTB_OUT2;
	return v;
}

static void portb_write(void *opaque, uint16_t port, uint32_t val, int size)
{
	struct dev_pit *p = opaque;
	uint64_t t = now_tick(p);
	struct pit_channel_state *c = &p->st.ch[PIT_SPEAKER_CHANNEL];
	sync(c, t);
	p->st.portb = (uint8_t)(val & PORTB_WRITABLE);
	set_gate(c, t, val & PORTB_GATE2);
}

/* }====================================================================== */

/* {====== accessors and device ops ====== */

uint16_t dev_pit_count(struct dev_pit *p, int ch)
{
	uint64_t t = now_tick(p);
	struct pit_channel_state *c = &p->st.ch[ch];
	sync(c, t);
	return to_reg(c, count_at(c, t));
}

bool dev_pit_out(struct dev_pit *p, int ch)
{
	uint64_t t = now_tick(p);
	struct pit_channel_state *c = &p->st.ch[ch];
	sync(c, t);
	return out_at(c, t);
}

static void power_on(struct dev_pit *p)
{
	memset(&p->st, 0, sizeof p->st);
	for (int ch = 0; ch < PIT_CHANNELS; ch++) {
		struct pit_channel_state *c = &p->st.ch[ch];
		c->control = PIT_POWER_ON_CONTROL;
		c->gate = ch != PIT_SPEAKER_CHANNEL; /* port B bit 0 starts at 0 */
		c->pend_tick = CLOCK_NEVER;
		c->load_tick = CLOCK_NEVER;
	}
	p->st.irq_tick = CLOCK_NEVER;
}

static void pit_reset(struct device *d)
{
	struct dev_pit *p = (struct dev_pit *)d;
	clock_timer_cancel(&p->irq_timer);
	bool was = p->st.irq_level;
	power_on(p);
	if (was)
		dev_irq(p->board, PIT_IRQ, false);
}

static void pit_save(struct device *d, GByteArray *out)
{
	struct dev_pit *p = (struct dev_pit *)d;
	dev_save_pod(out, PIT_STATE_VERSION, &p->st, sizeof p->st);
}

/* The saved state holds counter 0's next event as an input tick; the
 * timer deadline is that tick's cycle. */
static bool pit_restore(struct device *d, const uint8_t *buf, size_t len, GError **error)
{
	struct dev_pit *p = (struct dev_pit *)d;
	if (!dev_restore_pod(d->name, PIT_STATE_VERSION, buf, len, &p->st, sizeof p->st, error))
		return false;
	clock_timer_arm(&p->irq_timer, dev_pit_cycle_of_tick(p->st.irq_tick));
	dev_irq(p->board, PIT_IRQ, p->st.irq_level);
	return true;
}

static void pit_free(struct device *d)
{
	struct dev_pit *p = (struct dev_pit *)d;
	clock_timer_cancel(&p->irq_timer);
	g_free(p);
}

static const struct device_ops pit_ops = {
	.reset = pit_reset,
	.save = pit_save,
	.restore = pit_restore,
	.free = pit_free,
};

struct dev_pit *dev_pit_new(const struct dev_board *b, GError **error)
{
	struct dev_pit *p = g_new0(struct dev_pit, 1);
	p->dev.ops = &pit_ops;
	p->dev.name = "pit";
	p->board = b;
	clock_timer_init(&p->irq_timer, b->clock, "pit0", irq_timer_fired, p);
	power_on(p);
	bool ok = ioport_claim(b->io, PIT_BASE, PIT_PORTS, pit_read, pit_write, p) &&
	          ioport_claim(b->io, PIT_PORTB, 1, portb_read, portb_write, p);
	if (!ok) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "the 8254 ports (0x%x-0x%x and port B 0x%x) are already taken on this "
		            "board",
		            PIT_BASE, PIT_BASE + PIT_PORTS - 1, PIT_PORTB);
		g_free(p); /* ports claimed so far stay: the board is being torn down */
		return NULL;
	}
	return p;
}

/* }====================================================================== */
