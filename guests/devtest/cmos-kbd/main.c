/*
 * guests/devtest/cmos-kbd/main.c - the MC146818 RTC / CMOS and the 8042
 * keyboard controller as a kernel sees them.
 *
 * RTC: register D's valid-RAM bit, the time read in BCD and in binary
 * (register B's DM bit) agreeing, UIP rising within a second of polling,
 * the periodic interrupt on IRQ 8 through the PIC, register C's flags
 * cleared by a read, and the PC memory-size bytes (printed: they must be
 * the same on every machine given -m 32).
 * 8042: self test, keyboard interface test, the command byte written and
 * read back, the keyboard's echo and identify (translated: FA AB 41), and
 * the A20 gate closed through the output port (D1) and the DD command
 * (with port 0x92's A20 bit cleared meanwhile, since either opens the gate
 * on a PC): while it is closed, 0x300000 and 0x200000 are the same memory.
 *
 * The date and loop counts depend on the machine and on host time, so they
 * are printed on TIME: lines only.
 */
#include "rt.h"

/* RTC */
#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define RTC_SECONDS 0x00
#define RTC_MINUTES 0x02
#define RTC_HOURS 0x04
#define RTC_DAY 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0A
#define RTC_REG_B 0x0B
#define RTC_REG_C 0x0C
#define RTC_REG_D 0x0D
#define RTC_A_UIP 0x80
#define RTC_A_DIVIDER 0x20 /* 32.768 kHz time base */
#define RTC_A_RATE_1024HZ 0x06
#define RTC_B_PIE 0x40
#define RTC_B_DM_BINARY 0x04
#define RTC_B_24H 0x02
#define RTC_C_IRQF 0x80
#define RTC_C_PF 0x40
#define RTC_C_UF 0x10
#define RTC_D_VRT 0x80
#define RTC_IRQ 8
#define SECONDS_PER_DAY 86400u

/* 8042 */
#define KBC_DATA 0x60
#define KBC_STATUS 0x64
#define KBC_CMD 0x64
#define KBC_STAT_OBF 0x01
#define KBC_STAT_IBF 0x02
#define KBC_READ_CB 0x20
#define KBC_WRITE_CB 0x60
#define KBC_SELF_TEST 0xAA
#define KBC_IFACE_TEST 0xAB
#define KBC_WRITE_OUTPORT 0xD1
#define KBC_A20_OFF 0xDD
#define KBC_A20_ON 0xDF
#define KBC_OUTPORT_A20_OFF 0xDD /* reset line high, A20 low */
#define KBC_OUTPORT_A20_ON 0xDF
#define KBC_CB_TEST 0x64 /* SYS, aux disabled, translate; IRQ 1 off */
#define KBD_ECHO 0xEE
#define KBD_IDENTIFY 0xF2
#define KBD_ACK 0xFA

#define POLL_LIMIT 20000000u
#define SPIN_LIMIT 100000000u
#define PERIODIC_WANTED 16

/* The A20 probe runs from here, below 1 MiB, because the kernel itself
 * (at 1 MiB) is out of reach while the gate is closed. */
#define LOW_CODE 0x7000u
#define A20_LOW 0x200000u
#define A20_HIGH 0x300000u /* differs from A20_LOW only in bit 20 */

int main(void);

/* {====== RTC helpers */

static uint8_t cmos_read(uint8_t index)
{
	outb(CMOS_INDEX, index);
	return inb(CMOS_DATA);
}

static void cmos_write(uint8_t index, uint8_t v)
{
	outb(CMOS_INDEX, index);
	outb(CMOS_DATA, v);
}

static uint32_t from_bcd(uint8_t v)
{
	return (uint32_t)(v >> 4) * 10 + (v & 0x0F);
}

/* Waits until UIP is clear, so the next reads see one consistent time. */
static bool wait_not_uip(void)
{
	for (uint32_t i = 0; i < POLL_LIMIT; i++)
		if (!(cmos_read(RTC_REG_A) & RTC_A_UIP))
			return true;
	return false;
}

struct rtc_time {
	uint32_t sec, min, hour, day, month, year;
};

static void read_time(struct rtc_time *t, bool bcd)
{
	uint8_t raw[6] = {cmos_read(RTC_SECONDS), cmos_read(RTC_MINUTES), cmos_read(RTC_HOURS),
			  cmos_read(RTC_DAY),     cmos_read(RTC_MONTH),   cmos_read(RTC_YEAR)};
	uint32_t v[6];
	for (int i = 0; i < 6; i++)
		v[i] = bcd ? from_bcd(raw[i]) : raw[i];
	*t = (struct rtc_time){v[0], v[1], v[2], v[3], v[4], v[5]};
}

static uint32_t second_of_day(const struct rtc_time *t)
{
	return t->hour * 3600 + t->min * 60 + t->sec;
}

/* }====== */

/* {====== RTC tests */

static void test_reg_d(void)
{
	rt_check(cmos_read(RTC_REG_D) & RTC_D_VRT, "rtc register D: valid RAM and time (VRT)");
}

static void test_bcd_and_binary(void)
{
	uint8_t b = cmos_read(RTC_REG_B);
	struct rtc_time bcd, bin;
	bool ok = wait_not_uip();
	cmos_write(RTC_REG_B, (b & ~RTC_B_DM_BINARY) | RTC_B_24H);
	read_time(&bcd, true);
	cmos_write(RTC_REG_B, b | RTC_B_DM_BINARY | RTC_B_24H);
	read_time(&bin, false);
	cmos_write(RTC_REG_B, b);
	uint32_t s0 = second_of_day(&bcd), s1 = second_of_day(&bin);
	uint32_t diff = (s1 + SECONDS_PER_DAY - s0) % SECONDS_PER_DAY;
	rt_check(ok, "rtc UIP clears within the poll limit");
	rt_check(diff <= 1 && bcd.hour < 24 && bcd.min < 60 && bcd.sec < 60,
		 "rtc time read in BCD and in binary agrees (register B DM)");
	rt_check(bcd.day >= 1 && bcd.day <= 31 && bcd.month >= 1 && bcd.month <= 12 &&
			 bcd.year == bin.year && bcd.month == bin.month,
		 "rtc date valid and the same in both formats");
	rt_check((b & RTC_B_24H) != 0, "rtc register B: 24-hour mode as the firmware leaves it");
	rt_printf("TIME: rtc %02u-%02u-%02u %02u:%02u:%02u (binary read %02u:%02u:%02u)\n",
		  bcd.year, bcd.month, bcd.day, bcd.hour, bcd.min, bcd.sec, bin.hour, bin.min,
		  bin.sec);
}

/* Polls register A until UIP is set, then until it clears again.
 * Returns the number of polls until UIP rose, 0 if it never did. */
static uint32_t poll_uip(void)
{
	outb(CMOS_INDEX, RTC_REG_A);
	uint32_t i;
	for (i = 1; i < POLL_LIMIT; i++)
		if (inb(CMOS_DATA) & RTC_A_UIP)
			break;
	if (i == POLL_LIMIT)
		return 0;
	for (uint32_t j = 0; j < POLL_LIMIT; j++)
		if (!(inb(CMOS_DATA) & RTC_A_UIP))
			return i;
	return 0;
}

static void test_uip(void)
{
	uint32_t polls = poll_uip();
	rt_check(polls != 0, "rtc UIP rises and falls within a bounded poll of register A");
	rt_printf("TIME: UIP after %u polls\n", polls);
}

static volatile uint32_t periodic_count;
static volatile uint8_t periodic_c;

static void rtc_handler(struct rt_frame *f)
{
	(void)f;
	periodic_c |= cmos_read(RTC_REG_C); /* acknowledges: lowers IRQ 8 */
	periodic_count++;
	pic_eoi(RTC_IRQ);
}

static void test_periodic_irq(void)
{
	uint8_t a = cmos_read(RTC_REG_A), b = cmos_read(RTC_REG_B);
	rt_set_handler(RT_VEC_IRQ0 + RTC_IRQ, rtc_handler);
	cmos_write(RTC_REG_A, RTC_A_DIVIDER | RTC_A_RATE_1024HZ);
	cmos_read(RTC_REG_C);
	cmos_write(RTC_REG_B, b | RTC_B_PIE);
	pic_unmask(RTC_IRQ);
	sti();
	uint32_t spins = 0;
	while (periodic_count < PERIODIC_WANTED && spins < SPIN_LIMIT)
		spins++;
	cli();
	cmos_write(RTC_REG_B, b & ~RTC_B_PIE);
	pic_mask(RTC_IRQ);
	cmos_write(RTC_REG_A, a);
	rt_check(periodic_count > 0, "rtc periodic interrupt arrives on IRQ 8 through the PIC");
	rt_check((periodic_c & (RTC_C_IRQF | RTC_C_PF)) == (RTC_C_IRQF | RTC_C_PF),
		 "rtc register C in the handler shows IRQF and PF");
	rt_printf("TIME: %u periodic interrupts after %u spins\n", periodic_count, spins);
}

static void test_reg_c_clears(void)
{
	uint8_t a = cmos_read(RTC_REG_A);
	cmos_write(RTC_REG_A, RTC_A_DIVIDER); /* no periodic flag */
	/* just after an update: UF is set and the next one is a second away */
	bool ok = poll_uip() != 0;
	uint8_t first = cmos_read(RTC_REG_C);
	uint8_t second = cmos_read(RTC_REG_C);
	cmos_write(RTC_REG_A, a);
	rt_check(ok && (first & RTC_C_UF), "rtc register C: UF set by the update cycle");
	rt_check_eq(second, 0, "rtc register C reads 0 after a read cleared it");
}

static void test_memory_bytes(void)
{
	static const uint8_t idx[] = {0x15, 0x16, 0x17, 0x18, 0x30, 0x31};
	rt_printf("cmos memory bytes:");
	for (unsigned i = 0; i < sizeof idx; i++)
		rt_printf(" %02x=%02x", idx[i], cmos_read(idx[i]));
	rt_printf("\n");
	uint32_t base = cmos_read(0x15) | (uint32_t)cmos_read(0x16) << 8;
	uint32_t ext = cmos_read(0x17) | (uint32_t)cmos_read(0x18) << 8;
	uint32_t ext2 = cmos_read(0x30) | (uint32_t)cmos_read(0x31) << 8;
	rt_check_eq(base, 640, "cmos base memory 640 KiB");
	rt_check_eq(ext, 31 * 1024, "cmos extended memory: 31 MiB above 1 MiB with -m 32");
	rt_check_eq(ext2, ext, "cmos 0x30/0x31 match 0x17/0x18");
}

/* }====== */

/* {====== 8042 helpers */

static bool kbc_wait_write(void)
{
	for (uint32_t i = 0; i < POLL_LIMIT; i++)
		if (!(inb(KBC_STATUS) & KBC_STAT_IBF))
			return true;
	return false;
}

/* Reads the next byte of the output buffer; -1 if none comes. */
static int kbc_read(void)
{
	for (uint32_t i = 0; i < POLL_LIMIT; i++)
		if (inb(KBC_STATUS) & KBC_STAT_OBF)
			return inb(KBC_DATA);
	return -1;
}

static void kbc_flush(void)
{
	for (int i = 0; i < 64 && (inb(KBC_STATUS) & KBC_STAT_OBF); i++)
		inb(KBC_DATA);
}

static void kbc_command(uint8_t c)
{
	kbc_wait_write();
	outb(KBC_CMD, c);
}

static void kbc_data(uint8_t v)
{
	kbc_wait_write();
	outb(KBC_DATA, v);
}

/* }====== */

/* {====== 8042 tests */

static void test_kbc_tests(void)
{
	kbc_flush();
	kbc_command(KBC_SELF_TEST);
	rt_check_eq((uint32_t)kbc_read(), 0x55, "8042 self test (AA) answers 55");
	kbc_command(KBC_IFACE_TEST);
	rt_check_eq((uint32_t)kbc_read(), 0x00, "8042 keyboard interface test (AB) answers 00");
}

static uint8_t saved_cb;

static void test_command_byte(void)
{
	kbc_command(KBC_READ_CB);
	int cb = kbc_read();
	rt_check(cb >= 0, "8042 command byte read (20)");
	saved_cb = (uint8_t)cb;
	kbc_command(KBC_WRITE_CB);
	kbc_data(KBC_CB_TEST);
	kbc_command(KBC_READ_CB);
	rt_check_eq((uint32_t)kbc_read(), KBC_CB_TEST, "8042 command byte written (60) reads back");
	rt_printf("TIME: command byte was %02x\n", saved_cb);
}

static void test_keyboard(void)
{
	kbc_flush();
	kbc_data(KBD_ECHO);
	rt_check_eq((uint32_t)kbc_read(), KBD_ECHO, "keyboard echo (EE) answers EE");
	kbc_data(KBD_IDENTIFY);
	int ack = kbc_read(), id1 = kbc_read(), id2 = kbc_read();
	rt_check_eq((uint32_t)ack, KBD_ACK, "keyboard identify (F2) acknowledged");
	rt_check_eq((uint32_t)(id1 << 8 | id2), 0xAB41,
		    "keyboard identify: AB 41 (translated MF2)");
	kbc_command(KBC_WRITE_CB);
	kbc_data(saved_cb);
}

/*
 * The probe, copied below 1 MiB with its parameter block. It first clears
 * the A20 bit of port 0x92 (on a PC the gate is open while either the
 * 8042 or port 0x92 opens it), then closes the gate with the 8042
 * (command byte, and its data byte unless 0), writes 0x11111111 at
 * A20_LOW and 0x22222222 at A20_HIGH and keeps what A20_LOW holds; opens
 * it with the 8042 and does the same with 0x33333333 / 0x44444444; and
 * finally sets port 0x92's A20 bit again. No stack use while the gate may
 * be closed (the stack is above 1 MiB).
 */
struct a20_params {
	uint32_t off_cmd, off_data, on_cmd, on_data;
	uint32_t seen_closed, seen_open;
};

#define LOW_PARAMS 0x7800u
#define PORT92 0x92
#define PORT92_A20 0x02

__asm__(".text\n"
	".globl a20_probe_start, a20_probe_end\n"
	"a20_probe_start:\n"
	"  xorl %eax, %eax\n"
	"  outb %al, $0x92\n"
	"  movl 0x7800, %eax\n"
	"  outb %al, $0x64\n"
	"  movl 0x7804, %eax\n"
	"  testl %eax, %eax\n"
	"  jz 1f\n"
	"  outb %al, $0x60\n"
	"1:\n"
	"  movl $0x11111111, 0x200000\n"
	"  movl $0x22222222, 0x300000\n"
	"  movl 0x200000, %eax\n"
	"  movl %eax, 0x7810\n"
	"  movl 0x7808, %eax\n"
	"  outb %al, $0x64\n"
	"  movl 0x780c, %eax\n"
	"  testl %eax, %eax\n"
	"  jz 2f\n"
	"  outb %al, $0x60\n"
	"2:\n"
	"  movl $0x33333333, 0x200000\n"
	"  movl $0x44444444, 0x300000\n"
	"  movl 0x200000, %eax\n"
	"  movl %eax, 0x7814\n"
	"  movb $0x02, %al\n"
	"  outb %al, $0x92\n"
	"  ret\n"
	"a20_probe_end:\n");
extern const char a20_probe_start[], a20_probe_end[];

static void a20_probe(struct a20_params *p)
{
	volatile struct a20_params *low = (volatile struct a20_params *)LOW_PARAMS;
	*low = *p;
	__asm__ volatile("call *%0" : : "r"(LOW_CODE) : "eax", "memory", "cc");
	*p = *low;
}

static void test_a20(void)
{
	_Static_assert(LOW_PARAMS == 0x7800u, "the probe's code names its parameter block");
	memcpy((void *)LOW_CODE, a20_probe_start, (size_t)(a20_probe_end - a20_probe_start));
	kbc_flush();
	struct a20_params p = {KBC_WRITE_OUTPORT,
			       KBC_OUTPORT_A20_OFF,
			       KBC_WRITE_OUTPORT,
			       KBC_OUTPORT_A20_ON,
			       0,
			       0};
	a20_probe(&p);
	rt_check_eq(p.seen_closed, 0x22222222,
		    "8042 output port (D1) A20 off: 3 MiB wraps onto 2 MiB");
	rt_check_eq(p.seen_open, 0x33333333,
		    "8042 output port (D1) A20 on again: 2 and 3 MiB apart");
	p = (struct a20_params){KBC_A20_OFF, 0, KBC_A20_ON, 0, 0, 0};
	a20_probe(&p);
	rt_check_eq(p.seen_closed, 0x22222222, "8042 command DD A20 off: 3 MiB wraps onto 2 MiB");
	rt_check_eq(p.seen_open, 0x33333333, "8042 command DF A20 on again: 2 and 3 MiB apart");
	rt_check((inb(PORT92) & PORT92_A20) != 0, "port 0x92 A20 bit set again");
	volatile uint32_t *lo = (volatile uint32_t *)A20_LOW, *hi = (volatile uint32_t *)A20_HIGH;
	*lo = 5;
	*hi = 6;
	rt_check(*lo == 5 && *hi == 6, "A20 open after the probes");
}

/* }====== */

int main(void)
{
	pic_init();
	test_reg_d();
	test_bcd_and_binary();
	test_uip();
	test_periodic_irq();
	test_reg_c_clears();
	test_memory_bytes();
	test_kbc_tests();
	test_command_byte();
	test_keyboard();
	test_a20();
	rt_done();
}
