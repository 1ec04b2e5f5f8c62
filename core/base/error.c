#include <cswarm/error.h>

#include <uv.h>

const char *sw_version(void)
{
    return SW_VERSION_STRING;
}

const char *sw_strerror(int err)
{
    switch (err) {
#define SW_ERR_MSG_(name, code, msg)                                                               \
    case code:                                                                                     \
        return msg;
        SW_ERRNO_MAP(SW_ERR_MSG_)
#undef SW_ERR_MSG_
    case 0:
        return "success";
    }
    return uv_strerror(err);
}

const char *sw_err_name(int err)
{
    switch (err) {
#define SW_ERR_NAME_(name, code, msg)                                                              \
    case code:                                                                                     \
        return "SW_ERR_" #name;
        SW_ERRNO_MAP(SW_ERR_NAME_)
#undef SW_ERR_NAME_
    case 0:
        return "SW_OK";
    }
    return uv_err_name(err);
}
