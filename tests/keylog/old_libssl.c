/* A libssl without SSL_CTX_set_keylog_callback, as OpenSSL before 1.1.1 is
 * (Debian 12 ships no such OpenSSL): built as libssl.so.1.1 to check that the
 * preload passes calls through and says why, without crashing. */
static int the_ctx, the_ssl;

void *SSL_CTX_new(const void *method) {
    (void)method;
    return &the_ctx;
}

void *SSL_new(void *ctx) {
    return ctx == &the_ctx ? &the_ssl : 0;
}
