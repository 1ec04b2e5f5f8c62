/* sw_dht_settings from the settings registry (the dht_* settings). */
#include <string.h>

#include "base/base.h"
#include "dht/dht.h"

void sw__dht_settings_from(sw_dht_settings *s, const sw_settings *reg)
{
    s->max_peers_reply = sw__settings_int(reg, SW_SET_DHT_MAX_PEERS_REPLY);
    s->search_branching = sw__settings_int(reg, SW_SET_DHT_SEARCH_BRANCHING);
    s->aggressive_lookups = sw__settings_bool(reg, SW_SET_DHT_AGGRESSIVE_LOOKUPS);
    s->privacy_lookups = sw__settings_bool(reg, SW_SET_DHT_PRIVACY_LOOKUPS);
    s->max_fail_count = sw__settings_int(reg, SW_SET_DHT_MAX_FAIL_COUNT);
    s->max_torrents = sw__settings_int(reg, SW_SET_DHT_MAX_TORRENTS);
    s->max_dht_items = sw__settings_int(reg, SW_SET_DHT_MAX_DHT_ITEMS);
    s->max_peers = sw__settings_int(reg, SW_SET_DHT_MAX_PEERS);
    s->max_torrent_search_reply = sw__settings_int(reg, SW_SET_DHT_MAX_TORRENT_SEARCH_REPLY);
    s->restrict_routing_ips = sw__settings_bool(reg, SW_SET_DHT_RESTRICT_ROUTING_IPS);
    s->restrict_search_ips = sw__settings_bool(reg, SW_SET_DHT_RESTRICT_SEARCH_IPS);
    s->extended_routing_table = sw__settings_bool(reg, SW_SET_DHT_EXTENDED_ROUTING_TABLE);
    s->enforce_node_id = sw__settings_bool(reg, SW_SET_DHT_ENFORCE_NODE_ID);
    s->ignore_dark_internet = sw__settings_bool(reg, SW_SET_DHT_IGNORE_DARK_INTERNET);
    s->block_timeout = sw__settings_int(reg, SW_SET_DHT_BLOCK_TIMEOUT);
    s->block_ratelimit = sw__settings_int(reg, SW_SET_DHT_BLOCK_RATELIMIT);
    s->read_only = sw__settings_bool(reg, SW_SET_DHT_READ_ONLY);
    s->item_lifetime = sw__settings_int(reg, SW_SET_DHT_ITEM_LIFETIME);
    s->upload_rate_limit = sw__settings_int(reg, SW_SET_DHT_UPLOAD_RATE_LIMIT);
}

void sw__dht_settings_init(sw_dht_settings *s)
{
    memset(s, 0, sizeof *s);
    /* A fresh registry object holds the documented defaults. If even that
     * allocation fails the limits stay zero and the node runs minimal. */
    sw_settings *reg = NULL;
    if (sw_settings_new(&reg) == 0) {
        sw__dht_settings_from(s, reg);
        sw_settings_free(reg);
    }
    s->query_timeout_ms = 5000;
    s->short_timeout_ms = 1000;
    s->sample_interval_s = 300;
}
