/* Private to core/session: NAT-PMP messages (RFC 6886, natpmp_msg.c).
 * Requests are formatted into fixed buffers; replies from the gateway are
 * untrusted input, parsed with explicit bounds. Pure functions, any
 * thread. */
#ifndef SW_CORE_SESSION_NATPMP_MSG_H
#define SW_CORE_SESSION_NATPMP_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <cswarm/error.h>

#define SW_NATPMP_PORT 5351
#define SW_NATPMP_OP_EXTERNAL 0
#define SW_NATPMP_OP_MAP_UDP 1
#define SW_NATPMP_OP_MAP_TCP 2

/* A reply: op is the request's op (the reply's op minus 128). */
typedef struct sw_natpmp_reply {
    uint8_t op;
    uint16_t result;        /* 0 success; RFC 6886 result codes otherwise */
    uint32_t epoch;         /* seconds since the gateway's mapping table started */
    uint8_t external_ip[4]; /* OP_EXTERNAL */
    uint16_t internal_port; /* OP_MAP_* */
    uint16_t external_port; /* OP_MAP_* */
    uint32_t lifetime;      /* OP_MAP_*, seconds */
} sw_natpmp_reply;

/* The 2-byte external address request. */
size_t sw__natpmp_external_request(uint8_t out[2]);
/* The 12-byte mapping request (op UDP or TCP); lifetime 0 deletes. */
size_t sw__natpmp_map_request(uint8_t out[12], uint8_t op, uint16_t internal_port,
                              uint16_t external_port, uint32_t lifetime);
/* Parses a reply: 0, or SW_ERR_PROTOCOL (short, wrong version, not a reply
 * op, a successful external address reply of the wrong length). A reply
 * with a non-zero result parses (the caller reports it). */
int sw__natpmp_parse_reply(const uint8_t *data, size_t len, sw_natpmp_reply *out);
/* The RFC's name of a result code. */
const char *sw__natpmp_result_text(uint16_t result);

#endif
