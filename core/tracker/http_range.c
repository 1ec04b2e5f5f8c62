/* Ranged GETs for web seeds (BEP 19): a fetch job with a Range header whose
 * reply must be exactly the bytes asked for. The body is bounded by the
 * range length (on_body and CURLOPT_MAXFILESIZE), so a server that ignores
 * the range can never make us buffer a whole file. */
#include "tracker_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "peer/web_seed.h"

/* A range is one piece run at most; this keeps a confused caller from
 * asking for gigabytes into memory. */
#define SW_RANGE_MAX_LEN (64 * 1024 * 1024)

int sw__tracker_client_fetch_range(sw_tracker_client *c, const char *url, int64_t first,
                                   int64_t len, int timeout_s, sw_tracker_done_cb cb, void *user,
                                   sw_tracker_job **job_out)
{
    if (!url || first < 0 || len <= 0 || len > SW_RANGE_MAX_LEN)
        return SW_ERR_INVALID_ARG;
    sw_tracker_request req;
    memset(&req, 0, sizeof req);
    req.kind = SW_TRACKER_REQ_FETCH;
    req.url = url;
    req.timeout_s = timeout_s;
    req.range_first = first;
    req.range_len = len;
    int rc = sw__tracker_client_start(c, &req, (size_t)len, cb, user, job_out);
    return rc == SW_ERR_TRACKER_BAD_URL ? SW_ERR_HTTP_BAD_URL : rc;
}

static bool header_name_is(const char *line, size_t n, const char *name)
{
    size_t k = strlen(name);
    if (n <= k || line[k] != ':')
        return false;
    for (size_t i = 0; i < k; i++) {
        char a = line[i], b = name[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (a != b)
            return false;
    }
    return true;
}

/* Called by curl once per header line, for every reply of a redirect
 * chain: a status line starts a new reply and forgets the last range. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    sw_tracker_job *job = userp;
    size_t n = size * nmemb;
    if (n >= 5 && !memcmp(data, "HTTP/", 5)) {
        job->content_range[0] = '\0';
    } else if (header_name_is(data, n, "content-range")) {
        size_t k = strlen("content-range:");
        size_t vlen = n - k;
        if (vlen >= sizeof job->content_range)
            vlen = sizeof job->content_range - 1; /* too long to be valid: fails to parse */
        memcpy(job->content_range, data + k, vlen);
        job->content_range[vlen] = '\0';
    }
    return n;
}

void sw__http_range_setup(sw_tracker_job *job, CURL *e)
{
    char range[64];
    snprintf(range, sizeof range, "%" PRId64 "-%" PRId64, job->range_first,
             job->range_first + job->range_len - 1);
    curl_easy_setopt(e, CURLOPT_RANGE, range); /* curl copies it */
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, job);
}

void sw__http_range_done(sw_tracker_job *job, long status)
{
    char msg[128];
    if (status == 206) {
        int64_t first, last, total;
        if (sw__http_parse_content_range(job->content_range, strlen(job->content_range), &first,
                                         &last, &total) != 0) {
            sw__tracker_job_fail(job, SW_ERR_HTTP_BAD_RANGE, (int)status,
                                 "malformed or missing Content-Range");
            return;
        }
        if (first != job->range_first || last - first + 1 != job->range_len) {
            snprintf(msg, sizeof msg,
                     "asked for bytes %" PRId64 "-%" PRId64 ", got %" PRId64 "-%" PRId64,
                     job->range_first, job->range_first + job->range_len - 1, first, last);
            sw__tracker_job_fail(job, SW_ERR_HTTP_BAD_RANGE, (int)status, msg);
            return;
        }
    } else if (status != 200 || job->range_first != 0) {
        snprintf(msg, sizeof msg, "HTTP status %ld", status);
        sw__tracker_job_fail(job, SW_ERR_HTTP_STATUS, (int)status, msg);
        return;
    }
    if ((int64_t)job->body.len != job->range_len) {
        snprintf(msg, sizeof msg, "expected %" PRId64 " bytes, got %zu", job->range_len,
                 job->body.len);
        sw__tracker_job_fail(job, SW_ERR_HTTP_BAD_RANGE, (int)status, msg);
        return;
    }
    sw_tracker_result r;
    memset(&r, 0, sizeof r);
    r.http_status = (int)status;
    r.retry_after_s = -1;
    r.body = job->body.data;
    r.body_len = job->body.len;
    sw__tracker_job_finish(job, &r);
}
