#include "batch.h"

#include <errno.h>
#include <string.h>

int sl_batch_add(sl_buf *b, const void *p, size_t len)
{
    if (len > SL_FRAME_MAX_PAYLOAD)
        return -EMSGSIZE;
    uint8_t head[4];
    sl_put_u32(head, (uint32_t)len);
    int r = sl_buf_reserve(b, sizeof head + len);
    if (!r)
        r = sl_buf_append(b, head, sizeof head);
    if (!r)
        r = sl_buf_append(b, p, len);
    return r;
}

int sl_batch_next(sl_reader *r, const uint8_t **p, uint32_t *len)
{
    if (r->err)
        return r->err;
    if (r->left == 0)
        return 0;
    uint32_t n = sl_read_u32(r);
    const uint8_t *d = sl_read_bytes(r, n);
    if (!d)
        return -EBADMSG;
    *p = d;
    *len = n;
    return 1;
}

long sl_batch_count(const void *p, size_t len)
{
    sl_reader r = sl_reader_init(p, len);
    const uint8_t *d;
    uint32_t n;
    long count = 0;
    int k;
    while ((k = sl_batch_next(&r, &d, &n)) == 1)
        if (++count > (long)SL_BATCH_MAX_INPUTS)
            return -EBADMSG;
    return k < 0 ? k : count;
}

void sl_result_head(uint8_t out[SL_RESULT_HEAD_SIZE], uint32_t pos, uint8_t flags, uint32_t ns, uint32_t len)
{
    sl_put_u32(out, pos);
    out[4] = flags;
    sl_put_u32(out + 5, ns);
    sl_put_u32(out + 9, len);
}

int sl_result_append(sl_buf *b, const sl_result_rec *rec)
{
    uint8_t head[SL_RESULT_HEAD_SIZE];
    sl_result_head(head, rec->pos, rec->flags, rec->ns, rec->len);
    int r = sl_buf_reserve(b, sizeof head + rec->len);
    if (!r)
        r = sl_buf_append(b, head, sizeof head);
    if (!r && rec->len)
        r = sl_buf_append(b, rec->data, rec->len);
    return r;
}

int sl_result_next(sl_reader *r, sl_result_rec *out)
{
    if (r->err)
        return r->err;
    if (r->left == 0)
        return 0;
    out->pos = sl_read_u32(r);
    const uint8_t *f = sl_read_bytes(r, 1);
    out->ns = sl_read_u32(r);
    out->len = sl_read_u32(r);
    out->data = sl_read_bytes(r, out->len);
    if (!f || !out->data || (*f & ~(SL_RESULT_FAILED | SL_RESULT_TYPED)) ||
        *f == (SL_RESULT_FAILED | SL_RESULT_TYPED)) {
        r->err = -EBADMSG;
        return -EBADMSG;
    }
    out->flags = *f;
    return 1;
}
