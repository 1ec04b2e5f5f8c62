/* Host functions of plugin ABI 1.1: a plugin's own alerts, a plugin
 * disabling itself (a script runtime reports its errors this way), and the
 * count of pieces a torrent has. */
#include <stdio.h>
#include <string.h>

#include "plugin_int.h"

int sw_plugin_post_alert(sw_plugin_session *s, sw_plugin_torrent *pt, const char *message)
{
    if (!s || !message)
        return SW_ERR_INVALID_ARG;
    sw_session *ses = s->ses;
    sw_alert *a = sw__session_torrent_alert(ses, pt ? sw__torrent_of(pt) : NULL,
                                            SW_ALERT_PLUGIN_ALERT, false);
    if (!a)
        return 0; /* masked out, or no memory: as with the engine's own alerts */
    sw__alert_set_str(a, &a->payload.plugin.name, s->name);
    sw__alert_set_str(a, &a->payload.plugin.path, s->path);
    sw__alert_set_message(a, "[%s] %s", s->name, message);
    sw__session_post_alert(ses, a);
    return 0;
}

void sw_plugin_disable(sw_plugin_session *s, int error, const char *message)
{
    if (!s)
        return;
    sw__plugin_fail_detail(s, error ? error : SW_ERR_PLUGIN_FAILED,
                           message && *message ? message : "disabled by itself");
}

int sw_plugin_torrent_num_have(sw_plugin_torrent *pt)
{
    sw_torrent *t = sw__torrent_of(pt);
    return t->swarm_ready ? (int)sw__bitfield_count(&t->swarm.have) : 0;
}
