/*
 * test_gpu.c: unit tests of src/server/gpu.c (the GPU inventory: declared and
 * detected devices, functions' gpu requests, and who holds which device).
 *
 * Texts handed to a parser are copied into exact-size heap blocks first, so
 * that under AddressSanitizer a read one byte too far is caught. The detect()
 * tests change SLUICE_GPUS and PATH (restored by their teardown) and put a
 * fake nvidia-smi script in a temporary directory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/gpu.h"

/* ---- helpers ---- */

/* An exact-size heap copy of s (NULL stays NULL); free() it. */
static char *dup_str(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    assert_non_null(d);
    return d;
}

static int parse_inv(const char *spec, sl_gpu_inventory *inv, char *err, size_t errlen)
{
    char *d = dup_str(spec);
    int r = sl_gpu_parse_inventory(d, inv, err, errlen);
    free(d);
    return r;
}

static int parse_smi(const char *text, sl_gpu_inventory *inv)
{
    char *d = dup_str(text);
    int r = sl_gpu_parse_nvidia_smi(d, inv);
    free(d);
    return r;
}

static int parse_req(const char *opt, sl_gpu_request *req, char *err, size_t errlen)
{
    char *d = dup_str(opt);
    int r = sl_gpu_parse_request(d, req, err, errlen);
    free(d);
    return r;
}

/* An inventory from a spec that must parse. */
static sl_gpu_inventory inv_of(const char *spec)
{
    sl_gpu_inventory inv;
    char err[128] = "";
    assert_int_equal(parse_inv(spec, &inv, err, sizeof err), 0);
    return inv;
}

/* A request from an option that must parse. */
static sl_gpu_request req_of(const char *opt)
{
    sl_gpu_request req;
    char err[128] = "";
    assert_int_equal(parse_req(opt, &req, err, sizeof err), 0);
    return req;
}

/* Asserts that `spec` is a bad inventory: -EINVAL, a one-line reason, and an
 * empty inventory left behind. */
static void assert_bad_inventory(const char *spec)
{
    sl_gpu_inventory inv = inv_of("fake:3");
    char err[256] = "";
    assert_int_equal(parse_inv(spec, &inv, err, sizeof err), -EINVAL);
    assert_true(err[0] != '\0');
    assert_null(strchr(err, '\n'));
    assert_int_equal(inv.count, 0);
    assert_string_equal(inv.source, "none");
}

/* Asserts that `opt` is a bad request: -EINVAL, a one-line reason, and a
 * request of no GPU left behind. */
static void assert_bad_request(const char *opt)
{
    sl_gpu_request req = {"H100", 2};
    char err[256] = "";
    assert_int_equal(parse_req(opt, &req, err, sizeof err), -EINVAL);
    assert_true(err[0] != '\0');
    assert_null(strchr(err, '\n'));
    assert_int_equal(req.count, 0);
    assert_string_equal(req.model, "");
}

/* How many devices `owner` holds. */
static int held_by(const sl_gpu_inventory *inv, int owner)
{
    int n = 0;
    for (int i = 0; i < inv->count; i++)
        if (inv->owner[i] == owner)
            n++;
    return n;
}

/* ---- declared inventories ---- */

static void test_inventory_fake_with_count_has_that_many_free_fake_devices(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("fake:2");
    assert_int_equal(inv.count, 2);
    for (int i = 0; i < 2; i++) {
        assert_string_equal(inv.model[i], "fake");
        assert_int_equal(inv.owner[i], 0);
    }
}

static void test_inventory_model_without_count_means_one(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("fake");
    assert_int_equal(inv.count, 1);
    assert_string_equal(inv.model[0], "fake");

    inv = inv_of("H100");
    assert_int_equal(inv.count, 1);
    assert_string_equal(inv.model[0], "H100");
}

static void test_inventory_of_several_models_numbers_devices_in_order(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("H100:2,A100:1,fake");
    assert_int_equal(inv.count, 4);
    assert_string_equal(inv.model[0], "H100");
    assert_string_equal(inv.model[1], "H100");
    assert_string_equal(inv.model[2], "A100");
    assert_string_equal(inv.model[3], "fake");
    for (int i = 0; i < 4; i++)
        assert_int_equal(inv.owner[i], 0);
}

static void test_inventory_ignores_blanks_around_items(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("  H100:1 ,\tA100:2  ");
    assert_int_equal(inv.count, 3);
    assert_string_equal(inv.model[0], "H100");
    assert_string_equal(inv.model[1], "A100");
    assert_string_equal(inv.model[2], "A100");
}

static void test_inventory_keeps_model_names_as_written(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("a100-sxm4:1,rtx_4090.b:1");
    assert_string_equal(inv.model[0], "a100-sxm4");
    assert_string_equal(inv.model[1], "rtx_4090.b");
}

static void test_inventory_repeated_model_adds_up(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("H100:1,A100:1,H100:2");
    assert_int_equal(inv.count, 4);
    assert_string_equal(inv.model[3], "H100");
}

static void test_inventory_none_declares_no_gpus(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("none");
    assert_int_equal(inv.count, 0);
    assert_string_equal(inv.source, "none");
    inv = inv_of(" NONE ");
    assert_int_equal(inv.count, 0);
}

static void test_inventory_source_is_the_spec(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("H100:2,A100:1");
    assert_string_equal(inv.source, "H100:2,A100:1");
}

static void test_inventory_of_exactly_max_devices_is_accepted(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("fake:64");
    assert_int_equal(inv.count, SL_GPU_MAX);
    inv = inv_of("fake:32,H100:32");
    assert_int_equal(inv.count, SL_GPU_MAX);
    assert_string_equal(inv.model[63], "H100");
}

static void test_inventory_rejects_empty_spec(void **state)
{
    (void)state;
    assert_bad_inventory("");
    assert_bad_inventory("   ");
    assert_bad_inventory(NULL);
}

static void test_inventory_rejects_missing_model(void **state)
{
    (void)state;
    assert_bad_inventory(":2");
    assert_bad_inventory(":");
    assert_bad_inventory("H100:1,:1");
}

static void test_inventory_rejects_zero_count(void **state)
{
    (void)state;
    assert_bad_inventory("fake:0");
    assert_bad_inventory("fake:00");
}

static void test_inventory_rejects_non_numeric_count(void **state)
{
    (void)state;
    assert_bad_inventory("fake:x");
    assert_bad_inventory("fake:");
    assert_bad_inventory("fake:2x");
    assert_bad_inventory("fake:-1");
    assert_bad_inventory("fake:+1");
    assert_bad_inventory("fake: 2");
    assert_bad_inventory("fake:1:2");
}

static void test_inventory_rejects_more_than_max_devices(void **state)
{
    (void)state;
    assert_bad_inventory("fake:65");
    assert_bad_inventory("fake:40,H100:25");
    assert_bad_inventory("fake:99999999999999999999");
}

static void test_inventory_rejects_too_long_model_name(void **state)
{
    (void)state;
    char name[64];
    memset(name, 'A', 31);
    name[31] = '\0';
    sl_gpu_inventory inv = inv_of(name); /* 31 characters: the longest that fits */
    assert_string_equal(inv.model[0], name);

    memset(name, 'A', 32);
    strcpy(name + 32, ":1");
    assert_bad_inventory(name);
}

static void test_inventory_rejects_empty_item(void **state)
{
    (void)state;
    assert_bad_inventory("H100:1,");
    assert_bad_inventory(",H100:1");
    assert_bad_inventory("H100:1,,A100:1");
    assert_bad_inventory("H100:1, ,A100:1");
}

static void test_inventory_rejects_bad_characters_in_model(void **state)
{
    (void)state;
    assert_bad_inventory("H 100:1");
    assert_bad_inventory("H100;reboot");
    assert_bad_inventory("H100/2");
}

static void test_inventory_rejects_reserved_model_names(void **state)
{
    (void)state;
    assert_bad_inventory("any:2");
    assert_bad_inventory("ANY");
    assert_bad_inventory("H100:1,none:1");
}

static void test_inventory_error_fits_any_buffer(void **state)
{
    (void)state;
    sl_gpu_inventory inv;
    char err[8];
    memset(err, 'x', sizeof err);
    assert_int_equal(parse_inv("fake:x", &inv, err, sizeof err), -EINVAL);
    assert_int_equal(strlen(err), sizeof err - 1);
    assert_int_equal(parse_inv("fake:x", &inv, NULL, 0), -EINVAL);
}

/* ---- nvidia-smi -L ---- */

static void test_nvidia_smi_parses_several_models(void **state)
{
    (void)state;
    sl_gpu_inventory inv;
    const char *text =
        "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0a1b2c3d-0000-0000-0000-000000000000)\n"
        "GPU 1: NVIDIA A100-SXM4-80GB (UUID: GPU-11111111-0000-0000-0000-000000000000)\n"
        "GPU 2: Tesla T4 (UUID: GPU-22222222-0000-0000-0000-000000000000)\n"
        "GPU 3: NVIDIA GeForce RTX 4090 (UUID: GPU-33333333-0000-0000-0000-000000000000)\n"
        "GPU 4: Tesla V100-SXM2-16GB (UUID: GPU-44444444-0000-0000-0000-000000000000)\n"
        "GPU 5: NVIDIA L4 (UUID: GPU-55555555-0000-0000-0000-000000000000)\n"
        "GPU 6: NVIDIA A10G (UUID: GPU-66666666-0000-0000-0000-000000000000)\n"
        "GPU 7: NVIDIA H100 PCIe (UUID: GPU-77777777-0000-0000-0000-000000000000)\n";
    assert_int_equal(parse_smi(text, &inv), 8);
    assert_int_equal(inv.count, 8);
    const char *want[] = {"H100", "A100", "T4", "RTX4090", "V100", "L4", "A10G", "H100"};
    for (int i = 0; i < 8; i++) {
        assert_string_equal(inv.model[i], want[i]);
        assert_int_equal(inv.owner[i], 0);
    }
    assert_string_equal(inv.source, "nvidia-smi");
}

static void test_nvidia_smi_skips_blank_and_garbage_lines(void **state)
{
    (void)state;
    sl_gpu_inventory inv;
    const char *text = "\n"
                       "   \n"
                       "No devices were found\n"
                       "GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-aaaa)\n"
                       "  MIG 1g.5gb      Device  0: (UUID: MIG-bbbb)\n"
                       "  MIG 2g.10gb     Device  1: (UUID: MIG-cccc)\n"
                       "garbage line with GPU 7: in it\n"
                       "GPU x: NVIDIA H100\n"
                       "GPU: NVIDIA H100\n"
                       "GPU 3 NVIDIA H100\n"
                       "gpu 4: NVIDIA H100\n"
                       "\r\n"
                       "GPU 1: Tesla T4 (UUID: GPU-dddd)\r\n"
                       "\n";
    assert_int_equal(parse_smi(text, &inv), 2);
    assert_string_equal(inv.model[0], "A100");
    assert_string_equal(inv.model[1], "T4");
}

static void test_nvidia_smi_last_line_needs_no_newline(void **state)
{
    (void)state;
    sl_gpu_inventory inv;
    assert_int_equal(parse_smi("GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-x)\nGPU 1: NVIDIA L40S", &inv), 2);
    assert_string_equal(inv.model[0], "H100");
    assert_string_equal(inv.model[1], "L40S");
}

static void test_nvidia_smi_series_words_join_or_drop(void **state)
{
    (void)state;
    sl_gpu_inventory inv;
    const char *text = "GPU 0: NVIDIA RTX A6000 (UUID: GPU-0)\n"
                       "GPU 1: NVIDIA GeForce GTX 1080 Ti (UUID: GPU-1)\n"
                       "GPU 2: NVIDIA TITAN RTX (UUID: GPU-2)\n"
                       "GPU 3: Quadro RTX 8000 (UUID: GPU-3)\n"
                       "GPU 4: NVIDIA GeForce GT 1030 (UUID: GPU-4)\n"
                       "GPU 5: NVIDIA GeForce RTX 3090 Ti (UUID: GPU-5)\n"
                       "GPU 6: NVIDIA RTX 6000 Ada Generation (UUID: GPU-6)\n";
    assert_int_equal(parse_smi(text, &inv), 7);
    const char *want[] = {"A6000", "GTX1080", "TITANRTX", "RTX8000", "GT1030", "RTX3090", "RTX6000"};
    for (int i = 0; i < 7; i++)
        assert_string_equal(inv.model[i], want[i]);
}

static void test_nvidia_smi_name_without_model_is_unknown(void **state)
{
    (void)state;
    sl_gpu_inventory inv;
    const char *text = "GPU 0: NVIDIA (UUID: GPU-0)\n"
                       "GPU 1:\n"
                       "GPU 2: -SXM4 (UUID: GPU-2)\n";
    assert_int_equal(parse_smi(text, &inv), 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal(inv.model[i], "unknown");
}

static void test_nvidia_smi_long_model_is_cut_to_fit(void **state)
{
    (void)state;
    sl_gpu_inventory inv;
    char text[256];
    snprintf(text, sizeof text, "GPU 0: NVIDIA %s (UUID: GPU-0)\n",
             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
    assert_int_equal(parse_smi(text, &inv), 1);
    assert_int_equal(strlen(inv.model[0]), SL_GPU_MODEL_MAX - 1);
    assert_memory_equal(inv.model[0], "ABCDEFGHIJKLMNOPQRSTUVWXYZ01234", SL_GPU_MODEL_MAX - 1);
}

static void test_nvidia_smi_of_empty_or_null_text_has_no_devices(void **state)
{
    (void)state;
    sl_gpu_inventory inv;
    assert_int_equal(parse_smi("", &inv), 0);
    assert_int_equal(inv.count, 0);
    assert_int_equal(parse_smi(NULL, &inv), 0);
    assert_int_equal(inv.count, 0);
    assert_int_equal(parse_smi("No devices were found\n", &inv), 0);
}

static void test_nvidia_smi_ignores_gpus_past_max(void **state)
{
    (void)state;
    size_t cap = 80 * 64;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t len = 0;
    for (int i = 0; i < 70; i++)
        len += (size_t)snprintf(text + len, cap - len, "GPU %d: NVIDIA H100 (UUID: GPU-%d)\n", i, i);
    sl_gpu_inventory inv;
    assert_int_equal(parse_smi(text, &inv), SL_GPU_MAX);
    assert_int_equal(inv.count, SL_GPU_MAX);
    free(text);
}

/* ---- /proc/driver/nvidia/gpus ---- */

static void test_scan_proc_counts_entries_as_unknown_models(void **state)
{
    (void)state;
    char dir[] = "/tmp/sluice-test-gpu-proc-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    const char *names[] = {"0000:3b:00.0", "0000:86:00.0", ".hidden"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        assert_int_equal(mkdir(path, 0700), 0);
    }
    sl_gpu_inventory inv;
    assert_int_equal(sl_gpu_scan_proc(dir, &inv), 2);
    assert_int_equal(inv.count, 2);
    assert_string_equal(inv.model[0], "unknown");
    assert_string_equal(inv.model[1], "unknown");
    assert_int_equal(inv.owner[0], 0);
    assert_string_equal(inv.source, dir);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        rmdir(path);
    }
    rmdir(dir);
}

static void test_scan_proc_of_missing_dir_fails_with_enoent(void **state)
{
    (void)state;
    sl_gpu_inventory inv;
    assert_int_equal(sl_gpu_scan_proc("/nonexistent/sluice/gpus", &inv), -ENOENT);
    assert_int_equal(inv.count, 0);
}

/* ---- requests ---- */

static void test_request_null_or_empty_means_no_gpu(void **state)
{
    (void)state;
    sl_gpu_request req = {"H100", 3};
    char err[128];
    assert_int_equal(parse_req(NULL, &req, err, sizeof err), 0);
    assert_int_equal(req.count, 0);
    assert_string_equal(req.model, "");
    req = (sl_gpu_request){"H100", 3};
    assert_int_equal(parse_req("", &req, err, sizeof err), 0);
    assert_int_equal(req.count, 0);
    assert_int_equal(parse_req("  ", &req, err, sizeof err), 0);
    assert_int_equal(req.count, 0);
}

static void test_request_any_means_one_of_any_model(void **state)
{
    (void)state;
    sl_gpu_request req = req_of("any");
    assert_string_equal(req.model, "");
    assert_int_equal(req.count, 1);
    req = req_of("ANY");
    assert_string_equal(req.model, "");
    assert_int_equal(req.count, 1);
}

static void test_request_any_with_count(void **state)
{
    (void)state;
    sl_gpu_request req = req_of("any:2");
    assert_string_equal(req.model, "");
    assert_int_equal(req.count, 2);
    req = req_of("Any:64");
    assert_int_equal(req.count, SL_GPU_MAX);
}

static void test_request_model_means_one_of_it(void **state)
{
    (void)state;
    sl_gpu_request req = req_of("H100");
    assert_string_equal(req.model, "H100");
    assert_int_equal(req.count, 1);
}

static void test_request_model_with_count(void **state)
{
    (void)state;
    sl_gpu_request req = req_of("A100:2");
    assert_string_equal(req.model, "A100");
    assert_int_equal(req.count, 2);
}

static void test_request_ignores_blanks_around_option(void **state)
{
    (void)state;
    sl_gpu_request req = req_of(" h100:3\n");
    assert_string_equal(req.model, "h100");
    assert_int_equal(req.count, 3);
}

static void test_request_rejects_zero_count(void **state)
{
    (void)state;
    assert_bad_request("A100:0");
    assert_bad_request("any:0");
}

static void test_request_rejects_negative_count(void **state)
{
    (void)state;
    assert_bad_request("H100:-1");
}

static void test_request_rejects_non_numeric_count(void **state)
{
    (void)state;
    assert_bad_request("any:x");
    assert_bad_request("any:");
    assert_bad_request("A100:2.5");
    assert_bad_request("A100:2:1");
}

static void test_request_rejects_count_over_max(void **state)
{
    (void)state;
    assert_bad_request("any:65");
    assert_bad_request("H100:4294967297");
}

static void test_request_rejects_missing_model(void **state)
{
    (void)state;
    assert_bad_request(":2");
    assert_bad_request(":");
}

static void test_request_rejects_too_long_model_name(void **state)
{
    (void)state;
    char name[64];
    memset(name, 'B', 31);
    name[31] = '\0';
    sl_gpu_request req = req_of(name);
    assert_string_equal(req.model, name);
    memset(name, 'B', 32);
    name[32] = '\0';
    assert_bad_request(name);
}

static void test_request_rejects_lists_and_bad_characters(void **state)
{
    (void)state;
    assert_bad_request("H100,A100");
    assert_bad_request("H100 A100");
    assert_bad_request("none");
}

/* ---- satisfiable ---- */

static void test_satisfiable_no_gpu_request_always(void **state)
{
    (void)state;
    sl_gpu_inventory none = inv_of("none");
    sl_gpu_request req = req_of(NULL);
    assert_true(sl_gpu_satisfiable(&none, &req));
}

static void test_satisfiable_model_mismatch_is_not(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("A100:4");
    sl_gpu_request req = req_of("H100");
    assert_false(sl_gpu_satisfiable(&inv, &req));
}

static void test_satisfiable_count_too_large_is_not(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("H100:2,A100:2");
    sl_gpu_request req = req_of("H100:3");
    assert_false(sl_gpu_satisfiable(&inv, &req));
    req = req_of("H100:2");
    assert_true(sl_gpu_satisfiable(&inv, &req));
}

static void test_satisfiable_any_counts_every_model(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("H100:2,A100:2");
    sl_gpu_request req = req_of("any:4");
    assert_true(sl_gpu_satisfiable(&inv, &req));
    req = req_of("any:5");
    assert_false(sl_gpu_satisfiable(&inv, &req));
}

static void test_satisfiable_model_match_is_case_insensitive(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("H100:1");
    sl_gpu_request req = req_of("h100");
    assert_true(sl_gpu_satisfiable(&inv, &req));
}

static void test_satisfiable_counts_held_devices_too(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("fake:2");
    sl_gpu_request req = req_of("fake:2");
    char vis[SL_GPU_VISIBLE_MAX];
    assert_int_equal(sl_gpu_acquire(&inv, &req, 1, vis, sizeof vis), 0);
    assert_true(sl_gpu_satisfiable(&inv, &req));
}

static void test_satisfiable_with_empty_inventory_is_not(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("none");
    sl_gpu_request req = req_of("any");
    assert_false(sl_gpu_satisfiable(&inv, &req));
}

/* ---- acquire and release ---- */

static void test_acquire_writes_cuda_visible_devices_of_lowest_free(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("fake:2");
    sl_gpu_request req = req_of("any");
    char vis[SL_GPU_VISIBLE_MAX];
    assert_int_equal(sl_gpu_acquire(&inv, &req, 7, vis, sizeof vis), 0);
    assert_string_equal(vis, "0");
    assert_int_equal(inv.owner[0], 7);
    assert_int_equal(inv.owner[1], 0);
}

static void test_acquire_multi_gpu_gets_distinct_devices(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("fake:4");
    sl_gpu_request req = req_of("fake:3");
    char vis[SL_GPU_VISIBLE_MAX];
    assert_int_equal(sl_gpu_acquire(&inv, &req, 5, vis, sizeof vis), 0);
    assert_string_equal(vis, "0,1,2");
    assert_int_equal(held_by(&inv, 5), 3);
    assert_int_equal(inv.owner[3], 0);
}

static void test_two_containers_never_hold_the_same_device(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("fake:4");
    sl_gpu_request req = req_of("any:2");
    char a[SL_GPU_VISIBLE_MAX], b[SL_GPU_VISIBLE_MAX];
    assert_int_equal(sl_gpu_acquire(&inv, &req, 1, a, sizeof a), 0);
    assert_int_equal(sl_gpu_acquire(&inv, &req, 2, b, sizeof b), 0);
    assert_string_equal(a, "0,1");
    assert_string_equal(b, "2,3");
    assert_int_equal(held_by(&inv, 1), 2);
    assert_int_equal(held_by(&inv, 2), 2);
    assert_int_equal(held_by(&inv, 0), 0);
}

static void test_acquire_when_exhausted_is_ebusy_and_takes_nothing(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("fake:3");
    sl_gpu_request two = req_of("fake:2");
    char vis[SL_GPU_VISIBLE_MAX];
    assert_int_equal(sl_gpu_acquire(&inv, &two, 1, vis, sizeof vis), 0);

    sl_gpu_inventory before = inv;
    strcpy(vis, "untouched");
    assert_int_equal(sl_gpu_acquire(&inv, &two, 2, vis, sizeof vis), -EBUSY);
    assert_string_equal(vis, "untouched");
    assert_memory_equal(inv.owner, before.owner, sizeof inv.owner);
    assert_int_equal(held_by(&inv, 2), 0);

    sl_gpu_request one = req_of("fake");
    assert_int_equal(sl_gpu_acquire(&inv, &one, 2, vis, sizeof vis), 0);
    assert_string_equal(vis, "2");
    assert_int_equal(sl_gpu_acquire(&inv, &one, 3, vis, sizeof vis), -EBUSY);
}

static void test_acquire_picks_only_the_requested_model(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("H100:2,A100:2");
    sl_gpu_request req = req_of("A100");
    char vis[SL_GPU_VISIBLE_MAX];
    assert_int_equal(sl_gpu_acquire(&inv, &req, 1, vis, sizeof vis), 0);
    assert_string_equal(vis, "2");
    assert_int_equal(sl_gpu_acquire(&inv, &req, 2, vis, sizeof vis), 0);
    assert_string_equal(vis, "3");
    /* H100s are free, but not what is asked for. */
    assert_int_equal(sl_gpu_acquire(&inv, &req, 3, vis, sizeof vis), -EBUSY);
    assert_int_equal(inv.owner[0], 0);
    assert_int_equal(inv.owner[1], 0);
}

static void test_acquire_any_spans_models(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("H100:1,A100:1");
    sl_gpu_request req = req_of("any:2");
    char vis[SL_GPU_VISIBLE_MAX];
    assert_int_equal(sl_gpu_acquire(&inv, &req, 4, vis, sizeof vis), 0);
    assert_string_equal(vis, "0,1");
}

static void test_acquire_model_match_is_case_insensitive(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("A100:1,H100:1");
    sl_gpu_request req = req_of("h100");
    char vis[SL_GPU_VISIBLE_MAX];
    assert_int_equal(sl_gpu_acquire(&inv, &req, 1, vis, sizeof vis), 0);
    assert_string_equal(vis, "1");
}

static void test_acquire_visible_text_lists_non_adjacent_devices(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("fake:3");
    sl_gpu_request one = req_of("fake"), two = req_of("fake:2");
    char vis[SL_GPU_VISIBLE_MAX];
    assert_int_equal(sl_gpu_acquire(&inv, &one, 1, vis, sizeof vis), 0);
    assert_int_equal(sl_gpu_acquire(&inv, &one, 2, vis, sizeof vis), 0);
    assert_string_equal(vis, "1");
    assert_int_equal(sl_gpu_release(&inv, 1), 1);
    assert_int_equal(sl_gpu_acquire(&inv, &two, 3, vis, sizeof vis), 0);
    assert_string_equal(vis, "0,2");
    assert_int_equal(inv.owner[1], 2);
}

static void test_acquire_of_every_device_fits_visible_max(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("fake:64");
    sl_gpu_request req = req_of("any:64");
    char *vis = malloc(SL_GPU_VISIBLE_MAX); /* on the heap: ASan sees overruns */
    assert_non_null(vis);
    assert_int_equal(sl_gpu_acquire(&inv, &req, 1, vis, SL_GPU_VISIBLE_MAX), 0);
    assert_int_equal(strncmp(vis, "0,1,2,", 6), 0);
    assert_non_null(strstr(vis, ",9,10,"));
    size_t len = strlen(vis);
    assert_true(len >= 3 && strcmp(vis + len - 3, ",63") == 0);
    assert_int_equal(len, 10 + 54 * 2 + 63); /* 1-digit, 2-digit indices, commas */
    assert_int_equal(held_by(&inv, 1), 64);
    free(vis);
}

static void test_acquire_unsatisfiable_is_enodev_and_takes_nothing(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("A100:2");
    char vis[SL_GPU_VISIBLE_MAX];
    sl_gpu_request req = req_of("H100");
    assert_int_equal(sl_gpu_acquire(&inv, &req, 1, vis, sizeof vis), -ENODEV);
    req = req_of("A100:3");
    assert_int_equal(sl_gpu_acquire(&inv, &req, 1, vis, sizeof vis), -ENODEV);
    assert_int_equal(held_by(&inv, 1), 0);
}

static void test_acquire_of_no_gpu_writes_empty_text_and_takes_nothing(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("fake:1");
    sl_gpu_request req = req_of("");
    char vis[SL_GPU_VISIBLE_MAX] = "junk";
    assert_int_equal(sl_gpu_acquire(&inv, &req, 1, vis, sizeof vis), 0);
    assert_string_equal(vis, "");
    assert_int_equal(inv.owner[0], 0);
}

static void test_acquire_rejects_owner_zero_or_negative(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("fake:1");
    sl_gpu_request req = req_of("fake");
    char vis[SL_GPU_VISIBLE_MAX];
    assert_int_equal(sl_gpu_acquire(&inv, &req, 0, vis, sizeof vis), -EINVAL);
    assert_int_equal(sl_gpu_acquire(&inv, &req, -3, vis, sizeof vis), -EINVAL);
    assert_int_equal(inv.owner[0], 0);
}

static void test_acquire_into_too_small_buffer_is_enospc_and_takes_nothing(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("fake:2");
    sl_gpu_request req = req_of("fake:2");
    char *vis = malloc(3); /* "0,1" needs 4 */
    assert_non_null(vis);
    assert_int_equal(sl_gpu_acquire(&inv, &req, 1, vis, 3), -ENOSPC);
    assert_int_equal(held_by(&inv, 1), 0);
    assert_int_equal(sl_gpu_acquire(&inv, &req, 1, NULL, 0), -ENOSPC);
    free(vis);
    vis = malloc(4);
    assert_non_null(vis);
    assert_int_equal(sl_gpu_acquire(&inv, &req, 1, vis, 4), 0);
    assert_string_equal(vis, "0,1");
    free(vis);
}

static void test_release_frees_only_that_owners_devices_and_counts_them(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("fake:5");
    sl_gpu_request two = req_of("any:2"), one = req_of("any");
    char vis[SL_GPU_VISIBLE_MAX];
    assert_int_equal(sl_gpu_acquire(&inv, &two, 1, vis, sizeof vis), 0);
    assert_int_equal(sl_gpu_acquire(&inv, &one, 2, vis, sizeof vis), 0);
    assert_int_equal(sl_gpu_acquire(&inv, &two, 3, vis, sizeof vis), 0);

    assert_int_equal(sl_gpu_release(&inv, 1), 2);
    assert_int_equal(held_by(&inv, 1), 0);
    assert_int_equal(held_by(&inv, 2), 1);
    assert_int_equal(held_by(&inv, 3), 2);
    assert_int_equal(sl_gpu_free_count(&inv, &one), 2);
    assert_int_equal(sl_gpu_release(&inv, 1), 0);
}

static void test_release_of_unknown_or_zero_owner_frees_nothing(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("fake:2");
    sl_gpu_request one = req_of("any");
    char vis[SL_GPU_VISIBLE_MAX];
    assert_int_equal(sl_gpu_acquire(&inv, &one, 1, vis, sizeof vis), 0);
    assert_int_equal(sl_gpu_release(&inv, 42), 0);
    assert_int_equal(sl_gpu_release(&inv, 0), 0);
    assert_int_equal(held_by(&inv, 1), 1);
}

static void test_released_devices_can_be_acquired_again(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("fake:2");
    sl_gpu_request req = req_of("fake:2");
    char vis[SL_GPU_VISIBLE_MAX];
    assert_int_equal(sl_gpu_acquire(&inv, &req, 1, vis, sizeof vis), 0);
    assert_int_equal(sl_gpu_acquire(&inv, &req, 2, vis, sizeof vis), -EBUSY);
    assert_int_equal(sl_gpu_release(&inv, 1), 2);
    assert_int_equal(sl_gpu_acquire(&inv, &req, 2, vis, sizeof vis), 0);
    assert_string_equal(vis, "0,1");
    assert_int_equal(held_by(&inv, 2), 2);
}

static void test_free_count_counts_free_matching_devices(void **state)
{
    (void)state;
    sl_gpu_inventory inv = inv_of("H100:2,A100:1");
    sl_gpu_request h = req_of("H100"), any = req_of("any"), b = req_of("B200");
    char vis[SL_GPU_VISIBLE_MAX];
    assert_int_equal(sl_gpu_free_count(&inv, &h), 2);
    assert_int_equal(sl_gpu_free_count(&inv, &any), 3);
    assert_int_equal(sl_gpu_free_count(&inv, &b), 0);
    assert_int_equal(sl_gpu_acquire(&inv, &h, 1, vis, sizeof vis), 0);
    assert_int_equal(sl_gpu_free_count(&inv, &h), 1);
    assert_int_equal(sl_gpu_free_count(&inv, &any), 2);
}

/* ---- detect ---- */

/* The environment a detect test changes, and its temporary bin directory. */
typedef struct detect_env {
    char *path;          /* PATH before, or NULL */
    char *gpus;          /* SLUICE_GPUS before, or NULL */
    char bin[64];        /* a temporary directory for a fake nvidia-smi */
    char smi[128];       /* bin/nvidia-smi */
} detect_env;

static int detect_setup(void **state)
{
    detect_env *e = calloc(1, sizeof *e);
    if (!e)
        return -1;
    const char *p = getenv("PATH"), *g = getenv("SLUICE_GPUS");
    e->path = p ? strdup(p) : NULL;
    e->gpus = g ? strdup(g) : NULL;
    strcpy(e->bin, "/tmp/sluice-test-gpu-bin-XXXXXX");
    if (!mkdtemp(e->bin)) {
        free(e->path);
        free(e->gpus);
        free(e);
        return -1;
    }
    snprintf(e->smi, sizeof e->smi, "%s/nvidia-smi", e->bin);
    *state = e;
    return 0;
}

static int detect_teardown(void **state)
{
    detect_env *e = *state;
    if (e->path)
        setenv("PATH", e->path, 1);
    else
        unsetenv("PATH");
    if (e->gpus)
        setenv("SLUICE_GPUS", e->gpus, 1);
    else
        unsetenv("SLUICE_GPUS");
    unlink(e->smi);
    rmdir(e->bin);
    free(e->path);
    free(e->gpus);
    free(e);
    return 0;
}

/* Puts a fake nvidia-smi that runs `body` (sh) first on PATH. */
static void fake_nvidia_smi(detect_env *e, const char *body)
{
    FILE *f = fopen(e->smi, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n%s\n", body);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(e->smi, 0755), 0);
    assert_int_equal(setenv("PATH", e->bin, 1), 0);
}

static void test_detect_uses_sluice_gpus_when_set(void **state)
{
    (void)state;
    assert_int_equal(setenv("SLUICE_GPUS", "fake:2", 1), 0);
    sl_gpu_inventory inv;
    char err[128] = "";
    assert_int_equal(sl_gpu_detect(&inv, err, sizeof err), 0);
    assert_int_equal(inv.count, 2);
    assert_string_equal(inv.model[0], "fake");
    assert_string_equal(inv.model[1], "fake");
    assert_int_equal(inv.owner[0], 0);
    assert_string_equal(inv.source, "SLUICE_GPUS=fake:2");
}

static void test_detect_of_several_declared_models(void **state)
{
    (void)state;
    assert_int_equal(setenv("SLUICE_GPUS", "H100:2,A100:1", 1), 0);
    sl_gpu_inventory inv;
    char err[128] = "";
    assert_int_equal(sl_gpu_detect(&inv, err, sizeof err), 0);
    assert_int_equal(inv.count, 3);
    assert_string_equal(inv.model[2], "A100");
    assert_string_equal(inv.source, "SLUICE_GPUS=H100:2,A100:1");
}

static void test_detect_with_malformed_sluice_gpus_fails(void **state)
{
    (void)state;
    sl_gpu_inventory inv;
    char err[128] = "";
    assert_int_equal(setenv("SLUICE_GPUS", "fake:x", 1), 0);
    assert_int_equal(sl_gpu_detect(&inv, err, sizeof err), -EINVAL);
    assert_true(err[0] != '\0');
    assert_int_equal(inv.count, 0);
    assert_string_equal(inv.source, "none");

    err[0] = '\0';
    assert_int_equal(setenv("SLUICE_GPUS", "", 1), 0);
    assert_int_equal(sl_gpu_detect(&inv, err, sizeof err), -EINVAL);
    assert_true(err[0] != '\0');
}

static void test_detect_sluice_gpus_wins_over_nvidia_smi(void **state)
{
    detect_env *e = *state;
    fake_nvidia_smi(e, "printf 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0)\\n'");
    sl_gpu_inventory inv;
    char err[128] = "";
    assert_int_equal(setenv("SLUICE_GPUS", "none", 1), 0);
    assert_int_equal(sl_gpu_detect(&inv, err, sizeof err), 0);
    assert_int_equal(inv.count, 0);
    assert_string_equal(inv.source, "SLUICE_GPUS=none");

    assert_int_equal(setenv("SLUICE_GPUS", "fake", 1), 0);
    assert_int_equal(sl_gpu_detect(&inv, err, sizeof err), 0);
    assert_int_equal(inv.count, 1);
    assert_string_equal(inv.model[0], "fake");
}

static void test_detect_long_sluice_gpus_source_is_cut_to_fit(void **state)
{
    (void)state;
    char spec[256] = "";
    for (int i = 0; i < 20; i++)
        strcat(spec, i ? ",fake:1" : "fake:1");
    assert_int_equal(setenv("SLUICE_GPUS", spec, 1), 0);
    sl_gpu_inventory inv;
    char err[128] = "";
    assert_int_equal(sl_gpu_detect(&inv, err, sizeof err), 0);
    assert_int_equal(inv.count, 20);
    assert_int_equal(strlen(inv.source), sizeof inv.source - 1);
    assert_int_equal(strncmp(inv.source, "SLUICE_GPUS=fake:1,fake:1", 25), 0);
}

static void test_detect_runs_nvidia_smi_when_sluice_gpus_unset(void **state)
{
    detect_env *e = *state;
    fake_nvidia_smi(e, "[ \"$1\" = -L ] || exit 2\n"
                       "printf 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0)\\n'\n"
                       "printf 'GPU 1: NVIDIA A100-SXM4-80GB (UUID: GPU-1)\\n'");
    assert_int_equal(unsetenv("SLUICE_GPUS"), 0);
    sl_gpu_inventory inv;
    char err[128] = "";
    assert_int_equal(sl_gpu_detect(&inv, err, sizeof err), 0);
    assert_int_equal(inv.count, 2);
    assert_string_equal(inv.model[0], "H100");
    assert_string_equal(inv.model[1], "A100");
    assert_string_equal(inv.source, "nvidia-smi");
}

/* Whether this host has the /proc fallback (then "none" cannot be checked). */
static bool host_has_proc_gpus(void)
{
    return access("/proc/driver/nvidia/gpus", F_OK) == 0;
}

static void test_detect_ignores_failing_nvidia_smi(void **state)
{
    detect_env *e = *state;
    fake_nvidia_smi(e, "printf 'GPU 0: NVIDIA H100 (UUID: GPU-0)\\n'\nexit 9");
    assert_int_equal(unsetenv("SLUICE_GPUS"), 0);
    sl_gpu_inventory inv;
    char err[128] = "";
    assert_int_equal(sl_gpu_detect(&inv, err, sizeof err), 0);
    assert_string_not_equal(inv.source, "nvidia-smi");
    if (!host_has_proc_gpus()) {
        assert_int_equal(inv.count, 0);
        assert_string_equal(inv.source, "none");
    }
}

static void test_detect_ignores_nvidia_smi_listing_no_gpu(void **state)
{
    detect_env *e = *state;
    fake_nvidia_smi(e, "echo 'No devices were found'");
    assert_int_equal(unsetenv("SLUICE_GPUS"), 0);
    sl_gpu_inventory inv;
    char err[128] = "";
    assert_int_equal(sl_gpu_detect(&inv, err, sizeof err), 0);
    assert_string_not_equal(inv.source, "nvidia-smi");
}

static void test_detect_without_anything_is_none(void **state)
{
    detect_env *e = *state;
    assert_int_equal(setenv("PATH", e->bin, 1), 0); /* empty: no nvidia-smi */
    assert_int_equal(unsetenv("SLUICE_GPUS"), 0);
    sl_gpu_inventory inv;
    char err[128] = "";
    assert_int_equal(sl_gpu_detect(&inv, err, sizeof err), 0);
    if (host_has_proc_gpus()) {
        assert_string_equal(inv.source, "/proc/driver/nvidia/gpus");
        return;
    }
    assert_int_equal(inv.count, 0);
    assert_string_equal(inv.source, "none");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inventory_fake_with_count_has_that_many_free_fake_devices),
        cmocka_unit_test(test_inventory_model_without_count_means_one),
        cmocka_unit_test(test_inventory_of_several_models_numbers_devices_in_order),
        cmocka_unit_test(test_inventory_ignores_blanks_around_items),
        cmocka_unit_test(test_inventory_keeps_model_names_as_written),
        cmocka_unit_test(test_inventory_repeated_model_adds_up),
        cmocka_unit_test(test_inventory_none_declares_no_gpus),
        cmocka_unit_test(test_inventory_source_is_the_spec),
        cmocka_unit_test(test_inventory_of_exactly_max_devices_is_accepted),
        cmocka_unit_test(test_inventory_rejects_empty_spec),
        cmocka_unit_test(test_inventory_rejects_missing_model),
        cmocka_unit_test(test_inventory_rejects_zero_count),
        cmocka_unit_test(test_inventory_rejects_non_numeric_count),
        cmocka_unit_test(test_inventory_rejects_more_than_max_devices),
        cmocka_unit_test(test_inventory_rejects_too_long_model_name),
        cmocka_unit_test(test_inventory_rejects_empty_item),
        cmocka_unit_test(test_inventory_rejects_bad_characters_in_model),
        cmocka_unit_test(test_inventory_rejects_reserved_model_names),
        cmocka_unit_test(test_inventory_error_fits_any_buffer),

        cmocka_unit_test(test_nvidia_smi_parses_several_models),
        cmocka_unit_test(test_nvidia_smi_skips_blank_and_garbage_lines),
        cmocka_unit_test(test_nvidia_smi_last_line_needs_no_newline),
        cmocka_unit_test(test_nvidia_smi_series_words_join_or_drop),
        cmocka_unit_test(test_nvidia_smi_name_without_model_is_unknown),
        cmocka_unit_test(test_nvidia_smi_long_model_is_cut_to_fit),
        cmocka_unit_test(test_nvidia_smi_of_empty_or_null_text_has_no_devices),
        cmocka_unit_test(test_nvidia_smi_ignores_gpus_past_max),

        cmocka_unit_test(test_scan_proc_counts_entries_as_unknown_models),
        cmocka_unit_test(test_scan_proc_of_missing_dir_fails_with_enoent),

        cmocka_unit_test(test_request_null_or_empty_means_no_gpu),
        cmocka_unit_test(test_request_any_means_one_of_any_model),
        cmocka_unit_test(test_request_any_with_count),
        cmocka_unit_test(test_request_model_means_one_of_it),
        cmocka_unit_test(test_request_model_with_count),
        cmocka_unit_test(test_request_ignores_blanks_around_option),
        cmocka_unit_test(test_request_rejects_zero_count),
        cmocka_unit_test(test_request_rejects_negative_count),
        cmocka_unit_test(test_request_rejects_non_numeric_count),
        cmocka_unit_test(test_request_rejects_count_over_max),
        cmocka_unit_test(test_request_rejects_missing_model),
        cmocka_unit_test(test_request_rejects_too_long_model_name),
        cmocka_unit_test(test_request_rejects_lists_and_bad_characters),

        cmocka_unit_test(test_satisfiable_no_gpu_request_always),
        cmocka_unit_test(test_satisfiable_model_mismatch_is_not),
        cmocka_unit_test(test_satisfiable_count_too_large_is_not),
        cmocka_unit_test(test_satisfiable_any_counts_every_model),
        cmocka_unit_test(test_satisfiable_model_match_is_case_insensitive),
        cmocka_unit_test(test_satisfiable_counts_held_devices_too),
        cmocka_unit_test(test_satisfiable_with_empty_inventory_is_not),

        cmocka_unit_test(test_acquire_writes_cuda_visible_devices_of_lowest_free),
        cmocka_unit_test(test_acquire_multi_gpu_gets_distinct_devices),
        cmocka_unit_test(test_two_containers_never_hold_the_same_device),
        cmocka_unit_test(test_acquire_when_exhausted_is_ebusy_and_takes_nothing),
        cmocka_unit_test(test_acquire_picks_only_the_requested_model),
        cmocka_unit_test(test_acquire_any_spans_models),
        cmocka_unit_test(test_acquire_model_match_is_case_insensitive),
        cmocka_unit_test(test_acquire_visible_text_lists_non_adjacent_devices),
        cmocka_unit_test(test_acquire_of_every_device_fits_visible_max),
        cmocka_unit_test(test_acquire_unsatisfiable_is_enodev_and_takes_nothing),
        cmocka_unit_test(test_acquire_of_no_gpu_writes_empty_text_and_takes_nothing),
        cmocka_unit_test(test_acquire_rejects_owner_zero_or_negative),
        cmocka_unit_test(test_acquire_into_too_small_buffer_is_enospc_and_takes_nothing),
        cmocka_unit_test(test_release_frees_only_that_owners_devices_and_counts_them),
        cmocka_unit_test(test_release_of_unknown_or_zero_owner_frees_nothing),
        cmocka_unit_test(test_released_devices_can_be_acquired_again),
        cmocka_unit_test(test_free_count_counts_free_matching_devices),

        cmocka_unit_test_setup_teardown(test_detect_uses_sluice_gpus_when_set, detect_setup, detect_teardown),
        cmocka_unit_test_setup_teardown(test_detect_of_several_declared_models, detect_setup, detect_teardown),
        cmocka_unit_test_setup_teardown(test_detect_with_malformed_sluice_gpus_fails, detect_setup,
                                        detect_teardown),
        cmocka_unit_test_setup_teardown(test_detect_sluice_gpus_wins_over_nvidia_smi, detect_setup,
                                        detect_teardown),
        cmocka_unit_test_setup_teardown(test_detect_long_sluice_gpus_source_is_cut_to_fit, detect_setup,
                                        detect_teardown),
        cmocka_unit_test_setup_teardown(test_detect_runs_nvidia_smi_when_sluice_gpus_unset, detect_setup,
                                        detect_teardown),
        cmocka_unit_test_setup_teardown(test_detect_ignores_failing_nvidia_smi, detect_setup, detect_teardown),
        cmocka_unit_test_setup_teardown(test_detect_ignores_nvidia_smi_listing_no_gpu, detect_setup,
                                        detect_teardown),
        cmocka_unit_test_setup_teardown(test_detect_without_anything_is_none, detect_setup, detect_teardown),
    };
    return cmocka_run_group_tests_name("gpu", tests, NULL, NULL);
}
