/* The shared JSON reader (plugins/common/oj.c), compiled into this plugin. */
#include "../common/oj.c"
