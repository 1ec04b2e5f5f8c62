/* RC4 for MSE. OpenSSL 3 keeps RC4 in its legacy provider, which is not
 * always loaded, and the cipher is a few lines, so cswarm carries its own. */
#include "mse.h"

void sw__mse_rc4_init(sw_mse_rc4 *rc, const uint8_t *key, size_t key_len)
{
    for (int k = 0; k < 256; k++)
        rc->s[k] = (uint8_t)k;
    uint8_t j = 0;
    for (int k = 0; k < 256; k++) {
        j = (uint8_t)(j + rc->s[k] + key[(size_t)k % key_len]);
        uint8_t t = rc->s[k];
        rc->s[k] = rc->s[j];
        rc->s[j] = t;
    }
    rc->i = 0;
    rc->j = 0;
}

static uint8_t next_byte(sw_mse_rc4 *rc)
{
    rc->i = (uint8_t)(rc->i + 1);
    rc->j = (uint8_t)(rc->j + rc->s[rc->i]);
    uint8_t t = rc->s[rc->i];
    rc->s[rc->i] = rc->s[rc->j];
    rc->s[rc->j] = t;
    return rc->s[(uint8_t)(rc->s[rc->i] + rc->s[rc->j])];
}

void sw__mse_rc4_apply(sw_mse_rc4 *rc, const uint8_t *in, uint8_t *out, size_t len)
{
    for (size_t k = 0; k < len; k++)
        out[k] = in[k] ^ next_byte(rc);
}

void sw__mse_rc4_skip(sw_mse_rc4 *rc, size_t len)
{
    for (size_t k = 0; k < len; k++)
        (void)next_byte(rc);
}
