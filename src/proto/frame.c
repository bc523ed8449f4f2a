#include "frame.h"

#include <errno.h>
#include <string.h>

void sl_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The one place a header is written: every appender goes through it. */
static int append_header(sl_buf *out, uint8_t type, uint8_t flags, uint32_t call_id, size_t len)
{
    if (len > SL_FRAME_MAX_PAYLOAD)
        return -EMSGSIZE;
    int r = sl_buf_reserve(out, SL_FRAME_HEADER_SIZE + len);
    if (r)
        return r;
    uint8_t *h = out->data + out->len;
    sl_put_u32(h, (uint32_t)len);
    h[4] = type;
    h[5] = flags;
    h[6] = h[7] = 0;
    sl_put_u32(h + 8, call_id);
    out->len += SL_FRAME_HEADER_SIZE;
    return 0;
}

int sl_frame_append_header(sl_buf *out, uint8_t type, uint32_t call_id, size_t len)
{
    return append_header(out, type, 0, call_id, len);
}

int sl_frame_append_flags(sl_buf *out, uint8_t type, uint8_t flags, uint32_t call_id, const void *payload,
                          size_t len)
{
    int r = append_header(out, type, flags, call_id, len);
    if (r)
        return r;
    return sl_buf_append(out, payload, len); /* space already reserved */
}

int sl_frame_append(sl_buf *out, uint8_t type, uint32_t call_id, const void *payload, size_t len)
{
    return sl_frame_append_flags(out, type, 0, call_id, payload, len);
}

int sl_frame_extend(sl_buf *out, size_t frame_off, const void *p, size_t len)
{
    uint8_t *h = out->data + frame_off;
    size_t cur = get_u32(h);
    if (cur + len > SL_FRAME_MAX_PAYLOAD)
        return -EMSGSIZE;
    int r = sl_buf_append(out, p, len);
    if (r)
        return r;
    sl_put_u32(out->data + frame_off, (uint32_t)(cur + len)); /* data may have moved */
    return 0;
}

long sl_frame_parse(const uint8_t *data, size_t avail, sl_frame *f)
{
    if (avail < SL_FRAME_HEADER_SIZE)
        return 0;
    uint32_t len = get_u32(data);
    if (len > SL_FRAME_MAX_PAYLOAD || data[4] == 0 || data[6] != 0 || data[7] != 0)
        return -EBADMSG;
    if (avail - SL_FRAME_HEADER_SIZE < len)
        return 0;
    f->len = len;
    f->type = data[4];
    f->flags = data[5];
    f->call_id = get_u32(data + 8);
    f->payload = data + SL_FRAME_HEADER_SIZE;
    return (long)(SL_FRAME_HEADER_SIZE + len);
}

/* ---- payload fields ---- */

const uint8_t *sl_read_bytes(sl_reader *r, size_t n)
{
    if (r->err || r->left < n) {
        r->err = -EBADMSG;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    r->left -= n;
    return p;
}

uint32_t sl_read_u32(sl_reader *r)
{
    const uint8_t *p = sl_read_bytes(r, 4);
    return p ? get_u32(p) : 0;
}

int32_t sl_read_i32(sl_reader *r)
{
    return (int32_t)sl_read_u32(r);
}

uint64_t sl_read_u64(sl_reader *r)
{
    uint64_t lo = sl_read_u32(r);
    uint64_t hi = sl_read_u32(r);
    return lo | hi << 32;
}

double sl_read_f64(sl_reader *r)
{
    uint64_t u = sl_read_u64(r);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

const char *sl_read_str(sl_reader *r, uint32_t *len)
{
    uint32_t n = sl_read_u32(r);
    const uint8_t *p = sl_read_bytes(r, n);
    *len = p ? n : 0;
    return (const char *)p;
}

int sl_reader_finish(const sl_reader *r)
{
    if (r->err)
        return r->err;
    return r->left ? -EBADMSG : 0;
}

int sl_write_u32(sl_buf *b, uint32_t v)
{
    uint8_t p[4];
    sl_put_u32(p, v);
    return sl_buf_append(b, p, 4);
}

int sl_write_i32(sl_buf *b, int32_t v)
{
    return sl_write_u32(b, (uint32_t)v);
}

int sl_write_u64(sl_buf *b, uint64_t v)
{
    int r = sl_write_u32(b, (uint32_t)v);
    return r ? r : sl_write_u32(b, (uint32_t)(v >> 32));
}

int sl_write_f64(sl_buf *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return sl_write_u64(b, u);
}

int sl_write_str(sl_buf *b, const char *s, size_t len)
{
    if (len > UINT32_MAX)
        return -EMSGSIZE;
    int r = sl_write_u32(b, (uint32_t)len);
    return r ? r : sl_buf_append(b, s, len);
}

int sl_write_cstr(sl_buf *b, const char *s)
{
    return s ? sl_write_str(b, s, strlen(s)) : sl_write_str(b, "", 0);
}
