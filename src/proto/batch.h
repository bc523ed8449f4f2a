/*
 * batch.h: the payloads of a map's batches. Pure encode/decode, no I/O.
 *
 * A map sends its inputs in batches: one CALL_MAP frame runs the callee on
 * each input of the batch in turn, inside one container call. Its argument
 * is the inputs, each
 *
 *     u32 len | len bytes                                (little-endian)
 *
 * and each result comes back as a record in the call's OUTPUT frames
 * (several records per frame when they pile up):
 *
 *     u32 pos | u8 flags | u32 ns | u32 len | len bytes
 *
 * `pos` is the input's place in its batch; `flags` say whether the bytes
 * are a failure reason (SL_RESULT_FAILED) or a return value, typed or not
 * (SL_RESULT_TYPED); `ns` is how long the input ran, which the caller uses
 * to size its next batches.
 */
#ifndef SL_PROTO_BATCH_H
#define SL_PROTO_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "frame.h"

/* The most inputs one batch carries (a decoder refuses more). */
#define SL_BATCH_MAX_INPUTS 4096u
#define SL_RESULT_HEAD_SIZE 13u
#define SL_RESULT_FAILED 1u
#define SL_RESULT_TYPED 2u  /* one msgpack value (as SL_FRAME_F_TYPED) */

/* Appends one input to a batch argument. 0 or -ENOMEM / -EMSGSIZE. */
int sl_batch_add(sl_buf *b, const void *p, size_t len);

/* The next input of a batch argument: 1 and *p, *len (pointing into the
 * payload); 0 at the end; -EBADMSG if the payload is malformed. */
int sl_batch_next(sl_reader *r, const uint8_t **p, uint32_t *len);

/* Counts a batch argument's inputs, checking the whole payload: the count,
 * or -EBADMSG (malformed, or more than SL_BATCH_MAX_INPUTS). */
long sl_batch_count(const void *p, size_t len);

typedef struct sl_result_rec {
    uint32_t pos;
    uint8_t flags;       /* SL_RESULT_* */
    uint32_t ns;
    const uint8_t *data; /* points into the payload it was read from */
    uint32_t len;
} sl_result_rec;

/* Writes a record's head (all but the bytes) into out. */
void sl_result_head(uint8_t out[SL_RESULT_HEAD_SIZE], uint32_t pos, uint8_t flags, uint32_t ns, uint32_t len);

/* Appends a whole record. 0 or -ENOMEM. */
int sl_result_append(sl_buf *b, const sl_result_rec *rec);

/* The next record of an OUTPUT payload: 1, 0 at the end, or -EBADMSG. */
int sl_result_next(sl_reader *r, sl_result_rec *out);

#endif
