/*
 * A test helper: a whole file read into memory. Include after cmocka.h.
 */
#ifndef TG_TEST_FILE_FIXTURE_H
#define TG_TEST_FILE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

/* The file's bytes, NUL-terminated (the NUL not counted in *len, which may
 * be NULL); fails the test if it cannot be read. Free with free. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open %s", path);
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) {
            break;
        }
        if (n + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    assert_int_equal(ferror(f), 0);
    fclose(f);
    buf[n] = '\0';
    if (len != NULL) {
        *len = n;
    }
    return buf;
}

#endif
