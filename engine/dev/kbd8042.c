/*
 * kbd8042.c - 8042 keyboard controller and PS/2 keyboard (see kbd8042.h).
 */
#include "kbd8042.h"

#include <string.h>

#include "nestlab.h"

#define KBD_STATE_VERSION 1
#define KBD_SET2_LSHIFT 0x12
#define KBD_PULSE_MASK 0x0f

/*
 * The 8042's translation table: set 2 code -> set 1 code (the bytes
 * 0x80-0xFF pass unchanged, except the F7 key 0x83 and SysRq 0x84). The
 * controller's own table, as IBM shipped it.
 */
/* clang-format off */
static const uint8_t xlat_table[128] = {
	0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59,
	0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a, 0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b,
	0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c, 0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d,
	0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e, 0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f,
	0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60, 0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61,
	0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e, 0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76,
	0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b, 0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f,
	0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45, 0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54,
};
/* clang-format on */

static uint8_t translate(uint8_t code)
{
	if (code < 0x80)
		return xlat_table[code];
	if (code == 0x83)
		return 0x41; /* F7 */
	if (code == 0x84)
		return 0x54; /* SysRq */
	return code;
}

/* {====== FIFOs */

#define FIFO_SIZE(q) ((unsigned)sizeof(q)->data)
#define fifo_push(q, b) fifo_push_((q)->data, FIFO_SIZE(q), &(q)->head, &(q)->count, (b))
#define fifo_pop(q) fifo_pop_((q)->data, FIFO_SIZE(q), &(q)->head, &(q)->count)
#define fifo_clear(q) ((q)->head = (q)->count = 0)

static bool fifo_push_(uint8_t *data, unsigned size, uint16_t *head, uint16_t *count, uint8_t b)
{
	if (*count >= size)
		return false;
	data[(*head + *count) % size] = b;
	(*count)++;
	return true;
}

static uint8_t fifo_pop_(uint8_t *data, unsigned size, uint16_t *head, uint16_t *count)
{
	uint8_t b = data[*head];
	*head = (uint16_t)((*head + 1) % size);
	(*count)--;
	return b;
}

/* }====== */

/* {====== the output buffer and IRQ 1 */

static uint64_t now_of(const struct dev_kbd *k)
{
	return clock_now(k->board->clock);
}

static uint8_t cmd_byte(const struct kbd_state *st)
{
	return st->ram[0];
}

static void drive_irq(struct dev_kbd *k)
{
	struct kbd_state *st = &k->st;
	bool level = st->obf && (cmd_byte(st) & KBD_CB_KBD_INT);
	if (level != st->irq_level) {
		st->irq_level = level;
		dev_irq(k->board, KBD_IRQ, level);
	}
}

static void fill(struct kbd_state *st, uint8_t b)
{
	st->out_buf = b;
	st->obf = 1;
}

/*
 * Moves one keyboard byte through the translator. Returns true if the
 * output buffer was filled (a translated 0xF0 only sets the release bit).
 */
static bool deliver_kbd_byte(struct kbd_state *st, uint8_t b)
{
	if (!(cmd_byte(st) & KBD_CB_TRANSLATE)) {
		fill(st, b);
		return true;
	}
	if (b == KBD_SET2_RELEASE) {
		st->xlat_release = 1;
		return false;
	}
	fill(st, (uint8_t)(translate(b) | (st->xlat_release ? 0x80 : 0)));
	st->xlat_release = 0;
	return true;
}

/* Fills an empty output buffer from the queues, in priority order; arms
 * the pacing timer when only a key byte is waiting for its time. */
static void pump(struct dev_kbd *k)
{
	struct kbd_state *st = &k->st;
	uint64_t now = now_of(k);
	st->deadline = CLOCK_NEVER;
	while (!st->obf) {
		if (st->ctrl_q.count) {
			fill(st, fifo_pop(&st->ctrl_q));
			break;
		}
		if (cmd_byte(st) & KBD_CB_KBD_DISABLE)
			break;
		if (st->reply_q.count) {
			deliver_kbd_byte(st, st->last_sent = fifo_pop(&st->reply_q));
			continue;
		}
		if (!st->key_q.count)
			break;
		if (now < st->key_gap_until) {
			st->deadline = st->key_gap_until;
			break;
		}
		if (deliver_kbd_byte(st, st->last_sent = fifo_pop(&st->key_q)))
			st->key_gap_until = now + clock_ns_to_cycles(KBD_KEY_GAP_NS);
	}
	clock_timer_arm(&k->timer, st->deadline);
	drive_irq(k);
}

static void kbd_timer_fn(void *opaque, uint64_t now)
{
	pump(opaque);
}

/* }====== */

/* {====== the keyboard */

static void reply(struct kbd_state *st, uint8_t b)
{
	fifo_push(&st->reply_q, b);
}

static void keyboard_defaults(struct kbd_state *st)
{
	st->scan_set = 2;
	st->typematic = 0x2b; /* 10.9 characters/s, 500 ms delay */
	st->kbd_pending_cmd = 0;
}

/* The argument of ED, F3 or F0. */
static void keyboard_argument(struct kbd_state *st, uint8_t cmd, uint8_t arg)
{
	st->kbd_pending_cmd = 0;
	if (cmd == KBD_CMD_LEDS) {
		st->leds = arg & 0x07;
	} else if (cmd == KBD_CMD_TYPEMATIC) {
		st->typematic = arg & 0x7f;
	} else if (arg == 0) { /* F0 00: which set? */
		reply(st, KBD_REPLY_ACK);
		reply(st, st->scan_set);
		return;
	} else if (arg <= 3) {
		st->scan_set = arg;
	} else {
		reply(st, KBD_REPLY_RESEND);
		return;
	}
	reply(st, KBD_REPLY_ACK);
}

static bool takes_argument(uint8_t cmd)
{
	return cmd == KBD_CMD_LEDS || cmd == KBD_CMD_TYPEMATIC || cmd == KBD_CMD_SCANSET;
}

static void keyboard_command(struct kbd_state *st, uint8_t cmd)
{
	switch (cmd) {
	case KBD_CMD_RESET:
		fifo_clear(&st->key_q);
		fifo_clear(&st->reply_q);
		keyboard_defaults(st);
		st->scanning = 1;
		st->leds = 0;
		reply(st, KBD_REPLY_ACK);
		reply(st, KBD_REPLY_BAT_OK);
		break;
	case KBD_CMD_RESEND:
		reply(st, st->last_sent);
		break;
	case KBD_CMD_ECHO:
		reply(st, KBD_REPLY_ECHO);
		break;
	case KBD_CMD_IDENTIFY:
		reply(st, KBD_REPLY_ACK);
		reply(st, KBD_ID_1);
		reply(st, KBD_ID_2);
		break;
	case KBD_CMD_ENABLE:
		fifo_clear(&st->key_q);
		st->scanning = 1;
		reply(st, KBD_REPLY_ACK);
		break;
	case KBD_CMD_DISABLE:
		fifo_clear(&st->key_q);
		keyboard_defaults(st);
		st->scanning = 0;
		reply(st, KBD_REPLY_ACK);
		break;
	case KBD_CMD_DEFAULTS:
		keyboard_defaults(st);
		reply(st, KBD_REPLY_ACK);
		break;
	case 0xf7:
	case 0xf8:
	case 0xf9:
	case 0xfa:
	case 0xfb:
	case 0xfc:
	case 0xfd:
		reply(st, KBD_REPLY_ACK); /* set-3 key types: accepted, no effect */
		break;
	default:
		if (takes_argument(cmd)) {
			st->kbd_pending_cmd = cmd;
			reply(st, KBD_REPLY_ACK);
		} else {
			reply(st, KBD_REPLY_RESEND);
		}
	}
}

/* A byte the controller sends to the keyboard. A byte in the command
 * range while an argument is expected starts a new command instead. */
static void keyboard_write(struct kbd_state *st, uint8_t b)
{
	if (st->kbd_pending_cmd && b < KBD_CMD_LEDS)
		keyboard_argument(st, st->kbd_pending_cmd, b);
	else
		keyboard_command(st, b);
}

static void queue_key_byte(struct kbd_state *st, uint8_t b)
{
	fifo_push(&st->key_q, b);
}

/* The bytes of one key event in the keyboard's scan code set (set 1 when
 * the guest selected it: the keyboard then uses the same table). */
static void queue_key(struct kbd_state *st, uint16_t code, bool pressed)
{
	uint8_t make = (uint8_t)code;
	bool extended = (code >> 8) == KBD_SET2_EXTENDED;
	if (st->scan_set == 1) {
		if (extended)
			queue_key_byte(st, KBD_SET2_EXTENDED);
		queue_key_byte(st, (uint8_t)(translate(make) | (pressed ? 0 : 0x80)));
		return;
	}
	if (extended)
		queue_key_byte(st, KBD_SET2_EXTENDED);
	if (!pressed)
		queue_key_byte(st, KBD_SET2_RELEASE);
	queue_key_byte(st, make);
}

/* }====== */

/* {====== US layout: ASCII -> set 2 */

struct key_map {
	uint8_t code;
	uint8_t shift;
};

/* clang-format off */
static const char unshifted[] = "`1234567890-=qwertyuiop[]\\asdfghjkl;'zxcvbnm,./ ";
static const char shifted[] = "~!@#$%^&*()_+QWERTYUIOP{}|ASDFGHJKL:\"ZXCVBNM<>? ";
static const uint8_t layout_codes[] = {
	0x0e, 0x16, 0x1e, 0x26, 0x25, 0x2e, 0x36, 0x3d, 0x3e, 0x46, 0x45, 0x4e, 0x55, /* `1-0-= */
	0x15, 0x1d, 0x24, 0x2d, 0x2c, 0x35, 0x3c, 0x43, 0x44, 0x4d, 0x54, 0x5b, 0x5d, /* q-p[]\ */
	0x1c, 0x1b, 0x23, 0x2b, 0x34, 0x33, 0x3b, 0x42, 0x4b, 0x4c, 0x52,             /* a-l;' */
	0x1a, 0x22, 0x21, 0x2a, 0x32, 0x31, 0x3a, 0x41, 0x49, 0x4a,                   /* z-m,./ */
	0x29,                                                                         /* space */
};
/* clang-format on */

static bool map_char(char ch, struct key_map *m)
{
	G_STATIC_ASSERT(sizeof unshifted - 1 == sizeof layout_codes);
	G_STATIC_ASSERT(sizeof shifted - 1 == sizeof layout_codes);
	/* clang-format off */
	switch (ch) {
	case '\n': *m = (struct key_map){ 0x5a, 0 }; return true;
	case '\b': *m = (struct key_map){ 0x66, 0 }; return true;
	case '\t': *m = (struct key_map){ 0x0d, 0 }; return true;
	case 0x1b: *m = (struct key_map){ 0x76, 0 }; return true;
	case '\0': return false;
	}
	/* clang-format on */
	const char *p = strchr(unshifted, ch);
	if (p) {
		*m = (struct key_map){layout_codes[p - unshifted], 0};
		return true;
	}
	p = strchr(shifted, ch);
	if (p) {
		*m = (struct key_map){layout_codes[p - shifted], 1};
		return true;
	}
	return false;
}

/* }====== */

/* {====== ports */

static void set_out_port(struct dev_kbd *k, uint8_t v)
{
	struct kbd_state *st = &k->st;
	uint8_t old = st->out_port;
	st->out_port = v | KBD_OUT_RESET; /* the reset line springs back */
	if ((old ^ v) & KBD_OUT_A20)
		k->a20(k->opaque, (v & KBD_OUT_A20) != 0);
	if (!(v & KBD_OUT_RESET))
		k->reset(k->opaque);
}

static void ctrl_result(struct kbd_state *st, uint8_t b)
{
	fifo_push(&st->ctrl_q, b);
}

static uint8_t out_port_value(const struct kbd_state *st)
{
	/* bit 4: output buffer full (keyboard), bit 5: (aux) never */
	return (uint8_t)((st->out_port & ~0x30) | (st->obf ? 0x10 : 0));
}

static void controller_command(struct dev_kbd *k, uint8_t cmd)
{
	struct kbd_state *st = &k->st;
	if (cmd >= KBD_CCMD_READ_RAM && cmd < KBD_CCMD_READ_RAM + KBD_RAM_SIZE) {
		ctrl_result(st, st->ram[cmd - KBD_CCMD_READ_RAM]);
		return;
	}
	if ((cmd >= KBD_CCMD_WRITE_RAM && cmd < KBD_CCMD_WRITE_RAM + KBD_RAM_SIZE) ||
	    cmd == KBD_CCMD_WRITE_OUTPORT || cmd == KBD_CCMD_WRITE_OBUF ||
	    cmd == KBD_CCMD_WRITE_AUX_OBUF || cmd == KBD_CCMD_WRITE_AUX) {
		st->pending_ccmd = cmd;
		return;
	}
	if (cmd >= KBD_CCMD_PULSE) {
		if (!(cmd & KBD_OUT_RESET))
			k->reset(k->opaque);
		return;
	}
	switch (cmd) {
	case KBD_CCMD_AUX_DISABLE:
		st->ram[0] |= KBD_CB_AUX_DISABLE;
		break;
	case KBD_CCMD_AUX_ENABLE:
		break; /* nothing attached: bit 5 stays set */
	case KBD_CCMD_AUX_TEST:
		ctrl_result(st, KBD_AUX_TEST_NO_DEVICE);
		break;
	case KBD_CCMD_SELF_TEST:
		st->ram[0] |= KBD_CB_SYS;
		ctrl_result(st, KBD_SELF_TEST_OK);
		break;
	case KBD_CCMD_KBD_TEST:
		ctrl_result(st, KBD_IFACE_TEST_OK);
		break;
	case KBD_CCMD_KBD_DISABLE:
		st->ram[0] |= KBD_CB_KBD_DISABLE;
		break;
	case KBD_CCMD_KBD_ENABLE:
		st->ram[0] &= (uint8_t)~KBD_CB_KBD_DISABLE;
		break;
	case KBD_CCMD_READ_INPORT:
		ctrl_result(st, KBD_INPORT_VALUE);
		break;
	case KBD_CCMD_READ_OUTPORT:
		ctrl_result(st, out_port_value(st));
		break;
	case KBD_CCMD_A20_OFF:
		set_out_port(k, st->out_port & (uint8_t)~KBD_OUT_A20);
		break;
	case KBD_CCMD_A20_ON:
		set_out_port(k, st->out_port | KBD_OUT_A20);
		break;
	default:
		break; /* not modelled: ignored */
	}
}

/* The data byte of a controller command. */
static void controller_data(struct dev_kbd *k, uint8_t cmd, uint8_t v)
{
	struct kbd_state *st = &k->st;
	st->pending_ccmd = 0;
	if (cmd >= KBD_CCMD_WRITE_RAM && cmd < KBD_CCMD_WRITE_RAM + KBD_RAM_SIZE) {
		st->ram[cmd - KBD_CCMD_WRITE_RAM] = v;
	} else if (cmd == KBD_CCMD_WRITE_OUTPORT) {
		set_out_port(k, v);
	} else if (cmd == KBD_CCMD_WRITE_OBUF) {
		ctrl_result(st, v);
	}
	/* D3, D4: the aux port has nothing attached; the byte is lost */
}

static uint32_t kbd_read(void *opaque, uint16_t port, int size)
{
	struct dev_kbd *k = opaque;
	struct kbd_state *st = &k->st;
	if (port == KBD_STATUS_PORT) {
		uint8_t s = KBD_STAT_UNLOCKED;
		s |= st->obf ? KBD_STAT_OBF : 0;
		s |= (cmd_byte(st) & KBD_CB_SYS) ? KBD_STAT_SYS : 0;
		s |= st->last_was_cmd ? KBD_STAT_CMD : 0;
		return s;
	}
	uint8_t v = st->out_buf;
	if (st->obf) {
		st->obf = 0;
		drive_irq(k); /* OBF falls, so the next byte makes a new edge */
		pump(k);
	}
	return v;
}

static void kbd_write(void *opaque, uint16_t port, uint32_t val, int size)
{
	struct dev_kbd *k = opaque;
	struct kbd_state *st = &k->st;
	uint8_t v = (uint8_t)val;
	if (port == KBD_STATUS_PORT) {
		st->last_was_cmd = 1;
		st->pending_ccmd = 0;
		controller_command(k, v);
	} else {
		st->last_was_cmd = 0;
		if (st->pending_ccmd) {
			controller_data(k, st->pending_ccmd, v);
		} else {
			st->ram[0] &= (uint8_t)~KBD_CB_KBD_DISABLE; /* sending enables the port */
			keyboard_write(st, v);
		}
	}
	pump(k);
}

/* }====== */

/* {====== host input */

void dev_kbd_key(struct dev_kbd *k, uint16_t set2_code, bool pressed)
{
	if (!k->st.scanning)
		return;
	queue_key(&k->st, set2_code, pressed);
	pump(k);
}

void dev_kbd_type(struct dev_kbd *k, const char *text)
{
	struct kbd_state *st = &k->st;
	if (!st->scanning)
		return;
	for (const char *p = text; *p; p++) {
		struct key_map m;
		if (!map_char(*p, &m))
			continue;
		if (m.shift)
			queue_key(st, KBD_SET2_LSHIFT, true);
		queue_key(st, m.code, true);
		queue_key(st, m.code, false);
		if (m.shift)
			queue_key(st, KBD_SET2_LSHIFT, false);
	}
	pump(k);
}

bool dev_kbd_a20(const struct dev_kbd *k)
{
	return (k->st.out_port & KBD_OUT_A20) != 0;
}

unsigned dev_kbd_pending(const struct dev_kbd *k)
{
	return k->st.key_q.count;
}

/* }====== */

/* {====== device ops */

static void kbd_power_on(struct dev_kbd *k)
{
	struct kbd_state *st = &k->st;
	memset(st, 0, sizeof *st);
	st->ram[0] = KBD_CB_POWER_ON;
	st->out_port = KBD_OUT_POWER_ON;
	st->scanning = 1;
	keyboard_defaults(st);
	st->deadline = CLOCK_NEVER;
}

static void kbd_reset(struct device *d)
{
	struct dev_kbd *k = (struct dev_kbd *)d;
	clock_timer_cancel(&k->timer);
	if (k->st.irq_level)
		dev_irq(k->board, KBD_IRQ, false);
	kbd_power_on(k);
}

static void kbd_save(struct device *d, GByteArray *out)
{
	struct dev_kbd *k = (struct dev_kbd *)d;
	k->st.deadline = clock_timer_deadline(&k->timer);
	dev_save_pod(out, KBD_STATE_VERSION, &k->st, sizeof k->st);
}

static bool kbd_restore(struct device *d, const uint8_t *buf, size_t len, GError **error)
{
	struct dev_kbd *k = (struct dev_kbd *)d;
	if (!dev_restore_pod(d->name, KBD_STATE_VERSION, buf, len, &k->st, sizeof k->st, error))
		return false;
	clock_timer_arm(&k->timer, k->st.deadline);
	dev_irq(k->board, KBD_IRQ, k->st.irq_level != 0);
	return true;
}

static void kbd_free(struct device *d)
{
	struct dev_kbd *k = (struct dev_kbd *)d;
	clock_timer_cancel(&k->timer);
	g_free(k);
}

static const struct device_ops kbd_ops = {
	.reset = kbd_reset,
	.save = kbd_save,
	.restore = kbd_restore,
	.free = kbd_free,
};

struct dev_kbd *dev_kbd_new(const struct dev_board *b, dev_kbd_a20_fn a20, dev_kbd_reset_fn reset,
			    void *opaque, GError **error)
{
	if (ioport_claimed(b->io, KBD_DATA_PORT) || ioport_claimed(b->io, KBD_STATUS_PORT)) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
			    "the keyboard controller ports 0x%x and 0x%x are already taken",
			    KBD_DATA_PORT, KBD_STATUS_PORT);
		return NULL;
	}
	struct dev_kbd *k = g_new0(struct dev_kbd, 1);
	k->dev.ops = &kbd_ops;
	k->dev.name = "kbd";
	k->board = b;
	k->a20 = a20;
	k->reset = reset;
	k->opaque = opaque;
	clock_timer_init(&k->timer, b->clock, "kbd", kbd_timer_fn, k);
	kbd_power_on(k);
	ioport_claim(b->io, KBD_DATA_PORT, 1, kbd_read, kbd_write, k);
	ioport_claim(b->io, KBD_STATUS_PORT, 1, kbd_read, kbd_write, k);
	return k;
}

/* }====== */
