/*
 * run.h - the parts of nestlab-run, one file per mode (docs/nestlab-run.md):
 *
 *   nestlab-run.c   main: the command line, then one of the modes
 *   run-options.c   the option table, --help, and the checks of every option
 *                   that describes a machine (the command line and the Lua
 *                   module's nestlab.machine{} both go through them)
 *   run-guest.c     running a guest: the run loop, --vm-at events, the end
 *   run-record.c    snapshots (--snapshot-at, --restore), --record, --replay
 *   run-gdb.c       the gdb stub (--gdb)
 *   run-vectors.c   the hardware vectors (--vectors)
 *   run-script.c    Lua scripts (--script, --eval, --lua; scripts/lua)
 *
 * The options live in two globals, `o` (as given) and `g` (parsed): one
 * command line, one machine at a time. Not a library: nothing outside
 * scripts/ includes this.
 */
#ifndef NESTLAB_RUN_H
#define NESTLAB_RUN_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "nestlab.h"

struct trc_rec_reader;
struct trc_rec_writer;

/* {====== exit statuses (keep in step with --help and docs/nestlab-run.md) ====== */

enum {
	EXIT_SHUTDOWN = 2,      /* triple fault or shutdown */
	EXIT_LIMIT = 6,         /* --max-insns reached (even: no guest exit is even) */
	EXIT_HALT = 4,          /* HLT with nothing to wake the CPU */
	EXIT_VECTORS_FAILED = 5, /* --vectors: at least one test failed */
	EXIT_USAGE = 64,        /* bad command line */
	EXIT_NOINPUT = 66,      /* an input file is missing, unreadable or malformed */
	EXIT_CANTCREAT = 73,    /* an output file cannot be created */
	EXIT_IOERR = 74,        /* writing an output file failed */
	EXIT_NOPERM = 77,       /* an input file exists but cannot be read */
	EXIT_NOT_KERNEL = 80,   /* neither ELF nor a multiboot image */
	EXIT_BAD_ELF = 81,      /* a malformed ELF file */
	EXIT_WRONG_ARCH = 82,   /* an ELF file for another machine */
	EXIT_NO_MB_HEADER = 83, /* an ELF file without a multiboot header */
	EXIT_BAD_MB_HEADER = 84, /* a multiboot header that is wrong */
	EXIT_OVERLAP = 85,      /* a module or boot data overlapping the kernel */
	EXIT_TOO_BIG = 86,      /* RAM too small for the image */
	EXIT_BAD_DISK = 87,     /* a disk image that cannot be used */
	EXIT_DISK_READONLY = 88, /* ',writeback' on a read-only disk image */
	EXIT_BAD_SNAPSHOT = 89, /* a snapshot that cannot be read or does not fit */
	EXIT_REPLAY_DIFFERS = 90, /* a replay went another way than its recording */
	EXIT_REPLAY_SHORT = 91, /* the recording was cut short; the replay met all it has */
	EXIT_SCRIPT_ERROR = 92, /* a Lua script raised an error (LNL_EXIT_SCRIPT_ERROR) */
	EXIT_INTERRUPTED = 130, /* stopped by Ctrl-C */
};

/* }====================================================================== */

/* {====== the options ====== */

/* The options as given (G_OPTION_ARG_* targets of the option table). */
struct opts {
	gchar *rom;
	gchar *flat;
	gchar **modules;
	gchar *cmdline;
	gchar **disks;
	gchar **serial;
	gchar **inputs;
	gboolean vga_dump;
	gboolean state_hash;
	gchar *rtc_epoch;
	gboolean uart_out2_gate;
	gchar *mem_arg;     /* --mem as given (a size: 512M, 1G, or MiB) */
	gint mem;           /* ... in MiB, once check_options has read it */
	gint64 max_insns;
	gchar *post_port;
	gchar *trace;
	gboolean stats;
	gchar *vectors;
	gchar *form;
	gint details;
	gchar *known;
	gboolean version;
	gchar *monitor;
	gboolean faithful;
	gboolean assist;
	gint nest;
	gint smp;
	gint smp_quantum;
	gchar *tinyvmm;
	gchar *cpu;
	gchar **devices;
	gchar **vms;
	gchar **vm_at;
	gchar **vm_save_at;
	gchar **vm_load;
	gboolean tree;
	gchar **tree_at;
	gchar **translate;
	gchar *snapshot_at;
	gchar *restore;
	gint gdb;
	gboolean no_history;
	gint history_mib;
	gchar *record;
	gchar *replay;
	gchar *itrace;
	gboolean help;
	gchar *script;      /* --script, --eval and --lua: seen here only when not */
	gchar *eval;        /* first on the command line (run-script.c takes them) */
	gboolean lua;
	gboolean allow_host;
	gchar *script_limit;
	gchar *script_mem;
};


extern struct opts o;

struct guest_opts {
	const char *kernel;
	uint32_t flat_addr;
	gchar *flat_path;
	struct machine_module modules[MACHINE_MAX_MODULES];
	int n_modules;
	struct machine_disk disks[MACHINE_MAX_DISKS];
	int n_disks;
	struct machine_serial serial[MACHINE_SERIAL_PORTS];
	int64_t epoch;
	enum machine_monitor monitor;
	struct machine_vm_config vms[MACHINE_MAX_VMS];
	struct machine_disk vm_disks[MACHINE_MAX_VMS][MACHINE_MAX_DISKS];
	int n_vms;
	GPtrArray *strings; /* owned pieces of the above */
};

/* A --vm-at event: at `at` instructions, `what` to VM `name`. */
struct vm_event {
	enum { EV_PAUSE, EV_RESUME, EV_DESTROY, EV_SAVE, EV_TREE } what;
	const char *name;
	uint64_t at;
	const char *file; /* EV_SAVE's (--vm-save-at) */
};

extern struct guest_opts g;
extern GArray *g_vm_events; /* struct vm_event */

struct input_spec {
	enum machine_input_dev dev;
	uint64_t at_ns;
	gchar *wait_for;
	gchar *text;
};

extern GArray *g_inputs; /* struct input_spec */

/* Where a failed check leaves its message (one sentence, no prefix). */
struct run_msg {
	gchar *text;
};

/* Which options a parse accepts: all (the command line), or only those
 * that describe a machine (nestlab.machine{} of the Lua module). */
enum run_scope { RUN_SCOPE_ALL, RUN_SCOPE_MACHINE };

/*
 * Parses argv (argv[0] is the program) into o and g, clearing what an
 * earlier parse left, and checks every option as the command line does.
 * Returns 0, or an exit status (EXIT_USAGE) with msg->text set (free it).
 * *post is the POST port. RUN_SCOPE_MACHINE refuses the options of a run
 * (--gdb, --record, --vectors, ...) and --cpu help, and needs a guest.
 */
int run_parse_options(int argc, char **argv, enum run_scope scope, uint16_t *post,
                      struct run_msg *msg);

/* --help: the whole text, wrapped to 80 columns. */
void run_print_help(FILE *out);

/* A size as --mem reads it (512M, 1G, a bare number is MiB), in MiB;
 * false unless it is a whole number of MiB. */
bool run_parse_size_mib(const char *s, uint32_t *mib);

/* Keeps s (a g_malloc'd string) alive as long as the options; returns it. */
char *keep(char *s);

/*
 * A powered-on machine as o and g describe it, with g_inputs queued.
 * NULL with *error set (machine_new's errors; see build_error_status).
 */
struct machine *run_new_machine(uint16_t post, GError **error);

/* The exit status for an error run_new_machine gave. */
int build_error_status(const GError *e);

/* }====================================================================== */

/* {====== running (run-guest.c) ====== */

extern struct machine *g_machine; /* the machine running, for Ctrl-C */

/* Runs the guest o and g describe to its end; returns the exit status. */
int run_guest(uint16_t post);

/* Instructions all the VMs (or the bare machine) have retired. */
uint64_t total_icount(struct machine *m);

/* Says on stderr how the run ended; returns the exit status. */
int report_end(struct machine *m, enum machine_stop st);

/* }====================================================================== */

/* {====== snapshots, recording and replay (run-record.c) ====== */

extern char **g_args;        /* the arguments that build the guest (saved in snapshots) */
extern bool gdb_given;       /* --gdb was on the command line */
extern bool g_replaying;     /* --replay FILE */
extern struct trc_rec_reader *g_replay;
extern GBytes *g_restore;    /* the state --restore loads */
extern const char *g_snap_file; /* --snapshot-at N:FILE's FILE, once parsed */

/* Accepts '--snapshot-at N FILE' as well as '--snapshot-at=N:FILE'. */
void join_snapshot_at(int *argc, char ***argv);

/* The arguments to save in a snapshot: all but the snapshot options
 * (a NULL-terminated vector; g_strfreev). */
char **guest_args(int argc, char **argv);

/* --restore FILE or --replay FILE: the saved arguments go first, then the
 * ones given now. Returns 0, or an exit status after a message. */
int load_restore(int *argc, char ***argv);

/* --snapshot-at N:FILE; false if it is not that. */
bool parse_snapshot_at(const char *spec);

/* Runs to --snapshot-at's instruction and writes the snapshot there.
 * Returns MACHINE_LIMIT to go on, another stop if the guest ended first,
 * or sets *code on a write error. */
enum machine_stop run_to_snapshot(struct machine *m, int *code);

/* Runs while recording to o.record into *w; *code is set on a write error. */
enum machine_stop run_recorded(struct machine *m, struct trc_rec_writer **w, int *code);

/* Replays g_replay: each mark must be met exactly, then the end; *code is
 * set when it differs. */
enum machine_stop run_replayed(struct machine *m, int *code);

/* Ends the recording w with the machine's end and `code`; returns the
 * exit status (EXIT_IOERR if the file could not be finished). */
int finish_recording(struct machine *m, struct trc_rec_writer *w, int code);

/* Closes g_replay. */
void close_replay(void);

/* }====================================================================== */

/* Serves gdb sessions (run-gdb.c) until one detaches (the run goes on:
 * MACHINE_LIMIT) or kills the run (MACHINE_STOPPED), or the guest ends
 * while debugged; *code is set if the stub cannot listen. */
enum machine_stop serve_gdb(struct machine *m, int *code);

/* {====== --tree (run-tree.c) ====== */

/* A number of instructions; false if `s` is not one. */
bool run_parse_count(const char *s, uint64_t *out);
/* --translate LEVEL:ADDR or nNODE:ADDR. */
bool run_parse_translate(const char *s, int *n, bool *by_node, uint32_t *addr);
/* Prints the tree to stderr, and each --translate's chain. */
void run_print_tree(struct machine *m);

/* }====================================================================== */

/* --vectors DIR (run-vectors.c); returns the exit status. */
int run_vectors(void);

/* --script FILE [ARGS], --eval CODE [ARGS] or --lua first on the command
 * line (run-script.c): runs it, sets *code to the exit status and returns
 * true; false if argv is not one of them. */
bool run_script_mode(int argc, char **argv, int *code);

#endif
