/* Sharing bandwidth between TCP and uTP peers (libtorrent's
 * mixed_mode_algorithm). uTP yields to TCP by design (LEDBAT backs off as
 * soon as queues grow), so when both carry a torrent, TCP would take nearly
 * everything. Under peer_proportional the TCP peers, together, are held to
 * their share of the session's current rate by peer count, in each
 * direction with uTP peers active: rate * tcp / (tcp + utp), never below a
 * floor (5 kB/s up, 30 kB/s down); uTP peers are not held back. prefer_tcp
 * leaves every connection unthrottled (the balancing is off). Peers on the
 * local network are exempt while ignore_limits_on_local_network is set, as
 * with the other rate limits. Network thread only. */
#ifndef SW_CORE_PEER_MIXED_MODE_H
#define SW_CORE_PEER_MIXED_MODE_H

#include <stdint.h>

#include "peer_limits.h"

/* Floors of the TCP limit (bytes per second). */
#define SW_MIXED_MIN_UP 5000
#define SW_MIXED_MIN_DOWN 30000

/* The TCP peers' combined limit: 0 = unlimited (prefer_tcp, or no uTP peer
 * active in that direction). tcp_peers counts as at least one. */
int sw__mixed_mode_tcp_limit(int algorithm, int tcp_peers, int utp_peers, int64_t rate, int floor);
/* Once a tick, after the rates: counts the active peers per transport and
 * direction (uploading: we unchoke it and it is interested; downloading:
 * the reverse) and sets env->mixed_tcp_limit_up / _down. */
void sw__mixed_mode_update(sw_peer_env *env);
/* Whether pc's traffic counts against the TCP limit. */
bool sw__mixed_mode_applies(const sw_peer_conn *pc);

#endif
