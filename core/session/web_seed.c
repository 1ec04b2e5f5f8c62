/* Web seeds of a torrent: the request loop; see web_seed.h. */
#include "web_seed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_queue.h"
#include "peer/peer.h"
#include "peer/web_seed.h"
#include "tracker/tracker.h"

/* Runs fetched at once from one seed: urlseed_pipeline_size, capped. */
#define SW_WEB_SEED_MAX_PIPELINE 16

typedef struct sw_web_seed sw_web_seed;

/* One run being fetched: n_blocks blocks from first_block of piece, len
 * bytes gathered into buf (pad bytes stay zero), one range request per
 * file it crosses, in turn. */
typedef struct ws_run {
    sw_web_seed *ws;
    sw_tracker_job *job; /* the range request in flight, or NULL */
    bool busy;
    int piece, first_block, n_blocks;
    uint8_t *buf;
    size_t len;
    sw_web_seed_range *ranges;
    int n_ranges, next_range;
} ws_run;

struct sw_web_seed {
    sw_web_seed *next;
    sw_torrent *t;
    char *url;
    sw_peer_entry entry; /* its identity in the picker; not in the peer list */
    uint8_t hashfails_seen;
    int failures; /* requests failed in a row */
    uint64_t retry_at_ms;
    ws_run runs[SW_WEB_SEED_MAX_PIPELINE];
};

/* The torrent's seeds; created by the first tick or API call. */
typedef struct sw_web_seeds {
    sw_web_seed *head;
    bool loaded; /* the url-list of the metadata was added */
} sw_web_seeds;

static sw_web_seeds *seeds_of(sw_torrent *t)
{
    if (!t->web_seeds)
        t->web_seeds = calloc(1, sizeof(sw_web_seeds));
    return t->web_seeds;
}

static int add_seed(sw_torrent *t, sw_web_seeds *s, const char *url);

/* Adds the metadata's url-list once it is known, before any API change, so
 * that a removed url-list entry stays removed. */
static sw_web_seeds *loaded_seeds(sw_torrent *t)
{
    sw_web_seeds *s = seeds_of(t);
    if (s && !s->loaded && t->ti) {
        s->loaded = true;
        for (int i = 0; i < sw_torrent_info_num_web_seeds(t->ti); i++)
            (void)add_seed(t, s, sw_torrent_info_web_seed(t->ti, i));
    }
    return s;
}

static uint64_t now_ms(const sw_torrent *t)
{
    return uv_now(&t->ses->loop);
}

static void post_alert(sw_web_seed *ws, int error, int status, const char *msg)
{
    sw_torrent *t = ws->t;
    sw_alert *a = sw__session_torrent_alert(t->ses, t, SW_ALERT_URL_SEED, false);
    if (!a)
        return;
    a->error = error;
    a->payload.tracker.status_code = status;
    a->payload.tracker.times_in_row = ws->failures;
    (void)sw__alert_set_str(a, &a->payload.tracker.url, ws->url);
    (void)sw__alert_set_str(a, &a->payload.tracker.text, msg ? msg : sw_strerror(error));
    sw__alert_set_message(a, "%s: web seed %s: %s", t->name, ws->url,
                          msg ? msg : sw_strerror(error));
    sw__session_post_alert(t->ses, a);
}

static void drop_run(ws_run *run, bool abort_requests)
{
    sw_web_seed *ws = run->ws;
    if (run->job)
        sw__tracker_job_cancel(run->job);
    run->job = NULL;
    if (run->busy && abort_requests)
        sw__swarm_web_abort(&ws->t->swarm, &ws->entry, run->piece, run->first_block, run->n_blocks);
    free(run->buf);
    free(run->ranges);
    run->buf = NULL;
    run->ranges = NULL;
    run->busy = false;
}

static bool seed_idle(const sw_web_seed *ws)
{
    for (int i = 0; i < SW_WEB_SEED_MAX_PIPELINE; i++)
        if (ws->runs[i].busy)
            return false;
    return true;
}

static void back_off(sw_web_seed *ws)
{
    int wait_s = sw__settings_int(ws->t->ses->settings, SW_SET_URLSEED_WAIT_RETRY);
    ws->retry_at_ms = now_ms(ws->t) + (uint64_t)(wait_s > 0 ? wait_s : 0) * 1000;
}

static void request_failed(ws_run *run, int error, int status, const char *msg)
{
    sw_web_seed *ws = run->ws;
    ws->failures++;
    drop_run(run, true);
    back_off(ws);
    post_alert(ws, error, status, msg);
}

static void start_next(ws_run *run);
static void fill_pipeline(sw_web_seed *ws);

static void on_range(void *user, sw_tracker_job *job, const sw_tracker_result *r)
{
    (void)job;
    ws_run *run = user;
    run->job = NULL;
    if (r->error < 0) {
        request_failed(run, r->error, r->http_status, r->message);
        return;
    }
    const sw_web_seed_range *rg = &run->ranges[run->next_range];
    /* The tracker client hands over exactly the bytes asked for. */
    if ((int64_t)r->body_len != rg->size) {
        request_failed(run, SW_ERR_HTTP_BAD_RANGE, r->http_status, NULL);
        return;
    }
    memcpy(run->buf + rg->run_offset, r->body, r->body_len);
    run->next_range++;
    run->ws->failures = 0;
    start_next(run);
    if (!run->busy)
        fill_pipeline(run->ws);
}

/* Issues the next range request of the run, or delivers the run when all
 * its ranges are in and picks the next one for this slot. */
static void start_next(ws_run *run)
{
    sw_web_seed *ws = run->ws;
    sw_torrent *t = ws->t;
    for (;;) {
        if (run->busy && run->next_range < run->n_ranges) {
            const sw_web_seed_range *rg = &run->ranges[run->next_range];
            char url[SW_WEB_SEED_MAX_URL + 1];
            int rc = sw__web_seed_file_url(t->ti, ws->url, rg->file_index, url, sizeof url, NULL);
            if (rc == 0) {
                int timeout = sw__settings_int(t->ses->settings, SW_SET_URLSEED_TIMEOUT);
                rc = t->ses->tracker_client
                         ? sw__tracker_client_fetch_range(
                               t->ses->tracker_client, url, rg->file_offset, rg->size,
                               timeout > 0 ? timeout : 20, on_range, run, &run->job)
                         : SW_ERR_NOT_SUPPORTED;
            }
            if (rc < 0)
                request_failed(run, rc, 0, NULL);
            return;
        }
        if (run->busy) {
            sw__swarm_web_deliver(&t->swarm, &ws->entry, run->piece, run->first_block, run->buf,
                                  run->len);
            drop_run(run, false);
        }
        /* A hash failure or a ban is seen before anything more is asked. */
        if (ws->entry.banned || ws->entry.hashfails != ws->hashfails_seen)
            return;
        if (now_ms(t) < ws->retry_at_ms || !sw__swarm_web_wants(&t->swarm))
            return;
        int piece_len = sw_torrent_info_piece_length(t->ti);
        int max_blocks = (piece_len + SW_PICKER_BLOCK_SIZE - 1) / SW_PICKER_BLOCK_SIZE;
        int piece = 0, first = 0, n = 0;
        if (sw__swarm_web_pick(&t->swarm, &ws->entry, max_blocks, &piece, &first, &n) < 0 || n == 0)
            return;
        run->busy = true;
        run->piece = piece;
        run->first_block = first;
        run->n_blocks = n;
        int64_t offset = (int64_t)first * SW_PICKER_BLOCK_SIZE;
        int64_t end = (int64_t)(first + n) * SW_PICKER_BLOCK_SIZE;
        int64_t psize = sw_torrent_info_piece_size(t->ti, piece);
        if (end > psize)
            end = psize;
        run->len = (size_t)(end - offset);
        int nr = sw__web_seed_plan(t->ti, piece, offset, end - offset, NULL, 0);
        run->buf = calloc(1, run->len);
        run->ranges = nr > 0 ? calloc((size_t)nr, sizeof *run->ranges) : NULL;
        if (nr < 0 || !run->buf || (nr > 0 && !run->ranges)) {
            request_failed(run, nr < 0 ? nr : SW_ERR_NOMEM, 0, NULL);
            return;
        }
        run->n_ranges = sw__web_seed_plan(t->ti, piece, offset, end - offset, run->ranges, nr);
        run->next_range = 0;
    }
}

static void check_hash_failures(sw_web_seed *ws)
{
    if (ws->entry.hashfails == ws->hashfails_seen)
        return;
    ws->hashfails_seen = ws->entry.hashfails;
    ws->failures++;
    back_off(ws);
    post_alert(ws, SW_ERR_HASH_FAILED, 0, "a piece from this web seed failed its hash check");
}

/* Starts idle slots, up to urlseed_pipeline_size runs at once. */
static void fill_pipeline(sw_web_seed *ws)
{
    int depth = sw__settings_int(ws->t->ses->settings, SW_SET_URLSEED_PIPELINE_SIZE);
    if (depth < 1)
        depth = 1;
    if (depth > SW_WEB_SEED_MAX_PIPELINE)
        depth = SW_WEB_SEED_MAX_PIPELINE;
    for (int i = 0; i < depth; i++) {
        ws_run *run = &ws->runs[i];
        if (run->busy)
            continue;
        start_next(run);
        if (!run->busy)
            return; /* nothing to pick, backing off, or the seed failed */
    }
}

static void seed_free(sw_web_seed *ws)
{
    for (int i = 0; i < SW_WEB_SEED_MAX_PIPELINE; i++)
        drop_run(&ws->runs[i], true);
    sw__swarm_web_forget(&ws->t->swarm, &ws->entry);
    free(ws->url);
    free(ws);
}

static bool url_ok(const char *url)
{
    size_t n = url ? strlen(url) : 0;
    if (n == 0 || n > SW_WEB_SEED_MAX_URL)
        return false;
    return !strncmp(url, "http://", 7) || !strncmp(url, "https://", 8);
}

int sw__web_seeds_add(sw_torrent *t, const char *url)
{
    if (!url_ok(url))
        return SW_ERR_INVALID_ARG;
    sw_web_seeds *s = loaded_seeds(t);
    if (!s)
        return SW_ERR_NOMEM;
    return add_seed(t, s, url);
}

static int add_seed(sw_torrent *t, sw_web_seeds *s, const char *url)
{
    if (!url_ok(url))
        return SW_ERR_INVALID_ARG;
    for (sw_web_seed *ws = s->head; ws; ws = ws->next)
        if (!strcmp(ws->url, url))
            return 0;
    sw_web_seed *ws = calloc(1, sizeof *ws);
    char *copy = strdup(url);
    if (!ws || !copy) {
        free(ws);
        free(copy);
        return SW_ERR_NOMEM;
    }
    ws->t = t;
    ws->url = copy;
    for (int i = 0; i < SW_WEB_SEED_MAX_PIPELINE; i++)
        ws->runs[i].ws = ws;
    /* Appended: seeds are tried in url-list order. */
    sw_web_seed **pp = &s->head;
    while (*pp)
        pp = &(*pp)->next;
    *pp = ws;
    return 0;
}

int sw__web_seeds_remove(sw_torrent *t, const char *url)
{
    sw_web_seeds *s = loaded_seeds(t);
    if (!url || !s)
        return SW_ERR_NOT_FOUND;
    for (sw_web_seed **pp = &s->head; *pp; pp = &(*pp)->next) {
        if (!strcmp((*pp)->url, url)) {
            sw_web_seed *ws = *pp;
            *pp = ws->next;
            seed_free(ws);
            return 0;
        }
    }
    return SW_ERR_NOT_FOUND;
}

int sw__web_seeds_list(sw_torrent *t, char **out, int *count_out)
{
    sw_web_seeds *s = loaded_seeds(t);
    size_t len = 1;
    int count = 0;
    for (sw_web_seed *ws = s ? s->head : NULL; ws; ws = ws->next, count++)
        len += strlen(ws->url) + 1;
    char *buf = malloc(len);
    if (!buf)
        return SW_ERR_NOMEM;
    size_t at = 0;
    for (sw_web_seed *ws = s ? s->head : NULL; ws; ws = ws->next) {
        size_t n = strlen(ws->url);
        memcpy(buf + at, ws->url, n);
        at += n;
        buf[at++] = '\n';
    }
    if (at > 0)
        at--; /* no newline after the last */
    buf[at] = '\0';
    *out = buf;
    if (count_out)
        *count_out = count;
    return 0;
}

int sw__web_seeds_active(const sw_torrent *t)
{
    const sw_web_seeds *s = t->web_seeds;
    int n = 0;
    for (const sw_web_seed *ws = s ? s->head : NULL; ws; ws = ws->next)
        n += !seed_idle(ws);
    return n;
}

void sw__web_seeds_tick(sw_torrent *t)
{
    if (t->removed || !t->ti)
        return;
    sw_web_seeds *s = loaded_seeds(t);
    if (!s)
        return;
    sw_web_seed **pp = &s->head;
    while (*pp) {
        sw_web_seed *ws = *pp;
        if (ws->entry.banned && seed_idle(ws)) {
            /* The swarm banned it after repeated hash failures. */
            post_alert(ws, SW_ERR_BANNED, 0, "banned after repeated hash failures");
            *pp = ws->next;
            seed_free(ws);
            continue;
        }
        check_hash_failures(ws);
        fill_pipeline(ws);
        pp = &ws->next;
    }
}

void sw__web_seeds_free(sw_torrent *t)
{
    sw_web_seeds *s = t->web_seeds;
    if (!s)
        return;
    while (s->head) {
        sw_web_seed *ws = s->head;
        s->head = ws->next;
        seed_free(ws);
    }
    free(s);
    t->web_seeds = NULL;
}
