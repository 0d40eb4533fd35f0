/*
 * host_1_0 — answers from the frozen 1.0 headers (see host_1_0.c). Plain
 * types only, so the test including it can use the current headers.
 */
#ifndef RK_TESTS_ABI_HOST_1_0_H
#define RK_TESTS_ABI_HOST_1_0_H

#include <stddef.h>

/* 1.0 sizeof of "rk_message", "rk_passage", "rk_chunk", "rk_http_header",
 * "rk_config_key", "rk_plugin", "rk_host"; 0 for another name. */
size_t abi10_sizeof(const char *type);
/* 1.0 offsetof of "type.field" for the few the test compares; -1 otherwise. */
size_t abi10_offsetof(const char *field);
/* 1 if a 1.0 host's loader would accept this rk_plugin descriptor. */
int abi10_admits(const void *descriptor);

#endif
