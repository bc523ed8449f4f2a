/*
 * typed_json.c: the call API's bridge between JSON and typed values.
 * JSON arguments become msgpack with msgpack_packer; typed outputs and
 * return values are read with the public sl_value reader (value.c) and
 * built as jansson values. Both directions stop at SL_VALUE_MAX_DEPTH
 * nested lists and maps, the most msgpack-c's decoder takes.
 */
#include "server/typed_json.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>

#include "container/value.h" /* sl_value_object: the u64 sl_value_int clamps */
#include "sluice.h"

/* ---- JSON to msgpack ---- */

/* `level`: the arrays and objects around v. Returns 0, -EINVAL (too deep)
 * or -ENOMEM (msgpack-c's only failure is its buffer's realloc). */
static int pack_json(msgpack_packer *pk, const json_t *v, int level);

static int pack_object(msgpack_packer *pk, const json_t *v, int level)
{
    int r = msgpack_pack_map(pk, json_object_size(v)) ? -ENOMEM : 0;
    for (void *it = json_object_iter((json_t *)v); !r && it; it = json_object_iter_next((json_t *)v, it)) {
        size_t klen = json_object_iter_key_len(it);
        r = msgpack_pack_str(pk, klen) || msgpack_pack_str_body(pk, json_object_iter_key(it), klen) ? -ENOMEM : 0;
        r = r ? r : pack_json(pk, json_object_iter_value(it), level + 1);
    }
    return r;
}

static int pack_json(msgpack_packer *pk, const json_t *v, int level)
{
    if ((json_is_array(v) || json_is_object(v)) && level >= SL_VALUE_MAX_DEPTH)
        return -EINVAL;
    int r = 0;
    switch (json_typeof(v)) {
    case JSON_INTEGER: r = msgpack_pack_int64(pk, json_integer_value(v)); break;
    case JSON_REAL: r = msgpack_pack_double(pk, json_real_value(v)); break;
    case JSON_TRUE: r = msgpack_pack_true(pk); break;
    case JSON_FALSE: r = msgpack_pack_false(pk); break;
    case JSON_NULL: r = msgpack_pack_nil(pk); break;
    case JSON_STRING:
        r = msgpack_pack_str(pk, json_string_length(v)) ||
            msgpack_pack_str_body(pk, json_string_value(v), json_string_length(v));
        break;
    case JSON_ARRAY: {
        size_t i;
        json_t *e;
        if (msgpack_pack_array(pk, json_array_size(v)))
            return -ENOMEM;
        json_array_foreach(v, i, e) if ((r = pack_json(pk, e, level + 1)) != 0) return r;
        return 0;
    }
    case JSON_OBJECT:
        return pack_object(pk, v, level);
    }
    return r ? -ENOMEM : 0;
}

/* msgpack-c's write callback, appending to an sl_buf (0 or -1, as it wants). */
static int write_buf(void *data, const char *p, size_t len)
{
    return sl_buf_append(data, p, len) ? -1 : 0;
}

int sl_json_to_msgpack(const json_t *v, sl_buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, write_buf);
    return pack_json(&pk, v, 0);
}

/* ---- typed values to JSON ---- */

/* {"hex": "<2 hex digits per byte>"}, or NULL when out of memory. */
static json_t *hex_object(const unsigned char *p, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *hex = malloc(2 * len + 1);
    if (!hex)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        hex[2 * i] = digits[p[i] >> 4];
        hex[2 * i + 1] = digits[p[i] & 15];
    }
    json_t *s = json_stringn_nocheck(hex, 2 * len);
    free(hex);
    return s ? json_pack("{s:o}", "hex", s) : NULL;
}

json_t *sl_json_bytes(const void *p, size_t len)
{
    json_t *v = json_stringn(p, len); /* NULL when not UTF-8 */
    return v ? v : hex_object(p, len);
}

static json_t *to_json(sl_value v, int level);

/* A map as an object: string keys as they are, integer keys as text. */
static json_t *map_to_json(sl_value v, int level)
{
    json_t *o = json_object();
    for (size_t i = 0, n = sl_value_len(v); o && i < n; i++) {
        sl_value key;
        json_t *e = to_json(sl_value_entry(v, i, &key), level + 1);
        char num[24];
        size_t klen = 0;
        const char *k = sl_value_type(key) == SL_ARG_STR ? sl_value_str(key, &klen) : NULL;
        if (sl_value_type(key) == SL_ARG_INT) {
            klen = (size_t)snprintf(num, sizeof num, "%lld", sl_value_int(key));
            k = num;
        }
        if (!e || !k || json_object_setn_new(o, k, klen, e)) {
            json_decref(o); /* setn_new has taken e, even when it fails */
            if (!k)
                json_decref(e);
            o = NULL;
        }
    }
    return o;
}

static json_t *list_to_json(sl_value v, int level)
{
    json_t *a = json_array();
    for (size_t i = 0, n = sl_value_len(v); a && i < n; i++)
        if (json_array_append_new(a, to_json(sl_value_at(v, i), level + 1))) {
            json_decref(a); /* append_new has taken the element */
            a = NULL;
        }
    return a;
}

/* An integer; one past long long (msgpack's u64, which sl_value_int
 * clamps) as a real, the nearest JSON can come. */
static json_t *int_to_json(sl_value v)
{
    const msgpack_object *o = sl_value_object(v);
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 > (uint64_t)LLONG_MAX)
        return json_real((double)o->via.u64);
    return json_integer(sl_value_int(v));
}

static json_t *to_json(sl_value v, int level)
{
    size_t len = 0;
    const char *s;
    if (level > SL_VALUE_MAX_DEPTH) /* guards the recursion; decoding already refused deeper */
        return NULL;
    switch (sl_value_type(v)) {
    case SL_ARG_NULL: return json_null();
    case SL_ARG_BOOL: return json_boolean(sl_value_bool(v));
    case SL_ARG_INT: return int_to_json(v);
    case SL_ARG_DOUBLE: return isfinite(sl_value_double(v)) ? json_real(sl_value_double(v)) : json_null();
    case SL_ARG_STR: s = sl_value_str(v, &len); return sl_json_bytes(s, len);
    case SL_ARG_BYTES: s = sl_value_str(v, &len); return hex_object((const unsigned char *)s, len);
    case SL_ARG_LIST: return list_to_json(v, level);
    case SL_ARG_MAP: return map_to_json(v, level);
    default: return NULL; /* ext: no JSON form */
    }
}

json_t *sl_msgpack_to_json(const void *p, size_t len)
{
    sl_value v;
    if (sl_value_decode(p, len, &v))
        return NULL;
    json_t *j = to_json(v, 0);
    sl_value_free(v);
    return j;
}
