/* cat.c - print files. */
#include "user.h"

static int cat(int fd)
{
	char buf[512];
	int n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		write(STDOUT, buf, n);
	return n;
}

int main(int argc, char **argv)
{
	int status = 0;

	if (argc < 2)
		return cat(STDIN) < 0;
	for (int i = 1; i < argc; i++) {
		int fd = open(argv[i]);
		if (fd < 0) {
			printf("cat: %s: no such file\n", argv[i]);
			status = 1;
			continue;
		}
		if (cat(fd) < 0) {
			printf("cat: %s: read error\n", argv[i]);
			status = 1;
		}
		close(fd);
	}
	return status;
}
