/*
 * fuzz_value.c: typed values (src/container/value.c) on arbitrary bytes,
 * as an app's sl_value_decode, a call's typed arguments and the call
 * API's typed outputs see them.
 *
 * A value that decodes is walked with every accessor (which must never
 * crash, and must agree with each other), copied with sl_pack_value and
 * decoded again: the copy must be the same value, and copying the copy
 * must give the same bytes. The bytes also go through the two other
 * readers: sl_value_unpack_reusing (a batch's inputs, a call's arguments)
 * and sl_msgpack_to_json (the call API showing a typed output).
 */
#include <errno.h>
#include <string.h>

#include "container/value.h"
#include "fuzz.h"
#include "server/typed_json.h"

/* Keys per map whose sl_value_get is checked: get is a linear search, so
 * checking every key of a big map would be quadratic. */
#define GET_CHECKS 32

static void walk(sl_value v, int depth);

/* A list: every element, and nothing past the end. */
static void walk_list(sl_value v, size_t n, int depth)
{
    for (size_t i = 0; i < n; i++)
        walk(sl_value_at(v, i), depth + 1);
    FUZZ_CHECK(sl_value_type(sl_value_at(v, n)) == SL_ARG_NONE);
    FUZZ_CHECK(sl_value_type(sl_value_get(v, "")) == SL_ARG_NONE);
}

/* A map: every key and value; a string key without a NUL in it finds a
 * value by name (the first entry of that name, which may be another). */
static void walk_map(sl_value v, size_t n, int depth)
{
    sl_value key;
    for (size_t i = 0; i < n; i++) {
        sl_value val = sl_value_entry(v, i, &key);
        FUZZ_CHECK(sl_value_type(key) != SL_ARG_NONE && sl_value_type(val) != SL_ARG_NONE);
        walk(key, depth + 1);
        walk(val, depth + 1);
        size_t klen;
        const char *k = sl_value_type(key) == SL_ARG_STR ? sl_value_str(key, &klen) : NULL;
        if (i < GET_CHECKS && k && strlen(k) == klen)
            FUZZ_CHECK(sl_value_type(sl_value_get(v, k)) != SL_ARG_NONE);
    }
    sl_value past = sl_value_entry(v, n, &key);
    FUZZ_CHECK(sl_value_type(past) == SL_ARG_NONE && sl_value_type(key) == SL_ARG_NONE);
    FUZZ_CHECK(sl_value_type(sl_value_at(v, 0)) == SL_ARG_NONE);
    FUZZ_CHECK(sl_value_type(sl_value_get(v, NULL)) == SL_ARG_NONE);
}

/* Every accessor on v and, recursively, on what it holds. */
static void walk(sl_value v, int depth)
{
    FUZZ_CHECK(depth <= SL_VALUE_MAX_DEPTH); /* deeper must not decode */
    int type = sl_value_type(v);
    long long i = sl_value_int(v);
    double d = sl_value_double(v);
    bool b = sl_value_bool(v);
    size_t len = 0;
    const char *s = sl_value_str(v, &len);
    size_t n = sl_value_len(v);
    FUZZ_CHECK(type != SL_ARG_NONE || depth == 0);
    FUZZ_CHECK(!b || (type == SL_ARG_BOOL && i == 1));
    FUZZ_CHECK(type != SL_ARG_BOOL || i == (b ? 1 : 0));
    FUZZ_CHECK(type == SL_ARG_INT || type == SL_ARG_DOUBLE || d == 0);
    /* strings and bytes: NUL-terminated copies (sluice.h promises it) */
    FUZZ_CHECK((s != NULL) == (type == SL_ARG_STR || type == SL_ARG_BYTES));
    FUZZ_CHECK(!s || s[len] == '\0');
    FUZZ_CHECK(n == 0 || type == SL_ARG_LIST || type == SL_ARG_MAP);
    if (type == SL_ARG_LIST)
        walk_list(v, n, depth);
    else if (type == SL_ARG_MAP)
        walk_map(v, n, depth);
    else
        FUZZ_CHECK(sl_value_type(sl_value_at(v, 0)) == SL_ARG_NONE);
}

/* Whether a and b hold the same value, down to the bits of a double. */
static bool same(sl_value a, sl_value b)
{
    const msgpack_object *x = sl_value_object(a), *y = sl_value_object(b);
    if (!x || !y || x->type != y->type)
        return x == y;
    switch (x->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return memcmp(&x->via.f64, &y->via.f64, sizeof x->via.f64) == 0;
    case MSGPACK_OBJECT_STR:
    case MSGPACK_OBJECT_BIN: {
        size_t la, lb;
        const char *sa = sl_value_str(a, &la), *sb = sl_value_str(b, &lb);
        return la == lb && memcmp(sa, sb, la) == 0;
    }
    case MSGPACK_OBJECT_EXT:
        return x->via.ext.type == y->via.ext.type && x->via.ext.size == y->via.ext.size &&
               memcmp(x->via.ext.ptr, y->via.ext.ptr, x->via.ext.size) == 0;
    case MSGPACK_OBJECT_ARRAY:
        if (x->via.array.size != y->via.array.size)
            return false;
        for (size_t i = 0; i < x->via.array.size; i++)
            if (!same(sl_value_at(a, i), sl_value_at(b, i)))
                return false;
        return true;
    case MSGPACK_OBJECT_MAP:
        if (x->via.map.size != y->via.map.size)
            return false;
        for (size_t i = 0; i < x->via.map.size; i++) {
            sl_value ka, kb;
            sl_value va = sl_value_entry(a, i, &ka), vb = sl_value_entry(b, i, &kb);
            if (!same(ka, kb) || !same(va, vb))
                return false;
        }
        return true;
    case MSGPACK_OBJECT_BOOLEAN: return x->via.boolean == y->via.boolean;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return x->via.u64 == y->via.u64;
    default: return true; /* nil: nothing more (msgpack-c leaves `via` unset) */
    }
}

/* v copied with sl_pack_value: a new builder (the caller frees it), or
 * NULL when msgpack-c's buffer could not grow. */
static sl_pack *copy_of(sl_value v)
{
    sl_pack *pk = sl_pack_new();
    FUZZ_CHECK(pk != NULL);
    int r = sl_pack_value(pk, v);
    FUZZ_CHECK(r == 0 || r == SL_ENOMEM);
    FUZZ_CHECK(r != 0 || sl_pack_status(pk) == 0);
    if (r) {
        sl_pack_free(pk);
        return NULL;
    }
    return pk;
}

/* Copy, decode the copy, compare; copy the copy, compare bytes. */
static void check_copy(sl_value v)
{
    sl_pack *pk = copy_of(v);
    if (!pk)
        return;
    size_t len;
    const void *bytes = sl_pack_data(pk, &len);
    FUZZ_CHECK(bytes != NULL && len > 0);
    sl_value again;
    int r = sl_value_decode(bytes, len, &again);
    FUZZ_CHECK(r == 0 || r == SL_ENOMEM);
    if (r == 0) {
        FUZZ_CHECK(same(v, again));
        sl_pack *pk2 = copy_of(again);
        size_t len2;
        const void *bytes2 = pk2 ? sl_pack_data(pk2, &len2) : NULL;
        FUZZ_CHECK(!pk2 || (len2 == len && memcmp(bytes2, bytes, len) == 0));
        sl_pack_free(pk2);
        sl_value_free(again);
    }
    /* a builder holds one value: a second is an error that sticks */
    FUZZ_CHECK(sl_pack_value(pk, v) == SL_EINVAL && sl_pack_data(pk, NULL) == NULL);
    sl_pack_free(pk);
}

/* As args.c reads a call's arguments and runtime.c a batch's inputs: one
 * msgpack_unpacked reused for input after input, failures included. The
 * result must agree with sl_value_decode's. */
static void check_reusing(const uint8_t *data, size_t size, int decoded)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t half = size / 2;
    sl_value_unpack_reusing(&u, data, half); /* a first input, often bad */
    int r = sl_value_unpack_reusing(&u, data, size);
    FUZZ_CHECK(r == decoded || r == SL_ENOMEM || decoded == SL_ENOMEM);
    sl_value_unpack_reusing(&u, data + half, size - half);
    r = sl_value_unpack_reusing(&u, data, size);
    FUZZ_CHECK(r == decoded || r == SL_ENOMEM || decoded == SL_ENOMEM);
    msgpack_unpacked_destroy(&u);
}

/* As the call API shows a typed output: JSON, or raw bytes when none. */
static void check_json(const uint8_t *data, size_t size, int decoded)
{
    json_t *j = sl_msgpack_to_json(data, size);
    FUZZ_CHECK(!j || decoded == 0);
    if (!j)
        j = sl_json_bytes(data, size);
    char *text = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    free(text);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_value v;
    int r = sl_value_decode(data, size, &v);
    FUZZ_CHECK(r == 0 || r == SL_EINVAL || r == SL_ENOMEM);
    FUZZ_CHECK(r == 0 || sl_value_type(v) == SL_ARG_NONE);
    if (r == 0) {
        walk(v, 0);
        check_copy(v);
        sl_value_free(v);
    }
    check_reusing(data, size, r);
    check_json(data, size, r);
    return 0;
}
