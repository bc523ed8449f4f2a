/*
 * test_frame.c: unit tests of src/proto/buf.c (the growable buffer) and
 * src/proto/frame.c (frame header codec and the payload reader/writer).
 *
 * Inputs handed to a parser are copied into exact-size heap blocks first, so
 * that under AddressSanitizer a read one byte too far is caught.
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

/* ---- helpers ---- */

/* An exact-size heap copy of p[0..n); free() it. */
static uint8_t *dup_bytes(const void *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    assert_non_null(d);
    if (n)
        memcpy(d, p, n);
    return d;
}

/* Writes a raw 12-byte header, valid or not. */
static void put_header(uint8_t h[SL_FRAME_HEADER_SIZE], uint32_t len, uint8_t type, uint8_t flags,
                       uint8_t reserved0, uint8_t reserved1, uint32_t call_id)
{
    h[0] = (uint8_t)len;
    h[1] = (uint8_t)(len >> 8);
    h[2] = (uint8_t)(len >> 16);
    h[3] = (uint8_t)(len >> 24);
    h[4] = type;
    h[5] = flags;
    h[6] = reserved0;
    h[7] = reserved1;
    h[8] = (uint8_t)call_id;
    h[9] = (uint8_t)(call_id >> 8);
    h[10] = (uint8_t)(call_id >> 16);
    h[11] = (uint8_t)(call_id >> 24);
}

/* Parses the header-only input h, copied to the heap. */
static long parse_header_only(const uint8_t h[SL_FRAME_HEADER_SIZE])
{
    uint8_t *d = dup_bytes(h, SL_FRAME_HEADER_SIZE);
    sl_frame f;
    long n = sl_frame_parse(d, SL_FRAME_HEADER_SIZE, &f);
    free(d);
    return n;
}

/* The i-th frame of the "many frames" tests: varied type, id and size. */
static uint8_t nth_type(unsigned i) { return (uint8_t)(1 + i % 23); }
static uint32_t nth_call_id(unsigned i) { return i * 2654435761u; }
static size_t nth_len(unsigned i) { return (i * 37u) % 301u; }
static uint8_t nth_byte(unsigned i, size_t k) { return (uint8_t)(i * 31u + k); }

static void append_nth_frame(sl_buf *b, unsigned i)
{
    uint8_t payload[301];
    for (size_t k = 0; k < nth_len(i); k++)
        payload[k] = nth_byte(i, k);
    assert_int_equal(sl_frame_append(b, nth_type(i), nth_call_id(i), payload, nth_len(i)), 0);
}

static void assert_nth_frame(const sl_frame *f, unsigned i)
{
    assert_int_equal(f->type, nth_type(i));
    assert_int_equal(f->flags, 0);
    assert_int_equal(f->call_id, nth_call_id(i));
    assert_int_equal(f->len, nth_len(i));
    for (size_t k = 0; k < f->len; k++)
        assert_int_equal(f->payload[k], nth_byte(i, k));
}

/* Doubles compared bit for bit. */
static void assert_same_double(double a, double b)
{
    assert_memory_equal(&a, &b, sizeof a);
}

/* ---- sl_buf ---- */

static void test_buf_append_grows_and_keeps_bytes(void **state)
{
    (void)state;
    sl_buf b = {0};
    uint8_t expect[5000];
    for (size_t i = 0; i < sizeof expect; i++)
        expect[i] = (uint8_t)(i * 7);
    for (size_t off = 0; off < sizeof expect; off += 500)
        assert_int_equal(sl_buf_append(&b, expect + off, 500), 0);
    assert_int_equal(b.len, sizeof expect);
    assert_true(b.cap >= b.len);
    assert_memory_equal(b.data, expect, sizeof expect);
    sl_buf_free(&b);
}

static void test_buf_append_nothing_to_empty_buffer(void **state)
{
    (void)state;
    sl_buf b = {0};
    assert_int_equal(sl_buf_append(&b, NULL, 0), 0);
    assert_int_equal(b.len, 0);
    sl_buf_free(&b);
}

static void test_buf_reserve_makes_room_and_keeps_contents(void **state)
{
    (void)state;
    sl_buf b = {0};
    assert_int_equal(sl_buf_append(&b, "abc", 3), 0);
    assert_int_equal(sl_buf_reserve(&b, 100000), 0);
    assert_true(b.cap - b.len >= 100000);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "abc", 3);
    sl_buf_free(&b);
}

static void test_buf_reserve_of_impossible_size_fails_with_enomem(void **state)
{
    (void)state;
    sl_buf b = {0};
    assert_int_equal(sl_buf_append(&b, "abc", 3), 0);
    assert_int_equal(sl_buf_reserve(&b, SIZE_MAX), -ENOMEM);
    assert_int_equal(sl_buf_reserve(&b, SIZE_MAX - 3), -ENOMEM);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "abc", 3);
    sl_buf_free(&b);
}

static void test_buf_consume_drops_front_and_keeps_tail(void **state)
{
    (void)state;
    sl_buf b = {0};
    assert_int_equal(sl_buf_append(&b, "0123456789", 10), 0);
    sl_buf_consume(&b, 4);
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.data, "456789", 6);
    sl_buf_consume(&b, 0);
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.data, "456789", 6);
    sl_buf_free(&b);
}

static void test_buf_consume_of_everything_or_more_empties(void **state)
{
    (void)state;
    sl_buf b = {0};
    assert_int_equal(sl_buf_append(&b, "0123456789", 10), 0);
    sl_buf_consume(&b, 10);
    assert_int_equal(b.len, 0);
    assert_int_equal(sl_buf_append(&b, "xy", 2), 0);
    sl_buf_consume(&b, 1000);
    assert_int_equal(b.len, 0);
    sl_buf_consume(&b, 1); /* consuming from an empty buffer is harmless */
    assert_int_equal(b.len, 0);
    sl_buf_free(&b);
}

static void test_buf_swap_exchanges_contents(void **state)
{
    (void)state;
    sl_buf a = {0}, b = {0};
    assert_int_equal(sl_buf_append(&a, "first", 5), 0);
    uint8_t *a_data = a.data;
    sl_buf_swap(&a, &b);
    assert_null(a.data);
    assert_int_equal(a.len, 0);
    assert_int_equal(a.cap, 0);
    assert_ptr_equal(b.data, a_data);
    assert_int_equal(b.len, 5);
    assert_memory_equal(b.data, "first", 5);
    sl_buf_free(&a);
    sl_buf_free(&b);
}

static void test_buf_free_leaves_empty_reusable_buffer(void **state)
{
    (void)state;
    sl_buf b = {0};
    assert_int_equal(sl_buf_append(&b, "abc", 3), 0);
    sl_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(sl_buf_append(&b, "de", 2), 0);
    assert_memory_equal(b.data, "de", 2);
    sl_buf_free(&b);
    sl_buf_free(&b); /* twice is fine */
}

/* ---- frame header ---- */

static void test_frame_append_writes_little_endian_header(void **state)
{
    (void)state;
    sl_buf b = {0};
    assert_int_equal(sl_frame_append(&b, SL_FRAME_OUTPUT, 0x11223344u, "hey", 3), 0);
    static const uint8_t expect[] = {
        3, 0, 0, 0,             /* len */
        SL_FRAME_OUTPUT, 0,     /* type, flags */
        0, 0,                   /* reserved */
        0x44, 0x33, 0x22, 0x11, /* call id */
        'h', 'e', 'y',
    };
    assert_int_equal(b.len, sizeof expect);
    assert_memory_equal(b.data, expect, sizeof expect);
    sl_buf_free(&b);
}

static void test_frame_append_then_parse_round_trips(void **state)
{
    (void)state;
    sl_buf b = {0};
    const uint8_t payload[] = {0, 1, 2, 0xff, 0, 'x'};
    assert_int_equal(sl_frame_append(&b, SL_FRAME_RETURN, 0xdeadbeefu, payload, sizeof payload), 0);

    uint8_t *d = dup_bytes(b.data, b.len);
    sl_frame f;
    assert_int_equal(sl_frame_parse(d, b.len, &f), (long)(SL_FRAME_HEADER_SIZE + sizeof payload));
    assert_int_equal(f.type, SL_FRAME_RETURN);
    assert_int_equal(f.flags, 0);
    assert_int_equal(f.call_id, 0xdeadbeefu);
    assert_int_equal(f.len, sizeof payload);
    assert_ptr_equal(f.payload, d + SL_FRAME_HEADER_SIZE);
    assert_memory_equal(f.payload, payload, sizeof payload);
    free(d);
    sl_buf_free(&b);
}

static void test_frame_with_empty_payload_round_trips(void **state)
{
    (void)state;
    sl_buf b = {0};
    assert_int_equal(sl_frame_append(&b, SL_FRAME_READY, 7, NULL, 0), 0);
    assert_int_equal(b.len, SL_FRAME_HEADER_SIZE);

    uint8_t *d = dup_bytes(b.data, b.len);
    sl_frame f;
    assert_int_equal(sl_frame_parse(d, b.len, &f), (long)SL_FRAME_HEADER_SIZE);
    assert_int_equal(f.type, SL_FRAME_READY);
    assert_int_equal(f.call_id, 7);
    assert_int_equal(f.len, 0);
    free(d);
    sl_buf_free(&b);
}

static void test_frame_append_header_lets_caller_write_payload(void **state)
{
    (void)state;
    sl_buf b = {0};
    assert_int_equal(sl_frame_append_header(&b, SL_FRAME_CREDIT, 42, 4), 0);
    assert_int_equal(b.len, SL_FRAME_HEADER_SIZE);
    assert_int_equal(sl_write_u32(&b, 65536), 0);

    sl_frame f;
    assert_int_equal(sl_frame_parse(b.data, b.len, &f), (long)(SL_FRAME_HEADER_SIZE + 4));
    assert_int_equal(f.type, SL_FRAME_CREDIT);
    assert_int_equal(f.call_id, 42);
    sl_reader r = sl_reader_init(f.payload, f.len);
    assert_int_equal(sl_read_u32(&r), 65536);
    assert_int_equal(sl_reader_finish(&r), 0);
    sl_buf_free(&b);
}

static void test_frame_append_rejects_payload_over_max(void **state)
{
    (void)state;
    sl_buf b = {0};
    assert_int_equal(sl_frame_append(&b, SL_FRAME_READY, 1, NULL, 0), 0);
    size_t before = b.len;
    /* The length is checked before the payload is touched. */
    assert_int_equal(sl_frame_append(&b, SL_FRAME_OUTPUT, 1, "x", (size_t)SL_FRAME_MAX_PAYLOAD + 1),
                     -EMSGSIZE);
    assert_int_equal(sl_frame_append_header(&b, SL_FRAME_OUTPUT, 1, (size_t)SL_FRAME_MAX_PAYLOAD + 1),
                     -EMSGSIZE);
    assert_int_equal(b.len, before);
    sl_buf_free(&b);
}

static void test_frame_parse_of_every_prefix_needs_more_bytes(void **state)
{
    (void)state;
    sl_buf b = {0};
    assert_int_equal(sl_frame_append(&b, SL_FRAME_ERROR, 99, "something broke", 15), 0);
    for (size_t n = 0; n < b.len; n++) {
        uint8_t *d = dup_bytes(b.data, n);
        sl_frame f;
        assert_int_equal(sl_frame_parse(d, n, &f), 0);
        free(d);
    }
    sl_buf_free(&b);
}

static void test_frame_parse_ignores_bytes_after_the_frame(void **state)
{
    (void)state;
    sl_buf b = {0};
    assert_int_equal(sl_frame_append(&b, SL_FRAME_OUTPUT, 3, "abc", 3), 0);
    assert_int_equal(sl_buf_append(&b, "\x01\x02", 2), 0); /* start of the next frame */
    sl_frame f;
    assert_int_equal(sl_frame_parse(b.data, b.len, &f), (long)(SL_FRAME_HEADER_SIZE + 3));
    assert_int_equal(f.len, 3);
    assert_memory_equal(f.payload, "abc", 3);
    sl_buf_free(&b);
}

static void test_frame_many_frames_in_one_buffer_parse_back_in_order(void **state)
{
    (void)state;
    enum { N = 500 };
    sl_buf b = {0};
    for (unsigned i = 0; i < N; i++)
        append_nth_frame(&b, i);

    uint8_t *d = dup_bytes(b.data, b.len);
    size_t off = 0;
    for (unsigned i = 0; i < N; i++) {
        sl_frame f;
        long n = sl_frame_parse(d + off, b.len - off, &f);
        assert_int_equal(n, (long)(SL_FRAME_HEADER_SIZE + nth_len(i)));
        assert_nth_frame(&f, i);
        off += (size_t)n;
    }
    assert_int_equal(off, b.len);
    sl_frame f;
    assert_int_equal(sl_frame_parse(d + off, 0, &f), 0);
    free(d);
    sl_buf_free(&b);
}

/* A reader receives the stream in arbitrary pieces, parses what is
 * complete and consumes it from the front of its buffer. */
static void test_frame_parse_reassembles_frames_split_across_reads(void **state)
{
    (void)state;
    enum { N = 100 };
    sl_buf wire = {0}, rx = {0};
    for (unsigned i = 0; i < N; i++)
        append_nth_frame(&wire, i);

    static const size_t chunks[] = {1, 5, 11, 12, 13, 64, 300, 2};
    unsigned next = 0;
    size_t sent = 0;
    for (unsigned c = 0; sent < wire.len; c++) {
        size_t n = chunks[c % (sizeof chunks / sizeof chunks[0])];
        if (n > wire.len - sent)
            n = wire.len - sent;
        assert_int_equal(sl_buf_append(&rx, wire.data + sent, n), 0);
        sent += n;
        for (;;) {
            sl_frame f;
            long got = sl_frame_parse(rx.data, rx.len, &f);
            assert_true(got >= 0);
            if (got == 0)
                break;
            assert_true(next < N);
            assert_nth_frame(&f, next++);
            sl_buf_consume(&rx, (size_t)got);
        }
    }
    assert_int_equal(next, N);
    assert_int_equal(rx.len, 0);
    sl_buf_free(&wire);
    sl_buf_free(&rx);
}

static void test_frame_parse_passes_flags_through(void **state)
{
    (void)state;
    uint8_t h[SL_FRAME_HEADER_SIZE];
    put_header(h, 0, SL_FRAME_CANCEL, 0xa5, 0, 0, 5);
    sl_frame f;
    assert_int_equal(sl_frame_parse(h, sizeof h, &f), (long)SL_FRAME_HEADER_SIZE);
    assert_int_equal(f.flags, 0xa5);
    assert_int_equal(f.type, SL_FRAME_CANCEL);
}

static void test_frame_append_flags_sets_the_flags_byte(void **state)
{
    (void)state;
    sl_buf b = {0};
    assert_int_equal(sl_frame_append_flags(&b, SL_FRAME_RETURN, SL_FRAME_F_TYPED, 9, "\xc0", 1), 0);
    assert_int_equal(b.data[5], SL_FRAME_F_TYPED);
    uint8_t *d = dup_bytes(b.data, b.len);
    sl_frame f;
    assert_int_equal(sl_frame_parse(d, b.len, &f), (long)(SL_FRAME_HEADER_SIZE + 1));
    assert_int_equal(f.type, SL_FRAME_RETURN);
    assert_int_equal(f.flags, SL_FRAME_F_TYPED);
    assert_int_equal(f.call_id, 9);
    assert_int_equal(f.payload[0], 0xc0);
    free(d);
    sl_buf_free(&b);
}

static void test_frame_parse_rejects_len_over_max(void **state)
{
    (void)state;
    uint8_t h[SL_FRAME_HEADER_SIZE];
    put_header(h, SL_FRAME_MAX_PAYLOAD + 1, SL_FRAME_OUTPUT, 0, 0, 0, 1);
    assert_int_equal(parse_header_only(h), -EBADMSG);
    put_header(h, 0xffffffffu, SL_FRAME_OUTPUT, 0, 0, 0, 1);
    assert_int_equal(parse_header_only(h), -EBADMSG);
}

static void test_frame_parse_of_len_at_max_waits_for_payload(void **state)
{
    (void)state;
    uint8_t h[SL_FRAME_HEADER_SIZE];
    put_header(h, SL_FRAME_MAX_PAYLOAD, SL_FRAME_OUTPUT, 0, 0, 0, 1);
    assert_int_equal(parse_header_only(h), 0);
}

static void test_frame_parse_rejects_type_zero(void **state)
{
    (void)state;
    uint8_t h[SL_FRAME_HEADER_SIZE];
    put_header(h, 0, 0, 0, 0, 0, 1);
    assert_int_equal(parse_header_only(h), -EBADMSG);
}

static void test_frame_parse_rejects_nonzero_reserved_bytes(void **state)
{
    (void)state;
    uint8_t h[SL_FRAME_HEADER_SIZE];
    put_header(h, 0, SL_FRAME_READY, 0, 1, 0, 1);
    assert_int_equal(parse_header_only(h), -EBADMSG);
    put_header(h, 0, SL_FRAME_READY, 0, 0, 0x80, 1);
    assert_int_equal(parse_header_only(h), -EBADMSG);
}

/* A bad header is reported as soon as its 12 bytes are in, not after a
 * payload that may never come. */
static void test_frame_parse_rejects_bad_header_before_payload_arrives(void **state)
{
    (void)state;
    uint8_t h[SL_FRAME_HEADER_SIZE];
    put_header(h, 1000, 0, 0, 0, 0, 1);
    assert_int_equal(parse_header_only(h), -EBADMSG);
}

/* ---- payload reader and writer ---- */

static void test_reader_round_trips_every_field_type(void **state)
{
    (void)state;
    sl_buf b = {0};
    assert_int_equal(sl_write_u32(&b, 0xfeedfaceu), 0);
    assert_int_equal(sl_write_i32(&b, -123456), 0);
    assert_int_equal(sl_write_u64(&b, 0x0123456789abcdefull), 0);
    assert_int_equal(sl_write_f64(&b, -2.5e-300), 0);
    assert_int_equal(sl_write_str(&b, "a\0b", 3), 0);
    assert_int_equal(sl_write_cstr(&b, "hello"), 0);
    assert_int_equal(sl_write_str(&b, "", 0), 0);

    uint8_t *d = dup_bytes(b.data, b.len);
    sl_reader r = sl_reader_init(d, b.len);
    assert_int_equal(sl_read_u32(&r), 0xfeedfaceu);
    assert_int_equal(sl_read_i32(&r), -123456);
    assert_true(sl_read_u64(&r) == 0x0123456789abcdefull);
    assert_same_double(sl_read_f64(&r), -2.5e-300);
    uint32_t len;
    const char *s = sl_read_str(&r, &len);
    assert_non_null(s);
    assert_int_equal(len, 3);
    assert_memory_equal(s, "a\0b", 3);
    s = sl_read_str(&r, &len);
    assert_non_null(s);
    assert_int_equal(len, 5);
    assert_memory_equal(s, "hello", 5);
    s = sl_read_str(&r, &len);
    assert_non_null(s); /* empty, but not an error */
    assert_int_equal(len, 0);
    assert_int_equal(r.err, 0);
    assert_int_equal(sl_reader_finish(&r), 0);
    free(d);
    sl_buf_free(&b);
}

static void test_reader_reads_little_endian(void **state)
{
    (void)state;
    const uint8_t bytes[] = {1, 2, 3, 4, 5, 6, 7, 8};
    sl_reader r = sl_reader_init(bytes, 4);
    assert_int_equal(sl_read_u32(&r), 0x04030201u);
    r = sl_reader_init(bytes, 8);
    assert_true(sl_read_u64(&r) == 0x0807060504030201ull);
    assert_int_equal(sl_reader_finish(&r), 0);
}

static void test_write_cstr_writes_null_as_empty_string(void **state)
{
    (void)state;
    sl_buf b = {0};
    assert_int_equal(sl_write_cstr(&b, NULL), 0);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "\0\0\0\0", 4);
    sl_buf_free(&b);
}

static void test_reader_short_u32_sets_err(void **state)
{
    (void)state;
    uint8_t *d = dup_bytes("\x01\x02\x03", 3);
    sl_reader r = sl_reader_init(d, 3);
    assert_int_equal(sl_read_u32(&r), 0);
    assert_int_equal(r.err, -EBADMSG);
    assert_int_equal(sl_reader_finish(&r), -EBADMSG);
    free(d);
}

static void test_reader_short_u64_and_f64_set_err(void **state)
{
    (void)state;
    uint8_t *d = dup_bytes("\x01\x02\x03\x04\x05\x06\x07", 7);
    sl_reader r = sl_reader_init(d, 7);
    (void)sl_read_u64(&r);
    assert_int_equal(r.err, -EBADMSG);
    r = sl_reader_init(d, 7);
    (void)sl_read_f64(&r);
    assert_int_equal(r.err, -EBADMSG);
    free(d);
}

static void test_reader_read_from_empty_input_sets_err(void **state)
{
    (void)state;
    sl_reader r = sl_reader_init(NULL, 0);
    assert_int_equal(sl_reader_finish(&r), 0);
    assert_int_equal(sl_read_i32(&r), 0);
    assert_int_equal(r.err, -EBADMSG);
}

static void test_reader_err_is_sticky(void **state)
{
    (void)state;
    sl_buf b = {0};
    assert_int_equal(sl_write_u32(&b, 100), 0); /* a string of 100 bytes... */
    assert_int_equal(sl_write_u32(&b, 7), 0);   /* ...of which only 4 follow */
    sl_reader r = sl_reader_init(b.data, b.len);
    uint32_t len = 123;
    assert_null(sl_read_str(&r, &len));
    assert_int_equal(len, 0);
    assert_int_equal(r.err, -EBADMSG);
    /* Four bytes are left, enough for a u32, but the reader stays failed. */
    assert_int_equal(sl_read_u32(&r), 0);
    assert_int_equal(r.err, -EBADMSG);
    assert_null(sl_read_str(&r, &len));
    assert_int_equal(sl_reader_finish(&r), -EBADMSG);
    sl_buf_free(&b);
}

static void test_reader_str_with_huge_length_fails(void **state)
{
    (void)state;
    sl_buf b = {0};
    assert_int_equal(sl_write_u32(&b, 0xffffffffu), 0);
    assert_int_equal(sl_buf_append(&b, "abcdefgh", 8), 0);
    uint8_t *d = dup_bytes(b.data, b.len);
    sl_reader r = sl_reader_init(d, b.len);
    uint32_t len = 123;
    assert_null(sl_read_str(&r, &len));
    assert_int_equal(len, 0);
    assert_int_equal(r.err, -EBADMSG);
    free(d);
    sl_buf_free(&b);
}

static void test_reader_str_longer_than_input_fails(void **state)
{
    (void)state;
    sl_buf b = {0};
    assert_int_equal(sl_write_u32(&b, 5), 0);
    assert_int_equal(sl_buf_append(&b, "abcd", 4), 0);
    uint8_t *d = dup_bytes(b.data, b.len);
    sl_reader r = sl_reader_init(d, b.len);
    uint32_t len;
    assert_null(sl_read_str(&r, &len));
    assert_int_equal(r.err, -EBADMSG);
    free(d);
    sl_buf_free(&b);
}

static void test_reader_finish_rejects_leftover_bytes(void **state)
{
    (void)state;
    const uint8_t bytes[5] = {0};
    sl_reader r = sl_reader_init(bytes, sizeof bytes);
    assert_int_equal(sl_read_u32(&r), 0);
    assert_int_equal(r.err, 0);
    assert_int_equal(sl_reader_finish(&r), -EBADMSG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_append_grows_and_keeps_bytes),
        cmocka_unit_test(test_buf_append_nothing_to_empty_buffer),
        cmocka_unit_test(test_buf_reserve_makes_room_and_keeps_contents),
        cmocka_unit_test(test_buf_reserve_of_impossible_size_fails_with_enomem),
        cmocka_unit_test(test_buf_consume_drops_front_and_keeps_tail),
        cmocka_unit_test(test_buf_consume_of_everything_or_more_empties),
        cmocka_unit_test(test_buf_swap_exchanges_contents),
        cmocka_unit_test(test_buf_free_leaves_empty_reusable_buffer),

        cmocka_unit_test(test_frame_append_writes_little_endian_header),
        cmocka_unit_test(test_frame_append_then_parse_round_trips),
        cmocka_unit_test(test_frame_with_empty_payload_round_trips),
        cmocka_unit_test(test_frame_append_header_lets_caller_write_payload),
        cmocka_unit_test(test_frame_append_rejects_payload_over_max),
        cmocka_unit_test(test_frame_parse_of_every_prefix_needs_more_bytes),
        cmocka_unit_test(test_frame_parse_ignores_bytes_after_the_frame),
        cmocka_unit_test(test_frame_many_frames_in_one_buffer_parse_back_in_order),
        cmocka_unit_test(test_frame_parse_reassembles_frames_split_across_reads),
        cmocka_unit_test(test_frame_parse_passes_flags_through),
        cmocka_unit_test(test_frame_append_flags_sets_the_flags_byte),
        cmocka_unit_test(test_frame_parse_rejects_len_over_max),
        cmocka_unit_test(test_frame_parse_of_len_at_max_waits_for_payload),
        cmocka_unit_test(test_frame_parse_rejects_type_zero),
        cmocka_unit_test(test_frame_parse_rejects_nonzero_reserved_bytes),
        cmocka_unit_test(test_frame_parse_rejects_bad_header_before_payload_arrives),

        cmocka_unit_test(test_reader_round_trips_every_field_type),
        cmocka_unit_test(test_reader_reads_little_endian),
        cmocka_unit_test(test_write_cstr_writes_null_as_empty_string),
        cmocka_unit_test(test_reader_short_u32_sets_err),
        cmocka_unit_test(test_reader_short_u64_and_f64_set_err),
        cmocka_unit_test(test_reader_read_from_empty_input_sets_err),
        cmocka_unit_test(test_reader_err_is_sticky),
        cmocka_unit_test(test_reader_str_with_huge_length_fails),
        cmocka_unit_test(test_reader_str_longer_than_input_fails),
        cmocka_unit_test(test_reader_finish_rejects_leftover_bytes),
    };
    return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
