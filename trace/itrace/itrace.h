/*
 * itrace.h - the full instruction trace (docs/itrace.md): for every step of
 * the CPU (an instruction retired, or an event delivered) its level, EIP,
 * the registers it changed and the memory it wrote, in a file of the trace
 * container (trace/file) that can be queried backwards: "the previous
 * write to this address", "the previous time EIP was here".
 *
 * The steps are cut into blocks of N (16384 by default), each a zstd
 * record that starts from a full register state and so decodes alone. A
 * summary record written at the end gives each block's instruction counts
 * and Bloom filters of the addresses it wrote and the EIPs it ran, so a
 * backwards query decodes only blocks that may match. A trace cut short
 * (the process died) still reads: its summary is rebuilt from the blocks.
 *
 * The writer (itrace-write.c) knows nothing of machines but the glue
 * trc_itrace_attach(); the reader (itrace-read.c) needs only the container,
 * and trusts nothing in the file.
 */
#ifndef NESTLAB_ITRACE_H
#define NESTLAB_ITRACE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* Record types in the container (docs/trace-format.md). */
enum { TRC_ITRACE_HEAD = 0x20, TRC_ITRACE_BLOCK = 0x21, TRC_ITRACE_SUMMARY = 0x22 };

#define TRC_ITRACE_BLOCK_DEFAULT 16384u
#define TRC_ITRACE_BLOCK_MAX 1048576u

/* The register slots of a state, in this order. */
enum {
	TRC_IR_EAX, TRC_IR_ECX, TRC_IR_EDX, TRC_IR_EBX, TRC_IR_ESP, TRC_IR_EBP, TRC_IR_ESI,
	TRC_IR_EDI, TRC_IR_EIP, TRC_IR_EFLAGS, TRC_IR_CS, TRC_IR_SS, TRC_IR_DS, TRC_IR_ES,
	TRC_IR_FS, TRC_IR_GS, TRC_IR_CR0, TRC_IR_CR2, TRC_IR_CR3, TRC_IR_CR4, TRC_IR_COUNT
};

/* The names of the slots ("eax", ... "cr4"). */
extern const char *const trc_itrace_reg_names[TRC_IR_COUNT];

/* The machine's state after a step, as far as the trace follows it. */
struct trc_itrace_state {
	uint32_t reg[TRC_IR_COUNT];
	uint8_t level;  /* 0: the machine, 1: a VM of its monitor */
	uint8_t cpl;
	uint64_t icount; /* instructions retired */
};

/* One memory write: `size` bytes of `val` at `addr`, linear or physical. */
struct trc_itrace_write {
	uint32_t addr, val;
	uint8_t size;
	bool phys;
};

/* One decoded step. */
struct trc_itrace_step {
	uint64_t icount;   /* instructions retired before it: an instruction's number */
	uint32_t eip;      /* where it began */
	uint8_t level;     /* the level it ran at */
	bool event;        /* an event delivery, not an instruction */
	uint32_t changed;  /* bit per register slot the step changed */
	struct trc_itrace_state after;
	const struct trc_itrace_write *writes;
	unsigned n_writes;
};

/* {====== writing ====== */

struct trc_itrace_writer;
struct machine;

/* Creates the trace file `path` (a recording-kind container whose first
 * record says it is an instruction trace) with blocks of `block_len`
 * steps (0: the default), starting from `start`. NULL with `error` set if
 * the file cannot be created or block_len is above TRC_ITRACE_BLOCK_MAX. */
struct trc_itrace_writer *trc_itrace_create(const char *path, unsigned block_len,
                                            const struct trc_itrace_state *start, GError **error);
/* The same in memory (tests); trc_itrace_finish_bytes() returns the file. */
struct trc_itrace_writer *trc_itrace_create_memory(unsigned block_len,
                                                   const struct trc_itrace_state *start);

/* Reports a write of the step under way, then the step's end. Errors
 * (a full disk) are kept and returned by trc_itrace_finish(). */
void trc_itrace_add_write(struct trc_itrace_writer *w, uint32_t addr, uint32_t val, unsigned size,
                          bool phys);
void trc_itrace_add_step(struct trc_itrace_writer *w, const struct trc_itrace_state *after,
                         bool event);

/* Steps written so far. */
uint64_t trc_itrace_steps(const struct trc_itrace_writer *w);

/* Writes the last block, the summary, the index; frees `w` whatever
 * happens. False with `error` if anything failed since creation. */
bool trc_itrace_finish(struct trc_itrace_writer *w, GError **error);
GBytes *trc_itrace_finish_bytes(struct trc_itrace_writer *w, GError **error);

/* Connects the writer to machine `m` (machine_set_insn_observer) and
 * disconnects it (do so before trc_itrace_finish and machine_free).
 * trc_itrace_state_of() reads the machine's state without side effects. */
bool trc_itrace_attach(struct trc_itrace_writer *w, struct machine *m, GError **error);
void trc_itrace_detach(struct machine *m);
void trc_itrace_state_of(struct machine *m, struct trc_itrace_state *out);

/* }====== */

/* {====== reading and queries ====== */

struct trc_itrace_reader;

/* Opens a trace. NULL with `error` (TRC_FILE_ERROR) when the file is not
 * a nestlab file, not an instruction trace, or its first block is damaged.
 * A file cut short opens with the blocks before the damage; see
 * trc_itrace_warning(). */
struct trc_itrace_reader *trc_itrace_open(const char *path, GError **error);
struct trc_itrace_reader *trc_itrace_open_bytes(GBytes *bytes, const char *name, GError **error);
void trc_itrace_close(struct trc_itrace_reader *r);

struct trc_itrace_info {
	uint64_t steps;        /* steps in the readable blocks */
	uint64_t first_icount, end_icount; /* icount at the start and after the last step */
	unsigned blocks, block_len;
	uint64_t file_bytes;
	bool complete;         /* finished with its summary */
};
void trc_itrace_get_info(const struct trc_itrace_reader *r, struct trc_itrace_info *out);
/* NULL, or a sentence saying what is missing or damaged. */
const char *trc_itrace_warning(const struct trc_itrace_reader *r);
/* The state the trace starts from. */
const struct trc_itrace_state *trc_itrace_start(const struct trc_itrace_reader *r);

/* Calls fn for the steps from the first whose icount is >= `from`, at most
 * `max` of them (0: all), in order; fn returns false to stop. The step is
 * valid during the call only. False with `error` if a block is damaged. */
typedef bool (*trc_itrace_step_fn)(void *opaque, const struct trc_itrace_step *s);
bool trc_itrace_foreach(struct trc_itrace_reader *r, uint64_t from, uint64_t max,
                        trc_itrace_step_fn fn, void *opaque, GError **error);

/* What a query found. */
struct trc_itrace_hit {
	uint64_t icount;
	uint32_t eip;
	uint8_t level;
	bool event;
	struct trc_itrace_write write; /* prev_write: the write that covered the address */
	uint8_t byte;                   /* ... and the byte it left at the address */
};

/* The last write covering `addr` (linear, or physical with `phys`) made
 * by a step whose icount is < `before`. 1: found (*hit filled), 0: none,
 * -1: a damaged block (`error` set). */
int trc_itrace_prev_write(struct trc_itrace_reader *r, uint32_t addr, bool phys, uint64_t before,
                          struct trc_itrace_hit *hit, GError **error);
/* The last instruction (not event) at `eip` whose icount is < `before`. */
int trc_itrace_prev_eip(struct trc_itrace_reader *r, uint32_t eip, uint64_t before,
                        struct trc_itrace_hit *hit, GError **error);
/* Blocks decoded so far (to see how many a query skipped). */
uint64_t trc_itrace_blocks_decoded(const struct trc_itrace_reader *r);

/* }====== */

#endif
