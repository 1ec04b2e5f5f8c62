/* Endpoints: conversions between socket addresses, text and sw_endpoint. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net.h"

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int sw__endpoint_from_sockaddr(sw_endpoint *ep, const struct sockaddr *sa)
{
    memset(ep, 0, sizeof *ep);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        ep->family = AF_INET;
        memcpy(ep->addr, &in->sin_addr, 4);
        ep->port = ntohs(in->sin_port);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        ep->port = ntohs(in6->sin6_port);
        if (memcmp(in6->sin6_addr.s6_addr, v4_mapped_prefix, 12) == 0) {
            ep->family = AF_INET;
            memcpy(ep->addr, in6->sin6_addr.s6_addr + 12, 4);
        } else {
            ep->family = AF_INET6;
            memcpy(ep->addr, in6->sin6_addr.s6_addr, 16);
        }
        return 0;
    }
    return SW_ERR_INVALID_ARG;
}

void sw__endpoint_to_sockaddr(const sw_endpoint *ep, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (ep->family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        in6->sin6_family = AF_INET6;
        memcpy(in6->sin6_addr.s6_addr, ep->addr, 16);
        in6->sin6_port = htons(ep->port);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        memcpy(&in->sin_addr, ep->addr, 4);
        in->sin_port = htons(ep->port);
    }
}

int sw__endpoint_from_ip(sw_endpoint *ep, const char *ip, uint16_t port)
{
    char buf[64];
    size_t len = strlen(ip);
    if (len >= sizeof buf || len == 0)
        return SW_ERR_INVALID_ARG;
    if (ip[0] == '[') {
        if (len < 3 || ip[len - 1] != ']')
            return SW_ERR_INVALID_ARG;
        memcpy(buf, ip + 1, len - 2);
        buf[len - 2] = '\0';
    } else {
        memcpy(buf, ip, len + 1);
    }
    sw_endpoint e;
    memset(&e, 0, sizeof e);
    if (inet_pton(AF_INET, buf, e.addr) == 1) {
        e.family = AF_INET;
    } else if (inet_pton(AF_INET6, buf, e.addr) == 1) {
        e.family = AF_INET6;
        if (memcmp(e.addr, v4_mapped_prefix, 12) == 0) {
            memmove(e.addr, e.addr + 12, 4);
            memset(e.addr + 4, 0, 12);
            e.family = AF_INET;
        }
    } else {
        return SW_ERR_INVALID_ARG;
    }
    e.port = port;
    *ep = e;
    return 0;
}

int sw__endpoint_parse(sw_endpoint *ep, const char *text)
{
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text)
        return SW_ERR_INVALID_ARG;
    /* An IPv6 address needs brackets so its colons are not taken for the
     * port separator. */
    if (text[0] != '[' && memchr(text, ':', (size_t)(colon - text)))
        return SW_ERR_INVALID_ARG;
    if (text[0] == '[' && colon[-1] != ']')
        return SW_ERR_INVALID_ARG;
    char *end;
    const char *port_text = colon + 1;
    if (*port_text < '0' || *port_text > '9')
        return SW_ERR_INVALID_ARG;
    unsigned long port = strtoul(port_text, &end, 10);
    if (*end != '\0' || port > 65535)
        return SW_ERR_INVALID_ARG;
    char ip[64];
    size_t ip_len = (size_t)(colon - text);
    if (ip_len >= sizeof ip)
        return SW_ERR_INVALID_ARG;
    memcpy(ip, text, ip_len);
    ip[ip_len] = '\0';
    return sw__endpoint_from_ip(ep, ip, (uint16_t)port);
}

void sw__endpoint_format_ip(const sw_endpoint *ep, char *out, size_t out_len)
{
    char buf[INET6_ADDRSTRLEN];
    if (ep->family == AF_INET6)
        inet_ntop(AF_INET6, ep->addr, buf, sizeof buf);
    else if (ep->family == AF_INET)
        inet_ntop(AF_INET, ep->addr, buf, sizeof buf);
    else
        buf[0] = '\0';
    snprintf(out, out_len, "%s", buf);
}

void sw__endpoint_format(const sw_endpoint *ep, char *out, size_t out_len)
{
    char ip[INET6_ADDRSTRLEN];
    sw__endpoint_format_ip(ep, ip, sizeof ip);
    if (ep->family == AF_INET6)
        snprintf(out, out_len, "[%s]:%u", ip, ep->port);
    else
        snprintf(out, out_len, "%s:%u", ip, ep->port);
}

bool sw__endpoint_same_ip(const sw_endpoint *a, const sw_endpoint *b)
{
    if (a->family != b->family)
        return false;
    return memcmp(a->addr, b->addr, a->family == AF_INET6 ? 16 : 4) == 0;
}

bool sw__endpoint_equal(const sw_endpoint *a, const sw_endpoint *b)
{
    return a->port == b->port && sw__endpoint_same_ip(a, b);
}

uint32_t sw__endpoint_ipv4(const sw_endpoint *ep)
{
    if (ep->family != AF_INET)
        return 0;
    return (uint32_t)ep->addr[0] << 24 | (uint32_t)ep->addr[1] << 16 | (uint32_t)ep->addr[2] << 8 |
           ep->addr[3];
}

uint32_t sw__endpoint_hash(const sw_endpoint *ep)
{
    /* FNV-1a over the significant bytes. */
    uint32_t h = 2166136261u;
    size_t n = ep->family == AF_INET6 ? 16 : 4;
    for (size_t i = 0; i < n; i++) {
        h ^= ep->addr[i];
        h *= 16777619u;
    }
    h ^= ep->port;
    h *= 16777619u;
    h ^= (uint32_t)ep->port >> 8;
    h *= 16777619u;
    return h;
}

void sw__endpoint_to_alert_peer(const sw_endpoint *ep, sw_alert_peer *out)
{
    sw__endpoint_format_ip(ep, out->ip, sizeof out->ip);
    out->port = ep->port;
}
