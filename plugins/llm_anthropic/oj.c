/* The shared JSON reader (common/oj.c), compiled into this plugin. */
#include "../../common/oj.c"
