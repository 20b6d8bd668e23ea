/* A program with no TLS at all, linked statically by the keylog tests. */
#include <stdio.h>

int main(void) {
    printf("hello\n");
    return 0;
}
