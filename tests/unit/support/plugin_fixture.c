/* Test helpers for plugins (see plugin_fixture.h). */
#include "plugin_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* The folder of the running test executable (<build>/tests). */
static void exe_dir(char *out, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", out, len - 1);
    assert_true(n > 0);
    out[n] = '\0';
    char *slash = strrchr(out, '/');
    assert_non_null(slash);
    *slash = '\0';
}

const char *pfx_test_plugin(const char *name)
{
    static char path[1024];
    char dir[900];
    exe_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/plugins/%s.so", dir, name);
    return path;
}

const char *pfx_std_plugin(const char *name)
{
    static char path[1024];
    char dir[900];
    exe_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/../plugins/%s.so", dir, name);
    return path;
}
