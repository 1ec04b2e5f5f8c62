/* The settings reference (docs/settings.md), written from the settings table
 * so that the documentation cannot drift from the code. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cswarm/settings.h>

/* A growing NUL-terminated string; errors are sticky. */
typedef struct md_buf {
    char *data;
    size_t len, cap;
    int err;
} md_buf;

static void md_reserve(md_buf *b, size_t extra)
{
    if (b->err || b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->err = SW_ERR_NOMEM;
        return;
    }
    b->data = p;
    b->cap = cap;
}

static void md_put(md_buf *b, const char *s, size_t n)
{
    md_reserve(b, n);
    if (b->err)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void md_puts(md_buf *b, const char *s)
{
    md_put(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void md_printf(md_buf *b, const char *fmt, ...)
{
    char small[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->err = SW_ERR_INVALID_ARG;
        return;
    }
    if ((size_t)n < sizeof small) {
        md_put(b, small, (size_t)n);
        return;
    }
    md_reserve(b, (size_t)n);
    if (b->err)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* A table cell: '|' would end the cell, even inside a code span. */
static void md_cell(md_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            md_puts(b, "\\|");
        else
            md_put(b, s, 1);
    }
}

/* One section per category, in this order. */
static const struct {
    uint32_t bit;
    const char *macro;
    const char *title;
    const char *save_flag; /* libtorrent's save_state flag with the same bit */
} sections[] = {
    {SW_SETTINGS_CAT_SESSION, "SW_SETTINGS_CAT_SESSION", "Session", "save_settings"},
    {SW_SETTINGS_CAT_DHT, "SW_SETTINGS_CAT_DHT", "DHT", "save_dht_settings"},
    {SW_SETTINGS_CAT_PROXY, "SW_SETTINGS_CAT_PROXY", "Proxy", "save_proxy"},
    {SW_SETTINGS_CAT_ENCRYPTION, "SW_SETTINGS_CAT_ENCRYPTION", "Encryption",
     "save_encryption_settings"},
};

static void md_row(md_buf *b, const sw_setting_info *info)
{
    md_puts(b, "| `");
    md_cell(b, info->name);
    md_puts(b, "` | ");
    switch (info->type) {
    case SW_SETTING_STR:
        md_puts(b, "string | `\"");
        md_cell(b, info->str_default);
        md_puts(b, "\"`");
        break;
    case SW_SETTING_INT:
        md_printf(b, "int | `%d`", info->int_default);
        break;
    case SW_SETTING_BOOL:
        md_printf(b, "bool | `%s`", info->bool_default ? "true" : "false");
        break;
    }
    md_puts(b, " | ");
    md_cell(b, info->doc);
    md_puts(b, " |\n");
}

int sw_settings_markdown(char **md_out, size_t *len_out)
{
    if (!md_out)
        return SW_ERR_INVALID_ARG;
    md_buf b = {NULL, 0, 0, 0};
    md_puts(&b, "# cswarm settings\n"
                "\n"
                "<!-- Generated from SW_SETTINGS_MAP in sdk/include/cswarm/settings.h by\n"
                "     sw_settings_markdown(); do not edit by hand. The unit test\n"
                "     tests/unit/test_settings.c fails when this file is out of date;\n"
                "     run it with SW_REGEN_DOCS=1 to rewrite it. -->\n"
                "\n"
                "Every setting has a name, a type and a default. Set them with\n"
                "`cswarm download ... --set NAME=VALUE`, from Lua, or from C with\n"
                "`sw_settings_set_int(s, SW_SET_ACTIVE_DOWNLOADS, 3)` and its siblings\n"
                "(by id or by name). On the command line, ints are decimal and bools are\n"
                "`true`, `false`, `1` or `0`.\n"
                "\n"
                "Names, units and defaults follow libtorrent 2.0's `settings_pack` unless\n"
                "a description says otherwise (\"cswarm default\", \"cswarm only\"). Times\n"
                "are in seconds and rates in bytes per second unless stated.\n"
                "\n"
                "A session's saved state keeps the settings that differ from their\n"
                "defaults; the categories below are selected by the same flags as\n"
                "libtorrent's `session::save_state`.\n");
    for (size_t c = 0; c < sizeof sections / sizeof sections[0]; c++) {
        md_printf(&b, "\n## %s\n\nCategory `%s`, saved with `%s`.\n\n", sections[c].title,
                  sections[c].macro, sections[c].save_flag);
        md_puts(&b, "| name | type | default | description |\n"
                    "| --- | --- | --- | --- |\n");
        for (int i = 0; i < SW_SETTINGS_COUNT; i++) {
            const sw_setting_info *info = sw_setting_info_get((sw_setting_id)i);
            /* Each setting appears once, under the first of its categories. */
            uint32_t first = info->category & (~info->category + 1u);
            if (first == sections[c].bit)
                md_row(&b, info);
        }
    }
    if (b.err) {
        free(b.data);
        return b.err;
    }
    *md_out = b.data;
    if (len_out)
        *len_out = b.len;
    return 0;
}
