/* Private to core/session: NAT-PMP port mapping (RFC 6886,
 * session_natpmp.c). Maps the session's listen port for TCP and UDP on the
 * default gateway, renews the mappings before they expire, deletes them
 * when stopped, and reports the gateway's external address. Network thread
 * only, except the public functions, which marshal onto it. */
#ifndef SW_CORE_SESSION_NATPMP_H
#define SW_CORE_SESSION_NATPMP_H

#include "session_int.h"

/* At session creation with SW_SESSION_START_DEFAULT_FEATURES: starts
 * NAT-PMP if enable_natpmp (caller thread). */
int sw__session_natpmp_start_default(sw_session *ses);
/* At session shutdown: asks the gateway to delete our mappings, closes the
 * socket and frees the state (the loop finishes the closing). */
void sw__session_natpmp_shutdown(sw_session *ses);

#endif
