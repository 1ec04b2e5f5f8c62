/* Private to core/session: the session's UDP sockets (session_udp.c),
 * bound to the first listen address and port (and the first of the other
 * address family, when the listen interfaces have both). Every datagram it receives
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
/* Adds a socket for ep's address family, which must differ from the first
 * socket's (a listener of the other family), bound the same way. It carries
 * uTP and UDP trackers for that family; KRPC arriving on it is dropped (the
 * DHT runs on the first socket's family). Closed with the first. */
int sw__session_udp_open_other(sw_session *ses, const sw_endpoint *ep);
/* The bound addresses of the open sockets (the first one first); returns
 * how many were written (at most max). */
int sw__session_udp_endpoints(sw_session *ses, sw_endpoint *out, int max);
/* The socket for an address family; NULL when there is none. */
uv_udp_t *sw__session_udp_handle_for(sw_session *ses, int family);
/* Closes them (at shutdown, after the last "stopped" announce). */
void sw__session_udp_close(sw_session *ses);
/* The tracker client's and the DHT's send function (user is the session):
 * through the socket of to's family; 0, or a negative error when there is
 * no socket for it. */
int sw__session_udp_send(void *user, const struct sockaddr *to, const uint8_t *buf, size_t len);
/* The socket's handle (uTP's batched sends); NULL when there is none. */
uv_udp_t *sw__session_udp_handle(sw_session *ses);
/* Where every received datagram goes: the tracker client first. Returns
 * whether someone took it. */
bool sw__session_udp_dispatch(sw_session *ses, const struct sockaddr *from, const uint8_t *data,
                              size_t len);

#endif
