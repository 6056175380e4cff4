/*
 * ide.h - the primary IDE channel: an ATA controller with up to two hard
 * disks (master = device 0, slave = device 1), programmed I/O only.
 *
 *   0x1F0  data (16- or 32-bit PIO; 8-bit accesses read 0xFF, writes ignored)
 *   0x1F1  error (read) / features (write)
 *   0x1F2  sector count            0x1F3  LBA low  / sector number
 *   0x1F4  LBA mid / cylinder low  0x1F5  LBA high / cylinder high
 *   0x1F6  device/head: bit 6 LBA, bit 4 DEV, bits 3-0 head or LBA 27-24
 *          (bits 7 and 5 are obsolete and read as 1)
 *   0x1F7  status (read; clears the device's pending interrupt) / command
 *   0x3F6  alternate status (read, no side effects) / device control
 *          (write: bit 1 nIEN masks INTRQ, bit 2 SRST resets both devices)
 *   ISA IRQ 14  INTRQ of the selected device, while nIEN is 0
 *
 * As on ATA, both devices latch every write to 0x1F1-0x1F6 and only the
 * selected one (DEV) answers reads and runs commands. An absent slave
 * reads status 0 and ignores commands while the master answers for the
 * other registers; with no device on the channel at all every register
 * reads 0 (QEMU's choice: a driver polling BSY sees the channel as empty
 * instead of busy forever).
 *
 * Commands (ATA-4 names):
 *   0xEC IDENTIFY DEVICE        0x20/0x21 READ SECTORS   0x30/0x31 WRITE SECTORS
 *   0xC4 READ MULTIPLE          0xC5 WRITE MULTIPLE      0xC6 SET MULTIPLE MODE
 *   0x40/0x41 READ VERIFY       0x91 INITIALIZE DEVICE PARAMETERS
 *   0xEF SET FEATURES (accepted, no effect)              0xE7 FLUSH CACHE
 *   0x90 EXECUTE DEVICE DIAGNOSTIC                       0x10-0x1F RECALIBRATE
 * Anything else ends with ERR and ABRT. Addresses are CHS (through the
 * current translation: 16 heads, 63 sectors per track and up to 16383
 * cylinders at power-on, or what INITIALIZE DEVICE PARAMETERS set) or
 * LBA28; a sector count of 0 means 256. A command whose range does not lie
 * wholly on the disk (or a CHS address outside the translation) ends,
 * before any data moves, with ERR and IDNF (QEMU reports ABRT instead).
 *
 * Protocol and timing. A command sets BSY; after a modelled latency on the
 * cycle clock (IDE_COMMAND_NS plus IDE_SECTOR_NS per sector of the first
 * block) the device either completes (status DRDY|DSC, INTRQ) or raises
 * DRQ for a data block. PIO in: each block comes with DRQ and INTRQ; after
 * the host has read a block the device is BSY for IDE_SECTOR_NS per sector
 * of the next one; the last block ends with no interrupt. PIO out: DRQ for
 * the first block is up as soon as the command is written (the sector
 * buffer is empty), with no interrupt, so data written right after the
 * command without a status poll lands (xv6 writes it so); after each
 * block the device is BSY for IDE_SECTOR_NS per sector, then raises DRQ
 * (more blocks) or completes, with INTRQ. Interrupts therefore
 * arrive at cycles that depend only on the guest.
 *
 * Power-on and reset leave the ATA signature (sector count 1, LBA low 1,
 * LBA mid/high 0), error 0x01 (diagnostics passed) and status DRDY|DSC.
 * SRST keeps the multiple count and the CHS translation.
 *
 * Left out: DMA (no bus master), LBA48 (HOB, the *EXT commands), ATAPI,
 * power management and SMART commands, the drive address register
 * 0x3F7 (the floppy controller's), and the secondary channel. Write caching
 * is not modelled: data reach the disk (disk.h) when a block is written.
 */
#ifndef NESTLAB_IDE_H
#define NESTLAB_IDE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "device.h"
#include "disk.h"

#define IDE_CMD_BASE 0x1f0
#define IDE_CMD_PORTS 8
#define IDE_CTL_PORT 0x3f6
#define IDE_IRQ 14

/* Command block registers, offsets from IDE_CMD_BASE. */
#define IDE_REG_DATA 0
#define IDE_REG_ERROR 1 /* read */
#define IDE_REG_FEATURES 1 /* write */
#define IDE_REG_NSECTOR 2
#define IDE_REG_LBA_LOW 3 /* CHS: sector number */
#define IDE_REG_LBA_MID 4 /* CHS: cylinder low */
#define IDE_REG_LBA_HIGH 5 /* CHS: cylinder high */
#define IDE_REG_DEVICE 6
#define IDE_REG_STATUS 7 /* read */
#define IDE_REG_COMMAND 7 /* write */

/* Status register. */
#define IDE_SR_BSY 0x80
#define IDE_SR_DRDY 0x40
#define IDE_SR_DF 0x20
#define IDE_SR_DSC 0x10
#define IDE_SR_DRQ 0x08
#define IDE_SR_ERR 0x01

/* Error register. */
#define IDE_ER_UNC 0x40
#define IDE_ER_IDNF 0x10
#define IDE_ER_ABRT 0x04
#define IDE_DIAG_PASSED 0x01 /* error register after reset or diagnostics */

/* Device/head register. */
#define IDE_DEV_OBSOLETE 0xa0
#define IDE_DEV_LBA 0x40
#define IDE_DEV_DEV 0x10
#define IDE_DEV_HEAD 0x0f

/* Device control register. */
#define IDE_CTL_NIEN 0x02
#define IDE_CTL_SRST 0x04

/* Commands. */
#define IDE_CMD_RECALIBRATE 0x10 /* 0x10-0x1F */
#define IDE_CMD_READ_SECTORS 0x20
#define IDE_CMD_READ_SECTORS_NR 0x21 /* without retries */
#define IDE_CMD_WRITE_SECTORS 0x30
#define IDE_CMD_WRITE_SECTORS_NR 0x31
#define IDE_CMD_READ_VERIFY 0x40
#define IDE_CMD_READ_VERIFY_NR 0x41
#define IDE_CMD_DIAGNOSTIC 0x90
#define IDE_CMD_INIT_PARAMS 0x91
#define IDE_CMD_READ_MULTIPLE 0xc4
#define IDE_CMD_WRITE_MULTIPLE 0xc5
#define IDE_CMD_SET_MULTIPLE 0xc6
#define IDE_CMD_FLUSH_CACHE 0xe7
#define IDE_CMD_IDENTIFY 0xec
#define IDE_CMD_SET_FEATURES 0xef

/* The device's geometry and limits. */
#define IDE_MAX_MULTIPLE 16u /* sectors per block for READ/WRITE MULTIPLE */
#define IDE_DEFAULT_HEADS 16u
#define IDE_DEFAULT_SPT 63u
#define IDE_MAX_CYLINDERS 16383u /* what IDENTIFY words 1 and 54 may show */
#define IDE_LBA28_SECTORS 0x0fffffffu /* capacity reported in words 60-61 at most */
#define IDE_MODEL "NESTLAB HARDDISK"
#define IDE_FIRMWARE "1.0"

/* Modelled latencies (virtual time). */
#define IDE_COMMAND_NS 10000u /* command decode and seek */
#define IDE_SECTOR_NS 2000u   /* one sector between the media and the buffer */
#define IDE_RESET_NS 5000u    /* SRST released to BSY cleared */

#define IDE_IDENTIFY_WORDS 256

/* One device's registers and settings. */
struct ide_drive_state {
	uint8_t status, error;
	uint8_t features, nsector, lba_low, lba_mid, lba_high, device;
	uint8_t multiple; /* SET MULTIPLE MODE count; 0: READ/WRITE MULTIPLE abort */
	uint8_t intrq;    /* the device's interrupt is pending */
	uint8_t pad[2];
	uint16_t heads, spt; /* the current CHS translation */
	uint32_t cylinders;
	uint64_t sectors; /* the disk's size; 0: no device (checked by restore) */
};

/* Everything the guest can see; no pointers. */
struct ide_state {
	struct ide_drive_state drive[2];
	uint8_t devctl;    /* device control as last written */
	uint8_t cur;       /* the selected device (DEV) */
	uint8_t irq_level; /* IRQ 14 as driven */
	uint8_t cmd;       /* the command in progress (0: none) */
	uint8_t phase;     /* what the timer does next (ide.c) */
	uint8_t active;    /* the device running cmd */
	uint8_t pad[2];
	uint32_t pos, len; /* data port position and size of the DRQ block, bytes */
	uint32_t left;     /* sectors of the command not yet in a block */
	uint32_t block;    /* sectors per DRQ block */
	uint64_t lba;      /* the next sector to transfer */
	uint64_t deadline; /* the timer's deadline, or CLOCK_NEVER */
	uint8_t buf[IDE_MAX_MULTIPLE * DISK_SECTOR_SIZE];
};

struct dev_ide {
	struct device dev;
	const struct dev_board *board;
	struct clock_timer timer;
	struct disk *disk[2]; /* master, slave; not owned */
	struct ide_state st;
};

/*
 * Creates the primary channel with `master` and `slave` (either may be
 * NULL: no device; the disks stay owned by the caller and must outlive the
 * device) and claims ports 0x1F0-0x1F7 and 0x3F6. Returns NULL with
 * NESTLAB_ERROR_CONFIG if a port is taken. Free with the device's free op.
 */
struct dev_ide *dev_ide_new(const struct dev_board *b, struct disk *master, struct disk *slave,
                            GError **error);

/* Fills `words` with the IDENTIFY DEVICE data of device `unit` (0 or 1) as
 * the guest would read it, words in host order; for tests and debuggers.
 * Returns false if there is no such device. */
bool dev_ide_identify(const struct dev_ide *d, int unit, uint16_t words[IDE_IDENTIFY_WORDS]);

#endif
