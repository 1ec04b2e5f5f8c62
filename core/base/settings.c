/* The settings table and the settings object: typed get/set by id and by
 * name, defaults, and conversion from text. */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cswarm/settings.h>

#include "settings_internal.h"

static const sw_setting_info settings_table[SW_SETTINGS_COUNT] = {
#define SW_ROW_STR_(ID, nm, def, cat, dc)                                                          \
    {.id = SW_SET_##ID,                                                                            \
     .name = #nm,                                                                                  \
     .type = SW_SETTING_STR,                                                                       \
     .category = SW_SETTINGS_CAT_##cat,                                                            \
     .str_default = def,                                                                           \
     .doc = dc},
#define SW_ROW_INT_(ID, nm, def, cat, dc)                                                          \
    {.id = SW_SET_##ID,                                                                            \
     .name = #nm,                                                                                  \
     .type = SW_SETTING_INT,                                                                       \
     .category = SW_SETTINGS_CAT_##cat,                                                            \
     .int_default = def,                                                                           \
     .doc = dc},
#define SW_ROW_BOOL_(ID, nm, def, cat, dc)                                                         \
    {.id = SW_SET_##ID,                                                                            \
     .name = #nm,                                                                                  \
     .type = SW_SETTING_BOOL,                                                                      \
     .category = SW_SETTINGS_CAT_##cat,                                                            \
     .bool_default = def,                                                                          \
     .doc = dc},
    SW_SETTINGS_MAP(SW_ROW_STR_, SW_ROW_INT_, SW_ROW_BOOL_)
#undef SW_ROW_STR_
#undef SW_ROW_INT_
#undef SW_ROW_BOOL_
};

/* A string setting holds NULL while it has never been set, meaning "the
 * default"; after a set it owns a heap copy. */
typedef union setting_value {
    int i;
    bool b;
    char *s;
} setting_value;

struct sw_settings {
    setting_value v[SW_SETTINGS_COUNT];
};

static bool valid_id(sw_setting_id id)
{
    return (int)id >= 0 && id < SW_SETTINGS_COUNT;
}

const sw_setting_info *sw_setting_info_get(sw_setting_id id)
{
    return valid_id(id) ? &settings_table[id] : NULL;
}

int sw_setting_find(const char *name, sw_setting_id *id_out)
{
    if (!name)
        return SW_ERR_UNKNOWN_SETTING;
    /* A linear scan: lookups by name come from the command line, Lua and
     * saved state, never from a hot path. */
    for (int i = 0; i < SW_SETTINGS_COUNT; i++) {
        if (strcmp(settings_table[i].name, name) == 0) {
            *id_out = (sw_setting_id)i;
            return 0;
        }
    }
    return SW_ERR_UNKNOWN_SETTING;
}

static void set_default(sw_settings *s, sw_setting_id id)
{
    const sw_setting_info *info = &settings_table[id];
    switch (info->type) {
    case SW_SETTING_STR:
        free(s->v[id].s);
        s->v[id].s = NULL;
        break;
    case SW_SETTING_INT:
        s->v[id].i = info->int_default;
        break;
    case SW_SETTING_BOOL:
        s->v[id].b = info->bool_default;
        break;
    }
}

int sw_settings_new(sw_settings **s_out)
{
    if (!s_out)
        return SW_ERR_INVALID_ARG;
    sw_settings *s = calloc(1, sizeof *s);
    if (!s)
        return SW_ERR_NOMEM;
    for (int i = 0; i < SW_SETTINGS_COUNT; i++)
        set_default(s, (sw_setting_id)i);
    *s_out = s;
    return 0;
}

void sw_settings_free(sw_settings *s)
{
    if (!s)
        return;
    for (int i = 0; i < SW_SETTINGS_COUNT; i++) {
        if (settings_table[i].type == SW_SETTING_STR)
            free(s->v[i].s);
    }
    free(s);
}

int sw_settings_copy(const sw_settings *s, sw_settings **copy_out)
{
    if (!s || !copy_out)
        return SW_ERR_INVALID_ARG;
    sw_settings *c = calloc(1, sizeof *c);
    if (!c)
        return SW_ERR_NOMEM;
    for (int i = 0; i < SW_SETTINGS_COUNT; i++) {
        if (settings_table[i].type != SW_SETTING_STR) {
            c->v[i] = s->v[i];
        } else if (s->v[i].s) {
            c->v[i].s = strdup(s->v[i].s);
            if (!c->v[i].s) {
                sw_settings_free(c);
                return SW_ERR_NOMEM;
            }
        }
    }
    *copy_out = c;
    return 0;
}

/* Validates the object, the id and the expected type. */
static int check(const sw_settings *s, sw_setting_id id, sw_setting_type type)
{
    if (!s)
        return SW_ERR_INVALID_ARG;
    if (!valid_id(id))
        return SW_ERR_UNKNOWN_SETTING;
    if (settings_table[id].type != type)
        return SW_ERR_SETTING_TYPE;
    return 0;
}

static const char *str_value(const sw_settings *s, sw_setting_id id)
{
    return s->v[id].s ? s->v[id].s : settings_table[id].str_default;
}

int sw_settings_get_int(const sw_settings *s, sw_setting_id id, int *value_out)
{
    int rc = check(s, id, SW_SETTING_INT);
    if (rc == 0)
        *value_out = s->v[id].i;
    return rc;
}

int sw_settings_get_bool(const sw_settings *s, sw_setting_id id, bool *value_out)
{
    int rc = check(s, id, SW_SETTING_BOOL);
    if (rc == 0)
        *value_out = s->v[id].b;
    return rc;
}

int sw_settings_get_str(const sw_settings *s, sw_setting_id id, const char **value_out)
{
    int rc = check(s, id, SW_SETTING_STR);
    if (rc == 0)
        *value_out = str_value(s, id);
    return rc;
}

int sw_settings_set_int(sw_settings *s, sw_setting_id id, int value)
{
    int rc = check(s, id, SW_SETTING_INT);
    if (rc == 0)
        s->v[id].i = value;
    return rc;
}

int sw_settings_set_bool(sw_settings *s, sw_setting_id id, bool value)
{
    int rc = check(s, id, SW_SETTING_BOOL);
    if (rc == 0)
        s->v[id].b = value;
    return rc;
}

int sw_settings_set_str(sw_settings *s, sw_setting_id id, const char *value)
{
    int rc = check(s, id, SW_SETTING_STR);
    if (rc != 0)
        return rc;
    if (!value)
        return SW_ERR_INVALID_ARG;
    char *copy = strdup(value);
    if (!copy)
        return SW_ERR_NOMEM;
    free(s->v[id].s);
    s->v[id].s = copy;
    return 0;
}

int sw_settings_get_int_by_name(const sw_settings *s, const char *name, int *value_out)
{
    sw_setting_id id;
    int rc = sw_setting_find(name, &id);
    return rc ? rc : sw_settings_get_int(s, id, value_out);
}

int sw_settings_get_bool_by_name(const sw_settings *s, const char *name, bool *value_out)
{
    sw_setting_id id;
    int rc = sw_setting_find(name, &id);
    return rc ? rc : sw_settings_get_bool(s, id, value_out);
}

int sw_settings_get_str_by_name(const sw_settings *s, const char *name, const char **value_out)
{
    sw_setting_id id;
    int rc = sw_setting_find(name, &id);
    return rc ? rc : sw_settings_get_str(s, id, value_out);
}

int sw_settings_set_int_by_name(sw_settings *s, const char *name, int value)
{
    sw_setting_id id;
    int rc = sw_setting_find(name, &id);
    return rc ? rc : sw_settings_set_int(s, id, value);
}

int sw_settings_set_bool_by_name(sw_settings *s, const char *name, bool value)
{
    sw_setting_id id;
    int rc = sw_setting_find(name, &id);
    return rc ? rc : sw_settings_set_bool(s, id, value);
}

int sw_settings_set_str_by_name(sw_settings *s, const char *name, const char *value)
{
    sw_setting_id id;
    int rc = sw_setting_find(name, &id);
    return rc ? rc : sw_settings_set_str(s, id, value);
}

bool sw_settings_is_default(const sw_settings *s, sw_setting_id id)
{
    if (!s || !valid_id(id))
        return false;
    const sw_setting_info *info = &settings_table[id];
    switch (info->type) {
    case SW_SETTING_STR:
        return strcmp(str_value(s, id), info->str_default) == 0;
    case SW_SETTING_INT:
        return s->v[id].i == info->int_default;
    case SW_SETTING_BOOL:
        return s->v[id].b == info->bool_default;
    }
    return false;
}

int sw_settings_reset(sw_settings *s, sw_setting_id id)
{
    if (!s)
        return SW_ERR_INVALID_ARG;
    if (!valid_id(id))
        return SW_ERR_UNKNOWN_SETTING;
    set_default(s, id);
    return 0;
}

/* Strict decimal: optional sign, at least one digit, nothing else (no
 * leading blanks, which strtol would skip). */
static bool parse_int(const char *text, int *out)
{
    const char *p = text;
    if (*p == '+' || *p == '-')
        p++;
    if (*p < '0' || *p > '9')
        return false;
    errno = 0;
    char *end;
    long v = strtol(text, &end, 10);
    if (errno == ERANGE || *end != '\0' || v < INT_MIN || v > INT_MAX)
        return false;
    *out = (int)v;
    return true;
}

static bool parse_bool(const char *text, bool *out)
{
    if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0) {
        *out = true;
        return true;
    }
    if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0) {
        *out = false;
        return true;
    }
    return false;
}

int sw_settings_set_text(sw_settings *s, const char *name, const char *value)
{
    if (!s || !value)
        return SW_ERR_INVALID_ARG;
    sw_setting_id id;
    int rc = sw_setting_find(name, &id);
    if (rc != 0)
        return rc;
    switch (settings_table[id].type) {
    case SW_SETTING_STR:
        return sw_settings_set_str(s, id, value);
    case SW_SETTING_INT: {
        int v;
        if (!parse_int(value, &v))
            return SW_ERR_SETTING_TYPE;
        return sw_settings_set_int(s, id, v);
    }
    case SW_SETTING_BOOL: {
        bool v;
        if (!parse_bool(value, &v))
            return SW_ERR_SETTING_TYPE;
        return sw_settings_set_bool(s, id, v);
    }
    }
    return SW_ERR_SETTING_TYPE;
}

int sw_settings_apply_assignment(sw_settings *s, const char *assignment)
{
    if (!s || !assignment)
        return SW_ERR_INVALID_ARG;
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return SW_ERR_INVALID_ARG;
    size_t name_len = (size_t)(eq - assignment);
    char *name = malloc(name_len + 1);
    if (!name)
        return SW_ERR_NOMEM;
    memcpy(name, assignment, name_len);
    name[name_len] = '\0';
    int rc = sw_settings_set_text(s, name, eq + 1);
    free(name);
    return rc;
}

/* ---- engine-side getters ---- */

int sw__settings_int(const sw_settings *s, sw_setting_id id)
{
    assert(check(s, id, SW_SETTING_INT) == 0);
    return check(s, id, SW_SETTING_INT) == 0 ? s->v[id].i : 0;
}

bool sw__settings_bool(const sw_settings *s, sw_setting_id id)
{
    assert(check(s, id, SW_SETTING_BOOL) == 0);
    return check(s, id, SW_SETTING_BOOL) == 0 ? s->v[id].b : false;
}

const char *sw__settings_str(const sw_settings *s, sw_setting_id id)
{
    assert(check(s, id, SW_SETTING_STR) == 0);
    return check(s, id, SW_SETTING_STR) == 0 ? str_value(s, id) : "";
}

bool sw__settings_same(const sw_settings *a, const sw_settings *b, sw_setting_id id)
{
    if (!a || !b || !valid_id(id))
        return false;
    switch (settings_table[id].type) {
    case SW_SETTING_STR:
        return strcmp(str_value(a, id), str_value(b, id)) == 0;
    case SW_SETTING_INT:
        return a->v[id].i == b->v[id].i;
    case SW_SETTING_BOOL:
        return a->v[id].b == b->v[id].b;
    }
    return false;
}

void sw__settings_swap(sw_settings *a, sw_settings *b)
{
    sw_settings tmp = *a;
    *a = *b;
    *b = tmp;
}
