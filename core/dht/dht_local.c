/* What this node itself stores, for its owner: a lookup asks other nodes
 * only, so the peers announced to our own node (the nearest one, in a small
 * DHT) would otherwise never reach our own torrents. */
#include "dht_internal.h"

size_t sw__dht_local_peers(const sw_dht *dht, const sw_sha1 *info_hash, sw_endpoint *out,
                           size_t max)
{
    if (!dht || !info_hash || !out || max == 0)
        return 0;
    return sw__dht_peers_get(&dht->peers, info_hash, dht->family, max, out);
}
