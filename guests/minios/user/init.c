/* init.c - the first process: runs the shell, and runs it again if it exits. */
#include "user.h"

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	static char *sh_argv[] = {"sh", 0};

	for (;;) {
		int pid = fork();
		if (pid < 0) {
			printf("init: fork failed\n");
			halt();
		}
		if (pid == 0) {
			exec("sh", sh_argv);
			printf("init: cannot exec sh\n");
			exit(1);
		}
		/* Reap the shell and any orphans that are given to init. */
		int wpid;
		while ((wpid = wait(0)) >= 0 && wpid != pid)
			;
		printf("init: the shell exited; starting another\n");
	}
}
