/* Session settings: one registry of named, typed keys with documented
 * defaults, shared by the C API, the command line (--set name=value), Lua and
 * saved session state.
 *
 * The table. SW_SETTINGS_MAP lists every setting once: its id, its name, its
 * type (string, int or bool), its default, its category and a one-line
 * description. The SW_SET_* enum, the name lookup, the defaults, the saved
 * state and the generated reference (docs/settings.md) all come from it, so a
 * setting cannot exist without a default and a description. Where libtorrent's
 * settings_pack has a setting for the same thing, it has the same name, the
 * same unit and, unless its description says otherwise, libtorrent 2.0's
 * default. Settings are appended only: ids are never renumbered or reused.
 *
 * Categories. Each setting belongs to categories (SW_SETTINGS_CAT_*) whose
 * bits are those of libtorrent's session::save_state flags (save_settings,
 * save_dht_settings, save_proxy, save_encryption_settings), so a session's
 * save_state/load_state flags select settings directly.
 *
 * Saved form. sw_settings_save writes one bencoded dictionary of name -> value
 * (bools as 0/1); sw_settings_load reads it back, ignoring unknown names, so
 * state saved by a newer cswarm loads in an older one.
 *
 * Ownership and threading. An sw_settings object is a plain value owned by
 * its creator (sw_settings_new/copy, then sw_settings_free). It has no locks:
 * use one object from one thread at a time. A session never keeps the
 * caller's object; it copies it. The table functions (sw_setting_info,
 * sw_setting_find) read static data and are safe from any thread. */
#ifndef CSWARM_SETTINGS_H
#define CSWARM_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bencode.h"
#include "error.h"
#include "torrent_info.h"
#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Categories, one bit each; values match libtorrent's save_state flags. */
enum sw_settings_category {
    SW_SETTINGS_CAT_SESSION = 1u << 0,    /* save_settings */
    SW_SETTINGS_CAT_DHT = 1u << 1,        /* save_dht_settings */
    SW_SETTINGS_CAT_PROXY = 1u << 3,      /* save_proxy */
    SW_SETTINGS_CAT_ENCRYPTION = 1u << 5, /* save_encryption_settings */
};
/* Every category (a macro: enum constants must fit an int). */
#define SW_SETTINGS_CAT_ALL 0xffffffffu

/* Values of the enumerated int settings (numbered as in libtorrent). */

/* choking_algorithm */
enum sw_choker {
    SW_CHOKER_FIXED_SLOTS = 0, /* unchoke_slots_limit peers */
    SW_CHOKER_RATE_BASED = 2   /* open slots while the upload rate keeps growing */
};
/* seed_choking_algorithm */
enum sw_seed_choker {
    SW_SEED_CHOKER_ROUND_ROBIN = 0, /* rotate through peers */
    SW_SEED_CHOKER_FASTEST_UPLOAD = 1,
    SW_SEED_CHOKER_ANTI_LEECH = 2 /* favour peers that just started or are nearly done */
};
/* suggest_mode */
enum sw_suggest_mode { SW_SUGGEST_NONE = 0, SW_SUGGEST_READ_CACHE = 1 };
/* mixed_mode_algorithm */
enum sw_mixed_mode { SW_MIXED_PREFER_TCP = 0, SW_MIXED_PEER_PROPORTIONAL = 1 };
/* out_enc_policy, in_enc_policy */
enum sw_enc_policy { SW_PE_FORCED = 0, SW_PE_ENABLED = 1, SW_PE_DISABLED = 2 };
/* allowed_enc_level (bits) */
enum sw_enc_level { SW_PE_PLAINTEXT = 1, SW_PE_RC4 = 2, SW_PE_BOTH = 3 };
/* proxy_type */
enum sw_proxy_type {
    SW_PROXY_NONE = 0,
    SW_PROXY_SOCKS4 = 1,
    SW_PROXY_SOCKS5 = 2,
    SW_PROXY_SOCKS5_PW = 3,
    SW_PROXY_HTTP = 4,
    SW_PROXY_HTTP_PW = 5
};

/* The peer-id prefix: Azureus style "-" client(2) version(4) "-". */
#define SW_PEER_FINGERPRINT "-SW0100-"

/* STR(ID, name, default, CATEGORY, doc)
 * INT(ID, name, default, CATEGORY, doc)
 * BOOL(ID, name, default, CATEGORY, doc)
 * CATEGORY is the suffix of an SW_SETTINGS_CAT_* constant. Times are in
 * seconds and rates in bytes per second unless the description says
 * otherwise. Append only. */
#define SW_SETTINGS_MAP(STR, INT, BOOL)                                                            \
    STR(USER_AGENT, user_agent, "cswarm/" SW_VERSION_STRING, SESSION,                              \
        "HTTP User-Agent for trackers and web seeds, and the BEP 10 client name unless "           \
        "handshake_client_version is set (cswarm default).")                                       \
    STR(PEER_FINGERPRINT, peer_fingerprint, SW_PEER_FINGERPRINT, SESSION,                          \
        "Prefix of the peer-id; the rest is random (cswarm default).")                             \
    STR(LISTEN_INTERFACES, listen_interfaces, "0.0.0.0:6881,[::]:6881", SESSION,                   \
        "Comma-separated ADDRESS:PORT list to accept peers on (TCP and uTP); port 0 picks a "      \
        "free port.")                                                                              \
    STR(OUTGOING_INTERFACES, outgoing_interfaces, "", SESSION,                                     \
        "Comma-separated interface names or addresses to bind outgoing connections to; empty "     \
        "lets the OS choose.")                                                                     \
    STR(ANNOUNCE_IP, announce_ip, "", SESSION,                                                     \
        "Address sent to trackers as &ip=; empty omits it.")                                       \
    STR(HANDSHAKE_CLIENT_VERSION, handshake_client_version, "", SESSION,                           \
        "Client name in the BEP 10 handshake ('v'); empty uses user_agent.")                       \
    BOOL(ENABLE_OUTGOING_TCP, enable_outgoing_tcp, true, SESSION,                                  \
         "Make outgoing peer connections over TCP.")                                               \
    BOOL(ENABLE_INCOMING_TCP, enable_incoming_tcp, true, SESSION,                                  \
         "Accept incoming peer connections over TCP.")                                             \
    BOOL(ENABLE_OUTGOING_UTP, enable_outgoing_utp, true, SESSION,                                  \
         "Make outgoing peer connections over uTP (BEP 29).")                                      \
    BOOL(ENABLE_INCOMING_UTP, enable_incoming_utp, true, SESSION,                                  \
         "Accept incoming peer connections over uTP (BEP 29).")                                    \
    BOOL(ENABLE_DHT, enable_dht, true, SESSION, "Run the DHT node (BEP 5).")                       \
    BOOL(ENABLE_LSD, enable_lsd, true, SESSION, "Run local service discovery (BEP 14).")           \
    BOOL(ENABLE_UPNP, enable_upnp, true, SESSION, "Map the listen ports on UPnP routers.")         \
    BOOL(ENABLE_NATPMP, enable_natpmp, true, SESSION, "Map the listen ports with NAT-PMP.")        \
    INT(ALERT_MASK, alert_mask, 1, SESSION,                                                        \
        "Alert categories to post (SW_ALERT_CAT_* bits); the default is errors only.")             \
    INT(ALERT_QUEUE_SIZE, alert_queue_size, 2000, SESSION,                                         \
        "Most alerts held for popping; further ones are dropped and counted (resume-data alerts "  \
        "are never dropped).")                                                                     \
    INT(CONNECTIONS_LIMIT, connections_limit, 200, SESSION,                                        \
        "Most peer connections in the session, over all torrents.")                                \
    INT(UNCHOKE_SLOTS_LIMIT, unchoke_slots_limit, 8, SESSION,                                      \
        "Most peers unchoked at once (fixed-slots choker); -1 means no limit.")                    \
    INT(MAX_OUT_REQUEST_QUEUE, max_out_request_queue, 500, SESSION,                                \
        "Most outstanding block requests to one peer.")                                            \
    INT(MAX_ALLOWED_IN_REQUEST_QUEUE, max_allowed_in_request_queue, 2000, SESSION,                 \
        "Most queued requests accepted from one peer; more are rejected.")                         \
    INT(REQUEST_TIMEOUT, request_timeout, 60, SESSION,                                             \
        "Seconds before a requested block with no data is re-requested elsewhere.")                \
    INT(PEER_TIMEOUT, peer_timeout, 120, SESSION,                                                  \
        "Seconds without any message from a peer before it is disconnected.")                      \
    INT(INACTIVITY_TIMEOUT, inactivity_timeout, 600, SESSION,                                      \
        "Seconds a connection may carry no payload in either direction before it is closed.")      \
    INT(HANDSHAKE_TIMEOUT, handshake_timeout, 10, SESSION,                                         \
        "Seconds a new connection has to complete the BitTorrent handshake.")                      \
    INT(PIECE_TIMEOUT, piece_timeout, 20, SESSION,                                                 \
        "Seconds without a requested block arriving before the peer counts as snubbed.")           \
    INT(REQUEST_QUEUE_TIME, request_queue_time, 3, SESSION,                                        \
        "Seconds of download the request queue to a peer should cover at its rate.")               \
    INT(CHOKING_ALGORITHM, choking_algorithm, 0, SESSION,                                          \
        "Choker while downloading: 0 fixed slots, 2 rate based (sw_choker).")                      \
    INT(SEED_CHOKING_ALGORITHM, seed_choking_algorithm, 0, SESSION,                                \
        "Choker while seeding: 0 round robin, 1 fastest upload, 2 anti-leech (sw_seed_choker).")   \
    INT(OPTIMISTIC_UNCHOKE_INTERVAL, optimistic_unchoke_interval, 30, SESSION,                     \
        "Seconds between optimistic unchokes.")                                                    \
    INT(UNCHOKE_INTERVAL, unchoke_interval, 15, SESSION, "Seconds between choker runs.")           \
    INT(NUM_OPTIMISTIC_UNCHOKE_SLOTS, num_optimistic_unchoke_slots, 0, SESSION,                    \
        "Optimistic unchoke slots; 0 means a fifth of the unchoke slots.")                         \
    INT(AIO_THREADS, aio_threads, 10, SESSION, "Disk I/O worker threads.")                         \
    INT(HASHING_THREADS, hashing_threads, 1, SESSION, "Piece hashing worker threads.")             \
    INT(FILE_POOL_SIZE, file_pool_size, 40, SESSION, "Most files kept open at once.")              \
    INT(MAX_QUEUED_DISK_BYTES, max_queued_disk_bytes, 1048576, SESSION,                            \
        "Bytes waiting to be written per connection before it stops reading from the peer.")       \
    INT(CACHE_SIZE, cache_size, 2048, SESSION, "Disk cache size in 16 KiB blocks.")                \
    INT(ACTIVE_DOWNLOADS, active_downloads, 3, SESSION,                                            \
        "Most auto-managed torrents downloading at once; -1 means no limit.")                      \
    INT(ACTIVE_SEEDS, active_seeds, 5, SESSION,                                                    \
        "Most auto-managed torrents seeding at once; -1 means no limit.")                          \
    INT(ACTIVE_LIMIT, active_limit, 500, SESSION,                                                  \
        "Most auto-managed torrents active at once, downloading or seeding.")                      \
    INT(ACTIVE_CHECKING, active_checking, 1, SESSION,                                              \
        "Most auto-managed torrents checking their files at once (a torrent that is not "          \
        "auto-managed checks at once).")                                                           \
    BOOL(DONT_COUNT_SLOW_TORRENTS, dont_count_slow_torrents, true, SESSION,                        \
         "Torrents below inactive_down_rate/inactive_up_rate do not count against the active "     \
         "limits.")                                                                                \
    INT(AUTO_MANAGE_INTERVAL, auto_manage_interval, 30, SESSION,                                   \
        "Seconds between queue (auto-manage) evaluations.")                                        \
    INT(AUTO_MANAGE_STARTUP, auto_manage_startup, 60, SESSION,                                     \
        "Seconds a newly started torrent counts as active whatever its rate.")                     \
    BOOL(AUTO_MANAGE_PREFER_SEEDS, auto_manage_prefer_seeds, false, SESSION,                       \
         "Give queue slots to seeding before downloading torrents.")                               \
    INT(INACTIVE_DOWN_RATE, inactive_down_rate, 2048, SESSION,                                     \
        "Download rate under which a torrent counts as inactive.")                                 \
    INT(INACTIVE_UP_RATE, inactive_up_rate, 2048, SESSION,                                         \
        "Upload rate under which a torrent counts as inactive.")                                   \
    INT(SHARE_RATIO_LIMIT, share_ratio_limit, 200, SESSION,                                        \
        "Upload/download ratio in percent after which a seed is queued behind others.")            \
    INT(SEED_TIME_RATIO_LIMIT, seed_time_ratio_limit, 700, SESSION,                                \
        "Seeding time / downloading time in percent after which a seed is queued.")                \
    INT(SEED_TIME_LIMIT, seed_time_limit, 86400, SESSION,                                          \
        "Seconds of seeding after which a seed is queued behind others.")                          \
    INT(UPLOAD_RATE_LIMIT, upload_rate_limit, 0, SESSION,                                          \
        "Session upload limit in bytes/s; 0 means unlimited.")                                     \
    INT(DOWNLOAD_RATE_LIMIT, download_rate_limit, 0, SESSION,                                      \
        "Session download limit in bytes/s; 0 means unlimited.")                                   \
    BOOL(RATE_LIMIT_IP_OVERHEAD, rate_limit_ip_overhead, true, SESSION,                            \
         "Count estimated TCP/IP header bytes against the rate limits.")                           \
    INT(MAX_PEERLIST_SIZE, max_peerlist_size, 3000, SESSION,                                       \
        "Most known peer addresses kept per torrent.")                                             \
    INT(MAX_PAUSED_PEERLIST_SIZE, max_paused_peerlist_size, 1000, SESSION,                         \
        "Most known peer addresses kept per paused torrent.")                                      \
    INT(MIN_RECONNECT_TIME, min_reconnect_time, 60, SESSION,                                       \
        "Seconds to wait before reconnecting to a peer after a failure, times its fail count.")    \
    INT(MAX_FAILCOUNT, max_failcount, 3, SESSION,                                                  \
        "Failed connection attempts after which a peer address is no longer tried.")               \
    INT(CONNECTION_SPEED, connection_speed, 30, SESSION,                                           \
        "Outgoing connection attempts per second, over the session.")                              \
    INT(PEER_CONNECT_TIMEOUT, peer_connect_timeout, 15, SESSION,                                   \
        "Seconds an outgoing connection attempt may take.")                                        \
    BOOL(ALLOW_MULTIPLE_CONNECTIONS_PER_IP, allow_multiple_connections_per_ip, false, SESSION,     \
         "Allow several connections from the same IP address to one torrent.")                     \
    BOOL(SEEDING_OUTGOING_CONNECTIONS, seeding_outgoing_connections, true, SESSION,                \
         "Make outgoing connections for torrents that are seeding.")                               \
    BOOL(PREFER_UDP_TRACKERS, prefer_udp_trackers, true, SESSION,                                  \
         "Within a tier, try udp:// trackers before http:// ones on the same host.")               \
    BOOL(ANNOUNCE_TO_ALL_TIERS, announce_to_all_tiers, false, SESSION,                             \
         "Announce to one tracker in every tier instead of stopping at the first that works.")     \
    BOOL(ANNOUNCE_TO_ALL_TRACKERS, announce_to_all_trackers, false, SESSION,                       \
         "Announce to every tracker of a tier instead of the first that works.")                   \
    INT(TRACKER_COMPLETION_TIMEOUT, tracker_completion_timeout, 30, SESSION,                       \
        "Seconds a tracker request may take in total.")                                            \
    INT(TRACKER_RECEIVE_TIMEOUT, tracker_receive_timeout, 10, SESSION,                             \
        "Seconds a tracker may go silent during a request.")                                       \
    INT(STOP_TRACKER_TIMEOUT, stop_tracker_timeout, 5, SESSION,                                    \
        "Seconds to wait for 'stopped' announces when the session shuts down.")                    \
    INT(TRACKER_MAXIMUM_RESPONSE_LENGTH, tracker_maximum_response_length, 1048576, SESSION,        \
        "Largest tracker response accepted, in bytes.")                                            \
    INT(NUM_WANT, num_want, 200, SESSION, "Peers asked for in each tracker announce.")             \
    INT(MIN_ANNOUNCE_INTERVAL, min_announce_interval, 300, SESSION,                                \
        "Shortest announce interval honoured, whatever the tracker says.")                         \
    INT(AUTO_SCRAPE_INTERVAL, auto_scrape_interval, 1800, SESSION,                                 \
        "Seconds between scrapes of queued torrents.")                                             \
    INT(AUTO_SCRAPE_MIN_INTERVAL, auto_scrape_min_interval, 300, SESSION,                          \
        "Shortest time between two scrapes of one tracker.")                                       \
    BOOL(VALIDATE_HTTPS_TRACKERS, validate_https_trackers, true, SESSION,                          \
         "Verify the certificates of https:// trackers.")                                          \
    INT(ALLOWED_FAST_SET_SIZE, allowed_fast_set_size, 5, SESSION,                                  \
        "Pieces in the allowed-fast set offered to each peer (BEP 6).")                            \
    INT(SUGGEST_MODE, suggest_mode, 0, SESSION,                                                    \
        "Send suggest-piece messages: 0 never, 1 for pieces in the read cache (sw_suggest_mode).") \
    BOOL(CLOSE_REDUNDANT_CONNECTIONS, close_redundant_connections, true, SESSION,                  \
         "Close connections that can no longer be useful (seed to seed, upload-only peers).")      \
    BOOL(STRICT_END_GAME_MODE, strict_end_game_mode, true, SESSION,                                \
         "Request a block from a second peer only when every block has been requested.")           \
    INT(MIXED_MODE_ALGORITHM, mixed_mode_algorithm, 1, SESSION,                                    \
        "Sharing bandwidth between TCP and uTP peers: 0 prefer TCP, 1 by peer count "              \
        "(sw_mixed_mode).")                                                                        \
    INT(WHOLE_PIECES_THRESHOLD, whole_pieces_threshold, 20, SESSION,                               \
        "Seconds: a peer fast enough to send a whole piece in this time is asked for whole "       \
        "pieces.")                                                                                 \
    INT(INITIAL_PICKER_THRESHOLD, initial_picker_threshold, 4, SESSION,                            \
        "Pieces picked at random before switching to rarest-first.")                               \
    INT(URLSEED_TIMEOUT, urlseed_timeout, 20, SESSION, "Seconds a web seed request may take.")     \
    INT(URLSEED_PIPELINE_SIZE, urlseed_pipeline_size, 5, SESSION,                                  \
        "Requests kept outstanding to one web seed.")                                              \
    INT(URLSEED_WAIT_RETRY, urlseed_wait_retry, 30, SESSION,                                       \
        "Seconds before retrying a web seed that failed.")                                         \
    INT(SEND_BUFFER_WATERMARK, send_buffer_watermark, 512000, SESSION,                             \
        "Upper bound, in bytes, of the send buffer refilled from disk for one peer.")              \
    INT(SEND_BUFFER_LOW_WATERMARK, send_buffer_low_watermark, 10240, SESSION,                      \
        "Lower bound, in bytes, of the send buffer refilled from disk for one peer.")              \
    INT(SEND_BUFFER_WATERMARK_FACTOR, send_buffer_watermark_factor, 50, SESSION,                   \
        "Send buffer target as a percentage of the peer's upload rate per second.")                \
    INT(RECV_SOCKET_BUFFER_SIZE, recv_socket_buffer_size, 0, SESSION,                              \
        "SO_RCVBUF for peer sockets in bytes; 0 keeps the OS default.")                            \
    INT(SEND_SOCKET_BUFFER_SIZE, send_socket_buffer_size, 0, SESSION,                              \
        "SO_SNDBUF for peer sockets in bytes; 0 keeps the OS default.")                            \
    BOOL(ANONYMOUS_MODE, anonymous_mode, false, SESSION,                                           \
         "Do not reveal the client: no user agent, random peer-id, no client version in "          \
         "handshakes.")                                                                            \
    INT(MAX_METADATA_SIZE, max_metadata_size, 31457280, SESSION,                                   \
        "Largest info dictionary accepted from peers (BEP 9), in bytes.")                          \
    INT(MAX_PEX_PEERS, max_pex_peers, 50, SESSION,                                                 \
        "Most peers accepted from one peer exchange message.")                                     \
    INT(LOCAL_SERVICE_ANNOUNCE_INTERVAL, local_service_announce_interval, 300, SESSION,            \
        "Seconds between local service discovery announces per torrent.")                          \
    INT(TICK_INTERVAL, tick_interval, 500, SESSION,                                                \
        "Milliseconds between session ticks (timeouts, rate averages, plugin on_tick).")           \
    INT(UTP_TARGET_DELAY, utp_target_delay, 100, SESSION,                                          \
        "uTP queuing delay target in milliseconds (LEDBAT).")                                      \
    INT(UTP_GAIN_FACTOR, utp_gain_factor, 3000, SESSION,                                           \
        "Most bytes a uTP window grows by per round trip.")                                        \
    INT(UTP_MIN_TIMEOUT, utp_min_timeout, 500, SESSION,                                            \
        "Shortest uTP packet timeout in milliseconds.")                                            \
    INT(UTP_SYN_RESENDS, utp_syn_resends, 2, SESSION, "Times a uTP SYN is resent.")                \
    INT(UTP_FIN_RESENDS, utp_fin_resends, 2, SESSION, "Times a uTP FIN is resent.")                \
    INT(UTP_NUM_RESENDS, utp_num_resends, 3, SESSION,                                              \
        "Times a uTP data packet is resent before the connection fails.")                          \
    INT(UTP_CONNECT_TIMEOUT, utp_connect_timeout, 3000, SESSION,                                   \
        "Milliseconds a uTP connection attempt may take.")                                         \
    INT(UTP_LOSS_MULTIPLIER, utp_loss_multiplier, 50, SESSION,                                     \
        "Percentage the uTP window is multiplied by on packet loss.")                              \
    STR(PLUGIN_SEARCH_PATH, plugin_search_path, "", SESSION,                                       \
        "Colon-separated folders searched for plugins named without a path (cswarm only).")        \
    INT(LUA_INSTRUCTION_LIMIT, lua_instruction_limit, 10000000, SESSION,                           \
        "Lua instructions one hook or script step may run before it is stopped; 0 means no "       \
        "limit (cswarm only).")                                                                    \
    INT(LUA_MEMORY_LIMIT, lua_memory_limit, 67108864, SESSION,                                     \
        "Bytes of memory one Lua state may allocate; 0 means no limit (cswarm only).")             \
    BOOL(LUA_PLUGIN_SANDBOX, lua_plugin_sandbox, true, SESSION,                                    \
         "Lua plugins get only the safe standard libraries (no io, os, package, debug, "            \
         "dofile, load of bytecode); off for trusted scripts (cswarm only).")                       \
    BOOL(STRICT_SUPER_SEEDING, strict_super_seeding, false, SESSION,                              \
         "Super seeding shows a peer its next piece only once another peer has the last one "     \
         "(BEP 16's rule); otherwise as soon as the peer itself has it.")                          \
    INT(SHARE_MODE_TARGET, share_mode_target, 3, SESSION,                                          \
        "Share mode: upload this many times what is downloaded, and fetch a piece only if at "    \
        "least this many connected peers lack it.")                                                \
    INT(OPTIMISTIC_DISK_RETRY, optimistic_disk_retry, 600, SESSION,                                \
        "Seconds after a disk-full write error before an auto-managed torrent leaves upload "     \
        "mode to try writing again.")                                                              \
    BOOL(SEND_REDUNDANT_HAVE, send_redundant_have, true, SESSION,                                  \
         "Announce a new piece even to peers that say they have it (super seeders rely on it).") \
    BOOL(IGNORE_LIMITS_ON_LOCAL_NETWORK, ignore_limits_on_local_network, true, SESSION,            \
         "Peers on the local network (loopback, private and link-local addresses) are not "        \
         "held to the rate limits.")                                                               \
    BOOL(RATE_LIMIT_UTP, rate_limit_utp, true, SESSION,                                            \
         "uTP peers are held to the session's upload and download rate limits (the torrents' "     \
         "limits apply either way).")                                                              \
    STR(DHT_BOOTSTRAP_NODES, dht_bootstrap_nodes, "dht.libtorrent.org:25401", DHT,                 \
        "Comma-separated HOST:PORT list of nodes used to join the DHT.")                           \
    INT(DHT_MAX_PEERS_REPLY, dht_max_peers_reply, 100, DHT,                                        \
        "Most peers returned in one get_peers reply.")                                             \
    INT(DHT_SEARCH_BRANCHING, dht_search_branching, 5, DHT,                                        \
        "Requests kept in flight by one DHT lookup.")                                              \
    INT(DHT_MAX_FAIL_COUNT, dht_max_fail_count, 20, DHT,                                           \
        "Failed requests in a row after which a node leaves the routing table.")                   \
    INT(DHT_MAX_TORRENTS, dht_max_torrents, 2000, DHT,                                             \
        "Most info-hashes this node stores peers for.")                                            \
    INT(DHT_MAX_DHT_ITEMS, dht_max_dht_items, 700, DHT, "Most BEP 44 items this node stores.")     \
    INT(DHT_MAX_PEERS, dht_max_peers, 500, DHT, "Most peers stored for one info-hash.")            \
    INT(DHT_MAX_TORRENT_SEARCH_REPLY, dht_max_torrent_search_reply, 20, DHT,                       \
        "Most torrents returned in one search reply.")                                             \
    BOOL(DHT_RESTRICT_ROUTING_IPS, dht_restrict_routing_ips, true, DHT,                            \
         "Allow one routing table entry per IP address (per /24 for IPv4).")                       \
    BOOL(DHT_RESTRICT_SEARCH_IPS, dht_restrict_search_ips, true, DHT,                              \
         "Allow one node per IP address in a lookup.")                                             \
    BOOL(DHT_EXTENDED_ROUTING_TABLE, dht_extended_routing_table, true, DHT,                        \
         "Use larger buckets for the closest levels of the routing table.")                        \
    BOOL(DHT_AGGRESSIVE_LOOKUPS, dht_aggressive_lookups, true, DHT,                                \
         "Keep search_branching requests in flight instead of waiting for whole rounds.")          \
    BOOL(DHT_PRIVACY_LOOKUPS, dht_privacy_lookups, false, DHT,                                     \
         "Hide the full target from nodes that are far from it.")                                  \
    BOOL(DHT_ENFORCE_NODE_ID, dht_enforce_node_id, false, DHT,                                     \
         "Ignore nodes whose id does not match their address (BEP 42).")                           \
    BOOL(DHT_IGNORE_DARK_INTERNET, dht_ignore_dark_internet, true, DHT,                            \
         "Ignore nodes in reserved and unroutable address ranges.")                                \
    INT(DHT_BLOCK_TIMEOUT, dht_block_timeout, 300, DHT,                                            \
        "Seconds a node exceeding dht_block_ratelimit is ignored.")                                \
    INT(DHT_BLOCK_RATELIMIT, dht_block_ratelimit, 5, DHT,                                          \
        "Requests per second one node may send before it is blocked.")                             \
    BOOL(DHT_READ_ONLY, dht_read_only, false, DHT,                                                 \
         "Set the BEP 43 read-only flag and answer no requests.")                                  \
    INT(DHT_ITEM_LIFETIME, dht_item_lifetime, 0, DHT,                                              \
        "Seconds a stored BEP 44 item lives; 0 means the implementation's default.")               \
    INT(DHT_UPLOAD_RATE_LIMIT, dht_upload_rate_limit, 8000, DHT,                                   \
        "Upload limit for DHT traffic in bytes/s.")                                                \
    INT(DHT_ANNOUNCE_INTERVAL, dht_announce_interval, 900, DHT,                                    \
        "Seconds between DHT announces of each torrent.")                                          \
    INT(PROXY_TYPE, proxy_type, 0, PROXY,                                                          \
        "0 none, 1 SOCKS4, 2 SOCKS5, 3 SOCKS5 with password, 4 HTTP, 5 HTTP with password "        \
        "(sw_proxy_type).")                                                                        \
    STR(PROXY_HOSTNAME, proxy_hostname, "", PROXY, "Proxy host name or address.")                  \
    INT(PROXY_PORT, proxy_port, 0, PROXY, "Proxy port.")                                           \
    STR(PROXY_USERNAME, proxy_username, "", PROXY, "Proxy user name.")                             \
    STR(PROXY_PASSWORD, proxy_password, "", PROXY, "Proxy password (saved in clear text).")        \
    BOOL(PROXY_HOSTNAMES, proxy_hostnames, true, PROXY,                                            \
         "Let the proxy resolve host names instead of resolving them locally.")                    \
    BOOL(PROXY_PEER_CONNECTIONS, proxy_peer_connections, true, PROXY,                              \
         "Route peer connections through the proxy.")                                              \
    BOOL(PROXY_TRACKER_CONNECTIONS, proxy_tracker_connections, true, PROXY,                        \
         "Route tracker connections through the proxy.")                                           \
    INT(OUT_ENC_POLICY, out_enc_policy, 1, ENCRYPTION,                                             \
        "Outgoing connections: 0 encryption forced, 1 enabled, 2 disabled (sw_enc_policy).")       \
    INT(IN_ENC_POLICY, in_enc_policy, 1, ENCRYPTION,                                               \
        "Incoming connections: 0 encryption forced, 1 enabled, 2 disabled (sw_enc_policy).")       \
    INT(ALLOWED_ENC_LEVEL, allowed_enc_level, 3, ENCRYPTION,                                       \
        "Stream encryption accepted: 1 plaintext, 2 RC4, 3 both (sw_enc_level).")                  \
    BOOL(PREFER_RC4, prefer_rc4, false, ENCRYPTION,                                                \
         "Ask for RC4 over plaintext when both are allowed.")

typedef enum sw_setting_id {
#define SW_SET_ENUM_(ID, name, def, cat, doc) SW_SET_##ID,
    SW_SETTINGS_MAP(SW_SET_ENUM_, SW_SET_ENUM_, SW_SET_ENUM_)
#undef SW_SET_ENUM_
        SW_SETTINGS_COUNT /* not a setting: how many there are in this build */
} sw_setting_id;

typedef enum sw_setting_type {
    SW_SETTING_STR = 1,
    SW_SETTING_INT = 2,
    SW_SETTING_BOOL = 3
} sw_setting_type;

/* One row of the table. Static data; never freed. */
typedef struct sw_setting_info {
    sw_setting_id id;
    const char *name;     /* e.g. "active_downloads" */
    sw_setting_type type; /* selects which default below is meaningful */
    uint32_t category;    /* SW_SETTINGS_CAT_* bits */
    const char *str_default;
    int int_default;
    bool bool_default;
    const char *doc; /* one line */
} sw_setting_info;

/* The row for id, or NULL if id is not a setting of this build. Iterating
 * ids from 0 to SW_SETTINGS_COUNT - 1 visits every setting in table order. */
SW_API const sw_setting_info *sw_setting_info_get(sw_setting_id id);
/* Looks a setting up by its exact name. Returns 0 and writes *id_out, or
 * SW_ERR_UNKNOWN_SETTING. */
SW_API int sw_setting_find(const char *name, sw_setting_id *id_out);

typedef struct sw_settings sw_settings;

/* A settings object holding every default. Free with sw_settings_free. */
SW_API int sw_settings_new(sw_settings **s_out);
SW_API int sw_settings_copy(const sw_settings *s, sw_settings **copy_out);
/* NULL is ok. */
SW_API void sw_settings_free(sw_settings *s);

/* Typed access by id. A setting of another type gives SW_ERR_SETTING_TYPE; an
 * id that is not a setting, SW_ERR_UNKNOWN_SETTING. The string returned by
 * sw_settings_get_str is borrowed: valid until that setting is changed or the
 * object freed. sw_settings_set_str copies its argument (which must not be
 * NULL). */
SW_API int sw_settings_get_int(const sw_settings *s, sw_setting_id id, int *value_out);
SW_API int sw_settings_get_bool(const sw_settings *s, sw_setting_id id, bool *value_out);
SW_API int sw_settings_get_str(const sw_settings *s, sw_setting_id id, const char **value_out);
SW_API int sw_settings_set_int(sw_settings *s, sw_setting_id id, int value);
SW_API int sw_settings_set_bool(sw_settings *s, sw_setting_id id, bool value);
SW_API int sw_settings_set_str(sw_settings *s, sw_setting_id id, const char *value);

/* The same by name; an unknown name gives SW_ERR_UNKNOWN_SETTING. */
SW_API int sw_settings_get_int_by_name(const sw_settings *s, const char *name, int *value_out);
SW_API int sw_settings_get_bool_by_name(const sw_settings *s, const char *name, bool *value_out);
SW_API int sw_settings_get_str_by_name(const sw_settings *s, const char *name,
                                       const char **value_out);
SW_API int sw_settings_set_int_by_name(sw_settings *s, const char *name, int value);
SW_API int sw_settings_set_bool_by_name(sw_settings *s, const char *name, bool value);
SW_API int sw_settings_set_str_by_name(sw_settings *s, const char *name, const char *value);

/* Whether the setting holds its default value (compared by value). */
SW_API bool sw_settings_is_default(const sw_settings *s, sw_setting_id id);
/* Puts one setting back to its default. */
SW_API int sw_settings_reset(sw_settings *s, sw_setting_id id);

/* Sets a setting from text, converting to its type: ints are decimal with an
 * optional sign and must fit an int; bools are "true", "false", "1" or "0";
 * strings are taken as they are (may be empty). Text the type cannot hold
 * gives SW_ERR_SETTING_TYPE; the setting is then unchanged. */
SW_API int sw_settings_set_text(sw_settings *s, const char *name, const char *value);
/* Parses "name=value" (the command line's --set): the name is everything
 * before the first '=', the value everything after it. Without '=' (or with
 * an empty name) gives SW_ERR_INVALID_ARG; otherwise as sw_settings_set_text. */
SW_API int sw_settings_apply_assignment(sw_settings *s, const char *assignment);

enum {
    /* sw_settings_save: write every selected setting, defaults included. */
    SW_SETTINGS_SAVE_ALL = 1u << 0,
};

/* Writes one bencoded dictionary {name: value} to enc (as the next value, so
 * it can be nested under a key of a larger document). Only settings whose
 * category has a bit in categories are written, and of those only values
 * different from their default unless flags has SW_SETTINGS_SAVE_ALL. Bools
 * are written as 0 or 1. */
SW_API int sw_settings_save(const sw_settings *s, uint32_t categories, unsigned flags,
                            sw_bencoder *enc);
/* The same as a complete bencoded buffer; the caller frees *buf_out with
 * free(). */
SW_API int sw_settings_save_buf(const sw_settings *s, uint32_t categories, unsigned flags,
                                uint8_t **buf_out, size_t *len_out);

/* Loads settings from a bencoded dictionary such as sw_settings_save writes.
 * Keys that name no setting, and settings outside categories, are ignored.
 * All or nothing: if a known, selected key has a value its setting cannot
 * hold (wrong bencode type, an int outside int's range, a bool other than 0
 * or 1, a string with a NUL byte), nothing is changed and SW_ERR_SETTING_TYPE
 * is returned; err_out (may be NULL) then names the key. A root that is not a
 * dictionary gives SW_ERR_INVALID_ARG. */
SW_API int sw_settings_load(sw_settings *s, sw_bnode dict, uint32_t categories,
                            sw_error_detail *err_out);
/* Decodes buf (untrusted input is fine) and loads it as above. Bencode errors
 * are returned as SW_ERR_BENCODE_*. */
SW_API int sw_settings_load_buf(sw_settings *s, const void *buf, size_t len, uint32_t categories,
                                sw_error_detail *err_out);

/* The settings reference in Markdown: for each category, a table of name,
 * type, default and description (the contents of docs/settings.md). The
 * caller frees *md_out with free(); *len_out excludes the terminating NUL and
 * may be NULL. */
SW_API int sw_settings_markdown(char **md_out, size_t *len_out);

#ifdef __cplusplus
}
#endif
#endif
