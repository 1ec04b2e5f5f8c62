/* Reading a torrent's limits back (the setters are in torrent_api.c). */
#include "session_int.h"

typedef enum limit_kind {
    LIMIT_UPLOAD,
    LIMIT_DOWNLOAD,
    LIMIT_MAX_UPLOADS,
    LIMIT_MAX_CONNECTIONS,
} limit_kind;

typedef struct limit_arg {
    uint64_t id;
    limit_kind kind;
    int value;
} limit_arg;

static int get_fn(sw_session *ses, void *arg)
{
    limit_arg *a = arg;
    sw_torrent *t = sw__session_find(ses, a->id);
    if (!t)
        return SW_ERR_INVALID_HANDLE;
    int v = 0;
    switch (a->kind) {
    case LIMIT_UPLOAD:
        v = t->cfg.upload_limit;
        break;
    case LIMIT_DOWNLOAD:
        v = t->cfg.download_limit;
        break;
    case LIMIT_MAX_UPLOADS:
        v = t->cfg.max_uploads;
        break;
    case LIMIT_MAX_CONNECTIONS:
        v = t->cfg.max_connections;
        break;
    }
    /* Rate limits of 0 and counts of 0 both mean none, as the setters
     * store them. */
    a->value = v <= 0 ? -1 : v;
    return 0;
}

static int get_limit(sw_torrent_handle h, limit_kind kind, int *out)
{
    if (!h.session || h.id == 0)
        return SW_ERR_INVALID_HANDLE;
    if (!out)
        return SW_ERR_INVALID_ARG;
    limit_arg a = {h.id, kind, 0};
    int rc = sw__session_run(h.session, get_fn, &a);
    if (rc == 0)
        *out = a.value;
    return rc;
}

int sw_torrent_upload_limit(sw_torrent_handle h, int *bytes_per_second_out)
{
    return get_limit(h, LIMIT_UPLOAD, bytes_per_second_out);
}

int sw_torrent_download_limit(sw_torrent_handle h, int *bytes_per_second_out)
{
    return get_limit(h, LIMIT_DOWNLOAD, bytes_per_second_out);
}

int sw_torrent_max_uploads(sw_torrent_handle h, int *max_out)
{
    return get_limit(h, LIMIT_MAX_UPLOADS, max_out);
}

int sw_torrent_max_connections(sw_torrent_handle h, int *max_out)
{
    return get_limit(h, LIMIT_MAX_CONNECTIONS, max_out);
}
