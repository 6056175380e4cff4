/*
 * ide.c - the primary IDE channel, ATA PIO (see ide.h).
 */
#include "ide.h"

#include <string.h>

#include "nestlab.h"

#define IDE_STATE_VERSION 1
#define SECTOR DISK_SECTOR_SIZE

/* What the timer does when it fires (ide_state.phase). */
enum ide_phase {
	PHASE_IDLE,
	PHASE_COMPLETE,    /* end a command: status from `error`, INTRQ */
	PHASE_IDENTIFY,    /* DRQ for the IDENTIFY block */
	PHASE_READ_BLOCK,  /* load the next block, DRQ, INTRQ */
	PHASE_WRITE_FIRST, /* DRQ for the first PIO-out block, no INTRQ (never armed
	                      now: only in a snapshot taken by an older build) */
	PHASE_WRITE_NEXT,  /* DRQ for the next PIO-out block, INTRQ */
	PHASE_RESET,       /* SRST released: the devices come out of reset */
};

/* IDENTIFY DEVICE words (ATA-4). */
enum {
	ID_CONFIG = 0, ID_CYLS = 1, ID_HEADS = 3, ID_SPT = 6, ID_SERIAL = 10, ID_BUFFER_TYPE = 20,
	ID_BUFFER_SIZE = 21, ID_FIRMWARE = 23, ID_MODEL = 27, ID_MAX_MULTIPLE = 47,
	ID_DWORD_IO = 48, ID_CAPS = 49, ID_PIO_TIMING = 51, ID_VALID = 53, ID_CUR_CYLS = 54,
	ID_CUR_HEADS = 55, ID_CUR_SPT = 56, ID_CUR_CAPACITY = 57, ID_MULTIPLE = 59,
	ID_LBA_SECTORS = 60, ID_PIO_MODES = 64, ID_CYCLE_TIMES = 65, ID_MAJOR = 80,
	ID_CMDSET1 = 82, ID_CMDSET2 = 83, ID_CMDSET_EXT = 84, ID_CMDEN1 = 85, ID_CMDEN2 = 86,
	ID_CMDEN_EXT = 87, ID_INTEGRITY = 255,
};
#define ID_CONFIG_FIXED 0x0040       /* a fixed (non-removable) disk */
#define ID_MAX_MULTIPLE_TAG 0x8000
#define ID_CAPS_LBA 0x0200
#define ID_VALID_54_58 0x0001
#define ID_VALID_64_70 0x0002
#define ID_MULTIPLE_VALID 0x0100
#define ID_PIO_MODES_3_4 0x0003
#define ID_CYCLE_NS 120
#define ID_MAJOR_ATA1_TO_4 0x001e
#define ID_WORD_VALID 0x4000         /* words 83, 84, 87: bits 15-14 = 01 */
#define ID_FLUSH_CACHE 0x1000        /* words 83, 86 */
#define ID_PIO_MODE2_TIMING 0x0200
#define ID_INTEGRITY_SIGNATURE 0xa5
#define ID_SERIAL_CHARS 20
#define ID_FIRMWARE_CHARS 8
#define ID_MODEL_CHARS 40

static bool present(const struct ide_state *st, int unit)
{
	return st->drive[unit].sectors != 0;
}

static bool channel_empty(const struct ide_state *st)
{
	return !present(st, 0) && !present(st, 1);
}

/* The status the selected device shows (0: nobody answers). */
static uint8_t status_of(const struct ide_state *st)
{
	return present(st, st->cur) ? st->drive[st->cur].status : 0;
}

static uint64_t now_of(const struct dev_ide *d)
{
	return clock_now(d->board->clock);
}

/* {====== geometry and addresses */

/* The power-on translation: 16 heads, 63 sectors, cylinders from the size. */
static void default_geometry(struct ide_drive_state *dr)
{
	dr->heads = IDE_DEFAULT_HEADS;
	dr->spt = IDE_DEFAULT_SPT;
	uint64_t cyls = dr->sectors / (IDE_DEFAULT_HEADS * IDE_DEFAULT_SPT);
	dr->cylinders = (uint32_t)CLAMP(cyls, 1, IDE_MAX_CYLINDERS);
}

/* Sectors the device offers to commands (LBA28 addresses at most). */
static uint64_t addressable(const struct ide_drive_state *dr)
{
	return MIN(dr->sectors, (uint64_t)IDE_LBA28_SECTORS);
}

/* The address in the registers as an LBA; false if a CHS address lies
 * outside the current translation. */
static bool decode_address(const struct ide_drive_state *dr, uint64_t *lba)
{
	if (dr->device & IDE_DEV_LBA) {
		*lba = (uint64_t)(dr->device & IDE_DEV_HEAD) << 24 | (uint64_t)dr->lba_high << 16 |
		       (uint64_t)dr->lba_mid << 8 | dr->lba_low;
		return true;
	}
	uint32_t cyl = (uint32_t)dr->lba_high << 8 | dr->lba_mid;
	uint32_t head = dr->device & IDE_DEV_HEAD, sec = dr->lba_low;
	if (sec == 0 || sec > dr->spt || head >= dr->heads || cyl >= dr->cylinders)
		return false;
	*lba = ((uint64_t)cyl * dr->heads + head) * dr->spt + sec - 1;
	return true;
}

/* Writes `lba` back into the address registers in the current mode. */
static void encode_address(struct ide_drive_state *dr, uint64_t lba)
{
	if (dr->device & IDE_DEV_LBA) {
		dr->lba_low = (uint8_t)lba;
		dr->lba_mid = (uint8_t)(lba >> 8);
		dr->lba_high = (uint8_t)(lba >> 16);
		dr->device = (uint8_t)((dr->device & ~IDE_DEV_HEAD) | ((lba >> 24) & IDE_DEV_HEAD));
		return;
	}
	uint64_t per_cyl = (uint64_t)dr->heads * dr->spt;
	uint64_t cyl = lba / per_cyl, r = lba % per_cyl;
	dr->lba_mid = (uint8_t)cyl;
	dr->lba_high = (uint8_t)(cyl >> 8);
	dr->device = (uint8_t)((dr->device & ~IDE_DEV_HEAD) | (r / dr->spt));
	dr->lba_low = (uint8_t)(r % dr->spt + 1);
}

/* }====== */

/* {====== IDENTIFY DEVICE */

/* ATA strings: two characters per word, the first in the high byte,
 * padded with spaces. */
static void put_string(uint16_t *w, const char *s, size_t chars)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < chars; i += 2) {
		uint8_t hi = i < n ? (uint8_t)s[i] : ' ';
		uint8_t lo = i + 1 < n ? (uint8_t)s[i + 1] : ' ';
		w[i / 2] = (uint16_t)(hi << 8 | lo);
	}
}

static void put_u32(uint16_t *w, uint32_t v)
{
	w[0] = (uint16_t)v;
	w[1] = (uint16_t)(v >> 16);
}

/* Word 255: signature 0xA5 and a checksum making the 512 bytes sum to 0. */
static void put_integrity(uint16_t *w)
{
	uint8_t sum = ID_INTEGRITY_SIGNATURE;
	for (int i = 0; i < ID_INTEGRITY; i++)
		sum = (uint8_t)(sum + (w[i] & 0xff) + (w[i] >> 8));
	w[ID_INTEGRITY] = (uint16_t)((uint8_t)-sum << 8 | ID_INTEGRITY_SIGNATURE);
}

static void build_identify(const struct ide_drive_state *dr, int unit, uint16_t *w)
{
	char serial[ID_SERIAL_CHARS + 1];
	g_snprintf(serial, sizeof serial, "NL-IDE0-%d", unit);
	memset(w, 0, IDE_IDENTIFY_WORDS * sizeof *w);
	uint32_t cyls = (uint32_t)MIN(dr->sectors / (IDE_DEFAULT_HEADS * IDE_DEFAULT_SPT),
	                              IDE_MAX_CYLINDERS);
	w[ID_CONFIG] = ID_CONFIG_FIXED;
	w[ID_CYLS] = (uint16_t)MAX(cyls, 1);
	w[ID_HEADS] = IDE_DEFAULT_HEADS;
	w[ID_SPT] = IDE_DEFAULT_SPT;
	put_string(w + ID_SERIAL, serial, ID_SERIAL_CHARS);
	w[ID_BUFFER_TYPE] = 3;
	w[ID_BUFFER_SIZE] = IDE_MAX_MULTIPLE;
	put_string(w + ID_FIRMWARE, IDE_FIRMWARE, ID_FIRMWARE_CHARS);
	put_string(w + ID_MODEL, IDE_MODEL, ID_MODEL_CHARS);
	w[ID_MAX_MULTIPLE] = ID_MAX_MULTIPLE_TAG | IDE_MAX_MULTIPLE;
	w[ID_DWORD_IO] = 1;
	w[ID_CAPS] = ID_CAPS_LBA;
	w[ID_PIO_TIMING] = ID_PIO_MODE2_TIMING;
	w[ID_VALID] = ID_VALID_54_58 | ID_VALID_64_70;
	w[ID_CUR_CYLS] = (uint16_t)MIN(dr->cylinders, 0xffffu);
	w[ID_CUR_HEADS] = dr->heads;
	w[ID_CUR_SPT] = dr->spt;
	put_u32(w + ID_CUR_CAPACITY, (uint32_t)MIN((uint64_t)dr->cylinders * dr->heads * dr->spt,
	                                           addressable(dr)));
	if (dr->multiple)
		w[ID_MULTIPLE] = ID_MULTIPLE_VALID | dr->multiple;
	put_u32(w + ID_LBA_SECTORS, (uint32_t)addressable(dr));
	w[ID_PIO_MODES] = ID_PIO_MODES_3_4;
	for (int i = 0; i < 4; i++)
		w[ID_CYCLE_TIMES + i] = ID_CYCLE_NS;
	w[ID_MAJOR] = ID_MAJOR_ATA1_TO_4;
	w[ID_CMDSET2] = ID_WORD_VALID | ID_FLUSH_CACHE;
	w[ID_CMDSET_EXT] = ID_WORD_VALID;
	w[ID_CMDEN2] = ID_FLUSH_CACHE;
	w[ID_CMDEN_EXT] = ID_WORD_VALID;
	put_integrity(w);
}

bool dev_ide_identify(const struct dev_ide *d, int unit, uint16_t words[IDE_IDENTIFY_WORDS])
{
	if (unit < 0 || unit > 1 || !present(&d->st, unit))
		return false;
	build_identify(&d->st.drive[unit], unit, words);
	return true;
}

/* The IDENTIFY block in the transfer buffer, words little-endian as the
 * data port delivers them. */
static void identify_to_buffer(struct ide_state *st)
{
	uint16_t w[IDE_IDENTIFY_WORDS];
	build_identify(&st->drive[st->active], st->active, w);
	for (int i = 0; i < IDE_IDENTIFY_WORDS; i++) {
		st->buf[2 * i] = (uint8_t)w[i];
		st->buf[2 * i + 1] = (uint8_t)(w[i] >> 8);
	}
}

/* }====== */

/* {====== interrupts and command completion */

/* Drives IRQ 14 from the selected device's INTRQ and nIEN. */
static void sync_irq(struct dev_ide *d)
{
	struct ide_state *st = &d->st;
	bool level = present(st, st->cur) && st->drive[st->cur].intrq &&
	             !(st->devctl & IDE_CTL_NIEN);
	if (level != st->irq_level) {
		st->irq_level = level;
		dev_irq(d->board, IDE_IRQ, level);
	}
}

static void raise_intrq(struct dev_ide *d, int unit)
{
	d->st.drive[unit].intrq = 1;
	sync_irq(d);
}

static void arm(struct dev_ide *d, enum ide_phase phase, uint64_t ns)
{
	d->st.phase = (uint8_t)phase;
	d->st.deadline = now_of(d) + clock_ns_to_cycles(ns);
	clock_timer_arm(&d->timer, d->st.deadline);
}

static void go_idle(struct dev_ide *d)
{
	d->st.cmd = 0;
	d->st.phase = PHASE_IDLE;
	d->st.pos = d->st.len = 0;
	d->st.deadline = CLOCK_NEVER;
	clock_timer_cancel(&d->timer);
}

/* Ends the active command now: `error` 0 is success (EXECUTE DEVICE
 * DIAGNOSTIC leaves a diagnostic code there instead, without ERR). */
static void complete(struct dev_ide *d, uint8_t error)
{
	struct ide_drive_state *dr = &d->st.drive[d->st.active];
	bool failed = error && d->st.cmd != IDE_CMD_DIAGNOSTIC;
	dr->error = error;
	dr->status = IDE_SR_DRDY | IDE_SR_DSC | (failed ? IDE_SR_ERR : 0);
	go_idle(d);
	raise_intrq(d, d->st.active);
}

/* Ends the active command after the command latency. */
static void complete_later(struct dev_ide *d, uint8_t error)
{
	d->st.drive[d->st.active].error = error;
	arm(d, PHASE_COMPLETE, IDE_COMMAND_NS);
}

/* Raises DRQ for a block of `len` bytes already in (or to be written to)
 * the buffer. */
static void start_block(struct dev_ide *d, uint32_t len, bool intrq)
{
	struct ide_drive_state *dr = &d->st.drive[d->st.active];
	d->st.pos = 0;
	d->st.len = len;
	d->st.phase = PHASE_IDLE;
	d->st.deadline = CLOCK_NEVER;
	dr->status = IDE_SR_DRDY | IDE_SR_DSC | IDE_SR_DRQ;
	if (intrq)
		raise_intrq(d, d->st.active);
}

/* Sectors in the next block. */
static uint32_t next_block(const struct ide_state *st)
{
	return MIN(st->left, st->block);
}

/* }====== */

/* {====== data transfer */

static bool reading(const struct ide_state *st)
{
	return st->cmd == IDE_CMD_IDENTIFY || st->cmd == IDE_CMD_READ_SECTORS ||
	       st->cmd == IDE_CMD_READ_SECTORS_NR || st->cmd == IDE_CMD_READ_MULTIPLE;
}

/* Moves the registers past the block just transferred, as the device
 * reports progress (sector count = sectors still to go). */
static void advance(struct ide_state *st, uint32_t n)
{
	struct ide_drive_state *dr = &st->drive[st->active];
	st->lba += n;
	encode_address(dr, st->lba);
	dr->nsector = (uint8_t)(dr->nsector - n);
}

static void load_block(struct dev_ide *d)
{
	struct ide_state *st = &d->st;
	uint32_t n = next_block(st);
	struct disk *k = d->disk[st->active];
	if (!disk_read(k, st->lba, n, st->buf)) {
		g_warning("IDE: %s", disk_error(k));
		complete(d, IDE_ER_UNC);
		return;
	}
	st->left -= n;
	advance(st, n);
	start_block(d, n * SECTOR, true);
}

/* The host has read the whole DRQ block. */
static void read_block_done(struct dev_ide *d)
{
	struct ide_state *st = &d->st;
	struct ide_drive_state *dr = &st->drive[st->active];
	if (st->left == 0) {
		dr->status = IDE_SR_DRDY | IDE_SR_DSC;
		go_idle(d);
		return;
	}
	dr->status = IDE_SR_BSY;
	arm(d, PHASE_READ_BLOCK, (uint64_t)IDE_SECTOR_NS * next_block(st));
}

/* The host has written the whole DRQ block: it goes to the disk. */
static void write_block_done(struct dev_ide *d)
{
	struct ide_state *st = &d->st;
	struct ide_drive_state *dr = &st->drive[st->active];
	uint32_t n = st->len / SECTOR;
	struct disk *k = d->disk[st->active];
	if (!disk_write(k, st->lba, n, st->buf)) {
		g_warning("IDE: %s", disk_error(k));
		dr->error = IDE_ER_ABRT;
		dr->status = IDE_SR_DRDY | IDE_SR_DF | IDE_SR_ERR;
		go_idle(d);
		raise_intrq(d, st->active);
		return;
	}
	st->left -= n;
	advance(st, n);
	dr->status = IDE_SR_BSY;
	st->pos = st->len = 0;
	if (st->left == 0) {
		dr->error = 0;
		arm(d, PHASE_COMPLETE, (uint64_t)IDE_SECTOR_NS * n);
	} else {
		arm(d, PHASE_WRITE_NEXT, (uint64_t)IDE_SECTOR_NS * n);
	}
}

/* True while the selected device has a PIO block for the data port. */
static bool data_ready(const struct ide_state *st, bool in)
{
	return st->cmd && st->cur == st->active && st->len &&
	       (st->drive[st->active].status & IDE_SR_DRQ) && reading(st) == in;
}

static uint32_t data_read(struct dev_ide *d, int size)
{
	struct ide_state *st = &d->st;
	if (size == 1)
		return 0xff;
	if (!data_ready(st, true))
		return 0;
	uint32_t v = 0, n = MIN((uint32_t)size, st->len - st->pos);
	for (uint32_t i = 0; i < n; i++)
		v |= (uint32_t)st->buf[st->pos + i] << (8 * i);
	st->pos += n;
	if (st->pos >= st->len)
		read_block_done(d);
	return v;
}

static void data_write(struct dev_ide *d, uint32_t val, int size)
{
	struct ide_state *st = &d->st;
	if (size == 1 || !data_ready(st, false))
		return;
	uint32_t n = MIN((uint32_t)size, st->len - st->pos);
	for (uint32_t i = 0; i < n; i++)
		st->buf[st->pos + i] = (uint8_t)(val >> (8 * i));
	st->pos += n;
	if (st->pos >= st->len)
		write_block_done(d);
}

/* }====== */

/* {====== commands */

/* Checks the address and count of a read, write or verify and stores the
 * first LBA and the count; false (after starting an IDNF completion) if
 * the range is not wholly on the disk. */
static bool setup_range(struct dev_ide *d)
{
	struct ide_state *st = &d->st;
	struct ide_drive_state *dr = &st->drive[st->active];
	uint64_t lba;
	uint32_t count = dr->nsector ? dr->nsector : 256;
	if (!decode_address(dr, &lba) || lba + count > addressable(dr)) {
		complete_later(d, IDE_ER_IDNF);
		return false;
	}
	st->lba = lba;
	st->left = count;
	return true;
}

static void cmd_read(struct dev_ide *d, uint32_t block)
{
	if (!setup_range(d))
		return;
	d->st.block = block;
	arm(d, PHASE_READ_BLOCK, IDE_COMMAND_NS + (uint64_t)IDE_SECTOR_NS * next_block(&d->st));
}

/* A PIO-out command finds the device's sector buffer empty, so the device
 * asks for the first block at once: DRQ with BSY clear and no INTRQ, before
 * the host's next access. Hosts may write the data right after the command
 * without polling (xv6's idestart does: outb of the command, then outsl of
 * the sector); QEMU raises DRQ in the command write as well. */
static void cmd_write(struct dev_ide *d, uint32_t block)
{
	if (!setup_range(d))
		return;
	d->st.block = block;
	start_block(d, next_block(&d->st) * SECTOR, false);
}

static void cmd_verify(struct dev_ide *d)
{
	if (!setup_range(d))
		return;
	struct ide_state *st = &d->st;
	uint32_t n = st->left;
	st->left = 0;
	advance(st, n);
	st->drive[st->active].error = 0;
	arm(d, PHASE_COMPLETE, IDE_COMMAND_NS + (uint64_t)IDE_SECTOR_NS * n);
}

static void cmd_set_multiple(struct dev_ide *d)
{
	struct ide_drive_state *dr = &d->st.drive[d->st.active];
	uint8_t n = dr->nsector;
	if (n > IDE_MAX_MULTIPLE || (n & (n - 1)) != 0) {
		complete_later(d, IDE_ER_ABRT);
		return;
	}
	dr->multiple = n;
	complete_later(d, 0);
}

static void cmd_init_params(struct dev_ide *d)
{
	struct ide_drive_state *dr = &d->st.drive[d->st.active];
	if (dr->nsector == 0) {
		complete_later(d, IDE_ER_ABRT);
		return;
	}
	dr->spt = dr->nsector;
	dr->heads = (uint16_t)((dr->device & IDE_DEV_HEAD) + 1);
	uint64_t cyls = dr->sectors / ((uint64_t)dr->heads * dr->spt);
	dr->cylinders = (uint32_t)MIN(cyls, 0xffffu);
	complete_later(d, 0);
}

static void cmd_flush(struct dev_ide *d)
{
	struct disk *k = d->disk[d->st.active];
	if (!disk_flush(k)) {
		g_warning("IDE: %s", disk_error(k));
		complete_later(d, IDE_ER_ABRT);
		return;
	}
	complete_later(d, 0);
}

/* Leaves the ATA signature of a hard disk in a device's registers. */
static void set_signature(struct ide_drive_state *dr)
{
	dr->nsector = 1;
	dr->lba_low = 1;
	dr->lba_mid = 0;
	dr->lba_high = 0;
	dr->device = IDE_DEV_OBSOLETE | (dr->device & IDE_DEV_DEV);
}

/* EXECUTE DEVICE DIAGNOSTIC: both devices test themselves; device 0
 * reports for the pair. */
static void cmd_diagnostic(struct dev_ide *d)
{
	struct ide_state *st = &d->st;
	for (int u = 0; u < 2; u++) {
		if (!present(st, u))
			continue;
		set_signature(&st->drive[u]);
		st->drive[u].error = IDE_DIAG_PASSED;
		st->drive[u].status = IDE_SR_DRDY | IDE_SR_DSC;
	}
	st->active = present(st, 0) ? 0 : 1;
	st->drive[st->active].status = IDE_SR_BSY;
	complete_later(d, IDE_DIAG_PASSED);
}

static void execute(struct dev_ide *d, uint8_t cmd)
{
	struct ide_drive_state *dr = &d->st.drive[d->st.active];
	switch (cmd) {
	case IDE_CMD_IDENTIFY:
		arm(d, PHASE_IDENTIFY, IDE_COMMAND_NS);
		break;
	case IDE_CMD_READ_SECTORS:
	case IDE_CMD_READ_SECTORS_NR:
		cmd_read(d, 1);
		break;
	case IDE_CMD_READ_MULTIPLE:
		if (dr->multiple)
			cmd_read(d, dr->multiple);
		else
			complete_later(d, IDE_ER_ABRT);
		break;
	case IDE_CMD_WRITE_SECTORS:
	case IDE_CMD_WRITE_SECTORS_NR:
		cmd_write(d, 1);
		break;
	case IDE_CMD_WRITE_MULTIPLE:
		if (dr->multiple)
			cmd_write(d, dr->multiple);
		else
			complete_later(d, IDE_ER_ABRT);
		break;
	case IDE_CMD_READ_VERIFY:
	case IDE_CMD_READ_VERIFY_NR:
		cmd_verify(d);
		break;
	case IDE_CMD_SET_MULTIPLE:
		cmd_set_multiple(d);
		break;
	case IDE_CMD_INIT_PARAMS:
		cmd_init_params(d);
		break;
	case IDE_CMD_SET_FEATURES:
		complete_later(d, 0);
		break;
	case IDE_CMD_FLUSH_CACHE:
		cmd_flush(d);
		break;
	default:
		if ((cmd & 0xf0) == IDE_CMD_RECALIBRATE)
			complete_later(d, 0);
		else
			complete_later(d, IDE_ER_ABRT);
	}
}

/* A write to the command register. */
static void command(struct dev_ide *d, uint8_t cmd)
{
	struct ide_state *st = &d->st;
	bool diag = cmd == IDE_CMD_DIAGNOSTIC;
	if (channel_empty(st) || (!present(st, st->cur) && !diag))
		return; /* nobody answers (an absent slave ignores commands) */
	if (status_of(st) & IDE_SR_BSY)
		return;
	go_idle(d);
	st->active = st->cur;
	st->cmd = cmd;
	struct ide_drive_state *dr = &st->drive[st->active];
	dr->intrq = 0;
	sync_irq(d);
	if (diag) {
		cmd_diagnostic(d); /* picks the device that reports */
		return;
	}
	dr->error = 0;
	dr->status = IDE_SR_BSY;
	execute(d, cmd);
}

/* }====== */

/* {====== the timer */

static void timer_fn(void *opaque, uint64_t now)
{
	struct dev_ide *d = opaque;
	struct ide_state *st = &d->st;
	enum ide_phase phase = st->phase;
	st->phase = PHASE_IDLE;
	st->deadline = CLOCK_NEVER;
	switch (phase) {
	case PHASE_COMPLETE:
		complete(d, st->drive[st->active].error);
		break;
	case PHASE_IDENTIFY:
		identify_to_buffer(st);
		st->left = 0;
		start_block(d, IDE_IDENTIFY_WORDS * 2, true);
		break;
	case PHASE_READ_BLOCK:
		load_block(d);
		break;
	case PHASE_WRITE_FIRST:
	case PHASE_WRITE_NEXT:
		start_block(d, next_block(st) * SECTOR, phase == PHASE_WRITE_NEXT);
		break;
	case PHASE_RESET:
		for (int u = 0; u < 2; u++)
			if (present(st, u))
				st->drive[u].status = IDE_SR_DRDY | IDE_SR_DSC;
		break;
	case PHASE_IDLE:
		break;
	}
}

/* }====== */

/* {====== registers */

static void reset_drive_registers(struct ide_drive_state *dr)
{
	set_signature(dr);
	dr->device = IDE_DEV_OBSOLETE | (dr->device & IDE_DEV_DEV);
	dr->features = 0;
	dr->error = IDE_DIAG_PASSED;
	dr->intrq = 0;
	dr->status = dr->sectors ? IDE_SR_DRDY | IDE_SR_DSC : 0;
}

/* Device control: nIEN and the SRST edge. */
static void write_devctl(struct dev_ide *d, uint8_t v)
{
	struct ide_state *st = &d->st;
	bool was = st->devctl & IDE_CTL_SRST, now = v & IDE_CTL_SRST;
	st->devctl = v;
	if (now && !was) {
		go_idle(d);
		for (int u = 0; u < 2; u++) {
			st->drive[u].intrq = 0;
			if (present(st, u))
				st->drive[u].status = IDE_SR_BSY;
		}
	} else if (was && !now) {
		for (int u = 0; u < 2; u++) {
			bool busy = present(st, u);
			st->drive[u].device = 0; /* device 0 is selected after a reset */
			reset_drive_registers(&st->drive[u]);
			st->drive[u].status = busy ? IDE_SR_BSY : 0;
		}
		st->cur = 0;
		arm(d, PHASE_RESET, IDE_RESET_NS);
	}
	sync_irq(d);
}

static void write_reg(struct dev_ide *d, unsigned reg, uint8_t v)
{
	struct ide_state *st = &d->st;
	if (reg == IDE_REG_COMMAND) {
		command(d, v);
		return;
	}
	if (status_of(st) & IDE_SR_BSY)
		return; /* ATA: the command block is not writable while BSY */
	for (int u = 0; u < 2; u++) {
		struct ide_drive_state *dr = &st->drive[u];
		switch (reg) {
		case IDE_REG_FEATURES: dr->features = v; break;
		case IDE_REG_NSECTOR: dr->nsector = v; break;
		case IDE_REG_LBA_LOW: dr->lba_low = v; break;
		case IDE_REG_LBA_MID: dr->lba_mid = v; break;
		case IDE_REG_LBA_HIGH: dr->lba_high = v; break;
		case IDE_REG_DEVICE: dr->device = v | IDE_DEV_OBSOLETE; break;
		}
	}
	if (reg == IDE_REG_DEVICE) {
		st->cur = (v & IDE_DEV_DEV) ? 1 : 0;
		sync_irq(d);
	}
}

static uint8_t read_reg(struct dev_ide *d, unsigned reg)
{
	struct ide_state *st = &d->st;
	const struct ide_drive_state *dr = &st->drive[st->cur];
	if (channel_empty(st))
		return 0;
	switch (reg) {
	case IDE_REG_ERROR: return present(st, st->cur) ? dr->error : 0;
	case IDE_REG_NSECTOR: return dr->nsector;
	case IDE_REG_LBA_LOW: return dr->lba_low;
	case IDE_REG_LBA_MID: return dr->lba_mid;
	case IDE_REG_LBA_HIGH: return dr->lba_high;
	case IDE_REG_DEVICE: return dr->device;
	default: break;
	}
	uint8_t status = status_of(st);
	if (present(st, st->cur)) {
		st->drive[st->cur].intrq = 0; /* reading status acknowledges INTRQ */
		sync_irq(d);
	}
	return status;
}

static uint32_t cmd_port_read(void *opaque, uint16_t port, int size)
{
	struct dev_ide *d = opaque;
	unsigned reg = port - IDE_CMD_BASE;
	if (reg == IDE_REG_DATA)
		return data_read(d, size);
	return read_reg(d, reg);
}

static void cmd_port_write(void *opaque, uint16_t port, uint32_t val, int size)
{
	struct dev_ide *d = opaque;
	unsigned reg = port - IDE_CMD_BASE;
	if (reg == IDE_REG_DATA)
		data_write(d, val, size);
	else
		write_reg(d, reg, (uint8_t)val);
}

static uint32_t ctl_port_read(void *opaque, uint16_t port, int size)
{
	struct dev_ide *d = opaque;
	return status_of(&d->st);
}

static void ctl_port_write(void *opaque, uint16_t port, uint32_t val, int size)
{
	write_devctl(opaque, (uint8_t)val);
}

/* }====== */

/* {====== device ops */

static void power_on(struct dev_ide *d)
{
	struct ide_state *st = &d->st;
	memset(st, 0, sizeof *st);
	for (int u = 0; u < 2; u++) {
		struct ide_drive_state *dr = &st->drive[u];
		dr->sectors = d->disk[u] ? disk_sectors(d->disk[u]) : 0;
		dr->device = (uint8_t)(u ? IDE_DEV_DEV : 0);
		reset_drive_registers(dr);
		default_geometry(dr);
	}
	st->deadline = CLOCK_NEVER;
}

static void ide_reset(struct device *dev)
{
	struct dev_ide *d = (struct dev_ide *)dev;
	clock_timer_cancel(&d->timer);
	if (d->st.irq_level)
		dev_irq(d->board, IDE_IRQ, false);
	power_on(d);
}

static void ide_save(struct device *dev, GByteArray *out)
{
	struct dev_ide *d = (struct dev_ide *)dev;
	d->st.deadline = clock_timer_deadline(&d->timer);
	dev_save_pod(out, IDE_STATE_VERSION, &d->st, sizeof d->st);
}

static bool ide_restore(struct device *dev, const uint8_t *buf, size_t len, GError **error)
{
	struct dev_ide *d = (struct dev_ide *)dev;
	struct ide_state st;
	if (!dev_restore_pod(dev->name, IDE_STATE_VERSION, buf, len, &st, sizeof st, error))
		return false;
	for (int u = 0; u < 2; u++) {
		uint64_t have = d->disk[u] ? disk_sectors(d->disk[u]) : 0;
		if (st.drive[u].sectors != have) {
			g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_STATE,
			            "the saved IDE %s has %" G_GUINT64_FORMAT " sectors, the attached "
			            "one %" G_GUINT64_FORMAT " (0: none); attach the same disks",
			            u ? "slave" : "master", st.drive[u].sectors, have);
			return false;
		}
	}
	d->st = st;
	clock_timer_arm(&d->timer, st.deadline);
	dev_irq(d->board, IDE_IRQ, st.irq_level != 0);
	return true;
}

static void ide_free(struct device *dev)
{
	struct dev_ide *d = (struct dev_ide *)dev;
	clock_timer_cancel(&d->timer);
	g_free(d);
}

static const struct device_ops ide_ops = {
	.reset = ide_reset,
	.save = ide_save,
	.restore = ide_restore,
	.free = ide_free,
};

struct dev_ide *dev_ide_new(const struct dev_board *b, struct disk *master, struct disk *slave,
                            GError **error)
{
	bool taken = ioport_claimed(b->io, IDE_CTL_PORT);
	for (unsigned i = 0; i < IDE_CMD_PORTS; i++)
		taken = taken || ioport_claimed(b->io, (uint16_t)(IDE_CMD_BASE + i));
	if (taken) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_CONFIG,
		            "the IDE ports 0x%x-0x%x and 0x%x are already taken by another device",
		            IDE_CMD_BASE, IDE_CMD_BASE + IDE_CMD_PORTS - 1, IDE_CTL_PORT);
		return NULL;
	}
	struct dev_ide *d = g_new0(struct dev_ide, 1);
	d->dev.ops = &ide_ops;
	d->dev.name = "ide0";
	d->board = b;
	d->disk[0] = master;
	d->disk[1] = slave;
	clock_timer_init(&d->timer, b->clock, "ide0", timer_fn, d);
	power_on(d);
	ioport_claim(b->io, IDE_CMD_BASE, IDE_CMD_PORTS, cmd_port_read, cmd_port_write, d);
	ioport_claim(b->io, IDE_CTL_PORT, 1, ctl_port_read, ctl_port_write, d);
	return d;
}

/* }====== */
