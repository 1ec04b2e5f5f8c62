/* Progress output for download and seed. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "json_out.h"
#include "progress.h"

#define LINE_INTERVAL_MS 5000
#define BAR_INTERVAL_MS 250
#define JSON_INTERVAL_MS 1000
#define BAR_WIDTH 30

void sw_progress_init(sw_progress *p, sw_progress_mode mode)
{
    memset(p, 0, sizeof *p);
    p->mode = mode;
    p->out = mode == SW_PROGRESS_JSON ? stdout : stderr;
}

void sw_format_bytes(char *buf, size_t len, double bytes)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024.0 && u < 4) {
        bytes /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%.0f %s", bytes, units[u]);
    else
        snprintf(buf, len, "%.1f %s", bytes, units[u]);
}

static void format_eta(char *buf, size_t len, const sw_torrent_status *st)
{
    int64_t left = st->total_wanted - st->total_wanted_done;
    if (left <= 0) {
        snprintf(buf, len, "0:00");
        return;
    }
    if (st->download_payload_rate <= 0) {
        snprintf(buf, len, "--:--");
        return;
    }
    int64_t s = left / st->download_payload_rate;
    if (s >= 3600)
        snprintf(buf, len, "%" PRId64 ":%02" PRId64 ":%02" PRId64, s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, len, "%" PRId64 ":%02" PRId64, s / 60, s % 60);
}

static int64_t eta_seconds(const sw_torrent_status *st)
{
    int64_t left = st->total_wanted - st->total_wanted_done;
    if (left <= 0)
        return 0;
    if (st->download_payload_rate <= 0)
        return -1;
    return left / st->download_payload_rate;
}

static const char *short_state(const sw_torrent_status *st)
{
    if (st->error)
        return "error";
    if (st->paused)
        return "paused";
    return sw_torrent_state_name(st->state);
}

static void print_bar(sw_progress *p, const sw_torrent_status *st)
{
    char down[32], up[32], eta[32];
    sw_format_bytes(down, sizeof down, st->download_payload_rate);
    sw_format_bytes(up, sizeof up, st->upload_payload_rate);
    format_eta(eta, sizeof eta, st);
    int filled = (int)((int64_t)st->progress_ppm * BAR_WIDTH / 1000000);
    char bar[BAR_WIDTH + 1];
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    fprintf(p->out, "\r[%s] %5.1f%%  down %s/s  up %s/s  peers %d  ETA %s  %s\033[K", bar,
            st->progress_ppm / 10000.0, down, up, st->num_peers, eta, short_state(st));
    fflush(p->out);
    p->bar_drawn = true;
}

static void print_line(sw_progress *p, const sw_torrent_status *st)
{
    char done[32], total[32], down[32], up[32], eta[32];
    sw_format_bytes(done, sizeof done, (double)st->total_wanted_done);
    sw_format_bytes(total, sizeof total, (double)st->total_wanted);
    sw_format_bytes(down, sizeof down, st->download_payload_rate);
    sw_format_bytes(up, sizeof up, st->upload_payload_rate);
    format_eta(eta, sizeof eta, st);
    fprintf(p->out, "%s %5.1f%% %s/%s down %s/s up %s/s peers %d seeds %d eta %s\n",
            short_state(st), st->progress_ppm / 10000.0, done, total, down, up, st->num_peers,
            st->num_seeds, eta);
    fflush(p->out);
}

/* The session's disk back-log: jobs the disk pool has not finished, bytes
 * received and not yet written, and connections waiting on the disk. */
static void print_disk_queue(sw_progress *p)
{
    sw_session_status ss;
    if (!p->ses || sw_session_get_status(p->ses, &ss) < 0)
        return;
    fprintf(p->out,
            ",\"disk_queue\":{\"jobs\":%" PRId64 ",\"bytes\":%" PRId64
            ",\"peers_waiting_write\":%d,\"peers_waiting_read\":%d}",
            ss.disk_queued_jobs, ss.disk_queued_bytes, ss.disk_write_queue, ss.disk_read_queue);
}

static void print_json(sw_progress *p, const sw_torrent_status *st)
{
    FILE *o = p->out;
    fprintf(o, "{\"state\":");
    sw_json_cstring(o, short_state(st));
    fprintf(o,
            ",\"progress\":%.6f,\"total_done\":%" PRId64 ",\"total_wanted\":%" PRId64
            ",\"total_wanted_done\":%" PRId64 ",\"num_pieces\":%d,\"total_pieces\":%d"
            ",\"download_rate\":%d,\"upload_rate\":%d,\"total_download\":%" PRId64
            ",\"total_upload\":%" PRId64 ",\"peers\":%d,\"seeds\":%d,\"eta\":%" PRId64,
            st->progress_ppm / 1000000.0, st->total_done, st->total_wanted, st->total_wanted_done,
            st->num_pieces, st->num_pieces_total, st->download_payload_rate,
            st->upload_payload_rate, st->total_payload_download, st->total_payload_upload,
            st->num_peers, st->num_seeds, eta_seconds(st));
    /* The torrent's modes, so a caller can see that its flags took. */
    fprintf(o, ",\"modes\":[");
    const char *sep = "";
    const struct {
        bool on;
        const char *name;
    } modes[] = {{st->sequential_download, "sequential"},
                 {st->super_seeding, "super_seeding"},
                 {st->seed_mode, "seed_mode"},
                 {st->share_mode, "share_mode"},
                 {st->upload_mode, "upload_mode"}};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (modes[i].on) {
            fprintf(o, "%s\"%s\"", sep, modes[i].name);
            sep = ",";
        }
    }
    fprintf(o, "]");
    print_disk_queue(p);
    if (st->error) {
        fprintf(o, ",\"error\":");
        sw_json_cstring(o, st->error_message);
    }
    fprintf(o, "}\n");
    fflush(o);
}

bool sw_progress_update(sw_progress *p, const sw_torrent_status *st, uint64_t now_ms, bool force)
{
    uint64_t interval;
    switch (p->mode) {
    case SW_PROGRESS_BAR:
        interval = BAR_INTERVAL_MS;
        break;
    case SW_PROGRESS_LINES:
        interval = LINE_INTERVAL_MS;
        break;
    case SW_PROGRESS_JSON:
        interval = JSON_INTERVAL_MS;
        break;
    default:
        return false;
    }
    if (!force && p->last_ms && now_ms - p->last_ms < interval)
        return false;
    p->last_ms = now_ms;
    if (p->mode == SW_PROGRESS_BAR)
        print_bar(p, st);
    else if (p->mode == SW_PROGRESS_LINES)
        print_line(p, st);
    else
        print_json(p, st);
    return true;
}

void sw_progress_break(sw_progress *p)
{
    if (p->mode == SW_PROGRESS_BAR && p->bar_drawn) {
        fputc('\n', p->out);
        fflush(p->out);
        p->bar_drawn = false;
    }
}

void sw_progress_event(sw_progress *p, const char *name, const char *extra)
{
    if (p->mode != SW_PROGRESS_JSON)
        return;
    fprintf(p->out, "{\"event\":");
    sw_json_cstring(p->out, name);
    if (extra && *extra)
        fprintf(p->out, ",%s", extra);
    fprintf(p->out, "}\n");
    fflush(p->out);
}
