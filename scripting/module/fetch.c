/* add_torrent{url=...}: fetches a .torrent over HTTP(S) with libcurl's easy
 * interface. It blocks, which is fine on the script's thread (the session's
 * network thread never waits for it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "module_int.h"

/* A .torrent larger than this is refused (a bad URL could be anything). */
#define MAX_TORRENT_BYTES (32u << 20)
#define FETCH_TIMEOUT_S 60L

typedef struct sink {
    uint8_t *buf;
    size_t len, cap;
    bool too_big;
} sink;

static size_t on_data(char *data, size_t size, size_t nmemb, void *user)
{
    sink *s = user;
    size_t n = size * nmemb;
    if (s->len + n > MAX_TORRENT_BYTES) {
        s->too_big = true;
        return 0;
    }
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 16384;
        while (cap < s->len + n)
            cap *= 2;
        uint8_t *nb = realloc(s->buf, cap);
        if (!nb)
            return 0;
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    return n;
}

int sw__lua_fetch_url(const char *url, uint8_t **buf_out, size_t *len_out, char *err,
                      size_t err_len)
{
    *buf_out = NULL;
    *len_out = 0;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        snprintf(err, err_len, "%s: only http:// and https:// URLs are fetched", url);
        return SW_ERR_INVALID_ARG;
    }
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, err_len, "cannot start an HTTP request");
        return SW_ERR_NOMEM;
    }
    sink s = {0};
    char curl_err[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, FETCH_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "cswarm");
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        free(s.buf);
        if (s.too_big)
            snprintf(err, err_len, "%s: larger than %u bytes", url, MAX_TORRENT_BYTES);
        else
            snprintf(err, err_len, "%s: %s", url, curl_err[0] ? curl_err : curl_easy_strerror(rc));
        return SW_ERR_IO;
    }
    *buf_out = s.buf;
    *len_out = s.len;
    return 0;
}
