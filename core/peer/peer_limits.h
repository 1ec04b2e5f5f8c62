/* Private to core/peer: the IP/port filter checks (peer_filter.c) and the
 * rate limiter's bandwidth queue (bandwidth.c) as the connection code uses
 * them. Threading: network thread only. */
#ifndef SW_CORE_PEER_LIMITS_H
#define SW_CORE_PEER_LIMITS_H

#include "peer_conn_int.h"

/* ---- filters (peer_filter.c) ---- */

/* Whether the session's filters refuse a peer at ep for swarm sw. sw NULL
 * means an incoming connection whose torrent is not known yet: it is
 * refused only when no torrent is exempt from the IP filter. The port
 * filter applies to peers we would dial (outgoing) only. On refusal
 * *reason_out is an SW_BLOCKED_* value. */
bool sw__peer_filter_refuses(sw_peer_env *env, sw_swarm *sw, const sw_endpoint *ep, bool outgoing,
                             int *reason_out);
/* Posts a peer_blocked event for ep (sw may be NULL). */
void sw__peer_filter_emit(sw_peer_env *env, sw_swarm *sw, const sw_endpoint *ep,
                          sw_socket_type type, int reason);
/* The check and the event in one: true if refused. */
bool sw__peer_filter_blocks(sw_peer_env *env, sw_swarm *sw, const sw_endpoint *ep, bool outgoing,
                            sw_socket_type type);

/* A filter changed, or whether sw is exempt did: its connections and
 * known peers now refused go. */
void sw__swarm_apply_filters(sw_swarm *sw);

/* ---- per-torrent connection and upload slots (swarm_limits.c) ---- */

/* The torrent has max_connections connections (connecting ones count). */
bool sw__swarm_at_max_connections(const sw_swarm *sw);
/* After a config change: closes connections over max_connections (the
 * least useful first) and chokes peers over max_uploads (the slowest
 * first); with refilter the filters are applied again too. */
void sw__swarm_enforce_limits(sw_swarm *sw, bool refilter);

/* ---- bandwidth (bandwidth.c) ---- */

/* Takes n bytes of upload (or download) quota for pc from its torrent's
 * and the session's buckets. False when a bucket is empty: pc then waits
 * in the bandwidth queue and is called back (serve_more / request_more)
 * as soon as the buckets have refilled. Local peers pass freely when
 * ignore_limits_on_local_network is set. */
bool sw__peer_bw_take(sw_peer_conn *pc, bool up, int64_t n);
/* The most bytes one take should cover for pc (a smaller read batch keeps
 * a limited upload smooth); max when no limit applies. */
size_t sw__peer_bw_batch(const sw_peer_conn *pc, size_t max);
/* Closes the bandwidth queue's timer (shutdown). */
void sw__peer_bw_close(sw_peer_env *env);

#endif
