/*
 * unit_seccomp — runs a command under the two seccomp filters the packaged
 * ragkernel.service asks systemd (252) for, so tests/integration/
 * test_deb.sh can serve, upload, answer and hot-upgrade a plugin under
 * them without systemd as PID 1:
 *   - MemoryDenyWriteExecute=yes (systemd's seccomp-util.c,
 *     seccomp_memory_deny_write_execute): mmap with PROT_WRITE and
 *     PROT_EXEC both, mprotect/pkey_mprotect with PROT_EXEC, shmat with
 *     SHM_EXEC fail with EPERM. The hot upgrade of a plugin
 *     (core/plugin/loader_image.c) dlopens a memfd copy under it;
 *   - SystemCallFilter=@system-service with SystemCallErrorNumber=EPERM
 *     and SystemCallArchitectures=native: only the system calls numbered
 *     in --allow (the test expands the group with systemd-analyze); any
 *     other fails with EPERM, as in the unit.
 *   unit_seccomp [--allow NR,NR,...] COMMAND [ARG...]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_INSNS 4096

static struct sock_filter prog[MAX_INSNS];
static unsigned short n;

static void emit(struct sock_filter insn)
{
    if (n == MAX_INSNS) {
        fprintf(stderr, "unit_seccomp: filter too long\n");
        exit(2);
    }
    prog[n++] = insn;
}

/* BPF_STMT and BPF_JUMP are initializers: made values for emit() */
#define STMT(c, k) ((struct sock_filter)BPF_STMT((c), (k)))
#define LD_ABS(off) STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define LD_NR LD_ABS(offsetof(struct seccomp_data, nr))
#define LD_ARG2 LD_ABS(offsetof(struct seccomp_data, args[2]))
#define JEQ(k, t, f) ((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f)))
#define JSET(k, t, f) ((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, (k), (t), (f)))
#define DENY STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)
#define ALLOW STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

/* Each block starts by loading the number and falls through to the next
 * unless it denies. */
static void mdwe(void)
{
    emit(LD_NR);
    emit(JEQ(__NR_mmap, 0, 4));
    emit(LD_ARG2);
    emit(STMT(BPF_ALU | BPF_AND | BPF_K, PROT_WRITE | PROT_EXEC));
    emit(JEQ(PROT_WRITE | PROT_EXEC, 0, 1));
    emit(DENY);
    emit(LD_NR);
    emit(JEQ(__NR_mprotect, 1, 0));
    emit(JEQ(__NR_pkey_mprotect, 0, 3));
    emit(LD_ARG2);
    emit(JSET(PROT_EXEC, 0, 1));
    emit(DENY);
    emit(LD_NR);
    emit(JEQ(__NR_shmat, 0, 3));
    emit(LD_ARG2);
    emit(JSET(SHM_EXEC, 0, 1));
    emit(DENY);
}

/* "0,1,2,..." -> an ALLOW per number, EPERM for the rest. */
static int allow_list(const char *list)
{
    emit(LD_NR);
    for (const char *p = list; *p;) {
        char *end;
        errno = 0;
        unsigned long nr = strtoul(p, &end, 10);
        if (errno || end == p || (*end && *end != ',') || nr > 1023) {
            fprintf(stderr, "unit_seccomp: --allow: bad system call number at '%s'\n", p);
            return -1;
        }
        emit(JEQ((unsigned)nr, 0, 1));
        emit(ALLOW);
        p = *end ? end + 1 : end;
    }
    emit(DENY);
    return 0;
}

int main(int argc, char **argv)
{
    int i = 1;
    const char *allow = NULL;
    if (argc > 2 && strcmp(argv[1], "--allow") == 0) {
        allow = argv[2];
        i = 3;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: unit_seccomp [--allow NR,NR,...] COMMAND [ARG...]\n");
        return 2;
    }
    emit(LD_ABS(offsetof(struct seccomp_data, arch)));
    emit(JEQ(AUDIT_ARCH_X86_64, 1, 0));
    emit(DENY); /* SystemCallArchitectures=native */
    mdwe();
    if (allow) {
        if (allow_list(allow) != 0) return 2;
    } else {
        emit(ALLOW);
    }
    struct sock_fprog fp = {.len = n, .filter = prog};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) != 0) {
        fprintf(stderr, "unit_seccomp: cannot install the filter: %s\n", strerror(errno));
        return 1;
    }
    execvp(argv[i], argv + i);
    fprintf(stderr, "unit_seccomp: %s: %s\n", argv[i], strerror(errno));
    return 127;
}
