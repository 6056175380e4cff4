/*
 * capstone_diff.h - what the decoder-vs-Capstone differential shares with
 * its quirk table (capstone_quirks.c).
 *
 * Built only when Capstone is available.
 */
#ifndef NESTLAB_CAPSTONE_DIFF_H
#define NESTLAB_CAPSTONE_DIFF_H

#include <stdbool.h>
#include <stdint.h>

#include <capstone/capstone.h>

#define MAX_INSN 15 /* the architectural length limit (Intel SDM Vol. 2, 2.3.11) */

enum { MAP_1, MAP_0F, MAP_0F38, MAP_0F3A };

/*
 * The test's own reading of a byte sequence, independent of the decoder:
 * the legacy prefixes, the opcode map and byte, and the byte after the
 * opcode read as ModRM (whether or not the opcode has one).
 */
struct parsed {
	int npfx; /* legacy prefix bytes before the opcode */
	bool lock, opsize, addrsize;
	uint8_t last_rep;  /* the last F2/F3 prefix, or 0 */
	bool rep_after_66; /* an F2/F3 prefix comes after a 66 */
	int map;
	uint8_t op;    /* opcode byte within its map */
	int op_end;    /* offset just past the opcode bytes */
	uint8_t modrm; /* the byte at op_end, 0 if past the buffer */
	int mod, reg, rm;
	bool complete; /* the opcode bytes fit in 15 bytes */
};

/* One 15-byte sequence in one mode with both verdicts. */
struct verdict {
	const uint8_t *b;
	bool code32;
	int ours;          /* cpu_decode(): length, or DECODE_UD/TOO_LONG/SHORT */
	int cs_len;        /* Capstone's length; 0 if it found no instruction */
	const cs_insn *ci; /* Capstone's decode with detail when cs_len > 0 */
	struct parsed p;
};

/* Fills *p from b[0..14]. Never fails: fields past the buffer stay zero. */
void diff_parse(const uint8_t *b, struct parsed *p);

/*
 * Bytes taken by the ModRM at b[at] with its SIB and displacement for the
 * given address size (Intel SDM Vol. 2, Tables 2-1 to 2-3), or -1 if the
 * ModRM or SIB lies past the 15-byte buffer.
 */
int diff_modrm_bytes(const uint8_t *b, int at, bool addr32);

/* {====== the quirk table (capstone_quirks.c) ====== */

/* Zeroes every rule's counts. */
void quirks_reset(void);

/* Counts *v under the first rule that explains it. Returns false if none does. */
bool quirks_classify(const struct verdict *v);

/* Disagreements explained in one mode (code32) so far. */
uint64_t quirks_total(bool code32);

/* Prints the non-zero counts of one mode through g_test_message(). */
void quirks_print_counts(bool code32);

/* Prints the rules with their counts and an example each, as Markdown. */
void quirks_print_markdown(uint64_t total, uint64_t agree, uint64_t unexplained);

/*
 * For a sequence both sides decode to the same length: true if Capstone
 * files it under an extension this CPU does not have (so nestlab should
 * have said #UD), the documented exceptions aside.
 */
bool quirks_extension_decoded(const struct verdict *v);

/* Returns the name of the first rule whose row (name and reason, as
 * quirks_print_markdown() writes them) is not in `doc`, or NULL. */
const char *quirks_missing_from(const char *doc);

/* }====================================================================== */

#endif
