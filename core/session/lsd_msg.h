/* Private to core/session: BEP 14 local service discovery messages
 * (lsd_msg.c). Formats our announces and parses the ones received from the
 * multicast group, which are untrusted network input: the parser reads only
 * within the given bytes and never allocates. Pure functions, any thread. */
#ifndef SW_CORE_SESSION_LSD_MSG_H
#define SW_CORE_SESSION_LSD_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

#define SW_LSD_PORT 6771
#define SW_LSD_GROUP_V4 "239.192.152.143"
#define SW_LSD_GROUP_V6 "ff15::efc0:988f"
/* Most info-hashes one message carries (BEP 14: keep a message under 1400
 * bytes; 20 hashes and the other headers stay well below it). */
#define SW_LSD_MAX_HASHES 20
/* Longest cookie kept; longer ones make the message invalid. */
#define SW_LSD_MAX_COOKIE 64
/* Largest message formatted or accepted. */
#define SW_LSD_MAX_MESSAGE 1400

typedef struct sw_lsd_msg {
    uint16_t port; /* the sender's listen port, never 0 */
    size_t num_hashes;
    sw_sha1 hashes[SW_LSD_MAX_HASHES]; /* at least one */
    bool has_cookie;
    char cookie[SW_LSD_MAX_COOKIE + 1]; /* NUL-terminated */
} sw_lsd_msg;

/* Parses one datagram. 0 on success; SW_ERR_PROTOCOL for anything that is
 * not a well-formed BT-SEARCH announce (wrong request line, no or bad Port,
 * no Infohash, a malformed Infohash, an overlong line or cookie, more than
 * SW_LSD_MAX_HASHES hashes, a header block without its end). Headers the
 * parser does not know are skipped; names are case-insensitive. */
int sw__lsd_parse(const uint8_t *data, size_t len, sw_lsd_msg *out);

/* Formats an announce for the group of family (AF_INET or AF_INET6) into
 * buf (cap bytes; SW_LSD_MAX_MESSAGE is always enough). cookie may be NULL
 * (no cookie header); it must be at most SW_LSD_MAX_COOKIE printable
 * characters. 1..SW_LSD_MAX_HASHES hashes. */
int sw__lsd_format(char *buf, size_t cap, int family, uint16_t port, const sw_sha1 *hashes,
                   size_t n, const char *cookie, size_t *len_out);

#endif
