/*
 * typed_json.h: typed values (msgpack) to and from JSON (jansson), for the
 * call API. Depends on jansson, libmsgpack and the sl_value reader only, so
 * the unit tests link it without a server.
 */
#ifndef SL_SERVER_TYPED_JSON_H
#define SL_SERVER_TYPED_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "proto/buf.h"
#include "sluice.h" /* SL_VALUE_MAX_DEPTH */

/* Appends JSON value v to out as one msgpack value: numbers, strings,
 * booleans, null, arrays, and objects as maps with string keys (in the
 * object's order). 0; -EINVAL when arrays and objects nest deeper than
 * SL_VALUE_MAX_DEPTH (out is then left with a partial value: drop it);
 * -ENOMEM. */
int sl_json_to_msgpack(const json_t *v, sl_buf *out);

/* One typed value as JSON: a new reference (the caller decrefs it), or
 * NULL when it has none: malformed msgpack, an ext value, a map key that
 * is neither a string nor an integer (integers become their decimal
 * text), or out of memory. Bytes become {"hex": "..."}; a double that is
 * NaN or infinite, null; a string that is not UTF-8, {"hex": "..."}. */
json_t *sl_msgpack_to_json(const void *p, size_t len);

/* Raw bytes as JSON: a string when they are UTF-8, else {"hex": "..."}.
 * A new reference, or NULL when out of memory. */
json_t *sl_json_bytes(const void *p, size_t len);

#endif
