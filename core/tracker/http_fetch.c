/* Plain HTTP(S) GETs into a bounded buffer (a .torrent given by URL),
 * run as jobs of the tracker client so that they share its curl multi
 * handle, its libuv socket watching, its connection limit and its proxy
 * settings instead of a second curl integration. http_tracker.c sets the
 * transfer up and hands finished fetches to sw__http_fetch_done. */
#include "tracker_internal.h"

#include <stdio.h>
#include <string.h>

int sw__tracker_client_fetch(sw_tracker_client *c, const char *url, size_t max_body, int timeout_s,
                             sw_tracker_done_cb cb, void *user, sw_tracker_job **job_out)
{
    if (!url)
        return SW_ERR_INVALID_ARG;
    sw_tracker_request req;
    memset(&req, 0, sizeof req);
    req.kind = SW_TRACKER_REQ_FETCH;
    req.url = url;
    req.timeout_s = timeout_s;
    int rc = sw__tracker_client_start(c, &req, max_body, cb, user, job_out);
    return rc == SW_ERR_TRACKER_BAD_URL ? SW_ERR_HTTP_BAD_URL : rc;
}

void sw__http_fetch_done(sw_tracker_job *job, CURLcode res, long status)
{
    const char *curl_msg = job->curl_err[0] ? job->curl_err : curl_easy_strerror(res);
    if (res != CURLE_OK) {
        if (job->too_large || res == CURLE_FILESIZE_EXCEEDED)
            sw__tracker_job_fail(job, SW_ERR_HTTP_TOO_LARGE, (int)status, NULL);
        else if (res == CURLE_TOO_MANY_REDIRECTS)
            sw__tracker_job_fail(job, SW_ERR_HTTP_TOO_MANY_REDIRECTS, (int)status, curl_msg);
        else if (res == CURLE_OPERATION_TIMEDOUT)
            sw__tracker_job_fail(job, SW_ERR_TIMEOUT, (int)status, curl_msg);
        else if (res == CURLE_UNSUPPORTED_PROTOCOL)
            sw__tracker_job_fail(job, SW_ERR_HTTP_BAD_URL, (int)status, curl_msg);
        else
            sw__tracker_job_fail(job, SW_ERR_HTTP_CONNECT, (int)status, curl_msg);
        return;
    }
    if (job->range_len > 0) {
        sw__http_range_done(job, status);
        return;
    }
    if (status != 200) {
        char msg[64];
        snprintf(msg, sizeof msg, "HTTP status %ld", status);
        sw__tracker_job_fail(job, SW_ERR_HTTP_STATUS, (int)status, msg);
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
