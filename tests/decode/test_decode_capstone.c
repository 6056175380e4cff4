/*
 * test_decode_capstone.c - the decoder against Capstone 4.0.2.
 *
 * A seeded generator makes byte sequences biased toward real instructions
 * (prefix runs, every one-byte and 0F opcode, random ModRM/SIB/displacement/
 * immediate bytes, pure noise). Each 15-byte buffer goes to cpu_decode() and
 * to Capstone in the same mode; both must agree on "is this an instruction"
 * and on its length.
 *
 * They do not always agree, for known reasons: Capstone decodes every
 * extension up to AVX-512 while nestlab is an i686 integer CPU, and Capstone
 * 4.0.2 has quirks of its own. Every disagreement must match one rule of the
 * quirk table below; each rule is as narrow as the reason allows (map,
 * opcode, ModRM field, prefix) and re-checks what it can against the test's
 * own reading of the manual, so that it cannot hide a decoder bug. A
 * disagreement that no rule explains fails the test with both verdicts.
 *
 * Two more checks ride along: an agreement on an instruction that Capstone
 * files under an extension this CPU lacks is a failure too (nestlab should
 * say #UD), and every buffer ends at an unreadable page (decode_guard.c) so
 * that the decoder can never read past the bytes it was given.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "cpu.h"
#include "decode_guard.h"
#include "test_decode.h"

#if HAVE_CAPSTONE

#include "capstone_diff.h"

#define SEQS_PER_MODE 1500000 /* 3,000,000 sequences in all */
#define MAX_REPORTED 40       /* unexplained disagreements printed in full */

/* {====== a deterministic generator ====== */

/* xorshift64*: small, fast and identical on every host. */
struct rng {
	uint64_t s;
};

static uint32_t rng_next(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return (uint32_t)((r->s * 0x2545f4914f6cdd1dull) >> 32);
}

static uint32_t rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((uint64_t)rng_next(r) * n) >> 32);
}

/* The legacy prefixes (Intel SDM Vol. 2, 2.1.1). */
static const uint8_t legacy_prefix[] = {0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65,
                                        0x66, 0x67, 0xf0, 0xf2, 0xf3};

static bool is_legacy_prefix(uint8_t c)
{
	return memchr(legacy_prefix, c, sizeof legacy_prefix) != NULL;
}

/* How many prefixes: none 40%, one 30%, two 15%, three or four 10%, and
 * 5..16 for the rest (a run over 14 makes the instruction too long). */
static int prefix_count(struct rng *r)
{
	uint32_t x = rng_below(r, 100);
	if (x < 40)
		return 0;
	if (x < 70)
		return 1;
	if (x < 85)
		return 2;
	if (x < 95)
		return 3 + (int)rng_below(r, 2);
	return 5 + (int)rng_below(r, 12);
}

/* Writes prefix_count() prefixes, repeating the previous one a quarter of
 * the time. Returns how many fit in the 15 bytes. */
static int gen_prefixes(struct rng *r, uint8_t *b)
{
	int n = prefix_count(r);
	if (n > MAX_INSN)
		n = MAX_INSN;
	for (int i = 0; i < n; i++) {
		if (i > 0 && rng_below(r, 4) == 0)
			b[i] = b[i - 1];
		else
			b[i] = legacy_prefix[rng_below(r, sizeof legacy_prefix)];
	}
	return n;
}

/* Per-mode sweep counters so that every opcode comes up equally often. */
struct gen {
	struct rng rng;
	uint32_t seq;
	uint8_t sweep1, sweep2;
};

/*
 * Fills b[0..14] with the next sequence. One in eight is pure noise; the
 * rest are prefixes + an opcode from the sweep (one-byte map, 0F map, or
 * 0F 38/0F 3A) + random bytes, which cover ModRM, SIB, displacement and
 * immediate forms uniformly.
 */
static void gen_sequence(struct gen *g, uint8_t *b)
{
	uint32_t kind = g->seq++ % 16;
	for (int i = 0; i < MAX_INSN; i++)
		b[i] = (uint8_t)rng_next(&g->rng);
	if (kind < 2)
		return;
	int p = gen_prefixes(&g->rng, b);
	if (p >= MAX_INSN)
		return;
	if (kind < 9) {
		b[p] = g->sweep1++;
	} else if (kind < 15) {
		b[p] = 0x0f;
		if (p + 1 < MAX_INSN)
			b[p + 1] = g->sweep2++;
	} else {
		b[p] = 0x0f;
		if (p + 1 < MAX_INSN)
			b[p + 1] = rng_below(&g->rng, 2) ? 0x38 : 0x3a;
	}
}

/* }====================================================================== */

/* {====== the test's own reading of an instruction ====== */

/* The test's own parser: see struct parsed. */
void diff_parse(const uint8_t *b, struct parsed *p)
{
	memset(p, 0, sizeof *p);
	int i = 0;
	while (i < MAX_INSN && is_legacy_prefix(b[i])) {
		p->lock |= b[i] == 0xf0;
		p->opsize |= b[i] == 0x66;
		p->addrsize |= b[i] == 0x67;
		if (b[i] == 0xf2 || b[i] == 0xf3) {
			p->last_rep = b[i];
			p->rep_after_66 |= p->opsize;
		}
		i++;
	}
	p->npfx = i;
	if (i >= MAX_INSN)
		return;
	p->map = MAP_1;
	if (b[i] == 0x0f) {
		if (++i >= MAX_INSN)
			return;
		p->map = MAP_0F;
		if (b[i] == 0x38 || b[i] == 0x3a) {
			p->map = b[i] == 0x38 ? MAP_0F38 : MAP_0F3A;
			if (++i >= MAX_INSN)
				return;
		}
	}
	p->op = b[i++];
	p->op_end = i;
	p->complete = true;
	if (i < MAX_INSN) {
		p->modrm = b[i];
		p->mod = p->modrm >> 6;
		p->reg = (p->modrm >> 3) & 7;
		p->rm = p->modrm & 7;
	}
}

/* See capstone_diff.h. */
int diff_modrm_bytes(const uint8_t *b, int at, bool addr32)
{
	if (at >= MAX_INSN)
		return -1;
	int mod = b[at] >> 6, rm = b[at] & 7, n = 1;
	if (mod == 3)
		return 1;
	if (!addr32)
		return 1 + (mod == 1 ? 1 : mod == 2 || (mod == 0 && rm == 6) ? 2 : 0);
	if (rm == 4) {
		if (at + 1 >= MAX_INSN)
			return -1;
		n++;
		if (mod == 0 && (b[at + 1] & 7) == 5)
			n += 4;
	} else if (mod == 0 && rm == 5) {
		n += 4;
	}
	n += mod == 1 ? 1 : mod == 2 ? 4 : 0;
	return n;
}

/* }====================================================================== */

/* {====== running the differential ====== */

struct run {
	csh cs, cs_detail;
	cs_insn *insn;
	bool code32;
	uint64_t total, agree, valid_agree, self_bad;
	uint64_t unexplained;
	bool dump;
	GString *report;
};

static void hex(GString *s, const uint8_t *b, int n)
{
	for (int i = 0; i < n; i++)
		g_string_append_printf(s, "%02x%s", b[i], i + 1 < n ? " " : "");
}

static const char *verdict_name(int r, char *buf, size_t n)
{
	if (r == DECODE_UD)
		return "#UD";
	if (r == DECODE_TOO_LONG)
		return "too long";
	if (r == DECODE_SHORT)
		return "short";
	snprintf(buf, n, "length %d", r);
	return buf;
}

/* One line per disagreement on stderr, for sorting and counting by hand. */
static void dump_line(const struct verdict *v)
{
	char buf[32];
	GString *s = g_string_new(NULL);
	hex(s, v->b, MAX_INSN);
	fprintf(stderr, "%s | %s | %-10s | %d %s %s\n", v->code32 ? "32" : "16", s->str,
	        verdict_name(v->ours, buf, sizeof buf), v->cs_len,
	        v->cs_len ? v->ci->mnemonic : "-", v->cs_len ? v->ci->op_str : "");
	g_string_free(s, TRUE);
}

/* Keeps the first MAX_REPORTED unexplained disagreements for the failure
 * message; with NESTLAB_DECODE_DUMP set, prints every one as it comes. */
static void report_unexplained(struct run *run, const struct verdict *v, const char *why)
{
	char buf[32];
	if (run->dump)
		dump_line(v);
	if (++run->unexplained > MAX_REPORTED)
		return;
	g_string_append_printf(run->report, "  %s-bit  ", v->code32 ? "32" : "16");
	hex(run->report, v->b, MAX_INSN);
	g_string_append_printf(run->report, "\n    nestlab: %s   capstone: ",
	                       verdict_name(v->ours, buf, sizeof buf));
	if (v->cs_len)
		g_string_append_printf(run->report, "length %d  %s %s\n", v->cs_len,
		                       v->ci->mnemonic, v->ci->op_str);
	else
		g_string_append(run->report, "no instruction\n");
	g_string_append_printf(run->report, "    %s\n", why);
}

/* The decoder contradicted itself on a shorter buffer (see self_consistent). */
static void report_inconsistent(struct run *run, const uint8_t *b, int ours)
{
	char buf[32];
	if (run->self_bad++ >= MAX_REPORTED)
		return;
	g_string_append_printf(run->report, "  %s-bit  ", run->code32 ? "32" : "16");
	hex(run->report, b, MAX_INSN);
	g_string_append_printf(run->report,
	                       "\n    nestlab: %s with 15 bytes, but not the same with exactly "
	                       "that many or not DECODE_SHORT with one fewer\n",
	                       verdict_name(ours, buf, sizeof buf));
}

/* Files one disagreement under the first rule that explains it. */
static void classify(struct run *run, const uint8_t *b, int ours, int cs_len)
{
	struct verdict v = {.b = b, .code32 = run->code32, .ours = ours, .cs_len = cs_len};
	cs_insn *ci = NULL;
	if (cs_len) {
		cs_disasm(run->cs_detail, b, MAX_INSN, 0, 1, &ci);
		v.ci = ci;
	}
	diff_parse(b, &v.p);
	if (!quirks_classify(&v))
		report_unexplained(run, &v, "no rule of the quirk table explains this");
	if (ci)
		cs_free(ci, 1);
}

/*
 * Agreeing on a length is not enough when Capstone files the instruction
 * under an extension nestlab does not have (SSE, VMX...): nestlab must say
 * #UD there. Checked outside the one-byte map (and for C4/C5/62/8F, the
 * VEX/EVEX/XOP escapes), where such opcodes live.
 */
static void check_agreement(struct run *run, const uint8_t *b, int ours)
{
	struct verdict v = {.b = b, .code32 = run->code32, .ours = ours, .cs_len = ours};
	diff_parse(b, &v.p);
	bool escape = v.p.map == MAP_1 &&
	              (v.p.op == 0xc4 || v.p.op == 0xc5 || v.p.op == 0x62 || v.p.op == 0x8f);
	if (v.p.map == MAP_1 && !escape)
		return;
	cs_insn *ci = NULL;
	if (cs_disasm(run->cs_detail, b, MAX_INSN, 0, 1, &ci) != 1)
		return;
	v.ci = ci;
	if (quirks_extension_decoded(&v))
		report_unexplained(run, &v,
		                   "both decode it, but it belongs to an extension "
		                   "this CPU does not have: expected #UD");
	cs_free(ci, 1);
}

/*
 * The decoder's own consistency: a decode of length L gives the same
 * answer with exactly L bytes and reports DECODE_SHORT with L - 1; with the
 * full 15 bytes it never says DECODE_SHORT.
 */
static bool self_consistent(const struct run *run, const uint8_t *b, int ours)
{
	struct insn in;
	if (ours == DECODE_SHORT)
		return false;
	if (ours <= 0)
		return true;
	size_t n = (size_t)ours;
	return cpu_decode(guard_copy(b, n), n, run->code32, &in) == ours &&
	       cpu_decode(guard_copy(b, n - 1), n - 1, run->code32, &in) == DECODE_SHORT;
}

static void run_one(struct run *run, const uint8_t *b)
{
	struct insn in;
	int ours = cpu_decode(guard_copy(b, MAX_INSN), MAX_INSN, run->code32, &in);
	const uint8_t *code = b;
	size_t size = MAX_INSN;
	uint64_t addr = 0;
	int cs_len = cs_disasm_iter(run->cs, &code, &size, &addr, run->insn) ? run->insn->size : 0;
	run->total++;
	if (!self_consistent(run, b, ours))
		report_inconsistent(run, b, ours);
	if ((ours > 0 && ours == cs_len) || (ours <= 0 && cs_len == 0)) {
		run->agree++;
		run->valid_agree += ours > 0;
		if (ours > 0)
			check_agreement(run, b, ours);
		return;
	}
	classify(run, b, ours, cs_len);
}

static bool run_open(struct run *run, bool code32)
{
	memset(run, 0, sizeof *run);
	run->code32 = code32;
	cs_mode mode = code32 ? CS_MODE_32 : CS_MODE_16;
	if (cs_open(CS_ARCH_X86, mode, &run->cs) != CS_ERR_OK)
		return false;
	if (cs_open(CS_ARCH_X86, mode, &run->cs_detail) != CS_ERR_OK) {
		cs_close(&run->cs);
		return false;
	}
	cs_option(run->cs_detail, CS_OPT_DETAIL, CS_OPT_ON);
	run->insn = cs_malloc(run->cs);
	run->report = g_string_new(NULL);
	run->dump = g_getenv("NESTLAB_DECODE_DUMP") != NULL;
	return true;
}

static void run_close(struct run *run)
{
	cs_free(run->insn, 1);
	cs_close(&run->cs);
	cs_close(&run->cs_detail);
	g_string_free(run->report, TRUE);
}

/* Runs SEQS_PER_MODE sequences in one mode; the seed depends on the mode only. */
static void run_mode(struct run *run)
{
	struct gen g = {.rng = {run->code32 ? 0x6e6573746c616232ull : 0x6e6573746c616231ull}};
	uint8_t b[MAX_INSN];
	for (uint32_t i = 0; i < SEQS_PER_MODE; i++) {
		gen_sequence(&g, b);
		run_one(run, b);
	}
}

/* }====================================================================== */

/* {====== tests and the Markdown table ====== */

static void test_capstone_mode(gconstpointer data)
{
	bool code32 = GPOINTER_TO_INT(data);
	struct run run;
	g_assert_true(run_open(&run, code32));
	quirks_reset();
	run_mode(&run);
	g_test_message("%s-bit: %" G_GUINT64_FORMAT " sequences, %" G_GUINT64_FORMAT
	               " agree (%" G_GUINT64_FORMAT " valid instructions), %" G_GUINT64_FORMAT
	               " explained by quirks, %" G_GUINT64_FORMAT " unexplained",
	               code32 ? "32" : "16", run.total, run.agree, run.valid_agree,
	               quirks_total(code32), run.unexplained);
	quirks_print_counts(code32);
	if (run.unexplained || run.self_bad)
		g_printerr("%" G_GUINT64_FORMAT " unexplained disagreements, %" G_GUINT64_FORMAT
		           " inconsistent decodes (first %d of each shown):\n%s",
		           run.unexplained, run.self_bad, MAX_REPORTED, run.report->str);
	g_assert_cmpuint(run.self_bad, ==, 0);
	g_assert_cmpuint(run.unexplained, ==, 0);
	run_close(&run);
}

/* docs/decoder-vs-capstone.md carries every rule with its reason as the
 * test prints it, so the document cannot drift from the table. */
static void test_capstone_doc(void)
{
	char *doc = NULL;
	GError *err = NULL;
	g_file_get_contents(DECODE_DOC, &doc, NULL, &err);
	g_assert_no_error(err);
	const char *missing = quirks_missing_from(doc);
	if (missing)
		g_test_message("rule `%s` is not in %s as `--print-quirks` prints it; "
		               "regenerate the table",
		               missing, DECODE_DOC);
	g_assert_null(missing);
	g_free(doc);
}

void decode_capstone_add_tests(void)
{
	g_test_add_data_func("/decode/capstone/16bit", GINT_TO_POINTER(0), test_capstone_mode);
	g_test_add_data_func("/decode/capstone/32bit", GINT_TO_POINTER(1), test_capstone_mode);
	g_test_add_func("/decode/capstone/doc", test_capstone_doc);
}

int decode_capstone_print_quirks(void)
{
	uint64_t total = 0, agree = 0, unexplained = 0;
	quirks_reset();
	for (int m = 0; m < 2; m++) {
		struct run run;
		if (!run_open(&run, m == 1))
			return 1;
		run_mode(&run);
		total += run.total;
		agree += run.agree;
		unexplained += run.unexplained + run.self_bad;
		fputs(run.report->str, stderr);
		run_close(&run);
	}
	quirks_print_markdown(total, agree, unexplained);
	return unexplained ? 1 : 0;
}

/* }====================================================================== */

#else /* !HAVE_CAPSTONE */

static void test_no_capstone(void)
{
	g_test_skip("Capstone was not found at configure time (install libcapstone-dev)");
}

void decode_capstone_add_tests(void)
{
	g_test_add_func("/decode/capstone/16bit", test_no_capstone);
	g_test_add_func("/decode/capstone/32bit", test_no_capstone);
}

int decode_capstone_print_quirks(void)
{
	fputs("test-decode: built without Capstone\n", stderr);
	return 1;
}

#endif
