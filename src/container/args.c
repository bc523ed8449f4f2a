/*
 * args.c: typed call arguments. On the wire a typed argument list is a
 * msgpack array (msgpack-c); a call's arguments are decoded once, on first
 * use, and kept until the call ends.
 */
#include <errno.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "container/container.h"

int sl_args_encode_int(long long v, void **out, size_t *len)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    if (msgpack_pack_array(&pk, 1) || msgpack_pack_long_long(&pk, v)) {
        msgpack_sbuffer_destroy(&sb);
        return SL_ENOMEM;
    }
    *out = sb.data; /* malloc'd by the sbuffer: the caller frees it */
    *len = sb.size;
    return 0;
}

/* The call's arguments as a msgpack array, or NULL if they are not one. */
static const msgpack_object_array *args(sl_call *c)
{
    if (!c->args) {
        msgpack_unpacked *u = malloc(sizeof *u);
        if (!u)
            return NULL;
        msgpack_unpacked_init(u);
        size_t off = 0;
        if (msgpack_unpack_next(u, c->req->body, c->req->body_len, &off) != MSGPACK_UNPACK_SUCCESS ||
            off != c->req->body_len || u->data.type != MSGPACK_OBJECT_ARRAY)
            u->data.type = MSGPACK_OBJECT_NIL; /* not typed arguments: remember that */
        c->args = u;
    }
    const msgpack_unpacked *u = c->args;
    return u->data.type == MSGPACK_OBJECT_ARRAY ? &u->data.via.array : NULL;
}

/* Argument i, or NULL when the call has no such typed argument. */
static const msgpack_object *arg(sl_call *c, int i)
{
    const msgpack_object_array *a = c ? args(c) : NULL;
    return a && i >= 0 && (uint32_t)i < a->size ? &a->ptr[i] : NULL;
}

void sl_args_free(struct sl_call *c)
{
    if (c->args) {
        msgpack_unpacked_destroy(c->args);
        free(c->args);
    }
}

int sl_nargs(sl_call *c)
{
    const msgpack_object_array *a = c ? args(c) : NULL;
    return a ? (int)a->size : 0;
}

long long sl_arg_int(sl_call *c, int i)
{
    const msgpack_object *o = arg(c, i);
    if (!o)
        return 0;
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return o->via.u64 > (uint64_t)LLONG_MAX ? LLONG_MAX : (long long)o->via.u64;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return (long long)o->via.i64;
    case MSGPACK_OBJECT_BOOLEAN:
        return o->via.boolean ? 1 : 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return (long long)o->via.f64;
    default:
        return 0;
    }
}

const char *sl_arg_str(sl_call *c, int i, size_t *len)
{
    const msgpack_object *o = arg(c, i);
    if (!o)
        return NULL;
    if (o->type != MSGPACK_OBJECT_STR && o->type != MSGPACK_OBJECT_BIN)
        return NULL;
    const char *p = o->type == MSGPACK_OBJECT_STR ? o->via.str.ptr : o->via.bin.ptr;
    uint32_t n = o->type == MSGPACK_OBJECT_STR ? o->via.str.size : o->via.bin.size;
    char *copy = malloc((size_t)n + 1); /* NUL-terminated, kept until the call ends */
    if (!copy || sl_rt_keep(c, copy))
        return NULL;
    memcpy(copy, p, n);
    copy[n] = '\0';
    if (len)
        *len = n;
    return copy;
}

double sl_arg_double(sl_call *c, int i)
{
    const msgpack_object *o = arg(c, i);
    if (!o)
        return 0;
    switch (o->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return o->via.f64;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return (double)o->via.u64;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return (double)o->via.i64;
    default:
        return 0;
    }
}

int sl_arg_type(sl_call *c, int i)
{
    const msgpack_object *o = arg(c, i);
    if (!o)
        return SL_ARG_NONE;
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return SL_ARG_INT;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return SL_ARG_DOUBLE;
    case MSGPACK_OBJECT_STR:
        return SL_ARG_STR;
    case MSGPACK_OBJECT_BIN:
        return SL_ARG_BYTES;
    case MSGPACK_OBJECT_BOOLEAN:
        return SL_ARG_BOOL;
    case MSGPACK_OBJECT_NIL:
        return SL_ARG_NULL;
    case MSGPACK_OBJECT_ARRAY:
        return SL_ARG_LIST;
    default:
        return SL_ARG_OTHER;
    }
}

int sl_args_split_list(sl_call *c, int i, const void *const **items, const size_t **lens, size_t *n)
{
    const msgpack_object_array *a = args(c);
    if (!a || i < 0 || (uint32_t)i >= a->size || a->ptr[i].type != MSGPACK_OBJECT_ARRAY)
        return SL_EINVAL;
    const msgpack_object_array *list = &a->ptr[i].via.array;
    void **its = calloc(list->size ? list->size : 1, sizeof *its);
    size_t *ls = calloc(list->size ? list->size : 1, sizeof *ls);
    if (!its || !ls || sl_rt_keep(c, its) || sl_rt_keep(c, ls)) {
        free(ls);
        return SL_ENOMEM;
    }
    for (uint32_t k = 0; k < list->size; k++) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        /* a list element is one input: an array already is an argument
         * list (starmap-style), anything else becomes a list of one */
        int r = list->ptr[k].type == MSGPACK_OBJECT_ARRAY ? msgpack_pack_object(&pk, list->ptr[k])
                                                           : msgpack_pack_array(&pk, 1) || msgpack_pack_object(&pk, list->ptr[k]);
        if (r || sl_rt_keep(c, sb.data)) {
            if (r)
                msgpack_sbuffer_destroy(&sb);
            return SL_ENOMEM;
        }
        its[k] = sb.data;
        ls[k] = sb.size;
    }
    *items = (const void *const *)its;
    *lens = ls;
    *n = list->size;
    return 0;
}
