/*
 * gdb_monitor.c - `monitor CMD` (qRcmd): the stub's own commands and the
 * hand-off to the target's.
 *
 *   monitor help                   the commands, the stub's and the target's
 *   monitor phys read ADDR LEN     LEN bytes of physical memory, as a hex dump
 *   monitor phys write ADDR HEX    bytes (hex pairs) into physical memory
 *
 * Numbers are C-style: 0x1000 or 4096. The output goes back as the hex
 * reply of qRcmd, which gdb prints; a command that fails prints why.
 */
#include "gdb_int.h"

#include <errno.h>
#include <string.h>

#define MAX_ARGS 8
#define DUMP_BYTES_PER_LINE 16u
#define ADDR_SPACE_END 0x100000000ull

static const char stub_help[] =
	"help                         this list\n"
	"phys read ADDR LEN           show LEN (at most 256) bytes of physical memory\n"
	"phys write ADDR HEXBYTES     write bytes (e.g. 90c3) into physical memory\n";

/* A number 0..max written as 0x.. hex or decimal; false if not one. */
static bool parse_num(const char *s, uint64_t max, uint64_t *v)
{
	char *end;
	if (!g_ascii_isdigit(*s))
		return false;
	errno = 0;
	*v = g_ascii_strtoull(s, &end, 0);
	return errno == 0 && *end == 0 && *v <= max;
}

static void phys_read(struct trc_gdb *stub, char **argv, int argc, GString *out)
{
	uint64_t addr, len;
	uint8_t buf[TRC_GDB_PHYS_READ_MAX];
	if (argc != 4 || !parse_num(argv[2], UINT32_MAX, &addr) ||
	    !parse_num(argv[3], TRC_GDB_PHYS_READ_MAX, &len) || len == 0 ||
	    addr + len > ADDR_SPACE_END) {
		g_string_append(out, "usage: phys read ADDR LEN (LEN 1 to 256, within 4 GiB)\n");
		return;
	}
	if (!stub->ops->read_mem ||
	    !stub->ops->read_mem(stub->opaque, (uint32_t)addr, buf, (size_t)len, true)) {
		g_string_append_printf(
		        out, "phys read: 0x%08" G_GINT64_MODIFIER "x: no memory there\n", addr);
		return;
	}
	for (uint64_t i = 0; i < len; i++) {
		if (i % DUMP_BYTES_PER_LINE == 0)
			g_string_append_printf(out, "%s0x%08" G_GINT64_MODIFIER "x:", i ? "\n" : "",
			                       addr + i);
		g_string_append_printf(out, " %02x", buf[i]);
	}
	g_string_append_c(out, '\n');
}

static void phys_write(struct trc_gdb *stub, char **argv, int argc, GString *out)
{
	uint64_t addr;
	uint8_t buf[TRC_GDB_PHYS_READ_MAX];
	size_t hexlen = argc == 4 ? strlen(argv[3]) : 0;
	size_t len = hexlen / 2;
	if (argc != 4 || !parse_num(argv[2], UINT32_MAX, &addr) || hexlen % 2 || len == 0 ||
	    len > sizeof buf || addr + len > ADDR_SPACE_END ||
	    !trc_gdb_hex_decode(argv[3], buf, len)) {
		g_string_append(out,
		                "usage: phys write ADDR HEXBYTES (1 to 256 bytes, within 4 GiB)\n");
		return;
	}
	if (!stub->ops->write_mem ||
	    !stub->ops->write_mem(stub->opaque, (uint32_t)addr, buf, len, true)) {
		g_string_append_printf(
		        out, "phys write: 0x%08" G_GINT64_MODIFIER "x: no memory there\n", addr);
		return;
	}
	g_string_append_printf(out, "wrote %zu byte%s at physical 0x%08" G_GINT64_MODIFIER "x\n",
	                       len, len == 1 ? "" : "s", addr);
}

/* Split on blanks into at most MAX_ARGS words (modifies cmd). */
static int split(char *cmd, char **argv)
{
	int argc = 0;
	char *save = NULL;
	for (char *tok = strtok_r(cmd, " \t", &save); tok && argc < MAX_ARGS;
	     tok = strtok_r(NULL, " \t", &save))
		argv[argc++] = tok;
	return argc;
}

static void run(struct trc_gdb *stub, const char *cmd, GString *out)
{
	char *copy = g_strdup(cmd);
	char *argv[MAX_ARGS];
	int argc = split(copy, argv);
	bool target = stub->ops->monitor != NULL;
	if (argc == 0 || (argc == 1 && strcmp(argv[0], "help") == 0)) {
		g_string_append(out, stub_help);
		if (target)
			stub->ops->monitor(stub->opaque, "help", out);
	} else if (argc >= 2 && strcmp(argv[0], "phys") == 0 && strcmp(argv[1], "read") == 0) {
		phys_read(stub, argv, argc, out);
	} else if (argc >= 2 && strcmp(argv[0], "phys") == 0 && strcmp(argv[1], "write") == 0) {
		phys_write(stub, argv, argc, out);
	} else if (argc == 1 && strcmp(argv[0], "phys") == 0) {
		g_string_append(out, "phys read ADDR LEN | phys write ADDR HEXBYTES\n");
	} else if (!target || !stub->ops->monitor(stub->opaque, cmd, out)) {
		g_string_append_printf(
		        out, "unknown monitor command '%s'; 'monitor help' lists them\n", cmd);
	}
	g_free(copy);
}

void trc_gdb_cmd_monitor(struct trc_gdb *stub, const char *hex)
{
	size_t hexlen = strlen(hex);
	size_t len = hexlen / 2;
	char cmd[TRC_GDB_PACKET_SIZE / 2 + 1];
	if (hexlen % 2 || !trc_gdb_hex_decode(hex, (uint8_t *)cmd, len) || memchr(cmd, 0, len)) {
		g_string_assign(stub->reply, GDB_E_INVAL);
		return;
	}
	cmd[len] = 0;
	GString *out = g_string_new(NULL);
	run(stub, g_strstrip(cmd), out);
	if (out->len == 0)
		g_string_assign(stub->reply, "OK");
	else
		trc_gdb_hex_append(stub->reply, out->str, out->len);
	g_string_free(out, TRUE);
}
