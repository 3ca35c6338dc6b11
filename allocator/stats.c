/*
 * Statistics: mallinfo2 (2.33+)/mallinfo, malloc_stats and malloc_info, with glibc's arithmetic and
 * byte-identical text (the same in 2.31 and 2.36).
 *
 * Each arena is locked only while it is measured and the text is written after the lock is
 * dropped: writing to a FILE may allocate its buffer, which must not find the arena locked.  The
 * quirks are glibc's and kept on purpose, because tools parse this output: malloc_info reports
 * bin sizes with their PREV_INUSE bit, fastbins by the size of their first chunk, and
 * malloc_stats truncates to unsigned int.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* A fastbin link that is not 16-aligned was forged or overwritten; following it could read
   anything, so the walk stops the program as glibc does. */
static mchunkptr next_fastbin_chunk(mchunkptr chunk, const char *misaligned_message)
{
	if (__builtin_expect(misaligned_link(chunk), 0))
		malloc_printerr(misaligned_message);
	return reveal_pointer(chunk->fd);
}

/* Adds one locked arena's figures to *info.  The top chunk always counts as one free block. */
static void int_mallinfo(mstate av, struct malloc_totals *info)
{
	size_t avail = chunk_size(av->top);
	size_t blocks = 1;
	size_t fast_blocks = 0;
	size_t fast_avail = 0;

	for (unsigned int i = 0; i < NFASTBINS; i++) {
		for (mchunkptr p = *fastbin(av, i); p != NULL;
		     p = next_fastbin_chunk(p, "int_mallinfo(): unaligned fastbin chunk detected")) {
			fast_blocks++;
			fast_avail += chunk_size(p);
		}
	}
	avail += fast_avail;

	for (unsigned int i = 1; i < NBINS; i++) {
		mbinptr bin = bin_at(av, i);
		for (mchunkptr p = bin->bk; p != bin; p = p->bk) {
			blocks++;
			avail += chunk_size(p);
		}
	}

	info->smblks += fast_blocks;
	info->ordblks += blocks;
	info->fordblks += avail;
	info->uordblks += av->system_mem - avail;
	info->arena += av->system_mem;
	info->fsmblks += fast_avail;
	if (av == &main_arena) {
		info->hblks = (size_t)mp_.n_mmaps;
		info->hblkhd = mp_.mmapped_mem;
		info->usmblks = 0;
		info->keepcost = chunk_size(av->top);
	}
}

static void measure_arena(mstate av, struct malloc_totals *info)
{
	arena_lock_acquire(&av->mutex);
	int_mallinfo(av, info);
	arena_lock_release(&av->mutex);
}

struct malloc_totals int_mallinfo_all(void)
{
	struct malloc_totals info;
	memset(&info, 0, sizeof info);
	ptmalloc_ensure_init();
	mstate av = &main_arena;
	do {
		measure_arena(av, &info);
		av = av->next;
	} while (av != &main_arena);
	return info;
}

#if HAVE_MALLINFO2
PTM_EXPORT PTM_COLD struct mallinfo2 mallinfo2(void)
{
	struct malloc_totals totals = int_mallinfo_all();
	struct mallinfo2 wide = {
	    .arena = totals.arena,
	    .ordblks = totals.ordblks,
	    .smblks = totals.smblks,
	    .hblks = totals.hblks,
	    .hblkhd = totals.hblkhd,
	    .usmblks = totals.usmblks,
	    .fsmblks = totals.fsmblks,
	    .uordblks = totals.uordblks,
	    .fordblks = totals.fordblks,
	    .keepcost = totals.keepcost,
	};
	return wide;
}
#endif

PTM_EXPORT PTM_COLD struct mallinfo mallinfo(void)
{
	struct malloc_totals wide = int_mallinfo_all();
	struct mallinfo narrow = {
	    .arena = (int)wide.arena,
	    .ordblks = (int)wide.ordblks,
	    .smblks = (int)wide.smblks,
	    .hblks = (int)wide.hblks,
	    .hblkhd = (int)wide.hblkhd,
	    .usmblks = (int)wide.usmblks,
	    .fsmblks = (int)wide.fsmblks,
	    .uordblks = (int)wide.uordblks,
	    .fordblks = (int)wide.fordblks,
	    .keepcost = (int)wide.keepcost,
	};
	return narrow;
}

PTM_EXPORT PTM_COLD void malloc_stats(void)
{
	ptmalloc_ensure_init();
	/* glibc's totals are unsigned int and wrap like them. */
	unsigned int in_use_total = (unsigned int)mp_.mmapped_mem;
	unsigned int system_total = in_use_total;
	/* The report must not be torn by cancellation half-way, nor interleaved with other
	   threads' stderr output. */
	int old_cancel_state;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old_cancel_state);
	flockfile(stderr);
	int arena_number = 0;
	mstate av = &main_arena;
	do {
		struct malloc_totals info;
		memset(&info, 0, sizeof info);
		measure_arena(av, &info);
		fprintf(stderr, "Arena %d:\n", arena_number++);
		fprintf(stderr, "system bytes     = %10u\n", (unsigned int)info.arena);
		fprintf(stderr, "in use bytes     = %10u\n", (unsigned int)info.uordblks);
		system_total += (unsigned int)info.arena;
		in_use_total += (unsigned int)info.uordblks;
		av = av->next;
	} while (av != &main_arena);
	fprintf(stderr, "Total (incl. mmap):\n");
	fprintf(stderr, "system bytes     = %10u\n", system_total);
	fprintf(stderr, "in use bytes     = %10u\n", in_use_total);
	fprintf(stderr, "max mmap regions = %10u\n", (unsigned int)mp_.max_n_mmaps);
	fprintf(stderr, "max mmap bytes   = %10lu\n", (unsigned long)mp_.max_mmapped_mem);
	funlockfile(stderr);
	pthread_setcancelstate(old_cancel_state, NULL);
}

/* ---- malloc_info ---- */

struct size_class {
	size_t from, to, total, count;
};

/* Slots 0..9 are the fastbins, slot 9 + i is bin i (slot 10 the unsorted bin). */
#define SIZE_CLASS_COUNT (NFASTBINS + NBINS - 1)
#define UNSORTED_SLOT NFASTBINS

struct arena_report {
	struct size_class sizes[SIZE_CLASS_COUNT];
	size_t blocks, fast_blocks, avail, fast_avail;
	size_t system_mem, max_system_mem;
	size_t heap_bytes, heap_mprotect_bytes, heap_count;
};

static void survey_fastbins(mstate av, struct arena_report *report)
{
	for (unsigned int i = 0; i < NFASTBINS; i++) {
		struct size_class *slot = &report->sizes[i];
		mchunkptr p = *fastbin(av, i);
		memset(slot, 0, sizeof *slot);
		if (p == NULL)
			continue;
		/* One size per fastbin is the invariant, so glibc measures the head and counts. */
		size_t this_size = chunk_size(p);
		size_t count = 0;
		for (; p != NULL;
		     p = next_fastbin_chunk(p, "__malloc_info(): unaligned fastbin chunk detected"))
			count++;
		report->fast_avail += count * this_size;
		report->fast_blocks += count;
		slot->from = this_size - MALLOC_ALIGN_MASK;
		slot->to = this_size;
		slot->count = count;
		slot->total = count * this_size;
	}
}

static void survey_bins(mstate av, struct arena_report *report)
{
	for (unsigned int i = 1; i < NBINS; i++) {
		struct size_class *slot = &report->sizes[NFASTBINS - 1 + i];
		mbinptr bin = bin_at(av, i);
		slot->from = SIZE_MAX;
		slot->to = slot->total = slot->count = 0;
		for (mchunkptr r = bin->fd; r != NULL && r != bin; r = r->fd) {
			size_t raw_size = chunk_size_raw(r);
			slot->count++;
			slot->total += raw_size;
			if (raw_size < slot->from)
				slot->from = raw_size;
			if (raw_size > slot->to)
				slot->to = raw_size;
		}
		if (slot->count == 0)
			slot->from = 0;
		report->blocks += slot->count;
		report->avail += slot->total;
	}
}

/* A thread arena's heaps hang from the one holding its top, newest first. */
static void survey_heaps(mstate av, struct arena_report *report)
{
	if (av == &main_arena)
		return;
	for (heap_info *heap = heap_for_ptr(av->top); heap != NULL; heap = heap->prev) {
		report->heap_bytes += heap->size;
		report->heap_mprotect_bytes += heap->mprotect_size;
		report->heap_count++;
	}
}

static void survey_arena(mstate av, struct arena_report *report)
{
	memset(report, 0, sizeof *report);
	arena_lock_acquire(&av->mutex);
	report->avail = chunk_size(av->top);
	report->blocks = 1;
	survey_fastbins(av, report);
	survey_bins(av, report);
	survey_heaps(av, report);
	report->system_mem = av->system_mem;
	report->max_system_mem = av->max_system_mem;
	arena_lock_release(&av->mutex);
}

struct report_totals {
	size_t blocks, fast_blocks, avail, fast_avail, system, max_system, aspace, aspace_mprotect;
};

static void write_arena(FILE *fp, mstate av, const struct arena_report *report, struct report_totals *totals)
{
	for (unsigned int i = 0; i < SIZE_CLASS_COUNT; i++) {
		const struct size_class *slot = &report->sizes[i];
		if (slot->count != 0 && i != UNSORTED_SLOT)
			fprintf(fp, "  <size from=\"%zu\" to=\"%zu\" total=\"%zu\" count=\"%zu\"/>\n",
			        slot->from, slot->to, slot->total, slot->count);
	}
	const struct size_class *unsorted = &report->sizes[UNSORTED_SLOT];
	if (unsorted->count != 0)
		fprintf(fp, "  <unsorted from=\"%zu\" to=\"%zu\" total=\"%zu\" count=\"%zu\"/>\n",
		        unsorted->from, unsorted->to, unsorted->total, unsorted->count);
	fprintf(fp,
	        "</sizes>\n<total type=\"fast\" count=\"%zu\" size=\"%zu\"/>\n"
	        "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n"
	        "<system type=\"current\" size=\"%zu\"/>\n"
	        "<system type=\"max\" size=\"%zu\"/>\n",
	        report->fast_blocks, report->fast_avail, report->blocks, report->avail, report->system_mem,
	        report->max_system_mem);
	/* The main arena grows by brk, so its address space is simply what it holds. */
	if (av != &main_arena) {
		fprintf(fp,
		        "<aspace type=\"total\" size=\"%zu\"/>\n"
		        "<aspace type=\"mprotect\" size=\"%zu\"/>\n"
		        "<aspace type=\"subheaps\" size=\"%zu\"/>\n",
		        report->heap_bytes, report->heap_mprotect_bytes, report->heap_count);
		totals->aspace += report->heap_bytes;
		totals->aspace_mprotect += report->heap_mprotect_bytes;
	} else {
		fprintf(fp,
		        "<aspace type=\"total\" size=\"%zu\"/>\n<aspace type=\"mprotect\" size=\"%zu\"/>\n",
		        report->system_mem, report->system_mem);
		totals->aspace += report->system_mem;
		totals->aspace_mprotect += report->system_mem;
	}
	fputs("</heap>\n", fp);
	totals->fast_blocks += report->fast_blocks;
	totals->fast_avail += report->fast_avail;
	totals->blocks += report->blocks;
	totals->avail += report->avail;
	totals->system += report->system_mem;
	totals->max_system += report->max_system_mem;
}

PTM_EXPORT PTM_COLD int malloc_info(int options, FILE *fp)
{
	if (options != 0)
		return EINVAL;
	ptmalloc_ensure_init();
	struct report_totals totals;
	memset(&totals, 0, sizeof totals);
	struct arena_report report;

	fputs("<malloc version=\"1\">\n", fp);
	int arena_number = 0;
	mstate av = &main_arena;
	do {
		fprintf(fp, "<heap nr=\"%d\">\n<sizes>\n", arena_number++);
		survey_arena(av, &report);
		write_arena(fp, av, &report, &totals);
		av = av->next;
	} while (av != &main_arena);

	fprintf(fp,
	        "<total type=\"fast\" count=\"%zu\" size=\"%zu\"/>\n"
	        "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n"
	        "<total type=\"mmap\" count=\"%d\" size=\"%zu\"/>\n"
	        "<system type=\"current\" size=\"%zu\"/>\n"
	        "<system type=\"max\" size=\"%zu\"/>\n"
	        "<aspace type=\"total\" size=\"%zu\"/>\n"
	        "<aspace type=\"mprotect\" size=\"%zu\"/>\n"
	        "</malloc>\n",
	        totals.fast_blocks, totals.fast_avail, totals.blocks, totals.avail, mp_.n_mmaps,
	        mp_.mmapped_mem, totals.system, totals.max_system, totals.aspace, totals.aspace_mprotect);
	return 0;
}
