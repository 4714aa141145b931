#ifndef TCPTOOLS_USERLAND_EXEC_H
#define TCPTOOLS_USERLAND_EXEC_H

#include <stdint.h>

/* Runs the ELF program stored in `fd` at page-aligned offset `off` with
 * `argv` and `envp`, mapping it in place (see userland_exec.c). Returns an
 * errno value if that is not possible; on success it does not return. */
int userland_exec(int fd, uint64_t off, char **argv, char **envp);

#endif
