/*
 * test_typed_json.c: unit tests of src/server/typed_json.c, the call API's
 * bridge between JSON (jansson) and typed values (msgpack): JSON arguments
 * to msgpack and back, the depth bound, and typed values JSON cannot hold.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/call_parse.h"
#include "server/typed_json.h"
#include "sluice.h"

/* text -> JSON -> msgpack -> JSON -> compact text (the caller frees it). */
static char *round_trip(const char *text)
{
    json_t *in = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_non_null(in);
    sl_buf b = {0};
    assert_int_equal(sl_json_to_msgpack(in, &b), 0);
    json_decref(in);
    json_t *out = sl_msgpack_to_json(b.data, b.len);
    sl_buf_free(&b);
    assert_non_null(out);
    char *s = json_dumps(out, JSON_ENCODE_ANY | JSON_COMPACT);
    json_decref(out);
    assert_non_null(s);
    return s;
}

/* The builder's value as compact JSON text, or NULL when it has none. */
static char *pack_to_text(sl_pack *pk)
{
    size_t len;
    const void *data = sl_pack_data(pk, &len);
    assert_non_null(data);
    json_t *v = sl_msgpack_to_json(data, len);
    char *s = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    json_decref(v);
    return s;
}

static void test_json_round_trips_through_msgpack(void **state)
{
    (void)state;
    const char *cases[] = {
        "[]",
        "[1,-2,2.5,\"h\xc3\xa9llo\",true,false,null]",
        "[{\"a\":{\"b\":[1,{\"c\":null}]},\"\":0,\"z\":[]}]",
        "{\"order\":1,\"is\":2,\"kept\":3}",
        "\"just a string\"",
        "9223372036854775807",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = round_trip(cases[i]);
        assert_string_equal(s, cases[i]);
        free(s);
    }
}

static void test_an_object_becomes_a_map_the_reader_can_read(void **state)
{
    (void)state;
    json_t *in = json_loads("{\"name\":\"ada\",\"n\":[1,2]}", 0, NULL);
    assert_non_null(in);
    sl_buf b = {0};
    assert_int_equal(sl_json_to_msgpack(in, &b), 0);
    json_decref(in);
    sl_value v;
    assert_int_equal(sl_value_decode(b.data, b.len, &v), 0);
    sl_buf_free(&b);
    assert_int_equal(sl_value_type(v), SL_ARG_MAP);
    assert_string_equal(sl_value_str(sl_value_get(v, "name"), NULL), "ada");
    assert_int_equal(sl_value_int(sl_value_at(sl_value_get(v, "n"), 1)), 2);
    sl_value_free(v);
}

/* `levels` nested arrays, [[[...]]]. */
static json_t *nested_arrays(int levels)
{
    json_t *v = json_array();
    for (int i = 1; i < levels; i++) {
        json_t *outer = json_array();
        assert_int_equal(json_array_append_new(outer, v), 0);
        v = outer;
    }
    return v;
}

static void test_nesting_is_bounded(void **state)
{
    (void)state;
    sl_buf b = {0};
    json_t *ok = nested_arrays(SL_VALUE_MAX_DEPTH);
    assert_int_equal(sl_json_to_msgpack(ok, &b), 0);
    json_t *back = sl_msgpack_to_json(b.data, b.len);
    assert_non_null(back);
    assert_true(json_equal(ok, back));
    json_decref(back);
    json_decref(ok);
    sl_buf_free(&b);

    json_t *deep = nested_arrays(SL_VALUE_MAX_DEPTH + 1);
    assert_int_equal(sl_json_to_msgpack(deep, &b), -EINVAL);
    json_decref(deep);
    sl_buf_free(&b);
}

static void test_values_json_cannot_hold(void **state)
{
    (void)state;
    sl_pack *pk = sl_pack_new();
    assert_non_null(pk);
    assert_int_equal(sl_pack_bytes(pk, "\x00\xff", 2), 0);
    char *s = pack_to_text(pk);
    assert_string_equal(s, "{\"hex\":\"00ff\"}");
    free(s);

    sl_pack_reset(pk);
    assert_int_equal(sl_pack_list(pk, 3), 0);
    assert_int_equal(sl_pack_double(pk, NAN), 0);
    assert_int_equal(sl_pack_double(pk, INFINITY), 0);
    assert_int_equal(sl_pack_strn(pk, "\xff", 1), 0); /* a string that is not UTF-8 */
    s = pack_to_text(pk);
    assert_string_equal(s, "[null,null,{\"hex\":\"ff\"}]");
    free(s);

    sl_pack_reset(pk);
    assert_int_equal(sl_pack_map(pk, 1), 0);
    assert_int_equal(sl_pack_int(pk, -5), 0); /* an integer key: its text */
    assert_int_equal(sl_pack_bool(pk, true), 0);
    s = pack_to_text(pk);
    assert_string_equal(s, "{\"-5\":true}");
    free(s);

    sl_pack_reset(pk);
    assert_int_equal(sl_pack_map(pk, 1), 0);
    assert_int_equal(sl_pack_list(pk, 0), 0); /* a list key: no JSON form */
    assert_int_equal(sl_pack_nil(pk), 0);
    assert_null(pack_to_text(pk));
    sl_pack_free(pk);

    const unsigned char ext[] = {0xd4, 0x01, 0x02};           /* fixext 1 */
    assert_null(sl_msgpack_to_json(ext, sizeof ext));
    const unsigned char u64max[] = {0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    json_t *big = sl_msgpack_to_json(u64max, sizeof u64max);
    assert_true(json_is_real(big));
    json_decref(big);
    const unsigned char truncated[] = {0x92, 0x01};
    assert_null(sl_msgpack_to_json(truncated, sizeof truncated));
    assert_null(sl_msgpack_to_json(NULL, 0));
}

static void test_raw_bytes_are_text_or_hex(void **state)
{
    (void)state;
    json_t *t = sl_json_bytes("plain", 5);
    assert_string_equal(json_string_value(t), "plain");
    json_decref(t);
    json_t *h = sl_json_bytes("\x80\x01", 2);
    assert_string_equal(json_string_value(json_object_get(h, "hex")), "8001");
    json_decref(h);
}

/* The call API's request parts (call_parse.c): arguments, Accept, ids. */
static void test_call_request_parsing(void **state)
{
    (void)state;
    sl_buf b = {0};
    char why[320] = "";
    assert_int_equal(sl_api_parse_args("", 0, &b, why, sizeof why), 0);
    assert_int_equal(b.len, 1); /* an empty body: no arguments, 0x90 */
    b.len = 0;
    assert_int_equal(sl_api_parse_args("{}", 2, &b, why, sizeof why), -EINVAL);
    assert_non_null(strstr(why, "must be a JSON array"));
    assert_int_equal(sl_api_parse_args("[1,", 3, &b, why, sizeof why), -EINVAL);
    assert_non_null(strstr(why, "not JSON"));
    sl_buf_free(&b);

    assert_int_equal(sl_api_format_of(NULL, 0), SL_API_JSON);
    assert_int_equal(sl_api_format_of("text/event-stream", 17), SL_API_SSE);
    assert_int_equal(sl_api_format_of("a, application/x-ndjson", 23), SL_API_NDJSON);
    assert_int_equal(sl_api_format_of("text/event-stream", 16), SL_API_JSON); /* cut short */
    /* q-values and case: the highest q wins, q=0 refuses; ties go SSE, NDJSON, JSON */
    const char *a = "application/x-ndjson;q=0, application/json";
    assert_int_equal(sl_api_format_of(a, strlen(a)), SL_API_JSON);
    a = "text/event-stream; q=0.2, application/x-ndjson;q=0.9";
    assert_int_equal(sl_api_format_of(a, strlen(a)), SL_API_NDJSON);
    a = "application/json, text/event-stream";
    assert_int_equal(sl_api_format_of(a, strlen(a)), SL_API_SSE);
    a = "TEXT/Event-Stream";
    assert_int_equal(sl_api_format_of(a, strlen(a)), SL_API_SSE);
    a = "text/event-streams, */*;q=0.1";
    assert_int_equal(sl_api_format_of(a, strlen(a)), SL_API_JSON);
    a = "text/event-stream;q=junk";
    assert_int_equal(sl_api_format_of(a, strlen(a)), SL_API_SSE);
    a = ";;,,, ;q=";
    assert_int_equal(sl_api_format_of(a, strlen(a)), SL_API_JSON);

    uint32_t id = 0;
    assert_true(sl_api_parse_call_id("0000002a", 8, &id));
    assert_int_equal(id, 42);
    assert_false(sl_api_parse_call_id("2a/x", 4, &id));
    assert_false(sl_api_parse_call_id("", 0, &id));
    assert_false(sl_api_parse_call_id("2a", 2, &id));          /* one spelling per id */
    assert_false(sl_api_parse_call_id("100000001", 9, &id));
    assert_false(sl_api_parse_call_id("-fffffff", 8, &id));
    assert_false(sl_api_parse_call_id(" 000002a", 8, &id));
    assert_false(sl_api_parse_call_id("0000002A", 8, &id));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_round_trips_through_msgpack),
        cmocka_unit_test(test_an_object_becomes_a_map_the_reader_can_read),
        cmocka_unit_test(test_nesting_is_bounded),
        cmocka_unit_test(test_values_json_cannot_hold),
        cmocka_unit_test(test_raw_bytes_are_text_or_hex),
        cmocka_unit_test(test_call_request_parsing),
    };
    return cmocka_run_group_tests_name("typed_json", tests, NULL, NULL);
}
