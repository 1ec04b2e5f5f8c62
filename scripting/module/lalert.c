/* Alerts as Lua tables: copies of every fact, so the table outlives the
 * alert (which is freed as soon as it is converted).
 *
 * Each alert type fills one payload member of sw_alert (alert.h's type list
 * says which). The conversion is per payload member, not per type: a type
 * is mapped to its member once (payload_of), and every type sharing a
 * member gets the same fields. cswarm.alert_fields lists those fields by
 * type, so scripts (and the tests) can see that every type of this build is
 * mapped. A type missing from payload_of still becomes a table with the
 * common fields. */
#include <string.h>

#include "module_int.h"

enum payload {
    P_UNMAPPED = 0, /* a type this file does not know yet */
    P_NONE,         /* no per-type facts */
    P_ADD_TORRENT,
    P_STATE_CHANGED,
    P_STATE_UPDATE,
    P_FILE,
    P_PIECE,
    P_BLOCK,
    P_RESUME,
    P_PEER,
    P_LISTEN,
    P_TRACKER,
    P_DHT_BOOTSTRAP,
    P_DHT_REPLY,
    P_DHT_IMMUTABLE,
    P_DHT_MUTABLE,
    P_DHT_PUT,
    P_DHT_PEER,
    P_DHT_SCRAPE,
    P_PERFORMANCE,
    P_STATS,
    P_SESSION_STATS,
    P_PLUGIN,
};

static const unsigned char payload_of[SW_ALERT_TYPE_COUNT] = {
    [SW_ALERT_ADD_TORRENT] = P_ADD_TORRENT,
    [SW_ALERT_TORRENT_REMOVED] = P_NONE,
    [SW_ALERT_TORRENT_DELETED] = P_NONE,
    [SW_ALERT_TORRENT_DELETE_FAILED] = P_NONE,
    [SW_ALERT_STATE_CHANGED] = P_STATE_CHANGED,
    [SW_ALERT_STATE_UPDATE] = P_STATE_UPDATE,
    [SW_ALERT_TORRENT_FINISHED] = P_NONE,
    [SW_ALERT_TORRENT_PAUSED] = P_NONE,
    [SW_ALERT_TORRENT_RESUMED] = P_NONE,
    [SW_ALERT_TORRENT_CHECKED] = P_NONE,
    [SW_ALERT_TORRENT_ERROR] = P_FILE,
    [SW_ALERT_FILE_ERROR] = P_FILE,
    [SW_ALERT_HASH_FAILED] = P_PIECE,
    [SW_ALERT_PIECE_FINISHED] = P_PIECE,
    [SW_ALERT_BLOCK_FINISHED] = P_BLOCK,
    [SW_ALERT_SAVE_RESUME_DATA] = P_RESUME,
    [SW_ALERT_SAVE_RESUME_DATA_FAILED] = P_NONE,
    [SW_ALERT_METADATA_RECEIVED] = P_NONE,
    [SW_ALERT_METADATA_FAILED] = P_NONE,
    [SW_ALERT_PEER_CONNECT] = P_PEER,
    [SW_ALERT_PEER_DISCONNECTED] = P_PEER,
    [SW_ALERT_PEER_ERROR] = P_PEER,
    [SW_ALERT_PEER_BAN] = P_PEER,
    [SW_ALERT_PEER_BLOCKED] = P_PEER,
    [SW_ALERT_PEER_SNUBBED] = P_PEER,
    [SW_ALERT_PEER_UNSNUBBED] = P_PEER,
    [SW_ALERT_INCOMING_CONNECTION] = P_PEER,
    [SW_ALERT_LISTEN_SUCCEEDED] = P_LISTEN,
    [SW_ALERT_LISTEN_FAILED] = P_LISTEN,
    [SW_ALERT_TRACKER_ANNOUNCE] = P_TRACKER,
    [SW_ALERT_TRACKER_REPLY] = P_TRACKER,
    [SW_ALERT_TRACKER_ERROR] = P_TRACKER,
    [SW_ALERT_TRACKER_WARNING] = P_TRACKER,
    [SW_ALERT_SCRAPE_REPLY] = P_TRACKER,
    [SW_ALERT_SCRAPE_FAILED] = P_TRACKER,
    [SW_ALERT_DHT_BOOTSTRAP] = P_DHT_BOOTSTRAP,
    [SW_ALERT_DHT_REPLY] = P_DHT_REPLY,
    [SW_ALERT_STORAGE_MOVED] = P_FILE,
    [SW_ALERT_STORAGE_MOVED_FAILED] = P_FILE,
    [SW_ALERT_FILE_RENAMED] = P_FILE,
    [SW_ALERT_FILE_RENAME_FAILED] = P_FILE,
    [SW_ALERT_PERFORMANCE] = P_PERFORMANCE,
    [SW_ALERT_STATS] = P_STATS,
    [SW_ALERT_SESSION_STATS] = P_SESSION_STATS,
    [SW_ALERT_PLUGIN_ERROR] = P_PLUGIN,
    [SW_ALERT_PLUGIN_LOADED] = P_PLUGIN,
    [SW_ALERT_LOG] = P_NONE,
    [SW_ALERT_PLUGIN_ALERT] = P_PLUGIN,
    [SW_ALERT_DHT_IMMUTABLE_ITEM] = P_DHT_IMMUTABLE,
    [SW_ALERT_DHT_MUTABLE_ITEM] = P_DHT_MUTABLE,
    [SW_ALERT_DHT_PUT] = P_DHT_PUT,
    [SW_ALERT_DHT_ANNOUNCE] = P_DHT_PEER,
    [SW_ALERT_DHT_GET_PEERS] = P_DHT_PEER,
    [SW_ALERT_URL_SEED] = P_TRACKER,
    [SW_ALERT_LSD_PEER] = P_PEER,
    [SW_ALERT_PORTMAP] = P_NONE,
    [SW_ALERT_PORTMAP_ERROR] = P_NONE,
    [SW_ALERT_EXTERNAL_IP] = P_NONE,
    [SW_ALERT_DHT_SCRAPE] = P_DHT_SCRAPE,
};

/* The per-type fields each payload gives (those that may be absent
 * included), for cswarm.alert_fields. Keep in step with push_payload. */
#define PEER_FIELDS "ip", "port", "peer_id"
static const char *const *const payload_fields[] = {
    [P_UNMAPPED] = NULL,
    [P_NONE] = (const char *const[]){NULL},
    [P_ADD_TORRENT] = (const char *const[]){"name", NULL},
    [P_STATE_CHANGED] = (const char *const[]){"state", "prev_state", NULL},
    [P_STATE_UPDATE] = (const char *const[]){"status", NULL},
    [P_FILE] = (const char *const[]){"path", "operation", "file_index", "new_name", NULL},
    [P_PIECE] = (const char *const[]){"piece", NULL},
    [P_BLOCK] = (const char *const[]){"piece", "block", PEER_FIELDS, NULL},
    [P_RESUME] = (const char *const[]){"resume_data", NULL},
    [P_PEER] = (const char *const[]){PEER_FIELDS, "socket_type", "operation", "reason", NULL},
    [P_LISTEN] = (const char *const[]){"ip", "port", "socket_type", "operation", NULL},
    [P_TRACKER] = (const char *const[]){"url", "event", "num_peers", "times_in_row", "status_code",
                                        "complete", "incomplete", "downloaded", "text", NULL},
    [P_DHT_BOOTSTRAP] = (const char *const[]){"num_nodes", NULL},
    [P_DHT_REPLY] = (const char *const[]){"num_peers", NULL},
    [P_DHT_IMMUTABLE] = (const char *const[]){"target", "value", NULL},
    [P_DHT_MUTABLE] =
        (const char *const[]){"target", "public_key", "salt", "seq", "value", "signature", NULL},
    [P_DHT_PUT] = (const char *const[]){"target", "num_success", "public_key", "salt", "seq",
                                        "value", "signature", NULL},
    [P_DHT_PEER] = (const char *const[]){PEER_FIELDS, NULL},
    [P_DHT_SCRAPE] = (const char *const[]){"target", "seeds", "downloaders", NULL},
    [P_PERFORMANCE] = (const char *const[]){"warning", NULL},
    [P_STATS] = (const char *const[]){"interval_ms", "upload_payload", "upload_protocol",
                                      "download_payload", "download_protocol", "upload_ip_overhead",
                                      "download_ip_overhead", "upload_dht", "download_dht",
                                      "upload_tracker", "download_tracker", NULL},
    [P_SESSION_STATS] = (const char *const[]){"values", NULL},
    [P_PLUGIN] = (const char *const[]){"name", "path", NULL},
};

static int payload_kind(int type)
{
    return type > 0 && type < SW_ALERT_TYPE_COUNT ? payload_of[type] : P_UNMAPPED;
}

static void set_str(lua_State *L, const char *key, const char *v)
{
    if (!v)
        return;
    lua_pushstring(L, v);
    lua_setfield(L, -2, key);
}

static void set_bytes(lua_State *L, const char *key, const uint8_t *v, size_t len)
{
    if (!v)
        return;
    lua_pushlstring(L, (const char *)v, len);
    lua_setfield(L, -2, key);
}

static void set_hex(lua_State *L, const char *key, const uint8_t *v, size_t len)
{
    char hex[2 * 64 + 1];
    if (!v || len > 64)
        return;
    sw_hex_encode(v, len, hex);
    set_str(L, key, hex);
}

static void set_int(lua_State *L, const char *key, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, key);
}

static const char *socket_name(sw_socket_type t)
{
    switch (t) {
    case SW_SOCKET_UTP:
        return "utp";
    case SW_SOCKET_UDP:
        return "udp";
    default:
        return "tcp";
    }
}

static void set_peer(lua_State *L, const sw_alert_peer *p)
{
    if (p->ip[0])
        set_str(L, "ip", p->ip);
    set_int(L, "port", p->port);
    if (p->has_peer_id)
        set_hex(L, "peer_id", p->peer_id, 20);
}

static bool all_zero(const uint8_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i])
            return false;
    return true;
}

/* The item facts of dht_immutable_item, dht_mutable_item and dht_put. */
static void set_dht_item(lua_State *L, const sw_alert *a, bool is_mutable)
{
    if (!all_zero(a->payload.dht.target.v, SW_SHA1_LEN))
        set_hex(L, "target", a->payload.dht.target.v, SW_SHA1_LEN);
    set_bytes(L, "value", a->payload.dht.value, a->payload.dht.value_len);
    if (!is_mutable)
        return;
    set_hex(L, "public_key", a->payload.dht.public_key, 32);
    set_hex(L, "signature", a->payload.dht.signature, 64);
    set_int(L, "seq", a->payload.dht.seq);
    if (a->payload.dht.salt || a->payload.dht.public_key) {
        lua_pushlstring(L, a->payload.dht.salt ? (const char *)a->payload.dht.salt : "",
                        a->payload.dht.salt_len);
        lua_setfield(L, -2, "salt");
    }
}

static void push_payload(lua_State *L, int ses_idx, const sw_alert *a)
{
    switch (payload_kind(a->type)) {
    case P_ADD_TORRENT:
        set_str(L, "name", a->payload.add_torrent.name);
        break;
    case P_STATE_CHANGED:
        set_str(L, "state", sw_torrent_state_name(a->payload.state_changed.state));
        set_str(L, "prev_state", sw_torrent_state_name(a->payload.state_changed.prev_state));
        break;
    case P_STATE_UPDATE:
        lua_createtable(L, (int)a->payload.state_update.count, 0);
        for (size_t i = 0; i < a->payload.state_update.count; i++) {
            const sw_torrent_status *st = &a->payload.state_update.status[i];
            sw__lua_push_torrent_status(L, st);
            sw__lua_push_torrent(L, ses_idx, st->handle.id);
            lua_setfield(L, -2, "torrent");
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        lua_setfield(L, -2, "status");
        break;
    case P_FILE:
        set_str(L, "path", a->payload.file.path);
        set_str(L, "operation", a->payload.file.operation);
        set_int(L, "file_index", a->payload.file.file_index);
        set_str(L, "new_name", a->payload.file.new_name);
        break;
    case P_PIECE:
        set_int(L, "piece", a->payload.piece.piece);
        break;
    case P_BLOCK:
        set_int(L, "piece", a->payload.piece.piece);
        set_int(L, "block", a->payload.piece.block);
        set_peer(L, &a->payload.piece.peer);
        break;
    case P_RESUME:
        set_bytes(L, "resume_data", a->payload.resume.data, a->payload.resume.len);
        break;
    case P_PEER:
        set_peer(L, &a->payload.peer.peer);
        set_str(L, "socket_type", socket_name(a->payload.peer.socket_type));
        set_str(L, "operation", a->payload.peer.operation);
        if (a->type == SW_ALERT_PEER_BLOCKED)
            set_int(L, "reason", a->payload.peer.reason);
        break;
    case P_LISTEN:
        set_str(L, "ip", a->payload.listen.ip);
        set_int(L, "port", a->payload.listen.port);
        set_str(L, "socket_type", socket_name(a->payload.listen.socket_type));
        set_str(L, "operation", a->payload.listen.operation);
        break;
    case P_TRACKER:
        set_str(L, "url", a->payload.tracker.url);
        set_int(L, "event", a->payload.tracker.event);
        set_int(L, "num_peers", a->payload.tracker.num_peers);
        set_int(L, "times_in_row", a->payload.tracker.times_in_row);
        set_int(L, "status_code", a->payload.tracker.status_code);
        set_int(L, "complete", a->payload.tracker.complete);
        set_int(L, "incomplete", a->payload.tracker.incomplete);
        set_int(L, "downloaded", a->payload.tracker.downloaded);
        set_str(L, "text", a->payload.tracker.text);
        break;
    case P_DHT_BOOTSTRAP:
        set_int(L, "num_nodes", a->payload.dht.num_nodes);
        break;
    case P_DHT_REPLY:
        set_int(L, "num_peers", a->payload.dht.num_peers);
        break;
    case P_DHT_IMMUTABLE:
        set_dht_item(L, a, false);
        break;
    case P_DHT_MUTABLE:
        set_dht_item(L, a, true);
        break;
    case P_DHT_PUT:
        set_dht_item(L, a, a->payload.dht.public_key != NULL);
        set_int(L, "num_success", a->payload.dht.num_success);
        break;
    case P_DHT_PEER:
        set_peer(L, &a->payload.dht.peer);
        break;
    case P_DHT_SCRAPE:
        set_hex(L, "target", a->payload.dht.target.v, SW_SHA1_LEN);
        set_int(L, "seeds", a->payload.dht.scrape_seeds);
        set_int(L, "downloaders", a->payload.dht.scrape_downloaders);
        break;
    case P_PERFORMANCE:
        set_int(L, "warning", a->payload.performance.warning);
        break;
    case P_STATS:
        set_int(L, "interval_ms", a->payload.stats.interval_ms);
        set_int(L, "upload_payload", a->payload.stats.upload_payload);
        set_int(L, "upload_protocol", a->payload.stats.upload_protocol);
        set_int(L, "download_payload", a->payload.stats.download_payload);
        set_int(L, "download_protocol", a->payload.stats.download_protocol);
        set_int(L, "upload_ip_overhead", a->payload.stats.upload_ip_overhead);
        set_int(L, "download_ip_overhead", a->payload.stats.download_ip_overhead);
        set_int(L, "upload_dht", a->payload.stats.upload_dht);
        set_int(L, "download_dht", a->payload.stats.download_dht);
        set_int(L, "upload_tracker", a->payload.stats.upload_tracker);
        set_int(L, "download_tracker", a->payload.stats.download_tracker);
        break;
    case P_SESSION_STATS:
        lua_createtable(L, (int)a->payload.session_stats.count, 0);
        for (size_t i = 0; i < a->payload.session_stats.count; i++) {
            lua_pushinteger(L, a->payload.session_stats.values[i]);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        lua_setfield(L, -2, "values");
        break;
    case P_PLUGIN:
        set_str(L, "name", a->payload.plugin.name);
        set_str(L, "path", a->payload.plugin.path);
        break;
    default: /* P_NONE, P_UNMAPPED: the common fields say it all */
        break;
    }
}

void sw__lua_push_alert(lua_State *L, int ses_idx, const sw_alert *a)
{
    ses_idx = lua_absindex(L, ses_idx);
    lua_createtable(L, 0, 12);
    set_str(L, "type", sw_alert_type_name(a->type));
    set_int(L, "category", a->category);
    set_str(L, "message", a->message);
    set_int(L, "timestamp_us", a->timestamp_us);
    if (a->error) {
        set_int(L, "error", a->error);
        set_str(L, "error_message", sw_strerror(a->error));
    }
    if (a->torrent_id) {
        sw__lua_push_torrent(L, ses_idx, a->torrent_id);
        lua_setfield(L, -2, "torrent");
    }
    if (!all_zero(a->info_hash.v, sizeof a->info_hash.v)) {
        char hex[2 * SW_SHA1_LEN + 1];
        sw_hex_encode(a->info_hash.v, SW_SHA1_LEN, hex);
        set_str(L, "info_hash", hex);
    }
    push_payload(L, ses_idx, a);
}

void sw__lua_push_alert_fields(lua_State *L)
{
    lua_createtable(L, 0, SW_ALERT_TYPE_COUNT);
    for (int t = 1; t < SW_ALERT_TYPE_COUNT; t++) {
        const char *const *f = payload_fields[payload_kind(t)];
        if (!f)
            continue; /* unmapped: left out, so that it shows */
        lua_newtable(L);
        for (lua_Integer i = 0; f[i]; i++) {
            lua_pushstring(L, f[i]);
            lua_rawseti(L, -2, i + 1);
        }
        lua_setfield(L, -2, sw_alert_type_name(t));
    }
}
