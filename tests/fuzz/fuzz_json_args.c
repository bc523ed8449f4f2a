/*
 * fuzz_json_args.c: the call API's request parsing (src/server/
 * call_parse.c, typed_json.c) on arbitrary bytes.
 *
 * The input is a POST /_sluice/call body. If sl_api_parse_args takes it,
 * the msgpack it made must be what a container reads as typed arguments
 * (a list, through sl_value_decode), and shown back as JSON (as the call
 * API shows a typed value) it must equal the JSON that came in. If it
 * refuses it, it must say why. The same bytes also go in as an Accept
 * header and as the id of GET /_sluice/result/<id>.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "server/call_parse.h"
#include "server/typed_json.h"
#include "sluice.h"

/* The arguments as a container sees them: one typed list. */
static void check_typed(const sl_buf *args)
{
    sl_value v;
    int r = sl_value_decode(args->data, args->len, &v);
    FUZZ_CHECK(r == 0 || r == SL_ENOMEM);
    FUZZ_CHECK(r != 0 || sl_value_type(v) == SL_ARG_LIST);
    sl_value_free(v);
}

/* The arguments back as JSON: the very JSON the body held (the order of
 * an object's keys aside, which json_equal ignores). */
static void check_json(const uint8_t *body, size_t size, const sl_buf *args)
{
    json_t *in = size ? json_loadb((const char *)body, size, 0, NULL) : json_array();
    json_t *out = sl_msgpack_to_json(args->data, args->len);
    FUZZ_CHECK(in != NULL);
    if (out) { /* NULL only when out of memory */
        FUZZ_CHECK(json_equal(in, out));
        char *text = json_dumps(out, JSON_ENCODE_ANY | JSON_COMPACT);
        free(text);
    }
    json_decref(in);
    json_decref(out);
}

/* The body as call arguments, as sl_api_call parses it. */
static void check_args(const uint8_t *data, size_t size)
{
    sl_buf args = {0};
    char why[320] = "";
    int r = sl_api_parse_args((const char *)data, size, &args, why, sizeof why);
    FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
    if (r == 0) {
        FUZZ_CHECK(args.len > 0 && why[0] == '\0');
        check_typed(&args);
        check_json(data, size, &args);
    } else {
        FUZZ_CHECK(why[0] != '\0');
    }
    sl_buf_free(&args);
}

/* The bytes as an Accept header and as a result's call id. An id that
 * parses is one /_sluice/spawn could have given: its own %08x form
 * parses to it again. */
static void check_request_parts(const uint8_t *data, size_t size)
{
    sl_api_format f = sl_api_format_of((const char *)data, size);
    FUZZ_CHECK(f == SL_API_JSON || f == SL_API_SSE || f == SL_API_NDJSON);
    FUZZ_CHECK(sl_api_format_of(NULL, 0) == SL_API_JSON);
    uint32_t id, again;
    if (sl_api_parse_call_id((const char *)data, size, &id)) {
        char text[16];
        snprintf(text, sizeof text, "%08x", id);
        FUZZ_CHECK(sl_api_parse_call_id(text, strlen(text), &again) && again == id);
        FUZZ_CHECK(size == 8 && memcmp(text, data, 8) == 0); /* one spelling per id */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_args(data, size);
    check_request_parts(data, size);
    return 0;
}
