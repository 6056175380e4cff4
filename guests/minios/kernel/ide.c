/*
 * ide.c - the IDE (ATA) disk on the primary channel, slave position, read by
 * programmed I/O and polling (ATA-1: task file registers, READ SECTORS).
 * minios reads its file system from this disk; it never writes.
 */
#include "defs.h"
#include "fsformat.h"
#include "x86.h"

#define ATA_DATA	0x1F0
#define ATA_COUNT	0x1F2	/* sector count */
#define ATA_LBA0	0x1F3	/* LBA bits 0-7 */
#define ATA_LBA1	0x1F4	/* LBA bits 8-15 */
#define ATA_LBA2	0x1F5	/* LBA bits 16-23 */
#define ATA_DRIVE	0x1F6	/* drive select, LBA bits 24-27 */
#define ATA_STATUS	0x1F7	/* read */
#define ATA_COMMAND	0x1F7	/* write */
#define ATA_CONTROL	0x3F6	/* device control (write) */

#define DRIVE_LBA	0xE0	/* LBA addressing (and the two obsolete 1 bits) */
#define DRIVE_SLAVE	0x10
#define STATUS_ERR	0x01
#define STATUS_DRQ	0x08	/* data ready to transfer */
#define STATUS_DF	0x20	/* device fault */
#define STATUS_DRDY	0x40	/* device ready */
#define STATUS_BSY	0x80
#define CONTROL_NIEN	0x02	/* no interrupts: we poll */
#define CMD_READ	0x20	/* READ SECTORS with retries */

#define SPINS		1000000	/* give up on a device that never gets ready */

/* Wait until the drive is not busy. Returns its status, or -1 on timeout. */
static int ide_wait(void)
{
	for (int i = 0; i < SPINS; i++) {
		int st = inb(ATA_STATUS);
		if (st != 0xFF && !(st & STATUS_BSY))
			return st;
	}
	return -1;
}

/* The 400 ns the drive needs after a select: four reads of the status. */
static void ide_delay(void)
{
	for (int i = 0; i < 4; i++)
		inb(ATA_CONTROL);
}

/* Select the slave and check that it is there and ready. Returns 0 or -1. */
int ide_init(void)
{
	outb(ATA_CONTROL, CONTROL_NIEN);
	outb(ATA_DRIVE, DRIVE_LBA | DRIVE_SLAVE);
	ide_delay();
	int st = ide_wait();
	if (st <= 0 || !(st & STATUS_DRDY)) {
		kprintf("ide: no disk on the primary slave\n");
		return -1;
	}
	kprintf("ide: disk on the primary slave\n");
	return 0;
}

/* Read one 512-byte sector. Returns 0, or -1 on a disk error. */
int ide_read(uint32_t sector, void *buf)
{
	if (ide_wait() < 0)
		return -1;
	outb(ATA_DRIVE, DRIVE_LBA | DRIVE_SLAVE | ((sector >> 24) & 0x0F));
	ide_delay();
	outb(ATA_COUNT, 1);
	outb(ATA_LBA0, sector & 0xFF);
	outb(ATA_LBA1, (sector >> 8) & 0xFF);
	outb(ATA_LBA2, (sector >> 16) & 0xFF);
	outb(ATA_COMMAND, CMD_READ);
	ide_delay();
	int st = ide_wait();
	if (st < 0 || (st & (STATUS_ERR | STATUS_DF)) || !(st & STATUS_DRQ))
		return -1;
	insw(ATA_DATA, buf, FS_SECTOR / 2);
	return 0;
}
