/*
 * fstat() for glibc before 2.33, which does not export it (there, fstat was a
 * static wrapper in libc_nonshared.a around __fxstat). Debian 12's libelf
 * imports fstat@GLIBC_2.33, so without this it cannot load on Debian 11,
 * Ubuntu 20.04 or RHEL 8. scripts/glibc_compat.ts makes libelf's reference
 * unversioned and points libelf's DT_NEEDED for zlib at this library, which
 * needs the real libz.so.1 in turn: on glibc 2.33+ libc's fstat is found
 * first (the global scope comes first), on older ones this one.
 *
 * On x86-64 the kernel's struct stat is glibc's, so the system call fills it
 * as glibc would.
 */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int fstat(int fd, struct stat *buf)
{
	return (int)syscall(SYS_fstat, fd, buf);
}
