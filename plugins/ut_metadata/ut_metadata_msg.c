/* BEP 9 message parsing (see ut_metadata_msg.h). */
#include "ut_metadata_msg.h"

SW_PLUGIN_INIT3

int ut_metadata_piece_len(int64_t size, int piece)
{
    if (piece < 0 || size <= 0 || (int64_t)piece * UT_METADATA_PIECE >= size)
        return 0;
    int64_t rest = size - (int64_t)piece * UT_METADATA_PIECE;
    return (int)(rest < UT_METADATA_PIECE ? rest : UT_METADATA_PIECE);
}

int ut_metadata_msg_parse(const uint8_t *payload, size_t len, ut_metadata_msg *out)
{
    /* Only the dictionary is decoded: anything after it (a data message's
     * piece) is trailing bytes to the decoder. A handful of nodes is all a
     * well-formed message needs. */
    sw_bdecode_opts opts = {0, 2, 32};
    sw_bdoc *doc;
    int rc = sw_bdecode(payload, len, &opts, &doc, NULL);
    if (rc == SW_ERR_NOMEM)
        return rc;
    if (rc < 0)
        return SW_ERR_PROTOCOL;
    sw_bnode root = sw_bdoc_root(doc);
    const uint8_t *raw;
    size_t dict_len = 0;
    int64_t type, piece, total = -1;
    rc = 0;
    if (!sw_bnode_is(root, SW_BNODE_DICT) || !sw_bnode_raw(root, &raw, &dict_len) ||
        raw != payload || dict_len > len || !sw_bnode_dict_get_int(root, "msg_type", &type) ||
        !sw_bnode_dict_get_int(root, "piece", &piece) || piece < 0 || piece > INT32_MAX) {
        rc = SW_ERR_PROTOCOL;
    } else {
        if (!sw_bnode_dict_get_int(root, "total_size", &total) || total < 0)
            total = -1;
        out->type = type;
        out->piece = (int)piece;
        out->total_size = total;
        out->data = payload + dict_len;
        out->data_len = len - dict_len;
    }
    sw_bdoc_free(doc);
    return rc;
}
