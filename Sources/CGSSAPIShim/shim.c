#include "CGSSAPIShim.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static zk_gss_oid nt_krb5_principal = {10, "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x01"};
static zk_gss_oid mech_krb5 = {9, "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"};

zk_gss_oid *zk_gss_nt_krb5_principal(void) { return &nt_krb5_principal; }
zk_gss_oid *zk_gss_mech_krb5(void) { return &mech_krb5; }

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static zk_gss_functions functions;
static const zk_gss_functions *loaded = NULL;
static char load_error[512];

#if defined(__APPLE__)
static const char *const library_names[] = {"libgssapi_krb5.2.2.dylib", "libgssapi_krb5.dylib", NULL};
#else
static const char *const library_names[] = {"libgssapi_krb5.so.2", "libgssapi_krb5.so", NULL};
#endif

#define RESOLVE(field, symbol)                                                                          \
    do {                                                                                                \
        *(void **)(&functions.field) = dlsym(library, symbol);                                          \
        if (functions.field == NULL) {                                                                  \
            snprintf(load_error, sizeof load_error, "%s has no %s", library_names[index], symbol);     \
            return;                                                                                     \
        }                                                                                               \
    } while (0)

static void load(void) {
    void *library = NULL;
    size_t index = 0;
    for (; library_names[index] != NULL; index++) {
        library = dlopen(library_names[index], RTLD_NOW | RTLD_LOCAL);
        if (library != NULL) break;
    }
    if (library == NULL) {
        const char *reason = dlerror();
        snprintf(load_error, sizeof load_error, "%s", reason != NULL ? reason : library_names[0]);
        return;
    }
    RESOLVE(import_name, "gss_import_name");
    RESOLVE(display_name, "gss_display_name");
    RESOLVE(release_name, "gss_release_name");
    RESOLVE(acquire_cred_from, "gss_acquire_cred_from");
    RESOLVE(inquire_cred, "gss_inquire_cred");
    RESOLVE(release_cred, "gss_release_cred");
    RESOLVE(init_sec_context, "gss_init_sec_context");
    RESOLVE(accept_sec_context, "gss_accept_sec_context");
    RESOLVE(delete_sec_context, "gss_delete_sec_context");
    RESOLVE(wrap, "gss_wrap");
    RESOLVE(unwrap, "gss_unwrap");
    RESOLVE(release_buffer, "gss_release_buffer");
    RESOLVE(display_status, "gss_display_status");
    loaded = &functions;
}

const zk_gss_functions *zk_gss_load(void) {
    pthread_once(&load_once, load);
    return loaded;
}

const char *zk_gss_load_error(void) { return load_error; }
