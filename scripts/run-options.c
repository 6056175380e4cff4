/*
 * run-options.c - nestlab-run's options: one table (name, what it sets,
 * its help), --help wrapped to 80 columns, and the checks of every option.
 * The command line and the Lua module's nestlab.machine{} parse through
 * run_parse_options, so both give the same checks and the same messages.
 */
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "multiboot.h"
#include "run.h"

struct opts o;
#define NOT_GIVEN G_MININT /* an integer option's value until it is given */
struct guest_opts g;
GArray *g_vm_events;
GArray *g_inputs;

static enum run_scope g_scope; /* of the parse under way */

/* {====== the option table ====== */

/* A row: a section title (name only), or an option with the scope it is
 * accepted in (RUN_SCOPE_MACHINE: also in nestlab.machine{}). */
struct run_option {
	const char *section;
	enum run_scope scope;
	GOptionEntry e;
};

static const struct run_option options[] = {
	{ "The guest: a multiboot KERNEL (ELF or a.out kludge), or one of",
	  RUN_SCOPE_ALL, { NULL } },
	{ NULL, RUN_SCOPE_MACHINE, { "rom", 0, 0, G_OPTION_ARG_FILENAME, &o.rom,
	 "Boot FILE, a 64 or 128 KiB ROM image (the CPU starts at its last 16 bytes)", "FILE" } },
	{ NULL, RUN_SCOPE_MACHINE, { "flat", 0, 0, G_OPTION_ARG_STRING, &o.flat,
	 "Load FILE at ADDR (hex or decimal) and enter it in 32-bit protected mode", "FILE@ADDR" } },
	{ NULL, RUN_SCOPE_MACHINE, { "module", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.modules,
	 "Give the multiboot kernel FILE as a module; its string is \"FILE ARGS\" (repeatable)",
	 "FILE[,ARGS]" } },
	{ NULL, RUN_SCOPE_MACHINE, { "cmdline", 0, 0, G_OPTION_ARG_STRING, &o.cmdline,
	 "The multiboot kernel's command line", "TEXT" } },
	{ "The machine", RUN_SCOPE_ALL, { NULL } },
	{ NULL, RUN_SCOPE_MACHINE, { "mem", 0, 0, G_OPTION_ARG_STRING, &o.mem_arg,
	 "RAM size, from 1M to 3G (default 32M): a number with a unit as QEMU's -m takes "
	 "(K, M, G, T; 512M, 1G, 1.5G), where a bare number is MiB as it always was "
	 "(--mem 64 is 64 MiB); pages cost nothing until used", "SIZE" } },
	{ NULL, RUN_SCOPE_MACHINE, { "cpu", 0, 0, G_OPTION_ARG_STRING, &o.cpu,
	 "The CPU model: which real part CPUID and the MSRs say the CPU is, with features "
	 "added (+FLAG) or removed (-FLAG); default pentium2; 'help' lists the models "
	 "(see docs/cpu.md)", "MODEL[,+FLAG|-FLAG]...|help" } },
	{ NULL, RUN_SCOPE_MACHINE, { "disk", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.disks,
	 "Attach a disk image on the primary IDE channel (master unless ',slave'); guest writes "
	 "go to a copy in memory unless ',writeback' (repeatable)", "FILE[,slave][,writeback]" } },
	{ NULL, RUN_SCOPE_MACHINE, { "device", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.devices,
	 "Add a device the board does not have by default: pc-testdev (QEMU's test device, "
	 "ports 0xE0-0xE7 and 0x2000-0x2017, I/O memory at 0xFF000000, as kvm-unit-tests use it)",
	 "pc-testdev" } },
	{ NULL, RUN_SCOPE_MACHINE, { "rtc-epoch", 0, 0, G_OPTION_ARG_STRING, &o.rtc_epoch,
	 "The CMOS clock at power-on: Unix seconds or YYYY-MM-DDTHH:MM:SS (UTC; default "
	 "2000-01-01T00:00:00)", "TIME" } },
	{ NULL, RUN_SCOPE_MACHINE, { "uart-out2-gate", 0, 0, G_OPTION_ARG_NONE, &o.uart_out2_gate,
	 "Pass the serial ports' interrupts through the PC/AT gate of MCR OUT2, so a guest must "
	 "set OUT2 to get them (default: no gate, as on QEMU)", NULL } },
	{ NULL, RUN_SCOPE_MACHINE, { "post-port", 0, 0, G_OPTION_ARG_STRING, &o.post_port,
	 "Port of the POST code display, hex like 0x190 or decimal (default 0x80)", "PORT" } },
	{ "The monitor and its VMs", RUN_SCOPE_ALL, { NULL } },
	{ NULL, RUN_SCOPE_MACHINE, { "monitor", 0, 0, G_OPTION_ARG_STRING, &o.monitor,
	 "How the guest runs: shadow (trap-and-emulate with shadow page tables), nested "
	 "(trap-and-emulate with nested paging) or none (bare, on the PC itself); default "
	 "shadow for a kernel or flat binary, none for a ROM (see docs/monitor.md)",
	 "shadow|nested|none" } },
	{ NULL, RUN_SCOPE_MACHINE, { "faithful-i386", 0, 0, G_OPTION_ARG_NONE, &o.faithful,
	 "Under a monitor, run the CPU as a real i386 (strict mode off), so the classic "
	 "virtualization holes (POPF, SGDT, ...) show", NULL } },
	{ NULL, RUN_SCOPE_MACHINE, { "assist", 0, 0, G_OPTION_ARG_NONE, &o.assist,
	 "Offer the assist, the CPU's run-guest operation, to a guest monitor such as "
	 "tinyvmm: the CPU's own (--monitor=none) or virtualized by the engine's monitor "
	 "(--monitor=nested); see docs/cpu.md", NULL } },
	{ NULL, RUN_SCOPE_MACHINE, { "nest", 0, 0, G_OPTION_ARG_INT, &o.nest,
	 "Run KERNEL at level D of a stack of monitors (1 to 8): 1 under the engine's monitor, "
	 "each level more under one more tinyvmm, each taking its guest's traps through its own "
	 "IDT (faithful recursion); with --assist the engine's monitor uses nested paging and "
	 "the tinyvmms the assist; --mem is then KERNEL's RAM (see docs/monitor.md section 8)", "D" } },
	{ NULL, RUN_SCOPE_MACHINE, { "smp", 0, 0, G_OPTION_ARG_INT, &o.smp,
	 "N CPUs, 1 to 16, each with its local APIC (APIC ID 0 .. N-1), listed in the MP table; "
	 "CPU 0 boots, the others wait for INIT and a start-up IPI; bare only "
	 "(--monitor=none) for now (see docs/board.md)", "N" } },
	{ NULL, RUN_SCOPE_MACHINE, { "smp-quantum", 0, 0, G_OPTION_ARG_INT, &o.smp_quantum,
	 "With --smp: the CPUs take turns of N instructions each, in a fixed order, so every "
	 "run interleaves them alike (default 1000)", "N" } },
	{ NULL, RUN_SCOPE_MACHINE, { "tinyvmm", 0, 0, G_OPTION_ARG_FILENAME, &o.tinyvmm,
	 "With --nest: the guest hypervisor to use (default: tinyvmm.elf of this build)", "FILE" } },
	{ NULL, RUN_SCOPE_MACHINE, { "vm", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.vms,
	 "Under a monitor, run one more VM beside KERNEL: its own RAM share (mem=SIZE, default "
	 "32M), disk (disk=FILE[:slave]), COM1 (serial=stdout|none|file:PATH) and monitor; "
	 "its COM1 is printed at the end, each line after '[NAME] ', unless serial= says "
	 "otherwise; cmdline=TEXT, last, takes the rest of the text (repeatable)",
	 "NAME:KERNEL[,OPT]..." } },
	{ "Consoles and input", RUN_SCOPE_ALL, { NULL } },
	{ NULL, RUN_SCOPE_MACHINE, { "serial", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.serial,
	 "Where a serial port goes: stdout (COM1's default), stdio (stdout, and stdin feeds it), "
	 "file:PATH, or none (COM2's default); 'com2=' picks the port, otherwise the first "
	 "--serial is COM1 and the second COM2", "[com1=|com2=]stdout|stdio|file:PATH|none" } },
	{ NULL, RUN_SCOPE_MACHINE, { "input", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.inputs,
	 "Send TEXT (escapes \\n \\r \\t \\e \\xNN \\: \\\\) to com1, com2 or the keyboard (kbd), "
	 "after the previous input, at virtual time @T (e.g. @50ms) or once the consoles show "
	 "WAIT (~WAIT) (repeatable)", "DEV[@TIME|~WAIT]:TEXT" } },
	{ "The run and its end", RUN_SCOPE_ALL, { NULL } },
	{ NULL, RUN_SCOPE_ALL, { "max-insns", 0, 0, G_OPTION_ARG_INT64, &o.max_insns,
	 "Stop after N instructions with exit status 6 (default: no limit)", "N" } },
	{ NULL, RUN_SCOPE_ALL, { "vm-at", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.vm_at,
	 "When the machine has retired N instructions in all, pause, resume or destroy VM NAME "
	 "(vm0 is KERNEL's); the others go on (repeatable)", "pause|resume|destroy:NAME@N" } },
	{ NULL, RUN_SCOPE_ALL, { "vm-save-at", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.vm_save_at,
	 "When the machine has retired N instructions in all, save VM NAME alone to FILE (a VM "
	 "snapshot: --vm-load loads it into another machine) and go on (repeatable)",
	 "NAME@N:FILE" } },
	{ NULL, RUN_SCOPE_ALL, { "vm-load", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.vm_load,
	 "Before running, replace VM NAME (a --vm of this machine, or vm0) with the VM saved in "
	 "FILE, which continues there as it would have in its own machine; the slot needs the "
	 "VM's memory size, disks and monitor mode (repeatable)", "NAME=FILE" } },
	{ NULL, RUN_SCOPE_ALL, { "vga-dump", 0, 0, G_OPTION_ARG_NONE, &o.vga_dump,
	 "At the end, print the VGA text screen to stdout", NULL } },
	{ NULL, RUN_SCOPE_ALL, { "state-hash", 0, 0, G_OPTION_ARG_NONE, &o.state_hash,
	 "At the end, print hashes of the machine state and of the consoles to stderr", NULL } },
	{ NULL, RUN_SCOPE_ALL, { "stats", 0, 0, G_OPTION_ARG_NONE, &o.stats,
	 "At the end, print instructions, cycles, host seconds, MIPS, virtual seconds and when "
	 "each --input took effect to stderr; under a monitor its exit table, and with guest "
	 "monitors that use the introspection ABI each level's exits and the exit-multiplication "
	 "matrix (docs/abi.md)", NULL } },
	{ NULL, RUN_SCOPE_ALL, { "tree", 0, 0, G_OPTION_ARG_NONE, &o.tree,
	 "At the end, print the tree of every level to stderr: the machine, its VMs and the VMs "
	 "guest monitors declared through the introspection ABI (docs/abi.md), with their "
	 "states, registers and exits, and the ABI's LOG and MARK events", NULL } },
	{ NULL, RUN_SCOPE_ALL, { "tree-at", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.tree_at,
	 "Print the tree when the machine has retired N instructions in all, and go on "
	 "(repeatable)", "N" } },
	{ NULL, RUN_SCOPE_ALL, { "translate", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.translate,
	 "With each tree printed: the translation chain of ADDR, virtual at the node of LEVEL "
	 "that is on the executing chain (or node N with nN), down to host-physical, with the "
	 "page-table entries of each step (repeatable)", "LEVEL:ADDR" } },
	{ NULL, RUN_SCOPE_ALL, { "trace-cpu", 0, 0, G_OPTION_ARG_FILENAME, &o.trace,
	 "Before each instruction, write a line with icount and all registers to FILE "
	 "(- for stdout); slow", "FILE" } },
	{ NULL, RUN_SCOPE_ALL, { "itrace", 0, 0, G_OPTION_ARG_FILENAME, &o.itrace,
	 "Write the full instruction trace (every instruction's EIP, register changes and "
	 "memory writes, zstd blocks with an index) to FILE, for nestlab-itrace; slower", "FILE" } },
	{ "Snapshots, recording and replay", RUN_SCOPE_ALL, { NULL } },
	{ NULL, RUN_SCOPE_ALL, { "snapshot-at", 0, 0, G_OPTION_ARG_STRING, &o.snapshot_at,
	 "When N instructions have retired, save the whole machine to FILE (a snapshot: "
	 "--restore FILE continues from there, in any process) and go on; also written "
	 "'--snapshot-at N FILE'", "N:FILE" } },
	{ NULL, RUN_SCOPE_ALL, { "restore", 0, 0, G_OPTION_ARG_FILENAME, &o.restore,
	 "Continue from a snapshot FILE: the machine is built from the arguments saved in it "
	 "(give only options such as --state-hash, --stats or --max-insns)", "FILE" } },
	{ NULL, RUN_SCOPE_ALL, { "record", 0, 0, G_OPTION_ARG_FILENAME, &o.record,
	 "Record the run to FILE: the arguments, the machine at the start, a checkpoint every "
	 "20 million instructions, what stdin gave a serial port on 'stdio' and when, and how it "
	 "ended (replay it with --replay)", "FILE" } },
	{ NULL, RUN_SCOPE_ALL, { "replay", 0, 0, G_OPTION_ARG_FILENAME, &o.replay,
	 "Replay a recording: build the machine from its arguments, restore its start, run (its "
	 "logged input at its moments; stdin unused), and check every checkpoint and the end "
	 "against it (status 90 if they differ)", "FILE" } },
	{ "Debugging with gdb", RUN_SCOPE_ALL, { NULL } },
	{ NULL, RUN_SCOPE_ALL, { "gdb", 0, 0, G_OPTION_ARG_INT, &o.gdb,
	 "Wait for gdb on 127.0.0.1:PORT before the first instruction (0 picks a free port; "
	 "the port is printed); see docs/gdb.md", "PORT" } },
	{ NULL, RUN_SCOPE_ALL, { "no-history", 0, 0, G_OPTION_ARG_NONE, &o.no_history,
	 "With --gdb, keep no history (no reverse execution, no checkpoints)", NULL } },
	{ NULL, RUN_SCOPE_ALL, { "history-mib", 0, 0, G_OPTION_ARG_INT, &o.history_mib,
	 "With --gdb, the memory the history's checkpoints may take, in MiB (default 256); "
	 "past it the oldest thin out, so far-back steps take longer", "MIB" } },
	{ "The hardware vectors", RUN_SCOPE_ALL, { NULL } },
	{ NULL, RUN_SCOPE_ALL, { "vectors", 0, 0, G_OPTION_ARG_FILENAME, &o.vectors,
	 "Run the hardware-recorded instruction tests in DIR (e.g. shared/vectors/real16) "
	 "instead of a guest", "DIR" } },
	{ NULL, RUN_SCOPE_ALL, { "form", 0, 0, G_OPTION_ARG_STRING, &o.form,
	 "With --vectors: run only the tests of one instruction form, e.g. F6.6", "FORM" } },
	{ NULL, RUN_SCOPE_ALL, { "details", 0, 0, G_OPTION_ARG_INT, &o.details,
	 "With --vectors: show up to N failures per form in full (default 3)", "N" } },
	{ NULL, RUN_SCOPE_ALL, { "known", 0, 0, G_OPTION_ARG_FILENAME, &o.known,
	 "With --vectors: failures listed in FILE (tests/vectors/known-differences.txt) are "
	 "counted apart and do not fail the run", "FILE" } },
	{ "Scripts (first on the command line; docs/lua.md)", RUN_SCOPE_ALL, { NULL } },
	{ NULL, RUN_SCOPE_ALL, { "script", 0, 0, G_OPTION_ARG_FILENAME, &o.script,
	 "Run the Lua script FILE (- for stdin) with the module nestlab, which builds and "
	 "drives machines (nestlab.machine{...} takes the options above); the arguments after "
	 "FILE are the script's, in its table arg; exit status: the integer the script returns, "
	 "else 0, or 92 if it raised an error", "FILE [ARG]..." } },
	{ NULL, RUN_SCOPE_ALL, { "eval", 0, 0, G_OPTION_ARG_STRING, &o.eval,
	 "Run the Lua code CODE, as --script runs a file", "CODE [ARG]..." } },
	{ NULL, RUN_SCOPE_ALL, { "lua", 0, 0, G_OPTION_ARG_NONE, &o.lua,
	 "An interactive Lua prompt with the module nestlab, line editing and history; an "
	 "expression prints its value", NULL } },
	{ NULL, RUN_SCOPE_ALL, { "allow-host", 0, 0, G_OPTION_ARG_NONE, &o.allow_host,
	 "A LIMIT (lifted), before --script, --eval or --lua: let the script use os.execute, "
	 "os.exit and io.popen (without it they raise an error)", NULL } },
	{ NULL, RUN_SCOPE_ALL, { "script-limit", 0, 0, G_OPTION_ARG_STRING, &o.script_limit,
	 "A LIMIT, before --script, --eval or --lua: stop the script with an error once it has "
	 "run N Lua instructions (counted in thousands; default: no limit)", "N" } },
	{ NULL, RUN_SCOPE_ALL, { "script-mem", 0, 0, G_OPTION_ARG_STRING, &o.script_mem,
	 "A LIMIT: the Lua heap's size at most (default 1G); past it an allocation fails with "
	 "the error 'not enough memory'", "SIZE" } },
	{ "Help", RUN_SCOPE_ALL, { NULL } },
	{ NULL, RUN_SCOPE_ALL, { "help", 'h', 0, G_OPTION_ARG_NONE, &o.help, "Print this help and exit", NULL } },
	{ NULL, RUN_SCOPE_ALL, { "version", 0, 0, G_OPTION_ARG_NONE, &o.version, "Print the version and exit", NULL } },
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
	"  89       a snapshot cannot be read or does not fit\n"
	"  90, 91   --replay went another way, or the recording was cut short\n"
	"  92       a Lua script raised an error (its message has file and line)\n"
	"  130      interrupted with Ctrl-C\n"
	"\n"
	"Examples:\n"
	"  nestlab-run build/guests/minios/minios.elf \\\n"
	"      --disk build/guests/minios/fs.img,slave\n"
	"  nestlab-run kernel.elf --input 'com1~$ :ls\\n' --input 'com1~$ :halt\\n'\n"
	"  nestlab-run /usr/lib/multiboot/examples/kernel --vga-dump\n"
	"  nestlab-run --rom build/guests/hello/hello.rom\n"
	"  nestlab-run --rom guest.rom --max-insns 100000 --trace-cpu trace.txt\n"
	"  nestlab-run --vectors ../shared/vectors/real16 \\\n"
	"      --known tests/vectors/known-differences.txt\n"
	"\n"
	"More: docs/nestlab-run.md, man nestlab-run.";

/* }====================================================================== */

/* {====== --help ====== */

#define HELP_WIDTH 79  /* the text's last column: it fits an 80-column terminal */
#define HELP_INDENT 8  /* where an option's description starts */

/* Prints text from column `indent`, wrapped at words before HELP_WIDTH. */
static void wrap(FILE *out, const char *text, int indent)
{
	int col = 0;
	const char *p = text;
	while (*p) {
		size_t word = strcspn(p, " ");
		if (col > indent && col + 1 + (int)word > HELP_WIDTH) {
			fputc('\n', out);
			col = 0;
		}
		if (col == 0)
			col = fprintf(out, "%*s", indent, "");
		else
			col += fprintf(out, " ");
		col += fprintf(out, "%.*s", (int)word, p);
		p += word;
		while (*p == ' ')
			p++;
	}
	fputc('\n', out);
}

void run_print_help(FILE *out)
{
	fputs("Usage: nestlab-run [OPTION...] [KERNEL]\n"
	      "       nestlab-run [LIMIT...] --script FILE [ARG]...  (or --eval CODE, --lua)\n"
	      "Run a guest on the nestlab PC, or a Lua script that runs machines.\n", out);
	for (size_t i = 0; i < G_N_ELEMENTS(options); i++) {
		const struct run_option *r = &options[i];
		if (r->section) {
			fprintf(out, "\n%s:\n", r->section);
			continue;
		}
		if (r->e.short_name)
			fprintf(out, "  -%c, --%s\n", r->e.short_name, r->e.long_name);
		else
			fprintf(out, "  --%s%s%s\n", r->e.long_name, r->e.arg_description ? " " : "",
			        r->e.arg_description ? r->e.arg_description : "");
		wrap(out, r->e.description, HELP_INDENT);
	}
	fprintf(out, "\n%s\n", description);
}

/* }====================================================================== */

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


static int usage_error(struct run_msg *ctx, const char *fmt, const char *arg)
{
	g_free(ctx->text);
	ctx->text = g_strdup_printf(fmt, arg);
	return EXIT_USAGE;
}

/*
 * A size as QEMU's -m reads it: a number (a fraction allowed) with an
 * optional unit K, M, G or T (powers of 1024, either case, a B after it
 * allowed); a bare number is MiB. False unless it is a whole number of
 * MiB that fits 32 bits.
 */
bool run_parse_size_mib(const char *s, uint32_t *mib)
{
	static const char units[] = "KMGT";
	char *end;
	errno = 0;
	double v = g_ascii_strtod(s, &end);
	if (errno || end == s || !g_ascii_isdigit(*s) || v < 0)
		return false;
	int shift = 20; /* a bare number: MiB */
	const char *u = *end ? strchr(units, g_ascii_toupper(*end)) : NULL;
	if (u) {
		shift = 10 * (int)(u - units + 1);
		end++;
		if (*end == 'B' || *end == 'b')
			end++;
	}
	if (*end)
		return false;
	double bytes = v * (double)(1ull << shift);
	double m = bytes / (double)(1u << 20);
	if (m != (double)(uint64_t)m || m > (double)UINT32_MAX)
		return false;
	*mib = (uint32_t)m;
	return true;
}

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

char *keep(char *s)
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
			uint32_t mib = 0;
			ok = run_parse_size_mib(p + 4, &mib) && mib >= 1 && mib <= MACHINE_MEM_MAX_MIB;
			v->mem_mib = mib;
			*why = "mem= must be a size from 1M to 3G (a bare number is MiB)";
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

static int usage_error2(struct run_msg *ctx, const char *fmt, const char *a, const char *b)
{
	gchar *msg = g_strdup_printf(fmt, a, b);
	int code = usage_error(ctx, "%s", msg);
	g_free(msg);
	return code;
}

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
static int check_guest_options(struct run_msg *ctx)
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

static int build_stack(struct run_msg *ctx)
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
		if (o.assist && o.monitor && g.monitor != MACHINE_MONITOR_NESTED)
			return usage_error(ctx, "--nest 1 with --assist runs KERNEL under the engine's "
			                   "monitor with nested paging: leave out --monitor or give "
			                   "--monitor=nested%s", "");
		if (o.assist)
			g.monitor = MACHINE_MONITOR_NESTED; /* the assisted stack's level 1 */
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
static int check_options(struct run_msg *ctx, int argc, char **argv, uint16_t *post)
{
	if (argc > 2)
		return usage_error(ctx, "unexpected argument '%s' (one KERNEL at most)", argv[2]);
	if (argc == 2) {
		if (argv[1][0] == '-' && argv[1][1])
			return usage_error(ctx, "unknown option '%s'", argv[1]);
		g.kernel = argv[1];
	}
	uint32_t mib = 0;
	if (o.mem_arg && !run_parse_size_mib(o.mem_arg, &mib))
		return usage_error(ctx, "--mem '%s' must be a size such as 512M or 1G (a bare number "
		                   "is MiB)", o.mem_arg);
	if (o.mem_arg && (mib < 1 || mib > MACHINE_MEM_MAX_MIB))
		return usage_error(ctx, "--mem must be between 1 and 3072 MiB%s", "");
	o.mem = (gint)mib;
	if (o.max_insns < 0)
		return usage_error(ctx, "--max-insns must be a positive number%s", "");
	if (o.smp == NOT_GIVEN)
		o.smp = 0;
	else if (o.smp < 1 || o.smp > MACHINE_MAX_CPUS)
		return usage_error(ctx, "--smp must be a number of CPUs from 1 to 16%s", "");
	if (o.smp_quantum == NOT_GIVEN)
		o.smp_quantum = 0;
	else if (o.smp_quantum < 1 || o.smp_quantum > (gint)MACHINE_SMP_QUANTUM_MAX)
		return usage_error(ctx, "--smp-quantum must be from 1 to 100000000 instructions%s", "");
	if (o.smp > 1 && (o.monitor ? strcmp(o.monitor, "none") != 0 : !o.rom))
		return usage_error(ctx, "--smp: several CPUs run bare only, for now; add "
		                   "--monitor=none%s", "");
	if (o.monitor && !parse_monitor(o.monitor, &g.monitor))
		return usage_error(ctx, "--monitor '%s' must be shadow, nested or none", o.monitor);
	if (o.cpu && !strcmp(o.cpu, "help")) {
		if (g_scope == RUN_SCOPE_MACHINE)
			return usage_error(ctx, "cpu 'help' only lists the models: run nestlab-run --cpu "
			                   "help%s", "");
		machine_cpu_help(stdout);
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
	for (int i = 0; o.tree_at && o.tree_at[i]; i++) {
		struct vm_event ev = { .what = EV_TREE };
		if (!run_parse_count(o.tree_at[i], &ev.at))
			return usage_error(ctx, "--tree-at '%s' must be a number of instructions",
			                   o.tree_at[i]);
		g_array_append_val(g_vm_events, ev);
	}
	for (int i = 0; o.translate && o.translate[i]; i++) {
		int node;
		bool by_node;
		uint32_t addr;
		if (!run_parse_translate(o.translate[i], &node, &by_node, &addr))
			return usage_error(ctx, "--translate '%s' must be LEVEL:ADDR or nNODE:ADDR "
			                   "(ADDR in hex with 0x, or decimal)", o.translate[i]);
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
	if (o.assist && g.monitor == MACHINE_MONITOR_SHADOW && o.nest < 1) /* --nest: build_stack */
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
	return build_stack(ctx);
}


/* The options of a run, not of the machine, that do not go together. */
static int check_run_options(struct run_msg *ctx)
{
	if (o.script || o.eval || o.lua || o.allow_host || o.script_limit || o.script_mem)
		return usage_error(ctx, "--script, --eval and --lua (after --allow-host, --script-limit "
		                   "and --script-mem) come first on "
		                   "the command line "
		                   "(a script gives a machine its options in nestlab.machine{...}; "
		                   "see docs/lua.md)%s", "");
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
	return 0;
}

/* Under RUN_SCOPE_MACHINE, the first option argv gives that is not one of
 * a machine, or NULL. */
static const char *run_only_option(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) != 0)
			continue;
		size_t n = strcspn(argv[i] + 2, "=");
		for (size_t k = 0; k < G_N_ELEMENTS(options); k++) {
			const struct run_option *r = &options[k];
			if (!r->section && r->scope != RUN_SCOPE_MACHINE &&
			    strlen(r->e.long_name) == n && !strncmp(argv[i] + 2, r->e.long_name, n))
				return argv[i];
		}
	}
	return NULL;
}

/* Clears what an earlier parse left (the kept strings stay: argv may
 * point into them). */
static void reset_options(void)
{
	GPtrArray *strings = g.strings;
	o = (struct opts){ 0 };
	g = (struct guest_opts){ .strings = strings };
	if (g_vm_events)
		g_array_free(g_vm_events, TRUE);
	if (g_inputs)
		g_array_free(g_inputs, TRUE);
	g_vm_events = g_inputs = NULL;
	o.gdb = -1;
	o.nest = -1; /* not given (0 is a bad level) */
	o.smp = o.smp_quantum = NOT_GIVEN;
}

int run_parse_options(int argc, char **argv, enum run_scope scope, uint16_t *post,
                      struct run_msg *ctx)
{
	reset_options();
	g_scope = scope;
	const char *run_only = scope == RUN_SCOPE_MACHINE ? run_only_option(argc, argv) : NULL;
	if (run_only) {
		gchar *name = keep(g_strndup(run_only, strcspn(run_only, "=")));
		return usage_error(ctx, "%s is about a run of nestlab-run, not about a machine", name);
	}
	GOptionEntry entries[G_N_ELEMENTS(options) + 1];
	size_t n = 0;
	for (size_t i = 0; i < G_N_ELEMENTS(options); i++)
		if (!options[i].section)
			entries[n++] = options[i].e;
	entries[n] = (GOptionEntry){ NULL };
	GOptionContext *goc = g_option_context_new(NULL);
	g_option_context_set_help_enabled(goc, FALSE);
	g_option_context_add_main_entries(goc, entries, NULL);
	GError *error = NULL;
	bool parsed = g_option_context_parse(goc, &argc, &argv, &error);
	g_option_context_free(goc);
	if (!parsed) {
		int code = usage_error(ctx, "%s", error->message);
		g_error_free(error);
		return code;
	}
	if (o.help || o.version)
		return 0;
	int code = check_run_options(ctx);
	return code ? code : check_options(ctx, argc, argv, post);
}

/* }====================================================================== */

/* {====== the machine ====== */

struct machine *run_new_machine(uint16_t post, GError **error)
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
		.n_cpus = (uint32_t)o.smp,
		.smp_quantum = (uint32_t)o.smp_quantum,
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
	struct machine *m = machine_new(&cfg, error);
	if (!m)
		return NULL;
	for (guint i = 0; i < g_inputs->len; i++) {
		const struct input_spec *in = &g_array_index(g_inputs, struct input_spec, i);
		machine_add_input(m, in->dev, in->at_ns, in->wait_for, in->text);
	}
	return m;
}

/* The exit status for an error building the machine. */
int build_error_status(const GError *e)
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


/* }====================================================================== */
