/*
 * clock.c - the deterministic event queue (see clock.h).
 *
 * A machine has a handful of timers (about a dozen), so the queue is a
 * singly linked list kept sorted by (deadline, sequence number): arming is
 * a short walk, finding the next deadline is a load.
 */
#include "clock.h"

#include <glib.h>

struct clock {
	const uint64_t *now;
	uint64_t *limit;
	struct clock_timer *head; /* armed timers, earliest first */
	uint64_t seq;
};

struct clock *clock_new(const uint64_t *now, uint64_t *limit)
{
	struct clock *c = g_new0(struct clock, 1);
	c->now = now;
	c->limit = limit;
	*limit = CLOCK_NEVER;
	return c;
}

void clock_free(struct clock *c)
{
	g_free(c);
}

uint64_t clock_now(const struct clock *c)
{
	return *c->now;
}

static void update_limit(struct clock *c)
{
	*c->limit = c->head ? c->head->deadline : CLOCK_NEVER;
}

void clock_set_source(struct clock *c, const uint64_t *now, uint64_t *limit)
{
	c->now = now;
	c->limit = limit;
	update_limit(c);
}

void clock_timer_init(struct clock_timer *t, struct clock *c, const char *name,
                      clock_timer_fn fn, void *opaque)
{
	*t = (struct clock_timer){
		.clock = c, .fn = fn, .opaque = opaque, .name = name, .deadline = CLOCK_NEVER,
	};
}

static void unlink_timer(struct clock_timer *t)
{
	struct clock_timer **pp = &t->clock->head;
	while (*pp && *pp != t)
		pp = &(*pp)->next;
	if (*pp)
		*pp = t->next;
	t->next = NULL;
	t->deadline = CLOCK_NEVER;
}

void clock_timer_arm(struct clock_timer *t, uint64_t deadline)
{
	struct clock *c = t->clock;
	g_assert(c);
	if (t->deadline != CLOCK_NEVER)
		unlink_timer(t);
	if (deadline != CLOCK_NEVER) {
		t->deadline = deadline;
		t->seq = c->seq++;
		struct clock_timer **pp = &c->head;
		while (*pp && (*pp)->deadline <= deadline)
			pp = &(*pp)->next;
		t->next = *pp;
		*pp = t;
	}
	update_limit(c);
}

void clock_timer_arm_in(struct clock_timer *t, uint64_t delta)
{
	uint64_t now = clock_now(t->clock);
	clock_timer_arm(t, delta >= CLOCK_NEVER - now ? CLOCK_NEVER : now + delta);
}

void clock_timer_cancel(struct clock_timer *t)
{
	if (t->clock && t->deadline != CLOCK_NEVER) {
		unlink_timer(t);
		update_limit(t->clock);
	}
}

bool clock_timer_armed(const struct clock_timer *t)
{
	return t->deadline != CLOCK_NEVER;
}

uint64_t clock_timer_deadline(const struct clock_timer *t)
{
	return t->deadline;
}

uint64_t clock_next(const struct clock *c)
{
	return c->head ? c->head->deadline : CLOCK_NEVER;
}

unsigned clock_run_due(struct clock *c)
{
	unsigned n = 0;
	while (c->head && c->head->deadline <= *c->now) {
		struct clock_timer *t = c->head;
		c->head = t->next;
		t->next = NULL;
		t->deadline = CLOCK_NEVER;
		update_limit(c);
		t->fn(t->opaque, *c->now);
		n++;
	}
	update_limit(c);
	return n;
}

void clock_advance_to(struct clock *c, uint64_t *cycles, uint64_t t)
{
	g_assert(cycles == c->now);
	if (t != CLOCK_NEVER && t > *cycles)
		*cycles = t;
}
