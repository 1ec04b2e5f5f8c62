/* Alert objects: allocation with owned attachments, freeing, batches, and
 * the type and category tables. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include <cswarm/alert.h>

#include "alert_queue.h"

/* Something the alert owns: either inline bytes (data, dtor NULL) or an
 * object with its destructor. */
typedef struct alert_owned {
    struct alert_owned *next;
    void (*dtor)(void *);
    void *obj;
    max_align_t data[];
} alert_owned;

/* The allocation behind every sw_alert; the public struct comes first so the
 * two pointers convert both ways. */
typedef struct alert_box {
    sw_alert alert;
    alert_owned *owned;
} alert_box;

static const struct {
    const char *name;
    uint32_t category;
} type_table[SW_ALERT_TYPE_COUNT] = {[SW_ALERT_NONE] = {"none", 0},
#define SW_ALERT_ROW_(NAME, name, cat) [SW_ALERT_##NAME] = {#name, (cat)},
                                     SW_ALERT_TYPE_MAP(SW_ALERT_ROW_)
#undef SW_ALERT_ROW_
};

static bool valid_type(int type)
{
    return type > SW_ALERT_NONE && type < SW_ALERT_TYPE_COUNT;
}

const char *sw_alert_type_name(int type)
{
    return valid_type(type) ? type_table[type].name : "unknown";
}

uint32_t sw_alert_type_category(int type)
{
    return valid_type(type) ? type_table[type].category : 0;
}

static const struct {
    const char *name;
    uint32_t bit;
} category_table[] = {
#define SW_ALERT_CAT_ROW_(NAME, name, bit) {#name, (bit)},
    SW_ALERT_CATEGORY_MAP(SW_ALERT_CAT_ROW_)
#undef SW_ALERT_CAT_ROW_
};

#define CATEGORY_COUNT (sizeof category_table / sizeof category_table[0])

const char *sw_alert_category_name(uint32_t bit)
{
    for (size_t i = 0; i < CATEGORY_COUNT; i++) {
        if (category_table[i].bit == bit)
            return category_table[i].name;
    }
    return NULL;
}

static bool category_from_name(const char *name, size_t len, uint32_t *bits_out)
{
    if (len == 3 && memcmp(name, "all", 3) == 0) {
        *bits_out = SW_ALERT_CAT_ALL;
        return true;
    }
    if (len == 4 && memcmp(name, "none", 4) == 0) {
        *bits_out = 0;
        return true;
    }
    for (size_t i = 0; i < CATEGORY_COUNT; i++) {
        if (strlen(category_table[i].name) == len &&
            memcmp(category_table[i].name, name, len) == 0) {
            *bits_out = category_table[i].bit;
            return true;
        }
    }
    return false;
}

int sw_alert_category_parse(const char *list, uint32_t *mask_out)
{
    if (!list || !mask_out)
        return SW_ERR_INVALID_ARG;
    uint32_t mask = 0;
    const char *p = list;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        /* Blanks around names are allowed: "error, peer". */
        while (len > 0 && *p == ' ') {
            p++;
            len--;
        }
        while (len > 0 && p[len - 1] == ' ')
            len--;
        uint32_t bits;
        if (len == 0 || !category_from_name(p, len, &bits))
            return SW_ERR_INVALID_ARG;
        mask |= bits;
        if (!end)
            break;
        p = end + 1;
    }
    *mask_out = mask;
    return 0;
}

bool sw__alert_type_always_posted(sw_alert_type type)
{
    /* A save_resume_data request is always answered by exactly one of
     * these; dropping it would leave the caller waiting forever. */
    return type == SW_ALERT_SAVE_RESUME_DATA || type == SW_ALERT_SAVE_RESUME_DATA_FAILED;
}

sw_alert *sw__alert_new(sw_alert_type type)
{
    if (!valid_type(type))
        return NULL;
    alert_box *box = calloc(1, sizeof *box);
    if (!box)
        return NULL;
    sw_alert *a = &box->alert;
    a->struct_size = (uint32_t)sizeof(sw_alert);
    a->type = type;
    a->category = type_table[type].category;
    a->timestamp_us = (int64_t)(uv_hrtime() / 1000);
    a->message = type_table[type].name;
    return a;
}

void sw_alert_free(sw_alert *alert)
{
    if (!alert)
        return;
    alert_box *box = (alert_box *)alert;
    alert_owned *o = box->owned;
    while (o) {
        alert_owned *next = o->next;
        if (o->dtor)
            o->dtor(o->obj);
        free(o);
        o = next;
    }
    free(box);
}

void *sw__alert_alloc(sw_alert *a, size_t size)
{
    if (!a || size > SIZE_MAX - sizeof(alert_owned))
        return NULL;
    alert_owned *o = calloc(1, sizeof *o + size);
    if (!o)
        return NULL;
    alert_box *box = (alert_box *)a;
    o->obj = o->data;
    o->next = box->owned;
    box->owned = o;
    return o->obj;
}

int sw__alert_attach(sw_alert *a, void *obj, void (*dtor)(void *))
{
    alert_owned *o = a ? calloc(1, sizeof *o) : NULL;
    if (!o) {
        if (dtor)
            dtor(obj);
        return a ? SW_ERR_NOMEM : SW_ERR_INVALID_ARG;
    }
    alert_box *box = (alert_box *)a;
    o->obj = obj;
    o->dtor = dtor;
    o->next = box->owned;
    box->owned = o;
    return 0;
}

int sw__alert_set_str(sw_alert *a, const char **field, const char *s)
{
    if (!a || !field)
        return SW_ERR_INVALID_ARG;
    if (!s) {
        *field = NULL;
        return 0;
    }
    size_t len = strlen(s);
    char *copy = sw__alert_alloc(a, len + 1);
    if (!copy)
        return SW_ERR_NOMEM;
    memcpy(copy, s, len + 1);
    *field = copy;
    return 0;
}

int sw__alert_set_message(sw_alert *a, const char *fmt, ...)
{
    if (!a || !fmt)
        return SW_ERR_INVALID_ARG;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return SW_ERR_INVALID_ARG;
    char *msg = sw__alert_alloc(a, (size_t)n + 1);
    if (!msg)
        return SW_ERR_NOMEM;
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    va_end(ap);
    a->message = msg;
    return 0;
}

/* A batch and its pointer array in one allocation. */
typedef struct batch_box {
    sw_alert_batch batch;
    sw_alert *slots[];
} batch_box;

sw_alert_batch *sw__alert_batch_new(size_t count, sw_alert ***slots_out)
{
    if (count > (SIZE_MAX - sizeof(batch_box)) / sizeof(sw_alert *))
        return NULL;
    batch_box *box = calloc(1, sizeof *box + count * sizeof(sw_alert *));
    if (!box)
        return NULL;
    box->batch.count = count;
    box->batch.alerts = box->slots;
    *slots_out = box->slots;
    return &box->batch;
}

void sw_alert_batch_free(sw_alert_batch *batch)
{
    if (!batch)
        return;
    for (size_t i = 0; i < batch->count; i++)
        sw_alert_free(batch->alerts[i]);
    free((batch_box *)batch);
}
