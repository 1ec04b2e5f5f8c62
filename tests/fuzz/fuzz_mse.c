/* Fuzz target for the MSE handshake parser (core/net/mse_hs.c): arbitrary
 * bytes from a remote are fed to a responder (the incoming side, which a
 * scanner reaches first) and to an initiator, in chunks whose sizes come
 * from the input. Whatever arrives, the parser must stay within its bounds
 * (96-byte keys, pads up to 512, the 628/616-byte sync limits) and free
 * everything.
 *
 * Input layout:
 *   byte 0   bit 0: the responder knows the torrent; bits 1-7: chunk seed
 *   rest     the bytes from the remote */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/mse.h"
#include "net/net.h"

static bool find_any(void *user, const uint8_t req2[20], uint8_t skey_out[20])
{
    bool *known = user;
    (void)req2;
    memset(skey_out, 0x42, 20);
    return *known;
}

static void feed(bool initiator, bool known, uint32_t seed, const uint8_t *data, size_t size)
{
    sw_mse_hs_config cfg = {.initiator = initiator,
                            .allowed = SW_MSE_PLAINTEXT | SW_MSE_RC4,
                            .find_skey = find_any,
                            .find_user = &known,
                            .max_pad = 0};
    memset(cfg.skey, 0x42, 20);
    sw_mse_hs *hs;
    if (sw__mse_hs_new(&cfg, &hs) < 0)
        return;
    size_t off = 0;
    while (off < size) {
        seed = seed * 1103515245u + 12345u;
        size_t chunk = 1 + (seed >> 16) % 200;
        if (chunk > size - off)
            chunk = size - off;
        int rc = sw__mse_hs_input(hs, data + off, chunk);
        off += chunk;
        const uint8_t *out;
        size_t out_len;
        sw__mse_hs_output(hs, &out, &out_len);
        if (out_len > 96 + 512 + 20 + 20 + 16 + 512)
            abort(); /* more than any handshake step may send */
        if (rc < 0)
            break;
    }
    if (sw__mse_hs_done(hs)) {
        const uint8_t *left;
        size_t left_len;
        sw__mse_hs_leftover(hs, &left, &left_len);
        if (left_len > size)
            abort();
    }
    sw__mse_hs_free(hs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint32_t seed = (uint32_t)(data[0] >> 1) * 2654435761u + 1;
    bool known = data[0] & 1;
    feed(false, known, seed, data + 1, size - 1);
    feed(true, known, seed, data + 1, size - 1);
    return 0;
}
