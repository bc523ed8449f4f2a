/* status.c: GET /_sluice/status, the server's state as JSON (jansson). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "container/container.h"
#include "server/server.h"

static const char *state_name(sl_container_state s)
{
    switch (s) {
    case SL_CT_STARTING: return "starting";
    case SL_CT_READY: return "ready";
    case SL_CT_DRAINING: return "draining";
    default: return "dead";
    }
}

static json_t *container_json(const sl_container *ct)
{
    /* null, not 0, while the zygote has not yet said which process it is:
     * a script that kills the pids it reads must not kill its own group */
    json_t *pid = ct->pid > 0 ? json_integer(ct->pid) : json_null();
    return json_pack("{s:i, s:o, s:s, s:i, s:s}", "id", (int)ct->id, "pid", pid, "state", state_name(ct->state),
                     "inputs_in_flight", ct->inflight, "gpu", ct->gpus);
}

static json_t *function_json(const sl_function *fn)
{
    json_t *cts = json_array();
    sl_list_each(it, (sl_list *)&fn->containers)
        json_array_append_new(cts, container_json(sl_container_of(it, sl_container, link)));
    json_t *calls = json_pack("{s:I, s:I, s:I, s:I, s:I}", "started", (json_int_t)fn->calls_started, "succeeded",
                              (json_int_t)fn->calls_ok, "failed", (json_int_t)fn->calls_failed, "cancelled",
                              (json_int_t)fn->calls_cancelled, "retried", (json_int_t)fn->calls_retried);
    json_t *lifecycle = json_pack("{s:I, s:I, s:I}", "started", (json_int_t)fn->containers_started, "lost",
                                  (json_int_t)fn->containers_lost, "killed", (json_int_t)fn->containers_killed);
    return json_pack("{s:s, s:b, s:s, s:s, s:i, s:i, s:i, s:i, s:f, s:i, s:f, s:i, s:I, s:o, s:o, s:o}", "name",
                     fn->info.name, "web", (int)fn->info.is_web, "content_type", fn->info.content_type, "gpu",
                     fn->info.gpu, "max_inputs", fn->info.max_inputs, "min_containers", fn->info.min_containers,
                     "max_containers", fn->info.max_containers, "buffer_containers", fn->info.buffer_containers,
                     "timeout", fn->info.timeout, "retries", fn->info.retries, "cpu", fn->info.cpu, "memory_mib",
                     fn->info.memory, "queued", (json_int_t)fn->nqueued, "calls", calls, "containers_lifecycle",
                     lifecycle, "containers", cts);
}

static json_t *gpus_json(void)
{
    json_t *devices = json_array();
    for (int i = 0; i < sl_gpus.count; i++)
        json_array_append_new(devices, json_pack("{s:i, s:s, s:i}", "index", i, "model", sl_gpus.model[i],
                                                 "container", sl_gpus.owner[i]));
    return json_pack("{s:s, s:o}", "source", sl_gpus.source, "devices", devices);
}

void sl_status_respond(h2o_req_t *req)
{
    static h2o_generator_t gen = {NULL, NULL};
    json_t *fns = json_array();
    for (uint32_t i = 0; i < sl_nfunctions; i++)
        json_array_append_new(fns, function_json(&sl_functions[i]));
    json_t *limits = json_pack("{s:s, s:s}", "memory", sl_limits_memory_mechanism(), "cpu", sl_limits_cpu_mechanism());
    json_t *doc = json_pack("{s:I, s:o, s:o, s:o}", "open_streams", (json_int_t)sl_gateway_open_streams(), "gpus",
                            gpus_json(), "limits_enforced_by", limits, "functions", fns);
    char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
    json_decref(doc);
    if (!text) {
        h2o_send_error_generic(req, 500, "Internal Server Error", "cannot build the status document\n", 0);
        return;
    }
    h2o_iovec_t body = h2o_strdup(&req->pool, text, SIZE_MAX);
    free(text);
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
    req->res.content_length = body.len;
    h2o_start_response(req, &gen);
    h2o_send(req, &body, sl_is_head(req) ? 0 : 1, H2O_SEND_STATE_FINAL);
}
