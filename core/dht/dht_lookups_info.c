/* The running lookups as libtorrent's dht_lookup describes them, for the
 * session status. Read-only walk of the node's running list. */
#include "dht_internal.h"

size_t sw__dht_lookups_info(const sw_dht *dht, sw_dht_lookup_info *out, size_t max)
{
    size_t n = 0;
    for (const sw_dht_traversal *t = dht ? dht->running : NULL; t && n < max; t = t->next) {
        sw_dht_lookup_info *li = &out[n++];
        const char *name = sw__krpc_method_name(t->ops->method);
        li->type = name ? name : "unknown";
        li->outstanding_requests =
            t->phase == SW_TRAV_STORE ? t->store_pending : t->pending + t->slow;
        li->timeouts = t->stats.timeouts;
        li->responses = t->stats.responses;
        /* Slow queries stop counting against the branching factor. */
        li->branch_factor =
            (dht->set.search_branching > 0 ? dht->set.search_branching : 3) + t->slow;
        li->first_timeout = t->slow;
        li->nodes_left = 0;
        for (size_t i = 0; i < t->n; i++)
            if (t->nodes[i]->state == SW_TRAV_NEW)
                li->nodes_left++;
        li->storing = t->phase == SW_TRAV_STORE;
    }
    return n;
}
