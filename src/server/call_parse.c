/*
 * call_parse.c: the call API's request parsing that needs no h2o (see
 * call_parse.h). Moved out of call_api.c unchanged in behaviour, so that
 * tests/fuzz can feed it arbitrary bytes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem (CMake passes -D_GNU_SOURCE) */
#endif
#include "server/call_parse.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/typed_json.h"
#include "sluice.h" /* SL_VALUE_MAX_DEPTH, SL_MAX_MESSAGE */

int sl_api_parse_args(const char *body, size_t len, sl_buf *out, char *why, size_t n)
{
    json_error_t err;
    json_t *args = len ? json_loadb(body, len, 0, &err) : json_array();
    if (!args) {
        snprintf(why, n, "the body is not JSON: %s (line %d)", err.text, err.line);
        return -EINVAL;
    }
    int r = json_is_array(args) ? sl_json_to_msgpack(args, out) : -EINVAL;
    /* msgpack can be larger than its JSON (a real: "1e1," is 9 bytes), so a
     * body within its bound may not fit in the call's frame */
    if (!r && out->len > SL_MAX_MESSAGE) {
        snprintf(why, n, "the arguments take %zu bytes as msgpack; the limit is %u", out->len, SL_MAX_MESSAGE);
        r = -EMSGSIZE;
    } else if (r == -ENOMEM)
        snprintf(why, n, "server out of memory");
    else if (r && json_is_array(args))
        snprintf(why, n, "the arguments nest deeper than %d arrays and objects (the argument array is one)",
                 SL_VALUE_MAX_DEPTH);
    else if (r)
        snprintf(why, n, "the body must be a JSON array of arguments");
    json_decref(args);
    return r;
}

/* p[0..len) without its leading and trailing spaces and tabs. */
static void trim(const char **p, size_t *len)
{
    while (*len && (**p == ' ' || **p == '\t'))
        (*p)++, (*len)--;
    while (*len && ((*p)[*len - 1] == ' ' || (*p)[*len - 1] == '\t'))
        (*len)--;
}

static bool equals_nocase(const char *p, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(p, word, len) == 0;
}

/* The q of a media range's parameters (";q=0.5;..."): 1 when it has none
 * or one that does not parse, as a client that sent it meant no refusal. */
static double media_q(const char *p, size_t len)
{
    while (len) {
        const char *semi = memchr(p, ';', len);
        size_t n = semi ? (size_t)(semi - p) : len;
        const char *param = p;
        size_t plen = n;
        trim(&param, &plen);
        if (plen > 2 && plen < 10 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
            char text[10], *end;
            memcpy(text, param + 2, plen - 2);
            text[plen - 2] = '\0';
            double q = strtod(text, &end);
            return *end == '\0' && q >= 0 && q <= 1 ? q : 1;
        }
        p += semi ? n + 1 : n;
        len -= semi ? n + 1 : n;
    }
    return 1;
}

/* The format a media range names, or -1 for one we do not serve. */
static int media_format(const char *p, size_t len)
{
    trim(&p, &len);
    if (equals_nocase(p, len, "text/event-stream"))
        return SL_API_SSE;
    if (equals_nocase(p, len, "application/x-ndjson"))
        return SL_API_NDJSON;
    if (equals_nocase(p, len, "application/json") || equals_nocase(p, len, "application/*") ||
        equals_nocase(p, len, "*/*"))
        return SL_API_JSON;
    return -1;
}

/* How much we prefer a format when a client rates several the same. */
static int preference(int format)
{
    return format == SL_API_SSE ? 3 : format == SL_API_NDJSON ? 2 : 1;
}

sl_api_format sl_api_format_of(const char *accept, size_t len)
{
    int best = SL_API_JSON;
    double best_q = 0;
    while (accept && len) {
        const char *comma = memchr(accept, ',', len);
        size_t n = comma ? (size_t)(comma - accept) : len;
        const char *semi = memchr(accept, ';', n);
        size_t type_len = semi ? (size_t)(semi - accept) : n;
        int f = media_format(accept, type_len);
        double q = semi ? media_q(semi + 1, n - type_len - 1) : 1;
        if (f >= 0 && q > 0 && (q > best_q || (q == best_q && preference(f) > preference(best)))) {
            best = f;
            best_q = q;
        }
        accept += comma ? n + 1 : n;
        len -= comma ? n + 1 : n;
    }
    return (sl_api_format)best;
}

bool sl_api_parse_call_id(const char *text, size_t len, uint32_t *id)
{
    /* exactly the 8 hex digits spawn gave: one id has one spelling */
    if (len != 8)
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < 8; i++) {
        char ch = text[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (d < 0)
            return false;
        v = v << 4 | (uint32_t)d;
    }
    *id = v;
    return true;
}
