/*
 * crc32c.c - CRC-32C (Castagnoli), the checksum of every header and
 * payload in snapshot and recording files.
 *
 * Why CRC-32C: it is well defined (RFC 3720, also ext4, Btrfs, SCTP),
 * detects every burst of up to 32 flipped bits and every odd number of
 * flips, and has published test vectors. zstd's XXH64 is not part of its
 * public API, so the container carries its own sum.
 *
 * Implementation: "slicing by 8" (eight 256-entry tables, eight input
 * bytes per step), built once on first use. The reflected polynomial
 * processes bytes least significant bit first, so a little-endian load
 * of eight bytes lines up with the table order on any host.
 */
#include <string.h>

#include "trcfile.h"

/* 0x1EDC6F41 with its bits reversed. */
#define CRC32C_POLY_REFLECTED 0x82f63b78u

static uint32_t table[8][256];

static void build_tables(void)
{
	for (uint32_t n = 0; n < 256; n++) {
		uint32_t c = n;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY_REFLECTED : c >> 1;
		table[0][n] = c;
	}
	for (uint32_t n = 0; n < 256; n++)
		for (int k = 1; k < 8; k++)
			table[k][n] = (table[k - 1][n] >> 8) ^ table[0][table[k - 1][n] & 0xff];
}

static uint32_t step8(uint32_t crc, const uint8_t *p)
{
	uint32_t lo, hi;
	memcpy(&lo, p, 4);
	memcpy(&hi, p + 4, 4);
	lo = GUINT32_FROM_LE(lo) ^ crc;
	hi = GUINT32_FROM_LE(hi);
	return table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
	       table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
	       table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
}

uint32_t trc_crc32c(uint32_t crc, const void *data, size_t len)
{
	static gsize ready;
	if (g_once_init_enter(&ready)) {
		build_tables();
		g_once_init_leave(&ready, 1);
	}
	const uint8_t *p = data;
	crc = ~crc;
	for (; len >= 8; len -= 8, p += 8)
		crc = step8(crc, p);
	for (; len; len--, p++)
		crc = (crc >> 8) ^ table[0][(crc ^ *p) & 0xff];
	return ~crc;
}
