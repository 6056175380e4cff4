/*
 * nestlab.h - the engine's public API for front ends (nestlab-run, the GUI,
 * the Lua binding, tests).
 *
 * A machine is built from a struct machine_config, run with machine_run()
 * (or one instruction at a time with machine_step()), and looked at through
 * the accessors below. Errors a user can cause (a missing ROM file, a bad
 * size) come back as a GError in plain words; nothing a guest does can crash
 * the host.
 *
 * The board today is the minimal test board of docs/board.md: RAM at 0, an
 * optional ROM at the top of the 4 GiB space (aliased below 1 MiB), the
 * debug console on port 0xE9, the exit port 0xF4 and a POST port.
 */
#ifndef NESTLAB_H
#define NESTLAB_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* {====== errors ====== */

/* Errors of the engine's own; file problems use G_FILE_ERROR. */
#define NESTLAB_ERROR (nestlab_error_quark())
GQuark nestlab_error_quark(void);

enum nestlab_error {
	NESTLAB_ERROR_CONFIG,   /* a machine that cannot be built (size, port) */
	NESTLAB_ERROR_ROM_SIZE, /* a ROM image that is not 64 or 128 KiB */
	NESTLAB_ERROR_STATE,    /* a saved state that does not fit this build */
	NESTLAB_ERROR_KERNEL,   /* a kernel image that cannot be loaded */
	NESTLAB_ERROR_DISK,     /* a disk image that cannot be used */
};

/* {====== building a machine ====== */

#define MACHINE_MEM_DEFAULT_MIB 32u
#define MACHINE_MEM_MAX_MIB 3072u
#define MACHINE_POST_PORT_DEFAULT 0x80u

/* Receives what the guest writes to the debug console (port 0xE9). */
typedef void (*machine_console_fn)(void *opaque, const uint8_t *buf, size_t len);

struct machine_config {
	uint32_t mem_mib;          /* RAM at physical 0, in MiB; 0 means 32 */
	const char *rom_path;      /* ROM image file (64 or 128 KiB), or NULL */
	GBytes *rom;               /* or the image itself; wins over rom_path */
	uint16_t post_port;        /* POST port; 0 means 0x80 */
	machine_console_fn console; /* NULL: console bytes go to stdout */
	void *console_opaque;
};

struct machine;

/*
 * Builds a powered-on machine (CPU at its reset vector). Returns NULL and
 * sets `error` if the ROM cannot be read (G_FILE_ERROR), has the wrong size
 * (NESTLAB_ERROR_ROM_SIZE) or the configuration is impossible
 * (NESTLAB_ERROR_CONFIG). Free with machine_free().
 */
struct machine *machine_new(const struct machine_config *cfg, GError **error);
void machine_free(struct machine *m);

/* {====== running ====== */

/* Why machine_run() or machine_step() returned. */
enum machine_stop {
	MACHINE_EXIT,     /* the guest wrote the exit port: see machine_exit_status() */
	MACHINE_SHUTDOWN, /* triple fault or shutdown: see machine_shutdown_reason() */
	MACHINE_HALT,     /* HLT with nothing on the board that could wake the CPU */
	MACHINE_LIMIT,    /* ran the number of instructions asked for */
	MACHINE_STOPPED,  /* machine_request_stop() was called */
	MACHINE_BREAK,    /* a debug hook asked to stop */
};

/*
 * Runs until the guest stops or `max_insns` more instructions have retired
 * (0: no limit). Calling it again after MACHINE_EXIT, MACHINE_SHUTDOWN or
 * MACHINE_HALT returns the same reason at once.
 */
enum machine_stop machine_run(struct machine *m, uint64_t max_insns);

/* Runs exactly one instruction (or delivers one pending event). Returns
 * MACHINE_LIMIT when the machine can go on. */
enum machine_stop machine_step(struct machine *m);

/* Makes a running machine_run() return MACHINE_STOPPED soon. Safe to call
 * from a signal handler or another thread. */
void machine_request_stop(struct machine *m);

/* A short English name of a stop reason ("exit", "triple fault", ...). */
const char *machine_stop_name(enum machine_stop s);

/* {====== looking at it ====== */

/* True once the guest wrote the exit port; *status gets (V << 1) | 1. */
bool machine_exit_status(const struct machine *m, int *status);

/* The last value written to the POST port, or -1 if none was. */
int64_t machine_post_code(const struct machine *m);

/* Why the CPU shut down ("triple fault", ...), or NULL if it did not. */
const char *machine_shutdown_reason(const struct machine *m);

/* A snapshot of the registers a trace or a debugger shows. */
struct machine_regs {
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t eip, eflags;
	uint16_t cs, ss, ds, es, fs, gs;
	uint32_t cr0, cr2, cr3, cr4;
	uint8_t cpl;
	uint64_t icount; /* retired instructions since power-on */
	uint64_t cycles; /* icount plus modelled costs */
};

void machine_get_regs(struct machine *m, struct machine_regs *r);

/* Copies to or from guest physical memory as a loader or debugger would
 * (writes reach RAM only; reads see ROM, and 0xff where nothing is mapped). */
void machine_phys_write(struct machine *m, uint32_t paddr, const void *buf, size_t len);
void machine_phys_read(struct machine *m, uint32_t paddr, void *buf, size_t len);

#endif
