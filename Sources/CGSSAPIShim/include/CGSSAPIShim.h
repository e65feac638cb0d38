// The few GSS-API (RFC 2744) types and calls a Kerberos login needs (the client's and zkserver's), declared here rather than taken from
// <gssapi/gssapi.h>, so that building needs no Kerberos headers and the binaries no Kerberos library: the
// functions are found with dlsym in libgssapi_krb5.so.2 the first time a Kerberos login runs.
#ifndef CGSSAPISHIM_H
#define CGSSAPISHIM_H

#include <stddef.h>
#include <stdint.h>

typedef uint32_t zk_gss_uint32;

typedef struct zk_gss_buffer {
    size_t length;
    void *value;
} zk_gss_buffer;

typedef struct zk_gss_oid {
    zk_gss_uint32 length;
    void *elements;
} zk_gss_oid;

typedef struct zk_gss_key_value_element {
    const char *key;
    const char *value;
} zk_gss_key_value_element;

typedef struct zk_gss_key_value_set {
    zk_gss_uint32 count;
    zk_gss_key_value_element *elements;
} zk_gss_key_value_set;

// Opaque handles of the library.
typedef struct zk_gss_name_struct *zk_gss_name;
typedef struct zk_gss_cred_struct *zk_gss_cred;
typedef struct zk_gss_ctx_struct *zk_gss_ctx;

typedef struct zk_gss_functions {
    zk_gss_uint32 (*import_name)(zk_gss_uint32 *minor, zk_gss_buffer *name, zk_gss_oid *type, zk_gss_name *output);
    zk_gss_uint32 (*display_name)(zk_gss_uint32 *minor, zk_gss_name name, zk_gss_buffer *output, zk_gss_oid **type);
    zk_gss_uint32 (*release_name)(zk_gss_uint32 *minor, zk_gss_name *name);
    zk_gss_uint32 (*acquire_cred_from)(
        zk_gss_uint32 *minor, zk_gss_name desired_name, zk_gss_uint32 time_req, void *desired_mechs,
        int cred_usage, const zk_gss_key_value_set *cred_store, zk_gss_cred *output, void **actual_mechs,
        zk_gss_uint32 *time_rec);
    zk_gss_uint32 (*inquire_cred)(
        zk_gss_uint32 *minor, zk_gss_cred cred, zk_gss_name *name, zk_gss_uint32 *lifetime, int *usage,
        void **mechanisms);
    zk_gss_uint32 (*release_cred)(zk_gss_uint32 *minor, zk_gss_cred *cred);
    zk_gss_uint32 (*init_sec_context)(
        zk_gss_uint32 *minor, zk_gss_cred cred, zk_gss_ctx *context, zk_gss_name target, zk_gss_oid *mech,
        zk_gss_uint32 flags, zk_gss_uint32 time_req, void *channel_bindings, zk_gss_buffer *input,
        zk_gss_oid **actual_mech, zk_gss_buffer *output, zk_gss_uint32 *ret_flags, zk_gss_uint32 *time_rec);
    zk_gss_uint32 (*accept_sec_context)(
        zk_gss_uint32 *minor, zk_gss_ctx *context, zk_gss_cred acceptor_cred, zk_gss_buffer *input,
        void *channel_bindings, zk_gss_name *src_name, zk_gss_oid **mech_type, zk_gss_buffer *output,
        zk_gss_uint32 *ret_flags, zk_gss_uint32 *time_rec, zk_gss_cred *delegated_cred);
    zk_gss_uint32 (*delete_sec_context)(zk_gss_uint32 *minor, zk_gss_ctx *context, zk_gss_buffer *output);
    zk_gss_uint32 (*wrap)(
        zk_gss_uint32 *minor, zk_gss_ctx context, int conf_req, zk_gss_uint32 qop, zk_gss_buffer *input,
        int *conf_state, zk_gss_buffer *output);
    zk_gss_uint32 (*unwrap)(
        zk_gss_uint32 *minor, zk_gss_ctx context, zk_gss_buffer *input, zk_gss_buffer *output, int *conf_state,
        zk_gss_uint32 *qop);
    zk_gss_uint32 (*release_buffer)(zk_gss_uint32 *minor, zk_gss_buffer *buffer);
    zk_gss_uint32 (*display_status)(
        zk_gss_uint32 *minor, zk_gss_uint32 status, int status_type, zk_gss_oid *mech, zk_gss_uint32 *message_context,
        zk_gss_buffer *output);
} zk_gss_functions;

/// Loads the library and resolves every function once; later calls return the same table. NULL when the
/// library or a function is missing; `zk_gss_load_error` then says why.
const zk_gss_functions *zk_gss_load(void);
const char *zk_gss_load_error(void);

/// The OIDs used (RFC 2743, RFC 1964): Kerberos principal names, the Kerberos mechanism.
zk_gss_oid *zk_gss_nt_krb5_principal(void);
zk_gss_oid *zk_gss_mech_krb5(void);

#endif
