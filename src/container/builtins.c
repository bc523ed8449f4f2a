/*
 * builtins.c: functions sluice adds to every app, named with a leading
 * "__" (unlisted). They run in containers like the app's own, so the
 * server stays free of app-level logic.
 *
 *   __sluice_map(fn, start, stop, ordered)   sl_map of fn over [start, stop),
 *   __sluice_map(fn, [inputs...], ordered)   or over a list (a list element
 *                                            is an argument list: starmap);
 *                                            each result an output: what
 *                                            `sluice map` and the call API use
 */
#include "container/container.h"

static int sluice_map(sl_call *c)
{
    const char *fn = sl_arg_str(c, 0, NULL);
    if (!fn || sl_nargs(c) < 3)
        return sl_fail(c, "__sluice_map wants [function, start, stop, ordered] or [function, [inputs], ordered]");
    if (sl_arg_type(c, 1) == SL_ARG_LIST) {
        const void *const *items;
        const size_t *lens;
        size_t n;
        int r = sl_args_split_list(c, 1, &items, &lens, &n);
        if (r)
            return r;
        sl_map_opts o = {.unordered = !sl_arg_int(c, 2)};
        return sl_respond(c, sl_map(c, fn, sl_items(items, lens, n), &o));
    }
    sl_map_opts o = {.unordered = sl_nargs(c) > 3 && !sl_arg_int(c, 3)};
    return sl_respond(c, sl_map(c, fn, sl_range(sl_arg_int(c, 1), sl_arg_int(c, 2)), &o));
}

static const sl_function_opts map_opts = {.abi = SL_ABI_VERSION};
static const sl_function_def map_def = {"__sluice_map", sluice_map, 0, &map_opts};

void sl_builtins_register(void)
{
    sl__register(&map_def);
}
