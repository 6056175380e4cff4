/*
 * decode_guard.h - hand the decoder bytes that end at an unreadable page.
 *
 * cpu_decode() is told how many bytes it may read. guard_copy() places a
 * sequence so that its last byte is the last readable byte before a
 * PROT_NONE page: a decoder that reads further faults at once, and the
 * SIGSEGV handler names the sequence before the test dies.
 */
#ifndef NESTLAB_DECODE_GUARD_H
#define NESTLAB_DECODE_GUARD_H

#include <stddef.h>
#include <stdint.h>

/*
 * Copies b[0..n) (n <= 64) to the end of the guarded page and returns where
 * it now starts; valid until the next call. Maps the pages and installs the
 * handler on first use; aborts the test if the mapping fails.
 */
const uint8_t *guard_copy(const uint8_t *b, size_t n);

#endif
