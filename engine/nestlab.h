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
 * The board is a PC (docs/board.md): RAM at 0 with the 640 KiB - 1 MiB hole,
 * an optional ROM at the top of the 4 GiB space (aliased below 1 MiB), the
 * 8259A pair, the 8254 PIT, two 16550A UARTs, the CMOS clock, the 8042 and
 * its keyboard, VGA text, a local APIC and an IOAPIC, IDE on the primary
 * channel, and the debug ports (console 0xE9, exit 0xF4, POST). It boots a
 * reset-vector ROM, a multiboot kernel or a flat binary. Everything runs on
 * one deterministic clock (engine/clock.h): the same configuration and the
 * same inputs give the same run, instruction for instruction.
 */
#ifndef NESTLAB_H
#define NESTLAB_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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
	NESTLAB_ERROR_DISK_READONLY, /* ',writeback' asked for a read-only disk image */
};

/* {====== building a machine ====== */

#define MACHINE_MEM_DEFAULT_MIB 32u
#define MACHINE_MEM_MAX_MIB 3072u
#define MACHINE_POST_PORT_DEFAULT 0x80u
#define MACHINE_RTC_EPOCH_DEFAULT 946684800 /* 2000-01-01 00:00:00 UTC */
#define MACHINE_MAX_DISKS 2
#define MACHINE_MAX_MODULES 16
#define MACHINE_SERIAL_PORTS 2
#define MACHINE_MAX_CPUS 16          /* --smp: APIC IDs 0 .. 15 */
#define MACHINE_SMP_QUANTUM_DEFAULT 1000u /* instructions of a CPU's turn (docs/board.md) */
#define MACHINE_SMP_QUANTUM_MAX 100000000u

/* Receives what the guest writes to the debug console (port 0xE9). */
typedef void (*machine_console_fn)(void *opaque, const uint8_t *buf, size_t len);

/* Where a serial port's host side goes. */
enum machine_serial_kind {
	MACHINE_SERIAL_BUFFER, /* kept in memory only (machine_serial_output) */
	MACHINE_SERIAL_STDOUT, /* stdout, no input */
	MACHINE_SERIAL_STDIO,  /* stdout; stdin feeds its input (interactive) */
	MACHINE_SERIAL_FILE,   /* written to `path` (truncated) */
	MACHINE_SERIAL_NONE,   /* discarded */
};

struct machine_serial {
	enum machine_serial_kind kind;
	const char *path;
};

/* A disk on the primary IDE channel. */
struct machine_disk {
	const char *path;
	bool slave;     /* else master */
	bool writeback; /* write to the file itself instead of a copy-on-write overlay */
};

/* A multiboot module: a file and the string the kernel sees with it. */
struct machine_module {
	const char *path;
	const char *args; /* or NULL */
};

/* How the guest runs (docs/monitor.md). */
enum machine_monitor {
	MACHINE_MONITOR_NONE,    /* the PC runs the guest itself */
	MACHINE_MONITOR_SHADOW,  /* trap-and-emulate, shadow page tables */
	MACHINE_MONITOR_NESTED,  /* trap-and-emulate, nested paging */
};

/* One more VM beside the first (--vm): a multiboot kernel with its own RAM
 * share and its own PC devices, under the same monitor. */
struct machine_vm_config {
	const char *name;          /* short, unique: "vm1", "dev" */
	const char *kernel_path;
	const char *cmdline;       /* or NULL */
	uint32_t mem_mib;          /* 0 means 32 */
	const struct machine_disk *disks;
	int n_disks;
	struct machine_serial com1; /* where its COM1 goes (zeroed: a buffer, see machine_vm_console) */
};

#define MACHINE_MAX_VMS 8

struct machine_config {
	uint32_t mem_mib;          /* RAM at physical 0, in MiB; 0 means 32 */
	const char *rom_path;      /* ROM image file (64 or 128 KiB), or NULL */
	GBytes *rom;               /* or the image itself; wins over rom_path */
	const char *kernel_path;   /* a multiboot kernel (ELF or a.out kludge), or NULL */
	const char *cmdline;       /* its command line, or NULL */
	const struct machine_module *modules;
	int n_modules;
	const char *flat_path;     /* a flat binary entered in 32-bit protected mode, or NULL */
	uint32_t flat_addr;        /* ... loaded and entered here */
	const struct machine_disk *disks;
	int n_disks;
	struct machine_serial serial[MACHINE_SERIAL_PORTS]; /* COM1, COM2 (zeroed: buffer) */
	int64_t rtc_epoch;         /* CMOS clock at power-on, Unix seconds; 0: the default */
	uint16_t post_port;        /* POST port; 0 means 0x80 */
	bool uart_out2_gate;       /* the UARTs' interrupts pass the PC/AT MCR OUT2 gate
	                              (false: INTR drives the line, as on QEMU; uart16550.h) */
	machine_console_fn console; /* NULL: console bytes go to stdout */
	void *console_opaque;
	bool console_quiet;         /* debug console bytes are only logged, not printed */
	enum machine_monitor monitor; /* how the guest runs: bare (default) or under a monitor */
	bool faithful_i386;         /* under a monitor: strict mode off, a real i386 */
	bool assist;                /* the CPU offers the assist, its run-guest operation (docs/cpu.md):
	                             * bare, or virtualized by the monitor (nested paging only) */
	const char *cpu;            /* CPU model "MODEL[,+flag|-flag]..." (docs/cpu.md); NULL: the default */
	bool pc_testdev;            /* QEMU's pc-testdev, as kvm-unit-tests use it (engine/dev/pctestdev.h) */
	const struct machine_vm_config *vms; /* more VMs beside the first (needs a monitor) */
	int n_vms;
	uint32_t n_cpus;            /* CPUs (--smp), 1 .. MACHINE_MAX_CPUS; 0 means 1. More than
	                             * one: bare only, for now (docs/board.md, "Several CPUs") */
	uint32_t smp_quantum;       /* instructions per CPU turn; 0: MACHINE_SMP_QUANTUM_DEFAULT */
};

struct machine;

/* CPU models (docs/cpu.md): `--cpu help`'s text, and whether a model
 * spec "MODEL[,+flag|-flag]..." names one (false: a GError naming the
 * models or flags there are). */
void machine_cpu_help(FILE *out);
bool machine_cpu_check(const char *spec, GError **error);

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

/* {====== several CPUs (--smp) ======
 *
 * The CPUs take turns on the one host thread, CPU 0 first, each for the
 * configured quantum of its own instructions (less when it halts or waits
 * for a start-up IPI); the machine's clock runs on through every turn, so
 * time is the sum of all the CPUs' cycles. machine_run()'s count and the
 * icount of machine_get_regs() are the machine's: the sum over its CPUs.
 * The registers machine_get_regs() and the debugger see are those of the
 * selected CPU: the one whose turn it is, unless machine_select_cpu()
 * chose another. */

/* Number of CPUs (1 for a machine without --smp). */
unsigned machine_cpu_count(const struct machine *m);
/* The CPU whose turn it is (0 .. count-1). */
unsigned machine_current_cpu(const struct machine *m);
/* Makes machine_get_regs(), machine_set_reg() and the memory views
 * (machine_translate, machine_read_virt) look at CPU `i` until the next
 * run; false if there is no such CPU. Changes nothing in the machine. */
bool machine_select_cpu(struct machine *m, unsigned i);
/* CPU `i`'s registers (icount: its own retired instructions); false if
 * there is no such CPU. */
bool machine_get_cpu_regs(struct machine *m, unsigned i, struct machine_regs *r);
/* True if CPU `i` waits for a start-up IPI (an application processor
 * before its start, or after an INIT). */
bool machine_cpu_waiting(const struct machine *m, unsigned i);

/* {====== the instruction observer (engine/insn_observer.c) ======
 *
 * What a full instruction trace (trace/itrace) needs: every memory write
 * the CPU makes and the registers after every step (docs/cpu.md,
 * "Instruction observer"). Attached, the machine runs the same instructions
 * to the same states, only slower; detached, it costs nothing. */
struct machine_insn_observer {
	/* A write the CPU made, as it made it: `size` (1, 2, 4) bytes of `val`
	 * at linear `addr`, or physical with `phys` (page-table A/D bits). */
	void (*write)(void *opaque, uint32_t addr, uint32_t val, unsigned size, bool phys);
	/* A step ended: an instruction retired, or (`event`) an exception or
	 * interrupt was delivered. `regs` is the state after it (as
	 * machine_get_regs gives it); `level` is 0 for the machine itself, 1
	 * for a VM of its monitor. The writes reported since the last step
	 * are this step's. */
	void (*step)(void *opaque, const struct machine_regs *regs, int level, bool event);
	void *opaque;
};

/* Attaches `obs` (copied), or detaches with NULL; detach before
 * machine_free(). Between runs. Fails (NESTLAB_ERROR_CONFIG) with more VMs
 * than one, whose instruction counts are their own. */
bool machine_set_insn_observer(struct machine *m, const struct machine_insn_observer *obs,
                               GError **error);
/* machine_get_regs without its one side effect (it materializes the lazy
 * arithmetic flags, which changes the bytes of a saved state): what an
 * observer starts from. Returns the level, as the observer's step gets it. */
int machine_peek_regs(struct machine *m, struct machine_regs *r);

/* {====== consoles and input ====== */

/* All the output of one serial port so far (0: COM1, 1: COM2). */
const GByteArray *machine_serial_output(const struct machine *m, int port);

/* Everything the guest wrote to the debug console and the serial ports,
 * in order: what --input waits for, and what the console hash covers. */
const GByteArray *machine_console_log(const struct machine *m);

/* Where scripted input goes. */
enum machine_input_dev { MACHINE_INPUT_COM1, MACHINE_INPUT_COM2, MACHINE_INPUT_KBD };

/*
 * Queues input for the guest. Inputs are taken in the order they were
 * added: each waits for the previous one, then for its trigger: `at_ns`
 * (virtual nanoseconds since power-on; 0: no wait) and `wait_for` (NULL,
 * or text that must appear in the console log after the previous input was
 * delivered). Then `text` goes to the serial port's receive side (at the
 * line's speed) or is typed on the keyboard. Deterministic: the same
 * inputs take effect at the same instruction in every run.
 */
void machine_add_input(struct machine *m, enum machine_input_dev dev, uint64_t at_ns,
                       const char *wait_for, const char *text);
/* When input number i (in the order added) took effect: the icount and
 * virtual time. False if it has not (yet). */
bool machine_input_delivered(const struct machine *m, unsigned i, uint64_t *icount,
                             uint64_t *ns);
/* Inputs not delivered yet. */
unsigned machine_inputs_pending(const struct machine *m);

/* {====== logged host input (recordings) ======
 *
 * Input from outside the machine - bytes typed or piped on stdin for a
 * serial port on 'stdio', bytes a script injects - is the one thing a run
 * does not decide itself. For a recording each such input is logged with
 * the moment it took effect: the machine's instruction count and its
 * clock (cycles; several moments share an instruction count while the CPU
 * is halted). A replay hands the same inputs back and the machine injects
 * each at that moment, so the run goes the same way in another process.
 *
 * With a log set, stdin is read only where that moment can be found
 * again: when machine_run() or machine_step() begins (before the first
 * instruction), and when the CPU is halted with nothing but host input to
 * wake it. A recorder that wants the guest to see stdin soon calls
 * machine_run() with small budgets. Without a log, stdin is read between
 * every few million instructions, as an interactive run wants. */

/* What an input is; the numbers are stored in recordings. Later kinds
 * (keyboard, debugger register and memory writes, fault injections) get
 * the next numbers. */
enum machine_event_kind {
	MACHINE_EVENT_SERIAL = 1, /* bytes received by serial port `unit` (0: COM1) */
};

struct machine_input_event {
	uint64_t icount; /* the machine's instruction count when it took effect */
	uint64_t cycles; /* ... and its clock (cycles since power-on) */
	enum machine_event_kind kind;
	uint32_t unit;   /* the serial port */
	const uint8_t *data;
	size_t len;
};

typedef void (*machine_input_log_fn)(void *opaque, const struct machine_input_event *ev);

/* Calls `fn` (NULL: none) with every host input at the moment it takes
 * effect: stdin's bytes, machine_inject_serial()'s, and a replay's. */
void machine_set_input_log(struct machine *m, machine_input_log_fn fn, void *opaque);

/* Hands `len` bytes to serial port `port`'s receive side now, as if they
 * came down the line (the UART takes them at the line's speed, as it does
 * stdin's); logged. False if there is no such port. Between runs. */
bool machine_inject_serial(struct machine *m, unsigned port, const uint8_t *buf, size_t len);

/* A replay: queues a logged input, to be injected when the machine's
 * clock reaches ev->cycles (the run stops there for it, as for a timer).
 * Inputs must come in the order they were logged, none before the
 * machine's present; returns false with a NESTLAB_ERROR_STATE message
 * otherwise, or for a kind or port this build does not have. The bytes are
 * copied. */
bool machine_replay_input(struct machine *m, const struct machine_input_event *ev,
                          GError **error);
/* Queued replay inputs not injected yet. */
unsigned machine_replay_pending(const struct machine *m);
/* Injects now the queued inputs whose moment has come (as the run loop
 * does when it starts), for a run that stopped just at their moment. */
void machine_replay_now(struct machine *m);
/* Drops the queued replay inputs not injected yet (history going back:
 * it queues again those after the checkpoint it restores). */
void machine_replay_clear(struct machine *m);
/* While paused, stdin is not read (history replaying the past: what is
 * typed waits until the run is back at its present). */
void machine_pause_stdin(struct machine *m, bool paused);
/* }====== */

/* Writes the VGA text screen as UTF-8 lines (trailing blanks trimmed). */
void machine_vga_text(struct machine *m, GString *out);

/* A 256-bit hash (engine/machine.c: fast, not cryptographic) over the
 * whole guest-visible state (CPU, RAM, devices, disk overlays), as 64 hex
 * digits; and one over the console log. */
void machine_state_hash(struct machine *m, char out[65]);

/* The guest's registers as the guest sees them (under a monitor: its
 * virtual CPL, CS/SS selectors, control registers), for comparisons
 * between --monitor modes. */
void machine_get_guest_regs(struct machine *m, struct machine_regs *r);

/* Under a monitor: prints the exit table (counts and modelled cycles by
 * reason, the privileged instructions by kind, shadow paging figures) to
 * `out`. Does nothing without a monitor. */
void machine_print_monitor_stats(struct machine *m, FILE *out);

/* {====== the tree: the machine (L0) and its VMs (L1) ======
 *
 * Under a monitor the guest the machine was built with is VM 0 and each
 * --vm is one more, numbered in order; all share the one CPU and are run
 * in turns of VM_SLICE_CYCLES of their own virtual time, in a fixed order,
 * so a VM's run is the same whether it runs alone or beside others. Bare
 * (no monitor) the machine has no VMs. */
enum machine_vm_state {
	MACHINE_VM_RUNNING,   /* runnable (it may be halted, waiting for a timer) */
	MACHINE_VM_PAUSED,    /* skipped until resumed */
	MACHINE_VM_STOPPED,   /* it ended: see stop and why */
	MACHINE_VM_DESTROYED, /* gone: its RAM, monitor pages and devices are released */
};

struct machine_vm_info {
	const char *name;
	int level;                 /* 1: a VM of the machine */
	enum machine_vm_state state;
	enum machine_stop stop;    /* with MACHINE_VM_STOPPED */
	const char *why;           /* shutdown reason, or NULL */
	int exit_status;           /* its exit port value, or -1 */
	uint32_t mem_bytes;        /* its RAM share ... */
	uint32_t share_base;       /* ... at this host-physical address */
	struct machine_regs regs;  /* as the guest sees them */
	uint64_t exits;            /* monitor exits so far */
};

/* Number of VMs (0 when bare). */
unsigned machine_vm_count(const struct machine *m);
/* Fills `out` for VM `i`; false if there is no such VM. */
bool machine_vm_info(struct machine *m, unsigned i, struct machine_vm_info *out);
/* Index of the VM called `name`, or -1. */
int machine_vm_find(const struct machine *m, const char *name);
/* Pause, resume or destroy VM `i` between runs; the others go on. False
 * (and nothing done) if it cannot be (no such VM, already destroyed). */
bool machine_vm_pause(struct machine *m, unsigned i);
bool machine_vm_resume(struct machine *m, unsigned i);
bool machine_vm_destroy(struct machine *m, unsigned i);
/* Everything VM `i` wrote to its consoles (COM1, COM2, debug port). */
const GByteArray *machine_vm_console(struct machine *m, unsigned i);
/* Its guest-visible state hash (as machine_state_hash for VM 0). */
bool machine_vm_state_hash(struct machine *m, unsigned i, char out[65]);
/* Translates guest-virtual `gva` of VM `i` as its page tables say, to
 * guest-physical and host-physical; false if not mapped. */
bool machine_vm_translate(struct machine *m, unsigned i, uint32_t gva, uint32_t *gpa,
                          uint32_t *hpa);
/* }====== */

/* {====== the tree of every level (engine/vm/tree.c, docs/abi.md) ======
 *
 * Every level of a nested stack as a node: node 0 is the machine (level
 * 0), nodes 1 .. machine_vm_count() its VMs (level 1, VM i-1), then every
 * VM a guest monitor declared through the introspection ABI
 * (guests/lib/rt/nlabi.h), in the order declared, at its monitor's level
 * plus one. A guest monitor that never calls the ABI is simply part of the
 * VM it runs in. Everything here is read from the machine as it is now,
 * between runs (or from an observer): it changes nothing. */
enum machine_tree_state {
	MACHINE_TREE_EXECUTING, /* its own code has the CPU now */
	MACHINE_TREE_RUNNING,   /* a VM under it executes: it is in its run of that VM */
	MACHINE_TREE_READY,     /* runnable, not on the CPU */
	MACHINE_TREE_PAUSED,
	MACHINE_TREE_STOPPED,
	MACHINE_TREE_DESTROYED,
};

struct machine_tree_node {
	const char *name;
	int level;
	int parent;                /* -1 for the machine */
	unsigned n_children;
	enum machine_tree_state state;
	const char *monitor;       /* the monitor that runs it: "nestlab" (the engine's) or the
	                            * name its monitor gave in HELLO; NULL for the machine */
	const char *guest_monitor; /* the monitor in it that said HELLO, or NULL */
	uint32_t id;               /* its monitor's id for it (level 1: the VM's index) */
	uint64_t exits;            /* its monitor's exits for it */
	bool regs_known;
	/* As its own monitor holds them (its vCPU block, its register block,
	 * or, while it runs a guest of its own through the assist, the state
	 * its monitor saved at its run); for the executing node the live CPU
	 * state as that level sees it (virtual CR0-4, CPL, IF and IOPL). */
	struct machine_regs regs;
};

unsigned machine_tree_count(struct machine *m);
/* Fills `out` for node `i`; false if there is none. Pointers stay valid
 * until the machine is freed. */
bool machine_tree_node(struct machine *m, unsigned i, struct machine_tree_node *out);
/* The executing node and its level: the VM in the CPU, then, while its
 * monitor said HELLO and its running-child word names a VM of its own,
 * that VM, and so on. Exact at every instruction boundary. */
int machine_tree_current(struct machine *m);
int machine_tree_level(struct machine *m);
const char *machine_tree_state_name(enum machine_tree_state s);

/* Memory of node `node`: physical (its guest-physical space) or virtual
 * (through its page tables as its monitor holds its CR0/CR3/CR4), with no
 * side effect on the guests (no A/D bits). Writes drop code decoded from
 * the bytes. False if a byte is not mapped (a write may have written the
 * bytes before it). */
bool machine_tree_read_phys(struct machine *m, unsigned node, uint32_t pa, void *buf, size_t len);
bool machine_tree_write_phys(struct machine *m, unsigned node, uint32_t pa, const void *buf,
                             size_t len);
bool machine_tree_read_virt(struct machine *m, unsigned node, uint32_t lin, void *buf, size_t len);
bool machine_tree_write_virt(struct machine *m, unsigned node, uint32_t lin, const void *buf,
                             size_t len);

/* One step of a translation chain. */
struct machine_tree_step {
	int node, level;            /* the level whose address `in` is */
	bool virt;                  /* its page tables (else its memory map) */
	uint32_t in, out;           /* the address at this level, and the next one down */
	bool paging;                /* virt: CR0.PG (off: out = in) */
	bool large;                 /* virt: a 4 MiB page (no PTE) */
	uint32_t pde_addr, pde;     /* virt: the entries used, at level-physical addresses */
	uint32_t pte_addr, pte;
	uint32_t map_gpa, map_size, map_mpa; /* map: the range used */
};
/*
 * The chain L_k-virtual (with `virt`) or L_k-physical `addr` of node
 * `node` -> L_k-physical -> L_(k-1)-physical -> ... -> host-physical
 * (*hpa). Returns the number of steps written (at most `max`), or minus
 * the number written with *why saying where it stopped (not mapped, a
 * device, no such node).
 */
int machine_tree_translate(struct machine *m, unsigned node, uint32_t addr, bool virt,
                           struct machine_tree_step *steps, int max, uint32_t *hpa,
                           const char **why);

/* The ABI's LOG and MARK calls, and the engine's own LOG lines for calls it
 * refused (malformed), in the order made (at most 10000 kept). */
struct machine_tree_event {
	uint64_t icount;            /* the machine's instruction count after the call */
	int node, level;            /* who called */
	bool mark;                  /* MARK (name, value) or LOG (text) */
	const char *name;
	uint32_t value;
	const char *text;
	bool regs_known;            /* MARK: the caller's registers at the call (as */
	struct machine_regs regs;   /* machine_tree_node's; EIP past the call, EAX the command) */
};
unsigned machine_tree_event_count(struct machine *m);
bool machine_tree_event(struct machine *m, unsigned i, struct machine_tree_event *out);
/* Prints the tree (each node with its registers, exits, and the events) to
 * `out`, as nestlab-run --tree. */
void machine_print_tree(struct machine *m, FILE *out);

/* {====== exits by level (--stats) ====== */

/* Node `node`'s exits to its monitor by reason (MACHINE_EXIT_REASONS, the
 * order of the monitor's exit table) and the modelled cycles its monitor
 * counts for them (the engine's monitor does; tinyvmm counts none). False
 * for the machine, a destroyed VM, or one whose monitor gave no stats. */
#define MACHINE_EXIT_REASONS 13
bool machine_tree_exit_counts(struct machine *m, unsigned node,
                              uint64_t exits[MACHINE_EXIT_REASONS],
                              uint64_t cycles[MACHINE_EXIT_REASONS]);
/* From now on, attribute every trap the engine's monitor takes to the
 * level whose code trapped (docs/abi.md, "Exit multiplication"). A hook
 * on each trap: only for statistics runs. */
void machine_tree_stats_enable(struct machine *m);
/* For traps of code at `level` (>= 1): how many (*traps), the exits they
 * set off at each monitor level 0 .. level-1 (exits[0 .. level-1], the
 * trap itself included) and the modelled cycles until that level ran
 * again. False before machine_tree_stats_enable or for a level out of range. */
bool machine_tree_trap_stats(struct machine *m, int level, uint64_t *traps, uint64_t *exits,
                             uint64_t *cycles);
/* Prints both per level, as nestlab-run --stats. */
void machine_print_tree_stats(struct machine *m, FILE *out);
/* }====== */
void machine_console_hash(const struct machine *m, char out[65]);

/* Virtual time since power-on, in nanoseconds. */
uint64_t machine_time_ns(const struct machine *m);

/* Copies to or from guest physical memory as a loader or debugger would
 * (writes reach RAM only; reads see ROM, and 0xff where nothing is mapped). */
void machine_phys_write(struct machine *m, uint32_t paddr, const void *buf, size_t len);
void machine_phys_read(struct machine *m, uint32_t paddr, void *buf, size_t len);

/* {====== a debugger's view of memory (engine/inspect.c) ====== */

/* Translates the guest's virtual (linear) address `lin` through its page
 * tables as they are now (the VM the CPU holds, under a monitor: to its
 * guest-physical address), with no side effect. False if not mapped. */
bool machine_translate(struct machine *m, uint32_t lin, uint32_t *phys);
/* Reads or writes `len` bytes at the guest's virtual address `lin` as a
 * debugger does (no accessed or dirty bits, no fault). False if a page is
 * not mapped (a write may then have written the pages before it). */
bool machine_read_virt(struct machine *m, uint32_t lin, void *buf, size_t len);
bool machine_write_virt(struct machine *m, uint32_t lin, const void *buf, size_t len);

/* Registers a debugger may set, in the CPU's order (EAX .. EDI = 0 .. 7). */
enum machine_reg {
	MACHINE_REG_EAX, MACHINE_REG_ECX, MACHINE_REG_EDX, MACHINE_REG_EBX,
	MACHINE_REG_ESP, MACHINE_REG_EBP, MACHINE_REG_ESI, MACHINE_REG_EDI,
	MACHINE_REG_EIP, MACHINE_REG_EFLAGS,
};
/* The EFLAGS bits machine_set_reg() changes: the status flags and DF. */
#define MACHINE_EFLAGS_WRITABLE 0xcd5u
/* Sets a register of the guest the CPU holds, between runs, as a debugger
 * does. Of EFLAGS only MACHINE_EFLAGS_WRITABLE changes (the others decide
 * modes a monitor virtualizes). False for an unknown register. */
bool machine_set_reg(struct machine *m, enum machine_reg reg, uint32_t v);

/* }====================================================================== */

/* {====== snapshots (engine/snapshot.c) ====== */

/*
 * Appends the whole machine's state to `out`: CPU, RAM, devices, disks'
 * overlays, consoles, the input schedule, the monitors and the VM tree.
 * Nothing of the machine changes. Between two machine_run() calls.
 */
void machine_save(struct machine *m, GByteArray *out);
/*
 * Loads a state machine_save() wrote into `m`, which must be built from
 * the same configuration (same RAM, monitor, VMs, disks, inputs); it then
 * continues exactly as the saved machine would. On bad or mismatched
 * bytes returns false with a message naming what is wrong (NESTLAB_ERROR),
 * and `m` must be freed.
 */
bool machine_restore(struct machine *m, const uint8_t *buf, size_t len, GError **error);

/*
 * Incremental checkpoints (trace/hist) keep host memory page by page: the
 * same state without the memory, and the memory's pages apart.
 * machine_save_state() writes what machine_save() does but the pages;
 * machine_restore_state() loads it and leaves memory as it is, for the
 * caller to put back the pages that differ (machine_put_page).
 */
void machine_save_state(struct machine *m, GByteArray *out);
bool machine_restore_state(struct machine *m, const uint8_t *buf, size_t len, GError **error);
/* Pages of host memory (RAM, the VMs' shares and the monitors' pages). */
uint32_t machine_mem_pages(struct machine *m);
/* Page `n` as it is now, or NULL for one never touched (all zeros). */
const uint8_t *machine_mem_page(struct machine *m, uint32_t n);
/* Sets page `n` (NULL: zeros), dropping code decoded from it. Not counted
 * as a write (machine_take_dirty). False if `n` is past the memory. */
bool machine_put_page(struct machine *m, uint32_t n, const uint8_t *data);
/*
 * ORs into `map` (a bit per page, machine_mem_pages() bits, in 64-bit
 * words) the pages written since the last call, and starts a new set.
 * A page may be reported that was not written; one written never goes
 * unreported.
 */
void machine_take_dirty(struct machine *m, uint64_t *map);

/* }====================================================================== */

/* {====== VM snapshots (engine/vmsnap.c) ======
 *
 * One VM of a machine as a thing of its own: saved from one machine and
 * loaded into a VM slot of another (built from another configuration:
 * another first guest, other VMs after it), where it continues exactly as
 * it would have in the first. The slot is an ordinary --vm of the target
 * (its kernel is loaded and then replaced). It must have the VM's RAM
 * size, devices, disks and monitor mode; it may lie elsewhere in host
 * memory (another --mem, other VMs before it): the VM's monitor tables and
 * the CPU's host-physical registers are then moved with it. */

/* Appends VM `i`'s whole state (its RAM share and monitor pages, CPU,
 * devices, disks' overlays, console, tree state, monitor) to `out`.
 * False (nothing appended) if there is no such VM or it was destroyed. */
bool machine_vm_save(struct machine *m, unsigned i, GByteArray *out);
/* Loads what machine_vm_save() wrote into VM slot `i` of `m` (the other
 * VMs untouched). On a mismatch (see above) false with a message saying
 * what the slot needs, before anything changed; on bytes cut short or
 * damaged false with a message, and `m` must be freed. Between two
 * machine_run() calls. */
bool machine_vm_load(struct machine *m, unsigned i, const uint8_t *buf, size_t len,
                     GError **error);

/* }====================================================================== */

/* {====== debugger points (engine/debug_points.c) ======
 *
 * Breakpoints and watchpoints for a debugger (the gdb stub, scripts), on
 * the one CPU: apart from the guest's own debug registers, invisible to
 * it, and with no effect on its state or time (docs/cpu.md, "Debugger
 * points"). Addresses are linear: under a monitor, the guest's virtual
 * addresses. */

#define MACHINE_POINTS_MAX 32
#define MACHINE_WATCH_MAX 4096u

enum machine_point_kind {
	MACHINE_POINT_EXEC,   /* stops before the instruction at addr runs */
	MACHINE_POINT_WRITE,  /* stops after the instruction that wrote [addr, addr+len) */
	MACHINE_POINT_READ,   /* ... that read it */
	MACHINE_POINT_ACCESS, /* ... that read or wrote it */
};

/*
 * Adds a point; len is ignored for MACHINE_POINT_EXEC and is 1..4096 for
 * the others. machine_run() and machine_step() then return MACHINE_BREAK
 * at the first hit. Returns the point's id (>= 0), or -1 if
 * MACHINE_POINTS_MAX are set or the range is bad.
 */
int machine_add_point(struct machine *m, enum machine_point_kind kind, uint32_t addr, uint32_t len);
/* Removes one point added with these kind, addr and len; false if none. */
bool machine_remove_point(struct machine *m, enum machine_point_kind kind, uint32_t addr, uint32_t len);
/* Removes every point. */
void machine_clear_points(struct machine *m);
/*
 * After MACHINE_BREAK: which point was hit (its id is returned, -1 if the
 * last run did not stop at a point), its kind, and in *addr the
 * instruction's address (EXEC) or the first watched byte the access
 * touched. A machine_run() or machine_step() that starts at an execution
 * point it stopped at runs that instruction; machine_step() always does.
 */
int machine_last_hit(struct machine *m, enum machine_point_kind *kind, uint32_t *addr);

/* }====================================================================== */

#endif
