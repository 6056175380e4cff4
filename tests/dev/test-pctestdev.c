/*
 * test-pctestdev.c - QEMU's pc-testdev (engine/dev/pctestdev.h): the
 * byte-addressable scratch register, the IRQ lines, the I/O memory, and
 * save/restore.
 */
#include <glib.h>

#include "device.h"
#include "ioport.h"
#include "pctestdev.h"
#include "physmem.h"
#include "testboard.h"

struct fix {
	struct testboard tb;
	struct dev_pctestdev *t;
};

static void fix_init(struct fix *f)
{
	*f = (struct fix){0};
	testboard_init(&f->tb);
	f->t = testboard_adopt(&f->tb, dev_pctestdev_new(&f->tb.board, &f->tb.err));
}

/* OUT of 1, 2 or 4 bytes at 0xE0 + k replaces those bytes; IN reads them. */
static void test_scratch_register(void)
{
	struct fix f;
	fix_init(&f);
	ioport_write(f.tb.io, PCTESTDEV_IOPORT, 0x12345678, 4);
	g_assert_cmphex(ioport_read(f.tb.io, PCTESTDEV_IOPORT, 4), ==, 0x12345678);
	ioport_write(f.tb.io, PCTESTDEV_IOPORT + 1, 0xab, 1);
	g_assert_cmphex(ioport_read(f.tb.io, PCTESTDEV_IOPORT, 4), ==, 0x1234ab78);
	g_assert_cmphex(ioport_read(f.tb.io, PCTESTDEV_IOPORT + 2, 2), ==, 0x1234);
	ioport_write(f.tb.io, PCTESTDEV_IOPORT, 0xbeef, 2);
	g_assert_cmphex(ioport_read(f.tb.io, PCTESTDEV_IOPORT, 1), ==, 0xef);
	g_assert_cmphex(ioport_read(f.tb.io, PCTESTDEV_FLUSH, 4), ==, 0);
	testboard_free(&f.tb);
}

/* A write to 0x2000 + n drives ISA IRQ n; 16-23 change nothing. */
static void test_irq_lines(void)
{
	struct fix f;
	fix_init(&f);
	ioport_write(f.tb.io, PCTESTDEV_IRQ_BASE + 11, 1, 1);
	g_assert_true(f.tb.level[11]);
	g_assert_cmpint(f.tb.raises[11], ==, 1);
	ioport_write(f.tb.io, PCTESTDEV_IRQ_BASE + 11, 0, 1);
	g_assert_false(f.tb.level[11]);
	f.tb.only_irq = 5; /* no other line may move */
	ioport_write(f.tb.io, PCTESTDEV_IRQ_BASE + 20, 1, 1);
	testboard_free(&f.tb);
}

/* The I/O memory keeps what is written, at every size; state survives a
 * save and restore. */
static void test_iomem_and_state(void)
{
	struct fix f;
	fix_init(&f);
	pmem_write(f.tb.pm, PCTESTDEV_IOMEM_BASE + 0x100, 0xdeadbeef, 4);
	g_assert_cmphex(pmem_read(f.tb.pm, PCTESTDEV_IOMEM_BASE + 0x101, 2), ==, 0xadbe);
	pmem_write(f.tb.pm, PCTESTDEV_IOMEM_BASE + 0xffff, 0x5a, 1);
	ioport_write(f.tb.io, PCTESTDEV_IOPORT, 0xcafe, 4);
	struct device *d = (struct device *)f.t;
	GByteArray *img = g_byte_array_new();
	d->ops->save(d, img);
	d->ops->reset(d);
	g_assert_cmphex(pmem_read(f.tb.pm, PCTESTDEV_IOMEM_BASE + 0x100, 4), ==, 0);
	GError *err = NULL;
	g_assert_true(d->ops->restore(d, img->data, img->len, &err));
	g_assert_no_error(err);
	g_assert_cmphex(pmem_read(f.tb.pm, PCTESTDEV_IOMEM_BASE + 0x100, 4), ==, 0xdeadbeef);
	g_assert_cmphex(pmem_read(f.tb.pm, PCTESTDEV_IOMEM_BASE + 0xffff, 1), ==, 0x5a);
	g_assert_cmphex(ioport_read(f.tb.io, PCTESTDEV_IOPORT, 4), ==, 0xcafe);
	g_byte_array_unref(img);
	testboard_free(&f.tb);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dev/pctestdev/scratch-register-bytes", test_scratch_register);
	g_test_add_func("/dev/pctestdev/irq-lines", test_irq_lines);
	g_test_add_func("/dev/pctestdev/iomem-and-save-restore", test_iomem_and_state);
	return g_test_run();
}
