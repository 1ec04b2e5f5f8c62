/* BEP 20 peer ids: cswarm's own ("-SWvvvv-" + 12 random characters) and a
 * best-effort client name for a remote peer's id, for logs and peer info.
 * The extended handshake's "v" is the better source when a peer sends it. */
#include "wire.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include <cswarm/version.h>

static const char alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* One version component as one character: 0-9, then A-Z for 10..35. */
static char version_char(int v)
{
    if (v < 0)
        return '0';
    if (v < 36)
        return alnum[v];
    return 'Z';
}

void sw__peer_id_prefix(char out[9])
{
    out[0] = '-';
    out[1] = 'S';
    out[2] = 'W';
    out[3] = version_char(SW_VERSION_MAJOR);
    out[4] = version_char(SW_VERSION_MINOR);
    out[5] = version_char(SW_VERSION_PATCH);
    out[6] = '0';
    out[7] = '-';
    out[8] = '\0';
}

void sw__peer_id_from_random(const uint8_t random12[12], sw_peer_id *out)
{
    char prefix[9];
    sw__peer_id_prefix(prefix);
    memcpy(out->v, prefix, 8);
    /* 256 is not a multiple of 62; the slight bias toward the first
     * characters does not matter for an id that only needs to be unique. */
    for (size_t i = 0; i < 12; i++)
        out->v[8 + i] = (uint8_t)alnum[random12[i] % 62];
}

int sw__peer_id_generate(sw_peer_id *out)
{
    uint8_t rnd[12];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return SW_ERR_CRYPTO;
    sw__peer_id_from_random(rnd, out);
    return 0;
}

/* Azureus-style codes ("-XXvvvv-"), from BEP 20's list plus cswarm. Names
 * are kept ASCII so the result is always printable. */
static const struct {
    char code[3];
    const char *name;
} azureus_clients[] = {
    {"A~", "Ares"},
    {"AG", "Ares"},
    {"AR", "Arctic"},
    {"AV", "Avicora"},
    {"AX", "BitPump"},
    {"AZ", "Azureus"},
    {"BB", "BitBuddy"},
    {"BC", "BitComet"},
    {"BF", "Bitflu"},
    {"BG", "BTG"},
    {"BR", "BitRocket"},
    {"BS", "BTSlave"},
    {"BX", "Bittorrent X"},
    {"CD", "Enhanced CTorrent"},
    {"CT", "CTorrent"},
    {"DE", "Deluge"},
    {"DP", "Propagate Data Client"},
    {"EB", "EBit"},
    {"ES", "electric sheep"},
    {"FT", "FoxTorrent"},
    {"FW", "FrostWire"},
    {"FX", "Freebox BitTorrent"},
    {"GS", "GSTorrent"},
    {"HL", "Halite"},
    {"HN", "Hydranode"},
    {"KG", "KGet"},
    {"KT", "KTorrent"},
    {"LH", "LH-ABC"},
    {"LP", "Lphant"},
    {"LT", "libtorrent"},
    {"LW", "LimeWire"},
    {"MO", "MonoTorrent"},
    {"MP", "MooPolice"},
    {"MR", "Miro"},
    {"MT", "MoonlightTorrent"},
    {"NX", "Net Transport"},
    {"PD", "Pando"},
    {"QD", "QQDownload"},
    {"QT", "Qt 4 Torrent example"},
    {"RT", "Retriever"},
    {"S~", "Shareaza alpha/beta"},
    {"SB", "Swiftbit"},
    {"SS", "SwarmScope"},
    {"ST", "SymTorrent"},
    {"SW", "cswarm"},
    {"SZ", "Shareaza"},
    {"TN", "TorrentDotNET"},
    {"TR", "Transmission"},
    {"TS", "Torrentstorm"},
    {"TT", "TuoTu"},
    {"UL", "uLeecher!"},
    {"UT", "uTorrent"},
    {"UW", "uTorrent Web"},
    {"VG", "Vagaa"},
    {"WD", "WebTorrent Desktop"},
    {"WT", "BitLet"},
    {"WW", "WebTorrent"},
    {"WY", "FireTorrent"},
    {"XL", "Xunlei"},
    {"XT", "XanTorrent"},
    {"XX", "Xtorrent"},
    {"ZT", "ZipTorrent"},
    {"lt", "libTorrent (rakshasa)"},
    {"qB", "qBittorrent"},
    {"st", "sharktorrent"},
};

/* Shad0w-style first characters ("S58B-----"). */
static const struct {
    char c;
    const char *name;
} shadow_clients[] = {
    {'A', "ABC"},
    {'O', "Osprey Permaseed"},
    {'Q', "BTQueue"},
    {'R', "Tribler"},
    {'S', "Shadow"},
    {'T', "BitTornado"},
    {'U', "UPnP NAT Bit Torrent"},
};

/* Value of a version character in the Azureus and Shad0w encodings: digits,
 * then letters (upper case 10..35, lower case 36..61 for Shad0w), '.' 62.
 * -1 for anything else. */
static int version_value(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 36;
    if (c == '.')
        return 62;
    return -1;
}

static bool is_azureus_style(const uint8_t *id)
{
    if (id[0] != '-' || id[7] != '-')
        return false;
    if (!(isalnum(id[1]) || id[1] == '~') || !(isalnum(id[2]) || id[2] == '~'))
        return false;
    for (int i = 3; i < 7; i++) {
        if (version_value(id[i]) < 0)
            return false;
    }
    return true;
}

static bool azureus_name(const uint8_t *id, char *out, size_t out_len)
{
    const char *name = NULL;
    for (size_t i = 0; i < sizeof azureus_clients / sizeof azureus_clients[0]; i++) {
        if (id[1] == (uint8_t)azureus_clients[i].code[0] &&
            id[2] == (uint8_t)azureus_clients[i].code[1]) {
            name = azureus_clients[i].name;
            break;
        }
    }
    if (!name)
        return false;
    int v[4];
    for (int i = 0; i < 4; i++)
        v[i] = version_value(id[3 + i]);
    if (id[1] == 'T' && id[2] == 'R' && v[1] <= 9 && v[2] <= 9) {
        /* Transmission writes major, a two-digit minor, then a build flag:
         * "-TR3000-" is 3.00; a letter flag marks a development build. */
        snprintf(out, out_len, "%s %d.%d%d%s", name, v[0], v[1], v[2], v[3] >= 10 ? "+" : "");
    } else if (v[3] != 0) {
        snprintf(out, out_len, "%s %d.%d.%d.%d", name, v[0], v[1], v[2], v[3]);
    } else {
        snprintf(out, out_len, "%s %d.%d.%d", name, v[0], v[1], v[2]);
    }
    return true;
}

/* "digits-digits-digits-" starting at id[at] (Mainline "M4-3-6--", aria2
 * "A2-1-35-0-"). Writes "a.b.c" to ver. */
static bool dashed_version(const uint8_t *id, size_t at, char *ver, size_t ver_len)
{
    int parts[3];
    int n = 0;
    size_t i = at;
    while (n < 3 && i < SW_PEER_ID_LEN && isdigit(id[i])) {
        int v = 0;
        int digits = 0;
        while (i < SW_PEER_ID_LEN && isdigit(id[i]) && digits < 3) {
            v = v * 10 + (id[i] - '0');
            i++;
            digits++;
        }
        if (i >= SW_PEER_ID_LEN || id[i] != '-')
            return false;
        i++;
        parts[n++] = v;
    }
    if (n < 3)
        return false;
    snprintf(ver, ver_len, "%d.%d.%d", parts[0], parts[1], parts[2]);
    return true;
}

static bool shadow_name(const uint8_t *id, char *out, size_t out_len)
{
    if (memcmp(id + 6, "---", 3) != 0)
        return false;
    const char *name = NULL;
    for (size_t i = 0; i < sizeof shadow_clients / sizeof shadow_clients[0]; i++) {
        if (id[0] == (uint8_t)shadow_clients[i].c)
            name = shadow_clients[i].name;
    }
    if (!name)
        return false;
    char ver[32] = "";
    size_t used = 0;
    for (int i = 1; i <= 5 && id[i] != '-'; i++) {
        int v = version_value(id[i]);
        if (v < 0)
            return false;
        int w = snprintf(ver + used, sizeof ver - used, "%s%d", used ? "." : "", v);
        if (w < 0 || (size_t)w >= sizeof ver - used)
            return false;
        used += (size_t)w;
    }
    if (used == 0)
        return false;
    snprintf(out, out_len, "%s %s", name, ver);
    return true;
}

static void unknown_name(const uint8_t *id, char *out, size_t out_len)
{
    char shown[9];
    for (int i = 0; i < 8; i++)
        shown[i] = (id[i] >= 0x20 && id[i] < 0x7f) ? (char)id[i] : '.';
    shown[8] = '\0';
    snprintf(out, out_len, "unknown (%s)", shown);
}

bool sw__peer_id_client_name(const sw_peer_id *peer_id, char *out, size_t out_len)
{
    if (out_len == 0)
        return false;
    const uint8_t *id = peer_id->v;
    char ver[32];

    if (is_azureus_style(id) && azureus_name(id, out, out_len))
        return true;
    if (memcmp(id, "A2-", 3) == 0 && dashed_version(id, 3, ver, sizeof ver)) {
        snprintf(out, out_len, "aria2 %s", ver);
        return true;
    }
    if ((id[0] == 'M' || id[0] == 'Q') && dashed_version(id, 1, ver, sizeof ver)) {
        snprintf(out, out_len, "%s %s", id[0] == 'M' ? "Mainline" : "Queen Bee", ver);
        return true;
    }
    if (memcmp(id, "exbc", 4) == 0) {
        snprintf(out, out_len, "%s %u.%02u",
                 memcmp(id + 6, "LORD", 4) == 0 ? "BitLord" : "BitComet", (unsigned)id[4],
                 (unsigned)id[5]);
        return true;
    }
    if (memcmp(id, "XBT", 3) == 0 && isdigit(id[3]) && isdigit(id[4]) && isdigit(id[5])) {
        snprintf(out, out_len, "XBT Client %c.%c.%c%s", id[3], id[4], id[5],
                 id[6] == 'd' ? " (debug)" : "");
        return true;
    }
    if (shadow_name(id, out, out_len))
        return true;
    unknown_name(id, out, out_len);
    return false;
}
