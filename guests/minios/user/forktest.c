/*
 * forktest.c - fork children and wait for them.
 *
 * Round 1: fork NCHILD children one after another; each prints a line and
 * exits with its number, and the parent waits for each before forking the
 * next, so the lines come out in the same order on every machine.
 * Round 2: fork NCHILD children at once; they compute for a while (the timer
 * takes turns between them) and exit with a result; the parent collects them
 * in whatever order they finish and prints only order-independent totals.
 */
#include "user.h"

#define NCHILD	5
#define WORK	200000

/* Something to compute; the result depends only on n. */
static int work(int n)
{
	volatile uint32_t x = n;

	for (int i = 0; i < WORK; i++)
		x = x * 1103515245 + 12345;
	return (x >> 16) % 100;
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	int sum = 0, status;

	printf("forktest: round 1, %d children one at a time\n", NCHILD);
	for (int i = 1; i <= NCHILD; i++) {
		int pid = fork();
		if (pid < 0) {
			printf("forktest: fork failed\n");
			return 1;
		}
		if (pid == 0) {
			printf("  child %d: pid %d\n", i, getpid());
			exit(i);
		}
		if (wait(&status) != pid) {
			printf("forktest: wait returned the wrong child\n");
			return 1;
		}
		sum += status;
	}
	printf("forktest: round 1 done, exit statuses add up to %d\n", sum);

	printf("forktest: round 2, %d children at once\n", NCHILD);
	int expect = 0;
	for (int i = 1; i <= NCHILD; i++) {
		expect += work(i);
		int pid = fork();
		if (pid < 0) {
			printf("forktest: fork failed\n");
			return 1;
		}
		if (pid == 0)
			exit(work(i));
	}
	sum = 0;
	for (int i = 0; i < NCHILD; i++) {
		if (wait(&status) < 0) {
			printf("forktest: lost a child\n");
			return 1;
		}
		sum += status;
	}
	if (wait(0) != -1) {
		printf("forktest: an extra child\n");
		return 1;
	}
	printf("forktest: round 2 done, results add up to %d (expected %d)\n", sum, expect);
	printf("forktest: %s\n", sum == expect ? "ok" : "FAILED");
	return sum != expect;
}
