#include "../retriever_sqlite/textproc.c" /* the same tokenizer and language guess as retriever_sqlite */
