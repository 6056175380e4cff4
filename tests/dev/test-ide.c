/*
 * test-ide.c - the primary IDE channel on a real board: IDENTIFY, PIO
 * reads and writes (LBA and CHS, single and multiple), out-of-range
 * addresses, INTRQ with nIEN and the status read that acknowledges it,
 * device selection and absent devices, SRST, diagnostics, the modelled
 * latencies, and save/restore in the middle of a transfer.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "clock.h"
#include "device.h"
#include "disk.h"
#include "ide.h"
#include "ioport.h"
#include "nestlab.h"
#include "physmem.h"
#include "testboard.h"

#define MASTER_SECTORS 4096u /* 2 MiB: 4 cylinders of 16 x 63 */
#define SLAVE_SECTORS 2048u
#define PORT(reg) ((uint16_t)(IDE_CMD_BASE + (reg)))

static char *tmpdir;

struct fix {
	struct testboard tb; /* IRQ 14 only */
	struct disk *disk[2];
	struct dev_ide *ide;
};

/* {====== fixture */

static uint8_t pattern(uint64_t lba, unsigned i, unsigned unit)
{
	return (uint8_t)(lba * 31 + i * 7 + (lba >> 8) + unit * 101);
}

static char *make_image(const char *name, uint32_t sectors, unsigned unit)
{
	size_t len = (size_t)sectors * DISK_SECTOR_SIZE;
	uint8_t *buf = g_malloc(len);
	for (uint64_t s = 0; s < sectors; s++)
		for (unsigned i = 0; i < DISK_SECTOR_SIZE; i++)
			buf[s * DISK_SECTOR_SIZE + i] = pattern(s, i, unit);
	char *path = g_build_filename(tmpdir, name, NULL);
	g_assert_true(g_file_set_contents(path, (char *)buf, (gssize)len, NULL));
	g_free(buf);
	return path;
}

static void fix_init_disks(struct fix *f, bool master, bool slave)
{
	*f = (struct fix){ 0 };
	testboard_init(&f->tb);
	f->tb.only_irq = IDE_IRQ;
	char *pm = make_image("master.img", MASTER_SECTORS, 0);
	char *ps = make_image("slave.img", SLAVE_SECTORS, 1);
	f->disk[0] = master ? disk_open(pm, false, NULL) : NULL;
	f->disk[1] = slave ? disk_open(ps, false, NULL) : NULL;
	g_free(pm);
	g_free(ps);
	f->ide = testboard_adopt(&f->tb,
	                         dev_ide_new(&f->tb.board, f->disk[0], f->disk[1], &f->tb.err));
}

static void fix_init(struct fix *f)
{
	fix_init_disks(f, true, true);
}

static void fix_done(struct fix *f)
{
	testboard_free(&f->tb);
	disk_close(f->disk[0]);
	disk_close(f->disk[1]);
}

static void run_for(struct fix *f, uint64_t ns)
{
	testboard_run_to(&f->tb, f->tb.cycles + clock_ns_to_cycles(ns));
}

static uint8_t rd(struct fix *f, unsigned reg)
{
	return (uint8_t)ioport_read(f->tb.io, PORT(reg), 1);
}

static void wr(struct fix *f, unsigned reg, uint8_t v)
{
	ioport_write(f->tb.io, PORT(reg), v, 1);
}

static uint8_t alt_status(struct fix *f)
{
	return (uint8_t)ioport_read(f->tb.io, IDE_CTL_PORT, 1);
}

/* Runs the clock until the selected device drops BSY (at most 10 ms). */
static void wait_ready(struct fix *f)
{
	uint64_t end = f->tb.cycles + clock_ns_to_cycles(10000000);
	while ((alt_status(f) & IDE_SR_BSY) && f->tb.cycles < end) {
		uint64_t next = clock_next(f->tb.clock);
		g_assert_cmpuint(next, !=, CLOCK_NEVER);
		testboard_run_to(&f->tb, next);
	}
	g_assert_false(alt_status(f) & IDE_SR_BSY);
}

static void lba_command(struct fix *f, int unit, uint32_t lba, uint8_t count, uint8_t cmd)
{
	wr(f, IDE_REG_DEVICE, (uint8_t)(IDE_DEV_OBSOLETE | IDE_DEV_LBA | (unit ? IDE_DEV_DEV : 0) |
	                                ((lba >> 24) & IDE_DEV_HEAD)));
	wr(f, IDE_REG_NSECTOR, count);
	wr(f, IDE_REG_LBA_LOW, (uint8_t)lba);
	wr(f, IDE_REG_LBA_MID, (uint8_t)(lba >> 8));
	wr(f, IDE_REG_LBA_HIGH, (uint8_t)(lba >> 16));
	wr(f, IDE_REG_COMMAND, cmd);
}

/* Reads one DRQ block of `sectors` with 16-bit accesses. */
static void read_block(struct fix *f, uint8_t *buf, uint32_t sectors)
{
	for (uint32_t i = 0; i < sectors * DISK_SECTOR_SIZE; i += 2) {
		g_assert_true(alt_status(f) & IDE_SR_DRQ);
		uint16_t w = (uint16_t)ioport_read(f->tb.io, PORT(IDE_REG_DATA), 2);
		buf[i] = (uint8_t)w;
		buf[i + 1] = (uint8_t)(w >> 8);
	}
}

static void write_block(struct fix *f, const uint8_t *buf, uint32_t sectors)
{
	for (uint32_t i = 0; i < sectors * DISK_SECTOR_SIZE; i += 2) {
		g_assert_true(alt_status(f) & IDE_SR_DRQ);
		ioport_write(f->tb.io, PORT(IDE_REG_DATA), buf[i] | (uint32_t)buf[i + 1] << 8, 2);
	}
}

static void assert_pattern(const uint8_t *buf, uint64_t lba, uint32_t sectors, unsigned unit)
{
	for (uint32_t s = 0; s < sectors; s++)
		for (unsigned i = 0; i < DISK_SECTOR_SIZE; i++)
			if (buf[s * DISK_SECTOR_SIZE + i] != pattern(lba + s, i, unit))
				g_error("sector %" G_GUINT64_FORMAT " byte %u: got 0x%02x want 0x%02x",
				        lba + s, i, buf[s * DISK_SECTOR_SIZE + i],
				        pattern(lba + s, i, unit));
}

/* Reads `count` sectors (1-256) through PIO in blocks of `block`,
 * checking DRQ, INTRQ and the status read that acknowledges it. */
static void pio_read(struct fix *f, uint8_t *buf, uint32_t count, uint32_t block)
{
	for (uint32_t done = 0; done < count;) {
		int raises = f->tb.raises[IDE_IRQ];
		wait_ready(f);
		g_assert_cmpint(f->tb.raises[IDE_IRQ], ==, raises + 1);
		g_assert_true(f->tb.level[IDE_IRQ]);
		uint8_t st = rd(f, IDE_REG_STATUS);
		g_assert_cmphex(st, ==, IDE_SR_DRDY | IDE_SR_DSC | IDE_SR_DRQ);
		g_assert_false(f->tb.level[IDE_IRQ]);
		uint32_t n = MIN(block, count - done);
		read_block(f, buf + (size_t)done * DISK_SECTOR_SIZE, n);
		done += n;
	}
	g_assert_cmphex(alt_status(f), ==, IDE_SR_DRDY | IDE_SR_DSC);
}

/* Expects the command to end with ERR and `error`, with an interrupt. */
static void expect_error(struct fix *f, uint8_t error)
{
	int raises = f->tb.raises[IDE_IRQ];
	wait_ready(f);
	g_assert_cmpint(f->tb.raises[IDE_IRQ], ==, raises + 1);
	g_assert_cmphex(rd(f, IDE_REG_STATUS), ==, IDE_SR_DRDY | IDE_SR_DSC | IDE_SR_ERR);
	g_assert_cmphex(rd(f, IDE_REG_ERROR), ==, error);
	g_assert_false(f->tb.level[IDE_IRQ]);
}

static void expect_success(struct fix *f)
{
	int raises = f->tb.raises[IDE_IRQ];
	wait_ready(f);
	g_assert_cmpint(f->tb.raises[IDE_IRQ], ==, raises + 1);
	g_assert_cmphex(rd(f, IDE_REG_STATUS), ==, IDE_SR_DRDY | IDE_SR_DSC);
	g_assert_false(f->tb.level[IDE_IRQ]);
}

static void identify(struct fix *f, int unit, uint16_t *w)
{
	wr(f, IDE_REG_DEVICE, (uint8_t)(IDE_DEV_OBSOLETE | (unit ? IDE_DEV_DEV : 0)));
	wr(f, IDE_REG_COMMAND, IDE_CMD_IDENTIFY);
	uint8_t buf[DISK_SECTOR_SIZE];
	pio_read(f, buf, 1, 1);
	for (int i = 0; i < IDE_IDENTIFY_WORDS; i++)
		w[i] = (uint16_t)(buf[2 * i] | buf[2 * i + 1] << 8);
}

/* The ATA string in words [first, first + chars/2), spaces trimmed. */
static char *id_string(const uint16_t *w, int first, int chars)
{
	char *s = g_malloc0((size_t)chars + 1);
	for (int i = 0; i < chars; i += 2) {
		s[i] = (char)(w[first + i / 2] >> 8);
		s[i + 1] = (char)w[first + i / 2];
	}
	return g_strchomp(s);
}

/* }====== */

/* {====== IDENTIFY */

static void test_identify(void)
{
	struct fix f;
	fix_init(&f);
	g_assert_cmphex(rd(&f, IDE_REG_STATUS), ==, IDE_SR_DRDY | IDE_SR_DSC);
	uint16_t w[IDE_IDENTIFY_WORDS];
	identify(&f, 0, w);
	g_assert_cmphex(w[0], ==, 0x0040);
	g_assert_cmpuint(w[1], ==, MASTER_SECTORS / (16 * 63)); /* 4 cylinders */
	g_assert_cmpuint(w[3], ==, 16);
	g_assert_cmpuint(w[6], ==, 63);
	char *model = id_string(w, 27, 40), *fw = id_string(w, 23, 8), *serial = id_string(w, 10, 20);
	g_assert_cmpstr(model, ==, "NESTLAB HARDDISK");
	g_assert_cmpstr(fw, ==, IDE_FIRMWARE);
	g_assert_cmpstr(serial, ==, "NL-IDE0-0");
	g_assert_cmphex(w[27], ==, 'N' << 8 | 'E'); /* byte-swapped, as ATA wants */
	g_assert_cmphex(w[47], ==, 0x8000 | IDE_MAX_MULTIPLE);
	g_assert_true(w[49] & 0x0200); /* LBA */
	g_assert_cmpuint(w[60] | (uint32_t)w[61] << 16, ==, MASTER_SECTORS);
	g_assert_cmpuint(w[54], ==, 4);
	g_assert_cmpuint(w[57] | (uint32_t)w[58] << 16, ==, 4 * 16 * 63);
	g_assert_cmpuint(w[59], ==, 0); /* no multiple count set yet */
	uint8_t sum = 0;
	for (int i = 0; i < IDE_IDENTIFY_WORDS; i++)
		sum = (uint8_t)(sum + (w[i] & 0xff) + (w[i] >> 8));
	g_assert_cmpuint(w[255] & 0xff, ==, 0xa5);
	g_assert_cmpuint(sum, ==, 0);
	uint16_t direct[IDE_IDENTIFY_WORDS];
	g_assert_true(dev_ide_identify(f.ide, 0, direct));
	g_assert_cmpmem(w, sizeof w, direct, sizeof direct);
	identify(&f, 1, w); /* the slave */
	g_assert_cmpuint(w[60] | (uint32_t)w[61] << 16, ==, SLAVE_SECTORS);
	g_free(serial);
	g_free(model);
	g_free(fw);
	g_free(serial = id_string(w, 10, 20));
	fix_done(&f);
}

static void test_identify_32bit(void)
{
	struct fix f;
	fix_init(&f);
	uint16_t want[IDE_IDENTIFY_WORDS];
	g_assert_true(dev_ide_identify(f.ide, 0, want));
	wr(&f, IDE_REG_DEVICE, IDE_DEV_OBSOLETE);
	wr(&f, IDE_REG_COMMAND, IDE_CMD_IDENTIFY);
	wait_ready(&f);
	g_assert_cmphex(ioport_read(f.tb.io, PORT(IDE_REG_DATA), 1), ==, 0xff); /* 8-bit: not data */
	for (int i = 0; i < IDE_IDENTIFY_WORDS; i += 2) {
		uint32_t v = ioport_read(f.tb.io, PORT(IDE_REG_DATA), 4);
		g_assert_cmphex(v, ==, want[i] | (uint32_t)want[i + 1] << 16);
	}
	g_assert_false(alt_status(&f) & IDE_SR_DRQ);
	g_assert_cmphex(ioport_read(f.tb.io, PORT(IDE_REG_DATA), 2), ==, 0); /* no DRQ: nothing */
	fix_done(&f);
}

/* }====== */

/* {====== reads and writes */

static void test_read_lba(void)
{
	struct fix f;
	fix_init(&f);
	uint8_t buf[3 * DISK_SECTOR_SIZE];
	lba_command(&f, 0, 100, 3, IDE_CMD_READ_SECTORS);
	g_assert_cmphex(alt_status(&f), ==, IDE_SR_BSY);
	pio_read(&f, buf, 3, 1);
	assert_pattern(buf, 100, 3, 0);
	g_assert_cmpuint(rd(&f, IDE_REG_LBA_LOW), ==, 103); /* the next sector */
	g_assert_cmpuint(rd(&f, IDE_REG_NSECTOR), ==, 0);
	g_assert_cmpint(f.tb.raises[IDE_IRQ], ==, 3); /* one per block, none at the end */
	fix_done(&f);
}

static void test_read_chs(void)
{
	struct fix f;
	fix_init(&f);
	uint8_t buf[2 * DISK_SECTOR_SIZE];
	/* cylinder 1, head 2, sector 5 = LBA (1 * 16 + 2) * 63 + 4 = 1138 */
	wr(&f, IDE_REG_DEVICE, IDE_DEV_OBSOLETE | 2);
	wr(&f, IDE_REG_NSECTOR, 2);
	wr(&f, IDE_REG_LBA_LOW, 5);
	wr(&f, IDE_REG_LBA_MID, 1);
	wr(&f, IDE_REG_LBA_HIGH, 0);
	wr(&f, IDE_REG_COMMAND, IDE_CMD_READ_SECTORS_NR);
	pio_read(&f, buf, 2, 1);
	assert_pattern(buf, 1138, 2, 0);
	g_assert_cmpuint(rd(&f, IDE_REG_LBA_LOW), ==, 7); /* next: sector 7, same head */
	g_assert_cmpuint(rd(&f, IDE_REG_DEVICE) & IDE_DEV_HEAD, ==, 2);
	/* the last sector of a track carries into the next head */
	wr(&f, IDE_REG_DEVICE, IDE_DEV_OBSOLETE | 15);
	wr(&f, IDE_REG_NSECTOR, 2);
	wr(&f, IDE_REG_LBA_LOW, 63);
	wr(&f, IDE_REG_LBA_MID, 0);
	wr(&f, IDE_REG_COMMAND, IDE_CMD_READ_SECTORS);
	pio_read(&f, buf, 2, 1);
	assert_pattern(buf, 15 * 63 + 62, 2, 0);
	g_assert_cmpuint(rd(&f, IDE_REG_LBA_MID), ==, 1);
	g_assert_cmpuint(rd(&f, IDE_REG_DEVICE) & IDE_DEV_HEAD, ==, 0);
	g_assert_cmpuint(rd(&f, IDE_REG_LBA_LOW), ==, 2);
	fix_done(&f);
}

static void test_read_count_zero(void)
{
	struct fix f;
	fix_init(&f);
	uint8_t *buf = g_malloc(256 * DISK_SECTOR_SIZE);
	lba_command(&f, 0, 1000, 0, IDE_CMD_READ_SECTORS);
	pio_read(&f, buf, 256, 1);
	assert_pattern(buf, 1000, 256, 0);
	g_assert_cmpint(f.tb.raises[IDE_IRQ], ==, 256);
	g_free(buf);
	fix_done(&f);
}

static void test_multiple(void)
{
	struct fix f;
	fix_init(&f);
	lba_command(&f, 0, 0, 4, IDE_CMD_READ_MULTIPLE); /* no multiple count yet */
	expect_error(&f, IDE_ER_ABRT);
	wr(&f, IDE_REG_NSECTOR, 3); /* not a power of two */
	wr(&f, IDE_REG_COMMAND, IDE_CMD_SET_MULTIPLE);
	expect_error(&f, IDE_ER_ABRT);
	wr(&f, IDE_REG_NSECTOR, 32); /* above the maximum */
	wr(&f, IDE_REG_COMMAND, IDE_CMD_SET_MULTIPLE);
	expect_error(&f, IDE_ER_ABRT);
	wr(&f, IDE_REG_NSECTOR, 4);
	wr(&f, IDE_REG_COMMAND, IDE_CMD_SET_MULTIPLE);
	expect_success(&f);
	uint16_t w[IDE_IDENTIFY_WORDS];
	g_assert_true(dev_ide_identify(f.ide, 0, w));
	g_assert_cmphex(w[59], ==, 0x0104);
	int raises = f.tb.raises[IDE_IRQ];
	uint8_t buf[10 * DISK_SECTOR_SIZE];
	lba_command(&f, 0, 77, 10, IDE_CMD_READ_MULTIPLE);
	pio_read(&f, buf, 10, 4);
	assert_pattern(buf, 77, 10, 0);
	g_assert_cmpint(f.tb.raises[IDE_IRQ], ==, raises + 3); /* blocks of 4, 4, 2 */
	/* WRITE MULTIPLE: DRQ without INTRQ first, then one INTRQ per block */
	uint8_t out[6 * DISK_SECTOR_SIZE], back[6 * DISK_SECTOR_SIZE];
	for (size_t i = 0; i < sizeof out; i++)
		out[i] = (uint8_t)(i * 3 + 1);
	raises = f.tb.raises[IDE_IRQ];
	lba_command(&f, 0, 200, 6, IDE_CMD_WRITE_MULTIPLE);
	wait_ready(&f);
	g_assert_cmpint(f.tb.raises[IDE_IRQ], ==, raises);
	write_block(&f, out, 4);
	g_assert_cmphex(alt_status(&f), ==, IDE_SR_BSY);
	wait_ready(&f);
	g_assert_cmpint(f.tb.raises[IDE_IRQ], ==, raises + 1);
	g_assert_cmphex(rd(&f, IDE_REG_STATUS), ==, IDE_SR_DRDY | IDE_SR_DSC | IDE_SR_DRQ);
	write_block(&f, out + 4 * DISK_SECTOR_SIZE, 2);
	expect_success(&f);
	g_assert_true(disk_read(f.disk[0], 200, 6, back));
	g_assert_cmpmem(out, sizeof out, back, sizeof back);
	fix_done(&f);
}

static void test_write_then_read(void)
{
	struct fix f;
	fix_init(&f);
	uint8_t out[2 * DISK_SECTOR_SIZE], in[2 * DISK_SECTOR_SIZE];
	for (size_t i = 0; i < sizeof out; i++)
		out[i] = (uint8_t)(0xc3 ^ i);
	lba_command(&f, 0, 7, 2, IDE_CMD_WRITE_SECTORS);
	/* the sector buffer is empty: DRQ for the first block at once */
	g_assert_cmphex(alt_status(&f), ==, IDE_SR_DRDY | IDE_SR_DSC | IDE_SR_DRQ);
	wait_ready(&f);
	g_assert_cmpint(f.tb.raises[IDE_IRQ], ==, 0); /* the first PIO-out DRQ has no interrupt */
	g_assert_cmphex(alt_status(&f), ==, IDE_SR_DRDY | IDE_SR_DSC | IDE_SR_DRQ);
	write_block(&f, out, 1);
	g_assert_cmphex(alt_status(&f), ==, IDE_SR_BSY);
	wait_ready(&f);
	g_assert_cmpint(f.tb.raises[IDE_IRQ], ==, 1);
	g_assert_cmphex(rd(&f, IDE_REG_STATUS), ==, IDE_SR_DRDY | IDE_SR_DSC | IDE_SR_DRQ);
	write_block(&f, out + DISK_SECTOR_SIZE, 1);
	expect_success(&f);
	g_assert_cmpint(f.tb.raises[IDE_IRQ], ==, 2);
	lba_command(&f, 0, 7, 2, IDE_CMD_READ_SECTORS);
	pio_read(&f, in, 2, 1);
	g_assert_cmpmem(out, sizeof out, in, sizeof in);
	lba_command(&f, 0, 9, 1, IDE_CMD_READ_SECTORS); /* its neighbour is untouched */
	pio_read(&f, in, 1, 1);
	assert_pattern(in, 9, 1, 0);
	fix_done(&f);
}

/* xv6's idestart: the command, then at once REP OUTSL of the sector, with
 * no status read and no time passing in between; the data must land and
 * the completion interrupt follow. */
static void test_write_data_without_poll(void)
{
	struct fix f;
	fix_init(&f);
	uint8_t out[DISK_SECTOR_SIZE], in[DISK_SECTOR_SIZE];
	for (size_t i = 0; i < sizeof out; i++)
		out[i] = (uint8_t)(0x5a + 7 * i);
	for (int unit = 0; unit < 2; unit++) {
		uint64_t t0 = f.tb.cycles;
		int raises = f.tb.raises[IDE_IRQ];
		lba_command(&f, unit, 11, 1, IDE_CMD_WRITE_SECTORS);
		for (size_t i = 0; i < sizeof out; i += 4)
			ioport_write(f.tb.io, PORT(IDE_REG_DATA),
			             out[i] | (uint32_t)out[i + 1] << 8 | (uint32_t)out[i + 2] << 16 |
			                     (uint32_t)out[i + 3] << 24,
			             4);
		g_assert_cmpuint(f.tb.cycles, ==, t0);
		g_assert_cmphex(alt_status(&f), ==, IDE_SR_BSY); /* the block is going to the media */
		wait_ready(&f);
		g_assert_cmpint(f.tb.raises[IDE_IRQ], ==, raises + 1);
		g_assert_cmphex(rd(&f, IDE_REG_STATUS), ==, IDE_SR_DRDY | IDE_SR_DSC);
		g_assert_true(disk_read(f.disk[unit], 11, 1, in));
		g_assert_cmpmem(out, sizeof out, in, sizeof in);
		lba_command(&f, unit, 11, 1, IDE_CMD_READ_SECTORS); /* and through the port */
		memset(in, 0, sizeof in);
		pio_read(&f, in, 1, 1);
		g_assert_cmpmem(out, sizeof out, in, sizeof in);
		lba_command(&f, unit, 12, 1, IDE_CMD_READ_SECTORS); /* the next sector is untouched */
		pio_read(&f, in, 1, 1);
		assert_pattern(in, 12, 1, (unsigned)unit);
	}
	fix_done(&f);
}

static void test_out_of_range(void)
{
	struct fix f;
	fix_init(&f);
	lba_command(&f, 0, MASTER_SECTORS - 1, 2, IDE_CMD_READ_SECTORS); /* crosses the end */
	expect_error(&f, IDE_ER_IDNF);
	g_assert_false(alt_status(&f) & IDE_SR_DRQ);
	lba_command(&f, 0, 0x0fffff00, 1, IDE_CMD_WRITE_SECTORS);
	expect_error(&f, IDE_ER_IDNF);
	lba_command(&f, 0, MASTER_SECTORS, 1, IDE_CMD_READ_VERIFY);
	expect_error(&f, IDE_ER_IDNF);
	wr(&f, IDE_REG_DEVICE, IDE_DEV_OBSOLETE); /* CHS sector 0 does not exist */
	wr(&f, IDE_REG_LBA_LOW, 0);
	wr(&f, IDE_REG_NSECTOR, 1);
	wr(&f, IDE_REG_COMMAND, IDE_CMD_READ_SECTORS);
	expect_error(&f, IDE_ER_IDNF);
	wr(&f, IDE_REG_LBA_LOW, 1); /* cylinder 4 of a 4-cylinder disk */
	wr(&f, IDE_REG_LBA_MID, 4);
	wr(&f, IDE_REG_COMMAND, IDE_CMD_READ_SECTORS);
	expect_error(&f, IDE_ER_IDNF);
	lba_command(&f, 0, MASTER_SECTORS - 1, 1, IDE_CMD_READ_SECTORS); /* the last one is fine */
	uint8_t buf[DISK_SECTOR_SIZE];
	pio_read(&f, buf, 1, 1);
	assert_pattern(buf, MASTER_SECTORS - 1, 1, 0);
	fix_done(&f);
}

static void test_other_commands(void)
{
	struct fix f;
	fix_init(&f);
	const uint8_t ok[] = { IDE_CMD_SET_FEATURES, IDE_CMD_FLUSH_CACHE, IDE_CMD_RECALIBRATE,
	                       IDE_CMD_RECALIBRATE | 0xf };
	for (size_t i = 0; i < sizeof ok; i++) {
		wr(&f, IDE_REG_COMMAND, ok[i]);
		expect_success(&f);
	}
	lba_command(&f, 0, 10, 20, IDE_CMD_READ_VERIFY);
	expect_success(&f);
	g_assert_cmpuint(rd(&f, IDE_REG_LBA_LOW), ==, 30);
	const uint8_t unknown[] = { 0x00, 0x24, 0xa0, 0xc8, 0xff };
	for (size_t i = 0; i < sizeof unknown; i++) {
		wr(&f, IDE_REG_COMMAND, unknown[i]);
		expect_error(&f, IDE_ER_ABRT);
	}
	fix_done(&f);
}

static void test_init_params(void)
{
	struct fix f;
	fix_init(&f);
	wr(&f, IDE_REG_DEVICE, IDE_DEV_OBSOLETE | 3); /* 4 heads */
	wr(&f, IDE_REG_NSECTOR, 32);                  /* 32 sectors per track */
	wr(&f, IDE_REG_COMMAND, IDE_CMD_INIT_PARAMS);
	expect_success(&f);
	uint16_t w[IDE_IDENTIFY_WORDS];
	g_assert_true(dev_ide_identify(f.ide, 0, w));
	g_assert_cmpuint(w[54], ==, MASTER_SECTORS / (4 * 32));
	g_assert_cmpuint(w[55], ==, 4);
	g_assert_cmpuint(w[56], ==, 32);
	g_assert_cmpuint(w[1], ==, 4); /* the default geometry is still reported */
	wr(&f, IDE_REG_DEVICE, IDE_DEV_OBSOLETE | 1); /* C0 H1 S1 = LBA 32 now */
	wr(&f, IDE_REG_NSECTOR, 1);
	wr(&f, IDE_REG_LBA_LOW, 1);
	wr(&f, IDE_REG_LBA_MID, 0);
	wr(&f, IDE_REG_COMMAND, IDE_CMD_READ_SECTORS);
	uint8_t buf[DISK_SECTOR_SIZE];
	pio_read(&f, buf, 1, 1);
	assert_pattern(buf, 32, 1, 0);
	wr(&f, IDE_REG_NSECTOR, 0); /* 0 sectors per track cannot be */
	wr(&f, IDE_REG_COMMAND, IDE_CMD_INIT_PARAMS);
	expect_error(&f, IDE_ER_ABRT);
	fix_done(&f);
}

/* }====== */

/* {====== interrupts and timing */

static void test_nien(void)
{
	struct fix f;
	fix_init(&f);
	ioport_write(f.tb.io, IDE_CTL_PORT, IDE_CTL_NIEN, 1);
	wr(&f, IDE_REG_COMMAND, IDE_CMD_SET_FEATURES);
	wait_ready(&f);
	g_assert_cmpint(f.tb.raises[IDE_IRQ], ==, 0);
	g_assert_false(f.tb.level[IDE_IRQ]);
	ioport_write(f.tb.io, IDE_CTL_PORT, 0, 1); /* the pending interrupt shows */
	g_assert_true(f.tb.level[IDE_IRQ]);
	g_assert_cmphex(alt_status(&f), ==, IDE_SR_DRDY | IDE_SR_DSC);
	g_assert_true(f.tb.level[IDE_IRQ]); /* the alternate status does not acknowledge */
	rd(&f, IDE_REG_STATUS);
	g_assert_false(f.tb.level[IDE_IRQ]);
	ioport_write(f.tb.io, IDE_CTL_PORT, 0, 1);
	g_assert_false(f.tb.level[IDE_IRQ]); /* acknowledged for good */
	fix_done(&f);
}

static void test_timing(void)
{
	struct fix f;
	fix_init(&f);
	testboard_run_to(&f.tb, 12345);
	lba_command(&f, 0, 5, 2, IDE_CMD_READ_SECTORS);
	uint64_t t0 = f.tb.cycles;
	testboard_run_to(&f.tb, t0 + clock_ns_to_cycles(IDE_COMMAND_NS + IDE_SECTOR_NS) - 1);
	g_assert_cmphex(alt_status(&f), ==, IDE_SR_BSY);
	g_assert_cmpint(f.tb.raises[IDE_IRQ], ==, 0);
	testboard_run_to(&f.tb, f.tb.cycles + 1);
	g_assert_cmpint(f.tb.raises[IDE_IRQ], ==, 1);
	g_assert_cmpuint(f.tb.last_raise[IDE_IRQ], ==,
	                 t0 + clock_ns_to_cycles(IDE_COMMAND_NS + IDE_SECTOR_NS));
	rd(&f, IDE_REG_STATUS);
	uint8_t buf[DISK_SECTOR_SIZE];
	read_block(&f, buf, 1);
	uint64_t t1 = f.tb.cycles;
	wait_ready(&f);
	g_assert_cmpuint(f.tb.last_raise[IDE_IRQ], ==, t1 + clock_ns_to_cycles(IDE_SECTOR_NS));
	fix_done(&f);
}

/* }====== */

/* {====== devices on the channel */

static void test_slave_select(void)
{
	struct fix f;
	fix_init(&f);
	uint8_t buf[DISK_SECTOR_SIZE];
	lba_command(&f, 1, 42, 1, IDE_CMD_READ_SECTORS);
	pio_read(&f, buf, 1, 1);
	assert_pattern(buf, 42, 1, 1); /* the slave's data, not the master's */
	g_assert_cmphex(rd(&f, IDE_REG_DEVICE), ==, IDE_DEV_OBSOLETE | IDE_DEV_LBA | IDE_DEV_DEV);
	lba_command(&f, 1, SLAVE_SECTORS, 1, IDE_CMD_READ_SECTORS); /* beyond the slave only */
	expect_error(&f, IDE_ER_IDNF);
	wr(&f, IDE_REG_DEVICE, IDE_DEV_OBSOLETE); /* the master still has no error */
	g_assert_cmphex(rd(&f, IDE_REG_STATUS), ==, IDE_SR_DRDY | IDE_SR_DSC);
	lba_command(&f, 0, 42, 1, IDE_CMD_READ_SECTORS);
	pio_read(&f, buf, 1, 1);
	assert_pattern(buf, 42, 1, 0);
	fix_done(&f);
}

static void test_absent_slave(void)
{
	struct fix f;
	fix_init_disks(&f, true, false);
	wr(&f, IDE_REG_DEVICE, IDE_DEV_OBSOLETE | IDE_DEV_DEV);
	g_assert_cmphex(rd(&f, IDE_REG_STATUS), ==, 0);
	wr(&f, IDE_REG_COMMAND, IDE_CMD_IDENTIFY);
	run_for(&f, 1000000);
	g_assert_cmphex(rd(&f, IDE_REG_STATUS), ==, 0); /* ignored */
	g_assert_cmpint(f.tb.raises[IDE_IRQ], ==, 0);
	wr(&f, IDE_REG_NSECTOR, 0x5a); /* the master answers for the other registers */
	g_assert_cmphex(rd(&f, IDE_REG_NSECTOR), ==, 0x5a);
	uint16_t w[IDE_IDENTIFY_WORDS];
	g_assert_false(dev_ide_identify(f.ide, 1, w));
	identify(&f, 0, w);
	g_assert_cmpuint(w[60], ==, MASTER_SECTORS);
	fix_done(&f);
}

static void test_empty_channel(void)
{
	struct fix f;
	fix_init_disks(&f, false, false);
	for (unsigned reg = 1; reg <= 7; reg++)
		g_assert_cmphex(rd(&f, reg), ==, 0);
	g_assert_cmphex(alt_status(&f), ==, 0);
	wr(&f, IDE_REG_COMMAND, IDE_CMD_IDENTIFY);
	run_for(&f, 1000000);
	g_assert_cmphex(rd(&f, IDE_REG_STATUS), ==, 0);
	g_assert_cmpint(f.tb.raises[IDE_IRQ], ==, 0);
	/* the ports are the channel's: a second one cannot be added */
	GError *err = NULL;
	g_assert_null(dev_ide_new(&f.tb.board, NULL, NULL, &err));
	g_assert_error(err, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG);
	g_error_free(err);
	fix_done(&f);
}

static void test_srst(void)
{
	struct fix f;
	fix_init(&f);
	lba_command(&f, 1, 300, 2, IDE_CMD_READ_SECTORS);
	wait_ready(&f); /* a transfer in progress on the slave */
	ioport_write(f.tb.io, IDE_CTL_PORT, IDE_CTL_SRST, 1);
	g_assert_false(f.tb.level[IDE_IRQ]);
	g_assert_cmphex(alt_status(&f), ==, IDE_SR_BSY);
	ioport_write(f.tb.io, IDE_CTL_PORT, 0, 1);
	g_assert_cmphex(alt_status(&f), ==, IDE_SR_BSY);
	run_for(&f, IDE_RESET_NS);
	g_assert_cmphex(alt_status(&f), ==, IDE_SR_DRDY | IDE_SR_DSC);
	g_assert_cmpint(f.tb.raises[IDE_IRQ], ==, 1); /* the reset itself does not interrupt */
	/* device 0 is selected and shows the signature */
	g_assert_cmphex(rd(&f, IDE_REG_DEVICE), ==, IDE_DEV_OBSOLETE);
	g_assert_cmphex(rd(&f, IDE_REG_ERROR), ==, IDE_DIAG_PASSED);
	g_assert_cmphex(rd(&f, IDE_REG_NSECTOR), ==, 1);
	g_assert_cmphex(rd(&f, IDE_REG_LBA_LOW), ==, 1);
	g_assert_cmphex(rd(&f, IDE_REG_LBA_MID), ==, 0);
	g_assert_cmphex(rd(&f, IDE_REG_LBA_HIGH), ==, 0);
	g_assert_false(ioport_read(f.tb.io, PORT(IDE_REG_DATA), 2)); /* the transfer is gone */
	fix_done(&f);
}

static void test_diagnostic(void)
{
	struct fix f;
	fix_init(&f);
	lba_command(&f, 0, 0x123, 9, IDE_CMD_READ_VERIFY);
	expect_success(&f);
	wr(&f, IDE_REG_COMMAND, IDE_CMD_DIAGNOSTIC);
	wait_ready(&f);
	g_assert_cmpint(f.tb.raises[IDE_IRQ], ==, 2);
	g_assert_cmphex(rd(&f, IDE_REG_STATUS), ==, IDE_SR_DRDY | IDE_SR_DSC); /* no ERR */
	g_assert_cmphex(rd(&f, IDE_REG_ERROR), ==, IDE_DIAG_PASSED);
	g_assert_cmphex(rd(&f, IDE_REG_NSECTOR), ==, 1);
	g_assert_cmphex(rd(&f, IDE_REG_LBA_LOW), ==, 1);
	g_assert_cmphex(rd(&f, IDE_REG_LBA_MID), ==, 0);
	fix_done(&f);
}

/* }====== */

/* {====== snapshots */

static void test_save_restore(void)
{
	struct fix f;
	fix_init(&f);
	wr(&f, IDE_REG_NSECTOR, 2);
	wr(&f, IDE_REG_COMMAND, IDE_CMD_SET_MULTIPLE);
	expect_success(&f);
	lba_command(&f, 0, 500, 5, IDE_CMD_READ_MULTIPLE);
	wait_ready(&f);
	rd(&f, IDE_REG_STATUS);
	uint8_t first[2 * DISK_SECTOR_SIZE];
	read_block(&f, first, 2); /* now BSY before the second block */
	g_assert_cmphex(alt_status(&f), ==, IDE_SR_BSY);
	GByteArray *snap = g_byte_array_new();
	f.ide->dev.ops->save(&f.ide->dev, snap);
	uint64_t t_save = f.tb.cycles;
	int raises = f.tb.raises[IDE_IRQ];
	uint8_t rest[3 * DISK_SECTOR_SIZE], again[3 * DISK_SECTOR_SIZE];
	pio_read(&f, rest, 3, 2);
	uint64_t t_last = f.tb.last_raise[IDE_IRQ];
	assert_pattern(rest, 502, 3, 0);
	/* back in time, and a state change that the restore must undo */
	f.tb.cycles = t_save;
	ioport_write(f.tb.io, IDE_CTL_PORT, IDE_CTL_SRST, 1);
	GError *err = NULL;
	g_assert_true(f.ide->dev.ops->restore(&f.ide->dev, snap->data, snap->len, &err));
	g_assert_no_error(err);
	g_assert_cmphex(alt_status(&f), ==, IDE_SR_BSY);
	f.tb.raises[IDE_IRQ] = raises;
	pio_read(&f, again, 3, 2);
	g_assert_cmpmem(rest, sizeof rest, again, sizeof again);
	g_assert_cmpuint(f.tb.last_raise[IDE_IRQ], ==, t_last);
	/* a machine with other disks cannot take this state */
	struct fix g;
	fix_init_disks(&g, true, false);
	g_assert_false(g.ide->dev.ops->restore(&g.ide->dev, snap->data, snap->len, &err));
	g_assert_error(err, NESTLAB_ERROR, NESTLAB_ERROR_STATE);
	g_clear_error(&err);
	g_assert_false(f.ide->dev.ops->restore(&f.ide->dev, snap->data, snap->len - 1, &err));
	g_assert_error(err, NESTLAB_ERROR, NESTLAB_ERROR_STATE);
	g_clear_error(&err);
	fix_done(&g);
	g_byte_array_free(snap, TRUE);
	fix_done(&f);
}

static void test_reset_op(void)
{
	struct fix f;
	fix_init(&f);
	wr(&f, IDE_REG_NSECTOR, 4);
	wr(&f, IDE_REG_COMMAND, IDE_CMD_SET_MULTIPLE);
	wait_ready(&f);
	g_assert_true(f.tb.level[IDE_IRQ]);
	f.ide->dev.ops->reset(&f.ide->dev);
	g_assert_false(f.tb.level[IDE_IRQ]);
	uint16_t w[IDE_IDENTIFY_WORDS];
	g_assert_true(dev_ide_identify(f.ide, 0, w));
	g_assert_cmpuint(w[59], ==, 0); /* power-on: no multiple count */
	g_assert_cmphex(alt_status(&f), ==, IDE_SR_DRDY | IDE_SR_DSC);
	g_assert_cmpuint(clock_next(f.tb.clock), ==, CLOCK_NEVER);
	fix_done(&f);
}

/* }====== */

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	tmpdir = g_dir_make_tmp("nestlab-ide-XXXXXX", NULL);
	g_assert_nonnull(tmpdir);
	g_test_add_func("/ide/identify/block", test_identify);
	g_test_add_func("/ide/identify/32-bit-data-port", test_identify_32bit);
	g_test_add_func("/ide/read/lba", test_read_lba);
	g_test_add_func("/ide/read/chs", test_read_chs);
	g_test_add_func("/ide/read/count-zero-is-256", test_read_count_zero);
	g_test_add_func("/ide/multiple/set-read-write", test_multiple);
	g_test_add_func("/ide/write/then-read-back", test_write_then_read);
	g_test_add_func("/ide/write/data-right-after-command", test_write_data_without_poll);
	g_test_add_func("/ide/range/idnf", test_out_of_range);
	g_test_add_func("/ide/commands/others-and-unknown", test_other_commands);
	g_test_add_func("/ide/commands/init-device-params", test_init_params);
	g_test_add_func("/ide/irq/nien-and-status-ack", test_nien);
	g_test_add_func("/ide/timing/latency", test_timing);
	g_test_add_func("/ide/channel/slave-select", test_slave_select);
	g_test_add_func("/ide/channel/absent-slave", test_absent_slave);
	g_test_add_func("/ide/channel/empty", test_empty_channel);
	g_test_add_func("/ide/reset/srst", test_srst);
	g_test_add_func("/ide/reset/diagnostic", test_diagnostic);
	g_test_add_func("/ide/reset/power-on-op", test_reset_op);
	g_test_add_func("/ide/snapshot/mid-transfer", test_save_restore);
	int rc = g_test_run();
	char *m = g_build_filename(tmpdir, "master.img", NULL), *s = g_build_filename(tmpdir, "slave.img", NULL);
	g_remove(m);
	g_remove(s);
	g_rmdir(tmpdir);
	g_free(m);
	g_free(s);
	g_free(tmpdir);
	return rc;
}
