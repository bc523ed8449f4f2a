/*
 * notes.c: the containers' crash notes, kept by the zygote.
 *
 * Each container gets a page shared with the zygote, where its fatal
 * signal handler writes the id of the call whose thread crashed it; the
 * zygote reads it when it reaps the container. A new container must not
 * keep the other containers' pages mapped (it could write on them).
 *
 * The pages are cut from arenas of NOTES_PER_ARENA, one mapping each, so a
 * new container unmaps the others' pages with two munmap() calls an arena.
 * With a mapping per page, the n-th container of a burst unmapped n - 1
 * pages: 4,950 munmap() calls for the 100 containers of 10,000 streams.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "container/container.h"

#define NOTES_PER_ARENA 1024
#define WORD_BITS 64

typedef struct note_arena {
    char *base;
    uint64_t used[NOTES_PER_ARENA / WORD_BITS]; /* a bit per page */
    struct note_arena *next;
} note_arena;

typedef struct crash_note {
    pid_t pid;
    volatile uint32_t *page;
} crash_note;

static note_arena *g_arenas;
static crash_note *g_notes; /* the living containers' */
static size_t g_nnotes, g_notes_cap;

static size_t page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

static size_t arena_bytes(void)
{
    return NOTES_PER_ARENA * page_size();
}

static note_arena *new_arena(void)
{
    note_arena *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    void *p = mmap(NULL, arena_bytes(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        free(a);
        return NULL;
    }
    a->base = p;
    a->next = g_arenas;
    g_arenas = a;
    return a;
}

/* A free page of a, marked used; NULL when a is full. */
static volatile uint32_t *take_page(note_arena *a)
{
    for (size_t w = 0; w < NOTES_PER_ARENA / WORD_BITS; w++) {
        if (a->used[w] == UINT64_MAX)
            continue;
        unsigned bit = (unsigned)__builtin_ctzll(~a->used[w]);
        a->used[w] |= UINT64_C(1) << bit;
        return (volatile uint32_t *)(a->base + (w * WORD_BITS + bit) * page_size());
    }
    return NULL;
}

static note_arena *arena_of(volatile uint32_t *page)
{
    for (note_arena *a = g_arenas; a; a = a->next)
        if ((char *)page >= a->base && (char *)page < a->base + arena_bytes())
            return a;
    return NULL;
}

volatile uint32_t *sl_note_new(void)
{
    volatile uint32_t *page = NULL;
    for (note_arena *a = g_arenas; a && !page; a = a->next)
        page = take_page(a);
    if (!page) {
        note_arena *a = new_arena();
        page = a ? take_page(a) : NULL;
    }
    if (page)
        page[0] = page[1] = 0; /* a page is reused after its container is reaped */
    return page;
}

void sl_note_drop(volatile uint32_t *page)
{
    note_arena *a = page ? arena_of(page) : NULL;
    if (!a)
        return;
    size_t i = (size_t)((char *)page - a->base) / page_size();
    a->used[i / WORD_BITS] &= ~(UINT64_C(1) << (i % WORD_BITS));
}

void sl_note_keep(pid_t pid, volatile uint32_t *page)
{
    if (g_nnotes == g_notes_cap) {
        size_t cap = g_notes_cap ? g_notes_cap * 2 : 64;
        crash_note *n = realloc(g_notes, cap * sizeof *n);
        if (!n) {
            sl_note_drop(page); /* its crash just goes unattributed */
            return;
        }
        g_notes = n;
        g_notes_cap = cap;
    }
    g_notes[g_nnotes++] = (crash_note){pid, page};
}

void sl_note_take(pid_t pid, sl_exit_info *e)
{
    for (size_t i = 0; i < g_nnotes; i++)
        if (g_notes[i].pid == pid) {
            e->crashed_call = g_notes[i].page[0];
            e->crashed_input = g_notes[i].page[1];
            sl_note_drop(g_notes[i].page);
            g_notes[i] = g_notes[--g_nnotes];
            return;
        }
}

int sl_note_keep_only(volatile uint32_t *own)
{
    size_t pg = page_size(), size = arena_bytes();
    int r = 0;
    for (note_arena *a = g_arenas; a; a = a->next) {
        char *p = (char *)own, *end = a->base + size;
        if (!own || p < a->base || p >= end) {
            r |= munmap(a->base, size);
            continue;
        }
        if (p > a->base)
            r |= munmap(a->base, (size_t)(p - a->base));
        if (p + pg < end)
            r |= munmap(p + pg, (size_t)(end - (p + pg)));
    }
    return r ? -errno : 0;
}
