/*
 * file.c - open files: the console, or a file of the file system with a
 * read offset. File descriptors in a process point to these; fork() shares
 * them (a reference count says how many descriptors point to each).
 */
#include "defs.h"
#include "fsformat.h"
#include "param.h"

enum filetype { FD_NONE, FD_CONSOLE, FD_DISK };

struct file {
	enum filetype type;
	int ref;
	struct dirent ent;	/* FD_DISK: where the file is */
	uint32_t off;		/* FD_DISK: the next byte read() gives */
};

static struct file ftable[NFILE];

static struct file *file_alloc(enum filetype type)
{
	for (struct file *f = ftable; f < &ftable[NFILE]; f++) {
		if (f->ref == 0) {
			memset(f, 0, sizeof(*f));
			f->type = type;
			f->ref = 1;
			return f;
		}
	}
	return 0;
}

/* A new open file on the console, or 0 if the table is full. */
struct file *file_console(void)
{
	return file_alloc(FD_CONSOLE);
}

/* Open a file of the file system for reading. Returns 0 if none is found. */
struct file *file_open(const char *name)
{
	struct dirent e;

	if (fs_lookup(name, &e) < 0)
		return 0;
	struct file *f = file_alloc(FD_DISK);
	if (f)
		f->ent = e;
	return f;
}

/* One more reference to f. */
struct file *file_dup(struct file *f)
{
	if (f->ref < 1)
		panic("file_dup");
	f->ref++;
	return f;
}

/* Drop a reference; the last one frees the file. */
void file_close(struct file *f)
{
	if (f->ref < 1)
		panic("file_close");
	if (--f->ref == 0)
		f->type = FD_NONE;
}

/* Read up to n bytes. Returns how many, 0 at the end, -1 on an error. */
int file_read(struct file *f, char *dst, int n)
{
	if (f->type == FD_CONSOLE)
		return cons_read(dst, n);
	int r = fs_read(&f->ent, f->off, dst, n);
	if (r > 0)
		f->off += r;
	return r;
}

/* Write n bytes. Only the console can be written; files are read-only. */
int file_write(struct file *f, const char *src, int n)
{
	if (f->type == FD_CONSOLE)
		return cons_write(src, n);
	return -1;
}
