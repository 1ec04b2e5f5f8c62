/* Running one torrent for `cswarm download` and `cswarm seed`: options,
 * session setup, the wait loop (alerts, progress, signals), resume data. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cswarm/cswarm.h>

#include "ip_filter_file.h"
#include "lua_cswarm.h"
#include "progress.h"
#include "transfer.h"

/* How often resume data is saved while running, and how long a final save
 * may take before we give up on it. */
#define RESUME_SAVE_INTERVAL_MS 30000
#define RESUME_SAVE_TIMEOUT_MS 10000
/* How often peers given with --peer are dialled again while not connected. */
#define PEER_RETRY_MS 3000
/* How long a --script may go on after the transfer ended. */
#define SCRIPT_GRACE_MS 5000
#define TRANSFER_ALERT_MASK                                                                        \
    (SW_ALERT_CAT_ERROR | SW_ALERT_CAT_STATUS | SW_ALERT_CAT_STORAGE | SW_ALERT_CAT_PEER)

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void sw_cli_transfer_init(sw_cli_transfer *t, const char *command)
{
    memset(t, 0, sizeof *t);
    t->command = command;
    t->listen_port = -1;
    t->save_dir = ".";
}

static const char *const not_yet[] = {
    "--no-dht",
    "--dht-node",
};

int sw_cli_transfer_option(sw_cli_transfer *t, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--peer") || !strcmp(a, "--set") || !strcmp(a, "--listen")) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "cswarm %s: %s needs a value\n", t->command, a);
            return -1;
        }
        const char *v = argv[++*i];
        if (!strcmp(a, "--listen")) {
            char *end;
            long port = strtol(v, &end, 10);
            if (*v == '\0' || *end != '\0' || port < 0 || port > 65535) {
                fprintf(stderr, "cswarm %s: --listen: not a port: %s\n", t->command, v);
                return -1;
            }
            t->listen_port = (int)port;
            return 1;
        }
        bool peer = !strcmp(a, "--peer");
        int *n = peer ? &t->num_peers : &t->num_sets;
        const char **list = peer ? t->peers : t->sets;
        if (*n >= SW_CLI_MAX_LIST) {
            fprintf(stderr, "cswarm %s: too many %s options\n", t->command, a);
            return -1;
        }
        list[(*n)++] = v;
        return 1;
    }
    if (!strcmp(a, "--plugin")) {
        if (*i + 1 >= argc || t->num_plugins >= SW_CLI_MAX_LIST) {
            fprintf(stderr, "cswarm %s: --plugin needs a path (at most %d)\n", t->command,
                    SW_CLI_MAX_LIST);
            return -1;
        }
        t->plugins[t->num_plugins++] = argv[++*i];
        return 1;
    }
    if (!strcmp(a, "--ip-filter")) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "cswarm %s: --ip-filter needs a file\n", t->command);
            return -1;
        }
        t->ip_filter_file = argv[++*i];
        return 1;
    }
    if (!strcmp(a, "--script")) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "cswarm %s: --script needs a .lua file\n", t->command);
            return -1;
        }
        t->script = argv[++*i];
        return 1;
    }
    if (!strcmp(a, "--no-default-plugins")) {
        t->no_default_plugins = true;
        return 1;
    }
    if (!strcmp(a, "--no-dht")) {
        t->no_dht = true;
        return 1;
    }
    if (!strcmp(a, "--dht-node")) {
        if (*i + 1 >= argc || t->num_dht_nodes >= SW_CLI_MAX_LIST) {
            fprintf(stderr, "cswarm %s: --dht-node needs HOST:PORT (at most %d)\n", t->command,
                    SW_CLI_MAX_LIST);
            return -1;
        }
        t->dht_nodes[t->num_dht_nodes++] = argv[++*i];
        return 1;
    }
    static const struct {
        const char *name;
        size_t offset;
    } mode_flags[] = {
        {"--sequential", offsetof(sw_cli_transfer, sequential)},
        {"--super-seed", offsetof(sw_cli_transfer, super_seed)},
        {"--seed-mode", offsetof(sw_cli_transfer, seed_mode)},
        {"--share-mode", offsetof(sw_cli_transfer, share_mode)},
    };
    for (size_t k = 0; k < sizeof mode_flags / sizeof mode_flags[0]; k++) {
        if (!strcmp(a, mode_flags[k].name)) {
            *(bool *)((char *)t + mode_flags[k].offset) = true;
            return 1;
        }
    }
    if (!strcmp(a, "--json-progress")) {
        t->json = true;
        return 1;
    }
    if (!strcmp(a, "--quiet")) {
        t->quiet = true;
        return 1;
    }
    if (!strcmp(a, "--utp") || !strcmp(a, "--no-utp") || !strcmp(a, "--utp-only")) {
        t->utp_mode = !strcmp(a, "--utp")      ? SW_CLI_UTP_ON
                      : !strcmp(a, "--no-utp") ? SW_CLI_UTP_OFF
                                               : SW_CLI_UTP_ONLY;
        return 1;
    }
    for (size_t k = 0; k < sizeof not_yet / sizeof not_yet[0]; k++) {
        if (!strcmp(a, not_yet[k])) {
            fprintf(stderr, "cswarm %s: %s is not supported yet\n", t->command, a);
            return -1;
        }
    }
    return 0;
}

/* ---- helpers ---- */

static int mkdir_p(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0777) < 0 && errno != EEXIST)
                return -1;
            buf[i] = c;
        }
    }
    return 0;
}

static char *resume_path(const char *dir, const sw_sha1 *info_hash)
{
    char hex[2 * SW_SHA1_LEN + 1];
    sw_hex_encode(info_hash->v, SW_SHA1_LEN, hex);
    size_t len = strlen(dir) + sizeof "/.cswarm/" + sizeof hex + sizeof ".resume";
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s/.cswarm/%s.resume", dir, hex);
    return p;
}

static uint8_t *read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    *len_out = len;
    return buf;
}

/* Writes through a temporary file and a rename, so a crash never leaves
 * half a resume file. */
static int write_file_atomic(const char *path, const uint8_t *data, size_t len)
{
    size_t n = strlen(path) + 8;
    char *tmp = malloc(n);
    if (!tmp)
        return -1;
    snprintf(tmp, n, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    int rc = fd < 0 ? -1 : 0;
    size_t off = 0;
    while (rc == 0 && off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            rc = -1;
        else
            off += (size_t)w;
    }
    if (fd >= 0 && close(fd) < 0)
        rc = -1;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -1;
    if (rc < 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* Splits HOST:PORT ([v6]:PORT for IPv6) and resolves HOST to a numeric
 * address. */
static int resolve_peer(const char *text, char *ip, size_t ip_len, uint16_t *port)
{
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text)
        return -1;
    char host[256];
    size_t hl = (size_t)(colon - text);
    if (text[0] == '[') {
        if (hl < 2 || text[hl - 1] != ']')
            return -1;
        memcpy(host, text + 1, hl - 2);
        host[hl - 2] = '\0';
    } else {
        if (hl >= sizeof host || memchr(text, ':', hl))
            return -1;
        memcpy(host, text, hl);
        host[hl] = '\0';
    }
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || p <= 0 || p > 65535)
        return -1;
    struct addrinfo hints, *res;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return -1;
    int rc =
        getnameinfo(res->ai_addr, res->ai_addrlen, ip, (socklen_t)ip_len, NULL, 0, NI_NUMERICHOST);
    freeaddrinfo(res);
    if (rc != 0)
        return -1;
    *port = (uint16_t)p;
    return 0;
}

/* ---- the run ---- */

typedef struct run {
    const sw_cli_transfer *opt;
    sw_session *ses;
    sw_torrent_handle h;
    sw_torrent_info *ti; /* NULL for a magnet link */
    sw_magnet *magnet;   /* NULL for a .torrent */
    const char *url;     /* an http(s) URL of the .torrent, fetched by the session; or NULL */
    char *resume_file;
    sw_progress progress;
    char peer_ip[SW_CLI_MAX_LIST][64];
    uint16_t peer_port[SW_CLI_MAX_LIST];
    bool finished;      /* every wanted piece verified */
    bool final_printed; /* the last status was printed */
    uint64_t started_ms;
    bool saving; /* a resume save is in flight */
    int error;   /* a torrent error stopped it */
    char error_msg[320];
    sw_lua_script *script; /* --script: sees every alert batch popped */
} run;

static void say(run *r, const char *fmt, const char *a, const char *b)
{
    if (r->opt->quiet)
        return;
    sw_progress_break(&r->progress);
    fprintf(stderr, fmt, a, b);
}

/* A JSON string for an alert's operation text (plain printable ASCII kept,
 * anything else dropped). */
static void json_quoted_op(const char *in, char *out, size_t len)
{
    size_t n = 0;
    out[n++] = '"';
    for (const char *c = in ? in : ""; *c && n + 2 < len; c++)
        if (*c >= 0x20 && *c < 0x7f && *c != '"' && *c != '\\')
            out[n++] = *c;
    out[n++] = '"';
    out[n] = '\0';
}

/* Resume data lives in SAVE_DIR/.cswarm/<info-hash>.resume; NULL (no
 * resume data) if the folder cannot be made. */
static void set_resume_file(run *r, const sw_sha1 *info_hash)
{
    r->resume_file = resume_path(r->opt->save_dir, info_hash);
    if (r->resume_file) {
        char *dir = strdup(r->resume_file);
        if (dir) {
            *strrchr(dir, '/') = '\0';
            if (mkdir_p(dir) < 0) {
                free(r->resume_file);
                r->resume_file = NULL;
            }
            free(dir);
        }
    }
}

static void handle_alert(run *r, const sw_alert *a)
{
    switch (a->type) {
    case SW_ALERT_SAVE_RESUME_DATA:
        r->saving = false;
        if (r->resume_file && a->payload.resume.data &&
            write_file_atomic(r->resume_file, a->payload.resume.data, a->payload.resume.len) < 0)
            say(r, "cswarm: warning: cannot write %s: %s\n", r->resume_file, strerror(errno));
        break;
    case SW_ALERT_SAVE_RESUME_DATA_FAILED:
        r->saving = false;
        break;
    case SW_ALERT_TORRENT_ERROR:
    case SW_ALERT_FILE_ERROR:
        if (a->torrent_id == r->h.id && !r->error) {
            r->error = a->error ? a->error : SW_ERR_IO;
            snprintf(r->error_msg, sizeof r->error_msg, "%s", a->message);
        }
        break;
    case SW_ALERT_TORRENT_FINISHED:
        if (a->torrent_id == r->h.id)
            r->finished = true;
        break;
    case SW_ALERT_METADATA_RECEIVED:
        /* A URL source: the info-hash is known only now. */
        if (r->url && !r->resume_file && a->torrent_id == r->h.id)
            set_resume_file(r, &a->info_hash);
        sw_progress_event(&r->progress, "metadata_received", NULL);
        if (!r->opt->json)
            say(r, "cswarm: %s%s\n", a->message, "");
        break;
    case SW_ALERT_METADATA_FAILED:
        sw_progress_event(&r->progress, "metadata_failed", NULL);
        if (!r->opt->json)
            say(r, "cswarm: warning: %s%s\n", a->message, "");
        break;
    case SW_ALERT_PLUGIN_ERROR:
        say(r, "cswarm: warning: plugin %s%s\n", a->message, "");
        break;
    case SW_ALERT_PEER_BAN: {
        char extra[320], op[200];
        json_quoted_op(a->payload.peer.operation, op, sizeof op);
        snprintf(extra, sizeof extra, "\"ip\":\"%s\",\"port\":%u,\"operation\":%s",
                 a->payload.peer.peer.ip, a->payload.peer.peer.port, op);
        sw_progress_event(&r->progress, "peer_banned", extra);
        if (!r->opt->json)
            say(r, "cswarm: %s%s\n", a->message, "");
        break;
    }
    case SW_ALERT_LISTEN_FAILED:
        say(r, "cswarm: warning: %s%s\n", a->message, "");
        break;
    case SW_ALERT_URL_SEED: {
        char extra[700], url[300], msg[300];
        json_quoted_op(a->payload.tracker.url, url, sizeof url);
        json_quoted_op(a->payload.tracker.text, msg, sizeof msg);
        snprintf(extra, sizeof extra, "\"url\":%s,\"status\":%d,\"message\":%s", url,
                 a->payload.tracker.status_code, msg);
        sw_progress_event(&r->progress, "url_seed", extra);
        if (!r->opt->json)
            say(r, "cswarm: warning: %s%s\n", a->message, "");
        break;
    }
    default:
        break;
    }
}

static void drain_alerts(run *r)
{
    sw_alert_batch *batch;
    if (sw_session_pop_alerts(r->ses, &batch) < 0)
        return;
    for (size_t i = 0; i < batch->count; i++)
        handle_alert(r, batch->alerts[i]);
    if (r->script)
        sw_lua_script_post(r->script, batch);
    else
        sw_alert_batch_free(batch);
}

static void request_resume_save(run *r)
{
    if (r->saving || !r->resume_file)
        return;
    if (sw_torrent_save_resume_data(r->h, 0) == 0)
        r->saving = true;
}

/* Saves resume data and waits for it (bounded). */
static void final_resume_save(run *r)
{
    if (!r->resume_file)
        return;
    uint64_t deadline = now_ms() + RESUME_SAVE_TIMEOUT_MS;
    while (r->saving && now_ms() < deadline) {
        sw_session_wait_for_alert(r->ses, 100);
        drain_alerts(r);
    }
    request_resume_save(r);
    while (r->saving && now_ms() < deadline) {
        sw_session_wait_for_alert(r->ses, 100);
        drain_alerts(r);
    }
}

static void connect_peers(run *r, const sw_torrent_status *st)
{
    if (r->opt->num_peers == 0)
        return;
    sw_peer_info *peers = NULL;
    size_t n = 0;
    if (st && st->num_peers > 0)
        sw_torrent_get_peer_info(r->h, &peers, &n);
    for (int i = 0; i < r->opt->num_peers; i++) {
        bool connected = false;
        for (size_t k = 0; k < n; k++) {
            if (peers[k].port == r->peer_port[i] && !strcmp(peers[k].ip, r->peer_ip[i]))
                connected = true;
        }
        if (!connected)
            sw_torrent_connect_peer(r->h, r->peer_ip[i], r->peer_port[i]);
    }
    free(peers);
}

static int setup(run *r, sw_settings *settings)
{
    const sw_cli_transfer *o = r->opt;
    if (o->utp_mode != SW_CLI_UTP_DEFAULT) {
        bool utp = o->utp_mode != SW_CLI_UTP_OFF, tcp = o->utp_mode != SW_CLI_UTP_ONLY;
        sw_settings_set_bool(settings, SW_SET_ENABLE_OUTGOING_UTP, utp);
        sw_settings_set_bool(settings, SW_SET_ENABLE_INCOMING_UTP, utp);
        sw_settings_set_bool(settings, SW_SET_ENABLE_OUTGOING_TCP, tcp);
        sw_settings_set_bool(settings, SW_SET_ENABLE_INCOMING_TCP, tcp);
    }
    for (int i = 0; i < o->num_sets; i++) {
        int rc = sw_settings_apply_assignment(settings, o->sets[i]);
        if (rc < 0) {
            fprintf(stderr, "cswarm %s: --set %s: %s\n", o->command, o->sets[i], sw_strerror(rc));
            return 2;
        }
    }
    /* After --set: --no-dht wins over enable_dht=true. */
    if (o->no_dht)
        sw_settings_set_bool(settings, SW_SET_ENABLE_DHT, false);
    char dht_ip[SW_CLI_MAX_LIST][64];
    uint16_t dht_port[SW_CLI_MAX_LIST];
    for (int i = 0; i < o->num_dht_nodes; i++) {
        if (resolve_peer(o->dht_nodes[i], dht_ip[i], sizeof dht_ip[i], &dht_port[i]) < 0) {
            fprintf(stderr, "cswarm %s: --dht-node %s: expected HOST:PORT\n", o->command,
                    o->dht_nodes[i]);
            return 2;
        }
    }
    for (int i = 0; i < o->num_peers; i++) {
        if (resolve_peer(o->peers[i], r->peer_ip[i], sizeof r->peer_ip[i], &r->peer_port[i]) < 0) {
            fprintf(stderr, "cswarm %s: --peer %s: expected HOST:PORT\n", o->command, o->peers[i]);
            return 2;
        }
    }
    sw_session_params sp;
    sw_session_params_init(&sp);
    sp.settings = settings;
    sp.alert_mask = TRANSFER_ALERT_MASK;
    /* The standard plugins are added after the --plugin modules, so those
     * come first in every hook's order: they see every message and may
     * override the standard ones (one of the same name replaces it). */
    sp.flags &= ~(unsigned)SW_SESSION_ADD_DEFAULT_PLUGINS;
    int rc = sw_session_new(&sp, &r->ses);
    if (rc < 0) {
        fprintf(stderr, "cswarm %s: cannot start a session: %s\n", o->command, sw_strerror(rc));
        return 1;
    }
    if (o->ip_filter_file) {
        rc = sw_cli_load_ip_filter(r->ses, o->ip_filter_file, o->command, o->quiet);
        if (rc != 0)
            return rc;
    }
    for (int i = 0; i < o->num_plugins; i++) {
        sw_error_detail err;
        rc = sw_session_load_plugin(r->ses, o->plugins[i], &err);
        if (rc < 0) {
            fprintf(stderr, "cswarm %s: --plugin %s: %s\n", o->command, o->plugins[i],
                    err.message[0] ? err.message : sw_strerror(rc));
            return rc == SW_ERR_NOT_SUPPORTED ? 2 : 1;
        }
    }
    for (size_t i = 0; !o->no_default_plugins && sw_builtin_plugin_name(i); i++) {
        rc = sw_session_add_builtin_plugin(r->ses, sw_builtin_plugin_name(i), NULL);
        if (rc < 0 && rc != SW_ERR_EXISTS)
            fprintf(stderr, "cswarm %s: warning: plugin %s: %s\n", o->command,
                    sw_builtin_plugin_name(i), sw_strerror(rc));
    }
    /* Ports: --listen wins; else a port in listen_interfaces set with
     * --set; else libtorrent's usual range. */
    int port_min = 6881, port_max = 6889;
    unsigned lflags = 0;
    if (o->listen_port >= 0) {
        port_min = port_max = o->listen_port;
        lflags = o->listen_port ? SW_LISTEN_NO_SYSTEM_PORT : 0;
    } else {
        for (int i = 0; i < o->num_sets; i++) {
            if (strncmp(o->sets[i], "listen_interfaces=", 18) != 0)
                continue;
            const char *colon = strrchr(o->sets[i] + 18, ':');
            const char *bracket = strrchr(o->sets[i] + 18, ']');
            if (colon && (!bracket || colon > bracket))
                port_min = port_max = atoi(colon + 1);
        }
    }
    rc = sw_session_listen_on(r->ses, port_min, port_max, NULL, lflags);
    if (rc < 0) {
        fprintf(stderr, "cswarm %s: cannot listen on port %d: %s\n", o->command, port_min,
                sw_strerror(rc));
        return 1;
    }
    uint16_t port = 0;
    sw_session_listen_port(r->ses, &port);
    char extra[64];
    snprintf(extra, sizeof extra, "\"port\":%u", port);
    sw_progress_event(&r->progress, "listening", extra);
    if (!o->quiet && !o->json)
        fprintf(stderr, "cswarm: listening on port %u\n", port);
    /* The DHT joins through these (its own bootstrap routers come from
     * the dht_bootstrap_nodes setting). */
    for (int i = 0; i < o->num_dht_nodes && !o->no_dht; i++) {
        rc = sw_session_add_dht_node(r->ses, dht_ip[i], dht_port[i]);
        if (rc < 0)
            fprintf(stderr, "cswarm %s: warning: --dht-node %s: %s\n", o->command, o->dht_nodes[i],
                    sw_strerror(rc));
    }
    return 0;
}

static int add(run *r)
{
    const sw_cli_transfer *o = r->opt;
    if (mkdir_p(o->save_dir) < 0) {
        fprintf(stderr, "cswarm %s: cannot create %s: %s\n", o->command, o->save_dir,
                strerror(errno));
        return 1;
    }
    /* A URL source gets its resume file once the .torrent arrived. */
    if (!r->url)
        set_resume_file(r, r->ti ? &sw_torrent_info_hashes(r->ti)->v1
                                 : &sw_magnet_hashes(r->magnet)->v1);
    size_t resume_len = 0;
    uint8_t *resume = r->resume_file ? read_file(r->resume_file, &resume_len) : NULL;
    sw_add_torrent_params p;
    sw_add_torrent_params_init(&p);
    p.ti = r->ti;
    /* The session downloads the .torrent itself (add_torrent_params url). */
    p.url = r->url;
    if (!r->ti && r->magnet) {
        /* A magnet link: the metadata comes from peers (ut_metadata). */
        p.info_hash = sw_magnet_hashes(r->magnet)->v1;
        p.name = sw_magnet_name(r->magnet);
    }
    p.save_path = o->save_dir;
    p.resume_data = resume;
    p.resume_data_len = resume_len;
    /* The command line decides pausing, not old resume data. */
    p.flags |= SW_ADD_OVERRIDE_RESUME_DATA;
    if (o->seed_only)
        p.flags |= SW_ADD_UPLOAD_MODE;
    if (o->sequential)
        p.flags |= SW_ADD_SEQUENTIAL_DOWNLOAD;
    if (o->super_seed)
        p.flags |= SW_ADD_SUPER_SEEDING;
    if (o->seed_mode)
        p.flags |= SW_ADD_SEED_MODE;
    if (o->share_mode)
        p.flags |= SW_ADD_SHARE_MODE;
    sw_error_detail err;
    int rc = sw_session_add_torrent(r->ses, &p, &r->h, &err);
    free(resume);
    if (rc < 0) {
        fprintf(stderr, "cswarm %s: %s\n", o->command,
                err.message[0] ? err.message : sw_strerror(rc));
        return 1;
    }
    if (r->url) {
        char extra[600];
        char quoted[540];
        json_quoted_op(r->url, quoted, sizeof quoted);
        snprintf(extra, sizeof extra, "\"url\":%s", quoted);
        sw_progress_event(&r->progress, "fetching", extra);
        if (!o->json)
            say(r, "cswarm: fetching %s%s\n", r->url, "");
    }
    /* A magnet link's tr= trackers, one tier each, in link order. */
    for (int i = 0; r->magnet && i < sw_magnet_num_trackers(r->magnet); i++)
        sw_torrent_add_tracker(r->h, sw_magnet_tracker(r->magnet, i), i);
    /* Its ws= web seeds, used once the metadata has arrived. */
    for (int i = 0; r->magnet && i < sw_magnet_num_web_seeds(r->magnet); i++)
        sw_torrent_add_url_seed(r->h, sw_magnet_web_seed(r->magnet, i));
    for (int i = 0; r->magnet && i < sw_magnet_num_peers(r->magnet); i++) {
        const sw_magnet_peer *mp = sw_magnet_peer_at(r->magnet, i);
        if (mp->kind != SW_MAGNET_PEER_HOSTNAME)
            sw_torrent_connect_peer(r->h, mp->host, (uint16_t)mp->port);
    }
    return 0;
}

static bool checking(const sw_torrent_status *st)
{
    return st->state == SW_TORRENT_CHECKING_FILES || st->state == SW_TORRENT_CHECKING_RESUME_DATA ||
           st->state == SW_TORRENT_QUEUED_FOR_CHECKING;
}

/* One line saying what the download moved and how fast. */
static void summary(run *r, const sw_torrent_status *st, uint64_t now)
{
    if (r->opt->quiet || r->opt->json)
        return;
    sw_progress_break(&r->progress);
    double secs = (double)(now - r->started_ms) / 1000.0;
    char got[32], rate[32];
    sw_format_bytes(got, sizeof got, (double)st->total_payload_download);
    sw_format_bytes(rate, sizeof rate, secs > 0 ? (double)st->total_payload_download / secs : 0);
    fprintf(stderr, "cswarm: complete: downloaded %s in %.1f s (%s/s), %d of %d pieces verified\n",
            got, secs, rate, st->num_pieces, st->num_pieces_total);
}

static int loop(run *r)
{
    const sw_cli_transfer *o = r->opt;
    uint64_t last_resume = now_ms(), last_peers = 0;
    bool announced_seed = false;
    sw_torrent_status st;
    memset(&st, 0, sizeof st);
    r->progress.ses = r->ses;
    for (;;) {
        sw_session_wait_for_alert(r->ses, 100);
        drain_alerts(r);
        if (r->error) {
            sw_progress_break(&r->progress);
            fprintf(stderr, "cswarm %s: %s\n", o->command, r->error_msg);
            return 1;
        }
        if (stop_signal)
            return o->seed_only || (r->finished && o->keep_seeding) ? 0 : 130;
        if (r->script && sw_lua_script_failed(r->script))
            return 1; /* the message comes from sw_lua_script_finish */
        if (sw_torrent_get_status(r->h, &st) < 0)
            return 1;
        uint64_t now = now_ms();
        bool done = !checking(&st) && st.is_finished;
        bool printed = sw_progress_update(&r->progress, &st, now, false);
        if (!checking(&st) && now - last_peers >= PEER_RETRY_MS) {
            last_peers = now;
            if (!(done && !o->seed_only && !o->keep_seeding))
                connect_peers(r, &st);
        }
        if (done && !announced_seed) {
            announced_seed = true;
            if (!printed)
                sw_progress_update(&r->progress, &st, now, true);
            if (o->seed_only || o->keep_seeding) {
                sw_progress_event(&r->progress, "seeding", NULL);
                if (o->seed_only && st.state != SW_TORRENT_SEEDING) {
                    char have[32];
                    snprintf(have, sizeof have, "%d of %d", st.num_pieces, st.num_pieces_total);
                    say(r, "cswarm: warning: the data is incomplete (%s pieces); seeding what %s\n",
                        have, "is there");
                }
            } else {
                r->final_printed = true;
                sw_progress_event(&r->progress, "finished", NULL);
                summary(r, &st, now);
                return 0;
            }
            request_resume_save(r);
            last_resume = now;
        }
        if (now - last_resume >= RESUME_SAVE_INTERVAL_MS && !checking(&st) && st.need_save_resume) {
            last_resume = now;
            request_resume_save(r);
        }
    }
}

int sw_cli_transfer_run(const sw_cli_transfer *o)
{
    run r;
    memset(&r, 0, sizeof r);
    r.opt = o;
    if (!strncasecmp(o->source, "http://", 7) || !strncasecmp(o->source, "https://", 8))
        r.url = o->source;
    sw_progress_mode mode = o->quiet                ? SW_PROGRESS_QUIET
                            : o->json               ? SW_PROGRESS_JSON
                            : isatty(STDERR_FILENO) ? SW_PROGRESS_BAR
                                                    : SW_PROGRESS_LINES;
    sw_progress_init(&r.progress, mode);
    sw_error_detail err;
    int rc;
    if (r.url) {
        /* Nothing to load here: the session fetches it. */
    } else if (!strncmp(o->source, "magnet:", 7)) {
        rc = sw_magnet_parse(o->source, strlen(o->source), &r.magnet, &err);
        if (rc == 0 && !sw_magnet_hashes(r.magnet)->has_v1) {
            snprintf(err.message, sizeof err.message, "only v1 (btih) magnet links are supported");
            sw_magnet_free(r.magnet);
            rc = SW_ERR_NOT_SUPPORTED;
        }
        if (rc < 0) {
            fprintf(stderr, "cswarm %s: %s\n", o->command, err.message);
            return 2;
        }
    } else {
        rc = sw_torrent_info_load_file(o->source, NULL, &r.ti, &err);
        if (rc < 0) {
            fprintf(stderr, "cswarm %s: %s\n", o->command, err.message);
            return 1;
        }
    }
    sw_settings *settings;
    if (sw_settings_new(&settings) < 0) {
        sw_torrent_info_unref(r.ti);
        sw_magnet_free(r.magnet);
        return 1;
    }
    int status = setup(&r, settings);
    sw_settings_free(settings);
    if (status == 0)
        status = add(&r);
    if (status == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        connect_peers(&r, NULL);
        r.started_ms = now_ms();
        if (o->script &&
            sw_lua_script_start(o->script, r.ses, r.h, TRANSFER_ALERT_MASK, &r.script) < 0) {
            fprintf(stderr, "cswarm %s: cannot start %s\n", o->command, o->script);
            status = 1;
        }
        if (status == 0)
            status = loop(&r);
        sw_torrent_status st;
        if (!r.final_printed && sw_torrent_get_status(r.h, &st) == 0)
            sw_progress_update(&r.progress, &st, now_ms(), true);
        if (!r.error)
            final_resume_save(&r);
        sw_progress_break(&r.progress);
        if (status == 130 && !o->quiet)
            fprintf(stderr, "cswarm %s: interrupted; resume data saved\n", o->command);
    }
    if (r.script) {
        /* The script sees the alerts up to here, then its waits end; one
         * still busy after a grace period is interrupted. */
        char *script_err = NULL;
        int script_status = sw_lua_script_finish(r.script, SCRIPT_GRACE_MS, &script_err);
        if (script_err) {
            sw_progress_break(&r.progress);
            fprintf(stderr, "cswarm %s: %s\n", o->command, script_err);
            free(script_err);
            if (status == 0)
                status = script_status ? script_status : 1;
        }
    }
    if (r.ses) {
        sw_session_proxy *proxy = NULL;
        if (sw_session_abort(r.ses, &proxy) == 0) {
            sw_session_free(r.ses);
            sw_session_proxy_free(proxy);
        } else {
            sw_session_free(r.ses);
        }
    }
    free(r.resume_file);
    sw_torrent_info_unref(r.ti);
    sw_magnet_free(r.magnet);
    return status;
}
