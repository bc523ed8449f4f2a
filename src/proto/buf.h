/* buf.h: a growable byte buffer, the unit every encoder writes into. */
#ifndef SL_PROTO_BUF_H
#define SL_PROTO_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct sl_buf {
    uint8_t *data;  /* owned; NULL until the first append */
    size_t len;
    size_t cap;
} sl_buf;

/* Makes room for `extra` more bytes. 0 or -ENOMEM. */
int sl_buf_reserve(sl_buf *b, size_t extra);
int sl_buf_append(sl_buf *b, const void *p, size_t n);
/* Drops the first `n` bytes, keeping the rest. */
void sl_buf_consume(sl_buf *b, size_t n);
/* Swaps contents: how a filled buffer is handed to a writer. */
void sl_buf_swap(sl_buf *a, sl_buf *b);
/* Frees the storage; the buffer is empty and reusable afterwards. */
void sl_buf_free(sl_buf *b);

#endif
