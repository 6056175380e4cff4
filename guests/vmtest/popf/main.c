/*
 * guests/vmtest/popf/main.c - Popek and Goldberg's POPF: the classic
 * critical section of a kernel
 *
 *     pushf          save the flags, IF = 1
 *     cli            interrupts off
 *     ...            critical work
 *     popf           restore the flags: IF = 1 again
 *
 * On a real CPU at CPL 0, POPF restores IF. A guest kernel deprivileged
 * to CPL 3 by a trap-and-emulate monitor executes the same POPF; on a
 * real i386 it does not trap there (POPF is sensitive but not privileged)
 * and silently keeps IF as it was, so the monitor never learns that the
 * guest wants interrupts again and the guest's timer stops. nestlab's
 * strict mode makes POPF (and PUSHF) trap at CPL > 0, so the monitor can
 * emulate them; --faithful-i386 turns it off and the hole shows.
 *
 * The kernel programs the 8254 for IRQ 0 at 1 kHz and counts ticks, then
 * checks, each against a bounded wait measured by the 8254's counter 2
 * (port 0x61 OUT2, polled, no interrupts needed):
 *   1. with STI, ticks arrive (the timer works at all);
 *   2. after PUSHF; CLI, PUSHF shows IF = 0 and no tick arrives;
 *   3. after POPF, PUSHF shows IF = 1 again;
 *   4. after POPF, ticks arrive without any STI or HLT.
 * Exit status 0 iff all passed. The output holds no counts unless a
 * check fails, so it is the same on every machine that passes.
 */
#include "rt.h"

/* {====== the 8254 and port B (docs/board.md) */

#define PIT_CH0 0x40
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PORTB 0x61
#define PORTB_GATE2 0x01
#define PORTB_OUT2 0x20
#define PIT_CW_CH0_RATE 0x34    /* counter 0, LSB then MSB, mode 2, binary */
#define PIT_CW_CH2_ONESHOT 0xB0 /* counter 2, LSB then MSB, mode 0, binary */
#define PIT_KHZ_COUNT 1193      /* 1193182 Hz / 1193 = 1000.15 Hz */
#define PIT_TICKS_PER_MS 1193u
#define IRQ_TIMER 0

/* }====== */

#define WAIT_MS 20           /* the bounded wait: 20 timer periods */
#define WANT_TICKS 3         /* ticks that prove interrupts are on */
#define POLL_LIMIT 50000000u /* if counter 2 never fires: give up */

static volatile uint32_t ticks;

static void timer_handler(struct rt_frame *f)
{
	(void)f;
	ticks++;
	pic_eoi(IRQ_TIMER);
}

static void pit_write_count(uint16_t port, uint16_t count)
{
	outb(port, (uint8_t)count);
	outb(port, (uint8_t)(count >> 8));
}

static void timer_start(void)
{
	rt_set_handler(RT_VEC_IRQ0 + IRQ_TIMER, timer_handler);
	outb(PIT_CMD, PIT_CW_CH0_RATE);
	pit_write_count(PIT_CH0, PIT_KHZ_COUNT);
	pic_unmask(IRQ_TIMER);
}

/*
 * Busy-wait (no STI, no HLT, no change of the flags) until `want` more
 * ticks have arrived or WAIT_MS milliseconds have passed on counter 2.
 * Returns the number of ticks that arrived; *polls gets the loop count.
 */
static uint32_t wait_ticks(uint32_t want, uint32_t *polls)
{
	uint32_t start = ticks, i;

	outb(PORTB, PORTB_GATE2);
	outb(PIT_CMD, PIT_CW_CH2_ONESHOT);
	pit_write_count(PIT_CH2, (uint16_t)(WAIT_MS * PIT_TICKS_PER_MS));
	for (i = 1; i < POLL_LIMIT; i++) {
		if (ticks - start >= want)
			break;
		if (inb(PORTB) & PORTB_OUT2)
			break;
	}
	*polls = i;
	return ticks - start;
}

static void check_timer_works(void)
{
	uint32_t polls, n;

	sti();
	n = wait_ticks(WANT_TICKS, &polls);
	cli();
	if (n >= WANT_TICKS)
		rt_pass("timer ticks arrive with STI");
	else
		rt_fail("timer ticks arrive with STI", "%u timer ticks in %u ms (%u polls)", n,
		        WAIT_MS, polls);
}

/* The critical section: PUSHF; CLI; work; POPF, with IF = 1 before it.
 * Returns the flags PUSHF saw inside (after CLI) and after POPF. */
static void critical_section(uint32_t *inside, uint32_t *after, uint32_t *ticks_inside)
{
	uint32_t polls;

	sti();
	__asm__ volatile("pushfl\n\t"
			 "cli" ::: "memory");
	*inside = read_eflags();
	*ticks_inside = wait_ticks(1, &polls);
	__asm__ volatile("popfl" ::: "memory", "cc");
	*after = read_eflags();
}

int main(void)
{
	uint32_t inside, after, n_inside, n_after, polls;

	rt_puts("popf: PUSHF; CLI; ...; POPF must turn interrupts back on\n");
	timer_start();
	check_timer_works();

	critical_section(&inside, &after, &n_inside);
	n_after = wait_ticks(WANT_TICKS, &polls);
	cli();

	if (inside & EFLAGS_IF)
		rt_fail("PUSHF after CLI shows IF=0", "EFLAGS 0x%08x has IF set: the real flags "
		        "show through, not the guest's", inside);
	else
		rt_pass("PUSHF after CLI shows IF=0");
	if (n_inside)
		rt_fail("no timer tick inside CLI", "%u ticks arrived with interrupts off", n_inside);
	else
		rt_pass("no timer tick inside CLI");
	if (after & EFLAGS_IF)
		rt_pass("PUSHF after POPF shows IF=1");
	else
		rt_fail("PUSHF after POPF shows IF=1", "EFLAGS 0x%08x has IF clear", after);
	if (n_after >= WANT_TICKS)
		rt_pass("timer ticks after POPF");
	else
		rt_fail("timer ticks after POPF", "POPF did not restore IF: interrupts stayed off, "
		        "%u timer ticks in %u ms (%u polls)", n_after, WAIT_MS, polls);
	pic_mask(IRQ_TIMER);
	rt_done();
}
