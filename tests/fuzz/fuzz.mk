# Fuzzing (tests/fuzz/): one libFuzzer harness per parser of untrusted
# bytes, each built from the parser's own sources (no .so, no core binary)
# with ASan and UBSan. Included by the top Makefile.
#
#   make fuzz                 run every harness FUZZ_SECONDS (60) each, 2 at
#                             a time; new crashes/timeouts land in
#                             $(BUILD)/fuzz/findings/<target>/
#   make fuzz-replay          replay tests/fuzz/corpus/ (and the generated
#                             regression inputs) once under ASan/UBSan;
#                             part of make check
#
# Without clang the replay still runs: the harnesses are linked with a
# plain driver (replay_main.c) by $(CC) with -fsanitize=address,undefined.

FUZZ_TARGETS := oj chat multipart range httpmsg sse_openai sse_anthropic cfg \
                extract tokenize s3xml
FUZZ_SECONDS ?= 60
FUZZ_JOBS    ?= 2
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)

FUZZ_SRCS_oj            := common/oj.c
FUZZ_SRCS_chat          := plugins/transport_http/http_chat_parse.c \
                           plugins/transport_http/http_buf.c common/oj.c
FUZZ_SRCS_multipart     := plugins/transport_http/http_multipart.c
FUZZ_SRCS_range         := plugins/transport_http/http_range.c
FUZZ_SRCS_httpmsg       := core/net/httpmsg.c core/net/httprd.c
FUZZ_SRCS_sse_openai    := plugins/llm_openai/openai_stream.c plugins/lib/llm/llm_sse.c \
                           plugins/lib/llm/llm_common.c common/oj.c
FUZZ_SRCS_sse_anthropic := plugins/lib/llm/llm_sse.c plugins/lib/llm/llm_common.c common/oj.c
FUZZ_SRCS_cfg           := core/config/cfg.c core/config/cfg_diag.c core/config/cfg_values.c \
                           core/config/cfg_env.c \
                           common/strbuf.c common/oj.c
FUZZ_SRCS_extract       := plugins/extract_text/extract.c plugins/extract_text/extract_html.c \
                           plugins/extract_text/extract_md.c common/textnorm.c common/strbuf.c \
                           common/oj.c
FUZZ_SRCS_tokenize      := plugins/retriever_sqlite/analyze.c plugins/lib/text/tp_token.c plugins/lib/text/tp_lang.c \
                           plugins/lib/text/tp_stem.c
FUZZ_SRCS_s3xml         := plugins/storage_s3/s3_xml.c plugins/storage_s3/s3_buf.c

FUZZ_INC_chat      := -Iplugins/transport_http
FUZZ_INC_multipart := -Iplugins/transport_http
FUZZ_INC_range     := -Iplugins/transport_http
FUZZ_INC_sse_openai := -Iplugins/llm_openai -Iplugins/lib/llm
FUZZ_INC_sse_anthropic := -Iplugins/lib/llm
FUZZ_INC_tokenize  := -Iplugins/retriever_sqlite -Iplugins/lib/text
FUZZ_INC_s3xml     := -Iplugins/storage_s3
FUZZ_INC_extract   := -Iplugins/extract_text
FUZZ_LIBS_cfg           := $(shell pkg-config --libs yaml-0.1 2>/dev/null)
FUZZ_LIBS_sse_openai    := $(shell pkg-config --libs jansson 2>/dev/null)
FUZZ_LIBS_sse_anthropic := $(FUZZ_LIBS_sse_openai)
FUZZ_LIBS_tokenize      := -lstemmer

FUZZ_CLANG := $(shell command -v clang 2>/dev/null)
ifneq ($(FUZZ_CLANG),)
FUZZ_CC    := clang
FUZZ_SAN   := -fsanitize=fuzzer,address,undefined
FUZZ_MAIN  :=
else
FUZZ_CC    := $(CC)
FUZZ_SAN   := -fsanitize=address,undefined
FUZZ_MAIN  := tests/fuzz/replay_main.c
endif
FUZZ_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -O1 -g \
               -fno-omit-frame-pointer -fno-sanitize-recover=undefined $(FUZZ_SAN) \
               -Isdk/include $(CORE_DIRS:%=-I%) -Icommon -Itests/fuzz \
               $(shell pkg-config --cflags jansson yaml-0.1 2>/dev/null)

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_MAIN)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_INC_$*) -MMD -MP -MF $@.d -o $@ $< \
	  $(FUZZ_SRCS_$*) $(FUZZ_MAIN) $(FUZZ_LIBS_$*) -lm

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@if [ -z "$(FUZZ_CLANG)" ]; then echo "fuzz: needs clang (libFuzzer): make deps" >&2; exit 1; fi
	@BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) \
	  tests/fuzz/run.sh fuzz $(FUZZ_TARGETS)

fuzz-replay: fuzz-build
	@BUILD=$(BUILD) tests/fuzz/run.sh replay $(FUZZ_TARGETS)
