/*
 * chardev.h - the host end of a serial line.
 *
 * A chardev is what a UART's wire is plugged into on the host: bytes the
 * guest transmits come out here (chardev_write) and go to stdout, a file,
 * memory or nowhere; bytes for the guest wait in an input queue until the
 * UART's receiver takes them one character time after another.
 *
 *   kind     output goes to                          input comes from
 *   stdio    stdout (buffered; flushed at '\n')      chardev_push_input, chardev_poll_stdin
 *   file     a file, truncated when opened           chardev_push_input
 *   buffer   memory only                             chardev_push_input
 *   null     nowhere                                 chardev_push_input
 *
 * Whatever the kind, everything written is also kept in memory
 * (chardev_output) for scripts and tests. That copy is capped at
 * CHARDEV_OUTPUT_CAP bytes: when a write would pass the cap, the oldest
 * bytes are dropped so that the newest CHARDEV_OUTPUT_CAP - CHARDEV_OUTPUT_TRIM
 * to CHARDEV_OUTPUT_CAP bytes stay (trimming a chunk at a time keeps
 * long runs linear rather than moving 16 MiB per byte).
 *
 * The input queue is guest-visible state (what the guest will receive
 * next), so it is saved and restored with the machine (chardev_save,
 * chardev_restore). The output copy and the host file are not: they are
 * the host's record of the past.
 *
 * Not thread-safe: it belongs to the thread that runs the machine.
 */
#ifndef NESTLAB_CHARDEV_H
#define NESTLAB_CHARDEV_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHARDEV_OUTPUT_CAP (16u << 20)  /* bytes of output kept in memory */
#define CHARDEV_OUTPUT_TRIM (1u << 20)  /* dropped at once when the cap is reached */

struct chardev;

typedef void (*chardev_tee_fn)(void *opaque, const uint8_t *buf, size_t len);
typedef void (*chardev_notify_fn)(void *opaque);

/* Constructors; each returns a new chardev (free with chardev_free). */

/* Output to stdout, input from chardev_poll_stdin() (and pushes). */
struct chardev *chardev_new_stdio(void);
/* Output to the file at `path`, created or truncated. Returns NULL with a
 * NESTLAB_ERROR_CONFIG error naming the file and the reason if it cannot
 * be opened for writing. */
struct chardev *chardev_new_file(const char *path, GError **error);
/* Output kept in memory only. */
struct chardev *chardev_new_buffer(void);
/* Output discarded (but still kept in chardev_output). */
struct chardev *chardev_new_null(void);

/* Flushes and closes the host side; NULL is allowed. */
void chardev_free(struct chardev *c);

/* Guest -> host: `len` bytes the guest transmitted. Also calls the tee. */
void chardev_write(struct chardev *c, const uint8_t *buf, size_t len);

/* Everything written so far (the newest bytes, see CHARDEV_OUTPUT_CAP).
 * Owned by the chardev; valid until the next write or chardev_free. */
const GByteArray *chardev_output(const struct chardev *c);

/* `fn` (if not NULL) is also called with every write, after the host output. */
void chardev_set_tee(struct chardev *c, chardev_tee_fn fn, void *opaque);

/* Host -> guest: appends `len` bytes to the input queue and calls the
 * input notify function (once per push, if len > 0). */
void chardev_push_input(struct chardev *c, const uint8_t *buf, size_t len);

/* The next input byte (0-255) without taking it, or -1 if none. */
int chardev_input_peek(const struct chardev *c);
/* Takes and returns the next input byte, or -1 if none. */
int chardev_input_take(struct chardev *c);
/* The number of input bytes waiting. */
size_t chardev_input_pending(const struct chardev *c);

/* `fn` (if not NULL) is called after bytes are pushed: the UART uses it to
 * start its receiver. */
void chardev_set_input_notify(struct chardev *c, chardev_notify_fn fn, void *opaque);

/*
 * Moves the bytes available on stdin now (without blocking) into the input
 * queue, as a push. Only the stdio kind reads stdin; other kinds return
 * false at once. Returns false once stdin reached end of file or failed
 * (the caller stops polling), true otherwise.
 */
bool chardev_poll_stdin(struct chardev *c);

/* `fn` (if not NULL) is called with each chunk chardev_poll_stdin() read,
 * after it was pushed: the machine logs host input for recordings. */
void chardev_set_stdin_log(struct chardev *c, chardev_tee_fn fn, void *opaque);

/* Writes buffered output through to stdout or the file. */
void chardev_flush(struct chardev *c);

/* Appends the pending input (a small versioned blob) to `out`. */
void chardev_save(const struct chardev *c, GByteArray *out);
/* Replaces the input queue with one saved by chardev_save() from exactly
 * `len` bytes. On a malformed blob sets NESTLAB_ERROR_STATE, leaves the
 * queue unchanged and returns false. Does not call the notify function:
 * the device restores its own receiver state. */
bool chardev_restore(struct chardev *c, const uint8_t *buf, size_t len, GError **error);

#endif
