/*
 * gen_corpus.c: writes the seed corpora of tests/fuzz/corpus/, once, with
 * the project's own encoders (so a seed is what a peer really sends),
 * plus edge cases by hand: truncations, huge lengths, counts at and past
 * the bounds. Not a test; rerun it only to change the seeds:
 *
 *     cmake --build build --target fuzz_gen_corpus
 *     build/tests/fuzz/fuzz_gen_corpus tests/fuzz/corpus
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "proto/batch.h"
#include "proto/frame.h"
#include "proto/msg.h"
#include "sluice.h"

static const char *g_dir; /* the corpus directory being written */

static void die(const char *what)
{
    fprintf(stderr, "gen_corpus: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Checks an encoder's result: any failure ends the run. */
static void ok(int r)
{
    if (r) {
        errno = r < 0 ? -r : r;
        die("encoding failed");
    }
}

static void seed(const char *name, const void *p, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, len, f) != len || fclose(f))
        die(path);
}

static void seed_buf(const char *name, const sl_buf *b)
{
    seed(name, b->data, b->len);
}

static void seed_str(const char *name, const char *s)
{
    seed(name, s, strlen(s));
}

static void enter(const char *root, const char *target)
{
    static char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", root, target);
    if (mkdir(dir, 0755) && errno != EEXIST)
        die(dir);
    g_dir = dir;
}

/* ---- fuzz_frame ---- */

/* Appends a frame whose payload is b, then empties b. */
static void frame(sl_buf *out, uint8_t type, uint8_t flags, uint32_t id, sl_buf *b)
{
    ok(sl_frame_append_flags(out, type, flags, id, b->data ? b->data : (const uint8_t *)"", b->len));
    b->len = 0;
}

/* One file per frame, and all of them in one stream (`all`). */
static void one(const char *name, sl_buf *all, uint8_t type, uint8_t flags, uint32_t id, sl_buf *p)
{
    sl_buf f = {0};
    frame(&f, type, flags, id, p);
    seed_buf(name, &f);
    ok(sl_buf_append(all, f.data, f.len));
    sl_buf_free(&f);
}

static void frame_tables(sl_buf *all, sl_buf *p)
{
    sl_fninfo fns[2] = {
        {"hello", 1, "text/plain", "GET", 100, 0, 100, 0, 60.0, "", 0, 0, 0, 0},
        {"render", 0, "", "", 4, 1, 8, 1, 30.5, "A100:2", 120.0, 3, 1.5, 2048},
    };
    sl_functable t = {2, fns};
    ok(sl_functable_encode(p, &t));
    one("functable", all, SL_FRAME_FUNCTABLE, 0, 0, p);
    t.count = 0;
    ok(sl_functable_encode(p, &t));
    one("functable_empty", all, SL_FRAME_FUNCTABLE, 0, 0, p);
    ok(sl_write_u32(p, UINT32_MAX)); /* claims 2^32 - 1 functions, has none */
    one("functable_huge_count", all, SL_FRAME_FUNCTABLE, 0, 0, p);
    ok(sl_write_u32(p, SL_MSG_MAX_FUNCTIONS + 1));
    one("functable_past_max", all, SL_FRAME_FUNCTABLE, 0, 0, p);
}

static void frame_requests(sl_buf *all, sl_buf *p)
{
    sl_header_pair hs[2] = {{"accept", "text/event-stream"}, {"x-empty", ""}};
    sl_request q = {"POST", "/hello", "n=3&x=%20", 2, hs, "body\0bytes", 10};
    ok(sl_request_encode(p, &q));
    one("input", all, SL_FRAME_INPUT, 0, 7, p);
    sl_buf batch = {0};
    ok(sl_batch_add(&batch, "\x93\x01\x02\x03", 4));
    ok(sl_batch_add(&batch, "", 0));
    ok(sl_batch_add(&batch, "raw", 3));
    sl_request m = {"MAP", "", "", 0, NULL, (const char *)batch.data, (uint32_t)batch.len};
    ok(sl_request_encode(p, &m));
    one("input_map", all, SL_FRAME_INPUT, 0, 8, p);
    sl_callreq c = {7, "render", (const char *)batch.data, (uint32_t)batch.len};
    ok(sl_callreq_encode(p, &c));
    one("call_map", all, SL_FRAME_CALL_MAP, 0, 9, p);
    ok(sl_write_u32(&batch, UINT32_MAX)); /* an input claiming 4 GiB */
    c.arg = (const char *)batch.data;
    c.arg_len = (uint32_t)batch.len;
    ok(sl_callreq_encode(p, &c));
    one("call_map_bad_input", all, SL_FRAME_CALL_MAP, 0, 10, p);
    sl_buf_free(&batch);
    sl_callreq call = {7, "hello", "\x91\xa3" "ada", 5};
    ok(sl_callreq_encode(p, &call));
    one("call", all, SL_FRAME_CALL, 0, 11, p);
    ok(sl_write_str(p, "GET", 3));
    ok(sl_write_u32(p, UINT32_MAX)); /* a path claiming 4 GiB */
    one("input_huge_string", all, SL_FRAME_INPUT, 0, 12, p);
}

static void frame_heads(sl_buf *all, sl_buf *p)
{
    sl_header_pair hs[2] = {{"x-a", "1"}, {"set-cookie", "b=2"}};
    sl_head h = {201, "application/json", 2, hs};
    ok(sl_head_encode(p, &h));
    one("head", all, SL_FRAME_HEAD, 0, 7, p);
    h.status = 99; /* below any HTTP status */
    ok(sl_head_encode(p, &h));
    one("head_bad_status", all, SL_FRAME_HEAD, 0, 7, p);
    sl_header_pair many[SL_MSG_MAX_HEADERS + 1];
    for (size_t i = 0; i <= SL_MSG_MAX_HEADERS; i++)
        many[i] = (sl_header_pair){"", ""};
    sl_head full = {200, "", SL_MSG_MAX_HEADERS, many};
    ok(sl_head_encode(p, &full));
    one("head_max_headers", all, SL_FRAME_HEAD, 0, 7, p);
    full.nheaders++;
    ok(sl_head_encode(p, &full));
    one("head_past_max_headers", all, SL_FRAME_HEAD, 0, 7, p);
}

static void frame_results(sl_buf *all, sl_buf *p)
{
    sl_result_rec recs[3] = {
        {0, 0, 1500, (const uint8_t *)"ok", 2},
        {2, SL_RESULT_FAILED, 20, (const uint8_t *)"input 2 failed", 14},
        {1, SL_RESULT_TYPED, 999999, (const uint8_t *)"\x82\xa1" "a\x01\xa1" "b\xc0", 7},
    };
    for (int i = 0; i < 3; i++)
        ok(sl_result_append(p, &recs[i]));
    one("output_results", all, SL_FRAME_OUTPUT, 0, 8, p);
    sl_result_rec bad = {0, SL_RESULT_FAILED | SL_RESULT_TYPED, 0, (const uint8_t *)"", 0};
    ok(sl_result_append(p, &recs[0]));
    ok(sl_result_append(p, &bad));
    one("output_bad_flags", all, SL_FRAME_CALL_OUTPUT, 0, 8, p);
    ok(sl_result_append(p, &recs[1]));
    p->len -= 5; /* cut inside the reason */
    one("output_truncated", all, SL_FRAME_OUTPUT, 0, 8, p);
}

static void frame_fixed(sl_buf *all, sl_buf *p)
{
    ok(sl_spawnreq_encode(p, 3, 1, "0,1"));
    one("spawn", all, SL_FRAME_SPAWN, 0, 0, p);
    ok(sl_pair_encode(p, 3, 4242));
    one("spawned", all, SL_FRAME_SPAWNED, 0, 0, p);
    ok(sl_pair_encode(p, 4, (uint32_t)-12));
    one("spawn_failed", all, SL_FRAME_SPAWN_FAILED, 0, 0, p);
    sl_exit_info e = {4242, 139, 9, 3};
    ok(sl_exited_encode(p, &e));
    one("exited", all, SL_FRAME_EXITED, 0, 0, p);
    uint8_t c[SL_CREDIT_SIZE];
    sl_credit_encode(c, 256 * 1024);
    ok(sl_buf_append(p, c, sizeof c));
    one("credit", all, SL_FRAME_CALL_CREDIT, 0, 11, p);
    ok(sl_crashed_encode(p, 2, "killed by signal 11", 19));
    one("call_crashed", all, SL_FRAME_CALL_CRASHED, 0, 9, p);
    ok(sl_buf_append(p, "\x92\x01\xa2hi", 5));
    one("output_typed", all, SL_FRAME_OUTPUT, SL_FRAME_F_TYPED, 7, p);
    one("ready", all, SL_FRAME_READY, 0, 0, p);
}

/* Headers no reader may accept, and a stream cut short. */
static void frame_malformed(const sl_buf *all)
{
    uint8_t h[SL_FRAME_HEADER_SIZE] = {0};
    uint32_t big = SL_FRAME_MAX_PAYLOAD + 1;
    memcpy(h, &big, 4); /* little-endian host, as the generator's only user */
    h[4] = SL_FRAME_OUTPUT;
    seed("header_past_max_payload", h, sizeof h);
    big = SL_FRAME_MAX_PAYLOAD;
    memcpy(h, &big, 4);
    seed("header_max_payload_short", h, sizeof h);
    memset(h, 0, sizeof h);
    seed("header_type_zero", h, sizeof h);
    h[4] = SL_FRAME_READY;
    h[7] = 1;
    seed("header_nonzero_pad", h, sizeof h);
    seed("stream_truncated", all->data, all->len / 3);
}

static void gen_frames(const char *root)
{
    enter(root, "fuzz_frame");
    sl_buf all = {0}, p = {0};
    frame_tables(&all, &p);
    frame_requests(&all, &p);
    frame_heads(&all, &p);
    frame_results(&all, &p);
    frame_fixed(&all, &p);
    seed_buf("stream_all", &all);
    frame_malformed(&all);
    sl_buf_free(&all);
    sl_buf_free(&p);
}

/* ---- fuzz_value ---- */

/* Writes the builder's value, then resets it for the next. */
static void seed_pack(const char *name, sl_pack *pk)
{
    size_t len;
    const void *p = sl_pack_data(pk, &len);
    if (!p) {
        errno = EINVAL;
        die(name);
    }
    seed(name, p, len);
    sl_pack_reset(pk);
}

static void value_scalars(sl_pack *pk)
{
    ok(sl_pack_nil(pk)); seed_pack("nil", pk);
    ok(sl_pack_bool(pk, true)); seed_pack("true", pk);
    ok(sl_pack_int(pk, -33)); seed_pack("int_neg", pk);
    ok(sl_pack_int(pk, 1LL << 40)); seed_pack("int_big", pk);
    ok(sl_pack_int(pk, INT64_MIN)); seed_pack("int_min", pk);
    ok(sl_pack_double(pk, 2.5)); seed_pack("double", pk);
    ok(sl_pack_double(pk, NAN)); seed_pack("double_nan", pk);
    ok(sl_pack_double(pk, -INFINITY)); seed_pack("double_inf", pk);
    ok(sl_pack_str(pk, "h\xc3\xa9llo")); seed_pack("str_utf8", pk);
    ok(sl_pack_strn(pk, "a\0b\xff", 4)); seed_pack("str_nul_not_utf8", pk);
    ok(sl_pack_bytes(pk, "\x00\x01\xfe", 3)); seed_pack("bytes", pk);
    seed("uint64_max", "\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9); /* past long long */
    seed("float32", "\xca\x3f\xc0\x00\x00", 5);
    seed("ext", "\xd4\x01\x2a", 3);
    seed("empty", "", 0);
}

static void value_containers(sl_pack *pk)
{
    /* typed arguments as a call gets them: [1, "a", {"k": [true, null]}] */
    ok(sl_pack_list(pk, 3)); ok(sl_pack_int(pk, 1)); ok(sl_pack_str(pk, "a"));
    ok(sl_pack_map(pk, 1)); ok(sl_pack_str(pk, "k"));
    ok(sl_pack_list(pk, 2)); ok(sl_pack_bool(pk, true)); ok(sl_pack_nil(pk));
    seed_pack("args", pk);
    /* keys JSON cannot hold as they are: an int, a list, a duplicate */
    ok(sl_pack_map(pk, 3));
    ok(sl_pack_int(pk, -7)); ok(sl_pack_str(pk, "int key"));
    ok(sl_pack_list(pk, 0)); ok(sl_pack_nil(pk));
    ok(sl_pack_int(pk, -7)); ok(sl_pack_bytes(pk, "x", 1));
    seed_pack("map_odd_keys", pk);
    ok(sl_pack_map(pk, 2));
    ok(sl_pack_str(pk, "a")); ok(sl_pack_int(pk, 1));
    ok(sl_pack_str(pk, "a")); ok(sl_pack_int(pk, 2));
    seed_pack("map_duplicate_keys", pk);
    for (int depth = SL_VALUE_MAX_DEPTH; depth <= SL_VALUE_MAX_DEPTH + 1; depth++) {
        for (int i = 0; i < depth; i++)
            ok(sl_pack_list(pk, 1));
        ok(sl_pack_int(pk, depth));
        seed_pack(depth == SL_VALUE_MAX_DEPTH ? "nested_max" : "nested_past_max", pk);
    }
}

/* Lengths and counts far past the bytes: msgpack-c reserves for counts. */
static void value_malformed(void)
{
    seed("list_huge_count", "\xdd\xff\xff\xff\xff\x01", 6);
    seed("map_huge_count", "\xdf\xff\xff\xff\xff\x01\x02", 7);
    seed("list_64m_count", "\xdd\x04\x00\x00\x00\xc0", 6);  /* 1.5 GiB reserved */
    seed("list_1m_count", "\xdd\x00\x10\x00\x00\xc0", 6);   /* 24 MiB reserved */
    seed("str_huge_len", "\xdb\xff\xff\xff\xff" "ab", 7);
    seed("bin_huge_len", "\xc6\x7f\xff\xff\xff", 5);
    seed("list_truncated", "\x93\x01\x02", 3);
    seed("two_values", "\x01\x02", 2);
    seed("never_used_c1", "\xc1", 1);
}

static void gen_values(const char *root)
{
    enter(root, "fuzz_value");
    sl_pack *pk = sl_pack_new();
    if (!pk)
        die("sl_pack_new");
    value_scalars(pk);
    value_containers(pk);
    value_malformed();
    sl_pack_free(pk);
}

/* ---- fuzz_json_args ---- */

/* n nested arrays around 0: "[[...[0]...]]". */
static void seed_nested(const char *name, int n)
{
    char text[256];
    int k = 0;
    for (int i = 0; i < n; i++)
        text[k++] = '[';
    text[k++] = '0';
    for (int i = 0; i < n; i++)
        text[k++] = ']';
    seed(name, text, (size_t)k);
}

static void gen_json(const char *root)
{
    enter(root, "fuzz_json_args");
    seed("empty_body", "", 0);
    seed_str("no_args", "[]");
    seed_str("scalars", "[1,-2,2.5,\"h\\u00e9llo\",true,false,null]");
    seed_str("objects", "[{\"a\":{\"b\":[1,{\"c\":null}]},\"\":0,\"z\":[]}]");
    seed_str("duplicate_keys", "[{\"a\":1,\"a\":2}]");
    seed_str("int_bounds", "[9223372036854775807,-9223372036854775808,1e308,-0.0]");
    seed_str("int_too_big", "[9223372036854775808]");
    seed_str("real_overflow", "[1e400]");
    seed_str("escapes", "[\"\\ud83d\\ude00\\n\\t\\\"\\\\\\/\"]");
    seed_str("nul_escape", "[\"a\\u0000b\"]");
    seed_str("lone_surrogate", "[\"\\ud800\"]");
    seed_str("not_an_array", "{\"args\":[1]}");
    seed_str("bare_string", "\"x\"");
    seed_str("truncated", "[1,{\"a\":[");
    seed_str("trailing_garbage", "[1] x");
    seed("not_utf8", "[\"\xff\"]", 5);
    seed_nested("nested_max", SL_VALUE_MAX_DEPTH);
    seed_nested("nested_past_max", SL_VALUE_MAX_DEPTH + 1);
    /* the same bytes are also an Accept header and a result id */
    seed_str("accept_sse", "text/event-stream");
    seed_str("accept_ndjson", "application/json, application/x-ndjson;q=0.9");
    seed_str("id", "0000002a");
    seed_str("id_odd", " -0x1F");
    seed_str("id_long", "00000000000000000000001");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_ROOT (tests/fuzz/corpus)\n", argv[0]);
        return 2;
    }
    if (mkdir(argv[1], 0755) && errno != EEXIST)
        die(argv[1]);
    gen_frames(argv[1]);
    gen_values(argv[1]);
    gen_json(argv[1]);
    return 0;
}
