/*
 * The hugetlb tunable (glibc 2.35+, version.h): what the kernel offers in transparent and explicit
 * huge pages, read with raw syscalls (no stdio, no malloc: this runs inside malloc's
 * initialisation), and the mp_ fields that record the choice.  Builds of releases without the
 * tunable compile nothing here.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>

#include "internal.h"
#include "syscalls.h"

#if HAVE_HUGEPAGES

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif

/* Small string helpers of our own: this code runs once, and libc's tuned versions live in pages
   that a program would otherwise not need. */
static bool starts_with(const char *text, const char *prefix)
{
	for (; *prefix != '\0'; prefix++, text++)
		if (*prefix != *text)
			return false;
	return true;
}

static ssize_t read_small_file(const char *path, char *buffer, size_t capacity)
{
	int fd = sys_open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t got = sys_read(fd, buffer, capacity);
	sys_close(fd);
	return got;
}

/* THP is only worth an madvise when the administrator chose the "madvise" policy. */
static bool thp_mode_is_madvise(void)
{
	static const char madvise_mode[] = "always [madvise] never\n";
	char text[sizeof madvise_mode + 1];
	ssize_t got =
	    read_small_file("/sys/kernel/mm/transparent_hugepage/enabled", text, sizeof madvise_mode);
	if (got != (ssize_t)sizeof madvise_mode - 1)
		return false;
	text[got] = '\0';
	return starts_with(text, madvise_mode);
}

/* Decimal digits up to the first newline, as glibc reads them (no validation beyond that). */
static size_t thp_default_pagesize(void)
{
	char text[24];
	ssize_t got =
	    read_small_file("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", text, sizeof text);
	size_t value = 0;
	for (ssize_t i = 0; i < got && text[i] != '\n'; i++)
		value = value * 10 + (size_t)(text[i] - '0');
	return value;
}

static const char *find_text(const char *haystack, const char *needle)
{
	for (; *haystack != '\0'; haystack++)
		if (starts_with(haystack, needle))
			return haystack;
	return NULL;
}

/* The "Hugepagesize:  2048 kB" line of /proc/meminfo, read in windows that restart at the last
   complete line so the tag is never cut in two. */
static size_t default_hugepage_size(void)
{
	int fd = sys_open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	char window[512];
	off_t offset = 0;
	size_t size = 0;
	for (;;) {
		ssize_t got = sys_pread(fd, window, sizeof window - 1, offset);
		if (got < 0)
			break;
		window[got] = '\0';
		const char *tag = find_text(window, "Hugepagesize:");
		if (tag == NULL) {
			const char *last_newline = window + got;
			while (last_newline > window && *last_newline != '\n')
				last_newline--;
			if (*last_newline != '\n')
				break;
			offset += last_newline + 1 - window;
			continue;
		}
		for (const char *c = tag + sizeof "Hugepagesize: " - 1; (*c >= '0' && *c <= '9') || *c == ' ';
		     c++)
			if (*c != ' ')
				size = size * 10 + (size_t)(*c - '0');
		size *= 1024;
		break;
	}
	sys_close(fd);
	return size;
}

static int mmap_flags_for_hugepage(size_t pagesize)
{
	return MAP_HUGETLB | (__builtin_ctzll(pagesize) << MAP_HUGE_SHIFT);
}

/* Is there a /sys/kernel/mm/hugepages/hugepages-<N>kB directory for exactly this size? */
static bool kernel_offers_hugepage_size(size_t requested)
{
	int dir = sys_open("/sys/kernel/mm/hugepages", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return false;
	static const char prefix[] = "hugepages-";
	char records[1024] __attribute__((aligned(8)));
	bool found = false;
	long got;
	while (!found && (got = sys_getdents64(dir, records, sizeof records)) > 0) {
		for (long at = 0; at < got;) {
			struct dirent64 *entry = (struct dirent64 *)(records + at);
			at += entry->d_reclen;
			if (!starts_with(entry->d_name, prefix))
				continue;
			size_t size = 0;
			for (const char *c = entry->d_name + sizeof prefix - 1; *c >= '0' && *c <= '9'; c++)
				size = size * 10 + (size_t)(*c - '0');
			if (size * 1024 == requested) {
				found = true;
				break;
			}
		}
	}
	sys_close(dir);
	return found;
}

/* 1 = transparent hugepages by madvise, 2 = MAP_HUGETLB with the default size, N = MAP_HUGETLB
   with an N-byte page the kernel lists.  glibc's setter returns 0 whatever happens. */
PTM_COLD int set_hugetlb(size_t value)
{
	if (value == 1) {
		if (thp_mode_is_madvise())
			mp_.thp_pagesize = thp_default_pagesize();
	} else if (value >= 2) {
		mp_.hp_pagesize = 0;
		mp_.hp_flags = 0;
		size_t pagesize =
		    value == 2 ? default_hugepage_size() : (kernel_offers_hugepage_size(value) ? value : 0);
		if (pagesize != 0) {
			mp_.hp_pagesize = pagesize;
			mp_.hp_flags = mmap_flags_for_hugepage(pagesize);
		}
	}
	return 0;
}

#endif
