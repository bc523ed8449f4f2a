#include "msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

/*
 * Decoding runs the same walk twice: once to validate and size the strings,
 * once to copy them into the block it allocates. `arena` is NULL in the
 * first pass; copy_str then only counts.
 */
typedef struct arena {
    char *next; /* where the next string goes; NULL while sizing */
    size_t need;
} arena;

static const char *copy_str(sl_reader *r, arena *a, uint32_t *len_out)
{
    uint32_t len;
    const char *s = sl_read_str(r, &len);
    if (!s)
        return NULL;
    if (len_out)
        *len_out = len;
    a->need += (size_t)len + 1;
    if (!a->next)
        return "";
    char *dst = a->next;
    memcpy(dst, s, len);
    dst[len] = '\0';
    a->next += (size_t)len + 1;
    return dst;
}

static int read_pairs(sl_reader *r, arena *a, uint32_t n, sl_header_pair *out)
{
    for (uint32_t i = 0; i < n; i++) {
        const char *name = copy_str(r, a, NULL);
        const char *value = copy_str(r, a, NULL);
        if (!name || !value)
            return -EBADMSG;
        if (out) {
            out[i].name = name;
            out[i].value = value;
        }
    }
    return 0;
}

static int write_pairs(sl_buf *b, uint32_t n, const sl_header_pair *h)
{
    int r = sl_write_u32(b, n);
    for (uint32_t i = 0; !r && i < n; i++) {
        r = sl_write_cstr(b, h[i].name);
        if (!r)
            r = sl_write_cstr(b, h[i].value);
    }
    return r;
}

/* Allocates the block for a struct of `fixed` bytes, `n` trailing array
 * entries of `elem` bytes, and `strings` bytes of strings. */
static void *alloc_block(size_t fixed, size_t n, size_t elem, size_t strings, char **strings_at)
{
    size_t head = fixed + n * elem;
    char *block = malloc(head + strings);
    if (block)
        *strings_at = block + head;
    return block;
}

/* ---- request ---- */

int sl_request_begin(sl_buf *b, sl_strv method, sl_strv path, sl_strv query, uint32_t nheaders)
{
    int r = sl_write_str(b, method.p, method.len);
    if (!r)
        r = sl_write_str(b, path.p, path.len);
    if (!r)
        r = sl_write_str(b, query.p, query.len);
    if (!r)
        r = sl_write_u32(b, nheaders);
    return r;
}

int sl_request_add_header(sl_buf *b, sl_strv name, sl_strv value)
{
    int r = sl_write_str(b, name.p, name.len);
    return r ? r : sl_write_str(b, value.p, value.len);
}

int sl_request_end(sl_buf *b, sl_strv body)
{
    return sl_write_str(b, body.p ? body.p : "", body.len);
}

static sl_strv strv(const char *s)
{
    sl_strv v = {s ? s : "", s ? strlen(s) : 0};
    return v;
}

int sl_request_encode(sl_buf *b, const sl_request *req)
{
    int r = sl_request_begin(b, strv(req->method), strv(req->path), strv(req->query), req->nheaders);
    for (uint32_t i = 0; !r && i < req->nheaders; i++)
        r = sl_request_add_header(b, strv(req->headers[i].name), strv(req->headers[i].value));
    if (!r) {
        sl_strv body = {req->body, req->body_len};
        r = sl_request_end(b, body);
    }
    return r;
}

static int walk_request(sl_reader r, arena *a, sl_request *out)
{
    sl_request q = {0};
    q.method = copy_str(&r, a, NULL);
    q.path = copy_str(&r, a, NULL);
    q.query = copy_str(&r, a, NULL);
    q.nheaders = sl_read_u32(&r);
    if (r.err || q.nheaders > SL_MSG_MAX_HEADERS)
        return -EBADMSG;
    if (out)
        q.headers = out->headers;
    if (read_pairs(&r, a, q.nheaders, q.headers))
        return -EBADMSG;
    q.body = copy_str(&r, a, &q.body_len);
    if (sl_reader_finish(&r))
        return -EBADMSG;
    if (out)
        *out = q;
    return (int)q.nheaders;
}

int sl_request_decode(const void *p, size_t len, sl_request **out)
{
    arena a = {NULL, 0};
    int n = walk_request(sl_reader_init(p, len), &a, NULL);
    if (n < 0)
        return n;
    sl_request *q = alloc_block(sizeof *q, (size_t)n, sizeof(sl_header_pair), a.need, &a.next);
    if (!q)
        return -ENOMEM;
    q->headers = (sl_header_pair *)(q + 1);
    a.need = 0;
    walk_request(sl_reader_init(p, len), &a, q);
    *out = q;
    return 0;
}

/* ---- head ---- */

int sl_head_encode(sl_buf *b, const sl_head *h)
{
    int r = sl_write_u32(b, h->status);
    if (!r)
        r = sl_write_cstr(b, h->content_type);
    if (!r)
        r = write_pairs(b, h->nheaders, h->headers);
    return r;
}

static int walk_head(sl_reader r, arena *a, sl_head *out)
{
    sl_head h = {0};
    h.status = sl_read_u32(&r);
    h.content_type = copy_str(&r, a, NULL);
    h.nheaders = sl_read_u32(&r);
    if (r.err || h.nheaders > SL_MSG_MAX_HEADERS || h.status < 100 || h.status > 999)
        return -EBADMSG;
    if (out)
        h.headers = out->headers;
    if (read_pairs(&r, a, h.nheaders, h.headers) || sl_reader_finish(&r))
        return -EBADMSG;
    if (out)
        *out = h;
    return (int)h.nheaders;
}

int sl_head_decode(const void *p, size_t len, sl_head **out)
{
    arena a = {NULL, 0};
    int n = walk_head(sl_reader_init(p, len), &a, NULL);
    if (n < 0)
        return n;
    sl_head *h = alloc_block(sizeof *h, (size_t)n, sizeof(sl_header_pair), a.need, &a.next);
    if (!h)
        return -ENOMEM;
    h->headers = (sl_header_pair *)(h + 1);
    walk_head(sl_reader_init(p, len), &a, h);
    *out = h;
    return 0;
}

/* ---- function table ---- */

int sl_functable_encode(sl_buf *b, const sl_functable *t)
{
    int r = sl_write_u32(b, t->count);
    for (uint32_t i = 0; !r && i < t->count; i++) {
        const sl_fninfo *f = &t->fns[i];
        r = sl_write_cstr(b, f->name);
        if (!r)
            r = sl_write_u32(b, f->is_web);
        if (!r)
            r = sl_write_cstr(b, f->content_type);
        if (!r)
            r = sl_write_cstr(b, f->method);
        if (!r)
            r = sl_write_i32(b, f->max_inputs);
        if (!r)
            r = sl_write_i32(b, f->min_containers);
        if (!r)
            r = sl_write_i32(b, f->max_containers);
        if (!r)
            r = sl_write_i32(b, f->buffer_containers);
        if (!r)
            r = sl_write_f64(b, f->scaledown_window);
        if (!r)
            r = sl_write_cstr(b, f->gpu);
        if (!r)
            r = sl_write_f64(b, f->timeout);
        if (!r)
            r = sl_write_i32(b, f->retries);
        if (!r)
            r = sl_write_f64(b, f->cpu);
        if (!r)
            r = sl_write_i32(b, f->memory);
    }
    return r;
}

static int walk_functable(sl_reader r, arena *a, sl_functable *out)
{
    uint32_t count = sl_read_u32(&r);
    if (r.err || count > SL_MSG_MAX_FUNCTIONS)
        return -EBADMSG;
    for (uint32_t i = 0; i < count; i++) {
        sl_fninfo f;
        f.name = copy_str(&r, a, NULL);
        f.is_web = sl_read_u32(&r);
        f.content_type = copy_str(&r, a, NULL);
        f.method = copy_str(&r, a, NULL);
        f.max_inputs = sl_read_i32(&r);
        f.min_containers = sl_read_i32(&r);
        f.max_containers = sl_read_i32(&r);
        f.buffer_containers = sl_read_i32(&r);
        f.scaledown_window = sl_read_f64(&r);
        f.gpu = copy_str(&r, a, NULL);
        f.timeout = sl_read_f64(&r);
        f.retries = sl_read_i32(&r);
        f.cpu = sl_read_f64(&r);
        f.memory = sl_read_i32(&r);
        if (r.err)
            return -EBADMSG;
        if (out)
            out->fns[i] = f;
    }
    if (sl_reader_finish(&r))
        return -EBADMSG;
    if (out)
        out->count = count;
    return (int)count;
}

int sl_functable_decode(const void *p, size_t len, sl_functable **out)
{
    arena a = {NULL, 0};
    int n = walk_functable(sl_reader_init(p, len), &a, NULL);
    if (n < 0)
        return n;
    sl_functable *t = alloc_block(sizeof *t, (size_t)n, sizeof(sl_fninfo), a.need, &a.next);
    if (!t)
        return -ENOMEM;
    t->fns = (sl_fninfo *)(t + 1);
    walk_functable(sl_reader_init(p, len), &a, t);
    *out = t;
    return 0;
}

/* ---- calls between functions ---- */

int sl_callreq_encode(sl_buf *b, const sl_callreq *c)
{
    int r = sl_write_u32(b, c->parent);
    if (!r)
        r = sl_write_cstr(b, c->fn);
    if (!r)
        r = sl_write_str(b, c->arg ? c->arg : "", c->arg_len);
    return r;
}

static int walk_callreq(sl_reader r, arena *a, sl_callreq *out)
{
    sl_callreq c;
    c.parent = sl_read_u32(&r);
    c.fn = copy_str(&r, a, NULL);
    c.arg = copy_str(&r, a, &c.arg_len);
    if (!c.fn || !c.arg || sl_reader_finish(&r))
        return -EBADMSG;
    if (out)
        *out = c;
    return 0;
}

int sl_callreq_decode(const void *p, size_t len, sl_callreq **out)
{
    arena a = {NULL, 0};
    int r = walk_callreq(sl_reader_init(p, len), &a, NULL);
    if (r < 0)
        return r;
    sl_callreq *c = alloc_block(sizeof *c, 0, 1, a.need, &a.next);
    if (!c)
        return -ENOMEM;
    walk_callreq(sl_reader_init(p, len), &a, c);
    *out = c;
    return 0;
}

/* ---- spawn requests ---- */

int sl_spawnreq_encode(sl_buf *b, uint32_t container_id, uint32_t fn_index, const char *gpus)
{
    int r = sl_pair_encode(b, container_id, fn_index);
    return r ? r : sl_write_cstr(b, gpus);
}

int sl_spawnreq_decode(const void *p, size_t len, uint32_t *container_id, uint32_t *fn_index, const char **gpus,
                       uint32_t *gpus_len)
{
    sl_reader r = sl_reader_init(p, len);
    *container_id = sl_read_u32(&r);
    *fn_index = sl_read_u32(&r);
    *gpus = sl_read_str(&r, gpus_len);
    return sl_reader_finish(&r);
}

/* ---- credit ---- */

void sl_credit_encode(uint8_t out[SL_CREDIT_SIZE], uint32_t bytes)
{
    sl_put_u32(out, bytes);
}

int sl_credit_decode(const void *p, size_t len, uint32_t *bytes)
{
    sl_reader r = sl_reader_init(p, len);
    *bytes = sl_read_u32(&r);
    return sl_reader_finish(&r);
}

/* ---- pairs ---- */

int sl_exited_encode(sl_buf *b, const sl_exit_info *e)
{
    int r = sl_pair_encode(b, e->pid, e->status);
    return r ? r : sl_pair_encode(b, e->crashed_call, e->crashed_input);
}

int sl_exited_decode(const void *p, size_t len, sl_exit_info *e)
{
    sl_reader r = sl_reader_init(p, len);
    e->pid = sl_read_u32(&r);
    e->status = sl_read_u32(&r);
    e->crashed_call = sl_read_u32(&r);
    e->crashed_input = sl_read_u32(&r);
    return sl_reader_finish(&r);
}

int sl_crashed_encode(sl_buf *b, uint32_t input, const char *why, size_t len)
{
    int r = sl_write_u32(b, input);
    return r ? r : sl_buf_append(b, why, len);
}

int sl_crashed_decode(const void *p, size_t len, uint32_t *input, const char **why, size_t *why_len)
{
    sl_reader r = sl_reader_init(p, len);
    *input = sl_read_u32(&r);
    if (r.err)
        return r.err;
    *why = (const char *)r.p;
    *why_len = r.left;
    return 0;
}

int sl_pair_encode(sl_buf *b, uint32_t a, uint32_t c)
{
    int r = sl_write_u32(b, a);
    return r ? r : sl_write_u32(b, c);
}

int sl_pair_decode(const void *p, size_t len, uint32_t *a, uint32_t *c)
{
    sl_reader r = sl_reader_init(p, len);
    *a = sl_read_u32(&r);
    *c = sl_read_u32(&r);
    return sl_reader_finish(&r);
}
