/*
 * debugport.h - the board's debug ports, as QEMU and Bochs provide them:
 *
 *   0xE9        console: each byte written goes to the host (stdout or a
 *               sink); a read gives 0xE9, so a guest can detect the port
 *   0xF4..0xF7  exit: a write of V ends the run with status (V << 1) | 1
 *               (QEMU's isa-debug-exit), so 0 means success -> status 1
 *   POST port   (0x80 unless configured): the last value written is kept,
 *               for the host to report when the run ends
 */
#ifndef NESTLAB_DEBUGPORT_H
#define NESTLAB_DEBUGPORT_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ioport.h"

#define DEBUGPORT_CONSOLE 0xe9
#define DEBUGPORT_CONSOLE_ID 0xe9 /* what a read of the console port returns */
#define DEBUGPORT_EXIT 0xf4
#define DEBUGPORT_EXIT_SIZE 4
#define DEBUGPORT_POST_DEFAULT 0x80

/* Where console bytes go. */
typedef void (*dev_console_sink_fn)(void *opaque, const uint8_t *buf, size_t len);
/* Called once when the guest writes the exit port (the machine stops the CPU). */
typedef void (*dev_exit_fn)(void *opaque, int status);

struct dev_debugport;

/*
 * Creates the device and claims its ports on `io`. `post_port` selects the
 * POST port. Returns NULL with an error if a port is already taken (for
 * instance a POST port inside the console or exit range).
 */
struct dev_debugport *dev_debugport_new(struct ioport_map *io, uint16_t post_port,
                                        GError **error);
void dev_debugport_free(struct dev_debugport *d);

/* Sends console output to `sink` instead of stdout (NULL: back to stdout). */
void dev_debugport_set_sink(struct dev_debugport *d, dev_console_sink_fn sink, void *opaque);
void dev_debugport_set_exit_handler(struct dev_debugport *d, dev_exit_fn fn, void *opaque);

/* Flushes console output still buffered for stdout. */
void dev_debugport_flush(struct dev_debugport *d);

/* True once the guest wrote the exit port; *status gets (V << 1) | 1. */
bool dev_debugport_exited(const struct dev_debugport *d, int *status);
/* Snapshots: the guest-visible state (exited, its status, the POST code). */
void dev_debugport_get_state(const struct dev_debugport *d, bool *exited, int *status, int64_t *post);
void dev_debugport_set_state(struct dev_debugport *d, bool exited, int status, int64_t post);

/* The last value written to the POST port, or -1 if none was. */
int64_t dev_debugport_post(const struct dev_debugport *d);

#endif
