/* Private to core/session: uTP on the session's UDP socket
 * (session_utp.c). One core/utp context per session, created when the UDP
 * socket first opens and ended at shutdown; rebinding the socket keeps it
 * (and its connections). Accepted connections go to the peer layer like TCP
 * ones; outgoing ones are made by the peer layer through env.utp. Datagrams
 * are queued during a round and written together (UDP segmentation offload
 * where the kernel has it, sendmmsg otherwise). Network thread only. */
#ifndef SW_CORE_SESSION_UTP_H
#define SW_CORE_SESSION_UTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session_int.h"

/* The UDP socket is open (again): creates the context if there is none and
 * points it at the socket. A failure leaves the session without uTP. */
int sw__session_utp_attach(sw_session *ses);
/* A datagram from the UDP socket; true if it was uTP (taken). */
bool sw__session_utp_on_packet(sw_session *ses, const struct sockaddr *from, const uint8_t *data,
                               size_t len);
/* Settings changed: the utp_* values and enable_incoming_utp. */
void sw__session_utp_settings_changed(sw_session *ses);
/* Fills the session status's utp_status (zeros without uTP). */
void sw__session_utp_status(sw_session *ses, sw_utp_status *out);
/* Shutdown, after the peers closed: lingering sockets are dropped and the
 * context is freed asynchronously (its handles keep the loop alive). */
void sw__session_utp_close(sw_session *ses);

#endif
