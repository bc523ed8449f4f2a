/* registry.c: the app's function table, filled by SL_FUNCTION /
 * SL_WEB_ENDPOINT constructors when the zygote loads the app. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "container/container.h"
#include "proto/limits.h"

static const sl_function_def *g_defs[SL_MSG_MAX_FUNCTIONS];
static unsigned g_count;
static unsigned g_dropped; /* registrations past the table's size or bad ABI */

void sl__register(const sl_function_def *def)
{
    if (!def || !def->opts || def->opts->abi != SL_ABI_VERSION || g_count == SL_MSG_MAX_FUNCTIONS) {
        g_dropped++;
        return;
    }
    g_defs[g_count++] = def;
}

unsigned sl_registry_count(void)
{
    return g_count;
}

const sl_function_def *sl_registry_get(unsigned i)
{
    return i < g_count ? g_defs[i] : NULL;
}

static const char *or_default(const char *s, const char *dflt)
{
    return s && *s ? s : dflt;
}

void sl_registry_info(unsigned i, sl_fninfo *out)
{
    const sl_function_def *d = g_defs[i];
    const sl_function_opts *o = d->opts;
    out->name = d->name;
    out->is_web = d->is_web ? 1 : 0;
    out->content_type = or_default(o->content_type, SL_DEFAULT_CONTENT_TYPE);
    out->method = or_default(o->method, SL_DEFAULT_METHOD);
    out->gpu = or_default(o->gpu, "");
    out->max_inputs = o->max_inputs ? o->max_inputs : *out->gpu ? 1 : SL_DEFAULT_MAX_INPUTS;
    out->min_containers = o->min_containers;
    out->max_containers = o->max_containers ? o->max_containers : SL_DEFAULT_MAX_CONTAINERS;
    out->buffer_containers = o->buffer_containers;
    out->scaledown_window = o->scaledown_window > 0 ? o->scaledown_window : SL_DEFAULT_SCALEDOWN_WINDOW;
    out->timeout = o->timeout;
    out->retries = o->retries;
    out->cpu = o->cpu;
    out->memory = o->memory;
}

static int check_function(unsigned i)
{
    sl_fninfo f;
    sl_registry_info(i, &f);
    int bad = 0;
#define CHECK(cond, ...)                                                                                                   \
    do {                                                                                                                   \
        if (!(cond)) {                                                                                                     \
            fprintf(stderr, "sluice: function %s: ", f.name);                                                              \
            fprintf(stderr, __VA_ARGS__);                                                                                  \
            fputc('\n', stderr);                                                                                           \
            bad = 1;                                                                                                       \
        }                                                                                                                  \
    } while (0)
    CHECK(f.max_inputs >= 1 && f.max_inputs <= 10000, "max_inputs must be 1..10000 (got %d)", f.max_inputs);
    CHECK(f.max_containers >= 1 && f.max_containers <= 10000, "max_containers must be 1..10000 (got %d)",
          f.max_containers);
    CHECK(f.min_containers >= 0 && f.min_containers <= f.max_containers,
          "min_containers must be 0..max_containers (got %d)", f.min_containers);
    CHECK(strchr(f.content_type, '\n') == NULL && strchr(f.content_type, '\r') == NULL,
          "content_type has a line break");
    CHECK(f.buffer_containers >= 0 && f.buffer_containers <= f.max_containers,
          "buffer_containers must be 0..max_containers (got %d)", f.buffer_containers);
    CHECK(f.timeout >= 0 && f.timeout <= 1e7, "timeout must be 0 (none) or seconds up to 1e7 (got %g)", f.timeout);
    CHECK(f.retries >= 0 && f.retries <= 100, "retries must be 0..100 (got %d)", f.retries);
    CHECK(f.scaledown_window <= 1e7, "scaledown_window is too large (%g)", f.scaledown_window);
    CHECK(f.cpu >= 0 && f.cpu <= 1024, "cpu must be 0 (no limit) or cores up to 1024 (got %g)", f.cpu);
    CHECK(f.memory >= 0, "memory must be 0 (no limit) or MiB (got %d)", f.memory);
    for (unsigned j = 0; j < i; j++)
        CHECK(strcmp(g_defs[j]->name, f.name) != 0, "declared twice");
#undef CHECK
    return bad;
}

int sl_registry_validate(void)
{
    int bad = 0;
    if (g_dropped) {
        fprintf(stderr, "sluice: %u function(s) could not be registered (app built against another sluice.h?)\n",
                g_dropped);
        bad = 1;
    }
    if (g_count == 0) {
        fprintf(stderr, "sluice: the app declares no functions (use SL_FUNCTION or SL_WEB_ENDPOINT)\n");
        bad = 1;
    }
    for (unsigned i = 0; i < g_count; i++)
        bad |= check_function(i);
    return bad ? -EINVAL : 0;
}
