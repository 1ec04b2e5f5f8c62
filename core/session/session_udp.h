/* Private to core/session: the session's UDP socket (session_udp.c),
 * bound to the first listen address and port. Every datagram it receives
 * goes through sw__session_udp_dispatch; UDP trackers use it now, uTP and
 * the DHT are to share it. Network thread only. */
#ifndef SW_CORE_SESSION_UDP_H
#define SW_CORE_SESSION_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session_int.h"

/* (Re)binds the socket to ep (the TCP listener's address and port; if that
 * UDP port is taken, a port the system picks on the same address). A
 * previous socket is closed. Failure leaves the session without one (UDP
 * trackers then fail with SW_ERR_NOT_SUPPORTED). */
int sw__session_udp_open(sw_session *ses, const sw_endpoint *ep);
/* Closes it (at shutdown, after the last "stopped" announce). */
void sw__session_udp_close(sw_session *ses);
/* The tracker client's send function (user is the session): 0, or a
 * negative error when there is no socket for to's family. */
int sw__session_udp_send(void *user, const struct sockaddr *to, const uint8_t *buf, size_t len);
/* The socket's handle (uTP's batched sends); NULL when there is none. */
uv_udp_t *sw__session_udp_handle(sw_session *ses);
/* Where every received datagram goes: the tracker client first. Returns
 * whether someone took it. */
bool sw__session_udp_dispatch(sw_session *ses, const struct sockaddr *from, const uint8_t *data,
                              size_t len);

#endif
