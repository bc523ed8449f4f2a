/* api.c: the sl_* functions an app calls, as declared in sluice.h. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "container/container.h"

const char *sl_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case SL_EFAILED:
        return "function failed";
    case SL_ECANCELED:
        return "call cancelled";
    default:
        return err < 0 ? strerror(-err) : "unknown error";
    }
}

/* vsnprintf into a malloc'd string (caller frees); NULL on failure. */
static char *vformat(const char *fmt, va_list ap, size_t *len_out)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    if (len_out)
        *len_out = (size_t)n;
    return s;
}

/* ---- output ---- */

int sl_yield(sl_call *c, const void *data, size_t len)
{
    if (!c || (!data && len))
        return SL_EINVAL;
    if (len > SL_MAX_MESSAGE)
        return SL_EMSGSIZE;
    if (len == 0)
        return sl_rt_cancelled(c) ? SL_ECANCELED : 0;
    return sl_rt_yield(c, data, len);
}

int sl_yieldf(sl_call *c, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return SL_EINVAL;
    if ((size_t)n < sizeof small)
        return sl_yield(c, small, (size_t)n);
    size_t len;
    va_start(ap, fmt);
    char *big = vformat(fmt, ap, &len);
    va_end(ap);
    if (!big)
        return SL_ENOMEM;
    int r = sl_yield(c, big, len);
    free(big);
    return r;
}

/* Sets the return value, taking ownership of `owned` (freed on failure). */
static int take_return(sl_call *c, char *owned, size_t len)
{
    int r = c->has_ret ? SL_EALREADY : len > SL_MAX_MESSAGE ? SL_EMSGSIZE : 0;
    if (r) {
        free(owned);
        return r;
    }
    c->ret = owned;
    c->ret_len = len;
    c->has_ret = true;
    return 0;
}

int sl_return(sl_call *c, const void *data, size_t len)
{
    if (!c || (!data && len))
        return SL_EINVAL;
    if (c->has_ret)
        return SL_EALREADY;
    if (len > SL_MAX_MESSAGE)
        return SL_EMSGSIZE; /* before copying it */
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return SL_ENOMEM;
    if (len)
        memcpy(copy, data, len);
    return take_return(c, copy, len);
}

int sl_returnf(sl_call *c, const char *fmt, ...)
{
    size_t len;
    va_list ap;
    va_start(ap, fmt);
    char *s = c ? vformat(fmt, ap, &len) : NULL;
    va_end(ap);
    if (!c)
        return SL_EINVAL;
    return s ? take_return(c, s, len) : SL_ENOMEM;
}

int sl_fail(sl_call *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = vformat(fmt, ap, NULL);
    va_end(ap);
    if (c && s) {
        free(c->fail_msg);
        c->fail_msg = s;
    } else {
        free(s);
    }
    return SL_EFAILED;
}

/* ---- cancellation and time ---- */

int sl_sleep(sl_call *c, double seconds)
{
    if (!c || seconds != seconds)
        return SL_EINVAL;
    return sl_rt_sleep(c, seconds);
}

bool sl_cancelled(const sl_call *c)
{
    return c && sl_rt_cancelled(c);
}

/* ---- the request ---- */

const char *sl_method(const sl_call *c)
{
    return c->req->method;
}

const char *sl_path(const sl_call *c)
{
    return c->req->path;
}

const char *sl_query(const sl_call *c)
{
    return c->req->query;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Percent-decodes s[0..n) ('+' is a space) into a new string (caller frees). */
static char *url_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
                   (lo = hexval(s[i + 2])) >= 0) {
            *o++ = (char)(hi << 4 | lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

const char *sl_query_param(sl_call *c, const char *name)
{
    if (!c || !name)
        return NULL;
    size_t nlen = strlen(name);
    const char *q = c->req->query;
    while (*q) {
        const char *end = strchr(q, '&');
        size_t len = end ? (size_t)(end - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        size_t klen = eq ? (size_t)(eq - q) : len;
        char *key = url_decode(q, klen);
        bool match = key && strlen(key) == nlen && memcmp(key, name, nlen) == 0;
        free(key);
        if (match) {
            char *v = eq ? url_decode(eq + 1, len - klen - 1) : url_decode("", 0);
            if (!v || sl_rt_keep(c, v))
                return NULL;
            return v;
        }
        if (!end)
            break;
        q = end + 1;
    }
    return NULL;
}

int sl_query_int(sl_call *c, const char *name, long long dflt, long long *out)
{
    if (!out)
        return SL_EINVAL;
    const char *v = sl_query_param(c, name);
    if (!v) {
        *out = dflt;
        return 0;
    }
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || errno)
        return SL_EINVAL;
    *out = n;
    return 0;
}

const char *sl_header(const sl_call *c, const char *name)
{
    for (uint32_t i = 0; i < c->req->nheaders; i++)
        if (strcasecmp(c->req->headers[i].name, name) == 0)
            return c->req->headers[i].value;
    return NULL;
}

const void *sl_body(const sl_call *c, size_t *len)
{
    if (len)
        *len = c->req->body_len;
    return c->req->body;
}

const void *sl_arg(const sl_call *c, size_t *len)
{
    return sl_body(c, len);
}

/* ---- the response head ---- */

static bool is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
            return false;
    return true;
}

static bool has_line_break(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

int sl_set_status(sl_call *c, int status)
{
    if (c->head_sent)
        return SL_EALREADY;
    if (status < 100 || status > 999)
        return SL_EINVAL;
    c->status = status;
    return 0;
}

int sl_set_content_type(sl_call *c, const char *content_type)
{
    if (c->head_sent)
        return SL_EALREADY;
    if (!content_type || has_line_break(content_type))
        return SL_EINVAL;
    char *copy = strdup(content_type);
    if (!copy)
        return SL_ENOMEM;
    free(c->content_type);
    c->content_type = copy;
    return 0;
}

int sl_set_header(sl_call *c, const char *name, const char *value)
{
    if (c->head_sent)
        return SL_EALREADY;
    if (!name || !value || !is_token(name) || has_line_break(value) || c->nheaders >= SL_MSG_MAX_HEADERS)
        return SL_EINVAL;
    if (strcasecmp(name, "content-type") == 0)
        return sl_set_content_type(c, value);
    sl_header_pair *h = realloc(c->headers, (c->nheaders + 1) * sizeof *h);
    if (!h)
        return SL_ENOMEM;
    c->headers = h;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return SL_ENOMEM;
    }
    h[c->nheaders].name = n;
    h[c->nheaders].value = v;
    c->nheaders++;
    return 0;
}
