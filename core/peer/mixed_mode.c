/* TCP and uTP sharing bandwidth (see mixed_mode.h). */
#include "mixed_mode.h"

#include <cswarm/settings.h>

#include "net/net.h"

int sw__mixed_mode_tcp_limit(int algorithm, int tcp_peers, int utp_peers, int64_t rate, int floor)
{
    if (algorithm != SW_MIXED_PEER_PROPORTIONAL || utp_peers <= 0)
        return 0;
    if (tcp_peers < 1)
        tcp_peers = 1;
    if (rate < 0)
        rate = 0;
    int64_t share = rate * tcp_peers / (tcp_peers + utp_peers);
    if (share < floor)
        share = floor;
    return share > INT32_MAX ? INT32_MAX : (int)share;
}

static bool is_utp(const sw_peer_conn *pc)
{
    return pc->stream && pc->stream->type == SW_SOCKET_UTP;
}

void sw__mixed_mode_update(sw_peer_env *env)
{
    int algorithm = SW_ENV_INT(env, MIXED_MODE_ALGORITHM);
    int up[2] = {0, 0}, down[2] = {0, 0}; /* [0] TCP, [1] uTP */
    if (algorithm == SW_MIXED_PEER_PROPORTIONAL) {
        for (sw_swarm *sw = env->swarms; sw; sw = sw->next) {
            for (sw_peer_conn *pc = sw->conns; pc; pc = pc->next) {
                if (pc->state != SW_PEER_ACTIVE || !pc->stream)
                    continue;
                int k = is_utp(pc) ? 1 : 0;
                if (!pc->am_choking && pc->peer_interested)
                    up[k]++;
                if (pc->am_interested && !pc->peer_choking)
                    down[k]++;
            }
        }
    }
    env->mixed_tcp_limit_up = sw__mixed_mode_tcp_limit(algorithm, up[0], up[1],
                                                       env->rates.payload_up.rate, SW_MIXED_MIN_UP);
    env->mixed_tcp_limit_down = sw__mixed_mode_tcp_limit(
        algorithm, down[0], down[1], env->rates.payload_down.rate, SW_MIXED_MIN_DOWN);
}

bool sw__mixed_mode_applies(const sw_peer_conn *pc)
{
    return pc->stream && !is_utp(pc);
}
