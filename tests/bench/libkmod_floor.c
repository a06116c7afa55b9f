/* The libkmod floor of the cold path: what any program that loads a module
 * through a dlopened libkmod does, and nothing more. It opens libkmod.so.2
 * as kmod-ready does, reads the configuration and indexes of the root
 * ($KMOD_READY_ROOT: its lib/modules/RELEASE and modprobe.d directories),
 * looks NAME up and probes each module it resolves to as `modprobe NAME`
 * does. tests/bench/run counts its instructions and kmod-ready's on the same
 * root; the difference is kmod-ready's own work.
 *
 *     libkmod_floor RELEASE NAME */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libkmod.h>
#include <stdio.h>
#include <stdlib.h>


int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: libkmod_floor RELEASE NAME\n");
        return 64;
    }
    const char *root = getenv("KMOD_READY_ROOT");
    if (!root)
        return 64;
    void *lib = dlopen("libkmod.so.2", RTLD_LAZY | RTLD_LOCAL | RTLD_NODELETE);
    if (!lib)
        return 69;
    /* Each function under its own name, typed by libkmod.h. */
#define SYMBOL(name) \
    __typeof__(&name) name##_ = (__typeof__(&name))dlsym(lib, #name); \
    if (!name##_) \
        return 69
    SYMBOL(kmod_new);
    SYMBOL(kmod_load_resources);
    SYMBOL(kmod_module_new_from_lookup);
    SYMBOL(kmod_list_next);
    SYMBOL(kmod_module_get_module);
    SYMBOL(kmod_module_probe_insert_module);
    SYMBOL(kmod_module_unref);
    SYMBOL(kmod_module_unref_list);
    SYMBOL(kmod_unref);
    char dir[4096], etc[4096], run[4096], local[4096], usr[4096], lib_d[4096];
    snprintf(dir, sizeof dir, "%s/lib/modules/%s", root, argv[1]);
    snprintf(etc, sizeof etc, "%s/etc/modprobe.d", root);
    snprintf(run, sizeof run, "%s/run/modprobe.d", root);
    snprintf(local, sizeof local, "%s/usr/local/lib/modprobe.d", root);
    snprintf(usr, sizeof usr, "%s/usr/lib/modprobe.d", root);
    snprintf(lib_d, sizeof lib_d, "%s/lib/modprobe.d", root);
    const char *configs[] = {etc, run, local, usr, lib_d, NULL};
    struct kmod_ctx *ctx = kmod_new_(dir, configs);
    if (!ctx)
        return 69;
    kmod_load_resources_(ctx);
    struct kmod_list *list = NULL, *item;
    int status = kmod_module_new_from_lookup_(ctx, argv[2], &list) < 0 || !list ? 69 : 0;
    for (item = list; item; item = kmod_list_next_(list, item)) {
        struct kmod_module *module = kmod_module_get_module_(item);
        if (kmod_module_probe_insert_module_(module, KMOD_PROBE_APPLY_BLACKLIST_ALIAS_ONLY, NULL, NULL, NULL, NULL) < 0)
            status = 69;
        kmod_module_unref_(module);
    }
    kmod_module_unref_list_(list);
    kmod_unref_(ctx);
    return status;
}
