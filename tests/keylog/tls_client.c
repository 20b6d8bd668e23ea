/* A minimal OpenSSL TLS client for the keylog tests: connects to
 * 127.0.0.1:PORT, completes a handshake, writes one line, closes.
 * Built three ways by tests/keylog/main.rs: against the shared libssl
 * (hookable), fully static, and with libssl.a inside a dynamic program
 * (both refused: the preload cannot reach their OpenSSL).
 *
 * `tls_client PORT close-fds DECOY` behaves like a daemon: after creating its
 * context it closes every descriptor above stderr and opens DECOY, which gets
 * the number the key log had; no key line may land in DECOY. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int close_fds = argc == 4 && strcmp(argv[2], "close-fds") == 0;
    if (argc != 2 && !close_fds) {
        fprintf(stderr, "usage: %s PORT [close-fds DECOY]\n", argv[0]);
        return 64;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        fprintf(stderr, "SSL_CTX_new failed\n");
        return 1;
    }
    if (close_fds) {
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        int decoy = open(argv[3], O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (decoy < 0) {
            perror("open decoy");
            return 1;
        }
        printf("decoy fd %d\n", decoy);
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
    SSL *ssl = SSL_new(ctx);
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
