/*
 * confdoc — owns the rendering of the configuration reference from the
 * schema tables (conf_schema.c for server: and pipeline:, auth.c for auth:,
 * each plugin's rk_config_key table). The same tables validate a config,
 * so the README's reference (docs/config.md), the plugin reference
 * (docs/plugins.md) and the man page ragkernel.yaml(5) cannot document a
 * key the parser does not know or miss one it accepts. Two formats only:
 * Markdown tables, and man(7) tagged paragraphs (no tbl, so `man -l` and
 * lintian need no preprocessor).
 */
#include "confdoc.h"

#include <ctype.h>
#include <string.h>

#include "auth.h"
#include "conf.h"

int confdoc_parse_fmt(const char *s, confdoc_fmt *out)
{
    if (s && strcmp(s, "md") == 0) *out = CONFDOC_MD;
    else if (s && strcmp(s, "man") == 0) *out = CONFDOC_MAN;
    else return -1;
    return 0;
}

const char *confdoc_type_name(rk_cfg_type t)
{
    static const char *names[] = {"?", "string", "int", "double", "bool",
                                  "duration", "size", "list", "map"};
    return (unsigned)t < sizeof names / sizeof *names ? names[t] : "?";
}

/* Text as the format reads it literally: troff's escape character, a
 * control character at the start of a line and '-' (a hyphen in troff,
 * a minus in option names) for man; '|' inside a table cell for Markdown. */
static void text(FILE *f, confdoc_fmt fmt, const char *s)
{
    if (!s) return;
    if (fmt == CONFDOC_MAN && (*s == '.' || *s == '\'')) fputs("\\&", f);
    for (; *s; s++) {
        if (fmt == CONFDOC_MD && *s == '|') fputs("\\|", f);
        else if (fmt == CONFDOC_MAN && *s == '\\') fputs("\\e", f);
        else if (fmt == CONFDOC_MAN && *s == '-') fputs("\\-", f);
        else if (fmt == CONFDOC_MAN && *s == '\n') fputs("\n.br\n", f);
        else fputc(*s, f);
    }
}

static void heading(FILE *f, confdoc_fmt fmt, const char *md_level, const char *title,
                    const char *kind)
{
    if (fmt == CONFDOC_MD) fprintf(f, "\n%s %s", md_level, title);
    else {
        fputs(".SS \"", f);
        text(f, fmt, title);
    }
    if (kind) fprintf(f, " (%s)", kind);
    fputs(fmt == CONFDOC_MD ? "\n\n" : "\"\n", f);
}

static void para(FILE *f, confdoc_fmt fmt, const char *s)
{
    if (fmt == CONFDOC_MAN) fputs(".PP\n", f);
    text(f, fmt, s);
    fputs(fmt == CONFDOC_MD ? "\n\n" : "\n", f);
}

static void key_md(FILE *f, const rk_config_key *k)
{
    fprintf(f, "| `%s` | %s | ", k->name, confdoc_type_name(k->type));
    if (k->required) fputs("**required**", f);
    else text(f, CONFDOC_MD, k->default_value);
    fputs(" | ", f);
    text(f, CONFDOC_MD, k->description);
    fputs(" |\n", f);
}

/* .TP, then "key (type; default: value)" as the tag, the description as
 * the paragraph. */
static void key_man(FILE *f, const rk_config_key *k)
{
    fputs(".TP\n\\fB", f);
    text(f, CONFDOC_MAN, k->name);
    fprintf(f, "\\fR (%s", confdoc_type_name(k->type));
    if (k->required) fputs("; \\fIrequired\\fR", f);
    else if (k->default_value && k->default_value[0]) {
        fputs("; default: \\fB", f);
        text(f, CONFDOC_MAN, k->default_value);
        fputs("\\fR", f);
    }
    fputs(")\n", f);
    text(f, CONFDOC_MAN, k->description ? k->description : "");
    fputs("\n", f);
}

static void keys(FILE *f, confdoc_fmt fmt, const rk_config_key *k)
{
    if (fmt == CONFDOC_MD) fputs("| key | type | default | |\n|---|---|---|---|\n", f);
    for (; k && k->name; k++) {
        if (fmt == CONFDOC_MD) key_md(f, k);
        else key_man(f, k);
    }
}

void confdoc_core(FILE *f, confdoc_fmt fmt)
{
    static const struct {
        const char *title, *intro;
    } s[] = {
        {"server", "How the process runs: plugins, logging, threads, shutdown."},
        {"pipeline", "What answers a chat: the instances of each stage (by name, from "
                     "instances:), deadlines, limits, history and ingestion."},
        {"auth", "API keys and shared rate limits; without keys every request is "
                 "allowed (loopback listeners only)."},
        {"auth.keys.NAME", "One API key. Exactly one of key and key_sha256."},
    };
    const rk_config_key *tables[] = {conf_server_schema, conf_pipeline_schema, auth_schema(),
                                     auth_key_schema()};
    for (size_t i = 0; i < sizeof s / sizeof *s; i++) {
        heading(f, fmt, "##", s[i].title, NULL);
        para(f, fmt, s[i].intro);
        keys(f, fmt, tables[i]);
    }
}

void confdoc_part(FILE *f, confdoc_fmt fmt, const char *title, const char *intro)
{
    if (fmt == CONFDOC_MD) fprintf(f, "\n## %s\n\n", title);
    else {
        fputs(".SH \"", f);
        for (const char *p = title; *p; p++) fputc(toupper((unsigned char)*p), f);
        fputs("\"\n", f);
    }
    para(f, fmt, intro);
}

void confdoc_plugin(FILE *f, confdoc_fmt fmt, const char *name, const char *kind,
                    const char *description, const rk_config_key *k)
{
    heading(f, fmt, "###", name, kind);
    para(f, fmt, description ? description : "");
    if (k && k->name) keys(f, fmt, k);
    else fputs(fmt == CONFDOC_MD ? "No configuration keys.\n" : ".PP\nNo configuration keys.\n", f);
}
