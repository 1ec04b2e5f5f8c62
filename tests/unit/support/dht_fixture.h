/* Test helpers for core/dht: DHT nodes on real UDP sockets on the loopback
 * address (each node owns a uv_udp_t, as a session's shared socket would,
 * and feeds it to sw__dht_on_packet), settings fit for one address, and a
 * loop runner that waits for a condition with a deadline. */
#ifndef SW_TEST_DHT_FIXTURE_H
#define SW_TEST_DHT_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "dht/dht.h"

typedef struct dfx_node {
    uv_udp_t udp;
    sw_dht *dht;
    int family;
    uint16_t port;
    struct sockaddr_storage addr; /* where it listens */
    bool closing;
    int closed; /* counts finished closes (dht, socket) */
    uint64_t sent, received;
} dfx_node;

/* Settings for nodes that share one address: no per-address limits, no
 * BEP 42 enforcement, no upload limit, long timeouts. */
void dfx_loopback_settings(sw_dht_settings *s);

/* Binds a UDP socket on 127.0.0.1 (or ::1) to a free port and starts a node
 * on it. s may be NULL (dfx_loopback_settings); id may be NULL (random).
 * Returns 0 or a negative code. */
int dfx_node_start(dfx_node *n, uv_loop_t *loop, int family, const sw_dht_settings *s,
                   const sw_sha1 *id);
/* Closes the node and its socket; run the loop to finish (dfx_node_closed). */
void dfx_node_close(dfx_node *n);
bool dfx_node_closed(const dfx_node *n);

/* Runs loop until cond(arg) is true or timeout_ms passes (wall clock).
 * A repeating 5 ms timer keeps the loop turning. */
bool dfx_run_until(uv_loop_t *loop, bool (*cond)(void *arg), void *arg, int timeout_ms);
/* Runs until every handle is closed, then closes the loop; returns
 * uv_loop_close's result (0 = nothing left open). */
int dfx_close_loop(uv_loop_t *loop, int timeout_ms);

/* Live routing table entries of a node. */
size_t dfx_node_table_size(const dfx_node *n);

#endif
