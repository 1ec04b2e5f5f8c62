/* When to confirm a node known only from its queries (replies to others
 * name only nodes that answered us, so until then it is not handed out).
 *
 * A node that asks us something is usually in the middle of a lookup;
 * pinging it at once adds a message to that lookup (its answer), and it
 * may confirm itself soon anyway: by answering one of our own queries, or
 * by announcing with a token we gave it. So most new nodes wait
 * SW_DHT_VERIFY_DELAY_MS and are pinged only if they are still in the
 * table, at the same address, and unconfirmed by then.
 *
 * Our neighbours are the exception: a node closer to our id than the k
 * closest confirmed nodes we know is pinged at once. Lookups for targets
 * near us end at us and our neighbours, and the nodes there must name one
 * another for every lookup of such a target to find the same k closest;
 * a joining node's first lookup (of its own id) reaches exactly these
 * nodes. A lookup for a distant target, the common case, reaches nodes
 * for which the asker is no neighbour. */
#include <string.h>

#include "dht/dht_internal.h"

static bool is_neighbour(sw_dht *dht, const sw_sha1 *id, uint64_t now)
{
    sw_dht_contact near[SW_DHT_K];
    size_t n = sw__dht_routing_closest(&dht->rt, &dht->self, SW_DHT_K, SW_DHT_CLOSEST_CONFIRMED,
                                       now, near);
    return n < SW_DHT_K || sw__dht_id_closer(&dht->self, id, &near[n - 1].id) < 0;
}

void sw__dht_verify_new(sw_dht *dht, const sw_sha1 *id, const sw_endpoint *ep, uint64_t now)
{
    if (is_neighbour(dht, id, now)) {
        sw__dht_send_ping(dht, ep, id);
        return;
    }
    sw_dht_verify_queue *q = &dht->verify;
    if (q->n == SW_DHT_VERIFY_QUEUE)
        return; /* maintenance pings it later (questionable live node) */
    sw_dht_verify_entry *e = &q->e[(q->head + q->n) % SW_DHT_VERIFY_QUEUE];
    e->id = *id;
    e->ep = *ep;
    e->due_ms = now + SW_DHT_VERIFY_DELAY_MS;
    q->n++;
}

void sw__dht_verify_tick(sw_dht *dht, uint64_t now)
{
    sw_dht_verify_queue *q = &dht->verify;
    /* Entries are queued in time order, so the due ones are at the head. */
    while (q->n > 0 && q->e[q->head].due_ms <= now) {
        sw_dht_verify_entry e = q->e[q->head];
        q->head = (q->head + 1) % SW_DHT_VERIFY_QUEUE;
        q->n--;
        if (dht->set.read_only)
            continue;
        const sw_dht_contact *c = sw__dht_routing_find(&dht->rt, &e.id);
        if (!c || c->last_response_ms != 0 || !sw__endpoint_equal(&c->ep, &e.ep))
            continue;
        sw__dht_send_ping(dht, &e.ep, &e.id);
    }
}
