/*
 * frame.h: the frames that server, zygote and containers exchange over unix
 * stream sockets. Pure encode/decode: no I/O happens here.
 *
 * A frame is a 12-byte header, then `len` payload bytes:
 *
 *     u32 len | u8 type | u8 flags | u16 zero | u32 call id     (little-endian)
 *
 * Many frames are appended to one sl_buf and written with one write(), so a
 * burst of small yields costs one syscall, not one each.
 */
#ifndef SL_PROTO_FRAME_H
#define SL_PROTO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define SL_FRAME_HEADER_SIZE 12u
/* Any frame larger than this is malformed: it ends the sender's channel. */
#define SL_FRAME_MAX_PAYLOAD (17u * 1024u * 1024u)

/* Frame flags (the header's flags byte; unknown bits are ignored). */
/* OUTPUT, RETURN, CALL_OUTPUT, CALL_RETURN: the payload is one msgpack value
 * (sl_yield_value / sl_return_value), not raw bytes. */
#define SL_FRAME_F_TYPED 0x01u

typedef enum sl_frame_type {
    /* zygote -> server */
    SL_FRAME_FUNCTABLE = 1, /* the app's functions (sl_functable codec) */
    SL_FRAME_SPAWNED = 2,   /* u32 container id, u32 pid; carries the fd */
    SL_FRAME_SPAWN_FAILED = 3, /* u32 container id, i32 -errno */
    SL_FRAME_EXITED = 4,    /* u32 pid, i32 wait status, u32 the call that crashed it
                               (0: none known), u32 1 + its input in a batch (0: none) */
    /* server -> zygote */
    SL_FRAME_SPAWN = 5,     /* u32 container id, u32 function index, str GPUs */
    /* container -> server */
    SL_FRAME_READY = 10,    /* the container takes inputs now */
    SL_FRAME_HEAD = 11,     /* response status and headers (sl_head codec) */
    SL_FRAME_OUTPUT = 12,   /* one yield: raw bytes */
    SL_FRAME_RETURN = 13,   /* success, the return value as raw bytes; ends the call */
    SL_FRAME_ERROR = 14,    /* failure, a UTF-8 reason; ends the call */
    SL_FRAME_CALL = 15,     /* call id = a new handle: run a function (sl_callreq codec) */
    SL_FRAME_CALL_CREDIT = 16, /* u32 bytes of the handle's outputs consumed */
    SL_FRAME_CALL_CANCEL = 17, /* the caller gave up on the handle */
    SL_FRAME_CALL_PIPE = 18,   /* send the handle's outputs as the caller's own */
    SL_FRAME_CALL_MAP = 19,    /* as CALL, for a batch of a map's inputs (batch.h) */
    /* server -> container */
    SL_FRAME_INPUT = 20,    /* a new call (sl_request codec) */
    SL_FRAME_CANCEL = 21,   /* stop the call: the client is gone */
    SL_FRAME_CREDIT = 22,   /* u32 bytes: the client took this much output */
    SL_FRAME_SHUTDOWN = 23, /* finish in-flight inputs, then exit */
    SL_FRAME_CALL_OUTPUT = 24, /* call id = handle: one output of the callee */
    SL_FRAME_CALL_RETURN = 25, /* the callee's return value; ends the handle */
    SL_FRAME_CALL_ERROR = 26,  /* why the callee failed; ends the handle */
    SL_FRAME_CALL_LOST = 27,   /* as CALL_ERROR, but the callee did not fail:
                                  another input crashed its container */
    SL_FRAME_CALL_CRASHED = 28, /* u32 input, then as CALL_ERROR: that input of
                                   the batch crashed its container */
} sl_frame_type;

typedef struct sl_frame {
    uint8_t type;
    uint8_t flags;
    uint32_t call_id;
    const uint8_t *payload; /* borrowed from the buffer it was parsed from */
    uint32_t len;
} sl_frame;

/* Appends one whole frame (flags 0). 0 or -ENOMEM / -EMSGSIZE. */
int sl_frame_append(sl_buf *out, uint8_t type, uint32_t call_id, const void *payload, size_t len);
/* The same with the header's flags byte set (SL_FRAME_F_*). */
int sl_frame_append_flags(sl_buf *out, uint8_t type, uint8_t flags, uint32_t call_id, const void *payload,
                          size_t len);

/* Appends a frame header whose payload the caller appends next (exactly
 * `len` bytes). Lets encoders write payloads in place. */
int sl_frame_append_header(sl_buf *out, uint8_t type, uint32_t call_id, size_t len);

/* Appends `len` more payload bytes to the frame at `frame_off`, which must
 * be the last frame in `out`: how results that pile up share one frame.
 * 0, or -ENOMEM / -EMSGSIZE (the frame is unchanged). */
int sl_frame_extend(sl_buf *out, size_t frame_off, const void *p, size_t len);

/*
 * Parses the frame at the start of data[0..avail). Returns the bytes it
 * spans (> 0) and fills *f; 0 if more bytes are needed; -EBADMSG if the
 * header is malformed (then the channel must be closed).
 */
long sl_frame_parse(const uint8_t *data, size_t avail, sl_frame *f);

/* ---- payload fields: a bounds-checked reader and the matching writer ---- */

typedef struct sl_reader {
    const uint8_t *p;
    size_t left;
    int err; /* sticky: -EBADMSG after the first short or bad read */
} sl_reader;

static inline sl_reader sl_reader_init(const void *p, size_t len)
{
    sl_reader r = {(const uint8_t *)p, len, 0};
    return r;
}
/* The next n bytes (pointing into the payload), or NULL. */
const uint8_t *sl_read_bytes(sl_reader *r, size_t n);
uint32_t sl_read_u32(sl_reader *r);
int32_t sl_read_i32(sl_reader *r);
uint64_t sl_read_u64(sl_reader *r);
double sl_read_f64(sl_reader *r);
/* A length-prefixed string; returns a pointer into the payload (not
 * NUL-terminated) and its length in *len. NULL on error. */
const char *sl_read_str(sl_reader *r, uint32_t *len);
/* 0 when every read succeeded and nothing is left over. */
int sl_reader_finish(const sl_reader *r);

/* Stores v little-endian at p (4 bytes), for fields written in place. */
void sl_put_u32(uint8_t *p, uint32_t v);
int sl_write_u32(sl_buf *b, uint32_t v);
int sl_write_i32(sl_buf *b, int32_t v);
int sl_write_u64(sl_buf *b, uint64_t v);
int sl_write_f64(sl_buf *b, double v);
int sl_write_str(sl_buf *b, const char *s, size_t len);
/* sl_write_str of a C string; NULL is written as "". */
int sl_write_cstr(sl_buf *b, const char *s);

#endif
