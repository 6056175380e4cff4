/*
 * gdbstub.h - the gdb remote serial protocol stub (trc_gdb_*).
 *
 * gdb talks to nestlab the way it talks to a board over a serial line or to
 * QEMU: packets of the remote serial protocol over a TCP connection
 * (docs/gdb.md for the user's side). This module is the protocol only. The
 * machine it debugs is an abstract target: a table of functions
 * (struct trc_gdb_target_ops) plus an opaque pointer, so the same stub
 * serves the real machine with its recorded history and the small fake
 * target of the tests.
 *
 *   gdb --TCP--> trc_gdb (framing, acks, packets, target.xml, monitor)
 *                   |
 *                   +--> ops->get_regs / set_reg      registers
 *                   +--> ops->read_mem / write_mem    memory, virtual or physical
 *                   +--> ops->insert_point / remove_point   breakpoints, watchpoints
 *                   +--> ops->resume                  step, continue, and backwards
 *                   +--> ops->monitor                 the target's own monitor commands
 *
 * A session: trc_gdb_listen() opens a listening socket, trc_gdb_accept()
 * waits for gdb, trc_gdb_serve() answers packets until gdb detaches, kills
 * or hangs up, and returns which. Everything runs on the caller's thread;
 * the stub has no thread and no timer of its own. While the target runs
 * (inside ops->resume), it calls trc_gdb_poll_interrupt() every so often;
 * when that returns true (the user pressed Ctrl-C, or gdb went away), the
 * target stops at an instruction boundary and reports TRC_GDB_STOP_INTERRUPT.
 *
 * The target seen by gdb is an i386 (target.xml: architecture i386, feature
 * org.gnu.gdb.i386.core). gdb's i386 code requires the x87 registers in that
 * feature; the stub reports them unavailable (the CPU has no FPU yet) and
 * refuses writes to them. The control registers are in a feature of their
 * own, org.nestlab.i386.sys (cr0, cr2, cr3, cr4). Remote register numbers:
 *
 *   0-7    eax ecx edx ebx esp ebp esi edi
 *   8-9    eip eflags
 *   10-15  cs ss ds es fs gs
 *   16-23  st0-st7          (x87, unavailable)
 *   24-31  fctrl fstat ftag fiseg fioff foseg fooff fop (x87, unavailable)
 *   32-35  cr0 cr2 cr3 cr4
 *
 * Addresses in m, M, X and Z packets are virtual: linear addresses (gdb
 * knows no segments), translated through the current page tables when
 * paging is on. The stub's `monitor phys` commands reach physical memory
 * (read_mem/write_mem with phys = true).
 *
 * Robustness: packets longer than TRC_GDB_PACKET_SIZE are consumed to their
 * end and answered with an error; bad checksums get a `-`; bad hex, missing
 * fields, huge lengths and unknown registers get `E` replies; unknown
 * packets get the empty reply. Nothing a peer sends can make the stub read
 * or write outside its buffers.
 */
#ifndef NESTLAB_GDBSTUB_H
#define NESTLAB_GDBSTUB_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest packet the stub accepts (data between `$` and `#`, before
 * run-length expansion), advertised to gdb as PacketSize. */
#define TRC_GDB_PACKET_SIZE 4096u

/* The most bytes one m, M or X packet may move: a hex reply of this many
 * bytes fills a packet. */
#define TRC_GDB_MEM_MAX (TRC_GDB_PACKET_SIZE / 2u)

/* The most bytes one `monitor phys read` prints. */
#define TRC_GDB_PHYS_READ_MAX 256u

/* Signal numbers of gdb's protocol (gdb/signals.def), used in stop replies. */
#define TRC_GDB_SIGINT 2u
#define TRC_GDB_SIGILL 4u
#define TRC_GDB_SIGTRAP 5u
#define TRC_GDB_SIGSEGV 11u

/* The integer registers a target provides, in gdb's i386 order. */
enum trc_gdb_reg {
	TRC_GDB_EAX,
	TRC_GDB_ECX,
	TRC_GDB_EDX,
	TRC_GDB_EBX,
	TRC_GDB_ESP,
	TRC_GDB_EBP,
	TRC_GDB_ESI,
	TRC_GDB_EDI,
	TRC_GDB_EIP,
	TRC_GDB_EFLAGS,
	TRC_GDB_CS,
	TRC_GDB_SS,
	TRC_GDB_DS,
	TRC_GDB_ES,
	TRC_GDB_FS,
	TRC_GDB_GS,
	TRC_GDB_CR0,
	TRC_GDB_CR2,
	TRC_GDB_CR3,
	TRC_GDB_CR4,
	TRC_GDB_NREGS
};

struct trc_gdb_regs {
	uint32_t r[TRC_GDB_NREGS]; /* indexed by enum trc_gdb_reg */
};

/* A breakpoint or watchpoint (Z/z packet types 0-4). */
enum trc_gdb_point {
	TRC_GDB_SW_BREAK,    /* Z0: an instruction breakpoint gdb calls software */
	TRC_GDB_HW_BREAK,    /* Z1: an instruction breakpoint gdb calls hardware */
	TRC_GDB_WATCH_WRITE, /* Z2: stop after a write to [addr, addr+len) */
	TRC_GDB_WATCH_READ,  /* Z3: stop after a read */
	TRC_GDB_WATCH_ACCESS /* Z4: stop after a read or a write */
};

enum trc_gdb_resume {
	TRC_GDB_STEP,             /* s, vCont;s: one instruction */
	TRC_GDB_CONTINUE,         /* c, vCont;c: until something stops it */
	TRC_GDB_REVERSE_STEP,     /* bs: undo the last instruction */
	TRC_GDB_REVERSE_CONTINUE, /* bc: back to the previous breakpoint or watchpoint hit */
};

enum trc_gdb_stop_kind {
	TRC_GDB_STOP_SIGNAL,        /* `signal` (a step ends with TRC_GDB_SIGTRAP) */
	TRC_GDB_STOP_SW_BREAK,      /* a Z0 breakpoint; EIP is its address */
	TRC_GDB_STOP_HW_BREAK,      /* a Z1 breakpoint; EIP is its address */
	TRC_GDB_STOP_WATCH,         /* a watchpoint: `watch` and `data_addr` */
	TRC_GDB_STOP_HISTORY_BEGIN, /* reverse execution reached the start of the recording */
	TRC_GDB_STOP_HISTORY_END,   /* replay reached the end of the recording */
	TRC_GDB_STOP_EXITED,        /* the guest ended the run with `status` */
	TRC_GDB_STOP_INTERRUPT,     /* trc_gdb_poll_interrupt() said stop */
};

/* Why the target stopped, filled by ops->resume. */
struct trc_gdb_stop {
	enum trc_gdb_stop_kind kind;
	unsigned signal;          /* TRC_GDB_STOP_SIGNAL: gdb signal number */
	enum trc_gdb_point watch; /* TRC_GDB_STOP_WATCH: WATCH_WRITE, _READ or _ACCESS */
	uint32_t data_addr;       /* TRC_GDB_STOP_WATCH: the address the access touched */
	unsigned status;          /* TRC_GDB_STOP_EXITED: exit status, 0-255 */
};

struct trc_gdb;

/*
 * What the stub asks of the machine it debugs. `opaque` is the pointer given
 * to trc_gdb_serve(). Functions that can fail return false; the stub turns
 * that into an `E` reply and the session goes on. Any function may be NULL:
 * the stub then answers as a target without that feature (an empty reply for
 * insert_point, an error for writes).
 */
struct trc_gdb_target_ops {
	/* All registers of enum trc_gdb_reg, at the current stop. */
	void (*get_regs)(void *opaque, struct trc_gdb_regs *regs);
	/* Set one register; false if the target refuses the value. */
	bool (*set_reg)(void *opaque, enum trc_gdb_reg reg, uint32_t value);
	/* Copy len bytes at addr (virtual, or physical when phys); false if any
	 * byte is not mapped. len is at most TRC_GDB_MEM_MAX. */
	bool (*read_mem)(void *opaque, uint32_t addr, void *buf, size_t len, bool phys);
	bool (*write_mem)(void *opaque, uint32_t addr, const void *buf, size_t len, bool phys);
	/* Add or remove a breakpoint (len is gdb's kind, 1 on i386) or a
	 * watchpoint on [addr, addr+len); false if not possible. */
	bool (*insert_point)(void *opaque, enum trc_gdb_point kind, uint32_t addr, uint32_t len);
	bool (*remove_point)(void *opaque, enum trc_gdb_point kind, uint32_t addr, uint32_t len);
	/*
	 * Run as `how` says and fill *stop. While running, call
	 * trc_gdb_poll_interrupt(stub) every so often (a few thousand
	 * instructions apart is fine). What gdb expects of the stop:
	 *  - a resume never stops at a breakpoint at the EIP it starts from
	 *    (it executes, or undoes, one instruction first);
	 *  - at a breakpoint, EIP is the breakpoint's address (no int3 byte is
	 *    ever in guest memory; gdb does not adjust the PC);
	 *  - forward, a watchpoint stops after the instruction that made the
	 *    access; backward, after undoing it (EIP at that instruction);
	 *  - STEP ends with TRC_GDB_STOP_SIGNAL, signal TRC_GDB_SIGTRAP, unless
	 *    something else (a watchpoint, an exit, a fault) ends it;
	 *  - a reverse resume with no history left stops at once with
	 *    TRC_GDB_STOP_HISTORY_BEGIN; forward replay that reaches the end
	 *    of a recording it may not leave stops with _HISTORY_END.
	 */
	void (*resume)(void *opaque, struct trc_gdb *stub, enum trc_gdb_resume how,
	               struct trc_gdb_stop *stop);
	/* A `monitor CMD` the stub does not know itself: append the output to
	 * *out and return true, or return false if the command is unknown.
	 * For `help`, append one line per command. */
	bool (*monitor)(void *opaque, const char *cmd, GString *out);
	/* Several CPUs, gdb's threads 1 .. n as QEMU's stub shows them (all
	 * three NULL: one thread). How many there are; the CPU (0-based) the
	 * last stop happened on, which a stop makes the selected one; and
	 * selecting CPU i for the registers and memory that follow (Hg).
	 * Resuming runs the whole machine, every CPU in its turns. */
	unsigned (*threads)(void *opaque);
	unsigned (*stop_thread)(void *opaque);
	bool (*select_thread)(void *opaque, unsigned i);
};

/* Why trc_gdb_serve() returned. */
enum trc_gdb_end {
	TRC_GDB_END_DETACH,     /* D: gdb detached; the machine may run on */
	TRC_GDB_END_KILL,       /* k or vKill: gdb asked to end the run */
	TRC_GDB_END_DISCONNECT, /* the connection closed or failed */
};

/* Errors of trc_gdb_listen() and trc_gdb_accept(). */
#define TRC_GDB_ERROR (trc_gdb_error_quark())
GQuark trc_gdb_error_quark(void);

enum trc_gdb_error {
	TRC_GDB_ERROR_ADDRESS, /* the host name does not resolve to an IPv4 address */
	TRC_GDB_ERROR_SOCKET,  /* socket, bind, listen or accept failed (message says why) */
};

/*
 * Listen on host:port (host NULL means 127.0.0.1; port 0 lets the system
 * pick a free port, see trc_gdb_port()). Prints nothing. Returns a stub
 * with no connection yet, or NULL and *err (TRC_GDB_ERROR_*) when the
 * address is bad or taken. Free with trc_gdb_free().
 */
struct trc_gdb *trc_gdb_listen(const char *host, uint16_t port, GError **err);

/* The TCP port the stub listens on (the one picked when 0 was asked), or 0
 * for a stub made by trc_gdb_new_fd(). */
uint16_t trc_gdb_port(const struct trc_gdb *stub);

/*
 * Wait for gdb to connect. Returns true with the connection in place
 * (closing any earlier one), false and *err when accept fails.
 */
bool trc_gdb_accept(struct trc_gdb *stub, GError **err);

/*
 * A stub on an already connected stream socket (a socketpair in tests).
 * The stub owns fd and closes it in trc_gdb_free(). Never fails.
 */
struct trc_gdb *trc_gdb_new_fd(int fd);

/* Close the connection and the listening socket, free the stub. NULL is fine. */
void trc_gdb_free(struct trc_gdb *stub);

/*
 * Run one gdb session on the current connection: answer packets, calling
 * ops on opaque, until gdb detaches (D), kills (k, vKill) or the connection
 * ends. Returns which. Breakpoints and watchpoints the session inserted
 * and did not remove are removed (ops->remove_point) before it returns, so
 * a dropped connection leaves none behind. The connection is closed, so
 * the caller may trc_gdb_accept() the next one. Each session starts in
 * ack mode.
 */
enum trc_gdb_end trc_gdb_serve(struct trc_gdb *stub, const struct trc_gdb_target_ops *ops,
	                       void *opaque);

/* trc_gdb_new_fd() + trc_gdb_serve() + trc_gdb_free(): one session on fd,
 * which is closed afterwards. */
enum trc_gdb_end trc_gdb_serve_fd(int fd, const struct trc_gdb_target_ops *ops, void *opaque);

/*
 * For the target, during ops->resume: true if gdb asked to stop (the
 * interrupt byte 0x03 arrived) or the connection went away. Never blocks.
 * Packets that arrive meanwhile stay queued for after the stop.
 */
bool trc_gdb_poll_interrupt(struct trc_gdb *stub);

/* "detach", "kill" or "disconnect". */
const char *trc_gdb_end_name(enum trc_gdb_end end);

#endif
