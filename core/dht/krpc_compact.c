/* Compact peer and node encodings (BEP 5 "compact IP-address/port info" and
 * "compact node info", BEP 32 for IPv6). */
#include <string.h>

#include <sys/socket.h>

#include "dht/krpc.h"

size_t sw__krpc_node_len(int family)
{
    return family == AF_INET6 ? SW_KRPC_NODE6_LEN : SW_KRPC_NODE4_LEN;
}

size_t sw__krpc_peer_len(int family)
{
    return family == AF_INET6 ? SW_KRPC_PEER6_LEN : SW_KRPC_PEER4_LEN;
}

size_t sw__krpc_peer_write(uint8_t *out, const sw_endpoint *ep)
{
    size_t alen = ep->family == AF_INET6 ? 16 : 4;
    memcpy(out, ep->addr, alen);
    sw__store_be16(out + alen, ep->port);
    return alen + 2;
}

bool sw__krpc_peer_read(const uint8_t *p, size_t len, sw_endpoint *ep)
{
    if (len != SW_KRPC_PEER4_LEN && len != SW_KRPC_PEER6_LEN)
        return false;
    size_t alen = len - 2;
    memset(ep, 0, sizeof *ep);
    ep->family = alen == 4 ? AF_INET : AF_INET6;
    memcpy(ep->addr, p, alen);
    ep->port = sw__load_be16(p + alen);
    return true;
}

int sw__krpc_node_append(sw_buf *out, const sw_sha1 *id, const sw_endpoint *ep)
{
    uint8_t tmp[SW_KRPC_NODE6_LEN];
    memcpy(tmp, id->v, SW_DHT_ID_LEN);
    size_t n = sw__krpc_peer_write(tmp + SW_DHT_ID_LEN, ep);
    return sw__buf_append(out, tmp, SW_DHT_ID_LEN + n);
}

size_t sw__krpc_node_count(sw_krpc_bytes nodes, int family)
{
    return nodes.p ? nodes.len / sw__krpc_node_len(family) : 0;
}

void sw__krpc_node_at(sw_krpc_bytes nodes, int family, size_t i, sw_sha1 *id_out,
                      sw_endpoint *ep_out)
{
    size_t nlen = sw__krpc_node_len(family);
    const uint8_t *p = nodes.p + i * nlen;
    memcpy(id_out->v, p, SW_DHT_ID_LEN);
    sw__krpc_peer_read(p + SW_DHT_ID_LEN, nlen - SW_DHT_ID_LEN, ep_out);
}
