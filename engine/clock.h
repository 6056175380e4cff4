/*
 * clock.h - the machine's deterministic event queue on the cycle clock.
 *
 * Time in nestlab is the CPU's cycle counter (cpu->cycles: retired
 * instructions plus modelled costs; see docs/cpu.md). Nothing else - no
 * host time, no thread timing - moves it. The CPU's modelled frequency is
 * CLOCK_HZ, so one cycle is CLOCK_NS_PER_CYCLE nanoseconds of virtual time,
 * and every device timer (PIT, RTC, LAPIC timer, UART character times,
 * keyboard repeat, disk latency) is an event on this queue at a cycle
 * number.
 *
 * A device owns its `struct clock_timer`s (usually inside its own struct),
 * initialises each once with clock_timer_init(), and arms or cancels them
 * as its registers say. When the CPU's cycle count reaches a timer's
 * deadline, the machine's run loop calls the timer's function with the
 * current time, between two instructions. Timers due at the same cycle
 * fire in the order they were armed (ties broken by a sequence number),
 * so the order never depends on anything but the guest.
 *
 * While the CPU is halted, the run loop moves the clock forward to the
 * next deadline (time passes, icount does not).
 *
 * Snapshots: the queue has no state of its own beyond the cycle count.
 * A device saves each timer's deadline (clock_timer_deadline(), or
 * CLOCK_NEVER) in its state and re-arms it on restore.
 */
#ifndef NESTLAB_CLOCK_H
#define NESTLAB_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define CLOCK_HZ 100000000ull /* the modelled CPU clock: 100 MHz */
#define CLOCK_NS_PER_CYCLE 10u
#define CLOCK_NEVER UINT64_MAX

struct clock;
struct clock_timer;

/* Called when the timer fires; `now` is the current cycle count (at or a
 * few cycles after the deadline: an instruction is never split). */
typedef void (*clock_timer_fn)(void *opaque, uint64_t now);

struct clock_timer {
	/* private: use the functions below */
	struct clock *clock;
	clock_timer_fn fn;
	void *opaque;
	const char *name;
	uint64_t deadline; /* CLOCK_NEVER when not armed */
	uint64_t seq;
	struct clock_timer *next;
};

/*
 * A queue reading time from *now (the CPU's cycle counter) and keeping
 * *limit (the CPU's cycle limit for its run loop) at the earliest deadline,
 * so that arming a timer while the CPU runs makes the CPU stop in time.
 */
struct clock *clock_new(const uint64_t *now, uint64_t *limit);
void clock_free(struct clock *c);

/* Reads time from *now and keeps *limit from now on (several CPUs: the
 * CPU whose turn it is holds the machine's clock); sets *limit. */
void clock_set_source(struct clock *c, const uint64_t *now, uint64_t *limit);

/* The current cycle count. */
uint64_t clock_now(const struct clock *c);

/* Prepares a timer (not armed). `name` is for debugging output. */
void clock_timer_init(struct clock_timer *t, struct clock *c, const char *name,
                      clock_timer_fn fn, void *opaque);

/* Arms (or re-arms) `t` to fire at absolute cycle `deadline`; a deadline
 * in the past fires at the next instruction boundary. CLOCK_NEVER cancels. */
void clock_timer_arm(struct clock_timer *t, uint64_t deadline);
/* Arms `t` to fire `delta` cycles from now. */
void clock_timer_arm_in(struct clock_timer *t, uint64_t delta);
void clock_timer_cancel(struct clock_timer *t);
bool clock_timer_armed(const struct clock_timer *t);
/* The deadline, or CLOCK_NEVER if not armed. */
uint64_t clock_timer_deadline(const struct clock_timer *t);

/* The earliest deadline of all armed timers, or CLOCK_NEVER. */
uint64_t clock_next(const struct clock *c);

/* Fires every timer whose deadline is at or before now, earliest first
 * (a timer re-armed by its own function for a time still due fires again).
 * Returns the number fired. Called by the machine's run loop. */
unsigned clock_run_due(struct clock *c);

/* Moves time forward to `t` (> now) while the CPU is halted: the machine
 * calls it with clock_next() and then runs the due timers. */
void clock_advance_to(struct clock *c, uint64_t *cycles, uint64_t t);

/* Conversions between virtual nanoseconds and cycles, and from a device's
 * own frequency to cycles (rounded down) and back. */
static inline uint64_t clock_ns_to_cycles(uint64_t ns)
{
	return ns / CLOCK_NS_PER_CYCLE;
}

static inline uint64_t clock_cycles_to_ns(uint64_t cycles)
{
	return cycles * CLOCK_NS_PER_CYCLE;
}

/* Cycles spanned by `ticks` of a clock running at `hz`. */
static inline uint64_t clock_ticks_to_cycles(uint64_t ticks, uint64_t hz)
{
	return (uint64_t)((unsigned __int128)ticks * CLOCK_HZ / hz);
}

/* Whole ticks of a clock running at `hz` within `cycles`. */
static inline uint64_t clock_cycles_to_ticks(uint64_t cycles, uint64_t hz)
{
	return (uint64_t)((unsigned __int128)cycles * hz / CLOCK_HZ);
}

#endif
