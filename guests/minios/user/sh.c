/*
 * sh.c - the minios shell. Reads a line, splits it into words, and either
 * runs a built-in command or forks a child that execs the program of that
 * name from the file system, and waits for it.
 */
#include "user.h"

#define MAXLINE		128
#define MAXWORDS	16

static void help(void)
{
	printf("commands:\n"
	       "  ls             list the files with their sizes\n"
	       "  cat FILE...    print files\n"
	       "  echo ARGS...   print the arguments\n"
	       "  forktest       fork children, wait for them\n"
	       "  ps             list the processes\n"
	       "  sleep N        sleep for N timer ticks\n"
	       "  uptime         timer ticks since boot\n"
	       "  help           this text\n"
	       "  halt           power off\n");
}

/* Split line into words at spaces and tabs. Returns the number of words. */
static int split(char *line, char **words)
{
	int n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			*p++ = 0;
		if (*p == 0 || n == MAXWORDS)
			break;
		words[n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
	}
	words[n] = 0;
	return n;
}

/* Run a command that is not built in. */
static void run(char **words)
{
	int pid = fork();

	if (pid < 0) {
		printf("sh: fork failed\n");
		return;
	}
	if (pid == 0) {
		exec(words[0], words);
		printf("sh: %s: command not found\n", words[0]);
		exit(127);
	}
	int status;
	while (wait(&status) != pid)
		;
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	char line[MAXLINE];
	char *words[MAXWORDS + 1];

	for (;;) {
		printf("$ ");
		int n = read(STDIN, line, sizeof(line) - 1);
		if (n <= 0)
			break;		/* Ctrl-D: end of input */
		line[n] = 0;
		if (split(line, words) == 0)
			continue;
		if (strcmp(words[0], "help") == 0)
			help();
		else if (strcmp(words[0], "halt") == 0)
			halt();
		else if (strcmp(words[0], "ps") == 0)
			ps();
		else if (strcmp(words[0], "sleep") == 0)
			sleep(words[1] ? atoi(words[1]) : 1);
		else if (strcmp(words[0], "uptime") == 0)
			printf("%d ticks\n", uptime());
		else
			run(words);
	}
	return 0;
}
