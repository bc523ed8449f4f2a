/*
 * test_value.c: unit tests of src/container/value.c, typed values: the
 * builder (sl_pack) and the reader (sl_value), round trips through
 * msgpack bytes, and what the reader does with bad input or wrong types.
 *
 * Bytes handed to the decoder are exact-size heap copies, so that under
 * AddressSanitizer a read one byte too far is caught.
 */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sluice.h"

/* ---- helpers ---- */

/* Decodes the builder's value from an exact-size heap copy, which is
 * freed before returning: the value must not refer to it. */
static sl_value decode_copy(const sl_pack *pk)
{
    size_t len;
    const void *data = sl_pack_data(pk, &len);
    assert_non_null(data);
    void *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, data, len);
    sl_value v;
    assert_int_equal(sl_value_decode(copy, len, &v), 0);
    memset(copy, 0xee, len);
    free(copy);
    return v;
}

/* Decodes bytes[0..len) copied to the heap; returns the result code. */
static int decode_bytes(const void *bytes, size_t len, sl_value *out)
{
    void *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, bytes, len);
    int r = sl_value_decode(copy, len, out);
    free(copy);
    return r;
}

/* A builder holding {"name": "ada", "tags": ["x", "yz"], "inner":
 * {"pi": 3.25, "ok": true, "none": null, "deep": [[-7]]}, 5: "five"}. */
static sl_pack *build_nested(void)
{
    sl_pack *pk = sl_pack_new();
    assert_non_null(pk);
    assert_int_equal(sl_pack_map(pk, 4), 0);
    assert_int_equal(sl_pack_str(pk, "name"), 0);
    assert_int_equal(sl_pack_str(pk, "ada"), 0);
    assert_int_equal(sl_pack_str(pk, "tags"), 0);
    assert_int_equal(sl_pack_list(pk, 2), 0);
    assert_int_equal(sl_pack_str(pk, "x"), 0);
    assert_int_equal(sl_pack_strn(pk, "yzw", 2), 0);
    assert_int_equal(sl_pack_str(pk, "inner"), 0);
    assert_int_equal(sl_pack_map(pk, 4), 0);
    assert_int_equal(sl_pack_str(pk, "pi"), 0);
    assert_int_equal(sl_pack_double(pk, 3.25), 0);
    assert_int_equal(sl_pack_str(pk, "ok"), 0);
    assert_int_equal(sl_pack_bool(pk, true), 0);
    assert_int_equal(sl_pack_str(pk, "none"), 0);
    assert_int_equal(sl_pack_nil(pk), 0);
    assert_int_equal(sl_pack_str(pk, "deep"), 0);
    assert_int_equal(sl_pack_list(pk, 1), 0);
    assert_int_equal(sl_pack_list(pk, 1), 0);
    assert_int_equal(sl_pack_int(pk, -7), 0);
    assert_int_equal(sl_pack_int(pk, 5), 0); /* a non-string key */
    assert_int_equal(sl_pack_str(pk, "five"), 0);
    return pk;
}

/* n nested lists, the innermost holding one integer. */
static sl_pack *build_depth(int n)
{
    sl_pack *pk = sl_pack_new();
    assert_non_null(pk);
    for (int i = 0; i < n; i++)
        assert_int_equal(sl_pack_list(pk, 1), 0);
    assert_int_equal(sl_pack_int(pk, 1), 0);
    return pk;
}

/* ---- round trips ---- */

static void test_scalars_round_trip(void **state)
{
    (void)state;
    sl_pack *pk = sl_pack_new();
    assert_non_null(pk);
    const long long ints[] = {0, 1, -1, 127, 128, -33, 65536, LLONG_MAX, LLONG_MIN};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        sl_pack_reset(pk);
        assert_int_equal(sl_pack_int(pk, ints[i]), 0);
        sl_value v = decode_copy(pk);
        assert_int_equal(sl_value_type(v), SL_ARG_INT);
        assert_true(sl_value_int(v) == ints[i]);
        assert_true(sl_value_double(v) == (double)ints[i]);
        sl_value_free(v);
    }
    sl_pack_reset(pk);
    assert_int_equal(sl_pack_double(pk, -2.5), 0);
    sl_value v = decode_copy(pk);
    assert_int_equal(sl_value_type(v), SL_ARG_DOUBLE);
    assert_true(sl_value_double(v) == -2.5);
    assert_int_equal(sl_value_int(v), -2);
    sl_value_free(v);

    sl_pack_reset(pk);
    assert_int_equal(sl_pack_bool(pk, false), 0);
    v = decode_copy(pk);
    assert_int_equal(sl_value_type(v), SL_ARG_BOOL);
    assert_false(sl_value_bool(v));
    assert_int_equal(sl_value_int(v), 0);
    sl_value_free(v);

    sl_pack_reset(pk);
    assert_int_equal(sl_pack_nil(pk), 0);
    v = decode_copy(pk);
    assert_int_equal(sl_value_type(v), SL_ARG_NULL);
    sl_value_free(v);
    sl_pack_free(pk);
}

static void test_strings_and_bytes_round_trip_nul_terminated(void **state)
{
    (void)state;
    sl_pack *pk = sl_pack_new();
    assert_non_null(pk);
    assert_int_equal(sl_pack_str(pk, "h\xc3\xa9llo"), 0);
    sl_value v = decode_copy(pk);
    size_t len = 0;
    const char *s = sl_value_str(v, &len);
    assert_int_equal(sl_value_type(v), SL_ARG_STR);
    assert_int_equal(len, 6);
    assert_string_equal(s, "h\xc3\xa9llo"); /* a C string: NUL-terminated */
    sl_value_free(v);

    sl_pack_reset(pk);
    const char raw[] = {'a', 0, (char)0xff, 'b'};
    assert_int_equal(sl_pack_bytes(pk, raw, sizeof raw), 0);
    v = decode_copy(pk);
    assert_int_equal(sl_value_type(v), SL_ARG_BYTES);
    s = sl_value_str(v, &len);
    assert_int_equal(len, sizeof raw);
    assert_memory_equal(s, raw, sizeof raw);
    assert_int_equal(s[len], 0);
    sl_value_free(v);

    sl_pack_reset(pk);
    assert_int_equal(sl_pack_strn(pk, NULL, 0), 0); /* empty: no pointer needed */
    v = decode_copy(pk);
    assert_string_equal(sl_value_str(v, NULL), "");
    sl_value_free(v);
    sl_pack_free(pk);
}

static void test_nested_map_and_list_round_trip(void **state)
{
    (void)state;
    sl_pack *pk = build_nested();
    sl_value v = decode_copy(pk);
    sl_pack_free(pk);

    assert_int_equal(sl_value_type(v), SL_ARG_MAP);
    assert_int_equal(sl_value_len(v), 4);
    assert_string_equal(sl_value_str(sl_value_get(v, "name"), NULL), "ada");
    sl_value tags = sl_value_get(v, "tags");
    assert_int_equal(sl_value_type(tags), SL_ARG_LIST);
    assert_int_equal(sl_value_len(tags), 2);
    assert_string_equal(sl_value_str(sl_value_at(tags, 0), NULL), "x");
    assert_string_equal(sl_value_str(sl_value_at(tags, 1), NULL), "yz");
    sl_value inner = sl_value_get(v, "inner");
    assert_true(sl_value_double(sl_value_get(inner, "pi")) == 3.25);
    assert_true(sl_value_bool(sl_value_get(inner, "ok")));
    assert_int_equal(sl_value_type(sl_value_get(inner, "none")), SL_ARG_NULL);
    assert_int_equal(sl_value_int(sl_value_at(sl_value_at(sl_value_get(inner, "deep"), 0), 0)), -7);

    sl_value key;
    sl_value val = sl_value_entry(v, 3, &key);
    assert_int_equal(sl_value_type(key), SL_ARG_INT);
    assert_int_equal(sl_value_int(key), 5);
    assert_string_equal(sl_value_str(val, NULL), "five");
    val = sl_value_entry(v, 0, &key);
    assert_string_equal(sl_value_str(key, NULL), "name");
    assert_string_equal(sl_value_str(val, NULL), "ada");
    sl_value_free(v);
}

static void test_pack_value_copies_a_read_value(void **state)
{
    (void)state;
    sl_pack *pk = build_nested();
    sl_value v = decode_copy(pk);
    sl_pack_reset(pk);
    assert_int_equal(sl_pack_list(pk, 2), 0);
    assert_int_equal(sl_pack_value(pk, sl_value_get(v, "inner")), 0);
    assert_int_equal(sl_pack_value(pk, sl_value_get(v, "tags")), 0);
    sl_value w = decode_copy(pk);
    assert_true(sl_value_bool(sl_value_get(sl_value_at(w, 0), "ok")));
    assert_string_equal(sl_value_str(sl_value_at(sl_value_at(w, 1), 1), NULL), "yz");
    sl_value_free(w);
    sl_value_free(v);
    sl_pack_free(pk);
}

static void test_depth_limit_is_the_decoders(void **state)
{
    (void)state;
    sl_pack *pk = build_depth(SL_VALUE_MAX_DEPTH);
    sl_value root = decode_copy(pk), v = root;
    for (int i = 0; i < SL_VALUE_MAX_DEPTH; i++) {
        assert_int_equal(sl_value_type(v), SL_ARG_LIST);
        v = sl_value_at(v, 0);
    }
    assert_int_equal(sl_value_int(v), 1);
    sl_value_free(root);
    sl_pack_free(pk);

    pk = build_depth(SL_VALUE_MAX_DEPTH + 1);
    size_t len;
    const void *data = sl_pack_data(pk, &len);
    assert_int_equal(decode_bytes(data, len, &v), SL_EINVAL);
    assert_int_equal(sl_value_type(v), SL_ARG_NONE);
    sl_pack_free(pk);
}

/* ---- the reader on bad input ---- */

static void test_decode_rejects_every_truncation(void **state)
{
    (void)state;
    sl_pack *pk = build_nested();
    size_t len;
    const unsigned char *data = sl_pack_data(pk, &len);
    for (size_t n = 0; n < len; n++) {
        sl_value v = {(void *)1, (void *)1};
        assert_int_equal(decode_bytes(data, n, &v), SL_EINVAL);
        assert_null(v.obj_);
        assert_null(v.doc_);
    }
    sl_pack_free(pk);
}

static void test_decode_rejects_trailing_bytes_and_garbage(void **state)
{
    (void)state;
    sl_value v;
    const unsigned char two[] = {0x01, 0x02}; /* two values */
    assert_int_equal(decode_bytes(two, sizeof two, &v), SL_EINVAL);
    const unsigned char never[] = {0xc1}; /* msgpack's one unused byte */
    assert_int_equal(decode_bytes(never, sizeof never, &v), SL_EINVAL);
    const unsigned char huge_str[] = {0xdb, 0xff, 0xff, 0xff, 0xff, 'a'};
    assert_int_equal(decode_bytes(huge_str, sizeof huge_str, &v), SL_EINVAL);
    /* msgpack-c allocates 2^32 - 1 elements' room up front: that fails */
    const unsigned char huge_list[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(decode_bytes(huge_list, sizeof huge_list, &v), SL_EINVAL);
    assert_int_equal(sl_value_decode(NULL, 0, &v), SL_EINVAL);
    assert_int_equal(sl_value_type(v), SL_ARG_NONE);
}

static void test_wrong_types_and_missing_values_read_as_nothing(void **state)
{
    (void)state;
    sl_pack *pk = build_nested();
    sl_value v = decode_copy(pk);
    sl_pack_free(pk);
    sl_value name = sl_value_get(v, "name");
    assert_int_equal(sl_value_int(name), 0);
    assert_true(sl_value_double(name) == 0);
    assert_false(sl_value_bool(name));
    assert_int_equal(sl_value_len(name), 0);
    assert_int_equal(sl_value_type(sl_value_at(name, 0)), SL_ARG_NONE);
    assert_null(sl_value_str(sl_value_get(v, "inner"), NULL));
    assert_int_equal(sl_value_type(sl_value_at(v, 0)), SL_ARG_NONE);      /* a map is not a list */
    assert_int_equal(sl_value_type(sl_value_get(sl_value_get(v, "tags"), "x")), SL_ARG_NONE);
    assert_int_equal(sl_value_type(sl_value_at(sl_value_get(v, "tags"), 2)), SL_ARG_NONE);
    assert_int_equal(sl_value_type(sl_value_get(v, "nope")), SL_ARG_NONE);
    assert_int_equal(sl_value_type(sl_value_get(v, NULL)), SL_ARG_NONE);
    assert_int_equal(sl_value_type(sl_value_get(v, "nam")), SL_ARG_NONE); /* a prefix is not the key */
    sl_value key = {(void *)1, NULL};
    assert_int_equal(sl_value_type(sl_value_entry(v, 4, &key)), SL_ARG_NONE);
    assert_int_equal(sl_value_type(key), SL_ARG_NONE);

    sl_value none = sl_value_get(sl_value_at(sl_value_get(v, "missing"), 3), "deeper");
    assert_int_equal(sl_value_type(none), SL_ARG_NONE);
    assert_int_equal(sl_value_int(none), 0);
    assert_null(sl_value_str(none, NULL));
    assert_int_equal(sl_value_len(none), 0);
    sl_value_free(none);        /* harmless: owns nothing */
    sl_value_free(name);        /* harmless: read from v, which owns it */
    sl_value_free(v);
}

static void test_numbers_out_of_range_clamp(void **state)
{
    (void)state;
    sl_value v;
    const unsigned char u64max[] = {0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(decode_bytes(u64max, sizeof u64max, &v), 0);
    assert_int_equal(sl_value_type(v), SL_ARG_INT);
    assert_true(sl_value_int(v) == LLONG_MAX);
    assert_true(sl_value_double(v) > 1.8e19);
    sl_value_free(v);
    sl_pack *pk = sl_pack_new();
    assert_non_null(pk);
    const double ds[] = {1e300, -1e300, NAN};
    const long long want[] = {LLONG_MAX, LLONG_MIN, 0};
    for (int i = 0; i < 3; i++) {
        sl_pack_reset(pk);
        assert_int_equal(sl_pack_double(pk, ds[i]), 0);
        v = decode_copy(pk);
        assert_true(sl_value_int(v) == want[i]);
        sl_value_free(v);
    }
    sl_pack_free(pk);
}

/* ---- the builder's errors ---- */

static void test_incomplete_value_has_no_data(void **state)
{
    (void)state;
    sl_pack *pk = sl_pack_new();
    assert_non_null(pk);
    size_t len = 99;
    assert_null(sl_pack_data(pk, &len)); /* nothing yet */
    assert_int_equal(len, 0);
    assert_int_equal(sl_pack_map(pk, 1), 0);
    assert_int_equal(sl_pack_str(pk, "k"), 0);
    assert_null(sl_pack_data(pk, &len)); /* the map owes a value */
    assert_int_equal(sl_pack_list(pk, 0), 0);
    assert_non_null(sl_pack_data(pk, &len));
    assert_int_equal(len, 4); /* fixmap(1) fixstr(1) 'k' fixarray(0) */
    sl_pack_free(pk);
}

static void test_second_top_level_value_is_a_sticky_error(void **state)
{
    (void)state;
    sl_pack *pk = sl_pack_new();
    assert_non_null(pk);
    assert_int_equal(sl_pack_int(pk, 1), 0);
    assert_int_equal(sl_pack_int(pk, 2), SL_EINVAL);
    assert_int_equal(sl_pack_nil(pk), SL_EINVAL);
    assert_null(sl_pack_data(pk, NULL));
    sl_pack_reset(pk); /* clears it */
    assert_int_equal(sl_pack_str(pk, "again"), 0);
    assert_non_null(sl_pack_data(pk, NULL));
    sl_pack_free(pk);
}

static void test_bad_builder_arguments_fail(void **state)
{
    (void)state;
    assert_int_equal(sl_pack_int(NULL, 1), SL_EINVAL);
    assert_int_equal(sl_pack_list(NULL, 1), SL_EINVAL);
    assert_int_equal(sl_pack_str(NULL, "x"), SL_EINVAL);
    assert_null(sl_pack_data(NULL, NULL));
    sl_pack_free(NULL);
    sl_pack_reset(NULL);

    sl_pack *pk = sl_pack_new();
    assert_non_null(pk);
    assert_int_equal(sl_pack_bytes(pk, NULL, 3), SL_EINVAL);
    assert_int_equal(sl_pack_int(pk, 1), SL_EINVAL); /* sticky */
    sl_pack_reset(pk);
    assert_int_equal(sl_pack_list(pk, (size_t)UINT32_MAX + 1), SL_EINVAL);
    sl_pack_reset(pk);
    sl_value none = {NULL, NULL};
    assert_int_equal(sl_pack_value(pk, none), SL_EINVAL);
    sl_pack_free(pk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars_round_trip),
        cmocka_unit_test(test_strings_and_bytes_round_trip_nul_terminated),
        cmocka_unit_test(test_nested_map_and_list_round_trip),
        cmocka_unit_test(test_pack_value_copies_a_read_value),
        cmocka_unit_test(test_depth_limit_is_the_decoders),
        cmocka_unit_test(test_decode_rejects_every_truncation),
        cmocka_unit_test(test_decode_rejects_trailing_bytes_and_garbage),
        cmocka_unit_test(test_wrong_types_and_missing_values_read_as_nothing),
        cmocka_unit_test(test_numbers_out_of_range_clamp),
        cmocka_unit_test(test_incomplete_value_has_no_data),
        cmocka_unit_test(test_second_top_level_value_is_a_sticky_error),
        cmocka_unit_test(test_bad_builder_arguments_fail),
    };
    return cmocka_run_group_tests_name("value", tests, NULL, NULL);
}
