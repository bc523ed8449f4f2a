/*
 * call_api.c: calling any function from outside, over HTTP.
 *
 *   POST /_sluice/call/<function>    body: a JSON array of arguments
 *
 * The arguments become the call's typed arguments (msgpack, as sl_map's).
 * The response format follows Accept:
 *   text/event-stream      each output an SSE event; the return value as
 *                          `event: return`; a failure as `event: error`
 *   application/x-ndjson   one JSON object per line: {"output": ...}, then
 *                          {"return": ...} or {"error": ...}
 *   anything else          one JSON document, streamed:
 *                          {"outputs": [...], "return": ...}; a failure before
 *                          the first byte is a 500 {"error": ...}
 * Outputs and return values are byte strings: they appear as JSON strings
 * when they are UTF-8, else as {"hex": "..."}.
 */
#include <errno.h>
#include <jansson.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

/* ---- JSON arguments to msgpack ---- */

static int pack_json(msgpack_packer *pk, const json_t *v, int depth)
{
    if (depth > 32)
        return -EINVAL;
    switch (json_typeof(v)) {
    case JSON_INTEGER:
        return msgpack_pack_int64(pk, json_integer_value(v));
    case JSON_REAL:
        return msgpack_pack_double(pk, json_real_value(v));
    case JSON_TRUE:
        return msgpack_pack_true(pk);
    case JSON_FALSE:
        return msgpack_pack_false(pk);
    case JSON_NULL:
        return msgpack_pack_nil(pk);
    case JSON_STRING: {
        size_t n = json_string_length(v);
        int r = msgpack_pack_str(pk, n);
        return r ? r : msgpack_pack_str_body(pk, json_string_value(v), n);
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *e;
        int r = msgpack_pack_array(pk, json_array_size(v));
        json_array_foreach(v, i, e) if (!r) r = pack_json(pk, e, depth + 1);
        return r;
    }
    default:
        return -EINVAL; /* objects: not an argument type (yet) */
    }
}

/* Parses the body into msgpack arguments in s->arg; on error a reason. */
static int parse_args(h2o_req_t *req, sl_buf *out, char *why, size_t n)
{
    json_error_t err;
    json_t *args = req->entity.len ? json_loadb(req->entity.base, req->entity.len, 0, &err) : json_array();
    if (!args) {
        snprintf(why, n, "the body is not JSON: %s (line %d)", err.text, err.line);
        return -EINVAL;
    }
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int r = json_is_array(args) ? pack_json(&pk, args, 0) : -EINVAL;
    if (r)
        snprintf(why, n, "the body must be a JSON array of arguments (numbers, strings, booleans, null, arrays)");
    else if (sl_buf_append(out, sb.data, sb.size))
        r = -ENOMEM, snprintf(why, n, "server out of memory");
    msgpack_sbuffer_destroy(&sb);
    json_decref(args);
    return r;
}

/* ---- formatting outputs ---- */

static sl_api_format choose_format(h2o_req_t *req)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT, -1);
    if (i < 0)
        return SL_API_JSON;
    h2o_iovec_t v = req->headers.entries[i].value;
    if (h2o_strstr(v.base, v.len, H2O_STRLIT("text/event-stream")) != SIZE_MAX)
        return SL_API_SSE;
    if (h2o_strstr(v.base, v.len, H2O_STRLIT("application/x-ndjson")) != SIZE_MAX)
        return SL_API_NDJSON;
    return SL_API_JSON;
}

const char *sl_api_content_type(sl_api_format f)
{
    switch (f) {
    case SL_API_SSE: return "text/event-stream";
    case SL_API_NDJSON: return "application/x-ndjson";
    default: return "application/json";
    }
}

/* Appends bytes as a JSON value: a string if UTF-8, else {"hex": ...}. */
static int append_json_bytes(sl_buf *out, const uint8_t *p, size_t len)
{
    json_t *v = json_stringn((const char *)p, len);
    if (!v) {
        char *hex = malloc(len * 2 + 1);
        if (!hex)
            return -ENOMEM;
        for (size_t i = 0; i < len; i++)
            snprintf(hex + 2 * i, 3, "%02x", p[i]);
        v = json_pack("{s:s}", "hex", hex);
        free(hex);
    }
    char *text = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    json_decref(v);
    if (!text)
        return -ENOMEM;
    int r = sl_buf_append(out, text, strlen(text));
    free(text);
    return r;
}

static int append_str(sl_buf *out, const char *s)
{
    return sl_buf_append(out, s, strlen(s));
}

/* SSE: every line of the data its own data: line. */
static int append_sse(sl_buf *out, const char *event, const uint8_t *p, size_t len)
{
    int r = event ? append_str(out, "event: ") : 0;
    if (!r && event)
        r = append_str(out, event);
    if (!r && event)
        r = append_str(out, "\n");
    size_t i = 0;
    do {
        size_t j = i;
        while (j < len && p[j] != '\n')
            j++;
        r = r ? r : append_str(out, "data: ");
        r = r ? r : sl_buf_append(out, p + i, j - i);
        r = r ? r : append_str(out, "\n");
        i = j + 1;
    } while (!r && i < len);
    return r ? r : append_str(out, "\n");
}

int sl_api_output(sl_stream *s, const uint8_t *p, size_t len)
{
    sl_buf *out = &s->pending;
    int r;
    switch (s->format) {
    case SL_API_SSE:
        return append_sse(out, NULL, p, len);
    case SL_API_NDJSON:
        r = append_str(out, "{\"output\":");
        r = r ? r : append_json_bytes(out, p, len);
        return r ? r : append_str(out, "}\n");
    default:
        r = append_str(out, s->json_items ? "," : "{\"outputs\":[");
        s->json_items = true;
        return r ? r : append_json_bytes(out, p, len);
    }
}

int sl_api_return(sl_stream *s, const uint8_t *p, size_t len)
{
    sl_buf *out = &s->pending;
    int r;
    switch (s->format) {
    case SL_API_SSE:
        return len ? append_sse(out, "return", p, len) : 0;
    case SL_API_NDJSON:
        r = append_str(out, "{\"return\":");
        r = r ? r : append_json_bytes(out, p, len);
        return r ? r : append_str(out, "}\n");
    default:
        r = append_str(out, s->json_items ? "],\"return\":" : "{\"outputs\":[],\"return\":");
        r = r ? r : append_json_bytes(out, p, len);
        return r ? r : append_str(out, "}\n");
    }
}

/* A failure after the response started, in formats without their own
 * (SSE has its error event; a JSON document is simply cut). */
int sl_api_error(sl_stream *s, const char *reason)
{
    if (s->format != SL_API_NDJSON)
        return 0;
    int r = append_str(&s->pending, "{\"error\":");
    r = r ? r : append_json_bytes(&s->pending, (const uint8_t *)reason, strlen(reason));
    return r ? r : append_str(&s->pending, "}\n");
}

char *sl_api_error_body(const char *reason)
{
    json_t *v = json_pack("{s:s}", "error", reason);
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    return text;
}

/* ---- requests ---- */

int sl_api_call(h2o_req_t *req, h2o_iovec_t name, sl_stream *(*attach)(sl_function *, h2o_req_t *))
{
    char fname[256], why[320];
    snprintf(fname, sizeof fname, "%.*s", (int)(name.len < 255 ? name.len : 255), name.base);
    sl_function *fn = sl_pool_find(fname);
    int status = 0;
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST")))
        status = 405, snprintf(why, sizeof why, "call a function with POST");
    else if (!fn)
        status = 404, snprintf(why, sizeof why, "no function named %s", fname);
    sl_buf args = {0};
    if (!status && parse_args(req, &args, why, sizeof why))
        status = 400;
    sl_stream *s = status ? NULL : attach(fn, req);
    if (!status && !s)
        status = 503, snprintf(why, sizeof why, "server out of memory");
    if (status) {
        sl_buf_free(&args);
        char *body = sl_api_error_body(why);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
        h2o_send_error_generic(req, status, status == 404 ? "Not Found" : status == 405 ? "Method Not Allowed"
                                                       : status == 400 ? "Bad Request" : "Service Unavailable",
                               body ? body : why, H2O_SEND_ERROR_KEEP_HEADERS);
        free(body);
        return 0;
    }
    s->arg = args;
    s->format = choose_format(req);
    s->is_sse = s->format == SL_API_SSE;
    fn->calls_started++;
    sl_pool_submit(s);
    return 0;
}
