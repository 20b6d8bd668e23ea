/* Calls SSL_CTX_new and SSL_new of whatever libssl it is linked with and
 * checks it got that library's objects back. */
#include <stdio.h>

void *SSL_CTX_new(const void *method);
void *SSL_new(void *ctx);

int main(void) {
    void *ctx = SSL_CTX_new(0);
    void *ssl = SSL_new(ctx);
    if (!ctx || !ssl) {
        printf("calls did not reach the library\n");
        return 1;
    }
    printf("old libssl calls passed through\n");
    return 0;
}
