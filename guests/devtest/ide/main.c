/*
 * guests/devtest/ide/main.c - the primary IDE channel as a PIO driver sees
 * it: a software reset and the ATA signature, IDENTIFY DEVICE of master and
 * slave (capacity, geometry), READ SECTORS by LBA and by CHS, READ MULTIPLE
 * after SET MULTIPLE MODE, WRITE SECTORS and WRITE MULTIPLE read back, an
 * address beyond the end, and IRQ 14 through the 8259A: one interrupt per
 * DRQ block and per completion, none with nIEN set, and the status read
 * that lowers the line (seen in the slave PIC's IRR with IRQ 14 made level
 * triggered through the ELCR).
 *
 * The disks are images made by mkdiskimg.py: a 2 MiB master and a 1 MiB
 * slave whose sectors carry their LBA and a pattern (sector_byte below).
 * Writes stay in nestlab's copy-on-write overlay and QEMU's snapshot=on.
 *
 * Where nestlab and QEMU may differ, only what both satisfy is checked and
 * the rest goes on TIME: lines: the model string (QEMU says "QEMU
 * HARDDISK"), the error code of an out-of-range address (IDNF as ATA says,
 * or ABRT as QEMU answers), loop counts. QEMU resets the multiple count to
 * 16 on a reset, so READ MULTIPLE is only used after SET MULTIPLE MODE.
 */
#include "rt.h"

/* ATA ports and registers */
#define ATA_DATA 0x1F0
#define ATA_ERROR 0x1F1
#define ATA_FEATURES 0x1F1
#define ATA_NSECTOR 0x1F2
#define ATA_LBA_LOW 0x1F3
#define ATA_LBA_MID 0x1F4
#define ATA_LBA_HIGH 0x1F5
#define ATA_DEVICE 0x1F6
#define ATA_STATUS 0x1F7
#define ATA_COMMAND 0x1F7
#define ATA_ALTSTATUS 0x3F6
#define ATA_DEVCTL 0x3F6

#define SR_BSY 0x80
#define SR_DRDY 0x40
#define SR_DRQ 0x08
#define SR_ERR 0x01
#define ER_IDNF 0x10
#define ER_ABRT 0x04
#define DEV_OBSOLETE 0xA0
#define DEV_LBA 0x40
#define DEV_SLAVE 0x10
#define CTL_NIEN 0x02
#define CTL_SRST 0x04

#define CMD_READ_SECTORS 0x20
#define CMD_WRITE_SECTORS 0x30
#define CMD_READ_MULTIPLE 0xC4
#define CMD_WRITE_MULTIPLE 0xC5
#define CMD_SET_MULTIPLE 0xC6
#define CMD_FLUSH_CACHE 0xE7
#define CMD_IDENTIFY 0xEC

/* IDENTIFY words */
#define ID_CONFIG 0
#define ID_CYLINDERS 1
#define ID_HEADS 3
#define ID_SPT 6
#define ID_MODEL 27
#define ID_MAX_MULTIPLE 47
#define ID_CAPS 49
#define ID_LBA_SECTORS 60
#define ID_CONFIG_NOT_ATA 0x8000
#define ID_CAPS_LBA 0x0200
#define ID_MODEL_WORDS 20

/* The images (mkdiskimg.py) */
#define SECTOR 512
#define MASTER_SECTORS 4096u
#define SLAVE_SECTORS 2048u
#define HEADS 16u
#define SPT 63u

/* 8259A: IRQ 14 is slave IR6; ELCR 0x4D1 bit 6 makes it level triggered */
#define IRQ_IDE 14
#define SLAVE_IR_IDE 0x40
#define ELCR_HI 0x4D1
#define OCW3_READ_IRR 0x0A

#define POLL_LIMIT 10000000u
#define BUF_SECTORS 10

static uint8_t buf[BUF_SECTORS * SECTOR];
static volatile uint32_t ide_irqs;
static uint32_t max_poll; /* longest BSY wait, for a TIME: line */

static void ide_irq(struct rt_frame *f)
{
	(void)f;
	ide_irqs++;
	pic_eoi(IRQ_IDE);
}

/* {====== the image pattern (mkdiskimg.py) */

static uint8_t sector_byte(uint32_t s, uint32_t i, uint32_t unit)
{
	if (i < 4)
		return (uint8_t)(s >> (8 * i));
	if (i < 8) {
		static const char tag[4] = { 'N', 'L', '0', 0 };
		return (uint8_t)(tag[i - 4] + (i == 6 ? unit : 0));
	}
	return (uint8_t)(s * 31 + i * 7 + (s >> 8) + unit * 101);
}

/* True if `n` sectors in `b` are sectors `lba`... of disk `unit`. */
static bool matches(const uint8_t *b, uint32_t lba, uint32_t n, uint32_t unit)
{
	for (uint32_t s = 0; s < n; s++)
		for (uint32_t i = 0; i < SECTOR; i++)
			if (b[s * SECTOR + i] != sector_byte(lba + s, i, unit)) {
				rt_printf("mismatch: sector %u byte %u: got 0x%x, want 0x%x\n",
				          lba + s, i, b[s * SECTOR + i], sector_byte(lba + s, i, unit));
				return false;
			}
	return true;
}

/* }====== */

/* {====== the PIO protocol */

/* The 400 ns the host waits before trusting the status after a write. */
static void delay400(void)
{
	for (int i = 0; i < 4; i++)
		inb(ATA_ALTSTATUS);
}

/* Waits for BSY to clear; returns the alternate status (0xFF on timeout). */
static uint8_t wait_not_busy(void)
{
	for (uint32_t i = 0; i < POLL_LIMIT; i++) {
		uint8_t st = inb(ATA_ALTSTATUS);
		if (!(st & SR_BSY)) {
			if (i > max_poll)
				max_poll = i;
			return st;
		}
	}
	return 0xFF;
}

static void select_device(int unit, uint8_t head_bits)
{
	outb(ATA_DEVICE, (uint8_t)(DEV_OBSOLETE | (unit ? DEV_SLAVE : 0) | head_bits));
	delay400();
}

static void lba_command(int unit, uint32_t lba, uint8_t count, uint8_t cmd)
{
	select_device(unit, (uint8_t)(DEV_LBA | ((lba >> 24) & 0x0F)));
	outb(ATA_NSECTOR, count);
	outb(ATA_LBA_LOW, (uint8_t)lba);
	outb(ATA_LBA_MID, (uint8_t)(lba >> 8));
	outb(ATA_LBA_HIGH, (uint8_t)(lba >> 16));
	outb(ATA_COMMAND, cmd);
	delay400();
}

static void chs_command(int unit, uint32_t cyl, uint32_t head, uint32_t sec, uint8_t count,
                        uint8_t cmd)
{
	select_device(unit, (uint8_t)(head & 0x0F));
	outb(ATA_NSECTOR, count);
	outb(ATA_LBA_LOW, (uint8_t)sec);
	outb(ATA_LBA_MID, (uint8_t)cyl);
	outb(ATA_LBA_HIGH, (uint8_t)(cyl >> 8));
	outb(ATA_COMMAND, cmd);
	delay400();
}

/* Reads `n` sectors of PIO data in blocks of `block`; each block waits for
 * DRQ and its status is read (acknowledging INTRQ). Returns false, with a
 * FAIL line, on an error or timeout. */
static bool pio_in(const char *name, uint8_t *b, uint32_t n, uint32_t block)
{
	for (uint32_t done = 0; done < n;) {
		uint8_t st = wait_not_busy();
		if (st == 0xFF || (st & (SR_ERR | SR_DRQ)) != SR_DRQ) {
			rt_fail(name, "status 0x%x before block at sector %u, error 0x%x", st, done,
			        inb(ATA_ERROR));
			return false;
		}
		inb(ATA_STATUS);
		uint32_t k = n - done < block ? n - done : block;
		uint16_t *w = (uint16_t *)(b + done * SECTOR);
		for (uint32_t i = 0; i < k * SECTOR / 2; i++)
			w[i] = inw(ATA_DATA);
		done += k;
	}
	uint8_t st = wait_not_busy();
	if (st & (SR_BSY | SR_DRQ | SR_ERR)) {
		rt_fail(name, "status 0x%x after the last block", st);
		return false;
	}
	return true;
}

/* Writes `n` sectors in blocks of `block`, then waits for completion. */
static bool pio_out(const char *name, const uint8_t *b, uint32_t n, uint32_t block)
{
	for (uint32_t done = 0; done < n;) {
		uint8_t st = wait_not_busy();
		if (st == 0xFF || (st & (SR_ERR | SR_DRQ)) != SR_DRQ) {
			rt_fail(name, "status 0x%x before block at sector %u", st, done);
			return false;
		}
		uint32_t k = n - done < block ? n - done : block;
		const uint16_t *w = (const uint16_t *)(b + done * SECTOR);
		for (uint32_t i = 0; i < k * SECTOR / 2; i++)
			outw(ATA_DATA, w[i]);
		done += k;
	}
	uint8_t st = wait_not_busy();
	inb(ATA_STATUS);
	if (st & (SR_BSY | SR_DRQ | SR_ERR)) {
		rt_fail(name, "status 0x%x after the last block", st);
		return false;
	}
	return true;
}

/* A command without data; returns the final status (error register in *err). */
static uint8_t non_data(uint8_t cmd, uint8_t *err)
{
	outb(ATA_COMMAND, cmd);
	delay400();
	uint8_t st = wait_not_busy();
	*err = inb(ATA_ERROR);
	inb(ATA_STATUS);
	return st;
}

/* }====== */

/* {====== tests */

static void test_reset(void)
{
	outb(ATA_DEVCTL, CTL_NIEN | CTL_SRST);
	delay400();
	outb(ATA_DEVCTL, CTL_NIEN);
	delay400();
	uint8_t st = wait_not_busy();
	rt_check((st & (SR_BSY | SR_DRDY)) == SR_DRDY, "srst: BSY clears, DRDY set");
	rt_check_eq(inb(ATA_NSECTOR), 1, "srst: signature sector count 1");
	rt_check_eq(inb(ATA_LBA_LOW), 1, "srst: signature LBA low 1");
	rt_check_eq(inb(ATA_LBA_MID), 0, "srst: signature LBA mid 0");
	rt_check_eq(inb(ATA_LBA_HIGH), 0, "srst: signature LBA high 0 (ATA, not ATAPI)");
	rt_check_eq(inb(ATA_ERROR), 1, "srst: error register 1 (diagnostics passed)");
	rt_check_eq(inb(ATA_DEVICE) & DEV_SLAVE, 0, "srst: device 0 selected");
}

static void identify(int unit, uint16_t *w, const char *name)
{
	select_device(unit, 0);
	outb(ATA_COMMAND, CMD_IDENTIFY);
	delay400();
	pio_in(name, (uint8_t *)w, 1, 1);
}

static void test_identify(void)
{
	uint16_t w[256];
	identify(0, w, "identify master: PIO");
	char model[2 * ID_MODEL_WORDS + 1];
	for (int i = 0; i < ID_MODEL_WORDS; i++) {
		model[2 * i] = (char)(w[ID_MODEL + i] >> 8);
		model[2 * i + 1] = (char)w[ID_MODEL + i];
	}
	model[2 * ID_MODEL_WORDS] = 0;
	for (int i = 2 * ID_MODEL_WORDS - 1; i >= 0 && model[i] == ' '; i--)
		model[i] = 0;
	rt_printf("TIME: master model \"%s\"\n", model);
	rt_check(model[0] != 0 && model[0] != ' ', "identify master: a model string, byte-swapped");
	rt_check(!(w[ID_CONFIG] & ID_CONFIG_NOT_ATA), "identify master: an ATA device");
	rt_check_eq(w[ID_LBA_SECTORS] | (uint32_t)w[ID_LBA_SECTORS + 1] << 16, MASTER_SECTORS,
	            "identify master: words 60-61 = image size in sectors");
	rt_check(w[ID_CAPS] & ID_CAPS_LBA, "identify master: LBA supported");
	rt_check_eq(w[ID_HEADS], HEADS, "identify master: 16 heads");
	rt_check_eq(w[ID_SPT], SPT, "identify master: 63 sectors per track");
	rt_check_eq(w[ID_CYLINDERS], MASTER_SECTORS / (HEADS * SPT), "identify master: cylinders");
	rt_check((w[ID_MAX_MULTIPLE] & 0xFF) >= 4, "identify master: READ MULTIPLE of 4 or more");
	identify(1, w, "identify slave: PIO");
	rt_check_eq(w[ID_LBA_SECTORS] | (uint32_t)w[ID_LBA_SECTORS + 1] << 16, SLAVE_SECTORS,
	            "identify slave (DEV=1): words 60-61 = its own size");
}

static void test_read_lba(void)
{
	lba_command(0, 123, 1, CMD_READ_SECTORS);
	if (pio_in("read lba: 1 sector", buf, 1, 1))
		rt_check(matches(buf, 123, 1, 0), "read lba: sector 123");
	lba_command(0, MASTER_SECTORS - 3, 3, CMD_READ_SECTORS);
	if (pio_in("read lba: 3 sectors", buf, 3, 1))
		rt_check(matches(buf, MASTER_SECTORS - 3, 3, 0), "read lba: the last 3 sectors");
	rt_check_eq(inb(ATA_NSECTOR), 0, "read lba: sector count 0 at the end");
}

static void test_read_chs(void)
{
	uint32_t lba = (1 * HEADS + 2) * SPT + 4; /* C1 H2 S5 */
	chs_command(0, 1, 2, 5, 2, CMD_READ_SECTORS);
	if (pio_in("read chs: C1/H2/S5", buf, 2, 1))
		rt_check(matches(buf, lba, 2, 0), "read chs: C1/H2/S5 is LBA 1138");
}

static void test_read_multiple(void)
{
	uint8_t err;
	select_device(0, 0);
	outb(ATA_NSECTOR, 4);
	uint8_t st = non_data(CMD_SET_MULTIPLE, &err);
	rt_check((st & (SR_ERR | SR_DRDY)) == SR_DRDY, "set multiple mode 4");
	lba_command(0, 2000, 10, CMD_READ_MULTIPLE);
	if (pio_in("read multiple: 10 sectors in blocks of 4", buf, 10, 4))
		rt_check(matches(buf, 2000, 10, 0), "read multiple: 10 sectors in blocks of 4");
}

static void fill(uint8_t *b, uint32_t n, uint8_t seed)
{
	for (uint32_t i = 0; i < n * SECTOR; i++)
		b[i] = (uint8_t)(seed + i * 5 + (i >> 9));
}

static bool filled(const uint8_t *b, uint32_t n, uint8_t seed)
{
	for (uint32_t i = 0; i < n * SECTOR; i++)
		if (b[i] != (uint8_t)(seed + i * 5 + (i >> 9)))
			return false;
	return true;
}

static void test_write(void)
{
	fill(buf, 2, 0x3C);
	lba_command(0, 50, 2, CMD_WRITE_SECTORS);
	if (pio_out("write sectors: 2 at LBA 50", buf, 2, 1)) {
		memset(buf, 0, sizeof buf);
		lba_command(0, 49, 4, CMD_READ_SECTORS);
		if (pio_in("write sectors: read back", buf, 4, 1)) {
			rt_check(filled(buf + SECTOR, 2, 0x3C), "write sectors: read back");
			rt_check(matches(buf, 49, 1, 0) && matches(buf + 3 * SECTOR, 52, 1, 0),
			         "write sectors: neighbours unchanged");
		}
	}
	fill(buf, 5, 0xA1);
	lba_command(0, 60, 5, CMD_WRITE_MULTIPLE);
	if (pio_out("write multiple: 5 at LBA 60", buf, 5, 4)) {
		memset(buf, 0, sizeof buf);
		lba_command(0, 60, 5, CMD_READ_SECTORS);
		if (pio_in("write multiple: read back", buf, 5, 1))
			rt_check(filled(buf, 5, 0xA1), "write multiple: read back");
	}
	uint8_t err;
	uint8_t st = non_data(CMD_FLUSH_CACHE, &err);
	rt_check((st & (SR_ERR | SR_DRDY)) == SR_DRDY, "flush cache");
}

static void test_out_of_range(void)
{
	lba_command(0, MASTER_SECTORS, 1, CMD_READ_SECTORS);
	uint8_t st = wait_not_busy();
	uint8_t err = inb(ATA_ERROR);
	inb(ATA_STATUS);
	rt_printf("TIME: out of range: status 0x%x error 0x%x\n", st, err);
	rt_check((st & (SR_ERR | SR_DRQ)) == SR_ERR, "out of range: ERR, no DRQ");
	rt_check(err & (ER_IDNF | ER_ABRT), "out of range: IDNF (ATA) or ABRT (QEMU)");
	lba_command(0, MASTER_SECTORS - 1, 1, CMD_READ_SECTORS);
	if (pio_in("out of range: the last sector still reads", buf, 1, 1))
		rt_check(matches(buf, MASTER_SECTORS - 1, 1, 0), "out of range: the last sector");
}

static void test_slave(void)
{
	lba_command(1, 10, 2, CMD_READ_SECTORS);
	if (pio_in("slave: read", buf, 2, 1))
		rt_check(matches(buf, 10, 2, 1), "slave: DEV=1 reads the slave's sectors");
	rt_check(inb(ATA_DEVICE) & DEV_SLAVE, "slave: device register shows DEV=1");
	lba_command(0, 10, 1, CMD_READ_SECTORS);
	if (pio_in("slave: master again", buf, 1, 1))
		rt_check(matches(buf, 10, 1, 0), "slave: DEV=0 reads the master again");
}

/* Waits, interrupts on, until ide_irqs passes `n`; false on timeout. */
static bool wait_irqs(uint32_t n)
{
	sti();
	for (uint32_t i = 0; i < POLL_LIMIT && ide_irqs < n; i++)
		inb(ATA_ALTSTATUS);
	cli();
	return ide_irqs >= n;
}

static uint8_t slave_irr(void)
{
	outb(PIC2_CMD, OCW3_READ_IRR);
	return inb(PIC2_CMD);
}

/* With IRQ 14 level triggered and masked, the slave PIC's IRR follows
 * the line: up when DRQ comes, down when the status is read. */
static void test_status_read_lowers_line(void)
{
	uint8_t elcr = inb(ELCR_HI);
	pic_mask(IRQ_IDE);
	outb(ELCR_HI, elcr | SLAVE_IR_IDE);
	outb(ATA_DEVCTL, 0);
	lba_command(0, 7, 1, CMD_READ_SECTORS);
	uint8_t st = wait_not_busy();
	bool up = st & SR_DRQ;
	for (uint32_t i = 0; up && i < POLL_LIMIT && !(slave_irr() & SLAVE_IR_IDE); i++)
		;
	rt_check(up && (slave_irr() & SLAVE_IR_IDE), "irq 14: line up with DRQ (nIEN clear)");
	inb(ATA_ALTSTATUS);
	rt_check(slave_irr() & SLAVE_IR_IDE, "irq 14: alternate status leaves it up");
	inb(ATA_STATUS);
	rt_check(!(slave_irr() & SLAVE_IR_IDE), "irq 14: status read lowers it");
	for (int i = 0; i < SECTOR / 2; i++)
		inw(ATA_DATA);
	outb(ATA_DEVCTL, CTL_NIEN);
	outb(ELCR_HI, elcr);
}

static void test_interrupts(void)
{
	rt_set_handler(RT_VEC_IRQ0 + IRQ_IDE, ide_irq);
	pic_unmask(IRQ_IDE);
	/* nIEN set: a completed command interrupts nobody */
	outb(ATA_DEVCTL, CTL_NIEN);
	uint8_t err;
	select_device(0, 0);
	non_data(CMD_FLUSH_CACHE, &err);
	sti();
	for (int i = 0; i < 1000; i++)
		inb(ATA_ALTSTATUS);
	cli();
	rt_check_eq(ide_irqs, 0, "irq 14: none while nIEN is set");
	/* nIEN clear: one interrupt per DRQ block, none after the last */
	outb(ATA_DEVCTL, 0);
	lba_command(0, 300, 3, CMD_READ_SECTORS);
	bool ok = true;
	for (uint32_t blk = 0; blk < 3 && ok; blk++) {
		ok = wait_irqs(blk + 1);
		uint8_t st = inb(ATA_STATUS);
		ok = ok && (st & SR_DRQ);
		for (int i = 0; ok && i < SECTOR / 2; i++)
			((uint16_t *)buf)[blk * SECTOR / 2 + i] = inw(ATA_DATA);
	}
	rt_check(ok, "irq 14: one interrupt per block of READ SECTORS");
	rt_check(ok && matches(buf, 300, 3, 0), "irq 14: the data of the interrupt-driven read");
	uint8_t st = wait_not_busy();
	rt_check_eq(st & (SR_BSY | SR_DRQ | SR_ERR), 0, "irq 14: read done");
	/* a non-data command interrupts at completion */
	outb(ATA_COMMAND, CMD_FLUSH_CACHE);
	rt_check(wait_irqs(4), "irq 14: FLUSH CACHE completion interrupts");
	inb(ATA_STATUS);
	sti();
	for (int i = 0; i < 1000; i++)
		inb(ATA_ALTSTATUS);
	cli();
	rt_check_eq(ide_irqs, 4, "irq 14: no more interrupts after the acknowledgement");
	pic_mask(IRQ_IDE);
	outb(ATA_DEVCTL, CTL_NIEN);
}

/* }====== */

int main(void)
{
	pic_init();
	test_reset();
	test_identify();
	test_read_lba();
	test_read_chs();
	test_read_multiple();
	test_write();
	test_out_of_range();
	test_slave();
	test_status_read_lowers_line();
	test_interrupts();
	rt_printf("TIME: longest BSY wait %u polls\n", max_poll);
	rt_done();
}
