/*
 * lapic.c - the local APIC (Intel SDM vol. 3, chapter 10): interrupt
 * acknowledgement (EOI) and the timer that drives the scheduler.
 */
#include "defs.h"
#include "param.h"
#include "traps.h"

/* Register offsets, in bytes */
#define LAPIC_ID	0x020
#define LAPIC_VER	0x030
#define LAPIC_TPR	0x080	/* task priority */
#define LAPIC_EOI	0x0B0
#define LAPIC_SVR	0x0F0	/* spurious interrupt vector */
#define LAPIC_ESR	0x280	/* error status */
#define LAPIC_TIMER	0x320	/* LVT timer */
#define LAPIC_PCINT	0x340	/* LVT performance counter */
#define LAPIC_LINT0	0x350
#define LAPIC_LINT1	0x360
#define LAPIC_ERROR	0x370	/* LVT error */
#define LAPIC_TICR	0x380	/* timer initial count */
#define LAPIC_TDCR	0x3E0	/* timer divide configuration */

#define SVR_ENABLE	0x00000100
#define LVT_MASKED	0x00010000
#define TIMER_PERIODIC	0x00020000
#define TDCR_X1		0x0000000B	/* divide by 1 */
#define VER_MAXLVT(v)	(((v) >> 16) & 0xFF)

static volatile uint32_t *lapic;

static void lapicw(int reg, uint32_t value)
{
	lapic[reg / 4] = value;
	(void)lapic[LAPIC_ID / 4];	/* wait for the write to finish */
}

/*
 * Enable the local APIC, mask the LINT pins (the 8259 is not used) and start
 * the timer: periodic, every TIMER_COUNT bus clocks, on vector T_IRQ0.
 */
void lapic_init(void)
{
	lapic = (volatile uint32_t *)mp_lapic_addr;
	lapicw(LAPIC_SVR, SVR_ENABLE | (T_IRQ0 + IRQ_SPURIOUS));

	lapicw(LAPIC_TDCR, TDCR_X1);
	lapicw(LAPIC_TIMER, TIMER_PERIODIC | (T_IRQ0 + IRQ_TIMER));
	lapicw(LAPIC_TICR, TIMER_COUNT);

	lapicw(LAPIC_LINT0, LVT_MASKED);
	lapicw(LAPIC_LINT1, LVT_MASKED);
	if (VER_MAXLVT(lapic[LAPIC_VER / 4]) >= 4)
		lapicw(LAPIC_PCINT, LVT_MASKED);
	lapicw(LAPIC_ERROR, T_IRQ0 + IRQ_ERROR);
	lapicw(LAPIC_ESR, 0);	/* back-to-back writes clear it */
	lapicw(LAPIC_ESR, 0);
	lapicw(LAPIC_EOI, 0);	/* acknowledge anything outstanding */
	lapicw(LAPIC_TPR, 0);	/* accept every interrupt */
}

/* This CPU's APIC ID, from the APIC itself. */
int lapic_id(void)
{
	return lapic ? lapic[LAPIC_ID / 4] >> 24 : 0;
}

/* Acknowledge the interrupt being handled. */
void lapic_eoi(void)
{
	if (lapic)
		lapicw(LAPIC_EOI, 0);
}
