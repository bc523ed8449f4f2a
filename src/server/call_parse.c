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

/* Whether `needle` occurs in p[0..len) (case-sensitive, as h2o_strstr). */
static bool contains(const char *p, size_t len, const char *needle)
{
    return memmem(p, len, needle, strlen(needle)) != NULL;
}

sl_api_format sl_api_format_of(const char *accept, size_t len)
{
    if (!accept)
        return SL_API_JSON;
    if (contains(accept, len, "text/event-stream"))
        return SL_API_SSE;
    if (contains(accept, len, "application/x-ndjson"))
        return SL_API_NDJSON;
    return SL_API_JSON;
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
