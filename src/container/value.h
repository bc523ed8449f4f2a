/*
 * value.h: what args.c needs of value.c beyond the public sl_value API
 * (internal). value.c depends on libmsgpack and libc only, so the unit
 * tests link it without a container.
 */
#ifndef SL_CONTAINER_VALUE_H
#define SL_CONTAINER_VALUE_H

#include <msgpack.h>

#include "sluice.h"

/* Unpacks exactly one msgpack value from data[0..len) into u (initialized
 * by the caller, destroyed by the caller even on error), with every
 * string copied NUL-terminated into u's zone: nothing in u refers to
 * `data` afterwards. 0, SL_EINVAL or SL_ENOMEM. */
int sl_value_unpack(msgpack_unpacked *u, const void *data, size_t len);
/* The same into a u that held a value before, reusing its zone's memory
 * (what was decoded into it before is gone): for a batch's inputs. */
int sl_value_unpack_reusing(msgpack_unpacked *u, const void *data, size_t len);

/* 0 when the builder holds exactly one complete value; else its error,
 * or SL_EINVAL while the value is incomplete. */
int sl_pack_status(const sl_pack *pk);

/* A view of object o (NULL: NONE); it owns nothing. */
static inline sl_value sl_value_of(const msgpack_object *o)
{
    sl_value v = {o, NULL};
    return v;
}

/* The object behind a view, or NULL for NONE. */
static inline const msgpack_object *sl_value_object(sl_value v)
{
    return (const msgpack_object *)v.obj_;
}

#endif
