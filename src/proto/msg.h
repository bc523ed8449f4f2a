/*
 * msg.h: the structured payloads of frames (request, response head,
 * function table). Pure encode/decode, no I/O.
 *
 * Each decoder validates the whole payload and returns one malloc'd block
 * holding the struct and NUL-terminated copies of its strings: the caller
 * owns it and releases it with a single free().
 */
#ifndef SL_PROTO_MSG_H
#define SL_PROTO_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Bounds a decoder enforces; anything past them is a malformed frame. */
#define SL_MSG_MAX_HEADERS 256u
#define SL_MSG_MAX_FUNCTIONS 4096u

typedef struct sl_header_pair {
    const char *name;
    const char *value;
} sl_header_pair;

/* An HTTP request as a container sees it (the INPUT payload). */
typedef struct sl_request {
    const char *method, *path, *query;
    uint32_t nheaders;
    sl_header_pair *headers;
    const char *body; /* NUL-terminated for convenience; body_len excludes it */
    uint32_t body_len;
} sl_request;

/* The response's status and headers (the HEAD payload). */
typedef struct sl_head {
    uint32_t status;
    const char *content_type; /* "" when the function did not set one */
    uint32_t nheaders;
    sl_header_pair *headers;
} sl_head;

/* One function of the app (an entry of the FUNCTABLE payload). */
typedef struct sl_fninfo {
    const char *name;
    uint32_t is_web;
    const char *content_type, *method; /* "" when unset */
    int32_t max_inputs, min_containers, max_containers, buffer_containers;
    double scaledown_window;
    const char *gpu;                   /* "" when none */
    double timeout;                    /* 0: none */
    int32_t retries;
    double cpu;                        /* cores; 0: no limit */
    int32_t memory;                    /* MiB; 0: no limit */
} sl_fninfo;

typedef struct sl_functable {
    uint32_t count;
    sl_fninfo *fns;
} sl_functable;

/* A string that need not be NUL-terminated (as HTTP parsers hand them out). */
typedef struct sl_strv {
    const char *p;
    size_t len;
} sl_strv;

/* Encodes a request piecewise: begin, exactly `nheaders` add_header calls,
 * end. sl_request_encode does the same from a decoded sl_request. */
int sl_request_begin(sl_buf *b, sl_strv method, sl_strv path, sl_strv query, uint32_t nheaders);
int sl_request_add_header(sl_buf *b, sl_strv name, sl_strv value);
int sl_request_end(sl_buf *b, sl_strv body);
int sl_request_encode(sl_buf *b, const sl_request *req);
/* 0 and *out (caller frees), or -EBADMSG / -ENOMEM. */
int sl_request_decode(const void *p, size_t len, sl_request **out);

int sl_head_encode(sl_buf *b, const sl_head *head);
int sl_head_decode(const void *p, size_t len, sl_head **out);

int sl_functable_encode(sl_buf *b, const sl_functable *t);
int sl_functable_decode(const void *p, size_t len, sl_functable **out);

/* A function calling another (the CALL payload). */
typedef struct sl_callreq {
    uint32_t parent;       /* the caller's own call id */
    const char *fn;        /* the function to run */
    const char *arg;       /* argument bytes (NUL-terminated copy; arg_len excludes it) */
    uint32_t arg_len;
} sl_callreq;

int sl_callreq_encode(sl_buf *b, const sl_callreq *c);
int sl_callreq_decode(const void *p, size_t len, sl_callreq **out);

/* The server asking the zygote for a container (the SPAWN payload). */
int sl_spawnreq_encode(sl_buf *b, uint32_t container_id, uint32_t fn_index, const char *gpus);
/* *gpus points into the payload (gpus_len bytes, not NUL-terminated). */
int sl_spawnreq_decode(const void *p, size_t len, uint32_t *container_id, uint32_t *fn_index, const char **gpus,
                       uint32_t *gpus_len);

/* The CREDIT / CALL_CREDIT payload: u32 bytes taken by the consumer. */
#define SL_CREDIT_SIZE 4u
void sl_credit_encode(uint8_t out[SL_CREDIT_SIZE], uint32_t bytes);
int sl_credit_decode(const void *p, size_t len, uint32_t *bytes);

/* The EXITED payload: a container's pid and wait status, and what crashed
 * it: the call whose thread did (0 when none is known) and, for a map
 * batch, 1 + the input it was running (0 when not a batch). */
typedef struct sl_exit_info {
    uint32_t pid, status, crashed_call, crashed_input;
} sl_exit_info;
int sl_exited_encode(sl_buf *b, const sl_exit_info *e);
int sl_exited_decode(const void *p, size_t len, sl_exit_info *e);

/* The CALL_CRASHED payload: the input of the batch that crashed, and the
 * reason (raw UTF-8 to the end; *why points into the payload). */
int sl_crashed_encode(sl_buf *b, uint32_t input, const char *why, size_t len);
int sl_crashed_decode(const void *p, size_t len, uint32_t *input, const char **why, size_t *why_len);

/* Two 32-bit fields: SPAWN, SPAWNED, SPAWN_FAILED, CREDIT use them. */
int sl_pair_encode(sl_buf *b, uint32_t a, uint32_t c);
int sl_pair_decode(const void *p, size_t len, uint32_t *a, uint32_t *c);

#endif
