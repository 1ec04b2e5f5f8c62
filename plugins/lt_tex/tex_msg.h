/* Tracker exchange messages (BEP 28, libtorrent's lt_tex): the tracker list
 * hash of the handshake and the "added" message (pure functions). Shared by
 * lt_tex.c and the fuzz target. */
#ifndef SW_PLUGIN_LT_TEX_MSG_H
#define SW_PLUGIN_LT_TEX_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cswarm/plugin.h>

/* Most URLs taken from one message, and the longest one accepted. */
#define LT_TEX_MAX_URLS 50
#define LT_TEX_MAX_URL 512

typedef struct lt_tex_msg {
    char *urls[LT_TEX_MAX_URLS]; /* NUL-terminated copies (lt_tex_msg_free) */
    int num_urls;
} lt_tex_msg;

/* A URL worth passing on: http, https or udp, printable, not too long. */
bool lt_tex_url_ok(const char *url, size_t len);

/* Parses {"added": [url, ...]}: strings that are not acceptable URLs are
 * skipped, at most LT_TEX_MAX_URLS kept. Returns 0, SW_ERR_PROTOCOL (not a
 * dictionary, "added" not a list) or SW_ERR_NOMEM; free out even on
 * error. */
int lt_tex_msg_parse(const uint8_t *payload, size_t len, lt_tex_msg *out);
void lt_tex_msg_free(lt_tex_msg *m);

/* Builds {"added": [urls...]}; *buf_out is freed with sw_plugin_free. */
int lt_tex_msg_build(const char *const *urls, int n, uint8_t **buf_out, size_t *len_out);

/* The BEP 28 tracker list hash: SHA-1 over the URLs sorted ascending by
 * bytes and concatenated. urls is reordered. */
void lt_tex_list_hash(const char **urls, int n, uint8_t out[20]);

#endif
