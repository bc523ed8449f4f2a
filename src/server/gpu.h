/*
 * gpu.h: the GPU inventory of this host and who holds which device.
 *
 * Pure bookkeeping plus one start-up probe (sl_gpu_detect). No libuv, no h2o:
 * this compiles on its own against libc. Not thread-safe: one owner (the
 * server's loop thread) reads and writes an inventory.
 *
 * Device i of an inventory is the i-th GPU nvidia-smi lists (PCI bus order),
 * and the index written into CUDA_VISIBLE_DEVICES. CUDA numbers devices
 * fastest-first unless CUDA_DEVICE_ORDER=PCI_BUS_ID, so a container that gets
 * CUDA_VISIBLE_DEVICES from here should also get CUDA_DEVICE_ORDER=PCI_BUS_ID.
 *
 * Model names are short, e.g. "H100", "A100", "T4", "RTX4090", "fake", and
 * compared case-insensitively.
 */
#ifndef SL_SERVER_GPU_H
#define SL_SERVER_GPU_H

#include <stdbool.h>
#include <stddef.h>

#define SL_GPU_MAX 64
#define SL_GPU_MODEL_MAX 32   /* bytes of a model name, with its NUL */
/* Room for any CUDA_VISIBLE_DEVICES text acquire writes: "0,1,...,63". */
#define SL_GPU_VISIBLE_MAX (SL_GPU_MAX * 3)

typedef struct sl_gpu_inventory {
    int count;                             /* devices, 0..SL_GPU_MAX */
    char model[SL_GPU_MAX][SL_GPU_MODEL_MAX]; /* short model name, see sl_gpu_parse_nvidia_smi */
    int owner[SL_GPU_MAX];                 /* 0 = free, else the container id holding it */
    char source[64];                       /* "SLUICE_GPUS=fake:2", "nvidia-smi",
                                              "/proc/driver/nvidia/gpus" or "none" */
} sl_gpu_inventory;

typedef struct sl_gpu_request {            /* a function's `gpu` option, parsed */
    char model[SL_GPU_MODEL_MAX];          /* "" = any model */
    int count;                             /* 0 = no GPU, else 1..SL_GPU_MAX */
} sl_gpu_request;

/* Parses a declared inventory: comma-separated MODEL[:COUNT] items, e.g.
 * "fake:2", "H100:1", "H100:2,A100:1", "fake" (= fake:1); blanks around items
 * are ignored; "none" declares no GPUs. MODEL is 1..31 of [A-Za-z0-9._-] and
 * not "any"/"none"; COUNT is 1..64 and all counts sum to at most SL_GPU_MAX.
 * Devices are numbered in the order given, all free; source is set to `spec`.
 * Returns 0, or -EINVAL with a one-line reason in err and *inv empty ("none"). */
int sl_gpu_parse_inventory(const char *spec, sl_gpu_inventory *inv, char *err, size_t errlen);

/* Parses what `nvidia-smi -L` prints, one "GPU <n>: <name> (UUID: ...)" a
 * line, into *inv (all free, source "nvidia-smi"); any other line (blank, MIG
 * "  MIG 1g.10gb Device 0: ...", garbage) is skipped, and GPUs past SL_GPU_MAX
 * are ignored. <name> is shortened to a model by this rule:
 *   1. drop the words "NVIDIA", "Tesla", "GeForce", "Quadro" wherever they lead;
 *   2. "RTX"/"GTX"/"GT" followed by a word starting with a digit joins it
 *      ("RTX 4090" -> "RTX4090", "GTX 1080 Ti" -> "GTX1080"); otherwise the
 *      series word is dropped ("RTX A6000" -> "A6000"); "TITAN" always joins
 *      the next word ("TITAN RTX" -> "TITANRTX");
 *   3. else the model is the first remaining word;
 *   4. the model is cut at its first '-' ("A100-SXM4-80GB" -> "A100") and to
 *      31 bytes; nothing left gives "unknown".
 * Returns the number of devices (>= 0). */
int sl_gpu_parse_nvidia_smi(const char *text, sl_gpu_inventory *inv);

/* Counts the entries (one per GPU, named by PCI address) of a directory laid
 * out like /proc/driver/nvidia/gpus into *inv, model "unknown", all free,
 * source `dir`. Returns the number of devices (>= 0), or -errno if the
 * directory cannot be opened. */
int sl_gpu_scan_proc(const char *dir, sl_gpu_inventory *inv);

/* Fills *inv at start-up, first that applies: SLUICE_GPUS from the environment
 * if set (declared, source "SLUICE_GPUS=<spec>"); else `nvidia-smi -L` if an
 * executable nvidia-smi is on PATH, exits 0 and lists at least one GPU (popen,
 * blocks until it exits); else the entries of /proc/driver/nvidia/gpus/; else
 * none (count 0, source "none"). Returns 0, or -EINVAL with a one-line reason
 * in err if SLUICE_GPUS is set but malformed (empty included; *inv is then
 * "none"). */
int sl_gpu_detect(sl_gpu_inventory *inv, char *err, size_t errlen);

/* Parses a function's gpu option: NULL or "" -> count 0 (no GPU); "any" -> any
 * model x1; "any:2"; "H100" -> H100 x1; "A100:2" -> A100 x2. "any" and models
 * are case-insensitive; blanks around the option are ignored; counts are
 * 1..SL_GPU_MAX. Returns 0, or -EINVAL with a one-line reason in err (and
 * *req = no GPU). */
int sl_gpu_parse_request(const char *opt, sl_gpu_request *req, char *err, size_t errlen);

/* Whether the inventory could EVER satisfy the request: it has at least
 * req->count devices of the model (of any model if req->model is ""), held or
 * not. A request for no GPU is always satisfiable. */
bool sl_gpu_satisfiable(const sl_gpu_inventory *inv, const sl_gpu_request *req);

/* How many devices matching the request's model are free now. */
int sl_gpu_free_count(const sl_gpu_inventory *inv, const sl_gpu_request *req);

/* Gives container `owner` (> 0) req->count free matching devices, lowest
 * indices first, and writes their indices as CUDA_VISIBLE_DEVICES text ("0",
 * "0,2"; "" for a request of no GPU) into visible[n] (n >= SL_GPU_VISIBLE_MAX
 * always suffices). Returns 0; or, with nothing taken and visible untouched:
 * -EBUSY if not enough are free now, -ENODEV if the inventory could never
 * satisfy the request, -EINVAL if owner <= 0, -ENOSPC if n is too small. */
int sl_gpu_acquire(sl_gpu_inventory *inv, const sl_gpu_request *req, int owner, char *visible, size_t n);

/* Frees every device held by `owner` (> 0). Returns how many. */
int sl_gpu_release(sl_gpu_inventory *inv, int owner);

#endif
