/*
 * pic8259.c - the 8259A pair and the ELCR (see pic8259.h).
 *
 * Priorities: `highest` is the IR level that currently has the highest
 * priority (0 after ICW1; rotation moves it to the level after the one
 * just serviced). A request is passed to INT when it is unmasked and has
 * a higher priority than every level in service (special mask mode leaves
 * masked in-service levels out; special fully nested mode on the master
 * leaves the cascade input out, so a slave may interrupt its own service
 * routine with a higher-priority request).
 */
#include "pic8259.h"

#include <string.h>

#include "nestlab.h"

#define PIC_STATE_VERSION 1
#define PIC_PORTS 2
#define PIC_LEVELS 8
#define PIC_NONE 8 /* "no level" from priority resolution */
#define PIC_SPURIOUS_LEVEL 7
#define PIC_FLOATING_BUS 0xff /* no slave answered the cascade address */
#define PIC_ISA_IRQ2_REDIRECT 9
#define PIC_ALL_MASKED 0xff
#define PIC_NO_PORT 0xff /* a byte of a wide access that no port answers */

/* ICW1 (even port, D4 = 1) */
#define ICW1_IC4 0x01
#define ICW1_SNGL 0x02
#define ICW1_INIT 0x10
/* ICW2: T7-T3 of the vector */
#define ICW2_BASE_MASK 0xf8
/* ICW3 on a slave: its ID */
#define ICW3_SLAVE_ID 0x07
/* ICW4 */
#define ICW4_AEOI 0x02
#define ICW4_SFNM 0x10
/* OCW2 (even port, D4 = D3 = 0): R, SL, EOI and the level */
#define OCW2_CMD_MASK 0xe0
#define OCW2_LEVEL 0x07
#define OCW2_ROTATE_AEOI_CLEAR 0x00
#define OCW2_EOI 0x20
#define OCW2_NOP 0x40
#define OCW2_SPECIFIC_EOI 0x60
#define OCW2_ROTATE_AEOI_SET 0x80
#define OCW2_ROTATE_EOI 0xa0
#define OCW2_SET_PRIORITY 0xc0
#define OCW2_ROTATE_SPECIFIC_EOI 0xe0
/* OCW3 (even port, D4 = 0, D3 = 1) */
#define OCW3_SELECT 0x08
#define OCW3_ESMM 0x40
#define OCW3_SMM 0x20
#define OCW3_POLL 0x04
#define OCW3_RR 0x02
#define OCW3_RIS 0x01
/* the poll word: I (an interrupt is requesting) and W2-W0 */
#define PIC_POLL_INT 0x80
/* ELCR bits that exist (IRQ 0, 1, 2 and 8, 13 are edge only) */
#define ELCR_MASTER_MASK 0xf8
#define ELCR_SLAVE_MASK 0xde

enum { MASTER = 0, SLAVE = 1 };

/* {====== one chip ====== */

/* The priority (0 = highest) of the most urgent level in `mask`, or PIC_NONE. */
static int priority_of(const struct pic_chip_state *c, uint8_t mask)
{
	for (int p = 0; p < PIC_LEVELS; p++)
		if (mask & (1u << ((c->highest + p) & 7)))
			return p;
	return PIC_NONE;
}

static int level_of(const struct pic_chip_state *c, int priority)
{
	return (c->highest + priority) & 7;
}

static bool chip_is_master(const struct pic_chip_state *c, const struct pic_state *st)
{
	return c == &st->chip[MASTER];
}

/* The level INT would present, or -1 if none outranks what is in service. */
static int chip_request(const struct pic_state *st, const struct pic_chip_state *c)
{
	int req = priority_of(c, c->irr & ~c->imr);
	if (req == PIC_NONE)
		return -1;
	uint8_t blocking = c->isr;
	if (c->special_mask)
		blocking &= ~c->imr;
	if (chip_is_master(c, st) && (c->icw4 & ICW4_SFNM))
		blocking &= ~(1u << PIC_CASCADE_IRQ);
	return req < priority_of(c, blocking) ? level_of(c, req) : -1;
}

/* An input pin changes level. */
static void chip_set_line(struct pic_chip_state *c, int level_no, bool level)
{
	uint8_t bit = (uint8_t)(1u << level_no);
	if (c->elcr & bit) {
		if (level)
			c->irr |= bit;
		else
			c->irr &= ~bit;
	} else if (level && !(c->line & bit)) {
		c->irr |= bit; /* the rising edge */
	}
	if (level)
		c->line |= bit;
	else
		c->line &= ~bit;
}

/* The chip's part of an INTA (or a poll): the request becomes in service. */
static void chip_ack(struct pic_chip_state *c, int level_no)
{
	uint8_t bit = (uint8_t)(1u << level_no);
	if (!(c->elcr & bit))
		c->irr &= ~bit; /* the edge latch is spent */
	if (!(c->icw4 & ICW4_AEOI))
		c->isr |= bit;
	else if (c->rotate_aeoi)
		c->highest = (uint8_t)((level_no + 1) & 7);
}

static void chip_eoi(struct pic_chip_state *c, int level_no, bool rotate)
{
	c->isr &= (uint8_t) ~(1u << level_no);
	if (rotate)
		c->highest = (uint8_t)((level_no + 1) & 7);
}

/* A non-specific EOI ends the most urgent level in service; in special
 * mask mode a masked level is not ended (the datasheet's rule). */
static void chip_nonspecific_eoi(struct pic_chip_state *c, bool rotate)
{
	uint8_t in_service = c->isr;
	if (c->special_mask)
		in_service &= ~c->imr;
	int p = priority_of(c, in_service);
	if (p != PIC_NONE)
		chip_eoi(c, level_of(c, p), rotate);
}

static void chip_ocw2(struct pic_chip_state *c, uint8_t val)
{
	int level_no = val & OCW2_LEVEL;
	switch (val & OCW2_CMD_MASK) {
	case OCW2_ROTATE_AEOI_CLEAR:
		c->rotate_aeoi = 0;
		break;
	case OCW2_ROTATE_AEOI_SET:
		c->rotate_aeoi = 1;
		break;
	case OCW2_EOI:
		chip_nonspecific_eoi(c, false);
		break;
	case OCW2_ROTATE_EOI:
		chip_nonspecific_eoi(c, true);
		break;
	case OCW2_SPECIFIC_EOI:
		chip_eoi(c, level_no, false);
		break;
	case OCW2_ROTATE_SPECIFIC_EOI:
		chip_eoi(c, level_no, true);
		break;
	case OCW2_SET_PRIORITY:
		c->highest = (uint8_t)((level_no + 1) & 7); /* L becomes the lowest */
		break;
	case OCW2_NOP:
	default:
		break;
	}
}

static void chip_ocw3(struct pic_chip_state *c, uint8_t val)
{
	if (val & OCW3_ESMM)
		c->special_mask = (val & OCW3_SMM) != 0;
	if (val & OCW3_RR)
		c->read_isr = (val & OCW3_RIS) != 0;
	c->poll = (val & OCW3_POLL) != 0;
}

/* ICW1 starts the initialisation sequence (datasheet: edge sense reset,
 * IMR cleared, IR7 lowest priority, special mask mode off, IRR selected). */
static void chip_icw1(struct pic_chip_state *c, uint8_t val)
{
	c->icw1 = val;
	c->init_step = 2;
	c->imr = 0;
	c->isr = 0;
	c->irr = c->line & c->elcr; /* level requests persist; edges need a new edge */
	c->highest = 0;
	c->read_isr = 0;
	c->poll = 0;
	c->special_mask = 0;
	c->rotate_aeoi = 0;
	if (!(val & ICW1_IC4))
		c->icw4 = 0;
}

/* ICW2, ICW3 and ICW4 arrive at the odd port in this order; ICW3 only in
 * cascade mode and ICW4 only if ICW1 asked for it. */
static void chip_icw_next(struct pic_chip_state *c, uint8_t val)
{
	bool cascade = !(c->icw1 & ICW1_SNGL);
	bool want_icw4 = (c->icw1 & ICW1_IC4) != 0;
	switch (c->init_step) {
	case 2:
		c->vector_base = val & ICW2_BASE_MASK;
		c->init_step = cascade ? 3 : want_icw4 ? 4 : 0;
		break;
	case 3:
		c->icw3 = val;
		c->init_step = want_icw4 ? 4 : 0;
		break;
	default:
		c->icw4 = val;
		c->init_step = 0;
		break;
	}
}

static void chip_write(struct pic_chip_state *c, int a0, uint8_t val)
{
	if (a0 == 0) {
		if (val & ICW1_INIT)
			chip_icw1(c, val);
		else if (val & OCW3_SELECT)
			chip_ocw3(c, val);
		else
			chip_ocw2(c, val);
	} else if (c->init_step) {
		chip_icw_next(c, val);
	} else {
		c->imr = val; /* OCW1 */
	}
}

/* }====================================================================== */

/* {====== the pair ====== */

/* Propagates the slave's INT to master IR2 and the master's INT to the
 * CPU, calling the board's callback when the latter changes. */
static void update(struct dev_pic *p)
{
	struct pic_chip_state *m = &p->st.chip[MASTER], *s = &p->st.chip[SLAVE];
	s->out = chip_request(&p->st, s) >= 0;
	chip_set_line(m, PIC_CASCADE_IRQ, s->out);
	bool out = chip_request(&p->st, m) >= 0;
	if (out != m->out) {
		m->out = out;
		if (p->out)
			p->out(p->out_opaque, out);
	}
}

static bool master_has_slave_on(const struct pic_chip_state *m, int level_no)
{
	return !(m->icw1 & ICW1_SNGL) && (m->icw3 & (1u << level_no));
}

static bool slave_answers(const struct pic_chip_state *s, int cascade_address)
{
	return !(s->icw1 & ICW1_SNGL) && (s->icw3 & ICW3_SLAVE_ID) == cascade_address;
}

/* The slave's part of an INTA that the master passed down the cascade. */
static int slave_vector(struct pic_state *st, int cascade_address)
{
	struct pic_chip_state *s = &st->chip[SLAVE];
	if (!slave_answers(s, cascade_address))
		return PIC_FLOATING_BUS;
	int level_no = chip_request(st, s);
	if (level_no < 0)
		return s->vector_base | PIC_SPURIOUS_LEVEL;
	chip_ack(s, level_no);
	return s->vector_base | level_no;
}

int dev_pic_ack(struct dev_pic *p)
{
	struct pic_chip_state *m = &p->st.chip[MASTER];
	int level_no = chip_request(&p->st, m);
	int vector;
	if (level_no < 0) {
		vector = m->vector_base | PIC_SPURIOUS_LEVEL; /* no ISR bit is set */
	} else {
		chip_ack(m, level_no);
		if (master_has_slave_on(m, level_no))
			vector = slave_vector(&p->st, level_no);
		else
			vector = m->vector_base | level_no;
	}
	update(p);
	return vector;
}

/* A read of the even port after an OCW3 poll command: an INTA without
 * the cascade, answered with the poll word. */
static uint8_t chip_poll(struct dev_pic *p, struct pic_chip_state *c)
{
	c->poll = 0;
	int level_no = chip_request(&p->st, c);
	if (level_no < 0)
		return 0;
	chip_ack(c, level_no);
	return (uint8_t)(PIC_POLL_INT | level_no);
}

void dev_pic_set_irq(struct dev_pic *p, int irq, bool level)
{
	if (irq == PIC_CASCADE_IRQ)
		irq = PIC_ISA_IRQ2_REDIRECT;
	if (irq < 0 || irq >= DEV_ISA_IRQS)
		return;
	chip_set_line(&p->st.chip[irq / PIC_LEVELS], irq % PIC_LEVELS, level);
	update(p);
}

bool dev_pic_output(const struct dev_pic *p)
{
	return p->st.chip[MASTER].out;
}

uint8_t dev_pic_irr(const struct dev_pic *p, int chip)
{
	return p->st.chip[chip & 1].irr;
}

uint8_t dev_pic_isr(const struct dev_pic *p, int chip)
{
	return p->st.chip[chip & 1].isr;
}

uint8_t dev_pic_imr(const struct dev_pic *p, int chip)
{
	return p->st.chip[chip & 1].imr;
}

/* }====================================================================== */

/* {====== ports ====== */

static uint8_t chip_read(struct dev_pic *p, struct pic_chip_state *c, int a0)
{
	if (a0)
		return c->imr;
	if (c->poll) {
		uint8_t v = chip_poll(p, c);
		update(p);
		return v;
	}
	return c->read_isr ? c->isr : c->irr;
}

static struct pic_chip_state *chip_at(struct dev_pic *p, uint16_t port)
{
	return &p->st.chip[(port & ~1u) == PIC_SLAVE_BASE ? SLAVE : MASTER];
}

/* Wider accesses are split into byte cycles, as the ISA bus does; bytes
 * that fall outside the pair's two ports float. */
static uint32_t pic_read(void *opaque, uint16_t port, int size)
{
	struct dev_pic *p = opaque;
	uint32_t v = 0;
	for (int i = 0; i < size; i++) {
		uint16_t at = (uint16_t)(port + i);
		uint8_t byte = PIC_NO_PORT;
		if ((at & ~1u) == (port & ~1u))
			byte = chip_read(p, chip_at(p, at), at & 1);
		v |= (uint32_t)byte << (8 * i);
	}
	return v;
}

static void pic_write(void *opaque, uint16_t port, uint32_t val, int size)
{
	struct dev_pic *p = opaque;
	for (int i = 0; i < size; i++) {
		uint16_t at = (uint16_t)(port + i);
		if ((at & ~1u) == (port & ~1u))
			chip_write(chip_at(p, at), at & 1, (uint8_t)(val >> (8 * i)));
	}
	update(p);
}

static uint8_t elcr_mask(int chip)
{
	return chip == MASTER ? ELCR_MASTER_MASK : ELCR_SLAVE_MASK;
}

static uint32_t elcr_read(void *opaque, uint16_t port, int size)
{
	struct dev_pic *p = opaque;
	uint32_t v = 0;
	for (int i = 0; i < size; i++) {
		int chip = port + i - PIC_ELCR_BASE;
		v |= (uint32_t)(chip <= SLAVE ? p->st.chip[chip].elcr : PIC_NO_PORT) << (8 * i);
	}
	return v;
}

/* Switching an input to level triggering makes IRR follow its pin at once;
 * switching it to edge keeps a pending request as a latched edge. */
static void elcr_set(struct pic_chip_state *c, uint8_t elcr)
{
	c->elcr = elcr;
	c->irr = (uint8_t)((c->irr & ~elcr) | (c->line & elcr));
}

static void elcr_write(void *opaque, uint16_t port, uint32_t val, int size)
{
	struct dev_pic *p = opaque;
	for (int i = 0; i < size; i++) {
		int chip = port + i - PIC_ELCR_BASE;
		if (chip <= SLAVE)
			elcr_set(&p->st.chip[chip], (uint8_t)(val >> (8 * i)) & elcr_mask(chip));
	}
	update(p);
}

/* }====================================================================== */

/* {====== device ops ====== */

static void chip_power_on(struct pic_chip_state *c, uint8_t icw3)
{
	uint8_t line = c->line; /* the pins belong to the devices that drive them */
	memset(c, 0, sizeof *c);
	c->line = line;
	c->imr = PIC_ALL_MASKED;
	c->icw3 = icw3;
}

static void power_on(struct dev_pic *p)
{
	chip_power_on(&p->st.chip[MASTER], 1u << PIC_CASCADE_IRQ);
	chip_power_on(&p->st.chip[SLAVE], PIC_CASCADE_IRQ);
}

static void pic_reset(struct device *d)
{
	struct dev_pic *p = (struct dev_pic *)d;
	bool was = p->st.chip[MASTER].out;
	power_on(p);
	if (was && p->out)
		p->out(p->out_opaque, false);
}

static void pic_save(struct device *d, GByteArray *out)
{
	struct dev_pic *p = (struct dev_pic *)d;
	dev_save_pod(out, PIC_STATE_VERSION, &p->st, sizeof p->st);
}

static bool pic_restore(struct device *d, const uint8_t *buf, size_t len, GError **error)
{
	struct dev_pic *p = (struct dev_pic *)d;
	if (!dev_restore_pod(d->name, PIC_STATE_VERSION, buf, len, &p->st, sizeof p->st, error))
		return false;
	if (p->out)
		p->out(p->out_opaque, p->st.chip[MASTER].out);
	return true;
}

static void pic_free(struct device *d)
{
	g_free(d);
}

static const struct device_ops pic_ops = {
	.reset = pic_reset,
	.save = pic_save,
	.restore = pic_restore,
	.free = pic_free,
};

struct dev_pic *dev_pic_new(const struct dev_board *b, dev_pic_output_fn out, void *opaque,
                            GError **error)
{
	struct dev_pic *p = g_new0(struct dev_pic, 1);
	p->dev.ops = &pic_ops;
	p->dev.name = "pic";
	p->board = b;
	p->out = out;
	p->out_opaque = opaque;
	power_on(p);
	bool ok = ioport_claim(b->io, PIC_MASTER_BASE, PIC_PORTS, pic_read, pic_write, p) &&
	          ioport_claim(b->io, PIC_SLAVE_BASE, PIC_PORTS, pic_read, pic_write, p) &&
	          ioport_claim(b->io, PIC_ELCR_BASE, PIC_PORTS, elcr_read, elcr_write, p);
	if (!ok) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "the 8259A ports (0x%x-0x%x, 0x%x-0x%x, ELCR 0x%x-0x%x) are already "
		            "taken on this board",
		            PIC_MASTER_BASE, PIC_MASTER_BASE + 1, PIC_SLAVE_BASE,
		            PIC_SLAVE_BASE + 1, PIC_ELCR_BASE, PIC_ELCR_BASE + 1);
		g_free(p); /* ports claimed so far stay: the board is being torn down */
		return NULL;
	}
	return p;
}

/* }====================================================================== */
