/* Phase timestamps for the cold-path profile (tests/e2e/run profile), for
 * kmod-ready and modprobe alike, without changing either: preloaded with
 * LD_PRELOAD, it notes the time of the calls that mark each phase's start,
 * and writes them at exit to $KMOD_READY_PHASES_OUT, one "NAME SECONDS" line
 * each (CLOCK_REALTIME, to compare with the shell's $EPOCHREALTIME):
 *
 *   start          its constructor: the dynamic linker is done
 *   dlopen         dlopen("libkmod.so.2") is called (kmod-ready only)
 *   dlopen-done    it has returned
 *   config         libkmod opens the first modprobe.d directory (kmod_new)
 *   indexes        the first open of modules.dep.bin (kmod_load_resources, or
 *                  without it the first lookup, which reads it with stdio)
 *   insert         the first finit_module
 *   inserted       the last finit_module has returned
 *   end            its destructor (exit has begun)
 *
 * The calls are the C library's, which both programs share (modprobe holds
 * its own copy of libkmod, so libkmod's functions cannot be hooked). */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

enum { START, DLOPEN, DLOPEN_DONE, CONFIG, INDEXES, INSERT, INSERTED, END, PHASES };
static const char *const names[PHASES] = {
    "start", "dlopen", "dlopen-done", "config", "indexes", "insert", "inserted", "end",
};
static double at[PHASES];

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* The first time only; `inserted` is kept up to date instead. */
static void note(int phase)
{
    if (at[phase] == 0)
        at[phase] = now();
}

#define REAL(name) \
    static __typeof__(&name) real_##name; \
    if (!real_##name) \
        real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

static int is_modules_dep(const char *path)
{
    const char *base = strrchr(path, '/');
    return base && strcmp(base + 1, "modules.dep.bin") == 0;
}

__attribute__((constructor)) static void started(void)
{
    note(START);
}

void *dlopen(const char *file, int flags)
{
    REAL(dlopen);
    int ours = file && strcmp(file, "libkmod.so.2") == 0;
    if (ours)
        note(DLOPEN);
    void *handle = real_dlopen(file, flags);
    if (ours) {
        note(DLOPEN_DONE);
        at[CONFIG] = 0;
    }
    return handle;
}

/* The first opendir of a modprobe.d directory; dlopen starts over, as
 * kmod-ready looks at those directories itself before it opens libkmod. */
DIR *opendir(const char *path)
{
    REAL(opendir);
    if (strstr(path, "modprobe.d"))
        note(CONFIG);
    return real_opendir(path);
}

#define OPEN_HOOK(name, ...) \
    int name(__VA_ARGS__, int flags, ...) \
    { \
        REAL(name); \
        mode_t mode = 0; \
        if (flags & (O_CREAT | O_TMPFILE)) { \
            va_list ap; \
            va_start(ap, flags); \
            mode = va_arg(ap, mode_t); \
            va_end(ap); \
        } \
        if (is_modules_dep(path)) \
            note(INDEXES); \
        return CALL; \
    }
#define CALL real_open(path, flags, mode)
OPEN_HOOK(open, const char *path)
#undef CALL
#define CALL real_open64(path, flags, mode)
OPEN_HOOK(open64, const char *path)
#undef CALL
#define CALL real_openat(dir, path, flags, mode)
OPEN_HOOK(openat, int dir, const char *path)
#undef CALL
#define CALL real_openat64(dir, path, flags, mode)
OPEN_HOOK(openat64, int dir, const char *path)
#undef CALL

FILE *fopen(const char *path, const char *mode)
{
    REAL(fopen);
    if (is_modules_dep(path))
        note(INDEXES);
    return real_fopen(path, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
    REAL(fopen64);
    if (is_modules_dep(path))
        note(INDEXES);
    return real_fopen64(path, mode);
}

long syscall(long number, ...)
{
    REAL(syscall);
    va_list ap;
    long a[6];
    va_start(ap, number);
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    if (number == SYS_finit_module || number == SYS_init_module)
        note(INSERT);
    long rc = real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
    if (number == SYS_finit_module || number == SYS_init_module)
        at[INSERTED] = now();
    return rc;
}

__attribute__((destructor)) static void ended(void)
{
    note(END);
    const char *out = getenv("KMOD_READY_PHASES_OUT");
    FILE *f = out ? fopen(out, "w") : NULL;
    if (!f)
        return;
    for (int i = 0; i < PHASES; i++)
        if (at[i] != 0)
            fprintf(f, "%s %.6f\n", names[i], at[i]);
    fclose(f);
}
