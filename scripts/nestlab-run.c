/*
 * nestlab-run - the headless runner: boots a multiboot kernel, a flat
 * binary or a ROM on the PC (or runs the hardware vectors), streams the
 * guest's consoles to stdout, feeds it scripted input and exits with the
 * guest's exit status. See docs/nestlab-run.md.
 */
#include <errno.h>
#include <glib.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "nestlab-config.h"
#include "multiboot.h"
#include "nestlab.h"
#include "dbgtarget.h"
#include "itrace.h"
#include "snapfile.h"
#include "trcfile.h"
#include "vecrun.h"

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
	EXIT_INTERRUPTED = 130, /* stopped by Ctrl-C */
};

/* }====================================================================== */

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
	gint mem;
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
	gchar *tinyvmm;
	gchar *cpu;
	gchar **devices;
	gchar **vms;
	gchar **vm_at;
	gchar **vm_save_at;
	gchar **vm_load;
	gchar *snapshot_at;
	gchar *restore;
	gint gdb;
	gboolean no_history;
	gint history_mib;
	gchar *record;
	gchar *replay;
	gchar *itrace;
};

static struct opts o;

static const GOptionEntry entries[] = {
	{"rom", 0, 0, G_OPTION_ARG_FILENAME, &o.rom,
	 "Boot FILE, a 64 or 128 KiB ROM image (the CPU starts at its last 16 bytes)", "FILE"},
	{"flat", 0, 0, G_OPTION_ARG_STRING, &o.flat,
	 "Load FILE at ADDR (hex or decimal) and enter it in 32-bit protected mode", "FILE@ADDR"},
	{"module", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.modules,
	 "Give the multiboot kernel FILE as a module; its string is \"FILE ARGS\" (repeatable)",
	 "FILE[,ARGS]"},
	{"cmdline", 0, 0, G_OPTION_ARG_STRING, &o.cmdline,
	 "The multiboot kernel's command line", "TEXT"},
	{"disk", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.disks,
	 "Attach a disk image on the primary IDE channel (master unless ',slave'); guest writes "
	 "go to a copy in memory unless ',writeback' (repeatable)", "FILE[,slave][,writeback]"},
	{"serial", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.serial,
	 "Where a serial port goes: stdout (COM1's default), stdio (stdout, and stdin feeds it), "
	 "file:PATH, or none (COM2's default); 'com2=' picks the port, otherwise the first "
	 "--serial is COM1 and the second COM2", "[com1=|com2=]stdout|stdio|file:PATH|none"},
	{"input", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.inputs,
	 "Send TEXT (escapes \\n \\r \\t \\e \\xNN \\: \\\\) to com1, com2 or the keyboard (kbd), "
	 "after the previous input, at virtual time @T (e.g. @50ms) or once the consoles show "
	 "WAIT (~WAIT) (repeatable)", "DEV[@TIME|~WAIT]:TEXT"},
	{"vga-dump", 0, 0, G_OPTION_ARG_NONE, &o.vga_dump,
	 "At the end, print the VGA text screen to stdout", NULL},
	{"state-hash", 0, 0, G_OPTION_ARG_NONE, &o.state_hash,
	 "At the end, print hashes of the machine state and of the consoles to stderr", NULL},
	{"rtc-epoch", 0, 0, G_OPTION_ARG_STRING, &o.rtc_epoch,
	 "The CMOS clock at power-on: Unix seconds or YYYY-MM-DDTHH:MM:SS (UTC; default "
	 "2000-01-01T00:00:00)", "TIME"},
	{"uart-out2-gate", 0, 0, G_OPTION_ARG_NONE, &o.uart_out2_gate,
	 "Pass the serial ports' interrupts through the PC/AT gate of MCR OUT2, so a guest must "
	 "set OUT2 to get them (default: no gate, as on QEMU)", NULL},
	{"mem", 0, 0, G_OPTION_ARG_INT, &o.mem,
	 "RAM size in MiB, from 1 to 3072 (default 32); pages cost nothing until used", "MIB"},
	{"max-insns", 0, 0, G_OPTION_ARG_INT64, &o.max_insns,
	 "Stop after N instructions with exit status 6 (default: no limit)", "N"},
	{"post-port", 0, 0, G_OPTION_ARG_STRING, &o.post_port,
	 "Port of the POST code display, hex like 0x190 or decimal (default 0x80)", "PORT"},
	{"trace-cpu", 0, 0, G_OPTION_ARG_FILENAME, &o.trace,
	 "Before each instruction, write a line with icount and all registers to FILE "
	 "(- for stdout); slow", "FILE"},
	{"itrace", 0, 0, G_OPTION_ARG_FILENAME, &o.itrace,
	 "Write the full instruction trace (every instruction's EIP, register changes and "
	 "memory writes, zstd blocks with an index) to FILE, for nestlab-itrace; slower", "FILE"},
	{"stats", 0, 0, G_OPTION_ARG_NONE, &o.stats,
	 "At the end, print instructions, cycles, host seconds, MIPS, virtual seconds and when "
	 "each --input took effect to stderr", NULL},
	{"vectors", 0, 0, G_OPTION_ARG_FILENAME, &o.vectors,
	 "Run the hardware-recorded instruction tests in DIR (e.g. shared/vectors/real16) "
	 "instead of a guest", "DIR"},
	{"form", 0, 0, G_OPTION_ARG_STRING, &o.form,
	 "With --vectors: run only the tests of one instruction form, e.g. F6.6", "FORM"},
	{"details", 0, 0, G_OPTION_ARG_INT, &o.details,
	 "With --vectors: show up to N failures per form in full (default 3)", "N"},
	{"known", 0, 0, G_OPTION_ARG_FILENAME, &o.known,
	 "With --vectors: failures listed in FILE (tests/vectors/known-differences.txt) are "
	 "counted apart and do not fail the run", "FILE"},
	{"monitor", 0, 0, G_OPTION_ARG_STRING, &o.monitor,
	 "How the guest runs: shadow (trap-and-emulate with shadow page tables), nested "
	 "(trap-and-emulate with nested paging) or none (bare, on the PC itself); default "
	 "shadow for a kernel or flat binary, none for a ROM (see docs/monitor.md)",
	 "shadow|nested|none"},
	{"cpu", 0, 0, G_OPTION_ARG_STRING, &o.cpu,
	 "The CPU model: which real part CPUID and the MSRs say the CPU is, with features "
	 "added (+FLAG) or removed (-FLAG); default pentium2; 'help' lists the models "
	 "(see docs/cpu.md)", "MODEL[,+FLAG|-FLAG]...|help"},
	{"device", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.devices,
	 "Add a device the board does not have by default: pc-testdev (QEMU's test device, "
	 "ports 0xE0-0xE7 and 0x2000-0x2017, I/O memory at 0xFF000000, as kvm-unit-tests use it)",
	 "pc-testdev"},
	{"faithful-i386", 0, 0, G_OPTION_ARG_NONE, &o.faithful,
	 "Under a monitor, run the CPU as a real i386 (strict mode off), so the classic "
	 "virtualization holes (POPF, SGDT, ...) show", NULL},
	{"nest", 0, 0, G_OPTION_ARG_INT, &o.nest,
	 "Run KERNEL at level D of a stack of monitors (1 to 8): 1 under the engine's monitor, "
	 "each level more under one more tinyvmm, each taking its guest's traps through its own "
	 "IDT (faithful recursion); with --assist the engine's monitor uses nested paging and "
	 "the tinyvmms the assist; --mem is then KERNEL's RAM (see docs/monitor.md section 8)", "D"},
	{"tinyvmm", 0, 0, G_OPTION_ARG_FILENAME, &o.tinyvmm,
	 "With --nest: the guest hypervisor to use (default: tinyvmm.elf of this build)", "FILE"},
	{"assist", 0, 0, G_OPTION_ARG_NONE, &o.assist,
	 "Offer the assist, the CPU's run-guest operation, to a guest monitor such as "
	 "tinyvmm: the CPU's own (--monitor=none) or virtualized by the engine's monitor "
	 "(--monitor=nested); see docs/cpu.md", NULL},
	{"vm", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.vms,
	 "Under a monitor, run one more VM beside KERNEL: its own RAM share (default 32 MiB), "
	 "devices and monitor; its COM1 is printed at the end, each line after '[NAME] ', unless "
	 "serial= says otherwise (repeatable; cmdline= takes the rest of the text)",
	 "NAME:KERNEL[,mem=MIB][,disk=FILE[:slave]][,serial=stdout|none|file:PATH][,cmdline=TEXT]"},
	{"gdb", 0, 0, G_OPTION_ARG_INT, &o.gdb,
	 "Wait for gdb on 127.0.0.1:PORT before the first instruction (0 picks a free port; "
	 "the port is printed); see docs/gdb.md", "PORT"},
	{"no-history", 0, 0, G_OPTION_ARG_NONE, &o.no_history,
	 "With --gdb, keep no history (no reverse execution, no checkpoints)", NULL},
	{"history-mib", 0, 0, G_OPTION_ARG_INT, &o.history_mib,
	 "With --gdb, the memory the history's checkpoints may take, in MiB (default 256); "
	 "past it the oldest thin out, so far-back steps take longer", "MIB"},
	{"record", 0, 0, G_OPTION_ARG_FILENAME, &o.record,
	 "Record the run to FILE: the arguments, the machine at the start, a checkpoint every "
	 "20 million instructions, what stdin gave a serial port on 'stdio' and when, and how it "
	 "ended (replay it with --replay)", "FILE"},
	{"replay", 0, 0, G_OPTION_ARG_FILENAME, &o.replay,
	 "Replay a recording: build the machine from its arguments, restore its start, run (its "
	 "logged input at its moments; stdin unused), and check every checkpoint and the end "
	 "against it (status 90 if they differ)", "FILE"},
	{"snapshot-at", 0, 0, G_OPTION_ARG_STRING, &o.snapshot_at,
	 "When N instructions have retired, save the whole machine to FILE (a snapshot: "
	 "--restore FILE continues from there, in any process) and go on; also written "
	 "'--snapshot-at N FILE'", "N:FILE"},
	{"restore", 0, 0, G_OPTION_ARG_FILENAME, &o.restore,
	 "Continue from a snapshot FILE: the machine is built from the arguments saved in it "
	 "(give only options such as --state-hash, --stats or --max-insns)", "FILE"},
	{"vm-at", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.vm_at,
	 "When the machine has retired N instructions in all, pause, resume or destroy VM NAME "
	 "(vm0 is KERNEL's); the others go on (repeatable)", "pause|resume|destroy:NAME@N"},
	{"vm-save-at", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.vm_save_at,
	 "When the machine has retired N instructions in all, save VM NAME alone to FILE (a VM "
	 "snapshot: --vm-load loads it into another machine) and go on (repeatable)",
	 "NAME@N:FILE"},
	{"vm-load", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.vm_load,
	 "Before running, replace VM NAME (a --vm of this machine, or vm0) with the VM saved in "
	 "FILE, which continues there as it would have in its own machine; the slot needs the "
	 "VM's memory size, disks and monitor mode (repeatable)", "NAME=FILE"},
	{"version", 0, 0, G_OPTION_ARG_NONE, &o.version, "Print the version and exit", NULL},
	{NULL},
};

static const char description[] =
	"The PC: RAM at 0 (with the 640 KiB - 1 MiB hole), 8259A PICs, 8254 PIT,\n"
	"COM1/COM2 (16550A), CMOS clock, 8042 keyboard, VGA text, local APIC and\n"
	"IOAPIC, IDE disks, the debug console on port 0xE9 (bytes go to stdout), the\n"
	"exit port 0xF4 (a guest writing V ends the run with status (V<<1)|1, so 0\n"
	"gives 1) and a POST port whose last value is printed on exit. KERNEL is a\n"
	"multiboot kernel (ELF or a.out kludge). Time is virtual: two runs with the\n"
	"same options do exactly the same thing.\n"
	"\n"
	"Exit status:\n"
	"  odd      the guest wrote V to port 0xF4: (V<<1)|1, e.g. 1 for success\n"
	"  2        the machine shut down (triple fault, or a reset with no ROM)\n"
	"  4        the guest halted (HLT) with nothing that could wake it\n"
	"  5        --vectors: a test failed that --known does not list (else 0)\n"
	"  6        the --max-insns limit was reached\n"
	"  64       bad command line\n"
	"  66       an input file does not exist (or a ROM of the wrong size)\n"
	"  77       an input file cannot be read (permissions)\n"
	"  73, 74   the trace file cannot be created or written\n"
	"  80       KERNEL is neither an ELF file nor a multiboot image\n"
	"  81       KERNEL is a malformed ELF file\n"
	"  82       KERNEL is an ELF file for another machine (only i386 runs)\n"
	"  83       KERNEL has no multiboot header in its first 8 KiB\n"
	"  84       KERNEL's multiboot header is wrong (checksum, flags, addresses)\n"
	"  85       a module or the boot information would overlap the kernel\n"
	"  86       --mem is too small for the kernel and its modules\n"
	"  87       a disk image cannot be used (a directory, empty, not whole sectors)\n"
	"  88       ',writeback' asked for a read-only disk image\n"
	"  130      interrupted with Ctrl-C\n"
	"\n"
	"Examples:\n"
	"  nestlab-run build/guests/minios/minios.elf --disk build/guests/minios/fs.img,slave\n"
	"  nestlab-run kernel.elf --input 'com1~$ :ls\\n' --input 'com1~$ :halt\\n'\n"
	"  nestlab-run /usr/lib/multiboot/examples/kernel --vga-dump\n"
	"  nestlab-run --rom build/guests/hello/hello.rom\n"
	"  nestlab-run --rom guest.rom --max-insns 100000 --trace-cpu trace.txt\n"
	"  nestlab-run --vectors ../shared/vectors/real16 --known tests/vectors/known-differences.txt\n"
	"\n"
	"More: docs/nestlab-run.md, man nestlab-run.";

static struct machine *g_machine;

/* {====== the terminal for --serial stdio ====== */

static struct termios saved_termios;
static bool termios_saved;

static void restore_terminal(void)
{
	if (termios_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
	termios_saved = false;
}

/* Keys go to the guest one by one and unechoed (the guest echoes), as
 * on a serial terminal; Ctrl-C still stops the run. */
static void raw_terminal(void)
{
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_termios) != 0)
		return;
	struct termios t = saved_termios;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0) {
		termios_saved = true;
		atexit(restore_terminal);
	}
}

/* }====================================================================== */

static void on_sigint(int sig)
{
	if (g_machine)
		machine_request_stop(g_machine);
}

/* {====== option checks ====== */

static bool parse_port(const char *s, uint16_t *port)
{
	char *end;
	errno = 0;
	guint64 v;
	if (g_ascii_strncasecmp(s, "0x", 2) == 0)
		v = g_ascii_strtoull(s + 2, &end, 16);
	else
		v = g_ascii_strtoull(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > 0xffff)
		return false;
	*port = (uint16_t)v;
	return true;
}

static int usage_error(GOptionContext *ctx, const char *fmt, const char *arg)
{
	fprintf(stderr, "nestlab-run: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'nestlab-run --help'.\n");
	g_option_context_free(ctx);
	return EXIT_USAGE;
}

/* The guest-side pieces the options describe, parsed. */
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
	enum { EV_PAUSE, EV_RESUME, EV_DESTROY, EV_SAVE } what;
	const char *name;
	uint64_t at;
	const char *file; /* EV_SAVE's (--vm-save-at) */
};
static GArray *g_vm_events;

static struct guest_opts g;

static bool parse_monitor(const char *s, enum machine_monitor *m)
{
	static const char *const names[] = { "none", "shadow", "nested" };
	for (int i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0) {
			*m = (enum machine_monitor)i;
			return true;
		}
	return false;
}

static bool parse_u32(const char *s, uint32_t *out)
{
	char *end;
	errno = 0;
	guint64 v = g_ascii_strncasecmp(s, "0x", 2) == 0 ? g_ascii_strtoull(s + 2, &end, 16)
	                                                : g_ascii_strtoull(s, &end, 10);
	if (errno || end == s || *end || v > 0xffffffffu)
		return false;
	*out = (uint32_t)v;
	return true;
}

static char *keep(char *s)
{
	if (!g.strings)
		g.strings = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(g.strings, s);
	return s;
}

/* FILE[,slave][,writeback] */
static bool parse_disk(const char *spec, struct machine_disk *d, const char **bad)
{
	gchar **parts = g_strsplit(spec, ",", -1);
	*d = (struct machine_disk){ .path = keep(g_strdup(parts[0])) };
	bool ok = *parts[0] != 0;
	for (int i = 1; ok && parts[i]; i++) {
		if (strcmp(parts[i], "slave") == 0)
			d->slave = true;
		else if (strcmp(parts[i], "master") == 0)
			d->slave = false;
		else if (strcmp(parts[i], "writeback") == 0)
			d->writeback = true;
		else {
			*bad = keep(g_strdup(parts[i]));
			ok = false;
		}
	}
	g_strfreev(parts);
	return ok;
}

/* NAME:KERNEL[,mem=MIB][,disk=FILE[:slave]][,serial=...][,cmdline=TEXT] */
static bool parse_vm(const char *spec, int i, const char **why)
{
	struct machine_vm_config *v = &g.vms[i];
	const char *colon = strchr(spec, ':');
	*why = "it must start with NAME:KERNEL";
	if (!colon || colon == spec || !colon[1])
		return false;
	*v = (struct machine_vm_config){ .name = keep(g_strndup(spec, (gsize)(colon - spec))),
	                                 .disks = g.vm_disks[i] };
	const char *cmd = strstr(colon, ",cmdline=");
	gchar *head = cmd ? g_strndup(colon + 1, (gsize)(cmd - colon - 1)) : g_strdup(colon + 1);
	if (cmd)
		v->cmdline = keep(g_strdup(cmd + 9));
	gchar **parts = g_strsplit(head, ",", -1);
	g_free(head);
	v->kernel_path = keep(g_strdup(parts[0]));
	bool ok = *parts[0] != 0;
	for (int k = 1; ok && parts[k]; k++) {
		const char *p = parts[k];
		if (g_str_has_prefix(p, "mem=")) {
			char *end;
			gint64 mib = g_ascii_strtoll(p + 4, &end, 10);
			ok = *end == 0 && mib >= 1 && mib <= (gint64)MACHINE_MEM_MAX_MIB;
			v->mem_mib = (uint32_t)mib;
			*why = "mem= must be a size in MiB";
		} else if (g_str_has_prefix(p, "disk=") && p[5] && v->n_disks < MACHINE_MAX_DISKS) {
			struct machine_disk *d = &g.vm_disks[i][v->n_disks++];
			gchar *path = g_strdup(p + 5);
			char *slave = g_str_has_suffix(path, ":slave") ? strrchr(path, ':') : NULL;
			if (slave)
				*slave = 0;
			*d = (struct machine_disk){ .path = keep(path), .slave = slave != NULL };
		} else if (g_str_has_prefix(p, "serial=")) {
			const char *t = p + 7;
			if (strcmp(t, "stdout") == 0)
				v->com1.kind = MACHINE_SERIAL_STDOUT;
			else if (strcmp(t, "none") == 0)
				v->com1.kind = MACHINE_SERIAL_NONE;
			else if (g_str_has_prefix(t, "file:") && t[5])
				v->com1 = (struct machine_serial){ MACHINE_SERIAL_FILE, keep(g_strdup(t + 5)) };
			else
				ok = false;
			*why = "serial= must be stdout, none or file:PATH";
		} else {
			ok = false;
			*why = "options are mem=, disk=, serial= and cmdline=";
		}
	}
	g_strfreev(parts);
	return ok;
}

/* pause|resume|destroy:NAME@N */
static bool parse_vm_at(const char *spec, struct vm_event *ev)
{
	static const char *const what[] = { "pause:", "resume:", "destroy:" };
	for (int w = 0; w < 3; w++) {
		if (!g_str_has_prefix(spec, what[w]))
			continue;
		const char *name = spec + strlen(what[w]), *at = strrchr(name, '@');
		char *end;
		if (!at || at == name || !at[1])
			return false;
		guint64 n = g_ascii_strtoull(at + 1, &end, 10);
		if (*end)
			return false;
		*ev = (struct vm_event){ w, keep(g_strndup(name, (gsize)(at - name))), n, NULL };
		return true;
	}
	return false;
}

/* NAME@N:FILE (--vm-save-at) */
static bool parse_vm_save_at(const char *spec, struct vm_event *ev)
{
	const char *at = strchr(spec, '@'), *colon = at ? strchr(at, ':') : NULL;
	if (!colon || at == spec || colon == at + 1 || !colon[1])
		return false;
	char *num = g_strndup(at + 1, (gsize)(colon - at - 1)), *end;
	guint64 n = g_ascii_strtoull(num, &end, 10);
	bool ok = *end == 0 && g_ascii_isdigit(num[0]);
	g_free(num);
	*ev = (struct vm_event){ EV_SAVE, keep(g_strndup(spec, (gsize)(at - spec))), n, colon + 1 };
	return ok;
}

/* [com1=|com2=]stdout|stdio|file:PATH|none; *port is the next free port. */
static bool parse_serial(const char *spec, int *port)
{
	if (g_str_has_prefix(spec, "com1="))
		*port = 0, spec += 5;
	else if (g_str_has_prefix(spec, "com2="))
		*port = 1, spec += 5;
	if (*port >= MACHINE_SERIAL_PORTS)
		return false;
	struct machine_serial *s = &g.serial[*port];
	if (strcmp(spec, "stdout") == 0)
		s->kind = MACHINE_SERIAL_STDOUT;
	else if (strcmp(spec, "stdio") == 0)
		s->kind = MACHINE_SERIAL_STDIO;
	else if (strcmp(spec, "none") == 0)
		s->kind = MACHINE_SERIAL_NONE;
	else if (g_str_has_prefix(spec, "file:") && spec[5]) {
		s->kind = MACHINE_SERIAL_FILE;
		s->path = keep(g_strdup(spec + 5));
	} else
		return false;
	(*port)++;
	return true;
}

/* YYYY-MM-DDTHH:MM:SS (UTC) or Unix seconds. */
static bool parse_epoch(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	gint64 v = g_ascii_strtoll(s, &end, 10);
	if (!errno && end != s && !*end && v > 0) {
		*out = v;
		return true;
	}
	GTimeZone *utc = g_time_zone_new_utc();
	GDateTime *dt = g_date_time_new_from_iso8601(s, utc);
	g_time_zone_unref(utc);
	if (!dt)
		return false;
	*out = g_date_time_to_unix(dt);
	g_date_time_unref(dt);
	return *out > 0;
}

static int usage_error2(GOptionContext *ctx, const char *fmt, const char *a, const char *b)
{
	gchar *msg = g_strdup_printf(fmt, a, b);
	int code = usage_error(ctx, "%s", msg);
	g_free(msg);
	return code;
}

struct input_spec {
	enum machine_input_dev dev;
	uint64_t at_ns;
	gchar *wait_for;
	gchar *text;
};

static GArray *g_inputs; /* struct input_spec */

/*
 * Copies an escaped string from *p up to `stop` (or the end), resolving
 * \n \r \t \e \\ \: \xNN. Returns NULL on a bad escape.
 */
static gchar *unescape(const char **p, char stop)
{
	GString *out = g_string_new(NULL);
	const char *s = *p;
	for (; *s && *s != stop; s++) {
		if (*s != '\\') {
			g_string_append_c(out, *s);
			continue;
		}
		s++;
		switch (*s) {
		case 'n': g_string_append_c(out, '\n'); break;
		case 'r': g_string_append_c(out, '\r'); break;
		case 't': g_string_append_c(out, '\t'); break;
		case 'e': g_string_append_c(out, 0x1b); break;
		case '\\': g_string_append_c(out, '\\'); break;
		case ':': g_string_append_c(out, ':'); break;
		case 'x':
			if (g_ascii_isxdigit(s[1]) && g_ascii_isxdigit(s[2])) {
				g_string_append_c(out, (char)(g_ascii_xdigit_value(s[1]) * 16 +
				                              g_ascii_xdigit_value(s[2])));
				s += 2;
				break;
			}
			/* fall through */
		default:
			g_string_free(out, TRUE);
			return NULL;
		}
	}
	*p = s;
	return g_string_free(out, FALSE);
}

/* A virtual time like 250ms, 2s, 100us, 5000ns. */
static bool parse_time_ns(const char *s, size_t len, uint64_t *ns)
{
	gchar *t = g_strndup(s, len);
	char *end;
	errno = 0;
	guint64 v = g_ascii_strtoull(t, &end, 10);
	static const struct { const char *unit; uint64_t mul; } units[] = {
		{"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000},
	};
	bool ok = false;
	for (size_t i = 0; i < G_N_ELEMENTS(units) && !errno && end != t; i++)
		if (strcmp(end, units[i].unit) == 0 && v <= UINT64_MAX / units[i].mul) {
			*ns = v * units[i].mul;
			ok = true;
		}
	g_free(t);
	return ok;
}

/* DEV[@TIME|~WAIT]:TEXT */
static bool parse_input(const char *spec, struct input_spec *in)
{
	*in = (struct input_spec){ 0 };
	static const struct { const char *name; enum machine_input_dev dev; } devs[] = {
		{"com1", MACHINE_INPUT_COM1}, {"com2", MACHINE_INPUT_COM2}, {"kbd", MACHINE_INPUT_KBD},
	};
	size_t n = strcspn(spec, "@~:");
	bool found = false;
	for (size_t i = 0; i < G_N_ELEMENTS(devs); i++)
		if (strlen(devs[i].name) == n && strncmp(spec, devs[i].name, n) == 0) {
			in->dev = devs[i].dev;
			found = true;
		}
	if (!found)
		return false;
	const char *p = spec + n;
	if (*p == '@') {
		size_t t = strcspn(p + 1, ":");
		if (!parse_time_ns(p + 1, t, &in->at_ns))
			return false;
		p += 1 + t;
	} else if (*p == '~') {
		p++;
		in->wait_for = unescape(&p, ':');
		if (!in->wait_for || !*in->wait_for)
			return false;
	}
	if (*p != ':')
		return false;
	p++;
	in->text = unescape(&p, 0);
	return in->text != NULL;
}

/* Parses the guest options into g; returns 0 or the exit status. */
static int check_guest_options(GOptionContext *ctx)
{
	if (!g.strings)
		g.strings = g_ptr_array_new_with_free_func(g_free);
	g.serial[0].kind = MACHINE_SERIAL_STDOUT;
	g.serial[1].kind = MACHINE_SERIAL_NONE;
	if (o.flat) {
		const char *at = strrchr(o.flat, '@');
		if (!at || at == o.flat || !parse_u32(at + 1, &g.flat_addr))
			return usage_error(ctx, "--flat '%s' must be FILE@ADDR, e.g. guest.bin@0x100000",
			                   o.flat);
		g.flat_path = keep(g_strndup(o.flat, (gsize)(at - o.flat)));
	}
	for (int i = 0; o.modules && o.modules[i]; i++) {
		if (i == MACHINE_MAX_MODULES)
			return usage_error(ctx, "at most 16 --module options%s", "");
		const char *comma = strchr(o.modules[i], ',');
		struct machine_module *mod = &g.modules[g.n_modules++];
		mod->path = comma ? keep(g_strndup(o.modules[i], (gsize)(comma - o.modules[i])))
		                  : o.modules[i];
		mod->args = comma ? comma + 1 : NULL;
		if (!*mod->path)
			return usage_error(ctx, "--module '%s' has no file name", o.modules[i]);
	}
	if (g.n_modules && !g.kernel)
		return usage_error(ctx, "--module only makes sense with a multiboot KERNEL%s", "");
	if (o.cmdline && !g.kernel)
		return usage_error(ctx, "--cmdline only makes sense with a multiboot KERNEL%s", "");
	for (int i = 0; o.disks && o.disks[i]; i++) {
		if (i == MACHINE_MAX_DISKS)
			return usage_error(ctx, "at most two --disk options (IDE master and slave)%s", "");
		const char *bad = "";
		if (!parse_disk(o.disks[i], &g.disks[g.n_disks++], &bad))
			return usage_error2(ctx, "--disk '%s': unknown flag '%s' (use FILE[,slave][,writeback])",
			                    o.disks[i], bad);
	}
	int port = 0;
	for (int i = 0; o.serial && o.serial[i]; i++)
		if (!parse_serial(o.serial[i], &port))
			return usage_error(ctx, "--serial '%s' must be [com1=|com2=]stdout, stdio, "
			                   "file:PATH or none (at most one per port)", o.serial[i]);
	g_inputs = g_array_new(FALSE, TRUE, sizeof(struct input_spec));
	for (int i = 0; o.inputs && o.inputs[i]; i++) {
		struct input_spec in;
		if (!parse_input(o.inputs[i], &in))
			return usage_error(ctx, "--input '%s' must be DEV[@TIME|~WAIT]:TEXT with DEV com1, "
			                   "com2 or kbd, TIME like 50ms, and escapes \\n \\r \\t \\e "
			                   "\\xNN \\: \\\\", o.inputs[i]);
		if (in.dev == MACHINE_INPUT_COM2 && g.serial[1].kind == MACHINE_SERIAL_NONE)
			g.serial[1].kind = MACHINE_SERIAL_BUFFER;
		g_array_append_val(g_inputs, in);
	}
	if (o.rtc_epoch && !parse_epoch(o.rtc_epoch, &g.epoch))
		return usage_error(ctx, "--rtc-epoch '%s' must be Unix seconds or "
		                   "YYYY-MM-DDTHH:MM:SS", o.rtc_epoch);
	return 0;
}

/* tinyvmm of this build: beside nestlab-run's directory, in guests/. */
static gchar *default_tinyvmm(void)
{
	gchar *exe = g_file_read_link("/proc/self/exe", NULL);
	if (!exe)
		return NULL;
	gchar *dir = g_path_get_dirname(exe);
	gchar *path = g_build_filename(dir, "..", "guests", "tinyvmm", "tinyvmm.elf", NULL);
	g_free(dir);
	g_free(exe);
	return path;
}

/* --nest D: KERNEL at level D. Level 1 is the run under the engine's
 * monitor as it is; each level more puts one tinyvmm between them. By
 * default the stack is faithful: the engine's monitor as given (shadow
 * paging unless --monitor says otherwise), every tinyvmm with its own
 * trap path and shadow paging, each in a reserved slot of its own (slot=,
 * docs/monitor.md section 8). With --assist the engine's monitor uses
 * nested paging and offers the outermost tinyvmm the assist; each tinyvmm
 * that runs another uses nested paging, so it offers it in turn; the
 * innermost shadow-pages KERNEL. KERNEL and its modules become the
 * innermost tinyvmm's, --mem is KERNEL's RAM, and every tinyvmm gets 24 MiB
 * more than the one it runs (itself, its modules, its monitor pages). */
#define NEST_MAX 8
#define NEST_LEVEL_MIB 24

/* The command line of level k's tinyvmm (k = 1 outermost) of n. */
static char *tinyvmm_args(int k, int n, int mib, gboolean assist)
{
	int guest_mib = mib + NEST_LEVEL_MIB * (n - k);
	if (assist)
		return g_strdup_printf("trap=assist %smem=%d", k < n ? "paging=nested " : "", guest_mib);
	return g_strdup_printf("slot=%d mem=%d", k - 1, guest_mib);
}

static int build_stack(GOptionContext *ctx)
{
	if (o.nest < 0 && !o.tinyvmm)
		return 0;
	if (o.nest < 0)
		return usage_error(ctx, "--tinyvmm only makes sense with --nest 2 or more%s", "");
	if (o.nest < 1 || o.nest > NEST_MAX)
		return usage_error(ctx, "--nest must be a level from 1 to 8 (KERNEL's level in the stack "
		                   "of monitors)%s", "");
	if (!g.kernel)
		return usage_error(ctx, "--nest needs a multiboot KERNEL to run at that level%s", "");
	if (o.nest == 1) {
		if (g.monitor == MACHINE_MONITOR_NONE)
			return usage_error(ctx, "--nest 1 runs KERNEL under the engine's monitor: leave out "
			                   "--monitor=none%s", "");
		return 0;
	}
	if (o.assist && o.monitor && g.monitor != MACHINE_MONITOR_NESTED)
		return usage_error(ctx, "--nest with --assist runs tinyvmm under the engine's monitor "
		                   "with nested paging: leave out --monitor or give --monitor=nested%s", "");
	if (g.monitor == MACHINE_MONITOR_NONE)
		return usage_error(ctx, "--nest runs the stack under the engine's monitor: leave out "
		                   "--monitor=none%s", "");
	int n = o.nest - 1; /* tinyvmms */
	if (g.n_modules + n > MACHINE_MAX_MODULES)
		return usage_error(ctx, "--nest makes KERNEL and the inner tinyvmms modules: too many "
		                   "--module options for this depth (16 modules in all)%s", "");
	const char *tinyvmm = o.tinyvmm ? o.tinyvmm : keep(default_tinyvmm());
	if (!tinyvmm || !g_file_test(tinyvmm, G_FILE_TEST_IS_REGULAR))
		return usage_error(ctx, "--nest: no tinyvmm at '%s': build it (ninja -C build) or "
		                   "give --tinyvmm FILE", tinyvmm ? tinyvmm : "?");
	int mib = o.mem ? o.mem : 32;
	if (mib + NEST_LEVEL_MIB * n > (gint)MACHINE_MEM_MAX_MIB)
		return usage_error(ctx, "--nest: KERNEL's --mem and 24 MiB for each tinyvmm must fit the "
		                   "machine's 3072 MiB%s", "");
	memmove(&g.modules[n], &g.modules[0], (size_t)g.n_modules * sizeof g.modules[0]);
	g.modules[n - 1] = (struct machine_module){ .path = g.kernel, .args = o.cmdline };
	for (int k = 2; k <= n; k++)
		g.modules[k - 2] = (struct machine_module){
			.path = tinyvmm, .args = keep(tinyvmm_args(k, n, mib, o.assist)),
		};
	g.n_modules += n;
	g.kernel = tinyvmm;
	o.cmdline = keep(tinyvmm_args(1, n, mib, o.assist));
	o.mem = mib + NEST_LEVEL_MIB * n;
	if (o.assist)
		g.monitor = MACHINE_MONITOR_NESTED;
	return 0;
}

/* Returns 0 if the options make sense, else the exit status. */
static int check_options(GOptionContext *ctx, int argc, char **argv, uint16_t *post)
{
	if (argc > 2)
		return usage_error(ctx, "unexpected argument '%s' (one KERNEL at most)", argv[2]);
	if (argc == 2) {
		if (argv[1][0] == '-' && argv[1][1])
			return usage_error(ctx, "unknown option '%s'", argv[1]);
		g.kernel = argv[1];
	}
	if (o.mem && (o.mem < 1 || o.mem > (gint)MACHINE_MEM_MAX_MIB))
		return usage_error(ctx, "--mem must be between 1 and 3072 MiB%s", "");
	if (o.max_insns < 0)
		return usage_error(ctx, "--max-insns must be a positive number%s", "");
	if (o.monitor && !parse_monitor(o.monitor, &g.monitor))
		return usage_error(ctx, "--monitor '%s' must be shadow, nested or none", o.monitor);
	if (o.cpu && !strcmp(o.cpu, "help")) {
		machine_cpu_help(stdout);
		g_option_context_free(ctx);
		exit(0);
	}
	for (char **d = o.devices; d && *d; d++)
		if (strcmp(*d, "pc-testdev") != 0)
			return usage_error(ctx, "--device '%s': the only device to add is pc-testdev", *d);
	GError *cpu_err = NULL;
	if (o.cpu && !machine_cpu_check(o.cpu, &cpu_err)) {
		int st = usage_error(ctx, "%s", cpu_err->message);
		g_error_free(cpu_err);
		return st;
	}
	/* The default: a kernel or flat binary runs under the shadow-paging
	 * monitor; a ROM runs bare (under a monitor only from its switch to
	 * protected mode, and some CPU test ROMs need what the monitor does not
	 * emulate yet: docs/monitor.md). */
	if (!o.monitor)
		g.monitor = (g.kernel || o.flat) && !o.rom ? MACHINE_MONITOR_SHADOW : MACHINE_MONITOR_NONE;
	for (int i = 0; o.vms && o.vms[i]; i++) {
		const char *why;
		if (i >= MACHINE_MAX_VMS)
			return usage_error(ctx, "too many --vm (at most 8)%s", "");
		if (!parse_vm(o.vms[i], i, &why)) {
			gchar *msg = g_strdup_printf("--vm '%s': %s", o.vms[i], why);
			int rc = usage_error(ctx, "%s", msg);
			g_free(msg);
			return rc;
		}
		g.n_vms = i + 1;
	}
	if (g.n_vms && g.monitor == MACHINE_MONITOR_NONE)
		return usage_error(ctx, "--vm runs VMs under the monitor: add --monitor=shadow or "
		                   "--monitor=nested%s", "");
	g_vm_events = g_array_new(FALSE, TRUE, sizeof(struct vm_event));
	for (int i = 0; o.vm_at && o.vm_at[i]; i++) {
		struct vm_event ev;
		if (!parse_vm_at(o.vm_at[i], &ev))
			return usage_error(ctx, "--vm-at '%s' must be pause:NAME@N, resume:NAME@N or "
			                   "destroy:NAME@N (N instructions)", o.vm_at[i]);
		g_array_append_val(g_vm_events, ev);
	}
	for (int i = 0; o.vm_save_at && o.vm_save_at[i]; i++) {
		struct vm_event ev;
		if (!parse_vm_save_at(o.vm_save_at[i], &ev))
			return usage_error(ctx, "--vm-save-at '%s' must be NAME@N:FILE (N instructions)",
			                   o.vm_save_at[i]);
		g_array_append_val(g_vm_events, ev);
	}
	for (int i = 0; o.vm_load && o.vm_load[i]; i++) {
		const char *eq = strchr(o.vm_load[i], '=');
		if (!eq || eq == o.vm_load[i] || !eq[1])
			return usage_error(ctx, "--vm-load '%s' must be NAME=FILE", o.vm_load[i]);
	}
	if (o.faithful && g.monitor == MACHINE_MONITOR_NONE)
		return usage_error(ctx, "--faithful-i386 only makes sense under a monitor "
		                   "(--monitor=shadow or nested)%s", "");
	if (o.assist && g.monitor == MACHINE_MONITOR_SHADOW && o.nest < 2) /* --nest: build_stack */
		return usage_error(ctx, "--assist under the engine's monitor needs --monitor=nested (its "
		                   "shadow paging does not virtualize the assist yet), or --monitor=none%s", "");
	if (o.post_port && !parse_port(o.post_port, post))
		return usage_error(ctx, "--post-port '%s' is not a port number from 1 to 0xffff",
		                   o.post_port);
	if ((o.form || o.details || o.known) && !o.vectors)
		return usage_error(ctx, "--form, --details and --known only make sense with --vectors%s",
		                   "");
	if (o.details < 0)
		return usage_error(ctx, "--details must be a positive number%s", "");
	int boots = !!o.rom + !!g.kernel + !!o.flat + !!o.vectors;
	if (boots > 1)
		return usage_error(ctx, "give one of KERNEL, --rom, --flat or --vectors%s", "");
	if (!boots)
		return usage_error(ctx, "nothing to run: give a multiboot KERNEL, --rom FILE, "
		                   "--flat FILE@ADDR or --vectors DIR%s", "");
	int code = check_guest_options(ctx);
	if (code)
		return code;
	code = build_stack(ctx);
	if (code)
		return code;
	g_option_context_free(ctx);
	return 0;
}

/* }====================================================================== */

/* {====== running a guest ====== */

static void trace_line(FILE *f, const struct machine_regs *r)
{
	fprintf(f,
	        "%" PRIu64 " eip=%08x eax=%08x ecx=%08x edx=%08x ebx=%08x esp=%08x ebp=%08x "
	        "esi=%08x edi=%08x efl=%08x cs=%04x ss=%04x ds=%04x es=%04x fs=%04x gs=%04x "
	        "cr0=%08x cr2=%08x cr3=%08x cr4=%08x cpl=%u\n",
	        r->icount, r->eip, r->eax, r->ecx, r->edx, r->ebx, r->esp, r->ebp, r->esi, r->edi,
	        r->eflags, r->cs, r->ss, r->ds, r->es, r->fs, r->gs, r->cr0, r->cr2, r->cr3, r->cr4,
	        r->cpl);
}

static enum machine_stop run_traced(struct machine *m, FILE *trace, uint64_t max)
{
	struct machine_regs r;
	for (;;) {
		machine_get_guest_regs(m, &r);
		if (max && r.icount >= max)
			return MACHINE_LIMIT;
		trace_line(trace, &r);
		enum machine_stop st = machine_step(m);
		if (st != MACHINE_LIMIT)
			return st;
	}
}

/* Says on stderr how the run ended; returns the exit status. */
static int report_end(struct machine *m, enum machine_stop st)
{
	struct machine_regs r;
	machine_get_guest_regs(m, &r);
	int status = 0;
	int64_t post = machine_post_code(m);
	if (post >= 0 && o.rom) /* kernels use port 0x80 as an I/O delay */
		fprintf(stderr, "nestlab-run: POST code 0x%02" PRIx64 "\n", post);
	switch (st) {
	case MACHINE_EXIT:
		machine_exit_status(m, &status);
		return status & 0xff;
	case MACHINE_SHUTDOWN:
		fprintf(stderr, "nestlab-run: the machine shut down (%s) at %04x:%08x after %" PRIu64
		        " instructions\n", machine_shutdown_reason(m), r.cs, r.eip, r.icount);
		return EXIT_SHUTDOWN;
	case MACHINE_HALT:
		fprintf(stderr, "nestlab-run: the guest halted at %04x:%08x with nothing to wake it, "
		        "without writing the exit port 0xf4\n", r.cs, r.eip);
		return EXIT_HALT;
	case MACHINE_LIMIT:
		fprintf(stderr, "nestlab-run: stopped at the instruction limit (%" PRIu64
		        " instructions) at %04x:%08x\n", r.icount, r.cs, r.eip);
		return EXIT_LIMIT;
	case MACHINE_STOPPED:
	case MACHINE_BREAK:
		fprintf(stderr, "nestlab-run: interrupted at %04x:%08x after %" PRIu64 " instructions\n",
		        r.cs, r.eip, r.icount);
		return EXIT_INTERRUPTED;
	}
	return EXIT_SHUTDOWN;
}

/* Instructions all the VMs (or the bare machine) have retired. */
static uint64_t total_icount(struct machine *m)
{
	unsigned n = machine_vm_count(m);
	struct machine_regs r;
	if (n == 0) {
		machine_get_regs(m, &r);
		return r.icount;
	}
	uint64_t sum = 0;
	for (unsigned i = 0; i < n; i++) {
		struct machine_vm_info info;
		if (machine_vm_info(m, i, &info))
			sum += info.regs.icount;
	}
	return sum;
}

static int cmp_events(const void *a, const void *b)
{
	const struct vm_event *x = a, *y = b;
	return x->at < y->at ? -1 : x->at > y->at;
}

/* {====== VM snapshots (--vm-save-at, --vm-load) ====== */

static int g_vm_file_code; /* the exit status after a VM snapshot failed, or 0 */

/* --vm-save-at's event: VM ev->name to ev->file (its name checked by
 * load_vms). False, with g_vm_file_code set, if the file cannot be written. */
static bool save_vm(struct machine *m, const struct vm_event *ev)
{
	int i = machine_vm_find(m, ev->name);
	struct machine_vm_info info;
	GError *error = NULL;
	if (i < 0 || !machine_vm_info(m, (unsigned)i, &info) ||
	    info.state == MACHINE_VM_DESTROYED) {
		fprintf(stderr, "nestlab-run: at %" PRIu64 " instructions: VM %s was destroyed: no VM "
		        "snapshot written to %s\n", ev->at, ev->name, ev->file);
		return true;
	}
	if (!trc_snap_write_vm(ev->file, m, (unsigned)i, &error)) {
		fprintf(stderr, "nestlab-run: cannot write the VM snapshot: %s\n", error->message);
		g_error_free(error);
		g_vm_file_code = EXIT_CANTCREAT;
		return false;
	}
	fprintf(stderr, "nestlab-run: at %" PRIu64 " instructions: VM %s (at its instruction %"
	        PRIu64 ") written to %s\n", ev->at, ev->name, info.regs.icount, ev->file);
	return true;
}

/* Checks the VM names of --vm-save-at and loads each --vm-load. Returns 0,
 * or an exit status after a message. */
static int load_vms(struct machine *m)
{
	for (guint e = 0; e < g_vm_events->len; e++) {
		const struct vm_event *ev = &g_array_index(g_vm_events, struct vm_event, e);
		if (ev->what == EV_SAVE && machine_vm_find(m, ev->name) < 0) {
			fprintf(stderr, "nestlab-run: --vm-save-at: there is no VM called '%s' (VMs are "
			        "vm0 and the names --vm gives)\n", ev->name);
			return EXIT_USAGE;
		}
	}
	for (int k = 0; o.vm_load && o.vm_load[k]; k++) {
		char *name = g_strndup(o.vm_load[k], (gsize)(strchr(o.vm_load[k], '=') - o.vm_load[k]));
		const char *path = strchr(o.vm_load[k], '=') + 1;
		int i = machine_vm_find(m, name), code = 0;
		GBytes *state = NULL;
		uint64_t icount = 0;
		GError *error = NULL;
		if (i < 0) {
			fprintf(stderr, "nestlab-run: --vm-load: there is no VM called '%s' to load into "
			        "(give it with --vm %s:KERNEL)\n", name, name);
			code = EXIT_USAGE;
		} else if (!trc_snap_read_vm(path, &state, &icount, &error)) {
			code = error->domain == TRC_FILE_ERROR && error->code == TRC_FILE_ERROR_IO
			       ? EXIT_NOINPUT : EXIT_BAD_SNAPSHOT;
		} else {
			gsize len;
			const uint8_t *b = g_bytes_get_data(state, &len);
			if (!machine_vm_load(m, (unsigned)i, b, len, &error))
				code = EXIT_BAD_SNAPSHOT;
			else
				fprintf(stderr, "nestlab-run: VM %s loaded from %s (at its instruction %"
				        PRIu64 ")\n", name, path, icount);
		}
		if (error) {
			fprintf(stderr, "nestlab-run: cannot load VM %s from %s: %s\n", name, path,
			        error->message);
			g_error_free(error);
		}
		if (state)
			g_bytes_unref(state);
		g_free(name);
		if (code)
			return code;
	}
	return 0;
}

/* }====================================================================== */

/* machine_run, stopping at each --vm-at point to pause, resume or destroy
 * and each --vm-save-at point to save a VM. */
static enum machine_stop run_with_vm_events(struct machine *m, uint64_t max)
{
	g_array_sort(g_vm_events, cmp_events);
	for (guint e = 0; e < g_vm_events->len; e++) {
		const struct vm_event *ev = &g_array_index(g_vm_events, struct vm_event, e);
		uint64_t done = total_icount(m);
		if (max && ev->at >= max)
			break;
		if (ev->at > done) {
			enum machine_stop st = machine_run(m, ev->at - done);
			if (st != MACHINE_LIMIT) {
				for (guint k = e; k < g_vm_events->len; k++) {
					const struct vm_event *later = &g_array_index(g_vm_events, struct vm_event, k);
					if (later->what == EV_SAVE)
						fprintf(stderr, "nestlab-run: the machine stopped before instruction %"
						        PRIu64 ": no VM snapshot written to %s\n", later->at,
						        later->file);
				}
				return st;
			}
		}
		if (ev->what == EV_SAVE) {
			if (!save_vm(m, ev))
				return MACHINE_STOPPED;
			continue;
		}
		int i = machine_vm_find(m, ev->name);
		static const char *const verb[] = { "pause", "resume", "destroy" };
		bool ok = i >= 0 && (ev->what == EV_PAUSE ? machine_vm_pause(m, (unsigned)i)
		                     : ev->what == EV_RESUME ? machine_vm_resume(m, (unsigned)i)
		                                             : machine_vm_destroy(m, (unsigned)i));
		fprintf(stderr, "nestlab-run: at %" PRIu64 " instructions: %s %s%s\n", ev->at,
		        verb[ev->what], ev->name, ok ? "" : i < 0 ? ": no such VM" : ": not possible now");
	}
	uint64_t done = total_icount(m);
	if (max && done >= max)
		return MACHINE_LIMIT;
	return machine_run(m, max ? max - done : 0);
}

/* The other VMs' ends and consoles, after the run. */
static void report_vms(struct machine *m)
{
	for (unsigned i = 1; i < machine_vm_count(m); i++) {
		struct machine_vm_info info;
		if (!machine_vm_info(m, i, &info))
			continue;
		const GByteArray *con = machine_vm_console(m, i);
		if (con && con->len) {
			gchar *text = g_strndup((const gchar *)con->data, con->len);
			gchar **lines = g_strsplit(text, "\n", -1);
			for (int k = 0; lines[k]; k++)
				if (lines[k][0] || lines[k + 1])
					printf("[%s] %s\n", info.name, lines[k]);
			g_strfreev(lines);
			g_free(text);
		}
		const char *state = info.state == MACHINE_VM_DESTROYED ? "destroyed"
		                    : info.state == MACHINE_VM_PAUSED ? "paused"
		                    : info.state == MACHINE_VM_RUNNING ? "still running"
		                                                       : machine_stop_name(info.stop);
		fprintf(stderr, "nestlab-run: vm %s: %s", info.name, state);
		if (info.exit_status >= 0)
			fprintf(stderr, ", exit status %d", info.exit_status);
		if (info.why && info.state == MACHINE_VM_STOPPED)
			fprintf(stderr, " (%s)", info.why);
		fprintf(stderr, ", %" PRIu64 " instructions\n", info.regs.icount);
		if (o.state_hash) {
			char h[65];
			if (machine_vm_state_hash(m, i, h))
				fprintf(stderr, "nestlab-run: vm %s: state hash %s\n", info.name, h);
		}
	}
	fflush(stdout);
}

static void print_stats(struct machine *m, gint64 t0)
{
	struct machine_regs r;
	machine_get_regs(m, &r);
	double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
	fprintf(stderr, "nestlab-run: %" PRIu64 " instructions, %" PRIu64 " cycles, %.3f host seconds, "
	        "%.2f MIPS, %.6f virtual seconds\n", r.icount, r.cycles, secs,
	        secs > 0 ? (double)r.icount / secs / 1e6 : 0.0, (double)machine_time_ns(m) / 1e9);
}

static FILE *open_trace(const char *path)
{
	if (strcmp(path, "-") == 0)
		return stdout;
	FILE *f = fopen(path, "w");
	if (f)
		setvbuf(f, NULL, _IOFBF, 1 << 20);
	return f;
}

/* The exit status for an error building the machine. */
static int build_error_status(const GError *e)
{
	if (e->domain == G_FILE_ERROR)
		return e->code == G_FILE_ERROR_NOENT ? EXIT_NOINPUT
		       : e->code == G_FILE_ERROR_ACCES || e->code == G_FILE_ERROR_PERM ? EXIT_NOPERM
		       : EXIT_NOINPUT;
	if (e->domain == BOOT_ERROR) {
		switch (e->code) {
		case BOOT_ERROR_NOT_KERNEL: return EXIT_NOT_KERNEL;
		case BOOT_ERROR_ELF: return EXIT_BAD_ELF;
		case BOOT_ERROR_ARCH: return EXIT_WRONG_ARCH;
		case BOOT_ERROR_NO_HEADER: return EXIT_NO_MB_HEADER;
		case BOOT_ERROR_BAD_HEADER: return EXIT_BAD_MB_HEADER;
		case BOOT_ERROR_OVERLAP: return EXIT_OVERLAP;
		case BOOT_ERROR_TOO_BIG: return EXIT_TOO_BIG;
		}
		return EXIT_NOT_KERNEL;
	}
	if (e->domain == NESTLAB_ERROR) {
		switch (e->code) {
		case NESTLAB_ERROR_CONFIG: return EXIT_USAGE;
		case NESTLAB_ERROR_DISK: return EXIT_BAD_DISK;
		case NESTLAB_ERROR_DISK_READONLY: return EXIT_DISK_READONLY;
		case NESTLAB_ERROR_KERNEL: return EXIT_NOT_KERNEL;
		default: return EXIT_NOINPUT;
		}
	}
	return EXIT_NOINPUT;
}

/* {====== snapshots ====== */

static char **g_args;       /* the arguments that build the guest (saved in snapshots) */
static bool gdb_given;      /* --gdb was on the command line */
static bool g_replaying;    /* --replay FILE */
static struct trc_rec_reader *g_replay;
static GBytes *g_restore;   /* the state --restore loads */
static uint64_t g_snap_at;  /* --snapshot-at N ... */
static const char *g_snap_file; /* ... FILE */

/* Accepts '--snapshot-at N FILE' as well as '--snapshot-at=N:FILE'. */
static void join_snapshot_at(int *argc, char ***argv)
{
	for (int i = 1; i + 2 < *argc; i++) {
		if (strcmp((*argv)[i], "--snapshot-at") != 0 || strchr((*argv)[i + 1], ':'))
			continue;
		char *joined = g_strdup_printf("--snapshot-at=%s:%s", (*argv)[i + 1], (*argv)[i + 2]);
		(*argv)[i] = keep(joined);
		memmove(&(*argv)[i + 1], &(*argv)[i + 3], (size_t)(*argc - i - 3) * sizeof(char *));
		*argc -= 2;
		(*argv)[*argc] = NULL;
	}
}

/* The arguments to save in a snapshot: all but the snapshot options. */
static char **guest_args(int argc, char **argv)
{
	/* The options that are about this run, not the machine (with their
	 * value when it is the next argument). */
	static const char *const own[] = { "--snapshot-at", "--restore", "--gdb", "--record",
	                                   "--replay", "--vm-save-at", "--vm-load", "--history-mib" };
	GPtrArray *a = g_ptr_array_new();
	for (int i = 1; i < argc; i++) {
		bool skip = strcmp(argv[i], "--no-history") == 0;
		for (size_t k = 0; !skip && k < G_N_ELEMENTS(own); k++) {
			if (strcmp(argv[i], own[k]) == 0) {
				skip = true;
				i++; /* its value */
			} else if (g_str_has_prefix(argv[i], own[k]) && argv[i][strlen(own[k])] == '=') {
				skip = true;
			}
		}
		if (!skip)
			g_ptr_array_add(a, g_strdup(argv[i]));
	}
	g_ptr_array_add(a, NULL);
	return (char **)g_ptr_array_free(a, FALSE);
}

/* --restore FILE: the saved arguments go first, then the ones given now.
 * Returns 0, or an exit status after a message. */
static int load_restore(int *argc, char ***argv)
{
	const char *path = NULL;
	int at = -1, n = 0;
	for (int i = 1; i < *argc; i++) {
		if (strcmp((*argv)[i], "--restore") == 0 && i + 1 < *argc) {
			path = (*argv)[i + 1], at = i, n = 2;
		} else if (g_str_has_prefix((*argv)[i], "--restore=")) {
			path = (*argv)[i] + strlen("--restore="), at = i, n = 1;
		}
	}
	for (int i = 1; !path && i < *argc; i++) {
		if (strcmp((*argv)[i], "--replay") == 0 && i + 1 < *argc)
			path = (*argv)[i + 1], at = i, n = 2, g_replaying = true;
		else if (g_str_has_prefix((*argv)[i], "--replay="))
			path = (*argv)[i] + strlen("--replay="), at = i, n = 1, g_replaying = true;
	}
	if (!path)
		return 0;
	char **saved;
	uint64_t icount;
	GError *error = NULL;
	if (g_replaying) {
		g_replay = trc_rec_open(path, &saved, &g_restore, &icount, &error);
		if (g_replay && trc_rec_warning(g_replay))
			fprintf(stderr, "nestlab-run: %s\n", trc_rec_warning(g_replay));
	}
	if (g_replaying ? !g_replay : !trc_snap_read(path, &saved, &g_restore, &icount, &error)) {
		fprintf(stderr, "nestlab-run: cannot %s: %s\n", g_replaying ? "replay" : "restore",
		        error->message);
		int code = error->domain == TRC_FILE_ERROR && error->code == TRC_FILE_ERROR_IO
		           ? EXIT_NOINPUT : EXIT_BAD_SNAPSHOT;
		g_error_free(error);
		return code;
	}
	GPtrArray *v = g_ptr_array_new();
	g_ptr_array_add(v, (*argv)[0]);
	for (char **p = saved; *p; p++)
		g_ptr_array_add(v, keep(g_strdup(*p)));
	for (int i = 1; i < *argc; i++)
		if (i < at || i >= at + n)
			g_ptr_array_add(v, (*argv)[i]);
	g_strfreev(saved);
	*argc = (int)v->len;
	g_ptr_array_add(v, NULL);
	*argv = (char **)g_ptr_array_free(v, FALSE);
	fprintf(stderr, "nestlab-run: %s %s (from instruction %" PRIu64 ")\n",
	        g_replaying ? "replaying" : "restoring", path, icount);
	return 0;
}

static bool parse_snapshot_at(const char *spec)
{
	const char *colon = strchr(spec, ':');
	if (!colon || colon == spec || !colon[1])
		return false;
	char *num = g_strndup(spec, (size_t)(colon - spec));
	char *end;
	errno = 0;
	g_snap_at = g_ascii_strtoull(num, &end, 10);
	bool ok = *end == 0 && errno == 0 && g_snap_at > 0;
	g_free(num);
	g_snap_file = colon + 1;
	return ok;
}

/* Runs to --snapshot-at's instruction and writes the snapshot there.
 * Returns MACHINE_LIMIT to go on, another stop if the guest ended first,
 * or sets *code on a write error. */
static enum machine_stop run_to_snapshot(struct machine *m, int *code)
{
	uint64_t done = total_icount(m);
	if (g_snap_at > done) {
		enum machine_stop st = machine_run(m, g_snap_at - done);
		if (st != MACHINE_LIMIT) {
			fprintf(stderr, "nestlab-run: the guest stopped before instruction %" PRIu64
			        ": no snapshot written\n", g_snap_at);
			return st;
		}
	}
	GError *error = NULL;
	uint64_t at = total_icount(m);
	if (!trc_snap_write(g_snap_file, m, at, g_args, &error)) {
		fprintf(stderr, "nestlab-run: cannot write the snapshot: %s\n", error->message);
		g_error_free(error);
		*code = EXIT_CANTCREAT;
		return MACHINE_STOPPED;
	}
	fprintf(stderr, "nestlab-run: snapshot at instruction %" PRIu64 " written to %s\n", at,
	        g_snap_file);
	return MACHINE_LIMIT;
}

/* }====================================================================== */

/* {====== gdb ====== */

/* Serves gdb sessions until one detaches (the run goes on: MACHINE_LIMIT)
 * or kills the run (MACHINE_STOPPED), or the guest ends while debugged. */
static enum machine_stop serve_gdb(struct machine *m, int *code)
{
	GError *error = NULL;
	struct trc_gdb *stub = trc_gdb_listen(NULL, (uint16_t)o.gdb, &error);
	if (!stub) {
		fprintf(stderr, "nestlab-run: --gdb %d: %s\n", o.gdb, error->message);
		g_error_free(error);
		*code = EXIT_CANTCREAT;
		return MACHINE_STOPPED;
	}
	struct trc_dbg *d = trc_dbg_new(m, !o.no_history, (size_t)o.history_mib << 20);
	enum machine_stop st = MACHINE_LIMIT;
	for (;;) {
		fprintf(stderr, "nestlab-run: waiting for gdb on 127.0.0.1:%u\n", trc_gdb_port(stub));
		fflush(stderr);
		if (!trc_gdb_accept(stub, &error)) {
			fprintf(stderr, "nestlab-run: gdb: %s\n", error->message);
			g_error_free(error);
			*code = EXIT_CANTCREAT;
			st = MACHINE_STOPPED;
			break;
		}
		enum trc_gdb_end e = trc_gdb_serve(stub, trc_dbg_ops(), d);
		if (e == TRC_GDB_END_DETACH) {
			fprintf(stderr, "nestlab-run: gdb detached; the run goes on\n");
			break;
		}
		if (e == TRC_GDB_END_KILL) {
			fprintf(stderr, "nestlab-run: gdb ended the run\n");
			st = MACHINE_STOPPED;
			break;
		}
		fprintf(stderr, "nestlab-run: gdb went away\n");
	}
	enum machine_stop end;
	if (st == MACHINE_LIMIT && trc_dbg_ended(d, &end))
		st = end;
	trc_dbg_free(d);
	trc_gdb_free(stub);
	return st;
}

/* }====================================================================== */

/* {====== recording and replay ====== */

#define RECORD_EVERY 20000000u /* instructions between a recording's checkpoints */

static void end_of(struct machine *m, int code, struct trc_rec_end *e)
{
	*e = (struct trc_rec_end){ .icount = total_icount(m), .status = code };
	machine_state_hash(m, e->state_hash);
	machine_console_hash(m, e->console_hash);
}

#define RECORD_INPUT_EVERY 100000u /* instructions between two reads of stdin while recording */

static GError *g_rec_error; /* the first error writing an input record */

/* The recording's input log: each input goes to the file as it comes. */
static void record_input(void *opaque, const struct machine_input_event *ev)
{
	if (!g_rec_error && !trc_rec_input(opaque, ev, &g_rec_error))
		machine_request_stop(g_machine);
}

/* Runs `n` instructions as short runs when a serial port reads stdin: the
 * machine reads it where a run begins (a moment a replay finds again). */
static enum machine_stop run_reading_stdin(struct machine *m, uint64_t n)
{
	bool stdio = g.serial[0].kind == MACHINE_SERIAL_STDIO ||
	             g.serial[1].kind == MACHINE_SERIAL_STDIO;
	const uint64_t start = total_icount(m);
	for (;;) {
		uint64_t done = total_icount(m) - start;
		if (done >= n)
			return MACHINE_LIMIT;
		uint64_t step = stdio ? MIN(RECORD_INPUT_EVERY, n - done) : n - done;
		enum machine_stop st = machine_run(m, step);
		if (st != MACHINE_LIMIT || total_icount(m) - start == done)
			return st;
	}
}

/* Runs while recording to o.record; *code is set on a write error. */
static enum machine_stop run_recorded(struct machine *m, struct trc_rec_writer **w, int *code)
{
	GError *error = NULL;
	*w = trc_rec_create(o.record, m, total_icount(m), g_args, &error);
	if (!*w) {
		fprintf(stderr, "nestlab-run: cannot record: %s\n", error->message);
		g_error_free(error);
		*code = EXIT_CANTCREAT;
		return MACHINE_STOPPED;
	}
	uint64_t max = (uint64_t)o.max_insns;
	for (;;) {
		uint64_t done = total_icount(m), n = RECORD_EVERY;
		if (max && done >= max)
			return MACHINE_LIMIT;
		if (max && max - done < n)
			n = max - done;
		machine_set_input_log(m, record_input, *w);
		enum machine_stop st = run_reading_stdin(m, n);
		machine_set_input_log(m, NULL, NULL);
		if (g_rec_error) {
			fprintf(stderr, "nestlab-run: recording failed: %s\n", g_rec_error->message);
			g_clear_error(&g_rec_error);
			*code = EXIT_IOERR;
			return MACHINE_STOPPED;
		}
		if (st != MACHINE_LIMIT || (max && total_icount(m) >= max))
			return st;
		struct trc_rec_end mark;
		end_of(m, 0, &mark);
		if (!trc_rec_checkpoint(*w, m, &mark, &error)) {
			fprintf(stderr, "nestlab-run: recording failed: %s\n", error->message);
			g_error_free(error);
			*code = EXIT_IOERR;
			return MACHINE_STOPPED;
		}
	}
}

/* The machine at `want`'s instruction count must look as it says. */
static bool meets(struct machine *m, const struct trc_rec_end *want, const char *what)
{
	struct trc_rec_end mine;
	end_of(m, 0, &mine);
	if (mine.icount == want->icount && !strcmp(mine.state_hash, want->state_hash) &&
	    !strcmp(mine.console_hash, want->console_hash))
		return true;
	fprintf(stderr, "nestlab-run: the replay differs from the recording at %s: instruction %"
	        PRIu64 ", state hash %s, console hash %s; the recording has %" PRIu64 ", %s, %s\n",
	        what, mine.icount, mine.state_hash, mine.console_hash, want->icount,
	        want->state_hash, want->console_hash);
	return false;
}

static GArray *g_replay_moments; /* struct machine_input_event (no bytes), as recorded */
static guint g_replayed;         /* inputs injected so far */
static char g_replay_wrong[256]; /* the first input injected at another moment */

/* The replay's input log: each input must take effect at its recorded moment. */
static void replayed_input(void *opaque, const struct machine_input_event *ev)
{
	const struct machine_input_event *want =
		g_replayed < g_replay_moments->len
		? &g_array_index(g_replay_moments, struct machine_input_event, g_replayed) : NULL;
	g_replayed++;
	if (g_replay_wrong[0] || (want && want->icount == ev->icount && want->cycles == ev->cycles))
		return;
	g_snprintf(g_replay_wrong, sizeof g_replay_wrong,
	           "its input %u took effect at instruction %" PRIu64 " (cycle %" PRIu64 "); the "
	           "recording has %" PRIu64 " (cycle %" PRIu64 ")", g_replayed, ev->icount,
	           ev->cycles, want ? want->icount : 0, want ? want->cycles : 0);
}

/* Hands the recording's input log to the machine; false (after a message)
 * if an input record is damaged. */
static bool queue_inputs(struct machine *m)
{
	g_replay_moments = g_array_new(FALSE, FALSE, sizeof(struct machine_input_event));
	for (size_t i = 0; i < trc_rec_inputs(g_replay); i++) {
		struct machine_input_event ev;
		GBytes *data = NULL;
		GError *error = NULL;
		bool ok = trc_rec_input_at(g_replay, i, &ev, &data, &error) &&
		          machine_replay_input(m, &ev, &error);
		if (data)
			g_bytes_unref(data);
		if (!ok) {
			fprintf(stderr, "nestlab-run: cannot replay: %s\n", error->message);
			g_error_free(error);
			return false;
		}
		ev.data = NULL;
		g_array_append_val(g_replay_moments, ev);
	}
	machine_set_input_log(m, replayed_input, NULL);
	return true;
}

/* False (after a message) once an input took effect at another moment. */
static bool inputs_met(void)
{
	if (!g_replay_wrong[0])
		return true;
	fprintf(stderr, "nestlab-run: the replay differs from the recording: %s\n", g_replay_wrong);
	return false;
}

/* Replays g_replay: each mark must be met exactly, then the end. */
static enum machine_stop run_replayed(struct machine *m, int *code)
{
	enum machine_stop st = MACHINE_LIMIT;
	size_t n = trc_rec_marks(g_replay);
	if (!queue_inputs(m)) {
		*code = EXIT_BAD_SNAPSHOT;
		return MACHINE_STOPPED;
	}
	for (size_t i = 0; i < n; i++) {
		struct trc_rec_end mark;
		GError *error = NULL;
		if (!trc_rec_mark(g_replay, i, &mark, &error)) {
			fprintf(stderr, "nestlab-run: cannot replay: %s\n", error->message);
			g_error_free(error);
			*code = EXIT_BAD_SNAPSHOT;
			return MACHINE_STOPPED;
		}
		uint64_t now = total_icount(m);
		if (mark.icount > now)
			st = machine_run(m, mark.icount - now);
		char what[64];
		g_snprintf(what, sizeof what, "its checkpoint %zu", i + 1);
		if (st != MACHINE_LIMIT || !inputs_met() || !meets(m, &mark, what)) {
			*code = EXIT_REPLAY_DIFFERS;
			return MACHINE_STOPPED;
		}
	}
	struct trc_rec_end end;
	if (!trc_rec_end(g_replay, &end)) {
		fprintf(stderr, "nestlab-run: the recording has no end (it was cut short); the replay "
		        "met all its %zu checkpoints and stops at the last\n", n);
		*code = EXIT_REPLAY_SHORT;
		return MACHINE_STOPPED;
	}
	uint64_t now = total_icount(m);
	if (end.icount > now)
		st = machine_run(m, end.icount - now);
	if (!inputs_met() || !meets(m, &end, "its end")) {
		*code = EXIT_REPLAY_DIFFERS;
		return MACHINE_STOPPED;
	}
	fprintf(stderr, "nestlab-run: replay identical to the recording: %zu checkpoint%s, %u input%s "
	        "and the end (instruction %" PRIu64 ", state hash %s)\n", n, n == 1 ? "" : "s",
	        g_replay_moments->len, g_replay_moments->len == 1 ? "" : "s", end.icount,
	        end.state_hash);
	return st;
}

/* }====================================================================== */

/* --itrace: the full instruction trace of the run (trace/itrace). */
static struct trc_itrace_writer *start_itrace(struct machine *m)
{
	struct trc_itrace_state start;
	trc_itrace_state_of(m, &start);
	GError *error = NULL;
	struct trc_itrace_writer *w = trc_itrace_create(o.itrace, 0, &start, &error);
	if (w && !trc_itrace_attach(w, m, &error)) {
		trc_itrace_finish(w, NULL);
		w = NULL;
	}
	if (!w) {
		fprintf(stderr, "nestlab-run: cannot write the instruction trace: %s\n", error->message);
		g_error_free(error);
	}
	return w;
}

static bool finish_itrace(struct machine *m, struct trc_itrace_writer *w)
{
	trc_itrace_detach(m);
	uint64_t steps = trc_itrace_steps(w);
	GError *error = NULL;
	if (!trc_itrace_finish(w, &error)) {
		fprintf(stderr, "nestlab-run: writing the instruction trace %s failed: %s\n", o.itrace,
		        error->message);
		g_error_free(error);
		return false;
	}
	fprintf(stderr, "nestlab-run: wrote %" PRIu64 " steps to the instruction trace %s\n", steps,
	        o.itrace);
	return true;
}

static int run_guest(uint16_t post)
{
	struct machine_config cfg = {
		.mem_mib = (uint32_t)o.mem,
		.rom_path = o.rom,
		.kernel_path = g.kernel,
		.cmdline = o.cmdline,
		.modules = g.modules,
		.n_modules = g.n_modules,
		.flat_path = g.flat_path,
		.flat_addr = g.flat_addr,
		.disks = g.disks,
		.n_disks = g.n_disks,
		.rtc_epoch = g.epoch,
		.post_port = post,
		.uart_out2_gate = o.uart_out2_gate,
		.monitor = g.monitor,
		.faithful_i386 = o.faithful,
		.assist = o.assist,
		.cpu = o.cpu,
		.pc_testdev = o.devices && o.devices[0],
		.vms = g.vms,
		.n_vms = g.n_vms,
	};
	/* A replay's serial input comes from the recording, never from stdin. */
	for (int i = 0; g_replay && i < MACHINE_SERIAL_PORTS; i++)
		if (g.serial[i].kind == MACHINE_SERIAL_STDIO)
			g.serial[i].kind = MACHINE_SERIAL_STDOUT;
	memcpy(cfg.serial, g.serial, sizeof cfg.serial);
	GError *error = NULL;
	struct machine *m = machine_new(&cfg, &error);
	if (!m) {
		fprintf(stderr, "nestlab-run: %s\n", error->message);
		int code = build_error_status(error);
		g_error_free(error);
		return code;
	}
	for (guint i = 0; i < g_inputs->len; i++) {
		const struct input_spec *in = &g_array_index(g_inputs, struct input_spec, i);
		machine_add_input(m, in->dev, in->at_ns, in->wait_for, in->text);
	}
	if (g_restore) {
		gsize len;
		const uint8_t *b = g_bytes_get_data(g_restore, &len);
		if (!machine_restore(m, b, len, &error)) {
			fprintf(stderr, "nestlab-run: cannot restore the snapshot: %s\n", error->message);
			g_error_free(error);
			machine_free(m);
			return EXIT_BAD_SNAPSHOT;
		}
	}
	int vm_code = load_vms(m);
	if (vm_code) {
		machine_free(m);
		return vm_code;
	}
	FILE *trace = NULL;
	if (o.trace && !(trace = open_trace(o.trace))) {
		fprintf(stderr, "nestlab-run: cannot create the trace file %s: %s\n", o.trace,
		        g_strerror(errno));
		machine_free(m);
		return EXIT_CANTCREAT;
	}
	struct trc_itrace_writer *itrace = NULL;
	if (o.itrace && !(itrace = start_itrace(m))) {
		if (trace && trace != stdout)
			fclose(trace);
		machine_free(m);
		return EXIT_CANTCREAT;
	}
	g_machine = m;
	signal(SIGINT, on_sigint);
	if (g.serial[0].kind == MACHINE_SERIAL_STDIO || g.serial[1].kind == MACHINE_SERIAL_STDIO)
		raw_terminal();
	gint64 t0 = g_get_monotonic_time();
	int snap_code = 0;
	enum machine_stop st = g_snap_file ? run_to_snapshot(m, &snap_code) : MACHINE_LIMIT;
	if (st == MACHINE_LIMIT && o.gdb >= 0 && gdb_given)
		st = serve_gdb(m, &snap_code);
	struct trc_rec_writer *rec = NULL;
	bool ran = false;
	if (st == MACHINE_LIMIT && g_replay) {
		st = run_replayed(m, &snap_code);
		ran = true;
	} else if (st == MACHINE_LIMIT && o.record) {
		st = run_recorded(m, &rec, &snap_code);
		ran = true;
	}
	if (st == MACHINE_LIMIT && !ran)
		st = trace ? run_traced(m, trace, (uint64_t)o.max_insns)
		           : run_with_vm_events(m, (uint64_t)o.max_insns);
	signal(SIGINT, SIG_DFL);
	restore_terminal();
	g_machine = NULL;
	fflush(stdout);
	report_vms(m);
	int code = snap_code ? snap_code : g_vm_file_code ? g_vm_file_code : report_end(m, st);
	if (itrace && !finish_itrace(m, itrace))
		code = EXIT_IOERR;
	if (rec) {
		struct trc_rec_end end;
		end_of(m, code, &end);
		GError *rec_error = NULL;
		if (!trc_rec_finish(rec, &end, &rec_error)) {
			fprintf(stderr, "nestlab-run: recording failed: %s\n", rec_error->message);
			g_error_free(rec_error);
			code = EXIT_IOERR;
		} else {
			fprintf(stderr, "nestlab-run: recorded %" PRIu64 " instructions to %s\n", end.icount,
			        o.record);
		}
	}
	if (g_replay) {
		trc_rec_close(g_replay);
		g_replay = NULL;
		if (g_replay_moments)
			g_array_free(g_replay_moments, TRUE);
	}
	if (machine_inputs_pending(m))
		fprintf(stderr, "nestlab-run: %u --input item(s) were never delivered (the first waits "
		        "for output that did not come, or for a time not reached)\n",
		        machine_inputs_pending(m));
	if (o.vga_dump) {
		GString *screen = g_string_new(NULL);
		machine_vga_text(m, screen);
		fputs(screen->str, stdout);
		fflush(stdout);
		g_string_free(screen, TRUE);
	}
	if (o.stats) {
		print_stats(m, t0);
		machine_print_monitor_stats(m, stderr);
		for (guint i = 0; i < g_inputs->len; i++) {
			uint64_t ic, ns;
			if (machine_input_delivered(m, i, &ic, &ns))
				fprintf(stderr, "nestlab-run: input %u delivered at instruction %" PRIu64
				        ", %.6f virtual seconds\n", i + 1, ic, (double)ns / 1e9);
		}
	}
	if (o.state_hash) {
		char h[65], c[65];
		machine_state_hash(m, h);
		machine_console_hash(m, c);
		fprintf(stderr, "nestlab-run: state hash %s\nnestlab-run: console hash %s\n", h, c);
	}
	if (trace && trace != stdout && fclose(trace) != 0) {
		fprintf(stderr, "nestlab-run: writing the trace file %s failed: %s\n", o.trace,
		        g_strerror(errno));
		code = EXIT_IOERR;
	}
	machine_free(m);
	return code;
}

/* }====================================================================== */

static int run_vectors(void)
{
	GError *error = NULL;
	struct vec_known *known = NULL;
	if (o.known && !(known = vec_known_load(o.known, &error))) {
		fprintf(stderr, "nestlab-run: %s\n", error->message);
		g_error_free(error);
		return EXIT_NOINPUT;
	}
	struct vec_options vo = {
		.out = stdout, .only_form = o.form, .details_per_form = (unsigned)o.details,
		.known = known,
	};
	struct vec_result res;
	gint64 t0 = g_get_monotonic_time();
	bool ok = vec_run_dir(o.vectors, &vo, &res, &error);
	vec_known_free(known);
	if (!ok) {
		fprintf(stderr, "nestlab-run: %s\n", error->message);
		g_error_free(error);
		return EXIT_NOINPUT;
	}
	if (o.stats)
		fprintf(stderr, "nestlab-run: %u tests in %.3f host seconds\n", res.passed + res.failed,
		        (double)(g_get_monotonic_time() - t0) / 1e6);
	if (res.passed + res.failed == 0) {
		fprintf(stderr, "nestlab-run: no test of form %s in %s\n", o.form ? o.form : "?",
		        o.vectors);
		return EXIT_NOINPUT;
	}
	return res.failed_unknown ? EXIT_VECTORS_FAILED : 0;
}

int main(int argc, char **argv)
{
	GOptionContext *ctx = g_option_context_new("[KERNEL] - run a guest on the nestlab PC");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(ctx, description);
	GError *error = NULL;
	join_snapshot_at(&argc, &argv);
	int rc = load_restore(&argc, &argv);
	if (rc)
		return rc;
	g_args = guest_args(argc, argv);
	for (int i = 1; i < argc; i++)
		gdb_given |= g_str_has_prefix(argv[i], "--gdb");
	o.gdb = -1;
	o.nest = -1; /* not given (0 is a bad level) */
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		int code = usage_error(ctx, "%s", error->message);
		g_error_free(error);
		return code;
	}
	if (o.version) {
		printf("nestlab-run %s\n", NESTLAB_VERSION);
		g_option_context_free(ctx);
		return 0;
	}
	if (o.record && (o.vm_at || o.vm_save_at || o.trace || gdb_given || o.snapshot_at ||
	                 g_replaying))
		return usage_error(ctx, "--record runs the guest alone: not with --vm-at, --vm-save-at, "
		                   "--trace-cpu, --gdb, --snapshot-at or --replay%s", "");
	if (o.vm_load && (o.record || g_replaying))
		return usage_error(ctx, "--vm-load is not recorded: take a snapshot of the machine "
		                   "with the VM loaded (--snapshot-at) and record from --restore%s", "");
	if (o.itrace && (o.vms || o.vm_at || o.vm_save_at || o.vm_load || gdb_given ||
	                 o.snapshot_at || o.record || g_replaying))
		return usage_error(ctx, "--itrace follows one guest from start to end: not with --vm, "
		                   "--vm-at, --vm-save-at, --vm-load, --gdb, --snapshot-at, --record "
		                   "or --replay%s", "");
	if (gdb_given && (o.gdb < 0 || o.gdb > 65535))
		return usage_error(ctx, "--gdb wants a TCP port from 0 to 65535%s", "");
	if (o.history_mib && (!gdb_given || o.no_history))
		return usage_error(ctx, "--history-mib sizes the history of a --gdb session%s: give "
		                   "--gdb PORT too, and not --no-history", "");
	if (o.history_mib < 0 || o.history_mib > 65536)
		return usage_error(ctx, "--history-mib wants MiB from 1 to 65536%s", "");
	if (o.snapshot_at && !parse_snapshot_at(o.snapshot_at))
		return usage_error(ctx, "--snapshot-at wants N:FILE or N FILE with N > 0, not '%s'",
		                   o.snapshot_at);
	uint16_t post = 0;
	int code = check_options(ctx, argc, argv, &post);
	if (code)
		return code;
	return o.vectors ? run_vectors() : run_guest(post);
}
