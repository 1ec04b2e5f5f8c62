/* Internals shared by the tracker client's files (tracker_client.c,
 * http_tracker.c, udp_tracker.c). Not included by other modules. */
#ifndef SW_CORE_TRACKER_INTERNAL_H
#define SW_CORE_TRACKER_INTERNAL_H

#include <curl/curl.h>

#include "tracker.h"

/* Longest datagram the client reads on its own sockets. A reply of 200
 * IPv6 peers is 3620 bytes; anything longer than this is not ours. */
#define SW_TRACKER_UDP_BUFSIZE 16384
/* BEP 15: a connection id may be used for one minute after it arrives. */
#define SW_UDP_CONN_ID_LIFETIME_MS 60000
/* UDP requests with a packet out and no reply yet, over the client. More
 * wait their turn: a burst of thousands of announces (a session starting
 * many torrents) would overflow the tracker's socket buffer, or ours, and
 * every lost packet costs a retransmit timeout. */
#define SW_UDP_MAX_IN_FLIGHT 64
/* HTTP(S) tracker connections open at once, over the client. */
#define SW_HTTP_MAX_CONNECTIONS 50
/* Receive buffer asked for on the client's own UDP sockets. */
#define SW_UDP_RECV_BUFFER (1 << 20)
/* BEP 15: retransmit after 15 * 2^n seconds, n up to 8. */
#define SW_UDP_RETRANSMIT_BASE_S 15
#define SW_UDP_RETRANSMIT_MAX_N 8

typedef enum udp_state {
    UDP_RESOLVING = 0, /* waiting for uv_getaddrinfo */
    UDP_WAITING,       /* another request is fetching a connection id for this address */
    UDP_CONNECTING,    /* our connect request is out */
    UDP_REQUESTING     /* our announce/scrape is out */
} udp_state;

struct sw_tracker_job {
    sw_tracker_client *client;
    struct sw_tracker_job *prev, *next; /* the client's list of live jobs */
    sw_tracker_request_kind kind;
    sw_tracker_url_kind url_kind;
    char *url;        /* owned copy */
    char *tracker_id; /* owned copy of params.tracker_id */
    char *ip;         /* owned copies of the optional ip parameters */
    char *ipv4;
    char *ipv6;
    sw_announce_params params; /* its string pointers point at the copies above */
    sw_tracker_done_cb cb;
    void *user;
    uint64_t deadline; /* uv_now() ms after which the request fails */
    bool finished;     /* cb ran or the job was cancelled */

    /* HTTP */
    CURL *easy;
    sw_buf body;
    size_t max_body;
    bool too_large;
    char curl_err[CURL_ERROR_SIZE];
    int64_t range_first, range_len; /* a ranged fetch when range_len > 0 */
    char content_range[80];         /* the last Content-Range value seen ("" if none) */

    /* UDP */
    int refs;             /* open handles and requests that still point here */
    uv_timer_t timer;     /* retransmits and the deadline */
    bool timer_open;      /* timer initialised and not yet closing */
    uv_getaddrinfo_t gai; /* live while gai_pending */
    bool gai_pending;
    udp_state state;
    struct sockaddr_storage addr;
    uint32_t tid;
    unsigned attempt;  /* retransmissions of the current packet */
    bool conn_wake;    /* marked to go on with a connection id that just arrived */
    int flight_slot;   /* index in the client's flight table, or -1 */
    bool owns_pending; /* this job's connect marked its address as connecting */
    bool queued;       /* waiting for a slot, in the client's udp queue */
    struct sw_tracker_job *queue_next;
    uint64_t conn_id;
};

/* A connection id a UDP tracker gave us. */
typedef struct udp_conn_entry {
    struct sockaddr_storage addr;
    uint64_t conn_id;
    uint64_t expires; /* uv_now() ms */
    bool pending;     /* a connect is out, no id yet (expires: its deadline) */
} udp_conn_entry;

/* One uv_poll_t per socket curl asks us to watch. */
typedef struct curl_watch {
    uv_poll_t poll;
    sw_tracker_client *client;
    curl_socket_t fd;
    int events; /* UV_READABLE / UV_WRITABLE curl asked for */
    struct curl_watch *prev, *next;
} curl_watch;

struct sw_tracker_client {
    uv_loop_t *loop;
    const sw_settings *settings;
    sw_tracker_job *jobs; /* live jobs (both kinds) */
    uint64_t rng;
    uint64_t bytes_sent, bytes_received;

    /* HTTP */
    CURLM *multi;
    uv_timer_t curl_timer;
    curl_watch *watches;
    bool curl_cleanup; /* curl_multi_cleanup is running */

    /* UDP transport */
    uv_udp_t *shared_udp;
    sw_tracker_udp_send_fn udp_send;
    void *udp_user;
    unsigned families;
    uv_udp_t own4, own6;
    bool own4_open, own6_open;
    uint8_t *recv_buf;
    bool recv_busy;
    udp_conn_entry *conns;
    size_t num_conns, cap_conns;
    int udp_in_flight;
    sw_tracker_job *flight[SW_UDP_MAX_IN_FLIGHT];    /* the jobs holding a slot */
    sw_tracker_job *udp_queue_head, *udp_queue_tail; /* FIFO of jobs waiting for a slot */
    uv_timer_t udp_pump; /* starts queued jobs outside other jobs' callbacks */

    /* Closing */
    bool closing;
    int open_handles; /* handles and jobs still to be released before the free */
    void (*close_cb)(void *user);
    void *close_user;
    int live_managers; /* managers not yet closed (checked in debug builds) */
};

/* tracker_client.c */
/* Starts a request of any kind (a fetch included); max_body 0 takes the
 * tracker_maximum_response_length setting. */
int sw__tracker_client_start(sw_tracker_client *c, const sw_tracker_request *req, size_t max_body,
                             sw_tracker_done_cb cb, void *user, sw_tracker_job **job_out);
uint32_t sw__tracker_client_random32(sw_tracker_client *c);
/* Delivers the outcome (once), unlinks and releases the job. */
void sw__tracker_job_finish(sw_tracker_job *job, const sw_tracker_result *r);
/* Finishes with an error code and message. */
void sw__tracker_job_fail(sw_tracker_job *job, int error, int http_status, const char *message);
/* Drops one reference the job's handles or requests held; frees the job at
 * zero. */
void sw__tracker_job_unref(sw_tracker_job *job);
/* A handle of the client finished closing. */
void sw__tracker_client_handle_closed(sw_tracker_client *c);

/* http_tracker.c */
int sw__http_tracker_init(sw_tracker_client *c);
int sw__http_tracker_start(sw_tracker_job *job);
void sw__http_tracker_cancel(sw_tracker_job *job);
void sw__http_tracker_shutdown(sw_tracker_client *c);

/* http_fetch.c: a finished plain GET (curl result and HTTP status). */
void sw__http_fetch_done(sw_tracker_job *job, CURLcode res, long status);
/* http_range.c: a ranged GET's curl options, its header callback and its
 * end. */
void sw__http_range_setup(sw_tracker_job *job, CURL *e);
void sw__http_range_done(sw_tracker_job *job, long status);

/* udp_tracker.c */
int sw__udp_tracker_init(sw_tracker_client *c);
int sw__udp_tracker_start(sw_tracker_job *job);
void sw__udp_tracker_cancel(sw_tracker_job *job);
bool sw__udp_tracker_on_packet(sw_tracker_client *c, const struct sockaddr *from,
                               const uint8_t *data, size_t len);
void sw__udp_tracker_shutdown(sw_tracker_client *c);
/* Milliseconds to wait for a reply to transmission number n (0 first):
 * 15 * 2^n seconds (n capped at 8), with 15 replaced by
 * tracker_receive_timeout when that is shorter. */
uint64_t sw__udp_tracker_retransmit_ms(unsigned n, int receive_timeout_s);

#endif
