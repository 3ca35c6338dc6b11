/*
 * Taking a chunk out of a doubly linked bin.  The checks are glibc's: they catch the classic
 * unsafe-unlink attack, where forged fd/bk pointers turn the unlink into an arbitrary write.
 */
#include "internal.h"

void unlink_chunk(mstate av, mchunkptr p)
{
	(void)av;
	if (chunk_size(p) != prev_size(next_chunk(p)))
		malloc_printerr("corrupted size vs. prev_size");

	mchunkptr forward = p->fd;
	mchunkptr backward = p->bk;
	if (__builtin_expect(forward->bk != p || backward->fd != p, 0))
		malloc_printerr("corrupted double-linked list");

	forward->bk = backward;
	backward->fd = forward;
	if (!in_smallbin_range(chunk_size_raw(p)) && p->fd_nextsize != NULL) {
		if (p->fd_nextsize->bk_nextsize != p || p->bk_nextsize->fd_nextsize != p)
			malloc_printerr("corrupted double-linked list (not small)");

		if (forward->fd_nextsize == NULL) {
			/* p led its size group; its successor of the same size takes its place. */
			if (p->fd_nextsize == p) {
				forward->fd_nextsize = forward->bk_nextsize = forward;
			} else {
				forward->fd_nextsize = p->fd_nextsize;
				forward->bk_nextsize = p->bk_nextsize;
				p->fd_nextsize->bk_nextsize = forward;
				p->bk_nextsize->fd_nextsize = forward;
			}
		} else {
			p->fd_nextsize->bk_nextsize = p->bk_nextsize;
			p->bk_nextsize->fd_nextsize = p->fd_nextsize;
		}
	}
}
