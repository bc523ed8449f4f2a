/*
 * call_parse.h: the parts of reading a call API request that need no
 * h2o (call_api.c does the rest): the JSON argument body, the Accept
 * header, and a result's call id. Pure functions on bytes, so the unit
 * tests and the fuzzers (tests/fuzz) link them without a server.
 */
#ifndef SL_SERVER_CALL_PARSE_H
#define SL_SERVER_CALL_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/buf.h"

/* How a stream's output is framed for its HTTP client: raw for a web
 * endpoint, or one of the call API's formats (call_api.c). */
typedef enum sl_api_format { SL_API_RAW = 0, SL_API_JSON, SL_API_SSE, SL_API_NDJSON } sl_api_format;

/* A POST body (a JSON array of arguments; empty means none) as msgpack
 * arguments appended to `out`. 0, or -EINVAL / -ENOMEM / -EMSGSIZE (past
 * SL_MAX_MESSAGE as msgpack) with a reason for the client in why[0..n);
 * `out` then holds a partial value: drop it. */
int sl_api_parse_args(const char *body, size_t len, sl_buf *out, char *why, size_t n);

/* The response format an Accept header value asks for (NULL: no header). */
sl_api_format sl_api_format_of(const char *accept, size_t len);

/* The call id of GET /_sluice/result/<id>: 8 lower-case hex digits, as
 * /_sluice/spawn gave it. true and *id, or false when the text is no id. */
bool sl_api_parse_call_id(const char *text, size_t len, uint32_t *id);

#endif
