/* echo.c - print the arguments, separated by spaces. */
#include "user.h"

int main(int argc, char **argv)
{
	char line[256];
	int len = 0;

	for (int i = 1; i < argc; i++) {
		for (const char *s = argv[i]; *s && len < (int)sizeof(line) - 2; s++)
			line[len++] = *s;
		if (i + 1 < argc && len < (int)sizeof(line) - 2)
			line[len++] = ' ';
	}
	line[len++] = '\n';
	write(STDOUT, line, len);
	return 0;
}
