/* Alerts as Lua tables: copies of every fact, so the table outlives the
 * alert (which is freed as soon as it is converted). */
#include <string.h>

#include "module_int.h"

static void set_str(lua_State *L, const char *key, const char *v)
{
    if (!v)
        return;
    lua_pushstring(L, v);
    lua_setfield(L, -2, key);
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
    set_str(L, "ip", p->ip);
    set_int(L, "port", p->port);
    if (p->has_peer_id) {
        char hex[41];
        sw_hex_encode(p->peer_id, 20, hex);
        set_str(L, "peer_id", hex);
    }
}

static bool all_zero(const uint8_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i])
            return false;
    return true;
}

static void push_payload(lua_State *L, const sw_alert *a)
{
    switch (a->type) {
    case SW_ALERT_ADD_TORRENT:
        set_str(L, "name", a->payload.add_torrent.name);
        break;
    case SW_ALERT_STATE_CHANGED:
        set_str(L, "state", sw_torrent_state_name(a->payload.state_changed.state));
        set_str(L, "prev_state", sw_torrent_state_name(a->payload.state_changed.prev_state));
        break;
    case SW_ALERT_STATE_UPDATE:
        lua_createtable(L, (int)a->payload.state_update.count, 0);
        for (size_t i = 0; i < a->payload.state_update.count; i++) {
            sw__lua_push_torrent_status(L, &a->payload.state_update.status[i]);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        lua_setfield(L, -2, "status");
        break;
    case SW_ALERT_TORRENT_ERROR:
    case SW_ALERT_FILE_ERROR:
    case SW_ALERT_STORAGE_MOVED:
    case SW_ALERT_STORAGE_MOVED_FAILED:
    case SW_ALERT_FILE_RENAMED:
    case SW_ALERT_FILE_RENAME_FAILED:
        set_str(L, "path", a->payload.file.path);
        set_str(L, "operation", a->payload.file.operation);
        set_int(L, "file_index", a->payload.file.file_index);
        set_str(L, "new_name", a->payload.file.new_name);
        break;
    case SW_ALERT_HASH_FAILED:
    case SW_ALERT_PIECE_FINISHED:
        set_int(L, "piece", a->payload.piece.piece);
        break;
    case SW_ALERT_BLOCK_FINISHED:
        set_int(L, "piece", a->payload.piece.piece);
        set_int(L, "block", a->payload.piece.block);
        set_peer(L, &a->payload.piece.peer);
        break;
    case SW_ALERT_SAVE_RESUME_DATA:
        if (a->payload.resume.data) {
            lua_pushlstring(L, (const char *)a->payload.resume.data, a->payload.resume.len);
            lua_setfield(L, -2, "resume_data");
        }
        break;
    case SW_ALERT_PEER_CONNECT:
    case SW_ALERT_PEER_DISCONNECTED:
    case SW_ALERT_PEER_ERROR:
    case SW_ALERT_PEER_BAN:
    case SW_ALERT_PEER_BLOCKED:
    case SW_ALERT_PEER_SNUBBED:
    case SW_ALERT_PEER_UNSNUBBED:
    case SW_ALERT_INCOMING_CONNECTION:
        set_peer(L, &a->payload.peer.peer);
        set_str(L, "socket_type", socket_name(a->payload.peer.socket_type));
        set_str(L, "operation", a->payload.peer.operation);
        if (a->type == SW_ALERT_PEER_BLOCKED)
            set_int(L, "reason", a->payload.peer.reason);
        break;
    case SW_ALERT_LISTEN_SUCCEEDED:
    case SW_ALERT_LISTEN_FAILED:
        set_str(L, "ip", a->payload.listen.ip);
        set_int(L, "port", a->payload.listen.port);
        set_str(L, "socket_type", socket_name(a->payload.listen.socket_type));
        set_str(L, "operation", a->payload.listen.operation);
        break;
    case SW_ALERT_TRACKER_ANNOUNCE:
    case SW_ALERT_TRACKER_REPLY:
    case SW_ALERT_TRACKER_ERROR:
    case SW_ALERT_TRACKER_WARNING:
    case SW_ALERT_SCRAPE_REPLY:
    case SW_ALERT_SCRAPE_FAILED:
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
    case SW_ALERT_DHT_REPLY:
        set_int(L, "num_peers", a->payload.dht.num_peers);
        break;
    case SW_ALERT_PERFORMANCE:
        set_int(L, "warning", a->payload.performance.warning);
        break;
    case SW_ALERT_STATS:
        set_int(L, "interval_ms", a->payload.stats.interval_ms);
        set_int(L, "upload_payload", a->payload.stats.upload_payload);
        set_int(L, "upload_protocol", a->payload.stats.upload_protocol);
        set_int(L, "download_payload", a->payload.stats.download_payload);
        set_int(L, "download_protocol", a->payload.stats.download_protocol);
        break;
    case SW_ALERT_SESSION_STATS:
        lua_createtable(L, (int)a->payload.session_stats.count, 0);
        for (size_t i = 0; i < a->payload.session_stats.count; i++) {
            lua_pushinteger(L, a->payload.session_stats.values[i]);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        lua_setfield(L, -2, "values");
        break;
    case SW_ALERT_PLUGIN_ERROR:
    case SW_ALERT_PLUGIN_LOADED:
        set_str(L, "name", a->payload.plugin.name);
        set_str(L, "path", a->payload.plugin.path);
        break;
    default:
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
    push_payload(L, a);
}
