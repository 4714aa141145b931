/*
 * Runs an ELF executable that lies inside another file, at a page-aligned
 * offset, without copying it: its segments are mapped straight from that
 * file (page cache, shared with every other run), its program interpreter
 * (ld-linux) is mapped from disk, a fresh stack with argv, envp and the
 * auxiliary vector is built, and control jumps to the interpreter, which
 * takes it from there as if the kernel had exec'd the program.
 *
 * This is what execve() does, done in user space because execve() can only
 * start a file from its first byte: the alternative, copying the 91 MB Deno
 * runtime into a memfd on every start, costs ~55 ms. The launcher falls back
 * to that copy when this returns.
 *
 * x86-64 only. Returns an errno value if it fails before the jump; on
 * success it does not return, and `fd` is closed.
 */
#define _GNU_SOURCE
#include "userland_exec.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096UL
#define PAGE_DOWN(x) ((x) & ~(PAGE - 1))
#define PAGE_UP(x) (((x) + PAGE - 1) & ~(PAGE - 1))
/* Reserved, not committed: pages are only backed when touched. */
#define STACK_SIZE (64UL << 20)
#define MAX_PHDRS 32

struct loaded {
	uintptr_t base;  /* load bias */
	uintptr_t entry; /* absolute entry point */
	uintptr_t phdr;  /* absolute address of the program headers */
	unsigned phnum;
};

static int prot_of(uint32_t flags)
{
	return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) |
	       (flags & PF_X ? PROT_EXEC : 0);
}

/* Maps the PT_LOAD segments of the ELF at `off` in `fd`; fills `out`. */
static int map_elf(int fd, uint64_t off, const Elf64_Ehdr *eh, const Elf64_Phdr *ph,
		   struct loaded *out)
{
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (PAGE_DOWN(ph[i].p_vaddr) < lo)
			lo = PAGE_DOWN(ph[i].p_vaddr);
		if (PAGE_UP(ph[i].p_vaddr + ph[i].p_memsz) > hi)
			hi = PAGE_UP(ph[i].p_vaddr + ph[i].p_memsz);
	}
	if (lo >= hi)
		return ENOEXEC;
	/* One reservation for the whole image keeps the segments' distances. */
	void *span = mmap(eh->e_type == ET_DYN ? NULL : (void *)lo, hi - lo, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | (eh->e_type == ET_DYN ? 0 : MAP_FIXED), -1, 0);
	if (span == MAP_FAILED)
		return errno;
	uintptr_t base = (uintptr_t)span - lo;

	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		if (p->p_type != PT_LOAD)
			continue;
		if ((p->p_vaddr - p->p_offset) % PAGE)
			return ENOEXEC; /* not mappable from the file */
		uintptr_t start = base + PAGE_DOWN(p->p_vaddr);
		uintptr_t file_end = base + p->p_vaddr + p->p_filesz;
		uintptr_t mem_end = base + p->p_vaddr + p->p_memsz;
		int prot = prot_of(p->p_flags);
		if (p->p_filesz) {
			size_t len = PAGE_UP(file_end) - start;
			if (mmap((void *)start, len, prot | (p->p_memsz > p->p_filesz ? PROT_WRITE : 0),
				 MAP_PRIVATE | MAP_FIXED, fd, (off_t)(off + PAGE_DOWN(p->p_offset))) ==
			    MAP_FAILED)
				return errno;
		}
		if (p->p_memsz > p->p_filesz) {
			/* .bss: zero the file page's tail, then anonymous zero pages. */
			if (p->p_filesz && PAGE_UP(file_end) > file_end)
				memset((void *)file_end, 0, PAGE_UP(file_end) - file_end);
			if (p->p_filesz)
				mprotect((void *)start, PAGE_UP(file_end) - start, prot);
			uintptr_t anon = p->p_filesz ? PAGE_UP(file_end) : start;
			if (mem_end > anon &&
			    mmap((void *)anon, PAGE_UP(mem_end) - anon, prot,
				 MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
				return errno;
		}
	}

	out->base = base;
	out->entry = base + eh->e_entry;
	out->phnum = eh->e_phnum;
	out->phdr = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_PHDR)
			out->phdr = base + ph[i].p_vaddr;
	if (!out->phdr) /* no PT_PHDR: the headers sit in the first segment */
		for (unsigned i = 0; i < eh->e_phnum; i++)
			if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0) {
				out->phdr = base + ph[i].p_vaddr + eh->e_phoff;
				break;
			}
	return out->phdr ? 0 : ENOEXEC;
}

static int read_headers(int fd, uint64_t off, Elf64_Ehdr *eh, Elf64_Phdr *ph)
{
	if (pread(fd, eh, sizeof *eh, (off_t)off) != sizeof *eh)
		return ENOEXEC;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_machine != EM_X86_64 || eh->e_phentsize != sizeof *ph ||
	    eh->e_phnum == 0 || eh->e_phnum > MAX_PHDRS)
		return ENOEXEC;
	size_t len = eh->e_phnum * sizeof *ph;
	if (pread(fd, ph, len, (off_t)(off + eh->e_phoff)) != (ssize_t)len)
		return ENOEXEC;
	return 0;
}

/* Jumps to `entry` with the stack pointer at `sp`, as the kernel does. */
__attribute__((noreturn)) static void jump(uintptr_t entry, uintptr_t sp)
{
	/* rdx = 0: no termination function for the program to register. */
	__asm__ volatile("mov %0, %%rsp\n\t"
			 "xor %%edx, %%edx\n\t"
			 "jmp *%1\n\t" ::"r"(sp),
			 "r"(entry)
			 : "memory", "rdx");
	__builtin_unreachable();
}

int userland_exec(int fd, uint64_t off, char **argv, char **envp)
{
	Elf64_Ehdr eh, ieh;
	Elf64_Phdr ph[MAX_PHDRS], iph[MAX_PHDRS];
	char interp_path[256] = "";
	struct loaded prog, interp;
	int err;

	if (off % PAGE)
		return EINVAL;
	if ((err = read_headers(fd, off, &eh, ph)) != 0)
		return err;
	for (unsigned i = 0; i < eh.e_phnum; i++)
		if (ph[i].p_type == PT_INTERP) {
			if (ph[i].p_filesz >= sizeof interp_path ||
			    pread(fd, interp_path, ph[i].p_filesz, (off_t)(off + ph[i].p_offset)) !=
				    (ssize_t)ph[i].p_filesz)
				return ENOEXEC;
			interp_path[ph[i].p_filesz] = '\0';
		}
	if (!interp_path[0])
		return ENOEXEC; /* a static runtime would need no interpreter; not handled */
	int ifd = open(interp_path, O_RDONLY | O_CLOEXEC);
	if (ifd < 0)
		return errno;
	err = read_headers(ifd, 0, &ieh, iph);
	if (!err)
		err = map_elf(ifd, 0, &ieh, iph, &interp);
	close(ifd);
	if (err)
		return err;
	if ((err = map_elf(fd, off, &eh, ph, &prog)) != 0)
		return err;

	/* The new stack: strings at the top, then auxv, envp, argv, argc. */
	char *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (stack == MAP_FAILED)
		return errno;
	char *top = stack + STACK_SIZE;
	size_t argc = 0, envc = 0;
	while (argv[argc])
		argc++;
	while (envp[envc])
		envc++;
	char *strings = top;
#define PUSH_STRING(s) (strings -= strlen(s) + 1, memcpy(strings, (s), strlen(s) + 1), strings)
	char *arg_copies[argc ? argc : 1];
	char *env_copies[envc ? envc : 1];
	for (size_t i = 0; i < argc; i++)
		arg_copies[i] = PUSH_STRING(argv[i]);
	for (size_t i = 0; i < envc; i++)
		env_copies[i] = PUSH_STRING(envp[i]);
	char *platform = PUSH_STRING("x86_64");
	const char *execfn_src = (const char *)getauxval(AT_EXECFN);
	char *execfn = PUSH_STRING(execfn_src ? execfn_src : argv[0]);
#undef PUSH_STRING
	strings -= 16;
	unsigned char *random = (unsigned char *)strings;
	const unsigned char *own_random = (const unsigned char *)getauxval(AT_RANDOM);
	if (own_random)
		memcpy(random, own_random, 16); /* fresh per exec: the kernel made it for us */
	else
		memset(random, 0x5a, 16);

	uintptr_t auxv[][2] = {
		{AT_SYSINFO_EHDR, getauxval(AT_SYSINFO_EHDR)},
		{AT_MINSIGSTKSZ, getauxval(AT_MINSIGSTKSZ)},
		{AT_HWCAP, getauxval(AT_HWCAP)},
		{AT_HWCAP2, getauxval(AT_HWCAP2)},
		{AT_PAGESZ, PAGE},
		{AT_CLKTCK, getauxval(AT_CLKTCK)},
		{AT_PHDR, prog.phdr},
		{AT_PHENT, sizeof(Elf64_Phdr)},
		{AT_PHNUM, prog.phnum},
		{AT_BASE, interp.base},
		{AT_FLAGS, 0},
		{AT_ENTRY, prog.entry},
		{AT_UID, getauxval(AT_UID)},
		{AT_EUID, getauxval(AT_EUID)},
		{AT_GID, getauxval(AT_GID)},
		{AT_EGID, getauxval(AT_EGID)},
		{AT_SECURE, getauxval(AT_SECURE)},
		{AT_RANDOM, (uintptr_t)random},
		{AT_EXECFN, (uintptr_t)execfn},
		{AT_PLATFORM, (uintptr_t)platform},
		{AT_NULL, 0},
	};
	size_t words = 1 + argc + 1 + envc + 1 + sizeof auxv / sizeof(uintptr_t);
	uintptr_t *sp = (uintptr_t *)(((uintptr_t)strings - words * sizeof(uintptr_t)) & ~15UL);
	size_t k = 0;
	sp[k++] = argc;
	for (size_t i = 0; i < argc; i++)
		sp[k++] = (uintptr_t)arg_copies[i];
	sp[k++] = 0;
	for (size_t i = 0; i < envc; i++)
		sp[k++] = (uintptr_t)env_copies[i];
	sp[k++] = 0;
	memcpy(&sp[k], auxv, sizeof auxv);

	close(fd); /* the mappings keep the file; the program must not inherit it */
	jump(interp.entry, (uintptr_t)sp);
}
