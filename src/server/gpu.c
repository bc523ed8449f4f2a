/*
 * gpu.c: the GPU inventory (see gpu.h). Parsers and bookkeeping are pure;
 * only sl_gpu_detect and sl_gpu_scan_proc touch the system.
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* popen, access, opendir when built alone */
#endif

#include "gpu.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- small helpers ---- */

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static bool is_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool is_model_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' || c == '_' ||
           c == '-';
}

/* ASCII case-insensitive comparison of p[0..n) with the string s. */
static bool span_ieq(const char *p, size_t n, const char *s)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)p[i]) != lower((unsigned char)s[i]))
            return false;
    return true;
}

static bool str_ieq(const char *a, const char *b)
{
    return span_ieq(a, strlen(a), b);
}

/* Copies s into dst[cap], cutting it short if need be. */
static void copy_str(char *dst, size_t cap, const char *s, size_t n)
{
    if (n > cap - 1)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static void inv_clear(sl_gpu_inventory *inv, const char *source)
{
    memset(inv, 0, sizeof *inv);
    copy_str(inv->source, sizeof inv->source, source, strlen(source));
}

/* Trims blanks off both ends of p[0..*n): returns the new start. */
static const char *trim(const char *p, size_t *n)
{
    while (*n && is_blank((unsigned char)*p)) {
        p++;
        (*n)--;
    }
    while (*n && is_blank((unsigned char)p[*n - 1]))
        (*n)--;
    return p;
}

/* Parses a count: 1..SL_GPU_MAX decimal digits, nothing else. 0 or -EINVAL. */
static int parse_count(const char *p, size_t n, int *out)
{
    if (n == 0)
        return -EINVAL;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit((unsigned char)p[i]))
            return -EINVAL;
        v = v * 10 + (p[i] - '0');
        if (v > SL_GPU_MAX)
            return -EINVAL;
    }
    if (v < 1)
        return -EINVAL;
    *out = v;
    return 0;
}

/* One MODEL[:COUNT] item of a declaration or a request: the model span (never
 * empty) and the count (1 if left out). */
typedef struct item {
    const char *model;
    size_t model_n;
    int count;
} item;

/* Parses p[0..n), blanks around it ignored, into *it; `what` names it in the
 * error. 0 or -EINVAL. */
static int parse_item(const char *p, size_t n, item *it, const char *what, char *err, size_t errlen)
{
    const char *orig = p;
    size_t orig_n = n;
    p = trim(p, &n);
    const char *colon = memchr(p, ':', n);
    size_t mn = colon ? (size_t)(colon - p) : n;
    if (mn == 0) {
        set_err(err, errlen, "%s \"%.*s\": missing model name", what, (int)orig_n, orig);
        return -EINVAL;
    }
    if (mn > SL_GPU_MODEL_MAX - 1) {
        set_err(err, errlen, "%s \"%.*s\": model name longer than %d characters", what, (int)orig_n, orig,
                SL_GPU_MODEL_MAX - 1);
        return -EINVAL;
    }
    for (size_t i = 0; i < mn; i++) {
        if (!is_model_char((unsigned char)p[i])) {
            set_err(err, errlen, "%s \"%.*s\": model names are letters, digits, '.', '_' and '-'", what,
                    (int)orig_n, orig);
            return -EINVAL;
        }
    }
    it->model = p;
    it->model_n = mn;
    it->count = 1;
    if (colon && parse_count(colon + 1, n - mn - 1, &it->count)) {
        set_err(err, errlen, "%s \"%.*s\": count must be a number from 1 to %d", what, (int)orig_n, orig,
                SL_GPU_MAX);
        return -EINVAL;
    }
    return 0;
}

/* ---- declared inventory ---- */

int sl_gpu_parse_inventory(const char *spec, sl_gpu_inventory *inv, char *err, size_t errlen)
{
    inv_clear(inv, "none");
    if (!spec) {
        set_err(err, errlen, "no GPU inventory given");
        return -EINVAL;
    }
    size_t all = strlen(spec);
    const char *s = trim(spec, &all);
    if (all == 0) {
        set_err(err, errlen, "empty GPU inventory (write \"none\" for no GPUs)");
        return -EINVAL;
    }
    if (span_ieq(s, all, "none"))
        return 0;

    sl_gpu_inventory tmp;
    inv_clear(&tmp, "");
    copy_str(tmp.source, sizeof tmp.source, spec, strlen(spec));
    const char *p = spec;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        item it;
        if (parse_item(p, n, &it, "GPU inventory item", err, errlen))
            return -EINVAL;
        if (span_ieq(it.model, it.model_n, "any") || span_ieq(it.model, it.model_n, "none")) {
            set_err(err, errlen, "GPU inventory item \"%.*s\": \"%.*s\" is reserved, not a model name",
                    (int)n, p, (int)it.model_n, it.model);
            return -EINVAL;
        }
        if (it.count > SL_GPU_MAX - tmp.count) {
            set_err(err, errlen, "GPU inventory \"%s\": more than %d devices", spec, SL_GPU_MAX);
            return -EINVAL;
        }
        for (int k = 0; k < it.count; k++)
            copy_str(tmp.model[tmp.count++], SL_GPU_MODEL_MAX, it.model, it.model_n);
        if (!comma)
            break;
        p = comma + 1;
    }
    *inv = tmp;
    return 0;
}

/* ---- nvidia-smi -L ---- */

/* A word of a GPU name: [p, p+n). */
typedef struct word {
    const char *p;
    size_t n;
} word;

/* Splits line[0..n) on blanks into at most max words. Returns how many. */
static int split_words(const char *line, size_t n, word *w, int max)
{
    int k = 0;
    size_t i = 0;
    while (i < n && k < max) {
        while (i < n && is_blank((unsigned char)line[i]))
            i++;
        size_t start = i;
        while (i < n && !is_blank((unsigned char)line[i]))
            i++;
        if (i > start)
            w[k++] = (word){line + start, i - start};
    }
    return k;
}

/* The short model name of a full GPU name (rule in gpu.h) into out[cap]. */
static void short_model(const char *name, size_t n, char *out, size_t cap)
{
    word w[16];
    int nw = split_words(name, n, w, 16);
    int i = 0;
    while (i < nw && (span_ieq(w[i].p, w[i].n, "NVIDIA") || span_ieq(w[i].p, w[i].n, "Tesla") ||
                      span_ieq(w[i].p, w[i].n, "GeForce") || span_ieq(w[i].p, w[i].n, "Quadro")))
        i++;

    char buf[128];
    size_t len = 0;
    if (i < nw) {
        word a = w[i];
        bool series = span_ieq(a.p, a.n, "RTX") || span_ieq(a.p, a.n, "GTX") || span_ieq(a.p, a.n, "GT");
        bool titan = span_ieq(a.p, a.n, "TITAN");
        if (i + 1 < nw && (titan || (series && is_digit((unsigned char)w[i + 1].p[0])))) {
            word b = w[i + 1];
            len = a.n < sizeof buf ? a.n : sizeof buf - 1;
            memcpy(buf, a.p, len);
            size_t m = b.n < sizeof buf - 1 - len ? b.n : sizeof buf - 1 - len;
            memcpy(buf + len, b.p, m);
            len += m;
        } else {
            if (series && i + 1 < nw)
                a = w[i + 1];
            len = a.n < sizeof buf ? a.n : sizeof buf - 1;
            memcpy(buf, a.p, len);
        }
    }
    const char *dash = memchr(buf, '-', len);
    if (dash)
        len = (size_t)(dash - buf);
    if (len == 0)
        copy_str(out, cap, "unknown", strlen("unknown"));
    else
        copy_str(out, cap, buf, len);
}

/* If line[0..n) is "GPU <digits>: <name> [(UUID: ...)]", sets the name span
 * and returns true. */
static bool gpu_line(const char *line, size_t n, const char **name, size_t *name_n)
{
    const char *p = trim(line, &n);
    if (n < 4 || memcmp(p, "GPU ", 4) != 0)
        return false;
    size_t i = 4;
    size_t digits = i;
    while (i < n && is_digit((unsigned char)p[i]))
        i++;
    if (i == digits || i >= n || p[i] != ':')
        return false;
    i++;
    const char *s = p + i;
    size_t sn = n - i;
    /* The name ends where " (UUID:" (or any " (") starts. */
    for (size_t k = 0; k < sn; k++) {
        if (s[k] == '(' && (k == 0 || is_blank((unsigned char)s[k - 1]))) {
            sn = k;
            break;
        }
    }
    s = trim(s, &sn);
    *name = s;
    *name_n = sn;
    return true;
}

int sl_gpu_parse_nvidia_smi(const char *text, sl_gpu_inventory *inv)
{
    inv_clear(inv, "nvidia-smi");
    if (!text)
        return 0;
    const char *p = text;
    while (*p && inv->count < SL_GPU_MAX) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        const char *name;
        size_t name_n;
        if (gpu_line(p, n, &name, &name_n)) {
            short_model(name, name_n, inv->model[inv->count], SL_GPU_MODEL_MAX);
            inv->count++;
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    return inv->count;
}

/* ---- /proc/driver/nvidia/gpus ---- */

int sl_gpu_scan_proc(const char *dir, sl_gpu_inventory *inv)
{
    inv_clear(inv, dir);
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    struct dirent *e;
    while ((e = readdir(d)) && inv->count < SL_GPU_MAX) {
        if (e->d_name[0] == '.')
            continue;
        copy_str(inv->model[inv->count], SL_GPU_MODEL_MAX, "unknown", strlen("unknown"));
        inv->count++;
    }
    closedir(d);
    return inv->count;
}

/* ---- detection ---- */

/* Whether an executable `prog` is in a directory of $PATH. */
static bool on_path(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    char full[4096];
    for (const char *p = path;;) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        int w = n ? snprintf(full, sizeof full, "%.*s/%s", (int)n, p, prog)
                  : snprintf(full, sizeof full, "./%s", prog);
        if (w > 0 && (size_t)w < sizeof full && access(full, X_OK) == 0)
            return true;
        if (!colon)
            return false;
        p = colon + 1;
    }
}

/* Runs `nvidia-smi -L` into *inv. Returns the number of GPUs it listed, 0 if
 * it failed or listed none. */
static int run_nvidia_smi(sl_gpu_inventory *inv)
{
    if (!on_path("nvidia-smi"))
        return 0;
    FILE *f = popen("nvidia-smi -L 2>/dev/null", "r");
    if (!f)
        return 0;
    /* 64 lines of ~100 bytes; more is read and dropped so that the child
     * never blocks on a full pipe. */
    char text[16384];
    size_t len = 0;
    char chunk[1024];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        size_t take = got < sizeof text - 1 - len ? got : sizeof text - 1 - len;
        memcpy(text + len, chunk, take);
        len += take;
    }
    text[len] = '\0';
    int status = pclose(f);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return 0;
    return sl_gpu_parse_nvidia_smi(text, inv);
}

int sl_gpu_detect(sl_gpu_inventory *inv, char *err, size_t errlen)
{
    const char *spec = getenv("SLUICE_GPUS");
    if (spec) {
        int r = sl_gpu_parse_inventory(spec, inv, err, errlen);
        if (r)
            return r;
        snprintf(inv->source, sizeof inv->source, "SLUICE_GPUS=%.51s", spec);
        return 0;
    }
    if (run_nvidia_smi(inv) > 0)
        return 0;
    if (sl_gpu_scan_proc("/proc/driver/nvidia/gpus", inv) > 0)
        return 0;
    inv_clear(inv, "none");
    return 0;
}

/* ---- requests and holding ---- */

int sl_gpu_parse_request(const char *opt, sl_gpu_request *req, char *err, size_t errlen)
{
    memset(req, 0, sizeof *req);
    if (!opt)
        return 0;
    size_t n = strlen(opt);
    const char *p = trim(opt, &n);
    if (n == 0)
        return 0;
    item it;
    if (parse_item(p, n, &it, "gpu option", err, errlen))
        return -EINVAL;
    if (span_ieq(it.model, it.model_n, "none")) {
        set_err(err, errlen, "gpu option \"%s\": \"none\" is not a model (leave the option out)", opt);
        return -EINVAL;
    }
    if (!span_ieq(it.model, it.model_n, "any"))
        copy_str(req->model, sizeof req->model, it.model, it.model_n);
    req->count = it.count;
    return 0;
}

static bool matches(const sl_gpu_inventory *inv, int i, const sl_gpu_request *req)
{
    return req->model[0] == '\0' || str_ieq(inv->model[i], req->model);
}

bool sl_gpu_satisfiable(const sl_gpu_inventory *inv, const sl_gpu_request *req)
{
    if (req->count <= 0)
        return true;
    int have = 0;
    for (int i = 0; i < inv->count; i++)
        if (matches(inv, i, req))
            have++;
    return have >= req->count;
}

int sl_gpu_free_count(const sl_gpu_inventory *inv, const sl_gpu_request *req)
{
    int n = 0;
    for (int i = 0; i < inv->count; i++)
        if (inv->owner[i] == 0 && matches(inv, i, req))
            n++;
    return n;
}

int sl_gpu_acquire(sl_gpu_inventory *inv, const sl_gpu_request *req, int owner, char *visible, size_t n)
{
    if (owner <= 0)
        return -EINVAL;
    if (!sl_gpu_satisfiable(inv, req))
        return -ENODEV;
    if (req->count > 0 && sl_gpu_free_count(inv, req) < req->count)
        return -EBUSY;

    /* Pick first and write the text, then take: nothing is taken on -ENOSPC. */
    int pick[SL_GPU_MAX];
    int picked = 0;
    char text[SL_GPU_VISIBLE_MAX];
    size_t len = 0;
    text[0] = '\0';
    for (int i = 0; i < inv->count && picked < req->count; i++) {
        if (inv->owner[i] != 0 || !matches(inv, i, req))
            continue;
        pick[picked++] = i;
        int w = snprintf(text + len, sizeof text - len, "%s%d", picked > 1 ? "," : "", i);
        if (w < 0 || (size_t)w >= sizeof text - len)
            return -ENOSPC; /* cannot happen: SL_GPU_VISIBLE_MAX fits 0..63 */
        len += (size_t)w;
    }
    if (!visible || len + 1 > n)
        return -ENOSPC;
    memcpy(visible, text, len + 1);
    for (int k = 0; k < picked; k++)
        inv->owner[pick[k]] = owner;
    return 0;
}

int sl_gpu_release(sl_gpu_inventory *inv, int owner)
{
    if (owner <= 0)
        return 0;
    int n = 0;
    for (int i = 0; i < inv->count; i++) {
        if (inv->owner[i] == owner) {
            inv->owner[i] = 0;
            n++;
        }
    }
    return n;
}
