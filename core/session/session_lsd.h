/* Private to core/session: local service discovery (BEP 14,
 * session_lsd.c). Announces every active public torrent to the LSD
 * multicast groups and feeds the peers announced there into the matching
 * torrents' swarms. Network thread only, except the public functions,
 * which marshal onto it. */
#ifndef SW_CORE_SESSION_LSD_H
#define SW_CORE_SESSION_LSD_H

#include "session_int.h"

/* At session creation with SW_SESSION_START_DEFAULT_FEATURES: starts LSD
 * if enable_lsd (caller thread, like the public functions). */
int sw__session_lsd_start_default(sw_session *ses);
/* At session shutdown: closes the sockets and frees the state (the loop
 * finishes the closing). */
void sw__session_lsd_shutdown(sw_session *ses);

#endif
