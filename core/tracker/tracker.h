/* core/tracker: HTTP(S) and UDP trackers and announce tiers. This is the
 * module's one public face inside core/. Not for embedders or plugins.
 *
 * Two objects, plus the pure pieces they are built from:
 *
 *   sw_tracker_client   one per session. Runs requests: HTTP(S) announces and
 *                       scrapes through libcurl's multi-socket interface
 *                       driven by the loop (one uv_poll_t per curl socket and
 *                       one uv_timer_t), and UDP announces and scrapes
 *                       (BEP 15) with connection-id caching and the 15 * 2^n
 *                       retransmit schedule, over a UDP transport the session
 *                       provides (or sockets of its own when it provides
 *                       none). Host names of UDP trackers are resolved with
 *                       uv_getaddrinfo; curl resolves HTTP hosts on its own
 *                       threads. Nothing blocks the loop.
 *
 *   sw_tracker_manager  one per torrent. Holds the torrent's trackers
 *                       (announce_list.h), decides when to announce to
 *                       which of them (interval, min interval, back-off,
 *                       BEP 12 tiers, announce_to_all_tiers /
 *                       announce_to_all_trackers), and reports what happens
 *                       through one callback (sw_tracker_notice), which the
 *                       session turns into alerts and peer-list entries.
 *
 *   tracker_proto.h     response parsers, URL and UDP packet builders.
 *   announce_list.h     the tier and per-tracker state machine, on a clock
 *                       the caller passes in.
 *
 * Settings are read from the session's sw_settings object (borrowed by the
 * client) each time they are needed, so apply_settings takes effect on the
 * next request: user_agent, anonymous_mode, validate_https_trackers,
 * tracker_completion_timeout, tracker_receive_timeout, stop_tracker_timeout,
 * tracker_maximum_response_length, num_want, min_announce_interval,
 * announce_to_all_tiers, announce_to_all_trackers, prefer_udp_trackers,
 * announce_ip and the proxy settings with proxy_tracker_connections (a proxy
 * set for trackers makes UDP trackers fail with SW_ERR_NOT_SUPPORTED rather
 * than bypass it).
 *
 * Load: at most 50 HTTP(S) tracker connections and 64 UDP requests are out
 * at once per client; more wait in line (their timeouts count from the
 * request), so a session starting thousands of torrents neither runs out of
 * descriptors nor loses UDP announces to full socket buffers.
 *
 * Using it from the session, in order:
 *   1. sw__tracker_client_new once (loop, settings, the shared UDP socket or
 *      a send function), and route every datagram of the shared socket
 *      through sw__tracker_client_on_udp_packet before uTP and DHT.
 *   2. Per torrent: sw__tracker_manager_new (info-hash, peer id, get_stats,
 *      on_notice), sw__tracker_manager_add_tracker for each announce-list
 *      entry (tier by tier), then _start when the torrent starts, _completed
 *      when it finishes downloading, _stop on pause, removal or shutdown
 *      (wait for its done callback: it is bounded by stop_tracker_timeout),
 *      and _close when the torrent goes away.
 *   3. At shutdown: stop every manager, wait, close them, then
 *      sw__tracker_client_close and keep running the loop until its callback.
 *
 * Ownership: the client and each manager are owned by their creator and
 * freed asynchronously by their close functions (memory is released in a
 * libuv close callback, so the loop must keep running). A manager borrows
 * its client; the client borrows the loop and the settings. Everything a
 * callback receives is borrowed for the duration of the call.
 *
 * Threading: everything here runs on the network thread, on the uv_loop_t
 * given to the client; callbacks run there too. The pure helpers in the
 * included headers run on any thread.
 *
 * Callbacks follow the libuv rule: a function that takes a callback either
 * returns an error and never calls it, or returns 0 and calls it exactly
 * once (or not at all after a cancel/close the caller asked for), never from
 * inside the call itself. */
#ifndef SW_CORE_TRACKER_H
#define SW_CORE_TRACKER_H

#ifndef SW_BUILDING_CORE
#ifndef SW_INTERNAL_OK
#error "core/tracker/tracker.h is internal to cswarm"
#endif
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <cswarm/error.h>
#include <cswarm/settings.h>

#include "announce_list.h"
#include "tracker_proto.h"

/* ======================================================================== */
/* The session-wide client                                                  */

typedef struct sw_tracker_client sw_tracker_client;
typedef struct sw_tracker_job sw_tracker_job;

/* Sends one datagram to `to` (sockaddr_in or sockaddr_in6). The buffer is
 * borrowed for the call only: copy it if the send completes later. Returns
 * 0 or a negative error (the request then fails with it). */
typedef int (*sw_tracker_udp_send_fn)(void *user, const struct sockaddr *to, const uint8_t *buf,
                                      size_t len);

/* Address families the UDP transport can reach (bits). */
enum { SW_TRACKER_FAMILY_V4 = 1, SW_TRACKER_FAMILY_V6 = 2 };

typedef struct sw_tracker_client_config {
    uv_loop_t *loop;             /* required */
    const sw_settings *settings; /* required; borrowed, must outlive the client */
    /* The UDP transport, one of three ways:
     *   - udp: the session's bound socket; the client sends on it, and the
     *     session passes every datagram it receives to
     *     sw__tracker_client_on_udp_packet first.
     *   - udp_send (+ udp_user, udp_families): the same, through a function.
     *   - neither: the client binds its own sockets (0.0.0.0:0 and, if the
     *     system has IPv6, [::]:0) and reads them itself. For tests and
     *     tools. */
    uv_udp_t *udp;
    sw_tracker_udp_send_fn udp_send;
    void *udp_user;
    unsigned udp_families; /* with udp_send: SW_TRACKER_FAMILY_* bits; 0 means IPv4 */
} sw_tracker_client_config;

int sw__tracker_client_new(const sw_tracker_client_config *cfg, sw_tracker_client **c_out);

/* Cancels every request still running (their callbacks are not called),
 * closes the client's handles and frees it; cb(user) runs once that is done
 * (cb may be NULL; the loop must keep running until then). Close every
 * manager that uses the client first. */
void sw__tracker_client_close(sw_tracker_client *c, void (*cb)(void *user), void *user);

/* Offers an incoming datagram from the shared UDP socket. Returns true if it
 * was the reply to one of the client's UDP requests (then nobody else should
 * look at it), false otherwise (hand it to uTP / DHT). data is borrowed. */
bool sw__tracker_client_on_udp_packet(sw_tracker_client *c, const struct sockaddr *from,
                                      const uint8_t *data, size_t len);

/* Bytes sent to and received from trackers so far (payload plus HTTP
 * headers; for the stats alert's upload_tracker / download_tracker). */
void sw__tracker_client_counters(const sw_tracker_client *c, uint64_t *sent_out,
                                 uint64_t *received_out);

typedef enum sw_tracker_request_kind {
    SW_TRACKER_REQ_ANNOUNCE = 0,
    SW_TRACKER_REQ_SCRAPE = 1,
    SW_TRACKER_REQ_FETCH = 2 /* a plain GET (sw__tracker_client_fetch only) */
} sw_tracker_request_kind;

/* One request. Everything is copied by sw__tracker_client_request. */
typedef struct sw_tracker_request {
    sw_tracker_request_kind kind;
    const char *url;           /* the tracker's announce URL */
    sw_announce_params params; /* for a scrape only info_hash is read */
    int timeout_s;             /* the whole request; 0 = tracker_completion_timeout */
    /* A fetch of range_len bytes at range_first (sw__tracker_client_fetch_range);
     * range_len 0 = the whole body. */
    int64_t range_first, range_len;
} sw_tracker_request;

/* The outcome, borrowed for the callback only (except what the callee takes
 * out of `announce`, see below). */
typedef struct sw_tracker_result {
    /* 0, or: SW_ERR_TRACKER_FAILURE (the tracker refused: message is its
     * text), SW_ERR_TRACKER_HTTP_STATUS, SW_ERR_TRACKER_BAD_RESPONSE,
     * SW_ERR_TRACKER_RESPONSE_TOO_LARGE, SW_ERR_TRACKER_CONNECT,
     * SW_ERR_TIMEOUT, SW_ERR_NOT_SUPPORTED, SW_ERR_NOMEM, or a libuv code
     * (name resolution: UV_EAI_*). */
    int error;
    int http_status;     /* HTTP status of the reply, 0 if none (UDP, no reply) */
    const char *message; /* NULL on success; otherwise what went wrong, one line */
    /* Announce: the reply (set on success, and on a refusal over HTTP that
     * came with a well-formed body). The callee may take ownership of its
     * heap members (peers, tracker_id, ...) by setting them to NULL. */
    sw_announce_response *announce;
    /* Scrape: the counts (set on success). */
    const sw_scrape_response *scrape;
    /* Seconds the tracker asked us to wait before retrying, or -1. */
    int64_t retry_after_s;
    /* Fetch: the body of a 200 reply (set on success). */
    const uint8_t *body;
    size_t body_len;
} sw_tracker_result;

typedef void (*sw_tracker_done_cb)(void *user, sw_tracker_job *job, const sw_tracker_result *r);

/* Starts a request. On 0, *job_out identifies it until cb runs (the job is
 * freed when cb returns) or until sw__tracker_job_cancel. Fails at once with
 * SW_ERR_TRACKER_BAD_URL (scheme not http/https/udp, malformed),
 * SW_ERR_TRACKER_NO_SCRAPE (an HTTP URL with no scrape counterpart),
 * SW_ERR_NOT_SUPPORTED (a UDP tracker with a tracker proxy set, or no
 * transport for its address family), SW_ERR_INVALID_ARG or SW_ERR_NOMEM. */
int sw__tracker_client_request(sw_tracker_client *c, const sw_tracker_request *req,
                               sw_tracker_done_cb cb, void *user, sw_tracker_job **job_out);

/* Abandons a request: its callback will not run. Safe to call from inside
 * another request's callback; not for a job whose callback has started. */
void sw__tracker_job_cancel(sw_tracker_job *job);

/* Downloads a URL into memory over the client's curl machinery (the same
 * connection limit, proxy settings with proxy_tracker_connections, user
 * agent and certificate check as HTTP trackers): http and https only,
 * redirects followed up to SW_FETCH_MAX_REDIRECTS times (to http/https
 * only), the body bounded by max_body bytes (0 = the
 * tracker_maximum_response_length setting), the whole transfer by
 * timeout_s seconds. cb gets the body of a 200 reply in r->body, or an
 * error: SW_ERR_HTTP_STATUS (another status; http_status says which),
 * SW_ERR_HTTP_TOO_LARGE, SW_ERR_HTTP_TOO_MANY_REDIRECTS, SW_ERR_TIMEOUT or
 * SW_ERR_HTTP_CONNECT (message: curl's reason). Fails at once with
 * SW_ERR_HTTP_BAD_URL for any other scheme. Cancel with
 * sw__tracker_job_cancel. */
#define SW_FETCH_MAX_REDIRECTS 5
int sw__tracker_client_fetch(sw_tracker_client *c, const char *url, size_t max_body, int timeout_s,
                             sw_tracker_done_cb cb, void *user, sw_tracker_job **job_out);
/* A ranged GET (web seeds, http_range.c): len > 0 bytes at first, asked
 * for with a Range header and no content encoding. cb gets exactly len
 * bytes in r->body: from a 206 reply whose Content-Range names that range,
 * or from a 200 reply of exactly len bytes when first is 0. Anything else
 * fails: SW_ERR_HTTP_STATUS (another status, or a 206 for another range:
 * http_status says which), SW_ERR_HTTP_BAD_RANGE (a body of another length
 * or a malformed Content-Range), SW_ERR_HTTP_TOO_LARGE (more than len
 * bytes: the transfer is cut off there, nothing more is buffered), and the
 * errors of sw__tracker_client_fetch. */
int sw__tracker_client_fetch_range(sw_tracker_client *c, const char *url, int64_t first,
                                   int64_t len, int timeout_s, sw_tracker_done_cb cb, void *user,
                                   sw_tracker_job **job_out);

/* ======================================================================== */
/* The per-torrent manager                                                  */

typedef struct sw_tracker_manager sw_tracker_manager;

/* What the torrent tells trackers, read each time an announce is sent. */
typedef struct sw_tracker_stats {
    int64_t uploaded, downloaded, left, corrupt; /* bytes */
    uint16_t port;                               /* our listen port */
    /* Optional &ipv4= / &ipv6= for HTTP trackers (numeric addresses we
     * listen on in the other family; BEP 7 now discourages them). NULL to
     * leave out. They are copied right after get_stats returns, so they may
     * point at the session's own long-lived strings. */
    const char *ipv4;
    const char *ipv6;
} sw_tracker_stats;

typedef enum sw_tracker_notice_type {
    SW_TRACKER_NOTICE_ANNOUNCE = 1, /* an announce was sent (tracker_announce alert) */
    SW_TRACKER_NOTICE_REPLY,        /* a tracker answered: peers and counts (tracker_reply) */
    SW_TRACKER_NOTICE_WARNING,      /* the reply carried a warning message (tracker_warning) */
    SW_TRACKER_NOTICE_ERROR,        /* an announce failed (tracker_error) */
    SW_TRACKER_NOTICE_SCRAPE_REPLY, /* scrape counts (scrape_reply) */
    SW_TRACKER_NOTICE_SCRAPE_FAILED /* a scrape failed (scrape_failed) */
} sw_tracker_notice_type;

/* One event. Everything is borrowed for the duration of the callback. */
typedef struct sw_tracker_notice {
    sw_tracker_notice_type type;
    const char *url;
    uint32_t entry_id;            /* sw_tracker_entry.id of the tracker */
    sw_tracker_event event;       /* ANNOUNCE, REPLY, ERROR: the announce's event */
    const sw_tracker_peer *peers; /* REPLY: peers found (may be 0 of them) */
    size_t num_peers;
    int64_t complete;    /* REPLY, SCRAPE_REPLY: seeds, -1 unknown */
    int64_t incomplete;  /* REPLY, SCRAPE_REPLY: downloaders, -1 unknown */
    int64_t downloaded;  /* REPLY, SCRAPE_REPLY: completed downloads, -1 unknown */
    int64_t interval;    /* REPLY: seconds until the next regular announce */
    int error;           /* ERROR, SCRAPE_FAILED: sw_tracker_result.error */
    int status_code;     /* ERROR: HTTP status, 0 if none */
    int times_in_row;    /* ERROR: consecutive failures of this tracker */
    const char *message; /* WARNING: the text; ERROR, SCRAPE_FAILED: the reason */
} sw_tracker_notice;

typedef void (*sw_tracker_notice_cb)(void *user, const sw_tracker_notice *n);
typedef void (*sw_tracker_stats_cb)(void *user, sw_tracker_stats *out);

typedef struct sw_tracker_manager_config {
    sw_tracker_client *client; /* required; must outlive the manager */
    uint8_t info_hash[SW_TRACKER_HASH_LEN];
    uint8_t peer_id[SW_TRACKER_HASH_LEN];
    uint32_t key; /* announce key (BEP 7); 0 = pick a random one */
    /* The tracker id to send before a tracker gives one (add_torrent_params
     * trackerid), or NULL. */
    const char *tracker_id;
    bool support_crypto, require_crypto; /* advertised to HTTP trackers */
    uint64_t shuffle_seed;               /* 0 = random; tests fix it */
    sw_tracker_stats_cb get_stats;       /* required */
    sw_tracker_notice_cb on_notice;      /* may be NULL */
    void *user;
} sw_tracker_manager_config;

int sw__tracker_manager_new(const sw_tracker_manager_config *cfg, sw_tracker_manager **m_out);

/* Cancels everything in flight (no stopped announce: call stop first for
 * that), stops calling back, and frees the manager once its timer handle is
 * closed; cb(user) then runs (may be NULL). */
void sw__tracker_manager_close(sw_tracker_manager *m, void (*cb)(void *user), void *user);

/* Adds a tracker in tier (see sw__announce_list_add for the errors). Can be
 * called at any time; a running manager considers it at once. */
int sw__tracker_manager_add_tracker(sw_tracker_manager *m, const char *url, int tier,
                                    unsigned source);

/* Removes the tracker at `index` (torrent_handle::replace_trackers is a
 * remove of every tracker, then adds); its requests in flight are
 * cancelled. SW_ERR_INVALID_ARG for an index out of range. */
int sw__tracker_manager_remove_tracker(sw_tracker_manager *m, size_t index);

/* The torrent starts or resumes: announce "started" according to the
 * rules, then keep announcing at the trackers' intervals. */
void sw__tracker_manager_start(sw_tracker_manager *m);

/* The download finished: "completed" goes to the trackers that have our
 * "started". Not for a torrent that started as a seed. */
void sw__tracker_manager_completed(sw_tracker_manager *m);

/* The torrent stops (pause, removal, session shutdown): regular announces
 * end, requests in flight are cancelled, and "stopped" goes to every tracker
 * that knows about us. done(user) runs once every stopped announce has
 * finished, or after stop_tracker_timeout seconds (then the rest are
 * cancelled), or on the next loop iteration if there was nothing to send.
 * done may be NULL. A second stop before done ran replaces done (the first
 * is never called); a start while stopping takes effect once the stop is
 * over. Returns 0, or SW_ERR_INVALID_ARG on a closed manager. */
int sw__tracker_manager_stop(sw_tracker_manager *m, void (*done)(void *user), void *user);

/* Announce now, ignoring intervals (torrent_handle::force_reannounce): the
 * tracker at `index` or, for a negative index, every tracker the rules pick.
 * Only while started. */
void sw__tracker_manager_force_reannounce(sw_tracker_manager *m, ptrdiff_t index);

/* Scrapes the tracker at `index` or, for a negative index, the first
 * tracker that is not failing. Returns 0 and gives a SCRAPE_REPLY or
 * SCRAPE_FAILED notice later (one notice serves scrapes asked while one is
 * out), or fails at once: SW_ERR_NOT_FOUND without trackers,
 * SW_ERR_INVALID_ARG for an index out of range, or an error of
 * sw__tracker_client_request (SW_ERR_TRACKER_NO_SCRAPE, ...). */
int sw__tracker_manager_scrape(sw_tracker_manager *m, ptrdiff_t index);

/* The trackers and their state, in the order they are tried (read-only;
 * valid until the next call into the manager or the next loop iteration). */
const sw_announce_list *sw__tracker_manager_list(const sw_tracker_manager *m);

#endif
