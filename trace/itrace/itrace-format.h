/*
 * itrace-format.h - the bytes of an instruction trace (docs/itrace.md),
 * shared by the writer and the reader.
 *
 * Block payload (before zstd):
 *   u8 'I', u8 version, u16 0, u32 steps, u64 first icount,
 *   u8 level, u8 cpl, u16 0, u32 reg[TRC_IR_COUNT]   (the state before)
 *   then the steps, each:
 *   head  u8   bits 0-3 EIP advance 1..15 (0: a varint delta follows)
 *              bit 4 GP mask follows, bit 5 EFLAGS, bit 6 writes, bit 7 ext
 *   [ext  u8]  bit 0 event, bit 1 segment mask, bit 2 CR mask,
 *              bit 3 level and cpl, bit 4 icount advance (else 1, 0 for events)
 *   [eip delta: zigzag varint]
 *   [GP: u8 mask, per set bit zigzag varint of new - old]
 *   [EFLAGS: varint of new ^ old]
 *   [segments: u8 mask, per set bit varint of the selector]
 *   [CRs: u8 mask (cr0 cr2 cr3 cr4), per set bit varint of new ^ old]
 *   [level u8, cpl u8] [icount advance: varint]
 *   [writes: varint count, each varint(zigzag(addr - next) << 3 | phys << 2
 *    | log2 size) and varint(value); `next` is the previous write's end]
 */
#ifndef NESTLAB_ITRACE_FORMAT_H
#define NESTLAB_ITRACE_FORMAT_H

#include <stdint.h>
#include <string.h>

#include "itrace.h"

#define ITRACE_MAGIC "NLITRACE"
#define ITRACE_VERSION 1
#define ITRACE_BLOCK_VERSION 1
#define ITRACE_BLOCK_HEAD (16 + 4 + 4 * TRC_IR_COUNT)

enum { IH_EIP = 0x0f, IH_GP = 0x10, IH_FLAGS = 0x20, IH_WRITES = 0x40, IH_EXT = 0x80 };
enum { IX_EVENT = 1, IX_SEG = 2, IX_CR = 4, IX_LEVEL = 8, IX_ICOUNT = 16 };

/* Head record: magic[8], u32 version, u32 block_len, then the start state
 * as in a block header (level, cpl, 0, regs) and u64 icount. */
#define ITRACE_HEAD_LEN (16 + 4 + 4 * TRC_IR_COUNT + 8)

/* Summary of one block: also what the reader keeps in memory. */
#define ITRACE_BLOOM_WORDS 16 /* 1024 bits */
struct itrace_sum {
	uint64_t first, end;   /* icount before the first step, after the last */
	uint32_t steps, record;
	uint32_t wmin, wmax;   /* written addresses (start of each write) */
	uint64_t wbloom[ITRACE_BLOOM_WORDS]; /* 4-byte granules written */
	uint64_t ebloom[ITRACE_BLOOM_WORDS]; /* EIPs of instructions */
};
#define ITRACE_SUM_LEN (8 + 8 + 4 + 4 + 4 + 4 + 16 * ITRACE_BLOOM_WORDS)

/* Three bit positions of 10 bits from one multiplicative hash. */
static inline void bloom_bits(uint64_t key, unsigned pos[3])
{
	uint64_t h = (key + 1) * 0x9e3779b97f4a7c15ull;
	pos[0] = (unsigned)(h >> 54);
	pos[1] = (unsigned)(h >> 44) & 1023;
	pos[2] = (unsigned)(h >> 34) & 1023;
}

static inline void bloom_add(uint64_t *b, uint64_t key)
{
	unsigned p[3];
	bloom_bits(key, p);
	for (int i = 0; i < 3; i++)
		b[p[i] >> 6] |= 1ull << (p[i] & 63);
}

static inline bool bloom_has(const uint64_t *b, uint64_t key)
{
	unsigned p[3];
	bloom_bits(key, p);
	for (int i = 0; i < 3; i++)
		if (!(b[p[i] >> 6] >> (p[i] & 63) & 1))
			return false;
	return true;
}

/* The granule key of address `a` (linear or physical). */
static inline uint64_t granule(uint32_t a, bool phys)
{
	return ((uint64_t)(a >> 2) << 1) | phys;
}

static inline void sum_add_write(struct itrace_sum *s, const struct trc_itrace_write *w)
{
	if (w->addr < s->wmin)
		s->wmin = w->addr;
	if (w->addr > s->wmax)
		s->wmax = w->addr;
	bloom_add(s->wbloom, granule(w->addr, w->phys));
	bloom_add(s->wbloom, granule(w->addr + w->size - 1, w->phys));
}

static inline uint32_t zigzag(int32_t v)
{
	return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
}

static inline int32_t unzigzag(uint32_t v)
{
	return (int32_t)(v >> 1) ^ -(int32_t)(v & 1);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t get_le64(const uint8_t *p)
{
	return get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* The state's fixed layout: level, cpl, 0, 0, regs. */
static inline void put_state(uint8_t *p, const struct trc_itrace_state *s)
{
	p[0] = s->level;
	p[1] = s->cpl;
	p[2] = p[3] = 0;
	for (int i = 0; i < TRC_IR_COUNT; i++)
		put_le32(p + 4 + 4 * i, s->reg[i]);
}

static inline void get_state(const uint8_t *p, struct trc_itrace_state *s)
{
	s->level = p[0];
	s->cpl = p[1];
	for (int i = 0; i < TRC_IR_COUNT; i++)
		s->reg[i] = get_le32(p + 4 + 4 * i);
}

#endif
