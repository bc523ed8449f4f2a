/*
 * fuzz_frame.c: the frame protocol (src/proto) on arbitrary bytes.
 *
 * The input is a byte stream as a peer would write it to a socket:
 * frames back to back. It is read the way pool.c, zygote_link.c and
 * runtime.c read theirs (append to an sl_buf, sl_frame_parse from the
 * front until it wants more or fails, sl_buf_consume), and every frame's
 * payload goes to the decoder for its type. Whatever decodes is encoded
 * again and must give the same bytes back (or, where an encoder writes C
 * strings, a stable shorter form), and is freed.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "proto/batch.h"
#include "proto/frame.h"
#include "proto/msg.h"

/* Harness buffers are small (bounded by the input): failing to grow one
 * is the machine's problem, not a finding, but it is still checked. */
#define APPEND_OK(expr) FUZZ_CHECK((expr) == 0)

/* ---- the structured payloads: one codec each ---- */

typedef struct codec {
    int (*decode)(const void *p, size_t len, void **out);
    int (*encode)(sl_buf *b, const void *v);
} codec;

static int request_dec(const void *p, size_t len, void **out)
{
    sl_request *q = NULL;
    int r = sl_request_decode(p, len, &q);
    *out = q;
    return r;
}

static int request_enc(sl_buf *b, const void *v)
{
    return sl_request_encode(b, v);
}

static int head_dec(const void *p, size_t len, void **out)
{
    sl_head *h = NULL;
    int r = sl_head_decode(p, len, &h);
    *out = h;
    return r;
}

static int head_enc(sl_buf *b, const void *v)
{
    return sl_head_encode(b, v);
}

static int functable_dec(const void *p, size_t len, void **out)
{
    sl_functable *t = NULL;
    int r = sl_functable_decode(p, len, &t);
    *out = t;
    return r;
}

static int functable_enc(sl_buf *b, const void *v)
{
    return sl_functable_encode(b, v);
}

static int callreq_dec(const void *p, size_t len, void **out)
{
    sl_callreq *c = NULL;
    int r = sl_callreq_decode(p, len, &c);
    *out = c;
    return r;
}

static int callreq_enc(sl_buf *b, const void *v)
{
    return sl_callreq_encode(b, v);
}

static const codec REQUEST = {request_dec, request_enc};
static const codec HEAD = {head_dec, head_enc};
static const codec FUNCTABLE = {functable_dec, functable_enc};
static const codec CALLREQ = {callreq_dec, callreq_enc};

/*
 * Decodes p, encodes the result, and checks the encoding: the same bytes
 * as p when it is as long (the format has one encoding per value); shorter
 * only because an encoder writes a string up to its first NUL; and stable
 * (decoding and encoding it again changes nothing). Returns the first
 * decoded value (the caller frees it) or NULL when p does not decode.
 */
static void *round_trip(const codec *c, const uint8_t *p, size_t len)
{
    void *v = NULL, *v2 = NULL;
    int r = c->decode(p, len, &v);
    FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -ENOMEM);
    if (r)
        return NULL;
    sl_buf enc = {0}, enc2 = {0};
    APPEND_OK(c->encode(&enc, v));
    FUZZ_CHECK(enc.len <= len);
    FUZZ_CHECK(enc.len < len || memcmp(enc.data, p, len) == 0);
    r = c->decode(enc.data, enc.len, &v2);
    FUZZ_CHECK(r == 0 || r == -ENOMEM);
    if (r == 0) {
        APPEND_OK(c->encode(&enc2, v2));
        FUZZ_CHECK(enc2.len == enc.len && memcmp(enc2.data, enc.data, enc.len) == 0);
    }
    free(v2);
    sl_buf_free(&enc);
    sl_buf_free(&enc2);
    return v;
}

/* ---- batches and result records ---- */

/* A batch argument (CALL_MAP's, or a MAP input's body): counted as the
 * container checks it, then walked as run_batch does; a valid one is
 * rebuilt input by input with sl_batch_add and must come out the same. */
static void check_batch(const uint8_t *p, size_t len)
{
    long count = sl_batch_count(p, len);
    FUZZ_CHECK(count == -EBADMSG || (count >= 0 && count <= (long)SL_BATCH_MAX_INPUTS));
    sl_reader r = sl_reader_init(p, len);
    sl_buf again = {0};
    const uint8_t *in;
    uint32_t n;
    long seen = 0;
    int k;
    while ((k = sl_batch_next(&r, &in, &n)) == 1) {
        FUZZ_CHECK(in >= p && (size_t)(in - p) + n <= len);
        APPEND_OK(sl_batch_add(&again, in, n));
        seen++;
    }
    FUZZ_CHECK(k == 0 || k == -EBADMSG);
    if (count >= 0) {
        FUZZ_CHECK(k == 0 && seen == count);
        FUZZ_CHECK(again.len == len && (len == 0 || memcmp(again.data, p, len) == 0));
    } else {
        FUZZ_CHECK(k < 0 || seen > (long)SL_BATCH_MAX_INPUTS);
    }
    sl_buf_free(&again);
}

/* A batch's OUTPUT: result records, read as map.c reads them, rebuilt
 * with sl_result_append: the records read so far give back the bytes
 * they were read from. */
static void check_results(const uint8_t *p, size_t len)
{
    sl_reader r = sl_reader_init(p, len);
    sl_buf again = {0};
    sl_result_rec rec;
    size_t good = 0; /* bytes of p taken by whole, valid records */
    int k;
    while ((k = sl_result_next(&r, &rec)) == 1) {
        FUZZ_CHECK(rec.flags == 0 || rec.flags == SL_RESULT_FAILED || rec.flags == SL_RESULT_TYPED);
        APPEND_OK(sl_result_append(&again, &rec));
        good = len - r.left;
    }
    FUZZ_CHECK(k == 0 || k == -EBADMSG);
    FUZZ_CHECK(k < 0 || good == len);
    FUZZ_CHECK(again.len == good && (good == 0 || memcmp(again.data, p, good) == 0));
    sl_buf_free(&again);
}

/* ---- the fixed-layout payloads ---- */

/* SPAWN: a pair and a GPU list, which the encoder takes as a C string. */
static void check_spawnreq(const uint8_t *p, size_t len)
{
    uint32_t ct, fn, glen;
    const char *gpus;
    if (sl_spawnreq_decode(p, len, &ct, &fn, &gpus, &glen))
        return;
    char *cstr = malloc((size_t)glen + 1);
    FUZZ_CHECK(cstr != NULL);
    memcpy(cstr, gpus, glen);
    cstr[glen] = '\0';
    sl_buf enc = {0};
    APPEND_OK(sl_spawnreq_encode(&enc, ct, fn, cstr));
    bool whole = strlen(cstr) == glen; /* no NUL inside: nothing cut */
    FUZZ_CHECK(!whole || (enc.len == len && memcmp(enc.data, p, len) == 0));
    free(cstr);
    sl_buf_free(&enc);
}

/* Payloads with one encoding per value and no strings: re-encoding a
 * decoded one gives exactly its bytes. */
static void check_fixed(uint8_t type, const uint8_t *p, size_t len)
{
    sl_buf enc = {0};
    uint32_t a, b;
    sl_exit_info e;
    const char *why;
    size_t why_len;
    if (type == SL_FRAME_CREDIT || type == SL_FRAME_CALL_CREDIT) {
        uint8_t c[SL_CREDIT_SIZE];
        if (sl_credit_decode(p, len, &a) == 0) {
            sl_credit_encode(c, a);
            FUZZ_CHECK(len == SL_CREDIT_SIZE && memcmp(c, p, len) == 0);
        }
    } else if (type == SL_FRAME_EXITED) {
        if (sl_exited_decode(p, len, &e) == 0)
            APPEND_OK(sl_exited_encode(&enc, &e));
    } else if (type == SL_FRAME_CALL_CRASHED) {
        if (sl_crashed_decode(p, len, &a, &why, &why_len) == 0) {
            FUZZ_CHECK(why_len == len - 4 && why == (const char *)p + 4);
            APPEND_OK(sl_crashed_encode(&enc, a, why, why_len));
        }
    } else if (sl_pair_decode(p, len, &a, &b) == 0) { /* SPAWNED, SPAWN_FAILED */
        APPEND_OK(sl_pair_encode(&enc, a, b));
    }
    FUZZ_CHECK(enc.len == 0 || (enc.len == len && memcmp(enc.data, p, len) == 0));
    sl_buf_free(&enc);
}

/* ---- frames ---- */

/* The payload of one frame, to the decoder its type calls for. */
static void decode_payload_at(const sl_frame *f)
{
    void *v = NULL;
    switch (f->type) {
    case SL_FRAME_FUNCTABLE: v = round_trip(&FUNCTABLE, f->payload, f->len); break;
    case SL_FRAME_HEAD: v = round_trip(&HEAD, f->payload, f->len); break;
    case SL_FRAME_CALL: v = round_trip(&CALLREQ, f->payload, f->len); break;
    case SL_FRAME_CALL_MAP:
        v = round_trip(&CALLREQ, f->payload, f->len);
        if (v)
            check_batch((const uint8_t *)((sl_callreq *)v)->arg, ((sl_callreq *)v)->arg_len);
        break;
    case SL_FRAME_INPUT:
        v = round_trip(&REQUEST, f->payload, f->len);
        if (v && strcmp(((sl_request *)v)->method, "MAP") == 0) /* as runtime.c tells a batch */
            check_batch((const uint8_t *)((sl_request *)v)->body, ((sl_request *)v)->body_len);
        break;
    case SL_FRAME_OUTPUT:
    case SL_FRAME_CALL_OUTPUT: check_results(f->payload, f->len); break;
    case SL_FRAME_SPAWN: check_spawnreq(f->payload, f->len); break;
    case SL_FRAME_SPAWNED:
    case SL_FRAME_SPAWN_FAILED:
    case SL_FRAME_EXITED:
    case SL_FRAME_CREDIT:
    case SL_FRAME_CALL_CREDIT:
    case SL_FRAME_CALL_CRASHED: check_fixed(f->type, f->payload, f->len); break;
    default: break; /* raw bytes or no payload: nothing to decode */
    }
    free(v);
}

/* The same on a copy of the payload in a block of exactly its size: in
 * the stream the next frame's bytes follow it, and ASan would not see a
 * decoder reading past the payload into them. */
static void decode_payload(const sl_frame *f)
{
    uint8_t *own = malloc(f->len ? f->len : 1);
    FUZZ_CHECK(own != NULL);
    if (f->len)
        memcpy(own, f->payload, f->len);
    sl_frame copy = *f;
    copy.payload = own;
    decode_payload_at(&copy);
    free(own);
}

/* A parsed frame written again two ways (whole, and as a header plus an
 * extension) must be the bytes it was parsed from. */
static void check_frame_writers(const sl_frame *f, const uint8_t *raw, size_t span)
{
    sl_buf out = {0};
    APPEND_OK(sl_frame_append_flags(&out, f->type, f->flags, f->call_id, f->payload, f->len));
    FUZZ_CHECK(out.len == span && memcmp(out.data, raw, span) == 0);
    sl_buf_free(&out);
    size_t half = f->len / 2;
    APPEND_OK(sl_frame_append_header(&out, f->type, f->call_id, half));
    APPEND_OK(sl_buf_append(&out, f->payload, half));
    APPEND_OK(sl_frame_extend(&out, 0, f->payload + half, f->len - half));
    FUZZ_CHECK(out.len == span && out.data[5] == 0);
    out.data[5] = f->flags; /* append_header writes no flags */
    FUZZ_CHECK(memcmp(out.data, raw, span) == 0);
    sl_buf_free(&out);
}

/* Parses what `in` holds, as the readers do, and drops the frames it
 * parsed. false once the stream is malformed (a reader closes it then). */
static bool drain(sl_buf *in)
{
    size_t off = 0;
    sl_frame f;
    long k;
    if (!in->len)
        return true; /* nothing read yet (and in->data may be NULL) */
    while ((k = sl_frame_parse(in->data + off, in->len - off, &f)) > 0) {
        FUZZ_CHECK((size_t)k == SL_FRAME_HEADER_SIZE + f.len && f.len <= SL_FRAME_MAX_PAYLOAD);
        FUZZ_CHECK(f.type != 0 && f.payload == in->data + off + SL_FRAME_HEADER_SIZE);
        check_frame_writers(&f, in->data + off, (size_t)k);
        decode_payload(&f);
        off += (size_t)k;
    }
    FUZZ_CHECK(k == 0 || k == -EBADMSG);
    sl_buf_consume(in, off);
    return k == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* two reads, as a socket may split the stream anywhere */
    sl_buf in = {0};
    size_t first = size / 2;
    if (first)
        APPEND_OK(sl_buf_append(&in, data, first));
    if (drain(&in) && size > first) {
        APPEND_OK(sl_buf_append(&in, data + first, size - first));
        drain(&in);
    }
    sl_buf_free(&in);
    return 0;
}
