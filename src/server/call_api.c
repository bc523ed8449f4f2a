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
 * The arguments may nest arrays and objects (an object is a msgpack map)
 * up to SL_VALUE_MAX_DEPTH levels, counting the argument array.
 * A typed output or return value (sl_yield_value, sl_return_value: frames
 * marked SL_FRAME_F_TYPED) appears as the JSON value it holds (bytes as
 * {"hex": "..."}), and its NDJSON line says "typed": true; in SSE its data
 * is that JSON text. Other outputs and return values are byte strings:
 * JSON strings when they are UTF-8, else {"hex": "..."}; so is a typed
 * value with no JSON form (an ext, a map key that is not a string or an
 * integer).
 *
 *   POST /_sluice/spawn/<function>   202 {"call_id": "..."}: the call runs
 *                                    on without a client (outputs dropped)
 *   GET  /_sluice/result/<call_id>   202 {"status": "running"}, then
 *                                    200 {"return": ...} or 500 {"error": ...};
 *                                    kept RESULT_TTL seconds after the end
 * A spawned call's id is its result's, from a counter of its own: the call
 * ids the server logs recycle a slot's generation after 4,095 calls, far
 * sooner than RESULT_TTL.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/frame.h"
#include "server/server.h"
#include "server/typed_json.h"

/* ---- the request (its pure parts are in call_parse.c) ---- */

/* Parses the body into msgpack arguments in `out`; on error a reason. */
static int parse_args(h2o_req_t *req, sl_buf *out, char *why, size_t n)
{
    return sl_api_parse_args(req->entity.base, req->entity.len, out, why, n);
}

static sl_api_format choose_format(h2o_req_t *req)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT, -1);
    if (i < 0)
        return sl_api_format_of(NULL, 0);
    h2o_iovec_t v = req->headers.entries[i].value;
    return sl_api_format_of(v.base, v.len);
}

/* ---- formatting outputs ---- */

const char *sl_api_content_type(sl_api_format f)
{
    switch (f) {
    case SL_API_SSE: return "text/event-stream";
    case SL_API_NDJSON: return "application/x-ndjson";
    default: return "application/json";
    }
}

/* An output or return value as JSON: a typed one (SL_FRAME_F_TYPED) as
 * the value it holds, raw bytes (or a typed value with no JSON form) as a
 * string if UTF-8, else {"hex": ...}. *typed says which it became. A new
 * reference, or NULL when out of memory. */
static json_t *value_json(uint8_t flags, const uint8_t *p, size_t len, bool *typed)
{
    json_t *v = flags & SL_FRAME_F_TYPED ? sl_msgpack_to_json(p, len) : NULL;
    *typed = v != NULL;
    return v ? v : sl_json_bytes(p, len);
}

/* Appends JSON value v (a reference this takes) as compact text. */
static int append_json(sl_buf *out, json_t *v)
{
    char *text = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    json_decref(v);
    if (!text)
        return -ENOMEM;
    int r = sl_buf_append(out, text, strlen(text));
    free(text);
    return r;
}

/* Appends an output or return value as JSON (see value_json). */
static int append_value(sl_buf *out, uint8_t flags, const uint8_t *p, size_t len)
{
    bool typed;
    return append_json(out, value_json(flags, p, len, &typed));
}

static int append_str(sl_buf *out, const char *s)
{
    return sl_buf_append(out, s, strlen(s));
}

/* SSE: every line of the data its own data: line, the empty one after a
 * final line break too (a client joins the lines with LFs, so "a\n" is
 * "data: a" and "data: "). A line ends at LF, CR LF or CR, as a client
 * reads it: SSE cannot carry a CR, which arrives as an LF. */
int sl_sse_append(sl_buf *out, const char *event, const uint8_t *p, size_t len)
{
    int r = event ? append_str(out, "event: ") : 0;
    if (!r && event)
        r = append_str(out, event);
    if (!r && event)
        r = append_str(out, "\n");
    size_t i = 0;
    for (;;) {
        size_t j = i;
        while (j < len && p[j] != '\n' && p[j] != '\r')
            j++;
        r = r ? r : append_str(out, "data: ");
        r = r ? r : sl_buf_append(out, p + i, j - i);
        r = r ? r : append_str(out, "\n");
        if (r || j == len)
            break;
        i = j + (p[j] == '\r' && j + 1 < len && p[j + 1] == '\n' ? 2 : 1);
    }
    return r ? r : append_str(out, "\n");
}

/* SSE data for a value: a typed one as its JSON text, raw bytes as they are. */
static int append_sse_value(sl_buf *out, const char *event, uint8_t flags, const uint8_t *p, size_t len)
{
    json_t *v = flags & SL_FRAME_F_TYPED ? sl_msgpack_to_json(p, len) : NULL;
    char *text = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    json_decref(v);
    if (v && !text)
        return -ENOMEM;
    int r = text ? sl_sse_append(out, event, (const uint8_t *)text, strlen(text)) : sl_sse_append(out, event, p, len);
    free(text);
    return r;
}

/* One NDJSON line: {"<key>": <value as JSON>}, plus "typed": true when it
 * was a typed value (so a client can tell a typed string from bytes). */
static int append_ndjson(sl_buf *out, const char *key, uint8_t flags, const uint8_t *p, size_t len)
{
    bool typed;
    json_t *line = json_object(), *v = value_json(flags, p, len, &typed);
    if (!line || json_object_set_new(line, key, v) || (typed && json_object_set_new(line, "typed", json_true()))) {
        json_decref(line); /* set_new took v, even when it failed */
        return -ENOMEM;
    }
    int r = append_json(out, line);
    return r ? r : append_str(out, "\n");
}

int sl_api_output(sl_stream *s, uint8_t flags, const uint8_t *p, size_t len)
{
    sl_buf *out = &s->pending;
    int r;
    switch (s->format) {
    case SL_API_SSE:
        return append_sse_value(out, NULL, flags, p, len);
    case SL_API_NDJSON:
        return append_ndjson(out, "output", flags, p, len);
    default:
        r = append_str(out, s->json_items ? "," : "{\"outputs\":[");
        s->json_items = true;
        return r ? r : append_value(out, flags, p, len);
    }
}

int sl_api_return(sl_stream *s, uint8_t flags, const uint8_t *p, size_t len)
{
    sl_buf *out = &s->pending;
    int r;
    switch (s->format) {
    case SL_API_SSE:
        return len ? append_sse_value(out, "return", flags, p, len) : 0;
    case SL_API_NDJSON:
        return append_ndjson(out, "return", flags, p, len);
    default:
        r = append_str(out, s->json_items ? "],\"return\":" : "{\"outputs\":[],\"return\":");
        r = r ? r : append_value(out, flags, p, len);
        return r ? r : append_str(out, "}\n");
    }
}

int sl_api_web_value(sl_stream *s, uint8_t flags, const uint8_t *p, size_t len)
{
    if (!(flags & SL_FRAME_F_TYPED))
        return sl_buf_append(&s->pending, p, len);
    if (s->is_sse)
        return append_sse_value(&s->pending, NULL, flags, p, len);
    int r = append_value(&s->pending, flags, p, len);
    return r ? r : append_str(&s->pending, "\n");
}

/* A failure after the response started, in formats without their own
 * (SSE has its error event; a JSON document is simply cut). */
int sl_api_error(sl_stream *s, const char *reason)
{
    if (s->format != SL_API_NDJSON)
        return 0;
    return append_ndjson(&s->pending, "error", 0, (const uint8_t *)reason, strlen(reason));
}


/* ---- spawned calls and their results ---- */

#define RESULT_TTL 600.0  /* seconds a finished result is kept */
#define MAX_RESULTS 10000 /* past it the oldest finished result goes */

typedef struct result {
    sl_list link;
    uint32_t id;      /* the client's: unique among kept results */
    uint32_t call_id; /* the running call's (recycled once it ends) */
    bool done, failed;
    char *value;      /* owned: the return value or the error */
    size_t len;
    uint8_t flags;    /* the RETURN frame's: SL_FRAME_F_TYPED */
    double ended_at;
} result;

static sl_list g_results = {&g_results, &g_results};
static size_t g_nresults;
static uint32_t g_last_result_id;

/* The result a client asks for by its id. */
static result *find_result(uint32_t id)
{
    sl_list_each(it, &g_results)
    {
        result *r = sl_container_of(it, result, link);
        if (r->id == id)
            return r;
    }
    return NULL;
}

/* The result of a running call: a finished one may have had its call id. */
static result *find_running(uint32_t call_id)
{
    sl_list_each(it, &g_results)
    {
        result *r = sl_container_of(it, result, link);
        if (!r->done && r->call_id == call_id)
            return r;
    }
    return NULL;
}

static void drop_result(result *r)
{
    sl_list_remove(&r->link);
    free(r->value);
    free(r);
    g_nresults--;
}

/* Expired results go; past MAX_RESULTS, the oldest finished ones too. */
void sl_api_sweep(double now)
{
    sl_list_each(it, &g_results)
    {
        result *r = sl_container_of(it, result, link);
        if (r->done && (now - r->ended_at >= RESULT_TTL || g_nresults > MAX_RESULTS))
            drop_result(r);
    }
}

int sl_api_detached_frame(sl_stream *s, uint8_t type, uint8_t flags, const uint8_t *p, size_t len)
{
    switch (type) {
    case SL_FRAME_HEAD:
        return 0; /* nobody to send it to */
    case SL_FRAME_OUTPUT:
        if (s->ct)
            sl_pool_credit(s, len); /* dropped at once: the call goes on */
        return 0;
    case SL_FRAME_RETURN:
    case SL_FRAME_ERROR:
        break;
    default:
        return -EBADMSG;
    }
    result *r = find_running(s->call_id);
    bool failed = type == SL_FRAME_ERROR;
    if (r && (r->value = malloc(len + 1))) {
        memcpy(r->value, p, len);
        r->value[len] = '\0';
        r->len = len;
        r->flags = failed ? 0 : flags;
    }
    if (r) {
        r->done = true;
        r->failed = failed;
        r->ended_at = sl_now();
    }
    if (failed)
        s->fn->calls_failed++;
    else
        s->fn->calls_ok++;
    s->done = true;
    s->ct = NULL;
    sl_calls_cancel_children(s, "its caller ended");
    sl_stream_mark_dirty(s); /* the flush frees it */
    return 0;
}

static void send_json(h2o_req_t *req, int status, json_t *doc)
{
    /* not h2o_send_error_generic: it adds a text/plain content type of its own */
    static h2o_generator_t gen = {NULL, NULL};
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    h2o_iovec_t body = h2o_strdup(&req->pool, text ? text : "{}", SIZE_MAX);
    free(text);
    req->res.status = status;
    req->res.reason = sl_reason_phrase(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
    req->res.content_length = body.len + 1;
    h2o_iovec_t bufs[2] = {body, h2o_iovec_init(H2O_STRLIT("\n"))};
    h2o_start_response(req, &gen);
    h2o_send(req, bufs, sl_is_head(req) ? 0 : 2, H2O_SEND_STATE_FINAL);
}

void sl_api_send_error(h2o_req_t *req, int status, const char *reason)
{
    /* the reason may be any bytes (a function's, or a name from the path) */
    send_json(req, status, json_pack("{s:o}", "error", sl_json_bytes(reason, strlen(reason))));
}

/* DELETE /_sluice/result/<id>: the spawner no longer wants the call. A
 * running one is cancelled as a client that left would be; either way its
 * result is forgotten (the call's later frames find no record). */
static void delete_result(h2o_req_t *req, result *r)
{
    bool running = !r->done;
    sl_stream *s = running ? sl_stream_find(r->call_id) : NULL;
    drop_result(r);
    if (s)
        sl_stream_cancel(s, "its result was deleted (DELETE /_sluice/result)");
    send_json(req, 200, json_pack("{s:s}", "status", running ? "cancelled" : "deleted"));
}

int sl_api_result(h2o_req_t *req, h2o_iovec_t id_text)
{
    uint32_t id;
    result *r = sl_api_parse_call_id(id_text.base, id_text.len, &id) ? find_result(id) : NULL;
    bool typed;
    bool del = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("DELETE"));
    if (!del && !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) && !sl_is_head(req)) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, H2O_STRLIT("GET, HEAD, DELETE"));
        sl_api_send_error(req, 405, "a result takes GET (to read it) or DELETE (to cancel the call and forget it)");
    } else if (!r)
        send_json(req, 404, json_pack("{s:s}", "error", "no such call (or its result expired)"));
    else if (del)
        delete_result(req, r);
    else if (!r->done)
        send_json(req, 202, json_pack("{s:s}", "status", "running"));
    else if (r->failed)
        send_json(req, 500, json_pack("{s:o}", "error", sl_json_bytes(r->value, r->len)));
    else
        send_json(req, 200, json_pack("{s:o}", "return", value_json(r->flags, (const uint8_t *)r->value, r->len, &typed)));
    return 0;
}

/* ---- requests ---- */

int sl_api_call(h2o_req_t *req, h2o_iovec_t name, sl_stream *(*attach)(sl_function *, h2o_req_t *), bool spawn)
{
    char fname[256], why[320];
    snprintf(fname, sizeof fname, "%.*s", (int)(name.len < 255 ? name.len : 255), name.base);
    /* fname stops at a NUL (a %00 in the path) or is cut: then it names
     * another function than the one asked for */
    bool whole = name.len < sizeof fname && !memchr(name.base, '\0', name.len);
    sl_function *fn = whole ? sl_pool_find(fname) : NULL;
    int status = 0;
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        status = 405, snprintf(why, sizeof why, "call a function with POST");
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, H2O_STRLIT("POST"));
    }
    else if (!fn)
        status = 404, snprintf(why, sizeof why, "no function named %s", fname);
    sl_buf args = {0};
    int r = status ? 0 : parse_args(req, &args, why, sizeof why);
    if (r)
        status = r == -EMSGSIZE ? 413 : r == -ENOMEM ? 503 : 400;
    sl_stream *s = status ? NULL : spawn ? sl_stream_alloc(fn) : attach(fn, req);
    result *rec = s && spawn ? calloc(1, sizeof *rec) : NULL;
    if (s && spawn && !rec) {
        s->done = true;
        sl_stream_release(s);
        s = NULL;
    }
    if (!status && !s)
        status = 503, snprintf(why, sizeof why, "server out of memory");
    if (status) {
        sl_buf_free(&args);
        sl_api_send_error(req, status, why);
        return 0;
    }
    s->arg = args;
    s->format = choose_format(req);
    s->is_sse = s->format == SL_API_SSE;
    fn->calls_started++;
    if (spawn) {
        s->detached = true;
        /* 0 is no id; after 2^32 spawns one could still be kept (MAX_RESULTS
         * and RESULT_TTL make that all but impossible): skip it */
        do
            rec->id = ++g_last_result_id;
        while (rec->id == 0 || find_result(rec->id));
        rec->call_id = s->call_id;
        sl_list_push(&g_results, &rec->link);
        g_nresults++;
        char id[16];
        snprintf(id, sizeof id, "%08x", rec->id);
        send_json(req, 202, json_pack("{s:s}", "call_id", id));
    }
    sl_pool_submit(s);
    return 0;
}
