/*
 * lapic.c - the local APIC (see lapic.h for the model and what is left out).
 */
#include "lapic.h"

#include <string.h>

#include "nestlab.h"

#define LAPIC_STATE_VERSION 1u

/* Writable bits of each LVT entry (SDM figure "Local Vector Table"): the
 * timer and error entries have no delivery mode; only LINT0/LINT1 have
 * polarity and trigger mode. */
static const uint32_t lvt_writable[LAPIC_LVT_COUNT] = {
        [LAPIC_LVT_TIMER] = LAPIC_VECTOR_MASK | LAPIC_LVT_MASKED | LAPIC_TIMER_PERIODIC,
        [LAPIC_LVT_THERMAL] = LAPIC_VECTOR_MASK | LAPIC_DM_MASK | LAPIC_LVT_MASKED,
        [LAPIC_LVT_PERF] = LAPIC_VECTOR_MASK | LAPIC_DM_MASK | LAPIC_LVT_MASKED,
        [LAPIC_LVT_LINT0] = LAPIC_VECTOR_MASK | LAPIC_DM_MASK | LAPIC_LVT_POLARITY_LOW |
                            LAPIC_TRIGGER_LEVEL | LAPIC_LVT_MASKED,
        [LAPIC_LVT_LINT1] = LAPIC_VECTOR_MASK | LAPIC_DM_MASK | LAPIC_LVT_POLARITY_LOW |
                            LAPIC_TRIGGER_LEVEL | LAPIC_LVT_MASKED,
        [LAPIC_LVT_ERROR] = LAPIC_VECTOR_MASK | LAPIC_LVT_MASKED,
};

/* ICR low: vector, delivery mode, destination mode, level, trigger mode,
 * shorthand (delivery status is read-only). */
#define ICR_LO_WRITABLE                                                                            \
	(LAPIC_VECTOR_MASK | LAPIC_DM_MASK | LAPIC_DEST_LOGICAL | LAPIC_ICR_LEVEL_ASSERT |         \
	 LAPIC_TRIGGER_LEVEL | LAPIC_ICR_SHORTHAND_MASK)
#define ID_MASK 0xff000000u
#define LDR_MASK 0xff000000u
#define DFR_MODEL_MASK 0xf0000000u
#define DFR_FLAT 0xfu
#define DFR_CLUSTER 0x0u
#define DCR_WRITABLE 0xbu
#define BROADCAST_ID 0xff
#define PRIORITY_CLASS 0xf0u
#define MSR_APIC_BASE_ENABLE (1ull << 11)

/* What firmware (SeaBIOS) leaves in LINT0/LINT1: virtual wire mode. */
#define VWIRE_LINT0 (LAPIC_TRIGGER_LEVEL | (LAPIC_DM_EXTINT << LAPIC_DM_SHIFT))
#define VWIRE_LINT1 (LAPIC_TRIGGER_LEVEL | (LAPIC_DM_NMI << LAPIC_DM_SHIFT))
#define POWERUP_SVR 0xffu

static void raise_error(struct dev_lapic *l, uint32_t bits);

/* {====== 256-bit vector sets (ISR, TMR, IRR) ====== */

static void vset(uint32_t *set, int v)
{
	set[v >> 5] |= 1u << (v & 31);
}

static void vclear(uint32_t *set, int v)
{
	set[v >> 5] &= ~(1u << (v & 31));
}

static bool vtest(const uint32_t *set, int v)
{
	return (set[v >> 5] >> (v & 31)) & 1;
}

/* The highest vector in the set, or -1. */
static int vhighest(const uint32_t *set)
{
	for (int i = 7; i >= 0; i--)
		if (set[i])
			return i * 32 + 31 - __builtin_clz(set[i]);
	return -1;
}

/* }====================================================================== */

/* {====== priorities and the CPU's interrupt line ====== */

static void notify(struct dev_lapic *l)
{
	if (l->hooks.changed)
		l->hooks.changed(l->hooks.opaque);
}

/* PPR: the TPR, or the class of the highest in-service vector if that is
 * higher (SDM "Processor Priority Register"). */
static uint32_t ppr(const struct lapic_state *st)
{
	int isrv = vhighest(st->isr);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & PRIORITY_CLASS;
	return (st->tpr & PRIORITY_CLASS) >= isr_class ? st->tpr : isr_class;
}

static bool sw_enabled(const struct lapic_state *st)
{
	return !st->hw_disabled && (st->svr & LAPIC_SVR_ENABLE);
}

bool dev_lapic_pending(const struct dev_lapic *l)
{
	const struct lapic_state *st = &l->st;
	int irrv = vhighest(st->irr);
	return sw_enabled(st) && irrv >= 0 &&
	       ((uint32_t)irrv & PRIORITY_CLASS) > (ppr(st) & PRIORITY_CLASS);
}

int dev_lapic_ack(struct dev_lapic *l)
{
	if (!dev_lapic_pending(l))
		return (int)(l->st.svr & LAPIC_VECTOR_MASK);
	int v = vhighest(l->st.irr);
	vclear(l->st.irr, v);
	vset(l->st.isr, v);
	notify(l);
	return v;
}

bool dev_lapic_accepts_pic(const struct dev_lapic *l)
{
	uint32_t lint0 = l->st.lvt[LAPIC_LVT_LINT0];
	bool extint = ((lint0 & LAPIC_DM_MASK) >> LAPIC_DM_SHIFT) == LAPIC_DM_EXTINT;
	return l->st.hw_disabled || (!(lint0 & LAPIC_LVT_MASKED) && extint);
}

/* }====================================================================== */

/* {====== accepting interrupts ====== */

/* An interrupt for this APIC with `vector`: into IRR, TMR as its trigger
 * mode says. */
static void accept(struct dev_lapic *l, int vector, bool level)
{
	if (l->st.hw_disabled)
		return;
	if (vector < LAPIC_FIRST_LEGAL_VECTOR) {
		raise_error(l, LAPIC_ESR_RECV_ILLEGAL_VECTOR);
		return;
	}
	vset(l->st.irr, vector);
	if (level)
		vset(l->st.tmr, vector);
	else
		vclear(l->st.tmr, vector);
	notify(l);
}

void dev_lapic_deliver(struct dev_lapic *l, int vector, bool level_triggered)
{
	accept(l, vector & (int)LAPIC_VECTOR_MASK, level_triggered);
}

static uint32_t lvt_mode(uint32_t lvt)
{
	return (lvt & LAPIC_DM_MASK) >> LAPIC_DM_SHIFT;
}

/* A local interrupt source (timer, error, LINT edge) fires through its LVT
 * entry. */
static void local_deliver(struct dev_lapic *l, enum lapic_lvt i)
{
	uint32_t lvt = l->st.lvt[i];
	if (lvt & LAPIC_LVT_MASKED)
		return;
	switch (lvt_mode(lvt)) {
	case LAPIC_DM_FIXED:
		accept(l, (int)(lvt & LAPIC_VECTOR_MASK), false);
		break;
	case LAPIC_DM_NMI:
		if (l->hooks.nmi)
			l->hooks.nmi(l->hooks.opaque);
		break;
	case LAPIC_DM_INIT:
		if (l->hooks.init)
			l->hooks.init(l->hooks.opaque);
		break;
	default: /* SMI: no SMM; ExtINT: the board polls dev_lapic_accepts_pic */
		break;
	}
}

/* Collects errors; a new one raises the error LVT (once per new bit, so an
 * illegal error vector cannot recurse for ever). */
static void raise_error(struct dev_lapic *l, uint32_t bits)
{
	uint32_t was = l->st.esr_pending;
	l->st.esr_pending |= bits;
	if (l->st.esr_pending != was)
		local_deliver(l, LAPIC_LVT_ERROR);
}

/* }====================================================================== */

/* {====== LINT0 / LINT1 ====== */

static bool lint_asserted(const struct dev_lapic *l, int pin)
{
	bool low = (l->st.lvt[LAPIC_LVT_LINT0 + pin] & LAPIC_LVT_POLARITY_LOW) != 0;
	return (l->st.lint_level[pin] != 0) != low;
}

static bool lint_fixed_level(uint32_t lvt)
{
	return lvt_mode(lvt) == LAPIC_DM_FIXED && (lvt & LAPIC_TRIGGER_LEVEL);
}

/* A level-triggered fixed LINT entry: delivers while the input is asserted
 * and the previous delivery has been EOIed (remote IRR clear). */
static void lint_service(struct dev_lapic *l, int pin)
{
	uint32_t *lvt = &l->st.lvt[LAPIC_LVT_LINT0 + pin];
	if ((*lvt & (LAPIC_LVT_MASKED | LAPIC_LVT_REMOTE_IRR)) || !lint_fixed_level(*lvt) ||
	    !lint_asserted(l, pin) || l->st.hw_disabled)
		return;
	*lvt |= LAPIC_LVT_REMOTE_IRR;
	accept(l, (int)(*lvt & LAPIC_VECTOR_MASK), true);
}

void dev_lapic_set_lint(struct dev_lapic *l, int pin, bool level)
{
	if (pin < 0 || pin > 1)
		return;
	bool was = lint_asserted(l, pin);
	l->st.lint_level[pin] = level;
	bool now = lint_asserted(l, pin);
	uint32_t lvt = l->st.lvt[LAPIC_LVT_LINT0 + pin];
	if (lint_fixed_level(lvt))
		lint_service(l, pin);
	else if (now && !was)
		local_deliver(l, LAPIC_LVT_LINT0 + pin);
	if (pin == 0)
		notify(l);
}

/* EOI of `vector`: a level LINT entry with that vector may deliver again. */
static void lint_eoi(struct dev_lapic *l, int vector)
{
	for (int pin = 0; pin < 2; pin++) {
		uint32_t *lvt = &l->st.lvt[LAPIC_LVT_LINT0 + pin];
		if ((*lvt & LAPIC_LVT_REMOTE_IRR) && (int)(*lvt & LAPIC_VECTOR_MASK) == vector) {
			*lvt &= ~LAPIC_LVT_REMOTE_IRR;
			lint_service(l, pin);
		}
	}
}

/* }====================================================================== */

/* {====== the timer ====== */

/* Bus clocks (= CPU cycles) per count for divide configuration `dcr`:
 * bits 0, 1 and 3 encode 2, 4, 8, ..., 128, 1. */
static uint64_t timer_divisor(uint32_t dcr)
{
	uint32_t v = (dcr & 3u) | ((dcr >> 1) & 4u);
	return 1ull << ((v + 1) & 7u);
}

static bool timer_periodic(const struct lapic_state *st)
{
	return (st->lvt[LAPIC_LVT_TIMER] & LAPIC_TIMER_PERIODIC) != 0;
}

/* Whole counts elapsed since the count was last `timer_initial`. */
static uint64_t timer_elapsed(const struct dev_lapic *l, uint64_t now)
{
	return (now - l->st.timer_start) / timer_divisor(l->st.timer_dcr);
}

static uint32_t timer_current(const struct dev_lapic *l, uint64_t now)
{
	const struct lapic_state *st = &l->st;
	if (!st->timer_running)
		return 0;
	uint64_t e = timer_elapsed(l, now);
	if (timer_periodic(st))
		return st->timer_initial - (uint32_t)(e % st->timer_initial);
	return e >= st->timer_initial ? 0 : st->timer_initial - (uint32_t)e;
}

/* Arms the clock for the next time the count reaches 0. */
static void timer_arm(struct dev_lapic *l, uint64_t now)
{
	struct lapic_state *st = &l->st;
	uint64_t deadline = CLOCK_NEVER;
	if (st->timer_running) {
		uint64_t period = (uint64_t)st->timer_initial * timer_divisor(st->timer_dcr);
		uint64_t k = timer_periodic(st) ? timer_elapsed(l, now) / st->timer_initial + 1 : 1;
		deadline = st->timer_start + k * period;
	}
	st->timer_deadline = deadline;
	clock_timer_arm(&l->timer, deadline);
}

/* Keeps the current count `cur` while the divisor or mode changes: moves
 * the start so that the count continues from where it is. */
static void timer_rebase(struct dev_lapic *l, uint64_t now, uint32_t cur)
{
	uint64_t done = (uint64_t)(l->st.timer_initial - cur);
	l->st.timer_start = now - done * timer_divisor(l->st.timer_dcr);
}

static void timer_load(struct dev_lapic *l, uint32_t initial)
{
	uint64_t now = clock_now(l->board->clock);
	l->st.timer_initial = initial;
	l->st.timer_running = initial != 0; /* a 0 stops the timer */
	l->st.timer_start = now;
	timer_arm(l, now);
}

/* Changes the divide configuration or the LVT timer mode, keeping the count. */
static void timer_reconfigure(struct dev_lapic *l, uint32_t dcr, uint32_t lvt)
{
	uint64_t now = clock_now(l->board->clock);
	uint32_t cur = timer_current(l, now);
	l->st.timer_dcr = dcr;
	l->st.lvt[LAPIC_LVT_TIMER] = lvt;
	if (!l->st.timer_running)
		return;
	if (cur == 0) /* a one-shot that is due: it fires as planned */
		cur = 1;
	timer_rebase(l, now, cur);
	timer_arm(l, now);
}

static void timer_fire(void *opaque, uint64_t now)
{
	struct dev_lapic *l = opaque;
	if (!l->st.timer_running)
		return;
	if (timer_periodic(&l->st)) {
		timer_arm(l, now);
	} else {
		l->st.timer_running = 0;
		l->st.timer_deadline = CLOCK_NEVER;
	}
	local_deliver(l, LAPIC_LVT_TIMER);
}

/* }====================================================================== */

/* {====== ICR: interprocessor interrupts to itself ====== */

bool dev_lapic_is_dest(const struct dev_lapic *l, int dest)
{
	uint32_t d = (uint32_t)dest & 0xffu;
	if (!(dest & LAPIC_DEST_ID_LOGICAL))
		return d == BROADCAST_ID || d == l->st.id >> LAPIC_ICR_DEST_SHIFT;
	uint32_t ldr = l->st.ldr >> 24;
	switch (l->st.dfr >> 28) {
	case DFR_FLAT:
		return (d & ldr) != 0;
	case DFR_CLUSTER: {
		bool cluster = (d >> 4) == 0xf || (d >> 4) == (ldr >> 4);
		return cluster && (d & ldr & 0xfu) != 0;
	}
	default:
		return false;
	}
}

/* Whether the message in ICR of `from` reaches APIC `to`. */
static bool icr_reaches(const struct dev_lapic *from, const struct dev_lapic *to)
{
	uint32_t lo = from->st.icr_lo;
	switch ((lo & LAPIC_ICR_SHORTHAND_MASK) >> LAPIC_ICR_SHORTHAND_SHIFT) {
	case LAPIC_SH_SELF:
		return to == from;
	case LAPIC_SH_ALL:
		return true;
	case LAPIC_SH_OTHERS:
		return to != from;
	default: {
		int dest = (int)(from->st.icr_hi >> LAPIC_ICR_DEST_SHIFT);
		if (lo & LAPIC_DEST_LOGICAL)
			dest |= LAPIC_DEST_ID_LOGICAL;
		return dev_lapic_is_dest(to, dest);
	}
	}
}

/* The APICs the message in ICR reaches, in peer order, into `out` (room
 * for every peer); returns how many. */
static int icr_targets(struct dev_lapic *l, struct dev_lapic **out)
{
	int n = 0;
	if (!l->peers)
		return icr_reaches(l, l) ? (out[0] = l, 1) : 0;
	for (int i = 0; i < l->n_peers; i++)
		if (icr_reaches(l, l->peers[i]))
			out[n++] = l->peers[i];
	return n;
}

/* Lowest priority: of the targets, the one with the lowest task priority
 * class (ties: the first in peer order, the lowest APIC ID). */
static int lowest_priority(struct dev_lapic **t, int n)
{
	int best = 0;
	for (int i = 1; i < n; i++)
		if ((t[i]->st.tpr & PRIORITY_CLASS) < (t[best]->st.tpr & PRIORITY_CLASS))
			best = i;
	return best;
}

/* Message `lo` (ICR low) arrives at APIC `to`. */
static void receive_ipi(struct dev_lapic *to, uint32_t lo)
{
	int vector = (int)(lo & LAPIC_VECTOR_MASK);
	switch (lvt_mode(lo)) {
	case LAPIC_DM_FIXED:
	case LAPIC_DM_LOWEST:
		accept(to, vector, (lo & LAPIC_TRIGGER_LEVEL) != 0);
		break;
	case LAPIC_DM_NMI:
		if (to->hooks.nmi)
			to->hooks.nmi(to->hooks.opaque);
		break;
	case LAPIC_DM_INIT:
		if (to->hooks.init)
			to->hooks.init(to->hooks.opaque);
		break;
	case LAPIC_DM_STARTUP:
		if (to->hooks.sipi)
			to->hooks.sipi(to->hooks.opaque, vector);
		break;
	default: /* SMI: no SMM */
		break;
	}
}

static void send_ipi(struct dev_lapic *l)
{
	uint32_t lo = l->st.icr_lo;
	struct dev_lapic *self_only[1];
	struct dev_lapic **t = l->peers ? g_newa(struct dev_lapic *, l->n_peers) : self_only;
	int n = icr_targets(l, t);
	uint32_t mode = lvt_mode(lo);
	if (mode == LAPIC_DM_INIT && (lo & LAPIC_TRIGGER_LEVEL) && !(lo & LAPIC_ICR_LEVEL_ASSERT))
		return; /* INIT level de-assert: only synchronises arbitration IDs */
	if ((mode == LAPIC_DM_FIXED || mode == LAPIC_DM_LOWEST) &&
	    (lo & LAPIC_VECTOR_MASK) < LAPIC_FIRST_LEGAL_VECTOR) {
		/* refused by every receiver, and by the sender (one error for both
		 * when it is its own receiver) */
		bool self = false;
		for (int i = 0; i < n; i++)
			if (t[i] == l)
				self = true;
			else
				raise_error(t[i], LAPIC_ESR_RECV_ILLEGAL_VECTOR);
		raise_error(l, LAPIC_ESR_SEND_ILLEGAL_VECTOR | (self ? LAPIC_ESR_RECV_ILLEGAL_VECTOR : 0));
		return;
	}
	if (mode == LAPIC_DM_LOWEST && n > 1) {
		t[0] = t[lowest_priority(t, n)];
		n = 1;
	}
	for (int i = 0; i < n; i++)
		receive_ipi(t[i], lo);
}

/* }====================================================================== */

/* {====== registers ====== */

static void eoi(struct dev_lapic *l)
{
	int v = vhighest(l->st.isr);
	if (v < 0)
		return;
	vclear(l->st.isr, v);
	bool level = vtest(l->st.tmr, v);
	lint_eoi(l, v);
	notify(l);
	if (level && l->hooks.eoi)
		l->hooks.eoi(l->hooks.opaque, v);
}

static void write_svr(struct dev_lapic *l, uint32_t v)
{
	l->st.svr = v & LAPIC_SVR_WRITABLE;
	if (!(l->st.svr & LAPIC_SVR_ENABLE)) /* software disable masks every LVT */
		for (int i = 0; i < LAPIC_LVT_COUNT; i++)
			l->st.lvt[i] |= LAPIC_LVT_MASKED;
	notify(l);
}

static void write_lvt(struct dev_lapic *l, enum lapic_lvt i, uint32_t v)
{
	uint32_t old = l->st.lvt[i];
	v &= lvt_writable[i];
	if (!(l->st.svr & LAPIC_SVR_ENABLE))
		v |= LAPIC_LVT_MASKED; /* cannot be unmasked while software-disabled */
	if (i == LAPIC_LVT_TIMER) {
		timer_reconfigure(l, l->st.timer_dcr, v);
		return;
	}
	if (i == LAPIC_LVT_LINT0 || i == LAPIC_LVT_LINT1) {
		if (lint_fixed_level(v))
			v |= old & LAPIC_LVT_REMOTE_IRR;
		l->st.lvt[i] = v;
		lint_service(l, i - LAPIC_LVT_LINT0);
		notify(l);
		return;
	}
	l->st.lvt[i] = v;
}

static bool in_range(uint32_t reg, uint32_t first, int count)
{
	return reg >= first && reg < first + 0x10u * (uint32_t)count;
}

static uint32_t reg_read(struct dev_lapic *l, uint32_t reg)
{
	const struct lapic_state *st = &l->st;
	if (in_range(reg, LAPIC_REG_ISR, 8))
		return st->isr[(reg - LAPIC_REG_ISR) >> 4];
	if (in_range(reg, LAPIC_REG_TMR, 8))
		return st->tmr[(reg - LAPIC_REG_TMR) >> 4];
	if (in_range(reg, LAPIC_REG_IRR, 8))
		return st->irr[(reg - LAPIC_REG_IRR) >> 4];
	if (in_range(reg, LAPIC_REG_LVT_TIMER, LAPIC_LVT_COUNT))
		return st->lvt[(reg - LAPIC_REG_LVT_TIMER) >> 4];
	switch (reg) {
	case LAPIC_REG_ID:
		return st->id;
	case LAPIC_REG_VERSION:
		return LAPIC_VERSION_VALUE;
	case LAPIC_REG_TPR:
		return st->tpr;
	case LAPIC_REG_APR:
		return 0; /* no APIC bus arbitration on one CPU */
	case LAPIC_REG_PPR:
		return ppr(st);
	case LAPIC_REG_EOI:
		return 0;
	case LAPIC_REG_LDR:
		return st->ldr;
	case LAPIC_REG_DFR:
		return st->dfr;
	case LAPIC_REG_SVR:
		return st->svr;
	case LAPIC_REG_ESR:
		return st->esr;
	case LAPIC_REG_ICR_LO:
		return st->icr_lo; /* delivery status: always idle */
	case LAPIC_REG_ICR_HI:
		return st->icr_hi;
	case LAPIC_REG_TIMER_ICR:
		return st->timer_initial;
	case LAPIC_REG_TIMER_CCR:
		return timer_current(l, clock_now(l->board->clock));
	case LAPIC_REG_TIMER_DCR:
		return st->timer_dcr;
	default:
		raise_error(l, LAPIC_ESR_ILLEGAL_REGISTER);
		return 0;
	}
}

/* Registers a write leaves alone (read-only). */
static bool read_only(uint32_t reg)
{
	return reg == LAPIC_REG_VERSION || reg == LAPIC_REG_APR || reg == LAPIC_REG_PPR ||
	       reg == LAPIC_REG_TIMER_CCR || in_range(reg, LAPIC_REG_ISR, 24);
}

static void reg_write(struct dev_lapic *l, uint32_t reg, uint32_t v)
{
	struct lapic_state *st = &l->st;
	if (in_range(reg, LAPIC_REG_LVT_TIMER, LAPIC_LVT_COUNT)) {
		write_lvt(l, (enum lapic_lvt)((reg - LAPIC_REG_LVT_TIMER) >> 4), v);
		return;
	}
	switch (reg) {
	case LAPIC_REG_ID:
		st->id = v & ID_MASK;
		break;
	case LAPIC_REG_TPR:
		st->tpr = v & 0xffu;
		notify(l);
		break;
	case LAPIC_REG_EOI:
		eoi(l);
		break;
	case LAPIC_REG_LDR:
		st->ldr = v & LDR_MASK;
		break;
	case LAPIC_REG_DFR:
		st->dfr = (v & DFR_MODEL_MASK) | ~DFR_MODEL_MASK;
		break;
	case LAPIC_REG_SVR:
		write_svr(l, v);
		break;
	case LAPIC_REG_ESR: /* latch the collected errors; re-arms the error interrupt */
		st->esr = st->esr_pending;
		st->esr_pending = 0;
		break;
	case LAPIC_REG_ICR_LO:
		st->icr_lo = v & ICR_LO_WRITABLE;
		send_ipi(l);
		break;
	case LAPIC_REG_ICR_HI:
		st->icr_hi = v & ID_MASK;
		break;
	case LAPIC_REG_TIMER_ICR:
		timer_load(l, v);
		break;
	case LAPIC_REG_TIMER_DCR:
		timer_reconfigure(l, v & DCR_WRITABLE, st->lvt[LAPIC_LVT_TIMER]);
		break;
	default:
		if (!read_only(reg))
			raise_error(l, LAPIC_ESR_ILLEGAL_REGISTER);
		break;
	}
}

/* MMIO: registers sit at 16-byte aligned offsets; a narrower read sees the
 * low bytes of the register, a narrower or unaligned write is ignored. */
/* The APIC an access at LAPIC_MMIO_BASE reaches: with several CPUs, the
 * running CPU's own. */
static struct dev_lapic *mmio_target(void *opaque)
{
	struct dev_lapic *l = opaque;
	return l->hooks.select ? l->hooks.select(l->hooks.opaque) : l;
}

static uint32_t mmio_read(void *opaque, uint32_t offset, int size)
{
	opaque = mmio_target(opaque);
	uint32_t byte = offset & 0xfu;
	if (byte + (uint32_t)size > 4)
		return 0;
	uint32_t v = reg_read(opaque, offset & ~0xfu) >> (8 * byte);
	return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void mmio_write(void *opaque, uint32_t offset, uint32_t val, int size)
{
	if (size == 4 && (offset & 0xfu) == 0)
		reg_write(mmio_target(opaque), offset, val);
}

/* }====================================================================== */

/* {====== device ops ====== */

/* The hardware power-up state (SDM "Local APIC State After Power-Up or
 * Reset"), keeping the external input wires. */
static void powerup_state(struct dev_lapic *l)
{
	uint8_t lint[2] = {l->st.lint_level[0], l->st.lint_level[1]};
	uint8_t hw_disabled = l->st.hw_disabled;
	memset(&l->st, 0, sizeof l->st);
	l->st.id = (uint32_t)l->reset_id << LAPIC_ICR_DEST_SHIFT;
	l->st.dfr = 0xffffffffu;
	l->st.svr = POWERUP_SVR;
	for (int i = 0; i < LAPIC_LVT_COUNT; i++)
		l->st.lvt[i] = LAPIC_LVT_MASKED;
	l->st.timer_deadline = CLOCK_NEVER;
	l->st.lint_level[0] = lint[0];
	l->st.lint_level[1] = lint[1];
	l->st.hw_disabled = hw_disabled;
	clock_timer_cancel(&l->timer);
}

/* The reset state: what firmware leaves (virtual wire mode, see lapic.h). */
static void reset_state(struct dev_lapic *l)
{
	l->st.hw_disabled = 0;
	powerup_state(l);
	l->st.svr = POWERUP_SVR | LAPIC_SVR_ENABLE;
	l->st.lvt[LAPIC_LVT_LINT0] = VWIRE_LINT0;
	l->st.lvt[LAPIC_LVT_LINT1] = VWIRE_LINT1;
}

static void lapic_reset(struct device *d)
{
	struct dev_lapic *l = (struct dev_lapic *)d;
	reset_state(l);
	notify(l);
}

void dev_lapic_init_state(struct dev_lapic *l)
{
	uint32_t id = l->st.id;
	powerup_state(l);
	l->st.id = id;
	notify(l);
}

void dev_lapic_set_base_msr(struct dev_lapic *l, uint64_t value)
{
	bool disabled = !(value & MSR_APIC_BASE_ENABLE);
	if (disabled == (l->st.hw_disabled != 0))
		return;
	l->st.hw_disabled = disabled;
	powerup_state(l);
	notify(l);
}

static void lapic_save(struct device *d, GByteArray *out)
{
	struct dev_lapic *l = (struct dev_lapic *)d;
	dev_save_pod(out, LAPIC_STATE_VERSION, &l->st, sizeof l->st);
}

static bool lapic_restore(struct device *d, const uint8_t *buf, size_t len, GError **error)
{
	struct dev_lapic *l = (struct dev_lapic *)d;
	if (!dev_restore_pod(d->name, LAPIC_STATE_VERSION, buf, len, &l->st, sizeof l->st, error))
		return false;
	clock_timer_arm(&l->timer, l->st.timer_deadline);
	notify(l);
	return true;
}

static void lapic_free(struct device *d)
{
	struct dev_lapic *l = (struct dev_lapic *)d;
	clock_timer_cancel(&l->timer);
	g_free(l);
}

static const struct device_ops lapic_ops = {
        .reset = lapic_reset,
        .save = lapic_save,
        .restore = lapic_restore,
        .free = lapic_free,
};

static struct dev_lapic *lapic_alloc(const struct dev_board *b, uint8_t apic_id,
                                     const struct dev_lapic_hooks *hooks)
{
	struct dev_lapic *l = g_new0(struct dev_lapic, 1);
	l->dev = (struct device){.ops = &lapic_ops, .name = "lapic"};
	l->board = b;
	if (hooks)
		l->hooks = *hooks;
	l->reset_id = apic_id;
	clock_timer_init(&l->timer, b->clock, "lapic-timer", timer_fire, l);
	return l;
}

struct dev_lapic *dev_lapic_new(const struct dev_board *b, uint8_t apic_id,
                                const struct dev_lapic_hooks *hooks, GError **error)
{
	struct dev_lapic *l = lapic_alloc(b, apic_id, hooks);
	if (!pmem_map_mmio(b->pmem, LAPIC_MMIO_BASE, LAPIC_MMIO_SIZE, mmio_read, mmio_write, l)) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "the local APIC's registers at 0x%08x-0x%08x overlap RAM or another "
		            "device on this board",
		            LAPIC_MMIO_BASE, LAPIC_MMIO_BASE + LAPIC_MMIO_SIZE - 1);
		g_free(l);
		return NULL;
	}
	reset_state(l); /* no hook yet: the board has not got the pointer */
	return l;
}

struct dev_lapic *dev_lapic_new_ap(const struct dev_board *b, uint8_t apic_id,
                                   const struct dev_lapic_hooks *hooks)
{
	struct dev_lapic *l = lapic_alloc(b, apic_id, hooks);
	reset_state(l);
	return l;
}

void dev_lapic_set_peers(struct dev_lapic *l, struct dev_lapic *const *peers, int n)
{
	l->peers = peers;
	l->n_peers = n;
}

/* }====================================================================== */
