/*
 * value.c: typed values, the codec behind sl_value and sl_pack (sluice.h).
 *
 * A typed value is one msgpack value. The reader decodes with libmsgpack
 * (msgpack_unpack_next) and then copies every string into the decoded
 * zone with a NUL after it, so that a value never refers to the bytes it
 * came from (they may be a handle's output that the next sl_next frees)
 * and sl_value_str can hand out C strings. The builder is a msgpack_packer
 * writing into a msgpack_sbuffer, plus a count of the values still owed,
 * which says when the one value being built is complete.
 *
 * Depends on libmsgpack and libc only (no container runtime), so the unit
 * tests link it alone.
 */
#include <limits.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "container/value.h"

/* ---- reading ---- */

static const sl_value NONE = {NULL, NULL};

/* Copies n bytes at *ptr into the zone (created on first need), NUL after
 * them, and points *ptr at the copy. */
static int own_bytes(msgpack_zone **z, const char **ptr, uint32_t n)
{
    if (!*z && !(*z = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE)))
        return SL_ENOMEM;
    char *copy = msgpack_zone_malloc(*z, (size_t)n + 1);
    if (!copy)
        return SL_ENOMEM;
    if (n)
        memcpy(copy, *ptr, n);
    copy[n] = '\0';
    *ptr = copy;
    return 0;
}

/* Makes every string, bytes and ext under o the zone's own. The depth
 * check only guards the recursion: msgpack-c refuses deeper input. */
static int own_strings(msgpack_zone **z, msgpack_object *o, int depth)
{
    if (depth > SL_VALUE_MAX_DEPTH)
        return SL_EINVAL;
    int r = 0;
    switch (o->type) {
    case MSGPACK_OBJECT_STR:
        return own_bytes(z, &o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return own_bytes(z, &o->via.bin.ptr, o->via.bin.size);
    case MSGPACK_OBJECT_EXT:
        return own_bytes(z, &o->via.ext.ptr, o->via.ext.size);
    case MSGPACK_OBJECT_ARRAY:
        for (uint32_t i = 0; !r && i < o->via.array.size; i++)
            r = own_strings(z, &o->via.array.ptr[i], depth + 1);
        return r;
    case MSGPACK_OBJECT_MAP:
        for (uint32_t i = 0; !r && i < o->via.map.size; i++) {
            r = own_strings(z, &o->via.map.ptr[i].key, depth + 1);
            r = r ? r : own_strings(z, &o->via.map.ptr[i].val, depth + 1);
        }
        return r;
    default:
        return 0;
    }
}

int sl_value_unpack(msgpack_unpacked *u, const void *data, size_t len)
{
    if (!data || !len)
        return SL_EINVAL;
    size_t off = 0;
    /* NOMEM_ERROR is also msgpack-c's answer to nesting past its stack */
    if (msgpack_unpack_next(u, data, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len)
        return SL_EINVAL;
    return own_strings(&u->zone, &u->data, 0);
}

int sl_value_unpack_reusing(msgpack_unpacked *u, const void *data, size_t len)
{
    if (!u->zone)
        return sl_value_unpack(u, data, len);
    if (!data || !len)
        return SL_EINVAL;
    msgpack_zone_clear(u->zone);
    size_t off = 0;
    if (msgpack_unpack(data, len, &off, u->zone, &u->data) != MSGPACK_UNPACK_SUCCESS || off != len)
        return SL_EINVAL;
    return own_strings(&u->zone, &u->data, 0);
}

int sl_value_decode(const void *data, size_t len, sl_value *out)
{
    *out = NONE;
    msgpack_unpacked *u = malloc(sizeof *u); /* the root owns it: sl_value_free */
    if (!u)
        return SL_ENOMEM;
    msgpack_unpacked_init(u);
    int r = sl_value_unpack(u, data, len);
    if (r) {
        msgpack_unpacked_destroy(u);
        free(u);
        return r;
    }
    out->obj_ = &u->data;
    out->doc_ = u;
    return 0;
}

void sl_value_free(sl_value v)
{
    msgpack_unpacked *u = v.doc_;
    if (u) {
        msgpack_unpacked_destroy(u);
        free(u);
    }
}

int sl_value_type(sl_value v)
{
    const msgpack_object *o = sl_value_object(v);
    if (!o)
        return SL_ARG_NONE;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return SL_ARG_NULL;
    case MSGPACK_OBJECT_BOOLEAN: return SL_ARG_BOOL;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return SL_ARG_INT;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return SL_ARG_DOUBLE;
    case MSGPACK_OBJECT_STR: return SL_ARG_STR;
    case MSGPACK_OBJECT_BIN: return SL_ARG_BYTES;
    case MSGPACK_OBJECT_ARRAY: return SL_ARG_LIST;
    case MSGPACK_OBJECT_MAP: return SL_ARG_MAP;
    default: return SL_ARG_OTHER;
    }
}

long long sl_value_int(sl_value v)
{
    const msgpack_object *o = sl_value_object(v);
    if (!o)
        return 0;
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return o->via.u64 > (uint64_t)LLONG_MAX ? LLONG_MAX : (long long)o->via.u64;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return (long long)o->via.i64;
    case MSGPACK_OBJECT_BOOLEAN:
        return o->via.boolean ? 1 : 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        /* a double outside long long's range has no integer: clamp it (and
         * NaN reads 0) rather than convert, which is undefined */
        if (o->via.f64 != o->via.f64)
            return 0;
        if (o->via.f64 >= 0x1p63)
            return LLONG_MAX;
        if (o->via.f64 < -0x1p63)
            return LLONG_MIN;
        return (long long)o->via.f64;
    default:
        return 0;
    }
}

double sl_value_double(sl_value v)
{
    const msgpack_object *o = sl_value_object(v);
    if (!o)
        return 0;
    switch (o->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return o->via.f64;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return (double)o->via.u64;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return (double)o->via.i64;
    default:
        return 0;
    }
}

bool sl_value_bool(sl_value v)
{
    const msgpack_object *o = sl_value_object(v);
    return o && o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean;
}

const char *sl_value_str(sl_value v, size_t *len)
{
    const msgpack_object *o = sl_value_object(v);
    if (!o || (o->type != MSGPACK_OBJECT_STR && o->type != MSGPACK_OBJECT_BIN))
        return NULL;
    /* own_strings made both NUL-terminated copies */
    if (len)
        *len = o->type == MSGPACK_OBJECT_STR ? o->via.str.size : o->via.bin.size;
    return o->type == MSGPACK_OBJECT_STR ? o->via.str.ptr : o->via.bin.ptr;
}

size_t sl_value_len(sl_value v)
{
    const msgpack_object *o = sl_value_object(v);
    if (o && o->type == MSGPACK_OBJECT_ARRAY)
        return o->via.array.size;
    if (o && o->type == MSGPACK_OBJECT_MAP)
        return o->via.map.size;
    return 0;
}

sl_value sl_value_at(sl_value v, size_t i)
{
    const msgpack_object *o = sl_value_object(v);
    if (!o || o->type != MSGPACK_OBJECT_ARRAY || i >= o->via.array.size)
        return NONE;
    return sl_value_of(&o->via.array.ptr[i]);
}

sl_value sl_value_get(sl_value v, const char *key)
{
    const msgpack_object *o = sl_value_object(v);
    if (!o || o->type != MSGPACK_OBJECT_MAP || !key)
        return NONE;
    size_t n = strlen(key);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n && memcmp(k->via.str.ptr, key, n) == 0)
            return sl_value_of(&o->via.map.ptr[i].val);
    }
    return NONE;
}

sl_value sl_value_entry(sl_value v, size_t i, sl_value *key)
{
    const msgpack_object *o = sl_value_object(v);
    bool ok = o && o->type == MSGPACK_OBJECT_MAP && i < o->via.map.size;
    if (key)
        *key = ok ? sl_value_of(&o->via.map.ptr[i].key) : NONE;
    return ok ? sl_value_of(&o->via.map.ptr[i].val) : NONE;
}

/* ---- building ---- */

struct sl_pack {
    msgpack_sbuffer sb;  /* the bytes so far (sb.data malloc'd, ours) */
    msgpack_packer pk;   /* writes into sb */
    size_t owed;         /* values still to come: 0 once the value is complete */
    int err;             /* the first error; sticks until sl_pack_reset */
};

sl_pack *sl_pack_new(void)
{
    sl_pack *pk = calloc(1, sizeof *pk);
    if (!pk)
        return NULL;
    msgpack_sbuffer_init(&pk->sb);
    msgpack_packer_init(&pk->pk, &pk->sb, msgpack_sbuffer_write);
    pk->owed = 1;
    return pk;
}

void sl_pack_free(sl_pack *pk)
{
    if (!pk)
        return;
    msgpack_sbuffer_destroy(&pk->sb);
    free(pk);
}

void sl_pack_reset(sl_pack *pk)
{
    if (!pk)
        return;
    msgpack_sbuffer_clear(&pk->sb);
    pk->owed = 1;
    pk->err = 0;
}

/* Records the builder's first error; every later call returns it. */
static int fail(sl_pack *pk, int err)
{
    if (!pk->err)
        pk->err = err;
    return pk->err;
}

/* Before writing one value: a scalar (more = 0) or a header that owes
 * `more` values. Checks the value being built has room for it (a second
 * top-level value is an error) and books it. */
static int begin(sl_pack *pk, size_t more)
{
    if (!pk)
        return SL_EINVAL;
    if (pk->err)
        return pk->err;
    if (pk->owed == 0 || more > SIZE_MAX - (pk->owed - 1))
        return fail(pk, SL_EINVAL);
    pk->owed = pk->owed - 1 + more;
    return 0;
}

/* begin() for a string, bytes, list or map of `len`: msgpack lengths are
 * u32 (longer would be written truncated), and p may be NULL only when
 * there is nothing to read from it. */
static int begin_len(sl_pack *pk, size_t len, size_t more, bool has_ptr)
{
    if (pk && !pk->err && (len > UINT32_MAX || !has_ptr))
        return fail(pk, SL_EINVAL);
    return begin(pk, more);
}

/* After the msgpack-c call: its only failure is the sbuffer's realloc. */
static int done(sl_pack *pk, int msgpack_rc)
{
    return msgpack_rc ? fail(pk, SL_ENOMEM) : 0;
}

int sl_pack_nil(sl_pack *pk)
{
    int r = begin(pk, 0);
    return r ? r : done(pk, msgpack_pack_nil(&pk->pk));
}

int sl_pack_bool(sl_pack *pk, bool v)
{
    int r = begin(pk, 0);
    return r ? r : done(pk, v ? msgpack_pack_true(&pk->pk) : msgpack_pack_false(&pk->pk));
}

int sl_pack_int(sl_pack *pk, long long v)
{
    int r = begin(pk, 0);
    return r ? r : done(pk, msgpack_pack_long_long(&pk->pk, v));
}

int sl_pack_double(sl_pack *pk, double v)
{
    int r = begin(pk, 0);
    return r ? r : done(pk, msgpack_pack_double(&pk->pk, v));
}

int sl_pack_strn(sl_pack *pk, const char *s, size_t len)
{
    int r = begin_len(pk, len, 0, s || !len);
    r = r ? r : done(pk, msgpack_pack_str(&pk->pk, len));
    return r || !len ? r : done(pk, msgpack_pack_str_body(&pk->pk, s, len));
}

int sl_pack_str(sl_pack *pk, const char *s)
{
    return sl_pack_strn(pk, s ? s : "", s ? strlen(s) : 0);
}

int sl_pack_bytes(sl_pack *pk, const void *p, size_t len)
{
    int r = begin_len(pk, len, 0, p || !len);
    r = r ? r : done(pk, msgpack_pack_bin(&pk->pk, len));
    return r || !len ? r : done(pk, msgpack_pack_bin_body(&pk->pk, p, len));
}

int sl_pack_list(sl_pack *pk, size_t n)
{
    int r = begin_len(pk, n, n, true);
    return r ? r : done(pk, msgpack_pack_array(&pk->pk, n));
}

int sl_pack_map(sl_pack *pk, size_t n)
{
    int r = begin_len(pk, n, 2 * n, true); /* n <= UINT32_MAX: no overflow */
    return r ? r : done(pk, msgpack_pack_map(&pk->pk, n));
}

int sl_pack_value(sl_pack *pk, sl_value v)
{
    const msgpack_object *o = sl_value_object(v);
    int r = begin_len(pk, 0, 0, o != NULL);
    return r ? r : done(pk, msgpack_pack_object(&pk->pk, *o));
}

const void *sl_pack_data(const sl_pack *pk, size_t *len)
{
    bool ok = sl_pack_status(pk) == 0;
    if (len)
        *len = ok ? pk->sb.size : 0;
    return ok ? pk->sb.data : NULL;
}

int sl_pack_status(const sl_pack *pk)
{
    if (!pk)
        return SL_EINVAL;
    return pk->err ? pk->err : pk->owed ? SL_EINVAL : 0;
}
