/*
 * test_listeners — what the host keeps for the whole process (issue 13,
 * findings 9 and 14): listening sockets handed from one generation to the
 * next with their accept queue intact, an address another process listens
 * on refused, and data lock files held across generations and refused to
 * another process with its pid. A "generation" here is any distinct group
 * pointer; "another process" is a forked child.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "listeners.h"
#include "pathlock.h"
#include "testenv.h"
#include "tmpdir.h"

static int gen_a, gen_b, gen_c; /* their addresses are the groups */

static struct sockaddr_in loopback(unsigned port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static unsigned port_of_fd(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    return ntohs(a.sin_port);
}

static ino_t inode_of(int fd)
{
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    return st.st_ino;
}

static int get(const void *group, const char *name, unsigned port, int index, rk_err *err)
{
    struct sockaddr_in a = loopback(port);
    return listeners_get(group, name, (struct sockaddr *)&a, sizeof a, index, 16, err);
}

static int connect_to(unsigned port)
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback(port);
    ck_assert_int_ge(c, 0);
    if (connect(c, (struct sockaddr *)&a, sizeof a) != 0) {
        close(c);
        return -1;
    }
    return c;
}

/* The regression of finding 9: a connection queued (not yet accepted) on
 * the old generation's socket is accepted by the new generation after the
 * old one closed its fd and let go. */
START_TEST(reload_keeps_the_accept_queue)
{
    rk_err err = {{0}};
    int old_fd = get(&gen_a, "http", 0, 0, &err);
    ck_assert_msg(old_fd >= 0, "%s", err.msg);
    unsigned port = port_of_fd(old_fd);
    int client = connect_to(port);
    ck_assert_int_ge(client, 0);
    int new_fd = get(&gen_b, "http", 0, 0, &err); /* port 0 again: same instance */
    ck_assert_msg(new_fd >= 0, "%s", err.msg);
    ck_assert_uint_eq(port_of_fd(new_fd), port);
    ck_assert(inode_of(new_fd) == inode_of(old_fd));
    close(old_fd); /* the old daemon stops */
    listeners_release(&gen_a);
    int got = accept4(new_fd, NULL, NULL, 0);
    ck_assert_msg(got >= 0, "queued connection lost: %s", strerror(errno));
    ck_assert_int_eq(write(client, "x", 1), 1);
    char c = 0;
    ck_assert_int_eq(read(got, &c, 1), 1);
    close(got);
    close(client);
    close(new_fd);
    listeners_release(&gen_b);
    ck_assert_int_eq(connect_to(port), -1); /* nobody uses it: closed */
}
END_TEST

START_TEST(each_index_and_instance_has_its_own_socket)
{
    rk_err err = {{0}};
    int a0 = get(&gen_a, "http", 0, 0, &err);
    ck_assert_msg(a0 >= 0, "%s", err.msg);
    unsigned port = port_of_fd(a0);
    int a1 = get(&gen_a, "http", port, 1, &err); /* the other loops: pinned port */
    ck_assert_msg(a1 >= 0, "%s", err.msg);
    ck_assert(inode_of(a1) != inode_of(a0));
    int other = get(&gen_a, "admin", 0, 0, &err); /* another port-0 instance */
    ck_assert_msg(other >= 0, "%s", err.msg);
    ck_assert_uint_ne(port_of_fd(other), port);
    int b1 = get(&gen_b, "http", port, 1, &err);
    ck_assert_msg(b1 >= 0, "%s", err.msg);
    ck_assert(inode_of(b1) == inode_of(a1));
    int again = get(&gen_b, "http", port, 1, &err); /* a group never shares with itself */
    ck_assert_msg(again >= 0, "%s", err.msg);
    ck_assert(inode_of(again) != inode_of(b1));
    int fds[] = {a0, a1, other, b1, again};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) close(fds[i]);
    listeners_release(&gen_a);
    listeners_release(&gen_b);
}
END_TEST

/* Finding 14: another process listening with SO_REUSEPORT (as a second
 * ragkernel would) is found, and the one line names the address. */
START_TEST(address_of_another_process_refused)
{
    int foreign = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = loopback(0);
    ck_assert_int_eq(setsockopt(foreign, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
    ck_assert_int_eq(setsockopt(foreign, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one), 0);
    ck_assert_int_eq(bind(foreign, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(foreign, 4), 0);
    unsigned port = port_of_fd(foreign);
    rk_err err = {{0}};
    ck_assert_int_lt(get(&gen_c, "http", port, 0, &err), 0);
    char want[96];
    snprintf(want, sizeof want, "address 127.0.0.1:%u is in use by another process", port);
    ck_assert_str_eq(err.msg, want);
    close(foreign);
    int fd = get(&gen_c, "http", port, 0, &err); /* free again: ours now */
    ck_assert_msg(fd >= 0, "%s", err.msg);
    close(fd);
    listeners_release(&gen_c);
}
END_TEST

/* 0 when a fresh open of path can be flocked (by another process). */
static int child_can_lock(const char *path)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(path, O_RDWR | O_CREAT, 0640);
        _exit(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : 1);
    }
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 2;
}

START_TEST(data_lock_held_across_generations)
{
    char dir[256], path[320], lock[330];
    ph_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/sub/history.sqlite", dir);
    snprintf(lock, sizeof lock, "%s.lock", path);
    rk_err err = {{0}};
    ck_assert_int_eq(pathlock_acquire(&gen_a, path, &err), RK_OK);
    ck_assert_int_eq(pathlock_acquire(&gen_b, path, &err), RK_OK); /* a reload */
    ck_assert_int_eq(child_can_lock(lock), 1);
    pathlock_release(&gen_a);
    ck_assert_int_eq(child_can_lock(lock), 1); /* gen_b still holds it */
    pathlock_release(&gen_b);
    ck_assert_int_eq(child_can_lock(lock), 0);
    ck_assert_int_eq(pathlock_acquire(&gen_c, ":memory:", &err), RK_OK);
    pathlock_release(&gen_c);
}
END_TEST

START_TEST(data_lock_of_another_process_names_its_pid)
{
    char dir[256], root[320], lock[330];
    ph_tmpdir(dir, sizeof dir);
    snprintf(root, sizeof root, "%s/documents/", dir);
    snprintf(lock, sizeof lock, "%s/documents.lock", dir);
    int ready[2], stop[2];
    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(stop), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) { /* another ragkernel: holds the lock with its pid in it */
        rk_err e = {{0}};
        char c = pathlock_acquire(&gen_a, root, &e) == RK_OK ? 'y' : 'n';
        (void)!write(ready[1], &c, 1);
        (void)!read(stop[0], &c, 1);
        _exit(0);
    }
    char c = 0;
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    ck_assert_int_eq(c, 'y');
    rk_err err = {{0}};
    ck_assert_int_eq(pathlock_acquire(&gen_b, root, &err), RK_ERR_UNAVAILABLE);
    char want[400];
    snprintf(want, sizeof want, "%s is in use by another ragkernel (pid %ld)", root, (long)pid);
    ck_assert_str_eq(err.msg, want);
    ck_assert_int_eq(write(stop[1], "x", 1), 1);
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    memset(&err, 0, sizeof err); /* its process is gone: the stale file is taken over */
    ck_assert_int_eq(pathlock_acquire(&gen_b, root, &err), RK_OK);
    pathlock_release(&gen_b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("listeners");
    ph_add_tcase(s, "listeners", 30, NULL, NULL,
                 PH_TESTS(reload_keeps_the_accept_queue,
                          each_index_and_instance_has_its_own_socket,
                          address_of_another_process_refused));
    ph_add_tcase(s, "pathlock", 30, NULL, NULL,
                 PH_TESTS(data_lock_held_across_generations,
                          data_lock_of_another_process_names_its_pid));
    return ph_run_suite(s);
}
