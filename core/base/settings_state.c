/* Saving settings to bencode and loading them back (session save_state /
 * load_state). Loaded data is untrusted: every value is checked against its
 * setting's type before anything is changed. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cswarm/settings.h>

#include "settings_internal.h"

static bool selected(const sw_setting_info *info, uint32_t categories)
{
    return (info->category & categories) != 0;
}

int sw_settings_save(const sw_settings *s, uint32_t categories, unsigned flags, sw_bencoder *enc)
{
    if (!s || !enc)
        return SW_ERR_INVALID_ARG;
    int rc = sw_benc_dict_begin(enc);
    for (int i = 0; rc == 0 && i < SW_SETTINGS_COUNT; i++) {
        sw_setting_id id = (sw_setting_id)i;
        const sw_setting_info *info = sw_setting_info_get(id);
        if (!selected(info, categories))
            continue;
        if (!(flags & SW_SETTINGS_SAVE_ALL) && sw_settings_is_default(s, id))
            continue;
        rc = sw_benc_ckey(enc, info->name);
        if (rc != 0)
            break;
        switch (info->type) {
        case SW_SETTING_STR:
            rc = sw_benc_cstr(enc, sw__settings_str(s, id));
            break;
        case SW_SETTING_INT:
            rc = sw_benc_int(enc, sw__settings_int(s, id));
            break;
        case SW_SETTING_BOOL:
            rc = sw_benc_int(enc, sw__settings_bool(s, id) ? 1 : 0);
            break;
        }
    }
    if (rc == 0)
        rc = sw_benc_end(enc);
    return rc;
}

int sw_settings_save_buf(const sw_settings *s, uint32_t categories, unsigned flags,
                         uint8_t **buf_out, size_t *len_out)
{
    if (!buf_out || !len_out)
        return SW_ERR_INVALID_ARG;
    sw_bencoder *enc;
    int rc = sw_benc_new(&enc);
    if (rc != 0)
        return rc;
    rc = sw_settings_save(s, categories, flags, enc);
    if (rc == 0)
        rc = sw_benc_finish(enc, buf_out, len_out);
    sw_benc_free(enc);
    return rc;
}

static void set_detail(sw_error_detail *err, int code, sw_bnode at, const char *fmt,
                       const char *name)
{
    if (!err)
        return;
    err->code = code;
    err->offset = (int64_t)sw_bnode_offset(at);
    snprintf(err->message, sizeof err->message, fmt, name);
}

/* Whether value fits setting info (the checks load applies before changing
 * anything). */
static bool value_fits(const sw_setting_info *info, sw_bnode value)
{
    switch (info->type) {
    case SW_SETTING_STR: {
        size_t len;
        const char *str = sw_bnode_str(value, &len);
        return str && memchr(str, '\0', len) == NULL;
    }
    case SW_SETTING_INT: {
        if (!sw_bnode_is(value, SW_BNODE_INT))
            return false;
        int64_t v = sw_bnode_int(value);
        return v >= INT_MIN && v <= INT_MAX;
    }
    case SW_SETTING_BOOL: {
        if (!sw_bnode_is(value, SW_BNODE_INT))
            return false;
        int64_t v = sw_bnode_int(value);
        return v == 0 || v == 1;
    }
    }
    return false;
}

/* Applies one checked value; only string copies can fail. */
static int apply_value(sw_settings *s, const sw_setting_info *info, sw_bnode value)
{
    switch (info->type) {
    case SW_SETTING_STR: {
        size_t len;
        const char *str = sw_bnode_str(value, &len);
        char *copy = malloc(len + 1);
        if (!copy)
            return SW_ERR_NOMEM;
        memcpy(copy, str, len);
        copy[len] = '\0';
        int rc = sw_settings_set_str(s, info->id, copy);
        free(copy);
        return rc;
    }
    case SW_SETTING_INT:
        return sw_settings_set_int(s, info->id, (int)sw_bnode_int(value));
    case SW_SETTING_BOOL:
        return sw_settings_set_bool(s, info->id, sw_bnode_int(value) != 0);
    }
    return SW_ERR_SETTING_TYPE;
}

/* The setting a dictionary key names, or NULL (unknown keys, including keys
 * with NUL bytes or of absurd length, are ignored). */
static const sw_setting_info *lookup_key(sw_bnode key)
{
    size_t len;
    const char *str = sw_bnode_str(key, &len);
    char name[128];
    if (!str || len == 0 || len >= sizeof name || memchr(str, '\0', len))
        return NULL;
    memcpy(name, str, len);
    name[len] = '\0';
    sw_setting_id id;
    if (sw_setting_find(name, &id) != 0)
        return NULL;
    return sw_setting_info_get(id);
}

int sw_settings_load(sw_settings *s, sw_bnode dict, uint32_t categories, sw_error_detail *err_out)
{
    if (!s)
        return SW_ERR_INVALID_ARG;
    if (!sw_bnode_is(dict, SW_BNODE_DICT)) {
        set_detail(err_out, SW_ERR_INVALID_ARG, dict, "settings: %s", "not a dictionary");
        return SW_ERR_INVALID_ARG;
    }
    size_t n = sw_bnode_len(dict);

    /* Pass 1: check every selected value, so a bad one changes nothing. */
    for (size_t i = 0; i < n; i++) {
        sw_bnode key, value;
        if (!sw_bnode_dict_at(dict, i, &key, &value))
            continue;
        const sw_setting_info *info = lookup_key(key);
        if (!info || !selected(info, categories))
            continue;
        if (!value_fits(info, value)) {
            set_detail(err_out, SW_ERR_SETTING_TYPE, value,
                       "settings: value of %s does not fit its type", info->name);
            return SW_ERR_SETTING_TYPE;
        }
    }

    /* Pass 2: apply into a copy, then swap it in, so running out of memory
     * half-way also changes nothing. With duplicate keys (lenient bencode)
     * the first one wins, as in sw_bnode_dict_get. */
    sw_settings *next;
    int rc = sw_settings_copy(s, &next);
    if (rc != 0)
        return rc;
    bool seen[SW_SETTINGS_COUNT] = {false};
    for (size_t i = 0; rc == 0 && i < n; i++) {
        sw_bnode key, value;
        if (!sw_bnode_dict_at(dict, i, &key, &value))
            continue;
        const sw_setting_info *info = lookup_key(key);
        if (!info || !selected(info, categories) || seen[info->id])
            continue;
        seen[info->id] = true;
        rc = apply_value(next, info, value);
    }
    if (rc != 0) {
        sw_settings_free(next);
        return rc;
    }
    sw__settings_swap(s, next);
    sw_settings_free(next);
    return 0;
}

int sw_settings_load_buf(sw_settings *s, const void *buf, size_t len, uint32_t categories,
                         sw_error_detail *err_out)
{
    if (!s || (!buf && len > 0))
        return SW_ERR_INVALID_ARG;
    sw_bdoc *doc;
    sw_bdecode_error derr = {0, 0};
    int rc = sw_bdecode(buf, len, NULL, &doc, &derr);
    if (rc != 0) {
        if (err_out) {
            err_out->code = rc;
            err_out->offset = (int64_t)derr.offset;
            snprintf(err_out->message, sizeof err_out->message, "settings: %s", sw_strerror(rc));
        }
        return rc;
    }
    rc = sw_settings_load(s, sw_bdoc_root(doc), categories, err_out);
    sw_bdoc_free(doc);
    return rc;
}
