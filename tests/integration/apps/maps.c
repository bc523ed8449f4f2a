/* Maps, for the integration tests. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <sluice.h>

/* Input i finishes after (n - i) * 60 ms: completion order is reversed. */
static int sleepy(sl_call *c)
{
    long long i = sl_arg_int(c, 0);
    sl_sleep(c, (double)(10 - i) * 0.06);
    return sl_returnf(c, "result %lld\n", i);
}
SL_FUNCTION(sleepy);

static int reversed(sl_call *c)
{
    long long ordered;
    sl_query_int(c, "ordered", 1, &ordered);
    sl_map_opts o = {.unordered = !ordered};
    return sl_respond(c, sl_map(c, "sleepy", sl_range(0, 10), &o));
}
SL_WEB_ENDPOINT(reversed, .content_type = "text/plain");

/* Input 3 crashes its container. */
static int fragile(sl_call *c)
{
    long long i = sl_arg_int(c, 0);
    if (i == 3)
        raise(SIGSEGV);
    return sl_returnf(c, "ok %lld\n", i);
}
SL_FUNCTION(fragile, .max_inputs = 1);

/* Yields every result of map m, and an "error: " line for each failed
 * input; closes m. */
static int yield_results_and_errors(sl_call *c, sl_handle *m)
{
    const void *d;
    size_t n;
    int r;
    while ((r = sl_next(m, &d, &n, SL_FOREVER)) != 0) {
        if (r == 1)
            sl_yield(c, d, n);
        else if (r == SL_EFAILED)
            sl_yieldf(c, "error: %s\n", sl_handle_error(m));
        else
            break;
    }
    sl_close(m);
    return 0;
}

/* Every result, and an error item for each failed input. */
static int tolerant(sl_call *c)
{
    sl_map_opts o = {.return_exceptions = true};
    return yield_results_and_errors(c, sl_map(c, "fragile", sl_range(0, 10), &o));
}
SL_WEB_ENDPOINT(tolerant, .content_type = "text/plain");

static int strict(sl_call *c)
{
    return sl_respond(c, sl_map(c, "fragile", sl_range(0, 10), NULL));
}
SL_WEB_ENDPOINT(strict, .content_type = "text/plain");

static int square(sl_call *c)
{
    size_t len;
    const char *s = sl_arg(c, &len);
    return sl_returnf(c, "%.*s^2\n", (int)len, s);
}
SL_FUNCTION(square);

/* sl_items, and sl_select over two maps. */
static int two_maps(sl_call *c)
{
    static const char *words[] = {"a", "bb", "ccc"};
    static const size_t lens[] = {1, 2, 3};
    sl_handle *hs[2] = {sl_map(c, "square", sl_items((const void *const *)words, lens, 3), NULL),
                        sl_map(c, "sleepy", sl_range(8, 10), NULL)};
    int open = 2, got = 0;
    while (open > 0) {
        int k = sl_select(hs, 2, 10.0);
        if (k < 0)
            return sl_fail(c, "select: %s", sl_strerror(k));
        const void *d;
        size_t n;
        int r = sl_next(hs[k], &d, &n, 0);
        if (r == 1) {
            sl_yield(c, d, n);
            got++;
        } else if (r == 0) {
            sl_close(hs[k]);
            hs[k] = NULL;
            open--;
        } else {
            return sl_fail(c, "map %d: %s", k, sl_strerror(r));
        }
    }
    return sl_yieldf(c, "got %d\n", got);
}
SL_WEB_ENDPOINT(two_maps, .content_type = "text/plain");

/* Input 3210 of a quick map crashes its container: it runs inside a batch
 * of many inputs, which must still give every other result. */
static int brittle(sl_call *c)
{
    long long i = sl_arg_int(c, 0);
    if (i == 3210)
        raise(SIGSEGV);
    return sl_returnf(c, "ok %lld\n", i);
}
SL_FUNCTION(brittle);

static int tolerant_big(sl_call *c)
{
    sl_map_opts o = {.return_exceptions = true};
    return yield_results_and_errors(c, sl_map(c, "brittle", sl_range(0, 20000), &o));
}
SL_WEB_ENDPOINT(tolerant_big, .content_type = "text/plain");

/* Inputs from a function, produced only as the map takes them. */
typedef struct counter {
    long long next, stop, most_ahead, taken_by_map;
    char buf[32];
} counter;

static int count_up(void *ud, const void **data, size_t *len)
{
    counter *k = ud;
    if (k->next >= k->stop)
        return 0;
    int n = snprintf(k->buf, sizeof k->buf, "%lld", k->next++);
    *data = k->buf;
    *len = (size_t)n;
    return 1;
}

/* Every result, then how far ahead of the results the source was read at
 * most: the map pulls inputs only as its window frees up. */
static int sourced(sl_call *c)
{
    long long n;
    sl_query_int(c, "n", 100, &n);
    counter k = {.stop = n};
    sl_handle *m = sl_map(c, "square", sl_source(count_up, &k), NULL);
    const void *d;
    size_t len;
    long long got = 0;
    int r;
    while ((r = sl_next(m, &d, &len, SL_FOREVER)) == 1) {
        got++;
        if (k.next - got > k.most_ahead)
            k.most_ahead = k.next - got;
        if (sl_yield(c, d, len) < 0)
            break;
    }
    sl_close(m);
    if (r < 0)
        return sl_fail(c, "map: %s", sl_strerror(r));
    return sl_yieldf(c, "ahead %lld\n", k.most_ahead);
}
SL_WEB_ENDPOINT(sourced, .content_type = "text/plain");

/* A generator of words, one every 20 ms. */
static int words(sl_call *c)
{
    for (int i = 0; i < 10; i++) {
        if (sl_yieldf(c, "w%d", i) < 0)
            return 0;
        sl_sleep(c, 0.02);
    }
    return 0;
}
SL_FUNCTION(words);

/* A pipeline: generator `gen`'s outputs are square's inputs, as they come. */
static int square_outputs_of(sl_call *c, const char *gen)
{
    sl_handle *g = sl_spawn(c, gen, NULL, 0);
    int r = sl_respond(c, sl_map(c, "square", sl_outputs(g), NULL));
    sl_close(g);
    return r;
}

static int piped(sl_call *c)
{
    return square_outputs_of(c, "words");
}
SL_WEB_ENDPOINT(piped, .content_type = "text/plain");

/* A starmap: each input an argument list, packed as the map asks. */
static int greet(sl_call *c)
{
    return sl_returnf(c, "%s #%lld\n", sl_arg_str(c, 0, NULL), sl_arg_int(c, 1));
}
SL_FUNCTION(greet);

typedef struct job {
    const char **names;
    int i, n;
    sl_pack *pk;
} job;

static int next_args(void *ud, const void **data, size_t *len)
{
    job *j = ud;
    if (j->i == j->n)
        return 0;
    sl_pack_reset(j->pk);
    sl_pack_list(j->pk, 2);
    sl_pack_str(j->pk, j->names[j->i % 3]);
    sl_pack_int(j->pk, j->i++);
    *data = sl_pack_data(j->pk, len);
    return *data ? 1 : SL_ENOMEM;
}

static int starmapped(sl_call *c)
{
    static const char *names[] = {"ada", "bob", "cy"};
    job j = {names, 0, 6, sl_pack_new()};
    if (!j.pk)
        return SL_ENOMEM;
    int r = sl_respond(c, sl_map(c, "greet", sl_source(next_args, &j), NULL));
    sl_pack_free(j.pk);
    return r;
}
SL_WEB_ENDPOINT(starmapped, .content_type = "text/plain");

/* A generator that fails after three words. */
static int words_broken(sl_call *c)
{
    for (int i = 0; i < 3; i++)
        if (sl_yieldf(c, "w%d", i) < 0)
            return 0;
    return sl_fail(c, "ran out of words");
}
SL_FUNCTION(words_broken);

/* A pipeline whose source fails: the map fails, saying why. */
static int piped_broken(sl_call *c)
{
    return square_outputs_of(c, "words_broken");
}
SL_WEB_ENDPOINT(piped_broken, .content_type = "text/plain");
