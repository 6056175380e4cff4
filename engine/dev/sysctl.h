/*
 * sysctl.h - System Control Port A (port 0x92, the "fast A20" port of PS/2
 * and later PCs):
 *
 *   bit 1   A20 gate: 1 lets address line 20 through, 0 forces it to 0
 *           (addresses wrap at 1 MiB as on an 8086)
 *   bit 0   fast reset: writing 1 resets the CPU (the bit reads back 0)
 *
 * Reads return the A20 bit. The device calls back into the machine, which
 * owns the CPU. The A20 gate of the 8042 keyboard controller comes with it.
 */
#ifndef NESTLAB_SYSCTL_H
#define NESTLAB_SYSCTL_H

#include <stdbool.h>
#include <stdint.h>

#include "ioport.h"

#define SYSCTL_PORT 0x92
#define SYSCTL_A20 0x02
#define SYSCTL_RESET 0x01

typedef void (*dev_a20_fn)(void *opaque, bool enabled);
typedef void (*dev_reset_fn)(void *opaque);

struct dev_sysctl;

/* Claims port 0x92 on `io`. Returns NULL if it is already taken. */
struct dev_sysctl *dev_sysctl_new(struct ioport_map *io, dev_a20_fn a20, dev_reset_fn reset,
                                  void *opaque);
void dev_sysctl_free(struct dev_sysctl *d);

#endif
