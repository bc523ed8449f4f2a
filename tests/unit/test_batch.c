/* Unit tests of the map batch payloads (src/proto/batch.c), the frame
 * extension they use, and the crash reports that name a batch's input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/batch.h"
#include "proto/frame.h"
#include "proto/msg.h"

static void test_batch_inputs_round_trip(void **state)
{
    (void)state;
    sl_buf b = {0};
    assert_int_equal(sl_batch_add(&b, "one", 3), 0);
    assert_int_equal(sl_batch_add(&b, "", 0), 0);
    assert_int_equal(sl_batch_add(&b, "three", 5), 0);
    assert_int_equal(sl_batch_count(b.data, b.len), 3);
    sl_reader r = sl_reader_init(b.data, b.len);
    const uint8_t *p;
    uint32_t len;
    assert_int_equal(sl_batch_next(&r, &p, &len), 1);
    assert_memory_equal(p, "one", 3);
    assert_int_equal(sl_batch_next(&r, &p, &len), 1);
    assert_int_equal(len, 0);
    assert_int_equal(sl_batch_next(&r, &p, &len), 1);
    assert_int_equal(len, 5);
    assert_memory_equal(p, "three", 5);
    assert_int_equal(sl_batch_next(&r, &p, &len), 0);
    sl_buf_free(&b);
}

static void test_batch_count_rejects_every_truncation(void **state)
{
    (void)state;
    sl_buf b = {0};
    assert_int_equal(sl_batch_add(&b, "abc", 3), 0);
    assert_int_equal(sl_batch_add(&b, "de", 2), 0);
    for (size_t n = 1; n < b.len; n++) {
        uint8_t *d = malloc(n);
        assert_non_null(d);
        memcpy(d, b.data, n);
        long k = sl_batch_count(d, n);
        if (n == 7) /* exactly the first input */
            assert_int_equal(k, 1);
        else
            assert_int_equal(k, -EBADMSG);
        free(d);
    }
    assert_int_equal(sl_batch_count(NULL, 0), 0);
    sl_buf_free(&b);
}

static void test_batch_count_rejects_too_many_inputs(void **state)
{
    (void)state;
    sl_buf b = {0};
    for (unsigned i = 0; i < SL_BATCH_MAX_INPUTS; i++)
        assert_int_equal(sl_batch_add(&b, "x", 1), 0);
    assert_int_equal(sl_batch_count(b.data, b.len), SL_BATCH_MAX_INPUTS);
    assert_int_equal(sl_batch_add(&b, "x", 1), 0);
    assert_int_equal(sl_batch_count(b.data, b.len), -EBADMSG);
    sl_buf_free(&b);
}

static void test_batch_count_rejects_huge_length(void **state)
{
    (void)state;
    uint8_t d[] = {0xff, 0xff, 0xff, 0xff, 'a'};
    assert_int_equal(sl_batch_count(d, sizeof d), -EBADMSG);
}

static void test_results_round_trip(void **state)
{
    (void)state;
    sl_buf b = {0};
    sl_result_rec in[] = {{0, 0, 120, (const uint8_t *)"segment 0\n", 10},
                          {7, SL_RESULT_FAILED, 0xffffffffu, (const uint8_t *)"boom", 4},
                          {2, SL_RESULT_TYPED, 1, (const uint8_t *)"\x2a", 1},
                          {3, 0, 1, NULL, 0}};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(sl_result_append(&b, &in[i]), 0);
    sl_reader r = sl_reader_init(b.data, b.len);
    sl_result_rec out;
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(sl_result_next(&r, &out), 1);
        assert_int_equal(out.pos, in[i].pos);
        assert_int_equal(out.flags, in[i].flags);
        assert_int_equal(out.ns, in[i].ns);
        assert_int_equal(out.len, in[i].len);
        if (out.len)
            assert_memory_equal(out.data, in[i].data, out.len);
    }
    assert_int_equal(sl_result_next(&r, &out), 0);
    sl_buf_free(&b);
}

static void test_results_reject_truncation_and_bad_flag(void **state)
{
    (void)state;
    sl_buf b = {0};
    sl_result_rec rec = {3, 0, 5, (const uint8_t *)"abc", 3};
    assert_int_equal(sl_result_append(&b, &rec), 0);
    for (size_t n = 1; n < b.len; n++) {
        sl_reader r = sl_reader_init(b.data, n);
        sl_result_rec out;
        assert_int_equal(sl_result_next(&r, &out), -EBADMSG);
    }
    for (unsigned bad = 3; bad < 256; bad++) { /* a failure reason is never typed */
        b.data[4] = (uint8_t)bad;
        sl_reader r = sl_reader_init(b.data, b.len);
        sl_result_rec out;
        assert_int_equal(sl_result_next(&r, &out), -EBADMSG);
    }
    sl_buf_free(&b);
}

static void test_frame_extend_grows_the_last_frame(void **state)
{
    (void)state;
    sl_buf b = {0};
    assert_int_equal(sl_frame_append(&b, SL_FRAME_READY, 0, NULL, 0), 0);
    size_t off = b.len;
    assert_int_equal(sl_frame_append(&b, SL_FRAME_OUTPUT, 9, "ab", 2), 0);
    assert_int_equal(sl_frame_extend(&b, off, "cde", 3), 0);
    sl_frame f;
    long k = sl_frame_parse(b.data + off, b.len - off, &f);
    assert_int_equal(k, (long)(SL_FRAME_HEADER_SIZE + 5));
    assert_int_equal(f.type, SL_FRAME_OUTPUT);
    assert_int_equal(f.call_id, 9);
    assert_memory_equal(f.payload, "abcde", 5);
    sl_buf_free(&b);
}

static void test_exited_and_crashed_round_trip(void **state)
{
    (void)state;
    sl_buf b = {0};
    sl_exit_info e = {1234, 11, 0x00400001u, 3211}, out;
    assert_int_equal(sl_exited_encode(&b, &e), 0);
    assert_int_equal(sl_exited_decode(b.data, b.len, &out), 0);
    assert_memory_equal(&out, &e, sizeof e);
    assert_int_equal(sl_exited_decode(b.data, b.len - 1, &out), -EBADMSG);
    b.len = 0;
    assert_int_equal(sl_crashed_encode(&b, 3210, "brittle: crashed", 16), 0);
    uint32_t input;
    const char *why;
    size_t len;
    assert_int_equal(sl_crashed_decode(b.data, b.len, &input, &why, &len), 0);
    assert_int_equal(input, 3210);
    assert_int_equal(len, 16);
    assert_memory_equal(why, "brittle: crashed", 16);
    assert_int_equal(sl_crashed_decode(b.data, 3, &input, &why, &len), -EBADMSG);
    sl_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_inputs_round_trip),
        cmocka_unit_test(test_batch_count_rejects_every_truncation),
        cmocka_unit_test(test_batch_count_rejects_too_many_inputs),
        cmocka_unit_test(test_batch_count_rejects_huge_length),
        cmocka_unit_test(test_results_round_trip),
        cmocka_unit_test(test_results_reject_truncation_and_bad_flag),
        cmocka_unit_test(test_frame_extend_grows_the_last_frame),
        cmocka_unit_test(test_exited_and_crashed_round_trip),
    };
    return cmocka_run_group_tests_name("batch", tests, NULL, NULL);
}
