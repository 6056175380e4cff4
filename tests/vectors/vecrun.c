/*
 * vecrun.c - the hardware vector runner (see vecrun.h).
 *
 * Each test runs on a bare board: 16 MiB of RAM at 0 and nothing else
 * (reads elsewhere give all-ones, ports read all-ones and ignore writes).
 *
 * Memory the test does not specify is filled with HLT (F4): a CPU that goes
 * astray (a wrong jump, an exception whose IVT entry the test did not
 * record) halts at once instead of running through zeroed memory, and the
 * report shows where it went. The pages a test touches are remembered and
 * refilled afterwards, so the next test starts clean without rewriting
 * 16 MiB every time.
 *
 * One rule adapts the 80286 recordings to an i386 and later: a LOCK prefix
 * on an instruction that cannot be locked (anything but the read-modify-write
 * ALU forms, XCHG, INC/DEC, NOT/NEG with a memory destination) raises #UD
 * (Intel SDM Vol. 2, "LOCK"), while the 286 ignored it. For those tests the
 * runner checks for the #UD instead of the recorded state: the CPU must
 * vector through IVT entry 6 and push the address of the prefix.
 */
#include "vecrun.h"

#include <gio/gio.h>
#include <string.h>

#include "cpu.h"

#define VEC_RAM_SIZE (16u << 20)
#define VEC_PAGE_SHIFT 12
#define VEC_PAGE_SIZE (1u << VEC_PAGE_SHIFT)
#define VEC_PAGES (VEC_RAM_SIZE >> VEC_PAGE_SHIFT)
#define VEC_BUDGET 4096u    /* REP counts in these tests stay below 64 */
#define VEC_FILL 0xf4u      /* HLT: unspecified memory */
#define VEC_PREFIX_LOCK 0xf0u
#define VEC_FLAGS_RESERVED 0xf000u /* IOPL and NT: noise in the recordings */
#define VEC_DETAILS_DEFAULT 3u

enum { R_AX, R_BX, R_CX, R_DX, R_CS, R_SS, R_DS, R_ES, R_SP, R_BP, R_SI, R_DI, R_IP, R_FLAGS };

static const char *const reg_name[VEC_NREGS] = {
	"ax", "bx", "cx", "dx", "cs", "ss", "ds", "es", "sp", "bp", "si", "di", "ip", "flags",
};

/* {====== parsing ====== */

#define VEC_ERROR (vec_error_quark())
static GQuark vec_error_quark(void);
G_DEFINE_QUARK(nestlab-vectors-error-quark, vec_error)

struct vec_test *vec_test_new(void)
{
	struct vec_test *t = g_new0(struct vec_test, 1);
	t->init_ram = g_array_new(FALSE, FALSE, sizeof(struct vec_byte));
	t->final_ram = g_array_new(FALSE, FALSE, sizeof(struct vec_byte));
	return t;
}

void vec_test_free(struct vec_test *t)
{
	if (!t)
		return;
	g_array_free(t->init_ram, TRUE);
	g_array_free(t->final_ram, TRUE);
	g_free(t);
}

static bool parse_hex(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	if (!g_ascii_isxdigit(*s))
		return false;
	unsigned long v = strtoul(s, &end, 16);
	if (*end || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_regs(const char *field, uint16_t *regs)
{
	gchar **w = g_strsplit_set(field, " ", -1);
	int n = 0;
	bool ok = true;
	for (int i = 0; w[i] && ok; i++) {
		unsigned long v;
		if (!*w[i])
			continue;
		ok = n < VEC_NREGS && parse_hex(w[i], 0xffff, &v);
		if (ok)
			regs[n++] = (uint16_t)v;
	}
	g_strfreev(w);
	return ok && n == VEC_NREGS;
}

static bool parse_ram(const char *field, GArray *ram)
{
	gchar **w = g_strsplit_set(field, " ", -1);
	bool ok = true;
	g_array_set_size(ram, 0);
	for (int i = 0; w[i] && ok; i++) {
		if (!*w[i])
			continue;
		char *colon = strchr(w[i], ':');
		unsigned long a, v;
		ok = colon != NULL;
		if (ok) {
			*colon = 0;
			ok = parse_hex(w[i], VEC_RAM_SIZE - 1, &a) && parse_hex(colon + 1, 0xff, &v);
		}
		if (ok) {
			struct vec_byte b = {(uint32_t)a, (uint8_t)v};
			g_array_append_val(ram, b);
		}
	}
	g_strfreev(w);
	return ok;
}

static bool parse_head(const char *field, struct vec_test *t)
{
	gchar **w = g_strsplit(field, " ", -1);
	bool ok = g_strv_length(w) >= 2 && strlen(w[0]) < sizeof t->form;
	if (ok) {
		char *end;
		g_strlcpy(t->form, w[0], sizeof t->form);
		t->idx = (unsigned)strtoul(w[1], &end, 10);
		ok = *w[1] && !*end;
	}
	g_strfreev(w);
	return ok;
}

static bool parse_insn(const char *field, struct vec_test *t)
{
	size_t n = strlen(field);
	if (n % 2 || n / 2 > sizeof t->insn)
		return false;
	for (size_t i = 0; i < n; i += 2) {
		char byte[3] = {field[i], field[i + 1], 0};
		unsigned long v;
		if (!parse_hex(byte, 0xff, &v))
			return false;
		t->insn[i / 2] = (uint8_t)v;
	}
	t->insn_len = (int)(n / 2);
	return true;
}

/* The exception field is `-` or the vector in decimal (INT 9Bh is "155"). */
static bool parse_exception(const char *field, int *out)
{
	char *end;
	if (strcmp(field, "-") == 0) {
		*out = -1;
		return true;
	}
	long v = strtol(field, &end, 10);
	*out = (int)v;
	return *field && !*end && v >= 0 && v <= 255;
}

bool vec_parse_line(const char *line, struct vec_test *t, GError **error)
{
	gchar **f = g_strsplit(line, "|", -1);
	const char *what = NULL;
	unsigned long mask = 0;
	if (g_strv_length(f) != 8)
		what = "8 fields separated by |";
	for (int i = 0; f[i]; i++)
		g_strstrip(f[i]);
	if (!what && !parse_head(f[0], t))
		what = "a form and a test number";
	if (!what && !parse_insn(f[1], t))
		what = "instruction bytes";
	if (!what && !parse_regs(f[2], t->init))
		what = "14 initial registers";
	if (!what && !parse_ram(f[3], t->init_ram))
		what = "initial RAM as address:byte pairs";
	if (!what && !parse_regs(f[4], t->final))
		what = "14 final registers";
	if (!what && !parse_ram(f[5], t->final_ram))
		what = "final RAM as address:byte pairs";
	if (!what && !parse_hex(f[6], 0xffff, &mask))
		what = "a flags mask";
	t->flags_mask = (uint16_t)mask;
	if (!what && !parse_exception(f[7], &t->exception))
		what = "an exception vector or -";
	g_strfreev(f);
	if (what) {
		g_set_error(error, VEC_ERROR, 0, "malformed vector line (expected %s): %.60s", what, line);
		return false;
	}
	return true;
}

/* }====================================================================== */

/* {====== the known-differences list ====== */

struct vec_known {
	GHashTable *reason; /* "FORM IDX" or "FORM *" -> reason */
};

struct vec_known *vec_known_load(const char *path, GError **error)
{
	gchar *text;
	if (!g_file_get_contents(path, &text, NULL, error))
		return NULL;
	struct vec_known *k = g_new0(struct vec_known, 1);
	k->reason = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	gchar **lines = g_strsplit(text, "\n", -1);
	g_free(text);
	for (int i = 0; lines[i]; i++) {
		char *hash = strchr(lines[i], '#');
		if (hash)
			*hash = 0;
		gchar *line = g_strstrip(lines[i]);
		if (!*line)
			continue;
		char form[16], idx[16];
		int used = 0;
		if (sscanf(line, "%15s %15s %n", form, idx, &used) < 2 ||
		    (strcmp(idx, "*") != 0 && strspn(idx, "0123456789") != strlen(idx))) {
			g_set_error(error, VEC_ERROR, 0,
			            "%s:%d: expected `FORM IDX reason` (IDX a number or *)", path, i + 1);
			g_strfreev(lines);
			vec_known_free(k);
			return NULL;
		}
		g_hash_table_replace(k->reason, g_strdup_printf("%s %s", form, idx),
		                     g_strdup(line + used));
	}
	g_strfreev(lines);
	return k;
}

void vec_known_free(struct vec_known *k)
{
	if (!k)
		return;
	g_hash_table_destroy(k->reason);
	g_free(k);
}

const char *vec_known_reason(const struct vec_known *k, const char *form, unsigned idx)
{
	if (!k)
		return NULL;
	char key[40];
	g_snprintf(key, sizeof key, "%s %u", form, idx);
	const char *r = g_hash_table_lookup(k->reason, key);
	if (r)
		return r;
	g_snprintf(key, sizeof key, "%s *", form);
	return g_hash_table_lookup(k->reason, key);
}

/* }====================================================================== */

/* {====== the bare board ====== */

struct vboard {
	uint8_t *ram;
	uint8_t touched[VEC_PAGES / 8];
	GArray *touched_list; /* page numbers */
	struct cpu *cpu;
};

static void touch(struct vboard *b, uint32_t page)
{
	if (b->touched[page / 8] & (1u << (page % 8)))
		return;
	b->touched[page / 8] |= (uint8_t)(1u << (page % 8));
	g_array_append_val(b->touched_list, page);
}

static uint8_t *vb_page_ptr(void *o, uint32_t pa, bool *w)
{
	struct vboard *b = o;
	*w = true;
	if (pa >= VEC_RAM_SIZE)
		return NULL;
	touch(b, pa >> VEC_PAGE_SHIFT);
	return b->ram + (pa & ~(VEC_PAGE_SIZE - 1));
}

static uint32_t vb_mem_read(void *o, uint32_t pa, int sz)
{
	return 0xffffffffu >> (32 - 8 * sz);
}

static void vb_mem_write(void *o, uint32_t pa, uint32_t v, int sz)
{
}

static uint32_t vb_io_read(void *o, uint16_t port, int sz)
{
	return 0xffffffffu >> (32 - 8 * sz);
}

static void vb_io_write(void *o, uint16_t port, uint32_t v, int sz)
{
}

static struct vboard *vboard_new(void)
{
	struct vboard *b = g_new0(struct vboard, 1);
	b->ram = g_malloc(VEC_RAM_SIZE);
	memset(b->ram, VEC_FILL, VEC_RAM_SIZE);
	b->touched_list = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	const struct bus bus = {
		.opaque = b, .page_ptr = vb_page_ptr, .mem_read = vb_mem_read,
		.mem_write = vb_mem_write, .io_read = vb_io_read, .io_write = vb_io_write,
	};
	b->cpu = cpu_new(&bus);
	return b;
}

static void vboard_free(struct vboard *b)
{
	cpu_free(b->cpu);
	g_array_free(b->touched_list, TRUE);
	g_free(b->ram);
	g_free(b);
}

/* Refills every page the last test touched and drops decodes cached there. */
static void vboard_wipe(struct vboard *b)
{
	for (guint i = 0; i < b->touched_list->len; i++) {
		uint32_t page = g_array_index(b->touched_list, uint32_t, i);
		memset(b->ram + (page << VEC_PAGE_SHIFT), VEC_FILL, VEC_PAGE_SIZE);
		cpu_invalidate_phys(b->cpu, page << VEC_PAGE_SHIFT, VEC_PAGE_SIZE);
		b->touched[page / 8] = 0;
	}
	g_array_set_size(b->touched_list, 0);
}

/* }====================================================================== */

/* {====== one test ====== */

static const int gpr_of[] = {
	[R_AX] = EAX, [R_BX] = EBX, [R_CX] = ECX, [R_DX] = EDX,
	[R_SP] = ESP, [R_BP] = EBP, [R_SI] = ESI, [R_DI] = EDI,
};
static const int sreg_of[] = {[R_CS] = SEG_CS, [R_SS] = SEG_SS, [R_DS] = SEG_DS, [R_ES] = SEG_ES};

static bool is_sreg(int i)
{
	return i == R_CS || i == R_SS || i == R_DS || i == R_ES;
}

/* Puts the CPU in the state the test starts from (README: "How to run"). */
static void load_state(struct vboard *b, const struct vec_test *t)
{
	struct cpu *cpu = b->cpu;
	cpu_reset(cpu);
	cpu_set_a20(cpu, true);
	for (int i = 0; i < VEC_NREGS; i++) {
		if (is_sreg(i))
			cpu_set_seg_real(cpu, sreg_of[i], t->init[i]);
		else if (i != R_IP && i != R_FLAGS)
			cpu->r[gpr_of[i]] = t->init[i];
	}
	cpu_set_seg_real(cpu, SEG_FS, 0);
	cpu_set_seg_real(cpu, SEG_GS, 0);
	cpu->eip = t->init[R_IP];
	cpu_set_eflags(cpu, (t->init[R_FLAGS] & ~VEC_FLAGS_RESERVED) | EFLAGS_1);
	for (guint i = 0; i < t->init_ram->len; i++) {
		const struct vec_byte *e = &g_array_index(t->init_ram, struct vec_byte, i);
		touch(b, e->addr >> VEC_PAGE_SHIFT);
		b->ram[e->addr] = e->val;
	}
}

static uint32_t actual_reg(struct cpu *cpu, int i)
{
	if (is_sreg(i))
		return cpu->seg[sreg_of[i]].sel;
	if (i == R_IP)
		return cpu->eip;
	if (i == R_FLAGS)
		return cpu_get_eflags(cpu);
	return cpu->r[gpr_of[i]];
}

static const char *const flag_name[16] = {
	"CF", "1", "PF", "3", "AF", "5", "ZF", "SF", "TF", "IF", "DF", "OF", "IOPL", "IOPL", "NT", "15",
};

static void print_flag_diff(FILE *out, uint16_t diff)
{
	fputs("  (", out);
	const char *sep = "";
	for (int bit = 0; bit < 16; bit++) {
		if (!(diff & (1u << bit)) || (bit == 13 && (diff & (1u << 12))))
			continue;
		fprintf(out, "%s%s", sep, flag_name[bit]);
		sep = " ";
	}
	fputs(")", out);
}

/*
 * Where the test's exception pushed FLAGS (SS:SP+4 of the final state), or
 * an address no test uses if it raised none. That image is compared under
 * the flags mask like the register: the 286 pushes the undefined flags its
 * DIV left behind before #DE, an i386 the flags from before the instruction.
 */
static uint32_t pushed_flags_addr(const struct vec_test *t)
{
	if (t->exception < 0)
		return UINT32_MAX;
	uint16_t sp = (uint16_t)(t->final[R_SP] + 4);
	return (((uint32_t)t->final[R_SS] << 4) + sp) & (VEC_RAM_SIZE - 1);
}

/* Compares the CPU with the expected final state. With `out`, writes one
 * line per difference. Returns the number of differences. */
static int compare(struct vboard *b, const struct vec_test *t, FILE *out)
{
	int diffs = 0;
	for (int i = 0; i < VEC_NREGS; i++) {
		uint32_t want = t->final[i], got = actual_reg(b->cpu, i);
		uint32_t mask = i == R_FLAGS ? t->flags_mask : 0xffffffffu;
		if ((want & mask) == (got & mask))
			continue;
		diffs++;
		if (!out)
			continue;
		fprintf(out, "    %-5s expected %04x  actual %04x", reg_name[i], want, got);
		if (i == R_FLAGS) {
			fprintf(out, "  mask %04x", t->flags_mask);
			print_flag_diff(out, (uint16_t)((want ^ got) & mask));
		}
		fputc('\n', out);
	}
	uint32_t pushed_flags = pushed_flags_addr(t);
	for (guint i = 0; i < t->final_ram->len; i++) {
		const struct vec_byte *e = &g_array_index(t->final_ram, struct vec_byte, i);
		uint8_t got = b->ram[e->addr];
		uint8_t mask = 0xff;
		if (e->addr == pushed_flags)
			mask = (uint8_t)t->flags_mask;
		else if (e->addr == ((pushed_flags + 1) & (VEC_RAM_SIZE - 1)))
			mask = (uint8_t)(t->flags_mask >> 8);
		if ((got & mask) == (e->val & mask))
			continue;
		diffs++;
		if (out)
			fprintf(out, "    ram %06x expected %02x  actual %02x\n", e->addr, e->val, got);
	}
	return diffs;
}

/* {====== the LOCK rule (see the top of this file) ====== */

static bool is_prefix(uint8_t b)
{
	return b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == VEC_PREFIX_LOCK ||
	       b == 0xf2 || b == 0xf3;
}

/* True if the i386 raises #UD for this test's LOCK prefix. */
static bool lock_rejected(const struct vec_test *t)
{
	int i = 0;
	bool lock = false;
	while (i < t->insn_len && is_prefix(t->insn[i]))
		lock |= t->insn[i++] == VEC_PREFIX_LOCK;
	if (!lock)
		return false;
	if (i + 1 >= t->insn_len)
		return true;
	uint8_t op = t->insn[i], modrm = t->insn[i + 1];
	int reg = (modrm >> 3) & 7;
	bool mem = (modrm >> 6) != 3;
	bool lockable;
	switch (op) {
	case 0x00: case 0x01: /* ADD Eb,Gb / Ev,Gv */
	case 0x08: case 0x09: /* OR */
	case 0x10: case 0x11: /* ADC */
	case 0x18: case 0x19: /* SBB */
	case 0x20: case 0x21: /* AND */
	case 0x28: case 0x29: /* SUB */
	case 0x30: case 0x31: /* XOR */
	case 0x86: case 0x87: /* XCHG */
		lockable = true;
		break;
	case 0x80: case 0x81: case 0x82: case 0x83: /* group 1, all but CMP */
		lockable = reg != 7;
		break;
	case 0xf6: case 0xf7: /* NOT, NEG */
		lockable = reg == 2 || reg == 3;
		break;
	case 0xfe: case 0xff: /* INC, DEC */
		lockable = reg <= 1;
		break;
	default:
		lockable = false;
	}
	return !(lockable && mem);
}

#define IVT_UD (EXC_UD * 4)

static uint16_t ram16(const struct vboard *b, uint32_t a)
{
	return (uint16_t)(b->ram[a & (VEC_RAM_SIZE - 1)] | b->ram[(a + 1) & (VEC_RAM_SIZE - 1)] << 8);
}

/*
 * Checks that the CPU took #UD on the test's first byte: it ran the HLT at
 * the IVT's #UD handler, with IP and CS of the instruction pushed.
 * With `out`, writes one line per difference. Returns the number of them.
 */
static int compare_ud(struct vboard *b, const struct vec_test *t, uint16_t ivt_ip, uint16_t ivt_cs,
                      FILE *out)
{
	struct cpu *cpu = b->cpu;
	uint16_t sp = (uint16_t)(t->init[R_SP] - 6);
	uint32_t ss = (uint32_t)t->init[R_SS] << 4;
	const struct {
		const char *what;
		uint32_t want, got;
	} row[] = {
		{"cs", ivt_cs, cpu->seg[SEG_CS].sel},
		{"ip", (uint16_t)(ivt_ip + 1), cpu->eip},
		{"sp", sp, cpu->r[ESP]},
		{"pushed ip", t->init[R_IP], ram16(b, ss + sp)},
		{"pushed cs", t->init[R_CS], ram16(b, ss + (uint16_t)(sp + 2))},
	};
	int diffs = 0;
	for (size_t i = 0; i < G_N_ELEMENTS(row); i++) {
		if (row[i].want == row[i].got)
			continue;
		diffs++;
		if (out)
			fprintf(out, "    %-9s expected %04x  actual %04x  (the i386 raises #UD here)\n",
			        row[i].what, row[i].want, row[i].got);
	}
	return diffs;
}

/* }====================================================================== */

/* {====== running and reporting one test ====== */

struct outcome {
	const char *why;   /* NULL: passed */
	bool lock_ud;      /* checked under the LOCK rule */
	uint16_t ivt_ip, ivt_cs;
};

static struct outcome run_test(struct vboard *b, const struct vec_test *t)
{
	struct outcome r = {NULL, lock_rejected(t), 0, 0};
	load_state(b, t);
	r.ivt_ip = ram16(b, IVT_UD);
	r.ivt_cs = ram16(b, IVT_UD + 2);
	enum cpu_stop s = cpu_run(b->cpu, VEC_BUDGET);
	if (s == CPU_STOP_SHUTDOWN)
		r.why = "the CPU shut down (triple fault)";
	else if (s != CPU_STOP_HLT)
		r.why = "the CPU did not reach a HLT";
	else if (r.lock_ud)
		r.why = compare_ud(b, t, r.ivt_ip, r.ivt_cs, NULL) ? "no #UD for the LOCK prefix" : NULL;
	else
		r.why = compare(b, t, NULL) ? "the final state differs" : NULL;
	return r;
}

static void print_failure(FILE *out, struct vboard *b, const struct vec_test *t,
                          const struct outcome *r)
{
	fprintf(out, "FAIL %s %u  bytes", t->form, t->idx);
	for (int i = 0; i < t->insn_len; i++)
		fprintf(out, " %02x", t->insn[i]);
	if (t->exception >= 0)
		fprintf(out, "  (raises vector %d)", t->exception);
	fprintf(out, ": %s\n", r->why);
	if (r->lock_ud)
		compare_ud(b, t, r->ivt_ip, r->ivt_cs, out);
	else
		compare(b, t, out);
}

/* }====================================================================== */

/* {====== a directory of vector files ====== */

struct form_stat {
	char form[8];
	unsigned total, failed, unlisted, shown;
};

struct run_ctx {
	const struct vec_options *opt;
	FILE *out;
	unsigned details;
	struct vboard *board;
	struct vec_result *res;
	GArray *forms; /* struct form_stat */
};

/* Opens a vector file for line reading, through gunzip if it ends in .gz. */
static GDataInputStream *open_lines(const char *path, GError **error)
{
	GFile *file = g_file_new_for_path(path);
	GInputStream *in = G_INPUT_STREAM(g_file_read(file, NULL, error));
	g_object_unref(file);
	if (!in)
		return NULL;
	if (g_str_has_suffix(path, ".gz")) {
		GZlibDecompressor *z = g_zlib_decompressor_new(G_ZLIB_COMPRESSOR_FORMAT_GZIP);
		GInputStream *unz = g_converter_input_stream_new(in, G_CONVERTER(z));
		g_object_unref(z);
		g_object_unref(in);
		in = unz;
	}
	GDataInputStream *lines = g_data_input_stream_new(in);
	g_object_unref(in);
	return lines;
}

static void count_test(struct run_ctx *c, struct form_stat *fs, const struct vec_test *t,
                       const struct outcome *r)
{
	const char *why = r->why;
	c->res->lock_ud += r->lock_ud;
	const char *known = vec_known_reason(c->opt->known, t->form, t->idx);
	fs->total++;
	if (!why) {
		c->res->passed++;
		if (known) {
			c->res->known_passed++;
			fprintf(c->out, "NOW PASSES %s %u (listed as a known difference: %s)\n", t->form,
			        t->idx, known);
		}
		return;
	}
	c->res->failed++;
	fs->failed++;
	if (known) {
		c->res->failed_known++;
		return;
	}
	c->res->failed_unknown++;
	fs->unlisted++;
	if (fs->shown++ < c->details)
		print_failure(c->out, c->board, t, r);
}

static bool run_file(struct run_ctx *c, const char *path, struct form_stat *fs, GError **error)
{
	GDataInputStream *lines = open_lines(path, error);
	if (!lines)
		return false;
	struct vec_test *t = vec_test_new();
	GError *local = NULL;
	char *line;
	unsigned lineno = 0;
	bool ok = true;
	while (ok && (line = g_data_input_stream_read_line(lines, NULL, NULL, &local))) {
		lineno++;
		if (*line && *line != '#') {
			ok = vec_parse_line(line, t, &local);
			if (ok) {
				struct outcome r = run_test(c->board, t);
				count_test(c, fs, t, &r);
				vboard_wipe(c->board);
			}
		}
		g_free(line);
	}
	if (local) {
		g_propagate_prefixed_error(error, local, "%s:%u: ", path, lineno);
		ok = false;
	}
	vec_test_free(t);
	g_object_unref(lines);
	return ok;
}

static gint by_failures(gconstpointer a, gconstpointer b)
{
	const struct form_stat *x = a, *y = b;
	if (x->failed != y->failed)
		return x->failed < y->failed ? 1 : -1;
	return strcmp(x->form, y->form);
}

static void print_summary(struct run_ctx *c)
{
	GArray *f = c->forms;
	g_array_sort(f, by_failures);
	if (f->len && g_array_index(f, struct form_stat, 0).failed)
		fprintf(c->out, "forms with failures (failed/run, not in the known-differences list):\n");
	for (guint i = 0; i < f->len; i++) {
		const struct form_stat *s = &g_array_index(f, struct form_stat, i);
		if (!s->failed)
			break;
		fprintf(c->out, "  %-5s %4u/%-4u  %u unlisted\n", s->form, s->failed, s->total, s->unlisted);
	}
	const struct vec_result *r = c->res;
	fprintf(c->out, "%u files; %u tests checked for the i386's #UD on LOCK instead of the "
	        "recorded state; %u failures listed as known differences, %u not listed; "
	        "%u listed tests now pass\n", r->files, r->lock_ud, r->failed_known,
	        r->failed_unknown, r->known_passed);
	fprintf(c->out, "%u passed, %u failed\n", r->passed, r->failed);
}

static gint by_name(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The vector files of `dir` in name order (NULL-terminated, g_strfreev). */
static gchar **list_files(const char *dir, GError **error)
{
	GDir *d = g_dir_open(dir, 0, error);
	if (!d)
		return NULL;
	GPtrArray *names = g_ptr_array_new();
	const char *n;
	while ((n = g_dir_read_name(d)))
		if (g_str_has_suffix(n, ".txt.gz") || g_str_has_suffix(n, ".txt"))
			g_ptr_array_add(names, g_strdup(n));
	g_dir_close(d);
	g_ptr_array_sort(names, by_name);
	g_ptr_array_add(names, NULL);
	return (gchar **)g_ptr_array_free(names, FALSE);
}

bool vec_run_dir(const char *dir, const struct vec_options *opt, struct vec_result *res,
                 GError **error)
{
	memset(res, 0, sizeof *res);
	gchar **names = list_files(dir, error);
	if (!names)
		return false;
	if (!names[0]) {
		g_set_error(error, VEC_ERROR, 0, "%s holds no vector files (*.txt.gz)", dir);
		g_strfreev(names);
		return false;
	}
	struct run_ctx c = {
		.opt = opt, .out = opt->out ? opt->out : stdout, .res = res,
		.details = opt->details_per_form ? opt->details_per_form : VEC_DETAILS_DEFAULT,
		.board = vboard_new(), .forms = g_array_new(FALSE, TRUE, sizeof(struct form_stat)),
	};
	bool ok = true;
	for (int i = 0; ok && names[i]; i++) {
		struct form_stat fs;
		memset(&fs, 0, sizeof fs);
		size_t stem = (size_t)(strstr(names[i], ".txt") - names[i]);
		g_strlcpy(fs.form, names[i], MIN(stem + 1, sizeof fs.form));
		if (opt->only_form && strcmp(opt->only_form, fs.form) != 0)
			continue;
		gchar *path = g_build_filename(dir, names[i], NULL);
		ok = run_file(&c, path, &fs, error);
		g_free(path);
		res->files++;
		g_array_append_val(c.forms, fs);
	}
	if (ok)
		print_summary(&c);
	g_array_free(c.forms, TRUE);
	vboard_free(c.board);
	g_strfreev(names);
	return ok;
}

/* }====================================================================== */
