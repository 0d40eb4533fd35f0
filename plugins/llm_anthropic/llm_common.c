/* One source, two .so files: the shared LLM client code is compiled into
 * this plugin too, so no symbols are shared between plugins at run time. */
#include "../llm_openai/llm_common.c"
