#!/usr/bin/env python3
"""Regression inputs too big to commit, written into OUTDIR/<target>/.

Each pins a finding of issue 13 that made a parser superlinear: replayed by
`make fuzz-replay` under FUZZ_REPLAY_TIMEOUT (10 s), they take tens of
seconds on the quadratic code and milliseconds on linear code. The first
byte of each is the harness's mode byte (see the harness).
"""
import os
import sys

N = 150_000


# chat mode byte: '0' chat.completions within the default limits, '2' the
# same without limits (the walk itself must be linear)
def chat_parts(mode='2'):
    # 150,000 content parts in one message (http_chat_parse.c join_parts +
    # oj_at: each part looked up from the start of the array)
    part = '{"type":"text","text":"a"}'
    return mode + '{"messages":[{"role":"user","content":[' + ','.join([part] * N) + ']}]}'


def chat_messages(mode='2'):
    # 150,000 messages: the same walk over the messages array
    msg = '{"role":"user","content":"a"}'
    return mode + '{"messages":[' + ','.join([msg] * N) + ']}'


def md_brackets():
    # 150 KB of '[' (core/extract.c md_link/md_match: each '[' scanned to
    # the end for its ']')
    return '1' + '[' * N


def md_brackets_parens():
    # "[a](" repeated: link texts that close, targets that never do (the
    # '(' side of md_match)
    return '1' + '[a](' * (N // 4)


def md_images():
    # "![" repeated: image links, the same scan from the '!'
    return '1' + '![' * (N // 2)


def md_refs():
    # "[a][" repeated: reference links whose label never closes
    return '1' + '[a][' * (N // 4)


def md_nested_parens():
    # "[a]((" repeated: targets that open more parentheses than they close
    return '1' + '[a]((' * (N // 5)


INPUTS = {
    'chat': {
        'gen-150k-parts.json': chat_parts,
        'gen-150k-messages.json': chat_messages,
        'gen-150k-parts-limited.json': lambda: chat_parts('0'),
        'gen-150k-messages-limited.json': lambda: chat_messages('0'),
    },
    'extract': {
        'gen-150k-brackets.md': md_brackets,
        'gen-open-links.md': md_brackets_parens,
        'gen-images.md': md_images,
        'gen-ref-links.md': md_refs,
        'gen-nested-parens.md': md_nested_parens,
    },
}


def main():
    out = sys.argv[1]
    for target, files in INPUTS.items():
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        for name, fn in files.items():
            with open(os.path.join(d, name), 'w', encoding='ascii') as f:
                f.write(fn())


if __name__ == '__main__':
    main()
