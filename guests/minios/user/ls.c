/* ls.c - list the files: the directory "/" is a file of struct dirent. */
#include "user.h"
#include "fsformat.h"

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	struct dirent e;
	int fd = open("/");

	if (fd < 0) {
		printf("ls: cannot open the directory\n");
		return 1;
	}
	while (read(fd, &e, sizeof(e)) == sizeof(e)) {
		e.name[FS_NAMELEN - 1] = 0;
		printf("%-16s %6d\n", e.name, e.size);
	}
	close(fd);
	return 0;
}
