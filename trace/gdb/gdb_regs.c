/*
 * gdb_regs.c - the register file as gdb sees it: one table gives the
 * remote numbering, the g-packet layout and target.xml, so they cannot
 * disagree.
 *
 * Register values travel as hex in target byte order (little-endian).
 * Registers the target does not have (x87, reg == NO_REG) read as `xx..`
 * (unavailable) and refuse writes.
 */
#include "gdb_int.h"

#include <string.h>

#define NO_REG (-1)
#define X87_EXT_BYTES 10 /* an 80-bit st register */

struct reg_desc {
	const char *name;
	unsigned bytes;
	int reg; /* enum trc_gdb_reg, or NO_REG */
	const char *type;
	const char *group; /* NULL: gdb's default for the type */
	bool sys;          /* in org.nestlab.i386.sys, else in the core feature */
};

/* Row i is remote register number i. */
static const struct reg_desc regs[] = {
	{"eax", 4, TRC_GDB_EAX, "int32", NULL, false},
	{"ecx", 4, TRC_GDB_ECX, "int32", NULL, false},
	{"edx", 4, TRC_GDB_EDX, "int32", NULL, false},
	{"ebx", 4, TRC_GDB_EBX, "int32", NULL, false},
	{"esp", 4, TRC_GDB_ESP, "data_ptr", NULL, false},
	{"ebp", 4, TRC_GDB_EBP, "data_ptr", NULL, false},
	{"esi", 4, TRC_GDB_ESI, "int32", NULL, false},
	{"edi", 4, TRC_GDB_EDI, "int32", NULL, false},
	{"eip", 4, TRC_GDB_EIP, "code_ptr", NULL, false},
	{"eflags", 4, TRC_GDB_EFLAGS, "i386_eflags", NULL, false},
	{"cs", 4, TRC_GDB_CS, "int32", NULL, false},
	{"ss", 4, TRC_GDB_SS, "int32", NULL, false},
	{"ds", 4, TRC_GDB_DS, "int32", NULL, false},
	{"es", 4, TRC_GDB_ES, "int32", NULL, false},
	{"fs", 4, TRC_GDB_FS, "int32", NULL, false},
	{"gs", 4, TRC_GDB_GS, "int32", NULL, false},
	{"st0", X87_EXT_BYTES, NO_REG, "i387_ext", NULL, false},
	{"st1", X87_EXT_BYTES, NO_REG, "i387_ext", NULL, false},
	{"st2", X87_EXT_BYTES, NO_REG, "i387_ext", NULL, false},
	{"st3", X87_EXT_BYTES, NO_REG, "i387_ext", NULL, false},
	{"st4", X87_EXT_BYTES, NO_REG, "i387_ext", NULL, false},
	{"st5", X87_EXT_BYTES, NO_REG, "i387_ext", NULL, false},
	{"st6", X87_EXT_BYTES, NO_REG, "i387_ext", NULL, false},
	{"st7", X87_EXT_BYTES, NO_REG, "i387_ext", NULL, false},
	{"fctrl", 4, NO_REG, "int", "float", false},
	{"fstat", 4, NO_REG, "int", "float", false},
	{"ftag", 4, NO_REG, "int", "float", false},
	{"fiseg", 4, NO_REG, "int", "float", false},
	{"fioff", 4, NO_REG, "int", "float", false},
	{"foseg", 4, NO_REG, "int", "float", false},
	{"fooff", 4, NO_REG, "int", "float", false},
	{"fop", 4, NO_REG, "int", "float", false},
	{"cr0", 4, TRC_GDB_CR0, "nestlab_cr0", NULL, true},
	{"cr2", 4, TRC_GDB_CR2, "data_ptr", NULL, true},
	{"cr3", 4, TRC_GDB_CR3, "uint32", NULL, true},
	{"cr4", 4, TRC_GDB_CR4, "nestlab_cr4", NULL, true},
};

#define NUM_REMOTE_REGS ((unsigned)G_N_ELEMENTS(regs))

/* {====== reading ====== */

static void append_reg(GString *s, const struct reg_desc *d, const struct trc_gdb_regs *r)
{
	if (d->reg == NO_REG) {
		for (unsigned i = 0; i < 2 * d->bytes; i++)
			g_string_append_c(s, 'x');
		return;
	}
	uint8_t le[4];
	uint32_t v = r->r[d->reg];
	for (unsigned i = 0; i < 4; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	trc_gdb_hex_append(s, le, sizeof le);
}

static void get_regs(struct trc_gdb *stub, struct trc_gdb_regs *r)
{
	memset(r, 0, sizeof *r);
	if (stub->ops->get_regs)
		stub->ops->get_regs(stub->opaque, r);
}

void trc_gdb_cmd_read_regs(struct trc_gdb *stub)
{
	struct trc_gdb_regs r;
	get_regs(stub, &r);
	for (unsigned i = 0; i < NUM_REMOTE_REGS; i++)
		append_reg(stub->reply, &regs[i], &r);
}

/* p n */
void trc_gdb_cmd_read_reg(struct trc_gdb *stub, const char *args)
{
	uint64_t n;
	if (!trc_gdb_parse_hex(&args, 8, NUM_REMOTE_REGS - 1, &n) || *args) {
		g_string_assign(stub->reply, GDB_E_INVAL);
		return;
	}
	struct trc_gdb_regs r;
	get_regs(stub, &r);
	append_reg(stub->reply, &regs[n], &r);
}

/* {====== writing ====== */

/* The little-endian 32-bit value in 8 hex digits at hex; false if bad. */
static bool decode_u32(const char *hex, uint32_t *v)
{
	uint8_t le[4];
	if (!trc_gdb_hex_decode(hex, le, sizeof le))
		return false;
	*v = (uint32_t)le[0] | (uint32_t)le[1] << 8 | (uint32_t)le[2] << 16 | (uint32_t)le[3] << 24;
	return true;
}

/* Set one register unless it already holds v (so rewriting a whole
 * register file does not trip over values the target would refuse). */
static bool set_reg(struct trc_gdb *stub, const struct trc_gdb_regs *cur, int reg, uint32_t v)
{
	if (cur->r[reg] == v)
		return true;
	return stub->ops->set_reg && stub->ops->set_reg(stub->opaque, (enum trc_gdb_reg)reg, v);
}

/* P n=value */
void trc_gdb_cmd_write_reg(struct trc_gdb *stub, const char *args)
{
	uint64_t n;
	uint32_t v;
	if (!trc_gdb_parse_hex(&args, 8, NUM_REMOTE_REGS - 1, &n) || *args++ != '=') {
		g_string_assign(stub->reply, GDB_E_INVAL);
		return;
	}
	const struct reg_desc *d = &regs[n];
	if (strlen(args) != 2 * d->bytes || (d->reg != NO_REG && !decode_u32(args, &v))) {
		g_string_assign(stub->reply, GDB_E_INVAL);
		return;
	}
	struct trc_gdb_regs r;
	get_regs(stub, &r);
	bool ok = d->reg != NO_REG && set_reg(stub, &r, d->reg, v);
	g_string_assign(stub->reply, ok ? "OK" : GDB_E_TARGET);
}

/* G data: whole registers from the start of the layout; the unavailable
 * ones are skipped. Checked entirely before anything is written. */
void trc_gdb_cmd_write_regs(struct trc_gdb *stub, const char *args, size_t len)
{
	uint32_t vals[NUM_REMOTE_REGS];
	unsigned n = 0;
	size_t off = 0;
	for (; n < NUM_REMOTE_REGS && off < len; n++) {
		size_t w = 2 * regs[n].bytes;
		if (len - off < w || (regs[n].reg != NO_REG && !decode_u32(args + off, &vals[n]))) {
			g_string_assign(stub->reply, GDB_E_INVAL);
			return;
		}
		off += w;
	}
	if (off != len || n == 0) {
		g_string_assign(stub->reply, GDB_E_INVAL);
		return;
	}
	struct trc_gdb_regs r;
	get_regs(stub, &r);
	bool ok = true;
	for (unsigned i = 0; i < n; i++)
		if (regs[i].reg != NO_REG)
			ok &= set_reg(stub, &r, regs[i].reg, vals[i]);
	g_string_assign(stub->reply, ok ? "OK" : GDB_E_TARGET);
}

/* {====== target.xml ====== */

/* Flag types: gdb shows a register of one as its value and the names of
 * the bits set, e.g. cr0 0x80000011 [ PE ET PG ]. Bit positions from the
 * Intel SDM Vol. 3A, 2.3 (EFLAGS) and 2.5 (control registers). */
struct flag_bit {
	const char *name;
	unsigned bit;
};

static const struct flag_bit eflags_bits[] = {
	{"CF", 0},  {"", 1},    {"PF", 2},   {"AF", 4},   {"ZF", 6},  {"SF", 7},
	{"TF", 8},  {"IF", 9},  {"DF", 10},  {"OF", 11},  {"NT", 14}, {"RF", 16},
	{"VM", 17}, {"AC", 18}, {"VIF", 19}, {"VIP", 20}, {"ID", 21},
};

static const struct flag_bit cr0_bits[] = {
	{"PE", 0},  {"MP", 1},  {"EM", 2},  {"TS", 3},  {"ET", 4},  {"NE", 5},
	{"WP", 16}, {"AM", 18}, {"NW", 29}, {"CD", 30}, {"PG", 31},
};

static const struct flag_bit cr4_bits[] = {
	{"VME", 0}, {"PVI", 1}, {"TSD", 2}, {"DE", 3},  {"PSE", 4},
	{"PAE", 5}, {"MCE", 6}, {"PGE", 7}, {"PCE", 8},
};

static void append_flags(GString *s, const char *id, const struct flag_bit *bits, size_t n)
{
	g_string_append_printf(s, "<flags id=\"%s\" size=\"4\">\n", id);
	for (size_t i = 0; i < n; i++)
		g_string_append_printf(s, "<field name=\"%s\" start=\"%u\" end=\"%u\"/>\n",
		                       bits[i].name, bits[i].bit, bits[i].bit);
	g_string_append(s, "</flags>\n");
}

/* The registers of one feature (sys or core), after its flag types. */
static void append_regs(GString *s, bool sys)
{
	for (unsigned i = 0; i < NUM_REMOTE_REGS; i++) {
		if (regs[i].sys != sys)
			continue;
		g_string_append_printf(s,
		                       "<reg name=\"%s\" bitsize=\"%u\" type=\"%s\" regnum=\"%u\"",
		                       regs[i].name, 8 * regs[i].bytes, regs[i].type, i);
		if (regs[i].group)
			g_string_append_printf(s, " group=\"%s\"", regs[i].group);
		g_string_append(s, "/>\n");
	}
}

static gpointer build_target_xml(gpointer unused)
{
	GString *s = g_string_new("<?xml version=\"1.0\"?>\n"
	                          "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
	                          "<target version=\"1.0\">\n"
	                          "<architecture>i386</architecture>\n");
	g_string_append(s, "<feature name=\"org.gnu.gdb.i386.core\">\n");
	append_flags(s, "i386_eflags", eflags_bits, G_N_ELEMENTS(eflags_bits));
	append_regs(s, false);
	g_string_append(s, "</feature>\n<feature name=\"org.nestlab.i386.sys\">\n");
	append_flags(s, "nestlab_cr0", cr0_bits, G_N_ELEMENTS(cr0_bits));
	append_flags(s, "nestlab_cr4", cr4_bits, G_N_ELEMENTS(cr4_bits));
	append_regs(s, true);
	g_string_append(s, "</feature>\n</target>\n");
	return g_string_free(s, FALSE);
}

const char *trc_gdb_xml(const char *annex)
{
	static GOnce once = G_ONCE_INIT;
	if (strcmp(annex, "target.xml") != 0)
		return NULL;
	return g_once(&once, build_target_xml, NULL);
}
