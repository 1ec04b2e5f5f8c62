/* The port filter: a range map over 0..65535. */
#include <stdlib.h>

#include "filter.h"

static sw_range_key port_key(uint16_t port)
{
    sw_range_key k = {0, port};
    return k;
}

int sw_port_filter_new(sw_port_filter **f_out)
{
    if (!f_out)
        return SW_ERR_INVALID_ARG;
    sw_port_filter *f = malloc(sizeof *f);
    if (!f)
        return SW_ERR_NOMEM;
    int rc = sw__range_map_init(&f->ports, port_key(UINT16_MAX));
    if (rc < 0) {
        free(f);
        return rc;
    }
    *f_out = f;
    return 0;
}

void sw_port_filter_free(sw_port_filter *f)
{
    if (!f)
        return;
    sw__range_map_free(&f->ports);
    free(f);
}

int sw_port_filter_clone(const sw_port_filter *f, sw_port_filter **f_out)
{
    if (!f || !f_out)
        return SW_ERR_INVALID_ARG;
    sw_port_filter *c = malloc(sizeof *c);
    if (!c)
        return SW_ERR_NOMEM;
    int rc = sw__range_map_copy(&c->ports, &f->ports);
    if (rc < 0) {
        free(c);
        return rc;
    }
    *f_out = c;
    return 0;
}

int sw_port_filter_add_rule(sw_port_filter *f, uint16_t first, uint16_t last, uint32_t flags)
{
    if (!f)
        return SW_ERR_INVALID_ARG;
    return sw__range_map_add(&f->ports, port_key(first), port_key(last), flags);
}

int sw_port_filter_access(const sw_port_filter *f, uint16_t port, uint32_t *flags_out)
{
    if (!f || !flags_out)
        return SW_ERR_INVALID_ARG;
    *flags_out = sw__range_map_access(&f->ports, port_key(port));
    return 0;
}

int sw_port_filter_export(const sw_port_filter *f, sw_port_range **ranges_out, size_t *count_out)
{
    if (!f || !ranges_out || !count_out)
        return SW_ERR_INVALID_ARG;
    const sw_range_map *m = &f->ports;
    sw_port_range *v = calloc(m->n, sizeof *v);
    if (!v)
        return SW_ERR_NOMEM;
    for (size_t i = 0; i < m->n; i++) {
        v[i].first = (uint16_t)m->v[i].start.lo;
        v[i].last = (uint16_t)sw__range_map_end(m, i).lo;
        v[i].flags = m->v[i].flags;
    }
    *ranges_out = v;
    *count_out = m->n;
    return 0;
}
