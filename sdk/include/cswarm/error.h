/* Error codes. Every cswarm function that can fail returns 0 or a negative
 * code. Codes are appended only and never reused. libuv's codes (UV_E*, all
 * above -4096) pass through unchanged; cswarm's own codes live from -20000
 * down. sw_strerror() and sw_err_name() name every code, falling back to
 * libuv's text for libuv codes. Thread-safe; returned strings are static. */
#ifndef CSWARM_ERROR_H
#define CSWARM_ERROR_H

#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SW_ERRNO_MAP(XX)                                                                           \
    XX(NOMEM, -20000, "out of memory")                                                             \
    XX(INVALID_ARG, -20001, "invalid argument")                                                    \
    XX(INVALID_HANDLE, -20002, "invalid or expired handle")                                        \
    XX(NOT_SUPPORTED, -20003, "not supported")                                                     \
    XX(IO, -20004, "input/output error")                                                           \
    XX(LIMIT, -20005, "a size or count limit was exceeded")                                        \
    XX(NOT_FOUND, -20006, "not found")                                                             \
    XX(EXISTS, -20007, "already exists")                                                           \
    XX(CRYPTO, -20008, "cryptographic library failure")                                            \
    XX(BENCODE_EOF, -20100, "bencode: unexpected end of input")                                    \
    XX(BENCODE_SYNTAX, -20101, "bencode: unexpected character")                                    \
    XX(BENCODE_INT_OVERFLOW, -20102, "bencode: integer out of range")                              \
    XX(BENCODE_BAD_INT, -20103, "bencode: malformed integer")                                      \
    XX(BENCODE_BAD_STRING_LENGTH, -20104, "bencode: malformed string length")                      \
    XX(BENCODE_DEPTH, -20105, "bencode: nesting too deep")                                         \
    XX(BENCODE_TOO_MANY_NODES, -20106, "bencode: too many items")                                  \
    XX(BENCODE_TRAILING, -20107, "bencode: trailing bytes after the value")                        \
    XX(BENCODE_LEADING_ZERO, -20108, "bencode: number with a leading zero or negative zero")       \
    XX(BENCODE_KEY_ORDER, -20109, "bencode: dictionary keys not sorted")                           \
    XX(BENCODE_DUPLICATE_KEY, -20110, "bencode: duplicate dictionary key")                         \
    XX(BENCODE_KEY_NOT_STRING, -20111, "bencode: dictionary key is not a string")                  \
    XX(METAINFO_NOT_DICT, -20200, "torrent: not a bencoded dictionary")                            \
    XX(METAINFO_NO_INFO, -20201, "torrent: missing info dictionary")                               \
    XX(METAINFO_BAD_NAME, -20202, "torrent: missing or invalid name")                              \
    XX(METAINFO_BAD_PIECE_LENGTH, -20203, "torrent: missing or invalid piece length")              \
    XX(METAINFO_BAD_PIECES, -20204, "torrent: missing or invalid piece hashes")                    \
    XX(METAINFO_BAD_FILES, -20205, "torrent: invalid file list")                                   \
    XX(METAINFO_BAD_FILE_LENGTH, -20206, "torrent: invalid file length")                           \
    XX(METAINFO_BAD_PATH, -20207, "torrent: invalid file path")                                    \
    XX(METAINFO_DUPLICATE_PATH, -20208, "torrent: two files with the same path")                   \
    XX(METAINFO_TOO_LARGE, -20209, "torrent: metadata too large")                                  \
    XX(METAINFO_PIECE_COUNT, -20210, "torrent: piece count does not match total size")             \
    XX(METAINFO_V2_ONLY, -20211, "torrent: v2-only torrents are not supported")                    \
    XX(METAINFO_BAD_V2, -20212, "torrent: invalid v2 file tree or piece layers")                   \
    XX(METAINFO_EMPTY, -20213, "torrent: no data (total size is zero)")                            \
    XX(METAINFO_HASH_MISMATCH, -20214, "torrent: info dictionary does not match the info-hash")     \
    XX(MAGNET_NOT_MAGNET, -20300, "magnet: not a magnet link")                                     \
    XX(MAGNET_NO_HASH, -20301, "magnet: no xt=urn:btih or urn:btmh info-hash")                     \
    XX(MAGNET_BAD_HASH, -20302, "magnet: malformed info-hash")                                     \
    XX(MAGNET_BAD_ESCAPE, -20303, "magnet: malformed percent-encoding")                            \
    XX(MAGNET_BAD_PEER, -20304, "magnet: malformed x.pe peer address")                             \
    XX(MAGNET_BAD_SELECT, -20305, "magnet: malformed so= file selection")                          \
    XX(CREATE_NO_FILES, -20400, "create: no files to add")                                         \
    XX(CREATE_BAD_PIECE_SIZE, -20401, "create: piece size must be a power of two of at least 16 KiB") \
    XX(CREATE_FILE_CHANGED, -20402, "create: a file changed size while it was being hashed")       \
    XX(PROTOCOL, -20500, "peer: protocol violation")                                               \
    XX(HANDSHAKE, -20501, "peer: bad handshake")                                                   \
    XX(INFO_HASH_MISMATCH, -20502, "peer: unknown info-hash")                                      \
    XX(MESSAGE_TOO_LARGE, -20503, "peer: message too large")                                       \
    XX(TIMEOUT, -20504, "timed out")                                                               \
    XX(SELF_CONNECTION, -20505, "connected to ourselves")                                          \
    XX(DUPLICATE_PEER, -20506, "duplicate peer connection")                                        \
    XX(BANNED, -20507, "peer is banned")                                                           \
    XX(HASH_FAILED, -20508, "piece failed its hash check")                                         \
    XX(ABORTED, -20509, "operation aborted")                                                       \
    XX(DUPLICATE_TORRENT, -20510, "torrent already in the session")                                \
    XX(STORAGE, -20511, "storage error")                                                           \
    XX(RESUME_DATA, -20512, "invalid resume data")                                                 \
    XX(UNKNOWN_SETTING, -20513, "unknown setting")                                                 \
    XX(SETTING_TYPE, -20514, "setting has another type")                                           \
    XX(NOT_READY, -20515, "torrent not ready (its files are being checked)")                       \
    XX(BLOCKED_BY_IP_FILTER, -20516, "peer refused by the IP filter")                              \
    XX(BLOCKED_BY_PORT_FILTER, -20517, "peer refused by the port filter")                          \
    XX(TRACKER_BAD_RESPONSE, -20600, "tracker: malformed response")                                \
    XX(TRACKER_FAILURE, -20601, "tracker: the tracker refused the request")                        \
    XX(TRACKER_HTTP_STATUS, -20602, "tracker: HTTP error status")                                  \
    XX(TRACKER_BAD_URL, -20603, "tracker: unsupported or malformed tracker URL")                   \
    XX(TRACKER_RESPONSE_TOO_LARGE, -20604, "tracker: response too large")                          \
    XX(TRACKER_CONNECT, -20605, "tracker: could not reach the tracker")                            \
    XX(TRACKER_NO_SCRAPE, -20606, "tracker: the tracker URL has no scrape counterpart")            \
    XX(DHT_MALFORMED, -20700, "dht: malformed KRPC message")                                       \
    XX(DHT_NO_NODES, -20701, "dht: no nodes to query")                                             \
    XX(DHT_BAD_SIGNATURE, -20702, "dht: invalid item signature")                                   \
    XX(DHT_ITEM_TOO_LARGE, -20703, "dht: item value larger than 1000 bytes")                       \
    XX(DHT_SALT_TOO_LARGE, -20704, "dht: salt longer than 64 bytes")                               \
    XX(DHT_CAS_MISMATCH, -20705, "dht: compare-and-swap sequence number mismatch")                 \
    XX(DHT_SEQ_OUTDATED, -20706, "dht: sequence number not newer than the stored one")             \
    XX(DHT_BAD_TOKEN, -20707, "dht: invalid or expired write token")                               \
    XX(DHT_REMOTE_ERROR, -20708, "dht: the remote node answered with an error")                    \
    XX(DHT_NOT_RUNNING, -20709, "dht: the DHT is not running")                                     \
    XX(PLUGIN_OPEN, -20800, "plugin: cannot open the module")                                      \
    XX(PLUGIN_NO_ENTRY, -20801, "plugin: the module has no entry point")                           \
    XX(PLUGIN_ABI, -20802, "plugin: built for another plugin ABI or build signature")              \
    XX(PLUGIN_INIT, -20803, "plugin: its initialisation failed")                                   \
    XX(PLUGIN_FAILED, -20804, "plugin: a hook failed; the plugin was disabled")                    \
    XX(HTTP_STATUS, -20900, "http: the server answered with an error status")                      \
    XX(HTTP_TOO_LARGE, -20901, "http: response larger than the limit")                             \
    XX(HTTP_TOO_MANY_REDIRECTS, -20902, "http: too many redirects")                                \
    XX(HTTP_CONNECT, -20903, "http: the download failed")                                          \
    XX(HTTP_BAD_URL, -20904, "http: not an http or https URL")                                     \
    XX(HTTP_BAD_RANGE, -20905, "http: the server sent another byte range than asked for")          \
    XX(PORTMAP_REFUSED, -21000, "port mapping: the gateway refused the mapping")

typedef enum sw_errno {
#define SW_ERR_DEFINE_(name, code, msg) SW_ERR_##name = (code),
    SW_ERRNO_MAP(SW_ERR_DEFINE_)
#undef SW_ERR_DEFINE_
        SW_OK = 0
} sw_errno;

/* A human-readable message for any code (cswarm's, libuv's or a system
 * errno negated); never NULL. */
SW_API const char *sw_strerror(int err);
/* The symbolic name, e.g. "SW_ERR_NOMEM" or "UV_ECONNREFUSED"; never NULL. */
SW_API const char *sw_err_name(int err);

#ifdef __cplusplus
}
#endif
#endif
