/* The session-wide tracker client: request bookkeeping shared by the HTTP
 * and UDP sides, and the client's lifetime (see tracker.h). */
#include "tracker_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

static uint64_t splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint32_t sw__tracker_client_random32(sw_tracker_client *c)
{
    return (uint32_t)(splitmix(&c->rng) >> 16);
}

int sw__tracker_client_new(const sw_tracker_client_config *cfg, sw_tracker_client **c_out)
{
    if (!cfg || !cfg->loop || !cfg->settings || !c_out)
        return SW_ERR_INVALID_ARG;
    sw_tracker_client *c = calloc(1, sizeof *c);
    if (!c)
        return SW_ERR_NOMEM;
    c->loop = cfg->loop;
    c->settings = cfg->settings;
    /* Transaction ids only need to be unpredictable to off-path senders;
     * a generator seeded from the system's random source does that. */
    if (RAND_bytes((unsigned char *)&c->rng, sizeof c->rng) != 1)
        c->rng = uv_hrtime();
    c->shared_udp = cfg->udp;
    c->udp_send = cfg->udp_send;
    c->udp_user = cfg->udp_user;
    c->families = cfg->udp_families ? cfg->udp_families : SW_TRACKER_FAMILY_V4;

    int rc = sw__http_tracker_init(c);
    if (rc != 0) {
        free(c);
        return rc;
    }
    /* From here on the client has handles: failures close it instead. */
    rc = sw__udp_tracker_init(c);
    if (rc != 0) {
        sw__tracker_client_close(c, NULL, NULL);
        return rc;
    }
    *c_out = c;
    return 0;
}

static void client_free(sw_tracker_client *c)
{
    void (*cb)(void *) = c->close_cb;
    void *user = c->close_user;
    free(c->conns);
    free(c->recv_buf);
    free(c);
    if (cb)
        cb(user);
}

void sw__tracker_client_handle_closed(sw_tracker_client *c)
{
    c->open_handles--;
    if (c->closing && c->open_handles == 0)
        client_free(c);
}

void sw__tracker_client_close(sw_tracker_client *c, void (*cb)(void *user), void *user)
{
    if (!c || c->closing)
        return;
    /* Managers hold pointers to the client's jobs: they go first. */
    assert(c->live_managers == 0);
    c->closing = true;
    c->close_cb = cb;
    c->close_user = user;
    while (c->jobs)
        sw__tracker_job_cancel(c->jobs);
    sw__udp_tracker_shutdown(c);
    /* Last: the curl timer handle is always open until here, so the final
     * free happens in a close callback, never inside this call. */
    sw__http_tracker_shutdown(c);
}

bool sw__tracker_client_on_udp_packet(sw_tracker_client *c, const struct sockaddr *from,
                                      const uint8_t *data, size_t len)
{
    if (!c || c->closing || !from || !data)
        return false;
    return sw__udp_tracker_on_packet(c, from, data, len);
}

void sw__tracker_client_counters(const sw_tracker_client *c, uint64_t *sent_out,
                                 uint64_t *received_out)
{
    if (sent_out)
        *sent_out = c->bytes_sent;
    if (received_out)
        *received_out = c->bytes_received;
}

static char *dup_opt(const char *s, size_t len, bool *oom)
{
    if (!s)
        return NULL;
    char *d = malloc(len + 1);
    if (!d) {
        *oom = true;
        return NULL;
    }
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

static void job_free(sw_tracker_job *job)
{
    sw_tracker_client *c = job->client;
    sw__buf_free(&job->body);
    free(job->url);
    free(job->tracker_id);
    free(job->ip);
    free(job->ipv4);
    free(job->ipv6);
    free(job);
    sw__tracker_client_handle_closed(c);
}

void sw__tracker_job_unref(sw_tracker_job *job)
{
    if (--job->refs == 0)
        job_free(job);
}

static void unlink_job(sw_tracker_job *job)
{
    sw_tracker_client *c = job->client;
    if (job->prev)
        job->prev->next = job->next;
    else
        c->jobs = job->next;
    if (job->next)
        job->next->prev = job->prev;
    job->prev = job->next = NULL;
}

/* Releases what the protocol side holds; UDP handles close asynchronously
 * and keep their own references. */
static void job_teardown(sw_tracker_job *job)
{
    if (job->url_kind == SW_TRACKER_URL_UDP)
        sw__udp_tracker_cancel(job);
    else
        sw__http_tracker_cancel(job);
}

void sw__tracker_job_finish(sw_tracker_job *job, const sw_tracker_result *r)
{
    if (job->finished)
        return;
    job->finished = true;
    unlink_job(job);
    job_teardown(job);
    /* The job stays allocated during the callback (the callee may look at
     * it, cancel others or start new ones) and is released right after. */
    job->cb(job->user, job, r);
    sw__tracker_job_unref(job);
}

void sw__tracker_job_fail(sw_tracker_job *job, int error, int http_status, const char *message)
{
    sw_tracker_result r;
    memset(&r, 0, sizeof r);
    r.error = error;
    r.http_status = http_status;
    r.message = message && *message ? message : sw_strerror(error);
    r.retry_after_s = -1;
    sw__tracker_job_finish(job, &r);
}

void sw__tracker_job_cancel(sw_tracker_job *job)
{
    if (!job || job->finished)
        return;
    job->finished = true;
    unlink_job(job);
    job_teardown(job);
    sw__tracker_job_unref(job);
}

int sw__tracker_client_request(sw_tracker_client *c, const sw_tracker_request *req,
                               sw_tracker_done_cb cb, void *user, sw_tracker_job **job_out)
{
    if (!req || (req->kind != SW_TRACKER_REQ_ANNOUNCE && req->kind != SW_TRACKER_REQ_SCRAPE))
        return SW_ERR_INVALID_ARG;
    return sw__tracker_client_start(c, req, 0, cb, user, job_out);
}

int sw__tracker_client_start(sw_tracker_client *c, const sw_tracker_request *req, size_t max_body,
                             sw_tracker_done_cb cb, void *user, sw_tracker_job **job_out)
{
    if (!c || !req || !req->url || !cb || !job_out)
        return SW_ERR_INVALID_ARG;
    if (c->closing)
        return SW_ERR_ABORTED;
    sw_tracker_url_kind kind;
    int rc = sw__tracker_url_kind(req->url, &kind);
    if (rc != 0)
        return rc;
    if (req->kind == SW_TRACKER_REQ_FETCH && kind == SW_TRACKER_URL_UDP)
        return SW_ERR_TRACKER_BAD_URL;

    sw_tracker_job *job = calloc(1, sizeof *job);
    if (!job)
        return SW_ERR_NOMEM;
    bool oom = false;
    const sw_announce_params *p = &req->params;
    job->client = c;
    job->kind = req->kind;
    job->url_kind = kind;
    job->url = dup_opt(req->url, strlen(req->url), &oom);
    job->params = *p;
    job->tracker_id = dup_opt(p->tracker_id, p->tracker_id_len, &oom);
    job->ip = p->ip ? dup_opt(p->ip, strlen(p->ip), &oom) : NULL;
    job->ipv4 = p->ipv4 ? dup_opt(p->ipv4, strlen(p->ipv4), &oom) : NULL;
    job->ipv6 = p->ipv6 ? dup_opt(p->ipv6, strlen(p->ipv6), &oom) : NULL;
    job->params.tracker_id = job->tracker_id;
    job->params.ip = job->ip;
    job->params.ipv4 = job->ipv4;
    job->params.ipv6 = job->ipv6;
    job->cb = cb;
    job->user = user;
    job->refs = 1;
    job->flight_slot = -1;
    job->max_body = max_body;
    job->range_first = req->range_first;
    job->range_len = req->range_len;
    int timeout_s = req->timeout_s > 0
                        ? req->timeout_s
                        : sw__settings_int(c->settings, SW_SET_TRACKER_COMPLETION_TIMEOUT);
    if (timeout_s <= 0)
        timeout_s = 1;
    job->deadline = uv_now(c->loop) + (uint64_t)timeout_s * 1000;
    c->open_handles++; /* released by job_free */
    if (oom) {
        job->finished = true;
        job_free(job);
        return SW_ERR_NOMEM;
    }

    job->next = c->jobs;
    if (c->jobs)
        c->jobs->prev = job;
    c->jobs = job;

    rc = kind == SW_TRACKER_URL_UDP ? sw__udp_tracker_start(job) : sw__http_tracker_start(job);
    if (rc != 0) {
        /* The start functions leave nothing running on failure except
         * handles they close themselves; the callback never runs. */
        sw__tracker_job_cancel(job);
        return rc;
    }
    *job_out = job;
    return 0;
}
