/*
 * The few system calls the allocator makes for itself, issued directly: futex waits and wakes,
 * reading small /proc and /sys files, the random tcache key.  glibc's malloc uses its internal
 * "nocancel" forms for these; going through libc's public wrappers instead would make them
 * cancellation points inside malloc, set errno (which free() must keep), and touch libc code and
 * data pages that a program using glibc's own malloc never maps.  Each returns the kernel's
 * result: a count, or -errno.
 */
#ifndef PTMALLOC_SYSCALLS_H
#define PTMALLOC_SYSCALLS_H

#include <fcntl.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <sys/types.h>

static inline long raw_syscall4(long number, long a, long b, long c, long d)
{
	long result;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall"
	                 : "=a"(result)
	                 : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10)
	                 : "rcx", "r11", "memory");
	return result;
}

static inline long raw_syscall3(long number, long a, long b, long c)
{
	return raw_syscall4(number, a, b, c, 0);
}

static inline int sys_open(const char *path, int flags)
{
	return (int)raw_syscall4(SYS_openat, AT_FDCWD, (long)path, flags, 0);
}

static inline ssize_t sys_read(int fd, void *buffer, size_t capacity)
{
	return raw_syscall3(SYS_read, fd, (long)buffer, (long)capacity);
}

static inline ssize_t sys_pread(int fd, void *buffer, size_t capacity, off_t offset)
{
	return raw_syscall4(SYS_pread64, fd, (long)buffer, (long)capacity, offset);
}

static inline void sys_close(int fd) { raw_syscall3(SYS_close, fd, 0, 0); }

static inline long sys_getdents64(int fd, void *records, size_t capacity)
{
	return raw_syscall3(SYS_getdents64, fd, (long)records, (long)capacity);
}

static inline ssize_t sys_getrandom(void *buffer, size_t length, unsigned int flags)
{
	return raw_syscall3(SYS_getrandom, (long)buffer, (long)length, flags);
}

static inline void sys_futex(int *word, int operation, int value)
{
	raw_syscall4(SYS_futex, (long)word, operation, value, 0);
}

#endif
