/*
 * replay_main — a stand-in for libFuzzer's driver when clang is missing:
 * runs LLVMFuzzerTestOneInput once on each file named on the command line
 * (libFuzzer's own flags, "-name=value", are accepted and ignored except
 * -timeout, which arms an alarm per input), so `make fuzz-replay` can
 * replay the corpora with a gcc ASan/UBSan build.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *current;

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "replay: timeout on ";
    if (write(2, msg, sizeof msg - 1) < 0 || write(2, current, strlen(current)) < 0 ||
        write(2, "\n", 1) < 0)
        _exit(70);
    _exit(70);
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0, got;
    do {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            unsigned char *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
    } while (got);
    fclose(f);
    *n = len;
    return buf;
}

int main(int argc, char **argv)
{
    unsigned timeout = 0;
    signal(SIGALRM, on_alarm);
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') {
            if (!strncmp(argv[i], "-timeout=", 9))
                timeout = (unsigned)strtoul(argv[i] + 9, NULL, 10);
            continue;
        }
        size_t n = 0;
        unsigned char *data = slurp(argv[i], &n);
        if (!data) {
            fprintf(stderr, "replay: cannot read %s\n", argv[i]);
            return 1;
        }
        current = argv[i];
        alarm(timeout);
        LLVMFuzzerTestOneInput(data, n);
        alarm(0);
        free(data);
    }
    return 0;
}
