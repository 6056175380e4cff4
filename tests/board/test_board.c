/*
 * test_board.c - the minimal test board (docs/board.md): ROM loading and
 * mapping, RAM on demand, the debug console, the exit and POST ports, and
 * the reasons a run stops.
 *
 * Guest code here is a few hand-assembled real-mode bytes placed at the
 * start of a 64 KiB ROM; the reset vector jumps there (JMP F000:0000).
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "machine.h"
#include "rom.h"

#define KIB 1024u
#define RESET_VECTOR_OFFSET 0xfff0u /* in a 64 KiB ROM */

/* {====== helpers ====== */

/* A 64 KiB ROM filled with HLT, `code` at offset 0, JMP F000:0000 at reset. */
static GBytes *make_rom(const uint8_t *code, size_t len)
{
	uint8_t *img = g_malloc(ROM_SIZE_64K);
	memset(img, 0xf4, ROM_SIZE_64K);
	memcpy(img, code, len);
	static const uint8_t jmp_far[] = {0xea, 0x00, 0x00, 0x00, 0xf0}; /* jmp f000:0000 */
	memcpy(img + RESET_VECTOR_OFFSET, jmp_far, sizeof jmp_far);
	return g_bytes_new_take(img, ROM_SIZE_64K);
}

struct capture {
	GString *text;
};

static void capture_sink(void *opaque, const uint8_t *buf, size_t len)
{
	struct capture *c = opaque;
	g_string_append_len(c->text, (const char *)buf, (gssize)len);
}

/* A machine booting `code`, with the console captured into *cap if given. */
static struct machine *boot(const uint8_t *code, size_t len, uint16_t post_port,
                            struct capture *cap)
{
	GBytes *rom = make_rom(code, len);
	struct machine_config cfg = {.rom = rom, .post_port = post_port};
	if (cap) {
		cfg.console = capture_sink;
		cfg.console_opaque = cap;
	}
	GError *error = NULL;
	struct machine *m = machine_new(&cfg, &error);
	g_assert_no_error(error);
	g_bytes_unref(rom);
	return m;
}

static gchar *write_temp_file(gsize size)
{
	gchar *path = NULL;
	int fd = g_file_open_tmp("rom-XXXXXX.bin", &path, NULL);
	g_assert_cmpint(fd, >=, 0);
	close(fd);
	gchar *data = g_malloc0(size ? size : 1);
	g_assert_true(g_file_set_contents(path, data, (gssize)size, NULL));
	g_free(data);
	return path;
}

/* }====================================================================== */

/* {====== ROM loading ====== */

static void test_rom_missing_file(void)
{
	GError *error = NULL;
	struct machine_config cfg = {.rom_path = "/nonexistent/dir/no.rom"};
	g_assert_null(machine_new(&cfg, &error));
	g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
	g_assert_nonnull(strstr(error->message, "/nonexistent/dir/no.rom"));
	g_assert_nonnull(strstr(error->message, "No such file"));
	g_error_free(error);
}

static void test_rom_wrong_size(void)
{
	static const gsize bad[] = {0, 1000, 32 * KIB, 64 * KIB + 1, 256 * KIB};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		gchar *path = write_temp_file(bad[i]);
		GError *error = NULL;
		g_assert_null(rom_load(path, &error));
		g_assert_error(error, NESTLAB_ERROR, NESTLAB_ERROR_ROM_SIZE);
		g_assert_nonnull(strstr(error->message, path));
		g_assert_nonnull(strstr(error->message, "64 KiB"));
		g_error_free(error);
		g_unlink(path);
		g_free(path);
	}
}

static void test_rom_right_sizes_load(void)
{
	static const gsize good[] = {ROM_SIZE_64K, ROM_SIZE_128K};
	for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
		gchar *path = write_temp_file(good[i]);
		GError *error = NULL;
		GBytes *rom = rom_load(path, &error);
		g_assert_no_error(error);
		g_assert_cmpuint(g_bytes_get_size(rom), ==, good[i]);
		g_bytes_unref(rom);
		g_unlink(path);
		g_free(path);
	}
}

static void test_rom_directory_is_an_error(void)
{
	GError *error = NULL;
	g_assert_null(rom_load(g_get_tmp_dir(), &error));
	g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL);
	g_error_free(error);
}

static void test_rom_bytes_wrong_size(void)
{
	GBytes *rom = g_bytes_new_take(g_malloc0(100), 100);
	struct machine_config cfg = {.rom = rom};
	GError *error = NULL;
	g_assert_null(machine_new(&cfg, &error));
	g_assert_error(error, NESTLAB_ERROR, NESTLAB_ERROR_ROM_SIZE);
	g_error_free(error);
	g_bytes_unref(rom);
}

/* }====================================================================== */

/* {====== memory map ====== */

static void test_rom_mapped_high_and_low(void)
{
	for (int big = 0; big < 2; big++) {
		gsize size = big ? ROM_SIZE_128K : ROM_SIZE_64K;
		uint8_t *img = g_malloc(size);
		for (gsize i = 0; i < size; i++)
			img[i] = (uint8_t)(i * 7 + (i >> 12));
		GBytes *rom = g_bytes_new_take(img, size);
		struct machine_config cfg = {.rom = rom};
		struct machine *m = machine_new(&cfg, NULL);
		g_assert_nonnull(m);
		uint8_t hi[16], lo[16];
		machine_phys_read(m, (uint32_t)(0x100000000ull - size), hi, sizeof hi);
		machine_phys_read(m, (uint32_t)(0x100000u - size), lo, sizeof lo);
		g_assert_cmpmem(hi, sizeof hi, g_bytes_get_data(rom, NULL), 16);
		g_assert_cmpmem(lo, sizeof lo, g_bytes_get_data(rom, NULL), 16);
		/* the last byte sits just below 4 GiB and just below 1 MiB */
		machine_phys_read(m, 0xffffffffu, hi, 1);
		machine_phys_read(m, 0xfffffu, lo, 1);
		g_assert_cmphex(hi[0], ==, ((const uint8_t *)g_bytes_get_data(rom, NULL))[size - 1]);
		g_assert_cmphex(lo[0], ==, hi[0]);
		machine_free(m);
		g_bytes_unref(rom);
	}
}

static void test_rom_is_read_only(void)
{
	static const uint8_t code[] = {0xf4};
	struct machine *m = boot(code, sizeof code, 0, NULL);
	struct pmem *pm = machine_pmem(m);
	pmem_write(pm, 0xffff0000u, 0x12345678u, 4);
	pmem_write(pm, 0xf0000u, 0x12345678u, 4);
	g_assert_cmphex(pmem_read(pm, 0xffff0000u, 1), ==, 0xf4);
	g_assert_cmphex(pmem_read(pm, 0xf0000u, 1), ==, 0xf4);
	bool w = true;
	g_assert_nonnull(pmem_page(pm, 0xffff0000u, &w));
	g_assert_false(w);
	machine_free(m);
}

static void test_unmapped_reads_all_ones(void)
{
	struct machine_config cfg = {.mem_mib = 2};
	struct machine *m = machine_new(&cfg, NULL);
	struct pmem *pm = machine_pmem(m);
	g_assert_cmphex(pmem_read(pm, 2u << 20, 4), ==, 0xffffffffu);
	g_assert_cmphex(pmem_read(pm, 0x80000000u, 2), ==, 0xffffu);
	pmem_write(pm, 0x80000000u, 0, 4); /* dropped, no crash */
	bool w;
	g_assert_null(pmem_page(pm, 2u << 20, &w));
	/* no ROM configured: the reset vector area reads all-ones too */
	g_assert_cmphex(pmem_read(pm, 0xfffffff0u, 1), ==, 0xff);
	/* a word straddling the end of RAM: one RAM byte, one floating byte */
	pmem_write(pm, (2u << 20) - 1, 0x5a, 1);
	g_assert_cmphex(pmem_read(pm, (2u << 20) - 1, 2), ==, 0xff5a);
	machine_free(m);
}

static void test_ram_pages_allocated_on_touch(void)
{
	struct machine_config cfg = {.mem_mib = MACHINE_MEM_MAX_MIB};
	struct machine *m = machine_new(&cfg, NULL);
	struct pmem *pm = machine_pmem(m);
	g_assert_cmpuint(pmem_ram_size(pm), ==, MACHINE_MEM_MAX_MIB * 1024u * 1024u);
	g_assert_cmpuint(pmem_pages_used(pm), ==, 0);
	const char msg[] = "hello";
	machine_phys_write(m, 0xbfff0000u, msg, sizeof msg);
	char back[sizeof msg];
	machine_phys_read(m, 0xbfff0000u, back, sizeof back);
	g_assert_cmpstr(back, ==, msg);
	g_assert_cmpuint(pmem_pages_used(pm), ==, 1);
	machine_free(m);
}

static void test_too_much_ram_is_an_error(void)
{
	struct machine_config cfg = {.mem_mib = MACHINE_MEM_MAX_MIB + 1};
	GError *error = NULL;
	g_assert_null(machine_new(&cfg, &error));
	g_assert_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG);
	g_error_free(error);
}

/* }====================================================================== */

/* {====== debug ports (driven directly through the port space) ====== */

static void test_exit_port_status(void)
{
	static const struct {
		uint32_t val;
		int size;
		int status;
	} cases[] = {{0, 1, 1}, {1, 1, 3}, {5, 1, 11}, {0x7f, 1, 0xff}, {0x1234, 2, 0x2469}};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct machine_config cfg = {0};
		struct machine *m = machine_new(&cfg, NULL);
		int status = -1;
		g_assert_false(machine_exit_status(m, &status));
		ioport_write(machine_io(m), DEBUGPORT_EXIT, cases[i].val, cases[i].size);
		g_assert_true(machine_exit_status(m, &status));
		g_assert_cmpint(status, ==, cases[i].status);
		/* a second write does not change the status of a finished run */
		ioport_write(machine_io(m), DEBUGPORT_EXIT, 9, 1);
		machine_exit_status(m, &status);
		g_assert_cmpint(status, ==, cases[i].status);
		g_assert_cmpint(machine_run(m, 0), ==, MACHINE_EXIT);
		machine_free(m);
	}
}

static void test_post_port_keeps_last_value(void)
{
	struct machine_config cfg = {0};
	struct machine *m = machine_new(&cfg, NULL);
	g_assert_cmpint(machine_post_code(m), ==, -1);
	ioport_write(machine_io(m), 0x80, 0x11, 1);
	ioport_write(machine_io(m), 0x80, 0x42, 1);
	g_assert_cmpint(machine_post_code(m), ==, 0x42);
	machine_free(m);
}

static void test_post_port_selectable(void)
{
	struct machine_config cfg = {.post_port = 0x190};
	struct machine *m = machine_new(&cfg, NULL);
	ioport_write(machine_io(m), 0x80, 0x11, 1);
	g_assert_cmpint(machine_post_code(m), ==, -1);
	ioport_write(machine_io(m), 0x190, 0x77, 1);
	g_assert_cmpint(machine_post_code(m), ==, 0x77);
	machine_free(m);
}

static void test_post_port_collision_is_an_error(void)
{
	static const uint16_t bad[] = {DEBUGPORT_CONSOLE, DEBUGPORT_EXIT, DEBUGPORT_EXIT + 3};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		struct machine_config cfg = {.post_port = bad[i]};
		GError *error = NULL;
		g_assert_null(machine_new(&cfg, &error));
		g_assert_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG);
		g_error_free(error);
	}
}

static void test_console_capture(void)
{
	struct capture cap = {g_string_new(NULL)};
	struct machine_config cfg = {.console = capture_sink, .console_opaque = &cap};
	struct machine *m = machine_new(&cfg, NULL);
	for (const char *p = "hi\n"; *p; p++)
		ioport_write(machine_io(m), DEBUGPORT_CONSOLE, (uint8_t)*p, 1);
	g_assert_cmpstr(cap.text->str, ==, "hi\n");
	/* a read identifies the port, as Bochs's port_e9_hack does */
	g_assert_cmphex(ioport_read(machine_io(m), DEBUGPORT_CONSOLE, 1), ==, 0xe9);
	machine_free(m);
	g_string_free(cap.text, TRUE);
}

static void test_unclaimed_ports_float(void)
{
	struct machine_config cfg = {0};
	struct machine *m = machine_new(&cfg, NULL);
	g_assert_cmphex(ioport_read(machine_io(m), 0x1234, 1), ==, 0xff);
	g_assert_cmphex(ioport_read(machine_io(m), 0x1234, 4), ==, 0xffffffffu);
	ioport_write(machine_io(m), 0x1234, 0, 1);
	machine_free(m);
}

/* }====================================================================== */

/* {====== running guest code on the CPU ====== */

/* Port 0x92 bit 1 closes the A20 gate: FFFF:0010 then wraps to 0:0000. */
static void test_a20_gate_port_92(void)
{
	static const uint8_t code[] = {
		0xb8, 0xff, 0xff,             /* mov ax,0xffff */
		0x8e, 0xd8,                   /* mov ds,ax */
		0xc6, 0x06, 0x10, 0x00, 0x5a, /* mov byte [0x10],0x5a  (0x100000) */
		0x31, 0xc0,                   /* xor ax,ax */
		0x8e, 0xc0,                   /* mov es,ax */
		0x26, 0xa0, 0x00, 0x00,       /* mov al,[es:0]  -> 00: no wrap */
		0xe6, 0xe9,                   /* out 0xe9,al */
		0xe4, 0x92,                   /* in al,0x92 */
		0x24, 0xfd,                   /* and al,0xfd */
		0xe6, 0x92,                   /* out 0x92,al  (A20 closed) */
		0xc6, 0x06, 0x10, 0x00, 0xa5, /* mov byte [0x10],0xa5  (wraps to 0) */
		0x26, 0xa0, 0x00, 0x00,       /* mov al,[es:0]  -> a5 */
		0xe6, 0xe9,                   /* out 0xe9,al */
		0xe4, 0x92,                   /* in al,0x92  -> 00 */
		0xe6, 0xe9,                   /* out 0xe9,al */
		0xb0, 0x00,                   /* mov al,0 */
		0xe6, 0xf4,                   /* out 0xf4,al */
	};
	struct capture cap = {g_string_new(NULL)};
	struct machine *m = boot(code, sizeof code, 0, &cap);
	g_assert_cmpint(machine_run(m, 1000), ==, MACHINE_EXIT);
	g_assert_cmpuint(cap.text->len, ==, 3);
	g_assert_cmphex((uint8_t)cap.text->str[0], ==, 0x00);
	g_assert_cmphex((uint8_t)cap.text->str[1], ==, 0xa5);
	g_assert_cmphex((uint8_t)cap.text->str[2], ==, 0x00);
	g_string_free(cap.text, TRUE);
	machine_free(m);
}

static void test_guest_exit_code(void)
{
	static const uint8_t code[] = {
		0xb0, 0x05, /* mov al, 5 */
		0xe6, 0xf4, /* out 0xf4, al */
		0xeb, 0xfe, /* jmp $ (never reached) */
	};
	struct machine *m = boot(code, sizeof code, 0, NULL);
	g_assert_cmpint(machine_run(m, 1000), ==, MACHINE_EXIT);
	int status = 0;
	g_assert_true(machine_exit_status(m, &status));
	g_assert_cmpint(status, ==, 11);
	struct machine_regs r;
	machine_get_regs(m, &r);
	g_assert_cmpuint(r.icount, ==, 3); /* jmp far, mov, out */
	machine_free(m);
}

static void test_guest_console_and_post(void)
{
	static const uint8_t code[] = {
		0xb0, 'o', 0xe6, 0xe9, /* mov al, 'o'; out 0xe9, al */
		0xb0, 'k', 0xe6, 0xe9,
		0xb0, '\n', 0xe6, 0xe9,
		0xb0, 0x42, 0xe6, 0x80,       /* POST 0x42 */
		0xb0, 0x77, 0xba, 0x90, 0x01, /* mov al, 0x77; mov dx, 0x190 */
		0xee,                         /* out dx, al */
		0xb0, 0x00, 0xe6, 0xf4,       /* exit 0 */
	};
	struct capture cap = {g_string_new(NULL)};
	struct machine *m = boot(code, sizeof code, 0, &cap);
	g_assert_cmpint(machine_run(m, 0), ==, MACHINE_EXIT);
	g_assert_cmpstr(cap.text->str, ==, "ok\n");
	g_assert_cmpint(machine_post_code(m), ==, 0x42);
	int status = 0;
	machine_exit_status(m, &status);
	g_assert_cmpint(status, ==, 1);
	machine_free(m);
	m = boot(code, sizeof code, 0x190, &cap);
	g_string_truncate(cap.text, 0);
	machine_run(m, 0);
	g_assert_cmpint(machine_post_code(m), ==, 0x77);
	machine_free(m);
	g_string_free(cap.text, TRUE);
}

static void test_guest_halt(void)
{
	static const uint8_t code[] = {0xfa, 0xf4}; /* cli; hlt */
	struct machine *m = boot(code, sizeof code, 0, NULL);
	g_assert_cmpint(machine_run(m, 1000), ==, MACHINE_HALT);
	g_assert_cmpint(machine_run(m, 1000), ==, MACHINE_HALT);
	machine_free(m);
}

static void test_instruction_limit(void)
{
	static const uint8_t code[] = {0xeb, 0xfe}; /* jmp $ */
	struct machine *m = boot(code, sizeof code, 0, NULL);
	g_assert_cmpint(machine_run(m, 1000), ==, MACHINE_LIMIT);
	struct machine_regs r;
	machine_get_regs(m, &r);
	g_assert_cmpuint(r.icount, ==, 1000);
	g_assert_cmphex(r.cs, ==, 0xf000);
	g_assert_cmphex(r.eip, ==, 0);
	g_assert_cmpint(machine_step(m), ==, MACHINE_LIMIT);
	machine_get_regs(m, &r);
	g_assert_cmpuint(r.icount, ==, 1001);
	machine_free(m);
}

static void test_triple_fault_shuts_down(void)
{
	static const uint8_t code[] = {
		0x2e, 0x0f, 0x01, 0x1e, 0x00, 0x01, /* lidt cs:[0x100] (limit 0) */
		0xcc,                               /* int3: beyond the IVT limit */
	};
	uint8_t img[0x108];
	memset(img, 0xf4, sizeof img);
	memcpy(img, code, sizeof code);
	memset(img + 0x100, 0, 6);
	struct machine *m = boot(img, sizeof img, 0, NULL);
	g_assert_cmpint(machine_run(m, 1000), ==, MACHINE_SHUTDOWN);
	g_assert_nonnull(machine_shutdown_reason(m));
	g_assert_cmpint(machine_run(m, 1000), ==, MACHINE_SHUTDOWN);
	machine_free(m);
}

static void test_request_stop(void)
{
	static const uint8_t code[] = {0xeb, 0xfe}; /* jmp $ */
	struct machine *m = boot(code, sizeof code, 0, NULL);
	machine_request_stop(m);
	g_assert_cmpint(machine_run(m, 0), ==, MACHINE_STOPPED);
	g_assert_cmpint(machine_run(m, 10), ==, MACHINE_LIMIT);
	machine_free(m);
}

/* }====================================================================== */

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/board/rom/missing-file-is-a-file-error", test_rom_missing_file);
	g_test_add_func("/board/rom/wrong-size-is-rejected", test_rom_wrong_size);
	g_test_add_func("/board/rom/64k-and-128k-load", test_rom_right_sizes_load);
	g_test_add_func("/board/rom/directory-is-rejected", test_rom_directory_is_an_error);
	g_test_add_func("/board/rom/bytes-of-wrong-size-are-rejected", test_rom_bytes_wrong_size);
	g_test_add_func("/board/mem/rom-mapped-below-4g-and-1m", test_rom_mapped_high_and_low);
	g_test_add_func("/board/mem/rom-is-read-only", test_rom_is_read_only);
	g_test_add_func("/board/mem/unmapped-reads-all-ones", test_unmapped_reads_all_ones);
	g_test_add_func("/board/mem/ram-pages-allocated-on-touch", test_ram_pages_allocated_on_touch);
	g_test_add_func("/board/mem/too-much-ram-is-an-error", test_too_much_ram_is_an_error);
	g_test_add_func("/board/port/exit-status-is-v-shl-1-or-1", test_exit_port_status);
	g_test_add_func("/board/port/post-keeps-last-value", test_post_port_keeps_last_value);
	g_test_add_func("/board/port/post-port-selectable", test_post_port_selectable);
	g_test_add_func("/board/port/post-port-collision-is-an-error",
	                test_post_port_collision_is_an_error);
	g_test_add_func("/board/port/console-capture", test_console_capture);
	g_test_add_func("/board/port/unclaimed-ports-float", test_unclaimed_ports_float);
	g_test_add_func("/board/run/guest-exit-code", test_guest_exit_code);
	g_test_add_func("/board/port/a20-gate-port-92-wraps-at-1m", test_a20_gate_port_92);
	g_test_add_func("/board/run/guest-console-and-post", test_guest_console_and_post);
	g_test_add_func("/board/run/halt-stops-the-run", test_guest_halt);
	g_test_add_func("/board/run/instruction-limit", test_instruction_limit);
	g_test_add_func("/board/run/triple-fault-shuts-down", test_triple_fault_shuts_down);
	g_test_add_func("/board/run/request-stop", test_request_stop);
	return g_test_run();
}
