/*
 * guests/lib/rt/init.c - what runs between mbcrt0's entry and main().
 */
#include "rt.h"
#include "rt_internal.h"

void rt_start(void)
{
	rt_serial_init();
	rt_init_cpu();
	pic_init();
}
