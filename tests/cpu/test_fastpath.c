/*
 * test_fastpath.c - the run loop's fast path and its reference path give
 * the same machine (issue 18, acceptance 2; docs/cpu.md, "The run loop").
 *
 * Each guest runs on three machines side by side: one on the fast path
 * (nothing armed), one on the reference path (cpu_set_reference: the
 * generic handlers only, REP strings element by element; and an
 * instruction observer attached, which sends every instruction through the
 * loop's slow branch and every write through the slow memory path), and,
 * for the first chunks of each guest, one single-stepped with
 * machine_step. After
 * every chunk of instructions (10^6 for miniOS, 10^5 for the ROMs) the
 * state hash, the instruction count and the cycle count must be equal.
 *
 * Guests: the benchmark ROMs of guests/bench/suite.asm (ALU, shifts,
 * memory, branches, strings, paging), its self-modifying-code ROM (it
 * patches the instruction right after the store, the opcode of the one
 * after, and code through a second mapping of its page; it must also
 * print the checksum QEMU and Bochs print), code the host writes into the
 * running guest's code page between chunks (as DMA and loaders do, through
 * machine_phys_write), and a miniOS session (boot, forktest, ls, halt).
 *
 * usage: test-cpu-fastpath ROMDIR SMC_ROM [MINIOS_KERNEL MINIOS_DISK]
 */
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "machine.h"

static const char *rom_dir, *smc_rom, *minios_kernel, *minios_disk;

/* The checksum the SMC ROM prints on QEMU, Bochs and nestlab. */
#define SMC_CSUM "csum=a5d3b2de"

/* {====== helpers ====== */

static uint64_t steps;

static void obs_write(void *opaque, uint32_t addr, uint32_t val, unsigned size, bool phys)
{
	(void)opaque, (void)addr, (void)val, (void)size, (void)phys;
}

static void obs_step(void *opaque, const struct machine_regs *regs, int level, bool event)
{
	(void)opaque, (void)regs, (void)level, (void)event;
	steps++;
}

/* Arms the reference path on `m`: the generic handlers only, and an
 * observer that looks at every step. */
static void arm_reference(struct machine *m)
{
	cpu_set_reference(machine_cpu(m), true);
	const struct machine_insn_observer obs = {obs_write, obs_step, NULL};
	GError *error = NULL;
	g_assert_true(machine_set_insn_observer(m, &obs, &error));
	g_assert_no_error(error);
}

static struct machine *rom_machine(const char *path)
{
	const struct machine_config cfg = {.rom_path = path, .console_quiet = true};
	GError *error = NULL;
	struct machine *m = machine_new(&cfg, &error);
	g_assert_no_error(error);
	g_assert_nonnull(m);
	return m;
}

static struct machine *minios_machine(void)
{
	const struct machine_disk d = {.path = minios_disk, .slave = true};
	const struct machine_config cfg = {
		.kernel_path = minios_kernel, .disks = &d, .n_disks = 1, .console_quiet = true,
	};
	GError *error = NULL;
	struct machine *m = machine_new(&cfg, &error);
	g_assert_no_error(error);
	g_assert_nonnull(m);
	const char *typed[] = {"forktest\n", "ls\n", "halt\n"};
	for (size_t i = 0; i < G_N_ELEMENTS(typed); i++)
		machine_add_input(m, MACHINE_INPUT_COM1, 0, "$ ", typed[i]);
	return m;
}

/* Fails unless the machines are in the same state: hash, icount, cycles. */
static void assert_same(struct machine *a, struct machine *b, const char *what)
{
	struct machine_regs ra, rb;
	machine_get_regs(a, &ra);
	machine_get_regs(b, &rb);
	char ha[65], hb[65];
	machine_state_hash(a, ha);
	machine_state_hash(b, hb);
	if (ra.icount != rb.icount || ra.cycles != rb.cycles || strcmp(ha, hb) != 0)
		g_error("%s: fast path at icount %" G_GUINT64_FORMAT " cycles %" G_GUINT64_FORMAT
		        " hash %.16s, reference at icount %" G_GUINT64_FORMAT " cycles %" G_GUINT64_FORMAT
		        " hash %.16s",
		        what, ra.icount, ra.cycles, ha, rb.icount, rb.cycles, hb);
}

/* Runs `n` instructions on `m` one machine_step at a time. */
static enum machine_stop step_n(struct machine *m, uint64_t n)
{
	enum machine_stop s = MACHINE_LIMIT;
	for (uint64_t i = 0; i < n && s == MACHINE_LIMIT; i++)
		s = machine_step(m);
	return s;
}

/*
 * Runs `fast` and `ref` (the reference path armed) in chunks of `chunk`
 * instructions to the end, comparing after each; `stepped`, if not NULL,
 * goes along single-stepped for the first `step_chunks` chunks. Calls
 * `between` (if not NULL) after each chunk on all machines alike. Returns
 * the number of chunks.
 */
static int lockstep(struct machine *fast, struct machine *ref, struct machine *stepped,
                    uint64_t chunk, int step_chunks,
                    void (*between)(struct machine *, int chunk), const char *what)
{
	int n = 0;
	for (;;) {
		enum machine_stop sa = machine_run(fast, chunk);
		enum machine_stop sb = machine_run(ref, chunk);
		g_assert_cmpint(sa, ==, sb);
		assert_same(fast, ref, what);
		if (stepped && n < step_chunks) {
			enum machine_stop sc = step_n(stepped, chunk);
			assert_same(fast, stepped, what);
			if (sc != MACHINE_LIMIT)
				g_assert_cmpint(sc, ==, sa);
		}
		n++;
		if (sa != MACHINE_LIMIT)
			return n;
		g_assert_cmpint(n, <, 100000);
		if (between) {
			between(fast, n);
			between(ref, n);
			if (stepped && n < step_chunks)
				between(stepped, n);
		}
	}
}

static bool console_has(struct machine *m, const char *text)
{
	const GByteArray *log = machine_console_log(m);
	return g_strstr_len((const char *)log->data, (gssize)log->len, text) != NULL;
}

/* }====================================================================== */

/* {====== the tests ====== */

static void test_rom(gconstpointer data)
{
	const char *name = data;
	gchar *path = g_strdup_printf("%s/suite-%s-short.rom", rom_dir, name);
	struct machine *a = rom_machine(path), *b = rom_machine(path), *c = rom_machine(path);
	arm_reference(b);
	steps = 0;
	int n = lockstep(a, b, c, 100000, 3, NULL, path);
	g_assert_cmpint(n, >, 1);
	g_assert_cmpuint(steps, >, 100000);
	g_assert_true(console_has(a, "csum="));
	machine_set_insn_observer(b, NULL, NULL);
	machine_free(a);
	machine_free(b);
	machine_free(c);
	g_free(path);
}

static void test_smc(void)
{
	struct machine *a = rom_machine(smc_rom), *b = rom_machine(smc_rom), *c = rom_machine(smc_rom);
	arm_reference(b);
	lockstep(a, b, c, 20000, 1000, NULL, smc_rom);
	g_assert_true(console_has(a, SMC_CSUM));
	g_assert_true(console_has(b, SMC_CSUM));
	machine_set_insn_observer(b, NULL, NULL);
	machine_free(a);
	machine_free(b);
	machine_free(c);
}

/* Between chunks, the host rewrites the count of `rol edx, 5` in the
 * routine the SMC ROM runs (physical 0x20000; C1 C2 05 at +24, so the
 * count at +26), which the guest itself never patches, as a DMA transfer
 * would. */
static void host_patch(struct machine *m, int chunk)
{
	uint8_t count = (uint8_t)(chunk % 31 + 1);
	machine_phys_write(m, 0x20000 + 26, &count, 1);
}

static void test_smc_host_writes(void)
{
	struct machine *a = rom_machine(smc_rom), *b = rom_machine(smc_rom), *c = rom_machine(smc_rom);
	arm_reference(b);
	lockstep(a, b, c, 7919, 1000, host_patch, smc_rom);
	g_assert_true(console_has(a, "csum="));
	g_assert_false(console_has(a, SMC_CSUM)); /* the host's patches were executed */
	machine_set_insn_observer(b, NULL, NULL);
	machine_free(a);
	machine_free(b);
	machine_free(c);
}

static void test_minios(void)
{
	struct machine *a = minios_machine(), *b = minios_machine(), *c = minios_machine();
	arm_reference(b);
	int n = lockstep(a, b, c, 1000000, 2, NULL, "miniOS");
	g_assert_cmpint(n, >, 20);
	g_assert_true(console_has(a, "forktest") && console_has(b, "forktest"));
	machine_set_insn_observer(b, NULL, NULL);
	machine_free(a);
	machine_free(b);
	machine_free(c);
}

/* }====================================================================== */

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	if (argc < 3) {
		fprintf(stderr, "usage: %s ROMDIR SMC_ROM [MINIOS_KERNEL MINIOS_DISK]\n", argv[0]);
		return 2;
	}
	rom_dir = argv[1];
	smc_rom = argv[2];
	if (argc >= 5) {
		minios_kernel = argv[3];
		minios_disk = argv[4];
	}
	static const char *const roms[] = {"alu", "shift", "mem", "branch", "string", "paging"};
	for (size_t i = 0; i < G_N_ELEMENTS(roms); i++) {
		gchar *p = g_strdup_printf("/cpu/fastpath/same-as-reference/%s", roms[i]);
		g_test_add_data_func(p, roms[i], test_rom);
		g_free(p);
	}
	g_test_add_func("/cpu/fastpath/same-as-reference/self-modifying-code", test_smc);
	g_test_add_func("/cpu/fastpath/same-as-reference/code-written-by-the-host", test_smc_host_writes);
	if (minios_kernel)
		g_test_add_func("/cpu/fastpath/same-as-reference/minios-session", test_minios);
	return g_test_run();
}
