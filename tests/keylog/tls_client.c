/* A minimal OpenSSL TLS client for the keylog tests: connects to
 * 127.0.0.1:PORT, completes a handshake, writes one line, closes.
 * Built three ways by tests/keylog/main.rs: against the shared libssl
 * (hookable), fully static, and with libssl.a inside a dynamic program
 * (both refused: the preload cannot reach their OpenSSL). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 64;
    }
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)atoi(argv[1]));
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("connect");
        return 1;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = ctx ? SSL_new(ctx) : NULL;
    if (!ssl || !SSL_set_fd(ssl, fd) || SSL_connect(ssl) != 1) {
        fprintf(stderr, "TLS handshake failed\n");
        return 1;
    }
    const char msg[] = "hello from tls_client\n";
    if (SSL_write(ssl, msg, sizeof msg - 1) <= 0) {
        fprintf(stderr, "SSL_write failed\n");
        return 1;
    }
    printf("handshake ok: %s\n", SSL_get_version(ssl));
    SSL_shutdown(ssl);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    return 0;
}
