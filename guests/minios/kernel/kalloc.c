/*
 * kalloc.c - the physical page allocator: a list of free 4 KiB pages, threaded
 * through the pages themselves. Pages are handled by their kernel virtual
 * address (P2V of the physical one).
 */
#include "defs.h"
#include "memlayout.h"

#define JUNK_FREE	1	/* fill freed pages: dangling pointers show up */

struct run {
	struct run *next;
};

static struct run *freelist;

/* Free every whole page in [vstart, vend). */
void kinit(void *vstart, void *vend)
{
	for (char *p = (char *)PGROUNDUP(vstart); p + PGSIZE <= (char *)vend; p += PGSIZE)
		kfree(p);
}

/* Give back a page that kalloc() returned (or that kinit() found). */
void kfree(char *page)
{
	extern char end[];	/* first address after the kernel (kernel.ld) */

	if ((uint32_t)page % PGSIZE || page < end || V2P(page) >= PHYSTOP_MAX)
		panic("kfree: bad page");
	memset(page, JUNK_FREE, PGSIZE);
	struct run *r = (struct run *)page;
	r->next = freelist;
	freelist = r;
}

/* One 4 KiB page, or 0 when memory is exhausted. Its contents are junk. */
char *kalloc(void)
{
	struct run *r = freelist;

	if (r)
		freelist = r->next;
	return (char *)r;
}
