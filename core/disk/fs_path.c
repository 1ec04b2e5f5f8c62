/* Path safety: every file of a torrent must land beneath its save path. The
 * metainfo loader already sanitises paths; this is the second line. Paths are
 * checked lexically, then walked one folder at a time with O_NOFOLLOW so that
 * a symbolic link (or a file standing where a folder belongs) placed inside
 * the save path cannot redirect a write elsewhere. */
#include "disk_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_REL_PATH 4096

bool sw__disk_path_is_safe(const char *rel)
{
    if (!rel || !*rel || rel[0] == '/' || strlen(rel) > MAX_REL_PATH)
        return false;
    const char *p = rel;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        if (memchr(p, '\\', n))
            return false; /* a separator on other systems; keep files portable */
        if (!slash)
            return true;
        p = slash + 1;
    }
}

/* mkdir -p for the save path itself (chosen by the user, so trusted). */
static int mkdir_parents(const char *path)
{
    char *tmp = strdup(path);
    if (!tmp)
        return SW_ERR_NOMEM;
    int rc = 0;
    for (char *p = tmp + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
            rc = uv_translate_sys_error(errno);
            break;
        }
        *p = c;
        if (c == '\0')
            break;
    }
    free(tmp);
    return rc;
}

int sw__disk_open_root(const char *path, bool create, int *fd_out, sw_disk_op *op_out)
{
    int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
        int rc = mkdir_parents(path);
        if (rc) {
            *op_out = SW_DISK_OP_MKDIR;
            return rc;
        }
        fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
    if (fd < 0) {
        *op_out = SW_DISK_OP_OPEN;
        return uv_translate_sys_error(errno);
    }
    *fd_out = fd;
    return 0;
}

int sw__disk_walk_parent(int rootfd, const char *rel, bool create, int *parent_out,
                         const char **leaf_out, sw_disk_op *op_out)
{
    if (!sw__disk_path_is_safe(rel)) {
        *op_out = SW_DISK_OP_OPEN;
        return SW_ERR_STORAGE;
    }
    int dir = dup(rootfd);
    if (dir < 0) {
        *op_out = SW_DISK_OP_OPEN;
        return uv_translate_sys_error(errno);
    }
    char name[256];
    const char *p = rel;
    const char *slash;
    while ((slash = strchr(p, '/')) != NULL) {
        size_t n = (size_t)(slash - p);
        if (n >= sizeof name) {
            close(dir);
            *op_out = SW_DISK_OP_OPEN;
            return UV_ENAMETOOLONG;
        }
        memcpy(name, p, n);
        name[n] = '\0';
        int next = openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT && create) {
            if (mkdirat(dir, name, 0755) != 0 && errno != EEXIST) {
                int rc = uv_translate_sys_error(errno);
                close(dir);
                *op_out = SW_DISK_OP_MKDIR;
                return rc;
            }
            next = openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (next < 0) {
            /* ENOTDIR here also covers a symbolic link (O_NOFOLLOW + O_DIRECTORY). */
            int rc = uv_translate_sys_error(errno);
            close(dir);
            *op_out = SW_DISK_OP_OPEN;
            return rc;
        }
        close(dir);
        dir = next;
        p = slash + 1;
    }
    *parent_out = dir;
    *leaf_out = p;
    return 0;
}

void sw__disk_remove_empty_parents(int rootfd, const char *rel)
{
    char *tmp = strdup(rel);
    if (!tmp)
        return;
    char *slash;
    while ((slash = strrchr(tmp, '/')) != NULL) {
        *slash = '\0';
        int parent = -1;
        const char *leaf = NULL;
        sw_disk_op op;
        if (sw__disk_walk_parent(rootfd, tmp, false, &parent, &leaf, &op) != 0)
            break;
        /* rmdir fails on a folder that is not empty, which is what protects
         * files that are not the torrent's. */
        int rc = unlinkat(parent, leaf, AT_REMOVEDIR);
        close(parent);
        if (rc != 0)
            break;
    }
    free(tmp);
}
