/*
 * test_msg.c: unit tests of src/proto/msg.c, the request, response head,
 * function table and pair codecs.
 *
 * Every decode runs on an exact-size heap copy of the payload, which is freed
 * before the result is inspected: under AddressSanitizer this catches both
 * reads past the payload and a result that borrows from it instead of
 * owning its strings. LeakSanitizer checks that a decoded result is one
 * block released by a single free(), and that failures allocate nothing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/buf.h"
#include "proto/frame.h"
#include "proto/msg.h"

/* ---- helpers ---- */

/* What a failed decode must leave in *out: this, untouched. */
static char untouched;
#define UNTOUCHED ((void *)&untouched)

/* The three block decoders behind one signature, so that the truncation
 * and garbage checks are written once. On failure they also check that
 * *out was left alone. */
typedef int (*decode_fn)(const void *p, size_t len, void **out);

static int decode_request(const void *p, size_t len, void **out)
{
    sl_request *q = UNTOUCHED;
    int r = sl_request_decode(p, len, &q);
    if (r)
        assert_ptr_equal(q, UNTOUCHED);
    else
        *out = q;
    return r;
}

static int decode_head(const void *p, size_t len, void **out)
{
    sl_head *h = UNTOUCHED;
    int r = sl_head_decode(p, len, &h);
    if (r)
        assert_ptr_equal(h, UNTOUCHED);
    else
        *out = h;
    return r;
}

static int decode_functable(const void *p, size_t len, void **out)
{
    sl_functable *t = UNTOUCHED;
    int r = sl_functable_decode(p, len, &t);
    if (r)
        assert_ptr_equal(t, UNTOUCHED);
    else
        *out = t;
    return r;
}

/* Decodes a heap copy of p[0..n) that is freed before returning. */
static int decode_copy(decode_fn fn, const void *p, size_t n, void **out)
{
    uint8_t *d = malloc(n ? n : 1);
    assert_non_null(d);
    if (n)
        memcpy(d, p, n);
    int r = fn(d, n, out);
    free(d);
    return r;
}

/* Decodes b's contents; the decode must succeed. */
static void *decode_ok(decode_fn fn, const sl_buf *b)
{
    void *out = NULL;
    assert_int_equal(decode_copy(fn, b->data, b->len, &out), 0);
    assert_non_null(out);
    return out;
}

/* Decodes b's contents; the decode must fail as malformed. */
static void expect_bad(decode_fn fn, const sl_buf *b)
{
    void *out = NULL;
    assert_int_equal(decode_copy(fn, b->data, b->len, &out), -EBADMSG);
}

static void expect_every_prefix_bad(decode_fn fn, const sl_buf *b)
{
    for (size_t n = 0; n < b->len; n++) {
        void *out = NULL;
        int r = decode_copy(fn, b->data, n, &out);
        if (r != -EBADMSG)
            fail_msg("a %zu-byte prefix of a %zu-byte payload gave %d", n, b->len, r);
    }
}

static void expect_trailing_byte_bad(decode_fn fn, const sl_buf *b)
{
    sl_buf longer = {0};
    assert_int_equal(sl_buf_append(&longer, b->data, b->len), 0);
    assert_int_equal(sl_buf_append(&longer, "", 1), 0);
    expect_bad(fn, &longer);
    assert_int_equal(sl_buf_append(&longer, "garbage", 7), 0);
    expect_bad(fn, &longer);
    sl_buf_free(&longer);
}

/* Doubles compared bit for bit. */
static void assert_same_double(double a, double b)
{
    assert_memory_equal(&a, &b, sizeof a);
}

/* ---- sample messages ---- */

static const char BODY[] = {'\0', 'a', 'b', '\0', '\0', 'c', '\xff', '\n', '\0'};

static const sl_header_pair REQUEST_HEADERS[] = {
    {"host", "example.com"},
    {"content-type", "application/octet-stream"},
    {"x-empty", ""},
};

static void encode_sample_request(sl_buf *b)
{
    sl_request req = {
        .method = "POST",
        .path = "/fn/echo",
        .query = "a=1&b=2",
        .nheaders = 3,
        .headers = (sl_header_pair *)REQUEST_HEADERS,
        .body = BODY,
        .body_len = sizeof BODY,
    };
    assert_int_equal(sl_request_encode(b, &req), 0);
}

static const sl_header_pair HEAD_HEADERS[] = {
    {"cache-control", "no-store"},
    {"x-request-id", "abc123"},
};

static void encode_head(sl_buf *b, uint32_t status)
{
    sl_head head = {
        .status = status,
        .content_type = "application/json",
        .nheaders = 2,
        .headers = (sl_header_pair *)HEAD_HEADERS,
    };
    assert_int_equal(sl_head_encode(b, &head), 0);
}

static const sl_fninfo FNS[] = {
    {.name = "echo", .is_web = 1, .content_type = "text/plain; charset=utf-8", .method = "POST", .max_inputs = 100,
     .min_containers = 0, .max_containers = 100, .scaledown_window = 60.0},
    {.name = "batch", .max_inputs = -1, .min_containers = 2, .max_containers = 7, .buffer_containers = 3,
     .scaledown_window = 0.25, .gpu = "A100:2", .timeout = 12.5, .retries = 4, .cpu = 1.5, .memory = 2048},
    {.name = "stream", .is_web = 1, .content_type = "text/event-stream", .method = "GET", .max_inputs = 1,
     .min_containers = 1, .max_containers = 2147483647, .scaledown_window = 1234.5678e-3, .gpu = "any"},
};

static void encode_sample_functable(sl_buf *b)
{
    sl_functable t = {3, (sl_fninfo *)FNS};
    assert_int_equal(sl_functable_encode(b, &t), 0);
}

/* A request payload written field by field, with `nheaders` headers. */
static void write_request_with_headers(sl_buf *b, uint32_t nheaders)
{
    assert_int_equal(sl_write_cstr(b, "GET"), 0);
    assert_int_equal(sl_write_cstr(b, "/"), 0);
    assert_int_equal(sl_write_cstr(b, ""), 0);
    assert_int_equal(sl_write_u32(b, nheaders), 0);
    for (uint32_t i = 0; i < nheaders; i++) {
        assert_int_equal(sl_write_cstr(b, "x-h"), 0);
        assert_int_equal(sl_write_cstr(b, "v"), 0);
    }
    assert_int_equal(sl_write_str(b, "", 0), 0);
}

/* A head payload written field by field, with `nheaders` headers. */
static void write_head_with_headers(sl_buf *b, uint32_t nheaders)
{
    assert_int_equal(sl_write_u32(b, 200), 0);
    assert_int_equal(sl_write_cstr(b, "text/plain"), 0);
    assert_int_equal(sl_write_u32(b, nheaders), 0);
    for (uint32_t i = 0; i < nheaders; i++) {
        assert_int_equal(sl_write_cstr(b, "x-h"), 0);
        assert_int_equal(sl_write_cstr(b, "v"), 0);
    }
}

/* ---- request ---- */

static void test_request_round_trips_with_headers_and_binary_body(void **state)
{
    (void)state;
    sl_buf b = {0};
    encode_sample_request(&b);
    sl_request *q = decode_ok(decode_request, &b);

    assert_string_equal(q->method, "POST");
    assert_string_equal(q->path, "/fn/echo");
    assert_string_equal(q->query, "a=1&b=2");
    assert_int_equal(q->nheaders, 3);
    for (uint32_t i = 0; i < 3; i++) {
        assert_string_equal(q->headers[i].name, REQUEST_HEADERS[i].name);
        assert_string_equal(q->headers[i].value, REQUEST_HEADERS[i].value);
    }
    assert_int_equal(q->body_len, sizeof BODY);
    assert_memory_equal(q->body, BODY, sizeof BODY);
    assert_int_equal(q->body[q->body_len], '\0');
    free(q);
    sl_buf_free(&b);
}

static void test_request_with_null_fields_decodes_as_empty_strings(void **state)
{
    (void)state;
    sl_request req = {0};
    sl_buf b = {0};
    assert_int_equal(sl_request_encode(&b, &req), 0);
    sl_request *q = decode_ok(decode_request, &b);

    assert_string_equal(q->method, "");
    assert_string_equal(q->path, "");
    assert_string_equal(q->query, "");
    assert_int_equal(q->nheaders, 0);
    assert_non_null(q->body);
    assert_int_equal(q->body_len, 0);
    assert_int_equal(q->body[0], '\0');
    free(q);
    sl_buf_free(&b);
}

static void test_request_decode_fails_on_every_truncated_prefix(void **state)
{
    (void)state;
    sl_buf b = {0};
    encode_sample_request(&b);
    expect_every_prefix_bad(decode_request, &b);
    sl_buf_free(&b);
}

static void test_request_decode_fails_on_trailing_garbage(void **state)
{
    (void)state;
    sl_buf b = {0};
    encode_sample_request(&b);
    expect_trailing_byte_bad(decode_request, &b);
    sl_buf_free(&b);
}

static void test_request_decode_accepts_max_headers(void **state)
{
    (void)state;
    sl_buf b = {0};
    write_request_with_headers(&b, SL_MSG_MAX_HEADERS);
    sl_request *q = decode_ok(decode_request, &b);
    assert_int_equal(q->nheaders, SL_MSG_MAX_HEADERS);
    assert_string_equal(q->headers[SL_MSG_MAX_HEADERS - 1].name, "x-h");
    assert_string_equal(q->headers[SL_MSG_MAX_HEADERS - 1].value, "v");
    free(q);
    sl_buf_free(&b);
}

static void test_request_decode_rejects_too_many_headers(void **state)
{
    (void)state;
    sl_buf b = {0};
    write_request_with_headers(&b, SL_MSG_MAX_HEADERS + 1);
    expect_bad(decode_request, &b);
    sl_buf_free(&b);
}

static void test_request_decode_rejects_header_count_of_2_to_the_32_minus_1(void **state)
{
    (void)state;
    sl_buf b = {0};
    assert_int_equal(sl_write_cstr(&b, "GET"), 0);
    assert_int_equal(sl_write_cstr(&b, "/"), 0);
    assert_int_equal(sl_write_cstr(&b, ""), 0);
    assert_int_equal(sl_write_u32(&b, 0xffffffffu), 0);
    assert_int_equal(sl_write_str(&b, "", 0), 0);
    expect_bad(decode_request, &b);
    sl_buf_free(&b);
}

static void test_request_decode_rejects_huge_string_length(void **state)
{
    (void)state;
    /* The method claims 0xFFFFFFFF bytes. */
    sl_buf b = {0};
    assert_int_equal(sl_write_u32(&b, 0xffffffffu), 0);
    assert_int_equal(sl_buf_append(&b, "GET/abcdefghijklmnopqrstuvwxyz", 30), 0);
    expect_bad(decode_request, &b);
    sl_buf_free(&b);

    /* So does the body, after valid fields. */
    assert_int_equal(sl_write_cstr(&b, "GET"), 0);
    assert_int_equal(sl_write_cstr(&b, "/"), 0);
    assert_int_equal(sl_write_cstr(&b, ""), 0);
    assert_int_equal(sl_write_u32(&b, 0), 0);
    assert_int_equal(sl_write_u32(&b, 0xffffffffu), 0);
    assert_int_equal(sl_buf_append(&b, "body", 4), 0);
    expect_bad(decode_request, &b);
    sl_buf_free(&b);
}

/* The piecewise encoder, fed slices that are not NUL-terminated (as an HTTP
 * parser hands them out), writes what sl_request_encode writes. */
static void test_request_piecewise_encode_matches_whole_encode(void **state)
{
    (void)state;
    static const char raw[] = "POST /fn/echo?a=1&b=2 host: example.com";
    sl_strv method = {raw, 4}, path = {raw + 5, 8}, query = {raw + 14, 7};
    sl_strv name = {raw + 22, 4}, value = {raw + 28, 11};
    sl_strv body = {BODY, sizeof BODY};

    sl_buf pieces = {0};
    assert_int_equal(sl_request_begin(&pieces, method, path, query, 1), 0);
    assert_int_equal(sl_request_add_header(&pieces, name, value), 0);
    assert_int_equal(sl_request_end(&pieces, body), 0);

    sl_header_pair h = {"host", "example.com"};
    sl_request req = {"POST", "/fn/echo", "a=1&b=2", 1, &h, BODY, sizeof BODY};
    sl_buf whole = {0};
    assert_int_equal(sl_request_encode(&whole, &req), 0);

    assert_int_equal(pieces.len, whole.len);
    assert_memory_equal(pieces.data, whole.data, whole.len);

    sl_request *q = decode_ok(decode_request, &pieces);
    assert_string_equal(q->method, "POST");
    assert_string_equal(q->path, "/fn/echo");
    assert_string_equal(q->query, "a=1&b=2");
    assert_int_equal(q->nheaders, 1);
    assert_string_equal(q->headers[0].name, "host");
    assert_string_equal(q->headers[0].value, "example.com");
    assert_int_equal(q->body_len, sizeof BODY);
    assert_memory_equal(q->body, BODY, sizeof BODY);
    free(q);
    sl_buf_free(&pieces);
    sl_buf_free(&whole);
}

static void test_request_piecewise_encode_of_empty_slices_decodes(void **state)
{
    (void)state;
    sl_strv none = {NULL, 0};
    sl_buf b = {0};
    assert_int_equal(sl_request_begin(&b, none, none, none, 0), 0);
    assert_int_equal(sl_request_end(&b, none), 0);
    sl_request *q = decode_ok(decode_request, &b);
    assert_string_equal(q->method, "");
    assert_string_equal(q->path, "");
    assert_string_equal(q->query, "");
    assert_int_equal(q->nheaders, 0);
    assert_int_equal(q->body_len, 0);
    assert_string_equal(q->body, "");
    free(q);
    sl_buf_free(&b);
}

/* ---- head ---- */

static void test_head_round_trips(void **state)
{
    (void)state;
    sl_buf b = {0};
    encode_head(&b, 201);
    sl_head *h = decode_ok(decode_head, &b);

    assert_int_equal(h->status, 201);
    assert_string_equal(h->content_type, "application/json");
    assert_int_equal(h->nheaders, 2);
    for (uint32_t i = 0; i < 2; i++) {
        assert_string_equal(h->headers[i].name, HEAD_HEADERS[i].name);
        assert_string_equal(h->headers[i].value, HEAD_HEADERS[i].value);
    }
    free(h);
    sl_buf_free(&b);
}

static void test_head_with_unset_content_type_decodes_as_empty(void **state)
{
    (void)state;
    sl_head head = {.status = 204};
    sl_buf b = {0};
    assert_int_equal(sl_head_encode(&b, &head), 0);
    sl_head *h = decode_ok(decode_head, &b);
    assert_int_equal(h->status, 204);
    assert_string_equal(h->content_type, "");
    assert_int_equal(h->nheaders, 0);
    free(h);
    sl_buf_free(&b);
}

static void test_head_decode_accepts_status_100_and_999(void **state)
{
    (void)state;
    static const uint32_t ok[] = {100, 999};
    for (size_t i = 0; i < 2; i++) {
        sl_buf b = {0};
        encode_head(&b, ok[i]);
        sl_head *h = decode_ok(decode_head, &b);
        assert_int_equal(h->status, ok[i]);
        free(h);
        sl_buf_free(&b);
    }
}

static void test_head_decode_rejects_status_outside_100_to_999(void **state)
{
    (void)state;
    static const uint32_t bad[] = {0, 1, 99, 1000, 65536 + 200, 0xffffffffu};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sl_buf b = {0};
        encode_head(&b, bad[i]);
        expect_bad(decode_head, &b);
        sl_buf_free(&b);
    }
}

static void test_head_decode_fails_on_every_truncated_prefix(void **state)
{
    (void)state;
    sl_buf b = {0};
    encode_head(&b, 200);
    expect_every_prefix_bad(decode_head, &b);
    sl_buf_free(&b);
}

static void test_head_decode_fails_on_trailing_garbage(void **state)
{
    (void)state;
    sl_buf b = {0};
    encode_head(&b, 200);
    expect_trailing_byte_bad(decode_head, &b);
    sl_buf_free(&b);
}

static void test_head_decode_accepts_max_headers(void **state)
{
    (void)state;
    sl_buf b = {0};
    write_head_with_headers(&b, SL_MSG_MAX_HEADERS);
    sl_head *h = decode_ok(decode_head, &b);
    assert_int_equal(h->nheaders, SL_MSG_MAX_HEADERS);
    assert_string_equal(h->headers[SL_MSG_MAX_HEADERS - 1].value, "v");
    free(h);
    sl_buf_free(&b);
}

static void test_head_decode_rejects_too_many_headers(void **state)
{
    (void)state;
    sl_buf b = {0};
    write_head_with_headers(&b, SL_MSG_MAX_HEADERS + 1);
    expect_bad(decode_head, &b);
    sl_buf_free(&b);
}

static void test_head_decode_rejects_huge_string_length(void **state)
{
    (void)state;
    sl_buf b = {0};
    assert_int_equal(sl_write_u32(&b, 200), 0);
    assert_int_equal(sl_write_u32(&b, 0xffffffffu), 0); /* content type */
    assert_int_equal(sl_buf_append(&b, "text/plain\0\0\0\0", 14), 0);
    expect_bad(decode_head, &b);
    sl_buf_free(&b);
}

/* ---- function table ---- */

static void test_functable_round_trips_three_functions(void **state)
{
    (void)state;
    sl_buf b = {0};
    encode_sample_functable(&b);
    sl_functable *t = decode_ok(decode_functable, &b);

    assert_int_equal(t->count, 3);
    for (uint32_t i = 0; i < 3; i++) {
        const sl_fninfo *got = &t->fns[i], *want = &FNS[i];
        assert_string_equal(got->name, want->name);
        assert_int_equal(got->is_web, want->is_web);
        assert_string_equal(got->content_type, want->content_type ? want->content_type : "");
        assert_string_equal(got->method, want->method ? want->method : "");
        assert_int_equal(got->max_inputs, want->max_inputs);
        assert_int_equal(got->min_containers, want->min_containers);
        assert_int_equal(got->max_containers, want->max_containers);
        assert_same_double(got->scaledown_window, want->scaledown_window);
        assert_int_equal(got->buffer_containers, want->buffer_containers);
        assert_string_equal(got->gpu, want->gpu ? want->gpu : "");
        assert_same_double(got->timeout, want->timeout);
        assert_int_equal(got->retries, want->retries);
        assert_same_double(got->cpu, want->cpu);
        assert_int_equal(got->memory, want->memory);
    }
    free(t);
    sl_buf_free(&b);
}

static void test_functable_empty_round_trips(void **state)
{
    (void)state;
    sl_functable empty = {0, NULL};
    sl_buf b = {0};
    assert_int_equal(sl_functable_encode(&b, &empty), 0);
    sl_functable *t = decode_ok(decode_functable, &b);
    assert_int_equal(t->count, 0);
    free(t);
    sl_buf_free(&b);
}

static void test_functable_decode_fails_on_every_truncated_prefix(void **state)
{
    (void)state;
    sl_buf b = {0};
    encode_sample_functable(&b);
    expect_every_prefix_bad(decode_functable, &b);
    sl_buf_free(&b);
}

static void test_functable_decode_fails_on_trailing_garbage(void **state)
{
    (void)state;
    sl_buf b = {0};
    encode_sample_functable(&b);
    expect_trailing_byte_bad(decode_functable, &b);
    sl_buf_free(&b);
}

/* A function table payload written field by field, with `count` entries. */
static void write_functable_with_functions(sl_buf *b, uint32_t count)
{
    sl_fninfo *fns = calloc(count ? count : 1, sizeof *fns);
    assert_non_null(fns);
    for (uint32_t i = 0; i < count; i++)
        fns[i] = (sl_fninfo){.name = "f", .max_inputs = 1, .max_containers = 1, .scaledown_window = 1.0};
    sl_functable t = {count, fns};
    assert_int_equal(sl_functable_encode(b, &t), 0);
    free(fns);
}

static void test_functable_decode_accepts_max_functions(void **state)
{
    (void)state;
    sl_buf b = {0};
    write_functable_with_functions(&b, SL_MSG_MAX_FUNCTIONS);
    sl_functable *t = decode_ok(decode_functable, &b);
    assert_int_equal(t->count, SL_MSG_MAX_FUNCTIONS);
    assert_string_equal(t->fns[SL_MSG_MAX_FUNCTIONS - 1].name, "f");
    free(t);
    sl_buf_free(&b);
}

static void test_functable_decode_rejects_too_many_functions(void **state)
{
    (void)state;
    sl_buf b = {0};
    write_functable_with_functions(&b, SL_MSG_MAX_FUNCTIONS + 1);
    expect_bad(decode_functable, &b);
    sl_buf_free(&b);
}

static void test_functable_decode_rejects_count_of_2_to_the_32_minus_1(void **state)
{
    (void)state;
    sl_buf b = {0};
    write_functable_with_functions(&b, 0);
    b.data[0] = b.data[1] = b.data[2] = b.data[3] = 0xff;
    expect_bad(decode_functable, &b);
    sl_buf_free(&b);
}

static void test_functable_decode_rejects_huge_string_length(void **state)
{
    (void)state;
    sl_buf b = {0};
    assert_int_equal(sl_write_u32(&b, 1), 0);
    assert_int_equal(sl_write_u32(&b, 0xffffffffu), 0); /* the name */
    assert_int_equal(sl_buf_append(&b, "echo and more bytes after it", 28), 0);
    expect_bad(decode_functable, &b);
    sl_buf_free(&b);
}

/* ---- pair ---- */

static void test_pair_round_trips(void **state)
{
    (void)state;
    static const uint32_t vals[][2] = {{0, 0}, {12, 34}, {0xffffffffu, 1}, {0x80000000u, 0x7fffffffu}};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        sl_buf b = {0};
        assert_int_equal(sl_pair_encode(&b, vals[i][0], vals[i][1]), 0);
        assert_int_equal(b.len, 8);
        uint32_t a = 1, c = 1;
        assert_int_equal(sl_pair_decode(b.data, b.len, &a, &c), 0);
        assert_int_equal(a, vals[i][0]);
        assert_int_equal(c, vals[i][1]);
        sl_buf_free(&b);
    }
}

static void test_pair_carries_negative_i32_as_second_field(void **state)
{
    (void)state;
    /* SPAWN_FAILED and EXITED put an i32 in the second field. */
    sl_buf b = {0};
    assert_int_equal(sl_pair_encode(&b, 5, (uint32_t)-ENOENT), 0);
    uint32_t a, c;
    assert_int_equal(sl_pair_decode(b.data, b.len, &a, &c), 0);
    assert_int_equal(a, 5);
    assert_int_equal((int32_t)c, -ENOENT);
    sl_buf_free(&b);
}

static void test_pair_decode_rejects_wrong_length(void **state)
{
    (void)state;
    uint8_t bytes[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    for (size_t n = 0; n <= sizeof bytes; n++) {
        if (n == 8)
            continue;
        uint8_t *d = malloc(n ? n : 1);
        assert_non_null(d);
        memcpy(d, bytes, n);
        uint32_t a, c;
        assert_int_equal(sl_pair_decode(d, n, &a, &c), -EBADMSG);
        free(d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_round_trips_with_headers_and_binary_body),
        cmocka_unit_test(test_request_with_null_fields_decodes_as_empty_strings),
        cmocka_unit_test(test_request_decode_fails_on_every_truncated_prefix),
        cmocka_unit_test(test_request_decode_fails_on_trailing_garbage),
        cmocka_unit_test(test_request_decode_accepts_max_headers),
        cmocka_unit_test(test_request_decode_rejects_too_many_headers),
        cmocka_unit_test(test_request_decode_rejects_header_count_of_2_to_the_32_minus_1),
        cmocka_unit_test(test_request_decode_rejects_huge_string_length),
        cmocka_unit_test(test_request_piecewise_encode_matches_whole_encode),
        cmocka_unit_test(test_request_piecewise_encode_of_empty_slices_decodes),

        cmocka_unit_test(test_head_round_trips),
        cmocka_unit_test(test_head_with_unset_content_type_decodes_as_empty),
        cmocka_unit_test(test_head_decode_accepts_status_100_and_999),
        cmocka_unit_test(test_head_decode_rejects_status_outside_100_to_999),
        cmocka_unit_test(test_head_decode_fails_on_every_truncated_prefix),
        cmocka_unit_test(test_head_decode_fails_on_trailing_garbage),
        cmocka_unit_test(test_head_decode_accepts_max_headers),
        cmocka_unit_test(test_head_decode_rejects_too_many_headers),
        cmocka_unit_test(test_head_decode_rejects_huge_string_length),

        cmocka_unit_test(test_functable_round_trips_three_functions),
        cmocka_unit_test(test_functable_empty_round_trips),
        cmocka_unit_test(test_functable_decode_fails_on_every_truncated_prefix),
        cmocka_unit_test(test_functable_decode_fails_on_trailing_garbage),
        cmocka_unit_test(test_functable_decode_accepts_max_functions),
        cmocka_unit_test(test_functable_decode_rejects_too_many_functions),
        cmocka_unit_test(test_functable_decode_rejects_count_of_2_to_the_32_minus_1),
        cmocka_unit_test(test_functable_decode_rejects_huge_string_length),

        cmocka_unit_test(test_pair_round_trips),
        cmocka_unit_test(test_pair_carries_negative_i32_as_second_field),
        cmocka_unit_test(test_pair_decode_rejects_wrong_length),
    };
    return cmocka_run_group_tests_name("msg", tests, NULL, NULL);
}
