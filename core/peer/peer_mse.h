/* Protocol encryption (MSE/PE) policy for peer connections: which streams
 * get the MSE wrapper (core/net/stream_mse.c), per out_enc_policy,
 * in_enc_policy, allowed_enc_level and prefer_rc4, and the fall back to
 * plaintext for a peer that failed an encrypted handshake.
 *
 * Threading: the network thread, like the rest of core/peer. */
#ifndef SW_CORE_PEER_MSE_H
#define SW_CORE_PEER_MSE_H

#include <stdbool.h>

#include "peer_conn_int.h"

/* An outgoing connection's transport just connected: wraps pc->stream in
 * an MSE stream if the policy asks for it. Returns 0 or an error (pc->stream
 * unchanged then). */
int sw__peer_mse_outgoing(sw_peer_conn *pc);
/* An accepted stream: wraps it (detecting plaintext peers) unless incoming
 * encryption is disabled. *s is replaced by the wrapper; on error *s is
 * unchanged and still the caller's. */
int sw__peer_mse_incoming(sw_peer_env *env, sw_stream **s);
/* pc is closing: true if it was an outgoing connection whose MSE handshake
 * failed and the policy allows a plaintext retry; the peer is then marked
 * to be dialled in plaintext. */
bool sw__peer_mse_failed_retry_plain(sw_peer_conn *pc);

#endif
