/* The BEP 10 extension protocol on a connection: our handshake, the peer's
 * handshake (request queue size, listen port, client name, upload-only),
 * and the dispatch point where extensions (plugins) receive their messages. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "peer_conn_int.h"

void sw__peer_send_ext_handshake(sw_peer_conn *pc)
{
    sw_peer_env *env = pc->env;
    sw_wire_ext_handshake hs;
    sw__wire_ext_handshake_init(&hs);
    if (env->listen_port) {
        hs.has_port = true;
        hs.port = env->listen_port;
    }
    const char *v = sw__settings_str(env->settings, SW_SET_HANDSHAKE_CLIENT_VERSION);
    if (!v || !*v)
        v = sw__settings_str(env->settings, SW_SET_USER_AGENT);
    if (v && *v) {
        hs.has_client = true;
        size_t n = strlen(v);
        if (n >= sizeof hs.client)
            n = sizeof hs.client - 1;
        memcpy(hs.client, v, n);
        hs.client[n] = '\0';
    }
    hs.yourip_len = pc->remote.family == AF_INET6 ? 16 : 4;
    memcpy(hs.yourip, pc->remote.addr, hs.yourip_len);
    int reqq = SW_ENV_INT(env, MAX_ALLOWED_IN_REQUEST_QUEUE);
    if (reqq > 0) {
        hs.has_reqq = true;
        hs.reqq = (uint32_t)reqq;
    }
    /* A super seeder says it has nothing; upload_only on top would make the
     * peer drop it as having nothing to offer. */
    if (sw__swarm_upload_only(pc->swarm) && !pc->swarm->super_seeding) {
        hs.has_upload_only = true;
        hs.upload_only = true;
    }
    sw_wire_ext_entry names[32];
    if (env->ext && env->ext->ext_names) {
        hs.m = names;
        hs.m_count = env->ext->ext_names(env->ext_ctx, pc, names, sizeof names / sizeof names[0]);
    }
    sw_bencoder *enc;
    if (sw_benc_new(&enc) < 0)
        return;
    int rc = sw_benc_dict_begin(enc);
    if (rc == 0)
        rc = sw__wire_ext_handshake_encode(enc, &hs);
    if (rc == 0 && env->ext && env->ext->add_handshake)
        env->ext->add_handshake(env->ext_ctx, pc, enc);
    if (rc == 0)
        rc = sw_benc_end(enc);
    uint8_t *payload = NULL;
    size_t len = 0;
    if (rc == 0)
        rc = sw_benc_finish(enc, &payload, &len);
    sw_benc_free(enc);
    if (rc < 0)
        return;
    sw_buf b;
    sw__buf_init(&b);
    if (sw__wire_build_extended(&b, SW_WIRE_EXT_HANDSHAKE_ID, payload, len) == 0)
        sw__peer_send_buf(pc, &b);
    sw__buf_free(&b);
    free(payload);
}

static void on_ext_handshake(sw_peer_conn *pc, const uint8_t *data, size_t len)
{
    sw_peer_env *env = pc->env;
    sw_bdecode_opts opts = {0, 20, 4096};
    sw_bdoc *doc;
    if (sw_bdecode(data, len, &opts, &doc, NULL) < 0) {
        sw__peer_conn_close(pc, SW_ERR_PROTOCOL, "extension handshake");
        return;
    }
    sw_bnode root = sw_bdoc_root(doc);
    sw_wire_ext_handshake hs;
    int rc = sw__wire_ext_handshake_from_node(root, &hs);
    if (rc < 0) {
        sw__wire_ext_handshake_free(&hs);
        sw_bdoc_free(doc);
        sw__peer_conn_close(pc, rc, "extension handshake");
        return;
    }
    if (hs.has_reqq && hs.reqq > 0)
        pc->reqq = hs.reqq;
    if (hs.has_client) {
        size_t n = strlen(hs.client);
        if (n >= sizeof pc->client)
            n = sizeof pc->client - 1;
        memcpy(pc->client, hs.client, n);
        pc->client[n] = '\0';
    }
    if (hs.has_upload_only)
        pc->upload_only = hs.upload_only;
    /* An incoming peer's entry holds its ephemeral port; its listen port
     * makes the entry worth dialling later. */
    if (hs.has_port && !pc->outgoing && pc->entry && !pc->entry->connectable) {
        sw_endpoint ep = pc->remote;
        ep.port = hs.port;
        if (sw__peer_list_rekey(&pc->swarm->peers, pc->entry, &ep) == 0)
            pc->entry->connectable = true;
    }
    sw__wire_ext_handshake_free(&hs);
    if (env->ext && env->ext->on_handshake && env->ext->on_handshake(env->ext_ctx, pc, root) < 0)
        sw__peer_conn_close(pc, SW_ERR_PROTOCOL, "extension handshake");
    sw_bdoc_free(doc);
    if (pc->state == SW_PEER_ACTIVE && pc->upload_only && sw__swarm_upload_only(pc->swarm))
        sw__peer_conn_close(pc, 0, "both seeds");
}

void sw__peer_on_extended(sw_peer_conn *pc, const sw_wire_msg *m)
{
    if (m->ext_id == SW_WIRE_EXT_HANDSHAKE_ID) {
        on_ext_handshake(pc, m->data, m->len);
        return;
    }
    sw_peer_env *env = pc->env;
    if (env->ext && env->ext->on_extended) {
        int rc = env->ext->on_extended(env->ext_ctx, pc, m->ext_id, m->data, m->len);
        if (rc < 0)
            sw__peer_conn_close(pc, rc, "extension message");
    }
    /* Unknown extension messages are ignored, as BEP 10 asks. */
}
