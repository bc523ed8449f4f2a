/*
 * khash.h: only so that h2o 2.2's <h2o/http2_internal.h> compiles. Debian's
 * libh2o-dev ships that header but not the klib "khash.h" it includes.
 *
 * gateway.c needs the header for one thing h2o 2.2 offers no public call
 * for: resetting one HTTP/2 stream (reset_http2_stream). It never touches
 * h2o's table of streams, the only thing khash is used for there; the one
 * user of these macros, h2o_http2_conn_get_stream(), is never called, and
 * with these definitions it would find nothing. Not klib: no hash table.
 */
#ifndef SL_COMPAT_KHASH_H
#define SL_COMPAT_KHASH_H

typedef unsigned khiter_t;
#define khash_t(name) struct sl_khash_unused_##name
#define KHASH_MAP_INIT_INT64(name, type)
#define kh_get(name, h, k) ((void)(h), (void)(k), 0u)
#define kh_end(h) ((void)(h), 0u)
#define kh_val(h, i) ((void)(h), (void)(i), (void *)0)

#endif
