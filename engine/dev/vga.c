/*
 * vga.c - VGA registers and the text display (see vga.h).
 */
#include "vga.h"

#include <string.h>

#include "nestlab.h"

#define VGA_STATE_VERSION 1
#define CR07_VT8 0x01  /* vertical total bit 8 */
#define CR07_VDE8 0x02 /* vertical display end bit 8 */
#define CR07_VRS8 0x04 /* vertical retrace start bit 8 */
#define CR07_VT9 0x20
#define CR07_VDE9 0x40
#define CR07_VRS9 0x80
#define CR11_VRE_MASK 0x0f
#define H_TOTAL_BIAS 5     /* CR00 counts character clocks minus 5 */
#define V_TOTAL_BIAS 2     /* CR06 counts lines minus 2 */
#define DAC_PRIMARY 0x2a   /* EGA colour bit: 2/3 intensity (6-bit DAC) */
#define DAC_SECONDARY 0x15 /* EGA colour bit: 1/3 intensity */
#define CP437_DEL 0x7f
#define CP437_HOUSE 0x2302
#define VGA_ATTR_MODE 0x10
#define VGA_ATTR_PLANE_ENABLE 0x12
#define VGA_ATTR_PEL_PAN 0x13
#define VGA_ATTR_COLOR_SELECT 0x14

/* {====== mode 3 power-on registers (the values a BIOS programs) */

/* clang-format off */
static const uint8_t mode3_crtc[VGA_CRTC_REGS] = {
	0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, /* horizontal, vertical total, overflow */
	0x00, 0x4f, 0x0e, 0x0f, 0x00, 0x00, 0x00, 0x00, /* 16-line cells, cursor 14-15, start, loc */
	0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, /* retrace, display end, offset 80 words */
	0xff,                                           /* line compare */
};
static const uint8_t mode3_seq[VGA_SEQ_REGS] = { 0x03, 0x00, 0x03, 0x00, 0x02 };
static const uint8_t mode3_gc[VGA_GC_REGS] = { 0x00, 0x00, 0x00, 0x00, 0x00,
					       0x10, 0x0e, 0x00, 0xff };
static const uint8_t mode3_attr[VGA_ATTR_REGS] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, /* palette: EGA colours */
	0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
	0x0c, 0x00, 0x0f, 0x08, 0x00, /* mode control, overscan, plane enable, pan, colour select */
};
#define MODE3_MISC 0x67
/* clang-format on */

/* }====== */

/* {====== CP437 -> Unicode */

/* clang-format off */
static const uint16_t cp437_low[32] = {
	0x0020, 0x263a, 0x263b, 0x2665, 0x2666, 0x2663, 0x2660, 0x2022,
	0x25d8, 0x25cb, 0x25d9, 0x2642, 0x2640, 0x266a, 0x266b, 0x263c,
	0x25ba, 0x25c4, 0x2195, 0x203c, 0x00b6, 0x00a7, 0x25ac, 0x21a8,
	0x2191, 0x2193, 0x2192, 0x2190, 0x221f, 0x2194, 0x25b2, 0x25bc,
};

static const uint16_t cp437_high[128] = {
	0x00c7, 0x00fc, 0x00e9, 0x00e2, 0x00e4, 0x00e0, 0x00e5, 0x00e7,
	0x00ea, 0x00eb, 0x00e8, 0x00ef, 0x00ee, 0x00ec, 0x00c4, 0x00c5,
	0x00c9, 0x00e6, 0x00c6, 0x00f4, 0x00f6, 0x00f2, 0x00fb, 0x00f9,
	0x00ff, 0x00d6, 0x00dc, 0x00a2, 0x00a3, 0x00a5, 0x20a7, 0x0192,
	0x00e1, 0x00ed, 0x00f3, 0x00fa, 0x00f1, 0x00d1, 0x00aa, 0x00ba,
	0x00bf, 0x2310, 0x00ac, 0x00bd, 0x00bc, 0x00a1, 0x00ab, 0x00bb,
	0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556,
	0x2555, 0x2563, 0x2551, 0x2557, 0x255d, 0x255c, 0x255b, 0x2510,
	0x2514, 0x2534, 0x252c, 0x251c, 0x2500, 0x253c, 0x255e, 0x255f,
	0x255a, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256c, 0x2567,
	0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256b,
	0x256a, 0x2518, 0x250c, 0x2588, 0x2584, 0x258c, 0x2590, 0x2580,
	0x03b1, 0x00df, 0x0393, 0x03c0, 0x03a3, 0x03c3, 0x00b5, 0x03c4,
	0x03a6, 0x0398, 0x03a9, 0x03b4, 0x221e, 0x03c6, 0x03b5, 0x2229,
	0x2261, 0x00b1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00f7, 0x2248,
	0x00b0, 0x2219, 0x00b7, 0x221a, 0x207f, 0x00b2, 0x25a0, 0x00a0,
};
/* clang-format on */

static gunichar cp437(uint8_t c)
{
	if (c < 0x20)
		return cp437_low[c];
	if (c == CP437_DEL)
		return CP437_HOUSE;
	if (c >= 0x80)
		return cp437_high[c - 0x80];
	return c;
}

/* }====== */

/* {====== input status 1: the beam position from virtual time */

struct crtc_timing {
	uint32_t h_total, h_display;                  /* character clocks per line */
	uint32_t v_total, v_display, v_retrace_start; /* lines */
	uint32_t v_retrace_lines;
};

static void crtc_timing(const struct vga_state *st, struct crtc_timing *t)
{
	const uint8_t *cr = st->crtc;
	uint8_t ov = cr[VGA_CR_OVERFLOW];
	t->h_total = cr[VGA_CR_H_TOTAL] + H_TOTAL_BIAS;
	t->h_display = cr[VGA_CR_H_DISPLAY_END] + 1u;
	t->v_total =
		(cr[VGA_CR_V_TOTAL] | (ov & CR07_VT8 ? 0x100 : 0) | (ov & CR07_VT9 ? 0x200 : 0)) +
		V_TOTAL_BIAS;
	t->v_display = (cr[VGA_CR_V_DISPLAY_END] | (ov & CR07_VDE8 ? 0x100 : 0) |
			(ov & CR07_VDE9 ? 0x200 : 0)) +
		       1u;
	t->v_retrace_start = cr[VGA_CR_V_RETRACE_START] | (ov & CR07_VRS8 ? 0x100 : 0) |
			     (ov & CR07_VRS9 ? 0x200 : 0);
	/* the retrace ends when the line counter's low 4 bits equal CR11's */
	unsigned len = ((cr[VGA_CR_V_RETRACE_END] & CR11_VRE_MASK) - t->v_retrace_start) & 0x0f;
	t->v_retrace_lines = len ? len : 16;
}

uint8_t dev_vga_status1(const struct dev_vga *v, uint64_t now)
{
	struct crtc_timing t;
	crtc_timing(&v->st, &t);
	/* the position within the frame in character clocks */
	uint64_t frame_clocks = (uint64_t)t.h_total * t.v_total;
	uint64_t phase = (uint64_t)((unsigned __int128)now * VGA_FRAME_HZ % CLOCK_HZ);
	uint64_t pos = (uint64_t)((unsigned __int128)phase * frame_clocks / CLOCK_HZ);
	uint32_t line = (uint32_t)(pos / t.h_total), col = (uint32_t)(pos % t.h_total);
	uint8_t s = 0;
	if (line >= t.v_display || col >= t.h_display)
		s |= VGA_ST1_DISPLAY_DISABLED;
	if (line >= t.v_retrace_start && line < t.v_retrace_start + t.v_retrace_lines)
		s |= VGA_ST1_V_RETRACE;
	return s;
}

/* }====== */

/* {====== register ports */

static bool color_io(const struct vga_state *st)
{
	return (st->misc & VGA_MISC_COLOR_IO) != 0;
}

static void crtc_write(struct vga_state *st, uint8_t v)
{
	uint8_t i = st->crtc_index;
	if (i >= VGA_CRTC_REGS)
		return;
	if (i <= VGA_CR_OVERFLOW && (st->crtc[VGA_CR_V_RETRACE_END] & VGA_CR11_PROTECT)) {
		if (i == VGA_CR_OVERFLOW)
			st->crtc[i] = (uint8_t)((st->crtc[i] & ~VGA_CR07_LINE_COMPARE8) |
						(v & VGA_CR07_LINE_COMPARE8));
		return;
	}
	st->crtc[i] = v;
}

/* The implemented bits of each attribute register (the others read 0). */
static uint8_t attr_mask(uint8_t i)
{
	if (i < VGA_ATTR_MODE)
		return 0x3f; /* palette: 6-bit colour numbers */
	switch (i) {
	case VGA_ATTR_MODE:
		return 0xef; /* bit 4 reserved */
	case VGA_ATTR_PLANE_ENABLE:
		return 0x3f;
	case VGA_ATTR_PEL_PAN:
		return 0x0f;
	case VGA_ATTR_COLOR_SELECT:
		return 0x0f;
	default:
		return 0xff; /* overscan colour */
	}
}

static void attr_write(struct vga_state *st, uint8_t v)
{
	if (!st->attr_flipflop) {
		st->attr_index = v & (VGA_ATTR_INDEX_MASK | VGA_ATTR_PAS);
	} else {
		uint8_t i = st->attr_index & VGA_ATTR_INDEX_MASK;
		if (i < VGA_ATTR_REGS)
			st->attr[i] = v & attr_mask(i);
	}
	st->attr_flipflop ^= 1;
}

static uint8_t attr_read(const struct vga_state *st)
{
	uint8_t i = st->attr_index & VGA_ATTR_INDEX_MASK;
	return i < VGA_ATTR_REGS ? st->attr[i] : 0;
}

static uint8_t dac_read(struct vga_state *st)
{
	uint8_t v = st->dac[st->dac_read_index][st->dac_read_comp];
	if (++st->dac_read_comp == 3) {
		st->dac_read_comp = 0;
		st->dac_read_index++;
	}
	return v;
}

static void dac_write(struct vga_state *st, uint8_t v)
{
	st->dac[st->dac_write_index][st->dac_write_comp] = v & 0x3f;
	if (++st->dac_write_comp == 3) {
		st->dac_write_comp = 0;
		st->dac_write_index++;
	}
}

static uint8_t indexed(const uint8_t *regs, unsigned n, uint8_t index)
{
	return index < n ? regs[index] : 0xff;
}

static uint8_t read_byte(struct dev_vga *v, uint16_t port)
{
	struct vga_state *st = &v->st;
	bool crtc_port = port == VGA_CRTC_INDEX_COLOR || port == VGA_CRTC_DATA_COLOR ||
			 port == VGA_STATUS1_COLOR;
	bool mono_port = port == VGA_CRTC_INDEX_MONO || port == VGA_CRTC_DATA_MONO ||
			 port == VGA_STATUS1_MONO;
	if ((crtc_port && !color_io(st)) || (mono_port && color_io(st)))
		return 0xff;
	/* clang-format off */
	switch (port) {
	case VGA_ATTR_PORT: return st->attr_index;
	case VGA_ATTR_READ_PORT: return attr_read(st);
	case VGA_MISC_WRITE_PORT: return 0x00; /* input status 0 */
	case VGA_ENABLE_PORT: return st->vga_enable;
	case VGA_SEQ_INDEX_PORT: return st->seq_index;
	case VGA_SEQ_DATA_PORT: return indexed(st->seq, VGA_SEQ_REGS, st->seq_index);
	case VGA_DAC_MASK_PORT: return st->dac_mask;
	case VGA_DAC_READ_INDEX_PORT: return st->dac_state;
	case VGA_DAC_WRITE_INDEX_PORT: return st->dac_write_index;
	case VGA_DAC_DATA_PORT: return dac_read(st);
	case VGA_FEATURE_READ_PORT: return st->feature;
	case VGA_MISC_READ_PORT: return st->misc;
	case VGA_GC_INDEX_PORT: return st->gc_index;
	case VGA_GC_DATA_PORT: return indexed(st->gc, VGA_GC_REGS, st->gc_index);
	case VGA_CRTC_INDEX_COLOR: case VGA_CRTC_INDEX_MONO: return st->crtc_index;
	case VGA_CRTC_DATA_COLOR: case VGA_CRTC_DATA_MONO:
		return indexed(st->crtc, VGA_CRTC_REGS, st->crtc_index);
	case VGA_STATUS1_COLOR: case VGA_STATUS1_MONO:
		st->attr_flipflop = 0;
		return dev_vga_status1(v, clock_now(v->board->clock));
	default: return 0xff;
	}
	/* clang-format on */
}

static void write_byte(struct dev_vga *v, uint16_t port, uint8_t val)
{
	struct vga_state *st = &v->st;
	bool crtc_port = port == VGA_CRTC_INDEX_COLOR || port == VGA_CRTC_DATA_COLOR ||
			 port == VGA_STATUS1_COLOR;
	bool mono_port = port == VGA_CRTC_INDEX_MONO || port == VGA_CRTC_DATA_MONO ||
			 port == VGA_STATUS1_MONO;
	if ((crtc_port && !color_io(st)) || (mono_port && color_io(st)))
		return;
	/* clang-format off */
	switch (port) {
	case VGA_ATTR_PORT: attr_write(st, val); break;
	case VGA_MISC_WRITE_PORT: st->misc = val; break;
	case VGA_ENABLE_PORT: st->vga_enable = val; break;
	case VGA_SEQ_INDEX_PORT: st->seq_index = val; break;
	case VGA_SEQ_DATA_PORT:
		if (st->seq_index < VGA_SEQ_REGS)
			st->seq[st->seq_index] = val;
		break;
	case VGA_DAC_MASK_PORT: st->dac_mask = val; break;
	case VGA_DAC_READ_INDEX_PORT:
		st->dac_read_index = val;
		st->dac_read_comp = 0;
		st->dac_state = VGA_DAC_STATE_READ;
		break;
	case VGA_DAC_WRITE_INDEX_PORT:
		st->dac_write_index = val;
		st->dac_write_comp = 0;
		st->dac_state = VGA_DAC_STATE_WRITE;
		break;
	case VGA_DAC_DATA_PORT: dac_write(st, val); break;
	case VGA_GC_INDEX_PORT: st->gc_index = val; break;
	case VGA_GC_DATA_PORT:
		if (st->gc_index < VGA_GC_REGS)
			st->gc[st->gc_index] = val;
		break;
	case VGA_CRTC_INDEX_COLOR: case VGA_CRTC_INDEX_MONO: st->crtc_index = val; break;
	case VGA_CRTC_DATA_COLOR: case VGA_CRTC_DATA_MONO: crtc_write(st, val); break;
	case VGA_STATUS1_COLOR: case VGA_STATUS1_MONO: st->feature = val; break;
	default: break;
	}
	/* clang-format on */
}

/* Wider accesses are split into bytes at consecutive ports. */
static uint32_t vga_read(void *opaque, uint16_t port, int size)
{
	uint32_t v = 0;
	for (int i = 0; i < size; i++)
		v |= (uint32_t)read_byte(opaque, (uint16_t)(port + i)) << (8 * i);
	return v;
}

static void vga_write(void *opaque, uint16_t port, uint32_t val, int size)
{
	for (int i = 0; i < size; i++)
		write_byte(opaque, (uint16_t)(port + i), (uint8_t)(val >> (8 * i)));
}

/* }====== */

/* {====== the screen */

static uint16_t crtc_word(const struct vga_state *st, int hi)
{
	return (uint16_t)(st->crtc[hi] << 8 | st->crtc[hi + 1]);
}

/* Appends one row of cells from `first_cell`, trailing blanks trimmed. */
static void dump_line(GString *out, const uint8_t *mem, uint32_t first_cell)
{
	gsize keep = out->len;
	for (int col = 0; col < VGA_TEXT_COLS; col++) {
		uint8_t c = mem[((first_cell + (uint32_t)col) * 2) % VGA_TEXT_SIZE];
		g_string_append_unichar(out, cp437(c));
		if (c != ' ' && c != 0)
			keep = out->len;
	}
	g_string_truncate(out, keep);
}

void dev_vga_dump_text(struct dev_vga *v, GString *out)
{
	uint8_t *mem = g_malloc(VGA_TEXT_SIZE);
	pmem_load(v->board->pmem, VGA_TEXT_BASE, mem, VGA_TEXT_SIZE);
	uint32_t start = crtc_word(&v->st, VGA_CR_START_HI);
	gsize keep = out->len; /* the end of the last line with text */
	for (int row = 0; row < VGA_TEXT_ROWS; row++) {
		gsize line = out->len;
		dump_line(out, mem, start + (uint32_t)(row * VGA_TEXT_COLS));
		bool text = out->len > line;
		g_string_append_c(out, '\n');
		if (text)
			keep = out->len;
	}
	g_string_truncate(out, keep);
	g_free(mem);
}

void dev_vga_cursor(const struct dev_vga *v, int *row, int *col, bool *visible)
{
	const struct vga_state *st = &v->st;
	int off = (int)crtc_word(st, VGA_CR_CURSOR_HI) - (int)crtc_word(st, VGA_CR_START_HI);
	int cells = VGA_TEXT_COLS * VGA_TEXT_ROWS;
	*row = off >= 0 ? off / VGA_TEXT_COLS : -1;
	*col = off >= 0 ? off % VGA_TEXT_COLS : -1;
	uint8_t cs = st->crtc[VGA_CR_CURSOR_START], ce = st->crtc[VGA_CR_CURSOR_END];
	*visible = !(cs & VGA_CURSOR_DISABLE) &&
		   (cs & VGA_CURSOR_LINE_MASK) <= (ce & VGA_CURSOR_LINE_MASK) && off >= 0 &&
		   off < cells;
}

/* }====== */

/* {====== device ops */

static void vga_power_on(struct vga_state *st)
{
	memset(st, 0, sizeof *st);
	memcpy(st->crtc, mode3_crtc, sizeof st->crtc);
	memcpy(st->seq, mode3_seq, sizeof st->seq);
	memcpy(st->gc, mode3_gc, sizeof st->gc);
	memcpy(st->attr, mode3_attr, sizeof st->attr);
	st->attr_index = VGA_ATTR_PAS;
	st->misc = MODE3_MISC;
	st->vga_enable = 1;
	st->dac_mask = 0xff;
	for (int i = 0; i < 64; i++) { /* EGA colours: bits 0-2 b g r, bits 3-5 b' g' r' */
		for (int c = 0; c < 3; c++) {
			int bit = 2 - c; /* r, g, b */
			st->dac[i][c] = (uint8_t)((i >> bit & 1 ? DAC_PRIMARY : 0) |
						  (i >> (bit + 3) & 1 ? DAC_SECONDARY : 0));
		}
	}
}

static void vga_reset(struct device *d)
{
	vga_power_on(&((struct dev_vga *)d)->st);
}

static void vga_save(struct device *d, GByteArray *out)
{
	struct dev_vga *v = (struct dev_vga *)d;
	dev_save_pod(out, VGA_STATE_VERSION, &v->st, sizeof v->st);
}

static bool vga_restore(struct device *d, const uint8_t *buf, size_t len, GError **error)
{
	struct dev_vga *v = (struct dev_vga *)d;
	return dev_restore_pod(d->name, VGA_STATE_VERSION, buf, len, &v->st, sizeof v->st, error);
}

static void vga_free(struct device *d)
{
	g_free(d);
}

static const struct device_ops vga_ops = {
	.reset = vga_reset,
	.save = vga_save,
	.restore = vga_restore,
	.free = vga_free,
};

/* clang-format off */
static const struct { uint16_t base, count; } vga_port_ranges[] = {
	{ VGA_CRTC_INDEX_MONO, 2 }, { VGA_STATUS1_MONO, 1 }, { VGA_ATTR_PORT, 16 },
	{ VGA_CRTC_INDEX_COLOR, 2 }, { VGA_STATUS1_COLOR, 1 },
};
/* clang-format on */

struct dev_vga *dev_vga_new(const struct dev_board *b, GError **error)
{
	for (size_t i = 0; i < G_N_ELEMENTS(vga_port_ranges); i++) {
		for (uint16_t p = 0; p < vga_port_ranges[i].count; p++) {
			if (ioport_claimed(b->io, (uint16_t)(vga_port_ranges[i].base + p))) {
				g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
					    "the VGA port 0x%x is already taken by another device",
					    vga_port_ranges[i].base + p);
				return NULL;
			}
		}
	}
	struct dev_vga *v = g_new0(struct dev_vga, 1);
	v->dev.ops = &vga_ops;
	v->dev.name = "vga";
	v->board = b;
	vga_power_on(&v->st);
	for (size_t i = 0; i < G_N_ELEMENTS(vga_port_ranges); i++)
		ioport_claim(b->io, vga_port_ranges[i].base, vga_port_ranges[i].count, vga_read,
			     vga_write, v);
	return v;
}

/* }====== */
