/* Private to core/session: the session's DHT node (session_dht.c). It runs
 * on the session's shared UDP socket, announces every active public torrent
 * and feeds the peers it finds into the torrent's swarm, and carries the
 * public DHT functions of session.h (items, routers, nodes, state).
 * Network thread only. */
#ifndef SW_CORE_SESSION_DHT_H
#define SW_CORE_SESSION_DHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cswarm/bencode.h>

#include "session_int.h"

/* A datagram from the shared UDP socket: taken (true) when it is KRPC and
 * the DHT runs. */
bool sw__session_dht_on_udp(sw_session *ses, const struct sockaddr *from, const uint8_t *data,
                            size_t len);
/* The UDP socket is open (the session listens): a started node opens now. */
void sw__session_dht_udp_ready(sw_session *ses);
/* At session shutdown: ends lookups, closes the node and frees the state
 * (the loop finishes the closing). */
void sw__session_dht_shutdown(sw_session *ses);
/* Fills the DHT members of the session status. */
void sw__session_dht_status(sw_session *ses, sw_session_status *st);
/* save_state: writes "dht state" (a key and a dict) when there is a state
 * to save. */
int sw__session_dht_save_state(sw_session *ses, sw_bencoder *enc);
/* load_state: keeps the "dht state" dict for the node (its id and nodes);
 * a running node with another id is restarted with the saved one. */
void sw__session_dht_load_state(sw_session *ses, sw_bnode root);
/* At session creation with SW_SESSION_START_DEFAULT_FEATURES: starts the
 * node if enable_dht (caller thread, like the public functions). */
int sw__session_dht_start_default(sw_session *ses);

#endif
