/* Test helpers for core/tracker: a loop runner that waits for a condition
 * with a deadline, a real opentracker on 127.0.0.1 (started on a free port,
 * killed on stop, and killed by the kernel if the test process dies first),
 * and a fake per-torrent peer that records what its tracker manager reports. */
#ifndef SW_TEST_TRACKER_FIXTURE_H
#define SW_TEST_TRACKER_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#include "tracker/tracker.h"

/* Runs loop until cond(arg) is true or timeout_ms passes (wall clock);
 * returns whether cond became true. A short repeating timer keeps the loop
 * turning, so nothing sleeps for a fixed time. */
bool tfx_run_until(uv_loop_t *loop, bool (*cond)(void *arg), void *arg, int timeout_ms);
/* Runs loop until no handles are left (or timeout_ms), then uv_loop_close;
 * returns its result (0 when everything was closed). */
int tfx_close_loop(uv_loop_t *loop, int timeout_ms);

/* Whether a program is on PATH. */
bool tfx_have_program(const char *name);
/* A port free for both TCP and UDP on 127.0.0.1 right now (0 if none). */
uint16_t tfx_free_port(void);
/* A fresh folder under /tmp, mode 0755. Returns 0 or -1. */
int tfx_make_temp_dir(char *out, size_t len);
/* Removes the files in dir and dir itself (one level). */
void tfx_remove_dir(const char *dir);

/* A server process started for a test. */
typedef struct tfx_process {
    pid_t pid; /* of its guardian; 0 when not running */
} tfx_process;

/* Starts argv (argv[0] looked up on PATH) in dir, its output appended to
 * dir/argv[0].log, under a guardian process that kills it when this process
 * dies. With wait_port, waits until 127.0.0.1:wait_port accepts TCP
 * connections. Returns 0, or -1 (nothing left running). */
int tfx_spawn(tfx_process *p, const char *dir, char *const argv[], uint16_t wait_port);
/* Stops it and waits for it. Safe on a process that is not running. */
void tfx_kill(tfx_process *p);
/* Runs argv in dir to completion; returns its exit status or -1. */
int tfx_run(const char *dir, char *const argv[]);

typedef struct tfx_opentracker {
    tfx_process proc;
    uint16_t port;
    char dir[128];
} tfx_opentracker;

/* Whether an opentracker binary is on PATH. */
bool tfx_opentracker_available(void);
/* Starts opentracker on 127.0.0.1 on a free port (HTTP and UDP) with a
 * whitelist of the given info-hashes, and waits until it accepts TCP
 * connections. Returns 0, or -1 with a message on stderr. */
int tfx_opentracker_start(tfx_opentracker *ot, const uint8_t (*hashes)[20], size_t n);
/* Kills it, reaps it and removes its folder. Safe to call twice and on a
 * tracker that never started. */
void tfx_opentracker_stop(tfx_opentracker *ot);

#define TFX_MAX_PEERS 64

/* One torrent in one fake client: a tracker manager and what it reported. */
typedef struct tfx_peer {
    sw_tracker_manager *m;
    sw_tracker_stats stats;
    int announces, replies, warnings, errors, scrapes, scrape_failures, stops_done;
    sw_tracker_event last_event; /* of the last ANNOUNCE notice */
    sw_tracker_event last_reply_event;
    sw_tracker_peer peers[TFX_MAX_PEERS]; /* from the last reply */
    size_t num_peers;
    int64_t complete, incomplete, downloaded; /* last reply or scrape */
    int last_error, last_status, times_in_row;
    char last_message[512];
    char last_url[256];
} tfx_peer;

/* Creates p->m on client for info_hash with a distinct peer id; listen
 * port `port`, `left` bytes left. Returns 0 or an error. */
int tfx_peer_init(tfx_peer *p, sw_tracker_client *client, const uint8_t info_hash[20],
                  uint16_t port, int64_t left, int peer_id_seed);
/* Whether the last reply listed 127.0.0.1:port. */
bool tfx_peer_sees(const tfx_peer *p, uint16_t port);

#endif
