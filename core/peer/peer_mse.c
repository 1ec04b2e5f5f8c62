/* Protocol encryption policy for peer connections (see peer_mse.h). */
#include <string.h>

#include "base/sha.h"
#include "peer_mse.h"

/* An incoming MSE handshake names its torrent by HASH('req2', info-hash):
 * compare against every swarm's. */
static bool find_swarm_by_req2(void *user, const uint8_t req2[20], uint8_t info_hash_out[20])
{
    sw_peer_env *env = user;
    for (sw_swarm *sw = env->swarms; sw; sw = sw->next) {
        uint8_t msg[4 + 20];
        memcpy(msg, "req2", 4);
        memcpy(msg + 4, &sw->info_hash, 20);
        sw_sha1 d;
        if (sw__sha1(msg, sizeof msg, &d) < 0)
            return false;
        if (memcmp(&d, req2, 20) == 0) {
            memcpy(info_hash_out, &sw->info_hash, 20);
            return true;
        }
    }
    return false;
}

static void base_params(sw_peer_env *env, sw_stream_mse_params *p)
{
    memset(p, 0, sizeof *p);
    p->loop = env->loop;
    p->allowed_level = SW_ENV_INT(env, ALLOWED_ENC_LEVEL);
    if (p->allowed_level < 1 || p->allowed_level > 3)
        p->allowed_level = 3;
    p->prefer_rc4 = SW_ENV_BOOL(env, PREFER_RC4);
}

int sw__peer_mse_outgoing(sw_peer_conn *pc)
{
    sw_peer_env *env = pc->env;
    int policy = SW_ENV_INT(env, OUT_ENC_POLICY);
    if (policy == SW_PE_DISABLED || !pc->swarm)
        return 0;
    if (policy != SW_PE_FORCED && pc->entry && pc->entry->no_mse)
        return 0;
    sw_stream_mse_params p;
    base_params(env, &p);
    p.outgoing = true;
    memcpy(p.info_hash, &pc->swarm->info_hash, 20);
    sw_stream *wrapped;
    int rc = sw__stream_mse_wrap(pc->stream, &p, &wrapped);
    if (rc < 0)
        return rc;
    wrapped->data = pc;
    pc->stream = wrapped;
    return 0;
}

int sw__peer_mse_incoming(sw_peer_env *env, sw_stream **s)
{
    int policy = SW_ENV_INT(env, IN_ENC_POLICY);
    if (policy == SW_PE_DISABLED)
        return 0;
    sw_stream_mse_params p;
    base_params(env, &p);
    p.outgoing = false;
    p.accept_plaintext = policy != SW_PE_FORCED;
    p.find = find_swarm_by_req2;
    p.find_user = env;
    sw_stream *wrapped;
    int rc = sw__stream_mse_wrap(*s, &p, &wrapped);
    if (rc < 0)
        return rc;
    *s = wrapped;
    return 0;
}

bool sw__peer_mse_failed_retry_plain(sw_peer_conn *pc)
{
    if (!pc->outgoing || !pc->entry || !sw__stream_mse_pending(pc->stream))
        return false;
    if (SW_ENV_INT(pc->env, OUT_ENC_POLICY) != SW_PE_ENABLED || pc->entry->no_mse)
        return false;
    pc->entry->no_mse = true;
    return true;
}
