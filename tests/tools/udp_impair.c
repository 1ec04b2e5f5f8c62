/* udp_impair: a userspace UDP relay that loses, delays and reorders
 * datagrams, for uTP tests where the kernel has no netem qdisc.
 *
 *   udp_impair --target HOST:PORT [--listen PORT] [--loss PERCENT]
 *              [--delay-ms MS] [--jitter-ms MS] [--reorder PERCENT] [--seed N]
 *
 * The client side sends to 127.0.0.1:LISTEN (0 = any free port); each
 * datagram goes on to TARGET from a second socket, and TARGET's replies come
 * back to the last client address seen. Both directions get the same
 * impairment: a datagram is dropped with probability LOSS percent, otherwise
 * sent DELAY milliseconds after it arrived, plus uniform(0, JITTER) for the
 * REORDER percent of datagrams picked at random (default 100), so those
 * arrive after later ones. The random source is a fixed-seed xorshift, so a run's
 * decisions depend only on the order datagrams arrive in.
 *
 * Prints "ready PORT" once bound, and on SIGTERM/SIGINT one JSON line of
 * counters (forwarded, dropped, reordered). Loopback use only. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_QUEUED 200000 /* datagrams held at once; beyond: dropped */

typedef struct pkt {
    uint64_t due_ns;
    uint64_t seq; /* arrival order, to count reordering */
    int to_target;
    size_t len;
    uint8_t *data;
} pkt;

static pkt *heap;
static size_t heap_len;
static volatile sig_atomic_t stop;
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng_next(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static double rng_unit(void)
{
    return (double)(rng_next() >> 11) / 9007199254740992.0;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int before(const pkt *a, const pkt *b)
{
    return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->seq < b->seq);
}

static void heap_push(pkt p)
{
    size_t i = heap_len++;
    heap[i] = p;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!before(&heap[i], &heap[up]))
            break;
        pkt t = heap[i];
        heap[i] = heap[up];
        heap[up] = t;
        i = up;
    }
}

static pkt heap_pop(void)
{
    pkt top = heap[0];
    heap[0] = heap[--heap_len];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < heap_len && before(&heap[l], &heap[m]))
            m = l;
        if (r < heap_len && before(&heap[r], &heap[m]))
            m = r;
        if (m == i)
            break;
        pkt t = heap[i];
        heap[i] = heap[m];
        heap[m] = t;
        i = m;
    }
    return top;
}

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int bind_udp(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    int size = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int parse_target(const char *s, struct sockaddr_in *out)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    out->sin_port = htons((uint16_t)atoi(colon + 1));
    return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct sockaddr_in target;
    int have_target = 0;
    unsigned listen_port = 0;
    double loss = 0, delay_ms = 0, jitter_ms = 0, reorder = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--target"))
            have_target = parse_target(argv[i + 1], &target) == 0;
        else if (!strcmp(argv[i], "--listen"))
            listen_port = (unsigned)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--loss"))
            loss = atof(argv[i + 1]) / 100.0;
        else if (!strcmp(argv[i], "--delay-ms"))
            delay_ms = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--jitter-ms"))
            jitter_ms = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--reorder"))
            reorder = atof(argv[i + 1]) / 100.0;
        else if (!strcmp(argv[i], "--seed"))
            rng_state = strtoull(argv[i + 1], NULL, 0) | 1;
    }
    if (!have_target || listen_port > 65535) {
        fprintf(stderr, "usage: udp_impair --target HOST:PORT [--listen PORT] [--loss PERCENT] "
                        "[--delay-ms MS] [--jitter-ms MS] [--reorder PERCENT] [--seed N]\n");
        return 2;
    }
    int front = bind_udp((uint16_t)listen_port), back = bind_udp(0);
    if (front < 0 || back < 0) {
        perror("udp_impair: bind");
        return 1;
    }
    heap = calloc(MAX_QUEUED, sizeof *heap);
    if (!heap)
        return 1;
    struct sockaddr_in bound;
    socklen_t blen = sizeof bound;
    getsockname(front, (struct sockaddr *)&bound, &blen);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    printf("ready %u\n", ntohs(bound.sin_port));
    fflush(stdout);

    struct sockaddr_in client;
    int have_client = 0;
    uint64_t seq = 0, forwarded = 0, dropped = 0, overflow = 0, reordered = 0;
    uint64_t last_sent_seq[2] = {0, 0};
    static uint8_t buf[65536];
    while (!stop) {
        uint64_t now = now_ns();
        while (heap_len > 0 && heap[0].due_ns <= now) {
            pkt p = heap_pop();
            int fd = p.to_target ? back : front;
            const struct sockaddr_in *to = p.to_target ? &target : &client;
            if (p.seq < last_sent_seq[p.to_target])
                reordered++;
            else
                last_sent_seq[p.to_target] = p.seq;
            if (sendto(fd, p.data, p.len, 0, (const struct sockaddr *)to, sizeof *to) >= 0)
                forwarded++;
            else
                dropped++; /* a full socket buffer is a loss too */
            free(p.data);
        }
        int timeout = 50;
        if (heap_len > 0) {
            uint64_t wait = heap[0].due_ns > now ? heap[0].due_ns - now : 0;
            timeout = (int)(wait / 1000000);
        }
        struct pollfd pfd[2] = {{.fd = front, .events = POLLIN}, {.fd = back, .events = POLLIN}};
        if (poll(pfd, 2, timeout) < 0 && errno != EINTR)
            break;
        for (int k = 0; k < 2; k++) {
            if (!(pfd[k].revents & POLLIN))
                continue;
            for (;;) {
                struct sockaddr_in from;
                socklen_t flen = sizeof from;
                ssize_t n =
                    recvfrom(pfd[k].fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
                if (n < 0)
                    break;
                int to_target = k == 0;
                if (to_target) {
                    client = from;
                    have_client = 1;
                } else if (!have_client) {
                    continue;
                }
                if (rng_unit() < loss) {
                    dropped++;
                    continue;
                }
                if (heap_len >= MAX_QUEUED) {
                    overflow++;
                    continue;
                }
                pkt p = {.seq = ++seq, .to_target = to_target, .len = (size_t)n};
                double extra = rng_unit() < reorder ? rng_unit() * jitter_ms : 0;
                p.due_ns = now_ns() + (uint64_t)((delay_ms + extra) * 1e6);
                p.data = malloc((size_t)n);
                if (!p.data)
                    continue;
                memcpy(p.data, buf, (size_t)n);
                heap_push(p);
            }
        }
    }
    while (heap_len > 0)
        free(heap_pop().data);
    free(heap);
    printf("{\"forwarded\":%llu,\"dropped\":%llu,\"overflow\":%llu,\"reordered\":%llu}\n",
           (unsigned long long)forwarded, (unsigned long long)dropped, (unsigned long long)overflow,
           (unsigned long long)reordered);
    fflush(stdout);
    close(front);
    close(back);
    return 0;
}
