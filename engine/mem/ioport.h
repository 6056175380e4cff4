/*
 * ioport.h - the port I/O space (64 Ki ports) and its dispatch to devices.
 *
 * A device claims a range of ports with one read and one write handler. An
 * access goes to the device that owns its first port, with the port and the
 * size (1, 2 or 4), as an ISA bus would route it. Ports nobody owns read as
 * all-ones (the floating bus) and ignore writes.
 */
#ifndef NESTLAB_IOPORT_H
#define NESTLAB_IOPORT_H

#include <stdbool.h>
#include <stdint.h>

typedef uint32_t (*ioport_read_fn)(void *opaque, uint16_t port, int size);
typedef void (*ioport_write_fn)(void *opaque, uint16_t port, uint32_t val, int size);

struct ioport_map;

/* An empty port space. Aborts on OOM. */
struct ioport_map *ioport_new(void);
void ioport_free(struct ioport_map *io);

/*
 * Gives ports [base, base + count) to a device. Either handler may be NULL
 * (reads then give all-ones, writes are ignored). Returns false, and changes
 * nothing, if the range wraps past 0xFFFF or overlaps a claimed port.
 */
bool ioport_claim(struct ioport_map *io, uint16_t base, uint32_t count, ioport_read_fn rd,
                  ioport_write_fn wr, void *opaque);

/* Returns true if some device owns `port`. */
bool ioport_claimed(const struct ioport_map *io, uint16_t port);

/* Port accesses of 1, 2 or 4 bytes, as the CPU's IN/OUT make them. */
uint32_t ioport_read(struct ioport_map *io, uint16_t port, int size);
void ioport_write(struct ioport_map *io, uint16_t port, uint32_t val, int size);

#endif
