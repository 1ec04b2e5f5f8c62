/* NAT-PMP in a session against a responder this test runs on 127.0.0.1
 * (CSWARM_TEST_NATPMP_GATEWAY points the session at it): the external
 * address and both mappings are asked for the listen port, answers become
 * portmap / portmap_error / external_ip alerts, a short lifetime is
 * renewed, an unanswered request is sent again, a malformed or foreign
 * reply changes nothing, and stopping deletes the mapping. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <cswarm/cswarm.h>

#include "session_fixture.h"

typedef struct responder {
    int fd;
    uint16_t port;
} responder;

typedef struct request {
    uint8_t op;
    uint16_t internal_port, external_port;
    uint32_t lifetime;
    struct sockaddr_in from;
} request;

static void responder_open(responder *r)
{
    r->fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(r->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(r->fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(r->fd, (struct sockaddr *)&a, &len), 0);
    r->port = ntohs(a.sin_port);
    char env[64];
    snprintf(env, sizeof env, "127.0.0.1:%u", (unsigned)r->port);
    assert_int_equal(setenv("CSWARM_TEST_NATPMP_GATEWAY", env, 1), 0);
}

/* The next request within timeout_ms; false if none came. */
static bool next_request(responder *r, request *q, int timeout_ms)
{
    struct pollfd p = {.fd = r->fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) != 1)
        return false;
    uint8_t b[64];
    socklen_t fl = sizeof q->from;
    ssize_t n = recvfrom(r->fd, b, sizeof b, 0, (struct sockaddr *)&q->from, &fl);
    assert_true(n >= 2);
    assert_int_equal(b[0], 0);
    q->op = b[1];
    if (q->op == 0) {
        assert_int_equal(n, 2);
        return true;
    }
    assert_int_equal(n, 12);
    q->internal_port = (uint16_t)(b[4] << 8 | b[5]);
    q->external_port = (uint16_t)(b[6] << 8 | b[7]);
    q->lifetime = (uint32_t)b[8] << 24 | (uint32_t)b[9] << 16 | (uint32_t)b[10] << 8 | b[11];
    return true;
}

/* Waits for a request with op (others are left unanswered). */
static request expect_op(responder *r, uint8_t op, int timeout_ms)
{
    uint64_t end = sfx_now_ms() + (uint64_t)timeout_ms;
    request q;
    while (sfx_now_ms() < end) {
        if (next_request(r, &q, (int)(end - sfx_now_ms())) && q.op == op)
            return q;
    }
    fail_msg("no NAT-PMP request with op %u", op);
    return q;
}

static void reply(responder *r, const request *q, uint16_t result, const uint8_t ip[4],
                  uint16_t ext_port, uint32_t lifetime)
{
    uint8_t b[16] = {0, (uint8_t)(128 + q->op), (uint8_t)(result >> 8), (uint8_t)result, 0, 0, 0,
                     42};
    size_t n = 8;
    if (q->op == 0) {
        memcpy(b + 8, ip, 4);
        n = 12;
    } else {
        b[8] = (uint8_t)(q->internal_port >> 8);
        b[9] = (uint8_t)q->internal_port;
        b[10] = (uint8_t)(ext_port >> 8);
        b[11] = (uint8_t)ext_port;
        b[12] = (uint8_t)(lifetime >> 24);
        b[13] = (uint8_t)(lifetime >> 16);
        b[14] = (uint8_t)(lifetime >> 8);
        b[15] = (uint8_t)lifetime;
        n = 16;
    }
    assert_int_equal(sendto(r->fd, b, n, 0, (const struct sockaddr *)&q->from, sizeof q->from),
                     (ssize_t)n);
}

static sw_session *natpmp_session(void)
{
    return sfx_session(0, SW_ALERT_CAT_PORT_MAPPING | SW_ALERT_CAT_STATUS | SW_ALERT_CAT_ERROR);
}

static bool is_protocol(const sw_alert *a, void *arg)
{
    return a->payload.portmap.protocol == *(int *)arg &&
           (a->type == SW_ALERT_PORTMAP || a->type == SW_ALERT_PORTMAP_ERROR);
}

static void test_map_refuse_renew_delete(void **state)
{
    (void)state;
    responder r;
    responder_open(&r);
    sw_session *ses = natpmp_session();
    uint16_t listen = sfx_listen_port(ses);
    assert_int_equal(sw_session_start_natpmp(ses), 0);

    static const uint8_t ext_ip[4] = {203, 0, 113, 7};
    request q = expect_op(&r, 0, 5000);
    /* Junk and a reply to nothing come first: both are ignored. */
    assert_int_equal(sendto(r.fd, "xyz", 3, 0, (struct sockaddr *)&q.from, sizeof q.from), 3);
    request other = {.op = 2, .internal_port = (uint16_t)(listen + 1)};
    other.from = q.from;
    reply(&r, &other, 0, NULL, 1, 60);
    reply(&r, &q, 0, ext_ip, 0, 0);
    sw_alert *a = sfx_wait_alert(ses, SW_ALERT_EXTERNAL_IP, 0, 5000);
    assert_non_null(a);
    assert_string_equal(a->payload.portmap.external_ip, "203.0.113.7");
    sw_alert_free(a);

    request udp = expect_op(&r, 1, 5000);
    assert_int_equal(udp.internal_port, listen);
    assert_int_equal(udp.lifetime, 7200);
    reply(&r, &udp, 0, NULL, (uint16_t)(listen + 1000), 2);
    int proto = SW_PORTMAP_UDP;
    a = sfx_wait_alert_if(ses, is_protocol, &proto, 5000);
    assert_non_null(a);
    assert_int_equal(a->type, SW_ALERT_PORTMAP);
    assert_int_equal(a->payload.portmap.external_port, listen + 1000);
    assert_int_equal(a->payload.portmap.map_type, SW_PORTMAP_NATPMP);
    sw_alert_free(a);

    request tcp = expect_op(&r, 2, 5000);
    assert_int_equal(tcp.internal_port, listen);
    reply(&r, &tcp, 2, NULL, 0, 0); /* not authorized */
    proto = SW_PORTMAP_TCP;
    a = sfx_wait_alert_if(ses, is_protocol, &proto, 5000);
    assert_non_null(a);
    assert_int_equal(a->type, SW_ALERT_PORTMAP_ERROR);
    assert_int_equal(a->error, SW_ERR_PORTMAP_REFUSED);
    sw_alert_free(a);

    /* A 2 s lifetime is renewed after about 1 s. */
    uint64_t t0 = sfx_now_ms();
    request again = expect_op(&r, 1, 5000);
    assert_true(sfx_now_ms() - t0 < 3000);
    assert_int_equal(again.internal_port, listen);
    reply(&r, &again, 0, NULL, (uint16_t)(listen + 1000), 7200);
    sfx_sleep_ms(200);

    /* Stopping deletes the UDP mapping (lifetime 0); the refused TCP one
     * was never made. */
    assert_int_equal(sw_session_stop_natpmp(ses), 0);
    request del = expect_op(&r, 1, 5000);
    assert_int_equal(del.internal_port, listen);
    assert_int_equal(del.lifetime, 0);
    assert_int_equal(del.external_port, 0);
    request none;
    assert_false(next_request(&r, &none, 300) && none.op == 2);
    sw_session_free(ses);
    close(r.fd);
}

static void test_retry_without_answer(void **state)
{
    (void)state;
    responder r;
    responder_open(&r);
    sw_session *ses = natpmp_session();
    assert_int_equal(sw_session_start_natpmp(ses), 0);
    /* Unanswered, the same request comes again after 250 ms, then 500. */
    uint64_t t0 = sfx_now_ms();
    expect_op(&r, 1, 5000);
    uint64_t t1 = sfx_now_ms();
    expect_op(&r, 1, 5000);
    uint64_t t2 = sfx_now_ms();
    expect_op(&r, 1, 5000);
    uint64_t t3 = sfx_now_ms();
    assert_true(t1 - t0 < 1000);
    assert_true(t2 - t1 >= 150 && t2 - t1 < 1000);
    assert_true(t3 - t2 >= 350 && t3 - t2 < 1500);
    /* Shutting down with nothing mapped sends no delete. */
    sw_session_free(ses);
    request q;
    while (next_request(&r, &q, 200))
        assert_int_not_equal(q.lifetime == 0 && q.op != 0, true);
    close(r.fd);
}

static void test_setting_gates(void **state)
{
    (void)state;
    responder r;
    responder_open(&r);
    /* enable_natpmp on and the default features: it starts by itself. */
    sw_settings *s = sfx_loopback_settings();
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_NATPMP, true), 0);
    sw_session *ses = sfx_session_from(s, SW_SESSION_START_DEFAULT_FEATURES, 0, true);
    expect_op(&r, 0, 5000);
    request udp = expect_op(&r, 1, 5000);
    reply(&r, &udp, 0, NULL, udp.internal_port, 7200);
    sfx_sleep_ms(300);
    /* Turning the setting off stops it: the mapping is deleted. */
    sfx_apply_setting(ses, SW_SET_ENABLE_NATPMP, 0);
    request del = expect_op(&r, 1, 5000);
    for (int i = 0; i < 3 && del.lifetime != 0; i++) /* a resend still queued */
        del = expect_op(&r, 1, 5000);
    assert_int_equal(del.lifetime, 0);
    assert_int_equal(del.internal_port, udp.internal_port);
    sw_session_free(ses);
    /* Off (as every test session has it): nothing is sent. */
    ses = sfx_session_from(sfx_loopback_settings(), SW_SESSION_START_DEFAULT_FEATURES, 0, true);
    request q;
    assert_false(next_request(&r, &q, 500));
    sw_session_free(ses);
    close(r.fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_refuse_renew_delete),
        cmocka_unit_test(test_retry_without_answer),
        cmocka_unit_test(test_setting_gates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
