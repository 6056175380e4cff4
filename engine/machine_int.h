/*
 * machine_int.h - the machine's private state, shared by machine.c (the PC:
 * building, wiring, running one guest) and engine/vm/vm.c (several VMs on
 * one CPU: switching, scheduling, the tree). Nothing outside engine/ uses it.
 */
#ifndef NESTLAB_MACHINE_INT_H
#define NESTLAB_MACHINE_INT_H

#include <signal.h>

#include "chardev.h"
#include "clock.h"
#include "cmos.h"
#include "device.h"
#include "disk.h"
#include "ide.h"
#include "ioapic.h"
#include "kbd8042.h"
#include "l0.h"
#include "lapic.h"
#include "machine.h"
#include "pic8259.h"
#include "pit8254.h"
#include "sysctl.h"
#include "uart16550.h"
#include "vga.h"

#define MIB (1024u * 1024u)
#define MAX_DEVICES (16 + MACHINE_MAX_CPUS) /* the PC's, and an APIC per further CPU */
#define MONITOR_MIB 16 /* each VM's monitor pages, above its RAM share */
#define VM_SLICE_CYCLES 1000000u /* a VM runs 10 ms of its virtual time per turn */

struct input {
	enum machine_input_dev dev;
	uint64_t at_cycles;
	char *wait_for;
	char *text;
	bool delivered;
	uint64_t delivered_icount, delivered_cycles;
};

enum vm_state { VM_RUNNING, VM_PAUSED, VM_STOPPED, VM_DESTROYED };

#define SIPI_NONE (-1)

/* One CPU of a machine with several (--smp), with its local APIC. */
struct smp_cpu {
	struct machine *m;
	unsigned index;        /* 0: the bootstrap processor; its APIC ID too */
	struct cpu *cpu;
	struct dev_lapic *lapic;
	/* state (saved) */
	bool wait_sipi;        /* after INIT (an AP from power-on): waits for a start-up IPI */
	bool init_pending;     /* an INIT arrived: taken before the CPU's next instruction */
	int sipi_vector;       /* a start-up IPI arrived for a waiting CPU, or SIPI_NONE */
};

struct machine {
	struct cpu *cpu;        /* a VM's is its root's: one CPU, switched between VMs */
	struct pmem *pmem;      /* guest-physical space (a VM's: a window on its root's) */
	struct pmem *cpu_pmem;  /* what the CPU's bus reaches: the root's pmem */
	struct bus bus;         /* the CPU's bus while this machine runs */
	struct ioport_map *io;
	bool uart_out2_gate;    /* the serial ports' IRQ lines pass the PC/AT OUT2 gate */
	struct clock *clock;
	struct dev_board board;
	struct dev_debugport *dbg;
	struct dev_sysctl *sysctl;
	struct dev_pic *pic;
	struct dev_pit *pit;
	struct dev_uart *uart[MACHINE_SERIAL_PORTS];
	struct chardev *serial[MACHINE_SERIAL_PORTS];
	bool stdin_open; /* a serial port reads stdin, which is not at its end */
	bool stdin_paused; /* machine_pause_stdin */
	int stdin_port;  /* ... that port */
	struct dev_cmos *cmos;
	struct dev_kbd *kbd;
	struct dev_vga *vga;
	struct dev_lapic *lapic; /* CPU 0's */
	struct dev_ioapic *ioapic;

	/* {====== several CPUs (--smp; machine.c "several CPUs") ====== */
	unsigned n_cpus;        /* 1 for the one-CPU PC (cpus[0] is then unused but for cpu) */
	struct smp_cpu cpus[MACHINE_MAX_CPUS];
	struct dev_lapic *lapics[MACHINE_MAX_CPUS]; /* the APICs' peers, by index */
	uint32_t quantum;       /* instructions of a turn */
	unsigned turn_cpu;      /* whose turn it is (saved) */
	uint64_t turn_left;     /* instructions left of it (saved) */
	unsigned idle_turns;    /* turns in a row that ended halted, nothing retired (saved) */
	/* }====== */
	struct dev_ide *ide;
	struct disk *disk[MACHINE_MAX_DISKS];
	int n_disks;
	struct device *dev[MAX_DEVICES];
	int n_dev;
	bool has_rom;
	uint32_t rom_size; /* its size: mapped at 4 GiB - rom_size and 1 MiB - rom_size */
	bool a20_kbd, a20_sysctl;

	const char *shutdown_why;
	volatile sig_atomic_t stop_flag;
	machine_console_fn console;
	void *console_opaque;
	bool console_quiet;

	struct l0 *l0;          /* the monitor running the guest, or NULL (bare) */
	struct machine_config deferred_monitor; /* a ROM's: the monitor to start at CR0.PE */
	char monitor_stop[256]; /* why the monitor stopped the guest */

	/* {====== VMs (engine/vm/vm.c) ====== */
	char *name;             /* "machine" for the root, the --vm name for a VM */
	struct machine *root;   /* a VM's machine, or NULL for the root */
	GPtrArray *vms;         /* the root's other VMs (struct machine), or NULL */
	struct machine *current; /* the root's: whose state the CPU holds */
	uint8_t *ctx;           /* saved CPU state while another VM runs */
	struct cpu_guest ctx_guest;
	enum vm_state vm_state;
	enum machine_stop vm_stop; /* how it ended (VM_STOPPED) */
	uint32_t share_base, share_size; /* its RAM share in the root's pmem */
	uint32_t mon_base;      /* its monitor's pages in the root's pmem */
	uint64_t final_icount;  /* instructions it retired before it was destroyed */
	bool slice_over;
	uint64_t slice_end;
	struct clock_timer slice_timer;
	/* The root's: whose turn it is, and whether that turn has begun (its
	 * slice_end set) and goes on when the next machine_run() begins, so
	 * that a run cut in pieces schedules exactly as one run. */
	uint32_t turn_vm;
	bool turn_open;
	struct vm_tree *tree;   /* the root's: what guest monitors told (engine/vm/tree.c) */
	/* }====== */

	GByteArray *console_log;
	GPtrArray *inputs;      /* struct input, in order */
	guint next_input;
	size_t match_from;      /* console offset the next wait_for searches from */
	struct clock_timer input_timer;

	/* {====== logged host input (recordings) ====== */
	machine_input_log_fn input_log;
	void *input_log_opaque;
	bool run_entry;         /* machine_run() or machine_step() just began: stdin may be read */
	GPtrArray *replay;      /* struct replay_input, in order; or NULL */
	guint replay_next;      /* the next to inject */
	struct clock_timer replay_timer; /* at the next one's moment */
	/* }====== */
};


/* machine.c, for vm.c */
struct machine *machine_build_vm(struct machine *root, const struct machine_vm_config *vc,
                                 GError **error);
enum machine_stop machine_run_one(struct machine *m, uint64_t max_insns);
void machine_free_parts(struct machine *m);
/* A ROM guest's monitor, made before its time for a snapshot that has one
 * (its pages reserved, no guest state yet: snapshot.c restores it). */
void machine_attach_monitor(struct machine *m);

/* smp.c, for machine.c and snapshot.c (see smp.c for the model) */
/* Sets up m's CPUs from cfg->n_cpus: CPU 0 is m->cpu, the others new ones
 * sharing its caches, waiting for a start-up IPI. Before the devices. */
void smp_new_cpus(struct machine *m, const struct machine_config *cfg);
void smp_free_cpus(struct machine *m);
/* The APIC hooks: an INIT or a start-up IPI reached CPU `s`. */
void smp_init_ipi(struct smp_cpu *s);
void smp_startup_ipi(struct smp_cpu *s, int vector);
/* RESET of the board (port 0x92, the 8042) with a ROM: every CPU. */
void smp_reset_all(struct machine *m);
/* The machine's instruction count: the sum over its CPUs. */
uint64_t smp_icount(const struct machine *m);
/* m->cpu becomes the CPU whose turn it is (after machine_select_cpu). */
void smp_resume(struct machine *m);
/* The CPU whose turn it is, its pending INIT and start-up taken. */
struct smp_cpu *smp_turn(struct machine *m);
/* Ends the turn (`idle`: the CPU was halted or waiting and retired
 * nothing) and gives the next CPU its turn. MACHINE_HALT when every CPU
 * idled in a row, MACHINE_SHUTDOWN when an INIT ended the run, else
 * MACHINE_LIMIT. */
enum machine_stop smp_end_turn(struct machine *m, bool idle);
/* Something could wake one of the halted CPUs (IF set, an NMI pending). */
bool smp_can_wake(struct machine *m);
/* Snapshot parts: the schedule (every machine), the CPUs' images (several
 * CPUs). The loaders return false for bytes that do not fit, with *bad
 * naming the part, or NULL when the CPU count differs. */
void smp_save_schedule(struct machine *m, GByteArray *o);
bool smp_load_schedule(struct machine *m, const uint8_t *p, size_t len, const char **bad);
void smp_save_cpus(struct machine *m, GByteArray *o);
bool smp_load_cpus(struct machine *m, const uint8_t *p, size_t len);

/* vm.c, for machine.c */
enum machine_stop vm_run_all(struct machine *root, uint64_t max_insns);
/* Makes the CPU hold `vm`'s state (saving whoever's it held). */
void vm_switch_to(struct machine *root, struct machine *vm);
/* The slice timer of a VM's clock: its turn is over. */
void vm_slice_fired(void *opaque, uint64_t now);

/* tree.c, for machine.c and snapshot.c: the ABI's hook on the root's CPU,
 * the tree's end, and its state in a snapshot. */
void vm_tree_attach(struct machine *root);
void vm_tree_free(struct machine *root);
void vm_tree_save(struct machine *root, GByteArray *out);
bool vm_tree_restore(struct machine *root, const uint8_t *buf, size_t len);

#endif
