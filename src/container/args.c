/*
 * args.c: a call's typed arguments and typed results. On the wire a typed
 * argument list is a msgpack array (msgpack-c); a call's arguments are
 * decoded once, on first use, and kept until the call ends. Reading them
 * is value.c's reader; a typed result is a builder's bytes in an OUTPUT or
 * RETURN frame marked SL_FRAME_F_TYPED.
 */
#include <errno.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "container/container.h"
#include "container/value.h"
#include "proto/frame.h"

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

/* A call's decoded arguments (c->args). A batch decodes each input's
 * into the same one, reusing its memory. */
typedef struct decoded_args {
    msgpack_unpacked u;
    bool valid; /* u holds this input's arguments */
} decoded_args;

/* The call's arguments as a msgpack array, or NULL if they are not one.
 * Decoded on first use (strings NUL-terminated in the decoded zone) and
 * kept in c->args until the call ends. */
static const msgpack_object_array *args(sl_call *c)
{
    decoded_args *a = c->args;
    if (!a) {
        if (!(a = malloc(sizeof *a)))
            return NULL;
        msgpack_unpacked_init(&a->u);
        a->valid = false;
        c->args = a;
    }
    if (!a->valid) {
        if (sl_value_unpack_reusing(&a->u, c->req->body, c->req->body_len) || a->u.data.type != MSGPACK_OBJECT_ARRAY)
            a->u.data.type = MSGPACK_OBJECT_NIL; /* not typed arguments: remember that */
        a->valid = true;
    }
    return a->u.data.type == MSGPACK_OBJECT_ARRAY ? &a->u.data.via.array : NULL;
}

void sl_args_reset(struct sl_call *c)
{
    decoded_args *a = c->args;
    if (a)
        a->valid = false;
}

/* Argument i, or NULL when the call has no such typed argument. */
static const msgpack_object *arg(sl_call *c, int i)
{
    const msgpack_object_array *a = c ? args(c) : NULL;
    return a && i >= 0 && (uint32_t)i < a->size ? &a->ptr[i] : NULL;
}

void sl_args_free(struct sl_call *c)
{
    decoded_args *a = c->args;
    if (a) {
        msgpack_unpacked_destroy(&a->u);
        free(a);
    }
}

int sl_nargs(sl_call *c)
{
    const msgpack_object_array *a = c ? args(c) : NULL;
    return a ? (int)a->size : 0;
}

sl_value sl_arg_value(sl_call *c, int i)
{
    return sl_value_of(arg(c, i));
}

long long sl_arg_int(sl_call *c, int i)
{
    return sl_value_int(sl_arg_value(c, i));
}

const char *sl_arg_str(sl_call *c, int i, size_t *len)
{
    return sl_value_str(sl_arg_value(c, i), len);
}

double sl_arg_double(sl_call *c, int i)
{
    return sl_value_double(sl_arg_value(c, i));
}

int sl_arg_type(sl_call *c, int i)
{
    return sl_value_type(sl_arg_value(c, i));
}

/* All the items go in one buffer: a map over 50,000 inputs once made
 * 50,000 buffers of msgpack's 8 KiB initial size, each kept on its own. */
int sl_args_split_list(sl_call *c, int i, const void *const **items, const size_t **lens, size_t *n)
{
    const msgpack_object_array *a = args(c);
    if (!a || i < 0 || (uint32_t)i >= a->size || a->ptr[i].type != MSGPACK_OBJECT_ARRAY)
        return SL_EINVAL;
    const msgpack_object_array *list = &a->ptr[i].via.array;
    /* kept at once: sl_rt_keep frees what it cannot keep */
    const void **its = calloc(list->size ? list->size : 1, sizeof *its);
    if (!its || sl_rt_keep(c, its))
        return SL_ENOMEM;
    size_t *ends = calloc(list->size ? list->size : 1, sizeof *ends);
    if (!ends || sl_rt_keep(c, ends))
        return SL_ENOMEM;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    for (uint32_t k = 0; k < list->size; k++) {
        /* a list element is one input: an array already is an argument
         * list (starmap-style), anything else becomes a list of one */
        int r = list->ptr[k].type == MSGPACK_OBJECT_ARRAY ? msgpack_pack_object(&pk, list->ptr[k])
                                                           : msgpack_pack_array(&pk, 1) || msgpack_pack_object(&pk, list->ptr[k]);
        if (r) {
            msgpack_sbuffer_destroy(&sb);
            return SL_ENOMEM;
        }
        ends[k] = sb.size;
    }
    if (sb.data && sl_rt_keep(c, sb.data))
        return SL_ENOMEM;
    /* the buffer moved as it grew: pointers only now, lengths from ends */
    for (uint32_t k = list->size; k-- > 0;) {
        size_t start = k ? ends[k - 1] : 0;
        its[k] = sb.data + start;
        ends[k] -= start;
    }
    *items = (const void *const *)its;
    *lens = ends;
    *n = list->size;
    return 0;
}

/* ---- typed results ---- */

int sl_yield_value(sl_call *c, const sl_pack *pk)
{
    int r = c ? sl_pack_status(pk) : SL_EINVAL;
    size_t len;
    const void *p = sl_pack_data(pk, &len);
    if (r)
        return r;
    if (len > SL_MAX_MESSAGE)
        return SL_EMSGSIZE;
    return sl_rt_yield_flags(c, SL_FRAME_F_TYPED, p, len);
}

int sl_return_value(sl_call *c, const sl_pack *pk)
{
    int r = c ? sl_pack_status(pk) : SL_EINVAL;
    size_t len;
    const void *p = sl_pack_data(pk, &len);
    r = r ? r : sl_return(c, p, len); /* copies; checks size and repeats */
    if (!r)
        c->ret_flags = SL_FRAME_F_TYPED;
    return r;
}
