/* Typed values, for the integration tests: object arguments read with the
 * sl_value accessors, typed return values and yields, typed calls between
 * functions. */
#include <stdio.h>
#include <string.h>

#include <sluice.h>

/* Returns the builder's value (typed), and frees the builder. */
static int return_pack(sl_call *c, sl_pack *pk)
{
    int r = pk ? sl_return_value(c, pk) : SL_ENOMEM;
    sl_pack_free(pk);
    return r;
}

/* [{"name": "ada", "age": 36, "tags": ["math", ...], "address": {"city": ...}}]
 *   -> {"greeting": "hello ada", "next_age": 37, "ntags": 2, "first_tag":
 *       "math", "city": ..., "keys": [the object's keys, in order]} */
static int profile(sl_call *c)
{
    sl_value p = sl_arg_value(c, 0);
    if (sl_value_type(p) != SL_ARG_MAP)
        return sl_fail(c, "want an object, got kind %d", sl_value_type(p));
    const char *name = sl_value_str(sl_value_get(p, "name"), NULL);
    sl_value tags = sl_value_get(p, "tags");
    const char *city = sl_value_str(sl_value_get(sl_value_get(p, "address"), "city"), NULL);
    char greeting[128];
    snprintf(greeting, sizeof greeting, "hello %s", name ? name : "nobody");
    sl_pack *pk = sl_pack_new();
    sl_pack_map(pk, 6);
    sl_pack_str(pk, "greeting");
    sl_pack_str(pk, greeting);
    sl_pack_str(pk, "next_age");
    sl_pack_int(pk, sl_value_int(sl_value_get(p, "age")) + 1);
    sl_pack_str(pk, "ntags");
    sl_pack_int(pk, (long long)sl_value_len(tags));
    sl_pack_str(pk, "first_tag");
    sl_pack_value(pk, sl_value_at(tags, 0)); /* EINVAL if there is none: then the return fails */
    sl_pack_str(pk, "city");
    if (city)
        sl_pack_str(pk, city);
    else
        sl_pack_nil(pk);
    sl_pack_str(pk, "keys");
    sl_pack_list(pk, sl_value_len(p));
    for (size_t i = 0; i < sl_value_len(p); i++) {
        sl_value key;
        sl_value_entry(p, i, &key);
        sl_pack_value(pk, key);
    }
    return return_pack(c, pk);
}
SL_FUNCTION(profile);

/* [n] -> yields {"i": i, "square": i*i} for i < n, returns n (typed). */
static int squares(sl_call *c)
{
    long long n = sl_arg_int(c, 0);
    sl_pack *pk = sl_pack_new();
    if (!pk)
        return SL_ENOMEM;
    for (long long i = 0; i < n; i++) {
        sl_pack_reset(pk);
        sl_pack_map(pk, 2);
        sl_pack_str(pk, "i");
        sl_pack_int(pk, i);
        sl_pack_str(pk, "square");
        sl_pack_int(pk, i * i);
        if (sl_yield_value(c, pk) < 0)
            break;
        sl_sleep(c, 0.05);
    }
    sl_pack_reset(pk);
    sl_pack_int(pk, n);
    return return_pack(c, pk);
}
SL_FUNCTION(squares);

/* Returns its arguments as one typed list: JSON in, the same JSON out. */
static int echo(sl_call *c)
{
    sl_pack *pk = sl_pack_new();
    sl_pack_list(pk, (size_t)sl_nargs(c));
    for (int i = 0; i < sl_nargs(c); i++)
        sl_pack_value(pk, sl_arg_value(c, i));
    return return_pack(c, pk);
}
SL_FUNCTION(echo);

static const char *kind_name(int kind)
{
    static const char *names[] = {"none", "null", "bool", "int", "double", "str", "bytes", "list", "other", "map"};
    return kind >= 0 && kind <= SL_ARG_MAP ? names[kind] : "?";
}

/* [list of numbers, object of numbers] -> "list 3 sum 6; map 2 sum 30;
 * kinds list map none; missing: 0 (null) 0" (raw text: the accessors
 * on lists and maps, and on what is not there). */
static int sums(sl_call *c)
{
    sl_value list = sl_arg_value(c, 0), map = sl_arg_value(c, 1);
    double lsum = 0, msum = 0;
    for (size_t i = 0; i < sl_value_len(list); i++)
        lsum += sl_value_double(sl_value_at(list, i));
    for (size_t i = 0; i < sl_value_len(map); i++)
        msum += sl_value_double(sl_value_entry(map, i, NULL));
    const char *s = sl_value_str(sl_value_get(sl_value_at(list, 99), "x"), NULL);
    return sl_returnf(c, "list %zu sum %g; map %zu sum %g; kinds %s %s %s; missing: %lld (%s) %zu",
                      sl_value_len(list), lsum, sl_value_len(map), msum, kind_name(sl_arg_type(c, 0)),
                      kind_name(sl_arg_type(c, 1)), kind_name(sl_arg_type(c, 2)),
                      sl_value_int(sl_value_get(map, "nope")), s ? s : "null", sl_value_len(sl_arg_value(c, 5)));
}
SL_FUNCTION(sums);

/* Typed bytes: {"hex": "00ff41"}. */
static int blob(sl_call *c)
{
    sl_pack *pk = sl_pack_new();
    sl_pack_bytes(pk, "\x00\xff" "A", 3);
    return return_pack(c, pk);
}
SL_FUNCTION(blob);

/* Calls profile with typed arguments built here, decodes its typed return
 * with sl_value_decode, and returns part of it: {"via": "profile",
 * "greeting": ..., "next_age": ...}. */
static int relay(sl_call *c)
{
    sl_pack *arg = sl_pack_new();
    sl_pack_list(arg, 1);
    sl_pack_map(arg, 2);
    sl_pack_str(arg, "name");
    sl_pack_value(arg, sl_arg_value(c, 0));
    sl_pack_str(arg, "tags");
    sl_pack_list(arg, 1);
    sl_pack_str(arg, "relayed");
    size_t len;
    const void *data = sl_pack_data(arg, &len);
    const void *out;
    size_t out_len;
    int r = data ? sl_remote(c, "profile", data, len, &out, &out_len) : SL_EINVAL;
    sl_pack_free(arg);
    sl_value v;
    if (r < 0 || (r = sl_value_decode(out, out_len, &v)) < 0)
        return r;
    sl_pack *pk = sl_pack_new();
    sl_pack_map(pk, 3);
    sl_pack_str(pk, "via");
    sl_pack_str(pk, "profile");
    sl_pack_str(pk, "greeting");
    sl_pack_value(pk, sl_value_get(v, "greeting"));
    sl_pack_str(pk, "next_age");
    sl_pack_value(pk, sl_value_get(v, "next_age")); /* 1: no age was sent */
    sl_value_free(v);
    return return_pack(c, pk);
}
SL_FUNCTION(relay);

/* The builder's mistakes, as the return codes they give: an incomplete
 * value, a second top-level value. Returns "incomplete -22 second -22". */
static int builder_errors(sl_call *c)
{
    sl_pack *pk = sl_pack_new();
    sl_pack_list(pk, 2);
    sl_pack_int(pk, 1);
    int incomplete = sl_return_value(c, pk);
    sl_pack_int(pk, 2);
    int second = sl_pack_int(pk, 3);
    sl_pack_free(pk);
    return sl_returnf(c, "incomplete %d second %d", incomplete, second);
}
SL_FUNCTION(builder_errors);

/* Text for `sluice map --inputs` with object lines: "hello <name>\n". */
static int greet_text(sl_call *c)
{
    const char *name = sl_value_str(sl_value_get(sl_arg_value(c, 0), "name"), NULL);
    return sl_returnf(c, "hello %s\n", name ? name : "nobody");
}
SL_FUNCTION(greet_text);

/* A typed generator relayed through this call with sl_respond. */
static int respond_squares(sl_call *c)
{
    size_t len;
    const void *arg = sl_arg(c, &len);
    return sl_respond(c, sl_spawn(c, "squares", arg, len));
}
SL_FUNCTION(respond_squares);

/* The same, but sl_respond starts only once the first output is here, so
 * the outputs come through this container rather than being spliced by the
 * server: the caller must not see a difference. */
static int respond_squares_late(sl_call *c)
{
    size_t len;
    const void *arg = sl_arg(c, &len);
    sl_handle *h = sl_spawn(c, "squares", arg, len);
    if (h && sl_select(&h, 1, SL_FOREVER) < 0)
        return sl_fail(c, "squares never answered");
    return sl_respond(c, h);
}
SL_FUNCTION(respond_squares_late);

/* Typed values yielded and returned by web endpoints: the HTTP client
 * gets JSON (a line each; an event each on an event stream). */
static int web_typed(sl_call *c)
{
    long long n = 0;
    if (sl_query_int(c, "n", 2, &n) < 0)
        return sl_fail(c, "n must be an integer");
    sl_pack *pk = sl_pack_new();
    if (!pk)
        return SL_ENOMEM;
    for (long long i = 0; i < n; i++) {
        sl_pack_reset(pk);
        sl_pack_map(pk, 2);
        sl_pack_str(pk, "i");
        sl_pack_int(pk, i);
        sl_pack_str(pk, "tags");
        sl_pack_list(pk, 2);
        sl_pack_str(pk, "a\nb");
        sl_pack_nil(pk);
        if (sl_yield_value(c, pk) < 0)
            break;
    }
    sl_yieldf(c, "raw %lld\n", n); /* bytes stay bytes */
    sl_pack_reset(pk);
    sl_pack_str(pk, "done");
    return return_pack(c, pk);
}
SL_WEB_ENDPOINT(web_typed);

static int web_typed_sse(sl_call *c)
{
    return web_typed(c);
}
SL_WEB_ENDPOINT(web_typed_sse, .content_type = "text/event-stream");

static int web_typed_return(sl_call *c)
{
    sl_pack *pk = sl_pack_new();
    if (!pk)
        return SL_ENOMEM;
    sl_pack_map(pk, 1);
    sl_pack_str(pk, "ok");
    sl_pack_bool(pk, true);
    return return_pack(c, pk);
}
SL_WEB_ENDPOINT(web_typed_return, .content_type = "application/json");
